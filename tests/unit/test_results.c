/* Tests for the results store: schema creation, writing a run in one
 * transaction, refusing unusable paths and newer schemas, and leaving no
 * rows (and no stray files) behind on failure. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orrery/error.h"
#include "orrery/results.h"


/* A fresh path in the scratch directory (any earlier file removed). */
static void db_path(char *buf, size_t n, const char *name)
{
    tmpdir_path(buf, n, name);
    unlink(buf);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static const struct orr_metric kMetrics[] = {
    {"node0.core0", "ipc", 1.25, ""},
    {"node0.mem", "bytes_read", 4096, "B"},
    {"", "events", 1000, ""},
};

static const struct orr_hist_summary kHists[] = {
    {"node0.mem", "latency", "ps", 100, 50000, 250000, 91234.5, 80000, 150000, 200000, 249000},
};

static struct orr_run_record make_run(void)
{
    struct orr_run_record r = {
        .scenario = "scenarios/demo.yaml", .scenario_hash = 0xabcdef0123456789ull,
        .overrides = "a=1", .seed = 7, .build_id = "orrery-test", .status = "ok",
        .stop_reason = "duration reached",
        .sim_time = 123456789, .wall_time_s = 0.5, .events = 1000, .digest = 0x00000000deadbeefull,
        .trace_path = "run.trace", .nMetric = 3, .aMetric = kMetrics, .nHist = 1, .aHist = kHists,
    };
    return r;
}

/* Run one query that yields a single value and return it as text. */
static char *query1(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *s = strdup(t ? (const char *)t : "NULL");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

static void assert_query(const char *path, const char *sql, const char *want)
{
    char *got = query1(path, sql);
    assert_string_equal(got, want);
    free(got);
}

static void test_schema_created(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "schema.db");
    struct orr_diag d = {0};
    struct orr_results *db;
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    /* read through a second connection while the first is open */
    assert_query(path, "PRAGMA user_version", "2");
    assert_query(path,
                 "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master"
                 " WHERE type IN ('table', 'index') ORDER BY name)",
                 "budgets,budgets_run_id,explore_seeds,explores,histograms,histograms_run_id,"
                 "metrics,metrics_run_id,run_scenarios,runs,sqlite_autoindex_explore_seeds_1,"
                 "sqlite_autoindex_sweep_points_1,sweep_points,sweeps");
    assert_query(path, "SELECT count(*) FROM runs", "0");
    /* Opening again is harmless. */
    struct orr_results *db2;
    assert_int_equal(orr_results_open(&db2, path, &d), 0);
    orr_results_close(db2);
    assert_true(exists(path)); /* the second open did not create it */
    orr_results_close(db);
    assert_int_equal(orr_diag_count(&d), 0);
    orr_diag_free(&d);
}

/* A database this process created and stored nothing in is removed when
 * closed (an exit-2 path after opening leaves no empty database); one that
 * received a run, or that existed before, stays. */
static void test_empty_new_database_removed(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "empty.db");
    struct orr_diag d = {0};
    struct orr_results *db;
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    assert_true(exists(path));
    orr_results_close(db);
    assert_false(exists(path));
    /* with a run: kept */
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    struct orr_run_record r = make_run();
    int64_t id = 0;
    assert_int_equal(orr_results_write_run(db, &r, &id, &d), 0);
    orr_results_close(db);
    assert_true(exists(path));
    /* existing: kept though nothing is written this time */
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    orr_results_close(db);
    assert_true(exists(path));
    assert_query(path, "SELECT count(*) FROM runs", "1");
    /* orr_results_remove_new: only the database this process created */
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    orr_results_remove_new();
    assert_true(exists(path));
    orr_results_close(db);
    char fresh[128];
    db_path(fresh, sizeof fresh, "fresh.db");
    assert_int_equal(orr_results_open(&db, fresh, &d), 0);
    orr_results_remove_new();
    assert_false(exists(fresh));
    orr_results_close(db);
    assert_int_equal(orr_diag_count(&d), 0);
    orr_diag_free(&d);
}

static void test_write_run(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "run.db");
    struct orr_diag d = {0};
    struct orr_results *db;
    struct orr_run_record r = make_run();
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    assert_int_equal(orr_results_write_run(db, &r, &id1, &d), 0);
    r.seed = UINT64_MAX; /* beyond INT64_MAX: stored as its bit pattern */
    r.trace_path = NULL;
    r.status = "interrupted";
    r.stop_reason = "interrupted";
    assert_int_equal(orr_results_write_run(db, &r, &id2, &d), 0);
    orr_results_close(db);
    assert_true(id1 > 0 && id2 == id1 + 1);
    assert_int_equal(orr_diag_count(&d), 0);

    assert_query(path,
                 "SELECT scenario || '|' || scenario_hash || '|' || overrides || '|' || seed"
                 " || '|' || build_id || '|' || status || '|' || sim_time_ps || '|' ||"
                 " wall_time_s || '|' || events || '|' || digest || '|' || trace_path"
                 " || '|' || stop_reason FROM runs WHERE id = 1",
                 "scenarios/demo.yaml|abcdef0123456789|a=1|7|orrery-test|ok|123456789|0.5|1000|"
                 "00000000deadbeef|run.trace|duration reached");
    assert_query(path, "SELECT length(started_at) || substr(started_at, 11, 1) ||"
                       " substr(started_at, 20) FROM runs WHERE id = 1",
                 "20TZ");
    assert_query(path, "SELECT seed || ',' || quote(trace_path) || ',' || status FROM runs"
                       " WHERE id = 2",
                 "-1,NULL,interrupted");
    assert_query(path, "SELECT count(*) FROM metrics WHERE run_id = 1", "3");
    assert_query(path, "SELECT value || unit FROM metrics WHERE run_id = 1 AND"
                       " component = 'node0.mem' AND name = 'bytes_read'",
                 "4096.0B");
    assert_query(path, "SELECT quote(component) FROM metrics WHERE name = 'events' LIMIT 1", "''");
    assert_query(path,
                 "SELECT count || ',' || min || ',' || max || ',' || mean || ',' || p50 || ','"
                 " || p90 || ',' || p99 || ',' || p999 || ',' || unit FROM histograms"
                 " WHERE run_id = 1",
                 "100,50000,250000,91234.5,80000,150000,200000,249000,ps");
    orr_diag_free(&d);
}

static void test_failed_write_leaves_no_rows(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "fail.db");
    struct orr_diag d = {0};
    struct orr_results *db;
    struct orr_run_record r = make_run();
    struct orr_metric bad[] = {{"node0", "ok", 1, ""}, {"node0", NULL, 2, ""}};
    r.aMetric = bad;
    r.nMetric = 2;
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    assert_int_equal(orr_results_write_run(db, &r, NULL, &d), ORR_EDB);
    assert_int_equal(orr_diag_count(&d), 1);
    assert_non_null(strstr(d.aMsg[0].text, "NOT NULL"));

    r = make_run();
    r.status = "half-done"; /* refused by the CHECK constraint */
    assert_int_equal(orr_results_write_run(db, &r, NULL, &d), ORR_EDB);
    assert_int_equal(orr_diag_count(&d), 2);

    /* The handle is still usable after a rollback. */
    r = make_run();
    int64_t id = 0;
    assert_int_equal(orr_results_write_run(db, &r, &id, &d), 0);
    orr_results_close(db);
    assert_query(path, "SELECT count(*) FROM runs", "1");
    assert_query(path, "SELECT count(*) FROM metrics", "3");
    assert_query(path, "SELECT count(*) FROM metrics WHERE component = 'node0'", "0");
    assert_query(path, "SELECT count(*) FROM histograms", "1");
    orr_diag_free(&d);
}

static void test_failed_write_first_run(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "fail1.db");
    struct orr_diag d = {0};
    struct orr_results *db;
    struct orr_run_record r = make_run();
    struct orr_hist_summary bad = kHists[0];
    bad.component = NULL;
    r.aHist = &bad;
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    assert_int_equal(orr_results_write_run(db, &r, NULL, &d), ORR_EDB);
    orr_results_close(db);
    assert_query(path, "SELECT count(*) FROM runs", "0");
    assert_query(path, "SELECT count(*) FROM metrics", "0");
    assert_query(path, "SELECT count(*) FROM histograms", "0");
    orr_diag_free(&d);
}

/* open must fail with ORR_EDB, name the path, and create nothing. */
static void expect_unusable(const char *path, const char *reason)
{
    struct orr_diag d = {0};
    struct orr_results *db = (void *)1;
    bool existed = exists(path);
    assert_int_equal(orr_results_open(&db, path, &d), ORR_EDB);
    assert_null(db);
    assert_int_equal(orr_diag_count(&d), 1);
    assert_non_null(strstr(d.aMsg[0].text, path));
    if (!strstr(d.aMsg[0].text, reason))
        fail_msg("message '%s' lacks '%s'", d.aMsg[0].text, reason);
    assert_int_equal(exists(path), existed);
    char journal[200];
    snprintf(journal, sizeof journal, "%s-journal", path);
    assert_false(exists(journal));
    orr_diag_free(&d);
}

static void test_unusable_paths(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof path, "%s/no/such/dir/x.db", tmpdir());
    expect_unusable(path, "No such file or directory");

    expect_unusable(tmpdir(), "is a directory");

    db_path(path, sizeof path, "notes.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 100; i++)
        fputs("this is a text file, not a database\n", f);
    fclose(f);
    expect_unusable(path, "not a database");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 3600); /* untouched */
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "future.db");
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE TABLE runs(x); PRAGMA user_version = 7", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);

    struct orr_diag d = {0};
    struct orr_results *db;
    assert_int_equal(orr_results_open(&db, path, &d), ORR_EDB);
    char want[256];
    snprintf(want, sizeof want, "database '%s' has schema version 7; this orrery understands 2",
             path);
    assert_string_equal(d.aMsg[0].text, want);
    assert_true(exists(path));
    assert_query(path, "PRAGMA user_version", "7");
    orr_diag_free(&d);
}

/* A version-1 file (explores without from_ckpt) gains the column on open,
 * keeps its rows, and says version 2 from then on. */
static void test_schema_1_upgraded(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "v1.db");
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw,
                                  "CREATE TABLE explores(id INTEGER PRIMARY KEY, created_at TEXT "
                                  "NOT NULL, scenario TEXT NOT NULL, scenario_hash TEXT NOT NULL, "
                                  "overrides TEXT NOT NULL, build_id TEXT NOT NULL, first_seed "
                                  "INTEGER NOT NULL, seeds INTEGER NOT NULL);"
                                  "INSERT INTO explores VALUES(1, 't', 's.yaml', '00', '', 'b', 1, "
                                  "5); PRAGMA user_version = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
    struct orr_diag d = {0};
    struct orr_results *db;
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    orr_results_close(db);
    assert_query(path, "PRAGMA user_version", "2");
    assert_query(path, "SELECT scenario || '|' || from_ckpt FROM explores WHERE id = 1",
                 "s.yaml|");
    orr_diag_free(&d);
}

/* Two handles on one file: each write waits for the other's lock. */
static void test_two_writers(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "shared.db");
    struct orr_diag d = {0};
    struct orr_results *a, *b;
    struct orr_run_record r = make_run();
    assert_int_equal(orr_results_open(&a, path, &d), 0);
    assert_int_equal(orr_results_open(&b, path, &d), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(orr_results_write_run(a, &r, NULL, &d), 0);
        assert_int_equal(orr_results_write_run(b, &r, NULL, &d), 0);
    }
    orr_results_close(a);
    orr_results_close(b);
    assert_query(path, "SELECT count(*) FROM runs", "10");
    assert_query(path, "SELECT count(*) FROM metrics", "30");
    orr_diag_free(&d);
}

/* A sweep and its pending points go in together; a point is replaced by
 * its key; reading back gives the record and the points in order. */
static void test_sweep_rows(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "sweep.db");
    struct orr_diag d = {0};
    struct orr_results *db;
    struct orr_run_record r = make_run();
    const struct orr_sweep_record s = {
        .scenario = "s.yaml", .scenario_hash = 0x0123456789abcdefull,
        .axes = "a=1ns..2ns:1ns\nb=x,y", .repeat = 2, .sample = 0, .seed = 5};
    struct orr_sweep_point p[] = {
        {0, 0, 5, "a=1ns\nb=x", 0, ORR_SWEEP_PENDING},
        {0, 1, 6, "a=1ns\nb=x", 0, ORR_SWEEP_PENDING},
        {1, 0, 5, "a=1ns\nb=y", 0, ORR_SWEEP_PENDING},
    };
    int64_t sweep_id = 0, run_id = 0;
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    assert_int_equal(orr_results_create_sweep(db, &s, p, 3, &sweep_id, &d), 0);
    assert_int_equal(orr_results_write_run(db, &r, &run_id, &d), 0);
    p[1].run_id = run_id;
    p[1].status = ORR_SWEEP_OK;
    assert_int_equal(orr_results_set_sweep_point(db, sweep_id, &p[1], &d), 0);

    struct orr_sweep_info info;
    assert_int_equal(orr_results_read_sweep(db, sweep_id, &info, &d), 0);
    assert_string_equal(info.rec.scenario, "s.yaml");
    assert_true(info.rec.scenario_hash == 0x0123456789abcdefull);
    assert_string_equal(info.rec.axes, "a=1ns..2ns:1ns\nb=x,y");
    assert_int_equal(info.rec.repeat, 2);
    assert_int_equal(info.rec.seed, 5);
    assert_int_equal(info.nPoint, 3);
    assert_string_equal(info.aPoint[1].status, "ok");
    assert_int_equal(info.aPoint[1].run_id, run_id);
    assert_int_equal(info.aPoint[2].run_id, 0);
    assert_string_equal(info.aPoint[2].overrides, "a=1ns\nb=y");
    orr_results_sweep_free(&info);
    assert_int_equal(orr_diag_count(&d), 0);
    assert_int_equal(orr_results_read_sweep(db, sweep_id + 1, &info, &d), ORR_ENOENT);
    assert_int_equal(orr_diag_count(&d), 1);
    orr_results_close(db);
    assert_query(path, "SELECT count(*) FROM sweep_points WHERE run_id IS NULL", "2");
    assert_query(path, "SELECT status FROM sweep_points WHERE point = 0 AND repeat = 1", "ok");
    orr_diag_free(&d);
}

/* Explore rows: written, read back in seed order, a seed found by its
 * scenario hash and overrides (the newest explore's row wins), a seed
 * stored twice replaced, a missing explore or seed ORR_ENOENT. */
static void test_explore_rows(void **state)
{
    (void)state;
    char path[128];
    db_path(path, sizeof path, "explore.db");
    struct orr_diag d = {0};
    struct orr_results *db;
    const struct orr_explore_record e = {.scenario = "x.yaml", .scenario_hash = 0xfedcba9876543210ull,
                                         .overrides = "a=1", .build_id = "b1", .first_seed = 10,
                                         .seeds = 5};
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(orr_results_open(&db, path, &d), 0);
    assert_int_equal(orr_results_create_explore(db, &e, &id1, &d), 0);
    struct orr_explore_seed s = {.seed = 12, .status = ORR_EXPLORE_FAIL, .property = "failure",
                                 .location = "n0.ar", .detail = "stalled", .at = 123456,
                                 .digest = 0x8000000000000001ull, .events = 99, .firings = 3,
                                 .schedule = "  - {at: 1us, component: sw, fault: loss}\n",
                                 .wall_time_s = 0.5};
    assert_int_equal(orr_results_add_explore_seed(db, id1, &s, &d), 0);
    struct orr_explore_seed p = {.seed = 10, .status = ORR_EXPLORE_PASS, .property = "",
                                 .location = "", .detail = "", .schedule = ""};
    assert_int_equal(orr_results_add_explore_seed(db, id1, &p, &d), 0);
    p.events = 7; /* stored again: replaced */
    assert_int_equal(orr_results_add_explore_seed(db, id1, &p, &d), 0);

    struct orr_explore_info info;
    assert_int_equal(orr_results_read_explore(db, id1, &info, &d), 0);
    assert_string_equal(info.scenario, "x.yaml");
    assert_true(info.scenario_hash == 0xfedcba9876543210ull);
    assert_string_equal(info.overrides, "a=1");
    assert_int_equal(info.first_seed, 10);
    assert_int_equal(info.seeds, 5);
    assert_int_equal(info.nSeed, 2);
    assert_int_equal(info.aSeed[0].seed, 10);
    assert_int_equal(info.aSeed[0].events, 7);
    assert_int_equal(info.aSeed[1].seed, 12);
    assert_true(info.aSeed[1].digest == 0x8000000000000001ull);
    assert_string_equal(info.aSeed[1].schedule, s.schedule);
    orr_results_explore_free(&info);

    /* a second explore of the same scenario: its row is the one found */
    assert_int_equal(orr_results_create_explore(db, &e, &id2, &d), 0);
    s.events = 1234;
    assert_int_equal(orr_results_add_explore_seed(db, id2, &s, &d), 0);
    struct orr_explore_seed got;
    int64_t from = 0;
    assert_int_equal(orr_results_find_explore_seed(db, e.scenario_hash, "a=1", NULL, 12, &got, &from, &d), 0);
    assert_int_equal(from, id2);
    assert_int_equal(got.events, 1234);
    assert_int_equal(got.at, 123456);
    assert_string_equal(got.property, "failure");
    orr_results_explore_seed_free(&got);
    assert_int_equal(orr_diag_count(&d), 0);
    assert_int_equal(orr_results_find_explore_seed(db, e.scenario_hash, "a=2", NULL, 12, &got, &from, &d),
                     ORR_ENOENT);
    assert_int_equal(orr_results_find_explore_seed(db, e.scenario_hash, "a=1", NULL, 11, &got, &from, &d),
                     ORR_ENOENT);
    /* an explore --from a checkpoint is another explore */
    assert_int_equal(orr_results_find_explore_seed(db, e.scenario_hash, "a=1", "q.ckpt@5ps#0a", 12,
                                                   &got, &from, &d),
                     ORR_ENOENT);
    assert_int_equal(orr_results_read_explore(db, id2 + 1, &info, &d), ORR_ENOENT);
    assert_int_equal(orr_diag_count(&d), 1);
    orr_results_close(db);
    assert_query(path, "SELECT count(*) FROM explore_seeds", "3");
    orr_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_created),
        cmocka_unit_test(test_empty_new_database_removed),
        cmocka_unit_test(test_write_run),
        cmocka_unit_test(test_failed_write_leaves_no_rows),
        cmocka_unit_test(test_failed_write_first_run),
        cmocka_unit_test(test_unusable_paths),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_two_writers),
        cmocka_unit_test(test_schema_1_upgraded),
        cmocka_unit_test(test_sweep_rows),
        cmocka_unit_test(test_explore_rows),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
