/* nic: a driver for the modelled Ethernet NIC in host-driven mode
 * (include/kernel/dev/nic.h, docs/nic.md), written against struct drv_env
 * only, so it runs in any tier. Two kinds of request:
 *   NIC_OP_TX  send `len` payload bytes at `addr` (in the I/O area) to
 *              node `arg0`; completed once the NIC reports the packet gone
 *              (TX head write-back);
 *   NIC_OP_RX  take the next packet that arrives; completed with its first
 *              payload word (the sender's word) as the value.
 * Descriptor and completion rings and the receive buffers live in the
 * driver's region and are granted to the NIC once at start; TX payloads
 * come from the I/O area, granted read-only as a whole.
 *
 * Interrupts are NAPI-like: irq masks the NIC's interrupt, poll reaps TX
 * write-backs and RX completions up to its budget and unmasks when it
 * found less — so a burst costs one interrupt and a few polls.
 *
 * Region layout:
 *   +0 TX posted  +8 TX completed  +16 RX consumed  +24 RX requests head
 *   +32 RX requests tail  +40 packets dropped (no RX request)  +48 ring
 *   +56 mtu  +64 TX head write-back (the NIC writes it)
 *   +128 bus addresses: TX ring, RX ring, RX buffers, I/O area, write-back
 *   +4096 TX descriptor ring, +8192 RX completion ring (64 x 16 B each)
 *   +12288 tag of each TX slot (64 x 8 B), +16384 RX request FIFO (256 x 8 B)
 *   +20480 receive buffers (ring x mtu), then the I/O area.
 *
 * The NIC's positions are running counts that survive its reset: a new
 * instance starts from TX_HEAD and RX_HEAD, so anything the NIC writes late
 * for the old instance carries a count below where the new one starts.
 *
 * Recovery: the NIC cannot say which descriptor carried which request, so
 * reclaim is left out and every request in flight is replayed (a TX packet
 * may then leave twice — Ethernet allows it; the request still completes
 * once). Quiesce waits for TX_HEAD to reach TX_TAIL, then resets the NIC. */
#include "kernel/dev/nic.h"
#include "kernel/driver.h"

#define TXP 0u
#define TXC 8u
#define RXC 16u
#define RQH 24u
#define RQT 32u
#define DROPS 40u
#define RING 48u
#define MTU 56u
#define WB 64u
#define BUS 128u /* + 0 TX ring, 8 RX ring, 16 RX buffers, 24 I/O area, 32 write-back */
#define TXR 4096u
#define RXR 8192u
#define TAGS 12288u
#define RXQ 16384u
#define RXB 20480u
#define NIC_MAX_RING_DRV 64u
#define NIC_MAX_MTU 2048u
#define NIC_IO (RXB + NIC_MAX_RING_DRV * NIC_MAX_MTU)
#define NIC_IO_BYTES (64u * 4096u) /* the I/O area the driver grants */
#define QUIET_NS 2000u

static const struct drv_match nic_match[] = {
    {NIC_ID, ~UINT64_C(0), NIC_ID_VALUE},
    {0, 0, 0},
};

static int ld(struct drv_env *e, uint64_t off, uint64_t *v)
{
    return drv_load(e, e->region + off, 8, v);
}

static int st(struct drv_env *e, uint64_t off, uint64_t v)
{
    return drv_store(e, e->region + off, 8, v);
}

#define TRY(x)                                                                                 \
    do {                                                                                       \
        int rc_ = (x);                                                                         \
        if (rc_)                                                                               \
            return rc_;                                                                        \
    } while (0)

static int nic_probe(struct drv_env *e)
{
    uint64_t id = 0, ring = 0, mtu = 0;
    TRY(drv_mmio_read(e, NIC_ID, 8, &id));
    if (id != NIC_ID_VALUE)
        return DRV_ENODEV;
    TRY(drv_mmio_read(e, NIC_RING, 8, &ring));
    TRY(drv_mmio_read(e, NIC_MTU, 8, &mtu));
    if (ring == 0 || ring > NIC_MAX_RING_DRV || mtu > NIC_MAX_MTU || mtu <= NIC_HDR_BYTES)
        return DRV_ENODEV; /* this driver's region holds 64 slots of 2 KiB */
    TRY(st(e, RING, ring));
    return st(e, MTU, mtu);
}

static int nic_start(struct drv_env *e, const struct drv_state *stt)
{
    (void)stt; /* the configuration is the NIC's own (ring, mtu), read at probe */
    uint64_t ring, mtu, bus;
    TRY(ld(e, RING, &ring));
    TRY(ld(e, MTU, &mtu));
    for (uint64_t off = 0; off < 128; off += 8)
        TRY(st(e, off, off == RING ? ring : off == MTU ? mtu : 0));
    for (uint64_t i = 0; i < ring; i++) { /* no stale sequence may look new */
        TRY(st(e, RXR + 16 * i, 0));
        TRY(st(e, RXR + 16 * i + 8, 0));
    }
    TRY(drv_mmio_write(e, NIC_CTRL, 8, NIC_CTRL_ENABLE));
    /* the NIC's running counts: go on from where it stopped (an old
     * instance's write-backs and completions carry smaller ones) */
    uint64_t txh = 0, rxh = 0;
    TRY(drv_mmio_read(e, NIC_TX_HEAD, 8, &txh));
    TRY(drv_mmio_read(e, NIC_RX_HEAD, 8, &rxh));
    TRY(st(e, TXP, txh));
    TRY(st(e, TXC, txh));
    TRY(st(e, WB, txh));
    TRY(st(e, RXC, rxh));
    TRY(drv_dma_map(e, e->region + TXR, ring * NIC_DESC_BYTES, false, &bus));
    TRY(st(e, BUS + 0, bus));
    TRY(drv_mmio_write(e, NIC_TX_BASE, 8, bus));
    TRY(drv_dma_map(e, e->region + RXR, ring * NIC_DESC_BYTES, true, &bus));
    TRY(st(e, BUS + 8, bus));
    TRY(drv_mmio_write(e, NIC_RX_BASE, 8, bus));
    TRY(drv_dma_map(e, e->region + RXB, ring * mtu, true, &bus));
    TRY(st(e, BUS + 16, bus));
    TRY(drv_mmio_write(e, NIC_RX_BUF, 8, bus));
    TRY(drv_dma_map(e, e->region + NIC_IO, NIC_IO_BYTES, false, &bus));
    TRY(st(e, BUS + 24, bus));
    TRY(drv_dma_map(e, e->region + WB, 8, true, &bus));
    TRY(st(e, BUS + 32, bus));
    TRY(drv_mmio_write(e, NIC_TX_WB, 8, bus));
    TRY(drv_mmio_write(e, NIC_IRQ_MASK, 8, 0));
    return drv_mmio_write(e, NIC_RX_TAIL, 8, rxh + ring); /* every buffer posted */
}

static int nic_submit(struct drv_env *e, const struct drv_req *rq)
{
    DRV_ASSERT(e, rq->tag < DRV_MAX_TAGS);
    if (rq->op == NIC_OP_RX) {
        uint64_t h, t;
        TRY(ld(e, RQH, &h));
        TRY(ld(e, RQT, &t));
        DRV_ASSERT(e, t - h < DRV_MAX_TAGS);
        TRY(st(e, RXQ + 8 * (t % DRV_MAX_TAGS), rq->tag));
        return st(e, RQT, t + 1);
    }
    if (rq->op != NIC_OP_TX)
        return DRV_EIO;
    uint64_t ring, mtu, posted, done, io;
    TRY(ld(e, RING, &ring));
    TRY(ld(e, MTU, &mtu));
    if (rq->len < 8 || rq->len > mtu - NIC_HDR_BYTES || rq->addr < e->region + NIC_IO ||
        rq->addr + rq->len > e->region + NIC_IO + NIC_IO_BYTES)
        return DRV_EIO;
    TRY(ld(e, TXP, &posted));
    TRY(ld(e, TXC, &done));
    if (posted - done >= ring)
        return DRV_EAGAIN;
    TRY(ld(e, BUS + 24, &io));
    uint64_t slot = posted % ring, d = TXR + slot * NIC_DESC_BYTES;
    TRY(st(e, d, io + (rq->addr - (e->region + NIC_IO))));
    TRY(st(e, d + 8, (uint64_t)rq->len | (rq->arg0 & 0xFFFFFFFFu) << 32));
    TRY(st(e, TAGS + 8 * slot, rq->tag));
    TRY(st(e, TXP, posted + 1));
    return drv_mmio_write(e, NIC_TX_TAIL, 8, posted + 1);
}

static int nic_irq(struct drv_env *e, uint32_t vector)
{
    (void)vector;
    return drv_mmio_write(e, NIC_IRQ_MASK, 8, 1); /* NAPI: poll does the work */
}

static int nic_poll(struct drv_env *e, unsigned budget)
{
    uint64_t ring, wb, done;
    int got = 0;
    TRY(ld(e, RING, &ring));
    /* TX: what the write-back says has left */
    TRY(ld(e, WB, &wb));
    TRY(ld(e, TXC, &done));
    while (done < wb && (unsigned)got < budget) {
        uint64_t tag;
        TRY(ld(e, TAGS + 8 * (done % ring), &tag));
        struct drv_cpl cpl = {.tag = (uint16_t)tag, .status = 0};
        TRY(drv_complete(e, &cpl));
        TRY(st(e, TXC, ++done));
        got++;
    }
    /* RX: completions whose sequence says they are new */
    uint64_t rxc;
    TRY(ld(e, RXC, &rxc));
    while ((unsigned)got < budget) {
        uint64_t w0, word, slot = rxc % ring;
        TRY(ld(e, RXR + 16 * slot, &w0));
        if ((uint32_t)(w0 >> 32) != (uint32_t)(rxc + 1))
            break;
        TRY(ld(e, RXR + 16 * slot + 8, &word));
        uint64_t h, t;
        TRY(ld(e, RQH, &h));
        TRY(ld(e, RQT, &t));
        if (h != t) {
            uint64_t tag;
            TRY(ld(e, RXQ + 8 * (h % DRV_MAX_TAGS), &tag));
            TRY(st(e, RQH, h + 1));
            struct drv_cpl cpl = {.tag = (uint16_t)tag, .status = 0, .value = word};
            TRY(drv_complete(e, &cpl));
        } else {
            uint64_t drops;
            TRY(ld(e, DROPS, &drops));
            TRY(st(e, DROPS, drops + 1));
        }
        TRY(st(e, RXC, ++rxc));
        TRY(drv_mmio_write(e, NIC_RX_TAIL, 8, rxc + ring)); /* the buffer goes back */
        got++;
    }
    if ((unsigned)got < budget)
        TRY(drv_mmio_write(e, NIC_IRQ_MASK, 8, 0));
    return got;
}

/* Wait (bounded) for the packets the NIC fetched to leave, then reset it. */
static int nic_quiesce(struct drv_env *e)
{
    uint64_t head = 0, tail = 0;
    TRY(drv_mmio_write(e, NIC_IRQ_MASK, 8, 1));
    for (unsigned i = 0; i < 64; i++) {
        TRY(drv_mmio_read(e, NIC_TX_HEAD, 8, &head));
        TRY(drv_mmio_read(e, NIC_TX_TAIL, 8, &tail));
        if (head >= tail)
            break;
        hal_ns_t until = hal_now(e->c) + QUIET_NS;
        while (hal_now(e->c) < until) {
            hal_timer_set(e->c, until);
            hal_idle(e->c);
        }
    }
    return drv_mmio_write(e, NIC_CTRL, 8, NIC_CTRL_RESET);
}

static int nic_reset(struct drv_env *e)
{
    uint64_t ctrl = 1;
    TRY(drv_mmio_write(e, NIC_CTRL, 8, NIC_CTRL_RESET));
    TRY(drv_mmio_read(e, NIC_CTRL, 8, &ctrl)); /* a read: the write has landed */
    return ctrl == 0 ? DRV_OK : DRV_ETIMEDOUT;
}

static int nic_remove(struct drv_env *e)
{
    return drv_mmio_write(e, NIC_CTRL, 8, NIC_CTRL_RESET);
}

static int nic_save(struct drv_env *e, struct drv_state *stt)
{
    uint64_t ring = 0, mtu = 0;
    TRY(ld(e, RING, &ring));
    TRY(ld(e, MTU, &mtu));
    stt->nWords = 2;
    stt->aWord[0] = ring;
    stt->aWord[1] = mtu;
    return DRV_OK;
}

/* The reloaded driver finds the NIC configured as the record says. */
static int nic_restore(struct drv_env *e, const struct drv_state *stt)
{
    uint64_t ring = 0, mtu = 0;
    TRY(ld(e, RING, &ring));
    TRY(ld(e, MTU, &mtu));
    return stt->nWords == 2 && stt->aWord[0] == ring && stt->aWord[1] == mtu ? DRV_OK
                                                                               : DRV_ENODEV;
}

const struct drv_ops drv_nic_ops = {
    .name = "nic",
    .aMatch = nic_match,
    .region_bytes = NIC_IO + NIC_IO_BYTES,
    .probe = nic_probe,
    .start = nic_start,
    .submit = nic_submit,
    .irq = nic_irq,
    .poll = nic_poll,
    .quiesce = nic_quiesce,
    .reset = nic_reset,
    .remove = nic_remove,
    .save_state = nic_save,
    .restore_state = nic_restore,
    .reclaim = NULL,
    .io_offset = NIC_IO,
};
