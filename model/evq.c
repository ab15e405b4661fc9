/* Calendar queue of events (see evq.h for the layout and invariants). */
#include "evq.h"
#include "orrery/error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 16u
#define PREFETCH_AHEAD 8u /* buckets; a few hundred ns of work at one event each */

/* ------------------------------------------------------------------- slab */

static int slab_grow(struct orr_evq *q)
{
    uint32_t old = q->nSlot;
    uint64_t want = old ? (uint64_t)old * 2 : 16;
    if (want >= ORR_EVQ_NIL)
        return ORR_ENOMEM;
    struct orr_event *a = realloc(q->aSlot, want * sizeof *a);
    if (!a)
        return ORR_ENOMEM;
    q->aSlot = a;
    uint32_t *l = realloc(q->aLink, want * sizeof *l);
    if (!l)
        return ORR_ENOMEM;
    q->aLink = l;
    q->nSlot = (uint32_t)want;
    /* chain new slots so the lowest index is handed out first */
    for (uint32_t i = (uint32_t)want; i-- > old;) {
        l[i] = q->freeHead;
        q->freeHead = i;
    }
    return 0;
}

static inline struct orr_event *slot(const struct orr_evq *q, uint32_t i) { return &q->aSlot[i]; }

/* -------------------------------------------------------------- near heap */

static inline bool key_before(const struct orr_evq_key *x, const struct orr_evq_key *y)
{
    return ORR_KEY_BEFORE(x, y);
}

static int near_push(struct orr_evq *q, uint32_t idx)
{
    if (q->nNear == q->nNearAlloc) {
        uint32_t n = q->nNearAlloc ? q->nNearAlloc * 2 : 8;
        struct orr_evq_key *a = realloc(q->aNear, n * sizeof *a);
        if (!a)
            orr_oom(); /* a simulation cannot drop events */
        q->aNear = a;
        q->nNearAlloc = n;
    }
    const struct orr_event *e = slot(q, idx);
    struct orr_evq_key k = {e->time, e->order, idx};
    uint32_t i = q->nNear++;
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!key_before(&k, &q->aNear[p]))
            break;
        q->aNear[i] = q->aNear[p];
        i = p;
    }
    q->aNear[i] = k;
    return 0;
}

static uint32_t near_pop(struct orr_evq *q)
{
    uint32_t top = q->aNear[0].slot;
    struct orr_evq_key last = q->aNear[--q->nNear];
    uint32_t n = q->nNear, i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && key_before(&q->aNear[c + 1], &q->aNear[c]))
            c++;
        if (!key_before(&q->aNear[c], &last))
            break;
        q->aNear[i] = q->aNear[c];
        i = c;
    }
    if (n)
        q->aNear[i] = last;
    return top;
}

/* -------------------------------------------------------------- placement */

/* File slot idx in near, its bucket, or far (invariants 1-3). */
static int place(struct orr_evq *q, uint32_t idx)
{
    const struct orr_event *e = slot(q, idx);
    if (e->time < q->curEnd)
        return near_push(q, idx);
    uint64_t b = (e->time - q->yearStart) >> q->widthLog;
    if (b < q->nBucket) {
        q->aLink[idx] = q->aBucket[b];
        q->aBucket[b] = idx;
        q->nYear++;
    } else {
        q->aLink[idx] = q->farHead;
        q->farHead = idx;
        q->nFar++;
    }
    return 0;
}

static void set_year(struct orr_evq *q, orr_time_t t)
{
    q->yearStart = (t >> q->widthLog) << q->widthLog;
    q->cur = 0;
    q->curEnd = q->yearStart + ((orr_time_t)1 << q->widthLog);
}

/* Start a new year at the earliest far event and redistribute far. Called
 * only when near and every bucket are empty. */
static int next_year(struct orr_evq *q)
{
    assert(q->nNear == 0 && q->nYear == 0 && q->farHead != ORR_EVQ_NIL);
    orr_time_t tmin = ORR_TIME_MAX;
    for (uint32_t i = q->farHead; i != ORR_EVQ_NIL; i = q->aLink[i])
        if (slot(q, i)->time < tmin)
            tmin = slot(q, i)->time;
    uint32_t list = q->farHead;
    q->nSkipSince += q->nFar; /* re-filing far events is work a wider year avoids */
    q->farHead = ORR_EVQ_NIL;
    q->nFar = 0;
    set_year(q, tmin);
    while (list != ORR_EVQ_NIL) {
        uint32_t next = q->aLink[list];
        if (place(q, list))
            return ORR_ENOMEM;
        list = next;
    }
    return 0;
}

static int rebuild(struct orr_evq *q);

/* Move a bucket's list into near: first gather the slots and prefetch them
 * all (the walk reads only aLink), then read their keys. */
static void take_bucket(struct orr_evq *q, uint32_t list)
{
    uint32_t n = 0;
    for (uint32_t i = list; i != ORR_EVQ_NIL; i = q->aLink[i]) {
        if (n == q->nScratchAlloc) {
            uint32_t cap = n ? n * 2 : 8;
            uint32_t *a = realloc(q->aScratch, cap * sizeof *a);
            if (!a)
                orr_oom(); /* a simulation cannot drop events */
            q->aScratch = a;
            q->nScratchAlloc = cap;
        }
        __builtin_prefetch(slot(q, i));
        q->aScratch[n++] = i;
    }
    q->nYear -= n;
    for (uint32_t k = 0; k < n; k++)
        near_push(q, q->aScratch[k]);
}

/* Have the buckets been too narrow for long enough to pay for a rebuild?
 * Only after n pops since the last one, so rebuilds stay amortised O(1). A
 * crowded current bucket is not a reason: events often share an instant
 * (whole cycles, whole ns), and no width separates those. */
static bool width_is_wrong(const struct orr_evq *q)
{
    return q->nPopSince >= q->n + 64 && q->nSkipSince > 2 * q->nPopSince + 64;
}

/* Move to the next non-empty bucket (or year) until near has events. */
static int refill(struct orr_evq *q)
{
    while (q->nNear == 0) {
        if (q->nYear == 0) {
            if (next_year(q))
                return ORR_ENOMEM;
            /* a fresh year that leaves half the events in far is too short */
            if (q->nFar > q->n / 2 && q->nPopSince >= q->n + 64)
                return rebuild(q);
        } else {
            q->cur++;
            assert(q->cur < q->nBucket);
            /* start the cache misses of a bucket a few steps ahead now, so
             * they overlap with this one's instead of following it */
            if (q->cur + PREFETCH_AHEAD < q->nBucket) {
                uint32_t ahead = q->aBucket[q->cur + PREFETCH_AHEAD];
                if (ahead != ORR_EVQ_NIL) {
                    __builtin_prefetch(slot(q, ahead));
                    __builtin_prefetch(&q->aLink[ahead]);
                }
            }
            q->curEnd = q->yearStart + ((orr_time_t)(q->cur + 1) << q->widthLog);
            uint32_t list = q->aBucket[q->cur];
            q->aBucket[q->cur] = ORR_EVQ_NIL;
            q->nSkipSince += list == ORR_EVQ_NIL;
            take_bucket(q, list);
        }
        if (q->nNear && width_is_wrong(q))
            return rebuild(q);
    }
    return 0;
}

/* ---------------------------------------------------------------- rebuild */

static unsigned log2_ceil(uint64_t x)
{
    unsigned l = 0;
    while (((uint64_t)1 << l) < x)
        l++;
    return l;
}

/* Re-choose the bucket count and width for the current population and
 * re-file every event. About one event per bucket; the year spans four
 * times the mean distance of pending events from the earliest, which covers
 * uniform and exponential delay mixes without many far events. */
static int rebuild(struct orr_evq *q)
{
    uint32_t *all = malloc((q->n ? q->n : 1) * sizeof *all);
    if (!all)
        orr_oom();
    uint64_t k = 0;
    for (uint32_t i = 0; i < q->nNear; i++)
        all[k++] = q->aNear[i].slot;
    for (uint32_t b = 0; b < q->nBucket; b++)
        for (uint32_t i = q->aBucket[b]; i != ORR_EVQ_NIL; i = q->aLink[i])
            all[k++] = i;
    for (uint32_t i = q->farHead; i != ORR_EVQ_NIL; i = q->aLink[i])
        all[k++] = i;
    assert(k == q->n);

    orr_time_t tmin = ORR_TIME_MAX;
    for (uint64_t i = 0; i < k; i++)
        if (slot(q, all[i])->time < tmin)
            tmin = slot(q, all[i])->time;
    unsigned __int128 sum = 0;
    for (uint64_t i = 0; i < k; i++)
        sum += slot(q, all[i])->time - tmin;
    uint64_t mean = k ? (uint64_t)(sum / k) : 0;

    uint32_t nb = (uint32_t)1 << log2_ceil(k > MIN_BUCKETS ? k : MIN_BUCKETS);
    if (nb != q->nBucket) {
        uint32_t *a = realloc(q->aBucket, nb * sizeof *a);
        if (!a)
            orr_oom();
        q->aBucket = a;
        q->nBucket = nb;
    }
    memset(q->aBucket, 0xFF, nb * sizeof *q->aBucket);
    uint64_t year = mean ? mean * 4 : nb;
    unsigned wl = log2_ceil((year + nb - 1) / nb);
    /* every time is below 2^62, so a year of at most 2^62 ps keeps
     * yearStart + year (and bucket ends) below 2^63: no overflow */
    unsigned maxwl = 62 - log2_ceil(nb);
    q->widthLog = wl > maxwl ? maxwl : wl;
    q->nNear = 0;
    q->nYear = 0;
    q->nFar = 0;
    q->farHead = ORR_EVQ_NIL;
    set_year(q, k ? tmin : 0);
    int rc = 0;
    for (uint64_t i = 0; i < k && !rc; i++)
        rc = place(q, all[i]);
    free(all);
    q->resizeHigh = q->n * 2 > 64 ? q->n * 2 : 64;
    q->resizeLow = q->n / 4 > 16 ? q->n / 4 : 0;
    q->nPopSince = q->nSkipSince = 0;
    return rc;
}

/* ------------------------------------------------------------------ public */

int orr_evq_init(struct orr_evq *q)
{
    memset(q, 0, sizeof *q);
    q->freeHead = ORR_EVQ_NIL;
    q->farHead = ORR_EVQ_NIL;
    return rebuild(q);
}

void orr_evq_free(struct orr_evq *q)
{
    free(q->aSlot);
    free(q->aLink);
    free(q->aScratch);
    free(q->aNear);
    free(q->aBucket);
    memset(q, 0, sizeof *q);
}

int orr_evq_push(struct orr_evq *q, const struct orr_event *ev)
{
    assert(ev->time < ORR_TIME_HORIZON);
    if (q->freeHead == ORR_EVQ_NIL && slab_grow(q))
        return ORR_ENOMEM;
    uint32_t idx = q->freeHead;
    q->freeHead = q->aLink[idx];
    *slot(q, idx) = *ev;
    q->n++;
    if (place(q, idx))
        return ORR_ENOMEM;
    if (q->n > q->resizeHigh)
        return rebuild(q);
    return 0;
}

const struct orr_event *orr_evq_peek(struct orr_evq *q)
{
    if (q->n == 0 || refill(q))
        return NULL;
    return slot(q, q->aNear[0].slot);
}

/* Remove near's root into *out (near must be non-empty). */
static void take_min(struct orr_evq *q, struct orr_event *out)
{
    uint32_t idx = near_pop(q);
    if (q->nNear) /* the next pop's slot: one event of lead time hides the miss */
        __builtin_prefetch(slot(q, q->aNear[0].slot));
    *out = *slot(q, idx);
    q->aLink[idx] = q->freeHead;
    q->freeHead = idx;
    q->n--;
    q->nPopSince++;
    if (q->n < q->resizeLow)
        rebuild(q);
}


bool orr_evq_pop(struct orr_evq *q, struct orr_event *out)
{
    if (q->n == 0 || refill(q))
        return false;
    take_min(q, out);
    return true;
}

bool orr_evq_pop_before(struct orr_evq *q, orr_time_t limit, struct orr_event *out)
{
    if (q->n == 0 || refill(q) || q->aNear[0].time >= limit)
        return false;
    take_min(q, out);
    return true;
}

bool orr_evq_check(const struct orr_evq *q)
{
    uint64_t nBucketed = 0, nFar = 0, nFree = 0;
    orr_time_t yearEnd = q->yearStart + ((orr_time_t)q->nBucket << q->widthLog);
    for (uint32_t i = 1; i < q->nNear; i++) /* 1: near is a heap */
        if (key_before(&q->aNear[i], &q->aNear[(i - 1) / 2]))
            return false;
    for (uint32_t i = 0; i < q->nNear; i++)
        if (q->aNear[i].time >= q->curEnd)
            return false;
    for (uint32_t b = 0; b < q->nBucket; b++) { /* 2: buckets hold their range */
        if (b <= q->cur && q->aBucket[b] != ORR_EVQ_NIL)
            return false;
        for (uint32_t i = q->aBucket[b]; i != ORR_EVQ_NIL; i = q->aLink[i], nBucketed++) {
            orr_time_t t = slot(q, i)->time;
            if (t < q->yearStart + ((orr_time_t)b << q->widthLog) ||
                t >= q->yearStart + ((orr_time_t)(b + 1) << q->widthLog) || nBucketed > q->n)
                return false;
        }
    }
    for (uint32_t i = q->farHead; i != ORR_EVQ_NIL; i = q->aLink[i], nFar++) /* 3: far */
        if (slot(q, i)->time < yearEnd || nFar > q->n)
            return false;
    for (uint32_t i = q->freeHead; i != ORR_EVQ_NIL; i = q->aLink[i], nFree++)
        if (nFree > q->nSlot)
            return false;
    return nBucketed == q->nYear && nFar == q->nFar && q->nNear + nBucketed + nFar == q->n &&
           q->n + nFree == q->nSlot;
}

size_t orr_evq_bytes(const struct orr_evq *q)
{
    return (size_t)q->nSlot * (sizeof *q->aSlot + sizeof *q->aLink) +
           (size_t)q->nBucket * sizeof *q->aBucket + (size_t)q->nNearAlloc * sizeof *q->aNear +
           (size_t)q->nScratchAlloc * sizeof *q->aScratch;
}
