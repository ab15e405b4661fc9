/* The deadline class: EDF on absolute deadlines with a constant bandwidth
 * server per task (Abeni & Buttazzo 1998; Linux SCHED_DEADLINE).
 *
 * A task declares (Q, D, P) = (dl_runtime, dl_deadline, dl_period) with
 * 0 < Q <= D <= P; its bandwidth is Q/P. Partitioned: sched_task_add admits
 * it on one CPU of its affinity (worst fit) if that CPU's admitted bandwidth
 * stays within dl_bound_permille, and it never migrates. On one CPU EDF
 * meets every deadline while Σ Q/P <= 1 (Liu & Layland), and the CBS keeps
 * each task within its own Q per P whatever it asks for (isolation).
 *
 * CBS state per task: remaining budget q (dl.runtime) and scheduling
 * deadline d (dl.deadline). Rules:
 *   wake-up   if d <= now, or q / (d - now) > Q / D (the remaining budget
 *             would run at a higher density than declared), start afresh:
 *             d = now + D, q = Q. Otherwise keep (q, d); if q <= 0 the task
 *             stays throttled until the next period.
 *   running   q -= delta_exec.
 *   q <= 0    throttle: off the EDF tree until d - D + P (the start of the
 *             next period), exact with DL_HRTIMER (sched_next_timer gives
 *             the budget-exhaustion instant), else at the next tick.
 *   replenish while q <= 0: d += P, q += Q; if d is already past, start
 *             afresh as at wake-up. Back on the tree; may preempt.
 *
 * State diagram (state; flags):
 *   BLOCKED --wakeup--> QUEUED on tree --pick--> RUNNING (still on tree)
 *   RUNNING --q<=0--> QUEUED throttled (off tree, on the throttled list)
 *   throttled --replenish timer--> QUEUED on tree
 *
 * Costs: pick = leftmost of a treap, O(log n) expected; enqueue/dequeue
 * O(log n); next_timer and the replenishment scan are O(#throttled), a
 * linear list (fine for tens of DL tasks per CPU; a second treap keyed on
 * replenish_at would make it O(log n)).
 *
 * Invariants (dl_check): tree order; 0 <= q <= Q for every task of the CPU
 * (with DL_HRTIMER; without it q may overrun by at most one tick), i.e. a
 * task never consumes more than its budget within a period. */
#include "internal.h"

#define DL_SCALE 10 /* Linux: compare densities on ~µs to avoid overflow */

static struct sched_task *node_task(struct sched_node *n)
{
    return sched_container_of(n, struct sched_task, dl.node);
}

uint64_t sched_dl_bw(hal_ns_t runtime, hal_ns_t period)
{
    return ((uint64_t)runtime << SCHED_BW_SHIFT) / period;
}

bool sched_dl_fits(const struct sched *s, const struct sched_rq *rq, uint64_t bw)
{
    uint64_t bound = ((uint64_t)s->cfg.dl_bound_permille << SCHED_BW_SHIFT) / 1000;
    return rq->dl.bw_admitted + bw <= bound;
}

/* q / (d - now) > Q / D, as Linux dl_entity_overflow: both sides scaled
 * down by 2^10 so that the products of ns quantities up to 2^42 fit. */
static bool dl_overflow(const struct sched_task *t, hal_ns_t now)
{
    uint64_t left = (t->dl_deadline >> DL_SCALE) * ((uint64_t)t->dl.runtime >> DL_SCALE);
    uint64_t right = ((t->dl.deadline - now) >> DL_SCALE) * (t->dl_runtime >> DL_SCALE);
    return right < left;
}

static void tree_add(struct sched_dl_rq *d, struct sched_task *t)
{
    t->dl.node.key = t->dl.deadline;
    t->dl.node.aug = 0;
    sched_tree_insert(&d->root, &t->dl.node);
    d->nr_running++;
}

static void tree_del(struct sched_dl_rq *d, struct sched_task *t)
{
    sched_tree_remove(&d->root, &t->dl.node);
    d->nr_running--;
}

static void throttled_add(struct sched_dl_rq *d, struct sched_task *t)
{
    t->dl.throttled = true;
    t->dl.replenish_at = t->dl.deadline - t->dl_deadline + t->dl_period;
    t->dl.tprev = NULL;
    t->dl.tnext = d->throttled;
    if (d->throttled)
        d->throttled->dl.tprev = t;
    d->throttled = t;
}

static void throttled_del(struct sched_dl_rq *d, struct sched_task *t)
{
    if (t->dl.tprev)
        t->dl.tprev->dl.tnext = t->dl.tnext;
    else
        d->throttled = t->dl.tnext;
    if (t->dl.tnext)
        t->dl.tnext->dl.tprev = t->dl.tprev;
    t->dl.tnext = t->dl.tprev = NULL;
    t->dl.throttled = false;
}

static void fresh_period(struct sched_task *t, hal_ns_t now)
{
    t->dl.deadline = now + t->dl_deadline;
    t->dl.runtime = (int64_t)t->dl_runtime;
}

static bool dl_enqueue(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                       unsigned flags)
{
    (void)s, (void)flags;
    hal_ns_t now = rq->clock;
    if (t->is_new || !sched_before(now, t->dl.deadline) || dl_overflow(t, now)) {
        fresh_period(t, now);
    } else if (t->dl.runtime <= 0) {
        throttled_add(&rq->dl, t);
        return false;
    }
    tree_add(&rq->dl, t);
    return true;
}

static void dl_dequeue(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                       unsigned flags)
{
    (void)s, (void)flags;
    if (t->dl.throttled)
        throttled_del(&rq->dl, t);
    else
        tree_del(&rq->dl, t);
}

static struct sched_task *dl_pick_next(struct sched *s, struct sched_rq *rq)
{
    (void)s;
    struct sched_node *n = sched_tree_first(rq->dl.root);
    return n ? node_task(n) : NULL;
}

static void dl_set_next(struct sched *s, struct sched_rq *rq, struct sched_task *t)
{
    (void)s, (void)rq, (void)t; /* curr stays on the tree: its key is fixed */
}

static void dl_put_prev(struct sched *s, struct sched_rq *rq, struct sched_task *t)
{
    (void)s, (void)rq, (void)t;
}

static void throttle_curr(struct sched_rq *rq, struct sched_task *curr)
{
    tree_del(&rq->dl, curr);
    throttled_add(&rq->dl, curr);
    curr->on_rq = false;
    curr->stats.dl_throttles++;
    sched_resched(rq);
}

static void dl_update_curr(struct sched *s, struct sched_rq *rq, struct sched_task *curr,
                           hal_ns_t delta)
{
    (void)s;
    hal_ns_t now = rq->clock;
    curr->dl.runtime -= (int64_t)delta;
    if (!sched_before(now, curr->dl.deadline) && sched_before(now - delta, curr->dl.deadline))
        curr->stats.dl_deadline_misses++;
    if (curr->dl.runtime <= 0 && !curr->dl.throttled)
        throttle_curr(rq, curr);
}

static void dl_task_tick(struct sched *s, struct sched_rq *rq, struct sched_task *curr)
{
    (void)s, (void)rq, (void)curr; /* budget handled in update_curr */
}

static bool dl_wakeup_preempt(struct sched *s, struct sched_rq *rq, struct sched_task *curr,
                              struct sched_task *t)
{
    (void)s, (void)rq;
    return sched_before(t->dl.deadline, curr->dl.deadline);
}

/* Give up the rest of this period's budget (Linux yield_task_dl). */
static void dl_yield(struct sched *s, struct sched_rq *rq, struct sched_task *curr)
{
    (void)s;
    if (curr->dl.throttled)
        return;
    curr->dl.runtime = 0;
    throttle_curr(rq, curr);
    curr->stats.dl_throttles--; /* a yield is not an overrun */
}

static hal_ns_t dl_next_timer(const struct sched *s, const struct sched_rq *rq)
{
    if (!sched_feat(s, SCHED_FEAT_DL_HRTIMER))
        return 0;
    hal_ns_t next = 0;
    for (const struct sched_task *t = rq->dl.throttled; t; t = t->dl.tnext)
        if (!next || sched_before(t->dl.replenish_at, next))
            next = t->dl.replenish_at;
    const struct sched_task *c = rq->curr;
    if (c && c->on_rq && sched_task_class(c) == SCHED_CLASS_DL) {
        hal_ns_t out = c->exec_start + (hal_ns_t)c->dl.runtime;
        if (!next || sched_before(out, next))
            next = out;
    }
    return next ? next : 0;
}

/* Replenish every throttled task whose next period has begun. */
static void dl_timer(struct sched *s, struct sched_rq *rq)
{
    hal_ns_t now = rq->clock;
    struct sched_task *t = rq->dl.throttled;
    while (t) {
        struct sched_task *next = t->dl.tnext;
        if (!sched_before(now, t->dl.replenish_at)) {
            throttled_del(&rq->dl, t);
            while (t->dl.runtime <= 0) {
                t->dl.deadline += t->dl_period;
                t->dl.runtime += (int64_t)t->dl_runtime;
            }
            if (!sched_before(now, t->dl.deadline))
                fresh_period(t, now);
            if (t->state == SCHED_TASK_QUEUED || t->state == SCHED_TASK_RUNNING) {
                tree_add(&rq->dl, t);
                t->on_rq = true;
                sched_check_preempt(s, rq, t);
            }
        }
        t = next;
    }
}

static int dl_check(const struct sched *s, const struct sched_rq *rq)
{
    if (sched_tree_check(rq->dl.root))
        return SCHED_CHECK_DL_TREE;
    unsigned nr = 0;
    for (struct sched_node *n = sched_tree_first(rq->dl.root); n; n = sched_tree_next(n), nr++)
        if (n->key != node_task(n)->dl.deadline || node_task(n)->dl.throttled)
            return SCHED_CHECK_DL_TREE;
    if (nr != rq->dl.nr_running)
        return SCHED_CHECK_STATE;
    int64_t slack = sched_feat(s, SCHED_FEAT_DL_HRTIMER) ? 0 : (int64_t)s->cfg.tick_ns;
    for (const struct sched_task *t = s->all; t; t = t->all_next) {
        if (t->policy != SCHED_POLICY_DEADLINE || t->cpu != rq->cpu ||
            t->state == SCHED_TASK_EXITED || t->state == SCHED_TASK_NEW)
            continue;
        /* budget left = Q - consumed; consumed <= Q  <=>  q >= 0 */
        if (t->dl.runtime > (int64_t)t->dl_runtime || t->dl.runtime < -slack)
            return SCHED_CHECK_DL_BUDGET;
    }
    return 0;
}

const struct sched_class sched_dl_class = {
    .name = "deadline",
    .enqueue = dl_enqueue,
    .dequeue = dl_dequeue,
    .pick_next = dl_pick_next,
    .set_next = dl_set_next,
    .put_prev = dl_put_prev,
    .update_curr = dl_update_curr,
    .task_tick = dl_task_tick,
    .wakeup_preempt = dl_wakeup_preempt,
    .yield = dl_yield,
    .next_timer = dl_next_timer,
    .timer = dl_timer,
    .check = dl_check,
};
