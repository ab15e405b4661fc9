/* The cluster transport: reliable small messages between node kernels over
 * RDMA (include/kernel/cluster.h, docs/kernel-cluster.md). Connections are
 * made with an InfiniBand-CM-like handshake over each node's UD QP 1, data
 * flows as inline SEND_IMM on one RC QP per peer into a pool of pre-posted
 * RECVs, and any error completion on a peer's QP takes the peer DOWN.
 *
 * Wire formats: the immediate says what a message is, kind in bits 31..24
 * and an argument below. Connection management: a UD SEND_IMM to (peer,
 * QP 1) of no bytes, kind CM_REQ / CM_REP / CM_RTU, argument the sender's
 * RC qpn for the receiver (which knows its own; everything a CM message says
 * fits in the immediate, so it needs no receive buffer read). Data: an RC
 * SEND_IMM, kind DATA, argument the low 24 bits of the per-peer sequence
 * number (RC delivers in order: a gap is counted in nMisordered), the
 * message as inline payload; it comes back in the receiver's CQE
 * (scatter-to-CQE, RDMA_CQE_INLINE). Keepalives: kind KEEPALIVE, one byte,
 * never delivered.
 *
 * Handshake (initiator I, responder R; "->" is a UD message):
 *   I: CREATE_QP, post RECVs        I -> R  REQ(qpI)
 *   R: CREATE_QP, post RECVs, CONNECT(qpR -> I.qpI)    R -> I  REP(qpR)
 *   I: CONNECT(qpI -> R.qpR), UP    I -> R  RTU(qpI)
 *   R: UP on RTU, or on the first message arriving on qpR (implied RTU)
 * R becomes UP only after I's QP is connected, so R never sends to a QP in
 * INIT (which would fail R's send). Simultaneous connect: each side is an
 * initiator; the lower node id wins and ignores the other's REQ, the higher
 * turns its QP (created or being created) into the responder's for the
 * winner's REQ. Lost REQs and REPs are resent after handshake_timeout, at
 * most handshake_retries times, then the peer is DOWN; a lost RTU is
 * repaired by the REP resend (I answers a duplicate REP with an RTU).
 *
 * Peer states and transitions:
 *
 *   IDLE -> CREATING        [xport_connect, or a REQ from the peer: CREATE_QP]
 *   CREATING -> REQ_SENT    [ctl_done: initiator, QP made, REQ sent]
 *   CREATING -> CONNECTING  [ctl_done: responder, CONNECT posted]
 *   REQ_SENT -> CONNECTING  [on_rep, or lost the tie on the peer's REQ]
 *   CONNECTING -> UP        [ctl_done: initiator, RTU sent]
 *   CONNECTING -> ACCEPTED  [ctl_done: responder, REP sent]
 *   ACCEPTED -> UP          [on_rtu, or the first data/keepalive on the QP]
 *   any but IDLE -> DOWN    [an error CQE on the QP, a failed control verb,
 *                            handshake retries or op_timeout exhausted]
 *
 *   IDLE --> CREATING --> REQ_SENT --> CONNECTING --> UP
 *                  \___________________/  \--> ACCEPTED --/
 *   (all but IDLE) ------------------------------------------> DOWN
 *
 * Invariants (xport_check, numbered as its codes):
 *   1. The transport is in a known state; READY means both CQs exist and
 *      the UD QP is QP 1.
 *   2. Before READY every peer is IDLE (no RC QP before QP 1), and our own
 *      entry is IDLE always.
 *   3. Each peer is in a known state.
 *   4. IDLE: no QP, nothing posted, nothing in flight, not an initiator.
 *   5. REQ_SENT..UP have a QP; CONNECTING..UP know the peer's QP.
 *   6. RECVs posted <= recv_depth; sends in flight <= send_window.
 *   7. A deadline is set in REQ_SENT and ACCEPTED, and in UP while sends
 *      are in flight (no completion for op_timeout means DOWN).
 *   8. Our RC QPs are distinct and none is the UD QP.
 *   9. nPeersDown counts the DOWN peers.
 *
 * A DOWN peer's QP is left in ERROR (its flushed WRs still complete and are
 * counted off) and is never reused: this transport does not reconnect. A
 * CQE whose wr_id names a peer whose QP it is not from is stray: counted,
 * ignored. Costs (hal_cost) are estimates of the driver work per verb. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/cluster.h"
#include "kernel/hal.h"
#include "kernel/kstring.h"

enum {
    COST_POST = 150, /* build a WQE, ring a doorbell */
    COST_CQE = 80,   /* read and dispatch a CQE */
    COST_CTL = 400,  /* a control verb's driver path, before the RNIC's latency */
};

enum { IMM_DATA = 0x01, IMM_KEEPALIVE = 0x02, XPORT_CM_REQ = 0x10, XPORT_CM_REP, XPORT_CM_RTU };

static uint32_t imm_make(uint32_t kind, uint32_t arg) { return kind << 24 | (arg & 0xFFFFFFu); }
static uint32_t imm_kind(uint32_t imm) { return imm >> 24; }
static uint32_t imm_arg(uint32_t imm) { return imm & 0xFFFFFFu; }

/* wr_ids and control cookies: tag 'X' in 63..56, kind in 55..48, peer in
 * 47..24 (24 bits: XPORT_MAX_NODES), slot in 23..0. */
enum { WR_SEND = 1, WR_RECV, WR_UD_SEND, WR_UD_RECV, CK_SEND_CQ, CK_RECV_CQ, CK_UD_QP, CK_RC_QP,
       CK_CONNECT };
#define ID_TAG 0x58u

static uint64_t make_id(unsigned kind, uint32_t peer, uint32_t slot)
{
    return (uint64_t)ID_TAG << 56 | (uint64_t)kind << 48 | (uint64_t)(peer & 0xFFFFFFu) << 24 |
           (slot & 0xFFFFFFu);
}
static bool id_ours(uint64_t id) { return (id >> 56) == ID_TAG; }
static unsigned id_kind(uint64_t id) { return (unsigned)(id >> 48) & 0xFFu; }
static uint32_t id_peer(uint64_t id) { return (uint32_t)(id >> 24) & 0xFFFFFFu; }
static uint32_t id_slot(uint64_t id) { return (uint32_t)id & 0xFFFFFFu; }

void xport_config_default(struct xport_config *cfg)
{
    kmemset(cfg, 0, sizeof *cfg);
    cfg->recv_depth = 16;
    cfg->send_window = 8;
    cfg->cq_depth = 1024;
    cfg->keepalive_ns = 20000;            /* 20 us */
    cfg->op_timeout_ns = 1000000;         /* 1 ms: well above an RNIC's retry budget */
    cfg->handshake_timeout_ns = 200000;   /* 200 us */
    cfg->handshake_retries = 5;
}

/* ------------------------------------------------------------ invariants */

static bool has_qp_state(unsigned s) { return s >= XP_REQ_SENT && s <= XP_UP; }
static bool knows_remote_state(unsigned s) { return s >= XP_CONNECTING && s <= XP_UP; }

int xport_check(const struct xport *x)
{
    const struct xport_config *k = &x->cfg;
    if (x->eState > XPORT_FAILED ||
        (x->eState == XPORT_READY && (!x->send_cq || !x->recv_cq || x->ud_qpn != XPORT_UD_QPN)))
        return 1;
    uint64_t down = 0;
    for (uint32_t p = 0; p < k->nodes; p++) {
        const struct xport_peer *e = &x->aPeer[p];
        if ((p == k->self || x->eState < XPORT_READY) && e->eState != XP_IDLE)
            return 2;
        if (e->eState >= XP_NSTATE)
            return 3;
        if (e->eState == XP_IDLE &&
            (e->qpn || e->nSendOut || e->nRecvPosted || e->initiator || e->deadline))
            return 4;
        if ((has_qp_state(e->eState) && !e->qpn) ||
            (knows_remote_state(e->eState) && !e->remote_qpn))
            return 5;
        if (e->nRecvPosted > k->recv_depth || e->nSendOut > k->send_window)
            return 6;
        if (((e->eState == XP_REQ_SENT || e->eState == XP_ACCEPTED) && !e->deadline) ||
            (e->eState == XP_UP && e->nSendOut && !e->deadline))
            return 7;
        if (e->qpn) {
            if (e->qpn == x->ud_qpn)
                return 8;
            for (uint32_t q = p + 1; q < k->nodes; q++)
                if (x->aPeer[q].qpn == e->qpn)
                    return 8;
        }
        down += e->eState == XP_DOWN;
    }
    return down == x->nPeersDown ? 0 : 9;
}

const char *xport_check_name(int code)
{
    static const char *const names[] = {
        "ok",
        "transport state (READY needs both CQs and UD QP 1)",
        "a peer left IDLE before READY, or our own entry is not IDLE",
        "peer state out of range",
        "an IDLE peer holds a QP or work",
        "a connected state without our QP or the peer's",
        "more RECVs posted or sends in flight than configured",
        "a waiting state without a deadline",
        "two peers share a QP, or a peer uses the UD QP",
        "nPeersDown does not count the DOWN peers",
    };
    return code >= 0 && code <= 9 ? names[code] : "unknown";
}

const char *xport_peer_state_name(enum xport_peer_state s)
{
    static const char *const names[XP_NSTATE] = {"IDLE", "CREATING", "REQ_SENT", "CONNECTING",
                                                 "ACCEPTED", "UP", "DOWN"};
    return (unsigned)s < XP_NSTATE ? names[s] : "?";
}

enum xport_peer_state xport_peer_state(const struct xport *x, uint32_t peer)
{
    return peer < x->cfg.nodes ? (enum xport_peer_state)x->aPeer[peer].eState : XP_IDLE;
}

/* --------------------------------------------------------------- helpers */

static void fail(struct xport *x, struct hal_cpu *c, int64_t why)
{
    x->eState = XPORT_FAILED;
    x->fail_why = why;
    if (x->ops->on_failed)
        x->ops->on_failed(x, c, why);
}

static void peer_down(struct xport *x, struct hal_cpu *c, uint32_t peer, uint32_t status)
{
    struct xport_peer *e = &x->aPeer[peer];
    if (e->eState == XP_DOWN)
        return;
    e->eState = XP_DOWN;
    e->down_status = status;
    e->deadline = 0;
    x->nPeersDown++;
    hal_trace(c, XPORT_TP_PEER_DOWN, peer, status);
    x->ops->on_peer_down(x, c, peer, status);
}

static void peer_up(struct xport *x, struct hal_cpu *c, uint32_t peer)
{
    struct xport_peer *e = &x->aPeer[peer];
    e->eState = XP_UP;
    e->deadline = 0;
    e->last_send = hal_now(c);
    hal_trace(c, XPORT_TP_PEER_UP, peer, e->qpn);
    if (x->ops->on_peer_up)
        x->ops->on_peer_up(x, c, peer);
}

static int ctl(struct hal_cpu *c, uint32_t op, uint32_t qpn, uint32_t node, uint32_t rqpn,
               uint64_t cookie, const struct xport *x, uint32_t qp_type)
{
    struct hal_net_ctl r;
    kmemset(&r, 0, sizeof r);
    r.op = op;
    r.qp_type = qp_type;
    r.send_cq = x->send_cq;
    r.recv_cq = x->recv_cq;
    r.depth = op == HAL_NET_CTL_CREATE_CQ ? x->cfg.cq_depth
                                           : (x->cfg.recv_depth > x->cfg.send_window + 2
                                                  ? x->cfg.recv_depth
                                                  : x->cfg.send_window + 2);
    r.qpn = qpn;
    r.remote_node = node;
    r.remote_qpn = rqpn;
    r.cookie = cookie;
    hal_cost(c, COST_CTL);
    return hal_net_ctl(c, &r);
}

/* Receive buffer of (peer or nodes for UD, slot). */
static uint64_t recv_addr(const struct xport *x, uint32_t index, uint32_t slot)
{
    return x->cfg.recv_base + ((uint64_t)index * x->cfg.recv_depth + slot) * XPORT_MSG_MAX;
}

static int post_recv(struct xport *x, struct hal_cpu *c, uint32_t qpn, uint32_t peer,
                     uint32_t slot)
{
    struct hal_net_wr wr;
    kmemset(&wr, 0, sizeof wr);
    bool ud = qpn == x->ud_qpn;
    wr.wr_id = make_id(ud ? WR_UD_RECV : WR_RECV, peer, slot);
    wr.opcode = HAL_NET_OP_RECV;
    wr.laddr = recv_addr(x, ud ? x->cfg.nodes : peer, slot);
    wr.length = XPORT_MSG_MAX;
    hal_cost(c, COST_POST);
    return hal_net_post_recv(c, qpn, &wr, 1);
}

/* Post RECVs on a fresh RC QP until recv_depth are out. */
static int fill_recvs(struct xport *x, struct hal_cpu *c, uint32_t peer)
{
    struct xport_peer *e = &x->aPeer[peer];
    for (uint32_t s = e->nRecvPosted; s < x->cfg.recv_depth; s++) {
        int rc = post_recv(x, c, e->qpn, peer, s);
        if (rc)
            return rc;
        e->nRecvPosted++;
    }
    return 0;
}

static int send_inline(struct hal_cpu *c, uint32_t qpn, uint64_t wr_id, uint32_t imm,
                       const void *data, uint32_t len, bool signaled, uint32_t ud_node)
{
    struct hal_net_wr wr;
    kmemset(&wr, 0, sizeof wr);
    wr.wr_id = wr_id;
    wr.opcode = HAL_NET_OP_SEND_IMM;
    wr.flags = HAL_NET_F_INLINE | (signaled ? HAL_NET_F_SIGNALED : 0);
    wr.length = len;
    wr.imm = imm;
    if (ud_node != UINT32_MAX) {
        wr.ud_node = ud_node;
        wr.ud_qpn = XPORT_UD_QPN;
    }
    if (len)
        kmemcpy(wr.inline_data, data, len);
    hal_cost(c, COST_POST);
    return hal_net_post(c, qpn, &wr, 1);
}

/* A connection-management message to the peer's QP 1 (unsignaled UD). */
static void cm_send(struct xport *x, struct hal_cpu *c, uint32_t peer, uint32_t type)
{
    const struct xport_peer *e = &x->aPeer[peer];
    x->nHandshakeMsgs++;
    if (send_inline(c, x->ud_qpn, make_id(WR_UD_SEND, peer, 0), imm_make(type, e->qpn), NULL, 0,
                    false, peer))
        peer_down(x, c, peer, XPORT_DOWN_LOCAL);
}

/* ------------------------------------------------------------- lifecycle */

int xport_init(struct xport *x, const struct xport_config *cfg, struct xport_peer *aPeer,
               const struct xport_ops *ops, void *arg)
{
    if (!cfg || !aPeer || !ops || !ops->on_deliver || !ops->on_peer_down || cfg->nodes == 0 ||
        cfg->nodes > XPORT_MAX_NODES || cfg->self >= cfg->nodes || cfg->recv_depth == 0 ||
        cfg->recv_depth > XPORT_MAX_RECV || cfg->send_window == 0 || cfg->cq_depth == 0 ||
        cfg->op_timeout_ns == 0 || cfg->handshake_timeout_ns == 0)
        return XPORT_EINVAL;
    kmemset(x, 0, sizeof *x);
    kmemcpy(&x->cfg, cfg, sizeof *cfg);
    x->ops = ops;
    x->arg = arg;
    x->aPeer = aPeer;
    kmemset(aPeer, 0, (size_t)cfg->nodes * sizeof *aPeer);
    return XPORT_OK;
}

int xport_start(struct xport *x, struct hal_cpu *c)
{
    if (x->eState != XPORT_OFF)
        return XPORT_EINVAL;
    /* control verbs are answered in order: both CQs before the UD QP */
    if (ctl(c, HAL_NET_CTL_CREATE_CQ, 0, 0, 0, make_id(CK_SEND_CQ, 0, 0), x, 0) ||
        ctl(c, HAL_NET_CTL_CREATE_CQ, 0, 0, 0, make_id(CK_RECV_CQ, 0, 0), x, 0))
        return XPORT_ENET;
    x->eState = XPORT_BOOT;
    return XPORT_OK;
}

/* Become the initiator: create our QP. */
static void start_connect(struct xport *x, struct hal_cpu *c, uint32_t peer)
{
    struct xport_peer *e = &x->aPeer[peer];
    e->want = false;
    e->initiator = true;
    e->eState = XP_CREATING;
    if (ctl(c, HAL_NET_CTL_CREATE_QP, 0, 0, 0, make_id(CK_RC_QP, peer, 0), x, HAL_NET_QPT_RC))
        peer_down(x, c, peer, XPORT_DOWN_LOCAL);
}

int xport_connect(struct xport *x, struct hal_cpu *c, uint32_t peer)
{
    if (peer >= x->cfg.nodes || peer == x->cfg.self)
        return XPORT_EINVAL;
    struct xport_peer *e = &x->aPeer[peer];
    if (e->eState == XP_DOWN || x->eState == XPORT_FAILED)
        return XPORT_EDOWN;
    if (e->eState != XP_IDLE)
        return XPORT_OK; /* under way or up */
    if (x->eState != XPORT_READY) {
        e->want = true;
        return XPORT_OK;
    }
    start_connect(x, c, peer);
    return XPORT_OK;
}

static void become_ready(struct xport *x, struct hal_cpu *c)
{
    for (uint32_t s = 0; s < x->cfg.recv_depth; s++) {
        if (post_recv(x, c, x->ud_qpn, x->cfg.nodes, s)) {
            fail(x, c, XPORT_ENET);
            return;
        }
        x->nUdRecvPosted++;
    }
    x->eState = XPORT_READY;
    if (x->ops->on_ready)
        x->ops->on_ready(x, c);
    for (uint32_t p = 0; p < x->cfg.nodes; p++) /* in id order: deterministic */
        if (x->aPeer[p].want && x->aPeer[p].eState == XP_IDLE)
            start_connect(x, c, p);
}

/* ------------------------------------------------------ control results */

/* Our RC QP for peer exists (qpn) or could not be made (qpn <= 0). */
static void on_qp_created(struct xport *x, struct hal_cpu *c, uint32_t peer, int64_t qpn)
{
    struct xport_peer *e = &x->aPeer[peer];
    if (e->eState != XP_CREATING)
        return;
    if (qpn <= 0) {
        peer_down(x, c, peer, XPORT_DOWN_LOCAL);
        return;
    }
    e->qpn = (uint32_t)qpn;
    if (fill_recvs(x, c, peer)) {
        peer_down(x, c, peer, XPORT_DOWN_LOCAL);
        return;
    }
    if (e->initiator) {
        e->eState = XP_REQ_SENT;
        e->deadline = hal_now(c) + x->cfg.handshake_timeout_ns;
        cm_send(x, c, peer, XPORT_CM_REQ);
    } else {
        e->eState = XP_CONNECTING;
        if (ctl(c, HAL_NET_CTL_CONNECT, e->qpn, peer, e->remote_qpn, make_id(CK_CONNECT, peer, 0),
                x, 0))
            peer_down(x, c, peer, XPORT_DOWN_LOCAL);
    }
}

static void on_connected(struct xport *x, struct hal_cpu *c, uint32_t peer, int64_t r)
{
    struct xport_peer *e = &x->aPeer[peer];
    if (e->eState != XP_CONNECTING)
        return;
    if (r < 0) {
        peer_down(x, c, peer, XPORT_DOWN_LOCAL);
        return;
    }
    if (e->initiator) {
        peer_up(x, c, peer);
        cm_send(x, c, peer, XPORT_CM_RTU);
    } else {
        e->eState = XP_ACCEPTED;
        e->nRetry = 0;
        e->deadline = hal_now(c) + x->cfg.handshake_timeout_ns;
        cm_send(x, c, peer, XPORT_CM_REP);
    }
}

static void on_ctl(struct xport *x, struct hal_cpu *c, const struct hal_net_cqe *q)
{
    int64_t r = (int64_t)q->value;
    uint32_t peer = id_peer(q->wr_id);
    if (!id_ours(q->wr_id) || q->opcode != HAL_NET_WC_CTL)
        return; /* another subsystem's control verb */
    switch (id_kind(q->wr_id)) {
    case CK_SEND_CQ:
    case CK_RECV_CQ:
        if (x->eState != XPORT_BOOT)
            return;
        if (r <= 0) {
            fail(x, c, r);
            return;
        }
        *(id_kind(q->wr_id) == CK_SEND_CQ ? &x->send_cq : &x->recv_cq) = (uint32_t)r;
        if (x->send_cq && x->recv_cq &&
            ctl(c, HAL_NET_CTL_CREATE_QP, 0, 0, 0, make_id(CK_UD_QP, 0, 0), x, HAL_NET_QPT_UD))
            fail(x, c, XPORT_ENET);
        return;
    case CK_UD_QP:
        if (x->eState != XPORT_BOOT)
            return;
        if (r != XPORT_UD_QPN) { /* not QP 1: peers could not find us */
            fail(x, c, r);
            return;
        }
        x->ud_qpn = (uint32_t)r;
        become_ready(x, c);
        return;
    case CK_RC_QP:
        if (peer < x->cfg.nodes)
            on_qp_created(x, c, peer, r);
        return;
    case CK_CONNECT:
        if (peer < x->cfg.nodes)
            on_connected(x, c, peer, r);
        return;
    }
}

/* ------------------------------------------------- connection management */

static void on_req(struct xport *x, struct hal_cpu *c, uint32_t peer, uint32_t their)
{
    struct xport_peer *e = &x->aPeer[peer];
    if (e->eState == XP_IDLE) { /* become the responder */
        e->want = false;
        e->initiator = false;
        e->remote_qpn = their;
        e->eState = XP_CREATING;
        if (ctl(c, HAL_NET_CTL_CREATE_QP, 0, 0, 0, make_id(CK_RC_QP, peer, 0), x, HAL_NET_QPT_RC))
            peer_down(x, c, peer, XPORT_DOWN_LOCAL);
        return;
    }
    if (e->initiator && (e->eState == XP_CREATING || e->eState == XP_REQ_SENT)) {
        if (x->cfg.self < peer)
            return; /* simultaneous connect: the lower id stays initiator */
        e->initiator = false; /* we lost: our QP answers their REQ */
        e->remote_qpn = their;
        e->nRetry = 0;
        e->deadline = 0;
        if (e->eState == XP_REQ_SENT) {
            e->eState = XP_CONNECTING;
            if (ctl(c, HAL_NET_CTL_CONNECT, e->qpn, peer, their, make_id(CK_CONNECT, peer, 0), x,
                    0))
                peer_down(x, c, peer, XPORT_DOWN_LOCAL);
        }
        return;
    }
    if (!e->initiator && e->eState == XP_ACCEPTED && their == e->remote_qpn) {
        cm_send(x, c, peer, XPORT_CM_REP); /* our REP was lost: their REQ came again */
        return;
    }
    x->nStray++; /* a duplicate, or a peer that forgot us: not handled */
}

static void on_rep(struct xport *x, struct hal_cpu *c, uint32_t peer, uint32_t their)
{
    struct xport_peer *e = &x->aPeer[peer];
    if (e->initiator && e->eState == XP_REQ_SENT && their) {
        e->remote_qpn = their;
        e->deadline = 0;
        e->eState = XP_CONNECTING;
        if (ctl(c, HAL_NET_CTL_CONNECT, e->qpn, peer, their, make_id(CK_CONNECT, peer, 0), x, 0))
            peer_down(x, c, peer, XPORT_DOWN_LOCAL);
    } else if (e->initiator && e->eState == XP_UP && their == e->remote_qpn) {
        cm_send(x, c, peer, XPORT_CM_RTU); /* our RTU was lost */
    } else {
        x->nStray++;
    }
}

static void on_ud_recv(struct xport *x, struct hal_cpu *c, const struct hal_net_cqe *q)
{
    uint32_t slot = id_slot(q->wr_id);
    x->nUdRecvPosted--;
    if (q->status != HAL_NET_WC_SUCCESS) {
        x->nStray++; /* UD QP in error: connections can no longer be made */
        return;
    }
    uint32_t peer = q->src_node;
    if (q->has_imm && peer < x->cfg.nodes && peer != x->cfg.self && q->src_qpn == XPORT_UD_QPN) {
        uint32_t their = imm_arg(q->imm), kind = imm_kind(q->imm);
        struct xport_peer *e = &x->aPeer[peer];
        if (e->eState == XP_DOWN)
            ; /* no reconnection */
        else if (kind == XPORT_CM_REQ && their)
            on_req(x, c, peer, their);
        else if (kind == XPORT_CM_REP)
            on_rep(x, c, peer, their);
        else if (kind == XPORT_CM_RTU && !e->initiator && e->eState == XP_ACCEPTED &&
                 their == e->remote_qpn)
            peer_up(x, c, peer);
        else
            x->nStray++;
    } else {
        x->nStray++;
    }
    if (post_recv(x, c, x->ud_qpn, x->cfg.nodes, slot) == 0)
        x->nUdRecvPosted++;
}

/* ------------------------------------------------------------------ data */

int xport_send(struct xport *x, struct hal_cpu *c, uint32_t peer, const void *msg, uint32_t len)
{
    if (peer >= x->cfg.nodes || peer == x->cfg.self || len > XPORT_MSG_MAX)
        return XPORT_EINVAL;
    struct xport_peer *e = &x->aPeer[peer];
    if (e->eState == XP_DOWN || x->eState == XPORT_FAILED)
        return XPORT_EDOWN;
    if (e->eState != XP_UP || e->nSendOut == x->cfg.send_window)
        return XPORT_EAGAIN;
    hal_ns_t now = hal_now(c);
    if (send_inline(c, e->qpn, make_id(WR_SEND, peer, (uint32_t)e->send_seq),
                    imm_make(IMM_DATA, (uint32_t)e->nSent), msg, len, true, UINT32_MAX))
        return XPORT_ENET;
    e->send_seq++;
    e->nSent++;
    if (e->nSendOut++ == 0)
        e->deadline = now + x->cfg.op_timeout_ns;
    e->last_send = now;
    return XPORT_OK;
}

static void send_keepalive(struct xport *x, struct hal_cpu *c, uint32_t peer)
{
    struct xport_peer *e = &x->aPeer[peer];
    static const uint8_t one[1] = {0};
    hal_ns_t now = hal_now(c);
    e->last_send = now;
    if (send_inline(c, e->qpn, make_id(WR_SEND, peer, (uint32_t)e->send_seq),
                    imm_make(IMM_KEEPALIVE, 0), one, 1, true, UINT32_MAX)) {
        peer_down(x, c, peer, XPORT_DOWN_LOCAL);
        return;
    }
    x->nKeepalives++;
    e->send_seq++;
    if (e->nSendOut++ == 0)
        e->deadline = now + x->cfg.op_timeout_ns;
}

/* A peer's QP completion, with the peer and whether it was a receive. */
static void on_rc_cqe(struct xport *x, struct hal_cpu *c, const struct hal_net_cqe *q,
                      uint32_t peer, bool recv)
{
    struct xport_peer *e = &x->aPeer[peer];
    if (recv)
        e->nRecvPosted--;
    else
        e->nSendOut--;
    if (q->status != HAL_NET_WC_SUCCESS) {
        peer_down(x, c, peer, q->status); /* once; later flushes just count off */
        return;
    }
    if (e->eState == XP_DOWN)
        return;
    if (!recv) {
        e->deadline = e->nSendOut ? hal_now(c) + x->cfg.op_timeout_ns : 0;
        return;
    }
    if (e->eState == XP_ACCEPTED)
        peer_up(x, c, peer); /* data before the RTU: the initiator is connected */
    if (e->eState == XP_UP && q->has_imm && imm_kind(q->imm) == IMM_DATA &&
        q->byte_len <= XPORT_MSG_MAX) {
        if (imm_arg(q->imm) != (uint32_t)(e->nDelivered & 0xFFFFFFu))
            x->nMisordered++; /* RC promised order: a bug below us */
        e->nDelivered++;
        x->ops->on_deliver(x, c, peer, q->inline_data, q->byte_len);
    }
    if (e->eState != XP_DOWN && post_recv(x, c, e->qpn, peer, id_slot(q->wr_id)) == 0)
        e->nRecvPosted++;
}

static void on_cqe(struct xport *x, struct hal_cpu *c, const struct hal_net_cqe *q)
{
    hal_cost(c, COST_CQE);
    if (q->opcode == HAL_NET_WC_CTL) {
        on_ctl(x, c, q);
        return;
    }
    uint32_t peer = id_peer(q->wr_id);
    unsigned kind = id_kind(q->wr_id);
    if (!id_ours(q->wr_id)) {
        x->nStray++;
        return;
    }
    if (kind == WR_UD_RECV && q->qpn == x->ud_qpn) {
        on_ud_recv(x, c, q);
    } else if (kind == WR_UD_SEND) {
        if (q->status != HAL_NET_WC_SUCCESS)
            x->nStray++; /* a lost CM message: the handshake timer resends */
    } else if ((kind == WR_SEND || kind == WR_RECV) && peer < x->cfg.nodes &&
               x->aPeer[peer].qpn == q->qpn && q->qpn) {
        on_rc_cqe(x, c, q, peer, kind == WR_RECV);
    } else {
        x->nStray++;
    }
}

static void drain(struct xport *x, struct hal_cpu *c, uint32_t cq)
{
    struct hal_net_cqe batch[4];
    for (;;) {
        int n = hal_net_poll(c, cq, batch, 4);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++)
            on_cqe(x, c, &batch[i]);
    }
}

/* Either data CQ's interrupt drains both, the send CQ first: when a QP
 * fails, its send error (the cause: RETRY_EXC_ERR) and its flushed RECVs
 * land on different CQs at about the same time, and the peer's down status
 * should be the cause rather than a flush. */
void xport_handle(struct xport *x, struct hal_cpu *c, uint32_t cq)
{
    if (cq != HAL_NET_CQ_CTL && x->send_cq && (cq == x->send_cq || cq == x->recv_cq)) {
        drain(x, c, x->send_cq);
        drain(x, c, x->recv_cq);
    } else {
        drain(x, c, cq);
    }
}

/* ----------------------------------------------------------------- timer */

void xport_timer(struct xport *x, struct hal_cpu *c)
{
    hal_ns_t now = hal_now(c);
    const struct xport_config *k = &x->cfg;
    for (uint32_t p = 0; p < k->nodes && x->eState == XPORT_READY; p++) {
        struct xport_peer *e = &x->aPeer[p];
        if (e->deadline && now >= e->deadline) {
            if (e->eState == XP_UP) {
                peer_down(x, c, p, XPORT_DOWN_TIMEOUT);
            } else if (e->nRetry >= k->handshake_retries) {
                peer_down(x, c, p, XPORT_DOWN_HANDSHAKE);
            } else if (e->eState == XP_REQ_SENT || e->eState == XP_ACCEPTED) {
                e->nRetry++;
                e->deadline = now + k->handshake_timeout_ns;
                cm_send(x, c, p, e->eState == XP_REQ_SENT ? XPORT_CM_REQ : XPORT_CM_REP);
            }
        }
        if (e->eState == XP_UP && k->keepalive_ns && e->nSendOut < k->send_window &&
            now >= e->last_send + k->keepalive_ns)
            send_keepalive(x, c, p);
    }
}

hal_ns_t xport_next_deadline(const struct xport *x)
{
    hal_ns_t next = 0;
    if (x->eState != XPORT_READY)
        return 0;
    for (uint32_t p = 0; p < x->cfg.nodes; p++) {
        const struct xport_peer *e = &x->aPeer[p];
        hal_ns_t t = e->deadline;
        if (e->eState == XP_UP && x->cfg.keepalive_ns && e->nSendOut < x->cfg.send_window) {
            hal_ns_t k = e->last_send + x->cfg.keepalive_ns;
            t = t && t < k ? t : k;
        }
        if (t && (!next || t < next))
            next = t;
    }
    return next;
}
