/* include/kernel/hal.h on the simulated machine (see platform.h). Time is
 * simulated time, timers and IPIs are engine events, tracepoints become
 * trace records, annotated costs are tallied for the hosting model to
 * charge, and a kernel panic unwinds to the platform instead of ending the
 * simulator. Memory, DMA and network arrive with their hardware issues. */
#include "platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void platform_init(struct platform *p, struct orr_component *c, unsigned ncpu, uint64_t hz,
                   orr_time_t ipi_latency, const struct platform_tracepoint *tps, unsigned ntp,
                   const struct platform_upcalls *up)
{
    memset(p, 0, sizeof *p);
    p->comp = c;
    p->up = *up;
    p->ncpu = ncpu;
    p->clock.hz = hz;
    p->ipi_latency = ipi_latency;
    p->aCpu = calloc(ncpu, sizeof *p->aCpu);
    if (!p->aCpu)
        abort();
    for (unsigned i = 0; i < ncpu; i++)
        p->aCpu[i] = (struct hal_cpu){.plat = p, .id = i, .irq_on = true};
    for (unsigned i = 0; i < ntp && i < PLAT_MAX_TRACEPOINTS; i++) {
        p->aTp[i] = tps[i];
        p->aKind[i] = orr_trace_kind(c, tps[i].name);
    }
    p->nTp = ntp < PLAT_MAX_TRACEPOINTS ? ntp : PLAT_MAX_TRACEPOINTS;
    p->ipis = orr_counter_new(c, "kern.ipis", "ipi");
    p->timer_irqs = orr_counter_new(c, "kern.timer_irqs", "irq");
    p->cost_cycles = orr_counter_new(c, "kern.cost_cycles", "cy");
}

void platform_free(struct platform *p)
{
    free(p->aCpu);
    p->aCpu = NULL;
}

bool platform_call(struct platform *p, unsigned cpu, void (*fn)(struct hal_cpu *, void *),
                   void *arg)
{
    struct hal_cpu *c = &p->aCpu[cpu];
    jmp_buf here, *outer = p->panic_to;
    bool was = c->irq_on;
    if (p->panicked)
        return false;
    if (setjmp(here)) {
        p->panic_to = outer;
        c->irq_on = was;
        return false;
    }
    p->panic_to = &here;
    c->irq_on = false;
    fn(c, arg);
    c->irq_on = was;
    p->panic_to = outer;
    return true;
}

static void deliver_timer(struct hal_cpu *c, void *arg)
{
    (void)arg;
    c->plat->up.timer(c);
}

static void deliver_ipi(struct hal_cpu *c, void *arg)
{
    c->plat->up.ipi(c, (uint32_t)(uintptr_t)arg);
}

bool platform_handle(struct platform *p, const struct orr_event *ev)
{
    if (ev->kind != ORR_TK_TIMER || (ev->port != PLAT_TAG_TIMER && ev->port != PLAT_TAG_IPI))
        return false;
    unsigned cpu = (unsigned)ev->data[0];
    if (cpu >= p->ncpu)
        return true;
    struct hal_cpu *c = &p->aCpu[cpu];
    if (ev->port == PLAT_TAG_TIMER) {
        if (!c->timer_armed || ev->data[1] != c->timer_gen)
            return true; /* cancelled or re-armed since */
        c->timer_armed = false;
        p->timer_irqs->v++;
        platform_call(p, cpu, deliver_timer, NULL);
    } else {
        p->ipis->v++;
        platform_call(p, cpu, deliver_ipi, (void *)(uintptr_t)ev->data[1]);
    }
    return true;
}

orr_time_t platform_take_cost(struct platform *p, unsigned cpu)
{
    struct hal_cpu *c = &p->aCpu[cpu];
    orr_time_t t = orr_clock_cycles_to_ps(&p->clock, c->cost_cycles);
    c->cost_cycles = 0;
    return t;
}

/* --- the HAL ------------------------------------------------------------- */

unsigned hal_cpu_id(const struct hal_cpu *c) { return c->id; }
unsigned hal_cpu_count(const struct hal_cpu *c) { return c->plat->ncpu; }

void hal_set_kernel_data(struct hal_cpu *c, void *kdata) { c->kdata = kdata; }
void *hal_kernel_data(const struct hal_cpu *c) { return c->kdata; }

hal_ns_t hal_now(const struct hal_cpu *c) { return orr_now(c->plat->comp->sim) / ORR_NS; }

void hal_timer_set(struct hal_cpu *c, hal_ns_t when)
{
    struct platform *p = c->plat;
    orr_time_t now = orr_now(p->comp->sim);
    orr_time_t at = when >= ORR_TIME_HORIZON / ORR_NS ? ORR_TIME_HORIZON : when * ORR_NS;
    c->timer_gen++;
    c->timer_armed = true;
    orr_timer(p->comp, at > now ? at - now : 0, PLAT_TAG_TIMER, c->id, c->timer_gen);
}

void hal_timer_cancel(struct hal_cpu *c)
{
    c->timer_gen++;
    c->timer_armed = false;
}

bool hal_irq_disable(struct hal_cpu *c)
{
    bool was = c->irq_on;
    c->irq_on = false;
    return was;
}

void hal_irq_restore(struct hal_cpu *c, bool was_enabled) { c->irq_on = was_enabled; }

void hal_ipi_send(struct hal_cpu *c, unsigned target, uint32_t reason)
{
    struct platform *p = c->plat;
    if (target < p->ncpu)
        orr_timer(p->comp, p->ipi_latency, PLAT_TAG_IPI, target, reason);
}

int hal_load(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t *out)
{
    (void)c, (void)pa, (void)size, (void)out;
    return HAL_ENOTSUP; /* physical memory comes with the memory-system model */
}

int hal_store(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t value)
{
    (void)c, (void)pa, (void)size, (void)value;
    return HAL_ENOTSUP;
}

int hal_dma_map(struct hal_cpu *c, uint32_t dev, hal_paddr_t pa, size_t len, bool write,
                uint64_t *bus)
{
    (void)c, (void)dev, (void)pa, (void)len, (void)write, (void)bus;
    return HAL_ENOTSUP; /* DMA and the IOMMU come with the PCIe model */
}

int hal_dma_unmap(struct hal_cpu *c, uint32_t dev, uint64_t bus, size_t len)
{
    (void)c, (void)dev, (void)bus, (void)len;
    return HAL_ENOTSUP;
}

int hal_net_post(struct hal_cpu *c, uint32_t qp, const void *wr, size_t len)
{
    (void)c, (void)qp, (void)wr, (void)len;
    return HAL_ENOTSUP; /* until the fabric issue */
}

int hal_net_poll(struct hal_cpu *c, uint32_t cq, void *out, size_t n)
{
    (void)c, (void)cq, (void)out, (void)n;
    return HAL_ENOTSUP;
}

void hal_trace(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b)
{
    struct platform *p = c->plat;
    for (unsigned i = 0; i < p->nTp; i++)
        if (p->aTp[i].point == point) {
            orr_trace_point(p->comp, p->aKind[i], (uint64_t)c->id << 48 | (a & 0xFFFFFFFFFFFFull),
                            b);
            return;
        }
}

void hal_cost(struct hal_cpu *c, uint32_t cycles)
{
    c->cost_cycles += cycles;
    c->plat->cost_cycles->v += cycles;
}

void hal_console_write(struct hal_cpu *c, const char *s, size_t n)
{
    struct platform *p = c->plat;
    for (size_t i = 0; i < n && p->nConsole + 1 < PLAT_CONSOLE_MAX; i++)
        p->aConsole[p->nConsole++] = s[i];
    p->aConsole[p->nConsole] = 0;
}

void hal_panic(struct hal_cpu *c, const char *why)
{
    struct platform *p = c->plat;
    snprintf(p->panic_msg, sizeof p->panic_msg, "kernel panic on cpu %u at %llu ns: %s", c->id,
             (unsigned long long)hal_now(c), why);
    p->panicked = true;
    if (p->panic_to)
        longjmp(*p->panic_to, 1);
    abort(); /* kernel code ran outside platform_call: a platform bug */
}
