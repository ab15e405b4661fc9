/* Tests for `orrery export` (analysis/export*.c): the shared formatters,
 * then each format on a small hand-written trace whose header carries a
 * configuration with a sched_node (tasks, two CPUs) and a link, and bad
 * input (missing, truncated trace: an error and no output file). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/export.h"
#include "analysis/export_internal.h"
#include "orrery/error.h"
#include "orrery/trace.h"

static void test_formatters(void **state)
{
    (void)state;
    char buf[80];
    exp_fmt_us(buf, 1234567);
    assert_string_equal(buf, "1.234567");
    exp_fmt_us(buf, 1);
    assert_string_equal(buf, "0.000001");
    exp_fmt_us(buf, 2000000000000ull);
    assert_string_equal(buf, "2000000.000000");
    exp_fmt_sec(buf, 1234567890123456ull);
    assert_string_equal(buf, "1234.567890");
    exp_fmt_sec(buf, 999999);
    assert_string_equal(buf, "0.000000");
    exp_vcd_id(buf, 0);
    assert_string_equal(buf, "!");
    exp_vcd_id(buf, 93);
    assert_string_equal(buf, "~");
    exp_vcd_id(buf, 94);
    assert_string_equal(buf, "!\"");
    exp_vcd_bin(buf, 0);
    assert_string_equal(buf, "0");
    exp_vcd_bin(buf, 5);
    assert_string_equal(buf, "101");
    exp_vcd_bin(buf, UINT64_MAX);
    assert_int_equal(strlen(buf), 64);
    assert_int_equal(strspn(buf, "1"), 64);
    strcpy(buf, "node0.core-1>x_Y");
    exp_vcd_name(buf);
    assert_string_equal(buf, "node0_core_1_x_Y");

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    orr_json_write_string(out, "a\"b\\c\n");
    fclose(out);
    assert_string_equal(text, "\"a\\\"b\\\\c\\n\"");
    free(text);
    /* valid UTF-8 passes through; each byte of an invalid sequence (stray,
     * overlong, surrogate, truncated) becomes one U+FFFD; DEL and other
     * controls are escaped */
    static const struct { const char *in, *out; } aCase[] = {
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
        {"a\xff" "b", "\"a\\ufffd" "b\""},
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
        {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
        {"x\xe2\x82", "\"x\\ufffd\\ufffd\""},
        {"\x01\x7f\t", "\"\\u0001\\u007f\\t\""},
    };
    for (size_t i = 0; i < sizeof aCase / sizeof aCase[0]; i++) {
        out = open_memstream(&text, &len);
        orr_json_write_string(out, aCase[i].in);
        fclose(out);
        assert_string_equal(text, aCase[i].out);
        free(text);
    }
}

/* --- a small trace ----------------------------------------------------------- */

#define SW 16
#define WK 17
#define IDLE48 0xFFFFFFFFFFFFull

static char *kPath[] = {"node0", "a", "b"};
static char *kType[] = {"sched_node", "gen", "sink"};
static char kConfig[] =
    "config=components:\n"
    "  node0:\n"
    "    type: sched_node\n"
    "    cpus: 2\n"
    "    tasks:\n"
    "    - name: t1\n"
    "      nice: 5\n"
    "    - name: web\n"
    "      count: 2\n"
    "      policy: fifo\n"
    "      prio: 10\n"
    "  a:\n"
    "    type: gen\n"
    "  b:\n"
    "    type: sink\n"
    "links:\n"
    "- from: a.out\n"
    "  to: b.in\n"
    "  latency: 100ns\n"
    "  bandwidth: 8Gbps\n";

static const struct orr_trace_rec kRecs[] = {
    {1000, 0, 0, WK, 0, 0, 0, 0},                  /* wake t1, on cpu0 */
    {2000, 0, 0, SW, 0, 0, IDLE48, 0},             /* cpu0: idle -> t1 */
    {3000, 0, 0, SW, 0, 0, 0, 1},                  /* cpu0: t1 -> web.0 (t1 sleeps) */
    {4000, 0, 0, WK, 0, 0, 1ull << 48 | 0, 1},     /* cpu1 wakes t1 onto cpu1 */
    {5000, 0, 0, SW, 0, 0, 1, UINT64_MAX},         /* cpu0: web.0 -> idle (preempted) */
    {6000, 0, 0, SW, 0, 0, 1ull << 48 | IDLE48, 1},/* cpu1: idle -> web.0 */
    {1100000, 2, 1, ORR_TK_MSG, 0, 1000, 7, 0},    /* a -> b: 1 us on the wire + 100 ns */
    {2200000, 2, 1, ORR_TK_MSG, 0, 1000, 8, 0},
    {2200000, 1, 1, ORR_TK_TIMER, 1, 0, 9, 0},
};
#define NREC (sizeof kRecs / sizeof kRecs[0])

static void write_trace_with(const char *path, char *config, size_t nComp, char **aPath,
                             char **aType, const struct orr_trace_rec *aRec, size_t nRec);

static void write_trace(const char *path)
{
    write_trace_with(path, kConfig, 3, kPath, kType, kRecs, NREC);
}

/* A trace with valid checksums whatever its header says. */
static void write_trace_with(const char *path, char *config, size_t nComp, char **aPath,
                             char **aType, const struct orr_trace_rec *aRec, size_t nRec)
{
    char *knobs[] = {config};
    char *kinds[18] = {"", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
                       "sched_switch", "sched_wakeup"};
    struct orr_trace_header h = {
        .scenario = "demo.yaml", .seed = 1, .build_id = "orrery-test", .overrides = "",
        .checkpoint_every = 4, .nKnob = 1, .aKnob = knobs, .nComp = nComp, .aCompPath = aPath,
        .aCompType = aType, .nKind = 18, .aKindName = kinds};
    struct orr_diag d = {0};
    struct orr_trace_writer *w;
    struct orr_digest dg;
    uint64_t *counts = calloc(nComp, sizeof *counts);
    assert_non_null(counts);
    assert_int_equal(orr_digest_init(&dg), 0);
    assert_int_equal(orr_trace_writer_open(&w, path, &h, &d), 0);
    for (size_t i = 0; i < nRec; i++) {
        uint8_t buf[ORR_TRACE_REC_BYTES];
        orr_trace_rec_encode(&aRec[i], buf);
        orr_digest_add(&dg, buf);
        counts[aRec[i].comp]++;
        assert_int_equal(orr_trace_writer_append(w, &aRec[i], orr_digest_value(&dg)), 0);
    }
    struct orr_trace_footer f = {.nRec = nRec, .digest = orr_digest_value(&dg),
                                 .sim_time = 3000000, .nComp = nComp, .aCompEvents = counts};
    assert_int_equal(orr_trace_writer_finish(w, &f), 0);
    orr_digest_free(&dg);
    orr_diag_free(&d);
    free(counts);
}

static char *export(enum orr_export_format f)
{
    char path[256];
    tmpdir_path(path, sizeof path, "t.trace");
    if (access(path, F_OK) != 0)
        write_trace(path);
    struct orr_diag d = {0};
    struct orr_trace_reader *r;
    assert_int_equal(orr_trace_open(&r, path, &d), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(orr_export_stream(r, f, out, &d), 0);
    fclose(out);
    orr_trace_close(r);
    assert_int_equal(orr_diag_count(&d), 0);
    orr_diag_free(&d);
    return text;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_ftrace(void **state)
{
    (void)state;
    char *t = export(ORR_EXPORT_FTRACE);
    assert_true(strncmp(t, "# tracer: nop\n", 14) == 0);
    assert_non_null(strstr(t, "# entries-in-buffer/entries-written: 6/6   #P:2\n"));
    assert_int_equal(count(t, "sched_switch: "), 4);
    assert_int_equal(count(t, "sched_wakeup: "), 2);
    assert_non_null(strstr(t, "          <idle>-0       [000] d..2.     0.000000: sched_wakeup: "
                              "comm=t1 pid=1 prio=125 target_cpu=000\n"));
    assert_non_null(strstr(t, "          <idle>-0       [000] d..2.     0.000000: sched_switch: "
                              "prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> "
                              "next_comm=t1 next_pid=1 next_prio=125\n"));
    /* t1 is woken before it runs again: it slept */
    assert_non_null(strstr(t, "              t1-1       [000] d..2.     0.000000: sched_switch: "
                              "prev_comm=t1 prev_pid=1 prev_prio=125 prev_state=S ==> "
                              "next_comm=web.0 next_pid=2 next_prio=89\n"));
    /* the waker's column is what runs on cpu1: idle */
    assert_non_null(strstr(t, "          <idle>-0       [001] d..2.     0.000000: sched_wakeup: "
                              "comm=t1 pid=1 prio=125 target_cpu=001\n"));
    /* web.0 runs again without a wakeup: it was preempted */
    assert_non_null(strstr(t, "prev_comm=web.0 prev_pid=2 prev_prio=89 prev_state=R ==> "
                              "next_comm=swapper/0 next_pid=0 next_prio=120\n"));
    assert_null(strstr(t, "msg"));
    free(t);
}

static void test_chrome(void **state)
{
    (void)state;
    char *t = export(ORR_EXPORT_CHROME);
    assert_true(strncmp(t, "{\"displayTimeUnit\":\"ns\"", 23) == 0);
    assert_non_null(strstr(t, "\"traceEvents\":[\n"));
    assert_true(strcmp(t + strlen(t) - 4, "\n]}\n") == 0);
    for (int i = 0; i < 3; i++) {
        char want[128];
        snprintf(want, sizeof want, "\"pid\":%d,\"tid\":1,\"name\":\"process_name\",\"args\":"
                                    "{\"name\":\"%s\"}}", i + 1, kPath[i]);
        assert_non_null(strstr(t, want));
    }
    /* one slice per record, plus a busy slice per message on the link */
    assert_int_equal(count(t, "\"ph\":\"X\""), NREC + 2);
    assert_int_equal(count(t, "\"name\":\"busy\",\"cat\":\"link\""), 2);
    assert_non_null(strstr(t, "{\"ph\":\"X\",\"pid\":2,\"tid\":2,\"ts\":0.000000,"
                              "\"dur\":1.000000,\"name\":\"busy\""));
    assert_non_null(strstr(t, "\"ts\":1.100000,\"dur\":0,\"name\":\"msg\""));
    /* sent at 1.1 us - 1 us serialisation - 100 ns latency = 0, from a to b */
    assert_non_null(strstr(t, "{\"ph\":\"s\",\"id\":6,\"pid\":2,\"tid\":1,\"ts\":0.000000,"));
    assert_non_null(strstr(t, "{\"ph\":\"f\",\"bp\":\"e\",\"id\":6,\"pid\":3,\"tid\":1,"
                              "\"ts\":1.100000,"));
    assert_int_equal(count(t, "\"ph\":\"s\""), 2);
    assert_int_equal(count(t, "\"ph\":\"f\""), 2);
    /* second message: 1 us of wire time in a 1.1 us gap */
    assert_non_null(strstr(t, "\"name\":\"link a.out->b.in\",\"args\":{\"utilisation\":0.909091}"));
    assert_non_null(strstr(t, "\"name\":\"sched_switch\",\"args\":{\"count\":4}"));
    /* words past 2^53 are strings */
    assert_non_null(strstr(t, "\"a\":281474976710655,"));
    assert_non_null(strstr(t, "\"b\":\"0xffffffffffffffff\""));
    free(t);
}

static void test_vcd(void **state)
{
    (void)state;
    char *t = export(ORR_EXPORT_VCD);
    assert_non_null(strstr(t, "$timescale 1ps $end\n"));
    assert_non_null(strstr(t, "$scope module node0 $end\n$var wire 64 ! sched_switch $end\n"
                              "$var wire 64 \" sched_wakeup $end\n$upscope $end\n"));
    assert_non_null(strstr(t, "$scope module a $end\n$var wire 64 # timer $end\n"));
    assert_non_null(strstr(t, "$scope module b $end\n$var wire 64 $ msg $end\n"));
    assert_non_null(strstr(t, "$scope module links $end\n$var real 64 % a_out__b_in $end\n"));
    assert_non_null(strstr(t, "$enddefinitions $end\n#0\n$dumpvars\nb0 !\n"));
    assert_non_null(strstr(t, "#2200000\nb1000 $\nr0.909091 %\nb1001 #\n#3000000\nr0 %\n"));
    /* timestamps strictly increase */
    unsigned long long prev = 0;
    int n = 0;
    for (const char *p = strstr(t, "$enddefinitions"); (p = strstr(p, "\n#")); p++) {
        unsigned long long ts = strtoull(p + 2, NULL, 10);
        assert_true(n == 0 || ts > prev);
        prev = ts;
        n++;
    }
    assert_int_equal(n, 10); /* 0, 1000 ... 6000, 1.1 us, 2.2 us, 3 us (end) */
    free(t);
}

static void test_bad_input(void **state)
{
    (void)state;
    char path[256], cut[256], out[256], tmp[300];
    struct orr_diag d = {0};
    tmpdir_path(path, sizeof path, "t.trace");
    if (access(path, F_OK) != 0)
        write_trace(path);
    tmpdir_path(out, sizeof out, "out.json");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    tmpdir_path(cut, sizeof cut, "missing.trace");
    assert_int_equal(orr_export_file(cut, ORR_EXPORT_CHROME, out, &d), ORR_ENOENT);
    assert_int_equal(access(out, F_OK), -1);
    /* a truncated copy */
    tmpdir_path(cut, sizeof cut, "cut.trace");
    FILE *in = fopen(path, "rb"), *o = fopen(cut, "wb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, n - 10, o);
    fclose(in);
    fclose(o);
    assert_int_equal(orr_export_file(cut, ORR_EXPORT_VCD, out, &d), ORR_ETRUNC);
    assert_int_equal(access(out, F_OK), -1);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(orr_diag_count(&d), 2);
    assert_non_null(strstr(d.aMsg[1].text, "truncated"));
    /* and a good one lands under its name, with no .tmp left */
    assert_int_equal(orr_export_file(path, ORR_EXPORT_FTRACE, out, &d), 0);
    assert_int_equal(access(out, F_OK), 0);
    assert_int_equal(access(tmp, F_OK), -1);
    enum orr_export_format f;
    assert_int_equal(orr_export_format_parse("perfetto", &f), 0);
    assert_int_equal(f, ORR_EXPORT_PERFETTO);
    assert_int_equal(orr_export_format_parse("json", &f), ORR_EINVAL);
    orr_diag_free(&d);
}

/* A crafted trace (valid checksums) whose stored configuration names 40
 * sched_nodes of 2^24 tasks each: 671 million tasks from a file of a few
 * KB. The exporter must not allocate for each of them: a child exports
 * it, and its peak memory stays far below what one slot per task (at
 * least 8 bytes each, 5 GB) would take. The names still come out right. */
static void test_crafted_config(void **state)
{
    (void)state;
    enum { NODES = 40 };
    char *aPath[NODES], *aType[NODES];
    size_t cap = NODES * 128 + 64, len = 0;
    char *config = malloc(cap);
    assert_non_null(config);
    len += (size_t)snprintf(config + len, cap - len, "config=components:\n");
    for (int i = 0; i < NODES; i++) {
        aPath[i] = malloc(16);
        assert_non_null(aPath[i]);
        snprintf(aPath[i], 16, "n%d", i);
        aType[i] = "sched_node";
        len += (size_t)snprintf(config + len, cap - len,
                                "  n%d:\n    type: sched_node\n    cpus: 4096\n    tasks:\n"
                                "    - {name: t, count: 16777216}\n", i);
    }
    /* on the last node: wake its last task, switch idle -> it */
    const uint64_t last = (1u << 24) - 1;
    const struct orr_trace_rec recs[] = {
        {1000, NODES - 1, NODES - 1, WK, 0, 0, last, 0},
        {2000, NODES - 1, NODES - 1, SW, 0, 0, IDLE48, last},
    };
    char path[256], out[256];
    tmpdir_path(path, sizeof path, "crafted.trace");
    tmpdir_path(out, sizeof out, "crafted.ftrace");
    write_trace_with(path, config, NODES, aPath, aType, recs, 2);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60); /* a path per task would take minutes: fail, do not hang */
        struct orr_diag d = {0};
        _exit(orr_export_file(path, ORR_EXPORT_FTRACE, out, &d) == 0 ? 0 : 1);
    }
    int status;
    struct rusage ru;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(getrusage(RUSAGE_CHILDREN, &ru), 0); /* the only child: its peak */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(ru.ru_maxrss < 512 * 1024); /* KB: well under the 5 GB a slot per task takes */
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    /* pid = 39 nodes of 2^24 tasks before it, + its id, + 1; CPUs are
     * numbered on from node to node: 39 x 4096 before its cpu 0 */
    char want[256];
    snprintf(want, sizeof want, "comm=t.16777215 pid=%llu prio=120 target_cpu=%u",
             (unsigned long long)((NODES - 1) * (1ull << 24) + last + 1), (NODES - 1) * 4096u);
    if (!strstr(text, want))
        fail_msg("no '%s' in:\n%s", want, text);
    /* 40 nodes of 4096 CPUs */
    assert_non_null(strstr(text, "#P:163840\n"));
    for (int i = 0; i < NODES; i++)
        free(aPath[i]);
    free(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formatters),
        cmocka_unit_test(test_ftrace),
        cmocka_unit_test(test_chrome),
        cmocka_unit_test(test_vcd),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_crafted_config),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
