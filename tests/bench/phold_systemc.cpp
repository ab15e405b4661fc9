// PHOLD on SystemC 2.3: the comparison baseline for Orrery's engine.
//
// Usage: phold_systemc --lps N --pending P --events E [--seed S]
//
// Model (must match the Orrery-side PHOLD; see tests/bench/README.md):
//   * N logical processes (LPs), 0..N-1, each with its own xoshiro256**
//     generator seeded by splitmix64 from (seed ^ (lp * 0x9E3779B97F4A7C15)).
//   * P initial events, event j (0 <= j < P) at LP (j mod N), at time
//     1 + (r % 1024) ns, r drawn from that LP's generator.
//   * Executing an event at an LP schedules exactly one new event: two draws
//     from the executing LP's generator, destination = r1 % N, then
//     delay = 1 + (r2 % 1024) ns.  The pending population stays exactly P.
//   * Stop (sc_stop) once E events have been executed in total.
//
// SystemC modelling (meant as a fair, idiomatic, efficient baseline):
//   * Each LP is an sc_module with one SC_METHOD, statically sensitive to the
//     LP's sc_event, dont_initialize().  SC_METHODs have no coroutine stack,
//     so this is the cheapest process kind SystemC offers.
//   * An sc_event holds at most one pending notification, but an LP can have
//     many arrivals pending at different future times.  Each LP therefore
//     keeps a local min-heap of arrival times (in ps, i.e. sc_time values).
//     Sending pushes onto the destination's heap and calls
//     ev.notify(delay); sc_event::notify(sc_time) keeps the earlier of the
//     pending and new notification, so the event always fires no later than
//     the earliest arrival.  The method pops every arrival stamped 'now'
//     (there can be several), executes each, then re-notifies its event with
//     (earliest remaining - now).  Invariant: a non-empty heap always has a
//     pending notification at exactly its minimum.
//
// Output: exactly one line on stdout on success:
//   PHOLD_SYSTEMC lps=N pending=P events=E wall_s=.. events_per_s=..
//   bytes_per_pending=..
// and one debug line on stderr with the final simulated time.
//
// Build: g++ -std=c++17 -O2 phold_systemc.cpp $(pkg-config --cflags --libs systemc)

#include <systemc>

#include <malloc.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <queue>
#include <string>
#include <vector>

namespace
{

// ---------------------------------------------------------------- generator

inline std::uint64_t splitmix64(std::uint64_t &x)
{
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

inline std::uint64_t rotl(std::uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

struct Xoshiro256ss {
    std::uint64_t s[4];

    void seed(std::uint64_t v)
    {
        for (auto &w : s)
            w = splitmix64(v);
    }

    std::uint64_t next()
    {
        const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
        const std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    }
};

// ------------------------------------------------------------------- model

constexpr std::uint64_t kPsPerNs = 1000;   // time resolution is 1 ps
constexpr std::uint64_t kDelayMask = 1023; // delay = 1 + (r % 1024) ns

struct Lp;

// Global run state (one simulation per process).
std::vector<Lp *> g_lps;
std::uint64_t g_nlps = 0;
std::uint64_t g_target = 0;   // E
std::uint64_t g_executed = 0; // events executed so far

using TimeHeap =
    std::priority_queue<std::uint64_t, std::vector<std::uint64_t>, std::greater<std::uint64_t>>;

struct Lp : sc_core::sc_module {
    sc_core::sc_event ev;
    TimeHeap arrivals; // pending arrival times, absolute, in ps
    Xoshiro256ss rng;

    SC_HAS_PROCESS(Lp);

    Lp(const sc_core::sc_module_name &name, std::uint64_t seed, std::uint64_t id)
        : sc_core::sc_module(name), ev("ev")
    {
        rng.seed(seed ^ (id * 0x9E3779B97F4A7C15ULL));
        SC_METHOD(run);
        sensitive << ev;
        dont_initialize();
    }

    // Schedule an arrival at this LP 'delay_ps' after 'now_ps'.
    void receive(std::uint64_t now_ps, std::uint64_t delay_ps)
    {
        arrivals.push(now_ps + delay_ps);
        // Keeps the earlier of the pending and the new notification.
        ev.notify(sc_core::sc_time::from_value(delay_ps));
    }

    void run()
    {
        const std::uint64_t now = sc_core::sc_time_stamp().value();
        while (!arrivals.empty() && arrivals.top() == now) {
            if (g_executed >= g_target)
                return; // stop requested; leave the rest pending
            arrivals.pop();
            ++g_executed;
            // Execute: schedule exactly one new event.
            const std::uint64_t dst = rng.next() % g_nlps;
            const std::uint64_t delay = (1 + (rng.next() & kDelayMask)) * kPsPerNs;
            g_lps[dst]->receive(now, delay);
            if (g_executed == g_target) {
                sc_core::sc_stop();
                return;
            }
        }
        if (!arrivals.empty()) {
            if (arrivals.top() < now) {
                std::fprintf(stderr, "phold_systemc: internal error: arrival in the past\n");
                std::abort();
            }
            ev.notify(sc_core::sc_time::from_value(arrivals.top() - now));
        }
    }
};

// ------------------------------------------------------------------- usage

const char kUsage[] = "usage: phold_systemc --lps N --pending P --events E [--seed S]\n"
                      "  --lps N      number of logical processes (N >= 1)\n"
                      "  --pending P  pending event population, kept constant (P >= 1)\n"
                      "  --events E   stop after E executed events (E >= 1)\n"
                      "  --seed S     generator seed (default 1; any unsigned 64-bit value)\n"
                      "Prints one line: PHOLD_SYSTEMC lps= pending= events= wall_s= "
                      "events_per_s= bytes_per_pending=\n";

[[noreturn]] void usage_error(const std::string &msg)
{
    std::cerr << "phold_systemc: " << msg << "\n" << kUsage;
    std::exit(2);
}

// Parse a decimal unsigned integer; 'allow_zero' for the seed.
std::uint64_t parse_u64(const char *opt, const char *s, bool allow_zero)
{
    if (s == nullptr)
        usage_error(std::string(opt) + " needs a value");
    if (*s < '0' || *s > '9')
        usage_error(std::string(opt) + ": not a non-negative integer: '" + s + "'");
    errno = 0;
    char *end = nullptr;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (errno == ERANGE)
        usage_error(std::string(opt) + ": out of range: '" + s + "'");
    if (*end != '\0')
        usage_error(std::string(opt) + ": not an integer: '" + s + "'");
    if (!allow_zero && v == 0)
        usage_error(std::string(opt) + " must be positive");
    return v;
}

// Heap bytes in use: small chunks from the arenas plus mmapped large chunks.
std::uint64_t heap_in_use()
{
    struct mallinfo2 mi = mallinfo2();
    return static_cast<std::uint64_t>(mi.uordblks) + mi.hblkhd;
}

// Route SystemC's report display to stderr so stdout carries only our line.
void report_to_stderr(const sc_core::sc_report &rep, const sc_core::sc_actions &actions)
{
    if (actions & sc_core::SC_DISPLAY)
        std::cerr << sc_core::sc_report_compose_message(rep) << std::endl;
    sc_core::sc_report_handler::default_handler(rep, actions & ~sc_core::SC_DISPLAY);
}

} // namespace

int sc_main(int argc, char *argv[])
{
    std::uint64_t nlps = 0, pending = 0, events = 0, seed = 1;
    bool have_lps = false, have_pending = false, have_events = false;

    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
            std::cout << kUsage;
            return 0;
        } else if (!std::strcmp(a, "--lps")) {
            nlps = parse_u64(a, v, false), have_lps = true, ++i;
        } else if (!std::strcmp(a, "--pending")) {
            pending = parse_u64(a, v, false), have_pending = true, ++i;
        } else if (!std::strcmp(a, "--events")) {
            events = parse_u64(a, v, false), have_events = true, ++i;
        } else if (!std::strcmp(a, "--seed")) {
            seed = parse_u64(a, v, true), ++i;
        } else {
            usage_error(std::string("unknown argument '") + a + "'");
        }
    }
    if (!have_lps || !have_pending || !have_events)
        usage_error("--lps, --pending and --events are required");

    sc_core::sc_report_handler::set_handler(report_to_stderr);
    // "Simulation stopped by user" and similar chatter.
    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    sc_core::sc_set_time_resolution(1, sc_core::SC_PS);
    sc_core::sc_set_stop_mode(sc_core::SC_STOP_IMMEDIATE);

    g_nlps = nlps;
    g_target = events;

    // bytes_per_pending: glibc heap in use (mallinfo2: arena bytes in use +
    // mmapped chunks) sampled after the SystemC kernel exists but before any
    // LP is built, and again after the LPs are built, elaboration has run
    // (sc_start(SC_ZERO_TIME) builds the kernel's per-process tables) and
    // all P initial events are scheduled (heap entries + the kernel's
    // sc_event_timed records).  The difference, divided by P, is everything
    // this model costs per pending event including per-LP overhead
    // (sc_module, sc_event, method process, names, heap vectors) amortised
    // over P/N events per LP.  It is a setup-time figure: the per-LP heaps
    // can grow a little further during the run as loads fluctuate.
    const std::uint64_t heap_before = heap_in_use();

    g_lps.reserve(nlps);
    std::vector<std::unique_ptr<Lp>> owner;
    owner.reserve(nlps);
    for (std::uint64_t i = 0; i < nlps; ++i) {
        owner.emplace_back(new Lp(("lp" + std::to_string(i)).c_str(), seed, i));
        g_lps.push_back(owner.back().get());
    }

    // Finish elaboration and initialisation outside the timed region.  No
    // process is runnable (dont_initialize), so simulated time stays 0.
    sc_core::sc_start(sc_core::SC_ZERO_TIME);

    for (std::uint64_t j = 0; j < pending; ++j) {
        Lp *lp = g_lps[j % nlps];
        lp->receive(0, (1 + (lp->rng.next() & kDelayMask)) * kPsPerNs);
    }

    const std::uint64_t heap_after = heap_in_use();
    const double bytes_per_pending =
        heap_after >= heap_before
            ? static_cast<double>(heap_after - heap_before) / static_cast<double>(pending)
            : 0.0;

    const auto t0 = std::chrono::steady_clock::now();
    sc_core::sc_start();
    const auto t1 = std::chrono::steady_clock::now();
    const double wall = std::chrono::duration<double>(t1 - t0).count();

    std::uint64_t left = 0;
    for (const Lp *lp : g_lps)
        left += lp->arrivals.size();
    // Each executed event removed one arrival and added one.
    if (g_executed != events || left != pending) {
        std::cerr << "phold_systemc: executed " << g_executed << " of " << events << " events, "
                  << left << " pending of " << pending
                  << " (simulation ran dry or stopped early)\n";
        return 1;
    }

    const std::uint64_t heap_end = heap_in_use();
    std::cerr << "PHOLD_SYSTEMC_DEBUG final_time_ps=" << sc_core::sc_time_stamp().value()
              << " executed=" << g_executed << " pending_left=" << left
              << " heap_after_run_bytes_per_pending="
              << (heap_end >= heap_before
                      ? static_cast<double>(heap_end - heap_before) / static_cast<double>(pending)
                      : 0.0)
              << "\n";

    std::printf("PHOLD_SYSTEMC lps=%" PRIu64 " pending=%" PRIu64 " events=%" PRIu64
                " wall_s=%.6f events_per_s=%.0f bytes_per_pending=%.1f\n",
                nlps, pending, events, wall, wall > 0 ? static_cast<double>(events) / wall : 0.0,
                bytes_per_pending);
    std::fflush(stdout);
    return 0;
}

// The library prints its banner when the simulation context is first created,
// which happens after sc_main is entered; disable it before that from a
// static initialiser so it runs before anything else in this program.
namespace
{
struct DisableBanner {
    DisableBanner() { setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1); }
} g_disable_banner;
} // namespace
