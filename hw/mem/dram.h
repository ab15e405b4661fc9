/* dram: a DRAM memory controller component (dram.c) speaking the line
 * protocol of orrery/mem.h on ports in0..in<N-1>. The timing and storage
 * engine it wraps is dram_media.h; docs/memory.md describes both. */
#ifndef ORRERY_HW_MEM_DRAM_H
#define ORRERY_HW_MEM_DRAM_H

#include "orrery/sim.h"

extern const struct orr_component_type orr_dram_type;

#endif
