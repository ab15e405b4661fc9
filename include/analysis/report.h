/* `orrery report`: the results database read back and rendered for people
 * (a terminal table, an HTML page with SVG charts) and for spreadsheets
 * (CSV). See docs/report.md for what each format contains.
 *
 * The pieces, each in its own file:
 *   report_db.c     read-only loading: the selected runs (their metrics,
 *                   histograms and budgets) and, for a sweep, its points;
 *   report_sweep.c  a sweep's axes and points, per point x metric
 *                   statistics over the repeats, metric lookup and the
 *                   choice of metrics to chart;
 *   report_text.c   the terminal table and the CSV;
 *   report_chart.c  one SVG chart (metric vs. axis), written by hand;
 *   report_html.c   the self-contained HTML page.
 *
 * Loading never writes: the database is opened read-only, so a report on
 * a missing path does not create it. Everything rendered is a function of
 * the database contents (and, for the HTML topology, of the scenario files
 * and Graphviz): there is no generation timestamp, and the same database
 * gives the same bytes. The text sinks are stdio streams; callers write to
 * FILE.tmp and rename. */
#ifndef ORRERY_ANALYSIS_REPORT_H
#define ORRERY_ANALYSIS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "orrery/budget.h"
#include "orrery/diag.h"
#include "orrery/results.h"

/* --- what the database holds ---------------------------------------------- */

/* One row of `runs` with its children. Every string is owned (malloc'ed);
 * a metric value that is NULL in the table reads as NaN. */
struct orr_report_run {
    int64_t id;
    char *started_at, *scenario, *scenario_hash, *overrides, *build_id;
    char *status, *stop_reason, *digest, *trace_path; /* trace_path may be NULL */
    uint64_t seed, sim_time_ps, events;
    double wall_time_s;
    size_t nMetric;
    struct orr_metric *aMetric;
    size_t nHist;
    struct orr_hist_summary *aHist;
    size_t nBudget;
    struct orr_budget_row *aBudget;
};

/* One row of `sweep_points`; run is the index in orr_report_data.aRun of
 * its run, or -1 when it has none (pending, error, or a run since deleted). */
struct orr_report_point_row {
    uint64_t point, repeat, seed;
    char *overrides, *status;
    int64_t run_id;
    long run;
};

struct orr_report_sweep {
    int64_t id;
    char *created_at, *scenario, *scenario_hash, *axes;
    uint64_t repeat, sample, seed;
    size_t nRow;
    struct orr_report_point_row *aRow; /* ordered by (point, repeat) */
};

/* What to report on: one sweep, a list of runs, or the last N runs. With
 * none of them: the newest sweep if the newest run belongs to one, else
 * the last ORR_REPORT_DEFAULT_LAST runs. */
struct orr_report_select {
    int64_t sweep;         /* > 0: this sweep */
    const int64_t *aRunId; /* these runs, in this order */
    size_t nRunId;
    uint64_t last;         /* > 0: the newest `last` runs */
};
#define ORR_REPORT_DEFAULT_LAST 10

struct orr_report_data {
    char *db_path;
    size_t nRun;
    struct orr_report_run *aRun; /* by id, or in --run order */
    struct orr_report_sweep *sweep; /* NULL unless a sweep was selected */
};

/* Load the selection from the database at path, read-only. Errors, all
 * with a message in d: ORR_ENOENT for a missing file, an empty database
 * ("no runs in DB"), an unknown sweep or run id; ORR_EVERSION for a
 * database written by a newer orrery; ORR_EDB when it is not a database.
 * out is always safe to free. */
int orr_report_load(const char *path, const struct orr_report_select *sel,
                    struct orr_report_data *out, struct orr_diag *d);
void orr_report_data_free(struct orr_report_data *r);

/* "component.name", or "name" for the run-level component "". */
void orr_report_metric_name(const struct orr_metric *m, char *buf, size_t n);

/* --- a sweep, aggregated ------------------------------------------------ */

/* An axis's values: numeric (parsed with orr_unit_parse, all of one unit
 * kind, or plain numbers) or categorical (strings, in order of first
 * appearance). Numeric values are sorted ascending. */
struct orr_report_axis {
    char *key;
    bool numeric;
    const char *unit; /* base unit of numeric values: "ps", "B", "Hz", "bit/s", "cy" or "" */
    size_t nValue;
    char **aValue;    /* as written in the overrides */
    double *aNum;     /* numeric: aValue[i] in base units */
};

/* Statistics of one metric over a point's repeats that ended ok (point
 * status ok or budget_failed). stddev is the sample standard deviation
 * (n - 1), 0 when n is 1; n == 0 means no value (the others are NaN). */
struct orr_report_stat {
    size_t n;
    double mean, min, max, stddev;
};

struct orr_report_point {
    uint64_t point;
    size_t *aLevel;   /* per axis: index into that axis's aValue */
    size_t nRepeat;   /* rows of the point */
    size_t nOk;       /* rows with status ok or budget_failed and a run */
    size_t nBudgetFailed;
    long *aRun;       /* nOk indices into orr_report_data.aRun */
    char *status;     /* "ok" when every row is ok, else e.g. "1 budget_failed, 1 error" */
};

/* A metric present in the runs: identity, and its budget if any run has one. */
struct orr_report_metric_id {
    char *full;       /* "component.name" */
    const char *component, *name, *unit; /* point into the first run that has it */
    bool has_budget;
    char *budget_text;  /* "<= 4us" */
    struct orr_budget_bound bound; /* value in the metric's base unit */
};

struct orr_report_view {
    const struct orr_report_data *data;
    size_t nAxis;
    struct orr_report_axis *aAxis;
    size_t nPoint;
    struct orr_report_point *aPoint;  /* by point number */
    size_t nMetric;
    struct orr_report_metric_id *aMetric; /* every metric of the runs, first-seen order */
    double *aValue; /* nRun x nMetric: run r's value of metric m, NaN if absent */
};

/* Build the view of data (a sweep's points and axes when data->sweep is
 * set; only the metric list otherwise). Returns 0 or ORR_EINVAL (message
 * in d) for a sweep whose axes cannot be read. */
int orr_report_view_build(const struct orr_report_data *data, struct orr_report_view *v,
                          struct orr_diag *d);
void orr_report_view_free(struct orr_report_view *v);

/* Index of metric full in v, or -1. */
long orr_report_view_metric(const struct orr_report_view *v, const char *full);

/* Index of axis key in v: exact, or the unique axis whose key ends in
 * "." key; -1 when none or several match. */
long orr_report_view_axis(const struct orr_report_view *v, const char *key);

/* Statistics of metric m over point p's ok repeats. */
void orr_report_point_stat(const struct orr_report_view *v, size_t p, size_t m,
                           struct orr_report_stat *out);

/* The metrics to show. With names (the user's --metric list): each must
 * exist, else ORR_ENOENT with the nearest names in d. Without: every
 * metric that has a budget, else up to max metrics whose mean varies
 * across the points (a sweep) or, for runs, all metrics (max ignored).
 * *aOut is malloc'ed (may be NULL when *nOut is 0). */
int orr_report_choose_metrics(const struct orr_report_view *v, const char *const *aName,
                              size_t nName, size_t max, size_t **aOut, size_t *nOut,
                              struct orr_diag *d);

/* --- rendering ------------------------------------------------------------ */

/* A topology picture of one scenario, made by the caller (cmd_report.c
 * builds the scenario and calls orr_graph_topology): svg is "svg-inline"
 * markup, or NULL with note saying why there is no picture. */
struct orr_report_topology {
    const char *scenario;
    int64_t run_id;   /* the run whose overrides were applied */
    const char *svg;
    const char *note; /* shown under the picture, or instead of it; may be NULL */
};

struct orr_report_options {
    const size_t *aMetric; /* chosen metrics (indices into the view) */
    size_t nMetric;
    size_t x_axis;         /* the sweep axis on the x axis */
    bool metric_filter;    /* the user named metrics: per-run tables show only those */
    size_t nTopology;
    const struct orr_report_topology *aTopology;
};

void orr_report_write_table(FILE *out, const struct orr_report_view *v,
                            const struct orr_report_options *o);
void orr_report_write_csv(FILE *out, const struct orr_report_view *v,
                          const struct orr_report_options *o);
void orr_report_write_html(FILE *out, const struct orr_report_view *v,
                           const struct orr_report_options *o);

/* One chart of metric m against axis x (one line per combination of the
 * other axes' values), as an <svg> element for an HTML page. */
void orr_report_write_chart(FILE *out, const struct orr_report_view *v, size_t m, size_t x);

/* "4.047 ± 0.0232 us": mean and stddev of st in one scale; "-" when n is 0,
 * no "±" part when n is 1. */
void orr_report_format_stat(const struct orr_report_stat *st, const char *unit, char *buf,
                            size_t n);

/* Text escaped for HTML and XML content and attribute values. */
void orr_report_escape(FILE *out, const char *s);

/* Display scale for values in base unit `unit` whose magnitude is about
 * `mag`: *div to divide by and the unit name to show ("ns", "KiB", "%").
 * Units it does not know are shown as they are. */
const char *orr_report_scale(const char *unit, double mag, double *div);

/* A value with its unit for people, as `orrery run` prints them
 * ("1.234 us", "1.5 MiB", "42.0 %"); NaN is "-". */
void orr_report_format_value(double v, const char *unit, char *buf, size_t n);

#endif
