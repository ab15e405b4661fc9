/* Verbs between host software and an RNIC: the messages a host-side
 * component (a workload, or the platform running the reference kernel)
 * exchanges with an `rnic` on its `host` port. This is the RDMA verbs
 * interface (ibv_post_send, ibv_post_recv, ibv_poll_cq, ibv_create_qp,
 * ibv_modify_qp) as messages; models of RDMA meet only through this header
 * (docs/rdma.md). The wire protocol between RNICs is the RNIC's own
 * (hw/rdma/); the fabric carries it as include/orrery/net.h packets.
 *
 * A message on the host link is one orr_msg:
 *
 *   data[0]  rdma_host_pack(kind, arg): the kind in bits 63..56, a 56-bit
 *            argument below (unused kinds leave it 0)
 *   data[1]  a blob (orr_blob_new) holding the struct named below, or 0
 *   size     RDMA_HOST_MSG_BYTES (the doorbell / CQE size), for links with
 *            bandwidth
 *
 *   host -> RNIC
 *     RDMA_H_POST_SEND  blob: struct rdma_wr      a send-queue work request
 *     RDMA_H_POST_RECV  blob: struct rdma_wr      a receive WR (opcode RECV)
 *     RDMA_H_CTL        blob: struct rdma_ctl     a control verb
 *   RNIC -> host
 *     RDMA_N_CQE        blob: struct rdma_cqe     one completion
 *     RDMA_N_CTL_DONE   blob: struct rdma_ctl     the control verb, with
 *                                                 `result` filled in
 *
 * The receiver of a blob frees it.
 *
 * Timing. A POST models the CPU writing the WQE into the send queue in host
 * memory and ringing the doorbell with an MMIO write: the host link's
 * latency is that doorbell's flight (CPU -> root complex -> PCIe). The RNIC
 * then fetches the WQE by DMA (a 64 B read over PCIe) unless the WR is
 * RDMA_F_INLINE with at most the RNIC's max_inline payload bytes (the WQE
 * and payload were written into the doorbell's BAR, as mlx5's BlueFlame
 * does; the payload then travels in the WR's `inline_data`). The WQE's
 * contents travel in the blob; the bytes in host memory at the queue are
 * not read (a documented simplification, as for the Ethernet nic). Payload
 * bytes are real: the RNIC DMA-reads and writes host memory at laddr.
 * A CQE models the RNIC's DMA write of the completion into the CQ ring and
 * the host's poll finding it: it leaves the RNIC when that write does, and
 * the host link's latency covers the rest.
 *
 * QP life (per queue pair, as in verbs):
 *
 *   RESET --CREATE_QP--> INIT --CONNECT (RC, UC) / --CREATE_QP (UD)--> RTS
 *   any --fatal error (retries exhausted, remote access error)--> ERROR
 *   ERROR --DESTROY_QP--> gone
 *
 * A UD QP is ready to send and receive when created. An RC/UC QP in INIT
 * accepts POST_RECV but a POST_SEND completes at once with
 * RDMA_WC_QP_STATE_ERR (a QP used before connection: an error completion,
 * not a load error, because it happens at run time). A QP in ERROR
 * completes every outstanding and newly posted WR with RDMA_WC_WR_FLUSH_ERR.
 *
 * Completion rules: a send WR completes (if RDMA_F_SIGNALED, or on error
 * always) when the RNIC knows it is done: RC SEND/WRITE when acked, RC
 * READ/atomics when the response data is in host memory, UC/UD sends when
 * the last packet left. A receive WR completes when a SEND (or
 * WRITE_IMM's immediate) has landed in host memory; WRITE_IMM consumes a
 * receive WR and its CQE has RDMA_WC_RECV_RDMA_WITH_IMM, the immediate and
 * byte_len of the write. Completions of one QP's send queue are in post
 * order. */
#ifndef ORRERY_RDMA_H
#define ORRERY_RDMA_H

#include <stdint.h>

#define RDMA_HOST_MSG_BYTES 64u
#define RDMA_MAX_INLINE 256u /* bytes of inline_data in a WR */
#define RDMA_MAX_QP 65535u   /* qpn 1..RDMA_MAX_QP; 0 is never a QP */
#define RDMA_MAX_CQ 65535u   /* cqn 1..RDMA_MAX_CQ */
#define RDMA_MAX_MSG (1u << 31) /* largest message (verbs: 2 GiB) */
#define RDMA_CQE_INLINE 64u  /* received bytes also carried in the CQE */

enum rdma_host_kind {
    RDMA_H_POST_SEND = 1,
    RDMA_H_POST_RECV = 2,
    RDMA_H_CTL = 3,
    RDMA_N_CQE = 16,
    RDMA_N_CTL_DONE = 17,
};

static inline uint64_t rdma_host_pack(enum rdma_host_kind k, uint64_t arg)
{
    return (uint64_t)k << 56 | (arg & ((UINT64_C(1) << 56) - 1));
}
static inline enum rdma_host_kind rdma_host_kind(uint64_t w) { return (enum rdma_host_kind)(w >> 56); }
static inline uint64_t rdma_host_arg(uint64_t w) { return w & ((UINT64_C(1) << 56) - 1); }

enum rdma_qp_type { RDMA_QPT_RC = 1, RDMA_QPT_UC = 2, RDMA_QPT_UD = 3 };
enum rdma_qp_state { RDMA_QPS_RESET = 0, RDMA_QPS_INIT, RDMA_QPS_RTS, RDMA_QPS_ERROR };

/* Work request opcodes (ibv_wr_opcode). Which QP types accept which:
 *   SEND, SEND_IMM   RC, UC, UD (UD: one packet, length <= mtu - headers)
 *   WRITE, WRITE_IMM RC, UC
 *   READ, CAS, FAA   RC only (atomics: 8 bytes, raddr 8-byte aligned)
 *   RECV             any (posted with RDMA_H_POST_RECV)
 * A WR a QP type does not accept completes with RDMA_WC_LOC_QP_OP_ERR. */
enum rdma_opcode {
    RDMA_OP_SEND = 1,
    RDMA_OP_SEND_IMM,
    RDMA_OP_WRITE,
    RDMA_OP_WRITE_IMM,
    RDMA_OP_READ,
    RDMA_OP_CAS,
    RDMA_OP_FAA,
    RDMA_OP_RECV,
};

enum rdma_wr_flags {
    RDMA_F_SIGNALED = 1, /* produce a CQE on success (errors always do) */
    RDMA_F_INLINE = 2,   /* payload in inline_data (length <= max_inline) */
    RDMA_F_FENCE = 4,    /* wait for this QP's outstanding READs/atomics first */
};

/* A work request. laddr is a host (bus) address; for RDMA_F_INLINE sends the
 * payload is inline_data[0..length) and laddr is unused. */
struct rdma_wr {
    uint64_t wr_id;      /* returned in the CQE */
    uint32_t qpn;        /* local QP */
    uint8_t opcode;      /* enum rdma_opcode */
    uint8_t flags;       /* enum rdma_wr_flags */
    uint16_t reserved;
    uint64_t laddr;      /* local buffer */
    uint32_t length;     /* bytes (atomics: 8) */
    uint32_t imm;        /* SEND_IMM, WRITE_IMM */
    uint64_t raddr;      /* WRITE, READ, CAS, FAA: remote address */
    uint64_t compare;    /* CAS: expected value */
    uint64_t swap_add;   /* CAS: new value; FAA: addend */
    uint32_t ud_node;    /* UD SEND: destination node */
    uint32_t ud_qpn;     /* UD SEND: destination QP */
    uint8_t inline_data[RDMA_MAX_INLINE];
};

/* Completion status (ibv_wc_status). */
enum rdma_wc_status {
    RDMA_WC_SUCCESS = 0,
    RDMA_WC_LOC_LEN_ERR,        /* a received SEND is longer than the RECV buffer */
    RDMA_WC_LOC_QP_OP_ERR,      /* the WR is not valid for this QP (type, length, inline) */
    RDMA_WC_QP_STATE_ERR,       /* posted to a QP that is not ready (RESET/INIT: not connected) */
    RDMA_WC_WR_FLUSH_ERR,       /* the QP is in ERROR: flushed */
    RDMA_WC_REM_ACCESS_ERR,     /* the responder refused the address (outside its memory) */
    RDMA_WC_REM_INV_REQ_ERR,    /* the responder's QP does not exist or is not connected to us */
    RDMA_WC_RETRY_EXC_ERR,      /* RC: no ack after retry_count retransmissions (peer dead, link down) */
    RDMA_WC_RNR_RETRY_EXC_ERR,  /* RC: the responder had no RECV posted, rnr_retry times */
    RDMA_WC_LOC_PROT_ERR,       /* DMA to local memory failed (unsupported request) */
    RDMA_WC_STATUS_COUNT
};

/* Completion opcodes (ibv_wc_opcode). */
enum rdma_wc_opcode {
    RDMA_WC_SEND = 1,
    RDMA_WC_RDMA_WRITE,
    RDMA_WC_RDMA_READ,
    RDMA_WC_COMP_SWAP,
    RDMA_WC_FETCH_ADD,
    RDMA_WC_RECV,
    RDMA_WC_RECV_RDMA_WITH_IMM,
};

struct rdma_cqe {
    uint64_t wr_id;
    uint32_t cqn, qpn;
    uint8_t status;    /* enum rdma_wc_status */
    uint8_t opcode;    /* enum rdma_wc_opcode */
    uint8_t has_imm;
    uint8_t reserved;
    uint32_t byte_len; /* RECV: bytes received; READ: bytes read */
    uint32_t imm;
    uint32_t src_node; /* receives: sender's node; UD: with src_qpn */
    uint32_t src_qpn;
    uint64_t value;    /* CAS/FAA: the remote word's old value */
    /* Receives of at most RDMA_CQE_INLINE bytes (SEND, SEND_IMM) also carry
     * their data here, as mlx5's scatter-to-CQE does for small messages:
     * the data is still written to the RECV buffer in host memory. */
    uint8_t inline_data[RDMA_CQE_INLINE];
};

/* Control verbs. The host fills op and its arguments; the RNIC answers with
 * RDMA_N_CTL_DONE carrying the same struct with `result`: the new cqn or
 * qpn (> 0), 0 for CONNECT/DESTROY_QP, or a negative enum rdma_ctl_err.
 * Control verbs are answered in the order posted, ctl_latency after they
 * arrive (a driver call: ibv_create_qp and friends take microseconds). */
enum rdma_ctl_op {
    RDMA_CTL_CREATE_CQ = 1,  /* depth */
    RDMA_CTL_CREATE_QP,      /* qp_type, send_cq, recv_cq, depth (send and receive queue) */
    RDMA_CTL_CONNECT,        /* qpn, remote_node, remote_qpn: INIT -> RTS (RC, UC) */
    RDMA_CTL_DESTROY_QP,     /* qpn */
};

enum rdma_ctl_err {
    RDMA_CTL_EINVAL = -1,   /* a bad argument (unknown CQ, wrong type, depth 0) */
    RDMA_CTL_ENOMEM = -2,   /* no QP or CQ numbers left (max_qp, max_cq) */
    RDMA_CTL_ESTATE = -3,   /* CONNECT on a QP not in INIT, or on a UD QP */
};

struct rdma_ctl {
    uint32_t op;           /* enum rdma_ctl_op */
    uint32_t qp_type;      /* CREATE_QP: enum rdma_qp_type */
    uint32_t send_cq, recv_cq;
    uint32_t depth;        /* CREATE_CQ: entries; CREATE_QP: WRs per queue */
    uint32_t qpn;          /* CONNECT, DESTROY_QP */
    uint32_t remote_node, remote_qpn;
    uint64_t cookie;       /* returned unchanged: the caller's own tag */
    int64_t result;
};

static inline const char *rdma_wc_status_str(enum rdma_wc_status s)
{
    static const char *const names[RDMA_WC_STATUS_COUNT] = {
        "success", "local length error", "local QP operation error", "QP state error",
        "WR flushed", "remote access error", "remote invalid request", "retry exceeded",
        "RNR retry exceeded", "local protection error",
    };
    return (unsigned)s < RDMA_WC_STATUS_COUNT ? names[s] : "unknown status";
}

#endif
