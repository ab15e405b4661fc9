/* Statistics owned by components: counters, gauges, final values and
 * histograms with percentiles. The simulation keeps a registry of them in
 * registration order; at the end of a run they become metrics
 * ("component.path.name") for the summary table, the trace footer and the
 * results database. All values are integers until they are reported, so
 * stats never depend on floating-point behaviour during the run. */
#ifndef ORRERY_STATS_H
#define ORRERY_STATS_H

#include <stddef.h>
#include <stdint.h>

struct orr_component;

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
 * component ("rx_packets"); unit is free text ("pkt", "B", "ps"). The
 * returned object lives as long as the simulation. Never NULL (aborts on
 * out-of-memory: a simulation cannot continue without its stats). */
struct orr_counter *orr_counter_new(struct orr_component *c, const char *name, const char *unit);
struct orr_gauge *orr_gauge_new(struct orr_component *c, const char *name, const char *unit);
struct orr_value *orr_value_new(struct orr_component *c, const char *name, const char *unit);
struct orr_histogram *orr_histogram_new(struct orr_component *c, const char *name,
                                        const char *unit);

#endif
