/* The reference models (workloads/litmus_model.h) against verdicts known
 * from the literature, written out by hand here: the final outcomes x86-TSO
 * and SC allow for the classic shapes (SB allowed under TSO only; MP, LB,
 * IRIW, 2+2W forbidden; fences and locked instructions restore SC), the
 * state bound and its positioned error, an orrery comment the model
 * contradicts, and herd7's words for observations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

static void run_ok(const struct litmus_test *t, enum litmus_model m, struct litmus_verdict *v)
{
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = litmus_model_run(t, m, 0, "t.litmus", v, &d);
    if (rc)
        orr_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    orr_diag_free(&d);
}

/* The model's final outcomes are exactly aWant (in strcmp order). */
static void expect_finals(const struct litmus_verdict *v, const char *const *aWant, size_t nWant)
{
    for (size_t i = 0; i < v->nFinal && i < nWant; i++)
        assert_string_equal(v->aFinal[i].text, aWant[i]);
    assert_int_equal(v->nFinal, nWant);
}

/* Whether a test's witness is allowed under model m. */
static bool allowed(const char *text, enum litmus_model m)
{
    struct litmus_test t;
    struct litmus_verdict v;
    parse_ok(&t, text);
    run_ok(&t, m, &v);
    bool b = v.bAllowed;
    litmus_verdict_free(&v);
    return b;
}

static const char sb[] = "X86 SB\n{ x=0; y=0; }\n"
                         " P0          | P1          ;\n"
                         " MOV [x],$1  | MOV [y],$1  ;\n"
                         " MOV EAX,[y] | MOV EAX,[x] ;\n"
                         "exists (0:EAX=0 /\\ 1:EAX=0)\n";

/* SB: TSO allows all four register outcomes, SC all but both-zero. */
static void test_sb_outcomes(void **state)
{
    (void)state;
    struct litmus_test t;
    struct litmus_verdict tso, sc;
    parse_ok(&t, sb);
    run_ok(&t, LITMUS_MODEL_TSO, &tso);
    run_ok(&t, LITMUS_MODEL_SC, &sc);
    static const char *const aTso[] = {"0:EAX=0; 1:EAX=0;", "0:EAX=0; 1:EAX=1;",
                                       "0:EAX=1; 1:EAX=0;", "0:EAX=1; 1:EAX=1;"};
    expect_finals(&tso, aTso, 4);
    expect_finals(&sc, aTso + 1, 3);
    assert_true(tso.bAllowed);
    assert_false(sc.bAllowed);
    assert_true(tso.aFinal[0].positive && tso.aFinal[0].witness);
    assert_int_equal(tso.nPositive, 1);
    assert_int_equal(sc.nPositive, 0);
    assert_true(tso.nState > sc.nState); /* buffers add states */
    assert_non_null(litmus_verdict_find(&tso, "0:EAX=0; 1:EAX=0;"));
    assert_null(litmus_verdict_find(&sc, "0:EAX=0; 1:EAX=0;"));
    assert_null(litmus_verdict_find(&tso, "0:EAX=2; 1:EAX=0;"));
    litmus_verdict_free(&tso);
    litmus_verdict_free(&sc);
}

/* MP under TSO: every outcome but "saw the flag, not the data". */
static void test_mp_outcomes(void **state)
{
    (void)state;
    struct litmus_test t;
    struct litmus_verdict tso;
    parse_ok(&t, "X86 MP\n{ }\n P0 | P1 ;\n MOV [x],$1 | MOV EAX,[y] ;\n"
                 " MOV [y],$1 | MOV EBX,[x] ;\nexists (1:EAX=1 /\\ 1:EBX=0)\n");
    run_ok(&t, LITMUS_MODEL_TSO, &tso);
    static const char *const aWant[] = {"1:EAX=0; 1:EBX=0;", "1:EAX=0; 1:EBX=1;",
                                        "1:EAX=1; 1:EBX=1;"};
    expect_finals(&tso, aWant, 3);
    assert_false(tso.bAllowed);
    litmus_verdict_free(&tso);
}

/* The classic verdicts, each a line of the x86-TSO paper's examples. */
static void test_known_verdicts(void **state)
{
    (void)state;
    /* a store waits in its buffer past the same thread's later load */
    assert_true(allowed(sb, LITMUS_MODEL_TSO));
    assert_true(allowed("X86 R\n{ }\n P0 | P1 ;\n MOV [x],$1 | MOV [y],$2 ;\n"
                        " MOV [y],$1 | MOV EAX,[x] ;\nexists (y=2 /\\ 1:EAX=0)\n",
                        LITMUS_MODEL_TSO));
    /* a thread reads its own buffered store early (forwarding) */
    assert_true(allowed("X86 SB+rfi-pos\n{ }\n P0 | P1 ;\n MOV [x],$1 | MOV [y],$1 ;\n"
                        " MOV EAX,[x] | MOV EAX,[y] ;\n MOV EBX,[y] | MOV EBX,[x] ;\n"
                        "exists (0:EAX=1 /\\ 0:EBX=0 /\\ 1:EAX=1 /\\ 1:EBX=0)\n",
                        LITMUS_MODEL_TSO));
    /* MFENCE and a locked instruction, even a failing CMPXCHG, drain it */
    assert_false(allowed("X86 SB+mfences\n{ }\n P0 | P1 ;\n MOV [x],$1 | MOV [y],$1 ;\n"
                         " MFENCE | MFENCE ;\n MOV EAX,[y] | MOV EAX,[x] ;\n"
                         "exists (0:EAX=0 /\\ 1:EAX=0)\n", LITMUS_MODEL_TSO));
    assert_false(allowed("X86 SB+cas\n{ 0:EAX=1; 1:EAX=1; }\n P0 | P1 ;\n"
                         " MOV [x],$1 | MOV [y],$1 ;\n LOCK CMPXCHG [p],EBX | LOCK CMPXCHG [q],EBX ;\n"
                         " MOV ECX,[y] | MOV ECX,[x] ;\n"
                         "exists (0:EAX=0 /\\ 1:EAX=0 /\\ 0:ECX=0 /\\ 1:ECX=0)\n",
                         LITMUS_MODEL_TSO));
    /* loads are not reordered, stores drain in order, stores are atomic */
    assert_false(allowed("X86 LB\n{ }\n P0 | P1 ;\n MOV EAX,[x] | MOV EAX,[y] ;\n"
                         " MOV [y],$1 | MOV [x],$1 ;\nexists (0:EAX=1 /\\ 1:EAX=1)\n",
                         LITMUS_MODEL_TSO));
    assert_false(allowed("X86 2+2W\n{ }\n P0 | P1 ;\n MOV [x],$1 | MOV [y],$1 ;\n"
                         " MOV [y],$2 | MOV [x],$2 ;\nexists (x=1 /\\ y=1)\n", LITMUS_MODEL_TSO));
    assert_false(allowed("X86 IRIW\n{ }\n P0 | P1 | P2 | P3 ;\n"
                         " MOV [x],$1 | MOV EAX,[x] | MOV [y],$1 | MOV EAX,[y] ;\n"
                         "            | MOV EBX,[y] |            | MOV EBX,[x] ;\n"
                         "exists (1:EAX=1 /\\ 1:EBX=0 /\\ 3:EAX=1 /\\ 3:EBX=0)\n",
                         LITMUS_MODEL_TSO));
    /* atomic read-modify-write */
    assert_false(allowed("X86 XADD\n{ 0:EAX=1; 1:EAX=1; }\n P0 | P1 ;\n"
                         " LOCK XADD [x],EAX | LOCK XADD [x],EAX ;\nexists (x=1)\n",
                         LITMUS_MODEL_TSO));
    /* forall: the witness is a counterexample; ~exists: the condition */
    assert_false(allowed("X86 F\n{ }\n P0 | P1 ;\n LOCK INC [x] | LOCK INC [x] ;\n"
                         "forall (x=2)\n", LITMUS_MODEL_TSO));
    assert_true(allowed("X86 F\n{ }\n P0 | P1 ;\n MOV [x],$1 | MOV [x],$2 ;\n"
                        "forall (x=2)\n", LITMUS_MODEL_SC));
    assert_true(allowed("X86 N\n{ }\n P0 ;\n MOV [x],$1 ;\n~exists (x=1)\n", LITMUS_MODEL_SC));
    /* a nonzero initial location is read */
    assert_true(allowed("X86 I\n{ x=7; }\n P0 ;\n MOV EAX,[x] ;\nforall (0:EAX=8)\n",
                        LITMUS_MODEL_SC));
    assert_false(allowed("X86 I\n{ x=7; }\n P0 ;\n MOV EAX,[x] ;\nexists (0:EAX=0)\n",
                         LITMUS_MODEL_TSO));
}

/* Past the bound: ORR_ERANGE, a message at the thread table, no verdict. */
static void test_state_bound(void **state)
{
    (void)state;
    struct litmus_test t;
    struct litmus_verdict v;
    struct orr_diag d;
    parse_ok(&t, sb);
    orr_diag_init(&d);
    assert_int_equal(litmus_model_run(&t, LITMUS_MODEL_TSO, 10, "t.litmus", &v, &d), ORR_ERANGE);
    assert_int_equal(d.nMsg, 1);
    assert_diag(&d, 0, "t.litmus:3:2: error: test SB has more than 10 x86-TSO states: too large "
                       "to judge against the reference model (fewer threads or instructions, or "
                       "a larger bound: --max-states)");
    assert_int_equal(v.nFinal, 0);
    assert_null(v.aFinal);
    orr_diag_free(&d);
    /* exactly enough is enough: SB has 34 TSO states */
    orr_diag_init(&d);
    assert_int_equal(litmus_model_run(&t, LITMUS_MODEL_TSO, 34, "t.litmus", &v, &d), 0);
    assert_int_equal(v.nState, 34);
    litmus_verdict_free(&v);
    assert_int_equal(litmus_model_run(&t, LITMUS_MODEL_TSO, 33, "t.litmus", &v, &d), ORR_ERANGE);
    orr_diag_free(&d);
}

/* An orrery comment is checked, not trusted. */
static void test_expectation_checked(void **state)
{
    (void)state;
    static const char wrong[] = "X86 SB\n(* orrery: tso=forbidden *)\n{ }\n"
                                " P0          | P1          ;\n"
                                " MOV [x],$1  | MOV [y],$1  ;\n"
                                " MOV EAX,[y] | MOV EAX,[x] ;\n"
                                "exists (0:EAX=0 /\\ 1:EAX=0)\n";
    struct litmus_test t;
    struct litmus_verdict v;
    struct orr_diag d;
    parse_ok(&t, wrong);
    run_ok(&t, LITMUS_MODEL_TSO, &v);
    orr_diag_init(&d);
    assert_int_equal(litmus_check_expectation(&t, &v, "t.litmus", &d), ORR_EPARSE);
    assert_diag(&d, 0, "t.litmus:2:1: error: the orrery comment says tso=forbidden, but the "
                       "x86-TSO model allows the outcome: 0:EAX=0; 1:EAX=0;");
    orr_diag_free(&d);
    litmus_verdict_free(&v);

    parse_ok(&t, "X86 MP\n{ }\n  (* orrery: tso=allowed *)\n P0 | P1 ;\n"
                 " MOV [x],$1 | MOV EAX,[y] ;\n MOV [y],$1 | MOV EBX,[x] ;\n"
                 "exists (1:EAX=1 /\\ 1:EBX=0)\n");
    run_ok(&t, LITMUS_MODEL_TSO, &v);
    orr_diag_init(&d);
    assert_int_equal(litmus_check_expectation(&t, &v, "t.litmus", &d), ORR_EPARSE);
    assert_diag(&d, 0, "t.litmus:3:3: error: the orrery comment says tso=allowed, but the x86-TSO "
                       "model forbids the outcome (none of its 3 final outcomes is one)");
    orr_diag_free(&d);
    litmus_verdict_free(&v);

    parse_ok(&t, sb); /* no comment: nothing to check */
    run_ok(&t, LITMUS_MODEL_TSO, &v);
    orr_diag_init(&d);
    assert_int_equal(litmus_check_expectation(&t, &v, "t.litmus", &d), 0);
    assert_int_equal(d.nMsg, 0);
    orr_diag_free(&d);
    litmus_verdict_free(&v);
}

static void test_words(void **state)
{
    (void)state;
    assert_string_equal(litmus_observation(0, 5), "Never");
    assert_string_equal(litmus_observation(0, 0), "Never");
    assert_string_equal(litmus_observation(2, 3), "Sometimes");
    assert_string_equal(litmus_observation(5, 0), "Always");
    struct litmus_test t;
    parse_ok(&t, sb);
    assert_string_equal(litmus_quant_kind(&t), "Allowed");
    parse_ok(&t, "X86 N\n{ }\n P0 ;\n MOV [x],$1 ;\n~exists (x=1)\n");
    assert_string_equal(litmus_quant_kind(&t), "Forbidden");
    parse_ok(&t, "X86 N\n{ }\n P0 ;\n MOV [x],$1 ;\nforall (x=1)\n");
    assert_string_equal(litmus_quant_kind(&t), "Required");
    assert_string_equal(litmus_model_name(LITMUS_MODEL_TSO), "x86-TSO");
    assert_string_equal(litmus_model_name(LITMUS_MODEL_SC), "SC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sb_outcomes),
        cmocka_unit_test(test_mp_outcomes),
        cmocka_unit_test(test_known_verdicts),
        cmocka_unit_test(test_state_bound),
        cmocka_unit_test(test_expectation_checked),
        cmocka_unit_test(test_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
