/* Component type tables: the built-in table (provided by hw/) and lookup;
 * and the command-line verbs the hardware library provides. */
#ifndef ORRERY_REGISTRY_H
#define ORRERY_REGISTRY_H

#include "orrery/sim.h"

/* NULL-terminated; defined by the hardware library (hw/registry.c). */
extern const struct orr_component_type *const orr_builtin_types[];

/* Find a type by name in a NULL-terminated table; NULL if absent. */
const struct orr_component_type *orr_type_find(const struct orr_component_type *const *types,
                                               const char *name);

/* A command-line verb that needs hardware models (the engine's CLI may not
 * name them, DESIGN.md §1): `orrery NAME ...` calls main with argv[0] =
 * NAME, and main returns the exit status (0 ok, 1 a check failed, 2 bad
 * input or usage). The CLI dispatches names it does not know itself here
 * and lists the summaries in its --help. */
struct orr_verb {
    const char *name;
    const char *summary; /* one line for `orrery --help` */
    int (*main)(int argc, char **argv);
};

/* Terminated by an entry with name NULL; defined in hw/registry.c. */
extern const struct orr_verb orr_builtin_verbs[];

#endif
