/* Scheduler internals shared by the kernel/sched files: the class ops table, the
 * intrusive treap, and small helpers. Not part of the public API. */
#ifndef KERNEL_SCHED_INTERNAL_H
#define KERNEL_SCHED_INTERNAL_H

#include "kernel/sched.h"

/* Enqueue/dequeue flags. */
enum {
    SCHED_ENQ_WAKEUP = 1u,  /* the task was blocked */
    SCHED_ENQ_MIGRATE = 2u, /* moved from another CPU */
    SCHED_DEQ_SLEEP = 1u,   /* the task blocks or exits */
    SCHED_DEQ_MIGRATE = 2u, /* moving to another CPU */
};

/* One scheduling class (Linux's struct sched_class). All members are called
 * by core.c with the caller's serialisation (sched.h) on runqueue rq, after
 * core.c has accounted curr's runtime up to rq->clock (sched_update_curr). */
struct sched_class {
    const char *name;
    /* t becomes runnable on rq (wake-up, migration in, unthrottle): add it
     * to the class queue and count it; t->on_rq is set by the caller
     * afterwards. The class may refuse by leaving it off-queue (DL throttled
     * at wake-up): it then returns false and the caller leaves on_rq false. */
    bool (*enqueue)(struct sched *s, struct sched_rq *rq, struct sched_task *t, unsigned flags);
    /* t (queued or curr, on_rq) leaves the class queue: sleep, exit,
     * migration out. For curr this is called before the switch away. */
    void (*dequeue)(struct sched *s, struct sched_rq *rq, struct sched_task *t, unsigned flags);
    /* The best task of this class or NULL; does not change state (core.c
     * calls set_next on the winner). Called in class order until one
     * answers. */
    struct sched_task *(*pick_next)(struct sched *s, struct sched_rq *rq);
    /* t was picked and becomes rq->curr. */
    void (*set_next)(struct sched *s, struct sched_rq *rq, struct sched_task *t);
    /* t stops being curr while still on_rq (preempted, yielded). */
    void (*put_prev)(struct sched *s, struct sched_rq *rq, struct sched_task *t);
    /* curr (this class) ran `delta` ns more; charge it. May set
     * need_resched (DL budget exhausted: the class throttles curr). */
    void (*update_curr)(struct sched *s, struct sched_rq *rq, struct sched_task *curr,
                        hal_ns_t delta);
    /* Periodic tick with curr of this class, after update_curr. */
    void (*task_tick)(struct sched *s, struct sched_rq *rq, struct sched_task *curr);
    /* Woken t and curr are both of this class: should t preempt curr? */
    bool (*wakeup_preempt)(struct sched *s, struct sched_rq *rq, struct sched_task *curr,
                           struct sched_task *t);
    /* curr yields (sched_yield_cpu); optional, NULL: nothing beyond resched. */
    void (*yield)(struct sched *s, struct sched_rq *rq, struct sched_task *curr);
    /* Optional: precise events (0 = none) and their handler. */
    hal_ns_t (*next_timer)(const struct sched *s, const struct sched_rq *rq);
    void (*timer)(struct sched *s, struct sched_rq *rq);
    /* The class's invariants on rq: 0 or a SCHED_CHECK_* code. */
    int (*check)(const struct sched *s, const struct sched_rq *rq);
};

extern const struct sched_class sched_dl_class;
extern const struct sched_class sched_rt_class;
extern const struct sched_class sched_fair_class;
extern const struct sched_class sched_idle_class;

/* The class of a task, and its index (lower runs first). */
enum sched_class_id sched_task_class(const struct sched_task *t);
const struct sched_class *sched_class_of(const struct sched_task *t);

/* core.c services for the classes. */
void sched_resched(struct sched_rq *rq);
/* A task was made runnable by the class itself (DL replenishment): the
 * wake-up preemption check against rq->curr. */
void sched_check_preempt(struct sched *s, struct sched_rq *rq, struct sched_task *t);
bool sched_feat(const struct sched *s, enum sched_feature f);
/* Account curr's runtime up to now (its class's update_curr). */
void sched_update_curr(struct sched *s, struct sched_rq *rq, hal_ns_t now);

/* core.c services for load balancing (flat and topology.c). */
unsigned sched_rq_load(const struct sched_rq *rq);     /* runnable tasks, all classes */
bool sched_rq_idle(const struct sched_rq *rq);         /* no curr, nothing runnable */
/* Move queued fair task t from rq `from` to `to`, keeping its lag. */
void sched_migrate(struct sched *s, struct hal_cpu *c, struct sched_rq *from,
                   struct sched_rq *to, struct sched_task *t);
/* The first queued (not running) fair task of `from` allowed on dst, or NULL. */
struct sched_task *sched_pullable(const struct sched_rq *from, unsigned dst);
/* Active balance: ask `from` to move its running fair task to dst at its
 * next sched_schedule (resched + IPI). */
void sched_push(struct sched *s, struct hal_cpu *c, struct sched_rq *from, unsigned dst);

/* topology.c: domains, utilisation, placement and balancing. */
static inline bool sched_topo_on(const struct sched *s)
{
    return s->topo && sched_feat(s, SCHED_FEAT_TOPOLOGY);
}
static inline bool sched_util_on(const struct sched *s)
{
    return s->topo && s->topo->has_energy;
}
/* Advance u to now at rate (Q20 capacity units: cap << SCHED_UTIL_SHIFT
 * while running on a CPU of capacity cap, 0 otherwise). */
void sched_util_update(struct sched_util *u, hal_ns_t now, uint64_t rate);
/* Advance rq's util and its curr's util to now (core.c: sched_update_curr). */
void sched_util_update_rq(const struct sched *s, struct sched_rq *rq, hal_ns_t now);
/* t's util (synced to now) leaves `from` (if not NULL) and joins `to` (if
 * not NULL). */
void sched_util_move(struct sched *s, struct sched_task *t, struct sched_rq *from,
                     struct sched_rq *to, hal_ns_t now);
unsigned sched_topo_select_fair(const struct sched *s, const struct sched_task *t, unsigned prev,
                                unsigned waker, hal_ns_t now);
void sched_topo_balance(struct sched *s, struct hal_cpu *c, struct sched_rq *rq);
bool sched_topo_idle_pull(struct sched *s, struct hal_cpu *c, struct sched_rq *rq);

/* fair.c: change t's weight keeping its lag (sched_set_nice). */
void sched_fair_reweight(struct sched *s, struct sched_rq *rq, struct sched_task *t,
                         uint32_t w_new);
/* fair.c: the group bandwidth invariants over s->groups (sched_check). */
int sched_group_check(const struct sched *s);
/* rt.c: highest RT priority with a queued task, 0 for none. */
unsigned sched_rt_highest(const struct sched_rt_rq *r);
/* deadline.c: admission arithmetic, used by core.c and the selftests.
 * bw = runtime/period in SCHED_BW_SHIFT fixed point, rounded down like
 * Linux to_ratio (a set at exactly the bound is admitted; the error is
 * < 2^-20 per task); fits: whether rq can take bw more under the bound. */
uint64_t sched_dl_bw(hal_ns_t runtime, hal_ns_t period);
bool sched_dl_fits(const struct sched *s, const struct sched_rq *rq, uint64_t bw);

/* ---- treap (tree.c) ----
 * Intrusive, parent-linked treap ordered by (key, tie) with wrap-safe key
 * comparison; heap-ordered on node->prio (a hash of the tie, so shapes are
 * deterministic). Expected depth O(log n); every operation is iterative.
 * aug_min = min(aug) over the subtree (wrap-safe), maintained on every
 * structural change. */
void sched_tree_insert(struct sched_node **root, struct sched_node *n);
void sched_tree_remove(struct sched_node **root, struct sched_node *n);
struct sched_node *sched_tree_first(struct sched_node *root);
/* In-order successor. */
struct sched_node *sched_tree_next(struct sched_node *n);
/* Recompute aug_min on n and its ancestors (after n->aug changed). */
void sched_tree_update_path(struct sched_node *n);
/* 0 if order, heap and augmentation hold over the whole tree. */
int sched_tree_check(const struct sched_node *root);
uint32_t sched_tree_prio(uint64_t id);

/* Wrap-safe comparison of u64 clocks. */
static inline bool sched_before(uint64_t a, uint64_t b) { return (int64_t)(a - b) < 0; }

#define sched_container_of(p, type, member)                                                \
    ((type *)(void *)((char *)(p) - offsetof(type, member)))

#endif
