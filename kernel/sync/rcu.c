/* RCU (include/kernel/rcu.h has the design, the invariants and the
 * transitions). The read side is private data only; the grace-period
 * machinery is a few shared words in one line, touched by each CPU once
 * per grace period (its report) and by whoever starts or ends one.
 *
 * State line: +0 gp_seq, +8 qs_mask, +16 start time (ns) of the grace
 * period in progress, +24 debug word (bit 0: end a grace period at its
 * first report, a planted bug). Second line: the lock. */
#include "kernel/hal.h"
#include "kernel/rcu.h"
#include "kernel/sync.h"

#define S_SEQ 0u
#define S_MASK 8u
#define S_START 16u
#define S_DEBUG 24u
#define S_LOCK 64u

static uint64_t ld(struct hal_cpu *c, hal_paddr_t pa)
{
    uint64_t v = 0;
    if (hal_load(c, pa, 8, &v) != HAL_OK)
        hal_panic(c, "rcu: state not in memory");
    return v;
}

static void st(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (hal_store(c, pa, 8, v) != HAL_OK)
        hal_panic(c, "rcu: state not in memory");
}

void rcu_init(struct hal_cpu *c, const struct rcu_state *rs)
{
    for (unsigned w = 0; w < RCU_STATE_BYTES; w += 8)
        st(c, rs->at + w, 0);
}

void rcu_cpu_init(struct hal_cpu *c, struct rcu_cpu *rc)
{
    rc->cpu = hal_cpu_id(c);
    rc->nesting = 0;
    rc->qs = false;
    rc->reported = false;
    rc->seen = 0;
    rc->entry_seq = 0;
    rc->head = rc->count = 0;
    rc->violations = rc->callbacks_run = rc->gps_ended = rc->gp_ns_sum = rc->gp_ns_max = 0;
    rc->gp_ns_min = ~0ull;
    rc->n_gp = 0;
}

uint64_t rcu_seq_snap(uint64_t seq) { return (seq + 3) & ~1ull; }

uint64_t rcu_gp_seq(struct hal_cpu *c, const struct rcu_state *rs) { return ld(c, rs->at + S_SEQ); }

void rcu_read_lock(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc)
{
    if (rc->nesting++ == 0 && rs->check)
        rc->entry_seq = ld(c, rs->at + S_SEQ);
}

void rcu_read_unlock(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc)
{
    if (--rc->nesting == 0 && rs->check) {
        /* invariant 1: a grace period that started after the entry must
         * not have ended yet (it ends at rcu_seq_snap(entry)) */
        if (ld(c, rs->at + S_SEQ) >= rcu_seq_snap(rc->entry_seq))
            rc->violations++;
    }
}

void rcu_quiescent(struct rcu_cpu *rc)
{
    if (rc->nesting == 0)
        rc->qs = true;
}

void rcu_start_gp(struct hal_cpu *c, const struct rcu_state *rs)
{
    if (ld(c, rs->at + S_SEQ) & 1)
        return; /* one runs: no lock needed to see it */
    sync_ticket_lock(c, rs->at + S_LOCK);
    uint64_t seq = ld(c, rs->at + S_SEQ);
    if (!(seq & 1)) {
        st(c, rs->at + S_MASK, rs->cpus);
        st(c, rs->at + S_START, hal_now(c));
        hal_fence(c);
        st(c, rs->at + S_SEQ, seq + 1);
    }
    sync_ticket_unlock(c, rs->at + S_LOCK);
}

/* This CPU's quiescent state for grace period `seq`: clear its bit; the
 * last one ends the grace period. */
static void report(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc, uint64_t seq)
{
    uint64_t bit = 1ull << rc->cpu, old = 0;
    if (hal_atomic(c, HAL_ATOMIC_FAA, rs->at + S_MASK, 8, (uint64_t)0 - bit, 0, &old) != HAL_OK)
        hal_panic(c, "rcu: state not in memory");
    rc->reported = true;
    bool last = old == bit;
    if (!last && (ld(c, rs->at + S_DEBUG) & 1))
        last = true; /* the planted bug: end it now, other CPUs' readers or not */
    if (!last)
        return;
    uint64_t ns = hal_now(c) - ld(c, rs->at + S_START);
    st(c, rs->at + S_SEQ, seq + 1);
    rc->gps_ended++;
    rc->gp_ns_sum += ns;
    rc->gp_ns_max = ns > rc->gp_ns_max ? ns : rc->gp_ns_max;
    rc->gp_ns_min = ns < rc->gp_ns_min ? ns : rc->gp_ns_min;
    if (rc->n_gp < sizeof rc->gp_ns / sizeof rc->gp_ns[0])
        rc->gp_ns[rc->n_gp++] = (uint32_t)(ns < 0xffffffffu ? ns : 0xffffffffu);
}

static void run_callbacks(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc)
{
    uint64_t seq = ld(c, rs->at + S_SEQ);
    while (rc->count && rc->cb[rc->head].target <= seq) {
        struct rcu_cb cb = rc->cb[rc->head];
        rc->head = (rc->head + 1) % RCU_CB_MAX;
        rc->count--;
        cb.fn(c, cb.arg, cb.data);
        rc->callbacks_run++;
    }
    if (rc->count && !(seq & 1))
        rcu_start_gp(c, rs); /* callbacks wait and no grace period runs */
}

void rcu_tick(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc)
{
    if (!(rs->cpus >> rc->cpu & 1))
        return;
    uint64_t seq = ld(c, rs->at + S_SEQ);
    if (seq & 1) {
        if (seq != rc->seen) { /* a new grace period: earlier notes do not count */
            rc->seen = seq;
            rc->qs = false;
            rc->reported = false;
        }
        if (!rc->reported && (rc->nesting == 0 || rc->qs))
            report(c, rs, rc, seq);
    }
    if (rc->nesting == 0)
        run_callbacks(c, rs, rc);
}

bool rcu_call(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc, rcu_cb_fn *fn,
              void *arg, uint64_t data)
{
    if (rc->count == RCU_CB_MAX)
        return false;
    uint64_t seq = ld(c, rs->at + S_SEQ);
    struct rcu_cb *cb = &rc->cb[(rc->head + rc->count) % RCU_CB_MAX];
    cb->fn = fn;
    cb->arg = arg;
    cb->data = data;
    cb->target = rcu_seq_snap(seq);
    rc->count++;
    if (!(seq & 1))
        rcu_start_gp(c, rs);
    return true;
}

void rcu_synchronize(struct hal_cpu *c, const struct rcu_state *rs, struct rcu_cpu *rc)
{
    uint64_t target = rcu_seq_snap(ld(c, rs->at + S_SEQ));
    rcu_quiescent(rc);
    for (;;) {
        uint64_t seq = ld(c, rs->at + S_SEQ);
        if (seq >= target)
            return;
        if (!(seq & 1))
            rcu_start_gp(c, rs);
        rcu_quiescent(rc);
        hal_idle(c); /* the tick reports for this CPU too */
    }
}

int rcu_check(struct hal_cpu *c, const struct rcu_state *rs, const struct rcu_cpu *rc)
{
    if (rc->violations)
        return __LINE__; /* a grace period ended under a reader */
    if (rc->nesting)
        return __LINE__; /* left inside a read section */
    uint64_t seq = ld(c, rs->at + S_SEQ);
    for (unsigned k = 0; k < rc->count; k++)
        if (rc->cb[(rc->head + k) % RCU_CB_MAX].target <= seq && !(seq & 1))
            return __LINE__; /* a callback whose grace period ended never ran */
    return 0;
}
