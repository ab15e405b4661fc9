/* Allocation for the pending-event heap (the hot paths are inline in evq.h). */
#include "evq.h"

#include <string.h>

int orr_evq_init(struct orr_evq *q, size_t cap)
{
    memset(q, 0, sizeof *q);
    if (cap < 16)
        cap = 16;
    q->a = malloc(cap * sizeof *q->a);
    if (!q->a)
        return ORR_ENOMEM;
    q->cap = cap;
    return 0;
}

void orr_evq_free(struct orr_evq *q)
{
    free(q->a);
    memset(q, 0, sizeof *q);
}

int orr_evq__grow(struct orr_evq *q)
{
    size_t cap = q->cap ? q->cap * 2 : 16;
    struct orr_event *a = realloc(q->a, cap * sizeof *a);
    if (!a)
        return ORR_ENOMEM;
    q->a = a;
    q->cap = cap;
    return 0;
}
