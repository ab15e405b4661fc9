/* Clock domains: cycle/picosecond conversion with integer arithmetic, exact
 * over long runs (no drift), including frequencies whose period is not a
 * whole number of picoseconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "orrery/time.h"

static void test_whole_period(void **state)
{
    (void)state;
    struct orr_clock c = {.hz = 1000000000}; /* 1 GHz: 1000 ps */
    assert_int_equal(orr_clock_cycles_to_ps(&c, 0), 0);
    assert_int_equal(orr_clock_cycles_to_ps(&c, 7), 7000);
    assert_int_equal(orr_clock_ps_to_cycles(&c, 6999), 6);
    assert_int_equal(orr_clock_ps_to_cycles(&c, 7000), 7);
    assert_int_equal(orr_clock_next_edge(&c, 7000), 7000);
    assert_int_equal(orr_clock_next_edge(&c, 7001), 8000);
}

/* 3.2 GHz: 312.5 ps per cycle, so cycles alternate 312 and 313 ps and a
 * million cycles are exactly 312.5 us — no accumulated rounding. */
static void test_fractional_period(void **state)
{
    (void)state;
    struct orr_clock c = {.hz = 3200000000ull};
    assert_int_equal(orr_clock_cycles_to_ps(&c, 1), 312);
    assert_int_equal(orr_clock_cycles_to_ps(&c, 2), 625);
    assert_int_equal(orr_clock_cycles_to_ps(&c, 1000000), 312500000);
    for (uint64_t n = 0; n < 100000; n++) {
        orr_time_t t = orr_clock_cycles_to_ps(&c, n);
        orr_time_t d = orr_clock_cycles_to_ps(&c, n + 1) - t;
        assert_true(d == 312 || d == 313);
        assert_int_equal(orr_clock_ps_to_cycles(&c, t), n);
        assert_int_equal(orr_clock_next_edge(&c, t), t);
        assert_int_equal(orr_clock_next_edge(&c, t + 1), orr_clock_cycles_to_ps(&c, n + 1));
    }
}

/* No overflow near the top of the range: 100 days at 5 GHz. */
static void test_large_values(void **state)
{
    (void)state;
    struct orr_clock c = {.hz = 5000000000ull};
    uint64_t cycles = 5000000000ull * 86400ull * 100ull;
    orr_time_t t = orr_clock_cycles_to_ps(&c, cycles);
    assert_int_equal(t, 100ull * 86400ull * ORR_S);
    assert_int_equal(orr_clock_ps_to_cycles(&c, t), cycles);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_period),
        cmocka_unit_test(test_fractional_period),
        cmocka_unit_test(test_large_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
