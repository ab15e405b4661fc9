/* hostmem: a node's physical memory as bytes — the one store that memory
 * devices (flatmem, an rnic's internal DMA backend) keep their contents in
 * and that host software models (RDMA workloads) read and write
 * functionally, as a CPU's loads and stores would, without events.
 *
 * A hostmem is named; components find it by name as the simulation's shared
 * state (orr_sim_shared_state), so every device and program of one node
 * sees the same bytes and the engine knows they share it. The default name is the component path up to its
 * first dot ("node3" for node3.mem and node3.rnic), so the components of a
 * cluster node template share one memory without configuration.
 *
 * Timing never goes through here: devices still answer requests on their
 * ports after their latency, and software charges its own compute time.
 * Reading bytes never written yields zeros.
 *
 * A library inside memory devices and host software models, not a component type. */
#ifndef ORRERY_HW_MEM_HOSTMEM_H
#define ORRERY_HW_MEM_HOSTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/linestore.h"
#include "orrery/sim.h"

struct hostmem {
    struct linestore lines;
    bool timing_only; /* a device serving it keeps no bytes: reads are zeros */
};

/* The hostmem called name, or if name is empty the default for component
 * c (its path's first dotted part), created empty on first use. It is
 * shared state (orrery/sim.h): c is recorded as touching it, so call this
 * from create or start. */
struct hostmem *hostmem_for(struct orr_component *c, const char *name);
/* The default hostmem of component path, for reading by a tool or test
 * (nothing is declared); NULL if no component uses it. */
const struct hostmem *hostmem_peek(const struct orr_sim *s, const char *path);

void hostmem_read(const struct hostmem *m, uint64_t addr, void *out, size_t n);
void hostmem_write(struct hostmem *m, uint64_t addr, const void *in, size_t n);

#endif
