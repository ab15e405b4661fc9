/* Random streams: reproducible, independent per (seed, path), and the
 * samplers have the distributions they claim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "orrery/rng.h"

static void test_same_seed_same_stream(void **state)
{
    (void)state;
    struct orr_rng a, b;
    orr_rng_seed(&a, 1, "node0.core1");
    orr_rng_seed(&b, 1, "node0.core1");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(orr_rng_next(&a), orr_rng_next(&b));
}

static void test_streams_differ_by_seed_and_path(void **state)
{
    (void)state;
    struct orr_rng a, b, c;
    orr_rng_seed(&a, 1, "x");
    orr_rng_seed(&b, 2, "x");
    orr_rng_seed(&c, 1, "y");
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t va = orr_rng_next(&a);
        same_ab += va == orr_rng_next(&b);
        same_ac += va == orr_rng_next(&c);
    }
    assert_int_equal(same_ab, 0);
    assert_int_equal(same_ac, 0);
}

/* xoshiro256** reference: state {1, 2, 3, 4} gives 11520, 0, 1509978240,
 * 1215971899390074240 (from the reference implementation). */
static void test_xoshiro_known_answer(void **state)
{
    (void)state;
    struct orr_rng r = {{1, 2, 3, 4}};
    assert_int_equal(orr_rng_next(&r), 11520ull);
    assert_int_equal(orr_rng_next(&r), 0ull);
    assert_int_equal(orr_rng_next(&r), 1509978240ull);
    assert_int_equal(orr_rng_next(&r), 1215971899390074240ull);
}

static void test_below_range_and_uniformity(void **state)
{
    (void)state;
    struct orr_rng r;
    orr_rng_seed(&r, 3, "below");
    uint64_t hist[10] = {0};
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        uint64_t v = orr_rng_below(&r, 10);
        assert_true(v < 10);
        hist[v]++;
    }
    for (int i = 0; i < 10; i++) /* each bucket within 3% of N/10 */
        assert_true(hist[i] > N / 10 * 97 / 100 && hist[i] < N / 10 * 103 / 100);
    for (int i = 0; i < 1000; i++) {
        uint64_t v = orr_rng_range(&r, 5, 7);
        assert_true(v >= 5 && v <= 7);
    }
}

/* Exponential: mean within 1 %, P(X > mean) near e^-1 = 0.3679. */
static void test_exp_distribution(void **state)
{
    (void)state;
    struct orr_rng r;
    orr_rng_seed(&r, 9, "exp");
    enum { N = 400000 };
    const uint64_t mean = 1000000;
    unsigned __int128 sum = 0;
    uint64_t above = 0;
    for (int i = 0; i < N; i++) {
        uint64_t v = orr_rng_exp(&r, mean);
        sum += v;
        above += v > mean;
    }
    double m = (double)sum / N;
    assert_true(m > 0.99 * mean && m < 1.01 * mean);
    double p = (double)above / N;
    assert_true(p > 0.3629 && p < 0.3729);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_stream),
        cmocka_unit_test(test_streams_differ_by_seed_and_path),
        cmocka_unit_test(test_xoshiro_known_answer),
        cmocka_unit_test(test_below_range_and_uniformity),
        cmocka_unit_test(test_exp_distribution),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
