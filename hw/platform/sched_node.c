/* sched_node: a machine of N synthetic cores running the reference kernel's
 * scheduler (kernel/sched) on rt-app-style tasks (workloads/gen/rtapp.c).
 *
 * The kernel decides who runs where and when; this model supplies what the
 * CPUs do: a running task makes progress through its program (run phases
 * take simulated time, sleeps and waits block, periodic jobs are released
 * by timers), and every kernel entry's annotated cost (scheduler work, the
 * context switch itself) stalls the CPU for cycles / frequency.
 *
 * A task's program advances only while it runs: a woken task has no work
 * pending, so its first (zero-length) stint steps the program on its own
 * CPU, where a sleep or wait blocks it properly.
 *
 * Per CPU, the running task's current stint of work started at run_start
 * and ends at run_start + remaining; a RUN_END event (tagged with the CPU's
 * generation, so a preempted stint's event is ignored) advances the task's
 * program. Preemption accounts the work done so far and keeps the rest.
 *
 * Metrics per task instance (name.k): cpu_time, share (of the run),
 * wakeup_latency histogram (wake-up to first instruction after the switch),
 * jobs and deadline_misses (periodic tasks: a job that completes after its
 * absolute deadline), switches, migrations; per node: kernel invariant
 * checks done. A broken scheduler invariant fails the run with a message
 * naming it. The checks walk every task, so they run after every kernel
 * entry by default and can be sampled (check_every) on big machines.
 *
 * Machine (sched_machine.h): an optional `topology:` (sockets, cores, SMT,
 * LLC clusters, NUMA nodes and distances) becomes the kernel's domain
 * hierarchy; optional `cpu_types:` give CPUs a capacity, a clock and power
 * figures. A CPU of capacity c executes `run` phases at c/1024 speed (a
 * task's remaining work is kept in ns of a 1024 CPU), `run_cycles` at its
 * type's clock; kernel costs use the node's frequency. With cpu_types each
 * CPU reports energy (busy time x busy_mw + idle time x idle_mw), and the
 * node the total. Generators (`hackbench:`, `schbench:`, schedgen.h) add
 * rt-app tasks; schbench's workers report wake-up and request latency
 * histograms. Without topology and cpu_types the machine is flat, as
 * before. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/platform.h"
#include "hw/sched_machine.h"
#include "kernel/ktest.h"
#include "kernel/ktick.h"
#include "kernel/sched.h"
#include "orrery/checkpoint.h"
#include "orrery/sim.h"
#include "workloads/rtapp.h"
#include "workloads/schedgen.h"
#include "orrery/error.h"

enum { TAG_RUN_END = 1, TAG_WAKE = 2 };

static const struct orr_param node_params[] = {
    {"cpus", ORR_P_UINT, "1", ORR_PF_POSITIVE, "synthetic cores", NULL, 1, SCHED_MAX_CPUS},
    {"frequency", ORR_P_FREQ, "2GHz", ORR_PF_POSITIVE, "core clock (converts cycles)"},
    {"", ORR_P_INCLUDE, .group = sched_config_params}, /* tick, slice, ... */
    {"ipi_latency", ORR_P_TIME, "1us", ORR_PF_POSITIVE, "inter-processor interrupt delivery"},
    {"groups", ORR_P_SEQ, "[]", 0, "CPU bandwidth groups: {name, quota, period} (fair tasks)"},
    {"topology", ORR_P_MAP, "{}", 0,
     "sockets, cores_per_socket, threads_per_core, clusters_per_socket, numa_nodes, distances "
     "(docs/sched.md); absent: flat"},
    {"cpu_types", ORR_P_SEQ, "[]", 0,
     "heterogeneous CPUs: {name, count, capacity, frequency, busy_mw, idle_mw} in CPU order"},
    {"hackbench", ORR_P_MAP, "{}", 0, "hackbench-shaped tasks: {groups, fds, loops, message_cost}"},
    {"schbench", ORR_P_MAP, "{}", 0,
     "schbench-shaped tasks: {message_threads, workers_per_message, requests, run, sleep}"},
    {"tasks", ORR_P_SEQ, "[]", 0, "rt-app-style tasks (keys: docs/scenarios.md, sched_node)"},
    {"selftest", ORR_P_LIST, "", 0,
     "selftest suites CPU 0 runs before the tasks start (kstring, sched; hal needs CPUs that "
     "wait for time and interrupts: a `kernel:` section's); a failure fails the run"},
    {NULL},
};

static const struct orr_port_doc node_ports[] = {{NULL}};


static const struct platform_tracepoint node_tps[] = {
    {SCHED_TP_SWITCH, "sched_switch"},
    {SCHED_TP_WAKEUP, "sched_wakeup"},
};

struct node;

struct task {
    struct sched_task st; /* first: the kernel's curr pointer is the task */
    const struct rtapp_task *spec;
    char *name;
    uint32_t index;
    /* program state */
    size_t phase;
    uint64_t loops_done;
    hal_ns_t remaining;    /* work left in the current run, ns */
    bool finished;
    hal_ns_t release, abs_deadline; /* periodic: current job */
    bool woken;            /* woken, not yet running: latency pending */
    bool schbench_worker;  /* reports to the schbench histograms */
    orr_time_t woken_at;
    orr_time_t cpu_time;
    /* stats */
    struct orr_histogram *lat;
    struct orr_counter *jobs, *misses;
    struct orr_value *v_cpu, *v_share, *v_switches, *v_migrations;
};

struct cpu {
    struct node *node;
    unsigned id;
    struct ktick tick;
    struct task *running; /* whose work is in progress (NULL: idle) */
    orr_time_t run_start; /* current stint began (after stalls) */
    uint64_t gen;
    unsigned capacity;    /* 1..1024: run phases progress capacity/1024 per ns */
    struct orr_clock clock; /* run_cycles */
    const struct sched_cpu_type *type; /* NULL without cpu_types */
    struct orr_value *v_energy;
};

/* Tasks blocked on one event, in the order they blocked. */
struct waiters {
    uint32_t *a;
    size_t n, cap;
};

struct node {
    struct orr_component *comp;
    struct platform plat;
    struct sched s;
    struct sched_rq *aRq;
    struct cpu *aCpu;
    unsigned ncpu;
    struct rtapp_set spec;
    struct task *aTask;
    size_t nTask, nFinished;
    struct sched_groups groups;      /* CPU bandwidth groups */
    uint32_t *aPending;              /* per event: wakes with no waiter yet */
    struct waiters *aWaiters;        /* per event: tasks blocked waiting on it */
    uint64_t check_every, entries;
    struct orr_counter *checks;
    struct orr_value *v_idle;
    struct orr_diag *d;              /* create/start only */
    struct sched_machine machine;
    struct sched_topology *topo;     /* NULL: flat */
    struct schedgen_pool names;      /* generated task names */
    struct orr_histogram *sb_wake, *sb_req; /* schbench workers */
    struct orr_value *v_energy;
    const struct orr_params *params; /* create and start only */
    int selftest_failures;
};

static struct cpu *cpu_of(struct hal_cpu *c) { return hal_kernel_data(c); }

/* ------------------------------------------------------------ kernel glue */

static void check(struct node *n, struct hal_cpu *c)
{
    if (!n->check_every || ++n->entries % n->check_every)
        return;
    n->checks->v++;
    int code = sched_check(&n->s);
    if (code)
        hal_panic(c, sched_check_name(code));
}

static void settle(struct node *n, unsigned cpu);

/* Upcalls (interrupts off, on CPU c). */
static void up_timer(struct hal_cpu *c) { ktick_interrupt(&cpu_of(c)->tick, c); }
static void up_ipi(struct hal_cpu *c, uint32_t reason) { (void)c, (void)reason; }

/* ---------------------------------------------------------------- running */

static orr_time_t now_ps(struct node *n) { return orr_now(n->comp->sim); }

/* Account the running task's progress up to now and stop its stint. */
static void stop_stint(struct cpu *cp)
{
    struct task *t = cp->running;
    orr_time_t now = orr_now(cp->node->comp->sim);
    if (!t)
        return;
    if (now > cp->run_start) {
        /* work done, in ns of a 1024 CPU (exact division when 1024) */
        hal_ns_t done = (now - cp->run_start) * cp->capacity / SCHED_CAPACITY_SCALE / ORR_NS;
        t->cpu_time += now - cp->run_start;
        t->remaining = done >= t->remaining ? 0 : t->remaining - done;
    }
    cp->running = NULL;
    cp->gen++;
}

/* Start (or restart) the running task's stint after `stall` of kernel work. */
static void start_stint(struct cpu *cp, struct task *t, orr_time_t stall)
{
    struct node *n = cp->node;
    cp->running = t;
    cp->run_start = now_ps(n) + stall;
    cp->gen++;
    if (t->woken) {
        t->woken = false;
        orr_histogram_add(t->lat, cp->run_start - t->woken_at);
        if (t->schbench_worker && t->phase == 1) /* woken by its request (not the start) */
            orr_histogram_add(n->sb_wake, cp->run_start - t->woken_at);
    }
    /* ceil(remaining * 1024 / capacity) ns of wall time */
    orr_time_t wall = (t->remaining * ORR_NS * SCHED_CAPACITY_SCALE + cp->capacity - 1) / cp->capacity;
    orr_timer(n->comp, stall + wall, TAG_RUN_END, cp->id, cp->gen);
}

static void do_schedule(struct hal_cpu *c, void *arg)
{
    struct node *n = arg;
    if (sched_need_resched(&n->s.rq[hal_cpu_id(c)]))
        sched_schedule(&n->s, c);
    ktick_rearm(&cpu_of(c)->tick, c);
    check(n, c);
}

/* After a kernel entry on cpu: let the scheduler switch if it wants to, and
 * make the CPU do what the kernel decided, paying the annotated cost. */
static void settle(struct node *n, unsigned cpu)
{
    struct cpu *cp = &n->aCpu[cpu];
    if (!platform_call(&n->plat, cpu, do_schedule, n)) {
        orr_sim_fail(n->comp, "%s", n->plat.panic_msg);
        return;
    }
    struct task *next = (struct task *)sched_curr(&n->s, cpu); /* st is first */
    orr_time_t stall = platform_take_cost(&n->plat, cpu);
    if (next == cp->running && stall == 0)
        return;
    stop_stint(cp);
    if (next)
        start_stint(cp, next, stall);
}

/* Settle every CPU where something may have changed: a reschedule is
 * pending, kernel work is waiting to be charged, what runs differs from
 * what the kernel says, or the scheduler's next timer is not the one armed.
 * The test is cheap; a kernel call per CPU per event would make big
 * machines quadratic. */
static void settle_all(struct node *n)
{
    for (unsigned i = 0; i < n->ncpu; i++) {
        const struct ktick *k = &n->aCpu[i].tick;
        hal_ns_t t = sched_next_timer(&n->s, i);
        if (sched_need_resched(&n->s.rq[i]) || n->plat.aCpu[i].cost_cycles ||
            (struct task *)sched_curr(&n->s, i) != n->aCpu[i].running ||
            (t && t < k->next_tick && t != k->armed_for))
            settle(n, i);
    }
}

/* ---------------------------------------------------------------- programs */

struct wake_arg {
    struct node *n;
    struct task *t;
};

static void do_wake(struct hal_cpu *c, void *arg)
{
    struct wake_arg *w = arg;
    sched_wakeup(&w->n->s, c, &w->t->st);
    check(w->n, c);
}

/* Wake t from CPU `from` (the waker's CPU, or the task's own for timers). */
static void wake(struct node *n, struct task *t, unsigned from)
{
    struct wake_arg w = {n, t};
    t->woken = true;
    t->woken_at = now_ps(n);
    t->remaining = 0;
    platform_call(&n->plat, from < n->ncpu ? from : 0, do_wake, &w);
}

static void do_block(struct hal_cpu *c, void *arg)
{
    struct node *n = arg;
    sched_block(&n->s, c);
}

static void do_exit(struct hal_cpu *c, void *arg)
{
    struct wake_arg *w = arg;
    sched_exit(&w->n->s, c, &w->t->st);
}

static void finish_task(struct node *n, struct cpu *cp, struct task *t)
{
    struct wake_arg w = {n, t};
    t->finished = true;
    n->nFinished++;
    platform_call(&n->plat, cp->id, do_exit, &w);
    if (n->nFinished == n->nTask) /* only finite tasks finish */
        orr_workload_done(n->comp);
}

/* The running task on cp finished its current work: step its program
 * until it runs again, blocks or ends. */
static void advance(struct node *n, struct cpu *cp, struct task *t)
{
    const struct rtapp_task *sp = t->spec;
    hal_ns_t now = now_ps(n) / ORR_NS;
    if (sp->period_ns) { /* periodic job done */
        t->jobs->v++;
        if (now > t->abs_deadline)
            t->misses->v++;
        t->release += sp->period_ns;
        platform_call(&n->plat, cp->id, do_block, n);
        hal_ns_t at = t->release > now ? t->release : now;
        orr_timer(n->comp, (at - now) * ORR_NS, TAG_WAKE, t->index, 0);
        return;
    }
    for (unsigned guard = 0; guard < 2 * sp->nPhase + 2; guard++) {
        if (t->phase == sp->nPhase) {
            t->phase = 0;
            if (sp->loops && ++t->loops_done == sp->loops) {
                finish_task(n, cp, t);
                return;
            }
        }
        if (t->schbench_worker && t->phase == 2) /* its request's run is done */
            orr_histogram_add(n->sb_req, now_ps(n) - t->woken_at);
        const struct rtapp_phase *ph = &sp->aPhase[t->phase++];
        switch (ph->op) {
        case RTAPP_RUN:
            t->remaining = ph->amount;
            return;
        case RTAPP_RUN_CYCLES: /* at this CPU's clock, as work of a 1024 CPU */
            t->remaining = orr_clock_cycles_to_ps(&cp->clock, ph->amount) * cp->capacity /
                           SCHED_CAPACITY_SCALE / ORR_NS;
            if (t->remaining == 0)
                t->remaining = 1;
            return;
        case RTAPP_SLEEP:
            platform_call(&n->plat, cp->id, do_block, n);
            orr_timer(n->comp, ph->amount * ORR_NS, TAG_WAKE, t->index, 0);
            return;
        case RTAPP_WAIT: {
            if (n->aPending[ph->event]) {
                n->aPending[ph->event]--;
                break;
            }
            struct waiters *w = &n->aWaiters[ph->event];
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 8;
                w->a = realloc(w->a, w->cap * sizeof *w->a);
                if (!w->a)
                    orr_oom();
            }
            w->a[w->n++] = t->index;
            platform_call(&n->plat, cp->id, do_block, n);
            return;
        }
        case RTAPP_WAKE: {
            /* wake every waiter in the order they blocked; with none, the
             * wake is kept for the next wait */
            struct waiters *w = &n->aWaiters[ph->event];
            size_t nw = w->n;
            w->n = 0;
            for (size_t i = 0; i < nw; i++)
                wake(n, &n->aTask[w->a[i]], cp->id);
            if (nw == 0)
                n->aPending[ph->event]++;
            break;
        }
        }
    }
    /* a program of only wait/wake phases that never blocks: yield a tick */
    t->remaining = n->s.cfg.tick_ns;
}

/* ------------------------------------------------------------- component */

struct add_arg {
    struct node *n;
    struct task *t;
    int rc;
};

static void do_add(struct hal_cpu *c, void *arg)
{
    struct add_arg *a = arg;
    a->rc = sched_task_add(&a->n->s, c, &a->t->st);
}

/* "NAME.stat" into buf (160 bytes), for a task instance's metrics. */
static const char *stat_name(char *buf, const struct task *t, const char *stat)
{
    snprintf(buf, 160, "%s.%s", t->name, stat);
    return buf;
}

static int add_tasks(struct orr_component *c, struct node *n, struct orr_diag *d)
{
    int rc = 0;
    for (size_t i = 0; i < n->spec.nTask; i++)
        n->nTask += n->spec.aTask[i].count;
    n->aTask = calloc(n->nTask ? n->nTask : 1, sizeof *n->aTask);
    if (!n->aTask)
        orr_oom();
    size_t k = 0;
    for (size_t i = 0; i < n->spec.nTask; i++) {
        const struct rtapp_task *sp = &n->spec.aTask[i];
        for (uint32_t j = 0; j < sp->count; j++, k++) {
            struct task *t = &n->aTask[k];
            char buf[160];
            t->spec = sp;
            t->index = (uint32_t)k;
            snprintf(buf, sizeof buf, sp->count > 1 ? "%s.%u" : "%s", sp->name, j);
            t->name = strdup(buf);
            if (!t->name)
                orr_oom();
            sched_task_from_rtapp(&t->st, sp, k, n->ncpu);
            if (*sp->group && !(t->st.group = sched_groups_find(&n->groups, sp->group))) {
                if (j == 0)
                    orr_diag_error(d, &sp->group_mark, sp->keypath,
                                   "no group '%s' in this node's groups", sp->group);
                rc = ORR_ESCHEMA;
                continue;
            }
            struct add_arg a = {n, t, 0};
            platform_call(&n->plat, 0, do_add, &a);
            if (a.rc) {
                sched_task_add_error(sp, t->name, a.rc, d);
                rc = ORR_ESCHEMA;
            }
            t->lat = orr_histogram_new(c, stat_name(buf, t, "wakeup_latency"), "ps");
            t->v_cpu = orr_value_new(c, stat_name(buf, t, "cpu_time"), "ps");
            t->v_share = orr_value_new(c, stat_name(buf, t, "share"), "ratio");
            t->v_switches = orr_value_new(c, stat_name(buf, t, "switches"), "");
            t->v_migrations = orr_value_new(c, stat_name(buf, t, "migrations"), "");
            t->jobs = orr_counter_new(c, stat_name(buf, t, "jobs"), "job");
            t->misses = orr_counter_new(c, stat_name(buf, t, "deadline_misses"), "job");
        }
    }
    return rc;
}

/* The selftest suites exist (kernel_check_selftests) and run here: the
 * `hal` suite waits for timers, IPIs and idle, which a sched_node's CPUs,
 * driven by the node's own events, cannot do inside a kernel call. */
static int check_suites(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    char *kp = orr_keypath_join(c->keypath, "selftest");
    int rc = 0;
    size_t n = 0;
    const char *const *names = orr_param_list(p, "selftest", &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct ktest_suite *s = ktest_suites;
        while (s->name && strcmp(s->name, names[i]) != 0)
            s++;
        if (!s->name) {
            orr_diag_error(d, orr_param_mark(p, "selftest"), kp,
                           "no selftest suite '%s' (suites: kstring, sched)", names[i]);
            rc = ORR_ESCHEMA;
        } else if (strcmp(names[i], "hal") == 0) {
            orr_diag_error(d, orr_param_mark(p, "selftest"), kp,
                           "the hal suite needs CPUs that wait for time and interrupts: run it "
                           "on kernel CPUs (a `kernel:` section, docs/kernel-platform.md)");
            rc = ORR_ESCHEMA;
        }
    }
    free(kp);
    return rc;
}

static void do_selftests(struct hal_cpu *c, void *arg)
{
    struct node *n = arg;
    size_t ns = 0;
    const char *const *names = orr_param_list(n->params, "selftest", &ns);
    unsigned run = 0;
    for (size_t i = 0; i < ns; i++)
        for (const struct ktest_suite *s = ktest_suites; s->name; s++)
            if (strcmp(s->name, names[i]) == 0) {
                n->selftest_failures += ktest_run(c, s->name, s->tests);
                run += ktest_count(s->tests);
            }
    ktest_puts(c, n->selftest_failures ? "KTEST FAIL " : "KTEST PASS ");
    ktest_put_u64(c, n->selftest_failures ? (uint64_t)n->selftest_failures : run);
    ktest_puts(c, "\n");
}

static int node_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct node *n = c->state;
    n->comp = c;
    n->params = p;
    n->ncpu = (unsigned)orr_param_u64(p, "cpus");
    n->check_every = orr_param_u64(p, "check_every");
    struct sched_config cfg;
    int rc = sched_config_from_params(&cfg, p, c->keypath, d);
    if (sched_machine_parse(orr_param_map(p, "topology"), orr_param_map(p, "cpu_types"), n->ncpu,
                            orr_param_given(p, "cpus"), orr_param_mark(p, "cpus"), c->keypath,
                            &n->machine, d))
        return ORR_ESCHEMA;
    n->ncpu = n->machine.ncpu;
    char *kp = orr_keypath_join(c->keypath, "tasks");
    int r = rtapp_parse(orr_param_map(p, "tasks"), kp, n->ncpu, &n->spec, d);
    free(kp);
    struct schbench_info sb;
    kp = orr_keypath_join(c->keypath, "hackbench");
    r = hackbench_expand(orr_param_map(p, "hackbench"), kp, &n->spec, &n->names, d) || r;
    free(kp);
    kp = orr_keypath_join(c->keypath, "schbench");
    r = schbench_expand(orr_param_map(p, "schbench"), kp, &n->spec, &n->names, &sb, d) || r;
    free(kp);
    r = check_suites(c, p, d) || r;
    if (rc || r)
        return ORR_ESCHEMA;
    static const struct platform_upcalls up = {up_timer, up_ipi};
    platform_init(&n->plat, c, n->ncpu, orr_param_u64(p, "frequency"),
                  orr_param_u64(p, "ipi_latency"), node_tps, 2, &up);
    n->aRq = calloc(n->ncpu, sizeof *n->aRq);
    n->aCpu = calloc(n->ncpu, sizeof *n->aCpu);
    n->aPending = calloc(n->spec.nEvent + 1, sizeof *n->aPending);
    n->aWaiters = calloc(n->spec.nEvent + 1, sizeof *n->aWaiters);
    if (!n->aRq || !n->aCpu || !n->aPending || !n->aWaiters)
        orr_oom();
    for (unsigned i = 0; i < n->ncpu; i++) {
        const struct sched_machine *m = &n->machine;
        const struct sched_cpu_type *ty = m->nType ? &m->aType[m->aCpuType[i]] : NULL;
        n->aCpu[i] = (struct cpu){.node = n, .id = i, .type = ty,
                                  .capacity = ty ? ty->capacity : SCHED_CAPACITY_SCALE,
                                  .clock = {ty && ty->hz ? ty->hz : n->plat.clock.hz}};
        hal_set_kernel_data(&n->plat.aCpu[i], &n->aCpu[i]);
    }
    if (sched_init(&n->s, &cfg, n->aRq, n->ncpu)) {
        orr_diag_error(d, &c->mark, c->keypath, "the scheduler refused this configuration");
        return ORR_ESCHEMA;
    }
    if (n->machine.described) {
        struct sched_topology_desc desc = sched_machine_desc(&n->machine);
        n->topo = malloc(sizeof *n->topo);
        if (!n->topo)
            orr_oom();
        if (sched_topology_build(n->topo, &desc, &cfg) || sched_set_topology(&n->s, n->topo)) {
            orr_diag_error(d, &c->mark, c->keypath,
                           "the scheduler refused this topology (more than %u domain levels?)",
                           SCHED_TOPO_MAX_LEVELS);
            return ORR_ESCHEMA;
        }
    }
    char gkp[256];
    snprintf(gkp, sizeof gkp, "%s.groups", c->keypath);
    if (sched_groups_make(&n->groups, &n->s, orr_param_map(p, "groups"), gkp, d))
        return ORR_ESCHEMA;
    char feats[512];
    sched_features_format(&cfg, feats, sizeof feats);
    orr_sim_knob(c, "sched.features", feats); /* recorded in the trace header */
    n->checks = orr_counter_new(c, "sched.checks", "");
    n->v_idle = orr_value_new(c, "idle", "ratio");
    if (n->machine.nType) {
        char buf[64];
        for (unsigned i = 0; i < n->ncpu; i++) {
            snprintf(buf, sizeof buf, "cpu%u.energy", i);
            n->aCpu[i].v_energy = orr_value_new(c, buf, "uJ");
        }
        n->v_energy = orr_value_new(c, "energy", "uJ");
    }
    if (sb.nWorker) {
        n->sb_wake = orr_histogram_new(c, "schbench.wakeup_latency", "ps");
        n->sb_req = orr_histogram_new(c, "schbench.request_latency", "ps");
    }
    rc = add_tasks(c, n, d);
    for (size_t k = 0; k < n->nTask; k++) { /* instances of the worker specs */
        size_t spec = (size_t)(n->aTask[k].spec - n->spec.aTask);
        n->aTask[k].schbench_worker = spec >= sb.first_worker && spec < sb.first_worker + sb.nWorker;
    }
    return rc;
}

static void do_tick_start(struct hal_cpu *c, void *arg)
{
    struct node *n = arg;
    ktick_start(&cpu_of(c)->tick, &n->s, c);
}

static int node_start(struct orr_component *c, struct orr_diag *d)
{
    struct node *n = c->state;
    (void)d;
    size_t nsuite = 0;
    orr_param_list(n->params, "selftest", &nsuite);
    if (nsuite) {
        if (!platform_call(&n->plat, 0, do_selftests, n))
            orr_sim_fail(c, "%s", n->plat.panic_msg);
        else if (n->selftest_failures)
            orr_sim_fail(c, "kernel selftests: %d failed on cpu 0 (the console shows which)",
                         n->selftest_failures);
        platform_take_cost(&n->plat, 0); /* the tasks start on a fresh machine */
    }
    for (unsigned i = 0; i < n->ncpu; i++)
        platform_call(&n->plat, i, do_tick_start, n);
    for (size_t i = 0; i < n->nTask; i++) {
        struct task *t = &n->aTask[i];
        const struct rtapp_task *sp = t->spec;
        t->release = sp->offset_ns;
        orr_timer(c, sp->period_ns ? sp->offset_ns * ORR_NS : 0, TAG_WAKE, t->index, 0);
    }
    if (n->nTask == 0)
        orr_workload_done(c);
    return 0;
}

/* A sleep ended or a periodic job is released. */
static void on_wake_timer(struct node *n, struct task *t)
{
    if (t->finished || t->st.state != SCHED_TASK_BLOCKED)
        return;
    const struct rtapp_task *sp = t->spec;
    wake(n, t, t->st.cpu);
    if (sp->period_ns) {
        t->abs_deadline = t->release + sp->deadline_ns;
        t->remaining = sp->job_ns;
    }
}

static void node_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct node *n = c->state;
    if (n->plat.panicked) {
        orr_sim_fail(c, "%s", n->plat.panic_msg);
        return;
    }
    if (platform_handle(&n->plat, ev)) {
        settle_all(n);
        return;
    }
    if (ev->kind != ORR_TK_TIMER)
        return;
    if (ev->port == TAG_RUN_END) {
        struct cpu *cp = &n->aCpu[ev->data[0]];
        if (ev->data[1] != cp->gen || !cp->running)
            return; /* a stint that was preempted */
        struct task *t = cp->running;
        stop_stint(cp);
        t->remaining = 0;
        advance(n, cp, t);
        if (t->st.state == SCHED_TASK_RUNNING && !t->finished)
            start_stint(cp, t, platform_take_cost(&n->plat, cp->id));
        settle_all(n);
    } else if (ev->port == TAG_WAKE) {
        on_wake_timer(n, &n->aTask[ev->data[0]]);
        settle_all(n);
    }
    if (n->plat.panicked) /* from any kernel call made for this event */
        orr_sim_fail(c, "%s", n->plat.panic_msg);
}

static void node_finish(struct orr_component *c)
{
    struct node *n = c->state;
    orr_time_t now = orr_now(c->sim);
    for (unsigned i = 0; i < n->ncpu; i++)
        stop_stint(&n->aCpu[i]);
    orr_time_t busy = 0;
    for (size_t i = 0; i < n->nTask; i++) {
        struct task *t = &n->aTask[i];
        busy += t->cpu_time;
        t->v_cpu->v = (double)t->cpu_time;
        t->v_share->v = now ? (double)t->cpu_time / (double)now : 0.0;
        t->v_switches->v = (double)t->st.stats.nr_switches;
        t->v_migrations->v = (double)t->st.stats.nr_migrations;
    }
    n->v_idle->v = now ? 1.0 - (double)busy / ((double)now * n->ncpu) : 0.0;
    double total = 0;
    for (unsigned i = 0; n->v_energy && i < n->ncpu; i++) {
        const struct sched_rq *rq = &n->s.rq[i];
        hal_ns_t idle = rq->idle_ns + (rq->curr ? 0 : now / ORR_NS - rq->idle_start);
        hal_ns_t all = now / ORR_NS, busy_ns = all > idle ? all - idle : 0;
        const struct sched_cpu_type *ty = n->aCpu[i].type;
        /* mW x ns = pJ; / 1e6 = uJ */
        double uj = ((double)busy_ns * ty->busy_mw + (double)(all - busy_ns) * ty->idle_mw) / 1e6;
        n->aCpu[i].v_energy->v = uj;
        total += uj;
    }
    if (n->v_energy)
        n->v_energy->v = total;

}

static void node_destroy(struct orr_component *c)
{
    struct node *n = c->state;
    for (size_t i = 0; i < n->nTask; i++)
        free(n->aTask[i].name);
    free(n->aTask);
    free(n->aRq);
    free(n->aCpu);
    sched_groups_free(&n->groups);
    free(n->aPending);
    for (size_t e = 0; n->aWaiters && e <= n->spec.nEvent; e++)
        free(n->aWaiters[e].a);
    free(n->aWaiters);
    rtapp_free(&n->spec);
    schedgen_pool_free(&n->names);
    sched_machine_free(&n->machine);
    free(n->topo);
    platform_free(&n->plat);
}

static const struct orr_metric_doc node_metrics[] = {
    PLATFORM_METRICS,
    {"sched.checks", "", ORR_METRIC_COUNTER, "scheduler invariant checks run (check_every)"},
    {"idle", "ratio", ORR_METRIC_VALUE, "share of all CPUs' time in which no task ran"},
    {"cpu<N>.energy", "uJ", ORR_METRIC_VALUE, "energy CPU N used (machines with cpu_types)"},
    {"energy", "uJ", ORR_METRIC_VALUE, "energy all CPUs used (machines with cpu_types)"},
    {"schbench.wakeup_latency", "ps", ORR_METRIC_HISTOGRAM, "schbench workers: wake-up to running"},
    {"schbench.request_latency", "ps", ORR_METRIC_HISTOGRAM,
     "schbench requests: wake-up to the end of the request's work"},
    {"<TASK...>.wakeup_latency", "ps", ORR_METRIC_HISTOGRAM,
     "task instance TASK (its name, or name.K with count > 1): wake-up to its first instruction"},
    {"<TASK...>.cpu_time", "ps", ORR_METRIC_VALUE, "CPU time task instance TASK ran"},
    {"<TASK...>.share", "ratio", ORR_METRIC_VALUE, "TASK's CPU time over the run's length"},
    {"<TASK...>.switches", "", ORR_METRIC_VALUE, "context switches of TASK"},
    {"<TASK...>.migrations", "", ORR_METRIC_VALUE, "times TASK moved to another CPU"},
    {"<TASK...>.jobs", "job", ORR_METRIC_COUNTER, "periodic jobs TASK completed"},
    {"<TASK...>.deadline_misses", "job", ORR_METRIC_COUNTER,
     "periodic jobs of TASK completed after their absolute deadline"},
    {NULL},
};

/* What the kernel printed (the selftests' lines), shown after the run. */
static const char *node_output(const struct orr_component *c, size_t *len)
{
    const struct node *n = c->state;
    if (!n->plat.nConsole)
        return NULL;
    *len = n->plat.nConsole;
    return n->plat.aConsole;
}

/* ------------------------------------------------------------ checkpoints
 *
 * The kernel's scheduler goes through sched_snapshot (tasks and groups by
 * index); around it, the platform's CPUs and ticks, what each CPU is
 * running and since when, each task's program position, and the event
 * bookkeeping of wait/wake phases. Pending RUN_END and WAKE timers are the
 * engine's. What create built from the parameters (specs, names, stats,
 * the topology) stays. */

static struct sched_task *snap_task_at(void *ctx, uint32_t i)
{
    struct node *n = ((struct platform_snap *)ctx)->owner;
    return i < n->nTask ? &n->aTask[i].st : NULL;
}

static uint32_t snap_task_index(void *ctx, const struct sched_task *t)
{
    const struct node *n = ((struct platform_snap *)ctx)->owner;
    uintptr_t a = (uintptr_t)t, base = (uintptr_t)n->aTask;
    if (a < base || (a - base) % sizeof *n->aTask || (a - base) / sizeof *n->aTask >= n->nTask)
        return SCHED_SNAP_NONE;
    return (uint32_t)((a - base) / sizeof *n->aTask);
}

static struct sched_group *snap_group_at(void *ctx, uint32_t i)
{
    struct node *n = ((struct platform_snap *)ctx)->owner;
    return i < n->groups.n ? &n->groups.a[i] : NULL;
}

static uint32_t snap_group_index(void *ctx, const struct sched_group *g)
{
    const struct node *n = ((struct platform_snap *)ctx)->owner;
    for (size_t i = 0; i < n->groups.n; i++)
        if (&n->groups.a[i] == g)
            return (uint32_t)i;
    return SCHED_SNAP_NONE;
}

static struct sched_snap_io snap_io(struct platform_snap *x)
{
    return (struct sched_snap_io){x, platform_snap_put, platform_snap_get, snap_task_at,
                                  snap_task_index, snap_group_at, snap_group_index};
}

static void node_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    struct node *n = c->state;
    platform_save(&n->plat, w);
    struct platform_snap x = {n, w, NULL};
    struct sched_snap_io io = snap_io(&x);
    sched_snapshot_save(&n->s, &io);
    for (unsigned i = 0; i < n->ncpu; i++) {
        const struct cpu *cp = &n->aCpu[i];
        orr_ckpt_put_u64(w, cp->tick.next_tick);
        orr_ckpt_put_u64(w, cp->tick.armed_for);
        orr_ckpt_put_u64(w, cp->tick.ticks);
        orr_ckpt_put_u32(w, cp->running ? cp->running->index : UINT32_MAX);
        orr_ckpt_put_u64(w, cp->run_start);
        orr_ckpt_put_u64(w, cp->gen);
    }
    for (size_t i = 0; i < n->nTask; i++) {
        const struct task *t = &n->aTask[i];
        orr_ckpt_put_u64(w, t->phase);
        orr_ckpt_put_u64(w, t->loops_done);
        orr_ckpt_put_u64(w, t->remaining);
        orr_ckpt_put_u8(w, t->finished);
        orr_ckpt_put_u64(w, t->release);
        orr_ckpt_put_u64(w, t->abs_deadline);
        orr_ckpt_put_u8(w, t->woken);
        orr_ckpt_put_u64(w, t->woken_at);
        orr_ckpt_put_u64(w, t->cpu_time);
    }
    orr_ckpt_put_u64(w, n->nFinished);
    orr_ckpt_put_u64(w, n->entries);
    orr_ckpt_put_u64(w, (uint64_t)n->selftest_failures);
    orr_ckpt_put_array(w, n->aPending, n->spec.nEvent + 1, sizeof *n->aPending);
    for (size_t e = 0; e <= n->spec.nEvent; e++)
        orr_ckpt_put_array(w, n->aWaiters[e].a, n->aWaiters[e].n, sizeof *n->aWaiters[e].a);
}

static void node_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct node *n = c->state;
    platform_restore(&n->plat, r);
    struct platform_snap x = {n, NULL, r};
    struct sched_snap_io io = snap_io(&x);
    if (sched_snapshot_restore(&n->s, &io) != SCHED_OK) {
        orr_ckpt_fail(r, "sched_node: the scheduler's state does not fit this node");
        return;
    }
    for (unsigned i = 0; i < n->ncpu; i++) {
        struct cpu *cp = &n->aCpu[i];
        cp->tick.next_tick = orr_ckpt_get_u64(r);
        cp->tick.armed_for = orr_ckpt_get_u64(r);
        cp->tick.ticks = orr_ckpt_get_u64(r);
        uint32_t run = orr_ckpt_get_u32(r);
        if (run != UINT32_MAX && run >= n->nTask) {
            orr_ckpt_fail(r, "sched_node: a CPU runs a task that does not exist");
            return;
        }
        cp->running = run == UINT32_MAX ? NULL : &n->aTask[run];
        cp->run_start = orr_ckpt_get_u64(r);
        cp->gen = orr_ckpt_get_u64(r);
    }
    for (size_t i = 0; i < n->nTask; i++) {
        struct task *t = &n->aTask[i];
        t->phase = (size_t)orr_ckpt_get_u64(r);
        if (t->phase > t->spec->nPhase)
            orr_ckpt_fail(r, "sched_node: a task past the end of its program");
        t->loops_done = orr_ckpt_get_u64(r);
        t->remaining = orr_ckpt_get_u64(r);
        t->finished = orr_ckpt_get_u8(r) != 0;
        t->release = orr_ckpt_get_u64(r);
        t->abs_deadline = orr_ckpt_get_u64(r);
        t->woken = orr_ckpt_get_u8(r) != 0;
        t->woken_at = orr_ckpt_get_u64(r);
        t->cpu_time = orr_ckpt_get_u64(r);
    }
    n->nFinished = (size_t)orr_ckpt_get_u64(r);
    n->entries = orr_ckpt_get_u64(r);
    n->selftest_failures = (int)orr_ckpt_get_u64(r);
    size_t k = 0;
    uint32_t *pend = orr_ckpt_get_array(r, sizeof *n->aPending, &k);
    if (pend && k == n->spec.nEvent + 1) {
        free(n->aPending);
        n->aPending = pend;
    } else {
        free(pend);
        orr_ckpt_fail(r, "sched_node: another number of events");
        return;
    }
    for (size_t e = 0; e <= n->spec.nEvent; e++) {
        size_t nw = 0;
        uint32_t *a = orr_ckpt_get_array(r, sizeof *n->aWaiters[e].a, &nw);
        if (!a)
            return;
        for (size_t j = 0; j < nw; j++)
            if (a[j] >= n->nTask) {
                free(a);
                orr_ckpt_fail(r, "sched_node: a waiter that is no task");
                return;
            }
        free(n->aWaiters[e].a);
        n->aWaiters[e] = (struct waiters){a, nw, nw ? nw : 1};
    }
    if (orr_ckpt_ok(r) && sched_check(&n->s))
        orr_ckpt_fail(r, "sched_node: the restored scheduler breaks its invariants");
}

const struct orr_component_type orr_sched_node_type = {
    .name = "sched_node",
    .summary = "synthetic cores running the reference kernel's scheduler on rt-app tasks",
    .params = node_params,
    .ports = node_ports,
    .metrics = node_metrics,
    .state_size = sizeof(struct node),
    .workload = true,
    .create = node_create,
    .start = node_start,
    .handle = node_handle,
    .finish = node_finish,
    .destroy = node_destroy,
    .output = node_output,
    .save = node_save,
    .restore = node_restore,
};
