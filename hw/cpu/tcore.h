/* tcore: a trace-driven core. It runs an operation stream from a workload
 * generator (workloads/memgen.h) or a litmus thread through a TSO store
 * buffer and its private caches (hw/cache/pcache.h). */
#ifndef HW_CPU_TCORE_H
#define HW_CPU_TCORE_H

#include "orrery/sim.h"

extern const struct orr_component_type orr_tcore_type;

#endif
