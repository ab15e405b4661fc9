/* verbs_host: control verbs, posts and completion dispatch for workloads on
 * an rnic's `host` port, and the HELLO connection manager over the UD QP 1
 * (verbs_host.h has the exchange and its states). */
#include <stdlib.h>
#include <string.h>

#include "verbs_host.h"
#include "orrery/error.h"

const struct orr_param vh_cm_params[] = {
    {"cm_retry", ORR_P_TIME, "20us", ORR_PF_POSITIVE, "connection manager HELLO resend period"},
    {NULL},
};

#define CM_COOKIE (UINT64_C(1) << 63) /* control verbs the CM issued itself */
enum { CM_CQ = 1, CM_QP = 2, CM_CONNECT = 3 };
#define CM_RECVS VH_CM_RECVS
#define CM_MAGIC 0x4d434856u /* "VHCM" */

enum { HELLO_KNOW_YOURS = 1, HELLO_CONNECTED = 2, HELLO_SEEN_CONN = 4 };

struct hello {
    uint32_t magic, tag, qpn, flags;
};

enum conn_state { WAIT_PEER, CONNECTING, LOCAL_READY, UP, FAILED };

struct vh_conn {
    uint32_t peer, tag;
    uint32_t local_qpn, remote_qpn; /* 0 = not known yet */
    uint8_t state;                  /* enum conn_state */
    bool peer_connected;            /* the peer said CONNECTED */
    unsigned resends;
};

static void *grow(void *a, uint32_t *cap, size_t elem)
{
    uint32_t n = *cap ? *cap * 2 : 8;
    void *b = realloc(a, (size_t)n * elem);
    if (!b)
        orr_oom();
    *cap = n;
    return b;
}

void vh_init(struct verbs_host *vh, struct orr_component *c, const char *port, uint32_t node,
             const struct vh_callbacks *cb, void *user)
{
    memset(vh, 0, sizeof *vh);
    vh->c = c;
    vh->port = orr_port_add(c, port ? port : "rnic");
    vh->node = node;
    vh->cb = *cb;
    vh->user = user;
    vh->posts = orr_counter_new(c, "verbs_posts", "wr");
    vh->cqes = orr_counter_new(c, "verbs_completions", "cqe");
    vh->cqe_errors = orr_counter_new(c, "verbs_error_completions", "cqe");
}

int vh_check_linked(struct verbs_host *vh, struct orr_diag *d)
{
    if (vh->port->link)
        return 0;
    orr_diag_error(d, &vh->c->mark, vh->c->keypath, "port '%s' of %s must be linked to an rnic's "
                   "host port", vh->port->name, vh->c->path);
    return ORR_ESCHEMA;
}

void vh_destroy(struct verbs_host *vh)
{
    free(vh->aConn);
    orr_outq_free(&vh->out);
}

/* --- sending on the host link -------------------------------------------- */

static void send_blob(struct verbs_host *vh, enum rdma_host_kind k, const void *obj, size_t n)
{
    void *p;
    struct orr_msg m = {.size = RDMA_HOST_MSG_BYTES, .data = {rdma_host_pack(k, 0), 0}};
    m.data[1] = orr_blob_new(vh->c->sim, n, &p);
    memcpy(p, obj, n);
    orr_outq_send(&vh->out, vh->port, &m, 0);
}

void vh_ctl(struct verbs_host *vh, const struct rdma_ctl *ctl)
{
    send_blob(vh, RDMA_H_CTL, ctl, sizeof *ctl);
}

void vh_create_cq(struct verbs_host *vh, uint32_t depth, uint64_t cookie)
{
    vh_ctl(vh, &(struct rdma_ctl){.op = RDMA_CTL_CREATE_CQ, .depth = depth, .cookie = cookie});
}

void vh_create_qp(struct verbs_host *vh, enum rdma_qp_type type, uint32_t send_cq,
                  uint32_t recv_cq, uint32_t depth, uint64_t cookie)
{
    vh_ctl(vh, &(struct rdma_ctl){.op = RDMA_CTL_CREATE_QP, .qp_type = type, .send_cq = send_cq,
                                  .recv_cq = recv_cq, .depth = depth, .cookie = cookie});
}

void vh_connect(struct verbs_host *vh, uint32_t qpn, uint32_t node, uint32_t qpn_remote,
                uint64_t cookie)
{
    vh_ctl(vh, &(struct rdma_ctl){.op = RDMA_CTL_CONNECT, .qpn = qpn, .remote_node = node,
                                  .remote_qpn = qpn_remote, .cookie = cookie});
}

void vh_post_send(struct verbs_host *vh, const struct rdma_wr *wr)
{
    vh->posts->v++;
    send_blob(vh, RDMA_H_POST_SEND, wr, sizeof *wr);
}

void vh_post_recv(struct verbs_host *vh, uint32_t qpn, uint64_t wr_id, uint64_t laddr,
                  uint32_t length)
{
    struct rdma_wr wr = {.wr_id = wr_id, .qpn = qpn, .opcode = RDMA_OP_RECV, .laddr = laddr,
                         .length = length};
    send_blob(vh, RDMA_H_POST_RECV, &wr, sizeof wr);
}

/* --- connection manager --------------------------------------------------- */

static void cm_send_hello(struct verbs_host *vh, const struct vh_conn *k)
{
    if (!vh->cm_qpn || !k->local_qpn)
        return; /* sent when the CM is up / the local QP is known */
    struct hello h = {.magic = CM_MAGIC, .tag = k->tag, .qpn = k->local_qpn};
    if (k->remote_qpn)
        h.flags |= HELLO_KNOW_YOURS;
    if (k->state == LOCAL_READY || k->state == UP)
        h.flags |= HELLO_CONNECTED;
    if (k->peer_connected)
        h.flags |= HELLO_SEEN_CONN;
    struct rdma_wr wr = {.wr_id = k->peer, .qpn = vh->cm_qpn, .opcode = RDMA_OP_SEND,
                         .flags = RDMA_F_INLINE, .length = sizeof h, .ud_node = k->peer,
                         .ud_qpn = VH_CM_QPN};
    memcpy(wr.inline_data, &h, sizeof h);
    vh_post_send(vh, &wr);
}

static bool conn_pending(const struct vh_conn *k)
{
    return k->local_qpn && k->state != FAILED && !k->peer_connected;
}

static void cm_arm(struct verbs_host *vh)
{
    if (vh->cm_timer_armed)
        return;
    for (uint32_t i = 0; i < vh->nConn; i++)
        if (conn_pending(&vh->aConn[i])) {
            vh->cm_timer_armed = true;
            orr_timer(vh->c, vh->cm_retry, VH_TAG_CM, 0, 0);
            return;
        }
}

static struct vh_conn *cm_find(struct verbs_host *vh, uint32_t peer, uint32_t tag, bool add)
{
    for (uint32_t i = 0; i < vh->nConn; i++)
        if (vh->aConn[i].peer == peer && vh->aConn[i].tag == tag)
            return &vh->aConn[i];
    if (!add)
        return NULL;
    if (vh->nConn == vh->capConn)
        vh->aConn = grow(vh->aConn, &vh->capConn, sizeof *vh->aConn);
    struct vh_conn *k = &vh->aConn[vh->nConn++];
    *k = (struct vh_conn){.peer = peer, .tag = tag, .state = WAIT_PEER};
    return k;
}

static uint32_t conn_index(const struct verbs_host *vh, const struct vh_conn *k)
{
    return (uint32_t)(k - vh->aConn);
}

/* Move an entry forward as far as what it knows allows. */
static void cm_advance(struct verbs_host *vh, struct vh_conn *k)
{
    if (k->state == WAIT_PEER && k->local_qpn && k->remote_qpn) {
        k->state = CONNECTING;
        vh_connect(vh, k->local_qpn, k->peer, k->remote_qpn,
                   CM_COOKIE | (uint64_t)CM_CONNECT << 32 | conn_index(vh, k));
    }
    if (k->state == LOCAL_READY && k->peer_connected) {
        k->state = UP;
        if (vh->cb.on_connected)
            vh->cb.on_connected(vh, k->peer, k->tag, k->local_qpn);
    }
}

void vh_cm_start(struct verbs_host *vh, orr_time_t retry, unsigned retries, uint64_t buf)
{
    vh->cm_buf = buf;
    vh->cm_retry = retry;
    vh->cm_retries = retries;
    vh_create_cq(vh, CM_RECVS * 4, CM_COOKIE | (uint64_t)CM_CQ << 32);
}

void vh_cm_connect(struct verbs_host *vh, uint32_t peer, uint32_t tag, uint32_t local_qpn)
{
    struct vh_conn *k = cm_find(vh, peer, tag, true);
    k->local_qpn = local_qpn;
    cm_send_hello(vh, k);
    cm_advance(vh, k);
    cm_arm(vh);
}

void vh_cm_exchange(struct verbs_host *vh, uint32_t peer, uint32_t tag, uint32_t local_ud_qpn)
{
    struct vh_conn *k = cm_find(vh, peer, tag, true);
    k->local_qpn = local_ud_qpn;
    if (k->state == WAIT_PEER)
        k->state = LOCAL_READY; /* a UD QP is in RTS once created */
    cm_send_hello(vh, k);
    cm_advance(vh, k);
    cm_arm(vh);
}

uint32_t vh_cm_peer_qpn(const struct verbs_host *vh, uint32_t peer, uint32_t tag)
{
    for (uint32_t i = 0; i < vh->nConn; i++)
        if (vh->aConn[i].peer == peer && vh->aConn[i].tag == tag)
            return vh->aConn[i].remote_qpn;
    return 0;
}

static void cm_ctl_done(struct verbs_host *vh, const struct rdma_ctl *ctl)
{
    unsigned what = (unsigned)(ctl->cookie >> 32 & 0xFF);
    if (ctl->result < 0 && what != CM_CONNECT) {
        orr_sim_fail(vh->c, "connection manager: control verb %u failed (%lld)", ctl->op,
                     (long long)ctl->result);
        return;
    }
    if (what == CM_CQ) {
        vh->cm_cq = (uint32_t)ctl->result;
        vh_create_qp(vh, RDMA_QPT_UD, vh->cm_cq, vh->cm_cq, CM_RECVS * 2,
                     CM_COOKIE | (uint64_t)CM_QP << 32);
    } else if (what == CM_QP) {
        if (ctl->result != VH_CM_QPN) {
            orr_sim_fail(vh->c, "connection manager: its UD QP is %lld, not %u: vh_cm_start "
                         "must come before any other QP is created", (long long)ctl->result,
                         VH_CM_QPN);
            return;
        }
        vh->cm_qpn = VH_CM_QPN;
        for (uint32_t i = 0; i < CM_RECVS; i++)
            vh_post_recv(vh, vh->cm_qpn, i, vh->cm_buf + (uint64_t)i * RDMA_CQE_INLINE,
                         RDMA_CQE_INLINE);
        for (uint32_t i = 0; i < vh->nConn; i++)
            cm_send_hello(vh, &vh->aConn[i]);
        if (vh->cb.on_cm_ready)
            vh->cb.on_cm_ready(vh);
        cm_arm(vh);
    } else if (what == CM_CONNECT) {
        uint32_t i = (uint32_t)ctl->cookie;
        struct vh_conn *k = i < vh->nConn ? &vh->aConn[i] : NULL;
        if (!k || k->state != CONNECTING)
            return;
        if (ctl->result < 0) {
            k->state = FAILED;
            if (vh->cb.on_connected)
                vh->cb.on_connected(vh, k->peer, k->tag, 0);
            return;
        }
        k->state = LOCAL_READY;
        cm_send_hello(vh, k);
        cm_advance(vh, k);
    }
}

static void cm_recv(struct verbs_host *vh, const struct rdma_cqe *e)
{
    if (e->status != RDMA_WC_SUCCESS) {
        vh->cqe_errors->v++;
        return; /* a failed datagram send; the resend timer covers it */
    }
    if (e->opcode != RDMA_WC_RECV)
        return;
    vh_post_recv(vh, vh->cm_qpn, e->wr_id, vh->cm_buf + e->wr_id * RDMA_CQE_INLINE,
                 RDMA_CQE_INLINE);
    struct hello h;
    if (e->byte_len != sizeof h)
        return;
    memcpy(&h, e->inline_data, sizeof h);
    if (h.magic != CM_MAGIC || h.qpn == 0)
        return;
    struct vh_conn *k = cm_find(vh, e->src_node, h.tag, true);
    if (k->state == FAILED)
        return;
    k->remote_qpn = h.qpn;
    if (h.flags & HELLO_CONNECTED)
        k->peer_connected = true;
    bool connected = k->state == LOCAL_READY || k->state == UP;
    if (k->local_qpn && (!(h.flags & HELLO_KNOW_YOURS) || (connected && !(h.flags & HELLO_SEEN_CONN))))
        cm_send_hello(vh, k);
    cm_advance(vh, k);
}

static void cm_tick(struct verbs_host *vh)
{
    vh->cm_timer_armed = false;
    for (uint32_t i = 0; i < vh->nConn; i++) {
        struct vh_conn *k = &vh->aConn[i];
        if (!conn_pending(k))
            continue;
        if (++k->resends > vh->cm_retries) {
            k->state = FAILED;
            if (vh->cb.on_connected)
                vh->cb.on_connected(vh, k->peer, k->tag, 0);
            continue;
        }
        cm_send_hello(vh, k);
    }
    cm_arm(vh);
}

/* --- events ---------------------------------------------------------------- */

static void from_rnic(struct verbs_host *vh, const struct orr_event *ev)
{
    enum rdma_host_kind k = rdma_host_kind(ev->data[0]);
    void *p = ev->data[1] ? orr_blob_get(vh->c->sim, ev->data[1]) : NULL;
    if (k == RDMA_N_CTL_DONE && p) {
        struct rdma_ctl ctl;
        memcpy(&ctl, p, sizeof ctl);
        orr_blob_free(vh->c->sim, ev->data[1]);
        if (ctl.cookie & CM_COOKIE)
            cm_ctl_done(vh, &ctl);
        else if (vh->cb.on_ctl)
            vh->cb.on_ctl(vh, &ctl);
    } else if (k == RDMA_N_CQE && p) {
        struct rdma_cqe e;
        memcpy(&e, p, sizeof e);
        orr_blob_free(vh->c->sim, ev->data[1]);
        vh->cqes->v++;
        if (vh->cm_cq && e.cqn == vh->cm_cq) {
            cm_recv(vh, &e);
            return;
        }
        if (e.status != RDMA_WC_SUCCESS)
            vh->cqe_errors->v++;
        if (vh->cb.on_cqe)
            vh->cb.on_cqe(vh, &e);
    } else {
        if (ev->data[1])
            orr_blob_free(vh->c->sim, ev->data[1]);
        orr_sim_fail(vh->c, "unexpected message kind %u from the rnic", (unsigned)k);
    }
}

bool vh_handle(struct verbs_host *vh, const struct orr_event *ev)
{
    if (ev->kind == ORR_TK_MSG && ev->port == vh->port->index) {
        from_rnic(vh, ev);
        return true;
    }
    if (ev->kind == ORR_TK_READY && ev->port == vh->port->index) {
        orr_outq_drain(&vh->out, vh->port);
        return true;
    }
    if (ev->kind == ORR_TK_TIMER && ev->port == VH_TAG_CM) {
        cm_tick(vh);
        return true;
    }
    return false;
}
