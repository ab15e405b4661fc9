/* A freestanding selftest runner for the reference kernel: the same suites
 * run on every HAL backend (kernel/arch/<arch>/ under QEMU or on silicon,
 * hw/platform/ in the simulator). Output goes through hal_console_write only.
 *
 * A test is a function returning KTEST_OK, KTEST_SKIP or a failure code
 * (KTEST_CHECK uses the source line, so "FAIL (123)" points at the check).
 * A suite is a NULL-name-terminated array of tests:
 *
 *     static int test_x(struct hal_cpu *c) { KTEST_CHECK(f(c) == 0); return KTEST_OK; }
 *     const struct ktest foo_ktests[] = { {"x", test_x}, {0, 0} };
 *
 * and the selftest image lists suites in kernel/selftest/suites.c. */
#ifndef KERNEL_KTEST_H
#define KERNEL_KTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hal.h"

enum {
    KTEST_OK = 0,
    KTEST_SKIP = -1, /* the backend cannot run this test; printed, not a failure */
};

struct ktest {
    const char *name;                 /* NULL ends the array */
    int (*fn)(struct hal_cpu *c);     /* KTEST_OK, KTEST_SKIP or a failure code */
};

struct ktest_suite {
    const char *name;
    const struct ktest *tests;
};

/* Return __LINE__ (the failure code) from the test if cond is false. */
#define KTEST_CHECK(cond)                                                                  \
    do {                                                                                   \
        if (!(cond))                                                                       \
            return __LINE__;                                                               \
    } while (0)

/* Run every test in `tests`, printing one line each:
 *   "ktest SUITE.NAME ok" | "ktest SUITE.NAME skip" | "ktest SUITE.NAME FAIL (code)".
 * Returns the number of failures. */
int ktest_run(struct hal_cpu *c, const char *suite, const struct ktest *tests);

/* The number of tests in a NULL-name-terminated array. */
unsigned ktest_count(const struct ktest *tests);

/* Console helpers for tests and the selftest image. */
void ktest_puts(struct hal_cpu *c, const char *s);
void ktest_put_u64(struct hal_cpu *c, uint64_t v);   /* decimal */

/* --- the selftest image (kernel/selftest/) ---------------------------------
 * ktest_suites: every portable suite, {NULL, NULL}-terminated (suites.c).
 * ktest_main: run ktest_suites, then `extra` (the backend's own suites, may
 * be NULL), and print "KTEST PASS n" (n tests run) or "KTEST FAIL n" (n
 * failures); returns the number of failures. Called on CPU 0 with
 * interrupts enabled, once the backend's other CPUs serve IPIs. */
extern const struct ktest_suite ktest_suites[];
int ktest_main(struct hal_cpu *c, const struct ktest_suite *extra);

/* The image's upcalls. Until the kernel proper provides kern_timer and
 * kern_ipi, upcalls.c defines them as weak symbols that forward to these
 * hooks (NULL: ignore). A kernel definition replaces them without a
 * duplicate-symbol error; ktest_upcalls_owned() then returns false and the
 * tests that need the hooks report skip. Hooks run on the CPU concerned with
 * interrupts disabled, and may be set from another CPU. */
typedef void ktest_timer_hook(struct hal_cpu *c);
typedef void ktest_ipi_hook(struct hal_cpu *c, uint32_t reason);
void ktest_upcalls_set(ktest_timer_hook *on_timer, ktest_ipi_hook *on_ipi);
bool ktest_upcalls_owned(void);
/* kern_irq and kern_dma_fault likewise (hal.h "devices"). */
typedef void ktest_irq_hook(struct hal_cpu *c, uint32_t vector);
typedef void ktest_dma_fault_hook(struct hal_cpu *c, uint32_t dev, uint64_t bus, unsigned access);
void ktest_dev_upcalls_set(ktest_irq_hook *on_irq, ktest_dma_fault_hook *on_fault);

#endif
