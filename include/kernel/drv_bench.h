/* The driver workload (kernel/drivers/bench.c, docs/drivers.md): a client
 * on the core's CPU drives one binding with `depth` requests in flight
 * until `requests` have finished, recovering the driver whenever it
 * crashes; the driver's CPU serves the binding (tiers 1 and 2). Every
 * kernel CPU calls drv_bench with the same cfg and binding; those that are
 * neither the core's nor the driver's return at once. Returns 0, or the
 * line of the check that failed (data, count, or the recovery checker). */
#ifndef KERNEL_DRV_BENCH_H
#define KERNEL_DRV_BENCH_H

#include "kernel/driver.h"

struct drv_bench_cfg {
    uint32_t dev;
    const struct drv_ops *ops;
    enum drv_tier tier;
    unsigned core_cpu, drv_cpu;
    unsigned requests, depth;
    uint32_t bytes;              /* per request */
    uint32_t cross;              /* tier-2 crossing, cycles */
    struct drv_policy policy;
    hal_paddr_t region;          /* the driver's region (page-aligned, guard lines around) */
    uint64_t region_size;
    hal_paddr_t chan_at;         /* DRV_BIND_CHAN_BYTES of kernel memory */
    hal_ns_t nap;                /* longest sleep of a waiting side */
    /* the network client (driver nic) */
    uint32_t dest;               /* node the packets go to */
    unsigned receive;            /* packets expected from the peer */
    hal_ns_t rx_idle;            /* after the last send, give up on the rest after this quiet */
};

struct drv_bench_result {
    uint64_t submitted, completed, failed, bad_data, crashes_seen;
    uint64_t sent, received, rx_out_of_order, cancelled;
    hal_ns_t elapsed_ns;
    int check;
};

/* Region bytes the workload needs for cfg (the driver's own + buffers). */
static inline uint64_t drv_bench_region_bytes(uint64_t driver_bytes, unsigned depth,
                                              uint32_t bytes)
{
    uint64_t need = driver_bytes + 2ull * depth * bytes;
    return (need + 4095u) & ~(uint64_t)4095u;
}

int drv_bench(struct hal_cpu *c, const struct drv_bench_cfg *cfg, struct drv_binding *b,
              struct drv_bench_result *res);
/* The upcalls to install (kern_irq, kern_dma_fault) while it runs. */
void drv_bench_irq(struct hal_cpu *c, uint32_t vector);
void drv_bench_dma_fault(struct hal_cpu *c, uint32_t dev, uint64_t bus, unsigned access);

#endif
