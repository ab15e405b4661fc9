/* The cluster transport's host harness and fake RNIC (see xport_harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xport_harness.h"

enum { QPS_INIT = 0, QPS_RTS = 1, QPS_ERROR = 2 };

static struct xh_node *node_of(struct hal_cpu *c) { return &c->h->node[c->node]; }

static struct xh_ev *ev_new(struct xh *h, hal_ns_t at, uint8_t kind, unsigned node)
{
    if (h->nev == XH_MAX_EV)
        fail_msg("xport harness: event queue full");
    struct xh_ev *e = &h->ev[h->nev++];
    memset(e, 0, sizeof *e);
    e->at = at;
    e->seq = h->seq++;
    e->kind = kind;
    e->node = node;
    return e;
}

/* A CQE lands in node n's CQ now; raise its interrupt unless pending. */
static void cqe_land(struct xh *h, unsigned n, const struct hal_net_cqe *q)
{
    struct xh_node *nd = &h->node[n];
    struct xh_cq *cq = &nd->cq[q->cqn];
    if (cq->n == XH_CQ_CAP)
        fail_msg("xport harness: CQ %u of node %u overflowed", q->cqn, n);
    cq->a[(cq->head + cq->n++) % XH_CQ_CAP] = *q;
    if (!nd->cpu.irq_pending[q->cqn]) {
        nd->cpu.irq_pending[q->cqn] = true;
        ev_new(h, h->now + h->irq_ns, XH_EV_IRQ, n)->cq = q->cqn;
    }
}

/* Node n's QP goes to ERROR: every posted RECV is flushed. */
static void qp_error(struct xh *h, unsigned n, uint32_t qpn)
{
    struct xh_qp *qp = &h->node[n].qp[qpn];
    qp->state = QPS_ERROR;
    while (qp->rq_n) {
        struct hal_net_cqe q = {.wr_id = qp->rq_id[qp->rq_head], .cqn = qp->recv_cq, .qpn = qpn,
                                .status = HAL_NET_WC_WR_FLUSH_ERR, .opcode = HAL_NET_WC_RECV};
        qp->rq_head = (qp->rq_head + 1) % XH_MAX_RQ;
        qp->rq_n--;
        cqe_land(h, n, &q);
    }
}

/* ---- the HAL ---- */

unsigned hal_cpu_id(const struct hal_cpu *c) { (void)c; return 0; }
unsigned hal_cpu_count(const struct hal_cpu *c) { (void)c; return 1; }
void hal_set_kernel_data(struct hal_cpu *c, void *kdata) { (void)c, (void)kdata; }
void *hal_kernel_data(const struct hal_cpu *c) { (void)c; return NULL; }
hal_ns_t hal_now(const struct hal_cpu *c) { return c->h->now; }

void hal_timer_set(struct hal_cpu *c, hal_ns_t when)
{
    c->timer = when < c->h->now ? c->h->now : when;
    c->timer_armed = true;
}

void hal_timer_cancel(struct hal_cpu *c) { c->timer_armed = false; }
bool hal_irq_disable(struct hal_cpu *c) { (void)c; return false; }
void hal_irq_restore(struct hal_cpu *c, bool was_enabled) { (void)c, (void)was_enabled; }
void hal_ipi_send(struct hal_cpu *c, unsigned target, uint32_t reason)
{
    (void)c, (void)target, (void)reason;
    fail_msg("the transport sent an IPI");
}

int hal_net_ctl(struct hal_cpu *c, const struct hal_net_ctl *req)
{
    struct xh *h = c->h;
    struct xh_node *nd = node_of(c);
    if (nd->no_net)
        return HAL_ENOTSUP;
    if (!req || req->op < HAL_NET_CTL_CREATE_CQ || req->op > HAL_NET_CTL_DESTROY_QP)
        return HAL_EINVAL;
    if (nd->dead)
        return HAL_OK; /* a dead RNIC never answers */
    hal_ns_t at = (nd->ctl_free_at > h->now ? nd->ctl_free_at : h->now) + h->ctl_ns;
    nd->ctl_free_at = at;
    struct xh_ev *e = ev_new(h, at, XH_EV_CTL, c->node);
    e->ctl = *req;
    return HAL_OK;
}

/* Carry out a control verb at its answer time: the result, as the fake RNIC. */
static int64_t do_ctl(struct xh_node *nd, const struct hal_net_ctl *r)
{
    switch (r->op) {
    case HAL_NET_CTL_CREATE_CQ:
        for (uint32_t i = 1; i < XH_MAX_CQ; i++)
            if (!nd->cq_used[i]) {
                nd->cq_used[i] = true;
                return i;
            }
        return HAL_NET_CTL_ENOMEM;
    case HAL_NET_CTL_CREATE_QP:
        if (r->qp_type < HAL_NET_QPT_RC || r->qp_type > HAL_NET_QPT_UD || !r->depth ||
            r->send_cq >= XH_MAX_CQ || !nd->cq_used[r->send_cq] || r->recv_cq >= XH_MAX_CQ ||
            !nd->cq_used[r->recv_cq])
            return HAL_NET_CTL_EINVAL;
        for (uint32_t i = 1; i <= XH_MAX_QP; i++)
            if (!nd->qp[i].used) {
                nd->qp[i] = (struct xh_qp){.used = true, .type = (uint8_t)r->qp_type,
                                           .state = r->qp_type == HAL_NET_QPT_UD ? QPS_RTS
                                                                                  : QPS_INIT,
                                           .send_cq = r->send_cq, .recv_cq = r->recv_cq};
                return i;
            }
        return HAL_NET_CTL_ENOMEM;
    case HAL_NET_CTL_CONNECT: {
        if (r->qpn == 0 || r->qpn > XH_MAX_QP || !nd->qp[r->qpn].used)
            return HAL_NET_CTL_EINVAL;
        struct xh_qp *qp = &nd->qp[r->qpn];
        if (qp->type == HAL_NET_QPT_UD || qp->state != QPS_INIT)
            return HAL_NET_CTL_ESTATE;
        qp->state = QPS_RTS;
        qp->remote_node = r->remote_node;
        qp->remote_qpn = r->remote_qpn;
        return 0;
    }
    default:
        if (r->qpn == 0 || r->qpn > XH_MAX_QP || !nd->qp[r->qpn].used)
            return HAL_NET_CTL_EINVAL;
        nd->qp[r->qpn].used = false;
        return 0;
    }
}

static int post_check(struct hal_cpu *c, uint32_t qp, const struct hal_net_wr *wr, size_t n)
{
    struct xh_node *nd = node_of(c);
    if (nd->no_net)
        return HAL_ENOTSUP;
    if (qp == 0 || !wr || n == 0)
        return HAL_EINVAL;
    return HAL_OK;
}

int hal_net_post(struct hal_cpu *c, uint32_t qpn, const struct hal_net_wr *wr, size_t n)
{
    struct xh *h = c->h;
    struct xh_node *nd = node_of(c);
    int rc = post_check(c, qpn, wr, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (wr[i].opcode < HAL_NET_OP_SEND || wr[i].opcode > HAL_NET_OP_FAA ||
            ((wr[i].flags & HAL_NET_F_INLINE) && wr[i].length > HAL_NET_MAX_INLINE))
            return HAL_EINVAL;
    for (size_t i = 0; i < n && !nd->dead; i++) {
        const struct hal_net_wr *w = &wr[i];
        struct xh_qp *qp = qpn <= XH_MAX_QP ? &nd->qp[qpn] : NULL;
        if (!qp || !qp->used)
            fail_msg("node %u posted to QP %u that does not exist", c->node, qpn);
        if (w->opcode != HAL_NET_OP_SEND_IMM || !(w->flags & HAL_NET_F_INLINE) ||
            w->length > XPORT_MSG_MAX)
            fail_msg("the fake RNIC models inline SEND_IMM only");
        struct hal_net_cqe done = {.wr_id = w->wr_id, .cqn = qp->send_cq, .qpn = qpn,
                                   .opcode = HAL_NET_WC_SEND};
        if (qp->state != QPS_RTS) {
            done.status = qp->state == QPS_ERROR ? HAL_NET_WC_WR_FLUSH_ERR
                                                 : HAL_NET_WC_QP_STATE_ERR;
            struct xh_ev *e = ev_new(h, h->now, XH_EV_SEND_DONE, c->node);
            e->cqe = done;
            continue;
        }
        struct xh_ev *e = ev_new(h, h->now + h->wire_ns, XH_EV_PKT,
                                 qp->type == HAL_NET_QPT_UD ? w->ud_node : qp->remote_node);
        e->src_node = c->node;
        e->src_qpn = qpn;
        e->dst_qpn = qp->type == HAL_NET_QPT_UD ? w->ud_qpn : qp->remote_qpn;
        e->wr_id = w->wr_id;
        e->signaled = w->flags & HAL_NET_F_SIGNALED;
        e->qp_type = qp->type;
        e->imm = w->imm;
        e->len = w->length;
        memcpy(e->data, w->inline_data, w->length);
        if (qp->type == HAL_NET_QPT_UD && e->signaled) { /* UD: done when it left */
            struct xh_ev *d = ev_new(h, h->now, XH_EV_SEND_DONE, c->node);
            d->cqe = done;
        }
    }
    return HAL_OK;
}

int hal_net_post_recv(struct hal_cpu *c, uint32_t qpn, const struct hal_net_wr *wr, size_t n)
{
    struct xh_node *nd = node_of(c);
    int rc = post_check(c, qpn, wr, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !nd->dead; i++) {
        struct xh_qp *qp = qpn <= XH_MAX_QP ? &nd->qp[qpn] : NULL;
        if (!qp || !qp->used)
            fail_msg("node %u posted a RECV to QP %u that does not exist", c->node, qpn);
        if (qp->state == QPS_ERROR) {
            struct hal_net_cqe q = {.wr_id = wr[i].wr_id, .cqn = qp->recv_cq, .qpn = qpn,
                                    .status = HAL_NET_WC_WR_FLUSH_ERR, .opcode = HAL_NET_WC_RECV};
            cqe_land(c->h, c->node, &q);
            continue;
        }
        if (qp->rq_n == XH_MAX_RQ)
            fail_msg("node %u: receive queue of QP %u overflowed", c->node, qpn);
        qp->rq_id[(qp->rq_head + qp->rq_n) % XH_MAX_RQ] = wr[i].wr_id;
        qp->rq_len[(qp->rq_head + qp->rq_n) % XH_MAX_RQ] = wr[i].length;
        qp->rq_n++;
    }
    return HAL_OK;
}

int hal_net_poll(struct hal_cpu *c, uint32_t cqn, struct hal_net_cqe *out, size_t n)
{
    struct xh_node *nd = node_of(c);
    if (nd->no_net)
        return HAL_ENOTSUP;
    if (!out || cqn >= XH_MAX_CQ)
        return HAL_EINVAL;
    struct xh_cq *cq = &nd->cq[cqn];
    size_t k = 0;
    for (; k < n && cq->n; k++) {
        out[k] = cq->a[cq->head];
        cq->head = (cq->head + 1) % XH_CQ_CAP;
        cq->n--;
    }
    return (int)k;
}

void hal_trace(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b)
{
    (void)c, (void)point, (void)a, (void)b;
}

void hal_cost(struct hal_cpu *c, uint32_t cycles) { c->cost_cycles += cycles; }

void hal_console_write(struct hal_cpu *c, const char *s, size_t n)
{
    (void)c;
    fwrite(s, 1, n, stdout);
}

void hal_panic(struct hal_cpu *c, const char *why)
{
    fail_msg("hal_panic on node %u at %llu ns: %s", c->node, (unsigned long long)c->h->now, why);
    abort();
}

/* ---- the transport's callbacks: record what happened ---- */

static void cb_ready(struct xport *x, struct hal_cpu *c)
{
    (void)x;
    node_of(c)->ready = true;
}

static void cb_up(struct xport *x, struct hal_cpu *c, uint32_t peer)
{
    (void)x;
    node_of(c)->ups[peer]++;
}

static void cb_deliver(struct xport *x, struct hal_cpu *c, uint32_t peer, const uint8_t *msg,
                       uint32_t len)
{
    (void)x;
    struct xh_node *nd = node_of(c);
    nd->delivered[peer]++;
    if (nd->nlog < XH_MSG_LOG) {
        struct xh_msg *m = &nd->log[nd->nlog++];
        m->peer = peer;
        m->len = len;
        memcpy(m->data, msg, len);
    }
}

static void cb_down(struct xport *x, struct hal_cpu *c, uint32_t peer, uint32_t status)
{
    (void)x;
    struct xh_node *nd = node_of(c);
    nd->downs[peer]++;
    nd->down_status[peer] = status;
}

static const struct xport_ops ops = {cb_ready, cb_up, cb_deliver, cb_down, NULL};

/* ---- running ---- */

static void check_all(struct xh *h)
{
    for (unsigned n = 0; n < h->nnodes; n++) {
        int code = xport_check(&h->node[n].x);
        if (code)
            fail_msg("node %u at %llu ns: xport invariant %d broken: %s", n,
                     (unsigned long long)h->now, code, xport_check_name(code));
        h->node[n].checks++;
    }
}

static void rearm(struct xh *h, unsigned n)
{
    struct hal_cpu *c = &h->node[n].cpu;
    hal_ns_t d = xport_next_deadline(&h->node[n].x);
    if (d)
        hal_timer_set(c, d);
    else
        hal_timer_cancel(c);
}

void xh_init(struct xh *h, unsigned nnodes, const struct xport_config *cfg)
{
    memset(h, 0, sizeof *h);
    assert_true(nnodes >= 1 && nnodes <= XH_MAX_NODES);
    h->nnodes = nnodes;
    h->ctl_ns = 2000;
    h->wire_ns = 1000;
    h->irq_ns = 500;
    h->retry_ns = 50000;
    for (unsigned n = 0; n < nnodes; n++) {
        struct xh_node *nd = &h->node[n];
        nd->cpu = (struct hal_cpu){.h = h, .node = n};
        nd->cq_used[0] = true; /* the control CQ */
        struct xport_config k = *cfg;
        k.self = n;
        k.nodes = nnodes;
        k.recv_base = 0x100000ull * (n + 1);
        assert_int_equal(xport_init(&nd->x, &k, nd->peers, &ops, nd), XPORT_OK);
    }
}

/* Start every transport (separately, so a test can mark nodes first). */
static void start_all(struct xh *h)
{
    for (unsigned n = 0; n < h->nnodes; n++)
        if (h->node[n].x.eState == XPORT_OFF)
            xport_start(&h->node[n].x, &h->node[n].cpu);
}

/* A packet reaches node e->node. */
static void on_pkt(struct xh *h, const struct xh_ev *e)
{
    struct xh_node *dst = &h->node[e->node];
    struct hal_net_cqe sq = {.wr_id = e->wr_id, .cqn = h->node[e->src_node].qp[e->src_qpn].send_cq,
                             .qpn = e->src_qpn, .opcode = HAL_NET_WC_SEND};
    bool rc = e->qp_type == HAL_NET_QPT_RC;
    hal_ns_t ack_at = h->now + h->wire_ns;
    if (e->node >= h->nnodes || dst->dead) {
        if (!rc)
            return; /* UD: lost */
        sq.status = HAL_NET_WC_RETRY_EXC_ERR;
        ev_new(h, h->now + h->retry_ns, XH_EV_SEND_DONE, e->src_node)->cqe = sq;
        return;
    }
    struct xh_qp *qp = e->dst_qpn && e->dst_qpn <= XH_MAX_QP ? &dst->qp[e->dst_qpn] : NULL;
    bool ok = qp && qp->used && qp->state == QPS_RTS &&
              (qp->type == HAL_NET_QPT_UD ||
               (qp->remote_node == e->src_node && qp->remote_qpn == e->src_qpn));
    if (!ok) {
        if (rc) {
            sq.status = HAL_NET_WC_REM_INV_REQ_ERR;
            ev_new(h, ack_at, XH_EV_SEND_DONE, e->src_node)->cqe = sq;
        }
        return;
    }
    if (qp->rq_n == 0) {
        if (rc) {
            sq.status = HAL_NET_WC_RNR_RETRY_EXC_ERR;
            ev_new(h, ack_at, XH_EV_SEND_DONE, e->src_node)->cqe = sq;
        }
        return;
    }
    struct hal_net_cqe rq = {.wr_id = qp->rq_id[qp->rq_head], .cqn = qp->recv_cq,
                             .qpn = e->dst_qpn, .opcode = HAL_NET_WC_RECV, .has_imm = 1,
                             .byte_len = e->len, .imm = e->imm, .src_node = e->src_node,
                             .src_qpn = e->src_qpn};
    if (e->len > qp->rq_len[qp->rq_head])
        fail_msg("the fake RNIC got a message longer than the RECV buffer");
    memcpy(rq.inline_data, e->data, e->len);
    qp->rq_head = (qp->rq_head + 1) % XH_MAX_RQ;
    qp->rq_n--;
    cqe_land(h, e->node, &rq);
    if (rc && e->signaled)
        ev_new(h, ack_at, XH_EV_SEND_DONE, e->src_node)->cqe = sq;
}

static void dispatch(struct xh *h, const struct xh_ev *e)
{
    struct xh_node *nd = &h->node[e->node];
    struct hal_cpu *c = &nd->cpu;
    switch (e->kind) {
    case XH_EV_CTL: {
        if (nd->dead)
            return;
        struct hal_net_cqe q = {.wr_id = e->ctl.cookie, .cqn = HAL_NET_CQ_CTL, .qpn = e->ctl.qpn,
                                .opcode = HAL_NET_WC_CTL};
        q.value = (uint64_t)do_ctl(nd, &e->ctl);
        cqe_land(h, e->node, &q);
        return;
    }
    case XH_EV_PKT:
        on_pkt(h, e);
        return;
    case XH_EV_SEND_DONE: {
        if (nd->dead)
            return;
        struct hal_net_cqe q = e->cqe;
        struct xh_qp *qp = &nd->qp[q.qpn];
        if (qp->state == QPS_ERROR && q.status == HAL_NET_WC_SUCCESS)
            q.status = HAL_NET_WC_WR_FLUSH_ERR;
        cqe_land(h, e->node, &q); /* the error first, then what it flushes */
        if (q.status != HAL_NET_WC_SUCCESS && qp->type != HAL_NET_QPT_UD &&
            qp->state != QPS_ERROR)
            qp_error(h, e->node, q.qpn);
        return;
    }
    case XH_EV_IRQ:
        c->irq_pending[e->cq] = false;
        xport_handle(&nd->x, c, e->cq);
        rearm(h, e->node);
        return;
    }
}

void xh_run(struct xh *h, hal_ns_t until)
{
    start_all(h);
    check_all(h);
    for (;;) {
        /* earliest event or timer, ties by sequence then node */
        int best = -1;
        for (unsigned i = 0; i < h->nev; i++)
            if (best < 0 || h->ev[i].at < h->ev[best].at ||
                (h->ev[i].at == h->ev[best].at && h->ev[i].seq < h->ev[best].seq))
                best = (int)i;
        int tnode = -1;
        for (unsigned n = 0; n < h->nnodes; n++)
            if (h->node[n].cpu.timer_armed &&
                (tnode < 0 || h->node[n].cpu.timer < h->node[tnode].cpu.timer))
                tnode = (int)n;
        hal_ns_t tev = best >= 0 ? h->ev[best].at : UINT64_MAX;
        hal_ns_t ttm = tnode >= 0 ? h->node[tnode].cpu.timer : UINT64_MAX;
        hal_ns_t t = tev < ttm ? tev : ttm;
        if (t == UINT64_MAX || t > until) {
            if (until > h->now)
                h->now = until;
            return;
        }
        h->now = t;
        h->events++;
        if (ttm < tev) {
            struct xh_node *nd = &h->node[tnode];
            nd->cpu.timer_armed = false;
            xport_timer(&nd->x, &nd->cpu); /* the kernel lives on when its RNIC dies */
            rearm(h, (unsigned)tnode);
        } else {
            struct xh_ev e = h->ev[best];
            h->ev[best] = h->ev[--h->nev];
            dispatch(h, &e);
        }
        check_all(h);
    }
}

int xh_connect(struct xh *h, unsigned node, uint32_t peer)
{
    start_all(h);
    int rc = xport_connect(&h->node[node].x, &h->node[node].cpu, peer);
    rearm(h, node);
    check_all(h);
    return rc;
}

int xh_send(struct xh *h, unsigned node, uint32_t peer, const void *msg, uint32_t len)
{
    int rc = xport_send(&h->node[node].x, &h->node[node].cpu, peer, msg, len);
    rearm(h, node);
    check_all(h);
    return rc;
}

void xh_kill(struct xh *h, unsigned node) { h->node[node].dead = true; }
