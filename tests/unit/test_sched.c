/* Scheduler validation against theory (EEVDF shares, EDF/CBS, rate-monotonic,
 * wake-up latency, class order), parameter checks, and one test per
 * invariant that breaks it on purpose. Runs on the host harness
 * (sched_harness.c); each test prints its measured figure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "kernel/ktest.h"
#include "kernel/sched/internal.h"
#include "sched_harness.h"

extern const struct ktest sched_ktests[]; /* kernel/sched/selftest.c */

#define MS 1000000ull
#define US 1000ull
#define SEC 1000000000ull

static struct harness *H;

static int setup(void **state)
{
    (void)state;
    H = calloc(1, sizeof *H);
    return H ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    h_free(H);
    free(H);
    return 0;
}

static double share(const struct h_task *t, hal_ns_t total)
{
    return (double)t->ran_ns / (double)total;
}

static void assert_no_violation(const struct harness *h)
{
    if (h->first_check_rc)
        fail_msg("sched_check: %s at %llu ns", sched_check_name(h->first_check_rc),
                 (unsigned long long)h->first_check_at);
}

/* ---- EEVDF ---- */

static void test_fair_equal_shares(void **state)
{
    (void)state;
    struct h_task t[4];
    h_init(H, 1, NULL);
    H->check_each_event = true;
    for (int i = 0; i < 4; i++) {
        h_task_fair(&t[i], 1 + i, 0, 0);
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    h_run(H, 10 * SEC);
    hal_ns_t total = 0;
    for (int i = 0; i < 4; i++)
        total += t[i].ran_ns;
    for (int i = 0; i < 4; i++) {
        double sh = share(&t[i], total);
        print_message("fair 4x nice0: task %d share %.4f%% (want 25%% +-1%%)\n", i, 100 * sh);
        assert_true(sh > 0.25 * 0.99 && sh < 0.25 * 1.01);
    }
    assert_no_violation(H);
}

static void test_fair_nice_ratio(void **state)
{
    (void)state;
    struct h_task a, b;
    h_init(H, 1, NULL);
    H->check_each_event = true;
    h_task_fair(&a, 1, 0, 0);
    h_task_fair(&b, 2, 5, 0);
    assert_int_equal(h_add(H, &a), 0);
    assert_int_equal(h_add(H, &b), 0);
    h_run(H, 10 * SEC);
    double want = 1024.0 / 335.0, got = (double)a.ran_ns / (double)b.ran_ns;
    print_message("fair nice0:nice5 ratio %.4f (want %.4f +-1%%)\n", got, want);
    assert_true(got > want * 0.99 && got < want * 1.01);
    assert_no_violation(H);
}

static void test_fair_reweight(void **state)
{
    (void)state;
    struct h_task a, b;
    h_init(H, 1, NULL);
    H->check_each_event = true;
    h_task_fair(&a, 1, 0, 0);
    h_task_fair(&b, 2, 0, 0);
    assert_int_equal(h_add(H, &a), 0);
    assert_int_equal(h_add(H, &b), 0);
    h_run(H, 1 * SEC);
    hal_ns_t a0 = a.ran_ns, b0 = b.ran_ns;
    assert_int_equal(sched_set_nice(&H->s, &H->cpu[0], &b.t, 5), 0);
    assert_int_equal(sched_check(&H->s), 0);
    h_run(H, 11 * SEC);
    double want = 1024.0 / 335.0, got = (double)(a.ran_ns - a0) / (double)(b.ran_ns - b0);
    print_message("fair after renice 0->5: ratio %.4f (want %.4f +-1%%)\n", got, want);
    assert_true(got > want * 0.99 && got < want * 1.01);
    assert_no_violation(H);
}

/* ---- EDF / CBS ---- */

/* Budget margin: the kernel's own costs are charged to the running task. */
#define MARGIN (50 * US)

static void dl_set(struct h_task *t, const hal_ns_t (*qp)[2], int n, bool overrun_last)
{
    for (int i = 0; i < n; i++) {
        h_task_dl(&t[i], 10 + i, qp[i][0], qp[i][1], qp[i][1], 0);
        hal_ns_t work = qp[i][0] - MARGIN;
        if (overrun_last && i == n - 1)
            work = 2 * qp[i][0];
        h_periodic(&t[i], qp[i][1], work, qp[i][1], 0);
    }
}

static void test_edf_u095_no_miss(void **state)
{
    (void)state;
    static const hal_ns_t qp[3][2] = {{2 * MS, 10 * MS}, {6 * MS, 20 * MS}, {11250 * US, 25 * MS}};
    struct h_task t[3];
    h_init(H, 1, NULL);
    H->check_each_event = true;
    dl_set(t, qp, 3, false);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_add(H, &t[i]), 0);
    h_run(H, 10 * SEC);
    uint64_t misses = 0, jobs = 0;
    for (int i = 0; i < 3; i++)
        misses += t[i].misses, jobs += t[i].jobs_done;
    print_message("EDF U=0.95: %llu jobs, %llu misses (want 0)\n", (unsigned long long)jobs,
                  (unsigned long long)misses);
    assert_true(jobs > 1000);
    assert_int_equal(misses, 0);
    assert_no_violation(H);
}

static void test_edf_u120_misses(void **state)
{
    (void)state;
    static const hal_ns_t qp[3][2] = {{3 * MS, 10 * MS}, {8 * MS, 20 * MS}, {12500 * US, 25 * MS}};
    struct h_task t[3];
    struct sched_config cfg;
    sched_config_default(&cfg);
    cfg.features &= ~(1u << SCHED_FEAT_DL_ADMISSION);
    h_init(H, 1, &cfg);
    H->check_each_event = true;
    dl_set(t, qp, 3, false);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_add(H, &t[i]), 0);
    h_run(H, 10 * SEC);
    uint64_t misses = 0, jobs = 0;
    for (int i = 0; i < 3; i++)
        misses += t[i].misses, jobs += t[i].jobs_done;
    print_message("EDF U=1.20 (admission off): %llu jobs, %llu misses (want > 0)\n",
                  (unsigned long long)jobs, (unsigned long long)misses);
    assert_true(misses > 0);
    assert_no_violation(H); /* budgets still hold under overload */
}

static void test_cbs_isolation(void **state)
{
    (void)state;
    static const hal_ns_t qp[3][2] = {{2 * MS, 10 * MS}, {5 * MS, 20 * MS}, {4 * MS, 20 * MS}};
    struct h_task t[3];
    h_init(H, 1, NULL);
    H->check_each_event = true;
    dl_set(t, qp, 3, true);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_add(H, &t[i]), 0);
    h_run(H, 10 * SEC);
    print_message("CBS: neighbours misses %llu, %llu (want 0); overrunner throttled %llu "
                  "times, got %.2f%% CPU (declared 20%%)\n",
                  (unsigned long long)t[0].misses, (unsigned long long)t[1].misses,
                  (unsigned long long)t[2].t.stats.dl_throttles,
                  100.0 * (double)t[2].t.stats.sum_exec_ns / (double)(10 * SEC));
    assert_int_equal(t[0].misses, 0);
    assert_int_equal(t[1].misses, 0);
    assert_true(t[2].t.stats.dl_throttles > 100);
    /* CBS: at most Q per P, plus one budget for the current period */
    assert_true(t[2].t.stats.sum_exec_ns <= 10 * SEC / 5 + 4 * MS);
    assert_no_violation(H);
}

/* ---- RT ---- */

/* The CBS wake-up rule (Abeni & Buttazzo; Linux dl_entity_overflow): a DL
 * task waking with runtime q left and deadline d keeps both unless
 * q / (d - now) > Q / D, i.e. its remaining work would exceed its reserved
 * bandwidth before d; then it gets a fresh deadline now + D and runtime Q.
 * Q = 2 ms, D = P = 10 ms: it runs 1 ms from its release at 0 and blocks,
 * q ~ 1 ms. Woken at 2 ms: 1/8 < 1/5, it keeps d = 10 ms and q < Q; woken
 * at 8 ms: 1/2 > 1/5, d = 18 ms and q = Q. */
static void dl_wake_at(hal_ns_t at, hal_ns_t *deadline, int64_t *runtime)
{
    struct h_task dl;
    h_init(H, 1, NULL);
    h_task_dl(&dl, 5, 2 * MS, 10 * MS, 10 * MS, 0);
    h_sleep_run(&dl, 1 * MS, 10 * SEC, 0);
    assert_int_equal(h_add(H, &dl), 0);
    h_run(H, at);
    assert_int_equal(dl.t.state, SCHED_TASK_BLOCKED);
    assert_true(dl.ran_ns == 1 * MS);
    assert_true(dl.t.dl.deadline == 10 * MS);
    int64_t left = dl.t.dl.runtime;
    assert_true(left > 0 && left <= (int64_t)(1 * MS));
    assert_int_equal(sched_wakeup(&H->s, &H->cpu[0], &dl.t), 0);
    *deadline = dl.t.dl.deadline;
    *runtime = dl.t.dl.runtime;
    print_message("DL woken at %llu us with %lld us left: deadline %llu us, runtime %lld us\n",
                  (unsigned long long)(at / US), (long long)(left / (int64_t)US),
                  (unsigned long long)(*deadline / US), (long long)(*runtime / (int64_t)US));
    assert_int_equal(sched_check(&H->s), 0);
}

static void test_dl_wakeup_rule(void **state)
{
    (void)state;
    hal_ns_t d;
    int64_t q;
    dl_wake_at(2 * MS, &d, &q);
    assert_true(d == 10 * MS);
    assert_true(q > 0 && q < (int64_t)(2 * MS));
    dl_wake_at(8 * MS, &d, &q);
    assert_true(d == 18 * MS);
    assert_true(q == (int64_t)(2 * MS));
}

static void test_rt_rate_monotonic(void **state)
{
    (void)state;
    /* U = 0.25 * 3 = 0.75 < 3 (2^(1/3) - 1) = 0.7798 (Liu & Layland) */
    static const hal_ns_t cp[3][2] = {{2500 * US, 10 * MS}, {5 * MS, 20 * MS}, {10 * MS, 40 * MS}};
    struct h_task t[3], bg;
    h_init(H, 1, NULL);
    H->check_each_event = true;
    for (int i = 0; i < 3; i++) {
        h_task_rt(&t[i], 20 + i, SCHED_POLICY_FIFO, 30 - 10 * i, 0); /* RM: shorter, higher */
        h_periodic(&t[i], cp[i][1], cp[i][0], cp[i][1], 0);
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    h_task_fair(&bg, 99, 0, 0);
    assert_int_equal(h_add(H, &bg), 0);
    h_run(H, 10 * SEC);
    for (int i = 0; i < 3; i++) {
        print_message("RM U=0.75: task %d jobs %llu misses %llu worst response %llu us\n", i,
                      (unsigned long long)t[i].jobs_done, (unsigned long long)t[i].misses,
                      (unsigned long long)(t[i].max_response / US));
        assert_int_equal(t[i].misses, 0);
    }
    assert_no_violation(H);
}

static hal_ns_t rt_latency(bool preempt)
{
    struct sched_config cfg;
    sched_config_default(&cfg);
    if (!preempt)
        cfg.features &= ~(1u << SCHED_FEAT_WAKEUP_PREEMPT);
    /* one fair task: with several, the fair curr usually has passed its
     * deadline when the RT task wakes, and update_curr reschedules anyway */
    struct h_task f, rt;
    h_init(H, 1, &cfg);
    H->check_each_event = preempt; /* without preemption a waiting RT task is expected */
    h_task_fair(&f, 1, 0, 0);
    assert_int_equal(h_add(H, &f), 0);
    h_task_rt(&rt, 50, SCHED_POLICY_FIFO, 50, 0);
    h_periodic(&rt, 10 * MS, 100 * US, 10 * MS, 3333337);
    assert_int_equal(h_add(H, &rt), 0);
    h_run(H, 10 * SEC);
    assert_no_violation(H);
    assert_int_equal(rt.misses, 0);
    print_message("RT wake-up latency (WAKEUP_PREEMPT=%d): max %llu ns, mean %llu ns over %llu "
                  "wake-ups\n",
                  preempt, (unsigned long long)rt.lat_max,
                  (unsigned long long)(rt.lat_sum / rt.lat_n), (unsigned long long)rt.lat_n);
    h_free(H);
    return rt.lat_max;
}

static void test_rt_wakeup_latency(void **state)
{
    (void)state;
    /* one tick + the modelled kernel path (enqueue, tick, pick, switch) at 1 GHz */
    hal_ns_t costs = SCHED_COST_ENQUEUE + SCHED_COST_DEQUEUE + SCHED_COST_TICK +
                     SCHED_COST_PICK + SCHED_COST_SWITCH;
    hal_ns_t bound = 4 * MS + costs;
    hal_ns_t on = rt_latency(true), off = rt_latency(false);
    print_message("bound: tick + costs = %llu ns\n", (unsigned long long)bound);
    assert_true(on <= bound);
    assert_true(on <= costs); /* with wake-up preemption: no tick wait at all */
    assert_true(off <= bound);
    assert_true(off > costs); /* the feature switch matters */
}

/* ---- class order ---- */

static void test_class_priority(void **state)
{
    (void)state;
    struct h_task f, rt, dl;
    h_init(H, 1, NULL);
    H->check_each_event = true;
    h_task_fair(&f, 1, 0, 0);
    h_task_rt(&rt, 2, SCHED_POLICY_FIFO, 10, 0);
    h_task_dl(&dl, 3, 2 * MS, 10 * MS, 10 * MS, 0);
    assert_int_equal(h_add(H, &f), 0);
    assert_int_equal(h_add(H, &rt), 0);
    assert_int_equal(h_add(H, &dl), 0);
    h_run(H, 1 * SEC);
    /* released at t=0 in the order fair, RT, DL: each preempts the one before */
    uint64_t seq[3] = {0};
    unsigned n = 0;
    for (size_t i = 0; i < H->ntrace && H->trace[i].t == 0; i++)
        if (H->trace[i].point == SCHED_TP_SWITCH && n < 3)
            seq[n++] = H->trace[i].b;
    hal_ns_t total = f.ran_ns + rt.ran_ns + dl.ran_ns;
    print_message("class order: switches at t=0 to %llu, %llu, %llu; shares DL %.2f%% RT %.2f%% "
                  "fair %.2f%%\n",
                  (unsigned long long)seq[0], (unsigned long long)seq[1],
                  (unsigned long long)seq[2], 100 * share(&dl, total), 100 * share(&rt, total),
                  100 * share(&f, total));
    assert_int_equal(n, 3);
    assert_int_equal(seq[0], 1);
    assert_int_equal(seq[1], 2);
    assert_int_equal(seq[2], 3);
    assert_true(share(&dl, total) > 0.19 && share(&dl, total) <= 0.2005);
    assert_true(share(&rt, total) > 0.79);
    assert_int_equal(f.ran_ns, 0); /* no RT throttling (not implemented) */
    assert_no_violation(H);
}

static void test_rr_rotation(void **state)
{
    (void)state;
    struct h_task a, b, f;
    h_init(H, 1, NULL);
    H->check_each_event = true;
    h_task_rt(&a, 1, SCHED_POLICY_RR, 10, 0);
    h_task_rt(&b, 2, SCHED_POLICY_RR, 10, 0);
    h_task_fair(&f, 3, 0, 0);
    assert_int_equal(h_add(H, &a), 0);
    assert_int_equal(h_add(H, &b), 0);
    assert_int_equal(h_add(H, &f), 0);
    h_run(H, 1 * SEC);
    /* switches between a and b, spaced one timeslice (to tick granularity) */
    hal_ns_t last = 0, min_gap = ~0ull, max_gap = 0;
    unsigned n = 0;
    for (size_t i = 0; i < H->ntrace; i++) {
        const struct h_trace *r = &H->trace[i];
        if (r->point != SCHED_TP_SWITCH || r->a == SCHED_ID_IDLE)
            continue;
        if (n++) {
            hal_ns_t gap = r->t - last;
            min_gap = gap < min_gap ? gap : min_gap;
            max_gap = gap > max_gap ? gap : max_gap;
        }
        last = r->t;
    }
    print_message("RR: %u rotations, gap %llu..%llu us (timeslice 100 ms, tick 4 ms); shares "
                  "%.2f%% %.2f%% fair %.2f%%\n",
                  n, (unsigned long long)(min_gap / US), (unsigned long long)(max_gap / US),
                  100.0 * (double)a.ran_ns / SEC, 100.0 * (double)b.ran_ns / SEC,
                  100.0 * (double)f.ran_ns / SEC);
    assert_true(n >= 9 && n <= 11);
    assert_true(min_gap >= 100 * MS && max_gap <= 104 * MS);
    assert_int_equal(f.ran_ns, 0);
    assert_no_violation(H);
}

/* ---- load balancing ---- */

static void test_balance(void **state)
{
    (void)state;
    struct h_task f[4], rt;
    h_init(H, 2, NULL);
    H->check_each_event = true;
    h_task_rt(&rt, 9, SCHED_POLICY_FIFO, 10, 1);
    h_sleep_run(&rt, 100 * MS, 1000 * SEC, 0);
    assert_int_equal(h_add(H, &rt), 0);
    for (int i = 0; i < 4; i++) {
        h_task_fair(&f[i], 1 + i, 0, H_ANY_CPU);
        assert_int_equal(h_add(H, &f[i]), 0);
    }
    h_run(H, 10 * SEC);
    uint64_t mig = 0;
    for (int i = 0; i < 4; i++) {
        double sh = (double)f[i].ran_ns / (double)(10 * SEC);
        mig += f[i].t.stats.nr_migrations;
        print_message("balance 4 tasks / 2 CPUs: task %d on cpu %u, %.2f%% of a CPU (want 50%% "
                      "+-2%%)\n",
                      i, f[i].t.cpu, 100 * sh);
        assert_true(sh > 0.48 && sh < 0.52);
    }
    print_message("balance: %llu migrations\n", (unsigned long long)mig);
    assert_true(mig >= 1);
    assert_no_violation(H);
}

/* ---- group bandwidth (quota/period) ---- */

/* One CPU: group A (3 CPU-bound tasks) limited to quota/period, one
 * unlimited CPU-bound task alongside. Returns A's share of the CPU time. */
static double group_one_cpu(bool feature, struct sched_group *g, double *other)
{
    struct sched_config cfg;
    struct h_task a[3], b;
    sched_config_default(&cfg);
    if (!feature)
        cfg.features &= ~(1u << SCHED_FEAT_GROUP_BW);
    h_init(H, 1, &cfg);
    H->check_each_event = true;
    assert_int_equal(sched_group_init(&H->s, g, 25 * MS, 100 * MS), 0);
    for (int i = 0; i < 3; i++) {
        h_task_fair(&a[i], 1 + i, 0, 0);
        a[i].t.group = g;
        assert_int_equal(h_add(H, &a[i]), 0);
    }
    h_task_fair(&b, 9, 0, 0);
    assert_int_equal(h_add(H, &b), 0);
    h_run(H, 10 * SEC);
    assert_no_violation(H);
    hal_ns_t ga = a[0].ran_ns + a[1].ran_ns + a[2].ran_ns;
    *other = (double)b.ran_ns / (double)(10 * SEC);
    return (double)ga / (double)(10 * SEC);
}

static void test_group_quota_one_cpu(void **state)
{
    (void)state;
    struct sched_group g;
    double other, got = group_one_cpu(true, &g, &other);
    print_message("group 25ms/100ms, 3 hogs + 1 unlimited hog, 1 CPU: group %.4f%% of the CPU "
                  "(want 25%% +-1%%), other %.4f%%; throttled %llu periods, %llu ms\n",
                  100 * got, 100 * other, (unsigned long long)g.nr_throttled,
                  (unsigned long long)(g.throttled_ns / MS));
    assert_true(got > 0.25 * 0.99 && got < 0.25 * 1.01);
    assert_true(other > 0.75 * 0.99 && other < 0.75 * 1.01);
    assert_true(g.nr_throttled >= 99 && g.nr_throttled <= 100);
}

static void test_group_quota_off(void **state)
{
    (void)state;
    struct sched_group g;
    double other, got = group_one_cpu(false, &g, &other);
    print_message("GROUP_BW off: group of 3 hogs gets %.4f%% (want 75%% +-1%%), other %.4f%%\n",
                  100 * got, 100 * other);
    assert_true(got > 0.75 * 0.99 && got < 0.75 * 1.01);
    assert_int_equal(g.nr_throttled, 0);
    assert_int_equal(g.used_ns, 0);
}

static void test_group_quota_two_cpus(void **state)
{
    (void)state;
    struct sched_group g;
    struct h_task t[4];
    h_init(H, 2, NULL);
    H->check_each_event = true;
    assert_int_equal(sched_group_init(&H->s, &g, 150 * MS, 100 * MS), 0);
    for (int i = 0; i < 4; i++) {
        h_task_fair(&t[i], 1 + i, 0, H_ANY_CPU);
        t[i].t.group = &g;
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    h_run(H, 10 * SEC);
    assert_no_violation(H);
    hal_ns_t ran = 0;
    for (int i = 0; i < 4; i++)
        ran += t[i].ran_ns;
    double cpus = (double)ran / (double)(10 * SEC);
    print_message("group 150ms/100ms, 4 hogs, 2 CPUs: %.4f CPUs (want 1.5 +-1%%); idle cpu0 "
                  "%.2f%% cpu1 %.2f%%; throttled %llu periods\n",
                  cpus, 100.0 * (double)H->rq[0].idle_ns / (double)(10 * SEC),
                  100.0 * (double)H->rq[1].idle_ns / (double)(10 * SEC),
                  (unsigned long long)g.nr_throttled);
    assert_true(cpus > 1.5 * 0.99 && cpus < 1.5 * 1.01);
}

/* Two sleep/run tasks (5 ms run, 45 ms sleep) beside a hog, in group g or
 * in none; returns their CPU time. */
static hal_ns_t under_quota_run(struct sched_group *g)
{
    struct sched_group dummy;
    struct h_task t[2], hog;
    h_init(H, 1, NULL);
    H->check_each_event = true;
    assert_int_equal(sched_group_init(&H->s, g ? g : &dummy, 50 * MS, 100 * MS), 0);
    for (int i = 0; i < 2; i++) {
        h_task_fair(&t[i], 1 + i, 0, 0);
        h_sleep_run(&t[i], 5 * MS, 45 * MS, (hal_ns_t)i * 7 * MS);
        t[i].t.group = g;
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    h_task_fair(&hog, 9, 0, 0);
    assert_int_equal(h_add(H, &hog), 0);
    h_run(H, 10 * SEC);
    assert_no_violation(H);
    return t[0].ran_ns + t[1].ran_ns;
}

static void test_group_under_quota(void **state)
{
    (void)state;
    struct sched_group g;
    hal_ns_t in = under_quota_run(&g), out = under_quota_run(NULL);
    double ratio = (double)in / (double)out;
    print_message("group 50ms/100ms, 2 sleep/run tasks (5ms run/45ms sleep) + hog: %.2f%% of "
                  "the CPU in the group, %.2f%% without (ratio %.4f), %llu ms used in the last period, "
                  "throttled %llu times\n",
                  100.0 * (double)in / (double)(10 * SEC), 100.0 * (double)out / (double)(10 * SEC),
                  ratio, (unsigned long long)(g.used_ns / MS), (unsigned long long)g.nr_throttled);
    assert_int_equal(g.nr_throttled, 0);
    assert_int_equal(g.throttled_ns, 0);
    assert_true(ratio > 0.99 && ratio < 1.01);
}

static void test_group_params(void **state)
{
    (void)state;
    struct sched_group g, bad = {0};
    struct h_task t;
    struct hal_cpu *c;
    h_init(H, 1, NULL);
    c = &H->cpu[0];
    assert_int_equal(sched_group_init(&H->s, &g, 0, 100 * MS), SCHED_EINVAL);
    assert_int_equal(sched_group_init(&H->s, &g, 10 * MS, 0), SCHED_EINVAL);
    assert_int_equal(sched_group_init(&H->s, &g, 10 * MS, (hal_ns_t)1 << 40), SCHED_EINVAL);
    assert_null(H->s.groups);
    assert_int_equal(sched_group_init(&H->s, &g, 10 * MS, ((hal_ns_t)1 << 40) - 1), 0);
    assert_int_equal(sched_group_init(&H->s, &g, 10 * MS, 100 * MS), 0); /* re-init */
    assert_ptr_equal(H->s.groups, &g);
    assert_null(g.next);
    h_task_rt(&t, 1, SCHED_POLICY_FIFO, 10, 0);
    t.t.group = &g;
    assert_int_equal(sched_task_add(&H->s, c, &t.t), SCHED_EINVAL); /* RT in a group */
    h_task_dl(&t, 1, 1 * MS, 10 * MS, 10 * MS, 0);
    t.t.group = &g;
    assert_int_equal(sched_task_add(&H->s, c, &t.t), SCHED_EINVAL); /* DL in a group */
    h_task_fair(&t, 1, 0, 0);
    t.t.group = &bad;
    assert_int_equal(sched_task_add(&H->s, c, &t.t), SCHED_EINVAL); /* not initialised */
    assert_null(H->s.all);
    t.t.group = &g;
    assert_int_equal(sched_task_add(&H->s, c, &t.t), 0);
    print_message("group parameters: EINVAL x6 as expected\n");
}

static void test_inv_group_budget(void **state)
{
    (void)state;
    struct sched_group g;
    struct h_task t[2];
    h_init(H, 1, NULL);
    assert_int_equal(sched_group_init(&H->s, &g, 10 * MS, 100 * MS), 0);
    for (int i = 0; i < 2; i++) {
        h_task_fair(&t[i], 1 + i, 0, 0);
        t[i].t.group = &g;
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    h_run(H, 5 * MS); /* within the quota: a group task runs */
    assert_int_equal(sched_check(&H->s), 0);
    assert_false(g.throttled);
    g.throttled = true; /* throttled, yet its tasks are queued and running */
    int rc1 = sched_check(&H->s);
    g.throttled = false;
    assert_int_equal(sched_check(&H->s), 0);
    g.used_ns = g.quota_ns + H->s.cfg.tick_ns + 1; /* overran by more than a tick */
    g.runtime_left = 0;
    int rc2 = sched_check(&H->s);
    print_message("throttled group still running: check says %s; overrun: %s\n",
                  sched_check_name(rc1), sched_check_name(rc2));
    assert_int_equal(rc1, SCHED_CHECK_GROUP_BUDGET);
    assert_int_equal(rc2, SCHED_CHECK_GROUP_BUDGET);
}

/* ---- parameters ---- */

static void test_bad_params(void **state)
{
    (void)state;
    struct h_task t;
    struct hal_cpu *c;
    h_init(H, 4, NULL);
    c = &H->cpu[0];
#define DL(q, d, p) (h_task_dl(&t, 1, (q), (d), (p), 0), sched_task_add(&H->s, c, &t.t))
    assert_int_equal(DL(5 * MS, 4 * MS, 10 * MS), SCHED_EINVAL); /* runtime > deadline */
    assert_int_equal(DL(1 * MS, 11 * MS, 10 * MS), SCHED_EINVAL); /* deadline > period */
    assert_int_equal(DL(1 * MS, 1 * MS, 0), SCHED_EINVAL);        /* zero period */
    assert_int_equal(DL(0, 1 * MS, 10 * MS), SCHED_EINVAL);       /* zero runtime */
    h_task_fair(&t, 1, 0, 0);
    memset(t.t.affinity, 0, sizeof t.t.affinity);
    assert_int_equal(sched_task_add(&H->s, c, &t.t), SCHED_EINVAL); /* empty affinity */
    h_task_fair(&t, 1, 0, 5);
    assert_int_equal(sched_task_add(&H->s, c, &t.t), SCHED_EINVAL); /* CPU 5 of 4 */
    h_task_fair(&t, 1, 20, 0);
    assert_int_equal(sched_task_add(&H->s, c, &t.t), SCHED_EINVAL); /* nice 20 */
    h_task_rt(&t, 1, SCHED_POLICY_FIFO, 0, 0);
    assert_int_equal(sched_task_add(&H->s, c, &t.t), SCHED_EINVAL); /* prio 0 */
    h_task_rt(&t, 1, SCHED_POLICY_RR, 100, 0);
    assert_int_equal(sched_task_add(&H->s, c, &t.t), SCHED_EINVAL); /* prio 100 */
    assert_null(H->s.all); /* nothing was committed */

    /* admission: two tasks of 0.6 on one CPU */
    struct h_task a, b, d;
    h_task_dl(&a, 1, 6 * MS, 10 * MS, 10 * MS, 0);
    h_task_dl(&b, 2, 6 * MS, 10 * MS, 10 * MS, 0);
    assert_int_equal(sched_task_add(&H->s, c, &a.t), 0);
    assert_int_equal(sched_task_add(&H->s, c, &b.t), SCHED_EADMIT);
    /* ... but fine when it may use another CPU (partitioned, worst fit) */
    sched_affinity_set(&b.t, 1);
    assert_int_equal(sched_task_add(&H->s, c, &b.t), 0);
    assert_int_equal(b.t.cpu, 1);
    /* a single task above the 95% bound */
    h_task_dl(&d, 3, 960 * US, 1 * MS, 1 * MS, 2);
    assert_int_equal(sched_task_add(&H->s, c, &d.t), SCHED_EADMIT);
    h_task_dl(&d, 3, 950 * US, 1 * MS, 1 * MS, 2);
    assert_int_equal(sched_task_add(&H->s, c, &d.t), 0);
    /* exit releases bandwidth */
    assert_int_equal(sched_exit(&H->s, c, &a.t), 0);
    h_task_dl(&a, 1, 6 * MS, 10 * MS, 10 * MS, 0);
    assert_int_equal(sched_task_add(&H->s, c, &a.t), 0);
    /* state errors */
    assert_int_equal(sched_block(&H->s, c), SCHED_ESTATE);
    assert_int_equal(sched_wakeup(&H->s, c, &a.t), 0);
    assert_int_equal(sched_wakeup(&H->s, c, &a.t), SCHED_ESTATE);
    print_message("bad parameters: EINVAL x9, EADMIT x2 as expected\n");
#undef DL
}

static void test_features_format(void **state)
{
    (void)state;
    struct sched_config cfg;
    char buf[512];
    sched_config_default(&cfg);
    size_t n = sched_features_format(&cfg, buf, sizeof buf);
    print_message("features: %s\n", buf);
    assert_true(n < sizeof buf);
    assert_non_null(strstr(buf, "WAKEUP_PREEMPT=1"));
    assert_non_null(strstr(buf, "CHECK_PICK=0"));
    assert_string_equal(sched_feature_name(SCHED_FEAT_PLACE_LAG), "PLACE_LAG");
    assert_null(sched_feature_name(SCHED_FEAT_COUNT));
    char small[8];
    assert_int_equal(sched_features_format(&cfg, small, sizeof small), n);
    assert_int_equal(strlen(small), 7);
}

/* EEVDF placement, checked directly. fair.c derives that inserting i at
 * v_i = V - vlag (W + w_i)/W leaves it with lag V' - v_i = vlag after V
 * moves to V' = (W V + w_i v_i)/(W + w_i). So a waking task must be placed
 * at its saved lag scaled by (W + w_i)/W relative to V before the wake-up,
 * and end with its saved lag relative to V after it. Rounding: the scale
 * truncates (< 1) and V is a floor of the exact average (< 1 before and
 * after), so both are exact to within 1 virtual ns. W and V are recomputed
 * here from the runqueue's sums, not taken from fair.c. */
static int64_t floor_div_i64(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static uint64_t rq_avg_vruntime(const struct sched_fair_rq *f)
{
    return f->zero_v + (uint64_t)floor_div_i64(f->sum_wk, (int64_t)f->sum_w);
}

static void test_fair_place_lag(void **state)
{
    (void)state;
    static const int nices[] = {0, -5, 7};
    /* saved lags in 1/8 of the clamp: both signs, near the clamp and small */
    static const int eighths[] = {7, -7, 3, -3, 0};
    unsigned checked = 0;
    for (size_t a = 0; a < sizeof nices / sizeof nices[0]; a++)
        for (size_t b = 0; b < sizeof eighths / sizeof eighths[0]; b++) {
            static struct h_task t[3], sleeper;
            h_init(H, 1, NULL);
            for (int i = 0; i < 3; i++) {
                h_task_fair(&t[i], 1 + (uint64_t)i, 2 * i - 2, 0);
                assert_int_equal(h_add(H, &t[i]), 0);
            }
            h_task_fair(&sleeper, 9, nices[a], 0);
            h_sleep_run(&sleeper, 1 * MS, 10 * SEC, 2 * MS);
            assert_int_equal(h_add(H, &sleeper), 0);
            h_run(H, 40 * MS); /* it ran its 1 ms, then blocked */
            assert_int_equal(sleeper.t.state, SCHED_TASK_BLOCKED);
            assert_true(sleeper.ran_ns == 1 * MS);
            assert_false(sleeper.t.is_new);

            struct sched_rq *rq = &H->rq[0];
            struct sched_fair_rq *f = &rq->fair;
            uint32_t w = sleeper.t.fair.weight;
            assert_int_equal(w, sched_nice_to_weight(nices[a]));
            /* the clamp: max(2 * slice, tick) * NICE_0 / w */
            hal_ns_t span = 2 * H->s.cfg.base_slice_ns > H->s.cfg.tick_ns
                                ? 2 * H->s.cfg.base_slice_ns : H->s.cfg.tick_ns;
            int64_t limit = (int64_t)(span * SCHED_NICE_0_WEIGHT / w);
            int64_t vlag = limit * eighths[b] / 8;
            if (eighths[b] == 0)
                vlag = sleeper.t.fair.vlag; /* the one it saved itself */
            sleeper.t.fair.vlag = vlag;
            assert_int_equal(sched_check(&H->s), 0);

            sched_update_curr(&H->s, rq, H->now); /* what the wake-up does first */
            uint64_t W = f->sum_w, V = rq_avg_vruntime(f);
            assert_int_equal(sched_wakeup(&H->s, &H->cpu[0], &sleeper.t), 0);
            assert_true(f->sum_w == W + w);
            int64_t placed = (int64_t)(V - sleeper.t.fair.vruntime);
            double want = (double)vlag * (double)(W + w) / (double)W;
            int64_t after = (int64_t)(rq_avg_vruntime(f) - sleeper.t.fair.vruntime);
            if (fabs((double)placed - want) > 1 || llabs(after - vlag) > 1)
                fail_msg("nice %d, saved lag %lld, W %llu, w %u: placed at V - %lld (want "
                         "%.1f = lag (W+w)/W), lag after insertion %lld (want the saved one)",
                         nices[a], (long long)vlag, (unsigned long long)W, w, (long long)placed,
                         want, (long long)after);
            assert_int_equal(sched_check(&H->s), 0);
            checked++;
        }
    print_message("placement of %u waking tasks: lag (W+w)/W before, saved lag after, "
                  "within 1 virtual ns\n", checked);
}

/* ---- invariants, each broken on purpose ---- */

static void fair_rq(int n, hal_ns_t run)
{
    static struct h_task t[8];
    h_init(H, 1, NULL);
    for (int i = 0; i < n; i++) {
        h_task_fair(&t[i], 1 + i, (i * 7) % 11 - 5, 0);
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    h_run(H, run);
    assert_int_equal(sched_check(&H->s), 0);
}

static void test_inv_lag_sum(void **state)
{
    (void)state;
    fair_rq(4, 50 * MS);
    struct sched_fair_rq *f = &H->rq[0].fair;
    f->sum_wk += (int64_t)f->sum_w * 1000 + 7;
    int rc = sched_check(&H->s);
    print_message("corrupt Σ w k: check says %s\n", sched_check_name(rc));
    assert_int_equal(rc, SCHED_CHECK_FAIR_LAG_SUM);
}

static struct sched_node *first(struct sched_node *n)
{
    while (n && n->left)
        n = n->left;
    return n;
}

static struct sched_node *next(struct sched_node *n)
{
    if (n->right)
        return first(n->right);
    while (n->parent && n->parent->right == n)
        n = n->parent;
    return n->parent;
}

static void test_inv_pick(void **state)
{
    (void)state;
    fair_rq(8, 37 * MS);
    struct sched_node *root = H->rq[0].fair.root;
    int fired = 0;
    /* give one queued entity the earliest deadline without fixing the
     * augmentation: the O(log n) pick must now disagree with the scan for
     * some entity (an eligible one off the search path) */
    for (struct sched_node *n = first(root); n && !fired; n = next(n)) {
        struct sched_fair_entity *se = (struct sched_fair_entity *)(void *)n;
        uint64_t old = se->deadline;
        se->deadline = n->aug = old - (1ull << 40);
        int rc = sched_check(&H->s);
        if (rc == SCHED_CHECK_FAIR_PICK)
            fired = 1;
        else
            se->deadline = n->aug = old;
    }
    print_message("corrupt a deadline behind the augmentation: check says fair_pick: %d\n", fired);
    assert_true(fired);
}

static void test_inv_lag_clamp(void **state)
{
    (void)state;
    struct h_task sleeper;
    fair_rq(3, 20 * MS);
    h_task_fair(&sleeper, 77, 0, 0);
    h_sleep_run(&sleeper, 1 * MS, 1 * SEC, 100 * SEC); /* never woken in this test */
    assert_int_equal(h_add(H, &sleeper), 0);
    assert_int_equal(sched_check(&H->s), 0);
    sleeper.t.fair.vlag = 100 * (int64_t)MS;
    int rc = sched_check(&H->s);
    print_message("corrupt a saved lag: check says %s\n", sched_check_name(rc));
    assert_int_equal(rc, SCHED_CHECK_FAIR_LAG_CLAMP);
}

static void test_inv_rt_prio(void **state)
{
    (void)state;
    struct h_task rt;
    fair_rq(2, 10 * MS);
    h_task_rt(&rt, 50, SCHED_POLICY_FIFO, 50, 0);
    assert_int_equal(h_add(H, &rt), 0);
    assert_int_equal(sched_wakeup(&H->s, &H->cpu[0], &rt.t), 0);
    assert_true(sched_need_resched(&H->rq[0]));
    assert_int_equal(sched_check(&H->s), 0); /* pending preemption is fine */
    H->rq[0].need_resched = false;           /* ... lose it */
    int rc = sched_check(&H->s);
    print_message("RT task waits behind fair curr: check says %s\n", sched_check_name(rc));
    assert_int_equal(rc, SCHED_CHECK_RT_PRIO);
}

static void test_inv_dl_budget(void **state)
{
    (void)state;
    struct h_task dl;
    h_init(H, 1, NULL);
    h_task_dl(&dl, 5, 2 * MS, 10 * MS, 10 * MS, 0);
    assert_int_equal(h_add(H, &dl), 0);
    h_run(H, 15 * MS);
    assert_int_equal(sched_check(&H->s), 0);
    dl.t.dl.runtime = -1; /* consumed 1 ns beyond the budget */
    int rc = sched_check(&H->s);
    print_message("DL overran its budget: check says %s\n", sched_check_name(rc));
    assert_int_equal(rc, SCHED_CHECK_DL_BUDGET);
}

static void test_check_pick_feature(void **state)
{
    (void)state;
    struct sched_config cfg;
    struct h_task t[6];
    sched_config_default(&cfg);
    cfg.features |= 1u << SCHED_FEAT_CHECK_PICK;
    h_init(H, 1, &cfg);
    H->check_each_event = true;
    for (int i = 0; i < 6; i++) {
        h_task_fair(&t[i], 1 + i, i - 3, 0);
        h_sleep_run(&t[i], (1 + (hal_ns_t)i) * MS, (7 - (hal_ns_t)i) * MS, (hal_ns_t)i * 333 * US);
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    h_run(H, 2 * SEC);
    assert_no_violation(H);
    uint64_t wakes = 0;
    for (int i = 0; i < 6; i++)
        wakes += t[i].t.stats.nr_wakeups;
    print_message("sleep/run mix with CHECK_PICK: %llu wake-ups, %llu events, no violation\n",
                  (unsigned long long)wakes, (unsigned long long)H->events);
}

/* The freestanding selftests, run on the harness's CPU 0. */
static void test_ktests(void **state)
{
    (void)state;
    h_init(H, 1, NULL);
    unsigned n = 0;
    for (const struct ktest *k = sched_ktests; k->name; k++, n++) {
        int rc = k->fn(&H->cpu[0]);
        if (rc != KTEST_OK)
            fail_msg("ktest sched.%s failed (line %d)", k->name, rc);
    }
    print_message("sched_ktests: %u passed\n", n);
}

/* Yield: FAIR gets a new deadline (the other runs), RT goes to the tail,
 * DL gives up its budget until the next period. */
static void test_yield(void **state)
{
    (void)state;
    struct h_task a, b, d;
    h_init(H, 1, NULL);
    struct hal_cpu *c = &H->cpu[0];
    h_task_fair(&a, 1, 0, 0);
    h_task_fair(&b, 2, 0, 0);
    assert_int_equal(h_add(H, &a), 0);
    assert_int_equal(h_add(H, &b), 0);
    h_run(H, 1 * MS);
    struct sched_task *cur = sched_curr(&H->s, 0);
    assert_non_null(cur);
    assert_int_equal(sched_yield_cpu(&H->s, c), 0);
    assert_ptr_not_equal(sched_schedule(&H->s, c), cur);
    assert_int_equal(sched_check(&H->s), 0);
    h_task_dl(&d, 3, 2 * MS, 10 * MS, 10 * MS, 0);
    assert_int_equal(h_add(H, &d), 0);
    h_run(H, 2 * MS);
    assert_ptr_equal(sched_curr(&H->s, 0), &d.t);
    assert_int_equal(sched_yield_cpu(&H->s, c), 0);
    assert_true(d.t.dl.throttled);
    assert_ptr_not_equal(sched_schedule(&H->s, c), &d.t);
    assert_int_equal(sched_check(&H->s), 0);
    H->check_each_event = true;
    h_run(H, 100 * MS);
    assert_no_violation(H);
    print_message("yield: DL ran %llu us in 100 ms after yielding (replenished each period)\n",
                  (unsigned long long)(d.ran_ns / US));
    assert_true(d.ran_ns > 15 * MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fair_equal_shares), cmocka_unit_test(test_fair_nice_ratio),
        cmocka_unit_test(test_fair_reweight),     cmocka_unit_test(test_fair_place_lag),
        cmocka_unit_test(test_edf_u095_no_miss), cmocka_unit_test(test_dl_wakeup_rule),
        cmocka_unit_test(test_edf_u120_misses),   cmocka_unit_test(test_cbs_isolation),
        cmocka_unit_test(test_rt_rate_monotonic), cmocka_unit_test(test_rt_wakeup_latency),
        cmocka_unit_test(test_class_priority),    cmocka_unit_test(test_rr_rotation),
        cmocka_unit_test(test_balance),           cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_features_format),   cmocka_unit_test(test_inv_lag_sum),
        cmocka_unit_test(test_inv_pick),          cmocka_unit_test(test_inv_lag_clamp),
        cmocka_unit_test(test_inv_rt_prio),       cmocka_unit_test(test_inv_dl_budget),
        cmocka_unit_test(test_check_pick_feature), cmocka_unit_test(test_ktests),
        cmocka_unit_test(test_yield),
        cmocka_unit_test(test_group_quota_one_cpu), cmocka_unit_test(test_group_quota_off),
        cmocka_unit_test(test_group_quota_two_cpus), cmocka_unit_test(test_group_under_quota),
        cmocka_unit_test(test_group_params),      cmocka_unit_test(test_inv_group_budget),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
