/* Litmus tests in the herd7 x86 format: a parser (with file:line:col errors
 * for every malformed input), a per-thread interpreter that turns a thread's
 * program into memory operations for a core model (the memgen.h protocol),
 * and the final condition as an evaluable tree with a canonical outcome
 * string for histograms. Format subset and catalogue: docs/litmus.md.
 *
 * A test is a fixed-size value (no heap): at most LITMUS_MAX_THREADS threads
 * of LITMUS_MAX_INSNS instructions over LITMUS_MAX_LOCS locations. Location
 * i (in name order) lives alone in the 64-byte line at base + 64*i. Values
 * are 32-bit, as EAX is: memory operations are 4 bytes wide. */
#ifndef ORRERY_WORKLOADS_LITMUS_H
#define ORRERY_WORKLOADS_LITMUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/diag.h"
#include "workloads/memgen.h"

#define LITMUS_MAX_THREADS 8
#define LITMUS_MAX_INSNS 64
#define LITMUS_MAX_LOCS 16
#define LITMUS_MAX_COND 64 /* nodes of the final condition */
#define LITMUS_NAME_MAX 64 /* test and location names, including the NUL */
#define LITMUS_DOC_MAX 256
#define LITMUS_MAX_FILE (1u << 20)

enum litmus_reg { LITMUS_EAX, LITMUS_EBX, LITMUS_ECX, LITMUS_EDX, LITMUS_ESI, LITMUS_EDI,
                  LITMUS_NREG };

enum litmus_insn_kind {
    LITMUS_STORE,   /* MOV [x],$imm | MOV [x],REG               STORE */
    LITMUS_LOAD,    /* MOV REG,[x]                               LOAD, REG = value */
    LITMUS_MOV,     /* MOV REG,$imm | MOV REG,REG                no memory */
    LITMUS_MFENCE,  /* MFENCE                                    FENCE */
    LITMUS_XCHG,    /* XCHG [x],REG | XCHG REG,[x]              SWAP, REG = old */
    LITMUS_XADD,    /* LOCK XADD [x],REG                         FAA, REG = old */
    LITMUS_CMPXCHG, /* LOCK CMPXCHG [x],REG  CAS(expect EAX, desired REG), EAX = old */
    LITMUS_ADD,     /* LOCK ADD [x],$imm|REG, LOCK INC [x]       FAA, old value dropped */
};

struct litmus_insn {
    uint8_t kind;     /* enum litmus_insn_kind */
    uint8_t reg;      /* destination register (LOAD, MOV, XCHG, XADD, CMPXCHG's source) */
    uint8_t loc;      /* location index (memory instructions) */
    bool bSrcReg;     /* STORE, MOV, ADD: the value is register src, else imm */
    uint8_t src;
    uint32_t imm;
    uint32_t line;    /* where it is written */
};

struct litmus_loc {
    char name[LITMUS_NAME_MAX];
    uint64_t addr;
    uint32_t init;
};

struct litmus_thread {
    unsigned nInsn;
    struct litmus_insn aInsn[LITMUS_MAX_INSNS];
    uint32_t aInit[LITMUS_NREG]; /* initial register values */
    uint8_t initMask;            /* bit r: the initial state names register r */
};

enum litmus_quant { LITMUS_EXISTS, LITMUS_NOT_EXISTS, LITMUS_FORALL };

enum litmus_cond_kind { LITMUS_C_TRUE, LITMUS_C_FALSE, LITMUS_C_REG, LITMUS_C_LOC, LITMUS_C_NOT,
                        LITMUS_C_AND, LITMUS_C_OR };

/* A node of the condition: REG is thread:reg = value, LOC is loc = value;
 * NOT has child a, AND/OR children a and b (indices into aCond). */
struct litmus_cond {
    uint8_t kind, thread, reg, loc, a, b;
    uint32_t value;
};

/* The orrery expectation comment: (* orrery: tso=allowed observed=required *) */
enum litmus_tso { LITMUS_TSO_UNSTATED, LITMUS_TSO_ALLOWED, LITMUS_TSO_FORBIDDEN };
enum litmus_observed { LITMUS_OBS_OPTIONAL, LITMUS_OBS_REQUIRED, LITMUS_OBS_NEVER };

struct litmus_test {
    char name[LITMUS_NAME_MAX];
    char doc[LITMUS_DOC_MAX];   /* the quoted line, "" if none */
    unsigned nThread;
    struct litmus_thread aThread[LITMUS_MAX_THREADS];
    unsigned nLoc;
    struct litmus_loc aLoc[LITMUS_MAX_LOCS]; /* sorted by name */
    enum litmus_quant quant;
    unsigned nCond, root;
    struct litmus_cond aCond[LITMUS_MAX_COND];
    enum litmus_tso tso;
    enum litmus_observed observed;
    /* where things are written, for messages about the test as a whole:
     * the thread table's header (" P0 | ..."), the orrery comment (line 0
     * when there is none) */
    uint32_t tableLine, tableCol, expectLine, expectCol;
};

/* Parse text (len bytes, NULs allowed and rejected) named file in messages;
 * a condition term N:REG must name a register thread N writes (or the
 * initial state sets);
 * locations get lines from base (a multiple of 64). Returns 0, or ORR_EPARSE
 * with one positioned message in d ("file:line:col: error: expected ...,
 * got ..."). *t is fully written either way. */
int litmus_parse(struct litmus_test *t, const char *file, const char *text, size_t len,
                 uint64_t base, struct orr_diag *d);
/* Read and parse a file (at most LITMUS_MAX_FILE bytes); ORR_EIO if it
 * cannot be read. */
int litmus_load(struct litmus_test *t, const char *path, uint64_t base, struct orr_diag *d);

/* One thread of a test, run by a core like a memgen generator:
 * litmus_thread_next() performs register moves itself and returns the next
 * memory operation, MEMGEN_WAIT until litmus_thread_result() delivers the
 * value of the last LOAD/SWAP/FAA/CAS (every one is waited for), or
 * MEMGEN_DONE. aReg holds the registers; after DONE they are final. */
struct litmus_thread_state {
    const struct litmus_test *t;
    unsigned tid, pc;
    bool bWaiting;
    uint64_t aReg[LITMUS_NREG];
};

void litmus_thread_init(struct litmus_thread_state *s, const struct litmus_test *t, unsigned tid);
enum memgen_status litmus_thread_next(struct litmus_thread_state *s, struct memop *out);
void litmus_thread_result(struct litmus_thread_state *s, uint64_t value);

/* Final memory: the value of location loc (at addr) after every thread is
 * done and every store has drained. */
typedef uint64_t (*litmus_mem_fn)(void *ctx, unsigned loc, uint64_t addr);

/* The condition's proposition (not its quantifier) over final registers
 * aReg[tid * LITMUS_NREG + reg] and memory. */
bool litmus_eval(const struct litmus_test *t, const uint64_t *aReg, litmus_mem_fn mem, void *ctx);
/* Whether this final state is the one the expectation is about: the
 * condition holds (exists, ~exists) or fails (forall: a counterexample). */
bool litmus_witness(const struct litmus_test *t, const uint64_t *aReg, litmus_mem_fn mem,
                    void *ctx);
/* "0:EAX=0; 1:EAX=1; x=1;" over the registers (thread, then register
 * order) and locations (name order) the condition mentions; values as
 * signed 32-bit. Returns the length it needs (snprintf-style). */
size_t litmus_outcome(const struct litmus_test *t, const uint64_t *aReg, litmus_mem_fn mem,
                      void *ctx, char *buf, size_t n);
/* The expectation against nWitness witnesses in nRun runs: tso=forbidden
 * needs none, observed=required at least one; an unstated one always holds. */
bool litmus_expect_met(const struct litmus_test *t, uint64_t nRun, uint64_t nWitness);

const char *litmus_reg_name(unsigned reg); /* "EAX" ... */

#endif
