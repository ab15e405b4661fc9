/* The stats registry of a simulation, and how a finished run's stats become
 * metrics (summary table, trace footer, results database). */
#include "sim_internal.h"
#include "orrery/error.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p)
        orr_oom();
    return memcpy(p, s, n);
}

struct orr_stat_entry *orr__stat_at(const struct orr_sim *s, size_t i)
{
    return &s->aStatChunk[i / ORR_STAT_CHUNK][i % ORR_STAT_CHUNK];
}

/* The entry to name in a message about an undeclared stat: one whose
 * name matches (so its kind or unit is what differs), else the closest
 * spelling, else NULL. */
static const struct orr_metric_doc *nearest_doc(const struct orr_metric_doc *docs,
                                                const char *name)
{
    size_t n = 0;
    for (const struct orr_metric_doc *m = docs; m && m->name; m++, n++)
        if (orr_metric_name_match(m->name, name))
            return m;
    const char **aName = calloc(n + 1, sizeof *aName);
    if (!aName)
        orr_oom();
    for (size_t i = 0; i < n; i++)
        aName[i] = docs[i].name;
    const char *near = orr_suggest(name, aName, n);
    free(aName);
    for (size_t i = 0; near && i < n; i++)
        if (docs[i].name == near)
            return &docs[i];
    return NULL;
}

/* A stat its declarations do not allow is a bug in the model (or the
 * engine), not bad input: stop at once, like a failed assert, but in
 * every build and with what to fix. */
static void require_declared(const struct orr_component *c, const struct orr_metric_doc *docs,
                             enum orr_metric_kind kind, const char *name, const char *unit)
{
    if (orr_metric_doc_find(docs, name, kind, unit))
        return;
    char who[160];
    if (docs == orr_link_metrics)
        snprintf(who, sizeof who, "the engine registers");
    else
        snprintf(who, sizeof who, "component type '%s' registers", c->type->name);
    fprintf(stderr, "orrery: %s %s '%s' in '%s' (on '%s'), which %s does not declare; ", who,
            orr_metric_kind_name(kind), name, unit ? unit : "", c->path,
            docs == orr_link_metrics ? "orr_link_metrics" : "its metrics table");
    const struct orr_metric_doc *near = nearest_doc(docs, name);
    if (near)
        fprintf(stderr, "nearest declared: %s '%s' in '%s'\n", orr_metric_kind_name(near->kind),
                near->name, near->unit);
    else
        fprintf(stderr, "%s\n", docs && docs->name ? "none is close" : "it declares none");
    abort();
}

struct orr_stat_entry *orr__stat_add(struct orr_component *c, const struct orr_metric_doc *docs,
                                     enum orr_metric_kind kind, const char *name,
                                     const char *unit)
{
    struct orr_sim *s = c->sim;
    assert(!s->finished);
    require_declared(c, docs, kind, name, unit);
    if (s->nStat % ORR_STAT_CHUNK == 0) {
        size_t chunk = s->nStat / ORR_STAT_CHUNK;
        if (chunk >= s->nStatChunkAlloc) {
            size_t n = s->nStatChunkAlloc ? s->nStatChunkAlloc * 2 : 8;
            struct orr_stat_entry **a = realloc(s->aStatChunk, n * sizeof *a);
            if (!a)
                orr_oom();
            s->aStatChunk = a;
            s->nStatChunkAlloc = n;
        }
        s->aStatChunk[chunk] = calloc(ORR_STAT_CHUNK, sizeof **s->aStatChunk);
        if (!s->aStatChunk[chunk])
            orr_oom();
    }
    struct orr_stat_entry *e = orr__stat_at(s, s->nStat++);
    e->comp = c->id;
    e->kind = kind;
    e->name = dupstr(name);
    e->unit = dupstr(unit ? unit : "");
    return e;
}

struct orr_counter *orr_counter_new(struct orr_component *c, const char *name, const char *unit)
{
    return &orr__stat_add(c, c->type->metrics, ORR_METRIC_COUNTER, name, unit)->u.counter;
}

struct orr_gauge *orr_gauge_new(struct orr_component *c, const char *name, const char *unit)
{
    return &orr__stat_add(c, c->type->metrics, ORR_METRIC_GAUGE, name, unit)->u.gauge;
}

struct orr_value *orr_value_new(struct orr_component *c, const char *name, const char *unit)
{
    return &orr__stat_add(c, c->type->metrics, ORR_METRIC_VALUE, name, unit)->u.value;
}

struct orr_histogram *orr_histogram_new(struct orr_component *c, const char *name,
                                        const char *unit)
{
    struct orr_stat_entry *e =
        orr__stat_add(c, c->type->metrics, ORR_METRIC_HISTOGRAM, name, unit);
    orr_histogram_init(&e->u.hist);
    return &e->u.hist;
}

/* Whether docs declare a stat that appears among a run's metrics as name
 * (in unit, unless unit is NULL): the stat's name is name itself or name
 * less one of its kind's field suffixes. Returns the metric's unit or
 * NULL. */
static const char *docs_declare(const struct orr_metric_doc *docs, const char *name,
                                const char *unit)
{
    size_t len = strlen(name);
    for (const struct orr_metric_doc *m = docs; m && m->name; m++) {
        size_t nf;
        const struct orr_metric_field *f = orr_metric_fields(m->kind, &nf);
        for (size_t i = 0; i < nf; i++) {
            const char *mu = f[i].plain ? "" : m->unit;
            size_t lsuf = f[i].suffix ? strlen(f[i].suffix) + 1 : 0;
            if (unit && strcmp(unit, mu) != 0)
                continue;
            if (lsuf && (len <= lsuf || name[len - lsuf] != '.' ||
                         strcmp(name + len - lsuf + 1, f[i].suffix) != 0))
                continue;
            char stat[256];
            if (len - lsuf >= sizeof stat)
                continue;
            memcpy(stat, name, len - lsuf);
            stat[len - lsuf] = 0;
            if (orr_metric_name_match(m->name, stat))
                return mu;
        }
    }
    return NULL;
}

/* Link metrics exist only for c's linked ports (link_stats in sim.c), and
 * tx_util only where the link has a bandwidth. */
static const char *link_declared(const struct orr_component *c, const char *name,
                                 const char *unit)
{
    const char *u = docs_declare(orr_link_metrics, name, unit);
    const char *dot = strrchr(name, '.');
    if (!u || !dot)
        return NULL;
    for (size_t i = 0; i < c->nPort; i++) {
        const struct orr_port *p = c->aPort[i];
        if (p->link && strlen(p->name) == (size_t)(dot - name) &&
            strncmp(p->name, name, (size_t)(dot - name)) == 0)
            return strcmp(dot + 1, "tx_util") == 0 && !p->link->bw_bps ? NULL : u;
    }
    return NULL;
}

const char *orr_metric_declared(const struct orr_component *c, const char *name,
                                const char *unit)
{
    const char *u = docs_declare(c->type->metrics, name, unit);
    return u ? u : link_declared(c, name, unit);
}

const char *orr_run_metric_declared(const char *name, const char *unit)
{
    return docs_declare(orr_run_metrics, name, unit);
}

size_t orr_sim_stat_count(const struct orr_sim *s) { return s->nStat; }

void orr_sim_stat(const struct orr_sim *s, size_t i, struct orr_stat_info *out)
{
    const struct orr_stat_entry *e = orr__stat_at(s, i);
    *out = (struct orr_stat_info){&s->aComp[e->comp]->pub, e->name, e->unit, e->kind};
}

static void free_metrics(struct orr_sim *s)
{
    for (size_t i = 0; i < s->nMetricName; i++)
        free(s->aMetricName[i]);
    free(s->aMetricName);
    free(s->aMetric);
    free(s->aHist);
    s->aMetricName = NULL;
    s->aMetric = NULL;
    s->aHist = NULL;
    s->nMetric = s->nHist = s->nMetricName = s->nMetricNameAlloc = 0;
}

void orr__stats_free(struct orr_sim *s)
{
    for (size_t i = 0; i < s->nStat; i++) {
        struct orr_stat_entry *e = orr__stat_at(s, i);
        free(e->name);
        free(e->unit);
        if (e->kind == ORR_METRIC_HISTOGRAM)
            orr_histogram_free(&e->u.hist);
    }
    for (size_t i = 0; i * ORR_STAT_CHUNK < s->nStat; i++)
        free(s->aStatChunk[i]);
    free(s->aStatChunk);
    free_metrics(s);
}

/* Keep a string alive as long as the metrics are. */
static const char *keep(struct orr_sim *s, char *owned)
{
    if (s->nMetricName == s->nMetricNameAlloc) {
        size_t n = s->nMetricNameAlloc ? s->nMetricNameAlloc * 2 : 64;
        char **a = realloc(s->aMetricName, n * sizeof *a);
        if (!a)
            orr_oom();
        s->aMetricName = a;
        s->nMetricNameAlloc = n;
    }
    s->aMetricName[s->nMetricName++] = owned;
    return owned;
}

static const char *suffixed(struct orr_sim *s, const char *name, const char *suffix)
{
    size_t n = strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (!p)
        orr_oom();
    snprintf(p, n, "%s.%s", name, suffix);
    return keep(s, p);
}

static void add_metric(struct orr_sim *s, size_t *cap, const char *comp, const char *name,
                       double v, const char *unit)
{
    if (s->nMetric == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        struct orr_metric *a = realloc(s->aMetric, *cap * sizeof *a);
        if (!a)
            orr_oom();
        s->aMetric = a;
    }
    s->aMetric[s->nMetric++] = (struct orr_metric){comp, name, v, unit};
}

/* The metric for field f of stat e (orr_metric_fields), worth v. */
static void add_field(struct orr_sim *s, size_t *cap, const char *comp,
                      const struct orr_stat_entry *e, const struct orr_metric_field *f, double v)
{
    add_metric(s, cap, comp, f->suffix ? suffixed(s, e->name, f->suffix) : e->name, v,
               f->plain ? "" : e->unit);
}

/* Histograms appear twice: as a summary row, and as flat metrics
 * name.count/.mean/.min/.p50/.p90/.p99/.p999/.max so budgets and diffs
 * address them like any other metric. */
static void flatten_hist(struct orr_sim *s, size_t *cap, const char *comp,
                         const struct orr_stat_entry *e)
{
    const struct orr_histogram *h = &e->u.hist;
    struct orr_hist_summary hs = {
        .component = comp, .name = e->name, .unit = e->unit, .count = h->count, .min = h->min,
        .max = h->max, .mean = orr_histogram_mean(h),
        .p50 = orr_histogram_quantile(h, 500000), .p90 = orr_histogram_quantile(h, 900000),
        .p99 = orr_histogram_quantile(h, 990000), .p999 = orr_histogram_quantile(h, 999000)};
    s->aHist[s->nHist++] = hs;
    /* in the order of orr_metric_fields(ORR_METRIC_HISTOGRAM) */
    const double v[] = {(double)hs.count, hs.mean,         (double)hs.min,  (double)hs.p50,
                        (double)hs.p90,   (double)hs.p99,  (double)hs.p999, (double)hs.max};
    size_t n;
    const struct orr_metric_field *f = orr_metric_fields(ORR_METRIC_HISTOGRAM, &n);
    assert(n == sizeof v / sizeof v[0]);
    for (size_t i = 0; i < n; i++)
        add_field(s, cap, comp, e, &f[i], v[i]);
}

void orr__stats_flatten(struct orr_sim *s)
{
    size_t cap = 0, nh = 0;
    free_metrics(s);
    for (size_t i = 0; i < s->nStat; i++)
        nh += orr__stat_at(s, i)->kind == ORR_METRIC_HISTOGRAM;
    s->aHist = calloc(nh ? nh : 1, sizeof *s->aHist);
    if (!s->aHist)
        orr_oom();
    /* run-level metrics first, in the order of orr_run_metrics */
    const double run[] = {(double)s->nDispatched, (double)s->now, (double)s->nBeyondHorizon};
    assert(!orr_run_metrics[sizeof run / sizeof run[0]].name);
    for (size_t i = 0; i < sizeof run / sizeof run[0]; i++)
        add_metric(s, &cap, ORR_RUN_COMPONENT, orr_run_metrics[i].name, run[i],
                   orr_run_metrics[i].unit);
    for (size_t i = 0; i < s->nStat; i++) {
        const struct orr_stat_entry *e = orr__stat_at(s, i);
        const char *comp = s->aComp[e->comp]->pub.path;
        size_t nf;
        const struct orr_metric_field *f = orr_metric_fields(e->kind, &nf);
        switch (e->kind) {
        case ORR_METRIC_COUNTER:
            add_field(s, &cap, comp, e, &f[0], (double)e->u.counter.v);
            break;
        case ORR_METRIC_GAUGE:
            add_field(s, &cap, comp, e, &f[0], (double)e->u.gauge.v);
            add_field(s, &cap, comp, e, &f[1], (double)e->u.gauge.max);
            break;
        case ORR_METRIC_VALUE:
            add_field(s, &cap, comp, e, &f[0], e->u.value.v);
            break;
        case ORR_METRIC_HISTOGRAM:
            flatten_hist(s, &cap, comp, e);
            break;
        }
    }
}

void orr_sim_finish(struct orr_sim *s)
{
    assert(s->started);
    if (!s->finished) {
        for (size_t i = 0; i < s->nLink; i++) {
            struct orr_link *l = s->aLink[i];
            for (int d = 0; d < 2; d++)
                if (l->dir[d].util)
                    l->dir[d].util->v = s->now ? (double)l->dir[d].busy / (double)s->now : 0.0;
        }
        for (size_t i = 0; i < s->nComp; i++) {
            struct orr_component *c = &s->aComp[i]->pub;
            if (c->type->finish)
                c->type->finish(c);
        }
        s->finished = true;
    }
    orr__stats_flatten(s);
}

size_t orr_sim_metrics(const struct orr_sim *s, const struct orr_metric **out)
{
    *out = s->aMetric;
    return s->nMetric;
}

size_t orr_sim_histograms(const struct orr_sim *s, const struct orr_hist_summary **out)
{
    *out = s->aHist;
    return s->nHist;
}

int orr_sim_trace_tables(const struct orr_sim *s, struct orr_trace_header *h)
{
    h->nComp = s->nComp;
    h->aCompPath = calloc(s->nComp + 1, sizeof *h->aCompPath);
    h->aCompType = calloc(s->nComp + 1, sizeof *h->aCompType);
    h->nKind = s->nKind;
    h->aKindName = calloc(s->nKind + 1, sizeof *h->aKindName);
    if (!h->aCompPath || !h->aCompType || !h->aKindName)
        return ORR_ENOMEM;
    for (size_t i = 0; i < s->nComp; i++) {
        h->aCompPath[i] = dupstr(s->aComp[i]->pub.path);
        h->aCompType[i] = dupstr(s->aComp[i]->pub.type->name);
    }
    for (size_t k = 0; k < s->nKind; k++)
        h->aKindName[k] = dupstr(s->aKindName[k]);
    return 0;
}

int orr_sim_trace_footer(const struct orr_sim *s, struct orr_trace_footer *f)
{
    memset(f, 0, sizeof *f);
    f->digest = orr_sim_digest(s);
    f->sim_time = s->now;
    f->nRec = 0;
    f->nComp = s->nComp;
    f->aCompEvents = calloc(s->nComp + 1, sizeof *f->aCompEvents);
    f->aMetric = calloc(s->nMetric + 1, sizeof *f->aMetric);
    if (!f->aCompEvents || !f->aMetric)
        return ORR_ENOMEM;
    for (size_t i = 0; i <= s->nComp; i++)
        f->nRec += s->aCompEvents[i];
    memcpy(f->aCompEvents, s->aCompEvents, s->nComp * sizeof *f->aCompEvents);
    f->nMetric = s->nMetric;
    for (size_t i = 0; i < s->nMetric; i++) {
        const struct orr_metric *m = &s->aMetric[i];
        size_t n = strlen(m->component) + strlen(m->name) + 2;
        f->aMetric[i].name = malloc(n);
        if (!f->aMetric[i].name)
            return ORR_ENOMEM;
        snprintf(f->aMetric[i].name, n, "%s.%s", m->component, m->name);
        f->aMetric[i].value = m->value;
        f->aMetric[i].unit = dupstr(m->unit);
    }
    return 0;
}
