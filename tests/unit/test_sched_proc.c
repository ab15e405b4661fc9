/* kernel/proc threads (kernel/proc/thread.c) on the scheduler's host
 * harness (sched_harness.c provides the HAL, one CPU): clone makes a
 * scheduler task with its tid, futex wait blocks and wake wakes in FIFO
 * order, a futex timeout and a nanosleep end at the tick, a thread's exit
 * zeroes and wakes its clear_child_tid, exit of the last thread and
 * exit_group end the process, and proc_check catches a thread whose state
 * disagrees with the scheduler's; two processes share the CPU (the
 * scheduler alternates them, thread ids come from one space, one's exit
 * leaves the other running) and proc_cpu_check catches a CPU whose
 * running process is misnamed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/proc.h"
#include "sched_harness.h"

#define BASE UINT64_C(0x100000)
#define SIZE UINT64_C(0x100000)

static uint8_t mem[SIZE];
static struct harness H;

static bool ok(uint64_t u, size_t n) { return u >= BASE && u < BASE + SIZE && n <= BASE + SIZE - u; }
static int h_in(void *c, void *d, uint64_t u, size_t n)
{
    (void)c;
    if (!ok(u, n))
        return -1;
    memcpy(d, mem + (u - BASE), n);
    return 0;
}
static int h_out(void *c, uint64_t u, const void *s, size_t n)
{
    (void)c;
    if (!ok(u, n))
        return -1;
    memcpy(mem + (u - BASE), s, n);
    return 0;
}
static int h_zero(void *c, uint64_t u, size_t n)
{
    (void)c;
    if (!ok(u, n))
        return -1;
    memset(mem + (u - BASE), 0, n);
    return 0;
}
static uint64_t h_now_ns(void *c) { (void)c; return H.now; }
static void h_output(void *c, int fd, const void *b, size_t n) { (void)c, (void)fd, (void)b, (void)n; }
static void h_random(void *c, void *b, size_t n) { (void)c; memset(b, 0x5a, n); }
static int h_protect(void *c, uint64_t u, uint64_t n, unsigned prot)
{
    (void)c, (void)prot;
    return ok(u, (size_t)n) && u % 4096 == 0 && n % 4096 == 0 ? 0 : -1;
}
static const struct proc_ops ops = {h_in, h_out, h_zero, h_now_ns, h_output, h_random, h_protect};

static const struct proc_layout lay = {
    .image_lo = BASE, .image_hi = BASE + 0x2100, .brk_max = BASE + 0x40000,
    .mmap_lo = BASE + 0x40000, .mmap_hi = BASE + 0xf0000, .stack_lo = BASE + 0xf1000,
    .stack_hi = BASE + 0x100000, .entry = BASE + 0x120, .phdr = BASE + 0x40, .phnum = 7,
    .phent = 56, .hwcap = 0x112d};

enum { NR_EXIT = 93, NR_EXIT_GROUP = 94, NR_FUTEX = 98, NR_NANOSLEEP = 101, NR_GETTID = 178,
       NR_CLONE = 220, NR_CLONE3 = 435, NR_WAIT4 = 260, NR_SET_TID_ADDRESS = 96 };
#define THREAD_FLAGS (0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x100000 | 0x200000)
#define PTID (BASE + 0x3000)
#define CTID (BASE + 0x3010)
#define WORD (BASE + 0x3020)
#define TS (BASE + 0x3040)

static struct proc *P;
static struct proc_cpu PC;

/* Pick like the platform does; returns the thread (of whichever process). */
static int pick(void)
{
    unsigned ip = 99;
    int i = proc_cpu_schedule(&PC, &ip);
    if (i >= 0)
        assert_int_equal(ip, PC.cur);
    return i;
}

static int setup(void **state)
{
    (void)state;
    memset(mem, 0, sizeof mem);
    h_init(&H, 1, NULL);
    P = calloc(1, sizeof *P);
    assert_non_null(P);
    proc_cpu_init(&PC, &H.s, &H.cpu[0], 7);
    assert_int_equal(proc_init(P, proc_cpu_new_pid(&PC), PROC_RISCV64, &lay, &ops, NULL, NULL,
                               0), 0);
    assert_int_equal(proc_cpu_add(&PC, P, NULL), 0);
    assert_int_equal(pick(), 0); /* the first thread runs */
    assert_true(proc_check(P));
    assert_true(proc_cpu_check(&PC));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(P);
    h_free(&H);
    return 0;
}

static struct proc_result sys(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                              uint64_t a4)
{
    const uint64_t a[6] = {a0, a1, a2, a3, a4, 0};
    return proc_syscall(P, nr, a);
}

static uint32_t rd32(uint64_t u)
{
    uint32_t v;
    assert_int_equal(h_in(NULL, &v, u, 4), 0);
    return v;
}

/* Switch like the platform does: schedule while the scheduler asks. */
static int resched(void)
{
    int cur = (int)P->cur;
    if (sched_need_resched(&H.s.rq[0]))
        cur = pick();
    assert_true(proc_cpu_check(&PC));
    return cur;
}

static void test_clone_makes_a_thread(void **state)
{
    (void)state;
    struct proc_result r = sys(NR_CLONE, THREAD_FLAGS, BASE + 0x9000, PTID, 0x1234, CTID);
    assert_int_equal(r.eAction, PROC_CLONE);
    assert_int_equal(r.ret, 8);               /* tids follow the pid */
    assert_int_equal(r.arg1, BASE + 0x9000);  /* its stack */
    assert_int_equal(r.arg2, 1);              /* CLONE_SETTLS */
    assert_int_equal(r.arg3, 0x1234);
    assert_int_equal(rd32(PTID), 8);          /* CLONE_PARENT_SETTID */
    struct proc_thread *th = &P->aThread[r.arg0];
    assert_int_equal(th->tid, 8);
    assert_int_equal(th->clear_child_tid, CTID);
    assert_int_equal(th->task.state, SCHED_TASK_QUEUED);
    assert_int_equal(P->nLive, 2);
    assert_true(proc_check(P));
    assert_int_equal(sys(NR_GETTID, 0, 0, 0, 0, 0).ret, 7);
    /* fork is not implemented; a bad pointer changes nothing */
    assert_int_equal(sys(NR_CLONE, 17, 0, 0, 0, 0).ret, -38);
    assert_int_equal(sys(NR_CLONE, THREAD_FLAGS, BASE + 0x9000, 8, 0, 0).ret, -14);
    assert_int_equal(P->nLive, 2);
    assert_int_equal(sys(NR_WAIT4, (uint64_t)-1, 0, 0, 0, 0).ret, -10); /* no children */
}

static void test_clone3(void **state)
{
    (void)state;
    uint64_t ca[11] = {THREAD_FLAGS, 0, CTID, PTID, 0, BASE + 0x8000, 0x1000, 0x99, 0, 0, 0};
    assert_int_equal(h_out(NULL, BASE + 0x5000, ca, sizeof ca), 0);
    struct proc_result r = sys(NR_CLONE3, BASE + 0x5000, 88, 0, 0, 0);
    assert_int_equal(r.eAction, PROC_CLONE);
    assert_int_equal(r.arg1, BASE + 0x9000); /* stack + stack_size */
    assert_int_equal(r.arg3, 0x99);
    assert_int_equal(sys(NR_CLONE3, BASE + 0x5000, 8, 0, 0, 0).ret, -22);
}

static void test_futex_blocks_and_wakes_fifo(void **state)
{
    (void)state;
    int t1 = (int)sys(NR_CLONE, THREAD_FLAGS, BASE + 0x9000, PTID, 0, CTID).arg0;
    int t2 = (int)sys(NR_CLONE, THREAD_FLAGS, BASE + 0xa000, PTID, 0, CTID).arg0;
    uint32_t one = 1;
    h_out(NULL, WORD, &one, 4);
    /* a value that changed: no sleep */
    assert_int_equal(sys(NR_FUTEX, WORD, 128, 0, 0, 0).ret, -11);
    /* main waits: blocked, another thread runs */
    struct proc_result r = sys(NR_FUTEX, WORD, 128, 1, 0, 0);
    assert_int_equal(r.eAction, PROC_RESCHED);
    assert_int_equal(P->aThread[0].state, PROC_T_FUTEX);
    assert_int_equal(P->aThread[0].task.state, SCHED_TASK_BLOCKED);
    int first = resched();
    assert_true(first == t1 || first == t2);
    int other = first == t1 ? t2 : t1;
    /* it waits too, after main */
    sys(NR_FUTEX, WORD, 128, 1, 0, 0);
    assert_int_equal(resched(), other);
    /* a wake of one takes main, the first to wait */
    r = sys(NR_FUTEX, WORD, 129, 1, 0, 0);
    assert_int_equal(r.ret, 1);
    assert_int_equal(P->aThread[0].state, PROC_T_RUN);
    assert_int_equal(P->aThread[first].state, PROC_T_FUTEX);
    assert_true(P->aThread[0].has_ret);
    assert_int_equal(P->aThread[0].ret, 0);
    r = sys(NR_FUTEX, WORD, 1, 5, 0, 0);
    assert_int_equal(r.ret, 1); /* only one left waiting */
    assert_int_equal(sys(NR_FUTEX, WORD, 1, 5, 0, 0).ret, 0);
    assert_true(proc_check(P));
}

static void test_timeouts_and_sleep(void **state)
{
    (void)state;
    uint64_t ts[2] = {0, 5000}; /* 5 µs */
    h_out(NULL, TS, ts, sizeof ts);
    assert_int_equal(sys(NR_FUTEX, WORD, 0, 0, TS, 0).eAction, PROC_RESCHED);
    assert_int_equal(pick(), -1); /* nothing else to run */
    assert_int_equal(proc_cpu_next_wake(&PC), H.now + 5000);
    H.now += 4999;
    proc_cpu_tick(&PC, false);
    assert_int_equal(P->aThread[0].state, PROC_T_FUTEX);
    H.now += 1;
    assert_true(proc_cpu_tick(&PC, false));
    assert_int_equal(P->aThread[0].state, PROC_T_RUN);
    assert_int_equal(P->aThread[0].ret, -110); /* ETIMEDOUT */
    assert_int_equal(pick(), 0);
    P->aThread[0].has_ret = false;
    /* nanosleep: 0 when it ends */
    assert_int_equal(sys(NR_NANOSLEEP, TS, 0, 0, 0, 0).eAction, PROC_RESCHED);
    assert_int_equal(P->aThread[0].state, PROC_T_SLEEP);
    assert_int_equal(pick(), -1);
    H.now += 5000;
    assert_true(proc_cpu_tick(&PC, false));
    assert_int_equal(pick(), 0);
    assert_int_equal(P->aThread[0].ret, 0);
    assert_true(proc_check(P));
}

static void test_thread_exit_wakes_joiner(void **state)
{
    (void)state;
    uint32_t tid;
    int t1 = (int)sys(NR_CLONE, THREAD_FLAGS, BASE + 0x9000, PTID, 0, CTID).arg0;
    tid = rd32(PTID);
    h_out(NULL, CTID, &tid, 4);
    /* main joins: waits while the word holds the tid */
    assert_int_equal(sys(NR_FUTEX, CTID, 0, tid, 0, 0).eAction, PROC_RESCHED);
    assert_int_equal(resched(), t1);
    assert_int_equal(sys(NR_GETTID, 0, 0, 0, 0, 0).ret, (int64_t)tid);
    struct proc_result r = sys(NR_EXIT, 3, 0, 0, 0, 0);
    assert_int_equal(r.eAction, PROC_RESCHED);
    assert_false(P->exited);
    assert_int_equal(rd32(CTID), 0);                    /* cleared */
    assert_int_equal(P->aThread[0].state, PROC_T_RUN);  /* and woken */
    assert_int_equal(P->aThread[t1].state, PROC_T_FREE);
    assert_int_equal(P->nLive, 1);
    assert_int_equal(resched(), 0);
    assert_int_equal(P->nSwitch, 2);
    /* the last thread's exit is the process's */
    r = sys(NR_EXIT, 5, 0, 0, 0, 0);
    assert_int_equal(r.eAction, PROC_EXIT);
    assert_true(P->exited);
    assert_int_equal(P->exit_status, 5);
}

static void test_exit_group_ends_all(void **state)
{
    (void)state;
    sys(NR_CLONE, THREAD_FLAGS, BASE + 0x9000, PTID, 0, CTID);
    assert_int_equal(sys(NR_SET_TID_ADDRESS, CTID, 0, 0, 0, 0).ret, 7);
    assert_int_equal(P->aThread[0].clear_child_tid, CTID);
    struct proc_result r = sys(NR_EXIT_GROUP, 42, 0, 0, 0, 0);
    assert_int_equal(r.eAction, PROC_EXIT);
    assert_true(P->exited);
    assert_int_equal(P->exit_status, 42);
}

static void test_check_catches_state_mismatch(void **state)
{
    (void)state;
    int t1 = (int)sys(NR_CLONE, THREAD_FLAGS, BASE + 0x9000, PTID, 0, CTID).arg0;
    assert_true(proc_check(P));
    P->aThread[t1].state = PROC_T_FUTEX; /* "blocked", but queued in the scheduler */
    assert_false(proc_check(P));
    P->aThread[t1].state = PROC_T_RUN;
    P->aThread[t1].tid = 7; /* two threads with one tid */
    assert_false(proc_check(P));
    P->aThread[t1].tid = 8;
    P->nLive = 3;
    assert_false(proc_check(P));
}

static struct proc_result sysp(struct proc *p, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                               uint64_t a4)
{
    const uint64_t a[6] = {a0, a1, a2, 0, a4, 0};
    return proc_syscall(p, nr, a);
}

static void test_two_processes_share_the_cpu(void **state)
{
    (void)state;
    struct proc *Q = calloc(1, sizeof *Q);
    assert_non_null(Q);
    int qpid = proc_cpu_new_pid(&PC);
    assert_int_equal(qpid, 8);
    assert_int_equal(proc_init(Q, qpid, PROC_AARCH64, &lay, &ops, NULL, NULL, 0), 0);
    assert_int_equal(proc_cpu_add(&PC, Q, NULL), 0);
    assert_true(proc_cpu_check(&PC));
    /* 200 ticks of 1 ms, both always runnable: EEVDF shares the CPU */
    unsigned ms[2] = {0, 0};
    for (int i = 0; i < 200; i++) {
        H.now += 1000000;
        if (proc_cpu_tick(&PC, true))
            assert_true(pick() >= 0);
        ms[PC.cur]++;
        assert_true(proc_cpu_check(&PC));
    }
    assert_in_range(ms[0], 90, 110);
    assert_in_range(ms[1], 90, 110);
    assert_true(PC.nProcSwitch >= 20);
    assert_int_equal(P->nSwitch + Q->nSwitch, 0); /* one thread each: no thread switches */
    /* a clone takes the next id of the CPU's one pid space */
    while (PC.cur != 1) {
        H.now += 1000000;
        if (proc_cpu_tick(&PC, true))
            pick();
    }
    struct proc_result r = sysp(Q, NR_CLONE, THREAD_FLAGS, BASE + 0x9000, PTID, CTID);
    assert_int_equal(r.eAction, PROC_CLONE);
    assert_int_equal(r.ret, 9);
    assert_true(proc_cpu_check(&PC));
    unsigned threads = 0;
    assert_int_equal(proc_cpu_live(&PC, &threads), 2);
    assert_int_equal(threads, 3);
    /* Q ends (exit_group from its running thread): its threads leave the
     * scheduler, and from then on only P runs */
    assert_int_equal(sysp(Q, NR_EXIT_GROUP, 3, 0, 0, 0).eAction, PROC_EXIT);
    proc_cpu_exit(&PC, Q);
    assert_int_equal(proc_cpu_live(&PC, &threads), 1);
    assert_int_equal(threads, 1);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(pick(), 0);
        assert_int_equal(PC.cur, 0);
        assert_true(proc_cpu_check(&PC));
        H.now += 1000000;
        proc_cpu_tick(&PC, true);
    }
    free(Q);
}

static void test_cpu_check_catches_a_misnamed_process(void **state)
{
    (void)state;
    struct proc *Q = calloc(1, sizeof *Q);
    assert_non_null(Q);
    assert_int_equal(proc_init(Q, proc_cpu_new_pid(&PC), PROC_RISCV64, &lay, &ops, NULL, NULL, 0),
                     0);
    assert_int_equal(proc_cpu_add(&PC, Q, NULL), 0);
    assert_true(proc_cpu_check(&PC));
    PC.cur = 1; /* P's thread runs, but the CPU names Q */
    assert_false(proc_cpu_check(&PC));
    PC.cur = 0;
    Q->aThread[0].tid = P->aThread[0].tid; /* one tid in two processes */
    assert_false(proc_cpu_check(&PC));
    free(Q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clone_makes_a_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clone3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_futex_blocks_and_wakes_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts_and_sleep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_exit_wakes_joiner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_group_ends_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_catches_state_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes_share_the_cpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_check_catches_a_misnamed_process, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
