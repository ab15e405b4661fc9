/* Unit tests for include/orrery/sweep.h: the axis grammar (ranges with
 * units and decimals, lists), the grid's indexing and overrides, its size
 * limit, seeded sampling and the plan of (point, repeat, seed) runs. Every
 * expected value below is worked out by hand from the grammar in sweep.h,
 * or by a small reference written here; none is copied from the output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "orrery/config.h"
#include "orrery/error.h"
#include "orrery/rng.h"
#include "orrery/sweep.h"
#include "testutil.h"

/* ---- helpers -------------------------------------------------------------- */

/* spec parses into exactly the n values want[] */
static void expect_values(const char *spec, size_t n, const char *const *want)
{
    struct orr_sweep_axis a;
    char err[512], buf[256];
    int rc = orr_sweep_axis_parse(&a, "k", spec, err, sizeof err);
    if (rc)
        print_error("spec '%s': rc %d: %s\n", spec, rc, err);
    assert_int_equal(rc, 0);
    assert_int_equal(a.nValue, n);
    for (size_t i = 0; i < n; i++) {
        size_t len = orr_sweep_axis_value(&a, i, buf, sizeof buf);
        if (strcmp(buf, want[i]) != 0)
            print_error("spec '%s' value %zu: got '%s', want '%s'\n", spec, i, buf, want[i]);
        assert_string_equal(buf, want[i]);
        assert_int_equal(len, strlen(want[i]));
        assert_true(len <= a.valueMax);
    }
    orr_sweep_axis_free(&a);
}

#define VALUES(spec, ...)                                                  \
    do {                                                                   \
        static const char *const want_[] = {__VA_ARGS__};                  \
        expect_values(spec, sizeof want_ / sizeof want_[0], want_);        \
    } while (0)

/* spec is refused with ORR_EINVAL and a message containing fragment */
static void expect_error(const char *spec, const char *fragment)
{
    struct orr_sweep_axis a;
    char err[512] = "";
    int rc = orr_sweep_axis_parse(&a, "k", spec, err, sizeof err);
    if (rc != ORR_EINVAL || !strstr(err, fragment))
        print_error("spec '%s': rc %d, message '%s'; want '%s'\n", spec, rc, err, fragment);
    assert_int_equal(rc, ORR_EINVAL);
    assert_non_null(strstr(err, fragment));
    assert_int_equal(a.nValue, 0); /* left empty */
    assert_null(a.key);
    orr_sweep_axis_free(&a);
}

static void add(struct orr_sweep *s, const char *key, const char *spec)
{
    char err[512];
    int rc = orr_sweep_add_axis(s, key, spec, err, sizeof err);
    if (rc)
        print_error("%s=%s: %s\n", key, spec, err);
    assert_int_equal(rc, 0);
    assert_true(orr_sweep_check(s));
}

static char *overrides(const struct orr_sweep *s, uint64_t g)
{
    size_t len = orr_sweep_overrides(s, g, NULL, 0);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    assert_int_equal(orr_sweep_overrides(s, g, buf, len + 1), len);
    return buf;
}

/* ---- ranges --------------------------------------------------------------- */

static void test_range_inclusive(void **state)
{
    (void)state;
    VALUES("40ns..120ns:40ns", "40ns", "80ns", "120ns");
    VALUES("1..8:1", "1", "2", "3", "4", "5", "6", "7", "8");
    VALUES("2..2:1", "2");                       /* START = END: one value */
    VALUES("0..10:5", "0", "5", "10");
    VALUES("256KiB..1024KiB:256KiB", "256KiB", "512KiB", "768KiB", "1024KiB");
    VALUES("1 ns..3 ns:1 ns", "1ns", "2ns", "3ns"); /* the optional space goes */
}

static void test_range_decimals(void **state)
{
    (void)state;
    /* exact: 0.1 + 0.1 + 0.1 is 0.3 here, unlike in binary floating point */
    VALUES("0.1..0.3:0.1", "0.1", "0.2", "0.3");
    VALUES("0.5ns..1.5ns:0.25ns", "0.5ns", "0.75ns", "1ns", "1.25ns", "1.5ns");
    /* fraction digits differ: all scaled to two, printed without trailing 0s */
    VALUES("1..2:0.25", "1", "1.25", "1.5", "1.75", "2");
    VALUES("0.50..1.5:0.5", "0.5", "1", "1.5");
    VALUES("0.000000000000000001..0.000000000000000003:0.000000000000000001",
           "0.000000000000000001", "0.000000000000000002", "0.000000000000000003");
    VALUES("18446744073709551615..18446744073709551615:1", "18446744073709551615");
}

static void test_range_errors(void **state)
{
    (void)state;
    expect_error("1ns..5ns:3ns", "the step does not divide END - START");
    expect_error("0.1..1:0.4", "the step does not divide"); /* 0.9 / 0.4 */
    VALUES("0.1..1:0.3", "0.1", "0.4", "0.7", "1");          /* 0.9 / 0.3 = 3 */
    expect_error("5..1:1", "START is greater than END");
    expect_error("1ns..5ns:0ns", "the step must be greater than zero");
    expect_error("1..5:0.00", "the step must be greater than zero");
    expect_error("5..1:-1", "malformed range '5..1:-1'");   /* no negative steps */
    expect_error("1..5:+1", "malformed range");
    expect_error("1ns..", "malformed range '1ns..'");
    expect_error("1ns..5ns", "malformed range");             /* no step */
    expect_error("1..x:1", "malformed range");               /* END is no number */
    expect_error("1.ns..2ns:1ns", "malformed range");        /* a dot needs digits */
    expect_error("1ns..5us:1ns", "mixes units 'ns' and 'us'");
    expect_error("1ns..5ns:1", "mixes units 'ns' and ''");
    /* 2^64 does not fit; neither does END once scaled to STEP's one digit */
    expect_error("18446744073709551616..18446744073709551617:1", "numbers too large");
    expect_error("1844674407370955161..1844674407370955162:0.1", "numbers too large");
    expect_error("0.00000000000000000001..1:1", "numbers too large"); /* 20 digits */
    /* 100001 values, one more than an axis may have; 2^64 of them */
    expect_error("0..100000:1", "has 100001 values; at most 100000");
    expect_error("0..18446744073709551615:1", "has 18446744073709551616 values");
    VALUES("1..100000:99999", "1", "100000");
}

static void test_range_not_expanded(void **state)
{
    (void)state;
    /* 100000 values cost one parse; the last is lo + 99999 * step */
    struct orr_sweep_axis a;
    char err[256], buf[64];
    assert_int_equal(orr_sweep_axis_parse(&a, "k", "0.001ms..100ms:0.001ms", err, sizeof err), 0);
    assert_int_equal(a.nValue, 100000);
    assert_null(a.aValue);
    orr_sweep_axis_value(&a, 99999, buf, sizeof buf);
    assert_string_equal(buf, "100ms");
    orr_sweep_axis_value(&a, 1233, buf, sizeof buf);
    assert_string_equal(buf, "1.234ms");
    /* valueMax: "99.999ms" is the longest (8); 3 integer digits + . + 3 + 2 */
    assert_true(a.valueMax >= 8);
    /* snprintf contract: the whole length back, a clipped copy written */
    assert_int_equal(orr_sweep_axis_value(&a, 1233, buf, 4), 7);
    assert_string_equal(buf, "1.2");
    assert_int_equal(orr_sweep_axis_value(&a, 1233, NULL, 0), 7);
    orr_sweep_axis_free(&a);
}

/* ---- lists ---------------------------------------------------------------- */

static void test_lists(void **state)
{
    (void)state;
    VALUES("a,b,c", "a", "b", "c");
    VALUES("mesi", "mesi");
    VALUES(" x , y ", "x", "y");
    VALUES("[a, b],[c]", "[a, b]", "[c]");     /* commas inside [] stay */
    VALUES("{x: 1, y: 2},{x: 3}", "{x: 1, y: 2}", "{x: 3}");
    VALUES("256KiB,1MiB", "256KiB", "1MiB");
    VALUES("-1..5:1", "-1..5:1");              /* no leading digit: a list of one */
    /* a leading digit and ".." make a range, even with a comma in it */
    expect_error("1ns,2ns..3ns", "malformed range");
    expect_error("a,,b", "list 'a,,b' has an empty value");
    expect_error("a,", "has an empty value");
    expect_error("a,b,a", "list 'a,b,a' names 'a' twice");
    expect_error("", "no values");
    expect_error("a\nb", "may not contain a line break");
}

static void test_keys(void **state)
{
    (void)state;
    struct orr_sweep_axis a;
    char err[256];
    assert_int_equal(orr_sweep_axis_parse(&a, "", "1,2", err, sizeof err), ORR_EINVAL);
    assert_int_equal(orr_sweep_axis_parse(&a, "a=b", "1,2", err, sizeof err), ORR_EINVAL);
    assert_int_equal(orr_sweep_axis_parse(&a, "a\nb", "1,2", err, sizeof err), ORR_EINVAL);
    assert_int_equal(orr_sweep_axis_parse(&a, "links.0.latency", "1ns", err, sizeof err), 0);
    assert_string_equal(a.key, "links.0.latency");
    assert_string_equal(a.spec, "1ns");
    orr_sweep_axis_free(&a);
}

/* ---- the grid ------------------------------------------------------------- */

static void test_grid_index(void **state)
{
    (void)state;
    struct orr_sweep s;
    orr_sweep_init(&s);
    add(&s, "a", "1,2");              /* 2 values, stride 12 */
    add(&s, "b", "x,y,z");            /* 3 values, stride 4 */
    add(&s, "c", "10ns..40ns:10ns");  /* 4 values, stride 1 */
    uint64_t n, idx[3], want[3];
    char err[256];
    assert_int_equal(orr_sweep_grid_size(&s, &n, err, sizeof err), 0);
    assert_int_equal(n, 24);
    /* row-major, last axis fastest: g = 12 a + 4 b + c */
    orr_sweep_grid_coords(&s, 0, idx);
    assert_true(idx[0] == 0 && idx[1] == 0 && idx[2] == 0);
    orr_sweep_grid_coords(&s, 1, idx);
    assert_true(idx[0] == 0 && idx[1] == 0 && idx[2] == 1);
    orr_sweep_grid_coords(&s, 21, idx); /* 12 + 8 + 1 */
    assert_true(idx[0] == 1 && idx[1] == 2 && idx[2] == 1);
    orr_sweep_grid_coords(&s, 23, idx);
    assert_true(idx[0] == 1 && idx[1] == 2 && idx[2] == 3);
    /* every point round-trips, and the reference formula agrees */
    for (uint64_t g = 0; g < n; g++) {
        orr_sweep_grid_coords(&s, g, idx);
        want[0] = g / 12, want[1] = g / 4 % 3, want[2] = g % 4;
        assert_memory_equal(idx, want, sizeof idx);
        assert_int_equal(orr_sweep_grid_point(&s, idx), g);
    }
    orr_sweep_free(&s);
}

static void test_overrides(void **state)
{
    (void)state;
    struct orr_sweep s;
    orr_sweep_init(&s);
    char *o = overrides(&s, 0); /* no axes: one point, no overrides */
    assert_string_equal(o, "");
    free(o);
    uint64_t n;
    char err[256];
    assert_int_equal(orr_sweep_grid_size(&s, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);

    add(&s, "components.sw0.latency", "100ns..300ns:100ns");
    add(&s, "components.gen0.interval", "2400ns,4800ns");
    /* point 3: latency index 3 / 2 = 1, interval index 3 % 2 = 1 */
    o = overrides(&s, 3);
    assert_string_equal(o, "components.sw0.latency=200ns\ncomponents.gen0.interval=4800ns");
    free(o);
    o = overrides(&s, 4);
    assert_string_equal(o, "components.sw0.latency=300ns\ncomponents.gen0.interval=2400ns");
    free(o);
    /* clipped like snprintf: full length back, a NUL-terminated prefix */
    char small[10];
    size_t len = strlen("components.sw0.latency=100ns\ncomponents.gen0.interval=2400ns");
    assert_int_equal(orr_sweep_overrides(&s, 0, small, sizeof small), len);
    assert_string_equal(small, "component");

    /* a later axis of the same key replaces the first in place */
    add(&s, "components.sw0.latency", "1ns,2ns,3ns,4ns");
    assert_int_equal(s.nAxis, 2);
    assert_string_equal(s.aAxis[0].key, "components.sw0.latency");
    assert_int_equal(s.aAxis[0].nValue, 4);
    o = overrides(&s, 7); /* 7 / 2 = 3, 7 % 2 = 1 */
    assert_string_equal(o, "components.sw0.latency=4ns\ncomponents.gen0.interval=4800ns");
    free(o);
    /* a refused axis changes nothing */
    assert_int_equal(orr_sweep_add_axis(&s, "components.sw0.latency", "5..1:1", err, sizeof err),
                     ORR_EINVAL);
    assert_int_equal(s.aAxis[0].nValue, 4);
    assert_true(orr_sweep_check(&s));
    orr_sweep_free(&s);
}

static void test_axes_from_scenario(void **state)
{
    (void)state;
    static const char yaml[] = "axes:\n"
                               "  x: \"1..3:1\"\n"
                               "  y: [1, 2]\n"
                               "  z: \"5..1:1\"\n"
                               "  w: a,b\n";
    struct orr_config cfg = {0};
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load_string(&cfg, "t.yaml", yaml, strlen(yaml), NULL, &d), 0);
    struct orr_sweep s;
    orr_sweep_init(&s);
    int rc = orr_sweep_add_axes(&s, orr_node_get(cfg.root, "axes"), "sweep.axes", &d);
    assert_int_equal(rc, ORR_ESCHEMA);
    assert_int_equal(d.nMsg, 2);
    /* each value starts in column 6 ("  x: " is five characters) */
    assert_diag(&d, 0, "t.yaml:3:6: error: sweep.axes.y: expected a range \"START..END:STEP\" "
                       "or a list \"a,b,c\" as one string");
    assert_diag(&d, 1, "t.yaml:4:6: error: sweep.axes.z: range '5..1:1': START is greater "
                       "than END");
    /* the good axes are there, in file order */
    assert_int_equal(s.nAxis, 2);
    assert_string_equal(s.aAxis[0].key, "x");
    assert_string_equal(s.aAxis[1].key, "w");
    assert_int_equal(orr_sweep_add_axes(&s, NULL, "sweep.axes", &d), 0);
    orr_sweep_free(&s);
    orr_config_free(&cfg);
    orr_diag_free(&d);
}

/* ---- the grid limit -------------------------------------------------------- */

static void test_grid_limit(void **state)
{
    (void)state;
    struct orr_sweep s;
    uint64_t n;
    char err[512];
    /* 2^16 * 2^16 * 2^16 * 2^14 = 2^62: the largest grid allowed */
    orr_sweep_init(&s);
    add(&s, "a", "1..65536:1");
    add(&s, "b", "1..65536:1");
    add(&s, "c", "1..65536:1");
    add(&s, "d", "1..16384:1");
    assert_int_equal(orr_sweep_grid_size(&s, &n, err, sizeof err), 0);
    assert_int_equal(n, UINT64_C(1) << 62);
    add(&s, "d", "1..16385:1"); /* one more value: 2^62 + 2^48 */
    assert_int_equal(orr_sweep_grid_size(&s, &n, err, sizeof err), ORR_ERANGE);
    assert_non_null(strstr(err, "the grid has more than 4611686018427387904 points "
                                "(axis sizes 65536 x 65536 x 65536 x 16385)"));
    /* a grid too large to sample is refused before anything is drawn */
    struct orr_sweep_plan p;
    assert_int_equal(orr_sweep_plan_make(&p, &s, 10, 1, 1, err, sizeof err), ORR_ERANGE);
    assert_null(p.aGrid);
    orr_sweep_free(&s);
    /* 100000^4 = 10^20 overflows 64 bits on the way: refused all the same */
    orr_sweep_init(&s);
    for (int i = 0; i < 4; i++)
        add(&s, (const char *[]){"a", "b", "c", "d"}[i], "1..100000:1");
    assert_int_equal(orr_sweep_grid_size(&s, &n, err, sizeof err), ORR_ERANGE);
    orr_sweep_free(&s);
}

static void test_run_limit(void **state)
{
    (void)state;
    struct orr_sweep s;
    struct orr_sweep_plan p;
    char err[512];
    orr_sweep_init(&s);
    add(&s, "a", "1..1000:1");
    add(&s, "b", "1..1000:1"); /* 10^6 points: exactly the limit of runs */
    assert_int_equal(orr_sweep_plan_make(&p, &s, 0, 1, 1, err, sizeof err), 0);
    assert_int_equal(p.nRun, 1000000);
    orr_sweep_plan_free(&p);
    assert_int_equal(orr_sweep_plan_make(&p, &s, 0, 2, 1, err, sizeof err), ORR_ERANGE);
    assert_non_null(strstr(err, "1000000 points x 2 repeats is more than 1000000 runs"));
    /* half the grid, sampled, twice each: 10^6 again */
    assert_int_equal(orr_sweep_plan_make(&p, &s, 500000, 2, 1, err, sizeof err), 0);
    assert_int_equal(p.nPoint, 500000);
    assert_int_equal(p.nRun, 1000000);
    orr_sweep_plan_free(&p);
    /* a grid of 10^11 points can still be sampled */
    add(&s, "c", "0..999990000:10000"); /* 100000 values */
    assert_int_equal(orr_sweep_plan_make(&p, &s, 0, 1, 1, err, sizeof err), ORR_ERANGE);
    assert_int_equal(orr_sweep_plan_make(&p, &s, 3, 1, 1, err, sizeof err), 0);
    assert_int_equal(p.nGrid, UINT64_C(100000000000));
    assert_int_equal(p.nPoint, 3);
    orr_sweep_plan_free(&p);
    orr_sweep_free(&s);
}

/* ---- sampling ------------------------------------------------------------ */

/* Reference: Floyd's algorithm as in Bentley's "Programming Pearls" (a
 * linear search for "already taken"), on the same generator and stream;
 * then sorted. */
static void floyd_reference(uint64_t total, uint64_t n, uint64_t seed, uint64_t *out)
{
    struct orr_rng r;
    orr_rng_seed(&r, seed, "sweep.sample");
    uint64_t k = 0;
    for (uint64_t j = total - n; j < total; j++) {
        uint64_t t = orr_rng_below(&r, j + 1);
        bool taken = false;
        for (uint64_t i = 0; i < k; i++)
            taken |= out[i] == t;
        out[k++] = taken ? j : t;
    }
    for (uint64_t i = 1; i < n; i++) /* insertion sort */
        for (uint64_t m = i; m > 0 && out[m - 1] > out[m]; m--) {
            uint64_t x = out[m];
            out[m] = out[m - 1], out[m - 1] = x;
        }
}

static void test_sample(void **state)
{
    (void)state;
    uint64_t a[50], b[50], c[50], ref[50];
    assert_int_equal(orr_sweep_sample(1000, 50, 7, a), 0);
    for (int i = 0; i < 50; i++) {
        assert_true(a[i] < 1000);
        if (i)
            assert_true(a[i - 1] < a[i]); /* ascending, so distinct */
    }
    floyd_reference(1000, 50, 7, ref);
    assert_memory_equal(a, ref, sizeof a);
    assert_int_equal(orr_sweep_sample(1000, 50, 7, b), 0);
    assert_memory_equal(a, b, sizeof a); /* same seed, same points */
    assert_int_equal(orr_sweep_sample(1000, 50, 8, c), 0);
    assert_memory_not_equal(a, c, sizeof a); /* another seed, others */
    floyd_reference(1000, 50, 8, ref);
    assert_memory_equal(c, ref, sizeof c);
    /* half of a small grid: collisions happen, the reference agrees */
    assert_int_equal(orr_sweep_sample(20, 10, 3, a), 0);
    floyd_reference(20, 10, 3, ref);
    assert_memory_equal(a, ref, 10 * sizeof *a);
    /* all but one point */
    assert_int_equal(orr_sweep_sample(20, 19, 3, a), 0);
    floyd_reference(20, 19, 3, ref);
    assert_memory_equal(a, ref, 19 * sizeof *a);
    /* a huge grid costs n draws */
    assert_int_equal(orr_sweep_sample(UINT64_C(1) << 62, 5, 1, a), 0);
    floyd_reference(UINT64_C(1) << 62, 5, 1, ref);
    assert_memory_equal(a, ref, 5 * sizeof *a);
}

static void test_sample_whole_grid(void **state)
{
    (void)state;
    uint64_t a[8];
    for (int n = 5; n <= 6; n++) { /* n = total and n > total: every point */
        memset(a, 0xAB, sizeof a);
        assert_int_equal(orr_sweep_sample(5, (uint64_t)n, 9, a), 0);
        for (uint64_t i = 0; i < 5; i++)
            assert_int_equal(a[i], i);
        assert_int_equal(a[5], UINT64_C(0xABABABABABABABAB)); /* nothing past min(n, total) */
    }
    memset(a, 0xAB, sizeof a);
    assert_int_equal(orr_sweep_sample(5, 0, 9, a), 0);
    assert_int_equal(a[0], UINT64_C(0xABABABABABABABAB));
}

/* ---- the plan ------------------------------------------------------------ */

static void test_plan_repeats(void **state)
{
    (void)state;
    struct orr_sweep s;
    struct orr_sweep_plan p;
    char err[256];
    orr_sweep_init(&s);
    add(&s, "a", "1,2,3");
    assert_int_equal(orr_sweep_plan_make(&p, &s, 0, 2, 10, err, sizeof err), 0);
    assert_int_equal(p.nGrid, 3);
    assert_int_equal(p.nPoint, 3);
    assert_int_equal(p.nRun, 6);
    assert_null(p.aGrid);
    /* point-major: (0,0) (0,1) (1,0) (1,1) (2,0) (2,1), seeds 10 and 11 */
    static const uint64_t want[6][4] = {{0, 0, 10, 0}, {0, 1, 11, 0}, {1, 0, 10, 1},
                                        {1, 1, 11, 1}, {2, 0, 10, 2}, {2, 1, 11, 2}};
    for (uint64_t k = 0; k < 6; k++) {
        struct orr_sweep_run r = orr_sweep_plan_run(&p, k);
        assert_int_equal(r.point, want[k][0]);
        assert_int_equal(r.repeat, want[k][1]);
        assert_int_equal(r.seed, want[k][2]);
        assert_int_equal(r.grid, want[k][3]);
    }
    orr_sweep_plan_free(&p);
    /* sample 3 of 3 (or more) is the whole grid */
    assert_int_equal(orr_sweep_plan_make(&p, &s, 3, 1, 10, err, sizeof err), 0);
    assert_null(p.aGrid);
    assert_int_equal(p.nPoint, 3);
    orr_sweep_plan_free(&p);
    assert_int_equal(orr_sweep_plan_make(&p, &s, 0, 0, 10, err, sizeof err), ORR_EINVAL);
    orr_sweep_free(&s);
}

static void test_plan_sample(void **state)
{
    (void)state;
    struct orr_sweep s;
    struct orr_sweep_plan p;
    char err[256];
    uint64_t ref[4];
    orr_sweep_init(&s);
    add(&s, "a", "1..5:1");
    add(&s, "b", "100ns..400ns:100ns"); /* 20 points */
    assert_int_equal(orr_sweep_plan_make(&p, &s, 4, 3, 5, err, sizeof err), 0);
    assert_int_equal(p.nGrid, 20);
    assert_int_equal(p.nPoint, 4);
    assert_int_equal(p.nRun, 12);
    floyd_reference(20, 4, 5, ref); /* drawn with the sweep seed */
    for (uint64_t k = 0; k < 12; k++) {
        struct orr_sweep_run r = orr_sweep_plan_run(&p, k);
        assert_int_equal(r.point, k / 3); /* numbered 0..3 in grid order */
        assert_int_equal(r.repeat, k % 3);
        assert_int_equal(r.seed, 5 + k % 3);
        assert_int_equal(r.grid, ref[k / 3]);
    }
    orr_sweep_plan_free(&p);
    orr_sweep_free(&s);
}

static void test_plan_seeds(void **state)
{
    (void)state;
    struct orr_sweep s;
    struct orr_sweep_plan p;
    char err[256];
    orr_sweep_init(&s);
    /* seeds S .. S + K - 1 must fit in 64 bits */
    assert_int_equal(orr_sweep_plan_make(&p, &s, 0, 1, UINT64_MAX, err, sizeof err), 0);
    assert_int_equal(orr_sweep_plan_run(&p, 0).seed, UINT64_MAX);
    orr_sweep_plan_free(&p);
    assert_int_equal(orr_sweep_plan_make(&p, &s, 0, 2, UINT64_MAX - 1, err, sizeof err), 0);
    assert_int_equal(orr_sweep_plan_run(&p, 1).seed, UINT64_MAX);
    orr_sweep_plan_free(&p);
    assert_int_equal(orr_sweep_plan_make(&p, &s, 0, 2, UINT64_MAX, err, sizeof err), ORR_ERANGE);
    assert_non_null(strstr(err, "runs past the largest seed"));
    orr_sweep_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_inclusive),
        cmocka_unit_test(test_range_decimals),
        cmocka_unit_test(test_range_errors),
        cmocka_unit_test(test_range_not_expanded),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_grid_index),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_axes_from_scenario),
        cmocka_unit_test(test_grid_limit),
        cmocka_unit_test(test_run_limit),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_sample_whole_grid),
        cmocka_unit_test(test_plan_repeats),
        cmocka_unit_test(test_plan_sample),
        cmocka_unit_test(test_plan_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
