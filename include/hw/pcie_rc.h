/* The root complex's declarations a machine builder includes for its
 * `pcie:` key (hw/pcie/rc.c, docs/pcie.md). */
#ifndef HW_PCIE_RC_H
#define HW_PCIE_RC_H

#include "orrery/params.h"

extern const struct orr_param pcie_rc_params[];

#endif
