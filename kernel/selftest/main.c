/* The selftest image's main: every suite, then one verdict line the boot
 * test greps for ("KTEST PASS n" / "KTEST FAIL n"). The backend's boot code
 * calls it on CPU 0 and powers off with its result. */
#include "kernel/ktest.h"

int ktest_main(struct hal_cpu *c, const struct ktest_suite *extra)
{
    const struct ktest_suite *lists[2] = {ktest_suites, extra};
    unsigned run = 0;
    int failures = 0;
    for (unsigned l = 0; l < 2; l++)
        for (const struct ktest_suite *s = lists[l]; s && s->name; s++) {
            failures += ktest_run(c, s->name, s->tests);
            run += ktest_count(s->tests);
        }
    ktest_puts(c, failures ? "KTEST FAIL " : "KTEST PASS ");
    ktest_put_u64(c, failures ? (uint64_t)failures : run);
    ktest_puts(c, "\n");
    return failures;
}
