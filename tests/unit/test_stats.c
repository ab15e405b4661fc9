/* Histograms: percentiles within the documented 1/64 relative error of the
 * exact order statistic, clamped to [min, max]; exact below 128. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "orrery/rng.h"
#include "orrery/stats.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_small_values_exact(void **state)
{
    (void)state;
    struct orr_histogram h;
    orr_histogram_init(&h);
    for (uint64_t v = 1; v <= 100; v++)
        orr_histogram_add(&h, v);
    assert_int_equal(orr_histogram_quantile(&h, 500000), 50);
    assert_int_equal(orr_histogram_quantile(&h, 990000), 99);
    assert_int_equal(orr_histogram_quantile(&h, 1000000), 100);
    assert_int_equal(orr_histogram_quantile(&h, 0), 1);
    /* the p-quantile is the ceil(count * p)-th smallest sample: where
     * count * p is not whole it rounds up, never down */
    assert_int_equal(orr_histogram_quantile(&h, 999000), 100); /* 99.9 -> 100th */
    assert_int_equal(orr_histogram_quantile(&h, 505000), 51);  /* 50.5 -> 51st */
    assert_int_equal(orr_histogram_quantile(&h, 1000), 1);     /* 0.1 -> 1st */
    assert_int_equal(orr_histogram_quantile(&h, 10001), 2);    /* 1.0001 -> 2nd */
    assert_int_equal(h.count, 100);
    assert_true(orr_histogram_mean(&h) == 50.5);
    orr_histogram_free(&h);
}

static void test_quantiles_within_bound(void **state)
{
    (void)state;
    struct orr_rng r;
    orr_rng_seed(&r, 5, "hist");
    enum { N = 50000 };
    uint64_t *v = malloc(N * sizeof *v);
    struct orr_histogram h;
    orr_histogram_init(&h);
    for (int i = 0; i < N; i++) {
        v[i] = orr_rng_exp(&r, 5000000) + 1; /* ps-scale latencies */
        orr_histogram_add(&h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp_u64);
    const uint32_t ppm[] = {1000, 100000, 500000, 900000, 990000, 999000};
    for (size_t i = 0; i < sizeof ppm / sizeof ppm[0]; i++) {
        uint64_t rank = ((uint64_t)N * ppm[i] + 999999) / 1000000;
        uint64_t exact = v[rank - 1];
        uint64_t got = orr_histogram_quantile(&h, ppm[i]);
        assert_true(got >= exact);
        assert_true(got <= exact + exact / 64 + 1);
    }
    assert_int_equal(orr_histogram_quantile(&h, 1000000), v[N - 1]);
    assert_int_equal(h.min, v[0]);
    free(v);
    orr_histogram_free(&h);
}

static void test_extremes_and_merge(void **state)
{
    (void)state;
    struct orr_histogram a, b;
    orr_histogram_init(&a);
    orr_histogram_init(&b);
    assert_int_equal(orr_histogram_quantile(&a, 500000), 0);
    orr_histogram_add(&a, UINT64_MAX);
    orr_histogram_add(&b, 0);
    orr_histogram_add(&b, 1ull << 40);
    orr_histogram_merge(&a, &b);
    assert_int_equal(a.count, 3);
    assert_int_equal(a.min, 0);
    assert_int_equal(a.max, UINT64_MAX);
    assert_int_equal(orr_histogram_quantile(&a, 1000000), UINT64_MAX);
    assert_int_equal(orr_histogram_quantile(&a, 100000), 0);
    orr_histogram_free(&a);
    orr_histogram_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_quantiles_within_bound),
        cmocka_unit_test(test_extremes_and_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
