/* `orrery explore`: search seeds of a scenario with random faults (its
 * `explore:` section) for one that breaks a property, replay a failing
 * seed exactly, and shrink its fault schedule to a `faults:` list a user
 * pastes into the scenario (docs/explore.md).
 *
 * Search runs each seed as `orrery explore SCENARIO --run-seed S` in its
 * own process (at most -j at once, cli/jobs.c, like sweep): the child
 * draws the seed's schedule, runs, judges and prints one JSON object; the
 * parent stores it in the results database (tables explores and
 * explore_seeds, docs/results.md) as each ends, so Ctrl-C leaves an
 * explore that --resume completes. Replay and shrink run in this process.
 *
 * The seed is both the model's root seed and the root of the fault
 * streams, so `--replay S` is the run seed S had during the search, bit for
 * bit: the same digest. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hw/registry.h"
#include "orrery/checkpoint.h"
#include "orrery/error.h"
#include "orrery/explore.h"
#include "orrery/json.h"
#include "orrery/results.h"
#include "orrery/scenario.h"
#include "orrery/trace.h"
#include "orrery/version.h"

static const char explore_help[] =
    "Usage: orrery explore SCENARIO.yaml [--seeds N] [-j J] [options]\n"
    "       orrery explore SCENARIO.yaml --replay S [--trace FILE]\n"
    "       orrery explore SCENARIO.yaml --shrink S\n"
    "       orrery explore --resume ID [-j J] [options]\n"
    "       orrery explore --from CKPT [SCENARIO.yaml] [--seeds N | --replay S | --shrink S]\n"
    "\n"
    "Run seeds S, S+1, ... of a scenario, each with a fault schedule drawn at\n"
    "random from the scenario's `explore:` section (docs/explore.md), and\n"
    "judge each run by the section's properties (model failures and invariant\n"
    "checkers, budgets, deadlock, livelock, wall timeout). Every seed's outcome\n"
    "and schedule is stored in the results database; each distinct failure\n"
    "(property and first failing location) is printed once, with the command\n"
    "that replays it.\n"
    "\n"
    "Options:\n"
    "  --seeds N          seeds to run (default 100)\n"
    "  --seed S           the first seed (default: the scenario's `seed`)\n"
    "  -j N               seeds at once (default: online CPUs)\n"
    "  --max-failures F   stop launching seeds after F failures (default: none)\n"
    "  --time-budget T    stop launching seeds after T wall seconds\n"
    "  --set KEY=VALUE    override a scenario key (repeatable)\n"
    "  --db FILE          results database (default: $ORRERY_DB, else ./" ORR_RESULTS_DEFAULT_PATH ")\n"
    "  --resume ID        continue explore ID: run its seeds not yet stored\n"
    "  --replay S         rerun stored seed S in this process: the property, the\n"
    "                     time, the digest (checked against the stored one)\n"
    "  --trace FILE       with --replay: write the trace and print its tail\n"
    "  --shrink S         shrink stored failing seed S's fault schedule: delete\n"
    "                     firings, make them later, shorter, smaller, keeping each\n"
    "                     change that still fails the same way; print the result\n"
    "                     as a `faults:` list for a plain `orrery run`\n"
    "  --shrink-budget T  wall seconds shrinking may take (default 120)\n"
    "  --from CKPT        start every seed from checkpoint CKPT (`orrery run\n"
    "                     --checkpoint-at T --checkpoint CKPT`): the warm-up up to T\n"
    "                     is paid once; faults are drawn after T. The scenario,\n"
    "                     overrides and model seed are the checkpoint's (no --set);\n"
    "                     --replay, --shrink and --resume need the same --from\n"
    "  --json             search: print the outcome as one JSON object instead\n"
    "  --quiet, -q        errors and failures only\n"
    "  --help, -h         this text\n"
    "\n"
    "Exit status:\n"
    "  0    no seed failed (replay: the seed passed)\n"
    "  1    a seed failed (replay: the failure reproduced; shrink: done)\n"
    "  2    bad input or usage: nothing is run or written\n"
    "  130  interrupted by Ctrl-C (SIGINT); 143 by SIGTERM, 129 by SIGHUP\n";

#define SCHEDULE_MAX (1u << 20) /* bytes of a child's schedule text we accept */
#define TAIL_RECORDS 12

struct xopts {
    const char *scenario, *db, *trace;
    const char *from;          /* --from CKPT */
    struct orr_ckpt_file ckf;  /* --from: the checkpoint, read once */
    char from_id[640];         /* --from: PATH@TIMEps#DIGEST, as stored */
    const char **aSet;
    size_t nSet;
    uint64_t seeds, first_seed, jobs, max_failures, replay, shrink, run_seed, resume;
    double time_budget, shrink_budget;
    bool has_first_seed, has_replay, has_shrink, has_run_seed, has_resume, has_seeds, quiet;
    bool json;
};

/* set by a stop signal during an in-process run; the only signal-visible state */
static volatile sig_atomic_t g_interrupted;
static void on_stop_signal(int sig) { g_interrupted = sig; }

/* ------------------------------------------------------------- options */

static int parse_time_arg(const char *what, const char *arg, double *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v > 0))
        return cli_usage_error("explore", "%s expects a positive number of seconds, got '%s'",
                               what, arg);
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct xopts *o)
{
    enum { OPT_SEEDS = 256, OPT_SEED, OPT_MAXF, OPT_TBUDGET, OPT_SET, OPT_DB, OPT_RESUME,
           OPT_REPLAY, OPT_TRACE, OPT_SHRINK, OPT_SBUDGET, OPT_RUNSEED, OPT_JSON, OPT_FROM };
    static const struct option longopts[] = {
        {"seeds", required_argument, NULL, OPT_SEEDS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"max-failures", required_argument, NULL, OPT_MAXF},
        {"time-budget", required_argument, NULL, OPT_TBUDGET},
        {"set", required_argument, NULL, OPT_SET},
        {"db", required_argument, NULL, OPT_DB},
        {"resume", required_argument, NULL, OPT_RESUME},
        {"replay", required_argument, NULL, OPT_REPLAY},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"shrink", required_argument, NULL, OPT_SHRINK},
        {"shrink-budget", required_argument, NULL, OPT_SBUDGET},
        {"run-seed", required_argument, NULL, OPT_RUNSEED},
        {"from", required_argument, NULL, OPT_FROM},
        {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, OPT_JSON},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        CLI_LIMIT_LONGOPTS,
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->aSet = calloc((size_t)argc + 1, sizeof *o->aSet);
    if (!o->aSet)
        orr_oom();
    o->jobs = cli_online_cpus();
    o->seeds = 100;
    o->shrink_budget = 120;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":qhj:", longopts, NULL)) != -1) {
        uint64_t *num = NULL;
        const char *what = NULL;
        bool positive = true;
        switch (ch) {
        case OPT_SET: o->aSet[o->nSet++] = optarg; continue;
        case OPT_DB: o->db = optarg; continue;
        case OPT_TRACE: o->trace = optarg; continue;
        case OPT_FROM: o->from = optarg; continue;
        case 'q': o->quiet = true; continue;
        case OPT_JSON: o->json = o->quiet = true; continue;
        case OPT_TBUDGET:
            if (parse_time_arg("--time-budget", optarg, &o->time_budget))
                return ORR_EXIT_USAGE;
            continue;
        case OPT_SBUDGET:
            if (parse_time_arg("--shrink-budget", optarg, &o->shrink_budget))
                return ORR_EXIT_USAGE;
            continue;
        CLI_LIMIT_CASES:
            if (cli_limit_option("explore", ch, optarg) < 0)
                return ORR_EXIT_USAGE;
            continue;
        case 'h': fputs(explore_help, stdout), fputs(cli_limit_help, stdout); return -1;
        case ':': return cli_usage_error("explore", "option '%s' needs a value", argv[optind - 1]);
        case 'j': num = &o->jobs, what = "-j"; break;
        case OPT_SEEDS: num = &o->seeds, what = "--seeds", o->has_seeds = true; break;
        case OPT_MAXF: num = &o->max_failures, what = "--max-failures"; break;
        case OPT_RESUME: num = &o->resume, what = "--resume", o->has_resume = true; break;
        case OPT_SEED: num = &o->first_seed, what = "--seed", o->has_first_seed = true; break;
        case OPT_REPLAY: num = &o->replay, what = "--replay", o->has_replay = true; break;
        case OPT_SHRINK: num = &o->shrink, what = "--shrink", o->has_shrink = true; break;
        case OPT_RUNSEED: num = &o->run_seed, what = "--run-seed", o->has_run_seed = true; break;
        default: return cli_usage_error("explore", "unknown option '%s'", argv[optind - 1]);
        }
        positive = ch == 'j' || ch == OPT_SEEDS || ch == OPT_MAXF || ch == OPT_RESUME;
        if (!cli_parse_u64(optarg, num) || (positive && *num == 0))
            return cli_usage_error("explore", "%s expects a %s integer, got '%s'", what,
                                   positive ? "positive" : "non-negative", optarg);
    }
    if (o->jobs > 1024)
        return cli_usage_error("explore", "-j %" PRIu64 " is more than 1024", o->jobs);
    if (optind + 1 < argc)
        return cli_usage_error("explore", "unexpected argument '%s'", argv[optind + 1]);
    o->scenario = optind < argc ? argv[optind] : NULL;
    if (!o->scenario && !o->has_resume && !o->from)
        return cli_usage_error("explore", "missing SCENARIO.yaml");
    if (o->from && (o->nSet || o->has_resume))
        return cli_usage_error("explore", "--from takes the scenario's overrides from the "
                                          "checkpoint (drop --set); --resume finds the "
                                          "checkpoint in the stored explore (drop --from)");
    if (o->from && o->trace)
        return cli_usage_error("explore", "--trace with --from is not supported yet: a trace "
                                          "begins at time 0 (replay without --from, or use "
                                          "orrery run)");
    if (o->has_resume && (o->scenario || o->has_first_seed || o->nSet || o->has_seeds))
        return cli_usage_error("explore", "--resume takes the scenario, overrides and seeds of "
                                          "the stored explore; drop SCENARIO, --set, --seed and "
                                          "--seeds");
    if (o->has_replay + o->has_shrink + o->has_run_seed + o->has_resume > 1)
        return cli_usage_error("explore", "--replay, --shrink, --run-seed and --resume exclude "
                                          "each other");
    if (o->json && (o->has_replay || o->has_shrink))
        return cli_usage_error("explore", "--json goes with a search, not --replay or --shrink");
    if (o->trace && !o->has_replay)
        return cli_usage_error("explore", "--trace goes with --replay");
    if (!o->db)
        o->db = getenv("ORRERY_DB") && *getenv("ORRERY_DB") ? getenv("ORRERY_DB")
                                                            : ORR_RESULTS_DEFAULT_PATH;
    return 0;
}

/* ------------------------------------------------------- one seed, here */

struct seed_run {
    /* in */
    uint64_t seed;
    const struct orr_schedule *forced; /* NULL: draw the seed's own */
    const char *trace;
    /* out */
    struct orr_schedule sch;
    struct orr_explore_verdict v;
    enum orr_stop_reason why;
    uint64_t digest, events;
    char *yaml;
    double wall;
    bool interrupted;
};

/* The hook between building and starting: draw (or take) the schedule. */
static int add_schedule(struct orr_scenario *sc, void *arg, struct orr_diag *d)
{
    struct seed_run *r = arg;
    if (!sc->explore) {
        orr_diag_error(d, &sc->cfg.root->mark, "explore",
                       "the scenario has no `explore:` section (docs/explore.md)");
        return ORR_ESCHEMA;
    }
    if (r->forced) {
        if (orr_schedule_copy(&r->sch, r->forced))
            return ORR_ENOMEM;
    } else {
        orr_explore_draw(sc->explore, sc->sim, r->seed, &r->sch);
    }
    return orr_explore_apply(sc->explore, sc->sim, &r->sch, d);
}

struct watch {
    const struct orr_explore *x;
    double t0, limit; /* wall-clock limit in seconds; 0 none */
    orr_time_t last_now;
    uint64_t last_events;
    bool livelock, timeout;
};

/* Every 4096 events: a stop signal, the wall budget, and simulated time
 * standing still for too many events. */
static int watch_hook(void *arg, const struct orr_sim *s)
{
    struct watch *w = arg;
    if (g_interrupted)
        return 1;
    if (w->limit > 0 && cli_wall_seconds() - w->t0 > w->limit)
        return w->timeout = true, 1;
    orr_time_t now = orr_now(s);
    uint64_t ev = orr_sim_events(s);
    if (now != w->last_now) {
        w->last_now = now;
        w->last_events = ev;
    } else if (w->x->props.livelock && ev - w->last_events >= w->x->props.livelock) {
        return w->livelock = true, 1;
    }
    return 0;
}

/* One more override (the stored or the checkpoint's: more than argv had room
 * for). */
static void add_set(struct xopts *o, const char *v)
{
    const char **a = realloc(o->aSet, (o->nSet + 2) * sizeof *a);
    if (!a)
        orr_oom();
    o->aSet = a;
    o->aSet[o->nSet++] = v;
    o->aSet[o->nSet] = NULL;
}

/* --from: read the checkpoint once and take the run's scenario, overrides
 * and model seed from it (a file of another build is refused). The stored
 * identity names the file and what it holds (time, digest). */
static int from_open(struct xopts *o, struct orr_diag *d)
{
    int rc = orr_ckpt_load(&o->ckf, o->from, d);
    if (rc == 0)
        rc = orr_ckpt_check_build(&o->ckf, o->from, d);
    if (rc)
        return rc;
    if (!o->scenario)
        o->scenario = o->ckf.scenario;
    for (size_t i = 0; i < o->ckf.nSet; i++)
        add_set(o, o->ckf.aSet[i]);
    snprintf(o->from_id, sizeof o->from_id, "%s@%" PRIu64 "ps#%016" PRIx64, o->from,
             (uint64_t)o->ckf.time, o->ckf.digest);
    return 0;
}

/* --from: the built scenario is the checkpoint's, and its explore horizon
 * lies after the checkpoint; then the faults are drawn from there. */
static int from_check(const struct xopts *o, struct orr_scenario *sc, struct orr_diag *d)
{
    if (sc->hash != o->ckf.scenario_hash) {
        orr_diag_error(d, NULL, NULL,
                       "checkpoint '%s' belongs to another version of scenario '%s' (hash "
                       "%016" PRIx64 ", the file now gives %016" PRIx64 ")",
                       o->from, o->scenario, o->ckf.scenario_hash, sc->hash);
        return ORR_EINVAL;
    }
    if (sc->explore && o->ckf.time >= sc->explore->horizon) {
        orr_diag_error(d, NULL, NULL,
                       "checkpoint '%s' was taken at %" PRIu64 " ps, not before the explore "
                       "horizon (%" PRIu64 " ps): no fault could fire after it",
                       o->from, (uint64_t)o->ckf.time, (uint64_t)sc->explore->horizon);
        return ORR_EINVAL;
    }
    if (sc->explore)
        sc->explore->from = o->ckf.time;
    return 0;
}

/* --from: restore the checkpoint into the freshly built sc, then draw (or
 * take) the seed's schedule after its time and schedule it. */
static int from_restore(const struct xopts *o, struct orr_scenario *sc, struct seed_run *r,
                        struct orr_diag *d)
{
    int rc = from_check(o, sc, d);
    if (rc == 0)
        rc = orr_ckpt_restore(sc->sim, &o->ckf, o->from, d);
    if (rc)
        return rc;
    size_t first = orr_sim_fault_count(sc->sim);
    if (r->forced) {
        if (orr_schedule_copy(&r->sch, r->forced))
            return ORR_ENOMEM;
    } else {
        orr_explore_draw(sc->explore, sc->sim, r->seed, &r->sch);
    }
    rc = orr_explore_apply(sc->explore, sc->sim, &r->sch, d);
    if (rc == 0 && orr_sim_schedule_faults_from(sc->sim, first)) {
        orr_diag_error(d, NULL, NULL, "a fault of the schedule lies before the checkpoint");
        rc = ORR_EINVAL;
    }
    return rc;
}

/* Build, run and judge one seed. 0, or an input error in d (exit 2). */
static int run_seed(const struct xopts *o, struct seed_run *r, struct orr_diag *d)
{
    struct orr_scenario sc;
    struct orr_trace_writer *w = NULL;
    int rc;
    if (o->from) { /* the model seed is the checkpoint's; r->seed draws the faults */
        uint64_t model_seed = o->ckf.seed;
        rc = orr_scenario_open(&sc, o->scenario, o->aSet, o->nSet, &model_seed,
                               orr_builtin_types, d);
        if (rc == 0 && !sc.explore) {
            orr_diag_error(d, &sc.cfg.root->mark, "explore",
                           "the scenario has no `explore:` section (docs/explore.md)");
            rc = ORR_ESCHEMA;
        }
        if (rc == 0)
            rc = from_restore(o, &sc, r, d);
    } else {
        rc = orr_scenario_open_hook(&sc, o->scenario, o->aSet, o->nSet, &r->seed,
                                    orr_builtin_types, add_schedule, r, d);
    }
    if (rc == 0 && r->trace)
        rc = cli_trace_open(&sc, o->scenario, r->trace, &w, d);
    if (rc) {
        orr_scenario_close(&sc);
        return rc;
    }
    struct watch wt = {.x = sc.explore, .t0 = cli_wall_seconds(),
                       .limit = (double)sc.explore->props.wall_timeout / 1e12};
    struct orr_run_hooks hooks = {.progress = watch_hook, .arg = &wt, .progress_every = 1u << 12,
                                  .trace = w};
    struct cli_saved_signals saved;
    g_interrupted = 0;
    cli_catch_stop_signals(on_stop_signal, &saved);
    r->why = orr_sim_run(sc.sim, &hooks);
    cli_restore_stop_signals(&saved);
    r->wall = cli_wall_seconds() - wt.t0;
    r->interrupted = r->why == ORR_STOP_INTERRUPT && !wt.livelock && !wt.timeout;
    if (r->why == ORR_STOP_ERROR) {
        orr_diag_error(d, NULL, NULL, "writing trace '%s' failed", r->trace);
        rc = ORR_EIO;
    }
    if (rc == 0) {
        orr_sim_finish(sc.sim);
        rc = orr_explore_judge(sc.explore, sc.sim, r->why, wt.livelock, wt.timeout,
                               sc.opt.stop_when_workloads_done, sc.aBudget, sc.nBudget, &r->v, d);
    }
    r->digest = orr_sim_digest(sc.sim);
    r->events = orr_sim_events(sc.sim);
    r->yaml = orr_explore_yaml(sc.explore, sc.sim, &r->sch);
    if (w) {
        int wr = rc == 0 ? cli_trace_finish(&sc, w) : (orr_trace_writer_abort(w), 0);
        if (wr && rc == 0) {
            orr_diag_error(d, NULL, NULL, "cannot finish trace '%s': %s", r->trace,
                           orr_strerror(wr));
            rc = wr;
        }
    }
    orr_scenario_close(&sc);
    return rc;
}

static void seed_run_free(struct seed_run *r)
{
    orr_schedule_free(&r->sch);
    free(r->yaml);
    r->yaml = NULL;
}

/* --run-seed: what a search's child prints, one JSON object. */
static int cmd_run_seed(const struct xopts *o, struct orr_diag *d)
{
    struct seed_run r = {.seed = o->run_seed};
    int rc = run_seed(o, &r, d);
    if (rc) {
        seed_run_free(&r);
        return ORR_EXIT_USAGE;
    }
    if (r.interrupted) {
        seed_run_free(&r);
        return 128 + (int)g_interrupted;
    }
    struct orr_json j;
    orr_json_init(&j, stdout, false);
    orr_json_obj_begin(&j);
    orr_json_key(&j, "seed"), orr_json_u64(&j, r.seed);
    orr_json_key(&j, "status"), orr_json_str(&j, r.v.failed ? ORR_EXPLORE_FAIL : ORR_EXPLORE_PASS);
    orr_json_key(&j, "property"), orr_json_str(&j, r.v.property);
    orr_json_key(&j, "location"), orr_json_str(&j, r.v.location);
    orr_json_key(&j, "detail"), orr_json_str(&j, r.v.detail);
    orr_json_key(&j, "at"), orr_json_u64(&j, r.v.at);
    orr_json_key(&j, "digest"), orr_json_hex64(&j, r.digest);
    orr_json_key(&j, "events"), orr_json_u64(&j, r.events);
    orr_json_key(&j, "firings"), orr_json_u64(&j, r.sch.n);
    orr_json_key(&j, "wall"), orr_json_dbl(&j, r.wall);
    orr_json_key(&j, "schedule"), orr_json_str(&j, r.yaml);
    orr_json_obj_end(&j);
    orr_json_end(&j);
    int code = r.v.failed ? ORR_EXIT_FAILED : ORR_EXIT_OK;
    seed_run_free(&r);
    return code;
}

/* --------------------------------------------------------------- search */

struct failure_group {
    char property[16], location[128];
    char detail[256];
    uint64_t first_seed, count;
    orr_time_t at;
    uint64_t firings;
};

struct search {
    const struct xopts *o;
    int64_t id;
    struct orr_results *db;
    uint64_t first_seed, seeds;
    bool *aDone; /* [seeds]: stored before this invocation or now */
    uint64_t done, failed, errors;
    struct failure_group *aGroup;
    size_t nGroup;
    int signal;
};

static void print_replay_command(const struct search *x, uint64_t seed, FILE *out)
{
    fprintf(out, "    replay: orrery explore %s --replay %" PRIu64, x->o->scenario, seed);
    if (x->o->from)
        fprintf(out, " --from %s", x->o->from);
    for (size_t i = 0; !x->o->from && i < x->o->nSet; i++)
        fprintf(out, " --set %s", x->o->aSet[i]);
    if (strcmp(x->o->db, ORR_RESULTS_DEFAULT_PATH))
        fprintf(out, " --db %s", x->o->db);
    fprintf(out, "\n");
}

/* A failure joins its (property, location) group; a new group is printed. */
static void note_failure(struct search *x, const struct orr_explore_seed *s,
                         struct cli_progress *prog)
{
    for (size_t i = 0; i < x->nGroup; i++) {
        struct failure_group *g = &x->aGroup[i];
        if (strcmp(g->property, s->property) == 0 && strcmp(g->location, s->location) == 0) {
            g->count++;
            if (s->seed < g->first_seed) /* seeds end out of order under -j */
                g->first_seed = s->seed;
            return;
        }
    }
    x->aGroup = realloc(x->aGroup, (x->nGroup + 1) * sizeof *x->aGroup);
    if (!x->aGroup)
        orr_oom();
    struct failure_group *g = &x->aGroup[x->nGroup++];
    memset(g, 0, sizeof *g);
    snprintf(g->property, sizeof g->property, "%s", s->property);
    snprintf(g->location, sizeof g->location, "%s", s->location);
    snprintf(g->detail, sizeof g->detail, "%s", s->detail);
    g->first_seed = s->seed;
    g->count = 1;
    g->at = s->at;
    g->firings = s->firings;
    cli_progress_clear(prog);
    if (x->o->json)
        return;
    char t[32];
    cli_format_value((double)s->at, "ps", t, sizeof t);
    printf("FAIL seed %" PRIu64 ": %s at %s (%s) after %" PRIu64 " fault firings\n    %s\n",
           s->seed, s->property, s->location, t, s->firings, s->detail);
    print_replay_command(x, s->seed, stdout);
    fflush(stdout);
}

static char **seed_argv(const struct xopts *o, uint64_t seed)
{
    char **av = calloc(8 + 2 * o->nSet + 2 * CLI_LIMIT_COUNT, sizeof *av);
    char num[24];
    size_t k = 0;
    snprintf(num, sizeof num, "%" PRIu64, seed);
    if (!av)
        orr_oom();
    av[k++] = strdup("orrery");
    av[k++] = strdup("explore");
    av[k++] = strdup(o->scenario);
    av[k++] = strdup("--run-seed");
    av[k++] = strdup(num);
    if (o->from) { /* the child takes the overrides from the checkpoint */
        av[k++] = strdup("--from");
        av[k++] = strdup(o->from);
    }
    for (size_t i = 0; !o->from && i < o->nSet; i++) {
        av[k++] = strdup("--set");
        av[k++] = strdup(o->aSet[i]);
    }
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

/* A child ended: store its outcome. 0, or a database error in d. */
static int record_seed(struct search *x, struct cli_job *j, struct cli_progress *prog,
                       struct orr_diag *d)
{
    uint64_t seed = *(uint64_t *)j->user;
    const char *out = j->out_text ? j->out_text : "";
    char status[16] = "", prop[16] = "", loc[128] = "", detail[256] = "", digest[20] = "";
    char *sched = malloc(SCHEDULE_MAX);
    if (!sched)
        orr_oom();
    sched[0] = 0;
    uint64_t at = 0, events = 0, firings = 0;
    bool ok = (j->exit_code == 0 || j->exit_code == 1) &&
              cli_json_get_str(out, "status", status, sizeof status) &&
              cli_json_get_str(out, "property", prop, sizeof prop) &&
              cli_json_get_str(out, "location", loc, sizeof loc) &&
              cli_json_get_str(out, "detail", detail, sizeof detail) &&
              cli_json_get_str(out, "digest", digest, sizeof digest) &&
              cli_json_get_str(out, "schedule", sched, SCHEDULE_MAX) &&
              cli_json_get_u64(out, "at", &at) && cli_json_get_u64(out, "events", &events) &&
              cli_json_get_u64(out, "firings", &firings);
    if (j->exit_code > 128 && !ok) { /* interrupted: not stored, a resume runs it */
        free(sched);
        return 0;
    }
    if (!ok) {
        /* bad input is caught before any child runs; this is a crash */
        snprintf(status, sizeof status, "%s", ORR_EXPLORE_ERROR);
        snprintf(prop, sizeof prop, "crash");
        snprintf(loc, sizeof loc, "exit %d", j->exit_code);
        cli_job_first_line(j, detail, sizeof detail);
    }
    struct orr_explore_seed s = {
        .seed = seed, .status = status, .property = prop, .location = loc, .detail = detail,
        .at = at, .digest = strtoull(digest, NULL, 16), .events = events, .firings = firings,
        .schedule = sched, .wall_time_s = j->wall};
    int rc = orr_results_add_explore_seed(x->db, x->id, &s, d);
    if (rc == 0) {
        x->aDone[seed - x->first_seed] = true;
        x->done++;
        if (strcmp(status, ORR_EXPLORE_PASS)) {
            x->failed++;
            note_failure(x, &s, prog);
        }
    }
    free(sched);
    return rc;
}

static void progress_idle(void *arg) { cli_progress_tick(arg); }

static int run_search(struct search *x, struct orr_diag *d)
{
    const struct xopts *o = x->o;
    struct cli_pool pool;
    if (cli_pool_open(&pool, (unsigned)o->jobs)) {
        orr_diag_error(d, NULL, NULL, "cannot find the orrery executable (/proc/self/exe)");
        return ORR_EIO;
    }
    struct cli_progress prog;
    cli_progress_start(&prog, cli_progress_wanted(o->quiet),
                       &(struct cli_progress_spec){.verb = "explore", .unit = "seeds",
                                                   .total = x->seeds, .done = x->done});
    pool.idle = progress_idle;
    pool.idle_arg = &prog;
    double t0 = cli_wall_seconds();
    uint64_t next = 0, done0 = x->done;
    int rc = 0;
    for (;;) {
        bool stop = cli_pool_interrupted(&pool) || rc ||
                    (o->max_failures && x->failed >= o->max_failures) ||
                    (o->time_budget > 0 && cli_wall_seconds() - t0 > o->time_budget);
        while (!stop && next < x->seeds && !cli_pool_full(&pool)) {
            if (x->aDone[next]) {
                next++;
                continue;
            }
            struct cli_job *j = calloc(1, sizeof *j);
            uint64_t *seed = malloc(sizeof *seed);
            if (!j || !seed)
                orr_oom();
            *seed = x->first_seed + next++;
            j->argv = seed_argv(o, *seed);
            j->user = seed;
            if (cli_pool_start(&pool, j)) {
                orr_diag_error(d, NULL, NULL, "cannot start a seed's run");
                free_argv(j->argv);
                free(seed);
                free(j);
                rc = ORR_EIO;
                break;
            }
        }
        struct cli_job *j = cli_pool_wait(&pool);
        if (!j)
            break;
        if (rc == 0)
            rc = record_seed(x, j, &prog, d);
        cli_progress_label(&prog, "%" PRIu64 " failed", x->failed);
        cli_progress_update(&prog, x->done, x->done);
        free_argv(j->argv);
        free(j->user);
        cli_job_free(j);
        free(j);
    }
    x->signal = cli_pool_signal(&pool);
    cli_pool_close(&pool);
    cli_progress_clear(&prog);
    double wall = cli_wall_seconds() - t0;
    if (!o->quiet)
        printf("explore %" PRId64 ": %" PRIu64 " of %" PRIu64 " seeds run, %" PRIu64
               " failed (%zu distinct); %" PRIu64 " this time in %.1f s (%.2f seeds/s)\n",
               x->id, x->done, x->seeds, x->failed, x->nGroup, x->done - done0, wall,
               wall > 0 ? (double)(x->done - done0) / wall : 0.0);
    return rc;
}

static void print_json(const struct search *x)
{
    struct orr_json j;
    orr_json_init(&j, stdout, true);
    orr_json_obj_begin(&j);
    orr_json_key(&j, "explore_id"), orr_json_i64(&j, x->id);
    orr_json_key(&j, "scenario"), orr_json_str(&j, x->o->scenario);
    orr_json_key(&j, "first_seed"), orr_json_u64(&j, x->first_seed);
    orr_json_key(&j, "seeds"), orr_json_u64(&j, x->seeds);
    orr_json_key(&j, "done"), orr_json_u64(&j, x->done);
    orr_json_key(&j, "failed"), orr_json_u64(&j, x->failed);
    orr_json_key(&j, "interrupted"), orr_json_bool(&j, x->signal != 0);
    orr_json_key(&j, "failures");
    orr_json_arr_begin(&j);
    for (size_t i = 0; i < x->nGroup; i++) {
        const struct failure_group *g = &x->aGroup[i];
        char *cmd = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&cmd, &len);
        if (!f)
            orr_oom();
        print_replay_command(x, g->first_seed, f);
        fclose(f);
        char *s = cmd + strspn(cmd, " "); /* "replay: orrery ..." */
        s += strncmp(s, "replay: ", 8) == 0 ? 8 : 0;
        s[strcspn(s, "\n")] = 0;
        orr_json_obj_begin(&j);
        orr_json_key(&j, "property"), orr_json_str(&j, g->property);
        orr_json_key(&j, "location"), orr_json_str(&j, g->location);
        orr_json_key(&j, "seeds"), orr_json_u64(&j, g->count);
        orr_json_key(&j, "first_seed"), orr_json_u64(&j, g->first_seed);
        orr_json_key(&j, "detail"), orr_json_str(&j, g->detail);
        orr_json_key(&j, "replay"), orr_json_str(&j, s);
        orr_json_obj_end(&j);
        free(cmd);
    }
    orr_json_arr_end(&j);
    orr_json_obj_end(&j);
    orr_json_end(&j);
}

static void print_groups(const struct search *x)
{
    if (!x->nGroup || x->o->quiet)
        return;
    printf("\ndistinct failures (property at location: seeds, first seed):\n");
    for (size_t i = 0; i < x->nGroup; i++) {
        const struct failure_group *g = &x->aGroup[i];
        printf("  %s at %s: %" PRIu64 " seed%s, first %" PRIu64 "\n    %s\n", g->property,
               g->location, g->count, g->count == 1 ? "" : "s", g->first_seed, g->detail);
        print_replay_command(x, g->first_seed, stdout);
    }
}

/* Load and validate the scenario (its explore section included) before
 * anything is written. */
static int check_scenario(const struct xopts *o, struct orr_scenario *sc, struct orr_diag *d)
{
    int rc = orr_scenario_open(sc, o->scenario, o->aSet, o->nSet, NULL, orr_builtin_types, d);
    if (rc == 0 && !sc->explore) {
        orr_diag_error(d, &sc->cfg.root->mark, "explore",
                       "the scenario has no `explore:` section (docs/explore.md)");
        rc = ORR_ESCHEMA;
    }
    if (rc == 0 && o->from)
        rc = from_check(o, sc, d);
    return rc;
}

static int cmd_search(struct xopts *o, struct orr_diag *d)
{
    struct search x = {.o = o};
    struct orr_scenario sc;
    struct orr_explore_info info = {0};
    int code = ORR_EXIT_USAGE;
    char *ov = NULL; /* the stored overrides, split into o->aSet */
    memset(&sc, 0, sizeof sc);
    if (o->has_resume) {
        if (orr_results_open(&x.db, o->db, d) ||
            orr_results_read_explore(x.db, (int64_t)o->resume, &info, d))
            goto out;
        o->scenario = info.scenario;
        if (info.from && *info.from) { /* PATH@TIMEps#DIGEST: the same file, unchanged */
            static char path[640];
            snprintf(path, sizeof path, "%s", info.from);
            char *at = strrchr(path, '@');
            if (at)
                *at = 0;
            o->from = path;
            if (from_open(o, d))
                goto out;
            o->nSet = 0; /* the stored overrides follow */
            if (strcmp(o->from_id, info.from)) {
                orr_diag_error(d, NULL, NULL, "explore %" PRIu64 " started from checkpoint %s; "
                               "'%s' now holds another (%s)", o->resume, info.from, path,
                               o->from_id);
                goto out;
            }
        }
        /* the stored overrides, one per line */
        if (!(ov = strdup(info.overrides)))
            orr_oom();
        for (char *p = strtok(ov, "\n"); p; p = strtok(NULL, "\n"))
            add_set(o, p);
        if (check_scenario(o, &sc, d))
            goto out;
        if (sc.hash != info.scenario_hash) {
            orr_diag_error(d, NULL, NULL, "explore %" PRIu64 " was of another version of '%s' "
                                          "(the scenario changed): start a new explore",
                           o->resume, o->scenario);
            goto out;
        }
        x.id = info.id;
        x.first_seed = info.first_seed;
        x.seeds = info.seeds;
        x.aDone = calloc(x.seeds + 1, sizeof *x.aDone);
        if (!x.aDone)
            orr_oom();
        for (size_t i = 0; i < info.nSeed; i++) {
            const struct orr_explore_seed *s = &info.aSeed[i];
            if (s->seed < x.first_seed || s->seed - x.first_seed >= x.seeds)
                continue;
            x.aDone[s->seed - x.first_seed] = true;
            x.done++;
            if (strcmp(s->status, ORR_EXPLORE_PASS)) {
                x.failed++;
                struct cli_progress none = {0};
                note_failure(&x, s, &none);
            }
        }
        if (!o->quiet)
            printf("explore %" PRId64 ": resuming, %" PRIu64 " of %" PRIu64 " seeds stored\n",
                   x.id, x.done, x.seeds);
    } else {
        if (check_scenario(o, &sc, d))
            goto out;
        struct cli_files files = {0};
        cli_files_add_config(&files, &sc.cfg);
        cli_files_add(&files, o->db, "the database", ORR_FILE_UPDATE);
        if (cli_files_check(&files, "explore"))
            goto out;
        x.first_seed = o->has_first_seed ? o->first_seed : sc.seed;
        x.seeds = o->seeds;
        if (x.first_seed + x.seeds < x.first_seed) {
            code = cli_usage_error("explore", "--seed + --seeds overflows 64 bits");
            goto out;
        }
        x.aDone = calloc(x.seeds + 1, sizeof *x.aDone);
        if (!x.aDone)
            orr_oom();
        if (orr_results_open(&x.db, o->db, d))
            goto out;
        struct orr_explore_record rec = {.scenario = o->scenario, .scenario_hash = sc.hash,
                                         .overrides = sc.overrides, .build_id = orr_build_id(),
                                         .first_seed = x.first_seed, .seeds = x.seeds,
                                         .from = o->from ? o->from_id : NULL};
        if (orr_results_create_explore(x.db, &rec, &x.id, d))
            goto out;
        if (!o->quiet)
            printf("explore %" PRId64 ": %s, seeds %" PRIu64 "..%" PRIu64 ", -j %" PRIu64 "\n",
                   x.id, o->scenario, x.first_seed, x.first_seed + x.seeds - 1, o->jobs);
    }
    fflush(stdout);
    orr_scenario_close(&sc);
    if (run_search(&x, d)) {
        code = ORR_EXIT_USAGE;
        goto out;
    }
    if (o->json)
        print_json(&x);
    else
        print_groups(&x);
    code = x.signal ? 128 + x.signal : x.failed ? ORR_EXIT_FAILED : ORR_EXIT_OK;
    if (x.signal && !o->quiet)
        printf("interrupted: `orrery explore --resume %" PRId64 "%s%s` runs the rest\n", x.id,
               strcmp(o->db, ORR_RESULTS_DEFAULT_PATH) ? " --db " : "",
               strcmp(o->db, ORR_RESULTS_DEFAULT_PATH) ? o->db : "");
out:
    orr_scenario_close(&sc);
    orr_results_close(x.db);
    free(x.aDone);
    free(x.aGroup);
    orr_results_explore_free(&info);
    free(ov);
    return code;
}

/* ------------------------------------------------------ replay, shrink */

/* The stored outcome of seed under this scenario, or exit 2. */
static int find_seed(const struct xopts *o, uint64_t seed, struct orr_explore_seed *out,
                     struct orr_diag *d)
{
    struct orr_scenario sc;
    struct orr_results *db = NULL;
    int64_t id = 0;
    int rc = check_scenario(o, &sc, d);
    if (rc == 0 && access(o->db, F_OK) != 0) {
        orr_diag_error(d, NULL, NULL, "no results database '%s': run `orrery explore %s` first",
                       o->db, o->scenario);
        rc = ORR_ENOENT;
    }
    if (rc == 0)
        rc = orr_results_open(&db, o->db, d);
    if (rc == 0) {
        rc = orr_results_find_explore_seed(db, sc.hash, sc.overrides,
                                           o->from ? o->from_id : NULL, seed, out, &id, d);
        if (rc == ORR_ENOENT)
            orr_diag_error(d, NULL, NULL,
                           "seed %" PRIu64 " of '%s' is not in the results database '%s' (with "
                           "these overrides): run `orrery explore` over it first",
                           seed, o->scenario, o->db);
    }
    orr_results_close(db);
    orr_scenario_close(&sc);
    return rc;
}

static void print_verdict(const struct seed_run *r)
{
    char t[32];
    if (!r->v.failed) {
        printf("seed %" PRIu64 ": every property held (%" PRIu64 " fault firings)\n", r->seed,
               r->sch.n);
        return;
    }
    cli_format_value((double)r->v.at, "ps", t, sizeof t);
    printf("seed %" PRIu64 ": FAIL %s at %s, simulated time %s\n  %s\n", r->seed, r->v.property,
           r->v.location, t, r->v.detail);
}

/* The last records of a trace, with component and kind names. */
static void print_tail(const char *path, struct orr_diag *d)
{
    struct orr_trace_reader *rd;
    if (orr_trace_open(&rd, path, d))
        return;
    const struct orr_trace_header *h = orr_trace_header(rd);
    struct orr_trace_rec ring[TAIL_RECORDS], rec;
    uint64_t n = 0;
    while (orr_trace_next(rd, &rec) == 1)
        ring[n++ % TAIL_RECORDS] = rec;
    printf("trace tail (%s, last %d of %" PRIu64 " records):\n", path,
           (int)(n < TAIL_RECORDS ? n : TAIL_RECORDS), n);
    for (uint64_t i = n > TAIL_RECORDS ? n - TAIL_RECORDS : 0; i < n; i++) {
        const struct orr_trace_rec *r = &ring[i % TAIL_RECORDS];
        char t[32];
        cli_format_value((double)r->time, "ps", t, sizeof t);
        const char *comp = r->comp < h->nComp ? h->aCompPath[r->comp] : "engine";
        const char *kind = r->kind < h->nKind ? h->aKindName[r->kind] : "?";
        printf("  %14s  %-28s %-20s a=%" PRIu64 " b=%" PRIu64 "\n", t, comp, kind, r->a, r->b);
    }
    orr_trace_close(rd);
}

static int cmd_replay(const struct xopts *o, struct orr_diag *d)
{
    struct orr_explore_seed stored;
    if (find_seed(o, o->replay, &stored, d))
        return ORR_EXIT_USAGE;
    struct seed_run r = {.seed = o->replay, .trace = o->trace};
    int code = ORR_EXIT_USAGE;
    if (run_seed(o, &r, d))
        goto out;
    if (r.interrupted) {
        code = 128 + (int)g_interrupted;
        goto out;
    }
    print_verdict(&r);
    printf("fault schedule (%zu firings):\n%s", r.sch.n, r.yaml);
    bool same = r.digest == stored.digest;
    printf("digest %016" PRIx64 " (%s the explore's %016" PRIx64 ")\n", r.digest,
           same ? "same as" : "DIFFERS from", stored.digest);
    if (o->trace)
        print_tail(o->trace, d);
    if (!same) {
        fprintf(stderr, "error: replay of seed %" PRIu64 " diverged from the stored run\n",
                o->replay);
        code = ORR_EXIT_FAILED;
    } else {
        code = r.v.failed ? ORR_EXIT_FAILED : ORR_EXIT_OK;
    }
out:
    seed_run_free(&r);
    orr_results_explore_seed_free(&stored);
    return code;
}

/* Does sch still fail the way the original did (the same property; the
 * place may move: a stall shows first at whichever node times out first)? */
static int still_fails(const struct xopts *o, uint64_t seed, const struct orr_schedule *sch,
                       const struct orr_explore_verdict *want, bool *fails, bool *interrupted,
                       struct orr_diag *d)
{
    struct seed_run r = {.seed = seed, .forced = sch};
    int rc = run_seed(o, &r, d);
    *fails = rc == 0 && r.v.failed && strcmp(r.v.property, want->property) == 0;
    *interrupted = r.interrupted;
    seed_run_free(&r);
    return rc;
}

static int cmd_shrink(const struct xopts *o, struct orr_diag *d)
{
    struct orr_explore_seed stored;
    struct orr_scenario tpl;
    if (find_seed(o, o->shrink, &stored, d))
        return ORR_EXIT_USAGE;
    int code = ORR_EXIT_USAGE;
    struct seed_run first = {.seed = o->shrink};
    struct orr_schedule cur = {0}, cand = {0};
    memset(&tpl, 0, sizeof tpl);
    if (strcmp(stored.status, ORR_EXPLORE_FAIL)) {
        orr_diag_error(d, NULL, NULL, "seed %" PRIu64 " did not fail (status %s): nothing to "
                                      "shrink", o->shrink, stored.status);
        goto out;
    }
    /* the model the schedules index (component ids, rules): built, never run */
    if (orr_scenario_open(&tpl, o->scenario, o->aSet, o->nSet, &o->shrink, orr_builtin_types, d))
        goto out;
    if (o->from && from_check(o, &tpl, d))
        goto out;
    double t0 = cli_wall_seconds();
    if (run_seed(o, &first, d))
        goto out;
    if (!first.v.failed) {
        orr_diag_error(d, NULL, NULL, "seed %" PRIu64 " passes now: nothing to shrink",
                       o->shrink);
        goto out;
    }
    if (!o->quiet)
        print_verdict(&first);
    if (orr_schedule_copy(&cur, &first.sch))
        orr_oom();
    size_t k = 0, runs = 1, kept = 0;
    bool interrupted = false, out_of_time = false;
    while (orr_explore_shrink_step(tpl.explore, tpl.sim, &cur, k, &cand)) {
        if (cli_wall_seconds() - t0 > o->shrink_budget) {
            out_of_time = true;
            orr_schedule_free(&cand);
            break;
        }
        bool fails;
        if (still_fails(o, o->shrink, &cand, &first.v, &fails, &interrupted, d)) {
            orr_schedule_free(&cand);
            goto out;
        }
        runs++;
        if (interrupted) {
            orr_schedule_free(&cand);
            break;
        }
        if (fails) {
            orr_schedule_free(&cur);
            cur = cand;
            kept++;
            k = 0;
        } else {
            orr_schedule_free(&cand);
            k++;
        }
    }
    double wall = cli_wall_seconds() - t0;
    char *yaml = orr_explore_yaml(tpl.explore, tpl.sim, &cur);
    printf("shrunk seed %" PRIu64 ": %zu fault firings -> %zu in %zu runs (%zu kept), %.2f s%s\n",
           o->shrink, first.sch.n, cur.n, runs, kept, wall,
           interrupted ? " (interrupted)" : out_of_time ? " (shrink budget spent)" : ", a local minimum");
    printf("still fails: %s\n", first.v.property);
    if (o->from)
        printf("reproduce with `orrery run SCENARIO --seed %" PRIu64 "` (it runs the warm-up "
               "again) after appending these entries, all after the checkpoint's %" PRIu64
               " ps, to the scenario's faults:\n", o->ckf.seed, (uint64_t)o->ckf.time);
    else
        printf("reproduce with `orrery run SCENARIO --seed %" PRIu64 "` after appending these "
               "entries to the scenario's faults:\n", o->shrink);
    printf("faults:\n%s", yaml);
    free(yaml);
    code = interrupted ? 128 + (int)g_interrupted : ORR_EXIT_FAILED;
out:
    orr_schedule_free(&cur);
    seed_run_free(&first);
    orr_scenario_close(&tpl);
    orr_results_explore_seed_free(&stored);
    return code;
}

int cmd_explore(int argc, char **argv)
{
    struct xopts o;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        free(o.aSet);
        return rc < 0 ? ORR_EXIT_OK : rc;
    }
    int code;
    if (o.from && from_open(&o, &d))
        code = ORR_EXIT_USAGE;
    else if (o.has_run_seed)
        code = cmd_run_seed(&o, &d);
    else if (o.has_replay)
        code = cmd_replay(&o, &d);
    else if (o.has_shrink)
        code = cmd_shrink(&o, &d);
    else
        code = cmd_search(&o, &d);
    if (orr_diag_count(&d))
        orr_diag_print(&d, stderr);
    orr_diag_free(&d);
    free(o.aSet);
    orr_ckpt_file_free(&o.ckf);
    return code;
}
