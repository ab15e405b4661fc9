/* The MMU library (hw/mmu/mmu.c): the Sv48 walk against tables built by
 * hand in a small fake physical memory — translations at each page size,
 * every fault rule, the loads a walk makes — and the TLB: lookup per page
 * size, LRU eviction within a set, range flushes and its checker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/mmu.h"

#define MEM_PAGES 64
static uint64_t mem[MEM_PAGES * 512]; /* physical [0, 256 KiB) as PTE-sized words */
static unsigned loads;

static int load(void *arg, hal_paddr_t pa, uint64_t *pte)
{
    (void)arg;
    loads++;
    if (pa / 8 >= sizeof mem / sizeof mem[0])
        return HAL_EFAULT;
    *pte = mem[pa / 8];
    return HAL_OK;
}

static uint64_t table_pte(hal_paddr_t table) { return (table >> 12 << 10) | HAL_PTE_V; }
static uint64_t leaf(hal_paddr_t pa, unsigned flags) { return (pa >> 12 << 10) | HAL_PTE_V | flags; }
static void set(hal_paddr_t table, unsigned idx, uint64_t pte) { mem[table / 8 + idx] = pte; }

#define RWAD (HAL_PTE_R | HAL_PTE_W | HAL_PTE_A | HAL_PTE_D)
#define ROOT 0x1000u
#define L2 0x2000u
#define L1 0x3000u
#define L0 0x4000u

/* va 0x40201000 -> L3[0] -> L2[1] -> L1[1] -> L0[1] -> frame 0x9000 */
static void build(void)
{
    memset(mem, 0, sizeof mem);
    set(ROOT, 0, table_pte(L2));
    set(L2, 1, table_pte(L1));
    set(L1, 1, table_pte(L0));
    set(L0, 1, leaf(0x9000, RWAD));
}

static enum mmu_result walk(uint64_t va, unsigned acc, hal_paddr_t *pa, unsigned *level)
{
    uint64_t pte;
    unsigned n = 0, lv = 9;
    loads = 0;
    enum mmu_result r = mmu_walk(ROOT, va, acc, load, NULL, pa, &pte, level ? level : &lv, &n);
    assert_int_equal(n, loads); /* it says how many loads it made */
    return r;
}

static void test_walk_4k(void **state)
{
    (void)state;
    build();
    hal_paddr_t pa = 0;
    unsigned level = 9;
    assert_int_equal(walk(0x40201abc, HAL_ACC_READ, &pa, &level), MMU_OK);
    assert_int_equal(pa, 0x9abc);
    assert_int_equal(level, 0);
    assert_int_equal(loads, 4); /* one PTE per level */
    assert_int_equal(walk(0x40201ff8, HAL_ACC_WRITE, &pa, NULL), MMU_OK);
    assert_int_equal(pa, 0x9ff8);
    /* the next page has no leaf: a fault after four loads */
    assert_int_equal(walk(0x40202000, HAL_ACC_READ, &pa, NULL), MMU_FAULT);
    assert_int_equal(loads, 4);
    /* nothing under root[1]: a fault at the first load */
    assert_int_equal(walk(1ull << 39, HAL_ACC_READ, &pa, NULL), MMU_FAULT);
    assert_int_equal(loads, 1);
}

static void test_superpages(void **state)
{
    (void)state;
    build();
    hal_paddr_t pa = 0;
    unsigned level = 9;
    set(L1, 2, leaf(0x200000, RWAD)); /* va 0x40400000: a 2 MiB page at pa 2 MiB */
    assert_int_equal(walk(0x40412345, HAL_ACC_READ, &pa, &level), MMU_OK);
    assert_int_equal(pa, 0x212345);
    assert_int_equal(level, 1);
    assert_int_equal(loads, 3);
    set(L2, 2, leaf(0x40000000, RWAD)); /* va 0x80000000: 1 GiB at pa 1 GiB */
    assert_int_equal(walk(0x80001234, HAL_ACC_READ, &pa, &level), MMU_OK);
    assert_int_equal(pa, 0x40001234);
    assert_int_equal(level, 2);
    /* misaligned superpages fault */
    set(L1, 3, leaf(0x201000, RWAD));
    assert_int_equal(walk(0x40600000, HAL_ACC_READ, &pa, NULL), MMU_FAULT);
    set(L2, 3, leaf(0x200000, RWAD));
    assert_int_equal(walk(0xC0000000, HAL_ACC_READ, &pa, NULL), MMU_FAULT);
    /* a leaf at level 3 (512 GiB) is not allowed */
    set(ROOT, 5, leaf(0, RWAD));
    assert_int_equal(walk(5ull << 39, HAL_ACC_READ, &pa, NULL), MMU_FAULT);
}

static void test_permissions(void **state)
{
    (void)state;
    build();
    hal_paddr_t pa = 0;
    const uint64_t va = 0x40201000;
    set(L0, 1, leaf(0x9000, HAL_PTE_R | HAL_PTE_A)); /* read-only, clean */
    assert_int_equal(walk(va, HAL_ACC_READ, &pa, NULL), MMU_OK);
    assert_int_equal(walk(va, HAL_ACC_WRITE, &pa, NULL), MMU_FAULT);
    assert_int_equal(walk(va, HAL_ACC_EXEC, &pa, NULL), MMU_FAULT);
    set(L0, 1, leaf(0x9000, HAL_PTE_R | HAL_PTE_W | HAL_PTE_A)); /* writable but D clear */
    assert_int_equal(walk(va, HAL_ACC_WRITE, &pa, NULL), MMU_FAULT);
    set(L0, 1, leaf(0x9000, HAL_PTE_R | HAL_PTE_W | HAL_PTE_D)); /* A clear */
    assert_int_equal(walk(va, HAL_ACC_READ, &pa, NULL), MMU_FAULT);
    set(L0, 1, leaf(0x9000, HAL_PTE_W | HAL_PTE_A | HAL_PTE_D)); /* W without R: reserved */
    assert_int_equal(walk(va, HAL_ACC_WRITE, &pa, NULL), MMU_FAULT);
    set(L0, 1, leaf(0x9000, HAL_PTE_X | HAL_PTE_A)); /* execute-only */
    assert_int_equal(walk(va, HAL_ACC_EXEC, &pa, NULL), MMU_OK);
    assert_int_equal(walk(va, HAL_ACC_READ, &pa, NULL), MMU_FAULT);
    set(L0, 1, leaf(0x9000, RWAD) & ~(uint64_t)HAL_PTE_V); /* not valid */
    assert_int_equal(walk(va, HAL_ACC_READ, &pa, NULL), MMU_FAULT);
}

static void test_canonical_and_bus(void **state)
{
    (void)state;
    build();
    hal_paddr_t pa = 0;
    /* bit 47 set but the top bits clear: not canonical, no load made */
    assert_int_equal(walk(1ull << 47, HAL_ACC_READ, &pa, NULL), MMU_FAULT);
    assert_int_equal(loads, 0);
    /* the upper half is canonical: root[256] */
    set(ROOT, 256, table_pte(L2));
    assert_int_equal(walk(0xFFFF800040201000ull, HAL_ACC_READ, &pa, NULL), MMU_OK);
    assert_int_equal(pa, 0x9000);
    /* a table pointer outside memory: a bus error, not a fault */
    set(L2, 7, table_pte(0x10000000));
    assert_int_equal(walk(7ull << 30, HAL_ACC_READ, &pa, NULL), MMU_BUS);
}

static void test_tlb(void **state)
{
    (void)state;
    struct mmu_tlb t;
    bool oom;
    assert_int_equal(mmu_tlb_init(&t, 3, 2, &oom), -1); /* sets must be a power of two */
    assert_false(oom);
    assert_int_equal(mmu_tlb_init(&t, 4, 2, &oom), 0);
    uint64_t pte = leaf(0x9000, RWAD);
    /* pages 0, 4, 8 share set 0 of a 4-set, 2-way TLB: LRU evicts */
    mmu_tlb_insert(&t, 0x0000, pte, 0);
    mmu_tlb_insert(&t, 0x4000, pte, 0);
    assert_non_null(mmu_tlb_lookup(&t, 0x0123)); /* page 0 is now the most recent */
    mmu_tlb_insert(&t, 0x8000, pte, 0);          /* evicts page 4 */
    assert_non_null(mmu_tlb_lookup(&t, 0x0000));
    assert_null(mmu_tlb_lookup(&t, 0x4000));
    assert_non_null(mmu_tlb_lookup(&t, 0x8fff));
    assert_int_equal(mmu_tlb_check(&t), 0);
    /* a 2 MiB entry serves every 4 KiB page inside it */
    mmu_tlb_insert(&t, 0x40200000, leaf(0x200000, RWAD), 1); /* set 1 */
    struct mmu_tlb_entry *e = mmu_tlb_lookup(&t, 0x403ff123);
    assert_non_null(e);
    assert_int_equal(e->level, 1);
    assert_int_equal(mmu_pte_pa(e->pte, e->level, 0x403ff123), 0x3ff123);
    /* a range flush drops what overlaps it, and only that */
    assert_int_equal(mmu_tlb_flush(&t, 0x8000, 0x1000), 1);
    assert_null(mmu_tlb_lookup(&t, 0x8000));
    assert_non_null(mmu_tlb_lookup(&t, 0x0000));
    assert_int_equal(mmu_tlb_flush(&t, 0x40300000, 0x1000), 1); /* inside the 2 MiB page */
    assert_null(mmu_tlb_lookup(&t, 0x40200000));
    assert_int_equal(mmu_tlb_flush(&t, 0, 0), 1); /* everything left: page 0 */
    assert_null(mmu_tlb_lookup(&t, 0x0000));
    /* the checker fires on planted corruption */
    mmu_tlb_insert(&t, 0x1000, pte, 0);
    assert_int_equal(mmu_tlb_check(&t), 0);
    struct mmu_tlb_entry *x = mmu_tlb_lookup(&t, 0x1000);
    x->vpn = 2; /* no longer in the set its VPN selects */
    assert_int_equal(mmu_tlb_check(&t), 1);
    x->vpn = 1;
    t.a[1 * t.ways + 1] = *x; /* a duplicate in set 1 */
    assert_int_equal(mmu_tlb_check(&t), 2);
    t.a[1 * t.ways + 1].valid = false;
    x->pte = table_pte(0x4000); /* not a leaf */
    assert_int_equal(mmu_tlb_check(&t), 3);
    mmu_tlb_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_4k),      cmocka_unit_test(test_superpages),
        cmocka_unit_test(test_permissions),  cmocka_unit_test(test_canonical_and_bus),
        cmocka_unit_test(test_tlb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
