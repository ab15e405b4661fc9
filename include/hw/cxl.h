/* The keys of a CXL Type-3 expander (hw/cxl/cxl_mem.c), declared once: the
 * machine's `cxl:` entries include them. */
#ifndef HW_CXL_H
#define HW_CXL_H

#include "orrery/params.h"

/* base, size (64GiB), device, bandwidth and the DRAM media keys. */
extern const struct orr_param cxl_mem_params[];

/* A cxl_switch's port-to-port latency unless a scenario says otherwise:
 * its `latency` key and a machine's cxl `switch_latency` (no calibration
 * row in REFERENCES.md; switch vendors quote tens to ~100 ns). */
#define CXL_SWITCH_LATENCY "50ns"

#endif
