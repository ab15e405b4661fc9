/* outq: messages waiting for a port whose link is still serialising an
 * earlier one, sent in order when the engine's READY arrives. PCIe models
 * bound what they have outstanding (tags), which bounds this queue. */
#ifndef ORRERY_HW_PCIE_OUTQ_H
#define ORRERY_HW_PCIE_OUTQ_H

#include <stdlib.h>

#include "orrery/sim.h"

struct outq {
    struct orr_msg *a; /* ring */
    size_t head, n, cap;
    orr_time_t *aDelay;
};

/* Send m (with extra delay) now if nothing waits and the link is free,
 * else queue it; the engine then owes the port one READY (outq_drain). */
static inline void outq_send(struct outq *q, struct orr_port *p, const struct orr_msg *m,
                             orr_time_t delay)
{
    if (!q->n && orr_port_send(p, m, delay) != ORR_EBUSY)
        return;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct orr_msg *a = malloc(cap * sizeof *a);
        orr_time_t *d = malloc(cap * sizeof *d);
        if (!a || !d)
            abort();
        for (size_t i = 0; i < q->n; i++) {
            a[i] = q->a[(q->head + i) % q->cap];
            d[i] = q->aDelay[(q->head + i) % q->cap];
        }
        free(q->a);
        free(q->aDelay);
        q->a = a;
        q->aDelay = d;
        q->cap = cap;
        q->head = 0;
    }
    q->a[(q->head + q->n) % q->cap] = *m;
    q->aDelay[(q->head + q->n) % q->cap] = delay;
    q->n++;
}

static inline void outq_drain(struct outq *q, struct orr_port *p)
{
    while (q->n) {
        if (orr_port_send(p, &q->a[q->head], q->aDelay[q->head]) == ORR_EBUSY)
            return;
        q->head = (q->head + 1) % q->cap;
        q->n--;
    }
}

static inline void outq_free(struct outq *q)
{
    free(q->a);
    free(q->aDelay);
}

#endif
