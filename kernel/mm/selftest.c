/* The "mm" selftest suite: page tables built in the kernel's memory (any
 * backend with hal_load/hal_store, QEMU included), and — where the
 * platform has an MMU (hal_vload) — translation through them, demand
 * faults, permissions, superpages and the TLB keeping a translation until
 * it is flushed. Runs on CPU 0 alone; memory: a window of the
 * kernel's region from a quarter in: 256 KiB of frames for tables, and
 * for the superpage test the first 2 MiB-aligned 2 MiB after them. */
#include "kernel/ktest.h"
#include "kernel/mm.h"

#define PAGE HAL_PAGE_SIZE
#define MiB (1ull << 20)
#define RWAD (HAL_PTE_R | HAL_PTE_W | HAL_PTE_A | HAL_PTE_D)

/* Frames for tables: 256 KiB from a quarter into the kernel's region. */
#define FRAMES (256u << 10)

static int window(struct hal_cpu *c, hal_paddr_t *at)
{
    hal_paddr_t base;
    uint64_t size;
    if (hal_mem_region(c, &base, &size) != HAL_OK)
        return KTEST_SKIP;
    hal_paddr_t w = (base + size / 4 + PAGE - 1) & ~(hal_paddr_t)(PAGE - 1);
    if (w + FRAMES > base + size)
        return KTEST_SKIP;
    *at = w;
    return KTEST_OK;
}

/* A 2 MiB-aligned 2 MiB frame past the table frames, or KTEST_SKIP. */
static int big_frame(struct hal_cpu *c, hal_paddr_t w, hal_paddr_t *big)
{
    hal_paddr_t base;
    uint64_t size;
    if (hal_mem_region(c, &base, &size) != HAL_OK)
        return KTEST_SKIP;
    *big = (w + FRAMES + 2 * MiB - 1) & ~(2 * MiB - 1);
    return *big + 2 * MiB <= base + size ? KTEST_OK : KTEST_SKIP;
}

static int space(struct hal_cpu *c, struct vm_space *s, hal_paddr_t *w)
{
    int rc = window(c, w);
    if (rc)
        return rc;
    struct vm_frames f;
    if (vm_frames_init(c, &f, *w, FRAMES) || vm_space_init(c, s, &f))
        return __LINE__;
    return KTEST_OK;
}

/* space(), for the tests that need the platform's MMU: KTEST_SKIP where
 * the HAL has none (hal_vload with translation off is a physical load). */
static int mmu_space(struct hal_cpu *c, struct vm_space *s, hal_paddr_t *w)
{
    int rc = space(c, s, w);
    uint64_t v = 0;
    if (!rc && hal_vload(c, 0, 8, &v) == HAL_ENOTSUP)
        rc = KTEST_SKIP;
    return rc;
}

static uint64_t frames_used(struct hal_cpu *c, const struct vm_space *s)
{
    uint64_t cur = 0;
    hal_load(c, s->frames.cursor, 8, &cur);
    return (cur - s->frames.cursor) / PAGE - 1;
}

static int test_tables(struct hal_cpu *c)
{
    struct vm_space s;
    hal_paddr_t w;
    int rc = space(c, &s, &w);
    if (rc)
        return rc;
    KTEST_CHECK(frames_used(c, &s) == 2); /* root and mailbox */
    const uint64_t va = 0x40201000;
    KTEST_CHECK(vm_map(c, &s, va, 0x9000, 0, RWAD) == HAL_OK);
    KTEST_CHECK(frames_used(c, &s) == 5); /* three tables below the root */
    KTEST_CHECK(vm_map(c, &s, va + PAGE, 0xa000, 0, HAL_PTE_R | HAL_PTE_A) == HAL_OK);
    KTEST_CHECK(frames_used(c, &s) == 5); /* same last-level table */
    uint64_t pte = 0;
    unsigned level = 9;
    KTEST_CHECK(vm_lookup(c, &s, va + 0x123, &pte, &level) == HAL_OK);
    KTEST_CHECK(level == 0 && (pte >> HAL_PTE_PPN_SHIFT << HAL_PAGE_SHIFT) == 0x9000);
    KTEST_CHECK((pte & RWAD) == RWAD && (pte & HAL_PTE_V));
    /* the table really is Sv48: the root's entry 0 points to the next table */
    uint64_t root0 = 0;
    KTEST_CHECK(hal_load(c, s.root, 8, &root0) == HAL_OK);
    KTEST_CHECK((root0 & HAL_PTE_V) && !(root0 & (HAL_PTE_R | HAL_PTE_W | HAL_PTE_X)));
    KTEST_CHECK(vm_map(c, &s, va, 0xb000, 0, RWAD) == VM_EEXIST);
    KTEST_CHECK(vm_map(c, &s, va + 8, 0xb000, 0, RWAD) == HAL_EINVAL);       /* misaligned */
    KTEST_CHECK(vm_map(c, &s, va, 0xb000, 0, HAL_PTE_W | HAL_PTE_A) == HAL_EINVAL); /* W, no R */
    KTEST_CHECK(vm_map(c, &s, 0x40200000, 0x200000, 1, RWAD) == VM_EEXIST); /* a table is there */
    KTEST_CHECK(vm_remap(c, &s, va, 0xc000, &pte) == HAL_OK);
    KTEST_CHECK((pte >> HAL_PTE_PPN_SHIFT << HAL_PAGE_SHIFT) == 0x9000);
    KTEST_CHECK(vm_unmap(c, &s, va, &pte) == HAL_OK);
    KTEST_CHECK((pte >> HAL_PTE_PPN_SHIFT << HAL_PAGE_SHIFT) == 0xc000);
    KTEST_CHECK(vm_lookup(c, &s, va, &pte, &level) == VM_ENOENT);
    KTEST_CHECK(vm_unmap(c, &s, va, 0) == VM_ENOENT);
    KTEST_CHECK(vm_lookup(c, &s, 0x7000000000ull, &pte, &level) == VM_ENOENT);
    return KTEST_OK;
}

/* vm_fault_demand plus a record of the last fault. */
struct seen {
    struct vm_demand d;
    uint64_t va;
    unsigned access, n;
};

static int record(struct hal_cpu *c, const struct vm_space *s, uint64_t va, unsigned access)
{
    struct seen *x = s->arg;
    x->va = va;
    x->access = access;
    x->n++;
    return vm_fault_demand(c, s, va, access);
}

static int test_translate(struct hal_cpu *c)
{
    struct vm_space s;
    hal_paddr_t w;
    int rc = mmu_space(c, &s, &w);
    if (rc)
        return rc;
    uint64_t v = 0;
    struct seen x = {{0x100000000ull, 0x100000000ull + 4 * PAGE, RWAD, 0}, 0, 0, 0};
    s.fault = record;
    s.arg = &x;
    hal_paddr_t frame = 0;
    KTEST_CHECK(vm_frame_alloc(c, &s.frames, &frame) == HAL_OK);
    KTEST_CHECK(vm_map(c, &s, 0x40000000, frame, 0, RWAD) == HAL_OK);
    KTEST_CHECK(vm_map(c, &s, 0x40001000, frame, 0, HAL_PTE_R | HAL_PTE_A) == HAL_OK);
    KTEST_CHECK(vm_activate(c, &s) == HAL_OK);
    KTEST_CHECK(hal_mmu_context(c) == &s);
    /* a store through the mapping lands in the frame */
    KTEST_CHECK(hal_vstore(c, 0x40000018, 8, 0x1122334455667788ull) == HAL_OK);
    KTEST_CHECK(hal_load(c, frame + 0x18, 8, &v) == HAL_OK && v == 0x1122334455667788ull);
    KTEST_CHECK(hal_vload(c, 0x4000001c, 4, &v) == HAL_OK && v == 0x11223344u);
    uint64_t old = 0;
    KTEST_CHECK(hal_vatomic(c, HAL_ATOMIC_FAA, 0x40000018, 8, 1, 0, &old) == HAL_OK);
    KTEST_CHECK(old == 0x1122334455667788ull);
    /* the read-only alias reads the same frame; a store there faults as a write */
    KTEST_CHECK(hal_vload(c, 0x40001018, 8, &v) == HAL_OK && v == 0x1122334455667789ull);
    KTEST_CHECK(x.n == 0);
    KTEST_CHECK(hal_vstore(c, 0x40001018, 8, 0) == HAL_EFAULT);
    KTEST_CHECK(x.n == 1 && x.va == 0x40001018 && x.access == HAL_ACC_WRITE);
    /* nothing mapped, outside the demand range: one fault, then EFAULT */
    unsigned before = x.n;
    KTEST_CHECK(hal_vload(c, 0x50000000, 8, &v) == HAL_EFAULT);
    KTEST_CHECK(x.n == before + 1 && x.access == HAL_ACC_READ);
    /* demand-zero: the first touch of each page faults once, then maps */
    before = x.n;
    KTEST_CHECK(hal_vload(c, 0x100000010ull, 8, &v) == HAL_OK && v == 0);
    KTEST_CHECK(hal_vstore(c, 0x100000010ull, 8, 42) == HAL_OK);
    KTEST_CHECK(hal_vload(c, 0x100000010ull, 8, &v) == HAL_OK && v == 42);
    KTEST_CHECK(hal_vstore(c, 0x100001000ull, 8, 7) == HAL_OK);
    KTEST_CHECK(x.n == before + 2);
    KTEST_CHECK(vm_deactivate(c, &s) == HAL_OK);
    KTEST_CHECK(hal_mmu_context(c) == 0);
    /* translation off: virtual is physical */
    KTEST_CHECK(hal_vload(c, frame + 0x18, 8, &v) == HAL_OK && v == 0x1122334455667789ull);
    return KTEST_OK;
}

static int test_tlb_keeps_until_flush(struct hal_cpu *c)
{
    struct vm_space s;
    hal_paddr_t w;
    int rc = mmu_space(c, &s, &w);
    if (rc)
        return rc;
    uint64_t v = 0;
    hal_paddr_t a = 0, b = 0;
    KTEST_CHECK(vm_frame_alloc(c, &s.frames, &a) == HAL_OK);
    KTEST_CHECK(vm_frame_alloc(c, &s.frames, &b) == HAL_OK);
    KTEST_CHECK(hal_store(c, a, 8, 0xaaaa) == HAL_OK && hal_store(c, b, 8, 0xbbbb) == HAL_OK);
    KTEST_CHECK(vm_map(c, &s, 0x40000000, a, 0, RWAD) == HAL_OK);
    KTEST_CHECK(vm_activate(c, &s) == HAL_OK);
    KTEST_CHECK(hal_vload(c, 0x40000000, 8, &v) == HAL_OK && v == 0xaaaa); /* now cached */
    KTEST_CHECK(vm_remap(c, &s, 0x40000000, b, 0) == HAL_OK);
    /* the simulated TLB holds the old translation until flushed */
    KTEST_CHECK(hal_vload(c, 0x40000000, 8, &v) == HAL_OK && v == 0xaaaa);
    KTEST_CHECK(hal_tlb_flush(c, 0x40000000, PAGE) == HAL_OK);
    KTEST_CHECK(hal_vload(c, 0x40000000, 8, &v) == HAL_OK && v == 0xbbbb);
    /* a shootdown with only this CPU in the space flushes locally */
    KTEST_CHECK(vm_remap(c, &s, 0x40000000, a, 0) == HAL_OK);
    KTEST_CHECK(vm_shootdown(c, &s, 0x40000000, PAGE) == 0);
    KTEST_CHECK(hal_vload(c, 0x40000000, 8, &v) == HAL_OK && v == 0xaaaa);
    KTEST_CHECK(vm_deactivate(c, &s) == HAL_OK);
    return KTEST_OK;
}

static int test_superpage(struct hal_cpu *c)
{
    struct vm_space s;
    hal_paddr_t w;
    int rc = mmu_space(c, &s, &w);
    if (rc)
        return rc;
    uint64_t v = 0;
    hal_paddr_t big;
    if ((rc = big_frame(c, w, &big)))
        return rc;
    KTEST_CHECK(vm_map(c, &s, 0x80000000, big, 1, RWAD) == HAL_OK);
    KTEST_CHECK(vm_map(c, &s, 0x80001000, big, 0, RWAD) == VM_EEXIST); /* inside it */
    KTEST_CHECK(vm_activate(c, &s) == HAL_OK);
    KTEST_CHECK(hal_vstore(c, 0x80123458, 8, 77) == HAL_OK);
    KTEST_CHECK(hal_load(c, big + 0x123458, 8, &v) == HAL_OK && v == 77);
    KTEST_CHECK(vm_deactivate(c, &s) == HAL_OK);
    return KTEST_OK;
}

const struct ktest mm_ktests[] = {
    {"tables", test_tables},
    {"translate", test_translate},
    {"tlb_keeps_until_flush", test_tlb_keeps_until_flush},
    {"superpage", test_superpage},
    {0, 0},
};
