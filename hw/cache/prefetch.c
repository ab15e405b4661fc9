/* Hardware prefetchers as a table of types (prefetch.h): next-line,
 * IP-stride and stream, each one observe rule plus default parameters.
 *
 *   type       trains on                     proposes (per trigger, same page)
 *   next_line  an access whose previous line  L+1 .. L+degree
 *              was among the last `entries`
 *              it saw (train 0: every access)
 *   ip_stride  accesses of one request id    L+s .. L+degree*s once the stride s
 *              (pc % entries, direct-mapped)  repeated `train` times; never more
 *                                            than `distance` lines ahead
 *   stream     accesses within a 4 KiB page  after `train` accesses in one
 *              (`entries` pages, LRU)        direction, up to `degree` new lines
 *                                            ahead, as far as
 *                                            min(distance, degree × confidence)
 *
 * Confidence is the number of accesses that confirmed the direction or
 * stride; it ramps the reach (stream) or the degree (ip_stride) up, so a
 * short run of accesses costs few useless lines and a long stream runs far
 * ahead. Accuracy throttling and the page rule are invariants 1-3 of
 * prefetch.h. */
#include "hw/prefetch.h"

#include <stdlib.h>
#include <string.h>

#include "orrery/checkpoint.h"
#include "orrery/config.h"
#include "orrery/error.h"
#include "orrery/units.h"

#define LINE_SHIFT 6
#define PAGE_LINES 64 /* 4 KiB */
#define MAX_CONF 16

struct pf_entry {
    bool valid;
    uint64_t key;   /* stream: page number; ip_stride: the request id */
    int64_t last;   /* line index of the last access */
    int64_t stride; /* ip_stride: lines; stream: direction, -1 or +1 (0 = unknown) */
    int64_t next;   /* stream: the furthest line index proposed */
    uint32_t conf;
    uint64_t stamp;
};

static enum pf_result propose(struct pf_unit *u, int64_t idx, int64_t origin, pf_issue_fn issue,
                              void *arg, bool write)
{
    if (idx < 0 || idx / PAGE_LINES != origin / PAGE_LINES) /* invariant 1 */
        return PF_DROPPED;
    if (!u->nLeft)
        return PF_DROPPED;
    u->nLeft--;
    return issue(arg, u, (uint64_t)idx << LINE_SHIFT, u->exclusive || write);
}

/* With train > 0 (the default) it fires only on an ascending access: one
 * whose previous line is among the last `entries` lines it saw (Intel's
 * DCU prefetcher fires on ascending accesses to recently loaded data), so
 * a lock word or a random load does not drag its neighbour in. */
static void observe_next_line(struct pf_unit *u, const struct pf_access *a, pf_issue_fn issue,
                              void *arg)
{
    int64_t l = (int64_t)(a->line >> LINE_SHIFT);
    if (u->train && u->nEntry) {
        bool ascending = false;
        for (uint32_t i = 0; i < u->nEntry && !ascending; i++)
            ascending = u->aEntry[i].valid && u->aEntry[i].last == l - 1;
        u->aEntry[u->clock % u->nEntry] = (struct pf_entry){.valid = true, .last = l};
        if (!ascending)
            return;
    }
    for (uint32_t k = 1; k <= u->degree; k++)
        if (propose(u, l + k, l, issue, arg, a->write) == PF_DROPPED)
            return;
}

static void observe_ip_stride(struct pf_unit *u, const struct pf_access *a, pf_issue_fn issue,
                              void *arg)
{
    int64_t l = (int64_t)(a->line >> LINE_SHIFT);
    struct pf_entry *e = &u->aEntry[a->pc % u->nEntry];
    if (!e->valid || e->key != a->pc) {
        *e = (struct pf_entry){.valid = true, .key = a->pc, .last = l};
        return;
    }
    int64_t d = l - e->last;
    if (d == 0)
        return;
    if (d == e->stride) {
        if (e->conf < MAX_CONF)
            e->conf++;
    } else {
        e->stride = d;
        e->conf = 0;
    }
    e->last = l;
    if (e->conf < u->train)
        return;
    uint32_t n = e->conf - u->train + 1;
    if (n > u->degree)
        n = u->degree;
    for (uint32_t k = 1; k <= n; k++) {
        int64_t ahead = (int64_t)k * e->stride;
        if ((ahead < 0 ? -ahead : ahead) > (int64_t)u->distance)
            return;
        if (propose(u, l + ahead, l, issue, arg, a->write) == PF_DROPPED)
            return;
    }
}

static struct pf_entry *stream_entry(struct pf_unit *u, uint64_t page, int64_t l)
{
    struct pf_entry *victim = &u->aEntry[0];
    for (uint32_t i = 0; i < u->nEntry; i++) {
        struct pf_entry *e = &u->aEntry[i];
        if (e->valid && e->key == page)
            return e;
        if (!e->valid || (victim->valid && e->stamp < victim->stamp))
            victim = e;
    }
    *victim = (struct pf_entry){.valid = true, .key = page, .last = l, .next = l};
    return victim;
}

static void observe_stream(struct pf_unit *u, const struct pf_access *a, pf_issue_fn issue,
                           void *arg)
{
    int64_t l = (int64_t)(a->line >> LINE_SHIFT);
    struct pf_entry *e = stream_entry(u, (uint64_t)l / PAGE_LINES, l);
    e->stamp = u->clock;
    int64_t d = l - e->last;
    if (d != 0) {
        int64_t dir = d > 0 ? 1 : -1;
        if (dir == e->stride) {
            if (e->conf < MAX_CONF)
                e->conf++;
        } else {
            e->stride = dir;
            e->conf = 1;
            e->next = l;
        }
        e->last = l;
    }
    if (e->conf < u->train || e->stride == 0)
        return;
    uint64_t reach = (uint64_t)u->degree * (e->conf - u->train + 1);
    if (reach > u->distance)
        reach = u->distance;
    int64_t far = l + e->stride * (int64_t)reach;
    int64_t from = (e->next - l) * e->stride > 0 ? e->next : l;
    for (uint32_t k = 0; k < u->degree; k++) {
        int64_t idx = from + e->stride * (k + 1);
        if ((far - idx) * e->stride < 0)
            return;
        if (propose(u, idx, l, issue, arg, a->write) == PF_DROPPED)
            return;
        e->next = idx;
    }
}

const struct pf_type pf_types[PF_NKIND] = {
    [PF_NEXT_LINE] = {"next_line",
                      "the next `degree` lines after an ascending access (its previous line "
                      "among the last `entries` seen; train 0: after every access)",
                      1, 1, 1, 8, observe_next_line},
    [PF_IP_STRIDE] = {"ip_stride",
                      "a per-request-id stride table: once a stride repeats `train` times, "
                      "lines a stride, two strides, ... ahead",
                      2, 8, 2, 64, observe_ip_stride},
    [PF_STREAM] = {"stream",
                   "per-page stream detection with a training window; reach ramps with "
                   "confidence up to `distance` lines",
                   4, 20, 2, 32, observe_stream},
};

const char *const pf_type_names[] = {"next_line", "ip_stride", "stream", NULL};
const char *const pf_level_names[PF_NLEVEL] = {"l1", "l2"};

const struct orr_param pf_entry_params[] = {
    {"type", ORR_P_ENUM, NULL, 0, "next_line, ip_stride or stream (docs/memory.md)",
     pf_type_names},
    {"degree", ORR_P_UINT, "0", 0,
     "lines proposed per trigger, 1..mshrs; 0 or absent = the type's default (1, 2, 4)", NULL, 0,
     256},
    {"distance", ORR_P_UINT, "0", 0,
     "furthest lines ahead at full confidence, >= degree; 0 = the type's default (1, 8, 20)",
     NULL, 0, PAGE_LINES},
    {"train", ORR_P_UINT, "0", 0,
     "confirming accesses before proposing (ip_stride, stream; next_line: 1 = only after an "
     "ascending access; 0 = every access); absent = the type's default (1, 2, 2)",
     NULL, 0, MAX_CONF},
    {"entries", ORR_P_UINT, "0", 0,
     "recent lines (next_line), request ids (ip_stride) or streams tracked; 0 = the type's "
     "default (8, 64, 32)", NULL, 0,
     1024},
    {"exclusive", ORR_P_BOOL, "false", 0,
     "ask for write permission (a GETM) instead of a shared read (GETS)"},
    {NULL},
};

static uint32_t or_default(const struct orr_params *e, const char *key, uint32_t def)
{
    uint32_t v = (uint32_t)orr_param_u64(e, key);
    return v ? v : def;
}

int pf_unit_init(struct pf_unit *u, enum pf_level level, const struct orr_params *entry)
{
    memset(u, 0, sizeof *u);
    u->kind = (enum pf_kind)orr_param_enum(entry, "type");
    const struct pf_type *t = &pf_types[u->kind];
    u->level = level;
    u->degree = or_default(entry, "degree", t->degree);
    u->distance = or_default(entry, "distance", t->distance);
    if (u->distance < u->degree)
        u->distance = u->degree;
    u->train = orr_param_given(entry, "train") ? (uint32_t)orr_param_u64(entry, "train") : t->train;
    u->nEntry = or_default(entry, "entries", t->entries);
    u->exclusive = orr_param_bool(entry, "exclusive");
    if (u->nEntry && !(u->aEntry = calloc(u->nEntry, sizeof *u->aEntry)))
        return ORR_ENOMEM;
    return 0;
}

void pf_unit_free(struct pf_unit *u)
{
    free(u->aEntry);
    u->aEntry = NULL;
}

void pf_observe(struct pf_unit *u, const struct pf_access *a, pf_issue_fn issue, void *arg)
{
    u->clock++;
    u->nLeft = !u->throttled ? UINT32_MAX : u->nSkip++ % PF_SAMPLE == 0 ? 1 : 0;
    pf_types[u->kind].observe(u, a, issue, arg);
}

void pf_outcome(struct pf_unit *u, enum pf_outcome o)
{
    if (o == PF_USELESS)
        u->nBad++;
    else
        u->nGood++;
    uint32_t n = u->nGood + u->nBad;
    u->throttled = n >= PF_WINDOW / 2 && u->nGood * PF_MIN_ACCURACY_INV < n;
    if (!u->throttled)
        u->nSkip = 0;
    if (n >= PF_WINDOW) {
        u->nGood /= 2;
        u->nBad /= 2;
    }
}

int pf_check_level(const struct orr_params *level, const char *keypath, const char *key,
                   uint32_t mshrs, struct orr_diag *d)
{
    size_t n;
    const struct orr_params *a = orr_param_groups(level, "prefetch", &n);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const struct pf_type *t = &pf_types[orr_param_enum(&a[i], "type")];
        uint64_t deg = orr_param_u64(&a[i], "degree");
        bool given = orr_param_given(&a[i], "degree");
        uint64_t eff = deg || given ? deg : t->degree;
        if (eff == 0 || eff > mshrs) {
            char *kp = orr_keypath_join(keypath, key);
            orr_diag_error(d, orr_param_mark(&a[i], given ? "degree" : "type"), kp,
                           "prefetch.%zu: degree %llu of a %s prefetcher must be 1..%u (the "
                           "lines this level can have in flight: more per trigger than its miss "
                           "buffers hold is a mistake)",
                           i, (unsigned long long)eff, t->name, mshrs);
            free(kp);
            rc = ORR_ESCHEMA;
        }
    }
    return rc;
}

void pf_unit_save(const struct pf_unit *u, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_array(w, u->aEntry, u->nEntry, sizeof *u->aEntry);
    orr_ckpt_put_u64(w, u->clock);
    orr_ckpt_put_u32(w, u->nGood);
    orr_ckpt_put_u32(w, u->nBad);
    orr_ckpt_put_u32(w, u->nSkip);
    orr_ckpt_put_u8(w, u->throttled);
    orr_ckpt_put_u32(w, u->nLeft);
}

void pf_unit_restore(struct pf_unit *u, struct orr_ckpt_reader *r)
{
    orr_ckpt_get_into(r, u->aEntry, u->nEntry * sizeof *u->aEntry);
    u->clock = orr_ckpt_get_u64(r);
    u->nGood = orr_ckpt_get_u32(r);
    u->nBad = orr_ckpt_get_u32(r);
    u->nSkip = orr_ckpt_get_u32(r);
    u->throttled = orr_ckpt_get_u8(r) != 0;
    u->nLeft = orr_ckpt_get_u32(r);
}
