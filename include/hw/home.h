/* The keys a home agent (hw/cache/home.c: directory or snoop ordering
 * point and memory-side LLC) shares with the machine that builds it,
 * declared once. */
#ifndef HW_HOME_H
#define HW_HOME_H

#include "orrery/params.h"

/* One entry: the `llc` key, a group of home_llc_params (size: 0 = no LLC,
 * ways, latency, replacement, inclusive). Include it in a schema. */
extern const struct orr_param home_llc_key[];
extern const struct orr_param home_llc_params[];

#endif
