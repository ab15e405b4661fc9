/* responder: what an rnic does with request packets addressed to its QPs —
 * check them, execute them against host memory, and answer. Answers (ACK,
 * NAK, READ data, atomic results) are jobs on the QP's response stream,
 * sent strictly in PSN order, so an ACK never overtakes the READ data
 * before it.
 *
 * RC, per packet with PSN p and the QP's expected PSN epsn:
 *   p == epsn  execute; epsn advances (a READ by its response count);
 *              ACK p if the packet asks for one or ends a message
 *   p <  epsn  duplicate: SEND/WRITE re-ACKed (epsn - 1) without executing;
 *              a READ executed again; an atomic's saved result sent again
 *   p >  epsn  sequence NAK for epsn, once until epsn arrives
 *   a SEND (or WRITE_IMM's last packet) with no RECV posted: RNR NAK p,
 *   epsn stays. An address beyond memory_size: NAK access. A QP that does
 *   not exist, or is not connected to the sender: NAK invalid request.
 * UC: no answers; a PSN gap drops the rest of that message silently; the
 * next first packet resynchronises. UD: single-packet SENDs, no answers.
 *
 * Atomics are serialised per address: an atomic waits until the previous
 * one on its address has read the line and issued its write (the chain in
 * aAtomic), so one address sustains about 1 / (DMA read round trip).
 * The line (64 B) is read and written whole, so the write-back of one
 * atomic is ordered before the next one's read in the root complex.
 *
 * Invariants: job_head <= job_tail (serially); in_recv implies a RECV at
 * rq_head; a used atomic job is started iff it is the first of its address's
 * chain. */
#include <stdlib.h>
#include <string.h>

#include "rnic.h"
#include "orrery/error.h"

static struct rjob *job(const struct qp *q, uint32_t pos)
{
    return &q->aJob[pos & (q->job_cap - 1)];
}

static void job_push(struct qp *q, const struct rjob *j)
{
    if (q->job_tail - q->job_head == q->job_cap) {
        uint32_t cap = q->job_cap ? q->job_cap * 2 : 16;
        struct rjob *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (uint32_t p = q->job_head; p != q->job_tail; p++)
            a[p & (cap - 1)] = q->aJob[p & (q->job_cap - 1)];
        free(q->aJob);
        q->aJob = a;
        q->job_cap = cap;
    }
    *job(q, q->job_tail++) = *j;
}

static void queue_ack(struct orr_component *c, struct rnic *s, struct qp *q, unsigned syn,
                      uint32_t psn)
{
    if (syn == WS_ACK && q->job_tail != q->job_head) {
        struct rjob *t = job(q, q->job_tail - 1);
        if (t->kind == RJ_ACK && t->syndrome == WS_ACK) { /* coalesce */
            t->psn = psn;
            return;
        }
    }
    job_push(q, &(struct rjob){.kind = RJ_ACK, .syndrome = (uint8_t)syn, .psn = psn});
    rsp_pump(c, s, q);
}

void rsp_nak_unknown(struct orr_component *c, struct rnic *s, uint32_t node, uint32_t qpn,
                     uint32_t psn)
{
    struct orr_msg m = tx_packet(s, node, qpn, NET_HDR_BYTES + wire_ext_bytes(WOP_ACK, 0, 0),
                                 wire_word_ack(WS_NAK_INV, psn, qpn));
    tx_ctl(c, s, &m);
    s->st.naks_sent->v++;
}

/* Stage response packets, oldest job first, while the stream has room. */
void rsp_pump(struct orr_component *c, struct rnic *s, struct qp *q)
{
    struct txstream *st = &q->stream[STREAM_RSP];
    while (q->state == RDMA_QPS_RTS && q->job_head != q->job_tail && st->n < RNIC_STAGE) {
        struct rjob *j = job(q, q->job_head);
        if (j->kind == RJ_ATOMIC && !j->ready)
            break;
        struct txslot *t = tx_slot_new(q, STREAM_RSP);
        t->psn = j->psn;
        if (j->kind == RJ_ACK) {
            t->m = tx_packet(s, q->remote_node, q->qpn,
                             NET_HDR_BYTES + wire_ext_bytes(WOP_ACK, 0, 0),
                             wire_word_ack((enum wire_syndrome)j->syndrome, j->psn, q->remote_qpn));
            t->ready = true;
            (j->syndrome == WS_ACK ? s->st.acks_sent : s->st.naks_sent)->v++;
            q->job_head++;
        } else if (j->kind == RJ_ATOMIC) {
            struct wire_ext x = {.dqpn = q->remote_qpn, .sqpn = q->qpn, .qpt = q->type,
                                 .compare = j->value};
            t->blob = tx_blob(c, s, &x, 0, false, NULL);
            unsigned fl = WF_FIRST | WF_LAST;
            t->m = tx_packet(s, q->remote_node, q->qpn,
                             NET_HDR_BYTES + wire_ext_bytes(WOP_ATOMIC_ACK, fl, q->type),
                             wire_word_blob(WOP_ATOMIC_ACK, fl, j->psn, t->blob));
            t->ready = true;
            q->job_head++;
        } else { /* RJ_READ: the next response packet */
            uint32_t k = j->sent, off = k * s->pmtu;
            uint32_t n = j->len - off < s->pmtu ? j->len - off : s->pmtu;
            unsigned fl = (k == 0 ? WF_FIRST : 0) | (k + 1 == j->npkt ? WF_LAST : 0);
            struct wire_ext x = {.dqpn = q->remote_qpn, .sqpn = q->qpn, .qpt = q->type, .len = n};
            t->psn = psn_add(j->psn, k);
            t->blob = tx_blob(c, s, &x, n, false, NULL);
            t->m = tx_packet(s, q->remote_node, q->qpn,
                             NET_HDR_BYTES + wire_ext_bytes(WOP_READ_RESP, fl, q->type) + n,
                             wire_word_blob(WOP_READ_RESP, fl, t->psn, t->blob));
            if (n) {
                struct dma_ctx ctx = {.purpose = DP_RSP_PAYLOAD, .stream = STREAM_RSP,
                                      .slot = (uint16_t)((st->head + st->n - 1) % RNIC_STAGE),
                                      .qpn = q->qpn, .serial = q->serial, .epoch = st->epoch};
                dma_read(c, s, j->raddr + off, n, &ctx);
            } else {
                t->ready = true;
            }
            if (++j->sent == j->npkt)
                q->job_head++;
        }
        tx_ready(c, s, q, STREAM_RSP);
    }
}

/* ------------------------------------------------------------------ receives */

/* Complete the head RECV. inl: the whole message's bytes when it came in
 * one packet (else NULL); a successful receive of at most RDMA_CQE_INLINE
 * bytes also carries them in the CQE (scatter-to-CQE, rdma.h). */
static void recv_done(struct orr_component *c, struct rnic *s, struct qp *q, uint8_t status,
                      uint8_t opcode, uint32_t len, bool has_imm, uint32_t imm, uint32_t src,
                      uint32_t sqpn, const uint8_t *inl)
{
    const struct rwqe *r = &q->aRq[q->rq_head++ & (q->rq_cap - 1)];
    struct rdma_cqe e = {.wr_id = r->wr_id, .qpn = q->qpn, .status = status, .opcode = opcode,
                         .has_imm = has_imm, .byte_len = len, .imm = has_imm ? imm : 0,
                         .src_node = src, .src_qpn = sqpn};
    if (inl && status == RDMA_WC_SUCCESS && opcode == RDMA_WC_RECV && len <= RDMA_CQE_INLINE)
        memcpy(e.inline_data, inl, len);
    q->in_recv = false;
    rnic_cqe(c, s, q->recv_cq, &e);
}

void rsp_flush(struct orr_component *c, struct rnic *s, struct qp *q)
{
    q->job_head = q->job_tail;
    while (q->rq_head != q->rq_tail)
        recv_done(c, s, q, RDMA_WC_WR_FLUSH_ERR, RDMA_WC_RECV, 0, false, 0, 0, 0, NULL);
    q->in_msg = q->in_drop = q->in_err = false;
}

static void ud_recv(struct orr_component *c, struct rnic *s, struct qp *q, enum wire_op op,
                    uint32_t src, const struct wire_ext *x, const uint8_t *payload)
{
    if ((op != WOP_SEND && op != WOP_SEND_IMM) || q->rq_head == q->rq_tail) {
        s->st.rx_dropped->v++;
        return;
    }
    const struct rwqe *r = &q->aRq[q->rq_head & (q->rq_cap - 1)];
    bool fits = x->len <= r->length;
    if (fits && x->len)
        dma_write(c, s, r->laddr, x->len, payload);
    recv_done(c, s, q, fits ? RDMA_WC_SUCCESS : RDMA_WC_LOC_LEN_ERR, RDMA_WC_RECV, x->len,
              op == WOP_SEND_IMM, x->imm, src, x->sqpn, payload);
}

/* UC: the rest of this message is lost. */
static void uc_drop(struct rnic *s, struct qp *q, uint32_t psn)
{
    if (!q->in_drop)
        s->st.uc_dropped->v++;
    q->in_drop = true;
    q->in_recv = false;
    q->epsn = psn_add(psn, 1);
    s->st.rx_dropped->v++;
}

/* ------------------------------------------------------------------ atomics */

static void atomic_start(struct orr_component *c, struct rnic *s, uint32_t i)
{
    s->aAtomic[i].started = true;
    struct dma_ctx ctx = {.purpose = DP_ATOMIC, .aux = i};
    dma_read(c, s, s->aAtomic[i].addr & ~(uint64_t)(ORR_LINE_BYTES - 1), ORR_LINE_BYTES, &ctx);
}

static void atomic_add(struct orr_component *c, struct rnic *s, struct qp *q, enum wire_op op,
                       uint32_t psn, const struct wire_ext *x)
{
    uint32_t i = 0;
    while (i < s->nAtomic && s->aAtomic[i].used)
        i++;
    if (i == s->nAtomic) {
        struct atomic_job *a = realloc(s->aAtomic, (s->nAtomic + 1) * sizeof *a);
        if (!a)
            orr_oom();
        s->aAtomic = a;
        s->nAtomic++;
    }
    s->aAtomic[i] = (struct atomic_job){.used = true, .qpn = q->qpn, .serial = q->serial,
                                        .psn = psn, .job = q->job_tail - 1, .op = (uint8_t)op,
                                        .addr = x->raddr, .compare = x->compare,
                                        .swap_add = x->swap_add};
    for (uint32_t k = 0; k < s->nAtomic; k++) {
        struct atomic_job *a = &s->aAtomic[k];
        if (k != i && a->used && a->addr == x->raddr && a->next == 0) {
            a->next = i + 1; /* wait behind the last atomic on this address */
            s->st.atomics_queued->v++;
            return;
        }
    }
    atomic_start(c, s, i);
}

/* An atomic's line is in: compute, write back, answer, start the next. */
void rsp_atomic_read(struct orr_component *c, struct rnic *s, uint32_t i, bool err,
                     const uint8_t *line)
{
    struct atomic_job a = s->aAtomic[i];
    uint8_t buf[ORR_LINE_BYTES];
    uint64_t old, now;
    uint32_t off = (uint32_t)(a.addr & (ORR_LINE_BYTES - 1));
    memcpy(buf, line, sizeof buf);
    memcpy(&old, buf + off, sizeof old);
    if (!err) {
        now = a.op == WOP_CAS ? (old == a.compare ? a.swap_add : old) : old + a.swap_add;
        memcpy(buf + off, &now, sizeof now);
        dma_write(c, s, a.addr - off, ORR_LINE_BYTES, buf);
    }
    s->aAtomic[i].used = false;
    struct qp *q = rnic_qp(s, a.qpn);
    if (q && q->serial == a.serial && q->state == RDMA_QPS_RTS) {
        q->aSaved[q->nSaved++ % RNIC_ATOMIC_SAVED] =
            (struct atomic_saved){.psn = a.psn, .value = old, .valid = !err};
        if (a.job - q->job_head < q->job_tail - q->job_head) {
            struct rjob *j = job(q, a.job);
            if (j->kind == RJ_ATOMIC && j->psn == a.psn && !j->ready) {
                j->ready = true;
                j->value = old;
                if (err) {
                    j->kind = RJ_ACK;
                    j->syndrome = WS_NAK_ACCESS;
                }
            }
        }
        rsp_pump(c, s, q);
    }
    if (a.next)
        atomic_start(c, s, a.next - 1);
}

/* ------------------------------------------------------------------ requests */

/* A duplicate RC request (PSN before epsn). */
static void duplicate(struct orr_component *c, struct rnic *s, struct qp *q, enum wire_op op,
                      unsigned flags, uint32_t psn, const struct wire_ext *x)
{
    if (op == WOP_READ) {
        if (rnic_local_ok(s, x->raddr, x->dma_len)) {
            uint32_t npkt = x->dma_len ? (x->dma_len + s->pmtu - 1) / s->pmtu : 1;
            job_push(q, &(struct rjob){.kind = RJ_READ, .psn = psn, .raddr = x->raddr,
                                       .len = x->dma_len, .npkt = npkt});
            rsp_pump(c, s, q);
        }
    } else if (op == WOP_CAS || op == WOP_FAA) {
        for (uint32_t k = 0; k < RNIC_ATOMIC_SAVED; k++)
            if (q->aSaved[k].valid && q->aSaved[k].psn == psn) {
                job_push(q, &(struct rjob){.kind = RJ_ATOMIC, .ready = true, .psn = psn,
                                           .value = q->aSaved[k].value});
                rsp_pump(c, s, q);
                break;
            }
    } else if (flags & (WF_ACKREQ | WF_LAST)) {
        queue_ack(c, s, q, WS_ACK, psn_add(q->epsn, WIRE_PSN_MASK));
    }
}

/* Refuse a request: RC answers with a NAK (epsn stays), UC drops it. */
static void refuse(struct orr_component *c, struct rnic *s, struct qp *q, unsigned syn,
                   uint32_t psn)
{
    if (q->type == RDMA_QPT_RC)
        queue_ack(c, s, q, syn, psn);
    else
        uc_drop(s, q, psn);
}

static void exec_send(struct orr_component *c, struct rnic *s, struct qp *q, enum wire_op op,
                      unsigned flags, uint32_t psn, uint32_t src, const struct wire_ext *x,
                      const uint8_t *payload)
{
    const struct rwqe *r = &q->aRq[q->rq_head & (q->rq_cap - 1)];
    if (x->len > r->length - q->in_off) {
        q->in_err = true;
    } else {
        if (x->len)
            dma_write(c, s, r->laddr + q->in_off, x->len, payload);
        q->in_off += x->len;
    }
    if (!(flags & WF_LAST))
        return;
    recv_done(c, s, q, q->in_err ? RDMA_WC_LOC_LEN_ERR : RDMA_WC_SUCCESS, RDMA_WC_RECV, q->in_off,
              op == WOP_SEND_IMM, x->imm, src, x->sqpn,
              (flags & WF_FIRST) && q->in_off == x->len ? payload : NULL);
    (void)psn;
}

/* Execute an in-order request. Returns false if it was refused (no
 * progress: epsn stays). */
static bool execute(struct orr_component *c, struct rnic *s, struct qp *q, enum wire_op op,
                    unsigned flags, uint32_t psn, uint32_t src, const struct wire_ext *x,
                    const uint8_t *payload)
{
    bool first = flags & WF_FIRST, last = flags & WF_LAST;
    switch (op) {
    case WOP_SEND:
    case WOP_SEND_IMM:
        if (first) {
            if (q->rq_head == q->rq_tail) {
                refuse(c, s, q, WS_NAK_RNR, psn);
                return false;
            }
            q->in_recv = true;
            q->in_off = 0;
            q->in_err = false;
        } else if (!q->in_recv || q->in_op != op) {
            refuse(c, s, q, WS_NAK_INV, psn);
            return false;
        }
        q->in_op = (uint8_t)op;
        exec_send(c, s, q, op, flags, psn, src, x, payload);
        if (last && q->in_err && q->type == RDMA_QPT_RC) {
            q->epsn = psn_add(psn, 1);
            queue_ack(c, s, q, WS_NAK_INV, psn);
            return false;
        }
        break;
    case WOP_WRITE:
    case WOP_WRITE_IMM:
        if (first) {
            if (!rnic_local_ok(s, x->raddr, x->dma_len)) {
                refuse(c, s, q, WS_NAK_ACCESS, psn);
                return false;
            }
            q->in_addr = x->raddr;
            q->in_off = 0;
        } else if (!q->in_msg || q->in_op != op) {
            refuse(c, s, q, WS_NAK_INV, psn);
            return false;
        }
        q->in_op = (uint8_t)op;
        if (op == WOP_WRITE_IMM && last && q->rq_head == q->rq_tail) {
            refuse(c, s, q, WS_NAK_RNR, psn);
            return false;
        }
        if (x->len)
            dma_write(c, s, q->in_addr, x->len, payload);
        q->in_addr += x->len;
        q->in_off += x->len;
        if (op == WOP_WRITE_IMM && last)
            recv_done(c, s, q, RDMA_WC_SUCCESS, RDMA_WC_RECV_RDMA_WITH_IMM, q->in_off, true, x->imm,
                      src, x->sqpn, NULL);
        break;
    case WOP_READ: {
        if (!rnic_local_ok(s, x->raddr, x->dma_len)) {
            refuse(c, s, q, WS_NAK_ACCESS, psn);
            return false;
        }
        uint32_t npkt = x->dma_len ? (x->dma_len + s->pmtu - 1) / s->pmtu : 1;
        job_push(q, &(struct rjob){.kind = RJ_READ, .psn = psn, .raddr = x->raddr,
                                   .len = x->dma_len, .npkt = npkt});
        q->epsn = psn_add(psn, npkt);
        q->in_msg = false;
        rsp_pump(c, s, q);
        return true;
    }
    case WOP_CAS:
    case WOP_FAA:
        if (x->raddr % 8 || !rnic_local_ok(s, x->raddr, 8)) {
            refuse(c, s, q, x->raddr % 8 ? WS_NAK_INV : WS_NAK_ACCESS, psn);
            return false;
        }
        job_push(q, &(struct rjob){.kind = RJ_ATOMIC, .psn = psn});
        atomic_add(c, s, q, op, psn, x);
        q->epsn = psn_add(psn, 1);
        q->in_msg = false;
        return true;
    default:
        return false;
    }
    q->in_msg = !last;
    q->epsn = psn_add(psn, 1);
    if (q->type == RDMA_QPT_RC && (flags & (WF_ACKREQ | WF_LAST)))
        queue_ack(c, s, q, WS_ACK, psn);
    return true;
}

void rsp_packet(struct orr_component *c, struct rnic *s, uint64_t word, uint64_t hdr,
                const struct wire_ext *x, const uint8_t *payload)
{
    enum wire_op op = wire_op(word);
    unsigned flags = wire_bits(word);
    uint32_t psn = wire_psn(word), src = net_src(hdr);
    struct qp *q = rnic_qp(s, x->dqpn);
    if (q && q->state == RDMA_QPS_ERROR) {
        s->st.rx_dropped->v++;
        return;
    }
    bool ok = q && q->type == x->qpt && q->state == RDMA_QPS_RTS &&
              (q->type == RDMA_QPT_UD || (q->remote_node == src && q->remote_qpn == x->sqpn)) &&
              (q->type == RDMA_QPT_RC || op <= WOP_WRITE_IMM);
    if (!ok) {
        s->st.rx_dropped->v++;
        if (x->qpt == RDMA_QPT_RC)
            rsp_nak_unknown(c, s, src, x->sqpn, psn);
        return;
    }
    if (q->type == RDMA_QPT_UD) {
        ud_recv(c, s, q, op, src, x, payload);
        return;
    }
    if (q->type == RDMA_QPT_RC) {
        int32_t d = psn_diff(psn, q->epsn);
        if (d > 0) {
            if (!q->nak_sent) {
                q->nak_sent = true;
                queue_ack(c, s, q, WS_NAK_SEQ, q->epsn);
            }
            s->st.rx_dropped->v++;
            return;
        }
        if (d < 0) {
            duplicate(c, s, q, op, flags, psn, x);
            return;
        }
        q->nak_sent = false;
    } else if (flags & WF_FIRST) {
        if (q->in_msg && !q->in_drop)
            s->st.uc_dropped->v++; /* the previous message lost its end */
        q->in_drop = false;
        q->in_msg = false;
        q->in_recv = false;
        q->epsn = psn;
    } else if (psn != q->epsn || q->in_drop || !q->in_msg) {
        uc_drop(s, q, psn);
        return;
    }
    execute(c, s, q, op, flags, psn, src, x, payload);
}
