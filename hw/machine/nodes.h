/* Building config nodes in memory, for builders that expand one section of
 * a scenario into component configs. Nodes live in an arena owned by the
 * simulation (freed with it), because parsed parameters point into them. */
#ifndef HW_MACHINE_NODES_H
#define HW_MACHINE_NODES_H

#include "orrery/config.h"
#include "orrery/sim.h"

struct nodes;

struct nodes *nodes_arena(struct orr_sim *s);
struct orr_node *nodes_map(struct nodes *a, const struct orr_mark *mark);
struct orr_node *nodes_seq(struct nodes *a, const struct orr_mark *mark);
struct orr_node *nodes_scalar(struct nodes *a, const struct orr_mark *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append to a SEQ, or put key: value into a MAP (replacing an existing key). */
void nodes_push(struct nodes *a, struct orr_node *seq, struct orr_node *item);
void nodes_put(struct nodes *a, struct orr_node *map, const char *key, struct orr_node *value);
/* A MAP with every entry of src except the keys listed (NULL-terminated). */
struct orr_node *nodes_copy_except(struct nodes *a, const struct orr_node *src,
                                   const char *const *except);

#endif
