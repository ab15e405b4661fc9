/* CXL models: cxl_mem's latency is its device latency plus the DRAM media
 * (compared with a plain dram built from the same media params) and its
 * bandwidth is capped; cxl_switch routes by address, rewrites tags
 * downstream and restores them upstream, and rejects bad maps and
 * addresses. A requester and a tag-recording "echo" memory are defined
 * here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hw/registry.h"
#include "orrery/config.h"
#include "orrery/mem.h"
#include "orrery/sim.h"
#include "testutil.h"

/* --- requester: scripted requests or a read stream ------------------------ */

enum { TIMER_OP = 1 };
#define MAXOP 16
#define NTAG (ORR_MEM_TAG_MAX + 1)

struct op {
    orr_time_t at;
    enum orr_mem_cmd cmd;
    uint64_t addr;
    unsigned tag;
    uint64_t fill;
};

struct resp {
    orr_time_t latency;
    enum orr_mem_cmd cmd;
    uint64_t addr, word0;
    unsigned tag;
};

struct requester {
    struct orr_port *out;
    struct op aOp[MAXOP];
    size_t nOp;
    orr_time_t aSent[NTAG];
    struct resp log[MAXOP];
    size_t nLog;
    uint64_t count, issued, done; /* stream: `count` reads, `window` outstanding */
    unsigned window;
    orr_time_t last;
};

static int req_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p;
    (void)d;
    ((struct requester *)c->state)->out = orr_port_add(c, "out");
    return 0;
}

static void req_send(struct orr_component *c, enum orr_mem_cmd cmd, uint64_t addr, unsigned tag,
                     uint64_t fill)
{
    struct requester *r = c->state;
    struct orr_msg m = {ORR_MEM_HDR_BYTES, {orr_mem_pack(addr, cmd, tag), 0}};
    if (cmd == ORR_MEM_WR) {
        uint64_t *line;
        m.size += ORR_LINE_BYTES;
        m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, (void **)&line);
        line[0] = fill;
    }
    r->aSent[tag] = orr_now(c->sim);
    assert_int_equal(orr_port_send(r->out, &m, 0), 0);
}

/* Stream tags are issued % NTAG: with window <= NTAG and in-order-enough
 * completion they are unique among those outstanding. */
static void stream_issue(struct orr_component *c, struct requester *r)
{
    while (r->issued < r->count && r->issued - r->done < r->window) {
        req_send(c, ORR_MEM_RD, r->issued * ORR_LINE_BYTES, (unsigned)(r->issued % NTAG), 0);
        r->issued++;
    }
}

static void req_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct requester *r = c->state;
    if (ev->kind == ORR_TK_TIMER && ev->port == TIMER_OP) {
        const struct op *o = &r->aOp[ev->data[0]];
        req_send(c, o->cmd, o->addr, o->tag, o->fill);
        return;
    }
    if (ev->kind != ORR_TK_MSG)
        return;
    uint64_t w = ev->data[0];
    struct resp x = {orr_now(c->sim) - r->aSent[orr_mem_tag(w)], orr_mem_cmd(w), orr_mem_addr(w),
                     0, orr_mem_tag(w)};
    if (x.cmd == ORR_MEM_RD_RESP) {
        x.word0 = *(const uint64_t *)orr_blob_get(c->sim, ev->data[1]);
        orr_blob_free(c->sim, ev->data[1]);
    }
    if (r->nLog < MAXOP)
        r->log[r->nLog++] = x;
    if (r->count) {
        r->done++;
        r->last = orr_now(c->sim);
        stream_issue(c, r);
    }
}

/* --- echo: a memory that answers at once and records the tags it saw ----- */

struct echo {
    struct orr_port *up;
    unsigned aTag[MAXOP];
    size_t nTag;
};

static int echo_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p;
    (void)d;
    ((struct echo *)c->state)->up = orr_port_add(c, "up");
    return 0;
}

static void echo_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct echo *e = c->state;
    if (ev->kind != ORR_TK_MSG)
        return;
    uint64_t w = ev->data[0];
    if (e->nTag < MAXOP)
        e->aTag[e->nTag++] = orr_mem_tag(w);
    struct orr_msg m = {ORR_MEM_HDR_BYTES, {0, 0}};
    if (orr_mem_cmd(w) == ORR_MEM_WR) {
        orr_blob_free(c->sim, ev->data[1]);
        m.data[0] = orr_mem_pack(orr_mem_addr(w), ORR_MEM_WR_ACK, orr_mem_tag(w));
    } else {
        uint64_t *line;
        m.size += ORR_LINE_BYTES;
        m.data[0] = orr_mem_pack(orr_mem_addr(w), ORR_MEM_RD_RESP, orr_mem_tag(w));
        m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, (void **)&line);
        line[0] = 0xec40;
    }
    assert_int_equal(orr_port_send(e->up, &m, 0), 0);
}

static const struct orr_param no_params[] = {{NULL}};
static const struct orr_port_doc req_ports[] = {{"out", "requests"}, {NULL}};
static const struct orr_port_doc echo_ports[] = {{"up", "requests"}, {NULL}};
static const struct orr_component_type requester_type = {
    .name = "requester", .summary = "test requester", .params = no_params, .ports = req_ports,
    .state_size = sizeof(struct requester), .create = req_create, .handle = req_handle,
};
static const struct orr_component_type echo_type = {
    .name = "echo", .summary = "test memory", .params = no_params, .ports = echo_ports,
    .state_size = sizeof(struct echo), .create = echo_create, .handle = echo_handle,
};

/* --- fixture: components from one YAML document -------------------------- */

#define LINK ORR_NS

struct fixture {
    struct orr_config cfg;
    struct orr_diag d;
    struct orr_sim *s;
};

static void fx_init(struct fixture *f, const char *yaml)
{
    memset(f, 0, sizeof *f);
    orr_diag_init(&f->d);
    assert_int_equal(orr_config_load_string(&f->cfg, "t.yaml", yaml, strlen(yaml), NULL, &f->d),
                     0);
    struct orr_sim_options opt = {.seed = 1};
    assert_int_equal(orr_sim_create(&f->s, &opt), 0);
}

static struct orr_component *fx_add(struct fixture *f, const struct orr_component_type *t,
                                    const char *name)
{
    struct orr_component *c;
    assert_int_equal(orr_sim_add_component(f->s, t, name, orr_node_get(f->cfg.root, name), name,
                                           &f->d, &c),
                     0);
    return c;
}

static void fx_link(struct fixture *f, const char *a, const char *b)
{
    assert_int_equal(orr_sim_link(f->s, a, b, LINK, 0, NULL, &f->d), 0);
}

static void fx_free(struct fixture *f)
{
    orr_sim_destroy(f->s);
    orr_config_free(&f->cfg);
    orr_diag_free(&f->d);
}

static void add_op(struct orr_component *c, struct op o)
{
    struct requester *r = c->state;
    r->aOp[r->nOp] = o;
    orr_timer(c, o.at, TIMER_OP, r->nOp++, 0);
}

static uint64_t param(const struct orr_component_type *t, const struct orr_node *node,
                      const char *name)
{
    struct orr_params p;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_params_parse(t->params, node, "x", NULL, &p, &d), 0);
    uint64_t v = orr_param_u64(&p, name);
    orr_params_free(&p);
    orr_diag_free(&d);
    return v;
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

/* One idle read (a miss on a closed bank), then one that conflicts, against
 * cxl_mem and against a dram with the same media params: the difference is
 * the device latency plus one line through the device's data pipe. */
static void test_cxl_mem_latency(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, "cpu0: {}\ncpu1: {}\nlocal: {}\nexp: {}\n");
    struct orr_component *c0 = fx_add(&f, &requester_type, "cpu0");
    struct orr_component *c1 = fx_add(&f, &requester_type, "cpu1");
    fx_add(&f, &orr_dram_type, "local");
    fx_add(&f, &orr_cxl_mem_type, "exp");
    fx_link(&f, "cpu0.out", "local.in0");
    fx_link(&f, "cpu1.out", "exp.up");
    assert_int_equal(orr_sim_start(f.s, &f.d), 0);
    uint64_t conflict_addr = 2 * 8192 * 16; /* channel 0, bank 0, row 1 */
    for (int k = 0; k < 2; k++) {
        struct orr_component *c = k ? c1 : c0;
        add_op(c, (struct op){0, ORR_MEM_RD, 0, 1, 0});
        add_op(c, (struct op){1 * ORR_US, ORR_MEM_RD, conflict_addr, 2, 0});
    }
    assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_IDLE);
    const struct orr_node *exp = orr_node_get(f.cfg.root, "exp");
    uint64_t device = param(&orr_cxl_mem_type, exp, "device");
    uint64_t bw = param(&orr_cxl_mem_type, exp, "bandwidth");
    orr_time_t pipe = (orr_time_t)((ORR_LINE_BYTES * 8ull * ORR_S + bw - 1) / bw);
    struct requester *r0 = c0->state, *r1 = c1->state;
    assert_int_equal(r0->nLog, 2);
    assert_int_equal(r1->nLog, 2);
    for (int i = 0; i < 2; i++) {
        orr_time_t local = r0->log[i].latency - 2 * LINK, cxl = r1->log[i].latency - 2 * LINK;
        print_message("idle %s: local dram %.2f ns, cxl_mem %.2f ns (+%.2f ns = device %.2f + "
                      "pipe %.3f)\n",
                      i ? "conflict" : "miss", local / 1e3, cxl / 1e3, (cxl - local) / 1e3,
                      device / 1e3, pipe / 1e3);
        assert_int_equal(cxl, local + device + pipe);
    }
    /* Pond: +70-90 ns over local DRAM */
    assert_true(device + pipe >= 70 * ORR_NS && device + pipe <= 90 * ORR_NS);
    fx_free(&f);
}

/* A stream of reads against wide media is capped by the device bandwidth. */
static void test_cxl_mem_bandwidth(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, "cpu: {}\nexp: {channels: 4}\n");
    struct orr_component *c = fx_add(&f, &requester_type, "cpu");
    fx_add(&f, &orr_cxl_mem_type, "exp");
    fx_link(&f, "cpu.out", "exp.up");
    assert_int_equal(orr_sim_start(f.s, &f.d), 0);
    struct requester *r = c->state;
    r->count = 20000;
    r->window = 512;
    stream_issue(c, r);
    orr_sim_run(f.s, NULL);
    assert_int_equal(r->done, r->count);
    double cap = (double)param(&orr_cxl_mem_type, orr_node_get(f.cfg.root, "exp"), "bandwidth") /
                 8e9;
    double got = (double)r->count * ORR_LINE_BYTES * 1e3 / (double)r->last;
    orr_sim_finish(f.s);
    print_message("cxl_mem stream read: %.2f GB/s (device cap %.2f GB/s, media %.1f GB/s)\n", got,
                  cap, 4 * 64 / 2.5);
    assert_true(got >= 0.95 * cap && got <= cap * 1.0001);
    assert_true(metric(f.s, "exp", "reads") == 20000);
    assert_int_equal(orr_blob_live(f.s), 0);
    fx_free(&f);
}

static const char *kSwitchYaml =
    "cpu: {}\n"
    "sw:\n"
    "  ports: 2\n"
    "  latency: 30ns\n"
    "  ranges:\n"
    "    - {port: 0, base: 0x0, size: 1GiB, name: mem0}\n"
    "    - {port: 1, base: 0x40000000, size: 1GiB}\n"
    "mem0: {base: 0, size: 1GiB}\n"
    "echo: {}\n";

/* Requests reach the device whose range holds the address, downstream tags
 * are the switch's own, and responses return with the requester's tags. */
static void test_switch_routes_and_tags(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, kSwitchYaml);
    struct orr_component *c = fx_add(&f, &requester_type, "cpu");
    fx_add(&f, &orr_cxl_switch_type, "sw");
    fx_add(&f, &orr_cxl_mem_type, "mem0");
    struct orr_component *e = fx_add(&f, &echo_type, "echo");
    fx_link(&f, "cpu.out", "sw.up");
    fx_link(&f, "sw.d0", "mem0.up");
    fx_link(&f, "sw.d1", "echo.up");
    assert_int_equal(orr_sim_start(f.s, &f.d), 0);
    add_op(c, (struct op){0, ORR_MEM_WR, 0x1000, 4000, 0xabcd});
    add_op(c, (struct op){0, ORR_MEM_WR, 0x40001000, 4001, 0});
    add_op(c, (struct op){1 * ORR_US, ORR_MEM_RD, 0x1000, 7, 0});
    add_op(c, (struct op){1 * ORR_US, ORR_MEM_RD, 0x7fffffc0, 8, 0});
    assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_IDLE);
    struct requester *r = c->state;
    assert_int_equal(r->nLog, 4);
    unsigned seen = 0;
    for (size_t i = 0; i < r->nLog; i++) {
        const struct resp *x = &r->log[i];
        seen |= 1u << (x->tag % 16);
        if (x->tag == 4000 || x->tag == 4001)
            assert_int_equal(x->cmd, ORR_MEM_WR_ACK);
        if (x->tag == 7) {
            assert_int_equal(x->word0, 0xabcd); /* written through the switch to mem0 */
            assert_int_equal(x->addr, 0x1000);
        }
        if (x->tag == 8) {
            assert_int_equal(x->word0, 0xec40); /* answered by the echo behind d1 */
            assert_int_equal(x->addr, 0x7fffffc0);
            /* 2 x (link + switch) + link to the echo and back */
            assert_int_equal(x->latency, 4 * LINK + 2 * 30 * ORR_NS);
        }
    }
    assert_int_equal(seen, 1u << (4000 % 16) | 1u << (4001 % 16) | 1u << 7 | 1u << 8);
    /* the echo saw the switch's tags (first free ones, reused LIFO), not 4001 and 8 */
    struct echo *ec = e->state;
    assert_int_equal(ec->nTag, 2);
    assert_int_equal(ec->aTag[0], 0);
    assert_int_equal(ec->aTag[1], 0);
    orr_sim_finish(f.s);
    assert_true(metric(f.s, "sw", "d0.requests") == 2);
    assert_true(metric(f.s, "sw", "d1.requests") == 2);
    assert_true(metric(f.s, "mem0", "writes") == 1);
    assert_true(metric(f.s, "mem0", "reads") == 1);
    assert_int_equal(orr_blob_live(f.s), 0);
    fx_free(&f);
}

/* An address no range holds, and a tag reused while outstanding, fail the
 * run. */
static void test_switch_model_errors(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        struct fixture f;
        fx_init(&f, kSwitchYaml);
        struct orr_component *c = fx_add(&f, &requester_type, "cpu");
        fx_add(&f, &orr_cxl_switch_type, "sw");
        fx_add(&f, &orr_cxl_mem_type, "mem0");
        fx_add(&f, &echo_type, "echo");
        fx_link(&f, "cpu.out", "sw.up");
        fx_link(&f, "sw.d0", "mem0.up");
        fx_link(&f, "sw.d1", "echo.up");
        assert_int_equal(orr_sim_start(f.s, &f.d), 0);
        if (k == 0) {
            add_op(c, (struct op){0, ORR_MEM_RD, 0x80000000, 1, 0});
        } else {
            add_op(c, (struct op){0, ORR_MEM_RD, 0x40, 5, 0});
            add_op(c, (struct op){1, ORR_MEM_RD, 0x80, 5, 0});
        }
        assert_int_equal(orr_sim_run(f.s, NULL), ORR_STOP_FAILED);
        print_message("expected failure: %s\n", orr_sim_failure(f.s));
        assert_non_null(strstr(orr_sim_failure(f.s), k ? "tag 5 reused" : "no downstream range"));
        fx_free(&f);
    }
}

/* Overlapping ranges and bad ports are input errors with positions. */
static void test_switch_bad_ranges(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, "sw:\n"
                "  ports: 2\n"
                "  ranges:\n"
                "    - {port: 0, base: 0x0, size: 2GiB}\n"
                "    - {port: 1, base: 1GiB, size: 1GiB}\n"
                "    - {port: 2, base: 0x100000000, size: 1GiB}\n");
    assert_int_equal(orr_sim_add_component(f.s, &orr_cxl_switch_type, "sw",
                                           orr_node_get(f.cfg.root, "sw"), "sw", &f.d, NULL),
                     ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 1);
    assert_diag(&f.d, 0, "t.yaml:6:14: error: sw.ranges.2: port 2 is not a downstream port (0..1)");
    fx_free(&f);

    /* a malformed value is refused with the other keys, before the ranges
     * are checked against each other */
    fx_init(&f, "sw:\n"
                "  ports: 2\n"
                "  ranges:\n"
                "    - {port: 1, base: 0xq, size: 1GiB}\n");
    assert_int_equal(orr_sim_add_component(f.s, &orr_cxl_switch_type, "sw",
                                           orr_node_get(f.cfg.root, "sw"), "sw", &f.d, NULL),
                     ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 1);
    assert_diag(&f.d, 0, "t.yaml:4:23: error: sw.ranges.0.base: bad address '0xq': not a hex number");
    fx_free(&f);

    fx_init(&f, "sw:\n"
                "  ranges:\n"
                "    - {port: 0, base: 0x0, size: 2GiB}\n"
                "    - {port: 1, base: 1GiB, size: 1GiB}\n");
    assert_int_equal(orr_sim_add_component(f.s, &orr_cxl_switch_type, "sw",
                                           orr_node_get(f.cfg.root, "sw"), "sw", &f.d, NULL),
                     ORR_ESCHEMA);
    assert_diag(&f.d, 0,
                "t.yaml:4:7: error: sw: range 'd1' [0x40000000, 0x80000000) overlaps 'd0' "
                "[0x0, 0x80000000) declared at t.yaml:3:7");
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cxl_mem_latency),
        cmocka_unit_test(test_cxl_mem_bandwidth),
        cmocka_unit_test(test_switch_routes_and_tags),
        cmocka_unit_test(test_switch_model_errors),
        cmocka_unit_test(test_switch_bad_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
