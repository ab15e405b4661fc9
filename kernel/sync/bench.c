/* The lock contention benchmark (include/kernel/sync.h, sync_bench): the
 * measured figures come from simulated time and the machine's caches; the
 * kernel only counts.
 *
 * Region layout, one 64-byte line each: 0 the lock, 1 the shared counter,
 * 2 the start barrier (arrivals), 3 the end barrier, 4 + i the MCS node of
 * CPU i, 4 + ncpu + i CPU i's timing sums. Elapsed time runs from CPU 0
 * leaving the start barrier to it leaving the end barrier: the barriers'
 * own cost (one round of arrivals) is in it, small beside the
 * acquisitions.
 *
 * Handoff. Acquisitions are serialised, so with acq_k the time the k-th
 * lock() returned and rel_k the time the k-th unlock() returned, the k-th
 * handoff takes acq_{k+1} - rel_k and their sum over k = 1..N-1 is
 *     (sum acq - min acq) - (sum rel - max rel),
 * the first acquisition and the last release having no partner. Each CPU
 * keeps its own sums (private data) and publishes them once at the end; no
 * timing traffic enters the measured loop. */
#include "kernel/hal.h"
#include "kernel/sync.h"

#define LINE 64u

static uint64_t load8(struct hal_cpu *c, hal_paddr_t pa)
{
    uint64_t v = 0;
    if (hal_load(c, pa, 8, &v) != HAL_OK)
        hal_panic(c, "sync_bench: region not in memory");
    return v;
}

static uint64_t faa8(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    uint64_t old = 0;
    if (hal_atomic(c, HAL_ATOMIC_FAA, pa, 8, v, 0, &old) != HAL_OK)
        hal_panic(c, "sync_bench: region not in memory");
    return old;
}

/* Every CPU arrives; all leave once the last has. */
static void barrier(struct hal_cpu *c, hal_paddr_t at, uint64_t n)
{
    faa8(c, at, 1);
    while (load8(c, at) < n)
        hal_relax(c);
}

static void store8(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (hal_store(c, pa, 8, v) != HAL_OK)
        hal_panic(c, "sync_bench: region not in memory");
}

struct times {
    uint64_t sum_acq, sum_rel, min_acq, max_rel;
};

/* CPU 0, after the end barrier: the mean handoff in ps over every CPU's
 * sums (see the top), or 0 with fewer than two acquisitions. */
static uint64_t handoff_ps(struct hal_cpu *c, hal_paddr_t sums, unsigned ncpu, uint64_t n)
{
    struct times all = {0, 0, ~0ull, 0};
    for (unsigned i = 0; i < ncpu; i++) {
        hal_paddr_t at = sums + (hal_paddr_t)i * LINE;
        struct times t = {load8(c, at), load8(c, at + 8), load8(c, at + 16), load8(c, at + 24)};
        all.sum_acq += t.sum_acq;
        all.sum_rel += t.sum_rel;
        all.min_acq = t.min_acq < all.min_acq ? t.min_acq : all.min_acq;
        all.max_rel = t.max_rel > all.max_rel ? t.max_rel : all.max_rel;
    }
    if (n < 2)
        return 0;
    uint64_t total = (all.sum_acq - all.min_acq) - (all.sum_rel - all.max_rel);
    return total * 1000 / (n - 1);
}

int sync_bench(struct hal_cpu *c, const struct sync_bench_cfg *cfg)
{
    unsigned id = hal_cpu_id(c), ncpu = hal_cpu_count(c);
    hal_paddr_t lock = cfg->region, counter = lock + LINE, start = lock + 2 * LINE,
                end = lock + 3 * LINE, node = lock + (4 + id) * LINE,
                sums = lock + (4 + (hal_paddr_t)ncpu) * LINE;
    bool contend = id < cfg->cpus;
    barrier(c, start, ncpu);
    hal_ns_t t0 = hal_now(c);
    uint64_t mine = 0;
    struct times t = {0, 0, ~0ull, 0};
    for (unsigned i = 0; contend && i < cfg->iterations; i++) {
        if (cfg->lock == SYNC_MCS)
            sync_mcs_lock(c, lock, node);
        else if (cfg->lock == SYNC_TICKET)
            sync_ticket_lock(c, lock);
        hal_ns_t acq = hal_now(c);
        t.sum_acq += acq;
        t.min_acq = acq < t.min_acq ? acq : t.min_acq;
        /* inside: a plain read, the critical section's work, a write:
         * an update only mutual exclusion keeps from being lost */
        uint64_t v = load8(c, counter);
        hal_cost(c, cfg->critical);
        store8(c, counter, v + 1);
        if (cfg->lock == SYNC_MCS)
            sync_mcs_unlock(c, lock, node);
        else if (cfg->lock == SYNC_TICKET)
            sync_ticket_unlock(c, lock);
        hal_ns_t rel = hal_now(c);
        t.sum_rel += rel;
        t.max_rel = rel > t.max_rel ? rel : t.max_rel;
        mine++;
    }
    hal_report(c, "sync.cpu_acquisitions", mine);
    hal_paddr_t my = sums + (hal_paddr_t)id * LINE;
    store8(c, my, t.sum_acq);
    store8(c, my + 8, t.sum_rel);
    store8(c, my + 16, t.min_acq);
    store8(c, my + 24, t.max_rel);
    barrier(c, end, ncpu);
    if (id == 0) {
        hal_report(c, "sync.elapsed_ns", hal_now(c) - t0);
        hal_report(c, "sync.acquisitions", (uint64_t)cfg->cpus * cfg->iterations);
        uint64_t count = load8(c, counter);
        hal_report(c, "sync.counter", count);
        hal_report(c, "sync.handoff_ps", handoff_ps(c, sums, ncpu, count));
        if (count != (uint64_t)cfg->cpus * cfg->iterations)
            return __LINE__;
        int rc = cfg->lock == SYNC_MCS      ? sync_mcs_check(c, lock, 0)
                 : cfg->lock == SYNC_TICKET ? sync_ticket_check(c, lock, 0)
                                            : 0;
        if (rc)
            return rc;
    }
    return 0;
}
