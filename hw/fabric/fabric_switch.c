/* fabric_switch: the cluster fabric's output-queued, store-and-forward
 * switch (docs/fabric.md). Packets follow include/orrery/net.h.
 *
 * Path of a data packet arriving on port i:
 *   1. arrival (fully received: the link delivers after serialisation);
 *      its bytes are charged to ingress account (i, prio) for PFC
 *   2. after `latency`, route: the routing table maps dst -> an ECMP set of
 *      output ports; net_ecmp_pick(header, salt, n) picks one. A down port
 *      is replaced by a pick among the set's up ports; none up: dropped.
 *   3. enqueue on output o, class prio: dropped if o's buffer (bytes, all
 *      classes) would overflow (drop-tail); ECN-marked if the bytes already
 *      queued at o exceed ecn_threshold
 *   4. transmit: strict priority (class 7 first) among classes not paused
 *      by o's peer; PFC frames the switch owes o's peer go first. A lossy
 *      port (fault `loss`) discards the packet instead with its probability;
 *      fault `drop` discards chosen ones (the packets after the next `after`).
 *   5. on dequeue (sent or dropped) the ingress account is credited.
 *
 * PFC (when `pfc: true`), ingress model: when account (i, p) rises above
 * pfc_xoff the switch sends PAUSE(p) out of port i; when it falls to
 * pfc_xon or below, RESUME(p). Frames owed are kept as a bitmask per port
 * (desired state XOR state last sent), so a pause that is cancelled before
 * it could be sent is never sent. The model is lossless only if each
 * output buffer can absorb xoff + in-flight bytes from every ingress port
 * feeding it; otherwise drop-tail still applies.
 *
 * Invariants: o.bytes = sum of queued sizes at o; every ingress account
 * equals the bytes of packets that arrived on that port and are held
 * (in the forwarding delay or queued). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fabric.h"
#include "orrery/checkpoint.h"
#include "orrery/net.h"
#include "orrery/error.h"

#define MAX_PORTS 4096

static const struct orr_param fsw_params[] = {
    {"ports", ORR_P_UINT, "4", ORR_PF_POSITIVE, "number of ports, named p0..p<N-1>", NULL, 1,
     MAX_PORTS},
    {"latency", ORR_P_TIME, "300ns", 0, "store-and-forward delay from full arrival to the output queue"},
    {"buffer", ORR_P_SIZE, "256KiB", ORR_PF_POSITIVE, "bytes of buffering per output port (all classes)"},
    {"ecn_threshold", ORR_P_SIZE, "0B", 0,
     "mark ECN when more than this many bytes are queued at the output; 0 = never"},
    {"pfc", ORR_P_BOOL, "false", 0, "priority flow control (pause upstream per class)"},
    {"pfc_xoff", ORR_P_SIZE, "64KiB", ORR_PF_POSITIVE,
     "PFC: pause a class on an ingress port when its buffered bytes exceed this"},
    {"pfc_xon", ORR_P_SIZE, "32KiB", 0, "PFC: resume when they fall to this or below"},
    {"routes", ORR_P_STRING, "", 0,
     "routing table: \"D=P[,P...];D0-D1=P,...\" (node or node range -> equal-cost ports)"},
    {"salt", ORR_P_UINT, "0", 0, "ECMP hash salt (the cluster builder gives each switch its index)"},
    {NULL},
};

static const struct orr_port_doc fsw_ports[] = {
    {"p<N>", "bidirectional port N, 0 <= N < ports"},
    {NULL},
};

static const struct orr_param port_fault_params[] = {
    {"port", ORR_P_UINT, NULL, 0, "port number"},
    {NULL},
};
static const struct orr_param loss_fault_params[] = {
    {"port", ORR_P_UINT, NULL, 0, "port number"},
    {"probability", ORR_P_STRING, NULL, ORR_PF_NONEMPTY,
     "chance in [0, 1] that a packet sent on the port is lost; 0 ends the fault"},
    {NULL},
};
static const struct orr_param drop_fault_params[] = {
    {"port", ORR_P_UINT, NULL, 0, "port number"},
    {"after", ORR_P_UINT, "0", 0, "packets the port sends first"},
    {"count", ORR_P_UINT, "1", 0, "packets then lost, one after another; 0 ends the fault"},
    {NULL},
};

enum { FAULT_LINK_DOWN, FAULT_LINK_UP, FAULT_LOSS, FAULT_DROP };
/* explore: a link goes down on a drawn port and comes back (link_up) after
 * a drawn outage; a port turns lossy for a while (loss back to 0 after) */
static const struct orr_fault_draw port_draws[] = {
    {"port", ORR_FD_PORT, 0, 0},
    {NULL},
};
static const struct orr_fault_explore link_down_explore = {
    .min_interval = (1 * ORR_US), .recover = "link_up",
    .min_duration = (100 * ORR_NS), .max_duration = (10 * ORR_MS), .draws = port_draws};
static const struct orr_fault_draw loss_draws[] = {
    {"port", ORR_FD_PORT, 0, 0},
    {"probability", ORR_FD_CHANCE, 1, 1000000},
    {NULL},
};
static const struct orr_fault_explore loss_explore = {
    .min_interval = (1 * ORR_US), .recover = "loss", .recover_zero = "probability",
    .min_duration = (100 * ORR_NS), .max_duration = (10 * ORR_MS), .draws = loss_draws};
static const struct orr_fault_desc fsw_faults[] = {
    {"link_down", "the port's link fails: queued packets are rerouted (or dropped), arrivals on it "
                  "are dropped", port_fault_params, &link_down_explore},
    {"link_up", "the port's link is back", port_fault_params},
    {"loss", "packets sent on the port are lost with a probability (seeded)", loss_fault_params,
     &loss_explore},
    {"drop", "of the packets the port sends from now, the ones after the first `after` are "
             "lost, `count` of them (a chosen packet, for loss-recovery tests)",
     drop_fault_params},
    {NULL},
};

enum { DROP_QUEUE = 1, DROP_NOROUTE = 2, DROP_DOWN = 3, DROP_LOSS = 4 };

struct entry {
    struct orr_msg m;
    uint16_t in; /* ingress port, for the PFC account */
};

struct ring {
    struct entry *a;
    size_t head, n, cap;
};

struct port_stats {
    struct orr_counter *tx_bytes, *tx_packets, *drops, *ecn_marks, *pauses_sent, *pauses_received;
    struct orr_gauge *depth;
    struct orr_value *util;
};

struct fport {
    struct orr_port *port;
    struct ring q[NET_PRIORITIES];
    uint64_t bytes;       /* queued at this output, all classes */
    uint64_t in_bytes[NET_PRIORITIES]; /* ingress account: arrived here, still held */
    uint8_t peer_paused;  /* classes the peer told us not to send */
    uint8_t want_paused;  /* classes we want the peer to hold */
    uint8_t told_paused;  /* classes the peer was last told to hold */
    bool down;
    uint64_t loss;        /* loss threshold on a 2^32 scale; 0 = none */
    uint64_t drop_after;  /* fault drop: packets still to send before losing ... */
    uint64_t drop_count;  /* ... this many; 0 = none */
    struct port_stats st;
};

struct route {
    uint32_t first, n; /* into aRoutePort */
};

/* Destinations lo..hi share one ECMP set. */
struct route_run {
    uint32_t lo, hi;
    struct route r;
};

struct fsw {
    unsigned nPort;
    struct fport *aPort;
    orr_time_t latency;
    uint64_t buffer, ecn_threshold, xoff, xon;
    bool pfc;
    uint32_t salt;
    /* The table, as the runs of the routes text when they are in rising,
     * disjoint order (what the cluster builder writes: a switch costs its
     * runs, not one slot per node of the cluster), else dense. */
    struct route_run *aRun; /* sorted by lo, disjoint */
    size_t nRun;
    struct route *aRoute; /* dense: indexed by dst node; n == 0: no route */
    uint32_t nRoute;
    uint16_t *aRoutePort;
    size_t nRoutePort;
    struct orr_counter *rx, *drop_queue, *drop_noroute, *drop_down, *drop_loss, *ecn, *pauses;
    uint16_t tk_drop, tk_pfc;
};

/* ---------------------------------------------------------------- rings */

static void ring_push(struct ring *r, const struct entry *e)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct entry *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (size_t i = 0; i < r->n; i++)
            a[i] = r->a[(r->head + i) % r->cap];
        free(r->a);
        r->a = a;
        r->head = 0;
        r->cap = cap;
    }
    r->a[(r->head + r->n++) % r->cap] = *e;
}

static struct entry ring_pop(struct ring *r)
{
    struct entry e = r->a[r->head];
    r->head = (r->head + 1) % r->cap;
    r->n--;
    return e;
}

/* ---------------------------------------------------------------- routes */

/* Parse "D=P,P;D0-D1=P" into the dense table. */
static int parse_routes(struct fsw *s, const char *text, char *err, size_t nErr)
{
    /* pass 1: sizes */
    uint32_t maxDst = 0;
    size_t nPorts = 0, nEntries = 0;
    for (const char *p = text; *p; p++) {
        nPorts += *p == ',' || *p == '=';
        nEntries += *p == '=';
    }
    if (!nEntries)
        return 0;
    struct { uint32_t lo, hi; size_t first, n; } *aEnt = calloc(nEntries, sizeof *aEnt);
    s->aRoutePort = calloc(nPorts, sizeof *s->aRoutePort);
    if (!aEnt || !s->aRoutePort)
        orr_oom();
    const char *p = text;
    size_t iEnt = 0;
    while (*p) {
        char *end;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        if (end == p || lo >= NET_MAX_NODES)
            goto bad;
        p = end;
        if (*p == '-') {
            hi = strtoul(p + 1, &end, 10);
            if (end == p + 1 || hi < lo || hi >= NET_MAX_NODES)
                goto bad;
            p = end;
        }
        if (*p++ != '=')
            goto bad;
        aEnt[iEnt].lo = (uint32_t)lo;
        aEnt[iEnt].hi = (uint32_t)hi;
        aEnt[iEnt].first = s->nRoutePort;
        for (;;) {
            unsigned long port = strtoul(p, &end, 10);
            if (end == p || port >= s->nPort)
                goto bad;
            s->aRoutePort[s->nRoutePort++] = (uint16_t)port;
            aEnt[iEnt].n++;
            p = end;
            if (*p != ',')
                break;
            p++;
        }
        if (hi > maxDst)
            maxDst = (uint32_t)hi;
        iEnt++;
        if (*p == ';')
            p++;
        else if (*p)
            goto bad;
    }
    bool runs = true;
    for (size_t i = 1; i < iEnt; i++)
        runs &= aEnt[i].lo > aEnt[i - 1].hi;
    if (runs) {
        s->aRun = calloc(iEnt, sizeof *s->aRun);
        if (!s->aRun)
            orr_oom();
        for (size_t i = 0; i < iEnt; i++)
            s->aRun[i] = (struct route_run){aEnt[i].lo, aEnt[i].hi,
                                            {(uint32_t)aEnt[i].first, (uint32_t)aEnt[i].n}};
        s->nRun = iEnt;
        free(aEnt);
        return 0;
    }
    /* overlapping or unordered entries (a later one wins): dense, at most
     * NET_MAX_NODES slots */
    s->nRoute = maxDst + 1;
    s->aRoute = calloc(s->nRoute, sizeof *s->aRoute);
    if (!s->aRoute)
        orr_oom();
    for (size_t i = 0; i < iEnt; i++)
        for (uint32_t d = aEnt[i].lo; d <= aEnt[i].hi; d++)
            s->aRoute[d] = (struct route){(uint32_t)aEnt[i].first, (uint32_t)aEnt[i].n};
    free(aEnt);
    return 0;
bad:
    snprintf(err, nErr, "bad routes entry at '%.20s' (expected NODE[-NODE]=PORT[,PORT...] with "
                        "ports 0..%u, separated by ';')", p, s->nPort - 1);
    free(aEnt);
    return ORR_ESCHEMA;
}

/* ---------------------------------------------------------------- create */

static int fsw_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct fsw *s = c->state;
    s->nPort = (unsigned)orr_param_u64(p, "ports");
    s->latency = orr_param_u64(p, "latency");
    s->buffer = orr_param_u64(p, "buffer");
    s->ecn_threshold = orr_param_u64(p, "ecn_threshold");
    s->pfc = orr_param_bool(p, "pfc");
    s->xoff = orr_param_u64(p, "pfc_xoff");
    s->xon = orr_param_u64(p, "pfc_xon");
    s->salt = (uint32_t)orr_param_u64(p, "salt");
    if (s->xon >= s->xoff) {
        orr_diag_error(d, orr_param_mark(p, "pfc_xon"), c->keypath,
                       "pfc_xon must be below pfc_xoff");
        return ORR_ESCHEMA;
    }
    char err[160];
    if (parse_routes(s, orr_param_str(p, "routes"), err, sizeof err)) {
        orr_diag_error(d, orr_param_mark(p, "routes"), c->keypath, "%s", err);
        return ORR_ESCHEMA;
    }
    s->aPort = calloc(s->nPort, sizeof *s->aPort);
    if (!s->aPort)
        orr_oom();
    for (unsigned i = 0; i < s->nPort; i++) {
        struct fport *o = &s->aPort[i];
        char name[48];
        snprintf(name, sizeof name, "p%u", i);
        o->port = orr_port_add(c, name);
#define STAT(field, fn, what, unit)                                                                \
    snprintf(name, sizeof name, "p%u." what, i);                                                   \
    o->st.field = fn(c, name, unit)
        STAT(tx_bytes, orr_counter_new, "tx_bytes", "B");
        STAT(tx_packets, orr_counter_new, "tx_packets", "pkt");
        STAT(drops, orr_counter_new, "drops", "pkt");
        STAT(ecn_marks, orr_counter_new, "ecn_marks", "pkt");
        STAT(pauses_sent, orr_counter_new, "pauses_sent", "frame");
        STAT(pauses_received, orr_counter_new, "pauses_received", "frame");
        STAT(depth, orr_gauge_new, "queue_bytes", "B");
        STAT(util, orr_value_new, "utilisation", "fraction");
#undef STAT
    }
    s->rx = orr_counter_new(c, "rx_packets", "pkt");
    s->drop_queue = orr_counter_new(c, "drops_queue_full", "pkt");
    s->drop_noroute = orr_counter_new(c, "drops_no_route", "pkt");
    s->drop_down = orr_counter_new(c, "drops_link_down", "pkt");
    s->drop_loss = orr_counter_new(c, "drops_loss", "pkt");
    s->ecn = orr_counter_new(c, "ecn_marks", "pkt");
    s->pauses = orr_counter_new(c, "pauses_sent", "frame");
    s->tk_drop = orr_trace_kind(c, "fabric.drop");
    s->tk_pfc = orr_trace_kind(c, "fabric.pfc");
    return 0;
}

/* ---------------------------------------------------------------- PFC */

/* Send the PFC frames port o owes its peer, while its link accepts them. */
static void send_ctrl(struct orr_component *c, struct fsw *s, unsigned i)
{
    struct fport *o = &s->aPort[i];
    while (!o->down && o->port->link && (o->want_paused ^ o->told_paused)) {
        uint8_t diff = o->want_paused ^ o->told_paused;
        unsigned prio = (unsigned)__builtin_ctz(diff);
        bool pause = o->want_paused >> prio & 1;
        struct orr_msg m = net_ctrl_frame(pause ? NET_CTRL_PAUSE : NET_CTRL_RESUME, prio);
        if (orr_port_send(o->port, &m, 0) != 0)
            return; /* a READY follows */
        o->told_paused ^= (uint8_t)(1u << prio);
        if (pause) {
            o->st.pauses_sent->v++;
            s->pauses->v++;
        }
        orr_trace_point(c, s->tk_pfc, i, (uint64_t)(pause ? NET_CTRL_PAUSE : NET_CTRL_RESUME) << 8 | prio);
    }
}

/* Ingress account of port i, class prio, changed by delta bytes. */
static void account(struct orr_component *c, struct fsw *s, unsigned i, unsigned prio, int64_t delta)
{
    struct fport *in = &s->aPort[i];
    in->in_bytes[prio] = (uint64_t)((int64_t)in->in_bytes[prio] + delta);
    if (!s->pfc)
        return;
    uint8_t bit = (uint8_t)(1u << prio), was = in->want_paused;
    if (in->in_bytes[prio] > s->xoff)
        in->want_paused |= bit;
    else if (in->in_bytes[prio] <= s->xon)
        in->want_paused &= (uint8_t)~bit;
    if (in->want_paused != was)
        send_ctrl(c, s, i);
}

/* ---------------------------------------------------------------- forwarding */

static void drop(struct orr_component *c, struct fsw *s, const struct entry *e, int out, int why)
{
    struct orr_counter *ctr = why == DROP_QUEUE ? s->drop_queue
                              : why == DROP_DOWN ? s->drop_down
                              : why == DROP_LOSS ? s->drop_loss
                                                 : s->drop_noroute;
    ctr->v++;
    if (out >= 0 && (why == DROP_QUEUE || why == DROP_LOSS))
        s->aPort[out].st.drops->v++;
    account(c, s, e->in, net_prio(e->m.data[1]), -(int64_t)e->m.size);
    orr_trace_point(c, s->tk_drop, e->m.data[1], (uint64_t)(out < 0 ? 0xFFFF : out) << 8 | (uint64_t)why);
}

/* The head packet of o is lost: the drop fault's chosen packets first
 * (counted as they leave, so a refused send does not count), then the
 * loss fault's draw. */
static bool lost(struct orr_component *c, struct fport *o)
{
    if (o->drop_count && !o->drop_after) {
        o->drop_count--;
        return true;
    }
    return o->loss && orr_rng_below(&c->rng, (uint64_t)1 << 32) < o->loss;
}

/* Send what port i can send: owed PFC frames, then data by strict priority
 * among classes its peer has not paused. */
static void kick(struct orr_component *c, struct fsw *s, unsigned i)
{
    struct fport *o = &s->aPort[i];
    send_ctrl(c, s, i);
    if (o->want_paused != o->told_paused)
        return; /* the link is busy: the READY will call us again */
    for (;;) {
        int prio = NET_PRIORITIES - 1;
        while (prio >= 0 && (!o->q[prio].n || (o->peer_paused >> prio & 1)))
            prio--;
        if (prio < 0)
            break;
        struct ring *r = &o->q[prio];
        struct entry *e = &r->a[r->head];
        if (lost(c, o)) {
            struct entry x = ring_pop(r);
            o->bytes -= x.m.size;
            drop(c, s, &x, (int)i, DROP_LOSS);
            continue;
        }
        if (orr_port_send(o->port, &e->m, 0) != 0)
            break;
        struct entry x = ring_pop(r);
        o->bytes -= x.m.size;
        if (o->drop_count && o->drop_after)
            o->drop_after--;
        o->st.tx_packets->v++;
        o->st.tx_bytes->v += x.m.size;
        account(c, s, x.in, (unsigned)prio, -(int64_t)x.m.size);
    }
    orr_gauge_set(o->st.depth, (int64_t)o->bytes);
}

/* The ECMP set of dst, or NULL: a binary search of the runs, or the dense
 * table. */
static const struct route *route_of(const struct fsw *s, uint32_t dst)
{
    if (s->aRun) {
        size_t lo = 0, hi = s->nRun; /* the first run with hi >= dst */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (s->aRun[mid].hi < dst)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < s->nRun && s->aRun[lo].lo <= dst ? &s->aRun[lo].r : NULL;
    }
    return dst < s->nRoute && s->aRoute[dst].n ? &s->aRoute[dst] : NULL;
}

/* The output for e: the ECMP pick, or a pick among the set's up ports. */
static int choose(const struct fsw *s, const struct entry *e, int *why)
{
    uint32_t dst = net_dst(e->m.data[1]);
    const struct route *r = route_of(s, dst);
    if (!r || r->n == 0) {
        *why = DROP_NOROUTE;
        return -1;
    }
    const uint16_t *set = &s->aRoutePort[r->first];
    unsigned pick = r->n == 1 ? 0 : net_ecmp_pick(e->m.data[1], s->salt, r->n);
    if (!s->aPort[set[pick]].down && s->aPort[set[pick]].port->link)
        return set[pick];
    unsigned nUp = 0;
    for (uint32_t k = 0; k < r->n; k++)
        nUp += !s->aPort[set[k]].down && s->aPort[set[k]].port->link;
    if (!nUp) {
        *why = DROP_DOWN;
        return -1;
    }
    unsigned want = nUp == 1 ? 0 : net_ecmp_pick(e->m.data[1], s->salt, nUp);
    for (uint32_t k = 0;; k++)
        if (!s->aPort[set[k]].down && s->aPort[set[k]].port->link && want-- == 0)
            return set[k];
}

static void forward(struct orr_component *c, struct fsw *s, struct entry *e)
{
    int why = 0, out = choose(s, e, &why);
    if (out < 0) {
        drop(c, s, e, -1, why);
        return;
    }
    struct fport *o = &s->aPort[out];
    if (o->bytes + e->m.size > s->buffer) {
        drop(c, s, e, out, DROP_QUEUE);
        return;
    }
    if (s->ecn_threshold && o->bytes > s->ecn_threshold && !net_ecn(e->m.data[1])) {
        e->m.data[1] = net_set_ecn(e->m.data[1]);
        o->st.ecn_marks->v++;
        s->ecn->v++;
    }
    o->bytes += e->m.size;
    ring_push(&o->q[net_prio(e->m.data[1])], e);
    kick(c, s, (unsigned)out);
}

static void fsw_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct fsw *s = c->state;
    struct entry e = {{ev->size, {ev->data[0], ev->data[1]}}, ev->port};
    switch (ev->kind) {
    case ORR_TK_MSG: {
        struct fport *in = &s->aPort[ev->port];
        if (net_is_ctrl(ev->data[1])) {
            uint8_t bit = (uint8_t)(1u << net_ctrl_prio(ev->data));
            if (net_ctrl_op(ev->data) == NET_CTRL_PAUSE) {
                in->peer_paused |= bit;
                in->st.pauses_received->v++;
            } else {
                in->peer_paused &= (uint8_t)~bit;
                kick(c, s, ev->port);
            }
            break;
        }
        s->rx->v++;
        account(c, s, ev->port, net_prio(ev->data[1]), (int64_t)ev->size);
        if (in->down) {
            drop(c, s, &e, -1, DROP_DOWN);
            break;
        }
        orr_timer_msg(c, s->latency, ev->port, &e.m); /* the tag carries the ingress port */
        break;
    }
    case ORR_TK_TIMER:
        forward(c, s, &e);
        break;
    case ORR_TK_READY:
        kick(c, s, ev->port);
        break;
    default:
        break;
    }
}

/* ---------------------------------------------------------------- faults */

static uint64_t loss_threshold(const char *text, bool *ok)
{
    char *end;
    double p = strtod(text, &end);
    *ok = end != text && !*end && p >= 0.0 && p <= 1.0;
    return *ok ? (uint64_t)(p * 4294967296.0) : 0;
}

static void fsw_fault(struct orr_component *c, unsigned fault, const struct orr_params *p)
{
    struct fsw *s = c->state;
    unsigned i = (unsigned)orr_param_u64(p, "port");
    struct fport *o = &s->aPort[i];
    if (fault == FAULT_LOSS) {
        bool ok;
        o->loss = loss_threshold(orr_param_str(p, "probability"), &ok);
    } else if (fault == FAULT_DROP) {
        o->drop_after = orr_param_u64(p, "after");
        o->drop_count = orr_param_u64(p, "count");
    } else if (fault == FAULT_LINK_UP) {
        o->down = false;
        kick(c, s, i);
    } else {
        /* down: nothing more crosses it; the peer's pauses and ours lapse,
         * and what waited here takes another equal-cost port if there is one */
        o->down = true;
        o->peer_paused = o->told_paused = o->want_paused = 0;
        for (unsigned prio = 0; prio < NET_PRIORITIES; prio++) {
            while (o->q[prio].n) {
                struct entry e = ring_pop(&o->q[prio]);
                o->bytes -= e.m.size;
                forward(c, s, &e);
            }
        }
        orr_gauge_set(o->st.depth, 0);
    }
}

static int fsw_fault_check(struct orr_component *c, unsigned fault, const struct orr_params *p,
                           const struct orr_mark *mark, struct orr_diag *d)
{
    const struct fsw *s = c->state;
    if (orr_param_u64(p, "port") >= s->nPort) {
        orr_diag_error(d, mark, c->keypath, "fault port %llu is not a port of '%s' (0..%u)",
                       (unsigned long long)orr_param_u64(p, "port"), c->path, s->nPort - 1);
        return ORR_ESCHEMA;
    }
    bool ok = true;
    if (fault == FAULT_LOSS)
        loss_threshold(orr_param_str(p, "probability"), &ok);
    if (!ok) {
        orr_diag_error(d, orr_param_mark(p, "probability"), c->keypath,
                       "probability must be a number in [0, 1]");
        return ORR_ESCHEMA;
    }
    return 0;
}

static void fsw_finish(struct orr_component *c)
{
    struct fsw *s = c->state;
    orr_time_t now = orr_now(c->sim);
    for (unsigned i = 0; i < s->nPort; i++) {
        uint64_t bw = 0;
        struct fport *o = &s->aPort[i];
        if (orr_port_link(o->port, NULL, &bw) == 0 && bw && now)
            o->st.util->v = (double)o->st.tx_bytes->v * 8.0 * 1e12 / ((double)bw * (double)now);
    }
}

static void fsw_destroy(struct orr_component *c)
{
    struct fsw *s = c->state;
    for (unsigned i = 0; s->aPort && i < s->nPort; i++)
        for (unsigned prio = 0; prio < NET_PRIORITIES; prio++)
            free(s->aPort[i].q[prio].a);
    free(s->aPort);
    free(s->aRoute);
    free(s->aRun);
    free(s->aRoutePort);
}

static const struct orr_metric_doc fsw_metrics[] = {
    {"p<N>.tx_bytes", "B", ORR_METRIC_COUNTER,
     "data bytes sent out of port N (same name as the engine's link stat: both are reported)"},
    {"p<N>.tx_packets", "pkt", ORR_METRIC_COUNTER, "data packets sent out of port N"},
    {"p<N>.drops", "pkt", ORR_METRIC_COUNTER,
     "packets dropped at output N: buffer full or lossy port"},
    {"p<N>.ecn_marks", "pkt", ORR_METRIC_COUNTER, "packets ECN-marked at output N"},
    {"p<N>.pauses_sent", "frame", ORR_METRIC_COUNTER, "PFC pause frames sent out of port N"},
    {"p<N>.pauses_received", "frame", ORR_METRIC_COUNTER, "PFC pause frames received on port N"},
    {"p<N>.queue_bytes", "B", ORR_METRIC_GAUGE, "bytes queued at output N, all classes"},
    {"p<N>.utilisation", "fraction", ORR_METRIC_VALUE,
     "share of port N's link bandwidth its data used"},
    {"rx_packets", "pkt", ORR_METRIC_COUNTER, "data packets received"},
    {"drops_queue_full", "pkt", ORR_METRIC_COUNTER, "packets dropped: output buffer full"},
    {"drops_no_route", "pkt", ORR_METRIC_COUNTER,
     "packets dropped: no route to their destination"},
    {"drops_link_down", "pkt", ORR_METRIC_COUNTER,
     "packets dropped: arrived on a down port, or every port toward the destination down"},
    {"drops_loss", "pkt", ORR_METRIC_COUNTER, "packets discarded by a lossy port (fault loss)"},
    {"ecn_marks", "pkt", ORR_METRIC_COUNTER, "packets ECN-marked, all ports"},
    {"pauses_sent", "frame", ORR_METRIC_COUNTER, "PFC pause frames sent, all ports"},
    {NULL},
};

/* ------------------------------------------------------ checkpoint/restore */

/* Dynamic state per port: the queues per class, the byte accounts, the
 * PFC pause bits, and what faults set (down, loss, drops). Routes and the
 * ECMP salt come from the params. */
static void fsw_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct fsw *s = c->state;
    for (unsigned i = 0; i < s->nPort; i++) {
        const struct fport *o = &s->aPort[i];
        for (unsigned k = 0; k < NET_PRIORITIES; k++) {
            orr_ckpt_put_u64(w, o->q[k].n);
            for (size_t j = 0; j < o->q[k].n; j++)
                orr_ckpt_put_array(w, &o->q[k].a[(o->q[k].head + j) % o->q[k].cap], 1,
                                   sizeof(struct entry));
        }
        orr_ckpt_put_u64(w, o->bytes);
        orr_ckpt_put_array(w, o->in_bytes, NET_PRIORITIES, sizeof o->in_bytes[0]);
        orr_ckpt_put_u8(w, o->peer_paused);
        orr_ckpt_put_u8(w, o->want_paused);
        orr_ckpt_put_u8(w, o->told_paused);
        orr_ckpt_put_u8(w, o->down);
        orr_ckpt_put_u64(w, o->loss);
        orr_ckpt_put_u64(w, o->drop_after);
        orr_ckpt_put_u64(w, o->drop_count);
    }
}

static void fsw_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct fsw *s = c->state;
    for (unsigned i = 0; i < s->nPort && orr_ckpt_ok(r); i++) {
        struct fport *o = &s->aPort[i];
        for (unsigned k = 0; k < NET_PRIORITIES; k++) {
            free(o->q[k].a);
            memset(&o->q[k], 0, sizeof o->q[k]);
            uint64_t n = orr_ckpt_get_count(r, sizeof(struct entry));
            for (uint64_t j = 0; j < n && orr_ckpt_ok(r); j++) {
                struct entry e;
                orr_ckpt_get_into(r, &e, sizeof e);
                if (orr_ckpt_ok(r))
                    ring_push(&o->q[k], &e);
            }
        }
        o->bytes = orr_ckpt_get_u64(r);
        orr_ckpt_get_into(r, o->in_bytes, sizeof o->in_bytes);
        o->peer_paused = orr_ckpt_get_u8(r);
        o->want_paused = orr_ckpt_get_u8(r);
        o->told_paused = orr_ckpt_get_u8(r);
        o->down = orr_ckpt_get_u8(r) != 0;
        o->loss = orr_ckpt_get_u64(r);
        o->drop_after = orr_ckpt_get_u64(r);
        o->drop_count = orr_ckpt_get_u64(r);
    }
}

const struct orr_component_type orr_fabric_switch_type = {
    .name = "fabric_switch",
    .summary = "cluster fabric switch: output buffers, ECMP routing, ECN marking, PFC, link faults",
    .params = fsw_params,
    .ports = fsw_ports,
    .faults = fsw_faults,
    .metrics = fsw_metrics,
    .state_size = sizeof(struct fsw),
    .create = fsw_create,
    .handle = fsw_handle,
    .fault = fsw_fault,
    .fault_check = fsw_fault_check,
    .finish = fsw_finish,
    .destroy = fsw_destroy,
    .save = fsw_save,
    .restore = fsw_restore,
};
