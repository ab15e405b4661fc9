/* Slab caches over the buddy allocator (include/kernel/palloc.h, "slab
 * caches"). Shared state through the HAL accessors: the cache's control
 * block (lock, list heads, counts), each slab's header and free objects'
 * link words, the per-CPU arrays (written only by their CPU).
 *
 * Control block: line 0 the cache lock (ticket); line 1: partial head,
 * full head, slabs, objects out of slabs; from byte 128 the per-CPU
 * arrays, MM_SLAB_CPU_BYTES each: u64 count, then u64 objects from +64.
 * Slab header (the slab page's first line): free head, out, next, prev,
 * the cache's control address (its owner mark). */
#include "kernel/hal.h"
#include "kernel/palloc.h"
#include "kernel/sync.h"

#define PAGE HAL_PAGE_SIZE
#define C_LOCK 0u
#define C_PARTIAL 64u
#define C_FULL 72u
#define C_SLABS 80u
#define C_OUT 88u
#define C_CPU 128u
#define S_FREE 0u
#define S_OUT 8u
#define S_NEXT 16u
#define S_PREV 24u
#define S_OWNER 32u
#define S_OBJS 64u

static uint64_t ld(struct hal_cpu *c, hal_paddr_t pa)
{
    uint64_t v = 0;
    if (hal_load(c, pa, 8, &v) != HAL_OK)
        hal_panic(c, "slab: cache memory not reachable");
    return v;
}

static void st(struct hal_cpu *c, hal_paddr_t pa, uint64_t v)
{
    if (hal_store(c, pa, 8, v) != HAL_OK)
        hal_panic(c, "slab: cache memory not reachable");
}

static hal_paddr_t cpu_array(const struct mm_slab_cache *sc, unsigned cpu)
{
    return sc->ctl + C_CPU + (hal_paddr_t)cpu * MM_SLAB_CPU_BYTES;
}

int mm_slab_create(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                   struct mm_slab_cache *sc, uint32_t size, unsigned node, mm_ctor_fn *ctor,
                   void *arg)
{
    if (size < 8 || size > 1024 || node >= m->nzones)
        return HAL_EINVAL;
    sc->size = (size + 7) & ~7u;
    sc->per_slab = (PAGE - S_OBJS) / sc->size;
    sc->node = node;
    sc->ctor = ctor;
    sc->arg = arg;
    sc->batch = MM_SLAB_CPU_MAX / 4;
    sc->limit = MM_SLAB_CPU_MAX / 2;
    uint64_t bytes = C_CPU + (uint64_t)m->ncpu * MM_SLAB_CPU_BYTES;
    sc->ctl_order = 0;
    while ((PAGE << sc->ctl_order) < bytes)
        sc->ctl_order++;
    if (sc->ctl_order > MM_MAX_ORDER)
        return HAL_EINVAL;
    int rc = mm_page_alloc(c, m, pc, node, sc->ctl_order, &sc->ctl);
    if (rc)
        return rc;
    for (hal_paddr_t w = 0; w < C_CPU; w += 8)
        st(c, sc->ctl + w, 0);
    for (unsigned cpu = 0; cpu < m->ncpu; cpu++)
        st(c, cpu_array(sc, cpu), 0);
    return HAL_OK;
}

static void lock(struct hal_cpu *c, const struct mm_slab_cache *sc) { sync_ticket_lock(c, sc->ctl + C_LOCK); }
static void unlock(struct hal_cpu *c, const struct mm_slab_cache *sc) { sync_ticket_unlock(c, sc->ctl + C_LOCK); }

static void poison(struct hal_cpu *c, const struct mm_slab_cache *sc, hal_paddr_t obj)
{
    for (uint32_t w = 8; w < sc->size; w += 8)
        st(c, obj + w, MM_POISON);
}

/* Slab lists (cache lock held): head at ctl + at. */
static void slab_push(struct hal_cpu *c, const struct mm_slab_cache *sc, unsigned at, hal_paddr_t s)
{
    hal_paddr_t first = ld(c, sc->ctl + at);
    st(c, s + S_NEXT, first);
    st(c, s + S_PREV, 0);
    if (first)
        st(c, first + S_PREV, s);
    st(c, sc->ctl + at, s);
}

static void slab_unlink(struct hal_cpu *c, const struct mm_slab_cache *sc, unsigned at, hal_paddr_t s)
{
    hal_paddr_t next = ld(c, s + S_NEXT), prev = ld(c, s + S_PREV);
    if (prev)
        st(c, prev + S_NEXT, next);
    else
        st(c, sc->ctl + at, next);
    if (next)
        st(c, next + S_PREV, prev);
}

/* A new slab on the partial list (cache lock held): its objects built. */
static int slab_grow(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                     const struct mm_slab_cache *sc)
{
    hal_paddr_t s;
    int rc = mm_page_alloc(c, m, pc, sc->node, 0, &s);
    if (rc)
        return rc;
    hal_paddr_t link = 0;
    for (uint32_t k = sc->per_slab; k-- > 0;) {
        hal_paddr_t obj = s + S_OBJS + (hal_paddr_t)k * sc->size;
        if (sc->ctor)
            sc->ctor(c, obj, sc->arg);
        if (m->cfg.hardened)
            poison(c, sc, obj);
        st(c, obj, link);
        link = obj;
    }
    st(c, s + S_FREE, link);
    st(c, s + S_OUT, 0);
    st(c, s + S_OWNER, sc->ctl);
    slab_push(c, sc, C_PARTIAL, s);
    st(c, sc->ctl + C_SLABS, ld(c, sc->ctl + C_SLABS) + 1);
    return HAL_OK;
}

int mm_slab_alloc(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                  const struct mm_slab_cache *sc, hal_paddr_t *obj)
{
    hal_paddr_t arr = cpu_array(sc, pc->cpu);
    uint64_t count = ld(c, arr);
    if (count == 0) { /* refill from the partial slabs */
        lock(c, sc);
        int rc = HAL_OK;
        uint64_t taken = 0;
        while (count < sc->batch) {
            hal_paddr_t s = ld(c, sc->ctl + C_PARTIAL);
            if (!s) {
                if ((rc = slab_grow(c, m, pc, sc)) != HAL_OK)
                    break;
                continue;
            }
            hal_paddr_t o = ld(c, s + S_FREE);
            st(c, s + S_FREE, ld(c, o));
            st(c, s + S_OUT, ld(c, s + S_OUT) + 1);
            st(c, arr + 64 + 8 * count++, o);
            taken++;
            if (ld(c, s + S_FREE) == 0) { /* now full */
                slab_unlink(c, sc, C_PARTIAL, s);
                slab_push(c, sc, C_FULL, s);
            }
        }
        st(c, sc->ctl + C_OUT, ld(c, sc->ctl + C_OUT) + taken);
        unlock(c, sc);
        if (count == 0)
            return rc ? rc : MM_ENOMEM;
    }
    hal_paddr_t o = ld(c, arr + 64 + 8 * (count - 1));
    st(c, arr, count - 1);
    if (m->cfg.hardened) {
        for (uint32_t w = 8; w < sc->size; w += 8)
            if (ld(c, o + w) != MM_POISON)
                return MM_EPOISON; /* written after its free; the object stays out */
        if (sc->ctor)
            sc->ctor(c, o, sc->arg);
    }
    *obj = o;
    return HAL_OK;
}

/* Give the top n objects of this CPU's array back to their slabs. */
static void give_back(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                      const struct mm_slab_cache *sc, unsigned n)
{
    hal_paddr_t arr = cpu_array(sc, pc->cpu);
    uint64_t count = ld(c, arr);
    if (n > count)
        n = (unsigned)count;
    if (n == 0)
        return;
    hal_paddr_t empty[MM_SLAB_CPU_MAX];
    unsigned nempty = 0;
    lock(c, sc);
    for (unsigned k = 0; k < n; k++) {
        hal_paddr_t o = ld(c, arr + 64 + 8 * (count - 1 - k));
        hal_paddr_t s = o & ~(hal_paddr_t)(PAGE - 1);
        hal_paddr_t head = ld(c, s + S_FREE);
        st(c, o, head);
        st(c, s + S_FREE, o);
        uint64_t out = ld(c, s + S_OUT) - 1;
        st(c, s + S_OUT, out);
        if (head == 0) { /* was full */
            slab_unlink(c, sc, C_FULL, s);
            slab_push(c, sc, C_PARTIAL, s);
        }
        if (out == 0 && ld(c, sc->ctl + C_SLABS) > 1) { /* keep one slab, free the rest */
            slab_unlink(c, sc, C_PARTIAL, s);
            st(c, sc->ctl + C_SLABS, ld(c, sc->ctl + C_SLABS) - 1);
            st(c, s + S_OWNER, 0);
            empty[nempty++] = s;
        }
    }
    st(c, sc->ctl + C_OUT, ld(c, sc->ctl + C_OUT) - n);
    unlock(c, sc);
    st(c, arr, count - n);
    for (unsigned k = 0; k < nempty; k++)
        if (mm_page_free(c, m, pc, empty[k], 0) != HAL_OK)
            hal_panic(c, "slab: a slab page was not an allocated page");
}

int mm_slab_free(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                 const struct mm_slab_cache *sc, hal_paddr_t obj)
{
    hal_paddr_t s = obj & ~(hal_paddr_t)(PAGE - 1);
    if (obj < s + S_OBJS || (obj - s - S_OBJS) % sc->size ||
        (obj - s - S_OBJS) / sc->size >= sc->per_slab || mm_page_node(m, s) < 0 ||
        ld(c, s + S_OWNER) != sc->ctl)
        return MM_EFREE;
    if (m->cfg.hardened)
        poison(c, sc, obj);
    hal_paddr_t arr = cpu_array(sc, pc->cpu);
    uint64_t count = ld(c, arr);
    if (count >= MM_SLAB_CPU_MAX) {
        give_back(c, m, pc, sc, sc->batch);
        count = ld(c, arr);
    }
    st(c, arr + 64 + 8 * count, obj);
    st(c, arr, ++count);
    if (count > sc->limit)
        give_back(c, m, pc, sc, sc->batch);
    return HAL_OK;
}

void mm_slab_drain(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                   const struct mm_slab_cache *sc)
{
    give_back(c, m, pc, sc, MM_SLAB_CPU_MAX);
}

/* One list's slabs: each owned, full or partial as the list says, its free
 * list the right length on the object grid; *out gets the objects out. */
static int check_list(struct hal_cpu *c, const struct mm *m, const struct mm_slab_cache *sc,
                      unsigned at, bool full, uint64_t *nslabs, uint64_t *out)
{
    hal_paddr_t prev = 0;
    for (hal_paddr_t s = ld(c, sc->ctl + at); s; s = ld(c, s + S_NEXT)) {
        if (++*nslabs > ld(c, sc->ctl + C_SLABS))
            return __LINE__; /* more slabs on the lists than the cache has: a cycle */
        int node = mm_page_node(m, s);
        if (node < 0 || s % PAGE || ld(c, s + S_OWNER) != sc->ctl || ld(c, s + S_PREV) != prev)
            return __LINE__;
        uint64_t nfree = 0;
        for (hal_paddr_t o = ld(c, s + S_FREE); o; o = ld(c, o)) {
            if (o < s + S_OBJS || (o - s - S_OBJS) % sc->size ||
                (o - s - S_OBJS) / sc->size >= sc->per_slab || ++nfree > sc->per_slab)
                return __LINE__; /* a free object off the grid, or the list loops */
            if (m->cfg.hardened)
                for (uint32_t w = 8; w < sc->size; w += 8)
                    if (ld(c, o + w) != MM_POISON)
                        return __LINE__; /* written after its free */
        }
        uint64_t o_out = ld(c, s + S_OUT);
        if (nfree + o_out != sc->per_slab || (full ? nfree != 0 : nfree == 0))
            return __LINE__;
        *out += o_out;
        prev = s;
    }
    return 0;
}

int mm_slab_check(struct hal_cpu *c, const struct mm *m, const struct mm_slab_cache *sc,
                  uint64_t held)
{
    uint64_t nslabs = 0, out = 0;
    int rc = check_list(c, m, sc, C_PARTIAL, false, &nslabs, &out);
    if (!rc)
        rc = check_list(c, m, sc, C_FULL, true, &nslabs, &out);
    if (rc)
        return rc;
    if (nslabs != ld(c, sc->ctl + C_SLABS) || out != ld(c, sc->ctl + C_OUT))
        return __LINE__;
    uint64_t cached = 0;
    for (unsigned cpu = 0; cpu < m->ncpu; cpu++) {
        uint64_t n = ld(c, cpu_array(sc, cpu));
        if (n > MM_SLAB_CPU_MAX)
            return __LINE__;
        cached += n;
    }
    if (out != held + cached)
        return __LINE__; /* objects lost or handed out twice */
    return 0;
}
