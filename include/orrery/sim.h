/* The simulation: components, ports, links, events and the run loop.
 *
 * A simulation owns everything about a run — components, the event queue,
 * stats, the digest — and nothing lives in globals, so two simulations can
 * exist side by side and a run can later be checkpointed or split.
 *
 * Event order is the total order on (time, priority, origin id, origin seq):
 * the origin is the component that scheduled the event and seq counts the
 * events it has scheduled. The order therefore never depends on insertion
 * order, pointers or how the model is partitioned (DESIGN.md §2). */
#ifndef ORRERY_SIM_H
#define ORRERY_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/diag.h"
#include "orrery/error.h"
#include "orrery/params.h"
#include "orrery/results.h"
#include "orrery/rng.h"
#include "orrery/stats.h"
#include "orrery/time.h"
#include "orrery/trace.h"

struct orr_sim;
struct orr_component;
struct orr_link;
struct orr_ckpt_writer; /* orrery/checkpoint.h */
struct orr_ckpt_reader;

/* Priorities break ties between events at the same instant; lower runs
 * first. Named so the reason for each is written down once. */
enum orr_priority {
    ORR_PRIO_FAULT = 16,    /* faults change the world before anyone acts at that instant */
    ORR_PRIO_DEFAULT = 128, /* ordinary work: timers, messages, port-ready */
    ORR_PRIO_LATE = 240,    /* observers that must see everything else at an instant */
};

/* An event as a component's handler sees it: 48 bytes, stored by value.
 *
 * `order` packs the rest of the key: priority << 56 | origin id << 32 | the
 * low 32 bits of the origin's sequence number. Two events from the same
 * origin at the same time and priority compare their sequence numbers with
 * serial-number arithmetic (RFC 1982), which is exact as long as fewer than
 * 2^31 such events are pending at once — far beyond any model. */
struct orr_event {
    orr_time_t time;
    uint64_t order;   /* priority << 56 | origin << 32 | seq (low 32 bits) */
    uint32_t target;  /* component id */
    uint32_t size;    /* MSG: message bytes */
    uint16_t port;    /* MSG/READY: receiving port index; TIMER: the tag */
    uint8_t kind;     /* ORR_TK_TIMER, ORR_TK_MSG, ORR_TK_READY, ORR_TK_FAULT */
    uint8_t reserved_;
    uint32_t reserved2_;
    uint64_t data[2]; /* MSG/TIMER payload words */
};

static inline uint32_t orr_event_origin(const struct orr_event *e)
{
    return (uint32_t)(e->order >> 32) & 0xFFFFFFu;
}
static inline unsigned orr_event_priority(const struct orr_event *e)
{
    return (unsigned)(e->order >> 56);
}

#define ORR_MAX_COMPONENTS 0xFFFFF0u /* ids fit in 24 bits; above are reserved */

/* A message sent through a port: size in bytes (for bandwidth) and two
 * payload words whose meaning belongs to the two components' protocol.
 * Larger payloads live with the sender and travel by reference. */
struct orr_msg {
    uint32_t size;
    uint64_t data[2];
};

/* --- component types ----------------------------------------------------- */

struct orr_port_doc {
    const char *name; /* "out", or a pattern such as "p<N>" */
    const char *help;
};

/* How `orrery explore` may draw one parameter of a fault (docs/explore.md).
 * The drawn value is uniform in [lo, hi] in the parameter's base units; an
 * explore rule may narrow the range, never widen it. */
enum orr_fault_draw_kind {
    ORR_FD_VALUE,  /* a numeric parameter (UINT, TIME, FREQ, ...) in [lo, hi] */
    ORR_FD_PORT,   /* a port number: [0, ports of the instance - 1]; lo/hi unused */
    ORR_FD_CHANCE, /* a STRING probability, drawn in parts per million [lo, hi] */
};
struct orr_fault_draw {
    const char *param; /* a key of the fault's params */
    enum orr_fault_draw_kind kind;
    uint64_t lo, hi;
};

/* How a random schedule may use a fault ("buggify"): the highest rate a
 * rule may ask for, which other fault undoes it after a drawn duration,
 * and the parameters drawn for each firing. A fault without one is not
 * explorable. Parameters not drawn take their declared defaults. */
struct orr_fault_explore {
    /* the smallest mean time between firings a rule may ask for (its rate
     * bound); also bounds probability / period for per-opportunity rules */
    orr_time_t min_interval;
    /* the fault that ends this one, fired `duration` later with the same
     * drawn parameters (link_up after link_down); NULL: permanent */
    const char *recover;
    /* a key of the recovery's params set to "0" (loss: probability 0) */
    const char *recover_zero;
    orr_time_t min_duration, max_duration; /* bounds of the drawn duration */
    const struct orr_fault_draw *draws;    /* terminated by {NULL}; may be NULL */
};

struct orr_fault_desc {
    const char *name;
    const char *help;
    const struct orr_param *params; /* keys accepted under the fault entry */
    const struct orr_fault_explore *explore; /* NULL: not explorable */
};

/* A component type is a static, const ops table plus a descriptor that
 * tools print and the loader validates (STYLE.md: SST/gem5 component
 * descriptors). */
struct orr_component_type {
    const char *name;
    const char *summary;                 /* one line for `orrery list` */
    const struct orr_param *params;      /* terminated by { NULL } */
    const struct orr_port_doc *ports;    /* terminated by { NULL } */
    const struct orr_fault_desc *faults; /* terminated by { NULL }; may be NULL */
    /* every stat create/start registers (orrery/stats.h), terminated by
     * { NULL }; NULL for types that register none (builders) */
    const struct orr_metric_doc *metrics;
    size_t state_size;                   /* zeroed private state at c->state */
    bool workload;                       /* counts toward "workloads finished" */

    /* Called once per instance, in scenario order, with validated params.
     * Creates ports (orr_port_add) and stats, reads params. Semantic errors
     * in the params go to d (use orr_param_mark for positions) and return
     * ORR_ESCHEMA. Must not schedule events. */
    int (*create)(struct orr_component *c, const struct orr_params *p, struct orr_diag *d);
    /* Called once per instance after every component exists and every link
     * is joined. Resolves references to other components, checks that its
     * ports are connected, schedules the first events. Optional. */
    int (*start)(struct orr_component *c, struct orr_diag *d);
    /* Called for every event targeted at this component. */
    void (*handle)(struct orr_component *c, const struct orr_event *ev);
    /* Apply fault number `fault` (index into faults[]) with its params.
     * Optional when faults is NULL. */
    void (*fault)(struct orr_component *c, unsigned fault, const struct orr_params *p);
    /* Check a scheduled fault's params against this instance (a port number
     * in range, ...) when the scenario is built, so a bad fault is an input
     * error and not a surprise mid-run. Optional. */
    int (*fault_check)(struct orr_component *c, unsigned fault, const struct orr_params *p,
                       const struct orr_mark *mark, struct orr_diag *d);
    /* The run is over: fold remaining state into stats (orr_value). Optional. */
    void (*finish)(struct orr_component *c);
    /* Free what create allocated (not c->state itself). Optional. */
    void (*destroy)(struct orr_component *c);
    /* Text the model produced for the user rather than for the model (a
     * guest program's writes to stdout/stderr), NUL-terminated, *len
     * bytes; NULL if none. The CLI shows it after the run. It is not part
     * of the digest (a model that wants it there records trace points).
     * Optional. */
    const char *(*output)(const struct orr_component *c, size_t *len);
    /* Builder types only (no instances; create is NULL): expand a top-level
     * scenario section (the type's name is the key, e.g. `machine:`) into
     * components and links. params documents the section's keys; the
     * builder validates node itself and reports at keypath. */
    int (*expand)(struct orr_sim *s, const struct orr_node *node, const char *keypath,
                  struct orr_diag *d);
    /* Builder types: the types expand may instantiate (NULL-terminated).
     * A key a builder accepts on a child's behalf shares the child's
     * declaration; tests/unit/test_schemas.c holds builders to it. */
    const struct orr_component_type *const *children;
    /* a workload that must say it is done: a run that ends any other way
     * (duration, event limit, no events left) while one of these is not
     * done stops with ORR_STOP_UNFINISHED (a guest program that never
     * exited must not read as a clean run) */
    bool must_finish;
    /* Checkpoint/restore (orrery/checkpoint.h, docs/checkpoint.md): save
     * writes every field that changes while the model runs (not what
     * create/start derive from the params), restore reads them back in the
     * same order into an instance freshly created and started from the
     * same params. The engine saves ports, links, stats, the RNG stream
     * and pending events itself. Both or neither; a type without them
     * cannot be checkpointed (the request fails naming the type). */
    void (*save)(const struct orr_component *c, struct orr_ckpt_writer *w);
    void (*restore)(struct orr_component *c, struct orr_ckpt_reader *r);
    /* Why this type can never be checkpointed (no save/restore will come),
     * for the refusal message; NULL otherwise. */
    const char *no_checkpoint;
};

struct orr_port {
    struct orr_component *owner;
    const char *name;
    uint16_t index;
    struct orr_link *link; /* NULL until joined */
    uint8_t side;          /* which end of the link this port is (0 or 1) */
};

struct orr_component {
    struct orr_sim *sim;
    const struct orr_component_type *type;
    const char *path; /* dotted instance path */
    uint32_t id;      /* scenario order, from 0 */
    /* where the instance is declared, for messages from its ops: the node's
     * position and key path ("components.gen0"); mark.file is NULL for a
     * component built without a config node */
    struct orr_mark mark;
    const char *keypath;
    uint64_t seq;     /* events this component has originated */
    struct orr_rng rng;
    void *state;
    size_t nPort;
    struct orr_port **aPort;
};

/* Find a type by name in a NULL-terminated table; NULL if absent. The
 * engine knows types only through such tables, handed to it by the
 * program (the hardware library's is orr_builtin_types, hw/registry.h). */
const struct orr_component_type *orr_type_find(const struct orr_component_type *const *types,
                                               const char *name);

/* Report name as an unknown type at mark: the table's names and the
 * closest one. */
void orr_type_unknown(const struct orr_component_type *const *types, const char *name,
                      const struct orr_mark *mark, const char *keypath, struct orr_diag *d);

/* --- building a simulation ----------------------------------------------- */

struct orr_sim_options {
    uint64_t seed;
    orr_time_t stop_time;       /* 0: no time limit; the run covers [0, stop_time) */
    uint64_t stop_events;       /* 0: no event limit */
    bool stop_when_workloads_done;
    uint64_t checkpoint_every;  /* trace checkpoint interval in records; 0 = 65536 */
    /* The component types builders may instantiate by name (orr_sim_type):
     * a NULL-terminated table, or NULL for none. */
    const struct orr_component_type *const *types;
    /* The scenario's whole config tree, for builders (orr_sim_section); may
     * be NULL. */
    const struct orr_node *config;
};

int orr_sim_create(struct orr_sim **s, const struct orr_sim_options *opt);
void orr_sim_destroy(struct orr_sim *s);

/* Instantiate a component: parse params (node may be NULL), call create.
 * keypath is where the component's config lives, for messages. */
int orr_sim_add_component(struct orr_sim *s, const struct orr_component_type *type,
                          const char *path, const struct orr_node *node, const char *keypath,
                          struct orr_diag *d, struct orr_component **out);

/* The same with parameters already validated and typed: a builder's way
 * (orrery/params.h). p must be of the type's schema (a programming error
 * otherwise: aborts); its required keys set and bounds held are checked
 * (errors at the values' marks, ORR_ESCHEMA). p is taken over: zeroed on
 * return, whatever happens. The instance's mark is p->mark. */
int orr_sim_add_component_params(struct orr_sim *s, const struct orr_component_type *type,
                                 const char *path, struct orr_params *p, const char *keypath,
                                 struct orr_diag *d, struct orr_component **out);

/* Join two ports ("comp.port") with a link. bandwidth 0 = unlimited.
 * Errors (unknown component/port, port already linked, latency 0 with both
 * ends... ) are reported at mark. */
int orr_sim_link(struct orr_sim *s, const char *a, const char *b, orr_time_t latency,
                 uint64_t bandwidth_bps, const struct orr_mark *mark, struct orr_diag *d);

/* Schedule fault `name` for component path at time `at`; params validated
 * against the fault's schema. */
int orr_sim_add_fault(struct orr_sim *s, orr_time_t at, const char *path, const char *name,
                      const struct orr_node *params, const char *keypath,
                      const struct orr_mark *mark, struct orr_diag *d);

/* Schedule fault number `fault` of component id comp at `at` with typed
 * params (of the fault's schema; taken over, zeroed on return): how a
 * drawn explore schedule becomes faults. The type's fault_check runs with
 * the params' mark. Faults are scheduled in the order they are added, after
 * those of orr_sim_add_fault added before them. */
int orr_sim_add_fault_params(struct orr_sim *s, orr_time_t at, uint32_t comp, unsigned fault,
                             struct orr_params *p, struct orr_diag *d);

/* Faults added so far (orr_sim_add_fault and _params), in order. */
size_t orr_sim_fault_count(const struct orr_sim *s);
/* After orr_ckpt_restore (explore --from): schedule the faults added
 * since the first `first` — the restored queue holds only the earlier
 * ones' pending events. Each must lie at or after the current time;
 * ORR_EINVAL otherwise (nothing scheduled). */
int orr_sim_schedule_faults_from(struct orr_sim *s, size_t first);

/* The type called name in the options' table, or NULL: how a builder
 * finds the types it instantiates (the engine names none itself). */
const struct orr_component_type *orr_sim_type(const struct orr_sim *s, const char *name);
const struct orr_component_type *const *orr_sim_types(const struct orr_sim *s);
/* The scenario's top-level section `name`, or NULL. A builder may read
 * another builder's section to learn what that one claims (the machine
 * reads kernel.cpus to build those cores as kernel CPUs); the section's own
 * builder owns its validation. */
const struct orr_node *orr_sim_section(const struct orr_sim *s, const char *name);
/* An arena for config nodes a builder composes (orrery/config.h), freed
 * with the simulation because components' parameters point into their
 * nodes. NULL when memory is short. */
struct orr_node_arena *orr_sim_nodes(struct orr_sim *s);

/* Call every component's start op, in id order. */
int orr_sim_start(struct orr_sim *s, struct orr_diag *d);

/* --- running ------------------------------------------------------------- */

enum orr_stop_reason {
    ORR_STOP_TIME,       /* reached stop_time */
    ORR_STOP_EVENTS,     /* reached stop_events */
    ORR_STOP_WORKLOADS,  /* every workload component said it was done */
    ORR_STOP_IDLE,       /* no events left */
    ORR_STOP_INTERRUPT,  /* the progress hook asked to stop */
    ORR_STOP_ERROR,      /* the trace writer failed */
    ORR_STOP_FAILED,     /* a model reported a failure (orr_sim_fail) */
    ORR_STOP_UNFINISHED, /* ended by time, events or idleness while a must_finish
                            workload was not done (orr_sim_unfinished names it) */
};

const char *orr_stop_reason_name(enum orr_stop_reason r);

struct orr_run_hooks {
    /* Called every `progress_every` events (a power of two; 0 = never) with
     * the simulation. Return nonzero to stop the run (ORR_STOP_INTERRUPT).
     * This is where a CLI reads the wall clock; the engine never does. */
    int (*progress)(void *arg, const struct orr_sim *s);
    void *arg;
    uint64_t progress_every;
    /* Where records go besides the digest; NULL = digest only. */
    struct orr_trace_writer *trace;
};

enum orr_stop_reason orr_sim_run(struct orr_sim *s, const struct orr_run_hooks *hooks);

/* Run like orr_sim_run but pause before the first event at or after
 * `until`: returns -1 there (no STOP record; the run goes on with
 * orr_sim_run, or is checkpointed first), or the stop reason if the run
 * ended before (its STOP record written, as orr_sim_run does). A run
 * paused and resumed dispatches exactly the events of one not paused. */
int orr_sim_run_until(struct orr_sim *s, const struct orr_run_hooks *hooks, orr_time_t until);

/* Stepping: for an outside scheduler that owns time (the SystemC engine,
 * docs/systemc.md). It calls orr_sim_step_begin once, then orr_sim_step at
 * each instant orr_sim_next_time names, then orr_sim_step_end. The events,
 * their order, the stop conditions and the STOP record are exactly those of
 * orr_sim_run, so the digest is the same; only who decides "what time is
 * it next" changes. Do not mix with orr_sim_run on one simulation. */
void orr_sim_step_begin(struct orr_sim *s, const struct orr_run_hooks *hooks);
/* The time of the next event the run would dispatch (before stop_time),
 * or ORR_TIME_MAX if there is none. */
orr_time_t orr_sim_next_time(struct orr_sim *s);
/* Dispatch, in key order, every event at time orr_sim_next_time(s),
 * including those they schedule at that same instant, checking
 * orr_sim_run's stop conditions before each. Returns false when the run
 * must stop (call orr_sim_step_end), true otherwise. */
bool orr_sim_step(struct orr_sim *s);
/* End a stepped run: the stop reason orr_sim_run would give at this point
 * (a condition that stopped a step, else the duration if events remain
 * beyond it, else idle). Writes the STOP record and flushes the digest. */
enum orr_stop_reason orr_sim_step_end(struct orr_sim *s);
/* Watch events as they are queued: fn(arg, time, target) runs for each
 * event queued from now on and, once at installation, for each event
 * already pending (in an order fixed by the queue's state). An outside
 * scheduler mirrors pending times with it; it must not touch the
 * simulation. NULL removes the watcher. */
void orr_sim_watch(struct orr_sim *s, void (*fn)(void *arg, orr_time_t when, uint32_t target),
                   void *arg);

/* --- what components call ------------------------------------------------ */

orr_time_t orr_now(const struct orr_sim *s);
uint64_t orr_sim_events(const struct orr_sim *s);       /* events dispatched */
uint64_t orr_sim_pending(const struct orr_sim *s);      /* events queued */
size_t orr_sim_queue_bytes(const struct orr_sim *s);    /* memory held by the event queue */
orr_time_t orr_sim_stop_time(const struct orr_sim *s);
uint64_t orr_sim_digest(const struct orr_sim *s);
uint64_t orr_sim_seed(const struct orr_sim *s);
size_t orr_sim_component_count(const struct orr_sim *s);
struct orr_component *orr_sim_component(const struct orr_sim *s, uint32_t id);
struct orr_component *orr_sim_find(const struct orr_sim *s, const char *path);

/* Create a port on c (from create only). Names are unique per component. */
struct orr_port *orr_port_add(struct orr_component *c, const char *name);
struct orr_port *orr_port_find(const struct orr_component *c, const char *name);
/* The port at the far end of p's link, or NULL. */
struct orr_port *orr_port_peer(const struct orr_port *p);
/* The latency and bandwidth (bit/s, 0 = unlimited) of p's link, as the
 * scenario set them, for tools that describe the model (orrery graph).
 * Either out pointer may be NULL. Returns 0, or ORR_ENOENT if p is not
 * linked (outputs untouched). */
int orr_port_link(const struct orr_port *p, orr_time_t *latency, uint64_t *bw_bps);

/* Send m out of p. The message arrives at the peer after serialisation
 * (size * 8 / bandwidth, rounded up to whole ps) plus the link latency plus
 * extra_delay (the sender's own processing time, SST style).
 * Returns 0, or ORR_EBUSY while p's direction of the link is still
 * serialising an earlier message: the send did not happen, and the sender
 * gets one ORR_TK_READY event on p when the link frees. ORR_ENOENT if p is
 * not linked. Links without bandwidth are never busy. */
int orr_port_send(struct orr_port *p, const struct orr_msg *m, orr_time_t extra_delay);
/* When p's direction of the link can accept the next message. */
orr_time_t orr_port_free_at(const struct orr_port *p);

/* Message payloads larger than two words (a cache line, a CAS's two
 * operands). The sender allocates a block, fills it and sends its handle in
 * a data word; whoever ends the payload's life (usually the receiver) frees
 * it. Handles are small integers handed out from a LIFO free list, so they
 * depend only on the order of allocations and frees, which the event order
 * fixes: a handle is as deterministic as any other message field and may go
 * into the trace and the digest. Handle 0 is never used. Blocks are zeroed. */
uint64_t orr_blob_new(struct orr_sim *s, size_t n, void **out);
void *orr_blob_get(const struct orr_sim *s, uint64_t h);
size_t orr_blob_size(const struct orr_sim *s, uint64_t h);
void orr_blob_free(struct orr_sim *s, uint64_t h);
/* Blocks allocated and not yet freed (a leak check for tests). */
size_t orr_blob_live(const struct orr_sim *s);

/* Per-simulation objects that several components reach by name. Two kinds,
 * never mixed under one name (a programming error: aborts):
 *
 *   observers     watch and check: a coherence monitor, a group's totals
 *                 for the summary. What a component writes into one never
 *                 changes what any component does, so a partitioned run
 *                 may give each part its own and merge them.
 *   shared state  carries state between components outside their ports:
 *                 guest RAM and its futex table shared by ISA cores, a
 *                 node's memory bytes shared by its memory device, RNIC and
 *                 software. Every component that touches one declares it,
 *                 from create or start (later is a programming error:
 *                 aborts), and the engine records who: components that
 *                 share state must run together (orr_sim_colocation), which
 *                 a partitioner asks before it splits a model.
 *
 * The first call creates the object zeroed (size bytes); later calls with
 * the same name return the same object; fini (may be NULL) runs before it
 * is freed with the simulation. Finding a name is a hash lookup. */
void *orr_sim_observer(struct orr_sim *s, const char *name, size_t size, void (*fini)(void *));
void *orr_sim_shared_state(struct orr_component *c, const char *name, size_t size,
                           void (*fini)(void *));
/* The ids of the components that declared shared state `name`, ascending
 * (*ids valid until the next declaration); 0 if there is no such state. */
size_t orr_sim_shared_users(const struct orr_sim *s, const char *name, const uint32_t **ids);
/* The object called name, without declaring anything: for tools and tests
 * that read shared state after a run. NULL if there is none. */
void *orr_sim_shared_peek(const struct orr_sim *s, const char *name);
/* The smallest component id that must run with component id: the
 * components joined, directly or through others, by shared state they
 * declared. A component that shares nothing is its own. */
uint32_t orr_sim_colocation(const struct orr_sim *s, uint32_t id);

/* Self-timer: an event for c itself after delay, carrying tag and two words. */
void orr_timer(struct orr_component *c, orr_time_t delay, uint16_t tag, uint64_t a, uint64_t b);
void orr_timer_prio(struct orr_component *c, orr_time_t delay, enum orr_priority prio,
                    uint16_t tag, uint64_t a, uint64_t b);

/* Self-timer carrying a whole message (size and two words), for a model
 * that holds a packet through a processing delay. */
void orr_timer_msg(struct orr_component *c, orr_time_t delay, uint16_t tag,
                   const struct orr_msg *m);

/* Engine-level event from c to any component, bypassing ports: for engine
 * benchmarks (PHOLD) and engine tests only. Hardware models must talk
 * through ports and links; tests/cli/layering.sh fails if hw/ calls this.
 * delay must be > 0 (it plays the role of a link's lookahead). */
void orr_sim_post(struct orr_component *c, uint32_t target, orr_time_t delay, uint16_t tag,
                  uint64_t a, uint64_t b);

/* A model found something that must not happen (a kernel invariant
 * broken, a protocol violated): the run stops after the current event and
 * is marked failed; the CLI reports the message and exits 1. The first
 * failure is kept. */
void orr_sim_fail(struct orr_component *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "component: message" of the first failure, or NULL. */
const char *orr_sim_failure(const struct orr_sim *s);
/* Like orr_sim_fail, for a failure whose cause is input from outside the
 * model rather than the model itself: a SystemC target loaded by a
 * tlm_target answered with a TLM error status. The CLI exits 2 for it
 * (bad input) instead of 1. */
void orr_sim_fail_input(struct orr_component *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* True if the first failure was reported with orr_sim_fail_input. */
bool orr_sim_failure_is_input(const struct orr_sim *s);
/* After a run that stopped with ORR_STOP_UNFINISHED: the path of the first
 * must_finish workload (in component order) that was not done, and how
 * many were not (*n); NULL if every one finished. */
const char *orr_sim_unfinished(const struct orr_sim *s, size_t *n);

/* Record a behaviour-changing setting that is not a scenario key (a
 * model's feature switches): kept as "path.key=value" and written to the
 * trace header with the effective configuration. From create or start. */
void orr_sim_knob(struct orr_component *c, const char *key, const char *value);
size_t orr_sim_knobs(const struct orr_sim *s, const char *const **out);

/* A workload component reports that it has finished its work. */
void orr_workload_done(struct orr_component *c);
/* Workload components, and in *done (may be NULL) how many have finished. */
unsigned orr_sim_workloads(const struct orr_sim *s, unsigned *done);

/* Register a trace point name ("sink.rx") from create; returns its kind. */
uint16_t orr_trace_kind(struct orr_component *c, const char *name);
/* Emit a trace point record (counted in the digest). */
void orr_trace_point(struct orr_component *c, uint16_t kind, uint64_t a, uint64_t b);

/* Check the engine's invariants (sim.c's header lists them) by walking all
 * state: O(events + ports). True if they hold. Asserted at start and at the
 * end of every run in debug builds; tests call it directly. */
bool orr_sim_check(const struct orr_sim *s);

/* --- metrics before a run ----------------------------------------------- */

/* Whether component c can report the metric called name, as results and
 * budgets name it ("rx_packets", "latency.p99", "depth.max"), by its type's
 * metrics table or the engine's link metrics of its linked ports: the
 * metric's unit ("" for a plain number), or NULL if none allows it. If
 * unit is not NULL, only metrics in that unit count. It goes by
 * declarations: a declared family member (a task's stats) may still be
 * absent from a run. */
const char *orr_metric_declared(const struct orr_component *c, const char *name,
                                const char *unit);
/* The same for the run-level metrics (orr_run_metrics: "events", ...). */
const char *orr_run_metric_declared(const char *name, const char *unit);

/* The stats registered so far, in registration order: after
 * orr_sim_start, every stat the components made. For tools that name
 * metrics before a run (the nearest names for a budget's typo). */
struct orr_stat_info {
    const struct orr_component *component;
    const char *name, *unit;
    enum orr_metric_kind kind;
};
size_t orr_sim_stat_count(const struct orr_sim *s);
void orr_sim_stat(const struct orr_sim *s, size_t i, struct orr_stat_info *out);

/* --- after a run --------------------------------------------------------- */

/* Call every component's finish op, then flatten stats into metrics in
 * registration order. Valid until orr_sim_destroy. */
void orr_sim_finish(struct orr_sim *s);
size_t orr_sim_metrics(const struct orr_sim *s, const struct orr_metric **out);
size_t orr_sim_histograms(const struct orr_sim *s, const struct orr_hist_summary **out);

/* Fill a trace header's component and kind tables (other fields are the
 * caller's). Strings are malloc'ed; free with orr_trace_header_free. */
int orr_sim_trace_tables(const struct orr_sim *s, struct orr_trace_header *h);
/* Fill a trace footer from the finished run (metrics, counts, digest). */
int orr_sim_trace_footer(const struct orr_sim *s, struct orr_trace_footer *f);

#endif
