/* Scheduler core: the entry points of sched.h, the class order, wake-up
 * placement, switching, accounting, load balancing and the cross-class
 * invariants. The classes themselves are in fair.c, rt.c, deadline.c, idle.c
 * behind struct sched_class (internal.h).
 *
 * Every entry point first validates (returns SCHED_E* with nothing changed),
 * then commits. Accounting: sched_update_curr charges curr the time since
 * it was last accounted (rq->clock = hal_now) before any class operation,
 * so classes always see an up-to-date curr.
 *
 * Load balancing without a topology (flat: every CPU is equally near; with
 * one and TOPOLOGY on, topology.c walks the domains instead, and the push
 * of a running task (active balance) is done here in sched_schedule):
 *   - wake placement (select_cpu): DL stays on its home CPU; RT goes where
 *     it would preempt the lowest priority; FAIR prefers an idle CPU (prev
 *     first), else the least loaded;
 *   - periodic, every balance_interval ticks: pull one queued fair task from
 *     the CPU with the most fair tasks if it has >= 2 more than this one;
 *   - idle pull: a CPU about to idle pulls one queued fair task.
 * A pulled task keeps its clamped lag (dequeue saves it, placement on the
 * new CPU restores it relative to that CPU's V). Cost: the busiest-CPU scan
 * is O(nr_cpus); finding a task the affinity allows is O(n) in the worst
 * case (in-order walk of the busiest CPU's tree).
 *
 * Not done (docs/sched.md): RT push/pull after wake-up, DL migration
 * (global EDF), RT throttling. Group bandwidth (quota/period) is part of the fair class. */
#include "internal.h"

#include "kernel/kstring.h"

static const struct sched_class *const classes[SCHED_NR_CLASSES] = {
    &sched_dl_class, &sched_rt_class, &sched_fair_class, &sched_idle_class};

/* ---- configuration and features ---- */

#define FEAT_NAME(name, def, why) #name,
static const char *const feat_names[SCHED_FEAT_COUNT] = {SCHED_FEATURES(FEAT_NAME)};
#undef FEAT_NAME
#define FEAT_DEFAULT(name, def, why) | ((uint32_t)(def) << SCHED_FEAT_##name)
static const uint32_t feat_defaults = 0 SCHED_FEATURES(FEAT_DEFAULT);
#undef FEAT_DEFAULT

void sched_config_default(struct sched_config *cfg)
{
    cfg->tick_ns = 4000000;          /* HZ = 250 */
    cfg->base_slice_ns = 750000;     /* EEVDF base slice, REFERENCES.md */
    cfg->rr_timeslice_ns = 100000000; /* Linux RR_TIMESLICE */
    cfg->dl_bound_permille = 950;    /* SCHED_DEADLINE 950 ms / 1 s */
    cfg->balance_interval = 4;
    cfg->numa_imbalance_pct = 125;   /* Linux sd->imbalance_pct for NUMA levels */
    cfg->features = feat_defaults;
}

const char *sched_feature_name(unsigned feat)
{
    return feat < SCHED_FEAT_COUNT ? feat_names[feat] : NULL;
}

bool sched_feature(const struct sched *s, enum sched_feature f)
{
    return s->cfg.features >> f & 1u;
}

bool sched_feat(const struct sched *s, enum sched_feature f)
{
    return s->cfg.features >> f & 1u;
}

static size_t put(char *buf, size_t n, size_t at, const char *str)
{
    for (; *str; str++, at++)
        if (at + 1 < n)
            buf[at] = *str;
    return at;
}

size_t sched_features_format(const struct sched_config *cfg, char *buf, size_t n)
{
    size_t at = 0;
    for (unsigned f = 0; f < SCHED_FEAT_COUNT; f++) {
        if (f)
            at = put(buf, n, at, " ");
        at = put(buf, n, at, feat_names[f]);
        at = put(buf, n, at, (cfg->features >> f & 1u) ? "=1" : "=0");
    }
    if (n)
        buf[at < n ? at : n - 1] = '\0';
    return at;
}

/* ---- helpers ---- */

enum sched_class_id sched_task_class(const struct sched_task *t)
{
    switch (t->policy) {
    case SCHED_POLICY_DEADLINE: return SCHED_CLASS_DL;
    case SCHED_POLICY_FIFO:
    case SCHED_POLICY_RR: return SCHED_CLASS_RT;
    default: return SCHED_CLASS_FAIR;
    }
}

const struct sched_class *sched_class_of(const struct sched_task *t)
{
    return classes[sched_task_class(t)];
}

static struct sched_rq *rq_of(struct sched *s, struct hal_cpu *c)
{
    return &s->rq[hal_cpu_id(c)];
}

/* Counted in a class queue, or waiting for a DL replenishment or a group
 * refill. */
static bool task_queued(const struct sched_task *t)
{
    return t->on_rq || (t->policy == SCHED_POLICY_DEADLINE && t->dl.throttled) ||
           (t->policy == SCHED_POLICY_NORMAL && t->fair.throttled);
}

unsigned sched_rq_load(const struct sched_rq *rq)
{
    return rq->dl.nr_running + rq->rt.nr_running + rq->fair.nr_running;
}

void sched_resched(struct sched_rq *rq)
{
    rq->need_resched = true;
}

bool sched_need_resched(const struct sched_rq *rq)
{
    return rq->need_resched;
}

struct sched_task *sched_curr(const struct sched *s, unsigned cpu)
{
    return cpu < s->nr_cpus ? s->rq[cpu].curr : NULL;
}

void sched_update_curr(struct sched *s, struct sched_rq *rq, hal_ns_t now)
{
    rq->clock = now;
    struct sched_task *curr = rq->curr;
    if (sched_util_on(s))
        sched_util_update_rq(s, rq, now);
    if (!curr || curr->state != SCHED_TASK_RUNNING)
        return;
    hal_ns_t delta = now - curr->exec_start;
    if (!delta)
        return;
    curr->exec_start = now;
    curr->stats.sum_exec_ns += delta;
    if (curr->on_rq)
        sched_class_of(curr)->update_curr(s, rq, curr, delta);
}

/* Wake-up preemption: should t (just made runnable on rq) run before curr? */
void sched_check_preempt(struct sched *s, struct sched_rq *rq, struct sched_task *t)
{
    struct sched_task *curr = rq->curr;
    if (!curr || curr->state != SCHED_TASK_RUNNING || !curr->on_rq) {
        sched_resched(rq); /* idle, or curr is leaving anyway */
        return;
    }
    if (!sched_feat(s, SCHED_FEAT_WAKEUP_PREEMPT))
        return; /* the tick catches it (tick_preempt) */
    enum sched_class_id ct = sched_task_class(t), cc = sched_task_class(curr);
    if (ct < cc || (ct == cc && classes[ct]->wakeup_preempt(s, rq, curr, t)))
        sched_resched(rq);
}

/* Class order at the tick, for WAKEUP_PREEMPT off: a higher class or RT
 * priority waiting preempts now. */
static void tick_preempt(struct sched_rq *rq)
{
    struct sched_task *curr = rq->curr;
    if (!curr || !curr->on_rq)
        return;
    enum sched_class_id cc = sched_task_class(curr);
    unsigned hp = sched_rt_highest(&rq->rt);
    if ((cc > SCHED_CLASS_DL && rq->dl.nr_running) ||
        (cc > SCHED_CLASS_RT && hp) || (cc == SCHED_CLASS_RT && hp > curr->rt_prio))
        sched_resched(rq);
}

/* ---- init and task registration ---- */

int sched_init(struct sched *s, const struct sched_config *cfg, struct sched_rq *rqs,
               unsigned nr_cpus)
{
    struct sched_config def;
    if (!cfg) {
        sched_config_default(&def);
        cfg = &def;
    }
    if (!s || !rqs || nr_cpus == 0 || nr_cpus > SCHED_MAX_CPUS || cfg->tick_ns == 0 ||
        cfg->base_slice_ns == 0 || cfg->base_slice_ns >= ((hal_ns_t)1 << 32) ||
        cfg->rr_timeslice_ns == 0 || cfg->dl_bound_permille > 1000 ||
        cfg->balance_interval == 0 || cfg->numa_imbalance_pct < 100 ||
        cfg->numa_imbalance_pct > 1000)
        return SCHED_EINVAL;
    kmemset(s, 0, sizeof *s);
    kmemset(rqs, 0, sizeof *rqs * nr_cpus);
    s->cfg = *cfg;
    s->rq = rqs;
    s->nr_cpus = nr_cpus;
    for (unsigned i = 0; i < nr_cpus; i++)
        rqs[i].cpu = i;
    return SCHED_OK;
}

static int validate(const struct sched *s, const struct sched_task *t)
{
    if (t->group && (t->policy != SCHED_POLICY_NORMAL || t->group->period_ns == 0))
        return SCHED_EINVAL;
    switch (t->policy) {
    case SCHED_POLICY_NORMAL:
        if (t->nice < SCHED_NICE_MIN || t->nice > SCHED_NICE_MAX)
            return SCHED_EINVAL;
        break;
    case SCHED_POLICY_FIFO:
    case SCHED_POLICY_RR:
        if (t->rt_prio < 1 || t->rt_prio >= SCHED_RT_PRIOS)
            return SCHED_EINVAL;
        break;
    case SCHED_POLICY_DEADLINE:
        /* 1 µs <= Q <= D <= P < 2^40 ns (keeps Q << SCHED_BW_SHIFT and the
         * CBS density products in 64 bits) */
        if (t->dl_period == 0 || t->dl_runtime < 1024 || t->dl_runtime > t->dl_deadline ||
            t->dl_deadline > t->dl_period || t->dl_period >= ((hal_ns_t)1 << 40))
            return SCHED_EINVAL;
        break;
    default:
        return SCHED_EINVAL;
    }
    bool any = false;
    for (unsigned i = 0; i < SCHED_MAX_CPUS; i++) {
        if (!sched_affinity_has(t, i))
            continue;
        if (i >= s->nr_cpus)
            return SCHED_EINVAL;
        any = true;
    }
    return any ? SCHED_OK : SCHED_EINVAL;
}

/* DL home CPU: the allowed CPU with the least admitted bandwidth that still
 * fits (worst fit spreads load); -1 if none. Without admission control, the
 * least loaded allowed CPU. */
static int dl_home(const struct sched *s, const struct sched_task *t, uint64_t bw)
{
    int best = -1;
    for (unsigned i = 0; i < s->nr_cpus; i++) {
        if (!sched_affinity_has(t, i))
            continue;
        if (sched_feat(s, SCHED_FEAT_DL_ADMISSION) && !sched_dl_fits(s, &s->rq[i], bw))
            continue;
        if (best < 0 || s->rq[i].dl.bw_admitted < s->rq[best].dl.bw_admitted)
            best = (int)i;
    }
    return best;
}

static unsigned first_allowed(const struct sched *s, const struct sched_task *t)
{
    for (unsigned i = 0; i < s->nr_cpus; i++)
        if (sched_affinity_has(t, i))
            return i;
    return 0;
}

int sched_task_add(struct sched *s, struct hal_cpu *c, struct sched_task *t)
{
    (void)c;
    int rc = validate(s, t);
    if (rc)
        return rc;
    int home = -1;
    uint64_t bw = 0;
    if (t->policy == SCHED_POLICY_DEADLINE) {
        bw = sched_dl_bw(t->dl_runtime, t->dl_period);
        home = dl_home(s, t, bw);
        if (home < 0)
            return SCHED_EADMIT;
    }
    /* commit */
    kmemset(&t->fair, 0, sizeof t->fair);
    kmemset(&t->rt, 0, sizeof t->rt);
    kmemset(&t->dl, 0, sizeof t->dl);
    kmemset(&t->stats, 0, sizeof t->stats);
    t->state = SCHED_TASK_BLOCKED;
    t->on_rq = false;
    t->is_new = true;
    t->exec_start = 0;
    t->cpu = home >= 0 ? (unsigned)home : first_allowed(s, t);
    t->fair.weight = sched_nice_to_weight(t->nice);
    t->fair.node.tie = t->dl.node.tie = t->id;
    t->fair.node.prio = t->dl.node.prio = sched_tree_prio(t->id);
    t->dl.bw = bw;
    if (home >= 0)
        s->rq[home].dl.bw_admitted += bw;
    t->all_next = s->all;
    s->all = t;
    return SCHED_OK;
}

/* ---- placement ---- */

/* How important what rq runs is: 0 idle, 1 fair, 1+p RT p, 200 DL. */
static unsigned rq_level(const struct sched_rq *rq)
{
    unsigned lvl = 0;
    const struct sched_task *curr = rq->curr;
    if (rq->dl.nr_running)
        return 200;
    if (curr && curr->state == SCHED_TASK_RUNNING) {
        enum sched_class_id cc = sched_task_class(curr);
        lvl = cc == SCHED_CLASS_DL ? 200 : cc == SCHED_CLASS_RT ? 1 + curr->rt_prio : 1;
    }
    unsigned hp = sched_rt_highest(&rq->rt);
    if (hp && 1 + hp > lvl)
        lvl = 1 + hp;
    if (!lvl && rq->fair.nr_running)
        lvl = 1;
    return lvl;
}

bool sched_rq_idle(const struct sched_rq *rq)
{
    return !rq->curr && sched_rq_load(rq) == 0;
}

static unsigned select_cpu(const struct sched *s, const struct sched_task *t, unsigned waker,
                           hal_ns_t now)
{
    unsigned prev = t->cpu, n = s->nr_cpus;
    enum sched_class_id cls = sched_task_class(t);
    if (cls == SCHED_CLASS_DL)
        return prev;
    if (!sched_affinity_has(t, prev))
        prev = first_allowed(s, t);
    if (cls == SCHED_CLASS_RT) {
        /* the allowed CPU running the lowest level, prev on ties */
        unsigned best = prev, best_lvl = rq_level(&s->rq[prev]);
        for (unsigned k = 1; k < n && best_lvl > 0; k++) {
            unsigned i = (prev + k) % n;
            unsigned lvl = rq_level(&s->rq[i]);
            if (sched_affinity_has(t, i) && lvl < best_lvl)
                best = i, best_lvl = lvl;
        }
        return best;
    }
    if (sched_topo_on(s))
        return sched_topo_select_fair(s, t, prev, waker, now);
    if (sched_rq_idle(&s->rq[prev]))
        return prev;
    unsigned best = prev, best_load = sched_rq_load(&s->rq[prev]);
    for (unsigned k = 1; k < n; k++) {
        unsigned i = (prev + k) % n;
        if (!sched_affinity_has(t, i))
            continue;
        if (sched_rq_idle(&s->rq[i]))
            return i;
        unsigned load = sched_rq_load(&s->rq[i]);
        if (load < best_load)
            best = i, best_load = load;
    }
    return best;
}

/* ---- entry points ---- */

static void enqueue(struct sched *s, struct sched_rq *rq, struct sched_task *t, unsigned flags,
                    struct hal_cpu *c)
{
    t->on_rq = sched_class_of(t)->enqueue(s, rq, t, flags);
    t->is_new = false;
    hal_cost(c, SCHED_COST_ENQUEUE);
}

static void dequeue(struct sched *s, struct sched_rq *rq, struct sched_task *t, unsigned flags,
                    struct hal_cpu *c)
{
    if (task_queued(t))
        sched_class_of(t)->dequeue(s, rq, t, flags);
    t->on_rq = false;
    hal_cost(c, SCHED_COST_DEQUEUE);
}

int sched_wakeup(struct sched *s, struct hal_cpu *c, struct sched_task *t)
{
    if (t->state != SCHED_TASK_BLOCKED)
        return SCHED_ESTATE;
    hal_ns_t now = hal_now(c);
    if (sched_util_on(s))
        sched_util_update(&t->util, now, 0); /* it slept: decay to now */
    unsigned cpu = select_cpu(s, t, hal_cpu_id(c), now);
    struct sched_rq *rq = &s->rq[cpu];
    sched_update_curr(s, rq, now);
    if (cpu != t->cpu && sched_util_on(s))
        sched_util_move(s, t, &s->rq[t->cpu], rq, now);
    if (cpu != t->cpu && !t->is_new)
        t->stats.nr_migrations++;
    t->cpu = cpu;
    t->state = SCHED_TASK_QUEUED;
    t->stats.nr_wakeups++;
    t->stats.wakeup_ns = now;
    t->stats.wakeup_pending = true;
    enqueue(s, rq, t, SCHED_ENQ_WAKEUP, c);
    hal_trace(c, SCHED_TP_WAKEUP, t->id, cpu);
    bool was = rq->need_resched;
    if (t->on_rq)
        sched_check_preempt(s, rq, t);
    if (!was && rq->need_resched && cpu != hal_cpu_id(c))
        hal_ipi_send(c, cpu, SCHED_IPI_RESCHED);
    return SCHED_OK;
}

int sched_block(struct sched *s, struct hal_cpu *c)
{
    struct sched_rq *rq = rq_of(s, c);
    struct sched_task *t = rq->curr;
    if (!t || t->state != SCHED_TASK_RUNNING)
        return SCHED_ESTATE;
    sched_update_curr(s, rq, hal_now(c));
    dequeue(s, rq, t, SCHED_DEQ_SLEEP, c);
    t->state = SCHED_TASK_BLOCKED;
    sched_resched(rq);
    return SCHED_OK;
}

int sched_exit(struct sched *s, struct hal_cpu *c, struct sched_task *t)
{
    if (t->state == SCHED_TASK_NEW || t->state == SCHED_TASK_EXITED)
        return SCHED_ESTATE;
    struct sched_rq *rq = &s->rq[t->cpu];
    if (t->state == SCHED_TASK_RUNNING && rq != rq_of(s, c))
        return SCHED_ESTATE;
    sched_update_curr(s, rq, hal_now(c));
    dequeue(s, rq, t, SCHED_DEQ_SLEEP, c);
    if (rq->curr == t)
        sched_resched(rq);
    t->state = SCHED_TASK_EXITED;
    if (sched_util_on(s))
        sched_util_move(s, t, rq, NULL, hal_now(c));
    if (t->policy == SCHED_POLICY_DEADLINE)
        rq->dl.bw_admitted -= t->dl.bw;
    /* unlink from the task list: O(n), exits are rare */
    for (struct sched_task **p = &s->all; *p; p = &(*p)->all_next) {
        if (*p == t) {
            *p = t->all_next;
            break;
        }
    }
    t->all_next = NULL;
    return SCHED_OK;
}

static struct sched_task *pick_next(struct sched *s, struct sched_rq *rq)
{
    for (unsigned i = 0; i < SCHED_NR_CLASSES; i++) {
        struct sched_task *t = classes[i]->pick_next(s, rq);
        if (t)
            return t;
    }
    return NULL;
}

void sched_migrate(struct sched *s, struct hal_cpu *c, struct sched_rq *from,
                   struct sched_rq *to, struct sched_task *t)
{
    hal_ns_t now = hal_now(c);
    sched_update_curr(s, from, now);
    dequeue(s, from, t, SCHED_DEQ_MIGRATE, c);
    if (sched_util_on(s)) {
        sched_update_curr(s, to, now);
        sched_util_move(s, t, from, to, now);
    }
    t->cpu = to->cpu;
    t->stats.nr_migrations++;
    sched_update_curr(s, to, now);
    enqueue(s, to, t, SCHED_ENQ_MIGRATE, c);
}

/* Pull one queued fair task to `to` from the CPU with the most fair tasks,
 * if it has at least `min_gap` more than `to`. Returns whether it did. */
static bool pull_fair(struct sched *s, struct hal_cpu *c, struct sched_rq *to, unsigned min_gap)
{
    struct sched_rq *busiest = NULL;
    for (unsigned i = 0; i < s->nr_cpus; i++) {
        struct sched_rq *rq = &s->rq[i];
        if (rq != to && rq->fair.root &&
            (!busiest || rq->fair.nr_running > busiest->fair.nr_running))
            busiest = rq;
    }
    if (!busiest || busiest->fair.nr_running < to->fair.nr_running + min_gap)
        return false;
    struct sched_task *t = sched_pullable(busiest, to->cpu);
    if (t)
        sched_migrate(s, c, busiest, to, t);
    return t != NULL;
}

struct sched_task *sched_pullable(const struct sched_rq *from, unsigned dst)
{
    for (struct sched_node *n = sched_tree_first(from->fair.root); n; n = sched_tree_next(n)) {
        struct sched_task *t = sched_container_of(n, struct sched_task, fair.node);
        if (sched_affinity_has(t, dst))
            return t;
    }
    return NULL;
}

void sched_push(struct sched *s, struct hal_cpu *c, struct sched_rq *from, unsigned dst)
{
    (void)s;
    if (from->push_pending)
        return;
    from->push_pending = true;
    from->push_cpu = dst;
    bool was = from->need_resched;
    sched_resched(from);
    if (!was && from->cpu != hal_cpu_id(c))
        hal_ipi_send(c, from->cpu, SCHED_IPI_RESCHED);
}

/* Active balance, on the pushing CPU after put_prev: prev (a fair task that
 * was running) moves to push_cpu if that CPU is still idle and allowed.
 * Returns whether it moved. */
static bool do_push(struct sched *s, struct hal_cpu *c, struct sched_rq *rq,
                    struct sched_task *prev)
{
    rq->push_pending = false;
    struct sched_rq *dst = &s->rq[rq->push_cpu];
    if (!prev || prev->state != SCHED_TASK_QUEUED || !prev->on_rq ||
        sched_task_class(prev) != SCHED_CLASS_FAIR || !sched_affinity_has(prev, dst->cpu) ||
        !sched_rq_idle(dst) || dst == rq)
        return false;
    sched_migrate(s, c, rq, dst, prev);
    rq->nr_pushes++;
    bool was = dst->need_resched;
    sched_check_preempt(s, dst, prev);
    if (!was && dst->need_resched && dst->cpu != hal_cpu_id(c))
        hal_ipi_send(c, dst->cpu, SCHED_IPI_RESCHED);
    return true;
}

struct sched_task *sched_schedule(struct sched *s, struct hal_cpu *c)
{
    struct sched_rq *rq = rq_of(s, c);
    hal_ns_t now = hal_now(c);
    sched_update_curr(s, rq, now);
    struct sched_task *prev = rq->curr;
    if (prev && prev->state == SCHED_TASK_RUNNING) {
        prev->state = SCHED_TASK_QUEUED;
        if (prev->on_rq)
            sched_class_of(prev)->put_prev(s, rq, prev);
    }
    bool pushed = rq->push_pending && do_push(s, c, rq, prev);
    struct sched_task *next = pick_next(s, rq);
    if (!next && rq->fair.nr_running)
        hal_panic(c, "sched: fair runqueue non-empty but no pick");
    if (!next && !pushed && sched_feat(s, SCHED_FEAT_LB_IDLE_PULL) && s->nr_cpus > 1 &&
        (sched_topo_on(s) ? sched_topo_idle_pull(s, c, rq) : pull_fair(s, c, rq, 1)))
        next = pick_next(s, rq);
    hal_cost(c, SCHED_COST_PICK);
    if (next) {
        if (next != prev && sched_util_on(s))
            sched_util_update(&next->util, now, 0); /* it waited: decay to now */
        sched_class_of(next)->set_next(s, rq, next);
        next->state = SCHED_TASK_RUNNING;
        next->exec_start = now;
    }
    rq->curr = next;
    rq->need_resched = false;
    if (prev == next)
        return next;
    rq->nr_switches++;
    hal_trace(c, SCHED_TP_SWITCH, prev ? prev->id : SCHED_ID_IDLE, next ? next->id : SCHED_ID_IDLE);
    hal_cost(c, SCHED_COST_SWITCH);
    if (!prev)
        rq->idle_ns += now - rq->idle_start;
    if (!next) {
        rq->idle_start = now;
        return NULL;
    }
    next->stats.nr_switches++;
    if (next->stats.wakeup_pending) {
        hal_ns_t lat = now - next->stats.wakeup_ns;
        next->stats.wakeup_pending = false;
        next->stats.wakeup_lat_sum_ns += lat;
        next->stats.nr_wakeup_lat++;
        if (lat > next->stats.wakeup_lat_max_ns)
            next->stats.wakeup_lat_max_ns = lat;
    }
    return next;
}

int sched_yield_cpu(struct sched *s, struct hal_cpu *c)
{
    struct sched_rq *rq = rq_of(s, c);
    struct sched_task *t = rq->curr;
    if (!t || t->state != SCHED_TASK_RUNNING)
        return SCHED_ESTATE;
    sched_update_curr(s, rq, hal_now(c));
    const struct sched_class *cl = sched_class_of(t);
    if (t->on_rq && cl->yield)
        cl->yield(s, rq, t);
    sched_resched(rq);
    return SCHED_OK;
}

int sched_set_nice(struct sched *s, struct hal_cpu *c, struct sched_task *t, int nice)
{
    if (t->policy != SCHED_POLICY_NORMAL || nice < SCHED_NICE_MIN || nice > SCHED_NICE_MAX)
        return SCHED_EINVAL;
    if (t->state == SCHED_TASK_NEW || t->state == SCHED_TASK_EXITED)
        return SCHED_ESTATE;
    struct sched_rq *rq = &s->rq[t->cpu];
    sched_update_curr(s, rq, hal_now(c));
    sched_fair_reweight(s, rq, t, sched_nice_to_weight(nice));
    t->nice = nice;
    if (rq->curr && rq->curr != t && t->on_rq)
        sched_check_preempt(s, rq, t);
    else if (rq->curr == t)
        sched_resched(rq); /* its deadline moved: re-pick */
    return SCHED_OK;
}

void sched_tick(struct sched *s, struct hal_cpu *c)
{
    struct sched_rq *rq = rq_of(s, c);
    sched_update_curr(s, rq, hal_now(c));
    rq->ticks++;
    hal_cost(c, SCHED_COST_TICK);
    struct sched_task *curr = rq->curr;
    if (curr && curr->on_rq && curr->state == SCHED_TASK_RUNNING)
        sched_class_of(curr)->task_tick(s, rq, curr);
    for (unsigned i = 0; i < SCHED_NR_CLASSES; i++)
        if (classes[i]->timer)
            classes[i]->timer(s, rq);
    tick_preempt(rq);
    if (sched_feat(s, SCHED_FEAT_LB_PERIODIC) && s->nr_cpus > 1 && sched_topo_on(s)) {
        sched_topo_balance(s, c, rq);
    } else if (sched_feat(s, SCHED_FEAT_LB_PERIODIC) && s->nr_cpus > 1 &&
        rq->ticks % s->cfg.balance_interval == 0 && pull_fair(s, c, rq, 2) && rq->fair.root)
        sched_check_preempt(s, rq, sched_container_of(sched_tree_first(rq->fair.root),
                                                      struct sched_task, fair.node));
}

hal_ns_t sched_next_timer(const struct sched *s, unsigned cpu)
{
    hal_ns_t next = 0;
    for (unsigned i = 0; i < SCHED_NR_CLASSES; i++) {
        if (!classes[i]->next_timer)
            continue;
        hal_ns_t t = classes[i]->next_timer(s, &s->rq[cpu]);
        if (t && (!next || sched_before(t, next)))
            next = t;
    }
    return next;
}

void sched_timer(struct sched *s, struct hal_cpu *c)
{
    struct sched_rq *rq = rq_of(s, c);
    sched_update_curr(s, rq, hal_now(c));
    hal_cost(c, SCHED_COST_TICK);
    for (unsigned i = 0; i < SCHED_NR_CLASSES; i++)
        if (classes[i]->timer)
            classes[i]->timer(s, rq);
}

/* ---- invariants ---- */

static int check_states(const struct sched *s)
{
    for (const struct sched_task *t = s->all; t; t = t->all_next) {
        if (t->cpu >= s->nr_cpus)
            return SCHED_CHECK_STATE;
        const struct sched_rq *rq = &s->rq[t->cpu];
        switch (t->state) {
        case SCHED_TASK_RUNNING:
            if (rq->curr != t)
                return SCHED_CHECK_STATE;
            break;
        case SCHED_TASK_QUEUED:
            if (!task_queued(t) || rq->curr == t)
                return SCHED_CHECK_STATE;
            break;
        case SCHED_TASK_BLOCKED:
            if (task_queued(t))
                return SCHED_CHECK_STATE;
            break;
        default:
            return SCHED_CHECK_STATE;
        }
    }
    return 0;
}

/* No runnable task of a higher class (or RT priority) waits while a lower
 * one runs, unless a reschedule is already pending. */
static int check_order(const struct sched_rq *rq)
{
    if (rq->need_resched)
        return 0;
    const struct sched_task *curr = rq->curr;
    bool running = curr && curr->state == SCHED_TASK_RUNNING && curr->on_rq;
    enum sched_class_id cc = running ? sched_task_class(curr) : SCHED_CLASS_IDLE;
    unsigned hp = sched_rt_highest(&rq->rt);
    if (cc > SCHED_CLASS_DL && rq->dl.nr_running)
        return SCHED_CHECK_CLASS_ORDER;
    if ((cc > SCHED_CLASS_RT && hp) || (cc == SCHED_CLASS_RT && hp > curr->rt_prio))
        return SCHED_CHECK_RT_PRIO;
    if (cc == SCHED_CLASS_IDLE && rq->fair.root)
        return SCHED_CHECK_CLASS_ORDER;
    return 0;
}

int sched_check(const struct sched *s)
{
    int rc = check_states(s);
    if (rc)
        return rc;
    for (unsigned i = 0; i < s->nr_cpus; i++) {
        const struct sched_rq *rq = &s->rq[i];
        for (unsigned k = 0; k < SCHED_NR_CLASSES; k++)
            if ((rc = classes[k]->check(s, rq)))
                return rc;
        if ((rc = check_order(rq)))
            return rc;
    }
    return sched_group_check(s);
}

const char *sched_check_name(int code)
{
    static const char *const names[] = {
        "ok", "state", "fair_tree", "fair_lag_sum", "fair_pick", "fair_lag_clamp",
        "rt_prio", "rt_bitmap", "class_order", "dl_budget", "dl_tree", "group_budget",
    };
    if (code < 0 || (unsigned)code >= sizeof names / sizeof names[0])
        return "unknown";
    return names[code];
}
