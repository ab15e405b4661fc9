/* requester: a QP's send queue — from posted work requests to packets and
 * back to completions. A posted WR becomes a WQE with its PSNs assigned at
 * once (post order), is fetched by a 64 B DMA read unless inline, and is
 * cut into packets of at most pmtu payload bytes by req_pump, which stages
 * them on the QP's request stream (tx.c) with their payload DMA-read.
 *
 * RC reliability (go-back-N):
 *   una        the oldest unacknowledged PSN; hi_psn one past the highest
 *              sent. An ACK for p acknowledges every PSN <= p (cumulative);
 *              a READ response or atomic ACK at una acknowledges una.
 *   NAK seq    resend from the NAK's PSN.
 *   NAK rnr    wait rnr_timeout, then resend from it; rnr_retry NAKs in a
 *              row without progress -> RNR_RETRY_EXC_ERR.
 *   NAK inv / access -> REM_INV_REQ_ERR / REM_ACCESS_ERR on that WQE.
 *   timeout    no progress for retry_timeout with packets outstanding:
 *              resend from una; retry_count in a row -> RETRY_EXC_ERR.
 *   implied NAK an ACK beyond a READ/atomic whose response is missing (the
 *              responder answers in order, so it was lost): resend it.
 * A fatal error moves the QP to ERROR: the failing WQE completes with its
 * status, every other outstanding one with WR_FLUSH_ERR.
 *
 * WQE state: SW_FETCH --DMA done--> SW_READY --acked / response in /
 * (UC, UD) last packet sent / error--> SW_DONE --head of queue--> CQE, gone.
 *
 * Invariants (qp_sq_check): sq_head <= gen_idx <= sq_tail and
 * sq_tail - sq_head <= sq_cap (serially); rd_out is the number of WQEs with
 * rd_counted; una <= hi_psn (serially). */
#include <stdlib.h>
#include <string.h>

#include "rnic.h"
#include "orrery/error.h"

static struct swqe *wqe(const struct qp *q, uint32_t pos)
{
    return &q->aSq[pos & (q->sq_cap - 1)];
}

static bool is_rd(uint8_t op) { return op == RDMA_OP_READ || op == RDMA_OP_CAS || op == RDMA_OP_FAA; }

bool qp_sq_check(const struct qp *q)
{
    if (q->sq_tail - q->sq_head > q->sq_cap || q->gen_idx - q->sq_head > q->sq_tail - q->sq_head)
        return false;
    uint32_t n = 0;
    for (uint32_t p = q->sq_head; p != q->sq_tail; p++)
        n += wqe(q, p)->rd_counted;
    return n == q->rd_out && psn_diff(q->hi_psn, q->una) >= 0;
}

uint32_t req_npsn(const struct rnic *s, const struct rdma_wr *wr)
{
    if (wr->opcode == RDMA_OP_CAS || wr->opcode == RDMA_OP_FAA)
        return 1;
    return wr->length ? (wr->length + s->pmtu - 1) / s->pmtu : 1;
}

static void rd_count(struct rnic *s, struct qp *q, struct swqe *w, bool on)
{
    if (w->rd_counted == on)
        return;
    w->rd_counted = on;
    q->rd_out += on ? 1 : (uint32_t)-1;
    orr_gauge_set(s->st.reads_out, s->st.reads_out->v + (on ? 1 : -1));
}

static void mark_done(struct rnic *s, struct qp *q, struct swqe *w, uint8_t status)
{
    if (w->state == SW_DONE)
        return;
    w->state = SW_DONE;
    w->status = status;
    rd_count(s, q, w, false);
}

/* Completions leave in post order: pop every finished WQE at the head. */
static void complete(struct orr_component *c, struct rnic *s, struct qp *q)
{
    static const uint8_t aWc[] = {0, RDMA_WC_SEND, RDMA_WC_SEND, RDMA_WC_RDMA_WRITE,
                                  RDMA_WC_RDMA_WRITE, RDMA_WC_RDMA_READ, RDMA_WC_COMP_SWAP,
                                  RDMA_WC_FETCH_ADD, RDMA_WC_RECV};
    while (q->sq_head != q->sq_tail && wqe(q, q->sq_head)->state == SW_DONE) {
        struct swqe *w = wqe(q, q->sq_head);
        if ((w->wr.flags & RDMA_F_SIGNALED) || w->status != RDMA_WC_SUCCESS) {
            struct rdma_cqe e = {
                .wr_id = w->wr.wr_id, .qpn = q->qpn, .status = w->status,
                .opcode = w->wr.opcode < sizeof aWc ? aWc[w->wr.opcode] : RDMA_WC_SEND,
                .byte_len = w->wr.length, .value = w->value};
            rnic_cqe(c, s, q->send_cq, &e);
        }
        if (q->gen_idx == q->sq_head)
            q->gen_idx++, q->gen_pkt = 0;
        q->sq_head++;
    }
}

/* ------------------------------------------------------------------ posting */

static uint8_t validate(const struct rnic *s, const struct qp *q, const struct rdma_wr *wr)
{
    uint8_t op = wr->opcode;
    bool inl = wr->flags & RDMA_F_INLINE;
    if (op < RDMA_OP_SEND || op > RDMA_OP_FAA)
        return RDMA_WC_LOC_QP_OP_ERR;
    if ((op == RDMA_OP_WRITE || op == RDMA_OP_WRITE_IMM) && q->type == RDMA_QPT_UD)
        return RDMA_WC_LOC_QP_OP_ERR;
    if (is_rd(op) && q->type != RDMA_QPT_RC)
        return RDMA_WC_LOC_QP_OP_ERR;
    if ((op == RDMA_OP_CAS || op == RDMA_OP_FAA) && (wr->length != 8 || wr->raddr % 8))
        return RDMA_WC_LOC_QP_OP_ERR;
    if (wr->length > RDMA_MAX_MSG || (q->type == RDMA_QPT_UD && wr->length > s->pmtu))
        return RDMA_WC_LOC_QP_OP_ERR;
    if (inl && (is_rd(op) || wr->length > s->max_inline))
        return RDMA_WC_LOC_QP_OP_ERR;
    if (!inl && !rnic_local_ok(s, wr->laddr, wr->length))
        return RDMA_WC_LOC_PROT_ERR;
    return RDMA_WC_SUCCESS;
}

static void sq_grow(struct qp *q)
{
    uint32_t cap = q->sq_cap ? q->sq_cap * 2 : 16;
    struct swqe *a = malloc(cap * sizeof *a);
    if (!a)
        orr_oom();
    for (uint32_t p = q->sq_head; p != q->sq_tail; p++)
        a[p & (cap - 1)] = q->aSq[p & (q->sq_cap - 1)];
    free(q->aSq);
    q->aSq = a;
    q->sq_cap = cap;
}

void req_post(struct orr_component *c, struct rnic *s, struct qp *q, const struct rdma_wr *wr)
{
    if (q->sq_tail - q->sq_head == q->sq_cap)
        sq_grow(q);
    uint32_t pos = q->sq_tail++;
    struct swqe *w = wqe(q, pos);
    memset(w, 0, sizeof *w);
    w->wr = *wr;
    w->wr.qpn = q->qpn;
    uint8_t status = validate(s, q, wr);
    if (status != RDMA_WC_SUCCESS) {
        w->state = SW_DONE;
        w->status = status;
        complete(c, s, q);
        return;
    }
    w->psn_first = q->sq_psn;
    w->npsn = req_npsn(s, wr);
    q->sq_psn = psn_add(q->sq_psn, w->npsn);
    if (wr->flags & RDMA_F_INLINE) {
        w->state = SW_READY;
    } else {
        w->state = SW_FETCH;
        uint64_t slot = (uint64_t)(q->qpn - 1) * 1024 + pos % 1024;
        struct dma_ctx ctx = {.purpose = DP_WQE, .qpn = q->qpn, .serial = q->serial, .aux = pos};
        dma_read(c, s, s->wq_base + slot * RNIC_WQE_BYTES % RNIC_RING_REGION, RNIC_WQE_BYTES, &ctx);
    }
    req_pump(c, s, q);
}

void req_wqe_fetched(struct orr_component *c, struct rnic *s, struct qp *q, uint32_t pos, bool err)
{
    if (q->state != RDMA_QPS_RTS || pos - q->sq_head >= q->sq_tail - q->sq_head)
        return; /* flushed meanwhile */
    struct swqe *w = wqe(q, pos);
    if (w->state != SW_FETCH)
        return;
    if (err) {
        req_payload_err(c, s, q, pos);
        return;
    }
    w->state = SW_READY;
    req_pump(c, s, q);
}

/* ------------------------------------------------------------------ packets out */

static void arm_timer(struct orr_component *c, struct rnic *s, struct qp *q, unsigned tag,
                      orr_time_t after)
{
    (void)s;
    q->timer_gen++;
    q->timer_armed = true;
    q->timer_tag = (uint8_t)tag;
    q->retry_at = orr_now(c->sim) + after;
    orr_timer(c, after, (uint16_t)tag, q->qpn, (uint64_t)q->serial << 32 | q->timer_gen);
}

/* Push the retransmission deadline out. Progress comes with every ACK, so
 * rather than an event per ACK the armed timer is left in the queue and,
 * when it fires early, re-armed for the deadline (req_timer). */
static void restart_retry(struct orr_component *c, struct rnic *s, struct qp *q)
{
    if (q->timer_armed && q->timer_tag == TIMER_RETRY)
        q->retry_at = orr_now(c->sim) + s->retry_timeout;
    else
        arm_timer(c, s, q, TIMER_RETRY, s->retry_timeout);
}

static void disarm_timer(struct qp *q)
{
    q->timer_gen++;
    q->timer_armed = false;
}

/* Stage the next packet of WQE w (at pos): its header now, its payload by
 * DMA unless inline or empty. Returns false if it may not start yet. */
static bool gen_packet(struct orr_component *c, struct rnic *s, struct qp *q, uint32_t pos,
                       struct swqe *w)
{
    const struct rdma_wr *wr = &w->wr;
    uint8_t op = wr->opcode;
    orr_time_t now = orr_now(c->sim);
    if (q->gen_pkt == 0) {
        if (is_rd(op) && !w->rd_counted && q->rd_out >= s->max_rd_atomic)
            return false;
        if ((wr->flags & RDMA_F_FENCE) && q->rd_out > (w->rd_counted ? 1u : 0u))
            return false;
        if (q->type == RDMA_QPT_RC &&
            (uint32_t)psn_diff(psn_add(w->psn_first, w->npsn), q->una) > RNIC_MAX_UNACKED)
            return false;
        if (now < s->next_msg_at) {
            if (!q->pump_armed) {
                q->pump_armed = true;
                orr_timer(c, s->next_msg_at - now, TIMER_PUMP, q->qpn, (uint64_t)q->serial << 32);
            }
            return false;
        }
        s->next_msg_at = now + s->msg_gap;
        if (is_rd(op))
            rd_count(s, q, w, true);
    }
    uint32_t k = q->gen_pkt, psn = psn_add(w->psn_first, k);
    uint32_t off = k * s->pmtu, n = 0;
    unsigned flags = 0;
    struct wire_ext x = {.dqpn = q->type == RDMA_QPT_UD ? wr->ud_qpn : q->remote_qpn,
                         .sqpn = q->qpn, .qpt = q->type};
    uint32_t dst = q->type == RDMA_QPT_UD ? wr->ud_node : q->remote_node;
    if (is_rd(op)) { /* one request packet: READ asks for what is still missing */
        flags = WF_FIRST | WF_LAST | WF_ACKREQ;
        x.raddr = wr->raddr + (op == RDMA_OP_READ ? off : 0);
        x.dma_len = op == RDMA_OP_READ ? wr->length - off : 8;
        x.compare = wr->compare;
        x.swap_add = wr->swap_add;
        q->gen_idx++;
        q->gen_pkt = 0;
    } else {
        n = wr->length - off < s->pmtu ? wr->length - off : s->pmtu;
        flags = (k == 0 ? WF_FIRST : 0) | (k + 1 == w->npsn ? WF_LAST : 0);
        if (q->type == RDMA_QPT_RC && ((flags & WF_LAST) || ++q->since_ackreq >= s->ack_every)) {
            flags |= WF_ACKREQ;
            q->since_ackreq = 0;
        }
        x.len = n;
        x.imm = wr->imm;
        if (k == 0) {
            x.raddr = wr->raddr;
            x.dma_len = wr->length;
        }
        if (++q->gen_pkt == w->npsn) {
            q->gen_idx++;
            q->gen_pkt = 0;
        }
    }
    struct txslot *t = tx_slot_new(q, STREAM_REQ);
    uint8_t *data;
    t->blob = tx_blob(c, s, &x, n, (wr->flags & RDMA_F_INLINE) != 0, &data);
    t->m = tx_packet(s, dst, q->qpn,
                     NET_HDR_BYTES + wire_ext_bytes((enum wire_op)op, flags, q->type) + n,
                     wire_word_blob((enum wire_op)op, flags, psn, t->blob));
    t->wqe = pos;
    t->psn = psn;
    t->last = flags & WF_LAST;
    t->retransmit = q->type == RDMA_QPT_RC && psn_diff(psn, q->hi_psn) < 0;
    if (n == 0 || (wr->flags & RDMA_F_INLINE)) {
        if (data)
            memcpy(data, wr->inline_data + off, n);
        t->ready = true;
        tx_ready(c, s, q, STREAM_REQ);
    } else {
        struct txstream *st = &q->stream[STREAM_REQ];
        struct dma_ctx ctx = {.purpose = DP_TX_PAYLOAD, .stream = STREAM_REQ,
                              .slot = (uint16_t)((st->head + st->n - 1) % RNIC_STAGE),
                              .qpn = q->qpn, .serial = q->serial, .epoch = st->epoch};
        dma_read(c, s, wr->laddr + off, n, &ctx);
    }
    return true;
}

/* Stage packets while the request stream has room and the QP may send. */
void req_pump(struct orr_component *c, struct rnic *s, struct qp *q)
{
    if (q->state != RDMA_QPS_RTS || q->rnr_wait)
        return;
    while (q->stream[STREAM_REQ].n < RNIC_STAGE && q->gen_idx != q->sq_tail) {
        struct swqe *w = wqe(q, q->gen_idx);
        if (w->state == SW_DONE) { /* an invalid WR: nothing to send */
            q->gen_idx++;
            q->gen_pkt = 0;
            continue;
        }
        if (w->state == SW_FETCH || !gen_packet(c, s, q, q->gen_idx, w))
            break;
    }
}

/* A request packet has left. */
void req_sent(struct orr_component *c, struct rnic *s, struct qp *q, const struct txslot *t)
{
    enum wire_op op = wire_op(t->m.data[0]);
    if (!t->retransmit && (wire_bits(t->m.data[0]) & WF_FIRST))
        s->st.aMsg[op]->v++;
    if (q->type != RDMA_QPT_RC) {
        if (t->last) {
            mark_done(s, q, wqe(q, t->wqe), RDMA_WC_SUCCESS);
            complete(c, s, q);
        }
        return;
    }
    if (t->retransmit) {
        s->st.retransmits->v++;
        orr_trace_point(c, s->kRetransmit, q->qpn, t->psn);
    }
    const struct swqe *w = wqe(q, t->wqe);
    bool queued = t->wqe - q->sq_head < q->sq_tail - q->sq_head; /* not acked meanwhile */
    uint32_t end = queued && is_rd(w->wr.opcode) ? psn_add(w->psn_first, w->npsn)
                                                 : psn_add(t->psn, 1);
    if (psn_diff(end, q->hi_psn) > 0)
        q->hi_psn = end;
    if (!q->timer_armed)
        arm_timer(c, s, q, TIMER_RETRY, s->retry_timeout);
}

/* ------------------------------------------------------------------ recovery */

/* Resend from una: regenerate packets from the WQE that holds it. */
static void go_back(struct orr_component *c, struct rnic *s, struct qp *q)
{
    tx_flush(c, s, q, STREAM_REQ);
    disarm_timer(q);
    q->since_ackreq = 0;
    uint32_t p = q->sq_head;
    for (; p != q->gen_idx && p != q->sq_tail; p++) {
        struct swqe *w = wqe(q, p);
        if (w->state != SW_DONE && psn_diff(q->una, psn_add(w->psn_first, w->npsn)) < 0)
            break;
    }
    if (p != q->gen_idx || q->gen_pkt) {
        struct swqe *w = wqe(q, p);
        int32_t k = psn_diff(q->una, w->psn_first);
        q->gen_idx = p;
        q->gen_pkt = p == q->sq_tail || k < 0 || w->wr.opcode == RDMA_OP_CAS ||
                             w->wr.opcode == RDMA_OP_FAA
                         ? 0
                         : (uint32_t)k;
    }
    req_pump(c, s, q);
}

static void fail(struct orr_component *c, struct rnic *s, struct qp *q, uint8_t status)
{
    for (uint32_t p = q->sq_head; p != q->sq_tail; p++) {
        struct swqe *w = wqe(q, p);
        if (w->state != SW_DONE) {
            mark_done(s, q, w, status);
            break;
        }
    }
    rnic_qp_state(c, s, q, RDMA_QPS_ERROR);
}

void req_payload_err(struct orr_component *c, struct rnic *s, struct qp *q, uint32_t pos)
{
    if (pos - q->sq_head < q->sq_tail - q->sq_head)
        mark_done(s, q, wqe(q, pos), RDMA_WC_LOC_PROT_ERR);
    rnic_qp_state(c, s, q, RDMA_QPS_ERROR);
}

void req_flush(struct orr_component *c, struct rnic *s, struct qp *q, uint8_t status)
{
    for (uint32_t p = q->sq_head; p != q->sq_tail; p++)
        mark_done(s, q, wqe(q, p), status);
    complete(c, s, q);
    q->gen_idx = q->sq_tail;
    q->gen_pkt = 0;
}

/* Progress: restart the retransmission timer, or stop it when nothing is
 * outstanding. */
static void progressed(struct orr_component *c, struct rnic *s, struct qp *q)
{
    q->retry_cnt = 0;
    q->rnr_cnt = 0;
    if (q->una == q->hi_psn)
        disarm_timer(q);
    else
        restart_retry(c, s, q);
}

/* Everything up to and including PSN p is acknowledged. Returns false if
 * that implies a lost READ/atomic response (and resends it). */
static bool ack_through(struct orr_component *c, struct rnic *s, struct qp *q, uint32_t p)
{
    if (psn_diff(p, q->una) < 0 || psn_diff(p, q->hi_psn) >= 0)
        return true; /* old, or for something never sent */
    for (uint32_t pos = q->sq_head; pos != q->sq_tail; pos++) {
        struct swqe *w = wqe(q, pos);
        if (w->state == SW_DONE)
            continue;
        if (w->state == SW_FETCH || psn_diff(w->psn_first, p) > 0)
            break;
        if (is_rd(w->wr.opcode)) { /* implied NAK: its response was lost */
            if (psn_diff(w->psn_first, q->una) > 0)
                q->una = w->psn_first;
            progressed(c, s, q);
            go_back(c, s, q);
            complete(c, s, q);
            return false;
        }
        if (psn_diff(psn_add(w->psn_first, w->npsn - 1), p) > 0)
            break;
        mark_done(s, q, w, RDMA_WC_SUCCESS);
    }
    q->una = psn_add(p, 1);
    progressed(c, s, q);
    complete(c, s, q);
    return true;
}

/* The WQE holding PSN psn. */
static struct swqe *wqe_of(const struct qp *q, uint32_t psn)
{
    for (uint32_t pos = q->sq_head; pos != q->sq_tail; pos++) {
        struct swqe *w = wqe(q, pos);
        if (w->state != SW_DONE && w->state != SW_FETCH && psn_diff(psn, w->psn_first) >= 0 &&
            psn_diff(psn, psn_add(w->psn_first, w->npsn)) < 0)
            return w;
    }
    return NULL;
}

static void nak(struct orr_component *c, struct rnic *s, struct qp *q, unsigned syn, uint32_t psn)
{
    if (q->rnr_wait)
        return; /* already waiting to resend */
    if (!ack_through(c, s, q, psn_add(psn, WIRE_PSN_MASK)) || psn != q->una || q->una == q->hi_psn)
        return;
    switch (syn) {
    case WS_NAK_SEQ:
        go_back(c, s, q);
        break;
    case WS_NAK_RNR:
        orr_trace_point(c, s->kRnr, q->qpn, psn);
        if (++q->rnr_cnt > s->rnr_retry) {
            fail(c, s, q, RDMA_WC_RNR_RETRY_EXC_ERR);
            return;
        }
        q->rnr_wait = true;
        tx_flush(c, s, q, STREAM_REQ);
        arm_timer(c, s, q, TIMER_RNR, s->rnr_timeout);
        break;
    case WS_NAK_INV:
        fail(c, s, q, RDMA_WC_REM_INV_REQ_ERR);
        break;
    default:
        fail(c, s, q, RDMA_WC_REM_ACCESS_ERR);
        break;
    }
}

/* A response packet for this (RC, RTS) QP: ACK/NAK, READ data, atomic ACK. */
void req_response(struct orr_component *c, struct rnic *s, struct qp *q, uint64_t word,
                  const struct wire_ext *x, const uint8_t *payload, uint32_t src)
{
    (void)src;
    enum wire_op op = wire_op(word);
    uint32_t psn = wire_psn(word);
    if (op == WOP_ACK) {
        unsigned syn = wire_bits(word);
        struct orr_counter *ctr = syn == WS_ACK        ? s->st.acks_received
                                  : syn == WS_NAK_SEQ  ? s->st.naks_seq
                                  : syn == WS_NAK_RNR  ? s->st.naks_rnr
                                  : syn == WS_NAK_INV  ? s->st.naks_inv
                                                       : s->st.naks_access;
        ctr->v++;
        if (syn == WS_ACK)
            ack_through(c, s, q, psn);
        else
            nak(c, s, q, syn, psn);
        return;
    }
    struct swqe *w = q->rnr_wait ? NULL : wqe_of(q, psn);
    bool rd = op == WOP_READ_RESP;
    if (!w || (rd ? w->wr.opcode != RDMA_OP_READ
                  : w->wr.opcode != RDMA_OP_CAS && w->wr.opcode != RDMA_OP_FAA))
        return;
    /* the response acknowledges every PSN of earlier WQEs (their ACK may
     * have been lost or coalesced away) */
    if (psn_diff(w->psn_first, q->una) > 0 &&
        !ack_through(c, s, q, psn_add(w->psn_first, WIRE_PSN_MASK)))
        return;
    if (psn != q->una)
        return; /* a duplicate, or a gap the timer will repair */
    if (rd) {
        uint32_t k = (uint32_t)psn_diff(psn, w->psn_first), off = k * s->pmtu;
        uint32_t n = x->len <= w->wr.length - off ? x->len : w->wr.length - off;
        if (n)
            dma_write(c, s, w->wr.laddr + off, n, payload);
        if (k + 1 == w->npsn)
            mark_done(s, q, w, RDMA_WC_SUCCESS);
    } else {
        w->value = x->compare;
        dma_write(c, s, w->wr.laddr, 8, &w->value);
        mark_done(s, q, w, RDMA_WC_SUCCESS);
    }
    q->una = psn_add(psn, 1);
    progressed(c, s, q);
    complete(c, s, q);
    req_pump(c, s, q);
}

void req_timer(struct orr_component *c, struct rnic *s, struct qp *q, unsigned tag)
{
    orr_time_t now = orr_now(c->sim);
    if (tag == TIMER_RETRY && now < q->retry_at) { /* progress since it was armed */
        orr_timer(c, q->retry_at - now, TIMER_RETRY, q->qpn,
                  (uint64_t)q->serial << 32 | q->timer_gen);
        return;
    }
    q->timer_armed = false;
    if (tag == TIMER_RNR) {
        q->rnr_wait = false;
        go_back(c, s, q);
        return;
    }
    s->st.timeouts->v++;
    if (s->bug_lost_retransmit)
        return; /* planted bug: the go-back-N resend is lost, the timer stays disarmed */
    if (++q->retry_cnt > s->retry_count) {
        fail(c, s, q, RDMA_WC_RETRY_EXC_ERR);
        return;
    }
    go_back(c, s, q);
}
