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
    [ORR_P_ADDR] = {"address", "an address such as 0x100000000, 4096 or 4GiB", -1},
    [ORR_P_GROUP] = {"map", "a mapping", -1},
    [ORR_P_GROUPS] = {"list of maps", "a list of mappings", -1},
    [ORR_P_INCLUDE] = {"(include)", "", -1},
    [ORR_P_UINTS] = {"list of integers", "a list of non-negative integers such as [0, 2]", -1},
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
    return t == ORR_P_UINT || t == ORR_P_ADDR || type_info(t)->unit >= 0;
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
    case ORR_P_ADDR: {
        const char *why = NULL;
        if (orr_addr_parse(text, &v->u, &why) == 0)
            return NULL;
        return msgf("bad address '%s': %s", text, why);
    }
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
    else if (prm->type == ORR_P_ADDR)
        snprintf(buf, n, "0x%" PRIx64, b);
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
                     (prm->type == ORR_P_GROUPS && !v->groups.n) ||
                     (prm->type == ORR_P_UINTS && !v->uints.n) ||
                     ((prm->type == ORR_P_MAP || prm->type == ORR_P_SEQ) && (!v->map || !v->map->n));
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

/* ---- owned values -------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* A LIST value owning its items: one block holding the pointer array and
 * the text. Returns false when memory is short (v->list emptied). */
static bool list_own(union orr_pval *v, const char *const *aItem, size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(aItem[i]) + 1;
    const char **a = malloc(bytes);
    v->list.v = a;
    v->list.n = a ? n : 0;
    if (!a)
        return false;
    char *text = (char *)(a + (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(aItem[i]) + 1;
        a[i] = memcpy(text, aItem[i], len);
        text += len;
    }
    return true;
}

static void value_free(const struct orr_param *prm, union orr_pval *v, bool owned)
{
    switch (prm->type) {
    case ORR_P_STRING:
        if (owned)
            free((char *)v->s);
        break;
    case ORR_P_LIST:
        free(v->list.v);
        break;
    case ORR_P_UINTS:
        free(v->uints.v);
        break;
    case ORR_P_GROUP:
        orr_params_free(v->group);
        free(v->group);
        break;
    case ORR_P_GROUPS:
        for (size_t i = 0; i < v->groups.n; i++)
            orr_params_free(&v->groups.v[i]);
        free(v->groups.v);
        break;
    default:
        break;
    }
    memset(v, 0, sizeof *v);
}

/* ---- the schema ---------------------------------------------------------- */

#define INCLUDE_DEPTH 8 /* includes nest no deeper (a schema bug otherwise) */

static size_t flat_count(const struct orr_param *schema, unsigned depth)
{
    require(depth <= INCLUDE_DEPTH, NULL, "INCLUDE nested too deep (a cycle?)");
    size_t n = 0;
    for (; schema && schema->name; schema++) {
        if (schema->type == ORR_P_INCLUDE) {
            require(schema->group != NULL, schema->name, "INCLUDE without a group");
            n += flat_count(schema->group, depth + 1);
        } else {
            require((schema->type != ORR_P_GROUP && schema->type != ORR_P_GROUPS) ||
                        schema->group != NULL,
                    schema->name, "GROUP or GROUPS without a group schema");
            n++;
        }
    }
    return n;
}

static void flat_fill(const struct orr_param *schema, const struct orr_param **out, size_t *n)
{
    for (; schema && schema->name; schema++) {
        if (schema->type == ORR_P_INCLUDE)
            flat_fill(schema->group, out, n);
        else
            out[(*n)++] = schema;
    }
}

void orr_schema_walk(const struct orr_param *schema,
                     void (*fn)(void *arg, const struct orr_param *key), void *arg)
{
    for (; schema && schema->name; schema++) {
        if (schema->type == ORR_P_INCLUDE)
            orr_schema_walk(schema->group, fn, arg);
        else
            fn(arg, schema);
    }
}

static long schema_find(const struct orr_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->aSpec[i]->name, name) == 0)
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
        aName[i] = p->aSpec[i]->name;
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

static bool params_alloc(struct orr_params *out, const struct orr_param *schema,
                         const struct orr_mark *mark)
{
    static const struct orr_mark none = {NULL, 0, 0};
    memset(out, 0, sizeof *out);
    out->schema = schema;
    out->mark = mark ? *mark : none;
    out->n = flat_count(schema, 0);
    size_t n = out->n ? out->n : 1;
    out->aSpec = calloc(n, sizeof *out->aSpec);
    out->v = calloc(n, sizeof *out->v);
    out->marks = calloc(n, sizeof *out->marks);
    out->given = calloc(n, sizeof *out->given);
    out->set = calloc(n, sizeof *out->set);
    out->owned = calloc(n, sizeof *out->owned);
    if (!out->aSpec || !out->v || !out->marks || !out->given || !out->set || !out->owned)
        return false;
    size_t k = 0;
    flat_fill(schema, out->aSpec, &k);
    return true;
}

static int parse_map(const struct orr_param *schema, const struct orr_node *map,
                     const struct orr_mark *owner, const char *keypath, const char *const *skip,
                     struct orr_params *out, struct orr_diag *d);

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
        v->list.v[i] = "";
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        char *kp = orr_keypath_join(keypath, idx);
        orr_diag_error(d, &item->mark, kp, "expected a string, got %s", kind_noun(item->kind));
        free(kp);
        *bad = true;
    }
    return NULL;
}

/* GROUP from a MAP, GROUPS from a SEQ of MAPs: nested parses report their
 * own errors; *bad says whether any was found. */
static char *parse_groups(const struct orr_param *prm, const struct orr_node *node,
                          const char *keypath, union orr_pval *v, struct orr_diag *d, bool *bad)
{
    if (prm->type == ORR_P_GROUP) {
        v->group = calloc(1, sizeof *v->group);
        if (!v->group)
            return msgf("out of memory");
        *bad |= parse_map(prm->group, node, &node->mark, keypath, NULL, v->group, d) != 0;
        return NULL;
    }
    v->groups.v = calloc(node->n ? node->n : 1, sizeof *v->groups.v);
    if (!v->groups.v)
        return msgf("out of memory");
    v->groups.n = node->n;
    for (size_t i = 0; i < node->n; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        char *kp = orr_keypath_join(keypath, idx);
        *bad |= parse_map(prm->group, node->aItem[i], &node->aItem[i]->mark, kp, NULL,
                          &v->groups.v[i], d) != 0;
        free(kp);
    }
    return check_constraints(prm, v, "");
}

/* UINTS from a SEQ of scalars (or item texts); each item is checked
 * against prm's bounds. Item errors carry their own marks when node is
 * given. */
static char *parse_uints(const struct orr_param *prm, const struct orr_node *node,
                         const char *const *aText, size_t n, const char *keypath,
                         union orr_pval *v, struct orr_diag *d, bool *bad)
{
    v->uints.v = calloc(n ? n : 1, sizeof *v->uints.v);
    if (!v->uints.v)
        return msgf("out of memory");
    v->uints.n = n;
    struct orr_param one = *prm;
    one.type = ORR_P_UINT;
    one.flags &= ~(uint32_t)ORR_PF_NONEMPTY;
    for (size_t i = 0; i < n; i++) {
        const struct orr_node *item = node ? node->aItem[i] : NULL;
        union orr_pval x = {0};
        char *m = item && item->kind != ORR_NODE_SCALAR
                      ? msgf("expected a non-negative integer, got %s", kind_noun(item->kind))
                      : parse_uint(item ? item->scalar : aText[i], &x);
        if (!m)
            m = check_constraints(&one, &x, item ? item->scalar : aText[i]);
        if (m && !node) /* a bad default: a schema bug */
            require(false, prm->name, m);
        if (m) {
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", i);
            char *kp = orr_keypath_join(keypath, idx);
            orr_diag_error(d, &item->mark, kp, "%s", m);
            free(kp);
            free(m);
            *bad = true;
        }
        v->uints.v[i] = x.u;
    }
    return check_constraints(prm, v, "");
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
    if (prm->type == ORR_P_GROUP || prm->type == ORR_P_GROUPS) {
        enum orr_node_kind want = prm->type == ORR_P_GROUP ? ORR_NODE_MAP : ORR_NODE_SEQ;
        if (node->kind != want)
            return expected_got(prm, node->kind);
        return parse_groups(prm, node, keypath, v, d, bad);
    }
    if (prm->type == ORR_P_LIST) {
        if (node->kind != ORR_NODE_SEQ)
            return expected_got(prm, node->kind);
        char *m = parse_list(node, keypath, v, d, bad);
        return m ? m : check_constraints(prm, v, "");
    }
    if (prm->type == ORR_P_UINTS) {
        if (node->kind != ORR_NODE_SEQ)
            return expected_got(prm, node->kind);
        return parse_uints(prm, node, NULL, node->n, keypath, v, d, bad);
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
 * SEQ default can only be empty ("", "{}" or "[]"), which leaves it NULL; a
 * GROUP's default is "{}" (every nested key at its default, marked at
 * owner) and a GROUPS' is "[]". Returns false when memory is short. */
static bool apply_default(const struct orr_param *prm, union orr_pval *v,
                          const struct orr_mark *owner)
{
    bool empty = !strcmp(prm->def, "") || !strcmp(prm->def, "{}") || !strcmp(prm->def, "[]");
    switch (prm->type) {
    case ORR_P_MAP:
    case ORR_P_SEQ:
        require(empty, prm->name, "a MAP or SEQ default must be empty: \"\", \"{}\" or \"[]\"");
        v->map = NULL;
        return true;
    case ORR_P_GROUP:
        require(!strcmp(prm->def, "{}"), prm->name, "a GROUP default must be \"{}\"");
        v->group = calloc(1, sizeof *v->group);
        return v->group && orr_params_defaults(v->group, prm->group, owner) == 0;
    case ORR_P_GROUPS:
        require(!strcmp(prm->def, "[]"), prm->name, "a GROUPS default must be \"[]\"");
        v->groups.n = 0;
        v->groups.v = NULL;
        return true;
    case ORR_P_LIST:
        default_list(prm->def, v);
        return true;
    case ORR_P_UINTS: {
        union orr_pval items;
        bool bad = false;
        default_list(prm->def, &items);
        char *m = parse_uints(prm, NULL, items.list.v, items.list.n, prm->name, v, NULL, &bad);
        free(items.list.v);
        require(!m, prm->name, m ? m : "");
        return true;
    }
    default:
        break;
    }
    char *m = parse_scalar(prm, prm->def, v);
    if (!m)
        m = check_constraints(prm, v, prm->def);
    require(!m, prm->name, m ? m : "");
    return true; /* a STRING default points at the schema's static text */
}

/* Validate one key/value pair of the map. */
static bool parse_entry(struct orr_params *out, size_t k, const struct orr_node *node,
                        const char *keypath, struct orr_diag *d)
{
    const struct orr_param *prm = out->aSpec[k];
    char *kp = orr_keypath_join(keypath, prm->name);
    bool bad = false;
    char *m = parse_node(prm, node, kp, &out->v[k], d, &bad);
    if (m) {
        orr_diag_error(d, &node->mark, kp, "%s", m);
        bad = true;
    }
    out->marks[k] = node->mark;
    out->given[k] = true;
    out->set[k] = true;
    free(m);
    free(kp);
    return !bad;
}

/* Defaults for the keys not given; a missing required key is an error
 * (reported when d is not NULL) or, with d NULL, left unset. */
static bool fill_missing(struct orr_params *out, const struct orr_node *map,
                         const char *keypath, struct orr_diag *d)
{
    bool ok = true;
    for (size_t k = 0; k < out->n; k++) {
        const struct orr_param *prm = out->aSpec[k];
        if (out->set[k])
            continue;
        out->marks[k] = out->mark;
        if (prm->def) {
            if (!apply_default(prm, &out->v[k], &out->mark))
                return false;
            out->set[k] = true;
            continue;
        }
        if (!d)
            continue;
        char what[256];
        char *kp = orr_keypath_join(keypath, prm->name);
        orr_diag_error(d, map ? &out->mark : NULL, kp, "missing required key '%s' (%s)", prm->name,
                       orr_ptype_describe(prm, what, sizeof what));
        free(kp);
        ok = false;
    }
    return ok;
}

static int parse_map(const struct orr_param *schema, const struct orr_node *map,
                     const struct orr_mark *owner, const char *keypath, const char *const *skip,
                     struct orr_params *out, struct orr_diag *d)
{
    if (!params_alloc(out, schema, map ? &map->mark : owner)) {
        orr_params_free(out);
        return ORR_ENOMEM;
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
        else if (!in_list(skip, key) && !in_list(skip, "*")) {
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

int orr_params_parse(const struct orr_param *schema, const struct orr_node *map,
                     const char *keypath, const char *const *skip, struct orr_params *out,
                     struct orr_diag *d)
{
    if (!out)
        return ORR_EINVAL;
    if (!schema || !d) {
        memset(out, 0, sizeof *out);
        return ORR_EINVAL;
    }
    return parse_map(schema, map, NULL, keypath, skip, out, d);
}

void orr_params_free(struct orr_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->v && p->aSpec && i < p->n; i++)
        if (p->set && p->set[i])
            value_free(p->aSpec[i], &p->v[i], p->owned[i]);
    free(p->aSpec);
    free(p->v);
    free(p->marks);
    free(p->given);
    free(p->set);
    free(p->owned);
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
    require(p->aSpec[k]->type == type, name, "read with an accessor of another type");
    require(p->set[k], name, "read before a builder set it (a required key)");
    return &p->v[k];
}

bool orr_param_has(const struct orr_params *p, const char *name)
{
    return schema_find(p, name) >= 0;
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
    require(is_u64_type(p->aSpec[k]->type), name, "is not UINT, ADDR or a unit type");
    require(p->set[k], name, "read before a builder set it (a required key)");
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
    enum orr_ptype t = p->aSpec[k]->type;
    require(t == ORR_P_MAP || t == ORR_P_SEQ, name, "is not MAP or SEQ");
    return p->set[k] ? p->v[k].map : NULL;
}

const struct orr_params *orr_param_group(const struct orr_params *p, const char *name)
{
    return param_value(p, name, ORR_P_GROUP)->group;
}

const uint64_t *orr_param_uints(const struct orr_params *p, const char *name, size_t *n)
{
    const union orr_pval *v = param_value(p, name, ORR_P_UINTS);
    if (n)
        *n = v->uints.n;
    return v->uints.n ? v->uints.v : NULL;
}

const struct orr_params *orr_param_groups(const struct orr_params *p, const char *name, size_t *n)
{
    const union orr_pval *v = param_value(p, name, ORR_P_GROUPS);
    if (n)
        *n = v->groups.n;
    return v->groups.n ? v->groups.v : NULL;
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

/* ---- building values in code ---------------------------------------------- */

int orr_params_defaults(struct orr_params *out, const struct orr_param *schema,
                        const struct orr_mark *mark)
{
    if (!params_alloc(out, schema, mark) || !fill_missing(out, NULL, NULL, NULL)) {
        orr_params_free(out);
        return ORR_ENOMEM;
    }
    return 0;
}

/* dst = src; an owned string is copied (*owned says so), a tree one is
 * shared like the tree's other values. */
static bool value_copy(const struct orr_param *prm, union orr_pval *dst, const union orr_pval *src,
                       bool srcOwned, bool *owned)
{
    *dst = *src;
    *owned = false;
    switch (prm->type) {
    case ORR_P_STRING:
        if (!srcOwned)
            return true;
        *owned = true;
        return (dst->s = xstrdup(src->s)) != NULL;
    case ORR_P_LIST:
        return list_own(dst, src->list.v, src->list.n);
    case ORR_P_UINTS:
        dst->uints.v = malloc((src->uints.n ? src->uints.n : 1) * sizeof *dst->uints.v);
        if (dst->uints.v && src->uints.n)
            memcpy(dst->uints.v, src->uints.v, src->uints.n * sizeof *dst->uints.v);
        return dst->uints.v != NULL;
    case ORR_P_GROUP:
        dst->group = calloc(1, sizeof *dst->group);
        return dst->group && orr_params_copy(dst->group, src->group) == 0;
    case ORR_P_GROUPS:
        dst->groups.v = calloc(src->groups.n ? src->groups.n : 1, sizeof *dst->groups.v);
        dst->groups.n = 0;
        if (!dst->groups.v)
            return false;
        for (size_t i = 0; i < src->groups.n; i++, dst->groups.n++)
            if (orr_params_copy(&dst->groups.v[i], &src->groups.v[i]))
                return false;
        return true;
    default:
        return true;
    }
}

int orr_params_copy(struct orr_params *dst, const struct orr_params *src)
{
    if (!params_alloc(dst, src->schema, &src->mark)) {
        orr_params_free(dst);
        return ORR_ENOMEM;
    }
    for (size_t k = 0; k < src->n; k++) {
        dst->marks[k] = src->marks[k];
        dst->given[k] = src->given[k];
        if (!src->set[k])
            continue;
        dst->set[k] = true;
        if (!value_copy(src->aSpec[k], &dst->v[k], &src->v[k], src->owned[k], &dst->owned[k])) {
            orr_params_free(dst);
            return ORR_ENOMEM;
        }
    }
    return 0;
}

/* The slot of key name for a setter of a type satisfying ok: the old value
 * freed, the key marked given at p->mark. */
static union orr_pval *set_slot(struct orr_params *p, const char *name, bool (*ok)(enum orr_ptype))
{
    size_t k = param_index(p, name);
    require(ok(p->aSpec[k]->type), name, "set with a setter of another type");
    if (p->set[k])
        value_free(p->aSpec[k], &p->v[k], p->owned[k]);
    p->owned[k] = false;
    p->set[k] = true;
    p->given[k] = true;
    p->marks[k] = p->mark;
    return &p->v[k];
}

static bool t_u64(enum orr_ptype t) { return is_u64_type(t); }
static bool t_int(enum orr_ptype t) { return t == ORR_P_INT; }
static bool t_bool(enum orr_ptype t) { return t == ORR_P_BOOL; }
static bool t_enum(enum orr_ptype t) { return t == ORR_P_ENUM; }
static bool t_str(enum orr_ptype t) { return t == ORR_P_STRING; }
static bool t_list(enum orr_ptype t) { return t == ORR_P_LIST; }
static bool t_node(enum orr_ptype t) { return t == ORR_P_MAP || t == ORR_P_SEQ; }
static bool t_group(enum orr_ptype t) { return t == ORR_P_GROUP; }
static bool t_uints(enum orr_ptype t) { return t == ORR_P_UINTS; }

void orr_param_set_u64(struct orr_params *p, const char *name, uint64_t v)
{
    set_slot(p, name, t_u64)->u = v;
}

void orr_param_set_int(struct orr_params *p, const char *name, int64_t v)
{
    set_slot(p, name, t_int)->i = v;
}

void orr_param_set_bool(struct orr_params *p, const char *name, bool v)
{
    set_slot(p, name, t_bool)->b = v;
}

void orr_param_set_enum(struct orr_params *p, const char *name, unsigned v)
{
    size_t k = param_index(p, name);
    size_t n = 0;
    while (p->aSpec[k]->choices && p->aSpec[k]->choices[n])
        n++;
    require(v < n, name, "enum value out of range");
    set_slot(p, name, t_enum)->e = v;
}

int orr_param_set_str(struct orr_params *p, const char *name, const char *s)
{
    char *copy = xstrdup(s);
    if (!copy)
        return ORR_ENOMEM;
    set_slot(p, name, t_str)->s = copy;
    p->owned[param_index(p, name)] = true;
    return 0;
}

int orr_param_set_list(struct orr_params *p, const char *name, const char *const *v, size_t n)
{
    return list_own(set_slot(p, name, t_list), v, n) ? 0 : ORR_ENOMEM;
}

int orr_param_set_uints(struct orr_params *p, const char *name, const uint64_t *v, size_t n)
{
    union orr_pval src = {.uints = {n, (uint64_t *)v}};
    bool owned;
    return value_copy(p->aSpec[param_index(p, name)], set_slot(p, name, t_uints), &src, false,
                      &owned)
               ? 0
               : ORR_ENOMEM;
}

void orr_param_set_node(struct orr_params *p, const char *name, const struct orr_node *node)
{
    set_slot(p, name, t_node)->map = node;
}

int orr_param_set_group(struct orr_params *p, const char *name, const struct orr_params *src)
{
    union orr_pval *v = set_slot(p, name, t_group);
    require(src->schema == p->aSpec[param_index(p, name)]->group, name,
            "set from values of another schema");
    v->group = calloc(1, sizeof *v->group);
    return v->group && orr_params_copy(v->group, src) == 0 ? 0 : ORR_ENOMEM;
}

struct orr_params *orr_param_group_edit(struct orr_params *p, const char *name)
{
    size_t k = param_index(p, name);
    require(p->aSpec[k]->type == ORR_P_GROUP && p->set[k], name, "is not a GROUP with values");
    p->given[k] = true;
    return p->v[k].group;
}

struct orr_params *orr_param_groups_add(struct orr_params *p, const char *name)
{
    size_t k = param_index(p, name);
    require(p->aSpec[k]->type == ORR_P_GROUPS, name, "is not GROUPS");
    union orr_pval *v = &p->v[k];
    struct orr_params *a = realloc(v->groups.v, (v->groups.n + 1) * sizeof *a);
    if (!a)
        return NULL;
    v->groups.v = a;
    if (orr_params_defaults(&a[v->groups.n], p->aSpec[k]->group, &p->mark))
        return NULL;
    p->set[k] = p->given[k] = true;
    return &a[v->groups.n++];
}

int orr_param_forward(struct orr_params *p, const char *name, const struct orr_params *src)
{
    size_t k = param_index(p, name), j = param_index(src, name);
    require(p->aSpec[k]->type == src->aSpec[j]->type, name, "forwarded between types");
    require(src->set[j], name, "forwarded before it was set");
    if (p->set[k])
        value_free(p->aSpec[k], &p->v[k], p->owned[k]);
    p->set[k] = false;
    if (!value_copy(src->aSpec[j], &p->v[k], &src->v[j], src->owned[j], &p->owned[k]))
        return ORR_ENOMEM;
    p->set[k] = true;
    p->given[k] = src->given[j];
    p->marks[k] = src->marks[j];
    return 0;
}

int orr_params_forward_all(struct orr_params *dst, const struct orr_params *src)
{
    for (size_t j = 0; j < src->n; j++) {
        if (!src->set[j])
            continue;
        for (size_t k = 0; k < dst->n; k++)
            if (dst->aSpec[k] == src->aSpec[j] && orr_param_forward(dst, dst->aSpec[k]->name, src))
                return ORR_ENOMEM;
    }
    return 0;
}

int orr_params_check(const struct orr_params *p, const char *keypath, struct orr_diag *d)
{
    int rc = 0;
    for (size_t k = 0; k < p->n; k++) {
        const struct orr_param *prm = p->aSpec[k];
        char *kp = orr_keypath_join(keypath, prm->name);
        if (!p->set[k]) {
            char what[256];
            orr_diag_error(d, &p->mark, kp, "missing required key '%s' (%s)", prm->name,
                           orr_ptype_describe(prm, what, sizeof what));
            rc = ORR_ESCHEMA;
        } else if (prm->type == ORR_P_GROUP) {
            rc |= orr_params_check(p->v[k].group, kp, d) ? ORR_ESCHEMA : 0;
        } else if (prm->type == ORR_P_UINTS) {
            struct orr_param one = *prm;
            one.type = ORR_P_UINT;
            for (size_t i = 0; i < p->v[k].uints.n; i++) {
                char text[32];
                snprintf(text, sizeof text, "%" PRIu64, p->v[k].uints.v[i]);
                union orr_pval x = {.u = p->v[k].uints.v[i]};
                char *m = check_constraints(&one, &x, text);
                if (m) {
                    orr_diag_error(d, &p->marks[k], kp, "item %zu: %s", i, m);
                    free(m);
                    rc = ORR_ESCHEMA;
                }
            }
        } else if (prm->type == ORR_P_GROUPS) {
            for (size_t i = 0; i < p->v[k].groups.n; i++) {
                char idx[24];
                snprintf(idx, sizeof idx, "%zu", i);
                char *ikp = orr_keypath_join(kp, idx);
                rc |= orr_params_check(&p->v[k].groups.v[i], ikp, d) ? ORR_ESCHEMA : 0;
                free(ikp);
            }
        } else {
            char text[64] = "";
            if (prm->type == ORR_P_INT || is_u64_type(prm->type))
                format_bound(prm, p->v[k].u, text, sizeof text);
            char *m = check_constraints(prm, &p->v[k], text);
            if (m) {
                orr_diag_error(d, &p->marks[k], kp, "%s", m);
                free(m);
                rc = ORR_ESCHEMA;
            }
        }
        free(kp);
    }
    return rc ? ORR_ESCHEMA : 0;
}

/* ---- addresses ------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int orr_addr_parse(const char *text, uint64_t *out, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        uint64_t v = 0;
        const char *s = text + 2;
        if (!*s) {
            *why = "no hex digits after 0x";
            return ORR_EPARSE;
        }
        for (; *s; s++) {
            int h = hexval(*s);
            if (h < 0) {
                *why = "not a hex number";
                return ORR_EPARSE;
            }
            if (v >> 60) {
                *why = "more than 64 bits";
                return ORR_EPARSE;
            }
            v = v << 4 | (uint64_t)h;
        }
        *out = v;
        return 0;
    }
    bool digits = *text != '\0';
    for (const char *s = text; *s && digits; s++)
        digits = is_digit(*s);
    if (digits) {
        bool overflow;
        if (!parse_u64(text, out, &overflow) || overflow) {
            *why = "more than 64 bits";
            return ORR_EPARSE;
        }
        return 0;
    }
    if (orr_unit_parse(ORR_UNIT_SIZE, text, out, NULL) == 0)
        return 0;
    *why = "expected an address such as 0x100000000, 4096 or 4GiB";
    return ORR_EPARSE;
}
