/* The pending-event queue: a calendar queue over a slab of 48-byte events,
 * popping in the exact total order (time, order) of DESIGN.md §2.
 *
 * Layout. Events live in one slab; lists (buckets, far, free) are chained
 * through aLink, a separate array of slot indices. Keeping links out of the
 * slab matters at large populations: walking a bucket touches only aLink
 * (small, cache-resident), so the bucket's slots can all be prefetched at
 * once instead of taking one dependent cache miss per event.
 * Simulated time is cut into a "year" of nBucket buckets of 2^widthLog ps:
 *
 *   [ near heap ][ bucket b+1 ][ bucket b+2 ] ... [ last bucket ] | far list
 *   ^ now         unsorted lists, chained by slot index             ^ year end
 *
 * The current bucket's events sit in `near`, a small binary heap ordered by
 * the full key; later buckets are unsorted lists; events beyond the year
 * wait in the unsorted far list until their year comes. Invariants:
 *   1. every event in near is earlier than every event in any bucket;
 *   2. bucket i holds only events in [yearStart + i*w, yearStart + (i+1)*w);
 *   3. far holds only events at or after the year's end.
 * So the root of near is always the global minimum, whatever the bucket
 * width: the width (re-chosen when the population doubles or halves) only
 * decides speed, never order.
 *
 * Cost notes. Push is O(1) except into the current bucket (O(log k) for k
 * events in it). Pop is O(log k) plus, when a bucket is exhausted, a walk to
 * the next non-empty bucket. Rebuilding is O(n) and happens after Θ(n)
 * operations: when the population doubles or quarters, or when, after at
 * least n pops, the width proves wrong (more empty buckets walked than
 * events popped, or the far list holding half the events). Memory: 52 bytes per slot (event + link) + 4 bytes per bucket + near. */
#ifndef ORRERY_MODEL_EVQ_H
#define ORRERY_MODEL_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/sim.h"

#define ORR_EVQ_NIL UINT32_MAX

/* A near-heap entry keeps its event's key, so sifting never touches the
 * slab (at a million pending events every slab access is a cache miss). */
struct orr_evq_key {
    orr_time_t time;
    uint64_t order;
    uint32_t slot;
};

struct orr_evq {
    struct orr_event *aSlot; /* slab */
    uint32_t *aLink;         /* per slot: next in its bucket, far or free list */
    uint32_t nSlot;          /* slots allocated */
    uint32_t freeHead;       /* first free slot */
    uint32_t *aScratch;      /* a bucket's slots while it is moved into near */
    uint32_t nScratchAlloc;
    uint64_t n;              /* events queued */

    struct orr_evq_key *aNear; /* binary heap of the current bucket's keys */
    uint32_t nNear, nNearAlloc;

    uint32_t *aBucket;       /* list heads, ORR_EVQ_NIL if empty */
    uint32_t nBucket;        /* power of two */
    unsigned widthLog;       /* bucket width is 2^widthLog ps */
    uint32_t cur;            /* index of the current bucket */
    orr_time_t yearStart;    /* time of bucket 0 */
    orr_time_t curEnd;       /* end of the current bucket */
    uint64_t nYear;          /* events in buckets (not near, not far) */

    uint32_t farHead;        /* unsorted list of events beyond the year */
    uint64_t nFar;

    uint64_t resizeLow, resizeHigh; /* rebuild when n leaves this range */
    uint64_t nPopSince;  /* pops since the last rebuild */
    uint64_t nSkipSince; /* wasted steps since then: empty buckets, re-filed far events */
};

/* The total order: time, then priority and origin, then sequence. Works on
 * anything with `time` and `order` members. */
#define ORR_KEY_BEFORE(x, y)                                                                  \
    ((x)->time != (y)->time             ? (x)->time < (y)->time                              \
     : (((x)->order ^ (y)->order) >> 32) ? (x)->order < (y)->order                           \
                                         : (int32_t)((uint32_t)(x)->order - (uint32_t)(y)->order) < 0)

static inline bool orr_ev_before(const struct orr_event *x, const struct orr_event *y)
{
    return ORR_KEY_BEFORE(x, y);
}

int orr_evq_init(struct orr_evq *q);
void orr_evq_free(struct orr_evq *q);

/* Insert a copy of ev; its time must be below ORR_TIME_HORIZON (the
 * engine never queues later events). 0 or ORR_ENOMEM. */
int orr_evq_push(struct orr_evq *q, const struct orr_event *ev);

/* Remove the earliest event into *out. false if the queue is empty. */
bool orr_evq_pop(struct orr_evq *q, struct orr_event *out);

/* Remove the earliest event into *out if it is earlier than limit. false
 * if the queue is empty or the earliest event is at or after limit. */
bool orr_evq_pop_before(struct orr_evq *q, orr_time_t limit, struct orr_event *out);

/* The earliest event without removing it, or NULL. */
const struct orr_event *orr_evq_peek(struct orr_evq *q);

static inline uint64_t orr_evq_size(const struct orr_evq *q) { return q->n; }

/* Check invariants 1-3 and the bookkeeping (counts, heap order, free list)
 * by walking everything: O(n). True if all hold. For asserts and tests. */
bool orr_evq_check(const struct orr_evq *q);

/* Bytes of memory the queue holds (slab, buckets, near heap). */
size_t orr_evq_bytes(const struct orr_evq *q);

#endif
