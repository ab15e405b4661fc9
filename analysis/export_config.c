/* What the exporters know beyond the trace's tables, read back from the
 * effective configuration the header pins ("config=" knob, block YAML):
 *   - links: which two components each joins, latency and bandwidth, so a
 *     message record (which holds only its arrival) can be drawn from its
 *     send and a direction's utilisation estimated;
 *   - sched_node tasks: names and priorities in id order (the order of the
 *     `tasks:` list, `count` instances named NAME.k), so ftrace lines can
 *     say comm/pid/prio. Task ids in sched trace points are these indices.
 * Anything missing or malformed is skipped, not an error: a trace always
 * exports, with ids where names are unknown. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "export_internal.h"
#include "orrery/config.h"
#include "orrery/error.h"
#include "orrery/units.h"

/* Names -> indices (component paths, keys of `components:`), so a trace of
 * n components with n links costs O(n), not O(n^2). Only looked up. */
struct name_index {
    uint32_t *aSlot; /* index + 1; 0 free */
    size_t mask;
};

static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

/* Index names[0..n) (the first of equal names wins); false without memory. */
static bool index_build(struct name_index *ix, char *const *names, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    ix->aSlot = calloc(cap, sizeof *ix->aSlot);
    ix->mask = cap - 1;
    if (!ix->aSlot)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]), h = (size_t)name_hash(names[i], len) & ix->mask;
        bool dup = false;
        for (; ix->aSlot[h] && !dup; h = (h + 1) & ix->mask)
            dup = strcmp(names[ix->aSlot[h] - 1], names[i]) == 0;
        if (!dup)
            ix->aSlot[h] = (uint32_t)i + 1;
    }
    return true;
}

static uint32_t index_find(const struct name_index *ix, char *const *names, const char *s,
                           size_t len)
{
    for (size_t h = (size_t)name_hash(s, len) & ix->mask; ix->aSlot && ix->aSlot[h];
         h = (h + 1) & ix->mask) {
        const char *cand = names[ix->aSlot[h] - 1];
        if (strlen(cand) == len && strncmp(cand, s, len) == 0)
            return ix->aSlot[h] - 1;
    }
    return EXP_NONE;
}

/* "COMP.PORT" -> component id (the component path may itself hold dots). */
static uint32_t end_comp(const struct orr_trace_header *h, const struct name_index *ix,
                         const char *end)
{
    const char *dot = end ? strrchr(end, '.') : NULL;
    return dot ? index_find(ix, h->aCompPath, end, (size_t)(dot - end)) : EXP_NONE;
}

static const char *scalar(const struct orr_node *map, const char *key, const char *dflt)
{
    const struct orr_node *n = orr_node_get(map, key);
    return n && n->kind == ORR_NODE_SCALAR ? n->scalar : dflt;
}

static int read_links(struct exp_ctx *x, const struct orr_node *links)
{
    if (!links || links->kind != ORR_NODE_SEQ)
        return 0;
    struct name_index ix;
    x->aLink = calloc(links->n ? links->n : 1, sizeof *x->aLink);
    if (!x->aLink || !index_build(&ix, x->h->aCompPath, x->h->nComp)) {
        free(x->aLink);
        x->aLink = NULL;
        return ORR_ENOMEM;
    }
    for (size_t i = 0; i < links->n; i++) {
        const struct orr_node *ln = links->aItem[i];
        const char *from = scalar(ln, "from", NULL), *to = scalar(ln, "to", NULL);
        uint64_t lat = 0, bw = 0;
        struct exp_link *l = &x->aLink[x->nLink];
        l->from = end_comp(x->h, &ix, from);
        l->to = end_comp(x->h, &ix, to);
        if (l->from == EXP_NONE || l->to == EXP_NONE ||
            orr_unit_parse(ORR_UNIT_TIME, scalar(ln, "latency", "0ps"), &lat, NULL) ||
            orr_unit_parse(ORR_UNIT_BW, scalar(ln, "bandwidth", "0bps"), &bw, NULL))
            continue;
        l->latency = lat;
        l->bw_bps = bw;
        l->last_arrival[0] = l->last_arrival[1] = ORR_TIME_MAX;
        l->name = malloc(strlen(from) + strlen(to) + 3);
        if (!l->name) {
            free(ix.aSlot);
            return ORR_ENOMEM;
        }
        sprintf(l->name, "%s->%s", from, to);
        x->nLink++;
    }
    free(ix.aSlot);
    return 0;
}

static int task_prio(const struct orr_node *t)
{
    const char *policy = scalar(t, "policy", "normal");
    if (strcmp(policy, "deadline") == 0)
        return -1;
    if (strcmp(policy, "fifo") == 0 || strcmp(policy, "rr") == 0)
        return 99 - atoi(scalar(t, "prio", "0"));
    return 120 + atoi(scalar(t, "nice", "0"));
}

/* comm as the kernel keeps it: at most 15 characters, no spaces (they
 * would split the fields trace tools parse). */
static void set_comm(char comm[16], const char *name, unsigned long k, bool indexed)
{
    char buf[160];
    if (indexed)
        snprintf(buf, sizeof buf, "%s.%lu", name, k);
    else
        snprintf(buf, sizeof buf, "%s", name);
    size_t len = strlen(buf) < 15 ? strlen(buf) : 15;
    memcpy(comm, buf, len);
    comm[len] = 0;
    for (char *p = comm; *p; p++)
        if (*p == ' ' || *p == '\t')
            *p = '_';
}

void exp_task(const struct exp_node *n, uint64_t id, char comm[16], int *prio)
{
    size_t lo = 0, hi = n->nGroup; /* the last group whose first id <= id */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->aGroup[mid].first <= id)
            lo = mid;
        else
            hi = mid;
    }
    const struct exp_task_group *g = &n->aGroup[lo];
    set_comm(comm, g->name, (unsigned long)(id - g->first), g->count > 1);
    *prio = g->prio;
}

/* The tasks of a node, one group per entry; a count orrery would not accept
 * (0, or more than 2^24 tasks in all) leaves the node's tasks unnamed. */
static int read_tasks(struct exp_node *n, const struct orr_node *tasks, uint64_t room)
{
    uint64_t total = 0;
    size_t nGroup = tasks && tasks->kind == ORR_NODE_SEQ ? tasks->n : 0;
    for (size_t i = 0; i < nGroup; i++) {
        unsigned long long count = strtoull(scalar(tasks->aItem[i], "count", "1"), NULL, 10);
        if (count == 0 || count > (1u << 24) || (total += count) > (1u << 24) || total > room)
            return 0;
    }
    if (!nGroup)
        return 0;
    n->aGroup = calloc(nGroup, sizeof *n->aGroup);
    if (!n->aGroup)
        return ORR_ENOMEM;
    for (size_t i = 0; i < nGroup; i++) {
        const struct orr_node *t = tasks->aItem[i];
        struct exp_task_group *g = &n->aGroup[n->nGroup++];
        g->first = n->nTask;
        g->count = (uint32_t)strtoul(scalar(t, "count", "1"), NULL, 10);
        g->prio = task_prio(t);
        g->name = scalar(t, "name", "task");
        n->nTask += g->count;
    }
    return 0;
}

/* The sched_nodes of the component table, numbered as the kernel would:
 * CPUs and pids run on from one node to the next, up to EXP_MAX_CPUS and
 * EXP_MAX_PIDS (past them a node gets one CPU and no named tasks). Node
 * components are found through a key index: a table of n components and a
 * `components:` map of n keys cost O(n), not O(n^2). */
static int read_nodes(struct exp_ctx *x, const struct orr_node *comps)
{
    const struct orr_trace_header *h = x->h;
    size_t nSched = 0;
    for (size_t i = 0; i < h->nComp; i++)
        nSched += strcmp(h->aCompType[i], "sched_node") == 0;
    struct name_index ix = {0};
    bool map = comps && comps->kind == ORR_NODE_MAP;
    x->aNode = calloc(nSched ? nSched : 1, sizeof *x->aNode);
    if (!x->aNode || (nSched && map && !index_build(&ix, comps->aKey, comps->n)))
        return ORR_ENOMEM;
    for (size_t i = 0; i < h->nComp; i++) {
        if (strcmp(h->aCompType[i], "sched_node") != 0)
            continue;
        const char *path = h->aCompPath[i];
        uint32_t at = map ? index_find(&ix, comps->aKey, path, strlen(path)) : EXP_NONE;
        const struct orr_node *cn = at != EXP_NONE ? comps->aItem[at] : NULL;
        struct exp_node *n = &x->aNode[x->nNode];
        n->comp = (uint32_t)i;
        n->ncpu = (uint32_t)strtoul(scalar(cn, "cpus", "1"), NULL, 10);
        if (n->ncpu == 0 || n->ncpu > 4096 || n->ncpu > EXP_MAX_CPUS - 1 - x->nCpu)
            n->ncpu = 1;
        if (x->nCpu >= EXP_MAX_CPUS - 1)
            n->ncpu = 0; /* every id on the first CPU of the last node numbered */
        n->cpu_base = x->nCpu;
        n->pid_base = x->nPid;
        if (read_tasks(n, orr_node_get(cn, "tasks"), EXP_MAX_PIDS - x->nPid)) {
            free(ix.aSlot);
            return ORR_ENOMEM;
        }
        x->nCpu += n->ncpu;
        x->nPid += (uint32_t)n->nTask;
        x->aNodeOf[i] = (uint32_t)x->nNode++;
    }
    free(ix.aSlot);
    return 0;
}

int exp_ctx_init(struct exp_ctx *x, struct orr_trace_reader *r, FILE *out, struct orr_diag *d)
{
    memset(x, 0, sizeof *x);
    x->r = r;
    x->h = orr_trace_header(r);
    x->f = orr_trace_footer(r);
    x->out = out;
    x->d = d;
    x->aNodeOf = malloc((x->h->nComp ? x->h->nComp : 1) * sizeof *x->aNodeOf);
    if (!x->aNodeOf)
        return ORR_ENOMEM;
    for (size_t i = 0; i < x->h->nComp; i++)
        x->aNodeOf[i] = EXP_NONE;
    const char *text = NULL;
    for (size_t i = 0; i < x->h->nKnob && !text; i++)
        if (strncmp(x->h->aKnob[i], "config=", 7) == 0)
            text = x->h->aKnob[i] + 7;
    x->cfg = calloc(1, sizeof *x->cfg);
    if (!x->cfg)
        return ORR_ENOMEM;
    struct orr_diag quiet;
    orr_diag_init(&quiet); /* an unreadable config is not the user's error here */
    int rc;
    if (text && orr_config_load_string(x->cfg, "<trace config>", text, strlen(text), NULL,
                                       &quiet) == 0) {
        rc = read_links(x, orr_node_get(x->cfg->root, "links"));
        if (rc == 0)
            rc = read_nodes(x, orr_node_get(x->cfg->root, "components"));
    } else {
        rc = read_nodes(x, NULL);
    }
    orr_diag_free(&quiet);
    return rc;
}

void exp_ctx_free(struct exp_ctx *x)
{
    for (size_t i = 0; i < x->nLink; i++)
        free(x->aLink[i].name);
    free(x->aLink);
    for (size_t i = 0; i < x->nNode; i++)
        free(x->aNode[i].aGroup);
    free(x->aNode);
    free(x->aNodeOf);
    if (x->cfg)
        orr_config_free(x->cfg);
    free(x->cfg);
}

int exp_each(struct exp_ctx *x, int (*fn)(struct exp_ctx *, const struct orr_trace_rec *, void *),
             void *arg)
{
    struct orr_trace_rec rec;
    int rc = orr_trace_seek(x->r, 0), more = 0;
    while (rc == 0 && (more = orr_trace_next(x->r, &rec)) == 1)
        rc = fn(x, &rec, arg);
    if (rc == 0 && more < 0) { /* the reader's error: corrupt or truncated segment */
        orr_diag_error(x->d, NULL, NULL, "%s", orr_trace_error(x->r));
        rc = more;
    }
    return rc;
}

const char *exp_comp_name(const struct exp_ctx *x, uint32_t id)
{
    if (id == ORR_ORIGIN_ENGINE)
        return "engine";
    return id < x->h->nComp ? x->h->aCompPath[id] : "?";
}

uint32_t exp_link_of(const struct exp_ctx *x, uint32_t origin, uint32_t comp, unsigned *dir)
{
    for (size_t i = 0; i < x->nLink; i++) {
        const struct exp_link *l = &x->aLink[i];
        if (l->from == origin && l->to == comp) {
            *dir = 0;
            return (uint32_t)i;
        }
        if (l->to == origin && l->from == comp) {
            *dir = 1;
            return (uint32_t)i;
        }
    }
    return EXP_NONE;
}

orr_time_t exp_link_serialise(const struct exp_link *l, uint32_t size)
{
    if (!l->bw_bps)
        return 0;
    unsigned __int128 bits_ps = (unsigned __int128)size * 8u * ORR_S;
    return (orr_time_t)((bits_ps + l->bw_bps - 1) / l->bw_bps);
}

orr_time_t exp_link_sent_at(const struct exp_link *l, orr_time_t t, uint32_t size)
{
    orr_time_t back = exp_link_serialise(l, size) + l->latency;
    return t > back ? t - back : 0;
}

double exp_link_utilisation(struct exp_link *l, unsigned dir, orr_time_t t, uint32_t size)
{
    orr_time_t prev = l->last_arrival[dir];
    l->last_arrival[dir] = t;
    if (prev == ORR_TIME_MAX || !l->bw_bps)
        return -1.0;
    if (t <= prev)
        return 1.0;
    double u = (double)exp_link_serialise(l, size) / (double)(t - prev);
    return u > 1.0 ? 1.0 : u;
}
