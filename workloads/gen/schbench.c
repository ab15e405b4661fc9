/* schbench-shaped load as rt-app tasks (schedgen.h). Per message thread m
 * with W workers, for `requests` rounds:
 *     message m: sleep `sleep`; wake schbench.m<m>.w<0..W-1>;
 *                wait schbench.m<m>.done, W times (every worker finished)
 *     worker w:  wait schbench.m<m>.w<w>; run `run`; wake schbench.m<m>.done
 * Because the message thread waits for the whole round, every worker is
 * blocked when its request is posted: its wake-up latency is the time from
 * the wake to its first instruction (schbench's wakeup latency), and its
 * request latency the time from the wake to the end of its run. sched_node
 * reports both as schbench.wakeup_latency and schbench.request_latency
 * (.p50, .p99, ... metrics). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "orrery/error.h"
#include "orrery/params.h"
#include "workloads/schedgen.h"

static const struct orr_param schbench_params[] = {
    {"message_threads", ORR_P_UINT, "2", ORR_PF_POSITIVE, "message threads (schbench -m)", NULL,
     1, 1000},
    {"workers_per_message", ORR_P_UINT, "4", ORR_PF_POSITIVE,
     "workers per message thread (schbench -t)", NULL, 1, 1000},
    {"requests", ORR_P_UINT, "100", ORR_PF_POSITIVE, "request rounds per message thread", NULL,
     1, 1ull << 40},
    {"run", ORR_P_TIME, "100us", ORR_PF_POSITIVE, "CPU time of one request (schbench -r work)"},
    {"sleep", ORR_P_TIME, "1ms", ORR_PF_POSITIVE,
     "message thread's sleep before each round (schbench -s)"},
    {NULL},
};

int schbench_expand(const struct orr_node *map, const char *keypath, struct rtapp_set *set,
                    struct schedgen_pool *pool, struct schbench_info *info, struct orr_diag *d)
{
    *info = (struct schbench_info){0};
    if (!map)
        return 0;
    struct orr_params p = {0};
    int rc = map->kind == ORR_NODE_MAP
                 ? orr_params_parse(schbench_params, map, keypath, NULL, &p, d)
                 : (orr_diag_error(d, &map->mark, keypath,
                                   "expected a mapping {message_threads, workers_per_message, "
                                   "requests, run, sleep}"),
                    ORR_ESCHEMA);
    if (rc) {
        orr_params_free(&p);
        return rc;
    }
    unsigned nm = (unsigned)orr_param_u64(&p, "message_threads");
    unsigned nw = (unsigned)orr_param_u64(&p, "workers_per_message");
    uint64_t req = orr_param_u64(&p, "requests");
    uint64_t run = orr_param_u64(&p, "run") / 1000, sleep = orr_param_u64(&p, "sleep") / 1000;
    orr_params_free(&p);
    if (run == 0 || sleep == 0) {
        orr_diag_error(d, &map->mark, keypath, "run and sleep must be at least 1ns");
        return ORR_ESCHEMA;
    }
    info->first_message = set->nTask;
    for (unsigned m = 0; m < nm; m++) {
        uint32_t ev0 = (uint32_t)set->nEvent;
        for (unsigned w = 0; w < nw; w++)
            schedgen_event(set, schedgen_name(pool, "schbench.m%u.w%u", m, w));
        uint32_t done = schedgen_event(set, schedgen_name(pool, "schbench.m%u.done", m));
        struct rtapp_task *t = schedgen_task(set, schedgen_name(pool, "schbench.m%u", m), keypath,
                                             &map->mark, 1, 1 + 2 * (size_t)nw, req);
        t->aPhase[0] = (struct rtapp_phase){RTAPP_SLEEP, sleep, 0};
        for (unsigned w = 0; w < nw; w++) {
            t->aPhase[1 + w] = (struct rtapp_phase){RTAPP_WAKE, 0, ev0 + w};
            t->aPhase[1 + nw + w] = (struct rtapp_phase){RTAPP_WAIT, 0, done};
        }
    }
    info->nMessage = nm;
    info->first_worker = set->nTask;
    for (unsigned m = 0; m < nm; m++)
        for (unsigned w = 0; w < nw; w++) {
            /* events were made in order: m's worker events, then m's done */
            uint32_t ev = (uint32_t)(set->nEvent - (size_t)nm * (nw + 1) + (size_t)m * (nw + 1) + w);
            uint32_t done = ev - w + nw;
            struct rtapp_task *t = schedgen_task(set, schedgen_name(pool, "schbench.m%u.w%u", m, w),
                                                 keypath, &map->mark, 1, 3, req);
            t->aPhase[0] = (struct rtapp_phase){RTAPP_WAIT, 0, ev};
            t->aPhase[1] = (struct rtapp_phase){RTAPP_RUN, run, 0};
            t->aPhase[2] = (struct rtapp_phase){RTAPP_WAKE, 0, done};
        }
    info->nWorker = (size_t)nm * nw;
    return 0;
}
