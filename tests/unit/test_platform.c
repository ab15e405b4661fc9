/* The simulated HAL (hw/platform): timers, cancellation, IPIs, trace points,
 * cost charging, console capture and kernel panics, driven through a small
 * host component whose "kernel" upcalls are this test's functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hw/platform.h"
#include "orrery/sim.h"
#include "testutil.h"

/* What the "kernel" saw. */
struct seen {
    hal_ns_t timer_at[8];
    unsigned nTimer;
    uint32_t ipi_reason[8];
    unsigned ipi_cpu[8];
    hal_ns_t ipi_at[8];
    unsigned nIpi;
    bool panic_in_timer;
};

static void on_timer(struct hal_cpu *c)
{
    struct seen *s = hal_kernel_data(c);
    assert_false(c->irq_on); /* upcalls run with interrupts off */
    s->timer_at[s->nTimer++] = hal_now(c);
    if (s->panic_in_timer)
        hal_panic(c, "invariant broken");
}

static void on_ipi(struct hal_cpu *c, uint32_t reason)
{
    struct seen *s = hal_kernel_data(c);
    s->ipi_reason[s->nIpi] = reason;
    s->ipi_cpu[s->nIpi] = hal_cpu_id(c);
    s->ipi_at[s->nIpi++] = hal_now(c);
}

struct host {
    struct platform p;
    struct seen seen;
};

static int host_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct host *h = c->state;
    static const struct platform_tracepoint tps[] = {{0x100, "sched_switch"},
                                                     {0x101, "sched_wakeup"}};
    (void)p, (void)d;
    static const struct platform_upcalls up = {on_timer, on_ipi};
    platform_init(&h->p, c, 2, 2000000000ull, 100 * ORR_NS, tps, 2, &up);
    for (unsigned i = 0; i < 2; i++)
        hal_set_kernel_data(&h->p.aCpu[i], &h->seen);
    return 0;
}

static void host_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct host *h = c->state;
    assert_true(platform_handle(&h->p, ev));
}

static void host_destroy(struct orr_component *c)
{
    struct host *h = c->state;
    platform_free(&h->p);
}

static const struct orr_param no_params[] = {{NULL}};
static const struct orr_port_doc no_ports[] = {{NULL}};
static const struct orr_metric_doc host_metrics[] = {PLATFORM_METRICS, {NULL}};
static const struct orr_component_type host_type = {
    .name = "host", .summary = "platform test host", .params = no_params, .ports = no_ports,
    .metrics = host_metrics, .state_size = sizeof(struct host), .create = host_create, .handle = host_handle,
    .destroy = host_destroy};

static struct orr_sim *make(struct host **h)
{
    struct orr_sim *s;
    struct orr_diag d;
    struct orr_component *c;
    orr_diag_init(&d);
    assert_int_equal(orr_sim_create(&s, &(struct orr_sim_options){.seed = 1}), 0);
    assert_int_equal(orr_sim_add_component(s, &host_type, "node0", NULL, "node0", &d, &c), 0);
    assert_int_equal(orr_sim_start(s, &d), 0);
    orr_diag_free(&d);
    *h = c->state;
    return s;
}

static void arm(struct hal_cpu *c, void *arg) { hal_timer_set(c, *(hal_ns_t *)arg); }
static void cancel(struct hal_cpu *c, void *arg) { (void)arg, hal_timer_cancel(c); }
static void ipi1(struct hal_cpu *c, void *arg) { (void)arg, hal_ipi_send(c, 1, 42); }

/* A timer fires at its time; re-arming replaces it; cancel drops it. */
static void test_timers(void **state)
{
    (void)state;
    struct host *h;
    struct orr_sim *s = make(&h);
    hal_ns_t t1 = 500, t2 = 300;
    assert_true(platform_call(&h->p, 0, arm, &t1));
    assert_true(platform_call(&h->p, 0, arm, &t2)); /* replaces 500 */
    hal_ns_t t3 = 700;
    assert_true(platform_call(&h->p, 1, arm, &t3));
    assert_true(platform_call(&h->p, 1, cancel, NULL));
    orr_sim_run(s, NULL);
    assert_int_equal(h->seen.nTimer, 1);
    assert_int_equal(h->seen.timer_at[0], 300);
    assert_int_equal(h->p.timer_irqs->v, 1);
    assert_true(h->p.aCpu[0].irq_on); /* restored after the upcall */
    orr_sim_destroy(s);
}

/* A time in the past fires at once; IPIs arrive after the latency on the
 * target CPU with their reason. */
static void test_past_timer_and_ipi(void **state)
{
    (void)state;
    struct host *h;
    struct orr_sim *s = make(&h);
    hal_ns_t zero = 0;
    assert_true(platform_call(&h->p, 0, arm, &zero));
    assert_true(platform_call(&h->p, 0, ipi1, NULL));
    orr_sim_run(s, NULL);
    assert_int_equal(h->seen.nTimer, 1);
    assert_int_equal(h->seen.timer_at[0], 0);
    assert_int_equal(h->seen.nIpi, 1);
    assert_int_equal(h->seen.ipi_cpu[0], 1);
    assert_int_equal(h->seen.ipi_reason[0], 42);
    assert_int_equal(h->seen.ipi_at[0], 100);
    orr_sim_destroy(s);
}

static void trace_and_cost(struct hal_cpu *c, void *arg)
{
    (void)arg;
    hal_trace(c, 0x100, 7, 9);
    hal_trace(c, 0x7777, 1, 2); /* unknown: dropped */
    hal_cost(c, 4000); /* at 2 GHz: 2 us */
    hal_console_write(c, "hello", 5);
}

/* Trace points become records with their registered name; costs convert
 * through the CPU clock; console output is kept. */
static void test_trace_cost_console(void **state)
{
    (void)state;
    struct host *h;
    struct orr_sim *s = make(&h);
    uint64_t before = orr_sim_digest(s);
    assert_true(platform_call(&h->p, 1, trace_and_cost, NULL));
    assert_int_not_equal(orr_sim_digest(s), before); /* the trace point is in the digest */
    assert_int_equal(platform_take_cost(&h->p, 1), 2 * ORR_US);
    assert_int_equal(platform_take_cost(&h->p, 1), 0);
    assert_string_equal(h->p.aConsole, "hello");
    struct orr_trace_header th = {0};
    assert_int_equal(orr_sim_trace_tables(s, &th), 0);
    bool found = false;
    for (size_t k = 0; k < th.nKind; k++)
        found |= strcmp(th.aKindName[k], "sched_switch") == 0;
    assert_true(found);
    orr_trace_header_free(&th);
    orr_sim_destroy(s);
}

/* A kernel panic in an upcall unwinds to the platform: the run goes on,
 * the panic is recorded, later kernel calls are refused. */
static void test_panic_unwinds(void **state)
{
    (void)state;
    struct host *h;
    struct orr_sim *s = make(&h);
    h->seen.panic_in_timer = true;
    hal_ns_t t = 10;
    assert_true(platform_call(&h->p, 0, arm, &t));
    orr_sim_run(s, NULL);
    assert_true(h->p.panicked);
    assert_non_null(strstr(h->p.panic_msg, "invariant broken"));
    assert_non_null(strstr(h->p.panic_msg, "cpu 0"));
    assert_false(platform_call(&h->p, 0, arm, &t));
    orr_sim_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_past_timer_and_ipi),
        cmocka_unit_test(test_trace_cost_console),
        cmocka_unit_test(test_panic_unwinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
