/* `orrery report`, charts: one hand-written SVG of a metric against a sweep
 * axis, for the HTML page. No library, no script: axes with "nice" tick
 * values (1, 2 or 5 times a power of ten, in the display unit), the mean of
 * each point as a marker joined by a line, min..max over the repeats as an
 * error bar, the budget as a dashed horizontal line, and a legend.
 *
 * The other axes of the sweep (all but x) make the series: one line per
 * combination of their values, in order of first appearance. A categorical
 * x axis spaces its values evenly, in order of first appearance; a numeric
 * one is linear in the value.
 *
 * Output is a function of the view only (coordinates printed with %.1f), so
 * the same database gives the same bytes. Class names, for styling and for
 * tests: svg.chart, .pt (a point's marker), .err (an error bar), .mean (a
 * series' line), .budget (the budget line), .grid, .legend. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "orrery/error.h"

/* Geometry, in SVG user units. */
enum {
    W = 720,
    PLOT_LEFT = 90,
    PLOT_RIGHT = W - 30,
    PLOT_TOP = 44,
    PLOT_BOTTOM = 294,
    LEGEND_TOP = 346,
    LEGEND_ROW = 18,
    MAX_TICKS = 7,
};

static const char *const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd",
                                       "#8c564b", "#e377c2", "#17becf", "#7f7f7f"};
#define NPALETTE (sizeof kPalette / sizeof kPalette[0])

/* --- nice numbers (Heckbert, Graphics Gems I) ------------------------------- */

static double nice_number(double x, bool round)
{
    double e = floor(log10(x)), f = x / pow(10, e), nf;
    if (round)
        nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else
        nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * pow(10, e);
}

struct ticks {
    double lo, hi, step; /* the axis spans [lo, hi]; ticks every step */
    int decimals;        /* to print a tick */
};

static void make_ticks(double lo, double hi, struct ticks *t)
{
    if (!(hi > lo)) { /* one value: a range around it */
        double pad = lo == 0 ? 1 : fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    double range = nice_number(hi - lo, false);
    t->step = nice_number(range / (MAX_TICKS - 1), true);
    t->lo = floor(lo / t->step) * t->step;
    t->hi = ceil(hi / t->step) * t->step;
    double d = -floor(log10(t->step));
    t->decimals = d > 0 ? (int)d : 0;
}

static double map(double v, double lo, double hi, double a, double b)
{
    return a + (v - lo) / (hi - lo) * (b - a);
}

static void tick_label(double v, const struct ticks *t, char *buf, size_t n)
{
    if (fabs(v) < t->step * 1e-9)
        v = 0; /* no "-0" */
    snprintf(buf, n, "%.*f", t->decimals, v);
}

/* --- series --------------------------------------------------------------- */

/* Points grouped by the levels of every axis but x. */
struct series {
    size_t nPoint;
    size_t *aPoint; /* point indices, sorted by x level */
};

static bool same_series(const struct orr_report_view *v, size_t x, size_t p, size_t q)
{
    for (size_t a = 0; a < v->nAxis; a++)
        if (a != x && v->aPoint[p].aLevel[a] != v->aPoint[q].aLevel[a])
            return false;
    return true;
}

static size_t build_series(const struct orr_report_view *v, size_t x, struct series **out)
{
    struct series *aS = calloc(v->nPoint + 1, sizeof *aS);
    size_t nS = 0;
    if (!aS)
        orr_oom();
    for (size_t p = 0; p < v->nPoint; p++) {
        if (v->aPoint[p].aLevel[x] == SIZE_MAX)
            continue;
        size_t s = 0;
        while (s < nS && !same_series(v, x, aS[s].aPoint[0], p))
            s++;
        if (s == nS && !(aS[nS++].aPoint = calloc(v->nPoint, sizeof(size_t))))
            orr_oom();
        size_t k = aS[s].nPoint++;
        for (; k > 0 && v->aPoint[aS[s].aPoint[k - 1]].aLevel[x] > v->aPoint[p].aLevel[x]; k--)
            aS[s].aPoint[k] = aS[s].aPoint[k - 1];
        aS[s].aPoint[k] = p;
    }
    *out = aS;
    return nS;
}

static void series_label(FILE *out, const struct orr_report_view *v, size_t x,
                         const struct series *s)
{
    const struct orr_report_point *pt = &v->aPoint[s->aPoint[0]];
    bool first = true;
    for (size_t a = 0; a < v->nAxis; a++) {
        if (a == x)
            continue;
        fprintf(out, "%s", first ? "" : ", ");
        orr_report_escape(out, v->aAxis[a].key);
        fputc('=', out);
        orr_report_escape(out, pt->aLevel[a] == SIZE_MAX ? "?" : v->aAxis[a].aValue[pt->aLevel[a]]);
        first = false;
    }
    if (first)
        fputs("mean", out);
}

/* --- the chart ------------------------------------------------------------ */

struct frame {
    const struct orr_report_axis *ax;
    bool numeric;
    struct ticks xt, yt;
    double xdiv, ydiv;
    const char *xunit, *yunit;
};

static double px_x(const struct frame *f, size_t level)
{
    if (!f->numeric)
        return map((double)level + 0.5, 0, (double)f->ax->nValue, PLOT_LEFT, PLOT_RIGHT);
    return map(f->ax->aNum[level] / f->xdiv, f->xt.lo, f->xt.hi, PLOT_LEFT, PLOT_RIGHT);
}

static double px_y(const struct frame *f, double v)
{
    return map(v / f->ydiv, f->yt.lo, f->yt.hi, PLOT_BOTTOM, PLOT_TOP);
}

/* Value ranges -> display units and ticks. */
static void frame_setup(struct frame *f, const struct orr_report_view *v, size_t m, size_t x)
{
    const struct orr_report_metric_id *mi = &v->aMetric[m];
    double lo = INFINITY, hi = -INFINITY;
    for (size_t p = 0; p < v->nPoint; p++) {
        struct orr_report_stat st;
        orr_report_point_stat(v, p, m, &st);
        if (!st.n || v->aPoint[p].aLevel[x] == SIZE_MAX)
            continue;
        lo = st.min < lo ? st.min : lo;
        hi = st.max > hi ? st.max : hi;
    }
    if (mi->has_budget) {
        lo = mi->bound.value < lo ? mi->bound.value : lo;
        hi = mi->bound.value > hi ? mi->bound.value : hi;
    }
    if (!isfinite(lo))
        lo = hi = 0;
    if (lo > 0 && lo <= 0.5 * hi)
        lo = 0; /* show the origin when the data are not far from it */
    f->yunit = orr_report_scale(mi->unit, fmax(fabs(lo), fabs(hi)), &f->ydiv);
    make_ticks(lo / f->ydiv, hi / f->ydiv, &f->yt);

    f->ax = &v->aAxis[x];
    f->numeric = f->ax->numeric;
    f->xunit = "";
    f->xdiv = 1;
    if (f->numeric) {
        double xlo = f->ax->aNum[0], xhi = f->ax->aNum[f->ax->nValue - 1];
        f->xunit = orr_report_scale(f->ax->unit, fmax(fabs(xlo), fabs(xhi)), &f->xdiv);
        double pad = (xhi - xlo) * 0.05;
        make_ticks((xlo - pad) / f->xdiv, (xhi + pad) / f->xdiv, &f->xt);
    }
}

static void axis_title(FILE *out, const char *name, const char *unit)
{
    orr_report_escape(out, name);
    if (*unit) {
        fputs(" (", out);
        orr_report_escape(out, unit);
        fputc(')', out);
    }
}

static void draw_axes(FILE *out, const struct frame *f, const struct orr_report_view *v,
                      size_t m)
{
    char lab[64];
    fprintf(out, "<g class=\"grid\">\n");
    int nY = (int)llround((f->yt.hi - f->yt.lo) / f->yt.step);
    for (int i = 0; i <= nY; i++) {
        double val = f->yt.lo + i * f->yt.step, y = map(val, f->yt.lo, f->yt.hi, PLOT_BOTTOM, PLOT_TOP);
        tick_label(val, &f->yt, lab, sizeof lab);
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                     "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                PLOT_LEFT, y, PLOT_RIGHT, y, PLOT_LEFT - 6, y + 4, lab);
    }
    if (f->numeric) {
        int nX = (int)llround((f->xt.hi - f->xt.lo) / f->xt.step);
        for (int i = 0; i <= nX; i++) {
            double val = f->xt.lo + i * f->xt.step;
            double x = map(val, f->xt.lo, f->xt.hi, PLOT_LEFT, PLOT_RIGHT);
            tick_label(val, &f->xt, lab, sizeof lab);
            fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                         "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                    x, PLOT_TOP, x, PLOT_BOTTOM, x, PLOT_BOTTOM + 18, lab);
        }
    } else {
        for (size_t i = 0; i < f->ax->nValue; i++) {
            double x = px_x(f, i);
            fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                         "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
                    x, PLOT_BOTTOM, x, PLOT_BOTTOM + 5, x, PLOT_BOTTOM + 18);
            orr_report_escape(out, f->ax->aValue[i]);
            fputs("</text>\n", out);
        }
    }
    fprintf(out, "</g>\n<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n",
            PLOT_LEFT, PLOT_TOP, PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP);
    fprintf(out, "<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
            (PLOT_LEFT + PLOT_RIGHT) / 2, PLOT_BOTTOM + 40);
    axis_title(out, f->ax->key, f->xunit);
    fprintf(out, "</text>\n<text class=\"axis-title\" transform=\"translate(18,%d) rotate(-90)\""
                 " text-anchor=\"middle\">",
            (PLOT_TOP + PLOT_BOTTOM) / 2);
    axis_title(out, v->aMetric[m].name, f->yunit);
    fputs("</text>\n", out);
}

/* A point's marker with a tooltip: the axis value, mean, spread, n. */
static void draw_point(FILE *out, const struct frame *f, const struct orr_report_view *v,
                       size_t p, size_t m, double x, const struct orr_report_stat *st,
                       const char *color)
{
    const struct orr_report_metric_id *mi = &v->aMetric[m];
    double y = px_y(f, st->mean);
    if (st->n > 1 && st->max > st->min) {
        double y0 = px_y(f, st->min), y1 = px_y(f, st->max);
        fprintf(out, "<path class=\"err\" stroke=\"%s\" d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f "
                     "%.1fH%.1f\"/>\n",
                color, x, y0, y1, x - 4, y0, x + 4, x - 4, y1, x + 4);
    }
    char mean[64], lo[64], hi[64], sd[64];
    orr_report_format_value(st->mean, mi->unit, mean, sizeof mean);
    orr_report_format_value(st->min, mi->unit, lo, sizeof lo);
    orr_report_format_value(st->max, mi->unit, hi, sizeof hi);
    orr_report_format_value(st->stddev, mi->unit, sd, sizeof sd);
    fprintf(out, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>point %" PRIu64
                 ": ",
            x, y, color, v->aPoint[p].point);
    for (size_t a = 0; a < v->nAxis; a++) {
        size_t l = v->aPoint[p].aLevel[a];
        fputs(a ? ", " : "", out);
        orr_report_escape(out, v->aAxis[a].key);
        fputc('=', out);
        orr_report_escape(out, l == SIZE_MAX ? "?" : v->aAxis[a].aValue[l]);
    }
    fprintf(out, "\nmean %s (n=%zu, min %s, max %s, stddev %s)</title></circle>\n", mean, st->n,
            lo, hi, sd);
}

static void draw_series(FILE *out, const struct frame *f, const struct orr_report_view *v,
                        size_t m, size_t x, const struct series *s, const char *color)
{
    fprintf(out, "<polyline class=\"mean\" stroke=\"%s\" points=\"", color);
    bool first = true;
    for (size_t i = 0; i < s->nPoint; i++) {
        struct orr_report_stat st;
        orr_report_point_stat(v, s->aPoint[i], m, &st);
        if (!st.n)
            continue;
        fprintf(out, "%s%.1f,%.1f", first ? "" : " ", px_x(f, v->aPoint[s->aPoint[i]].aLevel[x]),
                px_y(f, st.mean));
        first = false;
    }
    fputs("\"/>\n", out);
    for (size_t i = 0; i < s->nPoint; i++) {
        struct orr_report_stat st;
        size_t p = s->aPoint[i];
        orr_report_point_stat(v, p, m, &st);
        if (st.n)
            draw_point(out, f, v, p, m, px_x(f, v->aPoint[p].aLevel[x]), &st, color);
    }
}

static void draw_budget(FILE *out, const struct frame *f, const struct orr_report_metric_id *mi)
{
    double y = px_y(f, mi->bound.value);
    fprintf(out, "<line class=\"budget\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n"
                 "<text class=\"budget-label\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">budget ",
            PLOT_LEFT, y, PLOT_RIGHT, y, PLOT_RIGHT - 4, y - 5);
    orr_report_escape(out, mi->budget_text);
    fputs("</text>\n", out);
}

static void draw_legend(FILE *out, const struct orr_report_view *v, size_t x,
                        const struct series *aS, size_t nS, const struct orr_report_metric_id *mi)
{
    int y = LEGEND_TOP;
    fputs("<g class=\"legend\">\n", out);
    for (size_t s = 0; s < nS; s++, y += LEGEND_ROW) {
        const char *c = kPalette[s % NPALETTE];
        fprintf(out, "<line class=\"mean\" stroke=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                     "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
                c, PLOT_LEFT, y, PLOT_LEFT + 24, y, PLOT_LEFT + 12, y, c, PLOT_LEFT + 32, y + 4);
        series_label(out, v, x, &aS[s]);
        fputs("</text>\n", out);
    }
    fprintf(out, "<path class=\"err\" stroke=\"#444\" d=\"M%d %dV%dM%d %dH%dM%d %dH%d\"/>"
                 "<text x=\"%d\" y=\"%d\">mean of the repeats; bar: min to max</text>\n",
            PLOT_LEFT + 12, y - 6, y + 6, PLOT_LEFT + 8, y - 6, PLOT_LEFT + 16, PLOT_LEFT + 8,
            y + 6, PLOT_LEFT + 16, PLOT_LEFT + 32, y + 4);
    y += LEGEND_ROW;
    if (mi->has_budget) {
        fprintf(out, "<line class=\"budget\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                     "<text x=\"%d\" y=\"%d\">budget ",
                PLOT_LEFT, y, PLOT_LEFT + 24, y, PLOT_LEFT + 32, y + 4);
        orr_report_escape(out, mi->budget_text);
        fputs("</text>\n", out);
    }
    fputs("</g>\n", out);
}

void orr_report_write_chart(FILE *out, const struct orr_report_view *v, size_t m, size_t x)
{
    const struct orr_report_metric_id *mi = &v->aMetric[m];
    struct series *aS;
    size_t nS = build_series(v, x, &aS);
    struct frame f;
    frame_setup(&f, v, m, x);
    int h = LEGEND_TOP + LEGEND_ROW * (int)(nS + 1 + mi->has_budget);
    fprintf(out, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
                 " width=\"%d\" height=\"%d\" role=\"img\">\n<title>",
            W, h, W, h);
    orr_report_escape(out, mi->full);
    fputs(" vs. ", out);
    orr_report_escape(out, f.ax->key);
    fprintf(out, "</title>\n<text class=\"chart-title\" x=\"%d\" y=\"24\" text-anchor=\"middle\">",
            W / 2);
    orr_report_escape(out, mi->full);
    fputs("</text>\n", out);
    draw_axes(out, &f, v, m);
    if (mi->has_budget)
        draw_budget(out, &f, mi);
    for (size_t s = 0; s < nS; s++)
        draw_series(out, &f, v, m, x, &aS[s], kPalette[s % NPALETTE]);
    draw_legend(out, v, x, aS, nS, mi);
    fputs("</svg>\n", out);
    for (size_t s = 0; s < nS; s++)
        free(aS[s].aPoint);
    free(aS);
}
