/* Statistics owned by components: counters, gauges, final values and
 * histograms with percentiles. The simulation keeps a registry of them in
 * registration order; at the end of a run they become metrics
 * ("component.path.name") for the summary table, the trace footer and the
 * results database. All values are integers until they are reported, so
 * stats never depend on floating-point behaviour during the run. */
#ifndef ORRERY_STATS_H
#define ORRERY_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct orr_component;

/* --- declared metrics ---------------------------------------------------- */

enum orr_metric_kind {
    ORR_METRIC_COUNTER,   /* orr_counter_new */
    ORR_METRIC_GAUGE,     /* orr_gauge_new */
    ORR_METRIC_VALUE,     /* orr_value_new */
    ORR_METRIC_HISTOGRAM, /* orr_histogram_new */
};

/* One stat a component type registers, in its descriptor's `metrics`
 * table (terminated by {NULL}), so `orrery list TYPE` can show it and a
 * budget naming a metric that cannot exist is refused before the run.
 * Registering a stat that no entry declares — name, kind and unit — is a
 * programming error: the engine aborts, so every test run holds the
 * tables to the code (docs/engine.md).
 *
 * name is the stat's name or, for a family created at run time, a
 * pattern: `<X>` stands for one or more characters other than '.', and
 * `<X...>` for one or more characters including '.' (a user-chosen name or
 * a formatted size); X, capital letters, digits and '_', says what goes
 * there ("p<N>.tx_bytes", "<TASK...>.jobs"). Everything else is literal.
 * unit is exactly what the code passes ("" for a plain number): it reaches
 * results, traces and goldens. */
struct orr_metric_doc {
    const char *name;
    const char *unit;
    enum orr_metric_kind kind;
    const char *help; /* one line for `orrery list TYPE` */
};

/* "counter", "gauge", "value", "histogram"; "?" out of range. */
const char *orr_metric_kind_name(enum orr_metric_kind k);

/* True if name matches pattern (the syntax above). */
bool orr_metric_name_match(const char *pattern, const char *name);

/* The first entry of docs (NULL-terminated; may be NULL) that declares a
 * stat called name of kind k in unit, or NULL. */
const struct orr_metric_doc *orr_metric_doc_find(const struct orr_metric_doc *docs,
                                                 const char *name, enum orr_metric_kind k,
                                                 const char *unit);

/* How one stat appears among a run's metrics: a counter or a value as its
 * own name; a gauge also as NAME.max; a histogram only as NAME.count,
 * .mean, .min, .p50, .p90, .p99, .p999 and .max. The fields of kind k, in
 * the order the metrics list them; *n is set to their number. */
struct orr_metric_field {
    const char *suffix; /* after NAME and a '.', or NULL: NAME itself */
    bool plain;         /* in no unit (a count) rather than the stat's */
};
const struct orr_metric_field *orr_metric_fields(enum orr_metric_kind k, size_t *n);

/* Metrics the engine registers itself: on every component, for each of
 * its linked ports, PORT.tx_bytes, PORT.tx_msgs and (with a bandwidth)
 * PORT.tx_util; and run-level metrics under the component name
 * ORR_RUN_COMPONENT. Listed by `orrery list metrics`. */
extern const struct orr_metric_doc orr_link_metrics[];
extern const struct orr_metric_doc orr_run_metrics[];
#define ORR_RUN_COMPONENT "sim"

struct orr_counter {
    uint64_t v;
};

/* A level that goes up and down (queue depth); remembers its high-water mark. */
struct orr_gauge {
    int64_t v, max;
};

static inline void orr_gauge_set(struct orr_gauge *g, int64_t v)
{
    g->v = v;
    if (v > g->max)
        g->max = v;
}

/* A value computed once, at the end of a run (throughput, utilisation). */
struct orr_value {
    double v;
};

/* Log-linear histogram of uint64 values (HdrHistogram-like): values below
 * 128 are exact, above that each power of two is split into 64 buckets, so a
 * reported percentile is within 1/64 (1.6 %) above the true value and never
 * outside [min, max]. 3,776 buckets, allocated on first use. */
#define ORR_HIST_BUCKETS 3776
struct orr_histogram {
    uint64_t count, min, max;
    unsigned __int128 sum;
    uint64_t *aBucket;
};

void orr_histogram_init(struct orr_histogram *h);
void orr_histogram_free(struct orr_histogram *h);
void orr_histogram_add(struct orr_histogram *h, uint64_t v);
/* Smallest bucket upper bound u such that at least ppm/1e6 of the values
 * are <= u, clamped to [min, max]. 0 if empty. ppm in 0..1000000. */
uint64_t orr_histogram_quantile(const struct orr_histogram *h, uint32_t ppm);
double orr_histogram_mean(const struct orr_histogram *h);
void orr_histogram_merge(struct orr_histogram *into, const struct orr_histogram *from);

/* Registration, from a component's create op. Names are local to the
 * component ("rx_packets"); unit is free text ("pkt", "B", "ps"). Name,
 * kind and unit must match an entry of the type's `metrics` table, or the
 * engine aborts naming the nearest entry. The returned object lives as
 * long as the simulation. Never NULL (aborts on out-of-memory: a
 * simulation cannot continue without its stats). */
struct orr_counter *orr_counter_new(struct orr_component *c, const char *name, const char *unit);
struct orr_gauge *orr_gauge_new(struct orr_component *c, const char *name, const char *unit);
struct orr_value *orr_value_new(struct orr_component *c, const char *name, const char *unit);
struct orr_histogram *orr_histogram_new(struct orr_component *c, const char *name,
                                        const char *unit);

#endif
