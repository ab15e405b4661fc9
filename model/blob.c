/* Message payload blocks and per-simulation shared objects (sim.h).
 * Payload handles come from a LIFO free list, so their values follow from
 * the event order alone. Freed blocks keep their memory for the next
 * allocation of a size that fits, so a steady stream of line-sized payloads
 * allocates nothing. */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"
#include "orrery/error.h"

uint64_t orr_blob_new(struct orr_sim *s, size_t n, void **out)
{
    uint32_t h = s->blob_free;
    struct orr_blob_slot *b;
    if (h) {
        b = &s->aBlob[h - 1];
        s->blob_free = b->next_free;
    } else {
        if (s->nBlob == s->nBlobAlloc) {
            size_t cap = s->nBlobAlloc ? s->nBlobAlloc * 2 : 64;
            struct orr_blob_slot *a = realloc(s->aBlob, cap * sizeof *a);
            if (!a)
                orr_oom(); /* a model cannot continue without its messages */
            s->aBlob = a;
            s->nBlobAlloc = cap;
        }
        b = &s->aBlob[s->nBlob++];
        memset(b, 0, sizeof *b);
        h = (uint32_t)s->nBlob;
    }
    if (b->cap < n) {
        free(b->p);
        b->cap = n < 16 ? 16 : n;
        b->p = malloc(b->cap);
        if (!b->p)
            orr_oom();
    }
    memset(b->p, 0, n);
    b->size = n;
    b->used = true;
    s->nBlobLive++;
    if (out)
        *out = b->p;
    return h;
}

static struct orr_blob_slot *slot(const struct orr_sim *s, uint64_t h)
{
    if (h == 0 || h > s->nBlob || !s->aBlob[h - 1].used)
        abort(); /* a stale or forged handle is a model bug, never input */
    return &s->aBlob[h - 1];
}

void *orr_blob_get(const struct orr_sim *s, uint64_t h) { return slot(s, h)->p; }

size_t orr_blob_size(const struct orr_sim *s, uint64_t h) { return slot(s, h)->size; }

void orr_blob_free(struct orr_sim *s, uint64_t h)
{
    struct orr_blob_slot *b = slot(s, h);
    b->used = false;
    b->next_free = s->blob_free;
    s->blob_free = (uint32_t)h;
    s->nBlobLive--;
}

size_t orr_blob_live(const struct orr_sim *s) { return s->nBlobLive; }

void orr__blob_free_all(struct orr_sim *s)
{
    for (size_t i = 0; i < s->nBlob; i++)
        free(s->aBlob[i].p);
    free(s->aBlob);
    s->aBlob = NULL;
    s->nBlob = s->nBlobAlloc = s->nBlobLive = 0;
    s->blob_free = 0;
}
