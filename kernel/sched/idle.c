/* The idle class: the last in the pick order. It never holds a task: when no
 * other class has one, sched_schedule returns NULL and the platform idles
 * the CPU (core.c accounts rq->idle_ns). Kept as a class so the pick loop and
 * the class order have no special case. */
#include "internal.h"

static struct sched_task *idle_pick_next(struct sched *s, struct sched_rq *rq)
{
    (void)s, (void)rq;
    return NULL;
}

static int idle_check(const struct sched *s, const struct sched_rq *rq)
{
    (void)s, (void)rq;
    return 0;
}

const struct sched_class sched_idle_class = {
    .name = "idle",
    .enqueue = NULL, /* no task has the idle class */
    .dequeue = NULL,
    .pick_next = idle_pick_next,
    .set_next = NULL,
    .put_prev = NULL,
    .update_curr = NULL,
    .task_tick = NULL,
    .wakeup_preempt = NULL,
    .yield = NULL,
    .next_timer = NULL,
    .timer = NULL,
    .check = idle_check,
};
