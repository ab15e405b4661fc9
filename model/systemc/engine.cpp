// The SystemC engine (`orrery run --engine systemc`): SystemC's scheduler
// drives time, Orrery's event queue orders work within an instant.
//
//   orrery (kernel)          one SC_METHOD `dispatch`, sensitive to `due`
//     <path segments>        one sc_module per component, nested by its
//                            dotted path (groups for prefixes that are not
//                            components), each with an sc_event_queue
//                            `arrivals` and an SC_METHOD `arrive`
//
// Every event Orrery queues (a message crossing a link, a timer, a fault)
// becomes a timed notification of its target's `arrivals` at the event's
// time (orr_sim_watch). At that instant `arrive` runs and notifies `due`
// for the next delta; `dispatch` then dispatches every Orrery event of the
// instant in the engine's key order (orr_sim_step), including those they
// schedule for the same instant. Which component's notification fired
// first, and how many deltas SystemC takes, therefore cannot change the
// order, and the trace digest is the native engine's. Events at or beyond
// the scenario's duration are never notified; a stop condition calls
// sc_stop(). Times are sc_time values at 1 ps resolution, so they map
// exactly.
#include <systemc>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bridge.h"

extern "C" {
#include "orrery/error.h"
#include "orrery/systemc.h"
}

namespace
{

using namespace sc_core;

struct kernel;

// A component as SystemC sees it, or (id < 0) a path prefix grouping some.
struct unit : sc_module {
    struct spec {
        std::string name;
        long id = -1;
        std::vector<spec> kids; // in order of first appearance
        std::map<std::string, size_t> index;
    };

    SC_HAS_PROCESS(unit);
    unit(sc_module_name n, const spec &sp, kernel *k, std::vector<unit *> &byId);
    void arrive();

    kernel *k;
    sc_event_queue *arrivals = nullptr;
    std::vector<unit *> kids;
};

struct kernel : sc_module {
    SC_HAS_PROCESS(kernel);
    kernel(sc_module_name n, struct orr_sim *s) : sc_module(n), s(s)
    {
        SC_METHOD(dispatch);
        sensitive << due; // and run once at time 0 for the events due then
        unit::spec root;
        for (uint32_t id = 0; id < orr_sim_component_count(s); id++)
            insert(root, orr_sim_component(s, id)->path, id);
        aUnit.assign(orr_sim_component_count(s), nullptr);
        for (const unit::spec &sp : root.kids)
            top.push_back(new unit(sp.name.c_str(), sp, this, aUnit));
    }

    static void insert(unit::spec &root, const std::string &path, long id)
    {
        unit::spec *at = &root;
        size_t pos = 0;
        for (;;) {
            size_t dot = path.find('.', pos);
            std::string seg = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
            auto it = at->index.find(seg);
            if (it == at->index.end()) {
                it = at->index.emplace(seg, at->kids.size()).first;
                at->kids.push_back(unit::spec{seg, -1, {}, {}});
            }
            at = &at->kids[it->second];
            if (dot == std::string::npos)
                break;
            pos = dot + 1;
        }
        at->id = id;
    }

    void dispatch()
    {
        if (stopped || orr_sim_next_time(s) != sc_time_stamp().value())
            return;
        if (!orr_sim_step(s)) {
            stopped = true;
            sc_stop();
        }
    }

    // orr_sim_watch: an event for `target` at `when`.
    static void watch(void *arg, orr_time_t when, uint32_t target)
    {
        kernel *k = static_cast<kernel *>(arg);
        orr_time_t now = sc_time_stamp().value(), stop = orr_sim_stop_time(k->s);
        if (when <= now || (stop && when >= stop))
            return; // this instant's step takes it; beyond the duration it never runs
        k->aUnit[target]->arrivals->notify(sc_time::from_value(when - now));
    }

    struct orr_sim *s;
    sc_event due;
    bool stopped = false;
    std::vector<unit *> aUnit, top;
};

unit::unit(sc_module_name n, const spec &sp, kernel *k, std::vector<unit *> &byId)
    : sc_module(n), k(k)
{
    if (sp.id >= 0) {
        arrivals = new sc_event_queue("arrivals");
        byId[(size_t)sp.id] = this;
        SC_METHOD(arrive);
        sensitive << *arrivals;
        dont_initialize();
    }
    for (const spec &c : sp.kids)
        kids.push_back(new unit(c.name.c_str(), c, k, byId));
}

void unit::arrive() { k->due.notify(SC_ZERO_TIME); }

} // namespace

extern "C" int orr_systemc_check(struct orr_sim *s, struct orr_diag *d)
{
    std::string why;
    if (sc_get_status() != SC_ELABORATION || sc_find_object("orrery")) {
        orr_diag_error(d, NULL, NULL,
                       "--engine systemc: SystemC elaborates and simulates once per process, "
                       "and this process has already used it");
        return ORR_ENOTSUP;
    }
    if (!orr_bridge::prepare(why)) {
        orr_diag_error(d, NULL, NULL, "--engine systemc: %s", why.c_str());
        return ORR_ENOTSUP;
    }
    // sc_time holds 64 bits of ps; Orrery times end at ORR_TIME_HORIZON.
    orr_time_t need = orr_sim_stop_time(s) ? orr_sim_stop_time(s) : ORR_TIME_HORIZON;
    if (sc_max_time().value() < need) {
        orr_diag_error(d, NULL, NULL,
                       "--engine systemc: the scenario's times reach %llu ps, beyond the "
                       "largest sc_time (%s)",
                       (unsigned long long)need, sc_max_time().to_string().c_str());
        return ORR_ENOTSUP;
    }
    return 0;
}

extern "C" int orr_systemc_run(struct orr_sim *s, const struct orr_run_hooks *hooks,
                               enum orr_stop_reason *why, struct orr_diag *d)
{
    int rc = orr_systemc_check(s, d);
    if (rc)
        return rc;
    try {
        // owned by SystemC's object hierarchy for the rest of the process
        kernel *k = new kernel("orrery", s);
        orr_sim_step_begin(s, hooks);
        orr_sim_watch(s, kernel::watch, k);
        sc_start();
        orr_sim_watch(s, nullptr, nullptr);
        *why = orr_sim_step_end(s);
    } catch (const std::exception &e) {
        orr_sim_watch(s, nullptr, nullptr);
        orr_diag_error(d, NULL, NULL, "--engine systemc: SystemC stopped with an error: %s",
                       e.what());
        return ORR_EINVAL;
    }
    return 0;
}
