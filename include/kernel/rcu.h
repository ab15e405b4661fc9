/* Read-copy-update for the reference kernel (kernel/sync/rcu.c,
 * docs/sync.md). Readers take no lock and write nothing shared; an updater
 * publishes a new version and frees the old one only after a grace
 * period: once every CPU has passed a quiescent state (a point outside any
 * read section) after the grace period started.
 *
 * Shared state (a struct rcu_state's line in simulated memory, reached
 * through the HAL accessors): gp_seq, the grace-period sequence (even:
 * idle, odd: a grace period in progress; each start and each end adds 1),
 * qs_mask (the CPUs that still owe a quiescent state in this grace
 * period), the grace-period lock (a ticket lock) and the start time.
 * Private per CPU (struct rcu_cpu): the read-side nesting, whether it
 * passed a quiescent state since it saw the current grace period, and its
 * callback batch. So rcu_read_lock/unlock and rcu_quiescent touch only
 * private data: a reader takes no coherence miss for them.
 *
 * Quiescent states are noted by rcu_quiescent (a context switch, the end
 * of a work item) and by the tick when it finds the CPU outside a read
 * section; the tick (rcu_tick, from the CPU's timer interrupt) reports
 * them: it clears the CPU's bit of qs_mask, and the CPU that clears the
 * last bit ends the grace period. A note taken before the CPU saw the
 * grace period start does not count: the tick that first sees a new grace
 * period clears it.
 *
 * Callbacks (rcu_call) wait on the CPU that queued them, each tagged with
 * the gp_seq value that ends the first grace period starting after the
 * call (rcu_seq_snap); the tick runs those whose grace period has ended,
 * in order, and starts a grace period when callbacks wait and none runs.
 * rcu_synchronize waits the same way, with interrupts on.
 *
 * Invariants (rcu_check, with check mode on):
 *   1. no grace period that started after a reader entered ends before
 *      the reader leaves (a reader records gp_seq at entry and checks it
 *      at exit: rcu_read_unlock counts a violation otherwise);
 *   2. memory freed by a callback is poisoned (RCU_POISON) in check mode,
 *      and a reader that finds poison counts a use after free.
 *
 * Transitions of gp_seq: even -> odd [rcu_start_gp, under the lock, with
 * qs_mask = every CPU]; odd -> even [the report that clears qs_mask]. */
#ifndef KERNEL_RCU_H
#define KERNEL_RCU_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/hal.h"

#define RCU_MAX_CPUS 64
#define RCU_CB_MAX 1024 /* callbacks a CPU can have waiting */
#define RCU_POISON 0xdeaddeaddeaddeadull
#define RCU_STATE_BYTES 128u /* two lines: state, then the lock */

/* The shared state at `at` (RCU_STATE_BYTES, line-aligned) for the CPUs
 * in `cpus` (bit i = CPU i). */
struct rcu_state {
    hal_paddr_t at;
    uint64_t cpus;
    bool check; /* check mode: readers snapshot gp_seq; rcu_free poisons */
};

typedef void rcu_cb_fn(struct hal_cpu *c, void *arg, uint64_t data);

struct rcu_cb {
    rcu_cb_fn *fn;
    void *arg;
    uint64_t data;
    uint64_t target; /* gp_seq value that ends its grace period */
};

struct rcu_cpu {
    unsigned cpu;
    unsigned nesting;       /* read sections entered and not left */
    bool qs;                /* a quiescent state since it saw gp `seen` */
    bool reported;          /* reported for gp `seen` */
    uint64_t seen;          /* the last odd gp_seq this CPU saw */
    uint64_t entry_seq;     /* check mode: gp_seq when the outer read section began */
    /* callbacks: a ring, oldest first */
    struct rcu_cb cb[RCU_CB_MAX];
    unsigned head, count;
    /* figures */
    uint64_t violations;    /* invariant 1 broken as seen by this CPU's readers */
    uint64_t callbacks_run, gps_ended, gp_ns_sum, gp_ns_max, gp_ns_min;
    uint32_t gp_ns[256];    /* latencies of the grace periods this CPU ended */
    unsigned n_gp;
};

/* One CPU: zero the state. Every CPU: rcu_cpu_init its private record. */
void rcu_init(struct hal_cpu *c, const struct rcu_state *rs);
void rcu_cpu_init(struct hal_cpu *c, struct rcu_cpu *rc);

void rcu_read_lock(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc);
void rcu_read_unlock(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc);
/* A quiescent state: this CPU holds no RCU-protected reference now. */
void rcu_quiescent(struct rcu_cpu *rc);
/* From the CPU's tick (timer interrupt): report a quiescent state, end or
 * start a grace period, run the callbacks whose grace period ended. */
void rcu_tick(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc);
/* Queue fn(c, arg, data) to run on this CPU after a grace period; false
 * if the CPU's ring is full (the caller waits a tick and tries again). */
bool rcu_call(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc, rcu_cb_fn *fn,
              void *arg, uint64_t data);
/* Wait for a full grace period (every reader that began before the call
 * has left); interrupts must be on, and the CPU outside a read section. */
void rcu_synchronize(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc);
/* The gp_seq value that ends the first grace period starting after now. */
uint64_t rcu_seq_snap(uint64_t seq);
uint64_t rcu_gp_seq(struct hal_cpu *c, const struct rcu_state *rs);
/* Start a grace period if none runs. */
void rcu_start_gp(struct hal_cpu *c, const struct rcu_state *rs);
/* 0 if every CPU's figures are clean (no violation, nothing pending past
 * its grace period), else a failure code; call at quiescence on each CPU. */
int rcu_check(struct hal_cpu *c, const struct rcu_state *rs, const struct rcu_cpu *rc);

/* --- the RCU benchmark: a hash table with readers and updaters ----------------
 * Every CPU of a run calls it with the same cfg (docs/sync.md). The first
 * `updaters` of the first `cpus` CPUs update, the rest read; keys
 * 0..keys-1 sit in `buckets` chains (key k in bucket k % buckets, bucket b
 * updated only by updater b % updaters). An update replaces a key's node
 * with a new version and frees the old one with rcu_call (its pool gets it
 * back after the grace period); without `update` the updaters only run
 * rcu_synchronize in a loop (grace periods go on, the table stays still).
 * Readers run read sections of `lookups` lookups each, a quiescent state
 * between sections (`hold` cycles of work after each lookup); each updater
 * makes `updates` steps. Ticks every `tick_ns` drive the grace periods. The
 * first `warm` sections of each reader are not measured. Memory: `region`
 * (RCU_BENCH_BYTES). CPU 0 reports rcu.* (docs/sync.md). Returns 0 or a
 * failure code (rcu_check or a lookup that found a wrong or missing key). */
struct rcu_bench_cfg {
    unsigned cpus, updaters, keys, buckets, sections, updates, lookups, warm, pool;
    uint32_t hold; /* cycles of work after each lookup, inside the read section */
    uint64_t tick_ns;
    bool update, check;
    bool premature; /* a planted bug: a grace period ends at its first report */
    hal_paddr_t region;
};
#define RCU_BENCH_BYTES(ncpu, keys, buckets, updaters, pool)                                       \
    ((uint64_t)(8 + 2 * (ncpu)) * 64 + (uint64_t)(ncpu) * 1024 + (uint64_t)(buckets) * 8 +         \
     ((uint64_t)(keys) + (uint64_t)(updaters) * (pool)) * 64 + 64)
/* Phases, which the platform calls in turn so their costs can be told
 * apart: 0 setup, the warm-up and the start barrier; 1 the measured loop
 * alone (no barrier, no shared bookkeeping); 2 draining the callbacks,
 * the checks and the reports. `st` is the CPU's private state between
 * them (the platform allocates it; zeroed). */
#define RCU_POOL_MAX 1024
struct rcu_bench_state {
    struct rcu_state rs;
    struct rcu_cpu rc;
    uint64_t tick_ns;
    hal_paddr_t pool[RCU_POOL_MAX];
    unsigned npool;
    uint64_t x; /* the CPU's random stream */
    uint64_t reads, updates, uaf, wrong, missing, pool_waits;
    hal_ns_t t0, elapsed;
    void *saved_kdata;
    uint32_t all[RCU_MAX_CPUS * 256]; /* CPU 0: every grace period's latency, sorted */
};
int rcu_bench(struct hal_cpu *c, const struct rcu_bench_cfg *cfg, unsigned phase,
              struct rcu_bench_state *st);

#endif
