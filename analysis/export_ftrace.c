/* Linux ftrace text (`# tracer: nop`, the format of /sys/kernel/tracing/trace
 * and `trace-cmd report`) for the scheduler's sched_switch and sched_wakeup
 * trace points of every sched_node. Other records are left out.
 *
 * What the trace points hold (kernel/sched/core.c through hal_trace):
 *   sched_switch  a = cpu << 48 | prev task id, b = next task id
 *   sched_wakeup  a = cpu << 48 | task id,      b = target cpu
 * with id all ones for idle (a keeps 48 bits of it). Names and priorities
 * come from the node's `tasks:` in the header's configuration
 * (export_config.c); CPUs and pids are numbered across nodes in component
 * order (pid 0 is idle, "swapper/N").
 *
 * prev_state is not in the trace point, so it is derived in a first pass:
 * a task switched out that is next woken (sched_wakeup) before it runs
 * again was sleeping ("S"); one that runs again without a wakeup was
 * preempted ("R"); one never seen again is written "R". Memory: one bit per
 * sched_switch record, plus a slot per task. The TASK-PID column is the
 * task running on the CPU that executed the trace point, tracked from the
 * switches. Timestamps are seconds with six decimals, as ftrace prints
 * them (the picoseconds below a microsecond are dropped). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export_internal.h"
#include "orrery/error.h"

#define ID_MASK 0xFFFFFFFFFFFFull
#define ID_IDLE ID_MASK

struct ftrace {
    uint16_t kSwitch, kWakeup; /* kinds; 0 if the trace has none */
    uint8_t *aSlept;           /* bit per switch ordinal: prev went to sleep */
    size_t nSleptCap;          /* bytes */
    uint64_t nSwitch, nWakeup, iSwitch;
    /* per global pid that switched out: the switch's ordinal (UINT64_MAX:
     * woken since). A hash table of the pids seen, not an array over every
     * pid the configuration names: its counts are the file's word, not its
     * size. Only looked up, never iterated. */
    struct pending *aPending;
    size_t nPending, capPending; /* capPending a power of two, n <= cap / 2 */
    uint32_t *aCurr;           /* per global cpu: running pid (0 idle) */
};

struct pending {
    uint32_t pid; /* 0: free (pid 0 is idle, never pending) */
    uint64_t ordinal;
};

static size_t pending_slot(const struct pending *a, size_t cap, uint32_t pid)
{
    size_t i = (size_t)(pid * UINT32_C(2654435761)) & (cap - 1);
    while (a[i].pid && a[i].pid != pid)
        i = (i + 1) & (cap - 1);
    return i;
}

/* The entry of pid, added (UINT64_MAX) when new; NULL without memory. */
static uint64_t *pending_of(struct ftrace *f, uint32_t pid)
{
    if (2 * (f->nPending + 1) > f->capPending) {
        size_t cap = f->capPending ? 2 * f->capPending : 64;
        struct pending *a = calloc(cap, sizeof *a);
        if (!a)
            return NULL;
        for (size_t i = 0; i < f->capPending; i++)
            if (f->aPending[i].pid)
                a[pending_slot(a, cap, f->aPending[i].pid)] = f->aPending[i];
        free(f->aPending);
        f->aPending = a;
        f->capPending = cap;
    }
    struct pending *e = &f->aPending[pending_slot(f->aPending, f->capPending, pid)];
    if (!e->pid) {
        *e = (struct pending){pid, UINT64_MAX};
        f->nPending++;
    }
    return &e->ordinal;
}

static uint16_t find_kind(const struct orr_trace_header *h, const char *name)
{
    for (size_t k = ORR_TK_FIRST_USER; k < h->nKind; k++)
        if (strcmp(h->aKindName[k], name) == 0)
            return (uint16_t)k;
    return 0;
}

static const struct exp_node *node_of(const struct exp_ctx *x, uint32_t comp)
{
    return comp < x->h->nComp && x->aNodeOf[comp] != EXP_NONE ? &x->aNode[x->aNodeOf[comp]]
                                                                : NULL;
}

/* Global pid of task id on node n: 0 for idle, else pid_base + id + 1
 * (an id beyond the configured tasks still gets a distinct number). */
static uint64_t pid_of(const struct exp_node *n, uint64_t id)
{
    id &= ID_MASK;
    return id == ID_IDLE ? 0 : n->pid_base + id + 1;
}

static bool known(const struct exp_node *n, uint64_t id)
{
    return (id & ID_MASK) < n->nTask;
}

static unsigned cpu_of(const struct exp_node *n, uint64_t a)
{
    unsigned c = (unsigned)(a >> 48);
    return n->cpu_base + (c < n->ncpu ? c : 0);
}

/* ---------------------------------------------------- pass 1: prev_state */

static int set_slept(struct ftrace *f, uint64_t ordinal)
{
    size_t byte = (size_t)(ordinal / 8);
    if (byte >= f->nSleptCap) {
        size_t cap = f->nSleptCap ? f->nSleptCap : 4096;
        while (cap <= byte)
            cap *= 2;
        uint8_t *p = realloc(f->aSlept, cap);
        if (!p)
            return ORR_ENOMEM;
        memset(p + f->nSleptCap, 0, cap - f->nSleptCap);
        f->aSlept = p;
        f->nSleptCap = cap;
    }
    f->aSlept[byte] |= (uint8_t)(1u << (ordinal % 8));
    return 0;
}

static bool slept(const struct ftrace *f, uint64_t ordinal)
{
    size_t byte = (size_t)(ordinal / 8);
    return byte < f->nSleptCap && (f->aSlept[byte] >> (ordinal % 8) & 1);
}

static int scan(struct exp_ctx *x, const struct orr_trace_rec *r, void *arg)
{
    struct ftrace *f = arg;
    const struct exp_node *n = node_of(x, r->comp);
    if (!n || r->kind < ORR_TK_FIRST_USER || (r->kind != f->kSwitch && r->kind != f->kWakeup))
        return 0;
    if (r->kind == f->kWakeup) {
        f->nWakeup++;
        if (known(n, r->a)) {
            uint64_t *p = pending_of(f, (uint32_t)pid_of(n, r->a));
            if (!p)
                return ORR_ENOMEM;
            int rc = *p != UINT64_MAX ? set_slept(f, *p) : 0;
            *p = UINT64_MAX;
            return rc;
        }
        return 0;
    }
    uint64_t *p;
    if (known(n, r->b)) {
        if (!(p = pending_of(f, (uint32_t)pid_of(n, r->b))))
            return ORR_ENOMEM;
        *p = UINT64_MAX;
    }
    if (known(n, r->a)) {
        if (!(p = pending_of(f, (uint32_t)pid_of(n, r->a))))
            return ORR_ENOMEM;
        *p = f->nSwitch;
    }
    f->nSwitch++;
    return 0;
}

/* ------------------------------------------------------- pass 2: output */

static void task(const struct exp_node *n, uint64_t id, unsigned cpu, char comm[24], int *prio)
{
    id &= ID_MASK;
    if (id == ID_IDLE) {
        snprintf(comm, 24, "swapper/%u", cpu);
        *prio = 120;
    } else if (id < n->nTask) {
        char name[16];
        exp_task(n, id, name, prio);
        snprintf(comm, 24, "%s", name);
    } else {
        snprintf(comm, 24, "task%" PRIu64, id);
        *prio = 120;
    }
}

/* "          <idle>-0       [000] d..2.     1.234567: " */
static void prefix(struct exp_ctx *x, const struct exp_node *n, uint32_t pid, unsigned cpu,
                   orr_time_t t)
{
    char comm[24], ts[32];
    int prio;
    if (pid == 0)
        snprintf(comm, sizeof comm, "<idle>");
    else
        task(n, pid - n->pid_base - 1, cpu, comm, &prio);
    exp_fmt_sec(ts, t);
    fprintf(x->out, "%16s-%-7u [%03u] d..2. %12s: ", comm, pid, cpu, ts);
}

static int emit(struct exp_ctx *x, const struct orr_trace_rec *r, void *arg)
{
    struct ftrace *f = arg;
    const struct exp_node *n = node_of(x, r->comp);
    if (!n || r->kind < ORR_TK_FIRST_USER || (r->kind != f->kSwitch && r->kind != f->kWakeup))
        return 0;
    unsigned cpu = cpu_of(n, r->a);
    char comm[24];
    int prio;
    if (r->kind == f->kWakeup) {
        unsigned target = n->cpu_base + (r->b < n->ncpu ? (unsigned)r->b : 0);
        prefix(x, n, f->aCurr[cpu], cpu, r->time);
        task(n, r->a, cpu, comm, &prio);
        fprintf(x->out, "sched_wakeup: comm=%s pid=%" PRIu64 " prio=%d target_cpu=%03u\n", comm,
                pid_of(n, r->a), prio, target);
        return 0;
    }
    bool sleeping = slept(f, f->iSwitch++);
    prefix(x, n, (uint32_t)pid_of(n, r->a), cpu, r->time);
    task(n, r->a, cpu, comm, &prio);
    fprintf(x->out, "sched_switch: prev_comm=%s prev_pid=%" PRIu64 " prev_prio=%d prev_state=%s ==> ",
            comm, pid_of(n, r->a), prio, sleeping ? "S" : "R");
    task(n, r->b, cpu, comm, &prio);
    fprintf(x->out, "next_comm=%s next_pid=%" PRIu64 " next_prio=%d\n", comm, pid_of(n, r->b), prio);
    f->aCurr[cpu] = (uint32_t)pid_of(n, r->b);
    return 0;
}

int exp_ftrace(struct exp_ctx *x)
{
    struct ftrace f = {.kSwitch = find_kind(x->h, "sched_switch"),
                       .kWakeup = find_kind(x->h, "sched_wakeup")};
    f.aCurr = calloc((size_t)x->nCpu + 1, sizeof *f.aCurr);
    int rc = f.aCurr ? 0 : ORR_ENOMEM;
    if (rc == 0 && (f.kSwitch || f.kWakeup))
        rc = exp_each(x, scan, &f);
    if (rc == 0) {
        uint64_t total = f.nSwitch + f.nWakeup;
        fprintf(x->out,
                "# tracer: nop\n"
                "#\n"
                "# entries-in-buffer/entries-written: %" PRIu64 "/%" PRIu64 "   #P:%u\n"
                "#\n"
                "#                                _-----=> irqs-off/BH-disabled\n"
                "#                               / _----=> need-resched\n"
                "#                              | / _---=> hardirq/softirq\n"
                "#                              || / _--=> preempt-depth\n"
                "#                              ||| / _-=> migrate-disable\n"
                "#                              |||| /     delay\n"
                "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
                "#              | |         |   |||||     |         |\n",
                total, total, x->nCpu);
    }
    if (rc == 0 && (f.kSwitch || f.kWakeup))
        rc = exp_each(x, emit, &f);
    free(f.aSlept);
    free(f.aPending);
    free(f.aCurr);
    return rc;
}
