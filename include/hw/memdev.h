/* What the memory devices behind a home (dram, flatmem) share, declared and
 * written once: their range and port keys, and their request ports
 * in0..in<N-1>, each with a queue for responses its link refuses. A
 * library inside those components, not a component. */
#ifndef HW_MEMDEV_H
#define HW_MEMDEV_H

#include "orrery/outq.h"
#include "orrery/params.h"
#include "orrery/sim.h"

/* base (an address, default 0) and size (16GiB): the range a memory
 * device serves. A machine places each socket's memory by setting base. */
extern const struct orr_param memdev_range_params[];
/* ports: how many request ports (in0..in<N-1>). */
extern const struct orr_param memdev_port_params[];

/* The range keys of p, checked: base and size multiples of the line, within
 * the model's physical address width. Errors at the keys' marks
 * (ORR_ESCHEMA). */
int memdev_range_read(const struct orr_component *c, const struct orr_params *p, uint64_t *base,
                      uint64_t *size, struct orr_diag *d);

struct memdev_ports {
    unsigned n;
    struct orr_port **aPort;
    struct orr_outq *aOut; /* responses waiting for each port's link */
};

/* Create ports in0..in<n-1> on c and their backlog gauges in<N>.backlog
 * (from create). Returns 0 or ORR_ENOMEM. */
int memdev_ports_init(struct memdev_ports *mp, struct orr_component *c, unsigned n);
/* Send m out of port i now, or queue it until the link is free. */
void memdev_ports_send(struct memdev_ports *mp, unsigned i, const struct orr_msg *m);
/* Port i's link can send again (ORR_TK_READY). */
void memdev_ports_ready(struct memdev_ports *mp, unsigned i);
void memdev_ports_free(struct memdev_ports *mp);
/* Checkpoint/restore of the responses waiting for each port. */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void memdev_ports_save(const struct memdev_ports *mp, struct orr_ckpt_writer *w);
void memdev_ports_restore(struct memdev_ports *mp, struct orr_ckpt_reader *r);

#endif
