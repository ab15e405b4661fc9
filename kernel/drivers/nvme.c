/* The NVMe driver: controller bring-up, the admin queue, I/O queue pairs,
 * SQ/CQ ring handling with doorbells and the phase bit (include/kernel/
 * blk.h; the device's register map is include/kernel/dev/nvme.h).
 *
 * Bring-up (nvme_ctrl_init), as the NVMe specification orders it:
 *   1. read the identity word (DRV_ID_REG-style) and CAP;
 *   2. CC.EN = 0, wait CSTS.RDY = 0 (a controller reset);
 *   3. AQA, ASQ, ACQ; CC = EN | IOSQES 6 | IOCQES 4; wait CSTS.RDY = 1;
 *   4. Identify controller (MDTS, VWC) and namespace 1 (NSZE);
 *   5. Set Features: number of queues.
 * Admin commands are synchronous: pushed, then the admin CQ is polled
 * until their completion or admin_timeout (Linux: 60 s).
 *
 * Queue memory is kernel memory inside the DMA window the controller was
 * given; SQEs are written and CQEs read with the HAL accessors (the
 * device reads and writes the same lines by coherent DMA). */
#include "kernel/blk.h"
#include "kernel/kstring.h"

#define NVME_POLL_NS 1000u /* admin polling: sleep this long between looks */

static void kzero(struct hal_cpu *c, hal_paddr_t at, uint64_t n)
{
    for (uint64_t i = 0; i < n; i += 8)
        (void)hal_store(c, at + i, 8, 0);
}

static int reg_wait(struct hal_cpu *c, const struct nvme_ctrl *n, uint32_t mask, uint32_t want,
                    hal_ns_t timeout)
{
    hal_ns_t until = hal_now(c) + timeout;
    for (;;) {
        uint64_t v = 0;
        if (hal_mmio_read(c, n->bar + NVME_REG_CSTS, 4, &v) != HAL_OK)
            return HAL_EFAULT;
        if (v == 0xFFFFFFFFu)
            return NVME_ENODEV; /* nothing answers (unpowered) */
        if ((v & mask) == want)
            return 0;
        if (hal_now(c) >= until)
            return NVME_ETIMEDOUT;
        hal_timer_set(c, hal_now(c) + 10 * NVME_POLL_NS);
        hal_idle(c);
    }
}

int nvme_sq_write(struct hal_cpu *c, struct nvme_q *q, const uint32_t sqe[16])
{
    hal_paddr_t at = q->sq + (hal_paddr_t)q->sq_tail * NVME_SQE_BYTES;
    for (unsigned i = 0; i < 16; i += 2)
        if (hal_store(c, at + 4 * i, 8, sqe[i] | (uint64_t)sqe[i + 1] << 32) != HAL_OK)
            return HAL_EFAULT;
    q->sq_tail = (q->sq_tail + 1) % q->depth;
    return 0;
}

void nvme_sq_ring(struct hal_cpu *c, const struct nvme_ctrl *n, const struct nvme_q *q)
{
    (void)hal_mmio_write(c, n->bar + NVME_REG_DB + 8u * q->qid, 4, q->sq_tail);
}

int nvme_cq_pop(struct hal_cpu *c, struct nvme_q *q, struct nvme_cqe *out)
{
    hal_paddr_t at = q->cq + (hal_paddr_t)q->cq_head * NVME_CQE_BYTES;
    uint64_t hi = 0, lo = 0;
    if (hal_load(c, at + 8, 8, &hi) != HAL_OK)
        return 0;
    uint32_t dw3 = (uint32_t)(hi >> 32);
    if (((dw3 >> 16) & 1u) != (q->phase ? 1u : 0u))
        return 0;
    if (hal_load(c, at, 8, &lo) != HAL_OK)
        return 0;
    out->dw0 = (uint32_t)lo;
    out->sq_head = (uint16_t)hi;
    out->sqid = (uint16_t)(hi >> 16);
    out->cid = (uint16_t)dw3;
    out->status = (uint16_t)((dw3 >> 17) & 0x7FFu);
    if (++q->cq_head == q->depth) {
        q->cq_head = 0;
        q->phase = !q->phase;
    }
    return 1;
}

void nvme_cq_ring(struct hal_cpu *c, const struct nvme_ctrl *n, const struct nvme_q *q)
{
    (void)hal_mmio_write(c, n->bar + NVME_REG_DB + 8u * q->qid + 4, 4, q->cq_head);
}

/* One admin command, waited for. *status gets its status; dw0 its result. */
static int admin(struct hal_cpu *c, struct nvme_ctrl *n, uint32_t sqe[16], uint16_t *status,
                 uint32_t *dw0)
{
    uint16_t cid = n->next_cid++;
    sqe[0] = (sqe[0] & 0xFFFFu) | (uint32_t)cid << 16;
    int rc = nvme_sq_write(c, &n->admin, sqe);
    if (rc)
        return rc;
    nvme_sq_ring(c, n, &n->admin);
    hal_ns_t until = hal_now(c) + n->admin_timeout;
    struct nvme_cqe e;
    for (;;) {
        while (nvme_cq_pop(c, &n->admin, &e)) {
            nvme_cq_ring(c, n, &n->admin);
            if (e.cid != cid)
                continue; /* a late completion of an earlier, timed-out command */
            *status = e.status;
            if (dw0)
                *dw0 = e.dw0;
            return e.status ? NVME_EDEVICE : 0;
        }
        if (hal_now(c) >= until)
            return NVME_ETIMEDOUT;
        hal_timer_set(c, hal_now(c) + NVME_POLL_NS);
        hal_idle(c);
    }
}

int nvme_ctrl_disable(struct hal_cpu *c, struct nvme_ctrl *n)
{
    (void)hal_mmio_write(c, n->bar + NVME_REG_CC, 4, 0);
    return reg_wait(c, n, 1u, 0u, n->admin_timeout);
}

int nvme_ctrl_init(struct hal_cpu *c, struct nvme_ctrl *n, uint32_t dev, hal_paddr_t mem,
                   uint64_t size, hal_ns_t admin_timeout)
{
    uint64_t bar_size, id = 0, cap = 0;
    n->next_cid = 0;
    n->dev = dev;
    n->mem = mem;
    n->mem_size = size;
    n->admin_timeout = admin_timeout;
    if (hal_dev_bar(c, dev, &n->bar, &bar_size) != HAL_OK)
        return NVME_ENODEV;
    if (hal_mmio_read(c, n->bar + NVME_REG_ID, 8, &id) != HAL_OK ||
        (id & NVME_CLASS_MASK) != (NVME_ID_VALUE & NVME_CLASS_MASK))
        return NVME_ENODEV;
    if (hal_mmio_read(c, n->bar + NVME_REG_CAP, 8, &cap) != HAL_OK)
        return NVME_ENODEV;
    n->mqes = (uint32_t)(cap & 0xFFFFu) + 1;
    int rc;
    if (!n->mapped) { /* a re-init (controller reset) keeps the window */
        if ((rc = hal_dma_map(c, dev, mem, size, true, &n->bus)) != HAL_OK)
            return rc;
        n->mapped = true;
    }
    if ((rc = nvme_ctrl_disable(c, n)) != 0)
        return rc;
    /* admin queues: one page each */
    uint32_t depth = HAL_PAGE_SIZE / NVME_SQE_BYTES;
    if (depth > n->mqes)
        depth = n->mqes;
    n->admin = (struct nvme_q){.qid = 0, .depth = depth, .sq = mem, .cq = mem + HAL_PAGE_SIZE,
                               .phase = true, .vector = 0};
    kzero(c, n->admin.cq, HAL_PAGE_SIZE);
    (void)hal_mmio_write(c, n->bar + NVME_REG_AQA, 4, (depth - 1) | (depth - 1) << 16);
    (void)hal_mmio_write(c, n->bar + NVME_REG_ASQ, 8, nvme_bus(n, n->admin.sq));
    (void)hal_mmio_write(c, n->bar + NVME_REG_ACQ, 8, nvme_bus(n, n->admin.cq));
    (void)hal_mmio_write(c, n->bar + NVME_REG_CC, 4, 1u | 6u << 16 | 4u << 20);
    if ((rc = reg_wait(c, n, 1u, 1u, admin_timeout)) != 0)
        return rc;

    hal_paddr_t idbuf = mem + 2 * HAL_PAGE_SIZE;
    uint16_t st = 0;
    uint32_t sqe[16], dw0 = 0;
    kmemset(sqe, 0, sizeof sqe);
    sqe[0] = NVME_ADM_IDENTIFY;
    sqe[6] = (uint32_t)nvme_bus(n, idbuf);
    sqe[7] = (uint32_t)(nvme_bus(n, idbuf) >> 32);
    sqe[10] = 1; /* CNS 1: the controller */
    if ((rc = admin(c, n, sqe, &st, NULL)) != 0)
        return rc;
    uint64_t w = 0;
    (void)hal_load(c, idbuf + 72, 8, &w); /* bytes 72..79: MDTS is byte 77 */
    unsigned mdts = (unsigned)(w >> 40) & 0xFFu;
    n->max_transfer = mdts ? HAL_PAGE_SIZE << mdts : 1u << 20;
    (void)hal_load(c, idbuf + 520, 8, &w); /* byte 525: VWC */
    n->vwc = ((w >> 40) & 1u) != 0;
    kmemset(sqe, 0, sizeof sqe);
    sqe[0] = NVME_ADM_IDENTIFY;
    sqe[1] = 1; /* NSID */
    sqe[6] = (uint32_t)nvme_bus(n, idbuf);
    sqe[7] = (uint32_t)(nvme_bus(n, idbuf) >> 32);
    sqe[10] = 0; /* CNS 0: the namespace */
    if ((rc = admin(c, n, sqe, &st, NULL)) != 0)
        return rc;
    (void)hal_load(c, idbuf, 8, &n->nblocks);
    kmemset(sqe, 0, sizeof sqe);
    sqe[0] = NVME_ADM_SET_FEATURES;
    sqe[10] = NVME_FEAT_NUM_QUEUES;
    sqe[11] = 0xFFFFu | 0xFFFFu << 16;
    if ((rc = admin(c, n, sqe, &st, &dw0)) != 0)
        return rc;
    n->io_queues = (dw0 & 0xFFFFu) + 1;
    return 0;
}

int nvme_ioq_create(struct hal_cpu *c, struct nvme_ctrl *n, struct nvme_q *q, uint16_t qid,
                    uint32_t depth, hal_paddr_t sq, hal_paddr_t cq, uint32_t vector)
{
    if (depth < 2 || depth > n->mqes || qid == 0 || qid > n->io_queues)
        return HAL_EINVAL;
    *q = (struct nvme_q){.qid = qid, .depth = depth, .sq = sq, .cq = cq, .phase = true,
                         .vector = vector};
    kzero(c, cq, (uint64_t)depth * NVME_CQE_BYTES);
    uint16_t st = 0;
    uint32_t sqe[16];
    kmemset(sqe, 0, sizeof sqe);
    sqe[0] = NVME_ADM_CREATE_CQ;
    sqe[6] = (uint32_t)nvme_bus(n, cq);
    sqe[7] = (uint32_t)(nvme_bus(n, cq) >> 32);
    sqe[10] = qid | (depth - 1) << 16;
    sqe[11] = 1u | 2u | vector << 16; /* contiguous, interrupts on, IV */
    int rc = admin(c, n, sqe, &st, NULL);
    if (rc)
        return rc;
    kmemset(sqe, 0, sizeof sqe);
    sqe[0] = NVME_ADM_CREATE_SQ;
    sqe[6] = (uint32_t)nvme_bus(n, sq);
    sqe[7] = (uint32_t)(nvme_bus(n, sq) >> 32);
    sqe[10] = qid | (depth - 1) << 16;
    sqe[11] = 1u | (uint32_t)qid << 16; /* contiguous, CQ qid */
    return admin(c, n, sqe, &st, NULL);
}
