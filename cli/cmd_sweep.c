/* `orrery sweep`: run a scenario over a grid of overrides (axes), each
 * point and repeat as an ordinary `orrery run` in its own process, several
 * at once, recording the sweep and its points in the results database so an
 * interrupted sweep can be resumed (docs/sweeps.md).
 *
 * The axis grammar, the grid, sampling and the plan of (point, repeat,
 * seed) runs are the engine's (model/sweep.c); this file runs a plan.
 * Order of work, so that bad input runs nothing and writes nothing:
 *   1. parse options and axes, load the scenario;
 *   2. plan: the grid's size and the plan's limits are checked from the
 *      axis sizes, then the sample (if any) is drawn;
 *   3. check every axis value by building the scenario with it applied
 *      (the loader's own messages: key path, "did you mean");
 *   4. open the database and write the sweep with every point 'pending' in
 *      one transaction;
 *   5. run the points, at most -j at once, updating each point's row as its
 *      run ends; Ctrl-C stops launching and lets the running ones stop.
 *
 * A point's run is `orrery run SCENARIO --set KEY=VALUE... --seed S --db DB
 * --quiet --json`: its digest and row are exactly those of the same run
 * typed by hand (DESIGN.md §3), and its run id comes back in the JSON. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "hw/registry.h"
#include "orrery/error.h"
#include "orrery/json.h"
#include "orrery/results.h"
#include "orrery/scenario.h"
#include "orrery/sweep.h"

static const char sweep_help[] =
    "Usage: orrery sweep SCENARIO.yaml [options]\n"
    "       orrery sweep --resume ID [--db FILE] [-j N] [--json] [-q]\n"
    "\n"
    "Run a scenario at every point of a grid of overrides, each point (and\n"
    "repeat) as a separate `orrery run` process, and store the sweep, its\n"
    "points and every run in the results database. Prints the sweep id first,\n"
    "then a table of points (axis values, status, run id, budgets).\n"
    "\n"
    "Options:\n"
    "  --axis KEY=RANGE  an axis (repeatable): START..END:STEP, inclusive, one\n"
    "                    unit for all three (--axis links.0.latency=100ns..400ns:100ns),\n"
    "                    or a list a,b,c (--axis machine.l2.size=256KiB,1MiB).\n"
    "                    Replaces the scenario's `sweep.axes` entry of that KEY\n"
    "  --repeat K        runs per point, seeds S, S+1, ..., S+K-1 (default 1)\n"
    "  --sample N        N distinct random points of the grid, drawn with --seed\n"
    "  --seed S          seed of repeat 0 (default: the scenario's `seed`)\n"
    "  -j N              runs at once (default: online CPUs)\n"
    "  --db FILE         results database (default: $ORRERY_DB, else ./" ORR_RESULTS_DEFAULT_PATH ")\n"
    "  --resume ID       continue sweep ID: rerun its points that did not end ok\n"
    "  --json            print the result as one JSON object on stdout\n"
    "  --quiet, -q       errors only\n"
    "  --help, -h        this text\n"
    "\n"
    "Axes, repeat and sample may also come from the scenario's `sweep:` key.\n"
    "A progress bar (runs done, failures, ETA) is drawn on stderr when it is a\n"
    "terminal. Ctrl-C (or SIGTERM, SIGHUP) stops launching runs, passes the\n"
    "signal to the running ones (they are stored 'interrupted'), waits for\n"
    "them and leaves a sweep that --resume completes.\n"
    "\n"
    "Exit status:\n"
    "  0    every run ended ok and every budget holds\n"
    "  1    a run failed or broke a budget (see the table)\n"
    "  2    bad input or usage: nothing is run or written\n"
    "  130  interrupted by Ctrl-C (SIGINT); 143 by SIGTERM, 129 by SIGHUP\n";

/* One point x repeat: what to run and how it ended. */
struct entry {
    uint64_t point, repeat, seed, grid;
    char *overrides; /* "KEY=VALUE" lines, axis order */
    const char *status;
    int64_t run_id;
    int nBudget, nBudgetFail; /* -1: unknown (skipped on resume) */
    char digest[17];
    double wall;
    bool skipped; /* done before this --resume */
    char *message;
    struct cli_job job;
};

struct sweep_opts {
    const char *scenario, *db;
    const char **aAxis;
    size_t nAxis;
    uint64_t repeat, sample, seed, jobs, resume;
    bool has_repeat, has_sample, has_seed, has_resume, json, quiet;
};

struct sweep {
    struct sweep_opts o;
    struct orr_sweep grid; /* the axes */
    struct orr_sweep_plan plan;
    uint64_t repeat, sample, seed;
    uint64_t base_hash;
    size_t nBudget; /* the scenario's budgets */
    struct entry *aEntry;
    size_t nEntry;
    int64_t id;
    struct orr_results *db;
    bool interrupted;
    int signal; /* the stop signal that interrupted it */
};

/* ------------------------------------------------------------- options */

static int parse_args(int argc, char **argv, struct sweep_opts *o)
{
    enum { OPT_AXIS = 256, OPT_REPEAT, OPT_SAMPLE, OPT_SEED, OPT_DB, OPT_RESUME, OPT_JSON };
    static const struct option longopts[] = {
        {"axis", required_argument, NULL, OPT_AXIS},   {"repeat", required_argument, NULL, OPT_REPEAT},
        {"sample", required_argument, NULL, OPT_SAMPLE}, {"seed", required_argument, NULL, OPT_SEED},
        {"db", required_argument, NULL, OPT_DB},       {"resume", required_argument, NULL, OPT_RESUME},
        {"json", no_argument, NULL, OPT_JSON},         {"quiet", no_argument, NULL, 'q'},
        {"jobs", required_argument, NULL, 'j'},        {"help", no_argument, NULL, 'h'},
        CLI_LIMIT_LONGOPTS,
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->aAxis = calloc((size_t)argc + 1, sizeof *o->aAxis);
    if (!o->aAxis)
        orr_oom();
    o->jobs = cli_online_cpus();
    optind = 1;
    opterr = 0;
    int ch;
    uint64_t *num = NULL;
    const char *what = NULL;
    while ((ch = getopt_long(argc, argv, ":qhj:", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_AXIS: o->aAxis[o->nAxis++] = optarg; continue;
        case OPT_DB: o->db = optarg; continue;
        case OPT_JSON: o->json = true; continue;
        case 'q': o->quiet = true; continue;
        CLI_LIMIT_CASES:
            if (cli_limit_option("sweep", ch, optarg) < 0)
                return ORR_EXIT_USAGE;
            continue;
        case 'h': fputs(sweep_help, stdout), fputs(cli_limit_help, stdout); return -1;
        case ':': return cli_usage_error("sweep", "option '%s' needs a value", argv[optind - 1]);
        case 'j': num = &o->jobs, what = "-j"; break;
        case OPT_REPEAT: num = &o->repeat, what = "--repeat", o->has_repeat = true; break;
        case OPT_SAMPLE: num = &o->sample, what = "--sample", o->has_sample = true; break;
        case OPT_SEED: num = &o->seed, what = "--seed", o->has_seed = true; break;
        case OPT_RESUME: num = &o->resume, what = "--resume", o->has_resume = true; break;
        default: return cli_usage_error("sweep", "unknown option '%s'", argv[optind - 1]);
        }
        bool positive = ch != OPT_SEED;
        if (!cli_parse_u64(optarg, num) || (positive && *num == 0))
            return cli_usage_error("sweep", "%s expects a %s integer, got '%s'", what,
                                   positive ? "positive" : "non-negative", optarg);
    }
    if (o->jobs > 1024)
        return cli_usage_error("sweep", "-j %" PRIu64 " is more than 1024", o->jobs);
    if (optind + 1 < argc)
        return cli_usage_error("sweep", "unexpected argument '%s'", argv[optind + 1]);
    o->scenario = optind < argc ? argv[optind] : NULL;
    if (!o->scenario && !o->has_resume)
        return cli_usage_error("sweep", "missing SCENARIO.yaml");
    if (o->has_resume && (o->nAxis || o->has_repeat || o->has_sample || o->has_seed))
        return cli_usage_error("sweep", "--resume takes the axes, repeat, sample and seed of the "
                                        "stored sweep; drop --axis, --repeat, --sample and --seed");
    if (!o->db)
        o->db = getenv("ORRERY_DB") && *getenv("ORRERY_DB") ? getenv("ORRERY_DB")
                                                            : ORR_RESULTS_DEFAULT_PATH;
    return 0;
}

/* ---------------------------------------------------------------- axes */

/* Value i of axis a, malloc'ed. */
static char *axis_value_dup(const struct orr_sweep_axis *a, uint64_t i)
{
    char *v = malloc(a->valueMax + 1);
    if (!v)
        orr_oom();
    orr_sweep_axis_value(a, i, v, a->valueMax + 1);
    return v;
}

/* "KEY=SPEC" from the command line or the database. */
static int add_axis_arg(struct sweep *sw, const char *arg, const char *origin)
{
    char err[512];
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "orrery sweep: %s '%s': expected KEY=RANGE, e.g. "
                        "machine.l2.size=256KiB,1MiB or links.0.latency=100ns..400ns:100ns\n",
                origin, arg);
        return ORR_EXIT_USAGE;
    }
    char *key = strndup(arg, (size_t)(eq - arg));
    if (!key)
        orr_oom();
    int rc = orr_sweep_add_axis(&sw->grid, key, eq + 1, err, sizeof err);
    if (rc == ORR_ENOMEM)
        orr_oom();
    if (rc)
        fprintf(stderr, "orrery sweep: %s %s: %s\n", origin, key, err);
    free(key);
    return rc ? ORR_EXIT_USAGE : 0;
}

/* The scenario's `sweep.axes`, in file order; errors point into the file
 * (loading the scenario has checked them already). */
static int add_scenario_axes(struct sweep *sw, const struct orr_scenario *sc, struct orr_diag *d)
{
    int rc = orr_sweep_add_axes(&sw->grid, orr_param_map(&sc->sweep, "axes"), "sweep.axes", d);
    if (rc == ORR_ENOMEM)
        orr_oom();
    return rc ? ORR_EXIT_USAGE : 0;
}

/* Build the scenario with each value of each axis applied, so a wrong key
 * or a value of the wrong type is reported before anything runs, in the
 * loader's words (the key path, "did you mean"). */
static int check_axes(const struct sweep *sw, const char *path)
{
    for (size_t i = 0; i < sw->grid.nAxis; i++) {
        const struct orr_sweep_axis *a = &sw->grid.aAxis[i];
        for (uint64_t v = 0; v < a->nValue; v++) {
            struct orr_scenario sc;
            struct orr_diag d;
            orr_diag_init(&d);
            char *value = axis_value_dup(a, v);
            size_t len = strlen(a->key) + strlen(value) + 2;
            char *set = malloc(len);
            if (!set)
                orr_oom();
            snprintf(set, len, "%s=%s", a->key, value);
            const char *sets[] = {set};
            int rc = orr_scenario_open(&sc, path, sets, 1, NULL, orr_builtin_types, &d);
            if (rc) {
                fprintf(stderr, "orrery sweep: axis %s: value '%s' does not fit %s:\n", a->key,
                        value, path);
                orr_diag_print(&d, stderr);
            }
            orr_scenario_close(&sc);
            orr_diag_free(&d);
            free(set);
            free(value);
            if (rc)
                return ORR_EXIT_USAGE;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- the plan */

/* The plan's limits are checked (from the axis sizes) before anything is
 * drawn, formatted or checked against the scenario. */
static int plan(struct sweep *sw)
{
    char err[512];
    int rc = orr_sweep_plan_make(&sw->plan, &sw->grid, sw->sample, sw->repeat, sw->seed, err,
                                 sizeof err);
    if (rc == ORR_ENOMEM)
        orr_oom();
    if (rc) {
        fprintf(stderr, "orrery sweep: %s\n", err);
        return ORR_EXIT_USAGE;
    }
    return 0;
}

static char *overrides_dup(const struct orr_sweep *grid, uint64_t g)
{
    size_t len = orr_sweep_overrides(grid, g, NULL, 0) + 1;
    char *s = malloc(len);
    if (!s)
        orr_oom();
    orr_sweep_overrides(grid, g, s, len);
    return s;
}

/* One entry per planned run, in the plan's order (point-major), all
 * pending. */
static void make_entries(struct sweep *sw)
{
    sw->nEntry = (size_t)sw->plan.nRun;
    sw->aEntry = calloc(sw->nEntry ? sw->nEntry : 1, sizeof *sw->aEntry);
    if (!sw->aEntry)
        orr_oom();
    for (size_t k = 0; k < sw->nEntry; k++) {
        struct orr_sweep_run r = orr_sweep_plan_run(&sw->plan, k);
        struct entry *e = &sw->aEntry[k];
        e->point = r.point, e->repeat = r.repeat, e->grid = r.grid, e->seed = r.seed;
        e->status = ORR_SWEEP_PENDING;
        e->nBudget = e->nBudgetFail = -1;
        e->overrides = overrides_dup(&sw->grid, r.grid);
    }
}

/* ---------------------------------------------------------------- running */

static char **run_argv(const struct sweep *sw, const struct entry *e, const char *scenario)
{
    size_t n = 12 + 2 * CLI_LIMIT_COUNT + 2 * sw->grid.nAxis, k = 0;
    char **av = calloc(n, sizeof *av);
    char seed[24];
    if (!av)
        orr_oom();
    snprintf(seed, sizeof seed, "%" PRIu64, e->seed);
    const char *head[] = {"orrery", "run", scenario};
    for (size_t i = 0; i < 3; i++)
        av[k++] = strdup(head[i]);
    for (const char *s = e->overrides; *s;) {
        size_t len = strcspn(s, "\n");
        av[k++] = strdup("--set");
        av[k++] = strndup(s, len);
        s += len + (s[len] == '\n');
    }
    const char *tail[] = {"--seed", seed, "--db", sw->o.db, "--quiet", "--json"};
    for (size_t i = 0; i < 6; i++)
        av[k++] = strdup(tail[i]);
    cli_limit_argv(av, &k);
    for (size_t i = 0; i < k; i++)
        if (!av[i])
            orr_oom();
    return av;
}

static void free_argv(char **av)
{
    for (size_t i = 0; av && av[i]; i++)
        free(av[i]);
    free(av);
}

/* What the run's exit status and JSON say about the point. */
static void read_result(struct entry *e)
{
    const struct cli_job *j = &e->job;
    char status[32] = "";
    int64_t run_id = 0;
    uint64_t nfail = 0;
    e->wall = j->wall;
    bool json = cli_json_get_str(j->out_text, "status", status, sizeof status);
    if (json) {
        cli_json_get_i64(j->out_text, "run_id", &run_id);
        cli_json_get_u64(j->out_text, "budgets_failed", &nfail);
        cli_json_get_str(j->out_text, "digest", e->digest, sizeof e->digest);
        e->nBudget = (int)cli_json_array_len(j->out_text, "budgets");
        e->nBudgetFail = (int)nfail;
    }
    e->run_id = run_id;
    if (json && strcmp(status, "ok") == 0)
        e->status = nfail ? ORR_SWEEP_BUDGET_FAILED : ORR_SWEEP_OK;
    else if (json && strcmp(status, "failed") == 0)
        e->status = ORR_SWEEP_FAILED;
    else if ((json && strcmp(status, "interrupted") == 0) || j->exit_code == 128 + SIGINT ||
             j->exit_code == 128 + SIGTERM || j->exit_code == 128 + SIGHUP)
        e->status = ORR_SWEEP_INTERRUPTED;
    else
        e->status = ORR_SWEEP_ERROR;
    if (strcmp(e->status, ORR_SWEEP_OK) != 0) {
        char line[512];
        cli_job_first_line(j, line, sizeof line);
        if (!(e->message = strdup(line)))
            orr_oom();
    }
}

static bool entry_done(const struct entry *e)
{
    return strcmp(e->status, ORR_SWEEP_OK) == 0 || strcmp(e->status, ORR_SWEEP_BUDGET_FAILED) == 0;
}

/* Store how the point's run ended; a failure to do so is printed (after
 * clearing the progress line) and the sweep goes on: the run itself is
 * stored. */
static void record_point(struct sweep *sw, struct entry *e, struct cli_progress *prog)
{
    struct orr_sweep_point p = {e->point, e->repeat, e->seed, e->overrides, e->run_id, e->status};
    struct orr_diag d;
    orr_diag_init(&d);
    if (orr_results_set_sweep_point(sw->db, sw->id, &p, &d)) {
        cli_progress_clear(prog);
        orr_diag_print(&d, stderr);
    }
    orr_diag_free(&d);
}

static void progress_idle(void *arg) { cli_progress_tick(arg); }

/* The progress line's label: failures so far. */
static void progress_step(struct cli_progress *prog, size_t done, size_t failed)
{
    if (failed)
        cli_progress_label(prog, "%zu failed", failed);
    cli_progress_update(prog, done, done);
}

static int run_all(struct sweep *sw, const char *scenario)
{
    struct cli_pool pool;
    if (cli_pool_open(&pool, (unsigned)sw->o.jobs)) {
        fprintf(stderr, "orrery sweep: cannot find the orrery binary (/proc/self/exe): %s\n",
                strerror(errno));
        return ORR_EXIT_USAGE;
    }
    size_t done = 0, failed = 0;
    for (size_t i = 0; i < sw->nEntry; i++)
        done += sw->aEntry[i].skipped;
    /* drawn with --json too: the JSON goes to stdout */
    struct cli_progress prog;
    cli_progress_start(&prog, cli_progress_wanted(sw->o.quiet),
                       &(struct cli_progress_spec){.verb = "sweep", .unit = "runs",
                                                   .total = sw->nEntry, .done = done});
    pool.idle = progress_idle, pool.idle_arg = &prog;
    size_t next = 0;
    for (;;) {
        while (!cli_pool_interrupted(&pool) && !cli_pool_full(&pool) && next < sw->nEntry) {
            struct entry *e = &sw->aEntry[next++];
            if (e->skipped)
                continue;
            e->job.argv = run_argv(sw, e, scenario);
            e->job.user = e;
            if (cli_pool_start(&pool, &e->job)) {
                char msg[300];
                snprintf(msg, sizeof msg, "cannot start the orrery binary: %s", strerror(errno));
                e->status = ORR_SWEEP_ERROR;
                e->message = strdup(msg);
                record_point(sw, e, &prog);
                progress_step(&prog, ++done, ++failed);
            }
        }
        struct cli_job *j = cli_pool_wait(&pool);
        if (!j)
            break;
        struct entry *e = j->user;
        read_result(e);
        record_point(sw, e, &prog);
        free_argv(e->job.argv);
        e->job.argv = NULL;
        cli_job_free(&e->job);
        failed += !entry_done(e) && strcmp(e->status, ORR_SWEEP_INTERRUPTED) != 0;
        progress_step(&prog, ++done, failed);
    }
    sw->interrupted = cli_pool_interrupted(&pool);
    sw->signal = cli_pool_signal(&pool);
    cli_pool_close(&pool);
    cli_progress_clear(&prog);
    return 0;
}

/* ---------------------------------------------------------------- output */

static const char *budget_cell(const struct sweep *sw, const struct entry *e)
{
    if (e->nBudget == 0 || (e->nBudget < 0 && !sw->nBudget))
        return "-";
    if (strcmp(e->status, ORR_SWEEP_BUDGET_FAILED) == 0)
        return "FAIL";
    if (strcmp(e->status, ORR_SWEEP_OK) == 0)
        return "PASS";
    return "-";
}

/* The value of every axis at grid point g, malloc'ed (free_values). */
static char **point_values(const struct orr_sweep *grid, uint64_t g)
{
    uint64_t *aIndex = calloc(grid->nAxis + 1, sizeof *aIndex);
    char **aValue = calloc(grid->nAxis + 1, sizeof *aValue);
    if (!aIndex || !aValue)
        orr_oom();
    orr_sweep_grid_coords(grid, g, aIndex);
    for (size_t i = 0; i < grid->nAxis; i++)
        aValue[i] = axis_value_dup(&grid->aAxis[i], aIndex[i]);
    free(aIndex);
    return aValue;
}

static void free_values(char **aValue, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(aValue[i]);
    free(aValue);
}

static void print_table(const struct sweep *sw)
{
    const struct orr_sweep *grid = &sw->grid;
    int *w = calloc(grid->nAxis + 1, sizeof *w);
    if (!w)
        orr_oom();
    for (size_t i = 0; i < grid->nAxis; i++) {
        const struct orr_sweep_axis *a = &grid->aAxis[i];
        w[i] = (int)strlen(a->key);
        for (uint64_t v = 0; v < a->nValue; v++)
            if ((int)orr_sweep_axis_value(a, v, NULL, 0) > w[i])
                w[i] = (int)orr_sweep_axis_value(a, v, NULL, 0);
    }
    printf("\n%5s", "point");
    if (sw->repeat > 1)
        printf(" %3s %6s", "rep", "seed");
    for (size_t i = 0; i < grid->nAxis; i++)
        printf("  %-*s", w[i], grid->aAxis[i].key);
    printf("  %-13s %6s  %-7s %9s\n", "status", "run", "budgets", "wall");
    for (size_t k = 0; k < sw->nEntry; k++) {
        const struct entry *e = &sw->aEntry[k];
        char run[24] = "-", wall[24] = "-";
        if (e->run_id > 0)
            snprintf(run, sizeof run, "%" PRId64, e->run_id);
        if (e->skipped)
            snprintf(wall, sizeof wall, "(done)");
        else if (strcmp(e->status, ORR_SWEEP_PENDING) != 0)
            snprintf(wall, sizeof wall, "%.2f s", e->wall);
        printf("%5" PRIu64, e->point);
        if (sw->repeat > 1)
            printf(" %3" PRIu64 " %6" PRIu64, e->repeat, e->seed);
        char **aValue = point_values(grid, e->grid);
        for (size_t i = 0; i < grid->nAxis; i++)
            printf("  %-*s", w[i], aValue[i]);
        free_values(aValue, grid->nAxis);
        printf("  %-13s %6s  %-7s %9s\n", e->status, run, budget_cell(sw, e), wall);
    }
    free(w);
    for (size_t k = 0; k < sw->nEntry; k++) {
        const struct entry *e = &sw->aEntry[k];
        if (e->message && strcmp(e->status, ORR_SWEEP_INTERRUPTED) != 0)
            printf("point %" PRIu64 " repeat %" PRIu64 ": %s\n", e->point, e->repeat, e->message);
    }
}

struct tally {
    size_t ok, budget, failed, error, interrupted, pending, skipped;
};

static struct tally count(const struct sweep *sw)
{
    struct tally t = {0};
    for (size_t k = 0; k < sw->nEntry; k++) {
        const char *s = sw->aEntry[k].status;
        t.skipped += sw->aEntry[k].skipped;
        if (!strcmp(s, ORR_SWEEP_OK))
            t.ok++;
        else if (!strcmp(s, ORR_SWEEP_BUDGET_FAILED))
            t.budget++;
        else if (!strcmp(s, ORR_SWEEP_FAILED))
            t.failed++;
        else if (!strcmp(s, ORR_SWEEP_ERROR))
            t.error++;
        else if (!strcmp(s, ORR_SWEEP_INTERRUPTED))
            t.interrupted++;
        else
            t.pending++;
    }
    return t;
}

static void print_text(const struct sweep *sw)
{
    struct tally t = count(sw);
    print_table(sw);
    printf("\nsweep %" PRId64 ": %zu runs: %zu ok, %zu budget failed, %zu failed, %zu error",
           sw->id, sw->nEntry, t.ok, t.budget, t.failed, t.error);
    if (t.interrupted || t.pending)
        printf(", %zu interrupted, %zu not run", t.interrupted, t.pending);
    if (t.skipped)
        printf(" (%zu done before this resume)", t.skipped);
    printf("\nresults   %s (sweep %" PRId64 ")\n", sw->o.db, sw->id);
    if (t.ok + t.budget < sw->nEntry)
        printf("resume    orrery sweep --resume %" PRId64 " --db %s\n", sw->id, sw->o.db);
}

static void print_json(const struct sweep *sw, const char *scenario)
{
    struct tally t = count(sw);
    struct orr_json j;
    orr_json_init(&j, stdout, true);
    orr_json_obj_begin(&j);
    orr_json_key(&j, "sweep_id"), orr_json_i64(&j, sw->id);
    orr_json_key(&j, "scenario"), orr_json_str(&j, scenario);
    orr_json_key(&j, "scenario_hash"), orr_json_hex64(&j, sw->base_hash);
    orr_json_key(&j, "db"), orr_json_str(&j, sw->o.db);
    orr_json_key(&j, "axes");
    orr_json_arr_begin(&j);
    for (size_t i = 0; i < sw->grid.nAxis; i++) {
        const struct orr_sweep_axis *a = &sw->grid.aAxis[i];
        orr_json_obj_begin(&j);
        orr_json_key(&j, "key"), orr_json_str(&j, a->key);
        orr_json_key(&j, "spec"), orr_json_str(&j, a->spec);
        orr_json_key(&j, "values");
        orr_json_arr_begin(&j);
        for (uint64_t v = 0; v < a->nValue; v++) {
            char *value = axis_value_dup(a, v);
            orr_json_str(&j, value);
            free(value);
        }
        orr_json_arr_end(&j);
        orr_json_obj_end(&j);
    }
    orr_json_arr_end(&j);
    orr_json_key(&j, "repeat"), orr_json_u64(&j, sw->repeat);
    orr_json_key(&j, "sample"), orr_json_u64(&j, sw->sample);
    orr_json_key(&j, "seed"), orr_json_u64(&j, sw->seed);
    orr_json_key(&j, "points"), orr_json_u64(&j, sw->plan.nPoint);
    orr_json_key(&j, "runs");
    orr_json_arr_begin(&j);
    for (size_t k = 0; k < sw->nEntry; k++) {
        const struct entry *e = &sw->aEntry[k];
        orr_json_obj_begin(&j);
        orr_json_key(&j, "point"), orr_json_u64(&j, e->point);
        orr_json_key(&j, "repeat"), orr_json_u64(&j, e->repeat);
        orr_json_key(&j, "seed"), orr_json_u64(&j, e->seed);
        orr_json_key(&j, "values");
        orr_json_obj_begin(&j);
        char **aValue = point_values(&sw->grid, e->grid);
        for (size_t i = 0; i < sw->grid.nAxis; i++)
            orr_json_key(&j, sw->grid.aAxis[i].key), orr_json_str(&j, aValue[i]);
        free_values(aValue, sw->grid.nAxis);
        orr_json_obj_end(&j);
        orr_json_key(&j, "overrides"), orr_json_str(&j, e->overrides);
        orr_json_key(&j, "status"), orr_json_str(&j, e->status);
        orr_json_key(&j, "run_id"), e->run_id > 0 ? orr_json_i64(&j, e->run_id) : orr_json_null(&j);
        orr_json_key(&j, "digest"), orr_json_str(&j, *e->digest ? e->digest : NULL);
        orr_json_key(&j, "budgets");
        const char *b = budget_cell(sw, e);
        orr_json_str(&j, strcmp(b, "PASS") == 0 ? "pass" : strcmp(b, "FAIL") == 0 ? "fail" : NULL);
        orr_json_key(&j, "skipped"), orr_json_bool(&j, e->skipped);
        orr_json_key(&j, "wall_time_s"), e->skipped || !strcmp(e->status, ORR_SWEEP_PENDING)
                                             ? orr_json_null(&j)
                                             : orr_json_dbl(&j, e->wall);
        orr_json_key(&j, "message"), orr_json_str(&j, e->message);
        orr_json_obj_end(&j);
    }
    orr_json_arr_end(&j);
    orr_json_key(&j, "summary");
    orr_json_obj_begin(&j);
    orr_json_key(&j, "runs"), orr_json_u64(&j, sw->nEntry);
    orr_json_key(&j, "ok"), orr_json_u64(&j, t.ok);
    orr_json_key(&j, "budget_failed"), orr_json_u64(&j, t.budget);
    orr_json_key(&j, "failed"), orr_json_u64(&j, t.failed);
    orr_json_key(&j, "error"), orr_json_u64(&j, t.error);
    orr_json_key(&j, "interrupted"), orr_json_u64(&j, t.interrupted);
    orr_json_key(&j, "pending"), orr_json_u64(&j, t.pending);
    orr_json_key(&j, "skipped"), orr_json_u64(&j, t.skipped);
    orr_json_obj_end(&j);
    orr_json_key(&j, "interrupted"), orr_json_bool(&j, sw->interrupted);
    orr_json_obj_end(&j);
    orr_json_end(&j);
}

/* ------------------------------------------------------- setting up */

/* A new sweep: axes from the scenario, then --axis; repeat/sample/seed
 * from the options, else the scenario. */
static int setup_new(struct sweep *sw, const struct orr_scenario *sc, struct orr_diag *d)
{
    const struct sweep_opts *o = &sw->o;
    int rc = add_scenario_axes(sw, sc, d);
    if (rc)
        return rc;
    for (size_t i = 0; i < o->nAxis; i++) {
        const char *eq = strchr(o->aAxis[i], '=');
        for (size_t k = 0; eq && k < i; k++)
            if (strncmp(o->aAxis[k], o->aAxis[i], (size_t)(eq - o->aAxis[i]) + 1) == 0) {
                fprintf(stderr, "orrery sweep: --axis %.*s is given twice\n",
                        (int)(eq - o->aAxis[i]), o->aAxis[i]);
                return ORR_EXIT_USAGE;
            }
        if ((rc = add_axis_arg(sw, o->aAxis[i], "--axis")))
            return rc;
    }
    sw->repeat = o->has_repeat ? o->repeat : orr_param_u64(&sc->sweep, "repeat");
    sw->sample = o->has_sample ? o->sample : orr_param_u64(&sc->sweep, "sample");
    sw->seed = o->has_seed ? o->seed : sc->seed;
    return 0;
}

static char *axes_text(const struct sweep *sw)
{
    size_t len = 1;
    const struct orr_sweep *grid = &sw->grid;
    for (size_t i = 0; i < grid->nAxis; i++)
        len += strlen(grid->aAxis[i].key) + strlen(grid->aAxis[i].spec) + 2;
    char *s = calloc(1, len), *p = s;
    if (!s)
        orr_oom();
    for (size_t i = 0; i < grid->nAxis; i++)
        p += sprintf(p, "%s%s=%s", i ? "\n" : "", grid->aAxis[i].key, grid->aAxis[i].spec);
    return s;
}

static int create(struct sweep *sw, const char *scenario, struct orr_diag *d)
{
    struct orr_sweep_point *ap = calloc(sw->nEntry ? sw->nEntry : 1, sizeof *ap);
    if (!ap)
        orr_oom();
    for (size_t k = 0; k < sw->nEntry; k++) {
        const struct entry *e = &sw->aEntry[k];
        ap[k] = (struct orr_sweep_point){e->point, e->repeat, e->seed, e->overrides, 0,
                                         ORR_SWEEP_PENDING};
    }
    char *axes = axes_text(sw);
    struct orr_sweep_record rec = {scenario, sw->base_hash, axes, sw->repeat, sw->sample, sw->seed};
    int rc = orr_results_create_sweep(sw->db, &rec, ap, sw->nEntry, &sw->id, d);
    free(axes);
    free(ap);
    return rc;
}

/* --resume: the stored sweep's axes and settings; its finished points are
 * skipped. */
static int setup_resume(struct sweep *sw, const struct orr_sweep_info *info)
{
    int rc;
    for (const char *s = info->rec.axes; *s;) {
        size_t len = strcspn(s, "\n");
        char *line = strndup(s, len);
        if (!line)
            orr_oom();
        rc = add_axis_arg(sw, line, "stored axis");
        free(line);
        if (rc)
            return rc;
        s += len + (s[len] == '\n');
    }
    sw->repeat = info->rec.repeat ? info->rec.repeat : 1;
    sw->sample = info->rec.sample;
    sw->seed = info->rec.seed;
    return 0;
}

static void mark_done(struct sweep *sw, const struct orr_sweep_info *info)
{
    for (size_t i = 0; i < info->nPoint; i++) {
        const struct orr_sweep_point *p = &info->aPoint[i];
        if (p->point >= sw->plan.nPoint || p->repeat >= sw->repeat)
            continue;
        struct entry *e = &sw->aEntry[p->point * sw->repeat + p->repeat];
        if (strcmp(p->status, ORR_SWEEP_OK) && strcmp(p->status, ORR_SWEEP_BUDGET_FAILED))
            continue;
        e->status = strcmp(p->status, ORR_SWEEP_OK) == 0 ? ORR_SWEEP_OK : ORR_SWEEP_BUDGET_FAILED;
        e->run_id = p->run_id;
        e->skipped = true;
    }
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void sweep_free(struct sweep *sw)
{
    orr_sweep_free(&sw->grid);
    orr_sweep_plan_free(&sw->plan);
    for (size_t k = 0; k < sw->nEntry; k++) {
        free(sw->aEntry[k].overrides);
        free(sw->aEntry[k].message);
    }
    free(sw->aEntry);
    orr_results_close(sw->db);
    free(sw->o.aAxis);
}

int cmd_sweep(int argc, char **argv)
{
    struct sweep sw = {0};
    struct orr_scenario sc = {0};
    struct orr_sweep_info info = {0};
    struct orr_diag d;
    orr_diag_init(&d);
    int exit_code = ORR_EXIT_USAGE;
    int rc = parse_args(argc, argv, &sw.o);
    if (rc) {
        free(sw.o.aAxis);
        return rc < 0 ? ORR_EXIT_OK : rc;
    }
    const char *scenario = sw.o.scenario;
    if (sw.o.has_resume) {
        if (!file_exists(sw.o.db)) {
            fprintf(stderr, "orrery sweep: results database '%s' does not exist\n", sw.o.db);
            goto out;
        }
        if (orr_results_open(&sw.db, sw.o.db, &d) ||
            orr_results_read_sweep(sw.db, (int64_t)sw.o.resume, &info, &d))
            goto out;
        if (!scenario)
            scenario = info.rec.scenario;
        if (setup_resume(&sw, &info))
            goto out;
    }
    if (orr_scenario_open(&sc, scenario, NULL, 0, NULL, orr_builtin_types, &d))
        goto out;
    struct cli_files files = {0};
    cli_files_add_config(&files, &sc.cfg);
    cli_files_add(&files, sw.o.db, "the database", ORR_FILE_UPDATE);
    if (cli_files_check(&files, "sweep"))
        goto out; /* the database may not be the scenario or a preset */
    sw.base_hash = sc.hash;
    sw.nBudget = sc.nBudget;
    if (sw.o.has_resume && sc.hash != info.rec.scenario_hash) {
        fprintf(stderr, "orrery sweep: %s has changed since sweep %" PRIu64 " was started "
                        "(hash %016" PRIx64 ", now %016" PRIx64 "); start a new sweep\n",
                scenario, sw.o.resume, info.rec.scenario_hash, sc.hash);
        goto out;
    }
    if (!sw.o.has_resume && setup_new(&sw, &sc, &d))
        goto out;
    if (plan(&sw) || (!sw.o.has_resume && check_axes(&sw, scenario)))
        goto out;
    make_entries(&sw);
    if (sw.o.has_resume) {
        sw.id = (int64_t)sw.o.resume;
        mark_done(&sw, &info);
    } else if (orr_results_open(&sw.db, sw.o.db, &d) || create(&sw, scenario, &d)) {
        goto out;
    }
    if (!sw.o.quiet) {
        FILE *f = sw.o.json ? stderr : stdout;
        fprintf(f, "sweep %" PRId64 ": %s, %" PRIu64 " point%s x %" PRIu64 " repeat%s = %zu runs, "
                   "-j %" PRIu64 ", db %s%s\n", sw.id, scenario, sw.plan.nPoint,
                sw.plan.nPoint == 1 ? "" : "s", sw.repeat, sw.repeat == 1 ? "" : "s", sw.nEntry,
                sw.o.jobs, sw.o.db, sw.o.has_resume ? " (resumed)" : "");
        fflush(f);
    }
    if ((exit_code = run_all(&sw, scenario)))
        goto out;
    if (sw.o.json)
        print_json(&sw, scenario);
    else if (!sw.o.quiet)
        print_text(&sw);
    struct tally t = count(&sw);
    exit_code = sw.interrupted ? 128 + sw.signal : t.ok == sw.nEntry ? ORR_EXIT_OK : ORR_EXIT_FAILED;
    if (exit_code == ORR_EXIT_FAILED)
        fprintf(stderr, "error: %zu of %zu runs did not pass (sweep %" PRId64 ")\n",
                sw.nEntry - t.ok, sw.nEntry, sw.id);
out:
    if (orr_diag_count(&d))
        orr_diag_print(&d, stderr);
    orr_scenario_close(&sc);
    orr_results_sweep_free(&info);
    orr_diag_free(&d);
    sweep_free(&sw);
    return exit_code;
}
