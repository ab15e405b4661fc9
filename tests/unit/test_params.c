/* Unit tests for parameter schemas (include/orrery/params.h): typed values,
 * defaults, constraints, and the exact messages for every kind of mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#include "orrery/config.h"
#include "orrery/diag.h"
#include "orrery/error.h"
#include "orrery/params.h"

static const char *const kPolicies[] = {"fifo", "rr", "cfs", NULL};

/* A schema using every type. Required: name, interval. */
static const struct orr_param kSchema[] = {
    {"name", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "instance name", NULL, 0, 0},
    {"interval", ORR_P_TIME, NULL, ORR_PF_POSITIVE, "time between requests", NULL, 0, 0},
    {"enabled", ORR_P_BOOL, "true", 0, "switch it on", NULL, 0, 0},
    {"offset", ORR_P_INT, "-5", 0, "signed offset", NULL, (uint64_t)-100, 100},
    {"count", ORR_P_UINT, "8", 0, "how many", NULL, 1, 64},
    {"latency", ORR_P_CYCLES, "5cy", 0, "pipeline latency", NULL, 0, 0},
    {"freq", ORR_P_FREQ, "3.2GHz", ORR_PF_POSITIVE, "clock", NULL, 0, 0},
    {"size", ORR_P_SIZE, "48KiB", 0, "capacity", NULL, 1024, 1ull << 30},
    {"bw", ORR_P_BW, "200Gbps", 0, "link bandwidth", NULL, 0, 0},
    {"policy", ORR_P_ENUM, "cfs", 0, "scheduler", kPolicies, 0, 0},
    {"tags", ORR_P_LIST, "[a, b]", 0, "labels", NULL, 0, 0},
    {"none", ORR_P_LIST, "[]", 0, "empty by default", NULL, 0, 0},
    {"opts", ORR_P_MAP, "", 0, "free-form options", NULL, 0, 0},
    {"more", ORR_P_MAP, "{}", 0, "more options", NULL, 0, 0},
    {"timeout", ORR_P_TIME, "1ms", 0, "bounded time", NULL, 1000, 10000000000ull},
    {"items", ORR_P_SEQ, "[]", 0, "a list the owner validates", NULL, 0, 0},
    {"rules", ORR_P_SEQ, "{}", ORR_PF_NONEMPTY, "must have entries when given", NULL, 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

struct fixture {
    struct orr_config cfg;
    struct orr_diag d;
    struct orr_params p;
};

/* Load text as "s.yaml" and validate its "sec" map against kSchema. */
static int parse(struct fixture *f, const char *text)
{
    memset(f, 0, sizeof *f);
    orr_diag_init(&f->d);
    int rc = orr_config_load_string(&f->cfg, "s.yaml", text, strlen(text), NULL, &f->d);
    if (rc) {
        orr_diag_print(&f->d, stderr);
        fail_msg("bad test YAML");
    }
    static const char *const skip[] = {"type", NULL};
    return orr_params_parse(kSchema, orr_node_get(f->cfg.root, "sec"), "sec", skip, &f->p,
                            &f->d);
}

static void done(struct fixture *f)
{
    orr_params_free(&f->p);
    orr_config_free(&f->cfg);
    orr_diag_free(&f->d);
}

/* Parse "sec:\n  name: n\n  interval: 1ns\n  <line>" and expect exactly one
 * error, rendered as want. */
static void expect_one_error(const char *line, const char *want)
{
    char text[512];
    snprintf(text, sizeof text, "sec:\n  name: n\n  interval: 1ns\n  %s\n", line);
    struct fixture f;
    int rc = parse(&f, text);
    if (rc != ORR_ESCHEMA || orr_diag_count(&f.d) != 1) {
        print_error("line '%s': rc %d, %zu messages\n", line, rc, orr_diag_count(&f.d));
        orr_diag_print(&f.d, stderr);
    }
    assert_int_equal(rc, ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 1);
    assert_diag(&f.d, 0, want);
    /* a failed parse leaves out empty and safe to free again */
    assert_null(f.p.v);
    assert_int_equal(f.p.n, 0);
    done(&f);
}

static void test_all_given(void **state)
{
    (void)state;
    struct fixture f;
    int rc = parse(&f, "sec:\n"
                       "  type: gen\n"
                       "  name: gen0\n"
                       "  interval: 2.5us\n"
                       "  enabled: false\n"
                       "  offset: -42\n"
                       "  count: 64\n"
                       "  latency: 12cy\n"
                       "  freq: \"2GHz\"\n"
                       "  size: 1MiB\n"
                       "  bw: 25GB/s\n"
                       "  policy: rr\n"
                       "  tags: [x, 'y', z]\n"
                       "  opts: {k: v}\n"
                       "  timeout: 10ms\n"
                       "  items: [{a: 1}, [2], x]\n");
    if (rc)
        orr_diag_print(&f.d, stderr);
    assert_int_equal(rc, 0);
    assert_int_equal(orr_diag_count(&f.d), 0);
    assert_string_equal(orr_param_str(&f.p, "name"), "gen0");
    assert_int_equal(orr_param_u64(&f.p, "interval"), 2500000);
    assert_false(orr_param_bool(&f.p, "enabled"));
    assert_int_equal(orr_param_int(&f.p, "offset"), -42);
    assert_int_equal(orr_param_u64(&f.p, "count"), 64);
    assert_int_equal(orr_param_u64(&f.p, "latency"), 12);
    assert_int_equal(orr_param_u64(&f.p, "freq"), 2000000000ull);
    assert_int_equal(orr_param_u64(&f.p, "size"), 1048576);
    assert_int_equal(orr_param_u64(&f.p, "bw"), 200000000000ull);
    assert_int_equal(orr_param_enum(&f.p, "policy"), 1);
    size_t n = 0;
    const char *const *tags = orr_param_list(&f.p, "tags", &n);
    assert_int_equal(n, 3);
    assert_string_equal(tags[0], "x");
    assert_string_equal(tags[2], "z");
    const struct orr_node *opts = orr_param_map(&f.p, "opts");
    assert_non_null(opts);
    assert_string_equal(orr_node_get(opts, "k")->scalar, "v");
    assert_int_equal(orr_param_u64(&f.p, "timeout"), 10000000000ull);
    const struct orr_node *items = orr_param_map(&f.p, "items");
    assert_non_null(items);
    assert_int_equal(items->kind, ORR_NODE_SEQ);
    assert_int_equal(items->n, 3);
    assert_true(orr_param_given(&f.p, "name"));
    const struct orr_mark *m = orr_param_mark(&f.p, "interval");
    assert_string_equal(m->file, "s.yaml");
    assert_int_equal(m->line, 4);
    assert_int_equal(m->col, 13);
    done(&f);
}

static void test_defaults(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(parse(&f, "sec:\n  name: n\n  interval: 1ns\n"), 0);
    assert_true(orr_param_bool(&f.p, "enabled"));
    assert_int_equal(orr_param_int(&f.p, "offset"), -5);
    assert_int_equal(orr_param_u64(&f.p, "count"), 8);
    assert_int_equal(orr_param_u64(&f.p, "latency"), 5);
    assert_int_equal(orr_param_u64(&f.p, "freq"), 3200000000ull);
    assert_int_equal(orr_param_u64(&f.p, "size"), 49152);
    assert_int_equal(orr_param_u64(&f.p, "bw"), 200000000000ull);
    assert_int_equal(orr_param_enum(&f.p, "policy"), 2);
    size_t n = 0;
    const char *const *tags = orr_param_list(&f.p, "tags", &n);
    assert_int_equal(n, 2);
    assert_string_equal(tags[0], "a");
    assert_string_equal(tags[1], "b");
    orr_param_list(&f.p, "none", &n);
    assert_int_equal(n, 0);
    assert_null(orr_param_map(&f.p, "opts"));
    assert_null(orr_param_map(&f.p, "more"));
    assert_null(orr_param_map(&f.p, "items"));
    assert_null(orr_param_map(&f.p, "rules"));
    assert_false(orr_param_given(&f.p, "count"));
    assert_true(orr_param_given(&f.p, "interval"));
    /* a default's mark is the owning map's */
    const struct orr_mark *m = orr_param_mark(&f.p, "count");
    assert_string_equal(m->file, "s.yaml");
    assert_int_equal(m->line, 2);
    assert_int_equal(m->col, 3);
    done(&f);
}

static void test_null_map_all_defaults(void **state)
{
    (void)state;
    static const struct orr_param schema[] = {
        {"x", ORR_P_UINT, "3", 0, "", NULL, 0, 0},
        {"y", ORR_P_STRING, "hi", 0, "", NULL, 0, 0},
        {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
    };
    struct orr_params p;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_params_parse(schema, NULL, "s", NULL, &p, &d), 0);
    assert_int_equal(orr_param_u64(&p, "x"), 3);
    assert_string_equal(orr_param_str(&p, "y"), "hi");
    assert_null(orr_param_mark(&p, "x")->file);
    orr_params_free(&p);
    orr_params_free(&p); /* twice is fine */

    /* a required key with no map at all: an error without a position */
    assert_int_equal(orr_params_parse(kSchema, NULL, "sec", NULL, &p, &d), ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&d), 2);
    assert_diag(&d, 0, "error: sec.name: missing required key 'name' (string)");
    assert_diag(&d, 1, "error: sec.interval: missing required key 'interval' (time)");
    orr_diag_free(&d);
}

static void test_type_errors(void **state)
{
    (void)state;
    expect_one_error("enabled: yes",
                     "s.yaml:4:12: error: sec.enabled: expected true or false, got 'yes'");
    expect_one_error("enabled: [true]",
                     "s.yaml:4:12: error: sec.enabled: expected true or false, got a sequence");
    expect_one_error("offset: 1.5", "s.yaml:4:11: error: sec.offset: expected an integer, "
                                    "got '1.5'");
    expect_one_error("offset: 0x10", "s.yaml:4:11: error: sec.offset: expected an integer, "
                                     "got '0x10'");
    expect_one_error("offset: -99999999999999999999",
                     "s.yaml:4:11: error: sec.offset: '-99999999999999999999' is out of range "
                     "for a 64-bit integer");
    expect_one_error("count: -1", "s.yaml:4:10: error: sec.count: expected a non-negative "
                                  "integer, got '-1'");
    expect_one_error("count: ' 5'", "s.yaml:4:10: error: sec.count: expected a non-negative "
                                    "integer, got ' 5'");
    expect_one_error("count: 99999999999999999999",
                     "s.yaml:4:10: error: sec.count: '99999999999999999999' is out of range "
                     "(at most 18446744073709551615)");
    expect_one_error("timeout: 10", "s.yaml:4:12: error: sec.timeout: missing unit in '10': "
                                    "expected a time such as 10ns (units: ps, ns, us, ms, s)");
    expect_one_error("timeout: 0.1ps", "s.yaml:4:12: error: sec.timeout: below the 1 ps "
                                       "resolution in '0.1ps': expected a whole number of "
                                       "picoseconds");
    expect_one_error("timeout: -1ms", "s.yaml:4:12: error: sec.timeout: negative value in "
                                      "'-1ms': expected a non-negative value (a time such as "
                                      "10ns)");
    expect_one_error("timeout: 10xs", "s.yaml:4:12: error: sec.timeout: unknown unit in '10xs': "
                                      "expected a time such as 10ns (units: ps, ns, us, ms, s; "
                                      "case matters)");
    expect_one_error("timeout: {a: 1}", "s.yaml:4:12: error: sec.timeout: expected a time such "
                                        "as 10ns, got a mapping");
    expect_one_error("size: 10", "s.yaml:4:9: error: sec.size: missing unit in '10': expected a "
                                 "size such as 48KiB (units: B, KB, MB, GB, TB, KiB, MiB, GiB, "
                                 "TiB)");
    expect_one_error("freq: 3.2", "s.yaml:4:9: error: sec.freq: missing unit in '3.2': expected "
                                  "a frequency such as 3.2GHz (units: Hz, kHz, MHz, GHz, THz)");
    expect_one_error("latency: 3ns", "s.yaml:4:12: error: sec.latency: unknown unit in '3ns': "
                                     "expected a cycle count such as 5cy (units: cy; case "
                                     "matters)");
    expect_one_error("bw: fast", "s.yaml:4:7: error: sec.bw: missing number in 'fast': "
                                 "expected a bandwidth such as 200Gbps (units: bps, Kbps, Mbps, "
                                 "Gbps, Tbps, B/s, KB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s)");
    expect_one_error("policy: eevdf",
                     "s.yaml:4:11: error: sec.policy: expected one of fifo, rr, cfs, got 'eevdf'");
    expect_one_error("policy: cfq", "s.yaml:4:11: error: sec.policy: expected one of fifo, rr, "
                                    "cfs, got 'cfq'; did you mean 'cfs'?");
    expect_one_error("policy: [rr]", "s.yaml:4:11: error: sec.policy: expected one of fifo, rr, "
                                     "cfs, got a sequence");
    expect_one_error("tags: x", "s.yaml:4:9: error: sec.tags: expected a list such as [a, b], "
                                "got a scalar");
    expect_one_error("tags: [a, {b: 1}]",
                     "s.yaml:4:13: error: sec.tags.1: expected a string, got a mapping");
    expect_one_error("opts: 5", "s.yaml:4:9: error: sec.opts: expected a mapping, got a scalar");
    expect_one_error("items: {a: 1}",
                     "s.yaml:4:10: error: sec.items: expected a list, got a mapping");
    expect_one_error("rules: []", "s.yaml:4:10: error: sec.rules: must not be empty");
    expect_one_error("type: x\n  opts: [1]",
                     "s.yaml:5:9: error: sec.opts: expected a mapping, got a sequence");
}

static void test_constraints(void **state)
{
    (void)state;
    expect_one_error("freq: 0GHz", "s.yaml:4:9: error: sec.freq: must be greater than zero, "
                                   "got '0GHz'");
    expect_one_error("count: 0", "s.yaml:4:10: error: sec.count: must be between 1 and 64, "
                                 "got '0'");
    expect_one_error("count: 65", "s.yaml:4:10: error: sec.count: must be between 1 and 64, "
                                  "got '65'");
    expect_one_error("offset: -101", "s.yaml:4:11: error: sec.offset: must be between -100 and "
                                     "100, got '-101'");
    expect_one_error("size: 2GiB", "s.yaml:4:9: error: sec.size: must be between 1KiB and 1GiB, "
                                   "got '2GiB'");
    expect_one_error("timeout: 11ms", "s.yaml:4:12: error: sec.timeout: must be between 1ns and "
                                      "10ms, got '11ms'");
    /* bounds are inclusive */
    struct fixture f;
    assert_int_equal(parse(&f, "sec: {name: n, interval: 1ps, count: 1, size: 1GiB, "
                               "timeout: 10ms, offset: 100}\n"),
                     0);
    assert_int_equal(orr_param_u64(&f.p, "interval"), 1);
    done(&f);
}

static void test_positive_and_nonempty(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(parse(&f, "sec:\n  name: ''\n  interval: 0ns\n"), ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 2);
    assert_diag(&f.d, 0, "s.yaml:2:9: error: sec.name: must not be empty");
    assert_diag(&f.d, 1, "s.yaml:3:13: error: sec.interval: must be greater than zero, got "
                         "'0ns'");
    done(&f);

    static const struct orr_param schema[] = {
        {"l", ORR_P_LIST, "", ORR_PF_NONEMPTY, "", NULL, 0, 0},
        {"i", ORR_P_INT, "1", ORR_PF_POSITIVE, "", NULL, 0, 0},
        {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
    };
    struct orr_diag d;
    struct orr_config c;
    struct orr_params p;
    orr_diag_init(&d);
    const char *text = "l: []\ni: -3\n";
    assert_int_equal(orr_config_load_string(&c, "t.yaml", text, strlen(text), NULL, &d), 0);
    assert_int_equal(orr_params_parse(schema, c.root, NULL, NULL, &p, &d), ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&d), 2);
    assert_diag(&d, 0, "t.yaml:1:4: error: l: must not be empty");
    assert_diag(&d, 1, "t.yaml:2:4: error: i: must be greater than zero, got '-3'");
    orr_config_free(&c);
    orr_diag_free(&d);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    static const struct orr_param schema[] = {
        {"interval", ORR_P_TIME, "1ns", 0, "", NULL, 0, 0},
        {"burst", ORR_P_UINT, "1", 0, "", NULL, 0, 0},
        {"target", ORR_P_STRING, "x", 0, "", NULL, 0, 0},
        {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
    };
    static const char *const skip[] = {"type", NULL};
    const char *text = "gen:\n  type: g\n  intervl: 1ns\n  brust: 2\n  zzz: 1\n  interval: 2ns\n";
    struct orr_diag d;
    struct orr_config c;
    struct orr_params p;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load_string(&c, "u.yaml", text, strlen(text), NULL, &d), 0);
    assert_int_equal(orr_params_parse(schema, orr_node_get(c.root, "gen"), "components.gen0",
                                      skip, &p, &d),
                     ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&d), 3);
    assert_diag(&d, 0, "u.yaml:3:3: error: components.gen0.intervl: unknown key 'intervl'; did "
                       "you mean 'interval'? (valid keys: interval, burst, target, type)");
    assert_diag(&d, 1, "u.yaml:4:3: error: components.gen0.brust: unknown key 'brust'; did you "
                       "mean 'burst'? (valid keys: interval, burst, target, type)");
    assert_diag(&d, 2, "u.yaml:5:3: error: components.gen0.zzz: unknown key 'zzz' (valid keys: "
                       "interval, burst, target, type)");
    orr_diag_free(&d);

    /* without skip, "type" is unknown too */
    orr_diag_init(&d);
    assert_int_equal(orr_params_parse(schema, orr_node_get(c.root, "gen"), "g", NULL, &p, &d),
                     ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&d), 4);
    assert_diag(&d, 0, "u.yaml:2:3: error: g.type: unknown key 'type' (valid keys: interval, "
                       "burst, target)");
    orr_diag_free(&d);

    static const struct orr_param none[] = {{NULL, 0, NULL, 0, NULL, NULL, 0, 0}};
    orr_diag_init(&d);
    assert_int_equal(orr_params_parse(none, c.root, NULL, NULL, &p, &d), ORR_ESCHEMA);
    assert_diag(&d, 0, "u.yaml:1:1: error: gen: unknown key 'gen' (no keys are allowed here)");
    orr_diag_free(&d);
    orr_config_free(&c);
}

static void test_missing_and_not_a_map(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(parse(&f, "top: 1\nsec:\n  enabled: true\n"), ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 2);
    assert_diag(&f.d, 0, "s.yaml:3:3: error: sec.name: missing required key 'name' (string)");
    assert_diag(&f.d, 1, "s.yaml:3:3: error: sec.interval: missing required key 'interval' "
                         "(time)");
    done(&f);

    assert_int_equal(parse(&f, "sec: [1, 2]\n"), ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 1);
    assert_diag(&f.d, 0, "s.yaml:1:6: error: sec: expected a mapping, got a sequence");
    done(&f);
}

/* Every problem in a map is reported, not just the first. */
static void test_collects_all_errors(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(parse(&f, "sec:\n  enabled: 1\n  count: x\n  policy: no\n  bogus: 1\n"),
                     ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 6); /* 4 bad keys + 2 missing */
    done(&f);
}

/* --set values are checked like file values, with the <--set> column. */
static void test_set_value_marks(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(parse(&f, "sec:\n  name: n\n  interval: 1ns\n"), 0);
    orr_params_free(&f.p);
    assert_int_equal(orr_config_set(&f.cfg, "sec.interval=10", &f.d), 0);
    assert_int_equal(orr_params_parse(kSchema, orr_node_get(f.cfg.root, "sec"), "sec", NULL,
                                      &f.p, &f.d),
                     ORR_ESCHEMA);
    assert_diag(&f.d, 0, "<--set>:14: error: sec.interval: missing unit in '10': expected a "
                         "time such as 10ns (units: ps, ns, us, ms, s)");
    done(&f);
}

static void test_describe(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(orr_ptype_describe(&kSchema[1], buf, sizeof buf), "time");
    assert_string_equal(orr_ptype_describe(&kSchema[2], buf, sizeof buf), "bool");
    assert_string_equal(orr_ptype_describe(&kSchema[3], buf, sizeof buf), "integer");
    assert_string_equal(orr_ptype_describe(&kSchema[4], buf, sizeof buf), "unsigned integer");
    assert_string_equal(orr_ptype_describe(&kSchema[5], buf, sizeof buf), "cycles");
    assert_string_equal(orr_ptype_describe(&kSchema[6], buf, sizeof buf), "frequency");
    assert_string_equal(orr_ptype_describe(&kSchema[7], buf, sizeof buf), "size");
    assert_string_equal(orr_ptype_describe(&kSchema[8], buf, sizeof buf), "bandwidth");
    assert_string_equal(orr_ptype_describe(&kSchema[9], buf, sizeof buf),
                        "one of fifo, rr, cfs");
    assert_string_equal(orr_ptype_describe(&kSchema[10], buf, sizeof buf), "list");
    assert_string_equal(orr_ptype_describe(&kSchema[12], buf, sizeof buf), "map");
    assert_string_equal(orr_ptype_describe(&kSchema[0], buf, sizeof buf), "string");
    assert_string_equal(orr_ptype_describe(&kSchema[15], buf, sizeof buf), "list");
    assert_int_equal(kSchema[15].type, ORR_P_SEQ);
    char tiny[6];
    assert_string_equal(orr_ptype_describe(&kSchema[9], tiny, sizeof tiny), "one o");
}

/* ---- groups, includes, addresses and values built in code ---------------- */

static const struct orr_param kLevel[] = {
    {"size", ORR_P_SIZE, "32KiB", ORR_PF_POSITIVE, "capacity"},
    {"ways", ORR_P_UINT, "8", 0, "associativity", NULL, 1, 64},
    {NULL},
};
static const struct orr_param kRange[] = {
    {"base", ORR_P_ADDR, NULL, 0, "first address"},
    {"size", ORR_P_SIZE, NULL, ORR_PF_POSITIVE, "bytes"},
    {"name", ORR_P_STRING, "", 0, "name"},
    {NULL},
};
static const struct orr_param kShared[] = {
    {"mshrs", ORR_P_UINT, "16", 0, "lines in flight", NULL, 2, 256},
    {"l1", ORR_P_GROUP, "{}", 0, "the L1", .group = kLevel},
    {NULL},
};
static const struct orr_param kOuter[] = {
    {"agent", ORR_P_UINT, NULL, 0, "agent id"},
    {"", ORR_P_INCLUDE, .group = kShared},
    {"homes", ORR_P_GROUPS, "[]", 0, "ranges", .group = kRange},
    {NULL},
};

static int parse_outer(struct fixture *f, const char *text)
{
    memset(f, 0, sizeof *f);
    orr_diag_init(&f->d);
    if (orr_config_load_string(&f->cfg, "g.yaml", text, strlen(text), NULL, &f->d))
        fail_msg("bad test YAML");
    return orr_params_parse(kOuter, orr_node_get(f->cfg.root, "c"), "c", NULL, &f->p, &f->d);
}

static void test_groups_and_includes(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(parse_outer(&f, "c:\n"
                                     "  agent: 3\n"
                                     "  mshrs: 4\n"
                                     "  l1: {ways: 2}\n"
                                     "  homes:\n"
                                     "    - {base: 0x1000, size: 4KiB, name: a}\n"
                                     "    - {base: 4GiB, size: 1GiB}\n"),
                     0);
    assert_true(orr_param_has(&f.p, "mshrs")); /* an included key is a key */
    assert_int_equal(orr_param_u64(&f.p, "mshrs"), 4);
    const struct orr_params *l1 = orr_param_group(&f.p, "l1");
    assert_int_equal(orr_param_u64(l1, "ways"), 2);
    assert_int_equal(orr_param_u64(l1, "size"), 32768); /* the group's own default */
    assert_int_equal(orr_param_mark(l1, "ways")->line, 4);
    size_t n = 0;
    const struct orr_params *h = orr_param_groups(&f.p, "homes", &n);
    assert_int_equal(n, 2);
    assert_int_equal(orr_param_u64(&h[0], "base"), 0x1000);
    assert_string_equal(orr_param_str(&h[0], "name"), "a");
    assert_int_equal(orr_param_u64(&h[1], "base"), 4ull << 30);
    assert_string_equal(orr_param_str(&h[1], "name"), "");
    assert_int_equal(orr_param_mark(&h[1], "size")->line, 7);
    done(&f);

    /* absent: the group at its defaults, marked at the owning map; no items */
    assert_int_equal(parse_outer(&f, "c: {agent: 1}\n"), 0);
    assert_int_equal(orr_param_u64(orr_param_group(&f.p, "l1"), "size"), 32768);
    assert_int_equal(orr_param_mark(orr_param_group(&f.p, "l1"), "size")->line, 1);
    assert_null(orr_param_groups(&f.p, "homes", &n));
    assert_int_equal(n, 0);
    done(&f);
}

static void test_group_errors(void **state)
{
    (void)state;
    struct fixture f;
    /* errors inside groups carry the nested key path and position */
    assert_int_equal(parse_outer(&f, "c:\n"
                                     "  agent: 1\n"
                                     "  l1: {ways: 99, color: red}\n"
                                     "  homes: [{base: 0xZZ, size: 1KiB}, {size: 1KiB}, 7]\n"),
                     ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 5);
    assert_diag(&f.d, 0, "g.yaml:3:14: error: c.l1.ways: must be between 1 and 64, got '99'");
    assert_diag(&f.d, 1, "g.yaml:3:18: error: c.l1.color: unknown key 'color' (valid keys: "
                         "size, ways)");
    assert_diag(&f.d, 2, "g.yaml:4:18: error: c.homes.0.base: bad address '0xZZ': not a hex "
                         "number");
    assert_diag(&f.d, 3, "g.yaml:4:37: error: c.homes.1.base: missing required key 'base' "
                         "(address)");
    assert_diag(&f.d, 4, "g.yaml:4:51: error: c.homes.2: expected a mapping, got a scalar");
    done(&f);
    /* a group given as a scalar, a list of groups as a map */
    assert_int_equal(parse_outer(&f, "c: {agent: 1, l1: 4, homes: {a: 1}}\n"), ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 2);
    assert_diag(&f.d, 0, "g.yaml:1:19: error: c.l1: expected a mapping, got a scalar");
    assert_diag(&f.d, 1, "g.yaml:1:29: error: c.homes: expected a list of mappings, got a "
                         "mapping");
    done(&f);
}

static void test_addresses(void **state)
{
    (void)state;
    uint64_t v = 0;
    const char *why = NULL;
    assert_int_equal(orr_addr_parse("0x10", &v, &why), 0);
    assert_int_equal(v, 16);
    assert_int_equal(orr_addr_parse("0XfF", &v, &why), 0);
    assert_int_equal(v, 255);
    assert_int_equal(orr_addr_parse("4096", &v, &why), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(orr_addr_parse("2GiB", &v, &why), 0);
    assert_int_equal(v, 2ull << 30);
    assert_int_equal(orr_addr_parse("0xffffffffffffffff", &v, &why), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(orr_addr_parse("0x10000000000000000", &v, &why), ORR_EPARSE);
    assert_string_equal(why, "more than 64 bits");
    assert_int_equal(orr_addr_parse("18446744073709551616", &v, &why), ORR_EPARSE);
    assert_string_equal(why, "more than 64 bits");
    assert_int_equal(orr_addr_parse("0x", &v, &why), ORR_EPARSE);
    assert_string_equal(why, "no hex digits after 0x");
    assert_int_equal(orr_addr_parse("-1", &v, &why), ORR_EPARSE);
    assert_string_equal(why, "expected an address such as 0x100000000, 4096 or 4GiB");
    assert_int_equal(orr_addr_parse("0", &v, &why), 0);
    assert_int_equal(v, 0);
    assert_int_equal(orr_addr_parse("0xzz", &v, &why), ORR_EPARSE);
    assert_string_equal(why, "not a hex number");
    assert_int_equal(orr_addr_parse("", &v, &why), ORR_EPARSE);
    assert_int_equal(orr_addr_parse("4 apples", &v, &why), ORR_EPARSE);
}

static void test_built_in_code(void **state)
{
    (void)state;
    static const struct orr_mark at = {"b.yaml", 9, 2};
    struct orr_params p, q;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_params_defaults(&p, kOuter, &at), 0);
    /* a required key not yet set is refused by the check, with its path */
    assert_int_equal(orr_params_check(&p, "x", &d), ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&d), 1);
    assert_diag(&d, 0, "b.yaml:9:2: error: x.agent: missing required key 'agent' "
                       "(unsigned integer)");
    orr_diag_free(&d);
    orr_param_set_u64(&p, "agent", 5);
    orr_param_set_u64(&p, "mshrs", 300); /* out of bounds: found by the check */
    orr_diag_init(&d);
    assert_int_equal(orr_params_check(&p, "x", &d), ORR_ESCHEMA);
    assert_diag(&d, 0, "b.yaml:9:2: error: x.mshrs: must be between 2 and 256, got '300'");
    orr_diag_free(&d);
    orr_param_set_u64(&p, "mshrs", 8);
    struct orr_params *h = orr_param_groups_add(&p, "homes");
    assert_non_null(h);
    orr_param_set_u64(h, "base", 0x2000);
    orr_param_set_u64(h, "size", 64);
    assert_int_equal(orr_param_set_str(h, "name", "node0"), 0);
    orr_diag_init(&d);
    assert_int_equal(orr_params_check(&p, "x", &d), 0);
    orr_diag_free(&d);
    /* a deep copy is independent of its source */
    assert_int_equal(orr_params_copy(&q, &p), 0);
    orr_param_set_u64(&p, "agent", 6);
    orr_params_free(&p);
    assert_int_equal(orr_param_u64(&q, "agent"), 5);
    size_t n = 0;
    const struct orr_params *hq = orr_param_groups(&q, "homes", &n);
    assert_int_equal(n, 1);
    assert_string_equal(orr_param_str(&hq[0], "name"), "node0");
    assert_int_equal(orr_param_u64(&hq[0], "base"), 0x2000);
    assert_true(orr_param_given(&q, "mshrs"));
    assert_false(orr_param_given(&q, "l1"));
    orr_params_free(&q);
}

static void test_forward_keeps_mark(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(parse_outer(&f, "c:\n  agent: 1\n  mshrs: 32\n  l1: {size: 64KiB}\n"), 0);
    struct orr_params p;
    assert_int_equal(orr_params_defaults(&p, kShared, NULL), 0);
    assert_int_equal(orr_param_forward(&p, "mshrs", &f.p), 0);
    assert_int_equal(orr_param_forward(&p, "l1", &f.p), 0);
    assert_int_equal(orr_param_u64(&p, "mshrs"), 32);
    assert_int_equal(orr_param_mark(&p, "mshrs")->line, 3); /* the user's position */
    assert_true(orr_param_given(&p, "mshrs"));
    assert_int_equal(orr_param_u64(orr_param_group(&p, "l1"), "size"), 65536);
    assert_int_equal(orr_param_mark(orr_param_group(&p, "l1"), "size")->line, 4);
    done(&f); /* the copy owns what it needs */
    assert_int_equal(orr_param_u64(orr_param_group(&p, "l1"), "ways"), 8);
    orr_params_free(&p);
}

static void test_uints(void **state)
{
    (void)state;
    static const struct orr_param schema[] = {
        {"routes", ORR_P_UINTS, NULL, ORR_PF_NONEMPTY, "ports", NULL, 0, 7},
        {"extra", ORR_P_UINTS, "[3, 4]", 0, "more"},
        {NULL},
    };
    struct fixture f;
    memset(&f, 0, sizeof f);
    orr_diag_init(&f.d);
    const char *text = "u: {routes: [0, 7, 2]}\nv: {routes: [1, 8, x, [2]]}\nw: {routes: []}\n";
    assert_int_equal(orr_config_load_string(&f.cfg, "u.yaml", text, strlen(text), NULL, &f.d), 0);
    assert_int_equal(orr_params_parse(schema, orr_node_get(f.cfg.root, "u"), "u", NULL, &f.p, &f.d), 0);
    size_t n = 0;
    const uint64_t *r = orr_param_uints(&f.p, "routes", &n);
    assert_int_equal(n, 3);
    assert_int_equal(r[0], 0);
    assert_int_equal(r[1], 7);
    assert_int_equal(r[2], 2);
    r = orr_param_uints(&f.p, "extra", &n);
    assert_int_equal(n, 2);
    assert_int_equal(r[1], 4);
    orr_params_free(&f.p);
    /* each bad item is reported at its own position; empty is refused */
    assert_int_equal(orr_params_parse(schema, orr_node_get(f.cfg.root, "v"), "v", NULL, &f.p, &f.d),
                     ORR_ESCHEMA);
    assert_int_equal(orr_params_parse(schema, orr_node_get(f.cfg.root, "w"), "w", NULL, &f.p, &f.d),
                     ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&f.d), 4);
    assert_diag(&f.d, 0, "u.yaml:2:17: error: v.routes.1: must be between 0 and 7, got '8'");
    assert_diag(&f.d, 1, "u.yaml:2:20: error: v.routes.2: expected a non-negative integer, got 'x'");
    assert_diag(&f.d, 2, "u.yaml:2:23: error: v.routes.3: expected a non-negative integer, got a "
                         "sequence");
    assert_diag(&f.d, 3, "u.yaml:3:13: error: w.routes: must not be empty");
    done(&f);
}

static void test_forward_all_shared_only(void **state)
{
    (void)state;
    /* kOuter includes kShared: its keys are forwarded; `agent`, declared
     * only in kOuter, and a same-named key of another declaration are not */
    static const struct orr_param child[] = {
        {"", ORR_P_INCLUDE, .group = kShared},
        {"agent", ORR_P_UINT, "0", 0, "another agent key"},
        {NULL},
    };
    struct fixture f;
    assert_int_equal(parse_outer(&f, "c: {agent: 9, mshrs: 64, l1: {ways: 4}}\n"), 0);
    struct orr_params p;
    assert_int_equal(orr_params_defaults(&p, child, NULL), 0);
    assert_int_equal(orr_params_forward_all(&p, &f.p), 0);
    assert_int_equal(orr_param_u64(&p, "mshrs"), 64);
    assert_int_equal(orr_param_u64(orr_param_group(&p, "l1"), "ways"), 4);
    assert_int_equal(orr_param_u64(&p, "agent"), 0);
    assert_false(orr_param_given(&p, "agent"));
    orr_params_free(&p);
    done(&f);
}

static void count_key(void *arg, const struct orr_param *key)
{
    (void)key;
    ++*(unsigned *)arg;
}

static void test_schema_walk(void **state)
{
    (void)state;
    unsigned n = 0;
    orr_schema_walk(kOuter, count_key, &n);
    assert_int_equal(n, 4); /* agent, mshrs, l1, homes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_given),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_null_map_all_defaults),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_constraints),
        cmocka_unit_test(test_positive_and_nonempty),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_missing_and_not_a_map),
        cmocka_unit_test(test_collects_all_errors),
        cmocka_unit_test(test_set_value_marks),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_groups_and_includes),
        cmocka_unit_test(test_group_errors),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_built_in_code),
        cmocka_unit_test(test_forward_keeps_mark),
        cmocka_unit_test(test_schema_walk),
        cmocka_unit_test(test_uints),
        cmocka_unit_test(test_forward_all_shared_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
