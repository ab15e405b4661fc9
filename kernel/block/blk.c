/* The block layer: one request queue per NVMe I/O queue pair, used by one
 * CPU (include/kernel/blk.h, docs/storage.md).
 *
 * A request is submitted into the queue's staging list (a plug) and
 * dispatched by blk_dispatch, which turns the list, in order, into NVMe
 * commands, each on a tag (the command identifier is the tag):
 *
 *   - adjacent requests merge: a READ (or a WRITE with the same FUA)
 *     whose first block follows the previous one's last becomes part of
 *     the same command, up to the device's transfer size; the command's
 *     PRPs list every request's pages (a PRP list in the tag's page when
 *     there are more than two);
 *   - FLUSH ordering: a FLUSH is issued only once every WRITE dispatched
 *     before it has completed (so it covers them), and nothing behind it
 *     in the list is dispatched before it.
 *
 * Completions (blk_poll) finish every request of the command with its
 * status. A command past its deadline (io_timeout) is issued again on a
 * fresh slot of the SQ up to max_retries times, then its requests fail
 * with BLK_ETIMEDOUT; a late completion for an abandoned tag is dropped
 * (the tag is kept out of use until it comes, so it can never be taken
 * for a newer command's).
 *
 * Invariants (blk_queue_check):
 *   1. nFree + tags in use == tags; a free tag has no requests;
 *   2. writes_inflight == WRITE commands in flight;
 *   3. a FLUSH is dispatched only with writes_inflight == 0. */
#include "kernel/blk.h"
#include "kernel/kstring.h"

void blk_queue_init(struct blk_queue *bq, struct nvme_ctrl *n, const struct nvme_q *q,
                    hal_paddr_t prp, hal_ns_t io_timeout, unsigned max_retries, bool merge,
                    blk_done_fn *done, void *ctx)
{
    struct nvme_q qq = *q;
    kmemset(bq, 0, sizeof *bq);
    bq->n = n;
    bq->q = qq;
    bq->tags = qq.depth - 1 < BLK_MAX_TAGS ? qq.depth - 1 : BLK_MAX_TAGS;
    bq->prp = prp;
    for (unsigned i = 0; i < bq->tags; i++)
        bq->aFree[i] = (uint16_t)(bq->tags - 1 - i);
    bq->nFree = bq->tags;
    bq->io_timeout = io_timeout;
    bq->max_retries = max_retries;
    bq->merge = merge;
    bq->done = done;
    bq->ctx = ctx;
}

void blk_submit(struct blk_queue *bq, struct blk_rq *rq)
{
    rq->next = 0;
    if (bq->stage_tail)
        bq->stage_tail->next = rq;
    else
        bq->stage = rq;
    bq->stage_tail = rq;
}

unsigned blk_inflight(const struct blk_queue *bq) { return bq->tags - bq->nFree; }

/* Write the command of tag t (its chain of requests) into the SQ. */
static int issue(struct hal_cpu *c, struct blk_queue *bq, unsigned t)
{
    struct blk_tag *g = &bq->aTag[t];
    struct blk_rq *r = g->first;
    const struct nvme_ctrl *n = bq->n;
    uint32_t sqe[16];
    kmemset(sqe, 0, sizeof sqe);
    sqe[0] = (uint32_t)t << 16;
    sqe[1] = 1; /* NSID */
    if (r->op == BLK_FLUSH) {
        sqe[0] |= NVME_IO_FLUSH;
    } else {
        unsigned nblk = 0, k = 0;
        for (struct blk_rq *x = r; x; x = x->next)
            nblk += x->nblk;
        sqe[0] |= r->op == BLK_READ ? NVME_IO_READ : NVME_IO_WRITE;
        sqe[10] = (uint32_t)r->lba;
        sqe[11] = (uint32_t)(r->lba >> 32);
        sqe[12] = (nblk - 1) | (r->fua ? NVME_RW_FUA : 0);
        uint64_t prp1 = nvme_bus(n, r->buf), prp2 = 0;
        if (nblk == 2) {
            prp2 = r->nblk >= 2 ? prp1 + HAL_PAGE_SIZE : nvme_bus(n, r->next->buf);
        } else if (nblk > 2) {
            /* the list: every page after the first */
            hal_paddr_t list = bq->prp + (hal_paddr_t)t * HAL_PAGE_SIZE;
            for (struct blk_rq *x = r; x; x = x->next)
                for (unsigned i = 0; i < x->nblk; i++, k++)
                    if (k > 0 && hal_store(c, list + 8 * (k - 1), 8,
                                           nvme_bus(n, x->buf) + (uint64_t)i * HAL_PAGE_SIZE) !=
                                     HAL_OK)
                        return HAL_EFAULT;
            prp2 = nvme_bus(n, list);
        }
        sqe[6] = (uint32_t)prp1;
        sqe[7] = (uint32_t)(prp1 >> 32);
        sqe[8] = (uint32_t)prp2;
        sqe[9] = (uint32_t)(prp2 >> 32);
    }
    g->deadline = hal_now(c) + bq->io_timeout;
    bq->nCmds++;
    return nvme_sq_write(c, &bq->q, sqe);
}

unsigned blk_dispatch(struct hal_cpu *c, struct blk_queue *bq)
{
    unsigned issued = 0;
    uint32_t maxblk = bq->n->max_transfer / HAL_PAGE_SIZE;
    while (bq->stage && bq->nFree) {
        struct blk_rq *r = bq->stage;
        if (r->op == BLK_FLUSH && bq->writes_inflight)
            break; /* ordering: after the writes before it */
        /* take r and whatever merges with it */
        struct blk_rq *last = r;
        unsigned nblk = r->nblk;
        while (bq->merge && r->op != BLK_FLUSH && last->next && last->next->op == r->op &&
               last->next->fua == r->fua && last->next->lba == last->lba + last->nblk &&
               nblk + last->next->nblk <= maxblk &&
               (nblk + last->next->nblk - 1) * 8u <= HAL_PAGE_SIZE) {
            last = last->next;
            nblk += last->nblk;
            bq->nMerged++;
        }
        bq->stage = last->next;
        if (!bq->stage)
            bq->stage_tail = 0;
        last->next = 0;
        unsigned t = bq->aFree[--bq->nFree];
        bq->aTag[t] = (struct blk_tag){.first = r, .used = true};
        if (r->op == BLK_WRITE)
            bq->writes_inflight++;
        if (issue(c, bq, t) != 0) {
            hal_panic(c, "blk: cannot write an SQE into kernel memory");
        }
        issued++;
    }
    if (issued)
        nvme_sq_ring(c, bq->n, &bq->q);
    return issued;
}

static void finish(struct blk_queue *bq, unsigned t, uint8_t status, uint16_t nst)
{
    struct blk_tag *g = &bq->aTag[t];
    struct blk_rq *r = g->first;
    if (r->op == BLK_WRITE)
        bq->writes_inflight--;
    if (status)
        bq->nErrors++;
    g->first = 0;
    g->used = false;
    bq->aFree[bq->nFree++] = (uint16_t)t;
    while (r) {
        struct blk_rq *nx = r->next;
        r->next = 0;
        r->status = status;
        r->nvme_status = nst;
        bq->done(bq->ctx, r);
        r = nx;
    }
}

unsigned blk_poll(struct hal_cpu *c, struct blk_queue *bq)
{
    unsigned n = 0, got = 0;
    struct nvme_cqe e;
    while (nvme_cq_pop(c, &bq->q, &e)) {
        got++;
        if (e.cid >= bq->tags || !bq->aTag[e.cid].used || !bq->aTag[e.cid].first)
            continue; /* abandoned (timed out and failed), or not ours */
        for (struct blk_rq *r = bq->aTag[e.cid].first; r; r = r->next)
            n++;
        finish(bq, e.cid, e.status ? BLK_EIO : BLK_OK, e.status);
    }
    if (got)
        nvme_cq_ring(c, bq->n, &bq->q);
    return n;
}

hal_ns_t blk_next_deadline(const struct blk_queue *bq)
{
    hal_ns_t d = 0;
    for (unsigned t = 0; t < bq->tags; t++)
        if (bq->aTag[t].used && bq->aTag[t].first && (!d || bq->aTag[t].deadline < d))
            d = bq->aTag[t].deadline;
    return d;
}

unsigned blk_timeouts(struct hal_cpu *c, struct blk_queue *bq)
{
    hal_ns_t now = hal_now(c);
    unsigned n = 0, reissued = 0;
    for (unsigned t = 0; t < bq->tags; t++) {
        struct blk_tag *g = &bq->aTag[t];
        if (!g->used || !g->first || g->deadline > now)
            continue;
        n++;
        bq->nTimeouts++;
        if (g->retries < bq->max_retries) {
            g->retries++;
            bq->nRetries++;
            if (issue(c, bq, t) != 0)
                hal_panic(c, "blk: cannot write an SQE into kernel memory");
            reissued++;
        } else {
            finish(bq, t, BLK_ETIMEDOUT, 0);
        }
    }
    if (reissued)
        nvme_sq_ring(c, bq->n, &bq->q);
    return n;
}

unsigned blk_requeue(struct hal_cpu *c, struct blk_queue *bq)
{
    unsigned n = 0;
    for (unsigned t = 0; t < bq->tags; t++) {
        struct blk_tag *g = &bq->aTag[t];
        if (!g->used || !g->first)
            continue;
        if (g->retries >= bq->max_retries) {
            finish(bq, t, BLK_ETIMEDOUT, 0);
            continue;
        }
        g->retries++;
        bq->nRetries++;
        if (issue(c, bq, t) != 0)
            hal_panic(c, "blk: cannot write an SQE into kernel memory");
        n++;
    }
    if (n)
        nvme_sq_ring(c, bq->n, &bq->q);
    return n;
}

int blk_queue_check(const struct blk_queue *bq)
{
    unsigned used = 0, writes = 0;
    for (unsigned t = 0; t < bq->tags; t++) {
        if (bq->aTag[t].used) {
            used++;
            if (bq->aTag[t].first && bq->aTag[t].first->op == BLK_WRITE)
                writes++;
        } else if (bq->aTag[t].first) {
            return __LINE__;
        }
    }
    if (used + bq->nFree != bq->tags)
        return __LINE__;
    if (writes != bq->writes_inflight)
        return __LINE__;
    return 0;
}
