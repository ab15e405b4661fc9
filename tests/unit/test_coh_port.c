/* coh_port (hw/cache/coh_port.c): line requests performed in a coherent
 * private hierarchy. A one-socket machine whose two cores are coh_ports
 * (built by the machine type's expand op, `port: true`) is driven by two
 * "requester" components defined here, which send scripted RD/WR line
 * requests into each port's `cpu` and record the responses: fresh lines
 * read as zeros, a write is read back, the other agent's write invalidates
 * the copy and the next read sees it, hits are answered after the hit
 * latency, a burst beyond the MSHRs waits in order, and protocol
 * mutations are caught by the coherence monitor (single writer:
 * ignore-inv; data value of a line read: lost-writeback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/registry.h"
#include "orrery/config.h"
#include "orrery/mem.h"
#include "orrery/sim.h"
#include "testutil.h"

/* --- the requester ------------------------------------------------------- */

enum { TIMER_OP = 1 };

struct op {
    orr_time_t at;
    enum orr_mem_cmd cmd;
    uint64_t addr;
    unsigned tag;
    uint64_t fill; /* WR: word i of the line is fill + i */
};

struct resp {
    orr_time_t sent, time;
    enum orr_mem_cmd cmd;
    uint64_t addr;
    unsigned tag;
    uint64_t aWord[ORR_LINE_BYTES / 8]; /* RD_RESP: the line */
};

#define MAXOP 64
#define MAXLOG 64

struct requester {
    struct orr_port *out;
    struct op aOp[MAXOP];
    size_t nOp;
    orr_time_t aSent[ORR_MEM_TAG_MAX + 1];
    struct resp log[MAXLOG];
    size_t nLog;
};

static int req_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct requester *r = c->state;
    (void)p;
    (void)d;
    r->out = orr_port_add(c, "out");
    return 0;
}

static void req_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct requester *r = c->state;
    if (ev->kind == ORR_TK_TIMER && ev->port == TIMER_OP) {
        const struct op *o = &r->aOp[ev->data[0]];
        struct orr_msg m = {ORR_MEM_HDR_BYTES, {orr_mem_pack(o->addr, o->cmd, o->tag), 0}};
        if (o->cmd == ORR_MEM_WR) {
            uint64_t *line;
            m.size += ORR_LINE_BYTES;
            m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, (void **)&line);
            for (unsigned i = 0; i < ORR_LINE_BYTES / 8; i++)
                line[i] = o->fill + i;
        }
        r->aSent[o->tag] = orr_now(c->sim);
        assert_int_equal(orr_port_send(r->out, &m, 0), 0);
        return;
    }
    if (ev->kind != ORR_TK_MSG)
        return;
    uint64_t w = ev->data[0];
    struct resp x = {r->aSent[orr_mem_tag(w)], orr_now(c->sim), orr_mem_cmd(w), orr_mem_addr(w),
                     orr_mem_tag(w), {0}};
    if (x.cmd == ORR_MEM_RD_RESP) {
        memcpy(x.aWord, orr_blob_get(c->sim, ev->data[1]), ORR_LINE_BYTES);
        orr_blob_free(c->sim, ev->data[1]);
    }
    assert_true(r->nLog < MAXLOG);
    r->log[r->nLog++] = x;
}

static const struct orr_param no_params[] = {{NULL}};
static const struct orr_port_doc req_ports[] = {{"out", "line requests"}, {NULL}};
static const struct orr_component_type requester_type = {
    .name = "requester",
    .summary = "test line requester",
    .params = no_params,
    .ports = req_ports,
    .state_size = sizeof(struct requester),
    .create = req_create,
    .handle = req_handle,
};

/* --- fixture ------------------------------------------------------------- */

#define LINK ORR_NS      /* requester <-> coh_port */
#define HIT (4 * 500)    /* the L1 hit: 4 cycles at 2 GHz, in ps */
#define LINE_A UINT64_C(0x10000)

struct fixture {
    struct orr_config cfg;
    struct orr_diag d;
    struct orr_sim *s;
    struct orr_component *aReq[2];
};

/* Two coh_ports (sock0.core0, sock0.core1) on a one-socket machine with
 * `protocol` (and `mutation`, may be ""; extra: more machine keys, lines
 * of "  key: value\n"), each driven by a requester. */
static void build(struct fixture *f, const char *protocol, const char *mutation, const char *extra)
{
    char text[1024];
    memset(f, 0, sizeof *f);
    orr_diag_init(&f->d);
    snprintf(text, sizeof text,
             "machine:\n"
             "  cores_per_socket: 2\n"
             "  protocol: %s\n"
             "  mutation: '%s'\n"
             "  memory: {size: 1GiB}\n"
             "  workloads: [{cores: 0-1, port: true}]\n%s",
             protocol, mutation, extra);
    assert_int_equal(orr_config_load_string(&f->cfg, "t.yaml", text, strlen(text), NULL, &f->d),
                     0);
    struct orr_sim_options opt = {.seed = 1};
    assert_int_equal(orr_sim_create(&f->s, &opt), 0);
    const struct orr_component_type *mt = orr_type_find(orr_builtin_types, "machine");
    int rc = mt->expand(f->s, orr_node_get(f->cfg.root, "machine"), "machine", &f->d);
    if (rc)
        orr_diag_print(&f->d, stderr);
    assert_int_equal(rc, 0);
    assert_string_equal(orr_sim_find(f->s, "sock0.core0")->type->name, "coh_port");
    for (unsigned i = 0; i < 2; i++) {
        char name[16], a[32], b[32];
        snprintf(name, sizeof name, "rq%u", i);
        snprintf(a, sizeof a, "rq%u.out", i);
        snprintf(b, sizeof b, "sock0.core%u.cpu", i);
        assert_int_equal(orr_sim_add_component(f->s, &requester_type, name, NULL, name, &f->d,
                                               &f->aReq[i]),
                         0);
        assert_int_equal(orr_sim_link(f->s, a, b, LINK, 0, NULL, &f->d), 0);
    }
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
}

static void teardown(struct fixture *f)
{
    orr_sim_destroy(f->s);
    orr_config_free(&f->cfg);
    orr_diag_free(&f->d);
}

static struct requester *rq(struct fixture *f, unsigned i) { return f->aReq[i]->state; }

static void add_op(struct fixture *f, unsigned i, struct op o)
{
    struct requester *r = rq(f, i);
    assert_true(r->nOp < MAXOP);
    r->aOp[r->nOp] = o;
    orr_timer(f->aReq[i], o.at, TIMER_OP, r->nOp++, 0);
}

/* The response with tag, which must exist once. */
static const struct resp *resp_of(struct fixture *f, unsigned i, unsigned tag)
{
    const struct resp *found = NULL;
    struct requester *r = rq(f, i);
    for (size_t k = 0; k < r->nLog; k++)
        if (r->log[k].tag == tag) {
            if (found)
                fail_msg("two responses with tag %u", tag);
            found = &r->log[k];
        }
    if (!found)
        fail_msg("no response with tag %u", tag);
    return found;
}

static void assert_line(const struct resp *x, uint64_t fill)
{
    assert_int_equal(x->cmd, ORR_MEM_RD_RESP);
    for (unsigned i = 0; i < ORR_LINE_BYTES / 8; i++)
        assert_int_equal(x->aWord[i], fill ? fill + i : 0);
}

static double metric(struct orr_sim *s, const char *comp, const char *name)
{
    const struct orr_metric *m;
    size_t n = orr_sim_metrics(s, &m);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].component, comp) && !strcmp(m[i].name, name))
            return m[i].value;
    fail_msg("no metric %s.%s", comp, name);
    return 0;
}

/* --- tests --------------------------------------------------------------- */

/* Fresh line -> zeros (a miss); WR then RD -> the bytes (a hit, after the
 * hit latency); the other agent's WR invalidates the copy, and the next
 * RD misses and sees the new bytes. Every protocol, snooping and
 * directory. */
static void test_read_write_invalidate(void **state)
{
    (void)state;
    static const char *const aProto[] = {"msi", "mesi", "moesi", "msi-dir", "mesi-dir",
                                         "moesi-dir"};
    for (size_t k = 0; k < sizeof aProto / sizeof *aProto; k++) {
        struct fixture f;
        build(&f, aProto[k], "", "");
        add_op(&f, 0, (struct op){0, ORR_MEM_RD, LINE_A, 1, 0});
        add_op(&f, 0, (struct op){1 * ORR_US, ORR_MEM_WR, LINE_A, 2, 0x1000});
        add_op(&f, 0, (struct op){2 * ORR_US, ORR_MEM_RD, LINE_A, 3, 0});
        add_op(&f, 1, (struct op){3 * ORR_US, ORR_MEM_WR, LINE_A, 4, 0x2000});
        add_op(&f, 0, (struct op){4 * ORR_US, ORR_MEM_RD, LINE_A, 5, 0});
        /* nothing keeps an idle port busy: the run ends by itself */
        assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_IDLE);
        assert_null(orr_sim_failure(f.s));
        const struct resp *fresh = resp_of(&f, 0, 1), *ack = resp_of(&f, 0, 2),
                          *back = resp_of(&f, 0, 3), *other = resp_of(&f, 1, 4),
                          *after = resp_of(&f, 0, 5);
        assert_line(fresh, 0);
        assert_int_equal(ack->cmd, ORR_MEM_WR_ACK);
        assert_int_equal(ack->addr, LINE_A);
        assert_line(back, 0x1000);
        assert_int_equal(other->cmd, ORR_MEM_WR_ACK);
        assert_line(after, 0x2000);
        orr_time_t miss = fresh->time - fresh->sent, hit = back->time - back->sent,
                   again = after->time - after->sent;
        if (k == 0)
            print_message("coh_port %s: miss %.1f ns, hit %.1f ns, miss after invalidation "
                          "%.1f ns\n", aProto[k], miss / 1e3, hit / 1e3, again / 1e3);
        assert_int_equal(hit, 2 * LINK + HIT);
        assert_true(miss > 10 * hit);
        assert_true(again > 5 * hit); /* a cache-to-cache transfer */
        orr_sim_finish(f.s);
        assert_true(metric(f.s, "sock0.core0", "reads") == 3);
        assert_true(metric(f.s, "sock0.core0", "writes") == 1);
        assert_true(metric(f.s, "sock0.core1", "writes") == 1);
        assert_true(metric(f.s, "sock0.core0", "misses") >= 2);
        assert_int_equal(orr_blob_live(f.s), 0);
        teardown(&f);
    }
}

/* A burst beyond the MSHRs (16) waits in the FIFO and is answered in full,
 * tags unchanged; a WR and a RD of one line sent at the same instant are
 * performed in order, so the RD returns the WR's bytes. */
static void test_burst_in_order(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "mesi", "", "");
    for (unsigned i = 0; i < 40; i++)
        add_op(&f, 0, (struct op){0, ORR_MEM_RD, LINE_A + 64 * (i + 1), 100 + i, 0});
    add_op(&f, 0, (struct op){0, ORR_MEM_WR, LINE_A, 7, 0x7700});
    add_op(&f, 0, (struct op){0, ORR_MEM_RD, LINE_A, 8, 0});
    assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_IDLE);
    assert_null(orr_sim_failure(f.s));
    assert_int_equal(rq(&f, 0)->nLog, 42);
    for (unsigned i = 0; i < 40; i++) {
        const struct resp *x = resp_of(&f, 0, 100 + i);
        assert_int_equal(x->addr, LINE_A + 64 * (i + 1));
        assert_line(x, 0);
    }
    assert_int_equal(resp_of(&f, 0, 7)->cmd, ORR_MEM_WR_ACK);
    assert_line(resp_of(&f, 0, 8), 0x7700);
    assert_true(resp_of(&f, 0, 8)->time >= resp_of(&f, 0, 7)->time);
    orr_sim_finish(f.s);
    assert_true(metric(f.s, "sock0.core0", "queued") > 0);
    assert_true(metric(f.s, "sock0.core0", "backlog") >= 42 - 16);
    assert_int_equal(orr_blob_live(f.s), 0);
    teardown(&f);
}

/* ignore-inv: core 0 keeps its shared copy when core 1 takes the line for
 * writing; the monitor's single-writer check fails the run. */
static void test_mutation_caught(void **state)
{
    (void)state;
    static const char *const aProto[] = {"mesi", "mesi-dir", "moesi-dir"};
    for (size_t k = 0; k < sizeof aProto / sizeof *aProto; k++) {
        struct fixture f;
        build(&f, aProto[k], "ignore-inv", "");
        add_op(&f, 0, (struct op){0, ORR_MEM_RD, LINE_A, 1, 0});
        add_op(&f, 1, (struct op){1 * ORR_US, ORR_MEM_RD, LINE_A, 2, 0});
        add_op(&f, 1, (struct op){2 * ORR_US, ORR_MEM_WR, LINE_A, 3, 0x3000});
        add_op(&f, 0, (struct op){3 * ORR_US, ORR_MEM_RD, LINE_A, 4, 0});
        assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_FAILED);
        const char *why = orr_sim_failure(f.s);
        assert_non_null(why);
        if (!strstr(why, "coherence violation"))
            fail_msg("%s: %s", aProto[k], why);
        teardown(&f);
    }
}

/* lost-writeback: a dirty line evicted by a conflicting write is dropped,
 * and the next line read returns memory's stale bytes: the monitor's
 * data-value check on whole-line reads fails the run. (Without the
 * mutation the same script reads the line back.) */
static void test_stale_line_read_caught(void **state)
{
    (void)state;
    for (int mutated = 0; mutated < 2; mutated++) {
        struct fixture f;
        /* direct-mapped 1 KiB L1: LINE_A and LINE_A + 1 KiB share a set */
        build(&f, "mesi", mutated ? "lost-writeback" : "", "  l1d: {size: 1KiB, ways: 1}\n");
        add_op(&f, 0, (struct op){0, ORR_MEM_WR, LINE_A, 1, 0x5000});
        add_op(&f, 0, (struct op){1 * ORR_US, ORR_MEM_WR, LINE_A + 1024, 2, 0x6000});
        add_op(&f, 0, (struct op){2 * ORR_US, ORR_MEM_RD, LINE_A, 3, 0});
        enum orr_stop_reason why = orr_sim_run(f.s, NULL);
        if (!mutated) {
            assert_int_equal(why, ORR_STOP_IDLE);
            assert_line(resp_of(&f, 0, 3), 0x5000);
        } else {
            assert_int_equal(why, ORR_STOP_FAILED);
            const char *msg = orr_sim_failure(f.s);
            if (!strstr(msg, "coherence violation: agent 0 read line 0x10000 and got"))
                fail_msg("%s", msg);
        }
        teardown(&f);
    }
}

/* Not a line request: the run fails with the reason. */
static void test_bad_request(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "mesi", "", "");
    add_op(&f, 0, (struct op){0, ORR_MEM_RD, LINE_A + 8, 1, 0});
    assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_FAILED);
    assert_non_null(strstr(orr_sim_failure(f.s), "cpu: expected a line request"));
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_write_invalidate),
        cmocka_unit_test(test_burst_in_order),
        cmocka_unit_test(test_mutation_caught),
        cmocka_unit_test(test_stale_line_read_caught),
        cmocka_unit_test(test_bad_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
