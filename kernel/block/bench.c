/* blk_bench: a fio-like block workload on the NVMe driver and the block
 * layer (include/kernel/blk.h, docs/storage.md).
 *
 * CPU 0 brings the controller up and creates one I/O queue pair per job
 * (job j on kernel CPU j, queue j + 1, interrupt vector j + 1 routed to
 * that CPU); the jobs then start together (a barrier in kernel memory) and
 * each keeps `qd` requests in flight until it has completed `ios`:
 * random or sequential, a read/write mix, a FLUSH after every
 * `flush_every` writes, writes with FUA if asked. A job waits for
 * completions with interrupts (hal_idle until its vector), and checks its
 * commands' deadlines on the way.
 *
 * Verify mode: every block written carries (lba, generation) at its start
 * and (generation ^ lba) at its end; a job never has two requests on one
 * block in flight, so a read must return exactly the newest generation
 * acknowledged (or, where the device may have lost unflushed writes, one
 * between the newest flushed and the newest acknowledged). Jobs verify
 * disjoint block ranges (block b belongs to job b mod jobs).
 *
 * Memory (cfg.region): the controller's admin pages, a page of shared
 * words (barrier, totals), then per job its SQ, CQ, a PRP-list page per
 * tag and qd buffers of bs bytes.
 *
 * Reports (report.blk.*): on every job CPU ios, bytes, elapsed_ns,
 * lat_ns (mean), errors, verify_errors, merged, timeouts; on CPU 0 the
 * totals iops and bytes_per_s over the longest job. */
#include "kernel/blk.h"
#include "kernel/kstring.h"

#define MAGIC 0x4F52524552594E56ull /* tags a verify block */
enum { W_BARRIER = 0, W_DONE = 8, W_IOS = 16, W_BYTES = 24, W_END = 32, W_READY = 40,
       W_START = 48, W_FAIL = 56 };

static uint64_t align_up(uint64_t v) { return (v + HAL_PAGE_SIZE - 1) & ~(uint64_t)(HAL_PAGE_SIZE - 1); }

static uint64_t job_bytes(const struct blk_bench_cfg *cfg)
{
    uint64_t depth = cfg->qd + 1;
    return align_up(depth * NVME_SQE_BYTES) + align_up(depth * NVME_CQE_BYTES) +
           depth * HAL_PAGE_SIZE + (uint64_t)cfg->qd * cfg->bs;
}

uint64_t blk_bench_bytes(const struct blk_bench_cfg *cfg)
{
    return NVME_CTRL_BYTES + HAL_PAGE_SIZE + (uint64_t)cfg->jobs * job_bytes(cfg);
}

struct job {
    struct hal_cpu *c;
    const struct blk_bench_cfg *cfg;
    struct blk_bench_state *st;
    uint64_t rng, next_lba, issued, completed, bytes, lat_sum, errors, verify_errors;
    uint64_t writes_since_flush;
    uint64_t blocks;          /* the working set */
    unsigned inflight, id;
    uint32_t gen;
    hal_paddr_t buf0;
    hal_ns_t *aT0;            /* per request: when submitted */
    uint64_t *aFlushAt;       /* per request (a FLUSH): the log's length at submission */
    unsigned *aFreeRq, nFreeRq; /* request slots not in flight */
    uint64_t log_done;        /* log entries already made durable (or never to be) */
    uint64_t target;          /* requests to complete: ios, then the read-back */
    uint64_t rb_next;         /* read-back: the next block */
    uint64_t recoveries;
    hal_ns_t recovery_ns;     /* the last one: deadline passed to queue back up */
    bool lossy;               /* the device lost commands (a reset): unflushed writes may be gone */
    int fail_line;
};

static uint64_t rnd(struct job *j)
{
    /* xorshift64*: a job's own stream, from the seed and its CPU */
    j->rng ^= j->rng >> 12;
    j->rng ^= j->rng << 25;
    j->rng ^= j->rng >> 27;
    return j->rng * 0x2545F4914F6CDD1Dull;
}

static bool mine(const struct job *j, uint64_t b)
{
    return !j->cfg->verify || b % j->cfg->jobs == j->id;
}

/* Is [lba, lba + n) free of requests in flight (verify)? */
static bool range_free(const struct job *j, uint64_t lba, unsigned n)
{
    if (!j->cfg->verify)
        return true;
    for (unsigned i = 0; i < n; i++)
        if (j->st->aBusy[lba + i] || !mine(j, lba + i))
            return false;
    return true;
}

static int check_block(struct job *j, hal_paddr_t at, uint64_t lba)
{
    uint64_t w0 = 0, w1 = 0, w2 = 0;
    (void)hal_load(j->c, at, 8, &w0);
    (void)hal_load(j->c, at + 8, 8, &w1);
    (void)hal_load(j->c, at + NVME_LBA_BYTES - 8, 8, &w2);
    uint32_t newest = j->st->aGen[lba], durable = j->st->aDurable[lba];
    /* nothing lost yet: exactly the newest acknowledged; after a loss,
     * anything from the newest durable to the newest acknowledged */
    uint32_t lo = j->lossy ? durable : newest;
    if (w0 == 0 && w1 == 0 && w2 == 0)
        return lo == 0 ? 0 : __LINE__; /* never written (or lost while unflushed) */
    if (w0 != (lba ^ MAGIC) || w2 != (w1 ^ lba))
        return __LINE__; /* not this block's, or torn */
    if (w1 < lo || w1 > newest)
        return __LINE__;
    return 0;
}

static void on_done(void *ctx, struct blk_rq *rq)
{
    struct job *j = ctx;
    const struct blk_bench_cfg *cfg = j->cfg;
    struct blk_bench_state *st = j->st;
    j->inflight--;
    j->completed++;
    j->aFreeRq[j->nFreeRq++] = rq->id;
    j->lat_sum += hal_now(j->c) - j->aT0[rq->id];
    if (rq->status) {
        j->errors++;
        if (!j->fail_line)
            j->fail_line = __LINE__;
    } else if (rq->op != BLK_FLUSH) {
        j->bytes += (uint64_t)rq->nblk * NVME_LBA_BYTES;
    }
    if (!cfg->verify)
        return;
    if (rq->op == BLK_FLUSH) {
        /* every write submitted before it is durable now: the block layer
         * issues a FLUSH only after the writes before it have completed */
        for (uint64_t k = j->log_done; !rq->status && k < j->aFlushAt[rq->id]; k++) {
            uint32_t b = (uint32_t)(st->aLog[k] >> 32), g = (uint32_t)st->aLog[k];
            if (g > st->aDurable[b])
                st->aDurable[b] = g;
        }
        if (!rq->status && j->aFlushAt[rq->id] > j->log_done)
            j->log_done = j->aFlushAt[rq->id];
        return;
    }
    for (unsigned i = 0; i < rq->nblk; i++) {
        uint64_t b = rq->lba + i;
        hal_paddr_t at = rq->buf + (hal_paddr_t)i * NVME_LBA_BYTES;
        st->aBusy[b] = 0;
        if (rq->status)
            continue;
        if (rq->op == BLK_WRITE) {
            uint64_t g = 0;
            (void)hal_load(j->c, at + 8, 8, &g);
            st->aGen[b] = (uint32_t)g;
            if (rq->fua && (uint32_t)g > st->aDurable[b])
                st->aDurable[b] = (uint32_t)g;
        } else if (check_block(j, at, b)) {
            if (!j->verify_errors) { /* the first mismatch, for the failure message */
                uint64_t g = 0;
                (void)hal_load(j->c, at + 8, 8, &g);
                hal_report(j->c, "blk.verify_lba", b);
                hal_report(j->c, "blk.verify_got", g);
                hal_report(j->c, "blk.verify_durable", st->aDurable[b]);
                hal_report(j->c, "blk.verify_newest", st->aGen[b]);
            }
            j->verify_errors++;
            if (!j->fail_line)
                j->fail_line = __LINE__;
        }
    }
}

static void make_rq(struct job *j, struct blk_rq *rq, unsigned slot)
{
    const struct blk_bench_cfg *cfg = j->cfg;
    unsigned nblk = cfg->bs / NVME_LBA_BYTES;
    rq->id = slot;
    rq->buf = j->buf0 + (hal_paddr_t)slot * cfg->bs;
    rq->nblk = (uint16_t)nblk;
    rq->fua = false;
    if (j->issued >= cfg->ios) { /* the read-back: every block of ours, one at a time */
        while (!mine(j, j->rb_next))
            j->rb_next++;
        rq->op = BLK_READ;
        rq->nblk = 1;
        rq->lba = j->rb_next++;
        j->st->aBusy[rq->lba] = 1;
        return;
    }
    if (cfg->flush_every && j->writes_since_flush >= cfg->flush_every) {
        j->writes_since_flush = 0;
        rq->op = BLK_FLUSH;
        rq->lba = 0;
        rq->nblk = 0;
        return;
    }
    bool read = (unsigned)(rnd(j) % 100) < cfg->read_pct;
    uint64_t span = j->blocks / nblk, lba;
    for (unsigned tries = 0;; tries++) {
        if (cfg->sequential) {
            lba = j->next_lba;
            j->next_lba = (j->next_lba + nblk) % (span * nblk);
        } else {
            lba = (rnd(j) % span) * nblk;
        }
        if (range_free(j, lba, nblk) || tries > 64)
            break;
    }
    if (!range_free(j, lba, nblk)) { /* nothing free of ours nearby: a flush instead */
        rq->op = BLK_FLUSH;
        rq->lba = 0;
        rq->nblk = 0;
        return;
    }
    rq->lba = lba;
    rq->op = read ? BLK_READ : BLK_WRITE;
    if (!read) {
        rq->fua = cfg->fua;
        j->writes_since_flush++;
        if (cfg->verify) {
            for (unsigned i = 0; i < nblk; i++) {
                hal_paddr_t at = rq->buf + (hal_paddr_t)i * NVME_LBA_BYTES;
                uint32_t g = ++j->gen;
                (void)hal_store(j->c, at, 8, (lba + i) ^ MAGIC);
                (void)hal_store(j->c, at + 8, 8, g);
                (void)hal_store(j->c, at + NVME_LBA_BYTES - 8, 8, (uint64_t)g ^ (lba + i));
                if (j->st->nLog < j->st->capLog)
                    j->st->aLog[j->st->nLog++] = (lba + i) << 32 | g;
            }
        }
    }
    if (cfg->verify)
        for (unsigned i = 0; i < nblk; i++)
            j->st->aBusy[lba + i] = 1;
}

static void wait_shared(struct hal_cpu *c, hal_paddr_t at, uint64_t want)
{
    uint64_t v = 0;
    while (hal_load(c, at, 8, &v) == HAL_OK && v < want) {
        hal_timer_set(c, hal_now(c) + 2000);
        hal_idle(c);
    }
}

/* A command's deadline passed with one job: the controller is presumed
 * lost (a power loss, a hang). Reset it, bring it and the job's queue
 * pair back, and issue every command in flight again (the block layer
 * counts the retries). Writes acknowledged before now and not yet covered
 * by a completed FLUSH may be gone: from here reads are held to the
 * durable generation, and no FLUSH submitted before now covers them. */
static int recover(struct job *j, struct nvme_ctrl *ctrl, hal_paddr_t sq, hal_paddr_t cq)
{
    struct hal_cpu *c = j->c;
    const struct blk_bench_cfg *cfg = j->cfg;
    struct blk_queue *bq = &j->st->bq;
    hal_ns_t t0 = hal_now(c);
    j->recoveries++;
    j->lossy = true;
    j->log_done = j->st->nLog;
    for (unsigned attempt = 0; attempt <= cfg->retries; attempt++) {
        int rc = nvme_ctrl_init(c, ctrl, cfg->dev, cfg->region, cfg->region_size,
                                cfg->admin_timeout);
        if (rc == 0)
            rc = nvme_ioq_create(c, ctrl, &bq->q, 1, cfg->qd + 1, sq, cq, 1);
        if (rc == 0) {
            blk_requeue(c, bq);
            j->recovery_ns = hal_now(c) - t0;
            return 0;
        }
        hal_ns_t until = hal_now(c) + 1000000; /* the device may still be unpowered */
        while (hal_now(c) < until) {
            hal_timer_set(c, until);
            hal_idle(c);
        }
    }
    return __LINE__;
}

int blk_bench(struct hal_cpu *c, const struct blk_bench_cfg *cfg, struct nvme_ctrl *ctrl,
              struct blk_bench_state *st, struct blk_bench_state *const *all)
{
    unsigned me = hal_cpu_id(c);
    if (me >= cfg->jobs)
        return 0;
    hal_paddr_t words = cfg->region + NVME_CTRL_BYTES;
    hal_paddr_t jobmem = words + HAL_PAGE_SIZE + (hal_paddr_t)me * job_bytes(cfg);
    uint64_t depth = cfg->qd + 1;
    hal_paddr_t cq = jobmem + align_up(depth * NVME_SQE_BYTES),
                prp = cq + align_up(depth * NVME_CQE_BYTES), bufs = prp + depth * HAL_PAGE_SIZE;

    if (me == 0) {
        for (uint64_t i = 0; i < HAL_PAGE_SIZE; i += 8)
            (void)hal_store(c, words + i, 8, 0);
        int rc = nvme_ctrl_init(c, ctrl, cfg->dev, cfg->region, cfg->region_size,
                                cfg->admin_timeout);
        if (rc) {
            hal_report(c, "blk.init_error", (uint64_t)(-rc));
            (void)hal_store(c, words + W_FAIL, 8, 1);
            (void)hal_store(c, words + W_READY, 8, 1);
            return __LINE__;
        }
        for (unsigned j = 0; j < cfg->jobs; j++) {
            hal_paddr_t jm = words + HAL_PAGE_SIZE + (hal_paddr_t)j * job_bytes(cfg);
            hal_paddr_t jcq = jm + align_up(depth * NVME_SQE_BYTES);
            rc = nvme_ioq_create(c, ctrl, &all[j]->bq.q, (uint16_t)(j + 1), (uint32_t)depth, jm,
                                 jcq, j + 1);
            if (rc) {
                hal_report(c, "blk.init_error", (uint64_t)(-rc));
                (void)hal_store(c, words + W_FAIL, 8, 1);
                (void)hal_store(c, words + W_READY, 8, 1);
                return __LINE__;
            }
        }
        (void)hal_store(c, words + W_READY, 8, 1);
    } else {
        wait_shared(c, words + W_READY, 1);
    }
    uint64_t failed = 0;
    (void)hal_load(c, words + W_FAIL, 8, &failed);
    if (failed)
        return me == 0 ? __LINE__ : 0;

    struct job j;
    kmemset(&j, 0, sizeof j);
    hal_ns_t aT0[BLK_MAX_TAGS];
    j.c = c;
    j.cfg = cfg;
    j.st = st;
    j.id = me;
    j.aT0 = aT0;
    j.buf0 = bufs;
    j.rng = (cfg->seed + 1) * 0x9E3779B97F4A7C15ull ^ (me + 1) * 0xD1B54A32D192ED03ull;
    j.blocks = cfg->blocks ? cfg->blocks : ctrl->nblocks;
    if (j.blocks > ctrl->nblocks)
        j.blocks = ctrl->nblocks;
    j.next_lba = cfg->sequential ? ((j.blocks / cfg->jobs) * me) / (cfg->bs / NVME_LBA_BYTES) *
                                       (cfg->bs / NVME_LBA_BYTES)
                                 : 0;
    j.gen = 0;
    blk_queue_init(&st->bq, ctrl, &st->bq.q, prp, cfg->io_timeout, cfg->retries, cfg->merge,
                   on_done, &j);
    (void)hal_irq_route(c, st->bq.q.vector, me, false);

    /* start together */
    (void)hal_atomic(c, HAL_ATOMIC_FAA, words + W_BARRIER, 8, 1, 0, 0);
    wait_shared(c, words + W_BARRIER, cfg->jobs);
    hal_ns_t t0 = hal_now(c);
    if (me == 0)
        (void)hal_store(c, words + W_START, 8, t0);

    unsigned aFreeRq[BLK_MAX_TAGS];
    uint64_t aFlushAt[BLK_MAX_TAGS];
    j.aFreeRq = aFreeRq;
    j.aFlushAt = aFlushAt;
    for (unsigned i = 0; i < cfg->qd; i++)
        aFreeRq[j.nFreeRq++] = cfg->qd - 1 - i;
    j.target = cfg->ios;
    if (cfg->verify && cfg->readback)
        for (uint64_t b = 0; b < j.blocks; b++)
            j.target += mine(&j, b);
    while (j.completed < j.target && !j.fail_line) {
        while (j.inflight < cfg->qd && j.issued < j.target && j.nFreeRq) {
            if (j.issued == cfg->ios && j.inflight)
                break; /* the read-back starts once the run's requests are all back */
            unsigned slot = aFreeRq[--j.nFreeRq];
            struct blk_rq *rq = &st->aRq[slot];
            make_rq(&j, rq, slot);
            if (rq->op == BLK_FLUSH)
                aFlushAt[slot] = st->nLog;
            aT0[slot] = hal_now(c);
            blk_submit(&st->bq, rq);
            j.inflight++;
            j.issued++;
        }
        blk_dispatch(c, &st->bq);
        if (blk_poll(c, &st->bq))
            continue;
        hal_ns_t dl = blk_next_deadline(&st->bq);
        if (dl && hal_now(c) >= dl) {
            if (cfg->jobs == 1) {
                int rc = recover(&j, ctrl, jobmem, cq);
                if (rc && !j.fail_line)
                    j.fail_line = rc;
            } else {
                blk_timeouts(c, &st->bq);
            }
            continue;
        }
        if (dl)
            hal_timer_set(c, dl);
        hal_idle(c);
    }
    hal_ns_t t1 = hal_now(c);
    int chk = blk_queue_check(&st->bq);
    hal_report(c, "blk.ios", j.completed);
    hal_report(c, "blk.bytes", j.bytes);
    hal_report(c, "blk.elapsed_ns", t1 - t0);
    hal_report(c, "blk.lat_ns", j.completed ? j.lat_sum / j.completed : 0);
    hal_report(c, "blk.errors", j.errors);
    hal_report(c, "blk.verify_errors", j.verify_errors);
    hal_report(c, "blk.merged", st->bq.nMerged);
    hal_report(c, "blk.commands", st->bq.nCmds);
    hal_report(c, "blk.timeouts", st->bq.nTimeouts);
    hal_report(c, "blk.retries", st->bq.nRetries);
    hal_report(c, "blk.recoveries", j.recoveries);
    hal_report(c, "blk.recovery_ns", j.recovery_ns);
    (void)hal_atomic(c, HAL_ATOMIC_FAA, words + W_IOS, 8, j.completed, 0, 0);
    (void)hal_atomic(c, HAL_ATOMIC_FAA, words + W_BYTES, 8, j.bytes, 0, 0);
    for (;;) { /* the latest end */
        uint64_t old = 0;
        (void)hal_load(c, words + W_END, 8, &old);
        if (old >= t1 || hal_atomic(c, HAL_ATOMIC_CAS, words + W_END, 8, t1, old, &old) != HAL_OK ||
            old >= t1)
            break;
        uint64_t now = 0;
        (void)hal_load(c, words + W_END, 8, &now);
        if (now >= t1)
            break;
    }
    (void)hal_atomic(c, HAL_ATOMIC_FAA, words + W_DONE, 8, 1, 0, 0);
    if (me == 0) {
        wait_shared(c, words + W_DONE, cfg->jobs);
        uint64_t ios = 0, bytes = 0, end = 0;
        (void)hal_load(c, words + W_IOS, 8, &ios);
        (void)hal_load(c, words + W_BYTES, 8, &bytes);
        (void)hal_load(c, words + W_END, 8, &end);
        uint64_t el = end > t0 ? end - t0 : 1;
        hal_report(c, "blk.total_ios", ios);
        hal_report(c, "blk.iops", ios * 1000000000ull / el);
        hal_report(c, "blk.bytes_per_s", bytes * 1000000000ull / el);
    }
    if (j.fail_line)
        return j.fail_line;
    return chk;
}
