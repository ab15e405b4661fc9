/* Tests for traces: record codec, digest, writer/reader round trips across
 * segments, seeking, and that every truncation and bit flip is reported.
 * Run with `--write-corpus DIR` to write the fuzz seed corpus instead. */
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
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "orrery/error.h"
#include "orrery/trace.h"

/* --- fixtures ------------------------------------------------------------ */


static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A deterministic record stream; `salt` changes one record's field. */
static struct orr_trace_rec gen_rec(uint64_t i)
{
    struct orr_trace_rec r = {
        .time = i * 1250 + (i % 3) * 7,
        .comp = (uint32_t)(i % 4),
        .origin = (uint32_t)((i + 1) % 4),
        .kind = (uint16_t)(i % 5),
        .port = (uint16_t)(i % 2),
        .size = (uint32_t)(i % 3 == 0 ? 64 : 0),
        .a = i * 0x9E3779B97F4A7C15ull,
        .b = ~i,
    };
    return r;
}

static char *kKnob[] = {"engine.quantum=0", "trace.every=7"};
static char *kPath[] = {"node0.core0", "node0.core1", "node0.l2", "node0.mem"};
static char *kType[] = {"cpu", "cpu", "cache", "dram"};
static char *kKind[] = {"", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "sink.rx"};

static struct orr_trace_header make_header(uint64_t every)
{
    struct orr_trace_header h = {
        .scenario = "scenarios/demo.yaml", .scenario_hash = 0x0123456789abcdefull,
        .seed = 42, .build_id = "orrery-test", .overrides = "a.b=1\nc=2",
        .checkpoint_every = every, .nKnob = 2, .aKnob = kKnob,
        .nComp = 4, .aCompPath = kPath, .aCompType = kType,
        .nKind = 17, .aKindName = kKind,
    };
    return h;
}

/* Write n records of gen_rec (with `mutate` applied) and return the final
 * digest; per-record digests go to aDigest if not NULL. */
typedef void (*mutate_fn)(uint64_t i, struct orr_trace_rec *r);

static uint64_t write_trace_h(const char *path, const struct orr_trace_header *h, uint64_t n,
                              mutate_fn mutate, uint64_t *aDigest)
{
    struct orr_diag d = {0};
    struct orr_trace_writer *w;
    struct orr_digest dg;
    uint64_t counts[4] = {0};
    assert_int_equal(orr_digest_init(&dg), 0);
    assert_int_equal(orr_trace_writer_open(&w, path, h, &d), 0);
    for (uint64_t i = 0; i < n; i++) {
        struct orr_trace_rec r = gen_rec(i);
        uint8_t buf[ORR_TRACE_REC_BYTES];
        if (mutate)
            mutate(i, &r);
        orr_trace_rec_encode(&r, buf);
        orr_digest_add(&dg, buf);
        if (aDigest)
            aDigest[i] = orr_digest_value(&dg);
        counts[r.comp % 4]++;
        assert_int_equal(orr_trace_writer_append(w, &r, orr_digest_value(&dg)), 0);
    }
    struct orr_trace_metric metrics[] = {
        {"node0.core0.ipc", 1.5, ""}, {"node0.mem.bytes", (double)n * 64, "B"}};
    struct orr_trace_footer f = {
        .nRec = n, .digest = orr_digest_value(&dg), .sim_time = n * 1250 + 99,
        .nComp = 4, .aCompEvents = counts, .nMetric = 2, .aMetric = metrics};
    assert_int_equal(orr_trace_writer_finish(w, &f), 0);
    uint64_t digest = orr_digest_value(&dg);
    orr_digest_free(&dg);
    assert_int_equal(orr_diag_count(&d), 0);
    orr_diag_free(&d);
    return digest;
}

static uint64_t write_trace(const char *path, uint64_t every, uint64_t n, uint64_t *aDigest)
{
    struct orr_trace_header h = make_header(every);
    return write_trace_h(path, &h, n, NULL, aDigest);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*n);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void assert_rec_equal(const struct orr_trace_rec *x, const struct orr_trace_rec *y)
{
    uint8_t a[ORR_TRACE_REC_BYTES], b[ORR_TRACE_REC_BYTES];
    orr_trace_rec_encode(x, a);
    orr_trace_rec_encode(y, b);
    assert_memory_equal(a, b, ORR_TRACE_REC_BYTES);
}

/* Open path and read every record; returns the first error or 0. */
static int open_and_read_all(const char *path)
{
    struct orr_diag d = {0};
    struct orr_trace_reader *r;
    int rc = orr_trace_open(&r, path, &d);
    if (rc == 0) {
        struct orr_trace_rec rec;
        int k;
        while ((k = orr_trace_next(r, &rec)) == 1)
            ;
        rc = k;
        orr_trace_close(r);
    } else {
        assert_int_equal(orr_diag_count(&d), 1);
    }
    orr_diag_free(&d);
    return rc;
}

/* --- records and digest -------------------------------------------------- */

static void test_rec_encode_is_little_endian(void **state)
{
    (void)state;
    struct orr_trace_rec r = {
        .time = 0x0102030405060708ull, .comp = 0x11121314, .origin = 0x21222324,
        .kind = 0x3132, .port = 0x4142, .size = 0x51525354,
        .a = 0x6162636465666768ull, .b = 0x7172737475767778ull};
    const uint8_t want[ORR_TRACE_REC_BYTES] = {
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x14, 0x13, 0x12, 0x11, 0x24, 0x23,
        0x22, 0x21, 0x32, 0x31, 0x42, 0x41, 0x54, 0x53, 0x52, 0x51, 0x68, 0x67, 0x66, 0x65,
        0x64, 0x63, 0x62, 0x61, 0x78, 0x77, 0x76, 0x75, 0x74, 0x73, 0x72, 0x71};
    uint8_t buf[ORR_TRACE_REC_BYTES];
    orr_trace_rec_encode(&r, buf);
    assert_memory_equal(buf, want, sizeof want);
    struct orr_trace_rec back;
    orr_trace_rec_decode(buf, &back);
    assert_rec_equal(&r, &back);
    assert_true(back.time == r.time && back.comp == r.comp && back.origin == r.origin &&
                back.kind == r.kind && back.port == r.port && back.size == r.size &&
                back.a == r.a && back.b == r.b);
}

static void test_rec_roundtrip_many(void **state)
{
    (void)state;
    for (uint64_t i = 0; i < 1000; i++) {
        struct orr_trace_rec r = gen_rec(i * 7919), back;
        uint8_t buf[ORR_TRACE_REC_BYTES];
        orr_trace_rec_encode(&r, buf);
        orr_trace_rec_decode(buf, &back);
        assert_rec_equal(&r, &back);
    }
}

static uint64_t digest_of(const struct orr_trace_rec *r, size_t n)
{
    struct orr_digest d;
    assert_int_equal(orr_digest_init(&d), 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t buf[ORR_TRACE_REC_BYTES];
        orr_trace_rec_encode(&r[i], buf);
        orr_digest_add(&d, buf);
    }
    assert_int_equal(d.count, n);
    uint64_t v = orr_digest_value(&d);
    orr_digest_free(&d);
    return v;
}

static void test_digest_changes_with_any_field(void **state)
{
    (void)state;
    struct orr_trace_rec base[2] = {gen_rec(5), gen_rec(6)};
    uint64_t d0 = digest_of(base, 2);
    assert_int_equal(digest_of(base, 2), d0); /* deterministic */
    for (int field = 0; field < 8; field++) {
        for (int bit = 0; bit < 16; bit += 5) {
            struct orr_trace_rec r[2] = {base[0], base[1]};
            switch (field) {
            case 0: r[1].time ^= 1ull << (bit * 3); break;
            case 1: r[1].comp ^= 1u << bit; break;
            case 2: r[1].origin ^= 1u << bit; break;
            case 3: r[1].kind ^= (uint16_t)(1u << bit); break;
            case 4: r[1].port ^= (uint16_t)(1u << bit); break;
            case 5: r[1].size ^= 1u << bit; break;
            case 6: r[1].a ^= 1ull << (bit * 4); break;
            case 7: r[1].b ^= 1ull << (bit * 4); break;
            }
            assert_true(digest_of(r, 2) != d0);
        }
    }
    struct orr_trace_rec swapped[2] = {base[1], base[0]};
    assert_true(digest_of(swapped, 2) != d0);
    assert_true(digest_of(base, 1) != d0);
    assert_true(digest_of(base, 0) != digest_of(base, 1));
}

/* The digest is defined as XXH3-64 over the concatenated encoded records.
 * For random record streams fed in random batches (empty ones included),
 * orr_digest_add_n, orr_digest_add record by record, and XXH3 over the
 * whole prefix in one call must agree at every batch boundary. */
static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void test_digest_batched_equals_per_record(void **state)
{
    (void)state;
    enum { MAXREC = 700 };
    uint8_t *buf = malloc((size_t)MAXREC * ORR_TRACE_REC_BYTES);
    assert_non_null(buf);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint64_t x = seed;
        size_t n = 1 + (size_t)(splitmix(&x) % MAXREC);
        for (size_t i = 0; i < n; i++) {
            struct orr_trace_rec r = {
                .time = splitmix(&x), .comp = (uint32_t)splitmix(&x),
                .origin = (uint32_t)splitmix(&x), .kind = (uint16_t)splitmix(&x),
                .port = (uint16_t)splitmix(&x), .size = (uint32_t)splitmix(&x),
                .a = splitmix(&x), .b = splitmix(&x)};
            orr_trace_rec_encode(&r, buf + i * ORR_TRACE_REC_BYTES);
        }
        struct orr_digest one, batch;
        assert_int_equal(orr_digest_init(&one), 0);
        assert_int_equal(orr_digest_init(&batch), 0);
        size_t done = 0;
        while (done < n) {
            size_t k = (size_t)(splitmix(&x) % 130); /* 0 .. 2 * ORR_DIGEST_BATCH + 1 */
            if (k > n - done)
                k = n - done;
            orr_digest_add_n(&batch, buf + done * ORR_TRACE_REC_BYTES, k);
            for (size_t i = done; i < done + k; i++)
                orr_digest_add(&one, buf + i * ORR_TRACE_REC_BYTES);
            done += k;
            uint64_t want = XXH3_64bits(buf, done * ORR_TRACE_REC_BYTES);
            if (orr_digest_value(&batch) != want || orr_digest_value(&one) != want)
                fail_msg("seed %llu after %zu records (batch of %zu): batched %016llx, "
                         "per record %016llx, XXH3 %016llx",
                         (unsigned long long)seed, done, k,
                         (unsigned long long)orr_digest_value(&batch),
                         (unsigned long long)orr_digest_value(&one), (unsigned long long)want);
            assert_int_equal(batch.count, done);
            assert_int_equal(one.count, done);
        }
        orr_digest_free(&one);
        orr_digest_free(&batch);
    }
    free(buf);
}

static void test_kind_names(void **state)
{
    (void)state;
    struct orr_trace_header h = make_header(7);
    assert_string_equal(orr_trace_kind_name(&h, ORR_TK_TIMER), "timer");
    assert_string_equal(orr_trace_kind_name(&h, ORR_TK_MSG), "msg");
    assert_string_equal(orr_trace_kind_name(&h, ORR_TK_READY), "ready");
    assert_string_equal(orr_trace_kind_name(&h, ORR_TK_FAULT), "fault");
    assert_string_equal(orr_trace_kind_name(&h, ORR_TK_STOP), "stop");
    assert_string_equal(orr_trace_kind_name(&h, 16), "sink.rx");
    assert_string_equal(orr_trace_kind_name(&h, 9), "unknown");
    assert_string_equal(orr_trace_kind_name(&h, 999), "unknown");
    assert_string_equal(orr_trace_kind_name(NULL, 1), "msg");
}

/* --- round trips --------------------------------------------------------- */

static void check_header(const struct orr_trace_header *got, const struct orr_trace_header *want)
{
    assert_string_equal(got->scenario, want->scenario);
    assert_true(got->scenario_hash == want->scenario_hash);
    assert_true(got->seed == want->seed);
    assert_string_equal(got->build_id, want->build_id);
    assert_string_equal(got->overrides, want->overrides);
    assert_true(got->checkpoint_every == want->checkpoint_every);
    assert_int_equal(got->nKnob, want->nKnob);
    for (size_t i = 0; i < want->nKnob; i++)
        assert_string_equal(got->aKnob[i], want->aKnob[i]);
    assert_int_equal(got->nComp, want->nComp);
    for (size_t i = 0; i < want->nComp; i++) {
        assert_string_equal(got->aCompPath[i], want->aCompPath[i]);
        assert_string_equal(got->aCompType[i], want->aCompType[i]);
    }
    assert_int_equal(got->nKind, want->nKind);
    for (size_t i = 0; i < want->nKind; i++)
        assert_string_equal(got->aKindName[i], want->aKindName[i]);
}

static void check_roundtrip(uint64_t every, uint64_t n)
{
    char path[128];
    tmpdir_path(path, sizeof path, "rt.trace");
    uint64_t *aDigest = calloc(n + 1, sizeof *aDigest);
    uint64_t final = write_trace(path, every, n, aDigest);
    struct orr_diag d = {0};
    struct orr_trace_reader *r;
    assert_int_equal(orr_trace_open(&r, path, &d), 0);
    struct orr_trace_header want = make_header(every);
    check_header(orr_trace_header(r), &want);

    const struct orr_trace_footer *f = orr_trace_footer(r);
    assert_true(f->nRec == n);
    assert_true(f->digest == final);
    assert_true(f->sim_time == n * 1250 + 99);
    assert_int_equal(f->nComp, 4);
    uint64_t total = 0;
    for (size_t i = 0; i < 4; i++)
        total += f->aCompEvents[i];
    assert_true(total == n);
    assert_int_equal(f->nMetric, 2);
    assert_string_equal(f->aMetric[0].name, "node0.core0.ipc");
    assert_true(f->aMetric[0].value == 1.5);
    assert_string_equal(f->aMetric[1].unit, "B");
    assert_true(f->aMetric[1].value == (double)n * 64);

    /* One checkpoint per segment; digest is the one before its first record. */
    assert_int_equal(f->nCheckpoint, (n + every - 1) / every);
    for (size_t k = 0; k < f->nCheckpoint; k++) {
        assert_true(f->aCheckpoint[k].index == k * every);
        uint64_t before = k == 0 ? digest_of(NULL, 0) : aDigest[k * every - 1];
        assert_true(f->aCheckpoint[k].digest == before);
        if (k)
            assert_true(f->aCheckpoint[k].offset > f->aCheckpoint[k - 1].offset);
    }

    struct orr_trace_rec rec, want_rec;
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(orr_trace_next(r, &rec), 1);
        want_rec = gen_rec(i);
        assert_rec_equal(&rec, &want_rec);
    }
    assert_int_equal(orr_trace_next(r, &rec), 0);
    assert_int_equal(orr_trace_next(r, &rec), 0);

    /* Seek everywhere, in an order that jumps back and forth across segments. */
    for (uint64_t j = 0; j <= n; j++) {
        uint64_t idx = (j * 37 + 11) % (n + 1);
        assert_int_equal(orr_trace_seek(r, idx), 0);
        int got = orr_trace_next(r, &rec);
        if (idx == n) {
            assert_int_equal(got, 0);
        } else {
            assert_int_equal(got, 1);
            want_rec = gen_rec(idx);
            assert_rec_equal(&rec, &want_rec);
        }
    }
    assert_int_equal(orr_trace_seek(r, n + 1), ORR_ERANGE);
    orr_trace_close(r);
    assert_int_equal(orr_diag_count(&d), 0);
    orr_diag_free(&d);
    free(aDigest);
}

static void test_roundtrip_many_segments(void **state)
{
    (void)state;
    check_roundtrip(7, 100); /* 15 segments, last one partial */
}

static void test_roundtrip_shapes(void **state)
{
    (void)state;
    check_roundtrip(7, 0);   /* empty: no segments */
    check_roundtrip(7, 1);
    check_roundtrip(7, 7);   /* exactly one full segment */
    check_roundtrip(7, 14);  /* exactly two */
    check_roundtrip(1, 9);   /* one record per segment */
    check_roundtrip(65536, 3000);
}

static void test_finish_leaves_no_tmp(void **state)
{
    (void)state;
    char path[128], tmp[160];
    tmpdir_path(path, sizeof path, "final.trace");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    write_trace(path, 7, 20, NULL);
    assert_true(exists(path));
    assert_false(exists(tmp));
}

static void test_abort_leaves_nothing(void **state)
{
    (void)state;
    char path[128], tmp[160];
    tmpdir_path(path, sizeof path, "aborted.trace");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    struct orr_trace_header h = make_header(7);
    struct orr_trace_writer *w;
    struct orr_diag d = {0};
    assert_int_equal(orr_trace_writer_open(&w, path, &h, &d), 0);
    assert_true(exists(tmp));
    for (uint64_t i = 0; i < 30; i++) {
        struct orr_trace_rec r = gen_rec(i);
        assert_int_equal(orr_trace_writer_append(w, &r, i), 0);
    }
    orr_trace_writer_abort(w);
    assert_false(exists(path));
    assert_false(exists(tmp));
    orr_diag_free(&d);
}

static void test_writer_rejects_bad_input(void **state)
{
    (void)state;
    char path[128], tmp[160];
    tmpdir_path(path, sizeof path, "bad.trace");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    struct orr_diag d = {0};
    struct orr_trace_writer *w = (void *)1;

    struct orr_trace_header h = make_header(0);
    assert_int_equal(orr_trace_writer_open(&w, path, &h, &d), ORR_EINVAL);
    assert_null(w);
    assert_int_equal(orr_diag_count(&d), 1);
    assert_false(exists(tmp));

    /* A footer that does not match what was appended. */
    h = make_header(7);
    assert_int_equal(orr_trace_writer_open(&w, path, &h, &d), 0);
    struct orr_trace_rec r = gen_rec(0);
    assert_int_equal(orr_trace_writer_append(w, &r, 1), 0);
    uint64_t counts[4] = {1, 0, 0, 0};
    struct orr_trace_footer f = {.nRec = 2, .digest = 1, .nComp = 4, .aCompEvents = counts};
    assert_int_equal(orr_trace_writer_finish(w, &f), ORR_EINVAL);
    assert_false(exists(path));
    assert_false(exists(tmp));
    assert_int_equal(orr_diag_count(&d), 2);

    /* A directory that does not exist. */
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/missing/x.trace", tmpdir());
    assert_int_equal(orr_trace_writer_open(&w, nodir, &h, &d), ORR_EIO);
    assert_int_equal(orr_diag_count(&d), 3);
    assert_non_null(strstr(d.aMsg[2].text, "No such file or directory"));
    orr_diag_free(&d);
}

/* --- damaged files ------------------------------------------------------- */

static void test_open_errors(void **state)
{
    (void)state;
    char path[128], bad[128];
    struct orr_trace_reader *r;
    struct orr_diag d = {0};
    tmpdir_path(path, sizeof path, "nothere.trace");
    assert_int_equal(orr_trace_open(&r, path, &d), ORR_ENOENT);
    assert_null(r);

    tmpdir_path(path, sizeof path, "ok.trace");
    tmpdir_path(bad, sizeof bad, "bad.trace");
    write_trace(path, 7, 30, NULL);
    size_t n;
    uint8_t *p = slurp(path, &n);

    p[7] = '2'; /* ORRTRC02 */
    spit(bad, p, n);
    assert_int_equal(orr_trace_open(&r, bad, &d), ORR_EVERSION);
    p[7] = '1';

    spit(bad, (const uint8_t *)"hello, world, this is not a trace at all", 40);
    assert_int_equal(orr_trace_open(&r, bad, &d), ORR_ECORRUPT);

    spit(bad, p, n - 1);
    orr_diag_free(&d);
    assert_int_equal(orr_trace_open(&r, bad, &d), ORR_ETRUNC);
    char want[300];
    snprintf(want, sizeof want, "trace '%s' is truncated (no end marker): was the run interrupted?",
             bad);
    assert_string_equal(d.aMsg[0].text, want);
    assert_string_equal(d.aMsg[0].mark.file, bad);
    free(p);
    orr_diag_free(&d);
}

static void test_every_truncation_is_reported(void **state)
{
    (void)state;
    char path[128], cut[128];
    tmpdir_path(path, sizeof path, "whole.trace");
    tmpdir_path(cut, sizeof cut, "cut.trace");
    write_trace(path, 7, 60, NULL);
    size_t n;
    uint8_t *p = slurp(path, &n);
    for (size_t len = 0; len < n; len++) {
        spit(cut, p, len);
        int rc = open_and_read_all(cut);
        if (rc != ORR_ETRUNC && rc != ORR_ECORRUPT)
            fail_msg("cut at %zu of %zu bytes gave %d", len, n, rc);
    }
    free(p);
}

static void test_every_bit_flip_is_detected(void **state)
{
    (void)state;
    char path[128], flip[128];
    tmpdir_path(path, sizeof path, "whole.trace");
    tmpdir_path(flip, sizeof flip, "flip.trace");
    write_trace(path, 7, 40, NULL);
    size_t n;
    uint8_t *p = slurp(path, &n);
    for (size_t off = 0; off < n; off++) {
        for (int bit = 0; bit < 8; bit++) {
            p[off] ^= (uint8_t)(1u << bit);
            spit(flip, p, n);
            int rc = open_and_read_all(flip);
            if (rc >= 0)
                fail_msg("flipping bit %d of byte %zu of %zu went unnoticed", bit, off, n);
            if (rc != ORR_ECORRUPT && rc != ORR_ETRUNC && rc != ORR_EVERSION)
                fail_msg("flipping bit %d of byte %zu gave %d", bit, off, rc);
            p[off] ^= (uint8_t)(1u << bit);
        }
    }
    free(p);
}

/* --- fuzz corpus --------------------------------------------------------- */

static void mutate_one(uint64_t i, struct orr_trace_rec *r)
{
    if (i == 3)
        r->a ^= 1;
}

static int write_corpus(const char *dir)
{
    char path[512];
    struct orr_trace_header h = make_header(3);
    snprintf(path, sizeof path, "%s/seed-empty", dir);
    write_trace_h(path, &h, 0, NULL, NULL);
    snprintf(path, sizeof path, "%s/seed-small", dir);
    write_trace_h(path, &h, 10, NULL, NULL);
    snprintf(path, sizeof path, "%s/seed-mutated", dir);
    write_trace_h(path, &h, 8, mutate_one, NULL);
    h = make_header(1);
    snprintf(path, sizeof path, "%s/seed-every1", dir);
    write_trace_h(path, &h, 4, NULL, NULL);
    return 0;
}

/* A trace whose every checksum is valid but whose checkpoint digests are
 * not those of its records (the writer takes digests from its caller):
 * open accepts it, verify names the segment whose records disagree. */
static void test_verify_catches_crafted_digests(void **state)
{
    (void)state;
    char good[128], bad[128];
    tmpdir_path(good, sizeof good, "verify-good.trace");
    tmpdir_path(bad, sizeof bad, "verify-bad.trace");
    write_trace(good, 10, 45, NULL);
    struct orr_diag d = {0};
    struct orr_trace_reader *r;
    assert_int_equal(orr_trace_open(&r, good, &d), 0);
    assert_int_equal(orr_trace_verify(r), 0);
    struct orr_trace_rec rec;
    assert_int_equal(orr_trace_next(r, &rec), 1); /* the position is kept */
    assert_int_equal(rec.time, gen_rec(0).time);
    orr_trace_close(r);

    /* records 0..44 in segments of 10; record 23 (segment 2) is not the
     * one the digests were computed over */
    struct orr_trace_header h = make_header(10);
    struct orr_trace_writer *w;
    struct orr_digest dg;
    assert_int_equal(orr_digest_init(&dg), 0);
    assert_int_equal(orr_trace_writer_open(&w, bad, &h, &d), 0);
    uint64_t counts[4] = {0};
    for (uint64_t i = 0; i < 45; i++) {
        struct orr_trace_rec real = gen_rec(i), written = real;
        uint8_t buf[ORR_TRACE_REC_BYTES];
        orr_trace_rec_encode(&real, buf);
        orr_digest_add(&dg, buf);
        if (i == 23)
            written.a ^= 1;
        counts[written.comp % 4]++;
        assert_int_equal(orr_trace_writer_append(w, &written, orr_digest_value(&dg)), 0);
    }
    struct orr_trace_footer f = {.nRec = 45, .digest = orr_digest_value(&dg), .sim_time = 1,
                                 .nComp = 4, .aCompEvents = counts};
    assert_int_equal(orr_trace_writer_finish(w, &f), 0);
    orr_digest_free(&dg);
    assert_int_equal(orr_trace_open(&r, bad, &d), 0);
    assert_int_equal(orr_trace_verify(r), ORR_ECORRUPT);
    assert_non_null(strstr(orr_trace_error(r), "segment 2:"));
    orr_trace_close(r);
    assert_int_equal(orr_diag_count(&d), 0);
    orr_diag_free(&d);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return write_corpus(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rec_encode_is_little_endian),
        cmocka_unit_test(test_rec_roundtrip_many),
        cmocka_unit_test(test_digest_changes_with_any_field),
        cmocka_unit_test(test_digest_batched_equals_per_record),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_roundtrip_many_segments),
        cmocka_unit_test(test_roundtrip_shapes),
        cmocka_unit_test(test_finish_leaves_no_tmp),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_writer_rejects_bad_input),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_every_truncation_is_reported),
        cmocka_unit_test(test_every_bit_flip_is_detected),
        cmocka_unit_test(test_verify_catches_crafted_digests),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
