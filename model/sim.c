/* The simulation: building (components, ports, links, faults), the run loop
 * and the calls components make (send, timers, trace points).
 *
 * Invariants, checked by orr_sim_check():
 *   1. Every queued event's time >= now (nothing is scheduled in the past),
 *      targets an existing component, and its origin's sequence counter is
 *      ahead of the event's sequence number (so keys are unique).
 *   2. The event queue's own invariants hold (orr_evq_check).
 *   3. Ports are linked at most once, and both ends of a link point back. */
#include "sim_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "orrery/limits.h"
#include "orrery/error.h"

/* ---------------------------------------------------------------- helpers */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p)
        orr_oom();
    memcpy(p, s, n);
    return p;
}

static void *grow(void *arr, size_t *alloc, size_t need, size_t elem)
{
    if (need <= *alloc)
        return arr;
    size_t n = *alloc ? *alloc * 2 : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(arr, n * elem);
    if (!p)
        orr_oom(); /* model construction cannot continue without memory */
    *alloc = n;
    return p;
}

static struct orr_component_priv *priv(struct orr_component *c)
{
    return (struct orr_component_priv *)c;
}

/* -------------------------------------------------------------- lifecycle */

static const char *const builtin_kinds[] = {"timer", "msg", "ready", "fault", "stop"};

int orr_sim_create(struct orr_sim **out, const struct orr_sim_options *opt)
{
    struct orr_sim *s = calloc(1, sizeof *s);
    if (!s)
        return ORR_ENOMEM;
    s->opt = *opt;
    if (s->opt.checkpoint_every == 0)
        s->opt.checkpoint_every = 65536;
    if (orr_evq_init(&s->q))
        goto fail;
    if (orr_digest_init(&s->digest))
        goto fail;
    s->dbuf = malloc(ORR_DIGEST_BATCH * ORR_TRACE_REC_BYTES);
    if (!s->dbuf)
        goto fail;
    s->aKindName = grow(NULL, &s->nKindAlloc, ORR_TK_FIRST_USER, sizeof *s->aKindName);
    for (size_t k = 0; k < ORR_TK_FIRST_USER; k++)
        s->aKindName[k] = xstrdup(k < 5 ? builtin_kinds[k] : "");
    s->nKind = ORR_TK_FIRST_USER;
    *out = s;
    return 0;
fail:
    orr_sim_destroy(s);
    return ORR_ENOMEM;
}

const struct orr_component_type *orr_sim_type(const struct orr_sim *s, const char *name)
{
    return s->opt.types ? orr_type_find(s->opt.types, name) : NULL;
}

const struct orr_component_type *const *orr_sim_types(const struct orr_sim *s)
{
    static const struct orr_component_type *const none[] = {NULL};
    return s->opt.types ? s->opt.types : none;
}

void orr_type_unknown(const struct orr_component_type *const *types, const char *name,
                      const struct orr_mark *mark, const char *keypath, struct orr_diag *d)
{
    size_t n = 0, len = 0;
    while (types && types[n])
        n++;
    const char **aName = calloc(n + 1, sizeof *aName);
    char list[1024] = "";
    for (size_t i = 0; aName && i < n; i++) {
        aName[i] = types[i]->name;
        len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0, "%s%s",
                                i ? ", " : "", aName[i]);
    }
    const char *near = aName ? orr_suggest(name, aName, n) : NULL;
    if (near)
        orr_diag_error(d, mark, keypath, "unknown component type '%s'; did you mean '%s'? (types: %s)",
                       name, near, list);
    else
        orr_diag_error(d, mark, keypath, "unknown component type '%s' (types: %s)", name, list);
    free(aName);
}

const struct orr_node *orr_sim_section(const struct orr_sim *s, const char *name)
{
    return s->opt.config ? orr_node_get(s->opt.config, name) : NULL;
}

struct orr_node_arena *orr_sim_nodes(struct orr_sim *s)
{
    if (!s->nodes)
        s->nodes = orr_node_arena_new();
    return s->nodes;
}

const struct orr_component_type *orr_type_find(const struct orr_component_type *const *types,
                                               const char *name)
{
    for (size_t i = 0; types && types[i]; i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}

void orr_sim_destroy(struct orr_sim *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nComp; i++) {
        struct orr_component_priv *cp = s->aComp[i];
        struct orr_component *c = &cp->pub;
        if (c->type->destroy)
            c->type->destroy(c);
        for (size_t p = 0; p < c->nPort; p++) {
            free((char *)c->aPort[p]->name);
            free(c->aPort[p]);
        }
        free(c->aPort);
        orr_params_free(&cp->params);
        free(c->state);
        free((char *)c->path);
        free((char *)c->keypath);
        free(cp);
    }
    free(s->aComp);
    free(s->aCompEvents);
    free(s->aIndex);
    for (size_t i = 0; i < s->nLink; i++)
        free(s->aLink[i]);
    free(s->aLink);
    for (size_t i = 0; i < s->nFault; i++)
        orr_params_free(&s->aFault[i].params);
    free(s->aFault);
    for (size_t i = 0; i < s->nKind; i++)
        free(s->aKindName[i]);
    free(s->aKindName);
    orr__stats_free(s);
    free(s->failure);
    for (size_t i = 0; i < s->nKnob; i++)
        free(s->aKnob[i]);
    free(s->aKnob);
    orr__shared_free_all(s);
    orr_node_arena_free(s->nodes);
    orr__blob_free_all(s);
    orr_evq_free(&s->q);
    orr_digest_free(&s->digest);
    free(s->dbuf);
    free(s);
}

/* ------------------------------------------------------- component index */

static uint64_t path_hash(const char *path) { return XXH3_64bits(path, strlen(path)); }

static void index_insert(struct orr_sim *s, uint32_t id);

static void index_rebuild(struct orr_sim *s, size_t cap)
{
    free(s->aIndex);
    s->aIndex = malloc(cap * sizeof *s->aIndex);
    if (!s->aIndex)
        orr_oom();
    memset(s->aIndex, 0xFF, cap * sizeof *s->aIndex);
    s->nIndexCap = cap;
    for (size_t i = 0; i < s->nComp; i++)
        index_insert(s, (uint32_t)i);
}

static void index_insert(struct orr_sim *s, uint32_t id)
{
    size_t mask = s->nIndexCap - 1;
    size_t h = path_hash(s->aComp[id]->pub.path) & mask;
    while (s->aIndex[h] != UINT32_MAX)
        h = (h + 1) & mask;
    s->aIndex[h] = id;
}

struct orr_component *orr_sim_find(const struct orr_sim *s, const char *path)
{
    if (!s->nIndexCap)
        return NULL;
    size_t mask = s->nIndexCap - 1;
    for (size_t h = path_hash(path) & mask; s->aIndex[h] != UINT32_MAX; h = (h + 1) & mask) {
        struct orr_component *c = &s->aComp[s->aIndex[h]]->pub;
        if (strcmp(c->path, path) == 0)
            return c;
    }
    return NULL;
}

/* A path is dot-separated segments of [A-Za-z0-9_-], each starting with a
 * letter or underscore. */
static bool path_valid(const char *p)
{
    bool seg_start = true;
    if (!*p)
        return false;
    for (; *p; p++) {
        char ch = *p;
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        bool digit = (ch >= '0' && ch <= '9') || ch == '-';
        if (ch == '.') {
            if (seg_start)
                return false;
            seg_start = true;
        } else if (seg_start) {
            if (!alpha)
                return false;
            seg_start = false;
        } else if (!alpha && !digit) {
            return false;
        }
    }
    return !seg_start;
}

/* ------------------------------------------------------------- components */

static const char *const component_skip_keys[] = {"type", NULL};

/* Everything about a new instance but its params: name checks, then the
 * instance with p (taken over: freed on failure) and its create op. */
static int add_component(struct orr_sim *s, const struct orr_component_type *type,
                         const char *path, struct orr_params *p, const char *keypath,
                         const struct orr_mark *mark, struct orr_diag *d,
                         struct orr_component **out)
{
    assert(!s->started);
    int rc = 0;
    if (!path_valid(path)) {
        orr_diag_error(d, mark, keypath,
                       "invalid component name '%s': use letters, digits, '_' and '-', "
                       "starting with a letter or '_'",
                       path);
        rc = ORR_ESCHEMA;
    } else if (orr_sim_find(s, path)) {
        orr_diag_error(d, mark, keypath, "duplicate component '%s'", path);
        rc = ORR_ESCHEMA;
    } else if (s->nComp >= ORR_MAX_COMPONENTS) {
        orr_diag_error(d, mark, keypath, "too many components (at most %u)", ORR_MAX_COMPONENTS);
        rc = ORR_ERANGE;
    } else if (s->nComp >= orr_limits()->components) {
        orr_diag_error(d, mark, keypath,
                       "more than %llu components (the budget of components; raise it with "
                       "--max-components)",
                       (unsigned long long)orr_limits()->components);
        rc = ORR_ERANGE;
    }
    struct orr_component_priv *cp = rc ? NULL : calloc(1, sizeof *cp);
    if (!cp) {
        orr_params_free(p);
        return rc ? rc : ORR_ENOMEM;
    }
    cp->params = *p;
    memset(p, 0, sizeof *p);
    struct orr_component *c = &cp->pub;
    c->sim = s;
    c->type = type;
    c->path = xstrdup(path);
    c->keypath = xstrdup(keypath ? keypath : path);
    if (mark)
        c->mark = *mark;
    c->id = (uint32_t)s->nComp;
    orr_rng_seed(&c->rng, s->opt.seed, path);
    c->state = calloc(1, type->state_size ? type->state_size : 1);
    if (!c->state)
        orr_oom();
    s->aComp = grow(s->aComp, &s->nCompAlloc, s->nComp + 1, sizeof *s->aComp);
    s->aComp[s->nComp++] = cp;
    if (s->nComp * 2 > s->nIndexCap)
        index_rebuild(s, s->nIndexCap ? s->nIndexCap * 2 : 64);
    else
        index_insert(s, c->id);
    if (type->workload)
        s->nWorkload++;
    rc = type->create ? type->create(c, &cp->params, d) : 0;
    if (out)
        *out = c;
    return rc;
}

int orr_sim_add_component(struct orr_sim *s, const struct orr_component_type *type,
                          const char *path, const struct orr_node *node, const char *keypath,
                          struct orr_diag *d, struct orr_component **out)
{
    struct orr_params p;
    int rc = path_valid(path) && !orr_sim_find(s, path)
                 ? orr_params_parse(type->params, node, keypath, component_skip_keys, &p, d)
                 : (memset(&p, 0, sizeof p), 0);
    if (rc)
        return rc;
    return add_component(s, type, path, &p, keypath, node ? &node->mark : NULL, d, out);
}

int orr_sim_add_component_params(struct orr_sim *s, const struct orr_component_type *type,
                                 const char *path, struct orr_params *p, const char *keypath,
                                 struct orr_diag *d, struct orr_component **out)
{
    if (p->schema != type->params) {
        fprintf(stderr, "orrery: %s: parameters of another schema for a %s\n", path, type->name);
        abort();
    }
    int rc = orr_params_check(p, keypath ? keypath : path, d);
    if (rc) {
        orr_params_free(p);
        return rc;
    }
    struct orr_mark mark = p->mark;
    return add_component(s, type, path, p, keypath, &mark, d, out);
}

size_t orr_sim_component_count(const struct orr_sim *s) { return s->nComp; }

struct orr_component *orr_sim_component(const struct orr_sim *s, uint32_t id)
{
    return id < s->nComp ? &s->aComp[id]->pub : NULL;
}

struct orr_port *orr_port_add(struct orr_component *c, const char *name)
{
    assert(!c->sim->started);
    assert(!orr_port_find(c, name));
    assert(c->nPort < UINT16_MAX);
    struct orr_port *p = calloc(1, sizeof *p);
    if (!p)
        orr_oom();
    p->owner = c;
    p->name = xstrdup(name);
    p->index = (uint16_t)c->nPort;
    struct orr_port **a = realloc(c->aPort, (c->nPort + 1) * sizeof *a);
    if (!a)
        orr_oom();
    c->aPort = a;
    c->aPort[c->nPort++] = p;
    return p;
}

struct orr_port *orr_port_find(const struct orr_component *c, const char *name)
{
    for (size_t i = 0; i < c->nPort; i++)
        if (strcmp(c->aPort[i]->name, name) == 0)
            return c->aPort[i];
    return NULL;
}

struct orr_port *orr_port_peer(const struct orr_port *p)
{
    return p->link ? p->link->end[!p->side] : NULL;
}

int orr_port_link(const struct orr_port *p, orr_time_t *latency, uint64_t *bw_bps)
{
    if (!p->link)
        return ORR_ENOENT;
    if (latency)
        *latency = p->link->latency;
    if (bw_bps)
        *bw_bps = p->link->bw_bps;
    return 0;
}

/* ------------------------------------------------------------------ links */

/* Resolve "comp.path.port": the component path is everything before the
 * last dot. */
static struct orr_port *resolve_port(struct orr_sim *s, const char *ref, const struct orr_mark *mark,
                                     struct orr_diag *d)
{
    const char *dot = strrchr(ref, '.');
    if (!dot || dot == ref || !dot[1]) {
        orr_diag_error(d, mark, NULL, "'%s' is not a port reference: expected COMPONENT.PORT", ref);
        return NULL;
    }
    char *cpath = malloc((size_t)(dot - ref) + 1);
    if (!cpath)
        orr_oom();
    memcpy(cpath, ref, (size_t)(dot - ref));
    cpath[dot - ref] = 0;
    struct orr_component *c = orr_sim_find(s, cpath);
    struct orr_port *p = NULL;
    if (!c) {
        orr_diag_error(d, mark, NULL, "no component '%s' (in port reference '%s')", cpath, ref);
    } else if (!(p = orr_port_find(c, dot + 1))) {
        char names[256] = "";
        size_t len = 0;
        for (size_t i = 0; i < c->nPort && len < sizeof names - 1; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                    c->aPort[i]->name);
        orr_diag_error(d, mark, NULL, "component '%s' (%s) has no port '%s' (ports: %s)", cpath,
                       c->type->name, dot + 1, c->nPort ? names : "none");
    }
    free(cpath);
    return p;
}

static void link_stats(struct orr_link *l, int side)
{
    struct orr_port *p = l->end[side];
    char name[256];
    /* the engine's own stats, declared in orr_link_metrics, not by the type */
    snprintf(name, sizeof name, "%s.tx_bytes", p->name);
    l->dir[side].bytes =
        &orr__stat_add(p->owner, orr_link_metrics, ORR_METRIC_COUNTER, name, "B")->u.counter;
    snprintf(name, sizeof name, "%s.tx_msgs", p->name);
    l->dir[side].msgs =
        &orr__stat_add(p->owner, orr_link_metrics, ORR_METRIC_COUNTER, name, "msg")->u.counter;
    if (l->bw_bps) {
        snprintf(name, sizeof name, "%s.tx_util", p->name);
        l->dir[side].util =
            &orr__stat_add(p->owner, orr_link_metrics, ORR_METRIC_VALUE, name, "ratio")->u.value;
    }
}

int orr_sim_link(struct orr_sim *s, const char *a, const char *b, orr_time_t latency,
                 uint64_t bandwidth_bps, const struct orr_mark *mark, struct orr_diag *d)
{
    assert(!s->started);
    struct orr_port *pa = resolve_port(s, a, mark, d);
    struct orr_port *pb = resolve_port(s, b, mark, d);
    if (!pa || !pb)
        return ORR_ESCHEMA;
    if (pa == pb) {
        orr_diag_error(d, mark, NULL, "cannot link port '%s' to itself", a);
        return ORR_ESCHEMA;
    }
    for (int i = 0; i < 2; i++) {
        struct orr_port *p = i ? pb : pa;
        if (p->link) {
            struct orr_port *other = orr_port_peer(p);
            orr_diag_error(d, mark, NULL, "port '%s' is already linked to '%s.%s'", i ? b : a,
                           other->owner->path, other->name);
            return ORR_ESCHEMA;
        }
    }
    if (latency == 0) {
        orr_diag_error(d, mark, NULL, "link latency must be greater than zero");
        return ORR_ESCHEMA;
    }
    if (s->nLink >= orr_limits()->links) {
        orr_diag_error(d, mark, NULL,
                       "more than %llu links (the budget of links; raise it with --max-links)",
                       (unsigned long long)orr_limits()->links);
        return ORR_ERANGE;
    }
    struct orr_link *l = calloc(1, sizeof *l);
    if (!l)
        orr_oom();
    l->latency = latency;
    l->bw_bps = bandwidth_bps;
    l->end[0] = pa;
    l->end[1] = pb;
    pa->link = l;
    pa->side = 0;
    pb->link = l;
    pb->side = 1;
    link_stats(l, 0);
    link_stats(l, 1);
    s->aLink = grow(s->aLink, &s->nLinkAlloc, s->nLink + 1, sizeof *s->aLink);
    s->aLink[s->nLink++] = l;
    return 0;
}

/* ----------------------------------------------------------------- faults */

int orr_sim_add_fault(struct orr_sim *s, orr_time_t at, const char *path, const char *name,
                      const struct orr_node *params, const char *keypath,
                      const struct orr_mark *mark, struct orr_diag *d)
{
    static const char *const skip[] = {"at", "component", "fault", NULL};
    struct orr_component *c = orr_sim_find(s, path);
    if (!c) {
        orr_diag_error(d, mark, keypath, "fault targets unknown component '%s'", path);
        return ORR_ESCHEMA;
    }
    const struct orr_fault_desc *f = c->type->faults;
    unsigned idx = 0;
    for (; f && f[idx].name; idx++)
        if (strcmp(f[idx].name, name) == 0)
            break;
    if (!f || !f[idx].name) {
        char names[256] = "";
        size_t len = 0;
        for (unsigned i = 0; f && f[i].name && len < sizeof names - 1; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                    f[i].name);
        orr_diag_error(d, mark, keypath, "component '%s' (%s) has no fault '%s' (faults: %s)",
                       path, c->type->name, name, len ? names : "none");
        return ORR_ESCHEMA;
    }
    struct orr_fault_entry fe = {.at = at, .comp = c->id, .fault = idx};
    static const struct orr_param none[] = {{NULL}};
    int rc = orr_params_parse(f[idx].params ? f[idx].params : none, params, keypath, skip,
                              &fe.params, d);
    if (rc == 0 && c->type->fault_check)
        rc = c->type->fault_check(c, idx, &fe.params, mark, d);
    if (rc) {
        orr_params_free(&fe.params);
        return rc;
    }
    s->aFault = grow(s->aFault, &s->nFaultAlloc, s->nFault + 1, sizeof *s->aFault);
    s->aFault[s->nFault++] = fe;
    return 0;
}

int orr_sim_add_fault_params(struct orr_sim *s, orr_time_t at, uint32_t comp, unsigned fault,
                             struct orr_params *p, struct orr_diag *d)
{
    assert(comp < s->nComp);
    struct orr_component *c = &s->aComp[comp]->pub;
    struct orr_fault_entry fe = {.at = at, .comp = comp, .fault = fault, .params = *p};
    memset(p, 0, sizeof *p);
    int rc = orr_params_check(&fe.params, c->keypath, d);
    if (rc == 0 && c->type->fault_check)
        rc = c->type->fault_check(c, fault, &fe.params, &fe.params.mark, d);
    if (rc) {
        orr_params_free(&fe.params);
        return rc;
    }
    s->aFault = grow(s->aFault, &s->nFaultAlloc, s->nFault + 1, sizeof *s->aFault);
    s->aFault[s->nFault++] = fe;
    return 0;
}

size_t orr_sim_fault_count(const struct orr_sim *s) { return s->nFault; }

static void schedule(struct orr_sim *s, orr_time_t when, uint32_t prio, uint32_t origin,
                     uint64_t seq, uint32_t target, uint8_t kind, uint16_t port, uint32_t size,
                     const uint64_t data[2]);

int orr_sim_schedule_faults_from(struct orr_sim *s, size_t first)
{
    for (size_t i = first; i < s->nFault; i++)
        if (s->aFault[i].at < s->now)
            return ORR_EINVAL;
    for (size_t i = first; i < s->nFault; i++) {
        const uint64_t data[2] = {i, 0};
        schedule(s, s->aFault[i].at, ORR_PRIO_FAULT, ORR_ORIGIN_ENGINE, s->engine_seq++,
                 s->aFault[i].comp, ORR_TK_FAULT, 0, 0, data);
    }
    return 0;
}

/* ------------------------------------------------------------- scheduling */

static void schedule(struct orr_sim *s, orr_time_t when, uint32_t prio, uint32_t origin,
                     uint64_t seq, uint32_t target, uint8_t kind, uint16_t port, uint32_t size,
                     const uint64_t data[2])
{
    struct orr_event ev = {
        .time = when,
        .order = (uint64_t)prio << 56 | (uint64_t)origin << 32 | (uint32_t)seq,
        .target = target,
        .size = size,
        .port = port,
        .kind = kind,
        .data = {data[0], data[1]},
    };
    assert(when >= s->now);
    if (when >= ORR_TIME_HORIZON) {
        s->nBeyondHorizon++;
        return;
    }
    if (orr_evq_push(&s->q, &ev))
        orr_oom(); /* out of memory: a simulation cannot drop events */
    if (s->watch)
        s->watch(s->watch_arg, when, target);
}

/* Time sums saturate at the horizon: such events are never queued. */
static orr_time_t add_time(orr_time_t a, orr_time_t b)
{
    return a >= ORR_TIME_HORIZON || b >= ORR_TIME_HORIZON - a ? ORR_TIME_HORIZON : a + b;
}

void orr_timer_prio(struct orr_component *c, orr_time_t delay, enum orr_priority prio,
                    uint16_t tag, uint64_t a, uint64_t b)
{
    struct orr_sim *s = c->sim;
    const uint64_t data[2] = {a, b};
    schedule(s, add_time(s->now, delay), prio, c->id, c->seq++, c->id, ORR_TK_TIMER, tag, 0, data);
}

void orr_timer(struct orr_component *c, orr_time_t delay, uint16_t tag, uint64_t a, uint64_t b)
{
    orr_timer_prio(c, delay, ORR_PRIO_DEFAULT, tag, a, b);
}

void orr_sim_post(struct orr_component *c, uint32_t target, orr_time_t delay, uint16_t tag,
                  uint64_t a, uint64_t b)
{
    struct orr_sim *s = c->sim;
    const uint64_t data[2] = {a, b};
    assert(delay > 0 && target < s->nComp);
    schedule(s, add_time(s->now, delay), ORR_PRIO_DEFAULT, c->id, c->seq++, target, ORR_TK_TIMER,
             tag, 0, data);
}

void orr_timer_msg(struct orr_component *c, orr_time_t delay, uint16_t tag,
                   const struct orr_msg *m)
{
    struct orr_sim *s = c->sim;
    schedule(s, add_time(s->now, delay), ORR_PRIO_DEFAULT, c->id, c->seq++, c->id, ORR_TK_TIMER,
             tag, m->size, m->data);
}

/* Serialisation time of size bytes at bw bit/s, rounded up to whole ps
 * (saturating at the horizon). */
static orr_time_t serialise_ps(uint32_t size, uint64_t bw)
{
    unsigned __int128 bits_ps = (unsigned __int128)size * 8u * ORR_S;
    unsigned __int128 t = (bits_ps + bw - 1) / bw;
    return t >= ORR_TIME_HORIZON ? ORR_TIME_HORIZON : (orr_time_t)t;
}

int orr_port_send(struct orr_port *p, const struct orr_msg *m, orr_time_t extra_delay)
{
    struct orr_link *l = p->link;
    if (!l)
        return ORR_ENOENT;
    struct orr_component *c = p->owner;
    struct orr_sim *s = c->sim;
    struct orr_link_dir *dir = &l->dir[p->side];
    orr_time_t ser = 0;
    if (l->bw_bps) {
        if (dir->free_at > s->now) {
            if (!dir->waiting) {
                const uint64_t none[2] = {0, 0};
                dir->waiting = true;
                schedule(s, dir->free_at, ORR_PRIO_DEFAULT, c->id, c->seq++, c->id, ORR_TK_READY,
                         p->index, 0, none);
            }
            return ORR_EBUSY;
        }
        ser = serialise_ps(m->size, l->bw_bps);
        dir->free_at = add_time(s->now, ser);
        dir->busy = add_time(dir->busy, ser);
    }
    dir->bytes->v += m->size;
    dir->msgs->v++;
    struct orr_port *peer = l->end[!p->side];
    orr_time_t when = add_time(add_time(add_time(s->now, ser), l->latency), extra_delay);
    schedule(s, when, ORR_PRIO_DEFAULT, c->id, c->seq++, peer->owner->id, ORR_TK_MSG,
             peer->index, m->size, m->data);
    return 0;
}

orr_time_t orr_port_free_at(const struct orr_port *p)
{
    if (!p->link)
        return ORR_TIME_MAX;
    orr_time_t t = p->link->dir[p->side].free_at;
    orr_time_t now = p->owner->sim->now;
    return t > now ? t : now;
}

static void vfail(struct orr_component *c, bool input, const char *fmt, va_list ap)
{
    struct orr_sim *s = c->sim;
    if (s->failure)
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(c->path) + strlen(msg) + 3;
    s->failure = malloc(n);
    if (!s->failure)
        orr_oom();
    snprintf(s->failure, n, "%s: %s", c->path, msg);
    s->failure_input = input;
}

void orr_sim_fail(struct orr_component *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(c, false, fmt, ap);
    va_end(ap);
}

void orr_sim_fail_input(struct orr_component *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(c, true, fmt, ap);
    va_end(ap);
}

const char *orr_sim_failure(const struct orr_sim *s) { return s->failure; }
bool orr_sim_failure_is_input(const struct orr_sim *s) { return s->failure && s->failure_input; }

void orr_sim_knob(struct orr_component *c, const char *key, const char *value)
{
    struct orr_sim *s = c->sim;
    size_t n = strlen(c->path) + strlen(key) + strlen(value) + 3;
    char *k = malloc(n);
    if (!k)
        orr_oom();
    snprintf(k, n, "%s.%s=%s", c->path, key, value);
    s->aKnob = grow(s->aKnob, &s->nKnobAlloc, s->nKnob + 1, sizeof *s->aKnob);
    s->aKnob[s->nKnob++] = k;
}

size_t orr_sim_knobs(const struct orr_sim *s, const char *const **out)
{
    *out = (const char *const *)s->aKnob;
    return s->nKnob;
}

void orr_workload_done(struct orr_component *c)
{
    struct orr_component_priv *cp = priv(c);
    assert(c->type->workload);
    if (!cp->done) {
        cp->done = true;
        c->sim->nWorkloadDone++;
    }
}

unsigned orr_sim_workloads(const struct orr_sim *s, unsigned *done)
{
    if (done)
        *done = s->nWorkloadDone;
    return s->nWorkload;
}

/* ------------------------------------------------------------ trace/digest */

uint16_t orr_trace_kind(struct orr_component *c, const char *name)
{
    struct orr_sim *s = c->sim;
    for (size_t k = ORR_TK_FIRST_USER; k < s->nKind; k++)
        if (strcmp(s->aKindName[k], name) == 0)
            return (uint16_t)k;
    assert(s->nKind < UINT16_MAX);
    s->aKindName = grow(s->aKindName, &s->nKindAlloc, s->nKind + 1, sizeof *s->aKindName);
    s->aKindName[s->nKind] = xstrdup(name);
    return (uint16_t)s->nKind++;
}

static void digest_flush(struct orr_sim *s)
{
    orr_digest_add_n(&s->digest, s->dbuf, s->ndbuf);
    s->ndbuf = 0;
}

/* Every record goes to the digest; with a trace file, also to the writer,
 * which needs the rolling digest at its segment boundaries. */
static void record(struct orr_sim *s, const struct orr_trace_rec *r)
{
    s->aCompEvents[r->comp < s->nComp ? r->comp : s->nComp]++;
    if (s->trace) {
        uint8_t buf[ORR_TRACE_REC_BYTES];
        orr_trace_rec_encode(r, buf);
        orr_digest_add(&s->digest, buf);
        if (!s->trace_rc)
            s->trace_rc = orr_trace_writer_append(s->trace, r, orr_digest_value(&s->digest));
        return;
    }
    orr_trace_rec_encode(r, s->dbuf + s->ndbuf * ORR_TRACE_REC_BYTES);
    if (++s->ndbuf == ORR_DIGEST_BATCH)
        digest_flush(s);
}

/* The run's trace begins (orr_sim_run, _run_until, a step): records made
 * before it, by components' start ops (a kernel's first context switch)
 * or an earlier untraced stretch, wait encoded in dbuf; they go to the
 * trace first, in order, so the trace holds every record and the digest
 * takes them in the same order as without a trace. */
static void attach_trace(struct orr_sim *s, struct orr_trace_writer *w)
{
    s->trace = w;
    if (!w)
        return;
    for (size_t i = 0; i < s->ndbuf; i++) {
        const uint8_t *buf = s->dbuf + i * ORR_TRACE_REC_BYTES;
        struct orr_trace_rec r;
        orr_trace_rec_decode(buf, &r);
        orr_digest_add(&s->digest, buf);
        if (!s->trace_rc)
            s->trace_rc = orr_trace_writer_append(w, &r, orr_digest_value(&s->digest));
    }
    s->ndbuf = 0;
}

void orr_trace_point(struct orr_component *c, uint16_t kind, uint64_t a, uint64_t b)
{
    struct orr_trace_rec r = {
        .time = c->sim->now, .comp = c->id, .origin = c->id, .kind = kind, .a = a, .b = b};
    record(c->sim, &r);
}

/* ---------------------------------------------------------------- running */

int orr_sim_start(struct orr_sim *s, struct orr_diag *d)
{
    assert(!s->started);
    int rc = 0;
    s->aCompEvents = calloc(s->nComp + 1, sizeof *s->aCompEvents);
    if (!s->aCompEvents)
        orr_oom();
    s->started = true;
    for (size_t i = 0; i < s->nComp; i++) {
        struct orr_component *c = &s->aComp[i]->pub;
        if (c->type->start) {
            int r = c->type->start(c, d);
            if (r && !rc)
                rc = r;
        }
    }
    for (size_t i = 0; i < s->nFault; i++) {
        const uint64_t data[2] = {i, 0};
        schedule(s, s->aFault[i].at, ORR_PRIO_FAULT, ORR_ORIGIN_ENGINE, s->engine_seq++,
                 s->aFault[i].comp, ORR_TK_FAULT, 0, 0, data);
    }
    assert(orr_sim_check(s));
    return rc;
}

static void dispatch(struct orr_sim *s, const struct orr_event *ev)
{
    struct orr_component *c = &s->aComp[ev->target]->pub;
    struct orr_trace_rec r = {
        .time = ev->time, .comp = ev->target, .origin = orr_event_origin(ev), .kind = ev->kind,
        .port = ev->port, .size = ev->size, .a = ev->data[0], .b = ev->data[1]};
    record(s, &r);
    switch (ev->kind) {
    case ORR_TK_READY:
        c->aPort[ev->port]->link->dir[c->aPort[ev->port]->side].waiting = false;
        break;
    case ORR_TK_FAULT: {
        const struct orr_fault_entry *f = &s->aFault[ev->data[0]];
        c->type->fault(c, f->fault, &f->params);
        return;
    }
    default:
        break;
    }
    c->type->handle(c, ev);
}

/* The conditions checked before each event, in this order; the stop
 * reason, or -1 to go on. Shared by orr_sim_run and orr_sim_step so both
 * stop at the same event for the same reason. */
static inline int stop_check(struct orr_sim *s, const struct orr_run_hooks *h)
{
    const uint64_t pmask = h->progress_every ? h->progress_every - 1 : 0;
    const uint64_t stop_events = s->opt.stop_events ? s->opt.stop_events : UINT64_MAX;
    /* a failure or a broken trace first: a model that fails in the event
     * that also finishes the last workload must not read as a clean end */
    if (s->trace_rc)
        return ORR_STOP_ERROR;
    if (s->failure)
        return ORR_STOP_FAILED;
    if (s->opt.stop_when_workloads_done && s->nWorkload > 0 &&
        s->nWorkloadDone == s->nWorkload)
        return ORR_STOP_WORKLOADS;
    if (s->nDispatched >= stop_events)
        return ORR_STOP_EVENTS;
    if (h->progress && (s->nDispatched & pmask) == 0 && s->nDispatched && h->progress(h->arg, s))
        return ORR_STOP_INTERRUPT;
    return -1;
}

const char *orr_sim_unfinished(const struct orr_sim *s, size_t *n)
{
    const char *first = NULL;
    *n = 0;
    for (size_t i = 0; i < s->nComp; i++) {
        const struct orr_component_priv *cp = s->aComp[i];
        if (cp->pub.type->workload && cp->pub.type->must_finish && !cp->done) {
            if (!first)
                first = cp->pub.path;
            (*n)++;
        }
    }
    return first;
}

/* The STOP record that ends every run, then the digest's last batch. A run
 * that ran out of time, events or work with a must_finish workload not
 * done says so (ORR_STOP_UNFINISHED) instead of reading as a clean end. */
static enum orr_stop_reason run_end(struct orr_sim *s, enum orr_stop_reason why)
{
    size_t nLeft;
    if ((why == ORR_STOP_TIME || why == ORR_STOP_EVENTS || why == ORR_STOP_IDLE) &&
        orr_sim_unfinished(s, &nLeft))
        why = ORR_STOP_UNFINISHED;
    struct orr_trace_rec r = {
        .time = s->now, .comp = ORR_ORIGIN_ENGINE, .origin = ORR_ORIGIN_ENGINE,
        .kind = ORR_TK_STOP, .a = why, .b = s->nDispatched};
    if (why != ORR_STOP_ERROR)
        record(s, &r);
    digest_flush(s);
    s->trace = NULL;
    assert(orr_sim_check(s));
    return why;
}

int orr_sim_run_until(struct orr_sim *s, const struct orr_run_hooks *hooks, orr_time_t until)
{
    static const struct orr_run_hooks none = {0};
    const struct orr_run_hooks *h = hooks ? hooks : &none;
    const orr_time_t stop_time = s->opt.stop_time;
    assert(s->started && !s->finished);
    if (stop_time && stop_time <= until)
        return (int)orr_sim_run(s, hooks); /* the run ends first */
    attach_trace(s, h->trace);
    for (;;) {
        int stop = stop_check(s, h);
        if (stop >= 0)
            return (int)run_end(s, (enum orr_stop_reason)stop);
        struct orr_event ev;
        if (!orr_evq_pop_before(&s->q, until, &ev))
            break;
        s->now = ev.time;
        s->nDispatched++;
        dispatch(s, &ev);
    }
    if (!orr_evq_size(&s->q))
        return (int)run_end(s, ORR_STOP_IDLE);
    return -1;
}

enum orr_stop_reason orr_sim_run(struct orr_sim *s, const struct orr_run_hooks *hooks)
{
    static const struct orr_run_hooks none = {0};
    const struct orr_run_hooks *h = hooks ? hooks : &none;
    const orr_time_t stop_time = s->opt.stop_time;
    enum orr_stop_reason why = ORR_STOP_IDLE;

    assert(s->started && !s->finished);
    attach_trace(s, h->trace);
    for (;;) {
        int stop = stop_check(s, h);
        if (stop >= 0) {
            why = (enum orr_stop_reason)stop;
            break;
        }
        struct orr_event ev;
        bool got = s->opt.stop_time ? orr_evq_pop_before(&s->q, stop_time, &ev)
                                    : orr_evq_pop(&s->q, &ev);
        if (!got) {
            why = orr_evq_size(&s->q) ? ORR_STOP_TIME : ORR_STOP_IDLE;
            if (why == ORR_STOP_TIME)
                s->now = stop_time;
            break;
        }
        s->now = ev.time;
        s->nDispatched++;
        dispatch(s, &ev);
    }
    return run_end(s, why);
}

/* ------------------------------------------------------------ stepping */

void orr_sim_step_begin(struct orr_sim *s, const struct orr_run_hooks *hooks)
{
    static const struct orr_run_hooks none = {0};
    assert(s->started && !s->finished);
    s->step_hooks = hooks ? *hooks : none;
    s->step_stop = -1;
    attach_trace(s, s->step_hooks.trace);
}

orr_time_t orr_sim_next_time(struct orr_sim *s)
{
    const struct orr_event *e = orr_evq_peek(&s->q);
    if (!e || (s->opt.stop_time && e->time >= s->opt.stop_time))
        return ORR_TIME_MAX;
    return e->time;
}

/* orr_sim_run checks the stop conditions and then pops; a step peeks
 * first and checks only before an event it will dispatch. The conditions
 * cannot change between the two (nothing runs in between), so both stop at
 * the same event, and the progress hook runs once per event count. */
bool orr_sim_step(struct orr_sim *s)
{
    orr_time_t t = orr_sim_next_time(s);
    if (s->step_stop >= 0)
        return false;
    while (t != ORR_TIME_MAX && orr_sim_next_time(s) == t) {
        s->step_stop = stop_check(s, &s->step_hooks);
        if (s->step_stop >= 0)
            return false;
        struct orr_event ev;
        orr_evq_pop(&s->q, &ev);
        s->now = ev.time;
        s->nDispatched++;
        dispatch(s, &ev);
    }
    return true;
}

enum orr_stop_reason orr_sim_step_end(struct orr_sim *s)
{
    int stop = s->step_stop >= 0 ? s->step_stop : stop_check(s, &s->step_hooks);
    enum orr_stop_reason why;
    if (stop >= 0) {
        why = (enum orr_stop_reason)stop;
    } else if (orr_sim_next_time(s) != ORR_TIME_MAX) {
        why = ORR_STOP_INTERRUPT; /* the outside scheduler ended before the model did */
    } else if (orr_evq_size(&s->q)) {
        why = ORR_STOP_TIME;
        s->now = s->opt.stop_time;
    } else {
        why = ORR_STOP_IDLE;
    }
    return run_end(s, why);
}

void orr_sim_watch(struct orr_sim *s, void (*fn)(void *arg, orr_time_t when, uint32_t target),
                   void *arg)
{
    s->watch = fn;
    s->watch_arg = arg;
    if (!fn)
        return;
    const struct orr_evq *q = &s->q;
    for (uint32_t i = 0; i < q->nNear; i++) {
        const struct orr_event *e = &q->aSlot[q->aNear[i].slot];
        fn(arg, e->time, e->target);
    }
    for (uint32_t b = 0; b < q->nBucket; b++)
        for (uint32_t i = q->aBucket[b]; i != ORR_EVQ_NIL; i = q->aLink[i])
            fn(arg, q->aSlot[i].time, q->aSlot[i].target);
    for (uint32_t i = q->farHead; i != ORR_EVQ_NIL; i = q->aLink[i])
        fn(arg, q->aSlot[i].time, q->aSlot[i].target);
}

static bool event_ok(const struct orr_sim *s, const struct orr_event *e)
{
    uint32_t origin = orr_event_origin(e);
    if (e->time < s->now || e->target >= s->nComp)
        return false;
    if (origin != ORR_ORIGIN_ENGINE && origin >= s->nComp)
        return false;
    /* the origin has issued sequence numbers below its counter: the event's
     * low 32 bits are 1..2^31 behind it (serial arithmetic) */
    uint64_t counter = origin == ORR_ORIGIN_ENGINE ? s->engine_seq : s->aComp[origin]->pub.seq;
    uint32_t lag = (uint32_t)counter - (uint32_t)e->order;
    return lag != 0 && lag <= 0x80000000u;
}

bool orr_sim_check(const struct orr_sim *s)
{
    const struct orr_evq *q = &s->q;
    if (!orr_evq_check(q))
        return false;
    for (uint32_t i = 0; i < q->nNear; i++)
        if (!event_ok(s, &q->aSlot[q->aNear[i].slot]))
            return false;
    for (uint32_t b = 0; b < q->nBucket; b++)
        for (uint32_t i = q->aBucket[b]; i != ORR_EVQ_NIL; i = q->aLink[i])
            if (!event_ok(s, &q->aSlot[i]))
                return false;
    for (uint32_t i = q->farHead; i != ORR_EVQ_NIL; i = q->aLink[i])
        if (!event_ok(s, &q->aSlot[i]))
            return false;
    for (size_t i = 0; i < s->nLink; i++) {
        const struct orr_link *l = s->aLink[i];
        for (int d = 0; d < 2; d++)
            if (l->end[d]->link != l || l->end[d]->side != d)
                return false;
    }
    return true;
}

const char *orr_stop_reason_name(enum orr_stop_reason r)
{
    switch (r) {
    case ORR_STOP_TIME: return "duration reached";
    case ORR_STOP_EVENTS: return "event limit reached";
    case ORR_STOP_WORKLOADS: return "workloads finished";
    case ORR_STOP_IDLE: return "no events left";
    case ORR_STOP_INTERRUPT: return "interrupted";
    case ORR_STOP_ERROR: return "trace write failed";
    case ORR_STOP_FAILED: return "a model reported a failure";
    case ORR_STOP_UNFINISHED: return "workloads unfinished";
    }
    return "?";
}

orr_time_t orr_now(const struct orr_sim *s) { return s->now; }
uint64_t orr_sim_events(const struct orr_sim *s) { return s->nDispatched; }
uint64_t orr_sim_pending(const struct orr_sim *s) { return orr_evq_size(&s->q); }
size_t orr_sim_queue_bytes(const struct orr_sim *s) { return orr_evq_bytes(&s->q); }
orr_time_t orr_sim_stop_time(const struct orr_sim *s) { return s->opt.stop_time; }
uint64_t orr_sim_seed(const struct orr_sim *s) { return s->opt.seed; }

uint64_t orr_sim_digest(const struct orr_sim *s)
{
    struct orr_sim *m = (struct orr_sim *)s; /* flushing the batch is not a visible change */
    digest_flush(m);
    return orr_digest_value(&s->digest);
}
