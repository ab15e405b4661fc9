/* Tests for performance budgets (model/budget.c): the bound parser (every
 * operator and unit, every error), the `budgets:` mapping with its
 * file:line:col diagnostics, and checking bounds against a run's metrics. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/budget.h"
#include "orrery/config.h"
#include "orrery/error.h"

static void test_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum orr_budget_op op;
        enum orr_budget_unit unit;
        double value;
    } ok[] = {
        {"<= 150ns", ORR_BUDGET_LE, ORR_BUDGET_TIME, 150000},
        {"< 2us", ORR_BUDGET_LT, ORR_BUDGET_TIME, 2000000},
        {"<=1.5us", ORR_BUDGET_LE, ORR_BUDGET_TIME, 1500000},
        {"< 2 ms", ORR_BUDGET_LT, ORR_BUDGET_TIME, 2e9},
        {">= 0.95", ORR_BUDGET_GE, ORR_BUDGET_PLAIN, 0.95},
        {"> 10", ORR_BUDGET_GT, ORR_BUDGET_PLAIN, 10},
        {"== 0", ORR_BUDGET_EQ, ORR_BUDGET_PLAIN, 0},
        {"!= 0", ORR_BUDGET_NE, ORR_BUDGET_PLAIN, 0},
        {"<= -3.5", ORR_BUDGET_LE, ORR_BUDGET_PLAIN, -3.5},
        {">= 95%", ORR_BUDGET_GE, ORR_BUDGET_PERCENT, 0.95},
        {"< 12.5 %", ORR_BUDGET_LT, ORR_BUDGET_PERCENT, 0.125},
        {"<= 1.5KiB", ORR_BUDGET_LE, ORR_BUDGET_SIZE, 1536},
        {">= 10Gbps", ORR_BUDGET_GE, ORR_BUDGET_BW, 1e10},
        {"< 5000cy", ORR_BUDGET_LT, ORR_BUDGET_CYCLES, 5000},
        {"  <= 1ns  ", ORR_BUDGET_LE, ORR_BUDGET_TIME, 1000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct orr_budget_bound b;
        const char *why = "x";
        int rc = orr_budget_parse_bound(ok[i].text, &b, &why);
        if (rc)
            fail_msg("'%s': %d %s", ok[i].text, rc, why);
        assert_null(why);
        assert_int_equal(b.op, ok[i].op);
        assert_int_equal(b.unit, ok[i].unit);
        assert_true(b.value == ok[i].value);
    }
    static const struct {
        const char *text;
        int rc;
        const char *why; /* a word the reason must hold */
    } bad[] = {
        {"=< 5", ORR_EPARSE, "operator"},   {"<< 5", ORR_EPARSE, "operator"},
        {"=> 5", ORR_EPARSE, "operator"},   {"= 5", ORR_EPARSE, "operator"},
        {"5ns", ORR_EPARSE, "operator"},    {"", ORR_EPARSE, "operator"},
        {"<=", ORR_EPARSE, "number"},       {"<= abc", ORR_EPARSE, "number"},
        {"<= 1.2.3", ORR_EPARSE, "number"}, {"<= 1e3", ORR_EPARSE, ""},
        {"<= 5 parsecs", ORR_EUNIT, "expected a time"}, {"<= 5xs", ORR_EUNIT, "percentage"},
        {"<= 0.1ps", ORR_ERANGE, ""},       {"<= -5ns", ORR_ERANGE, ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct orr_budget_bound b;
        const char *why = NULL;
        int rc = orr_budget_parse_bound(bad[i].text, &b, &why);
        if (rc != bad[i].rc)
            fail_msg("'%s': rc %d, want %d", bad[i].text, rc, bad[i].rc);
        assert_non_null(why);
        if (!strstr(why, bad[i].why))
            fail_msg("'%s': reason '%s' lacks '%s'", bad[i].text, why, bad[i].why);
    }
    assert_string_equal(orr_budget_op_name(ORR_BUDGET_NE), "!=");
    assert_string_equal(orr_budget_unit_metric(ORR_BUDGET_TIME), "ps");
    assert_null(orr_budget_unit_metric(ORR_BUDGET_PLAIN));
}

/* Every operator at its bound, one step below and one step above it. The
 * expected verdicts and margins are the operators' definitions (budget.h),
 * written out as a table, not outputs of the code under test: a bound made
 * strict or loose, or a comparison flipped, changes at least one cell. The
 * steps are 1 ps around an integral bound (exact in a double) and one ulp
 * around a ratio that has no exact binary form. */
static void test_operators_at_bound(void **state)
{
    (void)state;
    static const struct {
        const char *op;
        bool pass[3];   /* below, at, above */
        int margin[3];  /* sign of the margin: -1, 0, +1 */
    } truth[] = {
        {"<=", {true, true, false}, {+1, 0, -1}},
        {"<", {true, false, false}, {+1, 0, -1}},
        {">=", {false, true, true}, {-1, 0, +1}},
        {">", {false, false, true}, {-1, 0, +1}},
        {"==", {false, true, false}, {-1, 0, -1}},
        {"!=", {true, false, true}, {+1, 0, +1}},
    };
    static const struct {
        const char *value; /* the bound as written */
        const char *unit;  /* the metric's unit */
        double bound;      /* the bound in the metric's base unit */
        bool integral;     /* 1 ps steps; else one ulp */
    } at[] = {
        {"150ns", "ps", 150000, true},
        {"95%", "ratio", 0.95, false},
        {"-3.5", "", -3.5, false},
    };
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
        for (size_t i = 0; i < sizeof truth / sizeof truth[0]; i++) {
            double b = at[k].bound;
            double v[3] = {at[k].integral ? b - 1 : nextafter(b, -INFINITY), b,
                           at[k].integral ? b + 1 : nextafter(b, INFINITY)};
            static const char *const where[3] = {"below", "at", "above"};
            struct orr_metric m[3];
            struct orr_budget a[3];
            char text[3][32], metric[3][16];
            for (int j = 0; j < 3; j++) {
                snprintf(metric[j], sizeof metric[j], "x.%s", where[j]);
                snprintf(text[j], sizeof text[j], "%s %s", truth[i].op, at[k].value);
                m[j] = (struct orr_metric){"x", where[j], v[j], at[k].unit};
                a[j] = (struct orr_budget){.metric = metric[j], .text = text[j],
                                           .keypath = metric[j]};
                const char *why;
                assert_int_equal(orr_budget_parse_bound(text[j], &a[j].bound, &why), 0);
                assert_true(a[j].bound.value == b);
            }
            struct orr_diag d = {0};
            struct orr_budget_result *r;
            size_t nFail = 99, wantFail = 0;
            assert_int_equal(orr_budgets_check(a, 3, m, 3, &r, &nFail, &d), 0);
            for (int j = 0; j < 3; j++) {
                double mg = r[j].margin;
                int sign = mg > 0 ? 1 : mg < 0 ? -1 : 0;
                if (r[j].pass != truth[i].pass[j] || sign != truth[i].margin[j])
                    fail_msg("'%s' with the metric %s it (%.17g): pass %d margin %g, want "
                             "pass %d margin sign %d",
                             text[j], where[j], v[j], r[j].pass, mg, truth[i].pass[j],
                             truth[i].margin[j]);
                /* the margin is the distance to the bound: one step */
                if (sign)
                    assert_true(fabs(mg) == fabs(v[j] - b));
                assert_true(r[j].value == v[j]);
                wantFail += !truth[i].pass[j];
            }
            assert_int_equal(nFail, wantFail);
            free(r);
            orr_diag_free(&d);
        }
}

static const char kYaml[] =
    "budgets:\n"
    "  node0.t1.deadline_misses: \"== 0\"\n"
    "  node0:\n"
    "    t1.wakeup_latency.p99: \"<= 150ns\"\n"
    "  node0.idle: \">= 5%\"\n";

static void load(struct orr_config *cfg, const char *text)
{
    struct orr_diag d = {0};
    assert_int_equal(orr_config_load_string(cfg, "s.yaml", text, strlen(text), NULL, &d), 0);
    orr_diag_free(&d);
}

static void test_mapping(void **state)
{
    (void)state;
    struct orr_config cfg = {0};
    struct orr_diag d = {0};
    struct orr_budget *a;
    size_t n;
    load(&cfg, kYaml);
    assert_int_equal(orr_budgets_parse(orr_node_get(cfg.root, "budgets"), &a, &n, &d), 0);
    assert_int_equal(n, 3);
    assert_string_equal(a[0].metric, "node0.t1.deadline_misses");
    assert_string_equal(a[1].metric, "node0.t1.wakeup_latency.p99"); /* nested keys join */
    assert_string_equal(a[1].keypath, "budgets.node0.t1.wakeup_latency.p99");
    assert_string_equal(a[1].text, "<= 150ns");
    assert_int_equal(a[1].mark.line, 4);
    assert_string_equal(a[2].metric, "node0.idle");
    orr_budgets_free(a, n);
    orr_config_free(&cfg);

    /* no budgets at all */
    assert_int_equal(orr_budgets_parse(NULL, &a, &n, &d), 0);
    assert_int_equal(n, 0);
    assert_int_equal(orr_diag_count(&d), 0);

    /* every bad entry is reported with its position and key path */
    load(&cfg, "budgets:\n  a.x: \"=< 5\"\n  b.y: \"<= 3 furlongs\"\n  c.z: [1]\n  d.w: \"< 1us\"\n");
    assert_int_equal(orr_budgets_parse(orr_node_get(cfg.root, "budgets"), &a, &n, &d),
                     ORR_ESCHEMA);
    assert_null(a);
    assert_int_equal(orr_diag_count(&d), 3);
    char buf[512];
    orr_diag_format(&d.aMsg[0], buf, sizeof buf);
    assert_non_null(strstr(buf, "s.yaml:2:8: error: budgets.a.x: bad bound '=< 5': unknown or "
                                "missing operator"));
    orr_diag_format(&d.aMsg[1], buf, sizeof buf);
    assert_non_null(strstr(buf, "s.yaml:3:8: error: budgets.b.y: bad bound '<= 3 furlongs'"));
    orr_diag_format(&d.aMsg[2], buf, sizeof buf);
    assert_non_null(strstr(buf, "s.yaml:4:8: error: budgets.c.z: expected a bound"));
    orr_diag_free(&d);
    orr_config_free(&cfg);

    load(&cfg, "budgets: [1, 2]\n");
    assert_int_equal(orr_budgets_parse(orr_node_get(cfg.root, "budgets"), &a, &n, &d),
                     ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&d), 1);
    orr_diag_free(&d);
    orr_config_free(&cfg);
}

static const struct orr_metric kMetrics[] = {
    {"node0", "t1.deadline_misses", 0, "job"},
    {"node0", "t1.wakeup_latency.p99", 175000, "ps"},
    {"node0", "idle", 0.13, "ratio"},
    {"sim", "events", 64, "event"},
    {"sim", "time", 100, "ps"},
};

static void check(const char *yaml, int want_rc, size_t want_fail, struct orr_budget_result **r,
                  struct orr_budget **a, size_t *n, struct orr_diag *d)
{
    struct orr_config cfg = {0};
    size_t nFail = 99;
    load(&cfg, yaml);
    assert_int_equal(orr_budgets_parse(orr_node_get(cfg.root, "budgets"), a, n, d), 0);
    assert_int_equal(orr_budgets_check(*a, *n, kMetrics, 5, r, &nFail, d), want_rc);
    assert_int_equal(nFail, want_fail);
    orr_config_free(&cfg); /* after the check: its messages point at the file's marks */
}

static void test_check(void **state)
{
    (void)state;
    struct orr_diag d = {0};
    struct orr_budget *a;
    struct orr_budget_result *r;
    size_t n;
    check("budgets:\n"
          "  node0.t1.deadline_misses: \"== 0\"\n"
          "  node0.t1.wakeup_latency.p99: \"<= 150ns\"\n"
          "  node0.idle: \">= 5%\"\n"
          "  sim.events: \"< 64\"\n"
          "  sim:\n"
          "    time: \"!= 0\"\n"
          "  node0:\n"
          "    idle: \">= 50%\"\n",
          0, 3, &r, &a, &n, &d);
    assert_true(r[0].pass && r[0].margin == 0);
    assert_false(r[1].pass);
    assert_true(r[1].margin == -25000); /* 25 ns over */
    assert_int_equal(n, 5); /* node0: {idle} named node0.idle again: the later bound won */
    assert_string_equal(a[2].text, ">= 50%");
    assert_false(r[2].pass);
    assert_true(r[2].margin < -0.369 && r[2].margin > -0.371);
    assert_false(r[3].pass); /* strict bound at zero margin */
    assert_true(r[3].margin == 0);
    assert_true(r[4].pass && r[4].margin == 100);
    assert_ptr_equal(r[1].metric, &kMetrics[1]);
    free(r);
    orr_budgets_free(a, n);

    /* a missing metric and a unit that does not fit are errors, not fails */
    check("budgets:\n"
          "  node0.t9.jobs: \"== 0\"\n"
          "  node0.idle: \"< 2us\"\n"
          "  sim.events: \"<= 5%\"\n"
          "  node0.t1.wakeup_latency.p99: \"<= 200000\"\n",
          ORR_ESCHEMA, 0, &r, &a, &n, &d);
    assert_null(r);
    assert_int_equal(orr_diag_count(&d), 3);
    char buf[512];
    orr_diag_format(&d.aMsg[0], buf, sizeof buf);
    assert_non_null(strstr(buf, "s.yaml:2:18: error: budgets.node0.t9.jobs: no metric "
                                "'node0.t9.jobs' in this run"));
    orr_diag_format(&d.aMsg[1], buf, sizeof buf);
    assert_non_null(strstr(buf, "bound '< 2us' has a unit for metrics in ps, but 'node0.idle' "
                                "is in 'ratio'"));
    orr_diag_format(&d.aMsg[2], buf, sizeof buf);
    assert_non_null(strstr(buf, "for metrics in ratio, but 'sim.events' is in 'event'"));
    orr_budgets_free(a, n);
    orr_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_operators_at_bound),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
