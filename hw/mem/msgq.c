/* msgq: a FIFO of messages in front of a port (see msgq.h). */
#include <stdlib.h>

#include "mem/msgq.h"

static void push(struct msgq *q, const struct orr_msg *m)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct orr_msg *a = malloc(cap * sizeof *a);
        if (!a)
            abort();
        for (size_t i = 0; i < q->n; i++)
            a[i] = q->a[(q->head + i) % q->cap];
        free(q->a);
        q->a = a;
        q->head = 0;
        q->cap = cap;
    }
    q->a[(q->head + q->n++) % q->cap] = *m;
    if (q->depth)
        orr_gauge_set(q->depth, (int64_t)q->n);
}

int msgq_send(struct msgq *q, struct orr_port *p, const struct orr_msg *m)
{
    if (!p->link)
        return ORR_ENOENT;
    if (q->n == 0 && orr_port_send(p, m, 0) == 0)
        return 0;
    push(q, m);
    return 0;
}

void msgq_drain(struct msgq *q, struct orr_port *p)
{
    while (q->n && orr_port_send(p, &q->a[q->head], 0) == 0) {
        q->head = (q->head + 1) % q->cap;
        q->n--;
    }
    if (q->depth)
        orr_gauge_set(q->depth, (int64_t)q->n);
}

void msgq_free(struct msgq *q)
{
    free(q->a);
    q->a = NULL;
    q->head = q->n = q->cap = 0;
}
