// tlm_memory: a SystemC TLM-2.0 memory of configurable latency, built as a
// shared library that Orrery's `tlm_target` component loads
// (docs/systemc.md). The example of include/orrery/systemc.hpp's ABI.
//
// config keys (strings, as written in the scenario):
//   latency  delay annotated on every access, e.g. 50ns (default 50ns)
//   size     bytes, e.g. 1GiB (default 16GiB); an access beyond answers
//            TLM_ADDRESS_ERROR_RESPONSE
//   dmi      true/false: grant DMI over the whole memory (default true)
//   debug    true/false: serve transport_dbg (default true)
//
// The bytes live in one anonymous mapping (zero until written, backed only
// where touched), so DMI can hand out a single pointer.
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "orrery/systemc.hpp"

#ifndef TLM_MEMORY_ABI
#define TLM_MEMORY_ABI ORR_TLM_ABI_VERSION
#endif

namespace
{

struct tlm_memory : sc_core::sc_module {
    tlm_utils::simple_target_socket<tlm_memory> socket;
    sc_core::sc_time latency;
    std::uint64_t size;
    bool dmi, debug;
    unsigned char *mem;

    tlm_memory(sc_core::sc_module_name n, sc_core::sc_time lat, std::uint64_t sz, bool dmi,
               bool debug)
        : sc_core::sc_module(n), socket("socket"), latency(lat), size(sz), dmi(dmi), debug(debug)
    {
        void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        mem = p == MAP_FAILED ? nullptr : static_cast<unsigned char *>(p);
        socket.register_b_transport(this, &tlm_memory::b_transport);
        socket.register_get_direct_mem_ptr(this, &tlm_memory::get_direct_mem_ptr);
        socket.register_transport_dbg(this, &tlm_memory::transport_dbg);
    }

    bool in_range(const tlm::tlm_generic_payload &gp) const
    {
        return gp.get_address() < size && gp.get_data_length() <= size - gp.get_address();
    }

    void b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay)
    {
        if (!in_range(gp)) {
            gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return;
        }
        if (gp.get_byte_enable_ptr() || gp.get_streaming_width() < gp.get_data_length()) {
            gp.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
            return;
        }
        unsigned char *at = mem + gp.get_address();
        if (gp.is_read())
            std::memcpy(gp.get_data_ptr(), at, gp.get_data_length());
        else if (gp.is_write())
            std::memcpy(at, gp.get_data_ptr(), gp.get_data_length());
        delay += latency;
        gp.set_dmi_allowed(dmi);
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }

    bool get_direct_mem_ptr(tlm::tlm_generic_payload &, tlm::tlm_dmi &d)
    {
        if (!dmi)
            return false;
        d.set_dmi_ptr(mem);
        d.set_start_address(0);
        d.set_end_address(size - 1);
        d.allow_read_write();
        d.set_read_latency(latency);
        d.set_write_latency(latency);
        return true;
    }

    unsigned transport_dbg(tlm::tlm_generic_payload &gp)
    {
        if (!debug || !in_range(gp))
            return 0;
        unsigned char *at = mem + gp.get_address();
        if (gp.is_read())
            std::memcpy(gp.get_data_ptr(), at, gp.get_data_length());
        else if (gp.is_write())
            std::memcpy(at, gp.get_data_ptr(), gp.get_data_length());
        return gp.get_data_length();
    }
};

// "50ns", "1us", "800ps"
bool parse_time(const char *s, sc_core::sc_time *out)
{
    char *end;
    unsigned long long v = std::strtoull(s, &end, 10);
    std::string u(end);
    if (end == s)
        return false;
    if (u == "ps")
        *out = sc_core::sc_time((double)v, sc_core::SC_PS);
    else if (u == "ns")
        *out = sc_core::sc_time((double)v, sc_core::SC_NS);
    else if (u == "us")
        *out = sc_core::sc_time((double)v, sc_core::SC_US);
    else
        return false;
    return true;
}

// "4096", "64KiB", "1GiB"
bool parse_size(const char *s, std::uint64_t *out)
{
    char *end;
    unsigned long long v = std::strtoull(s, &end, 10);
    std::string u(end);
    int shift = u == "" || u == "B" ? 0 : u == "KiB" ? 10 : u == "MiB" ? 20 : u == "GiB" ? 30 : -1;
    if (end == s || shift < 0 || v == 0)
        return false;
    *out = (std::uint64_t)v << shift;
    return true;
}

bool parse_bool(const char *s, bool *out)
{
    if (!std::strcmp(s, "true") || !std::strcmp(s, "false")) {
        *out = s[0] == 't';
        return true;
    }
    return false;
}

tlm::tlm_target_socket<32> *create(const char *name, const orr_tlm_param *aParam,
                                   std::size_t nParam, char *err, std::size_t nErr)
{
    sc_core::sc_time latency(50, sc_core::SC_NS);
    std::uint64_t size = std::uint64_t(16) << 30;
    bool dmi = true, debug = true;
    for (std::size_t i = 0; i < nParam; i++) {
        const char *k = aParam[i].key, *v = aParam[i].value;
        bool ok = !std::strcmp(k, "latency") ? parse_time(v, &latency)
                  : !std::strcmp(k, "size")  ? parse_size(v, &size)
                  : !std::strcmp(k, "dmi")   ? parse_bool(v, &dmi)
                  : !std::strcmp(k, "debug") ? parse_bool(v, &debug)
                                             : false;
        if (!ok) {
            std::snprintf(err, nErr, "config.%s: '%s' is not a valid value (or key); keys: "
                          "latency (e.g. 50ns), size (e.g. 1GiB), dmi, debug (true/false)", k, v);
            return nullptr;
        }
    }
    tlm_memory *m = new tlm_memory(name, latency, size, dmi, debug);
    if (!m->mem) {
        std::snprintf(err, nErr, "cannot map %llu bytes", (unsigned long long)size);
        return nullptr;
    }
    return &m->socket;
}

} // namespace

// The entry point (TLM_MEMORY_NO_ENTRY renames it: the test library that
// lacks one).
#ifdef TLM_MEMORY_NO_ENTRY
#define orrery_tlm_target not_the_entry_point
#endif
extern "C" const orr_tlm_target_desc *orrery_tlm_target(void)
{
    static const orr_tlm_target_desc desc = {TLM_MEMORY_ABI, "tlm_memory", create};
    return &desc;
}
