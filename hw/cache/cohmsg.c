/* Names of coherence message types (include/orrery/coh.h), for traces,
 * failure reports and docs. */
#include "orrery/coh.h"

const char *orr_coh_type_name(enum orr_coh_type t)
{
    static const char *const names[ORR_COH_NTYPE] = {
        [ORR_COH_GETS] = "GETS",       [ORR_COH_GETM] = "GETM",
        [ORR_COH_PUT] = "PUT",         [ORR_COH_PROBE_S] = "PROBE_S",
        [ORR_COH_PROBE_M] = "PROBE_M", [ORR_COH_DATA_S] = "DATA_S",
        [ORR_COH_DATA_E] = "DATA_E",   [ORR_COH_DATA_M] = "DATA_M",
        [ORR_COH_WB_GO] = "WB_GO",     [ORR_COH_ACK] = "ACK",
        [ORR_COH_UNBLOCK] = "UNBLOCK", [ORR_COH_WB_DATA] = "WB_DATA",
        [ORR_COH_WB_CANCEL] = "WB_CANCEL",
    };
    return (unsigned)t < ORR_COH_NTYPE && names[t] ? names[t] : "?";
}
