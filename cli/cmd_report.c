/* `orrery report`: the results database as a terminal table, CSV or one
 * self-contained HTML page with charts of a sweep (rendering in
 * analysis/report*.c; docs/report.md).
 *
 * Order of work, so that bad input writes nothing:
 *   1. parse options; 2. load the selection read-only and build the view
 *   (unknown sweep, run or metric: exit 2); 3. for HTML, rebuild each
 *   scenario (not run) to draw its topology: a scenario that is gone or no
 *   longer builds becomes a note in the page, not an error; 4. render into
 *   a temporary file beside FILE and rename it (orr_outfile; FILE may not be
 *   the database or a scenario drawn), or to standard output. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/graph.h"
#include "analysis/report.h"
#include "cli.h"
#include "hw/registry.h"
#include "orrery/error.h"
#include "orrery/results.h"
#include "orrery/scenario.h"

static const char report_help[] =
    "Usage: orrery report [--db FILE] [--sweep ID | --run ID... | --last N]\n"
    "                     [--format table|csv|html] [-o FILE]\n"
    "                     [--metric COMPONENT.NAME]... [--x KEY]\n"
    "\n"
    "Show what the results database holds: the runs (id, scenario, status, seed,\n"
    "overrides, simulated and wall time, digest) and their metrics; for a sweep,\n"
    "its points (axis values against the chosen metrics, mean +- stddev over the\n"
    "repeats). With no selection: the newest sweep if the newest run belongs to\n"
    "one, else the last 10 runs.\n"
    "\n"
    "Options:\n"
    "  --db FILE          results database (default: $ORRERY_DB, else ./" ORR_RESULTS_DEFAULT_PATH ")\n"
    "  --sweep ID         report on sweep ID\n"
    "  --run ID[,ID...]   report on these runs (repeatable)\n"
    "  --last N           report on the newest N runs\n"
    "  --format FMT       table (default), csv, or html: one self-contained page\n"
    "                     with SVG charts of each metric against a sweep axis, the\n"
    "                     points, the runs, their metrics, histograms and budgets,\n"
    "                     and the scenario's topology. Default from FILE's\n"
    "                     extension (.html .htm .csv), else table\n"
    "  -o, --output FILE  write FILE (via FILE.tmp.PID, renamed when complete;\n"
    "                     never the database itself); default or '-': standard\n"
    "                     output\n"
    "  --metric NAME      a metric to chart and tabulate, as `orrery run` names it\n"
    "                     (sink0.latency.p99); repeatable. Default: every metric\n"
    "                     with a budget, else up to 4 that vary across the points\n"
    "  --x KEY            the sweep axis on the charts' x axis (default: the first);\n"
    "                     the other axes make one line each\n"
    "  --help, -h         this text\n"
    "\n"
    "Exit status: 0 written; 2 bad input or usage (a missing or empty database,\n"
    "an unknown sweep, run, metric or axis, a database from a newer orrery), or\n"
    "FILE could not be written.\n";

#define MAX_CHARTS 4    /* default number of varying metrics charted */
#define MAX_TOPOLOGY 3  /* distinct scenarios drawn */

enum report_format { FMT_TABLE, FMT_CSV, FMT_HTML };

struct report_opts {
    const char *db, *output, *x;
    int64_t sweep;
    int64_t *aRunId;
    size_t nRunId;
    uint64_t last;
    enum report_format format;
    bool has_format;
    const char **aMetric;
    size_t nMetric;
};

/* --run 3 --run 4,5: append each id. */
static bool parse_run_ids(const char *arg, struct report_opts *o, size_t cap)
{
    char *copy = strdup(arg), *save = NULL;
    bool ok = copy != NULL;
    for (char *tok = strtok_r(copy, ",", &save); ok && tok; tok = strtok_r(NULL, ",", &save)) {
        uint64_t id;
        if (!cli_parse_u64(tok, &id) || id == 0 || id > INT64_MAX || o->nRunId == cap)
            ok = false;
        else
            o->aRunId[o->nRunId++] = (int64_t)id;
    }
    free(copy);
    return ok;
}

static bool format_from_name(const char *s, enum report_format *f)
{
    static const char *const aName[] = {"table", "csv", "html"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, aName[i]) == 0) {
            *f = (enum report_format)i;
            return true;
        }
    return false;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static int parse_args(int argc, char **argv, struct report_opts *o)
{
    enum { OPT_DB = 256, OPT_SWEEP, OPT_RUN, OPT_LAST, OPT_FORMAT, OPT_METRIC, OPT_X };
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},         {"sweep", required_argument, NULL, OPT_SWEEP},
        {"run", required_argument, NULL, OPT_RUN},       {"last", required_argument, NULL, OPT_LAST},
        {"format", required_argument, NULL, OPT_FORMAT}, {"output", required_argument, NULL, 'o'},
        {"metric", required_argument, NULL, OPT_METRIC}, {"x", required_argument, NULL, OPT_X},
        {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0}};
    size_t cap = 1; /* run ids: at most one per two characters of the arguments */
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) / 2 + 1;
    o->aRunId = calloc(cap, sizeof *o->aRunId);
    o->aMetric = calloc((size_t)argc + 1, sizeof *o->aMetric);
    if (!o->aRunId || !o->aMetric)
        orr_oom();
    int ch, nSelect = 0;
    bool has_run = false;
    uint64_t u;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_DB: o->db = optarg; break;
        case 'o': o->output = optarg; break;
        case OPT_X: o->x = optarg; break;
        case OPT_METRIC: o->aMetric[o->nMetric++] = optarg; break;
        case OPT_SWEEP:
            if (!cli_parse_u64(optarg, &u) || u == 0 || u > INT64_MAX)
                return cli_usage_error("report", "--sweep needs a sweep id, not '%s'", optarg);
            o->sweep = (int64_t)u;
            nSelect++;
            break;
        case OPT_RUN:
            if (!parse_run_ids(optarg, o, cap))
                return cli_usage_error("report", "--run needs run ids (3 or 3,4,5), not '%s'",
                                       optarg);
            nSelect += !has_run;
            has_run = true;
            break;
        case OPT_LAST:
            if (!cli_parse_u64(optarg, &o->last) || o->last == 0)
                return cli_usage_error("report", "--last needs a positive count, not '%s'",
                                       optarg);
            nSelect++;
            break;
        case OPT_FORMAT:
            if (!format_from_name(optarg, &o->format))
                return cli_usage_error("report", "unknown --format '%s'; expected table, csv "
                                       "or html", optarg);
            o->has_format = true;
            break;
        case 'h': fputs(report_help, stdout); return -1;
        case ':': return cli_usage_error("report", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
    if (nSelect > 1)
        return cli_usage_error("report", "give one of --sweep, --run and --last");
    if (!o->has_format && o->output)
        o->format = ends_with(o->output, ".html") || ends_with(o->output, ".htm") ? FMT_HTML
                    : ends_with(o->output, ".csv")                                ? FMT_CSV
                                                                                  : FMT_TABLE;
    if (!o->db)
        o->db = getenv("ORRERY_DB") && *getenv("ORRERY_DB") ? getenv("ORRERY_DB")
                                                            : ORR_RESULTS_DEFAULT_PATH;
    return 0;
}

/* --- topology pictures ------------------------------------------------------ */

struct topo_set {
    size_t n;
    struct orr_report_topology a[MAX_TOPOLOGY];
    char *aSvg[MAX_TOPOLOGY], *aNote[MAX_TOPOLOGY];
};

static char *xstrdup(const char *s)
{
    char *c = strdup(s);
    if (!c)
        orr_oom();
    return c;
}

/* Build the run's scenario with its overrides (not run) and draw it; on any
 * problem leave the picture out and say why. */
static void draw_topology(const struct orr_report_run *run, char **svg, char **note)
{
    struct stat sb;
    char msg[1024];
    *svg = *note = NULL;
    if (stat(run->scenario, &sb) != 0) {
        snprintf(msg, sizeof msg, "The scenario file '%s' is not there any more (a relative "
                 "path is relative to where the run was started), so the topology is not drawn.",
                 run->scenario);
        *note = xstrdup(msg);
        return;
    }
    size_t nSet = 0;
    char *ov = xstrdup(run->overrides), *save = NULL;
    const char **aSet = calloc(strlen(ov) + 1, sizeof *aSet);
    if (!aSet)
        orr_oom();
    for (char *line = strtok_r(ov, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        aSet[nSet++] = line;
    struct orr_scenario sc;
    struct orr_diag d;
    orr_diag_init(&d);
    size_t len;
    if (orr_scenario_open(&sc, run->scenario, aSet, nSet, &run->seed, orr_builtin_types, &d) != 0) {
        char why[768] = "unknown error";
        if (d.nMsg)
            orr_diag_format(&d.aMsg[0], why, sizeof why);
        snprintf(msg, sizeof msg, "The scenario no longer builds, so the topology is not drawn: %s",
                 why);
        *note = xstrdup(msg);
    } else if (orr_graph_topology(sc.sim, sc.name && *sc.name ? sc.name : run->scenario,
                                  "svg-inline", svg, &len, &d) != 0) {
        snprintf(msg, sizeof msg, "Graphviz could not draw the topology: %s",
                 d.nMsg ? d.aMsg[0].text : "unknown error");
        *note = xstrdup(msg);
    } else {
        char hash[17];
        snprintf(hash, sizeof hash, "%016" PRIx64, sc.hash);
        if (strcmp(hash, run->scenario_hash) != 0) {
            snprintf(msg, sizeof msg, "The scenario has changed since run %" PRId64
                     " (scenario hash %s then, %s now): this is the machine it builds today.",
                     run->id, run->scenario_hash, hash);
            *note = xstrdup(msg);
        }
    }
    orr_scenario_close(&sc);
    orr_diag_free(&d);
    free(aSet);
    free(ov);
}

/* One picture per distinct scenario path, each with its first run's overrides. */
static void draw_topologies(const struct orr_report_data *data, struct topo_set *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < data->nRun && t->n < MAX_TOPOLOGY; i++) {
        const struct orr_report_run *r = &data->aRun[i];
        bool seen = false;
        for (size_t j = 0; j < t->n && !seen; j++)
            seen = strcmp(t->a[j].scenario, r->scenario) == 0;
        if (seen)
            continue;
        draw_topology(r, &t->aSvg[t->n], &t->aNote[t->n]);
        t->a[t->n] = (struct orr_report_topology){r->scenario, r->id, t->aSvg[t->n],
                                                   t->aNote[t->n]};
        t->n++;
    }
}

static void topologies_free(struct topo_set *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->aSvg[i]);
        free(t->aNote[i]);
    }
}

/* --- output ------------------------------------------------------------------ */

static void render(FILE *out, enum report_format f, const struct orr_report_view *v,
                   const struct orr_report_options *o)
{
    if (f == FMT_HTML)
        orr_report_write_html(out, v, o);
    else if (f == FMT_CSV)
        orr_report_write_csv(out, v, o);
    else
        orr_report_write_table(out, v, o);
}

static void print_errors(const struct orr_diag *d)
{
    for (size_t i = 0; i < d->nMsg; i++)
        fprintf(stderr, "orrery report: %s\n", d->aMsg[i].text);
}

static int write_output(const struct report_opts *ro, const struct orr_report_view *v,
                        const struct orr_report_options *o)
{
    if (!ro->output || strcmp(ro->output, "-") == 0) {
        render(stdout, ro->format, v, o);
        return fflush(stdout) == 0 && !ferror(stdout) ? ORR_EXIT_OK : ORR_EXIT_USAGE;
    }
    struct orr_diag d;
    struct orr_outfile out;
    orr_diag_init(&d);
    int rc = orr_outfile_open(&out, ro->output, &d);
    FILE *f = rc ? NULL : orr_outfile_stream(&out);
    if (f) {
        render(f, ro->format, v, o);
        rc = orr_outfile_commit(&out, &d);
    } else {
        orr_outfile_abort(&out);
        rc = rc ? rc : ORR_EIO;
    }
    if (rc) {
        fprintf(stderr, "orrery report: cannot write '%s'\n", ro->output);
        print_errors(&d);
    }
    orr_diag_free(&d);
    return rc ? ORR_EXIT_USAGE : ORR_EXIT_OK;
}

/* -o may not be the database or a scenario the report reads. */
static int check_files(const struct report_opts *ro, const struct orr_report_data *data)
{
    struct cli_files files = {0};
    cli_files_add(&files, ro->db, "the database", ORR_FILE_INPUT);
    for (size_t i = 0; ro->format == FMT_HTML && i < data->nRun; i++)
        cli_files_add(&files, data->aRun[i].scenario, "the scenario", ORR_FILE_INPUT);
    cli_files_add(&files, ro->output, "the output", ORR_FILE_OUTPUT);
    return cli_files_check(&files, "report");
}

/* The x axis: --x, or the first axis. */
static int pick_x(const struct report_opts *ro, const struct orr_report_view *v, size_t *x)
{
    *x = 0;
    if (!ro->x)
        return 0;
    if (!v->data->sweep) {
        fprintf(stderr, "orrery report: --x '%s' needs a sweep; this report is on runs\n", ro->x);
        return ORR_EXIT_USAGE;
    }
    long a = orr_report_view_axis(v, ro->x);
    if (a >= 0) {
        *x = (size_t)a;
        return 0;
    }
    fprintf(stderr, "orrery report: sweep %" PRId64 " has no axis '%s' (axes:", v->data->sweep->id,
            ro->x);
    for (size_t i = 0; i < v->nAxis; i++)
        fprintf(stderr, "%s %s", i ? "," : "", v->aAxis[i].key);
    fprintf(stderr, "%s)\n", v->nAxis ? "" : " none");
    return ORR_EXIT_USAGE;
}

int cmd_report(int argc, char **argv)
{
    struct report_opts ro = {0};
    int rc = parse_args(argc, argv, &ro);
    if (rc) {
        free(ro.aRunId);
        free(ro.aMetric);
        return rc < 0 ? ORR_EXIT_OK : rc;
    }
    struct orr_report_select sel = {ro.sweep, ro.aRunId, ro.nRunId, ro.last};
    struct orr_report_data data;
    struct orr_report_view view = {0};
    struct orr_diag d;
    struct topo_set topo = {0};
    size_t *aChosen = NULL, nChosen = 0, x = 0;
    orr_diag_init(&d);
    rc = ORR_EXIT_USAGE;
    if (orr_report_load(ro.db, &sel, &data, &d) != 0 || orr_report_view_build(&data, &view, &d) != 0 ||
        orr_report_choose_metrics(&view, ro.aMetric, ro.nMetric, MAX_CHARTS, &aChosen, &nChosen,
                                  &d) != 0) {
        print_errors(&d);
        goto out;
    }
    if (pick_x(&ro, &view, &x) != 0 || check_files(&ro, &data) != 0)
        goto out;
    if (ro.format == FMT_HTML)
        draw_topologies(&data, &topo);
    struct orr_report_options o = {aChosen, nChosen, x, ro.nMetric > 0, topo.n, topo.a};
    rc = write_output(&ro, &view, &o);
out:
    topologies_free(&topo);
    free(aChosen);
    orr_report_view_free(&view);
    orr_report_data_free(&data);
    orr_diag_free(&d);
    free(ro.aRunId);
    free(ro.aMetric);
    return rc;
}
