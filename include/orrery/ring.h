/* orr_ring: a growable FIFO of fixed-size elements — the queue models keep
 * in front of a busy link, a completion queue, work waiting for credits.
 * One implementation instead of a ring per model. A zeroed struct is an
 * empty ring; every call names the element size, which must not change
 * over the ring's life. Growth doubles the storage and unwraps it, so a
 * push is amortised O(1); the order is strictly first in, first out. */
#ifndef ORRERY_RING_H
#define ORRERY_RING_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct orr_ring {
    uint8_t *a;          /* cap elements */
    size_t head, n, cap; /* oldest at head; n queued */
};

/* Room for one more element at the tail: returns it (uninitialised) and
 * counts it queued. Aborts on out-of-memory (a model cannot go on). */
static inline void *orr_ring_push(struct orr_ring *r, size_t elem)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        uint8_t *a = malloc(cap * elem);
        if (!a)
            abort();
        for (size_t i = 0; i < r->n; i++)
            memcpy(a + i * elem, r->a + (r->head + i) % r->cap * elem, elem);
        free(r->a);
        r->a = a;
        r->cap = cap;
        r->head = 0;
    }
    return r->a + (r->head + r->n++) % r->cap * elem;
}

/* The i-th oldest element (0 = the head); i < n. */
static inline void *orr_ring_at(const struct orr_ring *r, size_t elem, size_t i)
{
    return r->a + (r->head + i) % r->cap * elem;
}

/* Drop the oldest element; n > 0. */
static inline void orr_ring_pop(struct orr_ring *r)
{
    r->head = (r->head + 1) % r->cap;
    r->n--;
}

static inline void orr_ring_free(struct orr_ring *r)
{
    free(r->a);
    memset(r, 0, sizeof *r);
}

#endif
