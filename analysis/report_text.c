/* `orrery report`, text formats: the terminal table and the CSV
 * (docs/report.md lists the CSV columns), and the value formatting and
 * escaping the HTML page shares. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "orrery/error.h"

/* --- values --------------------------------------------------------------- */

struct scale {
    const char *unit;
    size_t n;
    const char *const *aName;
    const double *aStep;
};

const char *orr_report_scale(const char *unit, double mag, double *div)
{
    static const char *const tn[] = {"ps", "ns", "us", "ms", "s"};
    static const double ts[] = {1, 1e3, 1e6, 1e9, 1e12};
    static const char *const bn[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    static const double bs[] = {1, 1024.0, 1048576.0, 1073741824.0, 1099511627776.0};
    static const char *const rn[] = {"bit/s", "Kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
    static const char *const hn[] = {"Hz", "kHz", "MHz", "GHz", "THz"};
    static const double ds[] = {1, 1e3, 1e6, 1e9, 1e12};
    static const struct scale aScale[] = {{"ps", 5, tn, ts}, {"B", 5, bn, bs},
                                          {"bit/s", 5, rn, ds}, {"Hz", 5, hn, ds}};
    *div = 1;
    if (strcmp(unit, "ratio") == 0) {
        *div = 0.01;
        return "%";
    }
    for (size_t k = 0; k < sizeof aScale / sizeof aScale[0]; k++) {
        const struct scale *s = &aScale[k];
        if (strcmp(unit, s->unit) != 0)
            continue;
        size_t i = 0;
        while (i + 1 < s->n && fabs(mag) >= s->aStep[i + 1])
            i++;
        *div = s->aStep[i];
        return s->aName[i];
    }
    return unit;
}

void orr_report_format_value(double v, const char *unit, char *buf, size_t n)
{
    double div;
    if (isnan(v)) {
        snprintf(buf, n, "-");
        return;
    }
    const char *shown = orr_report_scale(unit, v, &div);
    double x = v / div;
    const char *sep = *shown && strcmp(shown, "%") != 0 ? " " : "";
    if (x == floor(x) && fabs(x) < 1e15)
        snprintf(buf, n, "%.0f%s%s", x, sep, shown);
    else
        snprintf(buf, n, "%.4g%s%s", x, sep, shown);
}

void orr_report_format_stat(const struct orr_report_stat *st, const char *unit, char *buf,
                            size_t n)
{
    double div;
    if (!st->n) {
        snprintf(buf, n, "-");
        return;
    }
    const char *shown = orr_report_scale(unit, st->mean, &div);
    const char *sep = *shown && strcmp(shown, "%") != 0 ? " " : "";
    if (st->n == 1)
        orr_report_format_value(st->mean, unit, buf, n);
    else
        snprintf(buf, n, "%.4g ± %.3g%s%s", st->mean / div, st->stddev / div, sep, shown);
}

void orr_report_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            /* control characters are not allowed in XML 1.0 */
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc('?', out);
            else
                fputc(*s, out);
        }
    }
}

/* --- a column-aligned text table ------------------------------------------- */

struct table {
    size_t nCol, nRow, nCap;
    char **aCell; /* nRow x nCol, row 0 the header */
    bool *aRight; /* per column: right-aligned */
};

static void table_init(struct table *t, size_t nCol)
{
    memset(t, 0, sizeof *t);
    t->nCol = nCol;
    t->aRight = calloc(nCol, sizeof *t->aRight);
    if (!t->aRight)
        orr_oom();
}

static void table_cell(struct table *t, size_t row, size_t col, const char *text)
{
    while (row >= t->nRow) {
        if (t->nRow == t->nCap) {
            t->nCap = t->nCap ? 2 * t->nCap : 16;
            t->aCell = realloc(t->aCell, t->nCap * t->nCol * sizeof *t->aCell);
            if (!t->aCell)
                orr_oom();
        }
        memset(&t->aCell[t->nRow * t->nCol], 0, t->nCol * sizeof *t->aCell);
        t->nRow++;
    }
    char **c = &t->aCell[row * t->nCol + col];
    free(*c);
    if (!(*c = strdup(text)))
        orr_oom();
}

static void table_print(FILE *out, struct table *t, const char *indent)
{
    size_t *w = calloc(t->nCol, sizeof *w);
    if (!w)
        orr_oom();
    for (size_t r = 0; r < t->nRow; r++)
        for (size_t c = 0; c < t->nCol; c++) {
            const char *s = t->aCell[r * t->nCol + c];
            size_t l = s ? strlen(s) : 0;
            w[c] = l > w[c] ? l : w[c];
        }
    for (size_t r = 0; r < t->nRow; r++) {
        fputs(indent, out);
        for (size_t c = 0; c < t->nCol; c++) {
            const char *s = t->aCell[r * t->nCol + c];
            bool last = c + 1 == t->nCol;
            if (t->aRight[c])
                fprintf(out, "%*s%s", (int)w[c], s ? s : "", last ? "" : "  ");
            else if (last)
                fputs(s ? s : "", out);
            else
                fprintf(out, "%-*s  ", (int)w[c], s ? s : "");
        }
        fputc('\n', out);
    }
    for (size_t i = 0; i < t->nRow * t->nCol; i++)
        free(t->aCell[i]);
    free(t->aCell);
    free(t->aRight);
    free(w);
}

/* s with its lines joined by sep (a final newline dropped); truncated to fit */
static void join_lines(const char *s, const char *sep, char *buf, size_t n)
{
    size_t used = 0, ls = strlen(sep);
    for (; *s && used + 1 < n; s++) {
        if (*s != '\n') {
            buf[used++] = *s;
        } else if (s[1]) {
            if (used + ls + 1 >= n)
                break;
            memcpy(buf + used, sep, ls);
            used += ls;
        }
    }
    buf[used] = 0;
}

/* --- the terminal table --------------------------------------------------- */

static void runs_table(FILE *out, const struct orr_report_data *data)
{
    static const char *const head[] = {"id", "scenario", "status", "seed", "overrides",
                                       "sim time", "wall", "digest"};
    struct table t;
    table_init(&t, 8);
    t.aRight[0] = t.aRight[3] = t.aRight[5] = t.aRight[6] = true;
    for (size_t c = 0; c < 8; c++)
        table_cell(&t, 0, c, head[c]);
    for (size_t i = 0; i < data->nRun; i++) {
        const struct orr_report_run *r = &data->aRun[i];
        char buf[1024];
        snprintf(buf, sizeof buf, "%" PRId64, r->id);
        table_cell(&t, i + 1, 0, buf);
        table_cell(&t, i + 1, 1, r->scenario);
        table_cell(&t, i + 1, 2, r->status);
        snprintf(buf, sizeof buf, "%" PRIu64, r->seed);
        table_cell(&t, i + 1, 3, buf);
        join_lines(r->overrides, ", ", buf, sizeof buf);
        table_cell(&t, i + 1, 4, *buf ? buf : "-");
        orr_report_format_value((double)r->sim_time_ps, "ps", buf, sizeof buf);
        table_cell(&t, i + 1, 5, buf);
        snprintf(buf, sizeof buf, "%.3g s", r->wall_time_s);
        table_cell(&t, i + 1, 6, buf);
        table_cell(&t, i + 1, 7, r->digest);
    }
    table_print(out, &t, "  ");
}

static bool chosen(const struct orr_report_options *o, size_t m)
{
    for (size_t i = 0; i < o->nMetric; i++)
        if (o->aMetric[i] == m)
            return true;
    return false;
}

/* One run's metrics (only the chosen ones when the user named some) and
 * histograms. */
static void run_metrics_table(FILE *out, const struct orr_report_view *v, size_t r,
                              const struct orr_report_options *o)
{
    const struct orr_report_run *run = &v->data->aRun[r];
    struct table t;
    table_init(&t, 3);
    t.aRight[2] = true;
    table_cell(&t, 0, 0, "component");
    table_cell(&t, 0, 1, "metric");
    table_cell(&t, 0, 2, "value");
    size_t row = 1;
    for (size_t j = 0; j < run->nMetric; j++) {
        const struct orr_metric *m = &run->aMetric[j];
        char full[512], val[64];
        orr_report_metric_name(m, full, sizeof full);
        if (o->metric_filter && !chosen(o, (size_t)orr_report_view_metric(v, full)))
            continue;
        orr_report_format_value(m->value, m->unit, val, sizeof val);
        table_cell(&t, row, 0, *m->component ? m->component : "-");
        table_cell(&t, row, 1, m->name);
        table_cell(&t, row++, 2, val);
    }
    fprintf(out, "\nrun %" PRId64 "  %s  seed %" PRIu64 "  %s\n", run->id, run->scenario,
            run->seed, run->status);
    if (*run->overrides) {
        char buf[1024];
        join_lines(run->overrides, ", ", buf, sizeof buf);
        fprintf(out, "  overrides: %s\n", buf);
    }
    table_print(out, &t, "  ");
    if (!run->nHist || o->metric_filter)
        return;
    static const char *const head[] = {"component", "histogram", "count", "mean", "p50", "p99",
                                       "max"};
    table_init(&t, 7);
    for (size_t c = 0; c < 7; c++) {
        table_cell(&t, 0, c, head[c]);
        t.aRight[c] = c >= 2;
    }
    for (size_t i = 0; i < run->nHist; i++) {
        const struct orr_hist_summary *h = &run->aHist[i];
        char buf[64];
        table_cell(&t, i + 1, 0, h->component);
        table_cell(&t, i + 1, 1, h->name);
        snprintf(buf, sizeof buf, "%" PRIu64, h->count);
        table_cell(&t, i + 1, 2, buf);
        const double aVal[] = {h->mean, (double)h->p50, (double)h->p99, (double)h->max};
        for (size_t k = 0; k < 4; k++) {
            orr_report_format_value(aVal[k], h->unit, buf, sizeof buf);
            table_cell(&t, i + 1, 3 + k, buf);
        }
    }
    fputc('\n', out);
    table_print(out, &t, "  ");
}

/* "mean ± stddev" of one point's metric, scaled to the metric's column unit */
static void stat_cell(const struct orr_report_stat *st, double div, char *buf, size_t n)
{
    double mean = st->mean / div;
    bool whole = fabs(mean) >= 1e4 && fabs(mean) < 1e15; /* 49840, not 4.984e+04 */
    int used;
    if (!st->n) {
        snprintf(buf, n, "-");
        return;
    }
    used = whole ? snprintf(buf, n, "%.0f", mean) : snprintf(buf, n, "%.4g", mean);
    if (st->n > 1 && used >= 0 && (size_t)used < n)
        snprintf(buf + used, n - (size_t)used, " ± %.2g", st->stddev / div);
}

/* The display unit of metric m across the sweep: scaled on its largest mean. */
static const char *metric_scale(const struct orr_report_view *v, size_t m, double *div)
{
    double mag = 0;
    for (size_t p = 0; p < v->nPoint; p++) {
        struct orr_report_stat st;
        orr_report_point_stat(v, p, m, &st);
        if (st.n && fabs(st.mean) > mag)
            mag = fabs(st.mean);
    }
    return orr_report_scale(v->aMetric[m].unit, mag, div);
}

static void points_table(FILE *out, const struct orr_report_view *v,
                         const struct orr_report_options *o)
{
    size_t nCol = 1 + v->nAxis + 2 + o->nMetric;
    struct table t;
    table_init(&t, nCol);
    table_cell(&t, 0, 0, "point");
    t.aRight[0] = true;
    for (size_t a = 0; a < v->nAxis; a++) {
        table_cell(&t, 0, 1 + a, v->aAxis[a].key);
        t.aRight[1 + a] = v->aAxis[a].numeric;
    }
    table_cell(&t, 0, 1 + v->nAxis, "status");
    table_cell(&t, 0, 2 + v->nAxis, "n");
    t.aRight[2 + v->nAxis] = true;
    double *aDiv = calloc(o->nMetric + 1, sizeof *aDiv);
    if (!aDiv)
        orr_oom();
    for (size_t k = 0; k < o->nMetric; k++) {
        const struct orr_report_metric_id *mi = &v->aMetric[o->aMetric[k]];
        const char *u = metric_scale(v, o->aMetric[k], &aDiv[k]);
        char head[600];
        snprintf(head, sizeof head, "%s%s%s%s", mi->full, *u ? " (" : "", u, *u ? ")" : "");
        table_cell(&t, 0, 3 + v->nAxis + k, head);
        t.aRight[3 + v->nAxis + k] = true;
    }
    for (size_t p = 0; p < v->nPoint; p++) {
        const struct orr_report_point *pt = &v->aPoint[p];
        char buf[128];
        snprintf(buf, sizeof buf, "%" PRIu64, pt->point);
        table_cell(&t, p + 1, 0, buf);
        for (size_t a = 0; a < v->nAxis; a++)
            table_cell(&t, p + 1, 1 + a,
                       pt->aLevel[a] == SIZE_MAX ? "?" : v->aAxis[a].aValue[pt->aLevel[a]]);
        table_cell(&t, p + 1, 1 + v->nAxis, pt->status);
        snprintf(buf, sizeof buf, "%zu", pt->nOk);
        table_cell(&t, p + 1, 2 + v->nAxis, buf);
        for (size_t k = 0; k < o->nMetric; k++) {
            struct orr_report_stat st;
            orr_report_point_stat(v, p, o->aMetric[k], &st);
            stat_cell(&st, aDiv[k], buf, sizeof buf);
            table_cell(&t, p + 1, 3 + v->nAxis + k, buf);
        }
    }
    free(aDiv);
    table_print(out, &t, "  ");
}

static void budgets_line(FILE *out, const struct orr_report_view *v,
                         const struct orr_report_options *o)
{
    for (size_t k = 0; k < o->nMetric; k++) {
        const struct orr_report_metric_id *mi = &v->aMetric[o->aMetric[k]];
        if (mi->has_budget)
            fprintf(out, "  budget %s %s\n", mi->full, mi->budget_text);
    }
}

void orr_report_write_table(FILE *out, const struct orr_report_view *v,
                            const struct orr_report_options *o)
{
    const struct orr_report_data *data = v->data;
    fprintf(out, "database  %s\n", data->db_path);
    if (data->sweep) {
        const struct orr_report_sweep *s = data->sweep;
        fprintf(out, "sweep     %" PRId64 ": %s, %zu points x %" PRIu64 " repeats, seed %" PRIu64
                     ", created %s\n", s->id, s->scenario, v->nPoint, s->repeat, s->seed,
                s->created_at);
        for (size_t a = 0; a < v->nAxis; a++)
            fprintf(out, "  axis    %s%s%s\n", v->aAxis[a].key, v->aAxis[a].numeric ? "" : " ",
                    v->aAxis[a].numeric ? "" : "(categorical)");
    }
    fprintf(out, "\nruns (%zu)\n", data->nRun);
    runs_table(out, data);
    if (data->sweep) {
        fprintf(out, "\npoints (mean ± sample stddev over the repeats that ended ok)\n");
        points_table(out, v, o);
        budgets_line(out, v, o);
        if (!o->nMetric)
            fprintf(out, "  (no metric has a budget or varies across the points; name some "
                         "with --metric)\n");
        return;
    }
    for (size_t r = 0; r < data->nRun; r++)
        run_metrics_table(out, v, r, o);
}

/* --- CSV -------------------------------------------------------------------- */

static void csv_field(FILE *out, const char *s, bool last)
{
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputc(last ? '\n' : ',', out);
}

static void csv_num(FILE *out, double x, bool last)
{
    if (!isnan(x))
        fprintf(out, "%.17g", x);
    fputc(last ? '\n' : ',', out);
}

static void csv_runs(FILE *out, const struct orr_report_view *v,
                     const struct orr_report_options *o)
{
    fputs("run_id,scenario,status,seed,overrides,metric,component,name,unit,value\n", out);
    for (size_t r = 0; r < v->data->nRun; r++) {
        const struct orr_report_run *run = &v->data->aRun[r];
        char ov[4096], num[32], full[512];
        join_lines(run->overrides, ";", ov, sizeof ov);
        for (size_t j = 0; j < run->nMetric; j++) {
            const struct orr_metric *m = &run->aMetric[j];
            orr_report_metric_name(m, full, sizeof full);
            if (o->metric_filter && !chosen(o, (size_t)orr_report_view_metric(v, full)))
                continue;
            snprintf(num, sizeof num, "%" PRId64, run->id);
            csv_field(out, num, false);
            csv_field(out, run->scenario, false);
            csv_field(out, run->status, false);
            snprintf(num, sizeof num, "%" PRIu64, run->seed);
            csv_field(out, num, false);
            csv_field(out, ov, false);
            csv_field(out, full, false);
            csv_field(out, m->component, false);
            csv_field(out, m->name, false);
            csv_field(out, m->unit, false);
            csv_num(out, m->value, true);
        }
    }
}

static void csv_sweep(FILE *out, const struct orr_report_view *v,
                      const struct orr_report_options *o)
{
    fputs("sweep_id,point,", out);
    for (size_t a = 0; a < v->nAxis; a++)
        csv_field(out, v->aAxis[a].key, false);
    fputs("status,runs,n,metric,component,name,unit,mean,min,max,stddev,budget\n", out);
    size_t nM = o->metric_filter ? o->nMetric : v->nMetric;
    for (size_t p = 0; p < v->nPoint; p++) {
        const struct orr_report_point *pt = &v->aPoint[p];
        for (size_t k = 0; k < nM; k++) {
            size_t m = o->metric_filter ? o->aMetric[k] : k;
            const struct orr_report_metric_id *mi = &v->aMetric[m];
            struct orr_report_stat st;
            orr_report_point_stat(v, p, m, &st);
            fprintf(out, "%" PRId64 ",%" PRIu64 ",", v->data->sweep->id, pt->point);
            for (size_t a = 0; a < v->nAxis; a++)
                csv_field(out, pt->aLevel[a] == SIZE_MAX ? "" : v->aAxis[a].aValue[pt->aLevel[a]],
                          false);
            csv_field(out, pt->status, false);
            fprintf(out, "%zu,%zu,", pt->nRepeat, st.n);
            csv_field(out, mi->full, false);
            csv_field(out, mi->component, false);
            csv_field(out, mi->name, false);
            csv_field(out, mi->unit, false);
            csv_num(out, st.mean, false);
            csv_num(out, st.min, false);
            csv_num(out, st.max, false);
            csv_num(out, st.n ? st.stddev : NAN, false);
            csv_field(out, mi->has_budget ? mi->budget_text : "", true);
        }
    }
}

void orr_report_write_csv(FILE *out, const struct orr_report_view *v,
                          const struct orr_report_options *o)
{
    if (v->data->sweep)
        csv_sweep(out, v, o);
    else
        csv_runs(out, v, o);
}
