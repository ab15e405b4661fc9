/* `orrery diff`: locate the first divergent event of two traces and report
 * it with context, then per-component event-count and metric deltas.
 *
 * Finding the divergence costs O(log checkpoints) digest comparisons plus
 * one segment of records, not a pass over the traces:
 *   1. Points where both traces know their rolling digest: every A
 *      checkpoint index B also has a checkpoint at, and each trace's end.
 *   2. Digests are over prefixes, so "A and B agree up to index i" is true
 *      up to some point and false after it; bisect for the last agreeing
 *      point p (index 0, the empty prefix, always agrees).
 *   3. Read both from p record by record to the first difference; a trace
 *      that ends first diverges at its end.
 * Everything is gathered into a struct report first and then rendered as
 * text or JSON, so an error part way prints nothing. */
#include "analysis/diff.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "orrery/json.h"
#include "orrery/trace.h"

struct side {
    const char *path;
    struct orr_trace_reader *r;
    const struct orr_trace_header *h;
    const struct orr_trace_footer *f;
};

struct recs {
    struct orr_trace_rec *a;
    size_t n;
    uint64_t first; /* index of a[0] */
};

struct comp_delta {
    const char *path;
    size_t id;          /* A's id, or B's for a component only B has */
    bool inA, inB;
    uint64_t countA, countB;
};

struct metric_delta {
    const char *name, *unit;
    bool inA, inB;
    double a, b;
};

enum { ID_SCENARIO, ID_HASH, ID_SEED, ID_BUILD, ID_OVERRIDES, ID_KNOBS, ID_COUNT };
static const char *const kIdName[ID_COUNT] = {"scenario", "scenario_hash", "seed",
                                              "build_id", "overrides", "knobs"};

struct report {
    struct side A, B;
    bool idDiffers[ID_COUNT];
    bool diverged;
    uint64_t index;          /* first divergent record */
    bool hasA, hasB;         /* whether each trace has a record at index */
    struct orr_trace_rec recA, recB;
    struct recs before;      /* common records before the divergence (from A) */
    struct recs afterA, afterB;
    struct comp_delta *aComp;
    size_t nComp;
    struct metric_delta *aMetric;
    size_t nMetric;
};

/* --- gathering ----------------------------------------------------------- */

static int read_error(struct side *s, int rc, struct orr_diag *d)
{
    struct orr_mark mark = {s->path, 0, 0};
    orr_diag_error(d, &mark, NULL, "%s", orr_trace_error(s->r));
    return rc;
}

static bool rec_equal(const struct orr_trace_rec *x, const struct orr_trace_rec *y)
{
    uint8_t a[ORR_TRACE_REC_BYTES], b[ORR_TRACE_REC_BYTES];
    orr_trace_rec_encode(x, a);
    orr_trace_rec_encode(y, b);
    return memcmp(a, b, sizeof a) == 0;
}

/* The digest after `index` records, if the footer records it. */
static bool known_digest(const struct side *s, uint64_t index, uint64_t *digest)
{
    uint64_t every = s->h->checkpoint_every;
    if (index == s->f->nRec) {
        *digest = s->f->digest;
        return true;
    }
    if (index % every || index / every >= s->f->nCheckpoint)
        return false;
    *digest = s->f->aCheckpoint[index / every].digest;
    return true;
}

/* Steps 1 and 2: the index of the last point where both digests agree. */
static int last_agreeing_point(const struct side *A, const struct side *B, uint64_t *out)
{
    size_t n = A->f->nCheckpoint + 1, m = 0;
    uint64_t *aIndex = malloc(n * sizeof *aIndex);
    bool *aSame = malloc(n * sizeof *aSame);
    if (!aIndex || !aSame) {
        free(aIndex);
        free(aSame);
        return ORR_ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        uint64_t index = k < A->f->nCheckpoint ? A->f->aCheckpoint[k].index : A->f->nRec;
        uint64_t dA, dB;
        if (known_digest(A, index, &dA) && known_digest(B, index, &dB)) {
            aIndex[m] = index;
            aSame[m++] = dA == dB;
        }
    }
    /* Invariant: point lo agrees (point 0, the empty prefix, always does)
     * and point hi differs or is past the end. */
    size_t lo = 0, hi = m;
    while (lo + 1 < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (aSame[mid])
            lo = mid;
        else
            hi = mid;
    }
    *out = m && aSame[lo] ? aIndex[lo] : 0;
    free(aIndex);
    free(aSame);
    return 0;
}

/* Step 3: scan from `start` to the first record that differs. */
static int scan(struct report *rp, uint64_t start, struct orr_diag *d)
{
    int rc = orr_trace_seek(rp->A.r, start);
    if (rc)
        return read_error(&rp->A, rc, d);
    if ((rc = orr_trace_seek(rp->B.r, start)))
        return read_error(&rp->B, rc, d);
    for (uint64_t i = start;; i++) {
        int ka = orr_trace_next(rp->A.r, &rp->recA);
        if (ka < 0)
            return read_error(&rp->A, ka, d);
        int kb = orr_trace_next(rp->B.r, &rp->recB);
        if (kb < 0)
            return read_error(&rp->B, kb, d);
        if (!ka && !kb)
            break;
        if (!ka || !kb || !rec_equal(&rp->recA, &rp->recB)) {
            rp->diverged = true;
            rp->index = i;
            rp->hasA = ka;
            rp->hasB = kb;
            return 0;
        }
    }
    struct orr_mark mark = {rp->B.path, 0, 0};
    orr_diag_error(d, &mark, NULL,
                   "traces '%s' and '%s' hold the same records but different digests: "
                   "a footer is inconsistent", rp->A.path, rp->B.path);
    return ORR_ECORRUPT;
}

static int read_recs(struct side *s, uint64_t first, uint64_t max, struct recs *out,
                     struct orr_diag *d)
{
    int rc = orr_trace_seek(s->r, first);
    out->first = first;
    out->n = 0;
    if (rc)
        return read_error(s, rc, d);
    if (max == 0)
        return 0;
    if (!(out->a = malloc(max * sizeof *out->a)))
        return ORR_ENOMEM;
    while (out->n < max && (rc = orr_trace_next(s->r, &out->a[out->n])) == 1)
        out->n++;
    return rc < 0 ? read_error(s, rc, d) : 0;
}

static uint64_t remaining(const struct side *s, uint64_t from, unsigned context)
{
    uint64_t left = from < s->f->nRec ? s->f->nRec - from : 0;
    return left < context ? left : context;
}

static int gather_context(struct report *rp, unsigned context, struct orr_diag *d)
{
    uint64_t i = rp->index;
    uint64_t nBefore = i < context ? i : context;
    int rc = read_recs(&rp->A, i - nBefore, nBefore, &rp->before, d);
    if (!rc && rp->hasA)
        rc = read_recs(&rp->A, i + 1, remaining(&rp->A, i + 1, context), &rp->afterA, d);
    if (!rc && rp->hasB)
        rc = read_recs(&rp->B, i + 1, remaining(&rp->B, i + 1, context), &rp->afterB, d);
    return rc;
}

static bool str_differs(const char *x, const char *y) { return strcmp(x, y) != 0; }

static bool knobs_differ(const struct orr_trace_header *a, const struct orr_trace_header *b)
{
    if (a->nKnob != b->nKnob)
        return true;
    for (size_t i = 0; i < a->nKnob; i++)
        if (str_differs(a->aKnob[i], b->aKnob[i]))
            return true;
    return false;
}

static void compare_identity(struct report *rp)
{
    const struct orr_trace_header *a = rp->A.h, *b = rp->B.h;
    rp->idDiffers[ID_SCENARIO] = str_differs(a->scenario, b->scenario);
    rp->idDiffers[ID_HASH] = a->scenario_hash != b->scenario_hash;
    rp->idDiffers[ID_SEED] = a->seed != b->seed;
    rp->idDiffers[ID_BUILD] = str_differs(a->build_id, b->build_id);
    rp->idDiffers[ID_OVERRIDES] = str_differs(a->overrides, b->overrides);
    rp->idDiffers[ID_KNOBS] = knobs_differ(a, b);
}

/* --- component and metric deltas ------------------------------------------ */

/* Matching is by name, so traces of different topologies still compare:
 * both sides are sorted by (name, position) and merged. */
struct named {
    const char *name;
    size_t pos;
};

static int cmp_named(const void *x, const void *y)
{
    const struct named *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

static struct named *sorted_names(char *const *aComp, const struct orr_trace_metric *aMetric,
                                  size_t n)
{
    struct named *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = (struct named){aComp ? aComp[i] : aMetric[i].name, i};
    if (v)
        qsort(v, n, sizeof *v, cmp_named);
    return v;
}

/* Calls pair(ctx, ia, ib) for each name in the union; SIZE_MAX = absent. */
static void merge_names(const struct named *a, size_t na, const struct named *b, size_t nb,
                        void (*pair)(void *ctx, size_t ia, size_t ib), void *ctx)
{
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i].name, b[j].name);
        pair(ctx, c <= 0 ? a[i].pos : SIZE_MAX, c >= 0 ? b[j].pos : SIZE_MAX);
        i += c <= 0;
        j += c >= 0;
    }
}

static void comp_pair(void *ctx, size_t ia, size_t ib)
{
    struct report *rp = ctx;
    struct comp_delta c = {.inA = ia != SIZE_MAX, .inB = ib != SIZE_MAX};
    c.countA = c.inA ? rp->A.f->aCompEvents[ia] : 0;
    c.countB = c.inB ? rp->B.f->aCompEvents[ib] : 0;
    c.path = c.inA ? rp->A.h->aCompPath[ia] : rp->B.h->aCompPath[ib];
    c.id = c.inA ? ia : ib;
    if (c.countA != c.countB || c.inA != c.inB)
        rp->aComp[rp->nComp++] = c;
}

static uint64_t abs_delta(const struct comp_delta *c)
{
    return c->countA > c->countB ? c->countA - c->countB : c->countB - c->countA;
}

/* |delta| descending, then A's components by id, then B-only ones by id. */
static int cmp_comp_delta(const void *x, const void *y)
{
    const struct comp_delta *a = x, *b = y;
    uint64_t da = abs_delta(a), db = abs_delta(b);
    if (da != db)
        return da < db ? 1 : -1;
    if (a->inA != b->inA)
        return a->inA ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static bool same_value(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static void metric_pair(void *ctx, size_t ia, size_t ib)
{
    struct report *rp = ctx;
    const struct orr_trace_metric *ma = ia != SIZE_MAX ? &rp->A.f->aMetric[ia] : NULL;
    const struct orr_trace_metric *mb = ib != SIZE_MAX ? &rp->B.f->aMetric[ib] : NULL;
    if (ma && mb && same_value(ma->value, mb->value))
        return;
    rp->aMetric[rp->nMetric++] = (struct metric_delta){
        .name = ma ? ma->name : mb->name, .unit = ma ? ma->unit : mb->unit,
        .inA = ma != NULL, .inB = mb != NULL,
        .a = ma ? ma->value : 0, .b = mb ? mb->value : 0};
}

static int gather_deltas(struct report *rp)
{
    const struct orr_trace_header *ha = rp->A.h, *hb = rp->B.h;
    const struct orr_trace_footer *fa = rp->A.f, *fb = rp->B.f;
    struct named *ca = sorted_names(ha->aCompPath, NULL, ha->nComp);
    struct named *cb = sorted_names(hb->aCompPath, NULL, hb->nComp);
    struct named *ma = sorted_names(NULL, fa->aMetric, fa->nMetric);
    struct named *mb = sorted_names(NULL, fb->aMetric, fb->nMetric);
    rp->aComp = malloc((ha->nComp + hb->nComp + 1) * sizeof *rp->aComp);
    rp->aMetric = malloc((fa->nMetric + fb->nMetric + 1) * sizeof *rp->aMetric);
    int rc = ca && cb && ma && mb && rp->aComp && rp->aMetric ? 0 : ORR_ENOMEM;
    if (!rc) {
        merge_names(ca, ha->nComp, cb, hb->nComp, comp_pair, rp);
        qsort(rp->aComp, rp->nComp, sizeof *rp->aComp, cmp_comp_delta);
        merge_names(ma, fa->nMetric, mb, fb->nMetric, metric_pair, rp);
    }
    free(ca);
    free(cb);
    free(ma);
    free(mb);
    return rc;
}

static int gather(struct report *rp, unsigned context, struct orr_diag *d)
{
    const struct orr_trace_footer *fa = rp->A.f, *fb = rp->B.f;
    uint64_t start = 0;
    int rc = 0;
    compare_identity(rp);
    if (fa->nRec != fb->nRec || fa->digest != fb->digest) {
        if ((rc = last_agreeing_point(&rp->A, &rp->B, &start)) || (rc = scan(rp, start, d)) ||
            (rc = gather_context(rp, context, d)))
            return rc;
    }
    return gather_deltas(rp);
}

/* --- rendering: shared helpers -------------------------------------------- */

static const char *comp_name(const struct orr_trace_header *h, uint32_t id, char buf[16])
{
    if (id < h->nComp)
        return h->aCompPath[id];
    if (id == ORR_ORIGIN_ENGINE)
        return "engine";
    snprintf(buf, 16, "#%" PRIu32, id);
    return buf;
}

/* Picoseconds as microseconds with every digit kept: 1234567 -> "1.234567us". */
static void format_time(char *buf, size_t n, orr_time_t t)
{
    snprintf(buf, n, "%" PRIu64 ".%06" PRIu64 "us", (uint64_t)(t / ORR_US), (uint64_t)(t % ORR_US));
}

static const char *const kFieldName[] = {"time", "component", "origin", "kind",
                                         "port", "size", "a", "b"};

/* Bit i set when field kFieldName[i] differs. */
static unsigned field_diff(const struct orr_trace_rec *x, const struct orr_trace_rec *y)
{
    return (unsigned)(x->time != y->time) | (unsigned)(x->comp != y->comp) << 1 |
           (unsigned)(x->origin != y->origin) << 2 | (unsigned)(x->kind != y->kind) << 3 |
           (unsigned)(x->port != y->port) << 4 | (unsigned)(x->size != y->size) << 5 |
           (unsigned)(x->a != y->a) << 6 | (unsigned)(x->b != y->b) << 7;
}

static double pct_change(double a, double b)
{
    return a != 0 ? (b - a) / fabs(a) * 100.0 : NAN;
}

/* --- rendering: text ------------------------------------------------------ */

/* Width of the component column: the longest name the tables can produce. */
static int comp_width(const struct orr_trace_header *h)
{
    size_t w = strlen("engine");
    for (size_t i = 0; i < h->nComp; i++)
        w = strlen(h->aCompPath[i]) > w ? strlen(h->aCompPath[i]) : w;
    return w > 40 ? 40 : (int)w;
}

static void text_rec(FILE *out, const char *label, const struct orr_trace_header *h,
                     uint64_t index, const struct orr_trace_rec *r)
{
    char t[32], cb[16], ob[16];
    format_time(t, sizeof t, r->time);
    fprintf(out, "%-2s #%-7" PRIu64 " %14s  %-*s  %-8s port %-3u size %-5" PRIu32 " a %-8" PRIu64
                 " b %-8" PRIu64 " from %s\n",
            label, index, t, comp_width(h), comp_name(h, r->comp, cb),
            orr_trace_kind_name(h, r->kind), (unsigned)r->port, r->size, r->a, r->b,
            comp_name(h, r->origin, ob));
}

static void text_recs(FILE *out, const char *title, const struct side *s, const struct recs *v)
{
    if (v->n == 0)
        return;
    fprintf(out, "%s\n", title);
    for (size_t i = 0; i < v->n; i++)
        text_rec(out, "", s->h, v->first + i, &v->a[i]);
}

static void text_identity_line(FILE *out, const char *label, const struct side *s)
{
    const struct orr_trace_header *h = s->h;
    fprintf(out, "%s: %s  scenario %s hash %016" PRIx64 "  seed %" PRIu64 "  build %s  "
                 "events %" PRIu64 "  digest %016" PRIx64 "\n",
            label, s->path, h->scenario, h->scenario_hash, h->seed, h->build_id, s->f->nRec,
            s->f->digest);
}

static void text_identity(FILE *out, const struct report *rp)
{
    text_identity_line(out, "A", &rp->A);
    text_identity_line(out, "B", &rp->B);
    const char *sep = "differs:";
    for (int i = 0; i < ID_COUNT; i++) {
        if (rp->idDiffers[i]) {
            fprintf(out, "%s %s", sep, kIdName[i]);
            sep = ",";
        }
    }
    if (sep[0] == ',')
        fputc('\n', out);
}

static void text_missing(FILE *out, const char *label, const struct side *s)
{
    fprintf(out, "%-2s (trace ends after %" PRIu64 " events)\n", label, s->f->nRec);
}

static void text_divergence(FILE *out, const struct report *rp)
{
    char t[32];
    const struct orr_trace_rec *at = rp->hasA ? &rp->recA : &rp->recB;
    format_time(t, sizeof t, at->time);
    fprintf(out, "\nfirst divergence at event #%" PRIu64 " (t=%s)\n\n", rp->index, t);
    text_recs(out, "before (common):", &rp->A, &rp->before);
    fprintf(out, "divergent:\n");
    if (rp->hasA)
        text_rec(out, "A", rp->A.h, rp->index, &rp->recA);
    else
        text_missing(out, "A", &rp->A);
    if (rp->hasB)
        text_rec(out, "B", rp->B.h, rp->index, &rp->recB);
    else
        text_missing(out, "B", &rp->B);
    if (rp->hasA && rp->hasB) {
        unsigned diff = field_diff(&rp->recA, &rp->recB);
        const char *sep = "   fields that differ: ";
        for (unsigned i = 0; i < 8; i++) {
            if (diff & (1u << i)) {
                fprintf(out, "%s%s", sep, kFieldName[i]);
                sep = ", ";
            }
        }
        fputc('\n', out);
    }
    text_recs(out, "after, in A:", &rp->A, &rp->afterA);
    text_recs(out, "after, in B:", &rp->B, &rp->afterB);
}

static void text_count(FILE *out, bool present, uint64_t v)
{
    if (present)
        fprintf(out, " %12" PRIu64, v);
    else
        fprintf(out, " %12s", "(missing)");
}

static void text_components(FILE *out, const struct report *rp)
{
    if (rp->nComp == 0)
        return;
    fprintf(out, "\nevents per component (only those that differ):\n");
    fprintf(out, "  %-32s %12s %12s %12s\n", "component", "A", "B", "delta");
    for (size_t i = 0; i < rp->nComp; i++) {
        const struct comp_delta *c = &rp->aComp[i];
        fprintf(out, "  %-32s", c->path);
        text_count(out, c->inA, c->countA);
        text_count(out, c->inB, c->countB);
        char delta[24];
        snprintf(delta, sizeof delta, "%c%" PRIu64, c->countB < c->countA ? '-' : '+',
                 abs_delta(c));
        fprintf(out, " %12s\n", delta);
    }
}

static void text_value(FILE *out, bool present, double v)
{
    if (present)
        fprintf(out, " %14.10g", v);
    else
        fprintf(out, " %14s", "(missing)");
}

static void text_metrics(FILE *out, const struct report *rp)
{
    if (rp->nMetric == 0)
        return;
    fprintf(out, "\nmetrics (only those that differ):\n");
    fprintf(out, "  %-40s %-6s %14s %14s %14s %9s\n", "metric", "unit", "A", "B", "delta",
            "change");
    for (size_t i = 0; i < rp->nMetric; i++) {
        const struct metric_delta *m = &rp->aMetric[i];
        fprintf(out, "  %-40s %-6s", m->name, m->unit);
        text_value(out, m->inA, m->a);
        text_value(out, m->inB, m->b);
        if (m->inA && m->inB) {
            double pct = pct_change(m->a, m->b);
            fprintf(out, " %+14.6g", m->b - m->a);
            if (isnan(pct))
                fprintf(out, " %9s", "n/a");
            else
                fprintf(out, " %+8.2f%%", pct);
        }
        fputc('\n', out);
    }
}

static void render_text(FILE *out, const struct report *rp)
{
    text_identity(out, rp);
    if (rp->diverged)
        text_divergence(out, rp);
    else
        fprintf(out, "\ntraces are identical: %" PRIu64 " events, digest %016" PRIx64 "\n",
                rp->A.f->nRec, rp->A.f->digest);
    text_components(out, rp);
    text_metrics(out, rp);
}

/* --- rendering: JSON ------------------------------------------------------ */

static void json_side(struct orr_json *j, const struct side *s)
{
    const struct orr_trace_header *h = s->h;
    orr_json_obj_begin(j);
    orr_json_key(j, "path");
    orr_json_str(j, s->path);
    orr_json_key(j, "scenario");
    orr_json_str(j, h->scenario);
    orr_json_key(j, "scenario_hash");
    orr_json_hex64(j, h->scenario_hash);
    orr_json_key(j, "seed");
    orr_json_u64(j, h->seed);
    orr_json_key(j, "build_id");
    orr_json_str(j, h->build_id);
    orr_json_key(j, "overrides");
    orr_json_str(j, h->overrides);
    orr_json_key(j, "events");
    orr_json_u64(j, s->f->nRec);
    orr_json_key(j, "digest");
    orr_json_hex64(j, s->f->digest);
    orr_json_key(j, "sim_time_ps");
    orr_json_u64(j, s->f->sim_time);
    orr_json_obj_end(j);
}

static void json_rec(struct orr_json *j, const struct orr_trace_header *h, uint64_t index,
                     const struct orr_trace_rec *r)
{
    char cb[16], ob[16];
    orr_json_obj_begin(j);
    orr_json_key(j, "index");
    orr_json_u64(j, index);
    orr_json_key(j, "time_ps");
    orr_json_u64(j, r->time);
    orr_json_key(j, "component");
    orr_json_str(j, comp_name(h, r->comp, cb));
    orr_json_key(j, "component_id");
    orr_json_u64(j, r->comp);
    orr_json_key(j, "origin");
    orr_json_str(j, comp_name(h, r->origin, ob));
    orr_json_key(j, "origin_id");
    orr_json_u64(j, r->origin);
    orr_json_key(j, "kind");
    orr_json_str(j, orr_trace_kind_name(h, r->kind));
    orr_json_key(j, "kind_id");
    orr_json_u64(j, r->kind);
    orr_json_key(j, "port");
    orr_json_u64(j, r->port);
    orr_json_key(j, "size");
    orr_json_u64(j, r->size);
    orr_json_key(j, "a");
    orr_json_u64(j, r->a);
    orr_json_key(j, "b");
    orr_json_u64(j, r->b);
    orr_json_obj_end(j);
}

static void json_recs(struct orr_json *j, const char *key, const struct side *s,
                      const struct recs *v)
{
    orr_json_key(j, key);
    orr_json_arr_begin(j);
    for (size_t i = 0; i < v->n; i++)
        json_rec(j, s->h, v->first + i, &v->a[i]);
    orr_json_arr_end(j);
}

static void json_divergence(struct orr_json *j, const struct report *rp)
{
    orr_json_key(j, "divergence");
    if (!rp->diverged) {
        orr_json_null(j);
        return;
    }
    orr_json_obj_begin(j);
    orr_json_key(j, "index");
    orr_json_u64(j, rp->index);
    orr_json_key(j, "time_ps");
    orr_json_u64(j, rp->hasA ? rp->recA.time : rp->recB.time);
    json_recs(j, "before", &rp->A, &rp->before);
    orr_json_key(j, "a");
    if (rp->hasA)
        json_rec(j, rp->A.h, rp->index, &rp->recA);
    else
        orr_json_null(j);
    orr_json_key(j, "b");
    if (rp->hasB)
        json_rec(j, rp->B.h, rp->index, &rp->recB);
    else
        orr_json_null(j);
    orr_json_key(j, "fields");
    orr_json_arr_begin(j);
    unsigned diff = rp->hasA && rp->hasB ? field_diff(&rp->recA, &rp->recB) : 0;
    for (unsigned i = 0; i < 8; i++)
        if (diff & (1u << i))
            orr_json_str(j, kFieldName[i]);
    orr_json_arr_end(j);
    json_recs(j, "after_a", &rp->A, &rp->afterA);
    json_recs(j, "after_b", &rp->B, &rp->afterB);
    orr_json_obj_end(j);
}

static void json_components(struct orr_json *j, const struct report *rp)
{
    orr_json_key(j, "components");
    orr_json_arr_begin(j);
    for (size_t i = 0; i < rp->nComp; i++) {
        const struct comp_delta *c = &rp->aComp[i];
        orr_json_obj_begin(j);
        orr_json_key(j, "component");
        orr_json_str(j, c->path);
        orr_json_key(j, "a");
        c->inA ? orr_json_u64(j, c->countA) : orr_json_null(j);
        orr_json_key(j, "b");
        c->inB ? orr_json_u64(j, c->countB) : orr_json_null(j);
        orr_json_key(j, "delta");
        orr_json_i64(j, (int64_t)(c->countB - c->countA));
        orr_json_obj_end(j);
    }
    orr_json_arr_end(j);
}

static void json_metrics(struct orr_json *j, const struct report *rp)
{
    orr_json_key(j, "metrics");
    orr_json_arr_begin(j);
    for (size_t i = 0; i < rp->nMetric; i++) {
        const struct metric_delta *m = &rp->aMetric[i];
        bool both = m->inA && m->inB;
        orr_json_obj_begin(j);
        orr_json_key(j, "name");
        orr_json_str(j, m->name);
        orr_json_key(j, "unit");
        orr_json_str(j, m->unit);
        orr_json_key(j, "a");
        m->inA ? orr_json_dbl(j, m->a) : orr_json_null(j);
        orr_json_key(j, "b");
        m->inB ? orr_json_dbl(j, m->b) : orr_json_null(j);
        orr_json_key(j, "delta");
        both ? orr_json_dbl(j, m->b - m->a) : orr_json_null(j);
        orr_json_key(j, "change_pct");
        both ? orr_json_dbl(j, pct_change(m->a, m->b)) : orr_json_null(j);
        orr_json_obj_end(j);
    }
    orr_json_arr_end(j);
}

static void render_json(FILE *out, const struct report *rp)
{
    struct orr_json j;
    orr_json_init(&j, out, true);
    orr_json_obj_begin(&j);
    orr_json_key(&j, "a");
    json_side(&j, &rp->A);
    orr_json_key(&j, "b");
    json_side(&j, &rp->B);
    orr_json_key(&j, "differs");
    orr_json_arr_begin(&j);
    for (int i = 0; i < ID_COUNT; i++)
        if (rp->idDiffers[i])
            orr_json_str(&j, kIdName[i]);
    orr_json_arr_end(&j);
    orr_json_key(&j, "equal");
    orr_json_bool(&j, !rp->diverged && rp->nMetric == 0);
    json_divergence(&j, rp);
    json_components(&j, rp);
    json_metrics(&j, rp);
    orr_json_obj_end(&j);
    orr_json_end(&j);
}

/* --- entry point ---------------------------------------------------------- */

static int open_side(struct side *s, const char *path, struct orr_diag *d)
{
    s->path = path;
    int rc = orr_trace_open(&s->r, path, d);
    if (rc)
        return rc;
    /* the footers are only trusted once every segment agrees with them */
    if ((rc = orr_trace_verify(s->r)))
        return read_error(s, rc, d);
    s->h = orr_trace_header(s->r);
    s->f = orr_trace_footer(s->r);
    return 0;
}

static void report_free(struct report *rp)
{
    orr_trace_close(rp->A.r);
    orr_trace_close(rp->B.r);
    free(rp->before.a);
    free(rp->afterA.a);
    free(rp->afterB.a);
    free(rp->aComp);
    free(rp->aMetric);
}

int orr_diff_run(const char *a, const char *b, const struct orr_diff_opts *o, FILE *out,
                 struct orr_diag *d)
{
    struct orr_diff_opts defaults = {.context = ORR_DIFF_DEFAULT_CONTEXT, .json = false};
    struct report rp = {0};
    if (!o)
        o = &defaults;
    int rc = open_side(&rp.A, a, d);
    int rcB = open_side(&rp.B, b, d); /* report both if both are bad */
    rc = rc ? rc : rcB;
    if (!rc && (rc = gather(&rp, o->context, d)) == ORR_ENOMEM)
        orr_diag_error(d, NULL, NULL, "out of memory comparing '%s' and '%s'", a, b);
    if (!rc) {
        if (o->json)
            render_json(out, &rp);
        else
            render_text(out, &rp);
        rc = rp.diverged || rp.nMetric ? 1 : 0;
    }
    report_free(&rp);
    return rc;
}
