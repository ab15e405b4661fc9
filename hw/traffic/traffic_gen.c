/* traffic_gen: a packet source. Emits `count` packets (or forever) with
 * Poisson or constant gaps to destinations picked uniformly from `dests`,
 * queueing up to `queue` packets while its link is busy and dropping beyond
 * that. A workload: it is done once every packet has left or been dropped. */
#include <stdlib.h>
#include <string.h>

#include "hw/registry.h"
#include "orrery/checkpoint.h"
#include "orrery/sim.h"
#include "packet.h"
#include "orrery/error.h"

enum { PATTERN_POISSON, PATTERN_CONSTANT };
enum { TIMER_EMIT = 1 };

static const char *const patterns[] = {"poisson", "constant", NULL};

static const struct orr_param gen_params[] = {
    {"interval", ORR_P_TIME, "1us", ORR_PF_POSITIVE, "mean gap between packets"},
    {"pattern", ORR_P_ENUM, "poisson", 0, "gap distribution", patterns},
    {"size", ORR_P_SIZE, "1500B", ORR_PF_POSITIVE, "packet size", NULL, 1, 16u << 20},
    {"count", ORR_P_UINT, "0", 0, "packets to send; 0 sends until the run stops"},
    {"dests", ORR_P_LIST, NULL, ORR_PF_NONEMPTY, "sink components to send to (uniform choice)"},
    {"start", ORR_P_TIME, "0ns", 0, "time of the first packet"},
    {"queue", ORR_P_UINT, "64", ORR_PF_POSITIVE, "packets buffered while the link is busy",
     NULL, 1, 1u << 20},
    {NULL},
};

static const struct orr_port_doc gen_ports[] = {
    {"out", "packets leave here"},
    {NULL},
};

struct gen {
    struct orr_port *out;
    orr_time_t interval, start;
    unsigned pattern;
    uint32_t size;
    uint64_t count, made;
    size_t nDest;
    uint32_t *aDest;
    const char *const *aDestName;
    const struct orr_mark *dests_mark;
    struct pkt_fifo q;
    struct orr_counter *tx_packets, *tx_bytes, *drops;
    struct orr_gauge *queued;
};

static int gen_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct gen *g = c->state;
    (void)d;
    g->out = orr_port_add(c, "out");
    g->interval = orr_param_u64(p, "interval");
    g->pattern = orr_param_enum(p, "pattern");
    g->size = (uint32_t)orr_param_u64(p, "size");
    g->count = orr_param_u64(p, "count");
    g->start = orr_param_u64(p, "start");
    g->aDestName = orr_param_list(p, "dests", &g->nDest);
    g->dests_mark = orr_param_mark(p, "dests");
    g->q.limit_pkts = (size_t)orr_param_u64(p, "queue");
    g->tx_packets = orr_counter_new(c, "tx_packets", "pkt");
    g->tx_bytes = orr_counter_new(c, "tx_bytes", "B");
    g->drops = orr_counter_new(c, "drops", "pkt");
    g->queued = orr_gauge_new(c, "queue_depth", "pkt");
    return 0;
}

static orr_time_t next_gap(struct orr_component *c, struct gen *g)
{
    if (g->pattern == PATTERN_CONSTANT)
        return g->interval;
    return orr_rng_exp(&c->rng, g->interval);
}

static int gen_start(struct orr_component *c, struct orr_diag *d)
{
    struct gen *g = c->state;
    int rc = 0;
    if (!g->out->link) {
        orr_diag_error(d, &c->mark, c->keypath,
                       "port 'out' is not linked (add a links entry from %s.out)", c->path);
        rc = ORR_ESCHEMA;
    }
    g->aDest = calloc(g->nDest, sizeof *g->aDest);
    if (!g->aDest)
        orr_oom();
    for (size_t i = 0; i < g->nDest; i++) {
        struct orr_component *dst = orr_sim_find(c->sim, g->aDestName[i]);
        if (!dst) {
            orr_diag_error(d, g->dests_mark, c->keypath, "dests names unknown component '%s'",
                           g->aDestName[i]);
            rc = ORR_ESCHEMA;
            continue;
        }
        g->aDest[i] = dst->id;
    }
    if (rc == 0 && g->count == 0 && g->nDest)
        orr_workload_done(c); /* an endless source never holds the run open */
    if (rc == 0)
        orr_timer(c, g->start, TIMER_EMIT, 0, 0);
    return rc;
}

static void gen_maybe_done(struct orr_component *c, struct gen *g)
{
    if (g->count && g->made == g->count && g->q.n == 0)
        orr_workload_done(c);
}

static void gen_emit(struct orr_component *c, struct gen *g)
{
    uint32_t dst = g->aDest[g->nDest == 1 ? 0 : orr_rng_below(&c->rng, g->nDest)];
    struct orr_msg m = {
        .size = g->size,
        .data = {orr_now(c->sim), (uint64_t)c->id << 32 | dst},
    };
    g->made++;
    if (g->q.n == 0 && orr_port_send(g->out, &m, 0) == 0) {
        g->tx_packets->v++;
        g->tx_bytes->v += m.size;
    } else if (!pkt_fifo_push(&g->q, &m)) {
        g->drops->v++;
    }
    orr_gauge_set(g->queued, (int64_t)g->q.n);
    if (g->count == 0 || g->made < g->count)
        orr_timer(c, next_gap(c, g), TIMER_EMIT, 0, 0);
    gen_maybe_done(c, g);
}

static void gen_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct gen *g = c->state;
    if (ev->kind == ORR_TK_TIMER) {
        gen_emit(c, g);
    } else if (ev->kind == ORR_TK_READY) {
        uint64_t before = g->q.bytes;
        size_t sent = pkt_fifo_drain(&g->q, g->out);
        g->tx_packets->v += sent;
        g->tx_bytes->v += before - g->q.bytes;
        orr_gauge_set(g->queued, (int64_t)g->q.n);
        gen_maybe_done(c, g);
    }
    /* a generator ignores anything arriving on `out` */
}

static void gen_destroy(struct orr_component *c)
{
    struct gen *g = c->state;
    free(g->aDest);
    pkt_fifo_free(&g->q);
}

/* Dynamic state: packets made so far and the queue in front of the link. */
static void gen_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct gen *g = c->state;
    orr_ckpt_put_u64(w, g->made);
    pkt_fifo_save(&g->q, w);
}

static void gen_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct gen *g = c->state;
    g->made = orr_ckpt_get_u64(r);
    pkt_fifo_restore(&g->q, r);
}

static const struct orr_metric_doc gen_metrics[] = {
    {"tx_packets", "pkt", ORR_METRIC_COUNTER, "packets sent"},
    {"tx_bytes", "B", ORR_METRIC_COUNTER, "bytes sent"},
    {"drops", "pkt", ORR_METRIC_COUNTER, "packets dropped because the queue was full"},
    {"queue_depth", "pkt", ORR_METRIC_GAUGE, "packets waiting for the link"},
    {NULL},
};

const struct orr_component_type orr_traffic_gen_type = {
    .name = "traffic_gen",
    .summary = "packet source with Poisson or constant gaps (a workload)",
    .params = gen_params,
    .ports = gen_ports,
    .metrics = gen_metrics,
    .state_size = sizeof(struct gen),
    .workload = true,
    .create = gen_create,
    .start = gen_start,
    .handle = gen_handle,
    .destroy = gen_destroy,
    .save = gen_save,
    .restore = gen_restore,
};
