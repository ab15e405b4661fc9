/* Coherence messages: what private caches and home agents send each other
 * through routers. Every message names its source and destination agent so
 * a router can forward it; agents are numbered by the machine builder (cores
 * first, then homes).
 *
 *   data[0] = line address (bits 0..47) | type (48..52) | flags (53..55)
 *   data[1] = src agent (0..15) | dst agent (16..31) | payload blob (32..63)
 *
 * A message with a line payload has a blob of ORR_LINE_BYTES (see mem.h);
 * whoever receives it frees it. Sizes for bandwidth: ORR_COH_HDR_BYTES, plus
 * ORR_LINE_BYTES with a payload.
 *
 * The protocol is home-centric: a cache's request goes to the line's home,
 * which orders requests per line (one transaction at a time), probes the
 * caches it must, collects every response itself, grants the requester and
 * waits for its UNBLOCK before the next transaction on that line. Writebacks
 * are two-phase (PUT, WB_GO, then WB_DATA or WB_CANCEL), so a put that lost a
 * race is cancelled by the cache that knows, not guessed at by the home. No
 * ordering of the network is assumed: any two messages may overtake. */
#ifndef ORRERY_COH_H
#define ORRERY_COH_H

#include <stdint.h>

#include "orrery/mem.h"

#define ORR_COH_HDR_BYTES 16u
#define ORR_COH_MAX_AGENTS 65535u

enum orr_coh_type {
    /* cache -> home: requests */
    ORR_COH_GETS = 1,  /* read permission */
    ORR_COH_GETM,      /* write permission */
    ORR_COH_PUT,       /* I want to write back a dirty line */
    /* home -> cache */
    ORR_COH_PROBE_S,   /* give up write permission; dirty data to the home */
    ORR_COH_PROBE_M,   /* give up the line; dirty data to the home */
    ORR_COH_DATA_S,    /* grant: shared */
    ORR_COH_DATA_E,    /* grant: exclusive clean */
    ORR_COH_DATA_M,    /* grant: modified */
    ORR_COH_WB_GO,     /* your PUT is ordered: send the data or cancel */
    /* cache -> home: responses */
    ORR_COH_ACK,       /* probe answered; payload if the line was dirty */
    ORR_COH_UNBLOCK,   /* grant received: the transaction is over */
    ORR_COH_WB_DATA,   /* the written-back line */
    ORR_COH_WB_CANCEL, /* my PUT was overtaken: I no longer own the line */
    ORR_COH_NTYPE
};

/* Flags on ACK (and grants: PAYLOAD). */
enum {
    ORR_COH_F_SHARED = 1u << 0, /* I still hold a valid copy */
    ORR_COH_F_DIRTY = 1u << 1,  /* the payload is newer than memory */
    ORR_COH_F_OWNER = 1u << 2,  /* I remain the owner (MOESI O): do not write it back */
};

static inline uint64_t orr_coh_w0(uint64_t line, enum orr_coh_type t, unsigned flags)
{
    return (line & ORR_MEM_ADDR_MASK) | (uint64_t)(t & 0x1F) << 48 | (uint64_t)(flags & 7) << 53;
}
static inline uint64_t orr_coh_w1(unsigned src, unsigned dst, uint64_t blob)
{
    return (uint64_t)(src & 0xFFFF) | (uint64_t)(dst & 0xFFFF) << 16 | blob << 32;
}
static inline uint64_t orr_coh_line(uint64_t w0) { return w0 & ORR_MEM_ADDR_MASK; }
static inline enum orr_coh_type orr_coh_type(uint64_t w0) { return (enum orr_coh_type)(w0 >> 48 & 0x1F); }
static inline unsigned orr_coh_flags(uint64_t w0) { return (unsigned)(w0 >> 53 & 7); }
static inline unsigned orr_coh_src(uint64_t w1) { return (unsigned)(w1 & 0xFFFF); }
static inline unsigned orr_coh_dst(uint64_t w1) { return (unsigned)(w1 >> 16 & 0xFFFF); }
static inline uint64_t orr_coh_blob(uint64_t w1) { return w1 >> 32; }

const char *orr_coh_type_name(enum orr_coh_type t);

#endif
