/* Declared metrics: the name pattern matcher, the engine's refusal of a
 * stat its type does not declare (the registering process aborts), the
 * names a run reports for each declared kind, and the metrics table of
 * every built-in type. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "hw/registry.h"
#include "orrery/sim.h"

/* ------------------------------------------------------------- matching */

static void test_match_literal(void **state)
{
    (void)state;
    assert_true(orr_metric_name_match("tx_bytes", "tx_bytes"));
    assert_false(orr_metric_name_match("tx_bytes", "tx_byte"));
    assert_false(orr_metric_name_match("tx_bytes", "tx_bytes2"));
    assert_false(orr_metric_name_match("tx_bytes", ""));
    assert_true(orr_metric_name_match("", ""));
}

/* <X> is one or more characters, none of them '.' */
static void test_match_segment(void **state)
{
    (void)state;
    assert_true(orr_metric_name_match("p<N>.tx_bytes", "p0.tx_bytes"));
    assert_true(orr_metric_name_match("p<N>.tx_bytes", "p123.tx_bytes"));
    assert_false(orr_metric_name_match("p<N>.tx_bytes", "p.tx_bytes"));    /* empty */
    assert_false(orr_metric_name_match("p<N>.tx_bytes", "p0.1.tx_bytes")); /* a dot */
    assert_false(orr_metric_name_match("p<N>.tx_bytes", "q0.tx_bytes"));
    assert_false(orr_metric_name_match("p<N>.tx_bytes", "p0.tx_bytes.max"));
    assert_true(orr_metric_name_match("distance.<I>.<J>", "distance.0.12"));
    assert_false(orr_metric_name_match("distance.<I>.<J>", "distance.0"));
    assert_false(orr_metric_name_match("distance.<I>.<J>", "distance.0.1.2"));
    assert_true(orr_metric_name_match("msgs_<OP>", "msgs_send_imm"));
    assert_false(orr_metric_name_match("msgs_<OP>", "msgs_"));
}

/* <X...> is one or more characters, dots allowed; literals after it are
 * found by backtracking */
static void test_match_dotted(void **state)
{
    (void)state;
    assert_true(orr_metric_name_match("<TASK...>.jobs", "t1.jobs"));
    assert_true(orr_metric_name_match("<TASK...>.jobs", "worker.3.jobs"));
    assert_true(orr_metric_name_match("<TASK...>.jobs", "a.jobs.jobs"));
    assert_false(orr_metric_name_match("<TASK...>.jobs", ".jobs"));
    assert_false(orr_metric_name_match("<TASK...>.jobs", "jobs"));
    assert_false(orr_metric_name_match("<TASK...>.jobs", "t1.jobs.p99"));
    assert_true(orr_metric_name_match("lat.<SIZE...>", "lat.1.5KiB"));
    assert_false(orr_metric_name_match("lat.<SIZE...>", "lat."));
    assert_true(orr_metric_name_match("miss_latency.<HOME...>", "miss_latency.sock0.mem"));
    assert_true(orr_metric_name_match("<A>.<B...>.x", "a.b.x.x"));
    assert_false(orr_metric_name_match("<A>.<B...>.x", "a..x"));
}

static const struct orr_metric_doc docs[] = {
    {"seen", "ev", ORR_METRIC_COUNTER, "events handled"},
    {"p<N>.depth", "msg", ORR_METRIC_GAUGE, "queued at port N"},
    {"<T...>.lat", "ps", ORR_METRIC_HISTOGRAM, "latency of T"},
    {"ratio", "", ORR_METRIC_VALUE, "a plain number"},
    {NULL},
};

static void test_doc_find_needs_kind_and_unit(void **state)
{
    (void)state;
    assert_ptr_equal(orr_metric_doc_find(docs, "seen", ORR_METRIC_COUNTER, "ev"), &docs[0]);
    assert_null(orr_metric_doc_find(docs, "seen", ORR_METRIC_GAUGE, "ev"));
    assert_null(orr_metric_doc_find(docs, "seen", ORR_METRIC_COUNTER, "B"));
    assert_ptr_equal(orr_metric_doc_find(docs, "p3.depth", ORR_METRIC_GAUGE, "msg"), &docs[1]);
    assert_ptr_equal(orr_metric_doc_find(docs, "a.b.lat", ORR_METRIC_HISTOGRAM, "ps"), &docs[2]);
    assert_ptr_equal(orr_metric_doc_find(docs, "ratio", ORR_METRIC_VALUE, NULL), &docs[3]);
    assert_null(orr_metric_doc_find(docs, "unseen", ORR_METRIC_COUNTER, "ev"));
    assert_null(orr_metric_doc_find(NULL, "seen", ORR_METRIC_COUNTER, "ev"));
}

/* ------------------------------------------------- registering, declared */

static int quiet_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p, (void)d;
    orr_port_add(c, "a");
    return 0;
}

static void quiet_handle(struct orr_component *c, const struct orr_event *ev) { (void)c, (void)ev; }

static const struct orr_param no_params[] = {{NULL}};
static const struct orr_port_doc a_port[] = {{"a", "port a"}, {NULL}};

static const struct orr_component_type declared_type = {
    .name = "declared", .summary = "declares docs", .params = no_params, .ports = a_port,
    .metrics = docs, .create = quiet_create, .handle = quiet_handle};

static const struct orr_component_type silent_type = {
    .name = "silent", .summary = "declares nothing", .params = no_params, .ports = a_port,
    .create = quiet_create, .handle = quiet_handle};

static struct orr_sim *make(const struct orr_component_type *t, struct orr_component **c)
{
    struct orr_sim *s;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_sim_create(&s, &(struct orr_sim_options){.seed = 1}), 0);
    assert_int_equal(orr_sim_add_component(s, t, "c0", NULL, "c0", &d, c), 0);
    orr_diag_free(&d);
    return s;
}

static void register_stat(struct orr_component *c, enum orr_metric_kind k, const char *name,
                          const char *unit)
{
    switch (k) {
    case ORR_METRIC_COUNTER: orr_counter_new(c, name, unit); break;
    case ORR_METRIC_GAUGE: orr_gauge_new(c, name, unit); break;
    case ORR_METRIC_VALUE: orr_value_new(c, name, unit); break;
    case ORR_METRIC_HISTOGRAM: orr_histogram_new(c, name, unit); break;
    }
}

/* Register (k, name, unit) on a fresh component of type t in a child
 * process; true if the child aborted. Its stderr is kept in msg. */
static bool aborts(const struct orr_component_type *t, enum orr_metric_kind k, const char *name,
                   const char *unit, char *msg, size_t n)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDERR_FILENO);
        struct orr_component *c;
        struct orr_sim *s = make(t, &c);
        register_stat(c, k, name, unit);
        orr_sim_destroy(s);
        _exit(0);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < n && (r = read(fd[0], msg + len, n - 1 - len)) > 0)
        len += (size_t)r;
    msg[len] = 0;
    close(fd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_declared_stats_register(void **state)
{
    (void)state;
    char msg[1024];
    assert_false(aborts(&declared_type, ORR_METRIC_COUNTER, "seen", "ev", msg, sizeof msg));
    assert_false(aborts(&declared_type, ORR_METRIC_GAUGE, "p7.depth", "msg", msg, sizeof msg));
    assert_false(aborts(&declared_type, ORR_METRIC_HISTOGRAM, "t.1.lat", "ps", msg, sizeof msg));
    assert_false(aborts(&declared_type, ORR_METRIC_VALUE, "ratio", "", msg, sizeof msg));
    assert_string_equal(msg, "");
}

static void test_undeclared_name_aborts(void **state)
{
    (void)state;
    char msg[1024];
    assert_true(aborts(&declared_type, ORR_METRIC_COUNTER, "sene", "ev", msg, sizeof msg));
    assert_non_null(strstr(msg, "component type 'declared' registers counter 'sene' in 'ev' "
                                "(on 'c0'), which its metrics table does not declare"));
    assert_non_null(strstr(msg, "nearest declared: counter 'seen' in 'ev'"));
    assert_true(aborts(&declared_type, ORR_METRIC_GAUGE, "p7.depth.x", "msg", msg, sizeof msg));
    assert_true(aborts(&declared_type, ORR_METRIC_GAUGE, "px.1.depth", "msg", msg, sizeof msg));
}

static void test_wrong_kind_or_unit_aborts(void **state)
{
    (void)state;
    char msg[1024];
    assert_true(aborts(&declared_type, ORR_METRIC_COUNTER, "seen", "B", msg, sizeof msg));
    assert_non_null(strstr(msg, "counter 'seen' in 'B'"));
    assert_non_null(strstr(msg, "nearest declared: counter 'seen' in 'ev'"));
    assert_true(aborts(&declared_type, ORR_METRIC_VALUE, "p1.depth", "msg", msg, sizeof msg));
    assert_non_null(strstr(msg, "nearest declared: gauge 'p<N>.depth' in 'msg'"));
    assert_true(aborts(&declared_type, ORR_METRIC_VALUE, "ratio", "ratio", msg, sizeof msg));
}

static void test_type_without_table_aborts(void **state)
{
    (void)state;
    char msg[1024];
    assert_true(aborts(&silent_type, ORR_METRIC_COUNTER, "seen", "ev", msg, sizeof msg));
    assert_non_null(strstr(msg, "component type 'silent'"));
    assert_non_null(strstr(msg, "it declares none"));
}

/* Link stats are the engine's: allowed on any type, even one that
 * declares nothing, reported under the port's name, and declared only for
 * linked ports. */
static void test_link_stats_are_the_engines(void **state)
{
    (void)state;
    struct orr_sim *s;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_sim_create(&s, &(struct orr_sim_options){.seed = 1}), 0);
    assert_int_equal(orr_sim_add_component(s, &silent_type, "x", NULL, "x", &d, NULL), 0);
    assert_int_equal(orr_sim_add_component(s, &declared_type, "y", NULL, "y", &d, NULL), 0);
    assert_int_equal(orr_sim_link(s, "x.a", "y.a", 1000, 8000000000ull, NULL, &d), 0);
    assert_int_equal(orr_sim_stat_count(s), 6);
    struct orr_stat_info st;
    orr_sim_stat(s, 2, &st);
    assert_string_equal(st.component->path, "x");
    assert_string_equal(st.name, "a.tx_util");
    assert_string_equal(st.unit, "ratio");
    assert_int_equal(st.kind, ORR_METRIC_VALUE);
    const struct orr_component *x = orr_sim_find(s, "x");
    assert_string_equal(orr_metric_declared(x, "a.tx_bytes", "B"), "B");
    assert_string_equal(orr_metric_declared(x, "a.tx_util", NULL), "ratio");
    assert_null(orr_metric_declared(x, "b.tx_bytes", NULL)); /* no port b */
    assert_null(orr_metric_declared(x, "a.tx_msgs", "B"));
    orr_sim_destroy(s);
    orr_diag_free(&d);
}

/* ------------------------------------------ the names a run reports */

static void test_declared_flat_names(void **state)
{
    (void)state;
    struct orr_component *c;
    struct orr_sim *s = make(&declared_type, &c);
    assert_string_equal(orr_metric_declared(c, "seen", NULL), "ev");
    assert_null(orr_metric_declared(c, "seen.max", NULL));       /* not a gauge */
    assert_string_equal(orr_metric_declared(c, "p0.depth", "msg"), "msg");
    assert_string_equal(orr_metric_declared(c, "p0.depth.max", NULL), "msg");
    assert_string_equal(orr_metric_declared(c, "x.y.lat.p99", "ps"), "ps");
    assert_string_equal(orr_metric_declared(c, "x.y.lat.count", NULL), ""); /* a count */
    assert_null(orr_metric_declared(c, "x.y.lat.count", "ps"));
    assert_null(orr_metric_declared(c, "x.y.lat", NULL)); /* histograms only by field */
    assert_null(orr_metric_declared(c, "x.y.lat.p98", NULL));
    assert_null(orr_metric_declared(c, "a.tx_bytes", NULL)); /* port a is not linked */
    assert_string_equal(orr_run_metric_declared("events", NULL), "event");
    assert_null(orr_run_metric_declared("evnts", NULL));
    orr_sim_destroy(s);
}

static void test_fields_in_metric_order(void **state)
{
    (void)state;
    static const char *const hist[] = {"count", "mean", "min", "p50", "p90", "p99", "p999", "max"};
    size_t n;
    const struct orr_metric_field *f = orr_metric_fields(ORR_METRIC_HISTOGRAM, &n);
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(f[i].suffix, hist[i]);
        assert_int_equal(f[i].plain, i == 0);
    }
    f = orr_metric_fields(ORR_METRIC_GAUGE, &n);
    assert_int_equal(n, 2);
    assert_null(f[0].suffix);
    assert_string_equal(f[1].suffix, "max");
    f = orr_metric_fields(ORR_METRIC_COUNTER, &n);
    assert_int_equal(n, 1);
    assert_null(f[0].suffix);
}

/* ------------------------------------------------ every built-in table */

/* A name is literals and placeholders <X> or <X...>, X made of capitals,
 * digits and '_'; with each placeholder read as one character, no part
 * between dots is empty. */
static bool name_well_formed(const char *name)
{
    char skel[256];
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < sizeof skel; p++) {
        if (*p == '>')
            return false;
        if (*p != '<') {
            skel[n++] = *p;
            continue;
        }
        const char *q = p + 1;
        while ((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_')
            q++;
        if (q == p + 1)
            return false;
        if (strncmp(q, "...", 3) == 0)
            q += 3;
        if (*q != '>')
            return false;
        skel[n++] = 'X';
        p = q;
    }
    skel[n] = 0;
    return n && skel[0] != '.' && skel[n - 1] != '.' && !strstr(skel, "..");
}

static void check_table(const char *owner, const struct orr_metric_doc *m)
{
    for (size_t i = 0; m[i].name; i++) {
        const struct orr_metric_doc *e = &m[i];
        if (!name_well_formed(e->name))
            fail_msg("%s: metric '%s' is not a well-formed name or pattern", owner, e->name);
        if ((unsigned)e->kind > ORR_METRIC_HISTOGRAM)
            fail_msg("%s: metric '%s' has an unknown kind %d", owner, e->name, (int)e->kind);
        if (!e->unit) /* "" is a plain number */
            fail_msg("%s: metric '%s' has no unit", owner, e->name);
        if (!e->help || !*e->help)
            fail_msg("%s: metric '%s' has no help", owner, e->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m[j].name, e->name) == 0)
                fail_msg("%s: metric '%s' is declared twice", owner, e->name);
    }
}

static void test_builtin_tables_well_formed(void **state)
{
    (void)state;
    size_t nTable = 0;
    for (size_t i = 0; orr_builtin_types[i]; i++) {
        const struct orr_component_type *t = orr_builtin_types[i];
        if (t->expand) { /* a builder has no instances, so no stats */
            if (t->metrics && t->metrics[0].name)
                fail_msg("builder %s declares metrics", t->name);
            continue;
        }
        if (!t->metrics || !t->metrics[0].name)
            fail_msg("type %s declares no metrics", t->name);
        check_table(t->name, t->metrics);
        nTable++;
    }
    assert_true(nTable >= 25);
    check_table("orr_link_metrics", orr_link_metrics);
    check_table("orr_run_metrics", orr_run_metrics);
}

static void test_well_formed_check_bites(void **state)
{
    (void)state;
    assert_true(name_well_formed("p<N>.tx_bytes"));
    assert_true(name_well_formed("<TASK...>.jobs"));
    assert_false(name_well_formed("p<N.tx_bytes"));
    assert_false(name_well_formed("p<>.x"));
    assert_false(name_well_formed("p<n>.x"));
    assert_false(name_well_formed("a..b"));
    assert_false(name_well_formed("a>"));
    assert_false(name_well_formed(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_literal),
        cmocka_unit_test(test_match_segment),
        cmocka_unit_test(test_match_dotted),
        cmocka_unit_test(test_doc_find_needs_kind_and_unit),
        cmocka_unit_test(test_declared_stats_register),
        cmocka_unit_test(test_undeclared_name_aborts),
        cmocka_unit_test(test_wrong_kind_or_unit_aborts),
        cmocka_unit_test(test_type_without_table_aborts),
        cmocka_unit_test(test_link_stats_are_the_engines),
        cmocka_unit_test(test_declared_flat_names),
        cmocka_unit_test(test_fields_in_metric_order),
        cmocka_unit_test(test_builtin_tables_well_formed),
        cmocka_unit_test(test_well_formed_check_bites),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
