/* intc: the interrupt controller of a machine that runs the reference
 * kernel: it carries inter-processor interrupts between kernel CPUs. A CPU
 * sends {target, reason} on its port cpuI; the controller delivers it on
 * port cpu<target> `latency` later (plus the links' own latency). Messages
 * to one target keep their order. Device interrupts (MSI-X from a root
 * complex) arrive here with the kernel's device support
 * (docs/kernel-platform.md). */
#include <stdio.h>
#include <stdlib.h>

#include "hw/registry.h"
#include "orrery/outq.h"

static const struct orr_param intc_params[] = {
    {"cpus", ORR_P_UINT, NULL, ORR_PF_POSITIVE, "CPUs, on ports cpu0..cpu<N-1>", NULL, 1, 4096},
    {"latency", ORR_P_TIME, "500ns", 0, "from an interrupt's arrival to its delivery"},
    {NULL},
};

static const struct orr_port_doc intc_ports[] = {
    {"cpu<N>", "kernel CPU N: IPIs it sends in, interrupts for it out"},
    {NULL},
};

static const struct orr_metric_doc intc_metrics[] = {
    {"ipis", "irq", ORR_METRIC_COUNTER, "inter-processor interrupts delivered"},
    {"misrouted", "irq", ORR_METRIC_COUNTER, "interrupts for a CPU that does not exist, dropped"},
    {NULL},
};

struct intc {
    unsigned n;
    struct orr_port **aPort;
    struct orr_outq *aOut;
    orr_time_t latency;
    struct orr_counter *ipis, *misrouted;
};

static int intc_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)d;
    struct intc *s = c->state;
    s->n = (unsigned)orr_param_u64(p, "cpus");
    s->latency = orr_param_u64(p, "latency");
    s->aPort = calloc(s->n, sizeof *s->aPort);
    s->aOut = calloc(s->n, sizeof *s->aOut);
    if (!s->aPort || !s->aOut)
        return ORR_ENOMEM;
    for (unsigned i = 0; i < s->n; i++) {
        char name[24];
        snprintf(name, sizeof name, "cpu%u", i);
        s->aPort[i] = orr_port_add(c, name);
    }
    s->ipis = orr_counter_new(c, "ipis", "irq");
    s->misrouted = orr_counter_new(c, "misrouted", "irq");
    return 0;
}

static void intc_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct intc *s = c->state;
    if (ev->kind == ORR_TK_READY) {
        orr_outq_drain(&s->aOut[ev->port], s->aPort[ev->port]);
        return;
    }
    if (ev->kind != ORR_TK_MSG)
        return;
    uint64_t target = ev->data[0];
    if (target >= s->n) {
        s->misrouted->v++;
        return;
    }
    struct orr_msg m = {.size = ev->size, .data = {ev->data[0], ev->data[1]}};
    s->ipis->v++;
    orr_outq_send(&s->aOut[target], s->aPort[target], &m, s->latency);
}

static void intc_destroy(struct orr_component *c)
{
    struct intc *s = c->state;
    for (unsigned i = 0; s->aOut && i < s->n; i++)
        orr_outq_free(&s->aOut[i]);
    free(s->aOut);
    free(s->aPort);
}

const struct orr_component_type orr_intc_type = {
    .name = "intc",
    .summary = "interrupt controller: IPIs between kernel CPUs, with a delivery latency",
    .params = intc_params,
    .ports = intc_ports,
    .metrics = intc_metrics,
    .state_size = sizeof(struct intc),
    .create = intc_create,
    .handle = intc_handle,
    .destroy = intc_destroy,
};
