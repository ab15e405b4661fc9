/* Private to kernel/arch/riscv64/: QEMU `virt` machine addresses, boot
 * constants, CSR access and the per-hart record behind struct hal_cpu.
 * Shared by the C files and (the constants only) by start.S. */
#ifndef KERNEL_ARCH_RISCV64_H
#define KERNEL_ARCH_RISCV64_H

/* --- QEMU virt memory map (hw/riscv/virt.c) ------------------------------- */
#define RISCV_TEST_BASE 0x00100000UL  /* sifive_test finisher: exits QEMU */
#define RISCV_CLINT_BASE 0x02000000UL /* msip[h] +4h, mtimecmp[h] +0x4000+8h, mtime +0xBFF8 */
#define RISCV_UART0_BASE 0x10000000UL /* NS16550A, byte registers */
#define RISCV_RAM_BASE 0x80000000UL   /* the image is linked and loaded here */

#define RISCV_MTIME_HZ 10000000ULL /* virt's CLINT timebase: 10 MHz, 100 ns a tick */
#define RISCV_NS_PER_TICK 100ULL

/* --- boot ----------------------------------------------------------------- */
#define RISCV_MAX_HARTS 8        /* harts with mhartid >= this are parked in start.S */
#define RISCV_STACK_SIZE 16384   /* per hart; traps run on the interrupted stack */

/* sifive_test finisher values: PASS exits QEMU with 0, FAIL with status<<16. */
#define RISCV_TEST_PASS 0x5555u
#define RISCV_TEST_FAIL 0x3333u
#define RISCV_EXIT_SELFTEST_FAILED 1 /* QEMU exit status when a selftest failed */
#define RISCV_EXIT_PANIC 2           /* ... when the kernel panicked or trapped */

#define RISCV_MSTATUS_MIE 0x8UL
#define RISCV_MIE_MSIE (1UL << 3)
#define RISCV_MIE_MTIE (1UL << 7)
#define RISCV_IRQ_MSOFT 3
#define RISCV_IRQ_MTIMER 7
#define RISCV_MCAUSE_INTERRUPT (1UL << 63)

#ifndef __ASSEMBLER__
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/hal.h"
#include "kernel/ktest.h"

#define RISCV_IPI_SLOTS 32 /* queued IPI reasons per hart; overflow panics */

/* The per-hart record; mscratch holds its address while the hart runs C.
 * Invariants: id == mhartid; the mailbox holds (tail - head) <= RISCV_IPI_SLOTS
 * reasons, in send order, guarded by ipi_lock. Counters are written only by
 * the owning hart (in its trap handler) and read by selftests. */
struct hal_cpu {
    unsigned id;
    atomic_uint ipi_lock;
    uint32_t ipi_head, ipi_tail;
    uint32_t ipi_reason[RISCV_IPI_SLOTS];
    uint64_t n_timer_irq;  /* machine timer interrupts taken */
    uint64_t n_soft_irq;   /* machine software interrupts taken */
    uint64_t n_trace;      /* hal_trace calls (nothing is recorded) */
    void *kdata;           /* the kernel's per-CPU record (hal_set_kernel_data) */
} __attribute__((aligned(64)));

#define RISCV_CSR_READ(csr)                                                                \
    ({                                                                                     \
        unsigned long v_;                                                                  \
        __asm__ volatile("csrr %0, " #csr : "=r"(v_));                                     \
        v_;                                                                                \
    })
#define RISCV_CSR_WRITE(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"r"((unsigned long)(v)))
#define RISCV_CSR_SET(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"r"((unsigned long)(v)))
#define RISCV_CSR_CLEAR(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"r"((unsigned long)(v)))

static inline volatile uint64_t *riscv_mtime(void)
{
    return (volatile uint64_t *)(RISCV_CLINT_BASE + 0xBFF8);
}
static inline volatile uint64_t *riscv_mtimecmp(unsigned hart)
{
    return (volatile uint64_t *)(RISCV_CLINT_BASE + 0x4000 + 8 * (unsigned long)hart);
}
static inline volatile uint32_t *riscv_msip(unsigned hart)
{
    return (volatile uint32_t *)(RISCV_CLINT_BASE + 4 * (unsigned long)hart);
}

extern struct hal_cpu riscv_cpus[RISCV_MAX_HARTS];
extern unsigned riscv_hart_count;

/* boot.c; riscv_boot_* are entered from start.S, riscv_trap from trap.S */
__attribute__((noreturn)) void riscv_boot_primary(unsigned long hartid, const void *fdt);
__attribute__((noreturn)) void riscv_boot_secondary(unsigned long hartid);
void riscv_trap(unsigned long mcause, unsigned long mepc, unsigned long mtval, struct hal_cpu *c);
__attribute__((noreturn)) void riscv_poweroff(unsigned exit_status);
void riscv_console_raw(const char *s, unsigned long n); /* no lock: panic path */
void riscv_put_hex(const char *label, uint64_t v);      /* raw, for the panic path */

/* hal.c: the upcall side, called by the trap handler with MIE clear */
void riscv_timer_interrupt(struct hal_cpu *c);
void riscv_soft_interrupt(struct hal_cpu *c);

/* selftest.c: the arch's own selftest suites, run after the portable ones */
extern const struct ktest_suite riscv64_ktest_suites[];
#endif

#endif
