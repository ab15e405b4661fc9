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
 * becomes the process's VMAs then. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/isacore.h"
#include "hw/registry.h"
#include "isa_internal.h"
#include "orrery/diag.h"
#include "orrery/error.h"
#include "orrery/params.h"

/* ------------------------------------------------------ kernel ops */

/* User memory: guest RAM minus page 0 and the guard page. */
static bool user_range(const struct isacore *t, uint64_t a, size_t n)
{
    uint64_t size = t->sh->size;
    if (a < ISA_PAGE || a >= size || n > size - a)
        return false;
    return a + n <= t->guard || a >= t->guard + ISA_PAGE;
}

static int op_copy_in(void *ctx, void *dst, uint64_t u, size_t n)
{
    struct isacore *t = ctx;
    if (!user_range(t, u, n))
        return -1;
    memcpy(dst, t->sh->ram + u, n);
    return 0;
}

static int op_copy_out(void *ctx, uint64_t u, const void *src, size_t n)
{
    struct isacore *t = ctx;
    if (!user_range(t, u, n))
        return -1;
    memcpy(t->sh->ram + u, src, n);
    return 0;
}

static int op_zero(void *ctx, uint64_t u, size_t n)
{
    struct isacore *t = ctx;
    if (!user_range(t, u, n))
        return -1;
    memset(t->sh->ram + u, 0, n);
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

static const struct proc_ops isa_proc_ops = {op_copy_in, op_copy_out, op_zero, op_now_ns,
                                             op_output, op_random};

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
    t->aFile = calloc(n ? n : 1, sizeof *t->aFile);
    if (!t->aFile)
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
        t->aFile[t->nFile].path = orr_param_str(&g[i], "path");
        t->aFile[t->nFile].data = buf;
        t->aFile[t->nFile++].size = len;
    }
    return 0;
}

int isa_linux_setup(struct isacore *t, const struct orr_params *p, struct orr_diag *d)
{
    const struct orr_mark *at = orr_param_mark(p, "abi");
    if (t->ncores != 1 || t->sh->nCore != 1) {
        orr_diag_error(d, at, t->c->keypath, "abi linux runs one process on one core, and no "
                       "other isacore in the run (processes get address spaces of their own "
                       "with the MMU; docs/exec.md)");
        return ORR_ESCHEMA;
    }
    t->sh->has_linux = true;
    int rc = load_files(t, p, d);
    if (rc)
        return rc;
    uint64_t heap_lo = (t->img_hi + ISA_PAGE - 1) & ~(ISA_PAGE - 1);
    if (heap_lo + 4 * ISA_PAGE > t->guard) {
        orr_diag_error(d, orr_param_mark(p, "ram"), t->c->keypath,
                       "no room for a heap between the program (ends at %#llx) and the stack "
                       "(guard at %#llx): raise ram", (unsigned long long)t->img_hi,
                       (unsigned long long)t->guard);
        return ORR_ESCHEMA;
    }
    /* brk gets the lower half of the room, mmap the upper */
    uint64_t mid = heap_lo + ((t->guard - heap_lo) / 2 & ~(ISA_PAGE - 1));
    struct proc_layout lay = {
        .image_lo = t->img_lo, .image_hi = t->img_hi, .brk_max = mid, .mmap_lo = mid,
        .mmap_hi = t->guard, .stack_lo = t->guard + ISA_PAGE, .stack_hi = t->stack_top,
        .entry = t->entry, .phdr = t->phdr, .phnum = t->phnum, .phent = t->phent,
        .hwcap = hwcap(t->arch)};
    t->proc = calloc(1, sizeof *t->proc);
    if (!t->proc)
        return ORR_ENOMEM;
    if (proc_init(t->proc, 1, t->arch == ISA_RISCV64 ? PROC_RISCV64 : PROC_AARCH64, &lay,
                  &isa_proc_ops, t, t->aFile, t->nFile)) {
        orr_diag_error(d, at, t->c->keypath, "the process layout is inconsistent");
        return ORR_ESCHEMA;
    }
    t->proc->exe = t->elf; /* the resolved path of the program */
    size_t argc = 0, envc = 0;
    const char *const *argv = orr_param_list(p, "argv", &argc);
    const char *const *envp = orr_param_list(p, "env", &envc);
    const char *argv0[] = {orr_param_str(p, "elf")};
    if (!argc)
        argv = argv0, argc = 1;
    uint64_t sp = 0;
    rc = proc_build_stack(t->proc, argv, (unsigned)argc, envp, (unsigned)envc, &sp);
    if (rc) {
        orr_diag_error(d, orr_param_mark(p, argc && orr_param_given(p, "argv") ? "argv" : "stack"),
                       t->c->keypath, "argv and env (%zu and %zu strings) do not fit in a "
                       "quarter of the %llu-byte stack: shorten them or raise stack", argc, envc,
                       (unsigned long long)(t->stack_top - t->guard));
        return ORR_ESCHEMA;
    }
    uc_reg_write(t->uc, t->arch == ISA_RISCV64 ? UC_RISCV_REG_SP : UC_ARM64_REG_SP, &sp);
    isa_set_reg(t, 0, 0); /* rtld_fini: none (glibc's _start registers a nonzero one) */
    isa_set_reg(t, 1, 0);
    return 0;
}

void isa_linux_free(struct isacore *t)
{
    for (unsigned i = 0; i < t->nFile; i++)
        free((void *)t->aFile[i].data);
    free(t->aFile);
    free(t->proc);
    free(t->aFdOut[0]);
    free(t->aFdOut[1]);
}

/* ------------------------------------------------------ running */

static void process_gone(struct isacore *t)
{
    t->exited = true;
    t->exit_code = t->proc->exit_status;
    t->stop = STOP_EXIT;
    uc_emu_stop(t->uc);
}

void isa_linux_kill(struct isacore *t, int sig, const char *msg)
{
    snprintf(t->kill_msg, sizeof t->kill_msg, "%s", msg);
    proc_kill(t->proc, sig);
    t->v_signal->v = sig;
    process_gone(t);
}

void isa_linux_syscall(struct isacore *t, uint64_t nr, const uint64_t a[6])
{
    if (!proc_syscall_known(nr)) {
        t->unknown->v++;
        if (t->unknown_fail) {
            isa_fail(t, "unknown syscall %llu at pc %#llx", (unsigned long long)nr,
                     (unsigned long long)(isa_pc(t) - 4));
            return;
        }
    }
    struct proc_result r = proc_syscall(t->proc, nr, a);
    switch (r.eAction) {
    case PROC_RETURN:
        break;
    case PROC_EXIT:
        process_gone(t);
        return;
    case PROC_YIELD:
        t->yields->v++;
        t->stop = STOP_YIELD;
        uc_emu_stop(t->uc);
        break;
    case PROC_SLEEP: /* the core idles until the time has passed */
        t->shell.local += r.arg0 * 1000;
        t->cy_sleep->v += r.arg0 * 1000 / t->shell.cycle;
        t->stop = STOP_YIELD;
        uc_emu_stop(t->uc);
        break;
    case PROC_FUTEX_WAIT:
        isa_futex_wait(t, r.arg0);
        return; /* a0 becomes 0 at the wake (isa_futex_poll) */
    case PROC_FUTEX_WAKE:
        r.ret = isa_futex_wake(t, r.arg0, r.arg1);
        break;
    }
    isa_set_reg(t, 0, (uint64_t)r.ret);
}

bool isacore_process(const struct orr_component *c, struct isacore_process *st)
{
    if (!c || c->type != &orr_isacore_type)
        return false;
    const struct isacore *t = c->state;
    if (!t->proc)
        return false;
    const struct proc *p = t->proc;
    *st = (struct isacore_process){
        .exited = p->exited, .status = p->exit_status, .signal = p->term_signal,
        .message = t->kill_msg, .syscalls = p->nSyscall, .unknown = p->nUnknown,
        .aCount = p->aCount, .aUnknown = p->aUnknown, .nCount = PROC_NR_COUNTED,
        .out = {t->aFdOut[0] ? t->aFdOut[0] : "", t->aFdOut[1] ? t->aFdOut[1] : ""},
        .nOut = {t->nFdOut[0], t->nFdOut[1]}};
    return true;
}

const char *isacore_syscall_name(uint64_t nr) { return proc_syscall_name(nr); }
