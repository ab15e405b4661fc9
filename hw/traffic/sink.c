/* sink: receives packets and measures them: count, bytes, end-to-end latency
 * (creation at the source to arrival here), throughput, and packets that
 * arrive out of order per source. */
#include <stdlib.h>

#include "hw/registry.h"
#include "orrery/sim.h"
#include "packet.h"

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
    orr_time_t *aLast; /* per source component id: latest creation time seen */
    size_t nSrc;
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

static int sink_start(struct orr_component *c, struct orr_diag *d)
{
    struct sink *k = c->state;
    (void)d;
    k->nSrc = orr_sim_component_count(c->sim);
    k->aLast = calloc(k->nSrc, sizeof *k->aLast);
    if (!k->aLast)
        abort();
    return 0;
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
    if (src < k->nSrc) {
        if (ev->data[0] < k->aLast[src])
            k->reordered->v++;
        else
            k->aLast[src] = ev->data[0];
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
    free(k->aLast);
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
    .start = sink_start,
    .handle = sink_handle,
    .finish = sink_finish,
    .destroy = sink_destroy,
};
