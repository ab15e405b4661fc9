/* Per-component random streams. Each component's stream is seeded from
 * (root seed, component path) so adding a component elsewhere never shifts
 * anyone else's numbers. Generator: xoshiro256**; seeding: the path's XXH3
 * hash mixed with the root seed through splitmix64. All sampling is integer
 * or fixed-point, so streams are identical on every machine and compiler. */
#ifndef ORRERY_RNG_H
#define ORRERY_RNG_H

#include <stdint.h>

#include "orrery/time.h"

struct orr_rng {
    uint64_t s[4];
};

void orr_rng_seed(struct orr_rng *r, uint64_t seed, const char *path);

static inline uint64_t orr__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** (Blackman & Vigna): 64 random bits. */
static inline uint64_t orr_rng_next(struct orr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = orr__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = orr__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n), unbiased (Lemire's multiply-and-reject); n > 0. */
static inline uint64_t orr_rng_below(struct orr_rng *r, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)orr_rng_next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t threshold = -n % n;
        while (lo < threshold) {
            m = (unsigned __int128)orr_rng_next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* Uniform in [lo, hi], inclusive; lo <= hi. */
uint64_t orr_rng_range(struct orr_rng *r, uint64_t lo, uint64_t hi);

/* Exponentially distributed with the given mean, rounded down, computed in
 * Q32 fixed point (no libm): -ln(U) = (53 - log2(x)) * ln 2 for a 53-bit
 * uniform x. Mean error below 1e-6 relative; the tail is cut at ~36.7 means;
 * saturates at UINT64_MAX for huge means. */
uint64_t orr_rng_exp(struct orr_rng *r, uint64_t mean);

#endif
