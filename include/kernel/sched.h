/* The reference kernel's CPU scheduler: per-CPU runqueues with four classes
 * in strict priority order DL > RT > FAIR > IDLE (docs/sched.md).
 *
 *   DL    EDF on absolute deadlines + constant bandwidth server (CBS),
 *         admission control, throttling and replenishment;   kernel/sched/deadline.c
 *   RT    SCHED_FIFO / SCHED_RR, priorities 1..99 (99 highest); rt.c
 *   FAIR  EEVDF: weights from nice, virtual runtime, lag, eligibility,
 *         virtual deadlines, placement of waking tasks;      fair.c
 *   IDLE  nothing to run: sched_schedule returns NULL;       idle.c
 *
 * All state lives in caller-allocated structs (struct sched, an array of
 * struct sched_rq, one struct sched_task per task); nothing allocates.
 *
 * Calling context (every entry point): the caller is the kernel running on
 * the CPU `c` passed in, with interrupts disabled. An entry point may touch
 * another CPU's runqueue (wake-up placement, load balancing): the caller
 * serialises scheduler calls (the simulated platform is single-threaded; an
 * SMP port wraps each entry in a scheduler lock). Times are ns from hal_now.
 *
 * Task states and transitions:
 *
 *   (caller fills the task) --sched_task_add--> BLOCKED
 *   BLOCKED  --sched_wakeup-->            QUEUED   (or stays off-queue if a
 *                                                   DL task is throttled)
 *   QUEUED   --sched_schedule picks it--> RUNNING  (rq->curr)
 *   RUNNING  --sched_schedule, preempted-> QUEUED
 *   RUNNING  --sched_block-->             BLOCKED  (then sched_schedule)
 *   RUNNING|QUEUED|BLOCKED --sched_exit-> EXITED   (then sched_schedule if it
 *                                                   was running)
 *
 * Error codes: 0 or a negative SCHED_E*. sched_check returns 0 or a positive
 * SCHED_CHECK_* naming the broken invariant. */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hal.h"

#define SCHED_MAX_CPUS 256u
#define SCHED_CPU_WORDS (SCHED_MAX_CPUS / 64u)
#define SCHED_RT_PRIOS 100u  /* index 0 unused; 1..99 valid, 99 highest */
#define SCHED_NICE_MIN (-20)
#define SCHED_NICE_MAX 19
#define SCHED_NICE_0_WEIGHT 1024u
#define SCHED_ID_IDLE UINT64_MAX  /* the "task id" of idle in tracepoints */
#define SCHED_IPI_RESCHED 1u      /* kern_ipi reason: call sched_schedule if
                                     sched_need_resched says so */

enum sched_err {
    SCHED_OK = 0,
    SCHED_EINVAL = -1, /* a parameter out of range (policy, nice, prio, DL
                          ordering, zero period, affinity) */
    SCHED_EADMIT = -2, /* DL admission control refused the bandwidth */
    SCHED_ESTATE = -3, /* the call does not fit the task's state */
};

enum sched_policy {
    SCHED_POLICY_NORMAL = 0,
    SCHED_POLICY_FIFO = 1,
    SCHED_POLICY_RR = 2,
    SCHED_POLICY_DEADLINE = 3,
};

enum sched_state {
    SCHED_TASK_NEW = 0,  /* not added yet */
    SCHED_TASK_BLOCKED,
    SCHED_TASK_QUEUED,   /* runnable, waiting (or throttled, DL) */
    SCHED_TASK_RUNNING,  /* rq->curr of its CPU */
    SCHED_TASK_EXITED,
};

/* Class index; lower runs first. */
enum sched_class_id {
    SCHED_CLASS_DL = 0,
    SCHED_CLASS_RT = 1,
    SCHED_CLASS_FAIR = 2,
    SCHED_CLASS_IDLE = 3,
    SCHED_NR_CLASSES = 4,
};

/* Tracepoints (hal_trace `point`). */
enum sched_tracepoint {
    SCHED_TP_SWITCH = 0x0100, /* a = prev id, b = next id (SCHED_ID_IDLE for idle) */
    SCHED_TP_WAKEUP = 0x0101, /* a = task id, b = target cpu */
};

/* Cost annotations, in CPU cycles, passed to hal_cost. Estimates of the
 * kernel work itself (a few hundred instructions each at ~1 IPC), and the
 * direct cost of a context switch ("a few µs", REFERENCES.md, Li et al.,
 * ExpCS'07): 2000 cycles = 2 µs at 1 GHz. */
enum sched_cost {
    SCHED_COST_ENQUEUE = 150,  /* one class enqueue (tree insert / list add) */
    SCHED_COST_DEQUEUE = 150,  /* one class dequeue */
    SCHED_COST_PICK = 200,     /* pick_next across the classes */
    SCHED_COST_TICK = 100,     /* accounting at a tick or scheduler timer */
    SCHED_COST_SWITCH = 2000,  /* register/stack switch when prev != next */
};

/* Feature switches: ONE list. X(name, default, rationale). Recorded in the
 * trace header as "name=value" (sched_feature_name / sched_features_format). */
#define SCHED_FEATURES(X)                                                                  \
    X(WAKEUP_PREEMPT, 1, "a waking task may preempt curr at once (class order, RT prio, "  \
                         "EDF, EEVDF pick); off: only at the next tick")                   \
    X(PLACE_LAG, 1, "waking/migrating fair tasks keep their clamped lag (EEVDF "           \
                    "placement); off: placed at V with zero lag")                          \
    X(PLACE_DEADLINE_INITIAL, 1, "new fair tasks get half a slice for their first "        \
                                 "deadline so a fork does not preempt at once (Linux)")    \
    X(DL_ADMISSION, 1, "sched_task_add refuses DL bandwidth beyond dl_bound_permille of "  \
                       "a CPU (SCHED_DEADLINE default 95%)")                               \
    X(DL_HRTIMER, 1, "DL budget exhaustion and replenishment happen at their exact time "  \
                     "(sched_next_timer); off: at tick granularity, budgets may overrun")  \
    X(LB_PERIODIC, 1, "every balance_interval ticks a CPU pulls a queued fair task from "  \
                      "the busiest CPU if the imbalance is at least 2")                    \
    X(LB_IDLE_PULL, 1, "a CPU about to go idle pulls a queued fair task first")            \
    X(GROUP_BW, 1, "fair tasks of a sched_group run at most quota_ns per period_ns in "   \
                   "total over all CPUs (CFS bandwidth control); off: quotas ignored")    \
    X(TOPOLOGY, 1, "with a platform topology (sched_set_topology), periodic balancing, "   \
                   "idle pull and wake placement walk the domain hierarchy SMT > LLC > "   \
                   "package > NUMA bottom-up; off: flat, every CPU equally near")          \
    X(ENERGY_AWARE, 1, "with an energy model and unequal capacities, a waking fair task "  \
                       "goes to the CPU that fits its utilisation at the least estimated " \
                       "energy, and balancing rests while no CPU is over-utilised (EAS)")   \
    X(CHECK_PICK, 0, "debug: verify every fair pick against an O(n) scan and panic on "    \
                     "mismatch")

enum sched_feature {
#define SCHED_FEAT_ENUM(name, def, why) SCHED_FEAT_##name,
    SCHED_FEATURES(SCHED_FEAT_ENUM)
#undef SCHED_FEAT_ENUM
    SCHED_FEAT_COUNT
};

struct sched_config {
    hal_ns_t tick_ns;             /* periodic tick; default 4 ms (HZ=250) */
    hal_ns_t base_slice_ns;       /* EEVDF request size; default 750000 (REFERENCES.md) */
    hal_ns_t rr_timeslice_ns;     /* SCHED_RR quantum; default 100 ms (Linux) */
    uint32_t dl_bound_permille;   /* DL admission bound per CPU; default 950 */
    uint32_t balance_interval;    /* ticks between periodic balancing; default 4
                                     (the lowest domain level; level k: << k) */
    uint32_t numa_imbalance_pct;  /* NUMA levels balance only when the busiest group's
                                     load per capacity exceeds the local one by this
                                     percentage; default 125 (SMT 110, LLC/package 117) */
    uint32_t features;            /* bit SCHED_FEAT_x; default from SCHED_FEATURES */
};

/* ---- per-task scheduling entities (owned by the scheduler) ---- */

/* Intrusive treap node shared by the fair and deadline classes. */
struct sched_node {
    struct sched_node *parent, *left, *right;
    uint64_t key;       /* order: (key, tie) with wrap-safe key comparison */
    uint64_t tie;       /* task id: a deterministic tie-break */
    uint64_t aug;       /* fair: this entity's virtual deadline */
    uint64_t aug_min;   /* min of aug over the subtree */
    uint32_t prio;      /* treap heap priority: a hash of the id */
};

struct sched_fair_entity {
    struct sched_node node;   /* key = vruntime, aug = virtual deadline */
    uint32_t weight;          /* from nice via the Linux table */
    uint64_t vruntime;        /* virtual ns; wraps, compared by signed difference */
    uint64_t deadline;        /* virtual deadline = vruntime at request + vslice */
    int64_t vlag;             /* V - v_i saved at dequeue, clamped (virtual ns) */
    bool in_tree;             /* queued and not running */
    bool throttled;           /* its group is out of quota: off the tree, on
                                 rq->fair.throttled until the refill */
    struct sched_task *tnext, *tprev; /* throttled list */
};

struct sched_rt_entity {
    struct sched_task *next, *prev; /* per-priority FIFO list */
    hal_ns_t time_slice;            /* RR: left in this quantum */
};

struct sched_dl_entity {
    struct sched_node node;   /* key = absolute deadline */
    int64_t runtime;          /* budget left in this period (ns); CBS q */
    hal_ns_t deadline;        /* absolute deadline (ns); CBS d */
    hal_ns_t replenish_at;    /* when throttled: next period's start */
    uint64_t bw;              /* dl_runtime/dl_period << SCHED_BW_SHIFT */
    bool throttled;           /* budget exhausted, off the tree until replenish_at */
    struct sched_task *tnext, *tprev; /* throttled list */
};
#define SCHED_BW_SHIFT 20

/* CPU bandwidth of a group of fair tasks (Linux CFS bandwidth control):
 * together they run at most quota_ns per period_ns, summed over all CPUs
 * (quota > period allows more than one CPU). Caller-allocated, set up by
 * sched_group_init; tasks join by setting sched_task.group before
 * sched_task_add. Periods are aligned to multiples of period_ns from 0. */
struct sched_group {
    hal_ns_t quota_ns, period_ns;
    /* owned by the scheduler */
    hal_ns_t runtime_left;      /* quota left in this period; 0: throttled */
    hal_ns_t used_ns;           /* consumed in this period (>= quota when throttled) */
    hal_ns_t period_start;      /* start of the current period */
    bool throttled;             /* out of quota: its tasks are off the fair queues */
    uint64_t nr_throttled;      /* periods in which it was throttled */
    hal_ns_t throttled_ns;      /* total time throttled (counted at each refill) */
    hal_ns_t throttled_at;      /* when the current throttling began */
    struct sched_group *next;   /* struct sched.groups */
};

struct sched_stats {
    hal_ns_t sum_exec_ns;       /* CPU time received */
    uint64_t nr_switches;       /* times switched in */
    uint64_t nr_migrations;     /* changes of CPU */
    uint64_t nr_wakeups;
    hal_ns_t wakeup_ns;         /* time of the pending wake-up, for latency */
    bool wakeup_pending;        /* woken and not yet switched in */
    hal_ns_t wakeup_lat_max_ns; /* wake-up -> switch-in, max and sum */
    hal_ns_t wakeup_lat_sum_ns;
    uint64_t nr_wakeup_lat;
    uint64_t dl_throttles;      /* DL: budget exhausted */
    uint64_t dl_deadline_misses;/* DL: ran past its scheduling deadline */
};

/* A running average of utilisation (topology.c): avg / 2^SCHED_UTIL_SHIFT is
 * in 0..1024 units of the biggest CPU's capacity (scale-invariant: time on a
 * CPU of capacity c counts c/1024). Decays with a 32 ms half-life (PELT). */
struct sched_util {
    uint64_t avg;               /* Q20: 1024 << 20 = fully busy on a 1024 CPU */
    hal_ns_t stamp;             /* time it is accounted up to */
};
#define SCHED_UTIL_SHIFT 20

struct sched_task {
    /* set by the caller before sched_task_add; affinity may be widened or
     * narrowed later: it is read at each placement and balancing decision
     * (a task on a CPU it no longer allows stays there until it wakes) */
    uint64_t id;                /* unique; names the task in traces */
    enum sched_policy policy;
    int nice;                   /* NORMAL: -20..19 */
    unsigned rt_prio;           /* FIFO/RR: 1..99 */
    hal_ns_t dl_runtime, dl_deadline, dl_period; /* DEADLINE: ns */
    uint64_t affinity[SCHED_CPU_WORDS];          /* bit i: may run on CPU i */
    struct sched_group *group;  /* NORMAL only: bandwidth group, NULL = unlimited */

    /* owned by the scheduler */
    enum sched_state state;
    unsigned cpu;               /* CPU whose runqueue holds it / last ran on */
    bool on_rq;                 /* counted in a class's queue on rq[cpu] */
    bool is_new;                /* never run: fair initial placement */
    hal_ns_t exec_start;        /* when it last became curr / was accounted */
    struct sched_fair_entity fair;
    struct sched_rt_entity rt;
    struct sched_dl_entity dl;
    struct sched_stats stats;
    struct sched_util util;     /* utilisation (tracked with an energy model) */
    struct sched_task *all_next; /* every added task, for sched_check */
};

/* ---- per-CPU runqueue (owned by the scheduler) ---- */

struct sched_fair_rq {
    struct sched_node *root;  /* queued, not running, fair entities */
    unsigned nr_running;      /* queued + curr */
    uint64_t sum_w;           /* Σ w_i over runnable (tree + curr) */
    int64_t sum_wk;           /* Σ w_i (v_i - zero_v) */
    uint64_t zero_v;          /* key origin for sum_wk */
    struct sched_task *throttled; /* tasks of throttled groups, off the tree */
};

struct sched_rt_rq {
    uint64_t bitmap[2];       /* bit p: list p non-empty */
    struct sched_task *head[SCHED_RT_PRIOS], *tail[SCHED_RT_PRIOS];
    unsigned nr_running;      /* includes curr (RT curr stays on its list) */
};

struct sched_dl_rq {
    struct sched_node *root;  /* ready DL tasks by absolute deadline (curr too) */
    struct sched_task *throttled; /* waiting for replenishment */
    unsigned nr_running;      /* on the tree */
    uint64_t bw_admitted;     /* Σ bw of tasks whose home is this CPU */
};

struct sched_rq {
    unsigned cpu;
    struct sched_task *curr;  /* NULL: idle */
    bool need_resched;
    hal_ns_t clock;           /* hal_now at the last entry */
    uint32_t ticks;
    uint64_t nr_switches;
    hal_ns_t idle_ns;         /* time with curr == NULL */
    hal_ns_t idle_start;
    struct sched_fair_rq fair;
    struct sched_rt_rq rt;
    struct sched_dl_rq dl;
    struct sched_util util;   /* Σ util of the tasks attached here (running,
                                 queued or blocked with cpu == this) */
    bool push_pending;        /* active balance: on the next sched_schedule,
                                 move curr (fair) to push_cpu if it is idle */
    unsigned push_cpu;
    uint64_t nr_pushes;       /* active migrations done from this CPU */
};

/* ---- machine topology (topology.c) ----
 *
 * The platform describes each CPU (struct sched_cpu_topo) and the NUMA node
 * distances (ACPI SLIT style: 10 local, larger is farther, symmetric);
 * sched_topology_build turns that into a hierarchy of scheduling domains,
 * sched_set_topology hands it to the scheduler. Without one (the default)
 * the machine is flat. Everything is caller-allocated; the struct is
 * ~4 KiB for SCHED_MAX_CPUS. */
#define SCHED_TOPO_MAX_LEVELS 8u
#define SCHED_MAX_NODES 16u
#define SCHED_MAX_PD 8u               /* performance domains (CPU types) */
#define SCHED_CAPACITY_SCALE 1024u    /* capacity of the biggest CPU */
#define SCHED_NUMA_LOCAL 10u

struct sched_cpu_topo {
    uint16_t core;      /* SMT siblings share a core id */
    uint16_t llc;       /* cores sharing a last-level cache (cluster) */
    uint16_t socket;    /* package */
    uint16_t node;      /* NUMA node, < nr_nodes */
    uint16_t capacity;  /* 1..1024: work per ns relative to the biggest CPU */
    uint16_t pd;        /* performance domain (CPU type), < nr_pd */
};

/* Energy model of one CPU type (one operating point): power of one CPU
 * busy at its capacity, and idle. */
struct sched_energy_pd {
    uint32_t busy_mw, idle_mw;
};

struct sched_topology_desc {
    unsigned nr_cpus;
    const struct sched_cpu_topo *cpu;    /* nr_cpus entries */
    unsigned nr_nodes;                   /* 1..SCHED_MAX_NODES */
    const uint8_t *distance;             /* nr_nodes x nr_nodes, row-major */
    unsigned nr_pd;                      /* 1..SCHED_MAX_PD */
    const struct sched_energy_pd *energy;/* nr_pd entries, or NULL: no model */
};

/* Identities that group CPUs; a level's groups are one of these. */
enum sched_topo_id {
    SCHED_ID_CPU = 0, SCHED_ID_CORE, SCHED_ID_LLC, SCHED_ID_SOCKET, SCHED_ID_NODE,
    SCHED_NR_IDS,
};

enum sched_level_kind { SCHED_LEVEL_SMT, SCHED_LEVEL_LLC, SCHED_LEVEL_PKG, SCHED_LEVEL_NUMA };

struct sched_domain_level {
    enum sched_level_kind kind;
    uint8_t span_id;        /* non-NUMA: span = CPUs sharing this identity */
    uint8_t max_distance;   /* NUMA: span = CPUs on nodes within this distance */
    uint8_t group_id;       /* groups = CPUs sharing this identity */
    uint16_t imbalance_pct; /* busiest/local load-per-capacity threshold, % */
    uint32_t interval;      /* ticks between periodic balancing at this level */
};

struct sched_topology {
    unsigned nr_cpus, nr_levels, nr_nodes, nr_pd;
    struct sched_domain_level level[SCHED_TOPO_MAX_LEVELS]; /* bottom-up */
    /* per identity: the first CPU sharing it, and the next one after cpu
     * (== cpu at the end of the list) */
    uint8_t first[SCHED_NR_IDS][SCHED_MAX_CPUS];
    uint8_t next[SCHED_NR_IDS][SCHED_MAX_CPUS];
    uint8_t node[SCHED_MAX_CPUS];
    uint8_t pd[SCHED_MAX_CPUS];
    uint16_t capacity[SCHED_MAX_CPUS];
    uint8_t distance[SCHED_MAX_NODES][SCHED_MAX_NODES];
    struct sched_energy_pd energy[SCHED_MAX_PD];
    bool has_energy;        /* an energy model and at least two capacities */
};

struct sched {
    struct sched_config cfg;
    struct sched_rq *rq;      /* caller's array of nr_cpus */
    unsigned nr_cpus;
    struct sched_task *all;   /* every added task */
    struct sched_group *groups; /* every initialised bandwidth group */
    const struct sched_topology *topo; /* NULL: flat */
};

/* ---- configuration and features ---- */

/* Fill cfg with the defaults above. */
void sched_config_default(struct sched_config *cfg);
/* "WAKEUP_PREEMPT" etc.; NULL for an unknown index. */
const char *sched_feature_name(unsigned feat);
bool sched_feature(const struct sched *s, enum sched_feature f);
/* Write "NAME=v NAME=v ..." (every feature, list order) into buf, NUL
 * terminated and truncated to n; returns the length it needs. */
size_t sched_features_format(const struct sched_config *cfg, char *buf, size_t n);

/* ---- entry points ---- */

/* Boot, once, on the boot CPU before any other call. rqs: nr_cpus
 * zero-or-garbage runqueues (1 <= nr_cpus <= SCHED_MAX_CPUS); cfg NULL for
 * the defaults. SCHED_EINVAL if nr_cpus or cfg is out of range. */
int sched_init(struct sched *s, const struct sched_config *cfg, struct sched_rq *rqs,
               unsigned nr_cpus);

/* Build the domain hierarchy for desc into topo (caller-allocated), with
 * cfg's balance_interval and numa_imbalance_pct (NULL: defaults).
 * SCHED_EINVAL unless 1 <= nr_cpus <= SCHED_MAX_CPUS, 1 <= nr_nodes <=
 * SCHED_MAX_NODES, every distance is symmetric, 10 on the diagonal and
 * 11..254 off it, capacities are 1..1024, pd < nr_pd <= SCHED_MAX_PD, the
 * identities nest (SMT siblings share an LLC, an LLC is in one socket, a
 * socket on one node) and there are at most SCHED_TOPO_MAX_LEVELS levels.
 * Levels that would not add CPUs to the one below are left out. */
int sched_topology_build(struct sched_topology *topo, const struct sched_topology_desc *desc,
                         const struct sched_config *cfg);
/* Use topo (built for s->nr_cpus CPUs; it must outlive s) from now on;
 * NULL returns to flat. Call at boot before tasks are added. */
int sched_set_topology(struct sched *s, const struct sched_topology *topo);
/* Whether CPUs a and b share level `level`'s span (cheap; for tests). */
bool sched_topology_shares(const struct sched_topology *topo, unsigned level, unsigned a,
                           unsigned b);
/* Utilisation of t / of CPU cpu at `now`, 0..1024 (decayed, read-only). */
unsigned sched_task_util(const struct sched *s, const struct sched_task *t, hal_ns_t now);
unsigned sched_cpu_util(const struct sched *s, unsigned cpu, hal_ns_t now);

/* Register task t (its caller fields set). Validates everything first, then
 * commits: SCHED_EINVAL for a bad policy/nice/rt_prio, DL parameters not
 * satisfying 0 < runtime <= deadline <= period, a group on a task that is
 * not NORMAL (or a group not initialised), or an affinity that is empty
 * or names a CPU >= nr_cpus; SCHED_EADMIT if DL admission refuses it on every
 * CPU of its affinity (a DL task is pinned to the CPU that admitted it:
 * partitioned EDF). On success t is BLOCKED; sched_wakeup starts it. */
int sched_task_add(struct sched *s, struct hal_cpu *c, struct sched_task *t);

/* Set up bandwidth group g: its fair tasks together may run quota ns per
 * period ns (over all CPUs). SCHED_EINVAL unless 0 < quota and
 * 0 < period < 2^40 ns. Initialising the same g again resets it (only
 * before any task joined it). */
int sched_group_init(struct sched *s, struct sched_group *g, hal_ns_t quota, hal_ns_t period);

/* Make BLOCKED task t runnable (from an interrupt, a timer, or another task,
 * on CPU c). Selects its CPU (affinity; DL: its home CPU; RT: a CPU running
 * something of lower priority; FAIR: prev CPU if idle, else an idle CPU,
 * else the least loaded), enqueues it and checks wake-up preemption against
 * that CPU's curr: sets need_resched there, with a SCHED_IPI_RESCHED if it is
 * not c. SCHED_ESTATE if t is not BLOCKED. */
int sched_wakeup(struct sched *s, struct hal_cpu *c, struct sched_task *t);

/* The current task of CPU c goes to sleep. Sets need_resched; the caller
 * then calls sched_schedule. SCHED_ESTATE if c runs no task. */
int sched_block(struct sched *s, struct hal_cpu *c);

/* Task t leaves for good (any state but NEW/EXITED); its DL bandwidth is
 * released. If it was running on c, need_resched is set: call
 * sched_schedule. A running task can only exit on its own CPU. */
int sched_exit(struct sched *s, struct hal_cpu *c, struct sched_task *t);

/* The periodic tick on CPU c (every cfg.tick_ns): accounting of curr, RR
 * quantum, DL budget (at tick granularity without DL_HRTIMER), EEVDF slice
 * expiry, periodic load balancing. Sets need_resched when curr must go. */
void sched_tick(struct sched *s, struct hal_cpu *c);

/* The time of the scheduler's next precise event on CPU c (DL budget
 * exhaustion of curr, DL replenishments, group quota exhaustion of curr,
 * group period refills, a throttled curr to switch away from), or 0 for
 * none. The kernel's timer
 * layer (the owner of hal_timer_set) arms min(next tick, this) and calls
 * sched_timer when it arrives; it re-reads this after every scheduler call
 * that touched CPU c's runqueue. */
hal_ns_t sched_next_timer(const struct sched *s, unsigned cpu);
void sched_timer(struct sched *s, struct hal_cpu *c);

/* Choose what CPU c runs next: put_prev on the current task, then pick_next
 * over the classes in order DL > RT > FAIR > IDLE (IDLE first tries an idle
 * pull). Returns the task to run, NULL for idle. Counts context switches,
 * emits SCHED_TP_SWITCH when the task changes and clears need_resched. */
struct sched_task *sched_schedule(struct sched *s, struct hal_cpu *c);

/* The current task of c gives up the CPU: FAIR: its request is considered
 * served (new deadline); RT: to the tail of its priority; DL: its budget for
 * this period is given up (throttled until the next period). Sets
 * need_resched; the caller calls sched_schedule. */
int sched_yield_cpu(struct sched *s, struct hal_cpu *c);

/* Change a NORMAL task's nice (any state), keeping its lag w*(V - v). */
int sched_set_nice(struct sched *s, struct hal_cpu *c, struct sched_task *t, int nice);

/* Whether CPU rq must call sched_schedule before returning to a task. */
bool sched_need_resched(const struct sched_rq *rq);

/* The task running on CPU cpu (NULL: idle). */
struct sched_task *sched_curr(const struct sched *s, unsigned cpu);

/* ---- invariants ---- */

enum sched_check_code {
    SCHED_CHECK_OK = 0,
    SCHED_CHECK_STATE = 1,         /* task state, on_rq, counts disagree */
    SCHED_CHECK_FAIR_TREE = 2,     /* treap order/heap/augmentation broken */
    SCHED_CHECK_FAIR_LAG_SUM = 3,  /* |Σ w_i (V - v_i)| >= Σ w_i (rounding bound) */
    SCHED_CHECK_FAIR_PICK = 4,     /* O(log n) pick != eligible earliest deadline */
    SCHED_CHECK_FAIR_LAG_CLAMP = 5,/* a saved lag outside its clamp */
    SCHED_CHECK_RT_PRIO = 6,       /* a higher RT prio waits behind curr */
    SCHED_CHECK_RT_BITMAP = 7,     /* bitmap and lists disagree */
    SCHED_CHECK_CLASS_ORDER = 8,   /* a higher class (DL, or any task vs idle) waits */
    SCHED_CHECK_DL_BUDGET = 9,     /* DL consumed more than its budget in a period */
    SCHED_CHECK_DL_TREE = 10,      /* DL tree order broken */
    SCHED_CHECK_GROUP_BUDGET = 11, /* a throttled group's task runs (no resched
                                      pending) or is queued; a group used more
                                      than quota + one tick in a period */
};

/* Check every invariant of every runqueue; 0 or the first SCHED_CHECK_*.
 * Pending preemption (need_resched set) excuses a waiting higher task. */
int sched_check(const struct sched *s);
const char *sched_check_name(int code);

/* ---- snapshots (checkpoint and restore; kernel/sched/snapshot.c) ----
 * Everything the scheduler owns, as a byte stream the platform stores, and
 * back. The platform owns the tasks and the bandwidth groups, so it names
 * them: index i <-> object (task_at/group_at give NULL past the end;
 * task_index/group_index give SCHED_SNAP_NONE for anything that is not
 * one). The stream refers to tasks, groups and tree nodes by those
 * indices, never by address, so it restores into another process.
 *
 * Restore needs the same scheduler set up the same way (sched_init, the
 * same topology, groups initialised, the same tasks added at the same
 * indices): it then overwrites every field the scheduler owns in the
 * struct sched, each runqueue, each task and each group — the treaps
 * keep their exact shape, lists their order. */
#define SCHED_SNAP_NONE UINT32_MAX
struct sched_snap_io {
    void *ctx;
    void (*put)(void *ctx, const void *p, size_t n);
    int (*get)(void *ctx, void *p, size_t n);     /* 0, or -1 when the stream ends */
    struct sched_task *(*task_at)(void *ctx, uint32_t i);
    uint32_t (*task_index)(void *ctx, const struct sched_task *t);
    struct sched_group *(*group_at)(void *ctx, uint32_t i);
    uint32_t (*group_index)(void *ctx, const struct sched_group *g);
};
void sched_snapshot_save(const struct sched *s, const struct sched_snap_io *io);
/* 0, or SCHED_EINVAL for a stream that does not fit this scheduler (other
 * counts, an index out of range, a short stream): s is then half
 * overwritten, and the caller must discard it (a failed restore fails the
 * run before anything runs). */
int sched_snapshot_restore(struct sched *s, const struct sched_snap_io *io);

/* ---- helpers ---- */

/* nice -20..19 -> weight (Linux sched_prio_to_weight). */
uint32_t sched_nice_to_weight(int nice);
static inline void sched_affinity_set(struct sched_task *t, unsigned cpu)
{
    t->affinity[cpu / 64u] |= (uint64_t)1 << (cpu % 64u);
}
static inline bool sched_affinity_has(const struct sched_task *t, unsigned cpu)
{
    return cpu < SCHED_MAX_CPUS && (t->affinity[cpu / 64u] >> (cpu % 64u) & 1u);
}

#endif
