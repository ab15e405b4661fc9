/* Signals from faults (include/kernel/proc.h, docs/exec.md "Signals"):
 * SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGTRAP delivered to a handler the
 * process installed with rt_sigaction, on the faulting thread's stack, in
 * the frame Linux builds (struct rt_sigframe: siginfo, then ucontext with
 * the interrupted registers in uc_mcontext), and rt_sigreturn, which puts
 * the registers back from that frame (a handler may change them, e.g. skip
 * the faulting instruction).
 *
 * Frame layout (both architectures: siginfo 128 bytes, then the ucontext;
 * uc_mcontext at offset 176 of the ucontext):
 *   riscv64  mcontext: pc, x1..x31, then the FP area (528 bytes, left 0)
 *   aarch64  mcontext: fault_address, x0..x30, sp, pc, pstate, then 4096
 *            reserved bytes (a zero header: no extension records)
 * The handler returns to sa_restorer (aarch64, SA_RESTORER: glibc's) or
 * to a two-instruction trampoline the kernel writes in the frame (riscv64
 * Linux uses its vDSO's; there is no vDSO here). FP/SIMD registers are not
 * saved in the frame: a handler that changes them changes them for the
 * interrupted code (docs/exec.md).
 *
 * A fault whose signal has no handler (SIG_DFL), is ignored or blocked
 * kills the process (Linux's force_sig: a synchronous fault cannot be
 * ignored). A fault while the thread is already in a handler for the same
 * signal (blocked during it, no SA_NODEFER) kills it too. */
#include "kernel/kstring.h"
#include "kernel/proc.h"
#include "proc_internal.h"

enum {
    SA_NODEFER = 0x40000000, SA_RESETHAND = (int)0x80000000u, SA_RESTORER = 0x04000000,
    SIGINFO_SIZE = 128, MC_AT = 176, RV_FP_SIZE = 528, A64_RESERVED = 4096,
    NR_RT_SIGRETURN = 139,
};

static uint64_t uc_size(const struct proc *p)
{
    return p->eArch == PROC_RISCV64 ? MC_AT + 32 * 8 + RV_FP_SIZE
                                    : MC_AT + 8 + 31 * 8 + 3 * 8 + 8 /* pad to 16 */ + A64_RESERVED;
}

/* The frame: siginfo, ucontext, then 32 bytes: aarch64's frame record
 * {fp, lr} (Linux's next_frame), then the return trampoline for a handler
 * without a restorer. */
static uint64_t frame_size(const struct proc *p) { return SIGINFO_SIZE + uc_size(p) + 32; }

/* mcontext <-> registers */
static void put_mc(const struct proc *p, uint64_t *mc, const struct proc_regs *r, uint64_t addr)
{
    if (p->eArch == PROC_RISCV64) {
        mc[0] = r->pc;
        for (unsigned i = 1; i < 32; i++)
            mc[i] = r->x[i];
    } else {
        mc[0] = addr; /* fault_address */
        for (unsigned i = 0; i < 31; i++)
            mc[1 + i] = r->x[i];
        mc[32] = r->sp;
        mc[33] = r->pc;
        mc[34] = r->pstate;
    }
}

static void get_mc(const struct proc *p, const uint64_t *mc, struct proc_regs *r)
{
    if (p->eArch == PROC_RISCV64) {
        r->pc = mc[0];
        for (unsigned i = 1; i < 32; i++)
            r->x[i] = mc[i];
        r->x[0] = 0;
        r->sp = r->x[2];
    } else {
        for (unsigned i = 0; i < 31; i++)
            r->x[i] = mc[1 + i];
        r->sp = mc[32];
        r->pc = mc[33];
        /* only the condition flags come back from user space (Linux:
         * valid_user_regs keeps the mode EL0) */
        r->pstate = mc[34] & UINT64_C(0xf0000000);
    }
}

static bool sig_blocked(const struct proc *p, int sig) { return p->sigmask >> (sig - 1) & 1; }

struct proc_result proc_fault_signal(struct proc *p, int sig, int code, uint64_t addr,
                                     struct proc_regs *r)
{
    struct proc_result res;
    kmemset(&res, 0, sizeof res);
    uint64_t handler = p->aSig[sig].handler;
    if (handler == 0 || handler == 1 || sig_blocked(p, sig)) {
        proc_kill(p, sig);
        res.eAction = PROC_EXIT;
        return res;
    }
    /* the frame, below the interrupted sp (riscv64 and aarch64 have no
     * red zone), 16-byte aligned */
    const uint64_t size = frame_size(p);
    const uint64_t frame = (r->sp - size) & ~UINT64_C(15);
    const uint64_t uc = frame + SIGINFO_SIZE, mc = uc + MC_AT, tail = uc + uc_size(p);
    uint64_t info[SIGINFO_SIZE / 8];
    kmemset(info, 0, sizeof info);
    info[0] = (uint64_t)(uint32_t)sig;        /* si_signo, si_errno = 0 */
    info[1] = (uint64_t)(uint32_t)code;       /* si_code */
    info[2] = addr;                           /* si_addr */
    uint64_t head[MC_AT / 8], regs[35];
    kmemset(head, 0, sizeof head);
    kmemset(regs, 0, sizeof regs);
    head[2] = 0;                              /* uc_stack.ss_sp */
    head[3] = 2;                              /* ss_flags: SS_DISABLE (no sigaltstack) */
    head[5] = p->sigmask;                     /* uc_sigmask */
    put_mc(p, regs, r, addr);
    uint64_t nregs = p->eArch == PROC_RISCV64 ? 32 : 35;
    uint64_t tramp[4] = {r->x[29], r->x[30], 0, 0};
    if (p->eArch == PROC_RISCV64) /* li a7, 139; ecall */
        tramp[0] = tramp[1] = 0, tramp[2] = 0x08b00893u | (uint64_t)0x00000073u << 32;
    else /* mov x8, #139; svc #0 */
        tramp[2] = 0xd2801168u | (uint64_t)0xd4000001u << 32;
    if (p->ops->zero(p->ctx, frame, (size_t)(tail + 32 - frame)) ||
        p->ops->copy_out(p->ctx, frame, info, sizeof info) ||
        p->ops->copy_out(p->ctx, uc, head, sizeof head) ||
        p->ops->copy_out(p->ctx, mc, regs, (size_t)nregs * 8) ||
        p->ops->copy_out(p->ctx, tail, tramp, sizeof tramp)) {
        /* no room for the frame (a stack overflow into the guard page):
         * Linux kills the process with SIGSEGV then */
        proc_kill(p, 11);
        res.eAction = PROC_EXIT;
        return res;
    }
    /* during the handler: its mask, and the signal itself unless NODEFER */
    p->sigmask |= p->aSig[sig].mask;
    if (!(p->aSig[sig].flags & SA_NODEFER))
        p->sigmask |= UINT64_C(1) << (sig - 1);
    p->sigmask &= ~((UINT64_C(1) << 8) | (UINT64_C(1) << 18)); /* KILL, STOP */
    uint64_t restorer = p->eArch == PROC_AARCH64 && (p->aSig[sig].flags & SA_RESTORER)
                            ? p->aSig[sig].restorer
                            : tail + 16;
    if (p->aSig[sig].flags & SA_RESETHAND)
        p->aSig[sig].handler = 0;
    r->pc = handler;
    r->sp = frame;
    r->x[p->eArch == PROC_RISCV64 ? 10 : 0] = (uint64_t)sig;
    r->x[p->eArch == PROC_RISCV64 ? 11 : 1] = frame;
    r->x[p->eArch == PROC_RISCV64 ? 12 : 2] = uc;
    if (p->eArch == PROC_RISCV64) {
        r->x[2] = frame;
        r->x[1] = restorer; /* ra */
    } else {
        r->x[29] = tail;    /* fp: the frame record */
        r->x[30] = restorer;/* lr */
    }
    p->nSignal++;
    res.eAction = PROC_SIGNAL;
    return res;
}

struct proc_result proc_sigreturn(struct proc *p, struct proc_regs *r)
{
    struct proc_result res;
    kmemset(&res, 0, sizeof res);
    p->nSyscall++;
    p->aCount[NR_RT_SIGRETURN]++;
    /* the handler returned with sp where the frame begins */
    const uint64_t uc = r->sp + SIGINFO_SIZE;
    uint64_t head[MC_AT / 8], regs[35];
    uint64_t nregs = p->eArch == PROC_RISCV64 ? 32 : 35;
    if (p->ops->copy_in(p->ctx, head, uc, sizeof head) ||
        p->ops->copy_in(p->ctx, regs, uc + MC_AT, (size_t)nregs * 8)) {
        proc_kill(p, 11); /* Linux: a bad frame is SIGSEGV */
        res.eAction = PROC_EXIT;
        return res;
    }
    p->sigmask = head[5] & ~((UINT64_C(1) << 8) | (UINT64_C(1) << 18));
    get_mc(p, regs, r);
    res.eAction = PROC_SIGRETURN;
    return res;
}
