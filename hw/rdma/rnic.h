/* rnic internals shared by the files of hw/rdma/: the component's state,
 * queue pairs, completion queues, transmit streams and the functions the
 * files call in each other. Private to hw/rdma/ (the public contract is
 * include/orrery/rdma.h; docs/rdma.md describes the model).
 *
 *   rnic.c       the component: params, host messages, control verbs, CQEs,
 *                faults, stats, event dispatch
 *   dma.c        host memory access: PCIe TLPs, or an internal linestore
 *   tx.c         transmit streams, round-robin arbiter, the net port, PFC
 *   requester.c  send queues: segmentation, ACK/NAK handling, go-back-N,
 *                RNR and retry timers, send completions
 *   responder.c  receive side: PSN checks, RECV matching, writes, READ and
 *                atomic responses, ACK generation
 *
 * Queue positions (sq_*, rq_*, job_*) are absolute uint32 counters; a ring
 * slot is pos & (cap - 1) with cap a power of two that grows on demand. */
#ifndef ORRERY_HW_RDMA_RNIC_H
#define ORRERY_HW_RDMA_RNIC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/hostmem.h"
#include "orrery/net.h"
#include "orrery/outq.h"
#include "orrery/pcie.h"
#include "orrery/rdma.h"
#include "orrery/sim.h"
#include "wire.h"

#define RNIC_STAGE 16u            /* packets a stream holds: DMA in flight or ready */
#define RNIC_WQE_BYTES 64u
#define RNIC_CQE_BYTES 64u
#define RNIC_RING_REGION (1u << 20) /* bytes of the WQE region and of the CQ region */
#define RNIC_ATOMIC_SAVED 16u     /* atomic results a responder QP keeps for duplicates */
#define RNIC_MAX_UNACKED (1u << 22) /* PSNs a QP may have outstanding (< half the space) */

enum rnic_timer {
    TIMER_DMA = 1,   /* internal backend: a DMA op is done (a = op) */
    TIMER_CTL,       /* a control verb's latency has passed (a = blob) */
    TIMER_RX,        /* a packet's receive pipeline latency has passed (the message) */
    TIMER_RETRY,     /* RC retransmission timer (a = qpn, b = serial << 32 | gen) */
    TIMER_RNR,       /* RNR back-off over (a = qpn, b = serial << 32 | gen) */
    TIMER_PUMP,      /* the message-rate gate opens (a = qpn, b = serial) */
};

/* Send WQE: a work request and its progress. */
enum swqe_state { SW_FETCH = 1, SW_READY, SW_DONE };
struct swqe {
    struct rdma_wr wr;
    uint32_t psn_first, npsn; /* RC/UC: PSNs the message uses (READ: one per response) */
    uint8_t state;            /* enum swqe_state */
    uint8_t status;           /* SW_DONE: enum rdma_wc_status */
    bool rd_counted;          /* READ/atomic: counted in qp->rd_out */
    uint64_t value;           /* atomic: the old value */
};

/* Receive WQE. */
struct rwqe {
    uint64_t wr_id, laddr;
    uint32_t length;
};

/* A responder job, sent in PSN order on the QP's response stream. */
enum rjob_kind { RJ_ACK = 1, RJ_READ, RJ_ATOMIC };
struct rjob {
    uint8_t kind, syndrome;
    bool ready;             /* RJ_ATOMIC: the value is known */
    uint32_t psn;           /* RJ_ACK: acked/naked psn; READ: first response psn */
    uint64_t raddr, value;
    uint32_t len, npkt, sent;
};

/* A packet being prepared (payload DMA in flight) or ready to leave. */
struct txslot {
    struct orr_msg m;
    uint64_t blob;      /* 0: none */
    bool ready;
    bool last;          /* the last packet of its message */
    bool retransmit;
    uint32_t wqe;       /* requester: the WQE's absolute position */
    uint32_t psn;
};

struct txstream {
    struct txslot a[RNIC_STAGE];
    uint32_t head, n; /* ring of RNIC_STAGE */
    uint32_t epoch;   /* bumped by a flush: DMA for older slots is discarded */
    bool queued;      /* in the arbiter's ring */
};
enum { STREAM_REQ = 0, STREAM_RSP = 1 };

struct qp {
    uint32_t qpn, serial; /* serial: unique per creation, guards stale events */
    uint8_t type, state;  /* enum rdma_qp_type, enum rdma_qp_state */
    uint32_t send_cq, recv_cq, depth;
    uint32_t remote_node, remote_qpn;

    /* send queue (requester) */
    struct swqe *aSq;
    uint32_t sq_cap, sq_head, sq_tail; /* head: oldest not completed */
    uint32_t gen_idx, gen_pkt;         /* the next packet to generate */
    uint32_t sq_psn;                   /* psn_first of the next posted WQE */
    uint32_t una;                      /* RC: oldest unacknowledged PSN */
    uint32_t hi_psn;                   /* one past the highest PSN sent: below is a resend */
    uint32_t rd_out;                   /* READ/atomic requests outstanding */
    uint32_t since_ackreq;
    uint8_t retry_cnt, rnr_cnt;
    bool rnr_wait, pump_armed;
    uint32_t timer_gen;
    bool timer_armed;
    uint8_t timer_tag;     /* TIMER_RETRY or TIMER_RNR while armed */
    orr_time_t retry_at;   /* the retransmission deadline: an armed TIMER_RETRY
                            * event that fires earlier re-arms itself for it */

    /* receive queue and responder */
    struct rwqe *aRq;
    uint32_t rq_cap, rq_head, rq_tail;
    uint32_t epsn;     /* RC/UC: next expected request PSN */
    bool nak_sent;     /* a sequence NAK is out for epsn */
    bool in_msg;       /* a multi-packet request is in progress */
    bool in_drop;      /* UC: dropping the message in progress */
    bool in_recv;      /* the RECV at rq_head is being filled */
    bool in_err;       /* the RECV overflowed: complete it with LOC_LEN_ERR */
    uint8_t in_op;
    uint64_t in_addr;  /* WRITE: next remote address */
    uint32_t in_off;   /* SEND: bytes received so far */
    struct atomic_saved { uint32_t psn; uint64_t value; bool valid; } aSaved[RNIC_ATOMIC_SAVED];
    uint32_t nSaved;

    struct rjob *aJob;
    uint32_t job_cap, job_head, job_tail;

    struct txstream stream[2];
};

struct cq {
    bool used;
    uint32_t depth, pos;
};

/* DMA */
enum dma_purpose { DP_WQE = 1, DP_TX_PAYLOAD, DP_RSP_PAYLOAD, DP_ATOMIC, DP_WRITE_LAND };
struct dma_ctx {
    uint8_t purpose;
    uint8_t stream;
    uint16_t slot;
    uint32_t qpn, serial, epoch;
    uint64_t aux; /* DP_WQE: the WQE's position; DP_ATOMIC: the atomic job index */
};
struct dma_op {
    bool used, err;
    struct dma_ctx ctx;
    uint64_t addr;
    uint32_t len, chunks_left, next_off;
    uint8_t *buf;
};

/* An atomic waiting for, or holding, its address at the responder. */
struct atomic_job {
    bool used, started;
    uint32_t qpn, serial, psn, job; /* job: the QP's RJ_ATOMIC position */
    uint8_t op;                     /* WOP_CAS or WOP_FAA */
    uint64_t addr, compare, swap_add;
    uint32_t next;                  /* index + 1 of the next atomic on addr; 0 none */
};

struct rnic_stats {
    struct orr_counter *tx_packets, *tx_bytes, *rx_packets, *rx_bytes, *aMsg[WOP_COUNT],
        *acks_sent, *acks_received, *naks_sent, *naks_seq, *naks_rnr, *naks_inv, *naks_access,
        *retransmits, *timeouts, *aErr[RDMA_WC_STATUS_COUNT], *dma_rd, *dma_wr, *ecn,
        *pfc_pauses, *atomics_queued, *rx_dropped, *uc_dropped, *cqes, *ctl_verbs;
    struct orr_gauge *reads_out;
};

struct rnic {
    struct orr_port *host, *net, *pcie;
    bool dead;

    /* params */
    uint32_t node, mtu, pmtu, max_qp, max_cq, max_inline, max_rd_atomic, ack_every;
    uint32_t max_read, max_payload, dma_tags;
    uint8_t retry_count, rnr_retry, prio;
    orr_time_t msg_gap, tx_latency, rx_latency, retry_timeout, rnr_timeout, ctl_latency,
        dma_latency;
    uint64_t memory_size, wq_base, cq_base;
    bool data;
    bool bug_lost_retransmit; /* inject_bug: lost_retransmit (a planted bug) */
    uint16_t requester;

    /* objects */
    struct qp **aQp; /* [1..max_qp] */
    struct cq *aCq;  /* [1..max_cq] */
    uint32_t qp_serial;

    /* transmit */
    uint32_t *aActive; /* ring of stream ids (qpn * 2 + stream) with a ready packet */
    uint32_t active_cap, active_head, active_n;
    struct orr_msg *aCtl; /* packets without a QP stream (NAKs to unknown QPs) */
    uint32_t ctl_cap, ctl_head, ctl_n;
    bool paused;
    orr_time_t next_msg_at;

    /* DMA */
    struct pcie_tx up, down; /* up: this side's serialiser (both backends); down: internal reads */
    struct orr_outq pcieQ, hostQ;
    struct dma_op *aOp;
    uint32_t nOp, *aFreeOp, nFreeOp;
    uint32_t *aTag;          /* PCIe: tag -> op + 1 (0 free) */
    uint32_t *aTagOff;
    uint32_t tag_cursor, tags_used;
    uint32_t *aWait;         /* PCIe: ops with chunks still to issue (FIFO ring) */
    uint32_t wait_cap, wait_head, wait_n;
    struct hostmem *mem; /* the node's memory (internal backend) */

    /* atomics at the responder */
    struct atomic_job *aAtomic;
    uint32_t nAtomic;

    struct rnic_stats st;
    uint16_t kRetransmit, kErrCqe, kQpState, kRnr;
};

/* rnic.c */
bool rnic_check(const struct rnic *s);
struct qp *rnic_qp(struct rnic *s, uint32_t qpn);
void rnic_cqe(struct orr_component *c, struct rnic *s, uint32_t cqn, const struct rdma_cqe *e);
void rnic_qp_state(struct orr_component *c, struct rnic *s, struct qp *q, uint8_t state);
bool rnic_local_ok(const struct rnic *s, uint64_t addr, uint64_t len);

/* dma.c */
void dma_init(struct rnic *s);
void dma_free(struct rnic *s);
void dma_read(struct orr_component *c, struct rnic *s, uint64_t addr, uint32_t len,
              const struct dma_ctx *ctx);
/* Posted write. Returns the delay until the RNIC can tell it is in host
 * memory: internal backend, when it lands (dma_latency / 2 after it has
 * left, whether or not bytes are kept); PCIe, when its last TLP has left
 * (the root complex's latency then comes on top). bytes may be NULL
 * (zeros). */
orr_time_t dma_write(struct orr_component *c, struct rnic *s, uint64_t addr, uint32_t len,
                     const void *bytes);
void dma_tlp(struct orr_component *c, struct rnic *s, const struct orr_event *ev);
void dma_timer(struct orr_component *c, struct rnic *s, uint32_t op);
/* dma.c calls this (defined in rnic.c) when a read is complete. */
void rnic_dma_done(struct orr_component *c, struct rnic *s, const struct dma_ctx *ctx, bool err,
                   const uint8_t *bytes, uint32_t len);

/* tx.c */
bool txstream_check(const struct txstream *t);
struct txslot *tx_slot_new(struct qp *q, unsigned stream);
void tx_ready(struct orr_component *c, struct rnic *s, struct qp *q, unsigned stream);
void tx_flush(struct orr_component *c, struct rnic *s, struct qp *q, unsigned stream);
void tx_kick(struct orr_component *c, struct rnic *s);
void tx_ctl(struct orr_component *c, struct rnic *s, const struct orr_msg *m);
void tx_pfc(struct orr_component *c, struct rnic *s, const struct orr_event *ev);
struct orr_msg tx_packet(struct rnic *s, uint32_t dst, uint32_t qpn, uint32_t bytes,
                         uint64_t word);
/* A packet's blob: the extended header, then `payload` bytes if the RNIC
 * keeps host data or they are an inline WR's (which come from the WR, not
 * from host memory, so they travel even with host_memory_data: false). */
uint64_t tx_blob(struct orr_component *c, struct rnic *s, const struct wire_ext *x,
                 uint32_t payload, bool inl, uint8_t **data);
void tx_payload_done(struct orr_component *c, struct rnic *s, const struct dma_ctx *ctx,
                     bool err, const uint8_t *bytes, uint32_t len);

/* requester.c */
bool qp_sq_check(const struct qp *q);
void req_post(struct orr_component *c, struct rnic *s, struct qp *q, const struct rdma_wr *wr);
void req_wqe_fetched(struct orr_component *c, struct rnic *s, struct qp *q, uint32_t pos,
                     bool err);
void req_pump(struct orr_component *c, struct rnic *s, struct qp *q);
void req_sent(struct orr_component *c, struct rnic *s, struct qp *q, const struct txslot *t);
void req_response(struct orr_component *c, struct rnic *s, struct qp *q, uint64_t word,
                  const struct wire_ext *x, const uint8_t *payload, uint32_t src);
void req_timer(struct orr_component *c, struct rnic *s, struct qp *q, unsigned tag);
void req_payload_err(struct orr_component *c, struct rnic *s, struct qp *q, uint32_t pos);
void req_flush(struct orr_component *c, struct rnic *s, struct qp *q, uint8_t status);
uint32_t req_npsn(const struct rnic *s, const struct rdma_wr *wr);

/* responder.c */
void rsp_packet(struct orr_component *c, struct rnic *s, uint64_t word, uint64_t hdr,
                const struct wire_ext *x, const uint8_t *payload);
void rsp_pump(struct orr_component *c, struct rnic *s, struct qp *q);
void rsp_atomic_read(struct orr_component *c, struct rnic *s, uint32_t idx, bool err,
                     const uint8_t *line);
void rsp_flush(struct orr_component *c, struct rnic *s, struct qp *q);
void rsp_nak_unknown(struct orr_component *c, struct rnic *s, uint32_t node, uint32_t qpn,
                     uint32_t psn);

#endif
