/* A set-associative array of line frames with a replacement policy: the
 * storage part of every cache level. It knows tags, validity and recency;
 * what a frame holds (coherence state, data) belongs to the caller, which
 * indexes its own per-frame arrays by the frame number this returns.
 *
 * Replacement: LRU (a per-frame timestamp from a per-array counter),
 * tree-PLRU (ways - 1 bits per set; ways must be a power of two) and random
 * (from the caller's rng stream, so it is seeded and reproducible). A
 * caller may veto victims (a line in a transient state cannot leave).
 *
 * A library inside the cache models, not a component type. */
#ifndef HW_CACHE_ARRAY_H
#define HW_CACHE_ARRAY_H

#include <stdbool.h>
#include <stdint.h>

#include "orrery/rng.h"

enum cache_repl { REPL_LRU, REPL_PLRU, REPL_RANDOM };
extern const char *const cache_repl_names[]; /* NULL-terminated, in enum order */

struct cache_array {
    uint32_t sets, ways;
    uint32_t set_mask;
    enum cache_repl repl;
    uint64_t *aTag;    /* line address per frame; valid frames only */
    uint8_t *aValid;
    uint64_t *aStamp;  /* LRU: last use */
    uint64_t clock;
    uint64_t *aPlru;   /* PLRU: one word of tree bits per set (ways <= 64) */
};

/* Checkpoint/restore of the frames and replacement state (same geometry). */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void cache_array_save(const struct cache_array *a, struct orr_ckpt_writer *w);
void cache_array_restore(struct cache_array *a, struct orr_ckpt_reader *r);

/* sets must be a power of two; ways <= 64 (and a power of two for PLRU). */
int cache_array_init(struct cache_array *a, uint32_t sets, uint32_t ways, enum cache_repl r);
void cache_array_free(struct cache_array *a);

static inline uint32_t cache_array_set(const struct cache_array *a, uint64_t line)
{
    return (uint32_t)(line >> 6) & a->set_mask;
}

/* The frame holding line, or -1. Does not touch recency. */
static inline int64_t cache_array_find(const struct cache_array *a, uint64_t line)
{
    uint32_t base = cache_array_set(a, line) * a->ways;
    for (uint32_t w = 0; w < a->ways; w++)
        if (a->aValid[base + w] && a->aTag[base + w] == line)
            return base + w;
    return -1;
}

/* Mark frame f as just used. */
void cache_array_touch(struct cache_array *a, uint32_t f);

/* A frame for line in its set: a free one if any, else the victim the
 * policy picks among frames for which may_evict(arg, frame) is true.
 * Returns -1 if every frame is vetoed. Does not change anything. */
int64_t cache_array_victim(struct cache_array *a, uint64_t line, struct orr_rng *rng,
                           bool (*may_evict)(void *arg, uint32_t frame), void *arg);

/* Put line in frame f (valid, most recently used) / drop frame f. */
void cache_array_fill(struct cache_array *a, uint32_t f, uint64_t line);
void cache_array_drop(struct cache_array *a, uint32_t f);

#endif
