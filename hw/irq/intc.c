/* intc: the interrupt controller of a machine that runs the reference
 * kernel (docs/kernel-platform.md, "Devices"). It carries
 *   - inter-processor interrupts: a CPU sends {target, reason} on its port
 *     cpuI; the controller delivers it on port cpu<target>;
 *   - device interrupts: a root complex sends MSI-X vectors on its port
 *     devN; the routing table sends vector v to one CPU (v mod cpus until
 *     the kernel routes it: hal_irq_route), or holds it pending while the
 *     vector is masked and delivers it when the kernel unmasks it;
 *   - DMA permission faults of an IOMMU: to CPU 0 (kern_dma_fault).
 * Everything is delivered `latency` after it arrives (plus the links' own
 * latency). Messages to one CPU keep their order. Message formats:
 * include/orrery/irq.h.
 *
 * Invariants: a vector is pending only while it is masked (unmasking
 * delivers it); a pending vector counts once however often it fired (an
 * MSI-X pending bit). */
#include <stdio.h>
#include <stdlib.h>

#include "hw/registry.h"
#include "orrery/irq.h"
#include "orrery/outq.h"

static const struct orr_param intc_params[] = {
    {"cpus", ORR_P_UINT, NULL, ORR_PF_POSITIVE, "CPUs, on ports cpu0..cpu<N-1>", NULL, 1, 4096},
    {"devices", ORR_P_UINT, "0", 0, "root complexes sending device interrupts, on ports dev0..",
     NULL, 0, 16},
    {"latency", ORR_P_TIME, "500ns", 0, "from an interrupt's arrival to its delivery"},
    {NULL},
};

static const struct orr_port_doc intc_ports[] = {
    {"cpu<N>", "kernel CPU N: IPIs and routing requests it sends in, interrupts for it out"},
    {"dev<N>", "a root complex: MSI-X vectors and IOMMU faults in"},
    {NULL},
};

static const struct orr_metric_doc intc_metrics[] = {
    {"ipis", "irq", ORR_METRIC_COUNTER, "inter-processor interrupts delivered"},
    {"misrouted", "irq", ORR_METRIC_COUNTER, "interrupts for a CPU that does not exist, dropped"},
    {"device_irqs", "irq", ORR_METRIC_COUNTER, "device interrupts (MSI-X vectors) delivered"},
    {"masked", "irq", ORR_METRIC_COUNTER,
     "device interrupts that found their vector masked (held pending; one per vector)"},
    {"dma_faults", "fault", ORR_METRIC_COUNTER, "IOMMU permission faults delivered to CPU 0"},
    {"routes", "", ORR_METRIC_COUNTER, "routing requests from the kernel (hal_irq_route)"},
    {NULL},
};

struct vec {
    uint16_t cpu;
    bool masked, pending;
};

struct intc {
    unsigned n, ndev;
    struct orr_port **aPort, **aDev;
    struct orr_outq *aOut;
    orr_time_t latency;
    struct vec aVec[IRQ_VECTORS];
    struct orr_counter *ipis, *misrouted, *device_irqs, *masked, *dma_faults, *routes;
};

static int intc_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)d;
    struct intc *s = c->state;
    s->n = (unsigned)orr_param_u64(p, "cpus");
    s->ndev = (unsigned)orr_param_u64(p, "devices");
    s->latency = orr_param_u64(p, "latency");
    s->aPort = calloc(s->n, sizeof *s->aPort);
    s->aOut = calloc(s->n, sizeof *s->aOut);
    s->aDev = calloc(s->ndev + 1, sizeof *s->aDev);
    if (!s->aPort || !s->aOut || !s->aDev)
        return ORR_ENOMEM;
    for (unsigned i = 0; i < s->n; i++) {
        char name[24];
        snprintf(name, sizeof name, "cpu%u", i);
        s->aPort[i] = orr_port_add(c, name);
    }
    for (unsigned i = 0; i < s->ndev; i++) {
        char name[24];
        snprintf(name, sizeof name, "dev%u", i);
        s->aDev[i] = orr_port_add(c, name);
    }
    for (unsigned v = 0; v < IRQ_VECTORS; v++)
        s->aVec[v].cpu = (uint16_t)(v % s->n);
    s->ipis = orr_counter_new(c, "ipis", "irq");
    s->misrouted = orr_counter_new(c, "misrouted", "irq");
    s->device_irqs = orr_counter_new(c, "device_irqs", "irq");
    s->masked = orr_counter_new(c, "masked", "irq");
    s->dma_faults = orr_counter_new(c, "dma_faults", "fault");
    s->routes = orr_counter_new(c, "routes", "");
    return 0;
}

static void deliver(struct intc *s, unsigned cpu, uint64_t w0, uint64_t w1)
{
    struct orr_msg m = {.size = IRQ_MSG_BYTES, .data = {w0, w1}};
    orr_outq_send(&s->aOut[cpu], s->aPort[cpu], &m, s->latency);
}

static void device_irq(struct intc *s, unsigned v)
{
    struct vec *e = &s->aVec[v];
    if (e->masked) {
        if (!e->pending)
            s->masked->v++;
        e->pending = true;
        return;
    }
    s->device_irqs->v++;
    deliver(s, e->cpu, irq_pack(IRQ_OP_MSI, 0), v);
}

static void from_device(struct intc *s, const struct orr_event *ev)
{
    enum irq_op op = irq_op_of(ev->data[0]);
    if (op == IRQ_OP_MSI && irq_low(ev->data[0]) < IRQ_VECTORS) {
        device_irq(s, (unsigned)irq_low(ev->data[0]));
    } else if (op == IRQ_OP_DMA_FAULT) {
        s->dma_faults->v++;
        deliver(s, 0, ev->data[0], ev->data[1]);
    } else {
        s->misrouted->v++;
    }
}

static void from_cpu(struct intc *s, const struct orr_event *ev)
{
    uint64_t w = ev->data[0];
    if (irq_op_of(w) == IRQ_OP_ROUTE) {
        unsigned v = (unsigned)(irq_low(w) >> 24) & 0xFFFFu, cpu = (unsigned)(w & 0xFFFFFFu);
        if (v >= IRQ_VECTORS || cpu >= s->n) {
            s->misrouted->v++;
            return;
        }
        struct vec *e = &s->aVec[v];
        s->routes->v++;
        e->cpu = (uint16_t)cpu;
        e->masked = ev->data[1] & IRQ_ROUTE_MASKED;
        if (!e->masked && e->pending) {
            e->pending = false;
            device_irq(s, v);
        }
        return;
    }
    uint64_t target = w;
    if (target >= s->n) {
        s->misrouted->v++;
        return;
    }
    struct orr_msg m = {.size = ev->size, .data = {ev->data[0], ev->data[1]}};
    s->ipis->v++;
    orr_outq_send(&s->aOut[target], s->aPort[target], &m, s->latency);
}

static void intc_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct intc *s = c->state;
    bool dev = ev->port >= s->n;
    if (ev->kind == ORR_TK_READY) {
        if (!dev)
            orr_outq_drain(&s->aOut[ev->port], s->aPort[ev->port]);
        return;
    }
    if (ev->kind != ORR_TK_MSG)
        return;
    if (dev)
        from_device(s, ev);
    else
        from_cpu(s, ev);
}

static void intc_destroy(struct orr_component *c)
{
    struct intc *s = c->state;
    for (unsigned i = 0; s->aOut && i < s->n; i++)
        orr_outq_free(&s->aOut[i]);
    free(s->aOut);
    free(s->aPort);
    free(s->aDev);
}

const struct orr_component_type orr_intc_type = {
    .name = "intc",
    .summary = "interrupt controller: IPIs between kernel CPUs, routed and maskable MSI-X "
               "vectors, IOMMU faults",
    .params = intc_params,
    .ports = intc_ports,
    .metrics = intc_metrics,
    .state_size = sizeof(struct intc),
    .create = intc_create,
    .handle = intc_handle,
    .destroy = intc_destroy,
};
