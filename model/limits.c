/* The process-wide input budgets (orrery/limits.h). */
#include "orrery/limits.h"

static struct orr_limits g_limits = {
    .scenario_bytes = ORR_LIMIT_SCENARIO_BYTES,
    .config_nodes = ORR_LIMIT_CONFIG_NODES,
    .components = ORR_LIMIT_COMPONENTS,
    .links = ORR_LIMIT_LINKS,
};

const struct orr_limits *orr_limits(void)
{
    return &g_limits;
}

void orr_limits_set(const struct orr_limits *l)
{
    g_limits = *l;
}
