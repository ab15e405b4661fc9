// tlm_initiator: the component through which a SystemC initiator's
// transactions enter an Orrery model held by orrery::module (module.cpp).
// It sends one line request at a time out of `out` (mem.h) at the time the
// module asks for, and hands the response back. In a simulation no module
// drives, it stays idle.
#include <cstring>

#include "bridge.h"

extern "C" {
#include "orrery/systemc.h"
}

namespace
{

const struct orr_param initiator_params[] = {ORR_TLM_INITIATOR_PARAMS};
const struct orr_port_doc initiator_ports[] = {ORR_TLM_INITIATOR_PORTS};
const struct orr_metric_doc initiator_metrics[] = {ORR_TLM_INITIATOR_METRICS};

enum { TIMER_ISSUE = 1 };

struct initiator {
    struct orr_port *out;
    orr_bridge::txn *pending; // the transaction in flight, if any
    enum orr_mem_cmd cmd;
    uint64_t line;
    bool waiting_ready; // refused by a busy link: resend on READY
    struct orr_counter *reads, *writes, *late;
    struct orr_histogram *latency;
    orr_time_t issued;
};

int initiator_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p, (void)d;
    initiator *s = static_cast<initiator *>(c->state);
    s->out = orr_port_add(c, "out");
    s->reads = orr_counter_new(c, "reads", "req");
    s->writes = orr_counter_new(c, "writes", "req");
    s->late = orr_counter_new(c, "late_transactions", "txn");
    s->latency = orr_histogram_new(c, "latency", "ns");
    return 0;
}

void send(struct orr_component *c, initiator *s)
{
    struct orr_msg m = {ORR_MEM_HDR_BYTES, {orr_mem_pack(s->line, s->cmd, 0), 0}};
    uint64_t blob = 0;
    if (s->cmd == ORR_MEM_WR) {
        void *p;
        blob = orr_blob_new(c->sim, ORR_LINE_BYTES, &p);
        std::memcpy(p, s->pending->line, ORR_LINE_BYTES);
        m.size += ORR_LINE_BYTES;
        m.data[1] = blob;
    }
    int rc = orr_port_send(s->out, &m, 0);
    if (rc == ORR_EBUSY) {
        s->waiting_ready = true;
    } else if (rc) {
        orr_sim_fail(c, "out: not linked: a tlm_initiator needs its port linked to memory");
    }
    if (rc && blob)
        orr_blob_free(c->sim, blob);
    if (rc == 0)
        s->issued = orr_now(c->sim);
}

void initiator_handle(struct orr_component *c, const struct orr_event *ev)
{
    initiator *s = static_cast<initiator *>(c->state);
    if (ev->kind == ORR_TK_TIMER && ev->port == TIMER_ISSUE && s->pending) {
        send(c, s);
        return;
    }
    if (ev->kind == ORR_TK_READY && s->waiting_ready) {
        s->waiting_ready = false;
        send(c, s);
        return;
    }
    if (ev->kind != ORR_TK_MSG)
        return;
    enum orr_mem_cmd cmd = orr_mem_cmd(ev->data[0]);
    bool rd = cmd == ORR_MEM_RD_RESP, ok = s->pending && (rd || cmd == ORR_MEM_WR_ACK) &&
                                           (s->cmd == ORR_MEM_RD) == rd &&
                                           orr_mem_addr(ev->data[0]) == s->line;
    if (!ok) {
        orr_sim_fail(c, "out: unexpected message (command %u, address 0x%llx)", (unsigned)cmd,
                     (unsigned long long)orr_mem_addr(ev->data[0]));
    } else {
        if (rd)
            std::memcpy(s->pending->line, orr_blob_get(c->sim, ev->data[1]), ORR_LINE_BYTES);
        s->pending->done = true;
        s->pending->t_done = orr_now(c->sim);
        s->pending = nullptr;
        (rd ? s->reads : s->writes)->v++;
        orr_histogram_add(s->latency, (orr_now(c->sim) - s->issued) / 1000);
    }
    if (rd && ev->data[1])
        orr_blob_free(c->sim, ev->data[1]);
}

} // namespace

namespace orr_bridge
{

void initiator_issue(struct orr_component *c, orr_time_t when, enum orr_mem_cmd cmd,
                     std::uint64_t line, txn *t)
{
    initiator *s = static_cast<initiator *>(c->state);
    s->pending = t;
    s->cmd = cmd;
    s->line = line;
    t->done = false;
    orr_timer(c, when - orr_now(c->sim), TIMER_ISSUE, 0, 0);
}

void initiator_late(struct orr_component *c)
{
    static_cast<initiator *>(c->state)->late->v++;
}

} // namespace orr_bridge

extern "C" const struct orr_component_type orr_tlm_initiator_type = {
    "tlm_initiator",
    "where a SystemC initiator's TLM transactions enter the model (orrery::module)",
    initiator_params,
    initiator_ports,
    nullptr,
    initiator_metrics,
    sizeof(initiator),
    false,
    initiator_create,
    nullptr,
    initiator_handle,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};
