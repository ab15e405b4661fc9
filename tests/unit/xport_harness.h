/* A host harness for the cluster transport (kernel/cluster/transport.c):
 * several nodes in one process, each with one CPU running an xport, and a
 * deterministic in-memory fake RNIC + fabric behind the network HAL
 * (include/kernel/hal.h). Time is a counter the harness advances from event
 * to event; events are ordered by (time, sequence).
 *
 * The fake RNIC: CQs and QPs numbered lowest-free from 1; control verbs
 * answered ctl_ns after the previous answer, in order, as CTL CQEs on CQ 0;
 * a packet takes wire_ns; RC receives need a posted RECV (else the sender
 * gets RNR_RETRY_EXC_ERR) and a connected, matching QP (else
 * REM_INV_REQ_ERR); a signaled RC send completes wire_ns after it lands
 * (the ack). A dead node's RNIC does nothing at all (answers no control
 * verb, sends nothing, acks nothing); an RC send to it completes with
 * RETRY_EXC_ERR retry_ns after it would have landed, and its QP goes to
 * ERROR, flushing what is posted (FLUSH_ERR CQEs). The harness raises
 * xport_handle for a CQ irq_ns after a CQE lands (one pending per CQ), calls
 * xport_timer when the node's timer is due, and re-arms that timer at
 * xport_next_deadline after every kernel entry. After every event it
 * asserts xport_check on every node. */
#ifndef XPORT_HARNESS_H
#define XPORT_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/cluster.h"
#include "kernel/hal.h"

#define XH_MAX_NODES 8
#define XH_MAX_QP 16
#define XH_MAX_CQ 8
#define XH_MAX_RQ 128
#define XH_CQ_CAP 1024
#define XH_MAX_EV 4096
#define XH_MSG_LOG 256

struct xh;

struct hal_cpu {
    struct xh *h;
    unsigned node;
    bool timer_armed;
    hal_ns_t timer;
    uint64_t cost_cycles;
    bool irq_pending[XH_MAX_CQ];
};

struct xh_qp {
    bool used;
    uint8_t type, state; /* enum hal_net_qp_type; 0 INIT, 1 RTS, 2 ERROR */
    uint32_t send_cq, recv_cq, remote_node, remote_qpn;
    uint64_t rq_id[XH_MAX_RQ]; /* posted RECVs' wr_ids (ring) */
    uint32_t rq_len[XH_MAX_RQ];
    uint32_t rq_head, rq_n;
};

struct xh_cq {
    struct hal_net_cqe a[XH_CQ_CAP];
    uint32_t head, n;
};

struct xh_msg {
    uint32_t peer, len;
    uint8_t data[XPORT_MSG_MAX];
};

struct xh_node {
    struct hal_cpu cpu;
    bool dead, no_net;
    struct xh_qp qp[XH_MAX_QP + 1]; /* index = qpn */
    struct xh_cq cq[XH_MAX_CQ];     /* index = cqn; 0 is the control CQ */
    bool cq_used[XH_MAX_CQ];
    hal_ns_t ctl_free_at;
    struct xport x;
    struct xport_peer peers[XH_MAX_NODES];
    /* what the callbacks saw */
    bool ready;
    unsigned ups[XH_MAX_NODES], downs[XH_MAX_NODES];
    uint32_t down_status[XH_MAX_NODES];
    uint64_t delivered[XH_MAX_NODES];
    struct xh_msg log[XH_MSG_LOG];
    unsigned nlog;
    unsigned checks;
};

enum xh_ev_kind { XH_EV_CTL = 1, XH_EV_PKT, XH_EV_SEND_DONE, XH_EV_IRQ };

struct xh_ev {
    hal_ns_t at;
    uint64_t seq;
    uint8_t kind;
    unsigned node;           /* where it happens */
    struct hal_net_cqe cqe;  /* CTL: the answer; SEND_DONE: the sender's CQE */
    struct hal_net_ctl ctl;  /* CTL: the request */
    /* PKT */
    unsigned src_node;
    uint32_t src_qpn, dst_qpn;
    uint64_t wr_id;
    bool signaled;
    uint8_t qp_type;
    uint32_t imm, len;
    uint8_t data[XPORT_MSG_MAX];
    uint32_t cq; /* IRQ */
};

struct xh {
    unsigned nnodes;
    hal_ns_t now;
    uint64_t seq;
    hal_ns_t ctl_ns, wire_ns, irq_ns, retry_ns;
    struct xh_node node[XH_MAX_NODES];
    struct xh_ev ev[XH_MAX_EV];
    unsigned nev;
    uint64_t events;
};

/* Set up nnodes nodes with cfg (self and nodes filled in per node) and
 * start each transport. */
void xh_init(struct xh *h, unsigned nnodes, const struct xport_config *cfg);
/* Run events and timers up to and including time `until`. */
void xh_run(struct xh *h, hal_ns_t until);
/* Kernel entries from the test, re-arming the node's timer after. */
int xh_connect(struct xh *h, unsigned node, uint32_t peer);
int xh_send(struct xh *h, unsigned node, uint32_t peer, const void *msg, uint32_t len);
/* Kill a node's RNIC from now on (the rnic `die` fault). */
void xh_kill(struct xh *h, unsigned node);

#endif
