// orrery::module: an Orrery simulation inside a SystemC platform
// (include/orrery/systemc.hpp, docs/systemc.md).
//
// Orrery's clock follows SystemC's in two ways:
//   * the SC_THREAD `sync` wakes at the first quantum boundary after
//     Orrery's next event and dispatches every event before SystemC's
//     current time (temporal decoupling: Orrery lags by < one quantum);
//   * a transaction on a socket first dispatches every event before its
//     time t (SystemC time + annotated delay), then has its tlm_initiator
//     issue the line request at t and steps Orrery until the response,
//     annotating the delay up to it. b_transport never calls wait().
// Events are always dispatched by orr_sim_step, in key order.
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include <cstring>
#include <string>

#include "bridge.h"
#include "orrery/systemc.hpp"

namespace orrery
{

struct module::port {
    tlm_utils::simple_target_socket_tagged<module> sock;
    struct orr_component *c;
    std::string path;
    port(const char *name, struct orr_component *c) : sock(name), c(c), path(c->path) {}
};

module::module(sc_core::sc_module_name name, const std::string &scenario, const options &opt)
    : sc_core::sc_module(name), opt_(opt)
{
    std::memset(&sc_, 0, sizeof sc_);
    std::string why;
    if (!orr_bridge::prepare(why))
        SC_REPORT_ERROR("orrery", why.c_str());
    if (!opt_.types)
        SC_REPORT_ERROR("orrery", "options.types is not set: pass the component types the "
                                  "scenario may name (orr_builtin_types, hw/registry.h)");
    if (opt_.quantum == sc_core::SC_ZERO_TIME)
        SC_REPORT_ERROR("orrery", "options.quantum must be greater than zero");
    std::vector<const char *> sets;
    for (const std::string &s : opt_.sets)
        sets.push_back(s.c_str());
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_scenario_open(&sc_, scenario.c_str(), sets.data(), sets.size(),
                               opt_.has_seed ? &opt_.seed : nullptr, opt_.types, &d);
    if (rc) {
        std::string msg = "cannot build scenario '" + scenario + "':";
        for (size_t i = 0; i < d.nMsg; i++) {
            char line[1024];
            orr_diag_format(&d.aMsg[i], line, sizeof line);
            msg += "\n  ";
            msg += line;
        }
        orr_diag_free(&d);
        orr_scenario_close(&sc_);
        SC_REPORT_ERROR("orrery", msg.c_str());
        return;
    }
    orr_diag_free(&d);
    for (uint32_t id = 0; id < orr_sim_component_count(sc_.sim); id++) {
        struct orr_component *c = orr_sim_component(sc_.sim, id);
        if (c->type != &orr_tlm_initiator_type)
            continue;
        std::string n = c->path;
        for (char &ch : n)
            if (ch == '.')
                ch = '_';
        port *p = new port(n.c_str(), c);
        p->sock.register_b_transport(this, &module::b_transport_tagged,
                                     (int)aPort_.size());
        p->sock.register_transport_dbg(this, &module::transport_dbg_tagged, (int)aPort_.size());
        p->sock.register_get_direct_mem_ptr(this, &module::get_dmi_tagged, (int)aPort_.size());
        aPort_.push_back(p);
    }
    orr_sim_step_begin(sc_.sim, nullptr);
    SC_THREAD(sync);
}

module::~module()
{
    if (sc_.sim)
        finish();
    orr_scenario_close(&sc_);
    for (port *p : aPort_)
        delete p;
}

tlm::tlm_target_socket<32> &module::socket(const std::string &component)
{
    for (port *p : aPort_)
        if (p->path == component)
            return p->sock;
    std::string names;
    for (port *p : aPort_)
        names += (names.empty() ? "" : ", ") + p->path;
    SC_REPORT_ERROR("orrery", ("no tlm_initiator component '" + component +
                               "' in the scenario (tlm_initiators: " +
                               (names.empty() ? "none" : names) + ")")
                                  .c_str());
    throw std::runtime_error("unreachable"); // SC_REPORT_ERROR throws by default
}

orr_stop_reason module::finish()
{
    if (!finished_) {
        finished_ = true;
        why_ = orr_sim_step_end(sc_.sim);
        orr_sim_finish(sc_.sim);
    }
    return why_;
}

// Dispatch every event before `limit`.
void module::catch_up(orr_time_t limit)
{
    while (!stopped_ && !finished_ && orr_sim_next_time(sc_.sim) < limit)
        if (!orr_sim_step(sc_.sim))
            stopped_ = true;
}

void module::sync()
{
    const orr_time_t q = opt_.quantum.value();
    for (;;) {
        catch_up(sc_core::sc_time_stamp().value());
        orr_time_t next = stopped_ || finished_ ? ORR_TIME_MAX : orr_sim_next_time(sc_.sim);
        if (next == ORR_TIME_MAX) {
            wait(wake_);
            continue;
        }
        orr_time_t now = sc_core::sc_time_stamp().value();
        orr_time_t at = next / q * q + q; // the first boundary after next
        if (at <= now)
            at = now + q;
        wait(sc_core::sc_time::from_value(at - now), wake_);
    }
}

// Step Orrery until p's transaction is done; false if the run stopped (or
// nothing is left that could finish it) first.
bool module::run_until_done(orr_bridge::txn *t)
{
    while (!t->done) {
        if (stopped_ || finished_ || orr_sim_next_time(sc_.sim) == ORR_TIME_MAX)
            return false;
        if (!orr_sim_step(sc_.sim))
            stopped_ = true;
    }
    return true;
}

// One line operation entering at *t; *t becomes its completion time.
bool module::line_op(port *p, orr_time_t *t, enum orr_mem_cmd cmd, uint64_t line,
                     orr_bridge::txn *x, bool *late)
{
    catch_up(*t);
    if (stopped_ || finished_)
        return false;
    if (*t < orr_now(sc_.sim)) {
        *t = orr_now(sc_.sim);
        *late = true;
    }
    orr_bridge::initiator_issue(p->c, *t, cmd, line, x);
    if (!run_until_done(x))
        return false;
    *t = x->t_done;
    return true;
}

void module::transport(port *p, tlm::tlm_generic_payload &gp, sc_core::sc_time &delay)
{
    const tlm::tlm_command cmd = gp.get_command();
    const unsigned len = gp.get_data_length();
    if (gp.get_byte_enable_ptr()) {
        gp.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        return;
    }
    if (gp.get_streaming_width() < len) {
        gp.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    if (cmd == tlm::TLM_IGNORE_COMMAND || len == 0) {
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    if (gp.get_address() > ORR_MEM_ADDR_MASK || len - 1 > ORR_MEM_ADDR_MASK - gp.get_address()) {
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    nTxn_++;
    const orr_time_t start = sc_core::sc_time_stamp().value();
    orr_time_t t = start + delay.value();
    bool late = false, ok = true;
    unsigned char *data = gp.get_data_ptr();
    for (uint64_t a = gp.get_address(), left = len; ok && left;) {
        uint64_t line = a & ~(uint64_t)(ORR_LINE_BYTES - 1), off = a - line;
        uint64_t n = ORR_LINE_BYTES - off < left ? ORR_LINE_BYTES - off : left;
        orr_bridge::txn x;
        if (cmd == tlm::TLM_READ_COMMAND || n < ORR_LINE_BYTES)
            ok = line_op(p, &t, ORR_MEM_RD, line, &x, &late);
        if (ok && cmd == tlm::TLM_READ_COMMAND) {
            std::memcpy(data, x.line + off, n);
        } else if (ok) {
            std::memcpy(x.line + off, data, n);
            ok = line_op(p, &t, ORR_MEM_WR, line, &x, &late);
        }
        a += n, data += n, left -= n;
    }
    if (late) {
        nLate_++;
        orr_bridge::initiator_late(p->c);
    }
    wake_.notify(sc_core::SC_ZERO_TIME);
    if (!ok) {
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    delay = sc_core::sc_time::from_value(t - start);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

void module::b_transport_tagged(int id, tlm::tlm_generic_payload &gp, sc_core::sc_time &delay)
{
    transport(aPort_[(size_t)id], gp, delay);
}

// The model has timing and caches: no backdoor, no direct pointers.
unsigned module::transport_dbg_tagged(int, tlm::tlm_generic_payload &) { return 0; }
bool module::get_dmi_tagged(int, tlm::tlm_generic_payload &, tlm::tlm_dmi &dmi)
{
    dmi.allow_none();
    return false;
}

} // namespace orrery
