/* Virtual memory of the reference kernel (kernel/mm): page tables in
 * physical memory (the Sv48 format of include/kernel/hal.h), address
 * spaces, demand paging through kern_page_fault, and TLB shootdown by IPI.
 * docs/kernel-platform.md, "Virtual memory".
 *
 * Shared and private data. Everything several CPUs change lives in
 * physical memory and is touched only through the HAL's shared accessors:
 * the tables, the frame allocator's cursor, the shootdown mailbox and the
 * mask of CPUs using a space. A struct vm_space is a small handle over
 * them, immutable once vm_space_init (or vm_space_open) filled it; each
 * CPU may hold its own copy.
 *
 * Page frames come from a bump allocator (struct vm_frames: a cursor word
 * in shared memory advanced by fetch-and-add), zeroed when handed out and
 * never returned: the buddy allocator of the memory-management work
 * replaces it.
 *
 * Shootdown. vm_shootdown(s, va, len) takes the space's shootdown lock (a
 * ticket lock in the mailbox), writes the range, sends MM_IPI_SHOOTDOWN to
 * every other CPU in the space's mask, flushes its own TLB and spins until
 * each target acknowledged: a target's vm_ipi reads the range, flushes its
 * TLB and adds 1 to the acknowledgements. The IPI reason carries the
 * mailbox's frame number, so a target finds it whatever space it has
 * active. Call it with interrupts on (a target may be waiting for the lock
 * itself and must still take the IPI).
 *
 * Invariants:
 *   1. a PTE is installed only over an empty one (compare-and-swap), so two
 *      CPUs mapping at once never lose a table or a page;
 *   2. when vm_shootdown returns, no CPU in the mask translates [va, va +
 *      len) through an entry older than the call (vm_bench checks it: each
 *      CPU reads the remapped page after the shootdown and must see the new
 *      frame);
 *   3. the frame cursor never passes the allocator's end.
 */
#ifndef KERNEL_MM_H
#define KERNEL_MM_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/hal.h"

enum vm_err {
    VM_ENOMEM = -16, /* no frames left */
    VM_EEXIST = -17, /* a page is already mapped there */
    VM_ENOENT = -18, /* nothing mapped there */
};

/* kern_ipi reasons MM_IPI_SHOOTDOWN | mailbox frame number (31 bits). */
#define MM_IPI_SHOOTDOWN 0x80000000u
#define MM_IPI_FRAME_MASK 0x7FFFFFFFu
#define MM_MAX_CPUS 256

enum mm_tracepoint {
    MM_TP_FAULT = 0x0300,     /* a = va, b = access (enum hal_access) */
    MM_TP_SHOOTDOWN = 0x0301, /* a = va, b = CPUs that flushed for it */
};

/* The frame allocator: `cursor` is the physical address of a shared 8-byte
 * word holding the next free frame; frames run up to `end`. Or, with `mm`
 * set (vm_frames_init_buddy), frames come from that buddy allocator
 * (include/kernel/palloc.h: this CPU's node first, then by distance). */
struct mm;
struct vm_frames {
    hal_paddr_t cursor, end;
    const struct mm *mm; /* NULL: the bump cursor */
};
/* Frames from the buddy allocator m (booted); no shared word of its own. */
void vm_frames_init_buddy(struct vm_frames *f, const struct mm *m);
/* Set up frames [base, base + size) (4 KiB-aligned), the cursor word
 * being the first 8 bytes of the first frame (which is not handed out).
 * One CPU calls it; the others copy the struct. */
int vm_frames_init(struct hal_cpu *c, struct vm_frames *f, hal_paddr_t base, uint64_t size);
/* A zeroed 4 KiB frame, or VM_ENOMEM. */
int vm_frame_alloc(struct hal_cpu *c, const struct vm_frames *f, hal_paddr_t *pa);

struct vm_space;
/* A fault in space s: return 0 once the tables allow the access. */
typedef int vm_fault_fn(struct hal_cpu *c, const struct vm_space *s, uint64_t va,
                        unsigned access);

struct vm_space {
    hal_paddr_t root;   /* the top table */
    hal_paddr_t shoot;  /* the shootdown mailbox (a frame) */
    struct vm_frames frames;
    vm_fault_fn *fault; /* NULL: every fault fails */
    void *arg;          /* the fault handler's */
};

/* A new, empty space: a root table and a mailbox from frames. */
int vm_space_init(struct hal_cpu *c, struct vm_space *s, const struct vm_frames *frames);

/* Map the page of `level` (0: 4 KiB, 1: 2 MiB) at va to pa with leaf
 * flags (HAL_PTE_R/W/X/A/D...; V is added); tables are allocated as
 * needed. HAL_EINVAL: va or pa not aligned to the page, no R/W/X in flags,
 * W without R; VM_EEXIST: something is mapped there (or a superpage covers
 * it); VM_ENOMEM. */
int vm_map(struct hal_cpu *c, const struct vm_space *s, uint64_t va, hal_paddr_t pa,
           unsigned level, unsigned flags);
/* Clear the leaf translating va; *old (may be NULL) gets it. No TLB is
 * flushed: call vm_shootdown. VM_ENOENT if none. */
int vm_unmap(struct hal_cpu *c, const struct vm_space *s, uint64_t va, uint64_t *old);
/* Point the leaf translating va at pa (same size and flags), returning the
 * old PTE in *old; VM_ENOENT if none. No TLB is flushed. */
int vm_remap(struct hal_cpu *c, const struct vm_space *s, uint64_t va, hal_paddr_t pa,
             uint64_t *old);
/* The leaf translating va and its level, by a software walk; VM_ENOENT. */
int vm_lookup(struct hal_cpu *c, const struct vm_space *s, uint64_t va, uint64_t *pte,
              unsigned *level);

/* This CPU starts (stops) translating through s: it joins (leaves) the
 * space's mask, so shootdowns reach it. */
int vm_activate(struct hal_cpu *c, const struct vm_space *s);
int vm_deactivate(struct hal_cpu *c, const struct vm_space *s);

/* Make every CPU of the space drop its translations of [va, va + len).
 * Returns the number of other CPUs that flushed, or a negative error. */
int vm_shootdown(struct hal_cpu *c, const struct vm_space *s, uint64_t va, uint64_t len);

/* kern_ipi's part: true if reason was a shootdown (now served). */
bool vm_ipi(struct hal_cpu *c, uint32_t reason);

/* A demand-zero region for vm_fault_demand (s->arg): a fault at va in
 * [lo, hi) maps a fresh zeroed 4 KiB frame with `flags`; `faults` is the
 * shared word (a physical address, or 0) counting the faults it served. */
struct vm_demand {
    uint64_t lo, hi;
    unsigned flags;
    hal_paddr_t faults;
};
int vm_fault_demand(struct hal_cpu *c, const struct vm_space *s, uint64_t va, unsigned access);

/* The shootdown benchmark every CPU of a run calls with the same cfg
 * (docs/kernel-platform.md): CPU 0 maps `pages` pages in a space all
 * `cpus` CPUs activate; each round every CPU reads every page, CPU 0
 * remaps one page to a new frame and shoots it down, and then every CPU
 * reads that page and must find the new frame's contents. Each CPU then
 * touches `demand` pages of its own demand-zero range (one page fault
 * each). CPU 0 reports vm.shootdowns, vm.shootdown_ns (the mean time of
 * vm_shootdown), vm.stale_reads (reads of an old frame after its
 * shootdown: 0 unless the TLB or the shootdown is broken), vm.faults (page
 * faults served). Memory: `region` (VM_BENCH_BYTES, 4 KiB-aligned). With
 * `skip_flush` the targets acknowledge without flushing (a planted bug the
 * stale-read check must catch). Returns 0, or a failure code (a line
 * number) when a check failed. */
struct vm_bench_cfg {
    unsigned cpus, pages, rounds, demand;
    bool skip_flush;
    hal_paddr_t region;
};
#define VM_BENCH_BYTES(ncpu, pages, rounds, demand)                                                \
    ((uint64_t)(24 + 2 * (ncpu) + (pages) + (rounds) + (uint64_t)(ncpu) * ((demand) + 2)) * 4096)
int vm_bench(struct hal_cpu *c, const struct vm_bench_cfg *cfg);

#endif
