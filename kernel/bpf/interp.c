/* kernel/bpf/interp.c: the eBPF interpreter and its helpers (docs/bpf.md).
 *
 * It trusts the verifier: memory operands are host addresses the verifier
 * proved lie inside the context, the stack or a map value, so loads and
 * stores here are plain copies. What the verifier does not promise is
 * still defined here: shift counts are masked (as Linux's interpreter
 * does), division by zero gives 0 and modulo by zero leaves the dividend,
 * and an instruction budget bounds the run. Arithmetic is done on
 * unsigned integers only, so nothing here is undefined in C. */
#include "kernel/bpf.h"
#include "kernel/kstring.h"

#include "internal.h"

static inline uint64_t ld(uint64_t addr, unsigned size)
{
    const void *p = (const void *)(uintptr_t)addr;
    switch (size) {
    case 1: { uint8_t v; __builtin_memcpy(&v, p, 1); return v; }
    case 2: { uint16_t v; __builtin_memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
    default: { uint64_t v; __builtin_memcpy(&v, p, 8); return v; }
    }
}

static inline void st(uint64_t addr, unsigned size, uint64_t val)
{
    void *p = (void *)(uintptr_t)addr;
    switch (size) {
    case 1: { uint8_t v = (uint8_t)val; __builtin_memcpy(p, &v, 1); break; }
    case 2: { uint16_t v = (uint16_t)val; __builtin_memcpy(p, &v, 2); break; }
    case 4: { uint32_t v = (uint32_t)val; __builtin_memcpy(p, &v, 4); break; }
    default: __builtin_memcpy(p, &val, 8); break;
    }
}

static const unsigned size_bytes[4] = {4, 2, 1, 8}; /* BPF_W, BPF_H, BPF_B, BPF_DW >> 3 */

static uint64_t bswap(uint64_t v, int bits)
{
    uint64_t r = 0;
    for (int i = 0; i < bits / 8; i++)
        r = (r << 8) | ((v >> (8 * i)) & 0xff);
    return r;
}

uint64_t bpf_alu(unsigned op, uint64_t a, uint64_t b, bool is64)
{
    uint64_t r;
    if (!is64) {
        a = (uint32_t)a;
        b = (uint32_t)b;
    }
    unsigned sh = is64 ? 63u : 31u;
    switch (op) {
    case BPF_ADD: r = a + b; break;
    case BPF_SUB: r = a - b; break;
    case BPF_MUL: r = a * b; break;
    case BPF_DIV: r = b ? a / b : 0; break;
    case BPF_MOD: r = b ? a % b : a; break;
    case BPF_OR: r = a | b; break;
    case BPF_AND: r = a & b; break;
    case BPF_XOR: r = a ^ b; break;
    case BPF_LSH: r = a << (b & sh); break;
    case BPF_RSH: r = a >> (b & sh); break;
    case BPF_ARSH: {
        unsigned s = (unsigned)(b & sh);
        uint64_t sign = is64 ? (a >> 63) : ((a >> 31) & 1);
        r = a >> s;
        if (sign && s) {
            uint64_t fill = ~(uint64_t)0 << ((is64 ? 64u : 32u) - s);
            r |= fill;
        }
        break;
    }
    case BPF_NEG: r = 0 - a; break;
    case BPF_MOV: r = b; break;
    default: r = 0; break;
    }
    return is64 ? r : (uint32_t)r;
}

uint64_t bpf_end(uint64_t v, bool to_be, int32_t bits)
{
    if (to_be)
        return bswap(v, bits);
    return bits == 64 ? v : bits == 32 ? (uint32_t)v : (uint16_t)v;
}

bool bpf_cond(unsigned op, uint64_t a, uint64_t b, bool is64)
{
    int64_t sa, sb;
    if (!is64) {
        a = (uint32_t)a;
        b = (uint32_t)b;
        sa = (int32_t)(uint32_t)a;
        sb = (int32_t)(uint32_t)b;
    } else {
        sa = (int64_t)a;
        sb = (int64_t)b;
    }
    switch (op) {
    case BPF_JEQ: return a == b;
    case BPF_JNE: return a != b;
    case BPF_JGT: return a > b;
    case BPF_JGE: return a >= b;
    case BPF_JLT: return a < b;
    case BPF_JLE: return a <= b;
    case BPF_JSET: return (a & b) != 0;
    case BPF_JSGT: return sa > sb;
    case BPF_JSGE: return sa >= sb;
    case BPF_JSLT: return sa < sb;
    case BPF_JSLE: return sa <= sb;
    default: return false;
    }
}

static uint64_t helper(struct bpf_env *env, int32_t id, const uint64_t *r)
{
    struct bpf_map *m = (struct bpf_map *)(uintptr_t)r[1];
    env->helper_calls++;
    switch (id) {
    case BPF_FUNC_map_lookup_elem:
        return (uint64_t)(uintptr_t)bpf_map_lookup(m, (const void *)(uintptr_t)r[2], env->cpu);
    case BPF_FUNC_map_update_elem:
        return (uint64_t)(int64_t)bpf_map_update(m, (const void *)(uintptr_t)r[2],
                                                 (const void *)(uintptr_t)r[3], r[4], env->cpu);
    case BPF_FUNC_map_delete_elem:
        return (uint64_t)(int64_t)bpf_map_delete(m, (const void *)(uintptr_t)r[2]);
    case BPF_FUNC_ktime_get_ns:
        return env->now_ns;
    case BPF_FUNC_get_smp_processor_id:
        return env->cpu;
    case BPF_FUNC_trace_printk:
        if (env->printk)
            env->printk(env->printk_arg, (const char *)(uintptr_t)r[1], (uint32_t)r[2], r[3], r[4], r[5]);
        return r[2];
    case BPF_FUNC_ringbuf_output:
        return (uint64_t)(int64_t)bpf_ringbuf_write(m, (const void *)(uintptr_t)r[2], r[3]);
    default:
        return (uint64_t)(int64_t)BPF_EINVAL;
    }
}

static uint64_t atomic_op(uint64_t addr, unsigned size, int32_t imm, uint64_t src, uint64_t *r0)
{
    /* Returns the old value. Sizes 4 and 8 only (the verifier checks). */
    if (size == 4) {
        uint32_t *p = (uint32_t *)(uintptr_t)addr, s = (uint32_t)src;
        switch (imm & ~BPF_FETCH) {
        case BPF_ADD: return __atomic_fetch_add(p, s, __ATOMIC_SEQ_CST);
        case BPF_OR: return __atomic_fetch_or(p, s, __ATOMIC_SEQ_CST);
        case BPF_AND: return __atomic_fetch_and(p, s, __ATOMIC_SEQ_CST);
        case BPF_XOR: return __atomic_fetch_xor(p, s, __ATOMIC_SEQ_CST);
        case BPF_XCHG & ~BPF_FETCH: return __atomic_exchange_n(p, s, __ATOMIC_SEQ_CST);
        default: { /* CMPXCHG: compare with R0, old value to R0 */
            uint32_t exp = (uint32_t)*r0;
            __atomic_compare_exchange_n(p, &exp, s, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            return exp;
        }
        }
    }
    uint64_t *p = (uint64_t *)(uintptr_t)addr;
    switch (imm & ~BPF_FETCH) {
    case BPF_ADD: return __atomic_fetch_add(p, src, __ATOMIC_SEQ_CST);
    case BPF_OR: return __atomic_fetch_or(p, src, __ATOMIC_SEQ_CST);
    case BPF_AND: return __atomic_fetch_and(p, src, __ATOMIC_SEQ_CST);
    case BPF_XOR: return __atomic_fetch_xor(p, src, __ATOMIC_SEQ_CST);
    case BPF_XCHG & ~BPF_FETCH: return __atomic_exchange_n(p, src, __ATOMIC_SEQ_CST);
    default: {
        uint64_t exp = *r0;
        __atomic_compare_exchange_n(p, &exp, src, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return exp;
    }
    }
}

int bpf_run(const struct bpf_prog *p, void *ctx, struct bpf_env *env, uint64_t *ret)
{
    uint64_t stack[BPF_STACK_SIZE / 8];
    uint64_t r[11];
    kmemset(stack, 0, sizeof stack);
    kmemset(r, 0, sizeof r);
    r[1] = (uint64_t)(uintptr_t)ctx;
    r[10] = (uint64_t)(uintptr_t)stack + BPF_STACK_SIZE;
    const struct bpf_insn *in = p->insns;
    uint64_t budget = env->budget ? env->budget : ~(uint64_t)0, n = 0;
    uint32_t pc = 0;
    for (;;) {
        if (n++ >= budget || pc >= p->len) {
            env->executed += n;
            return -1;
        }
        const struct bpf_insn *i = &in[pc++];
        unsigned code = i->code, dst = BPF_DST(i), src = BPF_SRC(i);
        switch (BPF_CLASS(code)) {
        case BPF_ALU64:
        case BPF_ALU: {
            bool is64 = BPF_CLASS(code) == BPF_ALU64;
            uint64_t b = BPF_SRCBIT(code) ? r[src] : (uint64_t)(int64_t)i->imm;
            if (BPF_OP(code) == BPF_END)
                r[dst] = bpf_end(r[dst], BPF_SRCBIT(code) != 0, i->imm);
            else
                r[dst] = bpf_alu(BPF_OP(code), r[dst], b, is64);
            break;
        }
        case BPF_LDX:
            r[dst] = ld(r[src] + (uint64_t)(int64_t)i->off, size_bytes[BPF_SIZE(code) >> 3]);
            break;
        case BPF_ST:
            st(r[dst] + (uint64_t)(int64_t)i->off, size_bytes[BPF_SIZE(code) >> 3], (uint64_t)(int64_t)i->imm);
            break;
        case BPF_STX: {
            unsigned size = size_bytes[BPF_SIZE(code) >> 3];
            uint64_t addr = r[dst] + (uint64_t)(int64_t)i->off;
            if (BPF_MODE(code) == BPF_ATOMIC) {
                uint64_t old = atomic_op(addr, size, i->imm, r[src], &r[0]);
                if (i->imm == BPF_CMPXCHG)
                    r[0] = old;
                else if (i->imm & BPF_FETCH)
                    r[src] = old;
            } else {
                st(addr, size, r[src]);
            }
            break;
        }
        case BPF_LD: /* LD_IMM64 (the verifier allows no other BPF_LD) */
            if (src == BPF_PSEUDO_MAP_FD) {
                r[dst] = (uint64_t)(uintptr_t)p->maps[(uint32_t)i->imm];
            } else if (src == BPF_PSEUDO_MAP_VALUE) {
                struct bpf_map *m = p->maps[(uint32_t)i->imm];
                r[dst] = (uint64_t)(uintptr_t)m->data + (uint32_t)i[1].imm;
            } else {
                r[dst] = (uint64_t)(uint32_t)i->imm | ((uint64_t)(uint32_t)i[1].imm << 32);
            }
            pc++;
            break;
        case BPF_JMP:
        case BPF_JMP32: {
            unsigned op = BPF_OP(code);
            if (op == BPF_EXIT) {
                *ret = r[0];
                env->executed += n;
                return 0;
            }
            if (op == BPF_CALL) {
                r[0] = helper(env, i->imm, r);
                break;
            }
            if (op == BPF_JA) {
                pc += (uint32_t)(int32_t)i->off;
                break;
            }
            uint64_t b = BPF_SRCBIT(code) ? r[src] : (uint64_t)(int64_t)i->imm;
            if (bpf_cond(op, r[dst], b, BPF_CLASS(code) == BPF_JMP))
                pc += (uint32_t)(int32_t)i->off;
            break;
        }
        }
    }
}
