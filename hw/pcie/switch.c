/* pcie_switch: a PCIe switch between one upstream port `up` (to a root
 * complex port or a further switch) and downstream ports d0..d<N-1>
 * (devices or further switches), routing TLPs (include/orrery/pcie.h,
 * docs/pcie.md).
 *
 * Routing (decide, then forward; nothing is rewritten but the address):
 *
 *   from up,  MRD/MWR      by address: the downstream port whose `ranges`
 *                          entry holds it; the address becomes the offset
 *                          in that range (the device sees its BAR offset)
 *   from up,  CPLD/CPL_UR  by requester id: the port whose `requesters`
 *                          entry equals it (configured, not learned: a
 *                          route never depends on which traffic came first)
 *   from d<i>, anything    out `up` (DMA reads and writes, MSI-X writes,
 *                          completions of MMIO reads); a request whose
 *                          requester id is not d<i>'s is refused, since
 *                          its completion could never come back to it
 *
 * Addresses arriving on `up` are those the root complex sends: offsets in
 * the BAR window of the root complex port the switch hangs off, so the
 * ranges must lie inside that window (pcie_rc's bar_size).
 *
 * Timing: a TLP crosses the switch in `latency`, then waits for and is
 * serialised on its egress port at gen/width (pcie_tx_delay); each port's
 * transmitter is independent.
 *
 * Invariants: the range map is finalized (no overlaps) before the first
 * event; requester ids of the downstream ports are distinct and nonzero.
 * An unroutable TLP (no range holds the address, no port has the requester
 * id, the port is not linked, a request with a foreign requester id) is
 * counted in `unroutable` and fails the run with a message naming it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/memmap.h"
#include "orrery/outq.h"
#include "orrery/checkpoint.h"
#include "orrery/pcie.h"
#include "orrery/sim.h"
#include "orrery/error.h"

static const struct orr_param pcie_switch_params[] = {
    {"ports", ORR_P_UINT, "2", ORR_PF_POSITIVE, "downstream ports, named d0..d<N-1>", NULL, 1, 32},
    PCIE_LINK_PARAMS,
    /* Vendor data sheets of PCIe Gen3/Gen4 switches quote ~100-150 ns
     * port-to-port (cut-through); no calibration row in REFERENCES.md. */
    {"latency", ORR_P_TIME, "110ns", 0, "the PCIe switch's port-to-port latency, each way"},
    {"", ORR_P_INCLUDE, .group = memmap_ranges_key}, /* ranges: the devices' BARs */
    {"requesters", ORR_P_SEQ, NULL, ORR_PF_NONEMPTY,
     "requester id of the device on each downstream port, in port order: [256, 512, ...]"},
    {NULL},
};


static const struct orr_port_doc pcie_switch_ports[] = {
    {"up", "TLPs to and from the root complex (or the switch above)"},
    {"d<N>", "TLPs to and from the device on downstream port N; 0 <= N < ports"},
    {NULL},
};

/* One switch port, up or down: its transmitter, queue and statistics. */
struct sw_port {
    struct orr_port *port;
    struct pcie_tx tx;
    struct orr_outq q;
    uint16_t requester; /* downstream ports only */
    struct orr_counter *tlps_in, *tlps_out, *bytes_in, *bytes_out;
};

struct pcie_switch {
    unsigned nDown;
    struct sw_port up, *aDown;
    orr_time_t latency;
    struct memmap map;
    struct orr_counter *unroutable;
};


/* requesters: one distinct nonzero 16-bit id per downstream port. */
static int read_requesters(struct orr_component *c, struct pcie_switch *s,
                           const struct orr_node *seq, const struct orr_mark *mark,
                           struct orr_diag *d)
{
    char keypath[256];
    snprintf(keypath, sizeof keypath, "%s.requesters", c->keypath ? c->keypath : c->path);
    if (seq->n != s->nDown) {
        orr_diag_error(d, mark, keypath, "%zu requester ids for %u downstream ports", seq->n,
                       s->nDown);
        return ORR_ESCHEMA;
    }
    int rc = 0;
    for (unsigned i = 0; i < s->nDown; i++) {
        const struct orr_node *n = seq->aItem[i];
        char *end = NULL;
        unsigned long long v = 0;
        if (n->kind == ORR_NODE_SCALAR)
            v = strtoull(n->scalar, &end, 0);
        if (n->kind != ORR_NODE_SCALAR || !*n->scalar || *end || v == 0 || v > 65535) {
            orr_diag_error(d, &n->mark, keypath,
                           "d%u: '%s' is not a requester id (1..65535; 0 is the root complex)", i,
                           n->kind == ORR_NODE_SCALAR ? n->scalar : "");
            rc = ORR_ESCHEMA;
            continue;
        }
        s->aDown[i].requester = (uint16_t)v;
        for (unsigned j = 0; j < i; j++)
            if (s->aDown[j].requester == v) {
                orr_diag_error(d, &n->mark, keypath, "d%u: requester id %llu is also d%u's", i,
                               v, j);
                rc = ORR_ESCHEMA;
            }
    }
    return rc;
}

static void port_init(struct orr_component *c, struct sw_port *p, const char *name,
                      const struct pcie_tx *tx)
{
    char stat[48];
    p->port = orr_port_add(c, name);
    p->tx = *tx;
    snprintf(stat, sizeof stat, "%s.tlps_in", name);
    p->tlps_in = orr_counter_new(c, stat, "tlp");
    snprintf(stat, sizeof stat, "%s.tlps_out", name);
    p->tlps_out = orr_counter_new(c, stat, "tlp");
    snprintf(stat, sizeof stat, "%s.bytes_in", name);
    p->bytes_in = orr_counter_new(c, stat, "B");
    snprintf(stat, sizeof stat, "%s.bytes_out", name);
    p->bytes_out = orr_counter_new(c, stat, "B");
}

static int sw_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct pcie_switch *s = c->state;
    struct pcie_tx tx;
    int rc = pcie_link_params(p, c->keypath, d, &tx);
    s->nDown = (unsigned)orr_param_u64(p, "ports");
    s->latency = orr_param_u64(p, "latency");
    memmap_init(&s->map);
    s->aDown = calloc(s->nDown, sizeof *s->aDown);
    if (!s->aDown)
        orr_oom();
    if (memmap_read_ranges(&s->map, p, s->nDown,
                           c->keypath ? c->keypath : c->path, d) != 0)
        rc = ORR_ESCHEMA;
    if (read_requesters(c, s, orr_param_map(p, "requesters"), orr_param_mark(p, "requesters"),
                        d) != 0)
        rc = ORR_ESCHEMA;
    port_init(c, &s->up, "up", &tx); /* port index 0; d<i> is 1 + i */
    for (unsigned i = 0; i < s->nDown; i++) {
        char name[16];
        snprintf(name, sizeof name, "d%u", i);
        port_init(c, &s->aDown[i], name, &tx);
    }
    s->unroutable = orr_counter_new(c, "unroutable", "tlp");
    return rc;
}

/* Forward m out of port p after the crossing latency and serialisation. */
static void forward(struct orr_component *c, struct pcie_switch *s, struct sw_port *p,
                    const struct orr_msg *m)
{
    orr_time_t ser = pcie_tx_delay(&p->tx, orr_now(c->sim) + s->latency, m->size);
    p->tlps_out->v++;
    p->bytes_out->v += m->size;
    orr_outq_send(&p->q, p->port, m, s->latency + ser);
}

/* Drop a TLP nobody can take: count it, free its blob, fail the run. */
static void unroutable(struct orr_component *c, struct pcie_switch *s, const struct orr_event *ev,
                       const char *fmt, unsigned long long a)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    char why[160];
    snprintf(why, sizeof why, fmt, a);
    s->unroutable->v++;
    if (h.type == PCIE_MWR || h.type == PCIE_CPLD)
        orr_blob_free(c->sim, ev->data[1]);
    orr_sim_fail(c, "unroutable TLP (type %u, requester %u, tag %u): %s", (unsigned)h.type,
                 (unsigned)h.requester, h.tag, why);
}

static struct sw_port *linked_down(struct pcie_switch *s, unsigned i)
{
    return i < s->nDown && s->aDown[i].port->link ? &s->aDown[i] : NULL;
}

static void from_up(struct orr_component *c, struct pcie_switch *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    struct orr_msg m = {.size = ev->size, .data = {ev->data[0], ev->data[1]}};
    if (h.type == PCIE_CPLD || h.type == PCIE_CPL_UR) {
        unsigned i = 0;
        while (i < s->nDown && s->aDown[i].requester != h.requester)
            i++;
        struct sw_port *p = linked_down(s, i);
        if (!p) {
            unroutable(c, s, ev, i == s->nDown ? "up: completion for requester %llu, which no "
                                                 "downstream port has"
                                               : "up: completion for requester %llu, whose "
                                                 "port is not linked",
                       h.requester);
            return;
        }
        forward(c, s, p, &m);
        return;
    }
    if (h.type != PCIE_MRD && h.type != PCIE_MWR) {
        unroutable(c, s, ev, "up: unknown TLP type %llu", (unsigned)h.type);
        return;
    }
    uint8_t *blob = h.type == PCIE_MWR ? orr_blob_get(c->sim, ev->data[1]) : NULL;
    uint64_t addr = ev->data[1], offset = 0;
    unsigned i = s->nDown;
    if (blob)
        memcpy(&addr, blob, sizeof addr);
    bool held = memmap_resolve(&s->map, addr, &i, &offset);
    struct sw_port *p = linked_down(s, held ? i : s->nDown);
    if (!p) {
        unroutable(c, s, ev, held ? "up: address 0x%llx routes to a port with no link"
                               : "up: no downstream range holds address 0x%llx",
                   (unsigned long long)addr);
        return;
    }
    if (blob)
        memcpy(blob, &offset, sizeof offset);
    else
        m.data[1] = offset;
    forward(c, s, p, &m);
}

static void from_down(struct orr_component *c, struct pcie_switch *s, unsigned i,
                      const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    bool request = h.type == PCIE_MRD || h.type == PCIE_MWR;
    if (request && h.requester != s->aDown[i].requester) {
        char fmt[96];
        snprintf(fmt, sizeof fmt, "d%u: request from requester %%llu, but d%u's requester is %u",
                 i, i, (unsigned)s->aDown[i].requester);
        unroutable(c, s, ev, fmt, h.requester);
        return;
    }
    if (!s->up.port->link) {
        unroutable(c, s, ev, "d%llu: TLP going up, but port up is not linked", i);
        return;
    }
    struct orr_msg m = {.size = ev->size, .data = {ev->data[0], ev->data[1]}};
    forward(c, s, &s->up, &m);
}

static void sw_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct pcie_switch *s = c->state;
    if (ev->kind != ORR_TK_MSG && ev->kind != ORR_TK_READY)
        return;
    struct sw_port *p = ev->port == 0 ? &s->up : &s->aDown[ev->port - 1];
    if (ev->kind == ORR_TK_READY) {
        orr_outq_drain(&p->q, p->port);
        return;
    }
    p->tlps_in->v++;
    p->bytes_in->v += ev->size;
    if (ev->port == 0)
        from_up(c, s, ev);
    else
        from_down(c, s, ev->port - 1u, ev);
}

static void sw_destroy(struct orr_component *c)
{
    struct pcie_switch *s = c->state;
    for (unsigned i = 0; s->aDown && i < s->nDown; i++)
        orr_outq_free(&s->aDown[i].q);
    orr_outq_free(&s->up.q);
    free(s->aDown);
    memmap_free(&s->map);
}

static const struct orr_metric_doc sw_metrics[] = {
    {"up.tlps_in", "tlp", ORR_METRIC_COUNTER, "TLPs received on the upstream port"},
    {"up.tlps_out", "tlp", ORR_METRIC_COUNTER, "TLPs sent out of the upstream port"},
    {"up.bytes_in", "B", ORR_METRIC_COUNTER, "TLP bytes received on the upstream port"},
    {"up.bytes_out", "B", ORR_METRIC_COUNTER, "TLP bytes sent out of the upstream port"},
    {"d<N>.tlps_in", "tlp", ORR_METRIC_COUNTER, "TLPs received on downstream port dN"},
    {"d<N>.tlps_out", "tlp", ORR_METRIC_COUNTER, "TLPs sent out of downstream port dN"},
    {"d<N>.bytes_in", "B", ORR_METRIC_COUNTER, "TLP bytes received on downstream port dN"},
    {"d<N>.bytes_out", "B", ORR_METRIC_COUNTER, "TLP bytes sent out of downstream port dN"},
    {"unroutable", "tlp", ORR_METRIC_COUNTER, "TLPs no port could take (the run fails)"},
    {NULL},
};

/* Checkpoint/restore: each port's link serialiser and queue (the address
 * map and requester ids come from the params). */
static void pcie_switch_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct pcie_switch *s = c->state;
    for (unsigned i = 0; i <= s->nDown; i++) {
        const struct sw_port *p = i == s->nDown ? &s->up : &s->aDown[i];
        orr_ckpt_put_u64(w, p->tx.free_at);
        orr_ckpt_put_outq(w, &p->q);
    }
}

static void pcie_switch_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct pcie_switch *s = c->state;
    for (unsigned i = 0; i <= s->nDown; i++) {
        struct sw_port *p = i == s->nDown ? &s->up : &s->aDown[i];
        p->tx.free_at = orr_ckpt_get_u64(r);
        orr_ckpt_get_outq(r, &p->q);
    }
}

const struct orr_component_type orr_pcie_switch_type = {
    .name = "pcie_switch",
    .summary = "PCIe switch: requests down by BAR range, completions down by requester id, "
               "device TLPs up",
    .params = pcie_switch_params,
    .ports = pcie_switch_ports,
    .metrics = sw_metrics,
    .state_size = sizeof(struct pcie_switch),
    .create = sw_create,
    .handle = sw_handle,
    .destroy = sw_destroy,
    .save = pcie_switch_save,
    .restore = pcie_switch_restore,
};
