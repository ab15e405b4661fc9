/* What a platform does not provide: every HAL call a backend may leave out
 * (physical memory and its atomics, virtual memory, DMA mapping, the network) returns
 * HAL_ENOTSUP here, once (a fence, a spin hint and idling do nothing; a
 * report goes to the console). The definitions are weak, so a backend's
 * own definition wins at link time; a backend implements what it has and nothing else (the
 * riscv64 target has memory but no DMA or network; the scheduler's host
 * harness has none of them). The kernel sees HAL_ENOTSUP at the first call
 * and runs without the facility (include/kernel/hal.h). */
#include "kernel/hal.h"

#define HAL_DEFAULT __attribute__((weak))

HAL_DEFAULT int hal_load(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t *out)
{
    (void)c, (void)pa, (void)size, (void)out;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_store(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t value)
{
    (void)c, (void)pa, (void)size, (void)value;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_atomic(struct hal_cpu *c, enum hal_atomic_op op, hal_paddr_t pa, unsigned size,
                           uint64_t value, uint64_t expect, uint64_t *old)
{
    (void)c, (void)op, (void)pa, (void)size, (void)value, (void)expect, (void)old;
    return HAL_ENOTSUP;
}

HAL_DEFAULT void hal_fence(struct hal_cpu *c) { (void)c; }

HAL_DEFAULT void hal_relax(struct hal_cpu *c) { (void)c; }

/* Returning at once is allowed (an early wake-up): callers loop. */
HAL_DEFAULT void hal_idle(struct hal_cpu *c) { hal_relax(c); }

HAL_DEFAULT int hal_mem_region(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size)
{
    (void)c, (void)base, (void)size;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_percpu_area(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size)
{
    (void)c, (void)base, (void)size;
    return HAL_ENOTSUP;
}

/* "report NAME VALUE" on the console. */
HAL_DEFAULT void hal_report(struct hal_cpu *c, const char *name, uint64_t value)
{
    char buf[24];
    unsigned n = 0;
    do
        buf[sizeof buf - 1 - n++] = (char)('0' + value % 10);
    while ((value /= 10) && n < sizeof buf - 1);
    size_t len = 0;
    while (name[len])
        len++;
    hal_console_write(c, "report ", 7);
    hal_console_write(c, name, len);
    hal_console_write(c, " ", 1);
    hal_console_write(c, buf + sizeof buf - n, n);
    hal_console_write(c, "\n", 1);
}

HAL_DEFAULT int hal_mmu_set_root(struct hal_cpu *c, hal_paddr_t root, void *ctx)
{
    (void)c, (void)root, (void)ctx;
    return HAL_ENOTSUP;
}

HAL_DEFAULT void *hal_mmu_context(const struct hal_cpu *c)
{
    (void)c;
    return 0;
}

HAL_DEFAULT int hal_tlb_flush(struct hal_cpu *c, uint64_t va, uint64_t len)
{
    (void)c, (void)va, (void)len;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_vload(struct hal_cpu *c, uint64_t va, unsigned size, uint64_t *out)
{
    (void)c, (void)va, (void)size, (void)out;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_vstore(struct hal_cpu *c, uint64_t va, unsigned size, uint64_t value)
{
    (void)c, (void)va, (void)size, (void)value;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_vatomic(struct hal_cpu *c, enum hal_atomic_op op, uint64_t va, unsigned size,
                            uint64_t value, uint64_t expect, uint64_t *old)
{
    (void)c, (void)op, (void)va, (void)size, (void)value, (void)expect, (void)old;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_dev_bar(struct hal_cpu *c, uint32_t dev, hal_paddr_t *bar, uint64_t *size)
{
    (void)c, (void)dev, (void)bar, (void)size;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_mmio_read(struct hal_cpu *c, hal_paddr_t addr, unsigned size, uint64_t *out)
{
    (void)c, (void)addr, (void)size, (void)out;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_mmio_write(struct hal_cpu *c, hal_paddr_t addr, unsigned size, uint64_t value)
{
    (void)c, (void)addr, (void)size, (void)value;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_irq_route(struct hal_cpu *c, uint32_t vector, unsigned cpu, bool masked)
{
    (void)c, (void)vector, (void)cpu, (void)masked;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_dma_map(struct hal_cpu *c, uint32_t dev, hal_paddr_t pa, size_t len, bool write,
                            uint64_t *bus)
{
    (void)c, (void)dev, (void)pa, (void)len, (void)write, (void)bus;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_dma_unmap(struct hal_cpu *c, uint32_t dev, uint64_t bus, size_t len)
{
    (void)c, (void)dev, (void)bus, (void)len;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_net_ctl(struct hal_cpu *c, const struct hal_net_ctl *req)
{
    (void)c, (void)req;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_net_post(struct hal_cpu *c, uint32_t qp, const struct hal_net_wr *wr, size_t n)
{
    (void)c, (void)qp, (void)wr, (void)n;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_net_post_recv(struct hal_cpu *c, uint32_t qp, const struct hal_net_wr *wr,
                                  size_t n)
{
    (void)c, (void)qp, (void)wr, (void)n;
    return HAL_ENOTSUP;
}

HAL_DEFAULT int hal_net_poll(struct hal_cpu *c, uint32_t cq, struct hal_net_cqe *out, size_t n)
{
    (void)c, (void)cq, (void)out, (void)n;
    return HAL_ENOTSUP;
}
