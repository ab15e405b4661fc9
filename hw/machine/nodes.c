/* In-memory config nodes (nodes.h): one arena of small blocks per
 * simulation, freed through orr_sim_shared's fini. */
#include "nodes.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct block {
    struct block *next;
    _Alignas(max_align_t) unsigned char data[];
};

struct nodes {
    struct block *head;
};

static void arena_fini(void *p)
{
    struct nodes *a = p;
    while (a->head) {
        struct block *b = a->head;
        a->head = b->next;
        free(b);
    }
}

struct nodes *nodes_arena(struct orr_sim *s)
{
    return orr_sim_shared(s, "hw.machine.nodes", sizeof(struct nodes), arena_fini);
}

static void *alloc(struct nodes *a, size_t n)
{
    struct block *b = calloc(1, sizeof *b + n);
    if (!b)
        abort();
    b->next = a->head;
    a->head = b;
    return b->data;
}

static struct orr_node *node(struct nodes *a, enum orr_node_kind k, const struct orr_mark *mark)
{
    struct orr_node *n = alloc(a, sizeof *n);
    n->kind = k;
    if (mark)
        n->mark = *mark;
    n->scalar = (char *)"";
    return n;
}

struct orr_node *nodes_map(struct nodes *a, const struct orr_mark *mark)
{
    return node(a, ORR_NODE_MAP, mark);
}

struct orr_node *nodes_seq(struct nodes *a, const struct orr_mark *mark)
{
    return node(a, ORR_NODE_SEQ, mark);
}

struct orr_node *nodes_scalar(struct nodes *a, const struct orr_mark *mark, const char *fmt, ...)
{
    struct orr_node *n = node(a, ORR_NODE_SCALAR, mark);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    n->scalar = alloc(a, (size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(n->scalar, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return n;
}

static void grow(struct nodes *a, struct orr_node *n, bool map)
{
    struct orr_node **items = alloc(a, (n->n + 1) * sizeof *items);
    if (n->n)
        memcpy(items, n->aItem, n->n * sizeof *items);
    n->aItem = items;
    if (map) {
        char **keys = alloc(a, (n->n + 1) * sizeof *keys);
        struct orr_mark *marks = alloc(a, (n->n + 1) * sizeof *marks);
        if (n->n) {
            memcpy(keys, n->aKey, n->n * sizeof *keys);
            memcpy(marks, n->aKeyMark, n->n * sizeof *marks);
        }
        n->aKey = keys;
        n->aKeyMark = marks;
    }
}

void nodes_push(struct nodes *a, struct orr_node *seq, struct orr_node *item)
{
    grow(a, seq, false);
    seq->aItem[seq->n++] = item;
}

void nodes_put(struct nodes *a, struct orr_node *map, const char *key, struct orr_node *value)
{
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->aKey[i], key) == 0) {
            map->aItem[i] = value;
            return;
        }
    grow(a, map, true);
    char *k = alloc(a, strlen(key) + 1);
    strcpy(k, key);
    map->aKey[map->n] = k;
    map->aKeyMark[map->n] = value->mark;
    map->aItem[map->n++] = value;
}

struct orr_node *nodes_copy_except(struct nodes *a, const struct orr_node *src,
                                   const char *const *except)
{
    struct orr_node *m = nodes_map(a, &src->mark);
    for (size_t i = 0; src->kind == ORR_NODE_MAP && i < src->n; i++) {
        bool skip = false;
        for (size_t k = 0; except && except[k]; k++)
            skip |= strcmp(src->aKey[i], except[k]) == 0;
        if (!skip) {
            nodes_put(a, m, src->aKey[i], src->aItem[i]);
            m->aKeyMark[m->n - 1] = src->aKeyMark[i];
        }
    }
    return m;
}
