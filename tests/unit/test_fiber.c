/* Fibers (hw/platform/fiber.h): resume and yield hand control back and
 * forth in order, values in registers and on the stack survive switches,
 * many fibers interleave exactly as resumed, a returning function ends its
 * fiber, and deep frames fit the stack. Built twice: with the x86_64
 * switch and with the ucontext fallback (test_fiber_ucontext). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/platform/fiber.h"

struct log {
    char text[256];
    size_t n;
};

static void put(struct log *l, char c)
{
    if (l->n + 1 < sizeof l->text)
        l->text[l->n++] = c;
}

struct worker {
    struct fiber f;
    struct log *log;
    char name;
    int steps;
};

static void work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->steps; i++) {
        put(w->log, w->name);
        fiber_yield(&w->f);
    }
    put(w->log, (char)(w->name - 'a' + 'A')); /* the end, in capitals */
}

static void test_resume_yield_order(void **state)
{
    (void)state;
    struct log log = {0};
    struct worker w[3] = {{.log = &log, .name = 'a', .steps = 2},
                          {.log = &log, .name = 'b', .steps = 1},
                          {.log = &log, .name = 'c', .steps = 3}};
    for (int i = 0; i < 3; i++)
        assert_true(fiber_init(&w[i].f, work, &w[i], 32768));
    /* round robin until every fiber is done */
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < 3; i++)
            if (!fiber_done(&w[i].f)) {
                put(&log, '.');
                fiber_resume(&w[i].f);
            }
    log.text[log.n] = '\0';
    /* a: a, a, end; b: b, end; c: c, c, c, end */
    assert_string_equal(log.text, ".a.b.c.a.B.c.A.c.C");
    for (int i = 0; i < 3; i++) {
        assert_true(fiber_done(&w[i].f));
        fiber_free(&w[i].f);
    }
}

/* Values live across switches: a checksum kept in many locals that the
 * compiler spreads over callee-saved registers and the stack. */
struct mixer {
    struct fiber f;
    uint64_t result;
};

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void mix(void *arg)
{
    struct mixer *m = arg;
    volatile uint64_t onstack[16];
    uint64_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6;
    for (int i = 0; i < 100; i++) {
        a = rotl(a + b, 7) ^ c;
        b = rotl(b + c, 11) ^ d;
        c = rotl(c + d, 13) ^ e;
        d = rotl(d + e, 17) ^ f;
        e = rotl(e + f, 19) ^ a;
        f = rotl(f + a, 23) ^ b;
        onstack[i % 16] = a ^ f;
        fiber_yield(&m->f);
    }
    uint64_t s = 0;
    for (int i = 0; i < 16; i++)
        s ^= onstack[i];
    m->result = a ^ b ^ c ^ d ^ e ^ f ^ s;
}

static uint64_t mix_reference(void)
{
    uint64_t onstack[16] = {0};
    uint64_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6;
    for (int i = 0; i < 100; i++) {
        a = rotl(a + b, 7) ^ c;
        b = rotl(b + c, 11) ^ d;
        c = rotl(c + d, 13) ^ e;
        d = rotl(d + e, 17) ^ f;
        e = rotl(e + f, 19) ^ a;
        f = rotl(f + a, 23) ^ b;
        onstack[i % 16] = a ^ f;
    }
    uint64_t s = 0;
    for (int i = 0; i < 16; i++)
        s ^= onstack[i];
    return a ^ b ^ c ^ d ^ e ^ f ^ s;
}

static void test_state_survives_switches(void **state)
{
    (void)state;
    struct mixer m[2] = {{.result = 0}, {.result = 0}};
    assert_true(fiber_init(&m[0].f, mix, &m[0], 32768));
    assert_true(fiber_init(&m[1].f, mix, &m[1], 32768));
    /* the host's own registers must survive too */
    uint64_t host = 0x1234;
    while (!fiber_done(&m[0].f) || !fiber_done(&m[1].f)) {
        fiber_resume(&m[0].f);
        host = rotl(host, 3) + 1;
        fiber_resume(&m[1].f);
    }
    uint64_t want = mix_reference();
    assert_int_equal(m[0].result, want);
    assert_int_equal(m[1].result, want);
    uint64_t h = 0x1234;
    for (int i = 0; i < 101; i++)
        h = rotl(h, 3) + 1;
    assert_int_equal(host, h);
    fiber_free(&m[0].f);
    fiber_free(&m[1].f);
}

/* Deep frames: recursion to depth 1000 (a few tens of KiB) on the fiber's
 * own stack, yielding at the bottom. */
struct deep {
    struct fiber f;
    unsigned long sum;
};

static unsigned long dive(struct deep *d, unsigned n)
{
    volatile char pad[32];
    pad[0] = (char)n;
    if (n == 0) {
        fiber_yield(&d->f);
        return 0;
    }
    return n + dive(d, n - 1) + (unsigned long)(pad[0] - (char)n);
}

static void deep_fn(void *arg)
{
    struct deep *d = arg;
    d->sum = dive(d, 1000);
}

static void test_deep_stack(void **state)
{
    (void)state;
    struct deep d = {.sum = 0};
    assert_true(fiber_init(&d.f, deep_fn, &d, 256 * 1024));
    fiber_resume(&d.f);
    assert_false(fiber_done(&d.f));
    fiber_resume(&d.f);
    assert_true(fiber_done(&d.f));
    assert_int_equal(d.sum, 1000ul * 1001ul / 2);
    fiber_resume(&d.f); /* resuming a finished fiber does nothing */
    fiber_free(&d.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_yield_order),
        cmocka_unit_test(test_state_survives_switches),
        cmocka_unit_test(test_deep_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
