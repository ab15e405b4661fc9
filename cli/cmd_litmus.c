/* `orrery litmus FILE...`: judge each litmus test the way herd7 would —
 * the outcome the condition describes is allowed or forbidden by the
 * x86-TSO model (and by SC), computed exhaustively (litmus_model.h) — and
 * then check the modelled machine against that verdict: runs on a fresh
 * one-socket machine (one tcore per test thread, small private caches, a
 * chosen coherence protocol), each with its own seed and its own timing
 * perturbation. Allowed outcomes must show, forbidden ones never, and no
 * run may end in an outcome x86-TSO does not allow at all.
 *
 * Per test:
 *
 *   litmus_load            parse (file:line:col errors, exit 2)
 *   litmus_model_run x2    x86-TSO and SC verdicts (a state-space bound,
 *                          exit 2); an orrery comment must agree with TSO
 *   runs i = 0, 1, ...     seed S+i; stop after --runs, unless x86-TSO
 *                          allows the witness and none has shown yet: then
 *                          keep going until one does or --max-runs
 *
 * One run, from seed s alone (so `--seed s --runs 1 --max-runs 1` replays
 * it exactly):
 *
 *   perturb(s)  -> router jitter, core start jitter, drain jitter and the
 *                  store hold (machine keys), each drawn from a ladder of
 *                  levels spanning "none" to "a few cache misses"
 *   machine_yaml -> orr_config_load_string -> machine type's expand
 *   orr_sim_start, orr_sim_run (until every core is done; a stop time and
 *                  an event limit are safety nets), orr_sim_finish
 *   registers   <- metrics sockS.coreK litmus.EAX ... (core k runs thread k)
 *   memory      <- cohmon_peek: the last store to each location in
 *                  coherence order
 *   outcome     =  litmus_outcome(); witness = litmus_witness()
 *
 * Every test file is parsed and judged by the models before anything
 * runs. Output is a pure function of the arguments (no wall clock on
 * stdout), so two identical commands print identical bytes. */
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
#include "workloads/litmus_model.h"

static const char litmus_help[] =
    "Usage: orrery litmus FILE.litmus... [options]\n"
    "\n"
    "Judge litmus tests (herd7 x86 format, docs/litmus.md) as herd7 would, and\n"
    "check the modelled machine against the verdict. For each test the outcome\n"
    "its condition describes is computed to be allowed or forbidden under the\n"
    "x86-TSO model and under sequential consistency (every execution explored);\n"
    "then the test runs on a one-socket machine with one core per thread, each\n"
    "run with its own seed and its own perturbation of message, start and\n"
    "store-drain timing. A test passes when every outcome x86-TSO allows for the\n"
    "condition was observed (allowed tests keep running past --runs until it\n"
    "shows, up to --max-runs), a forbidden one never was, and no run ended in\n"
    "an outcome x86-TSO does not allow at all. An (* orrery: tso=... *) comment\n"
    "must agree with the model.\n"
    "\n"
    "Prints, per test, herd7-style 'Observation NAME Never|Sometimes|Always P N'\n"
    "lines for x86-TSO and SC (P, N: final states where the proposition holds\n"
    "or not) and for the machine (P, N: runs), the histogram of final states,\n"
    "and PASS or FAIL.\n"
    "\n"
    "Options:\n"
    "  --runs N          runs per test (default 400), seeds S, S+1, ...\n"
    "  --max-runs M      an allowed outcome not yet seen keeps its test running\n"
    "                    up to M runs (default 50000; at least --runs)\n"
    "  --seed S          first seed (default 1); --seed S --runs 1 --max-runs 1\n"
    "                    replays run S exactly\n"
    "  --protocol P      coherence protocol: msi, mesi, moesi or a full\n"
    "                    name such as mesi-snoop (default mesi)\n"
    "  --max-states K    bound on each model's distinct states per test\n"
    "                    (default 2000000); a larger test is an error\n"
    "  --sb-mutation B   debug: run with a store-buffer bug the catalogue\n"
    "                    must catch: no-forward or any-order (default none)\n"
    "  --json            print the results as one JSON object\n"
    "  --quiet, -q       print only failing tests and errors\n"
    "  --help, -h        this text\n"
    "\n"
    "A progress line is drawn on stderr when it is a terminal (not with -q).\n"
    "\n"
    "Exit status: 0 every test passed; 1 a test failed, or a run failed (a\n"
    "coherence check, a deadlock); 2 bad input or usage (a malformed test, one\n"
    "too large for the models, or an orrery comment the x86-TSO model\n"
    "contradicts, reported as file:line:col; nothing is run).\n";

#define DEFAULT_RUNS 400
#define DEFAULT_MAX_RUNS 50000
#define LOC_BASE 0 /* where locations live; tcore loads tests at base 0 too */
#define STOP_TIME (UINT64_C(5) * 1000 * 1000 * 1000) /* 5 ms: > the 1 ms deadlock check */
#define STOP_EVENTS 1000000
#define FAILURES_SHOWN 3

struct options {
    uint64_t runs, maxRuns, seed, maxStates;
    const char *protocol, *mutation; /* mutation NULL: the correct store buffer */
    bool json, quiet;
};

/* A test and what the models say about it, known before any run. */
struct judged {
    struct litmus_test t;
    struct litmus_verdict tso, sc;
    bool bNeedWitness; /* x86-TSO allows the witness and it must be observed */
};

/* One distinct final state and how often it was seen. */
struct outcome {
    char *text;
    uint64_t count, first_seed;
    bool witness, tso; /* tso: x86-TSO allows this final state */
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
    uint64_t nRun, nWitness, nPositive, nFailed;
    uint64_t nNotTso;       /* completed runs whose outcome x86-TSO forbids */
    uint64_t firstWitness;  /* 1-based run index of the first witness; 0: none */
    uint64_t nTried;        /* runs started: nRun + nFailed */
};

/* ------------------------------------------------------------ helpers */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        orr_oom();
    return q;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        orr_oom();
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

/* ------------------------------------------------------- perturbation */

/* The timing of one run, a function of its seed only. The levels are
 * picked against the default machine's latencies: a message hop is a few
 * ns and a cold miss to DRAM is tens of ns, so router jitter from 0 to
 * ~two hops reorders messages in flight, and start jitter from 0 to a few
 * misses slides whole threads past each other — from "all start at once"
 * (where store buffering shows) to "one thread finishes before the other
 * starts" (the sequential outcomes). Drain jitter holds each buffered
 * store back for a random while, as a real store buffer waiting on
 * retirement and ownership does. The store hold is what makes the rare
 * allowed outcomes less rare: RWC, WRW+WR and W+RWC need one thread's
 * store to stay in its buffer while that thread reads, and while other
 * threads then perform two or three accesses each. Uniform jitter makes
 * that a tail event (RWC about once in 2,000 runs, W+RWC not in 10,000);
 * a hold delays every store of a core that drew heads by a fixed, long
 * time, so in a run where the right core holds, the others act inside
 * the window. The cores draw their coins and actual delays and the routers
 * their per-message delays from their own seeded streams (tcore.c,
 * router.c). */
struct perturb {
    orr_time_t jitter, start_jitter, drain_jitter, drain_hold;
};

static struct perturb perturb_for(uint64_t seed)
{
    static const orr_time_t aJitterPs[] = {0, 1000, 5000, 20000, 100000, 500000};
    static const orr_time_t aStartPs[] = {0, 10000, 100000, 300000, 1000000};
    static const orr_time_t aDrainPs[] = {0, 2000, 10000, 40000, 120000, 300000};
    static const orr_time_t aHoldPs[] = {0, 300000, 1000000, 3000000};
    struct orr_rng r;
    orr_rng_seed(&r, seed, "litmus.perturb");
    struct perturb p;
    p.jitter = aJitterPs[orr_rng_below(&r, sizeof aJitterPs / sizeof aJitterPs[0])];
    p.start_jitter = aStartPs[orr_rng_below(&r, sizeof aStartPs / sizeof aStartPs[0])];
    p.drain_jitter = aDrainPs[orr_rng_below(&r, sizeof aDrainPs / sizeof aDrainPs[0])];
    p.drain_hold = aHoldPs[orr_rng_below(&r, sizeof aHoldPs / sizeof aHoldPs[0])];
    return p;
}

/* --------------------------------------------------------------- a run */

static char *machine_yaml(const char *path, unsigned nThread, const struct options *o,
                          const struct perturb *p)
{
    char *qpath = yaml_quote(path), *qproto = yaml_quote(o->protocol);
    char *qmut = o->mutation ? yaml_quote(o->mutation) : NULL;
    char jit[32], start[32], drain[32], hold[32];
    orr_unit_format(ORR_UNIT_TIME, p->jitter, jit, sizeof jit);
    orr_unit_format(ORR_UNIT_TIME, p->start_jitter, start, sizeof start);
    orr_unit_format(ORR_UNIT_TIME, p->drain_jitter, drain, sizeof drain);
    orr_unit_format(ORR_UNIT_TIME, p->drain_hold, hold, sizeof hold);
    char *y = xprintf("machine:\n"
                      "  sockets: 1\n"
                      "  cores_per_socket: %u\n"
                      "  protocol: %s\n"
                      "  jitter: %s\n"
                      "  start_jitter: %s\n"
                      "  drain_jitter: %s\n"
                      "  drain_hold: %s\n"
                      "%s%s%s"
                      "  l1d: {size: 4KiB, ways: 4}\n"
                      "  llc: {size: 64KiB, ways: 8}\n"
                      "  memory: {size: 1MiB}\n"
                      "  workloads:\n"
                      "    - {cores: \"0-%u\", litmus: %s, thread: 0}\n",
                      nThread, qproto, jit, start, drain, hold, qmut ? "  sb_mutation: " : "",
                      qmut ? qmut : "", qmut ? "\n" : "", nThread - 1, qpath);
    free(qpath);
    free(qproto);
    free(qmut);
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
    bool witness, positive;
    char *failure; /* malloc'ed; NULL when the run completed */
};

/* Build and run one simulation. Returns 0 (see *res), or an ORR_E* code
 * with messages in d when the machine cannot be built (bad input). */
static int run_once(const struct litmus_test *t, const char *path, const struct options *o,
                    uint64_t seed, struct run_result *res, struct orr_diag *d)
{
    struct perturb p = perturb_for(seed);
    char *yaml = machine_yaml(path, t->nThread, o, &p);
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
            res->positive = litmus_eval(t, aReg, final_memory, mon);
        }
    }
    if (sim)
        orr_sim_destroy(sim);
    orr_config_free(&cfg);
    free(yaml);
    return rc;
}

/* ------------------------------------------------------------ tallying */

static void tally_add(struct tally *ty, const struct judged *jt, const struct run_result *res,
                      uint64_t seed)
{
    ty->nTried++;
    if (res->failure) {
        if (ty->nFailed < FAILURES_SHOWN)
            ty->aFail[ty->nFailed] = (struct failure){seed, xstrdup(res->failure)};
        ty->nFailed++;
        return;
    }
    ty->nRun++;
    ty->nWitness += res->witness;
    ty->nPositive += res->positive;
    if (res->witness && !ty->firstWitness)
        ty->firstWitness = ty->nTried;
    for (size_t i = 0; i < ty->nOut; i++)
        if (strcmp(ty->aOut[i].text, res->outcome) == 0) {
            ty->aOut[i].count++;
            ty->nNotTso += !ty->aOut[i].tso;
            return;
        }
    if (ty->nOut == ty->capOut) {
        ty->capOut = ty->capOut ? 2 * ty->capOut : 8;
        ty->aOut = xrealloc(ty->aOut, ty->capOut * sizeof *ty->aOut);
    }
    bool tso = litmus_verdict_find(&jt->tso, res->outcome) != NULL;
    ty->nNotTso += !tso;
    ty->aOut[ty->nOut++] = (struct outcome){xstrdup(res->outcome), 1, seed, res->witness, tso};
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

/* How many of the final states x86-TSO allows the runs showed. */
static size_t tso_outcomes_seen(const struct tally *ty)
{
    size_t n = 0;
    for (size_t i = 0; i < ty->nOut; i++)
        n += ty->aOut[i].tso;
    return n;
}

/* The machine's verdict against the models': the witness shows if and
 * only if x86-TSO allows it (shows at all when it must be observed), no
 * run ends outside x86-TSO, no run fails. */
static bool witness_ok(const struct judged *jt, const struct tally *ty)
{
    return jt->tso.bAllowed ? !jt->bNeedWitness || ty->nWitness > 0 : ty->nWitness == 0;
}

static bool test_passed(const struct judged *jt, const struct tally *ty)
{
    return witness_ok(jt, ty) && ty->nNotTso == 0 && ty->nFailed == 0;
}

/* ------------------------------------------------------------ printing */

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

static const char *allows(const struct litmus_verdict *v)
{
    return v->bAllowed ? "allows" : "forbids";
}

/* "Observation NAME KIND P N" for a model: P, N count final states. */
static void print_model(const struct litmus_test *t, const struct litmus_verdict *v)
{
    printf("  %-8s %-9s  Observation %s %s %zu %zu  (%llu states)\n", litmus_model_name(v->model),
           v->bAllowed ? "Allowed" : "Forbidden", t->name,
           litmus_observation(v->nPositive, v->nFinal - v->nPositive), v->nPositive,
           v->nFinal - v->nPositive, (unsigned long long)v->nState);
}

static void print_verdict_lines(const struct judged *jt, const struct tally *ty)
{
    const struct litmus_test *t = &jt->t;
    print_model(t, &jt->tso);
    print_model(t, &jt->sc);
    printf("  %-8s %-9s  Observation %s %s %llu %llu  (%zu of %zu x86-TSO outcomes seen)\n",
           "machine", "", t->name, litmus_observation(ty->nPositive, ty->nRun - ty->nPositive),
           (unsigned long long)ty->nPositive, (unsigned long long)(ty->nRun - ty->nPositive),
           tso_outcomes_seen(ty), jt->tso.nFinal);
}

static void print_why(const struct judged *jt, const struct tally *ty)
{
    if (!witness_ok(jt, ty)) {
        if (jt->tso.bAllowed)
            printf("  FAIL: x86-TSO allows the outcome, but none of %llu runs showed it (raise "
                   "--max-runs, or the machine is too strict)\n",
                   (unsigned long long)ty->nTried);
        else
            printf("  FAIL: x86-TSO forbids the outcome, but %llu runs showed it (replay one "
                   "with --seed SEED --runs 1 --max-runs 1)\n",
                   (unsigned long long)ty->nWitness);
    }
    if (ty->nNotTso)
        printf("  FAIL: %llu runs ended in final states x86-TSO does not allow (marked)\n",
               (unsigned long long)ty->nNotTso);
}

static void print_text(const char *path, const struct judged *jt, const struct tally *ty)
{
    const struct litmus_test *t = &jt->t;
    char first[64] = "";
    if (ty->firstWitness)
        snprintf(first, sizeof first, "; first at run %llu",
                 (unsigned long long)ty->firstWitness);
    printf("%s: %s  %llu of %llu runs witness the condition%s; x86-TSO %s it, SC %s it  (%s)\n",
           t->name, test_passed(jt, ty) ? "PASS" : "FAIL", (unsigned long long)ty->nWitness,
           (unsigned long long)ty->nRun, first, allows(&jt->tso), allows(&jt->sc), path);
    print_verdict_lines(jt, ty);
    printf("  %8s  %10s  %s\n", "runs", "first seed", "outcome");
    for (size_t i = 0; i < ty->nOut; i++)
        printf("  %8llu  %10llu  %s%s%s\n", (unsigned long long)ty->aOut[i].count,
               (unsigned long long)ty->aOut[i].first_seed, ty->aOut[i].text,
               ty->aOut[i].witness ? "  <- witness" : "",
               ty->aOut[i].tso ? "" : "  <- not allowed by x86-TSO");
    for (uint64_t i = 0; i < ty->nFailed && i < FAILURES_SHOWN; i++)
        printf("  run failed (seed %llu): %s\n", (unsigned long long)ty->aFail[i].seed,
               ty->aFail[i].message);
    if (ty->nFailed > FAILURES_SHOWN)
        printf("  ... and %llu more failed runs\n",
               (unsigned long long)(ty->nFailed - FAILURES_SHOWN));
    print_why(jt, ty);
    putchar('\n');
}

static void json_model(struct orr_json *j, const struct litmus_verdict *v)
{
    orr_json_obj_begin(j);
    orr_json_key(j, "allowed"), orr_json_bool(j, v->bAllowed);
    orr_json_key(j, "states"), orr_json_u64(j, v->nState);
    orr_json_key(j, "outcomes"), orr_json_u64(j, v->nFinal);
    orr_json_key(j, "observation"),
        orr_json_str(j, litmus_observation(v->nPositive, v->nFinal - v->nPositive));
    orr_json_key(j, "positive"), orr_json_u64(j, v->nPositive);
    orr_json_key(j, "negative"), orr_json_u64(j, v->nFinal - v->nPositive);
    orr_json_obj_end(j);
}

static void json_outcomes(struct orr_json *j, const struct tally *ty)
{
    orr_json_arr_begin(j);
    for (size_t i = 0; i < ty->nOut; i++) {
        orr_json_obj_begin(j);
        orr_json_key(j, "outcome"), orr_json_str(j, ty->aOut[i].text);
        orr_json_key(j, "count"), orr_json_u64(j, ty->aOut[i].count);
        orr_json_key(j, "witness"), orr_json_bool(j, ty->aOut[i].witness);
        orr_json_key(j, "tso_allowed"), orr_json_bool(j, ty->aOut[i].tso);
        orr_json_key(j, "first_seed"), orr_json_u64(j, ty->aOut[i].first_seed);
        orr_json_obj_end(j);
    }
    orr_json_arr_end(j);
}

static void print_json(struct orr_json *j, const char *path, const struct judged *jt,
                       const struct tally *ty)
{
    const struct litmus_test *t = &jt->t;
    orr_json_obj_begin(j);
    orr_json_key(j, "file"), orr_json_str(j, path);
    orr_json_key(j, "name"), orr_json_str(j, t->name);
    orr_json_key(j, "threads"), orr_json_u64(j, t->nThread);
    orr_json_key(j, "condition"), orr_json_str(j, litmus_quant_kind(t));
    orr_json_key(j, "expect");
    orr_json_obj_begin(j);
    orr_json_key(j, "tso"), orr_json_str(j, tso_name(t));
    orr_json_key(j, "observed"), orr_json_str(j, t->tso == LITMUS_TSO_ALLOWED ? observed_name(t)
                                                                             : NULL);
    orr_json_obj_end(j);
    orr_json_key(j, "tso"), json_model(j, &jt->tso);
    orr_json_key(j, "sc"), json_model(j, &jt->sc);
    orr_json_key(j, "must_observe"), orr_json_bool(j, jt->bNeedWitness);
    orr_json_key(j, "observation");
    orr_json_obj_begin(j);
    orr_json_key(j, "kind"),
        orr_json_str(j, litmus_observation(ty->nPositive, ty->nRun - ty->nPositive));
    orr_json_key(j, "positive"), orr_json_u64(j, ty->nPositive);
    orr_json_key(j, "negative"), orr_json_u64(j, ty->nRun - ty->nPositive);
    orr_json_obj_end(j);
    orr_json_key(j, "runs"), orr_json_u64(j, ty->nRun);
    orr_json_key(j, "witnesses"), orr_json_u64(j, ty->nWitness);
    orr_json_key(j, "first_witness_run");
    if (ty->firstWitness)
        orr_json_u64(j, ty->firstWitness);
    else
        orr_json_null(j);
    orr_json_key(j, "tso_outcomes_seen"), orr_json_u64(j, tso_outcomes_seen(ty));
    orr_json_key(j, "runs_not_tso"), orr_json_u64(j, ty->nNotTso);
    orr_json_key(j, "failed_runs"), orr_json_u64(j, ty->nFailed);
    orr_json_key(j, "pass"), orr_json_bool(j, test_passed(jt, ty));
    orr_json_key(j, "outcomes"), json_outcomes(j, ty);
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

/* Parse one file and judge it by both models; 0 or an error in d. A test
 * whose locations start nonzero cannot run (the machine's memory starts
 * zeroed and nothing preloads it). */
static int judge(struct judged *jt, const char *path, const struct options *o, struct orr_diag *d)
{
    int rc = litmus_load(&jt->t, path, LOC_BASE, d);
    if (rc)
        return rc;
    struct orr_mark file = {path, 0, 0};
    for (unsigned l = 0; l < jt->t.nLoc; l++)
        if (jt->t.aLoc[l].init) {
            orr_diag_error(d, &file, NULL, "location %s starts at %u: the litmus runner's "
                           "memory starts zeroed; only initial value 0 is supported",
                           jt->t.aLoc[l].name, jt->t.aLoc[l].init);
            return ORR_EPARSE;
        }
    rc = litmus_model_run(&jt->t, LITMUS_MODEL_TSO, o->maxStates, path, &jt->tso, d);
    if (rc == 0)
        rc = litmus_model_run(&jt->t, LITMUS_MODEL_SC, o->maxStates, path, &jt->sc, d);
    if (rc == 0)
        rc = litmus_check_expectation(&jt->t, &jt->tso, path, d);
    if (rc && d->nMsg == 0) /* out of memory: the models say nothing themselves */
        orr_diag_error(d, &file, NULL, "cannot judge the test: %s", orr_strerror(rc));
    /* an unannotated test must show what x86-TSO allows; a comment may
     * make that optional */
    jt->bNeedWitness = jt->tso.bAllowed && (jt->t.tso == LITMUS_TSO_UNSTATED ||
                                            jt->t.observed == LITMUS_OBS_REQUIRED);
    return rc;
}

static int judge_all(char **aPath, unsigned n, const struct options *o, struct judged *aJudged)
{
    int exit_code = ORR_EXIT_OK;
    for (unsigned i = 0; i < n; i++) {
        struct orr_diag d;
        orr_diag_init(&d);
        if (judge(&aJudged[i], aPath[i], o, &d)) {
            orr_diag_print(&d, stderr);
            exit_code = ORR_EXIT_USAGE;
        }
        orr_diag_free(&d);
    }
    return exit_code;
}

static void judged_free(struct judged *aJudged, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        litmus_verdict_free(&aJudged[i].tso);
        litmus_verdict_free(&aJudged[i].sc);
    }
    free(aJudged);
}

/* Whether test jt needs another run after ty: --runs of them, then more
 * while a witness x86-TSO allows is still missing, up to --max-runs. */
static bool more_runs(const struct judged *jt, const struct tally *ty, const struct options *o)
{
    if (ty->nTried >= o->maxRuns)
        return false;
    return ty->nTried < o->runs || (jt->bNeedWitness && ty->nWitness == 0);
}

/* Run one test into ty; ORR_EXIT_USAGE if the machine cannot be built (a
 * bad --protocol or --sb-mutation), after printing why. */
static int run_test(const struct judged *jt, const char *path, const struct options *o,
                    struct cli_progress *prog, struct tally *ty)
{
    while (more_runs(jt, ty, o)) {
        struct orr_diag d;
        struct run_result res;
        uint64_t seed = o->seed + ty->nTried;
        orr_diag_init(&d);
        int rc = run_once(&jt->t, path, o, seed, &res, &d);
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
        tally_add(ty, jt, &res, seed);
        free(res.failure);
        if (prog->done + 1 > prog->spec.total) /* an adaptive run past --runs */
            prog->spec.total = prog->done + 1;
        cli_progress_update(prog, prog->done + 1, prog->done + 1);
    }
    qsort(ty->aOut, ty->nOut, sizeof *ty->aOut, outcome_cmp);
    return ORR_EXIT_OK;
}

static int parse_count(const char *opt, const char *arg, uint64_t *out)
{
    if (!parse_u64(arg, out) || *out == 0 || *out > UINT32_MAX)
        return usage_error("%s '%s': expected a whole number from 1 to %u", opt, arg, UINT32_MAX);
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    enum { OPT_RUNS = 256, OPT_MAX_RUNS, OPT_SEED, OPT_PROTOCOL, OPT_MAX_STATES, OPT_MUTATION,
           OPT_JSON };
    static const struct option longopts[] = {{"runs", required_argument, NULL, OPT_RUNS},
                                             {"max-runs", required_argument, NULL, OPT_MAX_RUNS},
                                             {"seed", required_argument, NULL, OPT_SEED},
                                             {"protocol", required_argument, NULL, OPT_PROTOCOL},
                                             {"max-states", required_argument, NULL,
                                              OPT_MAX_STATES},
                                             {"sb-mutation", required_argument, NULL,
                                              OPT_MUTATION},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    *o = (struct options){.runs = DEFAULT_RUNS, .maxRuns = DEFAULT_MAX_RUNS, .seed = 1,
                          .maxStates = LITMUS_MODEL_MAX_STATES, .protocol = "mesi"};
    bool bMaxRuns = false;
    int ch, rc = 0;
    optind = 1;
    opterr = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_RUNS: rc = parse_count("--runs", optarg, &o->runs); break;
        case OPT_MAX_RUNS:
            rc = parse_count("--max-runs", optarg, &o->maxRuns);
            bMaxRuns = true;
            break;
        case OPT_MAX_STATES:
            if (!parse_u64(optarg, &o->maxStates) || o->maxStates == 0)
                return usage_error("--max-states '%s': expected a positive whole number", optarg);
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
        case OPT_MUTATION:
            if (!*optarg)
                return usage_error("--sb-mutation needs a name (no-forward, any-order)");
            o->mutation = strcmp(optarg, "none") == 0 ? NULL : optarg;
            break;
        case OPT_JSON: o->json = true; break;
        case 'q': o->quiet = true; break;
        case 'h': fputs(litmus_help, stdout); return -1;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (rc)
        return rc;
    if (optind >= argc)
        return usage_error("missing FILE.litmus");
    if (o->maxRuns < o->runs) {
        if (bMaxRuns)
            return usage_error("--max-runs %llu is below --runs %llu",
                               (unsigned long long)o->maxRuns, (unsigned long long)o->runs);
        o->maxRuns = o->runs;
    }
    if (o->seed + o->maxRuns - 1 < o->seed)
        return usage_error("--seed %llu with up to %llu runs runs past the largest seed",
                           (unsigned long long)o->seed, (unsigned long long)o->maxRuns);
    return 0;
}

static void print_summary(const struct options *o, unsigned nTest, unsigned nPass,
                          uint64_t nTotal)
{
    printf("litmus: %u test%s, %u passed, %u failed (%llu runs in all: %llu per test, up to "
           "%llu while an allowed outcome is unseen; seeds from %llu, protocol %s%s%s)\n",
           nTest, nTest == 1 ? "" : "s", nPass, nTest - nPass, (unsigned long long)nTotal,
           (unsigned long long)o->runs, (unsigned long long)o->maxRuns,
           (unsigned long long)o->seed, o->protocol, o->mutation ? ", sb-mutation " : "",
           o->mutation ? o->mutation : "");
}

static void json_header(struct orr_json *j, const struct options *o)
{
    orr_json_obj_begin(j);
    orr_json_key(j, "protocol"), orr_json_str(j, o->protocol);
    orr_json_key(j, "sb_mutation"), orr_json_str(j, o->mutation ? o->mutation : "none");
    orr_json_key(j, "runs"), orr_json_u64(j, o->runs);
    orr_json_key(j, "max_runs"), orr_json_u64(j, o->maxRuns);
    orr_json_key(j, "first_seed"), orr_json_u64(j, o->seed);
    orr_json_key(j, "tests");
    orr_json_arr_begin(j);
}

int cmd_litmus(int argc, char **argv)
{
    struct options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? ORR_EXIT_OK : rc;
    unsigned nTest = (unsigned)(argc - optind);
    char **aPath = argv + optind;
    struct judged *aJudged = calloc(nTest, sizeof *aJudged);
    if (!aJudged)
        orr_oom();
    int exit_code = judge_all(aPath, nTest, &o, aJudged);
    if (exit_code) {
        judged_free(aJudged, nTest);
        return exit_code;
    }
    struct orr_json j;
    orr_json_init(&j, stdout, true);
    if (o.json)
        json_header(&j, &o);
    struct cli_progress prog;
    cli_progress_start(&prog, cli_progress_wanted(o.quiet),
                       &(struct cli_progress_spec){.verb = "litmus", .unit = "runs",
                                                   .total = o.runs * nTest});
    unsigned nPass = 0;
    uint64_t nTotal = 0;
    for (unsigned k = 0; k < nTest && exit_code != ORR_EXIT_USAGE; k++) {
        struct tally ty = {0};
        cli_progress_label(&prog, "[%u/%u] %s", k + 1, nTest, aJudged[k].t.name);
        int rt = run_test(&aJudged[k], aPath[k], &o, &prog, &ty);
        cli_progress_clear(&prog);
        nTotal += ty.nTried;
        if (rt) {
            exit_code = ORR_EXIT_USAGE;
        } else {
            bool ok = test_passed(&aJudged[k], &ty);
            nPass += ok;
            if (!ok)
                exit_code = ORR_EXIT_FAILED;
            if (o.json)
                print_json(&j, aPath[k], &aJudged[k], &ty);
            else if (!o.quiet || !ok)
                print_text(aPath[k], &aJudged[k], &ty);
        }
        tally_free(&ty);
        fflush(stdout);
    }
    if (o.json) {
        orr_json_arr_end(&j);
        orr_json_key(&j, "passed"), orr_json_u64(&j, nPass);
        orr_json_key(&j, "failed"), orr_json_u64(&j, nTest - nPass);
        orr_json_key(&j, "total_runs"), orr_json_u64(&j, nTotal);
        orr_json_key(&j, "ok"), orr_json_bool(&j, exit_code == ORR_EXIT_OK);
        orr_json_obj_end(&j);
        orr_json_end(&j);
    } else if (exit_code != ORR_EXIT_USAGE && !o.quiet) {
        print_summary(&o, nTest, nPass, nTotal);
    }
    judged_free(aJudged, nTest);
    return exit_code;
}
