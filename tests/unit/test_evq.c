/* Event queue: pops come out in the total order (time, order) whatever the
 * insertion order or population, across bucket, year and resize changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "model/evq.h"
#include "orrery/rng.h"

static struct orr_event mk(orr_time_t t, uint64_t order)
{
    return (struct orr_event){.time = t, .order = order};
}

static int cmp_ev(const void *a, const void *b)
{
    const struct orr_event *x = a, *y = b;
    return orr_ev_before(x, y) ? -1 : orr_ev_before(y, x) ? 1 : 0;
}

/* Push a random multiset with many ties in time, priority and origin, pop
 * everything, and compare with a sort of the same keys. Times are drawn at
 * several scales so buckets, far lists and rebuilds are all exercised. */
static void check_against_sort(uint64_t seed, size_t n, uint64_t tmax)
{
    struct orr_rng r;
    orr_rng_seed(&r, seed, "evq");
    struct orr_event *ref = malloc(n * sizeof *ref);
    struct orr_evq q;
    assert_int_equal(orr_evq_init(&q), 0);
    for (size_t i = 0; i < n; i++) {
        uint64_t prio = orr_rng_below(&r, 3), origin = orr_rng_below(&r, 5);
        orr_time_t t = orr_rng_below(&r, 4) == 0 ? orr_rng_below(&r, 10) : orr_rng_below(&r, tmax);
        ref[i] = mk(t, prio << 56 | origin << 32 | (uint32_t)i);
        ref[i].data[0] = i;
        assert_int_equal(orr_evq_push(&q, &ref[i]), 0);
    }
    assert_int_equal(orr_evq_size(&q), n);
    assert_true(orr_evq_check(&q));
    qsort(ref, n, sizeof *ref, cmp_ev);
    for (size_t i = 0; i < n; i++) {
        struct orr_event e;
        assert_true(orr_evq_pop(&q, &e));
        assert_int_equal(e.time, ref[i].time);
        assert_int_equal(e.order, ref[i].order);
        assert_int_equal(e.data[0], ref[i].data[0]);
        if (i % 997 == 0)
            assert_true(orr_evq_check(&q));
    }
    struct orr_event e;
    assert_false(orr_evq_pop(&q, &e));
    assert_null(orr_evq_peek(&q));
    orr_evq_free(&q);
    free(ref);
}

/* Times within a few ps of the horizon, mixed with small ones: the year
 * arithmetic must not overflow and order must hold (a review found the
 * earlier version wrapping near 2^64). Then a hold model that keeps pushing
 * while it drains, right up to the horizon. */
static void test_times_near_horizon(void **state)
{
    (void)state;
    struct orr_evq q;
    orr_evq_init(&q);
    struct orr_rng r;
    orr_rng_seed(&r, 5, "horizon");
    enum { N = 5000 };
    struct orr_event *ref = malloc(N * sizeof *ref);
    for (size_t i = 0; i < N; i++) {
        orr_time_t t = orr_rng_below(&r, 2) ? ORR_TIME_HORIZON - 1 - orr_rng_below(&r, 64)
                                            : orr_rng_below(&r, 1000);
        ref[i] = mk(t, (uint64_t)orr_rng_below(&r, 4) << 32 | (uint32_t)i);
        orr_evq_push(&q, &ref[i]);
    }
    assert_true(orr_evq_check(&q));
    qsort(ref, N, sizeof *ref, cmp_ev);
    for (size_t i = 0; i < N; i++) {
        struct orr_event e;
        assert_true(orr_evq_pop(&q, &e));
        assert_int_equal(e.time, ref[i].time);
        assert_int_equal(e.order, ref[i].order);
    }

    uint64_t seq = 0;
    for (int i = 0; i < 1000; i++) {
        struct orr_event e = mk(ORR_TIME_HORIZON - 100000 + orr_rng_below(&r, 1000), seq++);
        orr_evq_push(&q, &e);
    }
    struct orr_event last = mk(0, 0), e;
    while (orr_evq_pop(&q, &e)) {
        assert_false(orr_ev_before(&e, &last));
        last = e;
        orr_time_t t = e.time + orr_rng_below(&r, 50);
        if (t < ORR_TIME_HORIZON) {
            struct orr_event n = mk(t, seq++);
            orr_evq_push(&q, &n);
        }
        if (seq % 997 == 0)
            assert_true(orr_evq_check(&q));
    }
    assert_true(last.time >= ORR_TIME_HORIZON - 50);
    orr_evq_free(&q);
    free(ref);
}

static void test_total_order_matches_sort(void **state)
{
    (void)state;
    check_against_sort(1, 20000, 50);           /* heavy ties */
    check_against_sort(2, 20000, 1000000);      /* spread */
    check_against_sort(3, 3000, ORR_TIME_HORIZON); /* huge times: far list, wide buckets */
    check_against_sort(4, 5, 100);              /* tiny */
}

/* Same-origin ties use serial-number order on the low 32 sequence bits,
 * so order survives the 32-bit wrap. */
static void test_sequence_wrap(void **state)
{
    (void)state;
    struct orr_event a = mk(7, 1ull << 32 | 0xFFFFFFFFu), b = mk(7, 1ull << 32 | 0x00000000u);
    assert_true(orr_ev_before(&a, &b));
    assert_false(orr_ev_before(&b, &a));
    struct orr_event c = mk(7, 2ull << 32 | 0), d = mk(7, 1ull << 32 | 5);
    assert_true(orr_ev_before(&d, &c)); /* lower origin first */
    struct orr_event e = mk(7, 1ull << 56), f = mk(7, 5ull << 32);
    assert_true(orr_ev_before(&f, &e)); /* lower priority first */
}

/* Interleaved pop/push as in a simulation (PHOLD-like hold model), with
 * the population changing size: never out of order, nothing lost. */
static void test_hold_model(void **state)
{
    (void)state;
    struct orr_rng r;
    orr_rng_seed(&r, 7, "hold");
    struct orr_evq q;
    orr_evq_init(&q);
    uint64_t seq = 0, pushed = 0, popped = 0;
    for (int i = 0; i < 1000; i++, pushed++) {
        struct orr_event e = mk(orr_rng_below(&r, 1000), seq++);
        orr_evq_push(&q, &e);
    }
    struct orr_event last = mk(0, 0);
    for (int step = 0; step < 300000; step++) {
        struct orr_event e;
        assert_true(orr_evq_pop(&q, &e));
        popped++;
        assert_false(orr_ev_before(&e, &last));
        last = e;
        /* grow in the first third, hold, then drain */
        int k = step < 100000 ? 2 : step < 200000 ? 1 : (step & 1);
        for (int j = 0; j < k; j++, pushed++) {
            uint64_t delay = orr_rng_below(&r, 16) == 0 ? orr_rng_below(&r, 1000000)
                                                        : orr_rng_below(&r, 1000);
            struct orr_event n = mk(e.time + delay, seq++);
            orr_evq_push(&q, &n);
        }
        if (step % 9973 == 0)
            assert_true(orr_evq_check(&q));
    }
    assert_int_equal(orr_evq_size(&q), pushed - popped);
    assert_true(orr_evq_check(&q));
    orr_evq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_order_matches_sort),
        cmocka_unit_test(test_times_near_horizon),
        cmocka_unit_test(test_sequence_wrap),
        cmocka_unit_test(test_hold_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
