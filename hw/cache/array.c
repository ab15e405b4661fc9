/* Set-associative frame arrays and their replacement policies (array.h). */
#include "hw/array.h"

#include <stdlib.h>

#include "orrery/checkpoint.h"
#include "orrery/error.h"

const char *const cache_repl_names[] = {"lru", "plru", "random", NULL};

int cache_array_init(struct cache_array *a, uint32_t sets, uint32_t ways, enum cache_repl r)
{
    *a = (struct cache_array){.sets = sets, .ways = ways, .set_mask = sets - 1, .repl = r};
    if (!sets || (sets & (sets - 1)) || !ways || ways > 64 ||
        (r == REPL_PLRU && (ways & (ways - 1))))
        return ORR_EINVAL;
    size_t n = (size_t)sets * ways;
    a->aTag = calloc(n, sizeof *a->aTag);
    a->aValid = calloc(n, 1);
    a->aStamp = calloc(n, sizeof *a->aStamp);
    a->aPlru = calloc(sets, sizeof *a->aPlru);
    if (!a->aTag || !a->aValid || !a->aStamp || !a->aPlru) {
        cache_array_free(a);
        return ORR_ENOMEM;
    }
    return 0;
}

void cache_array_free(struct cache_array *a)
{
    free(a->aTag);
    free(a->aValid);
    free(a->aStamp);
    free(a->aPlru);
    a->aTag = a->aStamp = a->aPlru = NULL;
    a->aValid = NULL;
}

/* Tree-PLRU over a power-of-two number of ways: node i has children 2i+1
 * and 2i+2; bit i says which half was used less recently (0 left, 1
 * right). Touching a way points every node on its path away from it. */
static void plru_touch(struct cache_array *a, uint32_t set, uint32_t way)
{
    uint64_t bits = a->aPlru[set];
    uint32_t node = 0;
    for (uint32_t span = a->ways; span > 1; span /= 2) {
        bool right = (way % span) >= span / 2;
        if (right)
            bits &= ~(UINT64_C(1) << node); /* left is now older */
        else
            bits |= UINT64_C(1) << node;
        node = 2 * node + 1 + right;
    }
    a->aPlru[set] = bits;
}

void cache_array_touch(struct cache_array *a, uint32_t f)
{
    a->aStamp[f] = ++a->clock;
    if (a->repl == REPL_PLRU)
        plru_touch(a, f / a->ways, f % a->ways);
}

/* The PLRU victim, walking toward older halves but skipping halves whose
 * frames are all vetoed; ok is a bitmask of evictable ways. */
static int64_t plru_victim(const struct cache_array *a, uint32_t set, uint64_t ok)
{
    uint64_t bits = a->aPlru[set];
    uint32_t node = 0, lo = 0;
    for (uint32_t span = a->ways; span > 1; span /= 2) {
        uint64_t half = span / 2 == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << (span / 2)) - 1);
        bool left_ok = (ok >> lo) & half, right_ok = (ok >> (lo + span / 2)) & half;
        bool right = (bits >> node) & 1;
        if (right && !right_ok)
            right = false;
        if (!right && !left_ok)
            right = true;
        if (right)
            lo += span / 2;
        node = 2 * node + 1 + right;
    }
    return (int64_t)set * a->ways + lo;
}

int64_t cache_array_victim(struct cache_array *a, uint64_t line, struct orr_rng *rng,
                           bool (*may_evict)(void *arg, uint32_t frame), void *arg)
{
    uint32_t set = cache_array_set(a, line), base = set * a->ways;
    uint64_t ok = 0;
    uint32_t nOk = 0;
    for (uint32_t w = 0; w < a->ways; w++) {
        if (!a->aValid[base + w])
            return base + w;
        if (!may_evict || may_evict(arg, base + w)) {
            ok |= UINT64_C(1) << w;
            nOk++;
        }
    }
    if (!nOk)
        return -1;
    switch (a->repl) {
    case REPL_PLRU:
        return plru_victim(a, set, ok);
    case REPL_RANDOM: {
        uint32_t k = (uint32_t)orr_rng_below(rng, nOk);
        for (uint32_t w = 0; w < a->ways; w++)
            if (((ok >> w) & 1) && k-- == 0)
                return base + w;
        return -1;
    }
    case REPL_LRU:
    default: {
        int64_t best = -1;
        for (uint32_t w = 0; w < a->ways; w++)
            if (((ok >> w) & 1) && (best < 0 || a->aStamp[base + w] < a->aStamp[best]))
                best = base + w;
        return best;
    }
    }
}

void cache_array_fill(struct cache_array *a, uint32_t f, uint64_t line)
{
    a->aTag[f] = line;
    a->aValid[f] = 1;
    cache_array_touch(a, f);
}

void cache_array_drop(struct cache_array *a, uint32_t f) { a->aValid[f] = 0; }

void cache_array_save(const struct cache_array *a, struct orr_ckpt_writer *w)
{
    size_t n = (size_t)a->sets * a->ways;
    orr_ckpt_put_bytes(w, a->aTag, n * sizeof *a->aTag);
    orr_ckpt_put_bytes(w, a->aValid, n);
    orr_ckpt_put_bytes(w, a->aStamp, n * sizeof *a->aStamp);
    orr_ckpt_put_bytes(w, a->aPlru, a->sets * sizeof *a->aPlru);
    orr_ckpt_put_u64(w, a->clock);
}

void cache_array_restore(struct cache_array *a, struct orr_ckpt_reader *r)
{
    size_t n = (size_t)a->sets * a->ways;
    orr_ckpt_get_into(r, a->aTag, n * sizeof *a->aTag);
    orr_ckpt_get_into(r, a->aValid, n);
    orr_ckpt_get_into(r, a->aStamp, n * sizeof *a->aStamp);
    orr_ckpt_get_into(r, a->aPlru, a->sets * sizeof *a->aPlru);
    a->clock = orr_ckpt_get_u64(r);
}
