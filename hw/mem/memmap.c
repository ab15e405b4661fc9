/* memmap: the physical memory map library (see memmap.h): ranges kept in an
 * array, sorted once by memmap_finalize, looked up by binary search.
 * Cost: add O(1) amortised, finalize O(n log n), find O(log n). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/memmap.h"
#include "orrery/error.h"
#include "orrery/params.h"
#include "orrery/units.h"

void memmap_init(struct memmap *m) { memset(m, 0, sizeof *m); }

void memmap_free(struct memmap *m)
{
    for (size_t i = 0; i < m->nRange; i++)
        free(m->aRange[i].name);
    free(m->aRange);
    memset(m, 0, sizeof *m);
}

static struct memmap_range *push(struct memmap *m, uint64_t base, uint64_t size,
                                 const char *name, const struct orr_mark *mark)
{
    if (m->nRange == m->nAlloc) {
        size_t cap = m->nAlloc ? m->nAlloc * 2 : 8;
        struct memmap_range *a = realloc(m->aRange, cap * sizeof *a);
        if (!a)
            return NULL;
        m->aRange = a;
        m->nAlloc = cap;
    }
    const char *text = name ? name : "";
    char *copy = malloc(strlen(text) + 1);
    if (!copy)
        return NULL;
    strcpy(copy, text);
    struct memmap_range *r = &m->aRange[m->nRange];
    memset(r, 0, sizeof *r);
    r->base = base;
    r->size = size;
    r->name = copy;
    r->nWay = 1;
    if (mark)
        r->mark = *mark;
    r->order = m->nRange++;
    m->finalized = false;
    return r;
}

static bool range_ok(uint64_t base, uint64_t size)
{
    return size > 0 && base <= UINT64_MAX - size;
}

int memmap_add(struct memmap *m, uint64_t base, uint64_t size, unsigned target,
               const char *name, const struct orr_mark *mark)
{
    if (!range_ok(base, size))
        return ORR_EINVAL;
    struct memmap_range *r = push(m, base, size, name, mark);
    if (!r)
        return ORR_ENOMEM;
    r->aTarget[0] = target;
    return 0;
}

int memmap_interleave(struct memmap *m, uint64_t base, uint64_t size, const unsigned *aTarget,
                      unsigned nTarget, uint64_t granule, const char *name,
                      const struct orr_mark *mark)
{
    if (!range_ok(base, size) || nTarget < 1 || nTarget > MEMMAP_MAX_WAYS || granule < 64 ||
        (granule & (granule - 1)) || size % granule || (size / granule) % nTarget)
        return ORR_EINVAL;
    for (unsigned i = 0; i < nTarget; i++)
        for (unsigned j = 0; j < i; j++)
            if (aTarget[i] == aTarget[j])
                return ORR_EINVAL;
    struct memmap_range *r = push(m, base, size, name, mark);
    if (!r)
        return ORR_ENOMEM;
    memcpy(r->aTarget, aTarget, nTarget * sizeof *aTarget);
    r->nWay = nTarget;
    r->granule = nTarget > 1 ? granule : 0;
    return 0;
}

/* By base, then by insertion order: a total order, so qsort's instability
 * cannot change the result. */
static int range_cmp(const void *pa, const void *pb)
{
    const struct memmap_range *a = pa, *b = pb;
    if (a->base != b->base)
        return a->base < b->base ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static uint64_t range_end(const struct memmap_range *r) { return r->base + r->size; }

/* Sort, then sweep keeping the range that reaches furthest so far: a range
 * starting before that end overlaps it. Calls report for each overlap. */
static int sweep(struct memmap *m, void (*report)(void *, const struct memmap_range *,
                                                  const struct memmap_range *),
                 void *arg)
{
    if (m->nRange > 1)
        qsort(m->aRange, m->nRange, sizeof *m->aRange, range_cmp);
    int rc = 0;
    const struct memmap_range *reach = NULL;
    for (size_t i = 0; i < m->nRange; i++) {
        const struct memmap_range *r = &m->aRange[i];
        if (reach && r->base < range_end(reach)) {
            rc = ORR_ESCHEMA;
            report(arg, reach, r);
        }
        if (!reach || range_end(r) > range_end(reach))
            reach = r;
    }
    m->finalized = rc == 0;
    return rc;
}

static void keep_first(void *arg, const struct memmap_range *a, const struct memmap_range *b)
{
    struct memmap_overlap *ov = arg;
    if (ov && !ov->a) {
        ov->a = a;
        ov->b = b;
    }
}

int memmap_finalize(struct memmap *m, struct memmap_overlap *ov)
{
    if (ov)
        *ov = (struct memmap_overlap){NULL, NULL};
    return sweep(m, keep_first, ov);
}

struct diag_ctx {
    struct orr_diag *d;
    const char *keypath;
};

void memmap_format_range(const struct memmap_range *r, char *buf, size_t n)
{
    snprintf(buf, n, "[0x%" PRIx64 ", 0x%" PRIx64 ")", r->base, range_end(r));
}

static void report_diag(void *arg, const struct memmap_range *a, const struct memmap_range *b)
{
    struct diag_ctx *x = arg;
    char ra[64], rb[64], where[256] = "";
    memmap_format_range(a, ra, sizeof ra);
    memmap_format_range(b, rb, sizeof rb);
    if (a->mark.file)
        snprintf(where, sizeof where, " declared at %s:%u:%u", a->mark.file, a->mark.line,
                 a->mark.col);
    orr_diag_error(x->d, b->mark.file ? &b->mark : NULL, x->keypath,
                   "range '%s' %s overlaps '%s' %s%s", b->name, rb, a->name, ra, where);
}

int memmap_finalize_diag(struct memmap *m, struct orr_diag *d, const char *keypath)
{
    struct diag_ctx x = {d, keypath};
    return sweep(m, report_diag, &x);
}

const struct memmap_range *memmap_find(const struct memmap *m, uint64_t addr)
{
    if (!m->finalized)
        abort(); /* a lookup in an unchecked map is a programming error */
    size_t lo = 0, hi = m->nRange; /* first range with base > addr is at lo */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->aRange[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct memmap_range *r = &m->aRange[lo - 1];
    return addr - r->base < r->size ? r : NULL;
}

bool memmap_resolve(const struct memmap *m, uint64_t addr, unsigned *target, uint64_t *offset)
{
    const struct memmap_range *r = memmap_find(m, addr);
    if (!r)
        return false;
    uint64_t off = addr - r->base;
    if (r->nWay == 1) {
        *target = r->aTarget[0];
        *offset = off;
        return true;
    }
    uint64_t chunk = off / r->granule;
    *target = r->aTarget[chunk % r->nWay];
    *offset = chunk / r->nWay * r->granule + off % r->granule;
    return true;
}

bool memmap_check(const struct memmap *m)
{
    for (size_t i = 0; i < m->nRange; i++) {
        const struct memmap_range *r = &m->aRange[i];
        if (!range_ok(r->base, r->size) || r->nWay < 1 || r->nWay > MEMMAP_MAX_WAYS || !r->name)
            return false;
        if (r->nWay > 1 && (r->granule == 0 || r->size % (r->granule * r->nWay)))
            return false;
        if (m->finalized && i + 1 < m->nRange && range_end(r) > m->aRange[i + 1].base)
            return false;
    }
    return true;
}


/* ------------------------------------------------------------ ranges: key */

const struct orr_param memmap_range_params[] = {
    {"port", ORR_P_UINT, NULL, 0, "downstream port number"},
    {"base", ORR_P_ADDR, NULL, 0, "first address (0x... hex, decimal or 4GiB)"},
    {"size", ORR_P_SIZE, NULL, ORR_PF_POSITIVE, "bytes from base"},
    {"name", ORR_P_STRING, "", 0, "name used in messages (default: d<port>)"},
    {NULL},
};

const struct orr_param memmap_ranges_key[] = {
    {"ranges", ORR_P_GROUPS, NULL, ORR_PF_NONEMPTY,
     "address ranges per downstream port: [{port: N, base: 0x..., size: 64GiB, name}, ...]",
     .group = memmap_range_params},
    {NULL},
};

int memmap_read_ranges(struct memmap *m, const struct orr_params *p, unsigned nPort,
                       const char *keypath, struct orr_diag *d)
{
    int rc = 0;
    size_t n = 0;
    const struct orr_params *r = orr_param_groups(p, "ranges", &n);
    for (size_t i = 0; i < n; i++) {
        char kp[256], name[32];
        snprintf(kp, sizeof kp, "%s.ranges.%zu", keypath, i);
        uint64_t port = orr_param_u64(&r[i], "port"), size = orr_param_u64(&r[i], "size");
        uint64_t base = orr_param_u64(&r[i], "base");
        if (port >= nPort) {
            orr_diag_error(d, orr_param_mark(&r[i], "port"), kp,
                           "port %llu is not a downstream port (0..%u)",
                           (unsigned long long)port, nPort - 1);
            rc = ORR_ESCHEMA;
            continue;
        }
        snprintf(name, sizeof name, "d%llu", (unsigned long long)port);
        const char *given = orr_param_str(&r[i], "name");
        if (memmap_add(m, base, size, (unsigned)port, *given ? given : name, &r[i].mark) != 0) {
            orr_diag_error(d, orr_param_mark(&r[i], "size"), kp,
                           "range goes beyond the end of the address space");
            rc = ORR_ESCHEMA;
        }
    }
    if (rc == 0 && memmap_finalize_diag(m, d, keypath) != 0)
        rc = ORR_ESCHEMA;
    return rc;
}
