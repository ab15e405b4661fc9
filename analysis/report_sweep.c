/* `orrery report`, aggregation: a sweep's axes and points recovered from
 * the sweeps and sweep_points rows, every metric of the selected runs in
 * one table, per point x metric statistics over the repeats, and the
 * choice of metrics to show.
 *
 * Axis values come from the points' overrides ("KEY=VALUE" lines in axis
 * order, exactly runs.overrides), not from re-expanding the axis specs, so
 * a sampled sweep shows the values it actually ran. An axis is numeric when
 * every value parses as one unit kind (orr_unit_parse: time, size,
 * frequency, bandwidth, cycles) or as a plain number; otherwise it is
 * categorical, in order of first appearance.
 *
 * Cost: building the metric table is O(runs x metrics) when the runs list
 * their metrics in the same order (each lookup first tries the position
 * after the previous hit), O(runs x metrics^2) in the worst case. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "orrery/error.h"
#include "orrery/params.h"
#include "orrery/units.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        orr_oom();
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *c = strndup(s, n);
    if (!c)
        orr_oom();
    return c;
}

/* --- axes ----------------------------------------------------------------- */

/* The value of key in overrides ("K=V" lines), or NULL; *len its length. */
static const char *override_value(const char *overrides, const char *key, size_t *len)
{
    size_t lk = strlen(key);
    for (const char *line = overrides; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        if (ll > lk && strncmp(line, key, lk) == 0 && line[lk] == '=') {
            *len = ll - lk - 1;
            return line + lk + 1;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

static size_t find_value(const struct orr_report_axis *a, const char *s, size_t len)
{
    for (size_t i = 0; i < a->nValue; i++)
        if (strlen(a->aValue[i]) == len && strncmp(a->aValue[i], s, len) == 0)
            return i;
    return SIZE_MAX;
}

static bool parse_plain(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out);
}

/* Decide numeric or categorical, and sort numeric values ascending. */
static void classify_axis(struct orr_report_axis *a)
{
    static const enum orr_unit_kind aKind[] = {ORR_UNIT_TIME, ORR_UNIT_SIZE, ORR_UNIT_FREQ,
                                               ORR_UNIT_BW, ORR_UNIT_CYCLES};
    static const char *const aUnit[] = {"ps", "B", "Hz", "bit/s", "cy"};
    a->aNum = xcalloc(a->nValue, sizeof *a->aNum);
    a->unit = "";
    for (size_t k = 0; k <= sizeof aKind / sizeof aKind[0] && !a->numeric; k++) {
        bool all = a->nValue > 0;
        for (size_t i = 0; i < a->nValue && all; i++) {
            uint64_t u = 0;
            if (k < sizeof aKind / sizeof aKind[0]) {
                all = orr_unit_parse(aKind[k], a->aValue[i], &u, NULL) == 0;
                a->aNum[i] = (double)u;
            } else {
                all = parse_plain(a->aValue[i], &a->aNum[i]);
            }
        }
        if (all) {
            a->numeric = true;
            a->unit = k < sizeof aKind / sizeof aKind[0] ? aUnit[k] : "";
        }
    }
    if (!a->numeric)
        return;
    for (size_t i = 1; i < a->nValue; i++) /* insertion sort: axes are short */
        for (size_t j = i; j > 0 && a->aNum[j - 1] > a->aNum[j]; j--) {
            double t = a->aNum[j];
            a->aNum[j] = a->aNum[j - 1];
            a->aNum[j - 1] = t;
            char *s = a->aValue[j];
            a->aValue[j] = a->aValue[j - 1];
            a->aValue[j - 1] = s;
        }
}

static int build_axes(struct orr_report_view *v, const struct orr_report_sweep *s,
                      struct orr_diag *d)
{
    size_t cap = 0;
    for (const char *line = s->axes; *line;) {
        const char *end = strchr(line, '\n'), *eq = strchr(line, '=');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        if (ll) {
            if (!eq || eq - line >= (long)ll || eq == line) {
                orr_diag_error(d, NULL, NULL, "sweep %lld: axis line '%.*s' is not KEY=SPEC",
                               (long long)s->id, (int)ll, line);
                return ORR_EINVAL;
            }
            if (v->nAxis == cap) {
                cap = cap ? 2 * cap : 4;
                v->aAxis = realloc(v->aAxis, cap * sizeof *v->aAxis);
                if (!v->aAxis)
                    orr_oom();
            }
            struct orr_report_axis *a = &v->aAxis[v->nAxis++];
            memset(a, 0, sizeof *a);
            a->key = xstrndup(line, (size_t)(eq - line));
        }
        line = end ? end + 1 : line + ll;
    }
    for (size_t i = 0; i < v->nAxis; i++) {
        struct orr_report_axis *a = &v->aAxis[i];
        a->aValue = xcalloc(s->nRow, sizeof *a->aValue);
        for (size_t r = 0; r < s->nRow; r++) {
            size_t len;
            const char *val = override_value(s->aRow[r].overrides, a->key, &len);
            if (val && find_value(a, val, len) == SIZE_MAX)
                a->aValue[a->nValue++] = xstrndup(val, len);
        }
        classify_axis(a);
    }
    return 0;
}

/* --- points --------------------------------------------------------------- */

static const char *const kStatusOrder[] = {"ok", "budget_failed", "failed", "interrupted",
                                           "error", "pending"};

static char *status_summary(const struct orr_report_point_row *aRow, size_t n)
{
    size_t nAll = 0;
    char buf[256] = "";
    for (size_t k = 0; k < sizeof kStatusOrder / sizeof kStatusOrder[0]; k++) {
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
            c += strcmp(aRow[i].status, kStatusOrder[k]) == 0;
        nAll += c;
        if (c && k == 0 && c == n)
            return strdup("ok");
        if (c) {
            size_t used = strlen(buf);
            snprintf(buf + used, sizeof buf - used, "%s%zu %s", used ? ", " : "", c,
                     kStatusOrder[k]);
        }
    }
    if (nAll < n) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "%s%zu other", used ? ", " : "", n - nAll);
    }
    return strdup(buf);
}

static void build_points(struct orr_report_view *v, const struct orr_report_sweep *s)
{
    v->aPoint = xcalloc(s->nRow, sizeof *v->aPoint);
    for (size_t r = 0; r < s->nRow;) {
        size_t e = r;
        while (e < s->nRow && s->aRow[e].point == s->aRow[r].point)
            e++;
        struct orr_report_point *p = &v->aPoint[v->nPoint++];
        p->point = s->aRow[r].point;
        p->nRepeat = e - r;
        p->aLevel = xcalloc(v->nAxis, sizeof *p->aLevel);
        for (size_t a = 0; a < v->nAxis; a++) {
            size_t len;
            const char *val = override_value(s->aRow[r].overrides, v->aAxis[a].key, &len);
            p->aLevel[a] = val ? find_value(&v->aAxis[a], val, len) : SIZE_MAX;
        }
        p->aRun = xcalloc(e - r, sizeof *p->aRun);
        for (size_t i = r; i < e; i++) {
            const struct orr_report_point_row *row = &s->aRow[i];
            bool done = strcmp(row->status, "ok") == 0 || strcmp(row->status, "budget_failed") == 0;
            p->nBudgetFailed += strcmp(row->status, "budget_failed") == 0;
            if (done && row->run >= 0)
                p->aRun[p->nOk++] = row->run;
        }
        p->status = status_summary(&s->aRow[r], e - r);
        if (!p->status)
            orr_oom();
        r = e;
    }
}

/* --- metrics -------------------------------------------------------------- */

static long lookup(const struct orr_report_view *v, const char *full, size_t hint)
{
    if (hint < v->nMetric && strcmp(v->aMetric[hint].full, full) == 0)
        return (long)hint;
    for (size_t i = 0; i < v->nMetric; i++)
        if (strcmp(v->aMetric[i].full, full) == 0)
            return (long)i;
    return -1;
}

static void build_metrics(struct orr_report_view *v, const struct orr_report_data *data)
{
    size_t cap = 0, hint = 0;
    char full[512];
    /* pass 1: the union of names; pass 2: the value table */
    for (size_t r = 0; r < data->nRun; r++) {
        const struct orr_report_run *run = &data->aRun[r];
        for (size_t j = 0; j < run->nMetric; j++) {
            orr_report_metric_name(&run->aMetric[j], full, sizeof full);
            long i = lookup(v, full, hint);
            if (i < 0) {
                if (v->nMetric == cap) {
                    cap = cap ? 2 * cap : 64;
                    v->aMetric = realloc(v->aMetric, cap * sizeof *v->aMetric);
                    if (!v->aMetric)
                        orr_oom();
                }
                struct orr_report_metric_id *m = &v->aMetric[v->nMetric];
                memset(m, 0, sizeof *m);
                m->full = xstrndup(full, strlen(full));
                m->component = run->aMetric[j].component;
                m->name = run->aMetric[j].name;
                m->unit = run->aMetric[j].unit;
                i = (long)v->nMetric++;
            }
            hint = (size_t)i + 1;
        }
    }
    v->aValue = xcalloc(data->nRun * v->nMetric, sizeof *v->aValue);
    for (size_t k = 0; k < data->nRun * v->nMetric; k++)
        v->aValue[k] = NAN;
    for (size_t r = 0; r < data->nRun; r++) {
        const struct orr_report_run *run = &data->aRun[r];
        hint = 0;
        for (size_t j = 0; j < run->nMetric; j++) {
            orr_report_metric_name(&run->aMetric[j], full, sizeof full);
            long i = lookup(v, full, hint);
            v->aValue[r * v->nMetric + (size_t)i] = run->aMetric[j].value;
            hint = (size_t)i + 1;
        }
        for (size_t b = 0; b < run->nBudget; b++) {
            long i = lookup(v, run->aBudget[b].metric, 0);
            struct orr_report_metric_id *m = i >= 0 ? &v->aMetric[i] : NULL;
            const char *why;
            if (!m || m->has_budget ||
                orr_budget_parse_bound(run->aBudget[b].bound, &m->bound, &why) != 0)
                continue;
            m->has_budget = true;
            m->budget_text = xstrndup(run->aBudget[b].bound, strlen(run->aBudget[b].bound));
        }
    }
}

int orr_report_view_build(const struct orr_report_data *data, struct orr_report_view *v,
                          struct orr_diag *d)
{
    memset(v, 0, sizeof *v);
    v->data = data;
    build_metrics(v, data);
    if (!data->sweep)
        return 0;
    int rc = build_axes(v, data->sweep, d);
    if (rc)
        return rc;
    build_points(v, data->sweep);
    return 0;
}

void orr_report_view_free(struct orr_report_view *v)
{
    for (size_t i = 0; i < v->nAxis; i++) {
        for (size_t j = 0; j < v->aAxis[i].nValue; j++)
            free(v->aAxis[i].aValue[j]);
        free(v->aAxis[i].aValue);
        free(v->aAxis[i].aNum);
        free(v->aAxis[i].key);
    }
    free(v->aAxis);
    for (size_t i = 0; i < v->nPoint; i++) {
        free(v->aPoint[i].aLevel);
        free(v->aPoint[i].aRun);
        free(v->aPoint[i].status);
    }
    free(v->aPoint);
    for (size_t i = 0; i < v->nMetric; i++) {
        free(v->aMetric[i].full);
        free(v->aMetric[i].budget_text);
    }
    free(v->aMetric);
    free(v->aValue);
    memset(v, 0, sizeof *v);
}

long orr_report_view_metric(const struct orr_report_view *v, const char *full)
{
    return lookup(v, full, 0);
}

long orr_report_view_axis(const struct orr_report_view *v, const char *key)
{
    long hit = -1;
    size_t lk = strlen(key);
    for (size_t i = 0; i < v->nAxis; i++)
        if (strcmp(v->aAxis[i].key, key) == 0)
            return (long)i;
    for (size_t i = 0; i < v->nAxis; i++) {
        size_t la = strlen(v->aAxis[i].key);
        if (la > lk && v->aAxis[i].key[la - lk - 1] == '.' &&
            strcmp(v->aAxis[i].key + la - lk, key) == 0) {
            if (hit >= 0)
                return -1; /* ambiguous */
            hit = (long)i;
        }
    }
    return hit;
}

void orr_report_point_stat(const struct orr_report_view *v, size_t p, size_t m,
                           struct orr_report_stat *out)
{
    const struct orr_report_point *pt = &v->aPoint[p];
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    size_t n = 0;
    for (size_t i = 0; i < pt->nOk; i++) {
        double x = v->aValue[(size_t)pt->aRun[i] * v->nMetric + m];
        if (isnan(x))
            continue;
        sum += x;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        n++;
    }
    out->n = n;
    if (!n) {
        out->mean = out->min = out->max = out->stddev = NAN;
        return;
    }
    out->mean = sum / (double)n;
    out->min = lo;
    out->max = hi;
    double ss = 0;
    for (size_t i = 0; i < pt->nOk; i++) {
        double x = v->aValue[(size_t)pt->aRun[i] * v->nMetric + m];
        if (!isnan(x))
            ss += (x - out->mean) * (x - out->mean);
    }
    out->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
}

/* --- choosing metrics ----------------------------------------------------- */

static bool metric_varies(const struct orr_report_view *v, size_t m)
{
    double first = NAN;
    for (size_t p = 0; p < v->nPoint; p++) {
        struct orr_report_stat st;
        orr_report_point_stat(v, p, m, &st);
        if (!st.n)
            continue;
        if (isnan(first))
            first = st.mean;
        else if (st.mean != first)
            return true;
    }
    return false;
}

/* Edit distance, for ranking names near a misspelt one. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = xcalloc(lb + 1, sizeof *row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    size_t dist = row[lb];
    free(row);
    return dist;
}

/* "no metric X; did you mean Y? nearest: a, b, c" */
static void unknown_metric(const struct orr_report_view *v, const char *word, struct orr_diag *d)
{
    enum { NEAR = 5 };
    const char **aName = xcalloc(v->nMetric, sizeof *aName);
    size_t aBest[NEAR], aDist[NEAR], nBest = 0;
    for (size_t i = 0; i < v->nMetric; i++) {
        aName[i] = v->aMetric[i].full;
        size_t dist = edit_distance(word, aName[i]);
        if (nBest == NEAR && aDist[NEAR - 1] <= dist)
            continue;
        size_t k = nBest < NEAR ? nBest++ : NEAR - 1; /* a free slot, or the worst */
        for (; k > 0 && aDist[k - 1] > dist; k--) {
            aBest[k] = aBest[k - 1];
            aDist[k] = aDist[k - 1];
        }
        aBest[k] = i;
        aDist[k] = dist;
    }
    const char *guess = orr_suggest(word, aName, v->nMetric);
    char list[1024] = "";
    for (size_t k = 0; k < nBest; k++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", aName[aBest[k]]);
    }
    if (!v->nMetric)
        orr_diag_error(d, NULL, NULL, "no metric '%s': the selected runs have no metrics", word);
    else if (guess)
        orr_diag_error(d, NULL, NULL, "no metric '%s' in the selected runs; did you mean '%s'? "
                       "(nearest: %s)", word, guess, list);
    else
        orr_diag_error(d, NULL, NULL, "no metric '%s' in the selected runs (nearest: %s)", word,
                       list);
    free(aName);
}

int orr_report_choose_metrics(const struct orr_report_view *v, const char *const *aName,
                              size_t nName, size_t max, size_t **aOut, size_t *nOut,
                              struct orr_diag *d)
{
    size_t *a = xcalloc(v->nMetric + nName, sizeof *a), n = 0;
    int rc = 0;
    for (size_t i = 0; i < nName; i++) {
        long m = orr_report_view_metric(v, aName[i]);
        if (m < 0) {
            unknown_metric(v, aName[i], d);
            rc = ORR_ENOENT;
        } else {
            a[n++] = (size_t)m;
        }
    }
    if (!nName) {
        for (size_t m = 0; m < v->nMetric; m++)
            if (v->aMetric[m].has_budget)
                a[n++] = m;
        bool budgets = n > 0;
        for (size_t m = 0; m < v->nMetric && !budgets && !v->data->sweep; m++)
            a[n++] = m;
        for (size_t m = 0; m < v->nMetric && !budgets && v->data->sweep && n < max; m++)
            if (metric_varies(v, m))
                a[n++] = m;
    }
    *aOut = a;
    *nOut = n;
    return rc;
}
