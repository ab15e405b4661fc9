/* The stats registry of a simulation, and how a finished run's stats become
 * metrics (summary table, trace footer, results database). */
#include "sim_internal.h"

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
        abort();
    return memcpy(p, s, n);
}

struct orr_stat_entry *orr__stat_at(const struct orr_sim *s, size_t i)
{
    return &s->aStatChunk[i / ORR_STAT_CHUNK][i % ORR_STAT_CHUNK];
}

struct orr_stat_entry *orr__stat_add(struct orr_component *c, enum orr_stat_kind kind,
                                     const char *name, const char *unit)
{
    struct orr_sim *s = c->sim;
    assert(!s->finished);
    if (s->nStat % ORR_STAT_CHUNK == 0) {
        size_t chunk = s->nStat / ORR_STAT_CHUNK;
        if (chunk >= s->nStatChunkAlloc) {
            size_t n = s->nStatChunkAlloc ? s->nStatChunkAlloc * 2 : 8;
            struct orr_stat_entry **a = realloc(s->aStatChunk, n * sizeof *a);
            if (!a)
                abort();
            s->aStatChunk = a;
            s->nStatChunkAlloc = n;
        }
        s->aStatChunk[chunk] = calloc(ORR_STAT_CHUNK, sizeof **s->aStatChunk);
        if (!s->aStatChunk[chunk])
            abort();
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
    return &orr__stat_add(c, ORR_STAT_COUNTER, name, unit)->u.counter;
}

struct orr_gauge *orr_gauge_new(struct orr_component *c, const char *name, const char *unit)
{
    return &orr__stat_add(c, ORR_STAT_GAUGE, name, unit)->u.gauge;
}

struct orr_value *orr_value_new(struct orr_component *c, const char *name, const char *unit)
{
    return &orr__stat_add(c, ORR_STAT_VALUE, name, unit)->u.value;
}

struct orr_histogram *orr_histogram_new(struct orr_component *c, const char *name,
                                        const char *unit)
{
    struct orr_stat_entry *e = orr__stat_add(c, ORR_STAT_HIST, name, unit);
    orr_histogram_init(&e->u.hist);
    return &e->u.hist;
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
        if (e->kind == ORR_STAT_HIST)
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
            abort();
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
        abort();
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
            abort();
        s->aMetric = a;
    }
    s->aMetric[s->nMetric++] = (struct orr_metric){comp, name, v, unit};
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
    add_metric(s, cap, comp, suffixed(s, e->name, "count"), (double)hs.count, "");
    add_metric(s, cap, comp, suffixed(s, e->name, "mean"), hs.mean, e->unit);
    add_metric(s, cap, comp, suffixed(s, e->name, "min"), (double)hs.min, e->unit);
    add_metric(s, cap, comp, suffixed(s, e->name, "p50"), (double)hs.p50, e->unit);
    add_metric(s, cap, comp, suffixed(s, e->name, "p90"), (double)hs.p90, e->unit);
    add_metric(s, cap, comp, suffixed(s, e->name, "p99"), (double)hs.p99, e->unit);
    add_metric(s, cap, comp, suffixed(s, e->name, "p999"), (double)hs.p999, e->unit);
    add_metric(s, cap, comp, suffixed(s, e->name, "max"), (double)hs.max, e->unit);
}

void orr__stats_flatten(struct orr_sim *s)
{
    size_t cap = 0, nh = 0;
    free_metrics(s);
    for (size_t i = 0; i < s->nStat; i++)
        nh += orr__stat_at(s, i)->kind == ORR_STAT_HIST;
    s->aHist = calloc(nh ? nh : 1, sizeof *s->aHist);
    if (!s->aHist)
        abort();
    /* run-level metrics first, under the component "sim" */
    add_metric(s, &cap, "sim", "events", (double)s->nDispatched, "event");
    add_metric(s, &cap, "sim", "time", (double)s->now, "ps");
    add_metric(s, &cap, "sim", "events_beyond_horizon", (double)s->nBeyondHorizon, "event");
    for (size_t i = 0; i < s->nStat; i++) {
        const struct orr_stat_entry *e = orr__stat_at(s, i);
        const char *comp = s->aComp[e->comp]->pub.path;
        switch (e->kind) {
        case ORR_STAT_COUNTER:
            add_metric(s, &cap, comp, e->name, (double)e->u.counter.v, e->unit);
            break;
        case ORR_STAT_GAUGE:
            add_metric(s, &cap, comp, e->name, (double)e->u.gauge.v, e->unit);
            add_metric(s, &cap, comp, suffixed(s, e->name, "max"), (double)e->u.gauge.max,
                       e->unit);
            break;
        case ORR_STAT_VALUE:
            add_metric(s, &cap, comp, e->name, e->u.value.v, e->unit);
            break;
        case ORR_STAT_HIST:
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
