/* The selftest image's kern_timer and kern_ipi: weak, forwarding to hooks
 * the tests install (see include/kernel/ktest.h). Weak so that the kernel's
 * own upcalls, once a subsystem provides them, win at link time. */
#include <stdatomic.h>

#include "kernel/hal.h"
#include "kernel/ktest.h"

static _Atomic(ktest_timer_hook *) timer_hook;
static _Atomic(ktest_ipi_hook *) ipi_hook;

void ktest_upcalls_set(ktest_timer_hook *on_timer, ktest_ipi_hook *on_ipi)
{
    atomic_store_explicit(&timer_hook, on_timer, memory_order_release);
    atomic_store_explicit(&ipi_hook, on_ipi, memory_order_release);
}

static void selftest_kern_timer(struct hal_cpu *c)
{
    ktest_timer_hook *h = atomic_load_explicit(&timer_hook, memory_order_acquire);
    if (h)
        h(c);
}

static void selftest_kern_ipi(struct hal_cpu *c, uint32_t reason)
{
    ktest_ipi_hook *h = atomic_load_explicit(&ipi_hook, memory_order_acquire);
    if (h)
        h(c, reason);
}

void kern_timer(struct hal_cpu *c) __attribute__((weak, alias("selftest_kern_timer")));
void kern_ipi(struct hal_cpu *c, uint32_t reason) __attribute__((weak, alias("selftest_kern_ipi")));

bool ktest_upcalls_owned(void)
{
    /* Through volatile copies: the compiler must not assume a weak alias
     * still points at its target after linking. */
    void (*volatile t)(struct hal_cpu *) = kern_timer;
    void (*volatile i)(struct hal_cpu *, uint32_t) = kern_ipi;
    return t == selftest_kern_timer && i == selftest_kern_ipi;
}

/* Device interrupts and IOMMU faults, likewise: weak, forwarding to hooks
 * a test installs, until a driver layer provides the kernel's own. */
static _Atomic(ktest_irq_hook *) irq_hook;
static _Atomic(ktest_dma_fault_hook *) dma_fault_hook;

void ktest_dev_upcalls_set(ktest_irq_hook *on_irq, ktest_dma_fault_hook *on_fault)
{
    atomic_store_explicit(&irq_hook, on_irq, memory_order_release);
    atomic_store_explicit(&dma_fault_hook, on_fault, memory_order_release);
}

static void selftest_kern_irq(struct hal_cpu *c, uint32_t vector)
{
    ktest_irq_hook *h = atomic_load_explicit(&irq_hook, memory_order_acquire);
    if (h)
        h(c, vector);
}

static void selftest_kern_dma_fault(struct hal_cpu *c, uint32_t dev, uint64_t bus, unsigned access)
{
    ktest_dma_fault_hook *h = atomic_load_explicit(&dma_fault_hook, memory_order_acquire);
    if (h)
        h(c, dev, bus, access);
}

void kern_irq(struct hal_cpu *c, uint32_t vector) __attribute__((weak, alias("selftest_kern_irq")));
void kern_dma_fault(struct hal_cpu *c, uint32_t dev, uint64_t bus, unsigned access)
    __attribute__((weak, alias("selftest_kern_dma_fault")));
