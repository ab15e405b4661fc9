/* Shared objects (sim.h): observers and shared state, found by name.
 *
 * Invariants:
 *   1. aShared holds every object in creation order; aSharedIndex maps a
 *      name's hash to its slot by open addressing (capacity a power of
 *      two, at most half full), so a lookup never depends on addresses.
 *   2. An object is an observer or shared state for its whole life.
 *   3. A state object's aUser lists each declaring component once,
 *      ascending; no component declares after the simulation started.
 *   4. aColoc is a union-find forest over component ids: two components
 *      are in one tree iff a chain of shared state joins them; a root is
 *      the smallest id of its tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "sim_internal.h"
#include "orrery/error.h"

static void fatal(const char *name, const char *what)
{
    fprintf(stderr, "orrery: shared object '%s': %s\n", name, what);
    abort();
}

static size_t slot_of(const struct orr_sim *s, const char *name)
{
    return (size_t)XXH3_64bits(name, strlen(name)) & (s->nSharedIndexCap - 1);
}

static long find(const struct orr_sim *s, const char *name)
{
    if (!s->nSharedIndexCap)
        return -1;
    for (size_t h = slot_of(s, name);; h = (h + 1) & (s->nSharedIndexCap - 1)) {
        uint32_t v = s->aSharedIndex[h];
        if (!v)
            return -1;
        if (strcmp(s->aShared[v - 1].name, name) == 0)
            return (long)v - 1;
    }
}

static void index_put(struct orr_sim *s, size_t i)
{
    size_t h = slot_of(s, s->aShared[i].name);
    while (s->aSharedIndex[h])
        h = (h + 1) & (s->nSharedIndexCap - 1);
    s->aSharedIndex[h] = (uint32_t)i + 1;
}

static void index_grow(struct orr_sim *s)
{
    size_t cap = s->nSharedIndexCap ? 2 * s->nSharedIndexCap : 64;
    uint32_t *a = calloc(cap, sizeof *a);
    if (!a)
        orr_oom();
    free(s->aSharedIndex);
    s->aSharedIndex = a;
    s->nSharedIndexCap = cap;
    for (size_t i = 0; i < s->nShared; i++)
        index_put(s, i);
}

static struct orr_shared *get(struct orr_sim *s, const char *name, size_t size,
                              void (*fini)(void *), bool state)
{
    long i = find(s, name);
    if (i >= 0) {
        if (s->aShared[i].state != state)
            fatal(name, state ? "is an observer, asked for as shared state"
                              : "is shared state, asked for as an observer");
        return &s->aShared[i];
    }
    if (s->nShared == s->nSharedAlloc) {
        size_t cap = s->nSharedAlloc ? 2 * s->nSharedAlloc : 16;
        struct orr_shared *a = realloc(s->aShared, cap * sizeof *a);
        if (!a)
            orr_oom();
        s->aShared = a;
        s->nSharedAlloc = cap;
    }
    void *p = calloc(1, size ? size : 1);
    char *n = malloc(strlen(name) + 1);
    if (!p || !n)
        orr_oom();
    strcpy(n, name);
    s->aShared[s->nShared++] = (struct orr_shared){.name = n, .p = p, .fini = fini, .state = state};
    if (2 * s->nShared > s->nSharedIndexCap)
        index_grow(s);
    else
        index_put(s, s->nShared - 1);
    return &s->aShared[s->nShared - 1];
}

void *orr_sim_observer(struct orr_sim *s, const char *name, size_t size, void (*fini)(void *))
{
    return get(s, name, size, fini, false)->p;
}

/* ---- colocation: union-find, roots the smallest id ------------------------ */

static uint32_t root(const struct orr_sim *s, uint32_t id)
{
    while (id < s->nColoc && s->aColoc[id] != id)
        id = s->aColoc[id];
    return id;
}

static void join(struct orr_sim *s, uint32_t a, uint32_t b)
{
    uint32_t need = (a > b ? a : b) + 1;
    if (need > s->nColoc) {
        uint32_t *p = realloc(s->aColoc, need * sizeof *p);
        if (!p)
            orr_oom();
        for (size_t i = s->nColoc; i < need; i++)
            p[i] = (uint32_t)i;
        s->aColoc = p;
        s->nColoc = need;
    }
    uint32_t ra = root(s, a), rb = root(s, b);
    if (ra < rb)
        s->aColoc[rb] = ra;
    else if (rb < ra)
        s->aColoc[ra] = rb;
}

uint32_t orr_sim_colocation(const struct orr_sim *s, uint32_t id)
{
    return root(s, id);
}

void *orr_sim_shared_state(struct orr_component *c, const char *name, size_t size,
                           void (*fini)(void *))
{
    struct orr_sim *s = c->sim;
    if (s->started)
        fatal(name, "declared after the simulation started (declare from create or start)");
    struct orr_shared *o = get(s, name, size, fini, true);
    size_t k = 0;
    while (k < o->nUser && o->aUser[k] < c->id)
        k++;
    if (k < o->nUser && o->aUser[k] == c->id)
        return o->p;
    if (o->nUser == o->nUserAlloc) {
        size_t cap = o->nUserAlloc ? 2 * o->nUserAlloc : 4;
        uint32_t *a = realloc(o->aUser, cap * sizeof *a);
        if (!a)
            orr_oom();
        o->aUser = a;
        o->nUserAlloc = cap;
    }
    memmove(&o->aUser[k + 1], &o->aUser[k], (o->nUser - k) * sizeof *o->aUser);
    o->aUser[k] = c->id;
    o->nUser++;
    join(s, o->aUser[0], c->id);
    return o->p;
}

void *orr_sim_shared_peek(const struct orr_sim *s, const char *name)
{
    long i = find(s, name);
    return i < 0 ? NULL : s->aShared[i].p;
}

size_t orr_sim_shared_users(const struct orr_sim *s, const char *name, const uint32_t **ids)
{
    long i = find(s, name);
    if (i < 0 || !s->aShared[i].state) {
        *ids = NULL;
        return 0;
    }
    *ids = s->aShared[i].aUser;
    return s->aShared[i].nUser;
}

void orr__shared_free_all(struct orr_sim *s)
{
    for (size_t i = s->nShared; i-- > 0;) {
        if (s->aShared[i].fini)
            s->aShared[i].fini(s->aShared[i].p);
        free(s->aShared[i].p);
        free(s->aShared[i].name);
        free(s->aShared[i].aUser);
    }
    free(s->aShared);
    free(s->aSharedIndex);
    free(s->aColoc);
    s->aShared = NULL;
    s->aSharedIndex = NULL;
    s->aColoc = NULL;
    s->nShared = s->nSharedAlloc = s->nSharedIndexCap = s->nColoc = 0;
}

void orr_sim_shared_ckpt(struct orr_sim *s, const char *name, orr_shared_save_fn save,
                         orr_shared_restore_fn restore)
{
    long i = find(s, name);
    if (i < 0)
        fatal(name, "has save/restore ops but was never created");
    s->aShared[i].save = save;
    s->aShared[i].restore = restore;
}
