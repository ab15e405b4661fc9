/* cxl_mem: a CXL Type-3 memory expander. A request arriving on `up` (over
 * an ordinary scenario link standing for the CXL link) spends `device` in
 * the device controller (CXL.mem protocol handling, the device's own
 * fabric), then goes to DRAM media modelled by the same engine as `dram`
 * (hw/mem/dram_media.c). Line data crosses the device at most `bandwidth`:
 * a write's data on the way in and a read's data on the way out each hold a
 * single shared pipe for 64 B / bandwidth. Idle read latency seen at `up`
 * is therefore device + (media latency) + 64 B / bandwidth.
 *
 * Defaults: device 80 ns, the middle of Pond's +70–90 ns added latency
 * over local DRAM (REFERENCES.md, CXL rows, Pond ASPLOS'23); bandwidth
 * 36 GB/s, the PCIe 5.0 x8 expander figure (Micron CZ120 announcement). An
 * idle random read (a row conflict) comes to 80 + 83.75 + 1.78 = 165.5 ns
 * at the device, ~82 ns more than a default `dram`. */
#include <stdlib.h>
#include <string.h>

#include "hw/cxl.h"
#include "hw/dram_media.h"
#include "hw/registry.h"
#include "orrery/checkpoint.h"
#include "orrery/mem.h"
#include "orrery/outq.h"

enum {
    TIMER_OUT = 1,   /* a response leaves the data pipe: send it */
    TIMER_MEDIA = 8, /* dram_media uses 8..10 */
};

const struct orr_param cxl_mem_params[] = {
    {"base", ORR_P_ADDR, "0", 0,
     "first physical address the expander serves (a machine's cxl: entry: after the previous "
     "range unless given)"},
    {"size", ORR_P_SIZE, "64GiB", ORR_PF_POSITIVE, "the expander's capacity"},
    {"device", ORR_P_TIME, "80ns", 0,
     "device controller latency added to every request (Pond: +70-90 ns vs local DRAM)"},
    {"bandwidth", ORR_P_BW, "36GB/s", ORR_PF_POSITIVE,
     "line data through the device, reads and writes together (PCIe 5.0 x8: 36 GB/s)"},
    {"", ORR_P_INCLUDE, .group = dram_media_params},
    {NULL},
};

static const struct orr_port_doc cxl_mem_ports[] = {
    {"up", "line requests in (from a host or cxl_switch), responses out"},
    {NULL},
};

struct cxl_mem {
    struct orr_port *up;
    struct orr_outq out;
    struct dram_media *media;
    orr_time_t device;
    orr_time_t line_time; /* 64 B at `bandwidth`, rounded up to whole ps */
    orr_time_t pipe_free;
    struct orr_counter *pipe_wait; /* ps lines waited for the data pipe */
};

/* Reserve the data pipe for one line from now; returns when it is through. */
static orr_time_t pipe_pass(struct orr_component *c, struct cxl_mem *s)
{
    orr_time_t now = orr_now(c->sim);
    orr_time_t start = s->pipe_free > now ? s->pipe_free : now;
    s->pipe_wait->v += start - now;
    s->pipe_free = start + s->line_time;
    return s->pipe_free - now;
}

static void cxl_mem_done(struct orr_component *c, const struct dram_done *done)
{
    struct cxl_mem *s = c->state;
    struct orr_msg m = {.size = ORR_MEM_HDR_BYTES};
    if (done->cmd == ORR_MEM_RD) {
        void *p;
        m.size += ORR_LINE_BYTES;
        m.data[0] = orr_mem_pack(done->addr, ORR_MEM_RD_RESP, done->tag);
        m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, &p);
        memcpy(p, done->data, ORR_LINE_BYTES);
        orr_timer_msg(c, pipe_pass(c, s), TIMER_OUT, &m);
    } else {
        m.data[0] = orr_mem_pack(done->addr, ORR_MEM_WR_ACK, done->tag);
        orr_outq_send(&s->out, s->up, &m, 0);
    }
}

static int cxl_mem_create(struct orr_component *c, const struct orr_params *p,
                          struct orr_diag *d)
{
    struct cxl_mem *s = c->state;
    struct dram_cfg cfg;
    if (dram_cfg_read(c, p, &cfg, d) != 0)
        return ORR_ESCHEMA;
    s->device = orr_param_u64(p, "device");
    uint64_t bw = orr_param_u64(p, "bandwidth");
    unsigned __int128 bits_ps = (unsigned __int128)ORR_LINE_BYTES * 8u * ORR_S;
    s->line_time = (orr_time_t)((bits_ps + bw - 1) / bw);
    s->up = orr_port_add(c, "up");
    s->out.depth = orr_gauge_new(c, "up.backlog", "msg");
    s->pipe_wait = orr_counter_new(c, "pipe_wait", "ps");
    s->media = dram_media_new(c, &cfg, TIMER_MEDIA, cxl_mem_done);
    return 0;
}

static void cxl_mem_request(struct orr_component *c, struct cxl_mem *s, const struct orr_event *ev)
{
    uint64_t w = ev->data[0], addr = orr_mem_addr(w);
    enum orr_mem_cmd cmd = orr_mem_cmd(w);
    if (cmd != ORR_MEM_RD && cmd != ORR_MEM_WR) {
        orr_sim_fail(c, "up: command %u is not a request (RD or WR)", (unsigned)cmd);
        return;
    }
    if (addr % ORR_LINE_BYTES || !dram_media_serves(s->media, addr)) {
        orr_sim_fail(c, "up: %s of address 0x%llx: %s", cmd == ORR_MEM_RD ? "RD" : "WR",
                     (unsigned long long)addr,
                     addr % ORR_LINE_BYTES ? "not a line address" : "outside the range served");
        if (cmd == ORR_MEM_WR && ev->data[1])
            orr_blob_free(c->sim, ev->data[1]);
        return;
    }
    if (cmd == ORR_MEM_RD) {
        dram_media_submit(s->media, cmd, addr, orr_mem_tag(w), 0, NULL, s->device);
        return;
    }
    /* a write's data crosses the pipe before the device handles it */
    orr_time_t in = pipe_pass(c, s);
    dram_media_submit(s->media, cmd, addr, orr_mem_tag(w), 0, orr_blob_get(c->sim, ev->data[1]),
                      in + s->device);
    orr_blob_free(c->sim, ev->data[1]);
}

static void cxl_mem_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct cxl_mem *s = c->state;
    switch (ev->kind) {
    case ORR_TK_MSG:
        cxl_mem_request(c, s, ev);
        break;
    case ORR_TK_READY:
        orr_outq_drain(&s->out, s->up);
        break;
    case ORR_TK_TIMER:
        if (ev->port == TIMER_OUT)
            orr_outq_send(&s->out, s->up, &(struct orr_msg){ev->size, {ev->data[0], ev->data[1]}}, 0);
        else
            dram_media_timer(s->media, ev);
        break;
    default:
        break;
    }
}

static void cxl_mem_finish(struct orr_component *c)
{
    struct cxl_mem *s = c->state;
    dram_media_finish(s->media);
}

static void cxl_mem_destroy(struct orr_component *c)
{
    struct cxl_mem *s = c->state;
    orr_outq_free(&s->out);
    dram_media_free(s->media);
}

/* Dynamic state: responses waiting for the link, the data pipe, the media. */
static void cxl_mem_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct cxl_mem *s = c->state;
    orr_ckpt_put_outq(w, &s->out);
    orr_ckpt_put_u64(w, s->pipe_free);
    dram_media_save(s->media, w);
}

static void cxl_mem_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct cxl_mem *s = c->state;
    orr_ckpt_get_outq(r, &s->out);
    s->pipe_free = orr_ckpt_get_u64(r);
    dram_media_restore(s->media, r);
}

static const struct orr_metric_doc cxl_mem_metrics[] = {
    {"up.backlog", "msg", ORR_METRIC_GAUGE, "responses waiting for the up link"},
    {"pipe_wait", "ps", ORR_METRIC_COUNTER, "time lines waited for the device's shared data pipe"},
    DRAM_MEDIA_METRICS,
    {NULL},
};

const struct orr_component_type orr_cxl_mem_type = {
    .name = "cxl_mem",
    .summary = "CXL Type-3 memory expander: device latency and bandwidth over DRAM media",
    .params = cxl_mem_params,
    .ports = cxl_mem_ports,
    .metrics = cxl_mem_metrics,
    .state_size = sizeof(struct cxl_mem),
    .create = cxl_mem_create,
    .handle = cxl_mem_handle,
    .finish = cxl_mem_finish,
    .destroy = cxl_mem_destroy,
    .save = cxl_mem_save,
    .restore = cxl_mem_restore,
};
