/* The kernel's timer layer (see ktick.h). */
#include "kernel/ktick.h"

void ktick_start(struct ktick *k, struct sched *s, struct hal_cpu *c)
{
    k->s = s;
    k->tick_ns = s->cfg.tick_ns;
    k->next_tick = hal_now(c) + k->tick_ns;
    k->armed_for = 0;
    k->ticks = 0;
    ktick_rearm(k, c);
}

void ktick_rearm(struct ktick *k, struct hal_cpu *c)
{
    hal_ns_t when = k->next_tick;
    hal_ns_t t = sched_next_timer(k->s, hal_cpu_id(c));
    if (t && t < when)
        when = t;
    if (when != k->armed_for) {
        k->armed_for = when;
        hal_timer_set(c, when);
    }
}

void ktick_interrupt(struct ktick *k, struct hal_cpu *c)
{
    hal_ns_t now = hal_now(c);
    k->armed_for = 0; /* the timer that fired is spent */
    if (now >= k->next_tick) {
        k->ticks++;
        sched_tick(k->s, c);
        /* a late interrupt runs one tick, then resumes the tick grid */
        while (k->next_tick <= now)
            k->next_tick += k->tick_ns;
    }
    hal_ns_t t = sched_next_timer(k->s, hal_cpu_id(c));
    if (t && t <= now)
        sched_timer(k->s, c);
    ktick_rearm(k, c);
}
