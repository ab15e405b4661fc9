/* rdma_app: what the RDMA workloads (allreduce, kv, rdma_incast) share on
 * top of verbs_host: the setup sequence, a bounded send queue per QP, host
 * memory access, the failure policy and per-group statistics
 * (docs/collectives.md).
 *
 * Setup, per component:
 *
 *   start -> vh_cm_start -> CM ready -> CREATE_CQ -> CREATE_QP (each QP
 *   added with rapp_add_qp, in order) -> vh_cm_connect (each) -> all UP
 *   -> at max(now, `start`): ops->on_begin
 *
 * Failure policy. The workload never waits for something that cannot come:
 *   - an error completion (a peer died: retries exhausted, a flushed WR),
 *   - a connection the CM gave up on,
 *   - no completion at all for `timeout` while work is outstanding (the
 *     peer upstream died, so nothing will ever arrive: there is no error
 *     to see, only silence)
 * each mark the component failed and done at once (orr_workload_done), so
 * a run with `stop: {workloads_done: true}` ends promptly. Unless
 * `allow_errors` is set, the first such failure also fails the run
 * (orr_sim_fail, exit 1) with the reason. Error completions are counted
 * (per component and per group) either way.
 *
 * Group. The components of one type in a simulation form a group (one
 * collective, one KV service, one incast) sharing an observer object
 * (orr_sim_observer): who started when, who finished or failed. It only
 * observes — behaviour travels through the rnic — and the component that
 * calls rapp_group_report reports the group's figures.
 *
 * Host memory. The rnic's internal backend holds the host's bytes; a
 * workload's own reads and writes of its buffers (filling a vector,
 * reducing, checking a value) go through rapp_mem_read/write, which are
 * free in simulated time: the workload charges compute time itself. */
#ifndef ORRERY_WORKLOADS_RDMA_APP_H
#define ORRERY_WORKLOADS_RDMA_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "orrery/ring.h"
#include "verbs_host.h"

struct hostmem;

/* timer tags the app layer uses (workloads use tags below 0x100) */
#define RAPP_TAG_BEGIN 0x100u
#define RAPP_TAG_WATCHDOG 0x101u
#define RAPP_CM_BYTES 4096u /* CM receive buffers at the start of `buffers` */

/* Keys every RDMA workload has (node, nodes, buffers, start, timeout,
 * allow_errors, qp_depth, cm_retry, cm_retries): include them in its
 * schema ({"", ORR_P_INCLUDE, .group = rapp_params}). */
extern const struct orr_param rapp_params[];

struct rapp;

struct rapp_ops {
    /* Every QP is connected and `start` has come. */
    void (*on_begin)(struct rapp *a);
    /* A successful completion (errors are the app layer's). */
    void (*on_cqe)(struct rapp *a, const struct rdma_cqe *e);
    /* A timer with a workload tag (< 0x100). */
    void (*on_timer)(struct rapp *a, uint16_t tag, uint64_t x, uint64_t y);
};

struct rapp_qp {
    uint32_t peer, tag, qpn;
    bool up;
    /* send WRs not yet posted because qp_depth are in flight (FIFO) */
    struct orr_ring wait; /* of struct rdma_wr: beyond qp_depth */
    uint32_t inflight; /* posted sends not completed */
};

struct rapp_group {
    uint32_t members, begun, finished, failed, stalled;
    uint64_t errors;
    orr_time_t first_begin, last_begin, last_finish;
};

struct rapp {
    struct verbs_host vh;
    struct orr_component *c;
    struct hostmem *mem; /* the node's memory, found on first use */
    const struct rapp_ops *ops;
    void *user;
    /* params */
    uint32_t node, nodes, qp_depth;
    uint64_t buffers;
    orr_time_t start_at, timeout, cm_retry;
    unsigned cm_retries;
    bool allow_errors;
    /* objects */
    uint32_t cq;
    struct rapp_qp *aQp;
    uint32_t nQp, capQp, nCreated, nUp;
    /* progress */
    bool begun, done, failed;
    orr_time_t begin_time, end_time, last_progress;
    struct rapp_group *group;
    struct orr_counter *errors, *stalls;
    struct orr_value *v_time;
    bool watchdog_armed;
};

/* The stats rapp_create registers (verbs_host's among them): rows for the
 * workload type's metrics table (orrery/stats.h). */
#define RAPP_METRICS                                                                               \
    VH_METRICS,                                                                                    \
    {"error_completions", "cqe", ORR_METRIC_COUNTER, "error completions this workload saw"},       \
    {"stalls", "event", ORR_METRIC_COUNTER,                                                        \
     "times no completion came for `timeout` while work was outstanding"},                         \
    {"run_time", "us", ORR_METRIC_VALUE, "from the workload's begin to its end (done or failed)"}

/* From create: read rapp_params, add the `rnic` port and stats. */
void rapp_create(struct rapp *a, struct orr_component *c, const struct orr_params *p,
                 const struct rapp_ops *ops, void *user);
/* From create: a QP to peer (both ends use the same tag); returns its index. */
uint32_t rapp_add_qp(struct rapp *a, uint32_t peer, uint32_t tag);
/* From start. */
int rapp_start(struct rapp *a, struct orr_diag *d);
void rapp_handle(struct rapp *a, const struct orr_event *ev);
void rapp_destroy(struct rapp *a);

/* Index of the QP with local number qpn, or UINT32_MAX. */
uint32_t rapp_qp_index(const struct rapp *a, uint32_t qpn);
/* Post a send WR on QP index qi (qpn filled in; signaled); it waits in the
 * workload while qp_depth sends are in flight on that QP. */
void rapp_send(struct rapp *a, uint32_t qi, struct rdma_wr *wr);
void rapp_recv(struct rapp *a, uint32_t qi, uint64_t wr_id, uint64_t laddr, uint32_t len);

/* The workload made progress (resets the stall watchdog). */
void rapp_progress(struct rapp *a);
/* The workload finished its work successfully. */
void rapp_finish(struct rapp *a);
/* The workload cannot go on (reason printf-style). */
void rapp_fail(struct rapp *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Host memory of this node (the rnic's store): free in simulated time. */
void rapp_mem_write(struct rapp *a, uint64_t addr, const void *buf, uint32_t len);
void rapp_mem_read(struct rapp *a, uint64_t addr, void *buf, uint32_t len);
/* True if host memory holds bytes (the rnic's host_memory_data). */
bool rapp_mem_real(struct rapp *a);

#endif
