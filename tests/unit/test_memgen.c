/* Memory operation generators: each pattern's stream properties (addresses,
 * alignment, footprint, the chase's single cycle), the protocol patterns'
 * reactions to fed-back values step by step and their invariants when
 * several cores run them against a sequentially consistent memory under
 * random interleavings, determinism under a seed, and parameter errors with
 * their positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/config.h"
#include "testutil.h"
#include "workloads/memgen.h"

/* ---- fixtures: params from YAML, a flat memory, drivers ------------------ */

struct gen_set {
    struct orr_config cfg;
    struct orr_params p;
    struct orr_diag d;
    unsigned n;
    struct memgen *ag[16];
    struct orr_rng aRng[16];
};

static int gens_try(struct gen_set *s, const char *yaml, unsigned ncores)
{
    memset(s, 0, sizeof *s);
    assert_true(ncores <= 16);
    orr_diag_init(&s->d);
    assert_int_equal(orr_config_load_string(&s->cfg, "g.yaml", yaml, strlen(yaml), NULL, &s->d), 0);
    int rc = orr_params_parse(memgen_params, s->cfg.root, "gen", NULL, &s->p, &s->d);
    for (unsigned c = 0; rc == 0 && c < ncores; c++) {
        rc = memgen_create(&s->ag[c], &s->p, "gen", c, ncores, &s->d);
        char path[16];
        snprintf(path, sizeof path, "core%u", c);
        orr_rng_seed(&s->aRng[c], 42, path);
        s->n = c + 1;
    }
    return rc;
}

static void gens_open(struct gen_set *s, const char *yaml, unsigned ncores)
{
    int rc = gens_try(s, yaml, ncores);
    if (rc)
        orr_diag_print(&s->d, stderr);
    assert_int_equal(rc, 0);
}

static void gens_close(struct gen_set *s)
{
    for (unsigned c = 0; c < s->n; c++)
        memgen_destroy(s->ag[c]);
    orr_params_free(&s->p);
    orr_config_free(&s->cfg);
    orr_diag_free(&s->d);
}

/* A word-addressed memory: open addressing over exact addresses (every
 * pattern accesses a given address with one size). Starts zeroed. */
#define MEM_SLOTS 8192
struct memory {
    uint64_t aAddr[MEM_SLOTS], aVal[MEM_SLOTS];
    bool aUsed[MEM_SLOTS];
};

static uint64_t *mem_slot(struct memory *m, uint64_t addr)
{
    size_t h = (size_t)(addr * 0x9E3779B97F4A7C15ull >> 51) % MEM_SLOTS;
    while (m->aUsed[h] && m->aAddr[h] != addr)
        h = (h + 1) % MEM_SLOTS;
    if (!m->aUsed[h]) {
        m->aUsed[h] = true;
        m->aAddr[h] = addr;
        m->aVal[h] = 0;
    }
    return &m->aVal[h];
}

/* Perform op; returns the value a LOAD/CAS/FAA/SWAP returns. */
static uint64_t mem_exec(struct memory *m, const struct memop *op)
{
    assert_true(op->op >= ORR_OP_LOAD && op->op <= ORR_OP_COMPUTE);
    if (op->op == ORR_OP_FENCE || op->op == ORR_OP_COMPUTE)
        return 0;
    assert_true(op->size == 1 || op->size == 2 || op->size == 4 || op->size == 8);
    assert_int_equal(op->addr % op->size, 0);
    uint64_t *w = mem_slot(m, op->addr), old = *w;
    uint64_t mask = op->size == 8 ? UINT64_MAX : (UINT64_C(1) << 8 * op->size) - 1;
    switch (op->op) {
    case ORR_OP_STORE: *w = op->val & mask; break;
    case ORR_OP_CAS: if (old == op->expect) *w = op->val & mask; break;
    case ORR_OP_FAA: *w = (old + op->val) & mask; break;
    case ORR_OP_SWAP: *w = op->val & mask; break;
    default: break;
    }
    return old;
}

/* One step of core c: issue its next op (delivering a pending value first
 * when it waits). Returns false once the core is done. */
struct core { uint64_t pending; bool done; };

static bool core_step(struct gen_set *s, unsigned c, struct memory *m, struct core *k,
                      struct memop *last)
{
    struct memop op;
    enum memgen_status st = memgen_next(s->ag[c], &s->aRng[c], &op);
    if (st == MEMGEN_WAIT) {
        memgen_result(s->ag[c], k->pending);
        st = memgen_next(s->ag[c], &s->aRng[c], &op);
        assert_int_not_equal(st, MEMGEN_WAIT);
    }
    if (st == MEMGEN_DONE) {
        k->done = true;
        return false;
    }
    k->pending = mem_exec(m, &op);
    if (last)
        *last = op;
    return true;
}

/* Run every core to the end, picking the next core with rng (one op per
 * pick), so protocols meet many interleavings. Returns total steps. */
static uint64_t run_all(struct gen_set *s, struct memory *m, uint64_t seed)
{
    struct core ak[16] = {{0}};
    struct orr_rng pick;
    orr_rng_seed(&pick, seed, "interleave");
    unsigned nLive = s->n;
    uint64_t steps = 0;
    while (nLive) {
        unsigned c = (unsigned)orr_rng_below(&pick, s->n);
        if (ak[c].done)
            continue;
        if (!core_step(s, c, m, &ak[c], NULL))
            nLive--;
        assert_true(++steps < 50000000);
    }
    return steps;
}

/* Collect up to max ops of a single core (values fed from memory). */
static size_t collect(struct gen_set *s, unsigned c, struct memory *m, struct memop *aOp,
                      size_t max)
{
    struct core k = {0};
    size_t n = 0;
    while (n < max && core_step(s, c, m, &k, &aOp[n]))
        n++;
    return n;
}

static struct memory *mem_new(void)
{
    struct memory *m = calloc(1, sizeof *m);
    assert_non_null(m);
    return m;
}

static struct memgen_stats stats_of(struct gen_set *s, unsigned c)
{
    struct memgen_stats st;
    memgen_stats(s->ag[c], &st);
    return st;
}

/* ---- streams ------------------------------------------------------------ */

static void test_seq_and_stride(void **state)
{
    (void)state;
    struct memop a[64];
    struct gen_set s;
    struct memory *m = mem_new();
    gens_open(&s, "pattern: seq\nbase: 4KiB\nfootprint: 64B\ncount: 20\nsize: 4B\n", 1);
    assert_int_equal(collect(&s, 0, m, a, 64), 20);
    for (unsigned i = 0; i < 20; i++) {
        assert_int_equal(a[i].op, ORR_OP_LOAD);
        assert_int_equal(a[i].size, 4);
        assert_int_equal(a[i].addr, 4096 + (i * 4) % 64);
    }
    assert_int_equal(memgen_mlp(s.ag[0]), 0);
    gens_close(&s);

    gens_open(&s, "pattern: stride\nfootprint: 1KiB\nstride: 192B\ncount: 12\nwrite_ratio: 100\n"
                  "compute: 7cy\nmlp: 8\n", 2);
    size_t n = collect(&s, 1, m, a, 64);
    assert_int_equal(n, 24); /* each access followed by a compute burst */
    for (unsigned i = 0; i < 12; i++) {
        assert_int_equal(a[2 * i].op, ORR_OP_STORE);
        assert_int_equal(a[2 * i].addr, 1024 + (i * 192) % 1024); /* core 1's region */
        assert_int_equal(a[2 * i + 1].op, ORR_OP_COMPUTE);
        assert_int_equal(a[2 * i + 1].cycles, 7);
    }
    assert_int_equal(memgen_mlp(s.ag[1]), 8);
    assert_int_equal(stats_of(&s, 1).nOp, 12);
    gens_close(&s);
    free(m);
}

static void test_random_within_footprint(void **state)
{
    (void)state;
    static struct memop a[4000];
    struct gen_set s;
    struct memory *m = mem_new();
    gens_open(&s, "pattern: random\nbase: 1MiB\nfootprint: 4KiB\ncount: 4000\nsize: 8B\n"
                  "read_ratio: 70\n", 3);
    size_t n = collect(&s, 2, m, a, 4000);
    assert_int_equal(n, 4000);
    unsigned nLoad = 0, aSeen[512] = {0};
    for (size_t i = 0; i < n; i++) {
        uint64_t lo = (1u << 20) + 2 * 4096;
        assert_true(a[i].addr >= lo && a[i].addr < lo + 4096);
        assert_int_equal(a[i].addr % 8, 0);
        aSeen[(a[i].addr - lo) / 8]++;
        nLoad += a[i].op == ORR_OP_LOAD;
    }
    assert_true(nLoad > 2600 && nLoad < 3000); /* 70% of 4000 */
    unsigned nCovered = 0;
    for (unsigned k = 0; k < 512; k++)
        nCovered += aSeen[k] > 0;
    assert_true(nCovered > 490); /* uniform: almost every element by 8x oversampling */
    gens_close(&s);
    free(m);
}

static void test_bandwidth_streams(void **state)
{
    (void)state;
    struct memop a[32];
    struct gen_set s;
    struct memory *m = mem_new();
    gens_open(&s, "pattern: bandwidth\nfootprint: 1KiB\nstreams: 2\ncount: 16\nmlp: 10\n", 1);
    assert_int_equal(memgen_mlp(s.ag[0]), 10);
    for (unsigned i = 0; i < 16; i++) { /* never waits: results are not needed */
        enum memgen_status st = memgen_next(s.ag[0], &s.aRng[0], &a[i]);
        assert_int_equal(st, MEMGEN_OP);
        assert_int_equal(a[i].op, ORR_OP_LOAD);
        /* stream 0 walks [0, 512), stream 1 [512, 1024), line by line, alternating */
        assert_int_equal(a[i].addr, (i % 2) * 512 + (i / 2) * 64 % 512);
    }
    assert_int_equal(memgen_next(s.ag[0], &s.aRng[0], &a[16]), MEMGEN_DONE);
    gens_close(&s);
    free(m);
}

/* ---- stream: STREAM's kernels with a final check ---------------------------- */

/* Run one core's stream to the end against memory; *measured counts the ops
 * issued while memgen_measuring said so. */
static void stream_run(struct gen_set *s, struct memory *m, uint64_t *measured)
{
    struct core k = {0};
    struct memop op;
    *measured = 0;
    while (core_step(s, 0, m, &k, &op))
        *measured += memgen_measuring(s->ag[0]);
}

static void test_stream_kernels(void **state)
{
    (void)state;
    /* footprint 3 KiB: three 1 KiB arrays of 128 words: a at 0, b at 1 KiB, c at 2 KiB */
    static const struct { const char *kernel; uint64_t a5; unsigned nLoad, bytes; } aCase[] = {
        {"copy", 2 * 5 + 1, 1, 16}, {"scale", 3 * (2 * 5 + 1), 1, 16},
        {"add", (2 * 5 + 1) + (5 + 7), 2, 24}, {"triad", (2 * 5 + 1) + 3 * (5 + 7), 2, 24},
    };
    for (size_t k = 0; k < sizeof aCase / sizeof aCase[0]; k++) {
        char yaml[160];
        snprintf(yaml, sizeof yaml, "pattern: stream\nkernel: %s\nfootprint: 3KiB\ncount: 2\nmlp: 6\n",
                 aCase[k].kernel);
        struct gen_set s;
        struct memory *m = mem_new();
        gens_open(&s, yaml, 1);
        assert_int_equal(memgen_mlp(s.ag[0]), 6);
        uint64_t measured;
        stream_run(&s, m, &measured);
        struct memgen_stats st = stats_of(&s, 0);
        /* two passes of 128 elements: nLoad loads and a store each, plus the
         * fence that ends them; setup stores b and c; the check reads 16 lines */
        assert_int_equal(st.nIter, 2 * 128);
        assert_int_equal(measured, 2 * 128 * (aCase[k].nLoad + 1) + 1);
        assert_int_equal(st.nSetup, 2 * 128);
        assert_int_equal(st.nOp, 2 * 128 + 2 * 128 * (aCase[k].nLoad + 1) + 16);
        assert_int_equal(st.nBadValue, 0);
        assert_int_equal(memgen_measured_bytes(s.ag[0]), 2 * 128 * aCase[k].bytes);
        assert_int_equal(*mem_slot(m, 1024 + 5 * 8), 2 * 5 + 1);
        assert_int_equal(*mem_slot(m, 2048 + 5 * 8), 5 + 7);
        assert_int_equal(*mem_slot(m, 5 * 8), aCase[k].a5);
        assert_false(memgen_measuring(s.ag[0]));
        gens_close(&s);
        free(m);
    }
}

/* The final check reads back a[] and counts what the kernel did not store. */
static void test_stream_check_catches(void **state)
{
    (void)state;
    struct gen_set s;
    struct memory *m = mem_new();
    gens_open(&s, "pattern: stream\nfootprint: 3KiB\ncount: 1\n", 1);
    struct core k = {0};
    struct memop op;
    unsigned nStoreA = 0;
    for (;;) {
        enum memgen_status st = memgen_next(s.ag[0], &s.aRng[0], &op);
        if (st == MEMGEN_WAIT) {
            memgen_result(s.ag[0], k.pending);
            continue;
        }
        if (st == MEMGEN_DONE)
            break;
        /* a lost store: the triad's write of a[9] never reaches memory */
        if (op.op == ORR_OP_STORE && op.addr == 9 * 8 && nStoreA++ == 0)
            continue;
        k.pending = mem_exec(m, &op);
    }
    /* the check reads word (line + line % 8) of each line: a[9] is line 1's */
    assert_int_equal(stats_of(&s, 0).nBadValue, 1);
    gens_close(&s);
    free(m);
}

/* ---- chase ---------------------------------------------------------------- */

static void test_chase_single_cycle(void **state)
{
    (void)state;
    static struct memop a[2000];
    struct gen_set s;
    struct memory *m = mem_new();
    gens_open(&s, "pattern: chase\nbase: 64KiB\nfootprint: 4KiB\ncount: 192\n", 2);
    size_t n = collect(&s, 1, m, a, 2000);
    const unsigned nLine = 64;
    assert_int_equal(n, nLine + 192);
    uint64_t lo = 65536 + 4096; /* core 1's region */
    for (unsigned k = 0; k < nLine; k++) { /* setup: every line gets a pointer, in order */
        assert_int_equal(a[k].op, ORR_OP_STORE);
        assert_int_equal(a[k].addr, lo + k * 64);
        assert_true(a[k].val >= lo && a[k].val < lo + 4096 && a[k].val % 64 == 0);
    }
    for (unsigned lap = 0; lap < 3; lap++) { /* every lap visits each line once */
        bool aSeen[64] = {false};
        for (unsigned k = 0; k < nLine; k++) {
            const struct memop *op = &a[nLine + lap * nLine + k];
            assert_int_equal(op->op, ORR_OP_LOAD);
            unsigned line = (unsigned)((op->addr - lo) / 64);
            assert_false(aSeen[line]);
            aSeen[line] = true;
        }
    }
    struct memgen_stats st = stats_of(&s, 1);
    assert_int_equal(st.nSetup, nLine);
    assert_int_equal(st.nIter, 192);
    assert_int_equal(st.nBadValue, 0);
    assert_int_equal(memgen_mlp(s.ag[1]), 1);
    gens_close(&s);
    free(m);
}

/* Each load waits; the address of the next load is the value fed back. */
static void test_chase_follows_loaded_values(void **state)
{
    (void)state;
    struct gen_set s;
    struct memop op;
    gens_open(&s, "pattern: chase\nfootprint: 256B\ncount: 3\n", 1);
    for (unsigned k = 0; k < 4; k++)
        assert_int_equal(memgen_next(s.ag[0], &s.aRng[0], &op), MEMGEN_OP);
    assert_int_equal(memgen_next(s.ag[0], &s.aRng[0], &op), MEMGEN_OP);
    assert_int_equal(op.op, ORR_OP_LOAD);
    assert_int_equal(op.addr, 0);
    assert_int_equal(memgen_next(s.ag[0], &s.aRng[0], &op), MEMGEN_WAIT);
    memgen_result(s.ag[0], 128); /* follows the value even if it is not the stored one */
    assert_int_equal(memgen_next(s.ag[0], &s.aRng[0], &op), MEMGEN_OP);
    assert_int_equal(op.addr, 128);
    memgen_result(s.ag[0], 12345); /* outside the region: stay on the cycle, count it */
    assert_int_equal(memgen_next(s.ag[0], &s.aRng[0], &op), MEMGEN_OP);
    assert_true(op.addr < 256 && op.addr % 64 == 0);
    memgen_result(s.ag[0], 0);
    assert_int_equal(memgen_next(s.ag[0], &s.aRng[0], &op), MEMGEN_DONE);
    assert_int_equal(memgen_next(s.ag[0], &s.aRng[0], &op), MEMGEN_DONE);
    assert_true(stats_of(&s, 0).nBadValue >= 1);
    gens_close(&s);
}

static void test_latency_probe_one_core(void **state)
{
    (void)state;
    static struct memop a[200];
    struct gen_set s;
    struct memory *m = mem_new();
    gens_open(&s, "pattern: latency_probe\nbase: 2GiB\nfootprint: 2KiB\ncount: 64\n", 3);
    struct memop op;
    assert_int_equal(memgen_next(s.ag[1], &s.aRng[1], &op), MEMGEN_DONE);
    assert_int_equal(memgen_next(s.ag[2], &s.aRng[2], &op), MEMGEN_DONE);
    size_t n = collect(&s, 0, m, a, 200);
    assert_int_equal(n, 32 + 64);
    bool aSeen[32] = {false};
    for (unsigned k = 32; k < 64; k++) {
        uint64_t line = (a[k].addr - (UINT64_C(2) << 30)) / 64;
        assert_true(line < 32);
        assert_false(aSeen[line]);
        aSeen[line] = true;
    }
    assert_int_equal(stats_of(&s, 0).nBadValue, 0);
    gens_close(&s);
    free(m);
}

/* ---- protocol patterns, step by step -------------------------------------- */

static void expect_op(struct gen_set *s, unsigned c, uint8_t kind, uint64_t addr,
                      struct memop *op)
{
    assert_int_equal(memgen_next(s->ag[c], &s->aRng[c], op), MEMGEN_OP);
    assert_int_equal(op->op, kind);
    assert_int_equal(op->addr, addr);
}

static void expect_wait_feed(struct gen_set *s, unsigned c, uint64_t value)
{
    struct memop op;
    assert_int_equal(memgen_next(s->ag[c], &s->aRng[c], &op), MEMGEN_WAIT);
    memgen_result(s->ag[c], value);
}

static void test_lock_state_machine(void **state)
{
    (void)state;
    struct gen_set s;
    struct memop op;
    gens_open(&s, "pattern: lock\nbase: 4KiB\nfootprint: 64B\ncritical: 2\ncount: 1\n", 3);
    const unsigned c = 2;
    expect_op(&s, c, ORR_OP_LOAD, 4096, &op); /* test */
    expect_wait_feed(&s, c, 1);                /* held by core 0 */
    expect_op(&s, c, ORR_OP_LOAD, 4096, &op); /* spin */
    expect_wait_feed(&s, c, 0);                /* free */
    expect_op(&s, c, ORR_OP_CAS, 4096, &op);  /* test-and-set */
    assert_int_equal(op.expect, 0);
    assert_int_equal(op.val, c + 1);
    expect_wait_feed(&s, c, 2);                /* core 1 won the race */
    expect_op(&s, c, ORR_OP_LOAD, 4096, &op);
    expect_wait_feed(&s, c, 0);
    expect_op(&s, c, ORR_OP_CAS, 4096, &op);
    expect_wait_feed(&s, c, 0);                /* acquired */
    for (unsigned k = 0; k < 2; k++) {         /* critical section: data[k]++ */
        expect_op(&s, c, ORR_OP_LOAD, 4096 + 64 + 8 * k, &op);
        expect_wait_feed(&s, c, 10 + k);
        expect_op(&s, c, ORR_OP_STORE, 4096 + 64 + 8 * k, &op);
        assert_int_equal(op.val, 11 + k);
    }
    expect_op(&s, c, ORR_OP_STORE, 4096, &op); /* release */
    assert_int_equal(op.val, 0);
    assert_int_equal(memgen_next(s.ag[c], &s.aRng[c], &op), MEMGEN_DONE);
    struct memgen_stats st = stats_of(&s, c);
    assert_int_equal(st.nIter, 1);
    assert_int_equal(st.nSpin, 2);
    gens_close(&s);
}

static void test_pingpong_state_machine(void **state)
{
    (void)state;
    struct gen_set s;
    struct memop op;
    gens_open(&s, "pattern: pingpong\nbase: 128B\ncount: 2\n", 2);
    /* core 1 (B) waits for odd values */
    expect_op(&s, 1, ORR_OP_LOAD, 128, &op);
    expect_wait_feed(&s, 1, 0);
    expect_op(&s, 1, ORR_OP_LOAD, 128, &op);
    expect_wait_feed(&s, 1, 1);
    expect_op(&s, 1, ORR_OP_CAS, 128, &op);
    assert_int_equal(op.expect, 1);
    assert_int_equal(op.val, 2);
    expect_wait_feed(&s, 1, 1);
    expect_op(&s, 1, ORR_OP_LOAD, 128, &op);
    expect_wait_feed(&s, 1, 3);
    expect_op(&s, 1, ORR_OP_CAS, 128, &op);
    assert_int_equal(op.expect, 3);
    assert_int_equal(op.val, 4);
    expect_wait_feed(&s, 1, 7); /* someone else moved the word: a bug, counted */
    assert_int_equal(memgen_next(s.ag[1], &s.aRng[1], &op), MEMGEN_DONE);
    struct memgen_stats st = stats_of(&s, 1);
    assert_int_equal(st.nIter, 2);
    assert_int_equal(st.nSpin, 1);
    assert_int_equal(st.nBadValue, 1);
    /* core 0 (A) starts at once: 0 -> 1 */
    expect_op(&s, 0, ORR_OP_LOAD, 128, &op);
    expect_wait_feed(&s, 0, 0);
    expect_op(&s, 0, ORR_OP_CAS, 128, &op);
    assert_int_equal(op.expect, 0);
    assert_int_equal(op.val, 1);
    gens_close(&s);
}

static void test_prodcons_protocol(void **state)
{
    (void)state;
    struct gen_set s;
    struct memop op;
    gens_open(&s, "pattern: prodcons\nfootprint: 16B\ncount: 2\nsize: 4B\n", 3);
    /* producer: fill 4 words with round 1, publish flag 1 */
    for (unsigned k = 0; k < 4; k++) {
        expect_op(&s, 0, ORR_OP_STORE, 128 + 4 * k, &op);
        assert_int_equal(op.val, 1);
    }
    expect_op(&s, 0, ORR_OP_STORE, 0, &op);
    assert_int_equal(op.val, 1);
    expect_op(&s, 0, ORR_OP_LOAD, 64, &op); /* await both acks */
    expect_wait_feed(&s, 0, 1);
    expect_op(&s, 0, ORR_OP_LOAD, 64, &op);
    expect_wait_feed(&s, 0, 2);
    expect_op(&s, 0, ORR_OP_STORE, 128, &op); /* round 2 */
    assert_int_equal(op.val, 2);
    /* consumer: spin on the flag, read the buffer, ack */
    expect_op(&s, 1, ORR_OP_LOAD, 0, &op);
    expect_wait_feed(&s, 1, 0);
    expect_op(&s, 1, ORR_OP_LOAD, 0, &op);
    expect_wait_feed(&s, 1, 1);
    for (unsigned k = 0; k < 4; k++) {
        expect_op(&s, 1, ORR_OP_LOAD, 128 + 4 * k, &op);
        expect_wait_feed(&s, 1, k == 3 ? 0 : 1); /* a stale word: counted */
    }
    expect_op(&s, 1, ORR_OP_FAA, 64, &op);
    assert_int_equal(op.val, 1);
    struct memgen_stats st = stats_of(&s, 1);
    assert_int_equal(st.nIter, 1);
    assert_int_equal(st.nSpin, 1);
    assert_int_equal(st.nBadValue, 1);
    gens_close(&s);
}

/* ---- protocol patterns, many cores, many interleavings -------------------- */

static void test_protocols_interleaved(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct gen_set s;
        struct memory *m = mem_new();
        gens_open(&s, "pattern: lock\nbase: 8KiB\nfootprint: 32B\ncritical: 3\ncount: 25\n", 4);
        run_all(&s, m, seed);
        uint64_t nAcq = 0;
        for (unsigned c = 0; c < 4; c++)
            nAcq += stats_of(&s, c).nIter;
        assert_int_equal(nAcq, 100);
        for (unsigned k = 0; k < 3; k++) /* mutual exclusion: no increment lost */
            assert_int_equal(*mem_slot(m, 8192 + 64 + 8 * k), 100);
        assert_int_equal(*mem_slot(m, 8192), 0);
        gens_close(&s);

        memset(m, 0, sizeof *m);
        gens_open(&s, "pattern: pingpong\ncount: 50\n", 2);
        run_all(&s, m, seed);
        assert_int_equal(*mem_slot(m, 0), 100);
        for (unsigned c = 0; c < 2; c++) {
            assert_int_equal(stats_of(&s, c).nIter, 50);
            assert_int_equal(stats_of(&s, c).nBadValue, 0);
        }
        gens_close(&s);

        memset(m, 0, sizeof *m);
        gens_open(&s, "pattern: prodcons\nfootprint: 64B\ncount: 10\nsize: 2B\ncompute: 3cy\n", 4);
        run_all(&s, m, seed);
        for (unsigned c = 0; c < 4; c++) {
            assert_int_equal(stats_of(&s, c).nIter, 10);
            assert_int_equal(stats_of(&s, c).nBadValue, 0);
        }
        assert_int_equal(*mem_slot(m, 64), 30); /* 3 consumers x 10 rounds */
        gens_close(&s);

        memset(m, 0, sizeof *m);
        gens_open(&s, "pattern: false_share\nbase: 64B\ncount: 40\nsize: 4B\n", 16);
        run_all(&s, m, seed);
        for (unsigned c = 0; c < 16; c++) {
            assert_int_equal(*mem_slot(m, 64 + 4 * c), 40);
            assert_int_equal(stats_of(&s, c).nBadValue, 0);
        }
        gens_close(&s);
        free(m);
    }
}

static void test_idle(void **state)
{
    (void)state;
    struct gen_set s;
    struct memop op;
    gens_open(&s, "pattern: idle\n", 1);
    assert_int_equal(memgen_next(s.ag[0], &s.aRng[0], &op), MEMGEN_DONE);
    gens_close(&s);
}

/* ---- determinism ------------------------------------------------------------ */

static uint64_t stream_hash(const char *yaml, uint64_t seed)
{
    struct gen_set s;
    gens_open(&s, yaml, 1);
    orr_rng_seed(&s.aRng[0], seed, "core0");
    struct memory *m = mem_new();
    static struct memop a[3000];
    size_t n = collect(&s, 0, m, a, 3000);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (a[i].addr * 31 + a[i].op)) * 1099511628211ull;
    gens_close(&s);
    free(m);
    return h;
}

static void test_determinism(void **state)
{
    (void)state;
    const char *aYaml[] = {
        "pattern: random\nfootprint: 1MiB\ncount: 2000\nread_ratio: 50\n",
        "pattern: chase\nfootprint: 64KiB\ncount: 1000\n",
    };
    for (unsigned k = 0; k < 2; k++) {
        assert_true(stream_hash(aYaml[k], 7) == stream_hash(aYaml[k], 7));
        assert_true(stream_hash(aYaml[k], 7) != stream_hash(aYaml[k], 8));
    }
}

/* ---- parameter errors --------------------------------------------------------- */

static void expect_error(const char *yaml, unsigned ncores, const char *want)
{
    struct gen_set s;
    int rc = gens_try(&s, yaml, ncores);
    char buf[1024] = "";
    if (s.d.nMsg)
        orr_diag_format(&s.d.aMsg[0], buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        print_error("got:  %s\nwant: %s\n", buf, want);
    assert_int_not_equal(rc, 0);
    assert_string_equal(buf, want);
    gens_close(&s);
}

static void test_bad_params(void **state)
{
    (void)state;
    expect_error("pattern: seq\nstride: 128B\n", 1,
                 "g.yaml:2:9: error: gen.stride: does not apply to pattern seq (its keys: base, "
                 "footprint, count, read_ratio, write_ratio, compute, size, mlp)");
    expect_error("pattern: idle\ncount: 5\n", 1,
                 "g.yaml:2:8: error: gen.count: does not apply to pattern idle (its keys: none)");
    expect_error("pattern: seq\nsize: 3B\n", 1,
                 "g.yaml:2:7: error: gen.size: must be 1B, 2B, 4B or 8B, got 3B");
    expect_error("pattern: random\nbase: 100B\n", 1,
                 "g.yaml:2:7: error: gen.base: must be a multiple of 64B (a line)");
    expect_error("pattern: seq\nread_ratio: 60\nwrite_ratio: 30\n", 1,
                 "g.yaml:3:14: error: gen.write_ratio: read_ratio and write_ratio must add up "
                 "to 100 (got 60 + 30)");
    expect_error("pattern: seq\nread_ratio: 101\n", 1,
                 "g.yaml:2:13: error: gen.read_ratio: must be between 0 and 100, got '101'");
    expect_error("pattern: pingpong\n", 3,
                 "g.yaml:1:10: error: gen.pattern: pingpong runs on exactly 2 cores, not 3");
    expect_error("pattern: prodcons\n", 1,
                 "g.yaml:1:10: error: gen.pattern: prodcons needs at least 2 cores, not 1");
    expect_error("pattern: false_share\nsize: 8B\n", 9,
                 "g.yaml:2:7: error: gen.size: 9 cores of 8B words do not fit in one 64B line");
    expect_error("pattern: chase\nfootprint: 100B\n", 1,
                 "g.yaml:2:12: error: gen.footprint: must be a multiple of 64B");
    expect_error("pattern: chase\nfootprint: 2GiB\n", 1,
                 "g.yaml:2:12: error: gen.footprint: at most 1GiB for a pointer chase (2^24 "
                 "lines)");
    expect_error("pattern: stride\nstride: 6B\nsize: 4B\n", 1,
                 "g.yaml:2:9: error: gen.stride: must be a multiple of size (4B)");
    expect_error("pattern: bandwidth\nfootprint: 128B\nstreams: 4\n", 1,
                 "g.yaml:2:12: error: gen.footprint: needs a line per stream (4 streams)");
    expect_error("pattern: seq\nbase: 256TiB\n", 1,
                 "g.yaml:2:7: error: gen.base: the region (base + footprint per core) "
                 "passes the 48-bit address space");
    expect_error("pattern: spin\n", 1,
                 "g.yaml:1:10: error: gen.pattern: expected one of seq, stride, random, chase, "
                 "prodcons, false_share, lock, pingpong, latency_probe, bandwidth, idle, rtest, "
                 "latency_matrix, stream, got 'spin'");
    expect_error("pattern: latency_matrix\nfootprint: 1MiB\n", 1,
                 "g.yaml:1:10: error: gen.pattern: latency_matrix needs targets: 1 to 16 node "
                 "base addresses, such as [0B, 16GiB]");
    expect_error("pattern: latency_matrix\nfootprint: 1MiB\ntargets: [0B]\n", 1,
                 "g.yaml:3:10: error: gen.targets: the turn word at base (0) lies inside "
                 "targets[0]'s footprint; set base outside every target");
    expect_error("pattern: lock\ncritical: 0\n", 2,
                 "g.yaml:2:11: error: gen.critical: must be greater than zero, got '0'");
}

/* rtest: a mix of every operation kind and size, inside the shared region,
 * naturally aligned, with store values unique per core and access. */
static void test_rtest_mix(void **state)
{
    (void)state;
    static struct memop a[2][3000];
    struct gen_set s;
    struct memory *m = mem_new();
    gens_open(&s, "pattern: rtest\nbase: 4KiB\nfootprint: 256B\ncount: 3000\n", 2);
    unsigned kinds[ORR_OP_COMPUTE + 1] = {0}, sizes[9] = {0};
    for (unsigned c = 0; c < 2; c++) {
        size_t n = collect(&s, c, m, a[c], 3000);
        assert_int_equal(n, 3000);
        for (size_t i = 0; i < n; i++) {
            kinds[a[c][i].op]++;
            if (a[c][i].op == ORR_OP_FENCE)
                continue;
            sizes[a[c][i].size]++;
            assert_true(a[c][i].addr >= 4096 && a[c][i].addr + a[c][i].size <= 4096 + 256);
            assert_int_equal(a[c][i].addr % a[c][i].size, 0);
        }
    }
    for (unsigned k = ORR_OP_LOAD; k <= ORR_OP_FENCE; k++)
        assert_true(kinds[k] > 100); /* every kind appears */
    for (unsigned z = 1; z <= 8; z *= 2)
        assert_true(sizes[z] > 800);
    /* stores of the two cores never write the same value */
    for (size_t i = 0; i < 3000; i++)
        for (size_t j = 0; j < 3000; j += 97)
            if (a[0][i].op == ORR_OP_STORE && a[1][j].op == ORR_OP_STORE && a[0][i].size == 8 &&
                a[1][j].size == 8)
                assert_true(a[0][i].val != a[1][j].val);
    gens_close(&s);
    free(m);
}

/* latency_matrix: core 1 waits for its turn; core 0 probes each target
 * count times with dependent loads inside the footprint, then passes the
 * turn; core 1 then probes. */
static void test_latency_matrix_turns(void **state)
{
    (void)state;
    static struct memop a[64];
    struct gen_set s;
    struct memory *m = mem_new();
    gens_open(&s, "pattern: latency_matrix\nbase: 512KiB\nfootprint: 64KiB\ncount: 5\n"
                  "targets: [0B, 128KiB]\n", 2);
    /* core 1 first: it only polls the turn word (still 0, core 0's turn) */
    size_t n = collect(&s, 1, m, a, 6);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(a[i].op, ORR_OP_LOAD);
        assert_int_equal(a[i].addr, 512 * 1024);
    }
    n = collect(&s, 0, m, a, 64);
    assert_int_equal(n, 1 + 10 + 1); /* poll, 5 + 5 probes, release */
    for (size_t i = 1; i <= 10; i++) {
        uint64_t base = i <= 5 ? 0 : 128 * 1024;
        assert_true(a[i].addr >= base && a[i].addr < base + 64 * 1024);
        assert_int_equal(a[i].addr % 64, 0);
    }
    assert_int_equal(a[11].op, ORR_OP_STORE);
    assert_int_equal(a[11].val, 1);
    /* now core 1 gets its turn */
    n = collect(&s, 1, m, a, 64);
    assert_true(n >= 11);
    assert_int_equal(a[n - 1].op, ORR_OP_STORE);
    assert_int_equal(a[n - 1].val, 2);
    gens_close(&s);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_and_stride),
        cmocka_unit_test(test_random_within_footprint),
        cmocka_unit_test(test_bandwidth_streams),
        cmocka_unit_test(test_stream_kernels),
        cmocka_unit_test(test_stream_check_catches),
        cmocka_unit_test(test_chase_single_cycle),
        cmocka_unit_test(test_chase_follows_loaded_values),
        cmocka_unit_test(test_latency_probe_one_core),
        cmocka_unit_test(test_lock_state_machine),
        cmocka_unit_test(test_pingpong_state_machine),
        cmocka_unit_test(test_prodcons_protocol),
        cmocka_unit_test(test_protocols_interleaved),
        cmocka_unit_test(test_idle),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_rtest_mix),
        cmocka_unit_test(test_latency_matrix_turns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
