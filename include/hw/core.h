/* What the core types (tcore, isacore) share: their keys, declared once
 * for them and the machine that builds them, and the shell around each
 * core's pipeline — its private caches (hw/pcache.h) on port `mem`, a
 * local time that may run up to `quantum` ahead of global time, the step
 * and run flags, and the liveness check. A library inside the core
 * components, not a component.
 *
 * A core's event handler gives every event to core_shell_event first:
 * coherence messages and link readiness go to the caches, the deadlock
 * timer to the check; a step timer clears step_pending. Then, if
 * run_pending is set, the core runs its pipeline, which starts with
 * core_shell_catch_up and stops (scheduling a step) when
 * core_shell_ahead says the core is a quantum ahead. */
#ifndef HW_CORE_H
#define HW_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/pcache.h"
#include "orrery/params.h"
#include "orrery/sim.h"

/* Keys of every core: quantum. */
extern const struct orr_param core_params[];
/* Keys of the trace-driven core's pipeline that a machine sets for all its
 * cores: store_buffer, mlp, memory_model, timer_period, start_jitter,
 * drain_jitter, drain_hold, sb_mutation (hw/cpu/tcore.c, docs/cores.md). */
extern const struct orr_param tcore_pipeline_params[];

struct core_shell {
    struct orr_component *c;
    struct pcache pc;          /* the private caches, on port `mem` */
    struct pcache_setup setup; /* their configuration (owns homes, mutated table) */
    orr_time_t cycle;          /* the core's clock period (DVFS may change it) */
    orr_time_t quantum, deadlock;
    orr_time_t local;          /* the core's own time, >= now while it runs */
    bool step_pending;         /* a step timer is set: do not run before it */
    bool run_pending;          /* something happened: run the pipeline */
    bool done;                 /* the core finished its work */
    uint16_t tag_step, tag_deadlock; /* the core's timer tags for the two */
};

/* From create: the hierarchy's keys (pcache_setup_parse), the clock,
 * quantum and deadlock; the caches on a new port `mem`, calling ops with
 * arg (their stats registered now). Errors at the keys' marks. */
int core_shell_create(struct core_shell *sh, struct orr_component *c, const struct orr_params *p,
                      const struct pcache_ops *ops, void *arg, uint16_t tag_step,
                      uint16_t tag_deadlock, struct orr_diag *d);
/* From start: ORR_ESCHEMA (reported) unless port `mem` is linked. */
int core_shell_check_linked(const struct core_shell *sh, struct orr_diag *d);
/* Set the deadlock timer (deadlock / 2 from now). */
void core_shell_arm_deadlock(struct core_shell *sh);

enum core_event {
    CORE_EV_OTHER,  /* not the shell's: the core handles it */
    CORE_EV_RUN,    /* handled; run the pipeline if run_pending */
    CORE_EV_STOP,   /* handled; nothing more to do for this event */
};
enum core_event core_shell_event(struct core_shell *sh, const struct orr_event *ev);

/* local = max(local, now). */
void core_shell_catch_up(struct core_shell *sh);
/* If the core is a quantum or more ahead, set a step timer for when global
 * time reaches its local time and return true (stop running). */
bool core_shell_ahead(struct core_shell *sh);
void core_shell_free(struct core_shell *sh);
/* Checkpoint/restore of the shell: clock, local time, flags, caches. */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void core_shell_save(const struct core_shell *sh, struct orr_ckpt_writer *w);
void core_shell_restore(struct core_shell *sh, struct orr_ckpt_reader *r);

#endif
