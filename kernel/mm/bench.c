/* The shootdown benchmark (include/kernel/mm.h, vm_bench). Figures come
 * from simulated time and the machine's caches and TLBs; the kernel only
 * counts.
 *
 * Region layout: frame 0 holds the control lines (64 bytes each):
 *   0 the barrier (a count that only grows: barrier k waits for k * cpus),
 *   1 the space as CPU 0 publishes it: root, mailbox, ready flag,
 *   2 stale reads, 3 page faults served, 4 the sum of shootdown times (ns);
 * the frames after it are the space's frame allocator. Data pages sit at
 * VA_DATA; CPU i's demand-zero range at VA_DEMAND + i * 1 GiB. A page's
 * first word is its tag: page number << 32 | generation (the round that
 * last remapped it). */
#include "kernel/mm.h"

#define PAGE HAL_PAGE_SIZE
#define LINE 64u
#define VA_DATA 0x40000000ull
#define VA_DEMAND 0x8000000000ull
#define RWAD (HAL_PTE_R | HAL_PTE_W | HAL_PTE_A | HAL_PTE_D)

static uint64_t tag(unsigned page, unsigned gen) { return (uint64_t)page << 32 | gen; }

static uint64_t load8(struct hal_cpu *c, hal_paddr_t pa)
{
    uint64_t v = 0;
    if (hal_load(c, pa, 8, &v) != HAL_OK)
        hal_panic(c, "vm_bench: region not in memory");
    return v;
}

static void store8(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (hal_store(c, pa, 8, v) != HAL_OK)
        hal_panic(c, "vm_bench: region not in memory");
}

static void add8(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (hal_atomic(c, HAL_ATOMIC_FAA, pa, 8, v, 0, 0) != HAL_OK)
        hal_panic(c, "vm_bench: region not in memory");
}

static void barrier(struct hal_cpu *c, hal_paddr_t at, unsigned cpus, uint64_t *k)
{
    add8(c, at, 1);
    ++*k;
    while (load8(c, at) < *k * cpus)
        hal_relax(c);
}

static uint64_t vread(struct hal_cpu *c, uint64_t va)
{
    uint64_t v = 0;
    if (hal_vload(c, va, 8, &v) != HAL_OK)
        hal_panic(c, "vm_bench: a mapped page faulted");
    return v;
}

/* CPU 0: the space, its data pages, the published handle. */
static int setup(struct hal_cpu *c, const struct vm_bench_cfg *cfg, struct vm_space *s)
{
    hal_paddr_t ctl = cfg->region, pub = ctl + 1 * LINE;
    uint64_t bytes = VM_BENCH_BYTES(hal_cpu_count(c), cfg->pages, cfg->rounds, cfg->demand);
    struct vm_frames f;
    int rc = vm_frames_init(c, &f, ctl + PAGE, bytes - PAGE);
    if (!rc)
        rc = vm_space_init(c, s, &f);
    for (unsigned i = 0; !rc && i < cfg->pages; i++) {
        hal_paddr_t frame;
        if (!(rc = vm_frame_alloc(c, &s->frames, &frame))) {
            store8(c, frame, tag(i, 0));
            rc = vm_map(c, s, VA_DATA + (uint64_t)i * PAGE, frame, 0, RWAD);
        }
    }
    if (rc)
        return rc;
    if (cfg->skip_flush)
        store8(c, s->shoot + 64 + 16, 1); /* the mailbox's debug word (vm.c) */
    store8(c, pub, s->root);
    store8(c, pub + 8, s->shoot);
    store8(c, pub + 16, 1);
    return HAL_OK;
}

int vm_bench(struct hal_cpu *c, const struct vm_bench_cfg *cfg)
{
    unsigned id = hal_cpu_id(c), n = cfg->cpus;
    if (id >= n)
        return 0;
    hal_paddr_t ctl = cfg->region, bar = ctl, pub = ctl + LINE, stale = ctl + 2 * LINE,
                faults = ctl + 3 * LINE, sum = ctl + 4 * LINE;
    uint64_t k = 0;
    struct vm_space s;
    if (id == 0) {
        if (setup(c, cfg, &s))
            hal_panic(c, "vm_bench: the region is too small for the space");
    } else {
        while (load8(c, pub + 16) == 0)
            hal_relax(c);
        uint64_t bytes = VM_BENCH_BYTES(hal_cpu_count(c), cfg->pages, cfg->rounds, cfg->demand);
        s = (struct vm_space){load8(c, pub), load8(c, pub + 8),
                              {ctl + PAGE, ctl + bytes, 0}, 0, 0};
    }
    struct vm_demand d = {VA_DEMAND + (uint64_t)id * (1ull << 30),
                          VA_DEMAND + (uint64_t)id * (1ull << 30) + (uint64_t)cfg->demand * PAGE,
                          RWAD, faults};
    s.fault = vm_fault_demand;
    s.arg = &d;
    if (vm_activate(c, &s))
        hal_panic(c, "vm_bench: no MMU on this CPU");
    barrier(c, bar, n, &k);
    for (unsigned r = 0; r < cfg->rounds; r++) {
        for (unsigned i = 0; i < cfg->pages; i++)
            if (vread(c, VA_DATA + (uint64_t)i * PAGE) >> 32 != i)
                hal_panic(c, "vm_bench: a page translated to another page's frame");
        barrier(c, bar, n, &k);
        unsigned p = r % cfg->pages;
        uint64_t va = VA_DATA + (uint64_t)p * PAGE;
        if (id == 0) {
            hal_paddr_t frame;
            if (vm_frame_alloc(c, &s.frames, &frame))
                hal_panic(c, "vm_bench: out of frames");
            store8(c, frame, tag(p, r + 1));
            if (vm_remap(c, &s, va, frame, 0))
                hal_panic(c, "vm_bench: remap failed");
            hal_ns_t t0 = hal_now(c);
            if (vm_shootdown(c, &s, va, PAGE) < 0)
                hal_panic(c, "vm_bench: shootdown failed");
            add8(c, sum, hal_now(c) - t0);
        }
        barrier(c, bar, n, &k);
        if (vread(c, va) != tag(p, r + 1))
            add8(c, stale, 1); /* invariant 2 broken: an old translation survived */
    }
    for (unsigned j = 0; j < cfg->demand; j++) {
        uint64_t va = d.lo + (uint64_t)j * PAGE, v = 0;
        if (hal_vstore(c, va + 8, 8, va) != HAL_OK || hal_vload(c, va + 8, 8, &v) != HAL_OK ||
            v != va)
            hal_panic(c, "vm_bench: a demand-zero page did not map");
    }
    barrier(c, bar, n, &k);
    vm_deactivate(c, &s);
    if (id != 0)
        return 0;
    uint64_t nstale = load8(c, stale), nfault = load8(c, faults);
    hal_report(c, "vm.shootdowns", cfg->rounds);
    hal_report(c, "vm.shootdown_ns", cfg->rounds ? load8(c, sum) / cfg->rounds : 0);
    hal_report(c, "vm.stale_reads", nstale);
    hal_report(c, "vm.faults", nfault);
    if (nstale)
        return __LINE__;
    if (nfault != (uint64_t)n * cfg->demand)
        return __LINE__;
    return 0;
}
