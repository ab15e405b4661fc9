/* What a platform does not provide: every HAL call a backend may leave out
 * (physical memory and its atomics, DMA mapping, the network) returns
 * HAL_ENOTSUP here, once (a fence and a spin hint do nothing). The definitions are weak, so a backend's own definition wins at
 * link time; a backend implements what it has and nothing else (the
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

HAL_DEFAULT int hal_mem_region(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size)
{
    (void)c, (void)base, (void)size;
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
