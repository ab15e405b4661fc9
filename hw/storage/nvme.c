/* nvme: an NVMe-like SSD behind PCIe (docs/storage.md): queues in host
 * memory, doorbells and registers in BAR0, MSI-X per completion queue,
 * PRP data pointers DMA'd through whatever lies upstream (a root complex
 * and its IOMMU), a volatile write cache that destages to NAND media with
 * internal parallelism, controller reset and power loss. Data is real
 * bytes: the media is a sparse store of the namespace, so a checker can
 * compare what comes back with what went in.
 *
 * Command life (one slot of `max_commands` each):
 *
 *   SQ doorbell -> FETCH (MRD of the 64-byte SQE)
 *     -> QUEUED (the controller's firmware, serialised: cmd_overhead each)
 *     -> [PRP list MRD]                                   (transfers of > 2 pages)
 *     READ : MEDIA (die tR, then channel transfer; cache hits skip it)
 *            -> data MWRs to the PRP pages -> CQE MWR -> MSI-X
 *     WRITE: data MRDs from the PRP pages
 *            -> cache (ack after cache_latency) or, FUA / cache off,
 *               program (destage pipeline + program_latency) -> CQE
 *     FLUSH: waits until every block dirty when it arrived is destaged -> CQE
 *   A refused DMA (CPL_UR: the IOMMU had no grant) completes the command
 *   with Data Transfer Error; a malformed SQE with the status the NVMe
 *   specification gives it. Both are traced (nvme.error); nothing fails
 *   the run.
 *
 * Invariants:
 *   1. A slot is used iff it holds a command of the current epoch; events
 *      and completions of an older epoch (before a reset or power loss)
 *      are dropped when they arrive.
 *   2. The cache's dirty list is in order of the sequence number each
 *      block got when it became dirty (a block written again while dirty
 *      keeps its place, its bytes replaced); a FLUSH with sequence f is
 *      done when the list's head is newer than f (or the list is empty),
 *      the head staying in the list until its destage ends.
 *   3. The media only ever receives a block's newest bytes at the time of
 *      the write to it (destage copies the cache entry when it finishes).
 *
 * Simplified: one namespace, 4 KiB LBAs, PRP lists within one page, no
 * SGLs, no arbitration bursts (SQs are served round-robin, one SQE per
 * MRD), no interrupt coalescing, no write amplification or garbage
 * collection (random writes run at the destage rate). */
#include <stdlib.h>
#include <string.h>

#include "hw/linestore.h"
#include "hw/nvme.h"
#include "orrery/error.h"
#include "orrery/outq.h"
#include "orrery/pcie.h"
#include "orrery/sim.h"

enum { T_READY = 1, T_EXEC, T_MEDIA, T_DESTAGE, T_POWER_ON, T_PROGRAMMED, T_CACHED };
enum { TAG_FREE, TAG_SQE, TAG_PRPLIST, TAG_DATA };
enum { F_POWER_LOSS, F_CONTROLLER_FATAL };
#define NTAGS (PCIE_TAG_MAX + 1)

static const struct orr_param nvme_params[] = {
    PCIE_LINK_PARAMS,
    {"requester", ORR_P_UINT, "256", ORR_PF_POSITIVE, "requester id (bus 1, dev 0, fn 0 = 256)",
     NULL, 1, 65535},
    {"msix_addr", ORR_P_SIZE, "4078MiB", 0, "address of MSI-X writes (the root complex's window)"},
    {"vector_base", ORR_P_UINT, "0", 0, "MSI-X vector of interrupt vector 0 (a CQ's IV adds to it)",
     NULL, 0, 255},
    {"capacity", ORR_P_SIZE, "1GiB", ORR_PF_POSITIVE, "the device's media capacity"},
    {"namespace", ORR_P_SIZE, "0B", 0,
     "namespace 1's size, whole 4 KiB blocks, at most capacity; 0 = the whole capacity"},
    {"io_queues", ORR_P_UINT, "64", ORR_PF_POSITIVE, "I/O queue pairs the controller offers",
     NULL, 1, 1024},
    {"max_queue_entries", ORR_P_UINT, "1024", 0, "entries of the largest queue (CAP.MQES + 1)",
     NULL, 2, 65536},
    {"max_transfer", ORR_P_SIZE, "128KiB", ORR_PF_POSITIVE,
     "largest transfer of one command (MDTS, a power of two times 4 KiB)", NULL, 4096,
     2u << 20},
    {"max_commands", ORR_P_UINT, "256", ORR_PF_POSITIVE,
     "commands the controller holds at once; more wait in their SQs", NULL, 1, 4096},
    {"max_read", ORR_P_SIZE, "512B", ORR_PF_POSITIVE, "largest DMA read request (MRRS)", NULL, 64,
     PCIE_MAX_LENGTH},
    {"max_payload", ORR_P_SIZE, "256B", ORR_PF_POSITIVE, "largest DMA write payload (MPS)", NULL,
     64, PCIE_MAX_LENGTH},
    {"cmd_overhead", ORR_P_TIME, "1us", 0,
     "controller firmware time per command, serialised (caps the command rate)"},
    {"channels", ORR_P_UINT, "8", ORR_PF_POSITIVE, "NAND channels", NULL, 1, 64},
    {"dies", ORR_P_UINT, "64", ORR_PF_POSITIVE,
     "NAND dies (a multiple of channels); block b lives on die b mod dies", NULL, 1, 4096},
    {"read_latency", ORR_P_TIME, "60us", 0, "a die's array read of a 4 KiB block (tR)"},
    {"channel_bandwidth", ORR_P_BW, "1200MB/s", ORR_PF_POSITIVE,
     "a channel's transfer rate from a die to the controller"},
    {"cache", ORR_P_SIZE, "64MiB", 0, "volatile write cache (whole 4 KiB blocks); 0 = none"},
    {"cache_latency", ORR_P_TIME, "10us", 0, "a write's data in the cache to its completion"},
    {"destage_rate", ORR_P_BW, "4100MB/s", ORR_PF_POSITIVE,
     "media program bandwidth: the cache drains, and FUA writes program, at this rate"},
    {"program_latency", ORR_P_TIME, "100us", 0,
     "a write-through (FUA) write's programming after its turn in the destage pipeline"},
    {"ready_time", ORR_P_TIME, "1ms", 0, "CC.EN change to CSTS.RDY following it (reset time)"},
    {NULL},
};

static const struct orr_port_doc nvme_ports[] = {
    {"pcie", "to a root complex (or switch) downstream port"},
    {NULL},
};

static const struct orr_param power_params[] = {
    {"off", ORR_P_TIME, "10us", 0, "how long the device stays unpowered"},
    {NULL},
};
static const struct orr_fault_desc nvme_faults[] = {
    {"power_loss",
     "power fails: the volatile cache's unflushed blocks and every command in flight are lost; "
     "the device is dead for `off`, then powers up with CC.EN = 0 (the driver must reset it)",
     power_params},
    {"controller_fatal",
     "the controller hangs: CSTS.CFS is set and nothing more is processed until a reset "
     "(CC.EN 1 -> 0)",
     NULL},
    {NULL},
};

struct nq {
    bool sq_live, cq_live;
    uint64_t sq_base, cq_base;
    uint32_t sq_size, cq_size;
    uint32_t sq_tail, sq_head; /* host's tail (doorbell), device's fetch point */
    uint16_t sq_cqid;
    uint32_t cq_head, cq_tail;
    bool cq_phase, cq_ien;
    uint16_t cq_iv;
    uint8_t *cq_shadow; /* what the device wrote into the CQ (it alone writes it) */
};

struct seg {
    uint64_t addr;
    uint32_t len;
};

enum cstage { CS_FETCH, CS_QUEUED, CS_PRPLIST, CS_DATA_IN, CS_MEDIA, CS_WAIT_CACHE, CS_FLUSH,
              CS_PROGRAM };

struct ncmd {
    bool used;
    uint8_t stage;
    uint16_t sqid;
    uint32_t sqe[16];
    uint64_t slba;
    uint32_t nblk, nbytes, nseg;
    bool fua, dma_err;
    struct seg *aSeg;  /* max_transfer / 4 KiB + 1 */
    uint8_t *buf;      /* max_transfer bytes */
    uint32_t next_off; /* WRITE: next byte to request */
    uint32_t pending;  /* MRDs in flight */
    uint64_t flush_seq;
    orr_time_t t0;
    int next_wait;     /* FIFO of commands waiting for cache room or a flush */
};

struct tag {
    uint8_t kind;
    uint32_t epoch;
    uint32_t slot;
    uint32_t off;
};

/* The write cache: entries of one block, a hash from LBA to entry, and a
 * doubly linked dirty list oldest first (invariant 2). */
struct centry {
    uint64_t lba;
    uint64_t seq;
    int prev, next;
    bool live, destaging;
    uint8_t *data;
};

struct pending_cqe {
    uint16_t cqid;
    uint32_t dw[4];
};

struct nvme {
    struct orr_port *pcie;
    struct pcie_tx tx;
    struct orr_outq q;
    uint16_t requester;
    uint64_t msix_addr;
    unsigned vector_base;
    struct nvme_limits lim;
    uint64_t nblocks;
    unsigned max_commands, max_read, max_payload, channels, dies;
    orr_time_t cmd_overhead, read_latency, cache_latency, program_latency, ready_time;
    orr_time_t block_xfer, block_prog; /* a block on a channel; programmed at destage_rate */
    /* registers */
    uint32_t cc, csts, aqa;
    uint64_t asq, acq;
    bool powered, fatal;
    uint32_t epoch;  /* controller resets and power losses */
    uint32_t pepoch; /* power losses: the cache's own timers */
    bool tag_starved;
    /* queues: 0 admin, 1..io_queues I/O */
    struct nq *aQ;
    unsigned nQ, rr;
    /* commands and tags */
    struct ncmd *aCmd;
    unsigned nCmdUsed;
    struct tag aTag[NTAGS];
    unsigned nTagUsed, tag_hint;
    int wait_head, wait_tail; /* commands waiting for cache room or flushes */
    struct pending_cqe *aPend;
    unsigned nPend, capPend;
    /* timing resources */
    orr_time_t ctrl_free, prog_free, *aDieFree, *aChanFree;
    /* cache */
    struct centry *aEnt;
    unsigned nEnt, nEntUsed;
    int *aHash; /* entry index + 1, 0 empty; 2 x nEnt rounded to a power of two */
    unsigned hash_mask;
    int *aFree;
    unsigned nFree;
    int dirty_head, dirty_tail;
    uint64_t seq;
    bool destaging;
    /* media */
    struct linestore media;
    /* stats */
    struct orr_counter *reads, *writes, *flushes, *admin, *errors, *rd_bytes, *wr_bytes,
        *cache_hits, *media_reads, *destaged, *lost, *resets, *power_losses, *irqs;
    struct orr_histogram *rd_lat, *wr_lat, *fl_lat;
    struct orr_gauge *dirty;
    uint16_t kCmd, kCqe, kError, kPower, kReset;
};

const struct orr_component_type orr_nvme_type;

const struct nvme_limits *nvme_limits_of(const struct orr_component *c)
{
    if (!c || c->type != &orr_nvme_type)
        return NULL;
    return &((const struct nvme *)c->state)->lim;
}

static orr_time_t bw_time(uint64_t bytes, uint64_t bps)
{
    return (orr_time_t)(((unsigned __int128)bytes * 8 * ORR_S + bps - 1) / bps);
}

static int nvme_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct nvme *s = c->state;
    int rc = pcie_link_params(p, c->keypath, d, &s->tx);
    char at[256];
    s->pcie = orr_port_add(c, "pcie");
    s->requester = (uint16_t)orr_param_u64(p, "requester");
    s->msix_addr = orr_param_u64(p, "msix_addr");
    s->vector_base = (unsigned)orr_param_u64(p, "vector_base");
    uint64_t cap = orr_param_u64(p, "capacity"), ns = orr_param_u64(p, "namespace");
    if (!ns)
        ns = cap;
    if (ns > cap) {
        snprintf(at, sizeof at, "%s.namespace", c->keypath);
        orr_diag_error(d, orr_param_mark(p, "namespace"), at,
                       "a namespace of %llu bytes is larger than the device's capacity (%llu "
                       "bytes)",
                       (unsigned long long)ns, (unsigned long long)cap);
        rc = ORR_ESCHEMA;
    } else if (ns < NVME_LBA_BYTES) {
        snprintf(at, sizeof at, "%s.capacity", c->keypath);
        orr_diag_error(d, orr_param_mark(p, "capacity"), at,
                       "%llu bytes: the namespace needs at least one 4 KiB block",
                       (unsigned long long)ns);
        rc = ORR_ESCHEMA;
    }
    s->nblocks = ns / NVME_LBA_BYTES;
    s->lim.namespace_bytes = s->nblocks * NVME_LBA_BYTES;
    s->lim.io_queues = (uint32_t)orr_param_u64(p, "io_queues");
    s->lim.max_queue_entries = (uint32_t)orr_param_u64(p, "max_queue_entries");
    s->lim.max_transfer = (uint32_t)orr_param_u64(p, "max_transfer");
    uint32_t mt = s->lim.max_transfer;
    if (mt % NVME_PAGE || ((mt / NVME_PAGE) & (mt / NVME_PAGE - 1))) {
        snprintf(at, sizeof at, "%s.max_transfer", c->keypath);
        orr_diag_error(d, orr_param_mark(p, "max_transfer"), at,
                       "%u bytes: MDTS is a power of two times 4 KiB", mt);
        rc = ORR_ESCHEMA;
    }
    s->max_commands = (unsigned)orr_param_u64(p, "max_commands");
    s->max_read = (unsigned)orr_param_u64(p, "max_read");
    s->max_payload = (unsigned)orr_param_u64(p, "max_payload");
    s->cmd_overhead = orr_param_u64(p, "cmd_overhead");
    s->channels = (unsigned)orr_param_u64(p, "channels");
    s->dies = (unsigned)orr_param_u64(p, "dies");
    if (s->dies % s->channels) {
        snprintf(at, sizeof at, "%s.dies", c->keypath);
        orr_diag_error(d, orr_param_mark(p, "dies"), at,
                       "%u dies on %u channels: dies must be a multiple of channels", s->dies,
                       s->channels);
        rc = ORR_ESCHEMA;
    }
    s->read_latency = orr_param_u64(p, "read_latency");
    s->block_xfer = bw_time(NVME_LBA_BYTES, orr_param_u64(p, "channel_bandwidth"));
    s->block_prog = bw_time(NVME_LBA_BYTES, orr_param_u64(p, "destage_rate"));
    s->cache_latency = orr_param_u64(p, "cache_latency");
    s->program_latency = orr_param_u64(p, "program_latency");
    s->ready_time = orr_param_u64(p, "ready_time");
    s->nEnt = (unsigned)(orr_param_u64(p, "cache") / NVME_LBA_BYTES);
    if (rc)
        return rc;

    s->nQ = s->lim.io_queues + 1;
    s->aQ = calloc(s->nQ, sizeof *s->aQ);
    s->aCmd = calloc(s->max_commands, sizeof *s->aCmd);
    s->aDieFree = calloc(s->dies, sizeof *s->aDieFree);
    s->aChanFree = calloc(s->channels, sizeof *s->aChanFree);
    if (!s->aQ || !s->aCmd || !s->aDieFree || !s->aChanFree)
        orr_oom();
    unsigned maxseg = mt / NVME_PAGE + 1;
    for (unsigned i = 0; i < s->max_commands; i++) {
        s->aCmd[i].aSeg = calloc(maxseg, sizeof *s->aCmd[i].aSeg);
        s->aCmd[i].buf = malloc(mt);
        if (!s->aCmd[i].aSeg || !s->aCmd[i].buf)
            orr_oom();
    }
    if (s->nEnt) {
        unsigned h = 1;
        while (h < 2 * s->nEnt)
            h <<= 1;
        s->hash_mask = h - 1;
        s->aHash = calloc(h, sizeof *s->aHash);
        s->aEnt = calloc(s->nEnt, sizeof *s->aEnt);
        s->aFree = calloc(s->nEnt, sizeof *s->aFree);
        if (!s->aHash || !s->aEnt || !s->aFree)
            orr_oom();
        for (unsigned i = 0; i < s->nEnt; i++)
            s->aFree[i] = (int)(s->nEnt - 1 - i);
        s->nFree = s->nEnt;
    }
    s->dirty_head = s->dirty_tail = -1;
    s->wait_head = s->wait_tail = -1;
    s->powered = true;
    linestore_init(&s->media);

    s->reads = orr_counter_new(c, "reads", "cmd");
    s->writes = orr_counter_new(c, "writes", "cmd");
    s->flushes = orr_counter_new(c, "flushes", "cmd");
    s->admin = orr_counter_new(c, "admin_commands", "cmd");
    s->errors = orr_counter_new(c, "errors", "cmd");
    s->rd_bytes = orr_counter_new(c, "read_bytes", "B");
    s->wr_bytes = orr_counter_new(c, "write_bytes", "B");
    s->cache_hits = orr_counter_new(c, "cache_hits", "block");
    s->media_reads = orr_counter_new(c, "media_reads", "block");
    s->destaged = orr_counter_new(c, "destaged", "block");
    s->lost = orr_counter_new(c, "lost_blocks", "block");
    s->resets = orr_counter_new(c, "resets", "");
    s->power_losses = orr_counter_new(c, "power_losses", "");
    s->irqs = orr_counter_new(c, "irqs", "irq");
    s->rd_lat = orr_histogram_new(c, "read_latency", "ns");
    s->wr_lat = orr_histogram_new(c, "write_latency", "ns");
    s->fl_lat = orr_histogram_new(c, "flush_latency", "ns");
    s->dirty = orr_gauge_new(c, "cache_dirty", "block");
    s->kCmd = orr_trace_kind(c, "nvme.cmd");
    s->kCqe = orr_trace_kind(c, "nvme.cqe");
    s->kError = orr_trace_kind(c, "nvme.error");
    s->kPower = orr_trace_kind(c, "nvme.power_loss");
    s->kReset = orr_trace_kind(c, "nvme.reset");
    return 0;
}

static int nvme_start(struct orr_component *c, struct orr_diag *d)
{
    struct nvme *s = c->state;
    if (!s->pcie->link) {
        orr_diag_error(d, &c->mark, c->keypath, "port 'pcie' of %s is not linked", c->path);
        return ORR_ESCHEMA;
    }
    return 0;
}

/* ------------------------------------------------------------ PCIe out */

static void send_tlp(struct orr_component *c, struct nvme *s, const struct orr_msg *m)
{
    orr_outq_send(&s->q, s->pcie, m, pcie_tx_delay(&s->tx, orr_now(c->sim), m->size));
}

static void dma_write(struct orr_component *c, struct nvme *s, uint64_t addr, const void *b,
                      uint32_t n)
{
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < s->max_payload ? n - done : s->max_payload;
        /* never cross a 4 KiB boundary in one TLP (PCIe rule) */
        uint32_t room = NVME_PAGE - (uint32_t)((addr + done) % NVME_PAGE);
        if (k > room)
            k = room;
        struct orr_msg m = pcie_mwr(c->sim, s->requester, addr + done,
                                    b ? (const uint8_t *)b + done : NULL, k);
        send_tlp(c, s, &m);
        done += k;
    }
}

static int tag_get(struct nvme *s, uint8_t kind, uint32_t slot, uint32_t off)
{
    if (s->nTagUsed == NTAGS)
        return -1;
    unsigned t = s->tag_hint;
    while (s->aTag[t].kind != TAG_FREE)
        t = (t + 1) % NTAGS;
    s->aTag[t] = (struct tag){.kind = kind, .epoch = s->epoch, .slot = slot, .off = off};
    s->nTagUsed++;
    s->tag_hint = (t + 1) % NTAGS;
    return (int)t;
}

static void dma_read(struct orr_component *c, struct nvme *s, unsigned tag, uint64_t addr,
                     uint32_t n)
{
    struct orr_msg m = pcie_mrd(s->requester, tag, addr, n);
    send_tlp(c, s, &m);
}

/* ------------------------------------------------------------ completion */

static void fetch_pump(struct orr_component *c, struct nvme *s);
static void data_pump(struct orr_component *c, struct nvme *s, unsigned slot);

static bool cq_full(const struct nq *q) { return (q->cq_tail + 1) % q->cq_size == q->cq_head; }

static void cqe_out(struct orr_component *c, struct nvme *s, uint16_t cqid, const uint32_t dw[4])
{
    struct nq *q = &s->aQ[cqid];
    uint32_t e[4] = {dw[0], dw[1], dw[2], dw[3] | (q->cq_phase ? 1u << 16 : 0)};
    /* the whole line the entry sits in, from the shadow: a full-line write
     * needs no read-modify-write upstream, so two entries of one line in
     * flight at once cannot undo each other */
    uint64_t off = (uint64_t)q->cq_tail * NVME_CQE_BYTES, line = off & ~(uint64_t)63;
    memcpy(q->cq_shadow + off, e, sizeof e);
    uint64_t bytes = (uint64_t)q->cq_size * NVME_CQE_BYTES;
    dma_write(c, s, q->cq_base + line, q->cq_shadow + line,
              (uint32_t)(bytes - line < 64 ? bytes - line : 64));
    orr_trace_point(c, s->kCqe, (uint64_t)cqid << 32 | (dw[3] & 0xFFFFu), dw[3] >> 17);
    if (++q->cq_tail == q->cq_size) {
        q->cq_tail = 0;
        q->cq_phase = !q->cq_phase;
    }
    if (q->cq_ien) {
        uint32_t v = s->vector_base + q->cq_iv;
        dma_write(c, s, s->msix_addr, &v, sizeof v);
        s->irqs->v++;
    }
}

/* Post a completion for SQ sqid's command cid, or hold it while the CQ is
 * full (sent when the host moves the CQ's head). */
static void complete(struct orr_component *c, struct nvme *s, uint16_t sqid, uint16_t cid,
                     unsigned status, uint32_t dw0)
{
    struct nq *sq = &s->aQ[sqid];
    uint16_t cqid = sqid ? sq->sq_cqid : 0;
    uint32_t dw[4] = {dw0, 0, (sq->sq_head & 0xFFFFu) | (uint32_t)sqid << 16,
                      cid | (uint32_t)((status & 0xFFu) | ((status >> 8) & 7u) << 8) << 17};
    if (status) {
        s->errors->v++;
        orr_trace_point(c, s->kError, (uint64_t)sqid << 32 | cid, status);
    }
    if (!s->aQ[cqid].cq_live)
        return; /* deleted under it: nowhere to say it */
    if (s->nPend || cq_full(&s->aQ[cqid])) {
        if (s->nPend == s->capPend) {
            s->capPend = s->capPend ? 2 * s->capPend : 64;
            s->aPend = realloc(s->aPend, s->capPend * sizeof *s->aPend);
            if (!s->aPend)
                orr_oom();
        }
        s->aPend[s->nPend++] = (struct pending_cqe){cqid, {dw[0], dw[1], dw[2], dw[3]}};
        return;
    }
    cqe_out(c, s, cqid, dw);
}

static void pending_pump(struct orr_component *c, struct nvme *s)
{
    unsigned k = 0;
    while (k < s->nPend && s->aQ[s->aPend[k].cqid].cq_live && !cq_full(&s->aQ[s->aPend[k].cqid])) {
        cqe_out(c, s, s->aPend[k].cqid, s->aPend[k].dw);
        k++;
    }
    while (k < s->nPend && !s->aQ[s->aPend[k].cqid].cq_live)
        k++; /* its CQ is gone */
    if (k == 0)
        return; /* (and aPend may still be NULL) */
    memmove(s->aPend, s->aPend + k, (s->nPend - k) * sizeof *s->aPend);
    s->nPend -= k;
}

static void cmd_free(struct orr_component *c, struct nvme *s, unsigned slot)
{
    s->aCmd[slot].used = false;
    s->nCmdUsed--;
    fetch_pump(c, s);
}

static void cmd_done(struct orr_component *c, struct nvme *s, unsigned slot, unsigned status,
                     uint32_t dw0)
{
    struct ncmd *k = &s->aCmd[slot];
    orr_time_t lat = (orr_now(c->sim) - k->t0) / ORR_NS;
    if (k->sqid) {
        uint8_t opc = k->sqe[0] & 0xFF;
        if (opc == NVME_IO_READ)
            orr_histogram_add(s->rd_lat, lat);
        else if (opc == NVME_IO_WRITE)
            orr_histogram_add(s->wr_lat, lat);
        else if (opc == NVME_IO_FLUSH)
            orr_histogram_add(s->fl_lat, lat);
    }
    complete(c, s, k->sqid, (uint16_t)(k->sqe[0] >> 16), status, dw0);
    cmd_free(c, s, slot);
}

/* ------------------------------------------------------------ the cache */

static int cache_find(const struct nvme *s, uint64_t lba)
{
    if (!s->nEnt)
        return -1;
    for (unsigned h = (unsigned)(lba * 0x9E3779B97F4A7C15ull >> 20) & s->hash_mask;;
         h = (h + 1) & s->hash_mask) {
        int e = s->aHash[h] - 1;
        if (e < 0)
            return -1;
        if (s->aEnt[e].lba == lba)
            return e;
    }
}

static void hash_put(struct nvme *s, int e)
{
    unsigned h = (unsigned)(s->aEnt[e].lba * 0x9E3779B97F4A7C15ull >> 20) & s->hash_mask;
    while (s->aHash[h])
        h = (h + 1) & s->hash_mask;
    s->aHash[h] = e + 1;
}

/* Remove entry e from the hash: backward-shift deletion keeps every probe
 * sequence unbroken. */
static void hash_del(struct nvme *s, int e)
{
    unsigned h = (unsigned)(s->aEnt[e].lba * 0x9E3779B97F4A7C15ull >> 20) & s->hash_mask;
    while (s->aHash[h] - 1 != e)
        h = (h + 1) & s->hash_mask;
    s->aHash[h] = 0;
    for (unsigned j = (h + 1) & s->hash_mask; s->aHash[j]; j = (j + 1) & s->hash_mask) {
        int f = s->aHash[j] - 1;
        s->aHash[j] = 0;
        hash_put(s, f);
    }
}

static void dirty_unlink(struct nvme *s, int e)
{
    struct centry *x = &s->aEnt[e];
    if (x->prev >= 0)
        s->aEnt[x->prev].next = x->next;
    else
        s->dirty_head = x->next;
    if (x->next >= 0)
        s->aEnt[x->next].prev = x->prev;
    else
        s->dirty_tail = x->prev;
}

static void dirty_append(struct nvme *s, int e)
{
    struct centry *x = &s->aEnt[e];
    x->seq = ++s->seq;
    x->next = -1;
    x->prev = s->dirty_tail;
    if (s->dirty_tail >= 0)
        s->aEnt[s->dirty_tail].next = e;
    else
        s->dirty_head = e;
    s->dirty_tail = e;
}

static void media_write(struct nvme *s, uint64_t lba, const uint8_t *b)
{
    for (unsigned i = 0; i < NVME_LBA_BYTES; i += ORR_LINE_BYTES)
        linestore_write(&s->media, lba * NVME_LBA_BYTES + i, b + i);
}

static void media_read(const struct nvme *s, uint64_t lba, uint8_t *b)
{
    for (unsigned i = 0; i < NVME_LBA_BYTES; i += ORR_LINE_BYTES)
        linestore_read(&s->media, lba * NVME_LBA_BYTES + i, b + i);
}

/* Blocks of a write that need a new entry (the others overwrite theirs). */
static unsigned cache_need(const struct nvme *s, uint64_t slba, uint32_t n)
{
    unsigned need = 0;
    for (uint32_t i = 0; i < n; i++)
        need += cache_find(s, slba + i) < 0;
    return need;
}

static void cache_put(struct nvme *s, uint64_t lba, const uint8_t *b)
{
    int e = cache_find(s, lba);
    if (e < 0) {
        e = s->aFree[--s->nFree];
        struct centry *x = &s->aEnt[e];
        x->lba = lba;
        x->live = true;
        x->destaging = false;
        if (!x->data && !(x->data = malloc(NVME_LBA_BYTES)))
            orr_oom();
        hash_put(s, e);
        s->nEntUsed++;
        s->dirty->v = s->nEntUsed;
        if (s->dirty->v > s->dirty->max)
            s->dirty->max = s->dirty->v;
        memcpy(s->aEnt[e].data, b, NVME_LBA_BYTES);
        dirty_append(s, e);
        return;
    }
    /* dirty already: the newer bytes replace the older in place, and the
     * block keeps its place in the list, so a FLUSH that covers the older
     * version still waits for it (a destage under way writes these bytes) */
    memcpy(s->aEnt[e].data, b, NVME_LBA_BYTES);
}

static void destage_next(struct orr_component *c, struct nvme *s)
{
    if (s->destaging || s->dirty_head < 0 || !s->powered)
        return;
    int e = s->dirty_head;
    s->aEnt[e].destaging = true;
    s->destaging = true;
    orr_time_t now = orr_now(c->sim), at = (s->prog_free > now ? s->prog_free : now) +
                                            s->block_prog;
    s->prog_free = at;
    orr_timer(c, at - now, T_DESTAGE, (uint64_t)e, s->pepoch);
}

/* Commands waiting on the cache (room, or a flush) are retried in order. */
static void wait_push(struct nvme *s, unsigned slot)
{
    s->aCmd[slot].next_wait = -1;
    if (s->wait_tail >= 0)
        s->aCmd[s->wait_tail].next_wait = (int)slot;
    else
        s->wait_head = (int)slot;
    s->wait_tail = (int)slot;
}

static bool flush_done(const struct nvme *s, uint64_t fseq)
{
    return s->dirty_head < 0 || s->aEnt[s->dirty_head].seq > fseq;
}

static void write_accept(struct orr_component *c, struct nvme *s, unsigned slot);

static void wait_retry(struct orr_component *c, struct nvme *s)
{
    int head = s->wait_head;
    s->wait_head = s->wait_tail = -1;
    while (head >= 0) {
        unsigned slot = (unsigned)head;
        head = s->aCmd[slot].next_wait;
        struct ncmd *k = &s->aCmd[slot];
        if (k->stage == CS_FLUSH) {
            if (flush_done(s, k->flush_seq))
                cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
            else
                wait_push(s, slot);
        } else {
            write_accept(c, s, slot);
        }
    }
}

static void destage_done(struct orr_component *c, struct nvme *s, int e)
{
    struct centry *x = &s->aEnt[e];
    media_write(s, x->lba, x->data); /* invariant 3: the newest bytes */
    s->destaged->v++;
    x->destaging = false;
    s->destaging = false;
    dirty_unlink(s, e);
    hash_del(s, e);
    x->live = false;
    s->aFree[s->nFree++] = e;
    s->nEntUsed--;
    s->dirty->v = s->nEntUsed;
    wait_retry(c, s);
    destage_next(c, s);
}

/* ------------------------------------------------------------ commands */

/* Build the command's data segments from PRP1/PRP2; the list (if any) is
 * read by DMA first. Returns a status, or -1 when a list read is under
 * way (the command resumes in prp_list_in). */
static int prp_setup(struct orr_component *c, struct nvme *s, unsigned slot)
{
    struct ncmd *k = &s->aCmd[slot];
    uint64_t prp1 = k->sqe[6] | (uint64_t)k->sqe[7] << 32, prp2 = k->sqe[8] | (uint64_t)k->sqe[9] << 32;
    if (prp1 % 4)
        return NVME_SC_INVALID_PRP_OFFSET;
    uint32_t first = NVME_PAGE - (uint32_t)(prp1 % NVME_PAGE);
    if (first > k->nbytes)
        first = k->nbytes;
    k->aSeg[0] = (struct seg){prp1, first};
    k->nseg = 1;
    uint32_t rest = k->nbytes - first;
    if (!rest)
        return NVME_SC_SUCCESS;
    if (prp2 % NVME_PAGE && rest <= NVME_PAGE)
        return NVME_SC_INVALID_PRP_OFFSET;
    if (rest <= NVME_PAGE) {
        k->aSeg[1] = (struct seg){prp2, rest};
        k->nseg = 2;
        return NVME_SC_SUCCESS;
    }
    /* a PRP list: (rest / 4 KiB rounded up) entries at prp2, in one page */
    uint32_t n = (rest + NVME_PAGE - 1) / NVME_PAGE;
    if (prp2 % 8 || prp2 % NVME_PAGE + n * 8 > NVME_PAGE)
        return NVME_SC_INVALID_PRP_OFFSET;
    int t = tag_get(s, TAG_PRPLIST, slot, 0);
    if (t < 0)
        return NVME_SC_DATA_XFER_ERROR; /* no tag: cannot happen with max_commands < tags */
    k->stage = CS_PRPLIST;
    k->pending = 1;
    dma_read(c, s, (unsigned)t, prp2, n * 8);
    return -1;
}

static void io_go(struct orr_component *c, struct nvme *s, unsigned slot);

static void prp_list_in(struct orr_component *c, struct nvme *s, unsigned slot, const uint8_t *b,
                        uint32_t len)
{
    struct ncmd *k = &s->aCmd[slot];
    k->pending = 0;
    if (!b) {
        cmd_done(c, s, slot, NVME_SC_DATA_XFER_ERROR, 0);
        return;
    }
    uint32_t rest = k->nbytes - k->aSeg[0].len;
    for (uint32_t i = 0; i < len / 8 && rest; i++) {
        uint64_t a;
        memcpy(&a, b + 8 * i, 8);
        if (a % NVME_PAGE) {
            cmd_done(c, s, slot, NVME_SC_INVALID_PRP_OFFSET, 0);
            return;
        }
        uint32_t l = rest < NVME_PAGE ? rest : NVME_PAGE;
        k->aSeg[k->nseg++] = (struct seg){a, l};
        rest -= l;
    }
    io_go(c, s, slot);
}

/* Media timing of a read of the command's blocks; the data is taken when
 * the timer fires (invariant 3's mirror: the newest bytes then). */
static void read_media(struct orr_component *c, struct nvme *s, unsigned slot)
{
    struct ncmd *k = &s->aCmd[slot];
    orr_time_t now = orr_now(c->sim), done = now;
    for (uint32_t i = 0; i < k->nblk; i++) {
        uint64_t lba = k->slba + i;
        if (cache_find(s, lba) >= 0) {
            s->cache_hits->v++;
            continue;
        }
        s->media_reads->v++;
        unsigned die = (unsigned)(lba % s->dies), ch = die % s->channels;
        orr_time_t st = s->aDieFree[die] > now ? s->aDieFree[die] : now;
        s->aDieFree[die] = st + s->read_latency;
        orr_time_t xs = s->aDieFree[die] > s->aChanFree[ch] ? s->aDieFree[die] : s->aChanFree[ch];
        s->aChanFree[ch] = xs + s->block_xfer;
        if (s->aChanFree[ch] > done)
            done = s->aChanFree[ch];
    }
    k->stage = CS_MEDIA;
    orr_timer(c, done - now, T_MEDIA, slot, s->epoch);
}

static void read_out(struct orr_component *c, struct nvme *s, unsigned slot)
{
    struct ncmd *k = &s->aCmd[slot];
    for (uint32_t i = 0; i < k->nblk; i++) {
        int e = cache_find(s, k->slba + i);
        if (e >= 0)
            memcpy(k->buf + (size_t)i * NVME_LBA_BYTES, s->aEnt[e].data, NVME_LBA_BYTES);
        else
            media_read(s, k->slba + i, k->buf + (size_t)i * NVME_LBA_BYTES);
    }
    uint32_t off = 0;
    for (uint32_t i = 0; i < k->nseg; i++) {
        dma_write(c, s, k->aSeg[i].addr, k->buf + off, k->aSeg[i].len);
        off += k->aSeg[i].len;
    }
    s->rd_bytes->v += k->nbytes;
    cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
}

/* A write whose data is all in: into the cache, or programmed through. */
static void write_accept(struct orr_component *c, struct nvme *s, unsigned slot)
{
    struct ncmd *k = &s->aCmd[slot];
    orr_time_t now = orr_now(c->sim);
    if (k->fua || !s->nEnt) {
        /* write-through: newer bytes into any cached copy (so a later
         * destage cannot bring back older ones), then program */
        for (uint32_t i = 0; i < k->nblk; i++) {
            int e = cache_find(s, k->slba + i);
            if (e >= 0)
                memcpy(s->aEnt[e].data, k->buf + (size_t)i * NVME_LBA_BYTES, NVME_LBA_BYTES);
        }
        orr_time_t at = (s->prog_free > now ? s->prog_free : now) + k->nblk * s->block_prog;
        s->prog_free = at;
        k->stage = CS_PROGRAM;
        orr_timer(c, at + s->program_latency - now, T_PROGRAMMED, slot, s->epoch);
        return;
    }
    if (cache_need(s, k->slba, k->nblk) > s->nFree) {
        k->stage = CS_WAIT_CACHE;
        wait_push(s, slot);
        destage_next(c, s);
        return;
    }
    for (uint32_t i = 0; i < k->nblk; i++)
        cache_put(s, k->slba + i, k->buf + (size_t)i * NVME_LBA_BYTES);
    k->stage = CS_PROGRAM;
    orr_timer(c, s->cache_latency, T_CACHED, slot, s->epoch);
    destage_next(c, s);
}

/* WRITE: request the data from the host, max_read at a time. */
static void data_pump(struct orr_component *c, struct nvme *s, unsigned slot)
{
    struct ncmd *k = &s->aCmd[slot];
    while (k->next_off < k->nbytes) {
        uint32_t off = k->next_off, base = 0, i = 0;
        while (off >= base + k->aSeg[i].len)
            base += k->aSeg[i++].len;
        uint32_t in = off - base, n = k->aSeg[i].len - in;
        if (n > s->max_read)
            n = s->max_read;
        uint32_t room = NVME_PAGE - (uint32_t)((k->aSeg[i].addr + in) % NVME_PAGE);
        if (n > room)
            n = room;
        int t = tag_get(s, TAG_DATA, slot, off);
        if (t < 0) {
            s->tag_starved = true;
            return; /* resumed when a tag frees */
        }
        dma_read(c, s, (unsigned)t, k->aSeg[i].addr + in, n);
        k->pending++;
        k->next_off += n;
    }
}

static void io_go(struct orr_component *c, struct nvme *s, unsigned slot)
{
    struct ncmd *k = &s->aCmd[slot];
    if ((k->sqe[0] & 0xFF) == NVME_IO_READ) {
        read_media(c, s, slot);
    } else {
        k->stage = CS_DATA_IN;
        k->next_off = 0;
        data_pump(c, s, slot);
    }
}

static void exec_io(struct orr_component *c, struct nvme *s, unsigned slot)
{
    struct ncmd *k = &s->aCmd[slot];
    uint8_t opc = k->sqe[0] & 0xFF;
    uint32_t nsid = k->sqe[1];
    orr_trace_point(c, s->kCmd, (uint64_t)k->sqid << 32 | (k->sqe[0] >> 16), opc);
    if (opc != NVME_IO_READ && opc != NVME_IO_WRITE && opc != NVME_IO_FLUSH) {
        cmd_done(c, s, slot, NVME_SC_INVALID_OPCODE, 0);
        return;
    }
    if (nsid != 1 && !(opc == NVME_IO_FLUSH && nsid == 0xFFFFFFFFu)) {
        cmd_done(c, s, slot, NVME_SC_INVALID_NS, 0);
        return;
    }
    if (opc == NVME_IO_FLUSH) {
        s->flushes->v++;
        k->flush_seq = s->seq;
        if (flush_done(s, k->flush_seq)) {
            cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
        } else {
            k->stage = CS_FLUSH;
            wait_push(s, slot);
            destage_next(c, s);
        }
        return;
    }
    k->slba = k->sqe[10] | (uint64_t)k->sqe[11] << 32;
    k->nblk = (k->sqe[12] & 0xFFFFu) + 1;
    k->fua = (k->sqe[12] & NVME_RW_FUA) != 0;
    k->dma_err = false;
    if (k->slba >= s->nblocks || k->nblk > s->nblocks - k->slba) {
        cmd_done(c, s, slot, NVME_SC_LBA_RANGE, 0);
        return;
    }
    if ((uint64_t)k->nblk * NVME_LBA_BYTES > s->lim.max_transfer) {
        cmd_done(c, s, slot, NVME_SC_INVALID_FIELD, 0);
        return;
    }
    k->nbytes = k->nblk * NVME_LBA_BYTES;
    if (opc == NVME_IO_READ)
        s->reads->v++;
    else
        s->writes->v++;
    int st = prp_setup(c, s, slot);
    if (st > 0)
        cmd_done(c, s, slot, (unsigned)st, 0);
    else if (st == 0)
        io_go(c, s, slot);
}

/* IDENTIFY data: what a driver reads (the rest is zeros). */
static void identify(struct nvme *s, uint32_t cns, uint8_t *b)
{
    memset(b, 0, NVME_PAGE);
    if (cns == 1) { /* controller */
        b[0] = 0x4F, b[1] = 0x52;                 /* VID "OR" */
        memcpy(b + 4, "ORRERY-NVME-0001    ", 20); /* SN */
        memcpy(b + 24, "Orrery NVMe-like SSD                    ", 40); /* MN */
        unsigned mdts = 0;
        while ((NVME_PAGE << mdts) < s->lim.max_transfer)
            mdts++;
        b[77] = (uint8_t)mdts;
        b[512] = 0x66; /* SQES: 64 B */
        b[513] = 0x44; /* CQES: 16 B */
        b[516] = 1;    /* NN: one namespace */
        b[525] = s->nEnt ? 1 : 0; /* VWC: a volatile write cache */
    } else { /* namespace 1 */
        memcpy(b + 0, &s->nblocks, 8);  /* NSZE */
        memcpy(b + 8, &s->nblocks, 8);  /* NCAP */
        memcpy(b + 16, &s->nblocks, 8); /* NUSE */
        b[26] = 0;                      /* FLBAS: format 0 */
        b[128 + 2] = 12;                /* LBAF0: LBADS = 12 (4 KiB) */
    }
}

/* A CQ goes live: its shadow, zeros as the host left the queue. */
static void cq_shadow_new(struct nq *q)
{
    free(q->cq_shadow);
    q->cq_shadow = calloc((size_t)q->cq_size, NVME_CQE_BYTES);
    if (!q->cq_shadow)
        orr_oom();
}

static void queue_kill(struct orr_component *c, struct nvme *s, uint16_t sqid)
{
    /* commands of a deleted SQ: those still being worked on complete
     * nowhere (their CQE would go to a CQ the host is tearing down) */
    (void)c;
    s->aQ[sqid].sq_live = false;
}

static void exec_admin(struct orr_component *c, struct nvme *s, unsigned slot)
{
    struct ncmd *k = &s->aCmd[slot];
    uint8_t opc = k->sqe[0] & 0xFF;
    uint32_t cdw10 = k->sqe[10], cdw11 = k->sqe[11];
    uint16_t qid = cdw10 & 0xFFFFu;
    uint32_t qsize = (cdw10 >> 16) + 1;
    uint64_t prp1 = k->sqe[6] | (uint64_t)k->sqe[7] << 32;
    s->admin->v++;
    orr_trace_point(c, s->kCmd, (uint64_t)k->sqe[0] >> 16, 0x100u | opc);
    switch (opc) {
    case NVME_ADM_IDENTIFY: {
        uint32_t cns = cdw10 & 0xFF;
        if (cns > 1 || (cns == 0 && k->sqe[1] != 1)) {
            cmd_done(c, s, slot, cns > 1 ? NVME_SC_INVALID_FIELD : NVME_SC_INVALID_NS, 0);
            return;
        }
        identify(s, cns, k->buf);
        k->nbytes = NVME_PAGE;
        int st = prp_setup(c, s, slot);
        if (st != 0) { /* no list for one page */
            cmd_done(c, s, slot, NVME_SC_INVALID_PRP_OFFSET, 0);
            return;
        }
        uint32_t off = 0;
        for (uint32_t i = 0; i < k->nseg; i++) {
            dma_write(c, s, k->aSeg[i].addr, k->buf + off, k->aSeg[i].len);
            off += k->aSeg[i].len;
        }
        cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
        return;
    }
    case NVME_ADM_SET_FEATURES:
        if ((cdw10 & 0xFF) == NVME_FEAT_NUM_QUEUES) {
            uint32_t n = s->lim.io_queues - 1;
            cmd_done(c, s, slot, NVME_SC_SUCCESS, n | n << 16);
        } else {
            cmd_done(c, s, slot, NVME_SC_INVALID_FIELD, 0);
        }
        return;
    case NVME_ADM_CREATE_CQ:
        if (qid == 0 || qid >= s->nQ || s->aQ[qid].cq_live) {
            cmd_done(c, s, slot, NVME_SC_QID_INVALID, 0);
        } else if (qsize < 2 || qsize > s->lim.max_queue_entries) {
            cmd_done(c, s, slot, NVME_SC_QUEUE_SIZE, 0);
        } else if (!(cdw11 & 1) || prp1 % NVME_PAGE) {
            cmd_done(c, s, slot, NVME_SC_INVALID_FIELD, 0); /* only contiguous queues */
        } else {
            struct nq *q = &s->aQ[qid];
            q->cq_live = true;
            q->cq_base = prp1;
            q->cq_size = qsize;
            q->cq_head = q->cq_tail = 0;
            q->cq_phase = true;
            q->cq_ien = (cdw11 & 2) != 0;
            q->cq_iv = (uint16_t)(cdw11 >> 16);
            cq_shadow_new(q);
            cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
        }
        return;
    case NVME_ADM_CREATE_SQ: {
        uint16_t cqid = (uint16_t)(cdw11 >> 16);
        if (qid == 0 || qid >= s->nQ || s->aQ[qid].sq_live) {
            cmd_done(c, s, slot, NVME_SC_QID_INVALID, 0);
        } else if (qsize < 2 || qsize > s->lim.max_queue_entries) {
            cmd_done(c, s, slot, NVME_SC_QUEUE_SIZE, 0);
        } else if (cqid == 0 || cqid >= s->nQ || !s->aQ[cqid].cq_live) {
            cmd_done(c, s, slot, NVME_SC_CQ_INVALID, 0);
        } else if (!(cdw11 & 1) || prp1 % NVME_PAGE) {
            cmd_done(c, s, slot, NVME_SC_INVALID_FIELD, 0);
        } else {
            struct nq *q = &s->aQ[qid];
            q->sq_live = true;
            q->sq_base = prp1;
            q->sq_size = qsize;
            q->sq_head = q->sq_tail = 0;
            q->sq_cqid = cqid;
            cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
        }
        return;
    }
    case NVME_ADM_DELETE_SQ:
        if (qid == 0 || qid >= s->nQ || !s->aQ[qid].sq_live) {
            cmd_done(c, s, slot, NVME_SC_QID_INVALID, 0);
        } else {
            queue_kill(c, s, qid);
            cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
        }
        return;
    case NVME_ADM_DELETE_CQ:
        if (qid == 0 || qid >= s->nQ || !s->aQ[qid].cq_live) {
            cmd_done(c, s, slot, NVME_SC_QID_INVALID, 0);
        } else {
            s->aQ[qid].cq_live = false;
            cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
        }
        return;
    default:
        cmd_done(c, s, slot, NVME_SC_INVALID_OPCODE, 0);
    }
}

/* Fetch SQEs round-robin over the live SQs while slots and tags last. */
static void fetch_pump(struct orr_component *c, struct nvme *s)
{
    if (!(s->csts & 1) || s->fatal || !s->powered)
        return;
    for (unsigned scanned = 0; scanned < s->nQ && s->nCmdUsed < s->max_commands;) {
        unsigned qi = s->rr;
        struct nq *q = &s->aQ[qi];
        if (!q->sq_live || q->sq_head == q->sq_tail) {
            s->rr = (s->rr + 1) % s->nQ;
            scanned++;
            continue;
        }
        unsigned slot = 0;
        while (s->aCmd[slot].used)
            slot++;
        int t = tag_get(s, TAG_SQE, slot, 0);
        if (t < 0)
            return;
        struct ncmd *k = &s->aCmd[slot];
        k->used = true;
        k->stage = CS_FETCH;
        k->pending = 0; /* a slot freed by a reset may have had reads in flight */
        k->dma_err = false;
        k->sqid = (uint16_t)qi;
        k->t0 = orr_now(c->sim);
        s->nCmdUsed++;
        dma_read(c, s, (unsigned)t, q->sq_base + (uint64_t)q->sq_head * NVME_SQE_BYTES,
                 NVME_SQE_BYTES);
        q->sq_head = (q->sq_head + 1) % q->sq_size;
        s->rr = (s->rr + 1) % s->nQ; /* one SQE per turn: round-robin arbitration */
        scanned = 0;
    }
}

/* ------------------------------------------------------------ registers */

static void ctrl_reset(struct orr_component *c, struct nvme *s)
{
    s->epoch++;
    for (unsigned i = 0; i < s->max_commands; i++)
        s->aCmd[i].used = false;
    s->nCmdUsed = 0;
    for (unsigned i = 0; i < s->nQ; i++)
        free(s->aQ[i].cq_shadow);
    memset(s->aQ, 0, s->nQ * sizeof *s->aQ);
    s->nPend = 0;
    s->wait_head = s->wait_tail = -1;
    s->fatal = false;
    s->resets->v++;
    orr_trace_point(c, s->kReset, s->epoch, 0);
}

static void set_cc(struct orr_component *c, struct nvme *s, uint32_t v)
{
    bool was = s->cc & 1, en = v & 1;
    s->cc = v;
    if (was && !en) {
        ctrl_reset(c, s);
        orr_timer(c, s->ready_time, T_READY, 0, s->epoch);
    } else if (!was && en) {
        struct nq *a = &s->aQ[0];
        a->sq_size = (s->aqa & 0xFFFu) + 1;
        a->cq_size = ((s->aqa >> 16) & 0xFFFu) + 1;
        a->sq_base = s->asq;
        a->cq_base = s->acq;
        a->sq_head = a->sq_tail = a->cq_head = a->cq_tail = 0;
        a->cq_phase = true;
        a->sq_live = a->cq_live = true;
        a->cq_ien = true;
        a->cq_iv = 0;
        cq_shadow_new(a);
        orr_timer(c, s->ready_time, T_READY, 1, s->epoch);
    }
}

static uint64_t cap_value(const struct nvme *s)
{
    uint64_t to = (s->ready_time + 500 * ORR_MS - 1) / (500 * ORR_MS);
    if (to > 255)
        to = 255;
    if (to == 0)
        to = 1;
    return (uint64_t)(s->lim.max_queue_entries - 1) | 1ull << 16 | to << 24 | 1ull << 37;
}

static uint64_t reg_read(const struct nvme *s, uint64_t off, unsigned len)
{
    uint8_t r[0x40];
    memset(r, 0, sizeof r);
    uint64_t cap = cap_value(s);
    uint32_t vs = 0x00010400;
    memcpy(r + NVME_REG_CAP, &cap, 8);
    memcpy(r + NVME_REG_VS, &vs, 4);
    memcpy(r + NVME_REG_CC, &s->cc, 4);
    memcpy(r + NVME_REG_CSTS, &s->csts, 4);
    memcpy(r + NVME_REG_AQA, &s->aqa, 4);
    memcpy(r + NVME_REG_ASQ, &s->asq, 8);
    memcpy(r + NVME_REG_ACQ, &s->acq, 8);
    uint64_t v = 0;
    if (off == NVME_REG_ID)
        return NVME_ID_VALUE;
    if (off + len <= sizeof r)
        memcpy(&v, r + off, len);
    return v;
}

static void doorbell(struct orr_component *c, struct nvme *s, uint64_t off, uint32_t v)
{
    unsigned idx = (unsigned)((off - NVME_REG_DB) / 4), qid = idx / 2;
    if (qid >= s->nQ || (off - NVME_REG_DB) % 4)
        return;
    struct nq *q = &s->aQ[qid];
    if (idx % 2 == 0) {
        if (!q->sq_live && qid != 0)
            return;
        if (v >= q->sq_size) {
            orr_trace_point(c, s->kError, (uint64_t)qid << 32 | 0xFFFFu, NVME_SC_INVALID_FIELD);
            return; /* an invalid doorbell write (an asynchronous event on hardware) */
        }
        q->sq_tail = v;
        fetch_pump(c, s);
    } else {
        if (v >= q->cq_size)
            return;
        q->cq_head = v;
        pending_pump(c, s);
    }
}

static void reg_write(struct orr_component *c, struct nvme *s, uint64_t off, uint64_t v,
                      unsigned len)
{
    if (off >= NVME_REG_DB) {
        doorbell(c, s, off, (uint32_t)v);
        return;
    }
    switch (off) {
    case NVME_REG_CC:
        set_cc(c, s, (uint32_t)v);
        break;
    case NVME_REG_AQA:
        s->aqa = (uint32_t)v;
        break;
    case NVME_REG_ASQ:
        if (len == 8)
            s->asq = v;
        else
            s->asq = (s->asq & ~0xFFFFFFFFull) | (uint32_t)v;
        break;
    case NVME_REG_ASQ + 4:
        s->asq = (s->asq & 0xFFFFFFFFull) | v << 32;
        break;
    case NVME_REG_ACQ:
        if (len == 8)
            s->acq = v;
        else
            s->acq = (s->acq & ~0xFFFFFFFFull) | (uint32_t)v;
        break;
    case NVME_REG_ACQ + 4:
        s->acq = (s->acq & 0xFFFFFFFFull) | v << 32;
        break;
    default:
        break; /* read-only or reserved */
    }
}

static void bar_access(struct orr_component *c, struct nvme *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    if (h.type == PCIE_MWR) {
        const uint8_t *b = orr_blob_get(c->sim, ev->data[1]);
        uint64_t off, v = 0;
        memcpy(&off, b, sizeof off);
        memcpy(&v, b + PCIE_WR_ADDR_BYTES, h.length < 8 ? h.length : 8);
        orr_blob_free(c->sim, ev->data[1]);
        if (s->powered)
            reg_write(c, s, off, v, h.length);
        return;
    }
    uint64_t v = s->powered ? reg_read(s, ev->data[1], h.length < 8 ? h.length : 8) : ~0ull;
    void *b;
    struct pcie_hdr r = {.type = PCIE_CPLD, .tag = h.tag, .requester = h.requester,
                         .length = h.length};
    struct orr_msg m = {.size = pcie_wire_bytes(h.length), .data = {pcie_hdr_pack(&r), 0}};
    m.data[1] = orr_blob_new(c->sim, h.length ? h.length : 1, &b);
    memset(b, 0, h.length ? h.length : 1);
    memcpy(b, &v, h.length < 8 ? h.length : 8);
    send_tlp(c, s, &m);
}

/* ------------------------------------------------------------ DMA in */

static void exec_cmd(struct orr_component *c, struct nvme *s, unsigned slot)
{
    if (s->aCmd[slot].sqid == 0)
        exec_admin(c, s, slot);
    else
        exec_io(c, s, slot);
}

static void completion(struct orr_component *c, struct nvme *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    const uint8_t *b = h.type == PCIE_CPLD ? orr_blob_get(c->sim, ev->data[1]) : NULL;
    struct tag tg = h.tag < NTAGS ? s->aTag[h.tag] : (struct tag){0};
    if (h.requester != s->requester || tg.kind == TAG_FREE) {
        if (b)
            orr_blob_free(c->sim, ev->data[1]);
        return;
    }
    s->aTag[h.tag].kind = TAG_FREE;
    s->nTagUsed--;
    struct ncmd *k = &s->aCmd[tg.slot];
    if (tg.epoch != s->epoch || !k->used) { /* invariant 1: from before a reset */
        if (b)
            orr_blob_free(c->sim, ev->data[1]);
        return;
    }
    if (tg.kind == TAG_SQE) {
        if (b)
            memcpy(k->sqe, b, NVME_SQE_BYTES);
        else
            memset(k->sqe, 0, sizeof k->sqe); /* unreadable SQ: a bad opcode 0 command */
        k->stage = CS_QUEUED;
        orr_time_t now = orr_now(c->sim);
        s->ctrl_free = (s->ctrl_free > now ? s->ctrl_free : now) + s->cmd_overhead;
        orr_timer(c, s->ctrl_free - now, T_EXEC, tg.slot, s->epoch);
        if (!b) {
            k->sqe[0] = 0xFF; /* complete with Invalid Opcode: its CID is unknown (0) */
        }
    } else if (tg.kind == TAG_PRPLIST) {
        prp_list_in(c, s, tg.slot, b, h.length);
    } else {
        if (b)
            memcpy(k->buf + tg.off, b, h.length);
        else
            k->dma_err = true;
        k->pending--;
        if (k->next_off < k->nbytes)
            data_pump(c, s, tg.slot);
        if (k->pending == 0 && k->next_off >= k->nbytes) {
            if (k->dma_err)
                cmd_done(c, s, tg.slot, NVME_SC_DATA_XFER_ERROR, 0);
            else
                write_accept(c, s, tg.slot);
        }
    }
    if (b)
        orr_blob_free(c->sim, ev->data[1]);
    /* a freed tag may let a stalled write or fetch go on */
    if (s->tag_starved) {
        s->tag_starved = false;
        for (unsigned i = 0; i < s->max_commands && !s->tag_starved; i++)
            if (s->aCmd[i].used && s->aCmd[i].stage == CS_DATA_IN &&
            s->aCmd[i].next_off < s->aCmd[i].nbytes)
                data_pump(c, s, i);
    }
    fetch_pump(c, s);
}

/* ------------------------------------------------------------ events */

static void power_loss(struct orr_component *c, struct nvme *s, orr_time_t off)
{
    s->power_losses->v++;
    uint64_t lost = 0;
    for (int e = s->dirty_head; e >= 0; e = s->aEnt[e].next)
        lost++;
    s->lost->v += lost;
    orr_trace_point(c, s->kPower, lost, s->nCmdUsed);
    for (unsigned i = 0; i < s->nEnt; i++)
        s->aEnt[i].live = s->aEnt[i].destaging = false;
    memset(s->aHash, 0, s->nEnt ? (s->hash_mask + 1) * sizeof *s->aHash : 0);
    for (unsigned i = 0; i < s->nEnt; i++)
        s->aFree[i] = (int)(s->nEnt - 1 - i);
    s->nFree = s->nEnt;
    s->nEntUsed = 0;
    s->dirty->v = 0;
    s->dirty_head = s->dirty_tail = -1;
    s->destaging = false;
    s->pepoch++;
    ctrl_reset(c, s);
    s->cc = s->csts = s->aqa = 0;
    s->asq = s->acq = 0;
    s->powered = false;
    orr_timer(c, off, T_POWER_ON, 0, s->epoch);
}

static void nvme_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct nvme *s = c->state;
    if (ev->kind == ORR_TK_READY) {
        orr_outq_drain(&s->q, s->pcie);
        return;
    }
    if (ev->kind == ORR_TK_MSG) {
        unsigned type = pcie_hdr_unpack(ev->data[0]).type;
        if (type == PCIE_CPLD || type == PCIE_CPL_UR)
            completion(c, s, ev);
        else if (s->powered || type == PCIE_MWR || type == PCIE_MRD)
            bar_access(c, s, ev);
        return;
    }
    if (ev->kind == ORR_TK_TIMER && ev->port == T_DESTAGE) {
        if (ev->data[1] == s->pepoch)
            destage_done(c, s, (int)ev->data[0]);
        return;
    }
    if (ev->kind != ORR_TK_TIMER || ev->data[1] != s->epoch)
        return; /* invariant 1 */
    unsigned slot = (unsigned)ev->data[0];
    switch (ev->port) {
    case T_READY:
        s->csts = (s->csts & ~1u) | (ev->data[0] ? 1u : 0u);
        if (!ev->data[0])
            s->csts &= ~2u; /* reset clears CFS */
        fetch_pump(c, s);
        break;
    case T_EXEC:
        if (s->aCmd[slot].used && !s->fatal)
            exec_cmd(c, s, slot);
        break;
    case T_MEDIA:
        if (s->aCmd[slot].used && !s->fatal)
            read_out(c, s, slot);
        break;
    case T_PROGRAMMED: {
        struct ncmd *k = &s->aCmd[slot];
        if (!k->used || s->fatal)
            break;
        for (uint32_t i = 0; i < k->nblk; i++)
            media_write(s, k->slba + i, k->buf + (size_t)i * NVME_LBA_BYTES);
        s->wr_bytes->v += k->nbytes;
        cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
        break;
    }
    case T_CACHED:
        if (s->aCmd[slot].used && !s->fatal) {
            s->wr_bytes->v += s->aCmd[slot].nbytes;
            cmd_done(c, s, slot, NVME_SC_SUCCESS, 0);
        }
        break;
    case T_POWER_ON:
        s->powered = true;
        break;
    default:
        break;
    }
}

static void nvme_fault(struct orr_component *c, unsigned fault, const struct orr_params *p)
{
    struct nvme *s = c->state;
    if (fault == F_POWER_LOSS) {
        if (s->powered)
            power_loss(c, s, orr_param_u64(p, "off"));
    } else if (fault == F_CONTROLLER_FATAL && s->powered) {
        s->fatal = true;
        s->csts |= 2u;
        orr_trace_point(c, s->kError, 0xFFFFFFFFull, 0xFFFF);
    }
}

static void nvme_destroy(struct orr_component *c)
{
    struct nvme *s = c->state;
    orr_outq_free(&s->q);
    for (unsigned i = 0; s->aCmd && i < s->max_commands; i++) {
        free(s->aCmd[i].aSeg);
        free(s->aCmd[i].buf);
    }
    for (unsigned i = 0; s->aEnt && i < s->nEnt; i++)
        free(s->aEnt[i].data);
    free(s->aCmd);
    for (unsigned i = 0; s->aQ && i < s->nQ; i++)
        free(s->aQ[i].cq_shadow);
    free(s->aQ);
    free(s->aDieFree);
    free(s->aChanFree);
    free(s->aEnt);
    free(s->aHash);
    free(s->aFree);
    free(s->aPend);
    linestore_free(&s->media);
}

static const struct orr_metric_doc nvme_metrics[] = {
    {"reads", "cmd", ORR_METRIC_COUNTER, "READ commands accepted"},
    {"writes", "cmd", ORR_METRIC_COUNTER, "WRITE commands accepted"},
    {"flushes", "cmd", ORR_METRIC_COUNTER, "FLUSH commands"},
    {"admin_commands", "cmd", ORR_METRIC_COUNTER, "admin commands executed"},
    {"errors", "cmd", ORR_METRIC_COUNTER, "completions with a non-zero status (nvme.error)"},
    {"read_bytes", "B", ORR_METRIC_COUNTER, "bytes read by the host"},
    {"write_bytes", "B", ORR_METRIC_COUNTER, "bytes written by the host (acknowledged)"},
    {"cache_hits", "block", ORR_METRIC_COUNTER, "blocks read from the write cache"},
    {"media_reads", "block", ORR_METRIC_COUNTER, "blocks read from the NAND dies"},
    {"destaged", "block", ORR_METRIC_COUNTER, "blocks written from the cache to the media"},
    {"lost_blocks", "block", ORR_METRIC_COUNTER, "dirty cache blocks lost to power loss"},
    {"resets", "", ORR_METRIC_COUNTER, "controller resets (CC.EN 1 -> 0, power loss)"},
    {"power_losses", "", ORR_METRIC_COUNTER, "power_loss faults"},
    {"irqs", "irq", ORR_METRIC_COUNTER, "MSI-X interrupts raised"},
    {"read_latency", "ns", ORR_METRIC_HISTOGRAM, "READ: SQE fetch to CQE sent"},
    {"write_latency", "ns", ORR_METRIC_HISTOGRAM, "WRITE: SQE fetch to CQE sent"},
    {"flush_latency", "ns", ORR_METRIC_HISTOGRAM, "FLUSH: SQE fetch to CQE sent"},
    {"cache_dirty", "block", ORR_METRIC_GAUGE, "dirty blocks in the write cache"},
    {NULL},
};

const struct orr_component_type orr_nvme_type = {
    .name = "nvme",
    .summary = "NVMe-like SSD: queues in host memory, PRP DMA, write cache, NAND dies, "
               "reset and power loss",
    .params = nvme_params,
    .ports = nvme_ports,
    .faults = nvme_faults,
    .metrics = nvme_metrics,
    .state_size = sizeof(struct nvme),
    .create = nvme_create,
    .start = nvme_start,
    .handle = nvme_handle,
    .fault = nvme_fault,
    .destroy = nvme_destroy,
    .no_checkpoint = "nvme keeps its commands, cache and media outside checkpoints (not yet "
                     "saved)",
};
