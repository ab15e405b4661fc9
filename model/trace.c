/* Trace records, the rolling digest, and the header/footer codecs shared by
 * the writer and the reader (include/orrery/trace.h, model/trace_internal.h).
 * Every multi-byte integer is little-endian on disk whatever the host. */
#include "trace_internal.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "orrery/error.h"

/* --- byte order -------------------------------------------------------- */

uint32_t orr__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t orr__le64(const uint8_t *p)
{
    return (uint64_t)orr__le32(p) | (uint64_t)orr__le32(p + 4) << 32;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void orr__put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* --- records ----------------------------------------------------------- */

/* Layout: time@0 comp@8 origin@12 kind@16 port@18 size@20 a@24 b@32. */
void orr_trace_rec_encode(const struct orr_trace_rec *r, uint8_t out[ORR_TRACE_REC_BYTES])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* the struct's fields are in encoding order with no padding, so on a
     * little-endian host the encoding is the struct's bytes */
    _Static_assert(sizeof *r == ORR_TRACE_REC_BYTES, "orr_trace_rec has padding");
    memcpy(out, r, ORR_TRACE_REC_BYTES);
    return;
#endif
    orr__put_le64(out + 0, r->time);
    put_le32(out + 8, r->comp);
    put_le32(out + 12, r->origin);
    put_le16(out + 16, r->kind);
    put_le16(out + 18, r->port);
    put_le32(out + 20, r->size);
    orr__put_le64(out + 24, r->a);
    orr__put_le64(out + 32, r->b);
}

void orr_trace_rec_decode(const uint8_t in[ORR_TRACE_REC_BYTES], struct orr_trace_rec *r)
{
    r->time = orr__le64(in + 0);
    r->comp = orr__le32(in + 8);
    r->origin = orr__le32(in + 12);
    r->kind = (uint16_t)(in[16] | in[17] << 8);
    r->port = (uint16_t)(in[18] | in[19] << 8);
    r->size = orr__le32(in + 20);
    r->a = orr__le64(in + 24);
    r->b = orr__le64(in + 32);
}

/* --- digest ------------------------------------------------------------ */

int orr_digest_init(struct orr_digest *d)
{
    XXH3_state_t *s = XXH3_createState();
    d->state = s;
    d->count = 0;
    if (!s)
        return ORR_ENOMEM;
    XXH3_64bits_reset(s);
    return 0;
}

void orr_digest_add(struct orr_digest *d, const uint8_t rec[ORR_TRACE_REC_BYTES])
{
    XXH3_64bits_update(d->state, rec, ORR_TRACE_REC_BYTES);
    d->count++;
}

void orr_digest_add_n(struct orr_digest *d, const uint8_t *recs, size_t n)
{
    XXH3_64bits_update(d->state, recs, n * ORR_TRACE_REC_BYTES);
    d->count += n;
}

uint64_t orr_digest_value(const struct orr_digest *d)
{
    return XXH3_64bits_digest(d->state);
}

void orr_digest_free(struct orr_digest *d)
{
    XXH3_freeState(d->state);
    d->state = NULL;
}

uint64_t orr__xxh3(const void *p, size_t n) { return XXH3_64bits(p, n); }

uint64_t orr__digest_empty(void) { return XXH3_64bits("", 0); }

/* --- kind names -------------------------------------------------------- */

static const char *const kBuiltinKind[] = {"timer", "msg", "ready", "fault", "stop"};

const char *orr_trace_kind_name(const struct orr_trace_header *h, uint16_t kind)
{
    if (h && kind < h->nKind && h->aKindName[kind] && h->aKindName[kind][0])
        return h->aKindName[kind];
    if (kind < sizeof kBuiltinKind / sizeof kBuiltinKind[0])
        return kBuiltinKind[kind];
    return "unknown";
}

/* --- encoding buffer --------------------------------------------------- */

static uint8_t *buf_grow(struct orr__buf *b, size_t n)
{
    if (b->oom)
        return NULL;
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    b->n += n;
    return b->p + b->n - n;
}

void orr__buf_u32(struct orr__buf *b, uint32_t v)
{
    uint8_t *p = buf_grow(b, 4);
    if (p)
        put_le32(p, v);
}

void orr__buf_u64(struct orr__buf *b, uint64_t v)
{
    uint8_t *p = buf_grow(b, 8);
    if (p)
        orr__put_le64(p, v);
}

void orr__buf_str(struct orr__buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > UINT32_MAX) {
        b->oom = true;
        return;
    }
    orr__buf_u32(b, (uint32_t)n);
    uint8_t *p = buf_grow(b, n);
    if (p && n)
        memcpy(p, s, n);
}

void orr__buf_free(struct orr__buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* --- decoding cursor --------------------------------------------------- */

/* Reads never run past n; the first failure makes `bad` sticky and every
 * later read returns zero, so a decoder checks once at the end. */
struct cursor {
    const uint8_t *p;
    size_t n, pos;
    bool bad;
    bool oom;
};

static const uint8_t *cur_take(struct cursor *c, size_t n)
{
    if (c->bad || c->n - c->pos < n) {
        c->bad = true;
        return NULL;
    }
    c->pos += n;
    return c->p + c->pos - n;
}

static uint32_t cur_u32(struct cursor *c)
{
    const uint8_t *p = cur_take(c, 4);
    return p ? orr__le32(p) : 0;
}

static uint64_t cur_u64(struct cursor *c)
{
    const uint8_t *p = cur_take(c, 8);
    return p ? orr__le64(p) : 0;
}

static char *cur_str(struct cursor *c)
{
    uint32_t len = cur_u32(c);
    const uint8_t *p = cur_take(c, len);
    if (!p)
        return NULL;
    char *s = malloc((size_t)len + 1);
    if (!s) {
        c->bad = c->oom = true;
        return NULL;
    }
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

/* A table count, accepted only if n entries of at least min_bytes each can
 * still fit in what remains: a corrupt count never sizes an allocation. */
static size_t cur_count(struct cursor *c, uint64_t n, size_t min_bytes)
{
    if (c->bad || n > (c->n - c->pos) / min_bytes) {
        c->bad = true;
        return 0;
    }
    return (size_t)n;
}

static void *cur_calloc(struct cursor *c, size_t n, size_t size)
{
    if (c->bad || n == 0)
        return NULL;
    void *p = calloc(n, size);
    if (!p)
        c->bad = c->oom = true;
    return p;
}

static int cur_result(const struct cursor *c)
{
    if (c->oom)
        return ORR_ENOMEM;
    return c->bad || c->pos != c->n ? ORR_ECORRUPT : 0;
}

/* --- header ------------------------------------------------------------ */

static bool table_fits(size_t n, const void *a)
{
    return n <= UINT32_MAX && (n == 0 || a);
}

int orr__trace_header_encode(const struct orr_trace_header *h, struct orr__buf *b)
{
    if (!table_fits(h->nKnob, h->aKnob) || !table_fits(h->nKind, h->aKindName) ||
        !table_fits(h->nComp, h->aCompPath) || (h->nComp && !h->aCompType))
        return ORR_EINVAL;
    orr__buf_str(b, h->scenario);
    orr__buf_u64(b, h->scenario_hash);
    orr__buf_u64(b, h->seed);
    orr__buf_str(b, h->build_id);
    orr__buf_str(b, h->overrides);
    orr__buf_u64(b, h->checkpoint_every);
    orr__buf_u32(b, (uint32_t)h->nKnob);
    for (size_t i = 0; i < h->nKnob; i++)
        orr__buf_str(b, h->aKnob[i]);
    orr__buf_u32(b, (uint32_t)h->nComp);
    for (size_t i = 0; i < h->nComp; i++) {
        orr__buf_str(b, h->aCompPath[i]);
        orr__buf_str(b, h->aCompType[i]);
    }
    orr__buf_u32(b, (uint32_t)h->nKind);
    for (size_t i = 0; i < h->nKind; i++)
        orr__buf_str(b, h->aKindName[i]);
    return b->oom ? ORR_ENOMEM : 0;
}

static char **cur_str_table(struct cursor *c, size_t n)
{
    char **a = cur_calloc(c, n, sizeof *a);
    for (size_t i = 0; a && i < n && !c->bad; i++)
        a[i] = cur_str(c);
    return a;
}

int orr__trace_header_decode(const uint8_t *p, size_t n, struct orr_trace_header *h)
{
    struct cursor c = {.p = p, .n = n};
    memset(h, 0, sizeof *h);
    h->scenario = cur_str(&c);
    h->scenario_hash = cur_u64(&c);
    h->seed = cur_u64(&c);
    h->build_id = cur_str(&c);
    h->overrides = cur_str(&c);
    h->checkpoint_every = cur_u64(&c);
    h->nKnob = cur_count(&c, cur_u32(&c), 4);
    h->aKnob = cur_str_table(&c, h->nKnob);
    h->nComp = cur_count(&c, cur_u32(&c), 8);
    h->aCompPath = cur_calloc(&c, h->nComp, sizeof *h->aCompPath);
    h->aCompType = cur_calloc(&c, h->nComp, sizeof *h->aCompType);
    for (size_t i = 0; i < h->nComp && !c.bad; i++) {
        h->aCompPath[i] = cur_str(&c);
        h->aCompType[i] = cur_str(&c);
    }
    h->nKind = cur_count(&c, cur_u32(&c), 4);
    h->aKindName = cur_str_table(&c, h->nKind);
    int rc = cur_result(&c);
    if (rc)
        orr_trace_header_free(h);
    return rc;
}

static void free_str_table(char **a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        free(a[i]);
    free(a);
}

void orr_trace_header_free(struct orr_trace_header *h)
{
    free(h->scenario);
    free(h->build_id);
    free(h->overrides);
    free_str_table(h->aKnob, h->nKnob);
    free_str_table(h->aCompPath, h->nComp);
    free_str_table(h->aCompType, h->nComp);
    free_str_table(h->aKindName, h->nKind);
    memset(h, 0, sizeof *h);
}

/* --- footer ------------------------------------------------------------ */

static uint64_t dbl_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double bits_dbl(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

int orr__trace_footer_encode(const struct orr_trace_footer *f, const struct orr__trace_sums *sums,
                             struct orr__buf *b)
{
    if ((f->nCheckpoint && (!f->aCheckpoint || !sums->aSeg)) ||
        !table_fits(f->nComp, f->aCompEvents) || !table_fits(f->nMetric, f->aMetric))
        return ORR_EINVAL;
    orr__buf_u64(b, f->nRec);
    orr__buf_u64(b, f->digest);
    orr__buf_u64(b, f->sim_time);
    orr__buf_u64(b, sums->header);
    orr__buf_u64(b, f->nCheckpoint);
    for (size_t i = 0; i < f->nCheckpoint; i++) {
        orr__buf_u64(b, f->aCheckpoint[i].index);
        orr__buf_u64(b, f->aCheckpoint[i].digest);
        orr__buf_u64(b, f->aCheckpoint[i].offset);
        orr__buf_u64(b, sums->aSeg[i]);
    }
    orr__buf_u32(b, (uint32_t)f->nComp);
    for (size_t i = 0; i < f->nComp; i++)
        orr__buf_u64(b, f->aCompEvents[i]);
    orr__buf_u32(b, (uint32_t)f->nMetric);
    for (size_t i = 0; i < f->nMetric; i++) {
        orr__buf_str(b, f->aMetric[i].name);
        orr__buf_u64(b, dbl_bits(f->aMetric[i].value));
        orr__buf_str(b, f->aMetric[i].unit);
    }
    return b->oom ? ORR_ENOMEM : 0;
}

static void decode_checkpoints(struct cursor *c, struct orr_trace_footer *f,
                               struct orr__trace_sums *sums)
{
    f->nCheckpoint = cur_count(c, cur_u64(c), 32);
    f->aCheckpoint = cur_calloc(c, f->nCheckpoint, sizeof *f->aCheckpoint);
    sums->aSeg = cur_calloc(c, f->nCheckpoint, sizeof *sums->aSeg);
    for (size_t i = 0; i < f->nCheckpoint && !c->bad; i++) {
        f->aCheckpoint[i].index = cur_u64(c);
        f->aCheckpoint[i].digest = cur_u64(c);
        f->aCheckpoint[i].offset = cur_u64(c);
        sums->aSeg[i] = cur_u64(c);
    }
}

static void decode_metrics(struct cursor *c, struct orr_trace_footer *f)
{
    f->nMetric = cur_count(c, cur_u32(c), 16);
    f->aMetric = cur_calloc(c, f->nMetric, sizeof *f->aMetric);
    for (size_t i = 0; i < f->nMetric && !c->bad; i++) {
        f->aMetric[i].name = cur_str(c);
        f->aMetric[i].value = bits_dbl(cur_u64(c));
        f->aMetric[i].unit = cur_str(c);
    }
}

int orr__trace_footer_decode(const uint8_t *p, size_t n, struct orr_trace_footer *f,
                             struct orr__trace_sums *sums)
{
    struct cursor c = {.p = p, .n = n};
    memset(f, 0, sizeof *f);
    memset(sums, 0, sizeof *sums);
    f->nRec = cur_u64(&c);
    f->digest = cur_u64(&c);
    f->sim_time = cur_u64(&c);
    sums->header = cur_u64(&c);
    decode_checkpoints(&c, f, sums);
    f->nComp = cur_count(&c, cur_u32(&c), 8);
    f->aCompEvents = cur_calloc(&c, f->nComp, sizeof *f->aCompEvents);
    for (size_t i = 0; i < f->nComp && !c.bad; i++)
        f->aCompEvents[i] = cur_u64(&c);
    decode_metrics(&c, f);
    int rc = cur_result(&c);
    if (rc) {
        orr_trace_footer_free(f);
        free(sums->aSeg);
        sums->aSeg = NULL;
    }
    return rc;
}

void orr_trace_footer_free(struct orr_trace_footer *f)
{
    for (size_t i = 0; f->aMetric && i < f->nMetric; i++) {
        free(f->aMetric[i].name);
        free(f->aMetric[i].unit);
    }
    free(f->aMetric);
    free(f->aCheckpoint);
    free(f->aCompEvents);
    memset(f, 0, sizeof *f);
}
