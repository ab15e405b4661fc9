/* cluster: the builder behind a scenario's top-level `cluster:` section
 * (docs/fabric.md). It expands N nodes and a fabric description into
 * nodes — either one fabric_host each (`nodeI.host`, node number I), or a
 * template of components and links (`node: {components, links, net}`,
 * node_template.c) stamped out as nodeI.<name> — plus fabric_switch
 * components named by topology.c, links with the fabric's bandwidth and
 * latency, and a routing table per switch computed by BFS.
 *
 * Order, which fixes component ids: node 0's components (its host, or its
 * template components in template order), node 1's, ..., then switches in
 * topology.c's order. The node template and the switch keys are validated
 * once, against the components' and the switch's own schemas, so a mistake
 * is reported once at its file:line:col rather than once per instance. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fabric.h"
#include "hw/registry.h"
#include "node_template.h"
#include "orrery/net.h"
#include "orrery/units.h"

#define MAX_NODES 65536u

static const char *const topologies[] = {"star", "fat-tree", "torus", "ring", NULL};

static const struct orr_param cluster_params[] = {
    {"nodes", ORR_P_UINT, NULL, ORR_PF_POSITIVE, "number of nodes (endpoints)", NULL, 1, MAX_NODES},
    {"node", ORR_P_MAP, "{}", 0,
     "every node: fabric_host keys (pattern, count, size, ...), or a template "
     "{components, links, net} (docs/fabric.md)"},
    {"fabric", ORR_P_MAP, "{}", 0, "topology, k, dims, link: {...}, switch: {...}"},
    {NULL},
};

static const struct orr_param fabric_params[] = {
    {"topology", ORR_P_ENUM, "star", 0, "star, fat-tree, torus or ring", topologies},
    {"k", ORR_P_UINT, "0", 0, "fat-tree radix (even); 0 = the smallest that fits nodes", NULL, 0, 64},
    {"dims", ORR_P_LIST, "", 0, "torus: [x, y] or [x, y, z], product = nodes"},
    {"link", ORR_P_MAP, "{}", 0, "every link: bandwidth, latency, mtu"},
    {"switch", ORR_P_MAP, "{}", 0, "every switch: fabric_switch keys (buffer, latency, ecn_threshold, pfc, ...)"},
    {NULL},
};

static const struct orr_param link_params[] = {
    {"bandwidth", ORR_P_BW, "100Gbps", ORR_PF_POSITIVE, "per direction"},
    {"latency", ORR_P_TIME, "100ns", ORR_PF_POSITIVE, "propagation delay (cable and PHY)"},
    {"", ORR_P_INCLUDE, .group = fabric_mtu_params}, /* mtu */
    {NULL},
};

/* keys the builder sets itself */
static const char *const host_owned[] = {"node", "nodes", "mtu", NULL};
static const char *const switch_owned[] = {"ports", "routes", "salt", NULL};

struct cl {
    struct orr_sim *s;
    struct orr_diag *d;
    const struct orr_node *root;
    struct orr_params top, fab, link;
    struct orr_params host, sw; /* the host and switch templates, validated */
    unsigned n;
    struct node_template *tmpl; /* NULL: one fabric_host per node */
};

static int reject_owned(struct cl *m, const struct orr_node *map, const char *const *owned,
                        const char *kp)
{
    int rc = 0;
    for (size_t i = 0; map && i < map->n; i++)
        for (size_t k = 0; owned[k]; k++)
            if (strcmp(map->aKey[i], owned[k]) == 0) {
                orr_diag_error(m->d, &map->aKeyMark[i], kp,
                               "'%s' is set by the cluster builder", owned[k]);
                rc = ORR_ESCHEMA;
            }
    return rc;
}

/* Validate a template once against a type's schema (builder keys aside)
 * into *p; for the host template, also its packet size against the mtu. */
static int check_template(struct cl *m, const struct orr_component_type *t,
                          const struct orr_node *map, const char *const *owned, const char *kp,
                          struct orr_params *p)
{
    int rc = reject_owned(m, map, owned, kp);
    if (rc == 0)
        rc = orr_params_parse(t->params, map, kp, NULL, p, m->d);
    if (rc == 0 && !map) /* absent: defaults, positioned at the cluster */
        p->mark = m->root->mark;
    if (rc == 0 && t == &orr_fabric_host_type && orr_param_given(p, "size")) {
        uint64_t size = orr_param_u64(p, "size"), mtu = orr_param_u64(&m->link, "mtu");
        if (size <= NET_HDR_BYTES || size > mtu) {
            orr_diag_error(m->d, orr_param_mark(p, "size"), "cluster.node.size",
                           "size %llu B must exceed the %u B of headers and be at most the mtu "
                           "(%llu B)", (unsigned long long)size, NET_HDR_BYTES,
                           (unsigned long long)mtu);
            rc = ORR_ESCHEMA;
        }
    }
    return rc;
}

/* The node: fabric_host keys, or a template of components and links. */
static int check_node(struct cl *m)
{
    const struct orr_node *node = orr_param_map(&m->top, "node");
    if (!node_template_is(node))
        return check_template(m, &orr_fabric_host_type, node, host_owned, "cluster.node", &m->host);
    struct node_template_env env = {
        .nodes = (unsigned)orr_param_u64(&m->top, "nodes"),
        .link = &m->link,
    };
    return node_template_parse(&m->tmpl, m->s, node, &env, m->d);
}

static int read_dims(struct cl *m, unsigned *dims, unsigned *nDim)
{
    size_t n;
    const char *const *v = orr_param_list(&m->fab, "dims", &n);
    const struct orr_mark *mark = orr_param_mark(&m->fab, "dims");
    if (n < 2 || n > 3) {
        orr_diag_error(m->d, mark, "cluster.fabric.dims",
                       "a torus needs dims: [x, y] or [x, y, z] (product = nodes)");
        return ORR_ESCHEMA;
    }
    for (size_t i = 0; i < n; i++) {
        char *end;
        unsigned long x = strtoul(v[i], &end, 10);
        if (end == v[i] || *end || x == 0 || x > MAX_NODES) {
            orr_diag_error(m->d, mark, "cluster.fabric.dims", "'%s' is not a positive size", v[i]);
            return ORR_ESCHEMA;
        }
        dims[i] = (unsigned)x;
    }
    *nDim = (unsigned)n;
    return 0;
}

static int add(struct cl *m, const struct orr_component_type *t, const char *path,
               struct orr_params *p)
{
    return orr_sim_add_component_params(m->s, t, path, p, "cluster", m->d, NULL);
}

static int build_hosts(struct cl *m)
{
    int rc = 0;
    for (unsigned h = 0; rc == 0 && h < m->n; h++) {
        struct orr_params p;
        if (orr_params_copy(&p, &m->host) || orr_param_forward(&p, "mtu", &m->link))
            return ORR_ENOMEM;
        orr_param_set_u64(&p, "node", h);
        orr_param_set_u64(&p, "nodes", m->n);
        char path[32];
        snprintf(path, sizeof path, "node%u.host", h);
        rc = add(m, &orr_fabric_host_type, path, &p);
    }
    return rc;
}

/* Each switch gets its port count, its ECMP salt and its routing table,
 * which fabric_routes writes in the switch's own `routes` grammar: a
 * table the builder computes, not a value it read. */
static int build_switches(struct cl *m, const struct fabric_graph *g)
{
    uint32_t *dist = fabric_distances(g);
    int rc = dist ? 0 : ORR_ENOMEM;
    for (unsigned s = 0; rc == 0 && s < g->nSw; s++) {
        struct orr_params p;
        char *routes = fabric_routes(g, s, dist, NULL);
        if (!routes || orr_params_copy(&p, &m->sw)) {
            free(routes);
            rc = ORR_ENOMEM;
            break;
        }
        orr_param_set_u64(&p, "ports", g->aPorts[s]);
        orr_param_set_u64(&p, "salt", s);
        rc = orr_param_set_str(&p, "routes", routes);
        free(routes);
        if (rc == 0)
            rc = add(m, &orr_fabric_switch_type, g->aSwName[s], &p);
        else
            orr_params_free(&p);
    }
    free(dist);
    return rc;
}

static int build_links(struct cl *m, const struct fabric_graph *g)
{
    orr_time_t lat = orr_param_u64(&m->link, "latency");
    uint64_t bw = orr_param_u64(&m->link, "bandwidth");
    char a[512], b[96];
    int rc = 0;
    const char *net = m->tmpl ? node_template_net(m->tmpl) : "host.net";
    for (unsigned h = 0; rc == 0 && h < g->nHost; h++) {
        snprintf(a, sizeof a, "node%u.%s", h, net);
        snprintf(b, sizeof b, "%s.p%u", g->aSwName[g->aHostSw[h]], g->aHostPort[h]);
        rc = orr_sim_link(m->s, a, b, lat, bw, &m->root->mark, m->d);
    }
    /* each switch-to-switch link once, from its lower (switch, port) end */
    for (unsigned s = 0; rc == 0 && s < g->nSw; s++)
        for (unsigned p = 0; rc == 0 && p < g->aPorts[s]; p++) {
            int32_t t = g->aPeerSw[g->aPortBase[s] + p];
            uint32_t q = g->aPeerPort[g->aPortBase[s] + p];
            if (t < 0 || (unsigned)t < s || ((unsigned)t == s && q < p))
                continue;
            snprintf(a, sizeof a, "%s.p%u", g->aSwName[s], p);
            snprintf(b, sizeof b, "%s.p%u", g->aSwName[t], q);
            rc = orr_sim_link(m->s, a, b, lat, bw, &m->root->mark, m->d);
        }
    return rc;
}

/* Topology keys -> graph, with errors at the key that is wrong. */
static int make_graph(struct cl *m, struct fabric_graph *g)
{
    enum fabric_topo t = (enum fabric_topo)orr_param_enum(&m->fab, "topology");
    unsigned k = (unsigned)orr_param_u64(&m->fab, "k"), dims[3] = {0}, nDim = 0;
    if (t == FABRIC_FAT_TREE && k == 0)
        for (k = 2; (uint64_t)k * k * k / 4 < m->n; k += 2)
            ;
    if (t == FABRIC_TORUS && read_dims(m, dims, &nDim))
        return ORR_ESCHEMA;
    if (t == FABRIC_STAR && m->n > 4096) {
        orr_diag_error(m->d, orr_param_mark(&m->top, "nodes"), "cluster.nodes",
                       "a star has one switch of at most 4096 ports; %u nodes need another topology",
                       m->n);
        return ORR_ESCHEMA;
    }
    char err[160];
    if (fabric_graph_build(g, t, m->n, k, dims, nDim, err, sizeof err) == 0)
        return 0;
    const char *key = t == FABRIC_TORUS ? "dims" : k % 2 || k < 2 ? "k" : NULL;
    if (key && orr_param_given(&m->fab, key))
        orr_diag_error(m->d, orr_param_mark(&m->fab, key), key[0] == 'k' ? "cluster.fabric.k"
                                                                         : "cluster.fabric.dims",
                       "%s", err);
    else
        orr_diag_error(m->d, orr_param_mark(&m->top, "nodes"), "cluster.nodes", "%s", err);
    return ORR_ESCHEMA;
}

static int cluster_expand(struct orr_sim *s, const struct orr_node *node, const char *keypath,
                          struct orr_diag *d)
{
    struct cl m = {.s = s, .d = d, .root = node};
    struct fabric_graph g = {0};
    (void)keypath;
    int rc = orr_params_parse(cluster_params, node, "cluster", NULL, &m.top, d);
    if (rc == 0)
        rc = orr_params_parse(fabric_params, orr_param_map(&m.top, "fabric"), "cluster.fabric",
                              NULL, &m.fab, d);
    if (rc == 0) {
        int r1 = orr_params_parse(link_params, orr_param_map(&m.fab, "link"),
                                  "cluster.fabric.link", NULL, &m.link, d);
        int r2 = r1 ? ORR_ESCHEMA : check_node(&m);
        int r3 = check_template(&m, &orr_fabric_switch_type, orr_param_map(&m.fab, "switch"),
                                switch_owned, "cluster.fabric.switch", &m.sw);
        rc = r1 || r2 || r3 ? ORR_ESCHEMA : 0;
    }
    if (rc == 0 && orr_param_u64(&m.link, "mtu") <= NET_HDR_BYTES) {
        orr_diag_error(d, orr_param_mark(&m.link, "mtu"), "cluster.fabric.link.mtu",
                       "mtu %llu B does not exceed the %u B of packet headers (net.h)",
                       (unsigned long long)orr_param_u64(&m.link, "mtu"), NET_HDR_BYTES);
        rc = ORR_ESCHEMA;
    }
    if (rc == 0) {
        m.n = (unsigned)orr_param_u64(&m.top, "nodes");
        rc = make_graph(&m, &g);
    }
    if (rc == 0)
        rc = m.tmpl ? node_template_build(m.tmpl, s, d) : build_hosts(&m);
    if (rc == 0)
        rc = build_switches(&m, &g);
    if (rc == 0)
        rc = build_links(&m, &g);
    fabric_graph_free(&g);
    node_template_free(m.tmpl);
    orr_params_free(&m.top);
    orr_params_free(&m.fab);
    orr_params_free(&m.link);
    orr_params_free(&m.host);
    orr_params_free(&m.sw);
    return rc;
}

static const struct orr_component_type *const cluster_children[] = {
    &orr_fabric_host_type, &orr_fabric_switch_type, NULL}; /* and any type a node template names */

const struct orr_component_type orr_cluster_type = {
    .name = "cluster",
    .children = cluster_children,
    .summary = "builder of the top-level `cluster:` section: nodes on a star, fat-tree, torus or ring fabric",
    .params = cluster_params,
    .expand = cluster_expand,
};
