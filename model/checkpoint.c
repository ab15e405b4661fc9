/* Checkpoint files (include/orrery/checkpoint.h): typed fields, the
 * engine's own state, the sections of components and shared objects, and
 * the file around them (zstd frame, XXH3 checksum, atomic write).
 *
 * What a checkpoint goes through, as a state machine:
 *
 *   RUNNING  -> PAUSED     [orr_sim_run_until: before the first event >= T]
 *   PAUSED   -> SAVED      [orr_ckpt_save: every type and shared object has
 *                           ops, else refused naming them; temp + rename]
 *   PAUSED   -> RUNNING    [orr_sim_run: the run goes on unchanged]
 *   (file)   -> LOADED     [orr_ckpt_load: magic, version, checksum, frame,
 *                           identity; else refused, nothing built]
 *   LOADED   -> BUILT      [caller: orr_scenario_open of the identity's
 *                           scenario, hash compared]
 *   BUILT    -> RESTORED   [orr_ckpt_restore: model shape checked, every
 *                           section consumed exactly; else refused]
 *   RESTORED -> RUNNING    [orr_sim_run]
 *
 * Invariants:
 *   1. Saving never changes the simulation (only the digest's pending batch
 *      is folded in, which orr_sim_digest also does).
 *   2. A restored simulation holds, field for field, the dynamic state of
 *      the saved one: the queue's events (as a set: pop order depends only
 *      on their keys), every counter and sequence number, RNG streams,
 *      link serialisers, stats, payload blocks (same handles), the digest's
 *      running state, and what each type's save op wrote.
 *   3. Every section is read to its last byte; a short or long section is
 *      a corrupt file, not a silent shift. */
#define _POSIX_C_SOURCE 200809L
#define XXH_STATIC_LINKING_ONLY
#include "orrery/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "orrery/error.h"
#include "orrery/outfile.h"
#include "orrery/outq.h"
#include "orrery/ring.h"
#include "orrery/version.h"
#include "sim_internal.h"

static const char kMagic[8] = {'O', 'R', 'R', 'C', 'K', 'P', 'T', 0};
#define HEADER_BYTES 32u
#define TRAILER_BYTES 8u
/* a section longer than this is corrupt (guest RAM of a large model fits) */
#define MAX_CONTENT ((uint64_t)64 << 30)

/* ----------------------------------------------------------- typed fields */

struct orr_ckpt_writer {
    uint8_t *p;
    size_t n, cap;
};

struct orr_ckpt_reader {
    const uint8_t *p;
    size_t n, off;
    const char *why; /* first failure, NULL while fine */
};

static void w_reserve(struct orr_ckpt_writer *w, size_t more)
{
    if (w->n + more <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->n + more)
        cap *= 2;
    uint8_t *p = realloc(w->p, cap);
    if (!p)
        orr_oom();
    w->p = p;
    w->cap = cap;
}

static void w_raw(struct orr_ckpt_writer *w, const void *p, size_t n)
{
    w_reserve(w, n);
    if (n)
        memcpy(w->p + w->n, p, n);
    w->n += n;
}

void orr_ckpt_put_u64(struct orr_ckpt_writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    w_raw(w, b, 8);
}
void orr_ckpt_put_u8(struct orr_ckpt_writer *w, uint8_t v) { w_raw(w, &v, 1); }
void orr_ckpt_put_u32(struct orr_ckpt_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    w_raw(w, b, 4);
}
void orr_ckpt_put_i64(struct orr_ckpt_writer *w, int64_t v) { orr_ckpt_put_u64(w, (uint64_t)v); }
void orr_ckpt_put_f64(struct orr_ckpt_writer *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    orr_ckpt_put_u64(w, u);
}
void orr_ckpt_put_bytes(struct orr_ckpt_writer *w, const void *p, size_t n)
{
    orr_ckpt_put_u64(w, n);
    w_raw(w, p, n);
}
void orr_ckpt_put_str(struct orr_ckpt_writer *w, const char *s)
{
    orr_ckpt_put_u8(w, s != NULL);
    if (s)
        orr_ckpt_put_bytes(w, s, strlen(s));
}

void orr_ckpt_fail(struct orr_ckpt_reader *r, const char *why)
{
    if (!r->why)
        r->why = why;
}
bool orr_ckpt_ok(const struct orr_ckpt_reader *r) { return r->why == NULL; }

static const uint8_t *r_raw(struct orr_ckpt_reader *r, size_t n)
{
    if (r->why)
        return NULL;
    if (n > r->n - r->off) {
        orr_ckpt_fail(r, "a field runs past the end of its section");
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

uint64_t orr_ckpt_get_u64(struct orr_ckpt_reader *r)
{
    const uint8_t *b = r_raw(r, 8);
    uint64_t v = 0;
    for (int i = 0; b && i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}
uint8_t orr_ckpt_get_u8(struct orr_ckpt_reader *r)
{
    const uint8_t *b = r_raw(r, 1);
    return b ? b[0] : 0;
}
uint32_t orr_ckpt_get_u32(struct orr_ckpt_reader *r)
{
    const uint8_t *b = r_raw(r, 4);
    return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
             : 0;
}
int64_t orr_ckpt_get_i64(struct orr_ckpt_reader *r) { return (int64_t)orr_ckpt_get_u64(r); }
double orr_ckpt_get_f64(struct orr_ckpt_reader *r)
{
    uint64_t u = orr_ckpt_get_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}
const void *orr_ckpt_get_bytes(struct orr_ckpt_reader *r, size_t *n)
{
    uint64_t len = orr_ckpt_get_u64(r);
    *n = 0;
    if (r->why)
        return NULL;
    if (len > r->n - r->off) {
        orr_ckpt_fail(r, "a byte string runs past the end of its section");
        return NULL;
    }
    *n = (size_t)len;
    return len ? r_raw(r, (size_t)len) : NULL;
}
void orr_ckpt_get_into(struct orr_ckpt_reader *r, void *p, size_t n)
{
    size_t got;
    const void *src = orr_ckpt_get_bytes(r, &got);
    if (r->why)
        return;
    if (got != n) {
        orr_ckpt_fail(r, "a byte string has another size than this model's");
        return;
    }
    if (n)
        memcpy(p, src, n);
}
char *orr_ckpt_get_str(struct orr_ckpt_reader *r)
{
    if (!orr_ckpt_get_u8(r))
        return NULL;
    size_t n;
    const void *p = orr_ckpt_get_bytes(r, &n);
    if (r->why)
        return NULL;
    char *s = malloc(n + 1);
    if (!s)
        orr_oom();
    if (n)
        memcpy(s, p, n);
    s[n] = 0;
    return s;
}
uint64_t orr_ckpt_get_count(struct orr_ckpt_reader *r, size_t min_bytes)
{
    uint64_t n = orr_ckpt_get_u64(r);
    if (r->why)
        return 0;
    if (min_bytes && n > (r->n - r->off) / min_bytes) {
        orr_ckpt_fail(r, "a count is larger than its section can hold");
        return 0;
    }
    return n;
}

void orr_ckpt_put_array(struct orr_ckpt_writer *w, const void *p, size_t n, size_t elem)
{
    orr_ckpt_put_bytes(w, p, n * elem);
}

void *orr_ckpt_get_array(struct orr_ckpt_reader *r, size_t elem, size_t *n)
{
    size_t len;
    const void *src = orr_ckpt_get_bytes(r, &len);
    *n = 0;
    if (!orr_ckpt_ok(r))
        return NULL;
    if (len % elem) {
        orr_ckpt_fail(r, "an array of elements of another size");
        return NULL;
    }
    void *p = malloc(len ? len : elem);
    if (!p)
        orr_oom();
    if (len)
        memcpy(p, src, len);
    *n = len / elem;
    return p;
}

void orr_ckpt_put_ring(struct orr_ckpt_writer *w, const struct orr_ring *r, size_t elem)
{
    orr_ckpt_put_u64(w, r->n);
    for (size_t i = 0; i < r->n; i++)
        w_raw(w, orr_ring_at(r, elem, i), elem);
}

void orr_ckpt_get_ring(struct orr_ckpt_reader *rd, struct orr_ring *r, size_t elem)
{
    orr_ring_free(r);
    uint64_t n = orr_ckpt_get_count(rd, elem);
    for (uint64_t i = 0; i < n && orr_ckpt_ok(rd); i++) {
        const uint8_t *p = r_raw(rd, elem);
        if (p)
            memcpy(orr_ring_push(r, elem), p, elem);
    }
}

void orr_ckpt_put_outq(struct orr_ckpt_writer *w, const struct orr_outq *q)
{
    orr_ckpt_put_ring(w, &q->ring, sizeof(struct orr_outq_entry));
}

void orr_ckpt_get_outq(struct orr_ckpt_reader *rd, struct orr_outq *q)
{
    orr_ckpt_get_ring(rd, &q->ring, sizeof(struct orr_outq_entry));
}

void orr_ckpt_save_none(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    (void)c, (void)w;
}

void orr_ckpt_restore_none(struct orr_component *c, struct orr_ckpt_reader *r)
{
    (void)c, (void)r;
}

/* A nested section: a sub-writer whose bytes go out length-prefixed, and a
 * sub-reader over exactly those bytes. */
static void put_section(struct orr_ckpt_writer *w, struct orr_ckpt_writer *sub)
{
    orr_ckpt_put_bytes(w, sub->p, sub->n);
    free(sub->p);
    memset(sub, 0, sizeof *sub);
}
static struct orr_ckpt_reader get_section(struct orr_ckpt_reader *r)
{
    size_t n;
    const void *p = orr_ckpt_get_bytes(r, &n);
    struct orr_ckpt_reader sub = {.p = p, .n = n, .why = r->why};
    return sub;
}
/* After a section's restore: it must be ok and used up (invariant 3). */
static void end_section(struct orr_ckpt_reader *r, struct orr_ckpt_reader *sub)
{
    if (sub->why)
        orr_ckpt_fail(r, sub->why);
    else if (sub->off != sub->n)
        orr_ckpt_fail(r, "a section holds more than its restore op read");
}

/* --------------------------------------------------------- engine state */

static bool type_ok(const struct orr_component_type *t) { return t->save && t->restore; }

bool orr_ckpt_unsupported(const struct orr_sim *s, char *buf, size_t n)
{
    size_t len = 0;
    bool any = false;
    if (n)
        buf[0] = 0;
    for (size_t i = 0; i < s->nComp; i++) {
        const struct orr_component_type *t = s->aComp[i]->pub.type;
        if (type_ok(t))
            continue;
        bool seen = false; /* each type once, in order of first instance */
        for (size_t j = 0; j < i && !seen; j++)
            seen = s->aComp[j]->pub.type == t;
        if (seen)
            continue;
        any = true;
        len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%scomponent type '%s'%s%s%s",
                                len ? ", " : "", t->name, t->no_checkpoint ? " (never: " : "",
                                t->no_checkpoint ? t->no_checkpoint : "",
                                t->no_checkpoint ? ")" : "");
    }
    for (size_t i = 0; i < s->nShared; i++) {
        if (s->aShared[i].save && s->aShared[i].restore)
            continue;
        any = true;
        len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%sshared object '%s'",
                                len ? ", " : "", s->aShared[i].name);
    }
    return any;
}

static void put_event(struct orr_ckpt_writer *w, const struct orr_event *e)
{
    orr_ckpt_put_u64(w, e->time);
    orr_ckpt_put_u64(w, e->order);
    orr_ckpt_put_u32(w, e->target);
    orr_ckpt_put_u32(w, e->size);
    orr_ckpt_put_u32(w, e->port);
    orr_ckpt_put_u8(w, e->kind);
    orr_ckpt_put_u64(w, e->data[0]);
    orr_ckpt_put_u64(w, e->data[1]);
}
#define EVENT_BYTES 45u

static void save_queue(const struct orr_sim *s, struct orr_ckpt_writer *w)
{
    const struct orr_evq *q = &s->q;
    orr_ckpt_put_u64(w, orr_evq_size(q));
    for (uint32_t i = 0; i < q->nNear; i++)
        put_event(w, &q->aSlot[q->aNear[i].slot]);
    for (uint32_t b = 0; b < q->nBucket; b++)
        for (uint32_t i = q->aBucket[b]; i != ORR_EVQ_NIL; i = q->aLink[i])
            put_event(w, &q->aSlot[i]);
    for (uint32_t i = q->farHead; i != ORR_EVQ_NIL; i = q->aLink[i])
        put_event(w, &q->aSlot[i]);
}

static void restore_queue(struct orr_sim *s, struct orr_ckpt_reader *r)
{
    uint64_t n = orr_ckpt_get_count(r, EVENT_BYTES);
    orr_evq_free(&s->q);
    if (orr_evq_init(&s->q))
        orr_oom();
    for (uint64_t i = 0; i < n && orr_ckpt_ok(r); i++) {
        struct orr_event e = {0};
        e.time = orr_ckpt_get_u64(r);
        e.order = orr_ckpt_get_u64(r);
        e.target = orr_ckpt_get_u32(r);
        e.size = orr_ckpt_get_u32(r);
        uint32_t port = orr_ckpt_get_u32(r);
        e.kind = orr_ckpt_get_u8(r);
        e.data[0] = orr_ckpt_get_u64(r);
        e.data[1] = orr_ckpt_get_u64(r);
        if (!orr_ckpt_ok(r))
            break;
        if (e.target >= s->nComp || port > UINT16_MAX || e.time < s->now ||
            e.time >= ORR_TIME_HORIZON ||
            (e.kind == ORR_TK_FAULT && e.data[0] >= s->nFault)) {
            orr_ckpt_fail(r, "a pending event does not fit this model");
            break;
        }
        e.port = (uint16_t)port;
        if (orr_evq_push(&s->q, &e))
            orr_oom();
    }
}

static void save_hist(struct orr_ckpt_writer *w, const struct orr_histogram *h)
{
    orr_ckpt_put_u64(w, h->count);
    orr_ckpt_put_u64(w, h->min);
    orr_ckpt_put_u64(w, h->max);
    orr_ckpt_put_u64(w, (uint64_t)h->sum);
    orr_ckpt_put_u64(w, (uint64_t)(h->sum >> 64));
    uint32_t nz = 0;
    for (uint32_t b = 0; h->aBucket && b < ORR_HIST_BUCKETS; b++)
        nz += h->aBucket[b] != 0;
    orr_ckpt_put_u32(w, nz);
    for (uint32_t b = 0; h->aBucket && b < ORR_HIST_BUCKETS; b++)
        if (h->aBucket[b]) {
            orr_ckpt_put_u32(w, b);
            orr_ckpt_put_u64(w, h->aBucket[b]);
        }
}

static void restore_hist(struct orr_ckpt_reader *r, struct orr_histogram *h)
{
    h->count = orr_ckpt_get_u64(r);
    h->min = orr_ckpt_get_u64(r);
    h->max = orr_ckpt_get_u64(r);
    uint64_t lo = orr_ckpt_get_u64(r), hi = orr_ckpt_get_u64(r);
    h->sum = (unsigned __int128)hi << 64 | lo;
    uint32_t nz = orr_ckpt_get_u32(r);
    if (h->aBucket)
        memset(h->aBucket, 0, ORR_HIST_BUCKETS * sizeof *h->aBucket);
    if (nz && !h->aBucket && !(h->aBucket = calloc(ORR_HIST_BUCKETS, sizeof *h->aBucket)))
        orr_oom();
    for (uint32_t i = 0; i < nz && orr_ckpt_ok(r); i++) {
        uint32_t b = orr_ckpt_get_u32(r);
        uint64_t v = orr_ckpt_get_u64(r);
        if (b >= ORR_HIST_BUCKETS)
            orr_ckpt_fail(r, "a histogram bucket is out of range");
        else
            h->aBucket[b] = v;
    }
}

static void save_stats(const struct orr_sim *s, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_u64(w, s->nStat);
    for (size_t i = 0; i < s->nStat; i++) {
        const struct orr_stat_entry *e = orr__stat_at(s, i);
        orr_ckpt_put_u32(w, e->comp);
        orr_ckpt_put_u8(w, (uint8_t)e->kind);
        orr_ckpt_put_str(w, e->name);
        switch (e->kind) {
        case ORR_METRIC_COUNTER: orr_ckpt_put_u64(w, e->u.counter.v); break;
        case ORR_METRIC_GAUGE:
            orr_ckpt_put_i64(w, e->u.gauge.v);
            orr_ckpt_put_i64(w, e->u.gauge.max);
            break;
        case ORR_METRIC_VALUE: orr_ckpt_put_f64(w, e->u.value.v); break;
        case ORR_METRIC_HISTOGRAM: save_hist(w, &e->u.hist); break;
        }
    }
}

static void restore_stats(struct orr_sim *s, struct orr_ckpt_reader *r)
{
    if (orr_ckpt_get_u64(r) != s->nStat) {
        orr_ckpt_fail(r, "the model has another number of stats");
        return;
    }
    for (size_t i = 0; i < s->nStat && orr_ckpt_ok(r); i++) {
        struct orr_stat_entry *e = orr__stat_at(s, i);
        uint32_t comp = orr_ckpt_get_u32(r);
        uint8_t kind = orr_ckpt_get_u8(r);
        char *name = orr_ckpt_get_str(r);
        bool same = orr_ckpt_ok(r) && comp == e->comp && kind == (uint8_t)e->kind && name &&
                    strcmp(name, e->name) == 0;
        free(name);
        if (!same) {
            orr_ckpt_fail(r, "a stat differs from this model's");
            return;
        }
        switch (e->kind) {
        case ORR_METRIC_COUNTER: e->u.counter.v = orr_ckpt_get_u64(r); break;
        case ORR_METRIC_GAUGE:
            e->u.gauge.v = orr_ckpt_get_i64(r);
            e->u.gauge.max = orr_ckpt_get_i64(r);
            break;
        case ORR_METRIC_VALUE: e->u.value.v = orr_ckpt_get_f64(r); break;
        case ORR_METRIC_HISTOGRAM: restore_hist(r, &e->u.hist); break;
        }
    }
}

static void save_blobs(const struct orr_sim *s, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_u64(w, s->nBlob);
    orr_ckpt_put_u32(w, s->blob_free);
    for (size_t i = 0; i < s->nBlob; i++) {
        const struct orr_blob_slot *b = &s->aBlob[i];
        orr_ckpt_put_u8(w, b->used);
        orr_ckpt_put_u32(w, b->next_free);
        if (b->used)
            orr_ckpt_put_bytes(w, b->p, b->size);
    }
}

static void restore_blobs(struct orr_sim *s, struct orr_ckpt_reader *r)
{
    orr__blob_free_all(s);
    uint64_t n = orr_ckpt_get_count(r, 5);
    s->blob_free = orr_ckpt_get_u32(r);
    if (!orr_ckpt_ok(r))
        return;
    if (n > UINT32_MAX || s->blob_free > n) {
        orr_ckpt_fail(r, "payload block handles out of range");
        return;
    }
    s->aBlob = calloc(n ? n : 1, sizeof *s->aBlob);
    if (!s->aBlob)
        orr_oom();
    s->nBlob = s->nBlobAlloc = n;
    for (size_t i = 0; i < n && orr_ckpt_ok(r); i++) {
        struct orr_blob_slot *b = &s->aBlob[i];
        b->used = orr_ckpt_get_u8(r) != 0;
        b->next_free = orr_ckpt_get_u32(r);
        if (b->next_free > n)
            orr_ckpt_fail(r, "payload block handles out of range");
        if (!b->used)
            continue;
        size_t len;
        const void *p = orr_ckpt_get_bytes(r, &len);
        b->cap = len < 16 ? 16 : len;
        b->size = len;
        if (!(b->p = calloc(1, b->cap)))
            orr_oom();
        if (len)
            memcpy(b->p, p, len);
        s->nBlobLive++;
    }
}

/* The digest's running state: XXH3's state struct as it is in memory. The
 * build id pins the xxHash version; the one pointer it holds (extSecret,
 * the library's default secret) is taken from the fresh state on restore. */
static void save_digest(const struct orr_sim *s, struct orr_ckpt_writer *w)
{
    const XXH3_state_t *st = s->digest.state;
    orr_ckpt_put_u64(w, s->digest.count);
    orr_ckpt_put_bytes(w, st, sizeof *st);
}

static void restore_digest(struct orr_sim *s, struct orr_ckpt_reader *r)
{
    s->digest.count = orr_ckpt_get_u64(r);
    XXH3_state_t tmp;
    orr_ckpt_get_into(r, &tmp, sizeof tmp);
    if (!orr_ckpt_ok(r))
        return;
    /* the one pointer in the state: the library's default secret, whose
     * address is this process's; the fresh state (reset the same way by
     * orr_digest_init) holds it */
    const XXH3_state_t *fresh = s->digest.state;
    if ((tmp.extSecret == NULL) != (fresh->extSecret == NULL) || tmp.seed != fresh->seed) {
        orr_ckpt_fail(r, "the digest state is not this build's");
        return;
    }
    tmp.extSecret = fresh->extSecret;
    memcpy(s->digest.state, &tmp, sizeof tmp);
    s->ndbuf = 0;
}

static void save_engine(struct orr_sim *s, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_u64(w, s->now);
    orr_ckpt_put_u64(w, s->nDispatched);
    orr_ckpt_put_u64(w, s->nBeyondHorizon);
    orr_ckpt_put_u64(w, s->engine_seq);
    orr_ckpt_put_u64(w, s->nComp);
    orr_ckpt_put_u64(w, s->nLink);
    orr_ckpt_put_u64(w, s->nKind);
    for (size_t i = 0; i < s->nKind; i++)
        orr_ckpt_put_str(w, s->aKindName[i]);
    for (size_t i = 0; i <= s->nComp; i++)
        orr_ckpt_put_u64(w, s->aCompEvents[i]);
    for (size_t i = 0; i < s->nLink; i++)
        for (int d = 0; d < 2; d++) {
            const struct orr_link_dir *ld = &s->aLink[i]->dir[d];
            orr_ckpt_put_u64(w, ld->free_at);
            orr_ckpt_put_u8(w, ld->waiting);
            orr_ckpt_put_u64(w, ld->busy);
        }
    save_queue(s, w);
    save_stats(s, w);
    save_blobs(s, w);
    save_digest(s, w);
}

static void restore_engine(struct orr_sim *s, struct orr_ckpt_reader *r)
{
    s->now = orr_ckpt_get_u64(r);
    s->nDispatched = orr_ckpt_get_u64(r);
    s->nBeyondHorizon = orr_ckpt_get_u64(r);
    s->engine_seq = orr_ckpt_get_u64(r);
    uint64_t nComp = orr_ckpt_get_u64(r), nLink = orr_ckpt_get_u64(r);
    uint64_t nKind = orr_ckpt_get_u64(r);
    if (orr_ckpt_ok(r) && (nComp != s->nComp || nLink != s->nLink || nKind != s->nKind))
        orr_ckpt_fail(r, "the model has another number of components, links or trace kinds");
    for (size_t i = 0; i < s->nKind && orr_ckpt_ok(r); i++) {
        char *k = orr_ckpt_get_str(r);
        if (orr_ckpt_ok(r) && (!k || strcmp(k, s->aKindName[i])))
            orr_ckpt_fail(r, "a trace kind differs from this model's");
        free(k);
    }
    for (size_t i = 0; i <= s->nComp && orr_ckpt_ok(r); i++)
        s->aCompEvents[i] = orr_ckpt_get_u64(r);
    for (size_t i = 0; i < s->nLink && orr_ckpt_ok(r); i++)
        for (int d = 0; d < 2; d++) {
            struct orr_link_dir *ld = &s->aLink[i]->dir[d];
            ld->free_at = orr_ckpt_get_u64(r);
            ld->waiting = orr_ckpt_get_u8(r) != 0;
            ld->busy = orr_ckpt_get_u64(r);
        }
    if (orr_ckpt_ok(r))
        restore_queue(s, r);
    if (orr_ckpt_ok(r))
        restore_stats(s, r);
    if (orr_ckpt_ok(r))
        restore_blobs(s, r);
    if (orr_ckpt_ok(r))
        restore_digest(s, r);
}

static void save_components(const struct orr_sim *s, struct orr_ckpt_writer *w)
{
    for (size_t i = 0; i < s->nComp; i++) {
        const struct orr_component_priv *cp = s->aComp[i];
        const struct orr_component *c = &cp->pub;
        orr_ckpt_put_str(w, c->path);
        orr_ckpt_put_str(w, c->type->name);
        orr_ckpt_put_u64(w, c->seq);
        for (int k = 0; k < 4; k++)
            orr_ckpt_put_u64(w, c->rng.s[k]);
        orr_ckpt_put_u8(w, cp->done);
        struct orr_ckpt_writer sub = {0};
        c->type->save(c, &sub);
        put_section(w, &sub);
    }
    orr_ckpt_put_u64(w, s->nShared);
    for (size_t i = 0; i < s->nShared; i++) {
        orr_ckpt_put_str(w, s->aShared[i].name);
        struct orr_ckpt_writer sub = {0};
        s->aShared[i].save(s->aShared[i].p, &sub);
        put_section(w, &sub);
    }
}

/* Component sections; the message names the component that failed. */
static void restore_components(struct orr_sim *s, struct orr_ckpt_reader *r, char *where,
                               size_t nWhere)
{
    s->nWorkloadDone = 0;
    for (size_t i = 0; i < s->nComp && orr_ckpt_ok(r); i++) {
        struct orr_component_priv *cp = s->aComp[i];
        struct orr_component *c = &cp->pub;
        snprintf(where, nWhere, "component '%s' (%s)", c->path, c->type->name);
        char *path = orr_ckpt_get_str(r), *type = orr_ckpt_get_str(r);
        if (orr_ckpt_ok(r) && (!path || !type || strcmp(path, c->path) || strcmp(type, c->type->name)))
            orr_ckpt_fail(r, "the model's components differ from the checkpoint's");
        free(path);
        free(type);
        c->seq = orr_ckpt_get_u64(r);
        for (int k = 0; k < 4; k++)
            c->rng.s[k] = orr_ckpt_get_u64(r);
        cp->done = orr_ckpt_get_u8(r) != 0;
        if (cp->done && !c->type->workload)
            orr_ckpt_fail(r, "a component that is no workload is marked done");
        s->nWorkloadDone += cp->done;
        struct orr_ckpt_reader sub = get_section(r);
        if (orr_ckpt_ok(r) && type_ok(c->type))
            c->type->restore(c, &sub);
        end_section(r, &sub);
    }
    if (!orr_ckpt_ok(r))
        return; /* where names the component */
    uint64_t nShared = orr_ckpt_get_u64(r);
    snprintf(where, nWhere, "shared objects");
    if (orr_ckpt_ok(r) && nShared != s->nShared)
        orr_ckpt_fail(r, "the model has another set of shared objects");
    for (size_t i = 0; i < s->nShared && orr_ckpt_ok(r); i++) {
        snprintf(where, nWhere, "shared object '%s'", s->aShared[i].name);
        char *name = orr_ckpt_get_str(r);
        if (orr_ckpt_ok(r) && (!name || strcmp(name, s->aShared[i].name)))
            orr_ckpt_fail(r, "the model's shared objects differ from the checkpoint's");
        free(name);
        struct orr_ckpt_reader sub = get_section(r);
        if (orr_ckpt_ok(r) && s->aShared[i].restore)
            s->aShared[i].restore(s->aShared[i].p, &sub);
        end_section(r, &sub);
    }
    if (orr_ckpt_ok(r))
        snprintf(where, nWhere, "the end");
}

/* ------------------------------------------------------------------ file */

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int orr_ckpt_save(const struct orr_sim *cs, const struct orr_ckpt_identity *id, const char *path,
                  struct orr_diag *d)
{
    struct orr_sim *s = (struct orr_sim *)cs; /* folding the digest batch is invisible (inv. 1) */
    char bad[1024];
    if (orr_ckpt_unsupported(s, bad, sizeof bad)) {
        orr_diag_error(d, NULL, NULL,
                       "checkpoint: %s %s no save/restore yet; nothing written "
                       "(docs/checkpoint.md lists what can be checkpointed)",
                       bad, strchr(bad, ',') ? "have" : "has");
        return ORR_ENOTSUP;
    }
    if (s->failure || s->trace_rc || !s->started || s->finished) {
        orr_diag_error(d, NULL, NULL, "checkpoint: the run is not in a state that can be saved");
        return ORR_EINVAL;
    }
    uint64_t digest = orr_sim_digest(s);
    struct orr_ckpt_writer w = {0};
    orr_ckpt_put_str(&w, id->build_id);
    orr_ckpt_put_u64(&w, orr_ckpt_exe_fingerprint());
    orr_ckpt_put_str(&w, id->scenario);
    orr_ckpt_put_u64(&w, id->scenario_hash);
    orr_ckpt_put_u64(&w, id->nSet);
    for (size_t i = 0; i < id->nSet; i++)
        orr_ckpt_put_str(&w, id->aSet[i]);
    orr_ckpt_put_u64(&w, id->seed);
    orr_ckpt_put_u64(&w, s->now);
    orr_ckpt_put_u64(&w, s->nDispatched);
    orr_ckpt_put_u64(&w, digest);
    save_engine(s, &w);
    save_components(s, &w);

    size_t bound = ZSTD_compressBound(w.n);
    uint8_t *file = malloc(HEADER_BYTES + bound + TRAILER_BYTES);
    if (!file)
        orr_oom();
    size_t z = ZSTD_compress(file + HEADER_BYTES, bound, w.p, w.n, 3);
    int rc = 0;
    if (ZSTD_isError(z)) {
        orr_diag_error(d, NULL, NULL, "checkpoint '%s': compression failed: %s", path,
                       ZSTD_getErrorName(z));
        rc = ORR_EIO;
    } else {
        memcpy(file, kMagic, 8);
        put_le64(file + 8, ORR_CKPT_VERSION); /* u32 version, u32 0 */
        put_le64(file + 16, w.n);
        put_le64(file + 24, z);
        put_le64(file + HEADER_BYTES + z, XXH3_64bits(file, HEADER_BYTES + z));
        struct orr_outfile o;
        rc = orr_outfile_open(&o, path, d);
        if (rc == 0) {
            size_t total = HEADER_BYTES + z + TRAILER_BYTES, off = 0;
            while (off < total) {
                ssize_t k = write(o.fd, file + off, total - off);
                if (k < 0 && errno == EINTR)
                    continue;
                if (k <= 0) {
                    orr_diag_error(d, NULL, NULL, "checkpoint '%s': write failed: %s", path,
                                   strerror(errno));
                    rc = ORR_EIO;
                    break;
                }
                off += (size_t)k;
            }
            if (rc)
                orr_outfile_abort(&o);
            else
                rc = orr_outfile_commit(&o, d);
        }
    }
    free(file);
    free(w.p);
    return rc;
}

void orr_ckpt_file_free(struct orr_ckpt_file *f)
{
    free(f->build_id);
    free(f->scenario);
    for (size_t i = 0; i < f->nSet; i++)
        free(f->aSet[i]);
    free(f->aSet);
    free(f->content);
    memset(f, 0, sizeof *f);
}

static int read_all(const char *path, uint8_t **out, size_t *n, struct orr_diag *d)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        orr_diag_error(d, NULL, NULL, "cannot open checkpoint '%s': %s", path, strerror(errno));
        return ORR_EIO;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *p = malloc(cap);
    for (;;) {
        if (!p)
            orr_oom();
        size_t k = fread(p + len, 1, cap - len, fp);
        len += k;
        if (k == 0)
            break;
        if (len == cap) {
            if (cap >= MAX_CONTENT) {
                orr_diag_error(d, NULL, NULL, "checkpoint '%s' is too large", path);
                fclose(fp), free(p);
                return ORR_ECORRUPT;
            }
            cap *= 2;
            p = realloc(p, cap);
        }
    }
    bool err = ferror(fp);
    fclose(fp);
    if (err) {
        orr_diag_error(d, NULL, NULL, "cannot read checkpoint '%s'", path);
        free(p);
        return ORR_EIO;
    }
    *out = p;
    *n = len;
    return 0;
}

int orr_ckpt_load(struct orr_ckpt_file *f, const char *path, struct orr_diag *d)
{
    memset(f, 0, sizeof *f);
    uint8_t *file;
    size_t n;
    int rc = read_all(path, &file, &n, d);
    if (rc)
        return rc;
    const char *bad = NULL;
    uint64_t raw = 0, z = 0;
    if (n < HEADER_BYTES + TRAILER_BYTES || memcmp(file, kMagic, 8)) {
        bad = n >= 8 && memcmp(file, kMagic, 8) == 0 ? "truncated (shorter than its header)"
                                                       : "not a checkpoint (bad magic)";
    } else if (get_le64(file + 8) != ORR_CKPT_VERSION) {
        bad = "written by another checkpoint format version";
        rc = ORR_EVERSION;
    } else {
        raw = get_le64(file + 16);
        z = get_le64(file + 24);
        if (z > n - HEADER_BYTES - TRAILER_BYTES)
            bad = "truncated";
        else if (z < n - HEADER_BYTES - TRAILER_BYTES)
            bad = "has trailing bytes after its checksum";
        else if (get_le64(file + HEADER_BYTES + z) != XXH3_64bits(file, HEADER_BYTES + z))
            bad = "corrupt (checksum mismatch)";
        else if (raw > MAX_CONTENT)
            bad = "corrupt (impossible content size)";
    }
    if (!bad) {
        f->content = malloc(raw ? raw : 1);
        if (!f->content)
            orr_oom();
        size_t got = ZSTD_decompress(f->content, raw, file + HEADER_BYTES, z);
        if (ZSTD_isError(got) || got != raw)
            bad = "corrupt (the compressed content does not decode)";
        f->nContent = raw;
    }
    free(file);
    if (!bad) {
        struct orr_ckpt_reader r = {.p = f->content, .n = f->nContent};
        f->build_id = orr_ckpt_get_str(&r);
        f->exe = orr_ckpt_get_u64(&r);
        f->scenario = orr_ckpt_get_str(&r);
        f->scenario_hash = orr_ckpt_get_u64(&r);
        uint64_t nSet = orr_ckpt_get_count(&r, 1);
        f->aSet = calloc(nSet + 1, sizeof *f->aSet);
        if (!f->aSet)
            orr_oom();
        for (; f->nSet < nSet && orr_ckpt_ok(&r); f->nSet++)
            f->aSet[f->nSet] = orr_ckpt_get_str(&r);
        f->seed = orr_ckpt_get_u64(&r);
        f->time = orr_ckpt_get_u64(&r);
        f->events = orr_ckpt_get_u64(&r);
        f->digest = orr_ckpt_get_u64(&r);
        f->state_off = r.off;
        if (!orr_ckpt_ok(&r) || !f->build_id || !f->scenario)
            bad = "corrupt (its identity cannot be read)";
        for (size_t i = 0; !bad && i < f->nSet; i++)
            if (!f->aSet[i])
                bad = "corrupt (its identity cannot be read)";
    }
    if (bad) {
        orr_diag_error(d, NULL, NULL, "checkpoint '%s' is %s; refusing to restore", path, bad);
        orr_ckpt_file_free(f);
        return rc ? rc : ORR_ECORRUPT;
    }
    return 0;
}

uint64_t orr_ckpt_exe_fingerprint(void)
{
    static bool done; /* a property of the process, not of any simulation */
    static uint64_t fp;
    if (done)
        return fp;
    done = true;
    FILE *f = fopen("/proc/self/exe", "rb");
    if (!f)
        return fp = 0;
    XXH3_state_t *st = XXH3_createState();
    if (!st)
        orr_oom();
    XXH3_64bits_reset(st);
    static unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        XXH3_64bits_update(st, buf, n);
    fp = ferror(f) ? 0 : XXH3_64bits_digest(st);
    XXH3_freeState(st);
    fclose(f);
    return fp;
}

int orr_ckpt_check_build(const struct orr_ckpt_file *f, const char *path, struct orr_diag *d)
{
    if (strcmp(f->build_id, orr_build_id()) != 0) {
        orr_diag_error(d, NULL, NULL,
                       "checkpoint '%s' was written by another build (%s; this is %s); refusing "
                       "to restore",
                       path, f->build_id, orr_build_id());
        return ORR_EINVAL;
    }
    if (f->exe != orr_ckpt_exe_fingerprint()) {
        orr_diag_error(d, NULL, NULL,
                       "checkpoint '%s' was written by another binary of this build (%s): it "
                       "was rebuilt since, and its models may save other state; refusing to "
                       "restore",
                       path, f->build_id);
        return ORR_EINVAL;
    }
    return 0;
}

int orr_ckpt_restore(struct orr_sim *s, const struct orr_ckpt_file *f, const char *path,
                     struct orr_diag *d)
{
    struct orr_ckpt_reader r = {
        .p = f->content + f->state_off, .n = f->nContent - f->state_off};
    char where[512] = "the engine state";
    char bad[1024];
    if (orr_ckpt_unsupported(s, bad, sizeof bad)) {
        orr_diag_error(d, NULL, NULL, "restore: %s %s no save/restore yet", bad,
                       strchr(bad, ',') ? "have" : "has");
        return ORR_ENOTSUP;
    }
    restore_engine(s, &r);
    if (orr_ckpt_ok(&r))
        restore_components(s, &r, where, sizeof where);
    if (orr_ckpt_ok(&r) && r.off != r.n)
        orr_ckpt_fail(&r, "bytes follow the last section");
    if (orr_ckpt_ok(&r) && (s->now != f->time || s->nDispatched != f->events ||
                            orr_sim_digest(s) != f->digest))
        orr_ckpt_fail(&r, "the restored time, event count or digest differs from the header's");
    if (orr_ckpt_ok(&r) && !orr_sim_check(s))
        orr_ckpt_fail(&r, "the restored engine state breaks the engine's invariants");
    if (!orr_ckpt_ok(&r)) {
        orr_diag_error(d, NULL, NULL, "checkpoint '%s' does not fit this model at %s: %s", path,
                       where, r.why);
        return ORR_ECORRUPT;
    }
    return 0;
}
