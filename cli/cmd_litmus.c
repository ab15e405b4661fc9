/* `orrery litmus FILE...`: run each litmus test N times on a fresh
 * one-socket machine (one tcore per test thread, small private caches, a
 * chosen coherence protocol), each run with its own seed and its own timing
 * perturbation, and check the histogram of final states against the
 * test's `(* orrery: ... *)` expectation.
 *
 * One run, from seed s alone (so `--seed s --runs 1` replays it exactly):
 *
 *   perturb(s)  -> router jitter J and core start jitter T (machine keys
 *                  `jitter`, `start_jitter`), each drawn from a ladder of
 *                  levels spanning "none" to "a few cache misses"
 *   machine_yaml -> orr_config_load_string -> machine type's expand
 *   orr_sim_start, orr_sim_run (until every core is done; a stop time and
 *                  an event limit are safety nets), orr_sim_finish
 *   registers   <- metrics sockS.coreK litmus.EAX ... (core k runs thread k)
 *   memory      <- cohmon_peek: the last store to each location in
 *                  coherence order
 *   outcome     =  litmus_outcome(); witness = litmus_witness()
 *
 * Every test file is parsed before anything runs: a malformed one is exit
 * 2 with its file:line:col. Output is a pure function of the arguments
 * (no wall clock on stdout), so two identical commands print identical
 * bytes. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hw/cohmon.h"
#include "hw/registry.h"
#include "orrery/config.h"
#include "orrery/error.h"
#include "orrery/json.h"
#include "orrery/rng.h"
#include "orrery/sim.h"
#include "orrery/units.h"
#include "workloads/litmus.h"

static const char litmus_help[] =
    "Usage: orrery litmus FILE.litmus... [options]\n"
    "\n"
    "Run litmus tests (herd7 x86 format, docs/litmus.md) on the modelled\n"
    "machine: a one-socket machine with one core per test thread, each run\n"
    "with its own seed and its own perturbation of message and start timing.\n"
    "Prints, per test, the histogram of final states, how many runs satisfied\n"
    "the condition (witnesses), the expectation from the file's\n"
    "(* orrery: tso=... observed=... *) comment, and PASS or FAIL.\n"
    "\n"
    "Options:\n"
    "  --runs N          runs per test (default 400), seeds S .. S+N-1\n"
    "  --seed S          first seed (default 1); --seed S --runs 1 replays\n"
    "                    run S exactly\n"
    "  --protocol P      coherence protocol: msi, mesi, moesi or a full\n"
    "                    name such as mesi-snoop (default mesi)\n"
    "  --json            print the results as one JSON object\n"
    "  --quiet, -q       print only failing tests and errors\n"
    "  --help, -h        this text\n"
    "\n"
    "A progress line is drawn on stderr when it is a terminal (not with -q).\n"
    "\n"
    "Exit status: 0 every test met its expectation; 1 a test did not, or a\n"
    "run failed (a coherence check, a deadlock); 2 bad input or usage (a\n"
    "malformed test file is reported as file:line:col and nothing is run).\n";

#define DEFAULT_RUNS 400
#define LOC_BASE 0 /* where locations live; tcore loads tests at base 0 too */
#define STOP_TIME (UINT64_C(5) * 1000 * 1000 * 1000) /* 5 ms: > the 1 ms deadlock check */
#define STOP_EVENTS 1000000
#define FAILURES_SHOWN 3

struct options {
    uint64_t runs, seed;
    const char *protocol;
    bool json, quiet;
};

/* One distinct final state and how often it was seen. */
struct outcome {
    char *text;
    uint64_t count, first_seed;
    bool witness;
};

struct failure {
    uint64_t seed;
    char *message;
};

/* Everything one test's runs produced. */
struct tally {
    struct outcome *aOut;
    size_t nOut, capOut;
    struct failure aFail[FAILURES_SHOWN];
    uint64_t nRun, nWitness, nFailed;
};

/* ------------------------------------------------------------ helpers */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        abort();
    return q;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xrealloc(NULL, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("orrery litmus: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(see 'orrery litmus --help')\n", stderr);
    return ORR_EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (!*s || *s < '0' || *s > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || (v == ULLONG_MAX))
        return false;
    *out = v;
    return true;
}

/* s as a YAML double-quoted scalar (a path or protocol name may hold any
 * byte); malloc'ed. */
static char *yaml_quote(const char *s)
{
    size_t n = strlen(s);
    char *q = xrealloc(NULL, 4 * n + 3), *p = q;
    *p++ = '"';
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            p += sprintf(p, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            p += sprintf(p, "\\x%02x", ch);
        else
            *p++ = (char)ch;
    }
    *p++ = '"';
    *p = '\0';
    return q;
}

static const char *tso_name(const struct litmus_test *t)
{
    return t->tso == LITMUS_TSO_ALLOWED ? "allowed" : t->tso == LITMUS_TSO_FORBIDDEN ? "forbidden"
                                                                                       : NULL;
}

static const char *observed_name(const struct litmus_test *t)
{
    return t->observed == LITMUS_OBS_REQUIRED ? "required"
           : t->observed == LITMUS_OBS_NEVER  ? "never"
                                              : "optional";
}

/* "tso=forbidden", "tso=allowed observed=required", or "none stated". */
static void expectation_text(const struct litmus_test *t, char *buf, size_t n)
{
    if (!tso_name(t))
        snprintf(buf, n, "none stated");
    else if (t->tso == LITMUS_TSO_ALLOWED)
        snprintf(buf, n, "tso=allowed observed=%s", observed_name(t));
    else
        snprintf(buf, n, "tso=forbidden");
}

/* ------------------------------------------------------- perturbation */

/* The timing of one run, a function of its seed only. The levels are
 * picked against the default machine's latencies: a message hop is a few
 * ns and a cold miss to DRAM is tens of ns, so router jitter from 0 to
 * ~two hops reorders messages in flight, and start jitter from 0 to a few
 * misses slides whole threads past each other — from "all start at once"
 * (where store buffering shows) to "one thread finishes before the other
 * starts" (the sequential outcomes). Drain jitter holds each buffered
 * store back for a while, as a real store buffer waiting on retirement
 * and ownership does; without it a store drains the moment it is
 * buffered and R's relaxed outcome (a store that drains after the other
 * thread's two) is practically never seen. The cores draw their actual start
 * delays and the routers their per-message delays from their own seeded
 * streams (tcore.c, router.c). */
struct perturb {
    orr_time_t jitter, start_jitter, drain_jitter;
};

static struct perturb perturb_for(uint64_t seed)
{
    static const orr_time_t aJitterPs[] = {0, 1000, 5000, 20000, 100000, 500000};
    static const orr_time_t aStartPs[] = {0, 2000, 10000, 40000, 120000, 300000};
    struct orr_rng r;
    orr_rng_seed(&r, seed, "litmus.perturb");
    struct perturb p;
    p.jitter = aJitterPs[orr_rng_below(&r, sizeof aJitterPs / sizeof aJitterPs[0])];
    p.start_jitter = aStartPs[orr_rng_below(&r, sizeof aStartPs / sizeof aStartPs[0])];
    p.drain_jitter = aStartPs[orr_rng_below(&r, sizeof aStartPs / sizeof aStartPs[0])];
    return p;
}

/* --------------------------------------------------------------- a run */

static char *machine_yaml(const char *path, unsigned nThread, const char *protocol,
                          const struct perturb *p)
{
    char *qpath = yaml_quote(path), *qproto = yaml_quote(protocol);
    char jit[32], start[32], drain[32];
    orr_unit_format(ORR_UNIT_TIME, p->jitter, jit, sizeof jit);
    orr_unit_format(ORR_UNIT_TIME, p->start_jitter, start, sizeof start);
    orr_unit_format(ORR_UNIT_TIME, p->drain_jitter, drain, sizeof drain);
    char *y = xprintf("machine:\n"
                      "  sockets: 1\n"
                      "  cores_per_socket: %u\n"
                      "  protocol: %s\n"
                      "  jitter: %s\n"
                      "  start_jitter: %s\n"
                      "  drain_jitter: %s\n"
                      "  l1d: {size: 4KiB, ways: 4}\n"
                      "  llc: {size: 64KiB, ways: 8}\n"
                      "  memory: {size: 1MiB}\n"
                      "  workloads:\n"
                      "    - {cores: \"0-%u\", litmus: %s, thread: 0}\n",
                      nThread, qproto, jit, start, drain, nThread - 1, qpath);
    free(qpath);
    free(qproto);
    return y;
}

static uint64_t final_memory(void *ctx, unsigned loc, uint64_t addr)
{
    (void)loc;
    return cohmon_peek(ctx, addr, 4);
}

/* Registers from the cores' litmus.* metrics: aReg[tid * LITMUS_NREG + r]. */
static void final_registers(const struct orr_sim *sim, const struct litmus_test *t, uint64_t *aReg)
{
    const struct orr_metric *aMetric;
    size_t n = orr_sim_metrics(sim, &aMetric);
    for (size_t i = 0; i < n; i++) {
        unsigned core;
        int used = 0;
        const struct orr_metric *m = &aMetric[i];
        if (strncmp(m->name, "litmus.", 7) != 0 ||
            sscanf(m->component, "sock0.core%u%n", &core, &used) != 1 || m->component[used] ||
            core >= t->nThread)
            continue;
        for (unsigned r = 0; r < LITMUS_NREG; r++)
            if (strcmp(m->name + 7, litmus_reg_name(r)) == 0)
                aReg[core * LITMUS_NREG + r] = (uint32_t)(int32_t)m->value;
    }
}

/* The result of one run: an outcome, or a failure message. */
struct run_result {
    char outcome[512];
    bool witness;
    char *failure; /* malloc'ed; NULL when the run completed */
};

/* Build and run one simulation. Returns 0 (see *res), or an ORR_E* code
 * with messages in d when the machine cannot be built (bad input). */
static int run_once(const struct litmus_test *t, const char *path, const struct options *o,
                    uint64_t seed, struct run_result *res, struct orr_diag *d)
{
    struct perturb p = perturb_for(seed);
    char *yaml = machine_yaml(path, t->nThread, o->protocol, &p);
    struct orr_config cfg = {0};
    struct orr_sim *sim = NULL;
    const struct orr_component_type *mt = &orr_machine_type;
    struct orr_sim_options so = {.seed = seed,
                                 .types = orr_builtin_types,
                                 .stop_time = STOP_TIME,
                                 .stop_events = STOP_EVENTS,
                                 .stop_when_workloads_done = true};
    memset(res, 0, sizeof *res);
    int rc = orr_config_load_string(&cfg, "<orrery litmus machine>", yaml, strlen(yaml), NULL, d);
    if (rc == 0)
        rc = orr_sim_create(&sim, &so);
    if (rc == 0)
        rc = mt->expand(sim, orr_node_get(cfg.root, "machine"), "machine", d);
    if (rc == 0)
        rc = orr_sim_start(sim, d);
    if (rc == 0) {
        enum orr_stop_reason why = orr_sim_run(sim, NULL);
        orr_sim_finish(sim);
        if (orr_sim_failure(sim)) {
            res->failure = xstrdup(orr_sim_failure(sim));
        } else if (why != ORR_STOP_WORKLOADS) {
            res->failure = xprintf("the threads did not finish: stopped (%s) at %llu ps after "
                                   "%llu events", orr_stop_reason_name(why),
                                   (unsigned long long)orr_now(sim),
                                   (unsigned long long)orr_sim_events(sim));
        } else {
            uint64_t aReg[LITMUS_MAX_THREADS * LITMUS_NREG] = {0};
            struct cohmon *mon = cohmon_get(sim);
            final_registers(sim, t, aReg);
            litmus_outcome(t, aReg, final_memory, mon, res->outcome, sizeof res->outcome);
            res->witness = litmus_witness(t, aReg, final_memory, mon);
        }
    }
    if (sim)
        orr_sim_destroy(sim);
    orr_config_free(&cfg);
    free(yaml);
    return rc;
}

/* ------------------------------------------------------------ tallying */

static void tally_add(struct tally *ty, const struct run_result *res, uint64_t seed)
{
    if (res->failure) {
        if (ty->nFailed < FAILURES_SHOWN)
            ty->aFail[ty->nFailed] = (struct failure){seed, xstrdup(res->failure)};
        ty->nFailed++;
        return;
    }
    ty->nRun++;
    ty->nWitness += res->witness;
    for (size_t i = 0; i < ty->nOut; i++)
        if (strcmp(ty->aOut[i].text, res->outcome) == 0) {
            ty->aOut[i].count++;
            return;
        }
    if (ty->nOut == ty->capOut) {
        ty->capOut = ty->capOut ? 2 * ty->capOut : 8;
        ty->aOut = xrealloc(ty->aOut, ty->capOut * sizeof *ty->aOut);
    }
    ty->aOut[ty->nOut++] = (struct outcome){xstrdup(res->outcome), 1, seed, res->witness};
}

static int outcome_cmp(const void *a, const void *b)
{
    return strcmp(((const struct outcome *)a)->text, ((const struct outcome *)b)->text);
}

static void tally_free(struct tally *ty)
{
    for (size_t i = 0; i < ty->nOut; i++)
        free(ty->aOut[i].text);
    for (uint64_t i = 0; i < ty->nFailed && i < FAILURES_SHOWN; i++)
        free(ty->aFail[i].message);
    free(ty->aOut);
}

/* ------------------------------------------------------------ printing */

static void print_text(const char *path, const struct litmus_test *t, const struct tally *ty,
                       bool met)
{
    char expect[64];
    expectation_text(t, expect, sizeof expect);
    bool ok = met && ty->nFailed == 0;
    printf("%s: %s  %llu of %llu runs witness the condition; expect %s  (%s)\n", t->name,
           ok ? "PASS" : "FAIL", (unsigned long long)ty->nWitness, (unsigned long long)ty->nRun,
           expect, path);
    printf("  %8s  %10s  %s\n", "runs", "first seed", "outcome");
    for (size_t i = 0; i < ty->nOut; i++)
        printf("  %8llu  %10llu  %s%s\n", (unsigned long long)ty->aOut[i].count,
               (unsigned long long)ty->aOut[i].first_seed, ty->aOut[i].text,
               ty->aOut[i].witness ? "  <- witness" : "");
    for (uint64_t i = 0; i < ty->nFailed && i < FAILURES_SHOWN; i++)
        printf("  run failed (seed %llu): %s\n", (unsigned long long)ty->aFail[i].seed,
               ty->aFail[i].message);
    if (ty->nFailed > FAILURES_SHOWN)
        printf("  ... and %llu more failed runs\n",
               (unsigned long long)(ty->nFailed - FAILURES_SHOWN));
    if (!met)
        printf("  expectation not met: %s\n",
               t->tso == LITMUS_TSO_FORBIDDEN
                   ? "the condition is forbidden under TSO but was observed (replay a witness "
                     "with --seed SEED --runs 1)"
                   : "the condition is required to be observed but never was");
    putchar('\n');
}

static void print_json(struct orr_json *j, const char *path, const struct litmus_test *t,
                       const struct tally *ty, bool met)
{
    orr_json_obj_begin(j);
    orr_json_key(j, "file"), orr_json_str(j, path);
    orr_json_key(j, "name"), orr_json_str(j, t->name);
    orr_json_key(j, "threads"), orr_json_u64(j, t->nThread);
    orr_json_key(j, "expect");
    orr_json_obj_begin(j);
    orr_json_key(j, "tso"), orr_json_str(j, tso_name(t));
    orr_json_key(j, "observed"), orr_json_str(j, t->tso == LITMUS_TSO_ALLOWED ? observed_name(t)
                                                                             : NULL);
    orr_json_obj_end(j);
    orr_json_key(j, "runs"), orr_json_u64(j, ty->nRun);
    orr_json_key(j, "witnesses"), orr_json_u64(j, ty->nWitness);
    orr_json_key(j, "expectation_met"), orr_json_bool(j, met);
    orr_json_key(j, "failed_runs"), orr_json_u64(j, ty->nFailed);
    orr_json_key(j, "pass"), orr_json_bool(j, met && ty->nFailed == 0);
    orr_json_key(j, "outcomes");
    orr_json_arr_begin(j);
    for (size_t i = 0; i < ty->nOut; i++) {
        orr_json_obj_begin(j);
        orr_json_key(j, "outcome"), orr_json_str(j, ty->aOut[i].text);
        orr_json_key(j, "count"), orr_json_u64(j, ty->aOut[i].count);
        orr_json_key(j, "witness"), orr_json_bool(j, ty->aOut[i].witness);
        orr_json_key(j, "first_seed"), orr_json_u64(j, ty->aOut[i].first_seed);
        orr_json_obj_end(j);
    }
    orr_json_arr_end(j);
    orr_json_key(j, "failures");
    orr_json_arr_begin(j);
    for (uint64_t i = 0; i < ty->nFailed && i < FAILURES_SHOWN; i++) {
        orr_json_obj_begin(j);
        orr_json_key(j, "seed"), orr_json_u64(j, ty->aFail[i].seed);
        orr_json_key(j, "message"), orr_json_str(j, ty->aFail[i].message);
        orr_json_obj_end(j);
    }
    orr_json_arr_end(j);
    orr_json_obj_end(j);
}

/* ---------------------------------------------------------------- verb */

/* Parse every file first; a test whose locations start nonzero cannot run
 * (the machine's memory starts zeroed and nothing preloads it). */
static int load_all(char **aPath, unsigned n, struct litmus_test *aTest)
{
    int exit_code = ORR_EXIT_OK;
    for (unsigned i = 0; i < n; i++) {
        struct orr_diag d;
        orr_diag_init(&d);
        if (litmus_load(&aTest[i], aPath[i], LOC_BASE, &d)) {
            orr_diag_print(&d, stderr);
            exit_code = ORR_EXIT_USAGE;
        } else {
            for (unsigned l = 0; l < aTest[i].nLoc; l++)
                if (aTest[i].aLoc[l].init) {
                    fprintf(stderr, "%s: error: location %s starts at %u: the litmus runner's "
                                    "memory starts zeroed; only initial value 0 is supported\n",
                            aPath[i], aTest[i].aLoc[l].name, aTest[i].aLoc[l].init);
                    exit_code = ORR_EXIT_USAGE;
                    break;
                }
        }
        orr_diag_free(&d);
    }
    return exit_code;
}

/* Run one test o->runs times into ty; ORR_EXIT_USAGE if the machine cannot
 * be built (a bad --protocol), after printing why. */
static int run_test(const struct litmus_test *t, const char *path, const struct options *o,
                    struct cli_progress *prog, struct tally *ty)
{
    uint64_t done0 = prog->done;
    for (uint64_t i = 0; i < o->runs; i++) {
        struct orr_diag d;
        struct run_result res;
        orr_diag_init(&d);
        int rc = run_once(t, path, o, o->seed + i, &res, &d);
        if (rc) {
            cli_progress_clear(prog);
            /* the machine text is ours: its positions would mean nothing to
             * the user, who only chose --protocol */
            fprintf(stderr, "orrery litmus: %s: cannot build the machine:%s%s\n", path,
                    d.nMsg ? "" : " ", d.nMsg ? "" : orr_strerror(rc));
            for (size_t m = 0; m < d.nMsg; m++)
                fprintf(stderr, "  %s%s%s\n", d.aMsg[m].keypath ? d.aMsg[m].keypath : "",
                        d.aMsg[m].keypath ? ": " : "", d.aMsg[m].text);
            orr_diag_free(&d);
            return ORR_EXIT_USAGE;
        }
        orr_diag_free(&d);
        tally_add(ty, &res, o->seed + i);
        free(res.failure);
        cli_progress_update(prog, done0 + i + 1, done0 + i + 1);
    }
    qsort(ty->aOut, ty->nOut, sizeof *ty->aOut, outcome_cmp);
    return ORR_EXIT_OK;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    enum { OPT_RUNS = 256, OPT_SEED, OPT_PROTOCOL, OPT_JSON };
    static const struct option longopts[] = {{"runs", required_argument, NULL, OPT_RUNS},
                                             {"seed", required_argument, NULL, OPT_SEED},
                                             {"protocol", required_argument, NULL, OPT_PROTOCOL},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    *o = (struct options){.runs = DEFAULT_RUNS, .seed = 1, .protocol = "mesi"};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_RUNS:
            if (!parse_u64(optarg, &o->runs) || o->runs == 0 || o->runs > UINT32_MAX)
                return usage_error("--runs '%s': expected a whole number from 1 to %u", optarg,
                                   UINT32_MAX);
            break;
        case OPT_SEED:
            if (!parse_u64(optarg, &o->seed))
                return usage_error("--seed '%s': expected a non-negative whole number", optarg);
            break;
        case OPT_PROTOCOL:
            if (!*optarg)
                return usage_error("--protocol needs a protocol name");
            o->protocol = optarg;
            break;
        case OPT_JSON: o->json = true; break;
        case 'q': o->quiet = true; break;
        case 'h': fputs(litmus_help, stdout); return -1;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("missing FILE.litmus");
    if (o->seed + o->runs - 1 < o->seed)
        return usage_error("--seed %llu with --runs %llu runs past the largest seed",
                           (unsigned long long)o->seed, (unsigned long long)o->runs);
    return 0;
}

int cmd_litmus(int argc, char **argv)
{
    struct options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? ORR_EXIT_OK : rc;
    unsigned nTest = (unsigned)(argc - optind);
    char **aPath = argv + optind;
    struct litmus_test *aTest = calloc(nTest, sizeof *aTest);
    if (!aTest)
        abort();
    int exit_code = load_all(aPath, nTest, aTest);
    if (exit_code) {
        free(aTest);
        return exit_code;
    }
    struct orr_json j;
    orr_json_init(&j, stdout, true);
    if (o.json) {
        orr_json_obj_begin(&j);
        orr_json_key(&j, "protocol"), orr_json_str(&j, o.protocol);
        orr_json_key(&j, "runs"), orr_json_u64(&j, o.runs);
        orr_json_key(&j, "first_seed"), orr_json_u64(&j, o.seed);
        orr_json_key(&j, "tests");
        orr_json_arr_begin(&j);
    }
    struct cli_progress prog;
    cli_progress_start(&prog, cli_progress_wanted(o.quiet),
                       &(struct cli_progress_spec){.verb = "litmus", .unit = "runs",
                                                   .total = o.runs * nTest});
    unsigned nPass = 0;
    for (unsigned k = 0; k < nTest && exit_code != ORR_EXIT_USAGE; k++) {
        struct tally ty = {0};
        cli_progress_label(&prog, "[%u/%u] %s", k + 1, nTest, aTest[k].name);
        int rt = run_test(&aTest[k], aPath[k], &o, &prog, &ty);
        cli_progress_clear(&prog);
        if (rt) {
            exit_code = ORR_EXIT_USAGE;
        } else {
            bool met = litmus_expect_met(&aTest[k], ty.nRun, ty.nWitness);
            bool ok = met && ty.nFailed == 0;
            nPass += ok;
            if (!ok)
                exit_code = ORR_EXIT_FAILED;
            if (o.json)
                print_json(&j, aPath[k], &aTest[k], &ty, met);
            else if (!o.quiet || !ok)
                print_text(aPath[k], &aTest[k], &ty, met);
        }
        tally_free(&ty);
        fflush(stdout);
    }
    if (o.json) {
        orr_json_arr_end(&j);
        orr_json_key(&j, "passed"), orr_json_u64(&j, nPass);
        orr_json_key(&j, "failed"), orr_json_u64(&j, nTest - nPass);
        orr_json_key(&j, "ok"), orr_json_bool(&j, exit_code == ORR_EXIT_OK);
        orr_json_obj_end(&j);
        orr_json_end(&j);
    } else if (exit_code != ORR_EXIT_USAGE && !o.quiet) {
        printf("litmus: %u test%s, %u passed, %u failed (%llu runs each, seeds %llu..%llu, "
               "protocol %s)\n", nTest, nTest == 1 ? "" : "s", nPass, nTest - nPass, (unsigned long long)o.runs,
               (unsigned long long)o.seed, (unsigned long long)(o.seed + o.runs - 1), o.protocol);
    }
    free(aTest);
    return exit_code;
}
