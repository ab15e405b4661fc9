/* dma_engine: a simple PCIe device that copies buffers by DMA, to exercise
 * the whole path (device -> link -> root complex -> memory and back) and
 * measure DMA round trips and copy bandwidth (docs/pcie.md).
 *
 * BAR registers (8 bytes each, written by MMIO through the root complex):
 *   0x00 SRC   0x08 DST   0x10 LEN   0x18 DOORBELL (a write starts a copy)
 *   0x20 DONE  (read: copies completed)
 *   0x28 STATUS (read: bit 0 = a read of the last copy was refused: its
 *        bytes were not copied; cleared by the next doorbell)
 *   0x30 ID    (read: DMA_ENGINE_ID, so a kernel driver can tell the device)
 * A copy reads [SRC, SRC+LEN) in max_read requests (at most `tags` in
 * flight), writes each completion's bytes to DST in max_payload MWRs
 * (mode copy), then raises MSI-X vector `vector` with an MWR to msix_addr.
 * Mode `read` only reads (into the device), mode `write` only writes
 * (zeros, from the device).
 *
 * Without a kernel driver (copies > 0) a built-in one stands in: `copies`
 * copies of `bytes` from `src` to `dst`, each rung by the device on itself
 * as if the host had written the registers, the next one when the last
 * one's interrupt is raised. A workload: done `drain` after the last copy.
 * A refused read (CPL_UR) fails the run under the built-in driver; under
 * a kernel's it sets STATUS and the copy completes without those bytes,
 * for the driver to notice. */
#include <stdlib.h>
#include <string.h>

#include "kernel/dev/dma_engine.h"
#include "orrery/checkpoint.h"
#include "orrery/pcie.h"
#include "orrery/sim.h"
#include "orrery/outq.h"
#include "orrery/error.h"

/* the register map, shared with the kernel's drivers */
enum {
    REG_SRC = DMAE_SRC,
    REG_DST = DMAE_DST,
    REG_LEN = DMAE_LEN,
    REG_DOORBELL = DMAE_DOORBELL,
    REG_DONE = DMAE_DONE,
    REG_STATUS = DMAE_STATUS,
    REG_ID = DMAE_ID,
};
#define DMA_ENGINE_ID ((uint64_t)DMAE_ID_VALUE)
enum { MODE_COPY, MODE_READ, MODE_WRITE };
static const char *const dma_modes[] = {"copy", "read", "write", NULL};
enum { TIMER_RING = 1, TIMER_DONE = 2 };

static const struct orr_param dma_params[] = {
    PCIE_LINK_PARAMS,
    {"requester", ORR_P_UINT, "256", ORR_PF_POSITIVE, "requester id (bus 1, dev 0, fn 0 = 256)",
     NULL, 1, 65535},
    {"msix_addr", ORR_P_SIZE, "4078MiB", 0, "address of the MSI-X write (the root complex's window)"},
    {"vector", ORR_P_UINT, "0", 0, "MSI-X vector raised when a copy completes"},
    {"max_read", ORR_P_SIZE, "512B", ORR_PF_POSITIVE, "largest read request", NULL, 1,
     PCIE_MAX_LENGTH},
    {"max_payload", ORR_P_SIZE, "256B", ORR_PF_POSITIVE, "largest write payload", NULL, 1,
     PCIE_MAX_LENGTH},
    {"tags", ORR_P_UINT, "32", ORR_PF_POSITIVE, "read requests in flight", NULL, 1,
     PCIE_TAG_MAX + 1},
    {"mode", ORR_P_ENUM, "copy", 0, "copy (read then write), read, write", dma_modes},
    {"copies", ORR_P_UINT, "0", 0, "built-in driver: copies to run, one after another"},
    {"bytes", ORR_P_SIZE, "4KiB", ORR_PF_POSITIVE, "built-in driver: bytes per copy"},
    {"src", ORR_P_SIZE, "0B", 0, "built-in driver: source address in host memory"},
    {"dst", ORR_P_SIZE, "1MiB", 0, "built-in driver: destination address in host memory"},
    {"start", ORR_P_TIME, "0ns", 0, "built-in driver: when the first copy is rung"},
    {"drain", ORR_P_TIME, "5us", 0, "after the last copy, time until the engine reports done"},
    {NULL},
};

static const struct orr_port_doc dma_ports[] = {
    {"pcie", "to a root complex (or switch) downstream port"},
    {NULL},
};

struct dma {
    struct orr_port *pcie;
    struct pcie_tx tx;
    struct orr_outq q;
    uint16_t requester;
    unsigned mode, tags, vector;
    uint32_t max_read, max_payload;
    uint64_t msix_addr, reg[7];
    uint64_t copies, bytes, src, dst, rung;
    orr_time_t start, drain;
    /* the copy in progress */
    bool busy;
    uint64_t read_next, read_done, write_next; /* byte offsets */
    unsigned in_flight;
    orr_time_t copy_t0, *aSent; /* per tag: when its MRD left */
    bool *aTagUsed;
    uint64_t *aTagOff;
    struct orr_counter *done, *rd_bytes, *wr_bytes, *reads, *writes, *errors;
    struct orr_histogram *rtt, *copy_time;
    struct orr_value *bandwidth;
    orr_time_t busy_time;
};

static int dma_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct dma *s = c->state;
    int rc = pcie_link_params(p, c->keypath, d, &s->tx);
    s->pcie = orr_port_add(c, "pcie");
    s->requester = (uint16_t)orr_param_u64(p, "requester");
    s->msix_addr = orr_param_u64(p, "msix_addr");
    s->vector = (unsigned)orr_param_u64(p, "vector");
    s->max_read = (uint32_t)orr_param_u64(p, "max_read");
    s->max_payload = (uint32_t)orr_param_u64(p, "max_payload");
    s->tags = (unsigned)orr_param_u64(p, "tags");
    s->mode = orr_param_enum(p, "mode");
    s->copies = orr_param_u64(p, "copies");
    s->bytes = orr_param_u64(p, "bytes");
    s->src = orr_param_u64(p, "src");
    s->dst = orr_param_u64(p, "dst");
    s->start = orr_param_u64(p, "start");
    s->drain = orr_param_u64(p, "drain");
    s->aSent = calloc(s->tags, sizeof *s->aSent);
    s->aTagUsed = calloc(s->tags, sizeof *s->aTagUsed);
    s->aTagOff = calloc(s->tags, sizeof *s->aTagOff);
    if (!s->aSent || !s->aTagUsed || !s->aTagOff)
        orr_oom();
    s->done = orr_counter_new(c, "copies", "copy");
    s->rd_bytes = orr_counter_new(c, "dma_read_bytes", "B");
    s->wr_bytes = orr_counter_new(c, "dma_write_bytes", "B");
    s->reads = orr_counter_new(c, "read_requests", "tlp");
    s->writes = orr_counter_new(c, "write_requests", "tlp");
    s->errors = orr_counter_new(c, "completion_errors", "tlp");
    s->rtt = orr_histogram_new(c, "read_round_trip", "ns");
    s->copy_time = orr_histogram_new(c, "copy_time", "ns");
    s->bandwidth = orr_value_new(c, "copy_bandwidth", "bit/s");
    return rc;
}

static int dma_start(struct orr_component *c, struct orr_diag *d)
{
    struct dma *s = c->state;
    if (!s->pcie->link) {
        orr_diag_error(d, &c->mark, c->keypath, "port 'pcie' of %s is not linked", c->path);
        return ORR_ESCHEMA;
    }
    if (s->copies)
        orr_timer(c, s->start, TIMER_RING, 0, 0);
    else
        orr_workload_done(c);
    return 0;
}

static void send_tlp(struct orr_component *c, struct dma *s, const struct orr_msg *m)
{
    orr_outq_send(&s->q, s->pcie, m, pcie_tx_delay(&s->tx, orr_now(c->sim), m->size));
}

static void send_write(struct orr_component *c, struct dma *s, uint64_t addr, const void *bytes,
                       uint32_t n)
{
    struct orr_msg m = pcie_mwr(c->sim, s->requester, addr, bytes, n);
    send_tlp(c, s, &m);
}

/* Write n bytes at offset off of the copy to DST in max_payload pieces. */
static void write_out(struct orr_component *c, struct dma *s, uint64_t off, const uint8_t *bytes,
                      uint64_t n)
{
    for (uint64_t done = 0; done < n;) {
        uint32_t k = (uint32_t)(n - done < s->max_payload ? n - done : s->max_payload);
        send_write(c, s, s->reg[REG_DST / 8] + off + done, bytes ? bytes + done : NULL, k);
        s->writes->v++;
        s->wr_bytes->v += k;
        done += k;
    }
}

static void copy_finish(struct orr_component *c, struct dma *s)
{
    uint32_t v = s->vector;
    send_write(c, s, s->msix_addr, &v, sizeof v);
    orr_time_t t = orr_now(c->sim) - s->copy_t0;
    orr_histogram_add(s->copy_time, t / ORR_NS);
    s->busy_time += t;
    s->busy = false;
    s->reg[REG_DONE / 8]++;
    s->done->v++;
    if (s->rung < s->copies)
        orr_timer(c, 0, TIMER_RING, 0, 0);
    else
        orr_timer(c, s->drain, TIMER_DONE, 0, 0);
}

/* Issue reads while tags and bytes remain; finish when all is done. */
static void copy_pump(struct orr_component *c, struct dma *s)
{
    uint64_t len = s->reg[REG_LEN / 8];
    while (s->mode != MODE_WRITE && s->read_next < len && s->in_flight < s->tags) {
        unsigned t = 0;
        while (s->aTagUsed[t])
            t++;
        uint32_t n = (uint32_t)(len - s->read_next < s->max_read ? len - s->read_next : s->max_read);
        struct orr_msg m = pcie_mrd(s->requester, t, s->reg[REG_SRC / 8] + s->read_next, n);
        s->aTagUsed[t] = true;
        s->aTagOff[t] = s->read_next;
        s->aSent[t] = orr_now(c->sim);
        s->in_flight++;
        s->read_next += n;
        s->reads->v++;
        send_tlp(c, s, &m);
    }
    if (s->busy && s->in_flight == 0 && (s->mode == MODE_WRITE || s->read_done == len))
        copy_finish(c, s);
}

static void doorbell(struct orr_component *c, struct dma *s)
{
    if (s->busy)
        return; /* a doorbell while busy is ignored */
    s->busy = true;
    s->copy_t0 = orr_now(c->sim);
    s->read_next = s->read_done = s->write_next = 0;
    s->reg[REG_STATUS / 8] = 0;
    if (s->mode == MODE_WRITE)
        write_out(c, s, 0, NULL, s->reg[REG_LEN / 8]);
    copy_pump(c, s);
}

static void completion(struct orr_component *c, struct dma *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    if (h.requester != s->requester || h.tag >= s->tags || !s->aTagUsed[h.tag]) {
        s->errors->v++;
        if (h.type == PCIE_CPLD)
            orr_blob_free(c->sim, ev->data[1]);
        return;
    }
    s->aTagUsed[h.tag] = false;
    s->in_flight--;
    orr_histogram_add(s->rtt, (orr_now(c->sim) - s->aSent[h.tag]) / ORR_NS);
    if (h.type == PCIE_CPL_UR) {
        s->errors->v++;
        if (s->copies) {
            orr_sim_fail(c, "read at 0x%llx: unsupported request",
                         (unsigned long long)(s->reg[REG_SRC / 8] + s->aTagOff[h.tag]));
            return;
        }
        s->reg[REG_STATUS / 8] |= 1;
        uint64_t len = s->reg[REG_LEN / 8], off = s->aTagOff[h.tag];
        s->read_done += len - off < s->max_read ? len - off : s->max_read;
        copy_pump(c, s);
        return;
    }
    s->read_done += h.length;
    s->rd_bytes->v += h.length;
    if (s->mode == MODE_COPY)
        write_out(c, s, s->aTagOff[h.tag], orr_blob_get(c->sim, ev->data[1]), h.length);
    orr_blob_free(c->sim, ev->data[1]);
    copy_pump(c, s);
}

/* A TLP for the BAR: register writes and reads. */
static void bar_access(struct orr_component *c, struct dma *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    if (h.type == PCIE_MWR) {
        const uint8_t *b = orr_blob_get(c->sim, ev->data[1]);
        uint64_t off, v = 0;
        memcpy(&off, b, sizeof off);
        memcpy(&v, b + PCIE_WR_ADDR_BYTES, h.length < 8 ? h.length : 8);
        orr_blob_free(c->sim, ev->data[1]);
        if (off == REG_DOORBELL)
            doorbell(c, s);
        else if (off < REG_DONE && off % 8 == 0)
            s->reg[off / 8] = v;
        return;
    }
    uint64_t off = ev->data[1], v = off < sizeof s->reg && off % 8 == 0 ? s->reg[off / 8] : 0;
    if (off == REG_ID)
        v = DMA_ENGINE_ID;
    void *b;
    struct pcie_hdr r = {.type = PCIE_CPLD, .tag = h.tag, .requester = h.requester,
                         .length = h.length};
    struct orr_msg m = {.size = pcie_wire_bytes(h.length), .data = {pcie_hdr_pack(&r), 0}};
    m.data[1] = orr_blob_new(c->sim, h.length ? h.length : 1, &b);
    memcpy(b, &v, h.length < 8 ? h.length : 8);
    send_tlp(c, s, &m);
}

static void dma_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct dma *s = c->state;
    if (ev->kind == ORR_TK_READY) {
        orr_outq_drain(&s->q, s->pcie);
    } else if (ev->kind == ORR_TK_TIMER && ev->port == TIMER_DONE) {
        orr_workload_done(c);
    } else if (ev->kind == ORR_TK_TIMER) { /* the built-in driver rings */
        s->rung++;
        s->reg[REG_SRC / 8] = s->src;
        s->reg[REG_DST / 8] = s->dst;
        s->reg[REG_LEN / 8] = s->bytes;
        doorbell(c, s);
    } else if (ev->kind == ORR_TK_MSG) {
        unsigned type = pcie_hdr_unpack(ev->data[0]).type;
        if (type == PCIE_CPLD || type == PCIE_CPL_UR)
            completion(c, s, ev);
        else
            bar_access(c, s, ev);
    }
}

static void dma_finish(struct orr_component *c)
{
    struct dma *s = c->state;
    uint64_t moved = s->mode == MODE_WRITE ? s->wr_bytes->v : s->rd_bytes->v;
    if (s->busy_time)
        s->bandwidth->v = (double)moved * 8.0 * 1e12 / (double)s->busy_time;
}

static void dma_destroy(struct orr_component *c)
{
    struct dma *s = c->state;
    orr_outq_free(&s->q);
    free(s->aSent);
    free(s->aTagUsed);
    free(s->aTagOff);
}

static const struct orr_metric_doc dma_metrics[] = {
    {"copies", "copy", ORR_METRIC_COUNTER, "copies completed"},
    {"dma_read_bytes", "B", ORR_METRIC_COUNTER, "bytes read by DMA (completion data)"},
    {"dma_write_bytes", "B", ORR_METRIC_COUNTER, "bytes written by DMA"},
    {"read_requests", "tlp", ORR_METRIC_COUNTER, "MRD requests sent"},
    {"write_requests", "tlp", ORR_METRIC_COUNTER, "MWR requests sent"},
    {"completion_errors", "tlp", ORR_METRIC_COUNTER,
     "completions unexpected or unsupported (CPL_UR)"},
    {"read_round_trip", "ns", ORR_METRIC_HISTOGRAM, "MRD sent to its completion back"},
    {"copy_time", "ns", ORR_METRIC_HISTOGRAM, "a copy's doorbell to its MSI-X interrupt"},
    {"copy_bandwidth", "bit/s", ORR_METRIC_VALUE, "bytes moved per second spent copying"},
    {NULL},
};

/* Checkpoint/restore: the link, the queue, the registers and the copy in
 * progress with its tags. */
static void dma_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct dma *s = c->state;
    orr_ckpt_put_u64(w, s->tx.free_at);
    orr_ckpt_put_outq(w, &s->q);
    orr_ckpt_put_array(w, s->reg, sizeof s->reg / sizeof s->reg[0], sizeof s->reg[0]);
    orr_ckpt_put_u64(w, s->copies);
    orr_ckpt_put_u64(w, s->bytes);
    orr_ckpt_put_u64(w, s->src);
    orr_ckpt_put_u64(w, s->dst);
    orr_ckpt_put_u64(w, s->rung);
    orr_ckpt_put_u8(w, s->busy);
    orr_ckpt_put_u64(w, s->read_next);
    orr_ckpt_put_u64(w, s->read_done);
    orr_ckpt_put_u64(w, s->write_next);
    orr_ckpt_put_u32(w, s->in_flight);
    orr_ckpt_put_u64(w, s->copy_t0);
    orr_ckpt_put_array(w, s->aSent, s->tags, sizeof *s->aSent);
    orr_ckpt_put_array(w, s->aTagUsed, s->tags, sizeof *s->aTagUsed);
    orr_ckpt_put_array(w, s->aTagOff, s->tags, sizeof *s->aTagOff);
    orr_ckpt_put_u64(w, s->busy_time);
}

static void dma_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct dma *s = c->state;
    s->tx.free_at = orr_ckpt_get_u64(r);
    orr_ckpt_get_outq(r, &s->q);
    orr_ckpt_get_into(r, s->reg, sizeof s->reg);
    s->copies = orr_ckpt_get_u64(r);
    s->bytes = orr_ckpt_get_u64(r);
    s->src = orr_ckpt_get_u64(r);
    s->dst = orr_ckpt_get_u64(r);
    s->rung = orr_ckpt_get_u64(r);
    s->busy = orr_ckpt_get_u8(r) != 0;
    s->read_next = orr_ckpt_get_u64(r);
    s->read_done = orr_ckpt_get_u64(r);
    s->write_next = orr_ckpt_get_u64(r);
    s->in_flight = orr_ckpt_get_u32(r);
    s->copy_t0 = orr_ckpt_get_u64(r);
    orr_ckpt_get_into(r, s->aSent, s->tags * sizeof *s->aSent);
    orr_ckpt_get_into(r, s->aTagUsed, s->tags * sizeof *s->aTagUsed);
    orr_ckpt_get_into(r, s->aTagOff, s->tags * sizeof *s->aTagOff);
    s->busy_time = orr_ckpt_get_u64(r);
}

const struct orr_component_type orr_dma_engine_type = {
    .name = "dma_engine",
    .summary = "PCIe DMA copy engine with doorbell registers and MSI-X (a workload)",
    .params = dma_params,
    .ports = dma_ports,
    .metrics = dma_metrics,
    .state_size = sizeof(struct dma),
    .workload = true,
    .create = dma_create,
    .start = dma_start,
    .handle = dma_handle,
    .finish = dma_finish,
    .destroy = dma_destroy,
    .save = dma_save,
    .restore = dma_restore,
};
