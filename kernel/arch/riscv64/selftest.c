/* riscv64-only selftests, run after the portable suites: the timer path
 * through wfi and the real trap handler, hal_load/hal_store on RAM and on the
 * CLINT, and the stubs this target does not implement yet. */
#include <stdint.h>

#include "kernel/hal.h"
#include "kernel/ktest.h"
#include "riscv.h"

/* Arm 1 ms ahead and sleep in wfi until the machine timer interrupt has gone
 * through riscv_trap_entry -> riscv_timer_interrupt -> kern_timer. The wfi
 * runs with MIE clear (it still wakes on a pending enabled interrupt), so
 * the interrupt cannot slip in between the check and the wfi. */
static volatile unsigned wfi_upcalls;

static void count_timer_upcall(struct hal_cpu *c)
{
    (void)c;
    wfi_upcalls++;
}

static int test_timer_wfi(struct hal_cpu *c)
{
    bool own_upcalls = ktest_upcalls_owned();
    if (own_upcalls)
        ktest_upcalls_set(count_timer_upcall, 0);
    wfi_upcalls = 0;
    uint64_t before = c->n_timer_irq;
    hal_ns_t t0 = hal_now(c);
    hal_timer_set(c, t0 + 1000000);
    bool was = hal_irq_disable(c);
    unsigned wakeups = 0;
    while (c->n_timer_irq == before && wakeups < 1000) {
        __asm__ volatile("wfi");
        hal_irq_restore(c, true); /* take the interrupt here */
        hal_irq_disable(c);
        wakeups++;
    }
    hal_irq_restore(c, was);
    KTEST_CHECK(c->n_timer_irq == before + 1);
    KTEST_CHECK(!own_upcalls || wfi_upcalls == 1); /* kern_timer ran, once */
    KTEST_CHECK(hal_now(c) - t0 >= 1000000);
    KTEST_CHECK((RISCV_CSR_READ(mie) & RISCV_MIE_MTIE) == 0); /* one-shot: disarmed */
    return KTEST_OK;
}

static int test_load_store(struct hal_cpu *c)
{
    static volatile uint64_t cell;
    hal_paddr_t pa = (hal_paddr_t)(uintptr_t)&cell;
    uint64_t v = 0;
    KTEST_CHECK(hal_store(c, pa, 8, 0x0123456789abcdefULL) == HAL_OK);
    KTEST_CHECK(hal_load(c, pa, 8, &v) == HAL_OK && v == 0x0123456789abcdefULL);
    KTEST_CHECK(hal_load(c, pa, 4, &v) == HAL_OK && v == 0x89abcdefu); /* little endian */
    KTEST_CHECK(hal_load(c, pa + 6, 2, &v) == HAL_OK && v == 0x0123u);
    KTEST_CHECK(hal_store(c, pa + 1, 1, 0xffu) == HAL_OK);
    KTEST_CHECK(cell == 0x0123456789abffefULL);
    KTEST_CHECK(hal_load(c, pa + 2, 4, &v) == HAL_EINVAL); /* misaligned */
    KTEST_CHECK(hal_store(c, pa, 3, 0) == HAL_EINVAL);      /* no such size */
    /* MMIO through the same calls: the CLINT's mtime is hal_now's clock. */
    KTEST_CHECK(hal_load(c, RISCV_CLINT_BASE + 0xBFF8, 8, &v) == HAL_OK);
    KTEST_CHECK(v * RISCV_NS_PER_TICK <= hal_now(c));
    return KTEST_OK;
}

static int test_stubs(struct hal_cpu *c)
{
    uint64_t bus, before = c->n_trace;
    /* static: a zeroed WR on the stack would be a memset call */
    static struct hal_net_wr wr;
    static struct hal_net_cqe cqe;
    static const struct hal_net_ctl ctl = {.op = HAL_NET_CTL_CREATE_CQ, .depth = 16};
    KTEST_CHECK(hal_dma_map(c, 0, 0x80000000u, 4096, true, &bus) == HAL_ENOTSUP);
    KTEST_CHECK(hal_dma_unmap(c, 0, 0, 4096) == HAL_ENOTSUP);
    KTEST_CHECK(hal_net_ctl(c, &ctl) == HAL_ENOTSUP);
    KTEST_CHECK(hal_net_post(c, 1, &wr, 1) == HAL_ENOTSUP);
    KTEST_CHECK(hal_net_post_recv(c, 1, &wr, 1) == HAL_ENOTSUP);
    KTEST_CHECK(hal_net_poll(c, HAL_NET_CQ_CTL, &cqe, 1) == HAL_ENOTSUP);
    hal_trace(c, 1, 2, 3);
    hal_cost(c, 100);
    KTEST_CHECK(c->n_trace == before + 1);
    return KTEST_OK;
}

static const struct ktest riscv64_ktests[] = {
    {"timer_wfi", test_timer_wfi},
    {"load_store", test_load_store},
    {"stubs", test_stubs},
    {0, 0},
};

const struct ktest_suite riscv64_ktest_suites[] = {
    {"riscv64", riscv64_ktests},
    {0, 0},
};
