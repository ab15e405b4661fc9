/* numa_info: carries a machine's SLIT-style distance matrix into the run's
 * metrics (numa.distance.I.J) and trace header, so results say what NUMA
 * layout produced them. It has no ports and handles no events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/sim.h"

static const struct orr_param numa_info_params[] = {
    {"distances", ORR_P_LIST, NULL, ORR_PF_NONEMPTY, "one row per node: distances separated by spaces"},
    {NULL},
};

static const struct orr_port_doc numa_info_ports[] = {{NULL}};

static int numa_info_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    size_t n;
    const char *const *rows = orr_param_list(p, "distances", &n);
    for (size_t i = 0; i < n; i++) {
        const char *r = rows[i];
        size_t j = 0;
        for (;;) {
            char *end;
            unsigned long v = strtoul(r, &end, 10);
            if (end == r)
                break;
            char name[48];
            snprintf(name, sizeof name, "distance.%zu.%zu", i, j++);
            orr_value_new(c, name, "")->v = (double)v;
            r = end;
        }
        if (j != n) {
            orr_diag_error(d, orr_param_mark(p, "distances"), c->keypath,
                           "row %zu has %zu distances; the matrix must be square (%zu)", i, j, n);
            return ORR_ESCHEMA;
        }
        char key[32];
        snprintf(key, sizeof key, "distances.%zu", i);
        orr_sim_knob(c, key, rows[i]);
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
};
