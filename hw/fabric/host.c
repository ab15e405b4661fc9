/* fabric_host: a traffic endpoint for the cluster fabric, so topologies can
 * be exercised before NICs exist (docs/fabric.md). It keeps the endpoint
 * contract of include/orrery/net.h: one port `net` to a switch, data
 * packets from its own node, PFC pauses honoured.
 *
 * Sending: `count` packets of `size` bytes (headers included), released at
 * `rate` (0 = as fast as the link takes them) from `start`, each to a
 * destination the pattern picks:
 *   uniform      any other node, drawn uniformly from this host's stream
 *   permutation  one fixed partner: a random cyclic permutation of all
 *                nodes drawn from the run's seed, the same in every host
 *   incast       `target` (the target itself sends nothing)
 *   all_to_all   every other node in turn: node+1, node+2, ...
 *   none         nothing
 * A released packet waits in the host (never dropped) while the link is
 * busy or its class is paused. Packets of one (src, dst) pair cycle
 * through `flows` flow ids, so ECMP can spread them.
 *
 * data[0] of a packet: sequence number per (src, dst) << 32 | send time
 * in ns (mod 2^32). Receiving: counts, bytes, ECN-marked packets, one-way
 * latency (ns), throughput over the receive window, and losses seen as
 * gaps in each source's sequence: a jump counts the skipped numbers, a
 * late arrival (its flow took another path) takes one back and counts as
 * reordered. A loss at the end of a stream shows no gap and is not
 * counted.
 *
 * A workload: done `drain` after its last packet left, so what is in
 * flight can land before a run stopped by workloads_done ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fabric.h"
#include "orrery/checkpoint.h"
#include "orrery/net.h"
#include "orrery/error.h"

enum { PAT_NONE, PAT_UNIFORM, PAT_PERMUTATION, PAT_INCAST, PAT_ALL_TO_ALL };
static const char *const host_patterns[] = {"none", "uniform", "permutation", "incast",
                                            "all_to_all", NULL};
enum { TIMER_RELEASE = 1, TIMER_DONE = 2 };

const struct orr_param fabric_mtu_params[] = {
    {"mtu", ORR_P_SIZE, "4KiB", ORR_PF_POSITIVE, "largest packet on the fabric, headers included"},
    {NULL},
};

static const struct orr_param host_params[] = {
    {"node", ORR_P_UINT, "0", 0, "this endpoint's node number", NULL, 0, NET_MAX_NODES - 1},
    {"nodes", ORR_P_UINT, "1", ORR_PF_POSITIVE, "nodes in the cluster", NULL, 1, NET_MAX_NODES},
    {"", ORR_P_INCLUDE, .group = fabric_mtu_params},
    {"pattern", ORR_P_ENUM, "none", 0, "destinations: none, uniform, permutation, incast, all_to_all",
     host_patterns},
    {"target", ORR_P_UINT, "0", 0, "incast: the node everyone sends to"},
    {"count", ORR_P_UINT, "0", 0, "packets this host sends"},
    {"size", ORR_P_SIZE, "1KiB", ORR_PF_POSITIVE, "packet size on the wire, headers included"},
    {"rate", ORR_P_BW, "0bps", 0, "offered load; 0 = as fast as the link takes packets"},
    {"start", ORR_P_TIME, "0ns", 0, "when sending starts"},
    {"flows", ORR_P_UINT, "1", ORR_PF_POSITIVE, "flow ids per destination (ECMP spread)", NULL, 1,
     65536},
    {"priority", ORR_P_UINT, "0", 0, "priority class of the packets (PFC)", NULL, 0,
     NET_PRIORITIES - 1},
    {"drain", ORR_P_TIME, "20us", 0, "after the last send, time until the host reports done"},
    {NULL},
};

static const struct orr_port_doc host_ports[] = {
    {"net", "to a fabric switch port"},
    {NULL},
};

/* Sequence numbers per peer node, for the peers a host has sent to or
 * heard from: a hash table, not an array over every node, so N hosts cost
 * O(N x peers), not O(N^2). Only looked up, never iterated. */
struct seq_entry {
    uint32_t node; /* UINT32_MAX: free */
    uint32_t seq;
};

struct seq_table {
    struct seq_entry *a;
    size_t n, cap; /* cap a power of two, n <= cap / 2 */
};

static size_t seq_slot(const struct seq_entry *a, size_t cap, uint32_t node)
{
    size_t i = (size_t)(node * UINT32_C(2654435761)) & (cap - 1);
    while (a[i].node != UINT32_MAX && a[i].node != node)
        i = (i + 1) & (cap - 1);
    return i;
}

/* The sequence of node (0 when new). */
static uint32_t *seq_of(struct seq_table *t, uint32_t node)
{
    if (2 * (t->n + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        struct seq_entry *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (size_t i = 0; i < cap; i++)
            a[i].node = UINT32_MAX;
        for (size_t i = 0; i < t->cap; i++)
            if (t->a[i].node != UINT32_MAX)
                a[seq_slot(a, cap, t->a[i].node)] = t->a[i];
        free(t->a);
        t->a = a;
        t->cap = cap;
    }
    struct seq_entry *e = &t->a[seq_slot(t->a, t->cap, node)];
    if (e->node == UINT32_MAX) {
        *e = (struct seq_entry){node, 0};
        t->n++;
    }
    return &e->seq;
}

struct host {
    struct orr_port *net;
    uint32_t node, nodes, target, size, flows;
    unsigned pattern, prio;
    uint64_t count, released, sent;
    orr_time_t start, gap, drain;
    uint8_t paused;
    bool has_pending;
    struct orr_msg pending;
    uint32_t perm_dst;
    struct seq_table tx, rx;   /* per peer node: next sequence to send, expected */
    orr_time_t first_rx, last_rx;
    struct orr_counter *tx_packets, *tx_bytes, *rx_packets, *rx_bytes, *rx_ecn, *gaps, *reordered,
        *misdelivered, *pauses;
    struct orr_histogram *latency;
    struct orr_value *throughput;
};

static int host_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct host *h = c->state;
    h->net = orr_port_add(c, "net");
    h->node = (uint32_t)orr_param_u64(p, "node");
    h->nodes = (uint32_t)orr_param_u64(p, "nodes");
    h->pattern = orr_param_enum(p, "pattern");
    h->target = (uint32_t)orr_param_u64(p, "target");
    h->count = orr_param_u64(p, "count");
    h->size = (uint32_t)orr_param_u64(p, "size");
    h->flows = (uint32_t)orr_param_u64(p, "flows");
    h->prio = (unsigned)orr_param_u64(p, "priority");
    h->start = orr_param_u64(p, "start");
    h->drain = orr_param_u64(p, "drain");
    uint64_t mtu = orr_param_u64(p, "mtu"), rate = orr_param_u64(p, "rate");
    int rc = 0;
    if (mtu <= NET_HDR_BYTES) {
        orr_diag_error(d, orr_param_mark(p, "mtu"), c->keypath,
                       "mtu %llu B does not exceed the %u B of packet headers",
                       (unsigned long long)mtu, NET_HDR_BYTES);
        rc = ORR_ESCHEMA;
    } else if (h->size <= NET_HDR_BYTES || h->size > mtu) {
        orr_diag_error(d, orr_param_mark(p, "size"), c->keypath,
                       "size %u B must exceed the %u B of headers and be at most the mtu (%llu B)",
                       h->size, NET_HDR_BYTES, (unsigned long long)mtu);
        rc = ORR_ESCHEMA;
    }
    if (h->node >= h->nodes || h->target >= h->nodes) {
        orr_diag_error(d, orr_param_mark(p, h->node >= h->nodes ? "node" : "target"), c->keypath,
                       "node numbers must be below nodes (%u)", h->nodes);
        rc = ORR_ESCHEMA;
    }
    /* a gap of size·8/rate, rounded up to whole picoseconds */
    h->gap = rate ? (orr_time_t)(((unsigned __int128)h->size * 8 * ORR_S + rate - 1) / rate) : 0;
    h->tx_packets = orr_counter_new(c, "tx_packets", "pkt");
    h->tx_bytes = orr_counter_new(c, "tx_bytes", "B");
    h->rx_packets = orr_counter_new(c, "rx_packets", "pkt");
    h->rx_bytes = orr_counter_new(c, "rx_bytes", "B");
    h->rx_ecn = orr_counter_new(c, "rx_ecn_marked", "pkt");
    h->gaps = orr_counter_new(c, "rx_seq_gaps", "pkt");
    h->reordered = orr_counter_new(c, "rx_reordered", "pkt");
    h->misdelivered = orr_counter_new(c, "rx_misdelivered", "pkt");
    h->pauses = orr_counter_new(c, "pauses_received", "frame");
    h->latency = orr_histogram_new(c, "latency", "ns");
    h->throughput = orr_value_new(c, "rx_throughput", "bit/s");
    return rc;
}

/* The partner of this node in a random cyclic permutation (Sattolo's
 * algorithm) drawn from a stream every host seeds identically. */
static uint32_t permutation_partner(struct orr_component *c, const struct host *h)
{
    uint32_t *a = malloc(h->nodes * sizeof *a);
    if (!a)
        orr_oom();
    for (uint32_t i = 0; i < h->nodes; i++)
        a[i] = i;
    struct orr_rng r;
    orr_rng_seed(&r, orr_sim_seed(c->sim), "fabric.permutation");
    for (uint32_t i = h->nodes - 1; i > 0; i--) {
        uint32_t j = (uint32_t)orr_rng_below(&r, i);
        uint32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
    uint32_t partner = a[h->node];
    free(a);
    return partner;
}

static bool sends(const struct host *h)
{
    return h->count && h->nodes > 1 && h->pattern != PAT_NONE &&
           !(h->pattern == PAT_INCAST && h->node == h->target);
}

static int host_start(struct orr_component *c, struct orr_diag *d)
{
    struct host *h = c->state;
    if (!h->net->link) {
        orr_diag_error(d, &c->mark, c->keypath, "port 'net' of %s is not linked to a switch", c->path);
        return ORR_ESCHEMA;
    }
    if (!sends(h)) {
        orr_workload_done(c);
        return 0;
    }
    if (h->pattern == PAT_PERMUTATION)
        h->perm_dst = permutation_partner(c, h);
    orr_timer(c, h->start, TIMER_RELEASE, 0, 0);
    return 0;
}

static uint32_t next_dst(struct orr_component *c, struct host *h)
{
    switch (h->pattern) {
    case PAT_UNIFORM: {
        uint32_t x = (uint32_t)orr_rng_below(&c->rng, h->nodes - 1);
        return x >= h->node ? x + 1 : x;
    }
    case PAT_PERMUTATION:
        return h->perm_dst;
    case PAT_INCAST:
        return h->target;
    default: /* all_to_all */
        return (uint32_t)((h->node + 1 + h->sent % (h->nodes - 1)) % h->nodes);
    }
}

/* Send released packets while the link takes them and the class runs. A
 * packet is made (destination drawn, sequence taken) once; if the link
 * refuses it, it waits as `pending` for the READY, restamped when it goes. */
static void host_kick(struct orr_component *c, struct host *h)
{
    while (h->sent < h->released && !(h->paused >> h->prio & 1)) {
        if (!h->has_pending) {
            uint32_t dst = next_dst(c, h);
            uint32_t seq = (*seq_of(&h->tx, dst))++;
            struct net_hdr hdr = {.src = h->node, .dst = dst, .prio = (uint8_t)h->prio,
                                  .flow = net_flow_id(h->node, dst, seq % h->flows)};
            h->pending = net_packet(&hdr, h->size, (uint64_t)seq << 32);
            h->has_pending = true;
        }
        h->pending.data[0] = (h->pending.data[0] & ~0xFFFFFFFFull) |
                             (uint32_t)(orr_now(c->sim) / ORR_NS);
        if (orr_port_send(h->net, &h->pending, 0) != 0)
            return; /* a READY follows */
        h->has_pending = false;
        h->sent++;
        h->tx_packets->v++;
        h->tx_bytes->v += h->size;
        if (h->sent == h->count)
            orr_timer(c, h->drain, TIMER_DONE, 0, 0);
    }
}

static void receive(struct orr_component *c, struct host *h, const struct orr_event *ev)
{
    uint64_t w = ev->data[1];
    if (net_is_ctrl(w)) {
        uint8_t bit = (uint8_t)(1u << net_ctrl_prio(ev->data));
        if (net_ctrl_op(ev->data) == NET_CTRL_PAUSE) {
            h->paused |= bit;
            h->pauses->v++;
        } else {
            h->paused &= (uint8_t)~bit;
            host_kick(c, h);
        }
        return;
    }
    orr_time_t now = orr_now(c->sim);
    if (!h->rx_packets->v)
        h->first_rx = now;
    h->last_rx = now;
    h->rx_packets->v++;
    h->rx_bytes->v += ev->size;
    h->rx_ecn->v += net_ecn(w);
    h->misdelivered->v += net_dst(w) != h->node;
    uint32_t sent_ns = (uint32_t)ev->data[0], seq = (uint32_t)(ev->data[0] >> 32);
    orr_histogram_add(h->latency, (uint32_t)((uint32_t)(now / ORR_NS) - sent_ns));
    uint32_t src = net_src(w);
    if (src >= h->nodes)
        return;
    uint32_t *expect = seq_of(&h->rx, src);
    if (seq >= *expect) {
        h->gaps->v += seq - *expect;
        *expect = seq + 1;
    } else { /* late, after a packet of the pair that took another path */
        h->reordered->v++;
        h->gaps->v -= h->gaps->v > 0;
    }
}

static void host_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct host *h = c->state;
    switch (ev->kind) {
    case ORR_TK_MSG:
        receive(c, h, ev);
        break;
    case ORR_TK_READY:
        host_kick(c, h);
        break;
    case ORR_TK_TIMER:
        if (ev->port == TIMER_DONE) {
            orr_workload_done(c);
            break;
        }
        /* release: everything at once at line rate, else one per gap */
        h->released = h->gap ? h->released + 1 : h->count;
        if (h->released < h->count)
            orr_timer(c, h->gap, TIMER_RELEASE, 0, 0);
        host_kick(c, h);
        break;
    default:
        break;
    }
}

static void host_finish(struct orr_component *c)
{
    struct host *h = c->state;
    if (h->last_rx > h->first_rx)
        h->throughput->v =
            (double)h->rx_bytes->v * 8.0 * 1e12 / (double)(h->last_rx - h->first_rx);
}

static void host_destroy(struct orr_component *c)
{
    struct host *h = c->state;
    free(h->tx.a);
    free(h->rx.a);
}

static const struct orr_metric_doc host_metrics[] = {
    {"tx_packets", "pkt", ORR_METRIC_COUNTER, "data packets sent"},
    {"tx_bytes", "B", ORR_METRIC_COUNTER, "data bytes sent, headers included"},
    {"rx_packets", "pkt", ORR_METRIC_COUNTER, "data packets received"},
    {"rx_bytes", "B", ORR_METRIC_COUNTER, "data bytes received"},
    {"rx_ecn_marked", "pkt", ORR_METRIC_COUNTER, "packets received with an ECN mark"},
    {"rx_seq_gaps", "pkt", ORR_METRIC_COUNTER, "packets lost, seen as gaps in a source's sequence"},
    {"rx_reordered", "pkt", ORR_METRIC_COUNTER,
     "packets arriving after a later one of their source"},
    {"rx_misdelivered", "pkt", ORR_METRIC_COUNTER, "packets addressed to another node"},
    {"pauses_received", "frame", ORR_METRIC_COUNTER, "PFC pause frames received"},
    {"latency", "ns", ORR_METRIC_HISTOGRAM, "one-way latency of data packets"},
    {"rx_throughput", "bit/s", ORR_METRIC_VALUE, "bits received over the receive window"},
    {NULL},
};

/* ------------------------------------------------------ checkpoint/restore */

/* The sequence tables are only probed by key: re-inserting restores them. */
static void seq_save(const struct seq_table *t, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_u64(w, t->n);
    for (size_t i = 0; i < t->cap; i++)
        if (t->a[i].node != UINT32_MAX) {
            orr_ckpt_put_u32(w, t->a[i].node);
            orr_ckpt_put_u32(w, t->a[i].seq);
        }
}

static void seq_restore(struct seq_table *t, struct orr_ckpt_reader *r)
{
    free(t->a);
    memset(t, 0, sizeof *t);
    uint64_t n = orr_ckpt_get_count(r, 8);
    for (uint64_t i = 0; i < n && orr_ckpt_ok(r); i++) {
        uint32_t node = orr_ckpt_get_u32(r), seq = orr_ckpt_get_u32(r);
        if (node == UINT32_MAX)
            orr_ckpt_fail(r, "a sequence table entry for no node");
        else if (orr_ckpt_ok(r))
            *seq_of(t, node) = seq;
    }
}

/* Dynamic state: what was released and sent, the packet held by a pause,
 * the pause bits, sequence numbers per peer, the receive window. */
static void host_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct host *h = c->state;
    orr_ckpt_put_u64(w, h->released);
    orr_ckpt_put_u64(w, h->sent);
    orr_ckpt_put_u8(w, h->paused);
    orr_ckpt_put_u8(w, h->has_pending);
    orr_ckpt_put_u32(w, h->pending.size);
    orr_ckpt_put_u64(w, h->pending.data[0]);
    orr_ckpt_put_u64(w, h->pending.data[1]);
    orr_ckpt_put_u32(w, h->perm_dst);
    seq_save(&h->tx, w);
    seq_save(&h->rx, w);
    orr_ckpt_put_u64(w, h->first_rx);
    orr_ckpt_put_u64(w, h->last_rx);
}

static void host_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct host *h = c->state;
    h->released = orr_ckpt_get_u64(r);
    h->sent = orr_ckpt_get_u64(r);
    h->paused = orr_ckpt_get_u8(r);
    h->has_pending = orr_ckpt_get_u8(r) != 0;
    h->pending.size = orr_ckpt_get_u32(r);
    h->pending.data[0] = orr_ckpt_get_u64(r);
    h->pending.data[1] = orr_ckpt_get_u64(r);
    h->perm_dst = orr_ckpt_get_u32(r);
    seq_restore(&h->tx, r);
    seq_restore(&h->rx, r);
    h->first_rx = orr_ckpt_get_u64(r);
    h->last_rx = orr_ckpt_get_u64(r);
}

const struct orr_component_type orr_fabric_host_type = {
    .name = "fabric_host",
    .summary = "cluster fabric traffic endpoint: uniform, permutation, incast, all-to-all (a workload)",
    .params = host_params,
    .ports = host_ports,
    .metrics = host_metrics,
    .state_size = sizeof(struct host),
    .workload = true,
    .create = host_create,
    .start = host_start,
    .handle = host_handle,
    .finish = host_finish,
    .destroy = host_destroy,
    .save = host_save,
    .restore = host_restore,
};
