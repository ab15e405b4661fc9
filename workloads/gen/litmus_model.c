/* Reference verdicts (litmus_model.h): an explicit-state search over the
 * SC or x86-TSO abstract machine running a litmus test's threads.
 *
 * Invariants of the search:
 *   1. A state is fully described by its encoding (encode()): per thread
 *      the program counter, the six registers and the buffered stores
 *      (oldest first), then memory. Two executions that reach the same
 *      encoding continue identically, so each encoding is expanded once.
 *   2. Every state on the stack has its fingerprint in the visited table;
 *      the table never holds more than maxStates fingerprints.
 *   3. A state with no step is final: every thread is done and every store
 *      buffer is empty (a thread blocked on MFENCE or a locked instruction
 *      always has a drain step under TSO, and never blocks under SC).
 *
 * Steps from a state, for each thread th:
 *   issue   th's next instruction (litmus_thread_next; register moves are
 *           done inside it), unless it is MFENCE or locked and th's buffer
 *           is not empty (TSO)                               [step_issue]
 *   drain   th's oldest buffered store reaches memory (TSO)  [step_drain]
 * Each step is applied to the decoded state, the result encoded and
 * fingerprinted, and the state put back as it was (undo) for the next. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "workloads/litmus_model.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "orrery/error.h"

/* The largest encoding: 8 threads x (pc, 6 registers, count, 64 buffered
 * stores of 5 bytes) + 16 locations. */
#define ENC_MAX (LITMUS_MAX_THREADS * (1 + 4 * LITMUS_NREG + 1 + 5 * LITMUS_MAX_INSNS) + \
                 4 * LITMUS_MAX_LOCS)
#define OUTCOME_MAX 4096 /* 64 condition terms of at most ~20 characters */

/* A decoded state. Buffer k of thread th is aBuf*[th][aHead[th] + k]. */
struct mstate {
    struct litmus_thread_state aTh[LITMUS_MAX_THREADS];
    uint32_t aMem[LITMUS_MAX_LOCS];
    uint8_t aHead[LITMUS_MAX_THREADS], aN[LITMUS_MAX_THREADS];
    uint8_t aBufLoc[LITMUS_MAX_THREADS][LITMUS_MAX_INSNS];
    uint32_t aBufVal[LITMUS_MAX_THREADS][LITMUS_MAX_INSNS];
};

struct search {
    const struct litmus_test *t;
    enum litmus_model model;
    uint64_t maxStates;
    /* visited fingerprints: open addressing, (0,0) marks an empty slot */
    XXH128_hash_t *aSlot;
    size_t nSlot, nUsed;
    /* the stack of states to expand: encodings, each followed by its
     * 2-byte length */
    uint8_t *aStack;
    size_t nStack, capStack;
    struct litmus_verdict *v;
    size_t capFinal;
    bool bOverflow, bNoMem;
};

/* ---- encoding -------------------------------------------------------------- */

static size_t put32(uint8_t *p, uint32_t x)
{
    memcpy(p, &x, 4);
    return 4;
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
}

static size_t encode(const struct search *se, const struct mstate *s, uint8_t *out)
{
    const struct litmus_test *t = se->t;
    size_t n = 0;
    for (unsigned th = 0; th < t->nThread; th++) {
        out[n++] = (uint8_t)s->aTh[th].pc;
        for (unsigned r = 0; r < LITMUS_NREG; r++)
            n += put32(out + n, (uint32_t)s->aTh[th].aReg[r]);
        out[n++] = s->aN[th];
        for (unsigned k = 0; k < s->aN[th]; k++) {
            out[n++] = s->aBufLoc[th][s->aHead[th] + k];
            n += put32(out + n, s->aBufVal[th][s->aHead[th] + k]);
        }
    }
    for (unsigned l = 0; l < t->nLoc; l++)
        n += put32(out + n, s->aMem[l]);
    return n;
}

static void decode(const struct search *se, const uint8_t *in, struct mstate *s)
{
    const struct litmus_test *t = se->t;
    size_t n = 0;
    for (unsigned th = 0; th < t->nThread; th++) {
        struct litmus_thread_state *ts = &s->aTh[th];
        ts->t = t, ts->tid = th, ts->bWaiting = false;
        ts->pc = in[n++];
        for (unsigned r = 0; r < LITMUS_NREG; r++, n += 4)
            ts->aReg[r] = get32(in + n);
        s->aHead[th] = 0;
        s->aN[th] = in[n++];
        for (unsigned k = 0; k < s->aN[th]; k++, n += 5) {
            s->aBufLoc[th][k] = in[n];
            s->aBufVal[th][k] = get32(in + n + 1);
        }
    }
    for (unsigned l = 0; l < t->nLoc; l++, n += 4)
        s->aMem[l] = get32(in + n);
}

/* ---- the visited table and the stack --------------------------------------- */

static bool slot_empty(XXH128_hash_t h) { return h.low64 == 0 && h.high64 == 0; }

static bool table_grow(struct search *se)
{
    size_t nNew = se->nSlot ? 2 * se->nSlot : 1024;
    XXH128_hash_t *aNew = calloc(nNew, sizeof *aNew);
    if (!aNew)
        return false;
    for (size_t i = 0; i < se->nSlot; i++) {
        XXH128_hash_t h = se->aSlot[i];
        if (slot_empty(h))
            continue;
        size_t k = (size_t)h.low64 & (nNew - 1);
        while (!slot_empty(aNew[k]))
            k = (k + 1) & (nNew - 1);
        aNew[k] = h;
    }
    free(se->aSlot);
    se->aSlot = aNew, se->nSlot = nNew;
    return true;
}

/* Add a state; false if it was there already, or on overflow or no memory
 * (flagged in se). */
static bool visit(struct search *se, const uint8_t *enc, size_t n)
{
    XXH128_hash_t h = XXH3_128bits(enc, n);
    if (slot_empty(h))
        h.low64 = 1;
    for (size_t k = (size_t)h.low64 & (se->nSlot - 1);; k = (k + 1) & (se->nSlot - 1)) {
        if (slot_empty(se->aSlot[k])) {
            if (se->nUsed == se->maxStates) {
                se->bOverflow = true;
                return false;
            }
            se->aSlot[k] = h;
            se->nUsed++;
            break;
        }
        if (XXH128_isEqual(se->aSlot[k], h))
            return false;
    }
    if (2 * se->nUsed > se->nSlot && !table_grow(se))
        se->bNoMem = true;
    return !se->bNoMem;
}

static bool push(struct search *se, const uint8_t *enc, size_t n)
{
    if (se->nStack + n + 2 > se->capStack) {
        size_t cap = se->capStack ? 2 * se->capStack : 65536;
        while (cap < se->nStack + n + 2)
            cap *= 2;
        uint8_t *a = realloc(se->aStack, cap);
        if (!a) {
            se->bNoMem = true;
            return false;
        }
        se->aStack = a, se->capStack = cap;
    }
    memcpy(se->aStack + se->nStack, enc, n);
    se->aStack[se->nStack + n] = (uint8_t)(n & 0xFF);
    se->aStack[se->nStack + n + 1] = (uint8_t)(n >> 8);
    se->nStack += n + 2;
    return true;
}

/* The top state into enc (popped); its length. */
static size_t pop(struct search *se, uint8_t *enc)
{
    size_t n = se->aStack[se->nStack - 2] | (size_t)se->aStack[se->nStack - 1] << 8;
    se->nStack -= n + 2;
    memcpy(enc, se->aStack + se->nStack, n);
    return n;
}

/* A successor: visit it, and stack it if it is new. */
static void successor(struct search *se, const struct mstate *s)
{
    uint8_t enc[ENC_MAX];
    size_t n = encode(se, s, enc);
    if (visit(se, enc, n))
        push(se, enc, n);
}

/* ---- steps ------------------------------------------------------------------- */

static unsigned loc_of(const struct litmus_test *t, uint64_t addr)
{
    return (unsigned)((addr - t->aLoc[0].addr) / ORR_LINE_BYTES);
}

/* What a load of loc by th reads: its youngest buffered store there, or
 * memory. */
static uint32_t read_loc(const struct mstate *s, unsigned th, unsigned loc)
{
    for (unsigned k = s->aN[th]; k-- > 0;)
        if (s->aBufLoc[th][s->aHead[th] + k] == loc)
            return s->aBufVal[th][s->aHead[th] + k];
    return s->aMem[loc];
}

/* Issue th's next instruction in s; false (s possibly changed) if it has
 * none or must wait for its buffer to drain. */
static bool step_issue(const struct search *se, struct mstate *s, unsigned th)
{
    struct memop op;
    if (litmus_thread_next(&s->aTh[th], &op) != MEMGEN_OP)
        return false; /* done (a model never leaves a value pending) */
    bool locked = op.op != ORR_OP_LOAD && op.op != ORR_OP_STORE;
    if (locked && s->aN[th])
        return false;
    if (op.op == ORR_OP_FENCE)
        return true;
    unsigned loc = loc_of(se->t, op.addr);
    uint32_t old = read_loc(s, th, loc), val = (uint32_t)op.val;
    switch (op.op) {
    case ORR_OP_STORE:
        if (se->model == LITMUS_MODEL_SC) {
            s->aMem[loc] = val;
        } else {
            unsigned k = s->aHead[th] + s->aN[th]++;
            s->aBufLoc[th][k] = (uint8_t)loc, s->aBufVal[th][k] = val;
        }
        return true;
    case ORR_OP_SWAP: s->aMem[loc] = val; break;
    case ORR_OP_FAA: s->aMem[loc] = old + val; break;
    case ORR_OP_CAS:
        if (old == (uint32_t)op.expect)
            s->aMem[loc] = val;
        break;
    default: break; /* LOAD */
    }
    litmus_thread_result(&s->aTh[th], old);
    return true;
}

static void step_drain(struct mstate *s, unsigned th)
{
    unsigned k = s->aHead[th]++;
    s->aN[th]--;
    s->aMem[s->aBufLoc[th][k]] = s->aBufVal[th][k];
}

/* ---- final outcomes --------------------------------------------------------- */

static uint64_t final_mem(void *ctx, unsigned loc, uint64_t addr)
{
    (void)addr;
    return ((const struct mstate *)ctx)->aMem[loc];
}

static void record_final(struct search *se, struct mstate *s)
{
    const struct litmus_test *t = se->t;
    uint64_t aReg[LITMUS_MAX_THREADS * LITMUS_NREG] = {0};
    for (unsigned th = 0; th < t->nThread; th++)
        memcpy(&aReg[th * LITMUS_NREG], s->aTh[th].aReg, sizeof s->aTh[th].aReg);
    char text[OUTCOME_MAX];
    litmus_outcome(t, aReg, final_mem, s, text, sizeof text);
    struct litmus_verdict *v = se->v;
    for (size_t i = 0; i < v->nFinal; i++)
        if (strcmp(v->aFinal[i].text, text) == 0)
            return;
    if (v->nFinal == se->capFinal) {
        size_t cap = se->capFinal ? 2 * se->capFinal : 16;
        struct litmus_final *a = realloc(v->aFinal, cap * sizeof *a);
        if (!a) {
            se->bNoMem = true;
            return;
        }
        v->aFinal = a, se->capFinal = cap;
    }
    char *copy = strdup(text);
    if (!copy) {
        se->bNoMem = true;
        return;
    }
    bool pos = litmus_eval(t, aReg, final_mem, s);
    v->aFinal[v->nFinal++] = (struct litmus_final){copy, pos, litmus_witness(t, aReg, final_mem, s)};
}

/* Expand one state: every step of every thread. */
static void expand(struct search *se, const uint8_t *enc)
{
    const struct litmus_test *t = se->t;
    struct mstate s;
    decode(se, enc, &s);
    bool any = false;
    for (unsigned th = 0; th < t->nThread && !se->bOverflow && !se->bNoMem; th++) {
        struct litmus_thread_state saveTh = s.aTh[th];
        uint8_t saveHead = s.aHead[th], saveN = s.aN[th];
        uint32_t aSaveMem[LITMUS_MAX_LOCS];
        memcpy(aSaveMem, s.aMem, t->nLoc * sizeof s.aMem[0]);
        if (step_issue(se, &s, th)) {
            any = true;
            successor(se, &s);
        }
        s.aTh[th] = saveTh, s.aHead[th] = saveHead, s.aN[th] = saveN;
        memcpy(s.aMem, aSaveMem, t->nLoc * sizeof s.aMem[0]);
        if (s.aN[th]) {
            any = true;
            step_drain(&s, th);
            successor(se, &s);
            s.aHead[th] = saveHead, s.aN[th] = saveN;
            memcpy(s.aMem, aSaveMem, t->nLoc * sizeof s.aMem[0]);
        }
    }
    if (!any)
        record_final(se, &s);
}

static int final_cmp(const void *a, const void *b)
{
    return strcmp(((const struct litmus_final *)a)->text, ((const struct litmus_final *)b)->text);
}

/* ---- the API ---------------------------------------------------------------- */

void litmus_verdict_free(struct litmus_verdict *v)
{
    for (size_t i = 0; i < v->nFinal; i++)
        free(v->aFinal[i].text);
    free(v->aFinal);
    memset(v, 0, sizeof *v);
}

const char *litmus_model_name(enum litmus_model m)
{
    return m == LITMUS_MODEL_SC ? "SC" : "x86-TSO";
}

int litmus_model_run(const struct litmus_test *t, enum litmus_model m, uint64_t maxStates,
                     const char *file, struct litmus_verdict *v, struct orr_diag *d)
{
    memset(v, 0, sizeof *v);
    v->model = m;
    struct search se = {.t = t, .model = m, .v = v,
                        .maxStates = maxStates ? maxStates : LITMUS_MODEL_MAX_STATES};
    struct mstate s0;
    memset(&s0, 0, sizeof s0);
    for (unsigned th = 0; th < t->nThread; th++)
        litmus_thread_init(&s0.aTh[th], t, th);
    for (unsigned l = 0; l < t->nLoc; l++)
        s0.aMem[l] = t->aLoc[l].init;
    uint8_t enc[ENC_MAX];
    if (table_grow(&se)) {
        size_t n = encode(&se, &s0, enc);
        if (visit(&se, enc, n))
            push(&se, enc, n);
    } else {
        se.bNoMem = true;
    }
    while (se.nStack && !se.bOverflow && !se.bNoMem) {
        pop(&se, enc);
        expand(&se, enc);
    }
    v->nState = se.nUsed;
    free(se.aSlot);
    free(se.aStack);
    if (se.bOverflow || se.bNoMem) {
        if (se.bOverflow) {
            struct orr_mark at = {file, t->tableLine, t->tableCol};
            orr_diag_error(d, &at, NULL,
                           "test %s has more than %llu %s states: too large to judge against "
                           "the reference model (fewer threads or instructions, or a larger "
                           "bound: --max-states)", t->name, (unsigned long long)se.maxStates,
                           litmus_model_name(m));
        }
        litmus_verdict_free(v);
        return se.bOverflow ? ORR_ERANGE : ORR_ENOMEM;
    }
    qsort(v->aFinal, v->nFinal, sizeof *v->aFinal, final_cmp);
    for (size_t i = 0; i < v->nFinal; i++) {
        v->nPositive += v->aFinal[i].positive;
        v->bAllowed |= v->aFinal[i].witness;
    }
    return 0;
}

const struct litmus_final *litmus_verdict_find(const struct litmus_verdict *v, const char *text)
{
    struct litmus_final key = {(char *)text, false, false};
    return v->nFinal ? bsearch(&key, v->aFinal, v->nFinal, sizeof key, final_cmp) : NULL;
}

const char *litmus_observation(uint64_t nPositive, uint64_t nNegative)
{
    return nPositive == 0 ? "Never" : nNegative == 0 ? "Always" : "Sometimes";
}

const char *litmus_quant_kind(const struct litmus_test *t)
{
    return t->quant == LITMUS_EXISTS       ? "Allowed"
           : t->quant == LITMUS_NOT_EXISTS ? "Forbidden"
                                           : "Required";
}

int litmus_check_expectation(const struct litmus_test *t, const struct litmus_verdict *tso,
                             const char *file, struct orr_diag *d)
{
    if (t->tso == LITMUS_TSO_UNSTATED || (t->tso == LITMUS_TSO_ALLOWED) == tso->bAllowed)
        return 0;
    struct orr_mark at = {file, t->expectLine, t->expectCol};
    if (tso->bAllowed) {
        const char *example = "";
        for (size_t i = 0; i < tso->nFinal && !*example; i++)
            if (tso->aFinal[i].witness)
                example = tso->aFinal[i].text;
        orr_diag_error(d, &at, NULL,
                       "the orrery comment says tso=forbidden, but the x86-TSO model allows "
                       "the outcome: %s", example);
    } else {
        orr_diag_error(d, &at, NULL,
                       "the orrery comment says tso=allowed, but the x86-TSO model forbids the "
                       "outcome (none of its %zu final outcomes is one)", tso->nFinal);
    }
    return ORR_EPARSE;
}
