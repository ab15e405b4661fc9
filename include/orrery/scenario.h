/* Scenarios: a YAML file (plus presets and --set overrides) turned into a
 * validated, built, started simulation. Top-level keys are documented in
 * docs/scenarios.md and by `orrery list keys`. */
#ifndef ORRERY_SCENARIO_H
#define ORRERY_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/budget.h"
#include "orrery/config.h"
#include "orrery/diag.h"
#include "orrery/params.h"
#include "orrery/sim.h"

struct orr_explore;

struct orr_scenario {
    struct orr_config cfg;
    const char *path;
    const char *name;        /* points into cfg */
    const char *description; /* points into cfg */
    uint64_t seed;
    struct orr_sim_options opt;
    uint64_t hash;           /* orr_config_hash of the effective tree */
    char *overrides;         /* --set arguments joined with '\n' ("" if none) */
    struct orr_sim *sim;
    struct orr_params top, stop, trace;
    struct orr_params sweep; /* `sweep:` (axes, repeat, sample); read by `orrery sweep` */
    struct orr_budget *aBudget; /* `budgets:`, parsed and checked for syntax */
    size_t nBudget;
    struct orr_explore *explore; /* `explore:`, validated against the model; NULL if absent */
};

/* The schema of the top-level keys and of `stop:` and `trace:`. */
extern const struct orr_param orr_scenario_params[];
extern const struct orr_param orr_scenario_stop_params[];
extern const struct orr_param orr_scenario_trace_params[];
extern const struct orr_param orr_scenario_sweep_params[];
extern const struct orr_param orr_scenario_link_params[];
extern const struct orr_param orr_scenario_fault_params[];

/* Load path, apply overrides, validate everything and build and start the
 * simulation. seed, if not NULL, replaces the scenario's seed. Every problem
 * found is reported in d; returns 0 or a negative ORR_E* code, and sc is
 * always safe to close. */
int orr_scenario_open(struct orr_scenario *sc, const char *path, const char *const *sets,
                      size_t nset, const uint64_t *seed,
                      const struct orr_component_type *const *types, struct orr_diag *d);
/* The same, calling before_start (may be NULL) once everything is built
 * and validated, just before the simulation starts: where `orrery explore`
 * adds a drawn fault schedule. */
int orr_scenario_open_hook(struct orr_scenario *sc, const char *path, const char *const *sets,
                           size_t nset, const uint64_t *seed,
                           const struct orr_component_type *const *types,
                           int (*before_start)(struct orr_scenario *sc, void *arg,
                                               struct orr_diag *d),
                           void *arg, struct orr_diag *d);
void orr_scenario_close(struct orr_scenario *sc);

#endif
