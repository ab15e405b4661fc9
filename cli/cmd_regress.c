/* `orrery regress DIR`: the regression gate. Runs every DIR/NAME.yaml (each an
 * ordinary `orrery run` in its own process, several at once), compares its
 * digest with GOLDEN/NAME.digest, checks its budgets, prints a table and
 * optionally writes JUnit XML. With baseline traces recorded by a
 * known-good build (--record-traces), each divergence is explained by the
 * first divergent event, printed by analysis/diff.c exactly as `orrery
 * diff BASELINE CURRENT` prints it.
 *
 * The default golden folder is DIR/../tests/golden (scenarios/ ->
 * tests/golden/), the layout of this repository and of scripts/golden.sh. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/diff.h"
#include "cli.h"
#include "orrery/error.h"
#include "orrery/json.h"

static const char regress_help[] =
    "Usage: orrery regress DIR [options]\n"
    "\n"
    "Run every scenario DIR/*.yaml, compare its trace digest with the golden\n"
    "digest GOLDEN/NAME.digest, check its budgets, and print a table\n"
    "(scenario, digest ok/DIVERGED/missing golden, budgets, wall time).\n"
    "\n"
    "Options:\n"
    "  --golden DIR            golden digests (default: DIR/../tests/golden, so\n"
    "                          `orrery regress scenarios` uses tests/golden)\n"
    "  --junit FILE            also write JUnit XML: one testcase per scenario\n"
    "  --record-traces DIR     write each scenario's trace to DIR/NAME.trace (run\n"
    "                          this on a known-good build to make baselines)\n"
    "  --baseline-traces DIR   record the current traces too, and for each\n"
    "                          divergence print `orrery diff` of DIR/NAME.trace\n"
    "                          and the current trace: the first divergent event\n"
    "  --context N             records of context in those diffs (default 5)\n"
    "  -j N                    runs at once (default: online CPUs)\n"
    "  --json                  print the result as one JSON object on stdout\n"
    "  --quiet, -q             print only failures and the summary line\n"
    "  --help, -h              this text\n"
    "\n"
    "Exit status:\n"
    "  0    every digest matches its golden digest and every budget holds\n"
    "  1    a digest diverged, a golden digest is missing, a budget failed or\n"
    "       a scenario could not be run\n"
    "  2    bad usage (DIR, the golden folder or a trace folder missing, no\n"
    "       scenarios, an unwritable --junit FILE): nothing is run\n"
    "  130  interrupted by Ctrl-C (SIGINT); 143 by SIGTERM, 129 by SIGHUP\n";

enum verdict { V_OK, V_DIVERGED, V_MISSING, V_ERROR, V_NOT_RUN };

static const char *const kVerdict[] = {"ok", "DIVERGED", "missing golden", "error", "not run"};
static const char *const kVerdictJson[] = {"ok", "diverged", "missing_golden", "error",
                                           "not_run"};

struct scen {
    char *name, *path, *trace;
    struct cli_job job;
    enum verdict v;
    char digest[17], golden[80];
    char run_status[16];
    int nBudget, nBudgetFail;
    double wall;
    char *message; /* why it failed, one line */
    char *diff;    /* `orrery diff` output for a divergence, or a hint */
};

struct regress_opts {
    const char *dir, *golden, *junit, *record, *baseline;
    uint64_t jobs, context;
    bool json, quiet;
};

struct regress {
    struct regress_opts o;
    char *golden;   /* resolved golden folder */
    char *tracedir; /* where current traces go, or NULL */
    bool tmp_tracedir;
    struct scen *aScen;
    size_t nScen;
    FILE *junit; /* junit_out's stream */
    struct orr_outfile junit_out;
    bool interrupted;
    int signal; /* the stop signal that interrupted it */
    double wall;
};

static int parse_args(int argc, char **argv, struct regress_opts *o)
{
    enum { OPT_GOLDEN = 256, OPT_JUNIT, OPT_RECORD, OPT_BASELINE, OPT_CONTEXT, OPT_JSON };
    static const struct option longopts[] = {
        {"golden", required_argument, NULL, OPT_GOLDEN},
        {"junit", required_argument, NULL, OPT_JUNIT},
        {"record-traces", required_argument, NULL, OPT_RECORD},
        {"baseline-traces", required_argument, NULL, OPT_BASELINE},
        {"context", required_argument, NULL, OPT_CONTEXT},
        {"jobs", required_argument, NULL, 'j'},
        {"json", no_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        CLI_LIMIT_LONGOPTS,
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->jobs = cli_online_cpus();
    o->context = ORR_DIFF_DEFAULT_CONTEXT;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":qhj:", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_GOLDEN: o->golden = optarg; break;
        case OPT_JUNIT: o->junit = optarg; break;
        case OPT_RECORD: o->record = optarg; break;
        case OPT_BASELINE: o->baseline = optarg; break;
        case OPT_JSON: o->json = true; break;
        case 'q': o->quiet = true; break;
        case 'j':
            if (!cli_parse_u64(optarg, &o->jobs) || o->jobs == 0 || o->jobs > 1024)
                return cli_usage_error("regress", "-j expects an integer 1..1024, got '%s'",
                                       optarg);
            break;
        case OPT_CONTEXT:
            if (!cli_parse_u64(optarg, &o->context) || o->context > 1000)
                return cli_usage_error("regress", "--context expects an integer 0..1000, got '%s'",
                                       optarg);
            break;
        CLI_LIMIT_CASES:
            if (cli_limit_option("regress", ch, optarg) < 0)
                return ORR_EXIT_USAGE;
            break;
        case 'h': fputs(regress_help, stdout), fputs(cli_limit_help, stdout); return -1;
        case ':': return cli_usage_error("regress", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("regress", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("regress", "missing DIR (a folder of scenarios, e.g. scenarios)");
    if (optind + 1 < argc)
        return cli_usage_error("regress", "unexpected argument '%s'", argv[optind + 1]);
    o->dir = argv[optind];
    return 0;
}

static char *xstrdup(const char *s)
{
    char *t = strdup(s);
    if (!t)
        orr_oom();
    return t;
}

static char *path_join(const char *dir, const char *name, const char *ext)
{
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *s = malloc(n);
    if (!s)
        orr_oom();
    snprintf(s, n, "%s/%s%s", dir, name, ext);
    return s;
}

static char *fmt(const char *f, const char *a, const char *b)
{
    size_t n = strlen(f) + strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (!s)
        orr_oom();
    snprintf(s, n, f, a, b);
    return s;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* DIR/../tests/golden, written without "..": "scenarios" -> "tests/golden",
 * "a/b/scenarios/" -> "a/b/tests/golden". */
static char *default_golden(const char *dir)
{
    char *d = xstrdup(dir);
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        d[--n] = 0;
    char *slash = strrchr(d, '/'), *g;
    if (!slash)
        g = xstrdup("tests/golden");
    else if (slash == d)
        g = xstrdup("/tests/golden");
    else {
        *slash = 0;
        g = path_join(d, "tests", "/golden");
    }
    free(d);
    return g;
}

static bool same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Check the folders and files before anything runs. */
static int setup(struct regress *rg)
{
    const struct regress_opts *o = &rg->o;
    if (!is_dir(o->dir)) {
        fprintf(stderr, "orrery regress: '%s' is not a folder of scenarios\n", o->dir);
        return ORR_EXIT_USAGE;
    }
    rg->golden = o->golden ? xstrdup(o->golden) : default_golden(o->dir);
    if (!is_dir(rg->golden)) {
        fprintf(stderr, "orrery regress: golden folder '%s' does not exist%s\n", rg->golden,
                o->golden ? "" : " (the default, DIR/../tests/golden; give --golden DIR)");
        return ORR_EXIT_USAGE;
    }
    if (o->baseline && !is_dir(o->baseline)) {
        fprintf(stderr, "orrery regress: baseline trace folder '%s' does not exist; record it on "
                        "a known-good build with --record-traces %s\n", o->baseline, o->baseline);
        return ORR_EXIT_USAGE;
    }
    if (o->record && !is_dir(o->record) && mkdir(o->record, 0777) != 0) {
        fprintf(stderr, "orrery regress: cannot create '%s': %s\n", o->record, strerror(errno));
        return ORR_EXIT_USAGE;
    }
    if (o->record && o->baseline && same_dir(o->record, o->baseline)) {
        fprintf(stderr, "orrery regress: --record-traces and --baseline-traces name the same "
                        "folder; the baselines would be overwritten\n");
        return ORR_EXIT_USAGE;
    }
    if (o->record) {
        rg->tracedir = xstrdup(o->record);
    } else if (o->baseline) {
        const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        rg->tracedir = path_join(tmp, "orrery-regress.XXXXXX", "");
        if (!mkdtemp(rg->tracedir)) {
            fprintf(stderr, "orrery regress: cannot create a folder for traces in %s: %s\n", tmp,
                    strerror(errno));
            return ORR_EXIT_USAGE;
        }
        rg->tmp_tracedir = true;
    }
    return 0;
}

/* No output may clobber an input: --junit FILE and the recorded traces
 * against the scenarios, the golden digests and the baseline traces. Then
 * start FILE (beside it, renamed when complete). */
static int open_outputs(struct regress *rg)
{
    struct cli_files files = {0};
    char **aGolden = calloc(2 * rg->nScen + 1, sizeof *aGolden);
    if (!aGolden)
        orr_oom();
    for (size_t i = 0; i < rg->nScen; i++) {
        const struct scen *s = &rg->aScen[i];
        aGolden[2 * i] = path_join(rg->golden, s->name, ".digest");
        if (rg->o.baseline)
            aGolden[2 * i + 1] = path_join(rg->o.baseline, s->name, ".trace");
        cli_files_add(&files, s->path, "the scenario", ORR_FILE_INPUT);
        cli_files_add(&files, aGolden[2 * i], "the golden digest", ORR_FILE_INPUT);
        cli_files_add(&files, aGolden[2 * i + 1], "the baseline trace", ORR_FILE_INPUT);
        cli_files_add(&files, s->trace, "the trace", ORR_FILE_OUTPUT);
    }
    cli_files_add(&files, rg->o.junit, "the JUnit file", ORR_FILE_OUTPUT);
    int rc = cli_files_check(&files, "regress");
    for (size_t i = 0; i < 2 * rg->nScen; i++)
        free(aGolden[i]);
    free(aGolden);
    if (rc || !rg->o.junit)
        return rc;
    struct orr_diag d;
    orr_diag_init(&d);
    if (orr_outfile_open(&rg->junit_out, rg->o.junit, &d) ||
        !(rg->junit = orr_outfile_stream(&rg->junit_out))) {
        fprintf(stderr, "orrery regress: cannot write '%s'\n", rg->o.junit);
        orr_diag_print(&d, stderr);
        orr_outfile_abort(&rg->junit_out);
        rc = ORR_EXIT_USAGE;
    }
    orr_diag_free(&d);
    return rc;
}

static int find_scenarios(struct regress *rg)
{
    glob_t g;
    char *pattern = path_join(rg->o.dir, "*.yaml", "");
    int rc = glob(pattern, 0, NULL, &g); /* sorted */
    free(pattern);
    if (rc != 0 || g.gl_pathc == 0) {
        if (rc == 0)
            globfree(&g);
        fprintf(stderr, "orrery regress: no scenarios (*.yaml) in '%s'\n", rg->o.dir);
        return ORR_EXIT_USAGE;
    }
    rg->nScen = g.gl_pathc;
    rg->aScen = calloc(rg->nScen, sizeof *rg->aScen);
    if (!rg->aScen)
        orr_oom();
    for (size_t i = 0; i < rg->nScen; i++) {
        struct scen *s = &rg->aScen[i];
        const char *base = strrchr(g.gl_pathv[i], '/');
        base = base ? base + 1 : g.gl_pathv[i];
        s->path = xstrdup(g.gl_pathv[i]);
        s->name = xstrdup(base);
        s->name[strlen(s->name) - 5] = 0; /* ".yaml" */
        s->v = V_NOT_RUN;
        s->nBudget = -1;
        if (rg->tracedir)
            s->trace = path_join(rg->tracedir, s->name, ".trace");
    }
    globfree(&g);
    return 0;
}

static char **run_argv(const struct scen *s)
{
    const char *av[] = {"orrery", "run", s->path, "--no-db", "--quiet", "--json",
                        s->trace ? "--trace" : NULL, s->trace, NULL};
    char **out = calloc(sizeof av / sizeof av[0] + 2 * CLI_LIMIT_COUNT, sizeof *out);
    if (!out)
        orr_oom();
    size_t k = 0;
    for (; av[k]; k++)
        out[k] = xstrdup(av[k]);
    cli_limit_argv(out, &k);
    return out;
}

static void free_argv(char **av)
{
    for (size_t i = 0; av && av[i]; i++)
        free(av[i]);
    free(av);
}

/* The golden digest of s ("" and false if there is none). */
static bool read_golden(const struct regress *rg, struct scen *s)
{
    char *path = path_join(rg->golden, s->name, ".digest");
    FILE *f = fopen(path, "r");
    free(path);
    s->golden[0] = 0;
    if (!f)
        return false;
    size_t n = fread(s->golden, 1, sizeof s->golden - 1, f);
    fclose(f);
    s->golden[n] = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) /* the digest without whitespace */
        if (s->golden[i] != ' ' && s->golden[i] != '\n' && s->golden[i] != '\r' &&
            s->golden[i] != '\t')
            s->golden[k++] = s->golden[i];
    s->golden[k] = 0;
    return k > 0;
}

static void judge(const struct regress *rg, struct scen *s)
{
    const struct cli_job *j = &s->job;
    uint64_t nfail = 0;
    s->wall = j->wall;
    bool json = cli_json_get_str(j->out_text, "status", s->run_status, sizeof s->run_status) &&
                cli_json_get_str(j->out_text, "digest", s->digest, sizeof s->digest);
    if (!json || strcmp(s->run_status, "ok") != 0) {
        char line[512];
        cli_job_first_line(j, line, sizeof line);
        s->v = V_ERROR;
        s->message = json ? fmt("the run ended with status '%s': %s", s->run_status, line)
                          : xstrdup(line);
        return;
    }
    cli_json_get_u64(j->out_text, "budgets_failed", &nfail);
    s->nBudget = (int)cli_json_array_len(j->out_text, "budgets");
    s->nBudgetFail = (int)nfail;
    if (!read_golden(rg, s)) {
        s->v = V_MISSING;
        char *g = path_join(rg->golden, s->name, ".digest");
        s->message = fmt("no golden digest %s (digest %s; scripts/golden.sh writes them)", g,
                         s->digest);
        free(g);
    } else if (strcmp(s->golden, s->digest) != 0) {
        s->v = V_DIVERGED;
        s->message = fmt("digest %s, golden %s: behaviour changed", s->digest, s->golden);
    } else {
        s->v = V_OK;
    }
    if (s->nBudgetFail && !s->message) {
        char n[48];
        snprintf(n, sizeof n, "%d of %d", s->nBudgetFail, s->nBudget);
        s->message = fmt("%s budgets failed (`orrery run %s` shows which)", n, s->path);
    }
}

static bool passed(const struct scen *s) { return s->v == V_OK && s->nBudgetFail <= 0; }

/* For a divergence: the first divergent event from the baseline trace, via
 * the same analysis/diff.c entry point `orrery diff` uses, or how to get
 * one. */
static void explain(const struct regress *rg, struct scen *s)
{
    const struct regress_opts *o = &rg->o;
    if (s->v != V_DIVERGED)
        return;
    if (!o->baseline) {
        s->diff = fmt("to see the first divergent event: record baseline traces on a known-good "
                      "build with `orrery regress %s --record-traces BASE`, then run `orrery "
                      "regress %s --baseline-traces BASE`\n", o->dir, o->dir);
        return;
    }
    char *base = path_join(o->baseline, s->name, ".trace");
    if (access(base, R_OK) != 0) {
        s->diff = fmt("no baseline trace %s%s: record it on a known-good build with "
                      "--record-traces\n", base, "");
        free(base);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&text, &len);
    if (!ms)
        orr_oom();
    fprintf(ms, "$ orrery diff %s %s\n", base, s->trace);
    struct orr_diff_opts dop = {.context = (unsigned)o->context, .json = false};
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_diff_run(base, s->trace, &dop, ms, &d);
    if (rc < 0) {
        for (size_t i = 0; i < d.nMsg; i++) {
            char line[1024];
            orr_diag_format(&d.aMsg[i], line, sizeof line);
            fprintf(ms, "%s\n", line);
        }
    } else if (rc == 0) {
        fprintf(ms, "the baseline trace is identical to this run: it was recorded after the "
                    "change; record baselines again on a known-good build\n");
    }
    orr_diag_free(&d);
    fclose(ms);
    s->diff = text;
    free(base);
}

static void progress_idle(void *arg) { cli_progress_tick(arg); }

static int run_all(struct regress *rg)
{
    struct cli_pool pool;
    if (cli_pool_open(&pool, (unsigned)rg->o.jobs)) {
        fprintf(stderr, "orrery regress: cannot find the orrery binary (/proc/self/exe): %s\n",
                strerror(errno));
        return ORR_EXIT_USAGE;
    }
    /* no line with --json: the scenarios' results are the output */
    struct cli_progress prog;
    cli_progress_start(&prog, cli_progress_wanted(rg->o.quiet) && !rg->o.json,
                       &(struct cli_progress_spec){.verb = "regress", .unit = "scenarios",
                                                   .total = rg->nScen});
    pool.idle = progress_idle, pool.idle_arg = &prog;
    double t0 = cli_wall_seconds();
    size_t next = 0, done = 0;
    for (;;) {
        while (!cli_pool_interrupted(&pool) && !cli_pool_full(&pool) && next < rg->nScen) {
            struct scen *s = &rg->aScen[next++];
            s->job.argv = run_argv(s);
            s->job.user = s;
            if (cli_pool_start(&pool, &s->job)) {
                s->v = V_ERROR;
                s->message = fmt("cannot start %s: %s", pool.exe, strerror(errno));
                done++;
            }
        }
        struct cli_job *j = cli_pool_wait(&pool);
        if (!j)
            break;
        struct scen *s = j->user;
        judge(rg, s);
        free_argv(s->job.argv);
        s->job.argv = NULL;
        cli_job_free(&s->job);
        cli_progress_label(&prog, "%s", s->name);
        done++;
        cli_progress_update(&prog, done, done);
    }
    rg->interrupted = cli_pool_interrupted(&pool);
    rg->signal = cli_pool_signal(&pool);
    cli_pool_close(&pool);
    rg->wall = cli_wall_seconds() - t0;
    cli_progress_clear(&prog);
    for (size_t i = 0; i < rg->nScen && !rg->interrupted; i++)
        explain(rg, &rg->aScen[i]);
    return 0;
}

/* ---------------------------------------------------------------- output */

static void budget_cell(const struct scen *s, char *buf, size_t n)
{
    if (s->nBudget <= 0)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%s %d/%d", s->nBudgetFail ? "FAIL" : "pass",
                 s->nBudget - s->nBudgetFail, s->nBudget);
}

static void print_text(const struct regress *rg)
{
    int w = 8;
    size_t nPass = 0;
    for (size_t i = 0; i < rg->nScen; i++)
        if ((int)strlen(rg->aScen[i].name) > w)
            w = (int)strlen(rg->aScen[i].name);
    if (!rg->o.quiet)
        printf("%-*s  %-14s  %-10s %8s\n", w, "scenario", "digest", "budgets", "wall");
    for (size_t i = 0; i < rg->nScen; i++) {
        const struct scen *s = &rg->aScen[i];
        char b[32], wall[24] = "-";
        nPass += passed(s);
        if (rg->o.quiet && passed(s))
            continue;
        budget_cell(s, b, sizeof b);
        if (s->v != V_NOT_RUN && s->v != V_ERROR)
            snprintf(wall, sizeof wall, "%.2f s", s->wall);
        printf("%-*s  %-14s  %-10s %8s\n", w, s->name, kVerdict[s->v], b, wall);
    }
    for (size_t i = 0; i < rg->nScen; i++) {
        const struct scen *s = &rg->aScen[i];
        if (!s->message)
            continue;
        printf("\n%s: %s\n", s->name, s->message);
        if (s->diff)
            fputs(s->diff, stdout);
    }
    printf("\nregress: %zu scenarios, %zu passed, %zu failed (golden %s, %.2f s)\n", rg->nScen,
           nPass, rg->nScen - nPass, rg->golden, rg->wall);
    if (rg->o.record)
        printf("traces    %s\n", rg->o.record);
}

static void print_json(const struct regress *rg)
{
    struct orr_json j;
    size_t nPass = 0;
    orr_json_init(&j, stdout, true);
    orr_json_obj_begin(&j);
    orr_json_key(&j, "dir"), orr_json_str(&j, rg->o.dir);
    orr_json_key(&j, "golden"), orr_json_str(&j, rg->golden);
    orr_json_key(&j, "scenarios");
    orr_json_arr_begin(&j);
    for (size_t i = 0; i < rg->nScen; i++) {
        const struct scen *s = &rg->aScen[i];
        nPass += passed(s);
        orr_json_obj_begin(&j);
        orr_json_key(&j, "name"), orr_json_str(&j, s->name);
        orr_json_key(&j, "path"), orr_json_str(&j, s->path);
        orr_json_key(&j, "result"), orr_json_str(&j, kVerdictJson[s->v]);
        orr_json_key(&j, "pass"), orr_json_bool(&j, passed(s));
        orr_json_key(&j, "digest"), orr_json_str(&j, *s->digest ? s->digest : NULL);
        orr_json_key(&j, "golden"), orr_json_str(&j, *s->golden ? s->golden : NULL);
        orr_json_key(&j, "budgets"), s->nBudget < 0 ? orr_json_null(&j) : orr_json_u64(&j, (uint64_t)s->nBudget);
        orr_json_key(&j, "budgets_failed"), s->nBudget < 0 ? orr_json_null(&j) : orr_json_u64(&j, (uint64_t)s->nBudgetFail);
        orr_json_key(&j, "wall_time_s"), s->v == V_NOT_RUN ? orr_json_null(&j) : orr_json_dbl(&j, s->wall);
        orr_json_key(&j, "trace"), orr_json_str(&j, rg->o.record ? s->trace : NULL);
        orr_json_key(&j, "message"), orr_json_str(&j, s->message);
        orr_json_key(&j, "diff"), orr_json_str(&j, s->diff);
        orr_json_obj_end(&j);
    }
    orr_json_arr_end(&j);
    orr_json_key(&j, "passed"), orr_json_u64(&j, nPass);
    orr_json_key(&j, "failed"), orr_json_u64(&j, rg->nScen - nPass);
    orr_json_key(&j, "interrupted"), orr_json_bool(&j, rg->interrupted);
    orr_json_key(&j, "wall_time_s"), orr_json_dbl(&j, rg->wall);
    orr_json_obj_end(&j);
    orr_json_end(&j);
}

/* XML 1.0 text: the five entities escaped; control characters other than
 * tab, newline and carriage return are not allowed in XML 1.0 at all, so
 * they become '?'. (The ESC of a terminal colour code, say.) */
static void xml_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            fputc(c < 0x20 && c != '\t' && c != '\n' && c != '\r' ? '?' : c, f);
        }
    }
}

static int write_junit(struct regress *rg)
{
    FILE *f = rg->junit;
    size_t nFail = 0, nErr = 0;
    for (size_t i = 0; i < rg->nScen; i++) {
        const struct scen *s = &rg->aScen[i];
        nErr += s->v == V_ERROR || s->v == V_NOT_RUN;
        nFail += !passed(s) && s->v != V_ERROR && s->v != V_NOT_RUN;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuite name=\"orrery.regress\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
               "time=\"%.3f\">\n", rg->nScen, nFail, nErr, rg->wall);
    for (size_t i = 0; i < rg->nScen; i++) {
        const struct scen *s = &rg->aScen[i];
        fputs("  <testcase classname=\"orrery.regress.", f);
        xml_text(f, rg->o.dir);
        fputs("\" name=\"", f);
        xml_text(f, s->name);
        fputs("\" file=\"", f);
        xml_text(f, s->path);
        fprintf(f, "\" time=\"%.3f\"", s->v == V_NOT_RUN ? 0.0 : s->wall);
        if (passed(s)) {
            fputs("/>\n", f);
            continue;
        }
        const char *tag = s->v == V_ERROR || s->v == V_NOT_RUN ? "error" : "failure";
        fprintf(f, ">\n    <%s type=\"%s\" message=\"", tag,
                s->v == V_OK ? "budget" : kVerdictJson[s->v]);
        xml_text(f, s->message ? s->message : kVerdict[s->v]);
        fputs("\">", f);
        xml_text(f, s->message ? s->message : kVerdict[s->v]);
        if (s->diff) {
            fputs("\n", f);
            xml_text(f, s->diff);
        }
        fprintf(f, "</%s>\n  </testcase>\n", tag);
    }
    fputs("</testsuite>\n", f);
    struct orr_diag d;
    orr_diag_init(&d);
    rg->junit = NULL;
    int rc = orr_outfile_commit(&rg->junit_out, &d);
    if (rc) {
        fprintf(stderr, "orrery regress: cannot write '%s'\n", rg->o.junit);
        orr_diag_print(&d, stderr);
    }
    orr_diag_free(&d);
    return rc ? ORR_EXIT_USAGE : 0;
}

static void cleanup(struct regress *rg)
{
    rg->junit = NULL;
    orr_outfile_abort(&rg->junit_out);
    for (size_t i = 0; i < rg->nScen; i++) {
        struct scen *s = &rg->aScen[i];
        if (rg->tmp_tracedir && s->trace)
            unlink(s->trace);
        free(s->name);
        free(s->path);
        free(s->trace);
        free(s->message);
        free(s->diff);
    }
    if (rg->tmp_tracedir)
        rmdir(rg->tracedir);
    free(rg->aScen);
    free(rg->tracedir);
    free(rg->golden);
}

int cmd_regress(int argc, char **argv)
{
    struct regress rg = {0};
    int rc = parse_args(argc, argv, &rg.o);
    if (rc)
        return rc < 0 ? ORR_EXIT_OK : rc;
    int exit_code = setup(&rg);
    if (!exit_code)
        exit_code = find_scenarios(&rg);
    if (!exit_code)
        exit_code = open_outputs(&rg);
    if (!exit_code)
        exit_code = run_all(&rg);
    if (exit_code)
        goto out;
    if (rg.o.json)
        print_json(&rg);
    else
        print_text(&rg);
    if (rg.junit && (exit_code = write_junit(&rg)))
        goto out;
    exit_code = ORR_EXIT_OK;
    for (size_t i = 0; i < rg.nScen; i++)
        if (!passed(&rg.aScen[i]))
            exit_code = ORR_EXIT_FAILED;
    if (rg.interrupted)
        exit_code = 128 + rg.signal;
out:
    cleanup(&rg);
    return exit_code;
}
