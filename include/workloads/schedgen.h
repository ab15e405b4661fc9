/* Scheduler benchmark generators that expand into rt-app tasks (rtapp.h):
 *
 *   hackbench (hackbench.c): `groups` groups of `fds` senders and `fds`
 *     receivers; every sender sends `loops` messages to each receiver of
 *     its group (a message costs its sender and its receiver message_cost of
 *     CPU), as hackbench's socket/pipe mode does.
 *   schbench (schbench.c): `message_threads` message threads, each with
 *     `workers_per_message` workers; for each of `requests` rounds a message
 *     thread sleeps `sleep`, wakes each of its workers, and waits for all of
 *     them; a worker wakes, runs `run` of CPU (the request), reports done.
 *     The figures are the workers' wake-up latency percentiles (schbench's
 *     "wakeup latencies") and request latency (wake-up to done).
 *
 * The expansion appends task specs and events to an rtapp_set already
 * parsed from the scenario's `tasks`; the generated names (which rtapp_set
 * does not own) live in a schedgen_pool. Keys: docs/sched.md. */
#ifndef ORRERY_WORKLOADS_SCHEDGEN_H
#define ORRERY_WORKLOADS_SCHEDGEN_H

#include <stddef.h>
#include <stdint.h>

#include "orrery/config.h"
#include "orrery/diag.h"
#include "workloads/rtapp.h"

struct schedgen_pool {
    char **a;
    size_t n;
};

/* Where schbench put its tasks: specs [first_worker, first_worker +
 * nWorker) of the set are workers, each with count 1. */
struct schbench_info {
    size_t first_worker, nWorker;
    size_t first_message, nMessage;
};

/* map: the `hackbench` / `schbench` mapping (NULL: nothing to add).
 * keypath names it in messages. 0 or ORR_ESCHEMA (every problem in d). */
int hackbench_expand(const struct orr_node *map, const char *keypath, struct rtapp_set *set,
                     struct schedgen_pool *pool, struct orr_diag *d);
int schbench_expand(const struct orr_node *map, const char *keypath, struct rtapp_set *set,
                    struct schedgen_pool *pool, struct schbench_info *info, struct orr_diag *d);
void schedgen_pool_free(struct schedgen_pool *pool);

/* Shared by the generators (schedgen.c). */
const char *schedgen_name(struct schedgen_pool *pool, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append a NORMAL task on every CPU with nphase phases (zeroed) and loops;
 * returns it (the set's array may move: do not keep older pointers). */
struct rtapp_task *schedgen_task(struct rtapp_set *set, const char *name, const char *keypath,
                                 const struct orr_mark *mark, uint32_t count, size_t nphase,
                                 uint64_t loops);
/* A new event named `name` (copied into the set); returns its index. */
uint32_t schedgen_event(struct rtapp_set *set, const char *name);

#endif
