/* coh_port: a coherent agent with a line-protocol front. Whatever speaks
 * the line protocol of mem.h — a tlm_initiator carrying a SystemC
 * initiator's transactions, a test requester, any component — can send RD
 * and WR of 64-byte lines into port `cpu` and have them performed in a
 * private cache hierarchy (pcache.h) that takes part in the machine's
 * coherence protocol through port `mem`, exactly as a tcore's does.
 *
 *   RD line   read permission, then RD_RESP with the line's bytes
 *   WR line   write permission, the 64 bytes become the line's, then WR_ACK
 *
 * Responses carry the request's tag back unchanged; those of different
 * lines may overtake each other (a hit passes a miss). A hit is answered
 * after the L1 (or L2) hit latency, a miss when its grant arrives.
 *
 * A request's life:
 *
 *   QUEUED --pcache takes it--> HIT    --hit latency--> answered
 *      ^  \                  \-> MISS  --done()------> answered
 *      |   \--PC_RETRY--> QUEUED (head of the FIFO; wake() resumes)
 *
 * Invariants:
 *   1. Requests are offered to the pcache in arrival order (one FIFO); the
 *      head waits while the pcache refuses it, and nothing overtakes it.
 *   2. A slot (the 64-byte buffer the pcache fills or reads) is held from
 *      a miss until done(); slots in use <= MSHRs in use, so `mshrs` slots
 *      are always enough.
 *   3. Every request gets exactly one response; a refused send on a busy
 *      `cpu` link waits in order and leaves when the link frees, no earlier
 *      than it was due.
 *
 * Like a memory device, it never refuses a request: the FIFO grows
 * (`backlog` reports its peak); requesters bound what they have in flight.
 * Deterministic: no randomness beyond the pcache's seeded replacement. */
#include <stdlib.h>
#include <string.h>

#include "hw/cohmon.h"
#include "hw/pcache.h"
#include "orrery/mem.h"
#include "orrery/error.h"

static const struct orr_param coh_port_params[] = {
    {"", ORR_P_INCLUDE, .group = pcache_params},        /* protocol, caches, mshrs, ... */
    {"", ORR_P_INCLUDE, .group = pcache_domain_params}, /* agent, homes */
    {NULL},
};

static const struct orr_port_doc coh_port_ports[] = {
    {"cpu", "line requests in (mem.h RD/WR of 64-byte lines), RD_RESP/WR_ACK out"},
    {"mem", "coherence messages to and from the homes (through a router)"},
    {NULL},
};

enum { T_DEADLOCK = 1 };

struct cp_req {
    uint64_t line;
    orr_time_t arrived;
    uint16_t tag;
    uint8_t cmd;   /* ORR_MEM_RD or ORR_MEM_WR */
    bool waited;   /* could not be offered to the pcache on arrival */
    uint8_t data[ORR_LINE_BYTES];
};

struct cp_slot {
    bool used;
    struct cp_req req;
};

struct cp_out {
    struct orr_msg m;
    orr_time_t due;
};

struct coh_port {
    struct orr_component *c;
    struct pcache pc;
    struct pcache_setup setup;
    struct orr_port *cpu;
    orr_time_t deadlock;
    bool stalled;        /* the FIFO's head got PC_RETRY: wait for wake() */
    bool deadlock_armed;
    struct cp_req *aQueue; /* FIFO: [iQueueHead, nQueue) */
    size_t nQueue, iQueueHead, nQueueAlloc;
    struct cp_slot *aSlot;
    uint32_t nSlot;
    struct cp_out *aOut; /* responses refused by a busy link: [iOutHead, nOut) */
    size_t nOut, iOutHead, nOutAlloc;
    struct orr_counter *reads, *writes, *queued;
    struct orr_value *backlog;
    struct orr_histogram *latency;
};

/* Append to a FIFO held as [head, n) of an array, compacting before it grows. */
static void *fifo_push(void *arr, size_t elem, size_t *n, size_t *head, size_t *alloc)
{
    if (*n == *alloc && *head) {
        memmove(arr, (char *)arr + *head * elem, (*n - *head) * elem);
        *n -= *head;
        *head = 0;
    }
    if (*n == *alloc) {
        *alloc = *alloc ? 2 * *alloc : 8;
        if (!(arr = realloc(arr, *alloc * elem)))
            orr_oom();
    }
    return arr;
}

/* ------------------------------------------------------------- responses */

static void send_out(struct coh_port *p, const struct orr_msg *m, orr_time_t delay)
{
    if (p->iOutHead == p->nOut && orr_port_send(p->cpu, m, delay) != ORR_EBUSY)
        return;
    p->aOut = fifo_push(p->aOut, sizeof *p->aOut, &p->nOut, &p->iOutHead, &p->nOutAlloc);
    p->aOut[p->nOut++] = (struct cp_out){*m, orr_now(p->c->sim) + delay};
}

static void out_ready(struct coh_port *p)
{
    orr_time_t now = orr_now(p->c->sim);
    while (p->iOutHead < p->nOut) {
        const struct cp_out *o = &p->aOut[p->iOutHead];
        if (orr_port_send(p->cpu, &o->m, o->due > now ? o->due - now : 0) == ORR_EBUSY)
            return;
        p->iOutHead++;
    }
    p->nOut = p->iOutHead = 0;
}

/* Answer r `delay` from now: RD_RESP with its data, or WR_ACK. */
static void answer(struct coh_port *p, const struct cp_req *r, orr_time_t delay)
{
    struct orr_sim *sim = p->c->sim;
    bool rd = r->cmd == ORR_MEM_RD;
    struct orr_msg m = {ORR_MEM_HDR_BYTES,
                        {orr_mem_pack(r->line, rd ? ORR_MEM_RD_RESP : ORR_MEM_WR_ACK, r->tag), 0}};
    if (rd) {
        void *b;
        m.data[1] = orr_blob_new(sim, ORR_LINE_BYTES, &b);
        memcpy(b, r->data, ORR_LINE_BYTES);
        m.size += ORR_LINE_BYTES;
    }
    (rd ? p->reads : p->writes)->v++;
    orr_histogram_add(p->latency, orr_now(sim) + delay - r->arrived);
    send_out(p, &m, delay);
}

/* ------------------------------------------------------------ the cache */

static void on_done(void *arg, uint32_t tag, uint64_t value)
{
    struct coh_port *p = arg;
    (void)value;
    struct cp_slot *s = &p->aSlot[tag];
    answer(p, &s->req, 0);
    s->used = false;
}

static void on_wake(void *arg)
{
    struct coh_port *p = arg;
    p->stalled = false;
}

static void arm_deadlock(struct coh_port *p)
{
    if (p->deadlock_armed)
        return;
    p->deadlock_armed = true;
    orr_timer(p->c, p->deadlock / 2, T_DEADLOCK, 0, 0);
}

/* Armed only while lines are in flight, so an idle port lets a run end. */
static void deadlock_check(struct coh_port *p)
{
    orr_time_t oldest = 0;
    uint64_t line = 0;
    p->deadlock_armed = false;
    if (!pcache_inflight(&p->pc, &oldest, &line) || pcache_deadlocked(&p->pc, p->deadlock))
        return;
    arm_deadlock(p);
}

static struct cp_slot *free_slot(struct coh_port *p)
{
    for (uint32_t i = 0; i < p->nSlot; i++)
        if (!p->aSlot[i].used)
            return &p->aSlot[i];
    return NULL;
}

/* Offer the FIFO's requests to the pcache, in order, until it refuses one. */
static void pump(struct coh_port *p)
{
    while (p->iQueueHead < p->nQueue && !p->stalled) {
        struct cp_req *r = &p->aQueue[p->iQueueHead];
        struct cp_slot *s = free_slot(p); /* none: a done() frees one */
        if (!s) {
            r->waited = true;
            return;
        }
        s->req = *r;
        struct pc_req pr = {
            .op = r->cmd == ORR_MEM_RD ? PC_OP_LINE_READ : PC_OP_LINE_WRITE,
            .size = ORR_LINE_BYTES,
            .tag = (uint32_t)(s - p->aSlot),
            .addr = r->line,
        };
        uint32_t cycles = 0;
        enum pcache_rc rc = pcache_access_line(&p->pc, &pr, s->req.data, &cycles);
        if (rc == PC_RETRY) {
            r->waited = true;
            p->stalled = true;
            return;
        }
        if (r->waited)
            p->queued->v++;
        p->iQueueHead++;
        if (rc == PC_HIT) {
            answer(p, &s->req, (orr_time_t)cycles * p->pc.cfg.cycle_ps);
        } else {
            s->used = true;
            arm_deadlock(p);
        }
    }
    if (p->iQueueHead == p->nQueue)
        p->nQueue = p->iQueueHead = 0;
}

/* A line request arrived on `cpu`. */
static void accept(struct coh_port *p, const struct orr_event *ev)
{
    struct orr_sim *sim = p->c->sim;
    enum orr_mem_cmd cmd = orr_mem_cmd(ev->data[0]);
    uint64_t line = orr_mem_addr(ev->data[0]), blob = ev->data[1];
    if ((cmd != ORR_MEM_RD && cmd != ORR_MEM_WR) || line % ORR_LINE_BYTES ||
        (cmd == ORR_MEM_WR && !blob)) {
        orr_sim_fail(p->c, "cpu: expected a line request (RD or WR of a 64-byte aligned line, "
                     "WR with its data), got command %u for %#llx", (unsigned)cmd,
                     (unsigned long long)line);
        if (blob)
            orr_blob_free(sim, blob);
        return;
    }
    p->aQueue = fifo_push(p->aQueue, sizeof *p->aQueue, &p->nQueue, &p->iQueueHead,
                          &p->nQueueAlloc);
    struct cp_req *r = &p->aQueue[p->nQueue++];
    *r = (struct cp_req){line, orr_now(sim), (uint16_t)orr_mem_tag(ev->data[0]), (uint8_t)cmd,
                         p->nQueue - p->iQueueHead > 1 || p->stalled, {0}};
    if (cmd == ORR_MEM_WR) {
        memcpy(r->data, orr_blob_get(sim, blob), ORR_LINE_BYTES);
        orr_blob_free(sim, blob);
    } else if (blob) {
        orr_blob_free(sim, blob);
    }
    if ((double)(p->nQueue - p->iQueueHead) > p->backlog->v)
        p->backlog->v = (double)(p->nQueue - p->iQueueHead);
}

/* ------------------------------------------------------------ component */

static int coh_port_create(struct orr_component *c, const struct orr_params *prm,
                           struct orr_diag *d)
{
    struct coh_port *p = c->state;
    p->c = c;
    int rc = pcache_setup_parse(&p->setup, c, prm, d);
    if (rc)
        return rc;
    p->deadlock = orr_param_u64(prm, "deadlock");
    p->cpu = orr_port_add(c, "cpu");
    struct pcache_ops ops = {on_done, on_wake};
    if ((rc = pcache_init(&p->pc, c, orr_port_add(c, "mem"), &p->setup.cfg, &ops, p)))
        return rc;
    p->nSlot = p->setup.cfg.mshrs;
    if (!(p->aSlot = calloc(p->nSlot, sizeof *p->aSlot)))
        return ORR_ENOMEM;
    p->reads = orr_counter_new(c, "reads", "req");
    p->writes = orr_counter_new(c, "writes", "req");
    p->queued = orr_counter_new(c, "queued", "req");
    p->backlog = orr_value_new(c, "backlog", "req");
    p->latency = orr_histogram_new(c, "latency", "ps");
    return 0;
}

static int coh_port_start(struct orr_component *c, struct orr_diag *d)
{
    struct coh_port *p = c->state;
    if (!orr_port_peer(p->pc.port)) {
        orr_diag_error(d, &c->mark, c->keypath, "port 'mem' is not linked");
        return ORR_ESCHEMA;
    }
    return 0;
}

static void coh_port_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct coh_port *p = c->state;
    bool cpu = ev->port == p->cpu->index;
    switch (ev->kind) {
    case ORR_TK_TIMER:
        if (ev->port == T_DEADLOCK)
            deadlock_check(p);
        return;
    case ORR_TK_MSG:
        if (cpu)
            accept(p, ev);
        else
            pcache_message(&p->pc, ev);
        break;
    case ORR_TK_READY:
        if (cpu)
            out_ready(p);
        else
            pcache_ready(&p->pc);
        break;
    default:
        return;
    }
    /* the pcache's callbacks only answer and flag; requests go in once it is done */
    pump(p);
}

static void coh_port_destroy(struct orr_component *c)
{
    struct coh_port *p = c->state;
    pcache_free(&p->pc);
    pcache_setup_free(&p->setup);
    free(p->aQueue);
    free(p->aSlot);
    free(p->aOut);
}

static const struct orr_metric_doc coh_port_metrics[] = {
    PCACHE_METRICS,
    {"reads", "req", ORR_METRIC_COUNTER, "RD requests answered on port cpu"},
    {"writes", "req", ORR_METRIC_COUNTER, "WR requests answered on port cpu"},
    {"queued", "req", ORR_METRIC_COUNTER,
     "requests that waited because the caches refused them at first"},
    {"backlog", "req", ORR_METRIC_VALUE, "most requests waiting at once"},
    {"latency", "ps", ORR_METRIC_HISTOGRAM, "request arrival to its response leaving"},
    {NULL},
};

const struct orr_component_type orr_coh_port_type = {
    .name = "coh_port",
    .summary = "a coherent agent with a line-protocol front: RD/WR of 64-byte lines through "
               "private coherent caches (a SystemC initiator's way into a machine's caches)",
    .params = coh_port_params,
    .ports = coh_port_ports,
    .metrics = coh_port_metrics,
    .state_size = sizeof(struct coh_port),
    .create = coh_port_create,
    .start = coh_port_start,
    .handle = coh_port_handle,
    .destroy = coh_port_destroy,
};
