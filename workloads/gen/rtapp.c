/* rt-app-style task descriptions: parsing and load-time validation (see
 * rtapp.h). Every check that can be made before the run is made here, so a
 * bad task is an input error with a position, never a surprise mid-run. */
#include "workloads/rtapp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "orrery/params.h"

static const char *const policies[] = {"normal", "fifo", "rr", "deadline", NULL};

static const struct orr_param task_params[] = {
    {"name", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "task name (instances are name.0, name.1, ...)"},
    {"count", ORR_P_UINT, "1", ORR_PF_POSITIVE, "identical instances", NULL, 1, 100000},
    {"policy", ORR_P_ENUM, "normal", 0, "scheduling class", policies},
    {"nice", ORR_P_INT, "0", 0, "normal: weight from nice", NULL, (uint64_t)-20, 19},
    {"prio", ORR_P_UINT, "0", 0, "fifo/rr: priority 1..99 (higher runs first)", NULL, 0, 99},
    {"runtime", ORR_P_TIME, "0ns", 0, "deadline: budget per period"},
    {"deadline", ORR_P_TIME, "0ns", 0, "deadline: relative deadline"},
    {"period", ORR_P_TIME, "0ns", 0, "deadline: reservation period"},
    {"affinity", ORR_P_LIST, "", 0, "CPUs the task may run on (default: all)"},
    {"group", ORR_P_STRING, "", 0, "normal tasks: CPU bandwidth group (the node's groups)"},
    {"phases", ORR_P_SEQ, "[]", 0, "program: list of {run|run_cycles|sleep|wait|wake: ...}"},
    {"loops", ORR_P_UINT, "0", 0, "times to run the phases; 0 repeats until the run stops"},
    {"periodic", ORR_P_MAP, "{}", 0, "program: a job released every period (see periodic.*)"},
    {NULL},
};

static const struct orr_param periodic_params[] = {
    {"period", ORR_P_TIME, NULL, ORR_PF_POSITIVE, "release interval"},
    {"run", ORR_P_TIME, NULL, ORR_PF_POSITIVE, "work per job"},
    {"deadline", ORR_P_TIME, "0ns", 0, "relative deadline of each job; 0 means the period"},
    {"offset", ORR_P_TIME, "0ns", 0, "time of the first release"},
    {NULL},
};

static const struct orr_param phase_params[] = {
    {"run", ORR_P_TIME, "0ns", 0, "compute for this long"},
    {"run_cycles", ORR_P_CYCLES, "0cy", 0, "compute for this many CPU cycles"},
    {"sleep", ORR_P_TIME, "0ns", 0, "block for this long"},
    {"wait", ORR_P_STRING, "", 0, "block until this event is woken"},
    {"wake", ORR_P_STRING, "", 0, "wake every task waiting on this event"},
    {NULL},
};

static uint32_t event_index(struct rtapp_set *s, const char *name)
{
    for (size_t i = 0; i < s->nEvent; i++)
        if (strcmp(s->aEventName[i], name) == 0)
            return (uint32_t)i;
    char **a = realloc(s->aEventName, (s->nEvent + 1) * sizeof *a);
    char *copy = malloc(strlen(name) + 1);
    if (!a || !copy)
        orr_oom();
    strcpy(copy, name);
    s->aEventName = a;
    s->aEventName[s->nEvent] = copy;
    return (uint32_t)s->nEvent++;
}

/* One phase: a mapping with exactly one of the phase keys. */
static int parse_phase(const struct orr_node *n, const char *kp, struct rtapp_set *s,
                       struct rtapp_phase *ph, bool *aWaited, bool *aWoken, struct orr_diag *d)
{
    struct orr_params p = {0};
    int rc = orr_params_parse(phase_params, n, kp, NULL, &p, d);
    if (rc == 0) {
        const char *keys[] = {"run", "run_cycles", "sleep", "wait", "wake"};
        unsigned given = 0, which = 0;
        for (unsigned k = 0; k < 5; k++)
            if (orr_param_given(&p, keys[k]))
                given++, which = k;
        if (given != 1) {
            orr_diag_error(d, &n->mark, kp,
                           "a phase needs exactly one of run, run_cycles, sleep, wait, wake "
                           "(found %u)",
                           given);
            rc = ORR_ESCHEMA;
        } else if (which <= 2) {
            ph->op = which == 0 ? RTAPP_RUN : which == 1 ? RTAPP_RUN_CYCLES : RTAPP_SLEEP;
            ph->amount = orr_param_u64(&p, keys[which]) / (which == 1 ? 1 : 1000);
            if (ph->amount == 0) {
                orr_diag_error(d, orr_param_mark(&p, keys[which]), kp,
                               "%s must be at least %s", keys[which], which == 1 ? "1cy" : "1ns");
                rc = ORR_ESCHEMA;
            }
        } else {
            const char *ev = orr_param_str(&p, keys[which]);
            if (!*ev) {
                orr_diag_error(d, orr_param_mark(&p, keys[which]), kp,
                               "%s needs an event name", keys[which]);
                rc = ORR_ESCHEMA;
            } else {
                ph->op = which == 3 ? RTAPP_WAIT : RTAPP_WAKE;
                ph->event = event_index(s, ev);
                (which == 3 ? aWaited : aWoken)[ph->event] = true;
            }
        }
    }
    orr_params_free(&p);
    return rc;
}

static int parse_affinity(struct rtapp_task *t, const struct orr_params *p, unsigned ncpu,
                          struct orr_diag *d)
{
    size_t n;
    const char *const *v = orr_param_list(p, "affinity", &n);
    if (n == 0) {
        memset(t->affinity, 0xFF, sizeof t->affinity);
        return 0;
    }
    memset(t->affinity, 0, sizeof t->affinity);
    for (size_t i = 0; i < n; i++) {
        char *end;
        unsigned long cpu = strtoul(v[i], &end, 10);
        if (!*v[i] || *end || v[i][0] == '-' || cpu >= ncpu) {
            orr_diag_error(d, orr_param_mark(p, "affinity"), t->keypath,
                           "affinity names CPU '%s', but the machine has CPUs 0..%u", v[i],
                           ncpu - 1);
            return ORR_ESCHEMA;
        }
        t->affinity[cpu / 64] |= 1ull << (cpu % 64);
    }
    return 0;
}

/* Policy parameters make sense together (checked before admission). */
static int check_policy(struct rtapp_task *t, const struct orr_params *p, struct orr_diag *d)
{
    const struct orr_mark *m = &t->mark;
    if ((t->policy == RTAPP_FIFO || t->policy == RTAPP_RR) && t->prio == 0) {
        orr_diag_error(d, m, t->keypath, "policy %s needs prio: 1..99", policies[t->policy]);
        return ORR_ESCHEMA;
    }
    if (t->policy != RTAPP_FIFO && t->policy != RTAPP_RR && orr_param_given(p, "prio")) {
        orr_diag_error(d, orr_param_mark(p, "prio"), t->keypath,
                       "prio applies to fifo and rr tasks only (use nice for normal ones)");
        return ORR_ESCHEMA;
    }
    if (t->policy != RTAPP_DEADLINE)
        return 0;
    if (t->dl_period == 0 || t->dl_runtime == 0 || t->dl_deadline == 0) {
        orr_diag_error(d, m, t->keypath,
                       "a deadline task needs runtime, deadline and period, all greater than "
                       "zero");
        return ORR_ESCHEMA;
    }
    if (!(t->dl_runtime <= t->dl_deadline && t->dl_deadline <= t->dl_period)) {
        orr_diag_error(d, m, t->keypath,
                       "a deadline task needs runtime <= deadline <= period (got %llu ns <= %llu "
                       "ns <= %llu ns)",
                       (unsigned long long)t->dl_runtime, (unsigned long long)t->dl_deadline,
                       (unsigned long long)t->dl_period);
        return ORR_ESCHEMA;
    }
    return 0;
}

static int parse_program(struct rtapp_task *t, const struct orr_params *p, struct rtapp_set *s,
                         bool *aWaited, bool *aWoken, struct orr_diag *d)
{
    const struct orr_node *ph = orr_param_map(p, "phases");
    const struct orr_node *per = orr_param_map(p, "periodic");
    bool hasPh = ph && ph->n, hasPer = per != NULL;
    if (hasPh == hasPer) {
        orr_diag_error(d, &t->mark, t->keypath,
                       hasPh ? "a task has either phases or periodic, not both"
                             : "a task needs a program: phases (a list) or periodic");
        return ORR_ESCHEMA;
    }
    int rc = 0;
    if (hasPer) {
        struct orr_params pp = {0};
        char *kp = orr_keypath_join(t->keypath, "periodic");
        rc = orr_params_parse(periodic_params, per, kp, NULL, &pp, d);
        if (rc == 0) {
            t->period_ns = orr_param_u64(&pp, "period") / 1000;
            t->job_ns = orr_param_u64(&pp, "run") / 1000;
            t->deadline_ns = orr_param_u64(&pp, "deadline") / 1000;
            t->offset_ns = orr_param_u64(&pp, "offset") / 1000;
            if (t->deadline_ns == 0)
                t->deadline_ns = t->period_ns;
            if (t->period_ns == 0 || t->job_ns == 0) {
                orr_diag_error(d, &per->mark, kp, "period and run must be at least 1ns");
                rc = ORR_ESCHEMA;
            }
        }
        orr_params_free(&pp);
        free(kp);
        return rc;
    }
    t->aPhase = calloc(ph->n, sizeof *t->aPhase);
    if (!t->aPhase)
        orr_oom();
    t->nPhase = ph->n;
    for (size_t i = 0; i < ph->n; i++) {
        char kp[256];
        snprintf(kp, sizeof kp, "%s.phases.%zu", t->keypath, i);
        /* event arrays are sized generously: at most one new event per phase */
        int r = parse_phase(ph->aItem[i], kp, s, &t->aPhase[i], aWaited, aWoken, d);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

static size_t count_phases(const struct orr_node *tasks)
{
    size_t n = 0;
    for (size_t i = 0; i < tasks->n; i++) {
        const struct orr_node *ph = orr_node_get(tasks->aItem[i], "phases");
        n += ph && ph->kind == ORR_NODE_SEQ ? ph->n : 0;
    }
    return n;
}

int rtapp_parse(const struct orr_node *tasks, const char *keypath, unsigned ncpu,
                struct rtapp_set *out, struct orr_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!tasks)
        return 0;
    if (tasks->kind != ORR_NODE_SEQ) {
        orr_diag_error(d, &tasks->mark, keypath, "expected a list of tasks");
        return ORR_ESCHEMA;
    }
    size_t maxEvents = count_phases(tasks) + 1;
    bool *aWaited = calloc(maxEvents, sizeof *aWaited), *aWoken = calloc(maxEvents, sizeof *aWoken);
    out->aTask = calloc(tasks->n ? tasks->n : 1, sizeof *out->aTask);
    if (!aWaited || !aWoken || !out->aTask)
        orr_oom();
    int rc = 0;
    for (size_t i = 0; i < tasks->n; i++) {
        const struct orr_node *tn = tasks->aItem[i];
        struct rtapp_task *t = &out->aTask[out->nTask++];
        char kp[256];
        snprintf(kp, sizeof kp, "%s.%zu", keypath, i);
        t->keypath = orr_keypath_join(kp, NULL);
        t->mark = tn->mark;
        struct orr_params p = {0};
        int r = tn->kind == ORR_NODE_MAP
                    ? orr_params_parse(task_params, tn, kp, NULL, &p, d)
                    : (orr_diag_error(d, &tn->mark, kp, "expected a mapping describing a task"),
                       ORR_ESCHEMA);
        if (r == 0) {
            t->name = orr_param_str(&p, "name");
            t->count = (uint32_t)orr_param_u64(&p, "count");
            t->policy = (enum rtapp_policy)orr_param_enum(&p, "policy");
            t->nice = (int)orr_param_int(&p, "nice");
            t->prio = (unsigned)orr_param_u64(&p, "prio");
            t->dl_runtime = orr_param_u64(&p, "runtime") / 1000;
            t->dl_deadline = orr_param_u64(&p, "deadline") / 1000;
            t->dl_period = orr_param_u64(&p, "period") / 1000;
            t->loops = orr_param_u64(&p, "loops");
            t->group = orr_param_str(&p, "group");
            t->group_mark = *orr_param_mark(&p, "group");
            int rg = 0;
            if (*t->group && t->policy != RTAPP_NORMAL) {
                orr_diag_error(d, &t->group_mark, kp,
                               "group applies to normal tasks only (bandwidth limits are for "
                               "the fair class)");
                rg = ORR_ESCHEMA;
            }
            r = parse_affinity(t, &p, ncpu, d);
            int r2 = check_policy(t, &p, d);
            int r3 = parse_program(t, &p, out, aWaited, aWoken, d);
            r = r ? r : r2 ? r2 : r3 ? r3 : rg;
        }
        orr_params_free(&p);
        if (r && !rc)
            rc = r;
    }
    for (size_t e = 0; rc == 0 && e < out->nEvent; e++)
        if (aWaited[e] && !aWoken[e]) {
            orr_diag_error(d, &tasks->mark, keypath,
                           "event '%s' is waited for but no task wakes it", out->aEventName[e]);
            rc = ORR_ESCHEMA;
        }
    free(aWaited);
    free(aWoken);
    return rc;
}

void rtapp_free(struct rtapp_set *s)
{
    for (size_t i = 0; i < s->nTask; i++) {
        free(s->aTask[i].aPhase);
        free(s->aTask[i].keypath);
    }
    free(s->aTask);
    for (size_t e = 0; e < s->nEvent; e++)
        free(s->aEventName[e]);
    free(s->aEventName);
    memset(s, 0, sizeof *s);
}

bool rtapp_on_cpu(const struct rtapp_task *t, unsigned cpu)
{
    return cpu < 256 && (t->affinity[cpu / 64] >> (cpu % 64)) & 1;
}
