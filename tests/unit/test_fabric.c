/* The cluster fabric: the ECMP hash (deterministic, spreads evenly, salted
 * per switch), the header packing, topology graphs and BFS routing tables
 * (hop counts, every host reachable, exact tables on a k=4 fat-tree),
 * fat-tree k validation, and whole clusters run from YAML: PFC pauses a
 * sender before anything is dropped, ECN marks only above the threshold,
 * a down link's flows reroute over the other equal-cost port, and node
 * templates (a template of one fabric_host is the classic form, digest for
 * digest; ${...} values differ per node; ids run node by node; faults reach
 * template components). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fabric.h"
#include "hw/registry.h"
#include "orrery/net.h"
#include "orrery/scenario.h"
#include "testutil.h"

/* --- packets and hashing ------------------------------------------------- */

static void test_header_roundtrip(void **state)
{
    (void)state;
    struct net_hdr h = {.src = 1023, .dst = NET_MAX_NODES - 1, .flow = 0xBEEF, .prio = 5,
                        .src_port = 9, .ecn = false};
    uint64_t w = net_hdr_pack(&h);
    struct net_hdr u = net_hdr_unpack(w);
    assert_int_equal(u.src, 1023);
    assert_int_equal(u.dst, NET_MAX_NODES - 1);
    assert_int_equal(u.flow, 0xBEEF);
    assert_int_equal(u.prio, 5);
    assert_int_equal(u.src_port, 9);
    assert_false(u.ecn);
    assert_true(net_ecn(net_set_ecn(w)));
    assert_int_equal(net_src(w), 1023);
    /* ECN marking never moves a flow */
    assert_int_equal(net_ecmp_pick(w, 7, 4), net_ecmp_pick(net_set_ecn(w), 7, 4));
    struct orr_msg m = net_ctrl_frame(NET_CTRL_PAUSE, 3);
    assert_true(net_is_ctrl(m.data[1]));
    assert_int_equal(net_ctrl_op(m.data), NET_CTRL_PAUSE);
    assert_int_equal(net_ctrl_prio(m.data), 3);
}

static void test_ecmp_hash(void **state)
{
    (void)state;
    /* pinned values: the hash is part of the format (docs/fabric.md) */
    struct net_hdr h = {.src = 1, .dst = 2, .flow = 3};
    uint64_t w = net_hdr_pack(&h);
    unsigned first = net_ecmp_pick(w, 0, 8);
    for (int i = 0; i < 3; i++)
        assert_int_equal(net_ecmp_pick(w, 0, 8), first);
    assert_int_equal(net_mix64(0), 0);
    assert_int_equal(net_mix64(1), 0xd4d6edb14454c33aull);
    /* spread: 4096 flows over 4 ports, each within 10% of a quarter */
    unsigned bucket[4] = {0}, agree = 0;
    for (uint32_t f = 0; f < 4096; f++) {
        struct net_hdr x = {.src = f % 64, .dst = 100 + f / 64, .flow = net_flow_id(f % 64, 100, f)};
        uint64_t wx = net_hdr_pack(&x);
        unsigned a = net_ecmp_pick(wx, 1, 4), b = net_ecmp_pick(wx, 2, 4);
        assert_true(a < 4);
        bucket[a]++;
        agree += a == b;
    }
    for (int i = 0; i < 4; i++)
        assert_in_range(bucket[i], 1024 - 102, 1024 + 102);
    /* salts decorrelate tiers: two switches agree about 1/4 of the time */
    assert_in_range(agree, 1024 - 150, 1024 + 150);
    assert_int_equal(net_ecmp_pick(w, 0, 1), 0);
}

/* --- topologies and routing ---------------------------------------------- */

static uint32_t hops(const struct fabric_graph *g, const uint32_t *dist, unsigned from, unsigned to)
{
    return dist[(size_t)g->aHostSw[to] * g->nSw + g->aHostSw[from]];
}

/* Every switch has a route to every host: its table covers 0..nHost-1. */
static void assert_all_reachable(const struct fabric_graph *g, const uint32_t *dist)
{
    for (unsigned s = 0; s < g->nSw; s++) {
        char *r = fabric_routes(g, s, dist, NULL);
        unsigned next = 0;
        for (char *p = r; *p;) {
            unsigned long lo = strtoul(p, &p, 10), hi = lo;
            if (*p == '-')
                hi = strtoul(p + 1, &p, 10);
            assert_int_equal(lo, next);
            next = (unsigned)hi + 1;
            p = strchr(p, ';');
            assert_non_null(p);
            p++;
        }
        assert_int_equal(next, g->nHost);
        free(r);
    }
}

static void test_star_ring_torus(void **state)
{
    (void)state;
    struct fabric_graph g;
    char err[160];
    assert_int_equal(fabric_graph_build(&g, FABRIC_STAR, 8, 0, NULL, 0, err, sizeof err), 0);
    uint32_t *dist = fabric_distances(&g);
    assert_int_equal(g.nSw, 1);
    assert_int_equal(hops(&g, dist, 0, 7), 0);
    assert_all_reachable(&g, dist);
    free(dist);
    fabric_graph_free(&g);

    assert_int_equal(fabric_graph_build(&g, FABRIC_RING, 8, 0, NULL, 0, err, sizeof err), 0);
    dist = fabric_distances(&g);
    assert_int_equal(hops(&g, dist, 0, 1), 1);
    assert_int_equal(hops(&g, dist, 0, 4), 4);
    assert_int_equal(hops(&g, dist, 0, 7), 1); /* wraparound */
    assert_all_reachable(&g, dist);
    /* node 4 is opposite node 0: both directions are equal-cost */
    char *r = fabric_routes(&g, 0, dist, NULL);
    assert_non_null(strstr(r, ";4=1,2;"));
    free(r);
    free(dist);
    fabric_graph_free(&g);

    unsigned dims[3] = {4, 4, 2};
    assert_int_equal(fabric_graph_build(&g, FABRIC_TORUS, 32, 0, dims, 3, err, sizeof err), 0);
    dist = fabric_distances(&g);
    uint32_t worst = 0;
    for (unsigned h = 0; h < 32; h++)
        worst = hops(&g, dist, 0, h) > worst ? hops(&g, dist, 0, h) : worst;
    assert_int_equal(worst, 2 + 2 + 1);
    assert_int_equal(hops(&g, dist, 0, 3), 1);  /* x wraps */
    assert_int_equal(hops(&g, dist, 0, 5), 2);  /* (1,1) */
    assert_int_equal(hops(&g, dist, 0, 16), 1); /* z = 1 */
    assert_all_reachable(&g, dist);
    free(dist);
    fabric_graph_free(&g);
    assert_int_not_equal(fabric_graph_build(&g, FABRIC_TORUS, 32, 0, dims, 2, err, sizeof err), 0);
    assert_non_null(strstr(err, "product"));
}

static void test_fat_tree(void **state)
{
    (void)state;
    struct fabric_graph g;
    char err[160];
    assert_int_equal(fabric_graph_build(&g, FABRIC_FAT_TREE, 16, 4, NULL, 0, err, sizeof err), 0);
    assert_int_equal(g.nSw, 20); /* 8 edge, 8 agg, 4 core */
    uint32_t *dist = fabric_distances(&g);
    assert_int_equal(hops(&g, dist, 0, 1), 0);  /* same edge */
    assert_int_equal(hops(&g, dist, 0, 2), 2);  /* same pod */
    assert_int_equal(hops(&g, dist, 0, 15), 4); /* across the core */
    assert_all_reachable(&g, dist);
    char *r = fabric_routes(&g, 0, dist, NULL); /* pod0.edge0 */
    assert_string_equal(r, "0=0;1=1;2-15=2,3;");
    free(r);
    r = fabric_routes(&g, 8, dist, NULL); /* pod0.agg0 */
    assert_string_equal(g.aSwName[8], "fabric.pod0.agg0");
    assert_string_equal(r, "0-1=0;2-3=1;4-15=2,3;");
    free(r);
    r = fabric_routes(&g, 16, dist, NULL); /* core0 */
    assert_string_equal(r, "0-3=0;4-7=1;8-11=2;12-15=3;");
    free(r);
    free(dist);
    fabric_graph_free(&g);

    assert_int_not_equal(fabric_graph_build(&g, FABRIC_FAT_TREE, 16, 3, NULL, 0, err, sizeof err), 0);
    assert_non_null(strstr(err, "even"));
    assert_int_not_equal(fabric_graph_build(&g, FABRIC_FAT_TREE, 17, 4, NULL, 0, err, sizeof err), 0);
    assert_non_null(strstr(err, "do not fit"));
    assert_int_equal(fabric_graph_build(&g, FABRIC_FAT_TREE, 1024, 16, NULL, 0, err, sizeof err), 0);
    assert_int_equal(g.nSw, 320);
    fabric_graph_free(&g);
}

/* --- whole clusters -------------------------------------------------------- */

struct run {
    struct orr_scenario sc;
    struct orr_diag d;
};

static void run_yaml(struct run *r, const char *name, const char *yaml)
{
    char path[512];
    tmpdir_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    orr_diag_init(&r->d);
    int rc = orr_scenario_open(&r->sc, path, NULL, 0, NULL, orr_builtin_types, &r->d);
    if (rc)
        orr_diag_print(&r->d, stderr);
    assert_int_equal(rc, 0);
    orr_sim_run(r->sc.sim, NULL);
    orr_sim_finish(r->sc.sim);
}

static void run_free(struct run *r)
{
    orr_scenario_close(&r->sc);
    orr_diag_free(&r->d);
}

static double metric(const struct run *r, const char *comp, const char *name)
{
    const struct orr_metric *m;
    size_t n = orr_sim_metrics(r->sc.sim, &m);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].component, comp) && !strcmp(m[i].name, name))
            return m[i].value;
    fail_msg("no metric %s.%s", comp, name);
    return 0;
}

/* Two hosts blast node 0 at line rate through a star. */
static const char incast_fmt[] =
    "name: t\nstop: {duration: 1ms}\n"
    "cluster:\n  nodes: 3\n  node: {pattern: incast, count: 300, size: 1KiB, drain: 500us}\n"
    "  fabric:\n    link: {bandwidth: 100Gbps, latency: 100ns}\n"
    "    switch: {buffer: %s, pfc: %s, pfc_xoff: 16KiB, pfc_xon: 8KiB, ecn_threshold: %s}\n";

static void incast(struct run *r, const char *buffer, const char *pfc, const char *ecn)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml, incast_fmt, buffer, pfc, ecn);
    run_yaml(r, "incast.yaml", yaml);
}

static void test_pfc(void **state)
{
    (void)state;
    struct run r;
    incast(&r, "64KiB", "false", "0B");
    assert_true(metric(&r, "fabric.sw", "drops_queue_full") > 0);
    assert_true(metric(&r, "fabric.sw", "pauses_sent") == 0);
    run_free(&r);

    incast(&r, "64KiB", "true", "0B");
    assert_true(metric(&r, "fabric.sw", "p1.pauses_sent") > 0);
    assert_true(metric(&r, "fabric.sw", "p2.pauses_sent") > 0);
    assert_true(metric(&r, "node1.host", "pauses_received") > 0);
    assert_true(metric(&r, "fabric.sw", "drops_queue_full") == 0);
    assert_true(metric(&r, "node0.host", "rx_packets") == 600);
    assert_true(metric(&r, "fabric.sw", "p0.queue_bytes.max") <= 64 * 1024);
    run_free(&r);
}

static void test_ecn(void **state)
{
    (void)state;
    struct run r;
    incast(&r, "1MiB", "false", "8KiB");
    double marks = metric(&r, "fabric.sw", "p0.ecn_marks");
    assert_true(marks > 0);
    assert_true(metric(&r, "node0.host", "rx_ecn_marked") == marks);
    assert_true(metric(&r, "fabric.sw", "drops_queue_full") == 0);
    /* the queue passes 8 KiB: marks begin only past it */
    assert_true(metric(&r, "fabric.sw", "p0.queue_bytes.max") > 8 * 1024);
    run_free(&r);

    /* one sender at half rate never builds a queue: no marks */
    run_yaml(&r, "one.yaml",
             "name: t\nstop: {duration: 1ms}\n"
             "cluster:\n  nodes: 2\n  node: {pattern: incast, count: 300, size: 1KiB, rate: 50Gbps}\n"
             "  fabric: {switch: {ecn_threshold: 1KiB}}\n");
    assert_true(metric(&r, "fabric.sw", "ecn_marks") == 0);
    assert_true(metric(&r, "node0.host", "rx_packets") == 300);
    run_free(&r);
}

/* Hosts 0..14 send to host 15 across a k=4 fat-tree; pod0.edge0 (hosts 0
 * and 1) has uplinks on ports 2 and 3. */
static void test_link_down_reroute(void **state)
{
    (void)state;
    struct run r;
    /* the picked uplink first: which one ECMP picks without faults */
    run_yaml(&r, "base.yaml",
             "name: t\nstop: {duration: 1ms}\n"
             "cluster:\n  nodes: 16\n  node: {pattern: incast, target: 15, count: 50, rate: 5Gbps, drain: 100us}\n"
             "  fabric: {topology: fat-tree, k: 4}\n");
    double up2 = metric(&r, "fabric.pod0.edge0", "p2.tx_packets");
    double up3 = metric(&r, "fabric.pod0.edge0", "p3.tx_packets");
    assert_true(up2 + up3 == 100); /* hosts 0 and 1, 50 each */
    assert_true(metric(&r, "node15.host", "rx_packets") == 750);
    run_free(&r);

    /* port 2 down from the start: everything takes port 3, nothing lost */
    run_yaml(&r, "down.yaml",
             "name: t\nstop: {duration: 1ms}\n"
             "cluster:\n  nodes: 16\n  node: {pattern: incast, target: 15, count: 50, rate: 5Gbps, drain: 100us}\n"
             "  fabric: {topology: fat-tree, k: 4}\n"
             "faults:\n  - {at: 0ns, component: fabric.pod0.edge0, fault: link_down, port: 2}\n"
             "  - {at: 0ns, component: fabric.pod0.agg0, fault: link_down, port: 0}\n");
    assert_true(metric(&r, "fabric.pod0.edge0", "p2.tx_packets") == 0);
    assert_true(metric(&r, "fabric.pod0.edge0", "p3.tx_packets") == 100);
    assert_true(metric(&r, "fabric.pod0.edge0", "drops_link_down") == 0);
    assert_true(metric(&r, "node15.host", "rx_packets") == 750);
    run_free(&r);

    /* both uplinks down: what leaves the edge is dropped and counted */
    run_yaml(&r, "both.yaml",
             "name: t\nstop: {duration: 1ms}\n"
             "cluster:\n  nodes: 16\n  node: {pattern: incast, target: 15, count: 50, rate: 5Gbps, drain: 100us}\n"
             "  fabric: {topology: fat-tree, k: 4}\n"
             "faults:\n  - {at: 0ns, component: fabric.pod0.edge0, fault: link_down, port: 2}\n"
             "  - {at: 0ns, component: fabric.pod0.edge0, fault: link_down, port: 3}\n");
    assert_true(metric(&r, "fabric.pod0.edge0", "drops_link_down") == 100);
    assert_true(metric(&r, "node15.host", "rx_packets") == 650);
    run_free(&r);
}

/* --- node templates ------------------------------------------------------- */

static uint64_t run_digest(const char *name, const char *yaml)
{
    struct run r;
    run_yaml(&r, name, yaml);
    uint64_t dg = orr_sim_digest(r.sc.sim);
    run_free(&r);
    return dg;
}

/* A template holding one fabric_host builds exactly the classic form. */
static void test_template_is_classic(void **state)
{
    (void)state;
    static const char head[] = "name: t\nseed: 3\nstop: {duration: 1ms}\ncluster:\n  nodes: 8\n";
    static const char tail[] = "  fabric: {topology: ring, link: {mtu: 2KiB}}\n";
    char a[512], b[512];
    snprintf(a, sizeof a, "%s  node: {pattern: uniform, count: 50, size: 1KiB}\n%s", head, tail);
    snprintf(b, sizeof b,
             "%s  node:\n    components:\n      host: {type: fabric_host, pattern: uniform, count: 50, "
             "size: 1KiB}\n%s", head, tail);
    uint64_t da = run_digest("classic.yaml", a), db = run_digest("template.yaml", b);
    assert_true(da == db);
}

/* memory + root complex + NIC per node; node i sends i packets to node
 * i+1 (mod 4): substitutions in nested values, ids node by node. */
static void test_template_nics(void **state)
{
    (void)state;
    struct run r;
    run_yaml(&r, "nics.yaml",
             "name: t\nstop: {duration: 200us}\ncluster:\n  nodes: 4\n  node:\n"
             "    components:\n"
             "      mem: {type: flatmem, size: 1GiB, latency: 90ns}\n"
             "      rc: {type: pcie_rc, gen: 3, width: 8}\n"
             "      nic: {type: nic, tx: {size: 1KiB, dest: \"${next}\", count: \"${node}\"}}\n"
             "    links:\n"
             "      - {from: rc.mem, to: mem.in0, latency: 20ns}\n"
             "      - {from: rc.dev0, to: nic.pcie, latency: 300ns}\n");
    assert_int_equal(orr_sim_component_count(r.sc.sim), 13);
    static const char *const order[] = {"node0.mem", "node0.rc", "node0.nic", "node1.mem",
                                        "node1.rc", "node1.nic", "node2.mem", "node2.rc",
                                        "node2.nic", "node3.mem", "node3.rc", "node3.nic",
                                        "fabric.sw"};
    for (uint32_t i = 0; i < 13; i++)
        assert_string_equal(orr_sim_component(r.sc.sim, i)->path, order[i]);
    static const double rx[4] = {3, 0, 1, 2}; /* from node i-1, which sent i-1 */
    char comp[32];
    for (unsigned i = 0; i < 4; i++) {
        snprintf(comp, sizeof comp, "node%u.nic", i);
        assert_true(metric(&r, comp, "tx_packets") == i);
        assert_true(metric(&r, comp, "rx_packets") == rx[i]);
    }
    run_free(&r);
}

/* A top-of-rack switch inside the template; a fault on node3's cuts node 3
 * off: faults address template components like any other. */
static void test_template_fault(void **state)
{
    (void)state;
    static const char fmt[] =
        "name: t\nstop: {duration: 1ms}\ncluster:\n  nodes: 4\n  node:\n    components:\n"
        "      host: {type: fabric_host, pattern: incast, target: 3, count: 20, drain: 50us}\n"
        "      tor: {type: fabric_switch, ports: 2, routes: \"0-3=1;${node}=0\"}\n"
        "    links: [{from: host.net, to: tor.p0, latency: 50ns, bandwidth: 100Gbps}]\n"
        "    net: tor.p1\n%s";
    char yaml[1024];
    struct run r;
    snprintf(yaml, sizeof yaml, fmt, "");
    run_yaml(&r, "tor.yaml", yaml);
    assert_true(metric(&r, "node3.host", "rx_packets") == 60);
    assert_true(metric(&r, "node3.tor", "p0.tx_packets") == 60);
    run_free(&r);
    snprintf(yaml, sizeof yaml, fmt,
             "faults:\n  - {at: 0ns, component: node3.tor, fault: link_down, port: 0}\n");
    run_yaml(&r, "tor-down.yaml", yaml);
    assert_true(metric(&r, "node3.host", "rx_packets") == 0);
    assert_true(metric(&r, "node3.tor", "drops_link_down") == 60);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_ecmp_hash),
        cmocka_unit_test(test_star_ring_torus),
        cmocka_unit_test(test_fat_tree),
        cmocka_unit_test(test_pfc),
        cmocka_unit_test(test_ecn),
        cmocka_unit_test(test_link_down_reroute),
        cmocka_unit_test(test_template_is_classic),
        cmocka_unit_test(test_template_nics),
        cmocka_unit_test(test_template_fault),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
