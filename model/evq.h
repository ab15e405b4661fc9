/* The pending-event queue: a 4-ary min-heap of events stored by value,
 * ordered by the total key (time, rank = priority<<24 | origin, seq).
 *
 * Cost notes. Push and pop are O(log4 n) moves of 56-byte events. The run
 * loop does not pop an event before dispatching it: it marks the root slot
 * free ("hole") and the first event the handler schedules replaces the root
 * with one sift-down, so the common "handle one, schedule one" step costs a
 * single O(log4 n) pass instead of two. Memory is the array alone: 56 bytes
 * per pending event, plus growth slack (capacity doubles). */
#ifndef ORRERY_MODEL_EVQ_H
#define ORRERY_MODEL_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "orrery/sim.h"

struct orr_evq {
    struct orr_event *a;
    size_t n, cap;
    bool hole; /* a[0] has been taken by the dispatcher and may be overwritten */
};

static inline bool orr_ev_before(const struct orr_event *x, const struct orr_event *y)
{
    if (x->time != y->time)
        return x->time < y->time;
    if (x->rank != y->rank)
        return x->rank < y->rank;
    return x->seq < y->seq;
}

int orr_evq_init(struct orr_evq *q, size_t cap);
void orr_evq_free(struct orr_evq *q);
int orr_evq__grow(struct orr_evq *q);

static inline void orr_evq__sift_down(struct orr_evq *q, size_t i, const struct orr_event *ev)
{
    struct orr_event *a = q->a;
    size_t n = q->n;
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n)
            break;
        size_t best = c;
        size_t end = c + 4 < n ? c + 4 : n;
        for (size_t k = c + 1; k < end; k++)
            if (orr_ev_before(&a[k], &a[best]))
                best = k;
        if (!orr_ev_before(&a[best], ev))
            break;
        a[i] = a[best];
        i = best;
    }
    a[i] = *ev;
}

static inline void orr_evq__sift_up(struct orr_evq *q, size_t i, const struct orr_event *ev)
{
    struct orr_event *a = q->a;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (!orr_ev_before(ev, &a[p]))
            break;
        a[i] = a[p];
        i = p;
    }
    a[i] = *ev;
}

/* Insert ev. Returns 0 or ORR_ENOMEM. */
static inline int orr_evq_push(struct orr_evq *q, const struct orr_event *ev)
{
    if (q->hole) {
        q->hole = false;
        orr_evq__sift_down(q, 0, ev);
        return 0;
    }
    if (q->n == q->cap && orr_evq__grow(q))
        return ORR_ENOMEM;
    orr_evq__sift_up(q, q->n++, ev);
    return 0;
}

/* Number of events queued (an unfilled hole does not count). */
static inline size_t orr_evq_size(const struct orr_evq *q) { return q->n - (q->hole ? 1 : 0); }

/* Resolve a pending hole: remove the taken root for good. */
static inline void orr_evq_settle(struct orr_evq *q)
{
    if (!q->hole)
        return;
    q->hole = false;
    q->n--;
    if (q->n > 0)
        orr_evq__sift_down(q, 0, &q->a[q->n]);
}

/* The earliest event, or NULL if empty. Settles any hole first. */
static inline const struct orr_event *orr_evq_peek(struct orr_evq *q)
{
    orr_evq_settle(q);
    return q->n ? &q->a[0] : NULL;
}

/* Take the root for dispatch: the caller copies *peek() first, then calls
 * take(); the slot stays allocated until the next push or settle. */
static inline void orr_evq_take(struct orr_evq *q) { q->hole = true; }

#endif
