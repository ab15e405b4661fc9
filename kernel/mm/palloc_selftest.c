/* The "palloc" selftest suite: the buddy allocator, per-CPU lists, NUMA
 * policy, slab caches and the mm_check checker, on CPU 0 alone, through
 * hal_load/hal_store only (any backend with memory, QEMU included).
 * Memory: a window of the kernel's region from a quarter in plus 256 KiB
 * (past the table frames the "mm" suite uses), below half of it (the
 * lock benchmark's); split into two "nodes" where a test wants two. */
#include "kernel/ktest.h"
#include "kernel/kstring.h"
#include "kernel/mm.h"
#include "kernel/palloc.h"

#define PAGE HAL_PAGE_SIZE
#define KiB 1024ull

static int window(struct hal_cpu *c, hal_paddr_t *at, uint64_t *size)
{
    hal_paddr_t base;
    uint64_t rsize;
    if (hal_mem_region(c, &base, &rsize) != HAL_OK)
        return KTEST_SKIP;
    hal_paddr_t w = (base + rsize / 4 + 256 * KiB + PAGE - 1) & ~(hal_paddr_t)(PAGE - 1);
    hal_paddr_t end = (base + rsize / 2) & ~(hal_paddr_t)(PAGE - 1);
    if (end < w + 512 * KiB)
        return KTEST_SKIP;
    *at = w;
    *size = end - w < 2048 * KiB ? end - w : 2048 * KiB;
    return KTEST_OK;
}

static struct mm_config config(bool pcp)
{
    struct mm_config cfg;
    kmemset(&cfg, 0, sizeof cfg);
    cfg.pcp = pcp;
    cfg.batch = 4;
    cfg.high = 8;
    return cfg;
}

/* `nodes` zones over the window (distances 10 and 30), booted. */
static int setup(struct hal_cpu *c, struct mm *m, struct mm_cpu *pc, unsigned nodes,
                 const struct mm_config *cfg)
{
    hal_paddr_t w;
    uint64_t size;
    int rc = window(c, &w, &size);
    if (rc)
        return rc;
    struct mm_node_mem nm[2];
    uint64_t each = size / nodes & ~(uint64_t)(PAGE - 1);
    for (unsigned i = 0; i < nodes; i++)
        nm[i] = (struct mm_node_mem){w + i * each, each};
    static const uint8_t dist[4] = {10, 30, 30, 10};
    if (mm_layout(m, nm, nodes, nodes == 2 ? dist : 0, 2, cfg) != HAL_OK ||
        mm_boot(c, m) != HAL_OK)
        return __LINE__;
    mm_cpu_init(c, m, pc);
    pc->cpu = 0;
    pc->node = 0;
    return KTEST_OK;
}

static uint64_t managed(const struct mm *m, unsigned z) { return m->zone[z].npages - m->zone[z].first; }

static bool same_blocks(struct hal_cpu *c, const struct mm *m, const uint64_t *before)
{
    uint64_t now[MM_MAX_ORDER + 1];
    mm_zone_blocks(c, m, 0, now);
    return kmemcmp(now, before, sizeof now) == 0;
}

static int test_boot(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(false);
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    KTEST_CHECK(mm_check(c, &m) == 0);
    KTEST_CHECK(mm_zone_free(c, &m, 0) == managed(&m, 0));
    uint64_t b[MM_MAX_ORDER + 1], sum = 0;
    mm_zone_blocks(c, &m, 0, b);
    for (unsigned o = 0; o <= MM_MAX_ORDER; o++)
        sum += b[o] << o;
    KTEST_CHECK(sum == managed(&m, 0));
    return KTEST_OK;
}

/* Split on the way down, merge back to the same blocks on the way up. */
static int test_split_merge(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(false);
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    uint64_t before[MM_MAX_ORDER + 1];
    mm_zone_blocks(c, &m, 0, before);
    hal_paddr_t pa[6];
    static const unsigned orders[6] = {0, 3, 1, 0, 5, 2};
    uint64_t used = 0;
    for (unsigned i = 0; i < 6; i++) {
        KTEST_CHECK(mm_page_alloc(c, &m, &pc, 0, orders[i], &pa[i]) == HAL_OK);
        KTEST_CHECK((pa[i] - m.zone[0].base) / PAGE % (1u << orders[i]) == 0);
        used += 1u << orders[i];
        KTEST_CHECK(mm_zone_free(c, &m, 0) == managed(&m, 0) - used);
        KTEST_CHECK(mm_check(c, &m) == 0);
    }
    static const unsigned back[6] = {3, 0, 5, 1, 4, 2};
    for (unsigned i = 0; i < 6; i++) {
        KTEST_CHECK(mm_page_free(c, &m, &pc, pa[back[i]], orders[back[i]]) == HAL_OK);
        KTEST_CHECK(mm_check(c, &m) == 0);
    }
    KTEST_CHECK(same_blocks(c, &m, before)); /* every split merged back */
    return KTEST_OK;
}

/* Every page once, then nothing; all back; a second free refused. */
static int test_exhaust(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(false);
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    uint64_t before[MM_MAX_ORDER + 1], n = 0;
    mm_zone_blocks(c, &m, 0, before);
    hal_paddr_t pa, first = 0;
    while (mm_page_alloc(c, &m, &pc, 0, 0, &pa) == HAL_OK) {
        if (n++ == 0)
            first = pa;
        hal_store(c, pa, 8, pa);
    }
    KTEST_CHECK(n == managed(&m, 0));
    KTEST_CHECK(mm_zone_free(c, &m, 0) == 0);
    KTEST_CHECK(mm_check(c, &m) == 0);
    for (uint64_t i = 0; i < n; i++) { /* each page is its own: none handed out twice */
        uint64_t v = 0;
        hal_paddr_t p = m.zone[0].base + (m.zone[0].first + i) * PAGE;
        hal_load(c, p, 8, &v);
        KTEST_CHECK(v == p);
        KTEST_CHECK(mm_page_free(c, &m, &pc, p, 0) == HAL_OK);
    }
    KTEST_CHECK(same_blocks(c, &m, before));
    KTEST_CHECK(mm_page_free(c, &m, &pc, first, 0) == MM_EFREE); /* a double free */
    KTEST_CHECK(mm_page_free(c, &m, &pc, first + 8, 0) == MM_EFREE);
    KTEST_CHECK(mm_check(c, &m) == 0);
    return KTEST_OK;
}

/* A per-CPU list takes `batch` pages at once and gives `batch` back above `high`. */
static int test_pcp(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(true);
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    uint64_t before[MM_MAX_ORDER + 1], all = mm_zone_free(c, &m, 0);
    mm_zone_blocks(c, &m, 0, before);
    hal_paddr_t pa[12];
    KTEST_CHECK(mm_page_alloc(c, &m, &pc, 0, 0, &pa[0]) == HAL_OK);
    KTEST_CHECK(mm_zone_free(c, &m, 0) == all - 4); /* one batch */
    KTEST_CHECK(mm_check(c, &m) == 0);
    for (unsigned i = 1; i < 12; i++)
        KTEST_CHECK(mm_page_alloc(c, &m, &pc, 0, 0, &pa[i]) == HAL_OK);
    KTEST_CHECK(mm_zone_free(c, &m, 0) == all - 12);
    for (unsigned i = 0; i < 12; i++) {
        KTEST_CHECK(mm_page_free(c, &m, &pc, pa[i], 0) == HAL_OK);
        KTEST_CHECK(mm_check(c, &m) == 0);
    }
    /* 12 freed to the list: above high (8) at the 9th, 4 went back */
    KTEST_CHECK(mm_zone_free(c, &m, 0) == all - 8);
    KTEST_CHECK(mm_page_free(c, &m, &pc, pa[11], 0) == MM_EFREE); /* on the list now */
    mm_pcp_drain(c, &m, &pc);
    KTEST_CHECK(mm_check(c, &m) == 0);
    KTEST_CHECK(same_blocks(c, &m, before));
    return KTEST_OK;
}

/* The checker sees planted corruption: a page in two places, a lost page,
 * a wrong count. */
static int test_check_fires(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(true);
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    hal_paddr_t pa;
    KTEST_CHECK(mm_page_alloc(c, &m, &pc, 0, 0, &pa) == HAL_OK);
    KTEST_CHECK(mm_check(c, &m) == 0);
    const struct mm_zone *z = &m.zone[0];
    hal_paddr_t d = z->desc + (pa - z->base) / PAGE * 16;
    uint64_t s = 0;
    hal_load(c, d, 8, &s);
    /* the allocated page marked as on CPU 1's list, which does not hold it */
    hal_store(c, d, 8, (uint64_t)MM_PG_PCP << 8 | 1u << 16);
    KTEST_CHECK(mm_check(c, &m) != 0);
    /* marked as a tail: a page in no block */
    hal_store(c, d, 8, 0);
    KTEST_CHECK(mm_check(c, &m) != 0);
    hal_store(c, d, 8, s);
    KTEST_CHECK(mm_check(c, &m) == 0);
    uint64_t nf = 0;
    hal_load(c, z->base + 64, 8, &nf);
    hal_store(c, z->base + 64, 8, nf + 1); /* the free count off by one */
    KTEST_CHECK(mm_check(c, &m) != 0);
    hal_store(c, z->base + 64, 8, nf);
    KTEST_CHECK(mm_check(c, &m) == 0);
    return KTEST_OK;
}

static int test_policy(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(false);
    int rc = setup(c, &m, &pc, 2, &cfg);
    if (rc)
        return rc;
    hal_paddr_t pa;
    unsigned node = 9;
    struct mm_policy local = {MM_POL_LOCAL, 0, 0}, pref = {MM_POL_PREFERRED, 1, 0},
                     bind = {MM_POL_BIND, 0, 2}, inter = {MM_POL_INTERLEAVE, 0, 3},
                     bad = {MM_POL_BIND, 0, 1u << 5};
    KTEST_CHECK(mm_policy_check(&m, &bad) == MM_ENODE);
    KTEST_CHECK(mm_policy_check(&m, &inter) == HAL_OK);
    KTEST_CHECK(mm_alloc_policy(c, &m, &pc, &local, 0, &pa, &node) == HAL_OK && node == 0);
    KTEST_CHECK(mm_page_node(&m, pa) == 0);
    KTEST_CHECK(mm_alloc_policy(c, &m, &pc, &pref, 0, &pa, &node) == HAL_OK && node == 1);
    unsigned seen[2] = {0, 0};
    for (unsigned i = 0; i < 6; i++) {
        KTEST_CHECK(mm_alloc_policy(c, &m, &pc, &inter, 0, &pa, &node) == HAL_OK);
        seen[node]++;
        KTEST_CHECK(mm_page_node(&m, pa) == (int)node);
    }
    KTEST_CHECK(seen[0] == 3 && seen[1] == 3);
    /* node 1 exhausted: preferred falls back to node 0, bind fails */
    while (mm_page_alloc(c, &m, &pc, 1, 0, &pa) == HAL_OK)
        ;
    KTEST_CHECK(mm_alloc_policy(c, &m, &pc, &pref, 0, &pa, &node) == HAL_OK && node == 0);
    KTEST_CHECK(mm_alloc_policy(c, &m, &pc, &bind, 0, &pa, &node) == MM_ENOMEM);
    KTEST_CHECK(mm_check(c, &m) == 0);
    return KTEST_OK;
}

/* Fallback follows the distance matrix, not node numbers. */
static int test_policy_distance(struct hal_cpu *c)
{
    struct mm m;
    struct mm_node_mem nm[3] = {{0, 0}, {0, 0}, {0, 0}};
    static const uint8_t dist[9] = {10, 40, 20, 40, 10, 30, 20, 30, 10};
    struct mm_config cfg = config(false);
    hal_paddr_t w;
    uint64_t size;
    int rc = window(c, &w, &size);
    if (rc)
        return rc;
    for (unsigned i = 0; i < 3; i++)
        nm[i] = (struct mm_node_mem){w + i * (size / 3 & ~(uint64_t)(PAGE - 1)),
                                     size / 3 & ~(uint64_t)(PAGE - 1)};
    KTEST_CHECK(mm_layout(&m, nm, 3, dist, 1, &cfg) == HAL_OK);
    struct mm_cpu pc = {0, 0, 2, 0, 0};
    unsigned out[MM_MAX_NODES];
    struct mm_policy local = {MM_POL_LOCAL, 0, 0}, pref = {MM_POL_PREFERRED, 1, 0};
    KTEST_CHECK(mm_policy_order(&m, &pc, &local, out) == 3);
    KTEST_CHECK(out[0] == 0 && out[1] == 2 && out[2] == 1);
    KTEST_CHECK(mm_policy_order(&m, &pc, &pref, out) == 3);
    KTEST_CHECK(out[0] == 1 && out[1] == 2 && out[2] == 0);
    return KTEST_OK;
}

static void ctor(struct hal_cpu *c, hal_paddr_t obj, void *arg)
{
    hal_store(c, obj + 8, 8, (uint64_t)(uintptr_t)arg);
}

static int test_slab(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(true);
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    struct mm_slab_cache sc;
    KTEST_CHECK(mm_slab_create(c, &m, &pc, &sc, 100, 0, ctor, (void *)(uintptr_t)0x5eed) ==
                HAL_OK);
    KTEST_CHECK(sc.size == 104 && sc.per_slab == (PAGE - 64) / 104);
    enum { N = 90 };
    hal_paddr_t o[N];
    for (unsigned i = 0; i < N; i++) {
        KTEST_CHECK(mm_slab_alloc(c, &m, &pc, &sc, &o[i]) == HAL_OK);
        uint64_t v = 0;
        hal_load(c, o[i] + 8, 8, &v);
        KTEST_CHECK(v == 0x5eed); /* constructed */
        for (unsigned j = 0; j < i; j++)
            KTEST_CHECK(o[j] != o[i]);
    }
    KTEST_CHECK(mm_slab_check(c, &m, &sc, N) == 0);
    KTEST_CHECK(mm_slab_check(c, &m, &sc, N - 1) != 0); /* one object unaccounted */
    KTEST_CHECK(mm_slab_free(c, &m, &pc, &sc, o[0] + 8) == MM_EFREE);
    for (unsigned i = 0; i < N; i++)
        KTEST_CHECK(mm_slab_free(c, &m, &pc, &sc, o[i]) == HAL_OK);
    mm_slab_drain(c, &m, &pc, &sc);
    KTEST_CHECK(mm_slab_check(c, &m, &sc, 0) == 0);
    mm_pcp_drain(c, &m, &pc);
    KTEST_CHECK(mm_check(c, &m) == 0);
    return KTEST_OK;
}

/* Hardened: a write after free is caught when the object is handed out again. */
static int test_slab_poison(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(false);
    cfg.hardened = true;
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    struct mm_slab_cache sc;
    KTEST_CHECK(mm_slab_create(c, &m, &pc, &sc, 64, 0, ctor, (void *)(uintptr_t)7) == HAL_OK);
    hal_paddr_t a, b;
    KTEST_CHECK(mm_slab_alloc(c, &m, &pc, &sc, &a) == HAL_OK);
    uint64_t v = 0;
    hal_load(c, a + 8, 8, &v);
    KTEST_CHECK(v == 7); /* the constructor ran again after the poison check */
    KTEST_CHECK(mm_slab_free(c, &m, &pc, &sc, a) == HAL_OK);
    hal_load(c, a + 16, 8, &v);
    KTEST_CHECK(v == MM_POISON);
    KTEST_CHECK(mm_slab_check(c, &m, &sc, 0) == 0);
    hal_store(c, a + 16, 8, 1); /* a use after free */
    KTEST_CHECK(mm_slab_alloc(c, &m, &pc, &sc, &b) == MM_EPOISON);
    return KTEST_OK;
}

/* The fault point: every third allocation fails and is counted. */
static int test_fault_point(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(true);
    cfg.fail_every = 3;
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    hal_paddr_t pa;
    unsigned ok = 0;
    for (unsigned i = 0; i < 9; i++)
        ok += mm_page_alloc(c, &m, &pc, 0, 0, &pa) == HAL_OK;
    KTEST_CHECK(ok == 6 && pc.injected == 3);
    KTEST_CHECK(mm_check(c, &m) == 0);
    return KTEST_OK;
}

/* Page tables on buddy frames: the space's root, mailbox and tables come
 * from the zone, zeroed, and the zone stays consistent. */
static int test_vm_frames(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(true);
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    uint64_t all = mm_zone_free(c, &m, 0);
    struct vm_frames f;
    struct vm_space s;
    vm_frames_init_buddy(&f, &m);
    KTEST_CHECK(vm_space_init(c, &s, &f) == HAL_OK);
    KTEST_CHECK(mm_page_node(&m, s.root) == 0 && mm_page_node(&m, s.shoot) == 0);
    hal_paddr_t data;
    KTEST_CHECK(vm_frame_alloc(c, &s.frames, &data) == HAL_OK && mm_page_node(&m, data) == 0);
    uint64_t v = 1;
    hal_load(c, data + 4088, 8, &v);
    KTEST_CHECK(v == 0); /* zeroed */
    const uint64_t va = 0x40201000;
    KTEST_CHECK(vm_map(c, &s, va, data, 0, HAL_PTE_R | HAL_PTE_W | HAL_PTE_A | HAL_PTE_D) ==
                HAL_OK);
    uint64_t pte = 0;
    unsigned level = 9;
    KTEST_CHECK(vm_lookup(c, &s, va, &pte, &level) == HAL_OK && level == 0);
    KTEST_CHECK(pte >> HAL_PTE_PPN_SHIFT << HAL_PAGE_SHIFT == data);
    /* root, mailbox, data, three tables: six pages, out of two batches of 4 */
    KTEST_CHECK(mm_zone_free(c, &m, 0) == all - 8);
    KTEST_CHECK(mm_check(c, &m) == 0);
    return KTEST_OK;
}

/* Watermarks: refused at min, one pressure event per fall below low until
 * the zone is back above high. */
static int test_watermarks(struct hal_cpu *c)
{
    struct mm m;
    struct mm_cpu pc;
    struct mm_config cfg = config(false);
    cfg.wmark_min = 8, cfg.wmark_low = 16, cfg.wmark_high = 32;
    int rc = setup(c, &m, &pc, 1, &cfg);
    if (rc)
        return rc;
    static hal_paddr_t pa[1024];
    uint64_t n = 0, ev = 9, ref = 9;
    while (n < 1024 && mm_page_alloc(c, &m, &pc, 0, 0, &pa[n]) == HAL_OK)
        n++;
    KTEST_CHECK(n < 1024 && n == managed(&m, 0) - 8); /* min pages stay free */
    mm_zone_pressure(c, &m, 0, &ev, &ref);
    KTEST_CHECK(ev == 1 && ref == 1);
    for (unsigned k = 0; k < 20; k++) /* 28 free: above low, not above high */
        KTEST_CHECK(mm_page_free(c, &m, &pc, pa[--n], 0) == HAL_OK);
    for (unsigned k = 0; k < 15; k++) /* below low again: the same event */
        KTEST_CHECK(mm_page_alloc(c, &m, &pc, 0, 0, &pa[n++]) == HAL_OK);
    mm_zone_pressure(c, &m, 0, &ev, &ref);
    KTEST_CHECK(ev == 1);
    for (unsigned k = 0; k < 30; k++) /* 43 free: above high */
        KTEST_CHECK(mm_page_free(c, &m, &pc, pa[--n], 0) == HAL_OK);
    for (unsigned k = 0; k < 30; k++) /* 13 free: a new fall */
        KTEST_CHECK(mm_page_alloc(c, &m, &pc, 0, 0, &pa[n++]) == HAL_OK);
    mm_zone_pressure(c, &m, 0, &ev, &ref);
    KTEST_CHECK(ev == 2 && ref == 1);
    KTEST_CHECK(mm_check(c, &m) == 0);
    return KTEST_OK;
}

const struct ktest palloc_ktests[] = {
    {"boot", test_boot},
    {"split_merge", test_split_merge},
    {"exhaust", test_exhaust},
    {"pcp", test_pcp},
    {"check_fires", test_check_fires},
    {"policy", test_policy},
    {"policy_distance", test_policy_distance},
    {"slab", test_slab},
    {"slab_poison", test_slab_poison},
    {"fault_point", test_fault_point},
    {"vm_frames", test_vm_frames},
    {"watermarks", test_watermarks},
    {0, 0},
};
