/* nic: an Ethernet NIC between PCIe (port `pcie`, TLPs per
 * include/orrery/pcie.h) and the cluster fabric (port `net`, packets per
 * include/orrery/net.h). It moves packet bytes between host memory and the
 * wire by DMA and tells the host about arrivals with coalesced MSI-X
 * interrupts (docs/nic.md).
 *
 * TX, per packet (ring slot i):
 *   posted (driver) -> MRD descriptor (16 B at tx_ring + 16i)
 *   -> CPLD -> MRD payload (size - NET_HDR_BYTES at tx_buf + i*mtu)
 *   -> CPLD -> packet out on `net` (queued while the link is busy or PFC
 *   pauses class 0)
 * RX, per packet (slot j):
 *   arrival -> MWR payload to rx_buf + j*mtu (max_payload pieces)
 *   -> MWR completion (16 B at rx_ring + 16j) -> coalescing: an MSI-X MWR
 *   once `frames` completions are pending, or `usecs` after the first
 *   pending one, whichever comes first.
 *
 * Without a kernel driver, `tx: {rate, size, dest, count, start}` is a
 * built-in source that posts descriptors and rings the doorbell, and
 * descriptors and completions are never read by a host (descriptor bytes
 * are read by DMA but their contents are ignored: buffer addresses come
 * from the slot). A packet's payload word carries its sequence number and
 * post time, so the receiver measures post-to-completion latency (to when
 * the completion TLP leaves the NIC). A workload: done `drain` after its
 * last packet left.
 *
 * Host-driven mode (include/kernel/dev/nic.h): once a host writes CTRL =
 * enable through the BAR, descriptors carry their buffer, length and
 * destination, the first payload word travels with the packet, TX
 * progress is a register and a head write-back, RX slots are the buffers
 * the host posted (RX_TAIL) and each completion carries a sequence; MSI-X
 * covers RX and TX completions, coalesced as above, and can be masked.
 * A reset (CTRL = 0) forgets every position; DMA completions of the old
 * rings are dropped. A NIC nobody writes behaves exactly as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/dev/nic.h"
#include "orrery/checkpoint.h"
#include "orrery/net.h"
#include "orrery/outq.h"
#include "orrery/pcie.h"
#include "orrery/sim.h"

#define NIC_DESC_BYTES 16u
#define NIC_MAX_RING 512u /* descriptor reads use tags 0..511, payload reads 512..1023 */

enum { TIMER_POST = 1, TIMER_COALESCE = 2, TIMER_DONE = 3 };

static const struct orr_param nic_params[] = {
    PCIE_LINK_PARAMS,
    {"requester", ORR_P_UINT, "256", ORR_PF_POSITIVE, "PCIe requester id", NULL, 1, 65535},
    {"msix_addr", ORR_P_SIZE, "4078MiB", 0, "address of MSI-X writes (the root complex's window)"},
    {"vector", ORR_P_UINT, "0", 0, "MSI-X vector of the receive queue"},
    {"node", ORR_P_UINT, "0", 0, "this NIC's fabric node", NULL, 0, NET_MAX_NODES - 1},
    {"mtu", ORR_P_SIZE, "4KiB", ORR_PF_POSITIVE, "largest packet, headers included"},
    {"ring", ORR_P_UINT, "256", ORR_PF_POSITIVE, "entries of the TX and RX rings", NULL, 1,
     NIC_MAX_RING},
    {"tx_ring", ORR_P_SIZE, "0B", 0, "host address of the TX descriptor ring"},
    {"rx_ring", ORR_P_SIZE, "64KiB", 0, "host address of the RX completion ring"},
    {"tx_buf", ORR_P_SIZE, "1MiB", 0, "host address of the TX buffers (one mtu per slot)"},
    {"rx_buf", ORR_P_SIZE, "4MiB", 0, "host address of the RX buffers (one mtu per slot)"},
    {"max_payload", ORR_P_SIZE, "256B", ORR_PF_POSITIVE, "largest DMA write payload", NULL, 1,
     PCIE_MAX_LENGTH},
    {"tx", ORR_P_MAP, "{}", 0, "built-in traffic source: rate, size, dest, count, start"},
    {"coalesce", ORR_P_MAP, "{}", 0, "interrupt coalescing: usecs, frames"},
    {"drain", ORR_P_TIME, "20us", 0, "after the last send, time until the NIC reports done"},
    {NULL},
};

static const struct orr_param nic_tx_params[] = {
    {"rate", ORR_P_BW, "0bps", 0, "offered load; 0 = post everything at start"},
    {"size", ORR_P_SIZE, "1KiB", ORR_PF_POSITIVE, "packet size on the wire, headers included"},
    {"dest", ORR_P_UINT, "0", 0, "destination node", NULL, 0, NET_MAX_NODES - 1},
    {"count", ORR_P_UINT, "0", 0, "packets to send"},
    {"start", ORR_P_TIME, "0ns", 0, "first post"},
    {NULL},
};

static const struct orr_param nic_coalesce_params[] = {
    {"usecs", ORR_P_TIME, "0ns", 0, "longest a completion waits for its interrupt; 0 = no timer"},
    {"frames", ORR_P_UINT, "1", ORR_PF_POSITIVE, "completions per interrupt", NULL, 1, 65536},
    {NULL},
};

static const struct orr_port_doc nic_ports[] = {
    {"pcie", "to a root complex (or switch) downstream port"},
    {"net", "to a fabric switch port"},
    {NULL},
};

struct nic {
    struct orr_port *pcie, *net;
    struct pcie_tx tx;
    struct orr_outq pcieQ, netQ; /* TLPs and packets waiting for their links */
    uint16_t requester;
    uint32_t node, mtu, ring, size, dest, max_payload, frames, vector;
    uint64_t tx_ring, rx_ring, tx_buf, rx_buf, msix_addr, count, offered, posted, sent, seq;
    orr_time_t gap, start, usecs, drain;
    orr_time_t aPostTime[NIC_MAX_RING];
    uint64_t rx_head, pending, coalesce_gen;
    bool paused, timer_armed;
    struct orr_counter *tx_packets, *tx_bytes, *rx_packets, *rx_bytes, *irqs, *dma_rd, *dma_wr,
        *ring_full, *errors;
    struct orr_gauge *occupancy;
    struct orr_histogram *latency;
    /* host-driven mode (kernel/dev/nic.h) */
    bool host, masked;
    uint64_t h_tx_base, h_tx_tail, h_tx_fetch, h_tx_head, h_rx_base, h_rx_tail, h_rx_buf,
        h_tx_wb, h_drops, h_epoch;
    uint8_t aSlot[NIC_MAX_RING];      /* 0 idle, 1 descriptor read, 2 payload read, 3 sent */
    uint32_t aLen[NIC_MAX_RING], aDest[NIC_MAX_RING];
};

static int sub_params(struct orr_component *c, const struct orr_params *p, const char *key,
                      const struct orr_param *schema, struct orr_params *out, struct orr_diag *d)
{
    char keypath[256];
    snprintf(keypath, sizeof keypath, "%s.%s", c->keypath ? c->keypath : c->path, key);
    return orr_params_parse(schema, orr_param_map(p, key), keypath, NULL, out, d);
}

static int nic_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct nic *s = c->state;
    int rc = pcie_link_params(p, c->keypath, d, &s->tx);
    s->pcie = orr_port_add(c, "pcie");
    s->net = orr_port_add(c, "net");
    s->requester = (uint16_t)orr_param_u64(p, "requester");
    s->msix_addr = orr_param_u64(p, "msix_addr");
    s->vector = (uint32_t)orr_param_u64(p, "vector");
    s->node = (uint32_t)orr_param_u64(p, "node");
    s->mtu = (uint32_t)orr_param_u64(p, "mtu");
    s->ring = (uint32_t)orr_param_u64(p, "ring");
    s->tx_ring = orr_param_u64(p, "tx_ring");
    s->rx_ring = orr_param_u64(p, "rx_ring");
    s->tx_buf = orr_param_u64(p, "tx_buf");
    s->rx_buf = orr_param_u64(p, "rx_buf");
    s->max_payload = (uint32_t)orr_param_u64(p, "max_payload");
    s->drain = orr_param_u64(p, "drain");
    if (s->mtu <= NET_HDR_BYTES || s->mtu - NET_HDR_BYTES > PCIE_MAX_LENGTH) {
        orr_diag_error(d, orr_param_mark(p, "mtu"), c->keypath,
                       "mtu %u B must exceed the %u B of headers by at most %u B", s->mtu,
                       NET_HDR_BYTES, PCIE_MAX_LENGTH);
        rc = ORR_ESCHEMA;
    }
    struct orr_params tx, co;
    if (sub_params(c, p, "tx", nic_tx_params, &tx, d) == 0) {
        uint64_t rate = orr_param_u64(&tx, "rate");
        s->size = (uint32_t)orr_param_u64(&tx, "size");
        s->dest = (uint32_t)orr_param_u64(&tx, "dest");
        s->count = orr_param_u64(&tx, "count");
        s->start = orr_param_u64(&tx, "start");
        s->gap = rate ? (orr_time_t)(((unsigned __int128)s->size * 8 * ORR_S + rate - 1) / rate) : 0;
        if (s->size <= NET_HDR_BYTES || s->size > s->mtu) {
            orr_diag_error(d, orr_param_mark(&tx, "size"), c->keypath,
                           "tx size %u B must exceed the %u B of headers and be at most the mtu",
                           s->size, NET_HDR_BYTES);
            rc = ORR_ESCHEMA;
        }
    } else {
        rc = ORR_ESCHEMA;
    }
    orr_params_free(&tx);
    if (sub_params(c, p, "coalesce", nic_coalesce_params, &co, d) == 0) {
        s->usecs = orr_param_u64(&co, "usecs");
        s->frames = (uint32_t)orr_param_u64(&co, "frames");
    } else {
        rc = ORR_ESCHEMA;
    }
    orr_params_free(&co);
    s->tx_packets = orr_counter_new(c, "tx_packets", "pkt");
    s->tx_bytes = orr_counter_new(c, "tx_bytes", "B");
    s->rx_packets = orr_counter_new(c, "rx_packets", "pkt");
    s->rx_bytes = orr_counter_new(c, "rx_bytes", "B");
    s->irqs = orr_counter_new(c, "interrupts", "irq");
    s->dma_rd = orr_counter_new(c, "dma_read_bytes", "B");
    s->dma_wr = orr_counter_new(c, "dma_write_bytes", "B");
    s->ring_full = orr_counter_new(c, "tx_ring_full", "pkt");
    s->errors = orr_counter_new(c, "completion_errors", "tlp");
    s->occupancy = orr_gauge_new(c, "tx_ring_occupancy", "desc");
    s->latency = orr_histogram_new(c, "latency", "ns");
    return rc;
}

static int nic_start(struct orr_component *c, struct orr_diag *d)
{
    struct nic *s = c->state;
    if (!s->pcie->link || !s->net->link) {
        orr_diag_error(d, &c->mark, c->keypath, "ports 'pcie' and 'net' of %s must be linked",
                       c->path);
        return ORR_ESCHEMA;
    }
    if (s->count)
        orr_timer(c, s->start, TIMER_POST, 0, 0);
    else
        orr_workload_done(c);
    return 0;
}

static void send_tlp(struct orr_component *c, struct nic *s, const struct orr_msg *m)
{
    orr_outq_send(&s->pcieQ, s->pcie, m, pcie_tx_delay(&s->tx, orr_now(c->sim), m->size));
}

static void dma_read(struct orr_component *c, struct nic *s, unsigned tag, uint64_t addr,
                     uint32_t n)
{
    struct orr_msg m = pcie_mrd(s->requester, tag, addr, n);
    send_tlp(c, s, &m);
}

static void dma_write(struct orr_component *c, struct nic *s, uint64_t addr, const void *b,
                      uint32_t n)
{
    struct orr_msg m = pcie_mwr(c->sim, s->requester, addr, b, n);
    send_tlp(c, s, &m);
}

static void net_kick(struct nic *s)
{
    if (!s->paused) /* PFC: class 0 may not send while paused */
        orr_outq_drain(&s->netQ, s->net);
}

/* The built-in driver offers one packet: it posts a descriptor and rings
 * the doorbell, or counts the packet as refused when the ring is full. */
static void offer(struct orr_component *c, struct nic *s)
{
    s->offered++;
    if (s->posted - s->sent >= s->ring) {
        s->ring_full->v++;
        return;
    }
    uint32_t slot = (uint32_t)(s->posted % s->ring);
    s->aPostTime[slot] = orr_now(c->sim);
    s->posted++;
    orr_gauge_set(s->occupancy, (int64_t)(s->posted - s->sent));
    dma_read(c, s, slot, s->tx_ring + (uint64_t)slot * NIC_DESC_BYTES, NIC_DESC_BYTES);
}

/* At `rate`, one packet per gap; without one, as many as the ring holds
 * (and more as packets leave). */
static void post(struct orr_component *c, struct nic *s)
{
    if (s->gap) {
        offer(c, s);
        if (s->offered < s->count)
            orr_timer(c, s->gap, TIMER_POST, 0, 0);
    } else {
        while (s->offered < s->count && s->posted - s->sent < s->ring)
            offer(c, s);
    }
    if (s->ring_full->v && s->sent + s->ring_full->v == s->count && s->offered == s->count)
        orr_timer(c, s->drain, TIMER_DONE, 0, 0);
}

static void tx_completion(struct orr_component *c, struct nic *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    if (h.type != PCIE_CPLD || h.requester != s->requester) {
        s->errors->v++;
        orr_sim_fail(c, "DMA read tag %u: %s", h.tag,
                     h.type == PCIE_CPL_UR ? "unsupported request" : "unexpected completion");
        return;
    }
    s->dma_rd->v += h.length;
    orr_blob_free(c->sim, ev->data[1]);
    if (h.tag < NIC_MAX_RING) { /* the descriptor: now read the payload */
        dma_read(c, s, NIC_MAX_RING + h.tag, s->tx_buf + (uint64_t)h.tag * s->mtu,
                 s->size - NET_HDR_BYTES);
        return;
    }
    uint32_t slot = h.tag - NIC_MAX_RING;
    struct net_hdr nh = {.src = s->node, .dst = s->dest,
                         .flow = net_flow_id(s->node, s->dest, 0)};
    uint64_t word = (s->seq++) << 32 | (uint32_t)(s->aPostTime[slot] / ORR_NS);
    struct orr_msg m = net_packet(&nh, s->size, word);
    orr_outq_push(&s->netQ, &m, 0);
    s->sent++;
    orr_gauge_set(s->occupancy, (int64_t)(s->posted - s->sent));
    s->tx_packets->v++;
    s->tx_bytes->v += s->size;
    net_kick(s);
    if (s->sent + s->ring_full->v == s->count && s->offered == s->count)
        orr_timer(c, s->drain, TIMER_DONE, 0, 0);
    else if (!s->gap)
        post(c, s);
}

static void raise_irq(struct orr_component *c, struct nic *s);

/* Host mode: a completion is pending for the host; raise it as the
 * coalescing settings say (held while masked). */
static void host_pending(struct orr_component *c, struct nic *s)
{
    if (++s->pending >= s->frames) {
        if (!s->masked)
            raise_irq(c, s);
    } else if (s->usecs && !s->timer_armed) {
        s->timer_armed = true;
        orr_timer(c, s->usecs, TIMER_COALESCE, 0, s->coalesce_gen);
    }
}

/* Host mode: fetch the descriptors between what was fetched and the tail. */
static void host_fetch(struct orr_component *c, struct nic *s)
{
    while (s->h_tx_fetch < s->h_tx_tail && s->h_tx_fetch - s->h_tx_head < s->ring) {
        uint32_t slot = (uint32_t)(s->h_tx_fetch % s->ring);
        if (s->aSlot[slot])
            break; /* still busy from the lap before */
        s->aSlot[slot] = 1;
        s->aPostTime[slot] = orr_now(c->sim);
        s->h_tx_fetch++;
        dma_read(c, s, slot, s->h_tx_base + (uint64_t)slot * NIC_DESC_BYTES, NIC_DESC_BYTES);
    }
}

/* Host mode: packets leave in descriptor order; advance the head over the
 * slots whose packet has gone, and write it back. */
static void host_advance(struct orr_component *c, struct nic *s)
{
    bool moved = false;
    while (s->h_tx_head < s->h_tx_fetch && s->aSlot[s->h_tx_head % s->ring] == 3) {
        s->aSlot[s->h_tx_head % s->ring] = 0;
        s->h_tx_head++;
        moved = true;
    }
    if (!moved)
        return;
    if (s->h_tx_wb) {
        dma_write(c, s, s->h_tx_wb, &s->h_tx_head, 8);
        s->dma_wr->v += 8;
    }
    host_pending(c, s);
    host_fetch(c, s);
}

/* The positions are running counts that survive a reset: the ring starts
 * again where it stopped, with nothing posted, so a write-back or a
 * completion still in flight from before carries a count the new driver
 * instance knows to be old. */
static void host_reset(struct nic *s)
{
    s->host = false;
    s->masked = false;
    s->h_tx_tail = s->h_tx_fetch = s->h_tx_head;
    s->h_rx_tail = s->rx_head;
    s->pending = 0;
    s->coalesce_gen++;
    s->timer_armed = false;
    s->h_epoch++;
    memset(s->aSlot, 0, sizeof s->aSlot);
}

static uint64_t host_reg(const struct nic *s, uint64_t off)
{
    switch (off) {
    case NIC_CTRL: return s->host;
    case NIC_TX_BASE: return s->h_tx_base;
    case NIC_TX_TAIL: return s->h_tx_tail;
    case NIC_TX_HEAD: return s->h_tx_head;
    case NIC_RX_BASE: return s->h_rx_base;
    case NIC_RX_TAIL: return s->h_rx_tail;
    case NIC_RX_HEAD: return s->rx_head;
    case NIC_IRQ_MASK: return s->masked;
    case NIC_TX_WB: return s->h_tx_wb;
    case NIC_RING: return s->ring;
    case NIC_NODE: return s->node;
    case NIC_RX_DROPS: return s->h_drops;
    case NIC_RX_BUF: return s->h_rx_buf;
    case NIC_MTU: return s->mtu;
    case NIC_ID: return NIC_ID_VALUE;
    default: return 0;
    }
}

static void host_write(struct orr_component *c, struct nic *s, uint64_t off, uint64_t v)
{
    switch (off) {
    case NIC_CTRL:
        if (v == NIC_CTRL_ENABLE && !s->host) {
            host_reset(s);
            s->host = true;
        } else if (v == NIC_CTRL_RESET) {
            host_reset(s);
        }
        break;
    case NIC_TX_BASE: s->h_tx_base = v; break;
    case NIC_TX_TAIL:
        if (s->host && v > s->h_tx_tail) {
            s->h_tx_tail = v;
            host_fetch(c, s);
        }
        break;
    case NIC_RX_BASE: s->h_rx_base = v; break;
    case NIC_RX_TAIL:
        if (v > s->h_rx_tail)
            s->h_rx_tail = v;
        break;
    case NIC_IRQ_MASK:
        s->masked = v != 0;
        if (!s->masked && s->pending)
            raise_irq(c, s);
        break;
    case NIC_TX_WB: s->h_tx_wb = v; break;
    case NIC_RX_BUF: s->h_rx_buf = v; break;
    default: break;
    }
}

/* A TLP for the BAR (MMIO through the root complex): register writes and
 * reads. */
static void bar_access(struct orr_component *c, struct nic *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    if (h.type == PCIE_MWR) {
        const uint8_t *b = orr_blob_get(c->sim, ev->data[1]);
        uint64_t off, v = 0;
        memcpy(&off, b, sizeof off);
        memcpy(&v, b + PCIE_WR_ADDR_BYTES, h.length < 8 ? h.length : 8);
        orr_blob_free(c->sim, ev->data[1]);
        host_write(c, s, off, v);
        return;
    }
    uint64_t v = host_reg(s, ev->data[1]);
    void *b;
    struct pcie_hdr r = {.type = PCIE_CPLD, .tag = h.tag, .requester = h.requester,
                         .length = h.length};
    struct orr_msg m = {.size = pcie_wire_bytes(h.length), .data = {pcie_hdr_pack(&r), 0}};
    m.data[1] = orr_blob_new(c->sim, h.length ? h.length : 1, &b);
    memcpy(b, &v, h.length < 8 ? h.length : 8);
    send_tlp(c, s, &m);
}

/* Host mode: a DMA read came back (a descriptor, or a payload). */
static void host_completion(struct orr_component *c, struct nic *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    uint32_t slot = h.tag < NIC_MAX_RING ? h.tag : h.tag - NIC_MAX_RING;
    if (h.type != PCIE_CPLD || h.requester != s->requester || slot >= s->ring ||
        s->aSlot[slot] != (h.tag < NIC_MAX_RING ? 1 : 2)) {
        /* refused by the IOMMU, or a ring the host has reset since: the
         * slot is abandoned (the host's recovery replays what it needs) */
        s->errors->v += h.type != PCIE_CPLD;
        if (h.type == PCIE_CPLD)
            orr_blob_free(c->sim, ev->data[1]);
        else if (slot < s->ring && s->aSlot[slot])
            s->aSlot[slot] = 3; /* counted as gone: the host sees it in TX_HEAD */
        host_advance(c, s);
        return;
    }
    const uint8_t *b = orr_blob_get(c->sim, ev->data[1]);
    s->dma_rd->v += h.length;
    if (h.tag < NIC_MAX_RING) { /* the descriptor: buffer, length, destination */
        uint64_t addr = 0;
        uint32_t len = 0, dest = 0;
        memcpy(&addr, b, 8);
        memcpy(&len, b + 8, 4);
        memcpy(&dest, b + 12, 4);
        orr_blob_free(c->sim, ev->data[1]);
        if (len < 8 || len > s->mtu - NET_HDR_BYTES || len > PCIE_MAX_LENGTH ||
            dest >= NET_MAX_NODES) {
            s->errors->v++;
            s->aSlot[slot] = 3; /* a malformed descriptor is skipped, not sent */
            host_advance(c, s);
            return;
        }
        s->aLen[slot] = len;
        s->aDest[slot] = dest;
        s->aSlot[slot] = 2;
        dma_read(c, s, NIC_MAX_RING + slot, addr, len);
        return;
    }
    uint64_t word = 0;
    memcpy(&word, b, 8);
    orr_blob_free(c->sim, ev->data[1]);
    struct net_hdr nh = {.src = s->node, .dst = s->aDest[slot],
                         .flow = net_flow_id(s->node, s->aDest[slot], 0)};
    struct orr_msg m = net_packet(&nh, s->aLen[slot] + NET_HDR_BYTES, word);
    orr_outq_push(&s->netQ, &m, 0);
    s->tx_packets->v++;
    s->tx_bytes->v += s->aLen[slot] + NET_HDR_BYTES;
    s->aSlot[slot] = 3;
    net_kick(s);
    host_advance(c, s);
}

/* Host mode: a packet arrived; into the next posted buffer, or dropped. */
static void host_rx(struct orr_component *c, struct nic *s, const struct orr_event *ev)
{
    s->rx_packets->v++;
    s->rx_bytes->v += ev->size;
    if (s->rx_head >= s->h_rx_tail) {
        s->h_drops++;
        return;
    }
    uint32_t slot = (uint32_t)(s->rx_head++ % s->ring), n = ev->size - NET_HDR_BYTES;
    uint64_t buf = s->h_rx_buf + (uint64_t)slot * s->mtu;
    uint8_t first[PCIE_MAX_LENGTH];
    for (uint32_t off = 0; off < n; off += s->max_payload) {
        uint32_t k = n - off < s->max_payload ? n - off : s->max_payload;
        if (off == 0 && k >= 8) { /* the packet's word leads its payload */
            memset(first, 0, k);
            memcpy(first, &ev->data[0], 8);
        }
        dma_write(c, s, buf + off, off == 0 && k >= 8 ? first : NULL, k);
        s->dma_wr->v += k;
    }
    uint8_t cqe[NIC_DESC_BYTES] = {0};
    uint32_t seq = (uint32_t)s->rx_head;
    memcpy(cqe, &n, sizeof n);
    memcpy(cqe + 4, &seq, sizeof seq);
    memcpy(cqe + 8, &ev->data[0], 8);
    dma_write(c, s, s->h_rx_base + (uint64_t)slot * NIC_DESC_BYTES, cqe, NIC_DESC_BYTES);
    s->dma_wr->v += NIC_DESC_BYTES;
    host_pending(c, s);
}

static void raise_irq(struct orr_component *c, struct nic *s)
{
    dma_write(c, s, s->msix_addr, &s->vector, sizeof s->vector);
    s->irqs->v++;
    s->pending = 0;
    s->coalesce_gen++;
    s->timer_armed = false;
}

static void rx_packet(struct orr_component *c, struct nic *s, const struct orr_event *ev)
{
    uint64_t w = ev->data[1];
    if (net_is_ctrl(w)) {
        if (net_ctrl_prio(ev->data) == 0)
            s->paused = net_ctrl_op(ev->data) == NET_CTRL_PAUSE;
        net_kick(s);
        return;
    }
    s->rx_packets->v++;
    s->rx_bytes->v += ev->size;
    uint32_t slot = (uint32_t)(s->rx_head++ % s->ring), n = ev->size - NET_HDR_BYTES;
    uint64_t buf = s->rx_buf + (uint64_t)slot * s->mtu;
    for (uint32_t off = 0; off < n; off += s->max_payload) {
        uint32_t k = n - off < s->max_payload ? n - off : s->max_payload;
        dma_write(c, s, buf + off, NULL, k);
        s->dma_wr->v += k;
    }
    uint8_t cqe[NIC_DESC_BYTES] = {0};
    memcpy(cqe, &n, sizeof n);
    memcpy(cqe + 8, &ev->data[0], 8);
    dma_write(c, s, s->rx_ring + (uint64_t)slot * NIC_DESC_BYTES, cqe, NIC_DESC_BYTES);
    s->dma_wr->v += NIC_DESC_BYTES;
    /* post-to-completion: until the completion TLP has left the NIC */
    orr_time_t done = s->tx.free_at;
    uint32_t posted_ns = (uint32_t)ev->data[0];
    orr_histogram_add(s->latency, (uint32_t)((uint32_t)(done / ORR_NS) - posted_ns));
    if (++s->pending >= s->frames)
        raise_irq(c, s);
    else if (s->usecs && !s->timer_armed) {
        s->timer_armed = true;
        orr_timer(c, s->usecs, TIMER_COALESCE, 0, s->coalesce_gen);
    }
}

static void nic_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct nic *s = c->state;
    switch (ev->kind) {
    case ORR_TK_MSG:
        if (ev->port == s->net->index) {
            if (s->host && !net_is_ctrl(ev->data[1]))
                host_rx(c, s, ev);
            else
                rx_packet(c, s, ev);
        } else {
            unsigned type = pcie_hdr_unpack(ev->data[0]).type;
            if (type == PCIE_MRD || type == PCIE_MWR)
                bar_access(c, s, ev);
            else if (s->host)
                host_completion(c, s, ev);
            else
                tx_completion(c, s, ev);
        }
        break;
    case ORR_TK_READY:
        if (ev->port == s->net->index)
            net_kick(s);
        else
            orr_outq_drain(&s->pcieQ, s->pcie);
        break;
    case ORR_TK_TIMER:
        if (ev->port == TIMER_POST)
            post(c, s);
        else if (ev->port == TIMER_COALESCE && ev->data[1] == s->coalesce_gen && s->pending &&
                 !s->masked)
            raise_irq(c, s);
        else if (ev->port == TIMER_DONE)
            orr_workload_done(c);
        break;
    default:
        break;
    }
}

static void nic_destroy(struct orr_component *c)
{
    struct nic *s = c->state;
    orr_outq_free(&s->pcieQ);
    orr_outq_free(&s->netQ);
}

static const struct orr_metric_doc nic_metrics[] = {
    {"tx_packets", "pkt", ORR_METRIC_COUNTER, "packets sent on net"},
    {"tx_bytes", "B", ORR_METRIC_COUNTER, "bytes sent on net"},
    {"rx_packets", "pkt", ORR_METRIC_COUNTER, "packets received from net"},
    {"rx_bytes", "B", ORR_METRIC_COUNTER, "bytes received from net"},
    {"interrupts", "irq", ORR_METRIC_COUNTER, "MSI-X interrupts raised (after coalescing)"},
    {"dma_read_bytes", "B", ORR_METRIC_COUNTER,
     "bytes read from host memory (descriptors, payloads)"},
    {"dma_write_bytes", "B", ORR_METRIC_COUNTER,
     "bytes written to host memory (payloads, completions)"},
    {"tx_ring_full", "pkt", ORR_METRIC_COUNTER,
     "packets the built-in driver could not post: TX ring full"},
    {"completion_errors", "tlp", ORR_METRIC_COUNTER,
     "unexpected or unsupported DMA completions (the run fails)"},
    {"tx_ring_occupancy", "desc", ORR_METRIC_GAUGE, "descriptors posted and not yet sent"},
    {"latency", "ns", ORR_METRIC_HISTOGRAM,
     "a packet's post at the sender to its RX completion leaving here"},
    {NULL},
};

/* Checkpoint/restore: the link serialiser, both queues, the ring
 * positions and post times, coalescing and pause state. */
static void nic_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct nic *s = c->state;
    orr_ckpt_put_u64(w, s->tx.free_at);
    orr_ckpt_put_outq(w, &s->pcieQ);
    orr_ckpt_put_outq(w, &s->netQ);
    orr_ckpt_put_u64(w, s->offered);
    orr_ckpt_put_u64(w, s->posted);
    orr_ckpt_put_u64(w, s->sent);
    orr_ckpt_put_u64(w, s->seq);
    orr_ckpt_put_array(w, s->aPostTime, NIC_MAX_RING, sizeof s->aPostTime[0]);
    orr_ckpt_put_u64(w, s->rx_head);
    orr_ckpt_put_u64(w, s->pending);
    orr_ckpt_put_u64(w, s->coalesce_gen);
    orr_ckpt_put_u8(w, s->paused);
    orr_ckpt_put_u8(w, s->timer_armed);
    orr_ckpt_put_u8(w, s->host);
    orr_ckpt_put_u8(w, s->masked);
    const uint64_t h[] = {s->h_tx_base, s->h_tx_tail, s->h_tx_fetch, s->h_tx_head, s->h_rx_base,
                          s->h_rx_tail, s->h_rx_buf, s->h_tx_wb, s->h_drops, s->h_epoch};
    orr_ckpt_put_array(w, h, sizeof h / sizeof h[0], sizeof h[0]);
    orr_ckpt_put_array(w, s->aSlot, NIC_MAX_RING, sizeof s->aSlot[0]);
    orr_ckpt_put_array(w, s->aLen, NIC_MAX_RING, sizeof s->aLen[0]);
    orr_ckpt_put_array(w, s->aDest, NIC_MAX_RING, sizeof s->aDest[0]);
}

static void nic_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct nic *s = c->state;
    s->tx.free_at = orr_ckpt_get_u64(r);
    orr_ckpt_get_outq(r, &s->pcieQ);
    orr_ckpt_get_outq(r, &s->netQ);
    s->offered = orr_ckpt_get_u64(r);
    s->posted = orr_ckpt_get_u64(r);
    s->sent = orr_ckpt_get_u64(r);
    s->seq = orr_ckpt_get_u64(r);
    orr_ckpt_get_into(r, s->aPostTime, sizeof s->aPostTime);
    s->rx_head = orr_ckpt_get_u64(r);
    s->pending = orr_ckpt_get_u64(r);
    s->coalesce_gen = orr_ckpt_get_u64(r);
    s->paused = orr_ckpt_get_u8(r) != 0;
    s->timer_armed = orr_ckpt_get_u8(r) != 0;
    s->host = orr_ckpt_get_u8(r) != 0;
    s->masked = orr_ckpt_get_u8(r) != 0;
    uint64_t h[10];
    orr_ckpt_get_into(r, h, sizeof h);
    s->h_tx_base = h[0], s->h_tx_tail = h[1], s->h_tx_fetch = h[2], s->h_tx_head = h[3];
    s->h_rx_base = h[4], s->h_rx_tail = h[5], s->h_rx_buf = h[6], s->h_tx_wb = h[7];
    s->h_drops = h[8], s->h_epoch = h[9];
    orr_ckpt_get_into(r, s->aSlot, sizeof s->aSlot);
    orr_ckpt_get_into(r, s->aLen, sizeof s->aLen);
    orr_ckpt_get_into(r, s->aDest, sizeof s->aDest);
}

const struct orr_component_type orr_nic_type = {
    .name = "nic",
    .summary = "Ethernet NIC: PCIe DMA rings and coalesced MSI-X on one side, a fabric port on the other",
    .params = nic_params,
    .ports = nic_ports,
    .metrics = nic_metrics,
    .state_size = sizeof(struct nic),
    .workload = true,
    .create = nic_create,
    .start = nic_start,
    .handle = nic_handle,
    .destroy = nic_destroy,
    .save = nic_save,
    .restore = nic_restore,
};
