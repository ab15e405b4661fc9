/* cxl_switch: a CXL switch (cxl_switch.c) routing line requests from its
 * upstream port to downstream ports by physical address, rewriting tags so
 * they are unique per downstream port. docs/memory.md describes it. */
#ifndef ORRERY_HW_CXL_CXL_SWITCH_H
#define ORRERY_HW_CXL_CXL_SWITCH_H

#include "orrery/sim.h"

extern const struct orr_component_type orr_cxl_switch_type;

#endif
