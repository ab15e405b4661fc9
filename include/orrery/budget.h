/* Performance budgets: a scenario's `budgets:` key maps metric names (as
 * `orrery run` prints them: "component.metric", "component.hist.p99") to
 * bounds such as "<= 150ns", ">= 95%" or "== 0". Bounds are parsed and
 * validated when the scenario loads; once its simulation is built, each
 * must name a metric the components' types declare; after the run each
 * budget is checked against the run's metrics (docs/budgets.md).
 *
 * A bound is OP VALUE[UNIT]:
 *   OP    <=  <  >=  >  ==  !=
 *   VALUE a decimal number; with a unit suffix it is converted exactly to
 *         the metric's base unit (time -> ps, size -> B, bandwidth ->
 *         bit/s, cycles -> cy); "%" means a ratio (95% = 0.95); without a
 *         unit it is a plain number compared as is (a leading '-' allowed).
 * The unit must suit the metric: a time bound needs a metric in ps, "%" a
 * ratio metric, and so on; a plain number fits any metric. */
#ifndef ORRERY_BUDGET_H
#define ORRERY_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#include "orrery/config.h"
#include "orrery/diag.h"
#include "orrery/results.h"

struct orr_sim;

enum orr_budget_op { ORR_BUDGET_LE, ORR_BUDGET_LT, ORR_BUDGET_GE, ORR_BUDGET_GT,
                     ORR_BUDGET_EQ, ORR_BUDGET_NE };

/* What the bound's unit says about the metric it may be compared with. */
enum orr_budget_unit {
    ORR_BUDGET_PLAIN,   /* no unit: any metric, compared as is */
    ORR_BUDGET_TIME,    /* metric unit "ps" */
    ORR_BUDGET_SIZE,    /* metric unit "B" */
    ORR_BUDGET_BW,      /* metric unit "bit/s" */
    ORR_BUDGET_CYCLES,  /* metric unit "cy" */
    ORR_BUDGET_PERCENT, /* metric unit "ratio" */
};

struct orr_budget_bound {
    enum orr_budget_op op;
    enum orr_budget_unit unit;
    double value; /* in the metric's base unit (ps, B, bit/s, cy, ratio) */
};

/* One budget of a scenario. */
struct orr_budget {
    char *metric;         /* "component.metric[.pNN]" */
    char *text;           /* the bound as written, "<= 150ns" */
    struct orr_budget_bound bound;
    struct orr_mark mark; /* of the bound's value */
    char *keypath;        /* "budgets.<metric>" */
};

/* Parse a bound. Returns 0, or ORR_EPARSE (no or unknown operator, no
 * number), ORR_EUNIT (unknown unit) or ORR_ERANGE (a value finer than the
 * base unit, or too large) with *why set to a static sentence. */
int orr_budget_parse_bound(const char *text, struct orr_budget_bound *out, const char **why);

/* Parse a scenario's `budgets:` mapping (NULL: none). Nested mappings join
 * their keys with '.', so {node0: {t1.deadline_misses: "== 0"}} names
 * "node0.t1.deadline_misses" (that is also what --set budgets.X.Y=... makes).
 * A metric named twice (a dotted key and a --set override of it) keeps the
 * later bound, in the earlier one's place.
 * Every problem is reported in d with its file:line:col and key path;
 * returns 0 or ORR_ESCHEMA. *aOut is malloc'ed; free with orr_budgets_free. */
int orr_budgets_parse(const struct orr_node *budgets, struct orr_budget **aOut, size_t *nOut,
                      struct orr_diag *d);
/* The same for bounds kept under another key (section: its key path,
 * "explore.properties.metrics"), named so in messages. */
int orr_budgets_parse_at(const struct orr_node *budgets, const char *section,
                         struct orr_budget **aOut, size_t *nOut, struct orr_diag *d);
void orr_budgets_free(struct orr_budget *a, size_t n);

/* "<=", "<", ... */
const char *orr_budget_op_name(enum orr_budget_op op);
/* Metric unit a bound's unit needs ("ps", "B", ...); NULL for PLAIN. */
const char *orr_budget_unit_metric(enum orr_budget_unit u);

/* The outcome of one budget after a run. */
struct orr_budget_result {
    const struct orr_budget *budget;
    const struct orr_metric *metric; /* the metric it was checked against */
    double value;
    double margin; /* headroom in the metric's unit: >= 0 passes (see below) */
    bool pass;
};

/* Check every budget against the run's metrics, matched by
 * component + "." + name. margin is bound - value for <= and <, value -
 * bound for >= and >, -|value - bound| for == and |value - bound| for !=
 * (a strict bound at zero margin, or != at zero, fails). A budget naming no
 * metric, or whose unit does not suit its metric, is an error in d (with
 * the budget's mark) and ORR_ESCHEMA; *aOut (n entries, malloc'ed) is then
 * NULL. Returns 0 otherwise; *nFail counts budgets that failed. */
int orr_budgets_check(const struct orr_budget *aBudget, size_t nBudget,
                      const struct orr_metric *aMetric, size_t nMetric,
                      struct orr_budget_result **aOut, size_t *nFail, struct orr_diag *d);

/* Before a run: check that every budget names a metric the built
 * simulation s can report, by the metrics tables of its components' types
 * and the engine's own (orr_metric_declared, orr_run_metrics), and that
 * the bound's unit suits it. A budget naming no component, or a metric no
 * declaration allows, is an error in d with the budget's mark and the
 * nearest names of s's registered stats; returns 0 or ORR_ESCHEMA. A
 * metric that passes may still be missing after the run (a declared
 * family whose member does not exist): orr_budgets_check reports that. */
int orr_budgets_check_names(const struct orr_budget *aBudget, size_t nBudget,
                            const struct orr_sim *s, struct orr_diag *d);

#endif
