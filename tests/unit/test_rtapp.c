/* rt-app task descriptions: valid programs parse to the right phases, and
 * every load-time error the scheduler issue names (deadline ordering, zero
 * period, affinity beyond the machine, unknown policy) is reported with its
 * position — plus the parser's own checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "orrery/config.h"
#include "testutil.h"
#include "workloads/rtapp.h"

/* Parse `tasks:` from yaml for a 4-CPU machine. */
static int parse(const char *yaml, struct orr_config *cfg, struct rtapp_set *set,
                 struct orr_diag *d)
{
    orr_diag_init(d);
    assert_int_equal(orr_config_load_string(cfg, "t.yaml", yaml, strlen(yaml), NULL, d), 0);
    return rtapp_parse(orr_node_get(cfg->root, "tasks"), "tasks", 4, set, d);
}

static void expect_error(const char *yaml, const char *want)
{
    struct orr_config cfg;
    struct rtapp_set set;
    struct orr_diag d;
    int rc = parse(yaml, &cfg, &set, &d);
    char buf[1024] = "";
    if (d.nMsg)
        orr_diag_format(&d.aMsg[0], buf, sizeof buf);
    if (!strstr(buf, want))
        print_error("got: %s\nwant: %s\n", buf, want);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(buf, want));
    rtapp_free(&set);
    orr_config_free(&cfg);
    orr_diag_free(&d);
}

static void test_valid(void **state)
{
    (void)state;
    const char *y = "tasks:\n"
                    "  - {name: web, count: 3, nice: -5, affinity: [1, 3],\n"
                    "     phases: [{run: 2ms}, {sleep: 500us}, {run_cycles: 1000cy}, {wake: go}]}\n"
                    "  - {name: rt, policy: fifo, prio: 50, periodic: {period: 10ms, run: 1ms}}\n"
                    "  - {name: dl, policy: deadline, runtime: 2ms, deadline: 8ms, period: 10ms,\n"
                    "     periodic: {period: 10ms, run: 1500us, deadline: 8ms}}\n"
                    "  - {name: w, phases: [{wait: go}, {run: 1us}], loops: 5}\n";
    struct orr_config cfg;
    struct rtapp_set s;
    struct orr_diag d;
    assert_int_equal(parse(y, &cfg, &s, &d), 0);
    assert_int_equal(s.nTask, 4);
    const struct rtapp_task *w = &s.aTask[0];
    assert_string_equal(w->name, "web");
    assert_int_equal(w->count, 3);
    assert_int_equal(w->nice, -5);
    assert_true(rtapp_on_cpu(w, 1) && rtapp_on_cpu(w, 3) && !rtapp_on_cpu(w, 0));
    assert_int_equal(w->nPhase, 4);
    assert_int_equal(w->aPhase[0].op, RTAPP_RUN);
    assert_int_equal(w->aPhase[0].amount, 2000000);
    assert_int_equal(w->aPhase[1].op, RTAPP_SLEEP);
    assert_int_equal(w->aPhase[1].amount, 500000);
    assert_int_equal(w->aPhase[2].op, RTAPP_RUN_CYCLES);
    assert_int_equal(w->aPhase[2].amount, 1000);
    assert_int_equal(w->aPhase[3].op, RTAPP_WAKE);
    assert_int_equal(s.aTask[1].policy, RTAPP_FIFO);
    assert_int_equal(s.aTask[1].period_ns, 10000000);
    assert_int_equal(s.aTask[1].deadline_ns, 10000000); /* defaults to the period */
    assert_int_equal(s.aTask[2].dl_runtime, 2000000);
    assert_int_equal(s.aTask[2].deadline_ns, 8000000);
    assert_true(rtapp_on_cpu(&s.aTask[2], 0) && rtapp_on_cpu(&s.aTask[2], 3));
    assert_int_equal(s.aTask[3].aPhase[0].op, RTAPP_WAIT);
    assert_int_equal(s.aTask[3].aPhase[0].event, w->aPhase[3].event);
    assert_int_equal(s.aTask[3].loops, 5);
    rtapp_free(&s);
    orr_config_free(&cfg);
    orr_diag_free(&d);
}

static void test_deadline_ordering(void **state)
{
    (void)state;
    expect_error("tasks:\n  - {name: d, policy: deadline, runtime: 9ms, deadline: 8ms, period: 10ms,"
                 " periodic: {period: 10ms, run: 1ms}}\n",
                 "t.yaml:2:5: error: tasks.0: a deadline task needs runtime <= deadline <= period");
    expect_error("tasks:\n  - {name: d, policy: deadline, runtime: 1ms, deadline: 12ms, period: 10ms,"
                 " periodic: {period: 10ms, run: 1ms}}\n",
                 "runtime <= deadline <= period");
}

static void test_zero_or_negative_period(void **state)
{
    (void)state;
    expect_error("tasks:\n  - {name: d, policy: deadline, runtime: 1ms, deadline: 1ms, period: 0ms,"
                 " periodic: {period: 10ms, run: 1ms}}\n",
                 "all greater than zero");
    expect_error("tasks:\n  - {name: p, periodic: {period: 0ms, run: 1ms}}\n",
                 "t.yaml:2:34: error: tasks.0.periodic.period: must be greater than zero");
    expect_error("tasks:\n  - {name: p, periodic: {period: -1ms, run: 1ms}}\n",
                 "tasks.0.periodic.period: negative value");
}

static void test_affinity_beyond_machine(void **state)
{
    (void)state;
    expect_error("tasks:\n  - {name: a, affinity: [0, 7], phases: [{run: 1ms}]}\n",
                 "t.yaml:2:25: error: tasks.0: affinity names CPU '7', but the machine has CPUs 0..3");
    expect_error("tasks:\n  - {name: a, affinity: [x], phases: [{run: 1ms}]}\n", "CPU 'x'");
}

static void test_unknown_policy(void **state)
{
    (void)state;
    expect_error("tasks:\n  - {name: a, policy: edf, phases: [{run: 1ms}]}\n",
                 "t.yaml:2:23: error: tasks.0.policy: expected one of normal, fifo, rr, deadline");
}

static void test_program_and_priority_errors(void **state)
{
    (void)state;
    expect_error("tasks:\n  - {name: a}\n", "needs a program");
    expect_error("tasks:\n  - {name: a, phases: [{run: 1ms}], periodic: {period: 1ms, run: 1us}}\n",
                 "not both");
    expect_error("tasks:\n  - {name: a, policy: fifo, phases: [{run: 1ms}]}\n", "needs prio");
    expect_error("tasks:\n  - {name: a, prio: 5, phases: [{run: 1ms}]}\n",
                 "prio applies to fifo and rr tasks only");
    expect_error("tasks:\n  - {name: a, phases: [{run: 1ms, sleep: 1ms}]}\n",
                 "tasks.0.phases.0: a phase needs exactly one of");
    expect_error("tasks:\n  - {name: a, phases: [{wait: never}]}\n",
                 "event 'never' is waited for but no task wakes it");
    expect_error("tasks:\n  - {name: a, nice: 20, phases: [{run: 1ms}]}\n", "tasks.0.nice");
    expect_error("tasks: {name: a}\n", "expected a list of tasks");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_deadline_ordering),
        cmocka_unit_test(test_zero_or_negative_period),
        cmocka_unit_test(test_affinity_beyond_machine),
        cmocka_unit_test(test_unknown_policy),
        cmocka_unit_test(test_program_and_priority_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
