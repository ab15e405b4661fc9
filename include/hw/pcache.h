/* A core's private cache hierarchy and its coherence agent: an L1 and an
 * optional L2, both private, inclusive (the L2, or the L1 when there is no
 * L2, holds each line's coherence state and data; the L1 is a tag filter
 * that decides whether a hit costs the L1 or the L2 latency).
 *
 * It is a library inside a core component, not a component: a core calls
 * pcache_access for each operation, and hits complete inline with a latency
 * and no event (DESIGN.md §2, fast paths). Misses, writebacks and probe
 * answers are coherence messages (include/orrery/coh.h) sent through the core's memory
 * port; the protocol's cache table (protocol.h) decides every step.
 *
 * Resources: `mshrs` lines may be in flight at once (misses and writebacks
 * together); a dirty victim waits in a writeback buffer entry (an MSHR)
 * until the home orders its PUT, so the frame is free at once. An access
 * that finds its line busy, no free MSHR, or every frame of its set busy
 * returns PC_RETRY, and the core is woken (wake callback) when any
 * transaction ends. */
#ifndef HW_CACHE_PCACHE_H
#define HW_CACHE_PCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/array.h"
#include "hw/prefetch.h"
#include "hw/protocol.h"
#include "orrery/coh.h"
#include "orrery/sim.h"

struct cohmon;

/* Which home agent owns an address: sorted, non-overlapping ranges. */
struct pc_home_range {
    uint64_t base, size;
    uint32_t agent;
    char name[32]; /* for per-node stats: miss_latency.NAME */
};

struct pcache_config {
    uint32_t agent;                  /* this cache's agent id */
    const struct coh_protocol *proto;
    uint64_t l1_size, l2_size;       /* bytes; l2_size 0 = no L2 */
    uint32_t l1_ways, l2_ways;
    uint32_t l1_cycles, l2_cycles;   /* hit latency */
    orr_time_t snoop;                /* answering a probe: the private hierarchy's
                                      * snoop pipeline and the trip to its port */
    enum cache_repl repl;
    uint32_t mshrs;                  /* L1 miss buffers: demand misses and L1 prefetches */
    uint32_t superqueue;             /* lines in flight in the hierarchy (demand, prefetch,
                                      * writeback); 0 = mshrs */
    const struct orr_params *aPfList[PF_NLEVEL]; /* each level's `prefetch:` entries */
    size_t nPfList[PF_NLEVEL];
    orr_time_t cycle_ps;             /* the core's clock period */
    const struct pc_home_range *aHome;
    size_t nHome;
    bool check;                      /* report to the coherence monitor */
    bool trace_states;               /* a trace point per line-state change */
};

struct pc_req {
    uint8_t op;    /* enum orr_cpu_op: LOAD STORE CAS FAA SWAP */
    uint8_t size;  /* 1, 2, 4, 8; naturally aligned */
    uint32_t tag;  /* the core's, returned in done() */
    uint64_t addr, val, expect;
    uint32_t pc;   /* request identity for IP-indexed prefetchers: the program
                    * counter, or a workload's access-site id; 0 = none */
};

enum pcache_rc { PC_HIT, PC_MISS, PC_RETRY };

struct pcache_ops {
    /* A miss completed: the request with tag performed, returning value. */
    void (*done)(void *arg, uint32_t tag, uint64_t value);
    /* A transaction ended: a request that got PC_RETRY may now proceed. */
    void (*wake)(void *arg);
};

struct pc_mshr;
struct pc_msg;

struct pcache {
    struct orr_component *comp;
    struct orr_port *port;
    struct pcache_config cfg;
    struct pcache_ops ops;
    void *arg;
    struct cohmon *mon;
    struct cache_array l1, outer; /* outer = L2, or L1 when there is no L2 */
    bool has_l2;
    uint8_t *aState;              /* per outer frame */
    uint8_t *aData;               /* per outer frame, ORR_LINE_BYTES each */
    struct pc_mshr *aMshr;
    uint32_t nSlot;               /* MSHR entries: max(mshrs, superqueue) */
    uint32_t nMshrBusy;
    uint32_t nL1Busy;             /* of those, demand misses and L1 prefetches */
    uint32_t nWbBusy;             /* of those, writebacks */
    struct pf_unit *aUnit;        /* prefetchers, L1's first */
    uint32_t nUnit;
    uint8_t *aPf;                 /* per outer frame: 1 + the unit that prefetched the
                                   * line and no demand has touched it yet, or 0 */
    struct pc_msg *aOut;          /* messages refused by a busy port, in order */
    size_t nOut, nOutHead, nOutAlloc;
    bool want_wake;
    uint16_t tk_state;            /* trace kind "coh.state" (0 = off) */
    orr_time_t skew;              /* the core runs this far ahead of now: added to
                                   * requests pcache_access sends */
    struct orr_counter *hits_l1, *hits_l2, *misses, *upgrades, *writebacks, *probes, *retries;
    struct orr_counter *probe_data; /* probes answered with the line: cache-to-cache */
    struct orr_counter *msgs_out;
    /* prefetch outcomes per level: [PF_USEFUL], [PF_LATE], [PF_USELESS] */
    struct orr_counter *aPfIssued[PF_NLEVEL], *aPfDropped[PF_NLEVEL], *aPfOutcome[PF_NLEVEL][3];
    struct orr_histogram *miss_latency;
    struct orr_histogram **aNodeLatency; /* miss latency per home (memory node) */
};

/* The stats pcache_init registers on the core: rows for its type's
 * metrics table (orrery/stats.h). */
#define PCACHE_METRICS                                                                             \
    {"l1.hits", "access", ORR_METRIC_COUNTER, "accesses that hit in L1"},                          \
    {"l2.hits", "access", ORR_METRIC_COUNTER, "accesses that missed L1 and hit L2"},               \
    {"l1.hits_outer", "access", ORR_METRIC_COUNTER,                                                \
     "l2.hits' place in a hierarchy without an L2 (always 0)"},                                    \
    {"misses", "access", ORR_METRIC_COUNTER,                                                       \
     "accesses that missed and asked the home for the line"},                                      \
    {"upgrades", "access", ORR_METRIC_COUNTER,                                                     \
     "writes to a line held without write permission, asking the home for it"},                    \
    {"writebacks", "line", ORR_METRIC_COUNTER, "victim lines written back to their home"},         \
    {"probes", "msg", ORR_METRIC_COUNTER, "probes from homes (another cache wants the line)"},     \
    {"c2c_transfers", "line", ORR_METRIC_COUNTER,                                                  \
     "probes answered with the line's data: lines this cache supplied to another"},               \
    {"retries", "access", ORR_METRIC_COUNTER,                                                      \
     "accesses refused for now (no free MSHR or frame, line busy) and retried"},                   \
    {"coh_msgs_out", "msg", ORR_METRIC_COUNTER, "coherence messages sent"},                        \
    {"<LEVEL>.pf.issued", "line", ORR_METRIC_COUNTER,                                              \
     "prefetches LEVEL (l1, l2) sent to the home"},                                                \
    {"<LEVEL>.pf.useful", "line", ORR_METRIC_COUNTER,                                              \
     "prefetched lines a demand access found present"},                                            \
    {"<LEVEL>.pf.late", "line", ORR_METRIC_COUNTER,                                                \
     "prefetches a demand access found still in flight (and waited for)"},                         \
    {"<LEVEL>.pf.useless", "line", ORR_METRIC_COUNTER,                                             \
     "prefetched lines evicted or invalidated before any demand access"},                          \
    {"<LEVEL>.pf.dropped", "line", ORR_METRIC_COUNTER,                                             \
     "prefetches proposed but not sent: no free miss buffer or superqueue entry, or no frame"},    \
    {"miss_latency", "ps", ORR_METRIC_HISTOGRAM,                                                   \
     "misses and upgrades: request to the access being performed"},                                \
    {"miss_latency.<HOME...>", "ps", ORR_METRIC_HISTOGRAM,                                         \
     "miss_latency of lines owned by home HOME (the `homes` entry's name, or agentN)"}

/* Set up inside the core's create op: registers stats on c. Returns 0 or
 * a negative ORR_E* (a geometry that is not sets × ways × line). */
int pcache_init(struct pcache *pc, struct orr_component *c, struct orr_port *port,
                const struct pcache_config *cfg, const struct pcache_ops *ops, void *arg);
void pcache_free(struct pcache *pc);

/* Checkpoint/restore of the caches' dynamic state: frames, line states and
 * data, miss buffers, prefetchers, refused messages. A whole-line request
 * in flight (pcache_access_line's buffer belongs to the caller) makes the
 * restore fail: its owner cannot be saved yet. */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void pcache_save(const struct pcache *pc, struct orr_ckpt_writer *w);
void pcache_restore(struct pcache *pc, struct orr_ckpt_reader *r);

/* Perform r now if it hits (PC_HIT: *value and *cycles set), start a miss
 * (PC_MISS: done() follows), or refuse (PC_RETRY: wake() follows). */
enum pcache_rc pcache_access(struct pcache *pc, const struct pc_req *r, uint64_t *value,
                             uint32_t *cycles);
/* A coherence message arrived on the core's memory port. */
void pcache_message(struct pcache *pc, const struct orr_event *ev);
/* The memory port can send again (ORR_TK_READY). */
void pcache_ready(struct pcache *pc);
/* Lines in flight (for a deadlock check: the oldest's start time). */
uint32_t pcache_inflight(const struct pcache *pc, orr_time_t *oldest, uint64_t *line);
/* The liveness check of every core that embeds a pcache: if a line has
 * been in flight for `threshold` or longer, fail the run as a deadlock
 * (the line, its state, since when, and the last coherence messages) and
 * return true. */
bool pcache_deadlocked(struct pcache *pc, orr_time_t threshold);
/* The state of line in this cache (CS_I if absent), for tests. */
enum coh_state pcache_state(const struct pcache *pc, uint64_t line);

/* The geometry check the machine builder reports at load time: size must
 * be sets × ways × 64 with sets a power of two. */
bool pcache_geometry_ok(uint64_t size, uint32_t ways, uint32_t *sets);
/* The same for a level's keys (pcache_l1_params, pcache_l2_params, or a
 * LLC's), reported at its size's mark under keypath.key; may_be_none
 * accepts size 0 (no such level). Returns 0 or ORR_ESCHEMA. */
int pcache_check_level(const struct orr_params *level, const char *keypath, const char *key,
                       bool may_be_none, struct orr_diag *d);

/* ------------------------------------------------------- whole-line access */

/* Whole-line operations, for agents whose requesters speak the line
 * protocol of mem.h (coh_port.c). They are not core operations, so they
 * are numbered past enum orr_cpu_op. A line read takes read permission and
 * is checked by the monitor like a 64-byte load; a line write takes write
 * permission and is a 64-byte store. */
enum { PC_OP_LINE_READ = 32, PC_OP_LINE_WRITE = 33 };

/* As pcache_access, for r->op PC_OP_LINE_READ (the line's bytes are copied
 * into buf when the read performs) or PC_OP_LINE_WRITE (buf's bytes become
 * the line's when the write performs), on the line holding r->addr; size,
 * val and expect are ignored. After PC_MISS, buf must stay valid until
 * done() (whose value is 0). */
enum pcache_rc pcache_access_line(struct pcache *pc, const struct pc_req *r, uint8_t *buf,
                                  uint32_t *cycles);

/* ------------------------------------------- configuration from parameters */

/* The keys of a private hierarchy, declared once for every type that
 * embeds one (tcore, isacore, coh_port) and for the machine that builds
 * them (docs/coherence.md):
 *   pcache_l1_params, pcache_l2_params   one cache level: size, ways, latency
 *   pcache_params      what a user sets: coh_agent_params (protocol,
 *                      mutation, check, frequency), l1d: and l2: (the
 *                      levels), replacement, mshrs, snoop_latency,
 *                      trace_states, deadlock
 *   pcache_domain_params   where the hierarchy sits in a coherence domain:
 *                      agent and homes (a machine computes both)
 *   pcache_home_params one `homes` entry: base, size, agent, name
 * A type includes pcache_params and pcache_domain_params in its schema
 * ({"", ORR_P_INCLUDE, .group = pcache_params}). */
extern const struct orr_param pcache_l1_params[];
extern const struct orr_param pcache_l2_params[];
extern const struct orr_param pcache_params[];
extern const struct orr_param pcache_domain_params[];
extern const struct orr_param pcache_home_params[];

/* A configuration read from those keys, and what it owns. */
struct pcache_setup {
    struct pcache_config cfg;      /* cfg.aHome points into aHome */
    struct pc_home_range *aHome;
    struct coh_protocol *mutated;  /* the mutated table, if `mutation` is set */
};

/* Read the hierarchy's keys of component c into s: the homes (in address
 * order, without overlap), the protocol (and its mutation, recorded as knob
 * `mutation`), the geometry (checked) and the clock. Errors go to d with
 * the key's position (ORR_ESCHEMA). Free with pcache_setup_free, after
 * pcache_free: the pcache uses the table. */
int pcache_setup_parse(struct pcache_setup *s, struct orr_component *c,
                       const struct orr_params *p, struct orr_diag *d);
void pcache_setup_free(struct pcache_setup *s);
/* The load-time checks of the prefetch keys of a hierarchy's params p
 * (pcache_params): superqueue 0 or >= mshrs, and each level's prefetch
 * list (pf_check_level). Returns 0 or ORR_ESCHEMA. */
int pcache_check_prefetch(const struct orr_params *p, const char *keypath, struct orr_diag *d);

#endif
