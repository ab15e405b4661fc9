/* The first model set: a packet generator, a switch with output queues and
 * a sink. Small, but enough for the engine to do real work (queueing,
 * bandwidth, drops, faults) before the hardware models land. */
#ifndef ORRERY_HW_TRAFFIC_H
#define ORRERY_HW_TRAFFIC_H

#include "orrery/sim.h"

extern const struct orr_component_type orr_traffic_gen_type;
extern const struct orr_component_type orr_switch_type;
extern const struct orr_component_type orr_sink_type;

#endif
