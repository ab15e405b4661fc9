// Private to model/systemc/: what its files share. The component types'
// parameter tables (also used by none.c, the build without SystemC, so a
// scenario is validated the same way by both), the SystemC process set-up,
// and the tlm_initiator's calls from orrery::module.
#ifndef ORRERY_MODEL_SYSTEMC_BRIDGE_H
#define ORRERY_MODEL_SYSTEMC_BRIDGE_H

#define ORR_TLM_TARGET_PARAMS                                                                      \
    {"library", ORR_P_STRING, NULL, ORR_PF_NONEMPTY,                                               \
     "the TLM target's shared library: a path (relative to the scenario file) or a bare name "     \
     "searched in $ORRERY_TLM_PATH, then by the dynamic loader"},                                  \
    {"config", ORR_P_MAP, "{}", 0, "key: value pairs handed to the library's create"},             \
    {"ports", ORR_P_UINT, "1", ORR_PF_POSITIVE, "request ports, named in0..in<N-1>", NULL, 1, 256}, \
    {"base", ORR_P_ADDR, "0", 0, "first physical address served; the target sees addr - base"},    \
    {"size", ORR_P_SIZE, "16GiB", ORR_PF_POSITIVE, "bytes served from base"},                      \
    {"latency", ORR_P_TIME, "0ns", 0, "added to every response, on top of the target's delay"},    \
    {"dmi", ORR_P_BOOL, "true", 0, "use direct memory access where the target grants it"},         \
    {NULL}

#define ORR_TLM_TARGET_PORTS                                                                       \
    {"in<N>", "line requests in, responses out on the same port; 0 <= N < ports"}, {NULL}

#define ORR_TLM_TARGET_METRICS                                                                     \
    {"in<N>.backlog", "msg", ORR_METRIC_GAUGE, "responses waiting for port inN's link"},           \
    {"reads", "req", ORR_METRIC_COUNTER, "line reads the target served"},                          \
    {"writes", "req", ORR_METRIC_COUNTER, "line writes the target served"},                        \
    {"dmi_accesses", "req", ORR_METRIC_COUNTER, "of those, accesses made through DMI"},            \
    {NULL}

#define ORR_TLM_INITIATOR_PARAMS {NULL}
#define ORR_TLM_INITIATOR_PORTS                                                                    \
    {"out", "line requests out (mem.h) for a SystemC initiator, responses in"}, {NULL}

#define ORR_TLM_INITIATOR_METRICS                                                                  \
    {"reads", "req", ORR_METRIC_COUNTER, "line reads completed for the SystemC initiator"},        \
    {"writes", "req", ORR_METRIC_COUNTER, "line writes completed for the SystemC initiator"},      \
    {"late_transactions", "txn", ORR_METRIC_COUNTER,                                               \
     "transactions that found the model past their time and entered at its time"},                 \
    {"latency", "ns", ORR_METRIC_HISTOGRAM, "a line request's issue to its response"},             \
    {NULL}

#define ORR_SYSTEMC_MISSING                                                                        \
    "this orrery was built without SystemC; install it with scripts/deps.sh (Debian/Ubuntu "       \
    "package libsystemc-dev, or SystemC 2.3 from accellera.org with pkg-config) and rebuild"

#ifdef __cplusplus
#include <cstdint>
#include <string>

extern "C" {
#include "orrery/mem.h"
#include "orrery/sim.h"
}

namespace orr_bridge
{

// Make this process's SystemC time resolution 1 ps (so Orrery times map
// exactly onto sc_time), unless it is already fixed to something else:
// false, with the reason in why.
bool prepare(std::string &why);

// One line transaction of a tlm_initiator, owned by the caller.
struct txn {
    bool done = false;
    orr_time_t t_done = 0;
    std::uint8_t line[ORR_LINE_BYTES] = {};
};

// Issue cmd (RD or WR of `line`, data in t->line for WR) from tlm_initiator
// c at time `when` (>= orr_now): the request leaves c's `out` port then;
// t->done is set, with t_done and (for RD) t->line, when the response
// arrives. One transaction at a time per component.
void initiator_issue(struct orr_component *c, orr_time_t when, enum orr_mem_cmd cmd,
                     std::uint64_t line, txn *t);
// A transaction that entered late (docs/systemc.md): counted as a stat.
void initiator_late(struct orr_component *c);

} // namespace orr_bridge
#endif

#endif
