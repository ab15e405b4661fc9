/* dram: a DRAM memory controller. Line requests (RD, WR) arrive on any of
 * `ports` ports in0..in<N-1>; each response (RD_RESP with the line's bytes,
 * WR_ACK) leaves on the port its request came in on, as soon as the media
 * engine (dram_media.c: channels, banks, FR-FCFS, sparse bytes) finishes
 * it, queueing behind the link when the link is busy. A request outside
 * [base, base + size), a misaligned line address or a command that is not
 * a request is a model error (orr_sim_fail). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/checkpoint.h"
#include "hw/dram_media.h"
#include "hw/memdev.h"
#include "hw/registry.h"
#include "orrery/mem.h"
#include "orrery/outq.h"

enum { TIMER_MEDIA = 1 }; /* dram_media uses 1..3 */

static const struct orr_param dram_params[] = {
    {"", ORR_P_INCLUDE, .group = memdev_port_params},  /* ports */
    {"", ORR_P_INCLUDE, .group = memdev_range_params}, /* base, size */
    {"", ORR_P_INCLUDE, .group = dram_media_params},
    {NULL},
};

static const struct orr_port_doc dram_ports[] = {
    {"in<N>", "line requests in, responses out on the same port; 0 <= N < ports"},
    {NULL},
};

struct dram {
    struct memdev_ports ports;
    struct dram_media *media;
};

static void dram_done(struct orr_component *c, const struct dram_done *done)
{
    struct dram *s = c->state;
    struct orr_msg m = {.size = ORR_MEM_HDR_BYTES};
    if (done->cmd == ORR_MEM_RD) {
        void *p;
        m.size += ORR_LINE_BYTES;
        m.data[0] = orr_mem_pack(done->addr, ORR_MEM_RD_RESP, done->tag);
        m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, &p);
        memcpy(p, done->data, ORR_LINE_BYTES);
    } else {
        m.data[0] = orr_mem_pack(done->addr, ORR_MEM_WR_ACK, done->tag);
    }
    memdev_ports_send(&s->ports, done->cookie, &m);
}

static int dram_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct dram *s = c->state;
    struct dram_cfg cfg;
    if (dram_cfg_read(c, p, &cfg, d) != 0)
        return ORR_ESCHEMA;
    if (memdev_ports_init(&s->ports, c, (unsigned)orr_param_u64(p, "ports")))
        return ORR_ENOMEM;
    s->media = dram_media_new(c, &cfg, TIMER_MEDIA, dram_done);
    return 0;
}

/* A request from port `port`: check it, take the write data, hand it on. */
static void dram_request(struct orr_component *c, struct dram *s, unsigned port,
                         const struct orr_event *ev)
{
    uint64_t w = ev->data[0], addr = orr_mem_addr(w);
    enum orr_mem_cmd cmd = orr_mem_cmd(w);
    if (cmd != ORR_MEM_RD && cmd != ORR_MEM_WR) {
        orr_sim_fail(c, "in%u: command %u is not a request (RD or WR)", port, (unsigned)cmd);
        return;
    }
    if (addr % ORR_LINE_BYTES || !dram_media_serves(s->media, addr)) {
        orr_sim_fail(c, "in%u: %s of address 0x%llx: %s", port, cmd == ORR_MEM_RD ? "RD" : "WR",
                     (unsigned long long)addr,
                     addr % ORR_LINE_BYTES ? "not a line address" : "outside the range served");
        if (cmd == ORR_MEM_WR && ev->data[1])
            orr_blob_free(c->sim, ev->data[1]);
        return;
    }
    const uint8_t *wdata = NULL;
    if (cmd == ORR_MEM_WR)
        wdata = orr_blob_get(c->sim, ev->data[1]);
    dram_media_submit(s->media, cmd, addr, orr_mem_tag(w), port, wdata, 0);
    if (cmd == ORR_MEM_WR)
        orr_blob_free(c->sim, ev->data[1]);
}

static void dram_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct dram *s = c->state;
    switch (ev->kind) {
    case ORR_TK_MSG:
        dram_request(c, s, ev->port, ev);
        break;
    case ORR_TK_READY:
        memdev_ports_ready(&s->ports, ev->port);
        break;
    case ORR_TK_TIMER:
        dram_media_timer(s->media, ev);
        break;
    default:
        break;
    }
}

static void dram_finish(struct orr_component *c)
{
    struct dram *s = c->state;
    dram_media_finish(s->media);
}

static void dram_destroy(struct orr_component *c)
{
    struct dram *s = c->state;
    memdev_ports_free(&s->ports);
    dram_media_free(s->media);
}

static void dram_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct dram *s = c->state;
    memdev_ports_save(&s->ports, w);
    dram_media_save(s->media, w);
}

static void dram_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct dram *s = c->state;
    memdev_ports_restore(&s->ports, r);
    dram_media_restore(s->media, r);
}

static const struct orr_metric_doc dram_metrics[] = {
    {"in<N>.backlog", "msg", ORR_METRIC_GAUGE, "responses waiting for port inN's link"},
    DRAM_MEDIA_METRICS,
    {NULL},
};

const struct orr_component_type orr_dram_type = {
    .name = "dram",
    .summary = "DRAM memory controller: channels, banks, open-page FR-FCFS, stored bytes",
    .params = dram_params,
    .ports = dram_ports,
    .metrics = dram_metrics,
    .state_size = sizeof(struct dram),
    .create = dram_create,
    .handle = dram_handle,
    .finish = dram_finish,
    .destroy = dram_destroy,
    .save = dram_save,
    .restore = dram_restore,
};
