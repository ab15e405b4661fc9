/* Exploration: a scenario's `explore:` section (docs/explore.md) turned into
 * random fault schedules, one per seed, and the properties that decide
 * whether a seed fails.
 *
 * A schedule is drawn before the run, from one random stream per (seed,
 * component path, fault name) and nothing else, so a rule for one
 * component never shifts another component's draws or any model's own
 * randomness, and a scenario without `explore:` runs exactly as before.
 * A schedule is a list of firings; it becomes ordinary scheduled faults
 * (the same entries a `faults:` list makes, in the same order), which is
 * why orr_explore_yaml's output pasted at the end of a scenario's `faults:`
 * reproduces the run under plain `orrery run`.
 *
 * Shrinking works on the schedule, never on the scenario: every candidate
 * orr_explore_shrink_step offers is one orr_explore_draw could have drawn
 * (orr_explore_drawable holds it to that). */
#ifndef ORRERY_EXPLORE_H
#define ORRERY_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/budget.h"
#include "orrery/config.h"
#include "orrery/diag.h"
#include "orrery/sim.h"

#define ORR_EXPLORE_MAX_DRAWS 4   /* drawn parameters per fault */
#define ORR_EXPLORE_MAX_FIRINGS 64 /* `max` bound per rule and component */

struct orr_explore_rule;

/* One drawn firing: fault rule->fault of component comp at `at`, ended by
 * the rule's recovery fault `duration` later (0: permanent), with the
 * drawn parameter values in the order of the fault's draws. */
struct orr_firing {
    orr_time_t at;
    orr_time_t duration;
    uint32_t rule;
    uint32_t comp;
    uint64_t val[ORR_EXPLORE_MAX_DRAWS];
};

struct orr_schedule {
    size_t n;
    struct orr_firing *a;
};

/* The properties of `explore.properties`. */
struct orr_explore_props {
    bool budgets;           /* the scenario's `budgets:` */
    bool failure;           /* a model failure (every invariant checker) */
    bool deadlock;          /* the run ended with workloads unfinished */
    uint64_t livelock;      /* events at one instant that count as no progress; 0 off */
    orr_time_t wall_timeout; /* wall time per seed (read by the CLI); 0 off */
    struct orr_budget *aMetric; /* `metrics:` bounds checked only by explore */
    size_t nMetric;
};

struct orr_explore {
    orr_time_t horizon; /* firings are drawn in [from, horizon) */
    orr_time_t from;    /* 0, or explore --from: the checkpoint's time (set by the caller) */
    size_t nRule;
    struct orr_explore_rule *aRule;
    struct orr_explore_props props;
    struct orr_mark mark; /* of the section */
};

/* The schema of `explore:` and of one entry of `explore.faults`. */
extern const struct orr_param orr_explore_params[];
extern const struct orr_param orr_explore_rule_params[];
extern const struct orr_param orr_explore_props_params[];

/* Validate node (the `explore:` mapping) against the built simulation s:
 * component globs must match, the fault must be declared and explorable,
 * rates and bounds within the fault's declaration, metrics known.
 * default_horizon is the scenario's stop.duration (0: none). Errors go to
 * d with file:line:col; returns 0 (*out set) or ORR_ESCHEMA. */
int orr_explore_parse(struct orr_explore **out, const struct orr_node *node, struct orr_sim *s,
                      orr_time_t default_horizon, struct orr_diag *d);
void orr_explore_free(struct orr_explore *x);

/* Draw seed's schedule (sorted as it is applied). */
void orr_explore_draw(const struct orr_explore *x, const struct orr_sim *s, uint64_t seed,
                      struct orr_schedule *out);
void orr_schedule_free(struct orr_schedule *sch);
int orr_schedule_copy(struct orr_schedule *dst, const struct orr_schedule *src);

/* True if the generator could have drawn sch (every firing inside its
 * rule's bounds, counts within `max`, times on the rule's grid). */
bool orr_explore_drawable(const struct orr_explore *x, const struct orr_sim *s,
                          const struct orr_schedule *sch);

/* Turn sch into scheduled faults of s (before orr_sim_start). */
int orr_explore_apply(const struct orr_explore *x, struct orr_sim *s,
                      const struct orr_schedule *sch, struct orr_diag *d);

/* sch as the `faults:` entries it becomes, one flow mapping per line
 * ("  - {at: ..., component: ..., fault: ..., ...}\n"); malloc'ed. */
char *orr_explore_yaml(const struct orr_explore *x, const struct orr_sim *s,
                       const struct orr_schedule *sch);

/* Shrinking: candidate k (from 0) of the simplifications of sch, into out;
 * false when there are no more. Candidates come simplest first: delete a
 * firing, then make one shorter, later or smaller (parameters toward their
 * lower bound). Every candidate is drawable and differs from sch. */
bool orr_explore_shrink_step(const struct orr_explore *x, const struct orr_sim *s,
                             const struct orr_schedule *sch, size_t k, struct orr_schedule *out);

/* The outcome of one seed. */
struct orr_explore_verdict {
    bool failed;
    char property[16];  /* "failure", "budget", "deadlock", "livelock", "timeout" */
    char location[128]; /* the component or metric that failed first */
    char detail[256];
    orr_time_t at;      /* simulated time of the failure (the run's end for a budget) */
};

/* Judge a finished run (orr_sim_finish done). why is the stop reason;
 * livelock/timeout are the CLI's own detections (the run was stopped by
 * its progress hook); aBudget/nBudget the scenario's budgets; deadlock is
 * judged only when workloads_end_run (stop.workloads_done: a scenario that
 * runs to its stop time anyway may leave periodic workloads unfinished).
 * Errors in
 * evaluating a budget (a declared metric missing) go to d: ORR_ESCHEMA. */
int orr_explore_judge(const struct orr_explore *x, const struct orr_sim *s,
                      enum orr_stop_reason why, bool livelock, bool timeout,
                      bool workloads_end_run, const struct orr_budget *aBudget, size_t nBudget,
                      struct orr_explore_verdict *v, struct orr_diag *d);

#endif
