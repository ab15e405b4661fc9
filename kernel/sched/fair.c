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

static bool fair_enqueue(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                         unsigned flags)
{
    (void)flags;
    struct sched_fair_rq *f = &rq->fair;
    place_entity(s, f, t);
    avg_add(f, &t->fair);
    tree_add(f, &t->fair);
    f->nr_running++;
    normalise(f);
    return true;
}

static void fair_dequeue(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                         unsigned flags)
{
    (void)flags;
    struct sched_fair_rq *f = &rq->fair;
    struct sched_fair_entity *se = &t->fair;
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
    .next_timer = NULL,
    .timer = NULL,
    .check = fair_check,
};
