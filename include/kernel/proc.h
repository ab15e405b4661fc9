/* Processes and the Linux system-call ABI of the reference kernel
 * (docs/exec.md): what a static glibc or musl program for riscv64 or
 * aarch64 needs from "Linux" — its initial stack (argc, argv, envp, auxv),
 * brk and anonymous mmap, a small file table, time, identity, signals as
 * records, futexes — with the asm-generic syscall numbers both
 * architectures share.
 *
 * Freestanding: the kernel reaches user memory, time, output and
 * randomness only through struct proc_ops, which the platform provides
 * (hw/isa on the simulated machine). User addresses are virtual addresses
 * of the process; today the platform maps them 1:1 onto its flat guest RAM,
 * and when page tables arrive copy_in/copy_out translate through them and
 * the regions below (image, brk, mmap, stack) become VMAs — nothing in this
 * API names physical memory.
 *
 * mprotect and mmap's prot are enforced through ops->protect (a store to
 * a read-only page faults: SIGSEGV, SEGV_ACCERR); a file the scenario maps
 * in can be mmapped read-only (MAP_PRIVATE, or MAP_SHARED without
 * PROT_WRITE): its bytes are copied into the new region.
 *
 * Invariants (proc_check):
 *   1. brk_start <= brk <= brk_max; the brk area never meets the mmap area.
 *   2. aMap is sorted, non-overlapping, page-aligned, and inside
 *      [mmap_lo, mmap_hi).
 *   3. every open descriptor of aFd names a valid kind (and an image that
 *      exists for PROC_FD_IMAGE).
 *   4. once exited, no syscall is taken (the platform stops the task). */
#ifndef KERNEL_PROC_H
#define KERNEL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/sched.h"

#define PROC_PAGE 4096u
#define PROC_MAX_FILES 32u   /* descriptors per process */
#define PROC_MAX_MAPS 128u   /* anonymous mmap regions per process */
#define PROC_NR_COUNTED 512u /* syscall numbers counted one by one */
#define PROC_NSIG 64u
#define PROC_MAX_THREADS 64u /* threads per process (clone with CLONE_THREAD) */

enum proc_arch { PROC_RISCV64, PROC_AARCH64 };

/* The platform's side. ctx is proc.ctx. Every member is required. */
struct proc_ops {
    /* Copy n bytes from user address uaddr into dst (copy_in) or from src
     * to uaddr (copy_out); zero n user bytes. 0, or -1 when any byte of
     * [uaddr, uaddr + n) is not user memory (nothing is then copied; the
     * syscall returns -EFAULT). */
    int (*copy_in)(void *ctx, void *dst, uint64_t uaddr, size_t n);
    int (*copy_out)(void *ctx, uint64_t uaddr, const void *src, size_t n);
    int (*zero)(void *ctx, uint64_t uaddr, size_t n);
    /* The task's simulated time in nanoseconds since the run began. */
    uint64_t (*now_ns)(void *ctx);
    /* Bytes the process wrote to fd 1 (stdout) or 2 (stderr). */
    void (*output)(void *ctx, int fd, const void *buf, size_t n);
    /* n bytes derived from the run's seed (getrandom, AT_RANDOM). */
    void (*seeded_bytes)(void *ctx, void *buf, size_t n);
    /* Give user pages [uaddr, uaddr + n) (page-aligned) the protection
     * prot (PROT_READ 1 | PROT_WRITE 2 | PROT_EXEC 4) for the program's
     * own accesses; the kernel's copies are not checked. 0 or -1. */
    int (*protect)(void *ctx, uint64_t uaddr, uint64_t n, unsigned prot);
};

/* A read-only file the scenario maps in: opened by exact path. */
struct proc_file {
    const char *path;
    const uint8_t *data;
    uint64_t size;
};

enum proc_fd_kind { PROC_FD_CLOSED, PROC_FD_STDIN, PROC_FD_STDOUT, PROC_FD_STDERR, PROC_FD_NULL,
                    PROC_FD_IMAGE };

struct proc_fd {
    uint8_t eKind;   /* enum proc_fd_kind */
    uint16_t iFile;  /* PROC_FD_IMAGE: index in aFile */
    uint64_t pos;
};

/* Where things are in the process's address range, chosen by the
 * platform. All page-aligned except phdr/entry. */
struct proc_layout {
    uint64_t image_lo, image_hi; /* the loaded program */
    uint64_t brk_max;            /* the heap grows from image_hi up to here */
    uint64_t mmap_lo, mmap_hi;   /* anonymous mappings, allocated top-down */
    uint64_t stack_lo, stack_hi; /* the stack (the guard page lies below stack_lo) */
    uint64_t entry, phdr;        /* AT_ENTRY, AT_PHDR */
    uint32_t phnum, phent;       /* AT_PHNUM, AT_PHENT */
    uint64_t hwcap;              /* AT_HWCAP */
    uint64_t hwcap2;             /* AT_HWCAP2 (aarch64 only, as Linux gives it) */
};

/* A thread of the process: a task of the reference scheduler
 * (kernel/sched). The kernel keeps its identity, its blocking state and
 * the value its blocked syscall returns; the platform keeps its registers
 * (uctx) and switches them when proc_cpu_schedule picks another thread. */
enum proc_thread_state {
    PROC_T_FREE,     /* slot unused */
    PROC_T_RUN,      /* runnable or running */
    PROC_T_FUTEX,    /* blocked in FUTEX_WAIT on futex_addr (until wake_at if nonzero) */
    PROC_T_SLEEP,    /* blocked in nanosleep until wake_at */
};

struct proc_thread {
    int tid;
    uint8_t state;          /* enum proc_thread_state */
    bool has_ret;           /* resumed from a block: the platform puts ret in a0 */
    int64_t ret;
    uint64_t clear_child_tid; /* set_tid_address / CLONE_CHILD_CLEARTID */
    uint64_t robust_list;
    uint64_t futex_addr, wait_seq; /* FUTEX: the word and the order of waiting */
    uint64_t wake_at;       /* ns: sleep end or futex timeout, 0 none */
    struct sched_task task; /* the scheduler's entity (task.id = tid) */
    void *uctx;             /* the platform's saved registers */
};

struct proc {
    int pid;
    enum proc_arch eArch;
    const struct proc_ops *ops;
    void *ctx;
    struct proc_layout lay;
    uint64_t brk_start, brk, brk_max;
    struct { uint64_t lo, hi; } aMap[PROC_MAX_MAPS];
    unsigned nMap;
    struct proc_fd aFd[PROC_MAX_FILES];
    const struct proc_file *aFile;
    unsigned nFile;
    const char *exe;   /* what readlink("/proc/self/exe") says; the platform sets it */
    uint64_t clear_child_tid, robust_list;
    uint64_t sigmask;
    struct { uint64_t handler, flags, mask, restorer; } aSig[PROC_NSIG];
    bool exited;
    int exit_status;   /* 0..255, or 128 + signal when killed */
    int term_signal;   /* the signal that killed it, or 0 */
    uint64_t nSyscall, nUnknown;
    uint32_t aCount[PROC_NR_COUNTED];   /* calls per number */
    uint32_t aUnknown[PROC_NR_COUNTED]; /* unimplemented calls per number */
    /* threads (proc_cpu_add): the scheduler and CPU they run on, and the
     * CPU's process set, whose pid space gives the thread ids */
    struct sched *sched;
    struct hal_cpu *cpu;
    struct proc_cpu *pcpu;
    struct proc_thread aThread[PROC_MAX_THREADS];
    unsigned cur;           /* index of the running thread in aThread */
    unsigned nLive;         /* threads not exited */
    uint64_t wait_seq;
    uint64_t nClone, nSwitch, nFutexWait, nFutexWake;
    uint64_t nSignal;       /* signals delivered to handlers */
};

/* A thread's integer registers, for signal delivery: riscv64 x[0..31]
 * (x[2] = sp, also in sp), aarch64 x[0..30] and sp, pstate's NZCV. */
struct proc_regs {
    uint64_t x[32];
    uint64_t sp, pc, pstate;
};

/* What the platform does after proc_syscall. */
enum proc_action {
    PROC_RETURN,     /* put ret in a0/x0 and go on */
    PROC_EXIT,       /* the process is gone (exit_status set); stop the task */
    PROC_YIELD,      /* put ret in a0/x0; let others run (sched_yield) */
    PROC_SLEEP,      /* put ret in a0/x0; advance the task's time by arg0 ns */
    PROC_FUTEX_WAIT, /* block on the word at arg0 (it held arg1); 0 on wake */
    PROC_FUTEX_WAKE, /* wake up to arg1 waiters on arg0; ret = how many */
    /* with threads (proc_cpu_add) the kernel blocks and wakes
     * threads itself; these two replace SLEEP, YIELD and the futex ones: */
    PROC_RESCHED,    /* put ret in a0 (unless the thread blocked: it gets its
                        ret when it resumes); then if sched_need_resched,
                        proc_cpu_schedule and switch to the thread it picks */
    PROC_CLONE,      /* as RESCHED, after creating the registers of the new
                        thread aThread[arg0]: the caller's, with a0 = 0,
                        sp = arg1 and, if arg2 != 0, the TLS pointer = arg3 */
    PROC_SIGNAL,     /* proc_fault_signal: a handler runs; load the registers
                        it left in struct proc_regs */
    PROC_SIGRETURN,  /* proc_sigreturn: load the registers it restored */
    PROC_RAISE,      /* kill/tkill/tgkill to itself with a handler installed:
                        put ret in a0, then deliver signal arg0 with
                        proc_fault_signal (si_code SI_TKILL, si_pid = pid) */
};

struct proc_result {
    int64_t ret;
    enum proc_action eAction;
    uint64_t arg0, arg1, arg2, arg3;
};

/* Set up p (zeroed by the caller is not required): stdin/stdout/stderr
 * open, brk at the page after image_hi, no mappings. files (nFile of them)
 * must outlive p. Returns 0 or -EINVAL for a layout that breaks invariant
 * 1 or 2. */
int proc_init(struct proc *p, int pid, enum proc_arch arch, const struct proc_layout *lay,
              const struct proc_ops *ops, void *ctx, const struct proc_file *files,
              unsigned nFile);

/* Build the initial stack at the top of lay.stack_hi as Linux does for
 * execve: 16 random bytes (AT_RANDOM), the argument and environment
 * strings, auxv (AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_ENTRY,
 * AT_RANDOM, AT_HWCAP, AT_HWCAP2 (aarch64), AT_CLKTCK, AT_UID..,
 * AT_SECURE, AT_NULL), envp,
 * argv and argc, 16-byte aligned. *sp is the stack pointer to start with.
 * Returns 0, or -E2BIG when they do not fit in a quarter of the stack
 * (Linux's limit), or -EFAULT if the platform refused a copy. */
int proc_build_stack(struct proc *p, const char *const *argv, unsigned argc,
                     const char *const *envp, unsigned envc, uint64_t *sp);

/* Take system call nr with arguments a[0..5] (asm-generic numbers). */
struct proc_result proc_syscall(struct proc *p, uint64_t nr, const uint64_t a[6]);

/* The process died of signal sig (a fault the platform saw): exit status
 * 128 + sig. */
void proc_kill(struct proc *p, int sig);

/* The syscall's name ("write"), or NULL for a number the table lacks. */
const char *proc_syscall_name(uint64_t nr);
/* True if nr is implemented. */
bool proc_syscall_known(uint64_t nr);

/* Threads and the processes of one CPU. Every process with threads
 * belongs to a struct proc_cpu: the processes whose threads are tasks of
 * one scheduler on one CPU (one process, or several sharing the CPU; the
 * platform switches address spaces when the pick names another process).
 * From proc_cpu_add on, clone, futex, nanosleep, sched_yield, exit and
 * exit_group block, wake and end threads through the scheduler and answer
 * PROC_RESCHED / PROC_CLONE / PROC_EXIT.
 *
 * Invariants (proc_cpu_check, besides each process's proc_check): the
 * running task, if any, is a thread of exactly one process of the CPU, the
 * one at aProc[cur]; an exited process has no task in the scheduler;
 * thread ids are unique across the CPU's processes. */
#define PROC_CPU_MAX 16u /* processes per CPU */

struct proc_cpu {
    struct sched *sched;
    struct hal_cpu *cpu;
    struct proc *aProc[PROC_CPU_MAX];
    unsigned nProc;
    unsigned cur;          /* the process of the running (or last) thread */
    int next_id;           /* pids and tids (one space, as Linux's) */
    uint64_t nProcSwitch;  /* picks that changed the address space */
};

/* An empty set on scheduler s, CPU c; ids start at first_id. */
void proc_cpu_init(struct proc_cpu *pc, struct sched *s, struct hal_cpu *c, int first_id);
/* The next id of the CPU's pid space (proc_init's pid for the next
 * process: call it before proc_init). */
int proc_cpu_new_pid(struct proc_cpu *pc);
/* Add process p (proc_init done, pid from proc_cpu_new_pid): its first
 * thread (tid = pid) becomes a runnable task; uctx0 is its saved-register
 * handle. Nothing runs until proc_cpu_schedule. Returns 0, -PROC_EAGAIN
 * when the CPU has PROC_CPU_MAX processes, or a negative SCHED_E*. */
int proc_cpu_add(struct proc_cpu *pc, struct proc *p, void *uctx0);
/* The tick: wake the threads whose sleep or futex timeout ended by now,
 * account the running one (sched_tick when tick). True if the platform
 * must call proc_cpu_schedule. */
bool proc_cpu_tick(struct proc_cpu *pc, bool tick);
/* The earliest time (ns) a blocked thread of any process wakes by
 * itself, or 0. */
uint64_t proc_cpu_next_wake(const struct proc_cpu *pc);
/* Pick the thread to run (sched_schedule): its index in the aThread of
 * process aProc[*iproc], or -1 when every thread is blocked. Counts thread
 * switches in the process's nSwitch and address-space changes in
 * nProcSwitch. */
int proc_cpu_schedule(struct proc_cpu *pc, unsigned *iproc);
/* Process p ended (PROC_EXIT from a syscall, proc_kill, a fatal signal):
 * its remaining threads leave the scheduler. The others go on. */
void proc_cpu_exit(struct proc_cpu *pc, struct proc *p);
/* Live processes (not exited) and live threads of all of them. */
unsigned proc_cpu_live(const struct proc_cpu *pc, unsigned *threads);
/* The invariants above and proc_check of every process. */
bool proc_cpu_check(const struct proc_cpu *pc);

/* Signals (kernel/proc/signal.c). The thread with registers *r took a
 * fault: signal sig (SIGSEGV 11, SIGILL 4, SIGBUS 7, SIGFPE 8, SIGTRAP
 * 5) with si_code code and si_addr addr. With a handler installed (and
 * the signal not blocked) the kernel writes Linux's rt_sigframe below
 * r->sp, edits *r to enter the handler and answers PROC_SIGNAL; else the
 * process is killed (PROC_EXIT, status 128 + sig). */
struct proc_result proc_fault_signal(struct proc *p, int sig, int code, uint64_t addr,
                                     struct proc_regs *r);
/* rt_sigreturn (139), which needs the registers: restore *r and the
 * signal mask from the frame at r->sp (PROC_SIGRETURN), or kill with
 * SIGSEGV if the frame cannot be read. Counted like any syscall. */
struct proc_result proc_sigreturn(struct proc *p, struct proc_regs *r);

/* Invariants 1-4 hold. */
bool proc_check(const struct proc *p);

/* Checkpoints. A process's state is its struct proc as bytes (size
 * sizeof(struct proc)), apart from what the platform set up: ops, ctx,
 * the files, exe, the scheduler, the CPU, the CPU's process set and each
 * thread's register handle. proc_restore_bytes copies saved bytes into p
 * and keeps those; the threads' scheduler tasks come back garbled and
 * must then be restored with sched_snapshot_restore (the platform saves
 * the scheduler's state beside the processes'). */
void proc_restore_bytes(struct proc *p, const void *saved);

#endif
