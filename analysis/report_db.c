/* `orrery report`, loading: the selected runs and sweep read from the
 * results database (docs/results.md), read-only, into owned structs.
 *
 * The database is opened with SQLITE_OPEN_READONLY, so a report never
 * creates a file or a schema, and it can read a database another process is
 * writing (a sweep in progress: SQLite gives a consistent snapshot per
 * statement). A database from a newer orrery (user_version above
 * orr_results_schema_version()) is refused; tables added without a version
 * bump (budgets, sweeps, sweep_points) may be missing from an older file
 * and then read as empty. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/report.h"
#include "orrery/error.h"

struct loader {
    sqlite3 *db;
    const char *path;
    struct orr_diag *d;
    bool has_budgets, has_sweeps;
};

static int fail(struct loader *l, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct loader *l, int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    orr_diag_error(l->d, NULL, NULL, "%s", msg);
    return rc;
}

static int db_fail(struct loader *l, const char *what)
{
    return fail(l, ORR_EDB, "results database '%s': %s: %s", l->path, what,
                sqlite3_errmsg(l->db));
}

static char *xstrdup(const char *s)
{
    char *c = strdup(s ? s : "");
    if (!c)
        orr_oom();
    return c;
}

static char *col_text(sqlite3_stmt *st, int i)
{
    return xstrdup((const char *)sqlite3_column_text(st, i));
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void *grow(void *a, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return a;
    *cap = *cap ? 2 * *cap : 16;
    void *b = realloc(a, *cap * size);
    if (!b)
        orr_oom();
    return b;
}

static bool table_exists(struct loader *l, const char *name)
{
    sqlite3_stmt *st;
    bool yes = false;
    if (sqlite3_prepare_v2(l->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* Open read-only and check the schema version; the first query is where
 * SQLite notices a file that is not a database. */
static int open_db(struct loader *l)
{
    struct stat sb;
    if (stat(l->path, &sb) != 0)
        return fail(l, ORR_ENOENT, "results database '%s' does not exist", l->path);
    if (S_ISDIR(sb.st_mode))
        return fail(l, ORR_EDB, "results database '%s' is a directory", l->path);
    if (sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return db_fail(l, "cannot open");
    sqlite3_busy_timeout(l->db, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "cannot read");
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0)
        return db_fail(l, "cannot read");
    if (version > orr_results_schema_version()) {
        return fail(l, ORR_EVERSION,
                    "database '%s' has schema version %d; this orrery understands %d", l->path,
                    version, orr_results_schema_version());
    }
    if (!table_exists(l, "runs"))
        return fail(l, ORR_ENOENT, "no runs in DB '%s'", l->path);
    l->has_budgets = table_exists(l, "budgets");
    l->has_sweeps = table_exists(l, "sweeps") && table_exists(l, "sweep_points");
    return 0;
}

/* One integer from a query with up to one integer parameter; *found false
 * when there is no row or it is NULL. */
static int query_i64(struct loader *l, const char *sql, const int64_t *arg, int64_t *out,
                     bool *found)
{
    sqlite3_stmt *st;
    *found = false;
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "cannot read");
    if (arg)
        sqlite3_bind_int64(st, 1, *arg);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *out = sqlite3_column_int64(st, 0);
        *found = true;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(l, "cannot read");
}

/* --- one run and its children --------------------------------------------- */

static const char kRun[] =
    "SELECT id, started_at, scenario, scenario_hash, overrides, seed, build_id, status,"
    " stop_reason, sim_time_ps, wall_time_s, events, digest, trace_path FROM runs WHERE id = ?1";
static const char kMetrics[] =
    "SELECT component, name, value, unit FROM metrics WHERE run_id = ?1 ORDER BY rowid";
static const char kHists[] =
    "SELECT component, name, unit, count, min, max, mean, p50, p90, p99, p999"
    " FROM histograms WHERE run_id = ?1 ORDER BY rowid";
static const char kBudgets[] =
    "SELECT metric, bound, value, unit, margin, pass FROM budgets WHERE run_id = ?1 ORDER BY rowid";

static void read_run_row(sqlite3_stmt *st, struct orr_report_run *r)
{
    r->id = sqlite3_column_int64(st, 0);
    r->started_at = col_text(st, 1);
    r->scenario = col_text(st, 2);
    r->scenario_hash = col_text(st, 3);
    r->overrides = col_text(st, 4);
    r->seed = (uint64_t)sqlite3_column_int64(st, 5);
    r->build_id = col_text(st, 6);
    r->status = col_text(st, 7);
    r->stop_reason = col_text(st, 8);
    r->sim_time_ps = (uint64_t)sqlite3_column_int64(st, 9);
    r->wall_time_s = col_real(st, 10);
    r->events = (uint64_t)sqlite3_column_int64(st, 11);
    r->digest = col_text(st, 12);
    r->trace_path = sqlite3_column_type(st, 13) == SQLITE_NULL ? NULL : col_text(st, 13);
}

static int read_metrics(struct loader *l, struct orr_report_run *r)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    if (sqlite3_prepare_v2(l->db, kMetrics, -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "cannot read metrics");
    sqlite3_bind_int64(st, 1, r->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r->aMetric = grow(r->aMetric, r->nMetric, &cap, sizeof *r->aMetric);
        struct orr_metric *m = &r->aMetric[r->nMetric++];
        m->component = col_text(st, 0);
        m->name = col_text(st, 1);
        m->value = col_real(st, 2);
        m->unit = col_text(st, 3);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(l, "cannot read metrics");
}

static int read_hists(struct loader *l, struct orr_report_run *r)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    if (sqlite3_prepare_v2(l->db, kHists, -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "cannot read histograms");
    sqlite3_bind_int64(st, 1, r->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r->aHist = grow(r->aHist, r->nHist, &cap, sizeof *r->aHist);
        struct orr_hist_summary *h = &r->aHist[r->nHist++];
        h->component = col_text(st, 0);
        h->name = col_text(st, 1);
        h->unit = col_text(st, 2);
        h->count = (uint64_t)sqlite3_column_int64(st, 3);
        h->min = (uint64_t)sqlite3_column_int64(st, 4);
        h->max = (uint64_t)sqlite3_column_int64(st, 5);
        h->mean = col_real(st, 6);
        h->p50 = (uint64_t)sqlite3_column_int64(st, 7);
        h->p90 = (uint64_t)sqlite3_column_int64(st, 8);
        h->p99 = (uint64_t)sqlite3_column_int64(st, 9);
        h->p999 = (uint64_t)sqlite3_column_int64(st, 10);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(l, "cannot read histograms");
}

static int read_budgets(struct loader *l, struct orr_report_run *r)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    if (!l->has_budgets)
        return 0;
    if (sqlite3_prepare_v2(l->db, kBudgets, -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "cannot read budgets");
    sqlite3_bind_int64(st, 1, r->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r->aBudget = grow(r->aBudget, r->nBudget, &cap, sizeof *r->aBudget);
        struct orr_budget_row *b = &r->aBudget[r->nBudget++];
        b->metric = col_text(st, 0);
        b->bound = col_text(st, 1);
        b->value = col_real(st, 2);
        b->unit = col_text(st, 3);
        b->margin = col_real(st, 4);
        b->pass = sqlite3_column_int(st, 5);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(l, "cannot read budgets");
}

/* Append run id to out; *found false (nothing appended) when there is no
 * such run. */
static int load_run(struct loader *l, int64_t id, struct orr_report_data *out, size_t *cap,
                    bool *found)
{
    sqlite3_stmt *st;
    *found = false;
    if (sqlite3_prepare_v2(l->db, kRun, -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "cannot read runs");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : db_fail(l, "cannot read runs");
    }
    out->aRun = grow(out->aRun, out->nRun, cap, sizeof *out->aRun);
    struct orr_report_run *r = &out->aRun[out->nRun++];
    memset(r, 0, sizeof *r);
    read_run_row(st, r);
    sqlite3_finalize(st);
    *found = true;
    if ((rc = read_metrics(l, r)) || (rc = read_hists(l, r)) || (rc = read_budgets(l, r)))
        return rc;
    return 0;
}

/* --- a sweep -------------------------------------------------------------- */

static const char kSweep[] =
    "SELECT created_at, scenario, scenario_hash, axes, repeat, sample, seed FROM sweeps"
    " WHERE id = ?1";
static const char kPoints[] =
    "SELECT point, repeat, seed, overrides, run_id, status FROM sweep_points"
    " WHERE sweep_id = ?1 ORDER BY point, repeat";

static int read_sweep_rows(struct loader *l, struct orr_report_sweep *s)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    if (sqlite3_prepare_v2(l->db, kPoints, -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "cannot read sweep points");
    sqlite3_bind_int64(st, 1, s->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s->aRow = grow(s->aRow, s->nRow, &cap, sizeof *s->aRow);
        struct orr_report_point_row *p = &s->aRow[s->nRow++];
        p->point = (uint64_t)sqlite3_column_int64(st, 0);
        p->repeat = (uint64_t)sqlite3_column_int64(st, 1);
        p->seed = (uint64_t)sqlite3_column_int64(st, 2);
        p->overrides = col_text(st, 3);
        p->run_id = sqlite3_column_int64(st, 4); /* NULL reads as 0 */
        p->status = col_text(st, 5);
        p->run = -1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(l, "cannot read sweep points");
}

static int load_sweep(struct loader *l, int64_t id, struct orr_report_data *out)
{
    sqlite3_stmt *st;
    if (!l->has_sweeps)
        return fail(l, ORR_ENOENT, "results database '%s' has no sweep %" PRId64, l->path, id);
    if (sqlite3_prepare_v2(l->db, kSweep, -1, &st, NULL) != SQLITE_OK)
        return db_fail(l, "cannot read sweeps");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return db_fail(l, "cannot read sweeps");
        return fail(l, ORR_ENOENT, "results database '%s' has no sweep %" PRId64, l->path, id);
    }
    struct orr_report_sweep *s = out->sweep = calloc(1, sizeof *s);
    if (!s)
        orr_oom();
    s->id = id;
    s->created_at = col_text(st, 0);
    s->scenario = col_text(st, 1);
    s->scenario_hash = col_text(st, 2);
    s->axes = col_text(st, 3);
    s->repeat = (uint64_t)sqlite3_column_int64(st, 4);
    s->sample = (uint64_t)sqlite3_column_int64(st, 5);
    s->seed = (uint64_t)sqlite3_column_int64(st, 6);
    sqlite3_finalize(st);
    if ((rc = read_sweep_rows(l, s)))
        return rc;
    /* the runs, in (point, repeat) order; a run id appears once */
    size_t cap = 0;
    for (size_t i = 0; i < s->nRow; i++) {
        struct orr_report_point_row *p = &s->aRow[i];
        if (p->run_id <= 0)
            continue;
        for (size_t j = 0; j < out->nRun && p->run < 0; j++)
            if (out->aRun[j].id == p->run_id)
                p->run = (long)j;
        bool found = p->run >= 0;
        if (!found && (rc = load_run(l, p->run_id, out, &cap, &found)))
            return rc;
        if (found && p->run < 0)
            p->run = (long)out->nRun - 1;
    }
    return 0;
}

/* --- selection ------------------------------------------------------------ */

static int load_runs(struct loader *l, const int64_t *aId, size_t n, struct orr_report_data *out)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        bool found;
        int rc = load_run(l, aId[i], out, &cap, &found);
        if (rc)
            return rc;
        if (!found)
            return fail(l, ORR_ENOENT, "results database '%s' has no run %" PRId64, l->path,
                        aId[i]);
    }
    return 0;
}

static int load_last(struct loader *l, uint64_t last, struct orr_report_data *out)
{
    sqlite3_stmt *st;
    int64_t *aId = NULL;
    size_t n = 0, cap = 0;
    if (sqlite3_prepare_v2(l->db, "SELECT id FROM runs ORDER BY id DESC LIMIT ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(l, "cannot read runs");
    sqlite3_bind_int64(st, 1, last > INT64_MAX ? INT64_MAX : (int64_t)last);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        aId = grow(aId, n, &cap, sizeof *aId);
        aId[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(aId);
        return db_fail(l, "cannot read runs");
    }
    for (size_t i = 0; i < n / 2; i++) { /* oldest first */
        int64_t t = aId[i];
        aId[i] = aId[n - 1 - i];
        aId[n - 1 - i] = t;
    }
    rc = load_runs(l, aId, n, out);
    free(aId);
    return rc;
}

int orr_report_load(const char *path, const struct orr_report_select *sel,
                    struct orr_report_data *out, struct orr_diag *d)
{
    struct loader l = {.path = path, .d = d};
    memset(out, 0, sizeof *out);
    out->db_path = xstrdup(path);
    int rc = open_db(&l);
    int64_t newest = 0, sweep = sel->sweep;
    bool found = false;
    if (!rc)
        rc = query_i64(&l, "SELECT max(id) FROM runs", NULL, &newest, &found);
    if (!rc && !found)
        rc = fail(&l, ORR_ENOENT, "no runs in DB '%s'", path);
    if (!rc && sweep <= 0 && !sel->nRunId && !sel->last && l.has_sweeps) {
        /* the default: the sweep the newest run belongs to, if any */
        rc = query_i64(&l,
                       "SELECT max(sweep_id) FROM sweep_points WHERE run_id = ?1", &newest,
                       &sweep, &found);
        if (!found)
            sweep = 0;
    }
    if (!rc) {
        if (sweep > 0)
            rc = load_sweep(&l, sweep, out);
        else if (sel->nRunId)
            rc = load_runs(&l, sel->aRunId, sel->nRunId, out);
        else
            rc = load_last(&l, sel->last ? sel->last : ORR_REPORT_DEFAULT_LAST, out);
    }
    sqlite3_close(l.db);
    return rc;
}

/* --- freeing -------------------------------------------------------------- */

static void run_free(struct orr_report_run *r)
{
    char *aText[] = {r->started_at, r->scenario, r->scenario_hash, r->overrides, r->build_id,
                     r->status, r->stop_reason, r->digest, r->trace_path};
    for (size_t i = 0; i < sizeof aText / sizeof aText[0]; i++)
        free(aText[i]);
    for (size_t i = 0; i < r->nMetric; i++) {
        free((char *)r->aMetric[i].component);
        free((char *)r->aMetric[i].name);
        free((char *)r->aMetric[i].unit);
    }
    for (size_t i = 0; i < r->nHist; i++) {
        free((char *)r->aHist[i].component);
        free((char *)r->aHist[i].name);
        free((char *)r->aHist[i].unit);
    }
    for (size_t i = 0; i < r->nBudget; i++) {
        free((char *)r->aBudget[i].metric);
        free((char *)r->aBudget[i].bound);
        free((char *)r->aBudget[i].unit);
    }
    free(r->aMetric);
    free(r->aHist);
    free(r->aBudget);
}

void orr_report_data_free(struct orr_report_data *r)
{
    for (size_t i = 0; i < r->nRun; i++)
        run_free(&r->aRun[i]);
    free(r->aRun);
    if (r->sweep) {
        struct orr_report_sweep *s = r->sweep;
        for (size_t i = 0; i < s->nRow; i++) {
            free(s->aRow[i].overrides);
            free(s->aRow[i].status);
        }
        free(s->aRow);
        free(s->created_at);
        free(s->scenario);
        free(s->scenario_hash);
        free(s->axes);
        free(s);
    }
    free(r->db_path);
    memset(r, 0, sizeof *r);
}

void orr_report_metric_name(const struct orr_metric *m, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", m->component, *m->component ? "." : "", m->name);
}
