/* Signals from faults, handled: a SIGSEGV handler sees the faulting
 * address and skips the store by moving the saved pc (rt_sigreturn puts
 * the registers back, so a value held in a register across the fault
 * survives), a SIGILL handler does the same for an undefined instruction,
 * a store to a page mprotect made read-only faults, and raise() runs a
 * handler that returns to where raise's syscall left off.
 * `signals overflow` recurses until the stack's guard page: no handler
 * can run on the overflowed stack, so the process dies of SIGSEGV. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static volatile uintptr_t seen_addr;
static volatile int seen_sig, seen_code, calls;

static void skip(void *ucv)
{
    ucontext_t *uc = ucv;
#if defined(__riscv)
    uc->uc_mcontext.__gregs[REG_PC] += 4;
#else
    uc->uc_mcontext.pc += 4;
#endif
}

static void handler(int sig, siginfo_t *si, void *uc)
{
    seen_sig = sig;
    seen_code = si->si_code;
    seen_addr = (uintptr_t)si->si_addr;
    calls++;
    skip(uc);
}

static void note(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    seen_sig = sig;
    seen_code = si->si_code;
    calls++;
}

static long store_to(uintptr_t a, long keep)
{
    long out;
#if defined(__riscv)
    __asm__ volatile(".option push\n.option norvc\nmv t0, %1\nsd zero, 0(%2)\nmv %0, t0\n.option pop"
                     : "=r"(out) : "r"(keep), "r"(a) : "t0", "memory");
#else
    __asm__ volatile("mov x9, %1\nstr xzr, [%2]\nmov %0, x9" : "=r"(out) : "r"(keep), "r"(a)
                     : "x9", "memory");
#endif
    return out;
}

static void undefined(void)
{
#if defined(__riscv)
    __asm__ volatile(".4byte 0xc0001073"); /* unimp: csrrw zero, cycle, zero */
#else
    __asm__ volatile(".inst 0x00000000"); /* udf #0 */
#endif
}

static int depth(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    return n > 1000000 ? pad[0] : depth(n + 1) + pad[0];
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "overflow") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = handler;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, NULL);
        puts("recursing");
        fflush(stdout);
        return depth(0);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGILL, &sa, NULL)) {
        puts("sigaction failed");
        return 1;
    }
    long kept = store_to(0x40, 12345);
    printf("SIGSEGV handled: sig %d code %d addr %#lx, register kept %ld\n", seen_sig, seen_code,
           (unsigned long)seen_addr, kept);
    undefined();
    printf("SIGILL handled: sig %d\n", seen_sig); /* si_code: qemu-aarch64 says ILL_ILLOPN, Linux ILL_ILLOPC */
    kept = store_to(0x48, 777);
    printf("again: addr %#lx kept %ld, %d handler calls\n", (unsigned long)seen_addr, kept, calls);
    /* mprotect is honoured: a store to a page made read-only faults
     * (SEGV_ACCERR) and the value stays; reads still work; made writable
     * again, the store lands */
    long *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        puts("mmap failed");
        return 1;
    }
    page[1] = 41;
    if (mprotect(page, 4096, PROT_READ))
        puts("mprotect failed");
    store_to((uintptr_t)&page[1], 0);
    printf("read-only page: code %d, at the page %s, value %ld\n", seen_code,
           seen_addr == (uintptr_t)&page[1] ? "yes" : "no", page[1]);
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
    page[1] = 42;
    printf("writable again: %ld, %d handler calls\n", page[1], calls);
    /* raise(): a handler for a signal sent to itself runs at once */
    struct sigaction su;
    memset(&su, 0, sizeof su);
    su.sa_sigaction = note;
    su.sa_flags = SA_SIGINFO;
    if (sigaction(SIGUSR1, &su, NULL) == 0 && raise(SIGUSR1) == 0)
        printf("SIGUSR1 handled: sig %d code %d, %d handler calls\n", seen_sig, seen_code,
               calls);
    /* SA_RESETHAND: the second fault finds the default action */
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    store_to(0x50, 1);
    printf("once more: addr %#lx, %d handler calls\n", (unsigned long)seen_addr, calls);
    fflush(stdout);
    store_to(0x58, 1); /* no handler now: killed */
    puts("not reached");
    return 0;
}
