/* The config tree: a scenario file parsed by libyaml into nodes that remember
 * where they came from, with `extends:` presets merged in and `--set`
 * overrides applied. Every later error about a value points back at the
 * file:line:col that produced it.
 *
 * Merge rule for `extends: PATH` (or a list of paths, applied in order; PATH
 * is relative to the file that names it): the base is loaded first, then the
 * extending file is laid over it. Mappings merge key by key, recursively;
 * scalars and sequences replace. Key order is that of first appearance.
 * A cycle of extends is an error. The `extends` key itself is removed from
 * the merged tree. */
#ifndef ORRERY_CONFIG_H
#define ORRERY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/diag.h"

enum orr_node_kind {
    ORR_NODE_SCALAR,
    ORR_NODE_MAP,
    ORR_NODE_SEQ,
};

struct orr_node {
    enum orr_node_kind kind;
    struct orr_mark mark;   /* where the value starts */
    /* SCALAR */
    char *scalar;           /* NUL-terminated text; "" for an empty/null value */
    bool quoted;            /* written in quotes in the source */
    /* MAP and SEQ */
    size_t n;
    size_t nAlloc;             /* room in the arrays (n <= nAlloc) */
    struct orr_node **aItem;   /* values (MAP) or items (SEQ) */
    char **aKey;               /* MAP only: keys, parallel to aItem */
    struct orr_mark *aKeyMark; /* MAP only: where each key is */
};

/* Storage for nodes: a bump allocator freed as a whole. */
struct orr_node_arena;

struct orr_config {
    struct orr_node *root; /* always a MAP after a successful load */
    char *path;            /* the top-level file as given */
    struct orr_node_arena *arena; /* owns every node and file name of the tree */
    size_t nFiles;         /* files read to load it: each once, however often named */
    /* every file the tree was read from: path first, then each preset
     * `extends:` named (as resolved from the naming file), each once */
    const char **aFile;
    size_t nFile;
};

/* Load path (and its presets). On error returns ORR_EPARSE (YAML syntax or a
 * refused feature: duplicate keys, anchors/aliases, tags, several documents),
 * ORR_ENOENT / ORR_EIO (a file cannot be read, or is not a regular file),
 * ORR_ESCHEMA (top level not a mapping, bad or cyclic extends, more than 16
 * levels of extends), ORR_ERANGE (over a budget of orrery/limits.h: a file
 * over scenario_bytes, an expanded config over config_nodes) or ORR_ENOMEM,
 * records messages in d and leaves cfg empty (safe to free). Each file is
 * read once however often it is named. */
int orr_config_load(struct orr_config *cfg, const char *path, struct orr_diag *d);

/* Parse YAML text held in memory; name is used in marks. Same contract. The
 * `extends` key is an error here unless base_dir is given. */
int orr_config_load_string(struct orr_config *cfg, const char *name, const char *text,
                           size_t len, const char *base_dir, struct orr_diag *d);

/* Apply one override "key.path=value". Path components are map keys, or
 * decimal indices into sequences. The value is parsed as a YAML scalar or a
 * YAML flow collection ("[a, b]", "{x: 1}"). Missing map keys along the path
 * are created; descending into a scalar is an error. Marks on the new nodes
 * say file "<--set>", line 0, col = 1-based position in the argument.
 * Returns ORR_EINVAL (no '=', empty path component, top-level extends),
 * ORR_EPARSE (bad value) or ORR_ESCHEMA (index out of range or not a number,
 * key inside a scalar); the tree is unchanged on error. A zeroed cfg gets an
 * empty root first. */
int orr_config_set(struct orr_config *cfg, const char *assignment, struct orr_diag *d);

void orr_config_free(struct orr_config *cfg);

/* Look up a key in a MAP node; NULL if absent or node is not a MAP. */
const struct orr_node *orr_node_get(const struct orr_node *map, const char *key);
/* Same, returning the key's index in the map, or -1. */
long orr_node_index(const struct orr_node *map, const char *key);

/* A stable 64-bit hash (XXH3) of the tree's canonical form: keys in order,
 * scalars as text, structure explicit. Marks do not contribute. */
uint64_t orr_config_hash(const struct orr_node *root);

/* Write the canonical form as block YAML (for `--json`-free debugging and for
 * storing the effective scenario with a run). Returns a malloc'ed string. */
char *orr_config_dump(const struct orr_node *root);

/* Dotted path for messages: join(prefix, key) into a malloc'ed string. */
char *orr_keypath_join(const char *prefix, const char *key);

/* ---- building trees in code ----------------------------------------------
 * For code that composes a config from nodes it already holds — a builder
 * instantiating the user's own subtrees (a cluster's node templates), a
 * verb composing a scenario. Typed values a builder computes do not go
 * through text: it hands them to a component as parameters
 * (orrery/params.h, orr_sim_add_component_params). Nodes live in an arena
 * and are freed with it; a built tree may share nodes of other trees,
 * which it never modifies. Each call returns NULL (or ORR_ENOMEM) when
 * memory is short. */
struct orr_node_arena *orr_node_arena_new(void);
void orr_node_arena_free(struct orr_node_arena *a);
/* An empty MAP or SEQ, or a SCALAR holding a copy of text[0..len). */
struct orr_node *orr_node_new(struct orr_node_arena *a, enum orr_node_kind kind,
                              const struct orr_mark *mark);
struct orr_node *orr_node_new_scalar(struct orr_node_arena *a, const struct orr_mark *mark,
                                     const char *text, size_t len);
/* Append item to a SEQ. */
int orr_node_push(struct orr_node_arena *a, struct orr_node *seq, struct orr_node *item);
/* Put key: value into a MAP (replacing the value of an existing key);
 * keyMark (may be NULL: the value's mark) is where messages about the key
 * point. */
int orr_node_put(struct orr_node_arena *a, struct orr_node *map, const char *key,
                 const struct orr_mark *keyMark, struct orr_node *value);
/* A new MAP with every entry of src (a MAP) except the keys in except
 * (NULL-terminated, may be NULL); values are shared, not copied. */
struct orr_node *orr_node_copy_except(struct orr_node_arena *a, const struct orr_node *src,
                                      const char *const *except);

#endif
