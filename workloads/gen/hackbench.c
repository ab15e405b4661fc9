/* hackbench-shaped load as rt-app tasks (schedgen.h): per group g, fds
 * senders and fds receivers. Sender program (loops times):
 *     for each receiver j of g: run message_cost, wake hackbench.g<g>.r<j>
 * Receiver j (loops * fds times, once per message sent to it):
 *     wait hackbench.g<g>.r<j>, run message_cost
 * A wake with no waiter is kept (rtapp's event counts), so no message is
 * lost: each receiver handles exactly loops * fds messages and the run ends
 * when every task has finished. Tasks: 2 * groups * fds; events: groups *
 * fds. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "orrery/error.h"
#include "orrery/params.h"
#include "workloads/schedgen.h"

static const struct orr_param hackbench_params[] = {
    {"groups", ORR_P_UINT, NULL, ORR_PF_POSITIVE, "sender/receiver groups (hackbench -g)", NULL,
     1, 10000},
    {"fds", ORR_P_UINT, "20", ORR_PF_POSITIVE,
     "senders and receivers per group (hackbench -f, default 20)", NULL, 1, 1000},
    {"loops", ORR_P_UINT, "100", ORR_PF_POSITIVE,
     "messages each sender sends to each receiver (hackbench -l, default 100)", NULL, 1,
     1ull << 40},
    {"message_cost", ORR_P_TIME, "2us", ORR_PF_POSITIVE,
     "CPU time to send (and to receive) one message"},
    {"nice", ORR_P_INT, "0", 0, "nice of every task", NULL, (uint64_t)-20, 19},
    {NULL},
};

int hackbench_expand(const struct orr_node *map, const char *keypath, struct rtapp_set *set,
                     struct schedgen_pool *pool, struct orr_diag *d)
{
    if (!map)
        return 0;
    struct orr_params p = {0};
    int rc = map->kind == ORR_NODE_MAP
                 ? orr_params_parse(hackbench_params, map, keypath, NULL, &p, d)
                 : (orr_diag_error(d, &map->mark, keypath,
                                   "expected a mapping {groups, fds, loops, message_cost}"),
                    ORR_ESCHEMA);
    if (rc) {
        orr_params_free(&p);
        return rc;
    }
    unsigned groups = (unsigned)orr_param_u64(&p, "groups"), fds = (unsigned)orr_param_u64(&p, "fds");
    uint64_t loops = orr_param_u64(&p, "loops"), cost = orr_param_u64(&p, "message_cost") / 1000;
    int nice = (int)orr_param_int(&p, "nice");
    orr_params_free(&p);
    if (cost == 0) {
        orr_diag_error(d, &map->mark, keypath, "message_cost must be at least 1ns");
        return ORR_ESCHEMA;
    }
    if ((uint64_t)groups * fds * 2 > 200000) {
        orr_diag_error(d, &map->mark, keypath,
                       "groups x fds x 2 = %llu tasks; at most 200000",
                       (unsigned long long)groups * fds * 2);
        return ORR_ESCHEMA;
    }
    for (unsigned g = 0; g < groups; g++) {
        uint32_t ev0 = (uint32_t)set->nEvent;
        for (unsigned j = 0; j < fds; j++)
            schedgen_event(set, schedgen_name(pool, "hackbench.g%u.r%u", g, j));
        struct rtapp_task *s = schedgen_task(set, schedgen_name(pool, "hackbench.g%u.s", g),
                                             keypath, &map->mark, fds, 2 * (size_t)fds, loops);
        s->nice = nice;
        for (unsigned j = 0; j < fds; j++) {
            s->aPhase[2 * j] = (struct rtapp_phase){RTAPP_RUN, cost, 0};
            s->aPhase[2 * j + 1] = (struct rtapp_phase){RTAPP_WAKE, 0, ev0 + j};
        }
        for (unsigned j = 0; j < fds; j++) {
            struct rtapp_task *r =
                schedgen_task(set, schedgen_name(pool, "hackbench.g%u.r%u", g, j), keypath,
                              &map->mark, 1, 2, loops * fds);
            r->nice = nice;
            r->aPhase[0] = (struct rtapp_phase){RTAPP_WAIT, 0, ev0 + j};
            r->aPhase[1] = (struct rtapp_phase){RTAPP_RUN, cost, 0};
        }
    }
    return 0;
}
