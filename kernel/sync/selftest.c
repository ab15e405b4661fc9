/* The "sync" selftest suite: RCU grace periods and callbacks on one CPU,
 * the rcu_check violation count, seqlocks, SPSC and MPMC rings and per-CPU
 * counters, through hal_load/hal_store/hal_atomic only (any backend with
 * memory, QEMU included). Memory: a window of the kernel's region from a
 * quarter in plus 256 KiB, below half of it. */
#include "kernel/ktest.h"
#include "kernel/rcu.h"
#include "kernel/ring.h"

static int window(struct hal_cpu *c, hal_paddr_t *at)
{
    hal_paddr_t base;
    uint64_t size;
    if (hal_mem_region(c, &base, &size) != HAL_OK)
        return KTEST_SKIP;
    *at = (base + size / 4 + (256u << 10) + 4095) & ~(hal_paddr_t)4095;
    return *at + (64u << 10) <= base + size / 2 ? KTEST_OK : KTEST_SKIP;
}

static uint64_t peek(struct hal_cpu *c, hal_paddr_t pa)
{
    uint64_t v = 0;
    hal_load(c, pa, 8, &v);
    return v;
}

static void count_cb(struct hal_cpu *c, void *arg, uint64_t data)
{
    (void)c;
    *(uint64_t *)arg += data;
}

/* rcu_cpu is large: one per suite run, on no stack */
static struct rcu_cpu rcpu;

static int test_rcu_grace_period(struct hal_cpu *c)
{
    hal_paddr_t w;
    int rc = window(c, &w);
    if (rc)
        return rc;
    struct rcu_state rs = {w, 1ull << hal_cpu_id(c), true};
    rcu_init(c, &rs);
    rcu_cpu_init(c, &rcpu);
    KTEST_CHECK(rcu_seq_snap(0) == 2 && rcu_seq_snap(1) == 4 && rcu_seq_snap(2) == 4);
    uint64_t ran = 0;
    KTEST_CHECK(rcu_call(c, &rs, &rcpu, count_cb, &ran, 1));
    KTEST_CHECK(rcu_gp_seq(c, &rs) == 1); /* the call started a grace period */
    rcu_read_lock(c, &rs, &rcpu);
    rcu_tick(c, &rs, &rcpu); /* inside a read section: no quiescent state */
    KTEST_CHECK(rcu_gp_seq(c, &rs) == 1 && ran == 0);
    rcu_read_unlock(c, &rs, &rcpu);
    rcu_quiescent(&rcpu);
    rcu_tick(c, &rs, &rcpu); /* reports, ends it, runs the callback */
    KTEST_CHECK(rcu_gp_seq(c, &rs) == 2 && ran == 1);
    KTEST_CHECK(rcu_check(c, &rs, &rcpu) == 0);
    /* a quiescent state noted before the grace period started does not count */
    rcu_quiescent(&rcpu);
    rcu_read_lock(c, &rs, &rcpu);
    KTEST_CHECK(rcu_call(c, &rs, &rcpu, count_cb, &ran, 10));
    rcu_tick(c, &rs, &rcpu);
    KTEST_CHECK(rcu_gp_seq(c, &rs) == 3 && ran == 1);
    rcu_read_unlock(c, &rs, &rcpu);
    rcu_tick(c, &rs, &rcpu);
    KTEST_CHECK(rcu_gp_seq(c, &rs) == 4 && ran == 11);
    return KTEST_OK;
}

/* rcu_check counts a grace period that ended under a reader. */
static int test_rcu_check_fires(struct hal_cpu *c)
{
    hal_paddr_t w;
    int rc = window(c, &w);
    if (rc)
        return rc;
    struct rcu_state rs = {w, 1ull << hal_cpu_id(c), true};
    rcu_init(c, &rs);
    rcu_cpu_init(c, &rcpu);
    rcu_read_lock(c, &rs, &rcpu);
    rcu_start_gp(c, &rs);
    hal_store(c, w, 8, rcu_gp_seq(c, &rs) + 1); /* ended behind the reader's back */
    rcu_read_unlock(c, &rs, &rcpu);
    KTEST_CHECK(rcpu.violations == 1);
    KTEST_CHECK(rcu_check(c, &rs, &rcpu) != 0);
    return KTEST_OK;
}

static int test_seqlock(struct hal_cpu *c)
{
    hal_paddr_t w;
    int rc = window(c, &w);
    if (rc)
        return rc;
    struct seqlock s = {w};
    seqlock_init(c, &s);
    uint64_t seq = seqlock_read_begin(c, &s);
    KTEST_CHECK(!seqlock_read_retry(c, &s, seq));
    seqlock_write_begin(c, &s);
    KTEST_CHECK(peek(c, w) & 1);
    hal_store(c, w + 128, 8, 42);
    seqlock_write_end(c, &s);
    KTEST_CHECK(seqlock_read_retry(c, &s, seq)); /* a write happened: read again */
    seq = seqlock_read_begin(c, &s);
    KTEST_CHECK(seq == 2 && peek(c, w + 128) == 42 && !seqlock_read_retry(c, &s, seq));
    return KTEST_OK;
}

static int test_spsc(struct hal_cpu *c)
{
    hal_paddr_t w;
    int rc = window(c, &w);
    if (rc)
        return rc;
    struct ring_spsc r = {w, 8};
    struct ring_side p, q;
    ring_spsc_init(c, &r);
    ring_side_init(&p, 4);
    ring_side_init(&q, 4);
    uint64_t v = 0;
    KTEST_CHECK(!ring_spsc_pop(c, &r, &q, &v));
    for (uint64_t i = 1; i <= 3; i++)
        KTEST_CHECK(ring_spsc_push(c, &r, &p, i));
    KTEST_CHECK(peek(c, w + 64) == 0); /* batched: not published yet */
    KTEST_CHECK(!ring_spsc_pop(c, &r, &q, &v));
    KTEST_CHECK(ring_spsc_push(c, &r, &p, 4));
    KTEST_CHECK(peek(c, w + 64) == 4); /* the fourth publishes */
    for (uint64_t i = 5; i <= 8; i++)
        KTEST_CHECK(ring_spsc_push(c, &r, &p, i));
    KTEST_CHECK(!ring_spsc_push(c, &r, &p, 9)); /* full */
    for (uint64_t i = 1; i <= 8; i++)
        KTEST_CHECK(ring_spsc_pop(c, &r, &q, &v) && v == i);
    KTEST_CHECK(!ring_spsc_pop(c, &r, &q, &v));
    KTEST_CHECK(peek(c, w) == 8); /* empty: the consumer published all it took */
    KTEST_CHECK(ring_spsc_check(c, &r) == 0);
    hal_store(c, w, 8, 9); /* head past tail */
    KTEST_CHECK(ring_spsc_check(c, &r) != 0);
    return KTEST_OK;
}

static int test_mpmc(struct hal_cpu *c)
{
    hal_paddr_t w;
    int rc = window(c, &w);
    if (rc)
        return rc;
    struct ring_mpmc r = {w, 4};
    ring_mpmc_init(c, &r);
    uint64_t v = 0;
    KTEST_CHECK(!ring_mpmc_pop(c, &r, &v));
    for (uint64_t round = 0; round < 3; round++) { /* the cells wrap around */
        for (uint64_t i = 1; i <= 4; i++)
            KTEST_CHECK(ring_mpmc_push(c, &r, round * 10 + i));
        KTEST_CHECK(!ring_mpmc_push(c, &r, 99));
        for (uint64_t i = 1; i <= 4; i++)
            KTEST_CHECK(ring_mpmc_pop(c, &r, &v) && v == round * 10 + i);
        KTEST_CHECK(!ring_mpmc_pop(c, &r, &v));
    }
    return KTEST_OK;
}

static int test_pcpu_counter(struct hal_cpu *c)
{
    hal_paddr_t w;
    int rc = window(c, &w);
    if (rc)
        return rc;
    struct pcpu_counter k = {w, hal_cpu_count(c)};
    pcpu_counter_init(c, &k);
    pcpu_counter_add(c, &k, 5);
    pcpu_counter_add(c, &k, -2);
    KTEST_CHECK(pcpu_counter_sum(c, &k) == 3);
    KTEST_CHECK(peek(c, w + 64 * (hal_paddr_t)hal_cpu_id(c)) == 3); /* its own line */
    return KTEST_OK;
}

const struct ktest sync_ktests[] = {
    {"rcu_grace_period", test_rcu_grace_period},
    {"rcu_check_fires", test_rcu_check_fires},
    {"seqlock", test_seqlock},
    {"spsc", test_spsc},
    {"mpmc", test_mpmc},
    {"pcpu_counter", test_pcpu_counter},
    {0, 0},
};
