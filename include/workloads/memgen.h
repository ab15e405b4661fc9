/* Memory operation generators: a stream of loads, stores, atomics, fences and
 * compute bursts for one core, with the values the core loads fed back so
 * spin loops, locks and pointer chases follow real memory. Pure C, no
 * simulation components: a core model drives a generator. Patterns and their
 * keys: docs/workloads-mem.md.
 *
 * Contract between a core model and a generator:
 *
 *   1. memgen_create() validates the parameters (memgen_params[] schema,
 *      already parsed by orr_params_parse) for core `core` of the `ncores`
 *      cores that run the same generator; each core has its own generator.
 *   2. The core calls memgen_next() whenever it can issue another operation.
 *        MEMGEN_OP    *out holds the operation to issue.
 *        MEMGEN_WAIT  the generator needs the value of the last LOAD, CAS,
 *                     FAA or SWAP it emitted: the core delivers it with
 *                     memgen_result() once that operation completes, then
 *                     calls memgen_next() again. WAIT is only ever returned
 *                     right after such an operation, so "the last" is
 *                     unambiguous.
 *        MEMGEN_DONE  the stream is over (every pattern ends: `count`).
 *   3. Value-returning operations the generator does not wait for may be
 *      overlapped freely (at most memgen_mlp() in flight, as a hint); results
 *      delivered for them are ignored.
 *
 * Memory is assumed to start zeroed (the lock, flag, counter and ping-pong
 * words rely on it); the pointer chase writes its own pointers first. All
 * randomness comes from the rng passed to memgen_next(), so a generator is
 * deterministic given the rng stream and the fed-back values. */
#ifndef ORRERY_WORKLOADS_MEMGEN_H
#define ORRERY_WORKLOADS_MEMGEN_H

#include <stdint.h>

#include "orrery/diag.h"
#include "orrery/mem.h"
#include "orrery/params.h"
#include "orrery/rng.h"

/* One operation. addr is naturally aligned to size. */
struct memop {
    uint8_t op;      /* enum orr_cpu_op */
    uint8_t size;    /* 1, 2, 4 or 8 bytes (0 for FENCE and COMPUTE) */
    uint64_t addr;
    uint64_t val;    /* STORE/SWAP value, FAA addend, CAS desired value */
    uint64_t expect; /* CAS expected value */
    uint32_t cycles; /* COMPUTE: cycles of non-memory work */
    uint32_t site;   /* which access of the pattern's loop this is (1, 2, ...; 0 =
                      * none): the program counter a real core would have, for
                      * IP-indexed prefetchers */
};

enum memgen_status {
    MEMGEN_OP,   /* *out is the next operation */
    MEMGEN_WAIT, /* deliver the last LOAD/CAS/FAA/SWAP's value first */
    MEMGEN_DONE, /* nothing more to issue */
};

/* What a generator has done so far (all counts since creation). */
struct memgen_stats {
    uint64_t nOp;       /* memory operations emitted (COMPUTE excluded) */
    uint64_t nSetup;    /* of which setup: the pointer chase's initialising stores */
    uint64_t nIter;     /* completed units: chase loads, rounds (prodcons), increments
                         * (false_share), acquisitions (lock), CASes (pingpong: one per
                         * core per round trip), stream ops (seq/stride/random/bandwidth) */
    uint64_t nSpin;     /* polls that found the awaited condition unmet, failed CASes */
    uint64_t nBadValue; /* fed-back values the protocol rules out: a coherence or
                         * consistency bug in the model, or memory not zeroed */
};

struct memgen;

/* The schema, including `pattern`: pass it to orr_params_parse. */
extern const struct orr_param memgen_params[];

/* Create the generator for core `core` (0-based) of ncores. Keys that do not
 * apply to the pattern, values the pattern cannot use and core counts it
 * cannot run on are reported in d with the value's position and keypath.key;
 * returns 0, ORR_ESCHEMA (*g is NULL) or ORR_EINVAL (core >= ncores). */
int memgen_create(struct memgen **g, const struct orr_params *p, const char *keypath,
                  unsigned core, unsigned ncores, struct orr_diag *d);
enum memgen_status memgen_next(struct memgen *g, struct orr_rng *rng, struct memop *out);
/* The value the last LOAD/CAS/FAA/SWAP returned (old value for atomics),
 * zero-extended from its size. */
void memgen_result(struct memgen *g, uint64_t value);
/* Independent operations worth keeping in flight: 1 for patterns that wait
 * on every value, the `mlp` key for streams (0 = no hint, the core's limit). */
unsigned memgen_mlp(const struct memgen *g);
void memgen_stats(const struct memgen *g, struct memgen_stats *out);
void memgen_destroy(struct memgen *g);
/* Checkpoint/restore of a generator's progress (the pattern and its keys
 * come from the params). */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void memgen_save(const struct memgen *g, struct orr_ckpt_writer *w);
void memgen_restore(struct memgen *g, struct orr_ckpt_reader *r);
/* Whether the ops now coming are the pattern's timed phase (stream's
 * kernel passes, not its setup and check; a chase's dependent loads, not
 * its pointer-writing setup), and the bytes that phase has
 * moved so far by the pattern's own convention (stream: STREAM's bytes per
 * element); 0 and false for patterns without one. */
bool memgen_measuring(const struct memgen *g);
/* Whether the pattern has a timed phase at all (a core need not ask
 * memgen_measuring per operation otherwise). */
bool memgen_has_phase(const struct memgen *g);
uint64_t memgen_measured_bytes(const struct memgen *g);

#endif
