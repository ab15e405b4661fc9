/* Chrome Trace Event JSON (the object format, {"traceEvents": [...]}), which
 * chrome://tracing, Perfetto's UI and trace_processor open. One pass.
 *
 * Mapping (docs/export.md):
 *   component id i      -> process pid i+1 named by its path (metadata
 *                          "process_name", type in "process_labels"), one
 *                          thread tid 1 "events"; the engine is pid nComp+1
 *   every record        -> complete event "X", dur 0, named by its kind, at
 *                          ts = time in µs with six decimals (exact ps);
 *                          args: index, port, size, a, b, from
 *   a trace point       -> also a counter "C" of how many of that kind the
 *                          component has emitted so far
 *   a message           -> a flow "s" on the sender at its estimated send
 *                          time (arrival - serialisation - link latency;
 *                          a sender's own extra delay is not in the trace)
 *                          and "f" (binding point "e") on the receiver, id =
 *                          the record's index; plus a counter "link NAME"
 *                          with the direction's utilisation (see
 *                          exp_link_utilisation) when the link is known,
 *                          and, on a link with a bandwidth, a slice "busy"
 *                          on the sender's thread tid 2 ("links") covering
 *                          the message's serialisation: the busy periods
 * Words above 2^53 are written as "0x..." strings, since JSON readers hold
 * numbers as doubles. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export_internal.h"
#include "orrery/error.h"

struct chrome {
    uint64_t index;
    uint64_t *aCount; /* (component, kind) -> trace points so far */
    size_t nKind;
};

static uint32_t pid_of(const struct exp_ctx *x, uint32_t comp)
{
    return comp < x->h->nComp ? comp + 1 : (uint32_t)x->h->nComp + 1;
}

static void word(FILE *out, uint64_t v)
{
    if (v < (1ull << 53))
        fprintf(out, "%" PRIu64, v);
    else
        fprintf(out, "\"0x%016" PRIx64 "\"", v);
}

static void metadata(const struct exp_ctx *x)
{
    FILE *out = x->out;
    for (uint32_t i = 0; i <= x->h->nComp; i++) {
        bool engine = i == x->h->nComp;
        const char *name = engine ? "engine" : x->h->aCompPath[i];
        fprintf(out, "{\"ph\":\"M\",\"pid\":%u,\"tid\":1,\"name\":\"process_name\",\"args\":{\"name\":",
                i + 1);
        orr_json_write_string(out, name);
        fprintf(out, "}},\n{\"ph\":\"M\",\"pid\":%u,\"tid\":1,\"name\":\"process_labels\","
                     "\"args\":{\"labels\":",
                i + 1);
        orr_json_write_string(out, engine ? "engine" : x->h->aCompType[i]);
        fprintf(out, "}},\n{\"ph\":\"M\",\"pid\":%u,\"tid\":1,\"name\":\"process_sort_index\","
                     "\"args\":{\"sort_index\":%u}},\n",
                i + 1, i);
        fprintf(out, "{\"ph\":\"M\",\"pid\":%u,\"tid\":1,\"name\":\"thread_name\","
                     "\"args\":{\"name\":\"events\"}},\n",
                i + 1);
        fprintf(out, "{\"ph\":\"M\",\"pid\":%u,\"tid\":2,\"name\":\"thread_name\","
                     "\"args\":{\"name\":\"links\"}},\n",
                i + 1);
    }
}

static void flow(struct exp_ctx *x, const struct orr_trace_rec *r, uint64_t id)
{
    unsigned dir = 0;
    uint32_t li = exp_link_of(x, r->origin, r->comp, &dir);
    orr_time_t sent = r->time;
    char ts[32];
    if (li != EXP_NONE) {
        struct exp_link *l = &x->aLink[li];
        sent = exp_link_sent_at(l, r->time, r->size);
        orr_time_t ser = exp_link_serialise(l, r->size);
        if (ser) { /* the link was busy sending it */
            char t0[32], d[32];
            exp_fmt_us(t0, sent);
            exp_fmt_us(d, ser);
            fprintf(x->out, "{\"ph\":\"X\",\"pid\":%u,\"tid\":2,\"ts\":%s,\"dur\":%s,"
                            "\"name\":\"busy\",\"cat\":\"link\",\"args\":{\"link\":",
                    pid_of(x, r->origin), t0, d);
            orr_json_write_string(x->out, l->name);
            fprintf(x->out, ",\"bytes\":%u}},\n", r->size);
        }
        double u = exp_link_utilisation(l, dir, r->time, r->size);
        if (u >= 0) {
            exp_fmt_us(ts, r->time);
            fprintf(x->out, "{\"ph\":\"C\",\"pid\":%u,\"ts\":%s,\"name\":", pid_of(x, r->comp), ts);
            char name[300];
            snprintf(name, sizeof name, "link %s%s", l->name, dir ? " (reverse)" : "");
            orr_json_write_string(x->out, name);
            fprintf(x->out, ",\"args\":{\"utilisation\":%.6f}},\n", u);
        }
    }
    exp_fmt_us(ts, sent);
    fprintf(x->out,
            "{\"ph\":\"s\",\"id\":%" PRIu64 ",\"pid\":%u,\"tid\":1,\"ts\":%s,\"name\":\"msg\","
            "\"cat\":\"flow\"},\n",
            id, pid_of(x, r->origin), ts);
    exp_fmt_us(ts, r->time);
    fprintf(x->out,
            "{\"ph\":\"f\",\"bp\":\"e\",\"id\":%" PRIu64 ",\"pid\":%u,\"tid\":1,\"ts\":%s,"
            "\"name\":\"msg\",\"cat\":\"flow\"},\n",
            id, pid_of(x, r->comp), ts);
}

static int record(struct exp_ctx *x, const struct orr_trace_rec *r, void *arg)
{
    struct chrome *c = arg;
    FILE *out = x->out;
    char ts[32];
    const char *kind = orr_trace_kind_name(x->h, r->kind);
    exp_fmt_us(ts, r->time);
    fprintf(out, "{\"ph\":\"X\",\"pid\":%u,\"tid\":1,\"ts\":%s,\"dur\":0,\"name\":",
            pid_of(x, r->comp), ts);
    orr_json_write_string(out, kind);
    fprintf(out, ",\"cat\":\"%s\",\"args\":{\"index\":%" PRIu64 ",\"port\":%u,\"size\":%u,\"a\":",
            r->kind >= ORR_TK_FIRST_USER ? "tracepoint" : "engine", c->index, r->port, r->size);
    word(out, r->a);
    fputs(",\"b\":", out);
    word(out, r->b);
    fputs(",\"from\":", out);
    orr_json_write_string(out, exp_comp_name(x, r->origin));
    fputs("}},\n", out);
    if (r->kind >= ORR_TK_FIRST_USER && r->comp < x->h->nComp && r->kind < c->nKind) {
        uint64_t n = ++c->aCount[(size_t)r->comp * c->nKind + r->kind];
        fprintf(out, "{\"ph\":\"C\",\"pid\":%u,\"ts\":%s,\"name\":", pid_of(x, r->comp), ts);
        orr_json_write_string(out, kind);
        fprintf(out, ",\"args\":{\"count\":%" PRIu64 "}},\n", n);
    }
    if (r->kind == ORR_TK_MSG && r->origin < x->h->nComp && r->origin != r->comp &&
        r->comp < x->h->nComp)
        flow(x, r, c->index);
    c->index++;
    return 0;
}

int exp_chrome(struct exp_ctx *x)
{
    struct chrome c = {.nKind = x->h->nKind};
    c.aCount = calloc((x->h->nComp ? x->h->nComp : 1) * (c.nKind ? c.nKind : 1), sizeof *c.aCount);
    if (!c.aCount)
        return ORR_ENOMEM;
    FILE *out = x->out;
    fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"scenario\":", out);
    orr_json_write_string(out, x->h->scenario);
    fprintf(out, ",\"scenario_hash\":\"%016" PRIx64 "\",\"seed\":%" PRIu64 ",\"build_id\":",
            x->h->scenario_hash, x->h->seed);
    orr_json_write_string(out, x->h->build_id);
    fprintf(out, ",\"events\":%" PRIu64 ",\"digest\":\"%016" PRIx64 "\"},\n\"traceEvents\":[\n",
            x->f->nRec, x->f->digest);
    metadata(x);
    int rc = exp_each(x, record, &c);
    /* the last element closes the array without a trailing comma */
    char ts[32];
    exp_fmt_us(ts, x->f->sim_time);
    fprintf(out, "{\"ph\":\"i\",\"s\":\"g\",\"pid\":%u,\"tid\":1,\"ts\":%s,\"name\":\"end of run\"}\n]}\n",
            (uint32_t)x->h->nComp + 1, ts);
    free(c.aCount);
    return rc;
}
