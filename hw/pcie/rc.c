/* pcie_rc: a PCIe root complex. Devices on ports dev0..dev<N-1> read and
 * write host memory by DMA; the root complex turns each TLP into 64-byte
 * line requests on its `mem` port (include/orrery/mem.h) and each MSI-X
 * write into a counted interrupt; a host on the `host` port reaches device
 * BARs with MMIO messages (include/orrery/pcie.h, docs/pcie.md).
 *
 * DMA (one op per TLP, one line tag per line request):
 *
 *   MRD  addr,len -> RD for every line in [addr, addr+len) -> all RD_RESP in
 *        -> one CPLD (tag and requester of the MRD) back to the device
 *   MWR  addr,len -> a line fully covered: WR; a partial line: RD, merge, WR
 *        -> all WR_ACK in -> op retired (an MWR is posted: no completion)
 *   MWR  in the MSI-X window -> irq (counted, trace point pcie.irq)
 *
 * Hosts: port `host` (a test host, any component speaking pcie.h MMIO)
 * and cpu0..cpu<N-1> (a machine's kernel CPUs, `cpus`). Each MMIO read is
 * answered on the port it came from.
 *
 * Interrupts: with port `irq` linked (to an interrupt controller's devN)
 * each MSI-X write becomes an IRQ_OP_MSI message (include/orrery/irq.h);
 * unlinked, it is only counted and traced, as before.
 *
 * The IOMMU (`iommu: true`): every DMA address is a bus address of the
 * device's own space, translated page by page through the mappings the
 * kernel made (IOMMU_MAP / IOMMU_UNMAP commands on a host port:
 * hal_dma_map). An IOTLB of `iotlb_entries` (fully associative, LRU,
 * tagged by device) caches translations; a miss costs `iotlb_miss`
 * (the table walk, not modelled access by access: the tables live in the
 * IOMMU, not in simulated memory). A TLP touching a page the device was
 * not granted (or writing one granted read-only) is refused whole: an MRD
 * gets CPL_UR, an MWR is dropped; the fault is counted, traced
 * (iommu.fault) and sent to the interrupt controller (kern_dma_fault).
 * Bus addresses come from a per-device bump allocator from `iova_base`.
 * `passthrough`: a page no mapping covers translates to itself (the
 * IOTLB still caches and charges it), for devices nobody maps for.
 * Off, bus addresses are physical ones and nothing is checked.
 *
 * Invariants: a line tag is in use iff a line request is outstanding; an
 * op is retired when its last line is answered; no line request goes to
 * memory for a TLP the IOMMU refused; an IOTLB entry always matches a
 * live mapping (unmapping and drop_mapping purge the device's entries).
 * Simplified: writes to one
 * line from two ops in flight are not ordered against each other (a
 * partial-line RMW can lose the other's bytes), and completions are never
 * split. Each downstream port serialises TLPs at its gen/width. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/pcie_rc.h"
#include "orrery/checkpoint.h"
#include "orrery/irq.h"
#include "orrery/mem.h"
#include "orrery/pcie.h"
#include "orrery/sim.h"
#include "orrery/outq.h"
#include "orrery/error.h"

#define RC_LINE_TAGS (ORR_MEM_TAG_MAX + 1)
#define RC_HOST_TAGS 1024u
#define RC_PAGE 4096u
#define RC_MAX_MAPS 65536u /* live IOMMU mappings: a kernel mapping more gets ENOSPC */

const struct orr_param pcie_rc_params[] = {
    {"ports", ORR_P_UINT, "1", ORR_PF_POSITIVE, "downstream ports, named dev0..dev<N-1>", NULL, 1,
     32},
    PCIE_LINK_PARAMS,
    {"latency", ORR_P_TIME, "100ns", 0, "root complex processing per TLP, each direction"},
    {"bar_base", ORR_P_SIZE, "64GiB", 0, "BAR of device port 0; port i's is bar_base + i*bar_size"},
    {"bar_size", ORR_P_SIZE, "1MiB", ORR_PF_POSITIVE, "bytes of each device's BAR"},
    {"msix_base", ORR_P_SIZE, "4078MiB", 0, "MSI-X window (4 KiB): device writes here are interrupts"},
    {"cpus", ORR_P_UINT, "0", 0, "kernel CPUs doing MMIO, on ports cpu0..cpu<N-1> (a machine sets it)",
     NULL, 0, 256},
    {"iommu", ORR_P_BOOL, "false", 0,
     "translate and check every DMA address through the kernel's mappings (hal_dma_map)"},
    {"iotlb_entries", ORR_P_UINT, "64", ORR_PF_POSITIVE, "IOTLB entries (fully associative, LRU)",
     NULL, 1, 4096},
    {"iotlb_miss", ORR_P_TIME, "150ns", 0, "an IOTLB miss: the IOMMU's table walk"},
    {"iova_base", ORR_P_SIZE, "4GiB", 0, "first bus address the IOMMU hands out, per device"},
    {"passthrough", ORR_P_BOOL, "false", 0,
     "with iommu: a page no mapping covers translates to itself (a passthrough domain: devices "
     "with no driver to map for them, NICs, still go through the IOTLB); nothing is refused"},
    {NULL},
};

static const struct orr_param drop_params[] = {
    {"device", ORR_P_UINT, "0", 0, "the downstream port whose newest mapping is lost", NULL, 0, 31},
    {NULL},
};
enum { F_DROP_MAPPING };
static const struct orr_fault_desc rc_faults[] = {
    {"drop_mapping",
     "the IOMMU loses device `device`'s newest mapping (a corrupted table entry): its next DMA "
     "there faults",
     drop_params},
    {NULL},
};

static const struct orr_port_doc rc_ports[] = {
    {"dev<N>", "TLPs to and from the device (or switch) on downstream port N"},
    {"mem", "line requests to memory (include/orrery/mem.h)"},
    {"host", "MMIO messages from a host (include/orrery/pcie.h)"},
    {"cpu<N>", "MMIO and IOMMU commands from kernel CPU N (include/orrery/pcie.h)"},
    {"irq", "MSI-X vectors and IOMMU faults to an interrupt controller (include/orrery/irq.h)"},
    {NULL},
};

enum { OP_READ = 1, OP_WRITE = 2 };
enum { LINE_RD = 1, LINE_RMW = 2, LINE_WR = 3 };
enum { TIMER_SEND_DEV = 1 };

struct rc_op {
    uint8_t kind;
    uint16_t port;
    struct pcie_hdr hdr;
    uint64_t addr;
    uint32_t lines_left;
    uint8_t *buf; /* READ: bytes being assembled; WRITE: the payload */
};

struct rc_line {
    uint8_t phase; /* 0 = free */
    uint32_t op;
    uint64_t line; /* the line in the device's (bus) address space */
    uint64_t pa;   /* where it is in memory (line without an IOMMU) */
};

struct rc_host_read {
    bool used;
    uint16_t host; /* the port it came from (index into aHostPort) */
    uint64_t word; /* the MMIO_RD */
};

/* One hal_dma_map: npages pages of device dev from bus page `bus`. */
struct rc_map {
    uint32_t dev;
    bool write;
    uint64_t bus, pa, npages; /* page numbers */
};

struct rc_iotlb {
    bool valid, write;
    uint32_t dev;
    uint64_t bus, pa; /* page numbers */
    uint64_t used;    /* LRU stamp */
};

struct rc {
    unsigned nDev, nHost;
    struct orr_port **aDev, *mem, *irq, **aHostPort; /* aHostPort[0] = host, then cpu<N> */
    struct pcie_tx *aTx;
    struct orr_outq *aDevQ, memQ, *aHostQ, irqQ;
    orr_time_t latency;
    uint64_t bar_base, bar_size, msix_base;
    struct rc_op *aOp;
    uint32_t nOp, *aFreeOp, nFreeOp;
    struct rc_line aLine[RC_LINE_TAGS];
    unsigned line_cursor;
    struct rc_host_read aHost[RC_HOST_TAGS];
    uint16_t kIrq, kBadBar, kFault;
    /* the IOMMU */
    bool iommu, passthrough;
    orr_time_t iotlb_miss;
    uint64_t iova_base, *aNextBus; /* per device: next free bus page */
    orr_time_t *aXlateFree;        /* per device: its translations are serialised */
    struct rc_map *aMap;
    size_t nMap, nMapAlloc;
    struct rc_iotlb *aTlb;
    unsigned nTlb;
    uint64_t tlb_clock;
    struct orr_counter *irqs, *bad_bar, *unsupported, *dma_rd_bytes, *dma_wr_bytes, *mem_reads,
        *mem_writes, *mmio, *iotlb_hits, *iotlb_misses, *iommu_faults, *maps, *unmaps, *dropped;
};

static int rc_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct rc *s = c->state;
    struct pcie_tx t;
    int rc = pcie_link_params(p, c->keypath, d, &t);
    s->nDev = (unsigned)orr_param_u64(p, "ports");
    s->latency = orr_param_u64(p, "latency");
    s->bar_base = orr_param_u64(p, "bar_base");
    s->bar_size = orr_param_u64(p, "bar_size");
    s->msix_base = orr_param_u64(p, "msix_base");
    s->nHost = 1 + (unsigned)orr_param_u64(p, "cpus");
    s->iommu = orr_param_bool(p, "iommu");
    s->passthrough = orr_param_bool(p, "passthrough");
    s->iotlb_miss = orr_param_u64(p, "iotlb_miss");
    s->iova_base = orr_param_u64(p, "iova_base");
    s->nTlb = (unsigned)orr_param_u64(p, "iotlb_entries");
    if (s->iova_base % RC_PAGE) {
        orr_diag_error(d, orr_param_mark(p, "iova_base"), c->keypath,
                       "iova_base %#llx: bus addresses are whole 4 KiB pages",
                       (unsigned long long)s->iova_base);
        rc = ORR_ESCHEMA;
    }
    s->aDev = calloc(s->nDev, sizeof *s->aDev);
    s->aTx = calloc(s->nDev, sizeof *s->aTx);
    s->aDevQ = calloc(s->nDev, sizeof *s->aDevQ);
    s->aHostPort = calloc(s->nHost, sizeof *s->aHostPort);
    s->aHostQ = calloc(s->nHost, sizeof *s->aHostQ);
    s->aNextBus = calloc(s->nDev, sizeof *s->aNextBus);
    s->aXlateFree = calloc(s->nDev, sizeof *s->aXlateFree);
    s->aTlb = calloc(s->nTlb, sizeof *s->aTlb);
    if (!s->aDev || !s->aTx || !s->aDevQ || !s->aHostPort || !s->aHostQ || !s->aNextBus ||
        !s->aXlateFree || !s->aTlb)
        orr_oom();
    for (unsigned i = 0; i < s->nDev; i++)
        s->aNextBus[i] = s->iova_base / RC_PAGE;
    for (unsigned i = 0; i < s->nDev; i++) {
        char name[16];
        snprintf(name, sizeof name, "dev%u", i);
        s->aDev[i] = orr_port_add(c, name);
        s->aTx[i] = t;
    }
    s->mem = orr_port_add(c, "mem");
    s->aHostPort[0] = orr_port_add(c, "host");
    for (unsigned i = 1; i < s->nHost; i++) {
        char name[16];
        snprintf(name, sizeof name, "cpu%u", i - 1);
        s->aHostPort[i] = orr_port_add(c, name);
    }
    s->irq = orr_port_add(c, "irq");
    s->kIrq = orr_trace_kind(c, "pcie.irq");
    s->kBadBar = orr_trace_kind(c, "pcie.bad_bar");
    s->kFault = orr_trace_kind(c, "iommu.fault");
    s->irqs = orr_counter_new(c, "irqs", "irq");
    s->bad_bar = orr_counter_new(c, "mmio_bad_bar", "req");
    s->unsupported = orr_counter_new(c, "unsupported_requests", "tlp");
    s->dma_rd_bytes = orr_counter_new(c, "dma_read_bytes", "B");
    s->dma_wr_bytes = orr_counter_new(c, "dma_write_bytes", "B");
    s->mem_reads = orr_counter_new(c, "mem_reads", "line");
    s->mem_writes = orr_counter_new(c, "mem_writes", "line");
    s->mmio = orr_counter_new(c, "mmio_requests", "req");
    s->iotlb_hits = orr_counter_new(c, "iommu.iotlb_hits", "page");
    s->iotlb_misses = orr_counter_new(c, "iommu.iotlb_misses", "page");
    s->iommu_faults = orr_counter_new(c, "iommu.faults", "tlp");
    s->maps = orr_counter_new(c, "iommu.maps", "");
    s->unmaps = orr_counter_new(c, "iommu.unmaps", "");
    s->dropped = orr_counter_new(c, "iommu.dropped_mappings", "");
    return rc;
}

static int rc_start(struct orr_component *c, struct orr_diag *d)
{
    struct rc *s = c->state;
    if (!s->mem->link) {
        orr_diag_error(d, &c->mark, c->keypath, "port 'mem' of %s is not linked to memory", c->path);
        return ORR_ESCHEMA;
    }
    return 0;
}

/* Send a TLP down port i: after the processing latency, serialised. */
static void send_dev(struct orr_component *c, struct rc *s, unsigned i, const struct orr_msg *m)
{
    orr_time_t ser = pcie_tx_delay(&s->aTx[i], orr_now(c->sim) + s->latency, m->size);
    orr_outq_send(&s->aDevQ[i], s->aDev[i], m, s->latency + ser);
}

static uint32_t op_alloc(struct rc *s)
{
    if (s->nFreeOp)
        return s->aFreeOp[--s->nFreeOp];
    struct rc_op *a = realloc(s->aOp, (s->nOp + 1) * sizeof *a);
    uint32_t *f = realloc(s->aFreeOp, (s->nOp + 1) * sizeof *f);
    if (!a || !f)
        orr_oom();
    s->aOp = a;
    s->aFreeOp = f;
    return s->nOp++;
}

static void op_free(struct rc *s, uint32_t i)
{
    free(s->aOp[i].buf);
    s->aOp[i].buf = NULL;
    s->aOp[i].kind = 0;
    s->aFreeOp[s->nFreeOp++] = i;
}

/* Issue one line request for op `op`; false if no line tag is free. */
static bool line_issue(struct orr_component *c, struct rc *s, uint32_t op, uint64_t line,
                       uint64_t pa, uint8_t phase, const uint8_t *wr_bytes, orr_time_t delay)
{
    unsigned t = s->line_cursor, n = 0;
    while (s->aLine[t].phase && n < RC_LINE_TAGS) {
        t = (t + 1) % RC_LINE_TAGS;
        n++;
    }
    if (n == RC_LINE_TAGS)
        return false;
    s->line_cursor = (t + 1) % RC_LINE_TAGS;
    s->aLine[t] = (struct rc_line){.phase = phase, .op = op, .line = line, .pa = pa};
    struct orr_msg m = {.size = ORR_MEM_HDR_BYTES};
    if (phase == LINE_WR) {
        void *b;
        m.size += ORR_LINE_BYTES;
        m.data[0] = orr_mem_pack(pa, ORR_MEM_WR, t);
        m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, &b);
        memcpy(b, wr_bytes, ORR_LINE_BYTES);
        s->mem_writes->v++;
    } else {
        m.data[0] = orr_mem_pack(pa, ORR_MEM_RD, t);
        s->mem_reads->v++;
    }
    orr_outq_send(&s->memQ, s->mem, &m, delay);
    return true;
}

/* The overlap of line [line, line+64) with [addr, addr+len): offsets in
 * the line (lo) and in the op's buffer (off), and its length. */
static uint32_t overlap(uint64_t line, uint64_t addr, uint32_t len, uint32_t *lo, uint32_t *off)
{
    uint64_t a = line > addr ? line : addr;
    uint64_t e = line + ORR_LINE_BYTES < addr + len ? line + ORR_LINE_BYTES : addr + len;
    *lo = (uint32_t)(a - line);
    *off = (uint32_t)(a - addr);
    return (uint32_t)(e - a);
}

/* ------------------------------------------------------------ the IOMMU */

static struct rc_map *map_find(struct rc *s, unsigned dev, uint64_t page)
{
    for (size_t i = 0; i < s->nMap; i++) {
        struct rc_map *m = &s->aMap[i];
        if (m->dev == dev && page >= m->bus && page - m->bus < m->npages)
            return m;
    }
    return NULL;
}

/* Drop the device's IOTLB entries for bus pages [first, first + n). */
static void iotlb_purge(struct rc *s, unsigned dev, uint64_t first, uint64_t n)
{
    for (unsigned i = 0; i < s->nTlb; i++) {
        struct rc_iotlb *e = &s->aTlb[i];
        if (e->valid && e->dev == dev && e->bus >= first && e->bus - first < n)
            e->valid = false;
    }
}

/* Translate one bus page of device dev for an access; false: a fault.
 * *miss counts the IOTLB misses (each a table walk). */
static bool iommu_page(struct rc *s, unsigned dev, uint64_t page, bool write, uint64_t *pa,
                       unsigned *miss)
{
    struct rc_iotlb *victim = &s->aTlb[0];
    for (unsigned i = 0; i < s->nTlb; i++) {
        struct rc_iotlb *e = &s->aTlb[i];
        if (e->valid && e->dev == dev && e->bus == page) {
            if (write && !e->write)
                return false;
            e->used = ++s->tlb_clock;
            s->iotlb_hits->v++;
            *pa = e->pa;
            return true;
        }
        if (!e->valid ? victim->valid : victim->valid && e->used < victim->used)
            victim = e;
    }
    (*miss)++;
    s->iotlb_misses->v++;
    const struct rc_map *m = map_find(s, dev, page);
    bool mw = m ? m->write : s->passthrough;
    if ((!m && !s->passthrough) || (m && write && !m->write))
        return false;
    *pa = m ? m->pa + (page - m->bus) : page;
    *victim = (struct rc_iotlb){.valid = true, .write = mw, .dev = dev, .bus = page,
                                .pa = *pa, .used = ++s->tlb_clock};
    return true;
}

/* Where a TLP's pages are in memory: pa[i] for bus page first + i (a TLP
 * of at most 8191 bytes spans at most 3 pages). */
#define RC_TLP_PAGES 3
struct rc_xlate {
    uint64_t first, pa[RC_TLP_PAGES];
};

/* A device's TLP touching [addr, addr + len): every page must be granted
 * (the whole TLP is refused otherwise); x gets the translations, once per
 * page, for dma_start. *delay: when its line requests may go, after the
 * device's earlier translations and this one's walks. */
static bool iommu_check(struct orr_component *c, struct rc *s, unsigned dev, uint64_t addr,
                        uint32_t len, bool write, struct rc_xlate *x, orr_time_t *delay)
{
    *delay = 0;
    x->first = addr / RC_PAGE;
    uint64_t last = (addr + (len ? len : 1) - 1) / RC_PAGE;
    for (uint64_t page = x->first; page <= last; page++)
        x->pa[page - x->first] = page; /* without an IOMMU, bus = physical */
    if (!s->iommu)
        return true;
    unsigned miss = 0;
    for (uint64_t page = x->first; page <= last; page++)
        if (!iommu_page(s, dev, page, write, &x->pa[page - x->first], &miss)) {
            s->iommu_faults->v++;
            orr_trace_point(c, s->kFault, dev, addr);
            if (orr_port_peer(s->irq)) {
                struct orr_msg m = {.size = IRQ_MSG_BYTES,
                                    .data = {irq_pack(IRQ_OP_DMA_FAULT,
                                                      (uint64_t)(write ? 2 : 1) << 32 | dev),
                                             page * RC_PAGE}};
                orr_outq_send(&s->irqQ, s->irq, &m, s->latency);
            }
            return false;
        }
    orr_time_t now = orr_now(c->sim), start = s->aXlateFree[dev] > now ? s->aXlateFree[dev] : now;
    s->aXlateFree[dev] = start + miss * s->iotlb_miss;
    *delay = s->aXlateFree[dev] - now;
    return true;
}

/* An IOMMU command from a host: the answer for MMIO_RESP's data[1]. An
 * unmap revokes the whole mappings that start in [bus, bus + len). */
static int64_t iommu_command(struct rc *s, enum pcie_mmio_op op, const struct pcie_iommu_cmd *k)
{
    if (k->dev >= s->nDev || k->len == 0)
        return PCIE_IOMMU_EINVAL;
    if (op == PCIE_IOMMU_MAP) {
        s->maps->v++;
        if (!s->iommu)
            return (int64_t)k->pa;
        uint64_t first = k->pa / RC_PAGE, n = (k->pa + k->len - 1) / RC_PAGE - first + 1;
        if (s->aNextBus[k->dev] + n > (UINT64_C(1) << 36) || s->nMap == RC_MAX_MAPS)
            return PCIE_IOMMU_ENOSPC;
        if (s->nMap == s->nMapAlloc) {
            s->nMapAlloc = s->nMapAlloc ? 2 * s->nMapAlloc : 16;
            s->aMap = realloc(s->aMap, s->nMapAlloc * sizeof *s->aMap);
            if (!s->aMap)
                orr_oom();
        }
        uint64_t bus = s->aNextBus[k->dev];
        s->aNextBus[k->dev] += n;
        s->aMap[s->nMap++] = (struct rc_map){.dev = k->dev, .write = k->write != 0, .bus = bus,
                                             .pa = first, .npages = n};
        return (int64_t)(bus * RC_PAGE + k->pa % RC_PAGE);
    }
    s->unmaps->v++;
    if (!s->iommu)
        return 0;
    uint64_t first = k->bus / RC_PAGE, n = (k->bus + k->len - 1) / RC_PAGE - first + 1;
    size_t w = 0;
    bool found = false;
    for (size_t i = 0; i < s->nMap; i++) {
        struct rc_map *m = &s->aMap[i];
        if (m->dev == k->dev && m->bus >= first && m->bus - first < n) {
            found = true;
            continue;
        }
        s->aMap[w++] = *m;
    }
    s->nMap = w;
    iotlb_purge(s, k->dev, first, n);
    return found ? 0 : PCIE_IOMMU_ENOENT;
}

static void dma_start(struct orr_component *c, struct rc *s, unsigned port, struct pcie_hdr h,
                      uint64_t addr, uint8_t *buf, const struct rc_xlate *x, orr_time_t delay)
{
    uint32_t i = op_alloc(s);
    struct rc_op *op = &s->aOp[i];
    uint64_t first = addr & ~(uint64_t)(ORR_LINE_BYTES - 1);
    uint64_t end = addr + (h.length ? h.length : 1);
    *op = (struct rc_op){.kind = h.type == PCIE_MRD ? OP_READ : OP_WRITE, .port = (uint16_t)port,
                         .hdr = h, .addr = addr, .buf = buf};
    op->lines_left = (uint32_t)((end - first + ORR_LINE_BYTES - 1) / ORR_LINE_BYTES);
    if (op->kind == OP_READ)
        s->dma_rd_bytes->v += h.length;
    else
        s->dma_wr_bytes->v += h.length;
    for (uint64_t line = first; line < end; line += ORR_LINE_BYTES) {
        uint32_t lo, off, n = overlap(line, addr, h.length, &lo, &off);
        uint8_t phase = op->kind == OP_READ ? LINE_RD : n == ORR_LINE_BYTES ? LINE_WR : LINE_RMW;
        uint64_t pa = x->pa[line / RC_PAGE - x->first] * RC_PAGE + line % RC_PAGE;
        if (!line_issue(c, s, i, line, pa, phase, buf + off, delay)) {
            orr_sim_fail(c, "dev%u: more than %u line requests outstanding", port, RC_LINE_TAGS);
            return;
        }
    }
}

static void tlp_from_device(struct orr_component *c, struct rc *s, unsigned port,
                            const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    if (h.type == PCIE_CPLD || h.type == PCIE_CPL_UR) { /* answers an MMIO read */
        uint64_t value = ~UINT64_C(0);
        if (h.type == PCIE_CPLD) {
            value = 0;
            memcpy(&value, orr_blob_get(c->sim, ev->data[1]), h.length < 8 ? h.length : 8);
            orr_blob_free(c->sim, ev->data[1]);
        }
        if (h.requester != 0 || !s->aHost[h.tag].used) {
            s->unsupported->v++;
            return;
        }
        s->aHost[h.tag].used = false;
        uint64_t w = s->aHost[h.tag].word;
        unsigned host = s->aHost[h.tag].host;
        struct orr_msg m = {.size = PCIE_MMIO_BYTES,
                            .data = {pcie_mmio_pack(PCIE_MMIO_RESP, pcie_mmio_size(w),
                                                    pcie_mmio_addr(w)), value}};
        orr_outq_send(&s->aHostQ[host], s->aHostPort[host], &m, s->latency);
        return;
    }
    if (h.type == PCIE_MRD) {
        uint64_t addr = ev->data[1];
        if (addr >= s->msix_base && addr < s->msix_base + 4096) {
            s->unsupported->v++;
            struct pcie_hdr u = {.type = PCIE_CPL_UR, .tag = h.tag, .requester = h.requester};
            struct orr_msg m = {.size = pcie_wire_bytes(0), .data = {pcie_hdr_pack(&u), 0}};
            send_dev(c, s, port, &m);
            return;
        }
        orr_time_t delay;
        struct rc_xlate x;
        if (!iommu_check(c, s, port, addr, h.length, false, &x, &delay)) {
            struct pcie_hdr u = {.type = PCIE_CPL_UR, .tag = h.tag, .requester = h.requester};
            struct orr_msg m = {.size = pcie_wire_bytes(0), .data = {pcie_hdr_pack(&u), 0}};
            send_dev(c, s, port, &m);
            return;
        }
        uint8_t *buf = calloc(h.length ? h.length : 1, 1);
        if (!buf)
            orr_oom();
        dma_start(c, s, port, h, addr, buf, &x, delay);
        return;
    }
    if (h.type != PCIE_MWR) {
        s->unsupported->v++;
        return;
    }
    const uint8_t *blob = orr_blob_get(c->sim, ev->data[1]);
    uint64_t addr;
    memcpy(&addr, blob, sizeof addr);
    if (addr >= s->msix_base && addr < s->msix_base + 4096) {
        uint32_t vector = 0;
        memcpy(&vector, blob + PCIE_WR_ADDR_BYTES, h.length < 4 ? h.length : 4);
        s->irqs->v++;
        orr_trace_point(c, s->kIrq, port, vector);
        orr_blob_free(c->sim, ev->data[1]);
        if (orr_port_peer(s->irq)) {
            struct orr_msg m = {.size = IRQ_MSG_BYTES,
                                .data = {irq_pack(IRQ_OP_MSI, vector % IRQ_VECTORS), port}};
            orr_outq_send(&s->irqQ, s->irq, &m, s->latency);
        }
        return;
    }
    orr_time_t delay;
    struct rc_xlate x;
    if (h.length && !iommu_check(c, s, port, addr, h.length, true, &x, &delay)) {
        orr_blob_free(c->sim, ev->data[1]);
        return; /* posted: the device never learns; the kernel does */
    }
    uint8_t *buf = malloc(h.length ? h.length : 1);
    if (!buf)
        orr_oom();
    memcpy(buf, blob + PCIE_WR_ADDR_BYTES, h.length);
    orr_blob_free(c->sim, ev->data[1]);
    if (h.length)
        dma_start(c, s, port, h, addr, buf, &x, delay);
    else
        free(buf);
}

static void line_done(struct orr_component *c, struct rc *s, uint32_t i)
{
    struct rc_op *op = &s->aOp[i];
    if (--op->lines_left)
        return;
    if (op->kind == OP_READ) {
        void *b;
        struct pcie_hdr h = op->hdr;
        h.type = PCIE_CPLD;
        struct orr_msg m = {.size = pcie_wire_bytes(h.length), .data = {pcie_hdr_pack(&h), 0}};
        m.data[1] = orr_blob_new(c->sim, h.length ? h.length : 1, &b);
        memcpy(b, op->buf, h.length);
        send_dev(c, s, op->port, &m);
    }
    op_free(s, i);
}

static void from_memory(struct orr_component *c, struct rc *s, const struct orr_event *ev)
{
    unsigned t = orr_mem_tag(ev->data[0]);
    struct rc_line *l = &s->aLine[t];
    if (!l->phase) {
        orr_sim_fail(c, "mem: response with tag %u that is not outstanding", t);
        return;
    }
    struct rc_op *op = &s->aOp[l->op];
    uint32_t lo, off, n = overlap(l->line, op->addr, op->hdr.length, &lo, &off);
    uint8_t phase = l->phase;
    uint32_t opi = l->op;
    uint64_t line = l->line, pa = l->pa;
    l->phase = 0;
    if (orr_mem_cmd(ev->data[0]) == ORR_MEM_WR_ACK) {
        line_done(c, s, opi);
        return;
    }
    uint8_t *bytes = orr_blob_get(c->sim, ev->data[1]);
    if (phase == LINE_RD) {
        memcpy(op->buf + off, bytes + lo, n);
        orr_blob_free(c->sim, ev->data[1]);
        line_done(c, s, opi);
        return;
    }
    /* read-modify-write of a partial line */
    uint8_t merged[ORR_LINE_BYTES];
    memcpy(merged, bytes, ORR_LINE_BYTES);
    memcpy(merged + lo, op->buf + off, n);
    orr_blob_free(c->sim, ev->data[1]);
    if (!line_issue(c, s, opi, line, pa, LINE_WR, merged, 0))
        orr_sim_fail(c, "mem: no line tag for a read-modify-write");
}

/* Which device port's BAR holds addr; nDev if none. */
static unsigned bar_port(const struct rc *s, uint64_t addr)
{
    if (addr < s->bar_base)
        return s->nDev;
    uint64_t i = (addr - s->bar_base) / s->bar_size;
    return i < s->nDev ? (unsigned)i : s->nDev;
}

static void from_host(struct orr_component *c, struct rc *s, unsigned host,
                      const struct orr_event *ev)
{
    uint64_t w = ev->data[0], addr = pcie_mmio_addr(w);
    unsigned size = pcie_mmio_size(w), port = bar_port(s, addr);
    enum pcie_mmio_op op = pcie_mmio_op(w);
    if (op == PCIE_IOMMU_MAP || op == PCIE_IOMMU_UNMAP) {
        struct pcie_iommu_cmd k;
        memcpy(&k, orr_blob_get(c->sim, ev->data[1]), sizeof k);
        orr_blob_free(c->sim, ev->data[1]);
        int64_t r = iommu_command(s, op, &k);
        struct orr_msg m = {.size = PCIE_MMIO_BYTES,
                            .data = {pcie_mmio_pack(PCIE_MMIO_RESP, 0, 0), (uint64_t)r}};
        orr_outq_send(&s->aHostQ[host], s->aHostPort[host], &m, s->latency);
        return;
    }
    s->mmio->v++;
    if (port == s->nDev || size == 0 || size > 8) {
        s->bad_bar->v++;
        orr_trace_point(c, s->kBadBar, w, 0);
        if (op == PCIE_MMIO_RD) {
            struct orr_msg m = {.size = PCIE_MMIO_BYTES,
                                .data = {pcie_mmio_pack(PCIE_MMIO_RESP, size, addr), ~UINT64_C(0)}};
            orr_outq_send(&s->aHostQ[host], s->aHostPort[host], &m, s->latency);
        }
        return;
    }
    uint64_t offset = addr - s->bar_base - port * s->bar_size;
    if (op == PCIE_MMIO_WR) {
        struct orr_msg m = pcie_mwr(c->sim, 0, offset, &ev->data[1], size);
        send_dev(c, s, port, &m);
        return;
    }
    unsigned t = 0;
    while (t < RC_HOST_TAGS && s->aHost[t].used)
        t++;
    if (t == RC_HOST_TAGS) {
        orr_sim_fail(c, "host: more than %u MMIO reads outstanding", RC_HOST_TAGS);
        return;
    }
    s->aHost[t] = (struct rc_host_read){.used = true, .host = (uint16_t)host, .word = w};
    struct orr_msg m = pcie_mrd(0, t, offset, size);
    send_dev(c, s, port, &m);
}

static void rc_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct rc *s = c->state;
    unsigned mem = s->mem->index, host0 = s->aHostPort[0]->index;
    bool host = ev->port >= host0 && ev->port - host0 < s->nHost;
    if (ev->kind == ORR_TK_READY) {
        if (ev->port == mem)
            orr_outq_drain(&s->memQ, s->mem);
        else if (host)
            orr_outq_drain(&s->aHostQ[ev->port - host0], s->aHostPort[ev->port - host0]);
        else if (ev->port == s->irq->index)
            orr_outq_drain(&s->irqQ, s->irq);
        else
            orr_outq_drain(&s->aDevQ[ev->port], s->aDev[ev->port]);
        return;
    }
    if (ev->kind != ORR_TK_MSG)
        return;
    if (ev->port == mem)
        from_memory(c, s, ev);
    else if (host)
        from_host(c, s, ev->port - host0, ev);
    else if (ev->port < s->nDev)
        tlp_from_device(c, s, ev->port, ev);
}

static int rc_fault_check(struct orr_component *c, unsigned fault, const struct orr_params *p,
                          const struct orr_mark *mark, struct orr_diag *d)
{
    struct rc *s = c->state;
    (void)fault;
    if (!s->iommu) {
        orr_diag_error(d, mark, c->keypath,
                       "drop_mapping: %s has no IOMMU (set iommu: true, or machine.pcie.iommu)",
                       c->path);
        return ORR_ESCHEMA;
    }
    if (orr_param_u64(p, "device") >= s->nDev) {
        orr_diag_error(d, mark, c->keypath, "drop_mapping: device %llu, but %s has %u ports",
                       (unsigned long long)orr_param_u64(p, "device"), c->path, s->nDev);
        return ORR_ESCHEMA;
    }
    return 0;
}

static void rc_fault(struct orr_component *c, unsigned fault, const struct orr_params *p)
{
    struct rc *s = c->state;
    unsigned dev = (unsigned)orr_param_u64(p, "device");
    if (fault != F_DROP_MAPPING || dev >= s->nDev)
        return;
    for (size_t i = s->nMap; i-- > 0;)
        if (s->aMap[i].dev == dev) {
            struct rc_map m = s->aMap[i];
            memmove(&s->aMap[i], &s->aMap[i + 1], (s->nMap - i - 1) * sizeof m);
            s->nMap--;
            iotlb_purge(s, dev, m.bus, m.npages);
            s->dropped->v++;
            return;
        }
}

static void rc_destroy(struct orr_component *c)
{
    struct rc *s = c->state;
    for (uint32_t i = 0; i < s->nOp; i++)
        free(s->aOp[i].buf);
    for (unsigned i = 0; s->aDevQ && i < s->nDev; i++)
        orr_outq_free(&s->aDevQ[i]);
    for (unsigned i = 0; s->aHostQ && i < s->nHost; i++)
        orr_outq_free(&s->aHostQ[i]);
    orr_outq_free(&s->memQ);
    orr_outq_free(&s->irqQ);
    free(s->aHostQ);
    free(s->aHostPort);
    free(s->aNextBus);
    free(s->aXlateFree);
    free(s->aMap);
    free(s->aTlb);
    free(s->aOp);
    free(s->aFreeOp);
    free(s->aDev);
    free(s->aTx);
    free(s->aDevQ);
}

static const struct orr_metric_doc rc_metrics[] = {
    {"irqs", "irq", ORR_METRIC_COUNTER,
     "MSI-X interrupts devices raised (MWR to the MSI-X window)"},
    {"mmio_bad_bar", "req", ORR_METRIC_COUNTER,
     "MMIO requests outside every device's BAR, or of a bad size"},
    {"unsupported_requests", "tlp", ORR_METRIC_COUNTER,
     "TLPs refused: reads of the MSI-X window, stray completions, unknown types"},
    {"dma_read_bytes", "B", ORR_METRIC_COUNTER, "bytes devices read from memory by DMA"},
    {"dma_write_bytes", "B", ORR_METRIC_COUNTER, "bytes devices wrote to memory by DMA"},
    {"mem_reads", "line", ORR_METRIC_COUNTER, "line reads sent to memory (port mem)"},
    {"mem_writes", "line", ORR_METRIC_COUNTER, "line writes sent to memory (port mem)"},
    {"mmio_requests", "req", ORR_METRIC_COUNTER, "MMIO requests from the host"},
    {"iommu.iotlb_hits", "page", ORR_METRIC_COUNTER, "DMA pages the IOTLB translated"},
    {"iommu.iotlb_misses", "page", ORR_METRIC_COUNTER,
     "DMA pages that missed the IOTLB (a table walk, iotlb_miss each)"},
    {"iommu.faults", "tlp", ORR_METRIC_COUNTER,
     "DMA requests refused: a page the device was not granted, or a write to a read-only one"},
    {"iommu.maps", "", ORR_METRIC_COUNTER, "IOMMU_MAP commands (hal_dma_map)"},
    {"iommu.unmaps", "", ORR_METRIC_COUNTER, "IOMMU_UNMAP commands (hal_dma_unmap)"},
    {"iommu.dropped_mappings", "", ORR_METRIC_COUNTER, "mappings lost to drop_mapping faults"},
    {NULL},
};

/* Checkpoint/restore: link serialisers, queues, DMA operations (with the
 * bytes each holds: its header's length), line and host tags, and the
 * IOMMU's dynamic state (bus allocation, translation serialisers,
 * mappings, the IOTLB). */
static void rc_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct rc *s = c->state;
    for (unsigned i = 0; i < s->nDev; i++) {
        orr_ckpt_put_u64(w, s->aTx[i].free_at);
        orr_ckpt_put_outq(w, &s->aDevQ[i]);
    }
    orr_ckpt_put_outq(w, &s->memQ);
    for (unsigned i = 0; i < s->nHost; i++)
        orr_ckpt_put_outq(w, &s->aHostQ[i]);
    orr_ckpt_put_outq(w, &s->irqQ);
    orr_ckpt_put_u64(w, s->nOp);
    for (uint32_t i = 0; i < s->nOp; i++) {
        struct rc_op op = s->aOp[i];
        op.buf = NULL;
        orr_ckpt_put_array(w, &op, 1, sizeof op);
        orr_ckpt_put_u8(w, s->aOp[i].buf != NULL);
        if (s->aOp[i].buf)
            orr_ckpt_put_bytes(w, s->aOp[i].buf, op.hdr.length ? op.hdr.length : 1);
    }
    orr_ckpt_put_array(w, s->aFreeOp, s->nFreeOp, sizeof *s->aFreeOp);
    orr_ckpt_put_array(w, s->aLine, RC_LINE_TAGS, sizeof s->aLine[0]);
    orr_ckpt_put_u32(w, s->line_cursor);
    orr_ckpt_put_array(w, s->aHost, RC_HOST_TAGS, sizeof s->aHost[0]);
    orr_ckpt_put_array(w, s->aNextBus, s->nDev, sizeof *s->aNextBus);
    orr_ckpt_put_array(w, s->aXlateFree, s->nDev, sizeof *s->aXlateFree);
    orr_ckpt_put_array(w, s->aMap, s->nMap, sizeof *s->aMap);
    orr_ckpt_put_array(w, s->aTlb, s->nTlb, sizeof *s->aTlb);
    orr_ckpt_put_u64(w, s->tlb_clock);
}

static void rc_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct rc *s = c->state;
    for (unsigned i = 0; i < s->nDev; i++) {
        s->aTx[i].free_at = orr_ckpt_get_u64(r);
        orr_ckpt_get_outq(r, &s->aDevQ[i]);
    }
    orr_ckpt_get_outq(r, &s->memQ);
    for (unsigned i = 0; i < s->nHost; i++)
        orr_ckpt_get_outq(r, &s->aHostQ[i]);
    orr_ckpt_get_outq(r, &s->irqQ);
    for (uint32_t i = 0; i < s->nOp; i++)
        free(s->aOp[i].buf);
    uint32_t nOp = (uint32_t)orr_ckpt_get_count(r, sizeof(struct rc_op));
    free(s->aOp);
    free(s->aFreeOp);
    s->aOp = calloc(nOp + 1, sizeof *s->aOp);
    s->aFreeOp = calloc(nOp + 1, sizeof *s->aFreeOp);
    if (!s->aOp || !s->aFreeOp)
        orr_oom();
    s->nOp = nOp;
    for (uint32_t i = 0; i < nOp && orr_ckpt_ok(r); i++) {
        orr_ckpt_get_into(r, &s->aOp[i], sizeof s->aOp[i]);
        s->aOp[i].buf = NULL;
        if (orr_ckpt_get_u8(r)) {
            size_t n;
            const void *b = orr_ckpt_get_bytes(r, &n);
            if (!orr_ckpt_ok(r))
                break;
            if (!(s->aOp[i].buf = malloc(n ? n : 1)))
                orr_oom();
            if (n)
                memcpy(s->aOp[i].buf, b, n);
        }
    }
    size_t nFree;
    uint32_t *f = orr_ckpt_get_array(r, sizeof *f, &nFree);
    if (f && nFree <= nOp) {
        memcpy(s->aFreeOp, f, nFree * sizeof *f);
        s->nFreeOp = (uint32_t)nFree;
    } else {
        orr_ckpt_fail(r, "more free DMA operations than operations");
    }
    free(f);
    orr_ckpt_get_into(r, s->aLine, sizeof s->aLine);
    s->line_cursor = orr_ckpt_get_u32(r) % RC_LINE_TAGS;
    orr_ckpt_get_into(r, s->aHost, sizeof s->aHost);
    orr_ckpt_get_into(r, s->aNextBus, s->nDev * sizeof *s->aNextBus);
    orr_ckpt_get_into(r, s->aXlateFree, s->nDev * sizeof *s->aXlateFree);
    free(s->aMap);
    s->aMap = orr_ckpt_get_array(r, sizeof *s->aMap, &s->nMap);
    s->nMapAlloc = s->nMap ? s->nMap : 1;
    orr_ckpt_get_into(r, s->aTlb, s->nTlb * sizeof *s->aTlb);
    s->tlb_clock = orr_ckpt_get_u64(r);
}

const struct orr_component_type orr_pcie_rc_type = {
    .name = "pcie_rc",
    .summary = "PCIe root complex: device DMA to 64 B line requests (through an optional IOMMU), "
               "MSI-X to irqs, host MMIO to BARs",
    .params = pcie_rc_params,
    .ports = rc_ports,
    .faults = rc_faults,
    .metrics = rc_metrics,
    .state_size = sizeof(struct rc),
    .create = rc_create,
    .start = rc_start,
    .handle = rc_handle,
    .fault = rc_fault,
    .fault_check = rc_fault_check,
    .destroy = rc_destroy,
    .save = rc_save,
    .restore = rc_restore,
};
