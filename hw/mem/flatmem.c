/* flatmem: a memory of constant latency. Line requests (RD, WR) arrive on
 * ports in0..in<N-1>; each is served when it arrives (the bytes are read
 * or written then, so requests to a line take effect in arrival order) and
 * its response (RD_RESP with the line, WR_ACK) leaves on the same port
 * `latency` later, queueing behind the link when the link is busy. No
 * banks, no queues, no bandwidth limit: the reference a `tlm_target` with
 * the same latency must match exactly (docs/systemc.md), and a stand-in
 * where DRAM timing is beside the point. A request outside [base, base +
 * size), a misaligned line or a command that is not a request records a
 * `mem.error` trace point and fails the run, as in dram. The bytes live in
 * the node's hostmem (mem/hostmem.h: named after the path's first part),
 * where software models of the same node read and write them too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hostmem.h"
#include "hw/memdev.h"
#include "orrery/checkpoint.h"
#include "orrery/mem.h"
#include "orrery/outq.h"
#include "orrery/sim.h"

static const struct orr_param flatmem_params[] = {
    {"", ORR_P_INCLUDE, .group = memdev_port_params},  /* ports */
    {"", ORR_P_INCLUDE, .group = memdev_range_params}, /* base, size */
    {"latency", ORR_P_TIME, "50ns", 0, "from a request's arrival to its response's departure"},
    {NULL},
};

static const struct orr_port_doc flatmem_ports[] = {
    {"in<N>", "line requests in, responses out on the same port; 0 <= N < ports"},
    {NULL},
};

struct flatmem {
    struct memdev_ports ports;
    uint64_t base, size;
    orr_time_t latency;
    struct hostmem *bytes; /* the node's memory: shared with its software */
    uint16_t kError; /* trace point: a = request word, b = 0 */
    struct orr_counter *reads, *writes;
};

static int flatmem_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct flatmem *s = c->state;
    if (memdev_range_read(c, p, &s->base, &s->size, d))
        return ORR_ESCHEMA;
    s->latency = orr_param_u64(p, "latency");
    if (memdev_ports_init(&s->ports, c, (unsigned)orr_param_u64(p, "ports")))
        return ORR_ENOMEM;
    s->bytes = hostmem_for(c, NULL);
    s->kError = orr_trace_kind(c, "mem.error");
    s->reads = orr_counter_new(c, "reads", "req");
    s->writes = orr_counter_new(c, "writes", "req");
    return 0;
}

/* A request on port `port`: check it, do it, and send the response after
 * the latency (a self-timer carrying the response, tag = port). */
static void flatmem_request(struct orr_component *c, struct flatmem *s, unsigned port,
                            const struct orr_event *ev)
{
    uint64_t w = ev->data[0], addr = orr_mem_addr(w);
    enum orr_mem_cmd cmd = orr_mem_cmd(w);
    const char *bad = cmd != ORR_MEM_RD && cmd != ORR_MEM_WR ? "not a request (RD or WR)"
                      : addr % ORR_LINE_BYTES                ? "not a line address"
                      : addr < s->base || addr - s->base >= s->size ? "outside the range served"
                                                                    : NULL;
    if (bad) {
        orr_trace_point(c, s->kError, w, 0);
        orr_sim_fail(c, "in%u: command %u for address 0x%llx: %s", port, (unsigned)cmd,
                     (unsigned long long)addr, bad);
        if (cmd == ORR_MEM_WR && ev->data[1])
            orr_blob_free(c->sim, ev->data[1]);
        return;
    }
    struct orr_msg m = {.size = ORR_MEM_HDR_BYTES};
    if (cmd == ORR_MEM_RD) {
        void *line;
        m.size += ORR_LINE_BYTES;
        m.data[0] = orr_mem_pack(addr, ORR_MEM_RD_RESP, orr_mem_tag(w));
        m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, &line);
        linestore_read(&s->bytes->lines, addr, line);
        s->reads->v++;
    } else {
        linestore_write(&s->bytes->lines, addr, orr_blob_get(c->sim, ev->data[1]));
        orr_blob_free(c->sim, ev->data[1]);
        m.data[0] = orr_mem_pack(addr, ORR_MEM_WR_ACK, orr_mem_tag(w));
        s->writes->v++;
    }
    orr_timer_msg(c, s->latency, (uint16_t)port, &m);
}

static void flatmem_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct flatmem *s = c->state;
    switch (ev->kind) {
    case ORR_TK_MSG:
        flatmem_request(c, s, ev->port, ev);
        break;
    case ORR_TK_TIMER: {
        struct orr_msg m = {.size = ev->size, .data = {ev->data[0], ev->data[1]}};
        memdev_ports_send(&s->ports, ev->port, &m);
        break;
    }
    case ORR_TK_READY:
        memdev_ports_ready(&s->ports, ev->port);
        break;
    default:
        break;
    }
}

static void flatmem_destroy(struct orr_component *c)
{
    struct flatmem *s = c->state;
    memdev_ports_free(&s->ports);
}

static const struct orr_metric_doc flatmem_metrics[] = {
    {"in<N>.backlog", "msg", ORR_METRIC_GAUGE, "responses waiting for port inN's link"},
    {"reads", "req", ORR_METRIC_COUNTER, "line reads served"},
    {"writes", "req", ORR_METRIC_COUNTER, "line writes served"},
    {NULL},
};

/* Dynamic state: responses waiting for busy links (the bytes live in the
 * node's hostmem, saved with it). */
static void flatmem_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct flatmem *s = c->state;
    memdev_ports_save(&s->ports, w);
}

static void flatmem_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct flatmem *s = c->state;
    memdev_ports_restore(&s->ports, r);
}

const struct orr_component_type orr_flatmem_type = {
    .name = "flatmem",
    .summary = "memory of constant latency: the reference for tlm_target, no DRAM timing",
    .params = flatmem_params,
    .ports = flatmem_ports,
    .metrics = flatmem_metrics,
    .state_size = sizeof(struct flatmem),
    .create = flatmem_create,
    .handle = flatmem_handle,
    .destroy = flatmem_destroy,
    .save = flatmem_save,
    .restore = flatmem_restore,
};
