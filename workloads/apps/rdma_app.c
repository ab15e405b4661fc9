/* rdma_app: setup, bounded send queues, failure policy, group observer and
 * host memory access for the RDMA workloads (rdma_app.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hostmem.h"
#include "rdma_app.h"
#include "orrery/error.h"

const struct orr_param rapp_params[] = {
    {"node", ORR_P_UINT, "0", 0, "this node's number (the cluster builder sets it)", NULL, 0,
     1048574},
    {"nodes", ORR_P_UINT, "1", ORR_PF_POSITIVE, "nodes in the cluster (the builder sets it)", NULL,
     1, 1048575},
    {"buffers", ORR_P_SIZE, "4MiB", 0,
     "host address of this workload's buffers (4 KiB CM area first); clear of the rnic's WQE "
     "and CQE regions (0-2 MiB by default)"},
    {"start", ORR_P_TIME, "0ns", 0, "begin at this time, or when connected if later"},
    {"timeout", ORR_P_TIME, "2ms", ORR_PF_POSITIVE,
     "no completion for this long while work is outstanding: the workload fails (a peer died)"},
    {"allow_errors", ORR_P_BOOL, "false", 0,
     "an error completion or stall ends this workload (counted) without failing the run"},
    {"qp_depth", ORR_P_UINT, "128", ORR_PF_POSITIVE,
     "WRs per send/receive queue; more wait in the workload", NULL, 1, 65536},
    {"", ORR_P_INCLUDE, .group = vh_cm_params}, /* cm_retry */
    {"cm_retries", ORR_P_UINT, "50", ORR_PF_POSITIVE, "HELLO resends before a connection fails"},
    {NULL},
};

enum { COOKIE_CQ = 1, COOKIE_QP = 2 };

static struct rapp *app_of(struct verbs_host *vh) { return vh->user; }

/* --- group observer -------------------------------------------------------- */

static struct rapp_group *group_get(struct orr_component *c)
{
    char name[96];
    snprintf(name, sizeof name, "workloads.rdma_app.%s", c->type->name);
    return orr_sim_observer(c->sim, name, sizeof(struct rapp_group), NULL);
}

static void group_end(struct rapp *a, bool ok)
{
    struct rapp_group *g = a->group;
    if (ok)
        g->finished++;
    else
        g->failed++;
    if (a->end_time > g->last_finish)
        g->last_finish = a->end_time;
}

/* --- the run's end, one way or the other ---------------------------------- */

static void end(struct rapp *a, bool ok)
{
    if (a->done)
        return;
    a->done = true;
    a->failed = !ok;
    a->end_time = orr_now(a->c->sim);
    if (a->begun)
        a->v_time->v = (double)(a->end_time - a->begin_time) / 1e6;
    group_end(a, ok);
    orr_workload_done(a->c);
}

void rapp_finish(struct rapp *a) { end(a, true); }

void rapp_fail(struct rapp *a, const char *fmt, ...)
{
    if (a->done)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    end(a, false);
    if (!a->allow_errors)
        orr_sim_fail(a->c, "node %u: %s (%llu error completions)", a->node, msg,
                     (unsigned long long)a->errors->v);
}

static void error_cqe(struct rapp *a, const struct rdma_cqe *e)
{
    a->errors->v++;
    a->group->errors++;
    if (!a->done) {
        uint32_t qi = rapp_qp_index(a, e->qpn);
        rapp_fail(a, "error completion '%s' on QP %u (to node %u)",
                  rdma_wc_status_str((enum rdma_wc_status)e->status), e->qpn,
                  qi == UINT32_MAX ? 0 : a->aQp[qi].peer);
    }
}

/* --- stall watchdog ------------------------------------------------------- */

void rapp_progress(struct rapp *a) { a->last_progress = orr_now(a->c->sim); }

static void watchdog_arm(struct rapp *a, orr_time_t delay)
{
    if (a->watchdog_armed || a->done)
        return;
    a->watchdog_armed = true;
    orr_timer(a->c, delay, RAPP_TAG_WATCHDOG, 0, 0);
}

static void watchdog(struct rapp *a)
{
    a->watchdog_armed = false;
    if (a->done)
        return;
    orr_time_t now = orr_now(a->c->sim), idle = now - a->last_progress;
    if (idle >= a->timeout) {
        a->stalls->v++;
        a->group->stalled++;
        rapp_fail(a, "stalled: no completion for %llu us (%s)",
                  (unsigned long long)(idle / 1000000),
                  a->begun ? "a peer stopped answering" : "connection setup did not finish");
        return;
    }
    watchdog_arm(a, a->timeout - idle);
}

/* --- setup ---------------------------------------------------------------- */

static void begin(struct rapp *a)
{
    if (a->begun || a->done)
        return;
    a->begun = true;
    a->begin_time = orr_now(a->c->sim);
    struct rapp_group *g = a->group;
    if (!g->begun || a->begin_time < g->first_begin)
        g->first_begin = a->begin_time;
    if (a->begin_time > g->last_begin)
        g->last_begin = a->begin_time;
    g->begun++;
    rapp_progress(a);
    a->ops->on_begin(a);
}

static void all_up(struct rapp *a)
{
    orr_time_t now = orr_now(a->c->sim);
    if (a->start_at > now)
        orr_timer(a->c, a->start_at - now, RAPP_TAG_BEGIN, 0, 0);
    else
        begin(a);
}

static void on_cm_ready(struct verbs_host *vh)
{
    struct rapp *a = app_of(vh);
    uint64_t depth = (uint64_t)(a->nQp ? a->nQp : 1) * a->qp_depth * 2 + 64;
    vh_create_cq(vh, depth > 1048576 ? 1048576 : (uint32_t)depth, (uint64_t)COOKIE_CQ << 32);
}

static void on_ctl(struct verbs_host *vh, const struct rdma_ctl *ctl)
{
    struct rapp *a = app_of(vh);
    uint32_t what = (uint32_t)(ctl->cookie >> 32);
    if (ctl->result <= 0) {
        rapp_fail(a, "control verb %u failed (%lld)", ctl->op, (long long)ctl->result);
        return;
    }
    if (what == COOKIE_CQ) {
        a->cq = (uint32_t)ctl->result;
        for (uint32_t i = 0; i < a->nQp; i++)
            vh_create_qp(vh, RDMA_QPT_RC, a->cq, a->cq, a->qp_depth,
                         (uint64_t)COOKIE_QP << 32 | i);
        if (!a->nQp)
            all_up(a);
    } else if (what == COOKIE_QP) {
        uint32_t i = (uint32_t)ctl->cookie;
        a->aQp[i].qpn = (uint32_t)ctl->result;
        vh_cm_connect(vh, a->aQp[i].peer, a->aQp[i].tag, a->aQp[i].qpn);
    }
}

static void on_connected(struct verbs_host *vh, uint32_t peer, uint32_t tag, uint32_t qpn)
{
    struct rapp *a = app_of(vh);
    rapp_progress(a);
    if (!qpn) {
        rapp_fail(a, "could not connect to node %u (tag %u)", peer, tag);
        return;
    }
    uint32_t i = rapp_qp_index(a, qpn);
    if (i == UINT32_MAX || a->aQp[i].up)
        return;
    a->aQp[i].up = true;
    if (++a->nUp == a->nQp)
        all_up(a);
}

static void drain_wait(struct rapp *a, struct rapp_qp *q)
{
    while (q->wait.n && q->inflight < a->qp_depth) {
        vh_post_send(&a->vh, orr_ring_at(&q->wait, sizeof(struct rdma_wr), 0));
        orr_ring_pop(&q->wait);
        q->inflight++;
    }
}

static void on_cqe(struct verbs_host *vh, const struct rdma_cqe *e)
{
    struct rapp *a = app_of(vh);
    uint32_t qi = rapp_qp_index(a, e->qpn);
    bool is_send = e->opcode != RDMA_WC_RECV && e->opcode != RDMA_WC_RECV_RDMA_WITH_IMM;
    if (qi != UINT32_MAX && is_send && a->aQp[qi].inflight) {
        a->aQp[qi].inflight--;
        drain_wait(a, &a->aQp[qi]);
    }
    if (e->status != RDMA_WC_SUCCESS) {
        error_cqe(a, e);
        return;
    }
    if (a->done)
        return;
    rapp_progress(a);
    a->ops->on_cqe(a, e);
}

/* --- public ----------------------------------------------------------------- */

void rapp_create(struct rapp *a, struct orr_component *c, const struct orr_params *p,
                 const struct rapp_ops *ops, void *user)
{
    static const struct vh_callbacks cb = {
        .on_ctl = on_ctl, .on_cqe = on_cqe, .on_connected = on_connected,
        .on_cm_ready = on_cm_ready,
    };
    a->c = c;
    a->ops = ops;
    a->user = user;
    a->node = (uint32_t)orr_param_u64(p, "node");
    a->nodes = (uint32_t)orr_param_u64(p, "nodes");
    a->buffers = orr_param_u64(p, "buffers");
    a->start_at = orr_param_u64(p, "start");
    a->timeout = orr_param_u64(p, "timeout");
    a->allow_errors = orr_param_bool(p, "allow_errors");
    a->qp_depth = (uint32_t)orr_param_u64(p, "qp_depth");
    a->cm_retry = orr_param_u64(p, "cm_retry");
    a->cm_retries = (unsigned)orr_param_u64(p, "cm_retries");
    vh_init(&a->vh, c, "rnic", a->node, &cb, a);
    a->errors = orr_counter_new(c, "error_completions", "cqe");
    a->stalls = orr_counter_new(c, "stalls", "event");
    a->v_time = orr_value_new(c, "run_time", "us");
    a->group = group_get(c);
    a->mem = hostmem_for(c, NULL); /* shared state: declared while building */
    a->group->members++;
}

uint32_t rapp_add_qp(struct rapp *a, uint32_t peer, uint32_t tag)
{
    if (a->nQp == a->capQp) {
        a->capQp = a->capQp ? a->capQp * 2 : 4;
        a->aQp = realloc(a->aQp, a->capQp * sizeof *a->aQp);
        if (!a->aQp)
            orr_oom();
    }
    a->aQp[a->nQp] = (struct rapp_qp){.peer = peer, .tag = tag};
    return a->nQp++;
}

int rapp_start(struct rapp *a, struct orr_diag *d)
{
    int rc = vh_check_linked(&a->vh, d);
    if (rc)
        return rc;
    struct orr_port *peer = orr_port_peer(a->vh.port);
    if (!peer || strcmp(peer->owner->type->name, "rnic") != 0) {
        orr_diag_error(d, &a->c->mark, a->c->keypath, "port 'rnic' of %s must be linked to an "
                       "rnic's host port", a->c->path);
        return ORR_ESCHEMA;
    }
    vh_cm_start(&a->vh, a->cm_retry, a->cm_retries, a->buffers);
    a->last_progress = 0;
    watchdog_arm(a, a->timeout > a->start_at ? a->timeout : a->start_at + a->timeout);
    return 0;
}

void rapp_handle(struct rapp *a, const struct orr_event *ev)
{
    if (vh_handle(&a->vh, ev))
        return;
    if (ev->kind != ORR_TK_TIMER)
        return;
    if (ev->port == RAPP_TAG_BEGIN)
        begin(a);
    else if (ev->port == RAPP_TAG_WATCHDOG)
        watchdog(a);
    else if (!a->done && a->ops->on_timer)
        a->ops->on_timer(a, ev->port, ev->data[0], ev->data[1]);
}

void rapp_destroy(struct rapp *a)
{
    for (uint32_t i = 0; i < a->nQp; i++)
        orr_ring_free(&a->aQp[i].wait);
    free(a->aQp);
    vh_destroy(&a->vh);
}

uint32_t rapp_qp_index(const struct rapp *a, uint32_t qpn)
{
    for (uint32_t i = 0; i < a->nQp; i++)
        if (a->aQp[i].qpn == qpn)
            return i;
    return UINT32_MAX;
}

void rapp_send(struct rapp *a, uint32_t qi, struct rdma_wr *wr)
{
    struct rapp_qp *q = &a->aQp[qi];
    wr->qpn = q->qpn;
    wr->flags |= RDMA_F_SIGNALED;
    if (!q->wait.n && q->inflight < a->qp_depth) {
        q->inflight++;
        vh_post_send(&a->vh, wr);
        return;
    }
    *(struct rdma_wr *)orr_ring_push(&q->wait, sizeof *wr) = *wr;
}

void rapp_recv(struct rapp *a, uint32_t qi, uint64_t wr_id, uint64_t laddr, uint32_t len)
{
    vh_post_recv(&a->vh, a->aQp[qi].qpn, wr_id, laddr, len);
}

/* --- host memory --------------------------------------------------------------
 *
 * A functional (untimed) access to the node's memory (mem/hostmem.h), as a
 * CPU's loads and stores see it: the same bytes the node's rnic (internal
 * backend) or flatmem (behind a root complex) serve to DMA. The workload
 * charges its own compute time. An rnic with host_memory_data: false marks
 * the memory timing-only: then there are no bytes (rapp_mem_real says so). */

static struct hostmem *node_mem(struct rapp *a) { return a->mem; }

bool rapp_mem_real(struct rapp *a) { return !node_mem(a)->timing_only; }

void rapp_mem_write(struct rapp *a, uint64_t addr, const void *buf, uint32_t len)
{
    hostmem_write(node_mem(a), addr, buf, len);
}

void rapp_mem_read(struct rapp *a, uint64_t addr, void *buf, uint32_t len)
{
    hostmem_read(node_mem(a), addr, buf, len);
}
