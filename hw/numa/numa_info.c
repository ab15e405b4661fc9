/* numa_info: carries a machine's SLIT-style distance matrix into the run's
 * metrics (numa.distance.I.J) and trace header, so results say what NUMA
 * layout produced them. It has no ports and handles no events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/checkpoint.h"
#include "orrery/sim.h"

static const struct orr_param numa_info_params[] = {
    {"nodes", ORR_P_UINT, NULL, ORR_PF_POSITIVE, "NUMA nodes (sockets, then CPU-less nodes)", NULL,
     1, 64},
    {"distances", ORR_P_UINTS, NULL, ORR_PF_NONEMPTY,
     "the nodes × nodes matrix, row by row (SLIT: 10 is a node's distance to itself)", NULL, 10,
     254},
    {NULL},
};

static const struct orr_port_doc numa_info_ports[] = {{NULL}};

static int numa_info_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    size_t n = (size_t)orr_param_u64(p, "nodes"), nDist;
    const uint64_t *dist = orr_param_uints(p, "distances", &nDist);
    if (nDist != n * n) {
        orr_diag_error(d, orr_param_mark(p, "distances"), c->keypath,
                       "%zu distances for %zu nodes; the matrix must be square (%zu)", nDist, n,
                       n * n);
        return ORR_ESCHEMA;
    }
    for (size_t i = 0; i < n; i++) {
        char row[64 * 4 + 1] = "";
        size_t len = 0;
        for (size_t j = 0; j < n; j++) {
            char name[64];
            snprintf(name, sizeof name, "distance.%zu.%zu", i, j);
            orr_value_new(c, name, "")->v = (double)dist[i * n + j];
            len += (size_t)snprintf(row + len, sizeof row - len, "%s%llu", j ? " " : "",
                                    (unsigned long long)dist[i * n + j]);
        }
        /* the row as the trace header shows it: distances separated by spaces */
        char key[48];
        snprintf(key, sizeof key, "distances.%zu", i);
        orr_sim_knob(c, key, row);
    }
    return 0;
}

static const struct orr_metric_doc numa_info_metrics[] = {
    {"distance.<I>.<J>", "", ORR_METRIC_VALUE, "SLIT-style distance from node I to node J"},
    {NULL},
};

const struct orr_component_type orr_numa_info_type = {
    .name = "numa_info",
    .summary = "the machine's NUMA distance matrix, reported as metrics",
    .params = numa_info_params,
    .ports = numa_info_ports,
    .metrics = numa_info_metrics,
    .create = numa_info_create,
    .save = orr_ckpt_save_none, /* its values are set at create */
    .restore = orr_ckpt_restore_none,
};
