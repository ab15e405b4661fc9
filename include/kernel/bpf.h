/* kernel/bpf: a verifier and an interpreter for Linux eBPF programs, with
 * the maps and helpers tracepoint programs use (docs/bpf.md).
 *
 * Freestanding: nothing here allocates. The caller hands the verifier a
 * workspace (bpf_verify_workspace_size) and each map its storage
 * (bpf_map_mem_size); the interpreter runs on its own C stack (512-byte BPF
 * stack plus registers).
 *
 * Contract: bpf_run never touches memory outside the context, the BPF
 * stack and the maps' storage for a program bpf_verify accepted with the
 * same maps and context size. A rejected program must never be run. */
#ifndef KERNEL_BPF_H
#define KERNEL_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- the instruction set (Linux include/uapi/linux/bpf.h) ---------------- */
struct bpf_insn {
    uint8_t code;
    uint8_t regs; /* dst in bits 0-3, src in bits 4-7 (little-endian layout) */
    int16_t off;
    int32_t imm;
};
#define BPF_DST(i) ((unsigned)((i)->regs & 0x0f))
#define BPF_SRC(i) ((unsigned)((i)->regs >> 4))

enum {
    BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_STX = 0x03,
    BPF_ALU = 0x04, BPF_JMP = 0x05, BPF_JMP32 = 0x06, BPF_ALU64 = 0x07,
};
#define BPF_CLASS(code) ((code) & 0x07)
#define BPF_SIZE(code) ((code) & 0x18)
#define BPF_MODE(code) ((code) & 0xe0)
#define BPF_OP(code) ((code) & 0xf0)
#define BPF_SRCBIT(code) ((code) & 0x08)
enum { BPF_W = 0x00, BPF_H = 0x08, BPF_B = 0x10, BPF_DW = 0x18 };
enum { BPF_IMM = 0x00, BPF_ABS = 0x20, BPF_IND = 0x40, BPF_MEM = 0x60, BPF_ATOMIC = 0xc0 };
enum { BPF_K = 0x00, BPF_X = 0x08 };
enum {
    BPF_ADD = 0x00, BPF_SUB = 0x10, BPF_MUL = 0x20, BPF_DIV = 0x30, BPF_OR = 0x40,
    BPF_AND = 0x50, BPF_LSH = 0x60, BPF_RSH = 0x70, BPF_NEG = 0x80, BPF_MOD = 0x90,
    BPF_XOR = 0xa0, BPF_MOV = 0xb0, BPF_ARSH = 0xc0, BPF_END = 0xd0,
};
enum {
    BPF_JA = 0x00, BPF_JEQ = 0x10, BPF_JGT = 0x20, BPF_JGE = 0x30, BPF_JSET = 0x40,
    BPF_JNE = 0x50, BPF_JSGT = 0x60, BPF_JSGE = 0x70, BPF_CALL = 0x80, BPF_EXIT = 0x90,
    BPF_JLT = 0xa0, BPF_JLE = 0xb0, BPF_JSLT = 0xc0, BPF_JSLE = 0xd0,
};
enum { BPF_FETCH = 0x01, BPF_XCHG = 0xe0 | BPF_FETCH, BPF_CMPXCHG = 0xf0 | BPF_FETCH };
enum { BPF_TO_LE = 0x00, BPF_TO_BE = 0x08 };
enum { BPF_PSEUDO_MAP_FD = 1, BPF_PSEUDO_MAP_VALUE = 2, BPF_PSEUDO_CALL = 1 };

#define BPF_MAX_INSNS 1000000u            /* program size limit (Linux BPF_COMPLEXITY_LIMIT_INSNS) */
#define BPF_COMPLEXITY_LIMIT 1000000u     /* processed-instruction limit of the verifier walk */
#define BPF_COMPLEXITY_LIMIT_JMP_SEQ 8192u /* branches waiting to be walked (Linux's limit) */
#define BPF_STACK_SIZE 512
#define BPF_MAX_MAPS 64

/* Helper ids (Linux numbering). */
enum bpf_helper {
    BPF_FUNC_map_lookup_elem = 1,
    BPF_FUNC_map_update_elem = 2,
    BPF_FUNC_map_delete_elem = 3,
    BPF_FUNC_ktime_get_ns = 5,
    BPF_FUNC_trace_printk = 6,
    BPF_FUNC_get_smp_processor_id = 8,
    BPF_FUNC_ringbuf_output = 130,
};

/* --- maps ----------------------------------------------------------------- */
enum bpf_map_type {
    BPF_MAP_TYPE_HASH = 1,
    BPF_MAP_TYPE_ARRAY = 2,
    BPF_MAP_TYPE_PERCPU_ARRAY = 6,
    BPF_MAP_TYPE_RINGBUF = 27,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };

/* Error codes helpers return (negative Linux errno values). */
enum {
    BPF_ENOENT = -2, BPF_E2BIG = -7, BPF_EAGAIN = -11, BPF_EEXIST = -17, BPF_EINVAL = -22,
};

struct bpf_map_def {
    uint32_t type, key_size, value_size, max_entries;
};

struct bpf_map {
    struct bpf_map_def def;
    uint32_t ncpus;      /* per-CPU maps: copies */
    uint32_t stride;     /* bytes per value slot (value_size rounded up to 8) */
    uint32_t hash_cap;   /* hash: slots (power of two) */
    uint32_t hash_slot;  /* hash: bytes per slot: 8 header + key + value, rounded */
    uint32_t count;      /* hash: live entries */
    uint64_t rb_prod, rb_cons, rb_drops; /* ring buffer positions (bytes) and refused records */
    uint8_t *data;       /* storage, 8-byte aligned, bpf_map_mem_size bytes */
};

/* Storage a map needs; 0 and *why set when the definition is invalid
 * (size 0, key not 4 bytes for arrays, ring not a power of two, too big). */
size_t bpf_map_mem_size(const struct bpf_map_def *def, uint32_t ncpus, const char **why);
/* Set up `m` over `mem` (8-byte aligned, bpf_map_mem_size bytes; zeroed here). */
int bpf_map_init(struct bpf_map *m, const struct bpf_map_def *def, uint32_t ncpus, void *mem);
/* Host/kernel-side access, the same semantics as the helpers. `cpu` selects
 * the copy of a per-CPU map (ignored otherwise). */
void *bpf_map_lookup(struct bpf_map *m, const void *key, uint32_t cpu);
int bpf_map_update(struct bpf_map *m, const void *key, const void *value, uint64_t flags, uint32_t cpu);
int bpf_map_delete(struct bpf_map *m, const void *key);
/* Hash maps: the i-th slot (0 <= i < hash_cap) if live, else false. */
bool bpf_map_hash_slot(const struct bpf_map *m, uint32_t i, const void **key, void **value);
int bpf_ringbuf_write(struct bpf_map *m, const void *data, uint64_t size);
/* Ring buffer: copy out the oldest record (up to cap bytes); returns its
 * length, 0 when empty. */
uint32_t bpf_ringbuf_read(struct bpf_map *m, void *out, uint32_t cap);

/* --- programs --------------------------------------------------------------- */
struct bpf_prog {
    const struct bpf_insn *insns;
    uint32_t len;
    struct bpf_map *const *maps; /* LD_IMM64 src=1 (map) imm = index into this */
    uint32_t nmaps;
    uint32_t ctx_size;           /* readable bytes of the context (read-only) */
};

/* --- the verifier --------------------------------------------------------- */
struct bpf_verify_opts {
    bool unpriv;            /* Linux's !allow_ptr_leaks: no pointer leaks */
    uint32_t max_processed; /* 0: BPF_COMPLEXITY_LIMIT */
};

struct bpf_verify_result {
    int32_t insn;         /* index of the offending instruction, -1 for the whole program */
    char msg[160];        /* reason, in the words of the Linux verifier log */
    uint64_t processed;   /* instructions walked */
    uint32_t states;      /* checkpoints stored for pruning */
    uint32_t peak_states; /* most verifier states live at once */
};

/* Bytes of workspace the verifier wants for a program of `len` instructions;
 * more workspace allows more stored states (better pruning). */
size_t bpf_verify_workspace_size(uint32_t len);
/* 0: accepted. -1: rejected (res->insn, res->msg say where and why).
 * `ws` is 8-byte aligned scratch of `ws_size` bytes. */
int bpf_verify(const struct bpf_prog *p, const struct bpf_verify_opts *o, void *ws, size_t ws_size,
               struct bpf_verify_result *res);

/* --- the interpreter ------------------------------------------------------ */
struct bpf_env {
    uint32_t cpu;                      /* bpf_get_smp_processor_id; per-CPU map copy */
    uint64_t now_ns;                   /* bpf_ktime_get_ns */
    /* trace_printk output (may be NULL: the output is dropped) */
    void (*printk)(void *arg, const char *fmt, uint32_t size, uint64_t a, uint64_t b, uint64_t c);
    void *printk_arg;
    uint64_t budget;                   /* instructions allowed; 0: unlimited */
    uint64_t executed;                 /* out: instructions run */
    uint64_t helper_calls;             /* out */
};

/* Run a verified program. 0 and *ret = R0, or -1 if the budget ran out
 * (which a verified program within its walk limit does not reach). */
int bpf_run(const struct bpf_prog *p, void *ctx, struct bpf_env *env, uint64_t *ret);

/* --- attach points ------------------------------------------------------------
 * Section names (as libbpf and clang spell them) the kernel can attach to,
 * with the context layout programs see (Linux trace event layouts). */
struct bpf_attach_point {
    const char *section;  /* "tracepoint/sched/sched_switch" */
    uint16_t tracepoint;  /* hal_trace point it runs on, 0: verify only */
    uint32_t ctx_size;
};
const struct bpf_attach_point *bpf_attach_find(const char *section);
const struct bpf_attach_point *bpf_attach_table(uint32_t *n);

/* Fill the context of `ap` for tracepoint arguments (a, b) on `cpu`;
 * `ctx` has ap->ctx_size bytes. */
void bpf_attach_fill_ctx(const struct bpf_attach_point *ap, void *ctx, uint64_t a, uint64_t b, uint32_t cpu);

/* A verified program attached to a tracepoint. Its work is accounted
 * here, apart from the traced kernel's own: the caller decides whether
 * and how to charge it (an observe-only program changes nothing else). */
struct bpf_attachment {
    const struct bpf_prog *prog;         /* verified with ap->ctx_size */
    const struct bpf_attach_point *ap;
    uint64_t runs, insns, helper_calls;  /* accounting */
    uint64_t faults;                     /* runs that hit the budget (a verifier bug) */
    uint64_t budget;                     /* per run; 0: unlimited (the walk bounds it) */
};

/* Run, in order, every attachment on tracepoint `point` with the
 * tracepoint's arguments; returns how many ran. */
uint32_t bpf_fire(struct bpf_attachment *at, uint32_t n, uint16_t point, uint64_t a, uint64_t b, uint32_t cpu,
                  uint64_t now_ns);

#endif
