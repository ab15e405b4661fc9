/* wire: the packet format between two RNICs, carried in the payload word
 * (data[0]) of an include/orrery/net.h packet (docs/rdma.md). It is an
 * InfiniBand-like transport: an opcode with first/last/ack-request bits,
 * a 24-bit packet sequence number (PSN) and the destination QP, plus the
 * extended headers (RETH, AtomicETH, ImmDt, DETH, AETH) that the opcode
 * needs, whose sizes count on the wire exactly as RoCEv2's do.
 *
 * The payload word (bit 63 first):
 *
 *   63     B       1: a blob carries the rest (data packets); 0: an ACK/NAK
 *   62..59 op      enum wire_op
 *   58..56 bits    B=1: enum wire_flag; B=0: enum wire_syndrome
 *   55..32 psn
 *   B=1: 31..0  the blob handle: struct wire_ext, then ext.len payload
 *               bytes when ext.has_data (host_memory_data: false omits them)
 *   B=0: 31..16 destination QPN, 15..0 zero
 *
 * ACKs and NAKs need no blob (the switch may drop them freely); every
 * other packet's blob is freed by the receiving RNIC, or leaks until the
 * end of the run if the fabric drops it (net.h's blob-loss note). */
#ifndef ORRERY_HW_RDMA_WIRE_H
#define ORRERY_HW_RDMA_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "orrery/net.h"
#include "orrery/rdma.h"

#define WIRE_PSN_MASK 0xFFFFFFu
#define WIRE_PSN_HALF 0x800000u

enum wire_op {
    WOP_SEND = 1,
    WOP_SEND_IMM,
    WOP_WRITE,
    WOP_WRITE_IMM,
    WOP_READ,       /* READ request: RETH (raddr, length) */
    WOP_CAS,
    WOP_FAA,
    WOP_READ_RESP,  /* one packet of a READ's data */
    WOP_ATOMIC_ACK, /* an atomic's old value */
    WOP_ACK,        /* ACK or NAK (syndrome); no blob */
    WOP_COUNT
};

enum wire_flag { WF_FIRST = 1, WF_LAST = 2, WF_ACKREQ = 4 };

enum wire_syndrome {
    WS_ACK = 0,
    WS_NAK_SEQ,    /* PSN sequence error: resend from psn */
    WS_NAK_RNR,    /* receiver not ready: no RECV posted for the SEND at psn */
    WS_NAK_INV,    /* invalid request: no such QP, not connected to the sender, bad op */
    WS_NAK_ACCESS, /* remote access error: address outside the responder's memory */
};

/* Extended headers of a data packet, at the start of its blob. */
struct wire_ext {
    uint32_t dqpn, sqpn; /* destination QP; the sender's QP (validation, UD CQE) */
    uint32_t len;        /* payload bytes in this packet */
    uint32_t imm;        /* *_IMM, last packet */
    uint64_t raddr;      /* WRITE first packet, READ, CAS, FAA */
    uint32_t dma_len;    /* WRITE first packet, READ: bytes of the message from raddr */
    uint8_t qpt;         /* sender's enum rdma_qp_type */
    uint8_t has_data;    /* payload bytes follow */
    uint16_t reserved;
    uint64_t compare, swap_add; /* CAS, FAA; ATOMIC_ACK: compare = the old value */
};

/* PSN arithmetic, 24-bit serial numbers: a - b as a signed distance. */
static inline int32_t psn_diff(uint32_t a, uint32_t b)
{
    uint32_t d = (a - b) & WIRE_PSN_MASK;
    return d >= WIRE_PSN_HALF ? (int32_t)d - (int32_t)(WIRE_PSN_MASK + 1) : (int32_t)d;
}
static inline uint32_t psn_add(uint32_t a, uint32_t n) { return (a + n) & WIRE_PSN_MASK; }

static inline uint64_t wire_word_blob(enum wire_op op, unsigned flags, uint32_t psn, uint64_t blob)
{
    return UINT64_C(1) << 63 | (uint64_t)(op & 0xFu) << 59 | (uint64_t)(flags & 7u) << 56 |
           (uint64_t)(psn & WIRE_PSN_MASK) << 32 | (blob & 0xFFFFFFFFu);
}
static inline uint64_t wire_word_ack(enum wire_syndrome syn, uint32_t psn, uint32_t dqpn)
{
    return (uint64_t)WOP_ACK << 59 | (uint64_t)(syn & 7u) << 56 |
           (uint64_t)(psn & WIRE_PSN_MASK) << 32 | (uint64_t)(dqpn & 0xFFFFu) << 16;
}
static inline bool wire_has_blob(uint64_t w) { return w >> 63; }
static inline enum wire_op wire_op(uint64_t w) { return (enum wire_op)((w >> 59) & 0xFu); }
static inline unsigned wire_bits(uint64_t w) { return (unsigned)(w >> 56) & 7u; }
static inline uint32_t wire_psn(uint64_t w) { return (uint32_t)(w >> 32) & WIRE_PSN_MASK; }
static inline uint64_t wire_blob(uint64_t w) { return w & 0xFFFFFFFFu; }
static inline uint32_t wire_ack_qpn(uint64_t w) { return (uint32_t)(w >> 16) & 0xFFFFu; }

/* Extended-header bytes on the wire (beyond NET_HDR_BYTES, which holds the
 * BTH): RETH 16, AtomicETH 28, ImmDt 4, DETH 8, AETH 4, AtomicAckETH 8. */
#define WIRE_EXT_MAX 20u /* the most a payload-carrying packet has: RETH + ImmDt */
static inline uint32_t wire_ext_bytes(enum wire_op op, unsigned flags, unsigned qpt)
{
    uint32_t n = qpt == RDMA_QPT_UD ? 8u : 0u;
    switch (op) {
    case WOP_WRITE:
    case WOP_WRITE_IMM:
        n += (flags & WF_FIRST) ? 16u : 0u;
        n += op == WOP_WRITE_IMM && (flags & WF_LAST) ? 4u : 0u;
        break;
    case WOP_SEND_IMM:
        n += (flags & WF_LAST) ? 4u : 0u;
        break;
    case WOP_READ:
        n += 16u;
        break;
    case WOP_CAS:
    case WOP_FAA:
        n += 28u;
        break;
    case WOP_READ_RESP:
        n += (flags & (WF_FIRST | WF_LAST)) ? 4u : 0u;
        break;
    case WOP_ATOMIC_ACK:
        n += 12u;
        break;
    case WOP_ACK:
        n += 4u;
        break;
    default:
        break;
    }
    return n;
}

#endif
