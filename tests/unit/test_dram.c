/* The dram memory controller: idle latency of row hits, misses and
 * conflicts against the timing params, FR-FCFS versus FCFS ordering,
 * streaming bandwidth against the channels' burst rate, data written and
 * read back, and model errors. A "requester" component defined here issues
 * scripted line requests (or a stream) and records the responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/dram_media.h"
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
    uint64_t fill; /* WR: every 8-byte word of the line */
};

struct resp {
    orr_time_t sent, time;
    enum orr_mem_cmd cmd;
    uint64_t addr;
    unsigned tag;
    uint64_t word0, word7; /* RD_RESP: first and last words of the line */
};

#define MAXOP 32
#define MAXLOG 64

struct requester {
    struct orr_port *out;
    struct op aOp[MAXOP];
    size_t nOp;
    orr_time_t aSent[ORR_MEM_TAG_MAX + 1];
    struct resp log[MAXLOG];
    size_t nLog;
    /* stream mode: read count consecutive lines from base, window at a time */
    uint64_t base, count, issued, done;
    unsigned window;
    uint16_t aFreeTag[ORR_MEM_TAG_MAX + 1];
    unsigned nFreeTag;
    orr_time_t first, last;
};

static int req_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct requester *r = c->state;
    (void)p;
    (void)d;
    r->out = orr_port_add(c, "out");
    return 0;
}

static void req_send(struct orr_component *c, struct requester *r, enum orr_mem_cmd cmd,
                     uint64_t addr, unsigned tag, uint64_t fill)
{
    struct orr_msg m = {ORR_MEM_HDR_BYTES, {orr_mem_pack(addr, cmd, tag), 0}};
    if (cmd == ORR_MEM_WR) {
        uint64_t *line;
        m.size += ORR_LINE_BYTES;
        m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, (void **)&line);
        for (unsigned i = 0; i < ORR_LINE_BYTES / 8; i++)
            line[i] = fill + i;
    }
    r->aSent[tag] = orr_now(c->sim);
    assert_int_equal(orr_port_send(r->out, &m, 0), 0);
}

static void stream_issue(struct orr_component *c, struct requester *r)
{
    while (r->issued < r->count && r->nFreeTag && r->issued - r->done < r->window) {
        unsigned tag = r->aFreeTag[--r->nFreeTag];
        req_send(c, r, ORR_MEM_RD, r->base + r->issued * ORR_LINE_BYTES, tag, 0);
        r->issued++;
    }
}

static void req_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct requester *r = c->state;
    if (ev->kind == ORR_TK_TIMER && ev->port == TIMER_OP) {
        const struct op *o = &r->aOp[ev->data[0]];
        req_send(c, r, o->cmd, o->addr, o->tag, o->fill);
        return;
    }
    if (ev->kind != ORR_TK_MSG)
        return;
    uint64_t w = ev->data[0];
    struct resp x = {r->aSent[orr_mem_tag(w)], orr_now(c->sim), orr_mem_cmd(w), orr_mem_addr(w),
                     orr_mem_tag(w), 0, 0};
    if (x.cmd == ORR_MEM_RD_RESP) {
        const uint64_t *line = orr_blob_get(c->sim, ev->data[1]);
        x.word0 = line[0];
        x.word7 = line[7];
        orr_blob_free(c->sim, ev->data[1]);
    }
    if (r->nLog < MAXLOG)
        r->log[r->nLog++] = x;
    if (r->count) {
        r->done++;
        r->last = x.time;
        r->aFreeTag[r->nFreeTag++] = (uint16_t)x.tag;
        stream_issue(c, r);
    }
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

#define LINK ORR_NS /* requester <-> dram link latency */

struct fixture {
    struct orr_config cfg;
    struct orr_diag d;
    struct orr_sim *s;
    struct orr_component *req, *mem;
    struct orr_params p; /* the dram's params, parsed again for expectations */
};

/* A sim with a requester linked to a dram configured by the YAML mapping
 * body `yaml` (may be ""). */
static void build(struct fixture *f, const char *yaml)
{
    char text[1024];
    memset(f, 0, sizeof *f);
    orr_diag_init(&f->d);
    snprintf(text, sizeof text, "mem: {%s}\n", yaml);
    assert_int_equal(orr_config_load_string(&f->cfg, "t.yaml", text, strlen(text), NULL, &f->d),
                     0);
    const struct orr_node *node = orr_node_get(f->cfg.root, "mem");
    assert_int_equal(orr_params_parse(orr_dram_type.params, node, "mem", NULL, &f->p, &f->d), 0);
    struct orr_sim_options opt = {.seed = 1};
    assert_int_equal(orr_sim_create(&f->s, &opt), 0);
    assert_int_equal(
        orr_sim_add_component(f->s, &requester_type, "cpu", NULL, "cpu", &f->d, &f->req), 0);
    assert_int_equal(orr_sim_add_component(f->s, &orr_dram_type, "mem", node, "mem", &f->d,
                                           &f->mem),
                     0);
    assert_int_equal(orr_sim_link(f->s, "cpu.out", "mem.in0", LINK, 0, NULL, &f->d), 0);
    assert_int_equal(orr_sim_start(f->s, &f->d), 0);
}

static void teardown(struct fixture *f)
{
    orr_params_free(&f->p);
    orr_sim_destroy(f->s);
    orr_config_free(&f->cfg);
    orr_diag_free(&f->d);
}

static struct requester *rq(struct fixture *f) { return f->req->state; }

static void add_op(struct fixture *f, struct op o)
{
    struct requester *r = rq(f);
    assert_true(r->nOp < MAXOP);
    r->aOp[r->nOp] = o;
    orr_timer(f->req, o.at, TIMER_OP, r->nOp++, 0);
}

static orr_time_t P(struct fixture *f, const char *name) { return orr_param_u64(&f->p, name); }

/* Latency at the controller: round trip less the two link crossings. */
static orr_time_t dram_side(const struct resp *x) { return x->time - x->sent - 2 * LINK; }

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

/* The address of (channel, column, bank, row) under the documented
 * mapping, from the params. */
static uint64_t addr_of(struct fixture *f, unsigned ch, uint64_t col, unsigned bank, uint64_t row)
{
    uint64_t C = P(f, "channels"), B = P(f, "banks"), L = P(f, "row") / ORR_LINE_BYTES;
    return (((row * B + bank) * L + col) * C + ch) * ORR_LINE_BYTES;
}

/* --- tests --------------------------------------------------------------- */

/* Idle reads to one bank: first touch (closed bank: miss), same row (hit),
 * another row (conflict). Each equals the sum of its timing params. */
static void test_idle_latency(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "");
    add_op(&f, (struct op){0, ORR_MEM_RD, addr_of(&f, 0, 0, 3, 5), 1, 0});
    add_op(&f, (struct op){1 * ORR_US, ORR_MEM_RD, addr_of(&f, 0, 7, 3, 5), 2, 0});
    add_op(&f, (struct op){2 * ORR_US, ORR_MEM_RD, addr_of(&f, 0, 0, 3, 6), 3, 0});
    assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_IDLE);
    struct requester *r = rq(&f);
    assert_int_equal(r->nLog, 3);
    orr_time_t front = P(&f, "controller") + P(&f, "tCL") + P(&f, "burst");
    orr_time_t hit = front, miss = front + P(&f, "tRCD"),
               conflict = front + P(&f, "tRCD") + P(&f, "tRP");
    print_message("dram idle read: miss %.2f ns, hit %.2f ns, conflict %.2f ns\n",
                  dram_side(&r->log[0]) / 1e3, dram_side(&r->log[1]) / 1e3,
                  dram_side(&r->log[2]) / 1e3);
    assert_int_equal(dram_side(&r->log[0]), miss);
    assert_int_equal(dram_side(&r->log[1]), hit);
    assert_int_equal(dram_side(&r->log[2]), conflict);
    /* the random-read (conflict) figure the defaults are calibrated to */
    assert_true(conflict >= 80 * ORR_NS && conflict <= 90 * ORR_NS);
    orr_sim_finish(f.s);
    assert_true(metric(f.s, "mem", "row_misses") == 1);
    assert_true(metric(f.s, "mem", "row_hits") == 1);
    assert_true(metric(f.s, "mem", "row_conflicts") == 1);
    assert_true(metric(f.s, "mem", "reads") == 3);
    assert_int_equal(orr_blob_live(f.s), 0);
    teardown(&f);
}

/* tRAS: a conflict right after an activate waits for ACT + tRAS before
 * precharging. */
static void test_tras(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "channels: 1");
    add_op(&f, (struct op){0, ORR_MEM_RD, addr_of(&f, 0, 0, 0, 0), 1, 0});
    add_op(&f, (struct op){0, ORR_MEM_RD, addr_of(&f, 0, 0, 0, 1), 2, 0});
    orr_sim_run(f.s, NULL);
    struct requester *r = rq(&f);
    assert_int_equal(r->nLog, 2);
    /* both admitted at the same instant; the first activates at once */
    orr_time_t act0 = P(&f, "controller");
    orr_time_t pre = act0 + P(&f, "tRAS");
    orr_time_t want = pre + P(&f, "tRP") + P(&f, "tRCD") + P(&f, "tCL") + P(&f, "burst");
    assert_int_equal(dram_side(&r->log[1]), want);
    teardown(&f);
}

/* An older conflict X and a younger row hit Y wait together behind R0
 * (which opens the row): FR-FCFS serves Y first, FCFS serves X first. */
static void reorder_run(const char *policy, unsigned order[3], double *hits)
{
    struct fixture f;
    char yaml[64];
    snprintf(yaml, sizeof yaml, "policy: %s", policy);
    build(&f, yaml);
    add_op(&f, (struct op){0, ORR_MEM_RD, addr_of(&f, 0, 0, 0, 0), 10, 0});  /* R0: opens row 0 */
    add_op(&f, (struct op){0, ORR_MEM_RD, addr_of(&f, 0, 0, 0, 1), 11, 0});  /* X: row 1, older */
    add_op(&f, (struct op){0, ORR_MEM_RD, addr_of(&f, 0, 1, 0, 0), 12, 0});  /* Y: row 0, younger */
    orr_sim_run(f.s, NULL);
    struct requester *r = rq(&f);
    assert_int_equal(r->nLog, 3);
    for (unsigned i = 0; i < 3; i++)
        order[i] = r->log[i].tag;
    print_message("%-7s completion order: tags %u %u %u at %.2f %.2f %.2f ns\n", policy,
                  order[0], order[1], order[2], dram_side(&r->log[0]) / 1e3,
                  dram_side(&r->log[1]) / 1e3, dram_side(&r->log[2]) / 1e3);
    orr_sim_finish(f.s);
    *hits = metric(f.s, "mem", "row_hits");
    teardown(&f);
}

static void test_frfcfs_reorders(void **state)
{
    (void)state;
    unsigned o[3];
    double hits;
    reorder_run("fr-fcfs", o, &hits);
    assert_int_equal(o[0], 10);
    assert_int_equal(o[1], 12); /* the younger row hit overtook */
    assert_int_equal(o[2], 11);
    assert_true(hits == 1);
    reorder_run("fcfs", o, &hits);
    assert_int_equal(o[0], 10);
    assert_int_equal(o[1], 11);
    assert_int_equal(o[2], 12);
    assert_true(hits == 0);
}

/* The starvation cap: with starve = 2, a conflict waiting behind a stream
 * of row hits is served after at most two of them. */
static void test_starvation_cap(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "channels: 1, starve: 2");
    add_op(&f, (struct op){0, ORR_MEM_RD, addr_of(&f, 0, 0, 0, 0), 1, 0}); /* opens row 0 */
    add_op(&f, (struct op){0, ORR_MEM_RD, addr_of(&f, 0, 0, 0, 1), 2, 0}); /* conflict */
    for (unsigned i = 0; i < 6; i++)                                       /* row hits */
        add_op(&f, (struct op){0, ORR_MEM_RD, addr_of(&f, 0, 1 + i, 0, 0), 3 + i, 0});
    orr_sim_run(f.s, NULL);
    struct requester *r = rq(&f);
    assert_int_equal(r->nLog, 8);
    size_t pos = 0;
    while (pos < r->nLog && r->log[pos].tag != 2)
        pos++;
    print_message("starve=2: the conflict completed in position %zu of 8\n", pos + 1);
    assert_int_equal(pos, 3); /* R0, two hits, then the conflict */
    teardown(&f);
}

/* Streaming reads with many outstanding reach the channels' burst rate. */
static void test_stream_bandwidth(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "");
    struct requester *r = rq(&f);
    r->count = 40000;
    r->window = 256;
    for (unsigned t = 0; t <= ORR_MEM_TAG_MAX; t++)
        r->aFreeTag[r->nFreeTag++] = (uint16_t)(ORR_MEM_TAG_MAX - t);
    stream_issue(f.req, r);
    assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_IDLE);
    assert_int_equal(r->done, r->count);
    double peak = (double)P(&f, "channels") * ORR_LINE_BYTES * 1e3 / (double)P(&f, "burst");
    double got = (double)r->count * ORR_LINE_BYTES * 1e3 / (double)r->last;
    orr_sim_finish(f.s);
    print_message("dram stream read: %.2f GB/s of %.2f GB/s peak (%.1f %%), bus_util %.3f, "
                  "row hits %.0f / misses %.0f / conflicts %.0f, mean queue ch0 %.1f\n",
                  got, peak, 100 * got / peak, metric(f.s, "mem", "bus_util"),
                  metric(f.s, "mem", "row_hits"), metric(f.s, "mem", "row_misses"),
                  metric(f.s, "mem", "row_conflicts"), metric(f.s, "mem", "ch0.queue_mean"));
    assert_true(got >= 0.9 * peak && got <= peak);
    assert_int_equal(orr_blob_live(f.s), 0);
    teardown(&f);
}

/* Bytes written are read back; never-written lines read as zeros; a read
 * queued behind a write to the same line sees the write. */
static void test_data_roundtrip(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "base: 0x100000000, size: 1GiB");
    uint64_t a = 0x100000000ull + 0x12340, b = 0x100000000ull + 0x3fffffc0;
    add_op(&f, (struct op){0, ORR_MEM_WR, a, 1, 0x1111000000000000ull});
    add_op(&f, (struct op){0, ORR_MEM_RD, a, 2, 0}); /* same instant, after the write */
    add_op(&f, (struct op){1 * ORR_US, ORR_MEM_WR, b, 3, 0x2222000000000000ull});
    add_op(&f, (struct op){2 * ORR_US, ORR_MEM_RD, b, 4, 0});
    add_op(&f, (struct op){2 * ORR_US, ORR_MEM_RD, a + 64, 5, 0}); /* never written */
    add_op(&f, (struct op){3 * ORR_US, ORR_MEM_WR, a, 6, 0x3333000000000000ull});
    add_op(&f, (struct op){4 * ORR_US, ORR_MEM_RD, a, 7, 0});
    assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_IDLE);
    struct requester *r = rq(&f);
    assert_int_equal(r->nLog, 7);
    uint64_t want0[8] = {0}, want7[8] = {0};
    want0[2] = 0x1111000000000000ull, want7[2] = want0[2] + 7;
    want0[4] = 0x2222000000000000ull, want7[4] = want0[4] + 7;
    want0[7] = 0x3333000000000000ull, want7[7] = want0[7] + 7;
    for (size_t i = 0; i < r->nLog; i++) {
        const struct resp *x = &r->log[i];
        if (x->tag == 1 || x->tag == 3 || x->tag == 6) {
            assert_int_equal(x->cmd, ORR_MEM_WR_ACK);
            continue;
        }
        assert_int_equal(x->cmd, ORR_MEM_RD_RESP);
        assert_int_equal(x->word0, want0[x->tag]);
        assert_int_equal(x->word7, want7[x->tag]);
    }
    orr_sim_finish(f.s);
    assert_true(metric(f.s, "mem", "bytes_written") == 3 * 64);
    assert_true(metric(f.s, "mem", "bytes_read") == 4 * 64);
    assert_int_equal(orr_blob_live(f.s), 0);
    teardown(&f);
}

/* A request outside [base, base + size) fails the run with a message. */
static void test_out_of_range(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "base: 4GiB, size: 1GiB");
    add_op(&f, (struct op){0, ORR_MEM_RD, 0x40, 1, 0});
    assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_FAILED);
    assert_non_null(strstr(orr_sim_failure(f.s), "outside the range served"));
    teardown(&f);
}

/* Bad params are reported at their position. */
static void test_bad_params(void **state)
{
    (void)state;
    struct orr_config cfg = {0};
    struct orr_diag d;
    struct orr_sim *s;
    orr_diag_init(&d);
    const char *text = "mem:\n  base: 0x1001\n  row: 100B\n  policy: lifo\n";
    assert_int_equal(orr_config_load_string(&cfg, "t.yaml", text, strlen(text), NULL, &d), 0);
    struct orr_sim_options opt = {.seed = 1};
    assert_int_equal(orr_sim_create(&s, &opt), 0);
    assert_int_not_equal(orr_sim_add_component(s, &orr_dram_type, "mem",
                                               orr_node_get(cfg.root, "mem"), "mem", &d, NULL),
                         0);
    assert_int_equal(orr_diag_count(&d), 1); /* the schema stops at the bad enum */
    char buf[512];
    orr_diag_format(&d.aMsg[0], buf, sizeof buf);
    assert_non_null(strstr(buf, "t.yaml:4:11"));
    orr_sim_destroy(s);
    orr_diag_free(&d);
    orr_diag_init(&d);
    assert_int_equal(orr_sim_create(&s, &opt), 0);
    text = "mem:\n  base: 0x1001\n  row: 100B\n";
    orr_config_free(&cfg);
    assert_int_equal(orr_config_load_string(&cfg, "t.yaml", text, strlen(text), NULL, &d), 0);
    assert_int_equal(orr_sim_add_component(s, &orr_dram_type, "mem",
                                           orr_node_get(cfg.root, "mem"), "mem", &d, NULL),
                     ORR_ESCHEMA);
    assert_diag(&d, 0, "t.yaml:2:9: error: mem: base 0x1001 is not a multiple of the 64-byte line");
    assert_diag(&d, 1, "t.yaml:3:8: error: mem: row is not a multiple of the 64-byte line");
    orr_sim_destroy(s);
    orr_config_free(&cfg);
    orr_diag_free(&d);
}

/* Two runs of the same stream give the same digest. */
static void test_deterministic(void **state)
{
    (void)state;
    uint64_t dg[2];
    for (int k = 0; k < 2; k++) {
        struct fixture f;
        build(&f, "channels: 3, banks: 5");
        struct requester *r = rq(&f);
        r->count = 3000;
        r->window = 64;
        for (unsigned t = 0; t <= ORR_MEM_TAG_MAX; t++)
            r->aFreeTag[r->nFreeTag++] = (uint16_t)(ORR_MEM_TAG_MAX - t);
        stream_issue(f.req, r);
        orr_sim_run(f.s, NULL);
        assert_true(orr_sim_check(f.s));
        dg[k] = orr_sim_digest(f.s);
        teardown(&f);
    }
    assert_int_equal(dg[0], dg[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_latency),
        cmocka_unit_test(test_tras),
        cmocka_unit_test(test_frfcfs_reorders),
        cmocka_unit_test(test_starvation_cap),
        cmocka_unit_test(test_stream_bandwidth),
        cmocka_unit_test(test_data_roundtrip),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
