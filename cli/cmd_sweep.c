/* `orrery sweep`: run a scenario over a grid of overrides (axes), each
 * point and repeat as an ordinary `orrery run` in its own process, several
 * at once, recording the sweep and its points in the results database so an
 * interrupted sweep can be resumed (docs/sweeps.md).
 *
 * Order of work, so that bad input runs nothing and writes nothing:
 *   1. parse options and axes (range grammar below), load the scenario;
 *   2. check every axis value by building the scenario with it applied
 *      (the loader's own messages: key path, "did you mean");
 *   3. expand the grid (or draw the sample), open the database and write
 *      the sweep with every point 'pending' in one transaction;
 *   4. run the points, at most -j at once, updating each point's row as its
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
#include "orrery/rng.h"
#include "orrery/scenario.h"

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
    "terminal. Ctrl-C stops launching runs, stops the running ones (they are\n"
    "stored 'interrupted') and leaves a sweep that --resume completes.\n"
    "\n"
    "Exit status:\n"
    "  0    every run ended ok and every budget holds\n"
    "  1    a run failed or broke a budget (see the table)\n"
    "  2    bad input or usage: nothing is run or written\n"
    "  130  interrupted\n";

#define MAX_RUNS 1000000u  /* points x repeats; beyond it use --sample */
#define MAX_AXIS_VALUES 100000u

struct axis {
    char *key;
    char *spec;
    char **aValue;
    size_t nValue;
};

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
    struct axis *aAxis;
    size_t nAxis;
    uint64_t repeat, sample, seed, nPoint;
    uint64_t base_hash;
    size_t nBudget; /* the scenario's budgets */
    struct entry *aEntry;
    size_t nEntry;
    int64_t id;
    struct orr_results *db;
    bool interrupted;
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
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->aAxis = calloc((size_t)argc + 1, sizeof *o->aAxis);
    if (!o->aAxis)
        abort();
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
        case 'h': fputs(sweep_help, stdout); return -1;
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

/* ---------------------------------------------------------------- axes
 * Grammar:  range = NUMBER UNIT ".." NUMBER UNIT ":" NUMBER UNIT
 *           list  = VALUE ("," VALUE)*
 * A spec starting with a digit and containing ".." is a range. NUMBER is a
 * decimal with an optional fraction; UNIT (possibly empty) must be the same
 * for all three; END - START must be a whole number of STEPs. Arithmetic is
 * exact: all three are scaled to the same number of fraction digits. Values
 * are printed back with the unit as written: 40ns, 80ns, 120ns. List items
 * are split at commas outside brackets, so `[a, b],[c]` is two values. */

struct decimal {
    uint64_t mant; /* value * 10^frac */
    unsigned frac;
    const char *unit; /* points into the spec */
    size_t unit_len;
};

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a && b > UINT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

/* Parse NUMBER UNIT at s up to (not including) end. */
static bool parse_decimal(const char *s, const char *end, struct decimal *d)
{
    memset(d, 0, sizeof *d);
    bool digits = false, dot = false;
    for (; s < end && ((*s >= '0' && *s <= '9') || (*s == '.' && !dot)); s++) {
        if (*s == '.') {
            dot = true;
            if (s + 1 >= end || s[1] < '0' || s[1] > '9')
                return false;
            continue;
        }
        if (!mul_ok(d->mant, 10, &d->mant) || d->mant > UINT64_MAX - (uint64_t)(*s - '0') ||
            d->frac > 18)
            return false;
        d->mant += (uint64_t)(*s - '0');
        d->frac += dot;
        digits = true;
    }
    if (!digits)
        return false;
    if (s < end && *s == ' ')
        s++;
    d->unit = s;
    d->unit_len = (size_t)(end - s);
    for (const char *u = s; u < end; u++)
        if ((*u >= '0' && *u <= '9') || *u == '.' || *u == ' ' || *u == ':')
            return false;
    return true;
}

static bool rescale(struct decimal *d, unsigned frac)
{
    while (d->frac < frac) {
        if (!mul_ok(d->mant, 10, &d->mant))
            return false;
        d->frac++;
    }
    return true;
}

static char *format_decimal(uint64_t mant, unsigned frac, const struct decimal *unit)
{
    char num[48];
    uint64_t scale = 1;
    for (unsigned i = 0; i < frac; i++)
        scale *= 10;
    int len = snprintf(num, sizeof num, "%" PRIu64, mant / scale);
    if (frac && mant % scale) {
        len += snprintf(num + len, sizeof num - (size_t)len, ".%0*" PRIu64, (int)frac, mant % scale);
        while (num[len - 1] == '0')
            num[--len] = 0;
    }
    size_t n = (size_t)len + unit->unit_len + 1;
    char *s = malloc(n);
    if (!s)
        abort();
    snprintf(s, n, "%s%.*s", num, (int)unit->unit_len, unit->unit);
    return s;
}

static void push_value(struct axis *a, char *v)
{
    char **arr = realloc(a->aValue, (a->nValue + 1) * sizeof *arr);
    if (!arr)
        abort();
    a->aValue = arr;
    a->aValue[a->nValue++] = v;
}

static int parse_range(struct axis *a, const char *spec, char *err, size_t errn)
{
    const char *dots = strstr(spec, ".."), *colon = dots ? strchr(dots + 2, ':') : NULL;
    const char *end = spec + strlen(spec);
    struct decimal lo, hi, step;
    if (!dots || !colon || !parse_decimal(spec, dots, &lo) ||
        !parse_decimal(dots + 2, colon, &hi) || !parse_decimal(colon + 1, end, &step)) {
        snprintf(err, errn, "malformed range '%s': expected START..END:STEP with numbers and "
                            "one unit, e.g. 150ns..350ns:50ns", spec);
        return ORR_EINVAL;
    }
    const struct decimal *u[] = {&lo, &hi, &step};
    for (int i = 1; i < 3; i++)
        if (u[i]->unit_len != lo.unit_len || memcmp(u[i]->unit, lo.unit, lo.unit_len)) {
            snprintf(err, errn, "range '%s' mixes units '%.*s' and '%.*s': write START, END "
                                "and STEP in one unit", spec, (int)lo.unit_len, lo.unit,
                     (int)u[i]->unit_len, u[i]->unit);
            return ORR_EINVAL;
        }
    unsigned frac = lo.frac > hi.frac ? lo.frac : hi.frac;
    frac = frac > step.frac ? frac : step.frac;
    if (!rescale(&lo, frac) || !rescale(&hi, frac) || !rescale(&step, frac)) {
        snprintf(err, errn, "range '%s': numbers too large", spec);
        return ORR_EINVAL;
    }
    if (step.mant == 0) {
        snprintf(err, errn, "range '%s': the step must be greater than zero", spec);
        return ORR_EINVAL;
    }
    if (lo.mant > hi.mant) {
        snprintf(err, errn, "range '%s': START is greater than END", spec);
        return ORR_EINVAL;
    }
    if ((hi.mant - lo.mant) % step.mant) {
        snprintf(err, errn, "range '%s': the step does not divide END - START (an inclusive "
                            "range must end exactly on END)", spec);
        return ORR_EINVAL;
    }
    uint64_t n = (hi.mant - lo.mant) / step.mant + 1;
    if (n > MAX_AXIS_VALUES) {
        snprintf(err, errn, "range '%s' has %" PRIu64 " values; at most %u", spec, n,
                 MAX_AXIS_VALUES);
        return ORR_EINVAL;
    }
    for (uint64_t i = 0; i < n; i++)
        push_value(a, format_decimal(lo.mant + i * step.mant, frac, &lo));
    return 0;
}

static int parse_list(struct axis *a, const char *spec, char *err, size_t errn)
{
    const char *s = spec;
    for (;;) {
        int depth = 0;
        const char *e = s;
        for (; *e && !(*e == ',' && depth == 0); e++)
            depth += (*e == '[' || *e == '{') - (*e == ']' || *e == '}');
        const char *b = s, *t = e;
        while (b < t && *b == ' ')
            b++;
        while (t > b && t[-1] == ' ')
            t--;
        if (b == t) {
            snprintf(err, errn, "list '%s' has an empty value", spec);
            return ORR_EINVAL;
        }
        char *v = strndup(b, (size_t)(t - b));
        if (!v)
            abort();
        for (size_t i = 0; i < a->nValue; i++)
            if (strcmp(a->aValue[i], v) == 0) {
                snprintf(err, errn, "list '%s' names '%s' twice", spec, v);
                free(v);
                return ORR_EINVAL;
            }
        push_value(a, v);
        if (!*e)
            return 0;
        s = e + 1;
    }
}

/* Fill a's values from spec; 0 or ORR_EINVAL with a message in err. */
static int parse_spec(struct axis *a, const char *spec, char *err, size_t errn)
{
    if (!*spec) {
        snprintf(err, errn, "no values: expected START..END:STEP or a,b,c");
        return ORR_EINVAL;
    }
    if (strpbrk(spec, "\n\r")) {
        snprintf(err, errn, "a value may not contain a line break");
        return ORR_EINVAL;
    }
    if (*spec >= '0' && *spec <= '9' && strstr(spec, ".."))
        return parse_range(a, spec, err, errn);
    return parse_list(a, spec, err, errn);
}

static void axis_free(struct axis *a)
{
    for (size_t i = 0; i < a->nValue; i++)
        free(a->aValue[i]);
    free(a->aValue);
    free(a->key);
    free(a->spec);
}

static struct axis *axis_slot(struct sweep *sw, const char *key)
{
    for (size_t i = 0; i < sw->nAxis; i++)
        if (strcmp(sw->aAxis[i].key, key) == 0) {
            axis_free(&sw->aAxis[i]);
            memset(&sw->aAxis[i], 0, sizeof sw->aAxis[i]);
            return &sw->aAxis[i];
        }
    struct axis *arr = realloc(sw->aAxis, (sw->nAxis + 1) * sizeof *arr);
    if (!arr)
        abort();
    sw->aAxis = arr;
    memset(&arr[sw->nAxis], 0, sizeof *arr);
    return &arr[sw->nAxis++];
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
        abort();
    struct axis *a = axis_slot(sw, key);
    a->key = key;
    if (!(a->spec = strdup(eq + 1)))
        abort();
    if (parse_spec(a, a->spec, err, sizeof err)) {
        fprintf(stderr, "orrery sweep: %s %s: %s\n", origin, key, err);
        return ORR_EXIT_USAGE;
    }
    return 0;
}

/* The scenario's `sweep.axes`, in file order; errors point into the file. */
static int add_scenario_axes(struct sweep *sw, const struct orr_scenario *sc, struct orr_diag *d)
{
    const struct orr_node *axes = orr_param_map(&sc->sweep, "axes");
    char err[512];
    int rc = 0;
    for (size_t i = 0; axes && i < axes->n; i++) {
        struct axis *a = axis_slot(sw, axes->aKey[i]);
        if (!(a->key = strdup(axes->aKey[i])) || !(a->spec = strdup(axes->aItem[i]->scalar)))
            abort();
        if (parse_spec(a, a->spec, err, sizeof err)) {
            char *kp = orr_keypath_join("sweep.axes", a->key);
            orr_diag_error(d, &axes->aItem[i]->mark, kp, "%s", err);
            free(kp);
            rc = ORR_EXIT_USAGE;
        }
    }
    return rc;
}

/* Build the scenario with each value of each axis applied, so a wrong key
 * or a value of the wrong type is reported before anything runs, in the
 * loader's words (the key path, "did you mean"). */
static int check_axes(const struct sweep *sw, const char *path)
{
    for (size_t i = 0; i < sw->nAxis; i++) {
        const struct axis *a = &sw->aAxis[i];
        for (size_t v = 0; v < a->nValue; v++) {
            struct orr_scenario sc;
            struct orr_diag d;
            orr_diag_init(&d);
            size_t len = strlen(a->key) + strlen(a->aValue[v]) + 2;
            char *set = malloc(len);
            if (!set)
                abort();
            snprintf(set, len, "%s=%s", a->key, a->aValue[v]);
            const char *sets[] = {set};
            int rc = orr_scenario_open(&sc, path, sets, 1, NULL, orr_builtin_types, &d);
            if (rc) {
                fprintf(stderr, "orrery sweep: axis %s: value '%s' does not fit %s:\n", a->key,
                        a->aValue[v], path);
                orr_diag_print(&d, stderr);
            }
            orr_scenario_close(&sc);
            orr_diag_free(&d);
            free(set);
            if (rc)
                return ORR_EXIT_USAGE;
        }
    }
    return 0;
}

/* --------------------------------------------------------------- the grid */

/* n distinct grid indices below total (n < total), drawn with the engine's
 * rng (Floyd's algorithm: n draws whatever total is; an open-addressing set
 * of the picks, at most half full). */
static uint64_t *sample_points(uint64_t total, uint64_t n, uint64_t seed)
{
    struct orr_rng r;
    orr_rng_seed(&r, seed, "sweep.sample");
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    uint64_t *set = malloc(cap * sizeof *set), *out = malloc(n * sizeof *out);
    if (!set || !out)
        abort();
    memset(set, 0xff, cap * sizeof *set); /* UINT64_MAX: empty slot (never an index) */
    size_t k = 0;
    for (uint64_t j = total - n; j < total; j++) {
        uint64_t t = orr_rng_below(&r, j + 1), pick = t;
        for (size_t h = (size_t)(t * 0x9e3779b97f4a7c15ull) & (cap - 1);; h = (h + 1) & (cap - 1)) {
            if (set[h] == t) {
                pick = j; /* t taken: j is new (it exceeds every earlier pick) */
                break;
            }
            if (set[h] == UINT64_MAX)
                break;
        }
        for (size_t h = (size_t)(pick * 0x9e3779b97f4a7c15ull) & (cap - 1);; h = (h + 1) & (cap - 1))
            if (set[h] == UINT64_MAX) {
                set[h] = pick;
                break;
            }
        out[k++] = pick;
    }
    free(set);
    return out;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The "KEY=VALUE" lines of grid index g (the last axis varies fastest). */
static char *point_overrides(const struct sweep *sw, uint64_t g)
{
    size_t len = 1;
    size_t *idx = calloc(sw->nAxis + 1, sizeof *idx);
    if (!idx)
        abort();
    for (size_t i = sw->nAxis; i-- > 0;) {
        idx[i] = (size_t)(g % sw->aAxis[i].nValue);
        g /= sw->aAxis[i].nValue;
        len += strlen(sw->aAxis[i].key) + strlen(sw->aAxis[i].aValue[idx[i]]) + 2;
    }
    char *s = calloc(1, len), *p = s;
    if (!s)
        abort();
    for (size_t i = 0; i < sw->nAxis; i++)
        p += sprintf(p, "%s%s=%s", i ? "\n" : "", sw->aAxis[i].key, sw->aAxis[i].aValue[idx[i]]);
    free(idx);
    return s;
}

static int plan(struct sweep *sw)
{
    uint64_t total = 1;
    for (size_t i = 0; i < sw->nAxis; i++)
        if (!mul_ok(total, sw->aAxis[i].nValue, &total) || total > (UINT64_MAX >> 2)) {
            fprintf(stderr, "orrery sweep: the grid is too large; use --sample N\n");
            return ORR_EXIT_USAGE;
        }
    uint64_t *aGrid = NULL;
    sw->nPoint = total;
    if (sw->sample && sw->sample < total) {
        sw->nPoint = sw->sample;
        aGrid = sample_points(total, sw->sample, sw->seed);
        qsort(aGrid, sw->nPoint, sizeof *aGrid, cmp_u64);
    }
    uint64_t runs;
    if (!mul_ok(sw->nPoint, sw->repeat, &runs) || runs > MAX_RUNS) {
        fprintf(stderr, "orrery sweep: %" PRIu64 " points x %" PRIu64 " repeats is more than %u "
                        "runs; use --sample N or fewer values\n", sw->nPoint, sw->repeat, MAX_RUNS);
        free(aGrid);
        return ORR_EXIT_USAGE;
    }
    sw->nEntry = (size_t)runs;
    sw->aEntry = calloc(sw->nEntry ? sw->nEntry : 1, sizeof *sw->aEntry);
    if (!sw->aEntry)
        abort();
    for (uint64_t p = 0; p < sw->nPoint; p++) {
        uint64_t g = aGrid ? aGrid[p] : p;
        char *ov = point_overrides(sw, g);
        for (uint64_t r = 0; r < sw->repeat; r++) {
            struct entry *e = &sw->aEntry[p * sw->repeat + r];
            e->point = p, e->repeat = r, e->grid = g, e->seed = sw->seed + r;
            e->status = ORR_SWEEP_PENDING;
            e->nBudget = e->nBudgetFail = -1;
            if (!(e->overrides = r ? strdup(ov) : ov))
                abort();
        }
    }
    free(aGrid);
    return 0;
}

/* ---------------------------------------------------------------- running */

static char **run_argv(const struct sweep *sw, const struct entry *e, const char *scenario)
{
    size_t n = 12 + 2 * sw->nAxis, k = 0;
    char **av = calloc(n, sizeof *av);
    char seed[24];
    if (!av)
        abort();
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
    for (size_t i = 0; i < k; i++)
        if (!av[i])
            abort();
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
    else if ((json && strcmp(status, "interrupted") == 0) || j->exit_code == 130 ||
             j->exit_code == 128 + SIGINT)
        e->status = ORR_SWEEP_INTERRUPTED;
    else
        e->status = ORR_SWEEP_ERROR;
    if (strcmp(e->status, ORR_SWEEP_OK) != 0) {
        char line[512];
        cli_job_first_line(j, line, sizeof line);
        if (!(e->message = strdup(line)))
            abort();
    }
}

struct progress {
    bool enabled;
    double t0;
    size_t total, done, failed, skipped;
};

static void progress_draw(const struct progress *p)
{
    if (!p->enabled)
        return;
    char bar[31], eta[16] = "--:--";
    size_t ran = p->done - p->skipped, todo = p->total - p->done;
    double el = cli_wall_seconds() - p->t0;
    int fill = p->total ? (int)(30.0 * (double)p->done / (double)p->total) : 30;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    if (ran) {
        double secs = el / (double)ran * (double)todo;
        snprintf(eta, sizeof eta, "%02d:%02d", (int)secs / 60 % 100, (int)secs % 60);
    }
    fprintf(stderr, "\r[%s] %zu/%zu runs  %zu failed  ETA %s\033[K", bar, p->done, p->total,
            p->failed, eta);
    fflush(stderr);
}

static bool entry_done(const struct entry *e)
{
    return strcmp(e->status, ORR_SWEEP_OK) == 0 || strcmp(e->status, ORR_SWEEP_BUDGET_FAILED) == 0;
}

static void record_point(struct sweep *sw, struct entry *e)
{
    struct orr_sweep_point p = {e->point, e->repeat, e->seed, e->overrides, e->run_id, e->status};
    struct orr_diag d;
    orr_diag_init(&d);
    if (orr_results_set_sweep_point(sw->db, sw->id, &p, &d))
        orr_diag_print(&d, stderr); /* the run itself is stored; keep going */
    orr_diag_free(&d);
}

static int run_all(struct sweep *sw, const char *scenario)
{
    struct cli_pool pool;
    struct progress prog = {.enabled = isatty(STDERR_FILENO) && !sw->o.quiet,
                            .t0 = cli_wall_seconds(), .total = sw->nEntry};
    if (cli_pool_open(&pool, (unsigned)sw->o.jobs)) {
        fprintf(stderr, "orrery sweep: cannot find the orrery binary (/proc/self/exe): %s\n",
                strerror(errno));
        return ORR_EXIT_USAGE;
    }
    for (size_t i = 0; i < sw->nEntry; i++)
        if (sw->aEntry[i].skipped)
            prog.done++, prog.skipped++;
    progress_draw(&prog);
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
                record_point(sw, e);
                prog.done++, prog.failed++;
            }
        }
        struct cli_job *j = cli_pool_wait(&pool);
        if (!j)
            break;
        struct entry *e = j->user;
        read_result(e);
        record_point(sw, e);
        free_argv(e->job.argv);
        e->job.argv = NULL;
        cli_job_free(&e->job);
        prog.done++;
        prog.failed += !entry_done(e) && strcmp(e->status, ORR_SWEEP_INTERRUPTED) != 0;
        progress_draw(&prog);
    }
    sw->interrupted = cli_pool_interrupted(&pool);
    cli_pool_close(&pool);
    if (prog.enabled)
        fputs("\r\033[K", stderr);
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

/* The value of axis i in the entry's overrides (a pointer into a static
 * buffer, valid until the next call). */
static const char *axis_value(const struct sweep *sw, const struct entry *e, size_t i)
{
    static const char none[] = "";
    uint64_t g = e->grid;
    for (size_t k = sw->nAxis; k-- > i + 1;)
        g /= sw->aAxis[k].nValue;
    return sw->nAxis ? sw->aAxis[i].aValue[g % sw->aAxis[i].nValue] : none;
}

static void print_table(const struct sweep *sw)
{
    int *w = calloc(sw->nAxis + 1, sizeof *w);
    if (!w)
        abort();
    for (size_t i = 0; i < sw->nAxis; i++) {
        w[i] = (int)strlen(sw->aAxis[i].key);
        for (size_t v = 0; v < sw->aAxis[i].nValue; v++)
            if ((int)strlen(sw->aAxis[i].aValue[v]) > w[i])
                w[i] = (int)strlen(sw->aAxis[i].aValue[v]);
    }
    printf("\n%5s", "point");
    if (sw->repeat > 1)
        printf(" %3s %6s", "rep", "seed");
    for (size_t i = 0; i < sw->nAxis; i++)
        printf("  %-*s", w[i], sw->aAxis[i].key);
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
        for (size_t i = 0; i < sw->nAxis; i++)
            printf("  %-*s", w[i], axis_value(sw, e, i));
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
    for (size_t i = 0; i < sw->nAxis; i++) {
        orr_json_obj_begin(&j);
        orr_json_key(&j, "key"), orr_json_str(&j, sw->aAxis[i].key);
        orr_json_key(&j, "spec"), orr_json_str(&j, sw->aAxis[i].spec);
        orr_json_key(&j, "values");
        orr_json_arr_begin(&j);
        for (size_t v = 0; v < sw->aAxis[i].nValue; v++)
            orr_json_str(&j, sw->aAxis[i].aValue[v]);
        orr_json_arr_end(&j);
        orr_json_obj_end(&j);
    }
    orr_json_arr_end(&j);
    orr_json_key(&j, "repeat"), orr_json_u64(&j, sw->repeat);
    orr_json_key(&j, "sample"), orr_json_u64(&j, sw->sample);
    orr_json_key(&j, "seed"), orr_json_u64(&j, sw->seed);
    orr_json_key(&j, "points"), orr_json_u64(&j, sw->nPoint);
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
        for (size_t i = 0; i < sw->nAxis; i++)
            orr_json_key(&j, sw->aAxis[i].key), orr_json_str(&j, axis_value(sw, e, i));
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
    if (sw->seed > UINT64_MAX - sw->repeat) {
        fprintf(stderr, "orrery sweep: seed %" PRIu64 " + %" PRIu64 " repeats overflows\n",
                sw->seed, sw->repeat);
        return ORR_EXIT_USAGE;
    }
    return 0;
}

static char *axes_text(const struct sweep *sw)
{
    size_t len = 1;
    for (size_t i = 0; i < sw->nAxis; i++)
        len += strlen(sw->aAxis[i].key) + strlen(sw->aAxis[i].spec) + 2;
    char *s = calloc(1, len), *p = s;
    if (!s)
        abort();
    for (size_t i = 0; i < sw->nAxis; i++)
        p += sprintf(p, "%s%s=%s", i ? "\n" : "", sw->aAxis[i].key, sw->aAxis[i].spec);
    return s;
}

static int create(struct sweep *sw, const char *scenario, struct orr_diag *d)
{
    struct orr_sweep_point *ap = calloc(sw->nEntry ? sw->nEntry : 1, sizeof *ap);
    if (!ap)
        abort();
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
            abort();
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
        if (p->point >= sw->nPoint || p->repeat >= sw->repeat)
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
    for (size_t i = 0; i < sw->nAxis; i++)
        axis_free(&sw->aAxis[i]);
    free(sw->aAxis);
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
    sw.base_hash = sc.hash;
    sw.nBudget = sc.nBudget;
    if (sw.o.has_resume && sc.hash != info.rec.scenario_hash) {
        fprintf(stderr, "orrery sweep: %s has changed since sweep %" PRIu64 " was started "
                        "(hash %016" PRIx64 ", now %016" PRIx64 "); start a new sweep\n",
                scenario, sw.o.resume, info.rec.scenario_hash, sc.hash);
        goto out;
    }
    if (!sw.o.has_resume && (setup_new(&sw, &sc, &d) || check_axes(&sw, scenario)))
        goto out;
    if (plan(&sw))
        goto out;
    if (sw.o.has_resume) {
        sw.id = (int64_t)sw.o.resume;
        mark_done(&sw, &info);
    } else if (orr_results_open(&sw.db, sw.o.db, &d) || create(&sw, scenario, &d)) {
        goto out;
    }
    if (!sw.o.quiet) {
        FILE *f = sw.o.json ? stderr : stdout;
        fprintf(f, "sweep %" PRId64 ": %s, %" PRIu64 " point%s x %" PRIu64 " repeat%s = %zu runs, "
                   "-j %" PRIu64 ", db %s%s\n", sw.id, scenario, sw.nPoint,
                sw.nPoint == 1 ? "" : "s", sw.repeat, sw.repeat == 1 ? "" : "s", sw.nEntry,
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
    exit_code = sw.interrupted ? 130 : t.ok == sw.nEntry ? ORR_EXIT_OK : ORR_EXIT_FAILED;
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
