/* Sweep planning (include/orrery/sweep.h): parse axes, size and index the
 * grid they span, write a point's overrides, draw a seeded sample of
 * points, and plan the runs. No I/O: callers print the error text.
 *
 * Invariants of an orr_sweep, checked by orr_sweep_check:
 *   1. Axis keys are unique, non-empty and hold no '=' or line break, so
 *      "KEY=VALUE" splits back at the first '=' and overrides joined with
 *      '\n' split back into lines.
 *   2. Every axis has 1 <= nValue <= ORR_SWEEP_MAX_AXIS_VALUES values.
 *   3. A range axis: aValue is NULL, lo + (nValue - 1) * step fits in 64 bits
 *      and frac <= 19 (10^frac fits too). A list axis: aValue holds nValue
 *      distinct, non-empty values without line breaks.
 *   4. valueMax bounds the length of every value.
 * So a value is formatted without overflow, and the grid size (the product
 * of the nValue, checked against ORR_SWEEP_MAX_GRID where it is computed)
 * is known before any value is formatted. */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include "orrery/sweep.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "orrery/rng.h"

#define MAX_FRAC 19 /* 10^19 < 2^64 */

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a && b > UINT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

static uint64_t pow10_u64(unsigned k)
{
    uint64_t v = 1;
    while (k--)
        v *= 10;
    return v;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static size_t format_scaled(uint64_t mant, unsigned frac, const char *unit, char *buf, size_t n);

/* Invariants 1 to 4 for one axis; that list values are distinct is checked
 * where they are parsed (pairwise here would make every assert O(n^2)). */
static bool axis_ok(const struct orr_sweep_axis *a)
{
    if (!a->key || !*a->key || strpbrk(a->key, "=\n\r") || !a->spec)
        return false;
    if (a->nValue == 0 || a->nValue > ORR_SWEEP_MAX_AXIS_VALUES)
        return false;
    if (!a->aValue) {
        uint64_t span;
        return a->unit && a->frac <= MAX_FRAC && mul_ok(a->nValue - 1, a->step, &span) &&
               span <= UINT64_MAX - a->lo &&
               format_scaled(a->lo + span, a->frac, a->unit, NULL, 0) <= a->valueMax;
    }
    for (uint64_t i = 0; i < a->nValue; i++)
        if (!a->aValue[i] || !*a->aValue[i] || strpbrk(a->aValue[i], "\n\r") ||
            strlen(a->aValue[i]) > a->valueMax)
            return false;
    return true;
}

/* ---- ranges ---------------------------------------------------------------
 * A decimal is kept as an integer mantissa and a count of fraction digits:
 * 0.25 is (25, 2). Rescaling all three numbers of a range to the largest
 * count makes the range integer arithmetic, so "does STEP divide END -
 * START" has an exact answer and values print without rounding. */

struct decimal {
    uint64_t mant; /* value * 10^frac */
    unsigned frac;
    const char *unit; /* points into the spec */
    size_t unit_len;
};

/* NUMBER UNIT from s up to (not including) end: 0, ORR_EPARSE (not a
 * number with a unit) or ORR_ERANGE (well formed, but too many digits). */
static int parse_decimal(const char *s, const char *end, struct decimal *d)
{
    memset(d, 0, sizeof *d);
    bool digits = false, dot = false, big = false;
    for (; s < end && (is_digit(*s) || (*s == '.' && !dot)); s++) {
        if (*s == '.') {
            dot = true;
            if (s + 1 >= end || !is_digit(s[1]))
                return ORR_EPARSE;
            continue;
        }
        digits = true;
        uint64_t digit = (uint64_t)(*s - '0');
        if (big || !mul_ok(d->mant, 10, &d->mant) || d->mant > UINT64_MAX - digit ||
            d->frac + dot > MAX_FRAC) {
            big = true;
            continue;
        }
        d->mant += digit;
        d->frac += dot;
    }
    if (!digits)
        return ORR_EPARSE;
    if (s < end && *s == ' ')
        s++;
    d->unit = s;
    d->unit_len = (size_t)(end - s);
    for (const char *u = s; u < end; u++)
        if (is_digit(*u) || *u == '.' || *u == ' ' || *u == ':')
            return ORR_EPARSE;
    return big ? ORR_ERANGE : 0;
}

static bool rescale(struct decimal *d, unsigned frac)
{
    for (; d->frac < frac; d->frac++)
        if (!mul_ok(d->mant, 10, &d->mant))
            return false;
    return true;
}

static unsigned count_digits(uint64_t v)
{
    unsigned n = 1;
    for (; v >= 10; v /= 10)
        n++;
    return n;
}

/* mant / 10^frac with its fraction's trailing zeros dropped, then unit. */
static size_t format_scaled(uint64_t mant, unsigned frac, const char *unit, char *buf, size_t n)
{
    char num[48]; /* 20 digits, '.', 19 digits */
    uint64_t scale = pow10_u64(frac);
    int len = snprintf(num, sizeof num, "%" PRIu64, mant / scale);
    if (frac && mant % scale) {
        len += snprintf(num + len, sizeof num - (size_t)len, ".%0*" PRIu64, (int)frac,
                        mant % scale);
        while (num[len - 1] == '0')
            num[--len] = 0;
    }
    return (size_t)snprintf(buf, n, "%s%s", num, unit);
}

/* "range 'SPEC': why" in err; ORR_EINVAL. */
static int range_error(char *err, size_t errn, const char *spec, const char *why)
{
    snprintf(err, errn, "range '%s': %s", spec, why);
    return ORR_EINVAL;
}

/* Check the range spec and fill a's arithmetic (not its values). */
static int parse_range(struct orr_sweep_axis *a, const char *spec, char *err, size_t errn)
{
    const char *dots = strstr(spec, ".."), *colon = dots ? strchr(dots + 2, ':') : NULL;
    const char *end = spec + strlen(spec);
    struct decimal lo, hi, step;
    int r[3] = {ORR_EPARSE, ORR_EPARSE, ORR_EPARSE};
    if (dots && colon) {
        r[0] = parse_decimal(spec, dots, &lo);
        r[1] = parse_decimal(dots + 2, colon, &hi);
        r[2] = parse_decimal(colon + 1, end, &step);
    }
    if (r[0] == ORR_EPARSE || r[1] == ORR_EPARSE || r[2] == ORR_EPARSE) {
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
    if (r[0] || r[1] || r[2] || !rescale(&lo, frac) || !rescale(&hi, frac) ||
        !rescale(&step, frac))
        return range_error(err, errn, spec, "numbers too large");
    if (step.mant == 0)
        return range_error(err, errn, spec, "the step must be greater than zero");
    if (lo.mant > hi.mant)
        return range_error(err, errn, spec, "START is greater than END");
    if ((hi.mant - lo.mant) % step.mant)
        return range_error(err, errn, spec, "the step does not divide END - START (an "
                                            "inclusive range must end exactly on END)");
    uint64_t steps = (hi.mant - lo.mant) / step.mant; /* values - 1: cannot overflow */
    if (steps >= ORR_SWEEP_MAX_AXIS_VALUES) {
        char n[24] = "18446744073709551616";
        if (steps < UINT64_MAX)
            snprintf(n, sizeof n, "%" PRIu64, steps + 1);
        snprintf(err, errn, "range '%s' has %s values; at most %u", spec, n,
                 ORR_SWEEP_MAX_AXIS_VALUES);
        return ORR_EINVAL;
    }
    if (!(a->unit = strndup(lo.unit, lo.unit_len)))
        return ORR_ENOMEM;
    a->nValue = steps + 1;
    a->lo = lo.mant, a->step = step.mant, a->frac = frac;
    a->valueMax = count_digits(hi.mant / pow10_u64(frac)) + (frac ? 1 + frac : 0) + lo.unit_len;
    return 0;
}

/* ---- lists ---------------------------------------------------------------- */

/* The end of the list item that starts at s: the next comma outside
 * brackets, or the end of the spec. */
static const char *item_end(const char *s)
{
    int depth = 0;
    for (; *s && !(*s == ',' && depth == 0); s++)
        depth += (*s == '[' || *s == '{') - (*s == ']' || *s == '}');
    return s;
}

static size_t count_items(const char *spec)
{
    size_t n = 1;
    for (const char *e = item_end(spec); *e; e = item_end(e + 1))
        n++;
    return n;
}

/* Duplicates are found by comparing each value with those before it:
 * O(n^2) string compares, nothing for lists typed by hand. */
static int parse_list(struct orr_sweep_axis *a, const char *spec, char *err, size_t errn)
{
    size_t n = count_items(spec);
    if (n > ORR_SWEEP_MAX_AXIS_VALUES) {
        snprintf(err, errn, "list '%s' has %zu values; at most %u", spec, n,
                 ORR_SWEEP_MAX_AXIS_VALUES);
        return ORR_EINVAL;
    }
    if (!(a->aValue = calloc(n, sizeof *a->aValue)))
        return ORR_ENOMEM;
    for (const char *s = spec;; s++) {
        const char *e = item_end(s), *b = s, *t = e;
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
            return ORR_ENOMEM;
        for (uint64_t i = 0; i < a->nValue; i++)
            if (strcmp(a->aValue[i], v) == 0) {
                snprintf(err, errn, "list '%s' names '%s' twice", spec, v);
                free(v);
                return ORR_EINVAL;
            }
        a->aValue[a->nValue++] = v;
        if ((size_t)(t - b) > a->valueMax)
            a->valueMax = (size_t)(t - b);
        if (!*e)
            return 0;
        s = e;
    }
}

/* ---- axes ----------------------------------------------------------------- */

bool orr_sweep_check(const struct orr_sweep *s)
{
    for (size_t i = 0; i < s->nAxis; i++) {
        if (!axis_ok(&s->aAxis[i]))
            return false;
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->aAxis[k].key, s->aAxis[i].key) == 0)
                return false;
    }
    return true;
}

static int parse_spec(struct orr_sweep_axis *a, const char *spec, char *err, size_t errn)
{
    if (!*spec) {
        snprintf(err, errn, "no values: expected START..END:STEP or a,b,c");
        return ORR_EINVAL;
    }
    if (strpbrk(spec, "\n\r")) {
        snprintf(err, errn, "a value may not contain a line break");
        return ORR_EINVAL;
    }
    if (is_digit(*spec) && strstr(spec, ".."))
        return parse_range(a, spec, err, errn);
    return parse_list(a, spec, err, errn);
}

int orr_sweep_axis_parse(struct orr_sweep_axis *a, const char *key, const char *spec, char *err,
                         size_t errn)
{
    memset(a, 0, sizeof *a);
    if (errn)
        *err = 0;
    if (!*key || strpbrk(key, "=\n\r")) {
        snprintf(err, errn, "axis key '%s': a key may not be empty or contain '=' or a line "
                            "break", key);
        return ORR_EINVAL;
    }
    int rc = parse_spec(a, spec, err, errn);
    if (!rc && (!(a->key = strdup(key)) || !(a->spec = strdup(spec))))
        rc = ORR_ENOMEM;
    if (rc)
        orr_sweep_axis_free(a);
    return rc;
}

void orr_sweep_axis_free(struct orr_sweep_axis *a)
{
    for (uint64_t i = 0; a->aValue && i < a->nValue; i++)
        free(a->aValue[i]);
    free(a->aValue);
    free(a->key);
    free(a->spec);
    free(a->unit);
    memset(a, 0, sizeof *a);
}

size_t orr_sweep_axis_value(const struct orr_sweep_axis *a, uint64_t i, char *buf, size_t n)
{
    assert(i < a->nValue);
    if (a->aValue)
        return (size_t)snprintf(buf, n, "%s", a->aValue[i]);
    return format_scaled(a->lo + i * a->step, a->frac, a->unit, buf, n);
}

/* ---- the grid ------------------------------------------------------------- */

void orr_sweep_init(struct orr_sweep *s) { memset(s, 0, sizeof *s); }

void orr_sweep_free(struct orr_sweep *s)
{
    for (size_t i = 0; i < s->nAxis; i++)
        orr_sweep_axis_free(&s->aAxis[i]);
    free(s->aAxis);
    memset(s, 0, sizeof *s);
}

int orr_sweep_add_axis(struct orr_sweep *s, const char *key, const char *spec, char *err,
                       size_t errn)
{
    struct orr_sweep_axis a;
    int rc = orr_sweep_axis_parse(&a, key, spec, err, errn);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->nAxis; i++)
        if (strcmp(s->aAxis[i].key, key) == 0) {
            orr_sweep_axis_free(&s->aAxis[i]);
            s->aAxis[i] = a;
            assert(orr_sweep_check(s));
            return 0;
        }
    struct orr_sweep_axis *arr = realloc(s->aAxis, (s->nAxis + 1) * sizeof *arr);
    if (!arr) {
        orr_sweep_axis_free(&a);
        return ORR_ENOMEM;
    }
    s->aAxis = arr;
    s->aAxis[s->nAxis++] = a;
    assert(orr_sweep_check(s));
    return 0;
}

int orr_sweep_add_axes(struct orr_sweep *s, const struct orr_node *axes, const char *keypath,
                       struct orr_diag *d)
{
    int rc = 0;
    for (size_t i = 0; axes && i < axes->n; i++) {
        const struct orr_node *v = axes->aItem[i];
        char err[512];
        int ra = ORR_EINVAL;
        if (v->kind != ORR_NODE_SCALAR || !*v->scalar)
            snprintf(err, sizeof err,
                     "expected a range \"START..END:STEP\" or a list \"a,b,c\" as one string");
        else
            ra = orr_sweep_add_axis(s, axes->aKey[i], v->scalar, err, sizeof err);
        if (ra == ORR_ENOMEM)
            return ORR_ENOMEM;
        if (ra) {
            char *kp = orr_keypath_join(keypath, axes->aKey[i]);
            orr_diag_error(d, &v->mark, kp, "%s", err);
            free(kp);
            rc = ORR_ESCHEMA;
        }
    }
    return rc;
}

int orr_sweep_grid_size(const struct orr_sweep *s, uint64_t *n, char *err, size_t errn)
{
    uint64_t total = 1;
    for (size_t i = 0; i < s->nAxis; i++)
        if (!mul_ok(total, s->aAxis[i].nValue, &total) || total > ORR_SWEEP_MAX_GRID) {
            int len = snprintf(err, errn, "the grid has more than %" PRIu64 " points (axis sizes",
                               ORR_SWEEP_MAX_GRID);
            for (size_t k = 0; k < s->nAxis && len >= 0 && (size_t)len < errn; k++)
                len += snprintf(err + len, errn - (size_t)len, "%s%" PRIu64, k ? " x " : " ",
                                s->aAxis[k].nValue);
            if (len >= 0 && (size_t)len < errn)
                snprintf(err + len, errn - (size_t)len, "); use fewer values");
            return ORR_ERANGE;
        }
    *n = total;
    return 0;
}

void orr_sweep_grid_coords(const struct orr_sweep *s, uint64_t g, uint64_t *aIndex)
{
    for (size_t i = s->nAxis; i-- > 0;) {
        aIndex[i] = g % s->aAxis[i].nValue;
        g /= s->aAxis[i].nValue;
    }
    assert(g == 0); /* g was below the grid size */
}

uint64_t orr_sweep_grid_point(const struct orr_sweep *s, const uint64_t *aIndex)
{
    uint64_t g = 0;
    for (size_t i = 0; i < s->nAxis; i++) {
        assert(aIndex[i] < s->aAxis[i].nValue);
        g = g * s->aAxis[i].nValue + aIndex[i];
    }
    return g;
}

/* snprintf-like output built in pieces: everything is counted, what fits
 * is written. */
struct out {
    char *buf;
    size_t n, len;
};

static char *out_at(const struct out *o) { return o->len < o->n ? o->buf + o->len : NULL; }
static size_t out_room(const struct out *o) { return o->len < o->n ? o->n - o->len : 0; }

static void out_str(struct out *o, const char *s)
{
    o->len += (size_t)snprintf(out_at(o), out_room(o), "%s", s);
}

size_t orr_sweep_overrides(const struct orr_sweep *s, uint64_t g, char *buf, size_t n)
{
    struct out o = {buf, n, 0};
    if (n)
        *buf = 0;
    /* stride of axis i: the product of the sizes of the axes after it */
    uint64_t stride = 1;
    for (size_t i = 1; i < s->nAxis; i++)
        stride *= s->aAxis[i].nValue;
    for (size_t i = 0; i < s->nAxis; i++) {
        const struct orr_sweep_axis *a = &s->aAxis[i];
        out_str(&o, i ? "\n" : "");
        out_str(&o, a->key);
        out_str(&o, "=");
        o.len += orr_sweep_axis_value(a, g / stride % a->nValue, out_at(&o), out_room(&o));
        if (i + 1 < s->nAxis)
            stride /= s->aAxis[i + 1].nValue;
    }
    return o.len;
}

/* ---- sampling and the plan ------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t slot(uint64_t v, size_t cap) { return (size_t)(v * 0x9e3779b97f4a7c15ull) & (cap - 1); }

/* Floyd's algorithm: for j = total - n .. total - 1, draw t in [0, j]; take
 * t, or j if t was taken (j exceeds every earlier pick, so it is new). Each
 * n-subset is equally likely. The picks live in an open-addressing set at
 * most half full; UINT64_MAX marks an empty slot (never a grid point). The
 * draws, and so the sample, are fixed by the seed: changing this changes
 * which points a stored sweep resumes. */
int orr_sweep_sample(uint64_t total, uint64_t n, uint64_t seed, uint64_t *aOut)
{
    assert(total <= ORR_SWEEP_MAX_GRID);
    if (n >= total) {
        for (uint64_t g = 0; g < total; g++)
            aOut[g] = g;
        return 0;
    }
    if (n > SIZE_MAX / 4 / sizeof(uint64_t))
        return ORR_ENOMEM;
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    uint64_t *set = malloc(cap * sizeof *set);
    if (!set)
        return ORR_ENOMEM;
    memset(set, 0xff, cap * sizeof *set);
    struct orr_rng r;
    orr_rng_seed(&r, seed, "sweep.sample");
    size_t k = 0;
    for (uint64_t j = total - n; j < total; j++) {
        uint64_t t = orr_rng_below(&r, j + 1), pick = t;
        for (size_t h = slot(t, cap); set[h] != UINT64_MAX; h = (h + 1) & (cap - 1))
            if (set[h] == t) {
                pick = j;
                break;
            }
        size_t h = slot(pick, cap);
        while (set[h] != UINT64_MAX)
            h = (h + 1) & (cap - 1);
        set[h] = pick;
        aOut[k++] = pick;
    }
    free(set);
    qsort(aOut, (size_t)n, sizeof *aOut, cmp_u64);
    return 0;
}

int orr_sweep_plan_make(struct orr_sweep_plan *p, const struct orr_sweep *s, uint64_t sample,
                        uint64_t repeat, uint64_t seed, char *err, size_t errn)
{
    memset(p, 0, sizeof *p);
    if (errn)
        *err = 0;
    if (repeat == 0) {
        snprintf(err, errn, "a point runs at least once (repeat 0)");
        return ORR_EINVAL;
    }
    uint64_t nGrid, nRun;
    int rc = orr_sweep_grid_size(s, &nGrid, err, errn);
    if (rc)
        return rc;
    uint64_t nPoint = sample && sample < nGrid ? sample : nGrid;
    if (!mul_ok(nPoint, repeat, &nRun) || nRun > ORR_SWEEP_MAX_RUNS) {
        snprintf(err, errn, "%" PRIu64 " points x %" PRIu64 " repeats is more than %u runs; "
                            "sample fewer points, or use fewer values or repeats",
                 nPoint, repeat, ORR_SWEEP_MAX_RUNS);
        return ORR_ERANGE;
    }
    if (seed > UINT64_MAX - (repeat - 1)) {
        snprintf(err, errn, "seed %" PRIu64 " with %" PRIu64 " repeats runs past the largest "
                            "seed, %" PRIu64, seed, repeat, UINT64_MAX);
        return ORR_ERANGE;
    }
    if (nPoint < nGrid) {
        if (!(p->aGrid = malloc((size_t)nPoint * sizeof *p->aGrid)) ||
            orr_sweep_sample(nGrid, nPoint, seed, p->aGrid)) {
            orr_sweep_plan_free(p);
            return ORR_ENOMEM;
        }
    }
    p->nGrid = nGrid, p->nPoint = nPoint, p->repeat = repeat, p->seed = seed, p->nRun = nRun;
    return 0;
}

void orr_sweep_plan_free(struct orr_sweep_plan *p)
{
    free(p->aGrid);
    memset(p, 0, sizeof *p);
}

struct orr_sweep_run orr_sweep_plan_run(const struct orr_sweep_plan *p, uint64_t k)
{
    assert(k < p->nRun);
    uint64_t point = k / p->repeat, r = k % p->repeat;
    return (struct orr_sweep_run){point, r, p->seed + r, p->aGrid ? p->aGrid[point] : point};
}
