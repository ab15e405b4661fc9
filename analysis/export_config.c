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

static uint32_t comp_id(const struct orr_trace_header *h, const char *path, size_t len)
{
    for (size_t i = 0; i < h->nComp; i++)
        if (strlen(h->aCompPath[i]) == len && strncmp(h->aCompPath[i], path, len) == 0)
            return (uint32_t)i;
    return EXP_NONE;
}

/* "COMP.PORT" -> component id (the component path may itself hold dots). */
static uint32_t end_comp(const struct orr_trace_header *h, const char *end)
{
    const char *dot = end ? strrchr(end, '.') : NULL;
    return dot ? comp_id(h, end, (size_t)(dot - end)) : EXP_NONE;
}

static const char *scalar(const struct orr_node *map, const char *key, const char *dflt)
{
    const struct orr_node *n = orr_node_get(map, key);
    return n && n->kind == ORR_NODE_SCALAR ? n->scalar : dflt;
}

static void read_links(struct exp_ctx *x, const struct orr_node *links)
{
    if (!links || links->kind != ORR_NODE_SEQ)
        return;
    x->aLink = calloc(links->n ? links->n : 1, sizeof *x->aLink);
    if (!x->aLink)
        abort();
    for (size_t i = 0; i < links->n; i++) {
        const struct orr_node *ln = links->aItem[i];
        const char *from = scalar(ln, "from", NULL), *to = scalar(ln, "to", NULL);
        uint64_t lat = 0, bw = 0;
        struct exp_link *l = &x->aLink[x->nLink];
        l->from = end_comp(x->h, from);
        l->to = end_comp(x->h, to);
        if (l->from == EXP_NONE || l->to == EXP_NONE ||
            orr_unit_parse(ORR_UNIT_TIME, scalar(ln, "latency", "0ps"), &lat, NULL) ||
            orr_unit_parse(ORR_UNIT_BW, scalar(ln, "bandwidth", "0bps"), &bw, NULL))
            continue;
        l->latency = lat;
        l->bw_bps = bw;
        l->last_arrival[0] = l->last_arrival[1] = ORR_TIME_MAX;
        l->name = malloc(strlen(from) + strlen(to) + 3);
        if (!l->name)
            abort();
        sprintf(l->name, "%s->%s", from, to);
        x->nLink++;
    }
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

static void read_tasks(struct exp_node *n, const struct orr_node *tasks)
{
    size_t total = 0;
    for (size_t i = 0; tasks && tasks->kind == ORR_NODE_SEQ && i < tasks->n; i++) {
        unsigned long count = strtoul(scalar(tasks->aItem[i], "count", "1"), NULL, 10);
        total += count;
    }
    if (total > (1u << 24)) /* not a config orrery accepted */
        return;
    n->aTask = calloc(total ? total : 1, sizeof *n->aTask);
    if (!n->aTask)
        abort();
    for (size_t i = 0; total && i < tasks->n; i++) {
        const struct orr_node *t = tasks->aItem[i];
        unsigned long count = strtoul(scalar(t, "count", "1"), NULL, 10);
        for (unsigned long k = 0; k < count; k++) {
            struct exp_task *et = &n->aTask[n->nTask++];
            set_comm(et->comm, scalar(t, "name", "task"), k, count > 1);
            et->prio = task_prio(t);
        }
    }
}

static void read_nodes(struct exp_ctx *x, const struct orr_node *comps)
{
    const struct orr_trace_header *h = x->h;
    size_t nSched = 0;
    for (size_t i = 0; i < h->nComp; i++)
        nSched += strcmp(h->aCompType[i], "sched_node") == 0;
    x->aNode = calloc(nSched ? nSched : 1, sizeof *x->aNode);
    if (!x->aNode)
        abort();
    for (size_t i = 0; i < h->nComp; i++) {
        if (strcmp(h->aCompType[i], "sched_node") != 0)
            continue;
        const struct orr_node *cn = orr_node_get(comps, h->aCompPath[i]);
        struct exp_node *n = &x->aNode[x->nNode];
        n->comp = (uint32_t)i;
        n->ncpu = (uint32_t)strtoul(scalar(cn, "cpus", "1"), NULL, 10);
        if (n->ncpu == 0 || n->ncpu > 4096)
            n->ncpu = 1;
        n->cpu_base = x->nCpu;
        n->pid_base = x->nPid;
        read_tasks(n, orr_node_get(cn, "tasks"));
        x->nCpu += n->ncpu;
        x->nPid += (uint32_t)n->nTask;
        x->aNodeOf[i] = (uint32_t)x->nNode++;
    }
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
    struct orr_config cfg = {0};
    struct orr_diag quiet;
    orr_diag_init(&quiet); /* an unreadable config is not the user's error here */
    if (text && orr_config_load_string(&cfg, "<trace config>", text, strlen(text), NULL,
                                       &quiet) == 0) {
        read_links(x, orr_node_get(cfg.root, "links"));
        read_nodes(x, orr_node_get(cfg.root, "components"));
    } else {
        read_nodes(x, NULL);
    }
    orr_config_free(&cfg);
    orr_diag_free(&quiet);
    return 0;
}

void exp_ctx_free(struct exp_ctx *x)
{
    for (size_t i = 0; i < x->nLink; i++)
        free(x->aLink[i].name);
    free(x->aLink);
    for (size_t i = 0; i < x->nNode; i++)
        free(x->aNode[i].aTask);
    free(x->aNode);
    free(x->aNodeOf);
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
