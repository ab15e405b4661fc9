/* Event queue: pops come out in the total order (time, rank, seq) whatever
 * the insertion order, and the dispatch "hole" path behaves like pop+push. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "evq.h"
#include "orrery/rng.h"

static struct orr_event mk(orr_time_t t, uint32_t rank, uint64_t seq)
{
    return (struct orr_event){.time = t, .rank = rank, .seq = seq};
}

static int cmp_ev(const void *a, const void *b)
{
    const struct orr_event *x = a, *y = b;
    return orr_ev_before(x, y) ? -1 : orr_ev_before(y, x) ? 1 : 0;
}

/* Push a random multiset with many ties in time and rank, pop everything,
 * and compare with a sort of the same keys. */
static void test_total_order_matches_sort(void **state)
{
    (void)state;
    struct orr_rng r;
    orr_rng_seed(&r, 42, "evq");
    enum { N = 20000 };
    struct orr_event *ref = malloc(N * sizeof *ref);
    struct orr_evq q;
    assert_int_equal(orr_evq_init(&q, 4), 0);
    for (size_t i = 0; i < N; i++) {
        ref[i] = mk(orr_rng_below(&r, 50), (uint32_t)orr_rng_below(&r, 4) << 24 |
                                               (uint32_t)orr_rng_below(&r, 8), i);
        assert_int_equal(orr_evq_push(&q, &ref[i]), 0);
    }
    qsort(ref, N, sizeof *ref, cmp_ev);
    for (size_t i = 0; i < N; i++) {
        const struct orr_event *top = orr_evq_peek(&q);
        assert_non_null(top);
        assert_int_equal(top->time, ref[i].time);
        assert_int_equal(top->rank, ref[i].rank);
        assert_int_equal(top->seq, ref[i].seq);
        orr_evq_take(&q);
    }
    assert_null(orr_evq_peek(&q));
    assert_int_equal(orr_evq_size(&q), 0);
    orr_evq_free(&q);
    free(ref);
}

/* Insertion order must not matter: the same set pushed forwards and
 * backwards pops identically. */
static void test_insertion_order_irrelevant(void **state)
{
    (void)state;
    enum { N = 257 };
    struct orr_evq a, b;
    orr_evq_init(&a, 16);
    orr_evq_init(&b, 16);
    for (int i = 0; i < N; i++) {
        struct orr_event e1 = mk(10, (uint32_t)(i % 3), (uint64_t)i);
        struct orr_event e2 = mk(10, (uint32_t)((N - 1 - i) % 3), (uint64_t)(N - 1 - i));
        orr_evq_push(&a, &e1);
        orr_evq_push(&b, &e2);
    }
    for (int i = 0; i < N; i++) {
        const struct orr_event *x = orr_evq_peek(&a), *y = orr_evq_peek(&b);
        assert_int_equal(x->rank, y->rank);
        assert_int_equal(x->seq, y->seq);
        orr_evq_take(&a);
        orr_evq_take(&b);
    }
    orr_evq_free(&a);
    orr_evq_free(&b);
}

/* take() then push() (the dispatch fast path) equals pop then push. */
static void test_hole_replacement(void **state)
{
    (void)state;
    struct orr_rng r;
    orr_rng_seed(&r, 7, "hole");
    struct orr_evq q;
    orr_evq_init(&q, 16);
    for (int i = 0; i < 1000; i++) {
        struct orr_event e = mk(orr_rng_below(&r, 1000), 0, (uint64_t)i);
        orr_evq_push(&q, &e);
    }
    orr_time_t last = 0;
    uint64_t seq = 1000;
    for (int step = 0; step < 100000; step++) {
        const struct orr_event *top = orr_evq_peek(&q);
        assert_true(top->time >= last);
        last = top->time;
        orr_evq_take(&q);
        assert_int_equal(orr_evq_size(&q), 999);
        struct orr_event e = mk(last + 1 + orr_rng_below(&r, 1000), 0, seq++);
        orr_evq_push(&q, &e);
        assert_int_equal(orr_evq_size(&q), 1000);
    }
    orr_evq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_order_matches_sort),
        cmocka_unit_test(test_insertion_order_irrelevant),
        cmocka_unit_test(test_hole_replacement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
