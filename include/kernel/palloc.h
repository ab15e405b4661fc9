/* The reference kernel's page and object allocators (kernel/mm): a buddy
 * page allocator per NUMA node with per-CPU page lists, NUMA allocation
 * policy, slab caches, and the mm_check checker. docs/mm.md.
 *
 * Shared and private data. Every word more than one CPU may touch lives in
 * physical memory and is reached only through the HAL's shared accessors,
 * so what an allocation costs is what the caches make it cost: a zone's
 * lock, its free-list heads and counters (the zone header), one page
 * descriptor per page, and the per-CPU page lists. A per-CPU list sits in
 * lines of its own that only its CPU writes (mm_check reads them at
 * quiescence), so a CPU working from its list keeps them in its cache and
 * takes no coherence miss. `struct mm` is an immutable handle every CPU
 * computes for itself (mm_layout); `struct mm_cpu` is a CPU's private state.
 *
 * A zone (one per NUMA node) over [base, base + npages * 4 KiB):
 *
 *     page 0                    header: line 0 the zone lock (a ticket
 *                               lock), line 1 counters (free pages,
 *                               ready, pressure events, min refusals,
 *                               under-pressure flag), lines 2-3 the
 *                               free-list heads of orders 0..MM_MAX_ORDER,
 *                               line 4 a word for the zone's users
 *     pages 1..                 per-CPU page lists, MM_PCP_BYTES each
 *     then                      page descriptors, 16 bytes per page
 *     pages first..npages-1     managed pages
 *
 * A descriptor is {state, links}: state = order | kind << 8 | cpu << 16,
 * links = next + 1 | (prev + 1) << 32 (page indices in the zone; 0 none).
 * Kinds: TAIL (inside a block, or a header page), FREE (the head of a free
 * block of 2^order pages, on free list `order`), ALLOC (the head of an
 * allocated block), PCP (an order-0 page on CPU `cpu`'s per-CPU list).
 *
 * Invariants (mm_check):
 *   1. every managed page belongs to exactly one block: FREE, ALLOC or PCP;
 *      blocks are aligned to their size in page-index space and lie inside
 *      the managed range;
 *   2. free list k holds exactly the FREE blocks of order k, each once, with
 *      consistent prev links; no two free buddies of the same order exist
 *      (they would have merged);
 *   3. the counter of free pages equals the pages on the free lists;
 *   4. each per-CPU list holds only PCP pages of its CPU, each once, and the
 *      PCP pages of a CPU are exactly those on its list.
 *
 * Transitions: FREE -> (split) FREE + FREE [zone_take]; FREE -> ALLOC
 * [mm_page_alloc]; FREE -> PCP [pcp refill]; PCP -> ALLOC [pcp alloc];
 * ALLOC -> PCP [pcp free]; PCP -> FREE, ALLOC -> FREE, FREE + FREE ->
 * (merge) FREE [zone_put]. */
#ifndef KERNEL_PALLOC_H
#define KERNEL_PALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/hal.h"

#define MM_MAX_ORDER 10 /* blocks of 2^0 .. 2^10 pages (4 KiB .. 4 MiB) */
#define MM_MAX_NODES 8
#define MM_PCP_MAX 64   /* pages a per-CPU list can hold */
#define MM_PCP_BYTES (64u + 4u * MM_PCP_MAX)
#define MM_LINE 64u

enum mm_alloc_err {
    MM_ENOMEM = -16,  /* no block large enough (same value as VM_ENOMEM) */
    MM_EFREE = -20,   /* freeing what is not an allocated block of that order */
    MM_EPOISON = -21, /* a freed object was written after its free (slab poisoning) */
    MM_ENODE = -22,   /* a policy names a node with no memory */
};

enum mm_page_kind { MM_PG_TAIL = 0, MM_PG_FREE = 1, MM_PG_ALLOC = 2, MM_PG_PCP = 3 };

struct mm_zone {
    hal_paddr_t base;         /* page 0: the header */
    hal_paddr_t pcp, desc;    /* per-CPU lists, descriptors */
    uint32_t npages, first;   /* pages in all, first managed page */
    unsigned node;
};

/* The allocator's configuration: the same on every CPU. */
struct mm_config {
    bool pcp;            /* per-CPU page lists for order-0 pages */
    unsigned batch;      /* pages a per-CPU list takes from (gives back to) the zone at once */
    unsigned high;       /* a per-CPU list above this many pages gives `batch` back */
    bool hardened;       /* slab poisoning: freed objects are filled and checked at allocation */
    uint32_t fail_every; /* fault point: every Nth allocation on a CPU fails (0: never) */
    /* Zone watermarks in pages (all 0: none; else min <= low <= high). An
     * allocation that would leave a zone below `min` free pages is refused
     * there (a policy then falls back to the next node); falling below
     * `low` is a pressure event (counted once until the zone is back above
     * `high`, the hysteresis of Linux's kswapd wake-up and sleep). */
    uint32_t wmark_min, wmark_low, wmark_high;
};

struct mm {
    unsigned nzones, ncpu;
    struct mm_zone zone[MM_MAX_NODES];
    uint8_t dist[MM_MAX_NODES][MM_MAX_NODES]; /* SLIT distances, 10 on the diagonal */
    struct mm_config cfg;
};

/* A CPU's private allocator state. */
struct mm_cpu {
    unsigned cpu, node;       /* this CPU and its NUMA node */
    unsigned interleave;      /* the last node interleave chose */
    uint32_t nalloc;          /* allocations so far (the fault point's count) */
    uint32_t injected;        /* allocation failures the fault point injected */
};

/* Memory of one node the allocator may manage. */
struct mm_node_mem {
    hal_paddr_t base; /* 4 KiB-aligned */
    uint64_t size;
};

/* The handle for nodes[0..n) (n <= MM_MAX_NODES; a node with size 0 has
 * no zone), distance matrix dist (n x n, row-major; NULL: 10 local, 20
 * remote) and ncpu CPUs. Pure computation: every CPU may call it and gets
 * the same handle. HAL_EINVAL for a misaligned node or one too small for
 * its own metadata. */
int mm_layout(struct mm *m, const struct mm_node_mem *nodes, unsigned n, const uint8_t *dist,
              unsigned ncpu, const struct mm_config *cfg);
/* mm_layout over the HAL's memory map (hal_mem_node, hal_numa_distance);
 * HAL_ENOTSUP when the platform gives no node memory. */
int mm_layout_hal(struct hal_cpu *c, struct mm *m, const struct mm_config *cfg);
/* One CPU: write every zone's header, descriptors and free lists (all
 * managed pages free), then set each zone's ready word. */
int mm_boot(struct hal_cpu *c, const struct mm *m);
/* Spin until mm_boot has finished on another CPU. */
void mm_wait_ready(struct hal_cpu *c, const struct mm *m);
void mm_cpu_init(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc);

/* A block of 2^order pages from node `node` (order-0 pages through the
 * per-CPU list when cfg.pcp), its physical address in *pa. MM_ENOMEM when
 * the node has no such block (or the fault point fired); HAL_EINVAL for a
 * bad node or order. */
int mm_page_alloc(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc, unsigned node,
                  unsigned order, hal_paddr_t *pa);
/* Give back a block mm_page_alloc returned, with its order. MM_EFREE if pa
 * is not the head of an allocated block of that order (a double free, a
 * wrong order): nothing is changed. */
int mm_page_free(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc, hal_paddr_t pa,
                 unsigned order);
/* Empty this CPU's per-CPU lists back into the zones. */
void mm_pcp_drain(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc);
/* The node whose zone holds pa, or -1. */
int mm_page_node(const struct mm *m, hal_paddr_t pa);
/* Free pages in node's zone (its buddy lists; per-CPU lists not counted). */
uint64_t mm_zone_free(struct hal_cpu *c, const struct mm *m, unsigned node);
/* Free blocks of each order in node's zone: out[0..MM_MAX_ORDER]. */
void mm_zone_blocks(struct hal_cpu *c, const struct mm *m, unsigned node, uint64_t *out);
/* node's zone: pressure events (falls below the low watermark) and
 * allocations refused at the min watermark, since boot. */
void mm_zone_pressure(struct hal_cpu *c, const struct mm *m, unsigned node, uint64_t *events,
                      uint64_t *refusals);
/* The address of the user word in node's zone header (line 4). */
hal_paddr_t mm_zone_user(const struct mm *m, unsigned node);

/* The checker: invariants 1-4 on every zone, read through the HAL; call it
 * at quiescence (no CPU inside the allocator). 0, or a failure code (the
 * source line of the broken check). */
int mm_check(struct hal_cpu *c, const struct mm *m);

/* --- NUMA policy ----------------------------------------------------------
 * local: this CPU's node first; preferred: `node` first; bind: only the
 * nodes in `mask`, the nearest to this CPU first; interleave: the nodes in
 * `mask` in turn, one allocation each. When the first node has no block,
 * the others are tried in order of distance from it (ties: lower node
 * first), only among `mask` for bind and interleave. */
enum mm_policy_mode { MM_POL_LOCAL = 0, MM_POL_PREFERRED, MM_POL_BIND, MM_POL_INTERLEAVE };
struct mm_policy {
    enum mm_policy_mode mode;
    unsigned node;  /* preferred */
    uint32_t mask;  /* bind, interleave: bit n = node n */
};
/* HAL_OK, or MM_ENODE for a policy naming a node without a zone. */
int mm_policy_check(const struct mm *m, const struct mm_policy *pol);
/* Allocate by policy; *node (may be NULL) gets the node that gave it. */
int mm_alloc_policy(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                    const struct mm_policy *pol, unsigned order, hal_paddr_t *pa,
                    unsigned *node);
/* The nodes the policy would try, in order, for this CPU's next
 * allocation (without advancing interleave): count in the return value. */
unsigned mm_policy_order(const struct mm *m, const struct mm_cpu *pc, const struct mm_policy *pol,
                         unsigned *out);

/* --- slab caches -------------------------------------------------------------
 * A cache hands out objects of `size` bytes (8..1024, rounded up to 8) cut
 * from order-0 slabs of its node. Each slab page starts with a 64-byte
 * header {free list head, objects out, next slab, prev slab, the cache's
 * control address}; its objects follow. A free object's first word links
 * the slab's free list. Slabs with free objects are on the cache's partial
 * list, slabs with none on its full list; a slab whose objects all came
 * back goes back to the buddy. Each CPU has an array of up to
 * MM_SLAB_CPU_MAX objects (in lines only it writes) it allocates from and
 * frees to; it refills `batch` objects from the partial slabs, and gives
 * `batch` back when it holds more than `limit`.
 * Constructors run on each object when its slab is made (Linux's rule: an
 * object is handed back in its constructed state). In the hardened profile
 * (cfg.hardened) a freed object is filled with MM_POISON past its link word
 * and checked at allocation (MM_EPOISON: someone wrote it after its free),
 * after which the constructor runs again, since poison overwrote it. */
#define MM_SLAB_CPU_MAX 32
#define MM_SLAB_CPU_BYTES (64u + 8u * MM_SLAB_CPU_MAX)
#define MM_POISON 0x6b6b6b6b6b6b6b6bull
typedef void mm_ctor_fn(struct hal_cpu *c, hal_paddr_t obj, void *arg);
struct mm_slab_cache {
    hal_paddr_t ctl;      /* line 0 the lock; line 1 partial, full, slabs, objects out; per-CPU arrays */
    uint32_t size, per_slab;
    unsigned node, ctl_order, batch, limit;
    mm_ctor_fn *ctor;     /* may be NULL */
    void *arg;
};
/* One CPU creates the cache (its control block comes from node's zone);
 * the others copy the struct. */
int mm_slab_create(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                   struct mm_slab_cache *sc, uint32_t size, unsigned node, mm_ctor_fn *ctor,
                   void *arg);
int mm_slab_alloc(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                  const struct mm_slab_cache *sc, hal_paddr_t *obj);
/* MM_EFREE for an address that is not an object of this cache. */
int mm_slab_free(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                 const struct mm_slab_cache *sc, hal_paddr_t obj);
/* Give this CPU's array back to the slabs. */
void mm_slab_drain(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                   const struct mm_slab_cache *sc);
/* The slab invariants at quiescence: partial slabs have free objects, full
 * ones none; a slab's free list has per_slab - out objects, each inside
 * the slab on the object grid, once; every slab page is an allocated
 * order-0 block; `out` objects are held by callers and CPU arrays (caller
 * passes how many callers hold). 0 or a failure code. */
int mm_slab_check(struct hal_cpu *c, const struct mm *m, const struct mm_slab_cache *sc,
                  uint64_t held);

/* --- the allocation-churn benchmark ------------------------------------------
 * Every CPU of a run calls it with the same cfg (docs/mm.md). CPU 0 boots
 * the allocator; each of the first `cpus` CPUs then runs `iterations`
 * steps of a seeded mix: allocate a page (order 0, or up to max_order one
 * step in eight) by policy, or free one it holds (at most 64 held), and
 * with `objects` also allocate or free a slab object of a shared cache.
 * After the end barrier CPU 0 runs mm_check and mm_slab_check and reports
 * mm.allocs, mm.frees, mm.alloc_failures, mm.injected_failures,
 * mm.elapsed_ns, mm.alloc_ns (mean simulated ns per page allocation),
 * mm.free_ns, mm.remote_allocs (pages from another node than the
 * CPU's), mm.node<N>.allocs, mm.free_pages, mm.fragmentation (permille of
 * free pages not in blocks of the largest order present... see docs),
 * mm.check (0 = consistent). With double_free every CPU frees its first
 * page twice through the zone, bypassing the guard (a planted bug the
 * checker must catch). Returns 0, or a failure code. */
struct mm_bench_cfg {
    unsigned cpus, iterations, max_order;
    bool objects;
    uint32_t object_size;
    struct mm_policy policy;
};
int mm_bench(struct hal_cpu *c, const struct mm *m, const struct mm_bench_cfg *cfg);

#endif
