/* A core's TLB and page-table walker (include/hw/mmu.h): the Sv48 format
 * of include/kernel/hal.h, walked through a load function the core gives. */
#include "hw/mmu.h"

#include <stdlib.h>

#define PTE_RWX (HAL_PTE_R | HAL_PTE_W | HAL_PTE_X)
#define VA_BITS 48

static unsigned page_shift(unsigned level) { return HAL_PAGE_SHIFT + 9 * level; }

int mmu_tlb_init(struct mmu_tlb *t, unsigned sets, unsigned ways, bool *oom)
{
    *t = (struct mmu_tlb){0};
    *oom = false;
    if (!sets || !ways || (sets & (sets - 1)))
        return -1;
    t->a = calloc((size_t)sets * ways, sizeof *t->a);
    if (!t->a) {
        *oom = true;
        return -1;
    }
    t->sets = sets;
    t->ways = ways;
    return 0;
}

void mmu_tlb_free(struct mmu_tlb *t)
{
    free(t->a);
    t->a = NULL;
}

static struct mmu_tlb_entry *set_of(struct mmu_tlb *t, uint64_t vpn)
{
    return t->a + (size_t)(vpn & (t->sets - 1)) * t->ways;
}

struct mmu_tlb_entry *mmu_tlb_lookup(struct mmu_tlb *t, uint64_t va)
{
    for (unsigned level = 0; level < 3; level++) {
        uint64_t vpn = va >> page_shift(level);
        struct mmu_tlb_entry *s = set_of(t, vpn);
        for (unsigned w = 0; w < t->ways; w++)
            if (s[w].valid && s[w].level == level && s[w].vpn == vpn) {
                s[w].lru = ++t->clock;
                return &s[w];
            }
    }
    return NULL;
}

void mmu_tlb_insert(struct mmu_tlb *t, uint64_t va, uint64_t pte, unsigned level)
{
    uint64_t vpn = va >> page_shift(level);
    struct mmu_tlb_entry *s = set_of(t, vpn), *victim = &s[0];
    for (unsigned w = 0; w < t->ways; w++) {
        if (s[w].valid && s[w].level == level && s[w].vpn == vpn) {
            victim = &s[w]; /* a refill of the same page (after a fault fixed it) */
            break;
        }
        if (!s[w].valid) {
            if (victim->valid)
                victim = &s[w];
        } else if (victim->valid && s[w].lru < victim->lru) {
            victim = &s[w];
        }
    }
    *victim = (struct mmu_tlb_entry){vpn, pte, ++t->clock, (uint8_t)level, true};
}

unsigned mmu_tlb_flush(struct mmu_tlb *t, uint64_t va, uint64_t len)
{
    unsigned n = 0;
    for (size_t i = 0; i < (size_t)t->sets * t->ways; i++) {
        struct mmu_tlb_entry *e = &t->a[i];
        if (!e->valid)
            continue;
        uint64_t lo = e->vpn << page_shift(e->level), size = 1ull << page_shift(e->level);
        /* compare in the 48-bit space the VPN came from */
        uint64_t v = va & ((1ull << VA_BITS) - 1);
        if (len == 0 || (v < lo + size && lo < v + len)) {
            e->valid = false;
            n++;
        }
    }
    return n;
}

int mmu_tlb_check(const struct mmu_tlb *t)
{
    for (unsigned s = 0; s < t->sets; s++)
        for (unsigned w = 0; w < t->ways; w++) {
            const struct mmu_tlb_entry *e = &t->a[(size_t)s * t->ways + w];
            if (!e->valid)
                continue;
            if (e->level > 2 || (e->vpn & (t->sets - 1)) != s)
                return 1;
            for (unsigned x = w + 1; x < t->ways; x++) {
                const struct mmu_tlb_entry *f = &t->a[(size_t)s * t->ways + x];
                if (f->valid && f->level == e->level && f->vpn == e->vpn)
                    return 2;
            }
            if (!(e->pte & HAL_PTE_V) || !(e->pte & (HAL_PTE_R | HAL_PTE_X)))
                return 3;
        }
    return 0;
}

bool mmu_pte_allows(uint64_t pte, unsigned access)
{
    if (!(pte & HAL_PTE_A))
        return false;
    if ((access & HAL_ACC_READ) && !(pte & HAL_PTE_R))
        return false;
    if ((access & HAL_ACC_WRITE) && (!(pte & HAL_PTE_W) || !(pte & HAL_PTE_D)))
        return false;
    if ((access & HAL_ACC_EXEC) && !(pte & HAL_PTE_X))
        return false;
    return true;
}

hal_paddr_t mmu_pte_pa(uint64_t pte, unsigned level, uint64_t va)
{
    uint64_t base = (pte >> HAL_PTE_PPN_SHIFT) << HAL_PAGE_SHIFT;
    uint64_t off = va & ((1ull << page_shift(level)) - 1);
    return (base & ~((1ull << page_shift(level)) - 1)) | off;
}

enum mmu_result mmu_walk(hal_paddr_t root, uint64_t va, unsigned access, mmu_load_fn *load,
                         void *arg, hal_paddr_t *pa, uint64_t *pte_out, unsigned *level_out,
                         unsigned *nload)
{
    unsigned loads = 0;
    enum mmu_result r = MMU_FAULT;
    /* canonical: bits 63..47 all equal */
    uint64_t top = va >> (VA_BITS - 1);
    if (top != 0 && top != (UINT64_MAX >> (VA_BITS - 1)))
        goto out;
    hal_paddr_t table = root;
    for (int level = HAL_PT_LEVELS - 1; level >= 0; level--) {
        unsigned idx = (unsigned)(va >> page_shift((unsigned)level)) & (HAL_PT_ENTRIES - 1);
        uint64_t pte = 0;
        loads++;
        if (load(arg, table + 8ull * idx, &pte) != HAL_OK) {
            r = MMU_BUS;
            goto out;
        }
        if (!(pte & HAL_PTE_V) || ((pte & HAL_PTE_W) && !(pte & HAL_PTE_R)))
            goto out;
        if (!(pte & PTE_RWX)) { /* the next level */
            if (level == 0)
                goto out;
            table = (pte >> HAL_PTE_PPN_SHIFT) << HAL_PAGE_SHIFT;
            continue;
        }
        /* a leaf: at most 1 GiB, its frame aligned to its size */
        uint64_t ppn = pte >> HAL_PTE_PPN_SHIFT;
        if (level > 2 || (ppn & ((1ull << (9 * (unsigned)level)) - 1)))
            goto out;
        if (!mmu_pte_allows(pte, access))
            goto out;
        *pa = mmu_pte_pa(pte, (unsigned)level, va);
        *pte_out = pte;
        *level_out = (unsigned)level;
        r = MMU_OK;
        goto out;
    }
out:
    if (nload)
        *nload = loads;
    return r;
}
