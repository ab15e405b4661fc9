/* The physical memory map library (include/hw/memmap.h): lookups at range
 * edges, interleaving, overlap detection and its messages, address
 * parsing and invalid input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hw/memmap.h"
#include "orrery/error.h"
#include "testutil.h"

#define GiB (1ull << 30)

static unsigned target_of(const struct memmap *m, uint64_t addr)
{
    const struct memmap_range *r = memmap_find(m, addr);
    return r ? r->aTarget[0] : 999u;
}

static void test_find(void **state)
{
    (void)state;
    struct memmap m;
    memmap_init(&m);
    /* added out of order, with a hole between 2 GiB and 4 GiB */
    assert_int_equal(memmap_add(&m, 4 * GiB, 1 * GiB, 2, "cxl0", NULL), 0);
    assert_int_equal(memmap_add(&m, 0, 1 * GiB, 0, "dram0", NULL), 0);
    assert_int_equal(memmap_add(&m, 1 * GiB, 1 * GiB, 1, "dram1", NULL), 0);
    assert_int_equal(memmap_finalize(&m, NULL), 0);
    assert_true(memmap_check(&m));
    assert_int_equal(target_of(&m, 0), 0);
    assert_int_equal(target_of(&m, GiB - 1), 0);
    assert_int_equal(target_of(&m, GiB), 1);
    assert_int_equal(target_of(&m, 2 * GiB - 64), 1);
    assert_int_equal(target_of(&m, 2 * GiB), 999);
    assert_int_equal(target_of(&m, 4 * GiB - 1), 999);
    assert_int_equal(target_of(&m, 4 * GiB), 2);
    assert_int_equal(target_of(&m, 5 * GiB - 1), 2);
    assert_int_equal(target_of(&m, 5 * GiB), 999);
    assert_int_equal(target_of(&m, UINT64_MAX), 999);
    assert_string_equal(memmap_find(&m, 4 * GiB)->name, "cxl0");
    unsigned t;
    uint64_t off;
    assert_true(memmap_resolve(&m, 4 * GiB + 0x40, &t, &off));
    assert_int_equal(t, 2);
    assert_int_equal(off, 0x40);
    assert_false(memmap_resolve(&m, 3 * GiB, &t, &off));
    memmap_free(&m);
}

/* Many ranges: every lookup agrees with a linear scan. */
static void test_find_many(void **state)
{
    (void)state;
    struct memmap m;
    memmap_init(&m);
    for (unsigned i = 0; i < 1000; i++) { /* ranges of 4 KiB every 8 KiB, reversed */
        unsigned k = 999 - i;
        assert_int_equal(memmap_add(&m, (uint64_t)k * 8192, 4096, k, NULL, NULL), 0);
    }
    assert_int_equal(memmap_finalize(&m, NULL), 0);
    for (uint64_t a = 0; a < 1000 * 8192ull; a += 1024) {
        unsigned want = (a % 8192) < 4096 ? (unsigned)(a / 8192) : 999u;
        assert_int_equal(target_of(&m, a), want);
    }
    memmap_free(&m);
}

/* An interleaved range spreads granules round-robin; each target sees a
 * dense space. */
static void test_interleave(void **state)
{
    (void)state;
    struct memmap m;
    memmap_init(&m);
    const unsigned ways[3] = {7, 4, 9};
    assert_int_equal(memmap_interleave(&m, 0x100000000ull, 3 * 4096 * 8, ways, 3, 4096, "il", NULL),
                     0);
    assert_int_equal(memmap_finalize(&m, NULL), 0);
    assert_true(memmap_check(&m));
    unsigned t;
    uint64_t off;
    for (unsigned g = 0; g < 24; g++) {
        uint64_t a = 0x100000000ull + g * 4096ull + 0x80;
        assert_true(memmap_resolve(&m, a, &t, &off));
        assert_int_equal(t, ways[g % 3]);
        assert_int_equal(off, (g / 3) * 4096ull + 0x80);
    }
    assert_false(memmap_resolve(&m, 0x100000000ull + 3 * 4096 * 8, &t, &off));
    /* invalid interleaves */
    assert_int_equal(memmap_interleave(&m, 0, 4096 * 3, ways, 3, 1000, NULL, NULL), ORR_EINVAL);
    assert_int_equal(memmap_interleave(&m, 0, 4096 * 4, ways, 3, 4096, NULL, NULL), ORR_EINVAL);
    const unsigned dup[2] = {1, 1};
    assert_int_equal(memmap_interleave(&m, 0, 8192, dup, 2, 4096, NULL, NULL), ORR_EINVAL);
    assert_int_equal(memmap_interleave(&m, 0, 8192, ways, 0, 4096, NULL, NULL), ORR_EINVAL);
    memmap_free(&m);
}

static void test_invalid_ranges(void **state)
{
    (void)state;
    struct memmap m;
    memmap_init(&m);
    assert_int_equal(memmap_add(&m, 0, 0, 0, "empty", NULL), ORR_EINVAL);
    assert_int_equal(memmap_add(&m, UINT64_MAX - 10, 100, 0, "wraps", NULL), ORR_EINVAL);
    assert_int_equal(memmap_add(&m, UINT64_MAX - 100, 100, 0, "top", NULL), 0);
    assert_int_equal(memmap_finalize(&m, NULL), 0);
    assert_int_equal(target_of(&m, UINT64_MAX - 1), 0);
    assert_int_equal(target_of(&m, UINT64_MAX), 999);
    memmap_free(&m);
}

/* Overlaps name both ranges; touching ranges do not overlap. */
static void test_overlap(void **state)
{
    (void)state;
    struct memmap m;
    struct memmap_overlap ov;
    memmap_init(&m);
    assert_int_equal(memmap_add(&m, 0, 2 * GiB, 0, "dram0", NULL), 0);
    assert_int_equal(memmap_add(&m, 2 * GiB, 1 * GiB, 1, "dram1", NULL), 0); /* touches */
    assert_int_equal(memmap_finalize(&m, &ov), 0);
    assert_null(ov.a);
    assert_int_equal(memmap_add(&m, 2 * GiB + 4096, 4096, 2, "cxl0", NULL), 0);
    assert_false(m.finalized);
    assert_int_equal(memmap_finalize(&m, &ov), ORR_ESCHEMA);
    assert_string_equal(ov.a->name, "dram1");
    assert_string_equal(ov.b->name, "cxl0");
    memmap_free(&m);

    /* a range inside a long one that an intervening range does not reach */
    memmap_init(&m);
    assert_int_equal(memmap_add(&m, 0, 16 * GiB, 0, "big", NULL), 0);
    assert_int_equal(memmap_add(&m, 1 * GiB, 1 * GiB, 1, "a", NULL), 0);
    assert_int_equal(memmap_add(&m, 8 * GiB, 1 * GiB, 2, "b", NULL), 0);
    assert_int_equal(memmap_finalize(&m, &ov), ORR_ESCHEMA);
    assert_string_equal(ov.a->name, "big");
    assert_string_equal(ov.b->name, "a");
    memmap_free(&m);
}

/* The diagnostics a machine builder shows: at the later range's position,
 * naming the earlier range and where it was declared. */
static void test_overlap_diag(void **state)
{
    (void)state;
    struct memmap m;
    struct orr_diag d;
    orr_diag_init(&d);
    memmap_init(&m);
    struct orr_mark m0 = {"m.yaml", 4, 5}, m1 = {"m.yaml", 9, 5}, m2 = {"m.yaml", 12, 5};
    assert_int_equal(memmap_add(&m, 0, 8 * GiB, 0, "dram0", &m0), 0);
    assert_int_equal(memmap_add(&m, 4 * GiB, 1 * GiB, 1, "cxl0", &m1), 0);
    assert_int_equal(memmap_add(&m, 6 * GiB, 4 * GiB, 2, "cxl1", &m2), 0);
    assert_int_equal(memmap_finalize_diag(&m, &d, "machine.memory"), ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&d), 2);
    assert_diag(&d, 0,
                "m.yaml:9:5: error: machine.memory: range 'cxl0' [0x100000000, 0x140000000) "
                "overlaps 'dram0' [0x0, 0x200000000) declared at m.yaml:4:5");
    assert_diag(&d, 1,
                "m.yaml:12:5: error: machine.memory: range 'cxl1' [0x180000000, 0x280000000) "
                "overlaps 'dram0' [0x0, 0x200000000) declared at m.yaml:4:5");
    memmap_free(&m);
    orr_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_find_many),
        cmocka_unit_test(test_interleave),
        cmocka_unit_test(test_invalid_ranges),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_overlap_diag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
