/* router: forwards coherence messages (include/orrery/coh.h) by their
 * destination agent. One per socket in a machine: cores and homes attach
 * to it, and routers of different sockets are joined by the NUMA links
 * (scenario links, whose latency and bandwidth are the interconnect's).
 *
 * A message spends `latency` inside, plus a seeded random 0..`jitter` (a
 * testing knob: the protocols assume no ordering, and jitter makes messages
 * overtake each other), charged as extra delay on the outgoing link, so a
 * hop costs one event. A busy output link holds messages in a FIFO per
 * output port; its depth is a stat. */
#include <stdlib.h>
#include <string.h>

#include "hw/numa.h"
#include "orrery/coh.h"
#include "orrery/outq.h"
#include "orrery/checkpoint.h"
#include "orrery/sim.h"

const struct orr_param router_jitter_params[] = {
    {"jitter", ORR_P_TIME, "0ps", 0,
     "testing: a random extra delay per message at each router, uniform in [0, jitter]"},
    {NULL},
};

static const struct orr_param router_params[] = {
    {"ports", ORR_P_UINT, NULL, ORR_PF_POSITIVE,
     "ports toward the socket's cores, home, expanders and the other routers: p0..p<N-1>", NULL,
     1, 1024},
    {"routes", ORR_P_UINTS, NULL, ORR_PF_NONEMPTY,
     "output port for each agent id, in agent order (e.g. [0, 1, 2, 2])"},
    {"latency", ORR_P_TIME, "1ns", 0, "forwarding delay"},
    {"", ORR_P_INCLUDE, .group = router_jitter_params},
    {NULL},
};

static const struct orr_port_doc router_ports[] = {
    {"p<N>", "a core, a home or another router"},
    {NULL},
};

struct router {
    uint32_t nPort;
    struct orr_port **aPort;
    struct orr_outq *aQ;
    uint16_t *aRoute;
    size_t nRoute;
    orr_time_t latency, jitter;
    struct orr_counter *fwd;
    struct orr_gauge *depth;
    size_t queued;
};

static int router_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct router *r = c->state;
    r->nPort = (uint32_t)orr_param_u64(p, "ports");
    r->latency = orr_param_u64(p, "latency");
    r->jitter = orr_param_u64(p, "jitter");
    size_t n;
    const uint64_t *routes = orr_param_uints(p, "routes", &n);
    r->aRoute = calloc(n, sizeof *r->aRoute);
    r->aPort = calloc(r->nPort, sizeof *r->aPort);
    r->aQ = calloc(r->nPort, sizeof *r->aQ);
    if (!r->aRoute || !r->aPort || !r->aQ)
        return ORR_ENOMEM;
    r->nRoute = n;
    for (size_t i = 0; i < n; i++) {
        if (routes[i] >= r->nPort) {
            orr_diag_error(d, orr_param_mark(p, "routes"), c->keypath,
                           "routes[%zu] = %llu: expected a port number below %u", i,
                           (unsigned long long)routes[i], r->nPort);
            return ORR_ESCHEMA;
        }
        r->aRoute[i] = (uint16_t)routes[i];
    }
    for (uint32_t i = 0; i < r->nPort; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%u", i);
        r->aPort[i] = orr_port_add(c, name);
    }
    r->fwd = orr_counter_new(c, "forwarded", "msg");
    r->depth = orr_gauge_new(c, "queued", "msg");
    return 0;
}

static void forward(struct orr_component *c, uint32_t out, const struct orr_msg *m,
                    orr_time_t delay)
{
    struct router *r = c->state;
    struct orr_outq *q = &r->aQ[out];
    if (orr_outq_len(q) == 0 && orr_port_send(r->aPort[out], m, delay) != ORR_EBUSY)
        return;
    orr_outq_push(q, m, 0); /* it will have waited longer than the hop */
    r->queued++;
    orr_gauge_set(r->depth, (int64_t)r->queued);
}

static void router_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct router *r = c->state;
    if (ev->kind == ORR_TK_MSG) {
        unsigned dst = orr_coh_dst(ev->data[1]);
        if (dst >= r->nRoute) {
            orr_sim_fail(c, "no route to agent %u (routes cover %zu agents)", dst, r->nRoute);
            return;
        }
        struct orr_msg m = {ev->size, {ev->data[0], ev->data[1]}};
        orr_time_t delay = r->latency + (r->jitter ? orr_rng_below(&c->rng, r->jitter + 1) : 0);
        r->fwd->v++;
        forward(c, r->aRoute[dst], &m, delay);
    } else if (ev->kind == ORR_TK_READY) {
        struct orr_outq *q = &r->aQ[ev->port];
        size_t before = orr_outq_len(q);
        orr_outq_drain(q, r->aPort[ev->port]);
        r->queued -= before - orr_outq_len(q);
        orr_gauge_set(r->depth, (int64_t)r->queued);
    }
}

static int router_start(struct orr_component *c, struct orr_diag *d)
{
    struct router *r = c->state;
    for (size_t i = 0; i < r->nRoute; i++)
        if (!orr_port_peer(r->aPort[r->aRoute[i]])) {
            orr_diag_error(d, &c->mark, c->keypath, "route for agent %zu uses port p%u, which is not linked",
                           i, r->aRoute[i]);
            return ORR_ESCHEMA;
        }
    return 0;
}

static void router_destroy(struct orr_component *c)
{
    struct router *r = c->state;
    for (uint32_t i = 0; r->aQ && i < r->nPort; i++)
        orr_outq_free(&r->aQ[i]);
    free(r->aQ);
    free(r->aPort);
    free(r->aRoute);
}

/* Dynamic state: the messages waiting for each output link. */
static void router_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct router *r = c->state;
    orr_ckpt_put_u64(w, r->queued);
    for (uint32_t i = 0; i < r->nPort; i++)
        orr_ckpt_put_outq(w, &r->aQ[i]);
}

static void router_restore(struct orr_component *c, struct orr_ckpt_reader *rd)
{
    struct router *r = c->state;
    r->queued = orr_ckpt_get_u64(rd);
    for (uint32_t i = 0; i < r->nPort; i++)
        orr_ckpt_get_outq(rd, &r->aQ[i]);
}

static const struct orr_metric_doc router_metrics[] = {
    {"forwarded", "msg", ORR_METRIC_COUNTER, "coherence messages forwarded"},
    {"queued", "msg", ORR_METRIC_GAUGE, "messages waiting for busy output links"},
    {NULL},
};

const struct orr_component_type orr_router_type = {
    .name = "router",
    .summary = "forwards coherence messages by destination agent (a socket's interconnect)",
    .params = router_params,
    .ports = router_ports,
    .metrics = router_metrics,
    .state_size = sizeof(struct router),
    .create = router_create,
    .start = router_start,
    .handle = router_handle,
    .destroy = router_destroy,
    .save = router_save,
    .restore = router_restore,
};
