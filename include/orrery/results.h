/* The results store: SQLite, one transaction per run (DESIGN.md §6).
 *
 * Schema (created if missing; `PRAGMA user_version` holds the version):
 *   runs(id, started_at, scenario, scenario_hash, overrides, seed, build_id,
 *        status, stop_reason, sim_time_ps, wall_time_s, events, digest,
 *        trace_path)
 *   metrics(run_id, component, name, value, unit)
 *   histograms(run_id, component, name, unit, count, min, max, mean,
 *              p50, p90, p99, p999)
 *   budgets(run_id, metric, bound, value, unit, margin, pass)
 *      one row per scenario budget (docs/budgets.md); pass is 0 or 1.
 *      Added without a version bump: the schema is created with
 *      IF NOT EXISTS, so a version-1 file gains the table on first open and
 *      an older orrery ignores it.
 * status is 'ok' (the run reached one of its stop conditions),
 * 'interrupted' (SIGINT) or 'failed' (a model reported a failure, e.g. a
 * broken kernel invariant; the run is kept for inspection); stop_reason says
 * which condition ended it
 * ("duration reached", "event limit reached", "workloads finished", "no
 * events left", "interrupted"). A run that fails writes nothing. Hashes and digests are stored
 * as 16-digit lowercase hex text. */
#ifndef ORRERY_RESULTS_H
#define ORRERY_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "orrery/diag.h"
#include "orrery/time.h"

#define ORR_RESULTS_DEFAULT_PATH "orrery.db"

struct orr_metric {
    const char *component; /* dotted path, "" for the run as a whole */
    const char *name;
    double value;
    const char *unit;      /* "", "ps", "B", "pkt", ... */
};

struct orr_hist_summary {
    const char *component;
    const char *name;
    const char *unit;
    uint64_t count, min, max;
    double mean;
    uint64_t p50, p90, p99, p999;
};

/* One checked budget: bound as written, the metric's value and unit, and
 * the headroom (>= 0 when it holds; see include/orrery/budget.h). */
struct orr_budget_row {
    const char *metric;
    const char *bound;
    double value;
    const char *unit;
    double margin;
    int pass;
};

struct orr_run_record {
    const char *scenario;
    uint64_t scenario_hash;
    const char *overrides;
    uint64_t seed;
    const char *build_id;
    const char *status;
    const char *stop_reason;
    orr_time_t sim_time;
    double wall_time_s;
    uint64_t events;
    uint64_t digest;
    const char *trace_path; /* NULL if no trace */
    size_t nMetric;
    const struct orr_metric *aMetric;
    size_t nHist;
    const struct orr_hist_summary *aHist;
    size_t nBudget;
    const struct orr_budget_row *aBudget;
};

struct orr_results;

/* Open or create the database and its schema. An unwritable path, a file
 * that is not a database, or a newer schema version is ORR_EDB with a
 * message in d. Nothing is written besides the schema. */
int orr_results_open(struct orr_results **db, const char *path, struct orr_diag *d);
/* Insert the run, its metrics, histograms and budgets in one transaction; on any
 * failure roll back and return ORR_EDB (message in d). */
int orr_results_write_run(struct orr_results *db, const struct orr_run_record *r,
                          int64_t *run_id, struct orr_diag *d);
void orr_results_close(struct orr_results *db);

#endif
