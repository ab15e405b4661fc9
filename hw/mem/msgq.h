/* msgq: messages waiting for a port whose link is still serialising an
 * earlier one. Memory devices never refuse a request (mem.h), so their
 * responses queue here until the link's READY; requesters bound how many
 * can be outstanding, which bounds this queue. */
#ifndef ORRERY_HW_MEM_MSGQ_H
#define ORRERY_HW_MEM_MSGQ_H

#include <stddef.h>

#include "orrery/sim.h"

struct msgq {
    struct orr_msg *a; /* ring */
    size_t head, n, cap;
    struct orr_gauge *depth; /* optional: queued messages */
};

/* Send m out of p now if nothing is queued and the link is free, else queue
 * it (the engine then owes p one READY, handled by msgq_drain). Returns 0,
 * or ORR_ENOENT when p is not linked (nothing is queued). */
int msgq_send(struct msgq *q, struct orr_port *p, const struct orr_msg *m);
/* On READY for p: send queued messages until the link is busy again. */
void msgq_drain(struct msgq *q, struct orr_port *p);
void msgq_free(struct msgq *q);

#endif
