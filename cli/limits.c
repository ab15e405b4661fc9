/* The --max-* options: budgets on untrusted input (orrery/limits.h), set
 * once per process before anything is loaded, and passed on to child runs. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "orrery/limits.h"
#include "orrery/units.h"
#include "orrery/error.h"

const char cli_limit_help[] =
    "Budgets (exit 2 when a scenario exceeds one; docs/testing.md#budgets):\n"
    "  --max-scenario-size SIZE  bytes of one scenario or preset file (64MiB)\n"
    "  --max-config-nodes N      values, keys and collections after extends:,\n"
    "                            each preset counted every time it is named (4194304)\n"
    "  --max-components N        components instantiated, builders' too (1048576)\n"
    "  --max-links N             links joined, builders' too (4194304)\n";

struct limit_opt {
    int ch;
    const char *name;
    size_t offset; /* of the field in struct orr_limits */
    bool size;     /* a size with a unit, else a count */
};

static const struct limit_opt opts[CLI_LIMIT_COUNT] = {
    {CLI_OPT_MAX_SCENARIO_SIZE, "--max-scenario-size", offsetof(struct orr_limits, scenario_bytes),
     true},
    {CLI_OPT_MAX_CONFIG_NODES, "--max-config-nodes", offsetof(struct orr_limits, config_nodes),
     false},
    {CLI_OPT_MAX_COMPONENTS, "--max-components", offsetof(struct orr_limits, components), false},
    {CLI_OPT_MAX_LINKS, "--max-links", offsetof(struct orr_limits, links), false},
};

static uint64_t *field(struct orr_limits *l, const struct limit_opt *o)
{
    return (uint64_t *)((char *)l + o->offset);
}

int cli_limit_option(const char *verb, int ch, const char *arg)
{
    for (size_t i = 0; i < CLI_LIMIT_COUNT; i++) {
        if (opts[i].ch != ch)
            continue;
        uint64_t v;
        bool ok = opts[i].size ? orr_unit_parse(ORR_UNIT_SIZE, arg, &v, NULL) == 0
                               : cli_parse_u64(arg, &v);
        if (!ok || v == 0) {
            cli_usage_error(verb, "%s expects a positive %s, got '%s'", opts[i].name,
                            opts[i].size ? "size such as 64MiB" : "integer", arg);
            return -1;
        }
        struct orr_limits l = *orr_limits();
        *field(&l, &opts[i]) = v;
        orr_limits_set(&l);
        return 1;
    }
    return 0;
}

void cli_limit_argv(char **av, size_t *k)
{
    static const struct orr_limits defaults = {
        .scenario_bytes = ORR_LIMIT_SCENARIO_BYTES,
        .config_nodes = ORR_LIMIT_CONFIG_NODES,
        .components = ORR_LIMIT_COMPONENTS,
        .links = ORR_LIMIT_LINKS,
    };
    struct orr_limits now = *orr_limits(), def = defaults;
    for (size_t i = 0; i < CLI_LIMIT_COUNT; i++) {
        uint64_t v = *field(&now, &opts[i]);
        if (v == *field(&def, &opts[i]))
            continue;
        char num[32];
        snprintf(num, sizeof num, "%" PRIu64 "%s", v, opts[i].size ? "B" : "");
        av[(*k)++] = strdup(opts[i].name);
        av[(*k)++] = strdup(num);
        if (!av[*k - 2] || !av[*k - 1])
            orr_oom();
    }
}
