/* Component type tables: the built-in table (provided by hw/) and lookup. */
#ifndef ORRERY_REGISTRY_H
#define ORRERY_REGISTRY_H

#include "orrery/sim.h"

/* NULL-terminated; defined by the hardware library (hw/registry.c). */
extern const struct orr_component_type *const orr_builtin_types[];

/* Find a type by name in a NULL-terminated table; NULL if absent. */
const struct orr_component_type *orr_type_find(const struct orr_component_type *const *types,
                                               const char *name);

#endif
