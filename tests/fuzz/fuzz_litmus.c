/* libFuzzer target for workloads/litmus.h: any bytes either parse into a test
 * within every limit, whose threads then run to completion through the
 * interpreter and whose condition evaluates and prints, or give exactly one
 * error carrying a line and column. A parsed test then goes through the
 * reference models (litmus_model.h) under a small state bound: each gives a
 * verdict or one positioned error, every SC outcome is an x86-TSO outcome,
 * and the round-robin run's outcome is an SC one. Seeds: the catalogue,
 * tests/litmus/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "workloads/litmus.h"
#include "workloads/litmus_model.h"

#define FUZZ_MAX_STATES 20000 /* keeps one input to milliseconds */

static uint64_t fuzz_mem(void *ctx, unsigned loc, uint64_t addr)
{
    (void)addr;
    return ((const uint32_t *)ctx)[loc];
}

static unsigned loc_of(const struct litmus_test *t, uint64_t addr)
{
    if (addr < 4096 || (addr - 4096) % 64 || (addr - 4096) / 64 >= t->nLoc)
        abort();
    return (unsigned)((addr - 4096) / 64);
}

/* Round-robin the threads over a sequentially consistent memory; the
 * outcome into out (512 bytes). */
static void run(const struct litmus_test *t, char *out)
{
    struct litmus_thread_state aTh[LITMUS_MAX_THREADS];
    uint32_t aMem[LITMUS_MAX_LOCS];
    uint64_t aReg[LITMUS_MAX_THREADS * LITMUS_NREG];
    for (unsigned l = 0; l < t->nLoc; l++)
        aMem[l] = t->aLoc[l].init;
    for (unsigned th = 0; th < t->nThread; th++)
        litmus_thread_init(&aTh[th], t, th);
    for (unsigned live = t->nThread, step = 0; live; step++) {
        if (step > LITMUS_MAX_THREADS * LITMUS_MAX_INSNS * 2)
            abort(); /* every program is straight-line */
        live = 0;
        for (unsigned th = 0; th < t->nThread; th++) {
            struct memop op;
            enum memgen_status st = litmus_thread_next(&aTh[th], &op);
            if (st == MEMGEN_DONE)
                continue;
            live++;
            if (st != MEMGEN_OP || op.op == ORR_OP_COMPUTE)
                abort();
            if (op.op == ORR_OP_FENCE)
                continue;
            uint32_t *w = &aMem[loc_of(t, op.addr)], old = *w;
            if (op.op != ORR_OP_LOAD)
                *w = op.op == ORR_OP_FAA   ? old + (uint32_t)op.val
                     : op.op == ORR_OP_CAS ? (old == op.expect ? (uint32_t)op.val : old)
                                           : (uint32_t)op.val;
            if (op.op != ORR_OP_STORE) {
                if (litmus_thread_next(&aTh[th], &op) != MEMGEN_WAIT)
                    abort();
                litmus_thread_result(&aTh[th], old);
            }
        }
    }
    for (unsigned th = 0; th < t->nThread; th++)
        memcpy(&aReg[th * LITMUS_NREG], aTh[th].aReg, sizeof aTh[th].aReg);
    bool holds = litmus_eval(t, aReg, fuzz_mem, aMem);
    if (litmus_witness(t, aReg, fuzz_mem, aMem) != (holds != (t->quant == LITMUS_FORALL)))
        abort();
    size_t n = litmus_outcome(t, aReg, fuzz_mem, aMem, out, 512);
    if (n >= 512 || strlen(out) != n)
        abort();
}

/* One model's verdict, or its one positioned error; false on the error. */
static bool judge(const struct litmus_test *t, enum litmus_model m, struct litmus_verdict *v)
{
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = litmus_model_run(t, m, FUZZ_MAX_STATES, "fuzz.litmus", v, &d);
    if (rc == 0 && (d.nMsg || v->nFinal == 0))
        abort();
    if (rc && (rc != ORR_ERANGE || d.nMsg != 1 || d.aMsg[0].mark.line == 0 || v->nFinal))
        abort();
    orr_diag_free(&d);
    return rc == 0;
}

static void check_models(const struct litmus_test *t, const char *rr)
{
    struct litmus_verdict tso, sc;
    bool bTso = judge(t, LITMUS_MODEL_TSO, &tso), bSc = judge(t, LITMUS_MODEL_SC, &sc);
    if (bSc && !litmus_verdict_find(&sc, rr))
        abort(); /* the round-robin run is one SC execution */
    for (size_t i = 0; bTso && bSc && i < sc.nFinal; i++)
        if (!litmus_verdict_find(&tso, sc.aFinal[i].text))
            abort(); /* TSO only adds behaviours */
    litmus_verdict_free(&tso);
    litmus_verdict_free(&sc);
}

static void check_limits(const struct litmus_test *t)
{
    if (t->nThread < 1 || t->nThread > LITMUS_MAX_THREADS || t->nLoc > LITMUS_MAX_LOCS ||
        t->nCond < 1 || t->nCond > LITMUS_MAX_COND || t->root >= t->nCond || !t->name[0])
        abort();
    for (unsigned th = 0; th < t->nThread; th++)
        if (t->aThread[th].nInsn > LITMUS_MAX_INSNS)
            abort();
    for (unsigned l = 1; l < t->nLoc; l++)
        if (strcmp(t->aLoc[l - 1].name, t->aLoc[l].name) >= 0)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct litmus_test *t = malloc(sizeof *t);
    if (!t)
        return 0;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = litmus_parse(t, "fuzz.litmus", (const char *)data, size, 4096, &d);
    if (rc == 0) {
        if (orr_diag_count(&d))
            abort();
        check_limits(t);
        char rr[512];
        run(t, rr);
        check_models(t, rr);
    } else if (rc != ORR_EPARSE || d.nMsg != 1 || d.aMsg[0].mark.line == 0 ||
               d.aMsg[0].mark.col == 0 || !d.aMsg[0].text[0]) {
        abort();
    }
    orr_diag_free(&d);
    free(t);
    return 0;
}
