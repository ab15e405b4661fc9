/* The keys the NUMA models (hw/numa: router, numa_info) share with the
 * machine that builds them, declared once. */
#ifndef HW_NUMA_H
#define HW_NUMA_H

#include "orrery/params.h"

/* jitter: a router's random extra delay per message (a testing knob). */
extern const struct orr_param router_jitter_params[];

#endif
