/* Topology and state-machine pictures with Graphviz: build a cgraph graph
 * from the model (generically: components, ports and links, or an
 * orr_fsm), then write it as DOT or lay it out with the dot engine and
 * render it in memory. See graph.h for the API and its contract.
 *
 * Every graph is built in a fixed order (component ids, port indices,
 * table order) so its DOT text, and the layout Graphviz computes from it,
 * depend only on the model. Nothing here knows a concrete component type:
 * a new model folder appears in the pictures without new code here. */
#define _POSIX_C_SOURCE 200809L
#include "analysis/graph.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <graphviz/gvplugin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "orrery/units.h"

static const char *const formats[] = {"svg", "svg-inline", "png", "dot"};

bool orr_graph_format_known(const char *format)
{
    for (size_t i = 0; format && i < sizeof formats / sizeof *formats; i++)
        if (strcmp(format, formats[i]) == 0)
            return true;
    return false;
}

const char *orr_graph_format_for_path(const char *path)
{
    static const struct {
        const char *ext, *format;
    } map[] = {{".svg", "svg"}, {".png", "png"}, {".dot", "dot"}, {".gv", "dot"}};
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/'))
        return NULL;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(dot, map[i].ext) == 0)
            return map[i].format;
    return NULL;
}

/* ------------------------------------------------------------- cgraph glue */

/* cgraph takes char * for strings it only reads. */
static void set(void *obj, const char *key, const char *value)
{
    agsafeset(obj, (char *)key, (char *)value, "");
}

static void defaults(Agraph_t *g, int kind, const char *const *kv)
{
    for (; kv[0]; kv += 2)
        agattr(g, kind, (char *)kv[0], (char *)kv[1]);
}

/* A growable string. */
struct text {
    char *s;
    size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        if (!t->s)
            orr_oom();
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = 0;
}

/* Append s with Graphviz's escString rules: a backslash stands for itself. */
static void text_escaped(struct text *t, const char *s)
{
    for (; *s; s++)
        text_add(t, *s == '\\' ? "\\\\" : s, *s == '\\' ? 2 : 1);
}

/* Graph-wide look shared by both kinds of picture. */
static Agraph_t *open_graph(const char *name, const char *title, const char *rankdir)
{
    Agraph_t *g = agopen((char *)name, Agdirected, NULL);
    static const char *const graph_attrs[] = {"fontname", "sans-serif", "fontsize", "12",
                                              "labelloc", "t", "nodesep", "0.3", NULL};
    defaults(g, AGRAPH, graph_attrs);
    set(g, "rankdir", rankdir);
    if (title && *title) {
        struct text t = {0};
        text_escaped(&t, title);
        set(g, "label", t.s);
        free(t.s);
    }
    return g;
}

/* The Graphviz plugins we use, linked in rather than found through
 * Graphviz's plugin configuration: core (SVG, DOT), dot_layout and gd
 * (PNG, and text sizes through fontconfig/freetype). Not pango/cairo: its
 * glib would meet the glib copy that libunicorn exports into the process
 * (hw/isa), and glib's callers would crash. A fixed set also makes the
 * pictures independent of which plugins a machine has installed. */
extern gvplugin_library_t gvplugin_core_LTX_library;
extern gvplugin_library_t gvplugin_dot_layout_LTX_library;
extern gvplugin_library_t gvplugin_gd_LTX_library;

static GVC_t *graphviz_open(void)
{
    static const lt_symlist_t plugins[] = {
        {"gvplugin_core_LTX_library", &gvplugin_core_LTX_library},
        {"gvplugin_dot_layout_LTX_library", &gvplugin_dot_layout_LTX_library},
        {"gvplugin_gd_LTX_library", &gvplugin_gd_LTX_library},
        {NULL, NULL},
    };
    return gvContextPlugins(plugins, 0);
}

/* Write g as DOT (before layout), or lay it out and render it. */
static int render(Agraph_t *g, const char *format, char **out, size_t *len, struct orr_diag *d)
{
    if (strcmp(format, "dot") == 0) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (!f)
            orr_oom();
        int rc = agwrite(g, f);
        fclose(f);
        if (rc != 0) {
            free(buf);
            orr_diag_error(d, NULL, NULL, "graphviz could not write the graph as DOT");
            return ORR_ENOTSUP;
        }
        *out = buf, *len = n;
        return 0;
    }
    bool inline_svg = strcmp(format, "svg-inline") == 0;
    GVC_t *gvc = graphviz_open();
    if (!gvc) {
        orr_diag_error(d, NULL, NULL, "graphviz could not start (gvContext failed)");
        return ORR_ENOTSUP;
    }
    int rc = ORR_ENOTSUP;
    if (gvLayout(gvc, g, "dot") != 0) {
        orr_diag_error(d, NULL, NULL, "graphviz could not lay out the graph (dot engine missing?)");
        gvFreeContext(gvc);
        return rc;
    }
    char *data = NULL;
    unsigned n = 0;
    if (gvRenderData(gvc, g, inline_svg ? "svg" : format, &data, &n) != 0 || !data) {
        orr_diag_error(d, NULL, NULL, "graphviz cannot render format '%s' (plugin missing?)",
                       format);
    } else {
        const char *start = data;
        if (inline_svg) {
            const char *svg = strstr(data, "<svg");
            start = svg ? svg : data;
        }
        size_t keep = n - (size_t)(start - data);
        *out = malloc(keep + 1);
        if (!*out)
            orr_oom();
        memcpy(*out, start, keep);
        (*out)[keep] = 0;
        *len = keep;
        rc = 0;
    }
    if (data)
        gvFreeRenderData(data);
    gvFreeLayout(gvc, g);
    gvFreeContext(gvc);
    return rc;
}

static int begin(const char *format, char **out, size_t *len, struct orr_diag *d)
{
    *out = NULL;
    *len = 0;
    if (!orr_graph_format_known(format)) {
        orr_diag_error(d, NULL, NULL, "unknown graph format '%s'; expected svg, svg-inline, png or dot",
                       format ? format : "(null)");
        return ORR_EINVAL;
    }
    /* errors only: font-substitution warnings would drown real problems */
    agseterr(AGERR);
    return 0;
}

/* --------------------------------------------------------------- topology */

/* A stable pastel colour per type name (FNV-1a of the name -> hue), so a
 * type looks the same in every picture and new types need no table. */
static void type_colour(const char *type, char *buf, size_t n)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)type; *p; p++)
        h = (h ^ *p) * 16777619u;
    snprintf(buf, n, "%.3f 0.22 0.98", (double)(h % 360u) / 360.0);
}

/* The cluster that holds component path's node: one nested cluster per
 * dotted prefix ("a.b.c" lives in cluster a > cluster a.b). */
static Agraph_t *cluster_for(Agraph_t *root, const char *path)
{
    Agraph_t *parent = root;
    struct text name = {0};
    text_add(&name, "cluster_", 8);
    for (const char *p = path, *dot; (dot = strchr(p, '.')); p = dot + 1) {
        text_add(&name, p, (size_t)(dot - p));
        Agraph_t *sub = agsubg(parent, name.s, 0);
        if (!sub) {
            sub = agsubg(parent, name.s, 1);
            struct text label = {0};
            text_add(&label, p, (size_t)(dot - p));
            set(sub, "label", label.s);
            set(sub, "style", "rounded");
            set(sub, "color", "gray55");
            set(sub, "labeljust", "l");
            free(label.s);
        }
        text_add(&name, ".", 1);
        parent = sub;
    }
    free(name.s);
    return parent;
}

static bool has_links(const struct orr_component *c)
{
    for (size_t i = 0; i < c->nPort; i++)
        if (c->aPort[i]->link)
            return true;
    return false;
}

static Agnode_t *component_node(Agraph_t *root, const struct orr_component *c)
{
    Agraph_t *cl = cluster_for(root, c->path);
    Agnode_t *n = agnode(cl, (char *)c->path, 1);
    const char *last = strrchr(c->path, '.');
    struct text label = {0};
    text_escaped(&label, last ? last + 1 : c->path);
    text_add(&label, "\\n", 2);
    text_escaped(&label, c->type->name);
    set(n, "label", label.s);
    free(label.s);
    char colour[32];
    type_colour(c->type->name, colour, sizeof colour);
    set(n, "fillcolor", colour);
    if (c->type->workload)
        set(n, "shape", "ellipse");
    set(n, "style", has_links(c) ? "rounded,filled" : "rounded,filled,dashed");
    set(n, "tooltip", c->path);
    return n;
}

static void link_edge(Agraph_t *root, Agnode_t *a, Agnode_t *b, const struct orr_port *p)
{
    const struct orr_port *q = orr_port_peer(p);
    orr_time_t latency = 0;
    uint64_t bw = 0;
    orr_port_link(p, &latency, &bw);
    char buf[64];
    struct text label = {0};
    orr_unit_format(ORR_UNIT_TIME, latency, buf, sizeof buf);
    text_add(&label, buf, strlen(buf));
    if (bw) {
        orr_unit_format(ORR_UNIT_BW, bw, buf, sizeof buf);
        text_add(&label, "\\n", 2);
        text_add(&label, buf, strlen(buf));
    }
    Agedge_t *e = agedge(root, a, b, NULL, 1);
    set(e, "label", label.s);
    struct text tip = {0};
    text_escaped(&tip, p->owner->path);
    text_add(&tip, ".", 1);
    text_escaped(&tip, p->name);
    text_add(&tip, " -- ", 4);
    text_escaped(&tip, q->owner->path);
    text_add(&tip, ".", 1);
    text_escaped(&tip, q->name);
    set(e, "tooltip", tip.s);
    free(label.s);
    free(tip.s);
}

int orr_graph_topology(const struct orr_sim *s, const char *title, const char *format,
                       char **out, size_t *len, struct orr_diag *d)
{
    int rc = begin(format, out, len, d);
    if (rc)
        return rc;
    Agraph_t *g = open_graph("topology", title, "TB");
    static const char *const node_attrs[] = {"shape", "box", "style", "rounded,filled",
                                             "fontname", "sans-serif", "fontsize", "10",
                                             "fillcolor", "white", "tooltip", "", NULL};
    static const char *const edge_attrs[] = {"dir", "none", "fontname", "sans-serif",
                                             "fontsize", "8", "color", "gray35",
                                             "label", "", "tooltip", "", NULL};
    defaults(g, AGNODE, node_attrs);
    defaults(g, AGEDGE, edge_attrs);
    size_t nComp = orr_sim_component_count(s);
    Agnode_t **aNode = calloc(nComp ? nComp : 1, sizeof *aNode);
    if (!aNode)
        orr_oom();
    for (uint32_t i = 0; i < nComp; i++)
        aNode[i] = component_node(g, orr_sim_component(s, i));
    /* each link once, from the end that is side 0 */
    for (uint32_t i = 0; i < nComp; i++) {
        const struct orr_component *c = orr_sim_component(s, i);
        for (size_t k = 0; k < c->nPort; k++) {
            const struct orr_port *p = c->aPort[k];
            if (!p->link || p->side != 0)
                continue;
            link_edge(g, aNode[i], aNode[orr_port_peer(p)->owner->id], p);
        }
    }
    rc = render(g, format, out, len, d);
    free(aNode);
    agclose(g);
    return rc;
}

/* ------------------------------------------------------------ state machines */

static int fsm_check(const struct orr_fsm *f, struct orr_diag *d)
{
    for (size_t i = 0; i < f->nState; i++) {
        if (!f->aState[i].name || (f->nGroup && f->aState[i].group >= f->nGroup)) {
            orr_diag_error(d, NULL, NULL, "state machine '%s': state %zu is malformed",
                           f->name ? f->name : "?", i);
            return ORR_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(f->aState[i].name, f->aState[j].name) == 0) {
                orr_diag_error(d, NULL, NULL, "state machine '%s': state '%s' appears twice",
                               f->name ? f->name : "?", f->aState[i].name);
                return ORR_EINVAL;
            }
    }
    for (size_t i = 0; i < f->nEdge; i++)
        if (f->aEdge[i].from >= f->nState || f->aEdge[i].to >= f->nState) {
            orr_diag_error(d, NULL, NULL, "state machine '%s': edge %zu joins a state that does "
                           "not exist", f->name ? f->name : "?", i);
            return ORR_EINVAL;
        }
    return 0;
}

static Agnode_t *state_node(Agraph_t *g, const struct orr_fsm *f, size_t i)
{
    const struct orr_fsm_state *st = &f->aState[i];
    Agraph_t *parent = g;
    if (f->nGroup) {
        char name[32];
        snprintf(name, sizeof name, "cluster_%u", st->group);
        parent = agsubg(g, name, 0);
        if (!parent) {
            parent = agsubg(g, name, 1);
            struct text label = {0};
            text_escaped(&label, f->azGroup[st->group] ? f->azGroup[st->group] : "");
            set(parent, "label", label.s);
            set(parent, "style", "rounded");
            set(parent, "color", "gray55");
            free(label.s);
        }
    }
    Agnode_t *n = agnode(parent, st->name, 1);
    struct text label = {0};
    text_escaped(&label, st->name);
    set(n, "label", label.s);
    free(label.s);
    if (st->flags & ORR_FSM_STABLE) {
        set(n, "shape", "doublecircle");
        set(n, "fillcolor", "0.58 0.18 0.98");
    }
    if (st->flags & ORR_FSM_INITIAL) {
        char start[64];
        snprintf(start, sizeof start, "__start%zu", i);
        Agnode_t *pt = agnode(parent, start, 1);
        set(pt, "shape", "point");
        set(pt, "style", "filled");
        set(pt, "fillcolor", "black");
        set(pt, "width", "0.1");
        set(pt, "label", "");
        agedge(g, pt, n, NULL, 1);
    }
    return n;
}

int orr_graph_fsm(const struct orr_fsm *f, const char *format, char **out, size_t *len,
                  struct orr_diag *d)
{
    int rc = begin(format, out, len, d);
    if (rc || (rc = fsm_check(f, d)))
        return rc;
    Agraph_t *g = open_graph(f->name ? f->name : "fsm", f->title, "LR");
    static const char *const node_attrs[] = {"shape", "box", "style", "rounded,filled",
                                             "fontname", "sans-serif", "fontsize", "11",
                                             "fillcolor", "0.11 0.15 1.0", "width", "0.4",
                                             NULL};
    static const char *const edge_attrs[] = {"fontname", "sans-serif", "fontsize", "8",
                                             "color", "gray30", "label", "", NULL};
    defaults(g, AGNODE, node_attrs);
    defaults(g, AGEDGE, edge_attrs);
    Agnode_t **aNode = calloc(f->nState ? f->nState : 1, sizeof *aNode);
    bool *aDone = calloc(f->nEdge ? f->nEdge : 1, sizeof *aDone);
    if (!aNode || !aDone)
        orr_oom();
    for (size_t i = 0; i < f->nState; i++)
        aNode[i] = state_node(g, f, i);
    /* one edge per (from, to) pair, in order of first appearance, carrying
     * every label of the pair: O(nEdge^2), and tables have ~100 cells */
    for (size_t i = 0; i < f->nEdge; i++) {
        if (aDone[i])
            continue;
        struct text label = {0};
        text_add(&label, "", 0);
        for (size_t j = i; j < f->nEdge; j++) {
            if (aDone[j] || f->aEdge[j].from != f->aEdge[i].from || f->aEdge[j].to != f->aEdge[i].to)
                continue;
            aDone[j] = true;
            if (!f->aEdge[j].label)
                continue;
            if (label.len)
                text_add(&label, "\\l", 2);
            text_escaped(&label, f->aEdge[j].label);
        }
        if (label.len)
            text_add(&label, "\\l", 2); /* left-justify every line */
        Agedge_t *e = agedge(g, aNode[f->aEdge[i].from], aNode[f->aEdge[i].to], NULL, 1);
        set(e, "label", label.s);
        free(label.s);
    }
    rc = render(g, format, out, len, d);
    free(aNode);
    free(aDone);
    agclose(g);
    return rc;
}
