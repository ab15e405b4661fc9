/* SPSC and MPMC rings, seqlocks and per-CPU counters (include/kernel/ring.h
 * has the layouts and the invariants), and the ring benchmark. */
#include "kernel/hal.h"
#include "kernel/ring.h"
#include "kernel/sync.h"

#define LINE 64u

static uint64_t ld(struct hal_cpu *c, hal_paddr_t pa)
{
    uint64_t v = 0;
    if (hal_load(c, pa, 8, &v) != HAL_OK)
        hal_panic(c, "sync: a ring or seqlock word is not in memory");
    return v;
}

static void st(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (hal_store(c, pa, 8, v) != HAL_OK)
        hal_panic(c, "sync: a ring or seqlock word is not in memory");
}

static bool cas(struct hal_cpu *c, hal_paddr_t pa, uint64_t expect, uint64_t v, uint64_t *old)
{
    if (hal_atomic(c, HAL_ATOMIC_CAS, pa, 8, v, expect, old) != HAL_OK)
        hal_panic(c, "sync: a ring word is not in memory");
    return *old == expect;
}

/* --- SPSC ------------------------------------------------------------------------ */

#define HEAD 0u
#define TAIL LINE
#define SLOTS (2 * LINE)

void ring_spsc_init(struct hal_cpu *c, const struct ring_spsc *r)
{
    st(c, r->at + HEAD, 0);
    st(c, r->at + TAIL, 0);
}

void ring_side_init(struct ring_side *s, unsigned batch)
{
    s->index = s->published = s->other = 0;
    s->batch = batch ? batch : 1;
}

void ring_spsc_flush_prod(struct hal_cpu *c, const struct ring_spsc *r, struct ring_side *p)
{
    if (p->published != p->index) {
        hal_fence(c); /* the slots before the index that covers them */
        st(c, r->at + TAIL, p->index);
        p->published = p->index;
    }
}

void ring_spsc_flush_cons(struct hal_cpu *c, const struct ring_spsc *r, struct ring_side *q)
{
    if (q->published != q->index) {
        hal_fence(c);
        st(c, r->at + HEAD, q->index);
        q->published = q->index;
    }
}

bool ring_spsc_push(struct hal_cpu *c, const struct ring_spsc *r, struct ring_side *p, uint64_t v)
{
    if (p->index - p->other == r->cap) {
        p->other = ld(c, r->at + HEAD);
        if (p->index - p->other == r->cap) {
            ring_spsc_flush_prod(c, r, p); /* never let the consumer wait on us */
            return false;
        }
    }
    st(c, r->at + SLOTS + 8 * (p->index & (r->cap - 1)), v);
    p->index++;
    if (p->index - p->published >= p->batch)
        ring_spsc_flush_prod(c, r, p);
    return true;
}

bool ring_spsc_pop(struct hal_cpu *c, const struct ring_spsc *r, struct ring_side *q, uint64_t *v)
{
    if (q->index == q->other) {
        q->other = ld(c, r->at + TAIL);
        if (q->index == q->other) {
            ring_spsc_flush_cons(c, r, q);
            return false;
        }
    }
    *v = ld(c, r->at + SLOTS + 8 * (q->index & (r->cap - 1)));
    q->index++;
    if (q->index - q->published >= q->batch)
        ring_spsc_flush_cons(c, r, q);
    return true;
}

int ring_spsc_check(struct hal_cpu *c, const struct ring_spsc *r)
{
    uint64_t head = ld(c, r->at + HEAD), tail = ld(c, r->at + TAIL);
    if (tail < head || tail - head > r->cap)
        return __LINE__;
    return 0;
}

/* --- MPMC ------------------------------------------------------------------------ */

#define ENQ 0u
#define DEQ LINE
#define CELLS (2 * LINE)

void ring_mpmc_init(struct hal_cpu *c, const struct ring_mpmc *r)
{
    st(c, r->at + ENQ, 0);
    st(c, r->at + DEQ, 0);
    for (uint32_t i = 0; i < r->cap; i++)
        st(c, r->at + CELLS + 16 * (hal_paddr_t)i, i);
}

bool ring_mpmc_push(struct hal_cpu *c, const struct ring_mpmc *r, uint64_t v)
{
    uint64_t pos = ld(c, r->at + ENQ);
    for (;;) {
        hal_paddr_t cell = r->at + CELLS + 16 * (pos & (r->cap - 1));
        int64_t dif = (int64_t)(ld(c, cell) - pos);
        if (dif == 0) {
            uint64_t old;
            if (cas(c, r->at + ENQ, pos, pos + 1, &old)) {
                st(c, cell + 8, v);
                hal_fence(c);
                st(c, cell, pos + 1);
                return true;
            }
            pos = old;
        } else if (dif < 0) {
            return false; /* full */
        } else {
            pos = ld(c, r->at + ENQ);
        }
    }
}

bool ring_mpmc_pop(struct hal_cpu *c, const struct ring_mpmc *r, uint64_t *v)
{
    uint64_t pos = ld(c, r->at + DEQ);
    for (;;) {
        hal_paddr_t cell = r->at + CELLS + 16 * (pos & (r->cap - 1));
        int64_t dif = (int64_t)(ld(c, cell) - (pos + 1));
        if (dif == 0) {
            uint64_t old;
            if (cas(c, r->at + DEQ, pos, pos + 1, &old)) {
                *v = ld(c, cell + 8);
                hal_fence(c);
                st(c, cell, pos + r->cap);
                return true;
            }
            pos = old;
        } else if (dif < 0) {
            return false; /* empty */
        } else {
            pos = ld(c, r->at + DEQ);
        }
    }
}

/* --- seqlock ------------------------------------------------------------------------ */

void seqlock_init(struct hal_cpu *c, const struct seqlock *s)
{
    st(c, s->at, 0);
    st(c, s->at + LINE, 0);
}

void seqlock_write_begin(struct hal_cpu *c, const struct seqlock *s)
{
    sync_ticket_lock(c, s->at + LINE);
    st(c, s->at, ld(c, s->at) + 1);
    hal_fence(c); /* odd before the data changes */
}

void seqlock_write_end(struct hal_cpu *c, const struct seqlock *s)
{
    hal_fence(c); /* the data before the even sequence */
    st(c, s->at, ld(c, s->at) + 1);
    sync_ticket_unlock(c, s->at + LINE);
}

uint64_t seqlock_read_begin(struct hal_cpu *c, const struct seqlock *s)
{
    uint64_t seq;
    while ((seq = ld(c, s->at)) & 1)
        hal_relax(c);
    hal_fence(c);
    return seq;
}

bool seqlock_read_retry(struct hal_cpu *c, const struct seqlock *s, uint64_t seq)
{
    hal_fence(c);
    return ld(c, s->at) != seq;
}

/* --- per-CPU counters ------------------------------------------------------------------ */

void pcpu_counter_init(struct hal_cpu *c, const struct pcpu_counter *k)
{
    for (unsigned i = 0; i < k->ncpu; i++)
        st(c, k->at + (hal_paddr_t)i * LINE, 0);
}

void pcpu_counter_add(struct hal_cpu *c, const struct pcpu_counter *k, int64_t v)
{
    hal_paddr_t mine = k->at + (hal_paddr_t)hal_cpu_id(c) * LINE;
    st(c, mine, ld(c, mine) + (uint64_t)v);
}

int64_t pcpu_counter_sum(struct hal_cpu *c, const struct pcpu_counter *k)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < k->ncpu; i++)
        sum += ld(c, k->at + (hal_paddr_t)i * LINE);
    return (int64_t)sum;
}

/* --- the ring benchmark ------------------------------------------------------------------
 * Region: line 0 the barrier, line 1 the ready flag, lines 2-3 totals
 * (moved, sum, full waits, empty waits, errors, elapsed of the longest
 * CPU), from line 8 the ring. */

#define B_BAR 0u
#define B_TOT (2 * LINE)
#define B_RING (8 * LINE)

static void add(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (v && hal_atomic(c, HAL_ATOMIC_FAA, pa, 8, v, 0, 0) != HAL_OK)
        hal_panic(c, "ring_bench: region not in memory");
}

static void barrier(struct hal_cpu *c, hal_paddr_t at, unsigned n, uint64_t k)
{
    add(c, at, 1);
    while (ld(c, at) < k * n)
        hal_relax(c);
}

/* This CPU's role: 1 producer number + 1, -(consumer number + 1), or 0. */
static int role(const struct ring_bench_cfg *cfg, unsigned id)
{
    if (cfg->kind == RING_SPSC)
        return id == cfg->producer ? 1 : id == cfg->consumer ? -1 : 0;
    if (id < cfg->producers)
        return (int)id + 1;
    if (id < cfg->producers + cfg->consumers)
        return -(int)(id - cfg->producers) - 1;
    return 0;
}

int ring_bench(struct hal_cpu *c, const struct ring_bench_cfg *cfg, unsigned phase,
               struct ring_bench_state *b)
{
    unsigned id = hal_cpu_id(c), n = hal_cpu_count(c);
    struct ring_spsc rs = {cfg->region + B_RING, cfg->cap};
    struct ring_mpmc rm = {cfg->region + B_RING, cfg->cap};
    int me = role(cfg, id);
    if (phase == 0) {
        if (id == 0) {
            for (unsigned w = 0; w < 8 * LINE; w += 8)
                st(c, cfg->region + w, 0);
            if (cfg->kind == RING_SPSC)
                ring_spsc_init(c, &rs);
            else
                ring_mpmc_init(c, &rm);
            hal_fence(c);
            st(c, cfg->region + LINE, 1);
        } else {
            while (ld(c, cfg->region + LINE) == 0)
                hal_relax(c);
        }
        barrier(c, cfg->region + B_BAR, n, 1);
        b->t0 = hal_now(c);
        return 0;
    }
    if (phase == 1) {
        unsigned producers = cfg->kind == RING_SPSC ? 1 : cfg->producers;
        unsigned consumers = cfg->kind == RING_SPSC ? 1 : cfg->consumers;
        if (me > 0) {
            struct ring_side p;
            ring_side_init(&p, cfg->batch);
            for (uint64_t i = 1; i <= cfg->items; i++) {
                uint64_t v = (uint64_t)me << 32 | i;
                while (!(cfg->kind == RING_SPSC ? ring_spsc_push(c, &rs, &p, v)
                                                : ring_mpmc_push(c, &rm, v))) {
                    b->full_waits++;
                    hal_relax(c);
                }
                b->moved++;
            }
            if (cfg->kind == RING_SPSC)
                ring_spsc_flush_prod(c, &rs, &p);
        } else if (me < 0) {
            struct ring_side q;
            ring_side_init(&q, cfg->batch);
            uint64_t quota = (uint64_t)cfg->items * producers / consumers, last = 0;
            for (uint64_t i = 0; i < quota; i++) {
                uint64_t v;
                while (!(cfg->kind == RING_SPSC ? ring_spsc_pop(c, &rs, &q, &v)
                                                : ring_mpmc_pop(c, &rm, &v))) {
                    b->empty_waits++;
                    hal_relax(c);
                }
                if (cfg->kind == RING_SPSC && (v & 0xffffffffu) != (last & 0xffffffffu) + 1)
                    b->errors++; /* out of order, lost or duplicated */
                last = v;
                b->sum += v & 0xffffffffu;
                b->moved++;
            }
            if (cfg->kind == RING_SPSC)
                ring_spsc_flush_cons(c, &rs, &q);
        }
        b->elapsed = hal_now(c) - b->t0;
        return 0;
    }
    /* phase 2 */
    hal_paddr_t tot = cfg->region + B_TOT;
    if (me < 0) {
        add(c, tot, b->moved);
        add(c, tot + 8, b->sum);
    }
    add(c, tot + 16, b->full_waits);
    add(c, tot + 24, b->empty_waits);
    add(c, tot + 32, b->errors);
    if (me) { /* the transfer ends when its slowest side does */
        uint64_t old = ld(c, tot + 40), seen;
        while (b->elapsed > old && !cas(c, tot + 40, old, b->elapsed, &seen))
            old = seen;
    }
    barrier(c, cfg->region + B_BAR, n, 2);
    if (id != 0)
        return 0;
    unsigned producers = cfg->kind == RING_SPSC ? 1 : cfg->producers;
    uint64_t total = (uint64_t)cfg->items * producers;
    uint64_t moved = ld(c, tot), sum = ld(c, tot + 8), errors = ld(c, tot + 32);
    hal_report(c, "ring.items", moved);
    hal_report(c, "ring.elapsed_ns", ld(c, tot + 40));
    hal_report(c, "ring.full_waits", ld(c, tot + 16));
    hal_report(c, "ring.empty_waits", ld(c, tot + 24));
    hal_report(c, "ring.errors", errors);
    if (moved != total || sum != producers * ((uint64_t)cfg->items * (cfg->items + 1) / 2) ||
        errors)
        return __LINE__; /* an item lost, duplicated or reordered */
    if (cfg->kind == RING_SPSC && ring_spsc_check(c, &rs))
        return __LINE__;
    return 0;
}
