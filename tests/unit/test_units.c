/* Unit tests for include/orrery/units.h (exact parsing and formatting of
 * time, cycles, frequency, size and bandwidth) and orr_strerror. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "orrery/error.h"
#include "orrery/units.h"

struct ok_case {
    enum orr_unit_kind kind;
    const char *text;
    uint64_t want;
};

static void test_parse_valid(void **state)
{
    (void)state;
    static const struct ok_case cases[] = {
        {ORR_UNIT_TIME, "10ns", 10000},
        {ORR_UNIT_TIME, "0.5ns", 500},
        {ORR_UNIT_TIME, "1us", 1000000},
        {ORR_UNIT_TIME, "1\xc2\xb5s", 1000000}, /* µs, micro sign */
        {ORR_UNIT_TIME, "1\xce\xbcs", 1000000}, /* μs, Greek mu */
        {ORR_UNIT_TIME, "10 ns", 10000},
        {ORR_UNIT_TIME, "1s", 1000000000000ull},
        {ORR_UNIT_TIME, "10ms", 10000000000ull},
        {ORR_UNIT_TIME, "0ps", 0},
        {ORR_UNIT_TIME, "007ns", 7000},
        {ORR_UNIT_TIME, "1.000000000000000000000000000000000000000000ns", 1000},
        {ORR_UNIT_TIME, "18446744073709551615ps", UINT64_MAX},
        {ORR_UNIT_TIME, "18446744.073709551615s", UINT64_MAX},
        {ORR_UNIT_TIME, "0.000000000001s", 1},
        {ORR_UNIT_CYCLES, "5cy", 5},
        {ORR_UNIT_FREQ, "3.2GHz", 3200000000ull},
        {ORR_UNIT_FREQ, "5 kHz", 5000},
        {ORR_UNIT_FREQ, "1THz", 1000000000000ull},
        {ORR_UNIT_SIZE, "1.5KiB", 1536},
        {ORR_UNIT_SIZE, "48KiB", 49152},
        {ORR_UNIT_SIZE, "1KB", 1000},
        {ORR_UNIT_SIZE, "2TiB", 2ull << 40},
        {ORR_UNIT_SIZE, "0.00000095367431640625MiB", 1}, /* 2^-20 MiB */
        {ORR_UNIT_SIZE, "0.0000000000009094947017729282379150390625TiB", 1},
        {ORR_UNIT_SIZE, "64B", 64},
        {ORR_UNIT_BW, "200Gbps", 200000000000ull},
        {ORR_UNIT_BW, "1.5B/s", 12},
        {ORR_UNIT_BW, "1GiB/s", 8ull << 30},
        {ORR_UNIT_BW, "2.5TB/s", 20000000000000ull},
        {ORR_UNIT_BW, "100Mbps", 100000000ull},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 12345;
        const char *why = "unset";
        int rc = orr_unit_parse(cases[i].kind, cases[i].text, &v, &why);
        if (rc != 0 || v != cases[i].want)
            print_error("case '%s': rc %d why %s v %llu\n", cases[i].text, rc,
                        why ? why : "(null)", (unsigned long long)v);
        assert_int_equal(rc, 0);
        assert_int_equal(v, cases[i].want);
        assert_null(why);
    }
}

struct bad_case {
    enum orr_unit_kind kind;
    const char *text;
    int rc;
    const char *why; /* a substring of the reason */
};

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {ORR_UNIT_TIME, "", ORR_EPARSE, "empty value; expected a time such as 10ns"},
        {ORR_UNIT_TIME, "10", ORR_EUNIT,
         "missing unit; expected a time such as 10ns (units: ps, ns, us, ms, s)"},
        {ORR_UNIT_TIME, "10xs", ORR_EUNIT, "unknown unit; expected a time such as 10ns"},
        {ORR_UNIT_TIME, "10Ms", ORR_EUNIT, "unknown unit"},
        {ORR_UNIT_TIME, "10NS", ORR_EUNIT, "case matters"},
        {ORR_UNIT_TIME, "10ns ", ORR_EUNIT, "unknown unit"},
        {ORR_UNIT_TIME, "10  ns", ORR_EUNIT, "unknown unit"},
        {ORR_UNIT_TIME, "1.2.3ns", ORR_EPARSE, "malformed number"},
        {ORR_UNIT_TIME, "ns", ORR_EPARSE, "missing number"},
        {ORR_UNIT_TIME, " 10ns", ORR_EPARSE, "malformed number"},
        {ORR_UNIT_TIME, "0x10ns", ORR_EPARSE, "malformed number"},
        {ORR_UNIT_TIME, "1e3ns", ORR_EPARSE, "malformed number"},
        {ORR_UNIT_TIME, "10ns5", ORR_EPARSE, "malformed number"},
        {ORR_UNIT_TIME, "1.ns", ORR_EPARSE, "malformed number"},
        {ORR_UNIT_TIME, ".5ns", ORR_EPARSE, "malformed number"},
        {ORR_UNIT_TIME, "+5ns", ORR_EPARSE, "malformed number"},
        {ORR_UNIT_TIME, "-5ns", ORR_ERANGE, "expected a non-negative value"},
        {ORR_UNIT_TIME, "0.1ps", ORR_ERANGE, "below the 1 ps resolution"},
        {ORR_UNIT_TIME, "0.0000000000001s", ORR_ERANGE, "below the 1 ps resolution"},
        {ORR_UNIT_CYCLES, "1.5cy", ORR_ERANGE, "below the 1 cycle resolution"},
        {ORR_UNIT_SIZE, "0.3B", ORR_ERANGE, "whole number of bytes"},
        {ORR_UNIT_TIME, "18446744073709551616ps", ORR_ERANGE, "too large"},
        {ORR_UNIT_TIME, "18446745s", ORR_ERANGE, "too large"},
        {ORR_UNIT_TIME, "99999999999999999999999999999999999999999999ps", ORR_ERANGE,
         "too large"},
        {ORR_UNIT_SIZE, "16777216TiB", ORR_ERANGE, "too large"},
        {ORR_UNIT_SIZE, "10ns", ORR_EUNIT, "(units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"},
        {ORR_UNIT_SIZE, "10kb", ORR_EUNIT, "unknown unit; expected a size such as 48KiB"},
        {ORR_UNIT_FREQ, "3.2ghz", ORR_EUNIT, "expected a frequency such as 3.2GHz"},
        {ORR_UNIT_BW, "10", ORR_EUNIT, "expected a bandwidth such as 200Gbps"},
        {ORR_UNIT_CYCLES, "5", ORR_EUNIT, "expected a cycle count such as 5cy (units: cy)"},
        {ORR_UNIT_TIME, "inf", ORR_EPARSE, "missing number"},
        {ORR_UNIT_TIME, "-", ORR_EPARSE, "malformed number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 42;
        const char *why = NULL;
        int rc = orr_unit_parse(cases[i].kind, cases[i].text, &v, &why);
        if (rc != cases[i].rc || !why || !strstr(why, cases[i].why))
            print_error("case '%s': rc %d why '%s'\n", cases[i].text, rc, why ? why : "(null)");
        assert_int_equal(rc, cases[i].rc);
        assert_non_null(why);
        assert_non_null(strstr(why, cases[i].why));
        /* every reason has the "problem; expectation" shape callers rely on */
        assert_non_null(strstr(why, "; "));
    }
}

static void test_parse_null_args(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(orr_unit_parse(ORR_UNIT_TIME, NULL, &v, NULL), ORR_EPARSE);
    assert_int_equal(orr_unit_parse(ORR_UNIT_TIME, "10", &v, NULL), ORR_EUNIT);
    assert_int_equal(orr_unit_parse(ORR_UNIT_TIME, "10ns", NULL, NULL), ORR_EINVAL);
    assert_int_equal(orr_unit_parse((enum orr_unit_kind)99, "10ns", &v, NULL), ORR_EINVAL);
}

struct fmt_case {
    enum orr_unit_kind kind;
    uint64_t v;
    const char *want;
};

static void test_format(void **state)
{
    (void)state;
    static const struct fmt_case cases[] = {
        {ORR_UNIT_TIME, 0, "0ps"},
        {ORR_UNIT_TIME, 1500000, "1.5us"},
        {ORR_UNIT_TIME, 1000, "1ns"},
        {ORR_UNIT_TIME, 1500, "1.5ns"},
        {ORR_UNIT_TIME, 1234567, "1234567ps"},
        {ORR_UNIT_TIME, 10000000000ull, "10ms"},
        {ORR_UNIT_TIME, 1000000000000ull, "1s"},
        {ORR_UNIT_TIME, UINT64_MAX, "18446744073709551615ps"},
        {ORR_UNIT_CYCLES, 5, "5cy"},
        {ORR_UNIT_CYCLES, 0, "0cy"},
        {ORR_UNIT_FREQ, 3200000000ull, "3.2GHz"},
        {ORR_UNIT_FREQ, 0, "0Hz"},
        {ORR_UNIT_SIZE, 1536, "1.5KiB"},
        {ORR_UNIT_SIZE, 1000, "1KB"},
        {ORR_UNIT_SIZE, 49152, "48KiB"},
        {ORR_UNIT_SIZE, 1048576, "1MiB"},
        {ORR_UNIT_SIZE, 1500000, "1.5MB"},
        {ORR_UNIT_SIZE, 3200000000ull, "3.2GB"},
        {ORR_UNIT_SIZE, 1023, "1023B"},
        {ORR_UNIT_SIZE, 0, "0B"},
        {ORR_UNIT_BW, 200000000000ull, "200Gbps"},
        {ORR_UNIT_BW, 8, "8bps"},
        {ORR_UNIT_BW, 0, "0bps"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        size_t len = orr_unit_format(cases[i].kind, cases[i].v, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
        assert_int_equal(len, strlen(cases[i].want));
    }
}

static void test_format_truncates(void **state)
{
    (void)state;
    char buf[4] = "xxx";
    assert_int_equal(orr_unit_format(ORR_UNIT_TIME, 1500000, buf, sizeof buf), 5);
    assert_string_equal(buf, "1.5");
    char one[1] = {'x'};
    assert_int_equal(orr_unit_format(ORR_UNIT_SIZE, 1536, one, 1), 6);
    assert_int_equal(one[0], '\0');
    assert_int_equal(orr_unit_format(ORR_UNIT_SIZE, 1536, NULL, 0), 6);
}

/* splitmix64: a fixed-seed generator for the round-trip test (no rand()). */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Values that exercise every suffix: random bits, small numbers and round
 * multiples of decimal and binary steps with a short fraction. */
static uint64_t interesting(uint64_t *s)
{
    static const uint64_t steps[] = {1, 1000, 1000000, 1000000000ull, 1000000000000ull,
                                     8, 8000, 1024, 1ull << 20, 1ull << 30, 1ull << 40};
    uint64_t r = splitmix(s);
    switch (r % 4) {
    case 0:
        return splitmix(s);
    case 1:
        return splitmix(s) % 100000;
    case 2:
        return splitmix(s) >> (splitmix(s) % 64);
    default: {
        uint64_t step = steps[splitmix(s) % (sizeof steps / sizeof steps[0])];
        return (splitmix(s) % 100000) * step + (splitmix(s) % 4) * (step / 4);
    }
    }
}

static void test_roundtrip_random(void **state)
{
    (void)state;
    uint64_t seed = 0x0cc1e5;
    for (int kind = ORR_UNIT_TIME; kind <= ORR_UNIT_BW; kind++) {
        for (int i = 0; i < 50000; i++) {
            uint64_t v = i < 64 ? (uint64_t)1 << i : interesting(&seed), back = 0;
            char buf[64];
            orr_unit_format((enum orr_unit_kind)kind, v, buf, sizeof buf);
            const char *why = NULL;
            int rc = orr_unit_parse((enum orr_unit_kind)kind, buf, &back, &why);
            if (rc != 0 || back != v)
                print_error("kind %d v %llu -> '%s' -> rc %d %llu (%s)\n", kind,
                            (unsigned long long)v, buf, rc, (unsigned long long)back,
                            why ? why : "");
            assert_int_equal(rc, 0);
            assert_int_equal(back, v);
        }
    }
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(orr_unit_kind_name(ORR_UNIT_TIME), "time");
    assert_string_equal(orr_unit_kind_name(ORR_UNIT_SIZE), "size");
    assert_string_equal(orr_unit_kind_name(ORR_UNIT_BW), "bandwidth");
    assert_string_equal(orr_unit_kind_suffixes(ORR_UNIT_TIME), "ps, ns, us, ms, s");
    assert_string_equal(orr_unit_kind_suffixes(ORR_UNIT_CYCLES), "cy");
    assert_string_equal(orr_unit_kind_suffixes(ORR_UNIT_FREQ), "Hz, kHz, MHz, GHz, THz");
    assert_non_null(strstr(orr_unit_kind_suffixes(ORR_UNIT_BW), "GiB/s"));
    assert_string_equal(orr_unit_kind_name((enum orr_unit_kind)99), "unknown");
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(orr_strerror(0), "success");
    assert_string_equal(orr_strerror(ORR_EUNIT), "bad or missing unit");
    assert_string_equal(orr_strerror(ORR_ENOTSUP), "not supported");
    assert_string_equal(orr_strerror(ORR_EINVAL), "invalid argument");
    assert_string_equal(orr_strerror(-999), "unknown error");
    assert_string_equal(orr_strerror(5), "unknown error");
    assert_int_equal(ORR_EPARSE, -5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),      cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_null_args),  cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_truncates), cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_kind_names),       cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
