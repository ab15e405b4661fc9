/* Scheduler selftests that need no harness: they run on any HAL backend
 * (QEMU, the simulated platform) through the freestanding ktest runner, on
 * one private single-CPU scheduler instance on the caller's stack. Tests that
 * drive a scheduler instance need to run on CPU 0 (they skip elsewhere). */
#include "internal.h"
#include "kernel/kstring.h"
#include "kernel/ktest.h"

static struct sched_task *task(struct sched_task *t, uint64_t id, enum sched_policy pol)
{
    kmemset(t, 0, sizeof *t);
    t->id = id;
    t->policy = pol;
    sched_affinity_set(t, 0);
    return t;
}

/* Linux's table: nice 0 = 1024, strictly decreasing, ~1.25x per step. */
static int test_nice_weights(struct hal_cpu *c)
{
    (void)c;
    KTEST_CHECK(sched_nice_to_weight(0) == 1024);
    KTEST_CHECK(sched_nice_to_weight(-20) == 88761);
    KTEST_CHECK(sched_nice_to_weight(19) == 15);
    KTEST_CHECK(sched_nice_to_weight(5) == 335);
    for (int n = -20; n < 19; n++) {
        uint64_t a = sched_nice_to_weight(n), b = sched_nice_to_weight(n + 1);
        KTEST_CHECK(a > b);
        KTEST_CHECK(a * 100 / b >= 119 && a * 100 / b <= 131);
    }
    return KTEST_OK;
}

/* Five new fair tasks all start at V with lag 0 (all eligible) and a first
 * deadline of half a slice scaled by 1024/w: the heaviest must be picked,
 * then the next heaviest once the first blocks. */
static int test_eevdf_pick(struct hal_cpu *c)
{
    if (hal_cpu_id(c) != 0)
        return KTEST_SKIP;
    struct sched s;
    struct sched_rq rq[1];
    struct sched_task t[5];
    static const int nice[5] = {3, -2, 0, 7, -1};
    KTEST_CHECK(sched_init(&s, NULL, rq, 1) == 0);
    for (int i = 0; i < 5; i++) {
        task(&t[i], 100 + (uint64_t)i, SCHED_POLICY_NORMAL)->nice = nice[i];
        KTEST_CHECK(sched_task_add(&s, c, &t[i]) == 0);
        KTEST_CHECK(sched_wakeup(&s, c, &t[i]) == 0);
    }
    KTEST_CHECK(sched_check(&s) == 0);
    KTEST_CHECK(sched_schedule(&s, c) == &t[1]); /* nice -2 */
    KTEST_CHECK(sched_check(&s) == 0);
    KTEST_CHECK(sched_block(&s, c) == 0);
    KTEST_CHECK(sched_schedule(&s, c) == &t[4]); /* nice -1 */
    KTEST_CHECK(sched_check(&s) == 0);
    KTEST_CHECK(rq[0].fair.nr_running == 4);
    return KTEST_OK;
}

/* Highest priority first, FIFO within a priority. */
static int test_rt_pick_order(struct hal_cpu *c)
{
    if (hal_cpu_id(c) != 0)
        return KTEST_SKIP;
    struct sched s;
    struct sched_rq rq[1];
    struct sched_task t[5];
    static const unsigned prio[5] = {5, 64, 99, 1, 64};
    static const int order[5] = {2, 1, 4, 0, 3};
    KTEST_CHECK(sched_init(&s, NULL, rq, 1) == 0);
    for (int i = 0; i < 5; i++) {
        task(&t[i], 200 + (uint64_t)i, SCHED_POLICY_FIFO)->rt_prio = prio[i];
        KTEST_CHECK(sched_task_add(&s, c, &t[i]) == 0);
        KTEST_CHECK(sched_wakeup(&s, c, &t[i]) == 0);
    }
    KTEST_CHECK(sched_rt_highest(&rq[0].rt) == 99);
    for (int k = 0; k < 5; k++) {
        KTEST_CHECK(sched_schedule(&s, c) == &t[order[k]]);
        KTEST_CHECK(sched_check(&s) == 0);
        KTEST_CHECK(sched_block(&s, c) == 0);
    }
    KTEST_CHECK(sched_schedule(&s, c) == NULL);
    KTEST_CHECK(rq[0].rt.bitmap[0] == 0 && rq[0].rt.bitmap[1] == 0);
    return KTEST_OK;
}

/* Fixed-point bandwidth and the 95% bound. */
static int test_dl_admission(struct hal_cpu *c)
{
    struct sched s;
    struct sched_rq rq[1];
    struct sched_task a, b;
    KTEST_CHECK(sched_dl_bw(6000000, 10000000) == (6ull << SCHED_BW_SHIFT) / 10);
    KTEST_CHECK(sched_dl_bw(1, 1) == 1ull << SCHED_BW_SHIFT);
    KTEST_CHECK(sched_init(&s, NULL, rq, 1) == 0);
    task(&a, 1, SCHED_POLICY_DEADLINE);
    a.dl_runtime = 6000000, a.dl_deadline = a.dl_period = 10000000;
    task(&b, 2, SCHED_POLICY_DEADLINE);
    b.dl_runtime = 6000000, b.dl_deadline = b.dl_period = 10000000;
    KTEST_CHECK(sched_task_add(&s, c, &a) == 0);
    KTEST_CHECK(sched_task_add(&s, c, &b) == SCHED_EADMIT);
    b.dl_runtime = 3500000; /* 0.6 + 0.35 = 0.95: exactly the bound */
    KTEST_CHECK(sched_task_add(&s, c, &b) == 0);
    KTEST_CHECK(sched_exit(&s, c, &a) == 0);
    KTEST_CHECK(rq[0].dl.bw_admitted == sched_dl_bw(3500000, 10000000));
    b.dl_deadline = 20000000; /* deadline > period */
    task(&a, 3, SCHED_POLICY_DEADLINE);
    a.dl_runtime = 2000000, a.dl_deadline = 1000000, a.dl_period = 10000000;
    KTEST_CHECK(sched_task_add(&s, c, &a) == SCHED_EINVAL);
    return KTEST_OK;
}

/* The treap under churn: order, heap and augmentation hold. */
static int test_tree(struct hal_cpu *c)
{
    (void)c;
    struct sched_node n[64], *root = NULL;
    uint64_t x = 12345;
    for (unsigned i = 0; i < 64; i++) {
        kmemset(&n[i], 0, sizeof n[i]);
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        n[i].key = x >> 40;
        n[i].aug = x >> 20;
        n[i].tie = i;
        n[i].prio = sched_tree_prio(i);
        sched_tree_insert(&root, &n[i]);
        KTEST_CHECK(sched_tree_check(root) == 0);
    }
    for (unsigned i = 0; i < 64; i += 2) {
        sched_tree_remove(&root, &n[i]);
        KTEST_CHECK(sched_tree_check(root) == 0);
    }
    unsigned count = 0;
    for (struct sched_node *p = sched_tree_first(root); p; p = sched_tree_next(p))
        count++;
    KTEST_CHECK(count == 32);
    return KTEST_OK;
}

static int test_features(struct hal_cpu *c)
{
    (void)c;
    struct sched_config cfg;
    char buf[256];
    sched_config_default(&cfg);
    KTEST_CHECK(cfg.base_slice_ns == 750000 && cfg.dl_bound_permille == 950);
    size_t n = sched_features_format(&cfg, buf, sizeof buf);
    KTEST_CHECK(n < sizeof buf && kstrlen(buf) == n);
    KTEST_CHECK(kmemcmp(buf, "WAKEUP_PREEMPT=1 ", 17) == 0);
    return KTEST_OK;
}

/* Domains from a 2-socket x 2-core x 2-SMT description (distance 20):
 * SMT, LLC (= package) and NUMA levels; bad distances are refused. The
 * topology is ~4 KiB: fine on a 16 KiB boot stack. */
static int test_topology(struct hal_cpu *c)
{
    (void)c;
    struct sched_topology tp;
    struct sched_cpu_topo cpu[8];
    uint8_t dist[4] = {10, 20, 20, 10};
    for (unsigned i = 0; i < 8; i++) {
        unsigned core = i / 2, sock = core / 2;
        cpu[i] = (struct sched_cpu_topo){(uint16_t)core, (uint16_t)sock, (uint16_t)sock,
                                         (uint16_t)sock, 1024, 0};
    }
    struct sched_topology_desc d = {8, cpu, 2, dist, 1, NULL};
    KTEST_CHECK(sched_topology_build(&tp, &d, NULL) == 0);
    KTEST_CHECK(tp.nr_levels == 3);
    KTEST_CHECK(tp.level[0].kind == SCHED_LEVEL_SMT && tp.level[2].kind == SCHED_LEVEL_NUMA);
    KTEST_CHECK(sched_topology_shares(&tp, 0, 4, 5) && !sched_topology_shares(&tp, 0, 3, 4));
    KTEST_CHECK(sched_topology_shares(&tp, 1, 0, 3) && !sched_topology_shares(&tp, 1, 3, 4));
    KTEST_CHECK(sched_topology_shares(&tp, 2, 0, 7));
    KTEST_CHECK(tp.level[2].imbalance_pct == 125 && tp.level[2].interval > tp.level[1].interval);
    KTEST_CHECK(!tp.has_energy);
    dist[1] = 30; /* not symmetric */
    KTEST_CHECK(sched_topology_build(&tp, &d, NULL) == SCHED_EINVAL);
    return KTEST_OK;
}

const struct ktest sched_ktests[] = {
    {"nice_weights", test_nice_weights},
    {"eevdf_pick", test_eevdf_pick},
    {"rt_pick_order", test_rt_pick_order},
    {"dl_admission", test_dl_admission},
    {"tree", test_tree},
    {"features", test_features},
    {"topology", test_topology},
    {0, 0},
};
