/* dmae: a driver for the modelled PCIe DMA engine (include/kernel/dev/
 * dma_engine.h), written against struct drv_env only, so the registry can
 * run it at any tier. A request is one copy: `addr` the source, `arg0` the
 * destination, `len` bytes, all inside the binding's region.
 *
 * The engine runs one copy at a time, so the driver keeps a FIFO of the
 * copies it accepted, in its region; the head is the one at the device.
 * Each copy's buffers are granted for that copy only (hal_dma_map per
 * copy, unmapped at its completion: the streaming DMA pattern). Its
 * interrupt only schedules the poll (NAPI-like): poll reads DONE, and when
 * the head copy is done checks STATUS, completes it and rings the next.
 *
 * Region layout:  +0 head  +8 tail  +16 DONE seen  +24 copies completed
 *                 +64  FIFO of tags (DRV_MAX_TAGS 8-byte slots)
 *                 +4096 per-tag record: src, dst, len, src bus, dst bus (64 B)
 *                 +DMAE_IO the client's buffers (the rest)
 *
 * Recovery: the engine has no abort and no reset register; quiesce waits
 * until DONE stays still for DMAE_QUIET_NS (more than a 64 KiB copy takes
 * on a Gen3 x8 link), reset only checks the engine answers. reclaim tells
 * a finished copy by its bytes: a copy is done when the destination holds
 * the source (the client makes them differ before submitting), else it is
 * replayed (copies are idempotent). */
#include "kernel/dev/dma_engine.h"
#include "kernel/driver.h"

#define HEAD 0u
#define TAIL 8u
#define SEEN 16u
#define COPIES 24u
#define FIFO 64u
#define REC 4096u
#define REC_BYTES 64u
#define DMAE_IO (REC + DRV_MAX_TAGS * REC_BYTES)
#define DMAE_QUIET_NS 20000u

static const struct drv_match dmae_match[] = {
    {DMAE_ID, 0xFFFFFFFFu, DMAE_ID_VALUE},
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

static int dmae_probe(struct drv_env *e)
{
    uint64_t id = 0;
    TRY(drv_mmio_read(e, DMAE_ID, 8, &id));
    return id == DMAE_ID_VALUE ? DRV_OK : DRV_ENODEV;
}

static int dmae_start(struct drv_env *e, const struct drv_state *stt)
{
    uint64_t done = 0;
    TRY(drv_mmio_read(e, DMAE_DONE, 8, &done));
    TRY(st(e, HEAD, 0));
    TRY(st(e, TAIL, 0));
    TRY(st(e, SEEN, done));
    /* the record carries the copies completed by earlier instances */
    TRY(st(e, COPIES, stt && stt->nWords >= 1 ? stt->aWord[0] : 0));
    return DRV_OK;
}

/* Grant and ring the copy at the head of the FIFO. */
static int kick(struct drv_env *e)
{
    uint64_t head, tag, src, dst, len, sbus, dbus;
    TRY(ld(e, HEAD, &head));
    TRY(ld(e, FIFO + 8 * (head % DRV_MAX_TAGS), &tag));
    DRV_ASSERT(e, tag < DRV_MAX_TAGS);
    uint64_t rec = REC + tag * REC_BYTES;
    TRY(ld(e, rec, &src));
    TRY(ld(e, rec + 8, &dst));
    TRY(ld(e, rec + 16, &len));
    TRY(drv_dma_map(e, src, len, false, &sbus));
    TRY(drv_dma_map(e, dst, len, true, &dbus));
    TRY(st(e, rec + 24, sbus));
    TRY(st(e, rec + 32, dbus));
    TRY(drv_mmio_write(e, DMAE_SRC, 8, sbus));
    TRY(drv_mmio_write(e, DMAE_DST, 8, dbus));
    TRY(drv_mmio_write(e, DMAE_LEN, 8, len));
    return drv_mmio_write(e, DMAE_DOORBELL, 8, 1);
}

static int dmae_submit(struct drv_env *e, const struct drv_req *rq)
{
    uint64_t head, tail;
    DRV_ASSERT(e, rq->tag < DRV_MAX_TAGS && rq->len > 0);
    if (rq->addr < e->region + DMAE_IO || rq->arg0 < e->region + DMAE_IO)
        return DRV_EIO; /* not a buffer of the I/O area */
    TRY(ld(e, HEAD, &head));
    TRY(ld(e, TAIL, &tail));
    if (tail - head == DRV_MAX_TAGS)
        return DRV_EAGAIN;
    uint64_t rec = REC + (uint64_t)rq->tag * REC_BYTES;
    TRY(st(e, rec, rq->addr));
    TRY(st(e, rec + 8, rq->arg0));
    TRY(st(e, rec + 16, rq->len));
    TRY(st(e, FIFO + 8 * (tail % DRV_MAX_TAGS), rq->tag));
    TRY(st(e, TAIL, tail + 1));
    return tail == head ? kick(e) : DRV_OK;
}

static int dmae_irq(struct drv_env *e, uint32_t vector)
{
    (void)e;
    (void)vector;
    return DRV_OK; /* the work is poll's */
}

static int dmae_poll(struct drv_env *e, unsigned budget)
{
    int got = 0;
    while ((unsigned)got < budget) {
        uint64_t head, tail, seen, done, status, tag, copies;
        TRY(ld(e, HEAD, &head));
        TRY(ld(e, TAIL, &tail));
        if (head == tail)
            break;
        TRY(ld(e, SEEN, &seen));
        TRY(drv_mmio_read(e, DMAE_DONE, 8, &done));
        if (done == seen)
            break; /* the head copy is still running */
        DRV_ASSERT(e, done == seen + 1);
        TRY(drv_mmio_read(e, DMAE_STATUS, 8, &status));
        /* a refused read means a bad grant: a driver bug, not the I/O's fault */
        DRV_ASSERT(e, !(status & DMAE_STATUS_READ_REFUSED));
        TRY(ld(e, FIFO + 8 * (head % DRV_MAX_TAGS), &tag));
        uint64_t rec = REC + tag * REC_BYTES, len, sbus, dbus;
        TRY(ld(e, rec + 16, &len));
        TRY(ld(e, rec + 24, &sbus));
        TRY(ld(e, rec + 32, &dbus));
        TRY(drv_dma_unmap(e, sbus, len));
        TRY(drv_dma_unmap(e, dbus, len));
        TRY(st(e, SEEN, done));
        TRY(st(e, HEAD, head + 1));
        TRY(ld(e, COPIES, &copies));
        TRY(st(e, COPIES, copies + 1));
        struct drv_cpl cpl = {.tag = (uint16_t)tag, .status = 0, .value = len};
        TRY(drv_complete(e, &cpl));
        got++;
        if (head + 1 != tail)
            TRY(kick(e));
    }
    return got;
}

/* Wait until DONE has not moved for DMAE_QUIET_NS. */
static int dmae_quiesce(struct drv_env *e)
{
    uint64_t last = 0, now = 0;
    TRY(drv_mmio_read(e, DMAE_DONE, 8, &last));
    for (unsigned i = 0; i < 64; i++) {
        hal_ns_t until = hal_now(e->c) + DMAE_QUIET_NS;
        while (hal_now(e->c) < until) {
            hal_timer_set(e->c, until);
            hal_idle(e->c);
        }
        TRY(drv_mmio_read(e, DMAE_DONE, 8, &now));
        if (now == last)
            return DRV_OK;
        last = now;
    }
    return DRV_ETIMEDOUT;
}

static int dmae_reset(struct drv_env *e)
{
    uint64_t id = 0;
    TRY(drv_mmio_read(e, DMAE_ID, 8, &id));
    return id == DMAE_ID_VALUE ? DRV_OK : DRV_ETIMEDOUT;
}

static int dmae_remove(struct drv_env *e)
{
    (void)e;
    return DRV_OK; /* grants are per copy; the registry revokes what is left */
}

static int dmae_save(struct drv_env *e, struct drv_state *stt)
{
    uint64_t copies = 0;
    TRY(ld(e, COPIES, &copies));
    stt->nWords = 1;
    stt->aWord[0] = copies;
    return DRV_OK;
}

static int dmae_restore(struct drv_env *e, const struct drv_state *stt)
{
    (void)e;
    return stt->nWords <= 1 ? DRV_OK : DRV_EIO;
}

/* Done when the destination holds the source. */
static int dmae_reclaim(struct drv_env *e, const struct drv_req *rq, uint64_t *value)
{
    for (uint32_t i = 0; i < rq->len; i += 8) {
        uint64_t a = 0, b = 0;
        if (drv_load(e, rq->addr + i, 8, &a) || drv_load(e, rq->arg0 + i, 8, &b))
            return DRV_RECLAIM_FAIL;
        if (a != b)
            return DRV_RECLAIM_REPLAY;
    }
    *value = rq->len;
    return DRV_RECLAIM_DONE;
}

const struct drv_ops drv_dmae_ops = {
    .name = "dmae",
    .aMatch = dmae_match,
    .region_bytes = DMAE_IO + 2 * 4096,
    .probe = dmae_probe,
    .start = dmae_start,
    .submit = dmae_submit,
    .irq = dmae_irq,
    .poll = dmae_poll,
    .quiesce = dmae_quiesce,
    .reset = dmae_reset,
    .remove = dmae_remove,
    .save_state = dmae_save,
    .restore_state = dmae_restore,
    .reclaim = dmae_reclaim,
    .io_offset = DMAE_IO,
};
