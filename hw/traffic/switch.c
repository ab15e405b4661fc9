/* switch: an output-queued packet switch. A packet arriving on any port is
 * forwarded after `latency` to the output port that leads to its
 * destination, where it waits in a drop-tail queue of `queue` bytes for the
 * link. Routes: a destination directly linked to a port is reached through
 * that port; `routes` adds or overrides entries (destination -> port); the
 * rest go to `default_port`, or are dropped as unroutable.
 *
 * Faults: port_down {port} drops everything queued for and later routed to
 * the port; port_up {port} restores it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/registry.h"
#include "orrery/checkpoint.h"
#include "orrery/sim.h"
#include "packet.h"
#include "orrery/error.h"

enum { TIMER_FORWARD = 1 };
enum { DROP_QUEUE = 1, DROP_NOROUTE = 2, DROP_DOWN = 3 };

static const struct orr_param switch_params[] = {
    {"ports", ORR_P_UINT, "4", ORR_PF_POSITIVE, "number of ports, named p0..p<N-1>", NULL, 1, 256},
    {"latency", ORR_P_TIME, "100ns", 0, "forwarding latency from input to output queue"},
    {"queue", ORR_P_SIZE, "64KiB", ORR_PF_POSITIVE, "bytes of buffering per output port"},
    {"routes", ORR_P_MAP, "{}", 0, "destination component -> output port number"},
    {"default_port", ORR_P_INT, "-1", 0, "port for destinations without a route; -1 drops them"},
    {NULL},
};

static const struct orr_port_doc switch_ports[] = {
    {"p<N>", "bidirectional port N, 0 <= N < ports"},
    {NULL},
};

static const struct orr_param port_fault_params[] = {
    {"port", ORR_P_UINT, NULL, 0, "port number"},
    {NULL},
};

/* explore: a port goes down on a drawn port and comes back after a drawn outage */
static const struct orr_fault_draw port_draws[] = {
    {"port", ORR_FD_PORT, 0, 0},
    {NULL},
};
static const struct orr_fault_explore port_down_explore = {
    .min_interval = (1 * ORR_US), .recover = "port_up",
    .min_duration = (100 * ORR_NS), .max_duration = (10 * ORR_MS), .draws = port_draws};
static const struct orr_fault_desc switch_faults[] = {
    {"port_down", "drop everything queued for and routed to the port", port_fault_params,
     &port_down_explore},
    {"port_up", "bring the port back", port_fault_params},
    {NULL},
};

struct route {
    uint32_t dst;
    uint16_t port;
};

struct out_port {
    struct orr_port *port;
    struct pkt_fifo q;
    bool down;
    struct orr_gauge *depth;
};

struct sw {
    unsigned nPort;
    struct out_port *aOut;
    orr_time_t latency;
    int64_t default_port;
    const struct orr_node *routes;
    struct route *aRoute; /* sorted by dst */
    size_t nRoute;
    struct orr_counter *rx, *fwd, *drop_queue, *drop_noroute, *drop_down;
    uint16_t tk_drop;
};

static int sw_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct sw *s = c->state;
    s->nPort = (unsigned)orr_param_u64(p, "ports");
    s->latency = orr_param_u64(p, "latency");
    s->default_port = orr_param_int(p, "default_port");
    s->routes = orr_param_map(p, "routes");
    if (s->default_port < -1 || s->default_port >= (int64_t)s->nPort) {
        orr_diag_error(d, orr_param_mark(p, "default_port"), c->keypath,
                       "default_port %lld is not a port (0..%u, or -1)",
                       (long long)s->default_port, s->nPort - 1);
        return ORR_ESCHEMA;
    }
    s->aOut = calloc(s->nPort, sizeof *s->aOut);
    if (!s->aOut)
        orr_oom();
    uint64_t qbytes = orr_param_u64(p, "queue");
    for (unsigned i = 0; i < s->nPort; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%u", i);
        s->aOut[i].port = orr_port_add(c, name);
        s->aOut[i].q.limit_bytes = qbytes;
        snprintf(name, sizeof name, "p%u.queue_bytes", i);
        s->aOut[i].depth = orr_gauge_new(c, name, "B");
    }
    s->rx = orr_counter_new(c, "rx_packets", "pkt");
    s->fwd = orr_counter_new(c, "fwd_packets", "pkt");
    s->drop_queue = orr_counter_new(c, "drops_queue_full", "pkt");
    s->drop_noroute = orr_counter_new(c, "drops_no_route", "pkt");
    s->drop_down = orr_counter_new(c, "drops_port_down", "pkt");
    s->tk_drop = orr_trace_kind(c, "switch.drop");
    return 0;
}

static int route_cmp(const void *a, const void *b)
{
    const struct route *x = a, *y = b;
    return x->dst < y->dst ? -1 : x->dst > y->dst;
}

static void route_set(struct sw *s, uint32_t dst, uint16_t port)
{
    for (size_t i = 0; i < s->nRoute; i++)
        if (s->aRoute[i].dst == dst) {
            s->aRoute[i].port = port;
            return;
        }
    s->aRoute[s->nRoute++] = (struct route){dst, port};
}

/* Build the routing table: attached neighbours first, then `routes`. */
static int sw_start(struct orr_component *c, struct orr_diag *d)
{
    struct sw *s = c->state;
    size_t nmax = s->nPort + (s->routes ? s->routes->n : 0);
    int rc = 0;
    s->aRoute = calloc(nmax ? nmax : 1, sizeof *s->aRoute);
    if (!s->aRoute)
        orr_oom();
    for (unsigned i = 0; i < s->nPort; i++) {
        struct orr_port *peer = orr_port_peer(s->aOut[i].port);
        if (peer)
            route_set(s, peer->owner->id, (uint16_t)i);
    }
    for (size_t i = 0; s->routes && i < s->routes->n; i++) {
        const struct orr_node *v = s->routes->aItem[i];
        struct orr_component *dst = orr_sim_find(c->sim, s->routes->aKey[i]);
        char *end = NULL;
        unsigned long port = v->kind == ORR_NODE_SCALAR ? strtoul(v->scalar, &end, 10) : 0;
        if (!dst) {
            orr_diag_error(d, &s->routes->aKeyMark[i], c->keypath,
                           "routes names unknown component '%s'", s->routes->aKey[i]);
            rc = ORR_ESCHEMA;
        } else if (v->kind != ORR_NODE_SCALAR || !*v->scalar || *end || port >= s->nPort) {
            orr_diag_error(d, &v->mark, c->keypath, "route to '%s' must be a port number 0..%u",
                           s->routes->aKey[i], s->nPort - 1);
            rc = ORR_ESCHEMA;
        } else {
            route_set(s, dst->id, (uint16_t)port);
        }
    }
    qsort(s->aRoute, s->nRoute, sizeof *s->aRoute, route_cmp);
    return rc;
}

static int sw_lookup(const struct sw *s, uint32_t dst)
{
    struct route key = {dst, 0};
    const struct route *r = bsearch(&key, s->aRoute, s->nRoute, sizeof *s->aRoute, route_cmp);
    return r ? r->port : (int)s->default_port;
}

static void sw_drop(struct orr_component *c, struct sw *s, const struct orr_msg *m, int why)
{
    struct orr_counter *ctr = why == DROP_QUEUE ? s->drop_queue
                              : why == DROP_DOWN ? s->drop_down
                                                 : s->drop_noroute;
    ctr->v++;
    orr_trace_point(c, s->tk_drop, pkt_dst(m->data), (uint64_t)why);
}

static void sw_forward(struct orr_component *c, struct sw *s, const struct orr_msg *m)
{
    int port = sw_lookup(s, pkt_dst(m->data));
    if (port < 0) {
        sw_drop(c, s, m, DROP_NOROUTE);
        return;
    }
    struct out_port *o = &s->aOut[port];
    if (o->down || !o->port->link) {
        sw_drop(c, s, m, o->down ? DROP_DOWN : DROP_NOROUTE);
        return;
    }
    if (o->q.n == 0 && orr_port_send(o->port, m, 0) == 0) {
        s->fwd->v++;
        return;
    }
    if (!pkt_fifo_push(&o->q, m))
        sw_drop(c, s, m, DROP_QUEUE);
    orr_gauge_set(o->depth, (int64_t)o->q.bytes);
}

static void sw_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct sw *s = c->state;
    switch (ev->kind) {
    case ORR_TK_MSG:
        s->rx->v++;
        /* hold the packet for the forwarding latency */
        orr_timer_msg(c, s->latency, TIMER_FORWARD,
                      &(struct orr_msg){ev->size, {ev->data[0], ev->data[1]}});
        break;
    case ORR_TK_TIMER:
        sw_forward(c, s, &(struct orr_msg){ev->size, {ev->data[0], ev->data[1]}});
        break;
    case ORR_TK_READY: {
        struct out_port *o = &s->aOut[ev->port];
        s->fwd->v += pkt_fifo_drain(&o->q, o->port);
        orr_gauge_set(o->depth, (int64_t)o->q.bytes);
        break;
    }
    default:
        break;
    }
}

static void sw_fault(struct orr_component *c, unsigned fault, const struct orr_params *p)
{
    struct sw *s = c->state;
    struct out_port *o = &s->aOut[orr_param_u64(p, "port")];
    if (fault == 0) { /* port_down */
        o->down = true;
        s->drop_down->v += o->q.n;
        pkt_fifo_clear(&o->q);
        orr_gauge_set(o->depth, 0);
    } else {
        o->down = false;
    }
}

static int sw_fault_check(struct orr_component *c, unsigned fault, const struct orr_params *p,
                          const struct orr_mark *mark, struct orr_diag *d)
{
    const struct sw *s = c->state;
    (void)fault;
    if (orr_param_u64(p, "port") >= s->nPort) {
        orr_diag_error(d, mark, c->keypath, "fault port %llu is not a port of '%s' (0..%u)",
                       (unsigned long long)orr_param_u64(p, "port"), c->path, s->nPort - 1);
        return ORR_ESCHEMA;
    }
    return 0;
}

static void sw_destroy(struct orr_component *c)
{
    struct sw *s = c->state;
    for (unsigned i = 0; s->aOut && i < s->nPort; i++)
        pkt_fifo_free(&s->aOut[i].q);
    free(s->aOut);
    free(s->aRoute);
}

/* Dynamic state: each output's queue and whether it is down (routes are
 * fixed at start). */
static void sw_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct sw *s = c->state;
    for (unsigned i = 0; i < s->nPort; i++) {
        orr_ckpt_put_u8(w, s->aOut[i].down);
        pkt_fifo_save(&s->aOut[i].q, w);
    }
}

static void sw_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct sw *s = c->state;
    for (unsigned i = 0; i < s->nPort; i++) {
        s->aOut[i].down = orr_ckpt_get_u8(r) != 0;
        pkt_fifo_restore(&s->aOut[i].q, r);
    }
}

static const struct orr_metric_doc switch_metrics[] = {
    {"p<N>.queue_bytes", "B", ORR_METRIC_GAUGE, "bytes queued for output port N"},
    {"rx_packets", "pkt", ORR_METRIC_COUNTER, "packets received on any port"},
    {"fwd_packets", "pkt", ORR_METRIC_COUNTER, "packets sent out of an output port"},
    {"drops_queue_full", "pkt", ORR_METRIC_COUNTER, "packets dropped: output queue full"},
    {"drops_no_route", "pkt", ORR_METRIC_COUNTER, "packets dropped: no route and no default port"},
    {"drops_port_down", "pkt", ORR_METRIC_COUNTER, "packets dropped: output port down (port_down)"},
    {NULL},
};

const struct orr_component_type orr_switch_type = {
    .name = "switch",
    .summary = "output-queued packet switch with drop-tail queues and static routes",
    .params = switch_params,
    .ports = switch_ports,
    .faults = switch_faults,
    .metrics = switch_metrics,
    .state_size = sizeof(struct sw),
    .create = sw_create,
    .start = sw_start,
    .handle = sw_handle,
    .fault = sw_fault,
    .fault_check = sw_fault_check,
    .destroy = sw_destroy,
    .save = sw_save,
    .restore = sw_restore,
};
