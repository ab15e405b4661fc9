/* Tests for pictures (analysis/graph.c) and what feeds them: the coherence
 * protocols as neutral state machines (hw/cache/protocol_fsm.c through
 * orr_builtin_fsms), the link query orr_port_link, and the DOT text of a
 * state machine and of a scenario's topology (DOT needs no layout, so these
 * tests do not depend on Graphviz's plugins or fonts). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "hw/registry.h"
#include "orrery/error.h"
#include "orrery/fsm.h"
#include "orrery/scenario.h"
#include "orrery/units.h"

static const struct orr_fsm_source *protocols(void)
{
    for (const struct orr_fsm_source *s = orr_builtin_fsms; s->kind; s++)
        if (strcmp(s->kind, "protocol") == 0)
            return s;
    fail_msg("no fsm source 'protocol'");
    return NULL;
}

static void build(const char *name, const char *view, struct orr_fsm *f)
{
    char err[256];
    int rc = protocols()->build(name, view, f, err, sizeof err);
    if (rc)
        fail_msg("%s: %s", name, err);
}

static int state(const struct orr_fsm *f, const char *name)
{
    for (size_t i = 0; i < f->nState; i++)
        if (strcmp(f->aState[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The edge from -> to whose label is exactly label (NULL: any label). */
static bool edge(const struct orr_fsm *f, const char *from, const char *to, const char *label)
{
    int a = state(f, from), b = state(f, to);
    for (size_t i = 0; a >= 0 && b >= 0 && i < f->nEdge; i++)
        if (f->aEdge[i].from == (unsigned)a && f->aEdge[i].to == (unsigned)b &&
            (!label || strcmp(f->aEdge[i].label, label) == 0))
            return true;
    return false;
}

static void test_cache_states(void **st)
{
    (void)st;
    struct orr_fsm f;
    build("mesi", NULL, &f);
    assert_string_equal(f.name, "mesi-dir"); /* a family picks its directory variant */
    assert_int_equal(state(&f, "O"), -1);
    assert_int_equal(state(&f, "OM_D"), -1);
    static const char *const stable[] = {"I", "S", "E", "M"};
    for (size_t i = 0; i < 4; i++) {
        int s = state(&f, stable[i]);
        assert_true(s >= 0);
        assert_true(f.aState[s].flags & ORR_FSM_STABLE);
    }
    assert_true(f.aState[state(&f, "I")].flags & ORR_FSM_INITIAL);
    assert_false(f.aState[state(&f, "IS_D")].flags & ORR_FSM_STABLE);
    assert_false(f.aState[state(&f, "M")].flags & ORR_FSM_INITIAL);
    /* MESI's M probed for sharing hands its data over and becomes S */
    assert_true(edge(&f, "M", "S", "PROBE_S / ACK_DATA"));
    assert_true(edge(&f, "I", "IS_D", "LOAD / GETS"));
    assert_true(edge(&f, "M", "M", "LOAD / HIT_R"));
    assert_true(edge(&f, "IS_D", "E", "DATA_E / FILL,HIT_R,UNBLOCK"));
    /* stalls and impossible cells are not transitions */
    for (size_t i = 0; i < f.nEdge; i++) {
        assert_null(strstr(f.aEdge[i].label, "STALL"));
        assert_null(strstr(f.aEdge[i].label, "ERROR"));
    }
    orr_fsm_free(&f);

    build("moesi-snoop", NULL, &f);
    assert_true(state(&f, "O") >= 0 && state(&f, "OM_D") >= 0);
    assert_true(edge(&f, "M", "O", "PROBE_S / ACK_DATA"));
    assert_false(edge(&f, "M", "S", NULL));
    assert_true(edge(&f, "O", "OM_D", "STORE / GETM"));
    orr_fsm_free(&f);

    build("msi", NULL, &f);
    assert_int_equal(state(&f, "E"), -1);
    assert_false(edge(&f, "IS_D", "E", NULL));
    orr_fsm_free(&f);
}

static void test_home_states(void **st)
{
    (void)st;
    struct orr_fsm f;
    build("moesi", "home", &f);
    assert_int_equal(f.nState, 4); /* I S X O */
    assert_true(edge(&f, "I", "X", "GETS / read memory, grant E if alone"));
    assert_true(edge(&f, "X", "O", "GETS [owner M] / PROBE_S owner, memory if clean, grant S"));
    assert_true(edge(&f, "X", "S", "GETS [owner E] / PROBE_S owner, memory if clean, grant S"));
    assert_true(edge(&f, "S", "X", "GETM / PROBE_M sharers, read memory, grant M"));
    assert_true(edge(&f, "O", "O", NULL));
    orr_fsm_free(&f);

    build("mesi-dir", "home", &f);
    assert_int_equal(state(&f, "O"), -1);
    assert_true(edge(&f, "X", "S", "GETS [owner M] / PROBE_S owner, memory if clean, grant S"));
    orr_fsm_free(&f);

    build("msi-dir", "home", &f); /* no E: a lone reader gets S */
    assert_true(edge(&f, "I", "S", "GETS / read memory, grant S"));
    orr_fsm_free(&f);

    build("mesi-snoop", "home", &f); /* no directory: one state */
    assert_int_equal(f.nState, 1);
    assert_int_equal(f.nEdge, 2);
    assert_true(edge(&f, "snoop", "snoop", "GETM / PROBE_M all, memory if clean, grant M"));
    orr_fsm_free(&f);
}

static void test_unknown(void **st)
{
    (void)st;
    struct orr_fsm f;
    char err[512];
    assert_int_equal(protocols()->build("mosi", NULL, &f, err, sizeof err), ORR_ENOENT);
    assert_non_null(strstr(err, "unknown protocol 'mosi'"));
    assert_non_null(strstr(err, "moesi-dir"));
    assert_int_equal(f.nState, 0);
    assert_int_equal(protocols()->build("mesi", "llc", &f, err, sizeof err), ORR_ENOENT);
    assert_non_null(strstr(err, "home"));
    char names[256];
    assert_string_equal(protocols()->names(names, sizeof names),
                        "msi, mesi, moesi, msi-snoop, msi-dir, mesi-snoop, mesi-dir, "
                        "moesi-snoop, moesi-dir");
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_fsm_dot(void **st)
{
    (void)st;
    struct orr_fsm f;
    struct orr_diag d;
    orr_diag_init(&d);
    build("moesi", NULL, &f);
    char *out, *again;
    size_t len, len2;
    assert_int_equal(orr_graph_fsm(&f, "dot", &out, &len, &d), 0);
    assert_int_equal(strlen(out), len);
    /* parallel cells are merged: one M self-loop carrying both hits */
    assert_int_equal(count(out, "\tM -> M\t"), 1);
    assert_non_null(strstr(out, "LOAD / HIT_R\\lSTORE / HIT_W\\l"));
    assert_non_null(strstr(out, "shape=doublecircle"));
    assert_int_equal(orr_graph_fsm(&f, "dot", &again, &len2, &d), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(out, again, len);
    free(out);
    free(again);

    assert_int_equal(orr_graph_fsm(&f, "jpeg", &out, &len, &d), ORR_EINVAL);
    assert_null(out);
    assert_int_equal(len, 0);
    f.aEdge[0].to = (unsigned)f.nState; /* breaks invariant 1 */
    assert_int_equal(orr_graph_fsm(&f, "dot", &out, &len, &d), ORR_EINVAL);
    assert_int_equal(d.nMsg, 2);
    orr_fsm_free(&f);
    orr_diag_free(&d);
}

static void test_topology_dot(void **st)
{
    (void)st;
    const char *src = getenv("ORRERY_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/scenarios/mem-latency.yaml", src ? src : ".");
    struct orr_scenario sc;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_scenario_open(&sc, path, NULL, 0, NULL, orr_builtin_types, &d);
    if (rc)
        orr_diag_print(&d, stderr);
    assert_int_equal(rc, 0);

    /* the link query: sock0.core0's only port goes to the router */
    const struct orr_component *core = orr_sim_find(sc.sim, "sock0.core0");
    assert_non_null(core);
    assert_true(core->nPort >= 1);
    orr_time_t latency = 0;
    uint64_t bw = 1;
    assert_int_equal(orr_port_link(core->aPort[0], &latency, &bw), 0);
    assert_true(latency > 0);
    const struct orr_component *numa = orr_sim_find(sc.sim, "numa");
    if (numa && numa->nPort)
        assert_int_equal(orr_port_link(numa->aPort[0], NULL, NULL), ORR_ENOENT);

    char *out;
    size_t len;
    assert_int_equal(orr_graph_topology(sc.sim, "t", "dot", &out, &len, &d), 0);
    assert_non_null(strstr(out, "subgraph cluster_sock0 {"));
    assert_non_null(strstr(out, "subgraph cluster_cxl0 {"));
    assert_non_null(strstr(out, "\"sock0.core0\""));
    assert_non_null(strstr(out, "label=\"core0\\ntcore\""));
    assert_non_null(strstr(out, "\tnuma\t"));
    char lat[32];
    orr_unit_format(ORR_UNIT_TIME, latency, lat, sizeof lat);
    assert_non_null(strstr(out, lat));
    free(out);
    orr_scenario_close(&sc);
    orr_diag_free(&d);
}

static void test_formats(void **st)
{
    (void)st;
    assert_string_equal(orr_graph_format_for_path("a/b.svg"), "svg");
    assert_string_equal(orr_graph_format_for_path("x.png"), "png");
    assert_string_equal(orr_graph_format_for_path("x.gv"), "dot");
    assert_null(orr_graph_format_for_path("x.pdf"));
    assert_null(orr_graph_format_for_path("dir.svg/x"));
    assert_true(orr_graph_format_known("svg-inline"));
    assert_false(orr_graph_format_known("pdf"));
    assert_false(orr_graph_format_known(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_states), cmocka_unit_test(test_home_states),
        cmocka_unit_test(test_unknown),      cmocka_unit_test(test_fsm_dot),
        cmocka_unit_test(test_topology_dot), cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
