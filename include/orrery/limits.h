/* Budgets on untrusted input: how large a scenario may be before loading or
 * building it is refused (exit 2, with where and which flag raises it).
 * They are process-wide: the command line sets them once, from its
 * --max-* flags, before it loads anything; the engine only reads them.
 * docs/testing.md lists each budget with its default and its flag. */
#ifndef ORRERY_LIMITS_H
#define ORRERY_LIMITS_H

#include <stdint.h>

struct orr_limits {
    uint64_t scenario_bytes; /* one scenario or preset file, in bytes */
    uint64_t config_nodes;   /* nodes of the expanded config: every preset counted
                                each time it is named, along every path */
    uint64_t components;     /* instantiated components, builders' included */
    uint64_t links;          /* links joined, builders' included */
};

#define ORR_LIMIT_SCENARIO_BYTES (UINT64_C(64) << 20)
#define ORR_LIMIT_CONFIG_NODES (UINT64_C(4) << 20)
#define ORR_LIMIT_COMPONENTS (UINT64_C(1) << 20)
#define ORR_LIMIT_LINKS (UINT64_C(4) << 20)

/* The budgets in force (the defaults above until set). */
const struct orr_limits *orr_limits(void);
void orr_limits_set(const struct orr_limits *l);

#endif
