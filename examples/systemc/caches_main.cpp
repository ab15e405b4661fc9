// orrery_caches: a tiny SystemC platform whose initiator drives a core's
// coherent caches in an Orrery machine through orrery::module
// (docs/systemc.md, orrery-caches.yaml: tlm0 is linked to sock0.core0.cpu,
// a coh_port, while core 1 reads the same lines).
//
//   orrery_caches SCENARIO [--lines N] [--set KEY=VALUE]...
//
// A loosely-timed initiator (with a quantum keeper) on the socket of `tlm0`:
//   1. reads N lines nobody has written (misses: they must read as zeros),
//   2. writes each whole line (write permission: invalidates core 1's copy),
//   3. patches 8 bytes of each (a partial write: a read, the merge, a write),
//   4. reads them all back (hits) and checks every byte.
// It prints one line:
//   transactions=.. late=.. errors=.. mismatches=.. read_miss_ns=..
//   read_hit_ns=.. write_ns=.. probes=.. core1_misses=.. stop=..
//   sim_time_ps=.. digest=..
// (read_miss_ns / read_hit_ns: mean latency of steps 1 and 4; probes: how
// often core 1 made core 0 give up a line or its write permission). It
// exits 0 if every transaction succeeded, every byte matched and the
// coherence monitor found nothing.
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
    // latency sums (ps) and counts: cold reads, read-backs, whole-line writes
    std::uint64_t miss_ps = 0, hit_ps = 0, write_ps = 0, nMiss = 0, nHit = 0, nWrite = 0;

    SC_HAS_PROCESS(cpu);
    cpu(sc_core::sc_module_name n, unsigned lines) : sc_core::sc_module(n), socket("socket"), lines(lines)
    {
        SC_THREAD(run);
    }

    static unsigned char expect(unsigned line, unsigned byte)
    {
        return byte >= 8 && byte < 16 ? (unsigned char)(0xB0 + line) : (unsigned char)(line * 5 + byte + 1);
    }

    // One transaction; returns its latency in ps (the delay it added).
    std::uint64_t access(tlm::tlm_command cmd, std::uint64_t addr, unsigned char *data, unsigned len)
    {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(addr);
        gp.set_data_ptr(data);
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time before = qk.get_local_time(), delay = before;
        socket->b_transport(gp, delay);
        qk.set(delay);
        if (!gp.is_response_ok())
            errors++;
        if (qk.need_sync())
            qk.sync();
        return (delay - before).value();
    }

    void run()
    {
        qk.reset();
        unsigned char buf[64];
        for (unsigned i = 0; i < lines; i++) {
            miss_ps += access(tlm::TLM_READ_COMMAND, base + 64ull * i, buf, 64), nMiss++;
            for (unsigned b = 0; b < 64; b++)
                mismatches += buf[b] != 0;
        }
        for (unsigned i = 0; i < lines; i++) {
            for (unsigned b = 0; b < 64; b++)
                buf[b] = (unsigned char)(i * 5 + b + 1);
            write_ps += access(tlm::TLM_WRITE_COMMAND, base + 64ull * i, buf, 64), nWrite++;
        }
        for (unsigned i = 0; i < lines; i++) {
            std::memset(buf, 0xB0 + i, 8);
            access(tlm::TLM_WRITE_COMMAND, base + 64ull * i + 8, buf, 8);
        }
        for (unsigned i = 0; i < lines; i++) {
            hit_ps += access(tlm::TLM_READ_COMMAND, base + 64ull * i, buf, 64), nHit++;
            for (unsigned b = 0; b < 64; b++)
                mismatches += buf[b] != expect(i, b);
        }
        qk.sync();
    }
};

// Mean in ns with three decimals, from integer ps (no floating point in the output).
static std::string mean_ns(std::uint64_t sum_ps, std::uint64_t n)
{
    std::uint64_t ps = n ? sum_ps / n : 0;
    char s[32];
    std::snprintf(s, sizeof s, "%" PRIu64 ".%03" PRIu64, ps / 1000, ps % 1000);
    return s;
}

static double metric(struct orr_sim *s, const char *comp, const char *name)
{
    const struct orr_metric *m;
    std::size_t n = orr_sim_metrics(s, &m);
    for (std::size_t i = 0; i < n; i++)
        if (!std::strcmp(m[i].component, comp) && !std::strcmp(m[i].name, name))
            return m[i].value;
    return -1;
}

int sc_main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s SCENARIO [--lines N] [--set KEY=VALUE]...\n", argv[0]);
        return 2;
    }
    orrery::options opt;
    opt.types = orr_builtin_types;
    unsigned lines = 32;
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
        c.socket.bind(top.socket("tlm0"));
        sc_core::sc_start();
        orr_stop_reason why = top.finish();
        const char *failure = orr_sim_failure(top.sim());
        std::printf("transactions=%" PRIu64 " late=%" PRIu64 " errors=%" PRIu64
                    " mismatches=%" PRIu64 " read_miss_ns=%s read_hit_ns=%s write_ns=%s"
                    " probes=%.0f core1_misses=%.0f stop=%s sim_time_ps=%" PRIu64
                    " digest=%016" PRIx64 "\n",
                    top.transactions(), top.late_transactions(), c.errors, c.mismatches,
                    mean_ns(c.miss_ps, c.nMiss).c_str(), mean_ns(c.hit_ps, c.nHit).c_str(),
                    mean_ns(c.write_ps, c.nWrite).c_str(), metric(top.sim(), "sock0.core0", "probes"),
                    metric(top.sim(), "sock0.core1", "misses"), orr_stop_reason_name(why),
                    (std::uint64_t)orr_now(top.sim()), top.digest());
        if (failure)
            std::fprintf(stderr, "orrery_caches: the model failed: %s\n", failure);
        return c.errors || c.mismatches || failure ? 1 : 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "orrery_caches: %s\n", e.what());
        return 2;
    }
}
