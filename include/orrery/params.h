/* Parameter schemas. A component type (and each top-level scenario section)
 * declares its keys statically: name, type, default, constraints, help. The
 * loader validates a MAP node against the schema, so every key is known,
 * typed and documented, and `orrery list` prints the same table. */
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
};

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
};

/* Parsed values of one schema. Marks say where each value came from (the
 * default's mark is the owning node's). */
struct orr_params {
    const struct orr_param *schema; /* terminated by an entry with name NULL */
    size_t n;
    union orr_pval *v;
    struct orr_mark *marks;
    bool *given; /* true if present in the source, false if defaulted */
};

/* Validate map against schema and fill out. keypath names map in messages
 * ("components.gen0"). Keys listed in skip (NULL-terminated, may be NULL)
 * are allowed and ignored (e.g. "type"). Unknown keys, wrong types, bad
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

/* Typed accessors; name must exist in the schema with a matching type
 * (a programming error otherwise: aborts, in every build type). */
bool orr_param_bool(const struct orr_params *p, const char *name);
int64_t orr_param_int(const struct orr_params *p, const char *name);
uint64_t orr_param_u64(const struct orr_params *p, const char *name); /* UINT and unit types */
const char *orr_param_str(const struct orr_params *p, const char *name);
unsigned orr_param_enum(const struct orr_params *p, const char *name);
const char *const *orr_param_list(const struct orr_params *p, const char *name, size_t *n);
const struct orr_node *orr_param_map(const struct orr_params *p, const char *name); /* MAP/SEQ */
const struct orr_mark *orr_param_mark(const struct orr_params *p, const char *name);
bool orr_param_given(const struct orr_params *p, const char *name);

/* The closest of nName names to word within two edits (a transposition
 * counts as one; the first wins a tie), or NULL: for "did you mean". */
const char *orr_suggest(const char *word, const char *const *aName, size_t nName);

/* "time", "size", "one of a, b, c" ...: what a type expects, for messages
 * and `orrery list`. Writes into buf. */
const char *orr_ptype_describe(const struct orr_param *prm, char *buf, size_t n);

#endif
