/* Helpers shared by the scheduler benchmark generators (schedgen.h):
 * appending tasks and events to an rtapp_set, and the name pool. */
#define _POSIX_C_SOURCE 200809L
#include "workloads/schedgen.h"
#include "orrery/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *schedgen_name(struct schedgen_pool *pool, const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **a = realloc(pool->a, (pool->n + 1) * sizeof *a);
    char *s = strdup(buf);
    if (!a || !s)
        orr_oom();
    pool->a = a;
    pool->a[pool->n++] = s;
    return s;
}

void schedgen_pool_free(struct schedgen_pool *pool)
{
    for (size_t i = 0; i < pool->n; i++)
        free(pool->a[i]);
    free(pool->a);
    pool->a = NULL;
    pool->n = 0;
}

struct rtapp_task *schedgen_task(struct rtapp_set *set, const char *name, const char *keypath,
                                 const struct orr_mark *mark, uint32_t count, size_t nphase,
                                 uint64_t loops)
{
    struct rtapp_task *a = realloc(set->aTask, (set->nTask + 1) * sizeof *a);
    if (!a)
        orr_oom();
    set->aTask = a;
    struct rtapp_task *t = &a[set->nTask++];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->mark = *mark;
    t->keypath = strdup(keypath); /* owned by the set (rtapp_free) */
    t->count = count;
    t->policy = RTAPP_NORMAL;
    memset(t->affinity, 0xFF, sizeof t->affinity);
    t->group = "";
    t->group_mark = *mark;
    t->nPhase = nphase;
    t->aPhase = calloc(nphase ? nphase : 1, sizeof *t->aPhase);
    t->loops = loops;
    if (!t->keypath || !t->aPhase)
        orr_oom();
    return t;
}

uint32_t schedgen_event(struct rtapp_set *set, const char *name)
{
    char **a = realloc(set->aEventName, (set->nEvent + 1) * sizeof *a);
    char *s = strdup(name);
    if (!a || !s)
        orr_oom();
    set->aEventName = a;
    set->aEventName[set->nEvent] = s;
    return (uint32_t)set->nEvent++;
}
