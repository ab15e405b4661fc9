/* The kernel's timer layer: the one owner of each CPU's HAL timer. It keeps
 * the periodic scheduler tick and the scheduler's precise timers (deadline
 * budgets and replenishments) on one one-shot timer, always armed for the
 * earlier of the two. */
#ifndef KERNEL_KTICK_H
#define KERNEL_KTICK_H

#include "kernel/hal.h"
#include "kernel/sched.h"

struct ktick {
    struct sched *s;
    hal_ns_t tick_ns;
    hal_ns_t next_tick;   /* time of the next periodic tick */
    hal_ns_t armed_for;   /* what the HAL timer is set to */
    uint64_t ticks;
};

/* Start the tick on CPU c at hal_now + tick_ns and arm the timer. */
void ktick_start(struct ktick *k, struct sched *s, struct hal_cpu *c);

/* The CPU's timer fired: run the tick if due (once, then skip missed ticks
 * forward), the scheduler's timer if due, and re-arm. */
void ktick_interrupt(struct ktick *k, struct hal_cpu *c);

/* Re-arm for min(next tick, the scheduler's next timer on this CPU). Call
 * after any scheduler call that may have changed this CPU's runqueue. */
void ktick_rearm(struct ktick *k, struct hal_cpu *c);

#endif
