/* Performance budgets (include/orrery/budget.h): parse `budgets:` bounds
 * when a scenario loads, check that each names a metric the built
 * simulation can report, and check them against a finished run's metrics.
 *
 * Parsing a bound:  OP  [space]  NUMBER  [space]  [UNIT]
 * The unit decides the kind: none -> plain, "%" -> percent, otherwise the
 * first of time, size, bandwidth, cycles whose parser accepts the text
 * (suffixes do not overlap between kinds, so at most one does). Values with
 * units go through orr_unit_parse, so "1.5us" is exactly 1500000 ps and a
 * bound can never be finer than the metric's base unit. */
#include "orrery/budget.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "orrery/sim.h"
#include "orrery/units.h"

static const char *const kOpName[] = {"<=", "<", ">=", ">", "==", "!="};

const char *orr_budget_op_name(enum orr_budget_op op) { return kOpName[op]; }

const char *orr_budget_unit_metric(enum orr_budget_unit u)
{
    static const char *const metric[] = {NULL, "ps", "B", "bit/s", "cy", "ratio"};
    return metric[u];
}

/* Longest operator first, so "<=" is not read as "<" followed by "=". */
static int parse_op(const char **p, enum orr_budget_op *op)
{
    static const struct { const char *text; enum orr_budget_op op; } ops[] = {
        {"<=", ORR_BUDGET_LE}, {">=", ORR_BUDGET_GE}, {"==", ORR_BUDGET_EQ},
        {"!=", ORR_BUDGET_NE}, {"<", ORR_BUDGET_LT},  {">", ORR_BUDGET_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (strncmp(*p, ops[i].text, n) == 0) {
            /* "=<", "<<", "=>" and the like are not operators */
            char next = (*p)[n];
            if (next == '<' || next == '>' || next == '=' || next == '!')
                return ORR_EPARSE;
            *op = ops[i].op;
            *p += n;
            return 0;
        }
    }
    return ORR_EPARSE;
}

/* A plain decimal: optional '-', digits, optional fraction; nothing else
 * (no exponent, inf, nan or hex, which strtod would take). */
static bool plain_number(const char *s, size_t n, double *out)
{
    size_t i = s[0] == '-' ? 1 : 0, digits = 0;
    bool dot = false;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] == '.' && !dot)
            dot = true;
        else
            return false;
    }
    if (!digits || n >= 64)
        return false;
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return isfinite(*out);
}

static const char kUnits[] =
    "expected a time (ps, ns, us, ms, s), a size (B, KB, KiB, ...), a bandwidth "
    "(bps, Gbps, GB/s, ...), cycles (cy), a percentage (%) or a plain number";

int orr_budget_parse_bound(const char *text, struct orr_budget_bound *out, const char **why)
{
    const char *p = text;
    *why = NULL;
    while (*p == ' ')
        p++;
    if (parse_op(&p, &out->op)) {
        *why = "unknown or missing operator; expected one of <=, <, >=, >, ==, != "
               "followed by a value, e.g. \"<= 150ns\"";
        return ORR_EPARSE;
    }
    while (*p == ' ')
        p++;
    size_t nNum = strspn(p, "-0123456789.");
    const char *unit = p + nNum;
    if (*unit == ' ')
        unit++;
    size_t len = strlen(p);
    while (len && p[len - 1] == ' ')
        len--;
    if (nNum == 0 || !plain_number(p, nNum, &out->value)) {
        *why = "missing or malformed number; expected e.g. \"<= 150ns\", \">= 0.95\" or \"== 0\"";
        return ORR_EPARSE;
    }
    if (unit >= p + len) {
        out->unit = ORR_BUDGET_PLAIN;
        return 0;
    }
    if (strncmp(unit, "%", (size_t)(p + len - unit)) == 0) {
        out->unit = ORR_BUDGET_PERCENT;
        out->value /= 100.0;
        return 0;
    }
    /* a unit needs a non-negative number: hand orr_unit_parse the text */
    char buf[96];
    if (len >= sizeof buf) {
        *why = "bound too long";
        return ORR_EPARSE;
    }
    memcpy(buf, p, len);
    buf[len] = 0;
    static const struct { enum orr_unit_kind kind; enum orr_budget_unit unit; } kinds[] = {
        {ORR_UNIT_TIME, ORR_BUDGET_TIME}, {ORR_UNIT_SIZE, ORR_BUDGET_SIZE},
        {ORR_UNIT_BW, ORR_BUDGET_BW},     {ORR_UNIT_CYCLES, ORR_BUDGET_CYCLES}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        uint64_t v;
        const char *w;
        int rc = orr_unit_parse(kinds[i].kind, buf, &v, &w);
        if (rc == 0) {
            out->unit = kinds[i].unit;
            out->value = (double)v;
            return 0;
        }
        if (rc != ORR_EUNIT) { /* the unit was right, the number was not */
            *why = w;
            return rc;
        }
    }
    *why = kUnits;
    return ORR_EUNIT;
}

void orr_budgets_free(struct orr_budget *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].metric);
        free(a[i].text);
        free(a[i].keypath);
    }
    free(a);
}

struct parse_state {
    const char *section; /* "budgets", or where the bounds sit */
    struct orr_budget *a;
    size_t n, cap;
    struct orr_diag *d;
    int rc;
};

static char *dup_str(const char *s)
{
    char *p = malloc(strlen(s) + 1);
    if (!p)
        orr_oom();
    return strcpy(p, s);
}

static void add_budget(struct parse_state *ps, const char *metric, const struct orr_node *v)
{
    char *kp = orr_keypath_join(ps->section, metric);
    struct orr_budget_bound b;
    const char *why;
    int rc = orr_budget_parse_bound(v->scalar, &b, &why);
    if (rc) {
        orr_diag_error(ps->d, &v->mark, kp, "bad bound '%s': %s", v->scalar, why);
        ps->rc = ORR_ESCHEMA;
        free(kp);
        return;
    }
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->a[i].metric, metric) == 0) { /* named twice: the later wins */
            free(ps->a[i].text);
            free(ps->a[i].keypath);
            ps->a[i].text = dup_str(v->scalar);
            ps->a[i].bound = b;
            ps->a[i].mark = v->mark;
            ps->a[i].keypath = kp;
            return;
        }
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 8;
        ps->a = realloc(ps->a, ps->cap * sizeof *ps->a);
        if (!ps->a)
            orr_oom();
    }
    ps->a[ps->n++] = (struct orr_budget){
        .metric = dup_str(metric), .text = dup_str(v->scalar), .bound = b, .mark = v->mark,
        .keypath = kp};
}

static void walk(struct parse_state *ps, const struct orr_node *m, const char *prefix)
{
    for (size_t i = 0; i < m->n; i++) {
        char *name = *prefix ? orr_keypath_join(prefix, m->aKey[i]) : dup_str(m->aKey[i]);
        const struct orr_node *v = m->aItem[i];
        if (v->kind == ORR_NODE_MAP) {
            walk(ps, v, name);
        } else if (v->kind == ORR_NODE_SCALAR && *v->scalar) {
            add_budget(ps, name, v);
        } else {
            char *kp = orr_keypath_join(ps->section, name);
            orr_diag_error(ps->d, &v->mark, kp,
                           "expected a bound such as \"<= 150ns\" (quote it: YAML reads a "
                           "leading '>' or '!' as syntax)");
            free(kp);
            ps->rc = ORR_ESCHEMA;
        }
        free(name);
    }
}

int orr_budgets_parse(const struct orr_node *budgets, struct orr_budget **aOut, size_t *nOut,
                      struct orr_diag *d)
{
    return orr_budgets_parse_at(budgets, "budgets", aOut, nOut, d);
}

int orr_budgets_parse_at(const struct orr_node *budgets, const char *section,
                         struct orr_budget **aOut, size_t *nOut, struct orr_diag *d)
{
    struct parse_state ps = {.d = d, .section = section};
    *aOut = NULL;
    *nOut = 0;
    if (!budgets)
        return 0;
    if (budgets->kind != ORR_NODE_MAP) {
        orr_diag_error(d, &budgets->mark, section,
                       "expected a mapping of metric names to bounds, e.g. "
                       "{node0.t1.deadline_misses: \"== 0\"}");
        return ORR_ESCHEMA;
    }
    walk(&ps, budgets, "");
    if (ps.rc) {
        orr_budgets_free(ps.a, ps.n);
        return ps.rc;
    }
    *aOut = ps.a;
    *nOut = ps.n;
    return 0;
}

/* --------------------------------------------------------------- checking */

static const struct orr_metric *find_metric(const struct orr_metric *a, size_t n,
                                            const char *name)
{
    for (size_t i = 0; i < n; i++) {
        size_t lc = strlen(a[i].component);
        if (lc == 0 ? strcmp(a[i].name, name) == 0
                    : strncmp(name, a[i].component, lc) == 0 && name[lc] == '.' &&
                          strcmp(name + lc + 1, a[i].name) == 0)
            return &a[i];
    }
    return NULL;
}

/* Edit distance of two names; SIZE_MAX for names too long to compare. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 200 || lb > 200)
        return SIZE_MAX;
    size_t row[201];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The full metric names (component.metric) closest to a wanted one, for
 * "did you mean": up to three, best first; names further than a third of
 * the wanted name's length (plus two) are not offered. */
struct nearest {
    const char *want;
    size_t limit, best[3];
    char name[3][256];
};

static void nearest_init(struct nearest *nr, const char *want)
{
    memset(nr, 0, sizeof *nr);
    nr->want = want;
    nr->limit = strlen(want) / 3 + 2;
    for (int k = 0; k < 3; k++)
        nr->best[k] = SIZE_MAX;
}

/* Offer component + "." + metric (component "" : metric alone). */
static void nearest_offer(struct nearest *nr, const char *component, const char *metric)
{
    char full[256];
    snprintf(full, sizeof full, "%s%s%s", component, *component ? "." : "", metric);
    size_t lw = strlen(nr->want), lf = strlen(full);
    if ((lw > lf ? lw - lf : lf - lw) > nr->limit) /* cheap: distance >= length difference */
        return;
    size_t dist = edit_distance(nr->want, full);
    if (dist > nr->limit)
        return;
    for (int k = 0; k < 3; k++) {
        if (strcmp(nr->name[k], full) == 0)
            return; /* a name listed twice (a gauge's fields, a duplicate) */
        if (dist < nr->best[k]) {
            for (int m = 2; m > k; m--) {
                nr->best[m] = nr->best[m - 1];
                memcpy(nr->name[m], nr->name[m - 1], sizeof nr->name[m]);
            }
            nr->best[k] = dist;
            memcpy(nr->name[k], full, sizeof full);
            return;
        }
    }
}

/* "'a', 'b'" into buf; empty when nothing was close. */
static void nearest_format(const struct nearest *nr, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int k = 0; k < 3 && nr->best[k] != SIZE_MAX && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s'%s'", k ? ", " : "", nr->name[k]);
}

static void nearest_metrics(const struct orr_metric *a, size_t n, const char *name, char *buf,
                            size_t len)
{
    struct nearest nr;
    nearest_init(&nr, name);
    for (size_t i = 0; i < n; i++)
        nearest_offer(&nr, a[i].component, a[i].name);
    nearest_format(&nr, buf, len);
}

static bool evaluate(const struct orr_budget_bound *b, double v, double *margin)
{
    switch (b->op) {
    case ORR_BUDGET_LE: *margin = b->value - v; return v <= b->value;
    case ORR_BUDGET_LT: *margin = b->value - v; return v < b->value;
    case ORR_BUDGET_GE: *margin = v - b->value; return v >= b->value;
    case ORR_BUDGET_GT: *margin = v - b->value; return v > b->value;
    case ORR_BUDGET_EQ: *margin = v == b->value ? 0.0 : -fabs(v - b->value); return v == b->value;
    case ORR_BUDGET_NE: *margin = fabs(v - b->value); return v != b->value;
    }
    return false;
}

int orr_budgets_check(const struct orr_budget *aBudget, size_t nBudget,
                      const struct orr_metric *aMetric, size_t nMetric,
                      struct orr_budget_result **aOut, size_t *nFail, struct orr_diag *d)
{
    int rc = 0;
    struct orr_budget_result *a = calloc(nBudget ? nBudget : 1, sizeof *a);
    if (!a)
        orr_oom();
    *nFail = 0;
    for (size_t i = 0; i < nBudget; i++) {
        const struct orr_budget *b = &aBudget[i];
        const struct orr_metric *m = find_metric(aMetric, nMetric, b->metric);
        const char *need = orr_budget_unit_metric(b->bound.unit);
        if (!m) {
            char near[512];
            nearest_metrics(aMetric, nMetric, b->metric, near, sizeof near);
            orr_diag_error(d, &b->mark, b->keypath,
                           "no metric '%s' in this run%s%s (names are component.metric as "
                           "`orrery run` prints them; histograms add .count, .mean, .p50, "
                           ".p99, ...; see `orrery run --json`)",
                           b->metric, *near ? "; nearest: " : "", near);
            rc = ORR_ESCHEMA;
            continue;
        }
        if (need && strcmp(need, m->unit ? m->unit : "") != 0) {
            orr_diag_error(d, &b->mark, b->keypath,
                           "bound '%s' has a unit for metrics in %s, but '%s' is in '%s'%s",
                           b->text, need, b->metric, m->unit ? m->unit : "",
                           m->unit && *m->unit ? "" : " (a plain number: write the bound "
                                                      "without a unit)");
            rc = ORR_ESCHEMA;
            continue;
        }
        a[i] = (struct orr_budget_result){.budget = b, .metric = m, .value = m->value};
        a[i].pass = evaluate(&b->bound, m->value, &a[i].margin);
        *nFail += !a[i].pass;
    }
    if (rc) {
        free(a);
        a = NULL;
        *nFail = 0;
    }
    *aOut = a;
    return rc;
}

/* ------------------------------------------------------ before the run */

/* What the built simulation says about one budget's metric. */
struct metric_lookup {
    const struct orr_component *comp; /* the longest component path that prefixes it */
    bool run;                         /* it starts with ORR_RUN_COMPONENT "." */
    const char *unit;                 /* of a declared metric it names; NULL if none */
    bool fits;                        /* a declared metric it names suits the bound */
};

/* Try every split of name into COMPONENT.METRIC (paths hold dots too),
 * and the run-level metrics under ORR_RUN_COMPONENT. */
static void lookup_metric(const struct orr_sim *s, const char *name, const char *need,
                          struct metric_lookup *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(name);
    char *path = malloc(len + 1);
    if (!path)
        orr_oom();
    for (const char *dot = strchr(name, '.'); dot && !out->fits; dot = strchr(dot + 1, '.')) {
        memcpy(path, name, (size_t)(dot - name));
        path[dot - name] = 0;
        const struct orr_component *c = orr_sim_find(s, path);
        const char *unit = NULL, *fit = NULL;
        if (c) {
            out->comp = c;
            unit = orr_metric_declared(c, dot + 1, NULL);
            fit = need ? orr_metric_declared(c, dot + 1, need) : unit;
        }
        if (!unit && strcmp(path, ORR_RUN_COMPONENT) == 0) {
            out->run = true;
            unit = orr_run_metric_declared(dot + 1, NULL);
            fit = need ? orr_run_metric_declared(dot + 1, need) : unit;
        }
        if (unit && !out->unit)
            out->unit = unit;
        out->fits = fit != NULL;
    }
    free(path);
}

/* The metrics of the simulation as built (every registered stat, by the
 * names a run reports) closest to name. */
static void nearest_registered(const struct orr_sim *s, const char *name, char *buf,
                               size_t len)
{
    struct nearest nr;
    nearest_init(&nr, name);
    for (size_t i = 0; orr_run_metrics[i].name; i++)
        nearest_offer(&nr, ORR_RUN_COMPONENT, orr_run_metrics[i].name);
    for (size_t i = 0; i < orr_sim_stat_count(s); i++) {
        struct orr_stat_info st;
        orr_sim_stat(s, i, &st);
        size_t nf;
        const struct orr_metric_field *f = orr_metric_fields(st.kind, &nf);
        for (size_t k = 0; k < nf; k++) {
            char metric[256];
            snprintf(metric, sizeof metric, "%s%s%s", st.name, f[k].suffix ? "." : "",
                     f[k].suffix ? f[k].suffix : "");
            nearest_offer(&nr, st.component->path, metric);
        }
    }
    nearest_format(&nr, buf, len);
}

static void report_missing(const struct orr_sim *s, const struct orr_budget *b,
                           const struct metric_lookup *m, struct orr_diag *d)
{
    char near[800], why[512];
    nearest_registered(s, b->metric, near, sizeof near);
    if (m->comp)
        snprintf(why, sizeof why, "component '%s' (type %s) declares no metric '%s' "
                 "(see `orrery list %s`, and `orrery list metrics` for its linked ports)",
                 m->comp->path, m->comp->type->name, b->metric + strlen(m->comp->path) + 1,
                 m->comp->type->name);
    else if (m->run)
        snprintf(why, sizeof why, "the run reports no metric '%s' (see `orrery list metrics`)",
                 b->metric + strlen(ORR_RUN_COMPONENT) + 1);
    else
        snprintf(why, sizeof why, "it names no component (a budget is COMPONENT.METRIC, as "
                 "`orrery run` prints them)");
    orr_diag_error(d, &b->mark, b->keypath, "no metric '%s' can exist in this scenario: %s%s%s%s",
                   b->metric, why, *near ? "; did you mean " : "", near, *near ? "?" : "");
}

int orr_budgets_check_names(const struct orr_budget *aBudget, size_t nBudget,
                            const struct orr_sim *s, struct orr_diag *d)
{
    int rc = 0;
    for (size_t i = 0; i < nBudget; i++) {
        const struct orr_budget *b = &aBudget[i];
        const char *need = orr_budget_unit_metric(b->bound.unit);
        struct metric_lookup m;
        lookup_metric(s, b->metric, need, &m);
        if (m.fits)
            continue;
        rc = ORR_ESCHEMA;
        if (!m.unit)
            report_missing(s, b, &m, d);
        else /* the words of the after-run check (orr_budgets_check) */
            orr_diag_error(d, &b->mark, b->keypath,
                           "bound '%s' has a unit for metrics in %s, but '%s' is in '%s'%s",
                           b->text, need, b->metric, m.unit,
                           *m.unit ? "" : " (a plain number: write the bound without a unit)");
    }
    return rc;
}
