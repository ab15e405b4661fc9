/* The table of built-in component types the orrery executable knows. The
 * engine never names a concrete model: it receives this table. New model
 * folders add their types here. */
#include "orrery/registry.h"
#include "traffic/traffic.h"

extern const struct orr_component_type orr_sched_node_type; /* platform/sched_node.c */

const struct orr_component_type *const orr_builtin_types[] = {
    &orr_traffic_gen_type,
    &orr_switch_type,
    &orr_sink_type,
    &orr_sched_node_type,
    NULL,
};
