/* cluster_node: one node of a cluster running the reference kernel's RDMA
 * transport (kernel/cluster/transport.c, docs/kernel-cluster.md) on one CPU,
 * with port `rnic` linked to an rnic's `host` port, and a demo workload:
 * connect to some peers (`ring`: node+-1 mod nodes, `all`, `none`), send
 * `messages` messages of `size` bytes to each, one per peer every
 * `interval`, and finish when, for every peer, all our messages to it are
 * sent and all of its messages to us delivered, or the peer is down. (Peer
 * sets are symmetric, so each peer sends us as many as we send it.)
 *
 * The kernel's upcalls: kern_net drains the transport's CQs, kern_timer runs
 * its time-driven work (handshake retries, send timeouts, keepalives); after
 * each kernel entry the timer is re-armed at xport_next_deadline and the
 * transport's invariants are checked (a broken one fails the run). Kernel
 * work (hal_cost) delays the RNIC messages of the entry that did it; the
 * CPU is otherwise not a contended resource here (one kernel, little work).
 *
 * A peer whose RNIC dies is found by an error completion (RC retries
 * exhausted) when we send to it, or by the transport's keepalive when we
 * do not; a node whose own RNIC dies finds every peer down by op_timeout.
 * So a run with a `die` fault ends, never hangs. Metrics: peers connected
 * and down, messages sent and delivered, bad_messages (delivered bytes
 * that do not start with the sender's node id: the CQE's scatter-to-CQE
 * data was wrong), misordered_messages (the transport's sequence check),
 * handshake messages, keepalives, done_at (when the workload finished).
 * Trace: xport_peer_up/_down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/platform.h"
#include "kernel/cluster.h"
#include "orrery/sim.h"
#include "orrery/error.h"

enum { TAG_SEND = 1 };

static const char *const peer_sets[] = {"ring", "all", "none", NULL};
enum { PEERS_RING, PEERS_ALL, PEERS_NONE };

static const struct orr_param cn_params[] = {
    {"node", ORR_P_UINT, "0", 0, "this node's id (the rnic's `node`)", NULL, 0, XPORT_MAX_NODES - 1},
    {"nodes", ORR_P_UINT, "1", ORR_PF_POSITIVE, "nodes in the cluster", NULL, 1, XPORT_MAX_NODES},
    {"frequency", ORR_P_FREQ, "2GHz", ORR_PF_POSITIVE, "CPU clock (converts kernel cycles)"},
    {"irq_latency", ORR_P_TIME, "1us", 0,
     "CQE arrival to kern_net (MSI-X delivery and handler entry; a modelling choice)"},
    {"peers", ORR_P_ENUM, "ring", 0, "whom to connect to: ring (node+-1), all, none", peer_sets},
    {"messages", ORR_P_UINT, "100", 0, "messages to send to each peer"},
    {"size", ORR_P_SIZE, "32B", 0, "bytes per message (8..64: node and sequence number first)",
     NULL, 8, XPORT_MSG_MAX},
    {"interval", ORR_P_TIME, "5us", ORR_PF_POSITIVE, "time between one peer's sends"},
    {"recv_depth", ORR_P_UINT, "16", ORR_PF_POSITIVE, "RECVs kept posted per QP", NULL, 1,
     XPORT_MAX_RECV},
    {"send_window", ORR_P_UINT, "8", ORR_PF_POSITIVE, "sends in flight per peer", NULL, 1, 1024},
    {"keepalive", ORR_P_TIME, "20us", 0, "idle peer: send a keepalive this often; 0: never"},
    {"op_timeout", ORR_P_TIME, "1ms", ORR_PF_POSITIVE,
     "no send completion for this long: the peer is down (above the RNIC's retry budget)"},
    {"handshake_timeout", ORR_P_TIME, "200us", ORR_PF_POSITIVE, "resend CONNECT-REQ/-REP after"},
    {"handshake_retries", ORR_P_UINT, "5", 0, "then the peer is down"},
    {"recv_base", ORR_P_SIZE, "16MiB", 0, "host address of the receive buffers"},
    {NULL},
};

static const struct orr_port_doc cn_ports[] = {
    {"rnic", "to an rnic's host port (include/orrery/rdma.h verbs)"},
    {NULL},
};

static const struct platform_tracepoint cn_tps[] = {
    {XPORT_TP_PEER_UP, "xport_peer_up"},
    {XPORT_TP_PEER_DOWN, "xport_peer_down"},
};

struct cn_peer {
    bool wanted;      /* in our peer set */
    uint64_t sent, received;
    struct orr_value *v_sent, *v_delivered, *v_down; /* wanted peers only */
};

struct cnode {
    struct orr_component *comp;
    struct platform plat;
    struct xport x;
    struct xport_peer *aXp;
    struct cn_peer *aPeer;
    struct xport_config cfg;
    unsigned peers;
    uint64_t messages;
    uint32_t size;
    orr_time_t interval;
    bool sending, done;
    unsigned nUp;                 /* peers that came up */
    struct orr_counter *sent, *delivered, *eagain, *bad;
    struct orr_value *v_up, *v_down, *v_hs, *v_ka, *v_stray, *v_misordered, *v_done_at;
    orr_time_t done_at;
};

static struct cnode *cn_of(struct xport *x) { return x->arg; }

/* ------------------------------------------------------------ the workload */

static bool peer_finished(const struct cnode *n, uint32_t p)
{
    const struct cn_peer *q = &n->aPeer[p];
    return !q->wanted || xport_peer_state(&n->x, p) == XP_DOWN ||
           (q->sent == n->messages && q->received >= n->messages);
}

static void check_done(struct cnode *n)
{
    if (n->done)
        return;
    for (uint32_t p = 0; p < n->cfg.nodes; p++)
        if (!peer_finished(n, p))
            return;
    n->done = true;
    n->done_at = orr_now(n->comp->sim);
    orr_workload_done(n->comp);
}

static void arm_sends(struct cnode *n)
{
    if (!n->sending && n->messages) {
        n->sending = true;
        orr_timer(n->comp, n->interval, TAG_SEND, 0, 0);
    }
}

/* ------------------------------------------------ the transport's clients */

static void on_up(struct xport *x, struct hal_cpu *c, uint32_t peer)
{
    (void)c, (void)peer;
    cn_of(x)->nUp++;
    arm_sends(cn_of(x));
}

static void on_deliver(struct xport *x, struct hal_cpu *c, uint32_t peer, const uint8_t *msg,
                       uint32_t len)
{
    struct cnode *n = cn_of(x);
    uint32_t src = len >= 4 ? (uint32_t)msg[0] | (uint32_t)msg[1] << 8 | (uint32_t)msg[2] << 16 |
                                  (uint32_t)msg[3] << 24
                            : UINT32_MAX;
    (void)c;
    if (src != peer)
        n->bad->v++; /* the CQE's data is not what the peer sent */
    n->aPeer[peer].received++;
    n->delivered->v++;
}

/* Nothing to undo: the peer counts as finished (peer_finished), and the
 * transport traced it. */
static void on_down(struct xport *x, struct hal_cpu *c, uint32_t peer, uint32_t status)
{
    (void)x, (void)c, (void)peer, (void)status;
}

static void on_failed(struct xport *x, struct hal_cpu *c, int64_t why)
{
    (void)x, (void)why;
    hal_panic(c, "cluster transport: the RNIC refused its CQs or QP 1");
}

static const struct xport_ops cn_ops = {NULL, on_up, on_deliver, on_down, on_failed};

/* ----------------------------------------------------------- kernel glue */

static void rearm(struct cnode *n, struct hal_cpu *c)
{
    hal_ns_t d = xport_next_deadline(&n->x);
    if (d)
        hal_timer_set(c, d);
    else
        hal_timer_cancel(c);
    int code = xport_check(&n->x);
    if (code)
        hal_panic(c, xport_check_name(code));
}

static struct cnode *cn_kernel(struct hal_cpu *c) { return hal_kernel_data(c); }

static void up_timer(struct hal_cpu *c)
{
    struct cnode *n = cn_kernel(c);
    xport_timer(&n->x, c);
    rearm(n, c);
}

static void up_ipi(struct hal_cpu *c, uint32_t reason) { (void)c, (void)reason; }

static void up_net(struct hal_cpu *c, uint32_t cq)
{
    struct cnode *n = cn_kernel(c);
    xport_handle(&n->x, c, cq);
    rearm(n, c);
}

/* After a kernel entry: its cost was already charged to the messages it
 * sent; the workload may be done; a panic fails the run. */
static void after_kernel(struct cnode *n)
{
    platform_take_cost(&n->plat, 0);
    if (n->plat.panicked) {
        orr_sim_fail(n->comp, "%s", n->plat.panic_msg);
        return;
    }
    check_done(n);
}

static void do_start(struct hal_cpu *c, void *arg)
{
    struct cnode *n = arg;
    int rc = xport_start(&n->x, c);
    if (rc)
        hal_panic(c, "cluster transport: no network (is the rnic port linked?)");
    for (uint32_t p = 0; p < n->cfg.nodes; p++) /* in id order */
        if (n->aPeer[p].wanted)
            xport_connect(&n->x, c, p);
    rearm(n, c);
}

static void do_sends(struct hal_cpu *c, void *arg)
{
    struct cnode *n = arg;
    bool more = false;
    uint8_t msg[XPORT_MSG_MAX];
    memset(msg, 0, sizeof msg);
    for (uint32_t p = 0; p < n->cfg.nodes; p++) {
        struct cn_peer *q = &n->aPeer[p];
        enum xport_peer_state st = xport_peer_state(&n->x, p);
        if (!q->wanted || st == XP_DOWN || q->sent == n->messages)
            continue;
        more = true;
        if (st != XP_UP)
            continue;
        for (unsigned i = 0; i < 4; i++) {
            msg[i] = (uint8_t)(n->cfg.self >> (8 * i));
            msg[4 + i] = (uint8_t)(q->sent >> (8 * i));
        }
        int rc = xport_send(&n->x, c, p, msg, n->size);
        if (rc == XPORT_OK) {
            q->sent++;
            n->sent->v++;
        } else if (rc == XPORT_EAGAIN) {
            n->eagain->v++;
        }
    }
    n->sending = more;
    rearm(n, c);
}

/* ------------------------------------------------------------- component */

static int cn_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct cnode *n = c->state;
    n->comp = c;
    xport_config_default(&n->cfg);
    n->cfg.self = (uint32_t)orr_param_u64(p, "node");
    n->cfg.nodes = (uint32_t)orr_param_u64(p, "nodes");
    n->cfg.recv_depth = (uint32_t)orr_param_u64(p, "recv_depth");
    n->cfg.send_window = (uint32_t)orr_param_u64(p, "send_window");
    n->cfg.keepalive_ns = orr_param_u64(p, "keepalive") / ORR_NS;
    n->cfg.op_timeout_ns = orr_param_u64(p, "op_timeout") / ORR_NS;
    n->cfg.handshake_timeout_ns = orr_param_u64(p, "handshake_timeout") / ORR_NS;
    n->cfg.handshake_retries = (uint32_t)orr_param_u64(p, "handshake_retries");
    n->cfg.recv_base = orr_param_u64(p, "recv_base");
    n->peers = orr_param_enum(p, "peers");
    n->messages = orr_param_u64(p, "messages");
    n->size = (uint32_t)orr_param_u64(p, "size");
    n->interval = orr_param_u64(p, "interval");
    if (n->cfg.self >= n->cfg.nodes) {
        orr_diag_error(d, orr_param_mark(p, "node"), c->keypath,
                       "node %u is not below nodes (%u)", n->cfg.self, n->cfg.nodes);
        return ORR_ESCHEMA;
    }
    if (n->cfg.op_timeout_ns == 0 || n->cfg.handshake_timeout_ns == 0) {
        orr_diag_error(d, &c->mark, c->keypath, "op_timeout and handshake_timeout must be >= 1ns");
        return ORR_ESCHEMA;
    }
    n->aXp = calloc(n->cfg.nodes, sizeof *n->aXp);
    n->aPeer = calloc(n->cfg.nodes, sizeof *n->aPeer);
    if (!n->aXp || !n->aPeer)
        orr_oom();
    if (xport_init(&n->x, &n->cfg, n->aXp, &cn_ops, n)) {
        orr_diag_error(d, &c->mark, c->keypath, "the cluster transport refused this configuration");
        return ORR_ESCHEMA;
    }
    uint32_t self = n->cfg.self, N = n->cfg.nodes;
    for (uint32_t q = 0; q < N; q++)
        n->aPeer[q].wanted = q != self && (n->peers == PEERS_ALL ||
                                           (n->peers == PEERS_RING &&
                                            (q == (self + 1) % N || q == (self + N - 1) % N)));
    for (uint32_t q = 0; q < N; q++) {
        struct cn_peer *e = &n->aPeer[q];
        char name[64];
        if (!e->wanted)
            continue;
        snprintf(name, sizeof name, "peer%u.sent", q);
        e->v_sent = orr_value_new(c, name, "msg");
        snprintf(name, sizeof name, "peer%u.delivered", q);
        e->v_delivered = orr_value_new(c, name, "msg");
        snprintf(name, sizeof name, "peer%u.down", q);
        e->v_down = orr_value_new(c, name, "bool");
    }
    static const struct platform_upcalls up = {up_timer, up_ipi, up_net};
    platform_init(&n->plat, c, 1, orr_param_u64(p, "frequency"), 0, cn_tps, 2, &up);
    platform_net_attach(&n->plat, orr_port_add(c, "rnic"), orr_param_u64(p, "irq_latency"));
    hal_set_kernel_data(&n->plat.aCpu[0], n);
    n->sent = orr_counter_new(c, "messages_sent", "msg");
    n->delivered = orr_counter_new(c, "messages_delivered", "msg");
    n->eagain = orr_counter_new(c, "send_retries", "send");
    n->bad = orr_counter_new(c, "bad_messages", "msg");
    n->v_up = orr_value_new(c, "peers_connected", "peer");
    n->v_down = orr_value_new(c, "peers_down", "peer");
    n->v_hs = orr_value_new(c, "handshake_messages", "msg");
    n->v_ka = orr_value_new(c, "keepalives", "msg");
    n->v_stray = orr_value_new(c, "stray_completions", "cqe");
    n->v_misordered = orr_value_new(c, "misordered_messages", "msg");
    n->v_done_at = orr_value_new(c, "done_at", "ps");
    return 0;
}

static int cn_start(struct orr_component *c, struct orr_diag *d)
{
    struct cnode *n = c->state;
    if (!n->plat.net.port->link) {
        orr_diag_error(d, &c->mark, c->keypath,
                       "port 'rnic' is not linked: link it to an rnic's host port");
        return ORR_ESCHEMA;
    }
    platform_call(&n->plat, 0, do_start, n);
    after_kernel(n);
    return 0;
}

static void cn_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct cnode *n = c->state;
    if (n->plat.panicked)
        return;
    if (!platform_handle(&n->plat, ev)) {
        if (ev->kind != ORR_TK_TIMER || ev->port != TAG_SEND)
            return;
        platform_call(&n->plat, 0, do_sends, n);
        if (n->sending)
            orr_timer(c, n->interval, TAG_SEND, 0, 0);
    }
    after_kernel(n);
}

static void cn_finish(struct orr_component *c)
{
    struct cnode *n = c->state;
    n->v_up->v = n->nUp;
    n->v_down->v = (double)n->x.nPeersDown;
    n->v_hs->v = (double)n->x.nHandshakeMsgs;
    n->v_ka->v = (double)n->x.nKeepalives;
    n->v_stray->v = (double)n->x.nStray;
    n->v_misordered->v = (double)n->x.nMisordered;
    n->v_done_at->v = (double)n->done_at;
    for (uint32_t p = 0; p < n->cfg.nodes; p++) {
        struct cn_peer *e = &n->aPeer[p];
        if (!e->wanted)
            continue;
        e->v_sent->v = (double)e->sent;
        e->v_delivered->v = (double)e->received;
        e->v_down->v = xport_peer_state(&n->x, p) == XP_DOWN;
    }
}

static void cn_destroy(struct orr_component *c)
{
    struct cnode *n = c->state;
    free(n->aXp);
    free(n->aPeer);
    platform_free(&n->plat);
}

static const struct orr_metric_doc cn_metrics[] = {
    {"peer<N>.sent", "msg", ORR_METRIC_VALUE,
     "messages sent to peer node N (peers this node connects to)"},
    {"peer<N>.delivered", "msg", ORR_METRIC_VALUE, "messages from peer node N delivered here"},
    {"peer<N>.down", "bool", ORR_METRIC_VALUE, "1 if the transport declared peer node N down"},
    PLATFORM_METRICS,
    PLATFORM_NET_METRICS,
    {"messages_sent", "msg", ORR_METRIC_COUNTER, "messages the workload handed to the transport"},
    {"messages_delivered", "msg", ORR_METRIC_COUNTER,
     "messages the transport delivered to the workload"},
    {"send_retries", "send", ORR_METRIC_COUNTER,
     "sends the transport refused for now (EAGAIN); the workload retries"},
    {"bad_messages", "msg", ORR_METRIC_COUNTER,
     "delivered messages not starting with the sender's node id"},
    {"peers_connected", "peer", ORR_METRIC_VALUE, "peers connected at the end of the run"},
    {"peers_down", "peer", ORR_METRIC_VALUE, "peers the transport declared down"},
    {"handshake_messages", "msg", ORR_METRIC_VALUE,
     "connection handshake messages the transport sent"},
    {"keepalives", "msg", ORR_METRIC_VALUE, "keepalive messages the transport sent"},
    {"stray_completions", "cqe", ORR_METRIC_VALUE,
     "completions and handshake messages the transport did not expect"},
    {"misordered_messages", "msg", ORR_METRIC_VALUE,
     "messages failing the transport's sequence check"},
    {"done_at", "ps", ORR_METRIC_VALUE, "when the workload finished (0: it did not)"},
    {NULL},
};

const struct orr_component_type orr_cluster_node_type = {
    .name = "cluster_node",
    .summary = "a node running the reference kernel's RDMA transport over an rnic, with a "
               "message workload",
    .params = cn_params,
    .ports = cn_ports,
    .metrics = cn_metrics,
    .state_size = sizeof(struct cnode),
    .workload = true,
    .create = cn_create,
    .start = cn_start,
    .handle = cn_handle,
    .finish = cn_finish,
    .destroy = cn_destroy,
};
