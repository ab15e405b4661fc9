/* memmap: a physical memory map — which target (a DRAM controller, a CXL
 * device, a switch port) serves each physical address. Not a component: a
 * library that machine builders and routing components (cxl_switch) use to
 * validate a layout once and then look addresses up in O(log n).
 *
 * A map is a set of ranges [base, base + size). A range either belongs to
 * one target or is interleaved across K targets at a granule: address a of
 * the range goes to aTarget[((a - base) / granule) % K]. Ranges must not
 * overlap; overlaps are found by memmap_finalize and reported naming both
 * ranges (and where each was declared, when the caller gave marks).
 *
 * Invariants after a successful memmap_finalize (memmap_check asserts them):
 *   1. aRange is sorted by base (ties cannot happen: they would overlap);
 *   2. every range has size > 0 and base + size does not wrap;
 *   3. aRange[i].base + aRange[i].size <= aRange[i + 1].base;
 *   4. an interleaved range's size is a multiple of granule * nWay.
 *
 * Lifecycle: memmap_init -> memmap_add / memmap_interleave (any order) ->
 * memmap_finalize (sorts, checks overlaps) -> memmap_find / memmap_resolve.
 * Adding after finalize un-finalizes the map until the next finalize. */
#ifndef ORRERY_HW_MEM_MEMMAP_H
#define ORRERY_HW_MEM_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/config.h"
#include "orrery/diag.h"
#include "orrery/params.h"

#define MEMMAP_MAX_WAYS 64u

struct memmap_range {
    uint64_t base, size;
    uint64_t granule;      /* interleave granule in bytes; 0 when nWay == 1 */
    unsigned nWay;         /* 1: a plain range; K > 1: interleaved */
    unsigned aTarget[MEMMAP_MAX_WAYS];
    char *name;            /* owned copy; never NULL ("" when not given) */
    struct orr_mark mark;  /* where it was declared; file may be NULL */
    size_t order;          /* insertion number, for stable reporting */
};

struct memmap {
    struct memmap_range *aRange;
    size_t nRange, nAlloc;
    bool finalized;
};

/* Two ranges that overlap, as indices into aRange after sorting: a starts
 * first (or at the same base and was added first). */
struct memmap_overlap {
    const struct memmap_range *a, *b;
};

void memmap_init(struct memmap *m);
void memmap_free(struct memmap *m);

/* Add [base, base + size) served by target. name may be NULL; mark may be
 * NULL. Returns 0, or ORR_EINVAL when size is 0 or the range wraps past
 * 2^64, ORR_ENOMEM. */
int memmap_add(struct memmap *m, uint64_t base, uint64_t size, unsigned target,
               const char *name, const struct orr_mark *mark);

/* Add [base, base + size) interleaved across nTarget targets (1..64, a
 * target may not repeat) every granule bytes (a power of two, >= 64).
 * size must be a multiple of granule * nTarget. Returns 0 or ORR_EINVAL /
 * ORR_ENOMEM. */
int memmap_interleave(struct memmap *m, uint64_t base, uint64_t size, const unsigned *aTarget,
                      unsigned nTarget, uint64_t granule, const char *name,
                      const struct orr_mark *mark);

/* Sort and check for overlaps. Returns 0, or ORR_ESCHEMA when two ranges
 * overlap: if ov is not NULL it receives the first overlapping pair in
 * address order. O(n log n). */
int memmap_finalize(struct memmap *m, struct memmap_overlap *ov);

/* Sort and report every overlap into d (one message per range that starts
 * inside an earlier one, at the later range's mark), e.g.
 *   x.yaml:9:5: error: machine.memory: range 'cxl0' [0x100000000, 0x140000000)
 *   overlaps 'dram0' [0x0, 0x200000000) declared at x.yaml:4:5
 * Returns 0 or ORR_ESCHEMA. */
int memmap_finalize_diag(struct memmap *m, struct orr_diag *d, const char *keypath);

/* The range holding addr, or NULL. The map must be finalized. O(log n). */
const struct memmap_range *memmap_find(const struct memmap *m, uint64_t addr);

/* Resolve addr to its target and its offset in that target's own address
 * space (for an interleaved range the K targets each see a dense space of
 * size / K bytes). Returns false when no range holds addr. */
bool memmap_resolve(const struct memmap *m, uint64_t addr, unsigned *target, uint64_t *offset);

/* Check the invariants listed above (for asserts and tests). */
bool memmap_check(const struct memmap *m);

/* A component's `ranges:` key, shared by the switches that route by
 * address (cxl_switch, pcie_switch): one entry, a list of {port, base,
 * size, name} (memmap_range_params) mapping address ranges to downstream
 * ports 0..nPort-1. memmap_read_ranges fills m (already initialised) from
 * p's `ranges` and finalizes it; every problem — a port out of range,
 * overlapping ranges — goes to d at its position under KEYPATH.ranges.N.
 * Returns 0 or ORR_ESCHEMA. */
extern const struct orr_param memmap_range_params[];
extern const struct orr_param memmap_ranges_key[];
int memmap_read_ranges(struct memmap *m, const struct orr_params *p, unsigned nPort,
                       const char *keypath, struct orr_diag *d);

/* Render "[0xBASE, 0xEND)" for messages; always NUL-terminates. */
void memmap_format_range(const struct memmap_range *r, char *buf, size_t n);

#endif
