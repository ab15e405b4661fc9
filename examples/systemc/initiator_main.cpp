// orrery_initiator: a tiny SystemC platform that drives an Orrery model
// through orrery::module (include/orrery/systemc.hpp, docs/systemc.md).
//
//   orrery_initiator SCENARIO [--lines N] [--set KEY=VALUE]...
//
// A loosely-timed initiator (with a quantum keeper) writes N lines through
// the socket of the scenario's tlm_initiator `cpu0`, patches 8 bytes of
// each (a partial write: Orrery reads, merges, writes back), reads them
// all back and checks every byte. It prints one line:
//   transactions=.. late=.. errors=.. mismatches=.. sim_time_ps=.. digest=..
// and exits 0 if every transaction succeeded and every byte matched.
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "orrery/systemc.hpp"

extern "C" {
#include "hw/registry.h"
}

struct cpu : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<cpu> socket;
    tlm_utils::tlm_quantumkeeper qk;
    unsigned lines;
    std::uint64_t base = 0x10000, errors = 0, mismatches = 0;

    SC_HAS_PROCESS(cpu);
    cpu(sc_core::sc_module_name n, unsigned lines) : sc_core::sc_module(n), socket("socket"), lines(lines)
    {
        SC_THREAD(run);
    }

    static unsigned char expect(unsigned line, unsigned byte)
    {
        return byte >= 8 && byte < 16 ? (unsigned char)(0xA0 + line) : (unsigned char)(line * 7 + byte);
    }

    void access(tlm::tlm_command cmd, std::uint64_t addr, unsigned char *data, unsigned len)
    {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(addr);
        gp.set_data_ptr(data);
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time delay = qk.get_local_time();
        socket->b_transport(gp, delay);
        qk.set(delay);
        if (!gp.is_response_ok())
            errors++;
        if (qk.need_sync())
            qk.sync();
    }

    void run()
    {
        qk.reset();
        unsigned char buf[64];
        for (unsigned i = 0; i < lines; i++) {
            for (unsigned b = 0; b < 64; b++)
                buf[b] = (unsigned char)(i * 7 + b);
            access(tlm::TLM_WRITE_COMMAND, base + 64ull * i, buf, 64);
        }
        for (unsigned i = 0; i < lines; i++) {
            std::memset(buf, 0xA0 + i, 8);
            access(tlm::TLM_WRITE_COMMAND, base + 64ull * i + 8, buf, 8);
        }
        for (unsigned i = 0; i < lines; i++) {
            access(tlm::TLM_READ_COMMAND, base + 64ull * i, buf, 64);
            for (unsigned b = 0; b < 64; b++)
                mismatches += buf[b] != expect(i, b);
        }
        qk.sync();
    }
};

int sc_main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s SCENARIO [--lines N] [--set KEY=VALUE]...\n", argv[0]);
        return 2;
    }
    orrery::options opt;
    opt.types = orr_builtin_types;
    unsigned lines = 64;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--lines"))
            lines = (unsigned)std::strtoul(argv[i + 1], nullptr, 10);
        else if (!std::strcmp(argv[i], "--set"))
            opt.sets.push_back(argv[i + 1]);
    }
    tlm::tlm_global_quantum::instance().set(sc_core::sc_time(1, sc_core::SC_US));
    try {
        orrery::module top("orrery", argv[1], opt);
        cpu c("cpu", lines);
        c.socket.bind(top.socket("cpu0"));
        sc_core::sc_start();
        top.finish();
        std::printf("transactions=%" PRIu64 " late=%" PRIu64 " errors=%" PRIu64
                    " mismatches=%" PRIu64 " sim_time_ps=%" PRIu64 " digest=%016" PRIx64 "\n",
                    top.transactions(), top.late_transactions(), c.errors, c.mismatches,
                    (std::uint64_t)orr_now(top.sim()), top.digest());
        return c.errors || c.mismatches ? 1 : 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "orrery_initiator: %s\n", e.what());
        return 2;
    }
}
