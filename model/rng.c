/* Per-component random streams: seeding from (seed, path) and the samplers
 * that are not worth inlining. */
#include "orrery/rng.h"

#include <string.h>
#include <xxhash.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void orr_rng_seed(struct orr_rng *r, uint64_t seed, const char *path)
{
    /* Hash the path with the seed as XXH3's seed, so (seed, path) pairs map
     * to unrelated streams; splitmix64 then fills the 256-bit state, which
     * can never be all zero from a splitmix sequence. */
    uint64_t x = XXH3_64bits_withSeed(path, strlen(path), seed);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t orr_rng_range(struct orr_rng *r, uint64_t lo, uint64_t hi)
{
    if (lo == 0 && hi == UINT64_MAX)
        return orr_rng_next(r);
    return lo + orr_rng_below(r, hi - lo + 1);
}

/* log2(x) in Q32 for x >= 1: integer part from the bit length, fraction
 * bit by bit by repeated squaring of the normalised mantissa (exact integer
 * arithmetic, so identical everywhere). */
static uint64_t log2_q32(uint64_t x)
{
    int ip = 63 - __builtin_clzll(x);
    /* mantissa m in [1, 2) as Q62 */
    uint64_t m = ip >= 62 ? x >> (ip - 62) : x << (62 - ip);
    uint64_t frac = 0;
    for (int bit = 31; bit >= 0; bit--) {
        unsigned __int128 sq = (unsigned __int128)m * m; /* Q124, in [1, 4) */
        m = (uint64_t)(sq >> 62);
        if (m >= (1ull << 63)) { /* m >= 2 */
            m >>= 1;
            frac |= 1ull << bit;
        }
    }
    return ((uint64_t)ip << 32) | frac;
}

uint64_t orr_rng_exp(struct orr_rng *r, uint64_t mean)
{
    /* U = x / 2^53 with x uniform in [1, 2^53]; -ln U = (53 - log2 x) ln 2 */
    uint64_t x = (orr_rng_next(r) >> 11) + 1;
    uint64_t nlog2 = (53ull << 32) - log2_q32(x);        /* Q32 */
    const uint64_t ln2_q32 = 2977044472ull;              /* round(ln 2 * 2^32) */
    unsigned __int128 nln = ((unsigned __int128)nlog2 * ln2_q32) >> 32; /* Q32 */
    unsigned __int128 v = ((unsigned __int128)nln * mean) >> 32;
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}
