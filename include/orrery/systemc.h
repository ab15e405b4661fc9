/* The SystemC / TLM-2.0 bridge as C code sees it (docs/systemc.md): the
 * SystemC engine mode of `orrery run --engine systemc`, and the two bridge
 * component types. The C++ side (TLM target libraries, the sc_module that
 * holds an Orrery simulation) is include/orrery/systemc.hpp.
 *
 * Two backends implement this header, chosen at build time: model/systemc/
 * (C++, when CMake finds SystemC) and model/systemc/none.c (no SystemC:
 * every entry point reports how to get it). */
#ifndef ORRERY_SYSTEMC_H
#define ORRERY_SYSTEMC_H

#include <stdbool.h>

#include "orrery/diag.h"
#include "orrery/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* True if this build includes the SystemC bridge. */
bool orr_systemc_available(void);

/* Process-wide SystemC settings for the orrery CLI, before anything else
 * touches SystemC: SystemC's reports go to stderr (stdout carries --json).
 * A no-op without SystemC. */
void orr_systemc_cli_init(void);

/* Can s run under SystemC's scheduler? 0, or ORR_ENOTSUP with the reason
 * in d (no SystemC in this build, a SystemC time resolution other than
 * 1 ps already fixed in this process, times sc_time cannot hold). */
int orr_systemc_check(struct orr_sim *s, struct orr_diag *d);

/* Run s (built and started) with SystemC's scheduler driving time: every
 * component becomes an sc_module whose arrivals are timed notifications;
 * at each SystemC instant the events due are dispatched in the engine's
 * key order (orr_sim_step), so the trace and digest equal orr_sim_run's.
 * SystemC elaborates and simulates once per process: call this at most
 * once. Returns 0 and sets *why, or ORR_ENOTSUP / ORR_EINVAL with the
 * reason in d (nothing has run then). */
int orr_systemc_run(struct orr_sim *s, const struct orr_run_hooks *hooks,
                    enum orr_stop_reason *why, struct orr_diag *d);

/* tlm_target: serves mem.h line requests with a SystemC TLM-2.0 target
 * loaded from a shared library (systemc.hpp: ORR_TLM_ENTRY). */
extern const struct orr_component_type orr_tlm_target_type;
/* tlm_initiator: where a SystemC initiator's transactions enter an Orrery
 * model held by orrery::module (systemc.hpp); idle anywhere else. */
extern const struct orr_component_type orr_tlm_initiator_type;

#ifdef __cplusplus
}
#endif

#endif
