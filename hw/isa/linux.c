/* abi: linux — an isacore's guest as a process of the reference kernel
 * (kernel/proc, include/kernel/proc.h; docs/exec.md). This file is the
 * platform side: it gives the kernel its ops (user memory = the core's
 * view of guest RAM, time = the core's local clock, output, randomness
 * from the core's RNG stream), lays out the address range, builds the
 * initial stack and carries out what a syscall asks of the core (return,
 * exit, yield, sleep, futex wait/wake).
 *
 * Address range today: guest RAM is flat and physical = virtual. The
 * process owns it: page 0 and the stack's guard page are unmapped, the
 * image sits where it was linked, brk grows from the page after it, mmap
 * allocates top-down below the stack. One Linux process per run, on one
 * core, until processes get page tables of their own (the MMU work); the
 * layout is handed to the kernel as a struct proc_layout, which is what
 * becomes the process's VMAs then.
 *
 * Threads (docs/exec.md "Threads"): the process's threads are tasks of the
 * reference scheduler (kernel/sched) running on this core, which is CPU 0
 * of a one-CPU scheduler whose HAL calls come back here (kcpu.ops): time
 * is the core's local clock, hal_cost (enqueue, pick, the context switch
 * itself) advances it, sched_switch goes into the trace. Each thread's
 * registers live in a Unicorn context (uc_context_save/restore) while it
 * does not run; the switch happens between two uc_emu_start calls, never
 * inside a hook: a syscall that blocks, wakes, yields or clones stops
 * emulation with STOP_SWITCH and the run loop calls isa_linux_switch. The
 * tick (the scheduler's tick_ns, 4 ms) is checked at every slice boundary
 * (a quantum at most), so a thread that never enters the kernel is still
 * preempted. With no runnable thread the core idles to the earliest
 * sleeper's wake-up; with none at all every thread waits on a futex no one
 * can wake, and the run fails naming the deadlock. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/isacore.h"
#include "hw/registry.h"
#include "isa_internal.h"
#include "orrery/diag.h"
#include "orrery/error.h"
#include "orrery/checkpoint.h"
#include "orrery/params.h"

/* ------------------------------------------------------ kernel ops */

/* User memory: guest RAM minus page 0 and the guard page. */
static bool user_range(const struct isacore *t, uint64_t a, size_t n)
{
    uint64_t size = t->as.sh->size;
    if (a < ISA_PAGE || a >= size || n > size - a)
        return false;
    return a + n <= t->as.guard || a >= t->as.guard + ISA_PAGE;
}

static int op_copy_in(void *ctx, void *dst, uint64_t u, size_t n)
{
    struct isacore *t = ctx;
    if (!user_range(t, u, n))
        return -1;
    memcpy(dst, t->as.sh->ram + u, n);
    return 0;
}

static int op_copy_out(void *ctx, uint64_t u, const void *src, size_t n)
{
    struct isacore *t = ctx;
    if (!user_range(t, u, n))
        return -1;
    memcpy(t->as.sh->ram + u, src, n);
    return 0;
}

static int op_zero(void *ctx, uint64_t u, size_t n)
{
    struct isacore *t = ctx;
    if (!user_range(t, u, n))
        return -1;
    memset(t->as.sh->ram + u, 0, n);
    return 0;
}

static uint64_t op_now_ns(void *ctx)
{
    const struct isacore *t = ctx;
    return t->shell.local / 1000;
}

static void op_output(void *ctx, int fd, const void *buf, size_t n)
{
    isa_output(ctx, fd, buf, n);
}

static void op_random(void *ctx, void *buf, size_t n)
{
    struct isacore *t = ctx;
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = orr_rng_next(&t->c->rng);
        for (size_t j = 0; j < 8 && i + j < n; j++)
            b[i + j] = (uint8_t)(r >> (8 * j));
    }
}

/* The program's view of its pages: Unicorn's protection of the range
 * (uc_mem_protect splits the RAM mapping as needed). Execute permission
 * goes with read: it is not enforced (a signal trampoline may live on a
 * thread's PROT_READ|PROT_WRITE stack). */
static int op_protect(void *ctx, uint64_t u, uint64_t n, unsigned prot)
{
    struct isacore *t = ctx;
    if (!user_range(t, u, (size_t)n))
        return -1;
    uint32_t perms = (prot & 1 ? UC_PROT_READ | UC_PROT_EXEC : 0) | (prot & 2 ? UC_PROT_WRITE : 0) |
                     (prot & 4 ? UC_PROT_READ | UC_PROT_EXEC : 0);
    return uc_mem_protect(t->as.uc, u, n, perms) ? -1 : 0;
}

static const struct proc_ops isa_proc_ops = {op_copy_in, op_copy_out, op_zero, op_now_ns,
                                             op_output, op_random, op_protect};

/* ------------------------------------------------------ the HAL of the scheduler */

static struct isacore *host(const struct hal_cpu *c) { return c->host; }

static hal_ns_t k_now(const struct hal_cpu *c) { return host(c)->shell.local / 1000; }
static void k_timer_set(struct hal_cpu *c, hal_ns_t when) { (void)c, (void)when; } /* the run loop ticks */
static void k_void(struct hal_cpu *c) { (void)c; }
static void k_ipi(struct hal_cpu *c, unsigned target, uint32_t reason) { (void)c, (void)target, (void)reason; }
static int k_access(struct hal_cpu *c, unsigned op, hal_paddr_t pa, unsigned size, uint64_t value,
                    uint64_t expect, uint64_t *out)
{
    (void)c, (void)op, (void)pa, (void)size, (void)value, (void)expect, (void)out;
    return HAL_ENOTSUP;
}
static int k_set_root(struct hal_cpu *c, hal_paddr_t root, void *ctx) { (void)c, (void)root, (void)ctx; return HAL_ENOTSUP; }
static void *k_mmu_ctx(const struct hal_cpu *c) { (void)c; return NULL; }
static int k_flush(struct hal_cpu *c, uint64_t va, uint64_t len) { (void)c, (void)va, (void)len; return HAL_ENOTSUP; }
static int k_region(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size) { (void)c, (void)base, (void)size; return HAL_ENOTSUP; }

static void k_cost(struct hal_cpu *c, uint32_t cycles)
{
    struct isacore *t = host(c);
    t->shell.local += (orr_time_t)cycles * t->shell.cycle;
    t->cy_kernel->v += cycles;
}

static void k_trace(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b)
{
    struct isacore *t = host(c);
    if (point == SCHED_TP_SWITCH)
        orr_trace_point(t->c, t->tk_switch, a, b);
}

static void k_report(struct hal_cpu *c, const char *name, uint64_t value) { (void)c, (void)name, (void)value; }

__attribute__((noreturn)) static void k_panic(struct hal_cpu *c, const char *why)
{
    /* the scheduler's own invariants broke inside a Unicorn hook, where
     * nothing can unwind: say so and stop */
    fprintf(stderr, "orrery: kernel panic in %s: %s\n", host(c)->c->path, why);
    abort();
}

static const struct platform_cpu_ops isa_cpu_ops = {
    .now = k_now, .timer_set = k_timer_set, .irq_restored = k_void, .ipi_send = k_ipi,
    .idle = k_void, .access = k_access, .relax = k_void, .mmu_set_root = k_set_root,
    .mmu_context = k_mmu_ctx, .tlb_flush = k_flush, .vaccess = k_access, .mem_region = k_region,
    .percpu_area = k_region, .cost = k_cost, .trace = k_trace, .report = k_report,
    .panic = k_panic};

/* The core's scheduler and its process set (before the first process:
 * pids come from it). */
static int threads_setup(struct isacore *t)
{
    t->ctx_switches = orr_counter_new(t->c, "context_switches", "switch");
    t->threads = orr_counter_new(t->c, "threads", "thread");
    t->cy_kernel = orr_counter_new(t->c, "cycles.kernel", "cy");
    t->signals = orr_counter_new(t->c, "signals", "signal");
    t->proc_switches = orr_counter_new(t->c, "process_switches", "switch");
    t->tk_switch = orr_trace_kind(t->c, "sched_switch");
    if (sched_init(&t->ksched, NULL, &t->krq, 1))
        return ORR_EINVAL;
    memset(&t->kplat, 0, sizeof t->kplat);
    t->kplat.comp = t->c;
    t->kplat.ncpu = 1;
    t->kplat.aCpu = &t->kcpu;
    t->kcpu = (struct hal_cpu){.plat = &t->kplat, .id = 0, .irq_on = false, .ops = &isa_cpu_ops,
                               .host = t};
    t->tick_ps = t->ksched.cfg.tick_ns * 1000;
    proc_cpu_init(&t->kpc, &t->ksched, &t->kcpu, 1);
    return 0;
}

/* Make process ip (thread next) the running one: swap address spaces if
 * it is another process's, then load the thread's registers into its
 * engine unless they are already there. */
static void switch_to(struct isacore *t, unsigned ip, unsigned next)
{
    if (ip != t->iProc) {
        t->aProc[t->iProc] = t->as;
        t->as = t->aProc[ip];
        t->iProc = ip;
        t->proc_switches->v++;
        t->ctx_switches->v++;
    }
    struct isa_proc *a = &t->as;
    if (next != a->loaded) {
        if (a->proc->aThread[a->loaded].state != PROC_T_FREE)
            uc_context_save(a->uc, a->aCtx[a->loaded]);
        uc_context_restore(a->uc, a->aCtx[next]);
        a->loaded = next;
        t->ctx_switches->v++;
    }
    struct proc_thread *th = &a->proc->aThread[next];
    if (th->has_ret) {
        isa_set_reg(t, 0, (uint64_t)th->ret);
        th->has_ret = false;
    }
    t->pc_next = isa_pc(t);
}

/* At the component's start (the scheduler's first switch is a trace
 * record, which only a started run takes): every process's first thread
 * becomes runnable, and the one the scheduler picks runs. */
int isa_linux_start(struct isacore *t)
{
    t->next_tick = t->shell.local + t->tick_ps;
    t->aProc[t->iProc] = t->as;
    for (unsigned k = 0; k < t->nProc; k++)
        if (proc_cpu_add(&t->kpc, t->aProc[k].proc, t->aProc[k].aCtx[0]))
            return ORR_EINVAL;
    t->threads->v += t->nProc;
    unsigned ip = 0;
    if (proc_cpu_schedule(&t->kpc, &ip) != 0)
        return ORR_EINVAL;
    switch_to(t, ip, 0);
    t->proc_switches->v = 0; /* starting is not a switch */
    t->ctx_switches->v = 0;
    return 0;
}

/* ------------------------------------------------------ setup */

/* riscv64 AT_HWCAP: one bit per single-letter extension (IMAFDC);
 * aarch64: what Linux reports on the Cortex-A72 Unicorn emulates (FP,
 * ASIMD, AES, PMULL, SHA1, SHA2, CRC32, CPUID: 0x8fb, as qemu-aarch64
 * -cpu cortex-a72 does), by which glibc picks its string routines. */
static uint64_t hwcap(enum isa_arch a)
{
    if (a == ISA_AARCH64)
        return 0x8fb;
    uint64_t h = 0;
    for (const char *x = "IMAFDC"; *x; x++)
        h |= UINT64_C(1) << (*x - 'A');
    return h;
}

/* Read the `files:` entries' host bytes (relative to the scenario file). */
static int load_files(struct isacore *t, const struct orr_params *p, struct orr_diag *d)
{
    size_t n = 0;
    const struct orr_params *g = orr_param_groups(p, "files", &n);
    t->as.aFile = calloc(n ? n : 1, sizeof *t->as.aFile);
    if (!t->as.aFile)
        return ORR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *from = orr_param_str(&g[i], "from");
        const struct orr_mark *m = orr_param_mark(&g[i], "from");
        char path[1024];
        if (from[0] != '/' && m && m->file && m->file[0] != '<' && strrchr(m->file, '/'))
            snprintf(path, sizeof path, "%.*s/%s", (int)(strrchr(m->file, '/') - m->file),
                     m->file, from);
        else
            snprintf(path, sizeof path, "%s", from);
        FILE *f = fopen(path, "rb");
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        while (f) {
            if (len == cap) {
                cap = cap ? cap * 2 : 4096;
                uint8_t *nb = realloc(buf, cap);
                if (!nb)
                    orr_oom();
                buf = nb;
            }
            size_t got = fread(buf + len, 1, cap - len, f);
            len += got;
            if (!got)
                break;
        }
        if (!f || ferror(f)) {
            if (f)
                fclose(f);
            free(buf);
            orr_diag_error(d, m, t->c->keypath, "cannot read the file '%s' to map in for '%s'",
                           path, orr_param_str(&g[i], "path"));
            return ORR_ESCHEMA;
        }
        fclose(f);
        t->as.aFile[t->as.nFile].path = orr_param_str(&g[i], "path");
        t->as.aFile[t->as.nFile].data = buf;
        t->as.aFile[t->as.nFile++].size = len;
    }
    return 0;
}

int isa_linux_setup(struct isacore *t, const struct orr_params *p, struct orr_diag *d)
{
    const struct orr_mark *at = orr_param_mark(p, "abi");
    if (t->ncores != 1) {
        orr_diag_error(d, at, t->c->keypath, "abi linux runs one process on one core (its "
                       "threads share it; a process on several cores is not supported yet: "
                       "docs/exec.md)");
        return ORR_ESCHEMA;
    }
    size_t nMore = 0;
    orr_param_groups(p, "processes", &nMore);
    if (1 + nMore > PROC_CPU_MAX) {
        orr_diag_error(d, orr_param_mark(p, "processes"), t->c->keypath,
                       "at most %u processes share a core", PROC_CPU_MAX);
        return ORR_ESCHEMA;
    }
    t->aProc = calloc(1 + nMore, sizeof *t->aProc);
    if (!t->aProc)
        return ORR_ENOMEM;
    if (threads_setup(t)) {
        orr_diag_error(d, at, t->c->keypath, "cannot set up the core's scheduler");
        return ORR_EINVAL;
    }
    t->v_procs = orr_value_new(t->c, "processes", "");
    t->v_procs->v = (double)(1 + nMore);
    return 0;
}

int isa_linux_process(struct isacore *t, const struct orr_params *p, bool several,
                      struct orr_diag *d)
{
    const struct orr_mark *at = orr_param_mark(p, "abi");
    int rc = load_files(t, p, d);
    if (rc)
        return rc;
    uint64_t heap_lo = (t->as.img_hi + ISA_PAGE - 1) & ~(ISA_PAGE - 1);
    if (heap_lo + 4 * ISA_PAGE > t->as.guard) {
        orr_diag_error(d, orr_param_mark(p, "ram"), t->c->keypath,
                       "no room for a heap between the program (ends at %#llx) and the stack "
                       "(guard at %#llx): raise ram", (unsigned long long)t->as.img_hi,
                       (unsigned long long)t->as.guard);
        return ORR_ESCHEMA;
    }
    /* brk gets the lower half of the room, mmap the upper */
    uint64_t mid = heap_lo + ((t->as.guard - heap_lo) / 2 & ~(ISA_PAGE - 1));
    struct proc_layout lay = {
        .image_lo = t->as.img_lo, .image_hi = t->as.img_hi, .brk_max = mid, .mmap_lo = mid,
        .mmap_hi = t->as.guard, .stack_lo = t->as.guard + ISA_PAGE, .stack_hi = t->as.stack_top,
        .entry = t->as.entry, .phdr = t->as.phdr, .phnum = t->as.phnum, .phent = t->as.phent,
        .hwcap = hwcap(t->arch)};
    t->as.proc = calloc(1, sizeof *t->as.proc);
    if (!t->as.proc)
        return ORR_ENOMEM;
    int pid = proc_cpu_new_pid(&t->kpc);
    if (proc_init(t->as.proc, pid, t->arch == ISA_RISCV64 ? PROC_RISCV64 : PROC_AARCH64, &lay,
                  &isa_proc_ops, t, t->as.aFile, t->as.nFile)) {
        orr_diag_error(d, at, t->c->keypath, "the process layout is inconsistent");
        return ORR_ESCHEMA;
    }
    /* what readlink("/proc/self/exe") answers (glibc's start-up asks): the
     * program as the scenario names it, made absolute under "/" — never
     * the host's path, which would put the build directory into the
     * guest's memory and its timing */
    const char *e = orr_param_str(p, "elf");
    while (e[0] == '.' && e[1] == '/')
        e += 2;
    size_t ne = strlen(e) + 2;
    if (!(t->as.exe = malloc(ne)))
        return ORR_ENOMEM;
    snprintf(t->as.exe, ne, "%s%s", e[0] == '/' ? "" : "/", e);
    t->as.proc->exe = t->as.exe;
    size_t argc = 0, envc = 0;
    const char *const *argv = orr_param_list(p, "argv", &argc);
    const char *const *envp = orr_param_list(p, "env", &envc);
    const char *argv0[] = {orr_param_str(p, "elf")};
    if (!argc)
        argv = argv0, argc = 1;
    uint64_t sp = 0;
    rc = proc_build_stack(t->as.proc, argv, (unsigned)argc, envp, (unsigned)envc, &sp);
    if (rc) {
        orr_diag_error(d, orr_param_mark(p, argc && orr_param_given(p, "argv") ? "argv" : "stack"),
                       t->c->keypath, "argv and env (%zu and %zu strings) do not fit in a "
                       "quarter of the %llu-byte stack: shorten them or raise stack", argc, envc,
                       (unsigned long long)(t->as.stack_top - t->as.guard));
        return ORR_ESCHEMA;
    }
    bool rv = t->arch == ISA_RISCV64;
    uc_reg_write(t->as.uc, rv ? UC_RISCV_REG_SP : UC_ARM64_REG_SP, &sp);
    uc_reg_write(t->as.uc, rv ? UC_RISCV_REG_PC : UC_ARM64_REG_PC, &t->as.entry);
    isa_set_reg(t, 0, 0); /* rtld_fini: none (glibc's _start registers a nonzero one) */
    isa_set_reg(t, 1, 0);
    if (uc_context_alloc(t->as.uc, &t->as.aCtx[0]))
        return ORR_ENOMEM;
    unsigned k = t->nProc;
    if (several) { /* proc<N>.*: the metrics of each process of a shared core */
        char name[48];
        snprintf(name, sizeof name, "proc%u.exit_code", k);
        t->as.v_exit = orr_value_new(t->c, name, "");
        snprintf(name, sizeof name, "proc%u.signal", k);
        t->as.v_signal = orr_value_new(t->c, name, "");
        snprintf(name, sizeof name, "proc%u.pid", k);
        t->as.v_pid = orr_value_new(t->c, name, "");
        t->as.v_pid->v = pid;
    }
    t->aProc[t->nProc++] = t->as;
    return 0;
}

void isa_linux_free_proc(struct isa_proc *a)
{
    for (unsigned i = 0; i < a->nFile; i++)
        free((void *)a->aFile[i].data);
    free(a->aFile);
    for (unsigned i = 0; i < PROC_MAX_THREADS; i++)
        if (a->aCtx[i])
            uc_context_free(a->aCtx[i]);
    free(a->proc);
    free(a->exe);
}

void isa_linux_free(struct isacore *t)
{
    free(t->aProc);
    free(t->aFdOut[0]);
    free(t->aFdOut[1]);
}

/* ------------------------------------------------------ running */

/* The running process ended: its threads leave the scheduler; the core
 * is done when it was the last of the core's processes. */
static void process_gone(struct isacore *t)
{
    proc_cpu_exit(&t->kpc, t->as.proc);
    t->stop = proc_cpu_live(&t->kpc, NULL) ? STOP_SWITCH : STOP_EXIT;
    t->exited = t->stop == STOP_EXIT;
    uc_emu_stop(t->as.uc);
}

/* The integer registers for signal delivery (struct proc_regs). */
static int a64_reg(unsigned i)
{
    return i < 29 ? UC_ARM64_REG_X0 + (int)i : i == 29 ? UC_ARM64_REG_X29 : UC_ARM64_REG_X30;
}

static void get_regs(struct isacore *t, struct proc_regs *r)
{
    memset(r, 0, sizeof *r);
    if (t->arch == ISA_RISCV64) {
        for (unsigned i = 1; i < 32; i++)
            uc_reg_read(t->as.uc, UC_RISCV_REG_X0 + (int)i, &r->x[i]);
        r->sp = r->x[2];
    } else {
        for (unsigned i = 0; i < 31; i++)
            uc_reg_read(t->as.uc, a64_reg(i), &r->x[i]);
        uc_reg_read(t->as.uc, UC_ARM64_REG_SP, &r->sp);
        uint64_t nzcv = 0;
        uc_reg_read(t->as.uc, UC_ARM64_REG_NZCV, &nzcv);
        r->pstate = nzcv & UINT64_C(0xf0000000);
    }
    r->pc = isa_pc(t);
}

static void set_regs(struct isacore *t, const struct proc_regs *r)
{
    if (t->arch == ISA_RISCV64) {
        for (unsigned i = 1; i < 32; i++)
            uc_reg_write(t->as.uc, UC_RISCV_REG_X0 + (int)i, i == 2 ? &r->sp : &r->x[i]);
        uc_reg_write(t->as.uc, UC_RISCV_REG_PC, &r->pc);
    } else {
        for (unsigned i = 0; i < 31; i++)
            uc_reg_write(t->as.uc, a64_reg(i), &r->x[i]);
        uc_reg_write(t->as.uc, UC_ARM64_REG_SP, &r->sp);
        uint64_t nzcv = r->pstate & UINT64_C(0xf0000000);
        uc_reg_write(t->as.uc, UC_ARM64_REG_NZCV, &nzcv);
        uc_reg_write(t->as.uc, UC_ARM64_REG_PC, &r->pc);
    }
    t->pc_next = r->pc;
}

void isa_linux_fault(struct isacore *t, int sig, int code, uint64_t addr, uint64_t pc,
                     const char *msg)
{
    struct proc_regs r;
    get_regs(t, &r);
    r.pc = pc;
    struct proc_result res = proc_fault_signal(t->as.proc, sig, code, addr, &r);
    if (res.eAction != PROC_SIGNAL) {
        isa_linux_kill(t, t->as.proc->term_signal, msg);
        return;
    }
    set_regs(t, &r); /* the handler runs next */
    t->signals->v++;
    t->stop = STOP_SWITCH;
    uc_emu_stop(t->as.uc);
}

void isa_linux_kill(struct isacore *t, int sig, const char *msg)
{
    snprintf(t->as.kill_msg, sizeof t->as.kill_msg, "%s", msg);
    proc_kill(t->as.proc, sig);
    t->as.signal = sig;
    process_gone(t);
}

void isa_linux_syscall(struct isacore *t, uint64_t nr, const uint64_t a[6])
{
    if (nr == 139) { /* rt_sigreturn: the registers come back from the frame */
        struct proc_regs r;
        get_regs(t, &r);
        if (proc_sigreturn(t->as.proc, &r).eAction == PROC_EXIT) {
            snprintf(t->as.kill_msg, sizeof t->as.kill_msg, "SIGSEGV: rt_sigreturn with no signal "
                     "frame at sp %#llx", (unsigned long long)r.sp);
            t->as.signal = 11;
            process_gone(t);
            return;
        }
        set_regs(t, &r);
        t->stop = STOP_SWITCH;
        uc_emu_stop(t->as.uc);
        return;
    }
    if (!proc_syscall_known(nr)) {
        t->unknown->v++;
        if (t->unknown_fail) {
            isa_fail(t, "unknown syscall %llu at pc %#llx", (unsigned long long)nr,
                     (unsigned long long)(isa_pc(t) - 4));
            return;
        }
    }
    struct proc_result r = proc_syscall(t->as.proc, nr, a);
    switch (r.eAction) {
    case PROC_RETURN:
        break;
    case PROC_EXIT:
        process_gone(t);
        return;
    case PROC_YIELD:
        t->yields->v++;
        t->stop = STOP_YIELD;
        uc_emu_stop(t->as.uc);
        break;
    case PROC_SLEEP: /* the core idles until the time has passed */
        t->shell.local += r.arg0 * 1000;
        t->cy_sleep->v += r.arg0 * 1000 / t->shell.cycle;
        t->stop = STOP_YIELD;
        uc_emu_stop(t->as.uc);
        break;
    case PROC_FUTEX_WAIT:
        isa_futex_wait(t, r.arg0);
        return; /* a0 becomes 0 at the wake (isa_futex_poll) */
    case PROC_FUTEX_WAKE:
        r.ret = isa_futex_wake(t, r.arg0, r.arg1);
        break;
    case PROC_CLONE: /* the child's registers are made outside the hook */
        t->clone_pending = true;
        t->clone_slot = r.arg0;
        t->clone_sp = r.arg1;
        t->clone_settls = r.arg2;
        t->clone_tls = r.arg3;
        t->threads->v++;
        t->stop = STOP_SWITCH;
        uc_emu_stop(t->as.uc);
        break;
    case PROC_SIGNAL:
    case PROC_SIGRETURN: /* only from proc_fault_signal / proc_sigreturn */
        break;
    case PROC_RAISE: { /* the handler runs as the syscall returns 0 */
        isa_set_reg(t, 0, 0);
        struct proc_regs regs;
        get_regs(t, &regs);
        /* SI_TKILL (-6); si_pid = the pid, si_uid = 0 where si_addr would be */
        struct proc_result d = proc_fault_signal(t->as.proc, (int)r.arg0, -6,
                                                 (uint64_t)(uint32_t)t->as.proc->pid, &regs);
        if (d.eAction != PROC_SIGNAL) {
            char msg[64];
            snprintf(msg, sizeof msg, "signal %d: no room for its frame", (int)r.arg0);
            isa_linux_kill(t, t->as.proc->term_signal, msg);
            return;
        }
        set_regs(t, &regs);
        t->signals->v++;
        t->stop = STOP_SWITCH;
        uc_emu_stop(t->as.uc);
        return;
    }
    case PROC_RESCHED: /* a blocked thread gets its value when it resumes */
        if (sched_need_resched(&t->krq)) {
            t->stop = STOP_SWITCH;
            uc_emu_stop(t->as.uc);
        }
        break;
    }
    isa_set_reg(t, 0, (uint64_t)r.ret);
}

/* The new thread: the parent's registers as the clone left them (pc past
 * the ecall/svc), with a0 = 0, its own stack and, with CLONE_SETTLS, its
 * TLS pointer (tp / TPIDR_EL0). */
static bool make_child(struct isacore *t)
{
    unsigned slot = (unsigned)t->clone_slot;
    struct proc_thread *th = &t->as.proc->aThread[slot];
    t->clone_pending = false;
    if (!t->as.aCtx[slot] && uc_context_alloc(t->as.uc, &t->as.aCtx[slot]))
        return false;
    th->uctx = t->as.aCtx[slot];
    uint64_t zero = 0;
    bool rv = t->arch == ISA_RISCV64;
    uc_err e = uc_context_save(t->as.uc, t->as.aCtx[slot]);
    if (!e)
        e = uc_context_reg_write(t->as.aCtx[slot], rv ? UC_RISCV_REG_A0 : UC_ARM64_REG_X0, &zero);
    if (!e)
        e = uc_context_reg_write(t->as.aCtx[slot], rv ? UC_RISCV_REG_SP : UC_ARM64_REG_SP, &t->clone_sp);
    if (!e && t->clone_settls)
        e = uc_context_reg_write(t->as.aCtx[slot], rv ? UC_RISCV_REG_TP : UC_ARM64_REG_TPIDR_EL0,
                                 &t->clone_tls);
    return !e;
}

bool isa_linux_switch(struct isacore *t, bool tick)
{
    struct proc_cpu *pc = &t->kpc;
    if (t->clone_pending && !make_child(t)) {
        isa_fail(t, "cannot create the registers of thread %d",
                 t->as.proc->aThread[t->clone_slot].tid);
        return false;
    }
    bool resched = proc_cpu_tick(pc, tick);
    while (resched) {
        unsigned ip = 0;
        int next = proc_cpu_schedule(pc, &ip);
        if (next < 0) { /* idle until a sleeper or a futex timeout wakes */
            uint64_t at = proc_cpu_next_wake(pc);
            if (!at) {
                unsigned threads = 0, live = proc_cpu_live(pc, &threads);
                if (t->nProc == 1)
                    isa_fail(t, "deadlock: every thread of the process (%u) waits on a futex "
                             "no thread can wake", threads);
                else
                    isa_fail(t, "deadlock: every thread of the %u live processes on this core "
                             "(%u) waits on a futex no thread can wake", live, threads);
                return false;
            }
            orr_time_t from = t->shell.local;
            if (t->shell.local < at * 1000)
                t->shell.local = at * 1000;
            t->cy_sleep->v += (t->shell.local - from) / t->shell.cycle;
            proc_cpu_tick(pc, false); /* wakes it: pick again */
            continue;
        }
        switch_to(t, ip, (unsigned)next);
        resched = false;
    }
    if (!proc_cpu_check(pc)) {
        isa_fail(t, "the processes' thread invariants broke (kernel/proc)");
        return false;
    }
    return true;
}

bool isacore_process(const struct orr_component *c, struct isacore_process *st)
{
    if (!c || c->type != &orr_isacore_type)
        return false;
    const struct isacore *t = c->state;
    if (!t->as.proc)
        return false;
    /* the core's first process (orrery exec runs one) */
    const struct isa_proc *a = t->iProc == 0 ? &t->as : &t->aProc[0];
    const struct proc *p = a->proc;
    *st = (struct isacore_process){
        .exited = p->exited, .status = p->exit_status, .signal = p->term_signal,
        .message = a->kill_msg, .syscalls = p->nSyscall, .unknown = p->nUnknown,
        .aCount = p->aCount, .aUnknown = p->aUnknown, .nCount = PROC_NR_COUNTED,
        .threads = p->nClone + 1, .switches = p->nSwitch,
        .out = {t->aFdOut[0] ? t->aFdOut[0] : "", t->aFdOut[1] ? t->aFdOut[1] : ""},
        .nOut = {t->nFdOut[0], t->nFdOut[1]}};
    return true;
}

const char *isacore_syscall_name(uint64_t nr) { return proc_syscall_name(nr); }

/* ------------------------------------------------------ checkpoints
 *
 * Per process: its memory (non-zero pages), its struct proc as bytes
 * (proc_restore_bytes keeps what the platform set up), which thread's
 * registers its engine holds, how it died, its memory protections (the
 * Unicorn regions' permissions, which mprotect split), the engine's
 * registers and every thread context's. Then the core's side: the tick,
 * which process runs, the CPU's process set, the output so far, and the
 * scheduler (sched_snapshot: the threads of every process are its tasks,
 * process k's slot j being task k x PROC_MAX_THREADS + j). */

static const struct isa_proc *proc_at(const struct isacore *t, unsigned k)
{
    return k == t->iProc ? &t->as : &t->aProc[k];
}

static struct sched_task *lx_task_at(void *ctx, uint32_t i)
{
    const struct isacore *t = ((struct platform_snap *)ctx)->owner;
    unsigned k = i / PROC_MAX_THREADS;
    return k < t->nProc ? &proc_at(t, k)->proc->aThread[i % PROC_MAX_THREADS].task : NULL;
}

static uint32_t lx_task_index(void *ctx, const struct sched_task *st)
{
    const struct isacore *t = ((struct platform_snap *)ctx)->owner;
    uintptr_t a = (uintptr_t)st;
    for (unsigned k = 0; k < t->nProc; k++) {
        const struct proc *p = proc_at(t, k)->proc;
        uintptr_t b = (uintptr_t)&p->aThread[0];
        if (a < b || a >= b + sizeof p->aThread)
            continue;
        size_t off = (a - b) % sizeof p->aThread[0], j = (a - b) / sizeof p->aThread[0];
        if (off != offsetof(struct proc_thread, task))
            return SCHED_SNAP_NONE;
        return (uint32_t)(k * PROC_MAX_THREADS + j);
    }
    return SCHED_SNAP_NONE;
}

static struct sched_group *lx_group_at(void *ctx, uint32_t i) { (void)ctx, (void)i; return NULL; }
static uint32_t lx_group_index(void *ctx, const struct sched_group *g)
{
    (void)ctx, (void)g;
    return SCHED_SNAP_NONE;
}

static struct sched_snap_io lx_io(struct platform_snap *x)
{
    return (struct sched_snap_io){x, platform_snap_put, platform_snap_get, lx_task_at,
                                  lx_task_index, lx_group_at, lx_group_index};
}

void isa_linux_save(const struct isacore *t, struct orr_ckpt_writer *w)
{
    size_t nReg;
    const int *regs = isa_ckpt_regs(t, &nReg);
    orr_ckpt_put_u32(w, t->nProc);
    for (unsigned k = 0; k < t->nProc; k++) {
        const struct isa_proc *a = proc_at(t, k);
        isa_ram_save(a->sh, w);
        orr_ckpt_put_bytes(w, a->proc, sizeof *a->proc);
        orr_ckpt_put_u32(w, a->loaded);
        orr_ckpt_put_i64(w, a->signal);
        orr_ckpt_put_str(w, a->kill_msg);
        uc_mem_region *rg = NULL;
        uint32_t nRg = 0;
        if (uc_mem_regions(a->uc, &rg, &nRg) != UC_ERR_OK)
            nRg = 0;
        orr_ckpt_put_u32(w, nRg);
        for (uint32_t i = 0; i < nRg; i++) {
            orr_ckpt_put_u64(w, rg[i].begin);
            orr_ckpt_put_u64(w, rg[i].end);
            orr_ckpt_put_u32(w, rg[i].perms);
        }
        uc_free(rg);
        for (size_t i = 0; i < nReg; i++) {
            uint8_t v[16] = {0};
            uc_reg_read(a->uc, regs[i], v);
            orr_ckpt_put_bytes(w, v, sizeof v);
        }
        /* a context's registers are read by loading it into the engine
         * (Unicorn's uc_context_reg_read/_write reach past the context for
         * riscv64 CSRs such as fcsr), which then gets its own back */
        uc_context *keep = NULL;
        if (uc_context_alloc(a->uc, &keep) != UC_ERR_OK)
            orr_oom();
        uc_context_save(a->uc, keep);
        for (unsigned j = 0; j < PROC_MAX_THREADS; j++) {
            orr_ckpt_put_u8(w, a->aCtx[j] != NULL);
            if (!a->aCtx[j])
                continue;
            uc_context_restore(a->uc, a->aCtx[j]);
            for (size_t i = 0; i < nReg; i++) {
                uint8_t v[16] = {0};
                uc_reg_read(a->uc, regs[i], v);
                orr_ckpt_put_bytes(w, v, sizeof v);
            }
        }
        uc_context_restore(a->uc, keep);
        uc_context_free(keep);
    }
    orr_ckpt_put_u64(w, t->next_tick);
    orr_ckpt_put_u32(w, t->iProc);
    orr_ckpt_put_u32(w, t->kpc.cur);
    orr_ckpt_put_i64(w, t->kpc.next_id);
    orr_ckpt_put_u64(w, t->kpc.nProcSwitch);
    for (int fd = 0; fd < 2; fd++)
        orr_ckpt_put_bytes(w, t->aFdOut[fd], t->nFdOut[fd]);
    orr_ckpt_put_u8(w, t->clone_pending);
    orr_ckpt_put_u64(w, t->clone_slot);
    orr_ckpt_put_u64(w, t->clone_sp);
    orr_ckpt_put_u64(w, t->clone_settls);
    orr_ckpt_put_u64(w, t->clone_tls);
    struct platform_snap x = {(void *)t, w, NULL};
    struct sched_snap_io io = lx_io(&x);
    sched_snapshot_save(&t->ksched, &io);
}

/* One process's part of isa_linux_restore, into a (not the running copy). */
static void restore_proc(struct isacore *t, struct isa_proc *a, struct orr_ckpt_reader *r)
{
    size_t nReg;
    const int *regs = isa_ckpt_regs(t, &nReg);
    isa_ram_restore(a->sh, r);
    size_t n = 0;
    const void *pb = orr_ckpt_get_bytes(r, &n);
    if (!orr_ckpt_ok(r) || n != sizeof *a->proc) {
        orr_ckpt_fail(r, "a Linux process of another layout");
        return;
    }
    proc_restore_bytes(a->proc, pb);
    a->loaded = orr_ckpt_get_u32(r);
    a->signal = (int)orr_ckpt_get_i64(r);
    char *msg = orr_ckpt_get_str(r);
    snprintf(a->kill_msg, sizeof a->kill_msg, "%s", msg ? msg : "");
    free(msg);
    if (a->loaded >= PROC_MAX_THREADS) {
        orr_ckpt_fail(r, "a thread slot past the process's threads");
        return;
    }
    uint32_t nRg = orr_ckpt_get_u32(r);
    for (uint32_t i = 0; i < nRg && orr_ckpt_ok(r); i++) {
        uint64_t lo = orr_ckpt_get_u64(r), hi = orr_ckpt_get_u64(r);
        uint32_t perms = orr_ckpt_get_u32(r);
        if (hi < lo || lo % ISA_PAGE || (hi + 1) % ISA_PAGE ||
            uc_mem_protect(a->uc, lo, hi - lo + 1, perms) != UC_ERR_OK)
            orr_ckpt_fail(r, "a memory protection Unicorn refuses");
    }
    for (size_t i = 0; i < nReg && orr_ckpt_ok(r); i++) {
        uint8_t v[16];
        orr_ckpt_get_into(r, v, sizeof v);
        if (orr_ckpt_ok(r) && uc_reg_write(a->uc, regs[i], v) != UC_ERR_OK)
            orr_ckpt_fail(r, "a guest register Unicorn refuses");
    }
    /* each saved context: its registers written into the engine, which the
     * context then copies (with the rest of the CPU state — mstatus, ... —
     * as the engine has it); then the engine gets its own back */
    uc_context *keep = NULL;
    if (uc_context_alloc(a->uc, &keep) != UC_ERR_OK)
        orr_oom();
    uc_context_save(a->uc, keep);
    for (unsigned j = 0; j < PROC_MAX_THREADS && orr_ckpt_ok(r); j++) {
        if (!orr_ckpt_get_u8(r))
            continue;
        if (!a->aCtx[j] && uc_context_alloc(a->uc, &a->aCtx[j]) != UC_ERR_OK)
            orr_oom();
        for (size_t i = 0; i < nReg && orr_ckpt_ok(r); i++) {
            uint8_t v[16];
            orr_ckpt_get_into(r, v, sizeof v);
            if (orr_ckpt_ok(r) && uc_reg_write(a->uc, regs[i], v) != UC_ERR_OK)
                orr_ckpt_fail(r, "a thread register Unicorn refuses");
        }
        uc_context_save(a->uc, a->aCtx[j]);
        a->proc->aThread[j].uctx = a->aCtx[j];
    }
    uc_context_restore(a->uc, keep);
    uc_context_free(keep);
}

void isa_linux_restore(struct isacore *t, struct orr_ckpt_reader *r)
{
    if (orr_ckpt_get_u32(r) != t->nProc) {
        orr_ckpt_fail(r, "another number of Linux processes on the core");
        return;
    }
    t->aProc[t->iProc] = t->as; /* every process in aProc while restoring */
    for (unsigned k = 0; k < t->nProc && orr_ckpt_ok(r); k++)
        restore_proc(t, &t->aProc[k], r);
    t->next_tick = orr_ckpt_get_u64(r);
    unsigned ip = orr_ckpt_get_u32(r), cur = orr_ckpt_get_u32(r);
    t->kpc.next_id = (int)orr_ckpt_get_i64(r);
    t->kpc.nProcSwitch = orr_ckpt_get_u64(r);
    if (ip >= t->nProc || cur >= t->nProc) {
        orr_ckpt_fail(r, "a running process that does not exist");
        ip = cur = 0;
    }
    t->kpc.cur = cur;
    for (int fd = 0; fd < 2; fd++) {
        size_t n = 0;
        const void *b = orr_ckpt_get_bytes(r, &n);
        free(t->aFdOut[fd]);
        t->aFdOut[fd] = NULL;
        t->nFdOut[fd] = 0;
        if (n) {
            if (!(t->aFdOut[fd] = malloc(n + 1)))
                orr_oom();
            memcpy(t->aFdOut[fd], b, n);
            t->aFdOut[fd][n] = 0;
            t->nFdOut[fd] = n;
        }
    }
    t->clone_pending = orr_ckpt_get_u8(r) != 0;
    t->clone_slot = orr_ckpt_get_u64(r);
    t->clone_sp = orr_ckpt_get_u64(r);
    t->clone_settls = orr_ckpt_get_u64(r);
    t->clone_tls = orr_ckpt_get_u64(r);
    t->iProc = ip;
    t->as = t->aProc[ip];
    struct platform_snap x = {t, NULL, r};
    struct sched_snap_io io = lx_io(&x);
    if (orr_ckpt_ok(r) && sched_snapshot_restore(&t->ksched, &io) != SCHED_OK)
        orr_ckpt_fail(r, "the core's scheduler state does not fit its processes");
    if (orr_ckpt_ok(r) && !proc_cpu_check(&t->kpc))
        orr_ckpt_fail(r, "the restored processes break their invariants");
}
