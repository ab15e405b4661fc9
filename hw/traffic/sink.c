/* sink: receives packets and measures them: count, bytes, end-to-end latency
 * (creation at the source to arrival here), throughput, and packets that
 * arrive out of order per source. */
#include <stdlib.h>

#include "hw/registry.h"
#include "orrery/checkpoint.h"
#include "orrery/sim.h"
#include "packet.h"
#include "orrery/error.h"

static const struct orr_param sink_params[] = {
    {NULL},
};

static const struct orr_port_doc sink_ports[] = {
    {"in", "packets arrive here"},
    {NULL},
};

struct sink {
    struct orr_port *in;
    struct orr_counter *rx, *rx_bytes, *reordered, *misdelivered;
    struct orr_histogram *latency;
    struct orr_value *throughput;
    /* per source that has sent here: the latest creation time seen. A hash
     * table of the sources seen, not an array over every component, so N
     * sinks cost O(N) memory, not O(N^2). Only looked up, never iterated. */
    struct src_last *aSrc; /* cap entries, src UINT32_MAX = free */
    size_t nSrc, capSrc;   /* used, room (a power of two, nSrc <= capSrc / 2) */
};

static int sink_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct sink *k = c->state;
    (void)p;
    (void)d;
    k->in = orr_port_add(c, "in");
    k->rx = orr_counter_new(c, "rx_packets", "pkt");
    k->rx_bytes = orr_counter_new(c, "rx_bytes", "B");
    k->reordered = orr_counter_new(c, "reordered", "pkt");
    k->misdelivered = orr_counter_new(c, "misdelivered", "pkt");
    k->latency = orr_histogram_new(c, "latency", "ps");
    k->throughput = orr_value_new(c, "throughput", "bit/s");
    return 0;
}

struct src_last {
    uint32_t src;
    orr_time_t last;
};

static size_t src_slot(const struct src_last *a, size_t cap, uint32_t src)
{
    size_t i = (size_t)(src * UINT32_C(2654435761)) & (cap - 1);
    while (a[i].src != UINT32_MAX && a[i].src != src)
        i = (i + 1) & (cap - 1);
    return i;
}

/* The entry of src, added (last 0) when new. */
static struct src_last *src_entry(struct sink *k, uint32_t src)
{
    if (2 * (k->nSrc + 1) > k->capSrc) {
        size_t cap = k->capSrc ? 2 * k->capSrc : 8;
        struct src_last *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (size_t i = 0; i < cap; i++)
            a[i].src = UINT32_MAX;
        for (size_t i = 0; i < k->capSrc; i++)
            if (k->aSrc[i].src != UINT32_MAX)
                a[src_slot(a, cap, k->aSrc[i].src)] = k->aSrc[i];
        free(k->aSrc);
        k->aSrc = a;
        k->capSrc = cap;
    }
    struct src_last *e = &k->aSrc[src_slot(k->aSrc, k->capSrc, src)];
    if (e->src == UINT32_MAX) {
        *e = (struct src_last){src, 0};
        k->nSrc++;
    }
    return e;
}

static void sink_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct sink *k = c->state;
    if (ev->kind != ORR_TK_MSG)
        return;
    k->rx->v++;
    k->rx_bytes->v += ev->size;
    orr_histogram_add(k->latency, orr_now(c->sim) - ev->data[0]);
    if (pkt_dst(ev->data) != c->id)
        k->misdelivered->v++;
    uint32_t src = pkt_src(ev->data);
    if (src < orr_sim_component_count(c->sim)) {
        struct src_last *e = src_entry(k, src);
        if (ev->data[0] < e->last)
            k->reordered->v++;
        else
            e->last = ev->data[0];
    }
}

static void sink_finish(struct orr_component *c)
{
    struct sink *k = c->state;
    orr_time_t now = orr_now(c->sim);
    k->throughput->v = now ? (double)k->rx_bytes->v * 8.0 * 1e12 / (double)now : 0.0;
}

static void sink_destroy(struct orr_component *c)
{
    struct sink *k = c->state;
    free(k->aSrc);
}

/* Dynamic state: the latest creation time seen per source. The table is
 * only looked up, so re-inserting its entries in any order restores it. */
static void sink_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct sink *k = c->state;
    orr_ckpt_put_u64(w, k->nSrc);
    for (size_t i = 0; i < k->capSrc; i++)
        if (k->aSrc[i].src != UINT32_MAX) {
            orr_ckpt_put_u32(w, k->aSrc[i].src);
            orr_ckpt_put_u64(w, k->aSrc[i].last);
        }
}

static void sink_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct sink *k = c->state;
    free(k->aSrc);
    k->aSrc = NULL;
    k->nSrc = k->capSrc = 0;
    uint64_t n = orr_ckpt_get_count(r, 12);
    for (uint64_t i = 0; i < n && orr_ckpt_ok(r); i++) {
        uint32_t src = orr_ckpt_get_u32(r);
        orr_time_t last = orr_ckpt_get_u64(r);
        if (src == UINT32_MAX)
            orr_ckpt_fail(r, "a sink's source id is out of range");
        else if (orr_ckpt_ok(r))
            src_entry(k, src)->last = last;
    }
}

static const struct orr_metric_doc sink_metrics[] = {
    {"rx_packets", "pkt", ORR_METRIC_COUNTER, "packets received"},
    {"rx_bytes", "B", ORR_METRIC_COUNTER, "bytes received"},
    {"reordered", "pkt", ORR_METRIC_COUNTER,
     "packets arriving after a later one from the same source"},
    {"misdelivered", "pkt", ORR_METRIC_COUNTER, "packets addressed to another component"},
    {"latency", "ps", ORR_METRIC_HISTOGRAM,
     "end-to-end latency: creation at the source to arrival here"},
    {"throughput", "bit/s", ORR_METRIC_VALUE, "bits received per second of simulated time"},
    {NULL},
};

const struct orr_component_type orr_sink_type = {
    .name = "sink",
    .summary = "packet sink measuring latency, throughput and reordering",
    .params = sink_params,
    .ports = sink_ports,
    .metrics = sink_metrics,
    .state_size = sizeof(struct sink),
    .create = sink_create,
    .handle = sink_handle,
    .finish = sink_finish,
    .destroy = sink_destroy,
    .save = sink_save,
    .restore = sink_restore,
};
