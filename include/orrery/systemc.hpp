// The SystemC / TLM-2.0 bridge for C++ code (docs/systemc.md): the ABI of
// TLM target libraries that a `tlm_target` component loads, and
// orrery::module, an sc_module that owns an Orrery simulation so a SystemC
// platform can drive Orrery's memory models through TLM-2.0 sockets.
//
// Link: the orrery_systemc CMake target (or liborrery_systemc.a plus the
// engine, hardware and kernel libraries and SystemC itself, dynamically:
// a model and Orrery must share one SystemC kernel).
#ifndef ORRERY_SYSTEMC_HPP
#define ORRERY_SYSTEMC_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>

extern "C" {
#include "orrery/mem.h"
#include "orrery/scenario.h"
#include "orrery/systemc.h"
}

// ---------------------------------------------------------------------------
// TLM target libraries
//
// A shared library that a `tlm_target` component loads (dlopen) exports
// one C function, ORR_TLM_ENTRY, returning a static descriptor. Orrery
// checks `abi` against ORR_TLM_ABI_VERSION (a mismatch is an input error)
// and calls `create` once per tlm_target instance, while the scenario is
// built (SystemC elaboration: the module may create sc_objects, but must
// not rely on simulation running). The socket it returns serves:
//   * b_transport for every request Orrery cannot serve through DMI: reads
//     and writes of one 64-byte line, address = line address - `base`,
//     no byte enables, streaming width 64. The annotated delay (1 ps
//     resolution) is added to the request's latency. b_transport must not
//     call wait(): Orrery calls it outside any SystemC thread.
//   * get_direct_mem_ptr (optional): a granted region is then read and
//     written directly, with the region's read/write latency as the delay.
//   * transport_dbg (optional): the `bitflip` fault reads and writes
//     through it, taking no simulated time.
// Any response status other than TLM_OK_RESPONSE stops the run as bad
// input (exit 2), after the trace records a `mem.error` point.
#define ORR_TLM_ABI_VERSION 1u
#define ORR_TLM_ENTRY "orrery_tlm_target"

extern "C" {

struct orr_tlm_param {
    const char *key, *value; // one `config:` entry, as written in the scenario
};

struct orr_tlm_target_desc {
    std::uint32_t abi; // ORR_TLM_ABI_VERSION the library was built against
    const char *model; // the model's name, for messages
    // Build one instance, an sc_module named `name`, configured by the
    // scenario's `config:` map. Return its target socket, or NULL with a
    // one-line reason in err (a bad config value: an input error).
    tlm::tlm_target_socket<32> *(*create)(const char *name, const orr_tlm_param *aParam,
                                          std::size_t nParam, char *err, std::size_t nErr);
};

typedef const orr_tlm_target_desc *(*orr_tlm_entry_fn)(void);

} // extern "C"

// ---------------------------------------------------------------------------
// Orrery inside SystemC

namespace orr_bridge
{
struct txn;
}

namespace orrery
{

struct options {
    std::vector<std::string> sets; // --set style overrides, "key.path=value"
    bool has_seed = false;         // replace the scenario's seed with `seed`
    std::uint64_t seed = 0;
    // Temporal decoupling: Orrery's own activity (events no SystemC request
    // waits for) is brought up to SystemC time at most every `quantum`, so
    // Orrery lags SystemC by less than a quantum between transactions.
    sc_core::sc_time quantum = sc_core::sc_time(1, sc_core::SC_US);
    // The component types the scenario may name: a NULL-terminated table,
    // usually the hardware library's orr_builtin_types (hw/registry.h).
    // Required; the engine knows no types of its own.
    const struct orr_component_type *const *types = nullptr;
};

// An sc_module holding one Orrery simulation built from a scenario file.
// Every `tlm_initiator` component of the scenario gets a TLM-2.0 target
// socket (socket("path")): a b_transport on it becomes line requests (RD,
// or RD then WR for a partial-line write) sent from that component's `out`
// port into whatever the scenario links it to — a dram, a cxl_switch, a
// home's memory side — and returns when the last response arrives, with
// the delay annotated up to that response's time.
//
// Time: a transaction at SystemC time t with annotated delay d enters
// Orrery at t + d. Orrery never runs past the time of the latest response
// it has produced, so a later transaction can find Orrery ahead of it
// (several initiators, or an initiator rewinding its local time): it then
// enters at Orrery's current time, late, and late_transactions() counts it.
// With one initiator whose local time only grows, nothing is ever late and
// the run is as deterministic as the SystemC program driving it.
//
// DMI is never granted (the model has timing and caches); debug transport
// is not supported (returns 0 bytes). Errors building the scenario are
// reported with SC_REPORT_ERROR (an sc_report exception by default).
class module : public sc_core::sc_module
{
  public:
    module(sc_core::sc_module_name name, const std::string &scenario, const options &opt = options());
    ~module() override;

    // The socket of tlm_initiator component `component` (its path).
    tlm::tlm_target_socket<32> &socket(const std::string &component);

    // End the run (idempotent): dispatch nothing more, write the STOP
    // record, fold stats into metrics. Returns why Orrery stopped.
    orr_stop_reason finish();

    struct orr_sim *sim() const { return sc_.sim; }
    const struct orr_scenario &scenario() const { return sc_; }
    std::uint64_t digest() const { return orr_sim_digest(sc_.sim); }
    std::uint64_t transactions() const { return nTxn_; }
    std::uint64_t late_transactions() const { return nLate_; }

    SC_HAS_PROCESS(module);

  private:
    struct port;
    struct orr_scenario sc_;
    std::vector<port *> aPort_;
    options opt_;
    sc_core::sc_event wake_; // a transaction left Orrery events to catch up on
    bool stopped_ = false, finished_ = false;
    orr_stop_reason why_ = ORR_STOP_IDLE;
    std::uint64_t nTxn_ = 0, nLate_ = 0;

    void sync();
    void catch_up(orr_time_t limit);
    bool run_until_done(orr_bridge::txn *t);
    bool line_op(port *p, orr_time_t *t, enum orr_mem_cmd cmd, std::uint64_t line,
                 orr_bridge::txn *x, bool *late);
    void transport(port *p, tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    void b_transport_tagged(int id, tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    unsigned transport_dbg_tagged(int id, tlm::tlm_generic_payload &gp);
    bool get_dmi_tagged(int id, tlm::tlm_generic_payload &gp, tlm::tlm_dmi &dmi);
};

} // namespace orrery

#endif
