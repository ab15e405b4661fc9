/* rdma_incast: every node but `target` sends `count` messages of `size`
 * bytes to the target at once, over one RC QP each, keeping `outstanding`
 * in flight (docs/collectives.md). Messages are WRITE_IMM into a region
 * per sender at the target (op: write) or SENDs into posted receive
 * buffers (op: send); either way the target sees one receive completion
 * per message, which is how it measures goodput.
 *
 * Figures: each sender's completion time (begin to last completion: its
 * run_time), the target's goodput (payload bits over begin to last
 * arrival), and at the target the distribution of sender completion times
 * over the group. What the fabric did about it (drops, ECN marks, PFC
 * pauses) is in the switches' and rnics' own stats. */
#include <stdio.h>
#include <stdlib.h>

#include "rdma_app.h"
#include "orrery/error.h"

enum { OP_WRITE, OP_SEND };
static const char *const ops[] = {"write", "send", NULL};

static const struct orr_param inc_params[] = {
    {"", ORR_P_INCLUDE, .group = rapp_params},
    {"target", ORR_P_UINT, "0", 0, "the node everyone sends to"},
    {"size", ORR_P_SIZE, "64KiB", ORR_PF_POSITIVE, "bytes per message", NULL, 1, RDMA_MAX_MSG},
    {"count", ORR_P_UINT, "16", 0, "messages per sender"},
    {"op", ORR_P_ENUM, "write", 0, "write (WRITE_IMM) or send", ops},
    {"outstanding", ORR_P_UINT, "4", ORR_PF_POSITIVE, "messages in flight per sender", NULL, 1,
     65536},
    {NULL},
};

static const struct orr_port_doc inc_ports[] = {
    {"rnic", "to the node's rnic `host` port (include/orrery/rdma.h)"},
    {NULL},
};

struct inc_shared {
    struct orr_histogram done_us; /* senders' completion times */
};

static void shared_fini(void *p) { orr_histogram_free(&((struct inc_shared *)p)->done_us); }

struct inc {
    struct rapp app;
    bool target;
    unsigned op;
    uint32_t target_node, size, outstanding;
    uint64_t count, posted, completed, expected, received, rx_bytes, region;
    orr_time_t last_rx;
    uint64_t *aPosted; /* target: receives posted per sender QP */
    struct inc_shared *sh;
    struct orr_counter *c_msgs, *c_bytes;
    struct orr_value *v_goodput, *v_last;
    struct orr_histogram *h_senders;
};

static struct inc *inc_of(struct rapp *a) { return a->user; }

static void post_recvs(struct inc *s)
{
    /* one receive window per sender QP: qp_depth ahead */
    for (uint32_t qi = 0; qi < s->app.nQp; qi++)
        for (; s->aPosted[qi] < s->app.qp_depth && s->aPosted[qi] < s->count; s->aPosted[qi]++)
            rapp_recv(&s->app, qi, s->aPosted[qi], s->region, s->op == OP_SEND ? s->size : 0);
}

static void send_one(struct inc *s)
{
    uint64_t laddr = s->app.buffers + RAPP_CM_BYTES;
    struct rdma_wr wr = {.wr_id = s->posted, .laddr = laddr, .length = s->size,
                         .imm = (uint32_t)s->posted};
    if (s->op == OP_SEND) {
        wr.opcode = RDMA_OP_SEND;
    } else {
        wr.opcode = RDMA_OP_WRITE_IMM;
        wr.raddr = s->region + (uint64_t)s->app.node * s->size;
    }
    s->posted++;
    rapp_send(&s->app, 0, &wr);
}

static void inc_begin(struct rapp *a)
{
    struct inc *s = inc_of(a);
    if (s->target) {
        s->expected = s->count * (a->nodes - 1);
        post_recvs(s);
        if (!s->expected)
            rapp_finish(a);
        return;
    }
    for (uint32_t i = 0; i < s->outstanding && s->posted < s->count; i++)
        send_one(s);
    if (!s->count)
        rapp_finish(a);
}

static void inc_cqe(struct rapp *a, const struct rdma_cqe *e)
{
    struct inc *s = inc_of(a);
    if (s->target) {
        uint32_t qi = rapp_qp_index(a, e->qpn);
        s->received++;
        s->rx_bytes += e->byte_len;
        s->c_msgs->v++;
        s->c_bytes->v += e->byte_len;
        s->last_rx = orr_now(a->c->sim);
        /* the receive just used: replace it if its sender has more to come */
        if (qi != UINT32_MAX && s->aPosted[qi] < s->count) {
            s->aPosted[qi]++;
            rapp_recv(a, qi, 0, s->region, s->op == OP_SEND ? s->size : 0);
        }
        if (s->received == s->expected)
            rapp_finish(a);
        return;
    }
    s->completed++;
    s->c_msgs->v++;
    s->c_bytes->v += s->size;
    if (s->posted < s->count)
        send_one(s);
    else if (s->completed == s->count) {
        rapp_finish(a);
        orr_histogram_add(&s->sh->done_us, (a->end_time - a->begin_time) / 1000000);
    }
}

static const struct rapp_ops inc_ops = {.on_begin = inc_begin, .on_cqe = inc_cqe};

static int inc_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct inc *s = c->state;
    struct rapp *a = &s->app;
    rapp_create(a, c, p, &inc_ops, s);
    s->target_node = (uint32_t)orr_param_u64(p, "target");
    s->size = (uint32_t)orr_param_u64(p, "size");
    s->count = orr_param_u64(p, "count");
    s->op = orr_param_enum(p, "op");
    s->outstanding = (uint32_t)orr_param_u64(p, "outstanding");
    s->target = a->node == s->target_node;
    s->region = a->buffers + RAPP_CM_BYTES + s->size; /* after the senders' source buffer */
    if (s->target_node >= a->nodes) {
        char kp[256];
        snprintf(kp, sizeof kp, "%s.target", c->keypath ? c->keypath : c->path);
        orr_diag_error(d, orr_param_mark(p, "target"), kp, "target %u is not a node of the "
                       "cluster (%u nodes)", s->target_node, a->nodes);
        return ORR_ESCHEMA;
    }
    s->sh = orr_sim_observer(c->sim, "workloads.rdma_incast", sizeof *s->sh, shared_fini);
    if (s->target) {
        for (uint32_t n = 0; n < a->nodes; n++)
            if (n != a->node)
                rapp_add_qp(a, n, 1 + n);
        s->aPosted = calloc(a->nQp ? a->nQp : 1, sizeof *s->aPosted);
        if (!s->aPosted)
            orr_oom();
        s->c_msgs = orr_counter_new(c, "messages_received", "msg");
        s->c_bytes = orr_counter_new(c, "bytes_received", "B");
        s->v_goodput = orr_value_new(c, "goodput", "Gbit/s");
        s->v_last = orr_value_new(c, "last_arrival", "us");
        s->h_senders = orr_histogram_new(c, "sender_completion", "us");
    } else {
        rapp_add_qp(a, s->target_node, 1 + a->node);
        s->c_msgs = orr_counter_new(c, "messages_sent", "msg");
        s->c_bytes = orr_counter_new(c, "bytes_sent", "B");
    }
    return 0;
}

static int inc_start(struct orr_component *c, struct orr_diag *d)
{
    struct inc *s = c->state;
    return rapp_start(&s->app, d);
}

static void inc_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct inc *s = c->state;
    rapp_handle(&s->app, ev);
}

static void inc_finish(struct orr_component *c)
{
    struct inc *s = c->state;
    if (!s->target)
        return;
    orr_histogram_merge(s->h_senders, &s->sh->done_us);
    if (s->app.begun && s->last_rx > s->app.begin_time) {
        s->v_goodput->v = (double)s->rx_bytes * 8.0 / (double)(s->last_rx - s->app.begin_time) *
                          1000.0;
        s->v_last->v = (double)(s->last_rx - s->app.begin_time) / 1e6;
    }
}

static void inc_destroy(struct orr_component *c)
{
    struct inc *s = c->state;
    free(s->aPosted);
    rapp_destroy(&s->app);
}

static const struct orr_metric_doc inc_metrics[] = {
    RAPP_METRICS,
    {"messages_received", "msg", ORR_METRIC_COUNTER, "target: messages received"},
    {"bytes_received", "B", ORR_METRIC_COUNTER, "target: payload bytes received"},
    {"goodput", "Gbit/s", ORR_METRIC_VALUE, "target: payload bits over begin to last arrival"},
    {"last_arrival", "us", ORR_METRIC_VALUE, "target: begin to the last message's arrival"},
    {"sender_completion", "us", ORR_METRIC_HISTOGRAM,
     "target: the senders' completion times (begin to last completion)"},
    {"messages_sent", "msg", ORR_METRIC_COUNTER, "sender: messages completed"},
    {"bytes_sent", "B", ORR_METRIC_COUNTER, "sender: payload bytes of those messages"},
    {NULL},
};

const struct orr_component_type orr_rdma_incast_type = {
    .name = "rdma_incast",
    .summary = "N-1 RDMA senders WRITE_IMM or SEND to one target at once (a workload on an rnic)",
    .params = inc_params,
    .ports = inc_ports,
    .metrics = inc_metrics,
    .state_size = sizeof(struct inc),
    .workload = true,
    .create = inc_create,
    .start = inc_start,
    .handle = inc_handle,
    .finish = inc_finish,
    .destroy = inc_destroy,
};
