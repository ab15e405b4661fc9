/* `orrery report --format html`: one self-contained page (inline CSS, inline
 * SVG, no script, no external URL) with a header (database, scenario,
 * build), a sweep's charts and points, the runs, each run's metrics,
 * histograms and budgets, and the topology pictures the caller made.
 *
 * Every piece of text from the database goes through orr_report_escape.
 * The page has no timestamp: the same database (and scenario files) give
 * the same bytes. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "orrery/error.h"

static const char kStyle[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;"
    "margin:0 auto;max-width:1100px;padding:0 20px 40px}\n"
    "h1{font-size:24px;margin:24px 0 8px}h2{font-size:19px;margin:32px 0 10px;"
    "border-bottom:1px solid #ddd;padding-bottom:4px}\n"
    "table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}\n"
    "th,td{padding:3px 10px;text-align:left;vertical-align:top;border-bottom:1px solid #eee}\n"
    "th{background:#f4f4f4}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    "table.meta th{background:none;color:#666;font-weight:normal}\n"
    "tr.bad td{background:#fdecea}.fail{color:#b71c1c;font-weight:bold}.pass{color:#2e7d32}\n"
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}\n"
    "figure{margin:10px 0 24px}figcaption{color:#555;font-size:13px}\n"
    ".note{color:#8a6d00;background:#fff8e1;padding:6px 10px;border-left:3px solid #f0c36d}\n"
    "details{margin:6px 0}summary{cursor:pointer;font-weight:600}\n"
    "svg.chart{max-width:100%;height:auto;background:#fff;font:12px sans-serif}\n"
    "svg.chart .grid line{stroke:#e6e6e6}svg.chart .tick{fill:#555}\n"
    "svg.chart .frame{fill:none;stroke:#999}\n"
    "svg.chart .mean{fill:none;stroke-width:2}svg.chart .err{fill:none;stroke-width:1.5}\n"
    "svg.chart .budget{stroke:#d62728;stroke-width:2;stroke-dasharray:8 5}\n"
    "svg.chart .budget-label{fill:#d62728}svg.chart .legend text{fill:#333}\n"
    "svg.chart .chart-title{font-weight:bold;font-size:14px}\n"
    "svg.chart .axis-title{fill:#333}\n"
    ".topology svg{max-width:100%;height:auto}\n"
    "footer{margin-top:40px;color:#888;font-size:12px}\n";

#define esc orr_report_escape

/* <tr><th>key</th><td>value</td></tr> */
static void meta_row(FILE *out, const char *key, const char *value)
{
    fputs("<tr><th>", out);
    esc(out, key);
    fputs("</th><td>", out);
    esc(out, value);
    fputs("</td></tr>\n", out);
}

static const char *run_scenario(const struct orr_report_run *r) { return r->scenario; }
static const char *run_build(const struct orr_report_run *r) { return r->build_id; }

/* The distinct values of one field of the runs, separated by <br>. */
static void distinct_runs(FILE *out, const struct orr_report_data *d,
                          const char *(*field)(const struct orr_report_run *))
{
    for (size_t i = 0; i < d->nRun; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(field(&d->aRun[i]), field(&d->aRun[j])) == 0;
        if (seen)
            continue;
        fputs(i ? "<br>" : "", out);
        esc(out, field(&d->aRun[i]));
    }
}

/* text with newlines as <br> */
static void esc_lines(FILE *out, const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        orr_oom();
    size_t n = strlen(copy);
    while (n && copy[n - 1] == '\n')
        copy[--n] = 0;
    for (char *line = copy, *nl; line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        esc(out, line);
        if (nl)
            fputs("<br>", out);
    }
    free(copy);
}

static void header(FILE *out, const struct orr_report_view *v)
{
    const struct orr_report_data *d = v->data;
    const char *title = d->sweep ? d->sweep->scenario : d->nRun ? d->aRun[0].scenario : "";
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"orrery report\">\n<title>Orrery report: ",
          out);
    esc(out, title);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>Orrery report", kStyle);
    if (d->sweep)
        fprintf(out, ": sweep %" PRId64, d->sweep->id);
    fputs("</h1>\n<table class=\"meta\">\n", out);
    meta_row(out, "database", d->db_path);
    fputs("<tr><th>scenario</th><td class=\"mono\">", out);
    if (d->sweep)
        esc(out, d->sweep->scenario);
    else
        distinct_runs(out, d, run_scenario);
    fputs("</td></tr>\n<tr><th>build</th><td class=\"mono\">", out);
    distinct_runs(out, d, run_build);
    fputs("</td></tr>\n", out);
    if (d->sweep) {
        const struct orr_report_sweep *s = d->sweep;
        char buf[256];
        fputs("<tr><th>axes</th><td class=\"mono\">", out);
        esc_lines(out, s->axes);
        fputs("</td></tr>\n", out);
        snprintf(buf, sizeof buf, "%zu points x %" PRIu64 " repeats%s, seed %" PRIu64, v->nPoint,
                 s->repeat, s->sample ? " (sampled)" : "", s->seed);
        meta_row(out, "plan", buf);
        meta_row(out, "created", s->created_at);
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%zu", d->nRun);
    meta_row(out, "runs", buf);
    fputs("</table>\n</header>\n", out);
}

/* --- sweep: charts and points --------------------------------------------- */

static void charts(FILE *out, const struct orr_report_view *v, const struct orr_report_options *o)
{
    fputs("<section id=\"charts\">\n<h2>Charts</h2>\n", out);
    if (!v->nAxis || !v->aAxis[o->x_axis].nValue) {
        fputs("<p class=\"note\">This sweep has no axis values to chart.</p>\n</section>\n", out);
        return;
    }
    if (!o->nMetric)
        fputs("<p class=\"note\">No metric has a budget or varies across the points; name "
              "metrics with <code>--metric COMPONENT.NAME</code>.</p>\n",
              out);
    for (size_t k = 0; k < o->nMetric; k++) {
        const struct orr_report_metric_id *mi = &v->aMetric[o->aMetric[k]];
        fputs("<figure>\n", out);
        orr_report_write_chart(out, v, o->aMetric[k], o->x_axis);
        fputs("<figcaption><code>", out);
        esc(out, mi->full);
        fputs("</code> against <code>", out);
        esc(out, v->aAxis[o->x_axis].key);
        fputs("</code>", out);
        if (mi->has_budget) {
            fputs("; budget <code>", out);
            esc(out, mi->budget_text);
            fputs("</code>", out);
        }
        fputs("</figcaption>\n</figure>\n", out);
    }
    fputs("</section>\n", out);
}

static void points(FILE *out, const struct orr_report_view *v, const struct orr_report_options *o)
{
    fputs("<section id=\"points\">\n<h2>Points</h2>\n<p>Mean &#177; sample standard deviation "
          "over the repeats that ended ok; n is their number.</p>\n<table>\n<tr><th>point</th>",
          out);
    for (size_t a = 0; a < v->nAxis; a++) {
        fputs("<th class=\"mono\">", out);
        esc(out, v->aAxis[a].key);
        fputs("</th>", out);
    }
    fputs("<th>status</th><th>n</th>", out);
    for (size_t k = 0; k < o->nMetric; k++) {
        const struct orr_report_metric_id *mi = &v->aMetric[o->aMetric[k]];
        fputs("<th class=\"mono\">", out);
        esc(out, mi->full);
        fputs("</th>", out);
    }
    fputs("</tr>\n", out);
    for (size_t p = 0; p < v->nPoint; p++) {
        const struct orr_report_point *pt = &v->aPoint[p];
        bool ok = strcmp(pt->status, "ok") == 0;
        fprintf(out, "<tr%s><td class=\"num\">%" PRIu64 "</td>", ok ? "" : " class=\"bad\"",
                pt->point);
        for (size_t a = 0; a < v->nAxis; a++) {
            fputs("<td class=\"mono\">", out);
            esc(out, pt->aLevel[a] == SIZE_MAX ? "?" : v->aAxis[a].aValue[pt->aLevel[a]]);
            fputs("</td>", out);
        }
        fputs("<td>", out);
        esc(out, pt->status);
        fprintf(out, "</td><td class=\"num\">%zu</td>", pt->nOk);
        for (size_t k = 0; k < o->nMetric; k++) {
            const struct orr_report_metric_id *mi = &v->aMetric[o->aMetric[k]];
            struct orr_report_stat st;
            char cell[128];
            orr_report_point_stat(v, p, o->aMetric[k], &st);
            orr_report_format_stat(&st, mi->unit, cell, sizeof cell);
            fputs("<td class=\"num\">", out);
            esc(out, cell);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</table>\n</section>\n", out);
}

/* --- runs ----------------------------------------------------------------- */

static void runs(FILE *out, const struct orr_report_data *d)
{
    fputs("<section id=\"runs\">\n<h2>Runs</h2>\n<table>\n<tr><th>id</th><th>scenario</th>"
          "<th>status</th><th>stop reason</th><th>seed</th><th>overrides</th><th>sim time</th>"
          "<th>events</th><th>wall</th><th>digest</th></tr>\n",
          out);
    for (size_t i = 0; i < d->nRun; i++) {
        const struct orr_report_run *r = &d->aRun[i];
        char t[64];
        bool ok = strcmp(r->status, "ok") == 0;
        fprintf(out, "<tr%s><td class=\"num\"><a href=\"#run-%" PRId64 "\">%" PRId64 "</a></td>"
                     "<td class=\"mono\">", ok ? "" : " class=\"bad\"", r->id, r->id);
        esc(out, r->scenario);
        fputs("</td><td>", out);
        esc(out, r->status);
        fputs("</td><td>", out);
        esc(out, r->stop_reason);
        fprintf(out, "</td><td class=\"num\">%" PRIu64 "</td><td class=\"mono\">", r->seed);
        esc_lines(out, r->overrides);
        orr_report_format_value((double)r->sim_time_ps, "ps", t, sizeof t);
        fputs("</td><td class=\"num\">", out);
        esc(out, t);
        fprintf(out, "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%.3g s</td>"
                     "<td class=\"mono\">", r->events, r->wall_time_s);
        esc(out, r->digest);
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n</section>\n", out);
}

static bool chosen(const struct orr_report_options *o, long m)
{
    for (size_t i = 0; i < o->nMetric; i++)
        if ((long)o->aMetric[i] == m)
            return true;
    return false;
}

static void run_metrics(FILE *out, const struct orr_report_view *v, const struct orr_report_run *r,
                        const struct orr_report_options *o)
{
    fputs("<table>\n<tr><th>component</th><th>metric</th><th>value</th><th>raw</th>"
          "<th>unit</th></tr>\n", out);
    for (size_t j = 0; j < r->nMetric; j++) {
        const struct orr_metric *m = &r->aMetric[j];
        char full[512], val[64], raw[40];
        orr_report_metric_name(m, full, sizeof full);
        if (o->metric_filter && !chosen(o, orr_report_view_metric(v, full)))
            continue;
        orr_report_format_value(m->value, m->unit, val, sizeof val);
        snprintf(raw, sizeof raw, isnan(m->value) ? "-" : "%.17g", m->value);
        fputs("<tr><td class=\"mono\">", out);
        esc(out, m->component);
        fputs("</td><td class=\"mono\">", out);
        esc(out, m->name);
        fputs("</td><td class=\"num\">", out);
        esc(out, val);
        fprintf(out, "</td><td class=\"num\">%s</td><td>", raw);
        esc(out, m->unit);
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n", out);
}

static void run_hists(FILE *out, const struct orr_report_run *r)
{
    if (!r->nHist)
        return;
    fputs("<table>\n<tr><th>component</th><th>histogram</th><th>count</th><th>min</th>"
          "<th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n",
          out);
    for (size_t i = 0; i < r->nHist; i++) {
        const struct orr_hist_summary *h = &r->aHist[i];
        const double aVal[] = {(double)h->min, h->mean, (double)h->p50, (double)h->p90,
                               (double)h->p99, (double)h->p999, (double)h->max};
        fputs("<tr><td class=\"mono\">", out);
        esc(out, h->component);
        fputs("</td><td class=\"mono\">", out);
        esc(out, h->name);
        fprintf(out, "</td><td class=\"num\">%" PRIu64 "</td>", h->count);
        for (size_t k = 0; k < sizeof aVal / sizeof aVal[0]; k++) {
            char buf[64];
            orr_report_format_value(aVal[k], h->unit, buf, sizeof buf);
            fputs("<td class=\"num\">", out);
            esc(out, buf);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</table>\n", out);
}

static void run_budgets(FILE *out, const struct orr_report_run *r)
{
    if (!r->nBudget)
        return;
    fputs("<table>\n<tr><th>budget</th><th>bound</th><th>value</th><th>margin</th>"
          "<th>result</th></tr>\n", out);
    for (size_t i = 0; i < r->nBudget; i++) {
        const struct orr_budget_row *b = &r->aBudget[i];
        char val[64], margin[64];
        orr_report_format_value(b->value, b->unit, val, sizeof val);
        orr_report_format_value(b->margin, b->unit, margin, sizeof margin);
        fputs("<tr><td class=\"mono\">", out);
        esc(out, b->metric);
        fputs("</td><td class=\"mono\">", out);
        esc(out, b->bound);
        fputs("</td><td class=\"num\">", out);
        esc(out, val);
        fputs("</td><td class=\"num\">", out);
        esc(out, margin);
        fprintf(out, "</td><td class=\"%s\">%s</td></tr>\n", b->pass ? "pass" : "fail",
                b->pass ? "PASS" : "FAIL");
    }
    fputs("</table>\n", out);
}

static void run_details(FILE *out, const struct orr_report_view *v,
                        const struct orr_report_options *o)
{
    const struct orr_report_data *d = v->data;
    fputs("<section id=\"details\">\n<h2>Per-run metrics</h2>\n", out);
    if (o->metric_filter)
        fputs("<p>Only the metrics named with <code>--metric</code>.</p>\n", out);
    for (size_t i = 0; i < d->nRun; i++) {
        const struct orr_report_run *r = &d->aRun[i];
        fprintf(out, "<details id=\"run-%" PRId64 "\"%s>\n<summary>run %" PRId64 ": ", r->id,
                d->nRun <= 3 ? " open" : "", r->id);
        esc(out, r->status);
        fprintf(out, ", seed %" PRIu64, r->seed);
        if (*r->overrides) {
            char *ov = strdup(r->overrides);
            if (!ov)
                orr_oom();
            for (char *c = ov; *c; c++)
                if (*c == '\n')
                    *c = c[1] ? ' ' : 0;
            fputs(", ", out);
            esc(out, ov);
            free(ov);
        }
        fprintf(out, " (%zu metrics, %zu histograms, %zu budgets)</summary>\n", r->nMetric,
                r->nHist, r->nBudget);
        run_budgets(out, r);
        run_metrics(out, v, r, o);
        if (!o->metric_filter)
            run_hists(out, r);
        fputs("</details>\n", out);
    }
    fputs("</section>\n", out);
}

static void topology(FILE *out, const struct orr_report_options *o)
{
    fputs("<section id=\"topology\">\n<h2>Topology</h2>\n", out);
    if (!o->nTopology)
        fputs("<p class=\"note\">No topology: no scenario to draw.</p>\n", out);
    for (size_t i = 0; i < o->nTopology; i++) {
        const struct orr_report_topology *t = &o->aTopology[i];
        fputs("<figure class=\"topology\">\n", out);
        if (t->svg)
            fputs(t->svg, out);
        fputs("<figcaption><code>", out);
        esc(out, t->scenario);
        fprintf(out, "</code>, built with the overrides of run %" PRId64 "</figcaption>\n",
                t->run_id);
        if (t->note) {
            fputs("<p class=\"note\">", out);
            esc(out, t->note);
            fputs("</p>\n", out);
        }
        fputs("</figure>\n", out);
    }
    fputs("</section>\n", out);
}

void orr_report_write_html(FILE *out, const struct orr_report_view *v,
                           const struct orr_report_options *o)
{
    header(out, v);
    if (v->data->sweep) {
        charts(out, v, o);
        points(out, v, o);
    }
    runs(out, v->data);
    topology(out, o);
    run_details(out, v, o);
    fputs("<footer>Written by <code>orrery report</code> from the results database; the "
          "page depends only on its contents (no timestamp).</footer>\n</body>\n</html>\n",
          out);
}
