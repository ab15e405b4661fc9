/* Storage in the reference kernel: the NVMe driver (kernel/drivers/nvme.c),
 * the block layer above it (kernel/block/blk.c) and a fio-like block
 * workload (kernel/block/bench.c). docs/storage.md explains all three.
 *
 * The driver talks to the device through the HAL only (MMIO, DMA map,
 * interrupts); its queues live in kernel memory, written and read with the
 * HAL accessors so the device's DMA and the CPU's caches stay coherent and
 * cost what they cost. One controller is brought up by one CPU (admin
 * commands are synchronous, polled with a timeout); each I/O queue pair
 * belongs to one CPU, which alone submits on it and reaps it.
 *
 * Freestanding: hal.h and the C headers only. */
#ifndef KERNEL_BLK_H
#define KERNEL_BLK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/dev/nvme.h"
#include "kernel/hal.h"

/* ------------------------------------------------------------ the driver */

struct nvme_q {
    uint16_t qid;
    uint32_t depth;         /* entries of the SQ and of the CQ */
    hal_paddr_t sq, cq;     /* physical */
    uint32_t sq_tail, cq_head;
    bool phase;             /* the phase a new CQE carries */
    uint32_t vector;        /* interrupt vector (CQ IV) */
};

struct nvme_cqe {
    uint32_t dw0;
    uint16_t sq_head, sqid, cid;
    uint16_t status; /* SC 7:0, SCT 10:8 (0: success) */
};

struct nvme_ctrl {
    uint32_t dev;
    hal_paddr_t bar;
    hal_paddr_t mem;        /* the DMA window: everything the device may touch */
    uint64_t mem_size;
    uint64_t bus;           /* its bus address (hal_dma_map) */
    uint32_t mqes;          /* max queue entries */
    uint64_t nblocks;       /* namespace 1, 4 KiB blocks */
    uint32_t max_transfer;  /* bytes */
    uint32_t io_queues;     /* granted by Set Features */
    bool vwc;               /* a volatile write cache */
    hal_ns_t admin_timeout;
    struct nvme_q admin;
    uint16_t next_cid;
    bool mapped;            /* the window is mapped (a re-init keeps the mapping) */
};

/* Bytes of the window nvme_ctrl_init uses for itself (admin SQ and CQ,
 * an identify buffer), from mem up. */
#define NVME_CTRL_BYTES (3u * HAL_PAGE_SIZE)

enum nvme_drv_err {
    NVME_ENODEV = -40,   /* no NVMe device there */
    NVME_ETIMEDOUT = -41, /* CSTS.RDY or an admin completion did not come in time */
    NVME_EDEVICE = -42,  /* an admin command failed (its status is in *status) */
    NVME_EFULL = -43,    /* the SQ has no free entry */
};

static inline uint64_t nvme_bus(const struct nvme_ctrl *n, hal_paddr_t pa)
{
    return n->bus + (pa - n->mem);
}

/* Reset the controller, set up the admin queues at mem, enable it, read
 * Identify and ask for queues. mem/size: the DMA window (mapped here,
 * writable). admin_timeout also bounds CSTS.RDY. 0 or a negative code. */
int nvme_ctrl_init(struct hal_cpu *c, struct nvme_ctrl *n, uint32_t dev, hal_paddr_t mem,
                   uint64_t size, hal_ns_t admin_timeout);
/* Create I/O queue pair qid (CQ then SQ) of depth entries at sq/cq
 * (page-aligned, inside the window), its CQ raising `vector`. */
int nvme_ioq_create(struct hal_cpu *c, struct nvme_ctrl *n, struct nvme_q *q, uint16_t qid,
                    uint32_t depth, hal_paddr_t sq, hal_paddr_t cq, uint32_t vector);
/* Write a 64-byte SQE at the tail (no doorbell): 0 or NVME_EFULL when
 * `inflight` commands already fill it. */
int nvme_sq_write(struct hal_cpu *c, struct nvme_q *q, const uint32_t sqe[16]);
/* Ring the SQ tail doorbell (once for a batch of writes). */
void nvme_sq_ring(struct hal_cpu *c, const struct nvme_ctrl *n, const struct nvme_q *q);
/* Take the CQE at the head if the device has posted it: 1, or 0. */
int nvme_cq_pop(struct hal_cpu *c, struct nvme_q *q, struct nvme_cqe *out);
/* Tell the device how far the CQ has been consumed. */
void nvme_cq_ring(struct hal_cpu *c, const struct nvme_ctrl *n, const struct nvme_q *q);
/* Controller reset: CC.EN = 0 and wait for CSTS.RDY = 0. */
int nvme_ctrl_disable(struct hal_cpu *c, struct nvme_ctrl *n);

/* ------------------------------------------------------- the block layer */

enum blk_op { BLK_READ = 1, BLK_WRITE = 2, BLK_FLUSH = 3 };
enum blk_status { BLK_OK = 0, BLK_EIO = 1, BLK_ETIMEDOUT = 2 };

/* A request, owned by its submitter until its completion callback. */
struct blk_rq {
    uint8_t op;         /* enum blk_op */
    bool fua;
    uint16_t nblk;      /* 4 KiB blocks */
    uint64_t lba;
    hal_paddr_t buf;    /* page-aligned, nblk pages, inside the DMA window */
    uint32_t id;        /* the submitter's */
    uint8_t status;     /* enum blk_status, set at completion */
    uint16_t nvme_status;
    struct blk_rq *next; /* the block layer's while it holds the request */
};

#define BLK_MAX_TAGS 1024u
struct blk_tag {
    struct blk_rq *first; /* the requests merged into this command, chained */
    hal_ns_t deadline;
    uint8_t retries;
    bool used;
};

typedef void blk_done_fn(void *ctx, struct blk_rq *rq);

/* One request queue on one NVMe I/O queue pair, used by one CPU. */
struct blk_queue {
    struct nvme_ctrl *n;
    struct nvme_q q;
    unsigned tags;           /* commands in flight at most (q.depth - 1) */
    hal_paddr_t prp;         /* a PRP-list page per tag */
    struct blk_tag aTag[BLK_MAX_TAGS];
    uint16_t aFree[BLK_MAX_TAGS];
    unsigned nFree;
    struct blk_rq *stage, *stage_tail; /* submitted, not yet dispatched (FIFO) */
    unsigned writes_inflight;
    bool merge;
    hal_ns_t io_timeout;
    unsigned max_retries;
    blk_done_fn *done;
    void *ctx;
    uint64_t nCmds, nMerged, nTimeouts, nErrors, nRetries;
};

/* Set up q on an I/O queue pair already created; prp: tags pages. */
void blk_queue_init(struct blk_queue *bq, struct nvme_ctrl *n, const struct nvme_q *q,
                    hal_paddr_t prp, hal_ns_t io_timeout, unsigned max_retries, bool merge,
                    blk_done_fn *done, void *ctx);
/* Queue rq (not dispatched until blk_dispatch: a plug). */
void blk_submit(struct blk_queue *bq, struct blk_rq *rq);
/* Issue what the queue may: adjacent READs (or WRITEs) merged into one
 * command up to the device's transfer size; a FLUSH waits until every
 * WRITE dispatched before it has completed, and nothing behind it goes
 * first. Rings the doorbell once. Returns commands issued. */
unsigned blk_dispatch(struct hal_cpu *c, struct blk_queue *bq);
/* Reap completions, calling done for each request; rings the CQ head
 * doorbell once. Returns requests completed. */
unsigned blk_poll(struct hal_cpu *c, struct blk_queue *bq);
/* Commands past their deadline: retried (re-issued) up to max_retries,
 * then failed with BLK_ETIMEDOUT. Returns how many timed out. */
unsigned blk_timeouts(struct hal_cpu *c, struct blk_queue *bq);
/* After a controller reset and the queue pair's re-creation (bq->q is
 * fresh): issue every command still in flight again, counting a retry
 * each; those past max_retries fail with BLK_ETIMEDOUT. Returns how many
 * were issued. */
unsigned blk_requeue(struct hal_cpu *c, struct blk_queue *bq);
/* The earliest deadline of a command in flight (0: none). */
hal_ns_t blk_next_deadline(const struct blk_queue *bq);
unsigned blk_inflight(const struct blk_queue *bq);
/* The queue's invariants: 0, or the line of the broken one. */
int blk_queue_check(const struct blk_queue *bq);

/* ------------------------------------------------------- the workload */

struct blk_bench_cfg {
    uint32_t dev;          /* hal.h device number of the SSD */
    unsigned jobs;         /* the first N kernel CPUs, one queue pair each */
    unsigned qd;           /* requests in flight per job */
    uint32_t bs;           /* bytes per request, a multiple of 4 KiB */
    bool sequential;       /* else random */
    unsigned read_pct;     /* 0..100 */
    uint64_t ios;          /* per job */
    unsigned flush_every;  /* a FLUSH after every N writes (0: never) */
    bool fua;              /* writes with FUA */
    bool verify;           /* per-block generation numbers, checked on read */
    bool merge;            /* the block layer merges adjacent requests */
    uint64_t blocks;       /* working set (4 KiB blocks); 0: the namespace */
    uint64_t seed;
    hal_ns_t io_timeout, admin_timeout;
    unsigned retries;
    bool readback;         /* verify: after the run, read every block of the set back */
    hal_paddr_t region;    /* kernel memory for queues, lists and buffers */
    uint64_t region_size;
};

/* Bytes of region the workload needs. */
uint64_t blk_bench_bytes(const struct blk_bench_cfg *cfg);

/* Host-private per-job state the caller provides (zeroed; the verify
 * tables: blocks entries each, NULL without verify). */
struct blk_bench_state {
    struct nvme_ctrl ctrl; /* job 0's, set up by CPU 0 */
    struct blk_queue bq;
    uint32_t *aGen;        /* verify: newest acknowledged generation per block */
    uint32_t *aDurable;    /* verify: newest flushed (or FUA) generation per block */
    uint8_t *aBusy;        /* verify: a request on the block is in flight */
    uint64_t *aLog;        /* verify: (block << 32 | generation) of each submitted write */
    uint64_t nLog, capLog;
    struct blk_rq *aRq;    /* qd requests (the platform allocates these too) */
};

/* Run the workload on this CPU (all CPUs call it; those past `jobs` return
 * at once). ctrl: the shared controller record (CPU 0 fills it before the
 * others start). Returns 0, or the line of a failed check (a verify
 * mismatch, a failed request, a queue invariant). Reports blk.* figures. */
int blk_bench(struct hal_cpu *c, const struct blk_bench_cfg *cfg, struct nvme_ctrl *ctrl,
              struct blk_bench_state *st, struct blk_bench_state *const *all);

#endif
