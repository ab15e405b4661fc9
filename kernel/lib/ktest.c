/* The freestanding selftest runner (see include/kernel/ktest.h). */
#include "kernel/kstring.h"
#include "kernel/ktest.h"

void ktest_puts(struct hal_cpu *c, const char *s)
{
    hal_console_write(c, s, kstrlen(s));
}

void ktest_put_u64(struct hal_cpu *c, uint64_t v)
{
    char buf[20]; /* 2^64-1 has 20 digits */
    size_t i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    hal_console_write(c, buf + i, sizeof buf - i);
}

unsigned ktest_count(const struct ktest *tests)
{
    unsigned n = 0;
    while (tests[n].name)
        n++;
    return n;
}

int ktest_run(struct hal_cpu *c, const char *suite, const struct ktest *tests)
{
    int failures = 0;
    for (const struct ktest *t = tests; t->name; t++) {
        int rc = t->fn(c);
        ktest_puts(c, "ktest ");
        ktest_puts(c, suite);
        ktest_puts(c, ".");
        ktest_puts(c, t->name);
        if (rc == KTEST_OK) {
            ktest_puts(c, " ok\n");
        } else if (rc == KTEST_SKIP) {
            ktest_puts(c, " skip\n");
        } else {
            failures++;
            ktest_puts(c, " FAIL (");
            if (rc < 0) {
                ktest_puts(c, "-");
                ktest_put_u64(c, -(uint64_t)(int64_t)rc);
            } else {
                ktest_put_u64(c, (uint64_t)rc);
            }
            ktest_puts(c, ")\n");
        }
    }
    return failures;
}
