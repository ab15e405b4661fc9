/* rt-app-style task descriptions: a scenario lists tasks with a scheduling
 * policy and a program of phases (run, sleep, wait for an event, wake the
 * waiters of an event) or a periodic job. Parsed and validated here, at load
 * time, with file:line:col for every error; interpreted by the model that
 * runs the tasks (hw/platform's sched_node). Keys: docs/sched-scenarios.md. */
#ifndef ORRERY_WORKLOADS_RTAPP_H
#define ORRERY_WORKLOADS_RTAPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/config.h"
#include "orrery/diag.h"

enum rtapp_policy { RTAPP_NORMAL, RTAPP_FIFO, RTAPP_RR, RTAPP_DEADLINE };

enum rtapp_op {
    RTAPP_RUN,        /* compute for `ns` (or `cycles` at the CPU's clock) */
    RTAPP_RUN_CYCLES,
    RTAPP_SLEEP,      /* block for `ns` */
    RTAPP_WAIT,       /* block until event `event` is signalled */
    RTAPP_WAKE,       /* signal event `event`: wake every task waiting on it */
};

struct rtapp_phase {
    enum rtapp_op op;
    uint64_t amount;  /* ns for RUN/SLEEP, cycles for RUN_CYCLES */
    uint32_t event;   /* WAIT/WAKE: index into rtapp_set.aEventName */
};

struct rtapp_task {
    const char *name;       /* instance k of a task with count > 1 is name.k */
    struct orr_mark mark;   /* where it is declared */
    char *keypath;
    uint32_t count;
    enum rtapp_policy policy;
    int nice;               /* NORMAL: -20..19 */
    unsigned prio;          /* FIFO/RR: 1..99 */
    uint64_t dl_runtime, dl_deadline, dl_period; /* DEADLINE, ns */
    uint64_t affinity[4];   /* bit per CPU (256 max); all set = any CPU */
    const char *group;      /* CPU bandwidth group name, "" for none (normal tasks) */
    struct orr_mark group_mark; /* where `group` is written */
    /* program: either phases (repeated `loops` times, 0 = forever) or a
     * periodic job (period_ns > 0): released every period, runs job_ns,
     * must finish by release + deadline_ns (default: the period). */
    size_t nPhase;
    struct rtapp_phase *aPhase;
    uint64_t loops;
    uint64_t period_ns, job_ns, deadline_ns, offset_ns;
};

struct rtapp_set {
    size_t nTask;
    struct rtapp_task *aTask;
    size_t nEvent;
    char **aEventName;
};

/* Parse and validate the `tasks` list (a sequence node; NULL is an empty
 * set) for a machine with ncpu CPUs. Every problem goes to d; returns 0 or
 * ORR_ESCHEMA. out is always safe to free. */
int rtapp_parse(const struct orr_node *tasks, const char *keypath, unsigned ncpu,
                struct rtapp_set *out, struct orr_diag *d);
void rtapp_free(struct rtapp_set *s);

bool rtapp_on_cpu(const struct rtapp_task *t, unsigned cpu);

#endif
