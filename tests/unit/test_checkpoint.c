/* Checkpoint files (orrery/checkpoint.h): a run saved at a point and
 * restored into a fresh build of the same scenario ends with the same
 * digest and metrics as the run that was never interrupted; truncated,
 * bit-flipped, other-version and other-build files are refused; a section
 * whose restore op reads less than its save op wrote is refused; a type
 * without save/restore makes saving fail, naming it, with no file. */
#define _POSIX_C_SOURCE 200809L
#define XXH_INLINE_ALL
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cmocka.h>

#include "hw/registry.h"
#include "orrery/checkpoint.h"
#include "orrery/error.h"
#include "orrery/scenario.h"
#include "orrery/sim.h"
#include "orrery/version.h"
#include "testutil.h"

static void scenario_path(char *buf, size_t n, const char *name)
{
    const char *src = getenv("ORRERY_SOURCE_DIR");
    snprintf(buf, n, "%s/scenarios/%s", src ? src : ".", name);
}

static void open_scenario(struct orr_scenario *sc, const char *path)
{
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_scenario_open(sc, path, NULL, 0, NULL, orr_builtin_types, &d);
    if (rc)
        orr_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    orr_diag_free(&d);
}

static bool diag_has(const struct orr_diag *d, const char *needle)
{
    for (size_t i = 0; i < d->nMsg; i++)
        if (strstr(d->aMsg[i].text, needle))
            return true;
    return false;
}

/* Run sc to the end and return its digest; its metrics into *am. */
static uint64_t run_out(struct orr_scenario *sc, const struct orr_metric **am, size_t *nm)
{
    orr_sim_run(sc->sim, NULL);
    orr_sim_finish(sc->sim);
    *nm = orr_sim_metrics(sc->sim, am);
    return orr_sim_digest(sc->sim);
}

static void assert_same_metrics(const struct orr_metric *a, size_t na, const struct orr_metric *b,
                                size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i].component, b[i].component);
        assert_string_equal(a[i].name, b[i].name);
        assert_memory_equal(&a[i].value, &b[i].value, sizeof a[i].value);
    }
}

/* Save incast.yaml at `at` into path (as build `build`), finishing that
 * run too: its digest and metrics are the uninterrupted run's (checked). */
static void save_incast(const char *path, orr_time_t at, const char *build)
{
    char sp[1024];
    scenario_path(sp, sizeof sp, "incast.yaml");
    struct orr_scenario ref, sc;
    open_scenario(&ref, sp);
    open_scenario(&sc, sp);
    assert_int_equal(orr_sim_run_until(sc.sim, NULL, at), -1);
    struct orr_diag d;
    orr_diag_init(&d);
    struct orr_ckpt_identity id = {.build_id = build, .scenario = sp,
                                   .scenario_hash = sc.hash, .seed = sc.seed};
    assert_int_equal(orr_ckpt_save(sc.sim, &id, path, &d), 0);
    orr_diag_free(&d);
    const struct orr_metric *am, *bm;
    size_t na, nb;
    uint64_t d1 = run_out(&ref, &am, &na), d2 = run_out(&sc, &bm, &nb);
    assert_true(d1 == d2);
    assert_same_metrics(am, na, bm, nb);
    orr_scenario_close(&ref);
    orr_scenario_close(&sc);
}

static void test_round_trip(void **st)
{
    (void)st;
    char path[1024], sp[1024];
    tmpdir_path(path, sizeof path, "rt.ckpt");
    scenario_path(sp, sizeof sp, "incast.yaml");
    /* several points, including one before anything happened */
    const orr_time_t at[] = {1, 250 * ORR_US, 777 * ORR_US + 3, 1500 * ORR_US};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        save_incast(path, at[k], orr_build_id());
        struct orr_ckpt_file f;
        struct orr_diag d;
        orr_diag_init(&d);
        assert_int_equal(orr_ckpt_load(&f, path, &d), 0);
        assert_int_equal(orr_ckpt_check_build(&f, path, &d), 0);
        struct orr_scenario ref, sc;
        open_scenario(&ref, sp);
        open_scenario(&sc, sp);
        assert_true(f.scenario_hash == sc.hash);
        assert_int_equal(orr_ckpt_restore(sc.sim, &f, path, &d), 0);
        assert_true(orr_now(sc.sim) == f.time);
        assert_true(orr_sim_events(sc.sim) == f.events);
        const struct orr_metric *am, *bm;
        size_t na, nb;
        uint64_t d1 = run_out(&ref, &am, &na), d2 = run_out(&sc, &bm, &nb);
        assert_true(d1 == d2);
        assert_true(orr_sim_events(ref.sim) == orr_sim_events(sc.sim));
        assert_same_metrics(am, na, bm, nb);
        orr_scenario_close(&ref);
        orr_scenario_close(&sc);
        orr_ckpt_file_free(&f);
        orr_diag_free(&d);
    }
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return p;
}

static void spill(const char *path, const uint8_t *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

/* load must refuse path with a message naming the file */
static void assert_refused(const char *path, int want_rc)
{
    struct orr_ckpt_file f;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_ckpt_load(&f, path, &d);
    assert_true(rc != 0);
    if (want_rc)
        assert_int_equal(rc, want_rc);
    assert_true(diag_has(&d, path));
    assert_null(f.content); /* nothing kept */
    orr_ckpt_file_free(&f);
    orr_diag_free(&d);
}

static void test_truncated_and_flipped(void **st)
{
    (void)st;
    char good[1024], bad[1024];
    tmpdir_path(good, sizeof good, "good.ckpt");
    tmpdir_path(bad, sizeof bad, "bad.ckpt");
    save_incast(good, 600 * ORR_US, orr_build_id());
    size_t n;
    uint8_t *p = slurp(good, &n);
    assert_true(n > 64);
    /* every prefix shorter than the file: header, frame and checksum cut */
    for (size_t len = 0; len < n; len += len < 48 ? 1 : 97) {
        spill(bad, p, len);
        assert_refused(bad, 0);
    }
    spill(bad, p, n - 1);
    assert_refused(bad, 0);
    /* one bit flipped anywhere (magic, sizes, frame, checksum) */
    for (size_t i = 0; i < n; i += i < 48 ? 1 : 13) {
        for (int bit = 0; bit < 8; bit += 3) {
            p[i] ^= (uint8_t)(1u << bit);
            spill(bad, p, n);
            assert_refused(bad, 0);
            p[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* a byte appended */
    uint8_t *q = calloc(1, n + 16); /* zeroed: the appended byte is 0 */
    assert_non_null(q);
    memcpy(q, p, n);
    spill(bad, q, n + 1);
    assert_refused(bad, ORR_ECORRUPT);
    /* another format version, with a checksum recomputed as a forger would */
    memcpy(q, p, n);
    q[8] = 99;
    uint64_t sum = XXH3_64bits(q, n - 8);
    for (int b = 0; b < 8; b++)
        q[n - 8 + b] = (uint8_t)(sum >> (8 * b));
    spill(bad, q, n);
    assert_refused(bad, ORR_EVERSION);
    free(q);
    /* the untouched bytes still load */
    spill(bad, p, n);
    struct orr_ckpt_file f;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_ckpt_load(&f, bad, &d), 0);
    orr_ckpt_file_free(&f);
    orr_diag_free(&d);
    free(p);
}

static void test_other_build(void **st)
{
    (void)st;
    char path[1024];
    tmpdir_path(path, sizeof path, "other.ckpt");
    save_incast(path, 300 * ORR_US, "orrery 0.0.0-not-this-build");
    struct orr_ckpt_file f;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_ckpt_load(&f, path, &d), 0);
    assert_int_equal(orr_ckpt_check_build(&f, path, &d), ORR_EINVAL);
    assert_true(diag_has(&d, "another build"));
    assert_true(diag_has(&d, "orrery 0.0.0-not-this-build"));
    orr_ckpt_file_free(&f);
    orr_diag_free(&d);
}

/* --- a made-up type: sections must be read to their last byte ----------- */

static bool g_short_restore; /* the restore op forgets its second field */

struct tick {
    uint64_t n, sum;
};

static int tick_start(struct orr_component *c, struct orr_diag *d)
{
    (void)d;
    orr_timer(c, 10, 0, 0, 0);
    return 0;
}
static void tick_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct tick *t = c->state;
    (void)ev;
    t->n++;
    t->sum += orr_rng_below(&c->rng, 1000);
    orr_trace_point(c, ORR_TK_FIRST_USER, t->n, t->sum);
    orr_timer(c, 10 + orr_rng_below(&c->rng, 10), 0, 0, 0);
}
static void tick_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct tick *t = c->state;
    orr_ckpt_put_u64(w, t->n);
    orr_ckpt_put_u64(w, t->sum);
}
static void tick_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct tick *t = c->state;
    t->n = orr_ckpt_get_u64(r);
    if (!g_short_restore)
        t->sum = orr_ckpt_get_u64(r);
}
static const struct orr_param no_params[] = {{NULL}};
static const struct orr_component_type tick_type = {
    .name = "tick", .summary = "counts its own timers", .params = no_params,
    .state_size = sizeof(struct tick), .start = tick_start, .handle = tick_handle,
    .save = tick_save, .restore = tick_restore,
};
static const struct orr_component_type mute_type = {
    .name = "mute", .summary = "cannot be saved", .params = no_params,
    .state_size = sizeof(struct tick), .start = tick_start, .handle = tick_handle,
};

static struct orr_sim *tick_sim(const struct orr_component_type *second)
{
    struct orr_sim *s;
    struct orr_sim_options opt = {.seed = 5, .stop_time = 100000};
    assert_int_equal(orr_sim_create(&s, &opt), 0);
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_sim_add_component(s, &tick_type, "a", NULL, NULL, &d, NULL), 0);
    assert_int_equal(orr_sim_add_component(s, second, "b", NULL, NULL, &d, NULL), 0);
    orr_trace_kind(orr_sim_component(s, 0), "tick");
    assert_int_equal(orr_sim_start(s, &d), 0);
    orr_diag_free(&d);
    return s;
}

static void test_section_read_whole(void **st)
{
    (void)st;
    char path[1024];
    tmpdir_path(path, sizeof path, "tick.ckpt");
    struct orr_ckpt_identity id = {.build_id = orr_build_id(), .scenario = "-"};
    struct orr_diag d;
    orr_diag_init(&d);
    struct orr_sim *s = tick_sim(&tick_type), *ref = tick_sim(&tick_type);
    assert_int_equal(orr_sim_run_until(s, NULL, 50000), -1);
    assert_int_equal(orr_ckpt_save(s, &id, path, &d), 0);
    orr_sim_run(ref, NULL);
    struct orr_ckpt_file f;
    assert_int_equal(orr_ckpt_load(&f, path, &d), 0);
    /* whole: the same digest as the reference */
    struct orr_sim *r = tick_sim(&tick_type);
    g_short_restore = false;
    assert_int_equal(orr_ckpt_restore(r, &f, path, &d), 0);
    orr_sim_run(r, NULL);
    assert_true(orr_sim_digest(r) == orr_sim_digest(ref));
    orr_sim_destroy(r);
    /* short: refused, naming the component */
    r = tick_sim(&tick_type);
    g_short_restore = true;
    assert_int_equal(orr_ckpt_restore(r, &f, path, &d), ORR_ECORRUPT);
    g_short_restore = false;
    assert_true(diag_has(&d, "component 'a' (tick)"));
    assert_true(diag_has(&d, "more than its restore op read"));
    orr_sim_destroy(r);
    orr_ckpt_file_free(&f);
    orr_sim_destroy(s);
    orr_sim_destroy(ref);
    orr_diag_free(&d);
}

static void test_unsupported_type(void **st)
{
    (void)st;
    char path[1024];
    tmpdir_path(path, sizeof path, "mute.ckpt");
    struct orr_ckpt_identity id = {.build_id = orr_build_id(), .scenario = "-"};
    struct orr_diag d;
    orr_diag_init(&d);
    struct orr_sim *s = tick_sim(&mute_type);
    char buf[256];
    assert_true(orr_ckpt_unsupported(s, buf, sizeof buf));
    assert_string_equal(buf, "component type 'mute'");
    assert_int_equal(orr_sim_run_until(s, NULL, 500), -1);
    assert_int_equal(orr_ckpt_save(s, &id, path, &d), ORR_ENOTSUP);
    assert_true(diag_has(&d, "component type 'mute' has no save/restore yet"));
    struct stat sb;
    assert_true(stat(path, &sb) != 0); /* nothing written */
    orr_sim_destroy(s);
    orr_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncated_and_flipped),
        cmocka_unit_test(test_other_build),
        cmocka_unit_test(test_section_read_whole),
        cmocka_unit_test(test_unsupported_type),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
