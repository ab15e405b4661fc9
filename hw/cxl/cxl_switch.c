/* cxl_switch: a CXL switch between one host-side port `up` and downstream
 * ports d0..d<N-1> (memory expanders or further switches). A request from
 * `up` goes to the downstream port whose address range holds its address
 * (`ranges`, checked for overlaps when the scenario is built), a response
 * goes back up; each crossing takes `latency`.
 *
 * Tags. Requesters own their 12-bit tags (mem.h), but a downstream device
 * sees the switch as its requester, so the switch gives every forwarded
 * request a tag of its own, unique among those outstanding on that
 * downstream port, and keeps (port, new tag) -> (upstream tag, address)
 * until the response returns; the response goes up with the original tag.
 *
 * Invariants:
 *   1. an upstream tag is outstanding at most once (a reuse is a requester
 *      bug and fails the run);
 *   2. a downstream tag is in use iff its table entry is valid, and the
 *      free stack holds exactly the unused tags;
 *   3. every response matches a valid entry with the same address.
 * Model errors (orr_sim_fail): an address no range holds, a range whose port
 * is not linked, a response nobody asked for, a reused upstream tag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/cxl.h"
#include "hw/memmap.h"
#include "hw/registry.h"
#include "orrery/mem.h"
#include "orrery/outq.h"
#include "orrery/error.h"

#define NTAG (ORR_MEM_TAG_MAX + 1)

enum {
    TIMER_UP = 1,    /* a response has crossed the switch: send it up */
    TIMER_DOWN = 16, /* + port: a request has crossed: send it down */
};

static const struct orr_param cxl_switch_params[] = {
    {"ports", ORR_P_UINT, "2", ORR_PF_POSITIVE, "downstream ports, named d0..d<N-1>", NULL, 1, 64},
    /* No calibration row in REFERENCES.md for switch latency; PCIe/CXL
     * switch vendors quote port-to-port latencies of tens to ~100 ns. */
    {"latency", ORR_P_TIME, CXL_SWITCH_LATENCY, 0, "the CXL switch's port-to-port latency, each way"},
    {"", ORR_P_INCLUDE, .group = memmap_ranges_key}, /* ranges */
    {NULL},
};


static const struct orr_port_doc cxl_switch_ports[] = {
    {"up", "requests in from the host side, responses out"},
    {"d<N>", "requests out to downstream device N, its responses in; 0 <= N < ports"},
    {NULL},
};

struct tag_entry {
    uint64_t addr;
    uint16_t up_tag;
    bool valid;
};

struct down_port {
    struct orr_port *port;
    struct orr_outq out;
    struct tag_entry *aEntry; /* NTAG, indexed by downstream tag */
    uint16_t *aFree;          /* stack of free downstream tags */
    unsigned nFree;
    struct orr_counter *requests;
};

struct cxl_switch {
    unsigned nDown;
    struct down_port *aDown;
    struct orr_port *up;
    struct orr_outq up_out;
    orr_time_t latency;
    struct memmap map;
    uint8_t aUpBusy[NTAG]; /* upstream tags outstanding */
    struct orr_gauge *outstanding;
    int64_t nOutstanding;
};


static int sw_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct cxl_switch *s = c->state;
    s->nDown = (unsigned)orr_param_u64(p, "ports");
    s->latency = orr_param_u64(p, "latency");
    memmap_init(&s->map);
    if (memmap_read_ranges(&s->map, p, s->nDown,
                           c->keypath ? c->keypath : c->path, d) != 0)
        return ORR_ESCHEMA;
    s->up = orr_port_add(c, "up");
    s->up_out.depth = orr_gauge_new(c, "up.backlog", "msg");
    s->outstanding = orr_gauge_new(c, "outstanding", "req");
    s->aDown = calloc(s->nDown, sizeof *s->aDown);
    if (!s->aDown)
        orr_oom();
    for (unsigned i = 0; i < s->nDown; i++) {
        struct down_port *dp = &s->aDown[i];
        char name[32];
        snprintf(name, sizeof name, "d%u", i);
        dp->port = orr_port_add(c, name);
        snprintf(name, sizeof name, "d%u.requests", i);
        dp->requests = orr_counter_new(c, name, "req");
        snprintf(name, sizeof name, "d%u.backlog", i);
        dp->out.depth = orr_gauge_new(c, name, "msg");
        dp->aEntry = calloc(NTAG, sizeof *dp->aEntry);
        dp->aFree = calloc(NTAG, sizeof *dp->aFree);
        if (!dp->aEntry || !dp->aFree)
            orr_oom();
        for (unsigned t = 0; t < NTAG; t++) /* pop order 0, 1, 2, ... */
            dp->aFree[t] = (uint16_t)(NTAG - 1 - t);
        dp->nFree = NTAG;
    }
    return 0;
}

static void sw_request(struct orr_component *c, struct cxl_switch *s, const struct orr_event *ev)
{
    uint64_t w = ev->data[0], addr = orr_mem_addr(w);
    unsigned tag = orr_mem_tag(w), port;
    uint64_t offset;
    if (orr_mem_cmd(w) != ORR_MEM_RD && orr_mem_cmd(w) != ORR_MEM_WR) {
        orr_sim_fail(c, "up: command %u is not a request (RD or WR)", (unsigned)orr_mem_cmd(w));
        return;
    }
    if (!memmap_resolve(&s->map, addr, &port, &offset)) {
        orr_sim_fail(c, "up: no downstream range holds address 0x%llx", (unsigned long long)addr);
        return;
    }
    struct down_port *dp = &s->aDown[port];
    if (!dp->port->link) {
        orr_sim_fail(c, "d%u: address 0x%llx routes to a port with no link", port,
                     (unsigned long long)addr);
        return;
    }
    if (s->aUpBusy[tag]) {
        orr_sim_fail(c, "up: tag %u reused while outstanding", tag);
        return;
    }
    if (dp->nFree == 0) { /* cannot happen while invariant 1 holds: NTAG upstream tags */
        orr_sim_fail(c, "d%u: no free downstream tag", port);
        return;
    }
    uint16_t t = dp->aFree[--dp->nFree];
    dp->aEntry[t] = (struct tag_entry){addr, (uint16_t)tag, true};
    s->aUpBusy[tag] = 1;
    orr_gauge_set(s->outstanding, ++s->nOutstanding);
    dp->requests->v++;
    struct orr_msg m = {ev->size, {orr_mem_pack(addr, orr_mem_cmd(w), t), ev->data[1]}};
    orr_timer_msg(c, s->latency, (uint16_t)(TIMER_DOWN + port), &m);
}

static void sw_response(struct orr_component *c, struct cxl_switch *s, unsigned port,
                        const struct orr_event *ev)
{
    uint64_t w = ev->data[0], addr = orr_mem_addr(w);
    unsigned t = orr_mem_tag(w);
    struct down_port *dp = &s->aDown[port];
    struct tag_entry *e = &dp->aEntry[t];
    if (orr_mem_cmd(w) != ORR_MEM_RD_RESP && orr_mem_cmd(w) != ORR_MEM_WR_ACK) {
        orr_sim_fail(c, "d%u: command %u is not a response", port, (unsigned)orr_mem_cmd(w));
        return;
    }
    if (!e->valid || e->addr != addr) {
        orr_sim_fail(c, "d%u: response tag %u for 0x%llx matches no request", port, t,
                     (unsigned long long)addr);
        return;
    }
    struct orr_msg m = {ev->size, {orr_mem_pack(addr, orr_mem_cmd(w), e->up_tag), ev->data[1]}};
    s->aUpBusy[e->up_tag] = 0;
    e->valid = false;
    dp->aFree[dp->nFree++] = (uint16_t)t;
    orr_gauge_set(s->outstanding, --s->nOutstanding);
    orr_timer_msg(c, s->latency, TIMER_UP, &m);
}

static void sw_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct cxl_switch *s = c->state;
    /* port index 0 is up, 1 + i is d<i> (creation order) */
    switch (ev->kind) {
    case ORR_TK_MSG:
        if (ev->port == 0)
            sw_request(c, s, ev);
        else
            sw_response(c, s, ev->port - 1u, ev);
        break;
    case ORR_TK_READY:
        if (ev->port == 0)
            orr_outq_drain(&s->up_out, s->up);
        else
            orr_outq_drain(&s->aDown[ev->port - 1].out, s->aDown[ev->port - 1].port);
        break;
    case ORR_TK_TIMER: {
        struct orr_msg m = {ev->size, {ev->data[0], ev->data[1]}};
        if (ev->port == TIMER_UP) {
            if (orr_outq_send(&s->up_out, s->up, &m, 0) != 0)
                orr_sim_fail(c, "up: not linked");
        } else {
            struct down_port *dp = &s->aDown[ev->port - TIMER_DOWN];
            orr_outq_send(&dp->out, dp->port, &m, 0);
        }
        break;
    }
    default:
        break;
    }
}

static void sw_destroy(struct orr_component *c)
{
    struct cxl_switch *s = c->state;
    for (unsigned i = 0; s->aDown && i < s->nDown; i++) {
        orr_outq_free(&s->aDown[i].out);
        free(s->aDown[i].aEntry);
        free(s->aDown[i].aFree);
    }
    free(s->aDown);
    orr_outq_free(&s->up_out);
    memmap_free(&s->map);
}

static const struct orr_metric_doc cxl_switch_metrics[] = {
    {"up.backlog", "msg", ORR_METRIC_GAUGE, "responses waiting for the up link"},
    {"outstanding", "req", ORR_METRIC_GAUGE, "requests forwarded down and not yet answered"},
    {"d<N>.requests", "req", ORR_METRIC_COUNTER, "requests forwarded to downstream port dN"},
    {"d<N>.backlog", "msg", ORR_METRIC_GAUGE, "requests waiting for downstream port dN's link"},
    {NULL},
};

const struct orr_component_type orr_cxl_switch_type = {
    .name = "cxl_switch",
    .summary = "CXL switch: routes line requests downstream by address, rewrites tags",
    .params = cxl_switch_params,
    .ports = cxl_switch_ports,
    .metrics = cxl_switch_metrics,
    .state_size = sizeof(struct cxl_switch),
    .create = sw_create,
    .handle = sw_handle,
    .destroy = sw_destroy,
};
