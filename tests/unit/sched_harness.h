/* A deterministic host harness for the scheduler: implements every hal_*
 * function of include/kernel/hal.h for N simulated CPUs and drives tasks
 * through simple behaviours, event by event, in integer ns.
 *
 * Model. One global clock (h->now). A running task progresses 1 ns of work
 * per ns (capacity[cpu]/1024 ns on a CPU with a capacity set: work is in ns
 * of a 1024 CPU), after the CPU has paid its kernel "debt": hal_cost(cycles) adds
 * cycles * 1000 / cpu_mhz ns of debt, spent before the task's next work (so
 * kernel costs delay tasks exactly as they would on the simulated machine;
 * the scheduler charges them to curr, as a real kernel does). Timers are
 * one-shot per CPU; IPIs arrive ipi_latency_ns after they are sent.
 *
 * The harness also plays the kernel's glue above the scheduler (the role of
 * kern_timer/kern_ipi, which it does not define so that it can link with a
 * kernel library that does): a timer multiplexer (periodic tick +
 * sched_next_timer), "return to user" (sched_schedule when need_resched),
 * and the task behaviours.
 *
 * Event order at one instant (fixed, so runs are reproducible): task phase
 * ends (CPU order), releases/wake-ups (task order), IPIs (send order),
 * timers (CPU order). The next event is min(next timer, next phase end,
 * next release, next IPI). */
#ifndef ORRERY_SCHED_HARNESS_H
#define ORRERY_SCHED_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hal.h"
#include "kernel/sched.h"

#define H_MAX_CPUS 8
#define H_MAX_TASKS 32
#define H_MAX_IPIS 64
#define H_ANY_CPU (~0u) /* cpu argument of h_task_*: every CPU of the harness */

enum h_kind {
    H_CPU_BOUND, /* always wants the CPU */
    H_PERIODIC,  /* released every period; each job needs `work` ns; misses
                    counted against release + rel_deadline */
    H_SLEEP_RUN, /* run `work` ns, sleep `sleep_ns`, repeat */
};

struct h_task {
    struct sched_task t;     /* first: the scheduler's task */
    enum h_kind kind;
    bool any_cpu;            /* affinity = every CPU (set at h_add) */
    hal_ns_t period, work, rel_deadline, offset, sleep_ns;
    /* dynamic */
    hal_ns_t remaining;      /* work left in the current job/phase */
    hal_ns_t next_release;   /* periodic: next release; sleep/run: wake time */
    bool waiting;            /* blocked, waiting for next_release */
    uint64_t jobs_released, jobs_done, misses;
    hal_ns_t ran_ns;         /* work done */
    hal_ns_t max_response;   /* periodic: completion - release */
    hal_ns_t lat_from;       /* release of the pending wake-up */
    bool lat_pending;
    hal_ns_t lat_max, lat_sum; /* release -> first ns of work */
    uint64_t lat_n;
};

struct h_trace {
    hal_ns_t t;
    unsigned cpu;
    uint16_t point;
    uint64_t a, b;
};

struct hal_cpu {
    struct harness *h;
    unsigned id;
    hal_ns_t timer;
    bool timer_armed;
    bool irq_enabled;
    hal_ns_t debt;           /* kernel time to pay before task work */
    hal_ns_t next_tick;
    hal_ns_t cost_ns;        /* total kernel cost charged */
};

struct harness {
    struct sched s;
    struct sched_rq rq[H_MAX_CPUS];
    struct hal_cpu cpu[H_MAX_CPUS];
    unsigned ncpu;
    hal_ns_t now;
    uint32_t cpu_mhz;         /* converts hal_cost cycles to ns; default 1000 */
    hal_ns_t ipi_latency_ns;  /* default 1000 */
    uint16_t capacity[H_MAX_CPUS]; /* 0 = 1024: work per ns is capacity/1024 */
    struct { hal_ns_t at; unsigned to; uint32_t reason; } ipi[H_MAX_IPIS];
    unsigned nipi;
    struct h_trace *trace;
    size_t ntrace, trace_cap, trace_dropped;
    struct h_task *task[H_MAX_TASKS];
    unsigned ntasks;
    bool check_each_event;    /* sched_check after every instant */
    int first_check_rc;       /* first nonzero sched_check result */
    hal_ns_t first_check_at;
    uint64_t events;
};

/* cfg NULL: scheduler defaults. Allocates the trace buffer. */
void h_init(struct harness *h, unsigned ncpu, const struct sched_config *cfg);
void h_free(struct harness *h);
/* Register ht (its t and behaviour fields set) and schedule its first
 * release/wake at ht->offset. Returns sched_task_add's result. */
int h_add(struct harness *h, struct h_task *ht);
/* Run until absolute time `until`. */
void h_run(struct harness *h, hal_ns_t until);
/* Helpers to fill a task. */
void h_task_fair(struct h_task *ht, uint64_t id, int nice, unsigned cpu);
void h_task_rt(struct h_task *ht, uint64_t id, enum sched_policy pol, unsigned prio,
               unsigned cpu);
void h_task_dl(struct h_task *ht, uint64_t id, hal_ns_t runtime, hal_ns_t deadline,
               hal_ns_t period, unsigned cpu);
void h_periodic(struct h_task *ht, hal_ns_t period, hal_ns_t work, hal_ns_t rel_deadline,
                hal_ns_t offset);
void h_sleep_run(struct h_task *ht, hal_ns_t run, hal_ns_t sleep, hal_ns_t offset);
/* Number of trace records with this point (and a, b unless ~0). */
size_t h_trace_count(const struct harness *h, uint16_t point, uint64_t a, uint64_t b);

#endif
