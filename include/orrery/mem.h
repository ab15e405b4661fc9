/* Memory messages: the operations cores issue and the line protocol that
 * caches, homes, memory controllers and CXL devices speak over ports.
 *
 * Line protocol (requester -> memory and back on the same port):
 *
 *   RD       data[0] = orr_mem_pack(line address, RD, tag)   data[1] = 0
 *   WR       data[0] = orr_mem_pack(line address, WR, tag)   data[1] = blob
 *   RD_RESP  data[0] = orr_mem_pack(line address, RD_RESP, tag)
 *            data[1] = blob holding the line's bytes
 *   WR_ACK   data[0] = orr_mem_pack(line address, WR_ACK, tag)   data[1] = 0
 *
 * A blob (orr_blob_new) is ORR_LINE_BYTES long. The receiver of a WR frees
 * its blob after copying; the receiver of an RD_RESP frees that one. Tags
 * are the requester's (12 bits): responses carry the request's tag back and
 * may return out of order. Message sizes for bandwidth: ORR_MEM_HDR_BYTES
 * for RD and WR_ACK, ORR_MEM_HDR_BYTES + ORR_LINE_BYTES for WR and RD_RESP.
 *
 * A memory device never refuses a request. Requesters bound what they have
 * outstanding (MSHRs, tags), and a device's queue occupancy is a stat. */
#ifndef ORRERY_MEM_H
#define ORRERY_MEM_H

#include <stdint.h>

/* One line size for a whole machine: coherence and memory both move 64-byte
 * lines, the size of every x86 and Arm server cited in REFERENCES.md. */
#define ORR_LINE_BYTES 64u
#define ORR_LINE_SHIFT 6u
#define ORR_MEM_HDR_BYTES 16u
#define ORR_MEM_ADDR_BITS 48u
#define ORR_MEM_ADDR_MASK ((UINT64_C(1) << ORR_MEM_ADDR_BITS) - 1)
#define ORR_MEM_TAG_MAX 4095u

enum orr_mem_cmd {
    ORR_MEM_RD = 1,
    ORR_MEM_WR = 2,
    ORR_MEM_RD_RESP = 3,
    ORR_MEM_WR_ACK = 4,
};

static inline uint64_t orr_mem_pack(uint64_t addr, enum orr_mem_cmd cmd, unsigned tag)
{
    return (addr & ORR_MEM_ADDR_MASK) | (uint64_t)(cmd & 0xF) << 48 | (uint64_t)(tag & 0xFFF) << 52;
}
static inline uint64_t orr_mem_addr(uint64_t w) { return w & ORR_MEM_ADDR_MASK; }
static inline enum orr_mem_cmd orr_mem_cmd(uint64_t w) { return (enum orr_mem_cmd)(w >> 48 & 0xF); }
static inline unsigned orr_mem_tag(uint64_t w) { return (unsigned)(w >> 52); }

/* Operations a core performs (issued by workload generators, executed by
 * core models against their caches). Sizes are 1, 2, 4 or 8 bytes and
 * naturally aligned. */
enum orr_cpu_op {
    ORR_OP_LOAD = 1,
    ORR_OP_STORE,
    ORR_OP_CAS,   /* compare-and-swap: returns the old value */
    ORR_OP_FAA,   /* fetch-and-add: returns the old value */
    ORR_OP_SWAP,  /* exchange: returns the old value */
    ORR_OP_FENCE, /* full fence: drain the store buffer */
    ORR_OP_COMPUTE, /* non-memory work for a number of cycles */
};

#endif
