/* The scenario config tree: YAML text parsed by libyaml into orr_node trees
 * that remember their file:line:col, `extends:` presets merged in, `--set`
 * overrides applied, plus a canonical hash and dump of the result.
 *
 * Invariants of a tree built here:
 *   1. Every node, key, array and file name lives in the config's arena and is
 *      freed with it; nothing in a tree is freed on its own.
 *   2. Keys of a MAP are unique; a later value replaces an earlier one in place,
 *      so key order is that of first appearance.
 *   3. Collections nest at most ORR__MAX_DEPTH levels below the root, --set
 *      values included (counted from the root, not from the value), which
 *      bounds the recursion of merge, hash and dump and lets every dump load.
 *   4. A loaded tree has no top-level `extends` key (it is consumed by the
 *      merge, and --set refuses it), so a dump reloads to the same tree.
 *   5. Scalars hold no NUL bytes and are valid UTF-8 (libyaml checks its input;
 *      --set path components are checked here), so dump can always re-emit them.
 *   6. During a load each file is read and parsed once, and its resolved tree
 *      is never changed afterwards: merges build new maps and share the rest.
 *   7. Loading costs time and memory linear in the budgets of orrery/limits.h:
 *      a file is at most scenario_bytes (regular files only), and the config
 *      nodes of a file plus those of every preset it names, counted each time
 *      named, are at most config_nodes; keys are found through a hash index.
 *
 * Loading a file:   read -> parse (events -> nodes) -> check top-level MAP
 *                   -> load each base named by `extends` (or reuse it) ->
 *                   merge bases, then the file itself, into a new tree. */
#define _XOPEN_SOURCE 700 /* realpath, strdup */
#include "orrery/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>
#include <yaml.h>

#include "orrery/error.h"
#include "orrery/limits.h"

#define ORR__MAX_DEPTH 64   /* nesting of one document or one --set value */
#define ORR__MAX_EXTENDS 16 /* depth of extends chains */

static const char SET_FILE[] = "<--set>";

/* ---- arena --------------------------------------------------------------- */

/* A bump allocator: the tree is built once, patched by merges and --set, and
 * freed as a whole. Replaced arrays are simply abandoned until then. */
struct orr_node_arena_chunk {
    struct orr_node_arena_chunk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

struct orr_node_arena {
    struct orr_node_arena_chunk *head;
};

#define ARENA_CHUNK 16384

static void *arena_alloc(struct orr_node_arena *a, size_t n)
{
    n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    struct orr_node_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strndup(struct orr_node_arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void orr_node_arena_free(struct orr_node_arena *a)
{
    if (!a)
        return;
    while (a->head) {
        struct orr_node_arena_chunk *c = a->head;
        a->head = c->next;
        free(c);
    }
    free(a);
}

struct orr_node_arena *orr_node_arena_new(void)
{
    return calloc(1, sizeof(struct orr_node_arena));
}

/* ---- nodes --------------------------------------------------------------- */

static struct orr_node *node_new(struct orr_node_arena *a, enum orr_node_kind kind,
                                 const struct orr_mark *mark)
{
    struct orr_node *n = arena_alloc(a, sizeof *n);
    if (n) {
        n->kind = kind;
        n->mark = *mark;
        if (kind == ORR_NODE_SCALAR)
            n->scalar = "";
    }
    return n;
}

/* Give a MAP or SEQ room for cap entries, keeping the first n. */
static bool node_reserve(struct orr_node_arena *a, struct orr_node *node, size_t cap)
{
    struct orr_node **aItem = arena_alloc(a, cap * sizeof *aItem);
    if (!aItem)
        return false;
    if (node->n) /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(aItem, node->aItem, node->n * sizeof *aItem);
    node->aItem = aItem;
    node->nAlloc = cap;
    if (node->kind != ORR_NODE_MAP)
        return true;
    char **aKey = arena_alloc(a, cap * sizeof *aKey);
    struct orr_mark *aKeyMark = arena_alloc(a, cap * sizeof *aKeyMark);
    if (!aKey || !aKeyMark)
        return false;
    if (node->n) {
        memcpy(aKey, node->aKey, node->n * sizeof *aKey);
        memcpy(aKeyMark, node->aKeyMark, node->n * sizeof *aKeyMark);
    }
    node->aKey = aKey;
    node->aKeyMark = aKeyMark;
    return true;
}

struct orr_node *orr_node_new(struct orr_node_arena *a, enum orr_node_kind kind,
                              const struct orr_mark *mark)
{
    static const struct orr_mark none = {NULL, 0, 0};
    return node_new(a, kind, mark ? mark : &none);
}

struct orr_node *orr_node_new_scalar(struct orr_node_arena *a, const struct orr_mark *mark,
                                     const char *text, size_t len)
{
    struct orr_node *n = orr_node_new(a, ORR_NODE_SCALAR, mark);
    if (n && !(n->scalar = arena_strndup(a, text, len)))
        return NULL;
    return n;
}

/* Room for one more entry, doubling. */
static int node_grow(struct orr_node_arena *a, struct orr_node *node)
{
    if (node->n < node->nAlloc)
        return 0;
    return node_reserve(a, node, node->n ? 2 * node->n : 4) ? 0 : ORR_ENOMEM;
}

int orr_node_push(struct orr_node_arena *a, struct orr_node *seq, struct orr_node *item)
{
    if (seq->kind != ORR_NODE_SEQ)
        return ORR_EINVAL;
    int rc = node_grow(a, seq);
    if (rc == 0)
        seq->aItem[seq->n++] = item;
    return rc;
}

int orr_node_put(struct orr_node_arena *a, struct orr_node *map, const char *key,
                 const struct orr_mark *keyMark, struct orr_node *value)
{
    if (map->kind != ORR_NODE_MAP)
        return ORR_EINVAL;
    long i = orr_node_index(map, key);
    if (i >= 0) {
        map->aItem[i] = value;
        map->aKeyMark[i] = keyMark ? *keyMark : value->mark;
        return 0;
    }
    char *k = arena_strndup(a, key, strlen(key));
    int rc = k ? node_grow(a, map) : ORR_ENOMEM;
    if (rc == 0) {
        map->aKey[map->n] = k;
        map->aKeyMark[map->n] = keyMark ? *keyMark : value->mark;
        map->aItem[map->n++] = value;
    }
    return rc;
}

struct orr_node *orr_node_copy_except(struct orr_node_arena *a, const struct orr_node *src,
                                      const char *const *except)
{
    struct orr_node *m = orr_node_new(a, ORR_NODE_MAP, &src->mark);
    for (size_t i = 0; m && src->kind == ORR_NODE_MAP && i < src->n; i++) {
        bool skip = false;
        for (size_t k = 0; except && except[k]; k++)
            skip |= strcmp(src->aKey[i], except[k]) == 0;
        if (!skip && orr_node_put(a, m, src->aKey[i], &src->aKeyMark[i], src->aItem[i]))
            return NULL;
    }
    return m;
}

long orr_node_index(const struct orr_node *map, const char *key)
{
    if (!map || map->kind != ORR_NODE_MAP || !key)
        return -1;
    for (size_t i = 0; i < map->n; i++) /* O(n): scenario maps are small */
        if (strcmp(map->aKey[i], key) == 0)
            return (long)i;
    return -1;
}

const struct orr_node *orr_node_get(const struct orr_node *map, const char *key)
{
    long i = orr_node_index(map, key);
    return i < 0 ? NULL : map->aItem[i];
}

char *orr_keypath_join(const char *prefix, const char *key)
{
    size_t nPrefix = prefix ? strlen(prefix) : 0;
    size_t nKey = key ? strlen(key) : 0;
    char *s = malloc(nPrefix + nKey + 2);
    if (!s)
        return NULL;
    if (nPrefix && nKey)
        sprintf(s, "%s.%s", prefix, key);
    else
        sprintf(s, "%s", nPrefix ? prefix : key ? key : "");
    return s;
}

/* Key paths are only rendered when an error needs one, so the builder keeps
 * them as a chain of segments on the C stack. */
struct path_seg {
    const struct path_seg *up;
    const char *key; /* NULL: use index */
    size_t index;
};

static size_t path_render_into(const struct path_seg *p, char *buf, size_t n)
{
    if (!p)
        return 0;
    size_t used = path_render_into(p->up, buf, n);
    char num[24];
    const char *text = p->key;
    if (!text) {
        snprintf(num, sizeof num, "%zu", p->index);
        text = num;
    }
    bool room = buf && used < n; /* the first pass only measures (buf NULL) */
    int w = snprintf(room ? buf + used : NULL, room ? n - used : 0, "%s%s", used ? "." : "",
                     text);
    return used + (w > 0 ? (size_t)w : 0);
}

/* malloc'ed "a.b.0.c", or NULL for the root. */
static char *path_render(const struct path_seg *p)
{
    size_t len = path_render_into(p, NULL, 0);
    if (len == 0)
        return NULL;
    char *s = malloc(len + 1);
    if (s)
        path_render_into(p, s, len + 1);
    return s;
}

/* printf into a malloc'ed string (NULL when memory is short). */
static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (text)
        vsnprintf(text, (size_t)len + 1, fmt, ap);
    return text;
}

/* Report an error at mark whose key path is the rendered path. */
static void diag_path(struct orr_diag *d, const struct orr_mark *mark,
                      const struct path_seg *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag_path(struct orr_diag *d, const struct orr_mark *mark,
                      const struct path_seg *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    char *kp = path_render(path);
    orr_diag_error(d, mark, kp, "%s", text ? text : "out of memory");
    free(kp);
    free(text);
}

/* ---- key index ------------------------------------------------------------ */

/* (map, key) -> index of the key in the map, for every map the loader builds
 * or merges into: duplicate-key checks and merges look keys up in O(1), so a
 * mapping of n keys costs O(n), not O(n^2). Maps are told apart by address;
 * the table is only looked up, never iterated, so addresses decide nothing
 * but where an entry sits. */
struct keyslot {
    const void *map; /* NULL: free */
    const char *key;
    size_t idx;
};

struct keytab {
    struct keyslot *a;
    size_t cap, n; /* cap a power of two, n <= cap / 2 */
};

static size_t keytab_slot(const struct keytab *t, const void *map, const char *key)
{
    uint64_t h = XXH3_64bits_withSeed(key, strlen(key), (uint64_t)(uintptr_t)map);
    size_t i = (size_t)h & (t->cap - 1);
    while (t->a[i].map && (t->a[i].map != map || strcmp(t->a[i].key, key) != 0))
        i = (i + 1) & (t->cap - 1);
    return i;
}

static long keytab_get(const struct keytab *t, const void *map, const char *key)
{
    if (!t->cap)
        return -1;
    const struct keyslot *e = &t->a[keytab_slot(t, map, key)];
    return e->map ? (long)e->idx : -1;
}

/* Add or update; false when memory is short. key must outlive the table. */
static bool keytab_put(struct keytab *t, const void *map, const char *key, size_t idx)
{
    if (2 * (t->n + 1) > t->cap) {
        struct keytab bigger = {calloc(t->cap ? 2 * t->cap : 64, sizeof *t->a),
                                t->cap ? 2 * t->cap : 64, 0};
        if (!bigger.a)
            return false;
        for (size_t i = 0; i < t->cap; i++)
            if (t->a[i].map)
                bigger.a[keytab_slot(&bigger, t->a[i].map, t->a[i].key)] = t->a[i];
        bigger.n = t->n;
        free(t->a);
        *t = bigger;
    }
    struct keyslot *e = &t->a[keytab_slot(t, map, key)];
    if (!e->map)
        t->n++;
    *e = (struct keyslot){map, key, idx};
    return true;
}

static void keytab_free(struct keytab *t)
{
    free(t->a);
    memset(t, 0, sizeof *t);
}

/* ---- YAML events -> nodes -------------------------------------------------- */

struct builder {
    yaml_parser_t parser;
    struct orr_node_arena *arena;
    struct orr_diag *d;
    const char *file;     /* arena copy, or SET_FILE */
    const char *text;     /* the input, for positions of reader errors */
    size_t len;
    uint32_t set_col0;    /* --set: 0-based column of the value in the argument */
    int depth0;           /* nesting of the document's root (--set: path length) */
    struct keytab *keys;  /* where the keys of the maps built are indexed */
    uint64_t nNodes;      /* nodes built so far (keys included) */
    uint64_t maxNodes;    /* the config_nodes budget */
    int rc;               /* first error seen, 0 if none */
    bool fatal;           /* stop: the event stream cannot continue */
};

static struct orr_mark to_mark(const struct builder *b, yaml_mark_t m)
{
    struct orr_mark mk = {b->file, 0, 0};
    if (b->file == SET_FILE) {
        mk.col = b->set_col0 + (uint32_t)m.index + 1;
    } else {
        mk.line = (uint32_t)m.line + 1;
        mk.col = (uint32_t)m.column + 1;
    }
    return mk;
}

/* Record the first error code; later errors only add messages. */
static void build_fail(struct builder *b, int rc)
{
    if (!b->rc)
        b->rc = rc;
}

static void build_oom(struct builder *b)
{
    if (!b->fatal)
        orr_diag_error(b->d, NULL, NULL, "out of memory");
    build_fail(b, ORR_ENOMEM);
    b->fatal = true;
}

/* Reader errors (bad UTF-8, control characters) carry a byte offset instead
 * of a mark; count lines to turn it into one. */
static yaml_mark_t reader_error_mark(const struct builder *b)
{
    yaml_mark_t m = {0, 0, 0};
    size_t off = b->parser.problem_offset < b->len ? b->parser.problem_offset : b->len;
    for (size_t i = 0; i < off; i++) {
        if (b->text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else {
            m.column++;
        }
    }
    m.index = off;
    return m;
}

/* Fetch the next event; on a syntax error report libyaml's problem at its
 * position and stop the build. */
static bool next_event(struct builder *b, yaml_event_t *ev)
{
    if (b->fatal)
        return false;
    if (yaml_parser_parse(&b->parser, ev))
        return true;
    const yaml_parser_t *p = &b->parser;
    if (p->error == YAML_MEMORY_ERROR) {
        build_oom(b);
        return false;
    }
    yaml_mark_t m = p->error == YAML_READER_ERROR ? reader_error_mark(b) : p->problem_mark;
    struct orr_mark mark = to_mark(b, m);
    orr_diag_error(b->d, &mark, NULL, "malformed YAML: %s",
                   p->problem ? p->problem : "syntax error");
    build_fail(b, ORR_EPARSE);
    b->fatal = true;
    return false;
}

static const char *kind_noun(enum orr_node_kind kind)
{
    switch (kind) {
    case ORR_NODE_MAP:
        return "a mapping";
    case ORR_NODE_SEQ:
        return "a sequence";
    default:
        return "a scalar";
    }
}

/* Anchors, aliases and tags are refused: a value that depends on another part
 * of the document (or on a type tag) would not survive merging, --set and
 * canonical hashing in any obvious way. */
static void check_props(struct builder *b, const yaml_char_t *anchor, const yaml_char_t *tag,
                        const struct orr_mark *mark, const struct path_seg *path)
{
    if (anchor) {
        diag_path(b->d, mark, path, "anchors and aliases are not supported");
        build_fail(b, ORR_EPARSE);
    }
    if (tag) {
        diag_path(b->d, mark, path, "tags are not supported (found '%s')", (const char *)tag);
        build_fail(b, ORR_EPARSE);
    }
}

static bool node_append(struct orr_node_arena *a, struct orr_node *node, size_t *cap, const char *key,
                        const struct orr_mark *keyMark, struct orr_node *item)
{
    if (node->n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        if (!node_reserve(a, node, *cap))
            return false;
    }
    if (node->kind == ORR_NODE_MAP) {
        node->aKey[node->n] = (char *)key;
        node->aKeyMark[node->n] = *keyMark;
    }
    node->aItem[node->n++] = item;
    return true;
}

static struct orr_node *build_node(struct builder *b, const yaml_event_t *ev,
                                   const struct path_seg *path, int depth);

/* One more node against the config_nodes budget; past it the build stops
 * at this node's position. */
static bool count_node(struct builder *b, const struct orr_mark *mark,
                       const struct path_seg *path)
{
    if (++b->nNodes <= b->maxNodes)
        return true;
    diag_path(b->d, mark, path,
              "the scenario has more than %llu values, keys and collections (the budget "
              "of config nodes; raise it with --max-config-nodes)",
              (unsigned long long)b->maxNodes);
    build_fail(b, ORR_ERANGE);
    b->fatal = true;
    return false;
}

static struct orr_node *build_scalar(struct builder *b, const yaml_event_t *ev,
                                     const struct orr_mark *mark, const struct path_seg *path)
{
    const char *value = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (!count_node(b, mark, path))
        return NULL;
    check_props(b, ev->data.scalar.anchor, ev->data.scalar.tag, mark, path);
    if (memchr(value, '\0', len)) {
        diag_path(b->d, mark, path, "NUL characters in a value are not supported");
        build_fail(b, ORR_EPARSE);
        len = strlen(value);
    }
    struct orr_node *n = node_new(b->arena, ORR_NODE_SCALAR, mark);
    if (!n || !(n->scalar = arena_strndup(b->arena, value, len))) {
        build_oom(b);
        return NULL;
    }
    n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    return n;
}

static struct orr_node *build_seq(struct builder *b, struct orr_node *seq,
                                  const struct path_seg *path, int depth)
{
    size_t cap = 0;
    for (;;) {
        yaml_event_t ev;
        if (!next_event(b, &ev))
            return NULL;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return seq;
        }
        struct path_seg seg = {path, NULL, seq->n};
        struct orr_node *item = build_node(b, &ev, &seg, depth + 1);
        yaml_event_delete(&ev);
        if (!item)
            return NULL;
        if (!node_append(b->arena, seq, &cap, NULL, NULL, item)) {
            build_oom(b);
            return NULL;
        }
    }
}

/* Read one key event; returns its text in the arena, or NULL (after an error
 * or for a non-scalar key, which is reported and consumed). */
static char *build_key(struct builder *b, const yaml_event_t *ev, const struct orr_mark *mark,
                       const struct path_seg *path, int depth)
{
    if (ev->type != YAML_SCALAR_EVENT) {
        diag_path(b->d, mark, path, "mapping keys must be scalars, got %s",
                  ev->type == YAML_MAPPING_START_EVENT  ? "a mapping"
                  : ev->type == YAML_SEQUENCE_START_EVENT ? "a sequence"
                                                          : "an alias");
        build_fail(b, ORR_EPARSE);
        struct path_seg seg = {path, "?", 0};
        build_node(b, ev, &seg, depth + 1); /* consume it */
        return NULL;
    }
    struct orr_node *k = build_scalar(b, ev, mark, path);
    return k ? k->scalar : NULL;
}

static void report_duplicate(struct builder *b, const struct orr_node *map, long first,
                             const struct orr_mark *mark, const struct path_seg *path)
{
    const struct orr_mark *m1 = &map->aKeyMark[first];
    diag_path(b->d, mark, path, "duplicate key '%s' (first defined at line %u, column %u)",
              map->aKey[first], (unsigned)m1->line, (unsigned)m1->col);
    build_fail(b, ORR_EPARSE);
}

/* Duplicate detection looks each key up in the key index: O(n) per mapping. */
static struct orr_node *build_map(struct builder *b, struct orr_node *map,
                                  const struct path_seg *path, int depth)
{
    size_t cap = 0;
    for (;;) {
        yaml_event_t kev, vev;
        if (!next_event(b, &kev))
            return NULL;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            return map;
        }
        struct orr_mark keyMark = to_mark(b, kev.start_mark);
        char *key = build_key(b, &kev, &keyMark, path, depth);
        yaml_event_delete(&kev);
        if (b->fatal || !next_event(b, &vev))
            return NULL;
        struct path_seg seg = {path, key ? key : "?", 0};
        struct orr_node *value = build_node(b, &vev, &seg, depth + 1);
        yaml_event_delete(&vev);
        if (!value)
            return NULL;
        long first = key ? keytab_get(b->keys, map, key) : -1;
        if (first >= 0)
            report_duplicate(b, map, first, &keyMark, &seg);
        else if (key && (!node_append(b->arena, map, &cap, key, &keyMark, value) ||
                         !keytab_put(b->keys, map, key, map->n - 1))) {
            build_oom(b);
            return NULL;
        }
    }
}

/* Build the node that starts with ev (which the caller still owns). Returns
 * NULL only when the build must stop (syntax error, nesting, memory). */
static struct orr_node *build_node(struct builder *b, const yaml_event_t *ev,
                                   const struct path_seg *path, int depth)
{
    struct orr_mark mark = to_mark(b, ev->start_mark);
    enum orr_node_kind kind;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return build_scalar(b, ev, &mark, path);
    case YAML_ALIAS_EVENT: {
        if (!count_node(b, &mark, path))
            return NULL;
        check_props(b, ev->data.alias.anchor, NULL, &mark, path);
        struct orr_node *n = node_new(b->arena, ORR_NODE_SCALAR, &mark);
        if (!n)
            build_oom(b);
        return n;
    }
    case YAML_SEQUENCE_START_EVENT:
        check_props(b, ev->data.sequence_start.anchor, ev->data.sequence_start.tag, &mark, path);
        kind = ORR_NODE_SEQ;
        break;
    case YAML_MAPPING_START_EVENT:
        check_props(b, ev->data.mapping_start.anchor, ev->data.mapping_start.tag, &mark, path);
        kind = ORR_NODE_MAP;
        break;
    default:
        diag_path(b->d, &mark, path, "malformed YAML: unexpected event");
        build_fail(b, ORR_EPARSE);
        b->fatal = true;
        return NULL;
    }
    if (depth >= ORR__MAX_DEPTH) {
        diag_path(b->d, &mark, path, "nested deeper than %d levels", ORR__MAX_DEPTH);
        build_fail(b, ORR_EPARSE);
        b->fatal = true;
        return NULL;
    }
    if (!count_node(b, &mark, path))
        return NULL;
    struct orr_node *n = node_new(b->arena, kind, &mark);
    if (!n) {
        build_oom(b);
        return NULL;
    }
    return kind == ORR_NODE_SEQ ? build_seq(b, n, path, depth) : build_map(b, n, path, depth);
}

static bool is_block_collection(const yaml_event_t *ev)
{
    return (ev->type == YAML_MAPPING_START_EVENT &&
            ev->data.mapping_start.style == YAML_BLOCK_MAPPING_STYLE) ||
           (ev->type == YAML_SEQUENCE_START_EVENT &&
            ev->data.sequence_start.style == YAML_BLOCK_SEQUENCE_STYLE);
}

/* stream-start [document-start node document-end] stream-end. A second
 * document is an error. *root stays NULL for an empty stream. */
static void parse_document(struct builder *b, const struct path_seg *path,
                           struct orr_node **root)
{
    yaml_event_t ev;
    if (!next_event(b, &ev)) /* stream start */
        return;
    yaml_event_delete(&ev);
    if (!next_event(b, &ev))
        return;
    bool empty = ev.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&ev);
    if (empty || !next_event(b, &ev))
        return;
    if (b->file == SET_FILE && is_block_collection(&ev)) {
        struct orr_mark mark = to_mark(b, ev.start_mark);
        diag_path(b->d, &mark, path, "a --set value must be a scalar or a flow collection "
                                     "such as [a, b] or {x: 1}; quote it to use it as text");
        build_fail(b, ORR_EPARSE);
        yaml_event_delete(&ev);
        return;
    }
    *root = build_node(b, &ev, path, b->depth0);
    yaml_event_delete(&ev);
    if (!*root || !next_event(b, &ev)) /* document end */
        return;
    yaml_event_delete(&ev);
    if (!next_event(b, &ev))
        return;
    if (ev.type == YAML_DOCUMENT_START_EVENT) {
        struct orr_mark mark = to_mark(b, ev.start_mark);
        orr_diag_error(b->d, &mark, NULL, "multiple YAML documents in one input are not "
                                          "supported");
        build_fail(b, ORR_EPARSE);
    }
    yaml_event_delete(&ev);
}

/* Parse b->text into a tree in b->arena; the caller fills in the builder's
 * inputs (arena, d, file, text, len and for --set set_col0 and depth0).
 * Returns 0 or the first error's code; *root is NULL for an empty document. */
static int parse_text(struct builder *b, const struct path_seg *path, struct orr_node **root)
{
    *root = NULL;
    if (!yaml_parser_initialize(&b->parser)) {
        orr_diag_error(b->d, NULL, NULL, "out of memory");
        return ORR_ENOMEM;
    }
    yaml_parser_set_input_string(&b->parser, (const unsigned char *)b->text, b->len);
    parse_document(b, path, root);
    yaml_parser_delete(&b->parser);
    if (b->rc)
        *root = NULL;
    return b->rc;
}

/* ---- merging ------------------------------------------------------------- */

/* A preset is loaded once and its tree shared by every file that names it,
 * so merging never changes a loaded tree: it works on a private copy of the
 * maps (the "spine"), and shares scalars and sequences, which a load never
 * modifies. Every map reachable from a merge result is such a copy, so it
 * may be changed in place. A shared node still sits at one key path of the
 * result only (every merge happens at the same path in both trees), so the
 * result is a tree and --set may change it. */
/* A private copy of src's maps, every key indexed; NULL when memory is short. */
static struct orr_node *spine_copy(struct orr_node_arena *a, struct keytab *keys,
                                   struct orr_node *src)
{
    if (src->kind != ORR_NODE_MAP)
        return src;
    struct orr_node *m = node_new(a, ORR_NODE_MAP, &src->mark);
    if (!m || !node_reserve(a, m, src->n ? src->n : 1))
        return NULL;
    for (size_t i = 0; i < src->n; i++) {
        struct orr_node *item = spine_copy(a, keys, src->aItem[i]);
        if (!item || !keytab_put(keys, m, src->aKey[i], i))
            return NULL;
        m->aKey[i] = src->aKey[i];
        m->aKeyMark[i] = src->aKeyMark[i];
        m->aItem[m->n++] = item;
    }
    return m;
}

/* Lay src (a MAP, not changed) over dst (a private MAP): mappings merge key by
 * key, recursively; anything else replaces. A replaced key keeps its position
 * but takes src's marks, so errors point at the file that supplied the final
 * value. skip (may be NULL) is a top-level key of src to leave out. Returns 0
 * or ORR_ENOMEM. */
static int merge_into(struct orr_node_arena *a, struct keytab *keys, struct orr_node *dst,
                      struct orr_node *src, const char *skip)
{
    for (size_t i = 0; i < src->n; i++) {
        if (skip && strcmp(src->aKey[i], skip) == 0)
            continue;
        struct orr_node *from = src->aItem[i];
        long j = keytab_get(keys, dst, src->aKey[i]);
        if (j >= 0 && dst->aItem[j]->kind == ORR_NODE_MAP && from->kind == ORR_NODE_MAP) {
            if (merge_into(a, keys, dst->aItem[j], from, NULL))
                return ORR_ENOMEM;
            dst->aKeyMark[j] = src->aKeyMark[i];
            continue;
        }
        struct orr_node *copy = spine_copy(a, keys, from);
        if (!copy)
            return ORR_ENOMEM;
        if (j >= 0) {
            dst->aItem[j] = copy;
            dst->aKeyMark[j] = src->aKeyMark[i];
            continue;
        }
        size_t cap = dst->nAlloc;
        if (!node_append(a, dst, &cap, src->aKey[i], &src->aKeyMark[i], copy) ||
            !keytab_put(keys, dst, src->aKey[i], dst->n - 1))
            return ORR_ENOMEM;
    }
    dst->mark = src->mark;
    return 0;
}

/* ---- loading files and extends ------------------------------------------- */

/* A file loaded with its extends resolved, kept for every later file that
 * names it (a diamond reads and parses each file once). */
struct loaded {
    char *real;            /* realpath, malloc'ed */
    struct orr_node *root; /* resolved tree: never changed once loaded */
    uint64_t nExpanded;    /* config nodes it stands for, its presets expanded */
};

struct loader {
    struct orr_node_arena *arena;
    struct orr_diag *d;
    /* the chain of files being loaded, outermost first, for cycle detection:
     * real paths (malloc'ed; NULL for in-memory text) and names as written */
    char *aReal[ORR__MAX_EXTENDS + 2];
    const char *aName[ORR__MAX_EXTENDS + 2];
    int nStack;
    struct keytab keys;   /* every map's keys; also realpath -> index in aLoaded */
    struct loaded *aLoaded;
    size_t nLoaded, nLoadedAlloc;
    size_t nRead;         /* files read */
    /* every file read, as named (arena strings), each name once */
    const char **aFile;
    size_t nFile, nFileAlloc;
};

/* Remember a file the tree is made of (orr_config.aFile). */
static int note_file(struct loader *L, const char *file)
{
    for (size_t i = 0; i < L->nFile; i++)
        if (strcmp(L->aFile[i], file) == 0)
            return 0;
    if (L->nFile == L->nFileAlloc) {
        size_t n = L->nFileAlloc ? 2 * L->nFileAlloc : 8;
        const char **p = realloc(L->aFile, n * sizeof *p);
        if (!p)
            return ORR_ENOMEM;
        L->aFile = p;
        L->nFileAlloc = n;
    }
    L->aFile[L->nFile++] = file;
    return 0;
}

/* The key index's name for the table of loaded files. */
static const char LOADED_TABLE[] = "loaded files";

static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a regular file";
}

/* Read a whole scenario file into a malloc'ed buffer, refusing (before
 * reading a byte) anything but a regular file and any file over the
 * scenario_bytes budget. Reports the problem at mark (the extends entry that
 * named the file; NULL for the top-level file) and returns an ORR_E* code. */
static int read_file(struct orr_diag *d, const struct orr_mark *mark, const char *keypath,
                     const char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    uint64_t max = orr_limits()->scenario_bytes;
    /* non-blocking, so a FIFO with no writer cannot hang the open */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    int err = fd < 0 ? errno : fstat(fd, &st) ? errno : 0;
    if (!err && !S_ISREG(st.st_mode)) {
        orr_diag_error(d, mark, keypath, "cannot read '%s': it is %s, not a regular file", path,
                       file_kind(st.st_mode));
        close(fd);
        return ORR_EIO;
    }
    if (!err && (uint64_t)st.st_size > max) {
        orr_diag_error(d, mark, keypath,
                       "'%s' is %llu bytes, more than the %llu a scenario file may have (raise "
                       "the budget with --max-scenario-size)",
                       path, (unsigned long long)st.st_size, (unsigned long long)max);
        close(fd);
        return ORR_ERANGE;
    }
    /* read to the end, which may lie past st_size if the file grows; one byte
     * over the budget is enough to refuse it */
    size_t cap = err ? 0 : (size_t)st.st_size + 1;
    char *buf = err ? NULL : malloc(cap + 1);
    if (!err && !buf)
        err = ENOMEM;
    while (!err) {
        if (*len == cap) {
            if ((uint64_t)cap > max)
                break;
            size_t grow = cap * 2 > max + 1 ? (size_t)max + 1 : cap * 2;
            char *p = realloc(buf, grow + 1);
            if (!p) {
                err = ENOMEM;
                break;
            }
            buf = p;
            cap = grow;
        }
        ssize_t got = read(fd, buf + *len, cap - *len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            err = got < 0 ? errno : 0;
            break;
        }
        *len += (size_t)got;
    }
    if (fd >= 0)
        close(fd);
    if (!err && (uint64_t)*len > max) {
        orr_diag_error(d, mark, keypath,
                       "'%s' has more than the %llu bytes a scenario file may have (raise the "
                       "budget with --max-scenario-size)",
                       path, (unsigned long long)max);
        free(buf);
        *len = 0;
        return ORR_ERANGE;
    }
    if (err) {
        free(buf);
        *len = 0;
        orr_diag_error(d, mark, keypath, "cannot open '%s': %s", path, strerror(err));
        return err == ENOENT ? ORR_ENOENT : err == ENOMEM ? ORR_ENOMEM : ORR_EIO;
    }
    *text = buf;
    return 0;
}

/* dir + name, where dir may be "" or lack a trailing '/'; name absolute wins. */
static char *path_join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !*dir)
        return strdup(name);
    size_t nDir = strlen(dir);
    bool slash = dir[nDir - 1] == '/';
    char *p = malloc(nDir + strlen(name) + 2);
    if (p)
        sprintf(p, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

/* The directory part of path with its trailing '/', or "" for a bare name. */
static char *path_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

static int load_tree(struct loader *L, const char *file, const char *text, size_t len,
                     const char *dir, struct orr_node **root, uint64_t *nExpanded);

/* Where does real appear in the chain being loaded? -1 if nowhere. */
static int stack_find(const struct loader *L, const char *real)
{
    for (int i = 0; real && i < L->nStack; i++)
        if (L->aReal[i] && strcmp(L->aReal[i], real) == 0)
            return i;
    return -1;
}

static void report_cycle(struct loader *L, int from, const char *path,
                         const struct orr_mark *mark, const char *keypath)
{
    size_t n = strlen(path) + 1;
    for (int i = from; i < L->nStack; i++)
        n += strlen(L->aName[i]) + 4;
    char *chain = malloc(n);
    if (!chain) {
        orr_diag_error(L->d, mark, keypath, "extends cycle");
        return;
    }
    chain[0] = '\0';
    for (int i = from; i < L->nStack; i++)
        strcat(strcat(chain, L->aName[i]), " -> ");
    strcat(chain, path);
    orr_diag_error(L->d, mark, keypath, "extends cycle: %s", chain);
    free(chain);
}

/* Remember a resolved file; real passes to the table. */
static int remember(struct loader *L, char *real, struct orr_node *root, uint64_t nExpanded)
{
    if (L->nLoaded == L->nLoadedAlloc) {
        size_t cap = L->nLoadedAlloc ? 2 * L->nLoadedAlloc : 16;
        struct loaded *p = realloc(L->aLoaded, cap * sizeof *p);
        if (!p)
            return ORR_ENOMEM;
        L->aLoaded = p;
        L->nLoadedAlloc = cap;
    }
    if (!keytab_put(&L->keys, LOADED_TABLE, real, L->nLoaded))
        return ORR_ENOMEM;
    L->aLoaded[L->nLoaded++] = (struct loaded){real, root, nExpanded};
    return 0;
}

/* Read, parse and resolve one preset named by an extends entry, or take it
 * from the files already loaded. */
static int load_base(struct loader *L, const struct orr_node *name, const char *dir,
                     const char *keypath, struct orr_node **root, uint64_t *nExpanded)
{
    *root = NULL;
    if (L->nStack > ORR__MAX_EXTENDS) {
        orr_diag_error(L->d, &name->mark, keypath, "extends nested deeper than %d files",
                       ORR__MAX_EXTENDS);
        return ORR_ESCHEMA;
    }
    char *path = path_join(dir, name->scalar);
    if (!path) {
        orr_diag_error(L->d, NULL, NULL, "out of memory");
        return ORR_ENOMEM;
    }
    char *real = realpath(path, NULL), *text = NULL, *subdir = NULL;
    int rc = 0, at = stack_find(L, real);
    long seen = real ? keytab_get(&L->keys, LOADED_TABLE, real) : -1;
    size_t len = 0;
    if (at >= 0) {
        report_cycle(L, at, path, &name->mark, keypath);
        rc = ORR_ESCHEMA;
    } else if (seen >= 0) {
        *root = L->aLoaded[seen].root;
        *nExpanded = L->aLoaded[seen].nExpanded;
        free(real);
        free(path);
        return 0;
    } else {
        rc = read_file(L->d, &name->mark, keypath, path, &text, &len);
    }
    const char *file = rc ? NULL : arena_strndup(L->arena, path, strlen(path));
    subdir = rc ? NULL : path_dir(path);
    if (!rc && (!file || !subdir || note_file(L, file))) {
        orr_diag_error(L->d, NULL, NULL, "out of memory");
        rc = ORR_ENOMEM;
    }
    if (!rc) {
        L->aReal[L->nStack] = real;
        L->aName[L->nStack++] = file;
        rc = load_tree(L, file, text, len, subdir, root, nExpanded);
        L->nStack--;
    }
    if (!rc && real) {
        rc = remember(L, real, *root, *nExpanded);
        if (rc)
            orr_diag_error(L->d, NULL, NULL, "out of memory");
        else
            real = NULL;
    }
    free(path);
    free(text);
    free(real);
    free(subdir);
    return rc;
}

/* An extends value is a file name or a list of them: how many, and the i-th
 * with its key path ("extends" or "extends.2"). */
static size_t extends_count(const struct orr_node *ext)
{
    return ext->kind == ORR_NODE_SEQ ? ext->n : 1;
}

static const struct orr_node *extends_item(const struct orr_node *ext, size_t i, char *kp,
                                           size_t n)
{
    if (ext->kind != ORR_NODE_SEQ) {
        snprintf(kp, n, "extends");
        return ext;
    }
    snprintf(kp, n, "extends.%zu", i);
    return ext->aItem[i];
}

static int extends_check(struct loader *L, const struct orr_node *ext)
{
    if (ext->kind == ORR_NODE_MAP) {
        orr_diag_error(L->d, &ext->mark, "extends",
                       "expected a file name or a list of file names, got a mapping");
        return ORR_ESCHEMA;
    }
    int rc = 0;
    for (size_t i = 0; i < extends_count(ext); i++) {
        char kp[40];
        const struct orr_node *item = extends_item(ext, i, kp, sizeof kp);
        if (item->kind != ORR_NODE_SCALAR || !*item->scalar) {
            orr_diag_error(L->d, &item->mark, kp, "expected a file name, got %s",
                           item->kind == ORR_NODE_SCALAR ? "an empty value"
                                                         : kind_noun(item->kind));
            rc = ORR_ESCHEMA;
        }
    }
    return rc;
}

/* Lay root (without its `extends` key) over its bases, in order, into a new
 * tree. *nExpanded grows by each base's expanded size: the work of merging
 * it, which the config_nodes budget bounds however often a preset is named
 * (a fan-out of presets each naming the next many times is refused here). */
static int apply_extends(struct loader *L, struct orr_node **root, const char *dir,
                         uint64_t *nExpanded)
{
    const struct orr_node *ext = orr_node_get(*root, "extends");
    if (!ext)
        return 0;
    if (!dir) {
        orr_diag_error(L->d, &ext->mark, "extends",
                       "extends is not supported here (no directory to resolve it in)");
        return ORR_ESCHEMA;
    }
    int rc = extends_check(L, ext);
    uint64_t max = orr_limits()->config_nodes;
    struct orr_node *merged = rc ? NULL : node_new(L->arena, ORR_NODE_MAP, &(*root)->mark);
    if (!rc && !merged)
        rc = ORR_ENOMEM;
    for (size_t i = 0; i < extends_count(ext) && !rc; i++) {
        char kp[40];
        const struct orr_node *item = extends_item(ext, i, kp, sizeof kp);
        struct orr_node *base;
        uint64_t nBase = 0;
        rc = load_base(L, item, dir, kp, &base, &nBase);
        if (rc)
            return rc;
        if (nBase > max - *nExpanded) {
            orr_diag_error(L->d, &item->mark, kp,
                           "the presets expand to more than %llu config nodes (each counted "
                           "every time a file names it, along every path; raise the budget "
                           "with --max-config-nodes)",
                           (unsigned long long)max);
            return ORR_ERANGE;
        }
        *nExpanded += nBase;
        rc = merge_into(L->arena, &L->keys, merged, base, NULL);
    }
    if (!rc)
        rc = merge_into(L->arena, &L->keys, merged, *root, "extends");
    if (rc == ORR_ENOMEM)
        orr_diag_error(L->d, NULL, NULL, "out of memory");
    if (!rc)
        *root = merged;
    return rc;
}

/* Parse one file's text, check its shape and resolve its extends;
 * *nExpanded is the config nodes it stands for, presets expanded. */
static int load_tree(struct loader *L, const char *file, const char *text, size_t len,
                     const char *dir, struct orr_node **root, uint64_t *nExpanded)
{
    struct builder b = {.arena = L->arena, .d = L->d, .file = file, .text = text, .len = len,
                        .keys = &L->keys, .maxNodes = orr_limits()->config_nodes};
    int rc = parse_text(&b, NULL, root);
    *nExpanded = b.nNodes;
    L->nRead++;
    if (rc)
        return rc;
    if (!*root || (*root)->kind != ORR_NODE_MAP) {
        struct orr_mark mark = {file, 0, 0};
        orr_diag_error(L->d, *root ? &(*root)->mark : &mark, NULL,
                       "the top level must be a mapping of keys to values, got %s",
                       *root ? kind_noun((*root)->kind) : "an empty document");
        *root = NULL;
        return ORR_ESCHEMA;
    }
    return apply_extends(L, root, dir, nExpanded);
}

static int loader_begin(struct loader *L, struct orr_config *cfg, struct orr_diag *d)
{
    memset(cfg, 0, sizeof *cfg);
    memset(L, 0, sizeof *L);
    L->d = d;
    L->arena = calloc(1, sizeof *L->arena);
    if (!L->arena) {
        orr_diag_error(d, NULL, NULL, "out of memory");
        return ORR_ENOMEM;
    }
    return 0;
}

/* Keep the tree on success; on failure free everything and leave cfg empty. */
static int loader_end(struct loader *L, struct orr_config *cfg, int rc, const char *file,
                      struct orr_node *root)
{
    for (size_t i = 0; i < L->nLoaded; i++)
        free(L->aLoaded[i].real);
    free(L->aLoaded);
    keytab_free(&L->keys);
    if (rc) {
        orr_node_arena_free(L->arena);
        free(L->aFile);
        return rc;
    }
    cfg->aFile = L->aFile;
    cfg->nFile = L->nFile;
    cfg->root = root;
    cfg->path = (char *)file;
    cfg->arena = L->arena;
    cfg->nFiles = L->nRead;
    return 0;
}

int orr_config_load(struct orr_config *cfg, const char *path, struct orr_diag *d)
{
    if (!cfg || !path || !d)
        return ORR_EINVAL;
    struct loader L;
    int rc = loader_begin(&L, cfg, d);
    if (rc)
        return rc;
    char *text = NULL, *dir = path_dir(path);
    size_t len = 0;
    if (!dir) {
        orr_diag_error(d, NULL, NULL, "out of memory");
        rc = ORR_ENOMEM;
    }
    if (!rc)
        rc = read_file(d, NULL, NULL, path, &text, &len);
    char *file = rc ? NULL : arena_strndup(L.arena, path, strlen(path));
    if (!rc && (!file || note_file(&L, file))) {
        orr_diag_error(d, NULL, NULL, "out of memory");
        rc = ORR_ENOMEM;
    }
    struct orr_node *root = NULL;
    if (!rc) {
        uint64_t nExpanded = 0;
        L.aReal[0] = realpath(path, NULL);
        L.aName[0] = file;
        L.nStack = 1;
        rc = load_tree(&L, file, text, len, dir, &root, &nExpanded);
        free(L.aReal[0]);
    }
    free(text);
    free(dir);
    return loader_end(&L, cfg, rc, file, root);
}

int orr_config_load_string(struct orr_config *cfg, const char *name, const char *text,
                           size_t len, const char *base_dir, struct orr_diag *d)
{
    if (!cfg || (!text && len) || !d)
        return ORR_EINVAL;
    struct loader L;
    int rc = loader_begin(&L, cfg, d);
    if (rc)
        return rc;
    const char *shown = name ? name : "<string>";
    char *file = arena_strndup(L.arena, shown, strlen(shown));
    struct orr_node *root = NULL;
    if (!file) {
        orr_diag_error(d, NULL, NULL, "out of memory");
        rc = ORR_ENOMEM;
    } else {
        uint64_t nExpanded = 0;
        L.aName[0] = file;
        L.nStack = 1;
        rc = load_tree(&L, file, text ? text : "", len, base_dir, &root, &nExpanded);
    }
    return loader_end(&L, cfg, rc, file, root);
}

void orr_config_free(struct orr_config *cfg)
{
    if (!cfg)
        return;
    orr_node_arena_free(cfg->arena);
    free(cfg->aFile);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- --set overrides ----------------------------------------------------- */

/* One component of a --set path. */
struct set_comp {
    char *key;   /* arena copy */
    uint32_t col; /* 1-based column in the argument */
};

struct set_path {
    struct set_comp aComp[ORR__MAX_DEPTH];
    size_t n;
    const char *text; /* the whole path, for messages */
};

/* Length of the valid UTF-8 sequence at s (no control characters), or 0. */
static size_t utf8_char_len(const unsigned char *s, size_t left)
{
    if (s[0] >= 0x20 && s[0] < 0x7f)
        return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf5 || n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    uint32_t cp = n == 2 ? (s[0] & 0x1fu) : n == 3 ? (s[0] & 0x0fu) : (s[0] & 0x07u);
    for (size_t i = 1; i < n; i++)
        cp = cp << 6 | (s[i] & 0x3fu);
    bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    bool bad = cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0);
    return overlong || bad ? 0 : n;
}

static bool text_is_clean(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = utf8_char_len((const unsigned char *)s + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

/* Split "a.b.0.c" (the text before '=') into components. */
static int split_path(struct orr_node_arena *a, const char *arg, const char *eq, struct set_path *sp,
                      struct orr_diag *d)
{
    struct orr_mark mark = {SET_FILE, 0, 1};
    sp->n = 0;
    for (const char *s = arg;;) {
        const char *end = s;
        while (end < eq && *end != '.')
            end++;
        mark.col = (uint32_t)(s - arg) + 1;
        if (end == s) {
            orr_diag_error(d, &mark, NULL, "empty key in path '%.*s'; expected key.path=value",
                           (int)(eq - arg), arg);
            return ORR_EINVAL;
        }
        if (!text_is_clean(s, (size_t)(end - s))) {
            orr_diag_error(d, &mark, NULL, "key '%.*s' is not printable UTF-8",
                           (int)(end - s), s);
            return ORR_EINVAL;
        }
        if (sp->n == ORR__MAX_DEPTH) {
            orr_diag_error(d, &mark, NULL, "path has more than %d keys", ORR__MAX_DEPTH);
            return ORR_EINVAL;
        }
        struct set_comp *c = &sp->aComp[sp->n++];
        c->col = mark.col;
        if (!(c->key = arena_strndup(a, s, (size_t)(end - s))))
            return ORR_ENOMEM;
        if (end == eq)
            return 0;
        s = end + 1;
    }
}

/* The key path of the first n components, malloc'ed. */
static char *set_keypath(const struct set_path *sp, size_t n)
{
    char *kp = NULL;
    for (size_t i = 0; i < n; i++) {
        char *next = orr_keypath_join(kp, sp->aComp[i].key);
        free(kp);
        if (!(kp = next))
            return NULL;
    }
    return kp;
}

/* Report an error about component i of a --set path. */
static void set_error(struct orr_diag *d, const struct set_path *sp, size_t i, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void set_error(struct orr_diag *d, const struct set_path *sp, size_t i, const char *fmt,
                      ...)
{
    struct orr_mark mark = {SET_FILE, 0, sp->aComp[i].col};
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    char *kp = set_keypath(sp, i + 1);
    orr_diag_error(d, &mark, kp, "%s", text ? text : "out of memory");
    free(kp);
    free(text);
}

/* The slot component i names inside parent, without changing anything:
 * *idx is the map or sequence index, or -1 for a key the map lacks. */
static int set_locate(const struct orr_node *parent, const struct set_path *sp, size_t i,
                      long *idx, struct orr_diag *d)
{
    const char *key = sp->aComp[i].key;
    char *parentPath = set_keypath(sp, i);
    const char *pp = parentPath ? parentPath : "the top level";
    int rc = 0;
    if (parent->kind == ORR_NODE_MAP) {
        *idx = orr_node_index(parent, key);
    } else if (parent->kind == ORR_NODE_SCALAR) {
        set_error(d, sp, i, "cannot set a key inside '%s': it is a scalar", pp);
        rc = ORR_ESCHEMA;
    } else {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(key, &end, 10);
        bool digits = key[0] >= '0' && key[0] <= '9' && !*end && errno == 0;
        if (!digits) {
            set_error(d, sp, i, "expected an index into the sequence '%s', got '%s'", pp, key);
            rc = ORR_ESCHEMA;
        } else if (v >= parent->n) {
            set_error(d, sp, i, "index %s is out of range: '%s' has %zu item%s", key, pp,
                      parent->n, parent->n == 1 ? "" : "s");
            rc = ORR_ESCHEMA;
        } else {
            *idx = (long)v;
        }
    }
    free(parentPath);
    return rc;
}

/* Walk the existing tree along sp. Stops at the last component or at the
 * first missing map key; *at is that component's index. */
static int set_walk(struct orr_node *root, const struct set_path *sp, struct orr_node **parent,
                    size_t *at, long *idx, struct orr_diag *d)
{
    struct orr_node *cur = root;
    for (size_t i = 0;; i++) {
        int rc = set_locate(cur, sp, i, idx, d);
        if (rc)
            return rc;
        if (i + 1 == sp->n || *idx < 0) {
            *parent = cur;
            *at = i;
            return 0;
        }
        cur = cur->aItem[*idx];
    }
}

/* Put value at slot idx of parent (idx -1: a new key), creating maps for the
 * components after `at`. Only memory can fail here. */
static int set_commit(struct orr_node_arena *a, struct orr_node *parent, const struct set_path *sp,
                      size_t at, long idx, struct orr_node *value)
{
    for (size_t i = at; i < sp->n; i++) {
        const struct set_comp *c = &sp->aComp[i];
        struct orr_mark mark = {SET_FILE, 0, c->col};
        bool last = i + 1 == sp->n;
        struct orr_node *child = last ? value : node_new(a, ORR_NODE_MAP, &mark);
        if (!child)
            return ORR_ENOMEM;
        if (idx >= 0) { /* only the first step can hit an existing slot */
            parent->aItem[idx] = child;
            if (parent->kind == ORR_NODE_MAP)
                parent->aKeyMark[idx] = mark;
        } else {
            size_t cap = parent->n;
            if (!node_append(a, parent, &cap, c->key, &mark, child))
                return ORR_ENOMEM;
        }
        parent = child;
        idx = -1;
    }
    return 0;
}

static int set_ensure_root(struct orr_config *cfg)
{
    if (cfg->root)
        return 0;
    struct orr_mark mark = {SET_FILE, 0, 0};
    if (!cfg->arena && !(cfg->arena = calloc(1, sizeof(struct orr_node_arena))))
        return ORR_ENOMEM;
    cfg->root = node_new(cfg->arena, ORR_NODE_MAP, &mark);
    return cfg->root ? 0 : ORR_ENOMEM;
}

/* Parse the value text of an assignment; an empty value is the scalar "". */
static int set_parse_value(struct orr_node_arena *a, const char *arg, const char *eq,
                           const struct set_path *sp, struct orr_node **value,
                           struct orr_diag *d)
{
    struct path_seg seg = {NULL, sp->text, 0};
    uint32_t col0 = (uint32_t)(eq - arg) + 1;
    /* the value sits sp->n levels below the root: the whole tree must stay
     * within the nesting limit, or its dump would not load again */
    struct keytab keys = {0};
    struct builder b = {.arena = a, .d = d, .file = SET_FILE, .text = eq + 1,
                        .len = strlen(eq + 1), .set_col0 = col0, .depth0 = (int)sp->n,
                        .keys = &keys, .maxNodes = orr_limits()->config_nodes};
    int rc = parse_text(&b, &seg, value);
    keytab_free(&keys);
    if (rc)
        return rc;
    if (!*value) {
        struct orr_mark mark = {SET_FILE, 0, col0 + 1};
        *value = node_new(a, ORR_NODE_SCALAR, &mark);
    }
    return *value ? 0 : ORR_ENOMEM;
}

int orr_config_set(struct orr_config *cfg, const char *assignment, struct orr_diag *d)
{
    if (!cfg || !assignment || !d)
        return ORR_EINVAL;
    const char *eq = strchr(assignment, '=');
    if (!eq) {
        struct orr_mark mark = {SET_FILE, 0, 0};
        orr_diag_error(d, &mark, NULL, "missing '=' in '%s'; expected key.path=value",
                       assignment);
        return ORR_EINVAL;
    }
    int rc = set_ensure_root(cfg);
    struct set_path *sp = rc ? NULL : malloc(sizeof *sp);
    char *pathText = sp ? arena_strndup(cfg->arena, assignment, (size_t)(eq - assignment)) : NULL;
    if (!rc && (!sp || !pathText))
        rc = ORR_ENOMEM;
    if (!rc) {
        sp->text = pathText;
        rc = split_path(cfg->arena, assignment, eq, sp, d);
    }
    if (!rc && strcmp(sp->aComp[0].key, "extends") == 0) {
        /* presets are merged at load time; a late extends would mean nothing
         * now and something else when the stored scenario is reloaded */
        struct orr_mark mark = {SET_FILE, 0, 1};
        orr_diag_error(d, &mark, "extends", "extends cannot be changed with --set; presets "
                                            "are merged when the file is loaded");
        rc = ORR_EINVAL;
    }
    struct orr_node *value = NULL, *parent = NULL;
    size_t at = 0;
    long idx = -1;
    if (!rc)
        rc = set_parse_value(cfg->arena, assignment, eq, sp, &value, d);
    if (!rc)
        rc = set_walk(cfg->root, sp, &parent, &at, &idx, d);
    if (!rc)
        rc = set_commit(cfg->arena, parent, sp, at, idx, value);
    if (rc == ORR_ENOMEM)
        orr_diag_error(d, NULL, NULL, "out of memory");
    free(sp);
    return rc;
}

/* ---- canonical hash and dump -------------------------------------------- */

static void hash_bytes(XXH3_state_t *st, char tag, const void *p, size_t n)
{
    unsigned char head[9] = {(unsigned char)tag};
    for (int i = 0; i < 8; i++) /* explicit little-endian: same hash on any host */
        head[1 + i] = (unsigned char)((uint64_t)n >> (8 * i));
    XXH3_64bits_update(st, head, sizeof head);
    if (n)
        XXH3_64bits_update(st, p, n);
}

/* Canonical form: S<len>text | M<n>(K<len>key value)* | Q<n>value*. */
static void hash_node(XXH3_state_t *st, const struct orr_node *node)
{
    switch (node->kind) {
    case ORR_NODE_SCALAR:
        hash_bytes(st, 'S', node->scalar, strlen(node->scalar));
        break;
    case ORR_NODE_MAP:
        hash_bytes(st, 'M', NULL, node->n);
        for (size_t i = 0; i < node->n; i++) {
            hash_bytes(st, 'K', node->aKey[i], strlen(node->aKey[i]));
            hash_node(st, node->aItem[i]);
        }
        break;
    case ORR_NODE_SEQ:
        hash_bytes(st, 'Q', NULL, node->n);
        for (size_t i = 0; i < node->n; i++)
            hash_node(st, node->aItem[i]);
        break;
    }
}

uint64_t orr_config_hash(const struct orr_node *root)
{
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    if (root)
        hash_node(&st, root);
    else
        hash_bytes(&st, 'N', NULL, 0);
    return XXH3_64bits_digest(&st);
}

struct dump_buf {
    char *p;
    size_t n, cap;
};

static int dump_write(void *data, unsigned char *bytes, size_t size)
{
    struct dump_buf *b = data;
    if (b->cap - b->n <= size) {
        size_t cap = (b->cap + size) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, bytes, size);
    b->n += size;
    b->p[b->n] = '\0';
    return 1;
}

/* Emit one event; libyaml takes ownership of it either way. */
static bool emit(yaml_emitter_t *em, yaml_event_t *ev, int initialized)
{
    return initialized && yaml_emitter_emit(em, ev);
}

static bool emit_scalar(yaml_emitter_t *em, const char *s)
{
    yaml_event_t ev;
    /* the emitter picks plain style when that re-reads as the same text and
     * quotes otherwise; implicit tags since every scalar is text here */
    return emit(em, &ev,
                yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s),
                                             1, 1, YAML_ANY_SCALAR_STYLE));
}

static bool emit_node(yaml_emitter_t *em, const struct orr_node *node)
{
    yaml_event_t ev;
    if (node->kind == ORR_NODE_SCALAR)
        return emit_scalar(em, node->scalar);
    bool map = node->kind == ORR_NODE_MAP;
    int ok = map ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                       YAML_BLOCK_MAPPING_STYLE)
                 : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                        YAML_BLOCK_SEQUENCE_STYLE);
    if (!emit(em, &ev, ok))
        return false;
    for (size_t i = 0; i < node->n; i++) {
        if (map && !emit_scalar(em, node->aKey[i]))
            return false;
        if (!emit_node(em, node->aItem[i]))
            return false;
    }
    ok = map ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
    return emit(em, &ev, ok);
}

static bool emit_document(yaml_emitter_t *em, const struct orr_node *root)
{
    static const struct orr_node empty = {.kind = ORR_NODE_MAP};
    yaml_event_t ev;
    return emit(em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) &&
           emit(em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1)) &&
           emit_node(em, root ? root : &empty) &&
           emit(em, &ev, yaml_document_end_event_initialize(&ev, 1)) &&
           emit(em, &ev, yaml_stream_end_event_initialize(&ev));
}

char *orr_config_dump(const struct orr_node *root)
{
    struct dump_buf buf = {0};
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em))
        return NULL;
    yaml_emitter_set_output(&em, dump_write, &buf);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1); /* never fold long scalars */
    yaml_emitter_set_indent(&em, 2);
    bool ok = emit_document(&em, root);
    yaml_emitter_delete(&em);
    if (!ok) {
        free(buf.p);
        return NULL;
    }
    return buf.p;
}
