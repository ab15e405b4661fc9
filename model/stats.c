/* Histograms with percentiles (log-linear buckets). Registration of stats
 * against components lives in sim.c, which owns the registry. */
#include "orrery/stats.h"
#include "orrery/error.h"

#include <stdlib.h>
#include <string.h>

/* Bucket layout: values 0..127 map to themselves. A value v >= 128 with
 * bit length e+1 (e = floor(log2 v) >= 7) keeps its top 7 bits t in
 * [64, 128); index = 128 + (e - 7) * 64 + (t - 64). The largest index is
 * 128 + 56*64 + 63 = 3775, hence ORR_HIST_BUCKETS = 3776. */
static unsigned bucket_of(uint64_t v)
{
    if (v < 128)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    uint64_t t = v >> (e - 6);
    return 128u + (e - 7u) * 64u + (unsigned)(t - 64u);
}

/* Largest value that falls in bucket b. */
static uint64_t bucket_high(unsigned b)
{
    if (b < 128)
        return b;
    unsigned e = (b - 128u) / 64u + 7u;
    uint64_t t = (b - 128u) % 64u + 64u;
    uint64_t low = t << (e - 6);
    return low + ((1ull << (e - 6)) - 1);
}

void orr_histogram_init(struct orr_histogram *h)
{
    memset(h, 0, sizeof *h);
}

void orr_histogram_free(struct orr_histogram *h)
{
    free(h->aBucket);
    h->aBucket = NULL;
}

void orr_histogram_add(struct orr_histogram *h, uint64_t v)
{
    if (!h->aBucket) {
        h->aBucket = calloc(ORR_HIST_BUCKETS, sizeof *h->aBucket);
        if (!h->aBucket)
            orr_oom(); /* stats cannot be dropped silently */
    }
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += v;
    h->aBucket[bucket_of(v)]++;
}

uint64_t orr_histogram_quantile(const struct orr_histogram *h, uint32_t ppm)
{
    if (h->count == 0)
        return 0;
    if (ppm > 1000000)
        ppm = 1000000;
    /* rank = ceil(count * ppm / 1e6), at least 1 */
    unsigned __int128 num = (unsigned __int128)h->count * ppm;
    uint64_t rank = (uint64_t)((num + 999999) / 1000000);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < ORR_HIST_BUCKETS; b++) {
        seen += h->aBucket[b];
        if (seen >= rank) {
            uint64_t v = bucket_high(b);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

double orr_histogram_mean(const struct orr_histogram *h)
{
    if (h->count == 0)
        return 0.0;
    return (double)h->sum / (double)h->count;
}

void orr_histogram_merge(struct orr_histogram *into, const struct orr_histogram *from)
{
    if (from->count == 0)
        return;
    if (!into->aBucket) {
        into->aBucket = calloc(ORR_HIST_BUCKETS, sizeof *into->aBucket);
        if (!into->aBucket)
            orr_oom();
    }
    if (into->count == 0 || from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
    into->count += from->count;
    into->sum += from->sum;
    for (unsigned b = 0; b < ORR_HIST_BUCKETS; b++)
        into->aBucket[b] += from->aBucket[b];
}
