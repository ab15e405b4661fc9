// SystemC process set-up shared by the bridge: the 1 ps time resolution,
// reports on stderr for the CLI (the weak sc_main is in weak_main.cpp).
#include <systemc>

#include <cstdio>
#include <string>

#include "bridge.h"

extern "C" {
#include "orrery/systemc.h"
}

namespace orr_bridge
{

bool prepare(std::string &why)
{
    using namespace sc_core;
    try {
        sc_set_time_resolution(1, SC_PS);
    } catch (const sc_report &) {
        // already specified or fixed: fine if it is 1 ps
    }
    if (sc_get_time_resolution() != sc_time(1, SC_PS)) {
        why = "SystemC's time resolution in this process is " +
              sc_get_time_resolution().to_string() +
              ", not 1 ps: Orrery times would not map exactly (set it with "
              "sc_set_time_resolution(1, SC_PS) before creating any sc_time)";
        return false;
    }
    return true;
}

} // namespace orr_bridge

// SystemC prints reports (warnings, infos) on stdout; the CLI keeps stdout
// for its own output (--json), so they go to stderr.
static void report_to_stderr(const sc_core::sc_report &r, const sc_core::sc_actions &a)
{
    if (a & sc_core::SC_DISPLAY)
        std::fprintf(stderr, "%s\n", sc_core::sc_report_compose_message(r).c_str());
    sc_core::sc_report_handler::default_handler(r, a & ~sc_core::SC_DISPLAY);
}

extern "C" bool orr_systemc_available(void) { return true; }

extern "C" void orr_systemc_cli_init(void)
{
    sc_core::sc_report_handler::set_handler(report_to_stderr);
    // "Simulation stopped by user": the engine's sc_stop is how runs end
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO,
                                            sc_core::SC_DO_NOTHING);
}
