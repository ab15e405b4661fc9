/* Threads of a process (include/kernel/proc.h, docs/exec.md "Threads"):
 * clone/clone3 with CLONE_VM|CLONE_THREAD, futex wait and wake that block
 * and wake scheduler tasks, nanosleep and sched_yield through the
 * scheduler, the exit of one thread (clear_child_tid: zeroed and woken)
 * against exit_group.
 *
 * Each thread is a task of the reference scheduler (kernel/sched): the
 * kernel calls sched_block / sched_wakeup / sched_exit / sched_yield_cpu /
 * sched_tick and picks the next thread with sched_schedule; the platform
 * only saves and restores registers when proc_cpu_schedule names another
 * thread (and switches address spaces when it names another process of
 * the CPU: struct proc_cpu). The futex wait queue is the threads themselves: a waiter has
 * state PROC_T_FUTEX, its word's address and a sequence number; a wake
 * takes waiters on that address in the order they began to wait (FIFO,
 * as Linux's hash-bucket plist does for equal priorities).
 *
 * Invariants (proc_check, with threads): nLive counts the slots not FREE;
 * the running thread aThread[cur] is RUN; a thread in state FUTEX or SLEEP
 * is BLOCKED in the scheduler and a RUN thread is not; tids are unique. */
#include "kernel/kstring.h"
#include "kernel/proc.h"
#include "proc_internal.h"

enum {
    CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
    CLONE_THREAD = 0x10000, CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000,
    CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000, CLONE_DETACHED = 0x400000,
    CLONE_CHILD_SETTID = 0x1000000,
};
#define CLONE_THREAD_NEEDS (CLONE_VM | CLONE_THREAD | CLONE_SIGHAND)
#define CLONE_KNOWN                                                                                \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |            \
     CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED |                  \
     CLONE_CHILD_SETTID)

static struct proc_result res(int64_t v, enum proc_action a)
{
    struct proc_result r;
    kmemset(&r, 0, sizeof r);
    r.ret = v;
    r.eAction = a;
    return r;
}

struct proc_thread *proc_cur(struct proc *p) { return &p->aThread[p->cur]; }

int proc_tid(const struct proc *p) { return p->sched ? p->aThread[p->cur].tid : p->pid; }

static unsigned cpu_of(const struct proc *p) { return hal_cpu_id(p->cpu); }

/* ------------------------------------------------------------ the CPU's processes */

void proc_cpu_init(struct proc_cpu *pc, struct sched *s, struct hal_cpu *c, int first_id)
{
    kmemset(pc, 0, sizeof *pc);
    pc->sched = s;
    pc->cpu = c;
    pc->next_id = first_id;
}

int proc_cpu_new_pid(struct proc_cpu *pc) { return pc->next_id++; }

int proc_cpu_add(struct proc_cpu *pc, struct proc *p, void *uctx0)
{
    if (pc->nProc == PROC_CPU_MAX)
        return -PROC_EAGAIN;
    struct proc_thread *th = &p->aThread[0];
    kmemset(th, 0, sizeof *th);
    th->tid = p->pid;
    th->state = PROC_T_RUN;
    th->uctx = uctx0;
    th->clear_child_tid = p->clear_child_tid;
    th->robust_list = p->robust_list;
    th->task.id = (uint64_t)p->pid;
    th->task.policy = SCHED_POLICY_NORMAL;
    sched_affinity_set(&th->task, hal_cpu_id(pc->cpu));
    int rc = sched_task_add(pc->sched, pc->cpu, &th->task);
    if (!rc)
        rc = sched_wakeup(pc->sched, pc->cpu, &th->task);
    if (rc)
        return rc;
    p->sched = pc->sched;
    p->cpu = pc->cpu;
    p->pcpu = pc;
    p->cur = 0;
    p->nLive = 1;
    pc->aProc[pc->nProc++] = p;
    return 0;
}

static int slot_of(const struct proc *p, const struct sched_task *t)
{
    if (!t)
        return -1;
    for (unsigned i = 0; i < PROC_MAX_THREADS; i++)
        if (p->aThread[i].state != PROC_T_FREE && &p->aThread[i].task == t)
            return (int)i;
    return -1;
}

int proc_cpu_schedule(struct proc_cpu *pc, unsigned *iproc)
{
    struct sched_task *t = sched_schedule(pc->sched, pc->cpu);
    if (!t)
        return -1;
    for (unsigned k = 0; k < pc->nProc; k++) {
        struct proc *p = pc->aProc[k];
        int i = p->exited ? -1 : slot_of(p, t);
        if (i < 0)
            continue;
        if (k != pc->cur)
            pc->nProcSwitch++;
        else if ((unsigned)i != p->cur)
            p->nSwitch++;
        pc->cur = k;
        p->cur = (unsigned)i;
        *iproc = k;
        return i;
    }
    hal_panic(pc->cpu, "proc: the scheduler picked a task that is no thread");
}

/* A blocked thread becomes runnable; its syscall returns v. */
static void wake(struct proc *p, struct proc_thread *th, int64_t v)
{
    th->state = PROC_T_RUN;
    th->wake_at = 0;
    th->has_ret = true;
    th->ret = v;
    sched_wakeup(p->sched, p->cpu, &th->task);
}

bool proc_cpu_tick(struct proc_cpu *pc, bool tick)
{
    uint64_t now = hal_now(pc->cpu);
    for (unsigned k = 0; k < pc->nProc; k++) {
        struct proc *p = pc->aProc[k];
        for (unsigned i = 0; !p->exited && i < PROC_MAX_THREADS; i++) {
            struct proc_thread *th = &p->aThread[i];
            if ((th->state == PROC_T_FUTEX || th->state == PROC_T_SLEEP) && th->wake_at &&
                th->wake_at <= now)
                wake(p, th, th->state == PROC_T_FUTEX ? -PROC_ETIMEDOUT : 0);
        }
    }
    if (tick)
        sched_tick(pc->sched, pc->cpu);
    return sched_need_resched(&pc->sched->rq[hal_cpu_id(pc->cpu)]);
}

uint64_t proc_cpu_next_wake(const struct proc_cpu *pc)
{
    uint64_t at = 0;
    for (unsigned k = 0; k < pc->nProc; k++) {
        const struct proc *p = pc->aProc[k];
        for (unsigned i = 0; !p->exited && i < PROC_MAX_THREADS; i++) {
            const struct proc_thread *th = &p->aThread[i];
            if ((th->state == PROC_T_FUTEX || th->state == PROC_T_SLEEP) && th->wake_at &&
                (!at || th->wake_at < at))
                at = th->wake_at;
        }
    }
    return at;
}

void proc_cpu_exit(struct proc_cpu *pc, struct proc *p)
{
    for (unsigned i = 0; i < PROC_MAX_THREADS; i++) {
        struct proc_thread *th = &p->aThread[i];
        if (th->state == PROC_T_FREE)
            continue;
        sched_exit(pc->sched, pc->cpu, &th->task);
        th->state = PROC_T_FREE;
    }
    p->nLive = 0;
}

unsigned proc_cpu_live(const struct proc_cpu *pc, unsigned *threads)
{
    unsigned n = 0, nt = 0;
    for (unsigned k = 0; k < pc->nProc; k++)
        if (!pc->aProc[k]->exited) {
            n++;
            nt += pc->aProc[k]->nLive;
        }
    if (threads)
        *threads = nt;
    return n;
}

bool proc_cpu_check(const struct proc_cpu *pc)
{
    if (pc->nProc > PROC_CPU_MAX || (pc->nProc && pc->cur >= pc->nProc))
        return false;
    const struct sched_task *curr = sched_curr(pc->sched, hal_cpu_id(pc->cpu));
    unsigned owners = 0;
    for (unsigned k = 0; k < pc->nProc; k++) {
        const struct proc *p = pc->aProc[k];
        if (!proc_check(p) || p->pcpu != pc)
            return false;
        if (p->exited && p->nLive)
            return false;
        int i = slot_of(p, curr);
        if (i >= 0) {
            owners++;
            if (k != pc->cur || (unsigned)i != p->cur)
                return false;
        }
        /* tids unique across the CPU's processes */
        for (unsigned i2 = 0; i2 < PROC_MAX_THREADS; i2++) {
            const struct proc_thread *a = &p->aThread[i2];
            if (a->state == PROC_T_FREE)
                continue;
            for (unsigned k2 = 0; k2 < k; k2++)
                for (unsigned j = 0; j < PROC_MAX_THREADS; j++)
                    if (pc->aProc[k2]->aThread[j].state != PROC_T_FREE &&
                        pc->aProc[k2]->aThread[j].tid == a->tid)
                        return false;
        }
    }
    return !curr || owners == 1;
}


/* The running thread blocks in state st until woken (or wake_at). */
static struct proc_result block(struct proc *p, uint8_t st, uint64_t wake_at)
{
    struct proc_thread *th = proc_cur(p);
    th->state = st;
    th->wake_at = wake_at;
    th->has_ret = true;
    th->ret = 0;
    sched_block(p->sched, p->cpu);
    return res(0, PROC_RESCHED);
}

/* ------------------------------------------------------------ futex */

int64_t proc_futex_wake(struct proc *p, uint64_t addr, uint64_t max)
{
    int64_t n = 0;
    while ((uint64_t)n < max) {
        struct proc_thread *first = 0;
        for (unsigned i = 0; i < PROC_MAX_THREADS; i++) {
            struct proc_thread *th = &p->aThread[i];
            if (th->state == PROC_T_FUTEX && th->futex_addr == addr &&
                (!first || th->wait_seq < first->wait_seq))
                first = th;
        }
        if (!first)
            break;
        wake(p, first, 0);
        n++;
    }
    p->nFutexWake += (uint64_t)n;
    return n;
}

struct proc_result proc_futex_wait(struct proc *p, uint64_t addr, uint64_t timeout_ns,
                                   bool timed)
{
    struct proc_thread *th = proc_cur(p);
    th->futex_addr = addr;
    th->wait_seq = ++p->wait_seq;
    p->nFutexWait++;
    uint64_t now = hal_now(p->cpu);
    if (timed && timeout_ns == 0)
        return res(-PROC_ETIMEDOUT, PROC_RETURN);
    return block(p, PROC_T_FUTEX, timed ? now + timeout_ns : 0);
}

struct proc_result proc_sleep(struct proc *p, uint64_t ns)
{
    uint64_t now = hal_now(p->cpu);
    return block(p, PROC_T_SLEEP, now + (ns ? ns : 1));
}

struct proc_result proc_yield(struct proc *p)
{
    sched_yield_cpu(p->sched, p->cpu);
    return res(0, PROC_RESCHED);
}

/* ------------------------------------------------------------ clone */

static struct proc_result do_clone(struct proc *p, uint64_t flags, uint64_t sp, uint64_t ptid,
                                   uint64_t tls, uint64_t ctid)
{
    if (flags & ~(uint64_t)(CLONE_KNOWN | 0xff)) /* the low byte: exit signal */
        return res(-PROC_EINVAL, PROC_RETURN);
    if ((flags & CLONE_THREAD_NEEDS) != CLONE_THREAD_NEEDS)
        return res(-PROC_ENOSYS, PROC_RETURN); /* fork and vfork: not implemented */
    if (!sp)
        return res(-PROC_EINVAL, PROC_RETURN);
    unsigned slot = 0;
    while (slot < PROC_MAX_THREADS && p->aThread[slot].state != PROC_T_FREE)
        slot++;
    if (slot == PROC_MAX_THREADS)
        return res(-PROC_EAGAIN, PROC_RETURN);
    int tid = p->pcpu->next_id;
    uint32_t w = (uint32_t)tid;
    /* validate the user words before anything changes */
    if ((flags & CLONE_PARENT_SETTID) && p->ops->copy_out(p->ctx, ptid, &w, 4))
        return res(-PROC_EFAULT, PROC_RETURN);
    if ((flags & CLONE_CHILD_SETTID) && p->ops->copy_out(p->ctx, ctid, &w, 4))
        return res(-PROC_EFAULT, PROC_RETURN);
    struct proc_thread *th = &p->aThread[slot];
    void *uctx = th->uctx; /* the platform's handle survives the slot's reuse */
    kmemset(th, 0, sizeof *th);
    th->uctx = uctx;
    th->tid = tid;
    th->state = PROC_T_RUN;
    th->clear_child_tid = flags & CLONE_CHILD_CLEARTID ? ctid : 0;
    th->task.id = (uint64_t)tid;
    th->task.policy = SCHED_POLICY_NORMAL;
    sched_affinity_set(&th->task, cpu_of(p));
    if (sched_task_add(p->sched, p->cpu, &th->task)) {
        th->state = PROC_T_FREE;
        return res(-PROC_EAGAIN, PROC_RETURN);
    }
    p->pcpu->next_id++;
    p->nLive++;
    p->nClone++;
    sched_wakeup(p->sched, p->cpu, &th->task);
    struct proc_result r = res(tid, PROC_CLONE);
    r.arg0 = slot;
    r.arg1 = sp;
    r.arg2 = (flags & CLONE_SETTLS) != 0;
    r.arg3 = tls;
    return r;
}

struct proc_result proc_clone(struct proc *p, const uint64_t *a)
{
    /* riscv64 and aarch64 (CLONE_BACKWARDS): flags, stack, ptid, tls, ctid */
    if (!p->sched)
        return res(-PROC_ENOSYS, PROC_RETURN);
    return do_clone(p, a[0], a[1], a[2], a[3], a[4]);
}

struct proc_result proc_clone3(struct proc *p, const uint64_t *a)
{
    /* struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal,
     * stack, stack_size, tls, set_tid, set_tid_size, cgroup */
    uint64_t ca[11];
    if (!p->sched)
        return res(-PROC_ENOSYS, PROC_RETURN);
    if (a[1] < 64 || a[1] > 4096)
        return res(-PROC_EINVAL, PROC_RETURN);
    kmemset(ca, 0, sizeof ca);
    if (p->ops->copy_in(p->ctx, ca, a[0], a[1] < sizeof ca ? (size_t)a[1] : sizeof ca))
        return res(-PROC_EFAULT, PROC_RETURN);
    if (ca[1] || (a[1] > 64 && (ca[8] || ca[9])) || ca[4] > 64)
        return res(-PROC_EINVAL, PROC_RETURN); /* pidfd, set_tid: not supported */
    if (!ca[5] || !ca[6])
        return res(-PROC_EINVAL, PROC_RETURN);
    return do_clone(p, ca[0], ca[5] + ca[6], ca[3], ca[7], ca[2]);
}

/* ------------------------------------------------------------ exit */

struct proc_result proc_thread_exit(struct proc *p, int status)
{
    struct proc_thread *th = proc_cur(p);
    if (p->nLive == 1) { /* the last thread: the process ends with its status */
        p->exited = true;
        p->exit_status = status & 0xff;
        return res(0, PROC_EXIT);
    }
    if (th->clear_child_tid) { /* pthread_join waits on this word */
        uint32_t zero = 0;
        if (p->ops->copy_out(p->ctx, th->clear_child_tid, &zero, 4) == 0)
            proc_futex_wake(p, th->clear_child_tid, 1);
    }
    sched_exit(p->sched, p->cpu, &th->task);
    th->state = PROC_T_FREE;
    p->nLive--;
    return res(0, PROC_RESCHED);
}

bool proc_threads_check(const struct proc *p)
{
    if (!p->sched)
        return true;
    unsigned live = 0;
    for (unsigned i = 0; i < PROC_MAX_THREADS; i++) {
        const struct proc_thread *th = &p->aThread[i];
        if (th->state == PROC_T_FREE)
            continue;
        live++;
        bool blocked = th->task.state == SCHED_TASK_BLOCKED;
        if (th->state > PROC_T_SLEEP || blocked != (th->state != PROC_T_RUN))
            return false;
        for (unsigned j = 0; j < i; j++)
            if (p->aThread[j].state != PROC_T_FREE && p->aThread[j].tid == th->tid)
                return false;
    }
    /* the running task may be another process's (proc_cpu_check) */
    int run = slot_of(p, sched_curr(p->sched, cpu_of(p)));
    return live == p->nLive && (run < 0 || ((unsigned)run == p->cur &&
                                            p->aThread[run].state == PROC_T_RUN));
}
