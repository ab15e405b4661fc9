/* The engine: link latency and bandwidth, refused sends and READY, timers,
 * the total event order, faults, stop conditions, stats and digests. A
 * "probe" component records what it receives; tests drive it directly. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "orrery/config.h"
#include "orrery/sim.h"

#define MAXLOG 64

struct seen {
    orr_time_t time;
    uint16_t kind, port;
    uint32_t origin;
    uint64_t a;
};

struct probe {
    struct orr_port *a, *b;
    struct seen log[MAXLOG];
    size_t n;
    unsigned faults;
    struct orr_counter *ctr;
    bool echo;          /* on a timer with tag 9: send data word out of port a */
    orr_time_t extra;   /* ... with this extra delay */
    int last_send_rc;
};

static int probe_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct probe *s = c->state;
    (void)p;
    (void)d;
    s->a = orr_port_add(c, "a");
    s->b = orr_port_add(c, "b");
    s->ctr = orr_counter_new(c, "seen", "ev");
    return 0;
}

static void probe_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct probe *s = c->state;
    if (s->n < MAXLOG)
        s->log[s->n++] = (struct seen){ev->time, ev->kind, ev->port, orr_event_origin(ev),
                                       ev->data[0]};
    s->ctr->v++;
    if (ev->kind == ORR_TK_TIMER && ev->port == 9) {
        struct orr_msg m = {.size = (uint32_t)ev->data[1], .data = {ev->data[0], 0}};
        s->last_send_rc = orr_port_send(s->a, &m, s->extra);
    }
}

static void probe_fault(struct orr_component *c, unsigned fault, const struct orr_params *p)
{
    struct probe *s = c->state;
    (void)fault;
    (void)p;
    s->faults++;
    if (s->n < MAXLOG)
        s->log[s->n++] = (struct seen){orr_now(c->sim), ORR_TK_FAULT, 0, ORR_ORIGIN_ENGINE, 0};
}

static const struct orr_param no_params[] = {{NULL}};
static const struct orr_port_doc probe_ports[] = {{"a", "port a"}, {"b", "port b"}, {NULL}};
static const struct orr_fault_desc probe_faults[] = {{"poke", "record a fault", no_params},
                                                     {NULL}};
static const struct orr_metric_doc probe_metrics[] = {
    {"seen", "ev", ORR_METRIC_COUNTER, "events handled"},
    {NULL},
};

static const struct orr_component_type probe_type = {
    .name = "probe",
    .summary = "test probe",
    .params = no_params,
    .ports = probe_ports,
    .faults = probe_faults,
    .metrics = probe_metrics,
    .state_size = sizeof(struct probe),
    .create = probe_create,
    .handle = probe_handle,
    .fault = probe_fault,
};

static const struct orr_component_type worker_type = {
    .name = "worker",
    .summary = "test workload",
    .params = no_params,
    .ports = probe_ports,
    .metrics = probe_metrics,
    .state_size = sizeof(struct probe),
    .workload = true,
    .create = probe_create,
    .handle = probe_handle,
};

struct fixture {
    struct orr_sim *s;
    struct orr_diag d;
    struct orr_component *c[3];
};

static struct fixture *setup(struct orr_sim_options opt, size_t n)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    orr_diag_init(&f.d);
    assert_int_equal(orr_sim_create(&f.s, &opt), 0);
    for (size_t i = 0; i < n; i++) {
        char name[8] = {'p', (char)('0' + i), 0};
        assert_int_equal(orr_sim_add_component(f.s, &probe_type, name, NULL, name, &f.d, &f.c[i]),
                         0);
    }
    return &f;
}

static void teardown(struct fixture *f)
{
    orr_sim_destroy(f->s);
    orr_diag_free(&f->d);
}

static struct probe *st(struct orr_component *c) { return c->state; }

/* A message arrives after exactly the link latency (+ extra delay) on the
 * peer's port, with its payload. */
static void test_link_latency(void **state)
{
    (void)state;
    struct fixture *f = setup((struct orr_sim_options){.seed = 1}, 2);
    assert_int_equal(orr_sim_link(f->s, "p0.a", "p1.b", 100 * ORR_NS, 0, NULL, &f->d), 0);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    orr_timer(f->c[0], 5 * ORR_NS, 9, 77, 64);
    assert_true(orr_sim_check(f->s));
    assert_int_equal(orr_sim_run(f->s, NULL), ORR_STOP_IDLE);
    assert_true(orr_sim_check(f->s));
    struct probe *p1 = st(f->c[1]);
    assert_int_equal(p1->n, 1);
    assert_int_equal(p1->log[0].time, 105 * ORR_NS);
    assert_int_equal(p1->log[0].kind, ORR_TK_MSG);
    assert_int_equal(p1->log[0].port, 1); /* "b" */
    assert_int_equal(p1->log[0].a, 77);
    assert_int_equal(p1->log[0].origin, f->c[0]->id);
    assert_int_equal(orr_port_peer(st(f->c[0])->a), st(f->c[1])->b);
    teardown(f);

    /* a send's extra delay comes on top of the link's: 5 + 100 + 30 ns */
    f = setup((struct orr_sim_options){.seed = 1}, 2);
    assert_int_equal(orr_sim_link(f->s, "p0.a", "p1.b", 100 * ORR_NS, 0, NULL, &f->d), 0);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    st(f->c[0])->extra = 30 * ORR_NS;
    orr_timer(f->c[0], 5 * ORR_NS, 9, 78, 64);
    assert_int_equal(orr_sim_run(f->s, NULL), ORR_STOP_IDLE);
    assert_int_equal(st(f->c[1])->n, 1);
    assert_int_equal(st(f->c[1])->log[0].time, 135 * ORR_NS);
    teardown(f);
}

/* 1000 B at 8 Gbit/s serialise in 1 us; a second send while busy is
 * refused with ORR_EBUSY and a single READY arrives when the link frees. */
static void test_bandwidth_and_ready(void **state)
{
    (void)state;
    struct fixture *f = setup((struct orr_sim_options){.seed = 1}, 2);
    assert_int_equal(orr_sim_link(f->s, "p0.a", "p1.a", 50 * ORR_NS, 8000000000ull, NULL, &f->d),
                     0);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    struct orr_port *out = st(f->c[0])->a;
    struct orr_msg m = {.size = 1000, .data = {1}};
    assert_int_equal(orr_port_send(out, &m, 0), 0);
    assert_int_equal(orr_port_free_at(out), 1 * ORR_US);
    m.data[0] = 2;
    assert_int_equal(orr_port_send(out, &m, 0), ORR_EBUSY);
    assert_int_equal(orr_port_send(out, &m, 0), ORR_EBUSY); /* still one READY */
    assert_int_equal(orr_sim_run(f->s, NULL), ORR_STOP_IDLE);
    struct probe *p0 = st(f->c[0]), *p1 = st(f->c[1]);
    assert_int_equal(p1->n, 1);
    assert_int_equal(p1->log[0].time, 1 * ORR_US + 50 * ORR_NS);
    assert_int_equal(p0->n, 1);
    assert_int_equal(p0->log[0].kind, ORR_TK_READY);
    assert_int_equal(p0->log[0].time, 1 * ORR_US);
    teardown(f);
}

/* Serialisation rounds up to whole picoseconds: 1 B at 3 Gbit/s is
 * 2666.67 ps -> 2667 ps, then 1 ps of latency. */
static void test_serialisation_rounds_up(void **state)
{
    (void)state;
    struct fixture *f = setup((struct orr_sim_options){.seed = 1}, 2);
    assert_int_equal(orr_sim_link(f->s, "p0.a", "p1.a", 1, 3000000000ull, NULL, &f->d), 0);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    struct orr_msg m = {.size = 1};
    assert_int_equal(orr_port_send(st(f->c[0])->a, &m, 0), 0);
    orr_sim_run(f->s, NULL);
    assert_int_equal(st(f->c[1])->log[0].time, 2667 + 1);
    teardown(f);
}

/* Same-time events are ordered by origin id, then origin sequence — not by
 * the order in which they were scheduled. */
static void test_same_time_order_by_origin(void **state)
{
    (void)state;
    struct fixture *f = setup((struct orr_sim_options){.seed = 1}, 3);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    orr_sim_post(f->c[2], f->c[0]->id, 10, 0, 20, 0); /* origin 2 first */
    orr_sim_post(f->c[1], f->c[0]->id, 10, 0, 10, 0); /* then origin 1 */
    orr_sim_post(f->c[1], f->c[0]->id, 10, 0, 11, 0); /* origin 1, seq 1 */
    orr_sim_run(f->s, NULL);
    struct probe *p0 = st(f->c[0]);
    assert_int_equal(p0->n, 3);
    assert_int_equal(p0->log[0].a, 10);
    assert_int_equal(p0->log[1].a, 11);
    assert_int_equal(p0->log[2].a, 20);
    teardown(f);
}

/* A fault at T is applied before ordinary events at T. */
static void test_fault_before_same_time_work(void **state)
{
    (void)state;
    struct fixture *f = setup((struct orr_sim_options){.seed = 1}, 1);
    struct orr_mark mk = {"test", 1, 1};
    assert_int_equal(orr_sim_add_fault(f->s, 40, "p0", "poke", NULL, "faults.0", &mk, &f->d), 0);
    assert_int_not_equal(orr_sim_add_fault(f->s, 40, "p0", "nope", NULL, "faults.1", &mk, &f->d),
                         0);
    assert_int_not_equal(orr_sim_add_fault(f->s, 40, "zz", "poke", NULL, "faults.2", &mk, &f->d),
                         0);
    assert_int_equal(orr_diag_count(&f->d), 2);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    orr_timer(f->c[0], 40, 1, 5, 0);
    orr_sim_run(f->s, NULL);
    struct probe *p = st(f->c[0]);
    assert_int_equal(p->n, 2);
    assert_int_equal(p->log[0].kind, ORR_TK_FAULT);
    assert_int_equal(p->log[1].kind, ORR_TK_TIMER);
    assert_int_equal(p->faults, 1);
    teardown(f);
}

/* The run covers [0, duration): an event at exactly the stop time is not
 * dispatched, and time ends at the stop time. */
static void test_stop_duration(void **state)
{
    (void)state;
    struct fixture *f = setup((struct orr_sim_options){.seed = 1, .stop_time = 100}, 1);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    orr_timer(f->c[0], 99, 1, 0, 0);
    orr_timer(f->c[0], 100, 1, 0, 0);
    assert_int_equal(orr_sim_run(f->s, NULL), ORR_STOP_TIME);
    assert_true(orr_sim_check(f->s)); /* the event at the stop time is still queued */
    assert_int_equal(st(f->c[0])->n, 1);
    assert_int_equal(orr_now(f->s), 100);
    assert_int_equal(orr_sim_pending(f->s), 1);
    teardown(f);
}

static void test_stop_events(void **state)
{
    (void)state;
    struct fixture *f = setup((struct orr_sim_options){.seed = 1, .stop_events = 3}, 1);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    for (int i = 1; i <= 5; i++)
        orr_timer(f->c[0], (orr_time_t)i, 1, 0, 0);
    assert_int_equal(orr_sim_run(f->s, NULL), ORR_STOP_EVENTS);
    assert_int_equal(orr_sim_events(f->s), 3);
    assert_int_equal(orr_now(f->s), 3);
    teardown(f);
}

static void test_stop_workloads_done(void **state)
{
    (void)state;
    struct orr_sim *s;
    struct orr_diag d;
    struct orr_component *w;
    orr_diag_init(&d);
    struct orr_sim_options opt = {.seed = 1, .stop_when_workloads_done = true};
    assert_int_equal(orr_sim_create(&s, &opt), 0);
    assert_int_equal(orr_sim_add_component(s, &worker_type, "w", NULL, "w", &d, &w), 0);
    assert_int_equal(orr_sim_start(s, &d), 0);
    orr_timer(w, 10, 1, 0, 0);
    orr_timer(w, 20, 1, 0, 0);
    /* a workload that never reports done: the queue drains, the run idles */
    assert_int_equal(orr_sim_run(s, NULL), ORR_STOP_IDLE);
    assert_int_equal(orr_sim_events(s), 2);
    orr_sim_destroy(s);

    assert_int_equal(orr_sim_create(&s, &opt), 0);
    assert_int_equal(orr_sim_add_component(s, &worker_type, "w", NULL, "w", &d, &w), 0);
    assert_int_equal(orr_sim_start(s, &d), 0);
    orr_timer(w, 10, 1, 0, 0);
    orr_timer(w, 20, 1, 0, 0);
    orr_workload_done(w);
    assert_int_equal(orr_sim_run(s, NULL), ORR_STOP_WORKLOADS);
    assert_int_equal(orr_sim_events(s), 0);
    orr_sim_destroy(s);
    orr_diag_free(&d);
}

/* A model reporting a failure stops the run after the current event; the
 * first message is kept, prefixed with the component's path. */
static void test_model_failure(void **state)
{
    (void)state;
    struct fixture *f = setup((struct orr_sim_options){.seed = 1}, 1);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    for (int i = 1; i <= 5; i++)
        orr_timer(f->c[0], (orr_time_t)i, 1, 0, 0);
    assert_null(orr_sim_failure(f->s));
    orr_sim_fail(f->c[0], "invariant %d broken", 7);
    orr_sim_fail(f->c[0], "a later failure");
    assert_int_equal(orr_sim_run(f->s, NULL), ORR_STOP_FAILED);
    assert_string_equal(orr_sim_failure(f->s), "p0: invariant 7 broken");
    const char *const *knobs;
    orr_sim_knob(f->c[0], "features", "A=1 B=0");
    assert_int_equal(orr_sim_knobs(f->s, &knobs), 1);
    assert_string_equal(knobs[0], "p0.features=A=1 B=0");
    assert_int_equal(orr_sim_events(f->s), 0);
    teardown(f);
}

/* Building errors: bad names, duplicates, unknown ports, double links and
 * zero latency are reported, not crashed on. */
static void test_build_errors(void **state)
{
    (void)state;
    struct fixture *f = setup((struct orr_sim_options){.seed = 1}, 2);
    struct orr_mark mk = {"x.yaml", 3, 4};
    assert_int_not_equal(orr_sim_add_component(f->s, &probe_type, "p0", NULL, "c", &f->d, NULL), 0);
    assert_int_not_equal(orr_sim_add_component(f->s, &probe_type, "9bad", NULL, "c", &f->d, NULL),
                         0);
    assert_int_not_equal(orr_sim_add_component(f->s, &probe_type, "a..b", NULL, "c", &f->d, NULL),
                         0);
    assert_int_not_equal(orr_sim_link(f->s, "p0.zz", "p1.a", 1, 0, &mk, &f->d), 0);
    assert_int_not_equal(orr_sim_link(f->s, "nobody.a", "p1.a", 1, 0, &mk, &f->d), 0);
    assert_int_not_equal(orr_sim_link(f->s, "p0", "p1.a", 1, 0, &mk, &f->d), 0);
    assert_int_not_equal(orr_sim_link(f->s, "p0.a", "p1.a", 0, 0, &mk, &f->d), 0);
    assert_int_equal(orr_sim_link(f->s, "p0.a", "p1.a", 1, 0, &mk, &f->d), 0);
    assert_int_not_equal(orr_sim_link(f->s, "p0.a", "p1.b", 1, 0, &mk, &f->d), 0);
    assert_int_equal(orr_diag_count(&f->d), 8);
    char buf[512];
    orr_diag_format(&f->d.aMsg[3], buf, sizeof buf);
    assert_non_null(strstr(buf, "x.yaml:3:4"));
    assert_non_null(strstr(buf, "has no port 'zz'"));
    assert_ptr_equal(orr_sim_find(f->s, "p1"), f->c[1]);
    assert_null(orr_sim_find(f->s, "p2"));
    teardown(f);
}

/* Progress hook that checks the engine's invariants mid-run. */
static int check_hook(void *arg, const struct orr_sim *s)
{
    (void)arg;
    assert_true(orr_sim_check(s));
    return 0;
}

/* Digest: a function of what happened. Same inputs, same digest; another
 * seed changes the random choices and so the digest. */
static uint64_t random_run_to(uint64_t seed, uint64_t *events, const char *trace_path)
{
    struct fixture *f = setup((struct orr_sim_options){.seed = seed, .stop_time = 1000000}, 3);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
    for (int i = 0; i < 200; i++) {
        struct orr_component *c = f->c[orr_rng_below(&f->c[0]->rng, 3)];
        orr_timer(c, 1 + orr_rng_below(&c->rng, 100000), 1, (uint64_t)i, 0);
    }
    assert_true(orr_sim_check(f->s));
    struct orr_trace_header th = {.scenario = "random", .seed = seed, .build_id = "test",
                                  .checkpoint_every = 50};
    struct orr_trace_writer *w = NULL;
    if (trace_path) {
        assert_int_equal(orr_sim_trace_tables(f->s, &th), 0);
        assert_int_equal(orr_trace_writer_open(&w, trace_path, &th, &f->d), 0);
    }
    orr_sim_run(f->s, &(struct orr_run_hooks){.progress = check_hook, .arg = f->s,
                                              .progress_every = 16, .trace = w});
    assert_true(orr_sim_check(f->s));
    uint64_t dg = orr_sim_digest(f->s);
    *events = orr_sim_events(f->s);
    if (trace_path) {
        struct orr_trace_footer ft = {0};
        assert_int_equal(orr_sim_trace_footer(f->s, &ft), 0);
        assert_int_equal(orr_trace_writer_finish(w, &ft), 0);
        orr_trace_footer_free(&ft);
        th.scenario = th.build_id = NULL; /* not the tables' */
        orr_trace_header_free(&th);
    }
    orr_sim_finish(f->s);
    const struct orr_metric *m;
    size_t nm = orr_sim_metrics(f->s, &m);
    assert_true(nm >= 5);
    assert_string_equal(m[0].component, "sim");
    assert_string_equal(m[0].name, "events");
    assert_true(m[0].value == (double)*events);
    teardown(f);
    return dg;
}

static uint64_t random_run(uint64_t seed, uint64_t *events)
{
    return random_run_to(seed, events, NULL);
}

static void test_digest_determinism(void **state)
{
    (void)state;
    uint64_t e1, e2, e3;
    uint64_t a = random_run(11, &e1), b = random_run(11, &e2), c = random_run(12, &e3);
    assert_int_equal(e1, 200);
    assert_int_equal(a, b);
    assert_int_not_equal(a, c);
}

/* Without a trace the engine feeds the digest in batches of encoded records;
 * with one, record by record. Both must equal XXH3-64 over the records as
 * the trace file holds them (the digest's definition), recomputed here in
 * one call. 200 events and the STOP record span several batches and a
 * partial last one. */
static void test_digest_batches(void **state)
{
    (void)state;
    char path[] = "/tmp/orrery-test-sim-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    uint64_t e1, e2;
    uint64_t batched = random_run(21, &e1);
    uint64_t traced = random_run_to(21, &e2, path);
    assert_int_equal(e1, e2);

    struct orr_trace_reader *r;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_trace_open(&r, path, &d), 0);
    uint64_t n = orr_trace_footer(r)->nRec;
    assert_int_equal(n, e1 + 1); /* every event, then STOP */
    uint8_t *buf = malloc(n * ORR_TRACE_REC_BYTES);
    assert_non_null(buf);
    struct orr_trace_rec rec;
    uint64_t i = 0;
    while (orr_trace_next(r, &rec) == 1) {
        assert_true(i < n);
        orr_trace_rec_encode(&rec, buf + i++ * ORR_TRACE_REC_BYTES);
    }
    assert_int_equal(i, n);
    uint64_t want = XXH3_64bits(buf, n * ORR_TRACE_REC_BYTES);
    print_message("%llu records: batched %016llx, traced %016llx, XXH3 %016llx\n",
                  (unsigned long long)n, (unsigned long long)batched,
                  (unsigned long long)traced, (unsigned long long)want);
    assert_true(batched == want);
    assert_true(traced == want);
    assert_true(orr_trace_footer(r)->digest == want);
    free(buf);
    orr_trace_close(r);
    orr_diag_free(&d);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_latency),
        cmocka_unit_test(test_bandwidth_and_ready),
        cmocka_unit_test(test_serialisation_rounds_up),
        cmocka_unit_test(test_same_time_order_by_origin),
        cmocka_unit_test(test_fault_before_same_time_work),
        cmocka_unit_test(test_stop_duration),
        cmocka_unit_test(test_stop_events),
        cmocka_unit_test(test_stop_workloads_done),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_model_failure),
        cmocka_unit_test(test_digest_determinism),
        cmocka_unit_test(test_digest_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
