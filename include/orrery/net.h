/* The cluster fabric's packet format: what a packet carries, how it is
 * packed into an orr_msg, and the contract every endpoint (fabric_host
 * today, NICs and RNICs later) and every fabric switch keeps. Models of the
 * fabric meet only through this header (docs/fabric.md).
 *
 * A packet is one orr_msg:
 *
 *   size     bytes on the wire, headers included (NET_HDR_BYTES of them);
 *            the link's bandwidth serialises exactly this many bytes. A data
 *            packet is at most the fabric's MTU and more than NET_HDR_BYTES.
 *   data[0]  the payload word, owned by the endpoints' protocol (the layer
 *            above the fabric). Switches never read or change it. An
 *            endpoint that needs more than 64 bits puts an orr_blob handle
 *            here; the receiving endpoint frees the blob, and a switch that
 *            drops a packet calls the drop contract below.
 *   data[1]  the header word, laid out (bit 63 first):
 *
 *     63..60 src_port   endpoint port the packet left (a NIC's port, 0..15)
 *     59..57 prio       priority class 0..7 (PFC pauses per class)
 *     56     ecn        congestion experienced: set by a switch whose output
 *                       queue was above its ECN threshold; never cleared
 *     55..40 flow       flow id (16 bits) the sender chose; with src and dst
 *                       it is the ECMP hash key, so one flow keeps one path
 *     39..20 src        source node (0..NET_MAX_NODES-1)
 *     19..0  dst        destination node, or NET_NODE_LINK for a link-local
 *                       control frame (PFC), which is never forwarded
 *
 * Nodes are numbered 0..N-1 by the builder (`cluster:` numbers them in
 * order); a node is an endpoint with one port attached to one switch port.
 *
 * Endpoint contract:
 *  - An endpoint sends data packets whose src is its own node and whose dst
 *    is another node's. A switch drops (and counts under drops_no_route) a
 *    packet to a node it has no route to; the packet is simply gone — the
 *    fabric gives no error back, as Ethernet gives none.
 *  - Delivery is unreliable: switches drop on full buffers, down links and
 *    lossy links. Sequence numbers, retransmission and acks belong to the
 *    endpoints' protocol (in data[0]).
 *  - An endpoint must honour PFC: a NET_CTRL_PAUSE frame for class p means
 *    "send no packet of class p on this port" until NET_CTRL_RESUME for p
 *    arrives (there is no pause quantum: pauses last until resumed).
 *    Endpoints never send PFC frames themselves (their receive side is
 *    assumed to keep up).
 *  - Payload blobs: a switch that drops a data packet whose payload is a
 *    blob handle cannot know it is one; so an endpoint that sends blobs
 *    must tolerate their loss (the blob leaks until the simulation ends,
 *    when the engine frees every blob). Prefer plain words where possible.
 *
 * Control frames (PFC) have dst == NET_NODE_LINK, size NET_CTRL_BYTES and
 * data[0] = op << 8 | priority class (NET_CTRL_PAUSE or NET_CTRL_RESUME).
 * They travel one link only. */
#ifndef ORRERY_NET_H
#define ORRERY_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "orrery/sim.h"

/* Header bytes per data packet: a RoCEv2-like stack (Ethernet 14 + IPv4 20
 * + UDP 8 + InfiniBand BTH 12 + ICRC 4 + FCS 4). Preamble and inter-frame
 * gap are not modelled. */
#define NET_HDR_BYTES 62u
/* Size of a PFC control frame (a minimum Ethernet frame). */
#define NET_CTRL_BYTES 64u
#define NET_PRIORITIES 8u
#define NET_MAX_NODES ((1u << 20) - 1u) /* node ids 0..NET_MAX_NODES-1 */
#define NET_NODE_LINK ((1u << 20) - 1u) /* dst of a link-local control frame */
#define NET_MAX_SRC_PORT 15u

enum net_ctrl_op { NET_CTRL_PAUSE = 1, NET_CTRL_RESUME = 2 };

struct net_hdr {
    uint32_t src, dst; /* nodes */
    uint16_t flow;
    uint8_t prio;      /* 0..7 */
    uint8_t src_port;  /* 0..15 */
    bool ecn;
};

static inline uint64_t net_hdr_pack(const struct net_hdr *h)
{
    return (uint64_t)(h->src_port & 0xFu) << 60 | (uint64_t)(h->prio & 7u) << 57 |
           (uint64_t)(h->ecn ? 1 : 0) << 56 | (uint64_t)h->flow << 40 |
           (uint64_t)(h->src & 0xFFFFFu) << 20 | (uint64_t)(h->dst & 0xFFFFFu);
}

static inline struct net_hdr net_hdr_unpack(uint64_t w)
{
    return (struct net_hdr){
        .src = (uint32_t)(w >> 20) & 0xFFFFFu,
        .dst = (uint32_t)w & 0xFFFFFu,
        .flow = (uint16_t)(w >> 40),
        .prio = (uint8_t)((w >> 57) & 7u),
        .src_port = (uint8_t)(w >> 60),
        .ecn = (w >> 56) & 1u,
    };
}

/* Field accessors on a header word, for hot paths. */
static inline uint32_t net_dst(uint64_t w) { return (uint32_t)w & 0xFFFFFu; }
static inline uint32_t net_src(uint64_t w) { return (uint32_t)(w >> 20) & 0xFFFFFu; }
static inline unsigned net_prio(uint64_t w) { return (unsigned)(w >> 57) & 7u; }
static inline bool net_ecn(uint64_t w) { return (w >> 56) & 1u; }
static inline uint64_t net_set_ecn(uint64_t w) { return w | (uint64_t)1 << 56; }
static inline bool net_is_ctrl(uint64_t w) { return net_dst(w) == NET_NODE_LINK; }

/* A data packet as an orr_msg. */
static inline struct orr_msg net_packet(const struct net_hdr *h, uint32_t size, uint64_t payload)
{
    return (struct orr_msg){.size = size, .data = {payload, net_hdr_pack(h)}};
}

/* A PFC frame for class prio. */
static inline struct orr_msg net_ctrl_frame(enum net_ctrl_op op, unsigned prio)
{
    return (struct orr_msg){.size = NET_CTRL_BYTES,
                            .data = {(uint64_t)op << 8 | (prio & 7u), NET_NODE_LINK}};
}
static inline enum net_ctrl_op net_ctrl_op(const uint64_t d[2]) { return (enum net_ctrl_op)(d[0] >> 8); }
static inline unsigned net_ctrl_prio(const uint64_t d[2]) { return (unsigned)d[0] & 7u; }

/* The 64-bit finaliser of MurmurHash3 (fmix64): a bijection that mixes
 * every input bit into every output bit. */
static inline uint64_t net_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb93fe53a87ebull;
    x ^= x >> 33;
    return x;
}

/* ECMP: which of n equal-cost ports a switch with salt `salt` picks for a
 * packet with header word w. The key is (src, dst, flow) — bits 55..0 minus
 * the ECN bit, so marking never moves a flow — mixed with the salt (each
 * switch has its own, so switches in successive tiers do not make
 * correlated choices: no hash polarisation), then mapped to 0..n-1 by
 * multiply-shift on the high 32 bits. Pure integer arithmetic: the same on
 * every machine and build. */
static inline unsigned net_ecmp_pick(uint64_t w, uint32_t salt, unsigned n)
{
    uint64_t key = w & 0x00FFFFFFFFFFFFFFull;
    uint64_t h = net_mix64(key ^ ((uint64_t)salt * 0x9E3779B97F4A7C15ull));
    return (unsigned)(((h >> 32) * (uint64_t)n) >> 32);
}

/* A flow id for the k-th flow from src to dst, for endpoints that have no
 * better one (a NIC would use its queue pair number). */
static inline uint16_t net_flow_id(uint32_t src, uint32_t dst, uint32_t k)
{
    return (uint16_t)(net_mix64((uint64_t)src << 40 ^ (uint64_t)dst << 20 ^ k) >> 48);
}

#endif
