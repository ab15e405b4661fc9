/* Memory operation generators (see memgen.h): the parameter schema, the
 * per-pattern table of keys and checks, and one small state machine per
 * pattern. The shared layer in memgen_next() handles waiting for fed-back
 * values, compute bursts and the end of the stream, so a pattern only says
 * which operation comes next.
 *
 * Invariants:
 *   1. bWaiting is set exactly when the last emitted operation was a
 *      value-returning one the pattern asked to wait for; while it is set
 *      memgen_next() returns MEMGEN_WAIT and the pattern is not called.
 *   2. A pattern state that reads g->value is only entered right after an
 *      operation emitted with wait = true, so g->value is that op's result.
 *   3. Every pattern reaches MEMGEN_DONE after `count` units, provided the
 *      other cores of the pattern (and the memory) behave; a model that
 *      violates coherence can make a spin loop spin, which nSpin shows.
 *
 * Memory layout (region = base, or base + core * footprint for the
 * per-core patterns seq, stride, random, chase and bandwidth):
 *
 *   prodcons  base+0: round flag   base+64: ack counter   base+128: buffer
 *   lock      base+0: lock word    base+64: shared data
 *   pingpong  base+0: the word     false_share  base + core*size: own word */
#include "workloads/memgen.h"

#include "orrery/units.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/checkpoint.h"
#include "orrery/config.h"
#include "orrery/error.h"

enum pattern_id {
    PAT_SEQ, PAT_STRIDE, PAT_RANDOM, PAT_CHASE, PAT_PRODCONS, PAT_FALSE_SHARE,
    PAT_LOCK, PAT_PINGPONG, PAT_LATENCY_PROBE, PAT_BANDWIDTH, PAT_IDLE, PAT_RTEST,
    PAT_LATENCY_MATRIX, PAT_STREAM,
};

static const char *const pattern_names[] = {
    "seq", "stride", "random", "chase", "prodcons", "false_share",
    "lock", "pingpong", "latency_probe", "bandwidth", "idle", "rtest", "latency_matrix", "stream", NULL,
};

enum stream_kernel { SK_COPY, SK_SCALE, SK_ADD, SK_TRIAD };
static const char *const stream_kernels[] = {"copy", "scale", "add", "triad", NULL};
/* STREAM's convention: bytes a kernel moves per element (8-byte words
 * read and written, not counting write-allocate reads) */
static const unsigned stream_bytes[] = {16, 16, 24, 24};

/* Index of each key in memgen_params[]; K(x) is its bit in a key mask. */
enum key_id {
    KEY_PATTERN, KEY_BASE, KEY_FOOTPRINT, KEY_COUNT, KEY_STRIDE, KEY_READ, KEY_WRITE,
    KEY_COMPUTE, KEY_SIZE, KEY_CRITICAL, KEY_MLP, KEY_STREAMS, KEY_TARGETS, KEY_KERNEL, KEY_N,
};
#define K(x) (1u << KEY_##x)

const struct orr_param memgen_params[] = {
    [KEY_PATTERN] = {"pattern", ORR_P_ENUM, NULL, 0, "access pattern (docs/workloads-mem.md)",
                     pattern_names},
    [KEY_BASE] = {"base", ORR_P_SIZE, "0B", 0,
                  "base address, a multiple of 64B (per-core regions follow each other)"},
    [KEY_FOOTPRINT] = {"footprint", ORR_P_SIZE, "64KiB", ORR_PF_POSITIVE,
                       "bytes of the region (per core for streams and chases; the shared "
                       "buffer or data for prodcons and lock)"},
    [KEY_COUNT] = {"count", ORR_P_UINT, "1000", ORR_PF_POSITIVE,
                   "accesses, or iterations (rounds, acquisitions, increments, round trips)"},
    [KEY_STRIDE] = {"stride", ORR_P_SIZE, "64B", ORR_PF_POSITIVE,
                    "stride: bytes between consecutive accesses"},
    [KEY_READ] = {"read_ratio", ORR_P_UINT, "100", 0, "percent of accesses that are loads",
                  NULL, 0, 100},
    [KEY_WRITE] = {"write_ratio", ORR_P_UINT, "0", 0,
                   "percent of accesses that are stores (100 - read_ratio)", NULL, 0, 100},
    [KEY_COMPUTE] = {"compute", ORR_P_CYCLES, "0cy", 0,
                     "compute cycles after each access (or each iteration)", NULL, 0,
                     UINT32_MAX},
    [KEY_SIZE] = {"size", ORR_P_SIZE, "8B", 0, "element size: 1B, 2B, 4B or 8B"},
    [KEY_CRITICAL] = {"critical", ORR_P_UINT, "4", ORR_PF_POSITIVE,
                      "lock: shared words incremented inside each critical section", NULL, 1,
                      1000000},
    [KEY_MLP] = {"mlp", ORR_P_UINT, "0", 0,
                 "independent accesses worth keeping in flight (0: the core's own limit)", NULL,
                 0, 4096},
    [KEY_STREAMS] = {"streams", ORR_P_UINT, "1", ORR_PF_POSITIVE,
                     "bandwidth: interleaved sequential streams", NULL, 1, 64},
    [KEY_TARGETS] = {"targets", ORR_P_LIST, "[]", 0,
                     "latency_matrix: base address of each memory node to probe (sizes: 0B, 16GiB)"},
    [KEY_KERNEL] = {"kernel", ORR_P_ENUM, "triad", 0,
                    "stream: copy (a = b), scale (a = 3b), add (a = b + c) or triad (a = b + 3c)",
                    stream_kernels},
    [KEY_N] = {NULL},
};

struct memgen;
typedef enum memgen_status (*pattern_next_fn)(struct memgen *g, struct orr_rng *rng,
                                              struct memop *out);

struct pattern {
    uint32_t keys;       /* K() mask of the keys it reads besides pattern */
    unsigned minCores;   /* fewest cores it runs on */
    unsigned maxCores;   /* most cores, 0 = any */
    bool bPerCore;       /* each core gets its own region of `footprint` bytes */
    pattern_next_fn next;
    /* stream patterns: offset of access i within the region */
    uint64_t (*offset)(struct memgen *g, struct orr_rng *rng);
};

struct memgen {
    const struct pattern *pat;
    enum pattern_id ePat;
    unsigned core, ncores;
    uint64_t region;     /* this core's base address */
    uint64_t footprint, count, stride, compute;
    unsigned size, readPct, critical, mlp, streams;
    uint64_t nElem;      /* footprint / size (data patterns) */
    /* progress */
    uint64_t i;          /* units done (accesses or iterations) */
    uint64_t j;          /* position inside the current unit */
    unsigned eStep;      /* protocol state */
    bool bWaiting, bComputeDue, bDone;
    uint64_t value;      /* the last fed-back value */
    /* stream */
    enum stream_kernel eKernel;
    bool bMeasuring;     /* in the timed kernel passes */
    /* latency_matrix */
    uint64_t aTarget[16];
    unsigned nTarget;
    /* chase */
    uint32_t *aNext;     /* cyclic permutation of lines, built on first use */
    uint64_t nLine, cur;
    struct memgen_stats st;
};

/* ---- emitting ---------------------------------------------------------- */

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

static enum memgen_status emit(struct memgen *g, struct memop *out, enum orr_cpu_op op,
                               uint64_t addr, unsigned size, uint64_t val, uint64_t expect,
                               bool wait)
{
    memset(out, 0, sizeof *out);
    out->op = (uint8_t)op;
    out->size = (uint8_t)size;
    out->addr = addr;
    out->val = val & size_mask(size);
    out->expect = expect & size_mask(size);
    g->bWaiting = wait;
    g->st.nOp++;
    return MEMGEN_OP;
}

/* ---- seq, stride, random, bandwidth: independent accesses --------------- */

static uint64_t offset_stride(struct memgen *g, struct orr_rng *rng)
{
    (void)rng;
    return g->i * g->stride % g->footprint;
}

static uint64_t offset_random(struct memgen *g, struct orr_rng *rng)
{
    return orr_rng_below(rng, g->nElem) * g->size;
}

/* Stream s of `streams` walks its own slice line by line; accesses take
 * the streams in turn. */
static uint64_t offset_bandwidth(struct memgen *g, struct orr_rng *rng)
{
    (void)rng;
    uint64_t slice = g->footprint / ORR_LINE_BYTES / g->streams * ORR_LINE_BYTES;
    uint64_t s = g->i % g->streams, k = g->i / g->streams;
    return s * slice + k * ORR_LINE_BYTES % slice;
}

static enum memgen_status next_stream(struct memgen *g, struct orr_rng *rng, struct memop *out)
{
    if (g->i == g->count)
        return MEMGEN_DONE;
    uint64_t addr = g->region + g->pat->offset(g, rng);
    bool load = g->readPct == 100 || (g->readPct > 0 && orr_rng_below(rng, 100) < g->readPct);
    uint64_t val = (uint64_t)g->core << 32 | (g->i & 0xFFFFFFFFu);
    unsigned site = 1 + (unsigned)(g->ePat == PAT_BANDWIDTH ? g->i % g->streams : 0);
    g->i++;
    g->st.nIter++;
    g->bComputeDue = true;
    emit(g, out, load ? ORR_OP_LOAD : ORR_OP_STORE, addr, g->size, load ? 0 : val, 0, false);
    out->site = site;
    return MEMGEN_OP;
}

/* ---- stream: STREAM's kernels over three arrays, then a check ---------- *
 *
 * region = a[n] b[n] c[n], n = footprint / 3 in whole lines. SETUP stores
 * b[i] = 2i + 1 and c[i] = i + 7; KERNEL makes `count` passes of the kernel
 * (loads of b and c issued without waiting, the store of a with the value
 * the kernel computes from the values SETUP stored); CHECK drains the store
 * buffer (a FENCE) and loads one word of a in every line, rotating through
 * the line's words, waiting for each and comparing it with what the kernel
 * stored (a mismatch is a nBadValue). Only KERNEL is measured
 * (memgen_measuring): a unit (nIter) is one element of one pass. */

enum { ST_SETUP_B, ST_SETUP_C, ST_LOAD_B, ST_LOAD_C, ST_STORE_A, ST_FENCE, ST_CHECK, ST_VERIFY };

static uint64_t stream_b(uint64_t i) { return 2 * i + 1; }
static uint64_t stream_c(uint64_t i) { return i + 7; }

static uint64_t stream_a(const struct memgen *g, uint64_t i)
{
    switch (g->eKernel) {
    case SK_COPY: return stream_b(i);
    case SK_SCALE: return 3 * stream_b(i);
    case SK_ADD: return stream_b(i) + stream_c(i);
    default: return stream_b(i) + 3 * stream_c(i);
    }
}

static enum memgen_status next_stream_kernel(struct memgen *g, struct orr_rng *rng,
                                             struct memop *out)
{
    (void)rng;
    uint64_t n = g->nElem, i = g->j % n;
    uint64_t a = g->region, b = a + n * 8, c = b + n * 8;
    bool reads_c = g->eKernel == SK_ADD || g->eKernel == SK_TRIAD;
    switch (g->eStep) {
    case ST_SETUP_B:
    case ST_SETUP_C: {
        bool isB = g->eStep == ST_SETUP_B;
        emit(g, out, ORR_OP_STORE, (isB ? b : c) + i * 8, 8, isB ? stream_b(i) : stream_c(i), 0,
             false);
        g->st.nSetup++;
        out->site = isB ? 2 : 3;
        if (++g->j == n) {
            g->j = 0;
            g->eStep = isB ? ST_SETUP_C : ST_LOAD_B;
        }
        return MEMGEN_OP;
    }
    case ST_LOAD_B:
        g->bMeasuring = true;
        g->eStep = reads_c ? ST_LOAD_C : ST_STORE_A;
        emit(g, out, ORR_OP_LOAD, b + i * 8, 8, 0, 0, false);
        out->site = 2;
        return MEMGEN_OP;
    case ST_LOAD_C:
        g->eStep = ST_STORE_A;
        emit(g, out, ORR_OP_LOAD, c + i * 8, 8, 0, 0, false);
        out->site = 3;
        return MEMGEN_OP;
    case ST_STORE_A:
        emit(g, out, ORR_OP_STORE, a + i * 8, 8, stream_a(g, i), 0, false);
        out->site = 1;
        g->st.nIter++;
        g->bComputeDue = true;
        g->eStep = ST_LOAD_B;
        if (++g->j == n) {
            g->j = 0;
            if (++g->i == g->count)
                g->eStep = ST_FENCE;
        }
        return MEMGEN_OP;
    case ST_FENCE:
        emit(g, out, ORR_OP_FENCE, 0, 0, 0, 0, false);
        g->st.nOp--; /* a fence is not a memory operation */
        g->eStep = ST_CHECK;
        return MEMGEN_OP;
    case ST_CHECK:
        if (g->j == n / 8) {
            g->bDone = true;
            return MEMGEN_DONE;
        }
        g->bMeasuring = false;
        g->eStep = ST_VERIFY;
        emit(g, out, ORR_OP_LOAD, a + (g->j * 8 + g->j % 8) * 8, 8, 0, 0, true);
        out->site = 4;
        return MEMGEN_OP;
    default: /* ST_VERIFY: the value of the check load */
        if (g->value != stream_a(g, g->j * 8 + g->j % 8))
            g->st.nBadValue++;
        g->j++;
        g->eStep = ST_CHECK;
        return next_stream_kernel(g, rng, out);
    }
}

/* ---- chase, latency_probe: dependent loads through a random cycle -------- */

enum { CHASE_SETUP, CHASE_LOAD, CHASE_FOLLOW };

/* Sattolo's algorithm: a uniformly random permutation with a single cycle,
 * so following aNext from any line visits every line once per lap. */
static void chase_build(struct memgen *g, struct orr_rng *rng)
{
    g->aNext = malloc(g->nLine * sizeof *g->aNext);
    if (!g->aNext)
        orr_oom();
    for (uint64_t k = 0; k < g->nLine; k++)
        g->aNext[k] = (uint32_t)k;
    for (uint64_t k = g->nLine - 1; k > 0; k--) {
        uint64_t r = orr_rng_below(rng, k);
        uint32_t t = g->aNext[k];
        g->aNext[k] = g->aNext[r];
        g->aNext[r] = t;
    }
}

static uint64_t line_addr(const struct memgen *g, uint64_t line)
{
    return g->region + line * ORR_LINE_BYTES;
}

/* Follow the loaded pointer when it names a line of the region; otherwise
 * (or when it is not the line we stored) count it and stay on the cycle. */
static void chase_follow(struct memgen *g)
{
    uint64_t want = g->aNext[g->cur], v = g->value;
    bool inside = v >= g->region && v - g->region < g->footprint &&
                  (v - g->region) % ORR_LINE_BYTES == 0;
    uint64_t line = inside ? (v - g->region) / ORR_LINE_BYTES : want;
    if (line != want || !inside)
        g->st.nBadValue++;
    g->cur = line;
}

static enum memgen_status next_chase(struct memgen *g, struct orr_rng *rng, struct memop *out)
{
    for (;;)
        switch (g->eStep) {
        case CHASE_SETUP:
            if (!g->aNext)
                chase_build(g, rng);
            if (g->j == g->nLine) {
                g->eStep = CHASE_LOAD;
                g->bMeasuring = true; /* the chase itself, not its setup */
                continue;
            }
            g->st.nSetup++;
            g->j++;
            return emit(g, out, ORR_OP_STORE, line_addr(g, g->j - 1), 8,
                        line_addr(g, g->aNext[g->j - 1]), 0, false);
        case CHASE_LOAD:
            if (g->i == g->count)
                return MEMGEN_DONE;
            g->i++;
            g->st.nIter++;
            g->bComputeDue = true;
            g->eStep = CHASE_FOLLOW;
            return emit(g, out, ORR_OP_LOAD, line_addr(g, g->cur), 8, 0, 0, true);
        default: /* CHASE_FOLLOW */
            chase_follow(g);
            g->eStep = CHASE_LOAD;
            continue;
        }
}

/* ---- prodcons ----------------------------------------------------------
 * producer: FILL -> PUBLISH -> POLL <-> TEST -> FILL ... -> done
 * consumer: POLL <-> TEST -> READ <-> CHECK -> ACK -> POLL ... -> END */

enum { PROD_FILL, PROD_PUBLISH, PROD_POLL, PROD_TEST };
enum { CONS_POLL, CONS_TEST, CONS_READ, CONS_CHECK, CONS_ACK, CONS_END };

#define PC_FLAG(g) ((g)->region)
#define PC_ACK(g) ((g)->region + ORR_LINE_BYTES)
#define PC_BUF(g, k) ((g)->region + 2 * ORR_LINE_BYTES + (k) * (g)->size)

static enum memgen_status next_producer(struct memgen *g, struct memop *out)
{
    for (;;)
        switch (g->eStep) {
        case PROD_FILL:
            if (g->j == g->nElem) {
                g->eStep = PROD_PUBLISH;
                continue;
            }
            g->j++;
            return emit(g, out, ORR_OP_STORE, PC_BUF(g, g->j - 1), g->size, g->i + 1, 0, false);
        case PROD_PUBLISH:
            g->i++;
            g->st.nIter++;
            g->bComputeDue = true;
            g->eStep = PROD_POLL;
            return emit(g, out, ORR_OP_STORE, PC_FLAG(g), 8, g->i, 0, false);
        case PROD_POLL: /* every consumer has read round i */
            g->eStep = PROD_TEST;
            return emit(g, out, ORR_OP_LOAD, PC_ACK(g), 8, 0, 0, true);
        default: { /* PROD_TEST */
            uint64_t need = g->i * (g->ncores - 1);
            if (g->value > need)
                g->st.nBadValue++;
            if (g->value < need) {
                g->st.nSpin++;
                g->eStep = PROD_POLL;
                continue;
            }
            if (g->i == g->count)
                return MEMGEN_DONE;
            g->j = 0;
            g->eStep = PROD_FILL;
            continue;
        }
        }
}

static enum memgen_status next_consumer(struct memgen *g, struct memop *out)
{
    for (;;)
        switch (g->eStep) {
        case CONS_POLL:
            g->eStep = CONS_TEST;
            return emit(g, out, ORR_OP_LOAD, PC_FLAG(g), 8, 0, 0, true);
        case CONS_TEST:
            if (g->value < g->i + 1) {
                g->st.nSpin++;
                g->eStep = CONS_POLL;
                continue;
            }
            if (g->value > g->i + 1)
                g->st.nBadValue++;
            g->j = 0;
            g->eStep = CONS_READ;
            continue;
        case CONS_READ:
            if (g->j == g->nElem) {
                g->eStep = CONS_ACK;
                continue;
            }
            g->eStep = CONS_CHECK;
            return emit(g, out, ORR_OP_LOAD, PC_BUF(g, g->j), g->size, 0, 0, true);
        case CONS_CHECK: /* the flag said round i+1 is written: so must the buffer be */
            if (g->value != ((g->i + 1) & size_mask(g->size)))
                g->st.nBadValue++;
            g->j++;
            g->eStep = CONS_READ;
            continue;
        case CONS_ACK:
            g->i++;
            g->st.nIter++;
            g->bComputeDue = true;
            g->eStep = g->i == g->count ? CONS_END : CONS_POLL;
            return emit(g, out, ORR_OP_FAA, PC_ACK(g), 8, 1, 0, false);
        default: /* CONS_END */
            return MEMGEN_DONE;
        }
}

static enum memgen_status next_prodcons(struct memgen *g, struct orr_rng *rng, struct memop *out)
{
    (void)rng;
    return g->core == 0 ? next_producer(g, out) : next_consumer(g, out);
}

/* ---- false_share: LOAD own word -> STORE it + 1 ------------------------- */

enum { FS_LOAD, FS_STORE };

static enum memgen_status next_false_share(struct memgen *g, struct orr_rng *rng,
                                           struct memop *out)
{
    (void)rng;
    uint64_t addr = g->region + (uint64_t)g->core * g->size;
    if (g->eStep == FS_LOAD) {
        if (g->i == g->count)
            return MEMGEN_DONE;
        g->eStep = FS_STORE;
        return emit(g, out, ORR_OP_LOAD, addr, g->size, 0, 0, true);
    }
    if (g->value != (g->i & size_mask(g->size))) /* nobody else writes this word */
        g->st.nBadValue++;
    g->i++;
    g->st.nIter++;
    g->bComputeDue = true;
    g->eStep = FS_LOAD;
    return emit(g, out, ORR_OP_STORE, addr, g->size, g->value + 1, 0, false);
}

/* ---- lock: test-and-test-and-set ---------------------------------------
 * POLL <-> TEST -> CAS -> (fail: POLL) -> CS_LOAD <-> CS_STORE -> RELEASE
 * -> POLL ... -> END. The lock word holds 0 (free) or owner core + 1. */

enum { LOCK_POLL, LOCK_TEST, LOCK_CAS, LOCK_CS_LOAD, LOCK_CS_STORE, LOCK_RELEASE, LOCK_END };

#define LOCK_WORD(g) ((g)->region)
#define LOCK_DATA(g, k) ((g)->region + ORR_LINE_BYTES + (k) % (g)->nElem * (g)->size)

static enum memgen_status next_lock(struct memgen *g, struct orr_rng *rng, struct memop *out)
{
    (void)rng;
    for (;;)
        switch (g->eStep) {
        case LOCK_POLL:
            g->eStep = LOCK_TEST;
            return emit(g, out, ORR_OP_LOAD, LOCK_WORD(g), 8, 0, 0, true);
        case LOCK_TEST:
            if (g->value != 0) {
                g->st.nSpin++;
                g->eStep = LOCK_POLL;
                continue;
            }
            g->eStep = LOCK_CAS;
            return emit(g, out, ORR_OP_CAS, LOCK_WORD(g), 8, g->core + 1, 0, true);
        case LOCK_CAS:
            if (g->value != 0) { /* another core won the race */
                g->st.nSpin++;
                g->eStep = LOCK_POLL;
                continue;
            }
            g->j = 0;
            g->eStep = LOCK_CS_LOAD;
            continue;
        case LOCK_CS_LOAD:
            if (g->j == g->critical) {
                g->eStep = LOCK_RELEASE;
                continue;
            }
            g->eStep = LOCK_CS_STORE;
            return emit(g, out, ORR_OP_LOAD, LOCK_DATA(g, g->j), g->size, 0, 0, true);
        case LOCK_CS_STORE:
            g->j++;
            g->eStep = LOCK_CS_LOAD;
            return emit(g, out, ORR_OP_STORE, LOCK_DATA(g, g->j - 1), g->size, g->value + 1, 0,
                        false);
        case LOCK_RELEASE:
            g->i++;
            g->st.nIter++;
            g->bComputeDue = true;
            g->eStep = g->i == g->count ? LOCK_END : LOCK_POLL;
            return emit(g, out, ORR_OP_STORE, LOCK_WORD(g), 8, 0, 0, false);
        default: /* LOCK_END */
            return MEMGEN_DONE;
        }
}

/* ---- pingpong: core c waits for 2i + c, then CASes it to 2i + c + 1 ------ */

enum { PP_POLL, PP_TEST, PP_CAS };

static enum memgen_status next_pingpong(struct memgen *g, struct orr_rng *rng, struct memop *out)
{
    (void)rng;
    uint64_t want = 2 * g->i + g->core;
    for (;;)
        switch (g->eStep) {
        case PP_POLL:
            if (g->i == g->count)
                return MEMGEN_DONE;
            g->eStep = PP_TEST;
            return emit(g, out, ORR_OP_LOAD, g->region, 8, 0, 0, true);
        case PP_TEST:
            if (g->value < want) {
                g->st.nSpin++;
                g->eStep = PP_POLL;
                continue;
            }
            g->eStep = PP_CAS; /* a value beyond ours is a bug; the CAS shows it */
            return emit(g, out, ORR_OP_CAS, g->region, 8, want + 1, want, true);
        default: /* PP_CAS: only we may move the word from want */
            if (g->value != want)
                g->st.nBadValue++;
            g->i++;
            g->st.nIter++;
            g->bComputeDue = true;
            g->eStep = PP_POLL;
            want += 2;
            continue;
        }
}

/* ---- rtest: the coherence random tester ----------------------------------
 * Random loads, stores, CAS, FAA, SWAP and fences of random sizes on a few
 * shared lines, with values unique per core and access, so a stale or
 * torn value cannot pass the simulator's data-value check by accident.
 * Nothing is waited for: the core overlaps what its memory model allows. */
static enum memgen_status next_rtest(struct memgen *g, struct orr_rng *rng, struct memop *out)
{
    if (g->i == g->count)
        return MEMGEN_DONE;
    g->i++;
    g->st.nIter++;
    g->bComputeDue = true;
    unsigned size = 1u << orr_rng_below(rng, 4);
    uint64_t addr = g->region + orr_rng_below(rng, g->footprint / size) * size;
    uint64_t val = ((uint64_t)(g->core + 1) << 32 | g->i) * UINT64_C(0x9E3779B97F4A7C15);
    unsigned r = (unsigned)orr_rng_below(rng, 100);
    if (r < 40)
        return emit(g, out, ORR_OP_LOAD, addr, size, 0, 0, false);
    if (r < 70)
        return emit(g, out, ORR_OP_STORE, addr, size, val, 0, false);
    if (r < 80)
        return emit(g, out, ORR_OP_CAS, addr, size, val, orr_rng_below(rng, 2) ? g->value : 0, false);
    if (r < 90)
        return emit(g, out, ORR_OP_FAA, addr, size, 1 + orr_rng_below(rng, 7), 0, false);
    if (r < 96)
        return emit(g, out, ORR_OP_SWAP, addr, size, val, 0, false);
    memset(out, 0, sizeof *out);
    out->op = ORR_OP_FENCE;
    g->st.nOp++;
    return MEMGEN_OP;
}

/* ---- latency_matrix: MLC-style idle latency, one core at a time ---------
 * Core k waits until the turn word at `base` holds k (spinning in its own
 * cache, so it sends nothing while another core measures), then makes
 * `count` dependent random loads in `footprint` bytes at each target in
 * turn, then passes the turn on. The core model's per-node miss latency
 * histograms hold the matrix: one row per core, one column per node. */
enum { LM_POLL, LM_TEST, LM_PROBE, LM_RELEASE, LM_END };

static enum memgen_status next_latency_matrix(struct memgen *g, struct orr_rng *rng,
                                              struct memop *out)
{
    for (;;)
        switch (g->eStep) {
        case LM_POLL:
            g->eStep = LM_TEST;
            return emit(g, out, ORR_OP_LOAD, g->region, 8, 0, 0, true);
        case LM_TEST:
            if (g->value != g->core) {
                g->st.nSpin++;
                g->eStep = LM_POLL;
                continue;
            }
            g->eStep = LM_PROBE;
            g->j = 0;
            continue;
        case LM_PROBE:
            if (g->j == g->count * g->nTarget) {
                g->eStep = LM_RELEASE;
                continue;
            }
            {
                uint64_t t = g->aTarget[g->j / g->count];
                uint64_t line = orr_rng_below(rng, g->footprint / ORR_LINE_BYTES);
                g->j++;
                g->i++;
                g->st.nIter++;
                return emit(g, out, ORR_OP_LOAD, t + line * ORR_LINE_BYTES, 8, 0, 0, true);
            }
        case LM_RELEASE:
            g->eStep = LM_END;
            return emit(g, out, ORR_OP_STORE, g->region, 8, g->core + 1, 0, false);
        default:
            return MEMGEN_DONE;
        }
}

static enum memgen_status next_idle(struct memgen *g, struct orr_rng *rng, struct memop *out)
{
    (void)g, (void)rng, (void)out;
    return MEMGEN_DONE;
}

/* ---- the pattern table -------------------------------------------------- */

#define STREAM_KEYS (K(BASE) | K(FOOTPRINT) | K(COUNT) | K(READ) | K(WRITE) | K(COMPUTE) | K(MLP))

static const struct pattern patterns[] = {
    [PAT_SEQ] = {STREAM_KEYS | K(SIZE), 1, 0, true, next_stream, offset_stride},
    [PAT_STRIDE] = {STREAM_KEYS | K(SIZE) | K(STRIDE), 1, 0, true, next_stream, offset_stride},
    [PAT_RANDOM] = {STREAM_KEYS | K(SIZE), 1, 0, true, next_stream, offset_random},
    [PAT_CHASE] = {K(BASE) | K(FOOTPRINT) | K(COUNT) | K(COMPUTE), 1, 0, true, next_chase},
    [PAT_PRODCONS] = {K(BASE) | K(FOOTPRINT) | K(COUNT) | K(COMPUTE) | K(SIZE), 2, 0, false,
                      next_prodcons},
    [PAT_FALSE_SHARE] = {K(BASE) | K(COUNT) | K(COMPUTE) | K(SIZE), 1, 0, false,
                         next_false_share},
    [PAT_LOCK] = {K(BASE) | K(FOOTPRINT) | K(COUNT) | K(COMPUTE) | K(SIZE) | K(CRITICAL), 1, 0,
                  false, next_lock},
    [PAT_PINGPONG] = {K(BASE) | K(COUNT) | K(COMPUTE), 2, 2, false, next_pingpong},
    [PAT_LATENCY_PROBE] = {K(BASE) | K(FOOTPRINT) | K(COUNT), 1, 0, false, next_chase},
    [PAT_BANDWIDTH] = {STREAM_KEYS | K(STREAMS), 1, 0, true, next_stream, offset_bandwidth},
    [PAT_IDLE] = {0, 1, 0, false, next_idle},
    [PAT_RTEST] = {K(BASE) | K(FOOTPRINT) | K(COUNT) | K(COMPUTE) | K(MLP), 1, 0, false, next_rtest},
    [PAT_LATENCY_MATRIX] = {K(BASE) | K(FOOTPRINT) | K(COUNT) | K(TARGETS), 1, 0, false,
                            next_latency_matrix},
    [PAT_STREAM] = {K(BASE) | K(FOOTPRINT) | K(COUNT) | K(COMPUTE) | K(MLP) | K(KERNEL), 1, 0, true,
                    next_stream_kernel},
};

/* ---- validation --------------------------------------------------------- */

static int key_error(struct orr_diag *d, const struct orr_params *p, const char *keypath,
                     enum key_id key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int key_error(struct orr_diag *d, const struct orr_params *p, const char *keypath,
                     enum key_id key, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char *kp = orr_keypath_join(keypath, memgen_params[key].name);
    orr_diag_error(d, orr_param_mark(p, memgen_params[key].name), kp, "%s", text);
    free(kp);
    return ORR_ESCHEMA;
}

/* Keys given in the source that the pattern does not read are mistakes. */
static int check_keys(const struct pattern *pat, const struct orr_params *p, const char *keypath,
                      unsigned ePat, struct orr_diag *d)
{
    int rc = 0;
    for (unsigned k = KEY_PATTERN + 1; k < KEY_N; k++) {
        if (!orr_param_given(p, memgen_params[k].name) || (pat->keys & (1u << k)))
            continue;
        char list[256] = "";
        for (unsigned u = KEY_PATTERN + 1; u < KEY_N; u++)
            if (pat->keys & (1u << u))
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         *list ? ", " : "", memgen_params[u].name);
        rc = key_error(d, p, keypath, (enum key_id)k, "does not apply to pattern %s (its keys: %s)",
                       pattern_names[ePat], *list ? list : "none");
    }
    return rc;
}

static int check_ratio(struct memgen *g, const struct orr_params *p, const char *keypath,
                       struct orr_diag *d)
{
    bool r = orr_param_given(p, "read_ratio"), w = orr_param_given(p, "write_ratio");
    uint64_t rp = orr_param_u64(p, "read_ratio"), wp = orr_param_u64(p, "write_ratio");
    if (r && w && rp + wp != 100)
        return key_error(d, p, keypath, KEY_WRITE,
                         "read_ratio and write_ratio must add up to 100 (got %llu + %llu)",
                         (unsigned long long)rp, (unsigned long long)wp);
    g->readPct = (unsigned)(w && !r ? 100 - wp : rp);
    return 0;
}

/* Sizes, alignment and extents the pattern's layout needs. */
static int check_layout(struct memgen *g, const struct orr_params *p, const char *keypath,
                        struct orr_diag *d)
{
    const struct pattern *pat = g->pat;
    if (g->region % ORR_LINE_BYTES)
        return key_error(d, p, keypath, KEY_BASE, "must be a multiple of 64B (a line)");
    if ((pat->keys & K(SIZE)) && g->size != 1 && g->size != 2 && g->size != 4 && g->size != 8)
        return key_error(d, p, keypath, KEY_SIZE, "must be 1B, 2B, 4B or 8B, got %uB", g->size);
    bool lines = g->ePat == PAT_CHASE || g->ePat == PAT_LATENCY_PROBE || g->ePat == PAT_BANDWIDTH;
    if ((pat->keys & K(FOOTPRINT)) && g->footprint % (lines ? ORR_LINE_BYTES : g->size))
        return key_error(d, p, keypath, KEY_FOOTPRINT, "must be a multiple of %uB",
                         lines ? ORR_LINE_BYTES : g->size);
    if ((pat->keys & K(STRIDE)) && g->stride % g->size)
        return key_error(d, p, keypath, KEY_STRIDE, "must be a multiple of size (%uB)", g->size);
    if (lines && g->ePat != PAT_BANDWIDTH && g->footprint / ORR_LINE_BYTES > (UINT64_C(1) << 24))
        return key_error(d, p, keypath, KEY_FOOTPRINT,
                         "at most 1GiB for a pointer chase (2^24 lines)");
    if (g->ePat == PAT_STREAM && g->footprint < 3 * ORR_LINE_BYTES)
        return key_error(d, p, keypath, KEY_FOOTPRINT,
                         "stream needs at least three lines (arrays a, b and c)");
    if (g->ePat == PAT_BANDWIDTH && g->footprint / ORR_LINE_BYTES < g->streams)
        return key_error(d, p, keypath, KEY_FOOTPRINT, "needs a line per stream (%u streams)",
                         g->streams);
    if (g->ePat == PAT_FALSE_SHARE && (uint64_t)g->ncores * g->size > ORR_LINE_BYTES)
        return key_error(d, p, keypath, KEY_SIZE,
                         "%u cores of %uB words do not fit in one 64B line", g->ncores, g->size);
    uint64_t base = orr_param_u64(p, "base");
    uint64_t extent = pat->bPerCore ? g->footprint * g->ncores
                      : pat->keys & K(FOOTPRINT) ? 2 * ORR_LINE_BYTES + g->footprint
                                                 : ORR_LINE_BYTES;
    if (extent > ORR_MEM_ADDR_MASK || base > ORR_MEM_ADDR_MASK - extent)
        return key_error(d, p, keypath, orr_param_given(p, "base") ? KEY_BASE : KEY_FOOTPRINT,
                         "the region (base + %s) passes the 48-bit address space",
                         pat->bPerCore ? "footprint per core" : "footprint");
    return 0;
}

static int check_cores(const struct memgen *g, const struct orr_params *p, const char *keypath,
                       struct orr_diag *d)
{
    const struct pattern *pat = g->pat;
    if (g->ncores >= pat->minCores && (!pat->maxCores || g->ncores <= pat->maxCores))
        return 0;
    if (pat->minCores == pat->maxCores)
        return key_error(d, p, keypath, KEY_PATTERN, "%s runs on exactly %u cores, not %u",
                         pattern_names[g->ePat], pat->minCores, g->ncores);
    return key_error(d, p, keypath, KEY_PATTERN, "%s needs at least %u cores, not %u",
                     pattern_names[g->ePat], pat->minCores, g->ncores);
}

static void read_params(struct memgen *g, const struct orr_params *p)
{
    const struct pattern *pat = g->pat;
    g->footprint = orr_param_u64(p, "footprint");
    g->count = orr_param_u64(p, "count");
    g->stride = orr_param_u64(p, "stride");
    g->compute = orr_param_u64(p, "compute");
    uint64_t size = orr_param_u64(p, "size");
    g->size = pat->keys & K(SIZE) ? (unsigned)(size > 64 ? 64 : size) : 8;
    if (g->ePat == PAT_SEQ)
        g->stride = g->size;
    g->critical = (unsigned)orr_param_u64(p, "critical");
    g->mlp = (unsigned)orr_param_u64(p, "mlp");
    g->streams = (unsigned)orr_param_u64(p, "streams");
    uint64_t base = orr_param_u64(p, "base");
    g->region = base + (pat->bPerCore ? g->core * g->footprint : 0);
    if (g->region < base) /* wrapped: check_layout reports it */
        g->region = base;
}

static int read_targets(struct memgen *g, const struct orr_params *p, const char *keypath,
                        struct orr_diag *d)
{
    size_t n;
    const char *const *v = orr_param_list(p, "targets", &n);
    if (n == 0 || n > 16)
        return key_error(d, p, keypath, orr_param_given(p, "targets") ? KEY_TARGETS : KEY_PATTERN,
                         "latency_matrix needs targets: 1 to 16 node base addresses, such as "
                         "[0B, 16GiB]");
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        if (orr_unit_parse(ORR_UNIT_SIZE, v[i], &g->aTarget[i], &why) ||
            g->aTarget[i] % ORR_LINE_BYTES || g->aTarget[i] > ORR_MEM_ADDR_MASK - g->footprint)
            return key_error(d, p, keypath, KEY_TARGETS,
                             "targets[%zu] = '%s': expected a line-aligned address below 2^48 "
                             "written as a size (16GiB)%s%s", i, v[i], why ? ": " : "",
                             why ? why : "");
        if (g->region >= g->aTarget[i] && g->region - g->aTarget[i] < g->footprint)
            return key_error(d, p, keypath, orr_param_given(p, "base") ? KEY_BASE : KEY_TARGETS,
                             "the turn word at base (%#llx) lies inside targets[%zu]'s footprint; "
                             "set base outside every target", (unsigned long long)g->region, i);
    }
    g->nTarget = (unsigned)n;
    return 0;
}

int memgen_create(struct memgen **out, const struct orr_params *p, const char *keypath,
                  unsigned core, unsigned ncores, struct orr_diag *d)
{
    *out = NULL;
    if (core >= ncores)
        return ORR_EINVAL;
    struct memgen *g = calloc(1, sizeof *g);
    if (!g)
        return ORR_ENOMEM;
    g->ePat = (enum pattern_id)orr_param_enum(p, "pattern");
    g->pat = &patterns[g->ePat];
    g->core = core;
    g->ncores = ncores;
    read_params(g, p);
    int rc = check_keys(g->pat, p, keypath, g->ePat, d);
    if (rc == 0)
        rc = check_ratio(g, p, keypath, d);
    if (rc == 0)
        rc = check_cores(g, p, keypath, d);
    if (rc == 0)
        rc = check_layout(g, p, keypath, d);
    if (rc) {
        free(g);
        return rc;
    }
    if (g->ePat == PAT_LATENCY_MATRIX && (rc = read_targets(g, p, keypath, d))) {
        free(g);
        return rc;
    }
    g->nElem = g->footprint / g->size;
    g->nLine = g->footprint / ORR_LINE_BYTES;
    g->eKernel = (enum stream_kernel)orr_param_enum(p, "kernel");
    if (g->ePat == PAT_STREAM) /* three arrays of whole lines */
        g->nElem = g->footprint / 3 / ORR_LINE_BYTES * (ORR_LINE_BYTES / 8);
    /* one prober at a time: the others of a latency_probe group sit idle */
    g->bDone = g->ePat == PAT_IDLE || (g->ePat == PAT_LATENCY_PROBE && core != 0);
    *out = g;
    return 0;
}

/* ---- driving ------------------------------------------------------------ */

enum memgen_status memgen_next(struct memgen *g, struct orr_rng *rng, struct memop *out)
{
    if (g->bWaiting)
        return MEMGEN_WAIT;
    if (g->bDone)
        return MEMGEN_DONE;
    if (g->bComputeDue && g->compute) {
        g->bComputeDue = false;
        memset(out, 0, sizeof *out);
        out->op = ORR_OP_COMPUTE;
        out->cycles = (uint32_t)g->compute;
        return MEMGEN_OP;
    }
    g->bComputeDue = false;
    enum memgen_status s = g->pat->next(g, rng, out);
    if (s == MEMGEN_DONE)
        g->bDone = true;
    return s;
}

void memgen_result(struct memgen *g, uint64_t value)
{
    if (!g->bWaiting)
        return;
    g->value = value;
    g->bWaiting = false;
}

unsigned memgen_mlp(const struct memgen *g)
{
    return g->pat->offset || g->ePat == PAT_RTEST || g->ePat == PAT_STREAM ? g->mlp : 1;
}

void memgen_stats(const struct memgen *g, struct memgen_stats *out)
{
    *out = g->st;
}

bool memgen_measuring(const struct memgen *g) { return g->bMeasuring; }

bool memgen_has_phase(const struct memgen *g)
{
    return g->ePat == PAT_STREAM || g->ePat == PAT_CHASE || g->ePat == PAT_LATENCY_PROBE;
}

uint64_t memgen_measured_bytes(const struct memgen *g)
{
    return g->ePat == PAT_STREAM ? g->st.nIter * stream_bytes[g->eKernel] : 0;
}

void memgen_destroy(struct memgen *g)
{
    if (!g)
        return;
    free(g->aNext);
    free(g);
}

/* ---- checkpoint/restore ------------------------------------------------- */

void memgen_save(const struct memgen *g, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_u64(w, g->i);
    orr_ckpt_put_u64(w, g->j);
    orr_ckpt_put_u32(w, g->eStep);
    orr_ckpt_put_u8(w, g->bWaiting);
    orr_ckpt_put_u8(w, g->bComputeDue);
    orr_ckpt_put_u8(w, g->bDone);
    orr_ckpt_put_u64(w, g->value);
    orr_ckpt_put_u32(w, (uint32_t)g->eKernel);
    orr_ckpt_put_u8(w, g->bMeasuring);
    orr_ckpt_put_array(w, g->aTarget, 16, sizeof g->aTarget[0]);
    orr_ckpt_put_u32(w, g->nTarget);
    orr_ckpt_put_u8(w, g->aNext != NULL);
    if (g->aNext)
        orr_ckpt_put_array(w, g->aNext, g->nLine, sizeof *g->aNext);
    orr_ckpt_put_u64(w, g->nLine);
    orr_ckpt_put_u64(w, g->cur);
    orr_ckpt_put_array(w, &g->st, 1, sizeof g->st);
}

void memgen_restore(struct memgen *g, struct orr_ckpt_reader *r)
{
    g->i = orr_ckpt_get_u64(r);
    g->j = orr_ckpt_get_u64(r);
    g->eStep = orr_ckpt_get_u32(r);
    g->bWaiting = orr_ckpt_get_u8(r) != 0;
    g->bComputeDue = orr_ckpt_get_u8(r) != 0;
    g->bDone = orr_ckpt_get_u8(r) != 0;
    g->value = orr_ckpt_get_u64(r);
    g->eKernel = (enum stream_kernel)orr_ckpt_get_u32(r);
    g->bMeasuring = orr_ckpt_get_u8(r) != 0;
    orr_ckpt_get_into(r, g->aTarget, sizeof g->aTarget);
    g->nTarget = orr_ckpt_get_u32(r);
    if (g->nTarget > 16)
        orr_ckpt_fail(r, "a generator with more targets than it can hold");
    free(g->aNext);
    g->aNext = NULL;
    if (orr_ckpt_get_u8(r)) {
        size_t n;
        g->aNext = orr_ckpt_get_array(r, sizeof *g->aNext, &n);
    }
    g->nLine = orr_ckpt_get_u64(r);
    g->cur = orr_ckpt_get_u64(r);
    orr_ckpt_get_into(r, &g->st, sizeof g->st);
}
