/* The buddy page allocator with per-CPU page lists, and its checker
 * (include/kernel/palloc.h has the layout, the invariants and the
 * transitions). Every shared word is a HAL access; the zone lock is a
 * ticket lock (kernel/sync).
 *
 * Cost notes. A buddy allocation under the lock touches the lock line, the
 * header's heads and counters and one descriptor line per split; a free
 * one descriptor line per merge level. Those lines move between CPUs with
 * the lock: that is the traffic per-CPU lists avoid, taking the lock once
 * per `batch` pages. The checker walks every descriptor: O(pages), run at
 * quiescence only. */
#include "kernel/hal.h"
#include "kernel/palloc.h"
#include "kernel/sync.h"

#define PAGE HAL_PAGE_SIZE
#define DESC 16u
#define H_LOCK 0u
#define H_FREE (1u * MM_LINE)      /* pages on the free lists */
#define H_READY (1u * MM_LINE + 8) /* 1 once mm_boot wrote the zone */
#define H_EVENTS (1u * MM_LINE + 16) /* pressure events: falls below the low watermark */
#define H_REFUSED (1u * MM_LINE + 24) /* allocations refused at the min watermark */
#define H_UNDER (1u * MM_LINE + 32)  /* 1 from a fall below low until back above high */
#define H_HEADS (2u * MM_LINE)     /* u64 per order: first index + 1 */
#define H_USER (4u * MM_LINE)

#define ST(order, kind, cpu) ((uint64_t)(order) | (uint64_t)(kind) << 8 | (uint64_t)(cpu) << 16)
#define ST_ORDER(s) ((unsigned)((s) & 0xff))
#define ST_KIND(s) ((unsigned)(((s) >> 8) & 0xff))
#define ST_CPU(s) ((unsigned)(((s) >> 16) & 0xffff))

static uint64_t ld(struct hal_cpu *c, hal_paddr_t pa, unsigned size)
{
    uint64_t v = 0;
    if (hal_load(c, pa, size, &v) != HAL_OK)
        hal_panic(c, "mm: allocator memory not reachable");
    return v;
}

static void st(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t v)
{
    if (hal_store(c, pa, size, v) != HAL_OK)
        hal_panic(c, "mm: allocator memory not reachable");
}

static hal_paddr_t desc(const struct mm_zone *z, uint32_t i) { return z->desc + (hal_paddr_t)i * DESC; }
static uint64_t state(struct hal_cpu *c, const struct mm_zone *z, uint32_t i) { return ld(c, desc(z, i), 8); }
static void set_state(struct hal_cpu *c, const struct mm_zone *z, uint32_t i, uint64_t s) { st(c, desc(z, i), 8, s); }

/* --- layout ------------------------------------------------------------------ */

int mm_layout(struct mm *m, const struct mm_node_mem *nodes, unsigned n, const uint8_t *dist,
              unsigned ncpu, const struct mm_config *cfg)
{
    if (n == 0 || n > MM_MAX_NODES || ncpu == 0 || ncpu > 0xffff || cfg->batch == 0 ||
        cfg->batch > MM_PCP_MAX || cfg->high > MM_PCP_MAX)
        return HAL_EINVAL;
    m->nzones = n;
    m->ncpu = ncpu;
    m->cfg = *cfg;
    for (unsigned a = 0; a < n; a++)
        for (unsigned b = 0; b < n; b++)
            m->dist[a][b] = dist ? dist[a * n + b] : (uint8_t)(a == b ? 10 : 20);
    for (unsigned i = 0; i < n; i++) {
        struct mm_zone *z = &m->zone[i];
        z->node = i;
        z->base = nodes[i].base;
        uint64_t pages = nodes[i].size / PAGE;
        if (nodes[i].base % PAGE || pages > 0xfffffff0u)
            return HAL_EINVAL;
        z->npages = (uint32_t)pages;
        if (pages == 0) {
            z->first = 0;
            continue;
        }
        uint64_t pcp_pages = ((uint64_t)ncpu * MM_PCP_BYTES + PAGE - 1) / PAGE;
        uint64_t desc_pages = (pages * DESC + PAGE - 1) / PAGE;
        z->pcp = z->base + PAGE;
        z->desc = z->pcp + pcp_pages * PAGE;
        if (1 + pcp_pages + desc_pages >= pages)
            return HAL_EINVAL;
        z->first = (uint32_t)(1 + pcp_pages + desc_pages);
    }
    return HAL_OK;
}

int mm_layout_hal(struct hal_cpu *c, struct mm *m, const struct mm_config *cfg)
{
    struct mm_node_mem nodes[MM_MAX_NODES];
    uint8_t dist[MM_MAX_NODES * MM_MAX_NODES];
    unsigned n = 0;
    for (; n < MM_MAX_NODES; n++) {
        int rc = hal_mem_node(c, n, &nodes[n].base, &nodes[n].size);
        if (rc == HAL_EINVAL)
            break;
        if (rc != HAL_OK)
            return rc;
    }
    if (n == 0)
        return HAL_ENOTSUP;
    for (unsigned a = 0; a < n; a++)
        for (unsigned b = 0; b < n; b++)
            dist[a * n + b] = (uint8_t)hal_numa_distance(c, a, b);
    return mm_layout(m, nodes, n, dist, hal_cpu_count(c), cfg);
}

/* --- free lists (zone lock held) ------------------------------------------------ */

static void list_add(struct hal_cpu *c, const struct mm_zone *z, unsigned order, uint32_t i)
{
    hal_paddr_t head = z->base + H_HEADS + 8 * order;
    uint64_t first = ld(c, head, 8);
    st(c, desc(z, i) + 8, 8, first); /* next = old first, prev = none */
    if (first) {
        hal_paddr_t l = desc(z, (uint32_t)first - 1) + 8;
        st(c, l, 8, (ld(c, l, 8) & 0xffffffffu) | (uint64_t)(i + 1) << 32);
    }
    st(c, head, 8, i + 1);
}

static void list_del(struct hal_cpu *c, const struct mm_zone *z, unsigned order, uint32_t i)
{
    uint64_t links = ld(c, desc(z, i) + 8, 8);
    uint32_t next = (uint32_t)links, prev = (uint32_t)(links >> 32);
    if (prev) {
        hal_paddr_t l = desc(z, prev - 1) + 8;
        st(c, l, 8, (ld(c, l, 8) & 0xffffffff00000000ull) | next);
    } else {
        st(c, z->base + H_HEADS + 8 * order, 8, next);
    }
    if (next) {
        hal_paddr_t l = desc(z, next - 1) + 8;
        st(c, l, 8, (ld(c, l, 8) & 0xffffffffu) | (uint64_t)prev << 32);
    }
    st(c, desc(z, i) + 8, 8, 0);
}

/* A free block of 2^order pages taken off the lists (split as needed): its
 * first page index, or -1. Its state is left to the caller. */
static int64_t zone_take(struct hal_cpu *c, const struct mm *m, const struct mm_zone *z,
                         unsigned order)
{
    if (m->cfg.wmark_low) { /* watermarks (only read when set: no traffic otherwise) */
        uint64_t free = ld(c, z->base + H_FREE, 8);
        if (free < (1ull << order) + m->cfg.wmark_min) {
            st(c, z->base + H_REFUSED, 8, ld(c, z->base + H_REFUSED, 8) + 1);
            return -1;
        }
        if (free - (1ull << order) < m->cfg.wmark_low && !ld(c, z->base + H_UNDER, 8)) {
            st(c, z->base + H_UNDER, 8, 1);
            st(c, z->base + H_EVENTS, 8, ld(c, z->base + H_EVENTS, 8) + 1);
        }
    }
    unsigned o = order;
    uint64_t head = 0;
    for (; o <= MM_MAX_ORDER; o++)
        if ((head = ld(c, z->base + H_HEADS + 8 * o, 8)) != 0)
            break;
    if (o > MM_MAX_ORDER)
        return -1;
    uint32_t i = (uint32_t)head - 1;
    list_del(c, z, o, i);
    while (o > order) { /* split: the upper half goes on the next list down */
        o--;
        uint32_t b = i + (1u << o);
        set_state(c, z, b, ST(o, MM_PG_FREE, 0));
        list_add(c, z, o, b);
    }
    hal_paddr_t nf = z->base + H_FREE;
    st(c, nf, 8, ld(c, nf, 8) - (1ull << order));
    return i;
}

/* Block [i, i + 2^order) back on the lists, merged with its free buddies. */
static void zone_put(struct hal_cpu *c, const struct mm *m, const struct mm_zone *z, uint32_t i,
                     unsigned order)
{
    hal_paddr_t nf = z->base + H_FREE;
    uint64_t free = ld(c, nf, 8) + (1ull << order);
    st(c, nf, 8, free);
    if (m->cfg.wmark_low && free > m->cfg.wmark_high && ld(c, z->base + H_UNDER, 8))
        st(c, z->base + H_UNDER, 8, 0); /* back above high: the next fall is a new event */
    while (order < MM_MAX_ORDER) {
        uint32_t b = i ^ (1u << order);
        if (b < z->first || (uint64_t)b + (1u << order) > z->npages)
            break;
        uint64_t s = state(c, z, b);
        if (ST_KIND(s) != MM_PG_FREE || ST_ORDER(s) != order)
            break;
        list_del(c, z, order, b);
        set_state(c, z, b, ST(0, MM_PG_TAIL, 0));
        set_state(c, z, i, ST(0, MM_PG_TAIL, 0));
        i = i < b ? i : b;
        order++;
    }
    set_state(c, z, i, ST(order, MM_PG_FREE, 0));
    list_add(c, z, order, i);
}

static void lock(struct hal_cpu *c, const struct mm_zone *z) { sync_ticket_lock(c, z->base + H_LOCK); }
static void unlock(struct hal_cpu *c, const struct mm_zone *z) { sync_ticket_unlock(c, z->base + H_LOCK); }

/* --- boot ---------------------------------------------------------------------- */

int mm_boot(struct hal_cpu *c, const struct mm *m)
{
    for (unsigned n = 0; n < m->nzones; n++) {
        const struct mm_zone *z = &m->zone[n];
        if (z->npages == 0)
            continue;
        for (unsigned w = 0; w < 5 * MM_LINE; w += 8)
            st(c, z->base + w, 8, 0);
        for (unsigned cpu = 0; cpu < m->ncpu; cpu++)
            st(c, z->pcp + (hal_paddr_t)cpu * MM_PCP_BYTES, 8, 0);
        for (uint32_t i = 0; i < z->npages; i++) {
            set_state(c, z, i, ST(0, MM_PG_TAIL, 0));
            st(c, desc(z, i) + 8, 8, 0);
        }
        /* the managed range in maximal aligned blocks, lowest first */
        for (uint32_t i = z->first; i < z->npages;) {
            unsigned o = MM_MAX_ORDER;
            while (o && ((i & ((1u << o) - 1)) || (uint64_t)i + (1u << o) > z->npages))
                o--;
            set_state(c, z, i, ST(o, MM_PG_FREE, 0));
            list_add(c, z, o, i);
            st(c, z->base + H_FREE, 8, ld(c, z->base + H_FREE, 8) + (1ull << o));
            i += 1u << o;
        }
        hal_fence(c);
        st(c, z->base + H_READY, 8, 1);
    }
    return HAL_OK;
}

void mm_wait_ready(struct hal_cpu *c, const struct mm *m)
{
    for (unsigned n = 0; n < m->nzones; n++)
        if (m->zone[n].npages)
            while (ld(c, m->zone[n].base + H_READY, 8) == 0)
                hal_relax(c);
}

void mm_cpu_init(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc)
{
    pc->cpu = hal_cpu_id(c);
    pc->node = hal_cpu_node(c);
    if (pc->node >= m->nzones)
        pc->node = 0;
    pc->interleave = m->nzones - 1;
    pc->nalloc = 0;
    pc->injected = 0;
}

/* --- per-CPU lists ------------------------------------------------------------- */

static hal_paddr_t pcp_of(const struct mm_zone *z, unsigned cpu)
{
    return z->pcp + (hal_paddr_t)cpu * MM_PCP_BYTES;
}

/* Take up to batch pages from the zone onto this CPU's list. */
static void pcp_refill(struct hal_cpu *c, const struct mm *m, const struct mm_zone *z,
                       unsigned cpu, uint64_t count)
{
    hal_paddr_t p = pcp_of(z, cpu);
    lock(c, z);
    for (unsigned k = 0; k < m->cfg.batch && count < MM_PCP_MAX; k++) {
        int64_t i = zone_take(c, m, z, 0);
        if (i < 0)
            break;
        set_state(c, z, (uint32_t)i, ST(0, MM_PG_PCP, cpu));
        st(c, p + 64 + 4 * count, 4, (uint64_t)i);
        count++;
    }
    unlock(c, z);
    st(c, p, 8, count);
}

/* Give `n` pages from the top of this CPU's list back to the zone. */
static void pcp_give(struct hal_cpu *c, const struct mm *m, const struct mm_zone *z, unsigned cpu,
                     unsigned n)
{
    hal_paddr_t p = pcp_of(z, cpu);
    uint64_t count = ld(c, p, 8);
    if (n > count)
        n = (unsigned)count;
    if (n == 0)
        return;
    lock(c, z);
    for (unsigned k = 0; k < n; k++) {
        uint32_t i = (uint32_t)ld(c, p + 64 + 4 * (count - 1 - k), 4);
        zone_put(c, m, z, i, 0);
    }
    unlock(c, z);
    st(c, p, 8, count - n);
}

void mm_pcp_drain(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc)
{
    for (unsigned n = 0; n < m->nzones; n++)
        if (m->zone[n].npages)
            pcp_give(c, m, &m->zone[n], pc->cpu, MM_PCP_MAX);
}

/* --- allocation ---------------------------------------------------------------- */

int mm_page_alloc(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc, unsigned node,
                  unsigned order, hal_paddr_t *pa)
{
    if (node >= m->nzones || order > MM_MAX_ORDER)
        return HAL_EINVAL;
    const struct mm_zone *z = &m->zone[node];
    if (z->npages == 0)
        return MM_ENOMEM;
    pc->nalloc++;
    if ((m->cfg.fail_every && pc->nalloc % m->cfg.fail_every == 0) ||
        hal_fault_point(c, HAL_FP_ALLOC)) {
        pc->injected++; /* the fault point: this allocation fails */
        return MM_ENOMEM;
    }
    int64_t i;
    if (order == 0 && m->cfg.pcp) {
        hal_paddr_t p = pcp_of(z, pc->cpu);
        uint64_t count = ld(c, p, 8);
        if (count == 0) {
            pcp_refill(c, m, z, pc->cpu, 0);
            count = ld(c, p, 8);
            if (count == 0)
                return MM_ENOMEM;
        }
        i = (int64_t)ld(c, p + 64 + 4 * (count - 1), 4);
        st(c, p, 8, count - 1);
    } else {
        lock(c, z);
        i = zone_take(c, m, z, order);
        if (i >= 0)
            set_state(c, z, (uint32_t)i, ST(order, MM_PG_ALLOC, 0));
        unlock(c, z);
        if (i < 0)
            return MM_ENOMEM;
    }
    set_state(c, z, (uint32_t)i, ST(order, MM_PG_ALLOC, 0));
    *pa = z->base + (hal_paddr_t)i * PAGE;
    return HAL_OK;
}

int mm_page_node(const struct mm *m, hal_paddr_t pa)
{
    for (unsigned n = 0; n < m->nzones; n++) {
        const struct mm_zone *z = &m->zone[n];
        if (pa >= z->base && pa < z->base + (hal_paddr_t)z->npages * PAGE)
            return (int)n;
    }
    return -1;
}

int mm_page_free(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc, hal_paddr_t pa,
                 unsigned order)
{
    int node = mm_page_node(m, pa);
    if (node < 0 || pa % PAGE || order > MM_MAX_ORDER)
        return MM_EFREE;
    const struct mm_zone *z = &m->zone[node];
    uint32_t i = (uint32_t)((pa - z->base) / PAGE);
    if (i < z->first)
        return MM_EFREE;
    /* The guard: only the head of an allocated block of this order. (Two
     * CPUs freeing one page at once is a caller's bug this cannot see.) */
    uint64_t s = state(c, z, i);
    if (ST_KIND(s) != MM_PG_ALLOC || ST_ORDER(s) != order)
        return MM_EFREE;
    if (order == 0 && m->cfg.pcp) {
        hal_paddr_t p = pcp_of(z, pc->cpu);
        uint64_t count = ld(c, p, 8);
        if (count >= MM_PCP_MAX) {
            pcp_give(c, m, z, pc->cpu, m->cfg.batch);
            count = ld(c, p, 8);
        }
        set_state(c, z, i, ST(0, MM_PG_PCP, pc->cpu));
        st(c, p + 64 + 4 * count, 4, i);
        st(c, p, 8, ++count);
        if (count > m->cfg.high)
            pcp_give(c, m, z, pc->cpu, m->cfg.batch);
        return HAL_OK;
    }
    lock(c, z);
    zone_put(c, m, z, i, order);
    unlock(c, z);
    return HAL_OK;
}

uint64_t mm_zone_free(struct hal_cpu *c, const struct mm *m, unsigned node)
{
    if (node >= m->nzones || m->zone[node].npages == 0)
        return 0;
    return ld(c, m->zone[node].base + H_FREE, 8);
}

void mm_zone_blocks(struct hal_cpu *c, const struct mm *m, unsigned node, uint64_t *out)
{
    for (unsigned o = 0; o <= MM_MAX_ORDER; o++)
        out[o] = 0;
    if (node >= m->nzones || m->zone[node].npages == 0)
        return;
    const struct mm_zone *z = &m->zone[node];
    for (unsigned o = 0; o <= MM_MAX_ORDER; o++)
        for (uint64_t e = ld(c, z->base + H_HEADS + 8 * o, 8); e && out[o] <= z->npages;
             e = (uint32_t)ld(c, desc(z, (uint32_t)e - 1) + 8, 8))
            out[o]++;
}

void mm_zone_pressure(struct hal_cpu *c, const struct mm *m, unsigned node, uint64_t *events,
                      uint64_t *refusals)
{
    *events = *refusals = 0;
    if (node >= m->nzones || m->zone[node].npages == 0)
        return;
    *events = ld(c, m->zone[node].base + H_EVENTS, 8);
    *refusals = ld(c, m->zone[node].base + H_REFUSED, 8);
}

hal_paddr_t mm_zone_user(const struct mm *m, unsigned node) { return m->zone[node].base + H_USER; }

/* --- the checker --------------------------------------------------------------- */

static int zone_check(struct hal_cpu *c, const struct mm *m, const struct mm_zone *z)
{
    uint64_t blocks[MM_MAX_ORDER + 1], free_pages = 0, pcp_pages = 0;
    for (unsigned o = 0; o <= MM_MAX_ORDER; o++)
        blocks[o] = 0;
    /* invariant 1: the managed range tiles into blocks */
    for (uint32_t i = z->first; i < z->npages;) {
        uint64_t s = state(c, z, i);
        unsigned o = ST_ORDER(s), k = ST_KIND(s);
        if (k == MM_PG_TAIL || k > MM_PG_PCP || o > MM_MAX_ORDER)
            return __LINE__; /* a page in no block */
        if ((i & ((1u << o) - 1)) || (uint64_t)i + (1u << o) > z->npages)
            return __LINE__; /* a misaligned or overhanging block */
        if (k == MM_PG_PCP) {
            if (o != 0 || ST_CPU(s) >= m->ncpu)
                return __LINE__;
            pcp_pages++;
        }
        if (k == MM_PG_FREE) {
            blocks[o]++;
            free_pages += 1ull << o;
            /* invariant 2: a free block's buddy is not a free block of its order */
            uint32_t b = i ^ (1u << o);
            if (o < MM_MAX_ORDER && b >= z->first && (uint64_t)b + (1u << o) <= z->npages &&
                b > i) {
                uint64_t sb = state(c, z, b);
                if (ST_KIND(sb) == MM_PG_FREE && ST_ORDER(sb) == o)
                    return __LINE__; /* two free buddies not merged */
            }
        }
        for (uint32_t t = 1; t < (1u << o); t++)
            if (ST_KIND(state(c, z, i + t)) != MM_PG_TAIL)
                return __LINE__; /* a block inside another: a page in two places */
        i += 1u << o;
    }
    /* invariant 2: the lists hold exactly those blocks */
    for (unsigned o = 0; o <= MM_MAX_ORDER; o++) {
        uint64_t n = 0, prev = 0;
        for (uint64_t e = ld(c, z->base + H_HEADS + 8 * o, 8); e;) {
            if (e - 1 < z->first || e - 1 >= z->npages || ++n > blocks[o])
                return __LINE__; /* off the zone, or more list entries than free blocks */
            uint32_t i = (uint32_t)e - 1;
            uint64_t s = state(c, z, i), links = ld(c, desc(z, i) + 8, 8);
            if (ST_KIND(s) != MM_PG_FREE || ST_ORDER(s) != o)
                return __LINE__; /* on list o but not a free block of order o */
            if (links >> 32 != prev)
                return __LINE__; /* a broken prev link */
            prev = e;
            e = (uint32_t)links;
        }
        if (n != blocks[o])
            return __LINE__; /* a free block on no list */
    }
    /* invariant 3 */
    if (ld(c, z->base + H_FREE, 8) != free_pages)
        return __LINE__;
    /* invariant 4: each PCP page is on its CPU's list, once */
    uint64_t listed = 0;
    for (unsigned cpu = 0; cpu < m->ncpu; cpu++) {
        hal_paddr_t p = pcp_of(z, cpu);
        uint64_t count = ld(c, p, 8);
        if (count > MM_PCP_MAX)
            return __LINE__;
        for (uint64_t k = 0; k < count; k++) {
            uint32_t i = (uint32_t)ld(c, p + 64 + 4 * k, 4);
            if (i < z->first || i >= z->npages)
                return __LINE__;
            uint64_t s = state(c, z, i);
            if (ST_KIND(s) != MM_PG_PCP || ST_CPU(s) != cpu)
                return __LINE__; /* on a per-CPU list but allocated, free or another CPU's */
            for (uint64_t j = 0; j < k; j++)
                if ((uint32_t)ld(c, p + 64 + 4 * j, 4) == i)
                    return __LINE__; /* twice on a list */
        }
        listed += count;
    }
    if (listed != pcp_pages)
        return __LINE__;
    return 0;
}

int mm_check(struct hal_cpu *c, const struct mm *m)
{
    for (unsigned n = 0; n < m->nzones; n++) {
        if (m->zone[n].npages == 0)
            continue;
        int rc = zone_check(c, m, &m->zone[n]);
        if (rc)
            return rc;
    }
    return 0;
}

/* --- NUMA policy --------------------------------------------------------------- */

int mm_policy_check(const struct mm *m, const struct mm_policy *pol)
{
    if (pol->mode == MM_POL_PREFERRED &&
        (pol->node >= m->nzones || m->zone[pol->node].npages == 0))
        return MM_ENODE;
    if (pol->mode == MM_POL_BIND || pol->mode == MM_POL_INTERLEAVE) {
        if (pol->mask == 0)
            return MM_ENODE;
        for (unsigned n = 0; n < 32; n++)
            if (pol->mask >> n & 1 && (n >= m->nzones || m->zone[n].npages == 0))
                return MM_ENODE;
    }
    return HAL_OK;
}

static bool allowed(const struct mm_policy *pol, unsigned n)
{
    return (pol->mode != MM_POL_BIND && pol->mode != MM_POL_INTERLEAVE) || (pol->mask >> n & 1);
}

/* Nodes by distance from `from` (ties: lower node), those the policy allows. */
static unsigned by_distance(const struct mm *m, const struct mm_policy *pol, unsigned from,
                            unsigned *out)
{
    unsigned k = 0;
    bool used[MM_MAX_NODES];
    for (unsigned n = 0; n < m->nzones; n++)
        used[n] = !allowed(pol, n) || m->zone[n].npages == 0;
    for (;;) {
        unsigned best = MM_MAX_NODES;
        for (unsigned n = 0; n < m->nzones; n++)
            if (!used[n] && (best == MM_MAX_NODES || m->dist[from][n] < m->dist[from][best]))
                best = n;
        if (best == MM_MAX_NODES)
            return k;
        used[best] = true;
        out[k++] = best;
    }
}

static unsigned next_interleave(const struct mm *m, const struct mm_cpu *pc,
                                const struct mm_policy *pol)
{
    for (unsigned d = 1; d <= m->nzones; d++) {
        unsigned n = (pc->interleave + d) % m->nzones;
        if (pol->mask >> n & 1)
            return n;
    }
    return 0;
}

unsigned mm_policy_order(const struct mm *m, const struct mm_cpu *pc, const struct mm_policy *pol,
                         unsigned *out)
{
    unsigned from = pc->node;
    if (pol->mode == MM_POL_PREFERRED)
        from = pol->node;
    else if (pol->mode == MM_POL_INTERLEAVE)
        from = next_interleave(m, pc, pol);
    return by_distance(m, pol, from, out);
}

int mm_alloc_policy(struct hal_cpu *c, const struct mm *m, struct mm_cpu *pc,
                    const struct mm_policy *pol, unsigned order, hal_paddr_t *pa,
                    unsigned *node)
{
    unsigned order_of[MM_MAX_NODES];
    unsigned k = mm_policy_order(m, pc, pol, order_of);
    if (pol->mode == MM_POL_INTERLEAVE)
        pc->interleave = next_interleave(m, pc, pol);
    int rc = MM_ENOMEM;
    uint32_t injected = pc->injected;
    for (unsigned j = 0; j < k; j++) {
        rc = mm_page_alloc(c, m, pc, order_of[j], order, pa);
        if (rc == HAL_OK) {
            if (node)
                *node = order_of[j];
            return HAL_OK;
        }
        if (rc != MM_ENOMEM || pc->injected != injected)
            return rc; /* an injected failure fails the request, as a failed slow path */
    }
    return rc;
}
