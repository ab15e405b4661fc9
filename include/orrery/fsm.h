/* A finite-state machine as plain data: named states and labelled edges.
 *
 * This is the neutral form in which a state machine defined somewhere the
 * engine and analysis may not look (a coherence protocol's tables live in
 * hw/cache, DESIGN.md §1) crosses to code that draws or checks it
 * (analysis/graph.c). A provider (hw/registry.h: orr_builtin_fsms) fills one;
 * the consumer reads it and frees it with orr_fsm_free.
 *
 * Invariants of a filled machine (orr_graph_fsm rejects a machine that
 * breaks them with ORR_EINVAL):
 *   1. every edge's from and to are < nState;
 *   2. every state's group is < nGroup, or nGroup is 0 (no groups);
 *   3. state names are unique and non-NULL; labels may be NULL (no label).
 * One edge is one table cell: several edges may join the same pair of
 * states, and a renderer may merge them into one (orr_graph_fsm does). */
#ifndef ORRERY_FSM_H
#define ORRERY_FSM_H

#include <stddef.h>
#include <stdlib.h>

/* State flags. */
#define ORR_FSM_STABLE (1u << 0)  /* a state the machine rests in; others are transient */
#define ORR_FSM_INITIAL (1u << 1) /* where the machine starts */

struct orr_fsm_state {
    char *name;     /* "IS_D" */
    unsigned flags; /* ORR_FSM_* */
    unsigned group; /* index into azGroup (0 when nGroup is 0) */
};

struct orr_fsm_edge {
    unsigned from, to; /* state indices; from == to is a self-loop */
    char *label;       /* "PROBE_S / ACK_DATA", or NULL */
};

/* Every pointer is heap-owned by the machine (orr_fsm_free frees it all). */
struct orr_fsm {
    char *name;    /* "moesi-dir" */
    char *title;   /* one line for a picture's caption, or NULL */
    size_t nGroup; /* clusters the states fall into; 0 = none */
    char **azGroup;
    size_t nState;
    struct orr_fsm_state *aState;
    size_t nEdge;
    struct orr_fsm_edge *aEdge;
};

static inline void orr_fsm_free(struct orr_fsm *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nGroup; i++)
        free(f->azGroup[i]);
    for (size_t i = 0; i < f->nState; i++)
        free(f->aState[i].name);
    for (size_t i = 0; i < f->nEdge; i++)
        free(f->aEdge[i].label);
    free(f->azGroup);
    free(f->aState);
    free(f->aEdge);
    free(f->name);
    free(f->title);
    *f = (struct orr_fsm){0};
}

#endif
