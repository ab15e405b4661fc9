/* Exploration (include/orrery/explore.h): the `explore:` section, drawing
 * fault schedules from per-(seed, component, fault) streams, applying them
 * as scheduled faults, shrinking them, and judging a seed's run.
 *
 * Invariants:
 *   1. A rule's draws come only from the stream seeded with (seed,
 *      "PATH#FAULT") for each component it matches; no other stream is
 *      read or advanced, and a (component, fault) pair belongs to at most
 *      one rule, so two rules never share a stream.
 *   2. A schedule is kept sorted by (at, rule, component); applying it
 *      adds each firing's fault, and its recovery `duration` later, in
 *      time order (firings before recoveries at one instant, each group in
 *      schedule order), exactly the order orr_explore_yaml prints them.
 *   3. orr_explore_drawable(x, s, orr_explore_draw(x, s, seed)) holds for
 *      every seed, and for every shrink candidate. */
#define _POSIX_C_SOURCE 200809L
#include "orrery/explore.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "orrery/units.h"

#define PPM 1000000u

struct orr_explore_rule {
    char *glob;
    const struct orr_fault_desc *fd;   /* of the first matched component's type */
    const struct orr_fault_explore *fx;
    const struct orr_component_type *type;
    unsigned fault, recover;           /* indexes into type->faults; recover valid if fx->recover */
    uint32_t *aComp;
    size_t nComp;
    bool chance;                       /* probability per period, else a rate */
    orr_time_t mean_interval, period;
    uint32_t ppm;
    unsigned max;
    orr_time_t dlo, dhi;
    size_t nDraw;
    uint64_t lo[ORR_EXPLORE_MAX_DRAWS], hi[ORR_EXPLORE_MAX_DRAWS];
    bool narrowed[ORR_EXPLORE_MAX_DRAWS]; /* PORT: the rule gave a range */
    struct orr_mark mark;
    char keypath[48];
};

const struct orr_param orr_explore_props_params[] = {
    {"budgets", ORR_P_BOOL, "true", 0, "the scenario's `budgets:` must hold"},
    {"failure", ORR_P_BOOL, "true", 0,
     "no model failure (every invariant checker, workload data checks, watchdogs)"},
    {"deadlock", ORR_P_BOOL, "true", 0,
     "every workload finished by the end of the run (no deadlock, no stall)"},
    {"livelock", ORR_P_UINT, "1000000", 0,
     "this many events at one simulated instant count as a livelock; 0 = off"},
    {"wall_timeout", ORR_P_TIME, "0s", 0, "wall-clock time allowed per seed; 0 = unlimited"},
    {"metrics", ORR_P_MAP, "{}", 0,
     "extra bounds checked only by explore: METRIC: \"<= BOUND\" (the budgets syntax)"},
    {NULL},
};

const struct orr_param orr_explore_rule_params[] = {
    {"component", ORR_P_STRING, NULL, ORR_PF_NONEMPTY,
     "component path or glob (`fabric.*`, `node?.rnic`)"},
    {"fault", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "a fault the components declare as explorable"},
    {"mean_interval", ORR_P_TIME, "0s", 0,
     "a rate: mean simulated time between firings (exponential gaps)"},
    {"probability", ORR_P_STRING, "", 0,
     "or a chance in (0, 1] of firing at each opportunity (every `period`)"},
    {"period", ORR_P_TIME, "0s", 0, "the opportunities of `probability`: one per period"},
    {"max", ORR_P_UINT, "4", 0, "firings per component and seed at most", NULL, 1,
     ORR_EXPLORE_MAX_FIRINGS},
    {"duration", ORR_P_STRING, "", 0,
     "\"LO..HI\": how long a recoverable fault lasts (default: the fault's bounds)"},
    {"params", ORR_P_MAP, "{}", 0,
     "KEY: \"LO..HI\" narrowing a drawn parameter (default: the fault's bounds)"},
    {NULL},
};

const struct orr_param orr_explore_params[] = {
    {"horizon", ORR_P_TIME, "0s", 0,
     "firings are drawn in [0, horizon); default: stop.duration"},
    {"faults", ORR_P_SEQ, "[]", 0, "rules: {component: GLOB, fault: F, mean_interval | probability "
                                   "+ period, max, duration, params}"},
    {"properties", ORR_P_GROUP, "{}", 0, "what makes a seed fail (see explore.properties.*)",
     NULL, 0, 0, orr_explore_props_params},
    {NULL},
};

static const struct orr_param no_params[] = {{NULL}};

static const struct orr_param *fault_schema(const struct orr_fault_desc *fd)
{
    return fd->params ? fd->params : no_params;
}

static const struct orr_param *schema_key(const struct orr_param *schema, const char *name)
{
    for (const struct orr_param *p = schema; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static bool unit_kind(enum orr_ptype t, enum orr_unit_kind *k)
{
    switch (t) {
    case ORR_P_TIME: *k = ORR_UNIT_TIME; return true;
    case ORR_P_CYCLES: *k = ORR_UNIT_CYCLES; return true;
    case ORR_P_FREQ: *k = ORR_UNIT_FREQ; return true;
    case ORR_P_SIZE: *k = ORR_UNIT_SIZE; return true;
    case ORR_P_BW: *k = ORR_UNIT_BW; return true;
    default: return false;
    }
}

/* A chance "0.25" in parts per million, in [0, PPM]; false if not one. */
static bool parse_ppm(const char *text, uint64_t *out)
{
    char *end;
    double p = strtod(text, &end);
    if (end == text || *end || !(p >= 0.0 && p <= 1.0))
        return false;
    *out = (uint64_t)(p * PPM + 0.5);
    return true;
}

/* One value of a drawn parameter, by its kind and type. */
static bool parse_one(const struct orr_fault_draw *fdr, const struct orr_param *prm,
                      const char *text, uint64_t *out)
{
    enum orr_unit_kind k;
    if (fdr->kind == ORR_FD_CHANCE)
        return parse_ppm(text, out);
    if (prm && unit_kind(prm->type, &k))
        return orr_unit_parse(k, text, out, NULL) == 0;
    char *end;
    if (!*text || *text == '-')
        return false;
    unsigned long long v = strtoull(text, &end, 10);
    *out = v;
    return !*end;
}

/* "LO..HI" or "X" (both ends X). */
static bool parse_range(const char *text, bool (*one)(const void *, const char *, uint64_t *),
                        const void *arg, uint64_t *lo, uint64_t *hi)
{
    const char *dots = strstr(text, "..");
    if (!dots)
        return one(arg, text, lo) && one(arg, text, hi) && *lo <= *hi;
    char *a = strndup(text, (size_t)(dots - text));
    if (!a)
        orr_oom();
    bool ok = one(arg, a, lo) && one(arg, dots + 2, hi) && *lo <= *hi;
    free(a);
    return ok;
}

struct draw_arg {
    const struct orr_fault_draw *fdr;
    const struct orr_param *prm;
};
static bool one_draw(const void *arg, const char *text, uint64_t *out)
{
    const struct draw_arg *a = arg;
    return parse_one(a->fdr, a->prm, text, out);
}
static bool one_time(const void *arg, const char *text, uint64_t *out)
{
    (void)arg;
    return orr_unit_parse(ORR_UNIT_TIME, text, out, NULL) == 0;
}

static unsigned fault_index(const struct orr_component_type *t, const char *name)
{
    for (unsigned i = 0; t->faults && t->faults[i].name; i++)
        if (strcmp(t->faults[i].name, name) == 0)
            return i;
    return UINT32_MAX;
}

/* The port range of a PORT draw for component c. */
static void draw_bounds(const struct orr_explore_rule *r, const struct orr_component *c, size_t i,
                        uint64_t *lo, uint64_t *hi)
{
    if (r->fx->draws[i].kind == ORR_FD_PORT && !r->narrowed[i]) {
        *lo = 0;
        *hi = c->nPort ? c->nPort - 1 : 0;
        return;
    }
    *lo = r->lo[i];
    *hi = r->hi[i];
}

/* Typed params of fault `fault` of r's type with values vals (in r's draw
 * order); recovery: the recover fault with the same values where its schema
 * has the key, recover_zero set to "0". */
static int make_params(const struct orr_explore_rule *r, bool recovery, const uint64_t *vals,
                       struct orr_params *p)
{
    const struct orr_fault_desc *fd = &r->type->faults[recovery ? r->recover : r->fault];
    int rc = orr_params_defaults(p, fault_schema(fd), &r->mark);
    for (size_t i = 0; rc == 0 && i < r->nDraw; i++) {
        const struct orr_fault_draw *fdr = &r->fx->draws[i];
        if (!orr_param_has(p, fdr->param))
            continue;
        if (recovery && r->fx->recover_zero && strcmp(fdr->param, r->fx->recover_zero) == 0)
            continue;
        if (fdr->kind == ORR_FD_CHANCE) {
            char buf[32];
            snprintf(buf, sizeof buf, "%u.%06u", (unsigned)(vals[i] / PPM),
                     (unsigned)(vals[i] % PPM));
            rc = orr_param_set_str(p, fdr->param, buf);
        } else {
            orr_param_set_u64(p, fdr->param, vals[i]);
        }
    }
    if (rc == 0 && recovery && r->fx->recover_zero && orr_param_has(p, r->fx->recover_zero))
        rc = orr_param_set_str(p, r->fx->recover_zero, "0");
    return rc;
}

/* ------------------------------------------------------------------ parsing */

static int parse_draw_ranges(struct orr_explore_rule *r, const struct orr_node *params,
                             struct orr_diag *d)
{
    int rc = 0;
    r->nDraw = 0;
    for (const struct orr_fault_draw *fdr = r->fx->draws; fdr && fdr->param; fdr++) {
        size_t i = r->nDraw++;
        r->lo[i] = fdr->lo;
        r->hi[i] = fdr->hi;
    }
    for (size_t k = 0; params && k < params->n; k++) {
        const struct orr_node *v = params->aItem[k];
        char kp[96];
        snprintf(kp, sizeof kp, "%s.params.%s", r->keypath, params->aKey[k]);
        size_t i = 0;
        while (i < r->nDraw && strcmp(r->fx->draws[i].param, params->aKey[k]))
            i++;
        if (i == r->nDraw) {
            char names[160] = "";
            size_t len = 0;
            for (size_t j = 0; j < r->nDraw && len < sizeof names - 1; j++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", j ? ", " : "",
                                        r->fx->draws[j].param);
            orr_diag_error(d, &params->aKeyMark[k], kp,
                           "fault '%s' draws no parameter '%s' (drawn: %s)", r->fd->name,
                           params->aKey[k], len ? names : "none");
            rc = ORR_ESCHEMA;
            continue;
        }
        const struct orr_fault_draw *fdr = &r->fx->draws[i];
        struct draw_arg a = {fdr, schema_key(fault_schema(r->fd), fdr->param)};
        uint64_t lo, hi;
        bool ok = v->kind == ORR_NODE_SCALAR && parse_range(v->scalar, one_draw, &a, &lo, &hi);
        bool bounded = fdr->kind == ORR_FD_PORT || (lo >= fdr->lo && hi <= fdr->hi);
        if (!ok || !bounded) {
            char blo[40], bhi[40];
            enum orr_unit_kind uk;
            if (fdr->kind == ORR_FD_CHANCE) {
                snprintf(blo, sizeof blo, "%g", (double)fdr->lo / PPM);
                snprintf(bhi, sizeof bhi, "%g", (double)fdr->hi / PPM);
            } else if (a.prm && unit_kind(a.prm->type, &uk)) {
                orr_unit_format(uk, fdr->lo, blo, sizeof blo);
                orr_unit_format(uk, fdr->hi, bhi, sizeof bhi);
            } else {
                snprintf(blo, sizeof blo, "%" PRIu64, fdr->lo);
                snprintf(bhi, sizeof bhi, "%" PRIu64, fdr->hi);
            }
            if (fdr->kind == ORR_FD_PORT)
                orr_diag_error(d, &v->mark, kp, "expected a port range \"LO..HI\"");
            else
                orr_diag_error(d, &v->mark, kp,
                               "expected \"LO..HI\" (or one value) within the fault's bounds "
                               "%s..%s", blo, bhi);
            rc = ORR_ESCHEMA;
            continue;
        }
        r->lo[i] = lo;
        r->hi[i] = hi;
        r->narrowed[i] = true;
    }
    return rc;
}

/* The rate (or chance per period) within the fault's declared bound. */
static int parse_rate(struct orr_explore_rule *r, const struct orr_params *p, struct orr_diag *d)
{
    const char *prob = orr_param_str(p, "probability");
    bool has_rate = orr_param_given(p, "mean_interval"), has_prob = *prob;
    if (has_rate == has_prob) {
        orr_diag_error(d, &p->mark, r->keypath,
                       "give either mean_interval (a rate) or probability with period");
        return ORR_ESCHEMA;
    }
    char bound[40];
    orr_unit_format(ORR_UNIT_TIME, r->fx->min_interval, bound, sizeof bound);
    if (has_rate) {
        r->mean_interval = orr_param_u64(p, "mean_interval");
        if (r->mean_interval < r->fx->min_interval || r->mean_interval == 0) {
            orr_diag_error(d, orr_param_mark(p, "mean_interval"), r->keypath,
                           "rate out of bounds: fault '%s' allows a mean_interval of at least %s",
                           r->fd->name, bound);
            return ORR_ESCHEMA;
        }
        return 0;
    }
    uint64_t ppm;
    r->chance = true;
    r->period = orr_param_u64(p, "period");
    if (!parse_ppm(prob, &ppm) || ppm == 0) {
        orr_diag_error(d, orr_param_mark(p, "probability"), r->keypath,
                       "expected a probability in (0, 1]");
        return ORR_ESCHEMA;
    }
    r->ppm = (uint32_t)ppm;
    if (r->period == 0) {
        orr_diag_error(d, &p->mark, r->keypath, "probability needs a period (the opportunities)");
        return ORR_ESCHEMA;
    }
    /* mean time between firings, period / probability, no shorter than the bound */
    if ((unsigned __int128)r->period * PPM < (unsigned __int128)r->fx->min_interval * r->ppm) {
        orr_diag_error(d, orr_param_mark(p, "probability"), r->keypath,
                       "rate out of bounds: probability / period exceeds fault '%s''s limit of "
                       "one firing per %s",
                       r->fd->name, bound);
        return ORR_ESCHEMA;
    }
    return 0;
}

static int parse_duration(struct orr_explore_rule *r, const struct orr_params *p,
                          struct orr_diag *d)
{
    const char *text = orr_param_str(p, "duration");
    if (!r->fx->recover) {
        if (*text) {
            orr_diag_error(d, orr_param_mark(p, "duration"), r->keypath,
                           "fault '%s' is permanent: it has no duration", r->fd->name);
            return ORR_ESCHEMA;
        }
        return 0;
    }
    r->dlo = r->fx->min_duration;
    r->dhi = r->fx->max_duration;
    if (!*text)
        return 0;
    uint64_t lo, hi;
    if (!parse_range(text, one_time, NULL, &lo, &hi) || lo < r->fx->min_duration ||
        hi > r->fx->max_duration) {
        char blo[40], bhi[40];
        orr_unit_format(ORR_UNIT_TIME, r->fx->min_duration, blo, sizeof blo);
        orr_unit_format(ORR_UNIT_TIME, r->fx->max_duration, bhi, sizeof bhi);
        orr_diag_error(d, orr_param_mark(p, "duration"), r->keypath,
                       "expected \"LO..HI\" times within the fault's bounds %s..%s", blo, bhi);
        return ORR_ESCHEMA;
    }
    r->dlo = lo;
    r->dhi = hi;
    return 0;
}

/* Each matched component must accept the extreme values (a qpn beyond the
 * instance's queue pairs is bad input now, not a surprise mid-run). */
static int check_extremes(struct orr_explore_rule *r, struct orr_sim *s, struct orr_diag *d)
{
    for (size_t k = 0; k < r->nComp; k++) {
        struct orr_component *c = orr_sim_component(s, r->aComp[k]);
        for (int end = 0; end < 2; end++) {
            uint64_t vals[ORR_EXPLORE_MAX_DRAWS];
            for (size_t i = 0; i < r->nDraw; i++) {
                uint64_t lo, hi;
                draw_bounds(r, c, i, &lo, &hi);
                vals[i] = end ? hi : lo;
                if (r->fx->draws[i].kind == ORR_FD_PORT && r->narrowed[i] && hi >= c->nPort) {
                    orr_diag_error(d, &r->mark, r->keypath,
                                   "port range ends at %" PRIu64 " but '%s' has ports 0..%zu", hi,
                                   c->path, c->nPort ? c->nPort - 1 : 0);
                    return ORR_ESCHEMA;
                }
            }
            struct orr_params p;
            if (make_params(r, false, vals, &p))
                return ORR_ENOMEM;
            int rc = orr_params_check(&p, r->keypath, d);
            if (rc == 0 && c->type->fault_check)
                rc = c->type->fault_check(c, r->fault, &p, &r->mark, d);
            orr_params_free(&p);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int match_components(struct orr_explore_rule *r, const struct orr_params *p,
                            const char *fault, struct orr_sim *s, struct orr_diag *d)
{
    size_t n = orr_sim_component_count(s);
    r->aComp = calloc(n + 1, sizeof *r->aComp);
    if (!r->aComp)
        orr_oom();
    const struct orr_mark *cm = orr_param_mark(p, "component");
    for (uint32_t i = 0; i < n; i++) {
        const struct orr_component *c = orr_sim_component(s, i);
        if (fnmatch(r->glob, c->path, 0) != 0)
            continue;
        unsigned f = fault_index(c->type, fault);
        if (f == UINT32_MAX) {
            char names[256] = "";
            size_t len = 0;
            for (unsigned j = 0; c->type->faults && c->type->faults[j].name && len < sizeof names - 1;
                 j++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", j ? ", " : "",
                                        c->type->faults[j].name);
            orr_diag_error(d, orr_param_mark(p, "fault"), r->keypath,
                           "component '%s' (%s) has no fault '%s' (faults: %s)", c->path,
                           c->type->name, fault, len ? names : "none");
            return ORR_ESCHEMA;
        }
        if (r->type && r->type != c->type) {
            orr_diag_error(d, cm, r->keypath,
                           "'%s' matches components of two types (%s, %s): one rule per type",
                           r->glob, r->type->name, c->type->name);
            return ORR_ESCHEMA;
        }
        r->type = c->type;
        r->fault = f;
        r->aComp[r->nComp++] = i;
    }
    if (!r->nComp) {
        orr_diag_error(d, cm, r->keypath, "no component matches '%s'", r->glob);
        return ORR_ESCHEMA;
    }
    r->fd = &r->type->faults[r->fault];
    r->fx = r->fd->explore;
    if (!r->fx) {
        orr_diag_error(d, orr_param_mark(p, "fault"), r->keypath,
                       "fault '%s' of %s is not explorable (it declares no explore bounds)",
                       fault, r->type->name);
        return ORR_ESCHEMA;
    }
    if (r->fx->recover)
        r->recover = fault_index(r->type, r->fx->recover);
    return 0;
}

static int parse_rule(struct orr_explore_rule *r, const struct orr_node *node, size_t idx,
                      struct orr_sim *s, struct orr_diag *d)
{
    snprintf(r->keypath, sizeof r->keypath, "explore.faults.%zu", idx);
    r->mark = node->mark;
    if (node->kind != ORR_NODE_MAP) {
        orr_diag_error(d, &node->mark, r->keypath, "expected a mapping {component, fault, ...}");
        return ORR_ESCHEMA;
    }
    struct orr_params p = {0};
    int rc = orr_params_parse(orr_explore_rule_params, node, r->keypath, NULL, &p, d);
    if (rc == 0) {
        r->glob = strdup(orr_param_str(&p, "component"));
        if (!r->glob)
            orr_oom();
        r->max = (unsigned)orr_param_u64(&p, "max");
        rc = match_components(r, &p, orr_param_str(&p, "fault"), s, d);
    }
    if (rc == 0)
        rc = parse_rate(r, &p, d);
    if (rc == 0)
        rc = parse_duration(r, &p, d);
    if (rc == 0) {
        const struct orr_node *params = orr_param_map(&p, "params");
        if (params && params->kind != ORR_NODE_MAP) {
            orr_diag_error(d, &params->mark, r->keypath, "params: expected a mapping");
            rc = ORR_ESCHEMA;
        } else {
            rc = parse_draw_ranges(r, params, d);
        }
    }
    if (rc == 0)
        rc = check_extremes(r, s, d);
    orr_params_free(&p);
    return rc;
}

/* A (component, fault) pair in two rules would share one stream. */
static int check_overlap(const struct orr_explore *x, struct orr_diag *d)
{
    for (size_t a = 0; a < x->nRule; a++)
        for (size_t b = 0; b < a; b++) {
            const struct orr_explore_rule *ra = &x->aRule[a], *rb = &x->aRule[b];
            if (ra->type != rb->type || ra->fault != rb->fault)
                continue;
            for (size_t i = 0; i < ra->nComp; i++)
                for (size_t j = 0; j < rb->nComp; j++)
                    if (ra->aComp[i] == rb->aComp[j]) {
                        orr_diag_error(d, &ra->mark, ra->keypath,
                                       "fault '%s' of component %" PRIu32 " is already drawn by "
                                       "%s: one rule per component and fault",
                                       ra->fd->name, ra->aComp[i], rb->keypath);
                        return ORR_ESCHEMA;
                    }
        }
    return 0;
}

int orr_explore_parse(struct orr_explore **out, const struct orr_node *node, struct orr_sim *s,
                      orr_time_t default_horizon, struct orr_diag *d)
{
    *out = NULL;
    struct orr_explore *x = calloc(1, sizeof *x);
    if (!x)
        orr_oom();
    x->mark = node->mark;
    struct orr_params p = {0};
    int rc = orr_params_parse(orr_explore_params, node, "explore", NULL, &p, d);
    if (rc) {
        free(x);
        return rc;
    }
    x->horizon = orr_param_given(&p, "horizon") ? orr_param_u64(&p, "horizon") : default_horizon;
    if (x->horizon == 0) {
        orr_diag_error(d, orr_param_given(&p, "horizon") ? orr_param_mark(&p, "horizon") : &node->mark,
                       "explore.horizon",
                       "explore needs a horizon > 0 (the scenario has no stop.duration)");
        rc = ORR_ESCHEMA;
    }
    const struct orr_params *pp = orr_param_group(&p, "properties");
    x->props.budgets = orr_param_bool(pp, "budgets");
    x->props.failure = orr_param_bool(pp, "failure");
    x->props.deadlock = orr_param_bool(pp, "deadlock");
    x->props.livelock = orr_param_u64(pp, "livelock");
    x->props.wall_timeout = orr_param_u64(pp, "wall_timeout");
    int rm = orr_budgets_parse_at(orr_param_map(pp, "metrics"), "explore.properties.metrics",
                                  &x->props.aMetric, &x->props.nMetric, d);
    /* the metrics' names are checked against the model like a budget's */
    if (rm == 0)
        rm = orr_budgets_check_names(x->props.aMetric, x->props.nMetric, s, d);
    if (rm)
        rc = ORR_ESCHEMA;
    const struct orr_node *rules = orr_param_map(&p, "faults");
    if (rules && rules->kind != ORR_NODE_SEQ) {
        orr_diag_error(d, &rules->mark, "explore.faults", "expected a list of mappings");
        rc = ORR_ESCHEMA;
    } else if (rules) {
        x->aRule = calloc(rules->n + 1, sizeof *x->aRule);
        if (!x->aRule)
            orr_oom();
        for (size_t i = 0; i < rules->n; i++) {
            int r = parse_rule(&x->aRule[x->nRule++], rules->aItem[i], i, s, d);
            if (r && !rc)
                rc = r;
        }
        if (rc == 0)
            rc = check_overlap(x, d);
    }
    orr_params_free(&p);
    if (rc) {
        orr_explore_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

void orr_explore_free(struct orr_explore *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nRule; i++) {
        free(x->aRule[i].glob);
        free(x->aRule[i].aComp);
    }
    free(x->aRule);
    orr_budgets_free(x->props.aMetric, x->props.nMetric);
    free(x);
}

/* ------------------------------------------------------------------ drawing */

static int firing_cmp(const void *pa, const void *pb)
{
    const struct orr_firing *a = pa, *b = pb;
    if (a->at != b->at)
        return a->at < b->at ? -1 : 1;
    if (a->rule != b->rule)
        return a->rule < b->rule ? -1 : 1;
    if (a->comp != b->comp)
        return a->comp < b->comp ? -1 : 1;
    return 0;
}

static void push(struct orr_schedule *sch, size_t *cap, const struct orr_firing *f)
{
    if (sch->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        sch->a = realloc(sch->a, *cap * sizeof *sch->a);
        if (!sch->a)
            orr_oom();
    }
    sch->a[sch->n++] = *f;
}

static void draw_details(const struct orr_explore_rule *r, const struct orr_component *c,
                         struct orr_rng *rng, struct orr_firing *f)
{
    if (r->fx->recover)
        f->duration = orr_rng_range(rng, r->dlo, r->dhi);
    for (size_t i = 0; i < r->nDraw; i++) {
        uint64_t lo, hi;
        draw_bounds(r, c, i, &lo, &hi);
        f->val[i] = orr_rng_range(rng, lo, hi);
    }
}

void orr_explore_draw(const struct orr_explore *x, const struct orr_sim *s, uint64_t seed,
                      struct orr_schedule *out)
{
    size_t cap = 0;
    struct orr_rng rng;
    memset(out, 0, sizeof *out);
    for (uint32_t ri = 0; ri < x->nRule; ri++) {
        const struct orr_explore_rule *r = &x->aRule[ri];
        for (size_t k = 0; k < r->nComp; k++) {
            const struct orr_component *c = orr_sim_component(s, r->aComp[k]);
            size_t len = strlen(c->path) + strlen(r->fd->name) + 2;
            char *name = malloc(len);
            if (!name)
                orr_oom();
            snprintf(name, len, "%s#%s", c->path, r->fd->name);
            orr_rng_seed(&rng, seed, name); /* invariant 1: a stream of its own */
            free(name);
            unsigned count = 0;
            if (r->chance) { /* on the rule's grid, after `from` */
                for (orr_time_t t = (x->from / r->period + 1) * r->period;
                     t < x->horizon && count < r->max; t += r->period) {
                    if (orr_rng_below(&rng, PPM) >= r->ppm)
                        continue;
                    struct orr_firing f = {.at = t, .rule = ri, .comp = c->id};
                    draw_details(r, c, &rng, &f);
                    push(out, &cap, &f);
                    count++;
                }
            } else {
                orr_time_t t = x->from;
                while (count < r->max && t < x->horizon) {
                    uint64_t gap = orr_rng_exp(&rng, r->mean_interval);
                    if (gap >= x->horizon - t)
                        break;
                    t += gap;
                    struct orr_firing f = {.at = t, .rule = ri, .comp = c->id};
                    draw_details(r, c, &rng, &f);
                    push(out, &cap, &f);
                    count++;
                }
            }
        }
    }
    if (out->n)
        qsort(out->a, out->n, sizeof *out->a, firing_cmp);
}

void orr_schedule_free(struct orr_schedule *sch)
{
    free(sch->a);
    memset(sch, 0, sizeof *sch);
}

int orr_schedule_copy(struct orr_schedule *dst, const struct orr_schedule *src)
{
    dst->n = src->n;
    dst->a = malloc((src->n ? src->n : 1) * sizeof *dst->a);
    if (!dst->a)
        return ORR_ENOMEM;
    if (src->n)
        memcpy(dst->a, src->a, src->n * sizeof *dst->a);
    return 0;
}

static bool rule_has(const struct orr_explore_rule *r, uint32_t comp)
{
    for (size_t k = 0; k < r->nComp; k++)
        if (r->aComp[k] == comp)
            return true;
    return false;
}

bool orr_explore_drawable(const struct orr_explore *x, const struct orr_sim *s,
                          const struct orr_schedule *sch)
{
    for (size_t i = 0; i < sch->n; i++) {
        const struct orr_firing *f = &sch->a[i];
        if (f->rule >= x->nRule)
            return false;
        const struct orr_explore_rule *r = &x->aRule[f->rule];
        if (!rule_has(r, f->comp) || f->at >= x->horizon || f->at < x->from)
            return false;
        if (r->chance && (f->at == 0 || f->at % r->period))
            return false;
        if (r->fx->recover ? f->duration < r->dlo || f->duration > r->dhi : f->duration != 0)
            return false;
        const struct orr_component *c = orr_sim_component(s, f->comp);
        for (size_t k = 0; k < r->nDraw; k++) {
            uint64_t lo, hi;
            draw_bounds(r, c, k, &lo, &hi);
            if (f->val[k] < lo || f->val[k] > hi)
                return false;
        }
        unsigned same = 0;
        for (size_t j = 0; j < sch->n; j++)
            same += sch->a[j].rule == f->rule && sch->a[j].comp == f->comp;
        if (same > r->max)
            return false;
        if (i && firing_cmp(&sch->a[i - 1], f) > 0)
            return false;
    }
    return true;
}

/* ----------------------------------------------------------------- applying */

/* A fault entry a schedule becomes: a firing or its recovery. */
struct entry {
    orr_time_t at;
    size_t firing;
    bool recovery;
};

static int entry_cmp(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    if (a->at != b->at)
        return a->at < b->at ? -1 : 1;
    if (a->recovery != b->recovery)
        return a->recovery ? 1 : -1;
    return a->firing < b->firing ? -1 : a->firing > b->firing;
}

static struct entry *entries(const struct orr_explore *x, const struct orr_schedule *sch,
                             size_t *n)
{
    struct entry *a = calloc(2 * sch->n + 1, sizeof *a);
    if (!a)
        orr_oom();
    *n = 0;
    for (size_t i = 0; i < sch->n; i++) {
        a[(*n)++] = (struct entry){sch->a[i].at, i, false};
        if (x->aRule[sch->a[i].rule].fx->recover)
            a[(*n)++] = (struct entry){sch->a[i].at + sch->a[i].duration, i, true};
    }
    qsort(a, *n, sizeof *a, entry_cmp);
    return a;
}

int orr_explore_apply(const struct orr_explore *x, struct orr_sim *s,
                      const struct orr_schedule *sch, struct orr_diag *d)
{
    size_t n;
    struct entry *a = entries(x, sch, &n);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct orr_firing *f = &sch->a[a[i].firing];
        const struct orr_explore_rule *r = &x->aRule[f->rule];
        struct orr_params p;
        rc = make_params(r, a[i].recovery, f->val, &p);
        if (rc == 0)
            rc = orr_sim_add_fault_params(s, a[i].at, f->comp,
                                          a[i].recovery ? r->recover : r->fault, &p, d);
        orr_params_free(&p);
    }
    free(a);
    return rc;
}

struct text {
    char *s;
    size_t n, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void put(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (t->s && (size_t)k < t->cap - t->n) {
            t->n += (size_t)k;
            return;
        }
        t->cap = (t->cap + (size_t)k + 1) * 2;
        t->s = realloc(t->s, t->cap);
        if (!t->s)
            orr_oom();
    }
}

char *orr_explore_yaml(const struct orr_explore *x, const struct orr_sim *s,
                       const struct orr_schedule *sch)
{
    size_t n;
    struct entry *a = entries(x, sch, &n);
    struct text t = {0};
    put(&t, "%s", "");
    for (size_t i = 0; i < n; i++) {
        const struct orr_firing *f = &sch->a[a[i].firing];
        const struct orr_explore_rule *r = &x->aRule[f->rule];
        const struct orr_fault_desc *fd = &r->type->faults[a[i].recovery ? r->recover : r->fault];
        char at[40];
        orr_unit_format(ORR_UNIT_TIME, a[i].at, at, sizeof at);
        put(&t, "  - {at: %s, component: %s, fault: %s", at, orr_sim_component(s, f->comp)->path,
            fd->name);
        for (size_t k = 0; k < r->nDraw; k++) {
            const struct orr_fault_draw *fdr = &r->fx->draws[k];
            const struct orr_param *prm = schema_key(fault_schema(fd), fdr->param);
            if (!prm)
                continue;
            enum orr_unit_kind uk;
            char v[40];
            if (a[i].recovery && r->fx->recover_zero && strcmp(fdr->param, r->fx->recover_zero) == 0)
                snprintf(v, sizeof v, "\"0\"");
            else if (fdr->kind == ORR_FD_CHANCE)
                snprintf(v, sizeof v, "\"%u.%06u\"", (unsigned)(f->val[k] / PPM),
                         (unsigned)(f->val[k] % PPM));
            else if (unit_kind(prm->type, &uk))
                orr_unit_format(uk, f->val[k], v, sizeof v);
            else
                snprintf(v, sizeof v, "%" PRIu64, f->val[k]);
            put(&t, ", %s: %s", fdr->param, v);
        }
        put(&t, "}\n");
    }
    free(a);
    return t.s;
}

/* ---------------------------------------------------------------- shrinking */

/* Candidate slot j of sch into out (a copy already made): true if it
 * applies (the result differs from sch). Slots, per firing i of n:
 * [0, n) delete i; [n, 2n) halve i's duration toward its minimum;
 * [2n, 3n) move i halfway to the horizon (on its rule's grid);
 * [3n, 3n + n * MAX_DRAWS) halve one drawn value toward its minimum. */
static bool candidate(const struct orr_explore *x, const struct orr_sim *s,
                      const struct orr_schedule *sch, size_t j, struct orr_schedule *out)
{
    size_t n = sch->n;
    if (j < n) {
        memmove(&out->a[j], &out->a[j + 1], (n - j - 1) * sizeof *out->a);
        out->n--;
        return true;
    }
    j -= n;
    if (j < n) {
        struct orr_firing *f = &out->a[j];
        const struct orr_explore_rule *r = &x->aRule[f->rule];
        if (!r->fx->recover || f->duration <= r->dlo)
            return false;
        f->duration = r->dlo + (f->duration - r->dlo) / 2;
        return true;
    }
    j -= n;
    if (j < n) {
        struct orr_firing *f = &out->a[j];
        const struct orr_explore_rule *r = &x->aRule[f->rule];
        orr_time_t later = f->at + (x->horizon - f->at) / 2;
        if (r->chance)
            later -= later % r->period;
        if (later <= f->at || later >= x->horizon)
            return false;
        f->at = later;
        qsort(out->a, out->n, sizeof *out->a, firing_cmp);
        return true;
    }
    j -= n;
    if (j < n * ORR_EXPLORE_MAX_DRAWS) {
        struct orr_firing *f = &out->a[j / ORR_EXPLORE_MAX_DRAWS];
        const struct orr_explore_rule *r = &x->aRule[f->rule];
        size_t k = j % ORR_EXPLORE_MAX_DRAWS;
        if (k >= r->nDraw)
            return false;
        uint64_t lo, hi;
        draw_bounds(r, orr_sim_component(s, f->comp), k, &lo, &hi);
        if (f->val[k] <= lo)
            return false;
        f->val[k] = lo + (f->val[k] - lo) / 2;
        return true;
    }
    return false;
}

bool orr_explore_shrink_step(const struct orr_explore *x, const struct orr_sim *s,
                             const struct orr_schedule *sch, size_t k, struct orr_schedule *out)
{
    size_t slots = sch->n * (3 + ORR_EXPLORE_MAX_DRAWS);
    size_t seen = 0;
    for (size_t j = 0; j < slots; j++) {
        struct orr_schedule c;
        if (orr_schedule_copy(&c, sch))
            orr_oom();
        if (!candidate(x, s, sch, j, &c) || !orr_explore_drawable(x, s, &c)) {
            orr_schedule_free(&c);
            continue;
        }
        if (seen++ == k) {
            *out = c;
            return true;
        }
        orr_schedule_free(&c);
    }
    return false;
}

/* ------------------------------------------------------------------ judging */

static void verdict(struct orr_explore_verdict *v, const char *prop, const char *loc,
                    orr_time_t at, const char *detail)
{
    v->failed = true;
    snprintf(v->property, sizeof v->property, "%s", prop);
    snprintf(v->location, sizeof v->location, "%s", loc);
    snprintf(v->detail, sizeof v->detail, "%s", detail);
    v->at = at;
}

static int judge_budgets(const struct orr_budget *a, size_t n, const struct orr_sim *s,
                         const char *what, struct orr_explore_verdict *v, struct orr_diag *d)
{
    if (!n)
        return 0;
    const struct orr_metric *am;
    size_t nm = orr_sim_metrics(s, &am), nFail = 0;
    struct orr_budget_result *ar = NULL;
    int rc = orr_budgets_check(a, n, am, nm, &ar, &nFail, d);
    for (size_t i = 0; rc == 0 && nFail && i < n; i++) {
        if (ar[i].pass)
            continue;
        char detail[256];
        snprintf(detail, sizeof detail, "%s %s %s failed: value %.6g", what, a[i].metric,
                 a[i].text, ar[i].value);
        verdict(v, "budget", a[i].metric, orr_now(s), detail);
        break;
    }
    free(ar);
    return rc;
}

int orr_explore_judge(const struct orr_explore *x, const struct orr_sim *s,
                      enum orr_stop_reason why, bool livelock, bool timeout,
                      bool workloads_end_run, const struct orr_budget *aBudget, size_t nBudget,
                      struct orr_explore_verdict *v, struct orr_diag *d)
{
    memset(v, 0, sizeof *v);
    const orr_time_t now = orr_now(s);
    if (x->props.failure && why == ORR_STOP_FAILED) {
        const char *msg = orr_sim_failure(s);
        const char *colon = strstr(msg, ": ");
        char loc[128];
        snprintf(loc, sizeof loc, "%.*s", colon ? (int)(colon - msg) : (int)strlen(msg), msg);
        verdict(v, "failure", loc, now, msg);
        return 0;
    }
    if (livelock) {
        char detail[128];
        snprintf(detail, sizeof detail, "%" PRIu64 " events without simulated time advancing",
                 x->props.livelock);
        verdict(v, "livelock", "engine", now, detail);
        return 0;
    }
    if (timeout) {
        verdict(v, "timeout", "engine", now, "the seed ran out of wall time");
        return 0;
    }
    unsigned done, nw = orr_sim_workloads(s, &done);
    if (x->props.deadlock && workloads_end_run && done < nw && (why == ORR_STOP_IDLE || why == ORR_STOP_TIME)) {
        char detail[160];
        snprintf(detail, sizeof detail, "%u of %u workloads unfinished when the run %s",
                 nw - done, nw, why == ORR_STOP_IDLE ? "ran out of events" : "reached its stop time");
        verdict(v, "deadlock", "workloads", now, detail);
        return 0;
    }
    int rc = 0;
    if (x->props.budgets)
        rc = judge_budgets(aBudget, nBudget, s, "budget", v, d);
    if (rc == 0 && !v->failed)
        rc = judge_budgets(x->props.aMetric, x->props.nMetric, s, "metric", v, d);
    return rc;
}
