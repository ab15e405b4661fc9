/* ISA mode (hw/isa, docs/isa.md): the ELF loader's checks and messages,
 * and guest programs run on isacores in a machine — output, exit codes,
 * faults, unknown syscalls, the instruction limit, atomics across cores,
 * futexes and the litmus shapes. The guests are the build's
 * (<build>/guest/NAME-ARCH, next to this test's directory). */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/elf.h"
#include "hw/isacore.h"
#include "hw/registry.h"
#include "orrery/error.h"
#include "orrery/scenario.h"
#include "testutil.h"

static char guest_dir[1100];

static const char *guest(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", guest_dir, name);
    return buf;
}

static int setup(void **state)
{
    char exe[1024];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = 0;
    for (int up = 0; up < 2; up++) { /* <build>/tests/test_isa -> <build> */
        char *s = strrchr(exe, '/');
        if (s)
            *s = 0;
    }
    snprintf(guest_dir, sizeof guest_dir, "%.1000s/guest", exe);
    return tmpdir_setup(state);
}

/* ------------------------------------------------------------- the loader */

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_elf_good(void **state)
{
    (void)state;
    char path[1100], err[512];
    size_t size = 8u << 20; /* aarch64 links at 4 MiB */
    uint8_t *ram = calloc(1, size);
    struct isa_elf_info info;
    assert_int_equal(isa_elf_load(guest("hello-riscv64", path, sizeof path), ISA_RISCV64, ram,
                                  size, &info, err, sizeof err), 0);
    assert_true(info.entry >= info.lo && info.entry < info.hi);
    assert_int_equal(isa_elf_load(guest("hello-aarch64", path, sizeof path), ISA_AARCH64, ram,
                                  size, &info, err, sizeof err), 0);
    assert_true(info.hi <= size);
    free(ram);
}

static void test_elf_bad(void **state)
{
    (void)state;
    char path[1100], want[1400], err[512];
    static uint8_t ram[1 << 20];
    /* wrong architecture */
    guest("hello-aarch64", path, sizeof path);
    assert_int_equal(isa_elf_load(path, ISA_RISCV64, ram, sizeof ram, NULL, err, sizeof err),
                     ORR_EINVAL);
    snprintf(want, sizeof want, "'%s' is an ELF for aarch64, but the core runs riscv64", path);
    assert_string_equal(err, want);
    /* a segment outside RAM: the same file into 4 KiB of RAM */
    guest("hello-riscv64", path, sizeof path);
    assert_int_equal(isa_elf_load(path, ISA_RISCV64, ram, 4096, NULL, err, sizeof err), ORR_ERANGE);
    assert_non_null(strstr(err, "lies outside guest RAM [0, 0x1000)"));
    /* not an ELF */
    char bad[1100];
    tmpdir_path(bad, sizeof bad, "text.elf");
    write_file(bad, "#!/bin/sh\necho hi\n", 18);
    assert_int_equal(isa_elf_load(bad, ISA_RISCV64, ram, sizeof ram, NULL, err, sizeof err),
                     ORR_EPARSE);
    snprintf(want, sizeof want, "'%s' is not an ELF file (no ELF magic number)", bad);
    assert_string_equal(err, want);
    /* missing */
    tmpdir_path(bad, sizeof bad, "missing.elf");
    assert_int_equal(isa_elf_load(bad, ISA_RISCV64, ram, sizeof ram, NULL, err, sizeof err),
                     ORR_ENOENT);
    snprintf(want, sizeof want, "cannot open ELF '%s': No such file or directory", bad);
    assert_string_equal(err, want);
    /* truncated: the header of a real file only */
    tmpdir_path(bad, sizeof bad, "short.elf");
    FILE *f = fopen(guest("hello-riscv64", path, sizeof path), "rb");
    uint8_t head[64];
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    write_file(bad, head, sizeof head);
    assert_int_equal(isa_elf_load(bad, ISA_RISCV64, ram, sizeof ram, NULL, err, sizeof err),
                     ORR_EPARSE);
    assert_non_null(strstr(err, "is truncated"));
}

/* ------------------------------------------------------------- guest runs */

struct run {
    struct orr_scenario sc;
    struct orr_diag d;
    enum orr_stop_reason why;
    int open_rc;
};

/* Run PROG-ARCH on `cores` cores of a one-socket machine; extra is more
 * keys for the workloads entry ("" or ", key: value"). */
static void run_guest(struct run *r, const char *prog, const char *arch, unsigned cores,
                      const char *extra)
{
    char yaml[4096], path[1100], elf[1200], name[128];
    snprintf(name, sizeof name, "%s-%s", prog, arch);
    snprintf(yaml, sizeof yaml,
             "name: t\nseed: 1\nstop: {duration: 2ms}\n"
             "machine:\n  cores_per_socket: %u\n  workloads:\n"
             "    - {cores: all, elf: %s, arch: %s%s}\n",
             cores, guest(name, elf, sizeof elf), arch, extra);
    tmpdir_path(path, sizeof path, "s.yaml");
    write_file(path, yaml, strlen(yaml));
    memset(r, 0, sizeof *r);
    orr_diag_init(&r->d);
    r->open_rc = orr_scenario_open(&r->sc, path, NULL, 0, NULL, orr_builtin_types, &r->d);
    if (r->open_rc) {
        orr_diag_print(&r->d, stderr);
        return;
    }
    struct orr_run_hooks hooks = {0};
    r->why = orr_sim_run(r->sc.sim, &hooks);
    orr_sim_finish(r->sc.sim);
}

static void run_free(struct run *r)
{
    orr_scenario_close(&r->sc);
    orr_diag_free(&r->d);
}

static double metric(const struct run *r, const char *comp, const char *name)
{
    const struct orr_metric *am;
    size_t n = orr_sim_metrics(r->sc.sim, &am);
    for (size_t i = 0; i < n; i++)
        if (strcmp(am[i].component, comp) == 0 && strcmp(am[i].name, name) == 0)
            return am[i].value;
    fail_msg("no metric %s.%s", comp, name);
    return 0;
}

static const char *output(const struct run *r, const char *comp)
{
    size_t n;
    const char *o = isacore_output(orr_sim_find(r->sc.sim, comp), &n);
    return o ? o : "";
}

static void test_hello(void **state)
{
    (void)state;
    static const char *const arch[] = {"riscv64", "aarch64"};
    for (int a = 0; a < 2; a++) {
        struct run r;
        run_guest(&r, "hello", arch[a], 2, "");
        assert_int_equal(r.open_rc, 0);
        assert_int_equal(r.why, ORR_STOP_WORKLOADS);
        assert_string_equal(output(&r, "sock0.core0"), "hello from core 0 of 2\n");
        assert_string_equal(output(&r, "sock0.core1"), "hello from core 1 of 2\n");
        assert_true(metric(&r, "sock0.core1", "exited") == 1);
        assert_true(metric(&r, "sock0.core1", "exit_code") == 0);
        assert_true(metric(&r, "sock0.core0", "instructions") > 100);
        run_free(&r);
    }
}

static void test_fault(void **state)
{
    (void)state;
    static const char *const arch[] = {"riscv64", "aarch64"};
    for (int a = 0; a < 2; a++) {
        struct run r;
        run_guest(&r, "fault", arch[a], 1, "");
        assert_int_equal(r.open_rc, 0);
        assert_int_equal(r.why, ORR_STOP_FAILED);
        const char *f = orr_sim_failure(r.sc.sim);
        assert_non_null(strstr(f, "load from unmapped address 0x7f000008 at pc 0x"));
        assert_string_equal(output(&r, "sock0.core0"), "about to fault\n");
        char timed[512];
        snprintf(timed, sizeof timed, "%s", f);
        run_free(&r);
        /* the same instruction named with and without memory hooks */
        run_guest(&r, "fault", arch[a], 1, ", timing: false");
        assert_string_equal(orr_sim_failure(r.sc.sim), timed);
        run_free(&r);
        run_guest(&r, "illegal", arch[a], 1, "");
        assert_int_equal(r.why, ORR_STOP_FAILED);
        assert_non_null(strstr(orr_sim_failure(r.sc.sim), "illegal instruction at pc 0x"));
        run_free(&r);
    }
}

static void test_unknown_syscall(void **state)
{
    (void)state;
    struct run r;
    run_guest(&r, "nosys", "riscv64", 1, "");
    assert_int_equal(r.why, ORR_STOP_WORKLOADS);
    assert_string_equal(output(&r, "sock0.core0"), "syscall 999 returned -38\n");
    assert_true(metric(&r, "sock0.core0", "unknown_syscalls") == 1);
    assert_true(metric(&r, "sock0.core0", "exit_code") == 38);
    run_free(&r);
    run_guest(&r, "nosys", "aarch64", 1, ", unknown_syscall: fail");
    assert_int_equal(r.why, ORR_STOP_FAILED);
    assert_non_null(strstr(orr_sim_failure(r.sc.sim), "unknown syscall 999 at pc 0x"));
    run_free(&r);
}

static void test_instruction_limit(void **state)
{
    (void)state;
    static const unsigned limits[] = {1000, 1001, 1002, 1003};
    for (int a = 0; a < 2; a++)
        for (int k = 0; k < 4; k++) {
            struct run r;
            char extra[64];
            snprintf(extra, sizeof extra, ", max_instructions: %u", limits[k]);
            run_guest(&r, "spin", a ? "aarch64" : "riscv64", 1, extra);
            assert_int_equal(r.why, ORR_STOP_WORKLOADS);
            assert_true(metric(&r, "sock0.core0", "instructions") == limits[k]);
            assert_true(metric(&r, "sock0.core0", "instruction_limit") == 1);
            run_free(&r);
        }
}

static void test_atomic_sum(void **state)
{
    (void)state;
    static const char *const arch[] = {"riscv64", "aarch64"};
    static const char *const prog[] = {"sum", "spinlock"};
    for (int a = 0; a < 2; a++)
        for (int p = 0; p < 2; p++) {
            struct run r;
            run_guest(&r, prog[p], arch[a], 4, "");
            assert_int_equal(r.why, ORR_STOP_WORKLOADS);
            assert_non_null(strstr(output(&r, "sock0.core0"), "(exact)"));
            for (int c = 0; c < 4; c++) {
                char comp[32];
                snprintf(comp, sizeof comp, "sock0.core%d", c);
                assert_true(metric(&r, comp, "exit_code") == 0);
            }
            run_free(&r);
        }
}

static void test_futex(void **state)
{
    (void)state;
    struct run r;
    run_guest(&r, "futex", "riscv64", 2, "");
    assert_int_equal(r.why, ORR_STOP_WORKLOADS);
    assert_non_null(strstr(output(&r, "sock0.core0"), "core 0 woken after "));
    assert_string_equal(output(&r, "sock0.core1"), "core 1 woke 1 waiter(s)\n");
    assert_true(metric(&r, "sock0.core0", "futex_waits") >= 1);
    assert_true(metric(&r, "sock0.core1", "yields") == 3);
    run_free(&r);
}

/* The litmus shapes: every outcome seen must be one the architecture
 * allows. The guests exit 1 on a forbidden one (SB+fences 00, MP+fences
 * 10); guest memory is sequentially consistent, so the relaxed outcomes
 * RVWMO and Arm allow without fences (SB 00, MP 10) are never seen —
 * which the models allow too. */
static void test_litmus(void **state)
{
    (void)state;
    static const char *const prog[] = {"sb", "sb_fence", "mp", "mp_fence"};
    static const char *const arch[] = {"riscv64", "aarch64"};
    for (int a = 0; a < 2; a++)
        for (int p = 0; p < 4; p++) {
            struct run r;
            run_guest(&r, prog[p], arch[a], 2, "");
            assert_int_equal(r.why, ORR_STOP_WORKLOADS);
            const char *o = output(&r, "sock0.core0");
            assert_true(strncmp(o, prog[p][0] == 's' ? "SB" : "MP", 2) == 0);
            assert_true(metric(&r, "sock0.core0", "exit_code") == 0);
            /* the histogram covers every iteration */
            unsigned h[4];
            const char *q = strchr(o, ' ');
            assert_int_equal(sscanf(q, " 00=%u 01=%u 10=%u 11=%u", &h[0], &h[1], &h[2], &h[3]), 4);
            assert_int_equal(h[0] + h[1] + h[2] + h[3], 200);
            assert_int_equal(prog[p][0] == 's' ? h[0] : h[2], 0); /* SC: never relaxed */
            run_free(&r);
        }
}


/* Regression: an illegal instruction that starts a block (Unicorn reports
 * a 65,532-byte block for it) fails at once in timed mode — before, the
 * L1I could never hold the "block" and the core stalled until the run's
 * end — and counts exactly: the same instructions timed and functional. */
static void test_illegal_block_start(void **state)
{
    (void)state;
    static const char *const arch[] = {"riscv64", "aarch64"};
    for (int a = 0; a < 2; a++) {
        struct run r;
        double n[2];
        for (int timed = 0; timed < 2; timed++) {
            run_guest(&r, "illegal", arch[a], 1, timed ? "" : ", timing: false");
            assert_int_equal(r.why, ORR_STOP_FAILED);
            assert_non_null(strstr(orr_sim_failure(r.sc.sim), "illegal instruction at pc 0x"));
            assert_true(orr_now(r.sc.sim) < 100 * ORR_US); /* not at stop.duration (2 ms) */
            n[timed] = metric(&r, "sock0.core0", "instructions");
            run_free(&r);
        }
        assert_true(n[0] == n[1]);
        assert_true(n[0] > 0 && n[0] < 100); /* crt0 and main's start, not 32,777 */
    }
}

/* Regression: a guest that never exits must not end the run as a clean
 * one: the run stops with ORR_STOP_UNFINISHED naming the core. */
static void test_unfinished(void **state)
{
    (void)state;
    struct run r;
    run_guest(&r, "spin", "riscv64", 1, "");
    assert_int_equal(r.open_rc, 0);
    assert_int_equal(r.why, ORR_STOP_UNFINISHED);
    size_t n = 0;
    assert_string_equal(orr_sim_unfinished(r.sc.sim, &n), "sock0.core0");
    assert_int_equal(n, 1);
    run_free(&r);
    run_guest(&r, "hello", "riscv64", 1, "");
    assert_int_equal(r.why, ORR_STOP_WORKLOADS);
    assert_null(orr_sim_unfinished(r.sc.sim, &n));
    run_free(&r);
}

/* Regression: GNU ld gives an aarch64 .bss-only segment a file offset
 * past the end of the file (64 KiB alignment); it loads (zeroed), as Linux
 * and qemu load it. Made from hello-aarch64 by turning one non-LOAD
 * program header into such a segment above the program. */
static void test_elf_bss_past_eof(void **state)
{
    char src[1200], dst[1100];
    (void)state;
    FILE *f = fopen(guest("hello-aarch64", src, sizeof src), "rb");
    assert_non_null(f);
    static uint8_t b[1 << 20];
    size_t len = fread(b, 1, sizeof b, f);
    fclose(f);
    assert_true(len > 64 && len < sizeof b);
    uint64_t phoff, hi = 0;
    uint16_t phent, phnum;
    memcpy(&phoff, b + 32, 8);
    memcpy(&phent, b + 54, 2);
    memcpy(&phnum, b + 56, 2);
    int spare = -1;
    for (int i = 0; i < phnum; i++) {
        uint8_t *ph = b + phoff + (uint64_t)i * phent;
        uint32_t type;
        uint64_t va, msz;
        memcpy(&type, ph, 4);
        memcpy(&va, ph + 16, 8);
        memcpy(&msz, ph + 40, 8);
        if (type == 1 && va + msz > hi)
            hi = va + msz;
        else if (type != 1 && spare < 0)
            spare = i;
    }
    assert_true(spare >= 0);
    uint8_t *ph = b + phoff + (uint64_t)spare * phent;
    uint32_t load = 1, flags = 6;
    uint64_t at = (hi + 0xffff) & ~(uint64_t)0xffff, off = len + 0x10000, fsz = 0, msz = 0x3000;
    memcpy(ph, &load, 4);
    memcpy(ph + 4, &flags, 4);
    memcpy(ph + 8, &off, 8);
    memcpy(ph + 16, &at, 8);
    memcpy(ph + 24, &at, 8);
    memcpy(ph + 32, &fsz, 8);
    memcpy(ph + 40, &msz, 8);
    tmpdir_path(dst, sizeof dst, "bss.elf");
    write_file(dst, b, len);
    uint64_t size = 16u << 20;
    uint8_t *ram = malloc(size);
    assert_non_null(ram);
    memset(ram, 0xAA, size);
    char err[512];
    struct isa_elf_info info;
    int rc = isa_elf_load(dst, ISA_AARCH64, ram, size, &info, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    assert_true(info.hi == at + msz);
    for (uint64_t i = at; i < at + msz; i++)
        if (ram[i] != 0)
            fail_msg("bss byte %#llx not zeroed", (unsigned long long)i);
    free(ram);
}

static void test_bad_scenarios(void **state)
{
    (void)state;
    struct run r;
    run_guest(&r, "hello", "riscv64", 1, ", ram: 4KiB");
    assert_int_equal(r.open_rc, ORR_ESCHEMA);
    assert_true(orr_diag_count(&r.d) >= 1);
    assert_non_null(strstr(r.d.aMsg[0].text, "lies outside guest RAM [0, 0x1000)"));
    run_free(&r);
    run_guest(&r, "nosuch", "riscv64", 1, "");
    assert_int_equal(r.open_rc, ORR_ESCHEMA);
    assert_non_null(strstr(r.d.aMsg[0].text, "cannot open ELF"));
    run_free(&r);
    run_guest(&r, "hello", "riscv64", 1, ", elf_unused: 1");
    assert_int_equal(r.open_rc, ORR_ESCHEMA); /* an unknown key */
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf_good),
        cmocka_unit_test(test_elf_bad),
        cmocka_unit_test(test_elf_bss_past_eof),
        cmocka_unit_test(test_illegal_block_start),
        cmocka_unit_test(test_unfinished),
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_fault),
        cmocka_unit_test(test_unknown_syscall),
        cmocka_unit_test(test_instruction_limit),
        cmocka_unit_test(test_atomic_sum),
        cmocka_unit_test(test_futex),
        cmocka_unit_test(test_litmus),
        cmocka_unit_test(test_bad_scenarios),
    };
    return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
