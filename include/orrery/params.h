/* Parameter schemas. A component type (and each top-level scenario section)
 * declares its keys statically: name, type, default, constraints, help. The
 * loader validates a MAP node against the schema, so every key is known,
 * typed and documented, and `orrery list` prints the same table.
 *
 * One schema per group of keys: a group that several types share (a cache
 * level's size, ways and latency; a core's timing keys) is one table,
 * spliced flat into each schema that accepts it (ORR_P_INCLUDE) or nested
 * under a key (ORR_P_GROUP, a map; ORR_P_GROUPS, a list of maps). Its
 * defaults are therefore declared once.
 *
 * A builder that expands a section into components passes them validated,
 * typed values (struct orr_params), never text to parse again: it parses
 * the user's nodes against the child's own schema (values keep the user's
 * file:line:col), sets what it computes with orr_param_set_*, and hands the
 * result to orr_sim_add_component_params. */
#ifndef ORRERY_PARAMS_H
#define ORRERY_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/config.h"
#include "orrery/diag.h"

enum orr_ptype {
    ORR_P_BOOL,   /* true/false */
    ORR_P_INT,    /* signed 64-bit decimal */
    ORR_P_UINT,   /* unsigned 64-bit decimal */
    ORR_P_TIME,   /* orr_unit TIME, value in ps */
    ORR_P_CYCLES, /* orr_unit CYCLES */
    ORR_P_FREQ,   /* Hz */
    ORR_P_SIZE,   /* bytes */
    ORR_P_BW,     /* bit/s */
    ORR_P_STRING, /* any scalar */
    ORR_P_ENUM,   /* one of choices[]; value is the index */
    ORR_P_LIST,   /* a sequence of scalars (strings) */
    ORR_P_MAP,    /* any mapping, validated by the owner (kept as a node) */
    ORR_P_SEQ,    /* any sequence, validated by the owner (kept as a node; an
                     empty flow mapping "{}" is accepted as an empty default) */
    ORR_P_ADDR,   /* a physical address: 0x... hex, decimal, or a size (4GiB) */
    ORR_P_GROUP,  /* a mapping validated against the schema `group` (default
                     "{}": every key at its default) */
    ORR_P_GROUPS, /* a list of mappings, each validated against `group`
                     (default "[]": none) */
    ORR_P_INCLUDE, /* not a key: the keys of `group` belong to this schema too,
                      as if written here (name "", no default) */
    ORR_P_UINTS,  /* a list of non-negative integers (bounds apply to each; a
                     default is "[]" or "[1, 2]") */
};

enum {
    ORR_PF_POSITIVE = 1u << 0, /* numeric value must be > 0 */
    ORR_PF_NONEMPTY = 1u << 1, /* STRING/LIST must not be empty */
};

struct orr_param {
    const char *name;
    enum orr_ptype type;
    const char *def;  /* default in source form ("10ns"); NULL means required */
    uint32_t flags;   /* ORR_PF_* */
    const char *help; /* one line, shown by `orrery list` */
    const char *const *choices; /* ENUM: NULL-terminated */
    uint64_t min, max;          /* inclusive numeric bounds in base units when max != 0
                                 * (INT reads them as int64_t) */
    const struct orr_param *group; /* GROUP, GROUPS, INCLUDE: the sub-schema */
};

struct orr_params;

union orr_pval {
    bool b;
    int64_t i;
    uint64_t u;      /* UINT, TIME, CYCLES, FREQ, SIZE, BW */
    unsigned e;      /* ENUM index */
    const char *s;   /* STRING (points into the config tree) */
    struct {
        size_t n;
        const char **v; /* LIST items (point into the config tree) */
    } list;
    const struct orr_node *map; /* MAP/SEQ, or NULL when absent */
    struct orr_params *group;   /* GROUP: the nested values */
    struct {
        size_t n;
        struct orr_params *v;   /* GROUPS: one per list item */
    } groups;
    struct {
        size_t n;
        uint64_t *v;            /* UINTS */
    } uints;
};

/* Parsed values of one schema. Marks say where each value came from (the
 * default's mark is the owning node's). Parsed strings, list items and MAP
 * and SEQ values point into the config tree (valid while it lives);
 * defaults and values set by code are owned by the params. */
struct orr_params {
    const struct orr_param *schema; /* as declared, terminated by name NULL */
    size_t n;                       /* keys, INCLUDE entries spliced in */
    const struct orr_param **aSpec; /* the n keys, in schema order */
    union orr_pval *v;
    struct orr_mark *marks;
    bool *given; /* true if present in the source or set by a builder */
    bool *set;   /* a value is present (false: a required key not yet set) */
    bool *owned; /* STRING: the text is the params' own copy */
    struct orr_mark mark; /* where the mapping is (or its owner, when absent) */
};

/* Validate map against schema and fill out. keypath names map in messages
 * ("components.gen0"). Keys listed in skip (NULL-terminated, may be NULL)
 * are allowed and ignored (e.g. "type"); "*" in skip ignores every key the
 * schema does not know (a builder reading its own key of a map whose other
 * keys a component validates). Unknown keys, wrong types, bad
 * units, missing required keys and bound violations are each reported in d;
 * returns ORR_ESCHEMA if any was found, leaving out empty (safe to free).
 * map may be NULL (all defaults). Unknown-key messages list the valid keys
 * and suggest a close match. Defaults use the same syntax as values; a LIST
 * default is "a, b" or "[a, b]"; a MAP or SEQ default must be empty ("",
 * "{}" or "[]") and leaves the value NULL (absent). NONEMPTY also applies to
 * MAP and SEQ values. */
int orr_params_parse(const struct orr_param *schema, const struct orr_node *map,
                     const char *keypath, const char *const *skip, struct orr_params *out,
                     struct orr_diag *d);
void orr_params_free(struct orr_params *p);

/* ---- building values in code (for builders) ------------------------------ */

/* Every key at its default, marks at mark (may be NULL); required keys are
 * left unset until a setter gives them. Returns 0 or ORR_ENOMEM. */
int orr_params_defaults(struct orr_params *out, const struct orr_param *schema,
                        const struct orr_mark *mark);
/* A deep copy of src (MAP/SEQ values still point at the same nodes).
 * Returns 0 or ORR_ENOMEM (dst then empty). */
int orr_params_copy(struct orr_params *dst, const struct orr_params *src);
/* Setters: the key must exist with a matching type (a programming error
 * otherwise: aborts). The value counts as given, marked at p->mark unless
 * the setter takes a mark. Bounds are checked by orr_params_check. */
void orr_param_set_u64(struct orr_params *p, const char *name, uint64_t v); /* UINT, units, ADDR */
void orr_param_set_int(struct orr_params *p, const char *name, int64_t v);
void orr_param_set_bool(struct orr_params *p, const char *name, bool v);
void orr_param_set_enum(struct orr_params *p, const char *name, unsigned v);
int orr_param_set_str(struct orr_params *p, const char *name, const char *s); /* copied */
/* LIST: n strings, copied. */
int orr_param_set_list(struct orr_params *p, const char *name, const char *const *v, size_t n);
/* UINTS: n values, copied. */
int orr_param_set_uints(struct orr_params *p, const char *name, const uint64_t *v, size_t n);
/* MAP/SEQ: a node that outlives p (the user's, or one in orr_sim_nodes). */
void orr_param_set_node(struct orr_params *p, const char *name, const struct orr_node *node);
/* GROUP: a copy of src (a params of the key's group schema). */
int orr_param_set_group(struct orr_params *p, const char *name, const struct orr_params *src);
/* GROUP: the nested values, to change in place. */
struct orr_params *orr_param_group_edit(struct orr_params *p, const char *name);
/* GROUPS: append an element with every key at its default (required keys
 * unset); returns it, or NULL when memory is short. */
struct orr_params *orr_param_groups_add(struct orr_params *p, const char *name);
/* Copy key `name` of src (same schema entry type) into p with its mark and
 * given flag: forwarding a user's value with its file:line:col. */
int orr_param_forward(struct orr_params *p, const char *name, const struct orr_params *src);
/* Forward every key of src whose declaration dst's schema shares (the same
 * struct orr_param, spliced in from one table): how a builder passes the
 * keys it accepts on behalf of a child, with their values and marks.
 * Returns 0 or ORR_ENOMEM. */
int orr_params_forward_all(struct orr_params *dst, const struct orr_params *src);
/* Every required key set and every value within its declared bounds
 * (recursively); errors go to d at the values' marks under keypath.
 * Returns 0 or ORR_ESCHEMA. */
int orr_params_check(const struct orr_params *p, const char *keypath, struct orr_diag *d);

/* Typed accessors; name must exist in the schema with a matching type
 * (a programming error otherwise: aborts, in every build type). */
bool orr_param_bool(const struct orr_params *p, const char *name);
int64_t orr_param_int(const struct orr_params *p, const char *name);
uint64_t orr_param_u64(const struct orr_params *p, const char *name); /* UINT and unit types */
const char *orr_param_str(const struct orr_params *p, const char *name);
unsigned orr_param_enum(const struct orr_params *p, const char *name);
const char *const *orr_param_list(const struct orr_params *p, const char *name, size_t *n);
const struct orr_node *orr_param_map(const struct orr_params *p, const char *name); /* MAP/SEQ */
const struct orr_params *orr_param_group(const struct orr_params *p, const char *name);
/* UINTS: the n values (NULL when n is 0). */
const uint64_t *orr_param_uints(const struct orr_params *p, const char *name, size_t *n);
/* GROUPS: the n parsed items (NULL when n is 0). */
const struct orr_params *orr_param_groups(const struct orr_params *p, const char *name, size_t *n);
/* True if name is a key of p's schema (includes spliced in). */
bool orr_param_has(const struct orr_params *p, const char *name);
const struct orr_mark *orr_param_mark(const struct orr_params *p, const char *name);
bool orr_param_given(const struct orr_params *p, const char *name);

/* The closest of nName names to word within two edits (a transposition
 * counts as one; the first wins a tie), or NULL: for "did you mean". */
const char *orr_suggest(const char *word, const char *const *aName, size_t nName);

/* "time", "size", "one of a, b, c" ...: what a type expects, for messages
 * and `orrery list`. Writes into buf. */
const char *orr_ptype_describe(const struct orr_param *prm, char *buf, size_t n);

/* The keys of a schema with INCLUDE entries spliced in, in order: calls
 * fn(arg, key) for each (GROUP and GROUPS keys are reported, not entered).
 * For tools that print or check schemas. */
void orr_schema_walk(const struct orr_param *schema,
                     void (*fn)(void *arg, const struct orr_param *key), void *arg);

/* Addresses (ORR_P_ADDR): "0x1f000" (hex), "4096" (decimal) or a size with
 * a unit ("4GiB"). Returns 0, or ORR_EPARSE with a sentence in *why (may be
 * NULL). */
int orr_addr_parse(const char *text, uint64_t *out, const char **why);

#endif
