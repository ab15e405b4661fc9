/* node_template: a cluster node written as components and links with names
 * relative to the node, replicated by the `cluster:` builder as nodeI.<name>
 * (node_template.h, docs/fabric.md).
 *
 * Two phases, so that a mistake is reported once, at the template, and not
 * once per node:
 *   parse  the template's keys; each component's type, builder-owned keys,
 *          ${...} references and params (with node 0's values); that every
 *          link end and `net` names a template component. Adds nothing.
 *   build  node 0's components, then every link end and `net` checked
 *          against node 0's real ports (a component creates its ports, so
 *          only now can a missing one be seen), then node 0's links; then
 *          nodes 1..N-1 in order, each stopping at its first error.
 * Component ids therefore run node 0's components in template order, then
 * node 1's, and so on. Cost: O(N x template size); lookups by path use the
 * engine's index. */
#include "node_template.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/registry.h"
#include "orrery/scenario.h"
#include "orrery/error.h"


static const struct orr_param template_params[] = {
    {"components", ORR_P_MAP, NULL, ORR_PF_NONEMPTY,
     "NAME: {type: TYPE, ...params}; each becomes nodeI.NAME"},
    {"links", ORR_P_SEQ, "[]", 0,
     "links inside a node: {from: NAME.PORT, to: NAME.PORT, latency, bandwidth}"},
    {"net", ORR_P_STRING, "", 0,
     "NAME.PORT joined to the fabric; default: the one component whose type has a port 'net'"},
    {NULL},
};

/* ${...} substitutions in component values, by slot */
enum { VAR_NODE, VAR_NODES, VAR_NEXT, VAR_PREV, NVAR };
static const char *const var_names[NVAR] = {"node", "nodes", "next", "prev"};
#define VAR_LIST "${node}, ${nodes}, ${next}, ${prev}"

static const char *const skip_type[] = {"type", NULL};

struct tcomp {
    const char *name; /* relative: a key of `components` */
    const struct orr_component_type *type; /* NULL if it failed to parse */
    const struct orr_node *map;
    char *keypath;
    bool subst;                        /* a value holds ${...} */
    bool set_node, set_nodes, set_mtu; /* keys the builder adds */
};

struct tend {
    size_t comp;
    const char *port; /* points into the config tree */
    struct orr_mark mark;
    char *keypath;
};

struct tlink {
    struct tend end[2];
    orr_time_t latency;
    uint64_t bw;
    struct orr_mark mark;
};

struct node_template {
    struct node_template_env env;
    struct orr_sim *s;
    struct orr_node_arena *a;
    size_t nComp, nLink;
    struct tcomp *aComp;
    struct tlink *aLink;
    struct tend net;
    char *net_ref; /* "NAME.PORT" */
};

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s)
        orr_oom();
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

struct key_search {
    const char *key;
    bool found;
};

static void match_key(void *arg, const struct orr_param *key)
{
    struct key_search *ks = arg;
    ks->found |= strcmp(key->name, ks->key) == 0;
}

/* Whether a schema (its includes spliced in) has key. */
static bool schema_has(const struct orr_param *schema, const char *key)
{
    struct key_search ks = {key, false};
    orr_schema_walk(schema, match_key, &ks);
    return ks.found;
}

/* ------------------------------------------------------------ substitution */

static void put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len < cap)
        memcpy(out + *len, s, *len + n < cap ? n : cap - *len);
    *len += n;
}

/* Expand ${...} in s with val[] into out (cap bytes, NUL-terminated when
 * cap > 0). Returns the full length, or -1 with *bad at the reference that
 * is unknown or unterminated. */
static long expand(const char *s, const unsigned *val, char *out, size_t cap, const char **bad)
{
    size_t len = 0;
    for (const char *p; (p = strstr(s, "${"));) {
        put(out, cap, &len, s, (size_t)(p - s));
        const char *end = strchr(p + 2, '}');
        size_t v = 0, n = end ? (size_t)(end - p - 2) : 0;
        while (end && v < NVAR && !(strlen(var_names[v]) == n && !strncmp(p + 2, var_names[v], n)))
            v++;
        if (!end || v == NVAR) {
            *bad = p;
            return -1;
        }
        char num[16];
        put(out, cap, &len, num, (size_t)snprintf(num, sizeof num, "%u", val[v]));
        s = end + 1;
    }
    put(out, cap, &len, s, strlen(s));
    if (cap)
        out[len < cap ? len : cap - 1] = 0;
    return (long)len;
}

/* Every ${...} under n known; *found set if there is one. */
static int check_subst(const struct orr_node *n, const char *kp, bool *found, struct orr_diag *d)
{
    static const unsigned zero[NVAR];
    if (n->kind == ORR_NODE_SCALAR) {
        const char *bad;
        if (!strstr(n->scalar, "${"))
            return 0;
        *found = true;
        if (expand(n->scalar, zero, NULL, 0, &bad) >= 0)
            return 0;
        const char *end = strchr(bad, '}');
        if (end)
            orr_diag_error(d, &n->mark, kp, "unknown substitution '%.*s' (known: " VAR_LIST ")",
                           (int)(end - bad + 1), bad);
        else
            orr_diag_error(d, &n->mark, kp, "'${' without a closing '}' (known: " VAR_LIST ")");
        return ORR_ESCHEMA;
    }
    int rc = 0;
    for (size_t i = 0; i < n->n; i++) {
        char *ckp = n->kind == ORR_NODE_MAP ? orr_keypath_join(kp, n->aKey[i])
                                            : xprintf("%s.%zu", kp, i);
        if (check_subst(n->aItem[i], ckp, found, d))
            rc = ORR_ESCHEMA;
        free(ckp);
    }
    return rc;
}

/* n with its ${...} expanded: containers copied, unchanged scalars shared. */
static struct orr_node *instance_value(struct orr_node_arena *a, const struct orr_node *n, const unsigned *val)
{
    if (n->kind == ORR_NODE_SCALAR) {
        const char *bad;
        if (!strstr(n->scalar, "${"))
            return (struct orr_node *)n;
        long len = expand(n->scalar, val, NULL, 0, &bad);
        char *buf = malloc((size_t)len + 1);
        if (!buf)
            orr_oom();
        expand(n->scalar, val, buf, (size_t)len + 1, &bad);
        struct orr_node *s = orr_node_new_scalar(a, &n->mark, buf, (size_t)len);
        free(buf);
        if (!s)
            orr_oom();
        s->quoted = n->quoted;
        return s;
    }
    struct orr_node *c = n->kind == ORR_NODE_MAP ? orr_node_new(a, ORR_NODE_MAP, &n->mark) : orr_node_new(a, ORR_NODE_SEQ, &n->mark);
    for (size_t i = 0; i < n->n; i++) {
        struct orr_node *v = instance_value(a, n->aItem[i], val);
        if (n->kind == ORR_NODE_MAP) {
            orr_node_put(a, c, n->aKey[i], NULL, v);
            c->aKeyMark[c->n - 1] = n->aKeyMark[i];
        } else {
            orr_node_push(a, c, v);
        }
    }
    return c;
}

/* Component c's parameters for node i: its keys with ${...} substituted,
 * parsed with its type's schema, then the values the builder owns (node,
 * nodes and the fabric's mtu, for a type that declares them). */
static int instance(const struct node_template *t, const struct tcomp *c, unsigned i,
                    struct orr_params *p, struct orr_diag *d)
{
    unsigned N = t->env.nodes;
    unsigned val[NVAR] = {[VAR_NODE] = i, [VAR_NODES] = N, [VAR_NEXT] = (i + 1) % N,
                          [VAR_PREV] = (i + N - 1) % N};
    const struct orr_node *m = c->subst ? instance_value(t->a, c->map, val) : c->map;
    int rc = orr_params_parse(c->type->params, m, c->keypath, skip_type, p, d);
    if (rc)
        return rc;
    if (c->set_node)
        orr_param_set_u64(p, "node", i);
    if (c->set_nodes)
        orr_param_set_u64(p, "nodes", N);
    if (c->set_mtu && orr_param_forward(p, "mtu", t->env.link)) {
        orr_params_free(p);
        return ORR_ENOMEM;
    }
    return 0;
}

/* ------------------------------------------------------------------ parse */

/* c->type from the `type` key; builder-owned keys rejected. */
static int parse_type(const struct node_template *t, struct tcomp *c, struct orr_diag *d)
{
    const struct orr_node *tn = orr_node_get(c->map, "type");
    if (c->map->kind != ORR_NODE_MAP) {
        orr_diag_error(d, &c->map->mark, c->keypath, "expected a mapping with a 'type' key");
        return ORR_ESCHEMA;
    }
    if (!tn || tn->kind != ORR_NODE_SCALAR || !*tn->scalar) {
        orr_diag_error(d, &c->map->mark, c->keypath,
                       "missing required key 'type' (a component type; see `orrery list`)");
        return ORR_ESCHEMA;
    }
    const struct orr_component_type *type = orr_sim_type(t->s, tn->scalar);
    char *tkp = orr_keypath_join(c->keypath, "type");
    int rc = 0;
    if (!type) {
        orr_type_unknown(orr_sim_types(t->s), tn->scalar, &tn->mark, tkp, d);
        rc = ORR_ESCHEMA;
    } else if (type->expand) {
        orr_diag_error(d, &tn->mark, tkp,
                       "type '%s' builds a whole section; it cannot be part of a node", type->name);
        rc = ORR_ESCHEMA;
    }
    free(tkp);
    for (size_t k = 0; k < c->map->n; k++)
        if (!strcmp(c->map->aKey[k], "node") || !strcmp(c->map->aKey[k], "nodes")) {
            orr_diag_error(d, &c->map->aKeyMark[k], c->keypath,
                           "'%s' is set by the cluster builder", c->map->aKey[k]);
            rc = ORR_ESCHEMA;
        }
    if (rc == 0)
        c->type = type;
    return rc;
}

/* Validate component c once, with node 0's values: its params, and a
 * template mtu no larger than the fabric's. */
static int parse_comp(struct node_template *t, struct tcomp *c, struct orr_diag *d)
{
    int rc = parse_type(t, c, d);
    if (check_subst(c->map, c->keypath, &c->subst, d))
        rc = ORR_ESCHEMA;
    if (rc) {
        c->type = NULL;
        return rc;
    }
    const struct orr_param *schema = c->type->params;
    c->set_node = schema_has(schema, "node");
    c->set_nodes = schema_has(schema, "nodes");
    c->set_mtu = schema_has(schema, "mtu") && !orr_node_get(c->map, "mtu");
    struct orr_params p = {0};
    uint64_t mtu = orr_param_u64(t->env.link, "mtu");
    rc = instance(t, c, 0, &p, d);
    if (rc == 0 && schema_has(schema, "mtu") && !c->set_mtu && orr_param_u64(&p, "mtu") > mtu) {
        char *kp = orr_keypath_join(c->keypath, "mtu");
        orr_diag_error(d, orr_param_mark(&p, "mtu"), kp,
                       "mtu %llu B is above the fabric link's mtu (%llu B, cluster.fabric.link.mtu)",
                       (unsigned long long)orr_param_u64(&p, "mtu"), (unsigned long long)mtu);
        free(kp);
        rc = ORR_ESCHEMA;
    }
    orr_params_free(&p);
    if (rc)
        c->type = NULL;
    return rc;
}

static char *component_names(const struct node_template *t)
{
    size_t len = 1;
    for (size_t i = 0; i < t->nComp; i++)
        len += strlen(t->aComp[i].name) + 2;
    char *s = calloc(1, len);
    if (!s)
        orr_oom();
    for (size_t i = 0; i < t->nComp; i++) {
        if (i)
            strcat(s, ", ");
        strcat(s, t->aComp[i].name);
    }
    return s;
}

/* "NAME.PORT" (the component is everything before the last dot) naming a
 * template component. Takes kp. */
static int parse_end(struct node_template *t, const char *ref, const struct orr_mark *mark,
                     char *kp, struct tend *e, struct orr_diag *d)
{
    const char *dot = strrchr(ref, '.');
    e->mark = *mark;
    e->keypath = kp;
    if (!dot || dot == ref || !dot[1]) {
        orr_diag_error(d, mark, kp,
                       "'%s' is not a port reference: expected COMPONENT.PORT, COMPONENT one of "
                       "the node's components", ref);
        return ORR_ESCHEMA;
    }
    size_t n = (size_t)(dot - ref);
    for (size_t i = 0; i < t->nComp; i++)
        if (strlen(t->aComp[i].name) == n && !strncmp(t->aComp[i].name, ref, n)) {
            e->comp = i;
            e->port = dot + 1;
            return 0;
        }
    char *name = xprintf("%.*s", (int)n, ref), *list = component_names(t);
    const char **names = malloc(t->nComp * sizeof *names);
    if (!names)
        orr_oom();
    for (size_t i = 0; i < t->nComp; i++)
        names[i] = t->aComp[i].name;
    const char *near = orr_suggest(name, names, t->nComp);
    if (near)
        orr_diag_error(d, mark, kp,
                       "no component '%s' in the node template; did you mean '%s'? (components: %s)",
                       name, near, list);
    else
        orr_diag_error(d, mark, kp, "no component '%s' in the node template (components: %s)",
                       name, list);
    free(names);
    free(list);
    free(name);
    return ORR_ESCHEMA;
}

static int parse_links(struct node_template *t, const struct orr_node *seq, struct orr_diag *d)
{
    int rc = 0;
    if (!seq)
        return 0;
    t->aLink = calloc(seq->n + 1, sizeof *t->aLink);
    if (!t->aLink)
        orr_oom();
    for (size_t i = 0; i < seq->n; i++) {
        const struct orr_node *ln = seq->aItem[i];
        char *kp = xprintf("cluster.node.links.%zu", i);
        struct orr_params lp = {0};
        int r = ln->kind == ORR_NODE_MAP
                    ? orr_params_parse(orr_scenario_link_params, ln, kp, NULL, &lp, d)
                    : (orr_diag_error(d, &ln->mark, kp, "expected a mapping {from, to, latency}"),
                       ORR_ESCHEMA);
        if (r == 0) {
            struct tlink *l = &t->aLink[t->nLink++];
            l->latency = orr_param_u64(&lp, "latency");
            l->bw = orr_param_u64(&lp, "bandwidth");
            l->mark = ln->mark;
            static const char *const side[2] = {"from", "to"};
            for (int k = 0; k < 2; k++)
                if (parse_end(t, orr_param_str(&lp, side[k]), orr_param_mark(&lp, side[k]),
                              orr_keypath_join(kp, side[k]), &l->end[k], d))
                    r = ORR_ESCHEMA;
        }
        orr_params_free(&lp);
        free(kp);
        if (r)
            rc = ORR_ESCHEMA;
    }
    return rc;
}

/* `net` as given, or the one component whose type documents a port 'net'. */
static int parse_net(struct node_template *t, const struct orr_params *p, const struct orr_node *node,
                     struct orr_diag *d)
{
    const char *ref = orr_param_str(p, "net");
    if (*ref) {
        t->net_ref = xprintf("%s", ref);
        return parse_end(t, ref, orr_param_mark(p, "net"), xprintf("cluster.node.net"), &t->net, d);
    }
    size_t found = 0, first = 0;
    for (size_t i = 0; i < t->nComp; i++)
        for (const struct orr_port_doc *pd = t->aComp[i].type->ports; pd && pd->name; pd++)
            if (!strcmp(pd->name, "net")) {
                if (found++ == 0)
                    first = i;
                else
                    orr_diag_error(d, &node->mark, "cluster.node",
                                   "components '%s' and '%s' both have a port 'net': say which "
                                   "joins the fabric with net: COMPONENT.PORT",
                                   t->aComp[first].name, t->aComp[i].name);
            }
    if (found == 0)
        orr_diag_error(d, &node->mark, "cluster.node",
                       "no component has a port 'net': say which port joins the fabric with "
                       "net: COMPONENT.PORT");
    if (found != 1)
        return ORR_ESCHEMA;
    t->net_ref = xprintf("%s.net", t->aComp[first].name);
    t->net = (struct tend){.comp = first, .port = "net", .mark = node->mark,
                           .keypath = xprintf("cluster.node")};
    return 0;
}

/* The fabric port may not also be linked inside the node. */
static int check_net_unlinked(const struct node_template *t, struct orr_diag *d)
{
    int rc = 0;
    for (size_t i = 0; i < t->nLink; i++)
        for (int k = 0; k < 2; k++) {
            const struct tend *e = &t->aLink[i].end[k];
            if (e->comp == t->net.comp && !strcmp(e->port, t->net.port)) {
                orr_diag_error(d, &e->mark, e->keypath,
                               "'%s' joins the fabric; it cannot also be linked inside the node",
                               t->net_ref);
                rc = ORR_ESCHEMA;
            }
        }
    return rc;
}

bool node_template_is(const struct orr_node *node)
{
    return node && orr_node_get(node, "components") != NULL;
}

int node_template_parse(struct node_template **out, struct orr_sim *s, const struct orr_node *node,
                        const struct node_template_env *env, struct orr_diag *d)
{
    struct orr_params p = {0};
    *out = NULL;
    int rc = orr_params_parse(template_params, node, "cluster.node", NULL, &p, d);
    const struct orr_node *comps = rc ? NULL : orr_param_map(&p, "components");
    if (comps && comps->kind != ORR_NODE_MAP) {
        orr_diag_error(d, &comps->mark, "cluster.node.components",
                       "expected a mapping NAME: {type: TYPE, ...}");
        rc = ORR_ESCHEMA;
    }
    if (rc) {
        orr_params_free(&p);
        return rc;
    }
    struct node_template *t = calloc(1, sizeof *t);
    if (!t)
        orr_oom();
    t->env = *env;
    t->s = s;
    t->a = orr_sim_nodes(s);
    t->nComp = comps->n;
    t->aComp = calloc(comps->n, sizeof *t->aComp);
    if (!t->aComp)
        orr_oom();
    for (size_t i = 0; i < comps->n; i++) {
        t->aComp[i].name = comps->aKey[i];
        t->aComp[i].map = comps->aItem[i];
        t->aComp[i].keypath = orr_keypath_join("cluster.node.components", comps->aKey[i]);
    }
    for (size_t i = 0; i < t->nComp; i++)
        if (parse_comp(t, &t->aComp[i], d))
            rc = ORR_ESCHEMA;
    if (parse_links(t, orr_param_map(&p, "links"), d))
        rc = ORR_ESCHEMA;
    /* the default net looks at types: only once every type is known */
    if ((rc == 0 || *orr_param_str(&p, "net")) && parse_net(t, &p, node, d))
        rc = ORR_ESCHEMA;
    if (rc == 0)
        rc = check_net_unlinked(t, d);
    orr_params_free(&p);
    if (rc)
        node_template_free(t);
    else
        *out = t;
    return rc;
}

/* ------------------------------------------------------------------ build */

/* Every link end and `net` against node 0's ports, at the template. */
static int check_end(const struct node_template *t, struct orr_sim *s, const struct tend *e,
                     struct orr_diag *d)
{
    const struct tcomp *tc = &t->aComp[e->comp];
    char *path = xprintf("node0.%s", tc->name);
    struct orr_component *c = orr_sim_find(s, path);
    free(path);
    if (!c || orr_port_find(c, e->port))
        return 0;
    char names[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < c->nPort && len < sizeof names - 1; i++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                c->aPort[i]->name);
    orr_diag_error(d, &e->mark, e->keypath, "component '%s' (%s) has no port '%s' (ports: %s)",
                   tc->name, c->type->name, e->port, c->nPort ? names : "none");
    return ORR_ESCHEMA;
}

static int check_ports(const struct node_template *t, struct orr_sim *s, struct orr_diag *d)
{
    int rc = check_end(t, s, &t->net, d);
    for (size_t i = 0; i < t->nLink; i++)
        for (int k = 0; k < 2; k++)
            if (check_end(t, s, &t->aLink[i].end[k], d))
                rc = ORR_ESCHEMA;
    return rc;
}

static int build_node(const struct node_template *t, struct orr_sim *s, unsigned i,
                      struct orr_diag *d)
{
    int rc = 0;
    /* node 0 reports every component's errors; later nodes stop at the first */
    for (size_t k = 0; k < t->nComp && (i == 0 || rc == 0); k++) {
        const struct tcomp *c = &t->aComp[k];
        char *path = xprintf("node%u.%s", i, c->name);
        struct orr_params p;
        if (instance(t, c, i, &p, d) ||
            orr_sim_add_component_params(s, c->type, path, &p, c->keypath, d, NULL))
            rc = ORR_ESCHEMA;
        free(path);
    }
    if (rc == 0 && i == 0)
        rc = check_ports(t, s, d);
    for (size_t k = 0; k < t->nLink && rc == 0; k++) {
        const struct tlink *l = &t->aLink[k];
        char *a = xprintf("node%u.%s.%s", i, t->aComp[l->end[0].comp].name, l->end[0].port);
        char *b = xprintf("node%u.%s.%s", i, t->aComp[l->end[1].comp].name, l->end[1].port);
        rc = orr_sim_link(s, a, b, l->latency, l->bw, &l->mark, d);
        free(a);
        free(b);
    }
    return rc;
}

int node_template_build(struct node_template *t, struct orr_sim *s, struct orr_diag *d)
{
    int rc = 0;
    for (unsigned i = 0; i < t->env.nodes && rc == 0; i++)
        rc = build_node(t, s, i, d);
    return rc;
}

const char *node_template_net(const struct node_template *t) { return t->net_ref; }

void node_template_free(struct node_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nComp; i++)
        free(t->aComp[i].keypath);
    for (size_t i = 0; i < t->nLink; i++)
        for (int k = 0; k < 2; k++)
            free(t->aLink[i].end[k].keypath);
    free(t->net.keypath);
    free(t->net_ref);
    free(t->aComp);
    free(t->aLink);
    free(t);
}
