/* cxl_mem: a CXL Type-3 memory expander (cxl_mem.c) — the line protocol of
 * orrery/mem.h on port `up`, a device controller in front of DRAM media.
 * docs/memory.md describes it. */
#ifndef ORRERY_HW_CXL_CXL_MEM_H
#define ORRERY_HW_CXL_CXL_MEM_H

#include "orrery/sim.h"

extern const struct orr_component_type orr_cxl_mem_type;

#endif
