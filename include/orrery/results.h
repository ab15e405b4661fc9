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
 *   sweeps(id, created_at, scenario, scenario_hash, axes, repeat, sample,
 *          seed)
 *   sweep_points(sweep_id, point, repeat, seed, overrides, run_id, status)
 *      one sweeps row per `orrery sweep`, one sweep_points row per point and
 *      repeat, written 'pending' when the sweep is created and updated as
 *      each point's run ends (docs/sweeps.md). Also added without a version
 *      bump, like budgets.
 *   explores(id, created_at, scenario, scenario_hash, overrides, build_id,
 *            first_seed, seeds, from_ckpt)
 *   explore_seeds(explore_id, seed, status, property, location, detail,
 *                 fail_time_ps, digest, events, firings, schedule,
 *                 wall_time_s)
 *      `orrery explore` (docs/explore.md, docs/results.md). from_ckpt is
 *      the identity of the checkpoint an explore --from started its seeds
 *      from ("" for none): version 2 added it; a version-1 file gains the
 *      column (ALTER TABLE) on first open by this orrery.
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
    /* the scenario as run: presets merged, overrides applied, as YAML
     * (table run_scenarios); NULL stores none */
    const char *effective_scenario;
    size_t nMetric;
    const struct orr_metric *aMetric;
    size_t nHist;
    const struct orr_hist_summary *aHist;
    size_t nBudget;
    const struct orr_budget_row *aBudget;
};

/* One `orrery sweep` (the sweeps table). axes is one "KEY=SPEC" line per
 * axis, in axis order, SPEC as written ("40ns..120ns:40ns", "256KiB,1MiB");
 * scenario_hash is the scenario's hash without any axis applied; sample is
 * 0 for the whole grid. */
struct orr_sweep_record {
    const char *scenario;
    uint64_t scenario_hash;
    const char *axes;
    uint64_t repeat;
    uint64_t sample;
    uint64_t seed;
};

/* Point states (sweep_points.status). A point is done when its run ended
 * with the run's status 'ok': ORR_SWEEP_OK or ORR_SWEEP_BUDGET_FAILED;
 * `--resume` runs every other point again. */
#define ORR_SWEEP_PENDING "pending"             /* not run (yet) */
#define ORR_SWEEP_OK "ok"                       /* run ok, every budget holds */
#define ORR_SWEEP_BUDGET_FAILED "budget_failed" /* run ok, a budget failed */
#define ORR_SWEEP_FAILED "failed"               /* run stored with status 'failed' */
#define ORR_SWEEP_INTERRUPTED "interrupted"     /* stopped by Ctrl-C */
#define ORR_SWEEP_ERROR "error"                 /* the run stored nothing (bad input, crash) */

/* One point x repeat of a sweep (the sweep_points table). overrides is the
 * point's "KEY=VALUE" lines in axis order, exactly the run's
 * runs.overrides; run_id is 0 (NULL in the table) until a run is stored. */
struct orr_sweep_point {
    uint64_t point;
    uint64_t repeat;
    uint64_t seed;
    const char *overrides;
    int64_t run_id;
    const char *status;
};

/* A sweep read back: its record and its points ordered by (point, repeat).
 * All strings are owned by the struct; free with orr_results_sweep_free. */
struct orr_sweep_info {
    int64_t id;
    struct orr_sweep_record rec;
    size_t nPoint;
    struct orr_sweep_point *aPoint;
};

/* `orrery explore` (docs/explore.md): one row per explore, one per seed. */
struct orr_explore_record {
    const char *scenario;
    uint64_t scenario_hash;
    const char *overrides;
    const char *build_id;
    uint64_t first_seed, seeds;
    const char *from; /* explore --from: the checkpoint's identity, else NULL */
};

#define ORR_EXPLORE_PASS "pass"   /* every property held */
#define ORR_EXPLORE_FAIL "fail"   /* a property failed */
#define ORR_EXPLORE_ERROR "error" /* the seed's run could not be judged (a crash) */

struct orr_explore_seed {
    uint64_t seed;
    const char *status;
    const char *property, *location, *detail; /* "" when it passed */
    orr_time_t at;                            /* simulated time of the failure */
    uint64_t digest, events, firings;
    const char *schedule; /* the drawn schedule as `faults:` entries */
    double wall_time_s;
};

struct orr_explore_info {
    int64_t id;
    const char *scenario, *overrides, *build_id;
    const char *from; /* "" unless the explore started from a checkpoint */
    uint64_t scenario_hash, first_seed, seeds;
    size_t nSeed;
    struct orr_explore_seed *aSeed; /* the seeds stored so far, ascending */
};

struct orr_results;

int orr_results_create_explore(struct orr_results *db, const struct orr_explore_record *e,
                               int64_t *id, struct orr_diag *d);
/* Store (or replace) one seed's outcome: a single-statement transaction. */
int orr_results_add_explore_seed(struct orr_results *db, int64_t id,
                                 const struct orr_explore_seed *s, struct orr_diag *d);
/* Read explore id and its seeds (strings malloc'ed); ORR_ENOENT with a
 * message in d if there is no such explore. */
int orr_results_read_explore(struct orr_results *db, int64_t id, struct orr_explore_info *out,
                             struct orr_diag *d);
void orr_results_explore_free(struct orr_explore_info *e);
/* The newest stored outcome of seed under a scenario (hash, overrides,
 * and the checkpoint identity of explore --from, NULL or "" for none):
 * 0 and *out (strings malloc'ed), ORR_ENOENT if none, ORR_EDB (in d). */
int orr_results_find_explore_seed(struct orr_results *db, uint64_t scenario_hash,
                                  const char *overrides, const char *from, uint64_t seed,
                                  struct orr_explore_seed *out, int64_t *explore_id,
                                  struct orr_diag *d);
void orr_results_explore_seed_free(struct orr_explore_seed *s);

/* Open or create the database and its schema. An unwritable path, a file
 * that is not a database, or a newer schema version is ORR_EDB with a
 * message in d. Nothing is written besides the schema, and a database this
 * open created is removed again by orr_results_close if nothing was stored
 * in it (an exit-2 path after opening leaves no empty database behind). */
int orr_results_open(struct orr_results **db, const char *path, struct orr_diag *d);
/* Insert the run, its metrics, histograms and budgets in one transaction; on any
 * failure roll back and return ORR_EDB (message in d). */
int orr_results_write_run(struct orr_results *db, const struct orr_run_record *r,
                          int64_t *run_id, struct orr_diag *d);
/* Insert a sweep and its points (normally all ORR_SWEEP_PENDING) in one
 * transaction; *sweep_id receives the new id. */
int orr_results_create_sweep(struct orr_results *db, const struct orr_sweep_record *s,
                             const struct orr_sweep_point *aPoint, size_t nPoint,
                             int64_t *sweep_id, struct orr_diag *d);
/* Insert or replace one point's row (its key is sweep_id, point, repeat). */
int orr_results_set_sweep_point(struct orr_results *db, int64_t sweep_id,
                                const struct orr_sweep_point *p, struct orr_diag *d);
/* Read sweep id and its points. ORR_ENOENT (message in d) if there is no
 * such sweep, ORR_EDB on a database error. */
int orr_results_read_sweep(struct orr_results *db, int64_t id, struct orr_sweep_info *out,
                           struct orr_diag *d);
void orr_results_sweep_free(struct orr_sweep_info *s);
void orr_results_close(struct orr_results *db);
/* For an exit without orr_results_close (out of memory, orr_oom): remove
 * the database this process created, if nothing was stored in it yet. */
void orr_results_remove_new(void);

/* The schema version this orrery writes and reads (PRAGMA user_version);
 * a reader refuses a file with a higher one. */
int orr_results_schema_version(void);

#endif
