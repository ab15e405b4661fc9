/* The trace reader: verifies a trace file before handing out anything from
 * it, then decodes one segment (zstd frame) at a time on demand.
 *
 * Open checks, in this order, each before trusting the next length:
 *   magic and version -> end marker -> footer checksum -> footer decode ->
 *   header checksum (stored in the footer) -> header decode ->
 *   cross-checks (checkpoint table matches the record count, offsets rise
 *   inside the file, component table sizes agree).
 * Segments are checked when loaded: their bytes match the XXH3 the footer
 * holds for them, they are exactly one zstd frame filling the space between
 * its offset and the next, with a valid content checksum, decoding to
 * exactly the segment's records * 40 bytes. Memory is bounded by the file
 * size (header, footer) and by 40 * checkpoint_every (one segment).
 *
 * Fuzzing builds (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) accept any
 * XXH3 checksum so the fuzzer can reach the decoders behind them. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "orrery/error.h"
#include "trace_internal.h"

#define ZSTD_MAGIC 0xFD2FB528u
#define ZSTD_FHD_CHECKSUM 0x04 /* Frame_Header_Descriptor: Content_Checksum_flag */

struct orr_trace_reader {
    int fd;
    char *path;
    uint64_t size;              /* file size */
    uint64_t data_start;        /* first segment */
    uint64_t footer_offset;
    struct orr_trace_header h;
    struct orr_trace_footer f;
    struct orr__trace_sums sums;
    ZSTD_DCtx *dctx;
    uint8_t *aZ;                /* compressed segment */
    size_t nZCap;
    uint8_t *aRec;              /* decoded segment */
    size_t nRecCap;             /* bytes */
    size_t iSeg;                /* segment in aRec, SIZE_MAX if none */
    uint64_t pos;               /* next record to return */
    char err[512];
};

static bool checksum_ok(uint64_t stored, uint64_t computed)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)stored;
    (void)computed;
    return true;
#else
    return stored == computed;
#endif
}

static int set_err(struct orr_trace_reader *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(struct orr_trace_reader *r, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* Read exactly n bytes at off; a short read means the file shrank. */
static int read_at(struct orr_trace_reader *r, void *p, size_t n, uint64_t off)
{
    uint8_t *b = p;
    while (n) {
        ssize_t k = pread(r->fd, b, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return set_err(r, ORR_EIO, "trace '%s': read failed: %s", r->path, strerror(errno));
        if (k == 0)
            return set_err(r, ORR_ETRUNC, "trace '%s' is truncated at byte %llu", r->path,
                           (unsigned long long)off);
        b += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Read [off, off+n) into a fresh allocation; n is bounded by the file size
 * by every caller, so a corrupt length cannot ask for more than exists. */
static int read_alloc(struct orr_trace_reader *r, uint64_t off, uint64_t n, uint8_t **out)
{
    *out = NULL;
    if (n > r->size || off > r->size - n)
        return set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: a length points past the end",
                       r->path);
    uint8_t *p = malloc(n ? (size_t)n : 1);
    if (!p)
        return set_err(r, ORR_ENOMEM, "trace '%s': out of memory", r->path);
    int rc = read_at(r, p, (size_t)n, off);
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int truncated(struct orr_trace_reader *r)
{
    return set_err(r, ORR_ETRUNC,
                   "trace '%s' is truncated (no end marker): was the run interrupted?", r->path);
}

static int check_magic(struct orr_trace_reader *r)
{
    uint8_t m[8] = {0};
    size_t n = r->size < 8 ? (size_t)r->size : 8;
    int rc = read_at(r, m, n, 0);
    if (rc)
        return rc;
    if (memcmp(m, ORR__TRACE_MAGIC, n < ORR__TRACE_MAGIC_NAME_LEN ? n : ORR__TRACE_MAGIC_NAME_LEN))
        return set_err(r, ORR_ECORRUPT, "'%s' is not an Orrery trace (bad magic)", r->path);
    if (n < 8)
        return truncated(r);
    if (memcmp(m, ORR__TRACE_MAGIC, 8))
        return set_err(r, ORR_EVERSION,
                       "trace '%s' has format version '%.2s'; this orrery reads '%s'", r->path,
                       (const char *)m + 6, &ORR__TRACE_MAGIC[6]);
    return 0;
}

/* End marker, then the footer and its checksum. */
static int load_footer(struct orr_trace_reader *r)
{
    uint8_t t[ORR__TRACE_TRAILER];
    if (r->size < ORR__TRACE_PREAMBLE + ORR__TRACE_TRAILER ||
        read_at(r, t, sizeof t, r->size - sizeof t) || memcmp(t + 16, ORR__TRACE_END, 8))
        return truncated(r);
    r->footer_offset = orr__le64(t);
    uint64_t end = r->size - ORR__TRACE_TRAILER;
    if (r->footer_offset < ORR__TRACE_PREAMBLE || r->footer_offset > end)
        return set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: bad footer offset", r->path);
    uint8_t *p;
    uint64_t n = end - r->footer_offset;
    int rc = read_alloc(r, r->footer_offset, n + 8, &p); /* footer + footer_offset */
    if (rc)
        return rc;
    if (!checksum_ok(orr__le64(t + 8), orr__xxh3(p, (size_t)n + 8)))
        rc = set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: footer checksum mismatch", r->path);
    else if ((rc = orr__trace_footer_decode(p, (size_t)n, &r->f, &r->sums)))
        set_err(r, rc, "trace '%s' is corrupt: malformed footer", r->path);
    free(p);
    return rc;
}

static int load_header(struct orr_trace_reader *r)
{
    uint8_t pre[ORR__TRACE_PREAMBLE];
    int rc = read_at(r, pre, sizeof pre, 0);
    if (rc)
        return rc;
    uint64_t len = orr__le32(pre + 8);
    r->data_start = ORR__TRACE_PREAMBLE + len;
    if (len > ORR__TRACE_MAX_HEADER || r->data_start > r->footer_offset)
        return set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: bad header length", r->path);
    uint8_t *p;
    if ((rc = read_alloc(r, 0, r->data_start, &p)))
        return rc;
    if (!checksum_ok(r->sums.header, orr__xxh3(p, (size_t)r->data_start)))
        rc = set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: header checksum mismatch", r->path);
    else if ((rc = orr__trace_header_decode(p + ORR__TRACE_PREAMBLE, (size_t)len, &r->h)))
        set_err(r, rc, "trace '%s' is corrupt: malformed header", r->path);
    free(p);
    return rc;
}

static uint64_t segment_end(const struct orr_trace_reader *r, size_t k)
{
    return k + 1 < r->f.nCheckpoint ? r->f.aCheckpoint[k + 1].offset : r->footer_offset;
}

/* The checkpoint table must be exactly the one a writer produces for this
 * many records, with segments laid end to end between header and footer. */
static bool checkpoints_ok(const struct orr_trace_reader *r)
{
    uint64_t ck = r->h.checkpoint_every;
    const struct orr_trace_footer *f = &r->f;
    if (f->nCheckpoint != f->nRec / ck + (f->nRec % ck != 0))
        return false;
    if (f->nCheckpoint == 0)
        return r->data_start == r->footer_offset;
    if (f->aCheckpoint[0].offset != r->data_start ||
        f->aCheckpoint[0].digest != orr__digest_empty())
        return false;
    size_t bound = ZSTD_compressBound((size_t)ck * ORR_TRACE_REC_BYTES);
    for (size_t k = 0; k < f->nCheckpoint; k++) {
        uint64_t off = f->aCheckpoint[k].offset, end = segment_end(r, k);
        if (f->aCheckpoint[k].index != k * ck || off >= end || end > r->footer_offset ||
            end - off > bound)
            return false;
    }
    return true;
}

static int cross_check(struct orr_trace_reader *r)
{
    uint64_t ck = r->h.checkpoint_every;
    if (ck < 1 || ck > ORR_TRACE_MAX_CHECKPOINT_EVERY)
        return set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: checkpoint interval %llu",
                       r->path, (unsigned long long)ck);
    if (!checkpoints_ok(r))
        return set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: bad checkpoint table", r->path);
    if (r->f.nComp != r->h.nComp)
        return set_err(r, ORR_ECORRUPT,
                       "trace '%s' is corrupt: footer counts %zu components, header names %zu",
                       r->path, r->f.nComp, r->h.nComp);
    return 0;
}

static int open_file(struct orr_trace_reader *r, const char *path)
{
    struct stat st;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return set_err(r, errno == ENOENT ? ORR_ENOENT : ORR_EIO, "cannot open trace '%s': %s",
                       path, strerror(errno));
    if (fstat(r->fd, &st) != 0)
        return set_err(r, ORR_EIO, "cannot open trace '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return set_err(r, ORR_EIO, "cannot open trace '%s': not a regular file", path);
    r->size = (uint64_t)st.st_size;
    return 0;
}

static void reader_free(struct orr_trace_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    orr_trace_header_free(&r->h);
    orr_trace_footer_free(&r->f);
    free(r->sums.aSeg);
    ZSTD_freeDCtx(r->dctx);
    free(r->aZ);
    free(r->aRec);
    free(r->path);
    free(r);
}

int orr_trace_open(struct orr_trace_reader **out, const char *path, struct orr_diag *d)
{
    struct orr_mark mark = {path, 0, 0};
    struct orr_trace_reader *r = calloc(1, sizeof *r);
    int rc = ORR_ENOMEM;
    *out = NULL;
    if (!r)
        goto fail;
    r->fd = -1;
    r->iSeg = SIZE_MAX;
    r->path = malloc(strlen(path) + 1);
    r->dctx = ZSTD_createDCtx();
    if (!r->path || !r->dctx) {
        set_err(r, rc, "trace '%s': out of memory", path);
        goto fail;
    }
    strcpy(r->path, path);
    if ((rc = open_file(r, path)) || (rc = check_magic(r)) || (rc = load_footer(r)) ||
        (rc = load_header(r)) || (rc = cross_check(r)))
        goto fail;
    *out = r;
    return 0;
fail:
    if (d)
        orr_diag_error(d, &mark, NULL, "%s", r ? r->err : "out of memory");
    if (r)
        reader_free(r);
    return rc;
}

const struct orr_trace_header *orr_trace_header(const struct orr_trace_reader *r) { return &r->h; }
const struct orr_trace_footer *orr_trace_footer(const struct orr_trace_reader *r) { return &r->f; }
const char *orr_trace_error(const struct orr_trace_reader *r) { return r->err; }

void orr_trace_close(struct orr_trace_reader *r)
{
    if (r)
        reader_free(r);
}

int orr_trace_seek(struct orr_trace_reader *r, uint64_t index)
{
    if (index > r->f.nRec)
        return set_err(r, ORR_ERANGE, "trace '%s': event #%llu is past the end (%llu events)",
                       r->path, (unsigned long long)index, (unsigned long long)r->f.nRec);
    r->pos = index;
    return 0;
}

static int grow(struct orr_trace_reader *r, uint8_t **p, size_t *cap, size_t n)
{
    if (*cap >= n)
        return 0;
    uint8_t *q = realloc(*p, n);
    if (!q)
        return set_err(r, ORR_ENOMEM, "trace '%s': out of memory", r->path);
    *p = q;
    *cap = n;
    return 0;
}

/* The segment's bytes hash to the footer's sum, and are exactly one frame,
 * with a content checksum, holding the segment's records. */
static int check_frame(struct orr_trace_reader *r, size_t k, size_t len, size_t want)
{
    const uint8_t *z = r->aZ;
    if (!checksum_ok(r->sums.aSeg[k], orr__xxh3(z, len)))
        return set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: segment %zu checksum mismatch",
                       r->path, k);
    unsigned long long content = ZSTD_getFrameContentSize(z, len);
    if (len < 5 || orr__le32(z) != ZSTD_MAGIC || !(z[4] & ZSTD_FHD_CHECKSUM) ||
        ZSTD_findFrameCompressedSize(z, len) != len)
        return set_err(r, ORR_ECORRUPT,
                       "trace '%s' is corrupt: segment %zu is not one checksummed frame", r->path,
                       k);
    if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN ||
        content % ORR_TRACE_REC_BYTES != 0 || content != want)
        return set_err(r, ORR_ECORRUPT,
                       "trace '%s' is corrupt: segment %zu holds %llu bytes, expected %zu",
                       r->path, k, content, want);
    return 0;
}

static int load_segment(struct orr_trace_reader *r, size_t k)
{
    uint64_t off = r->f.aCheckpoint[k].offset;
    size_t len = (size_t)(segment_end(r, k) - off);
    uint64_t first = r->f.aCheckpoint[k].index;
    uint64_t nrec = r->f.nRec - first < r->h.checkpoint_every ? r->f.nRec - first
                                                               : r->h.checkpoint_every;
    size_t want = (size_t)nrec * ORR_TRACE_REC_BYTES;
    int rc;
    r->iSeg = SIZE_MAX;
    if ((rc = grow(r, &r->aZ, &r->nZCap, len)) || (rc = read_at(r, r->aZ, len, off)) ||
        (rc = check_frame(r, k, len, want)) || (rc = grow(r, &r->aRec, &r->nRecCap, want)))
        return rc;
    size_t got = ZSTD_decompressDCtx(r->dctx, r->aRec, want, r->aZ, len);
    if (ZSTD_isError(got))
        return set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: segment %zu: %s", r->path, k,
                       ZSTD_getErrorName(got));
    if (got != want)
        return set_err(r, ORR_ECORRUPT, "trace '%s' is corrupt: segment %zu decodes to %zu bytes",
                       r->path, k, got);
    r->iSeg = k;
    return 0;
}

int orr_trace_verify(struct orr_trace_reader *r)
{
    struct orr_digest dg;
    if (orr_digest_init(&dg))
        return set_err(r, ORR_ENOMEM, "trace '%s': out of memory", r->path);
    int rc = 0;
    for (size_t k = 0; k < r->f.nCheckpoint && !rc; k++) {
        if (!checksum_ok(r->f.aCheckpoint[k].digest, orr_digest_value(&dg)))
            rc = set_err(r, ORR_ECORRUPT,
                         "trace '%s' is corrupt: segment %zu: the records before it do not "
                         "match its checkpoint digest",
                         r->path, k > 0 ? k - 1 : 0);
        else if (!(rc = load_segment(r, k)))
            orr_digest_add_n(&dg, r->aRec,
                             r->f.nRec - r->f.aCheckpoint[k].index < r->h.checkpoint_every
                                 ? (size_t)(r->f.nRec - r->f.aCheckpoint[k].index)
                                 : (size_t)r->h.checkpoint_every);
    }
    if (!rc && !checksum_ok(r->f.digest, orr_digest_value(&dg)))
        rc = set_err(r, ORR_ECORRUPT,
                     "trace '%s' is corrupt: segment %zu: the records do not match the final "
                     "digest",
                     r->path, r->f.nCheckpoint ? r->f.nCheckpoint - 1 : 0);
    orr_digest_free(&dg);
    return rc;
}

int orr_trace_next(struct orr_trace_reader *r, struct orr_trace_rec *rec)
{
    if (r->pos >= r->f.nRec)
        return 0;
    uint64_t ck = r->h.checkpoint_every;
    size_t k = (size_t)(r->pos / ck);
    if (k != r->iSeg) {
        int rc = load_segment(r, k);
        if (rc)
            return rc;
    }
    orr_trace_rec_decode(r->aRec + (size_t)(r->pos % ck) * ORR_TRACE_REC_BYTES, rec);
    r->pos++;
    return 1;
}
