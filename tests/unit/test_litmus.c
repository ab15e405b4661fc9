/* Litmus tests: every catalogue file parses, and its orrery expectation is
 * checked against an exhaustive x86-TSO model (per-thread FIFO store buffers,
 * locked instructions and MFENCE drain them) driven through the thread
 * interpreter — and every relaxed outcome is also checked to be impossible
 * under sequential consistency, so each test really probes a relaxation.
 * Then: condition evaluation and outcome strings against hand-given values,
 * the interpreter's register flow, and malformed inputs with their exact
 * file:line:col messages. */
#define _POSIX_C_SOURCE 200809L /* scandir, alphasort */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "testutil.h"
#include "workloads/litmus.h"
#include "workloads/litmus_model.h"

#define BASE 0x10000

static void parse_ok(struct litmus_test *t, const char *text)
{
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = litmus_parse(t, "t.litmus", text, strlen(text), BASE, &d);
    if (rc)
        orr_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    orr_diag_free(&d);
}

/* ---- an exhaustive x86-TSO / SC explorer -------------------------------- */

/* Buffered stores per thread this explorer has room for: the catalogue's
 * threads store at most a few times, and a small state is cheap to copy
 * at every step of the search (a test that needs more fails loudly). */
#define SB_ROOM 8
struct sbuf_entry { unsigned loc; uint32_t val; };
struct tso_state {
    struct litmus_thread_state aTh[LITMUS_MAX_THREADS];
    uint32_t aMem[LITMUS_MAX_LOCS];
    unsigned aN[LITMUS_MAX_THREADS]; /* store buffer occupancy */
    struct sbuf_entry aBuf[LITMUS_MAX_THREADS][SB_ROOM];
};

struct explore {
    const struct litmus_test *t;
    bool bSC;                 /* stores go straight to memory */
    uint64_t nFinal, nWitness;
    /* states already explored, by a hash of their bytes (0: empty slot):
     * each is expanded once, so 4.SB costs a thousand states, not six
     * million paths */
    uint64_t *aSeen;
    size_t nSeen, capSeen;
};

/* FNV-1a over the state's bytes (never 0). */
static uint64_t state_hash(const struct tso_state *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < sizeof *s; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h ? h : 1;
}

/* Whether s is new (and now seen). */
static bool first_visit(struct explore *e, const struct tso_state *s)
{
    if (2 * (e->nSeen + 1) > e->capSeen) {
        size_t cap = e->capSeen ? 2 * e->capSeen : 4096;
        uint64_t *a = calloc(cap, sizeof *a);
        assert_non_null(a);
        for (size_t i = 0; i < e->capSeen; i++)
            if (e->aSeen[i]) {
                size_t k = e->aSeen[i] & (cap - 1);
                while (a[k])
                    k = (k + 1) & (cap - 1);
                a[k] = e->aSeen[i];
            }
        free(e->aSeen);
        e->aSeen = a, e->capSeen = cap;
    }
    uint64_t h = state_hash(s);
    size_t k = h & (e->capSeen - 1);
    for (; e->aSeen[k]; k = (k + 1) & (e->capSeen - 1))
        if (e->aSeen[k] == h)
            return false;
    e->aSeen[k] = h;
    e->nSeen++;
    return true;
}

static unsigned loc_of(const struct litmus_test *t, uint64_t addr)
{
    assert_true(addr >= BASE && (addr - BASE) % 64 == 0);
    unsigned l = (unsigned)((addr - BASE) / 64);
    assert_true(l < t->nLoc);
    return l;
}

static uint64_t final_mem(void *ctx, unsigned loc, uint64_t addr)
{
    (void)addr;
    return ((const struct tso_state *)ctx)->aMem[loc];
}

static uint32_t tso_read(const struct tso_state *s, unsigned th, unsigned loc)
{
    for (unsigned k = s->aN[th]; k-- > 0;) /* the newest buffered store forwards */
        if (s->aBuf[th][k].loc == loc)
            return s->aBuf[th][k].val;
    return s->aMem[loc];
}

/* Let thread th perform its next operation in s; false if it cannot now. */
static bool tso_issue(struct explore *e, struct tso_state *s, unsigned th)
{
    struct memop op;
    enum memgen_status st = litmus_thread_next(&s->aTh[th], &op);
    assert_int_not_equal(st, MEMGEN_WAIT); /* results are delivered at once */
    if (st == MEMGEN_DONE)
        return false;
    bool locked = op.op != ORR_OP_LOAD && op.op != ORR_OP_STORE;
    if (locked && s->aN[th]) /* MFENCE and locked instructions drain first */
        return false;
    if (op.op == ORR_OP_FENCE)
        return true;
    assert_int_equal(op.size, 4);
    unsigned loc = loc_of(e->t, op.addr);
    uint32_t old = tso_read(s, th, loc);
    switch (op.op) {
    case ORR_OP_STORE:
        if (e->bSC)
            s->aMem[loc] = (uint32_t)op.val;
        else {
            assert_true(s->aN[th] < SB_ROOM);
            s->aBuf[th][s->aN[th]++] = (struct sbuf_entry){loc, (uint32_t)op.val};
        }
        return true;
    case ORR_OP_LOAD: break;
    case ORR_OP_SWAP: s->aMem[loc] = (uint32_t)op.val; break;
    case ORR_OP_FAA: s->aMem[loc] = old + (uint32_t)op.val; break;
    case ORR_OP_CAS: if (old == op.expect) s->aMem[loc] = (uint32_t)op.val; break;
    default: fail();
    }
    litmus_thread_result(&s->aTh[th], old);
    return true;
}

static void tso_final(struct explore *e, const struct tso_state *s)
{
    uint64_t aReg[LITMUS_MAX_THREADS * LITMUS_NREG] = {0};
    for (unsigned th = 0; th < e->t->nThread; th++)
        memcpy(&aReg[th * LITMUS_NREG], s->aTh[th].aReg, sizeof s->aTh[th].aReg);
    e->nFinal++;
    e->nWitness += litmus_witness(e->t, aReg, final_mem, (void *)s);
}

static void tso_explore(struct explore *e, const struct tso_state *s)
{
    if (!first_visit(e, s))
        return;
    bool any = false;
    for (unsigned th = 0; th < e->t->nThread; th++) {
        struct tso_state next = *s;
        if (tso_issue(e, &next, th)) {
            any = true;
            tso_explore(e, &next);
        }
        if (s->aN[th]) { /* the oldest buffered store reaches memory */
            next = *s;
            next.aMem[next.aBuf[th][0].loc] = next.aBuf[th][0].val;
            memmove(&next.aBuf[th][0], &next.aBuf[th][1], --next.aN[th] * sizeof next.aBuf[th][0]);
            next.aBuf[th][next.aN[th]] = (struct sbuf_entry){0, 0}; /* equal states, equal bytes */
            any = true;
            tso_explore(e, &next);
        }
    }
    if (!any)
        tso_final(e, s);
}

static uint64_t witnesses(const struct litmus_test *t, bool bSC, uint64_t *nFinal)
{
    struct explore e = {t, bSC, 0, 0, NULL, 0, 0};
    struct tso_state *s = calloc(1, sizeof *s);
    assert_non_null(s);
    for (unsigned th = 0; th < t->nThread; th++)
        litmus_thread_init(&s->aTh[th], t, th);
    for (unsigned l = 0; l < t->nLoc; l++)
        s->aMem[l] = t->aLoc[l].init;
    tso_explore(&e, s);
    free(s);
    free(e.aSeen);
    *nFinal = e.nFinal;
    return e.nWitness;
}

/* ---- the catalogue ----------------------------------------------------------- */

/* What x86-TSO says about each catalogue test's outcome, written down by
 * hand from the published results — not computed by anything under test:
 * Owens, Sarkar and Sewell, "A better x86 memory model: x86-TSO" (2009) and
 * the herdtools7 x86 catalogue's Allow/Forbid lists for the diy shapes.
 * The only relaxation is a store waiting in its FIFO buffer past a later
 * load (PodWR, with forwarding: Rfi); MFENCE and locked instructions
 * (a failing LOCK CMPXCHG too) restore order; coherence and atomicity
 * hold. A new catalogue file needs its line here. */
static const struct {
    const char *name;
    bool bAllowed;
} aPublished[] = {
    {"2+2W", false}, {"3.2W", false}, {"3.LB", false}, {"3.SB", true},
    {"3.SB+mfences", false}, {"4.SB", true}, {"CMPXCHG-mutex", false}, {"CoRR", false},
    {"CoRR2", false}, {"CoRW2", false}, {"CoWR", false}, {"CoWW", false},
    {"INC-atomic", false}, {"IRIW", false}, {"IRIW+mfences", false}, {"IRIW+po+mfence", false},
    {"IRIW+xchgs", false}, {"IRRWIW", false}, {"ISA2", false}, {"LB", false},
    {"LB+mfences", false}, {"MP", false}, {"MP+mfences", false}, {"MP+po+mfence", false},
    {"R", true}, {"R+mfence+po", true}, {"R+mfences", false}, {"R+po+mfence", false},
    {"R+po+xchg", false}, {"RWC", true}, {"RWC+mfence+po", true}, {"RWC+mfences", false},
    {"RWC+po+mfence", false}, {"RWC+po+rfi-po", true}, {"S", false}, {"SB", true},
    {"SB+cmpxchg-fails", false}, {"SB+lockadds", false}, {"SB+mfence+po", true},
    {"SB+mfences", false}, {"SB+rfi-pos", true}, {"SB+xchg+po", true},
    {"SB+xchgs", false}, {"W+RWC", true}, {"W+RWC+po+po+mfence", false}, {"WRC", false},
    {"WRC+mfences", false}, {"WRR+2W", false}, {"WRW+WR", true}, {"WRW+WR+po+mfence", false},
    {"WRW+WR+po+rfi-po", true}, {"WWC", false}, {"XADD-atomic", false}, {"INC-count", false},
};
#define N_PUBLISHED (sizeof aPublished / sizeof aPublished[0])

/* The published verdict of test name; fails the test if there is none. */
static bool published(const char *name)
{
    for (size_t k = 0; k < N_PUBLISHED; k++)
        if (strcmp(aPublished[k].name, name) == 0)
            return aPublished[k].bAllowed;
    print_error("catalogue test %s has no published verdict in test_litmus.c\n", name);
    fail();
    return false;
}

/* One catalogue file against the published verdict, by this file's own
 * explorer and by the product's model (litmus_model.h); an orrery comment,
 * where there is one, must agree too. */
static void check_catalogue_test(const struct litmus_test *t, const char *path)
{
    bool bAllowed = published(t->name);
    uint64_t nFinal, nFinalSC;
    uint64_t nTSO = witnesses(t, false, &nFinal), nSC = witnesses(t, true, &nFinalSC);
    printf("  %-20s %u threads  published %-9s  TSO: %6llu of %7llu final states  SC: %llu of "
           "%llu\n", t->name, t->nThread, bAllowed ? "allowed" : "forbidden",
           (unsigned long long)nTSO, (unsigned long long)nFinal, (unsigned long long)nSC,
           (unsigned long long)nFinalSC);
    assert_true(nFinal > 0);
    assert_int_equal(nSC, 0); /* every test probes a relaxation or a guarantee SC has too */
    assert_int_equal(nTSO > 0, bAllowed);
    if (t->tso != LITMUS_TSO_UNSTATED) {
        assert_int_equal(t->tso == LITMUS_TSO_ALLOWED, bAllowed);
        assert_true(litmus_expect_met(t, nFinal, nTSO));
    }
    struct litmus_verdict tso, sc;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(litmus_model_run(t, LITMUS_MODEL_TSO, 0, path, &tso, &d), 0);
    assert_int_equal(litmus_model_run(t, LITMUS_MODEL_SC, 0, path, &sc, &d), 0);
    assert_int_equal(tso.bAllowed, bAllowed);
    assert_false(sc.bAllowed);
    assert_int_equal(litmus_check_expectation(t, &tso, path, &d), 0);
    assert_int_equal(d.nMsg, 0);
    litmus_verdict_free(&tso);
    litmus_verdict_free(&sc);
    orr_diag_free(&d);
}

static void test_catalogue(void **state)
{
    (void)state;
    const char *src = getenv("ORRERY_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/litmus", src ? src : ".");
    struct dirent **aEnt;
    int nEnt = scandir(dir, &aEnt, NULL, alphasort); /* name order: stable output */
    assert_true(nEnt >= 0);
    bool aFound[N_PUBLISHED] = {false};
    unsigned nFile = 0;
    for (int e = 0; e < nEnt; e++) {
        const struct dirent *de = aEnt[e];
        size_t n = strlen(de->d_name);
        if (n < 8 || strcmp(de->d_name + n - 7, ".litmus") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct litmus_test t;
        struct orr_diag d;
        orr_diag_init(&d);
        int rc = litmus_load(&t, path, BASE, &d);
        if (rc)
            orr_diag_print(&d, stderr);
        assert_int_equal(rc, 0);
        orr_diag_free(&d);
        nFile++;
        /* the file is named after the test */
        assert_int_equal(strlen(t.name), n - 7);
        assert_memory_equal(t.name, de->d_name, n - 7);
        for (size_t k = 0; k < N_PUBLISHED; k++)
            aFound[k] |= strcmp(t.name, aPublished[k].name) == 0;
        check_catalogue_test(&t, path);
    }
    for (int e = 0; e < nEnt; e++)
        free(aEnt[e]);
    free(aEnt);
    for (size_t k = 0; k < N_PUBLISHED; k++) { /* every verdict has its file */
        if (!aFound[k])
            print_error("missing catalogue test %s\n", aPublished[k].name);
        assert_true(aFound[k]);
    }
    assert_int_equal(nFile, N_PUBLISHED);
}

/* ---- structure, evaluation, outcome strings ---------------------------------- */

static const char sb_text[] = "X86 SB\n"
                              "\"Fre PodWR Fre PodWR\"\n"
                              "(* orrery: tso=allowed observed=required *)\n"
                              "{ y=0; x=0; }\n"
                              " P0          | P1          ;\n"
                              " MOV [y],$1  | MOV [x],$1  ;\n"
                              " MOV EAX,[x] | MOV EAX,[y] ;\n"
                              "exists (0:EAX=0 /\\ 1:EAX=0)\n";

static uint64_t mem_table(void *ctx, unsigned loc, uint64_t addr)
{
    (void)addr;
    return ((const uint64_t *)ctx)[loc];
}

static void test_structure(void **state)
{
    (void)state;
    struct litmus_test t;
    parse_ok(&t, sb_text);
    assert_string_equal(t.name, "SB");
    assert_string_equal(t.doc, "Fre PodWR Fre PodWR");
    assert_int_equal(t.nThread, 2);
    assert_int_equal(t.nLoc, 2); /* in name order, one line each */
    assert_string_equal(t.aLoc[0].name, "x");
    assert_int_equal(t.aLoc[0].addr, BASE);
    assert_string_equal(t.aLoc[1].name, "y");
    assert_int_equal(t.aLoc[1].addr, BASE + 64);
    const struct litmus_insn *in = t.aThread[0].aInsn;
    assert_int_equal(t.aThread[0].nInsn, 2);
    assert_int_equal(in[0].kind, LITMUS_STORE);
    assert_int_equal(in[0].loc, 1);
    assert_int_equal(in[0].imm, 1);
    assert_int_equal(in[1].kind, LITMUS_LOAD);
    assert_int_equal(in[1].loc, 0);
    assert_int_equal(in[1].reg, LITMUS_EAX);
    assert_int_equal(in[1].line, 7);
    assert_int_equal(t.quant, LITMUS_EXISTS);
    assert_int_equal(t.tso, LITMUS_TSO_ALLOWED);
    assert_int_equal(t.observed, LITMUS_OBS_REQUIRED);
    assert_false(litmus_expect_met(&t, 100, 0));
    assert_true(litmus_expect_met(&t, 100, 1));

    uint64_t aMem[2] = {1, 1}, aReg[2 * LITMUS_NREG] = {0};
    assert_true(litmus_eval(&t, aReg, mem_table, aMem));
    aReg[LITMUS_NREG + LITMUS_EAX] = 1;
    assert_false(litmus_eval(&t, aReg, mem_table, aMem));
    char buf[128];
    assert_int_equal(litmus_outcome(&t, aReg, mem_table, aMem, buf, sizeof buf),
                     strlen("0:EAX=0; 1:EAX=1;"));
    assert_string_equal(buf, "0:EAX=0; 1:EAX=1;");
    /* truncation is snprintf-like */
    assert_int_equal(litmus_outcome(&t, aReg, mem_table, aMem, buf, 5), 17);
    assert_string_equal(buf, "0:EA");
}

/* A condition over every kind of term and connective. */
static void test_eval_conditions(void **state)
{
    (void)state;
    struct litmus_test t;
    parse_ok(&t, "X86 C\n{ 0:EAX=0; }\n P0 | P1 ;\n MOV [b],$1 | MOV EBX,[a] ;\n"
                 "forall (~0:EAX=1 \\/ b=-1 /\\ [a]=2 \\/ (1:EBX=0x10 /\\ true)) (* end *)\n");
    assert_int_equal(t.quant, LITMUS_FORALL);
    assert_int_equal(t.tso, LITMUS_TSO_UNSTATED);
    assert_true(litmus_expect_met(&t, 1, 1));
    uint64_t aReg[2 * LITMUS_NREG] = {0}, aMem[2] = {0, 0}; /* a, b */
    char buf[128];
    /* ~0:EAX=1 holds */
    assert_true(litmus_eval(&t, aReg, mem_table, aMem));
    assert_false(litmus_witness(&t, aReg, mem_table, aMem));
    aReg[LITMUS_EAX] = 1;
    assert_false(litmus_eval(&t, aReg, mem_table, aMem));
    assert_true(litmus_witness(&t, aReg, mem_table, aMem)); /* a forall counterexample */
    aMem[0] = 2, aMem[1] = 0xFFFFFFFF; /* /\ binds tighter than \/ */
    assert_true(litmus_eval(&t, aReg, mem_table, aMem));
    aMem[1] = 0;
    assert_false(litmus_eval(&t, aReg, mem_table, aMem));
    aReg[LITMUS_NREG + LITMUS_EBX] = 16;
    assert_true(litmus_eval(&t, aReg, mem_table, aMem));
    litmus_outcome(&t, aReg, mem_table, aMem, buf, sizeof buf);
    assert_string_equal(buf, "0:EAX=1; 1:EBX=16; a=2; b=0;");
    aMem[1] = 0xFFFFFFFF;
    litmus_outcome(&t, aReg, mem_table, aMem, buf, sizeof buf);
    assert_string_equal(buf, "0:EAX=1; 1:EBX=16; a=2; b=-1;");

    parse_ok(&t, "X86 N\n{x=0;}\n P0 ;\n MOV [x],$1 ;\n~exists (x=1)\n");
    assert_int_equal(t.quant, LITMUS_NOT_EXISTS);
    aMem[0] = 1;
    assert_true(litmus_witness(&t, aReg, mem_table, aMem));
    parse_ok(&t, "X86 N\n{x=0;}\n P0 ;\n MOV [x],$1 ;\nexists ~~(false \\/ ~x=1)\n");
    assert_false(litmus_eval(&t, aReg, mem_table, aMem));
    litmus_outcome(&t, aReg, mem_table, aMem, buf, sizeof buf);
    assert_string_equal(buf, "x=1;");
}

/* Register flow through MOV, XCHG, XADD, CMPXCHG and LOCK ADD/INC, run
 * sequentially against a memory in this test. */
static void test_interpreter(void **state)
{
    (void)state;
    struct litmus_test t;
    parse_ok(&t, "X86 ALL\n{ x=5; y=7; 0:ESI=3; }\n P0 ;\n"
                 " mov eax,$9 ;\n MOV EBX,EAX ;\n XCHG EBX,[x] ;\n LOCK XADD [y],ESI ;\n"
                 " MOV EAX,$5 ;\n MOV ECX,$11 ;\n LOCK CMPXCHG [x],ECX ;\n LOCK CMPXCHG [y],ECX ;\n"
                 " LOCK INC [x] ;\n LOCK ADD [y],$-2 ;\n LOCK ADD [y],ESI ;\n MFENCE ;\n"
                 " MOV [z],EBX ;\n MOV EDI,[z] ;\n"
                 "exists (0:EAX=10)\n");
    uint32_t aMem[3] = {5, 7, 0}; /* x, y, z */
    struct litmus_thread_state s;
    litmus_thread_init(&s, &t, 0);
    assert_int_equal(s.aReg[LITMUS_ESI], 3);
    struct memop op;
    enum memgen_status st;
    unsigned nOp = 0, nFence = 0;
    while ((st = litmus_thread_next(&s, &op)) != MEMGEN_DONE) {
        assert_int_equal(st, MEMGEN_OP);
        nOp++;
        if (op.op == ORR_OP_FENCE) {
            nFence++;
            continue;
        }
        unsigned l = (unsigned)((op.addr - BASE) / 64);
        uint32_t old = aMem[l];
        switch (op.op) {
        case ORR_OP_STORE: aMem[l] = (uint32_t)op.val; continue;
        case ORR_OP_SWAP: aMem[l] = (uint32_t)op.val; break;
        case ORR_OP_FAA: aMem[l] = old + (uint32_t)op.val; break;
        case ORR_OP_CAS: if (old == op.expect) aMem[l] = (uint32_t)op.val; break;
        default: break;
        }
        assert_int_equal(litmus_thread_next(&s, &op), MEMGEN_WAIT);
        litmus_thread_result(&s, old);
    }
    assert_int_equal(nOp, 10);
    assert_int_equal(nFence, 1);
    /* XCHG: x=9, EBX=5; XADD: y=10, ESI=7; CMPXCHG x (9 != 5): EAX=9; CMPXCHG y
     * with EAX=9 (10 != 9): EAX=10; INC x=10; ADD y=8; ADD y += ESI(7) = 15 */
    assert_int_equal(s.aReg[LITMUS_EBX], 5);
    assert_int_equal(s.aReg[LITMUS_ESI], 7);
    assert_int_equal(s.aReg[LITMUS_EAX], 10);
    assert_int_equal(s.aReg[LITMUS_EDI], 5);
    assert_int_equal(aMem[0], 10);
    assert_int_equal(aMem[1], 15);
    assert_int_equal(aMem[2], 5);
    assert_string_equal(litmus_reg_name(LITMUS_EDI), "EDI");
}

/* herd's diy metadata lines and nested comments are accepted. */
static void test_herd_extras(void **state)
{
    (void)state;
    struct litmus_test t;
    parse_ok(&t, "(* leading (* nested *) comment *)\nX86 A+b.c\n\"doc\"\nCycle=Rfe Fre\n"
                 "Com=Rf Fr\n{\r\n x = 1 ; 0:EAX = -1\r\n}\r\n P0 ;\r\n ;\r\n MOV [x],$0 ;\n"
                 "exists(x=0)");
    assert_string_equal(t.name, "A+b.c");
    assert_int_equal(t.aLoc[0].init, 1);
    assert_int_equal(t.aThread[0].aInit[LITMUS_EAX], 0xFFFFFFFF);
    assert_int_equal(t.aThread[0].nInsn, 1);
}

/* ---- malformed inputs ------------------------------------------------------------ */

static void expect_error(const char *text, const char *want)
{
    struct litmus_test t;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(litmus_parse(&t, "t.litmus", text, strlen(text), BASE, &d), ORR_EPARSE);
    assert_int_equal(d.nMsg, 1);
    assert_diag(&d, 0, want);
    orr_diag_free(&d);
}

#define HEAD "X86 T\n{ x=0; }\n P0 | P1 ;\n"

static void test_errors(void **state)
{
    (void)state;
    expect_error("", "t.litmus:1:1: error: expected 'X86' and the test name, got end of file");
    expect_error("ARM SB\n", "t.litmus:1:1: error: expected 'X86' and the test name, got 'ARM' "
                             "(only x86 tests are supported)");
    expect_error("X86\n{}", "t.litmus:1:4: error: expected the test name after X86, got end of line");
    expect_error("X86 T\n\"unterminated\n",
                 "t.litmus:2:14: error: expected '\"' closing the doc string, got end of line");
    expect_error("X86 T\nP0 ;\n", "t.litmus:2:1: error: expected '{' starting the initial "
                                  "state, got 'P0'");
    expect_error("X86 T\n{ x=0 y=1 }\n",
                 "t.litmus:2:7: error: expected ';' or '}' after an initial value, got 'y'");
    expect_error("X86 T\n{ x=0; x=1; }\n", "t.litmus:2:8: error: 'x' is initialised twice");
    expect_error("X86 T\n{ 0:EZX=1; }\n", "t.litmus:2:5: error: expected a register (EAX, EBX, "
                                          "ECX, EDX, ESI, EDI), got 'EZX'");
    expect_error("X86 T\n{ 2:EAX=1; }\n P0 | P1 ;\n",
                 "t.litmus:2:1: error: the initial state names thread 2, but the table has 2");
    expect_error("X86 T\n{ }\n P0 | P2 ;\n",
                 "t.litmus:3:7: error: expected P1, got 'P2' (threads are P0, P1, ... in order)");
    expect_error(HEAD " MOV [x],$1 ;\n",
                 "t.litmus:4:13: error: this row has 1 cells, but the table has 2 threads");
    expect_error(HEAD " MOV [x],$1 | MOV EAX,[x] | ;\n",
                 "t.litmus:4:27: error: this row has more cells than the 2 threads of the table");
    expect_error(HEAD " MOV [x] $1 | ;\n", "t.litmus:4:10: error: expected ',' between "
                                           "operands, got '$'");
    expect_error(HEAD " MOV $1,[x] | ;\n",
                 "t.litmus:4:6: error: MOV's destination must be a register or [location]");
    expect_error(HEAD " MOV [x],[y] | ;\n", "t.litmus:4:10: error: x86 has no memory-to-memory "
                                            "MOV: expected a register or $value");
    expect_error(HEAD " MOV EAX,[EBX] | ;\n", "t.litmus:4:11: error: indirect addressing ([EBX]) "
                                              "is not supported; name a location");
    expect_error(HEAD " ADD [x],$1 | ;\n",
                 "t.litmus:4:2: error: expected an instruction (MOV, MFENCE, XCHG, LOCK XADD, "
                 "LOCK CMPXCHG, LOCK ADD, LOCK INC), got 'ADD'");
    expect_error(HEAD " LOCK XADD EAX,[x] | ;\n",
                 "t.litmus:4:12: error: LOCK XADD: expected [location] as the first operand");
    expect_error(HEAD " MOV [x],$99999999999 | ;\n",
                 "t.litmus:4:11: error: value out of 32-bit range");
    expect_error(HEAD " MOV [x],$1 | ;\n",
                 "t.litmus:5:1: error: expected an instruction row or the final condition "
                 "(exists, ~exists, forall), got end of file");
    expect_error(HEAD "exists (2:EAX=0)\n",
                 "t.litmus:4:9: error: thread 2 is not in the table (threads 0..1)");
    /* a register nothing sets would be judged on a constant 0 */
    expect_error(HEAD " MOV EBX,[x] | MOV [x],$1 ;\nexists (0:EBX=0 /\\ 1:EBX=0)\n",
                 "t.litmus:5:20: error: the condition reads 1:EBX, but thread 1 never writes EBX "
                 "and the initial state does not set it");
    expect_error(HEAD "exists (x=0 /\\ )\n",
                 "t.litmus:4:16: error: expected a term (0:EAX=1, x=1), '(', '~', true or false, "
                 "got ')'");
    expect_error(HEAD "exists (x=0\n",
                 "t.litmus:5:1: error: expected ')' or a connective (/\\, \\/), got end of file");
    expect_error(HEAD "~forall (x=1)\n", "t.litmus:4:2: error: expected 'exists' after '~', got "
                                         "'forall'");
    expect_error(HEAD "exist (x=1)\n", "t.litmus:4:1: error: expected an instruction (MOV, "
                                       "MFENCE, XCHG, LOCK XADD, LOCK CMPXCHG, LOCK ADD, LOCK "
                                       "INC), got 'exist'");
    expect_error(HEAD "exists (x=1) junk\n",
                 "t.litmus:4:14: error: expected the end of the file after the condition, got "
                 "'junk'");
    expect_error(HEAD "exists (x=1) (* never closed\n",
                 "t.litmus:4:14: error: unterminated comment: expected '*)'");
    expect_error("X86 T\n(* orrery: tso=maybe *)\n",
                 "t.litmus:2:12: error: expected tso=allowed, tso=forbidden, observed=required, "
                 "observed=optional or observed=never, got 'tso=maybe'");
    expect_error("X86 T\n(* orrery: observed=required *)\n{}\n P0 ;\nexists (true)\n",
                 "t.litmus:2:1: error: the orrery comment needs tso=allowed or tso=forbidden");
    expect_error("X86 T\n(* orrery: tso=forbidden observed=required *)\n{}\n P0 ;\nexists (true)\n",
                 "t.litmus:2:1: error: tso=forbidden means the outcome is never observed: use "
                 "observed=never or leave observed out");
    expect_error("X86 T\n(* orrery: tso=allowed *)\n{}\n(* orrery: tso=allowed *)\n",
                 "t.litmus:4:1: error: a second orrery expectation comment (one per test)");
    expect_error("X86 T\n{ x=0; }\0 P0 ;\n",
                 "t.litmus:2:9: error: expected the thread table header ' P0 | P1 ... ;', got "
                 "end of file");
}

static void test_embedded_nul(void **state)
{
    (void)state;
    const char text[] = "X86 T\n{ x=0; }\n P0 ;\n MOV [x],$1\0 ;\nexists (x=1)\n";
    struct litmus_test t;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(litmus_parse(&t, "t.litmus", text, sizeof text - 1, BASE, &d), ORR_EPARSE);
    assert_diag(&d, 0, "t.litmus:4:12: error: expected ';' at the end of the row, got byte 0x00");
    orr_diag_free(&d);
}

/* Limits: 8 threads, 64 instructions per thread, 16 locations. */
static void test_limits(void **state)
{
    (void)state;
    char text[8192];
    strcpy(text, "X86 T\n{}\n P0 | P1 | P2 | P3 | P4 | P5 | P6 | P7 | P8 ;\n");
    expect_error(text, "t.litmus:3:42: error: too many threads (at most 8)");

    size_t n = (size_t)sprintf(text, "X86 T\n{}\n P0 ;\n");
    for (int i = 0; i < 65; i++)
        n += (size_t)sprintf(text + n, " MFENCE ;\n");
    strcpy(text + n, "exists (true)\n");
    expect_error(text, "t.litmus:68:2: error: too many instructions in one thread (at most 64)");

    n = (size_t)sprintf(text, "X86 T\n{");
    for (int i = 0; i < 17; i++)
        n += (size_t)sprintf(text + n, " v%02d=0;", i);
    expect_error(text, "t.litmus:2:115: error: too many locations (at most 16)");

    strcpy(text, "X86 T\n{}\n P0 ;\nexists ");
    for (int i = 0; i < 40; i++)
        strcat(text, "(");
    expect_error(text, "t.litmus:4:41: error: condition nested too deeply (at most 32 levels)");

    n = (size_t)sprintf(text, "X86 T\n{}\n P0 ;\nexists (true");
    for (int i = 0; i < 40; i++)
        n += (size_t)sprintf(text + n, " /\\ true");
    expect_error(text, "t.litmus:4:269: error: condition too long (at most 64 terms and "
                       "operators)");
}

static void test_load_errors(void **state)
{
    (void)state;
    struct litmus_test t;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(litmus_load(&t, "/nonexistent/x.litmus", BASE, &d), ORR_EIO);
    assert_diag(&d, 0, "/nonexistent/x.litmus: error: cannot open the litmus test");
    orr_diag_free(&d);
    orr_diag_init(&d);
    assert_int_equal(litmus_parse(&t, "t.litmus", sb_text, strlen(sb_text), 100, &d), ORR_EPARSE);
    orr_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_eval_conditions),
        cmocka_unit_test(test_interpreter),
        cmocka_unit_test(test_herd_extras),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
