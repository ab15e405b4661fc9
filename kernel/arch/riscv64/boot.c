/* riscv64 boot in C, trap dispatch and power-off, for QEMU `virt` -bios none
 * (start.S hands over here; see docs/kernel-targets.md for the whole flow).
 *
 * Hart 0 counts the harts in the device tree, releases the others, waits
 * until each has installed its trap vector, runs the selftests
 * (ktest_main) and powers off with their verdict. The other harts idle in
 * wfi with software interrupts enabled, so they serve IPIs (kern_ipi).
 * Hart ids are the CPU ids of hal.h: virt numbers its harts 0..n-1. */
#include <stdatomic.h>
#include <stdint.h>

#include "kernel/hal.h"
#include "kernel/ktest.h"
#include "riscv.h"

void riscv_trap_entry(void); /* trap.S */
extern uint64_t riscv_release; /* start.S, in .data */

struct hal_cpu riscv_cpus[RISCV_MAX_HARTS];
unsigned riscv_hart_count = 1;
static atomic_uint harts_online;

/* --- raw console and power-off (also the panic path: no locks) ------------ */

void riscv_console_raw(const char *s, unsigned long n)
{
    volatile uint8_t *uart = (volatile uint8_t *)RISCV_UART0_BASE;
    for (unsigned long i = 0; i < n; i++) {
        if (s[i] == '\n') {
            while (!(uart[5] & 0x20)) /* LSR.THRE: transmit holding register empty */
                ;
            uart[0] = '\r';
        }
        while (!(uart[5] & 0x20))
            ;
        uart[0] = (uint8_t)s[i];
    }
}

static void raw_puts(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    riscv_console_raw(s, n);
}

void riscv_put_hex(const char *label, uint64_t v)
{
    char buf[19] = "0x";
    for (int i = 0; i < 16; i++)
        buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xF];
    buf[18] = ' ';
    raw_puts(label);
    riscv_console_raw(buf, sizeof buf);
}

void riscv_poweroff(unsigned exit_status)
{
    volatile uint32_t *finisher = (volatile uint32_t *)RISCV_TEST_BASE;
    __asm__ volatile("fence iorw, iorw");
    *finisher = exit_status ? (exit_status << 16) | RISCV_TEST_FAIL : RISCV_TEST_PASS;
    for (;;) /* not QEMU: nothing to exit to */
        __asm__ volatile("wfi");
}

/* --- device tree: count /cpus/cpu@* nodes ---------------------------------- */

static uint32_t be32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int name_is(const char *name, const char *want, int prefix)
{
    while (*want && *name == *want)
        name++, want++;
    return *want == 0 && (prefix || *name == 0);
}

/* The number of cpu@ nodes under /cpus, or 0 if fdt is not a device tree.
 * Walks the structure block (FDT spec v0.4 §5.4) without trusting it: every
 * step is bounded by size_dt_struct. */
static unsigned fdt_count_cpus(const uint8_t *fdt)
{
    enum { BEGIN_NODE = 1, END_NODE = 2, PROP = 3, NOP = 4, END = 9 };
    if (!fdt || be32(fdt) != 0xd00dfeed)
        return 0;
    const uint8_t *p = fdt + be32(fdt + 8), *end = p + be32(fdt + 36);
    unsigned depth = 0, cpus = 0;
    int in_cpus = 0;
    while (p + 4 <= end) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == BEGIN_NODE) {
            const char *name = (const char *)p;
            while (p < end && *p)
                p++;
            p = (const uint8_t *)(((uintptr_t)p + 4) & ~(uintptr_t)3);
            if (depth == 1)
                in_cpus = name_is(name, "cpus", 0);
            else if (depth == 2 && in_cpus && name_is(name, "cpu@", 1))
                cpus++;
            depth++;
        } else if (tok == END_NODE) {
            if (depth-- == 2)
                in_cpus = 0;
        } else if (tok == PROP) {
            if (p + 8 > end)
                break;
            p += 8 + ((be32(p) + 3) & ~3u);
        } else if (tok != NOP) {
            break; /* END or garbage */
        }
    }
    return cpus;
}

/* --- per-hart setup and traps ---------------------------------------------- */

static struct hal_cpu *hart_init(unsigned long hartid)
{
    struct hal_cpu *c = &riscv_cpus[hartid];
    c->id = (unsigned)hartid;
    *riscv_mtimecmp(c->id) = UINT64_MAX;
    *riscv_msip(c->id) = 0;
    RISCV_CSR_WRITE(mscratch, c);
    RISCV_CSR_WRITE(mtvec, riscv_trap_entry);
    RISCV_CSR_WRITE(mie, RISCV_MIE_MSIE); /* MTIE is set by hal_timer_set */
    return c;
}

void riscv_trap(unsigned long mcause, unsigned long mepc, unsigned long mtval, struct hal_cpu *c)
{
    if (mcause & RISCV_MCAUSE_INTERRUPT) {
        unsigned long irq = mcause & ~RISCV_MCAUSE_INTERRUPT;
        if (irq == RISCV_IRQ_MTIMER) {
            riscv_timer_interrupt(c);
            return;
        }
        if (irq == RISCV_IRQ_MSOFT) {
            riscv_soft_interrupt(c);
            return;
        }
    }
    riscv_put_hex("\ntrap: mcause=", mcause);
    riscv_put_hex("mepc=", mepc);
    riscv_put_hex("mtval=", mtval);
    hal_panic(c, "unexpected trap");
}

void riscv_boot_secondary(unsigned long hartid)
{
    hart_init(hartid);
    atomic_fetch_add_explicit(&harts_online, 1, memory_order_release);
    RISCV_CSR_SET(mstatus, RISCV_MSTATUS_MIE);
    for (;;)
        __asm__ volatile("wfi");
}

void riscv_boot_primary(unsigned long hartid, const void *fdt)
{
    struct hal_cpu *c = hart_init(hartid);
    unsigned n = fdt_count_cpus(fdt);
    riscv_hart_count = n == 0 ? 1 : n > RISCV_MAX_HARTS ? RISCV_MAX_HARTS : n;
    atomic_store_explicit(&harts_online, 1, memory_order_relaxed);
    __asm__ volatile("fence rw, w");
    *(volatile uint64_t *)&riscv_release = 1;

    uint64_t deadline = *riscv_mtime() + 10 * RISCV_MTIME_HZ; /* generous: loaded hosts */
    while (atomic_load_explicit(&harts_online, memory_order_acquire) < riscv_hart_count)
        if (*riscv_mtime() > deadline)
            hal_panic(c, "a secondary hart did not come up within 10 s");

    RISCV_CSR_SET(mstatus, RISCV_MSTATUS_MIE);
    ktest_puts(c, "orrery kernel selftest: riscv64 virt, ");
    ktest_put_u64(c, riscv_hart_count);
    ktest_puts(c, riscv_hart_count == 1 ? " hart\n" : " harts\n");
    int failures = ktest_main(c, riscv64_ktest_suites);
    riscv_poweroff(failures ? RISCV_EXIT_SELFTEST_FAILED : 0);
}
