/* isacore: a core that runs a guest program under Unicorn (isacore.h,
 * docs/isa.md).
 *
 * Functional first, timing second. Unicorn executes the guest against one
 * host buffer of guest RAM shared by every isacore of the run, so all cores
 * see one memory and every value a guest reads comes from there. Timing is
 * a separate, serial account of what the core did, kept on its local clock:
 *
 *   - each basic block costs its instructions × cpi (UC_HOOK_BLOCK, which
 *     also counts instructions: no per-instruction hook);
 *   - the block's lines go through the L1I tag filter; a fetch miss is a
 *     line read through the core's pcache (the same coherent hierarchy);
 *   - each load and store (UC_HOOK_MEM_READ/WRITE) is a pcache access: a
 *     hit adds what it costs beyond an L1 hit (the L1 hit is in the cpi),
 *     a miss stalls the core until done();
 *   - a syscall costs syscall_latency.
 *
 * Unicorn cannot stop in the middle of a translated block without
 * replaying it (the PC it restores is the block's start), so the core only
 * ever stops at block boundaries: after a miss, the rest of the block runs
 * functionally and its accesses wait in a queue (aQ) that is replayed
 * through the pcache, in program order, once the miss completes; the next
 * block hook stops emulation before that block runs. The timing account is
 * therefore exact in order and content; functional execution may run ahead
 * of it by the tail of one block.
 *
 * Global time: like tcore, the core runs at most `quantum` ahead of global
 * time, in slices (one uc_emu_start each); requests leave at its local time
 * (pcache skew). Cores interleave at slice granularity on the one host
 * thread, so guest memory is sequentially consistent (docs/isa.md: what
 * that means for the litmus shapes).
 *
 * States:   RUN --miss--> WAIT(done) --> RUN
 *           RUN --retry--> WAIT(wake) --> RUN
 *           RUN --quantum/yield--> STEP(timer) --> RUN
 *           RUN --futex wait--> SLEEP(poll timer) --> RUN
 *           RUN --exit / fault / limit--> DONE
 * Invariant: at most one miss in flight (miss_out); the queue is empty
 * unless a miss or a retry is pending. */
#define _DEFAULT_SOURCE /* mmap, readlink */
#include "hw/isacore.h"
#include "hw/registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hw/cohmon.h"
#include "hw/core.h"
#include "hw/protocol.h"
#include "isa_internal.h"
#include "orrery/checkpoint.h"
#include "orrery/error.h"

const char *const isacore_unknown_names[] = {"enosys", "fail", NULL};
const char *const isacore_abi_names[] = {"bare", "linux", NULL};

static const struct orr_param isacore_file_params[] = {
    {"path", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "the path the program opens (exact match)"},
    {"from", ORR_P_STRING, NULL, ORR_PF_NONEMPTY,
     "the host file whose bytes it reads (relative to the scenario file)"},
    {NULL},
};

const struct orr_param isacore_workload_params[] = {
    {"elf", ORR_P_STRING, NULL, ORR_PF_NONEMPTY,
     "the guest: a static ELF (relative to the scenario file, else the orrery executable)"},
    {"arch", ORR_P_ENUM, NULL, 0, "the guest's architecture", isa_arch_names},
    {"ram", ORR_P_SIZE, "64MiB", ORR_PF_POSITIVE,
     "guest RAM at physical 0, shared by every isacore of the run"},
    {"stack", ORR_P_SIZE, "64KiB", ORR_PF_POSITIVE,
     "each core's stack, carved from the top of RAM by core index"},
    {"cpi", ORR_P_STRING, "1", 0, "cycles per instruction besides memory stalls (e.g. 0.5, 1.25)"},
    {"timing", ORR_P_BOOL, "true", 0, "false: functional mode, no cache or fetch timing"},
    {"l1i_size", ORR_P_SIZE, "32KiB", ORR_PF_POSITIVE, "L1 instruction cache (a tag filter)"},
    {"l1i_ways", ORR_P_UINT, "8", ORR_PF_POSITIVE, "L1I associativity", NULL, 1, 64},
    {"syscall_latency", ORR_P_TIME, "230ns", 0,
     "time a syscall costs the core (REFERENCES.md: null syscall with KPTI)"},
    {"max_instructions", ORR_P_UINT, "0", 0,
     "stop the core after this many instructions; 0 = no limit"},
    {"unknown_syscall", ORR_P_ENUM, "enosys", 0,
     "enosys: return -ENOSYS and count it; fail: fail the run", isacore_unknown_names},
    {"futex_poll", ORR_P_TIME, "100ns", ORR_PF_POSITIVE,
     "a futex waiter's first poll interval (doubles up to 64x)"},
    {"output_limit", ORR_P_SIZE, "64KiB", 0,
     "guest output kept per core; the rest is counted in output_dropped"},
    {"abi", ORR_P_ENUM, "bare", 0,
     "bare: registers a0/a1 = core index and count, six syscalls; linux: a process of the "
     "reference kernel (docs/exec.md): initial stack, brk, mmap, files, Linux syscalls",
     isacore_abi_names},
    {"argv", ORR_P_LIST, "", 0, "abi linux: the program's argv (default: [the elf value])"},
    {"env", ORR_P_LIST, "", 0, "abi linux: the environment, NAME=VALUE strings"},
    {"files", ORR_P_GROUPS, "[]", 0,
     "abi linux: read-only files the program may open: {path, from}", NULL, 0, 0,
     isacore_file_params},
    {NULL},
};

static const struct orr_param isacore_params[] = {
    {"", ORR_P_INCLUDE, .group = pcache_params},        /* protocol, caches, mshrs, ... */
    {"", ORR_P_INCLUDE, .group = pcache_domain_params}, /* agent, homes */
    {"", ORR_P_INCLUDE, .group = core_params},
    {"core", ORR_P_UINT, "0", 0, "this core's index among the cores running the program (a0/x0)"},
    {"ncores", ORR_P_UINT, "1", ORR_PF_POSITIVE, "cores running the program (a1/x1)"},
    {"", ORR_P_INCLUDE, .group = isacore_workload_params},
    {"processes", ORR_P_GROUPS, "[]", 0,
     "abi linux: more processes sharing this core, each with the keys of a program (elf, "
     "arch, abi: linux, ram, stack, argv, env, files); machine.workloads entries naming one "
     "core fill it (docs/exec.md)", NULL, 0, 0, isacore_workload_params},
    {NULL},
};

static const struct orr_port_doc isacore_ports[] = {
    {"mem", "coherence messages to and from the homes (through a router)"},
    {NULL},
};

enum { T_STEP = 1, T_DEADLOCK = 2, T_FUTEX = 3 };

/* An address no guest reaches: uc_emu_start's `until` (kept constant, so
 * Unicorn never has to drop translated code). */
#define NEVER_PC UINT64_C(0xFFFFFFFFFFFFFFF0)
/* The largest real translated block: TCG's 512 instructions of 4 bytes. */
#define ISA_MAX_BLOCK_BYTES 2048u

/* ------------------------------------------------------------ registers */

uint64_t isa_reg(struct isacore *t, unsigned i)
{
    uint64_t v = 0;
    uc_reg_read(t->as.uc, t->arch == ISA_RISCV64 ? UC_RISCV_REG_A0 + (int)i : UC_ARM64_REG_X0 + (int)i, &v);
    return v;
}

void isa_set_reg(struct isacore *t, unsigned i, uint64_t v)
{
    uc_reg_write(t->as.uc, t->arch == ISA_RISCV64 ? UC_RISCV_REG_A0 + (int)i : UC_ARM64_REG_X0 + (int)i, &v);
}

uint64_t isa_pc(struct isacore *t)
{
    uint64_t v = 0;
    uc_reg_read(t->as.uc, t->arch == ISA_RISCV64 ? UC_RISCV_REG_PC : UC_ARM64_REG_PC, &v);
    return v;
}

void isa_fail(struct isacore *t, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    orr_sim_fail(t->c, "guest (core %u, %s): %s", t->core, t->as.elf, msg);
    t->v_faulted->v = 1;
    t->failed = true; /* not done: a failed run must not read as finished */
    t->stop = STOP_FAILED;
    uc_emu_stop(t->as.uc);
}

/* ---------------------------------------------------------- the decoder */

/* Instructions in [a, e) of RAM: aarch64 is 4 bytes each; riscv64 may mix
 * 2-byte compressed instructions (low bits != 11) with 4-byte ones. */
static uint32_t count_insns(const struct isacore *t, uint64_t a, uint64_t e)
{
    if (t->arch == ISA_AARCH64)
        return (uint32_t)((e - a) / 4);
    uint32_t n = 0;
    const uint8_t *ram = t->as.sh->ram;
    while (a < e && a + 1 < t->as.sh->size) {
        a += (ram[a] & 3) == 3 ? 4 : 2;
        n++;
    }
    return n;
}

/* Unicorn's riscv64 reports a data fault with the PC of the block's start.
 * Find the instruction: the first load/store/AMO in the block whose
 * effective address, computed from the registers as they are now (nothing
 * after the faulting instruction ran), is the faulting address. */
static uint64_t riscv_fault_pc(struct isacore *t, uint64_t fault)
{
    const uint8_t *ram = t->as.sh->ram;
    for (uint64_t a = t->blk_start; a < t->blk_end && a + 3 < t->as.sh->size;) {
        uint32_t w = (uint32_t)ram[a] | (uint32_t)ram[a + 1] << 8 | (uint32_t)ram[a + 2] << 16 |
                     (uint32_t)ram[a + 3] << 24;
        int rs1 = -1;
        int64_t imm = 0;
        unsigned len = (w & 3) == 3 ? 4 : 2;
        if (len == 4) {
            unsigned op = w & 0x7f;
            if (op == 0x03 || op == 0x07) {
                rs1 = (int)(w >> 15 & 31);
                imm = (int32_t)w >> 20;
            } else if (op == 0x23 || op == 0x27) {
                rs1 = (int)(w >> 15 & 31);
                imm = ((int32_t)(w & 0xfe000000u) >> 20) | (int64_t)(w >> 7 & 0x1f);
            } else if (op == 0x2f) {
                rs1 = (int)(w >> 15 & 31);
            }
        } else {
            unsigned h = w & 0xffff, q = h & 3, f3 = h >> 13;
            if (q == 0 && f3 != 0 && f3 != 4) { /* c.fld c.lw c.ld c.fsd c.sw c.sd */
                rs1 = 8 + (int)(h >> 7 & 7);
                imm = (h >> 10 & 7) << 3;
                imm |= (f3 & 3) == 2 ? ((h >> 6 & 1) << 2 | (h >> 5 & 1) << 6) : (h >> 5 & 3) << 6;
            } else if (q == 2 && f3 != 0 && f3 != 4) { /* the sp-relative forms */
                rs1 = 2;
                if (f3 == 2)
                    imm = (h >> 12 & 1) << 5 | (h >> 4 & 7) << 2 | (h >> 2 & 3) << 6;
                else if (f3 == 1 || f3 == 3)
                    imm = (h >> 12 & 1) << 5 | (h >> 5 & 3) << 3 | (h >> 2 & 7) << 6;
                else if (f3 == 6)
                    imm = (h >> 9 & 15) << 2 | (h >> 7 & 3) << 6;
                else
                    imm = (h >> 10 & 7) << 3 | (h >> 7 & 7) << 6;
            }
        }
        if (rs1 >= 0) {
            uint64_t base = 0;
            uc_reg_read(t->as.uc, UC_RISCV_REG_X0 + rs1, &base);
            uint64_t ea = base + (uint64_t)imm;
            if (fault >= ea && fault - ea < 16)
                return a;
        }
        a += len;
    }
    return t->blk_start;
}

/* The same for aarch64, where Unicorn reports the block's start when no
 * memory hook is installed (functional mode): the first load, store,
 * pair, exclusive or atomic in the block whose address, from the
 * registers as they are now, is the faulting one. Register-offset forms
 * are matched on the base alone. */
static uint64_t aarch64_xreg(struct isacore *t, unsigned r)
{
    uint64_t v = 0;
    uc_reg_read(t->as.uc, r == 31 ? UC_ARM64_REG_SP : UC_ARM64_REG_X0 + (int)r, &v);
    return v;
}

static uint64_t aarch64_fault_pc(struct isacore *t, uint64_t fault)
{
    const uint8_t *ram = t->as.sh->ram;
    for (uint64_t a = t->blk_start; a < t->blk_end && a + 3 < t->as.sh->size; a += 4) {
        uint32_t w = (uint32_t)ram[a] | (uint32_t)ram[a + 1] << 8 | (uint32_t)ram[a + 2] << 16 |
                     (uint32_t)ram[a + 3] << 24;
        unsigned rn = w >> 5 & 31, size = w >> 30;
        int64_t off = 0;
        bool mem = true;
        if ((w & 0x3B000000u) == 0x39000000u) {        /* LDR/STR unsigned immediate */
            unsigned sc = (w & 0x04000000u) && (w >> 23 & 1) && size == 0 ? 4 : size;
            off = (int64_t)((w >> 10 & 0xfff) << sc);
        } else if ((w & 0x3B200000u) == 0x38000000u) { /* unscaled, pre- and post-index */
            int64_t imm9 = (int64_t)((int32_t)(w << 11) >> 23);
            off = (w >> 10 & 3) == 1 ? 0 : imm9;
        } else if ((w & 0x3B200C00u) == 0x38200800u) { /* register offset: the base */
            off = 0;
        } else if ((w & 0x3A000000u) == 0x28000000u) { /* LDP/STP */
            unsigned opc = w >> 30, v = w >> 26 & 1;
            unsigned sc = v ? 2 + opc : opc == 2 ? 3 : 2;
            int64_t imm7 = (int64_t)((int32_t)(w << 10) >> 25) * (int64_t)(1u << sc);
            off = (w >> 23 & 3) == 1 ? 0 : imm7;
        } else if ((w & 0x3F000000u) == 0x08000000u ||  /* exclusives, acquire/release */
                   (w & 0x3B200C00u) == 0x38200000u) {  /* LSE atomics */
            off = 0;
        } else {
            mem = false;
        }
        if (mem) {
            uint64_t ea = aarch64_xreg(t, rn) + (uint64_t)off;
            if (fault >= ea && fault - ea < 32)
                return a;
        }
    }
    return t->blk_start;
}

/* -------------------------------------------------------------- timing */

static void q_push(struct isacore *t, const struct isa_acc *a)
{
    if (t->nQ == t->qCap) {
        uint32_t cap = t->qCap ? t->qCap * 2 : 64;
        struct isa_acc *n = malloc(cap * sizeof *n);
        if (!n)
            orr_oom();
        for (uint32_t i = 0; i < t->nQ; i++)
            n[i] = t->aQ[(t->qHead + i) % t->qCap];
        free(t->aQ);
        t->aQ = n;
        t->qHead = 0;
        t->qCap = cap;
    }
    t->aQ[(t->qHead + t->nQ++) % t->qCap] = *a;
}

static bool waiting(const struct isacore *t) { return t->miss_out || t->retry_wait || t->nQ; }

/* One timing access through the pcache, now (at the core's local time). */
static enum pcache_rc timed_access(struct isacore *t, const struct isa_acc *a)
{
    struct pc_req r = {a->op, a->size, t->next_tag & 0xFFFFFF, a->addr, a->val, 0};
    uint64_t v;
    uint32_t cyc = 0;
    t->shell.pc.skew = t->shell.local - orr_now(t->c->sim);
    enum pcache_rc rc = pcache_access(&t->shell.pc, &r, &v, &cyc);
    t->shell.pc.skew = 0;
    if (rc == PC_RETRY) {
        t->retry_wait = true;
        return rc;
    }
    t->next_tag++;
    if (rc == PC_MISS) {
        t->miss_out = true;
        t->miss_fetch = a->fetch;
        t->miss_from = t->shell.local;
        return rc;
    }
    /* a hit: an instruction line costs its full latency (the L1I missed);
     * data costs what it takes beyond an L1 hit, which the cpi covers */
    uint32_t extra = a->fetch ? cyc : cyc > t->l1_cycles ? cyc - t->l1_cycles : 0;
    t->shell.local += (orr_time_t)extra * t->shell.cycle;
    (a->fetch ? t->cy_fetch : t->cy_l2)->v += extra;
    return rc;
}

/* Send an access now, or queue it behind a pending one. */
static void access_or_queue(struct isacore *t, const struct isa_acc *a)
{
    if (waiting(t) || timed_access(t, a) == PC_RETRY)
        q_push(t, a);
}

/* Replay queued accesses; false while one must wait (miss or retry). */
static bool drain_queue(struct isacore *t)
{
    while (t->nQ && !t->miss_out && !t->retry_wait) {
        if (timed_access(t, &t->aQ[t->qHead]) == PC_RETRY)
            return false;
        t->qHead = (t->qHead + 1) % t->qCap;
        t->nQ--;
    }
    return !t->miss_out && !t->retry_wait;
}

/* A data access of any size or alignment becomes naturally aligned pcache
 * accesses: as is when it already is one, else one byte per line touched
 * (for timing only a line's presence and state matter). */
static void data_access(struct isacore *t, uint8_t op, uint64_t addr, int size, uint64_t val)
{
    if ((size == 1 || size == 2 || size == 4 || size == 8) && addr % (uint64_t)size == 0) {
        struct isa_acc a = {t->as.phys_base + addr, val, op, (uint8_t)size, 0};
        access_or_queue(t, &a);
        return;
    }
    uint64_t end = addr + (uint64_t)(size > 0 ? size : 1);
    for (uint64_t x = addr; x < end; x = (x | (ORR_LINE_BYTES - 1)) + 1) {
        struct isa_acc a = {t->as.phys_base + x, x < t->as.sh->size ? t->as.sh->ram[x] : 0, op, 1,
                            0};
        access_or_queue(t, &a);
    }
}

/* ------------------------------------------------------------- hooks */

static void on_mem(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                   void *arg)
{
    (void)uc;
    struct isacore *t = arg;
    bool wr = type == UC_MEM_WRITE;
    (wr ? t->stores : t->loads)->v++;
    data_access(t, wr ? ORR_OP_STORE : ORR_OP_LOAD, addr, size, (uint64_t)value);
}

/* The L1I is tagged by physical line (processes sharing the core run the
 * same virtual addresses in different memory). */
static void fetch_lines(struct isacore *t, uint64_t a, uint64_t e)
{
    uint64_t lo = t->as.phys_base + (a & ~(uint64_t)(ORR_LINE_BYTES - 1)), hi = t->as.phys_base + e;
    for (uint64_t line = lo; line < hi; line += ORR_LINE_BYTES) {
        int64_t f = cache_array_find(&t->l1i, line);
        if (f >= 0) {
            cache_array_touch(&t->l1i, (uint32_t)f);
            t->l1i_hits->v++;
            continue;
        }
        t->l1i_misses->v++;
        int64_t v = cache_array_victim(&t->l1i, line, &t->c->rng, NULL, NULL);
        if (v >= 0)
            cache_array_fill(&t->l1i, (uint32_t)v, line);
        struct isa_acc acc = {line, 0, ORR_OP_LOAD, 8, 1};
        access_or_queue(t, &acc);
    }
}

/* A block is about to run. Stop before it (it does not run, and the next
 * uc_emu_start begins with it) when the core must wait or yield; else
 * account for it. */
static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *arg)
{
    struct isacore *t = arg;
    if (t->final_count) { /* the counted tail before the instruction limit */
        if (addr != t->pc_next) /* Unicorn's count ends it within this block */
            uc_emu_stop(uc);
        return;
    }
    /* A translated block holds at most 512 instructions (2 KiB). Unicorn
     * reports a block whose first instruction cannot be decoded with a
     * bogus size (65,532 bytes): it is that one instruction, which raises
     * its exception without executing, so it counts nothing and fetches
     * one line (else the L1I could never hold the "block" and the core
     * would stall on it forever). */
    if (size > ISA_MAX_BLOCK_BYTES)
        size = 0;
    uint64_t end = addr + size;
    uint32_t n = count_insns(t, addr, end);
    if (!size)
        end = addr + 1;
    if (waiting(t) || t->shell.local >= t->slice_end) {
        uc_emu_stop(uc);
        return;
    }
    if (t->max_insns && t->insns->v + n > t->max_insns) {
        t->final_count = t->max_insns - t->insns->v;
        t->limit_hit = true;
        uc_emu_stop(uc);
        return;
    }
    if (t->fetch_model) {
        fetch_lines(t, addr, end);
        if (t->miss_out || t->retry_wait) { /* stall before the block runs */
            uc_emu_stop(uc);
            return;
        }
    }
    t->blk_start = addr;
    t->blk_end = end;
    t->insns->v += n;
    t->blocks->v++;
    t->shell.local += n * t->insn_ps;
}

static bool on_invalid(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                       void *arg)
{
    (void)uc, (void)size, (void)value;
    struct isacore *t = arg;
    t->fault = true;
    t->fault_type = type;
    t->fault_addr = addr;
    t->fault_pc = isa_pc(t);
    return false;
}

static void on_intr(uc_engine *uc, uint32_t intno, void *arg)
{
    (void)uc;
    struct isacore *t = arg;
    /* riscv64: 8/9/11 = ecall from U/S/M mode (Unicorn has already moved
     * the PC past it, as it does for every exception); aarch64: 2 = svc */
    bool ecall = t->arch == ISA_RISCV64 ? intno == 8 || intno == 9 || intno == 11 : intno == 2;
    if (ecall) {
        isa_syscall(t);
        return;
    }
    uint64_t pc = isa_pc(t);
    if (t->arch == ISA_RISCV64)
        pc -= 4;
    bool illegal = t->arch == ISA_RISCV64 ? intno == 2 : intno == 1;
    if (t->as.proc) {
        char msg[200];
        uint32_t insn = 0;
        if (pc + 4 <= t->as.sh->size)
            memcpy(&insn, t->as.sh->ram + pc, 4);
        snprintf(msg, sizeof msg, "%s at pc %#llx (instruction %#010x)",
                 illegal ? "SIGILL: illegal instruction" : "SIGTRAP: exception",
                 (unsigned long long)pc, insn);
        /* ILL_ILLOPC; SIGTRAP: TRAP_BRKPT */
        isa_linux_fault(t, illegal ? 4 : 5, illegal ? 1 : 1, pc, pc, msg);
        return;
    }
    if (illegal)
        isa_fail(t, "illegal instruction at pc %#llx", (unsigned long long)pc);
    else
        isa_fail(t, "exception %u at pc %#llx", intno, (unsigned long long)pc);
}

/* ----------------------------------------------------------- execution */

static void core_done(struct isacore *t)
{
    if (t->shell.done)
        return;
    t->shell.done = true;
    t->finish_time = t->shell.local;
    orr_workload_done(t->c);
}

static void report_fault(struct isacore *t, uc_err err)
{
    if (!t->fault) {
        isa_fail(t, "emulation stopped at pc %#llx: %s", (unsigned long long)isa_pc(t),
                 uc_strerror(err));
        return;
    }
    const char *what = t->fault_type == UC_MEM_READ_UNMAPPED || t->fault_type == UC_MEM_READ_PROT
                           ? "load from"
                       : t->fault_type == UC_MEM_WRITE_UNMAPPED || t->fault_type == UC_MEM_WRITE_PROT
                           ? "store to"
                           : "instruction fetch from";
    uint64_t pc = t->fault_pc;
    if (t->fault_type == UC_MEM_FETCH_UNMAPPED || t->fault_type == UC_MEM_FETCH_PROT)
        pc = t->fault_addr;
    else if (t->arch == ISA_RISCV64 && (pc == t->blk_start || pc < t->blk_start ||
                                        pc >= t->blk_end))
        /* Unicorn's riscv64 reports the block's start, or with memory
         * hooks installed (timed mode) a PC synced at some earlier point,
         * possibly in another block: find the instruction in this block */
        pc = riscv_fault_pc(t, t->fault_addr);
    else if (t->arch == ISA_AARCH64 && !t->timing && pc == t->blk_start)
        pc = aarch64_fault_pc(t, t->fault_addr);
    if (t->as.proc) {
        char msg[200];
        bool prot = t->fault_type == UC_MEM_READ_PROT || t->fault_type == UC_MEM_WRITE_PROT ||
                    t->fault_type == UC_MEM_FETCH_PROT;
        bool guard = t->fault_addr >= t->as.guard && t->fault_addr - t->as.guard < ISA_PAGE;
        snprintf(msg, sizeof msg, "SIGSEGV: %s %s address %#llx at pc %#llx%s", what,
                 prot ? "protected" : "unmapped", (unsigned long long)t->fault_addr,
                 (unsigned long long)pc, guard ? " (the stack's guard page: stack overflow)" : "");
        t->fault = false;
        isa_linux_fault(t, 11, prot ? 2 : 1, t->fault_addr, pc, msg); /* SEGV_ACCERR / MAPERR */
        return;
    }
    isa_fail(t, "%s unmapped address %#llx at pc %#llx", what, (unsigned long long)t->fault_addr,
             (unsigned long long)pc);
}

/* Run until the core must wait for something. Called from handle() only. */
static void run(struct isacore *t)
{
    struct orr_sim *sim = t->c->sim;
    t->shell.run_pending = false;
    if (t->shell.done || t->failed || t->shell.step_pending || t->sleeping)
        return;
    orr_time_t now = orr_now(sim);
    core_shell_catch_up(&t->shell);
    for (;;) {
        if (!drain_queue(t))
            return; /* done() or wake() resumes */
        if (core_shell_ahead(&t->shell))
            return;
        if (t->limit_hit && !t->final_count) {
            t->v_limit->v = 1;
            core_done(t);
            return;
        }
        if (t->as.proc && t->as.proc->sched && t->shell.local >= t->next_tick) {
            while (t->next_tick <= t->shell.local) /* the tick, at a slice boundary */
                t->next_tick += t->tick_ps;
            if (!isa_linux_switch(t, true))
                return;
            continue; /* the tick's cost may have put the core ahead */
        }
        t->slice_end = now + t->shell.quantum;
        t->stop = STOP_NONE;
        uint64_t count = t->final_count, before = t->insns->v + t->blocks->v;
        if (count) /* Unicorn counts with a code hook: retranslate so it is in */
            uc_ctl_remove_cache(t->as.uc, t->pc_next, t->pc_next + 1);
        uc_err err = uc_emu_start(t->as.uc, t->pc_next, NEVER_PC, 0, count);
        t->pc_next = isa_pc(t);
        if (count) { /* the counted tail before the instruction limit */
            t->final_count = 0;
            t->insns->v += count;
            t->shell.local += count * t->insn_ps;
        }
        if (err && t->stop != STOP_FAILED)
            report_fault(t, err);
        switch (t->stop) {
        case STOP_FAILED:
            return;
        case STOP_EXIT:
            core_done(t);
            return;
        case STOP_SWITCH:
            if (!isa_linux_switch(t, false))
                return;
            continue;
        case STOP_YIELD:
            t->shell.step_pending = true;
            orr_timer(t->c, t->shell.local - now, T_STEP, 0, 0);
            return;
        case STOP_FUTEX:
            t->sleeping = true;
            t->sleep_from = t->shell.local;
            orr_timer(t->c, t->shell.local - now + t->poll, T_FUTEX, 0, 0);
            return;
        case STOP_NONE:
            break;
        }
        if (t->limit_hit)
            continue; /* run the counted tail, or stop */
        if (t->insns->v + t->blocks->v == before && !waiting(t) && t->shell.local < t->slice_end) {
            isa_fail(t, "emulation made no progress at pc %#llx", (unsigned long long)t->pc_next);
            return;
        }
    }
}

static void on_done(void *arg, uint32_t tag, uint64_t value)
{
    (void)tag, (void)value; /* values come from guest RAM, not from the model */
    struct isacore *t = arg;
    orr_time_t now = orr_now(t->c->sim), before = t->shell.local;
    if (t->shell.local < now)
        t->shell.local = now;
    (t->miss_fetch ? t->cy_fetch : t->cy_miss)->v += (t->shell.local - before) / t->shell.cycle;
    t->miss_out = false;
    t->shell.run_pending = true;
}

static void on_wake(void *arg)
{
    struct isacore *t = arg;
    if (t->retry_wait) {
        t->retry_wait = false;
        t->shell.run_pending = true;
    }
}

/* ------------------------------------------------------------ creation */

/* cpi as a decimal with up to three fractional digits -> thousandths. */
static int parse_cpi(const char *s, uint64_t *milli)
{
    uint64_t v = 0, frac = 0;
    unsigned nFrac = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9' && v < 1000000)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (nFrac < 3)
                frac = frac * 10 + (uint64_t)(*p - '0'), nFrac++;
    if (*p)
        return -1;
    while (nFrac++ < 3)
        frac *= 10;
    *milli = v * 1000 + frac;
    return *milli ? 0 : -1;
}

/* The directory of the running executable (for the guests the build puts
 * next to it), or "" if it cannot be found. */
static void exe_dir(char *out, size_t n)
{
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    out[k > 0 ? k : 0] = 0;
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = 0;
    else
        *out = 0;
}

/* Resolve `elf:`: absolute as is; relative, against the directory of the
 * file that declares it, then the working directory, then the directory
 * of the orrery executable (where the build installs guest/NAME-ARCH). */
static bool resolve_elf(const char *name, const struct orr_mark *mark, char *out, size_t n,
                        char *looked, size_t ln)
{
    char dirs[3][512] = {"", ".", ""};
    if (name[0] == '/') {
        snprintf(out, n, "%s", name);
        return access(out, F_OK) == 0;
    }
    if (mark && mark->file && mark->file[0] != '<') {
        snprintf(dirs[0], sizeof dirs[0], "%s", mark->file);
        char *slash = strrchr(dirs[0], '/');
        if (slash)
            *slash = 0;
        else
            snprintf(dirs[0], sizeof dirs[0], ".");
    }
    exe_dir(dirs[2], sizeof dirs[2]);
    size_t used = 0;
    looked[0] = 0;
    for (unsigned i = 0; i < 3; i++) {
        if (!dirs[i][0])
            continue;
        snprintf(out, n, "%s/%s", dirs[i], name);
        if (access(out, F_OK) == 0)
            return true;
        used += (size_t)snprintf(looked + used, used < ln ? ln - used : 0, "%s%s", used ? ", " : "",
                                 dirs[i]);
        if (used >= ln)
            used = ln - 1;
    }
    return false;
}

static void shared_fini(void *p)
{
    struct isa_shared *sh = p;
    if (sh->ram)
        munmap(sh->ram, sh->size);
}

static void ram_save(const void *p, struct orr_ckpt_writer *w);  /* checkpoint, below */
static void ram_restore(void *p, struct orr_ckpt_reader *r);

/* A Linux process's own memory (abi linux): a private struct isa_shared
 * with its own RAM, so each process has its own address space (its
 * Unicorn engine maps only this RAM). Its physical addresses, as the
 * caches see them, start at phys_base: the processes of a run take
 * consecutive ranges of the homes' memory in creation order. */
static int attach_private_ram(struct isacore *t, struct isa_shared *run, uint64_t size,
                              const struct orr_mark *at, struct orr_diag *d)
{
    if (run->nCore) {
        orr_diag_error(d, &t->c->mark, t->c->keypath, "a Linux process (abi: linux) does not "
                       "share a run with bare isacores (docs/exec.md)");
        return ORR_ESCHEMA;
    }
    t->as.phys_base = run->linux_next;
    run->nLinux++;
    run->linux_next += size;
    t->as.sh = calloc(1, sizeof *t->as.sh);
    if (!t->as.sh)
        return ORR_ENOMEM;
    t->as.sh_private = true;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        orr_diag_error(d, at, t->c->keypath, "cannot allocate %llu bytes of guest RAM",
                       (unsigned long long)size);
        return ORR_ESCHEMA;
    }
    t->as.sh->ram = m;
    t->as.sh->size = size;
    t->as.slot = t->as.sh->nCore++;
    bool covered = false;
    for (size_t i = 0; i < t->shell.setup.cfg.nHome; i++)
        covered |= t->shell.setup.cfg.aHome[i].base <= t->as.phys_base &&
                   t->shell.setup.cfg.aHome[i].base + t->shell.setup.cfg.aHome[i].size >=
                       t->as.phys_base + size;
    if (!covered) {
        orr_diag_error(d, at, t->c->keypath, "process memory [%#llx, %#llx) (each Linux process "
                       "takes its own range) must lie in one memory range of 'homes'",
                       (unsigned long long)t->as.phys_base, (unsigned long long)(t->as.phys_base + size));
        return ORR_ESCHEMA;
    }
    return 0;
}

/* Guest RAM: created by the first isacore, checked by the others. */
static int attach_ram(struct isacore *t, const struct orr_params *p, struct orr_diag *d)
{
    uint64_t size = orr_param_u64(p, "ram");
    const struct orr_mark *at = orr_param_mark(p, "ram");
    if (size % 4096) {
        orr_diag_error(d, at, t->c->keypath, "ram must be a multiple of 4 KiB");
        return ORR_ESCHEMA;
    }
    struct isa_shared *run = orr_sim_shared_state(t->c, "isa.ram", sizeof *t->as.sh, shared_fini);
    orr_sim_shared_ckpt(t->c->sim, "isa.ram", ram_save, ram_restore);
    if (orr_param_enum(p, "abi") == 1)
        return attach_private_ram(t, run, size, at, d);
    t->as.sh = run;
    struct isa_shared *sh = t->as.sh;
    if (!sh->ram) {
        void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            orr_diag_error(d, at, t->c->keypath, "cannot allocate %llu bytes of guest RAM",
                           (unsigned long long)size);
            return ORR_ESCHEMA;
        }
        sh->ram = m;
        sh->size = size;
    } else if (sh->size != size) {
        orr_diag_error(d, at, t->c->keypath, "every isacore shares one guest RAM: this one asks "
                       "for %llu bytes, an earlier one for %llu", (unsigned long long)size,
                       (unsigned long long)sh->size);
        return ORR_ESCHEMA;
    }
    if (sh->nCore >= ISA_MAX_CORES) {
        orr_diag_error(d, &t->c->mark, t->c->keypath, "at most %u isacores per run", ISA_MAX_CORES);
        return ORR_ESCHEMA;
    }
    if (sh->nLinux) {
        orr_diag_error(d, &t->c->mark, t->c->keypath, "a Linux process (abi: linux) does not "
                       "share a run with bare isacores (docs/exec.md)");
        return ORR_ESCHEMA;
    }
    t->as.slot = sh->nCore++;
    bool covered = false;
    for (size_t i = 0; i < t->shell.setup.cfg.nHome; i++)
        covered |= t->shell.setup.cfg.aHome[i].base == 0 && t->shell.setup.cfg.aHome[i].size >= size;
    if (!covered) {
        orr_diag_error(d, at, t->c->keypath, "guest RAM [0, %#llx) must lie in the first memory "
                       "range of 'homes'", (unsigned long long)size);
        return ORR_ESCHEMA;
    }
    return 0;
}

/* Load the ELF into the shared RAM once per file; different files must
 * not overlap. */
static int load_elf(struct isacore *t, const struct orr_params *p, struct orr_diag *d)
{
    const struct orr_mark *at = orr_param_mark(p, "elf");
    char looked[1024], err[1024];
    if (!resolve_elf(orr_param_str(p, "elf"), at, t->as.elf, sizeof t->as.elf, looked, sizeof looked)) {
        if (orr_param_str(p, "elf")[0] == '/')
            orr_diag_error(d, at, t->c->keypath, "cannot open ELF '%s': No such file or directory",
                           t->as.elf);
        else
            orr_diag_error(d, at, t->c->keypath, "cannot find ELF '%s' (looked in: %s)",
                           orr_param_str(p, "elf"), looked);
        return ORR_ESCHEMA;
    }
    struct isa_shared *sh = t->as.sh;
    struct isa_elf_info info;
    int rc = isa_elf_load(t->as.elf, t->arch, NULL, sh->size, &info, err, sizeof err);
    for (unsigned i = 0; rc == 0 && i < sh->nElf; i++) {
        if (strcmp(sh->aElf[i].path, t->as.elf) == 0)
            goto loaded;
        if (info.lo < sh->aElf[i].hi && sh->aElf[i].lo < info.hi) {
            snprintf(err, sizeof err, "'%.480s' [%#llx, %#llx) overlaps '%.480s', loaded by an earlier core",
                     t->as.elf, (unsigned long long)info.lo, (unsigned long long)info.hi,
                     sh->aElf[i].path);
            rc = ORR_EINVAL;
        }
    }
    if (rc == 0 && sh->nElf == ISA_MAX_ELFS) {
        snprintf(err, sizeof err, "at most %u different ELFs per run", ISA_MAX_ELFS);
        rc = ORR_EINVAL;
    }
    if (rc == 0)
        rc = isa_elf_load(t->as.elf, t->arch, sh->ram, sh->size, &info, err, sizeof err);
    if (rc) {
        orr_diag_error(d, at, t->c->keypath, "%s", err);
        return ORR_ESCHEMA;
    }
    snprintf(sh->aElf[sh->nElf].path, sizeof sh->aElf[0].path, "%s", t->as.elf);
    sh->aElf[sh->nElf].lo = info.lo;
    sh->aElf[sh->nElf++].hi = info.hi;
loaded:;
    char knob[64];
    snprintf(knob, sizeof knob, "%016llx", (unsigned long long)info.hash);
    orr_sim_knob(t->c, "elf_xxh3", knob);
    t->as.entry = info.entry;
    t->as.img_lo = info.lo;
    t->as.img_hi = info.hi;
    t->as.phdr = info.phdr;
    t->as.phnum = info.phnum;
    t->as.phent = info.phent;
    return 0;
}

/* Map guest RAM into this core's engine, leaving out page 0 (a NULL
 * access faults) and the lowest page of this core's own stack (its guard:
 * an overflow faults instead of running into whatever lies below). */
static uc_err map_ram(struct isacore *t)
{
    uint64_t lo = ISA_PAGE, g0 = t->as.guard, g1 = t->as.guard + ISA_PAGE, hi = t->as.sh->size;
    uc_err e = uc_mem_map_ptr(t->as.uc, lo, g0 - lo, UC_PROT_ALL, t->as.sh->ram + lo);
    if (!e && hi > g1)
        e = uc_mem_map_ptr(t->as.uc, g1, hi - g1, UC_PROT_ALL, t->as.sh->ram + g1);
    return e;
}

static int setup_engine(struct isacore *t, const struct orr_params *p, struct orr_diag *d)
{
    /* Stacks are carved from the top of RAM by the core's slot, its index
     * among every isacore of the run, so separate entries never share one. */
    uint64_t stack = orr_param_u64(p, "stack");
    if (stack % ISA_PAGE || stack < 2 * ISA_PAGE) {
        orr_diag_error(d, orr_param_mark(p, "stack"), t->c->keypath,
                       "stack must be a multiple of 4 KiB and at least 8 KiB (its lowest page "
                       "is the guard)");
        return ORR_ESCHEMA;
    }
    if ((uint64_t)(t->as.slot + 1) * stack > t->as.sh->size - ISA_PAGE ||
        t->as.sh->size - (uint64_t)(t->as.slot + 1) * stack < t->as.img_hi) {
        orr_diag_error(d, orr_param_mark(p, "stack"), t->c->keypath,
                       "isacore %u's stack (%llu bytes each, carved from the top of RAM) does "
                       "not fit in guest RAM above the program", t->as.slot,
                       (unsigned long long)stack);
        return ORR_ESCHEMA;
    }
    t->as.stack_top = t->as.sh->size - (uint64_t)t->as.slot * stack;
    t->as.guard = t->as.stack_top - stack;
    uc_err e = t->arch == ISA_RISCV64 ? uc_open(UC_ARCH_RISCV, UC_MODE_RISCV64, &t->as.uc)
                                      : uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &t->as.uc);
    if (!e && t->arch == ISA_AARCH64) /* Unicorn's default, named: AT_HWCAP describes it */
        e = uc_ctl_set_cpu_model(t->as.uc, UC_CPU_ARM64_A72);
    if (!e)
        e = map_ram(t);
    if (!e && t->arch == ISA_RISCV64) {
        /* F and D on: mstatus.FS = Initial (Unicorn starts with it Off,
         * and every FP instruction of rv64gc code would be illegal) */
        uint64_t ms = 0;
        e = uc_reg_read(t->as.uc, UC_RISCV_REG_MSTATUS, &ms);
        ms |= UINT64_C(1) << 13;
        if (!e)
            e = uc_reg_write(t->as.uc, UC_RISCV_REG_MSTATUS, &ms);
    }
    uc_hook h;
    if (!e)
        e = uc_hook_add(t->as.uc, &h, UC_HOOK_BLOCK, (void *)on_block, t, 1, 0);
    if (!e)
        e = uc_hook_add(t->as.uc, &h, UC_HOOK_INTR, (void *)on_intr, t, 1, 0);
    if (!e)
        e = uc_hook_add(t->as.uc, &h, UC_HOOK_MEM_INVALID, (void *)on_invalid, t, 1, 0);
    if (!e && t->timing)
        e = uc_hook_add(t->as.uc, &h, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, (void *)on_mem, t, 1, 0);
    if (e) {
        orr_diag_error(d, &t->c->mark, t->c->keypath, "Unicorn: %s", uc_strerror(e));
        return ORR_ESCHEMA;
    }
    uc_reg_write(t->as.uc, t->arch == ISA_RISCV64 ? UC_RISCV_REG_SP : UC_ARM64_REG_SP, &t->as.stack_top);
    isa_set_reg(t, 0, t->core);
    isa_set_reg(t, 1, t->ncores);
    t->pc_next = t->as.entry;
    return 0;
}

static void make_stats(struct isacore *t)
{
    struct orr_component *c = t->c;
    t->insns = orr_counter_new(c, "instructions", "insn");
    t->v_cycles = orr_value_new(c, "cycles", "cy");
    t->v_ipc = orr_value_new(c, "ipc", "");
    t->cy_compute = orr_counter_new(c, "cycles.compute", "cy");
    t->cy_l2 = orr_counter_new(c, "stall.l2_hit", "cy");
    t->cy_miss = orr_counter_new(c, "stall.data_miss", "cy");
    t->cy_fetch = orr_counter_new(c, "stall.fetch", "cy");
    t->cy_syscall = orr_counter_new(c, "stall.syscall", "cy");
    t->cy_futex = orr_counter_new(c, "stall.futex", "cy");
    t->blocks = orr_counter_new(c, "blocks", "block");
    t->loads = orr_counter_new(c, "loads", "op");
    t->stores = orr_counter_new(c, "stores", "op");
    t->l1i_hits = orr_counter_new(c, "l1i.hits", "line");
    t->l1i_misses = orr_counter_new(c, "l1i.misses", "line");
    t->syscalls = orr_counter_new(c, "syscalls", "call");
    t->unknown = orr_counter_new(c, "unknown_syscalls", "call");
    t->yields = orr_counter_new(c, "yields", "call");
    t->futex_waits = orr_counter_new(c, "futex_waits", "call");
    t->futex_wakes = orr_counter_new(c, "futex_woken", "thread");
    t->out_bytes = orr_counter_new(c, "output_bytes", "B");
    t->out_dropped = orr_counter_new(c, "output_dropped", "B");
    t->cy_sleep = orr_counter_new(c, "stall.sleep", "cy");
    t->v_signal = orr_value_new(c, "signal", "");
    t->v_exited = orr_value_new(c, "exited", "");
    t->v_exit = orr_value_new(c, "exit_code", "");
    t->v_limit = orr_value_new(c, "instruction_limit", "");
    t->v_faulted = orr_value_new(c, "faulted", "");
    t->tk_out = orr_trace_kind(c, "guest_write");
}

/* Everything one address space holds (a failed or finished process). */
static void free_proc(struct isa_proc *a)
{
    if (a->uc)
        uc_close(a->uc);
    isa_linux_free_proc(a);
    if (a->sh_private) {
        shared_fini(a->sh);
        free(a->sh);
    }
    memset(a, 0, sizeof *a);
}

/* abi linux: the core's processes — the entry's own (already in t->as)
 * and those of `processes`, which share this core (docs/exec.md): each
 * with its own memory, image, stack and engine. The first runs first in
 * t->as; the scheduler decides from there. */
static int linux_processes(struct isacore *t, const struct orr_params *p, struct orr_diag *d)
{
    size_t n = 0;
    const struct orr_params *g = orr_param_groups(p, "processes", &n);
    int rc = isa_linux_setup(t, p, d);
    if (rc == 0)
        rc = isa_linux_process(t, p, n > 0, d);
    bool loose = rc != 0; /* t->as holds a process aProc does not */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char kp[300];
        snprintf(kp, sizeof kp, "%s.processes.%zu", t->c->keypath, i);
        if (orr_param_enum(&g[i], "abi") != 1 || orr_param_enum(&g[i], "arch") != t->arch) {
            bool abi = orr_param_enum(&g[i], "abi") != 1;
            orr_diag_error(d, orr_param_mark(&g[i], abi ? "abi" : "arch"), kp,
                           abi ? "a process sharing a core needs abi: linux"
                               : "processes sharing a core run its architecture (%s)",
                           isa_arch_names[t->arch]);
            rc = ORR_ESCHEMA;
            break;
        }
        memset(&t->as, 0, sizeof t->as);
        loose = true;
        if ((rc = attach_ram(t, &g[i], d)) || (rc = load_elf(t, &g[i], d)) ||
            (rc = setup_engine(t, &g[i], d)) || (rc = isa_linux_process(t, &g[i], true, d)))
            break;
        loose = false;
    }
    if (loose)
        free_proc(&t->as);
    if (t->nProc) {
        t->as = t->aProc[0];
        t->iProc = 0;
    }
    return rc;
}

static int isacore_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct isacore *t = c->state;
    t->c = c;
    struct pcache_ops ops = {on_done, on_wake};
    int rc = core_shell_create(&t->shell, c, p, &ops, t, T_STEP, T_DEADLOCK, d);
    if (rc)
        return rc;
    const struct pcache_config *cfg = &t->shell.setup.cfg;
    uint64_t cpi;
    if (parse_cpi(orr_param_str(p, "cpi"), &cpi)) {
        orr_diag_error(d, orr_param_mark(p, "cpi"), c->keypath,
                       "cpi '%s': expected a positive decimal such as 1 or 0.75",
                       orr_param_str(p, "cpi"));
        return ORR_ESCHEMA;
    }
    t->arch = (enum isa_arch)orr_param_enum(p, "arch");
    t->core = (unsigned)orr_param_u64(p, "core");
    t->ncores = (unsigned)orr_param_u64(p, "ncores");
    t->timing = orr_param_bool(p, "timing");
    t->fetch_model = t->timing;
    t->unknown_fail = orr_param_enum(p, "unknown_syscall");
    t->insn_ps = cpi * t->shell.cycle / 1000;
    t->syscall_ps = orr_param_u64(p, "syscall_latency");
    t->poll0 = orr_param_u64(p, "futex_poll");
    t->max_insns = orr_param_u64(p, "max_instructions");
    t->out_limit = orr_param_u64(p, "output_limit");
    t->l1_cycles = cfg->l1_cycles;
    uint32_t isets = 0;
    const char *bad = !pcache_geometry_ok(orr_param_u64(p, "l1i_size"),
                                          (uint32_t)orr_param_u64(p, "l1i_ways"), &isets)
                          ? "l1i_size"
                          : NULL;
    if (bad) {
        orr_diag_error(d, orr_param_mark(p, bad), c->keypath,
                       "%s must be ways × sets × 64 B with a power-of-two number of sets", bad);
        return ORR_ESCHEMA;
    }
    if (t->core >= t->ncores) {
        orr_diag_error(d, orr_param_mark(p, "core"), c->keypath, "core must be below ncores");
        return ORR_ESCHEMA;
    }
    if (cache_array_init(&t->l1i, isets, (uint32_t)orr_param_u64(p, "l1i_ways"), REPL_LRU))
        return ORR_ENOMEM;
    make_stats(t);
    if ((rc = attach_ram(t, p, d)) || (rc = load_elf(t, p, d)) || (rc = setup_engine(t, p, d)))
        return rc;
    bool linux_abi = orr_param_enum(p, "abi") == 1;
    if (!linux_abi && (orr_param_given(p, "argv") || orr_param_given(p, "env") ||
                       orr_param_given(p, "files"))) {
        const char *k = orr_param_given(p, "argv") ? "argv" : orr_param_given(p, "env") ? "env"
                                                                                          : "files";
        orr_diag_error(d, orr_param_mark(p, k), c->keypath, "'%s' needs abi: linux (a bare guest "
                       "gets no argv, environment or files)", k);
        return ORR_ESCHEMA;
    }
    if (linux_abi && (rc = linux_processes(t, p, d)))
        return rc;
    t->poll = t->poll0;
    return 0;
}

static int isacore_start(struct orr_component *c, struct orr_diag *d)
{
    struct isacore *t = c->state;
    if (core_shell_check_linked(&t->shell, d))
        return ORR_ESCHEMA;
    if (t->as.proc && isa_linux_start(t)) {
        orr_diag_error(d, &c->mark, c->keypath, "cannot start the process's first thread");
        return ORR_ESCHEMA;
    }
    t->shell.step_pending = true;
    orr_timer(c, 0, T_STEP, 0, 0);
    core_shell_arm_deadlock(&t->shell);
    return 0;
}

static void isacore_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct isacore *t = c->state;
    enum core_event e = core_shell_event(&t->shell, ev);
    if (e == CORE_EV_STOP)
        return;
    if (e == CORE_EV_OTHER && ev->kind == ORR_TK_TIMER && ev->port == T_FUTEX) {
        if (!t->sleeping || t->shell.done)
            return;
        if (!isa_futex_poll(t)) {
            orr_timer(c, t->poll, T_FUTEX, 0, 0);
            return;
        }
        t->sleeping = false;
        core_shell_catch_up(&t->shell);
        t->cy_futex->v += (t->shell.local - t->sleep_from) / t->shell.cycle;
        t->shell.run_pending = true;
    }
    if (t->shell.run_pending)
        run(t);
}

static void isacore_finish(struct orr_component *c)
{
    struct isacore *t = c->state;
    orr_time_t end = t->shell.done ? t->finish_time : orr_now(c->sim);
    uint64_t cycles = end / t->shell.cycle;
    t->v_cycles->v = (double)cycles;
    t->v_ipc->v = cycles ? (double)t->insns->v / (double)cycles : 0.0;
    t->cy_compute->v = t->insns->v * t->insn_ps / t->shell.cycle;
    if (t->nProc) { /* abi linux: done when all are; exit_code and signal: the first's */
        t->aProc[t->iProc] = t->as;
        bool all = true;
        for (unsigned k = 0; k < t->nProc; k++) {
            const struct isa_proc *a = &t->aProc[k];
            all &= a->proc->exited;
            if (a->v_exit) {
                a->v_exit->v = a->proc->exit_status;
                a->v_signal->v = a->signal;
            }
        }
        t->exited = all;
        t->exit_code = t->aProc[0].proc->exit_status;
        t->v_signal->v = t->aProc[0].signal;
    }
    t->v_exited->v = t->exited;
    t->v_exit->v = (double)t->exit_code;
}

static void isacore_destroy(struct orr_component *c)
{
    struct isacore *t = c->state;
    if (t->nProc) {
        t->aProc[t->iProc] = t->as;
        for (unsigned k = 0; k < t->nProc; k++)
            free_proc(&t->aProc[k]);
    } else {
        free_proc(&t->as);
    }
    core_shell_free(&t->shell);
    cache_array_free(&t->l1i);
    free(t->aQ);
    free(t->aOut);
    isa_linux_free(t);
}

const char *isacore_output(const struct orr_component *c, size_t *n)
{
    if (!c || c->type != &orr_isacore_type) {
        *n = 0;
        return NULL;
    }
    const struct isacore *t = c->state;
    *n = t->nOut;
    return t->aOut;
}

static const struct orr_metric_doc isacore_metrics[] = {
    PCACHE_METRICS,
    {"instructions", "insn", ORR_METRIC_COUNTER, "guest instructions executed"},
    {"cycles", "cy", ORR_METRIC_VALUE, "core cycles until the guest exited (or the run ended)"},
    {"ipc", "", ORR_METRIC_VALUE, "instructions per cycle"},
    {"cycles.compute", "cy", ORR_METRIC_COUNTER,
     "cycles charged for instructions (instructions x cpi)"},
    {"stall.l2_hit", "cy", ORR_METRIC_COUNTER,
     "cycles data accesses spent beyond an L1 hit, on L2 hits"},
    {"stall.data_miss", "cy", ORR_METRIC_COUNTER, "cycles stalled on data misses"},
    {"stall.fetch", "cy", ORR_METRIC_COUNTER, "cycles stalled fetching instruction lines"},
    {"stall.syscall", "cy", ORR_METRIC_COUNTER, "cycles charged for syscalls (syscall_latency)"},
    {"stall.futex", "cy", ORR_METRIC_COUNTER, "cycles asleep in futex waits"},
    {"blocks", "block", ORR_METRIC_COUNTER, "basic blocks executed"},
    {"loads", "op", ORR_METRIC_COUNTER, "guest loads"},
    {"stores", "op", ORR_METRIC_COUNTER, "guest stores"},
    {"l1i.hits", "line", ORR_METRIC_COUNTER, "instruction line fetches that hit the L1I filter"},
    {"l1i.misses", "line", ORR_METRIC_COUNTER, "instruction line fetches that missed it"},
    {"syscalls", "call", ORR_METRIC_COUNTER, "system calls the guest made"},
    {"unknown_syscalls", "call", ORR_METRIC_COUNTER,
     "system calls the core does not implement"},
    {"yields", "call", ORR_METRIC_COUNTER, "sched_yield calls"},
    {"futex_waits", "call", ORR_METRIC_COUNTER, "futex waits that slept"},
    {"futex_woken", "thread", ORR_METRIC_COUNTER, "threads woken by futex wakes"},
    {"output_bytes", "B", ORR_METRIC_COUNTER, "bytes the guest wrote to stdout and stderr, kept"},
    {"output_dropped", "B", ORR_METRIC_COUNTER, "bytes written beyond the output limit, dropped"},
    {"stall.sleep", "cy", ORR_METRIC_COUNTER,
     "cycles the core idled with every thread of its Linux process asleep (nanosleep, futex "
     "timeouts)"},
    {"context_switches", "switch", ORR_METRIC_COUNTER,
     "abi linux: switches between threads (kernel/sched picks), of one process or of two "
     "processes sharing the core"},
    {"process_switches", "switch", ORR_METRIC_COUNTER,
     "abi linux: the context switches that changed the address space (processes sharing the "
     "core)"},
    {"processes", "", ORR_METRIC_VALUE, "abi linux: processes on this core"},
    {"threads", "thread", ORR_METRIC_COUNTER,
     "abi linux: threads the core's processes ran (1 + clones each)"},
    {"proc<N>.exit_code", "", ORR_METRIC_VALUE,
     "several processes on the core: the exit status of the Nth (workloads order)"},
    {"proc<N>.signal", "", ORR_METRIC_VALUE,
     "several processes on the core: the signal that killed the Nth, else 0"},
    {"proc<N>.pid", "", ORR_METRIC_VALUE,
     "several processes on the core: the Nth's pid (one pid space per core)"},
    {"signals", "signal", ORR_METRIC_COUNTER,
     "abi linux: fault signals delivered to a handler the process installed"},
    {"cycles.kernel", "cy", ORR_METRIC_COUNTER,
     "abi linux: cycles the reference scheduler charged (hal_cost: enqueue, pick, tick, switch)"},
    {"signal", "", ORR_METRIC_VALUE,
     "abi linux: the signal that killed the process (11 SIGSEGV, 4 SIGILL, ...), else 0"},
    {"exited", "", ORR_METRIC_VALUE,
     "1 if the guest called exit (abi linux: every process of the core exited)"},
    {"exit_code", "", ORR_METRIC_VALUE,
     "the guest's exit status (several processes: the first one's, as signal)"},
    {"instruction_limit", "", ORR_METRIC_VALUE, "1 if the core stopped at its instruction limit"},
    {"faulted", "", ORR_METRIC_VALUE, "1 if the guest faulted (the run fails)"},
    {NULL},
};

/* ------------------------------------------------------ checkpoint/restore */

/* Guest RAM: only pages that are not all zero are written (a fresh RAM is
 * zero, so what was never touched costs nothing); restore zeroes the RAM
 * (the ELF images create loaded included) and writes them back. Then the
 * futex wait table. The ELF list and has_linux come from create. */
void isa_ram_save(const struct isa_shared *sh, struct orr_ckpt_writer *w)
{
    static const uint8_t zero[ISA_PAGE];
    uint64_t n = 0;
    for (uint64_t a = 0; a < sh->size; a += ISA_PAGE)
        n += memcmp(sh->ram + a, zero, ISA_PAGE) != 0;
    orr_ckpt_put_u64(w, sh->size);
    orr_ckpt_put_u64(w, n);
    for (uint64_t a = 0; a < sh->size; a += ISA_PAGE)
        if (memcmp(sh->ram + a, zero, ISA_PAGE)) {
            orr_ckpt_put_u64(w, a);
            orr_ckpt_put_bytes(w, sh->ram + a, ISA_PAGE);
        }
}

void isa_ram_restore(struct isa_shared *sh, struct orr_ckpt_reader *r)
{
    if (orr_ckpt_get_u64(r) != sh->size) {
        orr_ckpt_fail(r, "guest RAM of another size");
        return;
    }
    uint64_t n = orr_ckpt_get_count(r, 16 + ISA_PAGE);
    if (sh->size)
        memset(sh->ram, 0, sh->size);
    for (uint64_t i = 0; i < n && orr_ckpt_ok(r); i++) {
        uint64_t a = orr_ckpt_get_u64(r);
        if (a % ISA_PAGE || a >= sh->size) {
            orr_ckpt_fail(r, "a guest RAM page outside the RAM");
            return;
        }
        orr_ckpt_get_into(r, sh->ram + a, ISA_PAGE);
    }
}

static void ram_save(const void *p, struct orr_ckpt_writer *w)
{
    const struct isa_shared *sh = p;
    isa_ram_save(sh, w);
    orr_ckpt_put_u32(w, sh->nCore);
    for (unsigned i = 0; i < sh->nCore; i++) {
        orr_ckpt_put_u64(w, sh->aWait[i].addr);
        orr_ckpt_put_u8(w, sh->aWait[i].state);
    }
}

static void ram_restore(void *p, struct orr_ckpt_reader *r)
{
    struct isa_shared *sh = p;
    isa_ram_restore(sh, r);
    if (!orr_ckpt_ok(r))
        return;
    if (orr_ckpt_get_u32(r) != sh->nCore) {
        orr_ckpt_fail(r, "another number of guest cores");
        return;
    }
    for (unsigned i = 0; i < sh->nCore; i++) {
        sh->aWait[i].addr = orr_ckpt_get_u64(r);
        sh->aWait[i].state = orr_ckpt_get_u8(r);
    }
}

/* The architectural registers kept across a checkpoint: integer, FP/SIMD,
 * flags, the thread pointer and the pc. (Unicorn's uc_context holds host
 * pointers; registers by number are plain values.) */
static const int riscv_regs[] = {
#define R(n) UC_RISCV_REG_X0 + (n)
    R(0), R(1), R(2), R(3), R(4), R(5), R(6), R(7), R(8), R(9), R(10), R(11), R(12), R(13),
    R(14), R(15), R(16), R(17), R(18), R(19), R(20), R(21), R(22), R(23), R(24), R(25),
    R(26), R(27), R(28), R(29), R(30), R(31),
#undef R
#define F(n) UC_RISCV_REG_F0 + (n)
    F(0), F(1), F(2), F(3), F(4), F(5), F(6), F(7), F(8), F(9), F(10), F(11), F(12), F(13),
    F(14), F(15), F(16), F(17), F(18), F(19), F(20), F(21), F(22), F(23), F(24), F(25),
    F(26), F(27), F(28), F(29), F(30), F(31),
#undef F
    UC_RISCV_REG_FCSR, UC_RISCV_REG_PC,
};
static const int arm64_regs[] = {
#define R(n) UC_ARM64_REG_X0 + (n)
    R(0), R(1), R(2), R(3), R(4), R(5), R(6), R(7), R(8), R(9), R(10), R(11), R(12), R(13),
    R(14), R(15), R(16), R(17), R(18), R(19), R(20), R(21), R(22), R(23), R(24), R(25),
    R(26), R(27), R(28),
#undef R
    UC_ARM64_REG_X29, UC_ARM64_REG_X30, UC_ARM64_REG_SP, UC_ARM64_REG_NZCV,
#define Q(n) UC_ARM64_REG_Q0 + (n)
    Q(0), Q(1), Q(2), Q(3), Q(4), Q(5), Q(6), Q(7), Q(8), Q(9), Q(10), Q(11), Q(12), Q(13),
    Q(14), Q(15), Q(16), Q(17), Q(18), Q(19), Q(20), Q(21), Q(22), Q(23), Q(24), Q(25),
    Q(26), Q(27), Q(28), Q(29), Q(30), Q(31),
#undef Q
    UC_ARM64_REG_FPCR, UC_ARM64_REG_FPSR, UC_ARM64_REG_TPIDR_EL0, UC_ARM64_REG_PC,
};

const int *isa_ckpt_regs(const struct isacore *t, size_t *n)
{
    if (t->arch == ISA_AARCH64) {
        *n = sizeof arm64_regs / sizeof arm64_regs[0];
        return arm64_regs;
    }
    *n = sizeof riscv_regs / sizeof riscv_regs[0];
    return riscv_regs;
}

/* Dynamic state of a bare guest core: registers, the shell (caches, local
 * time), the L1I, the execution and miss state, deferred timing accesses,
 * the futex sleep, exit and output. A core running a Linux process (abi
 * linux) keeps the process's kernel state too, which is not saved yet:
 * restoring one fails. */
static void isacore_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct isacore *t = c->state;
    orr_ckpt_put_u8(w, t->as.proc != NULL);
    if (t->as.proc)
        isa_linux_save(t, w);
    size_t nReg;
    const int *regs = isa_ckpt_regs(t, &nReg);
    for (size_t i = 0; i < nReg; i++) {
        uint8_t v[16] = {0};
        uc_reg_read(t->as.uc, regs[i], v);
        orr_ckpt_put_bytes(w, v, sizeof v);
    }
    core_shell_save(&t->shell, w);
    cache_array_save(&t->l1i, w);
    orr_ckpt_put_u64(w, t->slice_end);
    orr_ckpt_put_u64(w, t->pc_next);
    orr_ckpt_put_u8(w, t->sleeping);
    orr_ckpt_put_u8(w, t->failed);
    orr_ckpt_put_u8(w, t->limit_hit);
    orr_ckpt_put_u32(w, (uint32_t)t->stop);
    orr_ckpt_put_u64(w, t->final_count);
    orr_ckpt_put_u64(w, t->blk_start);
    orr_ckpt_put_u64(w, t->blk_end);
    orr_ckpt_put_u8(w, t->miss_out);
    orr_ckpt_put_u8(w, t->retry_wait);
    orr_ckpt_put_u8(w, t->miss_fetch);
    orr_ckpt_put_u64(w, t->miss_from);
    orr_ckpt_put_u32(w, t->next_tag);
    orr_ckpt_put_u64(w, t->nQ);
    for (uint32_t i = 0; i < t->nQ; i++)
        orr_ckpt_put_array(w, &t->aQ[(t->qHead + i) % t->qCap], 1, sizeof *t->aQ);
    orr_ckpt_put_u8(w, t->fault);
    orr_ckpt_put_u64(w, t->fault_addr);
    orr_ckpt_put_u64(w, t->fault_pc);
    orr_ckpt_put_i64(w, t->fault_type);
    orr_ckpt_put_u64(w, t->futex_addr);
    orr_ckpt_put_u64(w, t->poll);
    orr_ckpt_put_u64(w, t->sleep_from);
    orr_ckpt_put_u8(w, t->exited);
    orr_ckpt_put_i64(w, t->exit_code);
    orr_ckpt_put_u64(w, t->finish_time);
    orr_ckpt_put_u32(w, t->unknown_fail);
    orr_ckpt_put_bytes(w, t->aOut, t->nOut);
}

static void isacore_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct isacore *t = c->state;
    if ((orr_ckpt_get_u8(r) != 0) != (t->as.proc != NULL)) {
        orr_ckpt_fail(r, "a Linux process's core (abi linux) against a bare guest's");
        return;
    }
    if (t->as.proc)
        isa_linux_restore(t, r);
    size_t nReg;
    const int *regs = isa_ckpt_regs(t, &nReg);
    for (size_t i = 0; i < nReg && orr_ckpt_ok(r); i++) {
        uint8_t v[16];
        orr_ckpt_get_into(r, v, sizeof v);
        if (orr_ckpt_ok(r) && uc_reg_write(t->as.uc, regs[i], v) != UC_ERR_OK)
            orr_ckpt_fail(r, "a guest register Unicorn refuses");
    }
    core_shell_restore(&t->shell, r);
    cache_array_restore(&t->l1i, r);
    t->slice_end = orr_ckpt_get_u64(r);
    t->pc_next = orr_ckpt_get_u64(r);
    t->sleeping = orr_ckpt_get_u8(r) != 0;
    t->failed = orr_ckpt_get_u8(r) != 0;
    t->limit_hit = orr_ckpt_get_u8(r) != 0;
    t->stop = (enum isa_stop)orr_ckpt_get_u32(r);
    t->final_count = orr_ckpt_get_u64(r);
    t->blk_start = orr_ckpt_get_u64(r);
    t->blk_end = orr_ckpt_get_u64(r);
    t->miss_out = orr_ckpt_get_u8(r) != 0;
    t->retry_wait = orr_ckpt_get_u8(r) != 0;
    t->miss_fetch = orr_ckpt_get_u8(r);
    t->miss_from = orr_ckpt_get_u64(r);
    t->next_tag = orr_ckpt_get_u32(r);
    uint64_t nQ = orr_ckpt_get_count(r, sizeof *t->aQ);
    free(t->aQ);
    t->aQ = NULL;
    t->nQ = t->qHead = t->qCap = 0;
    for (uint64_t i = 0; i < nQ && orr_ckpt_ok(r); i++) {
        struct isa_acc a;
        orr_ckpt_get_into(r, &a, sizeof a);
        q_push(t, &a);
    }
    t->fault = orr_ckpt_get_u8(r) != 0;
    t->fault_addr = orr_ckpt_get_u64(r);
    t->fault_pc = orr_ckpt_get_u64(r);
    t->fault_type = (int)orr_ckpt_get_i64(r);
    t->futex_addr = orr_ckpt_get_u64(r);
    t->poll = orr_ckpt_get_u64(r);
    t->sleep_from = orr_ckpt_get_u64(r);
    t->exited = orr_ckpt_get_u8(r) != 0;
    t->exit_code = orr_ckpt_get_i64(r);
    t->finish_time = orr_ckpt_get_u64(r);
    t->unknown_fail = orr_ckpt_get_u32(r);
    size_t n;
    const void *out = orr_ckpt_get_bytes(r, &n);
    free(t->aOut);
    t->aOut = NULL;
    t->nOut = 0;
    if (n) {
        if (!(t->aOut = malloc(n + 1)))
            orr_oom();
        memcpy(t->aOut, out, n);
        t->aOut[n] = 0;
        t->nOut = n;
    }
}

const struct orr_component_type orr_isacore_type = {
    .name = "isacore",
    .summary = "ISA-mode core: a riscv64/aarch64 guest ELF under Unicorn, its fetches, loads and "
               "stores timed by an L1I and private coherent caches",
    .params = isacore_params,
    .ports = isacore_ports,
    .metrics = isacore_metrics,
    .state_size = sizeof(struct isacore),
    .workload = true,
    .must_finish = true,
    .create = isacore_create,
    .start = isacore_start,
    .handle = isacore_handle,
    .finish = isacore_finish,
    .destroy = isacore_destroy,
    .output = isacore_output,
    .save = isacore_save,
    .restore = isacore_restore,
};
