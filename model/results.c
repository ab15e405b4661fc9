/* The results store (include/orrery/results.h): SQLite, created on first use,
 * one transaction per run so a reader never sees half a run.
 *
 * Concurrency: several orrery processes (a parallel sweep) may share one
 * file. Writers take the write lock up front (BEGIN IMMEDIATE) and wait up
 * to BUSY_TIMEOUT_MS for it instead of failing. A sweep's parent process
 * keeps one connection open for the whole sweep and updates one
 * sweep_points row (a single-statement transaction) as each child's run is
 * committed; it never holds a transaction while children run. */
#define _POSIX_C_SOURCE 200809L
#include "orrery/results.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "orrery/error.h"

#define SCHEMA_VERSION 2
#define BUSY_TIMEOUT_MS 5000

static const char kSchema[] =
    "CREATE TABLE IF NOT EXISTS runs("
    " id INTEGER PRIMARY KEY,"
    " started_at TEXT NOT NULL,"
    " scenario TEXT NOT NULL,"
    " scenario_hash TEXT NOT NULL,"
    " overrides TEXT NOT NULL,"
    " seed INTEGER NOT NULL,"
    " build_id TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('ok', 'interrupted', 'failed')),"
    " stop_reason TEXT NOT NULL,"
    " sim_time_ps INTEGER NOT NULL,"
    " wall_time_s REAL NOT NULL,"
    " events INTEGER NOT NULL,"
    " digest TEXT NOT NULL,"
    " trace_path TEXT);"
    "CREATE TABLE IF NOT EXISTS metrics("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " component TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " value REAL,"
    " unit TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS histograms("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " component TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " unit TEXT NOT NULL,"
    " count INTEGER NOT NULL,"
    " min INTEGER NOT NULL,"
    " max INTEGER NOT NULL,"
    " mean REAL,"
    " p50 INTEGER NOT NULL,"
    " p90 INTEGER NOT NULL,"
    " p99 INTEGER NOT NULL,"
    " p999 INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS budgets("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " metric TEXT NOT NULL,"
    " bound TEXT NOT NULL,"
    " value REAL,"
    " unit TEXT NOT NULL,"
    " margin REAL,"
    " pass INTEGER NOT NULL CHECK (pass IN (0, 1)));"
    "CREATE TABLE IF NOT EXISTS sweeps("
    " id INTEGER PRIMARY KEY,"
    " created_at TEXT NOT NULL,"
    " scenario TEXT NOT NULL,"
    " scenario_hash TEXT NOT NULL,"
    " axes TEXT NOT NULL,"
    " repeat INTEGER NOT NULL,"
    " sample INTEGER NOT NULL,"
    " seed INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sweep_points("
    " sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,"
    " point INTEGER NOT NULL,"
    " repeat INTEGER NOT NULL,"
    " seed INTEGER NOT NULL,"
    " overrides TEXT NOT NULL,"
    " run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'ok', 'budget_failed', 'failed',"
    " 'interrupted', 'error')),"
    " PRIMARY KEY (sweep_id, point, repeat));"
    "CREATE TABLE IF NOT EXISTS run_scenarios("
    " run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
    " text TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS explores("
    " id INTEGER PRIMARY KEY,"
    " created_at TEXT NOT NULL,"
    " scenario TEXT NOT NULL,"
    " scenario_hash TEXT NOT NULL,"
    " overrides TEXT NOT NULL,"
    " build_id TEXT NOT NULL,"
    " first_seed INTEGER NOT NULL,"
    " seeds INTEGER NOT NULL,"
    " from_ckpt TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS explore_seeds("
    " explore_id INTEGER NOT NULL REFERENCES explores(id) ON DELETE CASCADE,"
    " seed INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error')),"
    " property TEXT NOT NULL,"
    " location TEXT NOT NULL,"
    " detail TEXT NOT NULL,"
    " fail_time_ps INTEGER NOT NULL,"
    " digest TEXT NOT NULL,"
    " events INTEGER NOT NULL,"
    " firings INTEGER NOT NULL,"
    " schedule TEXT NOT NULL,"
    " wall_time_s REAL NOT NULL,"
    " PRIMARY KEY (explore_id, seed));"
    "CREATE INDEX IF NOT EXISTS metrics_run_id ON metrics(run_id);"
    "CREATE INDEX IF NOT EXISTS histograms_run_id ON histograms(run_id);"
    "CREATE INDEX IF NOT EXISTS budgets_run_id ON budgets(run_id);"
    "PRAGMA user_version = 2;";

/* From schema 1: explores started from a checkpoint (explore --from). */
static const char kMigrate1[] =
    "ALTER TABLE explores ADD COLUMN from_ckpt TEXT NOT NULL DEFAULT '';";

static const char kInsertRun[] =
    "INSERT INTO runs(started_at, scenario, scenario_hash, overrides, seed, build_id, status,"
    " sim_time_ps, wall_time_s, events, digest, trace_path, stop_reason)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char kInsertMetric[] =
    "INSERT INTO metrics(run_id, component, name, value, unit) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char kInsertHist[] =
    "INSERT INTO histograms(run_id, component, name, unit, count, min, max, mean,"
    " p50, p90, p99, p999) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char kInsertBudget[] =
    "INSERT INTO budgets(run_id, metric, bound, value, unit, margin, pass)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";

static const char kInsertScenario[] = "INSERT INTO run_scenarios(run_id, text) VALUES(?1, ?2)";

static const char kInsertSweep[] =
    "INSERT INTO sweeps(created_at, scenario, scenario_hash, axes, repeat, sample, seed)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char kSetPoint[] =
    "INSERT OR REPLACE INTO sweep_points(sweep_id, point, repeat, seed, overrides, run_id,"
    " status) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char kSelectSweep[] =
    "SELECT scenario, scenario_hash, axes, repeat, sample, seed FROM sweeps WHERE id = ?1";
static const char kSelectPoints[] =
    "SELECT point, repeat, seed, overrides, run_id, status FROM sweep_points"
    " WHERE sweep_id = ?1 ORDER BY point, repeat";

struct orr_results {
    sqlite3 *db;
    char *path;
    bool created; /* this open created the file: closing with nothing written removes it */
    sqlite3_stmt *pRun, *pMetric, *pHist, *pBudget, *pScenario, *pSweep, *pPoint;
};

/* The database this process created and has open (orr_results_remove_new). */
static struct orr_results *g_created;

static int db_error(struct orr_diag *d, const char *path, const char *what, const char *why)
{
    struct orr_mark mark = {path, 0, 0};
    orr_diag_error(d, &mark, NULL, "results database '%s': %s: %s", path, what, why);
    return ORR_EDB;
}

/* sqlite's message plus the OS reason when there is one ("unable to open
 * database file (No such file or directory)"). */
static int sqlite_error(struct orr_diag *d, const char *path, const char *what, sqlite3 *db)
{
    char why[512];
    int sys = db ? sqlite3_system_errno(db) : 0;
    const char *msg = db ? sqlite3_errmsg(db) : "out of memory";
    if (sys && db && sqlite3_errcode(db) == SQLITE_CANTOPEN)
        snprintf(why, sizeof why, "%s (%s)", msg, strerror(sys));
    else
        snprintf(why, sizeof why, "%s", msg);
    return db_error(d, path, what, why);
}

static int exec(sqlite3 *db, const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }

static int read_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Inside one write transaction: refuse a newer schema, else create ours.
 * Taking the write lock first means two processes creating the same new
 * file cannot both see version 0 and race. */
static int ensure_schema(struct orr_results *r, struct orr_diag *d)
{
    int version = 0;
    if (exec(r->db, "BEGIN IMMEDIATE") != SQLITE_OK)
        return sqlite_error(d, r->path, "cannot open", r->db);
    if (read_user_version(r->db, &version) != SQLITE_OK) {
        sqlite_error(d, r->path, "cannot read schema version", r->db);
        goto fail;
    }
    if (version > SCHEMA_VERSION) {
        orr_diag_error(d, &(struct orr_mark){r->path, 0, 0}, NULL,
                       "database '%s' has schema version %d; this orrery understands %d",
                       r->path, version, SCHEMA_VERSION);
        goto fail;
    }
    if (version == 1 && exec(r->db, kMigrate1) != SQLITE_OK) {
        sqlite_error(d, r->path, "cannot upgrade schema 1 to 2", r->db);
        goto fail;
    }
    if (exec(r->db, kSchema) != SQLITE_OK) {
        sqlite_error(d, r->path, "cannot create schema", r->db);
        goto fail;
    }
    if (exec(r->db, "COMMIT") != SQLITE_OK) {
        sqlite_error(d, r->path, "cannot create schema", r->db);
        goto fail;
    }
    return 0;
fail:
    exec(r->db, "ROLLBACK");
    return ORR_EDB;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
}

static int prepare_statements(struct orr_results *r, struct orr_diag *d)
{
    if (prepare(r->db, kInsertRun, &r->pRun) || prepare(r->db, kInsertMetric, &r->pMetric) ||
        prepare(r->db, kInsertHist, &r->pHist) || prepare(r->db, kInsertBudget, &r->pBudget) ||
        prepare(r->db, kInsertScenario, &r->pScenario) ||
        prepare(r->db, kInsertSweep, &r->pSweep) || prepare(r->db, kSetPoint, &r->pPoint))
        return sqlite_error(d, r->path, "cannot prepare statements", r->db);
    return 0;
}

static void results_free(struct orr_results *r)
{
    sqlite3_finalize(r->pRun);
    sqlite3_finalize(r->pMetric);
    sqlite3_finalize(r->pHist);
    sqlite3_finalize(r->pBudget);
    sqlite3_finalize(r->pScenario);
    sqlite3_finalize(r->pSweep);
    sqlite3_finalize(r->pPoint);
    sqlite3_close(r->db);
    free(r->path);
    free(r);
}

/* A directory gets a clear message of its own; sqlite would only say it is
 * "unable to open database file". */
static int check_path(const char *path, bool *existed, struct orr_diag *d)
{
    struct stat st;
    *existed = stat(path, &st) == 0;
    if (*existed && S_ISDIR(st.st_mode))
        return db_error(d, path, "cannot open", "is a directory");
    return 0;
}

int orr_results_open(struct orr_results **out, const char *path, struct orr_diag *d)
{
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    struct orr_results *r = calloc(1, sizeof *r);
    bool existed = false, attempted = false;
    int rc = ORR_ENOMEM;
    *out = NULL;
    if (!r || !(r->path = malloc(strlen(path) + 1)))
        goto fail;
    strcpy(r->path, path);
    if ((rc = check_path(path, &existed, d)))
        goto fail;
    attempted = true;
    if (sqlite3_open_v2(path, &r->db, flags, NULL) != SQLITE_OK) {
        rc = sqlite_error(d, path, "cannot open", r->db);
        goto fail;
    }
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
    exec(r->db, "PRAGMA foreign_keys = ON");
    if (sqlite3_db_readonly(r->db, "main") == 1) {
        rc = db_error(d, path, "cannot open", "the file is read-only");
        goto fail;
    }
    if ((rc = ensure_schema(r, d)) || (rc = prepare_statements(r, d)))
        goto fail;
    r->created = !existed;
    if (r->created) {
        g_created = r;
        orr_oom_on_exit(orr_results_remove_new);
    }
    *out = r;
    return 0;
fail:
    if (r)
        results_free(r);
    if (attempted && !existed)
        unlink(path); /* we created it and could not make it a results database */
    return rc;
}

/* Whether a database this process created holds nothing but the schema:
 * no row was ever inserted, changed or deleted through this connection. */
static bool created_and_empty(const struct orr_results *db)
{
    return db->created && sqlite3_total_changes64(db->db) == 0;
}

void orr_results_close(struct orr_results *db)
{
    if (!db)
        return;
    if (g_created == db)
        g_created = NULL;
    char *remove = NULL;
    if (created_and_empty(db)) { /* keep the name past results_free */
        remove = db->path;
        db->path = NULL;
    }
    results_free(db);
    if (remove)
        unlink(remove); /* an exit-2 path after opening: leave no empty database */
    free(remove);
}

void orr_results_remove_new(void)
{
    struct orr_results *db = g_created;
    if (db && created_and_empty(db))
        unlink(db->path);
}

/* --- writing a run ------------------------------------------------------- */

static void hex64(char out[17], uint64_t v)
{
    snprintf(out, 17, "%016" PRIx64, v);
}

/* ISO-8601 UTC wall-clock time; results metadata only, never simulation input. */
static void now_iso8601(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        strcpy(out, "1970-01-01T00:00:00Z");
}

/* SQLite integers are signed 64-bit; values above INT64_MAX are stored as
 * their two's-complement bit pattern (see docs/results.md). */
static sqlite3_int64 u64_column(uint64_t v) { return (sqlite3_int64)v; }

/* Bind ?n as text, or NULL if s is NULL (NOT NULL columns then refuse it). */
static int bind_text(sqlite3_stmt *st, int n, const char *s)
{
    return s ? sqlite3_bind_text(st, n, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, n);
}

/* Step a fully bound insert and reset it for reuse. */
static int step_insert(sqlite3_stmt *st, int rc)
{
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int insert_run(struct orr_results *db, const struct orr_run_record *r)
{
    char started[32], hash[17], digest[17];
    sqlite3_stmt *st = db->pRun;
    now_iso8601(started);
    hex64(hash, r->scenario_hash);
    hex64(digest, r->digest);
    int rc = bind_text(st, 1, started);
    rc = rc ? rc : bind_text(st, 2, r->scenario);
    rc = rc ? rc : bind_text(st, 3, hash);
    rc = rc ? rc : bind_text(st, 4, r->overrides ? r->overrides : "");
    rc = rc ? rc : sqlite3_bind_int64(st, 5, u64_column(r->seed));
    rc = rc ? rc : bind_text(st, 6, r->build_id);
    rc = rc ? rc : bind_text(st, 7, r->status);
    rc = rc ? rc : sqlite3_bind_int64(st, 8, u64_column(r->sim_time));
    rc = rc ? rc : sqlite3_bind_double(st, 9, r->wall_time_s);
    rc = rc ? rc : sqlite3_bind_int64(st, 10, u64_column(r->events));
    rc = rc ? rc : bind_text(st, 11, digest);
    rc = rc ? rc : bind_text(st, 12, r->trace_path);
    rc = rc ? rc : bind_text(st, 13, r->stop_reason ? r->stop_reason : "");
    return step_insert(st, rc);
}

static int insert_metric(struct orr_results *db, int64_t run_id, const struct orr_metric *m)
{
    sqlite3_stmt *st = db->pMetric;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    rc = rc ? rc : bind_text(st, 2, m->component);
    rc = rc ? rc : bind_text(st, 3, m->name);
    rc = rc ? rc : sqlite3_bind_double(st, 4, m->value); /* NaN becomes NULL */
    rc = rc ? rc : bind_text(st, 5, m->unit ? m->unit : "");
    return step_insert(st, rc);
}

static int insert_hist(struct orr_results *db, int64_t run_id, const struct orr_hist_summary *h)
{
    sqlite3_stmt *st = db->pHist;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    rc = rc ? rc : bind_text(st, 2, h->component);
    rc = rc ? rc : bind_text(st, 3, h->name);
    rc = rc ? rc : bind_text(st, 4, h->unit ? h->unit : "");
    const uint64_t v[] = {h->count, h->min, h->max};
    for (int i = 0; i < 3 && !rc; i++)
        rc = sqlite3_bind_int64(st, 5 + i, u64_column(v[i]));
    rc = rc ? rc : sqlite3_bind_double(st, 8, h->mean);
    const uint64_t p[] = {h->p50, h->p90, h->p99, h->p999};
    for (int i = 0; i < 4 && !rc; i++)
        rc = sqlite3_bind_int64(st, 9 + i, u64_column(p[i]));
    return step_insert(st, rc);
}

static int insert_budget(struct orr_results *db, int64_t run_id, const struct orr_budget_row *b)
{
    sqlite3_stmt *st = db->pBudget;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    rc = rc ? rc : bind_text(st, 2, b->metric);
    rc = rc ? rc : bind_text(st, 3, b->bound);
    rc = rc ? rc : sqlite3_bind_double(st, 4, b->value);
    rc = rc ? rc : bind_text(st, 5, b->unit ? b->unit : "");
    rc = rc ? rc : sqlite3_bind_double(st, 6, b->margin);
    rc = rc ? rc : sqlite3_bind_int(st, 7, b->pass ? 1 : 0);
    return step_insert(st, rc);
}

static int insert_scenario(struct orr_results *db, int64_t run_id, const char *text)
{
    sqlite3_stmt *st = db->pScenario;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    rc = rc ? rc : bind_text(st, 2, text);
    return step_insert(st, rc);
}

static int insert_children(struct orr_results *db, const struct orr_run_record *r, int64_t id)
{
    int rc = r->effective_scenario ? insert_scenario(db, id, r->effective_scenario) : SQLITE_OK;
    for (size_t i = 0; i < r->nMetric && rc == SQLITE_OK; i++)
        rc = insert_metric(db, id, &r->aMetric[i]);
    for (size_t i = 0; i < r->nHist && rc == SQLITE_OK; i++)
        rc = insert_hist(db, id, &r->aHist[i]);
    for (size_t i = 0; i < r->nBudget && rc == SQLITE_OK; i++)
        rc = insert_budget(db, id, &r->aBudget[i]);
    return rc;
}

int orr_results_write_run(struct orr_results *db, const struct orr_run_record *r,
                          int64_t *run_id, struct orr_diag *d)
{
    if ((r->nMetric && !r->aMetric) || (r->nHist && !r->aHist) || (r->nBudget && !r->aBudget))
        return db_error(d, db->path, "cannot record run",
                        "metric, histogram or budget list missing");
    if (exec(db->db, "BEGIN IMMEDIATE") != SQLITE_OK)
        return sqlite_error(d, db->path, "cannot record run", db->db);
    int rc = insert_run(db, r);
    int64_t id = sqlite3_last_insert_rowid(db->db);
    if (rc == SQLITE_OK)
        rc = insert_children(db, r, id);
    if (rc == SQLITE_OK)
        rc = exec(db->db, "COMMIT");
    if (rc != SQLITE_OK) {
        sqlite_error(d, db->path, "cannot record run", db->db);
        exec(db->db, "ROLLBACK");
        return ORR_EDB;
    }
    if (run_id)
        *run_id = id;
    return 0;
}

/* --- sweeps -------------------------------------------------------------- */

static int insert_sweep(struct orr_results *db, const struct orr_sweep_record *s)
{
    char created[32], hash[17];
    sqlite3_stmt *st = db->pSweep;
    now_iso8601(created);
    hex64(hash, s->scenario_hash);
    int rc = bind_text(st, 1, created);
    rc = rc ? rc : bind_text(st, 2, s->scenario);
    rc = rc ? rc : bind_text(st, 3, hash);
    rc = rc ? rc : bind_text(st, 4, s->axes ? s->axes : "");
    rc = rc ? rc : sqlite3_bind_int64(st, 5, u64_column(s->repeat));
    rc = rc ? rc : sqlite3_bind_int64(st, 6, u64_column(s->sample));
    rc = rc ? rc : sqlite3_bind_int64(st, 7, u64_column(s->seed));
    return step_insert(st, rc);
}

static int insert_point(struct orr_results *db, int64_t sweep_id, const struct orr_sweep_point *p)
{
    sqlite3_stmt *st = db->pPoint;
    int rc = sqlite3_bind_int64(st, 1, sweep_id);
    rc = rc ? rc : sqlite3_bind_int64(st, 2, u64_column(p->point));
    rc = rc ? rc : sqlite3_bind_int64(st, 3, u64_column(p->repeat));
    rc = rc ? rc : sqlite3_bind_int64(st, 4, u64_column(p->seed));
    rc = rc ? rc : bind_text(st, 5, p->overrides ? p->overrides : "");
    rc = rc ? rc : p->run_id > 0 ? sqlite3_bind_int64(st, 6, p->run_id) : sqlite3_bind_null(st, 6);
    rc = rc ? rc : bind_text(st, 7, p->status ? p->status : ORR_SWEEP_PENDING);
    return step_insert(st, rc);
}

int orr_results_create_sweep(struct orr_results *db, const struct orr_sweep_record *s,
                             const struct orr_sweep_point *aPoint, size_t nPoint,
                             int64_t *sweep_id, struct orr_diag *d)
{
    if (nPoint && !aPoint)
        return db_error(d, db->path, "cannot record sweep", "point list missing");
    if (exec(db->db, "BEGIN IMMEDIATE") != SQLITE_OK)
        return sqlite_error(d, db->path, "cannot record sweep", db->db);
    int rc = insert_sweep(db, s);
    int64_t id = sqlite3_last_insert_rowid(db->db);
    for (size_t i = 0; i < nPoint && rc == SQLITE_OK; i++)
        rc = insert_point(db, id, &aPoint[i]);
    if (rc == SQLITE_OK)
        rc = exec(db->db, "COMMIT");
    if (rc != SQLITE_OK) {
        sqlite_error(d, db->path, "cannot record sweep", db->db);
        exec(db->db, "ROLLBACK");
        return ORR_EDB;
    }
    if (sweep_id)
        *sweep_id = id;
    return 0;
}

int orr_results_set_sweep_point(struct orr_results *db, int64_t sweep_id,
                                const struct orr_sweep_point *p, struct orr_diag *d)
{
    /* a single statement is its own transaction; the busy timeout covers
     * the children writing their runs at the same time */
    if (insert_point(db, sweep_id, p) != SQLITE_OK)
        return sqlite_error(d, db->path, "cannot record sweep point", db->db);
    return 0;
}

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    char *s = strdup(t ? (const char *)t : "");
    if (!s)
        orr_oom();
    return s;
}

static int read_points(struct orr_results *db, sqlite3_stmt *st, struct orr_sweep_info *out)
{
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->nPoint == cap) {
            cap = cap ? 2 * cap : 64;
            struct orr_sweep_point *a = realloc(out->aPoint, cap * sizeof *a);
            if (!a)
                orr_oom();
            out->aPoint = a;
        }
        struct orr_sweep_point *p = &out->aPoint[out->nPoint++];
        p->point = (uint64_t)sqlite3_column_int64(st, 0);
        p->repeat = (uint64_t)sqlite3_column_int64(st, 1);
        p->seed = (uint64_t)sqlite3_column_int64(st, 2);
        p->overrides = column_dup(st, 3);
        p->run_id = sqlite3_column_int64(st, 4); /* NULL reads as 0 */
        p->status = column_dup(st, 5);
    }
    (void)db;
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int orr_results_read_sweep(struct orr_results *db, int64_t id, struct orr_sweep_info *out,
                           struct orr_diag *d)
{
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    out->id = id;
    int rc = sqlite3_prepare_v2(db->db, kSelectSweep, -1, &st, NULL);
    rc = rc ? rc : sqlite3_bind_int64(st, 1, id);
    rc = rc ? rc : sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        orr_diag_error(d, &(struct orr_mark){db->path, 0, 0}, NULL,
                       "results database '%s' has no sweep %" PRId64, db->path, id);
        return ORR_ENOENT;
    }
    if (rc == SQLITE_ROW) {
        char *hash = column_dup(st, 1);
        out->rec.scenario = column_dup(st, 0);
        out->rec.scenario_hash = strtoull(hash, NULL, 16);
        out->rec.axes = column_dup(st, 2);
        out->rec.repeat = (uint64_t)sqlite3_column_int64(st, 3);
        out->rec.sample = (uint64_t)sqlite3_column_int64(st, 4);
        out->rec.seed = (uint64_t)sqlite3_column_int64(st, 5);
        free(hash);
        sqlite3_finalize(st);
        st = NULL;
        rc = sqlite3_prepare_v2(db->db, kSelectPoints, -1, &st, NULL);
        rc = rc ? rc : sqlite3_bind_int64(st, 1, id);
        rc = rc ? rc : read_points(db, st, out);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        sqlite_error(d, db->path, "cannot read sweep", db->db);
        orr_results_sweep_free(out);
        return ORR_EDB;
    }
    return 0;
}

void orr_results_sweep_free(struct orr_sweep_info *s)
{
    free((char *)s->rec.scenario);
    free((char *)s->rec.axes);
    for (size_t i = 0; i < s->nPoint; i++) {
        free((char *)s->aPoint[i].overrides);
        free((char *)s->aPoint[i].status);
    }
    free(s->aPoint);
    memset(s, 0, sizeof *s);
}

/* --- read side ----------------------------------------------------------- */

int orr_results_schema_version(void) { return SCHEMA_VERSION; }

/* --- explore ------------------------------------------------------------- */

static const char kInsertExplore[] =
    "INSERT INTO explores(created_at, scenario, scenario_hash, overrides, build_id, first_seed,"
    " seeds, from_ckpt) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char kInsertExploreSeed[] =
    "INSERT OR REPLACE INTO explore_seeds(explore_id, seed, status, property, location, detail,"
    " fail_time_ps, digest, events, firings, schedule, wall_time_s)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char kSelectExplore[] =
    "SELECT scenario, scenario_hash, overrides, build_id, first_seed, seeds, from_ckpt"
    " FROM explores WHERE id = ?1";
static const char kSelectExploreSeeds[] =
    "SELECT seed, status, property, location, detail, fail_time_ps, digest, events, firings,"
    " schedule, wall_time_s FROM explore_seeds WHERE explore_id = ?1 ORDER BY seed";
static const char kFindExploreSeed[] =
    "SELECT s.seed, s.status, s.property, s.location, s.detail, s.fail_time_ps, s.digest,"
    " s.events, s.firings, s.schedule, s.wall_time_s, s.explore_id FROM explore_seeds s"
    " JOIN explores e ON e.id = s.explore_id"
    " WHERE e.scenario_hash = ?1 AND e.overrides = ?2 AND s.seed = ?3 AND e.from_ckpt = ?4"
    " ORDER BY s.explore_id DESC LIMIT 1";

static int prepare_once(struct orr_results *db, const char *sql, sqlite3_stmt **st,
                        struct orr_diag *d)
{
    if (sqlite3_prepare_v2(db->db, sql, -1, st, NULL) != SQLITE_OK)
        return sqlite_error(d, db->path, "cannot prepare a statement", db->db);
    return 0;
}

int orr_results_create_explore(struct orr_results *db, const struct orr_explore_record *e,
                               int64_t *id, struct orr_diag *d)
{
    sqlite3_stmt *st;
    char created[32], hash[17];
    if (prepare_once(db, kInsertExplore, &st, d))
        return ORR_EDB;
    now_iso8601(created);
    hex64(hash, e->scenario_hash);
    int rc = bind_text(st, 1, created);
    rc = rc ? rc : bind_text(st, 2, e->scenario);
    rc = rc ? rc : bind_text(st, 3, hash);
    rc = rc ? rc : bind_text(st, 4, e->overrides);
    rc = rc ? rc : bind_text(st, 5, e->build_id);
    rc = rc ? rc : sqlite3_bind_int64(st, 6, u64_column(e->first_seed));
    rc = rc ? rc : sqlite3_bind_int64(st, 7, u64_column(e->seeds));
    rc = rc ? rc : bind_text(st, 8, e->from ? e->from : "");
    rc = step_insert(st, rc);
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return sqlite_error(d, db->path, "cannot store the explore", db->db);
    *id = sqlite3_last_insert_rowid(db->db);
    return 0;
}

int orr_results_add_explore_seed(struct orr_results *db, int64_t id,
                                 const struct orr_explore_seed *s, struct orr_diag *d)
{
    sqlite3_stmt *st;
    char digest[17];
    if (prepare_once(db, kInsertExploreSeed, &st, d))
        return ORR_EDB;
    hex64(digest, s->digest);
    int rc = sqlite3_bind_int64(st, 1, id);
    rc = rc ? rc : sqlite3_bind_int64(st, 2, u64_column(s->seed));
    rc = rc ? rc : bind_text(st, 3, s->status);
    rc = rc ? rc : bind_text(st, 4, s->property);
    rc = rc ? rc : bind_text(st, 5, s->location);
    rc = rc ? rc : bind_text(st, 6, s->detail);
    rc = rc ? rc : sqlite3_bind_int64(st, 7, u64_column(s->at));
    rc = rc ? rc : bind_text(st, 8, digest);
    rc = rc ? rc : sqlite3_bind_int64(st, 9, u64_column(s->events));
    rc = rc ? rc : sqlite3_bind_int64(st, 10, u64_column(s->firings));
    rc = rc ? rc : bind_text(st, 11, s->schedule);
    rc = rc ? rc : sqlite3_bind_double(st, 12, s->wall_time_s);
    rc = step_insert(st, rc);
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return sqlite_error(d, db->path, "cannot store an explore seed", db->db);
    return 0;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    char *s = strdup(t ? (const char *)t : "");
    if (!s)
        orr_oom();
    return s;
}

static void seed_row(sqlite3_stmt *st, struct orr_explore_seed *s)
{
    s->seed = (uint64_t)sqlite3_column_int64(st, 0);
    s->status = col_dup(st, 1);
    s->property = col_dup(st, 2);
    s->location = col_dup(st, 3);
    s->detail = col_dup(st, 4);
    s->at = (uint64_t)sqlite3_column_int64(st, 5);
    const unsigned char *dg = sqlite3_column_text(st, 6);
    s->digest = dg ? strtoull((const char *)dg, NULL, 16) : 0;
    s->events = (uint64_t)sqlite3_column_int64(st, 7);
    s->firings = (uint64_t)sqlite3_column_int64(st, 8);
    s->schedule = col_dup(st, 9);
    s->wall_time_s = sqlite3_column_double(st, 10);
}

void orr_results_explore_seed_free(struct orr_explore_seed *s)
{
    free((char *)s->status);
    free((char *)s->property);
    free((char *)s->location);
    free((char *)s->detail);
    free((char *)s->schedule);
    memset(s, 0, sizeof *s);
}

int orr_results_read_explore(struct orr_results *db, int64_t id, struct orr_explore_info *out,
                             struct orr_diag *d)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (prepare_once(db, kSelectExplore, &st, d))
        return ORR_EDB;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return sqlite_error(d, db->path, "cannot read explores", db->db);
        orr_diag_error(d, &(struct orr_mark){db->path, 0, 0}, NULL,
                       "results database '%s' has no explore %" PRId64, db->path, id);
        return ORR_ENOENT;
    }
    out->id = id;
    out->scenario = col_dup(st, 0);
    const unsigned char *h = sqlite3_column_text(st, 1);
    out->scenario_hash = h ? strtoull((const char *)h, NULL, 16) : 0;
    out->overrides = col_dup(st, 2);
    out->build_id = col_dup(st, 3);
    out->first_seed = (uint64_t)sqlite3_column_int64(st, 4);
    out->seeds = (uint64_t)sqlite3_column_int64(st, 5);
    out->from = col_dup(st, 6);
    sqlite3_finalize(st);
    if (prepare_once(db, kSelectExploreSeeds, &st, d))
        return ORR_EDB;
    sqlite3_bind_int64(st, 1, id);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->nSeed == cap) {
            cap = cap ? cap * 2 : 64;
            out->aSeed = realloc(out->aSeed, cap * sizeof *out->aSeed);
            if (!out->aSeed)
                orr_oom();
        }
        seed_row(st, &out->aSeed[out->nSeed++]);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sqlite_error(d, db->path, "cannot read explore seeds", db->db);
    return 0;
}

void orr_results_explore_free(struct orr_explore_info *e)
{
    for (size_t i = 0; i < e->nSeed; i++)
        orr_results_explore_seed_free(&e->aSeed[i]);
    free(e->aSeed);
    free((char *)e->scenario);
    free((char *)e->overrides);
    free((char *)e->build_id);
    free((char *)e->from);
    memset(e, 0, sizeof *e);
}

int orr_results_find_explore_seed(struct orr_results *db, uint64_t scenario_hash,
                                  const char *overrides, const char *from, uint64_t seed,
                                  struct orr_explore_seed *out, int64_t *explore_id,
                                  struct orr_diag *d)
{
    sqlite3_stmt *st;
    char hash[17];
    memset(out, 0, sizeof *out);
    if (prepare_once(db, kFindExploreSeed, &st, d))
        return ORR_EDB;
    hex64(hash, scenario_hash);
    bind_text(st, 1, hash);
    bind_text(st, 2, overrides);
    sqlite3_bind_int64(st, 3, u64_column(seed));
    bind_text(st, 4, from ? from : "");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        seed_row(st, out);
        *explore_id = sqlite3_column_int64(st, 11);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return sqlite_error(d, db->path, "cannot read explore seeds", db->db);
    return ORR_ENOENT;
}
