/* Component type tables: the built-in table (provided by hw/) and lookup;
 * the command-line verbs the hardware library provides; and the state
 * machines it can describe for pictures. */
#ifndef ORRERY_REGISTRY_H
#define ORRERY_REGISTRY_H

#include "orrery/fsm.h"
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

/* A family of state machines whose definitions live in the hardware
 * library (a coherence protocol's tables), exported as neutral data
 * (orrery/fsm.h) so the CLI and analysis/ can draw them without including
 * hw/ headers. `orrery graph --KIND NAME` selects one. */
struct orr_fsm_source {
    const char *kind;    /* "protocol" */
    const char *summary; /* one line for help text */
    /* The names build accepts, joined with ", " into buf (always
     * NUL-terminated); returns buf. */
    const char *(*names)(char *buf, size_t n);
    /* Fill out (caller frees with orr_fsm_free) with machine `name`. view
     * NULL is the main machine (a protocol's cache controller); a source
     * may offer named secondary views ("home": the protocol's home agent).
     * Returns 0, or ORR_ENOENT for an unknown name or view with a sentence
     * in err naming what is accepted; out is then empty. Deterministic:
     * the same arguments give the same machine, states and edges in the
     * same order. */
    int (*build)(const char *name, const char *view, struct orr_fsm *out, char *err, size_t n);
};

/* Terminated by an entry with kind NULL; defined in hw/registry.c. */
extern const struct orr_fsm_source orr_builtin_fsms[];

#endif
