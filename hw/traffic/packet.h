/* The packet message shared by traffic_gen, switch and sink: how the three
 * words of an orr_msg are used. Models meet only through this format. */
#ifndef ORRERY_HW_TRAFFIC_PACKET_H
#define ORRERY_HW_TRAFFIC_PACKET_H

#include "orrery/sim.h"

/* data[0]: time the packet was created (ps); per source it only grows, so
 *          it doubles as the sequence for reorder detection
 * data[1]: source component id << 32 | destination component id */
static inline uint32_t pkt_src(const uint64_t d[2]) { return (uint32_t)(d[1] >> 32); }
static inline uint32_t pkt_dst(const uint64_t d[2]) { return (uint32_t)d[1]; }

/* A FIFO of messages with a byte budget, used by every model that queues
 * packets in front of a link. Grows its ring as needed; the byte limit is
 * what bounds it. */
struct pkt_fifo {
    struct orr_msg *a;
    size_t head, n, cap;
    uint64_t bytes, limit_bytes; /* limit 0 = count-limited by limit_pkts */
    size_t limit_pkts;
};

bool pkt_fifo_push(struct pkt_fifo *f, const struct orr_msg *m); /* false: full, dropped */
const struct orr_msg *pkt_fifo_head(const struct pkt_fifo *f);
void pkt_fifo_pop(struct pkt_fifo *f);
void pkt_fifo_clear(struct pkt_fifo *f);
void pkt_fifo_free(struct pkt_fifo *f);

/* Send queued packets out of p until the link is busy or the queue is empty.
 * Returns the number sent. */
size_t pkt_fifo_drain(struct pkt_fifo *f, struct orr_port *p);

/* Checkpoint/restore of a FIFO's contents, oldest first (the limits come
 * from the params and are not saved). */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void pkt_fifo_save(const struct pkt_fifo *f, struct orr_ckpt_writer *w);
void pkt_fifo_restore(struct pkt_fifo *f, struct orr_ckpt_reader *r);

#endif
