/* include/kernel/hal.h for riscv64 in machine mode on QEMU `virt`:
 * time and timers on the CLINT (mtime at 10 MHz, mtimecmp per hart), IPIs as
 * CLINT software interrupts (msip) carrying reasons in a per-hart mailbox,
 * interrupts on/off as mstatus.MIE, the console on the NS16550A UART.
 * Physical addresses are used directly (no MMU in machine mode); atomics are
 * the A extension's. DMA and the network are not provided (kernel/lib/
 * hal_none.c answers HAL_ENOTSUP); trace only counts; cost is real. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hal.h"
#include "riscv.h"

static atomic_uint console_lock;

static void lock(atomic_uint *l)
{
    while (atomic_exchange_explicit(l, 1, memory_order_acquire))
        ;
}

static void unlock(atomic_uint *l)
{
    atomic_store_explicit(l, 0, memory_order_release);
}

/* --- identity --------------------------------------------------------------- */

unsigned hal_cpu_id(const struct hal_cpu *c)
{
    return c->id;
}

unsigned hal_cpu_count(const struct hal_cpu *c)
{
    (void)c;
    return riscv_hart_count;
}

void hal_set_kernel_data(struct hal_cpu *c, void *kdata) { c->kdata = kdata; }
void *hal_kernel_data(const struct hal_cpu *c) { return c->kdata; }

/* --- time and timers ------------------------------------------------------- */

hal_ns_t hal_now(const struct hal_cpu *c)
{
    (void)c;
    return *riscv_mtime() * RISCV_NS_PER_TICK;
}

void hal_timer_set(struct hal_cpu *c, hal_ns_t when)
{
    /* Round up so the interrupt comes at or after `when`, never before. */
    uint64_t ticks = when / RISCV_NS_PER_TICK + (when % RISCV_NS_PER_TICK != 0);
    *riscv_mtimecmp(c->id) = ticks;
    RISCV_CSR_SET(mie, RISCV_MIE_MTIE);
}

void hal_timer_cancel(struct hal_cpu *c)
{
    RISCV_CSR_CLEAR(mie, RISCV_MIE_MTIE);
    *riscv_mtimecmp(c->id) = UINT64_MAX;
}

void riscv_timer_interrupt(struct hal_cpu *c)
{
    /* MTIP is level-triggered: disarm before the upcall, which may re-arm. */
    hal_timer_cancel(c);
    c->n_timer_irq++;
    kern_timer(c);
}

/* --- interrupts and IPIs --------------------------------------------------- */

bool hal_irq_disable(struct hal_cpu *c)
{
    (void)c;
    unsigned long old;
    __asm__ volatile("csrrci %0, mstatus, %1" : "=r"(old) : "i"(RISCV_MSTATUS_MIE) : "memory");
    return old & RISCV_MSTATUS_MIE;
}

void hal_irq_restore(struct hal_cpu *c, bool was_enabled)
{
    (void)c;
    if (was_enabled)
        __asm__ volatile("csrsi mstatus, %0" ::"i"(RISCV_MSTATUS_MIE) : "memory");
}

/* The reason goes into the target's mailbox first, then msip is raised; the
 * target clears msip before draining, so no reason is left without an
 * interrupt to deliver it. Our interrupts are off while we hold the target's
 * lock, so a send to ourselves cannot deadlock against our own handler. */
void hal_ipi_send(struct hal_cpu *c, unsigned target, uint32_t reason)
{
    if (target >= riscv_hart_count)
        hal_panic(c, "hal_ipi_send: no such cpu");
    struct hal_cpu *t = &riscv_cpus[target];
    bool was = hal_irq_disable(c);
    lock(&t->ipi_lock);
    if (t->ipi_tail - t->ipi_head == RISCV_IPI_SLOTS) {
        unlock(&t->ipi_lock);
        hal_panic(c, "hal_ipi_send: target's IPI mailbox is full");
    }
    t->ipi_reason[t->ipi_tail++ % RISCV_IPI_SLOTS] = reason;
    unlock(&t->ipi_lock);
    __asm__ volatile("fence w, o" ::: "memory");
    *riscv_msip(target) = 1;
    hal_irq_restore(c, was);
}

void riscv_soft_interrupt(struct hal_cpu *c)
{
    *riscv_msip(c->id) = 0;
    __asm__ volatile("fence o, r" ::: "memory");
    c->n_soft_irq++;
    for (;;) {
        lock(&c->ipi_lock);
        if (c->ipi_head == c->ipi_tail) {
            unlock(&c->ipi_lock);
            return;
        }
        uint32_t reason = c->ipi_reason[c->ipi_head++ % RISCV_IPI_SLOTS];
        unlock(&c->ipi_lock);
        kern_ipi(c, reason);
    }
}

/* --- physical memory and MMIO ---------------------------------------------- */

/* Whether the access is one hal.h allows; the address itself is not checked:
 * an access to an unbacked address raises an access fault, and the trap
 * handler panics with mcause/mtval. */
static bool access_ok(hal_paddr_t pa, unsigned size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && (pa & (size - 1)) == 0;
}

int hal_load(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t *out)
{
    (void)c;
    if (!access_ok(pa, size))
        return HAL_EINVAL;
    uintptr_t a = (uintptr_t)pa;
    switch (size) {
    case 1: *out = *(volatile uint8_t *)a; break;
    case 2: *out = *(volatile uint16_t *)a; break;
    case 4: *out = *(volatile uint32_t *)a; break;
    default: *out = *(volatile uint64_t *)a; break;
    }
    return HAL_OK;
}

int hal_store(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t value)
{
    (void)c;
    if (!access_ok(pa, size))
        return HAL_EINVAL;
    uintptr_t a = (uintptr_t)pa;
    switch (size) {
    case 1: *(volatile uint8_t *)a = (uint8_t)value; break;
    case 2: *(volatile uint16_t *)a = (uint16_t)value; break;
    case 4: *(volatile uint32_t *)a = (uint32_t)value; break;
    default: *(volatile uint64_t *)a = value; break;
    }
    return HAL_OK;
}

int hal_atomic(struct hal_cpu *c, enum hal_atomic_op op, hal_paddr_t pa, unsigned size,
               uint64_t value, uint64_t expect, uint64_t *old)
{
    (void)c;
    if ((size != 4 && size != 8) || !access_ok(pa, size))
        return HAL_EINVAL;
    uint64_t was;
    if (size == 4) {
        uint32_t *p = (uint32_t *)(uintptr_t)pa, e = (uint32_t)expect;
        switch (op) {
        case HAL_ATOMIC_CAS:
            __atomic_compare_exchange_n(p, &e, (uint32_t)value, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST);
            was = e;
            break;
        case HAL_ATOMIC_FAA: was = __atomic_fetch_add(p, (uint32_t)value, __ATOMIC_SEQ_CST); break;
        case HAL_ATOMIC_XCHG: was = __atomic_exchange_n(p, (uint32_t)value, __ATOMIC_SEQ_CST); break;
        default: return HAL_EINVAL;
        }
    } else {
        uint64_t *p = (uint64_t *)(uintptr_t)pa, e = expect;
        switch (op) {
        case HAL_ATOMIC_CAS:
            __atomic_compare_exchange_n(p, &e, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            was = e;
            break;
        case HAL_ATOMIC_FAA: was = __atomic_fetch_add(p, value, __ATOMIC_SEQ_CST); break;
        case HAL_ATOMIC_XCHG: was = __atomic_exchange_n(p, value, __ATOMIC_SEQ_CST); break;
        default: return HAL_EINVAL;
        }
    }
    if (old)
        *old = was;
    return HAL_OK;
}

void hal_fence(struct hal_cpu *c)
{
    (void)c;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void hal_idle(struct hal_cpu *c)
{
    (void)c;
    __asm__ volatile("wfi"); /* returns on a pending interrupt, masked or not */
}

void hal_relax(struct hal_cpu *c)
{
    (void)c;
    __asm__ volatile("nop"); /* Zihintpause's pause is not in rv64gc */
}

/* The kernel's memory: from the end of the image (its stacks) for
 * RISCV_KERNEL_MEM bytes; QEMU virt gives 128 MiB of RAM at 0x80000000 by
 * default, far more than the image and this region need. */
#define RISCV_KERNEL_MEM (4u << 20)

int hal_mem_region(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size)
{
    (void)c;
    extern char __stacks_top[];
    *base = ((hal_paddr_t)(uintptr_t)__stacks_top + 4095) & ~(hal_paddr_t)4095;
    *size = RISCV_KERNEL_MEM;
    return HAL_OK;
}

/* --- trace and cost ---------------------------------------------------------- */

void hal_trace(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b)
{
    (void)point, (void)a, (void)b;
    c->n_trace++;
}

void hal_cost(struct hal_cpu *c, uint32_t cycles)
{
    (void)c, (void)cycles; /* the cost on real hardware is the real one */
}

/* --- console and panic -------------------------------------------------------- */

void hal_console_write(struct hal_cpu *c, const char *s, size_t n)
{
    bool was = hal_irq_disable(c);
    lock(&console_lock);
    riscv_console_raw(s, n);
    unlock(&console_lock);
    hal_irq_restore(c, was);
}

void hal_panic(struct hal_cpu *c, const char *why)
{
    hal_irq_disable(c);
    char hart[] = "\npanic: hart ?: ";
    hart[13] = (char)('0' + (c ? c->id : RISCV_CSR_READ(mhartid)) % 10); /* ids < RISCV_MAX_HARTS */
    riscv_console_raw(hart, sizeof hart - 1);
    unsigned long n = 0;
    while (why[n])
        n++;
    riscv_console_raw(why, n);
    riscv_console_raw("\n", 1);
    riscv_poweroff(RISCV_EXIT_PANIC);
}
