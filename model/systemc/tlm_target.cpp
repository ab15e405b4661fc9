// tlm_target: serves Orrery's line protocol (include/orrery/mem.h) with a
// SystemC TLM-2.0 target loaded from a shared library, so a SystemC memory
// model can stand where a dram would (docs/systemc.md).
//
// A request arriving at time t on port inN is served at t, in arrival
// order: a tlm_generic_payload (64-byte read or write of line - base)
// through the target's DMI region when it granted one, else b_transport.
// The response (RD_RESP with the line, WR_ACK) leaves on inN at
// t + annotated delay + `latency`, queueing behind a busy link. Timing and
// message sequence are those of flatmem with the same total latency, so
// with a target of constant latency the digests are equal.
//
// This is a component type, not hardware: it lives with the bridge because
// it is C++ (the only C++ in the tree is model/systemc/) and it speaks only
// public headers, like any hw/ model. hw/registry.c lists it.
//
// Errors: a misaligned line, a non-request or an address outside [base,
// base + size) is a model error (orr_sim_fail), as in dram. A TLM response
// other than TLM_OK_RESPONSE — the target refusing Orrery's input — records
// a `mem.error` trace point (a = request word, b = TLM status) and stops
// the run as bad input (orr_sim_fail_input: exit 2).
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "bridge.h"
#include "orrery/systemc.hpp"

namespace
{

const struct orr_param target_params[] = {ORR_TLM_TARGET_PARAMS};
const struct orr_port_doc target_ports[] = {ORR_TLM_TARGET_PORTS};
const struct orr_metric_doc target_metrics[] = {ORR_TLM_TARGET_METRICS};

const struct orr_param bitflip_params[] = {
    {"addr", ORR_P_ADDR, NULL, 0, "byte address (0x... or decimal)"},
    {"bit", ORR_P_UINT, "0", 0, "bit of that byte to invert", NULL, 0, 7},
    {NULL},
};
const struct orr_fault_desc target_faults[] = {
    {"bitflip", "invert one stored bit through the target's debug transport (no time passes)",
     bitflip_params},
    {NULL, NULL, NULL},
};

struct target;

// Orrery's end of the binding: a module holding the initiator socket bound
// to the target's (SystemC ports live in modules), for the backward path
// a target uses to revoke DMI.
struct proxy : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<target> init;
    explicit proxy(sc_core::sc_module_name n) : sc_core::sc_module(n), init("init") {}
};

struct target {
    struct orr_component *c = nullptr;
    std::vector<struct orr_port *> aPort;
    std::vector<std::deque<struct orr_msg>> aOut; // responses waiting for each port's link
    std::vector<struct orr_gauge *> aDepth;
    uint64_t base = 0, size = 0;
    orr_time_t latency = 0;
    bool useDmi = true;

    std::string libPath;
    const orr_tlm_target_desc *desc = nullptr;
    tlm::tlm_target_socket<32> *sock = nullptr;
    tlm::tlm_fw_transport_if<> *fw = nullptr; // what sock exports: the target itself
    proxy *orrery = nullptr;
    tlm::tlm_generic_payload gp;
    tlm::tlm_dmi dmi;
    bool dmiValid = false;

    uint16_t kError = 0;
    struct orr_counter *reads = nullptr, *writes = nullptr, *dmiAccesses = nullptr;

    void invalidate(sc_dt::uint64 start, sc_dt::uint64 end)
    {
        if (dmiValid && start <= dmi.get_end_address() && end >= dmi.get_start_address())
            dmiValid = false;
    }
};

target *self(struct orr_component *c) { return *static_cast<target **>(c->state); }

// The library named by `library:`: relative paths from the scenario file's
// directory; bare names from $ORRERY_TLM_PATH, else the dynamic loader.
std::string resolve_library(const char *lib, const struct orr_mark &mark)
{
    std::string l(lib);
    if (l.find('/') != std::string::npos) {
        if (l[0] != '/' && mark.file) {
            std::string f(mark.file);
            size_t slash = f.rfind('/');
            if (slash != std::string::npos)
                return f.substr(0, slash + 1) + l;
        }
        return l;
    }
    const char *env = std::getenv("ORRERY_TLM_PATH");
    for (std::string rest = env ? env : ""; !rest.empty();) {
        size_t colon = rest.find(':');
        std::string dir = rest.substr(0, colon);
        rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
        std::string cand = (dir.empty() ? "." : dir) + "/" + l;
        if (access(cand.c_str(), R_OK) == 0)
            return cand;
    }
    return l;
}

int load(struct orr_component *c, target *t, const struct orr_params *p, struct orr_diag *d)
{
    const struct orr_mark *lm = orr_param_mark(p, "library");
    t->libPath = resolve_library(orr_param_str(p, "library"), c->mark);
    void *h = dlopen(t->libPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        orr_diag_error(d, lm, c->keypath, "cannot load TLM target library '%s': %s",
                       t->libPath.c_str(), dlerror());
        return ORR_ESCHEMA;
    }
    // Never dlclose: the module it builds lives as long as SystemC's kernel.
    void *sym = dlsym(h, ORR_TLM_ENTRY);
    if (!sym) {
        orr_diag_error(d, lm, c->keypath,
                       "'%s' has no entry point %s(): not an Orrery TLM target library "
                       "(see include/orrery/systemc.hpp)",
                       t->libPath.c_str(), ORR_TLM_ENTRY);
        return ORR_ESCHEMA;
    }
    orr_tlm_entry_fn entry;
    std::memcpy(&entry, &sym, sizeof entry);
    t->desc = entry();
    if (!t->desc || t->desc->abi != ORR_TLM_ABI_VERSION) {
        orr_diag_error(d, lm, c->keypath,
                       "'%s' was built for TLM target ABI version %u; this orrery speaks "
                       "version %u: rebuild it against include/orrery/systemc.hpp",
                       t->libPath.c_str(), t->desc ? (unsigned)t->desc->abi : 0u,
                       ORR_TLM_ABI_VERSION);
        return ORR_ESCHEMA;
    }
    return 0;
}

int build(struct orr_component *c, target *t, const struct orr_params *p, struct orr_diag *d)
{
    std::string why;
    if (!orr_bridge::prepare(why)) {
        orr_diag_error(d, &c->mark, c->keypath, "%s", why.c_str());
        return ORR_ESCHEMA;
    }
    if (sc_core::sc_get_status() != sc_core::SC_ELABORATION) {
        orr_diag_error(d, &c->mark, c->keypath,
                       "SystemC is past elaboration in this process: a TLM target can no "
                       "longer be built");
        return ORR_ESCHEMA;
    }
    std::vector<orr_tlm_param> aParam;
    const struct orr_node *cfg = orr_param_map(p, "config");
    for (size_t i = 0; cfg && i < cfg->n; i++) {
        if (cfg->aItem[i]->kind != ORR_NODE_SCALAR) {
            orr_diag_error(d, &cfg->aItem[i]->mark, c->keypath,
                           "config.%s: expected a scalar value for the TLM target", cfg->aKey[i]);
            return ORR_ESCHEMA;
        }
        aParam.push_back(orr_tlm_param{cfg->aKey[i], cfg->aItem[i]->scalar});
    }
    std::string name(c->path);
    for (char &ch : name)
        if (ch == '.')
            ch = '_';
    char err[256] = "";
    try {
        t->sock = t->desc->create(sc_core::sc_gen_unique_name(name.c_str(), true), aParam.data(),
                                  aParam.size(), err, sizeof err);
        if (t->sock) {
            t->orrery = new proxy(sc_core::sc_gen_unique_name((name + "_orrery").c_str(), true));
            t->orrery->init.register_invalidate_direct_mem_ptr(t, &target::invalidate);
            t->orrery->init.bind(*t->sock);
            t->fw = t->sock->get_base_export().operator->();
        }
    } catch (const std::exception &e) {
        std::snprintf(err, sizeof err, "%s", e.what());
        t->sock = nullptr;
    }
    if (!t->sock) {
        orr_diag_error(d, orr_param_mark(p, "config"), c->keypath,
                       "TLM target '%s' (%s) could not be built: %s", t->desc->model,
                       t->libPath.c_str(), *err ? err : "no reason given");
        return ORR_ESCHEMA;
    }
    return 0;
}

int target_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    target *t = new target;
    *static_cast<target **>(c->state) = t;
    t->c = c;
    t->base = orr_param_u64(p, "base");
    if (t->base % ORR_LINE_BYTES) {
        orr_diag_error(d, orr_param_mark(p, "base"), c->keypath,
                       "base %#llx is not a multiple of the %u-byte line",
                       (unsigned long long)t->base, ORR_LINE_BYTES);
        return ORR_ESCHEMA;
    }
    t->size = orr_param_u64(p, "size");
    t->latency = orr_param_u64(p, "latency");
    t->useDmi = orr_param_bool(p, "dmi");
    unsigned n = (unsigned)orr_param_u64(p, "ports");
    t->aOut.resize(n);
    for (unsigned i = 0; i < n; i++) {
        char name[32];
        std::snprintf(name, sizeof name, "in%u", i);
        t->aPort.push_back(orr_port_add(c, name));
        std::snprintf(name, sizeof name, "in%u.backlog", i);
        t->aDepth.push_back(orr_gauge_new(c, name, "msg"));
    }
    t->kError = orr_trace_kind(c, "mem.error");
    t->reads = orr_counter_new(c, "reads", "req");
    t->writes = orr_counter_new(c, "writes", "req");
    t->dmiAccesses = orr_counter_new(c, "dmi_accesses", "req");
    int rc = load(c, t, p, d);
    if (rc == 0)
        rc = build(c, t, p, d);
    if (rc == 0)
        orr_sim_knob(c, "library", t->libPath.c_str());
    return rc;
}

// Read or write the line at offset off through DMI or b_transport. Returns
// the TLM status; *delay is the target's delay in ps.
tlm::tlm_response_status access(target *t, tlm::tlm_command cmd, uint64_t off, uint8_t *buf,
                                orr_time_t *delay, std::string &why)
{
    const bool rd = cmd == tlm::TLM_READ_COMMAND;
    if (t->dmiValid && off >= t->dmi.get_start_address() &&
        off + ORR_LINE_BYTES - 1 <= t->dmi.get_end_address() &&
        (rd ? t->dmi.is_read_allowed() : t->dmi.is_write_allowed())) {
        uint8_t *mem = t->dmi.get_dmi_ptr() + (off - t->dmi.get_start_address());
        std::memcpy(rd ? buf : mem, rd ? mem : buf, ORR_LINE_BYTES);
        *delay = (rd ? t->dmi.get_read_latency() : t->dmi.get_write_latency()).value();
        t->dmiAccesses->v++;
        return tlm::TLM_OK_RESPONSE;
    }
    tlm::tlm_generic_payload &gp = t->gp;
    gp.set_command(cmd);
    gp.set_address(off);
    gp.set_data_ptr(buf);
    gp.set_data_length(ORR_LINE_BYTES);
    gp.set_streaming_width(ORR_LINE_BYTES);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_byte_enable_length(0);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    try {
        t->fw->b_transport(gp, d);
        if (gp.is_response_ok() && gp.is_dmi_allowed() && t->useDmi && !t->dmiValid) {
            t->dmi.init();
            t->dmiValid = t->fw->get_direct_mem_ptr(gp, t->dmi);
        }
    } catch (const std::exception &e) {
        why = e.what();
        return tlm::TLM_GENERIC_ERROR_RESPONSE;
    }
    *delay = d.value();
    return gp.get_response_status();
}

void respond(target *t, unsigned port, const struct orr_msg *m)
{
    struct orr_port *p = t->aPort[port];
    std::deque<struct orr_msg> &q = t->aOut[port];
    if (!p->link)
        return;
    if (q.empty() && orr_port_send(p, m, 0) == 0)
        return;
    q.push_back(*m);
    orr_gauge_set(t->aDepth[port], (int64_t)q.size());
}

void drain(target *t, unsigned port)
{
    std::deque<struct orr_msg> &q = t->aOut[port];
    while (!q.empty() && orr_port_send(t->aPort[port], &q.front(), 0) == 0)
        q.pop_front();
    orr_gauge_set(t->aDepth[port], (int64_t)q.size());
}

std::string status_name(tlm::tlm_response_status s)
{
    tlm::tlm_generic_payload gp;
    gp.set_response_status(s);
    return gp.get_response_string();
}

void request(struct orr_component *c, target *t, unsigned port, const struct orr_event *ev)
{
    uint64_t w = ev->data[0], addr = orr_mem_addr(w);
    enum orr_mem_cmd cmd = orr_mem_cmd(w);
    const char *bad = cmd != ORR_MEM_RD && cmd != ORR_MEM_WR ? "not a request (RD or WR)"
                      : addr % ORR_LINE_BYTES                ? "not a line address"
                      : addr < t->base || addr - t->base >= t->size ? "outside the range served"
                                                                    : nullptr;
    if (bad) {
        orr_trace_point(c, t->kError, w, 0);
        orr_sim_fail(c, "in%u: command %u for address 0x%llx: %s", port, (unsigned)cmd,
                     (unsigned long long)addr, bad);
        if (cmd == ORR_MEM_WR && ev->data[1])
            orr_blob_free(c->sim, ev->data[1]);
        return;
    }
    struct orr_msg m = {ORR_MEM_HDR_BYTES, {0, 0}};
    orr_time_t delay = 0;
    std::string why;
    tlm::tlm_response_status st;
    if (cmd == ORR_MEM_RD) {
        void *line;
        m.size += ORR_LINE_BYTES;
        m.data[0] = orr_mem_pack(addr, ORR_MEM_RD_RESP, orr_mem_tag(w));
        m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, &line);
        st = access(t, tlm::TLM_READ_COMMAND, addr - t->base, static_cast<uint8_t *>(line), &delay,
                    why);
        t->reads->v++;
    } else {
        st = access(t, tlm::TLM_WRITE_COMMAND, addr - t->base,
                    static_cast<uint8_t *>(orr_blob_get(c->sim, ev->data[1])), &delay, why);
        orr_blob_free(c->sim, ev->data[1]);
        m.data[0] = orr_mem_pack(addr, ORR_MEM_WR_ACK, orr_mem_tag(w));
        t->writes->v++;
    }
    if (st != tlm::TLM_OK_RESPONSE) {
        orr_trace_point(c, t->kError, w, (uint64_t)(int64_t)st);
        orr_sim_fail_input(c, "in%u: %s of 0x%llx: the TLM target '%s' answered %s%s%s", port,
                           cmd == ORR_MEM_RD ? "RD" : "WR", (unsigned long long)addr,
                           t->desc->model, status_name(st).c_str(), why.empty() ? "" : ": ",
                           why.c_str());
        if (cmd == ORR_MEM_RD)
            orr_blob_free(c->sim, m.data[1]);
        return;
    }
    orr_timer_msg(c, delay + t->latency, (uint16_t)port, &m);
}

void target_handle(struct orr_component *c, const struct orr_event *ev)
{
    target *t = self(c);
    switch (ev->kind) {
    case ORR_TK_MSG:
        request(c, t, ev->port, ev);
        break;
    case ORR_TK_TIMER: {
        struct orr_msg m = {ev->size, {ev->data[0], ev->data[1]}};
        respond(t, ev->port, &m);
        break;
    }
    case ORR_TK_READY:
        drain(t, ev->port);
        break;
    default:
        break;
    }
}

int target_fault_check(struct orr_component *c, unsigned fault, const struct orr_params *p,
                       const struct orr_mark *mark, struct orr_diag *d)
{
    (void)fault;
    target *t = self(c);
    uint64_t a = orr_param_u64(p, "addr");
    if (a < t->base || a - t->base >= t->size) {
        orr_diag_error(d, mark, c->keypath, "bitflip: addr %#llx is not an address this "
                       "tlm_target serves", (unsigned long long)a);
        return ORR_ESCHEMA;
    }
    return 0;
}

// bitflip: read-modify-write one byte through transport_dbg.
void target_fault(struct orr_component *c, unsigned fault, const struct orr_params *p)
{
    (void)fault;
    target *t = self(c);
    uint64_t a = orr_param_u64(p, "addr");
    uint8_t byte = 0;
    tlm::tlm_generic_payload gp;
    gp.set_address(a - t->base);
    gp.set_data_ptr(&byte);
    gp.set_data_length(1);
    gp.set_streaming_width(1);
    unsigned n = 0;
    try {
        gp.set_command(tlm::TLM_READ_COMMAND);
        n = t->fw->transport_dbg(gp);
        byte ^= (uint8_t)(1u << orr_param_u64(p, "bit"));
        gp.set_command(tlm::TLM_WRITE_COMMAND);
        n = n == 1 ? t->fw->transport_dbg(gp) : 0;
    } catch (const std::exception &) {
        n = 0;
    }
    if (n != 1) {
        orr_trace_point(c, t->kError, a, 0);
        orr_sim_fail_input(c, "bitflip at 0x%llx: the TLM target '%s' offers no debug "
                           "transport there", (unsigned long long)a, t->desc->model);
    }
}

void target_destroy(struct orr_component *c)
{
    // The sockets and the target's module belong to SystemC's object
    // hierarchy, which lives as long as the process; only ours is freed.
    delete self(c);
}

} // namespace

extern "C" const struct orr_component_type orr_tlm_target_type = {
    "tlm_target",
    "SystemC TLM-2.0 target (from a shared library) serving line requests; see docs/systemc.md",
    target_params,
    target_ports,
    target_faults,
    target_metrics,
    sizeof(target *),
    false,
    target_create,
    nullptr,
    target_handle,
    target_fault,
    target_fault_check,
    nullptr,
    target_destroy,
    nullptr,
};
