/* Reference verdicts for litmus tests (workloads/litmus.h): every execution
 * of a test on an abstract machine, explored exhaustively, and the set of
 * final outcomes it can end in — what herd7 prints as "States" for a model.
 *
 * Two models, both driving the threads through the same interpreter the
 * cores use (litmus_thread_next/result):
 *
 *   SC       one memory; every operation is performed at once, threads
 *            interleave in any order (Lamport's sequential consistency).
 *   x86-TSO  the abstract machine of Owens, Sarkar and Sewell, "A better
 *            x86 memory model: x86-TSO" (TPHOLs 2009): each thread has a
 *            FIFO store buffer; a store enters it, and the oldest buffered
 *            store may reach memory at any later step; a load reads the
 *            youngest buffered store to its location (forwarding) or
 *            memory; MFENCE and every locked instruction (XCHG, LOCK
 *            XADD/CMPXCHG/ADD/INC — a LOCK CMPXCHG that fails included)
 *            wait until the thread's buffer is empty, and a locked
 *            instruction's read and write are one step.
 *
 * The search visits each distinct machine state once (a state is the
 * threads' program counters and registers, their store buffers and
 * memory), keyed by its 128-bit XXH3 fingerprint; a search that would
 * visit more than max_states states stops with ORR_ERANGE and a message
 * positioned at the test's thread table. Cost: O(states x threads) time,
 * 16 bytes of table per state (at most 2x that with the table's slack). */
#ifndef ORRERY_WORKLOADS_LITMUS_MODEL_H
#define ORRERY_WORKLOADS_LITMUS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/diag.h"
#include "workloads/litmus.h"

enum litmus_model { LITMUS_MODEL_SC, LITMUS_MODEL_TSO };

/* Default bound on distinct states per model (a few hundred MiB at most;
 * the whole catalogue needs under ten thousand). */
#define LITMUS_MODEL_MAX_STATES UINT64_C(2000000)

/* One final outcome the model allows: litmus_outcome()'s text (the
 * registers and locations the condition mentions), whether the
 * condition's proposition holds in it, and whether it is a witness
 * (litmus_witness: the proposition holds for exists/~exists, fails for
 * forall). */
struct litmus_final {
    char *text;
    bool positive, witness;
};

struct litmus_verdict {
    enum litmus_model model;
    uint64_t nState;            /* distinct states visited */
    size_t nFinal;              /* distinct final outcomes */
    struct litmus_final *aFinal; /* sorted by text (strcmp) */
    size_t nPositive;           /* outcomes where the proposition holds */
    bool bAllowed;              /* some outcome is a witness: the model allows it */
};

/* Explore every execution of t under model m, visiting at most maxStates
 * distinct states (0: LITMUS_MODEL_MAX_STATES). Returns 0 and fills *v
 * (free it with litmus_verdict_free), or ORR_ERANGE (the bound, reported
 * in d at file:tableLine:tableCol) or ORR_ENOMEM; *v is empty then. */
int litmus_model_run(const struct litmus_test *t, enum litmus_model m, uint64_t maxStates,
                     const char *file, struct litmus_verdict *v, struct orr_diag *d);
void litmus_verdict_free(struct litmus_verdict *v);

/* The final outcome with this text, or NULL if the model does not allow it. */
const struct litmus_final *litmus_verdict_find(const struct litmus_verdict *v, const char *text);

/* herd7's word for a set of outcomes: "Never" (no positive), "Always"
 * (no negative), "Sometimes". */
const char *litmus_observation(uint64_t nPositive, uint64_t nNegative);
/* herd7's word for the condition's quantifier: "Allowed" (exists),
 * "Forbidden" (~exists), "Required" (forall). */
const char *litmus_quant_kind(const struct litmus_test *t);
const char *litmus_model_name(enum litmus_model m); /* "SC", "x86-TSO" */

/* The orrery comment against the TSO verdict: 0 if there is none or it
 * agrees; otherwise ORR_EPARSE with a message at the comment's position
 * (file:expectLine:expectCol) saying what the model found. */
int litmus_check_expectation(const struct litmus_test *t, const struct litmus_verdict *tso,
                             const char *file, struct orr_diag *d);

#endif
