/* kernel/bpf: the verifier's accept/reject rules (each rejection checked
 * for its instruction index and reason), the interpreter's results on
 * accepted programs, and the maps' semantics. Programs are hand-written
 * instruction arrays (tests/bpf/insns.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/bpf.h"
#include "tests/bpf/insns.h"

/* maps every test program may name: 0 array[4] of u64, 1 hash u32->u64
 * (16), 2 per-CPU array[1] of u64 on 4 CPUs, 3 ring buffer 4 KiB, 4
 * array[1] of 64 bytes */
#define NMAPS 5
static struct bpf_map maps_store[NMAPS];
static struct bpf_map *maps[NMAPS];
static void *maps_mem[NMAPS];

static int maps_setup(void **state)
{
    (void)state;
    static const struct bpf_map_def defs[NMAPS] = {
        {BPF_MAP_TYPE_ARRAY, 4, 8, 4},  {BPF_MAP_TYPE_HASH, 4, 8, 16}, {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1},
        {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096}, {BPF_MAP_TYPE_ARRAY, 4, 64, 1},
    };
    for (int i = 0; i < NMAPS; i++) {
        const char *why = NULL;
        size_t sz = bpf_map_mem_size(&defs[i], 4, &why);
        assert_true(sz > 0);
        maps_mem[i] = aligned_alloc(8, (sz + 7) & ~(size_t)7);
        assert_int_equal(bpf_map_init(&maps_store[i], &defs[i], 4, maps_mem[i]), 0);
        maps[i] = &maps_store[i];
    }
    return 0;
}

static int maps_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NMAPS; i++)
        free(maps_mem[i]);
    return 0;
}

#define CTX_SIZE 64

static int verify_opts(const struct bpf_insn *insns, uint32_t n, bool unpriv, uint32_t limit,
                       struct bpf_verify_result *res)
{
    struct bpf_prog p = {insns, n, maps, NMAPS, CTX_SIZE};
    struct bpf_verify_opts o = {unpriv, limit};
    size_t ws = bpf_verify_workspace_size(n);
    void *w = malloc(ws);
    int rc = bpf_verify(&p, &o, w, ws, res);
    free(w);
    return rc;
}

#define ACCEPT(prog) accept_(prog, sizeof prog / sizeof prog[0], false)
#define ACCEPT_UNPRIV(prog) accept_(prog, sizeof prog / sizeof prog[0], true)
static void accept_(const struct bpf_insn *insns, uint32_t n, bool unpriv)
{
    struct bpf_verify_result res;
    int rc = verify_opts(insns, n, unpriv, 0, &res);
    if (rc)
        fail_msg("rejected at insn %d: %s", res.insn, res.msg);
}

/* rejected at instruction `at` with exactly `msg` */
#define REJECT(prog, at, msg) reject_(prog, sizeof prog / sizeof prog[0], false, at, msg)
#define REJECT_UNPRIV(prog, at, msg) reject_(prog, sizeof prog / sizeof prog[0], true, at, msg)
static void reject_(const struct bpf_insn *insns, uint32_t n, bool unpriv, int at, const char *msg)
{
    struct bpf_verify_result res;
    int rc = verify_opts(insns, n, unpriv, 0, &res);
    if (rc == 0)
        fail_msg("accepted; expected rejection at %d: %s", at, msg);
    if (res.insn != at || strcmp(res.msg, msg) != 0)
        fail_msg("rejected at %d: '%s'; expected at %d: '%s'", res.insn, res.msg, at, msg);
}

static uint64_t run(const struct bpf_insn *insns, uint32_t n, void *ctx, uint32_t cpu)
{
    struct bpf_prog p = {insns, n, maps, NMAPS, CTX_SIZE};
    struct bpf_env env = {.cpu = cpu, .now_ns = 12345, .budget = 10000000};
    uint64_t ret = 0;
    assert_int_equal(bpf_run(&p, ctx, &env, &ret), 0);
    return ret;
}
#define RUN(prog, ctx, cpu) run(prog, sizeof prog / sizeof prog[0], ctx, cpu)

/* --- accepted programs, run --------------------------------------------- */

static void test_minimal(void **state)
{
    (void)state;
    struct bpf_insn p[] = {MOV64_IMM(0, 7), EXIT()};
    ACCEPT(p);
    ACCEPT_UNPRIV(p);
    assert_int_equal(RUN(p, NULL, 0), 7);
}

/* key on the stack, lookup, null check, atomic add: the counting idiom */
static const struct bpf_insn count_prog[] = {
    ST_MEM(BPF_W, 10, -4, 2),          /* key = 2 */
    LD_MAP(1, 0),
    MOV64_REG(2, 10),
    ALU64_IMM(BPF_ADD, 2, -4),
    CALL(BPF_FUNC_map_lookup_elem),
    JMP_IMM(BPF_JEQ, 0, 0, 2),
    MOV64_IMM(1, 5),
    ATOMIC(BPF_DW, BPF_ADD, 0, 1, 0),
    MOV64_IMM(0, 0),
    EXIT(),
};

static void test_count(void **state)
{
    (void)state;
    ACCEPT(count_prog);
    ACCEPT_UNPRIV(count_prog);
    uint32_t key = 2;
    uint64_t *v = bpf_map_lookup(maps[0], &key, 0);
    *v = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(run(count_prog, sizeof count_prog / sizeof count_prog[0], NULL, 0), 0);
    assert_int_equal(*v, 15);
}

static void test_bounded_loop(void **state)
{
    (void)state;
    struct bpf_insn p[] = {
        MOV64_IMM(1, 0), MOV64_IMM(0, 0),
        ALU64_REG(BPF_ADD, 0, 1),        /* 2: loop */
        ALU64_IMM(BPF_ADD, 1, 1),
        JMP_IMM(BPF_JLT, 1, 10, -3),
        EXIT(),
    };
    ACCEPT(p);
    assert_int_equal(RUN(p, NULL, 0), 45);
    struct bpf_verify_result res;
    assert_int_equal(verify_opts(p, 6, false, 0, &res), 0);
    /* each iteration is walked once: about 10 * 3 + 3 */
    assert_true(res.processed >= 30 && res.processed < 60);
}

/* a variable index bounded by a mask indexes a map value */
static void test_var_offset(void **state)
{
    (void)state;
    struct bpf_insn ok[] = {
        LDX_MEM(BPF_W, 6, 1, 0),            /* r6 = ctx->u32[0] */
        ST_MEM(BPF_W, 10, -4, 0),
        LD_MAP(1, 4), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        JMP_IMM(BPF_JNE, 0, 0, 2),
        MOV64_IMM(0, 0), EXIT(),
        ALU64_IMM(BPF_AND, 6, 7),           /* 10 */
        ALU64_IMM(BPF_LSH, 6, 3),
        ALU64_REG(BPF_ADD, 0, 6),
        LDX_MEM(BPF_DW, 0, 0, 0),
        EXIT(),
    };
    ACCEPT(ok);
    struct bpf_insn bad[sizeof ok / sizeof ok[0]];
    memcpy(bad, ok, sizeof ok);
    bad[10] = ALU64_IMM(BPF_AND, 6, 15); /* index up to 15: 8 bytes past the end */
    REJECT(bad, 13, "invalid access to map value, value_size=64 off=120 size=8");
    bad[10] = MOV64_REG(6, 6); /* no bound at all */
    REJECT(bad, 13, "R0 unbounded memory access, make sure to bounds check any such access");
    /* a conditional jump bounds it just as well */
    struct bpf_insn jb[] = {
        LDX_MEM(BPF_W, 6, 1, 0),
        ST_MEM(BPF_W, 10, -4, 0),
        LD_MAP(1, 4), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        JMP_IMM(BPF_JEQ, 0, 0, 4),
        JMP_IMM(BPF_JGT, 6, 56, 3),         /* 8 */
        ALU64_REG(BPF_ADD, 0, 6),
        LDX_MEM(BPF_DW, 0, 0, 0),
        EXIT(),
        MOV64_IMM(0, 1),                    /* 12 */
        EXIT(),
    };
    ACCEPT(jb);
    jb[8] = JMP_IMM(BPF_JGT, 6, 57, 3);
    REJECT(jb, 10, "invalid access to map value, value_size=64 off=57 size=8");
    uint32_t ctx[16] = {3};
    uint32_t k0 = 0;
    uint64_t *val = bpf_map_lookup(maps[4], &k0, 0);
    memset(val, 0, 64);
    val[3] = 0xabcdef;
    assert_int_equal(RUN(ok, ctx, 0), 0xabcdef);
}

static void test_spill_fill(void **state)
{
    (void)state;
    /* the looked-up pointer survives a round trip through the stack */
    struct bpf_insn p[] = {
        ST_MEM(BPF_W, 10, -4, 1),
        LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        STX_MEM(BPF_DW, 10, 0, -16),
        LDX_MEM(BPF_DW, 3, 10, -16),
        JMP_IMM(BPF_JEQ, 3, 0, 2),
        LDX_MEM(BPF_DW, 0, 3, 0),
        EXIT(),
        MOV64_IMM(0, 0),
        EXIT(),
    };
    ACCEPT(p);
    /* the null check on the copy also checks the spilled original */
    struct bpf_insn q[] = {
        ST_MEM(BPF_W, 10, -4, 1),
        LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        STX_MEM(BPF_DW, 10, 0, -16),
        JMP_IMM(BPF_JEQ, 0, 0, 3),
        LDX_MEM(BPF_DW, 3, 10, -16),
        LDX_MEM(BPF_DW, 0, 3, 0),
        EXIT(),
        MOV64_IMM(0, 0),
        EXIT(),
    };
    ACCEPT(q);
    uint32_t key = 1;
    *(uint64_t *)bpf_map_lookup(maps[0], &key, 0) = 99;
    assert_int_equal(RUN(q, NULL, 0), 99);
}

static void test_helpers_run(void **state)
{
    (void)state;
    struct bpf_insn p[] = {
        CALL(BPF_FUNC_get_smp_processor_id), MOV64_REG(6, 0),
        CALL(BPF_FUNC_ktime_get_ns), ALU64_REG(BPF_ADD, 0, 6),
        EXIT(),
    };
    ACCEPT(p);
    assert_int_equal(RUN(p, NULL, 3), 12348);
    /* hash update / lookup / delete from a program */
    struct bpf_insn h[] = {
        ST_MEM(BPF_W, 10, -4, 77), ST_MEM(BPF_DW, 10, -16, 1234),
        LD_MAP(1, 1), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        MOV64_REG(3, 10), ALU64_IMM(BPF_ADD, 3, -16), MOV64_IMM(4, BPF_ANY),
        CALL(BPF_FUNC_map_update_elem),
        EXIT(),
    };
    ACCEPT(h);
    assert_int_equal(RUN(h, NULL, 0), 0);
    uint32_t k = 77;
    uint64_t *v = bpf_map_lookup(maps[1], &k, 0);
    assert_non_null(v);
    assert_int_equal(*v, 1234);
    assert_int_equal(bpf_map_delete(maps[1], &k), 0);
    assert_null(bpf_map_lookup(maps[1], &k, 0));
    assert_int_equal(bpf_map_delete(maps[1], &k), BPF_ENOENT);
    /* ring buffer output */
    struct bpf_insn r[] = {
        ST_MEM(BPF_DW, 10, -8, 0x55aa),
        LD_MAP(1, 3), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -8), MOV64_IMM(3, 8), MOV64_IMM(4, 0),
        CALL(BPF_FUNC_ringbuf_output),
        EXIT(),
    };
    ACCEPT(r);
    assert_int_equal(RUN(r, NULL, 0), 0);
    uint64_t rec = 0;
    assert_int_equal(bpf_ringbuf_read(maps[3], &rec, sizeof rec), 8);
    assert_int_equal(rec, 0x55aa);
    assert_int_equal(bpf_ringbuf_read(maps[3], &rec, sizeof rec), 0);
}

static void test_percpu(void **state)
{
    (void)state;
    struct bpf_insn p[] = {
        ST_MEM(BPF_W, 10, -4, 0),
        LD_MAP(1, 2), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        JMP_IMM(BPF_JEQ, 0, 0, 2),
        MOV64_IMM(1, 1), ATOMIC(BPF_DW, BPF_ADD, 0, 1, 0),
        MOV64_IMM(0, 0), EXIT(),
    };
    ACCEPT(p);
    RUN(p, NULL, 1);
    RUN(p, NULL, 1);
    RUN(p, NULL, 3);
    uint32_t k = 0;
    assert_int_equal(*(uint64_t *)bpf_map_lookup(maps[2], &k, 0), 0);
    assert_int_equal(*(uint64_t *)bpf_map_lookup(maps[2], &k, 1), 2);
    assert_int_equal(*(uint64_t *)bpf_map_lookup(maps[2], &k, 3), 1);
}

static void test_alu_semantics(void **state)
{
    (void)state;
    /* division by zero gives 0, modulo by zero keeps the dividend, 32-bit
     * ops zero-extend, arithmetic shift keeps the sign */
    struct bpf_insn p[] = {
        MOV64_IMM(1, 100), MOV64_IMM(2, 0),
        ALU64_REG(BPF_DIV, 1, 2),            /* r1 = 0 */
        MOV64_IMM(3, 7), ALU64_REG(BPF_MOD, 3, 2), /* r3 = 7 */
        MOV64_IMM(4, -1), ALU32_IMM(BPF_ADD, 4, 0), /* r4 = 0xffffffff */
        MOV64_IMM(5, -16), ALU64_IMM(BPF_ARSH, 5, 2), /* r5 = -4 */
        MOV64_REG(0, 1), ALU64_REG(BPF_ADD, 0, 3), ALU64_REG(BPF_ADD, 0, 4), ALU64_REG(BPF_ADD, 0, 5),
        EXIT(),
    };
    ACCEPT(p);
    assert_int_equal(RUN(p, NULL, 0), 7ull + 0xffffffffull - 4);
    /* a byte swap of a 64-bit constant folds the same as it runs */
    struct bpf_insn sw[] = {LD_IMM64(0, 0x0102030405060708ull), INSN(BPF_ALU | BPF_END | BPF_TO_BE, 0, 0, 0, 64),
                            EXIT()};
    ACCEPT(sw);
    assert_int_equal(RUN(sw, NULL, 0), 0x0807060504030201ull);
    struct bpf_insn sw16[] = {MOV64_IMM(0, 0x11223344), INSN(BPF_ALU | BPF_END | BPF_TO_BE, 0, 0, 0, 16), EXIT()};
    assert_int_equal(RUN(sw16, NULL, 0), 0x4433);
}

/* --- the rejection catalogue ---------------------------------------------- */

static void test_reject_stack(void **state)
{
    (void)state;
    struct bpf_insn oob[] = {LDX_MEM(BPF_DW, 0, 10, -520), EXIT()};
    REJECT(oob, 0, "invalid read from stack R10 off=-520 size=8");
    struct bpf_insn above[] = {ST_MEM(BPF_DW, 10, 0, 1), MOV64_IMM(0, 0), EXIT()};
    REJECT(above, 0, "invalid write to stack R10 off=0 size=8");
    struct bpf_insn uninit[] = {LDX_MEM(BPF_DW, 0, 10, -8), EXIT()};
    REJECT(uninit, 0, "invalid read from stack off -8+0 size 8");
    struct bpf_insn partial[] = {ST_MEM(BPF_W, 10, -8, 1), LDX_MEM(BPF_DW, 0, 10, -8), EXIT()};
    REJECT(partial, 1, "invalid read from stack off -8+4 size 8");
    struct bpf_insn mis[] = {ST_MEM(BPF_DW, 10, -12, 1), MOV64_IMM(0, 0), EXIT()};
    REJECT(mis, 0, "misaligned stack access off -12 size 8");
    struct bpf_insn ok[] = {ST_MEM(BPF_DW, 10, -512, 1), LDX_MEM(BPF_DW, 0, 10, -512), EXIT()};
    ACCEPT(ok);
}

static void test_reject_registers(void **state)
{
    (void)state;
    struct bpf_insn r2[] = {MOV64_REG(0, 2), EXIT()};
    REJECT(r2, 0, "R2 !read_ok");
    struct bpf_insn r0[] = {EXIT()};
    REJECT(r0, 0, "R0 !read_ok");
    struct bpf_insn fp[] = {MOV64_IMM(10, 0), EXIT()};
    REJECT(fp, 0, "frame pointer is read only");
    struct bpf_insn bad[] = {MOV64_IMM(11, 0), EXIT()};
    REJECT(bad, 0, "R11 is invalid");
    /* after a call R1-R5 are clobbered */
    struct bpf_insn clob[] = {CALL(BPF_FUNC_ktime_get_ns), MOV64_REG(0, 1), EXIT()};
    REJECT(clob, 1, "R1 !read_ok");
    struct bpf_insn scal[] = {MOV64_IMM(1, 0), LDX_MEM(BPF_DW, 0, 1, 0), EXIT()};
    REJECT(scal, 1, "R1 invalid mem access 'scalar'");
}

static void test_reject_loops(void **state)
{
    (void)state;
    /* the counter wraps only after 2^64 iterations: never proven to end */
    struct bpf_insn unbounded[] = {
        MOV64_IMM(0, 0),
        ALU64_IMM(BPF_ADD, 0, 1),
        JMP_IMM(BPF_JNE, 0, 0, -2),
        EXIT(),
    };
    REJECT(unbounded, 2, "BPF program is too large. Processed 1000001 insn");
    /* the same state comes back: caught at once */
    struct bpf_insn same[] = {
        LDX_MEM(BPF_W, 0, 1, 0),
        JMP_IMM(BPF_JEQ, 0, 0, -1),
        EXIT(),
    };
    REJECT(same, 1, "infinite loop detected at insn 1");
    struct bpf_insn spin[] = {MOV64_IMM(0, 0), JMP_IMM(BPF_JEQ, 0, 0, -1), EXIT()};
    REJECT(spin, 1, "infinite loop detected at insn 1");
    /* a loop bounded by an unknown but checked count is walked per value */
    struct bpf_insn cnt[] = {
        LDX_MEM(BPF_W, 2, 1, 0),
        ALU64_IMM(BPF_AND, 2, 15),
        MOV64_IMM(0, 0),
        JMP_REG(BPF_JGE, 0, 2, 2),   /* 3 */
        ALU64_IMM(BPF_ADD, 0, 1),
        JA(-3),
        EXIT(),
    };
    ACCEPT(cnt);
    uint32_t ctx[16] = {9};
    assert_int_equal(RUN(cnt, ctx, 0), 9);
}

static void test_reject_helpers(void **state)
{
    (void)state;
    struct bpf_insn notmap[] = {
        MOV64_IMM(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -8),
        CALL(BPF_FUNC_map_lookup_elem), MOV64_IMM(0, 0), EXIT(),
    };
    REJECT(notmap, 3, "R1 type=scalar expected=map_ptr");
    struct bpf_insn key_uninit[] = {
        LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem), MOV64_IMM(0, 0), EXIT(),
    };
    REJECT(key_uninit, 4, "invalid indirect read from stack R2 off -4+0 size 4");
    struct bpf_insn key_scalar[] = {
        LD_MAP(1, 0), MOV64_IMM(2, 4096),
        CALL(BPF_FUNC_map_lookup_elem), MOV64_IMM(0, 0), EXIT(),
    };
    REJECT(key_scalar, 3, "R2 type=scalar expected=fp, map_value");
    struct bpf_insn ring[] = {
        ST_MEM(BPF_W, 10, -4, 0), LD_MAP(1, 3), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem), MOV64_IMM(0, 0), EXIT(),
    };
    REJECT(ring, 5, "cannot pass map_type 27 into func bpf_map_lookup_elem#1");
    struct bpf_insn unknown[] = {CALL(12), MOV64_IMM(0, 0), EXIT()};
    REJECT(unknown, 0, "invalid func unknown#12");
    struct bpf_insn size0[] = {
        ST_MEM(BPF_DW, 10, -8, 0), MOV64_REG(1, 10), ALU64_IMM(BPF_ADD, 1, -8), MOV64_IMM(2, 0),
        CALL(BPF_FUNC_trace_printk), EXIT(),
    };
    REJECT(size0, 4, "R2 invalid zero-sized read");
    size0[3] = MOV64_IMM(2, 16);
    REJECT(size0, 4, "invalid indirect access to stack R1 off=-8 size=16");
    size0[3] = MOV64_IMM(2, 8);
    ACCEPT(size0);
    REJECT_UNPRIV(size0, 4, "unknown func bpf_trace_printk#6");
}

static void test_reject_null(void **state)
{
    (void)state;
    struct bpf_insn p[] = {
        ST_MEM(BPF_W, 10, -4, 0), LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        LDX_MEM(BPF_DW, 0, 0, 0),
        EXIT(),
    };
    REJECT(p, 6, "R0 invalid mem access 'map_value_or_null'");
    /* the NULL branch of the check holds a scalar 0, not a pointer */
    struct bpf_insn nb[] = {
        ST_MEM(BPF_W, 10, -4, 0), LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        JMP_IMM(BPF_JNE, 0, 0, 1),
        LDX_MEM(BPF_DW, 0, 0, 0),
        EXIT(),
    };
    REJECT(nb, 7, "R0 invalid mem access 'scalar'");
    struct bpf_insn arith[] = {
        ST_MEM(BPF_W, 10, -4, 0), LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        ALU64_IMM(BPF_ADD, 0, 8),
        MOV64_IMM(0, 0), EXIT(),
    };
    REJECT(arith, 6, "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first");
    /* past the end of the value after a check */
    struct bpf_insn oob[] = {
        ST_MEM(BPF_W, 10, -4, 0), LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        JMP_IMM(BPF_JEQ, 0, 0, 1),
        LDX_MEM(BPF_DW, 0, 0, 8),
        EXIT(),
    };
    REJECT(oob, 7, "invalid access to map value, value_size=8 off=8 size=8");
}

static void test_reject_unpriv_leaks(void **state)
{
    (void)state;
    struct bpf_insn ret[] = {MOV64_REG(0, 10), EXIT()};
    ACCEPT(ret);
    REJECT_UNPRIV(ret, 1, "R0 leaks addr as return value");
    struct bpf_insn store[] = {
        ST_MEM(BPF_W, 10, -4, 0), LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        JMP_IMM(BPF_JEQ, 0, 0, 1),
        STX_MEM(BPF_DW, 0, 10, 0),
        MOV64_IMM(0, 0), EXIT(),
    };
    ACCEPT(store);
    REJECT_UNPRIV(store, 7, "R10 leaks addr into map");
    struct bpf_insn cmp[] = {MOV64_IMM(0, 0), JMP_IMM(BPF_JGT, 1, 4096, 1), MOV64_IMM(0, 1), EXIT()};
    ACCEPT(cmp);
    REJECT_UNPRIV(cmp, 1, "R1 pointer comparison prohibited");
    struct bpf_insn part[] = {MOV32_REG(0, 10), EXIT()};
    ACCEPT(part);
    REJECT_UNPRIV(part, 0, "R10 partial copy of pointer");
    struct bpf_insn upd[] = {
        ST_MEM(BPF_W, 10, -4, 0), STX_MEM(BPF_DW, 10, 10, -16),
        LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        MOV64_REG(3, 10), ALU64_IMM(BPF_ADD, 3, -16), MOV64_IMM(4, 0),
        CALL(BPF_FUNC_map_update_elem), EXIT(),
    };
    ACCEPT(upd);
    REJECT_UNPRIV(upd, 9, "R3 leaks addr into helper function");
}

static void test_reject_cfg(void **state)
{
    (void)state;
    struct bpf_insn out[] = {JA(100), MOV64_IMM(0, 0), EXIT()};
    REJECT(out, 0, "jump out of range from insn 0 to 101");
    struct bpf_insn back[] = {JA(-2), MOV64_IMM(0, 0), EXIT()};
    REJECT(back, 0, "jump out of range from insn 0 to -1");
    struct bpf_insn dead[] = {MOV64_IMM(0, 0), EXIT(), MOV64_IMM(0, 1), EXIT()};
    REJECT(dead, 2, "unreachable insn 2");
    struct bpf_insn fall[] = {MOV64_IMM(0, 0)};
    REJECT(fall, 0, "last insn is not an exit or jmp");
    struct bpf_insn mid[] = {JA(1), LD_IMM64(0, 5), EXIT()};
    REJECT(mid, 0, "jump into the middle of ldimm64 insn 1");
    struct bpf_insn div0[] = {MOV64_IMM(0, 1), ALU64_IMM(BPF_DIV, 0, 0), EXIT()};
    REJECT(div0, 1, "div by zero");
    struct bpf_insn sh[] = {MOV64_IMM(0, 1), ALU32_IMM(BPF_LSH, 0, 32), EXIT()};
    REJECT(sh, 1, "invalid shift 32");
    struct bpf_insn op[] = {INSN(0xe5, 0, 0, 0, 0), EXIT()};
    REJECT(op, 0, "unknown opcode e5");
    struct bpf_insn ldabs[] = {INSN(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 0), EXIT()};
    REJECT(ldabs, 0, "BPF_LD_[ABS|IND] instructions not supported");
    struct bpf_insn badmap[] = {LD_MAP(1, 9), MOV64_IMM(0, 0), EXIT()};
    REJECT(badmap, 0, "fd 9 is not pointing to valid bpf_map");
    struct bpf_insn sub[] = {INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 1), MOV64_IMM(0, 0), EXIT()};
    REJECT(sub, 0, "function calls to other bpf functions are not supported");
    struct bpf_insn ld64[] = {LD_IMM64(0, 0x123456789ull), EXIT()};
    ACCEPT(ld64);
    assert_int_equal(RUN(ld64, NULL, 0), 0x123456789ull);
}

static void test_reject_ctx(void **state)
{
    (void)state;
    struct bpf_insn wr[] = {ST_MEM(BPF_DW, 1, 0, 1), MOV64_IMM(0, 0), EXIT()};
    REJECT(wr, 0, "invalid bpf_context access off=0 size=8");
    struct bpf_insn far[] = {LDX_MEM(BPF_DW, 0, 1, 64), EXIT()};
    REJECT(far, 0, "invalid bpf_context access off=64 size=8");
    struct bpf_insn ok[] = {LDX_MEM(BPF_DW, 0, 1, 56), EXIT()};
    ACCEPT(ok);
    struct bpf_insn bits[] = {ALU64_IMM(BPF_AND, 1, 7), MOV64_IMM(0, 0), EXIT()};
    REJECT(bits, 0, "R1 bitwise operator &= on pointer prohibited");
    struct bpf_insn a32[] = {ALU32_IMM(BPF_ADD, 1, 7), MOV64_IMM(0, 0), EXIT()};
    REJECT(a32, 0, "R1 32-bit pointer arithmetic prohibited");
}

/* Programs whose branches join: pruning keeps the walk short and must not
 * accept what a full walk would reject. */
static void test_pruning(void **state)
{
    (void)state;
    /* 20 independent diamonds: 2^20 paths without pruning */
    struct bpf_insn p[20 * 4 + 3];
    uint32_t n = 0;
    p[n++] = LDX_MEM(BPF_DW, 6, 1, 0);
    for (int i = 0; i < 20; i++) {
        p[n++] = JMP_IMM(BPF_JSET, 6, 1 << i, 2);
        p[n++] = MOV64_IMM(i ? 8 : 7, 1);
        p[n++] = JA(1);
        p[n++] = MOV64_IMM(i ? 8 : 7, 2);
    }
    p[n++] = MOV64_IMM(0, 0);
    p[n++] = EXIT();
    struct bpf_verify_result res;
    assert_int_equal(verify_opts(p, n, false, 0, &res), 0);
    printf("pruning: %llu insns processed, %u states\n", (unsigned long long)res.processed, res.states);
    assert_true(res.processed < 10000);
    /* a read of R7 after the joins: still checked on the pruned paths */
    p[n - 2] = MOV64_REG(0, 7);
    assert_int_equal(verify_opts(p, n, false, 0, &res), 0);
    p[4] = MOV64_IMM(8, 1); /* the taken arm of the first no longer sets R7 */
    assert_int_equal(verify_opts(p, n, false, 0, &res), -1);
    assert_string_equal(res.msg, "R7 !read_ok");
}

static void test_maps_semantics(void **state)
{
    (void)state;
    const char *why = NULL;
    struct bpf_map_def bad = {BPF_MAP_TYPE_ARRAY, 4, 0, 4};
    assert_int_equal(bpf_map_mem_size(&bad, 1, &why), 0);
    assert_string_equal(why, "value_size must be 1..65536");
    struct bpf_map_def rb = {BPF_MAP_TYPE_RINGBUF, 0, 0, 100};
    assert_int_equal(bpf_map_mem_size(&rb, 1, &why), 0);
    /* a full hash refuses, a deleted slot is reused, flags hold */
    struct bpf_map_def hd = {BPF_MAP_TYPE_HASH, 8, 4, 3};
    size_t sz = bpf_map_mem_size(&hd, 1, NULL);
    void *mem = aligned_alloc(8, sz);
    struct bpf_map m;
    assert_int_equal(bpf_map_init(&m, &hd, 1, mem), 0);
    uint32_t v = 1;
    for (uint64_t k = 0; k < 3; k++)
        assert_int_equal(bpf_map_update(&m, &k, &v, BPF_NOEXIST, 0), 0);
    uint64_t k = 3;
    assert_int_equal(bpf_map_update(&m, &k, &v, BPF_ANY, 0), BPF_E2BIG);
    k = 1;
    assert_int_equal(bpf_map_update(&m, &k, &v, BPF_NOEXIST, 0), BPF_EEXIST);
    assert_int_equal(bpf_map_delete(&m, &k), 0);
    k = 9;
    assert_int_equal(bpf_map_update(&m, &k, &v, BPF_EXIST, 0), BPF_ENOENT);
    assert_int_equal(bpf_map_update(&m, &k, &v, BPF_ANY, 0), 0);
    assert_int_equal(m.count, 3);
    uint32_t live = 0;
    for (uint32_t i = 0; i < m.hash_cap; i++) {
        const void *kk;
        void *vv;
        live += bpf_map_hash_slot(&m, i, &kk, &vv);
    }
    assert_int_equal(live, 3);
    free(mem);
    /* ring buffer: refuses a record that does not fit, counts the drop */
    struct bpf_map_def rd = {BPF_MAP_TYPE_RINGBUF, 0, 0, 64};
    mem = aligned_alloc(8, 64);
    assert_int_equal(bpf_map_init(&m, &rd, 1, mem), 0);
    uint8_t buf[64] = {0};
    assert_int_equal(bpf_ringbuf_write(&m, buf, 40), 0);
    assert_int_equal(bpf_ringbuf_write(&m, buf, 16), BPF_EAGAIN);
    assert_int_equal(m.rb_drops, 1);
    assert_int_equal(bpf_ringbuf_read(&m, buf, sizeof buf), 40);
    assert_int_equal(bpf_ringbuf_write(&m, buf, 16), 0);
    free(mem);
}

/* attached to sched_switch: runs on switches only, counts per CPU, and
 * accounts its instructions apart */
static void test_fire(void **state)
{
    (void)state;
    const struct bpf_attach_point *sw = bpf_attach_find("tracepoint/sched/sched_switch");
    assert_non_null(sw);
    assert_null(bpf_attach_find("tracepoint/sched/nothing"));
    struct bpf_insn p[] = {
        LDX_MEM(BPF_W, 6, 1, 56),             /* next_pid */
        CALL(BPF_FUNC_get_smp_processor_id), STX_MEM(BPF_W, 10, 0, -4),
        LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        JMP_IMM(BPF_JEQ, 0, 0, 1),
        ATOMIC(BPF_DW, BPF_ADD, 0, 6, 0),     /* sum of next pids per CPU */
        MOV64_IMM(0, 0), EXIT(),
    };
    struct bpf_prog prog = {p, sizeof p / sizeof p[0], maps, NMAPS, sw->ctx_size};
    struct bpf_verify_result res;
    size_t ws = bpf_verify_workspace_size(prog.len);
    void *w = malloc(ws);
    assert_int_equal(bpf_verify(&prog, NULL, w, ws, &res), 0);
    free(w);
    for (uint32_t k = 0; k < 4; k++)
        *(uint64_t *)bpf_map_lookup(maps[0], &k, 0) = 0;
    struct bpf_attachment at = {&prog, sw, 0, 0, 0, 0, 0};
    uint64_t want[4] = {0};
    for (uint64_t i = 0; i < 10; i++) {
        assert_int_equal(bpf_fire(&at, 1, 0x0100 /* SCHED_TP_SWITCH */, i, i + 100, (uint32_t)(i % 3), i), 1);
        want[i % 3] += i + 100;
        assert_int_equal(bpf_fire(&at, 1, 0x0101 /* SCHED_TP_WAKEUP */, i, 0, 0, i), 0);
    }
    /* idle as next is pid 0 */
    assert_int_equal(bpf_fire(&at, 1, 0x0100, 5, UINT64_MAX, 3, 99), 1);
    for (uint32_t k = 0; k < 4; k++)
        assert_int_equal(*(uint64_t *)bpf_map_lookup(maps[0], &k, 0), want[k]);
    assert_int_equal(at.runs, 11);
    assert_int_equal(at.insns, 11 * 11); /* 11 instructions run per event */
    assert_int_equal(at.helper_calls, 22);
    assert_int_equal(at.faults, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),        cmocka_unit_test(test_count),
        cmocka_unit_test(test_bounded_loop),   cmocka_unit_test(test_var_offset),
        cmocka_unit_test(test_spill_fill),     cmocka_unit_test(test_helpers_run),
        cmocka_unit_test(test_percpu),         cmocka_unit_test(test_alu_semantics),
        cmocka_unit_test(test_reject_stack),   cmocka_unit_test(test_reject_registers),
        cmocka_unit_test(test_reject_loops),   cmocka_unit_test(test_reject_helpers),
        cmocka_unit_test(test_reject_null),    cmocka_unit_test(test_reject_unpriv_leaks),
        cmocka_unit_test(test_reject_cfg),     cmocka_unit_test(test_reject_ctx),
        cmocka_unit_test(test_pruning),        cmocka_unit_test(test_maps_semantics),
        cmocka_unit_test(test_fire),
    };
    return cmocka_run_group_tests(tests, maps_setup, maps_teardown);
}
