/* The private state of an isacore (isacore.c), shared with its syscall
 * layer (syscall.c). Not a public header. */
#ifndef HW_ISA_INTERNAL_H
#define HW_ISA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <unicorn/unicorn.h>

#include "hw/array.h"
#include "hw/core.h"
#include "hw/elf.h"
#include "hw/pcache.h"
#include "hw/platform.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "orrery/sim.h"

#define ISA_MAX_CORES 1024u
#define ISA_MAX_ELFS 16u
#define ISA_PAGE UINT64_C(4096)

/* The shared state every isacore declares (orr_sim_shared_state
 * "isa.ram"): guest RAM, which ELFs are in it, and the futex wait table.
 * The RAM is the guest's memory (functional state, like a core's
 * registers); timing never reads it. The wait table is the kernel's futex
 * hash table: a waker marks waiters, each waiter notices at its next poll
 * (syscall.c). Both are read and written only inside events, in event
 * order, so they are as deterministic as the event order. */
struct isa_shared {
    unsigned nLinux;               /* the run's: Linux processes (each with its own RAM) */
    uint64_t linux_next;           /* the run's: where the next one's physical range starts */
    uint8_t *ram;
    uint64_t size;
    unsigned nElf;
    struct { char path[512]; uint64_t lo, hi; } aElf[ISA_MAX_ELFS];
    unsigned nCore;
    struct { uint64_t addr; uint8_t state; } aWait[ISA_MAX_CORES]; /* by core slot */
};
enum { WAIT_NONE, WAIT_SLEEPING, WAIT_WOKEN };

/* What ended a uc_emu_start call, besides a block-boundary stop. */
enum isa_stop {
    STOP_NONE,
    STOP_EXIT,      /* exit / exit_group */
    STOP_YIELD,     /* sched_yield: let global time catch up */
    STOP_FUTEX,     /* futex wait: sleep and poll */
    STOP_FAILED,    /* a fault or a fatal syscall: reported with orr_sim_fail */
    STOP_SWITCH,    /* abi linux: the kernel may switch threads (isa_linux_switch) */
};

/* A timing access the core could not perform yet (a miss is in flight):
 * replayed through the pcache in program order. */
struct isa_acc {
    uint64_t addr, val;            /* addr: physical (a switch may come between) */
    uint8_t op, size, fetch;
};

/* What the core runs in one address space: a bare guest (the run's
 * shared RAM), or a Linux process (abi linux: its own RAM). A switch
 * between processes sharing the core swaps these (isa_linux_switch): the
 * memory, the Unicorn engine that maps only that memory and holds the
 * registers of the thread that ran last in it, the image and stack, the
 * kernel's process and the saved registers of its other threads. */
struct isa_proc {
    struct isa_shared *sh;
    unsigned slot;                 /* index in sh->aWait */
    bool sh_private;               /* abi linux: sh is this process's own memory */
    uint64_t phys_base;            /* abi linux: physical address of its RAM's byte 0 */
    uc_engine *uc;
    char elf[512];
    uint64_t entry, stack_top;
    uint64_t img_lo, img_hi;       /* the program's loaded bytes */
    uint64_t phdr;                 /* its program headers in memory (AT_PHDR) */
    uint16_t phnum, phent;
    uint64_t guard;                /* the unmapped lowest page of this core's stack */
    /* abi linux: the process (NULL for a bare guest), its mapped-in files,
     * each thread's saved registers and which one the engine holds */
    struct proc *proc;
    struct proc_file *aFile;
    unsigned nFile;
    uc_context *aCtx[PROC_MAX_THREADS];
    unsigned loaded;
    char kill_msg[320];            /* why a signal killed the process */
    int signal;                    /* that signal, or 0 */
    char *exe;                     /* what readlink("/proc/self/exe") says (heap: the
                                      process keeps a pointer to it) */
    struct orr_value *v_exit, *v_signal, *v_pid; /* proc<N>.* with several */
};

struct isacore {
    struct orr_component *c;
    struct isa_proc as;            /* the running one (for a bare guest: the only one) */
    struct isa_proc *aProc;        /* abi linux: every process of the core; */
    unsigned nProc, iProc;         /* aProc[iProc] is stale while it is `as` */
    enum isa_arch arch;
    struct core_shell shell;       /* caches, local time, step and run flags, liveness */
    struct cache_array l1i;
    bool timing, fetch_model;
    unsigned core, ncores, unknown_fail;
    orr_time_t insn_ps, syscall_ps, poll0;
    uint32_t l1_cycles;
    uint64_t max_insns, out_limit;

    /* execution state */
    orr_time_t slice_end;
    uint64_t pc_next;
    bool sleeping, failed, limit_hit;
    enum isa_stop stop;
    uint64_t final_count;          /* the last partial block before the limit */
    uint64_t blk_start, blk_end;   /* the block being executed */
    bool miss_out, retry_wait;
    uint8_t miss_fetch;
    orr_time_t miss_from;
    uint32_t next_tag;
    struct isa_acc *aQ;            /* deferred timing accesses (ring) */
    uint32_t nQ, qHead, qCap;
    bool fault;                    /* the invalid-memory hook fired */
    uint64_t fault_addr, fault_pc;
    int fault_type;
    /* futex sleep */
    uint64_t futex_addr;
    orr_time_t poll, sleep_from;
    /* exit */
    bool exited;
    int64_t exit_code;
    orr_time_t finish_time;
    char *aOut;                    /* the guest's write(1|2) bytes */
    size_t nOut;
    /* abi linux: the processes' output per fd (stdout, stderr), in the
     * order they wrote it (one console) */
    char *aFdOut[2];
    size_t nFdOut[2];
    /* abi linux threads (linux.c): the reference scheduler on this one
     * CPU, whose HAL calls come back to this core (kcpu.ops), and the
     * processes whose threads it schedules */
    struct sched ksched;
    struct sched_rq krq;
    struct platform kplat;
    struct hal_cpu kcpu;
    struct proc_cpu kpc;
    orr_time_t tick_ps, next_tick;
    bool clone_pending;
    uint64_t clone_slot, clone_sp, clone_settls, clone_tls;
    uint16_t tk_switch;
    struct orr_counter *ctx_switches, *threads, *cy_kernel, *signals, *proc_switches;

    uint16_t tk_out;
    struct orr_counter *insns, *blocks, *cy_compute, *cy_l2, *cy_miss, *cy_fetch, *cy_syscall,
        *cy_futex, *l1i_hits, *l1i_misses, *syscalls, *unknown, *yields, *futex_waits,
        *futex_wakes, *out_bytes, *out_dropped, *loads, *stores, *cy_sleep;
    struct orr_value *v_cycles, *v_ipc, *v_exit, *v_exited, *v_limit, *v_faulted, *v_signal,
        *v_procs;
};

/* syscall.c: the ecall/svc handler (UC_HOOK_INTR for a system call), and
 * a sleeping futex waiter's poll. */
void isa_syscall(struct isacore *t);
bool isa_futex_poll(struct isacore *t);
void isa_futex_wait(struct isacore *t, uint64_t addr);
int64_t isa_futex_wake(struct isacore *t, uint64_t addr, uint64_t max);
void isa_output(struct isacore *t, int fd, const uint8_t *p, size_t n);

/* linux.c: abi linux — the process of the reference kernel (kernel/proc)
 * on this core. */
/* The core's scheduler and room for its processes (p: the first one's
 * params, whose `processes` list the others). */
int isa_linux_setup(struct isacore *t, const struct orr_params *p, struct orr_diag *d);
/* A process from params p, in t->as (memory, image and engine already
 * set up): its kernel process, initial stack and first thread's
 * registers; appended to aProc. several: the core has more than one
 * (each gets proc<N>.* metrics). */
int isa_linux_process(struct isacore *t, const struct orr_params *p, bool several,
                      struct orr_diag *d);
void isa_linux_free_proc(struct isa_proc *a);
void isa_linux_syscall(struct isacore *t, uint64_t nr, const uint64_t a[6]);
/* A fault the process cannot survive: it dies of signal sig (exit status
 * 128 + sig) with msg kept for the report; the run goes on. */
void isa_linux_kill(struct isacore *t, int sig, const char *msg);
/* A fault at pc: signal sig (si_code code, si_addr addr) goes to the
 * process's handler if it has one (the core goes on in the handler), else
 * kills it as isa_linux_kill. */
void isa_linux_fault(struct isacore *t, int sig, int code, uint64_t addr, uint64_t pc,
                     const char *msg);
void isa_linux_free(struct isacore *t);
int isa_linux_start(struct isacore *t);
/* After STOP_SWITCH or a tick: create a cloned thread's registers, wake
 * expired sleepers, and switch to the thread the scheduler picks (idling
 * the core until a sleeper wakes when none can run). False when the run
 * failed (every thread blocked for good). tick: the scheduler tick is due. */
bool isa_linux_switch(struct isacore *t, bool tick);

/* Checkpoints. isacore.c: a RAM's non-zero pages, and the registers a
 * checkpoint keeps (by Unicorn number). linux.c: the processes' state
 * (memory, protections, the kernel's processes and their scheduler, each
 * thread's registers), saved before the core's own. */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void isa_ram_save(const struct isa_shared *sh, struct orr_ckpt_writer *w);
void isa_ram_restore(struct isa_shared *sh, struct orr_ckpt_reader *r);
const int *isa_ckpt_regs(const struct isacore *t, size_t *n);
void isa_linux_save(const struct isacore *t, struct orr_ckpt_writer *w);
void isa_linux_restore(struct isacore *t, struct orr_ckpt_reader *r);

/* isacore.c: registers by number (a0..a7 / x0..x8) and the core's clock. */
uint64_t isa_reg(struct isacore *t, unsigned i);
void isa_set_reg(struct isacore *t, unsigned i, uint64_t v);
uint64_t isa_pc(struct isacore *t);
void isa_fail(struct isacore *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
