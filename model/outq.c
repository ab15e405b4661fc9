/* orr_outq: a FIFO of messages in front of a port (orrery/outq.h). */
#include "orrery/outq.h"

static void note_depth(struct orr_outq *q)
{
    if (q->depth)
        orr_gauge_set(q->depth, (int64_t)q->ring.n);
}

void orr_outq_push(struct orr_outq *q, const struct orr_msg *m, orr_time_t delay)
{
    struct orr_outq_entry *e = orr_ring_push(&q->ring, sizeof *e);
    e->m = *m;
    e->delay = delay;
    note_depth(q);
}

int orr_outq_send(struct orr_outq *q, struct orr_port *p, const struct orr_msg *m,
                  orr_time_t delay)
{
    if (!p->link)
        return ORR_ENOENT;
    if (q->ring.n == 0 && orr_port_send(p, m, delay) != ORR_EBUSY)
        return 0;
    orr_outq_push(q, m, delay);
    return 0;
}

void orr_outq_drain(struct orr_outq *q, struct orr_port *p)
{
    while (q->ring.n) {
        const struct orr_outq_entry *e = orr_ring_at(&q->ring, sizeof *e, 0);
        if (orr_port_send(p, &e->m, e->delay) == ORR_EBUSY)
            break;
        orr_ring_pop(&q->ring);
    }
    note_depth(q);
}

void orr_outq_free(struct orr_outq *q)
{
    orr_ring_free(&q->ring);
}
