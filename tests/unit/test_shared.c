/* Shared objects (orrery/sim.h): observers and shared state are kept apart,
 * shared state records who declared it, components joined by it form one
 * colocation group, and the programming errors abort. Then a real model:
 * the components of a cluster node share its memory and run together,
 * while two nodes stay separable. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw/registry.h"
#include "orrery/scenario.h"
#include "orrery/sim.h"

/* A component that declares the shared state named by its `state` key (a
 * comma-free name; "" declares nothing) in create. */
static const struct orr_param user_params[] = {
    {"state", ORR_P_STRING, "", 0, "shared state to declare"},
    {"also", ORR_P_STRING, "", 0, "a second one"},
    {NULL},
};

static int user_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)d;
    const char *a = orr_param_str(p, "state"), *b = orr_param_str(p, "also");
    if (*a)
        ++*(int *)orr_sim_shared_state(c, a, sizeof(int), NULL);
    if (*b)
        ++*(int *)orr_sim_shared_state(c, b, sizeof(int), NULL);
    return 0;
}

static const struct orr_component_type user_type = {
    .name = "user", .summary = "declares shared state", .params = user_params,
    .create = user_create,
};

struct fx {
    struct orr_sim *s;
    struct orr_config cfg;
    struct orr_diag d;
};

/* Components u0..u5 built from text like "u0: {state: a}\n...". */
static void build(struct fx *f, const char *text)
{
    memset(f, 0, sizeof *f);
    orr_diag_init(&f->d);
    struct orr_sim_options opt = {.seed = 1, .stop_time = 1000};
    assert_int_equal(orr_sim_create(&f->s, &opt), 0);
    assert_int_equal(orr_config_load_string(&f->cfg, "t.yaml", text, strlen(text), NULL, &f->d), 0);
    for (size_t i = 0; i < f->cfg.root->n; i++)
        assert_int_equal(orr_sim_add_component(f->s, &user_type, f->cfg.root->aKey[i],
                                               f->cfg.root->aItem[i], f->cfg.root->aKey[i],
                                               &f->d, NULL),
                         0);
}

static void done(struct fx *f)
{
    orr_sim_destroy(f->s);
    orr_config_free(&f->cfg);
    orr_diag_free(&f->d);
}

static void test_users_and_colocation(void **state)
{
    (void)state;
    struct fx f;
    /* u0-u2 share "a"; u2 also "b" with u4, so u4 joins them through u2;
     * u3 and u5 share "c"; u1 sits in "a" only */
    build(&f, "u0: {state: a}\n"
              "u1: {state: a}\n"
              "u2: {state: b, also: a}\n"
              "u3: {state: c}\n"
              "u4: {state: b}\n"
              "u5: {state: c}\n"
              "u6: {}\n");
    const uint32_t *ids;
    assert_int_equal(orr_sim_shared_users(f.s, "a", &ids), 3);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], 2);
    assert_int_equal(orr_sim_shared_users(f.s, "b", &ids), 2);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 4);
    assert_int_equal(orr_sim_shared_users(f.s, "nothing", &ids), 0);
    assert_null(ids);
    /* the object is one object: every declaration incremented it */
    assert_int_equal(*(int *)orr_sim_shared_peek(f.s, "a"), 3);
    assert_null(orr_sim_shared_peek(f.s, "nothing"));
    uint32_t want[] = {0, 0, 0, 3, 0, 3, 6};
    for (uint32_t id = 0; id < 7; id++)
        assert_int_equal(orr_sim_colocation(f.s, id), want[id]);
    done(&f);
}

static void test_declaring_twice_counts_once(void **state)
{
    (void)state;
    struct fx f;
    build(&f, "u0: {state: a, also: a}\n");
    const uint32_t *ids;
    assert_int_equal(orr_sim_shared_users(f.s, "a", &ids), 1);
    assert_int_equal(*(int *)orr_sim_shared_peek(f.s, "a"), 2);
    done(&f);
}

static void test_observers_record_nobody(void **state)
{
    (void)state;
    struct fx f;
    build(&f, "u0: {}\nu1: {}\n");
    int *o = orr_sim_observer(f.s, "totals", sizeof *o, NULL);
    assert_ptr_equal(orr_sim_observer(f.s, "totals", sizeof *o, NULL), o);
    const uint32_t *ids;
    assert_int_equal(orr_sim_shared_users(f.s, "totals", &ids), 0);
    assert_int_equal(orr_sim_colocation(f.s, 1), 1);
    done(&f);
}

/* Run fn in a child; it must die by SIGABRT and say why on stderr. */
static void expect_abort(void (*fn)(void), const char *why)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    char buf[512] = "";
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    if (!strstr(buf, why))
        fail_msg("stderr '%s' does not say '%s'", buf, why);
}

static void declare_after_start(void)
{
    struct fx f;
    build(&f, "u0: {}\n");
    orr_sim_start(f.s, &f.d);
    orr_sim_shared_state(orr_sim_component(f.s, 0), "late", 4, NULL);
}

static void observer_as_state(void)
{
    struct fx f;
    build(&f, "u0: {}\n");
    orr_sim_observer(f.s, "x", 4, NULL);
    orr_sim_shared_state(orr_sim_component(f.s, 0), "x", 4, NULL);
}

static void state_as_observer(void)
{
    struct fx f;
    build(&f, "u0: {state: x}\n");
    orr_sim_observer(f.s, "x", 4, NULL);
}

static void test_programming_errors_abort(void **state)
{
    (void)state;
    expect_abort(declare_after_start, "declared after the simulation started");
    expect_abort(observer_as_state, "is an observer, asked for as shared state");
    expect_abort(state_as_observer, "is shared state, asked for as an observer");
}

/* Many objects: names are found by hash, and each stays itself. */
static void test_many_objects(void **state)
{
    (void)state;
    struct fx f;
    build(&f, "u0: {}\n");
    for (int i = 0; i < 5000; i++) {
        char name[32];
        snprintf(name, sizeof name, "obj%d", i);
        *(int *)orr_sim_observer(f.s, name, sizeof(int), NULL) = i;
    }
    for (int i = 4999; i >= 0; i--) {
        char name[32];
        snprintf(name, sizeof name, "obj%d", i);
        assert_int_equal(*(int *)orr_sim_shared_peek(f.s, name), i);
    }
    done(&f);
}

/* A cluster of two nodes, each a template of a memory, an rnic and a
 * workload: each node's components share its hostmem and are colocated;
 * the nodes are not. */
static void test_cluster_nodes_colocate(void **state)
{
    (void)state;
    char path[] = "/tmp/orr_shared_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "cluster:\n"
                       "  nodes: 2\n"
                       "  node:\n"
                       "    components:\n"
                       "      rnic: {type: rnic}\n"
                       "      ar: {type: allreduce, size: 4KiB}\n"
                       "    links:\n"
                       "      - {from: ar.rnic, to: rnic.host, latency: 100ns}\n"
                       "    net: rnic.net\n"
                       "stop: {duration: 10us}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct orr_scenario sc;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_scenario_open(&sc, path, NULL, 0, NULL, orr_builtin_types, &d);
    if (rc)
        orr_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    const struct orr_component *r0 = orr_sim_find(sc.sim, "node0.rnic"),
                               *a0 = orr_sim_find(sc.sim, "node0.ar"),
                               *r1 = orr_sim_find(sc.sim, "node1.rnic"),
                               *a1 = orr_sim_find(sc.sim, "node1.ar");
    assert_non_null(r0);
    assert_non_null(a1);
    const uint32_t *ids;
    assert_int_equal(orr_sim_shared_users(sc.sim, "hostmem:node0", &ids), 2);
    assert_int_equal(orr_sim_colocation(sc.sim, a0->id), orr_sim_colocation(sc.sim, r0->id));
    assert_int_equal(orr_sim_colocation(sc.sim, a1->id), orr_sim_colocation(sc.sim, r1->id));
    assert_int_not_equal(orr_sim_colocation(sc.sim, r0->id), orr_sim_colocation(sc.sim, r1->id));
    orr_scenario_close(&sc);
    orr_diag_free(&d);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_and_colocation),
        cmocka_unit_test(test_declaring_twice_counts_once),
        cmocka_unit_test(test_observers_record_nobody),
        cmocka_unit_test(test_programming_errors_abort),
        cmocka_unit_test(test_many_objects),
        cmocka_unit_test(test_cluster_nodes_colocate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
