/* Page tables, address spaces, demand paging and TLB shootdown
 * (include/kernel/mm.h, which states the design and the invariants).
 *
 * The shootdown mailbox, one frame, a 64-byte line per part:
 *   +0    the shootdown lock (a ticket lock, kernel/sync)
 *   +64   u64 va, u64 len, u64 debug (1: targets do not flush; vm_bench's
 *         planted bug)
 *   +128  u64 acknowledgements of the current shootdown
 *   +192  u64 mask[4]: the CPUs that have the space active */
#include "kernel/mm.h"
#include "kernel/palloc.h"
#include "kernel/sync.h"

#define PAGE HAL_PAGE_SIZE
#define MB_LOCK 0u
#define MB_RANGE 64u
#define MB_ACKS 128u
#define MB_MASK 192u
#define PTE_RWX (HAL_PTE_R | HAL_PTE_W | HAL_PTE_X)

static unsigned shift_of(unsigned level) { return HAL_PAGE_SHIFT + 9 * level; }
static uint64_t pte_table(hal_paddr_t pa) { return (pa >> HAL_PAGE_SHIFT << HAL_PTE_PPN_SHIFT) | HAL_PTE_V; }
static hal_paddr_t pte_pa(uint64_t pte) { return pte >> HAL_PTE_PPN_SHIFT << HAL_PAGE_SHIFT; }

static int ld(struct hal_cpu *c, hal_paddr_t pa, uint64_t *v) { return hal_load(c, pa, 8, v); }

int vm_frames_init(struct hal_cpu *c, struct vm_frames *f, hal_paddr_t base, uint64_t size)
{
    if ((base | size) & (PAGE - 1) || size < 2 * PAGE)
        return HAL_EINVAL;
    f->cursor = base;
    f->end = base + size;
    f->mm = 0;
    return hal_store(c, base, 8, base + PAGE);
}

void vm_frames_init_buddy(struct vm_frames *f, const struct mm *m)
{
    f->cursor = f->end = 0;
    f->mm = m;
}

/* A zeroed frame from the buddy allocator. */
static int buddy_frame(struct hal_cpu *c, const struct mm *m, hal_paddr_t *pa)
{
    struct mm_cpu pc;
    mm_cpu_init(c, m, &pc);
    struct mm_policy local = {MM_POL_LOCAL, 0, 0};
    int rc = mm_alloc_policy(c, m, &pc, &local, 0, pa, 0);
    if (rc)
        return rc == MM_ENOMEM ? VM_ENOMEM : rc;
    for (unsigned off = 0; off < PAGE; off += 8)
        if ((rc = hal_store(c, *pa + off, 8, 0)))
            return rc;
    return HAL_OK;
}

int vm_frame_alloc(struct hal_cpu *c, const struct vm_frames *f, hal_paddr_t *pa)
{
    if (f->mm)
        return buddy_frame(c, f->mm, pa);
    uint64_t at = 0;
    int rc = hal_atomic(c, HAL_ATOMIC_FAA, f->cursor, 8, PAGE, 0, &at);
    if (rc)
        return rc;
    if (at + PAGE > f->end || at + PAGE < at) {
        /* give the page back so the cursor stays at most one page past
         * end per failed caller (invariant 3 holds for what is handed out) */
        hal_atomic(c, HAL_ATOMIC_FAA, f->cursor, 8, (uint64_t)0 - PAGE, 0, NULL);
        return VM_ENOMEM;
    }
    for (unsigned off = 0; off < PAGE; off += 8)
        if ((rc = hal_store(c, at + off, 8, 0)))
            return rc;
    *pa = at;
    return HAL_OK;
}

int vm_space_init(struct hal_cpu *c, struct vm_space *s, const struct vm_frames *frames)
{
    /* field by field: a compound literal this size becomes a memset call,
     * which the freestanding aarch64 link does not have */
    s->root = s->shoot = 0;
    s->frames = *frames;
    s->fault = 0;
    s->arg = 0;
    int rc = vm_frame_alloc(c, frames, &s->root);
    if (!rc)
        rc = vm_frame_alloc(c, frames, &s->shoot);
    if (!rc && (s->shoot >> HAL_PAGE_SHIFT) >= MM_IPI_FRAME_MASK - 1)
        rc = HAL_EINVAL; /* the IPI reason cannot carry its frame number */
    return rc;
}

/* The PTE slot for va at `level`, creating the tables above it when
 * `create`. VM_ENOENT when a table is missing and !create; VM_EEXIST when
 * a leaf above `level` covers va. */
static int slot(struct hal_cpu *c, const struct vm_space *s, uint64_t va, unsigned level,
                bool create, hal_paddr_t *at)
{
    hal_paddr_t table = s->root;
    for (unsigned l = HAL_PT_LEVELS - 1;; l--) {
        hal_paddr_t p = table + 8ull * ((va >> shift_of(l)) & (HAL_PT_ENTRIES - 1));
        if (l == level) {
            *at = p;
            return HAL_OK;
        }
        uint64_t pte = 0;
        int rc = ld(c, p, &pte);
        if (rc)
            return rc;
        if ((pte & HAL_PTE_V) && (pte & PTE_RWX))
            return VM_EEXIST;
        if (!(pte & HAL_PTE_V)) {
            if (!create)
                return VM_ENOENT;
            hal_paddr_t fresh;
            if ((rc = vm_frame_alloc(c, &s->frames, &fresh)))
                return rc;
            uint64_t old = 0;
            /* invariant 1: install over an empty slot only; a CPU that lost
             * the race uses the winner's table (its frame is not reused) */
            if ((rc = hal_atomic(c, HAL_ATOMIC_CAS, p, 8, pte_table(fresh), 0, &old)))
                return rc;
            pte = old ? old : pte_table(fresh);
            if ((pte & PTE_RWX))
                return VM_EEXIST;
        }
        table = pte_pa(pte);
    }
}

int vm_map(struct hal_cpu *c, const struct vm_space *s, uint64_t va, hal_paddr_t pa,
           unsigned level, unsigned flags)
{
    uint64_t size = 1ull << shift_of(level);
    if (level > 1 || (va | pa) & (size - 1) || !(flags & PTE_RWX) ||
        ((flags & HAL_PTE_W) && !(flags & HAL_PTE_R)))
        return HAL_EINVAL;
    hal_paddr_t at;
    int rc = slot(c, s, va, level, true, &at);
    if (rc)
        return rc;
    uint64_t leaf = (pa >> HAL_PAGE_SHIFT << HAL_PTE_PPN_SHIFT) | flags | HAL_PTE_V, old = 0;
    if ((rc = hal_atomic(c, HAL_ATOMIC_CAS, at, 8, leaf, 0, &old)))
        return rc;
    return old ? VM_EEXIST : HAL_OK;
}

/* The slot of the leaf translating va: its level too. */
static int leaf_slot(struct hal_cpu *c, const struct vm_space *s, uint64_t va, hal_paddr_t *at,
                     uint64_t *pte, unsigned *level)
{
    hal_paddr_t table = s->root;
    for (unsigned l = HAL_PT_LEVELS - 1;; l--) {
        hal_paddr_t p = table + 8ull * ((va >> shift_of(l)) & (HAL_PT_ENTRIES - 1));
        uint64_t v = 0;
        int rc = ld(c, p, &v);
        if (rc)
            return rc;
        if (!(v & HAL_PTE_V))
            return VM_ENOENT;
        if (v & PTE_RWX) {
            *at = p;
            *pte = v;
            *level = l;
            return HAL_OK;
        }
        if (l == 0)
            return VM_ENOENT;
        table = pte_pa(v);
    }
}

int vm_lookup(struct hal_cpu *c, const struct vm_space *s, uint64_t va, uint64_t *pte,
              unsigned *level)
{
    hal_paddr_t at;
    return leaf_slot(c, s, va, &at, pte, level);
}

int vm_unmap(struct hal_cpu *c, const struct vm_space *s, uint64_t va, uint64_t *old)
{
    hal_paddr_t at;
    uint64_t pte;
    unsigned level;
    int rc = leaf_slot(c, s, va, &at, &pte, &level);
    if (rc)
        return rc;
    uint64_t was = 0;
    if ((rc = hal_atomic(c, HAL_ATOMIC_XCHG, at, 8, 0, 0, &was)))
        return rc;
    if (old)
        *old = was;
    return was ? HAL_OK : VM_ENOENT;
}

int vm_remap(struct hal_cpu *c, const struct vm_space *s, uint64_t va, hal_paddr_t pa,
             uint64_t *old)
{
    hal_paddr_t at;
    uint64_t pte;
    unsigned level;
    int rc = leaf_slot(c, s, va, &at, &pte, &level);
    if (rc)
        return rc;
    if (pa & ((1ull << shift_of(level)) - 1))
        return HAL_EINVAL;
    uint64_t flags = pte & ((1u << HAL_PTE_PPN_SHIFT) - 1);
    uint64_t leaf = (pa >> HAL_PAGE_SHIFT << HAL_PTE_PPN_SHIFT) | flags, was = 0;
    if ((rc = hal_atomic(c, HAL_ATOMIC_CAS, at, 8, leaf, pte, &was)))
        return rc;
    if (was != pte)
        return VM_ENOENT; /* changed under us */
    if (old)
        *old = was;
    return HAL_OK;
}

/* Set or clear this CPU's bit in the space's mask. */
static int mask_update(struct hal_cpu *c, const struct vm_space *s, bool on)
{
    unsigned id = hal_cpu_id(c);
    if (id >= MM_MAX_CPUS)
        return HAL_EINVAL;
    hal_paddr_t w = s->shoot + MB_MASK + 8 * (id / 64);
    uint64_t bit = 1ull << (id % 64), cur = 0;
    int rc = ld(c, w, &cur);
    for (; !rc;) {
        uint64_t next = on ? cur | bit : cur & ~bit, seen = 0;
        if ((rc = hal_atomic(c, HAL_ATOMIC_CAS, w, 8, next, cur, &seen)) || seen == cur)
            break;
        cur = seen;
    }
    return rc;
}

int vm_activate(struct hal_cpu *c, const struct vm_space *s)
{
    int rc = mask_update(c, s, true);
    return rc ? rc : hal_mmu_set_root(c, s->root, (void *)s);
}

int vm_deactivate(struct hal_cpu *c, const struct vm_space *s)
{
    int rc = hal_mmu_set_root(c, 0, 0);
    return rc ? rc : mask_update(c, s, false);
}

int vm_shootdown(struct hal_cpu *c, const struct vm_space *s, uint64_t va, uint64_t len)
{
    hal_paddr_t mb = s->shoot;
    unsigned self = hal_cpu_id(c), n = 0;
    int rc;
    sync_ticket_lock(c, mb + MB_LOCK);
    if ((rc = hal_store(c, mb + MB_RANGE, 8, va)) || (rc = hal_store(c, mb + MB_RANGE + 8, 8, len)) ||
        (rc = hal_store(c, mb + MB_ACKS, 8, 0)))
        goto out;
    for (unsigned w = 0; w < MM_MAX_CPUS / 64; w++) {
        uint64_t m = 0;
        if ((rc = ld(c, mb + MB_MASK + 8 * w, &m)))
            goto out;
        for (unsigned b = 0; b < 64; b++)
            if ((m >> b & 1) && w * 64 + b != self) {
                hal_ipi_send(c, w * 64 + b, MM_IPI_SHOOTDOWN | (uint32_t)(mb >> HAL_PAGE_SHIFT));
                n++;
            }
    }
    hal_tlb_flush(c, va, len);
    for (uint64_t acks = 0; (rc = ld(c, mb + MB_ACKS, &acks)) == HAL_OK && acks < n;)
        hal_relax(c);
out:
    sync_ticket_unlock(c, mb + MB_LOCK);
    hal_trace(c, MM_TP_SHOOTDOWN, va, n);
    return rc ? rc : (int)n;
}

bool vm_ipi(struct hal_cpu *c, uint32_t reason)
{
    if ((reason & MM_IPI_SHOOTDOWN) == 0 || reason >= 0xFFFFFFFEu)
        return false;
    hal_paddr_t mb = (hal_paddr_t)(reason & MM_IPI_FRAME_MASK) << HAL_PAGE_SHIFT;
    uint64_t va = 0, len = 0, debug = 0;
    if (ld(c, mb + MB_RANGE, &va) || ld(c, mb + MB_RANGE + 8, &len) ||
        ld(c, mb + MB_RANGE + 16, &debug))
        hal_panic(c, "vm: a shootdown IPI names no mailbox in memory");
    if (!(debug & 1))
        hal_tlb_flush(c, va, len);
    hal_atomic(c, HAL_ATOMIC_FAA, mb + MB_ACKS, 8, 1, 0, NULL);
    return true;
}

int vm_fault_demand(struct hal_cpu *c, const struct vm_space *s, uint64_t va, unsigned access)
{
    (void)access;
    const struct vm_demand *d = s->arg;
    if (!d || va < d->lo || va >= d->hi)
        return HAL_EFAULT;
    hal_paddr_t frame;
    int rc = vm_frame_alloc(c, &s->frames, &frame);
    if (rc)
        return rc;
    rc = vm_map(c, s, va & ~(uint64_t)(PAGE - 1), frame, 0, d->flags);
    if (rc == VM_EEXIST)
        rc = HAL_OK; /* another CPU mapped it first: retry through its page */
    else if (!rc && d->faults)
        rc = hal_atomic(c, HAL_ATOMIC_FAA, d->faults, 8, 1, 0, NULL);
    return rc;
}

int kern_page_fault(struct hal_cpu *c, uint64_t va, unsigned access)
{
    const struct vm_space *s = hal_mmu_context(c);
    hal_trace(c, MM_TP_FAULT, va, access);
    if (!s || !s->fault)
        return HAL_EFAULT;
    return s->fault(c, s, va, access);
}
