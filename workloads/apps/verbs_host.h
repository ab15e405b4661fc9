/* verbs_host: the host side of include/orrery/rdma.h for workload
 * components — what libibverbs plus a tiny connection manager are to a
 * real application. A workload embeds a struct verbs_host, calls vh_init
 * from its create op and hands every event to vh_handle; it gets its
 * control results, completions and connections back through callbacks.
 *
 * Connection manager (CM). RC and UC QPs need the peer's QPN before
 * CONNECT. vh_cm_start creates the CM's CQ and then its UD QP before the
 * workload creates anything else, so the UD QP is QPN 1 on every node (the
 * RNIC allocates lowest-free from 1), as InfiniBand's QP1 is the well-known
 * management QP. Both ends of a connection call vh_cm_connect(peer, tag,
 * local qpn); each end then sends HELLO datagrams to the peer's QP 1:
 *
 *   HELLO {tag, my qpn, flags: KNOW_YOURS (I have your qpn),
 *                             CONNECTED (my QP is in RTS)}
 *
 * Per (peer, tag) entry:
 *
 *   WAIT_PEER --HELLO in--> CONNECTING --CONNECT done--> LOCAL_READY
 *   LOCAL_READY --HELLO in with CONNECTED--> UP (on_connected)
 *
 * An entry resends its HELLO every cm_retry until the peer has shown both
 * KNOW_YOURS and CONNECTED, and answers every HELLO that shows the peer
 * lacks something it could know, so the exchange survives datagram loss.
 * on_connected fires only once both QPs are in RTS, so neither side sends
 * to a QP that is still in INIT. After cm_retries unanswered HELLOs the
 * entry fails (on_connected with qpn 0).
 *
 * Datagram (UD) QPs need no CONNECT, only each other's number:
 * vh_cm_exchange runs the same HELLOs for a UD QP, which is in RTS from its
 * creation (so it starts in LOCAL_READY), and vh_cm_peer_qpn then gives
 * the peer's QP for the UD destination.
 *
 * Everything is deterministic: entries are kept in call order, and timers
 * are the component's own. */
#ifndef ORRERY_WORKLOADS_VERBS_HOST_H
#define ORRERY_WORKLOADS_VERBS_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "orrery/outq.h"
#include "orrery/rdma.h"
#include "orrery/sim.h"

/* The self-timer tag verbs_host uses; workloads use other tags. */
#define VH_TAG_CM 0xE000u
#define VH_CM_QPN 1u
#define VH_CM_RECVS 64u /* receive buffers of RDMA_CQE_INLINE bytes at the CM's buf */

struct verbs_host;

struct vh_callbacks {
    /* A control verb finished (ctl->result: qpn/cqn > 0, 0, or < 0). */
    void (*on_ctl)(struct verbs_host *vh, const struct rdma_ctl *ctl);
    /* A completion on a CQ other than the CM's. */
    void (*on_cqe)(struct verbs_host *vh, const struct rdma_cqe *cqe);
    /* vh_cm_connect(peer, tag, qpn) finished: both QPs are in RTS (qpn is
     * the local one), or the exchange failed (qpn 0). */
    void (*on_connected)(struct verbs_host *vh, uint32_t peer, uint32_t tag, uint32_t qpn);
    /* vh_cm_start finished (the CM's UD QP exists); may be NULL. */
    void (*on_cm_ready)(struct verbs_host *vh);
};

struct vh_conn; /* private */

struct verbs_host {
    struct orr_component *c;
    struct orr_port *port;
    uint32_t node;
    struct vh_callbacks cb;
    void *user;
    /* connection manager */
    uint32_t cm_cq, cm_qpn;
    uint64_t cm_buf;
    orr_time_t cm_retry;
    unsigned cm_retries;
    struct vh_conn *aConn;
    uint32_t nConn, capConn;
    bool cm_timer_armed;
    struct orr_outq out; /* messages the port refused (a host link with bandwidth) */
    /* stats */
    struct orr_counter *posts, *cqes, *cqe_errors;
};

/* The stats vh_init registers: rows for the workload type's metrics
 * table (orrery/stats.h). */
#define VH_METRICS                                                                                 \
    {"verbs_posts", "wr", ORR_METRIC_COUNTER, "work requests posted to the rnic"},                 \
    {"verbs_completions", "cqe", ORR_METRIC_COUNTER, "completions received from the rnic"},        \
    {"verbs_error_completions", "cqe", ORR_METRIC_COUNTER,                                         \
     "completions received with an error status"}

/* From create: add the port (default name "rnic") and the stats. */
void vh_init(struct verbs_host *vh, struct orr_component *c, const char *port, uint32_t node,
             const struct vh_callbacks *cb, void *user);
/* From start: ORR_ESCHEMA (with a message at c's mark) if the port is not
 * linked. */
int vh_check_linked(struct verbs_host *vh, struct orr_diag *d);
void vh_destroy(struct verbs_host *vh);

/* Hand every event to vh_handle; it returns true if it was verbs_host's
 * (a message on its port, its timer or a READY on its port). */
bool vh_handle(struct verbs_host *vh, const struct orr_event *ev);

/* Control verbs; the result comes back in on_ctl with the same cookie. */
void vh_ctl(struct verbs_host *vh, const struct rdma_ctl *ctl);
void vh_create_cq(struct verbs_host *vh, uint32_t depth, uint64_t cookie);
void vh_create_qp(struct verbs_host *vh, enum rdma_qp_type type, uint32_t send_cq,
                  uint32_t recv_cq, uint32_t depth, uint64_t cookie);
void vh_connect(struct verbs_host *vh, uint32_t qpn, uint32_t node, uint32_t qpn_remote,
                uint64_t cookie);

/* Data path. */
void vh_post_send(struct verbs_host *vh, const struct rdma_wr *wr);
void vh_post_recv(struct verbs_host *vh, uint32_t qpn, uint64_t wr_id, uint64_t laddr,
                  uint32_t length);

/* Connection manager (see the top of this file). retry: the HELLO resend
 * period; retries: how many resends before giving up; buf: host memory for
 * VH_CM_RECVS * RDMA_CQE_INLINE bytes of datagram receive buffers. Control
 * cookies with bit 63 set are the CM's own: workloads use the others. */
void vh_cm_start(struct verbs_host *vh, orr_time_t retry, unsigned retries, uint64_t buf);
/* cm_retry: the HELLO resend period, a key of every workload that uses the
 * connection manager, declared once. */
extern const struct orr_param vh_cm_params[];
void vh_cm_connect(struct verbs_host *vh, uint32_t peer, uint32_t tag, uint32_t local_qpn);
/* The same exchange for a UD QP: no CONNECT; on_connected once the peer's
 * UD QP number is known and the peer knows ours. */
void vh_cm_exchange(struct verbs_host *vh, uint32_t peer, uint32_t tag, uint32_t local_ud_qpn);
/* The peer's QP number learnt for (peer, tag), or 0 if none yet. */
uint32_t vh_cm_peer_qpn(const struct verbs_host *vh, uint32_t peer, uint32_t tag);

#endif
