/* A core's MMU: a set-associative TLB and a page-table walker for the
 * kernel's tables (the RISC-V Sv48 format, include/kernel/hal.h "virtual
 * memory"). Pure data structures, no engine: the core that owns an MMU
 * gives the walker a function that loads one PTE (through its caches, so a
 * walk costs what the hierarchy makes it cost) and charges the time.
 *
 * TLB. `sets` x `ways` entries (sets a power of two), LRU within a set. An
 * entry maps one page of any size the format allows (4 KiB, 2 MiB, 1 GiB):
 * it is placed in the set its virtual page number at that size selects, so
 * a lookup probes one set per page size. Entries carry the leaf PTE, so a
 * hit checks permissions as the walk would. Nothing is cached but leaves
 * (no page-walk caches).
 *
 * Invariants (mmu_tlb_check):
 *   1. every valid entry's level is 0..2 and it sits in the set its VPN at
 *      that level selects;
 *   2. no two valid entries of one set translate the same page;
 *   3. every valid entry's PTE is a valid leaf (V and one of R/X). */
#ifndef ORRERY_HW_MMU_H
#define ORRERY_HW_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/hal.h"

struct mmu_tlb_entry {
    uint64_t vpn;   /* va >> (12 + 9 * level) */
    uint64_t pte;   /* the leaf */
    uint64_t lru;   /* last use: larger is more recent */
    uint8_t level;  /* 0: 4 KiB, 1: 2 MiB, 2: 1 GiB */
    bool valid;
};

struct mmu_tlb {
    unsigned sets, ways;
    struct mmu_tlb_entry *a; /* sets * ways, set-major */
    uint64_t clock;
};

/* 0, or -1 when sets is not a power of two or an argument is 0 (or the
 * allocation failed: *oom set). */
int mmu_tlb_init(struct mmu_tlb *t, unsigned sets, unsigned ways, bool *oom);
void mmu_tlb_free(struct mmu_tlb *t);

/* The entry translating va, or NULL. */
struct mmu_tlb_entry *mmu_tlb_lookup(struct mmu_tlb *t, uint64_t va);
/* Insert the leaf `pte` found at `level` for va, evicting the set's LRU
 * entry when full. */
void mmu_tlb_insert(struct mmu_tlb *t, uint64_t va, uint64_t pte, unsigned level);
/* Drop every entry overlapping [va, va + len); len 0: every entry.
 * Returns how many were dropped. */
unsigned mmu_tlb_flush(struct mmu_tlb *t, uint64_t va, uint64_t len);
/* 0, or the number (1-3) of the first invariant broken. */
int mmu_tlb_check(const struct mmu_tlb *t);

/* The walker. load(arg, pa, &pte) reads 8 bytes of physical memory
 * (HAL_OK or a negative HAL_E*). */
typedef int mmu_load_fn(void *arg, hal_paddr_t pa, uint64_t *pte);

enum mmu_result {
    MMU_OK = 0,       /* *pa, *pte, *level filled */
    MMU_FAULT = 1,    /* a page fault: no valid leaf, or the access is not allowed */
    MMU_BUS = 2,      /* a PTE load failed (a table outside memory) */
};

/* Walk the tables at root for va and access (enum hal_access). Faults on:
 * a non-canonical va (bits 63..47 not all equal), an invalid PTE, W
 * without R, a leaf at level 3, a misaligned superpage, A clear, or a
 * write to a page with W or D clear, a fetch from one without X; a read
 * needs R. *nload counts the PTE loads made (may be NULL). */
enum mmu_result mmu_walk(hal_paddr_t root, uint64_t va, unsigned access, mmu_load_fn *load,
                         void *arg, hal_paddr_t *pa, uint64_t *pte, unsigned *level,
                         unsigned *nload);

/* Whether a leaf PTE allows `access` (the same rules as the walk's). */
bool mmu_pte_allows(uint64_t pte, unsigned access);
/* The physical address va translates to through leaf pte at level. */
hal_paddr_t mmu_pte_pa(uint64_t pte, unsigned level, uint64_t va);

#endif
