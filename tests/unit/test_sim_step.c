/* The stepping API (sim.h: orr_sim_step_*, orr_sim_watch): a stepped run
 * dispatches the same events in the same order, stops at the same event
 * for the same reason and so gives the same digest as orr_sim_run, for
 * each stop condition; the watcher sees every queued event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "orrery/sim.h"

/* PHOLD-like: each event sends one more to a random component after
 * 0..3 ns (zero delays exercise events scheduled at the current instant). */
static void lp_handle(struct orr_component *c, const struct orr_event *ev)
{
    (void)ev;
    uint32_t n = (uint32_t)orr_sim_component_count(c->sim);
    uint32_t dst = (uint32_t)orr_rng_below(&c->rng, n);
    orr_time_t delay = orr_rng_below(&c->rng, 4) * ORR_NS;
    if (dst == c->id)
        orr_timer(c, delay, 1, 0, 0);
    else
        orr_sim_post(c, dst, delay + 1, 0, 0, 0);
}

static int lp_start(struct orr_component *c, struct orr_diag *d)
{
    (void)d;
    for (int i = 0; i < 4; i++)
        orr_timer(c, (orr_time_t)i * ORR_NS, 1, 0, 0);
    return 0;
}

static const struct orr_param no_params[] = {{NULL}};
static const struct orr_port_doc no_ports[] = {{NULL}};
static const struct orr_component_type lp_type = {
    .name = "lp", .summary = "test", .params = no_params, .ports = no_ports,
    .state_size = 8, .start = lp_start, .handle = lp_handle,
};

static struct orr_sim *build(const struct orr_sim_options *opt)
{
    struct orr_sim *s;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_sim_create(&s, opt), 0);
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof name, "lp%d", i);
        assert_int_equal(orr_sim_add_component(s, &lp_type, name, NULL, name, &d, NULL), 0);
    }
    assert_int_equal(orr_sim_start(s, &d), 0);
    orr_diag_free(&d);
    return s;
}

static void count_watch(void *arg, orr_time_t when, uint32_t target)
{
    (void)when, (void)target;
    ++*(uint64_t *)arg;
}

static void compare(const struct orr_sim_options *opt)
{
    struct orr_sim *a = build(opt), *b = build(opt);
    enum orr_stop_reason wa = orr_sim_run(a, NULL);
    uint64_t queued = 0;
    orr_sim_step_begin(b, NULL);
    orr_sim_watch(b, count_watch, &queued);
    uint64_t pending0 = queued;
    orr_time_t last = 0;
    while (orr_sim_next_time(b) != ORR_TIME_MAX) {
        orr_time_t t = orr_sim_next_time(b);
        assert_true(t >= last);
        last = t;
        if (!orr_sim_step(b))
            break;
        assert_true(orr_sim_next_time(b) > t); /* the whole instant was dispatched */
    }
    enum orr_stop_reason wb = orr_sim_step_end(b);
    assert_int_equal(wa, wb);
    assert_int_equal(orr_now(a), orr_now(b));
    assert_int_equal(orr_sim_events(a), orr_sim_events(b));
    assert_int_equal(orr_sim_digest(a), orr_sim_digest(b));
    /* the watcher saw what was pending at installation and every event since */
    assert_int_equal(pending0, 32);
    assert_int_equal(queued, orr_sim_events(b) + orr_sim_pending(b));
    assert_true(orr_sim_check(b));
    orr_sim_destroy(a);
    orr_sim_destroy(b);
}

static void test_stop_time(void **st)
{
    (void)st;
    struct orr_sim_options o = {.seed = 7, .stop_time = 5 * ORR_US};
    compare(&o);
}

static void test_stop_events(void **st)
{
    (void)st;
    struct orr_sim_options o = {.seed = 7, .stop_events = 12345};
    compare(&o);
}

static void test_stop_events_and_time(void **st)
{
    (void)st;
    struct orr_sim_options o = {.seed = 3, .stop_time = 2 * ORR_US, .stop_events = 1000000};
    compare(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_time),
        cmocka_unit_test(test_stop_events),
        cmocka_unit_test(test_stop_events_and_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
