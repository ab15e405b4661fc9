/* tx: the rnic's transmit side. Each QP has two streams — requests (its
 * send queue) and responses (ACKs, READ data, atomic results) — each a ring
 * of up to RNIC_STAGE packets whose payload DMA is in flight or done. A
 * stream whose oldest packet is ready waits in the arbiter's ring; the
 * arbiter sends one packet per turn, round-robin, so a long message does
 * not starve other QPs (per-packet arbitration). Packets without a QP
 * stream (NAKs for unknown QPs) go first from a small FIFO.
 *
 * The net link serialises one packet at a time: a refused send (ORR_EBUSY)
 * leaves the packet where it is and the engine's READY calls tx_kick
 * again. PFC: a PAUSE for our priority class stops all sending until its
 * RESUME (net.h's endpoint contract). A dead RNIC sends nothing.
 *
 * Invariants (txstream_check): n <= RNIC_STAGE; a ready slot holds a whole
 * packet (size > NET_HDR_BYTES); slots are sent only from the head, so a
 * stream's packets leave in PSN order. */
#include <stdlib.h>
#include <string.h>

#include "rnic.h"
#include "orrery/error.h"

bool txstream_check(const struct txstream *t)
{
    if (t->n > RNIC_STAGE || t->head >= RNIC_STAGE)
        return false;
    for (uint32_t i = 0; i < t->n; i++) {
        const struct txslot *x = &t->a[(t->head + i) % RNIC_STAGE];
        if (x->ready && x->m.size <= NET_HDR_BYTES)
            return false;
    }
    return true;
}

struct txslot *tx_slot_new(struct qp *q, unsigned stream)
{
    struct txstream *t = &q->stream[stream];
    struct txslot *x = &t->a[(t->head + t->n++) % RNIC_STAGE];
    memset(x, 0, sizeof *x);
    return x;
}

struct orr_msg tx_packet(struct rnic *s, uint32_t dst, uint32_t qpn, uint32_t bytes, uint64_t word)
{
    struct net_hdr h = {.src = s->node, .dst = dst, .flow = net_flow_id(s->node, dst, qpn),
                        .prio = s->prio};
    return net_packet(&h, bytes, word);
}

uint64_t tx_blob(struct orr_component *c, struct rnic *s, const struct wire_ext *x,
                 uint32_t payload, bool inl, uint8_t **data)
{
    bool with = (s->data || inl) && payload;
    uint8_t *b;
    uint64_t h = orr_blob_new(c->sim, sizeof *x + (with ? payload : 0), (void **)&b);
    if (h > 0xFFFFFFFFu)
        orr_sim_fail(c, "more than 2^32 payload blobs live");
    memcpy(b, x, sizeof *x);
    ((struct wire_ext *)b)->has_data = with;
    if (data)
        *data = with ? b + sizeof *x : NULL;
    return h;
}

static void active_push(struct rnic *s, uint32_t id)
{
    if (s->active_n == s->active_cap) {
        uint32_t cap = s->active_cap ? s->active_cap * 2 : 64;
        uint32_t *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (uint32_t i = 0; i < s->active_n; i++)
            a[i] = s->aActive[(s->active_head + i) % s->active_cap];
        free(s->aActive);
        s->aActive = a;
        s->active_cap = cap;
        s->active_head = 0;
    }
    s->aActive[(s->active_head + s->active_n++) % s->active_cap] = id;
}

void tx_ready(struct orr_component *c, struct rnic *s, struct qp *q, unsigned stream)
{
    (void)c;
    struct txstream *t = &q->stream[stream];
    if (!t->queued && t->n && t->a[t->head].ready) {
        t->queued = true;
        active_push(s, q->qpn * 2 + stream);
    }
}

void tx_flush(struct orr_component *c, struct rnic *s, struct qp *q, unsigned stream)
{
    (void)s;
    struct txstream *t = &q->stream[stream];
    for (uint32_t i = 0; i < t->n; i++) {
        struct txslot *x = &t->a[(t->head + i) % RNIC_STAGE];
        if (x->blob)
            orr_blob_free(c->sim, x->blob);
    }
    t->n = 0;
    t->epoch++;
}

void tx_ctl(struct orr_component *c, struct rnic *s, const struct orr_msg *m)
{
    (void)c;
    if (s->ctl_n == s->ctl_cap) {
        uint32_t cap = s->ctl_cap ? s->ctl_cap * 2 : 16;
        struct orr_msg *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (uint32_t i = 0; i < s->ctl_n; i++)
            a[i] = s->aCtl[(s->ctl_head + i) % s->ctl_cap];
        free(s->aCtl);
        s->aCtl = a;
        s->ctl_cap = cap;
        s->ctl_head = 0;
    }
    s->aCtl[(s->ctl_head + s->ctl_n++) % s->ctl_cap] = *m;
}

void tx_payload_done(struct orr_component *c, struct rnic *s, const struct dma_ctx *ctx,
                     bool err, const uint8_t *bytes, uint32_t len)
{
    struct qp *q = rnic_qp(s, ctx->qpn);
    if (!q || q->serial != ctx->serial || q->stream[ctx->stream].epoch != ctx->epoch)
        return; /* flushed while the read was in flight */
    struct txslot *x = &q->stream[ctx->stream].a[ctx->slot];
    if (err) {
        if (ctx->stream == STREAM_REQ) {
            req_payload_err(c, s, q, x->wqe);
            return;
        }
        /* the responder's memory refused a READ's data: NAK instead */
        orr_blob_free(c->sim, x->blob);
        x->blob = 0;
        x->m = tx_packet(s, q->remote_node, q->qpn, NET_HDR_BYTES + wire_ext_bytes(WOP_ACK, 0, 0),
                         wire_word_ack(WS_NAK_ACCESS, x->psn, q->remote_qpn));
        s->st.naks_sent->v++;
    } else if (bytes && s->data && len) {
        memcpy((uint8_t *)orr_blob_get(c->sim, x->blob) + sizeof(struct wire_ext), bytes, len);
    }
    x->ready = true;
    tx_ready(c, s, q, ctx->stream);
}

void tx_pfc(struct orr_component *c, struct rnic *s, const struct orr_event *ev)
{
    (void)c;
    if (net_ctrl_prio(ev->data) != s->prio)
        return;
    bool pause = net_ctrl_op(ev->data) == NET_CTRL_PAUSE;
    if (pause && !s->paused)
        s->st.pfc_pauses->v++;
    s->paused = pause;
}

static bool send_one(struct rnic *s, const struct orr_msg *m)
{
    if (orr_port_send(s->net, m, s->tx_latency) == ORR_EBUSY)
        return false;
    s->st.tx_packets->v++;
    s->st.tx_bytes->v += m->size;
    return true;
}

/* Send what can be sent now. Called at the end of every event. */
void tx_kick(struct orr_component *c, struct rnic *s)
{
    if (s->dead || s->paused)
        return;
    while (s->ctl_n) {
        if (!send_one(s, &s->aCtl[s->ctl_head]))
            return;
        s->ctl_head = (s->ctl_head + 1) % s->ctl_cap;
        s->ctl_n--;
    }
    while (s->active_n) {
        uint32_t id = s->aActive[s->active_head];
        struct qp *q = rnic_qp(s, id / 2);
        unsigned k = id % 2;
        struct txstream *t = &q->stream[k];
        if (!t->n || !t->a[t->head].ready) {
            t->queued = false;
            s->active_head = (s->active_head + 1) % s->active_cap;
            s->active_n--;
            continue;
        }
        if (!send_one(s, &t->a[t->head].m))
            return;
        struct txslot sent = t->a[t->head];
        t->head = (t->head + 1) % RNIC_STAGE;
        t->n--;
        t->queued = false;
        s->active_head = (s->active_head + 1) % s->active_cap;
        s->active_n--;
        if (k == STREAM_REQ) {
            req_sent(c, s, q, &sent);
            req_pump(c, s, q);
        } else {
            rsp_pump(c, s, q);
        }
        if (rnic_qp(s, id / 2) == q)
            tx_ready(c, s, q, k); /* to the back of the ring: round-robin */
    }
}
