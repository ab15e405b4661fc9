/* The fair class: EEVDF (Stoica & Abdel-Wahab 1995; Linux 6.6+ fair.c).
 *
 * Each runnable entity i has a weight w_i (from nice), a virtual runtime v_i
 * (advances by delta_exec * NICE_0_WEIGHT / w_i while it runs) and a request
 * of `slice` ns whose virtual deadline is vd_i = v_i + slice*NICE_0/w_i at the
 * time the request was made. With W = Σ w_i over the runnable entities
 * (queued + curr), the weighted average virtual time is
 *
 *     V = Σ w_i v_i / W
 *
 * The lag of i is lag_i = w_i (V - v_i): service it is owed (> 0) or has
 * received in excess (< 0). By the definition of V, Σ lag_i = 0. Entity i is
 * eligible when lag_i >= 0, i.e. v_i <= V. The pick is the eligible entity
 * with the earliest virtual deadline.
 *
 * Data structure and cost: queued (not running) entities sit in a treap
 * (tree.c) keyed on v_i and augmented with the subtree minimum of vd_i.
 * Eligible entities are a key prefix, so the pick walks one root-to-leaf
 * path: at an eligible node its whole left subtree is eligible (consider
 * the node and left->aug_min, go right); at an ineligible node go left. Then
 * at most one more descent finds the node holding the best aug_min. O(log n)
 * expected; enqueue/dequeue O(log n) expected. curr is kept out of the tree
 * (its key changes as it runs) but in W and Σ.
 *
 * Lag across sleep: at dequeue vlag_i = V - v_i is saved, clamped to
 * ±limit_i = max(2*slice, tick) * NICE_0/w_i (Linux's clamp: a long-sleeping
 * or long-running task cannot bank unbounded credit or debt). At enqueue
 * place_entity() puts v_i so that its lag after insertion equals the saved
 * one (derivation at place_entity).
 *
 * Invariants (fair_check):
 *   1. |Σ w_i (V - v_i)| < W, with V = zero_v + floor(sum_wk / W): exact
 *      sums, the only error is the floor (bound derived at avg_vruntime);
 *   2. the O(log n) pick equals an O(n) scan (eligible, earliest deadline);
 *   3. every saved lag within ±limit_i; runnable lags within ±2*limit_i;
 *   4. the tree's order, heap and augmentation (tree.c). */
#include "internal.h"

#include "kernel/kstring.h"

/* Linux kernel/sched/core.c sched_prio_to_weight: ~10% CPU per nice step,
 * weight ratio 1.25 between neighbours, nice 0 = 1024. */
static const uint32_t prio_to_weight[40] = {
    /* -20 */ 88761, 71755, 56483, 46273, 36291,
    /* -15 */ 29154, 23254, 18705, 14949, 11916,
    /* -10 */ 9548,  7620,  6100,  4904,  3906,
    /*  -5 */ 3121,  2501,  1991,  1586,  1277,
    /*   0 */ 1024,  820,   655,   526,   423,
    /*   5 */ 335,   272,   215,   172,   137,
    /*  10 */ 110,   87,    70,    56,    45,
    /*  15 */ 36,    29,    23,    18,    15,
};

uint32_t sched_nice_to_weight(int nice)
{
    if (nice < SCHED_NICE_MIN)
        nice = SCHED_NICE_MIN;
    if (nice > SCHED_NICE_MAX)
        nice = SCHED_NICE_MAX;
    return prio_to_weight[nice - SCHED_NICE_MIN];
}

static struct sched_fair_entity *node_se(struct sched_node *n)
{
    return sched_container_of(n, struct sched_fair_entity, node);
}

static struct sched_task *se_task(struct sched_fair_entity *se)
{
    return sched_container_of(se, struct sched_task, fair);
}

/* delta * NICE_0 / w. delta <= 2^40 ns (18 min) keeps delta*1024 < 2^50. */
static uint64_t calc_delta_fair(hal_ns_t delta, uint32_t w)
{
    return (uint64_t)delta * SCHED_NICE_0_WEIGHT / w;
}

static uint64_t vslice(const struct sched *s, const struct sched_fair_entity *se)
{
    return calc_delta_fair(s->cfg.base_slice_ns, se->weight);
}

static int64_t lag_limit(const struct sched *s, const struct sched_fair_entity *se)
{
    hal_ns_t span = 2 * s->cfg.base_slice_ns;
    if (span < s->cfg.tick_ns)
        span = s->cfg.tick_ns;
    return (int64_t)calc_delta_fair(span, se->weight);
}

/* --- the weighted average V, maintained incrementally --------------------
 *
 * Keep, relative to an origin zero_v (so the products stay small),
 *     sum_w  = Σ w_i,        sum_wk = Σ w_i k_i,   k_i = v_i - zero_v.
 * Then V = zero_v + sum_wk / W. Each change is O(1):
 *   add/remove i:            sum_w ± w_i, sum_wk ± w_i k_i
 *   curr advances by dv:     sum_wk += w_curr * dv     (k_curr grows by dv)
 *   origin moves by d:       k_i -= d for all i, so sum_wk -= W * d
 * normalise() moves the origin to floor(V) after every change, which keeps
 * 0 <= sum_wk < W. All terms are exact integers; the only rounding is the
 * floor in V: with V' = zero_v + floor(sum_wk/W),
 *     Σ w_i (V' - v_i) = W floor(sum_wk/W) - sum_wk ∈ (-W, 0],
 * which is invariant 1.
 *
 * Overflow: |k_i| is bounded by the lag clamp plus the service curr gets
 * between updates: for w = 15 (nice 19), limit = max(2*slice, tick)*1024/15
 * ≈ 2.8e8 (tick 4 ms), and a tick of running adds ≈ 2.8e8, so |k_i| < 2^31
 * with margin for slices up to ~100 ms. w_i < 2^17, so |w_i k_i| < 2^48 and
 * Σ stays below 2^63 for up to 2^14 entities per CPU. Eligibility compares
 * k_i * W (< 2^31 * 2^31) against sum_wk without dividing. */

static int64_t key_of(const struct sched_fair_rq *f, const struct sched_fair_entity *se)
{
    return (int64_t)(se->vruntime - f->zero_v);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static uint64_t avg_vruntime(const struct sched_fair_rq *f)
{
    if (!f->sum_w)
        return f->zero_v;
    return f->zero_v + (uint64_t)floor_div(f->sum_wk, (int64_t)f->sum_w);
}

static void normalise(struct sched_fair_rq *f)
{
    if (!f->sum_w)
        return;
    int64_t d = floor_div(f->sum_wk, (int64_t)f->sum_w);
    f->zero_v += (uint64_t)d;
    f->sum_wk -= d * (int64_t)f->sum_w;
}

static void avg_add(struct sched_fair_rq *f, struct sched_fair_entity *se)
{
    f->sum_w += se->weight;
    f->sum_wk += (int64_t)se->weight * key_of(f, se);
}

static void avg_sub(struct sched_fair_rq *f, struct sched_fair_entity *se)
{
    f->sum_w -= se->weight;
    f->sum_wk -= (int64_t)se->weight * key_of(f, se);
}

/* v_i <= V  <=>  k_i * W <= sum_wk (exact, no division). */
static bool eligible(const struct sched_fair_rq *f, const struct sched_fair_entity *se)
{
    return key_of(f, se) * (int64_t)f->sum_w <= f->sum_wk;
}

static void tree_add(struct sched_fair_rq *f, struct sched_fair_entity *se)
{
    se->node.key = se->vruntime;
    se->node.aug = se->deadline;
    sched_tree_insert(&f->root, &se->node);
    se->in_tree = true;
}

static void tree_del(struct sched_fair_rq *f, struct sched_fair_entity *se)
{
    sched_tree_remove(&f->root, &se->node);
    se->in_tree = false;
}

/* --- the pick ------------------------------------------------------------ */

static struct sched_fair_entity *pick_eevdf(const struct sched_fair_rq *f)
{
    struct sched_node *best = NULL, *best_sub = NULL;
    for (struct sched_node *n = f->root; n;) {
        if (!eligible(f, node_se(n))) {
            n = n->left;
            continue;
        }
        if (!best || sched_before(n->aug, best->aug))
            best = n;
        if (n->left && (!best_sub || sched_before(n->left->aug_min, best_sub->aug_min)))
            best_sub = n->left;
        n = n->right;
    }
    if (best_sub && (!best || sched_before(best_sub->aug_min, best->aug))) {
        /* every node under best_sub is eligible: find its earliest deadline */
        struct sched_node *n = best_sub;
        for (;;) {
            if (n->aug == n->aug_min) {
                best = n;
                break;
            }
            n = (n->left && n->left->aug_min == n->aug_min) ? n->left : n->right;
            if (!n)
                break; /* augmentation broken: fair_check reports it */
        }
    }
    return best ? node_se(best) : NULL;
}

/* The O(n) reference: eligible with the earliest deadline. */
static struct sched_fair_entity *pick_scan(const struct sched_fair_rq *f)
{
    struct sched_fair_entity *best = NULL;
    for (struct sched_node *n = sched_tree_first(f->root); n; n = sched_tree_next(n)) {
        struct sched_fair_entity *se = node_se(n);
        if (eligible(f, se) && (!best || sched_before(se->deadline, best->deadline)))
            best = se;
    }
    return best;
}

static struct sched_task *fair_pick_next(struct sched *s, struct sched_rq *rq)
{
    struct sched_fair_entity *se = pick_eevdf(&rq->fair);
    if (sched_feat(s, SCHED_FEAT_CHECK_PICK)) {
        struct sched_fair_entity *ref = pick_scan(&rq->fair);
        if ((se == NULL) != (ref == NULL) || (se && se->deadline != ref->deadline))
            return NULL; /* core.c panics on a NULL pick with nr_running > 0 */
    }
    return se ? se_task(se) : NULL;
}

/* --- enqueue / dequeue --------------------------------------------------- */

/* Place a waking (or new, or migrating) entity with saved lag vlag.
 *
 * Inserting i at v_i moves V: V' = (W V + w_i v_i) / (W + w_i), so its lag
 * after insertion is V' - v_i = W (V - v_i) / (W + w_i). To end with
 * V' - v_i = vlag, place it at V - v_i = vlag (W + w_i) / W, i.e. inflate the
 * saved lag by (W + w_i)/W. Overflow: |vlag| <= limit < 2^31, W + w_i < 2^31
 * for the entity counts above, product < 2^62. */
static void place_entity(struct sched *s, struct sched_fair_rq *f, struct sched_task *t)
{
    struct sched_fair_entity *se = &t->fair;
    uint64_t V = avg_vruntime(f);
    int64_t lag = 0;
    if (sched_feat(s, SCHED_FEAT_PLACE_LAG) && f->sum_w && !t->is_new) {
        lag = se->vlag;
        lag = lag * (int64_t)(f->sum_w + se->weight) / (int64_t)f->sum_w;
    }
    se->vruntime = V - (uint64_t)lag;
    uint64_t vs = vslice(s, se);
    if (t->is_new && sched_feat(s, SCHED_FEAT_PLACE_DEADLINE_INITIAL))
        vs /= 2;
    se->deadline = se->vruntime + vs;
}

/* Place t and count it; curr (a throttled curr released before it was
 * switched away) stays out of the tree like any curr. */
static void enqueue_entity(struct sched *s, struct sched_rq *rq, struct sched_task *t)
{
    struct sched_fair_rq *f = &rq->fair;
    place_entity(s, f, t);
    avg_add(f, &t->fair);
    if (rq->curr != t)
        tree_add(f, &t->fair);
    f->nr_running++;
    normalise(f);
}

/* Group bandwidth, defined with its design further down. */
static bool group_throttled(const struct sched *s, const struct sched_task *t);
static void throttled_add(struct sched_fair_rq *f, struct sched_task *t);
static void throttled_del(struct sched_fair_rq *f, struct sched_task *t);
static void group_charge(struct sched *s, struct sched_rq *rq, struct sched_group *g,
                         hal_ns_t delta);

static bool fair_enqueue(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                         unsigned flags)
{
    (void)flags;
    if (group_throttled(s, t)) {
        throttled_add(&rq->fair, t); /* keeps its saved lag until the refill */
        return false;
    }
    enqueue_entity(s, rq, t);
    return true;
}

static void fair_dequeue(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                         unsigned flags)
{
    (void)flags;
    struct sched_fair_rq *f = &rq->fair;
    struct sched_fair_entity *se = &t->fair;
    if (se->throttled) {
        throttled_del(f, t); /* not counted: its lag was saved at throttling */
        return;
    }
    int64_t lag = (int64_t)(avg_vruntime(f) - se->vruntime);
    int64_t lim = lag_limit(s, se);
    se->vlag = lag > lim ? lim : lag < -lim ? -lim : lag;
    if (se->in_tree)
        tree_del(f, se);
    avg_sub(f, se);
    f->nr_running--;
    normalise(f);
}

static void fair_set_next(struct sched *s, struct sched_rq *rq, struct sched_task *t)
{
    (void)s;
    if (t->fair.in_tree)
        tree_del(&rq->fair, &t->fair);
}

static void fair_put_prev(struct sched *s, struct sched_rq *rq, struct sched_task *t)
{
    (void)s;
    if (t->on_rq && !t->fair.in_tree)
        tree_add(&rq->fair, &t->fair);
}

/* curr ran delta ns: advance v (and Σ with it); a served request gets a new
 * deadline, and another entity may now be the pick. */
static void fair_update_curr(struct sched *s, struct sched_rq *rq, struct sched_task *curr,
                             hal_ns_t delta)
{
    struct sched_fair_rq *f = &rq->fair;
    struct sched_fair_entity *se = &curr->fair;
    uint64_t dv = calc_delta_fair(delta, se->weight);
    se->vruntime += dv;
    f->sum_wk += (int64_t)(se->weight * dv);
    normalise(f);
    if (!sched_before(se->vruntime, se->deadline)) {
        se->deadline = se->vruntime + vslice(s, se);
        if (f->nr_running > 1)
            sched_resched(rq);
    }
    if (curr->group && sched_feat(s, SCHED_FEAT_GROUP_BW))
        group_charge(s, rq, curr->group, delta);
}

static void fair_task_tick(struct sched *s, struct sched_rq *rq, struct sched_task *curr)
{
    (void)s, (void)rq, (void)curr; /* slice expiry is handled in update_curr */
}

/* Would the pick now be t rather than curr? */
static bool fair_wakeup_preempt(struct sched *s, struct sched_rq *rq, struct sched_task *curr,
                                struct sched_task *t)
{
    (void)s;
    const struct sched_fair_rq *f = &rq->fair;
    if (!eligible(f, &t->fair))
        return false;
    return !eligible(f, &curr->fair) || sched_before(t->fair.deadline, curr->fair.deadline);
}

static void fair_yield(struct sched *s, struct sched_rq *rq, struct sched_task *curr)
{
    (void)rq;
    curr->fair.deadline += vslice(s, &curr->fair);
}

/* Change the weight of t keeping its lag w (V - v) and V itself (see the
 * derivation in docs/sched.md): vlag' = vlag w/w', and the relative deadline
 * scales the same way. Called by core.c (sched_set_nice) with curr updated. */
void sched_fair_reweight(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                         uint32_t w_new)
{
    struct sched_fair_rq *f = &rq->fair;
    struct sched_fair_entity *se = &t->fair;
    uint32_t w_old = se->weight;
    (void)s;
    if (!t->on_rq) {
        se->vlag = se->vlag * (int64_t)w_old / (int64_t)w_new;
        se->weight = w_new;
        return;
    }
    uint64_t V = avg_vruntime(f);
    int64_t vlag = (int64_t)(V - se->vruntime);
    int64_t rel_dl = (int64_t)(se->deadline - se->vruntime);
    bool was_in_tree = se->in_tree;
    if (was_in_tree)
        tree_del(f, se);
    avg_sub(f, se);
    se->weight = w_new;
    vlag = vlag * (int64_t)w_old / (int64_t)w_new;
    rel_dl = rel_dl * (int64_t)w_old / (int64_t)w_new;
    se->vruntime = V - (uint64_t)vlag;
    se->deadline = se->vruntime + (uint64_t)rel_dl;
    avg_add(f, se);
    if (was_in_tree)
        tree_add(f, se);
    normalise(f);
}

/* --- group bandwidth (CFS bandwidth control) -----------------------------
 *
 * A struct sched_group g holds quota Q per period P for all its fair tasks
 * on all CPUs. Runtime is charged in fair_update_curr (so exactly the time
 * sched_update_curr accounts to curr, kernel costs included):
 *
 *   charge    used += delta, runtime_left -= delta (saturating at 0);
 *   left = 0  throttle g: every on_rq task of g, on every CPU, is dequeued
 *             (lag saved as at sleep) onto its runqueue's throttled list;
 *             a throttled curr gets need_resched. O(#tasks): s->all is
 *             walked once per throttling;
 *   refill    at period_start + P: period_start advances to the period
 *             holding now, runtime_left = Q, used = 0, g unthrottled. Each
 *             CPU re-enqueues its own throttled tasks (placed with their
 *             saved lag, wake-up preemption check) from its timer hook.
 *
 * State of a task of g (on_rq; fair.throttled):
 *   QUEUED/RUNNING (1;0) --g out of quota--> QUEUED/RUNNING (0;1) on the list
 *   (0;1) --refill, timer of its CPU--> (1;0)      [fair_timer]
 *   (0;1) --block/exit--> off the list             [fair_dequeue]
 *   BLOCKED --wake-up while g throttled--> (0;1)   [fair_enqueue refuses]
 *
 * Precise times (sched_next_timer, like the DL class): with k tasks of g
 * running on CPUs j, each accounted up to exec_start_j, g runs out at
 *     T = ceil((runtime_left + Σ_j exec_start_j) / k)
 * which every one of those CPUs computes identically, so each arms its
 * timer for T and charges its own curr there (O(nr_cpus) per call); the
 * last one to charge throttles. A CPU whose curr was throttled by another
 * CPU, or that holds tasks of a group refilled by another CPU, reports
 * "now" so that its own timer switches away / re-enqueues them: the
 * scheduler cannot send IPIs from inside accounting (no hal_cpu there); a
 * remote curr's time after its last accounting is not charged to g (zero
 * when the timers fire at T as above). Overrun per period: < k ns of
 * rounding plus, without a timer layer that re-reads sched_next_timer,
 * one tick per CPU; sched_check allows one tick.
 *
 * Overflow: exec_start differences are within a period (< 2^40 ns) per
 * CPU, so the sum of up to SCHED_MAX_CPUS of them stays below 2^48. */

static bool group_throttled(const struct sched *s, const struct sched_task *t)
{
    return t->group && t->group->throttled && sched_feat(s, SCHED_FEAT_GROUP_BW);
}

static void throttled_add(struct sched_fair_rq *f, struct sched_task *t)
{
    t->fair.throttled = true;
    t->fair.tprev = NULL;
    t->fair.tnext = f->throttled;
    if (f->throttled)
        f->throttled->fair.tprev = t;
    f->throttled = t;
}

static void throttled_del(struct sched_fair_rq *f, struct sched_task *t)
{
    if (t->fair.tprev)
        t->fair.tprev->fair.tnext = t->fair.tnext;
    else
        f->throttled = t->fair.tnext;
    if (t->fair.tnext)
        t->fair.tnext->fair.tprev = t->fair.tprev;
    t->fair.tnext = t->fair.tprev = NULL;
    t->fair.throttled = false;
}

int sched_group_init(struct sched *s, struct sched_group *g, hal_ns_t quota, hal_ns_t period)
{
    if (!s || !g || quota == 0 || period == 0 || period >= ((hal_ns_t)1 << 40))
        return SCHED_EINVAL;
    bool linked = false;
    for (const struct sched_group *p = s->groups; p; p = p->next)
        linked |= p == g;
    struct sched_group *next = linked ? g->next : s->groups;
    kmemset(g, 0, sizeof *g); /* not a compound literal: that may become a libc memset */
    g->quota_ns = quota;
    g->period_ns = period;
    g->runtime_left = quota;
    g->next = next;
    if (!linked)
        s->groups = g;
    return SCHED_OK;
}

static hal_ns_t period_end(const struct sched_group *g)
{
    return g->period_start + g->period_ns;
}

/* If a new period has begun by `now`: refill and unthrottle g. */
static void group_refill(struct sched_group *g, hal_ns_t now)
{
    if (sched_before(now, period_end(g)))
        return;
    g->period_start += (now - g->period_start) / g->period_ns * g->period_ns;
    g->runtime_left = g->quota_ns;
    g->used_ns = 0;
    if (g->throttled) {
        g->throttled = false;
        g->throttled_ns += now - g->throttled_at;
    }
}

/* g ran out of quota at now: take every queued or running task of g off
 * its runqueue. */
static void group_throttle(struct sched *s, struct sched_group *g, hal_ns_t now)
{
    g->throttled = true;
    g->throttled_at = now;
    g->nr_throttled++;
    for (struct sched_task *t = s->all; t; t = t->all_next) {
        if (t->group != g || !t->on_rq)
            continue;
        struct sched_rq *rq = &s->rq[t->cpu];
        fair_dequeue(s, rq, t, 0);
        throttled_add(&rq->fair, t);
        t->on_rq = false;
        if (rq->curr == t)
            sched_resched(rq);
    }
}

/* curr of g ran delta ns ending at rq->clock. A delta that crosses a period
 * boundary (only without precise timers) is charged to the old period. */
static void group_charge(struct sched *s, struct sched_rq *rq, struct sched_group *g,
                         hal_ns_t delta)
{
    hal_ns_t now = rq->clock;
    group_refill(g, now - delta);
    g->used_ns += delta;
    g->runtime_left = delta < g->runtime_left ? g->runtime_left - delta : 0;
    if (!sched_before(now, period_end(g)))
        group_refill(g, now);
    else if (!g->runtime_left)
        group_throttle(s, g, now);
}

/* When the running tasks of g exhaust its quota (formula above). */
static hal_ns_t group_exhaustion(const struct sched *s, const struct sched_group *g,
                                 const struct sched_task *curr)
{
    int64_t sum = (int64_t)g->runtime_left;
    int64_t k = 0;
    for (unsigned i = 0; i < s->nr_cpus; i++) {
        const struct sched_task *c = s->rq[i].curr;
        if (c && c->group == g && c->on_rq && c->state == SCHED_TASK_RUNNING) {
            sum += (int64_t)(c->exec_start - curr->exec_start);
            k++;
        }
    }
    if (sum <= 0)
        return curr->exec_start;
    return curr->exec_start + (hal_ns_t)((sum + k - 1) / k);
}

/* Whether a throttled task can go back on the queue (refilled elsewhere). */
static bool released(const struct sched *s, const struct sched_task *t)
{
    return !group_throttled(s, t);
}

static hal_ns_t fair_next_timer(const struct sched *s, const struct sched_rq *rq)
{
    hal_ns_t now = rq->clock ? rq->clock : 1, next = 0;
    const struct sched_task *c = rq->curr;
    for (const struct sched_task *t = rq->fair.throttled; t; t = t->fair.tnext) {
        bool at_once = released(s, t) || (t == c && t->state == SCHED_TASK_RUNNING);
        hal_ns_t at = at_once ? now : period_end(t->group);
        if (!next || sched_before(at, next))
            next = at;
    }
    if (c && c->group && c->on_rq && c->state == SCHED_TASK_RUNNING &&
        sched_task_class(c) == SCHED_CLASS_FAIR && sched_feat(s, SCHED_FEAT_GROUP_BW)) {
        hal_ns_t out = group_exhaustion(s, c->group, c), end = period_end(c->group);
        if (sched_before(end, out))
            out = end;
        if (!next || sched_before(out, next))
            next = out;
    }
    return next;
}

/* Refill the groups of curr and of this CPU's throttled tasks whose period
 * is over, and put the released tasks back on the queue. */
static void fair_timer(struct sched *s, struct sched_rq *rq)
{
    struct sched_task *c = rq->curr;
    if (c && c->group && sched_feat(s, SCHED_FEAT_GROUP_BW))
        group_refill(c->group, rq->clock); /* curr started after the boundary */
    struct sched_task *t = rq->fair.throttled;
    while (t) {
        struct sched_task *next = t->fair.tnext;
        group_refill(t->group, rq->clock);
        if (released(s, t)) {
            throttled_del(&rq->fair, t);
            enqueue_entity(s, rq, t);
            t->on_rq = true;
            if (rq->curr != t)
                sched_check_preempt(s, rq, t);
        }
        t = next;
    }
}

int sched_group_check(const struct sched *s)
{
    for (const struct sched_group *g = s->groups; g; g = g->next) {
        hal_ns_t left = g->used_ns < g->quota_ns ? g->quota_ns - g->used_ns : 0;
        if (g->runtime_left != left || g->used_ns > g->quota_ns + s->cfg.tick_ns)
            return SCHED_CHECK_GROUP_BUDGET;
    }
    return 0;
}

/* --- invariants ---------------------------------------------------------- */

static int fair_check(const struct sched *s, const struct sched_rq *rq)
{
    const struct sched_fair_rq *f = &rq->fair;
    struct sched_task *curr = rq->curr;
    bool curr_fair = curr && curr->on_rq && sched_task_class(curr) == SCHED_CLASS_FAIR;
    uint64_t V = avg_vruntime(f);

    /* 1. Σ w_i (V - v_i) over the actual entities, and the counts */
    uint64_t sum_w = 0;
    int64_t lag_sum = 0;
    unsigned nr = 0;
    for (struct sched_node *n = sched_tree_first(f->root); n; n = sched_tree_next(n), nr++) {
        struct sched_fair_entity *se = node_se(n);
        sum_w += se->weight;
        lag_sum += (int64_t)se->weight * (int64_t)(V - se->vruntime);
        if (n->key != se->vruntime || n->aug != se->deadline || !se->in_tree)
            return SCHED_CHECK_FAIR_TREE;
    }
    if (curr_fair) {
        sum_w += curr->fair.weight;
        lag_sum += (int64_t)curr->fair.weight * (int64_t)(V - curr->fair.vruntime);
        nr++;
    }
    if (sum_w != f->sum_w || nr != f->nr_running)
        return SCHED_CHECK_STATE;
    if (lag_sum > 0 || lag_sum <= -(int64_t)(sum_w ? sum_w : 1))
        return SCHED_CHECK_FAIR_LAG_SUM;

    /* 2. the pick */
    struct sched_fair_entity *pick = pick_eevdf(f), *ref = pick_scan(f);
    if ((pick == NULL) != (ref == NULL) ||
        (pick && (!eligible(f, pick) || pick->deadline != ref->deadline)))
        return SCHED_CHECK_FAIR_PICK;

    /* 3. lags within their clamp */
    for (const struct sched_task *t = s->all; t; t = t->all_next) {
        if (sched_task_class(t) != SCHED_CLASS_FAIR || t->cpu != rq->cpu ||
            t->state == SCHED_TASK_EXITED)
            continue;
        /* a throttled group's task is off the queues and runs only until
         * the pending reschedule */
        if (group_throttled(s, t) &&
            (t->on_rq || (rq->curr == t && t->state == SCHED_TASK_RUNNING && !rq->need_resched)))
            return SCHED_CHECK_GROUP_BUDGET;
        if (t->fair.throttled && !t->group)
            return SCHED_CHECK_STATE;
        int64_t lim = lag_limit(s, &t->fair);
        int64_t lag = t->on_rq ? (int64_t)(V - t->fair.vruntime) : t->fair.vlag;
        if (t->on_rq)
            lim *= 2;
        if (lag > lim || lag < -lim)
            return SCHED_CHECK_FAIR_LAG_CLAMP;
    }

    /* 4. structure */
    if (sched_tree_check(f->root))
        return SCHED_CHECK_FAIR_TREE;
    return 0;
}

const struct sched_class sched_fair_class = {
    .name = "fair",
    .enqueue = fair_enqueue,
    .dequeue = fair_dequeue,
    .pick_next = fair_pick_next,
    .set_next = fair_set_next,
    .put_prev = fair_put_prev,
    .update_curr = fair_update_curr,
    .task_tick = fair_task_tick,
    .wakeup_preempt = fair_wakeup_preempt,
    .yield = fair_yield,
    .next_timer = fair_next_timer,
    .timer = fair_timer,
    .check = fair_check,
};
