/* `orrery run`: build a scenario, run it, print a summary, store the run in
 * the results database and optionally write a trace.
 *
 * Order matters for "nothing half-written": the scenario is validated, its
 * files checked (no output may be an input), the trace started (as
 * PATH.tmp.PID) and the database opened before anything runs;
 * the trace is renamed into place and the run row committed only after the
 * run ends. Budgets (docs/budgets.md) name metrics the scenario's types
 * declare (orr_scenario_open refuses others before anything is opened);
 * they are checked between the end of the run and those writes: a budget
 * whose metric the run did not produce is bad input and leaves nothing
 * behind; a budget that fails is stored with the run and makes the exit
 * status 1. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hw/registry.h"
#include "orrery/budget.h"
#include "orrery/checkpoint.h"
#include "orrery/error.h"
#include "orrery/json.h"
#include "orrery/results.h"
#include "orrery/scenario.h"
#include "orrery/systemc.h"
#include "orrery/units.h"
#include "orrery/version.h"

static const char run_help[] =
    "Usage: orrery run SCENARIO.yaml [options]\n"
    "       orrery run --restore FILE [--db PATH | --no-db] [--quiet] [--json]\n"
    "\n"
    "Run a scenario: print a summary of its metrics and its trace digest, and\n"
    "store the run (identity, status, metrics, histograms) in the results DB.\n"
    "If the scenario has `budgets:`, each is checked after the run and shown\n"
    "in a table (budget, bound, value, margin, PASS/FAIL; docs/budgets.md).\n"
    "\n"
    "Options:\n"
    "  --seed N          root seed (overrides the scenario's `seed`)\n"
    "  --set KEY=VALUE   override a scenario key, e.g. --set stop.duration=2ms\n"
    "                    (repeatable; KEY is a dotted path, list items by index)\n"
    "  --db PATH         results database (default: $ORRERY_DB, else ./" ORR_RESULTS_DEFAULT_PATH ")\n"
    "  --no-db           do not store the run\n"
    "  --trace FILE      write the run's trace (zstd-compressed) to FILE\n"
    "  --engine E        native (default) or systemc: SystemC's scheduler drives\n"
    "                    time; same trace and digest (docs/systemc.md)\n"
    "  --checkpoint-at TIME  save the run's whole state at simulated TIME (before\n"
    "                    the first event at or after it), then run on as usual\n"
    "  --checkpoint FILE where --checkpoint-at saves (written atomically; the run\n"
    "                    is refused up front if a component type cannot be saved)\n"
    "  --stop-after-checkpoint  end the run once the checkpoint is written\n"
    "                    (nothing stored in the database)\n"
    "  --restore FILE    continue the run saved in FILE: its scenario, overrides\n"
    "                    and seed come from the file; the rest of the run gives\n"
    "                    the digest and metrics of the uninterrupted run. Refused\n"
    "                    (exit 2) for another build, a changed scenario, or a\n"
    "                    truncated or corrupt file (docs/checkpoint.md)\n"
    "  --quiet, -q       no progress bar and no summary; errors only\n"
    "  --json            print the result as one JSON object on stdout\n"
    "  --help, -h        this text\n"
    "\n"
    "A progress bar (sim time, events/s, ETA) is drawn on stderr when stdout\n"
    "and stderr are terminals. Ctrl-C, SIGTERM or SIGHUP stops the run; it is\n"
    "stored with status 'interrupted' (and its trace written, as far as it got).\n"
    "\n"
    "Exit status:\n"
    "  0    the run completed and every budget holds\n"
    "  1    a budget failed, or a model reported a failure such as a broken\n"
    "       kernel invariant (the run is stored; status 'failed' for the latter),\n"
    "       or a guest program had not finished when the run ended (stop\n"
    "       reason 'workloads unfinished')\n"
    "  2    bad input or usage (nothing is run or written; a budget naming a\n"
    "       metric no component declares is refused before the run, one whose\n"
    "       declared metric the run did not produce after it, and nothing is\n"
    "       written), or the trace or database could not be written\n"
    "       (nothing half-written is left); also when a model outside Orrery (a\n"
    "       tlm_target's SystemC target) answers with an error: that run is\n"
    "       stored as failed and its trace records the error\n"
    "  130  interrupted by Ctrl-C (SIGINT); 143 by SIGTERM, 129 by SIGHUP\n";

/* The checked budgets of a run, in scenario order. */
struct budget_report {
    struct orr_budget_result *aResult;
    struct orr_budget_row *aRow; /* the same, as stored in the results DB */
    size_t n, nFail;
};

struct run_opts {
    const char *scenario, *db, *trace;
    const char *checkpoint, *restore; /* --checkpoint FILE, --restore FILE */
    const char *checkpoint_at_text;
    orr_time_t checkpoint_at;
    uint64_t seed;
    bool has_seed, no_db, quiet, json, systemc, has_checkpoint_at, stop_after_checkpoint;
    const char **aSet;
    size_t nSet;
};

/* Wall time of --restore's two steps (reading and checking the file;
 * putting the state into the built model), and of --checkpoint's save:
 * shown in the summary and --json for docs/checkpoint.md's figures. */
static struct {
    double load_s, restore_s, save_s;
} g_ckpt_wall;

/* set by SIGINT, SIGTERM or SIGHUP to the signal; the only signal-visible state */
static volatile sig_atomic_t g_interrupted;

static void on_stop_signal(int sig)
{
    g_interrupted = sig;
}

/* The run loop's progress hook: stop on a stop signal; move the progress line
 * (simulated time of the stop time, events per second). */
static int progress_hook(void *arg, const struct orr_sim *s)
{
    if (g_interrupted)
        return 1;
    cli_progress_update(arg, orr_now(s), orr_sim_events(s));
    return 0;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
    enum { OPT_SEED = 256, OPT_SET, OPT_DB, OPT_NODB, OPT_TRACE, OPT_JSON, OPT_ENGINE,
           OPT_CKPT_AT, OPT_CKPT, OPT_CKPT_STOP, OPT_RESTORE };
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, OPT_SEED}, {"set", required_argument, NULL, OPT_SET},
        {"db", required_argument, NULL, OPT_DB},     {"no-db", no_argument, NULL, OPT_NODB},
        {"trace", required_argument, NULL, OPT_TRACE}, {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, OPT_JSON},       {"help", no_argument, NULL, 'h'},
        {"engine", required_argument, NULL, OPT_ENGINE},
        {"checkpoint-at", required_argument, NULL, OPT_CKPT_AT},
        {"checkpoint", required_argument, NULL, OPT_CKPT},
        {"stop-after-checkpoint", no_argument, NULL, OPT_CKPT_STOP},
        {"restore", required_argument, NULL, OPT_RESTORE},
        CLI_LIMIT_LONGOPTS,
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->aSet = calloc((size_t)argc + 1, sizeof *o->aSet);
    if (!o->aSet)
        orr_oom();
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_SEED:
            if (!cli_parse_u64(optarg, &o->seed))
                return cli_usage_error("run", "--seed expects a non-negative integer, got '%s'",
                                       optarg);
            o->has_seed = true;
            break;
        case OPT_SET: o->aSet[o->nSet++] = optarg; break;
        case OPT_DB: o->db = optarg; break;
        case OPT_NODB: o->no_db = true; break;
        case OPT_TRACE: o->trace = optarg; break;
        case 'q': o->quiet = true; break;
        case OPT_JSON: o->json = true; break;
        case OPT_ENGINE:
            if (strcmp(optarg, "native") && strcmp(optarg, "systemc"))
                return cli_usage_error("run", "--engine expects native or systemc, got '%s'",
                                       optarg);
            o->systemc = strcmp(optarg, "systemc") == 0;
            break;
        case OPT_CKPT_AT: {
            const char *why = NULL;
            if (orr_unit_parse(ORR_UNIT_TIME, optarg, &o->checkpoint_at, &why))
                return cli_usage_error("run", "--checkpoint-at expects a time such as 5ms, got "
                                       "'%s'%s%s", optarg, why ? ": " : "", why ? why : "");
            o->has_checkpoint_at = true;
            o->checkpoint_at_text = optarg;
            break;
        }
        case OPT_CKPT: o->checkpoint = optarg; break;
        case OPT_CKPT_STOP: o->stop_after_checkpoint = true; break;
        case OPT_RESTORE: o->restore = optarg; break;
        CLI_LIMIT_CASES:
            if (cli_limit_option("run", ch, optarg) < 0)
                return ORR_EXIT_USAGE;
            break;
        case 'h': fputs(run_help, stdout), fputs(cli_limit_help, stdout); return -1;
        case ':': return cli_usage_error("run", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("run", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (o->has_checkpoint_at != (o->checkpoint != NULL))
        return cli_usage_error("run", "--checkpoint-at and --checkpoint go together");
    if (o->stop_after_checkpoint && !o->checkpoint)
        return cli_usage_error("run", "--stop-after-checkpoint needs --checkpoint-at and "
                               "--checkpoint");
    if (o->systemc && (o->checkpoint || o->restore))
        return cli_usage_error("run", "checkpoints work with the native engine only "
                               "(docs/checkpoint.md)");
    if (o->restore) {
        if (optind < argc)
            return cli_usage_error("run", "--restore takes the scenario from the checkpoint; "
                                   "unexpected argument '%s'", argv[optind]);
        if (o->has_seed || o->nSet)
            return cli_usage_error("run", "--restore takes the seed and overrides from the "
                                   "checkpoint; --seed and --set cannot change them");
        if (o->checkpoint)
            return cli_usage_error("run", "--restore and --checkpoint-at cannot be combined");
        if (o->trace)
            return cli_usage_error("run", "--trace with --restore is not supported yet: a trace "
                                   "starts at the run's first record (docs/checkpoint.md)");
    } else {
        if (optind >= argc)
            return cli_usage_error("run", "missing SCENARIO.yaml");
        if (optind + 1 < argc)
            return cli_usage_error("run", "unexpected argument '%s'", argv[optind + 1]);
        o->scenario = argv[optind];
    }
    if (!o->db)
        o->db = getenv("ORRERY_DB") && *getenv("ORRERY_DB") ? getenv("ORRERY_DB")
                                                            : ORR_RESULTS_DEFAULT_PATH;
    return 0;
}

int cli_trace_open(struct orr_scenario *sc, const char *scenario, const char *path,
                   struct orr_trace_writer **w, struct orr_diag *d)
{
    struct orr_trace_header h = {0};
    char *dump = orr_config_dump(sc->cfg.root);
    char *knob = malloc(strlen(dump) + 8);
    if (!knob)
        orr_oom();
    sprintf(knob, "config=%s", dump);
    free(dump);
    h.scenario = strdup(scenario);
    h.scenario_hash = sc->hash;
    h.seed = sc->seed;
    h.build_id = strdup(orr_build_id());
    h.overrides = strdup(sc->overrides);
    h.checkpoint_every = sc->opt.checkpoint_every;
    const char *const *aModelKnob;
    size_t nModelKnob = orr_sim_knobs(sc->sim, &aModelKnob);
    h.nKnob = 1 + nModelKnob;
    h.aKnob = malloc(h.nKnob * sizeof *h.aKnob);
    if (!h.aKnob || !h.scenario || !h.build_id || !h.overrides)
        orr_oom();
    h.aKnob[0] = knob;
    for (size_t i = 0; i < nModelKnob; i++)
        if (!(h.aKnob[1 + i] = strdup(aModelKnob[i])))
            orr_oom();
    int rc = orr_sim_trace_tables(sc->sim, &h);
    if (rc == 0)
        rc = orr_trace_writer_open(w, path, &h, d);
    orr_trace_header_free(&h);
    return rc;
}

static int open_trace(struct orr_scenario *sc, const struct run_opts *o,
                      struct orr_trace_writer **w, struct orr_diag *d)
{
    return cli_trace_open(sc, o->scenario, o->trace, w, d);
}

/* True if metric m is one of the flattened fields of a histogram (those are
 * shown on the histogram's own line instead). */
static bool from_histogram(const struct orr_metric *m, const struct orr_hist_summary *ah,
                           size_t nh)
{
    for (size_t i = 0; i < nh; i++) {
        size_t len = strlen(ah[i].name);
        if (strcmp(m->component, ah[i].component) == 0 && strncmp(m->name, ah[i].name, len) == 0 &&
            m->name[len] == '.')
            return true;
    }
    return false;
}

/* budget, bound, value, margin, PASS/FAIL; values in the metric's unit. */
static void print_budgets(const struct budget_report *br)
{
    if (!br->n)
        return;
    int w = 24;
    for (size_t i = 0; i < br->n; i++)
        if ((int)strlen(br->aRow[i].metric) > w)
            w = (int)strlen(br->aRow[i].metric);
    printf("\n%-*s %-12s %14s %14s  %s\n", w, "budget", "bound", "value", "margin", "result");
    for (size_t i = 0; i < br->n; i++) {
        const struct orr_budget_row *r = &br->aRow[i];
        char v[48], m[48];
        cli_format_value(r->value, r->unit, v, sizeof v);
        cli_format_value(r->margin, r->unit, m, sizeof m);
        printf("%-*s %-12s %14s %14s  %s\n", w, r->metric, r->bound, v, m,
               r->pass ? "PASS" : "FAIL");
    }
    printf("budgets   %zu of %zu hold%s\n", br->n - br->nFail, br->n,
           br->nFail ? "" : " (all)");
}

/* What models produced for the user (guest programs' writes), per component. */
static void print_output(const struct orr_sim *s)
{
    for (uint32_t i = 0; i < orr_sim_component_count(s); i++) {
        const struct orr_component *c = orr_sim_component(s, i);
        size_t n = 0;
        const char *text = c->type->output ? c->type->output(c, &n) : NULL;
        if (!text || !n)
            continue;
        printf("\noutput of %s:\n", c->path);
        fwrite(text, 1, n, stdout);
        if (text[n - 1] != '\n')
            putchar('\n');
    }
}

static void json_output(struct orr_json *j, const struct orr_sim *s)
{
    orr_json_key(j, "output");
    orr_json_obj_begin(j);
    for (uint32_t i = 0; i < orr_sim_component_count(s); i++) {
        const struct orr_component *c = orr_sim_component(s, i);
        size_t n = 0;
        const char *text = c->type->output ? c->type->output(c, &n) : NULL;
        if (text && n)
            orr_json_key(j, c->path), orr_json_str(j, text);
    }
    orr_json_obj_end(j);
}

static void print_summary(const struct orr_scenario *sc, enum orr_stop_reason why, double wall,
                          const struct run_opts *o, int64_t run_id,
                          const struct budget_report *br)
{
    const struct orr_metric *am;
    const struct orr_hist_summary *ah;
    size_t nm = orr_sim_metrics(sc->sim, &am), nh = orr_sim_histograms(sc->sim, &ah);
    uint64_t ev = orr_sim_events(sc->sim);
    char t[32], v[48];
    cli_format_value((double)orr_now(sc->sim), "ps", t, sizeof t);
    printf("scenario  %s%s%s\n", o->scenario, *sc->name ? "  — " : "", sc->name);
    printf("stopped   %s at %s after %" PRIu64 " events (%.3g s wall, %.3g Mevents/s)\n",
           orr_stop_reason_name(why), t, ev, wall, wall > 0 ? (double)ev / wall / 1e6 : 0.0);
    printf("\n%-24s %-28s %18s\n", "component", "metric", "value");
    /* grouped by component in order of first appearance; every metric is
     * in --json and the database, the table leaves out idle link directions */
    bool *shown = calloc(nm + 1, sizeof *shown);
    if (!shown)
        orr_oom();
    for (size_t g = 0; g < nm; g++) {
        if (shown[g])
            continue;
        const char *comp = am[g].component;
        bool first = true;
        for (size_t i = g; i < nm; i++) {
            if (shown[i] || strcmp(am[i].component, comp))
                continue;
            shown[i] = true;
            if (from_histogram(&am[i], ah, nh) || (am[i].value == 0 && strstr(am[i].name, ".tx_")))
                continue;
            cli_format_value(am[i].value, am[i].unit, v, sizeof v);
            printf("%-24s %-28s %18s\n", first ? comp : "", am[i].name, v);
            first = false;
        }
    }
    free(shown);
    if (nh) {
        printf("\n%-24s %-14s %10s %12s %12s %12s %12s\n", "component", "histogram", "count",
               "mean", "p50", "p99", "max");
        for (size_t i = 0; i < nh; i++) {
            char mean[32], p50[32], p99[32], mx[32];
            cli_format_value(ah[i].mean, ah[i].unit, mean, sizeof mean);
            cli_format_value((double)ah[i].p50, ah[i].unit, p50, sizeof p50);
            cli_format_value((double)ah[i].p99, ah[i].unit, p99, sizeof p99);
            cli_format_value((double)ah[i].max, ah[i].unit, mx, sizeof mx);
            printf("%-24s %-14s %10" PRIu64 " %12s %12s %12s %12s\n", ah[i].component,
                   ah[i].name, ah[i].count, mean, p50, p99, mx);
        }
    }
    print_budgets(br);
    print_output(sc->sim);
    printf("\ndigest    %016" PRIx64 "\n", orr_sim_digest(sc->sim));
    printf("seed      %" PRIu64 "\n", sc->seed);
    if (run_id > 0)
        printf("results   %s (run %" PRId64 ")\n", o->db, run_id);
    if (o->trace)
        printf("trace     %s\n", o->trace);
    if (o->checkpoint)
        printf("checkpoint %s (at %s; saved in %.3g s)\n", o->checkpoint, o->checkpoint_at_text,
               g_ckpt_wall.save_s);
    if (o->restore)
        printf("restored  %s (read in %.3g s, restored in %.3g s)\n", o->restore,
               g_ckpt_wall.load_s, g_ckpt_wall.restore_s);
}

static void json_budgets(struct orr_json *j, const struct budget_report *br)
{
    orr_json_key(j, "budgets");
    orr_json_arr_begin(j);
    for (size_t i = 0; i < br->n; i++) {
        const struct orr_budget_row *r = &br->aRow[i];
        orr_json_obj_begin(j);
        orr_json_key(j, "metric"), orr_json_str(j, r->metric);
        orr_json_key(j, "bound"), orr_json_str(j, r->bound);
        orr_json_key(j, "op"), orr_json_str(j, orr_budget_op_name(br->aResult[i].budget->bound.op));
        orr_json_key(j, "limit"), orr_json_dbl(j, br->aResult[i].budget->bound.value);
        orr_json_key(j, "value"), orr_json_dbl(j, r->value);
        orr_json_key(j, "unit"), orr_json_str(j, r->unit);
        orr_json_key(j, "margin"), orr_json_dbl(j, r->margin);
        orr_json_key(j, "pass"), orr_json_bool(j, r->pass);
        orr_json_obj_end(j);
    }
    orr_json_arr_end(j);
    orr_json_key(j, "budgets_failed"), orr_json_u64(j, br->nFail);
}

static void print_json(const struct orr_scenario *sc, enum orr_stop_reason why, double wall,
                       const struct run_opts *o, int64_t run_id, const char *status,
                       const struct budget_report *br)
{
    const struct orr_metric *am;
    const struct orr_hist_summary *ah;
    size_t nm = orr_sim_metrics(sc->sim, &am), nh = orr_sim_histograms(sc->sim, &ah);
    struct orr_json j;
    orr_json_init(&j, stdout, true);
    orr_json_obj_begin(&j);
    orr_json_key(&j, "scenario"), orr_json_str(&j, o->scenario);
    orr_json_key(&j, "name"), orr_json_str(&j, sc->name);
    orr_json_key(&j, "scenario_hash"), orr_json_hex64(&j, sc->hash);
    orr_json_key(&j, "seed"), orr_json_u64(&j, sc->seed);
    orr_json_key(&j, "overrides"), orr_json_str(&j, sc->overrides);
    orr_json_key(&j, "build_id"), orr_json_str(&j, orr_build_id());
    orr_json_key(&j, "status"), orr_json_str(&j, status);
    orr_json_key(&j, "engine"), orr_json_str(&j, o->systemc ? "systemc" : "native");
    orr_json_key(&j, "stop_reason"), orr_json_str(&j, orr_stop_reason_name(why));
    orr_json_key(&j, "sim_time_ps"), orr_json_u64(&j, orr_now(sc->sim));
    orr_json_key(&j, "events"), orr_json_u64(&j, orr_sim_events(sc->sim));
    orr_json_key(&j, "wall_time_s"), orr_json_dbl(&j, wall);
    orr_json_key(&j, "digest"), orr_json_hex64(&j, orr_sim_digest(sc->sim));
    orr_json_key(&j, "db"), o->no_db ? orr_json_null(&j) : orr_json_str(&j, o->db);
    orr_json_key(&j, "run_id"), run_id > 0 ? orr_json_i64(&j, run_id) : orr_json_null(&j);
    orr_json_key(&j, "trace"), orr_json_str(&j, o->trace);
    orr_json_key(&j, "checkpoint"), orr_json_str(&j, o->checkpoint);
    orr_json_key(&j, "restore"), orr_json_str(&j, o->restore);
    if (o->checkpoint)
        orr_json_key(&j, "checkpoint_save_s"), orr_json_dbl(&j, g_ckpt_wall.save_s);
    if (o->restore) {
        orr_json_key(&j, "restore_read_s"), orr_json_dbl(&j, g_ckpt_wall.load_s);
        orr_json_key(&j, "restore_s"), orr_json_dbl(&j, g_ckpt_wall.restore_s);
    }
    orr_json_key(&j, "metrics");
    orr_json_arr_begin(&j);
    for (size_t i = 0; i < nm; i++) {
        orr_json_obj_begin(&j);
        orr_json_key(&j, "component"), orr_json_str(&j, am[i].component);
        orr_json_key(&j, "name"), orr_json_str(&j, am[i].name);
        orr_json_key(&j, "value"), orr_json_dbl(&j, am[i].value);
        orr_json_key(&j, "unit"), orr_json_str(&j, am[i].unit);
        orr_json_obj_end(&j);
    }
    orr_json_arr_end(&j);
    orr_json_key(&j, "histograms");
    orr_json_arr_begin(&j);
    for (size_t i = 0; i < nh; i++) {
        orr_json_obj_begin(&j);
        orr_json_key(&j, "component"), orr_json_str(&j, ah[i].component);
        orr_json_key(&j, "name"), orr_json_str(&j, ah[i].name);
        orr_json_key(&j, "unit"), orr_json_str(&j, ah[i].unit);
        orr_json_key(&j, "count"), orr_json_u64(&j, ah[i].count);
        orr_json_key(&j, "min"), orr_json_u64(&j, ah[i].min);
        orr_json_key(&j, "mean"), orr_json_dbl(&j, ah[i].mean);
        orr_json_key(&j, "p50"), orr_json_u64(&j, ah[i].p50);
        orr_json_key(&j, "p90"), orr_json_u64(&j, ah[i].p90);
        orr_json_key(&j, "p99"), orr_json_u64(&j, ah[i].p99);
        orr_json_key(&j, "p999"), orr_json_u64(&j, ah[i].p999);
        orr_json_key(&j, "max"), orr_json_u64(&j, ah[i].max);
        orr_json_obj_end(&j);
    }
    orr_json_arr_end(&j);
    json_budgets(&j, br);
    json_output(&j, sc->sim);
    orr_json_obj_end(&j);
    orr_json_end(&j);
}

static int store_run(struct orr_results *db, const struct orr_scenario *sc, const char *status,
                     enum orr_stop_reason why, double wall, const struct run_opts *o,
                     const struct budget_report *br, int64_t *run_id, struct orr_diag *d)
{
    struct orr_run_record r = {
        .scenario = o->scenario, .scenario_hash = sc->hash, .overrides = sc->overrides,
        .seed = sc->seed, .build_id = orr_build_id(), .status = status,
        .stop_reason = orr_stop_reason_name(why),
        .sim_time = orr_now(sc->sim), .wall_time_s = wall, .events = orr_sim_events(sc->sim),
        .digest = orr_sim_digest(sc->sim), .trace_path = o->trace};
    char *effective = orr_config_dump(sc->cfg.root);
    if (!effective)
        orr_oom();
    r.effective_scenario = effective;
    r.nMetric = orr_sim_metrics(sc->sim, &r.aMetric);
    r.nHist = orr_sim_histograms(sc->sim, &r.aHist);
    r.nBudget = br->n;
    r.aBudget = br->aRow;
    int rc = orr_results_write_run(db, &r, run_id, d);
    free(effective);
    return rc;
}

/* Check the scenario's budgets against the finished run's metrics. */
static int check_budgets(const struct orr_scenario *sc, struct budget_report *br,
                         struct orr_diag *d)
{
    const struct orr_metric *am;
    size_t nm = orr_sim_metrics(sc->sim, &am);
    memset(br, 0, sizeof *br);
    int rc = orr_budgets_check(sc->aBudget, sc->nBudget, am, nm, &br->aResult, &br->nFail, d);
    if (rc)
        return rc;
    br->n = sc->nBudget;
    br->aRow = calloc(br->n ? br->n : 1, sizeof *br->aRow);
    if (!br->aRow)
        orr_oom();
    for (size_t i = 0; i < br->n; i++) {
        const struct orr_budget_result *r = &br->aResult[i];
        br->aRow[i] = (struct orr_budget_row){
            .metric = r->budget->metric, .bound = r->budget->text, .value = r->value,
            .unit = r->metric->unit ? r->metric->unit : "", .margin = r->margin,
            .pass = r->pass};
    }
    return 0;
}

int cli_trace_finish(struct orr_scenario *sc, struct orr_trace_writer *w)
{
    struct orr_trace_footer f;
    int rc = orr_sim_trace_footer(sc->sim, &f);
    if (rc == 0)
        rc = orr_trace_writer_finish(w, &f); /* frees w, success or not */
    else
        orr_trace_writer_abort(w);
    orr_trace_footer_free(&f);
    return rc;
}

/* --restore: read the checkpoint and take the run's identity from it; a
 * file of another build is refused before any scenario is read. */
static int restore_identity(struct run_opts *o, struct orr_ckpt_file *f, struct orr_diag *d)
{
    int rc = orr_ckpt_load(f, o->restore, d);
    if (rc)
        return rc;
    if ((rc = orr_ckpt_check_build(f, o->restore, d)))
        return rc;
    o->scenario = f->scenario;
    o->seed = f->seed;
    o->has_seed = true;
    free(o->aSet);
    o->aSet = (const char **)f->aSet;
    o->nSet = f->nSet;
    return 0;
}

/* --checkpoint: refused before the run if the model cannot be saved or the
 * checkpoint time lies at or past the run's end. */
static int checkpoint_refused(const struct orr_scenario *sc, const struct run_opts *o,
                              struct orr_diag *d)
{
    char bad[1024];
    if (orr_ckpt_unsupported(sc->sim, bad, sizeof bad)) {
        orr_diag_error(d, NULL, NULL,
                       "checkpoint: %s %s no save/restore yet (docs/checkpoint.md); nothing "
                       "run or written",
                       bad, strchr(bad, ',') ? "have" : "has");
        return ORR_ENOTSUP;
    }
    orr_time_t end = orr_sim_stop_time(sc->sim);
    if (end && o->checkpoint_at >= end) {
        orr_diag_error(d, NULL, NULL,
                       "--checkpoint-at %s is not before the run's end (stop.duration); "
                       "nothing run or written", o->checkpoint_at_text);
        return ORR_EINVAL;
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct run_opts o;
    struct orr_scenario sc;
    struct orr_diag d;
    struct orr_results *db = NULL;
    struct orr_trace_writer *w = NULL;
    int64_t run_id = 0;
    int exit_code = ORR_EXIT_USAGE;
    struct budget_report br = {0};
    struct orr_ckpt_file ckf = {0};

    orr_diag_init(&d);
    memset(&sc, 0, sizeof sc);
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        free(o.aSet);
        return rc < 0 ? ORR_EXIT_OK : rc;
    }
    orr_systemc_cli_init(); /* a tlm_target loads SystemC even on the native engine */
    double tl = cli_wall_seconds();
    if (o.restore && restore_identity(&o, &ckf, &d))
        goto out;
    g_ckpt_wall.load_s = cli_wall_seconds() - tl;
    if (orr_scenario_open(&sc, o.scenario, o.aSet, o.nSet, o.has_seed ? &o.seed : NULL,
                          orr_builtin_types, &d))
        goto out;
    if (o.restore && sc.hash != ckf.scenario_hash) {
        orr_diag_error(&d, NULL, NULL,
                       "checkpoint '%s' belongs to another version of scenario '%s' (hash "
                       "%016" PRIx64 ", the file now gives %016" PRIx64 "); refusing to restore",
                       o.restore, o.scenario, ckf.scenario_hash, sc.hash);
        goto out;
    }
    if (o.checkpoint && checkpoint_refused(&sc, &o, &d))
        goto out; /* before anything is opened or run */
    if (o.systemc && orr_systemc_check(sc.sim, &d))
        goto out; /* refused before anything is opened or run */
    struct cli_files files = {0};
    cli_files_add_config(&files, &sc.cfg);
    cli_files_add(&files, o.no_db ? NULL : o.db, "the database", ORR_FILE_UPDATE);
    cli_files_add(&files, o.trace, "the trace", ORR_FILE_OUTPUT);
    cli_files_add(&files, o.checkpoint, "the checkpoint", ORR_FILE_OUTPUT);
    cli_files_add(&files, o.restore, "the checkpoint to restore", ORR_FILE_INPUT);
    if (cli_files_check(&files, "run"))
        goto out; /* no output may clobber an input */
    /* the trace first: a trace that cannot be started must not leave a new,
     * empty database behind (a database that cannot be opened removes the
     * trace's temporary file below) */
    if (o.trace && open_trace(&sc, &o, &w, &d))
        goto out;
    if (!o.no_db && orr_results_open(&db, o.db, &d))
        goto out;

    /* the summary follows on stdout, so only when both are a terminal */
    struct cli_progress prog;
    bool want = cli_progress_wanted(o.quiet) && isatty(STDOUT_FILENO) && !o.json;
    cli_progress_start(&prog, want, &(struct cli_progress_spec){
        .verb = "run", .unit = "ps", .rate_unit = "ev", .total = orr_sim_stop_time(sc.sim)});
    cli_progress_label(&prog, "%s", *sc.name ? sc.name : o.scenario);
    struct cli_saved_signals saved;
    g_interrupted = 0;
    cli_catch_stop_signals(on_stop_signal, &saved);
    struct orr_run_hooks hooks = {
        .progress = progress_hook, .arg = &prog, .progress_every = 1u << 16, .trace = w};
    double t0 = cli_wall_seconds();
    enum orr_stop_reason why = ORR_STOP_ERROR;
    int paused = -1;
    if (o.restore) {
        rc = orr_ckpt_restore(sc.sim, &ckf, o.restore, &d);
        g_ckpt_wall.restore_s = cli_wall_seconds() - t0;
    }
    if (rc) {
        cli_restore_stop_signals(&saved);
        cli_progress_clear(&prog);
        goto out; /* the file does not fit the model: nothing ran */
    }
    if (o.checkpoint) {
        paused = orr_sim_run_until(sc.sim, &hooks, o.checkpoint_at);
        double ts = cli_wall_seconds();
        if (paused < 0)
            rc = orr_ckpt_save(sc.sim, &(struct orr_ckpt_identity){
                .build_id = orr_build_id(), .scenario = o.scenario, .scenario_hash = sc.hash,
                .aSet = o.aSet, .nSet = o.nSet, .seed = sc.seed}, o.checkpoint, &d);
        g_ckpt_wall.save_s = cli_wall_seconds() - ts;
    }
    if (rc || (paused < 0 && o.stop_after_checkpoint)) {
        cli_restore_stop_signals(&saved);
        cli_progress_clear(&prog);
        if (rc == 0 && !o.quiet)
            printf("checkpoint %s at %s after %" PRIu64 " events (digest so far %016" PRIx64
                   "; saved in %.3g s)\n", o.checkpoint, o.checkpoint_at_text,
                   orr_sim_events(sc.sim), orr_sim_digest(sc.sim), g_ckpt_wall.save_s);
        exit_code = rc ? ORR_EXIT_USAGE : ORR_EXIT_OK;
        goto out; /* w is aborted below: a trace of half a run is not kept */
    }
    if (paused >= 0) {
        why = (enum orr_stop_reason)paused;
        if (why != ORR_STOP_INTERRUPT && why != ORR_STOP_ERROR) {
            orr_diag_error(&d, NULL, NULL,
                           "no checkpoint written: the run ended (%s) before --checkpoint-at %s; "
                           "nothing stored",
                           orr_stop_reason_name(why), o.checkpoint_at_text);
            cli_restore_stop_signals(&saved);
            cli_progress_clear(&prog);
            goto out;
        }
    } else if (o.systemc) {
        rc = orr_systemc_run(sc.sim, &hooks, &why, &d);
    } else {
        why = orr_sim_run(sc.sim, &hooks);
    }
    double wall = cli_wall_seconds() - t0;
    cli_restore_stop_signals(&saved);
    cli_progress_clear(&prog);
    if (rc)
        goto out; /* the SystemC engine could not run: reason in d */

    if (why == ORR_STOP_ERROR) {
        orr_diag_error(&d, NULL, NULL, "writing trace '%s' failed", o.trace);
        orr_trace_writer_abort(w);
        w = NULL;
        goto out;
    }
    orr_sim_finish(sc.sim);
    if (check_budgets(&sc, &br, &d))
        goto out; /* w is aborted below: nothing is written */
    const char *status = why == ORR_STOP_INTERRUPT ? "interrupted"
                         : why == ORR_STOP_FAILED || why == ORR_STOP_UNFINISHED ? "failed"
                                                   : "ok";
    if (w) {
        rc = cli_trace_finish(&sc, w);
        w = NULL;
        if (rc) {
            orr_diag_error(&d, NULL, NULL, "cannot finish trace '%s': %s", o.trace,
                           orr_strerror(rc));
            goto out;
        }
    }
    if (db && store_run(db, &sc, status, why, wall, &o, &br, &run_id, &d))
        goto out;
    if (o.json)
        print_json(&sc, why, wall, &o, run_id, status, &br);
    else if (!o.quiet)
        print_summary(&sc, why, wall, &o, run_id, &br);
    exit_code = why == ORR_STOP_INTERRUPT ? 128 + (g_interrupted ? (int)g_interrupted : SIGINT)
                : br.nFail ? ORR_EXIT_FAILED : ORR_EXIT_OK;
    if (br.nFail && why != ORR_STOP_INTERRUPT)
        fprintf(stderr, "error: %zu of %zu budgets failed\n", br.nFail, br.n);
    if (why == ORR_STOP_FAILED) {
        fprintf(stderr, "error: %s\n", orr_sim_failure(sc.sim));
        exit_code = orr_sim_failure_is_input(sc.sim) ? ORR_EXIT_USAGE : ORR_EXIT_FAILED;
    }
    if (why == ORR_STOP_UNFINISHED) {
        size_t nLeft = 0;
        const char *first = orr_sim_unfinished(sc.sim, &nLeft);
        fprintf(stderr, "error: the run ended before its programs did: %s%s did not finish "
                "(raise stop.duration, or look for a guest that never exits)\n", first ? first : "?",
                nLeft > 1 ? " and others" : "");
        exit_code = ORR_EXIT_FAILED;
    }
out:
    if (orr_diag_count(&d))
        orr_diag_print(&d, stderr);
    if (w)
        orr_trace_writer_abort(w);
    orr_results_close(db);
    free(br.aResult);
    free(br.aRow);
    orr_scenario_close(&sc);
    orr_diag_free(&d);
    if ((void *)o.aSet != (void *)ckf.aSet) /* --restore's belong to ckf */
        free(o.aSet);
    orr_ckpt_file_free(&ckf);
    return exit_code;
}
