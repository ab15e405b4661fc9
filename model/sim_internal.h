/* Private state of a simulation, shared by the files of model/ that
 * implement it (sim.c, simstats.c). Components never see this. */
#ifndef ORRERY_MODEL_SIM_INTERNAL_H
#define ORRERY_MODEL_SIM_INTERNAL_H

#include "evq.h"
#include "orrery/checkpoint.h"
#include "orrery/sim.h"

/* One direction of a link: the sending port's view. */
struct orr_link_dir {
    orr_time_t free_at;  /* serialiser idle from here on */
    bool waiting;        /* the sender was refused and a READY is scheduled */
    struct orr_counter *bytes, *msgs;
    struct orr_value *util;
    orr_time_t busy;     /* total serialisation time */
};

struct orr_link {
    orr_time_t latency;
    uint64_t bw_bps;
    struct orr_port *end[2];
    struct orr_link_dir dir[2]; /* dir[s] carries messages sent by end[s] */
};

struct orr_stat_entry {
    uint32_t comp;
    enum orr_metric_kind kind;
    char *name, *unit;
    union {
        struct orr_counter counter;
        struct orr_gauge gauge;
        struct orr_value value;
        struct orr_histogram hist;
    } u;
};

struct orr_fault_entry {
    orr_time_t at;
    uint32_t comp;
    unsigned fault;
    struct orr_params params;
};

/* Per-component bookkeeping the engine keeps beside the public struct. */
struct orr_component_priv {
    struct orr_component pub;
    struct orr_params params;
    bool done; /* workload reported done */
};

struct orr_blob_slot {
    void *p;
    size_t size, cap;
    uint32_t next_free; /* free-list link (a handle), valid while free */
    bool used;
};

struct orr_shared {
    char *name;
    void *p;
    void (*fini)(void *);
    bool state;        /* shared state (users recorded), else an observer */
    uint32_t *aUser;   /* state: component ids that declared it, ascending */
    size_t nUser, nUserAlloc;
    orr_shared_save_fn save;       /* orr_sim_shared_ckpt; NULL: cannot be saved */
    orr_shared_restore_fn restore;
};

struct orr_sim {
    struct orr_sim_options opt;
    orr_time_t now;
    struct orr_evq q;
    uint64_t nDispatched;
    uint64_t nBeyondHorizon; /* events not queued: at or after ORR_TIME_HORIZON */
    uint64_t engine_seq; /* sequence numbers of engine-originated events */

    struct orr_component_priv **aComp;
    size_t nComp, nCompAlloc;
    uint64_t *aCompEvents; /* records per component id (filled at start) */
    /* path -> id, open addressing, capacity a power of two */
    uint32_t *aIndex;
    size_t nIndexCap;

    struct orr_link **aLink;
    size_t nLink, nLinkAlloc;

    /* stats live in fixed-size chunks so pointers handed out stay valid */
    struct orr_stat_entry **aStatChunk;
    size_t nStat, nStatChunkAlloc;

    struct orr_fault_entry *aFault;
    size_t nFault, nFaultAlloc;

    /* message payload blocks (blob.c): slot i holds handle i+1 */
    struct orr_blob_slot *aBlob;
    size_t nBlob, nBlobAlloc, nBlobLive;
    uint32_t blob_free; /* head of the free list: a handle, 0 = empty */

    struct orr_node_arena *nodes; /* orr_sim_nodes, created on first use */
    struct orr_shared *aShared; /* shared objects (shared.c), in creation order */
    size_t nShared, nSharedAlloc;
    uint32_t *aSharedIndex;     /* name hash -> index + 1 (0 = empty), open addressing */
    size_t nSharedIndexCap;
    uint32_t *aColoc;           /* union-find parents over component ids (shared.c) */
    size_t nColoc;

    char **aKindName; /* trace kinds; index = kind */
    size_t nKind, nKindAlloc;

    unsigned nWorkload, nWorkloadDone;
    char *failure; /* first orr_sim_fail message, "path: text" */
    bool failure_input; /* ... reported with orr_sim_fail_input */
    char **aKnob;  /* "path.key=value" (orr_sim_knob) */
    size_t nKnob, nKnobAlloc;
    bool started, finished;

    struct orr_digest digest;
    uint8_t *dbuf; /* encoded records not yet fed to the digest */
    size_t ndbuf;
    struct orr_trace_writer *trace;
    int trace_rc;

    /* stepped runs (orr_sim_step_*) and their watcher */
    struct orr_run_hooks step_hooks;
    int step_stop; /* the reason a step stopped, or -1 */
    void (*watch)(void *arg, orr_time_t when, uint32_t target);
    void *watch_arg;

    /* after finish */
    struct orr_metric *aMetric;
    size_t nMetric;
    struct orr_hist_summary *aHist;
    size_t nHist;
    char **aMetricName; /* owned strings referenced by aMetric/aHist */
    size_t nMetricName, nMetricNameAlloc;
};

#define ORR_STAT_CHUNK 256
#define ORR_DIGEST_BATCH 64 /* records buffered before hashing */

/* Register a stat on c that docs declares (the type's metrics, or the
 * engine's orr_link_metrics for link stats); aborts if none does. */
struct orr_stat_entry *orr__stat_add(struct orr_component *c, const struct orr_metric_doc *docs,
                                     enum orr_metric_kind kind, const char *name,
                                     const char *unit);
struct orr_stat_entry *orr__stat_at(const struct orr_sim *s, size_t i);
void orr__stats_free(struct orr_sim *s);
void orr__stats_flatten(struct orr_sim *s);

void orr__blob_free_all(struct orr_sim *s);
void orr__shared_free_all(struct orr_sim *s);

#endif
