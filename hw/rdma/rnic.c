/* rnic: an RDMA NIC (RoCEv2-like, ConnectX-6 class). Host software talks to
 * it with the verbs messages of include/orrery/rdma.h on port `host`; it
 * talks to other RNICs with include/orrery/net.h packets on port `net`
 * (wire format: wire.h); it reaches host memory by PCIe DMA on port `pcie`
 * when linked, else through an internal memory (docs/rdma.md). This file is
 * the component: params, host messages, control verbs, completions, QP
 * life, faults and event dispatch. The data path is in tx.c, requester.c,
 * responder.c and dma.c (rnic.h lists who does what).
 *
 * QP state machine (rdma.h):
 *
 *   RESET --CREATE_QP (RC, UC)--> INIT --CONNECT--> RTS     [ctl_exec]
 *   RESET --CREATE_QP (UD)--> RTS                           [ctl_exec]
 *   INIT, RTS --fatal error or fault qp_error--> ERROR      [rnic_qp_state]
 *   any --DESTROY_QP--> gone (no completions)               [ctl_exec]
 *
 * Invariants (rnic_check): aQp[n] is NULL or a QP whose qpn is n; every QP's
 * send queue and streams pass qp_sq_check/txstream_check; a QP in ERROR has
 * no queued WQE, job or staged packet; every stream id in the arbiter ring
 * names a QP stream whose `queued` is set, once. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnic.h"
#include "orrery/error.h"

/* Debug switch: a known bug planted on purpose, so tests can show that
 * `orrery explore` finds it and shrinks it (docs/explore.md). */
static const char *const bug_choices[] = {"none", "lost_retransmit", NULL};

static const struct orr_param rnic_params[] = {
    {"gen", ORR_P_UINT, "4", 0, "PCIe generation of the host link: 1..5 (both DMA backends)"},
    {"width", ORR_P_UINT, "16", 0, "PCIe lanes: 1, 2, 4, 8 or 16"},
    {"requester", ORR_P_UINT, "256", ORR_PF_POSITIVE, "PCIe requester id", NULL, 1, 65535},
    {"node", ORR_P_UINT, "0", 0, "this RNIC's fabric node", NULL, 0, NET_MAX_NODES - 1},
    {"mtu", ORR_P_SIZE, "4KiB", ORR_PF_POSITIVE,
     "largest packet on the wire, headers included", NULL, 1, 65536},
    {"max_qp", ORR_P_UINT, "1024", ORR_PF_POSITIVE, "queue pairs (qpn 1..max_qp)", NULL, 1,
     RDMA_MAX_QP},
    {"max_cq", ORR_P_UINT, "1024", ORR_PF_POSITIVE, "completion queues (cqn 1..max_cq)", NULL, 1,
     RDMA_MAX_CQ},
    {"max_inline", ORR_P_SIZE, "256B", 0, "largest RDMA_F_INLINE payload", NULL, 0,
     RDMA_MAX_INLINE},
    {"msg_rate", ORR_P_FREQ, "215MHz", ORR_PF_POSITIVE,
     "messages per second the send pipeline can start (215MHz = 215 M msg/s)"},
    {"tx_latency", ORR_P_TIME, "150ns", 0, "send pipeline latency, packet ready to wire"},
    {"rx_latency", ORR_P_TIME, "150ns", 0, "receive pipeline latency, wire to processing"},
    {"max_rd_atomic", ORR_P_UINT, "16", ORR_PF_POSITIVE,
     "READ/atomic requests a QP may have outstanding as initiator", NULL, 1, 256},
    {"retry_timeout", ORR_P_TIME, "131us", ORR_PF_POSITIVE,
     "RC retransmission timer (InfiniBand local ACK timeout 4.096 us x 2^5)"},
    {"retry_count", ORR_P_UINT, "7", 0, "RC retransmissions before RETRY_EXC_ERR", NULL, 0, 255},
    {"rnr_timeout", ORR_P_TIME, "10us", ORR_PF_POSITIVE, "wait after an RNR NAK before resending"},
    {"rnr_retry", ORR_P_UINT, "7", 0, "RNR NAKs tolerated per QP before RNR_RETRY_EXC_ERR", NULL,
     0, 255},
    {"ack_every", ORR_P_UINT, "16", ORR_PF_POSITIVE,
     "packets between ACK requests within a long RC message", NULL, 1, 65536},
    {"ctl_latency", ORR_P_TIME, "2us", 0, "time to answer a control verb"},
    {"inject_bug", ORR_P_ENUM, "none", 0,
     "debug: plant a known bug for explore's mutation test; lost_retransmit: a retransmission "
     "timeout resends nothing and is not re-armed", bug_choices},
    {"dma_latency", ORR_P_TIME, "400ns", 0,
     "internal memory: DMA read round trip (writes land after half of it)"},
    {"memory_size", ORR_P_SIZE, "64GiB", ORR_PF_POSITIVE,
     "host memory bytes from address 0: DMA beyond it is refused (REM_ACCESS / LOC_PROT)"},
    {"host_memory_data", ORR_P_BOOL, "true", 0,
     "keep payload bytes (internal memory and packets); false: reads return zeros"},
    {"max_read_request", ORR_P_SIZE, "512B", ORR_PF_POSITIVE, "PCIe: largest DMA read request",
     NULL, 1, PCIE_MAX_LENGTH},
    {"max_payload", ORR_P_SIZE, "256B", ORR_PF_POSITIVE, "PCIe: largest DMA write payload", NULL,
     1, PCIE_MAX_LENGTH},
    {"dma_tags", ORR_P_UINT, "256", ORR_PF_POSITIVE, "PCIe: DMA read requests in flight", NULL,
     1, PCIE_TAG_MAX + 1},
    {"wq_base", ORR_P_SIZE, "0B", 0, "host address of the 1 MiB region WQEs are fetched from"},
    {"cq_base", ORR_P_SIZE, "1MiB", 0, "host address of the 1 MiB region CQEs are written to"},
    {"priority", ORR_P_UINT, "0", 0, "fabric priority class of its packets (PFC)", NULL, 0,
     NET_PRIORITIES - 1},
    {NULL},
};

static const struct orr_port_doc rnic_ports[] = {
    {"host", "verbs messages to and from host software (include/orrery/rdma.h)"},
    {"net", "to a fabric switch port (include/orrery/net.h packets)"},
    {"pcie", "optional: to a root complex downstream port; unlinked = internal memory"},
    {NULL},
};

static const struct orr_param qp_error_params[] = {
    {"qpn", ORR_P_UINT, NULL, ORR_PF_POSITIVE, "the queue pair"},
    {NULL},
};

enum { FAULT_DIE, FAULT_QP_ERROR };
/* explore: a node death is permanent; a QP error hits one of the first
 * queue pairs (applications number theirs from 1) */
static const struct orr_fault_explore die_explore = {.min_interval = (1 * ORR_US)};
static const struct orr_fault_draw qp_error_draws[] = {
    {"qpn", ORR_FD_VALUE, 1, 8},
    {NULL},
};
static const struct orr_fault_explore qp_error_explore = {.min_interval = (1 * ORR_US),
                                                          .draws = qp_error_draws};
static const struct orr_fault_desc rnic_faults[] = {
    {"die", "the node is dead: everything arriving is dropped and nothing is sent", NULL,
     &die_explore},
    {"qp_error", "force a queue pair to ERROR (outstanding work requests flushed)",
     qp_error_params, &qp_error_explore},
    {NULL},
};

static const char *const aOpName[WOP_COUNT] = {
    NULL, "send", "send_imm", "write", "write_imm", "read", "cas", "faa", "read_resp",
    "atomic_ack", "ack",
};
static const char *const aStatusName[RDMA_WC_STATUS_COUNT] = {
    "success", "loc_len_err", "loc_qp_op_err", "qp_state_err", "wr_flush_err",
    "rem_access_err", "rem_inv_req_err", "retry_exc_err", "rnr_retry_exc_err", "loc_prot_err",
};

/* ------------------------------------------------------------------ create */

static void stats_new(struct orr_component *c, struct rnic *s)
{
    struct rnic_stats *t = &s->st;
    char name[64];
    t->tx_packets = orr_counter_new(c, "tx_packets", "pkt");
    t->tx_bytes = orr_counter_new(c, "tx_bytes", "B");
    t->rx_packets = orr_counter_new(c, "rx_packets", "pkt");
    t->rx_bytes = orr_counter_new(c, "rx_bytes", "B");
    for (unsigned i = WOP_SEND; i <= WOP_FAA; i++) {
        snprintf(name, sizeof name, "msgs_%s", aOpName[i]);
        t->aMsg[i] = orr_counter_new(c, name, "msg");
    }
    t->acks_sent = orr_counter_new(c, "acks_sent", "pkt");
    t->acks_received = orr_counter_new(c, "acks_received", "pkt");
    t->naks_sent = orr_counter_new(c, "naks_sent", "pkt");
    t->naks_seq = orr_counter_new(c, "naks_seq", "pkt");
    t->naks_rnr = orr_counter_new(c, "naks_rnr", "pkt");
    t->naks_inv = orr_counter_new(c, "naks_inv", "pkt");
    t->naks_access = orr_counter_new(c, "naks_access", "pkt");
    t->retransmits = orr_counter_new(c, "retransmitted_packets", "pkt");
    t->timeouts = orr_counter_new(c, "timeouts", "event");
    for (unsigned i = 1; i < RDMA_WC_STATUS_COUNT; i++) {
        snprintf(name, sizeof name, "cqe_%s", aStatusName[i]);
        t->aErr[i] = orr_counter_new(c, name, "cqe");
    }
    t->cqes = orr_counter_new(c, "cqes", "cqe");
    t->ctl_verbs = orr_counter_new(c, "ctl_verbs", "verb");
    t->dma_rd = orr_counter_new(c, "dma_read_bytes", "B");
    t->dma_wr = orr_counter_new(c, "dma_write_bytes", "B");
    t->ecn = orr_counter_new(c, "ecn_marked_received", "pkt");
    t->pfc_pauses = orr_counter_new(c, "pfc_pauses", "frame");
    t->atomics_queued = orr_counter_new(c, "atomics_queued", "op");
    t->rx_dropped = orr_counter_new(c, "rx_dropped", "pkt");
    t->uc_dropped = orr_counter_new(c, "uc_dropped_messages", "msg");
    t->reads_out = orr_gauge_new(c, "outstanding_reads", "op");
}

static int rnic_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct rnic *s = c->state;
    int rc = pcie_link_params(p, c->keypath, d, &s->up);
    s->down = s->up;
    s->host = orr_port_add(c, "host");
    s->net = orr_port_add(c, "net");
    s->pcie = orr_port_add(c, "pcie");
    s->requester = (uint16_t)orr_param_u64(p, "requester");
    s->node = (uint32_t)orr_param_u64(p, "node");
    s->mtu = (uint32_t)orr_param_u64(p, "mtu");
    s->max_qp = (uint32_t)orr_param_u64(p, "max_qp");
    s->max_cq = (uint32_t)orr_param_u64(p, "max_cq");
    s->max_inline = (uint32_t)orr_param_u64(p, "max_inline");
    uint64_t rate = orr_param_u64(p, "msg_rate");
    s->msg_gap = (orr_time_t)((ORR_S + rate - 1) / rate);
    s->tx_latency = orr_param_u64(p, "tx_latency");
    s->rx_latency = orr_param_u64(p, "rx_latency");
    s->max_rd_atomic = (uint32_t)orr_param_u64(p, "max_rd_atomic");
    s->retry_timeout = orr_param_u64(p, "retry_timeout");
    s->retry_count = (uint8_t)orr_param_u64(p, "retry_count");
    s->bug_lost_retransmit = orr_param_enum(p, "inject_bug") == 1;
    s->rnr_timeout = orr_param_u64(p, "rnr_timeout");
    s->rnr_retry = (uint8_t)orr_param_u64(p, "rnr_retry");
    s->ack_every = (uint32_t)orr_param_u64(p, "ack_every");
    s->ctl_latency = orr_param_u64(p, "ctl_latency");
    s->dma_latency = orr_param_u64(p, "dma_latency");
    s->memory_size = orr_param_u64(p, "memory_size");
    s->data = orr_param_bool(p, "host_memory_data");
    s->max_read = (uint32_t)orr_param_u64(p, "max_read_request");
    s->max_payload = (uint32_t)orr_param_u64(p, "max_payload");
    s->dma_tags = (uint32_t)orr_param_u64(p, "dma_tags");
    s->wq_base = orr_param_u64(p, "wq_base");
    s->cq_base = orr_param_u64(p, "cq_base");
    s->prio = (uint8_t)orr_param_u64(p, "priority");
    uint32_t least = NET_HDR_BYTES + WIRE_EXT_MAX + ORR_LINE_BYTES;
    if (s->mtu < least) {
        char at[256];
        snprintf(at, sizeof at, "%s.mtu", c->keypath ? c->keypath : c->path);
        orr_diag_error(d, orr_param_mark(p, "mtu"), at,
                       "mtu %u B leaves no room for a payload: it must be at least %u B (%u B of "
                       "headers, %u B of RDMA extended headers and one 64 B line)",
                       s->mtu, least, NET_HDR_BYTES, WIRE_EXT_MAX);
        rc = ORR_ESCHEMA;
    }
    /* payload per packet, a whole number of lines so DMA stays line-aligned */
    s->pmtu = s->mtu >= least ? (s->mtu - NET_HDR_BYTES - WIRE_EXT_MAX) & ~(ORR_LINE_BYTES - 1)
                              : ORR_LINE_BYTES;
    s->aQp = calloc((size_t)s->max_qp + 1, sizeof *s->aQp);
    s->aCq = calloc((size_t)s->max_cq + 1, sizeof *s->aCq);
    if (!s->aQp || !s->aCq)
        orr_oom();
    s->mem = hostmem_for(c, NULL); /* the internal backend's bytes */
    if (!s->data) /* bytes that arrive are not stored: software must know */
        s->mem->timing_only = true;
    stats_new(c, s);
    s->kRetransmit = orr_trace_kind(c, "rdma.retransmit");
    s->kErrCqe = orr_trace_kind(c, "rdma.error_cqe");
    s->kQpState = orr_trace_kind(c, "rdma.qp_state");
    s->kRnr = orr_trace_kind(c, "rdma.rnr_nak");
    return rc;
}

static int rnic_start(struct orr_component *c, struct orr_diag *d)
{
    struct rnic *s = c->state;
    if (!s->host->link || !s->net->link) {
        orr_diag_error(d, &c->mark, c->keypath, "ports 'host' and 'net' of %s must be linked",
                       c->path);
        return ORR_ESCHEMA;
    }
    dma_init(s);
    orr_sim_knob(c, "dma_backend", s->pcie->link ? "pcie" : "internal");
    return 0;
}

/* ------------------------------------------------------------------ objects */

struct qp *rnic_qp(struct rnic *s, uint32_t qpn)
{
    return qpn >= 1 && qpn <= s->max_qp ? s->aQp[qpn] : NULL;
}

bool rnic_local_ok(const struct rnic *s, uint64_t addr, uint64_t len)
{
    return addr <= s->memory_size && len <= s->memory_size - addr;
}

static bool qp_check(const struct rnic *s, const struct qp *q, uint32_t qpn)
{
    if (q->qpn != qpn || !qp_sq_check(q) || !txstream_check(&q->stream[0]) ||
        !txstream_check(&q->stream[1]))
        return false;
    if (q->job_tail - q->job_head > q->job_cap || q->rq_tail - q->rq_head > q->rq_cap)
        return false;
    if (q->state == RDMA_QPS_ERROR &&
        (q->sq_tail != q->sq_head || q->job_tail != q->job_head || q->stream[0].n ||
         q->stream[1].n || q->rq_tail != q->rq_head))
        return false;
    (void)s;
    return true;
}

/* The component's invariants (file header). O(QPs + arbiter ring). */
bool rnic_check(const struct rnic *s)
{
    for (uint32_t n = 1; n <= s->max_qp; n++)
        if (s->aQp[n] && !qp_check(s, s->aQp[n], n))
            return false;
    for (uint32_t i = 0; i < s->active_n; i++) {
        uint32_t id = s->aActive[(s->active_head + i) % s->active_cap];
        const struct qp *q = id / 2 <= s->max_qp ? s->aQp[id / 2] : NULL;
        if (!q || !q->stream[id % 2].queued)
            return false;
        for (uint32_t k = i + 1; k < s->active_n; k++)
            if (s->aActive[(s->active_head + k) % s->active_cap] == id)
                return false;
    }
    return true;
}

/* Remove a QP's stream ids from the arbiter ring (it is being destroyed). */
static void active_purge(struct rnic *s, uint32_t qpn)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->active_n; i++) {
        uint32_t id = s->aActive[(s->active_head + i) % s->active_cap];
        if (id / 2 != qpn)
            s->aActive[(s->active_head + n++) % s->active_cap] = id;
    }
    s->active_n = n;
}

static void qp_free(struct orr_component *c, struct qp *q)
{
    for (unsigned k = 0; k < 2; k++)
        for (uint32_t i = 0; i < q->stream[k].n; i++) {
            struct txslot *t = &q->stream[k].a[(q->stream[k].head + i) % RNIC_STAGE];
            if (t->blob)
                orr_blob_free(c->sim, t->blob);
        }
    free(q->aSq);
    free(q->aRq);
    free(q->aJob);
    free(q);
}

void rnic_qp_state(struct orr_component *c, struct rnic *s, struct qp *q, uint8_t state)
{
    if (q->state == state)
        return;
    q->state = state;
    orr_trace_point(c, s->kQpState, q->qpn, state);
    if (state != RDMA_QPS_ERROR)
        return;
    q->timer_gen++;
    q->timer_armed = false;
    q->rnr_wait = false;
    tx_flush(c, s, q, STREAM_REQ);
    tx_flush(c, s, q, STREAM_RSP);
    req_flush(c, s, q, RDMA_WC_WR_FLUSH_ERR);
    rsp_flush(c, s, q);
}

/* ------------------------------------------------------------------ completions */

/* A completion: a 64 B DMA write into the CQ's ring, and the CQE message to
 * the host leaving when that write is in memory (dma_write): writes land in
 * order, so the data it completes is there before it — the host never sees
 * a completion ahead of its bytes. */
void rnic_cqe(struct orr_component *c, struct rnic *s, uint32_t cqn, const struct rdma_cqe *e)
{
    struct cq *cq = cqn >= 1 && cqn <= s->max_cq && s->aCq[cqn].used ? &s->aCq[cqn] : NULL;
    uint64_t slot = cq ? (uint64_t)(cqn - 1) * 4096 + cq->pos++ % 4096 : 0;
    uint64_t addr = s->cq_base + slot * RNIC_CQE_BYTES % RNIC_RING_REGION;
    uint8_t raw[RNIC_CQE_BYTES] = {0};
    memcpy(raw, e, sizeof *e < sizeof raw ? sizeof *e : sizeof raw);
    orr_time_t delay = rnic_local_ok(s, addr, RNIC_CQE_BYTES)
                           ? dma_write(c, s, addr, RNIC_CQE_BYTES, raw)
                           : 0;
    struct rdma_cqe *b;
    struct orr_msg m = {.size = RDMA_HOST_MSG_BYTES};
    m.data[0] = rdma_host_pack(RDMA_N_CQE, 0);
    m.data[1] = orr_blob_new(c->sim, sizeof *b, (void **)&b);
    *b = *e;
    b->cqn = cqn;
    orr_outq_send(&s->hostQ, s->host, &m, delay);
    s->st.cqes->v++;
    if (e->status != RDMA_WC_SUCCESS && e->status < RDMA_WC_STATUS_COUNT) {
        s->st.aErr[e->status]->v++;
        orr_trace_point(c, s->kErrCqe, e->qpn, e->status);
    }
}

static void cqe_now(struct orr_component *c, struct rnic *s, uint32_t cqn, const struct rdma_wr *wr,
                    uint8_t status, uint8_t opcode)
{
    struct rdma_cqe e = {.wr_id = wr->wr_id, .qpn = wr->qpn, .status = status, .opcode = opcode};
    rnic_cqe(c, s, cqn, &e);
}

/* ------------------------------------------------------------------ control verbs */

static int64_t create_qp(struct orr_component *c, struct rnic *s, const struct rdma_ctl *k)
{
    bool cq_ok = k->send_cq >= 1 && k->send_cq <= s->max_cq && s->aCq[k->send_cq].used &&
                 k->recv_cq >= 1 && k->recv_cq <= s->max_cq && s->aCq[k->recv_cq].used;
    if (k->qp_type < RDMA_QPT_RC || k->qp_type > RDMA_QPT_UD || !cq_ok || k->depth == 0 ||
        k->depth > 65536)
        return RDMA_CTL_EINVAL;
    uint32_t n = 1;
    while (n <= s->max_qp && s->aQp[n])
        n++;
    if (n > s->max_qp)
        return RDMA_CTL_ENOMEM;
    struct qp *q = calloc(1, sizeof *q);
    if (!q)
        orr_oom();
    q->qpn = n;
    q->serial = ++s->qp_serial;
    q->type = (uint8_t)k->qp_type;
    q->send_cq = k->send_cq;
    q->recv_cq = k->recv_cq;
    q->depth = k->depth;
    s->aQp[n] = q;
    orr_trace_point(c, s->kQpState, n, RDMA_QPS_RESET);
    rnic_qp_state(c, s, q, q->type == RDMA_QPT_UD ? RDMA_QPS_RTS : RDMA_QPS_INIT);
    return n;
}

static int64_t ctl_exec(struct orr_component *c, struct rnic *s, const struct rdma_ctl *k)
{
    struct qp *q = k->op == RDMA_CTL_CONNECT || k->op == RDMA_CTL_DESTROY_QP ? rnic_qp(s, k->qpn)
                                                                             : NULL;
    switch (k->op) {
    case RDMA_CTL_CREATE_CQ: {
        if (k->depth == 0)
            return RDMA_CTL_EINVAL;
        uint32_t n = 1;
        while (n <= s->max_cq && s->aCq[n].used)
            n++;
        if (n > s->max_cq)
            return RDMA_CTL_ENOMEM;
        s->aCq[n] = (struct cq){.used = true, .depth = k->depth};
        return n;
    }
    case RDMA_CTL_CREATE_QP:
        return create_qp(c, s, k);
    case RDMA_CTL_CONNECT:
        if (!q || k->remote_node >= NET_MAX_NODES || k->remote_qpn == 0 ||
            k->remote_qpn > RDMA_MAX_QP)
            return RDMA_CTL_EINVAL;
        if (q->type == RDMA_QPT_UD || q->state != RDMA_QPS_INIT)
            return RDMA_CTL_ESTATE;
        q->remote_node = k->remote_node;
        q->remote_qpn = k->remote_qpn;
        rnic_qp_state(c, s, q, RDMA_QPS_RTS);
        return 0;
    case RDMA_CTL_DESTROY_QP:
        if (!q)
            return RDMA_CTL_EINVAL;
        active_purge(s, q->qpn);
        s->aQp[q->qpn] = NULL;
        orr_trace_point(c, s->kQpState, q->qpn, 0xFF);
        qp_free(c, q);
        return 0;
    default:
        return RDMA_CTL_EINVAL;
    }
}

static void ctl_done(struct orr_component *c, struct rnic *s, uint64_t h)
{
    struct rdma_ctl *k = orr_blob_get(c->sim, h);
    k->result = ctl_exec(c, s, k);
    struct orr_msg m = {.size = RDMA_HOST_MSG_BYTES,
                        .data = {rdma_host_pack(RDMA_N_CTL_DONE, 0), h}};
    orr_outq_send(&s->hostQ, s->host, &m, 0);
}

/* ------------------------------------------------------------------ host messages */

static void post_recv(struct orr_component *c, struct rnic *s, struct qp *q, const struct rdma_wr *wr)
{
    if (q->state == RDMA_QPS_ERROR) {
        cqe_now(c, s, q->recv_cq, wr, RDMA_WC_WR_FLUSH_ERR, RDMA_WC_RECV);
        return;
    }
    if (wr->opcode != RDMA_OP_RECV || q->rq_tail - q->rq_head >= q->depth) {
        cqe_now(c, s, q->recv_cq, wr, RDMA_WC_LOC_QP_OP_ERR, RDMA_WC_RECV);
        return;
    }
    if (!rnic_local_ok(s, wr->laddr, wr->length)) {
        cqe_now(c, s, q->recv_cq, wr, RDMA_WC_LOC_PROT_ERR, RDMA_WC_RECV);
        return;
    }
    if (q->rq_tail - q->rq_head == q->rq_cap) {
        uint32_t cap = q->rq_cap ? q->rq_cap * 2 : 16;
        struct rwqe *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (uint32_t p = q->rq_head; p != q->rq_tail; p++)
            a[p & (cap - 1)] = q->aRq[p & (q->rq_cap - 1)];
        free(q->aRq);
        q->aRq = a;
        q->rq_cap = cap;
    }
    q->aRq[q->rq_tail++ & (q->rq_cap - 1)] =
        (struct rwqe){.wr_id = wr->wr_id, .laddr = wr->laddr, .length = wr->length};
}

static void host_msg(struct orr_component *c, struct rnic *s, const struct orr_event *ev)
{
    enum rdma_host_kind kind = rdma_host_kind(ev->data[0]);
    uint64_t h = ev->data[1];
    size_t want = kind == RDMA_H_CTL ? sizeof(struct rdma_ctl) : sizeof(struct rdma_wr);
    if (kind != RDMA_H_POST_SEND && kind != RDMA_H_POST_RECV && kind != RDMA_H_CTL) {
        orr_sim_fail_input(c, "host: unknown message kind %u (expected POST_SEND %u, POST_RECV "
                              "%u or CTL %u, include/orrery/rdma.h)",
                           (unsigned)kind, RDMA_H_POST_SEND, RDMA_H_POST_RECV, RDMA_H_CTL);
        return;
    }
    if (!h || orr_blob_size(c->sim, h) < want) {
        orr_sim_fail_input(c, "host: message kind %u without its %s blob (%zu bytes)",
                           (unsigned)kind, kind == RDMA_H_CTL ? "struct rdma_ctl" : "struct rdma_wr",
                           want);
        if (h)
            orr_blob_free(c->sim, h);
        return;
    }
    if (kind == RDMA_H_CTL) {
        s->st.ctl_verbs->v++;
        orr_timer(c, s->ctl_latency, TIMER_CTL, h, 0);
        return;
    }
    struct rdma_wr wr;
    memcpy(&wr, orr_blob_get(c->sim, h), sizeof wr);
    orr_blob_free(c->sim, h);
    struct qp *q = rnic_qp(s, wr.qpn);
    if (!q) { /* no QP, so no CQ of its own: reported on cqn 0 */
        cqe_now(c, s, 0, &wr, RDMA_WC_LOC_QP_OP_ERR,
                kind == RDMA_H_POST_RECV ? RDMA_WC_RECV : RDMA_WC_SEND);
        return;
    }
    if (kind == RDMA_H_POST_RECV) {
        post_recv(c, s, q, &wr);
        return;
    }
    static const uint8_t aWc[] = {0, RDMA_WC_SEND, RDMA_WC_SEND, RDMA_WC_RDMA_WRITE,
                                  RDMA_WC_RDMA_WRITE, RDMA_WC_RDMA_READ, RDMA_WC_COMP_SWAP,
                                  RDMA_WC_FETCH_ADD, RDMA_WC_RECV};
    uint8_t wc = wr.opcode < sizeof aWc ? aWc[wr.opcode] : RDMA_WC_SEND;
    if (q->state == RDMA_QPS_ERROR)
        cqe_now(c, s, q->send_cq, &wr, RDMA_WC_WR_FLUSH_ERR, wc);
    else if (q->state != RDMA_QPS_RTS)
        cqe_now(c, s, q->send_cq, &wr, RDMA_WC_QP_STATE_ERR, wc);
    else if (q->sq_tail - q->sq_head >= q->depth)
        cqe_now(c, s, q->send_cq, &wr, RDMA_WC_LOC_QP_OP_ERR, wc);
    else
        req_post(c, s, q, &wr);
}

/* ------------------------------------------------------------------ packets in */

/* A packet after the receive pipeline: decode, then the responder (requests)
 * or the requester (responses, ACKs) of the QP it names. */
static void net_packet_in(struct orr_component *c, struct rnic *s, const struct orr_msg *m)
{
    uint64_t word = m->data[0], hdr = m->data[1];
    struct wire_ext x = {0};
    const uint8_t *payload = NULL;
    uint64_t h = wire_has_blob(word) ? wire_blob(word) : 0;
    s->st.rx_packets->v++;
    s->st.rx_bytes->v += m->size;
    if (net_ecn(hdr))
        s->st.ecn->v++;
    if (h) {
        size_t n = orr_blob_size(c->sim, h);
        const uint8_t *b = orr_blob_get(c->sim, h);
        if (n >= sizeof x)
            memcpy(&x, b, sizeof x);
        if (x.has_data && n >= sizeof x + x.len)
            payload = b + sizeof x;
    } else {
        x.dqpn = wire_ack_qpn(word);
    }
    enum wire_op op = wire_op(word);
    if (net_dst(hdr) != s->node || op == 0 || op >= WOP_COUNT || (op != WOP_ACK) != (h != 0)) {
        s->st.rx_dropped->v++;
    } else if (op <= WOP_FAA) {
        rsp_packet(c, s, word, hdr, &x, payload);
    } else {
        struct qp *q = rnic_qp(s, x.dqpn);
        if (q && q->type == RDMA_QPT_RC && q->state == RDMA_QPS_RTS &&
            q->remote_node == net_src(hdr) && (!h || x.sqpn == q->remote_qpn))
            req_response(c, s, q, word, &x, payload, net_src(hdr));
        else
            s->st.rx_dropped->v++;
    }
    if (h)
        orr_blob_free(c->sim, h);
}

/* ------------------------------------------------------------------ DMA and timers */

void rnic_dma_done(struct orr_component *c, struct rnic *s, const struct dma_ctx *ctx, bool err,
                   const uint8_t *bytes, uint32_t len)
{
    struct qp *q = rnic_qp(s, ctx->qpn);
    switch (ctx->purpose) {
    case DP_WQE:
        if (q && q->serial == ctx->serial)
            req_wqe_fetched(c, s, q, (uint32_t)ctx->aux, err);
        break;
    case DP_TX_PAYLOAD:
    case DP_RSP_PAYLOAD:
        tx_payload_done(c, s, ctx, err, bytes, len);
        break;
    case DP_ATOMIC:
        rsp_atomic_read(c, s, (uint32_t)ctx->aux, err, bytes);
        break;
    default:
        break;
    }
}

static void qp_timer(struct orr_component *c, struct rnic *s, const struct orr_event *ev)
{
    struct qp *q = rnic_qp(s, (uint32_t)ev->data[0]);
    uint32_t serial = (uint32_t)(ev->data[1] >> 32);
    if (!q || q->serial != serial)
        return;
    if (ev->port == TIMER_PUMP) {
        q->pump_armed = false;
        req_pump(c, s, q);
    } else if (q->timer_armed && q->timer_gen == (uint32_t)ev->data[1]) {
        req_timer(c, s, q, ev->port);
    }
}

/* Dead: whatever arrives is dropped, its blobs freed. */
static void drop_event(struct orr_component *c, struct rnic *s, const struct orr_event *ev)
{
    uint64_t blob = 0;
    if (ev->kind == ORR_TK_MSG && ev->port == s->host->index)
        blob = ev->data[1];
    else if ((ev->kind == ORR_TK_MSG && ev->port == s->net->index) ||
             (ev->kind == ORR_TK_TIMER && ev->port == TIMER_RX))
        blob = net_is_ctrl(ev->data[1]) || !wire_has_blob(ev->data[0]) ? 0 : wire_blob(ev->data[0]);
    else if (ev->kind == ORR_TK_MSG && ev->port == s->pcie->index) {
        enum pcie_tlp_type t = pcie_hdr_unpack(ev->data[0]).type;
        blob = t == PCIE_MWR || t == PCIE_CPLD ? ev->data[1] : 0;
    } else if (ev->kind == ORR_TK_TIMER && ev->port == TIMER_CTL)
        blob = ev->data[0];
    if (blob)
        orr_blob_free(c->sim, blob);
}

static void rnic_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct rnic *s = c->state;
    if (s->dead) {
        drop_event(c, s, ev);
        return;
    }
    switch (ev->kind) {
    case ORR_TK_MSG:
        if (ev->port == s->host->index) {
            host_msg(c, s, ev);
        } else if (ev->port == s->net->index) {
            struct orr_msg m = {.size = ev->size, .data = {ev->data[0], ev->data[1]}};
            if (net_is_ctrl(ev->data[1]))
                tx_pfc(c, s, ev);
            else if (s->rx_latency)
                orr_timer_msg(c, s->rx_latency, TIMER_RX, &m);
            else
                net_packet_in(c, s, &m);
        } else {
            dma_tlp(c, s, ev);
        }
        break;
    case ORR_TK_READY:
        if (ev->port == s->host->index)
            orr_outq_drain(&s->hostQ, s->host);
        else if (ev->port == s->pcie->index)
            orr_outq_drain(&s->pcieQ, s->pcie);
        break;
    case ORR_TK_TIMER:
        switch (ev->port) {
        case TIMER_DMA:
            dma_timer(c, s, (uint32_t)ev->data[0]);
            break;
        case TIMER_CTL:
            ctl_done(c, s, ev->data[0]);
            break;
        case TIMER_RX: {
            struct orr_msg m = {.size = ev->size, .data = {ev->data[0], ev->data[1]}};
            net_packet_in(c, s, &m);
            break;
        }
        default:
            qp_timer(c, s, ev);
            break;
        }
        break;
    default:
        break;
    }
    tx_kick(c, s);
    assert(rnic_check(s));
}

/* ------------------------------------------------------------------ faults */

static void rnic_fault(struct orr_component *c, unsigned fault, const struct orr_params *p)
{
    struct rnic *s = c->state;
    if (fault == FAULT_DIE) {
        s->dead = true;
        return;
    }
    struct qp *q = rnic_qp(s, (uint32_t)orr_param_u64(p, "qpn"));
    if (q && !s->dead)
        rnic_qp_state(c, s, q, RDMA_QPS_ERROR);
}

static int rnic_fault_check(struct orr_component *c, unsigned fault, const struct orr_params *p,
                            const struct orr_mark *mark, struct orr_diag *d)
{
    const struct rnic *s = c->state;
    if (fault == FAULT_QP_ERROR && orr_param_u64(p, "qpn") > s->max_qp) {
        orr_diag_error(d, mark, c->keypath, "fault qpn %llu is not a QP of '%s' (1..%u)",
                       (unsigned long long)orr_param_u64(p, "qpn"), c->path, s->max_qp);
        return ORR_ESCHEMA;
    }
    return 0;
}

static void rnic_destroy(struct orr_component *c)
{
    struct rnic *s = c->state;
    for (uint32_t n = 1; s->aQp && n <= s->max_qp; n++)
        if (s->aQp[n]) {
            free(s->aQp[n]->aSq);
            free(s->aQp[n]->aRq);
            free(s->aQp[n]->aJob);
            free(s->aQp[n]);
        }
    free(s->aQp);
    free(s->aCq);
    free(s->aActive);
    free(s->aCtl);
    free(s->aAtomic);
    orr_outq_free(&s->hostQ);
    dma_free(s);
}

static const struct orr_metric_doc rnic_metrics[] = {
    {"tx_packets", "pkt", ORR_METRIC_COUNTER,
     "packets sent on net (requests, responses, ACKs, NAKs)"},
    {"tx_bytes", "B", ORR_METRIC_COUNTER, "bytes sent on net"},
    {"rx_packets", "pkt", ORR_METRIC_COUNTER, "packets received from net"},
    {"rx_bytes", "B", ORR_METRIC_COUNTER, "bytes received from net"},
    {"msgs_<OP>", "msg", ORR_METRIC_COUNTER,
     "messages sent, by OP: send, send_imm, write, write_imm, read, cas or faa"},
    {"acks_sent", "pkt", ORR_METRIC_COUNTER, "ACKs sent (responder)"},
    {"acks_received", "pkt", ORR_METRIC_COUNTER, "ACKs received (requester)"},
    {"naks_sent", "pkt", ORR_METRIC_COUNTER, "NAKs sent, every kind"},
    {"naks_seq", "pkt", ORR_METRIC_COUNTER, "sequence-error NAKs received (a packet was lost)"},
    {"naks_rnr", "pkt", ORR_METRIC_COUNTER, "receiver-not-ready NAKs received (no receive posted)"},
    {"naks_inv", "pkt", ORR_METRIC_COUNTER, "invalid-request NAKs received"},
    {"naks_access", "pkt", ORR_METRIC_COUNTER, "remote-access-error NAKs received"},
    {"retransmitted_packets", "pkt", ORR_METRIC_COUNTER, "request packets sent again (go-back-N)"},
    {"timeouts", "event", ORR_METRIC_COUNTER, "retransmission timeouts that fired"},
    {"cqe_<STATUS>", "cqe", ORR_METRIC_COUNTER,
     "error completions by STATUS: loc_len_err, loc_qp_op_err, qp_state_err, wr_flush_err, "
     "rem_access_err, rem_inv_req_err, retry_exc_err, rnr_retry_exc_err or loc_prot_err"},
    {"cqes", "cqe", ORR_METRIC_COUNTER, "completions delivered to the host"},
    {"ctl_verbs", "verb", ORR_METRIC_COUNTER,
     "control verbs executed (create and destroy CQ/QP, connect, ...)"},
    {"dma_read_bytes", "B", ORR_METRIC_COUNTER, "bytes read from host memory"},
    {"dma_write_bytes", "B", ORR_METRIC_COUNTER, "bytes written to host memory"},
    {"ecn_marked_received", "pkt", ORR_METRIC_COUNTER, "packets received with an ECN mark"},
    {"pfc_pauses", "frame", ORR_METRIC_COUNTER, "PFC pause frames received"},
    {"atomics_queued", "op", ORR_METRIC_COUNTER,
     "atomics that waited behind another on the same address"},
    {"rx_dropped", "pkt", ORR_METRIC_COUNTER,
     "packets received and discarded (no QP, bad state, out of sequence)"},
    {"uc_dropped_messages", "msg", ORR_METRIC_COUNTER,
     "UC messages dropped incomplete (a packet was lost)"},
    {"outstanding_reads", "op", ORR_METRIC_GAUGE,
     "RDMA reads and atomics waiting for their response"},
    {NULL},
};

const struct orr_component_type orr_rnic_type = {
    .name = "rnic",
    .summary = "RDMA NIC (RoCEv2-like): RC/UC/UD queue pairs, verbs on `host`, DMA, reliable transport",
    .params = rnic_params,
    .ports = rnic_ports,
    .faults = rnic_faults,
    .metrics = rnic_metrics,
    .state_size = sizeof(struct rnic),
    .create = rnic_create,
    .start = rnic_start,
    .handle = rnic_handle,
    .fault = rnic_fault,
    .fault_check = rnic_fault_check,
    .destroy = rnic_destroy,
};
