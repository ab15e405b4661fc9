/* The RT class: SCHED_FIFO and SCHED_RR, priorities 1..99 (99 highest).
 *
 * One FIFO list per priority and a 100-bit bitmap of non-empty lists: pick
 * is the head of the highest set bit, O(1) (two words, a fixed-step
 * find-last-set; no compiler builtin, which could need libgcc on targets
 * without a count-leading-zeros instruction). Like Linux, curr stays on its
 * list while it runs, so a preempted task keeps its place at the head.
 * FIFO runs until it blocks, yields or a higher priority arrives; RR
 * additionally moves to the tail of its list when its quantum
 * (rr_timeslice_ns, charged at each tick) is used up.
 *
 * Invariants (rt_check): bit p set <=> list p non-empty; list links agree;
 * nr_running = Σ list lengths. The cross-class invariant (no higher RT
 * priority waits behind curr) is checked in core.c. */
#include "internal.h"

/* Index of the highest set bit of a nonzero word. */
static unsigned fls64(uint64_t x)
{
    unsigned r = 0;
    for (unsigned step = 32; step; step /= 2) {
        if (x >> step) {
            x >>= step;
            r += step;
        }
    }
    return r;
}

/* Highest priority with a queued task, 0 for none. */
unsigned sched_rt_highest(const struct sched_rt_rq *r)
{
    if (r->bitmap[1])
        return 64 + fls64(r->bitmap[1]);
    if (r->bitmap[0])
        return fls64(r->bitmap[0]);
    return 0;
}

static void list_add(struct sched_rt_rq *r, struct sched_task *t, bool head)
{
    unsigned p = t->rt_prio;
    t->rt.prev = t->rt.next = NULL;
    if (!r->head[p]) {
        r->head[p] = r->tail[p] = t;
    } else if (head) {
        t->rt.next = r->head[p];
        r->head[p]->rt.prev = t;
        r->head[p] = t;
    } else {
        t->rt.prev = r->tail[p];
        r->tail[p]->rt.next = t;
        r->tail[p] = t;
    }
    r->bitmap[p / 64] |= (uint64_t)1 << (p % 64);
}

static void list_del(struct sched_rt_rq *r, struct sched_task *t)
{
    unsigned p = t->rt_prio;
    if (t->rt.prev)
        t->rt.prev->rt.next = t->rt.next;
    else
        r->head[p] = t->rt.next;
    if (t->rt.next)
        t->rt.next->rt.prev = t->rt.prev;
    else
        r->tail[p] = t->rt.prev;
    t->rt.prev = t->rt.next = NULL;
    if (!r->head[p])
        r->bitmap[p / 64] &= ~((uint64_t)1 << (p % 64));
}

static bool rt_enqueue(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                       unsigned flags)
{
    (void)flags;
    if (t->rt.time_slice == 0)
        t->rt.time_slice = s->cfg.rr_timeslice_ns;
    list_add(&rq->rt, t, false);
    rq->rt.nr_running++;
    return true;
}

static void rt_dequeue(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                       unsigned flags)
{
    (void)s, (void)flags;
    list_del(&rq->rt, t);
    rq->rt.nr_running--;
}

static struct sched_task *rt_pick_next(struct sched *s, struct sched_rq *rq)
{
    (void)s;
    unsigned p = sched_rt_highest(&rq->rt);
    return p ? rq->rt.head[p] : NULL;
}

static void rt_set_next(struct sched *s, struct sched_rq *rq, struct sched_task *t)
{
    (void)s, (void)rq, (void)t;
}

static void rt_put_prev(struct sched *s, struct sched_rq *rq, struct sched_task *t)
{
    (void)s, (void)rq, (void)t; /* stays at its place in its list */
}

static void rt_update_curr(struct sched *s, struct sched_rq *rq, struct sched_task *curr,
                           hal_ns_t delta)
{
    (void)s, (void)rq;
    if (curr->policy != SCHED_POLICY_RR)
        return;
    curr->rt.time_slice = curr->rt.time_slice > delta ? curr->rt.time_slice - delta : 0;
}

/* RR quantum used up: a fresh one, and to the tail if anyone shares the
 * priority (Linux task_tick_rt). */
static void rt_task_tick(struct sched *s, struct sched_rq *rq, struct sched_task *curr)
{
    if (curr->policy != SCHED_POLICY_RR || curr->rt.time_slice > 0)
        return;
    curr->rt.time_slice = s->cfg.rr_timeslice_ns;
    unsigned p = curr->rt_prio;
    if (rq->rt.head[p] != rq->rt.tail[p]) {
        list_del(&rq->rt, curr);
        list_add(&rq->rt, curr, false);
        sched_resched(rq);
    }
}

static bool rt_wakeup_preempt(struct sched *s, struct sched_rq *rq, struct sched_task *curr,
                              struct sched_task *t)
{
    (void)s, (void)rq;
    return t->rt_prio > curr->rt_prio;
}

static void rt_yield(struct sched *s, struct sched_rq *rq, struct sched_task *curr)
{
    (void)s;
    list_del(&rq->rt, curr);
    list_add(&rq->rt, curr, false);
}

static int rt_check(const struct sched *s, const struct sched_rq *rq)
{
    (void)s;
    const struct sched_rt_rq *r = &rq->rt;
    unsigned nr = 0;
    for (unsigned p = 0; p < SCHED_RT_PRIOS; p++) {
        bool bit = r->bitmap[p / 64] >> (p % 64) & 1u;
        if (bit != (r->head[p] != NULL) || (p == 0 && bit))
            return SCHED_CHECK_RT_BITMAP;
        const struct sched_task *prev = NULL;
        for (const struct sched_task *t = r->head[p]; t; prev = t, t = t->rt.next, nr++) {
            if (t->rt.prev != prev || t->rt_prio != p || !t->on_rq || t->cpu != rq->cpu)
                return SCHED_CHECK_RT_BITMAP;
        }
        if (r->tail[p] != prev)
            return SCHED_CHECK_RT_BITMAP;
    }
    if (r->bitmap[1] >> (SCHED_RT_PRIOS - 64))
        return SCHED_CHECK_RT_BITMAP;
    return nr == r->nr_running ? 0 : SCHED_CHECK_STATE;
}

const struct sched_class sched_rt_class = {
    .name = "rt",
    .enqueue = rt_enqueue,
    .dequeue = rt_dequeue,
    .pick_next = rt_pick_next,
    .set_next = rt_set_next,
    .put_prev = rt_put_prev,
    .update_curr = rt_update_curr,
    .task_tick = rt_task_tick,
    .wakeup_preempt = rt_wakeup_preempt,
    .yield = rt_yield,
    .next_timer = NULL,
    .timer = NULL,
    .check = rt_check,
};
