/* orr_outq: messages waiting for a port whose link is still serialising an
 * earlier one, sent in order when the engine's READY arrives. A model that
 * may have to hold a message (a memory answering requests it never
 * refuses, a NIC's DMA, a host posting work) sends through one of these
 * instead of keeping its own queue. The model bounds what it has
 * outstanding (tags, credits, MSHRs); that bounds the queue, whose depth
 * an optional gauge records. A zeroed struct is an empty queue. */
#ifndef ORRERY_OUTQ_H
#define ORRERY_OUTQ_H

#include "orrery/ring.h"
#include "orrery/sim.h"

struct orr_outq {
    struct orr_ring ring;    /* of struct orr_outq_entry */
    struct orr_gauge *depth; /* optional: messages queued */
};

struct orr_outq_entry {
    struct orr_msg m;
    orr_time_t delay; /* the sender's extra delay, applied when it goes */
};

/* Send m (with extra delay) now if nothing waits and the link is free,
 * else queue it; the engine then owes the port one READY (orr_outq_drain).
 * Returns 0, or ORR_ENOENT when p is not linked (nothing is queued). */
int orr_outq_send(struct orr_outq *q, struct orr_port *p, const struct orr_msg *m,
                  orr_time_t delay);
/* Queue m behind the others without trying to send it (a sender that is
 * paused, e.g. by PFC, drains when it may send again). */
void orr_outq_push(struct orr_outq *q, const struct orr_msg *m, orr_time_t delay);
/* On READY for p (or when a pause ends): send queued messages until the
 * link is busy again. */
void orr_outq_drain(struct orr_outq *q, struct orr_port *p);
static inline size_t orr_outq_len(const struct orr_outq *q) { return q->ring.n; }
void orr_outq_free(struct orr_outq *q);

#endif
