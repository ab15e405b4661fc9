/* The allocation-churn benchmark (include/kernel/palloc.h, mm_bench). The
 * figures that matter (coherence misses, simulated time) come from the
 * machine; the kernel only counts operations.
 *
 * The control page (an order-0 page CPU 0 takes from node 0 and publishes
 * in the zone's user word) holds, one 64-byte line each: 0 the barrier
 * (a count that only grows), 1 the slab cache as CPU 0 made it (ctl
 * address, ready flag), 2 the totals every CPU adds its counts to after
 * the churn: allocs, frees, failures, injected, remote, objects. */
#include "kernel/hal.h"
#include "kernel/kstring.h"
#include "kernel/palloc.h"

#define LINE 64u
#define HELD 64u
#define HELD_OBJ 32u
#define RETRIES 64u

static uint64_t ld(struct hal_cpu *c, hal_paddr_t pa)
{
    uint64_t v = 0;
    if (hal_load(c, pa, 8, &v) != HAL_OK)
        hal_panic(c, "mm_bench: control page not in memory");
    return v;
}

static void st(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (hal_store(c, pa, 8, v) != HAL_OK)
        hal_panic(c, "mm_bench: control page not in memory");
}

static void add(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (hal_atomic(c, HAL_ATOMIC_FAA, pa, 8, v, 0, 0) != HAL_OK)
        hal_panic(c, "mm_bench: control page not in memory");
}

static void barrier(struct hal_cpu *c, hal_paddr_t at, unsigned cpus, uint64_t *k)
{
    add(c, at, 1);
    ++*k;
    while (ld(c, at) < *k * cpus)
        hal_relax(c);
}

/* xorshift64*: the churn's mix, seeded by the CPU number (the run's seed
 * varies timing through kernel.cost_jitter, not what each CPU asks for). */
static uint64_t next(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545F4914F6CDD1Dull;
}

struct held {
    hal_paddr_t pa;
    unsigned order;
};

enum { T_ALLOCS, T_FREES, T_FAILS, T_INJECTED, T_REMOTE, T_OBJECTS, T_N };

int mm_bench(struct hal_cpu *c, const struct mm *m, const struct mm_bench_cfg *cfg)
{
    unsigned id = hal_cpu_id(c), n = hal_cpu_count(c);
    struct mm_cpu pc;
    mm_wait_ready(c, m);
    mm_cpu_init(c, m, &pc);
    hal_paddr_t user = mm_zone_user(m, 0), ctl;
    struct mm_slab_cache sc;
    if (id == 0) {
        /* an injected allocation failure is retried, a few dozen times */
        int rc = MM_ENOMEM;
        for (unsigned t = 0; t < RETRIES && rc == MM_ENOMEM; t++)
            rc = mm_page_alloc(c, m, &pc, 0, 0, &ctl);
        if (rc != HAL_OK)
            hal_panic(c, "mm_bench: no page for the control page");
        for (unsigned w = 0; w < 4 * LINE; w += 8)
            st(c, ctl + w, 0);
        rc = cfg->objects ? MM_ENOMEM : HAL_OK;
        for (unsigned t = 0; t < RETRIES && rc == MM_ENOMEM; t++)
            rc = mm_slab_create(c, m, &pc, &sc, cfg->object_size, 0, NULL, NULL);
        if (rc != HAL_OK)
            hal_panic(c, "mm_bench: the slab cache could not be made");
        st(c, ctl + LINE, cfg->objects ? sc.ctl : 0);
        hal_fence(c);
        st(c, user, ctl);
    } else {
        while ((ctl = ld(c, user)) == 0)
            hal_relax(c);
        if (cfg->objects) { /* the same geometry as CPU 0's; its control block */
            struct mm_slab_cache tmp;
            kmemset(&tmp, 0, sizeof tmp);
            sc = tmp;
            sc.size = (cfg->object_size + 7) & ~7u;
            sc.per_slab = (HAL_PAGE_SIZE - 64) / sc.size;
            sc.batch = MM_SLAB_CPU_MAX / 4;
            sc.limit = MM_SLAB_CPU_MAX / 2;
            sc.ctl = ld(c, ctl + LINE);
        }
    }
    hal_paddr_t bar = ctl, tot = ctl + 2 * LINE;
    uint64_t k = 0, t[T_N];
    for (unsigned i = 0; i < T_N; i++)
        t[i] = 0;
    struct held held[HELD];
    hal_paddr_t objs[HELD_OBJ];
    unsigned nheld = 0, nobj = 0;
    uint64_t x = 0x9E3779B97F4A7C15ull * (id + 1);
    bool churn = id < cfg->cpus;
    barrier(c, bar, n, &k);
    hal_ns_t t0 = hal_now(c);
    for (unsigned it = 0; churn && it < cfg->iterations; it++) {
        uint64_t r = next(&x);
        if (nheld == 0 || (nheld < HELD && (r & 1))) {
            unsigned order = 0;
            if (cfg->max_order && (r >> 8) % 8 == 0)
                order = 1 + (unsigned)((r >> 16) % cfg->max_order);
            hal_paddr_t pa;
            unsigned node = 0;
            int rc = mm_alloc_policy(c, m, &pc, &cfg->policy, order, &pa, &node);
            if (rc == HAL_OK) {
                held[nheld++] = (struct held){pa, order};
                t[T_ALLOCS]++;
                t[T_REMOTE] += node != pc.node;
            } else if (rc == MM_ENOMEM) {
                t[T_FAILS]++;
            } else {
                return __LINE__;
            }
        } else {
            unsigned j = (unsigned)((r >> 24) % nheld);
            if (mm_page_free(c, m, &pc, held[j].pa, held[j].order) != HAL_OK)
                return __LINE__;
            held[j] = held[--nheld];
            t[T_FREES]++;
        }
        if (cfg->objects) {
            if (nobj == 0 || (nobj < HELD_OBJ && (r >> 40 & 1))) {
                hal_paddr_t o;
                int rc = mm_slab_alloc(c, m, &pc, &sc, &o);
                if (rc == HAL_OK) {
                    objs[nobj++] = o;
                    t[T_OBJECTS]++;
                } else if (rc != MM_ENOMEM) {
                    return __LINE__; /* MM_EPOISON: a write after free */
                }
            } else {
                unsigned j = (unsigned)((r >> 48) % nobj);
                if (mm_slab_free(c, m, &pc, &sc, objs[j]) != HAL_OK)
                    return __LINE__;
                objs[j] = objs[--nobj];
            }
        }
    }
    hal_ns_t elapsed = hal_now(c) - t0;
    barrier(c, bar, n, &k); /* the churn is over everywhere: check the busy state */
    if (id == 0) {
        int rc = mm_check(c, m); /* per-CPU lists full, pages held: the busy state */
        hal_report(c, "mm.check_busy", (uint64_t)rc);
        if (rc)
            return rc;
    }
    barrier(c, bar, n, &k);
    t[T_INJECTED] = pc.injected;
    while (nheld) {
        --nheld;
        if (mm_page_free(c, m, &pc, held[nheld].pa, held[nheld].order) != HAL_OK)
            return __LINE__;
    }
    while (nobj)
        if (mm_slab_free(c, m, &pc, &sc, objs[--nobj]) != HAL_OK)
            return __LINE__;
    if (cfg->objects)
        mm_slab_drain(c, m, &pc, &sc);
    mm_pcp_drain(c, m, &pc);
    for (unsigned i = 0; i < T_N; i++)
        if (t[i])
            add(c, tot + 8 * i, t[i]);
    if (churn)
        hal_report(c, "mm.cpu_elapsed_ns", elapsed);
    barrier(c, bar, n, &k);
    if (id != 0)
        return 0;
    hal_report(c, "mm.elapsed_ns", elapsed);
    hal_report(c, "mm.allocs", ld(c, tot + 8 * T_ALLOCS));
    hal_report(c, "mm.frees", ld(c, tot + 8 * T_FREES));
    hal_report(c, "mm.alloc_failures", ld(c, tot + 8 * T_FAILS));
    hal_report(c, "mm.injected_failures", ld(c, tot + 8 * T_INJECTED));
    hal_report(c, "mm.remote_allocs", ld(c, tot + 8 * T_REMOTE));
    hal_report(c, "mm.objects", ld(c, tot + 8 * T_OBJECTS));
    int rc = mm_check(c, m);
    if (!rc && cfg->objects)
        rc = mm_slab_check(c, m, &sc, 0);
    hal_report(c, "mm.check", (uint64_t)rc);
    /* fragmentation: free pages outside blocks of the largest order present */
    uint64_t free = 0, big = 0;
    for (unsigned z = 0; z < m->nzones; z++) {
        uint64_t b[MM_MAX_ORDER + 1];
        mm_zone_blocks(c, m, z, b);
        unsigned top = MM_MAX_ORDER;
        while (top && !b[top])
            top--;
        free += mm_zone_free(c, m, z);
        big += b[top] << top;
    }
    hal_report(c, "mm.free_pages", free);
    uint64_t events = 0, refusals = 0;
    for (unsigned z = 0; z < m->nzones; z++) {
        uint64_t e, r;
        mm_zone_pressure(c, m, z, &e, &r);
        events += e;
        refusals += r;
    }
    hal_report(c, "mm.pressure_events", events);
    hal_report(c, "mm.min_refusals", refusals);
    hal_report(c, "mm.fragmentation", free ? (free - big) * 1000 / free : 0);
    return rc;
}
