/* The guest programs' whole runtime (docs/isa.md): Linux-numbered syscalls
 * through ecall/svc, a few output helpers and a barrier. Freestanding: no
 * libc. main(core, ncores) is called by crt0 with the core's index among
 * the cores running the program and their number; its return value is the
 * exit code. */
#ifndef GUEST_H
#define GUEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

int main(long core, long ncores);

static inline long guest_syscall(long nr, long a0, long a1, long a2)
{
#if defined(__riscv)
    register long x10 __asm__("a0") = a0;
    register long x11 __asm__("a1") = a1;
    register long x12 __asm__("a2") = a2;
    register long x17 __asm__("a7") = nr;
    __asm__ volatile("ecall" : "+r"(x10) : "r"(x11), "r"(x12), "r"(x17) : "memory");
    return x10;
#elif defined(__aarch64__)
    register long x0 __asm__("x0") = a0;
    register long x1 __asm__("x1") = a1;
    register long x2 __asm__("x2") = a2;
    register long x8 __asm__("x8") = nr;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x8) : "memory");
    return x0;
#else
#error "guest programs are riscv64 or aarch64"
#endif
}

enum { SYS_write = 64, SYS_exit = 93, SYS_futex = 98, SYS_clock_gettime = 113, SYS_sched_yield = 124 };

static inline long g_write(const void *buf, long n) { return guest_syscall(SYS_write, 1, (long)buf, n); }
static inline void g_exit(long code)
{
    guest_syscall(SYS_exit, code, 0, 0);
    for (;;)
        ;
}
static inline long g_yield(void) { return guest_syscall(SYS_sched_yield, 0, 0, 0); }
static inline long g_futex_wait(atomic_int *w, int v) { return guest_syscall(SYS_futex, (long)w, 0, v); }
static inline long g_futex_wake(atomic_int *w, int n) { return guest_syscall(SYS_futex, (long)w, 1, n); }
uint64_t g_clock_ns(void);

/* Output: strings and unsigned decimals, assembled in a buffer and written
 * with one write() per line. */
struct g_line {
    char buf[256];
    int n;
};
void g_puts(struct g_line *l, const char *s);
void g_putu(struct g_line *l, uint64_t v);
void g_flush(struct g_line *l);

/* A sense-reversing barrier for ncores cores (zero-initialised). */
struct g_barrier {
    atomic_long count;
    atomic_long sense;
};
void g_barrier_wait(struct g_barrier *b, long ncores, long *local_sense);

#endif
