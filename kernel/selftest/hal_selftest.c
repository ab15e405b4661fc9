/* Selftests of the HAL contract (include/kernel/hal.h) that hold on every
 * backend: identity, monotonic time, interrupt masking, one-shot timers and
 * IPIs (to oneself and to every other CPU). Tests that need upcalls install
 * hooks through ktest_upcalls_set and skip if the kernel owns kern_timer /
 * kern_ipi. Waits spin on hal_now, annotating their cost with hal_cost so
 * that a simulated platform's clock advances while we wait. */
#include <stdatomic.h>

#include "kernel/hal.h"
#include "kernel/ktest.h"

#define MS 1000000ull
#define WAIT_LIMIT (5000 * MS) /* generous: a loaded CI host may stall QEMU */

static atomic_uint timer_fired;
static hal_ns_t timer_fired_at;
static atomic_uint ipi_count;
static atomic_uint ipi_reason_sum;
static atomic_uint pongs;

enum { REASON_PING = 0x50494e00u, REASON_PONG = 0x504f4e00u }; /* | cpu id */

static void on_timer(struct hal_cpu *c)
{
    timer_fired_at = hal_now(c);
    atomic_fetch_add(&timer_fired, 1);
}

static void on_ipi(struct hal_cpu *c, uint32_t reason)
{
    if (reason == HAL_IPI_SPURIOUS)
        return; /* nobody sent it: nothing to count */
    if ((reason & ~0xFFu) == REASON_PING) {
        hal_ipi_send(c, reason & 0xFF, REASON_PONG | hal_cpu_id(c));
    } else if ((reason & ~0xFFu) == REASON_PONG) {
        atomic_fetch_add(&pongs, 1);
    } else {
        atomic_fetch_add(&ipi_reason_sum, reason);
        atomic_fetch_add(&ipi_count, 1);
    }
}

static void reset_hooks(void)
{
    atomic_store(&timer_fired, 0);
    atomic_store(&ipi_count, 0);
    atomic_store(&ipi_reason_sum, 0);
    atomic_store(&pongs, 0);
    ktest_upcalls_set(on_timer, on_ipi);
}

/* Spin until *counter >= want or `until` passes; true if the count was reached. */
static bool wait_count(struct hal_cpu *c, atomic_uint *counter, unsigned want, hal_ns_t until)
{
    while (atomic_load(counter) < want) {
        if (hal_now(c) > until)
            return false;
        hal_cost(c, 64);
    }
    return true;
}

static void spin_until(struct hal_cpu *c, hal_ns_t until)
{
    while (hal_now(c) < until)
        hal_cost(c, 64);
}

static int test_identity(struct hal_cpu *c)
{
    KTEST_CHECK(hal_cpu_count(c) >= 1);
    KTEST_CHECK(hal_cpu_id(c) < hal_cpu_count(c));
    return KTEST_OK;
}

/* The kernel's per-CPU record comes back as registered (restored after). */
static int test_kernel_data(struct hal_cpu *c)
{
    void *saved = hal_kernel_data(c);
    int marker;
    hal_set_kernel_data(c, &marker);
    KTEST_CHECK(hal_kernel_data(c) == &marker);
    hal_set_kernel_data(c, saved);
    KTEST_CHECK(hal_kernel_data(c) == saved);
    return KTEST_OK;
}

static int test_time_advances(struct hal_cpu *c)
{
    hal_ns_t t0 = hal_now(c), prev = t0;
    for (unsigned i = 0; i < 100000000u && prev == t0; i++) {
        hal_ns_t t = hal_now(c);
        KTEST_CHECK(t >= prev);
        prev = t;
        hal_cost(c, 64);
    }
    KTEST_CHECK(prev > t0);
    return KTEST_OK;
}

static int test_irq_nesting(struct hal_cpu *c)
{
    bool outer = hal_irq_disable(c);
    KTEST_CHECK(outer); /* ktest_main runs with interrupts enabled */
    KTEST_CHECK(!hal_irq_disable(c));
    hal_irq_restore(c, false);
    KTEST_CHECK(!hal_irq_disable(c)); /* restore(false) left them disabled */
    hal_irq_restore(c, outer);
    KTEST_CHECK(hal_irq_disable(c));
    hal_irq_restore(c, true);
    return KTEST_OK;
}

/* Arm 1 ms ahead: exactly one kern_timer, not before the deadline. */
static int test_timer_fires(struct hal_cpu *c)
{
    if (!ktest_upcalls_owned())
        return KTEST_SKIP;
    reset_hooks();
    hal_ns_t t0 = hal_now(c), when = t0 + 1 * MS;
    hal_timer_set(c, when);
    KTEST_CHECK(wait_count(c, &timer_fired, 1, t0 + WAIT_LIMIT));
    KTEST_CHECK(timer_fired_at >= when);
    KTEST_CHECK(hal_now(c) - t0 >= 1 * MS);
    spin_until(c, hal_now(c) + 2 * MS);
    KTEST_CHECK(atomic_load(&timer_fired) == 1); /* one-shot */
    return KTEST_OK;
}

static int test_timer_past_fires_now(struct hal_cpu *c)
{
    if (!ktest_upcalls_owned())
        return KTEST_SKIP;
    reset_hooks();
    hal_ns_t t0 = hal_now(c);
    hal_timer_set(c, t0 > 0 ? t0 - 1 : 0);
    KTEST_CHECK(wait_count(c, &timer_fired, 1, t0 + WAIT_LIMIT));
    return KTEST_OK;
}

static int test_timer_replace(struct hal_cpu *c)
{
    if (!ktest_upcalls_owned())
        return KTEST_SKIP;
    reset_hooks();
    /* Masked, so a host stall between the two calls cannot let the first
     * deadline fire; what proves the replacement is the time it fires at. */
    bool was = hal_irq_disable(c);
    hal_ns_t t0 = hal_now(c);
    hal_timer_set(c, t0 + 1 * MS);
    hal_timer_set(c, t0 + 3 * MS); /* replaces the 1 ms one */
    hal_irq_restore(c, was);
    KTEST_CHECK(wait_count(c, &timer_fired, 1, t0 + WAIT_LIMIT));
    KTEST_CHECK(timer_fired_at >= t0 + 3 * MS);
    spin_until(c, hal_now(c) + 1 * MS);
    KTEST_CHECK(atomic_load(&timer_fired) == 1);
    return KTEST_OK;
}

static int test_timer_cancel(struct hal_cpu *c)
{
    if (!ktest_upcalls_owned())
        return KTEST_SKIP;
    reset_hooks();
    bool was = hal_irq_disable(c); /* even if 1 ms passes before the cancel */
    hal_ns_t t0 = hal_now(c);
    hal_timer_set(c, t0 + 1 * MS);
    hal_timer_cancel(c);
    hal_irq_restore(c, was);
    spin_until(c, t0 + 3 * MS);
    KTEST_CHECK(atomic_load(&timer_fired) == 0);
    return KTEST_OK;
}

/* While interrupts are disabled no upcall runs; restoring delivers it. */
static int test_timer_masked(struct hal_cpu *c)
{
    if (!ktest_upcalls_owned())
        return KTEST_SKIP;
    reset_hooks();
    bool was = hal_irq_disable(c);
    hal_ns_t t0 = hal_now(c);
    hal_timer_set(c, t0);
    spin_until(c, t0 + 1 * MS);
    unsigned fired_while_masked = atomic_load(&timer_fired);
    hal_irq_restore(c, was);
    KTEST_CHECK(fired_while_masked == 0);
    KTEST_CHECK(wait_count(c, &timer_fired, 1, hal_now(c) + WAIT_LIMIT));
    return KTEST_OK;
}

/* Two IPIs to ourselves while masked: neither runs until restore, then both. */
/* Shared memory: loads, stores and the atomics in the kernel's region. */
static int test_memory_atomics(struct hal_cpu *c)
{
    hal_paddr_t base;
    uint64_t size, v = 0, old = 0;
    if (hal_mem_region(c, &base, &size) == HAL_ENOTSUP)
        return KTEST_SKIP;
    KTEST_CHECK(size >= 4096 && base % 64 == 0);
    hal_paddr_t w = base + 64 * hal_cpu_id(c); /* a line of our own */
    KTEST_CHECK(hal_store(c, w, 8, 0x1122334455667788ull) == HAL_OK);
    KTEST_CHECK(hal_load(c, w, 8, &v) == HAL_OK && v == 0x1122334455667788ull);
    KTEST_CHECK(hal_load(c, w, 4, &v) == HAL_OK && v == 0x55667788u); /* little-endian */
    KTEST_CHECK(hal_load(c, w + 7, 1, &v) == HAL_OK && v == 0x11);
    KTEST_CHECK(hal_load(c, w + 1, 2, &v) == HAL_EINVAL); /* misaligned */
    /* CAS fails on a wrong expectation and leaves the word, succeeds on the right one */
    KTEST_CHECK(hal_atomic(c, HAL_ATOMIC_CAS, w, 8, 7, 0, &old) == HAL_OK);
    KTEST_CHECK(old == 0x1122334455667788ull);
    KTEST_CHECK(hal_load(c, w, 8, &v) == HAL_OK && v == 0x1122334455667788ull);
    KTEST_CHECK(hal_atomic(c, HAL_ATOMIC_CAS, w, 8, 7, 0x1122334455667788ull, &old) == HAL_OK);
    KTEST_CHECK(hal_load(c, w, 8, &v) == HAL_OK && v == 7);
    KTEST_CHECK(hal_atomic(c, HAL_ATOMIC_FAA, w, 8, 5, 0, &old) == HAL_OK && old == 7);
    KTEST_CHECK(hal_atomic(c, HAL_ATOMIC_XCHG, w, 8, 100, 0, &old) == HAL_OK && old == 12);
    /* 4-byte atomics touch 4 bytes only */
    KTEST_CHECK(hal_store(c, w + 8, 8, 0xFFFFFFFF00000001ull) == HAL_OK);
    KTEST_CHECK(hal_atomic(c, HAL_ATOMIC_FAA, w + 8, 4, 0xFFFFFFFFu, 0, &old) == HAL_OK && old == 1);
    KTEST_CHECK(hal_load(c, w + 8, 8, &v) == HAL_OK && v == 0xFFFFFFFF00000000ull);
    KTEST_CHECK(hal_atomic(c, HAL_ATOMIC_FAA, w + 2, 4, 1, 0, NULL) == HAL_EINVAL);
    hal_fence(c);
    hal_relax(c);
    return KTEST_OK;
}

/* This CPU's per-CPU area: whole lines inside the kernel's region, and
 * ours to write (another CPU's would fail the run on the machine). */
static int test_percpu_area(struct hal_cpu *c)
{
    hal_paddr_t base, mem;
    uint64_t size, msize, v = 0;
    if (hal_percpu_area(c, &base, &size) == HAL_ENOTSUP)
        return KTEST_SKIP;
    KTEST_CHECK(hal_mem_region(c, &mem, &msize) == HAL_OK);
    KTEST_CHECK(size >= 64 && size % 64 == 0 && base % 64 == 0);
    KTEST_CHECK(base >= mem && base + size <= mem + msize);
    KTEST_CHECK(hal_store(c, base + size - 8, 8, 0xc0ffee) == HAL_OK);
    KTEST_CHECK(hal_load(c, base + size - 8, 8, &v) == HAL_OK && v == 0xc0ffee);
    return KTEST_OK;
}

static int test_ipi_self(struct hal_cpu *c)
{
    if (!ktest_upcalls_owned())
        return KTEST_SKIP;
    reset_hooks();
    bool was = hal_irq_disable(c);
    hal_ipi_send(c, hal_cpu_id(c), 1);
    hal_ipi_send(c, hal_cpu_id(c), 2);
    spin_until(c, hal_now(c) + 1 * MS);
    unsigned delivered_while_masked = atomic_load(&ipi_count);
    hal_irq_restore(c, was);
    KTEST_CHECK(delivered_while_masked == 0);
    KTEST_CHECK(wait_count(c, &ipi_count, 2, hal_now(c) + WAIT_LIMIT));
    KTEST_CHECK(atomic_load(&ipi_reason_sum) == 3);
    return KTEST_OK;
}

/* Ping every other CPU; each answers with an IPI back to us. */
static int test_ipi_ping_all(struct hal_cpu *c)
{
    unsigned n = hal_cpu_count(c), me = hal_cpu_id(c);
    if (!ktest_upcalls_owned() || n < 2 || n > 256)
        return KTEST_SKIP;
    reset_hooks();
    for (unsigned t = 0; t < n; t++)
        if (t != me)
            hal_ipi_send(c, t, REASON_PING | me);
    KTEST_CHECK(wait_count(c, &pongs, n - 1, hal_now(c) + WAIT_LIMIT));
    return KTEST_OK;
}

const struct ktest hal_ktests[] = {
    {"identity", test_identity},
    {"kernel_data", test_kernel_data},
    {"time_advances", test_time_advances},
    {"irq_nesting", test_irq_nesting},
    {"timer_fires", test_timer_fires},
    {"timer_past_fires_now", test_timer_past_fires_now},
    {"timer_replace", test_timer_replace},
    {"timer_cancel", test_timer_cancel},
    {"timer_masked", test_timer_masked},
    {"memory_atomics", test_memory_atomics},
    {"percpu_area", test_percpu_area},
    {"ipi_self", test_ipi_self},
    {"ipi_ping_all", test_ipi_ping_all},
    {0, 0},
};
