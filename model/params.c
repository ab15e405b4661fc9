/* Parameter schemas: validate one MAP node of the config tree against a static
 * table of keys (type, default, bounds, help) and hand back typed values, with
 * an error for every unknown key, wrong type, bad unit and missing key.
 *
 * Defaults go through the same parser as user values, so a schema cannot
 * promise something the parser would refuse; a bad default is a programming
 * error and aborts (as does reading a parameter with the wrong accessor). */
#define _POSIX_C_SOURCE 200809L
#include "orrery/params.h"
#include "orrery/time.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "orrery/units.h"

struct ptype_info {
    const char *name;   /* as `orrery list` shows it */
    const char *expect; /* for "expected ..., got ..." */
    int unit;           /* enum orr_unit_kind, or -1 */
};

static const struct ptype_info aType[] = {
    [ORR_P_BOOL] = {"bool", "true or false", -1},
    [ORR_P_INT] = {"integer", "an integer", -1},
    [ORR_P_UINT] = {"unsigned integer", "a non-negative integer", -1},
    [ORR_P_TIME] = {"time", "a time such as 10ns", ORR_UNIT_TIME},
    [ORR_P_CYCLES] = {"cycles", "a cycle count such as 5cy", ORR_UNIT_CYCLES},
    [ORR_P_FREQ] = {"frequency", "a frequency such as 3.2GHz", ORR_UNIT_FREQ},
    [ORR_P_SIZE] = {"size", "a size such as 48KiB", ORR_UNIT_SIZE},
    [ORR_P_BW] = {"bandwidth", "a bandwidth such as 200Gbps", ORR_UNIT_BW},
    [ORR_P_STRING] = {"string", "a string", -1},
    [ORR_P_ENUM] = {"enum", "one of the choices", -1},
    [ORR_P_LIST] = {"list", "a list such as [a, b]", -1},
    [ORR_P_MAP] = {"map", "a mapping", -1},
    [ORR_P_SEQ] = {"list", "a list", -1},
};

/* Schema mistakes are programming errors: stop loudly in every build type
 * (an assert would vanish under NDEBUG and leave an out-of-bounds read). */
static void require(bool ok, const char *name, const char *what)
{
    if (!ok) {
        fprintf(stderr, "orrery: parameter '%s': %s\n", name ? name : "?", what);
        abort();
    }
}

static const struct ptype_info *type_info(enum orr_ptype t)
{
    require((unsigned)t < sizeof aType / sizeof aType[0], NULL, "unknown parameter type");
    return &aType[t];
}

static bool is_u64_type(enum orr_ptype t)
{
    return t == ORR_P_UINT || type_info(t)->unit >= 0;
}

/* printf into a malloc'ed string; NULL when memory is short. */
static char *msgf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *msgf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)len + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* "a, b, c" from a NULL-terminated list (or ""), malloc'ed. */
static char *join_names(const char *const *a, const char *const *b)
{
    size_t n = 1;
    for (const char *const *p = a; p && *p; p++)
        n += strlen(*p) + 2;
    for (const char *const *p = b; p && *p; p++)
        n += strlen(*p) + 2;
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (const char *const *p = a; p && *p; p++)
        strcat(strcat(s, *s ? ", " : ""), *p);
    for (const char *const *p = b; p && *p; p++)
        strcat(strcat(s, *s ? ", " : ""), *p);
    return s;
}

/* ---- edit distance for "did you mean" ------------------------------------ */

#define SUGGEST_MAX_LEN 64
#define SUGGEST_MAX_DIST 2

/* Optimal-string-alignment distance (a transposition counts as one edit);
 * only for short strings, which is all a suggestion needs. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > SUGGEST_MAX_LEN || nb > SUGGEST_MAX_LEN)
        return SIZE_MAX;
    size_t prev2[SUGGEST_MAX_LEN + 1], prev[SUGGEST_MAX_LEN + 1], cur[SUGGEST_MAX_LEN + 1];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        memcpy(prev2, prev, sizeof prev);
        memcpy(prev, cur, sizeof cur);
    }
    return prev[nb];
}

const char *orr_suggest(const char *word, const char *const *aName, size_t nName)
{
    const char *best = NULL;
    size_t bestDist = SUGGEST_MAX_DIST + 1;
    for (size_t i = 0; i < nName; i++) {
        size_t dist = edit_distance(word, aName[i]);
        if (dist < bestDist) {
            bestDist = dist;
            best = aName[i];
        }
    }
    return best;
}

/* ---- scalar values ------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Strict decimal: digits only, no sign, no spaces. */
static bool parse_u64(const char *s, uint64_t *out, bool *overflow)
{
    uint64_t v = 0;
    *overflow = false;
    if (!is_digit(*s))
        return false;
    for (; is_digit(*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            *overflow = true;
        v = v * 10 + d;
    }
    *out = v;
    return *s == '\0';
}

static char *parse_int(const char *text, union orr_pval *v)
{
    bool neg = text[0] == '-', overflow;
    uint64_t mag;
    if (!parse_u64(text + neg, &mag, &overflow))
        return msgf("expected an integer, got '%s'", text);
    if (overflow || mag > (uint64_t)INT64_MAX + neg)
        return msgf("'%s' is out of range for a 64-bit integer", text);
    v->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return NULL;
}

static char *parse_uint(const char *text, union orr_pval *v)
{
    bool overflow;
    if (!parse_u64(text, &v->u, &overflow))
        return msgf("expected a non-negative integer, got '%s'", text);
    if (overflow)
        return msgf("'%s' is out of range (at most %" PRIu64 ")", text, UINT64_MAX);
    return NULL;
}

/* orr_unit_parse says "problem; expectation": name the text between them. */
static char *parse_unit(enum orr_unit_kind kind, const char *text, union orr_pval *v)
{
    const char *why = NULL;
    if (orr_unit_parse(kind, text, &v->u, &why) == 0)
        return NULL;
    const char *semi = why ? strstr(why, "; ") : NULL;
    if (!semi)
        return msgf("bad value '%s': %s", text, why ? why : "not a valid value");
    return msgf("%.*s in '%s': %s", (int)(semi - why), why, text, semi + 2);
}

static char *parse_enum(const struct orr_param *prm, const char *text, union orr_pval *v)
{
    size_t n = 0;
    for (; prm->choices && prm->choices[n]; n++)
        if (strcmp(prm->choices[n], text) == 0) {
            v->e = (unsigned)n;
            return NULL;
        }
    char *list = join_names(prm->choices, NULL);
    const char *close = orr_suggest(text, prm->choices, n);
    char *m = close ? msgf("expected one of %s, got '%s'; did you mean '%s'?", list ? list : "",
                           text, close)
                    : msgf("expected one of %s, got '%s'", list ? list : "", text);
    free(list);
    return m;
}

/* Parse a scalar's text as prm's (scalar) type. Returns NULL or a malloc'ed
 * message. Constraints are checked separately. */
static char *parse_scalar(const struct orr_param *prm, const char *text, union orr_pval *v)
{
    int unit = type_info(prm->type)->unit;
    if (unit >= 0)
        return parse_unit((enum orr_unit_kind)unit, text, v);
    switch (prm->type) {
    case ORR_P_BOOL:
        v->b = strcmp(text, "true") == 0;
        if (v->b || strcmp(text, "false") == 0)
            return NULL;
        return msgf("expected true or false, got '%s'", text);
    case ORR_P_INT:
        return parse_int(text, v);
    case ORR_P_UINT:
        return parse_uint(text, v);
    case ORR_P_ENUM:
        return parse_enum(prm, text, v);
    case ORR_P_STRING:
        v->s = text;
        return NULL;
    default:
        require(false, prm->name, "not a scalar type");
        return NULL;
    }
}

/* Render a bound the way a user writes it. */
static void format_bound(const struct orr_param *prm, uint64_t b, char *buf, size_t n)
{
    int unit = type_info(prm->type)->unit;
    if (unit >= 0)
        orr_unit_format((enum orr_unit_kind)unit, b, buf, n);
    else if (prm->type == ORR_P_INT)
        snprintf(buf, n, "%" PRId64, (int64_t)b);
    else
        snprintf(buf, n, "%" PRIu64, b);
}

/* POSITIVE, NONEMPTY and min/max (INT bounds are read as int64_t). */
static char *check_constraints(const struct orr_param *prm, const union orr_pval *v,
                               const char *text)
{
    bool numeric = prm->type == ORR_P_INT || is_u64_type(prm->type);
    if (numeric && (prm->flags & ORR_PF_POSITIVE) &&
        (prm->type == ORR_P_INT ? v->i <= 0 : v->u == 0))
        return msgf("must be greater than zero, got '%s'", text);
    if (prm->flags & ORR_PF_NONEMPTY) {
        bool empty = (prm->type == ORR_P_STRING && !*v->s) ||
                     (prm->type == ORR_P_LIST && !v->list.n) ||
                     ((prm->type == ORR_P_MAP || prm->type == ORR_P_SEQ) && !v->map->n);
        if (empty)
            return msgf("must not be empty");
    }
    if (prm->type == ORR_P_TIME && v->u > ORR_TIME_HORIZON)
        return msgf("'%s' is beyond the end of simulated time (2^62 ps, about 53 days)", text);
    if (!numeric || prm->max == 0)
        return NULL;
    bool below = prm->type == ORR_P_INT ? v->i < (int64_t)prm->min : v->u < prm->min;
    bool above = prm->type == ORR_P_INT ? v->i > (int64_t)prm->max : v->u > prm->max;
    if (!below && !above)
        return NULL;
    char lo[48], hi[48];
    format_bound(prm, prm->min, lo, sizeof lo);
    format_bound(prm, prm->max, hi, sizeof hi);
    return msgf("must be between %s and %s, got '%s'", lo, hi, text);
}

/* ---- nodes ----------------------------------------------------------------- */

static const char *kind_noun(enum orr_node_kind kind)
{
    return kind == ORR_NODE_MAP ? "a mapping" : kind == ORR_NODE_SEQ ? "a sequence" : "a scalar";
}

static char *expected_got(const struct orr_param *prm, enum orr_node_kind got)
{
    if (prm->type != ORR_P_ENUM)
        return msgf("expected %s, got %s", type_info(prm->type)->expect, kind_noun(got));
    char *list = join_names(prm->choices, NULL);
    char *m = msgf("expected one of %s, got %s", list ? list : "", kind_noun(got));
    free(list);
    return m;
}

/* LIST from a SEQ of scalars; items point into the tree. Item errors are
 * reported here (they have their own marks). */
static char *parse_list(const struct orr_node *node, const char *keypath, union orr_pval *v,
                        struct orr_diag *d, bool *bad)
{
    v->list.v = calloc(node->n ? node->n : 1, sizeof *v->list.v);
    if (!v->list.v)
        return msgf("out of memory");
    v->list.n = node->n;
    for (size_t i = 0; i < node->n; i++) {
        const struct orr_node *item = node->aItem[i];
        if (item->kind == ORR_NODE_SCALAR) {
            v->list.v[i] = item->scalar;
            continue;
        }
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        char *kp = orr_keypath_join(keypath, idx);
        orr_diag_error(d, &item->mark, kp, "expected a string, got %s", kind_noun(item->kind));
        free(kp);
        *bad = true;
    }
    return NULL;
}

/* Parse one given value. Returns NULL or a message for node's mark. */
static char *parse_node(const struct orr_param *prm, const struct orr_node *node,
                        const char *keypath, union orr_pval *v, struct orr_diag *d, bool *bad)
{
    if (prm->type == ORR_P_MAP || prm->type == ORR_P_SEQ) {
        enum orr_node_kind want = prm->type == ORR_P_MAP ? ORR_NODE_MAP : ORR_NODE_SEQ;
        if (node->kind != want)
            return expected_got(prm, node->kind);
        v->map = node;
        return check_constraints(prm, v, "");
    }
    if (prm->type == ORR_P_LIST) {
        if (node->kind != ORR_NODE_SEQ)
            return expected_got(prm, node->kind);
        char *m = parse_list(node, keypath, v, d, bad);
        return m ? m : check_constraints(prm, v, "");
    }
    if (node->kind != ORR_NODE_SCALAR)
        return expected_got(prm, node->kind);
    char *m = parse_scalar(prm, node->scalar, v);
    return m ? m : check_constraints(prm, v, node->scalar);
}

/* A LIST default: "a, b" or "[a, b]" (or "" for none). The item pointers and
 * the copied text share one allocation, freed with v->list.v. */
static void default_list(const char *def, union orr_pval *v)
{
    size_t len = strlen(def), nItem = 1;
    for (size_t i = 0; i < len; i++)
        nItem += def[i] == ',';
    const char **a = calloc(1, nItem * sizeof *a + len + 1);
    require(a != NULL, def, "out of memory parsing a list default");
    char *text = memcpy((char *)(a + nItem), def, len + 1);
    size_t n = 0;
    for (char *s = text, *end; s; s = end) {
        end = strchr(s, ',');
        if (end)
            *end++ = '\0';
        s += strspn(s, " [");
        size_t l = strlen(s);
        while (l && (s[l - 1] == ' ' || s[l - 1] == ']'))
            s[--l] = '\0';
        if (*s)
            a[n++] = s;
    }
    v->list.v = a;
    v->list.n = n;
}

/* Fill v from prm's default; aborts unless the default is valid. A MAP or
 * SEQ default can only be empty ("", "{}" or "[]"), which leaves it NULL. */
static void apply_default(const struct orr_param *prm, union orr_pval *v)
{
    if (prm->type == ORR_P_MAP || prm->type == ORR_P_SEQ) {
        require(!strcmp(prm->def, "") || !strcmp(prm->def, "{}") || !strcmp(prm->def, "[]"),
                prm->name, "a MAP or SEQ default must be empty: \"\", \"{}\" or \"[]\"");
        v->map = NULL;
        return;
    }
    if (prm->type == ORR_P_LIST) {
        default_list(prm->def, v);
        return;
    }
    char *m = parse_scalar(prm, prm->def, v);
    if (!m)
        m = check_constraints(prm, v, prm->def);
    require(!m, prm->name, m ? m : "");
}

/* ---- the schema ---------------------------------------------------------- */

static size_t schema_count(const struct orr_param *schema)
{
    size_t n = 0;
    while (schema && schema[n].name)
        n++;
    return n;
}

static long schema_find(const struct orr_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->schema[i].name, name) == 0)
            return (long)i;
    return -1;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static void report_unknown(const struct orr_params *p, const char *key,
                           const struct orr_mark *mark, const char *keypath,
                           const char *const *skip, struct orr_diag *d)
{
    size_t nSkip = 0;
    while (skip && skip[nSkip])
        nSkip++;
    const char **aName = calloc(p->n + nSkip + 1, sizeof *aName);
    for (size_t i = 0; aName && i < p->n; i++)
        aName[i] = p->schema[i].name;
    char *valid = aName ? join_names(aName, skip) : NULL;
    for (size_t i = 0; aName && i < nSkip; i++) /* allowed keys are suggestions too */
        aName[p->n + i] = skip[i];
    const char *close = aName ? orr_suggest(key, aName, p->n + nSkip) : NULL;
    char *kp = orr_keypath_join(keypath, key);
    if (!valid || !*valid)
        orr_diag_error(d, mark, kp, "unknown key '%s' (no keys are allowed here)", key);
    else if (close)
        orr_diag_error(d, mark, kp, "unknown key '%s'; did you mean '%s'? (valid keys: %s)", key,
                       close, valid);
    else
        orr_diag_error(d, mark, kp, "unknown key '%s' (valid keys: %s)", key, valid);
    free(kp);
    free(valid);
    free(aName);
}

/* Validate one key/value pair of the map. */
static bool parse_entry(struct orr_params *out, size_t k, const struct orr_node *node,
                        const char *keypath, struct orr_diag *d)
{
    const struct orr_param *prm = &out->schema[k];
    char *kp = orr_keypath_join(keypath, prm->name);
    bool bad = false;
    char *m = parse_node(prm, node, kp, &out->v[k], d, &bad);
    if (m) {
        orr_diag_error(d, &node->mark, kp, "%s", m);
        bad = true;
    }
    out->marks[k] = node->mark;
    out->given[k] = true;
    free(m);
    free(kp);
    return !bad;
}

static bool fill_missing(struct orr_params *out, const struct orr_node *map,
                         const char *keypath, struct orr_diag *d)
{
    static const struct orr_mark none = {NULL, 0, 0};
    const struct orr_mark *mark = map ? &map->mark : &none;
    bool ok = true;
    for (size_t k = 0; k < out->n; k++) {
        const struct orr_param *prm = &out->schema[k];
        if (out->given[k])
            continue;
        out->marks[k] = *mark;
        if (prm->def) {
            apply_default(prm, &out->v[k]);
            continue;
        }
        char what[256];
        char *kp = orr_keypath_join(keypath, prm->name);
        orr_diag_error(d, map ? mark : NULL, kp, "missing required key '%s' (%s)", prm->name,
                       orr_ptype_describe(prm, what, sizeof what));
        free(kp);
        ok = false;
    }
    return ok;
}

static bool params_alloc(struct orr_params *out, const struct orr_param *schema)
{
    memset(out, 0, sizeof *out);
    out->schema = schema;
    out->n = schema_count(schema);
    size_t n = out->n ? out->n : 1;
    out->v = calloc(n, sizeof *out->v);
    out->marks = calloc(n, sizeof *out->marks);
    out->given = calloc(n, sizeof *out->given);
    return out->v && out->marks && out->given;
}

int orr_params_parse(const struct orr_param *schema, const struct orr_node *map,
                     const char *keypath, const char *const *skip, struct orr_params *out,
                     struct orr_diag *d)
{
    if (!out)
        return ORR_EINVAL;
    if (!schema || !d || !params_alloc(out, schema)) {
        orr_params_free(out);
        return schema && d ? ORR_ENOMEM : ORR_EINVAL;
    }
    bool ok = true;
    if (map && map->kind != ORR_NODE_MAP) {
        orr_diag_error(d, &map->mark, keypath, "expected a mapping, got %s",
                       kind_noun(map->kind));
        orr_params_free(out);
        return ORR_ESCHEMA;
    }
    for (size_t i = 0; map && i < map->n; i++) {
        const char *key = map->aKey[i];
        long k = schema_find(out, key);
        if (k >= 0)
            ok &= parse_entry(out, (size_t)k, map->aItem[i], keypath, d);
        else if (!in_list(skip, key)) {
            report_unknown(out, key, &map->aKeyMark[i], keypath, skip, d);
            ok = false;
        }
    }
    ok &= fill_missing(out, map, keypath, d);
    if (!ok) {
        orr_params_free(out);
        return ORR_ESCHEMA;
    }
    return 0;
}

void orr_params_free(struct orr_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->v && i < p->n; i++)
        if (p->schema[i].type == ORR_P_LIST)
            free(p->v[i].list.v);
    free(p->v);
    free(p->marks);
    free(p->given);
    memset(p, 0, sizeof *p);
}

/* ---- accessors ------------------------------------------------------------ */

static size_t param_index(const struct orr_params *p, const char *name)
{
    long k = schema_find(p, name);
    require(k >= 0, name, "not in the schema");
    return (size_t)k;
}

static const union orr_pval *param_value(const struct orr_params *p, const char *name,
                                         enum orr_ptype type)
{
    size_t k = param_index(p, name);
    require(p->schema[k].type == type, name, "read with an accessor of another type");
    return &p->v[k];
}

bool orr_param_bool(const struct orr_params *p, const char *name)
{
    return param_value(p, name, ORR_P_BOOL)->b;
}

int64_t orr_param_int(const struct orr_params *p, const char *name)
{
    return param_value(p, name, ORR_P_INT)->i;
}

uint64_t orr_param_u64(const struct orr_params *p, const char *name)
{
    size_t k = param_index(p, name);
    require(is_u64_type(p->schema[k].type), name, "is not UINT or a unit type");
    return p->v[k].u;
}

const char *orr_param_str(const struct orr_params *p, const char *name)
{
    return param_value(p, name, ORR_P_STRING)->s;
}

unsigned orr_param_enum(const struct orr_params *p, const char *name)
{
    return param_value(p, name, ORR_P_ENUM)->e;
}

const char *const *orr_param_list(const struct orr_params *p, const char *name, size_t *n)
{
    const union orr_pval *v = param_value(p, name, ORR_P_LIST);
    if (n)
        *n = v->list.n;
    return v->list.v;
}

const struct orr_node *orr_param_map(const struct orr_params *p, const char *name)
{
    size_t k = param_index(p, name);
    enum orr_ptype t = p->schema[k].type;
    require(t == ORR_P_MAP || t == ORR_P_SEQ, name, "is not MAP or SEQ");
    return p->v[k].map;
}

const struct orr_mark *orr_param_mark(const struct orr_params *p, const char *name)
{
    return &p->marks[param_index(p, name)];
}

bool orr_param_given(const struct orr_params *p, const char *name)
{
    return p->given[param_index(p, name)];
}

const char *orr_ptype_describe(const struct orr_param *prm, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    if (prm->type != ORR_P_ENUM) {
        snprintf(buf, n, "%s", type_info(prm->type)->name);
        return buf;
    }
    char *list = join_names(prm->choices, NULL);
    snprintf(buf, n, "one of %s", list ? list : "");
    free(list);
    return buf;
}
