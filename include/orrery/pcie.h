/* PCIe messages between the root complex, switches and devices (TLPs), the
 * MMIO messages a host sends to a root complex, and the link arithmetic
 * (bytes on the wire, serialisation time) every PCIe model uses. Models of
 * PCIe meet only through this header (docs/pcie.md).
 *
 * A TLP is one orr_msg:
 *
 *   size     bytes on the wire: PCIE_TLP_OVERHEAD + payload bytes (the
 *            sender adds the serialisation of these bytes at its link's
 *            gen/width, pcie_wire_time, as extra delay; scenario links
 *            carry only the flight latency)
 *   data[0]  the header word, pcie_hdr_pack (bit 63 first):
 *              63..60 type        PCIE_MRD, PCIE_MWR, PCIE_CPLD, PCIE_CPL_UR
 *              59..50 tag         the requester's (10-bit tags)
 *              49..34 requester   requester id (bus/dev/fn, 16 bits); the
 *                                 root complex is 0
 *              33..21 length      bytes, 0..4096
 *   data[1]  MRD: the address.  MWR: a blob (orr_blob_new) of
 *            PCIE_WR_ADDR_BYTES + length bytes: the 64-bit address
 *            (little-endian) then the payload.  CPLD: a blob of length bytes.
 *            CPL_UR: 0.
 *
 * The receiver of a blob frees it. An MWR is posted (no completion); an
 * MRD gets one CPLD with all its bytes (no split completions), or a
 * CPL_UR if the address is not backed. MSI-X is an MWR of 4 bytes (the
 * vector number) to the root complex's MSI-X window.
 *
 * Simplified: the payload always travels in a blob (even 4-byte doorbells)
 * because the address and header already fill the two words.
 *
 * MMIO from a host to a root complex's `host` port (and back):
 *
 *   MMIO_WR   data[0] = pcie_mmio_pack(MMIO_WR, size 1..8, address)   data[1] = value
 *   MMIO_RD   data[0] = pcie_mmio_pack(MMIO_RD, size 1..8, address)   data[1] = 0
 *   MMIO_RESP data[0] = pcie_mmio_pack(MMIO_RESP, size, address)      data[1] = value
 *             (all ones when no BAR holds the address, as on real PCIe)
 *
 * The root complex turns MMIO into TLPs from requester 0 to the device
 * whose BAR holds the address; the device sees the BAR offset.
 *
 * IOMMU commands, on the same ports (a kernel's hal_dma_map/unmap):
 *
 *   IOMMU_MAP    data[0] = pcie_mmio_pack(IOMMU_MAP, 0, 0)    data[1] = a blob
 *   IOMMU_UNMAP  data[0] = pcie_mmio_pack(IOMMU_UNMAP, 0, 0)  data[1] = a blob
 *                (struct pcie_iommu_cmd; the root complex frees it)
 *   MMIO_RESP    data[1] = MAP: the bus address (the physical one when
 *                the IOMMU is off); UNMAP: 0; or a negative PCIE_IOMMU_E*
 *                as int64_t */
#ifndef ORRERY_PCIE_H
#define ORRERY_PCIE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "orrery/diag.h"
#include "orrery/error.h"
#include "orrery/params.h"
#include "orrery/sim.h"
#include "orrery/time.h"

enum pcie_tlp_type {
    PCIE_MRD = 1,    /* memory read request */
    PCIE_MWR = 2,    /* memory write, posted */
    PCIE_CPLD = 3,   /* completion with data */
    PCIE_CPL_UR = 4, /* completion without data: unsupported request */
};

enum pcie_mmio_op {
    PCIE_MMIO_WR = 1,
    PCIE_MMIO_RD = 2,
    PCIE_MMIO_RESP = 3,
    PCIE_IOMMU_MAP = 4,
    PCIE_IOMMU_UNMAP = 5,
};

/* An IOMMU command: map [pa, pa + len) for device port `dev` (writable
 * when `write`), or unmap [bus, bus + len) of that device. */
struct pcie_iommu_cmd {
    uint32_t dev;
    uint32_t write;
    uint64_t pa, bus, len;
};
enum { PCIE_IOMMU_EINVAL = -1, PCIE_IOMMU_ENOSPC = -2, PCIE_IOMMU_ENOENT = -3 };

/* TLP header (12-16 B) + DLLP sequence and LCRC (6 B) + framing (2 B),
 * rounded: bytes added to every TLP on the wire. */
#define PCIE_TLP_OVERHEAD 24u
#define PCIE_MAX_LENGTH 4096u
#define PCIE_TAG_MAX 1023u
#define PCIE_WR_ADDR_BYTES 8u
#define PCIE_MMIO_BYTES 16u /* size of an MMIO message on the host link */

struct pcie_hdr {
    enum pcie_tlp_type type;
    unsigned tag;       /* 0..PCIE_TAG_MAX */
    uint16_t requester;
    uint32_t length;    /* bytes */
};

static inline uint64_t pcie_hdr_pack(const struct pcie_hdr *h)
{
    return (uint64_t)(h->type & 0xFu) << 60 | (uint64_t)(h->tag & 0x3FFu) << 50 |
           (uint64_t)h->requester << 34 | (uint64_t)(h->length & 0x1FFFu) << 21;
}

static inline struct pcie_hdr pcie_hdr_unpack(uint64_t w)
{
    return (struct pcie_hdr){
        .type = (enum pcie_tlp_type)(w >> 60),
        .tag = (unsigned)(w >> 50) & 0x3FFu,
        .requester = (uint16_t)(w >> 34),
        .length = (uint32_t)(w >> 21) & 0x1FFFu,
    };
}

static inline uint64_t pcie_mmio_pack(enum pcie_mmio_op op, unsigned size, uint64_t addr)
{
    return (uint64_t)(op & 0xFu) << 60 | (uint64_t)(size & 0xFu) << 56 |
           (addr & ((UINT64_C(1) << 48) - 1));
}
static inline enum pcie_mmio_op pcie_mmio_op(uint64_t w) { return (enum pcie_mmio_op)(w >> 60); }
static inline unsigned pcie_mmio_size(uint64_t w) { return (unsigned)(w >> 56) & 0xFu; }
static inline uint64_t pcie_mmio_addr(uint64_t w) { return w & ((UINT64_C(1) << 48) - 1); }

/* --- link arithmetic --------------------------------------------------------
 *
 * Per-lane data rate after line coding, in bit/s:
 *   Gen1 2.5 GT/s 8b/10b  -> 2.0 Gbit/s     Gen2 5 GT/s 8b/10b -> 4.0 Gbit/s
 *   Gen3 8 GT/s 128b/130b -> 8e9*128/130    Gen4 16 GT/s, Gen5 32 GT/s likewise
 * A link of width w carries w times that. Serialising n bytes takes
 * n*8/rate seconds, computed in integers as ceil(n * 8e12 * den / (GT * num
 * * w)) ps so every build agrees. Widths are 1, 2, 4, 8 or 16. */

static inline bool pcie_gen_valid(unsigned gen) { return gen >= 1 && gen <= 5; }
static inline bool pcie_width_valid(unsigned w)
{
    return w == 1 || w == 2 || w == 4 || w == 8 || w == 16;
}

/* Effective bandwidth of a link in bit/s (0 for an invalid gen or width). */
static inline uint64_t pcie_link_bps(unsigned gen, unsigned width)
{
    if (!pcie_gen_valid(gen) || !pcie_width_valid(width))
        return 0;
    static const uint64_t gts[6] = {0, 2500000000u, 5000000000u, 8000000000u, 16000000000u,
                                    32000000000u};
    uint64_t num = gen <= 2 ? 8 : 128, den = gen <= 2 ? 10 : 130;
    return gts[gen] * num / den * width;
}

/* Bytes on the wire for a TLP with `payload` bytes. */
static inline uint32_t pcie_wire_bytes(uint32_t payload) { return payload + PCIE_TLP_OVERHEAD; }

/* A memory read request (MRD) for n bytes at addr, tagged. */
static inline struct orr_msg pcie_mrd(uint16_t requester, unsigned tag, uint64_t addr, uint32_t n)
{
    struct pcie_hdr h = {.type = PCIE_MRD, .tag = tag, .requester = requester, .length = n};
    return (struct orr_msg){.size = pcie_wire_bytes(0), .data = {pcie_hdr_pack(&h), addr}};
}

/* A posted write (MWR) of n bytes at addr: its blob (allocated in s) holds
 * the address, then the bytes (zeros if bytes is NULL). */
static inline struct orr_msg pcie_mwr(struct orr_sim *s, uint16_t requester, uint64_t addr,
                                      const void *bytes, uint32_t n)
{
    uint8_t *p;
    struct pcie_hdr h = {.type = PCIE_MWR, .requester = requester, .length = n};
    struct orr_msg m = {.size = pcie_wire_bytes(n), .data = {pcie_hdr_pack(&h), 0}};
    m.data[1] = orr_blob_new(s, PCIE_WR_ADDR_BYTES + n, (void **)&p);
    memcpy(p, &addr, sizeof addr);
    if (bytes)
        memcpy(p + PCIE_WR_ADDR_BYTES, bytes, n);
    return m;
}

/* Time to serialise `bytes` wire bytes on the link, rounded up to whole ps. */
static inline orr_time_t pcie_wire_time(unsigned gen, unsigned width, uint32_t bytes)
{
    if (!pcie_gen_valid(gen) || !pcie_width_valid(width))
        return 0;
    static const uint64_t gt_mhz[6] = {0, 2500, 5000, 8000, 16000, 32000};
    uint64_t num = gen <= 2 ? 8 : 128, den = gen <= 2 ? 10 : 130;
    /* ps = bytes*8 * 1e12 / (gt_mhz*1e6 * num/den * width) */
    unsigned __int128 top = (unsigned __int128)bytes * 8 * 1000000u * den;
    uint64_t bot = gt_mhz[gen] * num * width;
    return (orr_time_t)((top + bot - 1) / bot);
}

/* A transmitter's serialiser: TLPs leave one after another at the link
 * rate. Returns the extra delay to pass to orr_port_send for a TLP of
 * `bytes` wire bytes sent at `now`, and advances the serialiser. (The
 * queue in front of it is unbounded: a simplification, docs/pcie.md.) */
struct pcie_tx {
    unsigned gen, width;
    orr_time_t free_at;
};

static inline orr_time_t pcie_tx_delay(struct pcie_tx *t, orr_time_t now, uint32_t bytes)
{
    orr_time_t start = t->free_at > now ? t->free_at : now;
    t->free_at = start + pcie_wire_time(t->gen, t->width, bytes);
    return t->free_at - now;
}

/* The `gen` and `width` keys every PCIe component declares (add these two
 * entries to its schema), checked and loaded into t; errors go to d at the
 * key's position. Returns 0 or ORR_ESCHEMA. */
#define PCIE_LINK_PARAMS                                                                       \
    {"gen", ORR_P_UINT, "3", 0, "PCIe generation of the link: 1..5"},                          \
    {"width", ORR_P_UINT, "8", 0, "lanes: 1, 2, 4, 8 or 16"}

static inline int pcie_link_params(const struct orr_params *p, const char *keypath,
                                   struct orr_diag *d, struct pcie_tx *t)
{
    t->gen = (unsigned)orr_param_u64(p, "gen");
    t->width = (unsigned)orr_param_u64(p, "width");
    t->free_at = 0;
    int rc = 0;
    char at[256];
    if (!pcie_gen_valid(t->gen)) {
        snprintf(at, sizeof at, "%s.gen", keypath ? keypath : "");
        orr_diag_error(d, orr_param_mark(p, "gen"), at,
                       "unknown PCIe generation %u (expected 1, 2, 3, 4 or 5)", t->gen);
        rc = ORR_ESCHEMA;
    }
    if (!pcie_width_valid(t->width)) {
        snprintf(at, sizeof at, "%s.width", keypath ? keypath : "");
        orr_diag_error(d, orr_param_mark(p, "width"), at,
                       "width x%u is not a PCIe link width (expected 1, 2, 4, 8 or 16)", t->width);
        rc = ORR_ESCHEMA;
    }
    return rc;
}

#endif
