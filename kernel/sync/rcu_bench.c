/* The RCU benchmark: a hash table read under RCU while updaters replace
 * its entries (include/kernel/rcu.h, rcu_bench; docs/sync.md). Figures
 * come from simulated time and the machine's caches; the kernel counts.
 *
 * Region, one 64-byte line each unless said: 0-1 the RCU state, 2 the
 * barrier, 3 the ready flag, 4-5 totals, 8 + 2i CPU i's grace-period
 * figures (two lines), then 1 KiB per CPU of grace-period latency samples
 * (u32 ns), then the bucket heads (u64 node address, 0 = empty), then the
 * nodes: 64 bytes each, {key, value = key << 32 | version, next}; the
 * first `keys` are the table's initial nodes, then each updater's pool.
 *
 * Ticks: each CPU's timer interrupt runs rcu_tick and re-arms itself
 * every tick_ns. On the simulated machine a kernel CPU's kern_timer is
 * the selftest image's, which forwards to a hook: the benchmark installs
 * its own for the run (ktest_upcalls_set). */
#include "kernel/hal.h"
#include "kernel/ktest.h"
#include "kernel/rcu.h"

#define LINE 64u
#define T_READS 0
#define T_UPDATES 1
#define T_UAF 2
#define T_WRONG 3
#define T_MISSING 4
#define T_VIOL 5
#define T_CBS 6
#define T_WAITS 7
#define T_UPD_NS 8
#define T_CHECK 9 /* CPUs whose rcu_check failed */
#define T_N 10

struct layout {
    hal_paddr_t state, bar, ready, tot, stats, samples, buckets, nodes;
};

static struct layout layout_of(const struct rcu_bench_cfg *cfg, unsigned ncpu)
{
    struct layout l;
    l.state = cfg->region;
    l.bar = l.state + 2 * LINE;
    l.ready = l.state + 3 * LINE;
    l.tot = l.state + 4 * LINE;
    l.stats = l.state + 8 * LINE;
    l.samples = l.stats + (hal_paddr_t)ncpu * 2 * LINE;
    l.buckets = l.samples + (hal_paddr_t)ncpu * 1024;
    l.nodes = (l.buckets + (hal_paddr_t)cfg->buckets * 8 + LINE - 1) & ~(hal_paddr_t)(LINE - 1);
    return l;
}

static uint64_t ld(struct hal_cpu *c, hal_paddr_t pa)
{
    uint64_t v = 0;
    if (hal_load(c, pa, 8, &v) != HAL_OK)
        hal_panic(c, "rcu_bench: region not in memory");
    return v;
}

static void st8(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (hal_store(c, pa, 8, v) != HAL_OK)
        hal_panic(c, "rcu_bench: region not in memory");
}

static void add8(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (v && hal_atomic(c, HAL_ATOMIC_FAA, pa, 8, v, 0, 0) != HAL_OK)
        hal_panic(c, "rcu_bench: region not in memory");
}

static void barrier(struct hal_cpu *c, hal_paddr_t at, unsigned n, uint64_t k)
{
    add8(c, at, 1);
    while (ld(c, at) < k * n)
        hal_relax(c);
}

/* The same, sleeping between looks (the tick wakes the CPU): for waits of
 * milliseconds, where spinning would only cost the simulator events. */
static void barrier_idle(struct hal_cpu *c, hal_paddr_t at, unsigned n, uint64_t k)
{
    add8(c, at, 1);
    while (ld(c, at) < k * n)
        hal_idle(c);
}

static uint64_t next(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545F4914F6CDD1Dull;
}

static void on_tick(struct hal_cpu *c)
{
    struct rcu_bench_state *b = hal_kernel_data(c);
    if (!b)
        return;
    rcu_tick(c, &b->rs, &b->rc);
    hal_timer_set(c, hal_now(c) + b->tick_ns);
}

/* The callback that frees an old node: poisoned in check mode, then back
 * in its updater's pool. */
static void free_node(struct hal_cpu *c, void *arg, uint64_t node)
{
    struct rcu_bench_state *b = arg;
    if (b->rs.check) {
        st8(c, node, RCU_POISON);
        st8(c, node + 8, RCU_POISON);
        st8(c, node + 16, RCU_POISON);
    }
    b->pool[b->npool++] = node;
}

/* One lookup: 1 found with the right value, 0 missing, -1 wrong, -2 poison. */
static int lookup(struct hal_cpu *c, const struct layout *l, const struct rcu_bench_cfg *cfg,
                  uint64_t key)
{
    uint64_t node = ld(c, l->buckets + 8 * (key % cfg->buckets));
    while (node) {
        uint64_t k = ld(c, node);
        if (k == RCU_POISON)
            return -2;
        if (k == key)
            return ld(c, node + 8) >> 32 == key ? 1 : -1;
        node = ld(c, node + 16);
    }
    return 0;
}

static void read_section(struct hal_cpu *c, const struct layout *l,
                         const struct rcu_bench_cfg *cfg, struct rcu_bench_state *b)
{
    rcu_read_lock(c, &b->rs, &b->rc);
    for (unsigned i = 0; i < cfg->lookups; i++) {
        int r = lookup(c, l, cfg, next(&b->x) % cfg->keys);
        b->missing += r == 0;
        b->wrong += r == -1;
        b->uaf += r == -2;
        if (cfg->hold)
            hal_cost(c, cfg->hold); /* work on what it found, still inside */
    }
    rcu_read_unlock(c, &b->rs, &b->rc);
    rcu_quiescent(&b->rc);
    b->reads++;
}

/* Replace one key of a bucket this updater owns with a new version. */
static void update(struct hal_cpu *c, const struct layout *l, const struct rcu_bench_cfg *cfg,
                   struct rcu_bench_state *b, unsigned u, uint64_t version)
{
    uint64_t r = next(&b->x);
    unsigned per = cfg->buckets / cfg->updaters;
    uint64_t bucket = (r % per) * cfg->updaters + u;
    uint64_t chain = (cfg->keys - bucket + cfg->buckets - 1) / cfg->buckets;
    uint64_t key = bucket + cfg->buckets * ((r >> 32) % chain);
    while (b->npool == 0) { /* every spare node waits for a grace period */
        b->pool_waits++;
        rcu_quiescent(&b->rc);
        hal_idle(c);
    }
    hal_paddr_t fresh = b->pool[--b->npool];
    hal_paddr_t link = l->buckets + 8 * bucket;
    uint64_t old = ld(c, link);
    while (old && ld(c, old) != key) {
        link = old + 16;
        old = ld(c, link);
    }
    if (!old)
        hal_panic(c, "rcu_bench: a key left the table");
    st8(c, fresh, key);
    st8(c, fresh + 8, key << 32 | (version & 0xffffffffu));
    st8(c, fresh + 16, ld(c, old + 16));
    hal_fence(c); /* the node is complete before it is published */
    st8(c, link, fresh);
    while (!rcu_call(c, &b->rs, &b->rc, free_node, b, old)) {
        rcu_quiescent(&b->rc);
        hal_idle(c);
    }
    b->updates++;
}

static int phase0(struct hal_cpu *c, const struct rcu_bench_cfg *cfg, const struct layout *l,
                  struct rcu_bench_state *b)
{
    unsigned id = hal_cpu_id(c), n = hal_cpu_count(c);
    b->rs.at = l->state;
    b->rs.cpus = cfg->cpus >= 64 ? ~0ull : (1ull << cfg->cpus) - 1;
    b->rs.check = cfg->check;
    b->tick_ns = cfg->tick_ns;
    b->x = 0x9E3779B97F4A7C15ull * (id + 7);
    rcu_cpu_init(c, &b->rc);
    if (!ktest_upcalls_owned())
        hal_panic(c, "rcu_bench: the kernel's timer upcall is not the selftest image's hook");
    if (id == 0) {
        rcu_init(c, &b->rs);
        if (cfg->premature)
            st8(c, l->state + 24, 1); /* rcu.c's debug word */
        for (unsigned k = 0; k < cfg->buckets; k++)
            st8(c, l->buckets + 8 * k, 0);
        for (uint64_t k = cfg->keys; k-- > 0;) { /* key k pushed on its chain */
            hal_paddr_t node = l->nodes + k * LINE, head = l->buckets + 8 * (k % cfg->buckets);
            st8(c, node, k);
            st8(c, node + 8, k << 32);
            st8(c, node + 16, ld(c, head));
            st8(c, head, node);
        }
        for (unsigned w = 0; w < 2 * LINE; w += 8)
            st8(c, l->tot + w, 0);
        ktest_upcalls_set(on_tick, 0);
        hal_fence(c);
        st8(c, l->ready, 1);
    } else {
        while (ld(c, l->ready) == 0)
            hal_relax(c);
    }
    if (id < cfg->cpus && id < cfg->updaters) {
        hal_paddr_t pool = l->nodes + ((hal_paddr_t)cfg->keys + (hal_paddr_t)id * cfg->pool) * LINE;
        for (unsigned k = 0; k < cfg->pool && k < RCU_POOL_MAX; k++)
            b->pool[b->npool++] = pool + (hal_paddr_t)k * LINE;
    }
    b->saved_kdata = hal_kernel_data(c);
    hal_set_kernel_data(c, b);
    if (id < cfg->cpus) /* ticks skewed across CPUs, as Linux's skew_tick */
        hal_timer_set(c, hal_now(c) + cfg->tick_ns + cfg->tick_ns * id / cfg->cpus);
    if (id < cfg->cpus && id >= cfg->updaters) {
        /* warm: every chain once, then `warm` sections */
        rcu_read_lock(c, &b->rs, &b->rc);
        for (uint64_t k = 0; k < cfg->keys; k++)
            if (lookup(c, l, cfg, k) != 1)
                b->missing++;
        rcu_read_unlock(c, &b->rs, &b->rc);
        for (unsigned s = 0; s < cfg->warm; s++)
            read_section(c, l, cfg, b);
        b->reads = 0;
    }
    barrier(c, l->bar, n, 1);
    b->t0 = hal_now(c);
    return 0;
}

static void phase1(struct hal_cpu *c, const struct rcu_bench_cfg *cfg, const struct layout *l,
                   struct rcu_bench_state *b)
{
    unsigned id = hal_cpu_id(c);
    if (id >= cfg->cpus)
        return;
    if (id < cfg->updaters) {
        for (unsigned s = 0; s < cfg->updates; s++) {
            if (cfg->update)
                update(c, l, cfg, b, id, s + 1);
            else
                rcu_synchronize(c, &b->rs, &b->rc);
        }
    } else {
        for (unsigned s = 0; s < cfg->sections; s++)
            read_section(c, l, cfg, b);
    }
    b->elapsed = hal_now(c) - b->t0;
}

static void sort_u32(uint32_t *a, unsigned n)
{
    for (unsigned i = 1; i < n; i++) { /* insertion sort: a few hundred samples */
        uint32_t v = a[i];
        unsigned j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static int phase2(struct hal_cpu *c, const struct rcu_bench_cfg *cfg, const struct layout *l,
                  struct rcu_bench_state *b)
{
    unsigned id = hal_cpu_id(c), n = hal_cpu_count(c);
    /* every callback run: wait ticks out (the others' ticks go on) */
    while (id < cfg->cpus && b->rc.count) {
        rcu_quiescent(&b->rc);
        hal_idle(c);
    }
    barrier_idle(c, l->bar, n, 2);
    int rc = id < cfg->cpus ? rcu_check(c, &b->rs, &b->rc) : 0;
    hal_timer_cancel(c);
    hal_set_kernel_data(c, b->saved_kdata);
    add8(c, l->tot + 8 * T_READS, b->reads);
    add8(c, l->tot + 8 * T_UPDATES, b->updates);
    add8(c, l->tot + 8 * T_UAF, b->uaf);
    add8(c, l->tot + 8 * T_WRONG, b->wrong);
    add8(c, l->tot + 8 * T_MISSING, b->missing);
    add8(c, l->tot + 8 * T_VIOL, b->rc.violations);
    add8(c, l->tot + 8 * T_CBS, b->rc.callbacks_run);
    add8(c, l->tot + 8 * T_WAITS, b->pool_waits);
    if (id < cfg->updaters)
        add8(c, l->tot + 8 * T_UPD_NS, b->elapsed);
    add8(c, l->tot + 8 * T_CHECK, rc != 0);
    hal_paddr_t my = l->stats + (hal_paddr_t)id * 2 * LINE;
    st8(c, my, b->rc.gps_ended);
    st8(c, my + 8, b->rc.gp_ns_sum);
    st8(c, my + 16, b->rc.n_gp);
    for (unsigned k = 0; k < b->rc.n_gp; k++)
        if (hal_store(c, l->samples + (hal_paddr_t)id * 1024 + 4 * k, 4, b->rc.gp_ns[k]) != HAL_OK)
            hal_panic(c, "rcu_bench: region not in memory");
    if (id < cfg->cpus && id >= cfg->updaters)
        hal_report(c, "rcu.cpu_reads", b->reads);
    barrier(c, l->bar, n, 3);
    if (id != 0)
        return 0; /* CPU 0 judges, with every CPU's figures */
    ktest_upcalls_set(0, 0);
    uint64_t t[T_N];
    for (unsigned i = 0; i < T_N; i++)
        t[i] = ld(c, l->tot + 8 * i);
    /* grace periods: every CPU's samples, sorted (b->rc.gp_ns reused, 256 max) */
    uint64_t gps = 0, sum = 0;
    uint32_t *all = b->all;
    unsigned ns = 0;
    for (unsigned i = 0; i < n && i < RCU_MAX_CPUS; i++) {
        hal_paddr_t s = l->stats + (hal_paddr_t)i * 2 * LINE;
        gps += ld(c, s);
        sum += ld(c, s + 8);
        uint64_t m = ld(c, s + 16);
        for (uint64_t k = 0; k < m; k++) {
            uint64_t v = 0;
            hal_load(c, l->samples + (hal_paddr_t)i * 1024 + 4 * k, 4, &v);
            all[ns++] = (uint32_t)v;
        }
    }
    sort_u32(all, ns);
    hal_report(c, "rcu.reads", t[T_READS]);
    hal_report(c, "rcu.lookups", t[T_READS] * cfg->lookups);
    hal_report(c, "rcu.updates", t[T_UPDATES]);
    hal_report(c, "rcu.update_ns", cfg->updaters ? t[T_UPD_NS] / cfg->updaters : 0);
    hal_report(c, "rcu.grace_periods", gps);
    hal_report(c, "rcu.gp_mean_ns", gps ? sum / gps : 0);
    hal_report(c, "rcu.gp_min_ns", ns ? all[0] : 0);
    hal_report(c, "rcu.gp_p50_ns", ns ? all[ns / 2] : 0);
    hal_report(c, "rcu.gp_p99_ns", ns ? all[(ns * 99) / 100] : 0);
    hal_report(c, "rcu.gp_max_ns", ns ? all[ns - 1] : 0);
    hal_report(c, "rcu.callbacks", t[T_CBS]);
    hal_report(c, "rcu.pool_waits", t[T_WAITS]);
    hal_report(c, "rcu.use_after_free", t[T_UAF]);
    hal_report(c, "rcu.wrong", t[T_WRONG]);
    hal_report(c, "rcu.missing", t[T_MISSING]);
    hal_report(c, "rcu.violations", t[T_VIOL]);
    hal_report(c, "rcu.check_failures", t[T_CHECK]);
    if (t[T_UAF] || t[T_VIOL])
        return __LINE__; /* rcu_check: a grace period ended under a reader */
    if (t[T_WRONG] || t[T_MISSING])
        return __LINE__;
    if (cfg->update && t[T_CBS] != t[T_UPDATES])
        return __LINE__; /* an old version never freed */
    if (t[T_CHECK])
        return __LINE__; /* rcu_check on some CPU */
    return 0;
}

int rcu_bench(struct hal_cpu *c, const struct rcu_bench_cfg *cfg, unsigned phase,
              struct rcu_bench_state *st)
{
    struct layout l = layout_of(cfg, hal_cpu_count(c));
    if (phase == 0)
        return phase0(c, cfg, &l, st);
    if (phase == 1) {
        phase1(c, cfg, &l, st);
        return 0;
    }
    return phase2(c, cfg, &l, st);
}
