/* Tests for `orrery diff`'s engine: equal traces, divergence found at exactly
 * the right event wherever it is (first, middle, last, segment edges, with
 * different checkpoint intervals), prefixes, deltas, and bad input. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/diff.h"
#include "orrery/error.h"
#include "orrery/trace.h"


/* --- trace fixtures -------------------------------------------------------- */

#define NO_CHANGE UINT64_MAX

/* What to write: n records of a fixed stream, optionally with one field of
 * record `change_at` altered, under some identity and final metrics. */
struct spec {
    uint64_t every, n, change_at;
    int field;           /* which field change_at alters: 0 a, 1 comp, 2 time */
    uint64_t seed;
    double ipc;          /* value of metric node0.core0.ipc */
    bool extra_metric;   /* add a metric only this trace has */
};

static struct spec base_spec(void)
{
    return (struct spec){.every = 7, .n = 100, .change_at = NO_CHANGE, .seed = 1, .ipc = 1.5};
}

static struct orr_trace_rec gen_rec(const struct spec *s, uint64_t i)
{
    struct orr_trace_rec r = {
        .time = i * 1000 + 1, .comp = (uint32_t)(i % 3), .origin = (uint32_t)((i + 2) % 3),
        .kind = (uint16_t)(i % 2), .port = 1, .size = 64, .a = i, .b = i * i};
    if (i == s->change_at) {
        if (s->field == 0)
            r.a += 1000;
        else if (s->field == 1)
            r.comp = (r.comp + 1) % 3;
        else
            r.time += 1;
    }
    return r;
}

static char *kPath[] = {"node0.core0", "node0.core1", "node0.mem"};
static char *kType[] = {"cpu", "cpu", "dram"};

static void write_trace(const char *path, const struct spec *s)
{
    struct orr_trace_header h = {
        .scenario = "scenarios/demo.yaml", .scenario_hash = 0x1111222233334444ull,
        .seed = s->seed, .build_id = "orrery-test", .overrides = "",
        .checkpoint_every = s->every, .nComp = 3, .aCompPath = kPath, .aCompType = kType};
    struct orr_diag d = {0};
    struct orr_trace_writer *w;
    struct orr_digest dg;
    uint64_t counts[3] = {0};
    assert_int_equal(orr_digest_init(&dg), 0);
    assert_int_equal(orr_trace_writer_open(&w, path, &h, &d), 0);
    for (uint64_t i = 0; i < s->n; i++) {
        struct orr_trace_rec r = gen_rec(s, i);
        uint8_t buf[ORR_TRACE_REC_BYTES];
        orr_trace_rec_encode(&r, buf);
        orr_digest_add(&dg, buf);
        counts[r.comp]++;
        assert_int_equal(orr_trace_writer_append(w, &r, orr_digest_value(&dg)), 0);
    }
    struct orr_trace_metric m[] = {{"node0.core0.ipc", s->ipc, ""},
                                   {"node0.mem.bytes", 4096, "B"},
                                   {"node0.zz.extra", 3, ""}};
    struct orr_trace_footer f = {.nRec = s->n, .digest = orr_digest_value(&dg),
                                 .sim_time = s->n * 1000, .nComp = 3, .aCompEvents = counts,
                                 .nMetric = s->extra_metric ? 3 : 2, .aMetric = m};
    assert_int_equal(orr_trace_writer_finish(w, &f), 0);
    orr_digest_free(&dg);
    orr_diag_free(&d);
}

static void trace_path(char *buf, size_t n, const char *name)
{
    tmpdir_path(buf, n, name);
}

/* Run the diff and capture its output. */
struct result {
    int rc;
    char *out;
    size_t nDiag;
};

static struct result run_diff(const struct spec *a, const struct spec *b, unsigned context,
                              bool json)
{
    char pa[128], pb[128];
    trace_path(pa, sizeof pa, "a.trace");
    trace_path(pb, sizeof pb, "b.trace");
    write_trace(pa, a);
    write_trace(pb, b);
    struct result res = {0};
    size_t n;
    FILE *out = open_memstream(&res.out, &n);
    struct orr_diag d = {0};
    struct orr_diff_opts o = {.context = context, .json = json};
    res.rc = orr_diff_run(pa, pb, &o, out, &d);
    fclose(out);
    res.nDiag = orr_diag_count(&d);
    orr_diag_free(&d);
    return res;
}

/* The index in "first divergence at event #N", or -1. */
static long reported_index(const char *out)
{
    const char *p = strstr(out, "first divergence at event #");
    return p ? strtol(p + strlen("first divergence at event #"), NULL, 10) : -1;
}

static size_t count_lines_starting(const char *out, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (const char *p = out; p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, prefix, len) == 0)
            n++;
    }
    return n;
}

/* --- tests ------------------------------------------------------------------ */

static void test_equal_traces(void **state)
{
    (void)state;
    struct spec a = base_spec();
    struct result r = run_diff(&a, &a, 5, false);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.nDiag, 0);
    assert_non_null(strstr(r.out, "traces are identical: 100 events"));
    assert_null(strstr(r.out, "differs:"));
    assert_null(strstr(r.out, "metrics"));
    free(r.out);

    r = run_diff(&a, &a, 5, true);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "\"equal\": true"));
    assert_non_null(strstr(r.out, "\"divergence\": null"));
    free(r.out);
}

static void test_divergence_found_exactly(void **state)
{
    (void)state;
    /* every = 7: 0 first, 6/7/8 around the first segment edge, 49 middle,
     * 98 the start of the last (partial) segment, 99 the last record. */
    const uint64_t at[] = {0, 1, 6, 7, 8, 13, 14, 49, 50, 97, 98, 99};
    for (int field = 0; field < 3; field++) {
        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
            struct spec a = base_spec(), b = base_spec();
            b.change_at = at[k];
            b.field = field;
            struct result r = run_diff(&a, &b, 3, false);
            assert_int_equal(r.rc, 1);
            if (reported_index(r.out) != (long)at[k])
                fail_msg("changed #%" PRIu64 " field %d, diff reported:\n%s", at[k], field, r.out);
            free(r.out);
        }
    }
}

static void test_divergence_with_other_intervals(void **state)
{
    (void)state;
    const uint64_t every[][2] = {{7, 5}, {5, 7}, {1, 1}, {1, 64}, {64, 64}, {3, 6}};
    for (size_t k = 0; k < sizeof every / sizeof every[0]; k++) {
        for (uint64_t at = 0; at < 100; at += 11) {
            struct spec a = base_spec(), b = base_spec();
            a.every = every[k][0];
            b.every = every[k][1];
            b.change_at = at;
            struct result r = run_diff(&a, &b, 2, false);
            assert_int_equal(r.rc, 1);
            assert_int_equal(reported_index(r.out), (long)at);
            free(r.out);
        }
    }
}

static void test_text_report(void **state)
{
    (void)state;
    struct spec a = base_spec(), b = base_spec();
    b.change_at = 20;
    b.seed = 2;
    struct result r = run_diff(&a, &b, 5, false);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.out, "differs: seed\n"));
    assert_non_null(strstr(r.out, "first divergence at event #20 (t=0.020001us)"));
    /* Five common records before, the pair, five after on each side. */
    assert_int_equal(count_lines_starting(r.out, "   #"), 15);
    assert_int_equal(count_lines_starting(r.out, "A  #20 "), 1);
    assert_int_equal(count_lines_starting(r.out, "B  #20 "), 1);
    assert_non_null(strstr(r.out, "   #15 "));
    assert_null(strstr(r.out, "   #14 "));
    assert_non_null(strstr(r.out, "fields that differ: a\n"));
    free(r.out);

    /* Near the start there are fewer records of context before. */
    b.change_at = 2;
    r = run_diff(&a, &b, 5, false);
    assert_int_equal(count_lines_starting(r.out, "   #"), 12);
    free(r.out);
}

static void test_prefix(void **state)
{
    (void)state;
    struct spec a = base_spec(), b = base_spec();
    a.n = 50;
    b.n = 80;
    struct result r = run_diff(&a, &b, 3, false);
    assert_int_equal(r.rc, 1);
    assert_int_equal(reported_index(r.out), 50);
    assert_non_null(strstr(r.out, "A  (trace ends after 50 events)"));
    assert_int_equal(count_lines_starting(r.out, "B  #50 "), 1);
    free(r.out);

    r = run_diff(&b, &a, 3, false);
    assert_int_equal(r.rc, 1);
    assert_int_equal(reported_index(r.out), 50);
    assert_non_null(strstr(r.out, "B  (trace ends after 50 events)"));
    free(r.out);

    a.n = 0;
    r = run_diff(&a, &b, 3, true);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.out, "\"index\": 0,"));
    assert_non_null(strstr(r.out, "\"a\": null"));
    free(r.out);

    a.n = 49; /* ends inside a segment */
    b.n = 56; /* ends on a segment edge */
    r = run_diff(&a, &b, 3, false);
    assert_int_equal(reported_index(r.out), 49);
    free(r.out);
}

static void test_json_report(void **state)
{
    (void)state;
    struct spec a = base_spec(), b = base_spec();
    b.change_at = 42;
    b.field = 1; /* a different component: counts differ too */
    b.ipc = 1.2;
    b.extra_metric = true;
    struct result r = run_diff(&a, &b, 1, true);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.out, "\"equal\": false"));
    assert_non_null(strstr(r.out, "\"index\": 42,"));
    assert_non_null(strstr(r.out, "\"fields\": [\n      \"component\"\n    ]"));
    assert_non_null(strstr(r.out, "\"name\": \"node0.core0.ipc\""));
    assert_non_null(strstr(r.out, "\"name\": \"node0.zz.extra\""));
    assert_null(strstr(r.out, "\"name\": \"node0.mem.bytes\""));
    assert_non_null(strstr(r.out, "\"delta\": -1"));
    assert_non_null(strstr(r.out, "\"delta\": 1"));
    free(r.out);
}

static void test_deltas_text(void **state)
{
    (void)state;
    struct spec a = base_spec(), b = base_spec();
    b.change_at = 42; /* comp 0 -> 1 */
    b.field = 1;
    b.ipc = 1.2;
    b.extra_metric = true;
    struct result r = run_diff(&a, &b, 1, false);
    const char *comps = strstr(r.out, "events per component");
    assert_non_null(comps);
    const char *c0 = strstr(comps, "node0.core0"), *c1 = strstr(comps, "node0.core1");
    assert_non_null(c0);
    assert_non_null(c1);
    assert_true(c0 < c1); /* equal |delta|: by id */
    assert_null(strstr(comps, "node0.mem "));
    const char *metrics = strstr(r.out, "metrics (only those that differ)");
    assert_non_null(metrics);
    assert_non_null(strstr(metrics, "-20.00%"));
    assert_non_null(strstr(metrics, "(missing)"));
    assert_null(strstr(metrics, "node0.mem.bytes"));
    free(r.out);
}

static void test_equal_records_different_metrics(void **state)
{
    (void)state;
    struct spec a = base_spec(), b = base_spec();
    b.ipc = 2.0;
    struct result r = run_diff(&a, &b, 5, false);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.out, "traces are identical"));
    assert_non_null(strstr(r.out, "node0.core0.ipc"));
    free(r.out);
}

static void test_bad_input(void **state)
{
    (void)state;
    char good[128], bad[128], missing[128];
    trace_path(good, sizeof good, "good.trace");
    trace_path(bad, sizeof bad, "bad.trace");
    trace_path(missing, sizeof missing, "missing.trace");
    struct spec s = base_spec();
    write_trace(good, &s);

    FILE *f = fopen(good, "rb");
    assert_non_null(f);
    uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 100 && n < sizeof buf);

    struct orr_diag d = {0};
    char *text = NULL;
    size_t len;
    FILE *out = open_memstream(&text, &len);

    assert_int_equal(orr_diff_run(good, missing, NULL, out, &d), ORR_ENOENT);
    assert_int_equal(orr_diag_count(&d), 1);

    f = fopen(bad, "wb");
    fwrite(buf, 1, n - 30, f); /* no end marker */
    fclose(f);
    assert_int_equal(orr_diff_run(bad, good, NULL, out, &d), ORR_ETRUNC);

    /* A trace that differs in segment 4 (records 28..34), with a flipped
     * byte there: caught only when the diff reads that segment. */
    s.change_at = 30;
    write_trace(bad, &s);
    f = fopen(bad, "rb");
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct orr_trace_reader *tr;
    assert_int_equal(orr_trace_open(&tr, bad, &d), 0);
    size_t seg = (size_t)orr_trace_footer(tr)->aCheckpoint[4].offset;
    orr_trace_close(tr);
    buf[seg + 10] ^= 0x10;
    f = fopen(bad, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    int rc = orr_diff_run(good, bad, NULL, out, &d);
    assert_int_equal(rc, ORR_ECORRUPT);
    assert_int_equal(orr_diag_count(&d), 3);
    assert_non_null(strstr(d.aMsg[2].text, "corrupt"));

    assert_int_equal(orr_diff_run(missing, missing, NULL, out, &d), ORR_ENOENT);
    assert_int_equal(orr_diag_count(&d), 5); /* both named */
    fclose(out);
    assert_int_equal(len, 0); /* nothing printed on error */
    free(text);
    orr_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_traces),
        cmocka_unit_test(test_divergence_found_exactly),
        cmocka_unit_test(test_divergence_with_other_intervals),
        cmocka_unit_test(test_text_report),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_json_report),
        cmocka_unit_test(test_deltas_text),
        cmocka_unit_test(test_equal_records_different_metrics),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
