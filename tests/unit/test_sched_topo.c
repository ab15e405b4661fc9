/* Topology-aware scheduling: domain construction from a machine
 * description, SMT spreading by the balancer, the NUMA imbalance threshold,
 * energy-aware placement on big.LITTLE, the hackbench/schbench generators,
 * and load-time errors of sched_node's topology/cpu_types keys. Runs on the
 * host harness (sched_harness.c); each behavioural test prints its figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/sched_machine.h"
#include "orrery/config.h"
#include "sched_harness.h"
#include "testutil.h"
#include "workloads/schedgen.h"

/* kernel/sched/internal.h: the utilisation average's update */
void sched_util_update(struct sched_util *u, hal_ns_t now, uint64_t rate);

#define MS 1000000ull
#define US 1000ull
#define SEC 1000000000ull

static struct harness *H;
static struct sched_topology *T;

static int setup(void **state)
{
    (void)state;
    H = calloc(1, sizeof *H);
    T = calloc(1, sizeof *T);
    return H && T ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    h_free(H);
    free(H);
    free(T);
    return 0;
}

/* sockets x cores x threads, CPU = ((socket * cores) + core) * threads +
 * thread, one LLC and one node per socket, remote distance `far`. */
static struct sched_topology_desc shape(struct sched_cpu_topo *cpu, uint8_t *dist, unsigned sockets,
                                        unsigned cores, unsigned threads, unsigned far)
{
    unsigned n = sockets * cores * threads;
    for (unsigned i = 0; i < n; i++) {
        unsigned core = i / threads, sock = core / cores;
        cpu[i] = (struct sched_cpu_topo){.core = (uint16_t)core, .llc = (uint16_t)sock,
                                         .socket = (uint16_t)sock, .node = (uint16_t)sock,
                                         .capacity = 1024, .pd = 0};
    }
    for (unsigned a = 0; a < sockets; a++)
        for (unsigned b = 0; b < sockets; b++)
            dist[a * sockets + b] = (uint8_t)(a == b ? 10 : far);
    return (struct sched_topology_desc){n, cpu, sockets, dist, 1, NULL};
}

static const char *kind_name(enum sched_level_kind k)
{
    return k == SCHED_LEVEL_SMT ? "SMT" : k == SCHED_LEVEL_LLC ? "LLC" : k == SCHED_LEVEL_PKG ? "PKG" : "NUMA";
}

static void print_levels(const char *what, const struct sched_topology *tp)
{
    print_message("%s: %u levels:", what, tp->nr_levels);
    for (unsigned k = 0; k < tp->nr_levels; k++) {
        const struct sched_domain_level *l = &tp->level[k];
        unsigned w = 0;
        for (unsigned j = 0; j < tp->nr_cpus; j++)
            w += sched_topology_shares(tp, k, 0, j);
        print_message(" %s%s%.0u(span %u, pct %u, every %u ticks)", kind_name(l->kind),
                      l->kind == SCHED_LEVEL_NUMA ? "/" : "",
                      l->kind == SCHED_LEVEL_NUMA ? l->max_distance : 0, w, l->imbalance_pct,
                      l->interval);
    }
    print_message("\n");
}

/* ---- domain construction ---- */

static void test_domains_two_sockets_smt(void **state)
{
    (void)state;
    struct sched_cpu_topo cpu[16];
    uint8_t dist[4];
    struct sched_topology_desc d = shape(cpu, dist, 2, 4, 2, 21);
    assert_int_equal(sched_topology_build(T, &d, NULL), 0);
    print_levels("2 sockets x 4 cores x 2 SMT, distance 21", T);
    /* PKG = LLC and NUMA 10 = socket are degenerate: SMT, LLC, NUMA 21 */
    assert_int_equal(T->nr_levels, 3);
    assert_int_equal(T->level[0].kind, SCHED_LEVEL_SMT);
    assert_int_equal(T->level[1].kind, SCHED_LEVEL_LLC);
    assert_int_equal(T->level[2].kind, SCHED_LEVEL_NUMA);
    assert_int_equal(T->level[2].max_distance, 21);
    assert_true(sched_topology_shares(T, 0, 2, 3));   /* SMT siblings */
    assert_false(sched_topology_shares(T, 0, 1, 2));  /* other core */
    assert_true(sched_topology_shares(T, 1, 0, 7));   /* same LLC */
    assert_false(sched_topology_shares(T, 1, 7, 8));  /* other socket */
    assert_true(sched_topology_shares(T, 2, 0, 15));
    assert_int_equal(T->level[0].imbalance_pct, 110);
    assert_int_equal(T->level[2].imbalance_pct, 125);
    assert_true(T->level[1].interval > T->level[0].interval &&
                T->level[2].interval > T->level[1].interval);
    /* groups: CPUs, then cores, then sockets */
    assert_int_equal(T->level[0].group_id, SCHED_ID_CPU);
    assert_int_equal(T->level[1].group_id, SCHED_ID_CORE);
    assert_int_equal(T->level[2].group_id, SCHED_ID_LLC);
    assert_int_equal(T->first[SCHED_ID_CORE][5], 4);
    assert_int_equal(T->next[SCHED_ID_CORE][4], 5);
    assert_int_equal(T->next[SCHED_ID_CORE][5], 5);
}

static void test_domains_numa_ring(void **state)
{
    (void)state;
    /* 4 sockets in a ring: neighbours 20, opposite 30; two LLC clusters per
     * socket of 2 cores; no SMT */
    struct sched_cpu_topo cpu[16];
    uint8_t dist[16];
    struct sched_topology_desc d = shape(cpu, dist, 4, 4, 1, 20);
    for (unsigned i = 0; i < 16; i++)
        cpu[i].llc = (uint16_t)(i / 2);
    dist[0 * 4 + 2] = dist[2 * 4 + 0] = dist[1 * 4 + 3] = dist[3 * 4 + 1] = 30;
    assert_int_equal(sched_topology_build(T, &d, NULL), 0);
    print_levels("4 sockets in a ring (20/30), 2 LLCs per socket", T);
    assert_int_equal(T->nr_levels, 4); /* LLC, PKG, NUMA 20, NUMA 30 */
    assert_int_equal(T->level[0].kind, SCHED_LEVEL_LLC);
    assert_int_equal(T->level[1].kind, SCHED_LEVEL_PKG);
    assert_int_equal(T->level[2].max_distance, 20);
    assert_int_equal(T->level[3].max_distance, 30);
    assert_true(sched_topology_shares(T, 2, 0, 4));   /* socket 1 is a neighbour */
    assert_false(sched_topology_shares(T, 2, 0, 8));  /* socket 2 is opposite */
    assert_true(sched_topology_shares(T, 3, 0, 8));
}

static void test_domains_bad(void **state)
{
    (void)state;
    struct sched_cpu_topo cpu[16];
    uint8_t dist[4];
    struct sched_topology_desc d = shape(cpu, dist, 2, 4, 2, 21);
    dist[1] = 22; /* asymmetric */
    assert_int_equal(sched_topology_build(T, &d, NULL), SCHED_EINVAL);
    dist[1] = 21;
    dist[0] = 11; /* local distance not 10 */
    assert_int_equal(sched_topology_build(T, &d, NULL), SCHED_EINVAL);
    dist[0] = 10;
    cpu[3].llc = 1; /* SMT siblings 2, 3 in different LLCs */
    assert_int_equal(sched_topology_build(T, &d, NULL), SCHED_EINVAL);
    cpu[3].llc = 0;
    cpu[3].capacity = 0;
    assert_int_equal(sched_topology_build(T, &d, NULL), SCHED_EINVAL);
    cpu[3].capacity = 1024;
    assert_int_equal(sched_topology_build(T, &d, NULL), 0);
    h_init(H, 4, NULL);
    assert_int_equal(sched_set_topology(&H->s, T), SCHED_EINVAL); /* 16 CPUs, not 4 */
    print_message("bad topologies: EINVAL x5 as expected\n");
}

/* ---- SMT: no core with both siblings busy while another core idles ---- */

/* Fraction of 1 ms samples over [from, to) in which some core runs two
 * tasks while another core is wholly idle (cores = CPU pairs). */
static hal_ns_t last_stacked;

static double smt_stacked(unsigned ncores, hal_ns_t from, hal_ns_t to)
{
    unsigned bad = 0, n = 0;
    for (hal_ns_t t = from; t < to; t += 1 * MS, n++) {
        h_run(H, t);
        bool stacked = false, idle_core = false;
        for (unsigned c = 0; c < ncores; c++) {
            unsigned busy = (sched_curr(&H->s, 2 * c) != NULL) + (sched_curr(&H->s, 2 * c + 1) != NULL);
            stacked |= busy == 2;
            idle_core |= busy == 0;
        }
        bad += stacked && idle_core;
        if (stacked && idle_core)
            last_stacked = H->now;
    }
    return (double)bad / n;
}

static void test_smt_balance(void **state)
{
    (void)state;
    struct sched_cpu_topo cpu[8];
    uint8_t dist[1];
    struct h_task t[4];
    struct sched_topology_desc d = shape(cpu, dist, 1, 4, 2, 20);
    struct sched_config cfg;
    sched_config_default(&cfg);
    cfg.features &= ~(1u << SCHED_FEAT_TOPOLOGY); /* start flat */
    h_init(H, 8, &cfg);
    H->check_each_event = true;
    assert_int_equal(sched_topology_build(T, &d, &cfg), 0);
    assert_int_equal(sched_set_topology(&H->s, T), 0);
    for (int i = 0; i < 4; i++) {
        h_task_fair(&t[i], 1 + i, 0, H_ANY_CPU);
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    double flat = smt_stacked(4, 1 * MS, 500 * MS);
    print_message("4 hogs, 4 cores x 2 SMT, TOPOLOGY=0: on CPUs %u %u %u %u; a core with both "
                  "siblings busy while another idles %.1f%% of the time\n",
                  t[0].t.cpu, t[1].t.cpu, t[2].t.cpu, t[3].t.cpu, 100 * flat);
    H->s.cfg.features |= 1u << SCHED_FEAT_TOPOLOGY;
    hal_ns_t t0 = H->now;
    last_stacked = t0;
    double settle = smt_stacked(4, t0 + 1 * MS, t0 + 500 * MS);
    hal_ns_t settled = last_stacked - t0;
    double on = smt_stacked(4, t0 + 500 * MS, t0 + 3 * SEC);
    uint64_t pushes = 0;
    for (unsigned i = 0; i < 8; i++)
        pushes += H->rq[i].nr_pushes;
    print_message("after TOPOLOGY=1: settled in %llu ms (stacked %.1f%% of the first 500 ms); "
                  "then on CPUs %u %u %u %u, stacked %.2f%% of 2.5 s (want 0); %llu active "
                  "pushes\n",
                  (unsigned long long)(settled / MS), 100 * settle, t[0].t.cpu, t[1].t.cpu,
                  t[2].t.cpu, t[3].t.cpu, 100 * on, (unsigned long long)pushes);
    if (H->first_check_rc)
        fail_msg("sched_check: %s at %llu ns", sched_check_name(H->first_check_rc),
                 (unsigned long long)H->first_check_at);
    assert_true(flat > 0.9); /* the flat placement stacks them (the test can fail) */
    assert_true(on == 0.0);
    assert_true(pushes >= 2 && pushes <= 4);
    assert_true(settled < 200 * MS); /* LLC level every 8 ticks (32 ms) */
    bool core_used[4] = {0};
    for (int i = 0; i < 4; i++)
        core_used[t[i].t.cpu / 2] = true;
    for (int c = 0; c < 4; c++)
        assert_true(core_used[c]);
}

/* Wake placement alone spreads over cores (no balancing needed). */
static void test_smt_wake_placement(void **state)
{
    (void)state;
    struct sched_cpu_topo cpu[8];
    uint8_t dist[1];
    struct h_task t[4];
    struct sched_topology_desc d = shape(cpu, dist, 1, 4, 2, 20);
    h_init(H, 8, NULL);
    H->check_each_event = true;
    assert_int_equal(sched_topology_build(T, &d, NULL), 0);
    assert_int_equal(sched_set_topology(&H->s, T), 0);
    for (int i = 0; i < 4; i++) {
        h_task_fair(&t[i], 1 + i, 0, H_ANY_CPU);
        h_sleep_run(&t[i], 3 * MS, 2 * MS, (hal_ns_t)i * 100 * US);
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    double stacked = smt_stacked(4, 1 * MS, 1 * SEC);
    print_message("4 sleep/run tasks (3 ms/2 ms), 4 cores x 2 SMT: stacked on one core while "
                  "another idles %.2f%% of the samples (want 0)\n",
                  100 * stacked);
    assert_int_equal(H->first_check_rc, 0);
    assert_true(stacked == 0.0);
}

/* ---- NUMA imbalance threshold ---- */

/* 2 nodes x 4 CPUs, `a` hogs started on node 0 and `b` on node 1, then free
 * to run anywhere. Returns how many end on node 0; *cross counts tasks that
 * changed node. */
static unsigned numa_run(unsigned a, unsigned b, uint32_t pct, unsigned *cross)
{
    static struct h_task t[24];
    struct sched_cpu_topo cpu[8];
    uint8_t dist[4];
    struct sched_topology_desc d = shape(cpu, dist, 2, 4, 1, 20);
    struct sched_config cfg;
    sched_config_default(&cfg);
    cfg.numa_imbalance_pct = pct;
    h_init(H, 8, &cfg);
    H->check_each_event = true;
    assert_int_equal(sched_topology_build(T, &d, &cfg), 0);
    assert_int_equal(sched_set_topology(&H->s, T), 0);
    for (unsigned i = 0; i < a + b; i++) {
        h_task_fair(&t[i], 1 + i, 0, H_ANY_CPU);
        t[i].any_cpu = false;
        for (unsigned c = 0; c < 4; c++)
            sched_affinity_set(&t[i].t, (i < a ? 0 : 4) + c);
        assert_int_equal(h_add(H, &t[i]), 0);
    }
    h_run(H, 100 * MS);
    for (unsigned i = 0; i < a + b; i++) /* widen: the balancer may move them now */
        for (unsigned c = 0; c < 8; c++)
            sched_affinity_set(&t[i].t, c);
    h_run(H, 3 * SEC);
    assert_int_equal(H->first_check_rc, 0);
    unsigned on0 = 0;
    *cross = 0;
    for (unsigned i = 0; i < a + b; i++) {
        on0 += t[i].t.cpu < 4;
        *cross += (t[i].t.cpu < 4) != (i < a);
    }
    return on0;
}

static void test_numa_threshold(void **state)
{
    (void)state;
    unsigned cross125, cross110, cross_big;
    unsigned n125 = numa_run(10, 8, 125, &cross125);
    print_message("NUMA 10 vs 8 hogs on 4+4 CPUs, numa_imbalance_pct 125: %u/%u after 3 s, %u "
                  "changed node (ratio 1.25 is not above 125%%: want 0)\n",
                  n125, 18 - n125, cross125);
    unsigned n110 = numa_run(10, 8, 110, &cross110);
    print_message("same at 110: %u/%u, %u changed node (want 9/9)\n", n110, 18 - n110, cross110);
    unsigned nbig = numa_run(12, 6, 125, &cross_big);
    print_message("12 vs 6 at 125 (ratio 2): %u/%u, %u changed node (want 10/8: it stops where "
                  "the ratio reaches 1.25)\n", nbig,
                  18 - nbig, cross_big);
    assert_int_equal(cross125, 0);
    assert_int_equal(n125, 10);
    assert_int_equal(n110, 9);
    assert_int_equal(nbig, 10);
    assert_int_equal(cross_big, 2);
}

/* ---- energy-aware placement ---- */

struct eas_result {
    double energy_mj, small_little, heavy_big;
    unsigned heavy_cpu;
    hal_ns_t heavy_ran, small_ran;
};

/* 2 big (1024, 1200/40 mW) + 2 little (446, 180/10 mW) CPUs; 3 small tasks
 * (1 ms of big work every 10 ms) and one heavy CPU-bound task, 2 s. */
static struct eas_result eas_run(bool eas)
{
    static const struct sched_energy_pd em[2] = {{1200, 40}, {180, 10}};
    struct sched_cpu_topo cpu[4];
    uint8_t dist[1] = {10};
    struct h_task small[3], heavy;
    struct sched_config cfg;
    struct eas_result r = {0};
    for (unsigned i = 0; i < 4; i++)
        cpu[i] = (struct sched_cpu_topo){.core = (uint16_t)i, .capacity = i < 2 ? 1024 : 446,
                                         .pd = i < 2 ? 0 : 1};
    struct sched_topology_desc d = {4, cpu, 1, dist, 2, em};
    sched_config_default(&cfg);
    if (!eas)
        cfg.features &= ~(1u << SCHED_FEAT_ENERGY_AWARE);
    h_init(H, 4, &cfg);
    H->check_each_event = true;
    H->capacity[2] = H->capacity[3] = 446;
    H->capacity[0] = H->capacity[1] = 1024;
    assert_int_equal(sched_topology_build(T, &d, &cfg), 0);
    assert_true(T->has_energy);
    assert_int_equal(sched_set_topology(&H->s, T), 0);
    for (int i = 0; i < 3; i++) {
        h_task_fair(&small[i], 1 + i, 0, H_ANY_CPU);
        h_sleep_run(&small[i], 1 * MS, 9 * MS, (hal_ns_t)i * 3 * MS + 500 * US);
        assert_int_equal(h_add(H, &small[i]), 0);
    }
    h_task_fair(&heavy, 9, 0, H_ANY_CPU);
    assert_int_equal(h_add(H, &heavy), 0);
    unsigned samples = 0, small_on_little = 0, small_running = 0, heavy_on_big = 0;
    for (hal_ns_t t = 1 * MS; t <= 2 * SEC; t += 250 * US, samples++) {
        h_run(H, t);
        for (unsigned c = 0; c < 4; c++) {
            const struct sched_task *cur = sched_curr(&H->s, c);
            if (cur == &heavy.t)
                heavy_on_big += c < 2;
            else if (cur) {
                small_running++;
                small_on_little += c >= 2;
            }
        }
    }
    assert_int_equal(H->first_check_rc, 0);
    for (unsigned c = 0; c < 4; c++) {
        const struct sched_rq *rq = &H->rq[c];
        hal_ns_t idle = rq->idle_ns + (rq->curr ? 0 : H->now - rq->idle_start);
        hal_ns_t busy = H->now - idle;
        r.energy_mj += ((double)busy * em[c >= 2].busy_mw + (double)idle * em[c >= 2].idle_mw) / 1e9;
    }
    r.small_little = small_running ? (double)small_on_little / small_running : 0;
    r.heavy_big = (double)heavy_on_big / samples;
    r.heavy_cpu = heavy.t.cpu;
    r.heavy_ran = heavy.ran_ns;
    r.small_ran = small[0].ran_ns + small[1].ran_ns + small[2].ran_ns;
    print_message("EAS=%d: energy %.1f mJ in 2 s; small tasks on little CPUs %.1f%% of their "
                  "running samples; heavy on a big CPU %.1f%% of the time (now on cpu %u, util "
                  "%u); work done small %llu ms heavy %llu ms\n",
                  eas, r.energy_mj, 100 * r.small_little, 100 * r.heavy_big, r.heavy_cpu,
                  sched_task_util(&H->s, &heavy.t, H->now), (unsigned long long)(r.small_ran / MS),
                  (unsigned long long)(r.heavy_ran / MS));
    return r;
}

static void test_eas_placement(void **state)
{
    (void)state;
    struct eas_result on = eas_run(true), off = eas_run(false);
    print_message("energy with EAS %.1f mJ vs without %.1f mJ (%.1f%% less)\n", on.energy_mj,
                  off.energy_mj, 100 * (1 - on.energy_mj / off.energy_mj));
    assert_true(on.small_little > 0.9);      /* small tasks on little CPUs */
    assert_true(off.small_little < on.small_little);
    assert_true(on.energy_mj < off.energy_mj);
    assert_true(on.heavy_cpu < 2);           /* the heavy task ends on a big CPU */
    assert_true(on.heavy_big > 0.9);
    /* the small tasks loop run/sleep: on a little CPU a 1 ms job takes
     * 1024/446 ms, so the cycle is 11.3 ms instead of 10 (88 % of the jobs) */
    assert_true(on.small_ran > off.small_ran * 85 / 100);
    double per_on = on.energy_mj / (double)((on.small_ran + on.heavy_ran) / MS);
    double per_off = off.energy_mj / (double)((off.small_ran + off.heavy_ran) / MS);
    print_message("energy per ms of work: %.3f mJ with EAS, %.3f mJ without\n", per_on, per_off);
    assert_true(per_on < per_off);
}

/* The utilisation average follows its closed form: running flat out on a
 * 1024 CPU for one half-life from 0 gives 512, two give 768. */
static void test_util_average(void **state)
{
    (void)state;
    struct sched_util u = {0, 0};
    uint64_t rate = 1024ull << SCHED_UTIL_SHIFT;
    const hal_ns_t half = 1ull << 25;
    for (hal_ns_t t = 1000; t <= half; t += 1000) /* 1 µs steps */
        sched_util_update(&u, t, rate);
    unsigned one = (unsigned)(u.avg >> SCHED_UTIL_SHIFT);
    sched_util_update(&u, 2 * half, rate);
    unsigned two = (unsigned)(u.avg >> SCHED_UTIL_SHIFT);
    sched_util_update(&u, 3 * half, 0);
    unsigned decayed = (unsigned)(u.avg >> SCHED_UTIL_SHIFT);
    print_message("util: after 1 half-life (1 us steps) %u (want 512), 2: %u (want 768), then "
                  "idle 1 half-life: %u (want 384)\n",
                  one, two, decayed);
    assert_true(one >= 511 && one <= 512);
    assert_true(two >= 767 && two <= 768);
    assert_true(decayed >= 383 && decayed <= 384);
}

/* ---- generators ---- */

static void load(struct orr_config *cfg, const char *yaml, struct orr_diag *d)
{
    orr_diag_init(d);
    assert_int_equal(orr_config_load_string(cfg, "t.yaml", yaml, strlen(yaml), NULL, d), 0);
}

static void test_hackbench_expand(void **state)
{
    (void)state;
    struct orr_config cfg;
    struct orr_diag d;
    struct rtapp_set set;
    struct schedgen_pool pool = {0};
    load(&cfg, "hackbench: {groups: 2, fds: 3, loops: 5, message_cost: 10us}\n", &d);
    assert_int_equal(rtapp_parse(NULL, "tasks", 4, &set, &d), 0);
    assert_int_equal(hackbench_expand(orr_node_get(cfg.root, "hackbench"), "n.hackbench", &set,
                                      &pool, &d), 0);
    unsigned tasks = 0;
    for (size_t i = 0; i < set.nTask; i++)
        tasks += set.aTask[i].count;
    print_message("hackbench 2 groups x 3 fds x 5 loops: %zu specs, %u tasks, %zu events\n",
                  set.nTask, tasks, set.nEvent);
    assert_int_equal(tasks, 2 * 2 * 3);
    assert_int_equal(set.nEvent, 2 * 3);
    const struct rtapp_task *s = &set.aTask[0], *r = &set.aTask[1];
    assert_string_equal(s->name, "hackbench.g0.s");
    assert_int_equal(s->count, 3);
    assert_int_equal(s->loops, 5);
    assert_int_equal(s->nPhase, 6);
    assert_int_equal(s->aPhase[0].op, RTAPP_RUN);
    assert_int_equal(s->aPhase[0].amount, 10000);
    assert_int_equal(s->aPhase[3].op, RTAPP_WAKE);
    assert_string_equal(set.aEventName[s->aPhase[3].event], "hackbench.g0.r1");
    assert_string_equal(r->name, "hackbench.g0.r0");
    assert_int_equal(r->loops, 15); /* 3 senders x 5 messages */
    assert_int_equal(r->aPhase[0].op, RTAPP_WAIT);
    assert_int_equal(r->aPhase[0].event, s->aPhase[1].event);
    assert_string_equal(set.aTask[4].name, "hackbench.g1.s");
    assert_true(rtapp_on_cpu(r, 3));
    rtapp_free(&set);
    schedgen_pool_free(&pool);
    orr_config_free(&cfg);
    orr_diag_free(&d);
}

static void test_schbench_expand(void **state)
{
    (void)state;
    struct orr_config cfg;
    struct orr_diag d;
    struct rtapp_set set;
    struct schedgen_pool pool = {0};
    struct schbench_info info;
    load(&cfg,
         "tasks: [{name: x, count: 2, phases: [{run: 1ms}]}]\n"
         "schbench: {message_threads: 2, workers_per_message: 3, requests: 7, run: 50us, "
         "sleep: 2ms}\n",
         &d);
    assert_int_equal(rtapp_parse(orr_node_get(cfg.root, "tasks"), "tasks", 4, &set, &d), 0);
    assert_int_equal(schbench_expand(orr_node_get(cfg.root, "schbench"), "n.schbench", &set,
                                     &pool, &info, &d), 0);
    print_message("schbench 2 x 3 workers, 7 requests: %zu specs (messages at %zu, workers at "
                  "%zu..%zu), %zu events\n",
                  set.nTask, info.first_message, info.first_worker,
                  info.first_worker + info.nWorker - 1, set.nEvent);
    assert_int_equal(info.first_message, 1);
    assert_int_equal(info.nMessage, 2);
    assert_int_equal(info.first_worker, 3);
    assert_int_equal(info.nWorker, 6);
    assert_int_equal(set.nEvent, 2 * (3 + 1));
    const struct rtapp_task *m = &set.aTask[1], *w = &set.aTask[3 + 4]; /* m1.w1 */
    assert_string_equal(m->name, "schbench.m0");
    assert_int_equal(m->loops, 7);
    assert_int_equal(m->nPhase, 1 + 2 * 3);
    assert_int_equal(m->aPhase[0].op, RTAPP_SLEEP);
    assert_int_equal(m->aPhase[0].amount, 2000000);
    assert_int_equal(m->aPhase[6].op, RTAPP_WAIT);
    assert_string_equal(set.aEventName[m->aPhase[6].event], "schbench.m0.done");
    assert_string_equal(w->name, "schbench.m1.w1");
    assert_string_equal(set.aEventName[w->aPhase[0].event], "schbench.m1.w1");
    assert_int_equal(w->aPhase[1].amount, 50000);
    assert_string_equal(set.aEventName[w->aPhase[2].event], "schbench.m1.done");
    rtapp_free(&set);
    schedgen_pool_free(&pool);
    orr_config_free(&cfg);
    orr_diag_free(&d);

    /* a bad key is an error with its position */
    load(&cfg, "schbench: {message_threads: 0}\n", &d);
    assert_int_equal(rtapp_parse(NULL, "tasks", 4, &set, &d), 0);
    assert_int_not_equal(schbench_expand(orr_node_get(cfg.root, "schbench"), "n.schbench", &set,
                                         &pool, &info, &d), 0);
    char buf[512];
    orr_diag_format(&d.aMsg[0], buf, sizeof buf);
    print_message("schbench message_threads 0: %s\n", buf);
    assert_non_null(strstr(buf, "t.yaml:1:"));
    rtapp_free(&set);
    schedgen_pool_free(&pool);
    orr_config_free(&cfg);
    orr_diag_free(&d);
}

/* ---- sched_node's topology / cpu_types: load-time errors ---- */

/* Parse `topology` / `cpu_types` of yaml; 0 or the error rendered in buf. */
static int machine(const char *yaml, unsigned cpus, bool cpus_given, struct sched_machine *m,
                   char *buf, size_t n)
{
    struct orr_config cfg;
    struct orr_diag d;
    struct orr_mark cm = {"t.yaml", 1, 1};
    load(&cfg, yaml, &d);
    int rc = sched_machine_parse(orr_node_get(cfg.root, "topology"),
                                 orr_node_get(cfg.root, "cpu_types"), cpus, cpus_given, &cm,
                                 "node0", m, &d);
    buf[0] = '\0';
    if (d.nMsg)
        orr_diag_format(&d.aMsg[0], buf, n);
    orr_config_free(&cfg);
    orr_diag_free(&d);
    return rc;
}

static void expect_machine_error(const char *yaml, unsigned cpus, bool given, const char *want)
{
    struct sched_machine m;
    char buf[512];
    int rc = machine(yaml, cpus, given, &m, buf, sizeof buf);
    print_message("  %s\n", buf);
    if (!strstr(buf, want))
        print_error("want: %s\n", want);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(buf, want));
    sched_machine_free(&m);
}

static void test_machine_errors(void **state)
{
    (void)state;
    print_message("topology / cpu_types errors:\n");
    expect_machine_error("topology:\n  sockets: 2\n  distances: [[10, 20], [20, 10, 30]]\n", 0,
                         false, "t.yaml:3:25: error: node0.topology.distances: the distance matrix "
                                "must be square: row 1 needs 2 entries (got 3)");
    expect_machine_error("topology:\n  sockets: 3\n  distances: [[10, 20], [20, 10]]\n", 0, false,
                         "t.yaml:3:14: error: node0.topology.distances: the distance matrix must "
                         "be square, 3 x 3 for 3 NUMA nodes (got 2 rows)");
    expect_machine_error("topology:\n  sockets: 2\n  distances: [[10, 20], [21, 10]]\n", 0, false,
                         "t.yaml:3:26: error: node0.topology.distances: the distance matrix must "
                         "be symmetric");
    expect_machine_error("topology:\n  sockets: 2\n  distances: [[10, 20], [20, 12]]\n", 0, false,
                         "distance[1][1] must be 10");
    expect_machine_error("topology:\n  sockets: 2\n  distances: [[10, 10], [10, 10]]\n", 0, false,
                         "distance[0][1] must be more than 10");
    expect_machine_error("topology:\n  sockets: 2\n  distances: [[10, x], [20, 10]]\n", 0, false,
                         "t.yaml:3:20: error: node0.topology.distances: a distance is an integer");
    expect_machine_error("topology: {sockets: 2, cores_per_socket: 4, threads_per_core: 2}\n", 12,
                         true,
                         "t.yaml:1:1: error: node0: cpus is 12 but the topology (sockets x "
                         "cores_per_socket x threads_per_core) describes 16 CPUs");
    expect_machine_error("topology: {sockets: 4, numa_nodes: 3}\n", 0, false,
                         "numa_nodes (3) must divide sockets (4)");
    expect_machine_error("topology: {socket: 4}\n", 0, false, "unknown key 'socket'");
    expect_machine_error("cpu_types: [{name: big, count: 2}, {name: little, count: 3, capacity: "
                         "2000}]\n",
                         0, false, "capacity");
    expect_machine_error("topology: {sockets: 1, cores_per_socket: 4}\n"
                         "cpu_types: [{name: big, count: 2}, {name: little, count: 3}]\n",
                         0, false,
                         "t.yaml:2:12: error: node0: cpu_types' counts add up to 5 CPUs but the "
                         "topology has 4");

    /* and a good one: CPU numbering and derived cpus */
    struct sched_machine m;
    char buf[512];
    assert_int_equal(machine("topology: {sockets: 2, cores_per_socket: 4, threads_per_core: 2, "
                             "clusters_per_socket: 2, numa_nodes: 1}\n",
                             1, false, &m, buf, sizeof buf),
                     0);
    print_message("good topology: %u CPUs; cpu 13: core %u llc %u socket %u node %u\n", m.ncpu,
                  m.aCpu[13].core, m.aCpu[13].llc, m.aCpu[13].socket, m.aCpu[13].node);
    assert_int_equal(m.ncpu, 16);
    assert_int_equal(m.aCpu[13].core, 6);
    assert_int_equal(m.aCpu[13].llc, 3);
    assert_int_equal(m.aCpu[13].socket, 1);
    assert_int_equal(m.aCpu[13].node, 0);
    assert_int_equal(m.aDistance[0], 10);
    struct sched_topology_desc desc = sched_machine_desc(&m);
    assert_int_equal(sched_topology_build(T, &desc, NULL), 0);
    print_levels("from the description", T);
    assert_int_equal(T->nr_levels, 4); /* SMT, LLC, PKG, NUMA 10: one node of 2 sockets */
    assert_int_equal(T->level[3].kind, SCHED_LEVEL_NUMA);
    sched_machine_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domains_two_sockets_smt),
        cmocka_unit_test(test_domains_numa_ring),
        cmocka_unit_test(test_domains_bad),
        cmocka_unit_test(test_smt_balance),
        cmocka_unit_test(test_smt_wake_placement),
        cmocka_unit_test(test_numa_threshold),
        cmocka_unit_test(test_util_average),
        cmocka_unit_test(test_eas_placement),
        cmocka_unit_test(test_hackbench_expand),
        cmocka_unit_test(test_schbench_expand),
        cmocka_unit_test(test_machine_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
