/* The "dev" and "iommu" selftest suites: the kernel drives a device
 * through the HAL's device calls (hal.h "devices") — finds it by its ID
 * register over MMIO, grants it buffers with hal_dma_map, programs a copy,
 * takes its MSI-X interrupt in kern_irq and checks the bytes through its
 * own caches (the device's DMA must be coherent with them) — and, with an
 * IOMMU, that DMA the kernel did not grant is refused and reported
 * (kern_dma_fault) while memory stays untouched.
 *
 * The device is the modelled PCIe DMA engine (hw/pcie/dma_engine.c) on
 * device 0; where the platform has no devices (QEMU, sched_node) the
 * tests report skip. Memory: 16 KiB from half-way into the kernel's
 * region (free while selftests run; sync_bench uses it later). Runs on
 * CPU 0, which takes the interrupts (the test routes its vector there). */
#include <stdatomic.h>

#include "kernel/dev/dma_engine.h"
#include "kernel/ktest.h"

#define BUF 8192u                 /* two pages: a copy crosses a page boundary */
#define WAIT_NS 1000000u          /* an interrupt later than 1 ms is lost */

static _Atomic unsigned irqs;
static _Atomic unsigned faults;
static _Atomic uint64_t fault_bus;
static _Atomic unsigned fault_access, fault_dev;

static void on_irq(struct hal_cpu *c, uint32_t vector)
{
    (void)c;
    if (vector == DMAE_VECTOR)
        atomic_fetch_add_explicit(&irqs, 1, memory_order_relaxed);
}

static void on_fault(struct hal_cpu *c, uint32_t dev, uint64_t bus, unsigned access)
{
    (void)c;
    atomic_store_explicit(&fault_dev, dev, memory_order_relaxed);
    atomic_store_explicit(&fault_bus, bus, memory_order_relaxed);
    atomic_store_explicit(&fault_access, access, memory_order_relaxed);
    atomic_fetch_add_explicit(&faults, 1, memory_order_relaxed);
}

struct rig {
    hal_paddr_t bar, src, dst;
};

/* Find the engine on device 0 and the buffers; KTEST_SKIP without one. */
static int rig_up(struct hal_cpu *c, struct rig *r)
{
    uint64_t size, id = 0, msize;
    hal_paddr_t base;
    if (hal_dev_bar(c, 0, &r->bar, &size) != HAL_OK || hal_mem_region(c, &base, &msize) != HAL_OK)
        return KTEST_SKIP;
    if (hal_mmio_read(c, r->bar + DMAE_ID, 8, &id) != HAL_OK || id != DMAE_ID_VALUE)
        return KTEST_SKIP; /* not a DMA engine there */
    r->src = (base + msize / 2 + HAL_PAGE_SIZE - 1) & ~(hal_paddr_t)(HAL_PAGE_SIZE - 1);
    r->dst = r->src + BUF;
    if (r->dst + BUF > base + msize)
        return KTEST_SKIP;
    atomic_store(&irqs, 0);
    atomic_store(&faults, 0);
    ktest_dev_upcalls_set(on_irq, on_fault);
    return hal_irq_route(c, DMAE_VECTOR, hal_cpu_id(c), false) == HAL_OK ? KTEST_OK : __LINE__;
}

static void rig_down(struct hal_cpu *c)
{
    ktest_dev_upcalls_set(0, 0);
    (void)hal_irq_route(c, DMAE_VECTOR, 0, false);
}

/* Fill a buffer with a pattern from `seed`, through this CPU's caches. */
static int fill(struct hal_cpu *c, hal_paddr_t at, uint64_t seed)
{
    for (unsigned i = 0; i < BUF; i += 8)
        if (hal_store(c, at + i, 8, seed * 0x9E3779B97F4A7C15ull + i) != HAL_OK)
            return __LINE__;
    return KTEST_OK;
}

/* Does the buffer hold seed's pattern? Reads through the caches. */
static bool holds(struct hal_cpu *c, hal_paddr_t at, uint64_t seed)
{
    for (unsigned i = 0; i < BUF; i += 8) {
        uint64_t v = 0;
        if (hal_load(c, at + i, 8, &v) != HAL_OK || v != seed * 0x9E3779B97F4A7C15ull + i)
            return false;
    }
    return true;
}

/* Wait until `n` interrupts have come (interrupts on), at most WAIT_NS. */
static bool wait_irqs(struct hal_cpu *c, unsigned n)
{
    hal_ns_t until = hal_now(c) + WAIT_NS;
    while (atomic_load_explicit(&irqs, memory_order_relaxed) < n) {
        if (hal_now(c) >= until)
            return false;
        hal_timer_set(c, until);
        hal_idle(c);
    }
    return true;
}

/* Program one copy of BUF bytes between bus addresses and ring it. */
static int ring(struct hal_cpu *c, const struct rig *r, uint64_t src, uint64_t dst)
{
    KTEST_CHECK(hal_mmio_write(c, r->bar + DMAE_SRC, 8, src) == HAL_OK);
    KTEST_CHECK(hal_mmio_write(c, r->bar + DMAE_DST, 8, dst) == HAL_OK);
    KTEST_CHECK(hal_mmio_write(c, r->bar + DMAE_LEN, 8, BUF) == HAL_OK);
    KTEST_CHECK(hal_mmio_write(c, r->bar + DMAE_DOORBELL, 8, 1) == HAL_OK);
    return KTEST_OK;
}

/* ---------------------------------------------------------------- "dev" */

static int test_probe(struct hal_cpu *c)
{
    struct rig r;
    int rc = rig_up(c, &r);
    if (rc)
        return rc;
    hal_ns_t t0 = hal_now(c);
    uint64_t done = 1;
    KTEST_CHECK(hal_mmio_read(c, r.bar + DMAE_DONE, 8, &done) == HAL_OK);
    hal_report(c, "dev.mmio_read_ns", hal_now(c) - t0);
    /* a BAR offset the device does not decode reads as 0; no device at all, all ones */
    uint64_t none = 0, size;
    hal_paddr_t bar;
    KTEST_CHECK(hal_dev_bar(c, 1u << 20, &bar, &size) == HAL_EINVAL);
    KTEST_CHECK(hal_mmio_read(c, r.bar + 0x100, 8, &none) == HAL_OK && none == 0);
    rig_down(c);
    return KTEST_OK;
}

/* A copy from a buffer this CPU just wrote (dirty in its caches) into one
 * it holds shared: the device must read the dirty bytes and its writes
 * must invalidate the stale copies, or the check below fails. */
static int test_copy(struct hal_cpu *c)
{
    struct rig r;
    int rc = rig_up(c, &r);
    if (rc)
        return rc;
    uint64_t src, dst, done0 = 0, done = 0, status = 1;
    KTEST_CHECK(fill(c, r.src, 7) == KTEST_OK && fill(c, r.dst, 3) == KTEST_OK);
    KTEST_CHECK(holds(c, r.dst, 3)); /* now cached here */
    KTEST_CHECK(hal_dma_map(c, 0, r.src, BUF, false, &src) == HAL_OK);
    KTEST_CHECK(hal_dma_map(c, 0, r.dst, BUF, true, &dst) == HAL_OK);
    KTEST_CHECK(hal_mmio_read(c, r.bar + DMAE_DONE, 8, &done0) == HAL_OK);
    hal_ns_t t0 = hal_now(c);
    KTEST_CHECK(ring(c, &r, src, dst) == KTEST_OK);
    KTEST_CHECK(wait_irqs(c, 1));
    hal_report(c, "dev.copy_ns", hal_now(c) - t0);
    KTEST_CHECK(hal_mmio_read(c, r.bar + DMAE_DONE, 8, &done) == HAL_OK && done == done0 + 1);
    KTEST_CHECK(hal_mmio_read(c, r.bar + DMAE_STATUS, 8, &status) == HAL_OK && status == 0);
    KTEST_CHECK(holds(c, r.dst, 7));
    KTEST_CHECK(atomic_load(&faults) == 0);
    KTEST_CHECK(hal_dma_unmap(c, 0, src, BUF) == HAL_OK);
    KTEST_CHECK(hal_dma_unmap(c, 0, dst, BUF) == HAL_OK);
    rig_down(c);
    return KTEST_OK;
}

/* A masked vector is held, not lost: nothing arrives while masked, one
 * interrupt when unmasked. */
static int test_masked(struct hal_cpu *c)
{
    struct rig r;
    int rc = rig_up(c, &r);
    if (rc)
        return rc;
    uint64_t src, dst;
    KTEST_CHECK(hal_irq_route(c, DMAE_VECTOR, hal_cpu_id(c), true) == HAL_OK);
    KTEST_CHECK(hal_dma_map(c, 0, r.src, BUF, false, &src) == HAL_OK);
    KTEST_CHECK(hal_dma_map(c, 0, r.dst, BUF, true, &dst) == HAL_OK);
    KTEST_CHECK(ring(c, &r, src, dst) == KTEST_OK);
    KTEST_CHECK(!wait_irqs(c, 1)); /* 1 ms: the copy is long done, its vector held */
    KTEST_CHECK(hal_irq_route(c, DMAE_VECTOR, hal_cpu_id(c), false) == HAL_OK);
    KTEST_CHECK(wait_irqs(c, 1));
    KTEST_CHECK(atomic_load(&irqs) == 1);
    KTEST_CHECK(hal_dma_unmap(c, 0, src, BUF) == HAL_OK);
    KTEST_CHECK(hal_dma_unmap(c, 0, dst, BUF) == HAL_OK);
    rig_down(c);
    return KTEST_OK;
}

const struct ktest dev_ktests[] = {
    {"probe", test_probe},
    {"copy", test_copy},
    {"masked", test_masked},
    {0, 0},
};

/* -------------------------------------------------------------- "iommu" */

/* A write the kernel no longer grants: one copy goes through (the IOTLB
 * now holds the destination's pages), the kernel revokes the destination,
 * and the next copy's writes are refused — the revocation reached the
 * IOTLB too; CPU 0 hears of it with the device, the page and the access,
 * and memory is untouched. */
static int test_unmapped_write(struct hal_cpu *c)
{
    struct rig r;
    int rc = rig_up(c, &r);
    if (rc)
        return rc;
    uint64_t src, dst;
    KTEST_CHECK(fill(c, r.src, 11) == KTEST_OK && fill(c, r.dst, 5) == KTEST_OK);
    KTEST_CHECK(hal_dma_map(c, 0, r.src, BUF, false, &src) == HAL_OK);
    KTEST_CHECK(hal_dma_map(c, 0, r.dst, BUF, true, &dst) == HAL_OK);
    KTEST_CHECK(ring(c, &r, src, dst) == KTEST_OK);
    KTEST_CHECK(wait_irqs(c, 1));
    KTEST_CHECK(holds(c, r.dst, 11) && atomic_load(&faults) == 0);
    KTEST_CHECK(fill(c, r.dst, 5) == KTEST_OK);
    KTEST_CHECK(hal_dma_unmap(c, 0, dst, BUF) == HAL_OK); /* revoked before the next copy */
    KTEST_CHECK(ring(c, &r, src, dst) == KTEST_OK);
    KTEST_CHECK(wait_irqs(c, 2));
    KTEST_CHECK(atomic_load(&faults) >= 1);
    KTEST_CHECK(atomic_load(&fault_dev) == 0);
    KTEST_CHECK(atomic_load(&fault_access) == HAL_ACC_WRITE);
    uint64_t fb = atomic_load(&fault_bus);
    KTEST_CHECK(fb >= (dst & ~(uint64_t)(HAL_PAGE_SIZE - 1)) && fb < dst + BUF);
    KTEST_CHECK(holds(c, r.dst, 5));
    hal_report(c, "dev.iommu_write_faults", atomic_load(&faults));
    KTEST_CHECK(hal_dma_unmap(c, 0, src, BUF) == HAL_OK);
    KTEST_CHECK(hal_dma_unmap(c, 0, dst, BUF) == HAL_EINVAL); /* nothing left there */
    rig_down(c);
    return KTEST_OK;
}

/* A read-only grant: the device may read it, never write it. */
static int test_read_only(struct hal_cpu *c)
{
    struct rig r;
    int rc = rig_up(c, &r);
    if (rc)
        return rc;
    uint64_t src, dst;
    KTEST_CHECK(fill(c, r.src, 13) == KTEST_OK && fill(c, r.dst, 17) == KTEST_OK);
    KTEST_CHECK(hal_dma_map(c, 0, r.src, BUF, false, &src) == HAL_OK);
    KTEST_CHECK(hal_dma_map(c, 0, r.dst, BUF, false, &dst) == HAL_OK);
    KTEST_CHECK(ring(c, &r, src, dst) == KTEST_OK);
    KTEST_CHECK(wait_irqs(c, 1));
    KTEST_CHECK(atomic_load(&faults) >= 1 && atomic_load(&fault_access) == HAL_ACC_WRITE);
    KTEST_CHECK(holds(c, r.dst, 17));
    KTEST_CHECK(hal_dma_unmap(c, 0, src, BUF) == HAL_OK);
    KTEST_CHECK(hal_dma_unmap(c, 0, dst, BUF) == HAL_OK);
    rig_down(c);
    return KTEST_OK;
}

/* A read of a bus address nobody mapped: refused (the device sees an
 * unsupported request and says so in STATUS), reported as a read. */
static int test_unmapped_read(struct hal_cpu *c)
{
    struct rig r;
    int rc = rig_up(c, &r);
    if (rc)
        return rc;
    uint64_t src, dst, status = 0;
    KTEST_CHECK(fill(c, r.dst, 19) == KTEST_OK);
    KTEST_CHECK(hal_dma_map(c, 0, r.src, BUF, false, &src) == HAL_OK);
    KTEST_CHECK(hal_dma_map(c, 0, r.dst, BUF, true, &dst) == HAL_OK);
    KTEST_CHECK(hal_dma_unmap(c, 0, src, BUF) == HAL_OK);
    KTEST_CHECK(ring(c, &r, src, dst) == KTEST_OK);
    KTEST_CHECK(wait_irqs(c, 1));
    KTEST_CHECK(hal_mmio_read(c, r.bar + DMAE_STATUS, 8, &status) == HAL_OK && (status & 1));
    KTEST_CHECK(atomic_load(&faults) >= 1 && atomic_load(&fault_access) == HAL_ACC_READ);
    KTEST_CHECK(holds(c, r.dst, 19)); /* nothing was read, nothing written */
    KTEST_CHECK(hal_dma_unmap(c, 0, dst, BUF) == HAL_OK);
    rig_down(c);
    return KTEST_OK;
}

const struct ktest iommu_ktests[] = {
    {"unmapped_write", test_unmapped_write},
    {"read_only", test_read_only},
    {"unmapped_read", test_unmapped_read},
    {0, 0},
};
