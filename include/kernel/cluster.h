/* The cluster transport (kernel/cluster/transport.c): small reliable
 * messages between kernels on different nodes over the RDMA verbs of
 * include/kernel/hal.h. One UD QP per node (always QPN 1, the well-known
 * connection-management QP), one RC QP per connected peer, one send CQ and
 * one receive CQ. docs/kernel-cluster.md has the handshake, the peer state
 * machine and the failure rules; the state table heads transport.c.
 *
 * Use: fill a struct xport_config, give xport_init an array of
 * cfg.nodes struct xport_peer (the caller's storage; nothing here
 * allocates), call xport_start, then xport_connect to peers. Route every
 * kern_net upcall to xport_handle and the CPU's timer to xport_timer
 * (arming hal_timer_set for xport_next_deadline). Messages arrive through
 * ops->on_deliver; a peer that fails is reported once through
 * ops->on_peer_down and refuses sends from then on. All calls run with
 * interrupts off on the CPU that receives the transport's upcalls. */
#ifndef KERNEL_CLUSTER_H
#define KERNEL_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hal.h"

#define XPORT_MSG_MAX 64u   /* bytes per message: one CQE's inline data */
#define XPORT_UD_QPN 1u     /* every node's connection-management QP */
#define XPORT_MAX_RECV 64u  /* recv_depth limit (wr_id slot field) */
#define XPORT_MAX_NODES (1u << 20)

/* Kernel tracepoints (hal_trace). */
enum xport_tracepoint {
    XPORT_TP_PEER_UP = 0x0200,   /* a = peer, b = our RC qpn */
    XPORT_TP_PEER_DOWN = 0x0201, /* a = peer, b = status (enum hal_net_wc_status or xport_down) */
};

/* Return codes: 0 or one of these. */
enum xport_err {
    XPORT_OK = 0,
    XPORT_EINVAL = -1, /* bad argument: peer out of range or self, len > XPORT_MSG_MAX */
    XPORT_EAGAIN = -2, /* not yet connected, or the send window is full: retry later */
    XPORT_EDOWN = -3,  /* the peer is down (or the transport failed) */
    XPORT_ENET = -4,   /* the HAL refused (HAL_ENOTSUP: no RNIC on this platform) */
};

/* on_peer_down's status when no CQE status says why. */
enum xport_down {
    XPORT_DOWN_TIMEOUT = 0x100,   /* a signaled send had no completion within op_timeout */
    XPORT_DOWN_HANDSHAKE = 0x101, /* no CONNECT-REP / RTU after every retry */
    XPORT_DOWN_LOCAL = 0x102,     /* our RNIC refused a control verb for this peer */
};

enum xport_peer_state {
    XP_IDLE = 0,    /* no QP */
    XP_CREATING,    /* CREATE_QP posted */
    XP_REQ_SENT,    /* initiator: CONNECT-REQ sent, waiting for CONNECT-REP */
    XP_CONNECTING,  /* CONNECT posted */
    XP_ACCEPTED,    /* responder: connected, CONNECT-REP sent, waiting for RTU */
    XP_UP,          /* messages flow both ways */
    XP_DOWN,        /* failed; terminal */
    XP_NSTATE
};

enum xport_state {
    XPORT_OFF = 0, /* initialised, not started */
    XPORT_BOOT,    /* creating CQs and the UD QP */
    XPORT_READY,   /* connections may be made */
    XPORT_FAILED,  /* the RNIC refused the transport's own resources; terminal */
};

struct xport_peer {
    uint8_t eState;        /* enum xport_peer_state */
    bool initiator;        /* we sent the CONNECT-REQ and drive the handshake */
    bool want;             /* xport_connect before READY: start when ready */
    uint8_t nRetry;        /* handshake retries used */
    uint32_t qpn;          /* our RC QP for this peer (0: none yet) */
    uint32_t remote_qpn;   /* the peer's RC QP for us (0: not known) */
    uint32_t nSendOut;     /* signaled sends not yet completed */
    uint32_t nRecvPosted;  /* RECVs posted on qpn and not yet completed */
    uint32_t down_status;  /* XP_DOWN: why */
    hal_ns_t deadline;     /* handshake retry, or oldest send's timeout; 0: none */
    hal_ns_t last_send;    /* for keepalives */
    uint64_t send_seq;
    uint64_t nSent, nDelivered;
};

struct xport;

/* Callbacks, on the transport's CPU with interrupts off. They may call
 * xport_send / xport_connect. */
struct xport_ops {
    void (*on_ready)(struct xport *x, struct hal_cpu *c);               /* optional */
    void (*on_peer_up)(struct xport *x, struct hal_cpu *c, uint32_t peer); /* optional */
    void (*on_deliver)(struct xport *x, struct hal_cpu *c, uint32_t peer, const uint8_t *msg,
                       uint32_t len);
    void (*on_peer_down)(struct xport *x, struct hal_cpu *c, uint32_t peer, uint32_t status);
    /* the transport failed for good (XPORT_FAILED); optional */
    void (*on_failed)(struct xport *x, struct hal_cpu *c, int64_t why);
};

struct xport_config {
    uint32_t self, nodes;       /* this node's id, 0 <= self < nodes */
    uint32_t recv_depth;        /* RECVs kept posted per QP, 1..XPORT_MAX_RECV */
    uint32_t send_window;       /* signaled sends in flight per peer, >= 1 */
    uint32_t cq_depth;          /* entries per CQ */
    uint64_t recv_base;         /* bus address of (nodes + 1) * recv_depth *
                                   XPORT_MSG_MAX bytes of receive buffers */
    hal_ns_t keepalive_ns;      /* idle UP peer: send a keepalive this often; 0: never */
    hal_ns_t op_timeout_ns;     /* a send not completed in this long: peer down */
    hal_ns_t handshake_timeout_ns; /* resend CONNECT-REQ / -REP after this long */
    uint32_t handshake_retries; /* then give up: peer down */
};

/* The defaults above are filled by xport_config_default (self/nodes 0). */
void xport_config_default(struct xport_config *cfg);

struct xport {
    struct xport_config cfg;
    const struct xport_ops *ops;
    void *arg;                  /* the owner's, for the callbacks */
    struct xport_peer *aPeer;   /* cfg.nodes entries (aPeer[self] unused) */
    uint8_t eState;             /* enum xport_state */
    uint32_t send_cq, recv_cq, ud_qpn;
    uint32_t nUdRecvPosted;
    uint64_t nPeersDown, nHandshakeMsgs, nKeepalives, nStray;
    uint64_t nMisordered;       /* data out of sequence on an RC QP (never, if the RNIC is right) */
    int64_t fail_why;
};

/* Validate cfg and set up x over aPeer (cfg->nodes entries, zeroed here).
 * XPORT_EINVAL if cfg is out of range. */
int xport_init(struct xport *x, const struct xport_config *cfg, struct xport_peer *aPeer,
               const struct xport_ops *ops, void *arg);
/* Create the CQs and the UD QP (asynchronous: on_ready follows).
 * XPORT_ENET if the platform has no network. */
int xport_start(struct xport *x, struct hal_cpu *c);
/* Connect to peer (asynchronous: on_peer_up follows, or on_peer_down).
 * 0 if started or already under way/up; XPORT_EDOWN if the peer is down. */
int xport_connect(struct xport *x, struct hal_cpu *c, uint32_t peer);
/* Send msg[0..len) to an UP peer, len <= XPORT_MSG_MAX (0 allowed). */
int xport_send(struct xport *x, struct hal_cpu *c, uint32_t peer, const void *msg, uint32_t len);
/* kern_net(c, cq): take and handle every waiting completion of cq. */
void xport_handle(struct xport *x, struct hal_cpu *c, uint32_t cq);
/* Time-driven work due at hal_now: handshake retries, send timeouts,
 * keepalives. Call at (or after) xport_next_deadline. */
void xport_timer(struct xport *x, struct hal_cpu *c);
/* When xport_timer next has work; 0: none. */
hal_ns_t xport_next_deadline(const struct xport *x);

enum xport_peer_state xport_peer_state(const struct xport *x, uint32_t peer);
const char *xport_peer_state_name(enum xport_peer_state s);

/* The invariants (transport.c's header): 0 if they hold, else the number
 * of the first broken one; xport_check_name says which. O(nodes^2). */
int xport_check(const struct xport *x);
const char *xport_check_name(int code);

#endif
