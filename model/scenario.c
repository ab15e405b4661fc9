/* Building a simulation from a scenario: validate the top-level keys, then
 * create components (in scenario order, which fixes their ids), join links,
 * schedule faults and start. Nothing runs and nothing is written here, so
 * `orrery validate` is exactly this step. */
#include "orrery/scenario.h"

#include <stdlib.h>
#include <string.h>

#include "orrery/explore.h"
#include "orrery/sweep.h"
#include "orrery/error.h"

const struct orr_param orr_scenario_params[] = {
    {"name", ORR_P_STRING, "", 0, "short name of the scenario"},
    {"description", ORR_P_STRING, "", 0, "what the scenario shows"},
    {"seed", ORR_P_UINT, "1", 0, "root seed of every random stream (--seed overrides)"},
    {"stop", ORR_P_MAP, "{}", 0, "when the run ends (see stop.*)"},
    {"components", ORR_P_MAP, "{}", 0, "component instances: NAME: {type: TYPE, ...params}"},
    {"links", ORR_P_SEQ, "[]", 0, "list of links: {from: C.PORT, to: C.PORT, latency, bandwidth}"},
    {"faults", ORR_P_SEQ, "[]", 0, "list of faults: {at: TIME, component: C, fault: F, ...}"},
    {"trace", ORR_P_MAP, "{}", 0, "trace settings (see trace.*)"},
    {"budgets", ORR_P_MAP, "{}", 0,
     "performance budgets: METRIC: \"<= 150ns\" (docs/budgets.md); the metric must exist "
     "(checked when built), the bound is checked after `run`"},
    {"sweep", ORR_P_MAP, "{}", 0,
     "axes, repeat and sample for `orrery sweep` (docs/sweeps.md); `run` ignores it"},
    {"explore", ORR_P_MAP, "{}", 0,
     "faults `orrery explore` may fire at random and the properties a seed must hold "
     "(docs/explore.md); checked when built, `run` ignores it"},
    {NULL},
};

const struct orr_param orr_scenario_sweep_params[] = {
    {"axes", ORR_P_MAP, "{}", 0,
     "KEY: \"RANGE\" per axis: \"40ns..120ns:40ns\" (inclusive, with a step) or \"a,b,c\""},
    {"repeat", ORR_P_UINT, "1", ORR_PF_POSITIVE, "runs per point, with seeds S, S+1, ..."},
    {"sample", ORR_P_UINT, "0", 0, "run this many distinct random points of the grid; 0 = all"},
    {NULL},
};

const struct orr_param orr_scenario_stop_params[] = {
    {"duration", ORR_P_TIME, "0s", 0, "simulated time to run; the run covers [0, duration)"},
    {"events", ORR_P_UINT, "0", 0, "stop after this many events"},
    {"workloads_done", ORR_P_BOOL, "true", 0, "stop when every workload component is done"},
    {NULL},
};

const struct orr_param orr_scenario_trace_params[] = {
    {"checkpoint_every", ORR_P_UINT, "65536", ORR_PF_POSITIVE,
     "records between digest checkpoints in a trace file", NULL, 1,
     ORR_TRACE_MAX_CHECKPOINT_EVERY},
    {NULL},
};

const struct orr_param orr_scenario_link_params[] = {
    {"from", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "one end, COMPONENT.PORT"},
    {"to", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "the other end, COMPONENT.PORT"},
    {"latency", ORR_P_TIME, NULL, ORR_PF_POSITIVE, "propagation delay (also the lookahead)"},
    {"bandwidth", ORR_P_BW, "0bps", 0, "serialisation rate per direction; 0 = unlimited"},
    {NULL},
};

const struct orr_param orr_scenario_fault_params[] = {
    {"at", ORR_P_TIME, NULL, 0, "simulated time of the fault"},
    {"component", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "component the fault applies to"},
    {"fault", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "fault name (see `orrery list TYPE`)"},
    {NULL},
};

/* ----------------------------------------------------------------- types */

/* ---------------------------------------------------------------- building */

/* Builder types own top-level sections: a type with an expand op (such as
 * `machine`) owns the top-level key of its name and turns that section into
 * components and links. Sections are expanded in the order of the type
 * table, before the scenario's own components, so those can attach to
 * their ports. Returns the number of sections present in *n. */
static int build_sections(struct orr_scenario *sc, const struct orr_component_type *const *types,
                          size_t *n, struct orr_diag *d)
{
    *n = 0;
    for (size_t i = 0; types[i]; i++) {
        const struct orr_node *m = types[i]->expand ? orr_node_get(sc->cfg.root, types[i]->name)
                                                    : NULL;
        if (!m)
            continue;
        ++*n;
        if (m->kind != ORR_NODE_MAP) {
            orr_diag_error(d, &m->mark, types[i]->name, "expected a mapping (see `orrery list %s`)",
                           types[i]->name);
            return ORR_ESCHEMA;
        }
        int rc = types[i]->expand(sc->sim, m, types[i]->name, d);
        if (rc)
            return rc;
    }
    return 0;
}

static int build_components(struct orr_scenario *sc, const struct orr_node *comps,
                            const struct orr_component_type *const *types, size_t nSection,
                            struct orr_diag *d)
{
    int rc = 0;
    if (!comps && nSection)
        return 0;
    if (!comps || comps->kind != ORR_NODE_MAP || comps->n == 0) {
        orr_diag_error(d, comps ? &comps->mark : &sc->cfg.root->mark, "components",
                       "expected a mapping of component names to {type: ..., ...} (or a "
                       "builder's section such as `machine:`)");
        return ORR_ESCHEMA;
    }
    for (size_t i = 0; i < comps->n; i++) {
        const struct orr_node *cn = comps->aItem[i];
        char *kp = orr_keypath_join("components", comps->aKey[i]);
        const struct orr_node *tn = orr_node_get(cn, "type");
        int r = 0;
        if (cn->kind != ORR_NODE_MAP) {
            orr_diag_error(d, &cn->mark, kp, "expected a mapping with a 'type' key");
            r = ORR_ESCHEMA;
        } else if (!tn || tn->kind != ORR_NODE_SCALAR || !*tn->scalar) {
            orr_diag_error(d, &cn->mark, kp, "missing required key 'type' (a component type; "
                                             "see `orrery list`)");
            r = ORR_ESCHEMA;
        } else {
            const struct orr_component_type *t = orr_type_find(types, tn->scalar);
            if (!t) {
                char *tkp = orr_keypath_join(kp, "type");
                orr_type_unknown(types, tn->scalar, &tn->mark, tkp, d);
                free(tkp);
                r = ORR_ESCHEMA;
            } else if (t->expand) {
                orr_diag_error(d, &tn->mark, kp,
                               "type '%s' builds a whole section: use the top-level `%s:` key",
                               t->name, t->name);
                r = ORR_ESCHEMA;
            } else {
                r = orr_sim_add_component(sc->sim, t, comps->aKey[i], cn, kp, d, NULL);
            }
        }
        if (r && !rc)
            rc = r;
        free(kp);
    }
    return rc;
}

/* `links` and `faults` are sequences of mappings (d may be NULL: test only). */
static int expect_seq(const struct orr_node *n, const char *key, struct orr_diag *d)
{
    if (!n || n->kind == ORR_NODE_SEQ)
        return 0;
    if (d)
        orr_diag_error(d, &n->mark, key, "expected a list of mappings");
    return ORR_ESCHEMA;
}

static int build_links(struct orr_scenario *sc, const struct orr_node *links, struct orr_diag *d)
{
    int rc = expect_seq(links, "links", d);
    for (size_t i = 0; expect_seq(links, NULL, NULL) == 0 && links && i < links->n; i++) {
        const struct orr_node *ln = links->aItem[i];
        char kp[64];
        struct orr_params lp = {0};
        snprintf(kp, sizeof kp, "links.%zu", i);
        int r = ln->kind == ORR_NODE_MAP
                    ? orr_params_parse(orr_scenario_link_params, ln, kp, NULL, &lp, d)
                    : (orr_diag_error(d, &ln->mark, kp, "expected a mapping {from, to, latency}"),
                       ORR_ESCHEMA);
        if (r == 0)
            r = orr_sim_link(sc->sim, orr_param_str(&lp, "from"), orr_param_str(&lp, "to"),
                             orr_param_u64(&lp, "latency"), orr_param_u64(&lp, "bandwidth"),
                             &ln->mark, d);
        orr_params_free(&lp);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

static int build_faults(struct orr_scenario *sc, const struct orr_node *faults, struct orr_diag *d)
{
    int rc = expect_seq(faults, "faults", d);
    for (size_t i = 0; expect_seq(faults, NULL, NULL) == 0 && faults && i < faults->n; i++) {
        const struct orr_node *fn = faults->aItem[i];
        char kp[64];
        snprintf(kp, sizeof kp, "faults.%zu", i);
        if (fn->kind != ORR_NODE_MAP) {
            orr_diag_error(d, &fn->mark, kp, "expected a mapping {at, component, fault, ...}");
            rc = ORR_ESCHEMA;
            continue; /* report the other entries too */
        }
        /* the common keys first (others belong to the fault's own schema) */
        struct orr_node common = *fn;
        const char *keys[] = {"at", "component", "fault"};
        struct orr_node *items[3];
        char *ks[3];
        struct orr_mark km[3];
        common.n = 0;
        common.aItem = items;
        common.aKey = ks;
        common.aKeyMark = km;
        for (size_t k = 0; k < 3; k++) {
            long idx = orr_node_index(fn, keys[k]);
            if (idx >= 0) {
                items[common.n] = fn->aItem[idx];
                ks[common.n] = fn->aKey[idx];
                km[common.n++] = fn->aKeyMark[idx];
            }
        }
        struct orr_params fp = {0};
        int r = orr_params_parse(orr_scenario_fault_params, &common, kp, NULL, &fp, d);
        if (r == 0)
            r = orr_sim_add_fault(sc->sim, orr_param_u64(&fp, "at"), orr_param_str(&fp, "component"),
                                  orr_param_str(&fp, "fault"), fn, kp, &fn->mark, d);
        orr_params_free(&fp);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

static char *join_sets(const char *const *sets, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(sets[i]) + 1;
    char *s = calloc(1, len);
    if (!s)
        orr_oom();
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, "\n");
        strcat(s, sets[i]);
    }
    return s;
}

/* `sweep:` is only read by `orrery sweep`, but checked here like every
 * other key, so `orrery validate` reports a typo in it or a malformed axis
 * at its file:line:col. Each axis goes through the sweep grammar itself
 * (model/sweep.c); a range is not expanded, so this costs the same for
 * any size. Whether the grid fits a plan depends on the sweep's options,
 * so it is the sweep's to check. */
static int read_sweep(struct orr_scenario *sc, struct orr_diag *d)
{
    int rc = orr_params_parse(orr_scenario_sweep_params, orr_param_map(&sc->top, "sweep"),
                              "sweep", NULL, &sc->sweep, d);
    /* the raw node, so axes are checked even when another sweep key is wrong */
    const struct orr_node *axes = orr_node_get(orr_param_map(&sc->top, "sweep"), "axes");
    if (!axes || axes->kind != ORR_NODE_MAP)
        return rc; /* a non-map `axes` is the schema's error */
    struct orr_sweep grid;
    orr_sweep_init(&grid);
    int ra = orr_sweep_add_axes(&grid, axes, "sweep.axes", d);
    orr_sweep_free(&grid);
    return ra ? ra : rc;
}

/* The top-level keys: orr_scenario_params, plus one section per builder
 * type in the table (validated by the builder). */
static int read_options(struct orr_scenario *sc, const uint64_t *seed,
                        const struct orr_component_type *const *types, struct orr_diag *d)
{
    int rc = 0;
    const struct orr_node *root = sc->cfg.root;
    size_t nType = 0, nBuilder = 0;
    while (types[nType])
        nType++;
    const char **aBuilder = calloc(nType + 1, sizeof *aBuilder);
    if (!aBuilder)
        return ORR_ENOMEM;
    for (size_t i = 0; i < nType; i++)
        if (types[i]->expand)
            aBuilder[nBuilder++] = types[i]->name;
    rc = orr_params_parse(orr_scenario_params, root, "", aBuilder, &sc->top, d);
    free(aBuilder);
    if (rc)
        return ORR_ESCHEMA;
    sc->name = orr_param_str(&sc->top, "name");
    sc->description = orr_param_str(&sc->top, "description");
    sc->seed = seed ? *seed : orr_param_u64(&sc->top, "seed");
    /* parse both sections before giving up, so every error is reported */
    int rs = orr_params_parse(orr_scenario_stop_params, orr_param_map(&sc->top, "stop"), "stop",
                              NULL, &sc->stop, d);
    int rt = orr_params_parse(orr_scenario_trace_params, orr_param_map(&sc->top, "trace"),
                              "trace", NULL, &sc->trace, d);
    int rb = orr_budgets_parse(orr_param_map(&sc->top, "budgets"), &sc->aBudget, &sc->nBudget, d);
    int rw = read_sweep(sc, d);
    if (rs)
        return ORR_ESCHEMA;
    if (rt || rb || rw)
        rc = ORR_ESCHEMA;
    const char *pos[] = {"duration", "events"};
    for (size_t i = 0; i < 2; i++)
        if (orr_param_given(&sc->stop, pos[i]) && orr_param_u64(&sc->stop, pos[i]) == 0) {
            char kp[32];
            snprintf(kp, sizeof kp, "stop.%s", pos[i]);
            orr_diag_error(d, orr_param_mark(&sc->stop, pos[i]), kp, "must be greater than zero");
            rc = ORR_ESCHEMA;
        }
    if (rc)
        return rc;
    sc->opt = (struct orr_sim_options){
        .seed = sc->seed,
        .stop_time = orr_param_u64(&sc->stop, "duration"),
        .stop_events = orr_param_u64(&sc->stop, "events"),
        .stop_when_workloads_done = orr_param_bool(&sc->stop, "workloads_done"),
        .checkpoint_every = orr_param_u64(&sc->trace, "checkpoint_every"),
        .types = types,
        .config = sc->cfg.root,
    };
    return rc;
}

/* A run must be able to end: a time or event limit, or workloads that
 * finish. Checked after building, when the workload count is known. */
static int check_stoppable(struct orr_scenario *sc, struct orr_diag *d)
{
    if (sc->opt.stop_time || sc->opt.stop_events)
        return 0;
    for (size_t i = 0; i < orr_sim_component_count(sc->sim); i++)
        if (orr_sim_component(sc->sim, (uint32_t)i)->type->workload &&
            sc->opt.stop_when_workloads_done)
            return 0;
    const struct orr_node *stop = orr_param_map(&sc->top, "stop");
    orr_diag_error(d, stop ? &stop->mark : &sc->cfg.root->mark, "stop",
                   "the run has no end: set stop.duration or stop.events, or add a workload "
                   "with stop.workloads_done: true");
    return ORR_ESCHEMA;
}

static int scenario_open(struct orr_scenario *sc, const char *path, const char *const *sets,
                         size_t nset, const uint64_t *seed,
                         const struct orr_component_type *const *types, struct orr_diag *d)
{
    return orr_scenario_open_hook(sc, path, sets, nset, seed, types, NULL, NULL, d);
}

int orr_scenario_open_hook(struct orr_scenario *sc, const char *path, const char *const *sets,
                           size_t nset, const uint64_t *seed,
                           const struct orr_component_type *const *types,
                           int (*before_start)(struct orr_scenario *sc, void *arg,
                                               struct orr_diag *d),
                           void *arg, struct orr_diag *d)
{
    memset(sc, 0, sizeof *sc);
    sc->path = path;
    sc->overrides = join_sets(sets, nset);
    int rc = orr_config_load(&sc->cfg, path, d);
    for (size_t i = 0; rc == 0 && i < nset; i++)
        rc = orr_config_set(&sc->cfg, sets[i], d);
    if (rc)
        return rc;
    sc->hash = orr_config_hash(sc->cfg.root);
    if ((rc = read_options(sc, seed, types, d)))
        return rc;
    if ((rc = orr_sim_create(&sc->sim, &sc->opt)))
        return rc;
    size_t nSection = 0;
    rc = build_sections(sc, types, &nSection, d);
    if (rc == 0)
        rc = build_components(sc, orr_param_map(&sc->top, "components"), types, nSection, d);
    /* links and faults name components: only meaningful once all exist */
    if (rc == 0)
        rc = build_links(sc, orr_param_map(&sc->top, "links"), d);
    if (rc == 0)
        rc = build_faults(sc, orr_param_map(&sc->top, "faults"), d);
    /* explore names components and their faults: after both exist */
    const struct orr_node *explore = orr_param_map(&sc->top, "explore");
    if (rc == 0 && explore && explore->kind != ORR_NODE_MAP) {
        orr_diag_error(d, &explore->mark, "explore", "expected a mapping (docs/explore.md)");
        rc = ORR_ESCHEMA;
    }
    if (rc == 0 && explore)
        rc = orr_explore_parse(&sc->explore, explore, sc->sim, sc->opt.stop_time, d);
    if (rc == 0)
        rc = check_stoppable(sc, d);
    if (rc == 0 && before_start)
        rc = before_start(sc, arg, d);
    if (rc == 0)
        rc = orr_sim_start(sc->sim, d);
    /* every stat now exists; a budget on a metric that cannot is bad input */
    if (rc == 0)
        rc = orr_budgets_check_names(sc->aBudget, sc->nBudget, sc->sim, d);
    return rc;
}

/* Memory running out while loading or building is the input asking for
 * more than the host has: orr_oom says so and exits 2, whichever model's
 * create op found out (they return ORR_ENOMEM and leave d empty). */
int orr_scenario_open(struct orr_scenario *sc, const char *path, const char *const *sets,
                      size_t nset, const uint64_t *seed,
                      const struct orr_component_type *const *types, struct orr_diag *d)
{
    int rc = scenario_open(sc, path, sets, nset, seed, types, d);
    if (rc == ORR_ENOMEM) {
        orr_diag_print(d, stderr);
        orr_oom();
    }
    return rc;
}

void orr_scenario_close(struct orr_scenario *sc)
{
    orr_sim_destroy(sc->sim);
    orr_params_free(&sc->top);
    orr_params_free(&sc->stop);
    orr_params_free(&sc->trace);
    orr_params_free(&sc->sweep);
    orr_budgets_free(sc->aBudget, sc->nBudget);
    orr_explore_free(sc->explore);
    orr_config_free(&sc->cfg);
    free(sc->overrides);
    memset(sc, 0, sizeof *sc);
}
