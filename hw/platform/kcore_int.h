/* What kcore.c (a kernel CPU on a modelled core) and kthread.c (kernel
 * threads on those CPUs) share. Private to hw/platform. */
#ifndef HW_PLATFORM_KCORE_INT_H
#define HW_PLATFORM_KCORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "fiber.h"
#include "hw/core.h"
#include "hw/mmu.h"
#include "hw/platform.h"
#include "kernel/drv_bench.h"
#include "orrery/outq.h"
#include "orrery/params.h"
#include "orrery/sim.h"

enum { K_STEP = 1, K_DEADLOCK = 2, K_TIMER = 3, K_STORM = 4, K_BUSY = 5, K_TWAKE = 6 };
enum kc_state { KC_RUN, KC_WAIT_MEM, KC_WAIT_RETRY, KC_WAIT_STEP, KC_IDLE, KC_BUSY, KC_DONE };

#define KC_IPI_QUEUE 64
#define KC_MAX_REPORTS 32
#define KC_WAKE_REASON 0xFFFFFFFFu /* the platform's own wake-up, not kern_ipi's */

struct kthreads;

/* What a kernel CPU's time, accesses and misses are charged to: the entry
 * point the platform called the kernel through (kc_sub_enter). */
enum kc_sub { KS_BOOT, KS_SYNC, KS_SCHED, KS_IRQ, KS_TASK, KS_IDLE, KS_MM, KS_N };
#define KC_SUB_NAMES {"boot", "sync", "sched", "irq", "task", "idle", "mm"}

struct kc_sub_stats {
    struct orr_counter *time, *accesses, *misses, *stall;
};

/* What the kernel CPUs of one machine share (shared state "kernel"): the
 * platform record whose console and CPU count the HAL reads, the boot
 * phase secondary CPUs wait on, and the kernel threads (NULL without
 * `kernel.tasks`). */
struct kernel_shared {
    struct platform plat;
    unsigned phase; /* 1 once CPU 0's selftests are over */
    struct kthreads *kt;
    struct kcore **aCore; /* by kernel CPU number, filled as the cores are created */
    struct blk_shared *blk; /* kernel.block_bench's jobs (kcore.c), or NULL */
    struct drv_binding *drv;            /* kernel.drivers' binding (kdrivers.c), or NULL */
    struct drv_bench_result drv_res;
};

/* A tracepoint this CPU passed (the panic message shows the last few). */
#define KC_LAST_TPS 8
struct kc_tp {
    orr_time_t at;
    uint16_t point;
    uint64_t a, b;
};

struct kc_report {
    char name[48];
    struct orr_value *v;
};

/* Timer wake-ups of kernel threads (K_TWAKE events) waiting for this CPU
 * to take them as interrupts, oldest first. */
/* A device interrupt waiting for its CPU (include/orrery/irq.h): an MSI-X
 * vector (kern_irq) or an IOMMU fault (kern_dma_fault). */
struct kc_devirq {
    uint64_t w0, w1; /* the controller's message */
};

struct kc_wakes {
    uint32_t *a;
    size_t head, n, cap;
};

#define KC_MAX_NODES 8 /* NUMA nodes the memory map gives the kernel */

struct kcore {
    struct orr_component *c;
    struct core_shell sh;
    struct hal_cpu cpu;
    struct kernel_shared *k;
    struct fiber fib;       /* the CPU's own: boot, benchmarks, then the idle loop */
    struct fiber *cur;      /* the fiber on the CPU: fib or a kernel thread's */
    struct fiber *switch_to; /* kc_switch asked kc_run to run this one next */
    struct kthread *running; /* the kernel thread on the CPU (NULL: its own fiber) */
    bool sched_on;          /* its scheduler runs: interrupts go to kthread.c */
    enum kc_state st;
    struct orr_port *irq;
    struct orr_outq irq_out;
    struct orr_params kp; /* the kernel keys (a copy: lives as long as the core) */
    /* the access in flight */
    uint64_t value;
    bool mem_done, woken;
    orr_time_t wait_from;
    /* busy work (kc_busy): until when, and the generation of its K_BUSY event */
    orr_time_t busy_until;
    uint64_t busy_gen;
    /* interrupts */
    orr_time_t timer_at;
    uint32_t aIpi[KC_IPI_QUEUE];
    unsigned nIpi, ipiHead;
    struct kc_devirq aDevIrq[KC_IPI_QUEUE];
    unsigned nDevIrq, devIrqHead;
    /* devices (hal.h "devices"): the root complex's port for this CPU */
    struct orr_port *pcie;
    struct orr_outq pcie_out;
    unsigned ndev;
    uint64_t bar_base, bar_size;
    uint32_t mmio_cost;
    struct orr_counter *dev_irqs, *dma_faults, *mmio_reads, *mmio_writes, *devirqs_dropped;
    struct kc_wakes wakes;
    bool in_irq;
    bool spurious_timer;    /* a spurious_irq fault's kern_timer is due */
    orr_time_t stall_until; /* stall fault: nothing runs before then */
    char inject_panic[128]; /* a panic fault's text, until the CPU takes it */
    unsigned stray_to;      /* a stray_write fault's target CPU + 1, until the CPU takes it */
    /* the memory map (hal_mem_node): this CPU's node, the socket nodes, their size, distances */
    uint64_t alloc_fail;              /* alloc_fail fault: allocations left to fail */
    uint64_t drv_fault[DRV_F_NKINDS]; /* driver_* faults: driver bugs left to plant, by kind */
    struct orr_counter *allocs_failed; /* kern.allocs_failed */
    unsigned node, mem_nodes;
    uint64_t node_bytes;
    uint8_t aDist[KC_MAX_NODES][KC_MAX_NODES];
    hal_paddr_t percpu_base; /* kernel CPU 0's per-CPU area; CPU i's follows at i * percpu */
    uint64_t percpu;
    uint32_t irq_cost, relax, cost_jitter;
    /* the MMU (hal.h "virtual memory"): the active tables and the TLBs */
    hal_paddr_t mmu_root; /* 0: translation off */
    void *mmu_ctx;
    struct mmu_tlb tlb, tlb2; /* tlb2.a NULL: no second level */
    uint32_t tlb2_latency, walk_cost;
    struct orr_counter *tlb_hits, *tlb2_hits, *tlb_misses, *walk_loads, *page_faults,
        *tlb_flushes, *tlb_dropped, *percpu_violations;
    /* the program */
    bool panicked;
    struct kc_tp aLastTp[KC_LAST_TPS];
    uint64_t nTp;
    struct kc_report aReport[KC_MAX_REPORTS];
    unsigned nReport;
    orr_time_t end;
    struct orr_counter *accesses, *stall, *cost, *relaxed, *idle, *timer_irqs, *ipis_in, *ipis_out,
        *ipis_dropped, *spurious, *stalled, *switches;
    struct orr_value *busy;
    /* attribution (kc_sub_enter) */
    enum kc_sub sub;
    orr_time_t sub_since;
    struct kc_sub_stats aSub[KS_N];
};

/* kcore.c, for kernel threads. From the fiber on CPU k: */
/* Charge what follows to `sub`; returns the one to give back to
 * kc_sub_exit. */
enum kc_sub kc_sub_enter(struct kcore *k, enum kc_sub sub);
void kc_sub_exit(struct kcore *k, enum kc_sub prev);
/* Work for `ps` of the CPU's time, interrupts taken as they come: returns
 * what is left when an interrupt ran (0: all done). */
orr_time_t kc_busy(struct kcore *k, orr_time_t ps);
/* Leave the running fiber and run `to` on this CPU; returns when the
 * calling fiber runs again, on whatever CPU resumed it. */
void kc_switch(struct kcore *k, struct fiber *to);
/* Post a timer wake-up of thread `index` on CPU k at absolute time at (ps). */
void kc_post_wake(struct kcore *k, orr_time_t at, uint32_t index);

/* Kernel threads' switch frames (kthread.c): KTHREAD_FRAME bytes each, the
 * `n` of them just below the per-CPU areas of `ncpu` CPUs. */
#define KTHREAD_FRAME 128u
hal_paddr_t kcore_percpu_base(const struct orr_params *kern, unsigned ncpu);
hal_paddr_t kthread_frames_base(const struct orr_params *kern, unsigned ncpu, size_t n);

/* kthread.c */
/* Parse kernel.sched and kernel.tasks and set the threads up (CPU 0's
 * create; the machine checked the keys, errors here are not expected). */
int kthreads_create(struct kcore *k0, unsigned ncpu, struct orr_diag *d);
/* The idle loop of CPU k after boot: runs the scheduler until every task
 * has finished (forever when some never do). */
void kthreads_cpu_loop(struct kcore *k);
/* kdrivers.c: the driver workload, on every kernel CPU */
void kdrv_run(struct kcore *k);
/* Interrupt handlers: the CPU's timer, an IPI, a thread's timer wake-up. */
void kthreads_timer(struct kcore *k);
void kthreads_ipi(struct kcore *k, uint32_t reason);
void kthreads_wake(struct kcore *k, uint32_t index);
/* kc_run: fiber f has just left a CPU (it yielded in kc_switch). */
void kthreads_left_cpu(struct kcore *k, struct fiber *f);
void kthreads_finish(struct kcore *k0);
void kthreads_free(struct kthreads *kt);

/* The metrics kernel threads register on CPU 0's kcore. */
#define KTHREAD_METRICS                                                                            \
    {"sched.checks", "", ORR_METRIC_COUNTER, "scheduler invariant checks run (check_every)"},      \
    {"sched.entries", "", ORR_METRIC_COUNTER, "scheduler entries (each takes the scheduler lock)"}, \
    {"sched.lock_wait", "ps", ORR_METRIC_COUNTER,                                                  \
     "time all CPUs spent taking the scheduler lock"},                                             \
    {"task.<TASK...>.wakeup_latency", "ps", ORR_METRIC_HISTOGRAM,                                  \
     "kernel thread TASK (its name, or name.K with count > 1): wake-up to running"},               \
    {"task.<TASK...>.cpu_time", "ps", ORR_METRIC_VALUE, "CPU time thread TASK ran"},               \
    {"task.<TASK...>.share", "ratio", ORR_METRIC_VALUE, "TASK's CPU time over the run's length"},  \
    {"task.<TASK...>.switches", "", ORR_METRIC_VALUE, "context switches of TASK"},                 \
    {"task.<TASK...>.migrations", "", ORR_METRIC_VALUE, "times TASK moved to another CPU"},        \
    {"task.<TASK...>.jobs", "job", ORR_METRIC_COUNTER, "periodic jobs TASK completed"},            \
    {"task.<TASK...>.deadline_misses", "job", ORR_METRIC_COUNTER,                                  \
     "periodic jobs of TASK completed after their absolute deadline"}

#endif
