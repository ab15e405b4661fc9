/* kernel/bpf/verifier.c: the eBPF verifier (docs/bpf.md).
 *
 * Two passes, as in Linux:
 *   1. check_cfg: decode every instruction (opcodes, reserved fields,
 *      register numbers, LD_IMM64 pairs, jump targets), then a depth-first
 *      walk of the control-flow graph from instruction 0: every instruction
 *      must be reachable and no edge may leave the program or land inside
 *      an LD_IMM64 pair. Back-edges are allowed: loops are bounded by pass 2.
 *   2. do_check: a symbolic walk of every path with an abstract state per
 *      register (type + unsigned range, pointers with a fixed offset and a
 *      variable-offset range) and per stack byte (invalid, data, spilled
 *      register). Conditional jumps narrow the ranges of their operands and
 *      a branch that cannot be taken is not walked, which is what makes a
 *      loop with a bounded counter terminate: each iteration is walked with
 *      its own counter value, the code is never unrolled.
 *
 * State pruning. At prune points (jump targets and the instruction after a
 * conditional jump) the walk stores a checkpoint of its state. Each
 * checkpoint counts its unfinished descendants ("branches"); when that
 * count drops to 0 every path from it was walked and found safe. A state
 * arriving at an instruction is then:
 *   - pruned, if a finished checkpoint there subsumes it (every concrete
 *     state it stands for is one the checkpoint stood for: safe);
 *   - rejected ("infinite loop detected"), if a checkpoint still in
 *     progress subsumes it: that checkpoint is an ancestor of this path
 *     (with depth-first order, unfinished checkpoints are ancestors of the
 *     current path), so the path may repeat forever;
 *   - otherwise walked on. A loop whose states never repeat runs into the
 *     processed-instruction limit (1M, BPF_COMPLEXITY_LIMIT): rejected.
 * Soundness argument: every concrete execution follows a walked abstract
 * path until it meets a pruned point, where it continues as an execution
 * of a finished (safe) checkpoint; so every execution is safe and, since
 * the walk is finite and only finished checkpoints prune, terminates.
 *
 * Subsumption (states_safe): a register NOT_INIT in the checkpoint accepts
 * anything (the checkpoint's walk never read it, or it was rejected);
 * scalars need range containment; pointers need the same type, map and
 * fixed offset and a contained variable range; map_value_or_null pointers
 * also need their null-check ids to correspond one to one.
 *
 * Unprivileged mode (Linux's !allow_ptr_leaks): no pointer may reach a
 * place the program's user can read: not R0 at exit, not a map value, not
 * a helper's scalar argument, not a comparison's outcome, not a partial
 * copy or a partially overwritten spill. */
#include <stdarg.h>

#include "kernel/bpf.h"
#include "kernel/kstring.h"

#include "internal.h"

enum rtype { NOT_INIT = 0, SCALAR, PTR_CTX, PTR_STACK, PTR_MAP, PTR_MAPVAL, PTR_MAPVAL_OR_NULL };
static const char *const tname[] = {"?", "scalar", "ctx", "fp", "map_ptr", "map_value", "map_value_or_null"};

struct vreg {
    uint8_t type;
    uint8_t pad;
    uint16_t map;  /* index into the program's maps */
    uint32_t id;   /* map_value_or_null: null-check identity */
    int32_t off;   /* pointers: fixed offset */
    uint32_t pad2;
    uint64_t umin, umax; /* scalars: the value; pointers: the variable offset */
};

enum { S_INVALID = 0, S_MISC = 1, S_SPILL = 2 };
#define NSLOT (BPF_STACK_SIZE / 8)

struct vstate {
    struct vreg r[11];
    struct vreg spill[NSLOT];
    uint8_t stype[BPF_STACK_SIZE]; /* byte i is at fp - 512 + i */
    uint32_t insn;
    int32_t parent;   /* checkpoint this state descends from, -1: none */
    uint32_t branches;
    int32_t next;     /* per-instruction list / free list */
    uint32_t linked;  /* on its instruction's list (else freed when finished) */
};

enum { F_PRUNE = 1, F_SEEN = 2, F_LDHI = 4, F_JMP = 8 };
#define MAX_CKPT_PER_INSN 32
#define VAR_LIMIT (1ull << 29) /* Linux BPF_MAX_VAR_OFF */
#define U32MAX 0xffffffffull
#define U64MAX (~0ull)

struct venv {
    const struct bpf_prog *p;
    bool unpriv;
    struct bpf_verify_result *res;
    uint8_t *flags;
    int32_t *head;
    int32_t *pend;
    uint32_t npend;
    struct vstate *cur;
    struct vstate *pool;
    uint32_t npool, bump, live, peak;
    int32_t free_head;
    uint32_t id_gen;
    uint64_t limit;
    uint32_t idmap[2 * (11 + NSLOT)];
    uint32_t nidmap;
};

/* --- the log ------------------------------------------------------------------
 * %d takes a long long, %u an unsigned long long, %x an unsigned (hex), %s
 * a string. Everything else is copied. */
static void put(char *b, uint32_t *n, char c)
{
    if (*n + 1 < sizeof(((struct bpf_verify_result *)0)->msg))
        b[(*n)++] = c;
    b[*n] = 0;
}

static void put_u(char *b, uint32_t *n, unsigned long long v, unsigned base)
{
    char t[24];
    int k = 0;
    do {
        t[k++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (k)
        put(b, n, t[--k]);
}

static int fail(struct venv *e, int64_t insn, const char *fmt, ...)
{
    struct bpf_verify_result *r = e->res;
    uint32_t n = 0;
    va_list ap;
    va_start(ap, fmt);
    r->msg[0] = 0;
    r->insn = (int32_t)insn;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%' || !f[1]) {
            put(r->msg, &n, *f);
            continue;
        }
        f++;
        if (*f == 'd') {
            long long v = va_arg(ap, long long);
            if (v < 0) {
                put(r->msg, &n, '-');
                put_u(r->msg, &n, 0ull - (unsigned long long)v, 10);
            } else {
                put_u(r->msg, &n, (unsigned long long)v, 10);
            }
        } else if (*f == 'u') {
            put_u(r->msg, &n, va_arg(ap, unsigned long long), 10);
        } else if (*f == 'x') {
            put_u(r->msg, &n, va_arg(ap, unsigned), 16);
        } else if (*f == 's') {
            for (const char *s = va_arg(ap, const char *); *s; s++)
                put(r->msg, &n, *s);
        } else {
            put(r->msg, &n, *f);
        }
    }
    va_end(ap);
    return -1;
}
#define L(x) ((long long)(x))

/* --- pass 1: decode and the control-flow graph ---------------------------- */
static bool is_cond(unsigned op)
{
    switch (op) {
    case BPF_JEQ: case BPF_JGT: case BPF_JGE: case BPF_JSET: case BPF_JNE: case BPF_JSGT:
    case BPF_JSGE: case BPF_JLT: case BPF_JLE: case BPF_JSLT: case BPF_JSLE:
        return true;
    default:
        return false;
    }
}

static int check_regs(struct venv *e, uint32_t i, const struct bpf_insn *in, bool writes_dst)
{
    if (BPF_DST(in) > 10)
        return fail(e, i, "R%d is invalid", L(BPF_DST(in)));
    if (BPF_SRC(in) > 10)
        return fail(e, i, "R%d is invalid", L(BPF_SRC(in)));
    if (writes_dst && BPF_DST(in) == 10)
        return fail(e, i, "frame pointer is read only");
    return 0;
}

static int decode(struct venv *e, uint32_t i)
{
    const struct bpf_prog *p = e->p;
    const struct bpf_insn *in = &p->insns[i];
    unsigned code = in->code, op = BPF_OP(code);
    switch (BPF_CLASS(code)) {
    case BPF_ALU:
    case BPF_ALU64: {
        bool is64 = BPF_CLASS(code) == BPF_ALU64;
        if (op > BPF_END)
            return fail(e, i, "invalid BPF_ALU opcode %x", (unsigned)op);
        if (op == BPF_END) {
            if (is64)
                return fail(e, i, "unknown opcode %x", (unsigned)code);
            if (BPF_SRC(in) || in->off || (in->imm != 16 && in->imm != 32 && in->imm != 64))
                return fail(e, i, "BPF_END uses reserved fields");
        } else if (op == BPF_NEG) {
            if (BPF_SRCBIT(code) || BPF_SRC(in) || in->off || in->imm)
                return fail(e, i, "BPF_NEG uses reserved fields");
        } else if (BPF_SRCBIT(code)) {
            if (in->imm || in->off)
                return fail(e, i, "BPF_ALU uses reserved fields");
        } else {
            if (BPF_SRC(in) || in->off)
                return fail(e, i, "BPF_ALU uses reserved fields");
            if ((op == BPF_DIV || op == BPF_MOD) && in->imm == 0)
                return fail(e, i, "div by zero");
            if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) &&
                (in->imm < 0 || in->imm >= (is64 ? 64 : 32)))
                return fail(e, i, "invalid shift %d", L(in->imm));
        }
        return check_regs(e, i, in, true);
    }
    case BPF_LDX:
        if (BPF_MODE(code) != BPF_MEM || in->imm)
            return fail(e, i, "unknown opcode %x", (unsigned)code);
        return check_regs(e, i, in, true);
    case BPF_ST:
        if (BPF_MODE(code) != BPF_MEM || BPF_SRC(in))
            return fail(e, i, "BPF_ST uses reserved fields");
        return check_regs(e, i, in, false);
    case BPF_STX:
        if (BPF_MODE(code) == BPF_ATOMIC) {
            if (BPF_SIZE(code) != BPF_W && BPF_SIZE(code) != BPF_DW)
                return fail(e, i, "invalid atomic operand size");
            switch (in->imm) {
            case BPF_ADD: case BPF_ADD | BPF_FETCH: case BPF_OR: case BPF_OR | BPF_FETCH:
            case BPF_AND: case BPF_AND | BPF_FETCH: case BPF_XOR: case BPF_XOR | BPF_FETCH:
            case BPF_XCHG: case BPF_CMPXCHG:
                break;
            default:
                return fail(e, i, "BPF_ATOMIC uses invalid atomic opcode %x", (unsigned)in->imm);
            }
        } else if (BPF_MODE(code) != BPF_MEM || in->imm) {
            return fail(e, i, "BPF_STX uses reserved fields");
        }
        return check_regs(e, i, in, false);
    case BPF_LD:
        if (BPF_MODE(code) == BPF_ABS || BPF_MODE(code) == BPF_IND)
            return fail(e, i, "BPF_LD_[ABS|IND] instructions not supported");
        if (code != (BPF_LD | BPF_IMM | BPF_DW))
            return fail(e, i, "unknown opcode %x", (unsigned)code);
        if (i + 1 >= p->len || in[1].code || in[1].regs || in[1].off || in->off)
            return fail(e, i, "invalid bpf_ld_imm64 insn");
        if (BPF_SRC(in) == BPF_PSEUDO_MAP_FD || BPF_SRC(in) == BPF_PSEUDO_MAP_VALUE) {
            if ((uint32_t)in->imm >= p->nmaps)
                return fail(e, i, "fd %d is not pointing to valid bpf_map", L(in->imm));
            if (BPF_SRC(in) == BPF_PSEUDO_MAP_VALUE) {
                const struct bpf_map *m = p->maps[in->imm];
                if (m->def.type != BPF_MAP_TYPE_ARRAY || m->def.max_entries != 1 ||
                    (uint32_t)in[1].imm >= m->def.value_size)
                    return fail(e, i, "invalid access to map value pointer, value_size=%d off=%d",
                                L(m->def.value_size), L((uint32_t)in[1].imm));
            } else if (in[1].imm) {
                return fail(e, i, "invalid bpf_ld_imm64 insn");
            }
        } else if (BPF_SRC(in) != 0) {
            return fail(e, i, "unrecognized bpf_ld_imm64 insn");
        }
        e->flags[i + 1] |= F_LDHI;
        return check_regs(e, i, in, true);
    default: { /* BPF_JMP, BPF_JMP32 */
        bool j32 = BPF_CLASS(code) == BPF_JMP32;
        if (op == BPF_CALL) {
            if (j32 || BPF_SRCBIT(code))
                return fail(e, i, "unknown opcode %x", (unsigned)code);
            if (BPF_SRC(in) == BPF_PSEUDO_CALL)
                return fail(e, i, "function calls to other bpf functions are not supported");
            if (BPF_SRC(in) || BPF_DST(in) || in->off)
                return fail(e, i, "BPF_CALL uses reserved fields");
            return 0;
        }
        if (op == BPF_EXIT) {
            if (j32 || BPF_SRCBIT(code) || in->regs || in->off || in->imm)
                return fail(e, i, "BPF_EXIT uses reserved fields");
            return 0;
        }
        if (op == BPF_JA) {
            if (j32 || BPF_SRCBIT(code) || in->regs || in->imm)
                return fail(e, i, "BPF_JA uses reserved fields");
        } else if (!is_cond(op)) {
            return fail(e, i, "unknown opcode %x", (unsigned)code);
        } else if (BPF_SRCBIT(code) ? in->imm != 0 : BPF_SRC(in) != 0) {
            return fail(e, i, "BPF_JMP/JMP32 uses reserved fields");
        }
        int64_t t = (int64_t)i + in->off + 1;
        if (t < 0 || t >= (int64_t)p->len)
            return fail(e, i, "jump out of range from insn %d to %d", L(i), L(t));
        e->flags[t] |= F_PRUNE;
        if (op != BPF_JA && i + 1 < p->len)
            e->flags[i + 1] |= F_PRUNE;
        e->flags[i] |= F_JMP;
        return check_regs(e, i, in, false);
    }
    }
}

/* Successors of instruction i (0, 1 or 2); -1 stands for "falls off the end". */
static int succ(const struct venv *e, uint32_t i, int64_t s[2])
{
    const struct bpf_insn *in = &e->p->insns[i];
    unsigned cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
    int64_t next = (int64_t)i + (cls == BPF_LD ? 2 : 1);
    if (cls == BPF_JMP || cls == BPF_JMP32) {
        if (op == BPF_EXIT)
            return 0;
        if (op == BPF_CALL) {
            s[0] = next;
            return 1;
        }
        s[0] = (int64_t)i + in->off + 1;
        if (op == BPF_JA)
            return 1;
        s[1] = next;
        return 2;
    }
    s[0] = next;
    return 1;
}

static int check_cfg(struct venv *e)
{
    const struct bpf_prog *p = e->p;
    for (uint32_t i = 0; i < p->len; i++) {
        if (e->flags[i] & F_LDHI)
            continue; /* second half of an LD_IMM64, checked with its first */
        if (decode(e, i))
            return -1;
        if (BPF_CLASS(p->insns[i].code) == BPF_LD)
            i++;
    }
    /* depth-first reachability; head[] is the explicit stack here */
    int32_t *stack = e->head;
    uint32_t sp = 0;
    stack[sp++] = 0;
    e->flags[0] |= F_SEEN;
    while (sp) {
        uint32_t i = (uint32_t)stack[--sp];
        int64_t s[2];
        int ns = succ(e, i, s);
        for (int k = 0; k < ns; k++) {
            if (s[k] >= (int64_t)p->len)
                return fail(e, i, i + 1 == p->len ? "last insn is not an exit or jmp"
                                                  : "jump out of range from insn %d to %d", L(i), L(s[k]));
            if (e->flags[s[k]] & F_LDHI)
                return fail(e, i, "jump into the middle of ldimm64 insn %d", L(s[k] - 1));
            if (!(e->flags[s[k]] & F_SEEN)) {
                e->flags[s[k]] |= F_SEEN;
                stack[sp++] = (int32_t)s[k];
            }
        }
    }
    for (uint32_t i = 0; i < p->len; i++)
        if (!(e->flags[i] & (F_SEEN | F_LDHI)))
            return fail(e, i, "unreachable insn %d", L(i));
    return 0;
}

/* --- abstract values ----------------------------------------------------------- */
static void mark_unknown(struct vreg *r, uint64_t max)
{
    kmemset(r, 0, sizeof *r);
    r->type = SCALAR;
    r->umax = max;
}

static void mark_const(struct vreg *r, uint64_t v)
{
    kmemset(r, 0, sizeof *r);
    r->type = SCALAR;
    r->umin = r->umax = v;
}

static bool is_ptr(const struct vreg *r) { return r->type >= PTR_CTX; }
static bool is_const(const struct vreg *r) { return r->type == SCALAR && r->umin == r->umax; }
static uint64_t size_max(unsigned size) { return size == 8 ? U64MAX : (1ull << (8 * size)) - 1; }
static uint64_t bitmask(uint64_t x)
{
    x |= x >> 1; x |= x >> 2; x |= x >> 4; x |= x >> 8; x |= x >> 16; x |= x >> 32;
    return x;
}

/* Range of `a op b` for scalars (32-bit operands already truncated). */
static void alu_range(unsigned op, struct vreg *d, const struct vreg *a, const struct vreg *b, bool is64)
{
    uint64_t U = is64 ? U64MAX : U32MAX, w = is64 ? 64 : 32, lo = 0, hi = U;
    if (a->umin == a->umax && b->umin == b->umax) {
        mark_const(d, bpf_alu(op, a->umin, b->umin, is64));
        return;
    }
    switch (op) {
    case BPF_ADD:
        if (a->umax <= U - b->umax) { lo = a->umin + b->umin; hi = a->umax + b->umax; }
        break;
    case BPF_SUB:
        if (a->umin >= b->umax) { lo = a->umin - b->umax; hi = a->umax - b->umin; }
        break;
    case BPF_MUL:
        if (a->umax <= U32MAX && b->umax <= U32MAX && a->umax * b->umax <= U) {
            lo = a->umin * b->umin; hi = a->umax * b->umax;
        }
        break;
    case BPF_DIV:
        if (b->umin > 0) { lo = a->umin / b->umax; hi = a->umax / b->umin; }
        else hi = a->umax;
        break;
    case BPF_MOD:
        if (a->umax < b->umin) { lo = a->umin; hi = a->umax; }
        else if (b->umin > 0) hi = a->umax < b->umax - 1 ? a->umax : b->umax - 1;
        else hi = a->umax;
        break;
    case BPF_AND:
        hi = a->umax < b->umax ? a->umax : b->umax;
        break;
    case BPF_OR:
        lo = a->umin > b->umin ? a->umin : b->umin;
        hi = bitmask(a->umax > b->umax ? a->umax : b->umax);
        break;
    case BPF_XOR:
        hi = bitmask(a->umax > b->umax ? a->umax : b->umax);
        break;
    case BPF_LSH:
        if (b->umax < w && a->umax <= (U >> b->umax)) { lo = a->umin << b->umin; hi = a->umax << b->umax; }
        break;
    case BPF_RSH:
        if (b->umax < w) { lo = a->umin >> b->umax; hi = a->umax >> b->umin; }
        else hi = a->umax;
        break;
    case BPF_ARSH:
        if (b->umax < w && a->umax <= (U >> 1)) { lo = a->umin >> b->umax; hi = a->umax >> b->umin; }
        break;
    default: /* NEG, END of a non-constant */
        break;
    }
    if (hi > U) { lo = 0; hi = U; }
    mark_unknown(d, hi);
    d->umin = lo;
}

static struct vreg trunc32(const struct vreg *r)
{
    struct vreg t = *r;
    if (t.umax > U32MAX) {
        if ((t.umin >> 32) == (t.umax >> 32) && (uint32_t)t.umin <= (uint32_t)t.umax) {
            t.umin = (uint32_t)t.umin; t.umax = (uint32_t)t.umax; /* same upper half */
        } else {
            t.umin = 0; t.umax = U32MAX;
        }
    }
    return t;
}

/* --- states --------------------------------------------------------------------- */
static int32_t state_alloc(struct venv *e)
{
    int32_t k;
    if (e->free_head >= 0) {
        k = e->free_head;
        e->free_head = e->pool[k].next;
    } else if (e->bump < e->npool) {
        k = (int32_t)e->bump++;
    } else {
        return -1;
    }
    if (++e->live > e->peak)
        e->peak = e->live;
    return k;
}

static void state_free(struct venv *e, int32_t k)
{
    e->pool[k].next = e->free_head;
    e->free_head = k;
    e->live--;
}

static bool check_id(struct venv *e, uint32_t old, uint32_t cur)
{
    for (uint32_t k = 0; k < e->nidmap; k += 2)
        if (e->idmap[k] == old || e->idmap[k + 1] == cur)
            return e->idmap[k] == old && e->idmap[k + 1] == cur;
    if (e->nidmap + 2 > sizeof e->idmap / sizeof e->idmap[0])
        return false;
    e->idmap[e->nidmap++] = old;
    e->idmap[e->nidmap++] = cur;
    return true;
}

static bool regsafe(struct venv *e, const struct vreg *o, const struct vreg *c)
{
    if (o->type == NOT_INIT)
        return true;
    if (o->type != c->type)
        return false;
    if (c->umin < o->umin || c->umax > o->umax)
        return false;
    switch (o->type) {
    case SCALAR:
        return true;
    case PTR_MAP:
        return o->map == c->map;
    case PTR_MAPVAL_OR_NULL:
        if (!check_id(e, o->id, c->id))
            return false;
        /* fall through */
    default:
        return o->map == c->map && o->off == c->off;
    }
}

static bool states_safe(struct venv *e, const struct vstate *o, const struct vstate *c)
{
    e->nidmap = 0;
    for (int r = 0; r < 11; r++)
        if (!regsafe(e, &o->r[r], &c->r[r]))
            return false;
    for (int i = 0; i < BPF_STACK_SIZE; i++) {
        uint8_t ot = o->stype[i], ct = c->stype[i];
        if (ot == S_INVALID)
            continue;
        if (ot == S_MISC) {
            if (ct == S_MISC || (ct == S_SPILL && c->spill[i / 8].type == SCALAR))
                continue;
            return false;
        }
        if (ct != S_SPILL)
            return false;
        if ((i & 7) == 0 && !regsafe(e, &o->spill[i / 8], &c->spill[i / 8]))
            return false;
    }
    return true;
}

/* A path ended (exit or pruned): its checkpoints lose one unfinished branch. */
static void path_done(struct venv *e, int32_t k)
{
    while (k >= 0) {
        if (--e->pool[k].branches)
            break;
        int32_t parent = e->pool[k].parent;
        if (!e->pool[k].linked)
            state_free(e, k);
        k = parent;
    }
}

/* Queue a copy of s to be walked from insn; returns its pool index or -1. */
static int32_t push_branch(struct venv *e, const struct vstate *s, uint32_t insn)
{
    if (e->npend >= BPF_COMPLEXITY_LIMIT_JMP_SEQ)
        return fail(e, insn, "The sequence of %d jumps is too complex.", L(e->npend + 1));
    int32_t k = state_alloc(e);
    if (k < 0)
        return fail(e, insn, "verifier state memory exhausted (%d states)", L(e->npool));
    kmemcpy(&e->pool[k], s, sizeof *s);
    e->pool[k].insn = insn;
    e->pool[k].linked = 0;
    if (s->parent >= 0)
        e->pool[s->parent].branches++;
    e->pend[e->npend++] = k;
    return k;
}

/* 1: pruned, 0: go on, -1: rejected. */
static int prune_point(struct venv *e, uint32_t pc)
{
    struct vstate *c = e->cur;
    int32_t last = -1;
    uint32_t n = 0;
    for (int32_t k = e->head[pc]; k >= 0; last = k, k = e->pool[k].next, n++) {
        if (n == MAX_CKPT_PER_INSN - 1) {
            /* keep the newest: the previous iterations of a loop, which
             * is where a repeating state is found. Older checkpoints
             * leave the list; finished ones free their memory now,
             * unfinished ones when they finish (path_done). */
            e->pool[last].next = -1;
            while (k >= 0) {
                int32_t nx = e->pool[k].next;
                e->pool[k].linked = 0;
                if (e->pool[k].branches == 0)
                    state_free(e, k);
                k = nx;
            }
            break;
        }
        if (!states_safe(e, &e->pool[k], c))
            continue;
        if (e->pool[k].branches == 0)
            return 1;
        return fail(e, pc, "infinite loop detected at insn %d", L(pc));
    }
    /* keep room for the branches still to come: up to Linux's limit on
     * pending branches when the pool is big enough, else a quarter */
    uint32_t reserve = e->npool >= 2 * BPF_COMPLEXITY_LIMIT_JMP_SEQ ? BPF_COMPLEXITY_LIMIT_JMP_SEQ - e->npend
                                                                     : e->npool / 4;
    if (e->npool - e->live <= reserve)
        return 0;
    int32_t k = state_alloc(e);
    if (k < 0)
        return 0;
    kmemcpy(&e->pool[k], c, sizeof *c);
    e->pool[k].insn = pc;
    e->pool[k].branches = 1;
    e->pool[k].linked = 1;
    e->pool[k].next = e->head[pc];
    e->head[pc] = k;
    c->parent = k;
    e->res->states++;
    return 0;
}

/* --- memory access ------------------------------------------------------------- */
static struct vreg *reg_read(struct venv *e, uint32_t pc, unsigned r, int *err)
{
    struct vreg *v = &e->cur->r[r];
    if (v->type == NOT_INIT)
        *err = fail(e, pc, "R%d !read_ok", L(r));
    return v;
}

static const struct bpf_map *reg_map(const struct venv *e, const struct vreg *r)
{
    return e->p->maps[r->map];
}

/* Bounds of an access of `size` at pointer r + off into a map value. */
static int check_map_access(struct venv *e, uint32_t pc, unsigned regno, const struct vreg *r, int64_t off,
                            uint64_t size)
{
    uint32_t vs = reg_map(e, r)->def.value_size;
    if (r->umax >= VAR_LIMIT)
        return fail(e, pc, "R%d unbounded memory access, make sure to bounds check any such access", L(regno));
    int64_t lo = (int64_t)r->off + off + (int64_t)r->umin;
    int64_t hi = (int64_t)r->off + off + (int64_t)r->umax + (int64_t)size;
    if (lo < 0)
        return fail(e, pc, "R%d min value is outside of the allowed memory range", L(regno));
    if (hi > (int64_t)vs)
        return fail(e, pc, "invalid access to map value, value_size=%d off=%d size=%d", L(vs),
                    L(hi - (int64_t)size), L(size));
    return 0;
}

static void stack_unspill(struct vstate *s, int slot)
{
    for (int b = 0; b < 8; b++)
        s->stype[slot * 8 + b] = S_MISC;
    kmemset(&s->spill[slot], 0, sizeof s->spill[slot]);
}

/* kind: 0 load, 1 store, 2 atomic (read-modify-write). val: the register
 * stored (NULL for BPF_ST or atomics). On a load, *out gets the result. */
static int check_mem(struct venv *e, uint32_t pc, unsigned regno, int16_t insn_off, unsigned size, int kind,
                     const struct vreg *val, unsigned valno, struct vreg *out)
{
    struct vstate *s = e->cur;
    const struct vreg *r = &s->r[regno];
    switch (r->type) {
    case NOT_INIT:
        return fail(e, pc, "R%d !read_ok", L(regno));
    case SCALAR:
    case PTR_MAP:
    case PTR_MAPVAL_OR_NULL:
        return fail(e, pc, "R%d invalid mem access '%s'", L(regno), tname[r->type]);
    case PTR_CTX: {
        int64_t o = (int64_t)r->off + insn_off;
        if (r->umax)
            return fail(e, pc, "variable ctx access var_off=(%u; %u) disallowed", (unsigned long long)r->umin,
                        (unsigned long long)r->umax);
        if (kind == 2)
            return fail(e, pc, "BPF_ATOMIC stores into R%d ctx is not allowed", L(regno));
        if (kind == 1 || o < 0 || o + size > e->p->ctx_size || o % size)
            return fail(e, pc, "invalid bpf_context access off=%d size=%d", L(o), L(size));
        mark_unknown(out, size_max(size));
        return 0;
    }
    case PTR_STACK: {
        int64_t o = (int64_t)r->off + insn_off;
        if (r->umax)
            return fail(e, pc, "R%d variable stack access prohibited", L(regno));
        if (o < -BPF_STACK_SIZE || o + (int64_t)size > 0)
            return fail(e, pc, kind ? "invalid write to stack R%d off=%d size=%d"
                                    : "invalid read from stack R%d off=%d size=%d", L(regno), L(o), L(size));
        if (o % size)
            return fail(e, pc, "misaligned stack access off %d size %d", L(o), L(size));
        int base = (int)(o + BPF_STACK_SIZE), slot = base / 8;
        if (kind != 1) { /* reads */
            for (unsigned b = 0; b < size; b++)
                if (s->stype[base + b] == S_INVALID)
                    return fail(e, pc, "invalid read from stack off %d+%d size %d", L(o), L(b), L(size));
            if (s->stype[base] == S_SPILL && is_ptr(&s->spill[slot])) {
                if (kind == 2)
                    return fail(e, pc, "R%d leaks addr into mem", L(regno));
                if (size == 8) {
                    *out = s->spill[slot];
                    return 0;
                }
                if (e->unpriv)
                    return fail(e, pc, "leaking pointer from stack off %d", L(o));
                mark_unknown(out, size_max(size));
                return 0;
            }
            if (kind == 0) {
                if (s->stype[base] == S_SPILL && size == 8)
                    *out = s->spill[slot];
                else
                    mark_unknown(out, size_max(size));
                return 0;
            }
            stack_unspill(s, slot); /* atomic: the slot now holds plain data */
            return 0;
        }
        if (val && size == 8) { /* spill a register (pointer or scalar) */
            s->spill[slot] = *val;
            for (int b = 0; b < 8; b++)
                s->stype[base + b] = S_SPILL;
            return 0;
        }
        if (val && is_ptr(val) && e->unpriv)
            return fail(e, pc, "R%d invalid size of register spill", L(valno));
        if (s->stype[slot * 8] == S_SPILL) {
            if (is_ptr(&s->spill[slot]) && e->unpriv && size < 8)
                return fail(e, pc, "attempt to corrupt spilled pointer on stack");
            stack_unspill(s, slot);
        }
        for (unsigned b = 0; b < size; b++)
            s->stype[base + b] = S_MISC;
        return 0;
    }
    case PTR_MAPVAL: {
        if (check_map_access(e, pc, regno, r, insn_off, size))
            return -1;
        if (kind == 2 && (r->umax || ((int64_t)r->off + insn_off) % size))
            return fail(e, pc, "misaligned value access off %d size %d", L((int64_t)r->off + insn_off), L(size));
        if (kind == 1 && val && is_ptr(val) && e->unpriv)
            return fail(e, pc, "R%d leaks addr into map", L(valno));
        if (kind == 0)
            mark_unknown(out, size_max(size));
        return 0;
    }
    }
    return fail(e, pc, "R%d invalid mem access", L(regno));
}

/* --- ALU --------------------------------------------------------------------------- */
static const char *opname(unsigned op)
{
    static const char *const n[] = {"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=",
                                    "neg", "%=", "^=", "=", "s>>=", "endian"};
    return n[(op >> 4) < 14 ? op >> 4 : 0];
}

static int ptr_arith(struct venv *e, uint32_t pc, const struct bpf_insn *in, struct vreg *d, const struct vreg *sv)
{
    unsigned op = BPF_OP(in->code), dst = BPF_DST(in);
    bool dp = is_ptr(d), sp = is_ptr(sv);
    if (BPF_CLASS(in->code) == BPF_ALU)
        return fail(e, pc, "R%d 32-bit pointer arithmetic prohibited", L(dst));
    if (op == BPF_AND || op == BPF_OR || op == BPF_XOR)
        return fail(e, pc, "R%d bitwise operator %s on pointer prohibited", L(dst), opname(op));
    if (op != BPF_ADD && op != BPF_SUB)
        return fail(e, pc, "R%d pointer arithmetic with %s operator prohibited", L(dst), opname(op));
    if (dp && sp) {
        if (op == BPF_ADD)
            return fail(e, pc, "R%d pointer += pointer prohibited", L(dst));
        if (e->unpriv || d->type != sv->type || d->map != sv->map ||
            (d->type != PTR_STACK && d->type != PTR_MAPVAL && d->type != PTR_CTX))
            return fail(e, pc, "R%d pointer -= pointer prohibited", L(dst));
        mark_unknown(d, U64MAX);
        return 0;
    }
    if (!dp && op == BPF_SUB)
        return fail(e, pc, "R%d tried to subtract pointer from scalar", L(dst));
    const struct vreg *ptr = dp ? d : sv, *sc = dp ? sv : d;
    if (ptr->type == PTR_MAPVAL_OR_NULL)
        return fail(e, pc, "R%d pointer arithmetic on map_value_or_null prohibited, null-check it first", L(dst));
    if (ptr->type == PTR_MAP)
        return fail(e, pc, "R%d pointer arithmetic on map_ptr prohibited", L(dst));
    struct vreg res = *ptr;
    if (is_const(sc)) {
        int64_t c = (int64_t)sc->umin, o = res.off;
        if (c > (int64_t)VAR_LIMIT || c < -(int64_t)VAR_LIMIT)
            return fail(e, pc, "R%d value %d makes %s pointer be out of bounds", L(dst), L(c), tname[ptr->type]);
        o = op == BPF_ADD ? o + c : o - c;
        if (o > (int64_t)VAR_LIMIT || o < -(int64_t)VAR_LIMIT)
            return fail(e, pc, "R%d value %d makes %s pointer be out of bounds", L(dst), L(c), tname[ptr->type]);
        res.off = (int32_t)o;
    } else {
        if (op == BPF_SUB)
            return fail(e, pc, "R%d subtraction of a variable offset from pointer prohibited", L(dst));
        res.umin = sc->umin > U64MAX - ptr->umin ? U64MAX : ptr->umin + sc->umin;
        res.umax = sc->umax > U64MAX - ptr->umax ? U64MAX : ptr->umax + sc->umax;
    }
    *d = res;
    return 0;
}

static int do_alu(struct venv *e, uint32_t pc, const struct bpf_insn *in)
{
    struct vstate *s = e->cur;
    unsigned op = BPF_OP(in->code), dst = BPF_DST(in);
    bool is64 = BPF_CLASS(in->code) == BPF_ALU64;
    int err = 0;
    struct vreg sv, *d = &s->r[dst];
    if (BPF_SRCBIT(in->code) && op != BPF_END) {
        sv = *reg_read(e, pc, BPF_SRC(in), &err);
        if (err)
            return err;
    } else {
        mark_const(&sv, is64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
    }
    if (op == BPF_MOV) {
        if (is64) {
            *d = sv;
        } else if (is_ptr(&sv)) {
            if (e->unpriv)
                return fail(e, pc, "R%d partial copy of pointer", L(BPF_SRC(in)));
            mark_unknown(d, U32MAX);
        } else {
            *d = trunc32(&sv);
        }
        return 0;
    }
    reg_read(e, pc, dst, &err);
    if (err)
        return err;
    if (op == BPF_NEG || op == BPF_END) {
        if (is_ptr(d))
            return fail(e, pc, "R%d pointer arithmetic with %s operator prohibited", L(dst), opname(op));
        /* BPF_END (class ALU) reads the whole register: swapping 64 bits */
        struct vreg a = is64 || op == BPF_END ? *d : trunc32(d);
        if (is_const(&a))
            mark_const(d, op == BPF_NEG ? bpf_alu(op, a.umin, 0, is64)
                                        : bpf_end(a.umin, BPF_SRCBIT(in->code) != 0, in->imm));
        else
            mark_unknown(d, op == BPF_NEG ? (is64 ? U64MAX : U32MAX) : size_max((unsigned)in->imm / 8));
        return 0;
    }
    if (is_ptr(d) || is_ptr(&sv))
        return ptr_arith(e, pc, in, d, &sv);
    if (is64) {
        struct vreg a = *d;
        alu_range(op, d, &a, &sv, true);
    } else {
        struct vreg a = trunc32(d), b = trunc32(&sv);
        alu_range(op, d, &a, &b, false);
    }
    return 0;
}

/* --- conditional jumps ----------------------------------------------------------- */
static unsigned negate(unsigned op)
{
    switch (op) {
    case BPF_JEQ: return BPF_JNE;
    case BPF_JNE: return BPF_JEQ;
    case BPF_JGT: return BPF_JLE;
    case BPF_JLE: return BPF_JGT;
    case BPF_JGE: return BPF_JLT;
    case BPF_JLT: return BPF_JGE;
    case BPF_JSGT: return BPF_JSLE;
    case BPF_JSLE: return BPF_JSGT;
    case BPF_JSGE: return BPF_JSLT;
    case BPF_JSLT: return BPF_JSGE;
    default: return 0; /* JSET's negation has no opcode */
    }
}

/* Narrow scalars a, b for "a op b holds"; false if it cannot hold. The
 * ranges are unsigned; callers map signed ops here only when both ranges
 * lie where signed and unsigned order agree. */
static bool narrow(unsigned op, struct vreg *a, struct vreg *b)
{
    switch (op) {
    case BPF_JEQ: {
        uint64_t lo = a->umin > b->umin ? a->umin : b->umin, hi = a->umax < b->umax ? a->umax : b->umax;
        if (lo > hi)
            return false;
        a->umin = b->umin = lo;
        a->umax = b->umax = hi;
        return true;
    }
    case BPF_JNE:
        if (is_const(a) && is_const(b))
            return a->umin != b->umin;
        if (is_const(b)) {
            if (a->umin == b->umin) a->umin++;
            else if (a->umax == b->umin) a->umax--;
        } else if (is_const(a)) {
            if (b->umin == a->umin) b->umin++;
            else if (b->umax == a->umin) b->umax--;
        }
        return true;
    case BPF_JGT:
        if (a->umax <= b->umin)
            return false;
        if (a->umin < b->umin + 1) a->umin = b->umin + 1;
        if (b->umax > a->umax - 1) b->umax = a->umax - 1;
        return true;
    case BPF_JGE:
        if (a->umax < b->umin)
            return false;
        if (a->umin < b->umin) a->umin = b->umin;
        if (b->umax > a->umax) b->umax = a->umax;
        return true;
    case BPF_JLT:
        return narrow(BPF_JGT, b, a);
    case BPF_JLE:
        return narrow(BPF_JGE, b, a);
    default:
        return true;
    }
}

static void mark_null(struct vstate *s, uint32_t id, bool is_null)
{
    for (int k = 0; k < 11 + NSLOT; k++) {
        struct vreg *r = k < 11 ? &s->r[k] : &s->spill[k - 11];
        if (k >= 11 && s->stype[(k - 11) * 8] != S_SPILL)
            continue;
        if (r->type != PTR_MAPVAL_OR_NULL || r->id != id)
            continue;
        if (is_null)
            mark_const(r, 0);
        else
            r->type = PTR_MAPVAL;
    }
}

/* 0: *fall says whether the fall-through is walked (a walkable taken
 * branch was pushed); 2: only the taken branch is walkable and the state
 * now stands there; -1: rejected. */
static int do_cond(struct venv *e, uint32_t pc, const struct bpf_insn *in, bool *fall)
{
    struct vstate *s = e->cur;
    unsigned op = BPF_OP(in->code), dst = BPF_DST(in), src = BPF_SRC(in);
    bool j64 = BPF_CLASS(in->code) == BPF_JMP, x = BPF_SRCBIT(in->code) != 0;
    uint32_t target = (uint32_t)((int64_t)pc + in->off + 1);
    int err = 0;
    struct vreg a = *reg_read(e, pc, dst, &err), b;
    if (err)
        return err;
    if (x) {
        b = *reg_read(e, pc, src, &err);
        if (err)
            return err;
    } else {
        mark_const(&b, j64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
    }
    *fall = true;
    /* null check of a map lookup result: the taken branch of JEQ 0 and the
     * fall-through of JNE 0 see NULL (a scalar 0), the others the value */
    if (a.type == PTR_MAPVAL_OR_NULL && j64 && (op == BPF_JEQ || op == BPF_JNE) && is_const(&b) &&
        b.umin == 0) {
        int32_t k = push_branch(e, s, target);
        if (k < 0)
            return -1;
        mark_null(&e->pool[k], a.id, op == BPF_JEQ);
        mark_null(s, a.id, op == BPF_JNE);
        return 0;
    }
    if (is_ptr(&a) || is_ptr(&b)) {
        if (e->unpriv)
            return fail(e, pc, "R%d pointer comparison prohibited", L(is_ptr(&a) ? dst : src));
        return push_branch(e, s, target) < 0 ? -1 : 0;
    }
    if (!j64) {
        a = trunc32(&a);
        b = trunc32(&b);
    }
    bool narrowable = true;
    unsigned uop = op;
    if (op == BPF_JSGT || op == BPF_JSGE || op == BPF_JSLT || op == BPF_JSLE) {
        uint64_t smax = j64 ? U64MAX >> 1 : U32MAX >> 1;
        narrowable = a.umax <= smax && b.umax <= smax;
        uop = op == BPF_JSGT ? BPF_JGT : op == BPF_JSGE ? BPF_JGE : op == BPF_JSLT ? BPF_JLT : BPF_JLE;
    }
    bool a32 = !j64 && (s->r[dst].umax > U32MAX), b32 = !j64 && x && (s->r[src].umax > U32MAX);
    struct vreg ta = a, tb = b, fa = a, fb = b;
    bool take, fl;
    if (is_const(&a) && is_const(&b)) {
        take = bpf_cond(op, a.umin, b.umin, j64);
        fl = !take;
    } else if (op == BPF_JSET) {
        take = a.umax != 0 && b.umax != 0;
        fl = true;
    } else if (narrowable) {
        take = narrow(uop, &ta, &tb);
        fl = narrow(negate(uop), &fa, &fb);
    } else {
        take = fl = true;
    }
    /* narrowed 32-bit views say nothing about the upper half: write back
     * only registers that lie within 32 bits */
    if (take) {
        struct vreg sa = s->r[dst], sb = x ? s->r[src] : b;
        if (narrowable && op != BPF_JSET) {
            if (!a32) s->r[dst] = ta;
            if (x && !b32) s->r[src] = tb;
        }
        if (fl) {
            if (push_branch(e, s, target) < 0)
                return -1;
            s->r[dst] = sa;
            if (x) s->r[src] = sb;
        } else {
            *fall = false;
            s->insn = target;
            return 2; /* continue at target in place */
        }
    }
    if (fl && narrowable && op != BPF_JSET) {
        if (!a32) s->r[dst] = fa;
        if (x && !b32) s->r[src] = fb;
    }
    *fall = fl;
    return 0;
}

/* --- helper calls ------------------------------------------------------------------ */
enum argt { A_NONE, A_MAP, A_KEY, A_VALUE, A_MEM, A_SIZE, A_SIZE0, A_ANY };
enum rett { R_INT, R_MAPVAL_OR_NULL };
struct proto {
    int32_t id;
    const char *name;
    uint8_t ret;
    uint8_t args[5];
    bool priv_only;
};
static const struct proto protos[] = {
    {BPF_FUNC_map_lookup_elem, "bpf_map_lookup_elem", R_MAPVAL_OR_NULL, {A_MAP, A_KEY}, false},
    {BPF_FUNC_map_update_elem, "bpf_map_update_elem", R_INT, {A_MAP, A_KEY, A_VALUE, A_ANY}, false},
    {BPF_FUNC_map_delete_elem, "bpf_map_delete_elem", R_INT, {A_MAP, A_KEY}, false},
    {BPF_FUNC_ktime_get_ns, "bpf_ktime_get_ns", R_INT, {0}, false},
    {BPF_FUNC_trace_printk, "bpf_trace_printk", R_INT, {A_MEM, A_SIZE}, true},
    {BPF_FUNC_get_smp_processor_id, "bpf_get_smp_processor_id", R_INT, {0}, false},
    {BPF_FUNC_ringbuf_output, "bpf_ringbuf_output", R_INT, {A_MAP, A_MEM, A_SIZE0, A_ANY}, false},
};

/* Memory a helper reads: [r, r + size) initialised, inside the stack or a
 * map value. */
static int check_helper_mem(struct venv *e, uint32_t pc, unsigned regno, uint64_t size)
{
    struct vstate *s = e->cur;
    const struct vreg *r = &s->r[regno];
    if (r->type == PTR_MAPVAL)
        return check_map_access(e, pc, regno, r, 0, size);
    if (r->type != PTR_STACK)
        return fail(e, pc, "R%d type=%s expected=fp, map_value", L(regno), tname[r->type]);
    if (r->umax)
        return fail(e, pc, "R%d variable stack access prohibited", L(regno));
    int64_t o = r->off;
    if (o < -BPF_STACK_SIZE || o + (int64_t)size > 0 || size > BPF_STACK_SIZE)
        return fail(e, pc, "invalid indirect access to stack R%d off=%d size=%d", L(regno), L(o), L(size));
    for (uint64_t b = 0; b < size; b++) {
        int k = (int)(o + BPF_STACK_SIZE + (int64_t)b);
        if (s->stype[k] == S_INVALID)
            return fail(e, pc, "invalid indirect read from stack R%d off %d+%d size %d", L(regno), L(o), L(b),
                        L(size));
        if (s->stype[k] == S_SPILL && is_ptr(&s->spill[k / 8]) && e->unpriv)
            return fail(e, pc, "R%d leaks addr into helper function", L(regno));
    }
    return 0;
}

static bool map_ok(int32_t id, uint32_t type)
{
    if (id == BPF_FUNC_ringbuf_output)
        return type == BPF_MAP_TYPE_RINGBUF;
    return type != BPF_MAP_TYPE_RINGBUF;
}

static int do_call(struct venv *e, uint32_t pc, const struct bpf_insn *in)
{
    struct vstate *s = e->cur;
    const struct proto *pr = 0;
    for (uint32_t k = 0; k < sizeof protos / sizeof protos[0]; k++)
        if (protos[k].id == in->imm)
            pr = &protos[k];
    if (!pr)
        return fail(e, pc, "invalid func unknown#%d", L(in->imm));
    if (pr->priv_only && e->unpriv)
        return fail(e, pc, "unknown func %s#%d", pr->name, L(in->imm));
    const struct bpf_map *map = 0;
    for (unsigned a = 0; a < 5; a++) {
        unsigned regno = a + 1;
        const struct vreg *r = &s->r[regno];
        if (pr->args[a] == A_NONE)
            continue;
        if (r->type == NOT_INIT)
            return fail(e, pc, "R%d !read_ok", L(regno));
        switch (pr->args[a]) {
        case A_MAP:
            if (r->type != PTR_MAP)
                return fail(e, pc, "R%d type=%s expected=map_ptr", L(regno), tname[r->type]);
            map = reg_map(e, r);
            if (!map_ok(pr->id, map->def.type))
                return fail(e, pc, "cannot pass map_type %d into func %s#%d", L(map->def.type), pr->name,
                            L(pr->id));
            break;
        case A_KEY:
        case A_VALUE:
            if (check_helper_mem(e, pc, regno, pr->args[a] == A_KEY ? map->def.key_size : map->def.value_size))
                return -1;
            break;
        case A_MEM: {
            const struct vreg *sz = &s->r[regno + 1];
            if (sz->type != SCALAR)
                return fail(e, pc, "R%d type=%s expected=scalar", L(regno + 1), tname[sz->type]);
            if (sz->umax >= VAR_LIMIT)
                return fail(e, pc, "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'",
                            L(regno + 1));
            if (pr->args[a + 1] == A_SIZE && sz->umin == 0)
                return fail(e, pc, "R%d invalid zero-sized read", L(regno + 1));
            if (sz->umax && check_helper_mem(e, pc, regno, sz->umax))
                return -1;
            if (!sz->umax && r->type != PTR_STACK && r->type != PTR_MAPVAL)
                return fail(e, pc, "R%d type=%s expected=fp, map_value", L(regno), tname[r->type]);
            break;
        }
        case A_ANY:
            if (e->unpriv && is_ptr(r))
                return fail(e, pc, "R%d leaks addr into helper function", L(regno));
            break;
        default: /* sizes: checked with their memory argument */
            break;
        }
    }
    uint16_t mapidx = s->r[1].map;
    for (int r = 1; r <= 5; r++)
        kmemset(&s->r[r], 0, sizeof s->r[r]);
    if (pr->ret == R_MAPVAL_OR_NULL) {
        kmemset(&s->r[0], 0, sizeof s->r[0]);
        s->r[0].type = PTR_MAPVAL_OR_NULL;
        s->r[0].map = mapidx;
        s->r[0].id = ++e->id_gen;
    } else if (pr->id == BPF_FUNC_get_smp_processor_id) {
        mark_unknown(&s->r[0], U32MAX);
    } else {
        mark_unknown(&s->r[0], U64MAX);
    }
    return 0;
}

/* --- pass 2: the walk ------------------------------------------------------------- */
static int step(struct venv *e, bool *path_end)
{
    struct vstate *s = e->cur;
    uint32_t pc = s->insn;
    const struct bpf_insn *in = &e->p->insns[pc];
    unsigned cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
    int err = 0;
    *path_end = false;
    switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
        if (do_alu(e, pc, in))
            return -1;
        s->insn = pc + 1;
        return 0;
    case BPF_LDX: {
        struct vreg out;
        unsigned size = (unsigned[]){4, 2, 1, 8}[BPF_SIZE(in->code) >> 3];
        reg_read(e, pc, BPF_SRC(in), &err);
        if (err || check_mem(e, pc, BPF_SRC(in), in->off, size, 0, 0, 0, &out))
            return -1;
        s->r[BPF_DST(in)] = out;
        s->insn = pc + 1;
        return 0;
    }
    case BPF_ST:
    case BPF_STX: {
        unsigned size = (unsigned[]){4, 2, 1, 8}[BPF_SIZE(in->code) >> 3];
        const struct vreg *val = 0;
        struct vreg dummy;
        if (cls == BPF_STX) {
            val = reg_read(e, pc, BPF_SRC(in), &err);
            if (err)
                return -1;
        }
        reg_read(e, pc, BPF_DST(in), &err);
        if (err)
            return -1;
        if (cls == BPF_STX && BPF_MODE(in->code) == BPF_ATOMIC) {
            if (is_ptr(val))
                return fail(e, pc, "R%d leaks addr into mem", L(BPF_SRC(in)));
            if (in->imm == BPF_CMPXCHG) {
                reg_read(e, pc, 0, &err);
                if (err)
                    return -1;
                if (is_ptr(&s->r[0]))
                    return fail(e, pc, "R0 leaks addr into mem");
            }
            if (s->r[BPF_DST(in)].type != PTR_STACK && s->r[BPF_DST(in)].type != PTR_MAPVAL &&
                s->r[BPF_DST(in)].type != PTR_CTX)
                return fail(e, pc, "R%d invalid mem access '%s'", L(BPF_DST(in)), tname[s->r[BPF_DST(in)].type]);
            if (check_mem(e, pc, BPF_DST(in), in->off, size, 2, 0, 0, &dummy))
                return -1;
            if (in->imm == BPF_CMPXCHG)
                mark_unknown(&s->r[0], size_max(size));
            else if (in->imm & BPF_FETCH)
                mark_unknown(&s->r[BPF_SRC(in)], size_max(size));
        } else {
            struct vreg v;
            if (val)
                v = *val;
            if (check_mem(e, pc, BPF_DST(in), in->off, size, 1, val ? &v : 0, BPF_SRC(in), &dummy))
                return -1;
        }
        s->insn = pc + 1;
        return 0;
    }
    case BPF_LD: {
        struct vreg *d = &s->r[BPF_DST(in)];
        kmemset(d, 0, sizeof *d);
        if (BPF_SRC(in) == BPF_PSEUDO_MAP_FD) {
            d->type = PTR_MAP;
            d->map = (uint16_t)in->imm;
        } else if (BPF_SRC(in) == BPF_PSEUDO_MAP_VALUE) {
            d->type = PTR_MAPVAL;
            d->map = (uint16_t)in->imm;
            d->off = (int32_t)in[1].imm;
        } else {
            mark_const(d, (uint64_t)(uint32_t)in->imm | ((uint64_t)(uint32_t)in[1].imm << 32));
        }
        s->insn = pc + 2;
        return 0;
    }
    default:
        break;
    }
    /* jumps */
    if (op == BPF_EXIT) {
        reg_read(e, pc, 0, &err);
        if (err)
            return -1;
        if (e->unpriv && is_ptr(&s->r[0]))
            return fail(e, pc, "R0 leaks addr as return value");
        *path_end = true;
        return 0;
    }
    if (op == BPF_CALL) {
        if (do_call(e, pc, in))
            return -1;
        s->insn = pc + 1;
        return 0;
    }
    if (op == BPF_JA) {
        s->insn = (uint32_t)((int64_t)pc + in->off + 1);
        return 0;
    }
    bool fall = false;
    int rc = do_cond(e, pc, in, &fall);
    if (rc < 0)
        return -1;
    if (rc == 2)
        return 0;
    if (!fall)
        *path_end = true;
    else
        s->insn = pc + 1;
    return 0;
}

size_t bpf_verify_workspace_size(uint32_t len)
{
    uint64_t states = 2 * BPF_COMPLEXITY_LIMIT_JMP_SEQ + (len < 65536 ? len : 65536);
    return (size_t)(len * 5ull + 64 + states * (sizeof(struct vstate) + 4) + 2 * sizeof(struct vstate));
}

int bpf_verify(const struct bpf_prog *p, const struct bpf_verify_opts *o, void *ws, size_t ws_size,
               struct bpf_verify_result *res)
{
    struct venv env, *e = &env;
    kmemset(e, 0, sizeof *e);
    kmemset(res, 0, sizeof *res);
    res->insn = -1;
    e->p = p;
    e->res = res;
    e->unpriv = o && o->unpriv;
    e->limit = o && o->max_processed ? o->max_processed : BPF_COMPLEXITY_LIMIT;
    if (p->len == 0)
        return fail(e, -1, "empty program");
    if (p->len > BPF_MAX_INSNS)
        return fail(e, -1, "program too large: %d insns, the limit is %d", L(p->len), L(BPF_MAX_INSNS));
    if (p->nmaps > BPF_MAX_MAPS)
        return fail(e, -1, "too many maps: %d, the limit is %d", L(p->nmaps), L(BPF_MAX_MAPS));
    /* carve the workspace */
    uintptr_t base = ((uintptr_t)ws + 7) & ~(uintptr_t)7, end = (uintptr_t)ws + ws_size;
    size_t need_fixed = (size_t)p->len * 5 + 16 + sizeof(struct vstate);
    if (!ws || end < base || end - base < need_fixed + 8 * (sizeof(struct vstate) + 4))
        return fail(e, -1, "verifier workspace too small");
    e->head = (int32_t *)base;
    e->flags = (uint8_t *)(e->head + p->len);
    uintptr_t q = ((uintptr_t)(e->flags + p->len) + 7) & ~(uintptr_t)7;
    e->cur = (struct vstate *)q;
    q += sizeof(struct vstate);
    e->npool = (uint32_t)((end - q) / (sizeof(struct vstate) + 4));
    e->pool = (struct vstate *)q;
    e->pend = (int32_t *)(q + (uintptr_t)e->npool * sizeof(struct vstate));
    e->free_head = -1;
    kmemset(e->flags, 0, p->len);
    for (uint32_t k = 0; k < p->len; k++)
        e->head[k] = -1;
    for (uint32_t k = 0; k < p->nmaps; k++)
        if (!p->maps[k])
            return fail(e, -1, "map %d is missing", L(k));

    if (check_cfg(e))
        return -1;
    for (uint32_t k = 0; k < p->len; k++)
        e->head[k] = -1;

    struct vstate *s = e->cur;
    kmemset(s, 0, sizeof *s);
    s->parent = -1;
    s->r[1].type = PTR_CTX;
    s->r[10].type = PTR_STACK;
    for (;;) {
        bool end_path = false;
        if (res->processed++ >= e->limit) {
            res->processed--;
            return fail(e, s->insn, "BPF program is too large. Processed %u insn",
                        (unsigned long long)res->processed + 1);
        }
        if (e->flags[s->insn] & F_PRUNE) {
            int rc = prune_point(e, s->insn);
            if (rc < 0)
                return -1;
            end_path = rc == 1;
        }
        if (!end_path && step(e, &end_path))
            return -1;
        if (!end_path)
            continue;
        path_done(e, s->parent);
        if (e->npend == 0)
            break;
        int32_t k = e->pend[--e->npend];
        kmemcpy(s, &e->pool[k], sizeof *s);
        state_free(e, k);
    }
    res->peak_states = e->peak;
    res->insn = -1;
    res->msg[0] = 0;
    return 0;
}
