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
#define ORR_TIME_MAX UINT64_MAX /* ~213 days of simulated time */

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

/* Whole cycles elapsed by time t (rounded down). */
static inline uint64_t orr_clock_ps_to_cycles(const struct orr_clock *c, orr_time_t t)
{
    return (uint64_t)(((unsigned __int128)t * c->hz) / ORR_S);
}

/* The first cycle boundary at or after t. */
static inline orr_time_t orr_clock_next_edge(const struct orr_clock *c, orr_time_t t)
{
    uint64_t n = orr_clock_ps_to_cycles(c, t);
    orr_time_t edge = orr_clock_cycles_to_ps(c, n);
    return edge >= t ? edge : orr_clock_cycles_to_ps(c, n + 1);
}

#endif
