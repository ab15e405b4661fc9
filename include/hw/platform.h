/* The simulated machine's side of include/kernel/hal.h: per-CPU HAL records
 * hosted by an Orrery component, with timers, IPIs, trace points and cost
 * charging turned into engine events. A component that runs the reference
 * kernel embeds a struct platform, calls platform_init from its create op
 * and hands its events to platform_handle. This is the one place that binds
 * kernel/ to the engine (DESIGN.md §1). */
#ifndef ORRERY_HW_PLATFORM_H
#define ORRERY_HW_PLATFORM_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/hal.h"
#include "orrery/outq.h"
#include "orrery/sim.h"

/* Self-timer tags the platform owns (components use other tags). */
enum {
    PLAT_TAG_TIMER = 0xF000, /* a: cpu, b: generation */
    PLAT_TAG_IPI = 0xF001,   /* a: target cpu, b: reason */
    PLAT_TAG_NET = 0xF002,   /* a: cq whose interrupt is due */
};

#define PLAT_MAX_TRACEPOINTS 32

/* A kernel tracepoint id and the name its records get in the trace. */
struct platform_tracepoint {
    uint16_t point;
    const char *name;
};
#define PLAT_CONSOLE_MAX 4096

struct platform;
struct hal_cpu;

/* A CPU that runs on a modelled core of its own (hw/platform/kcore.c)
 * rather than inside the platform's host component: the HAL calls that
 * depend on where a CPU runs go to these. Every member is required. */
/* Devices behind a root complex (hal.h "devices"); NULL: none. */
struct platform_dev_ops {
    int (*bar)(struct hal_cpu *c, uint32_t dev, hal_paddr_t *bar, uint64_t *size);
    int (*mmio)(struct hal_cpu *c, bool write, hal_paddr_t addr, unsigned size, uint64_t value,
                uint64_t *out);
    int (*irq_route)(struct hal_cpu *c, uint32_t vector, unsigned cpu, bool masked);
    /* map: [addr, addr+len) physical -> *bus; unmap (map false): addr is the bus address */
    int (*dma)(struct hal_cpu *c, bool map, uint32_t dev, uint64_t addr, size_t len, bool write,
               uint64_t *bus);
};

struct platform_cpu_ops {
    hal_ns_t (*now)(const struct hal_cpu *c);
    void (*timer_set)(struct hal_cpu *c, hal_ns_t when);
    void (*irq_restored)(struct hal_cpu *c);              /* interrupts on again */
    void (*ipi_send)(struct hal_cpu *c, unsigned target, uint32_t reason);
    void (*idle)(struct hal_cpu *c);
    int (*access)(struct hal_cpu *c, unsigned op, hal_paddr_t pa, unsigned size, uint64_t value,
                  uint64_t expect, uint64_t *out);        /* op: enum orr_cpu_op */
    void (*relax)(struct hal_cpu *c);
    /* the MMU (hal.h "virtual memory"); vaccess as access, at a virtual address */
    int (*mmu_set_root)(struct hal_cpu *c, hal_paddr_t root, void *ctx);
    void *(*mmu_context)(const struct hal_cpu *c);
    int (*tlb_flush)(struct hal_cpu *c, uint64_t va, uint64_t len);
    int (*vaccess)(struct hal_cpu *c, unsigned op, uint64_t va, unsigned size, uint64_t value,
                   uint64_t expect, uint64_t *out);
    int (*mem_region)(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size);
    int (*percpu_area)(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size);
    /* the memory map (hal.h); optional: NULL gives HAL_ENOTSUP, node 0 and
     * distances 10/20 */
    int (*mem_node)(struct hal_cpu *c, unsigned node, hal_paddr_t *base, uint64_t *size);
    unsigned (*cpu_node)(const struct hal_cpu *c);
    unsigned (*numa_distance)(const struct hal_cpu *c, unsigned a, unsigned b);
    bool (*fault_point)(struct hal_cpu *c, unsigned point); /* optional: NULL never fires */
    void (*cost)(struct hal_cpu *c, uint32_t cycles);
    void (*trace)(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b);
    void (*report)(struct hal_cpu *c, const char *name, uint64_t value);
    void (*panic)(struct hal_cpu *c, const char *why) __attribute__((noreturn));
    const struct platform_dev_ops *dev; /* NULL: no devices */
};

struct hal_cpu {
    struct platform *plat;
    unsigned id;
    bool irq_on;
    bool timer_armed;
    uint64_t timer_gen;  /* bumps on every set/cancel: stale timer events are ignored */
    uint64_t cost_cycles; /* annotated kernel work on this CPU (cycles) */
    void *kdata;
    const struct platform_cpu_ops *ops; /* NULL: a CPU of the platform's component */
    void *host;                         /* ops' own state (the kcore) */
};

/* The kernel's interrupt entry points (see the upcalls in hal.h). */
struct platform_upcalls {
    void (*timer)(struct hal_cpu *c);
    void (*ipi)(struct hal_cpu *c, uint32_t reason);
    /* optional: completions waiting on cq (kern_net); NULL: the kernel
     * polls on its own */
    void (*net)(struct hal_cpu *c, uint32_t cq);
};

/* One completion queue's CQEs as the host sees them: a FIFO (ring). */
struct platform_cq {
    struct orr_ring cqes; /* of struct hal_net_cqe, oldest first */
    bool irq_pending;     /* a PLAT_TAG_NET event for this CQ is queued */
};

/* The platform's RDMA side (platform_net_attach): a port linked to an
 * rnic's `host` port, the CQEs received per CQ (index = cqn; 0 is the
 * control CQ), and messages waiting for the link. */
struct platform_net {
    struct orr_port *port;       /* NULL: no RNIC, hal_net_* return HAL_ENOTSUP */
    orr_time_t irq_latency;
    struct platform_cq *aCq;
    uint32_t nCq;
    struct orr_outq out; /* host messages the link refused (busy) */
    struct orr_counter *posts, *cqes, *irqs, *ctls;
};

struct platform {
    struct orr_component *comp;
    struct platform_upcalls up;
    unsigned ncpu;
    struct hal_cpu *aCpu;
    struct orr_clock clock;      /* CPU frequency: converts annotated cycles to time */
    orr_time_t ipi_latency;
    struct platform_tracepoint aTp[PLAT_MAX_TRACEPOINTS]; /* known kernel tracepoints */
    uint16_t aKind[PLAT_MAX_TRACEPOINTS];                 /* their engine trace kinds */
    unsigned nTp;
    struct orr_counter *ipis, *timer_irqs, *cost_cycles;
    struct platform_net net;
    char aConsole[PLAT_CONSOLE_MAX];     /* what the kernel printed (truncated) */
    uint32_t nConsole;
    /* hal_panic unwinds to the innermost platform_call */
    jmp_buf *panic_to;
    char panic_msg[256];
    bool panicked;
};

/* The stats platform_init and platform_net_attach register on the
 * component: rows for its type's metrics table (orrery/stats.h). */
#define PLATFORM_METRICS                                                                           \
    {"kern.ipis", "ipi", ORR_METRIC_COUNTER, "inter-processor interrupts the kernel sent"},        \
    {"kern.timer_irqs", "irq", ORR_METRIC_COUNTER, "timer interrupts delivered to the kernel"},    \
    {"kern.cost_cycles", "cy", ORR_METRIC_COUNTER,                                                 \
     "CPU cycles the kernel code charged for its own work (hal_cost)"}
#define PLATFORM_NET_METRICS                                                                       \
    {"kern.net_posts", "wr", ORR_METRIC_COUNTER, "work requests the kernel posted to the rnic"},   \
    {"kern.net_ctls", "verb", ORR_METRIC_COUNTER,                                                  \
     "control verbs the kernel issued (create CQ/QP, connect, ...)"},                              \
    {"kern.net_cqes", "cqe", ORR_METRIC_COUNTER, "completions the rnic delivered to the kernel"},  \
    {"kern.net_irqs", "irq", ORR_METRIC_COUNTER, "network interrupts delivered to the kernel"}

/* tps names the kernel tracepoints to record ("sched_switch"); others are
 * dropped. A tracepoint's record carries a = cpu << 48 | (a & 0xFFFFFFFFFFFF)
 * and b as given. Call from the component's create op. */
void platform_init(struct platform *p, struct orr_component *c, unsigned ncpu, uint64_t hz,
                   orr_time_t ipi_latency, const struct platform_tracepoint *tps, unsigned ntp,
                   const struct platform_upcalls *up);
void platform_free(struct platform *p);

/* Checkpoints: the platform's dynamic state (each CPU's interrupt flag,
 * timer arming and generation, uncharged cost; the console; the net
 * side's CQEs and queued sends). Pending timer and IPI events travel with
 * the engine's queue. The kernel's own state is the caller's to save. */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void platform_save(const struct platform *p, struct orr_ckpt_writer *w);
void platform_restore(struct platform *p, struct orr_ckpt_reader *r);

/* The byte stream of a kernel snapshot (sched_snapshot_save/_restore's
 * put and get) over a checkpoint section: the io's ctx is a struct
 * platform_snap; its owner is what the io's index callbacks read (the
 * hosting component's state). */
struct platform_snap {
    void *owner;
    struct orr_ckpt_writer *w; /* saving */
    struct orr_ckpt_reader *r; /* restoring */
};
void platform_snap_put(void *ctx, const void *p, size_t n);
int platform_snap_get(void *ctx, void *p, size_t n);

/* Give the kernel an RNIC: port (created by the component, linked by the
 * scenario to an rnic's `host` port) carries include/orrery/rdma.h
 * messages. A CQE or control answer arriving for CQ n raises kern_net(cpu 0,
 * n) irq_latency later (one pending interrupt per CQ covers later arrivals).
 * Call from create, after platform_init. A port left unlinked is the same
 * as no RNIC (HAL_ENOTSUP). */
void platform_net_attach(struct platform *p, struct orr_port *port, orr_time_t irq_latency);

/* If ev is a platform event (timer, IPI, network interrupt, or a message or
 * link-ready on the net port), deliver it to the kernel's upcall
 * (interrupts off) and return true. */
bool platform_handle(struct platform *p, const struct orr_event *ev);

/* Run fn(cpu, arg) as kernel code on a CPU: interrupts off, a hal_panic
 * inside returns here with false (and p->panicked set). */
bool platform_call(struct platform *p, unsigned cpu, void (*fn)(struct hal_cpu *, void *),
                   void *arg);

/* Simulated time that `cycles` of annotated kernel work take on this
 * machine's clock, and reset the per-CPU tally to zero. */
orr_time_t platform_take_cost(struct platform *p, unsigned cpu);

#endif
