/* Kernel threads on the machine's cores: the reference kernel's scheduler
 * (kernel/sched), unchanged from sched_node, deciding which of a scenario's
 * rt-app tasks (kernel.tasks) runs on which kernel CPU, each task a kernel
 * thread with a fiber (stack) of its own, switched on the modelled cores
 * (docs/kernel-platform.md).
 *
 * Where things run. Every kernel CPU (kcore.c) has its own fiber: after
 * boot it becomes the CPU's idle loop, which calls the scheduler when it
 * must and otherwise idles (hal_idle). A context switch is kc_switch: the
 * running fiber yields and the CPU resumes the next one, a thread's or its
 * idle loop's. A thread's `run` phases are busy time on the CPU (kc_busy),
 * cut short by interrupts: the tick, IPIs and timer wake-ups run as
 * interrupt handlers on whatever fiber is on the CPU; a handler only sets
 * need_resched, and the interrupted fiber switches at its next preemption
 * point (after every slice of busy time), as a kernel returning from an
 * interrupt does. Sleeps and periodic releases are timer wake-ups (K_TWAKE
 * events) on the CPU the thread blocked on.
 *
 * Switch frames. Each thread's kernel stack has its top in simulated
 * memory: the KTHREAD_FRAME bytes a switch saves the outgoing thread's
 * registers into and restores the incoming one's from (the callee-saved
 * registers and return address switch_to pushes, and what an interrupt
 * frame holds), through the CPU's caches. A thread that last ran on
 * another CPU finds its frame in that CPU's cache, so a migration costs the
 * cache-to-cache transfers it costs on hardware; a thread coming back to
 * its CPU mostly hits. The idle loop's frame is the first lines of its
 * CPU's per-CPU area. Frames sit just below the per-CPU areas (the machine
 * checks they fit in kernel memory).
 *
 * The scheduler lock. The scheduler's state is host memory, serialised by
 * one ticket lock (kernel/sync) in kernel memory: every scheduler entry
 * (wake-up, block, exit, schedule, tick, IPI) takes it through the CPU's
 * caches, so scheduler contention costs what coherence makes it cost
 * (metric sched.lock_wait). Annotated scheduler work (hal_cost) is charged
 * inside the lock. The waiters of rt-app events are under the same lock.
 *
 * Invariants:
 *   1. A thread's fiber runs on at most one CPU: `on_cpu` is set from the
 *      moment a CPU switches to it until the CPU it left has it off the
 *      CPU (kc_run, after the yield); a CPU about to run a thread whose
 *      on_cpu is still set spins until it clears (Linux's p->on_cpu).
 *   2. sched_curr(cpu) == the thread on that CPU, except between a
 *      scheduler decision and the switch that carries it out.
 *   3. Every scheduler call is made with interrupts off and the lock held.
 *   4. A blocked thread is woken only by its own sleep/release timer or by
 *      a `wake` of the event it waits on, once. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/sched_machine.h"
#include "kcore_int.h"
#include "kernel/ktick.h"
#include "kernel/sched.h"
#include "kernel/sync.h"
#include "workloads/rtapp.h"
#include "orrery/error.h"

#define KTHREAD_STACK (128u * 1024u)
#define FRAME_WORDS (KTHREAD_FRAME / 8)

struct kthreads;

struct kthread {
    struct sched_task st; /* first: the scheduler's curr is the thread */
    struct kthreads *kt;
    const struct rtapp_task *spec;
    char *name;
    uint32_t index;
    struct fiber fib;
    struct kcore *on;     /* the CPU it runs on (or last ran on) */
    hal_paddr_t frame;    /* its switch frame in kernel memory */
    bool on_cpu;          /* invariant 1 */
    bool finished, woken;
    orr_time_t woken_at;  /* ps, when woken (latency pending while woken) */
    orr_time_t since;     /* ps, when it last went on a CPU */
    orr_time_t cpu_time;
    hal_ns_t release, abs_deadline; /* periodic: the current job */
    struct orr_histogram *lat;
    struct orr_counter *jobs, *misses;
    struct orr_value *v_cpu, *v_share, *v_switches, *v_migrations;
};

/* Threads blocked on one event, in the order they blocked. */
struct waiters {
    uint32_t *a;
    size_t n, cap;
};

struct kthreads {
    struct sched s;
    struct sched_rq *aRq;
    struct ktick *aTick;
    unsigned ncpu;
    struct rtapp_set spec;
    struct sched_groups groups; /* kernel.groups */
    struct kthread *aTask;
    size_t nTask, nFinished;
    uint32_t *aPending;        /* per event: wakes with no waiter yet */
    struct waiters *aWaiters;  /* per event */
    hal_paddr_t lock;          /* the scheduler lock's line */
    hal_ns_t t0;               /* when CPU 0 started the scheduler */
    uint64_t check_every, entries;
    struct orr_counter *checks, *lock_wait, *entries_c;
    enum kc_sub saved_sub[SCHED_MAX_CPUS]; /* per CPU, inside sched_enter */
};

static struct kthreads *kt_of(struct kcore *k) { return k->k->kt; }

/* ---------------------------------------------------- the scheduler lock */

/* Interrupts off, the lock taken (invariant 3). */
static void sched_enter(struct kthreads *kt, struct kcore *k)
{
    kt->saved_sub[k->cpu.id] = kc_sub_enter(k, KS_SCHED);
    hal_irq_disable(&k->cpu);
    orr_time_t from = k->sh.local;
    sync_ticket_lock(&k->cpu, kt->lock);
    kt->lock_wait->v += k->sh.local - from;
    kt->entries_c->v++;
}

static void sched_leave(struct kthreads *kt, struct kcore *k)
{
    struct hal_cpu *c = &k->cpu;
    if (kt->check_every && ++kt->entries % kt->check_every == 0) {
        kt->checks->v++;
        int code = sched_check(&kt->s);
        if (code)
            hal_panic(c, sched_check_name(code));
    }
    if (kt->aTick[c->id].s) /* its tick started */
        ktick_rearm(&kt->aTick[c->id], c);
    sync_ticket_unlock(c, kt->lock);
    kc_sub_exit(k, kt->saved_sub[c->id]);
}

/* ------------------------------------------------------ context switches */

enum how { SWITCH, BLOCK, EXIT };

/* On CPU k, from prev's fiber (NULL: the idle loop's), inside
 * sched_enter: block or exit prev if asked, let the scheduler pick, leave,
 * switch to its choice. Returns in prev's fiber when it runs again (on
 * prev->on), interrupts still off. */
static void resched_locked(struct kthreads *kt, struct kcore *k, struct kthread *prev,
                           enum how how)
{
    struct hal_cpu *c = &k->cpu;
    if (how == BLOCK)
        sched_block(&kt->s, c);
    else if (how == EXIT)
        sched_exit(&kt->s, c, &prev->st);
    sched_schedule(&kt->s, c);
    struct kthread *next = (struct kthread *)sched_curr(&kt->s, c->id);
    sched_leave(kt, k);
    if (next == prev)
        return;
    if (prev)
        prev->cpu_time += k->sh.local - prev->since;
    if (next) {
        while (next->on_cpu) /* its last CPU is still switching it out */
            hal_relax(c);
        next->on = k;
        next->on_cpu = true;
        next->since = k->sh.local;
        if (next->woken) {
            next->woken = false;
            orr_histogram_add(next->lat, k->sh.local - next->woken_at);
        }
    }
    k->running = next;
    /* save prev's registers, restore next's: through the caches, charged
     * to the scheduler */
    enum kc_sub was = kc_sub_enter(k, KS_SCHED);
    hal_paddr_t out = prev ? prev->frame : k->percpu_base + (hal_paddr_t)c->id * k->percpu;
    hal_paddr_t in = next ? next->frame : k->percpu_base + (hal_paddr_t)c->id * k->percpu;
    for (unsigned w = 0; w < FRAME_WORDS; w++)
        hal_store(c, out + 8 * w, 8, w);
    for (unsigned w = 0; w < FRAME_WORDS; w++)
        hal_load(c, in + 8 * w, 8, NULL);
    kc_sub_exit(k, was);
    kc_switch(k, next ? &next->fib : &k->fib);
}

static void resched(struct kthreads *kt, struct kcore *k, struct kthread *prev, enum how how)
{
    sched_enter(kt, k);
    resched_locked(kt, k, prev, how);
}

void kthreads_left_cpu(struct kcore *k, struct fiber *f)
{
    if (f != &k->fib) /* a thread's */
        ((struct kthread *)(void *)((char *)f - offsetof(struct kthread, fib)))->on_cpu = false;
}

/* Interrupts on again on the thread's CPU, then switch if an interrupt
 * (or the caller) asked for it: the preemption point. */
static void preempt_point(struct kthreads *kt, struct kthread *t)
{
    hal_irq_restore(&t->on->cpu, true);
    while (sched_need_resched(&kt->s.rq[t->on->cpu.id])) {
        hal_irq_disable(&t->on->cpu);
        resched(kt, t->on, t, SWITCH);
        hal_irq_restore(&t->on->cpu, true);
    }
}

/* --------------------------------------------------------- the programs */

static void run_for(struct kthreads *kt, struct kthread *t, orr_time_t ps)
{
    while (ps) {
        ps = kc_busy(t->on, ps);
        preempt_point(kt, t);
    }
}

/* Block until a timer wake-up at absolute hal time `at` (ns). */
static void sleep_until(struct kthreads *kt, struct kthread *t, hal_ns_t at)
{
    struct kcore *k = t->on;
    kc_post_wake(k, (orr_time_t)at * ORR_NS, t->index);
    hal_irq_disable(&k->cpu);
    resched(kt, k, t, BLOCK);
    preempt_point(kt, t);
}

static void wake_locked(struct kthreads *kt, struct kcore *k, struct kthread *t)
{
    t->woken = true;
    t->woken_at = k->sh.local;
    sched_wakeup(&kt->s, &k->cpu, &t->st);
}

/* wait: take a kept wake, or block until the event's next wake. */
static void wait_event(struct kthreads *kt, struct kthread *t, uint32_t ev)
{
    struct kcore *k = t->on;
    sched_enter(kt, k);
    if (kt->aPending[ev]) {
        kt->aPending[ev]--;
        sched_leave(kt, k);
        preempt_point(kt, t);
        return;
    }
    struct waiters *w = &kt->aWaiters[ev];
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 8;
        if (!(w->a = realloc(w->a, w->cap * sizeof *w->a)))
            orr_oom();
    }
    w->a[w->n++] = t->index; /* and blocks in the same entry: no wake in between */
    resched_locked(kt, k, t, BLOCK);
    preempt_point(kt, t);
}

/* wake: every waiter in the order they blocked; with none, kept. */
static void wake_event(struct kthreads *kt, struct kthread *t, uint32_t ev)
{
    struct kcore *k = t->on;
    sched_enter(kt, k);
    struct waiters *w = &kt->aWaiters[ev];
    for (size_t i = 0; i < w->n; i++)
        wake_locked(kt, k, &kt->aTask[w->a[i]]);
    if (w->n == 0)
        kt->aPending[ev]++;
    w->n = 0;
    sched_leave(kt, k);
    preempt_point(kt, t);
}

static void finish(struct kthreads *kt, struct kthread *t)
{
    struct kcore *k = t->on;
    t->finished = true;
    if (++kt->nFinished == kt->nTask) /* every idle loop may stop now */
        for (unsigned i = 0; i < kt->ncpu; i++)
            if (i != k->cpu.id)
                hal_ipi_send(&k->cpu, i, KC_WAKE_REASON);
    hal_irq_disable(&k->cpu);
    resched(kt, k, t, EXIT); /* never returns: nothing runs an exited thread */
}

static void periodic(struct kthreads *kt, struct kthread *t)
{
    const struct rtapp_task *sp = t->spec;
    for (;;) {
        run_for(kt, t, (orr_time_t)sp->job_ns * ORR_NS);
        hal_ns_t now = hal_now(&t->on->cpu);
        t->jobs->v++;
        if (now > t->abs_deadline)
            t->misses->v++;
        t->release += sp->period_ns;
        sleep_until(kt, t, t->release > now ? t->release : now);
    }
}

static void thread_main(void *arg)
{
    struct kthread *t = arg;
    struct kthreads *kt = t->kt;
    const struct rtapp_task *sp = t->spec;
    preempt_point(kt, t); /* came from resched on t->on, interrupts off */
    if (sp->period_ns)
        periodic(kt, t);
    for (uint64_t loop = 0; !sp->loops || loop < sp->loops; loop++) {
        bool took_time = false;
        for (size_t i = 0; i < sp->nPhase; i++) {
            const struct rtapp_phase *ph = &sp->aPhase[i];
            switch (ph->op) {
            case RTAPP_RUN:
                run_for(kt, t, (orr_time_t)ph->amount * ORR_NS);
                took_time = true;
                break;
            case RTAPP_RUN_CYCLES: /* at the clock of the CPU it starts on */
                run_for(kt, t, (orr_time_t)ph->amount * t->on->sh.cycle);
                took_time = true;
                break;
            case RTAPP_SLEEP:
                sleep_until(kt, t, hal_now(&t->on->cpu) + ph->amount);
                took_time = true;
                break;
            case RTAPP_WAIT:
                wait_event(kt, t, ph->event);
                took_time = true; /* or took a kept wake: as good as a yield */
                break;
            case RTAPP_WAKE:
                wake_event(kt, t, ph->event);
                break;
            }
        }
        if (!took_time) /* a program that never blocks nor runs: a tick of work */
            run_for(kt, t, (orr_time_t)kt->s.cfg.tick_ns * ORR_NS);
    }
    finish(kt, t);
}

/* -------------------------------------------------- interrupt handlers */

void kthreads_timer(struct kcore *k)
{
    struct kthreads *kt = kt_of(k);
    sched_enter(kt, k);
    ktick_interrupt(&kt->aTick[k->cpu.id], &k->cpu);
    sched_leave(kt, k);
}

void kthreads_ipi(struct kcore *k, uint32_t reason)
{
    (void)reason; /* SCHED_IPI_RESCHED: need_resched is already set; spurious ones too */
    struct kthreads *kt = kt_of(k);
    sched_enter(kt, k);
    sched_leave(kt, k); /* re-arms this CPU's timer for its (changed) runqueue */
}

void kthreads_wake(struct kcore *k, uint32_t index)
{
    struct kthreads *kt = kt_of(k);
    struct kthread *t = &kt->aTask[index];
    sched_enter(kt, k);
    if (!t->finished && t->st.state == SCHED_TASK_BLOCKED) {
        if (t->spec->period_ns)
            t->abs_deadline = t->release + t->spec->deadline_ns;
        wake_locked(kt, k, t);
    }
    sched_leave(kt, k);
}

/* ----------------------------------------------------- the idle loop */

static bool all_done(const struct kthreads *kt) { return kt->nFinished == kt->nTask; }

void kthreads_cpu_loop(struct kcore *k)
{
    struct kthreads *kt = kt_of(k);
    struct hal_cpu *c = &k->cpu;
    sched_enter(kt, k);
    k->sched_on = true;
    ktick_start(&kt->aTick[c->id], &kt->s, c);
    if (c->id == 0) { /* release the tasks: now, periodic ones at their offset */
        kt->t0 = hal_now(c);
        for (size_t i = 0; i < kt->nTask; i++) {
            struct kthread *t = &kt->aTask[i];
            t->release = kt->t0 + t->spec->offset_ns;
            kc_post_wake(k, (orr_time_t)(t->spec->period_ns ? t->release : kt->t0) * ORR_NS,
                         t->index);
        }
    }
    sched_leave(kt, k);
    hal_irq_restore(c, true);
    while (!all_done(kt)) {
        if (sched_need_resched(&kt->s.rq[c->id])) {
            hal_irq_disable(c);
            resched(kt, k, NULL, SWITCH);
            hal_irq_restore(c, true);
        } else {
            hal_idle(c);
        }
    }
}

/* ---------------------------------------------------------- setting up */

static const char *stat_name(char *buf, size_t n, const struct kthread *t, const char *stat)
{
    snprintf(buf, n, "task.%s.%s", t->name, stat);
    return buf;
}

static int add_threads(struct kcore *k0, struct kthreads *kt, struct orr_diag *d)
{
    struct orr_component *c = k0->c;
    int rc = 0;
    for (size_t i = 0; i < kt->spec.nTask; i++)
        kt->nTask += kt->spec.aTask[i].count;
    if (!(kt->aTask = calloc(kt->nTask ? kt->nTask : 1, sizeof *kt->aTask)))
        return ORR_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < kt->spec.nTask; i++) {
        const struct rtapp_task *sp = &kt->spec.aTask[i];
        for (uint32_t j = 0; j < sp->count; j++, n++) {
            struct kthread *t = &kt->aTask[n];
            char buf[200];
            t->kt = kt;
            t->spec = sp;
            t->index = (uint32_t)n;
            t->frame = kthread_frames_base(&k0->kp, k0->k->plat.ncpu, kt->nTask) +
                       (hal_paddr_t)n * KTHREAD_FRAME;
            snprintf(buf, sizeof buf, sp->count > 1 ? "%s.%u" : "%s", sp->name, j);
            if (!(t->name = strdup(buf)) || !fiber_init(&t->fib, thread_main, t, KTHREAD_STACK))
                return ORR_ENOMEM;
            sched_task_from_rtapp(&t->st, sp, n, kt->ncpu);
            if (*sp->group && !(t->st.group = sched_groups_find(&kt->groups, sp->group))) {
                if (j == 0)
                    orr_diag_error(d, &sp->group_mark, sp->keypath,
                                   "no group '%s' in kernel.groups", sp->group);
                rc = ORR_ESCHEMA;
                continue;
            }
            /* no HAL call inside (the fibers do not run yet) */
            int r = sched_task_add(&kt->s, &k0->cpu, &t->st);
            if (r) {
                sched_task_add_error(sp, t->name, r, d);
                rc = ORR_ESCHEMA;
            }
            t->lat = orr_histogram_new(c, stat_name(buf, sizeof buf, t, "wakeup_latency"), "ps");
            t->v_cpu = orr_value_new(c, stat_name(buf, sizeof buf, t, "cpu_time"), "ps");
            t->v_share = orr_value_new(c, stat_name(buf, sizeof buf, t, "share"), "ratio");
            t->v_switches = orr_value_new(c, stat_name(buf, sizeof buf, t, "switches"), "");
            t->v_migrations = orr_value_new(c, stat_name(buf, sizeof buf, t, "migrations"), "");
            t->jobs = orr_counter_new(c, stat_name(buf, sizeof buf, t, "jobs"), "job");
            t->misses = orr_counter_new(c, stat_name(buf, sizeof buf, t, "deadline_misses"), "job");
        }
    }
    return rc;
}

int kthreads_create(struct kcore *k0, unsigned ncpu, struct orr_diag *d)
{
    struct orr_component *c = k0->c;
    struct kthreads *kt = calloc(1, sizeof *kt);
    if (!kt)
        return ORR_ENOMEM;
    k0->k->kt = kt; /* freed with the shared state, however far this gets */
    kt->ncpu = ncpu;
    const struct orr_params *sp = orr_param_group(&k0->kp, "sched");
    struct sched_config cfg;
    /* the machine checked these keys with the same paths */
    int rc = sched_config_from_params(&cfg, sp, "kernel.sched", d);
    if (rc)
        return rc;
    kt->check_every = orr_param_u64(sp, "check_every");
    rc = rtapp_parse(orr_param_map(&k0->kp, "tasks"), "kernel.tasks", ncpu, &kt->spec, d);
    if (rc)
        return rc;
    kt->aRq = calloc(ncpu, sizeof *kt->aRq);
    kt->aTick = calloc(ncpu, sizeof *kt->aTick);
    kt->aPending = calloc(kt->spec.nEvent + 1, sizeof *kt->aPending);
    kt->aWaiters = calloc(kt->spec.nEvent + 1, sizeof *kt->aWaiters);
    if (!kt->aRq || !kt->aTick || !kt->aPending || !kt->aWaiters)
        return ORR_ENOMEM;
    if (sched_init(&kt->s, &cfg, kt->aRq, ncpu)) {
        orr_diag_error(d, &c->mark, c->keypath, "the scheduler refused this configuration");
        return ORR_ESCHEMA;
    }
    if (sched_groups_make(&kt->groups, &kt->s, orr_param_map(&k0->kp, "groups"), "kernel.groups",
                          d))
        return ORR_ESCHEMA;
    /* the last line of kernel memory: selftests and sync_bench use the rest */
    kt->lock = orr_param_u64(&k0->kp, "memory") - 64;
    kt->checks = orr_counter_new(c, "sched.checks", "");
    kt->lock_wait = orr_counter_new(c, "sched.lock_wait", "ps");
    kt->entries_c = orr_counter_new(c, "sched.entries", "");
    return add_threads(k0, kt, d);
}

void kthreads_finish(struct kcore *k0)
{
    struct kthreads *kt = k0->k->kt;
    orr_time_t now = orr_now(k0->c->sim);
    for (size_t i = 0; i < kt->nTask; i++) {
        struct kthread *t = &kt->aTask[i];
        orr_time_t cpu = t->cpu_time;
        if (t->on_cpu && t->on && t->on->running == t && t->on->sh.local > t->since)
            cpu += t->on->sh.local - t->since;
        t->v_cpu->v = (double)cpu;
        t->v_share->v = now ? (double)cpu / (double)now : 0.0;
        t->v_switches->v = (double)t->st.stats.nr_switches;
        t->v_migrations->v = (double)t->st.stats.nr_migrations;
    }
}

void kthreads_free(struct kthreads *kt)
{
    if (!kt)
        return;
    for (size_t i = 0; kt->aTask && i < kt->nTask; i++) {
        free(kt->aTask[i].name);
        fiber_free(&kt->aTask[i].fib);
    }
    free(kt->aTask);
    sched_groups_free(&kt->groups);
    for (size_t e = 0; kt->aWaiters && e <= kt->spec.nEvent; e++)
        free(kt->aWaiters[e].a);
    free(kt->aWaiters);
    free(kt->aPending);
    free(kt->aTick);
    free(kt->aRq);
    rtapp_free(&kt->spec);
    free(kt);
}
