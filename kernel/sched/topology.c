/* Scheduling domains: topology-aware load balancing, wake placement and
 * energy-aware placement (EAS) on heterogeneous CPUs. core.c calls in here
 * when the platform handed a topology (sched_set_topology) and TOPOLOGY is
 * on; without one the machine is flat and nothing here runs.
 *
 * --- Domains ---------------------------------------------------------------
 *
 * The platform names, per CPU, its core, LLC (cluster), socket and NUMA node,
 * and gives the node distance matrix (SLIT: 10 local). The identities must
 * nest: SMT siblings share an LLC, an LLC lies in one socket, a socket on one
 * node. sched_topology_build stacks levels bottom-up, each a partition of the
 * machine into spans, each span split into groups (the spans of the level
 * below):
 *
 *   level   span of CPU i                         groups           imbalance_pct
 *   SMT     CPUs of i's core                      single CPUs      110
 *   LLC     CPUs sharing i's last-level cache     cores            117
 *   PKG     CPUs of i's socket                    LLCs             117
 *   NUMA d  CPUs on nodes within distance d of    the level below  numa_imbalance_pct
 *           i's node, one level per distinct d    (nodes above the (default 125)
 *           (10 = i's own node)                   first NUMA level)
 *
 * A level whose spans are no bigger than the level below's is left out (one
 * LLC per socket drops PKG; one socket per node drops NUMA 10), so a flat
 * 4-CPU machine has one level. Level k balances every balance_interval << k
 * ticks: higher levels are costlier to scan and to migrate across, so they
 * look less often (Linux: sd->balance_interval grows with the span).
 * NUMA spans need not be a partition (distances need not be transitive); the
 * groups of NUMA levels are whole nodes, which always are.
 *
 * Storage: per identity, first[id][cpu] = the lowest CPU sharing it and
 * next[id][cpu] = the next one (cpu itself at the end): "same group" is
 * first[a] == first[b], and a group's CPUs are a walk. uint8_t holds CPU
 * numbers up to SCHED_MAX_CPUS - 1.
 *
 * --- Periodic balancing (sched_topo_balance, from sched_tick) -------------
 *
 * On CPU `this`, for each level bottom-up whose interval divides the tick
 * count, if `this` is the balancing CPU of its group (its first idle CPU,
 * else its first CPU: one CPU per group balances, as in Linux
 * should_we_balance), gather per group g of this's span:
 *     nr_g    runnable tasks (all classes, running included),
 *     cap_g   Σ capacity, w_g CPUs, idle_g idle CPUs,
 * and take the busiest group b != local l by load per capacity,
 * nr_b / cap_b > nr_l / cap_l, compared as nr_b cap_l > nr_l cap_b (exact
 * integers); ties: fewer idle CPUs, then the lower group. Then, in order:
 *   1. spare capacity: l has an idle CPU and b has a task waiting (queued,
 *      not running): pull it. A waiting task on an idle CPU is always a gain.
 *   2. spread over idle cores: groups of more than one CPU (cores, LLCs,
 *      nodes) and idle_l >= idle_b + 2, b running at least two tasks: move
 *      one (a waiting one, else push a running fair task: active balance).
 *      This is what keeps two SMT siblings from both running while another
 *      core idles: l = {idle, idle}, b = {busy, busy} gives 2 >= 0 + 2; after
 *      the move 1 >= 1 + 2 fails, so it cannot ping-pong (Linux: imbalance
 *      = (idle_l - idle_b) / 2).
 *   3. load: nr_b cap_l * 100 > nr_l cap_b * imbalance_pct (b is more than
 *      pct % busier per unit of capacity) and moving one task does not turn
 *      the imbalance round: (nr_b - 1) cap_l >= (nr_l + 1) cap_b. With equal
 *      capacities this is nr_b - nr_l >= 2 (the flat rule) plus the ratio,
 *      so a NUMA level at 125 % leaves 10 vs 8 alone (1.25 is not > 1.25)
 *      where a package level at 117 % moves one.
 * Before those, with unequal capacities: 0. misfit: an idle `this` pushes to
 * itself the running fair task of a smaller CPU in the span whose
 * utilisation does not fit that CPU (below) but is smaller than this's
 * capacity. Overflow: nr < 2^16 tasks, cap < 2^19 per group, products < 2^42.
 *
 * Idle pull (sched_topo_idle_pull, a CPU about to idle): the nearest level
 * first, the CPU of the span with the most fair tasks that has one waiting.
 * Cost: O(levels * nr_cpus) per balancing CPU and tick; the push happens on
 * the source CPU at its next sched_schedule (core.c do_push), which checks
 * again that the target is still idle.
 *
 * --- Wake placement (sched_topo_select_fair) ------------------------------
 *
 * Fair tasks, after EAS (below) if it applies: an idle core (all SMT siblings
 * idle) in prev's LLC, prev first; an idle CPU there; the same in the
 * waker's LLC; then an idle core / CPU in prev's domains bottom-up (nearest
 * first); else the CPU with the least load per capacity, scanning from prev.
 * Cache-hot data is shared within the LLC, so the LLC is searched first
 * (Linux select_idle_sibling); unlike Linux the search goes on outward
 * rather than stacking on a busy prev.
 *
 * --- Utilisation (PELT-like) -----------------------------------------------
 *
 * Each task and each runqueue keeps util, a running average of the capacity
 * it used, decaying with half-life H = 2^25 ns (33.6 ms: 32 PELT periods of
 * 1.048576 ms, Linux's y^32 = 1/2). Over an interval dt at constant rate r
 * (r = capacity of the CPU while running, 0 otherwise) the exact solution of
 * du/dt = (r - u) ln2 / H is
 *     u' = r + (u - r) 2^(-dt/H),
 * computed in integers: 2^(-dt/H) = 2^-(dt >> 25) * 2^-(frac/2^25) with the
 * fractional power from a 33-entry Q30 table of 2^(-k/32) (k = frac >> 20)
 * times e^-y for the low 20 bits, y = rem ln2 / 2^25 < 0.022, by its cubic
 * Taylor polynomial (error < y^4/24 < 1e-8; a chord between table entries
 * would decay 1 % too slowly for frequent small steps). u is
 * Q20 (1024 << 20 = busy all the time on a 1024 CPU) so a 1 µs step still
 * moves it; (u - r) * f < 2^30 * 2^30 fits 64 bits. Scale-invariant: time on
 * a CPU of capacity c counts c/1024, so a task's util is the work it needs in
 * units of the biggest CPU, wherever it ran. Running only, not waiting
 * (Linux util_avg). A runqueue's util is Σ util of its attached tasks
 * (running, queued, or blocked with cpu == this), kept as one average: the
 * update is linear in u and r, and the rates of the tasks of one CPU add up
 * to the CPU's rate, so one decay of the sum equals the sum of decays (up to
 * rounding, < 1 unit of 2^-20 per update; a detach clamps at 0). A task's
 * util moves with it when it migrates or wakes elsewhere (Linux
 * attach/detach). Tracked only with an energy model (sched_util_on).
 *
 * --- Energy-aware placement (EAS) ------------------------------------------
 *
 * With an energy model (one operating point per CPU type: busy_mw at its
 * capacity, idle_mw) and unequal capacities, a CPU of type p running
 * utilisation u (<= cap) draws idle + (busy - idle) u / cap. Placing a task
 * of util u_t on a CPU where it fits adds
 *     dE = (busy_p - idle_p) * u_t / cap_p
 * (the same for every CPU of the type, as there is one operating point; no
 * DVFS). The waking task goes to the type of least dE, tried in that order:
 * prev if it is of that type and fits, else the CPU of the type with the
 * most spare capacity. "Fits" leaves a 20 % margin: (u_cpu + u_t) * 1280 <=
 * cap * 1024 (Linux fits_capacity). If nothing fits, or the system is
 * over-utilised (some CPU's util does not fit its capacity), placement is
 * the usual one, and balancing resumes; while not over-utilised, balancing
 * rests (Linux: EAS and load balancing are exclusive, by overutilized). */
#include "internal.h"

#include "kernel/kstring.h"

/* ---- building the domains ---- */

static unsigned id_value(const struct sched_cpu_topo *c, unsigned cpu, enum sched_topo_id id)
{
    switch (id) {
    case SCHED_ID_CORE: return c->core;
    case SCHED_ID_LLC: return c->llc;
    case SCHED_ID_SOCKET: return c->socket;
    case SCHED_ID_NODE: return c->node;
    default: return cpu;
    }
}

static int validate_desc(const struct sched_topology_desc *d)
{
    unsigned n = d->nr_cpus, nn = d->nr_nodes;
    if (!d->cpu || !d->distance || n == 0 || n > SCHED_MAX_CPUS || nn == 0 ||
        nn > SCHED_MAX_NODES || d->nr_pd == 0 || d->nr_pd > SCHED_MAX_PD)
        return SCHED_EINVAL;
    for (unsigned a = 0; a < nn; a++)
        for (unsigned b = 0; b < nn; b++) {
            unsigned v = d->distance[a * nn + b];
            if (v != d->distance[b * nn + a] || (a == b) != (v == SCHED_NUMA_LOCAL) ||
                v < SCHED_NUMA_LOCAL || v > 254)
                return SCHED_EINVAL;
        }
    for (unsigned i = 0; i < n; i++) {
        const struct sched_cpu_topo *c = &d->cpu[i];
        if (c->node >= nn || c->pd >= d->nr_pd || c->capacity == 0 ||
            c->capacity > SCHED_CAPACITY_SCALE)
            return SCHED_EINVAL;
        for (unsigned j = 0; j < i; j++) { /* nesting: O(n^2), at boot */
            const struct sched_cpu_topo *o = &d->cpu[j];
            if ((c->core == o->core && c->llc != o->llc) ||
                (c->llc == o->llc && c->socket != o->socket) ||
                (c->socket == o->socket && c->node != o->node))
                return SCHED_EINVAL;
        }
    }
    return SCHED_OK;
}

static bool in_span(const struct sched_topology *tp, const struct sched_domain_level *l, unsigned a,
                    unsigned b)
{
    if (l->kind == SCHED_LEVEL_NUMA)
        return tp->distance[tp->node[a]][tp->node[b]] <= l->max_distance;
    return tp->first[l->span_id][a] == tp->first[l->span_id][b];
}

static unsigned span_weight(const struct sched_topology *tp, const struct sched_domain_level *l,
                            unsigned cpu)
{
    unsigned w = 0;
    for (unsigned j = 0; j < tp->nr_cpus; j++)
        w += in_span(tp, l, cpu, j);
    return w;
}

/* Append level l if some CPU's span grows over the last level's (or over a
 * single CPU). Returns SCHED_EINVAL when the levels are full. */
static int add_level(struct sched_topology *tp, struct sched_domain_level l, uint8_t *group_id,
                     const struct sched_config *cfg)
{
    bool grows = false;
    for (unsigned i = 0; i < tp->nr_cpus && !grows; i++) {
        unsigned below = tp->nr_levels ? span_weight(tp, &tp->level[tp->nr_levels - 1], i) : 1;
        grows = span_weight(tp, &l, i) > below;
    }
    if (!grows)
        return SCHED_OK;
    if (tp->nr_levels == SCHED_TOPO_MAX_LEVELS)
        return SCHED_EINVAL;
    unsigned k = tp->nr_levels;
    l.group_id = *group_id;
    l.interval = cfg->balance_interval << (k < 10 ? k : 10);
    tp->level[tp->nr_levels++] = l;
    *group_id = l.kind == SCHED_LEVEL_NUMA ? SCHED_ID_NODE : l.span_id;
    return SCHED_OK;
}

int sched_topology_build(struct sched_topology *tp, const struct sched_topology_desc *d,
                         const struct sched_config *cfg)
{
    struct sched_config def;
    if (!cfg) {
        sched_config_default(&def);
        cfg = &def;
    }
    if (!tp || !d || validate_desc(d) || cfg->balance_interval == 0 ||
        cfg->numa_imbalance_pct < 100)
        return SCHED_EINVAL;
    kmemset(tp, 0, sizeof *tp);
    unsigned n = d->nr_cpus, nn = d->nr_nodes;
    tp->nr_cpus = n;
    tp->nr_nodes = nn;
    tp->nr_pd = d->nr_pd;
    bool asym = false;
    for (unsigned i = 0; i < n; i++) {
        tp->node[i] = (uint8_t)d->cpu[i].node;
        tp->pd[i] = (uint8_t)d->cpu[i].pd;
        tp->capacity[i] = d->cpu[i].capacity;
        asym |= d->cpu[i].capacity != d->cpu[0].capacity;
        for (unsigned id = 0; id < SCHED_NR_IDS; id++) {
            unsigned v = id_value(&d->cpu[i], i, id), f = i;
            for (unsigned j = 0; j < i; j++)
                if (id_value(&d->cpu[j], j, id) == v) {
                    f = j;
                    break;
                }
            tp->first[id][i] = (uint8_t)f;
            tp->next[id][i] = (uint8_t)i;
            for (unsigned j = i; j-- > 0;) /* link i after the last earlier CPU of its group */
                if (tp->first[id][j] == f) {
                    tp->next[id][j] = (uint8_t)i;
                    break;
                }
        }
    }
    for (unsigned a = 0; a < nn; a++)
        for (unsigned b = 0; b < nn; b++)
            tp->distance[a][b] = d->distance[a * nn + b];
    if (d->energy) {
        for (unsigned p = 0; p < d->nr_pd; p++)
            tp->energy[p] = d->energy[p];
        tp->has_energy = asym;
    }
    uint8_t group = SCHED_ID_CPU;
    int rc = add_level(tp, (struct sched_domain_level){SCHED_LEVEL_SMT, SCHED_ID_CORE, 0, 0, 110, 0},
                       &group, cfg);
    rc = rc ? rc : add_level(tp, (struct sched_domain_level){SCHED_LEVEL_LLC, SCHED_ID_LLC, 0, 0, 117, 0},
                             &group, cfg);
    rc = rc ? rc : add_level(tp, (struct sched_domain_level){SCHED_LEVEL_PKG, SCHED_ID_SOCKET, 0, 0, 117, 0},
                             &group, cfg);
    /* one NUMA level per distinct distance, nearest first */
    for (unsigned last = 0; !rc;) {
        unsigned dmin = 256;
        for (unsigned a = 0; a < nn; a++)
            for (unsigned b = 0; b < nn; b++)
                if (tp->distance[a][b] > last && tp->distance[a][b] < dmin)
                    dmin = tp->distance[a][b];
        if (dmin == 256)
            break;
        rc = add_level(tp,
                       (struct sched_domain_level){SCHED_LEVEL_NUMA, SCHED_ID_NODE, (uint8_t)dmin, 0,
                                                   (uint16_t)cfg->numa_imbalance_pct, 0},
                       &group, cfg);
        last = dmin;
    }
    return rc;
}

int sched_set_topology(struct sched *s, const struct sched_topology *tp)
{
    if (tp && tp->nr_cpus != s->nr_cpus)
        return SCHED_EINVAL;
    s->topo = tp;
    return SCHED_OK;
}

bool sched_topology_shares(const struct sched_topology *tp, unsigned level, unsigned a, unsigned b)
{
    return level < tp->nr_levels && a < tp->nr_cpus && b < tp->nr_cpus &&
           in_span(tp, &tp->level[level], a, b);
}

/* ---- utilisation ---- */

/* round(2^30 * 2^(-k/32)), k = 0..32 */
static const uint32_t decay_q30[33] = {
    1073741824, 1050733751, 1028218693, 1006186087, 984625594, 963527098, 942880699,
    922676710,  902905651,  883558244,  864625413,  846098274, 827968132, 810226483,
    792865000,  775875538,  759250125,  742980960,  727060411, 711481005, 696235434,
    681316545,  666717336,  652430958,  638450708,  624770026, 611382493, 598281827,
    585461881,  572916640,  560640218,  548626854,  536870912,
};

#define UTIL_HALF_LIFE_SHIFT 25 /* 2^25 ns = 33.55 ms */

/* 2^(-dt / 2^25 ns) in Q30 (derivation in the file comment). */
static uint64_t util_decay(hal_ns_t dt)
{
    uint64_t halves = dt >> UTIL_HALF_LIFE_SHIFT;
    if (halves >= 31)
        return 0;
    uint64_t frac = dt & ((1ull << UTIL_HALF_LIFE_SHIFT) - 1);
    unsigned k = (unsigned)(frac >> 20);
    /* 2^-(rem/2^25) = e^-y, y = rem ln2 / 2^25 < ln2/32: 1 - y + y^2/2 - y^3/6 */
    uint64_t y = ((frac & ((1ull << 20) - 1)) * 744261118ull) >> 25; /* ln2 in Q30 */
    uint64_t y2 = (y * y) >> 30, y3 = (y2 * y) >> 30;
    uint64_t e = (1ull << 30) - y + y2 / 2 - y3 / 6;
    return ((decay_q30[k] * e) >> 30) >> halves;
}

static uint64_t util_at(const struct sched_util *u, hal_ns_t now, uint64_t rate)
{
    if (!sched_before(u->stamp, now))
        return u->avg;
    uint64_t f = util_decay(now - u->stamp);
    return u->avg >= rate ? rate + (((u->avg - rate) * f) >> 30)
                          : rate - (((rate - u->avg) * f) >> 30);
}

void sched_util_update(struct sched_util *u, hal_ns_t now, uint64_t rate)
{
    u->avg = util_at(u, now, rate);
    if (sched_before(u->stamp, now))
        u->stamp = now;
}

static uint64_t cpu_rate(const struct sched *s, const struct sched_rq *rq)
{
    return rq->curr ? (uint64_t)s->topo->capacity[rq->cpu] << SCHED_UTIL_SHIFT : 0;
}

void sched_util_update_rq(const struct sched *s, struct sched_rq *rq, hal_ns_t now)
{
    uint64_t rate = cpu_rate(s, rq);
    sched_util_update(&rq->util, now, rate);
    if (rq->curr)
        sched_util_update(&rq->curr->util, now, rate);
}

void sched_util_move(struct sched *s, struct sched_task *t, struct sched_rq *from,
                     struct sched_rq *to, hal_ns_t now)
{
    if (from) {
        sched_util_update(&from->util, now, cpu_rate(s, from));
        from->util.avg -= from->util.avg < t->util.avg ? from->util.avg : t->util.avg;
    }
    if (to) {
        sched_util_update(&to->util, now, cpu_rate(s, to));
        to->util.avg += t->util.avg;
    }
}

unsigned sched_task_util(const struct sched *s, const struct sched_task *t, hal_ns_t now)
{
    uint64_t rate = 0;
    if (s->topo && t->state == SCHED_TASK_RUNNING && t->cpu < s->nr_cpus)
        rate = (uint64_t)s->topo->capacity[t->cpu] << SCHED_UTIL_SHIFT;
    return (unsigned)(util_at(&t->util, now, rate) >> SCHED_UTIL_SHIFT);
}

unsigned sched_cpu_util(const struct sched *s, unsigned cpu, hal_ns_t now)
{
    if (!s->topo || cpu >= s->nr_cpus)
        return 0;
    const struct sched_rq *rq = &s->rq[cpu];
    return (unsigned)(util_at(&rq->util, now, cpu_rate(s, rq)) >> SCHED_UTIL_SHIFT);
}

/* util fits capacity with a 20 % margin (Linux fits_capacity). */
static bool fits(unsigned util, unsigned cap)
{
    return (uint64_t)util * 1280 <= (uint64_t)cap * 1024;
}

static bool overutilized(const struct sched *s, hal_ns_t now)
{
    for (unsigned i = 0; i < s->nr_cpus; i++)
        if (!fits(sched_cpu_util(s, i, now), s->topo->capacity[i]))
            return true;
    return false;
}

static bool eas_on(const struct sched *s)
{
    return sched_util_on(s) && sched_feat(s, SCHED_FEAT_ENERGY_AWARE);
}

/* ---- wake placement ---- */

static bool core_idle(const struct sched *s, unsigned cpu)
{
    const struct sched_topology *tp = s->topo;
    for (unsigned j = tp->first[SCHED_ID_CORE][cpu];; j = tp->next[SCHED_ID_CORE][j]) {
        if (!sched_rq_idle(&s->rq[j]))
            return false;
        if (tp->next[SCHED_ID_CORE][j] == j)
            return true;
    }
}

/* An idle CPU allowed for t in l's span around `around`, scanning from
 * `around`: on a whole idle core first (when there is SMT), else any. */
static int find_idle(const struct sched *s, const struct sched_task *t,
                     const struct sched_domain_level *l, unsigned around)
{
    const struct sched_topology *tp = s->topo;
    unsigned n = s->nr_cpus;
    bool smt = tp->nr_levels && tp->level[0].kind == SCHED_LEVEL_SMT;
    for (int pass = smt ? 0 : 1; pass < 2; pass++)
        for (unsigned k = 0; k < n; k++) {
            unsigned i = (around + k) % n;
            if (!in_span(tp, l, around, i) || !sched_affinity_has(t, i) || !sched_rq_idle(&s->rq[i]))
                continue;
            if (pass == 1 || core_idle(s, i))
                return (int)i;
        }
    return -1;
}

/* EAS: the fitting CPU of least energy increase, or -1 (derivation above). */
static int eas_select(const struct sched *s, const struct sched_task *t, unsigned prev,
                      hal_ns_t now)
{
    const struct sched_topology *tp = s->topo;
    uint64_t ut = sched_task_util(s, t, now);
    int best = -1;
    uint64_t best_de = 0;
    for (unsigned p = 0; p < tp->nr_pd; p++) {
        int cand = -1;
        unsigned cand_spare = 0;
        for (unsigned k = 0; k < s->nr_cpus; k++) {
            unsigned i = (prev + k) % s->nr_cpus, cap = tp->capacity[i];
            if (tp->pd[i] != p || !sched_affinity_has(t, i))
                continue;
            unsigned u = sched_cpu_util(s, i, now);
            if (i != t->cpu)
                u += (unsigned)ut; /* t's own CPU already counts it */
            if (!fits(u, cap))
                continue;
            unsigned spare = cap - u;
            /* prev (scanned first) keeps it; else the most spare capacity */
            if (cand < 0 || ((unsigned)cand != prev && spare > cand_spare)) {
                cand = (int)i;
                cand_spare = spare;
            }
        }
        if (cand < 0)
            continue;
        const struct sched_energy_pd *e = &tp->energy[p];
        uint64_t dp = e->busy_mw > e->idle_mw ? e->busy_mw - e->idle_mw : 0;
        /* a task with no history yet costs as one unit: ties go to the
         * cheapest energy per unit of capacity */
        uint64_t de = dp * (ut ? ut : 1) * SCHED_CAPACITY_SCALE / tp->capacity[cand];
        if (best < 0 || de < best_de) {
            best = cand;
            best_de = de;
        }
    }
    return best;
}

unsigned sched_topo_select_fair(const struct sched *s, const struct sched_task *t, unsigned prev,
                                unsigned waker, hal_ns_t now)
{
    const struct sched_topology *tp = s->topo;
    if (eas_on(s) && !overutilized(s, now)) {
        int cpu = eas_select(s, t, prev, now);
        if (cpu >= 0)
            return (unsigned)cpu;
    }
    static const struct sched_domain_level llc = {SCHED_LEVEL_LLC, SCHED_ID_LLC, 0, 0, 0, 0};
    int cpu = find_idle(s, t, &llc, prev);
    if (cpu < 0 && waker < s->nr_cpus && !in_span(tp, &llc, prev, waker))
        cpu = find_idle(s, t, &llc, waker);
    for (unsigned k = 0; cpu < 0 && k < tp->nr_levels; k++)
        cpu = find_idle(s, t, &tp->level[k], prev);
    if (cpu >= 0)
        return (unsigned)cpu;
    /* least load per capacity: load_i / cap_i < load_b / cap_b */
    unsigned best = prev;
    for (unsigned k = 1; k < s->nr_cpus; k++) {
        unsigned i = (prev + k) % s->nr_cpus;
        if (sched_affinity_has(t, i) &&
            (uint64_t)sched_rq_load(&s->rq[i]) * tp->capacity[best] <
                (uint64_t)sched_rq_load(&s->rq[best]) * tp->capacity[i])
            best = i;
    }
    return best;
}

/* ---- balancing ---- */

struct lb_group {
    unsigned leader, weight, nr, idle, waiting, pushing;
    uint64_t cap;
};

static void group_stats(const struct sched *s, unsigned gid, unsigned leader, struct lb_group *g)
{
    const struct sched_topology *tp = s->topo;
    *g = (struct lb_group){.leader = leader};
    for (unsigned j = leader;; j = tp->next[gid][j]) {
        const struct sched_rq *rq = &s->rq[j];
        unsigned load = sched_rq_load(rq);
        g->weight++;
        g->nr += load;
        g->cap += tp->capacity[j];
        g->idle += sched_rq_idle(rq);
        g->waiting += rq->fair.root != NULL;
        g->pushing += rq->push_pending;
        if (tp->next[gid][j] == j)
            break;
    }
}

/* b is busier than a: load per capacity, then fewer idle CPUs. */
static bool busier(const struct lb_group *b, const struct lb_group *a)
{
    uint64_t lb = (uint64_t)b->nr * a->cap, la = (uint64_t)a->nr * b->cap;
    return lb != la ? lb > la : b->idle < a->idle;
}

/* The CPU of group g to take from: with a waiting fair task allowed on dst
 * (most fair tasks first), or, for a push, running a fair task allowed on
 * dst with nothing waiting, on the core with the most busy CPUs. */
static int source_cpu(const struct sched *s, unsigned gid, unsigned leader, unsigned dst, bool push)
{
    const struct sched_topology *tp = s->topo;
    int best = -1;
    unsigned best_key = 0;
    for (unsigned j = leader;; j = tp->next[gid][j]) {
        const struct sched_rq *rq = &s->rq[j];
        const struct sched_task *c = rq->curr;
        unsigned key = 0;
        if (!push && sched_pullable(rq, dst)) {
            key = rq->fair.nr_running;
        } else if (push && c && c->state == SCHED_TASK_RUNNING && c->on_rq && !rq->push_pending &&
                   sched_task_class(c) == SCHED_CLASS_FAIR && sched_affinity_has(c, dst)) {
            for (unsigned k = tp->first[SCHED_ID_CORE][j];; k = tp->next[SCHED_ID_CORE][k]) {
                key += !sched_rq_idle(&s->rq[k]);
                if (tp->next[SCHED_ID_CORE][k] == k)
                    break;
            }
        }
        if (key > best_key) {
            best = (int)j;
            best_key = key;
        }
        if (tp->next[gid][j] == j)
            break;
    }
    return best;
}

static bool pull_from(struct sched *s, struct hal_cpu *c, struct sched_rq *rq, unsigned src)
{
    struct sched_task *t = sched_pullable(&s->rq[src], rq->cpu);
    if (!t)
        return false;
    sched_migrate(s, c, &s->rq[src], rq, t);
    sched_check_preempt(s, rq, t);
    return true;
}

/* Rule 0 (misfit): an idle `this` takes the running fair task of a smaller
 * CPU in l's span whose util does not fit there. */
static bool misfit_push(struct sched *s, struct hal_cpu *c, struct sched_rq *rq,
                        const struct sched_domain_level *l, hal_ns_t now)
{
    const struct sched_topology *tp = s->topo;
    unsigned me = rq->cpu, mycap = tp->capacity[me];
    int best = -1;
    unsigned best_u = 0;
    if (!sched_util_on(s) || !sched_rq_idle(rq))
        return false;
    for (unsigned j = 0; j < s->nr_cpus; j++) {
        const struct sched_rq *o = &s->rq[j];
        const struct sched_task *t = o->curr;
        if (j == me || tp->capacity[j] >= mycap || !in_span(tp, l, me, j) || !t ||
            t->state != SCHED_TASK_RUNNING || !t->on_rq || o->push_pending ||
            sched_task_class(t) != SCHED_CLASS_FAIR || !sched_affinity_has(t, me))
            continue;
        unsigned u = sched_task_util(s, t, now);
        if (!fits(u, tp->capacity[j]) && u > best_u) {
            best = (int)j;
            best_u = u;
        }
    }
    if (best < 0)
        return false;
    sched_push(s, c, &s->rq[best], me);
    return true;
}

/* Rules 1-3 at level l for rq (the balancing CPU of its group). */
static bool balance_level(struct sched *s, struct hal_cpu *c, struct sched_rq *rq,
                          const struct sched_domain_level *l)
{
    const struct sched_topology *tp = s->topo;
    unsigned me = rq->cpu, gid = l->group_id;
    struct lb_group local, b = {0}, g;
    bool found = false;
    group_stats(s, gid, tp->first[gid][me], &local);
    for (unsigned j = 0; j < s->nr_cpus; j++) {
        if (tp->first[gid][j] != j || j == local.leader || !in_span(tp, l, me, j))
            continue;
        group_stats(s, gid, j, &g);
        if (g.nr && (!found || busier(&g, &b))) {
            b = g;
            found = true;
        }
    }
    if (!found)
        return false;
    int src;
    /* 1. an idle CPU here, a task waiting there */
    if (local.idle && b.waiting && (src = source_cpu(s, gid, b.leader, me, false)) >= 0)
        return pull_from(s, c, rq, (unsigned)src);
    /* 2. spread over idle cores/LLCs/nodes (unless b is already giving one
     * away: two idle cores must not both empty one busy core) */
    if (local.weight > 1 && local.idle >= b.idle + 2 && b.nr >= 2 && !b.pushing) {
        if ((src = source_cpu(s, gid, b.leader, me, false)) >= 0)
            return pull_from(s, c, rq, (unsigned)src);
        if (sched_rq_idle(rq) && (src = source_cpu(s, gid, b.leader, me, true)) >= 0) {
            sched_push(s, c, &s->rq[src], me);
            return true;
        }
        return false;
    }
    /* 3. load per capacity beyond imbalance_pct, and the move helps */
    if ((uint64_t)b.nr * local.cap * 100 > (uint64_t)local.nr * b.cap * l->imbalance_pct &&
        (uint64_t)(b.nr - 1) * local.cap >= (uint64_t)(local.nr + 1) * b.cap &&
        (src = source_cpu(s, gid, b.leader, me, false)) >= 0)
        return pull_from(s, c, rq, (unsigned)src);
    return false;
}

/* The CPU of me's group at level l that balances it: the first idle one,
 * else the first. */
static unsigned balance_cpu(const struct sched *s, const struct sched_domain_level *l, unsigned me)
{
    const struct sched_topology *tp = s->topo;
    unsigned gid = l->group_id;
    for (unsigned j = tp->first[gid][me];; j = tp->next[gid][j]) {
        if (sched_rq_idle(&s->rq[j]))
            return j;
        if (tp->next[gid][j] == j)
            return tp->first[gid][me];
    }
}

void sched_topo_balance(struct sched *s, struct hal_cpu *c, struct sched_rq *rq)
{
    const struct sched_topology *tp = s->topo;
    hal_ns_t now = rq->clock;
    bool rest = eas_on(s) && !overutilized(s, now);
    for (unsigned k = 0; k < tp->nr_levels; k++) {
        const struct sched_domain_level *l = &tp->level[k];
        if (rq->ticks % l->interval || balance_cpu(s, l, rq->cpu) != rq->cpu)
            continue;
        if (misfit_push(s, c, rq, l, now))
            return;
        if (!rest)
            balance_level(s, c, rq, l);
    }
}

bool sched_topo_idle_pull(struct sched *s, struct hal_cpu *c, struct sched_rq *rq)
{
    const struct sched_topology *tp = s->topo;
    unsigned me = rq->cpu, n = s->nr_cpus;
    if (eas_on(s) && !overutilized(s, rq->clock))
        return false;
    for (unsigned k = 0; k < tp->nr_levels; k++) {
        int best = -1;
        for (unsigned d = 1; d < n; d++) {
            unsigned j = (me + d) % n;
            const struct sched_rq *o = &s->rq[j];
            if (!in_span(tp, &tp->level[k], me, j) || !sched_pullable(o, me))
                continue;
            if (best < 0 || o->fair.nr_running > s->rq[best].fair.nr_running)
                best = (int)j;
        }
        if (best >= 0) {
            sched_migrate(s, c, &s->rq[best], rq, sched_pullable(&s->rq[best], me));
            return true;
        }
    }
    return false;
}
