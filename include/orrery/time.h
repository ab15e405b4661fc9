/* Simulated time: picoseconds in a uint64_t, and clock domains that convert
 * cycles to picoseconds with integer arithmetic only (DESIGN.md §2). */
#ifndef ORRERY_TIME_H
#define ORRERY_TIME_H

#include <stdint.h>

typedef uint64_t orr_time_t; /* picoseconds since the start of the run */

#define ORR_PS 1ull
#define ORR_NS 1000ull
#define ORR_US 1000000ull
#define ORR_MS 1000000000ull
#define ORR_S 1000000000000ull
#define ORR_TIME_MAX UINT64_MAX

/* Simulated time ends at 2^62 ps (about 53.4 days). Time values in
 * scenarios must not exceed it, and an event whose time would reach it is
 * never queued (the engine counts it as sim.events_beyond_horizon). Keeping
 * every queued time below 2^62 leaves the event queue headroom to add
 * bucket widths without overflow. */
#define ORR_TIME_HORIZON (1ull << 62)

/* A clock domain. Frequencies are whole Hz; one cycle is 1e12/hz ps, which is
 * usually not an integer (3.2 GHz = 312.5 ps), so conversions go through a
 * 128-bit product and round down; cycle n starts at floor(n * 1e12 / hz). */
struct orr_clock {
    uint64_t hz;
};

static inline orr_time_t orr_clock_cycles_to_ps(const struct orr_clock *c, uint64_t cycles)
{
    return (orr_time_t)(((unsigned __int128)cycles * ORR_S) / c->hz);
}

/* The cycle in progress at time t: the largest n whose start
 * floor(n * 1e12 / hz) is <= t, i.e. ceil((t + 1) * hz / 1e12) - 1. The
 * inverse of orr_clock_cycles_to_ps on cycle starts. */
static inline uint64_t orr_clock_ps_to_cycles(const struct orr_clock *c, orr_time_t t)
{
    unsigned __int128 x = ((unsigned __int128)t + 1) * c->hz;
    return (uint64_t)((x + ORR_S - 1) / ORR_S) - 1;
}

/* The first cycle boundary at or after t. */
static inline orr_time_t orr_clock_next_edge(const struct orr_clock *c, orr_time_t t)
{
    uint64_t n = orr_clock_ps_to_cycles(c, t);
    orr_time_t edge = orr_clock_cycles_to_ps(c, n); /* <= t */
    return edge == t ? edge : orr_clock_cycles_to_ps(c, n + 1);
}

#endif
