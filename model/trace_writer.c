/* The trace writer: buffers encoded records, compresses every
 * checkpoint_every of them into one zstd frame, notes a checkpoint per
 * frame, and on finish writes the footer and renames its temporary file
 * into place (an orr_outfile: PATH.tmp.PID, include/orrery/outfile.h).
 *
 * Invariants (checked by writer_ok):
 *   1. nBuf < checkpoint_every between calls: a full buffer is written at once.
 *   2. nCheckpoint == ceil(nRec / checkpoint_every): a checkpoint is noted
 *      when the first record of a segment arrives.
 *   3. offset is the size of the temporary file so far.
 * Once a write fails the writer is poisoned (rc != 0): every later call
 * returns that error, and finish removes the temporary file. */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "orrery/error.h"
#include "orrery/outfile.h"
#include "trace_internal.h"

#define ZSTD_LEVEL 3

struct orr_trace_writer {
    struct orr_outfile out;     /* the temporary file, renamed to path on finish */
    char *path;
    struct orr_diag *d;         /* where later write errors are reported */
    ZSTD_CCtx *cctx;
    uint64_t checkpoint_every;
    size_t nComp;
    uint8_t *aBuf;              /* checkpoint_every encoded records */
    size_t nBuf;                /* records in aBuf */
    void *aZ;                   /* compression output */
    size_t nZCap;
    uint64_t nRec;
    uint64_t digest;            /* digest after nRec records */
    uint64_t offset;            /* bytes written so far */
    struct orr__trace_sums sums;  /* header XXH3; aSeg parallel to aCheckpoint */
    struct orr_trace_checkpoint *aCheckpoint;
    size_t nCheckpoint, nCheckpointAlloc;
    int rc;                     /* first error, sticky */
};

__attribute__((unused)) /* only assert() calls it: unused under NDEBUG */
static inline bool writer_ok(const struct orr_trace_writer *w)
{
    uint64_t ck = w->checkpoint_every;
    return w->nBuf < ck && w->nCheckpoint == w->nRec / ck + (w->nRec % ck != 0);
}

/* Record the first error; later ones are consequences of it. */
static int fail(struct orr_trace_writer *w, int rc, const char *what, const char *why)
{
    struct orr_mark mark = {w->path, 0, 0};
    if (w->rc)
        return w->rc;
    w->rc = rc;
    if (w->d)
        orr_diag_error(w->d, &mark, NULL, "cannot %s trace '%s': %s", what, w->path, why);
    return rc;
}

static int write_all(struct orr_trace_writer *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(w->out.fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return fail(w, ORR_EIO, "write", k < 0 ? strerror(errno) : "short write");
        b += k;
        n -= (size_t)k;
        w->offset += (uint64_t)k;
    }
    return 0;
}

static void writer_free(struct orr_trace_writer *w)
{
    orr_outfile_abort(&w->out); /* nothing left once committed */
    ZSTD_freeCCtx(w->cctx);
    free(w->aBuf);
    free(w->aZ);
    free(w->aCheckpoint);
    free(w->sums.aSeg);
    free(w->path);
    free(w);
}

static char *concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (s) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return s;
}

static int setup_zstd(struct orr_trace_writer *w)
{
    w->cctx = ZSTD_createCCtx();
    w->nZCap = ZSTD_compressBound((size_t)w->checkpoint_every * ORR_TRACE_REC_BYTES);
    w->aZ = malloc(w->nZCap);
    w->aBuf = malloc((size_t)w->checkpoint_every * ORR_TRACE_REC_BYTES);
    if (!w->cctx || !w->aZ || !w->aBuf)
        return ORR_ENOMEM;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1)))
        return ORR_EINVAL;
    return 0;
}

/* Magic, header length, header; remembers the XXH3 of all of it for the
 * footer so a flipped header bit is caught on open. */
static int write_header(struct orr_trace_writer *w, const struct orr_trace_header *h)
{
    struct orr__buf b = {0};
    orr__buf_u64(&b, 0); /* room for the magic */
    orr__buf_u32(&b, 0); /* room for header_len */
    int rc = orr__trace_header_encode(h, &b);
    size_t len = b.n - ORR__TRACE_PREAMBLE;
    if (!rc && len > ORR__TRACE_MAX_HEADER)
        rc = ORR_EINVAL;
    if (!rc) {
        uint8_t le[8];
        orr__put_le64(le, len);
        memcpy(b.p, ORR__TRACE_MAGIC, 8);
        memcpy(b.p + 8, le, 4);
        w->sums.header = orr__xxh3(b.p, b.n);
        rc = write_all(w, b.p, b.n);
    }
    orr__buf_free(&b);
    return rc;
}

static bool header_ok(const struct orr_trace_header *h)
{
    return h->checkpoint_every >= 1 && h->checkpoint_every <= ORR_TRACE_MAX_CHECKPOINT_EVERY;
}

int orr_trace_writer_open(struct orr_trace_writer **out, const char *path,
                          const struct orr_trace_header *h, struct orr_diag *d)
{
    struct orr_trace_writer *w = calloc(1, sizeof *w);
    int rc = ORR_ENOMEM;
    *out = NULL;
    if (!w)
        goto fail;
    w->d = d;
    w->checkpoint_every = h->checkpoint_every;
    w->nComp = h->nComp;
    w->digest = orr__digest_empty();
    w->path = concat(path, "");
    if (!w->path)
        goto fail;
    if (!header_ok(h)) {
        char why[96];
        snprintf(why, sizeof why, "checkpoint interval %llu is outside 1..%u",
                 (unsigned long long)h->checkpoint_every, ORR_TRACE_MAX_CHECKPOINT_EVERY);
        rc = fail(w, ORR_EINVAL, "create", why);
        goto fail;
    }
    if ((rc = setup_zstd(w))) {
        fail(w, rc, "create", "cannot set up zstd compression");
        goto fail;
    }
    if ((rc = orr_outfile_open(&w->out, path, d))) {
        w->rc = rc; /* reported by orr_outfile_open */
        goto fail;
    }
    if ((rc = write_header(w, h))) {
        if (!w->rc)
            fail(w, rc, "write", rc == ORR_EINVAL ? "malformed header tables" : "out of memory");
        goto fail;
    }
    *out = w;
    return 0;
fail:
    if (w)
        writer_free(w);
    return rc;
}

static int note_checkpoint(struct orr_trace_writer *w)
{
    if (w->nCheckpoint == w->nCheckpointAlloc) {
        size_t n = w->nCheckpointAlloc ? 2 * w->nCheckpointAlloc : 64;
        void *p = realloc(w->aCheckpoint, n * sizeof *w->aCheckpoint);
        if (p)
            w->aCheckpoint = p;
        void *q = p ? realloc(w->sums.aSeg, n * sizeof *w->sums.aSeg) : NULL;
        if (!q)
            return fail(w, ORR_ENOMEM, "write", "out of memory");
        w->sums.aSeg = q;
        w->nCheckpointAlloc = n;
    }
    w->aCheckpoint[w->nCheckpoint++] =
        (struct orr_trace_checkpoint){.index = w->nRec, .digest = w->digest, .offset = w->offset};
    return 0;
}

/* Compress the buffered records into one frame and write it. */
static int flush_segment(struct orr_trace_writer *w)
{
    if (w->nBuf == 0)
        return 0;
    size_t n = ZSTD_compress2(w->cctx, w->aZ, w->nZCap, w->aBuf, w->nBuf * ORR_TRACE_REC_BYTES);
    if (ZSTD_isError(n))
        return fail(w, ORR_EIO, "compress", ZSTD_getErrorName(n));
    w->nBuf = 0;
    w->sums.aSeg[w->nCheckpoint - 1] = orr__xxh3(w->aZ, n);
    return write_all(w, w->aZ, n);
}

int orr_trace_writer_append(struct orr_trace_writer *w, const struct orr_trace_rec *r,
                            uint64_t digest_after)
{
    if (w->rc)
        return w->rc;
    if (w->nBuf == 0 && note_checkpoint(w))
        return w->rc;
    orr_trace_rec_encode(r, w->aBuf + w->nBuf * ORR_TRACE_REC_BYTES);
    w->nBuf++;
    w->nRec++;
    w->digest = digest_after;
    if (w->nBuf == w->checkpoint_every && flush_segment(w))
        return w->rc;
    assert(writer_ok(w));
    return 0;
}

/* The footer must describe what was written: the writer's own record count,
 * last digest and component table size, so a reader can cross-check. */
static int check_footer(struct orr_trace_writer *w, const struct orr_trace_footer *f)
{
    if (f->nRec != w->nRec)
        return fail(w, ORR_EINVAL, "finish", "footer record count differs from records appended");
    if (f->digest != w->digest)
        return fail(w, ORR_EINVAL, "finish", "footer digest differs from the last record's digest");
    if (f->nComp != w->nComp)
        return fail(w, ORR_EINVAL, "finish", "footer component count differs from the header's");
    return 0;
}

/* Footer, then footer_offset, XXH3 of footer + footer_offset, end marker. */
static int write_footer(struct orr_trace_writer *w, const struct orr_trace_footer *f)
{
    struct orr_trace_footer mine = *f;
    struct orr__buf b = {0};
    mine.nCheckpoint = w->nCheckpoint;
    mine.aCheckpoint = w->aCheckpoint;
    int rc = orr__trace_footer_encode(&mine, &w->sums, &b);
    if (!rc) {
        orr__buf_u64(&b, w->offset); /* footer_offset: the footer starts here */
        if (!b.oom)
            orr__buf_u64(&b, orr__xxh3(b.p, b.n));
        orr__buf_u64(&b, 0); /* room for the end marker */
        rc = b.oom ? ORR_ENOMEM : 0;
    }
    if (rc) {
        fail(w, rc, "write", rc == ORR_EINVAL ? "malformed footer tables" : "out of memory");
    } else {
        memcpy(b.p + b.n - 8, ORR__TRACE_END, 8);
        rc = write_all(w, b.p, b.n);
    }
    orr__buf_free(&b);
    return rc;
}

static int commit_file(struct orr_trace_writer *w)
{
    int rc = orr_outfile_commit(&w->out, w->d);
    if (rc)
        w->rc = rc; /* reported by orr_outfile_commit */
    return rc;
}

int orr_trace_writer_finish(struct orr_trace_writer *w, const struct orr_trace_footer *footer)
{
    if (!w->rc)
        flush_segment(w);
    if (!w->rc)
        check_footer(w, footer);
    if (!w->rc)
        write_footer(w, footer);
    if (!w->rc)
        commit_file(w);
    int rc = w->rc;
    writer_free(w);
    return rc;
}

void orr_trace_writer_abort(struct orr_trace_writer *w)
{
    if (!w)
        return;
    writer_free(w);
}
