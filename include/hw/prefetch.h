/* Hardware prefetchers of a private cache hierarchy (pcache.h), as data: a
 * table of prefetcher types (pf_types[]), each a training rule with default
 * parameters, and per-level units built from a level's `prefetch:` list.
 *
 * A unit only proposes lines. It observes the accesses that reach its
 * level (pf_observe) and calls back for each line it wants fetched; the
 * cache decides whether the prefetch can go (a free MSHR or superqueue
 * entry, the line not already present) and answers PF_ISSUED, PF_PRESENT
 * or PF_DROPPED. The unit learns from the outcome of its prefetches
 * (pf_outcome: used in time, late, or evicted unused) and throttles itself
 * when its accuracy is low.
 *
 * Invariants:
 *   1. A unit proposes lines only inside the 4 KiB page of the access that
 *      triggered it (hardware prefetchers do not cross pages: the next
 *      page's physical address is unknown to them).
 *   2. Training reads only the access stream and the outcomes: no random
 *      numbers, no time, so prefetching is as deterministic as the stream.
 *   3. A throttled unit still proposes one line on one trigger in
 *      PF_SAMPLE, so it keeps measuring its accuracy and turns itself back
 *      on when it improves. */
#ifndef HW_CACHE_PREFETCH_H
#define HW_CACHE_PREFETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "orrery/params.h"

enum pf_kind { PF_NEXT_LINE, PF_IP_STRIDE, PF_STREAM, PF_NKIND };

enum pf_level { PF_L1, PF_L2, PF_NLEVEL };

/* What the cache did with a proposed line. */
enum pf_result { PF_ISSUED, PF_PRESENT, PF_DROPPED };

/* How a prefetched line ended. */
enum pf_outcome { PF_USEFUL, PF_LATE, PF_USELESS };

struct pf_unit;
/* The cache's side: try to prefetch line for unit u (exclusive: ask for
 * write permission). */
typedef enum pf_result (*pf_issue_fn)(void *arg, struct pf_unit *u, uint64_t line,
                                      bool exclusive);

/* One access seen by a level: its line, the request identity that trains
 * IP-indexed tables (the program counter, or the workload's access-site
 * id; 0 when the requester has none), and whether the level missed. */
struct pf_access {
    uint64_t line; /* line address (byte address of the line) */
    uint32_t pc;
    bool miss;
    bool write;    /* a store or atomic: its stream's prefetches ask for write permission */
};

/* A prefetcher type: a row of the table. */
struct pf_type {
    const char *name;
    const char *help;
    uint32_t degree;   /* lines proposed per trigger (default) */
    uint32_t distance; /* lines ahead of the access, at full confidence (default) */
    uint32_t train;    /* confirming accesses before it proposes anything */
    uint32_t entries;  /* table entries: streams or IPs tracked */
    void (*observe)(struct pf_unit *u, const struct pf_access *a, pf_issue_fn issue, void *arg);
};

extern const struct pf_type pf_types[PF_NKIND];
extern const char *const pf_type_names[]; /* for the `type` key */
extern const char *const pf_level_names[PF_NLEVEL]; /* "l1", "l2" */

/* The keys of one `prefetch:` entry (docs/memory.md). */
extern const struct orr_param pf_entry_params[];

struct pf_entry; /* a tracked stream or IP (prefetch.c) */

struct pf_unit {
    enum pf_kind kind;
    enum pf_level level;
    uint32_t degree, distance, train, nEntry;
    bool exclusive;           /* every prefetch takes write permission; else only a
                               * stream (or IP) whose last access wrote does (RFO
                               * prefetching, as stores need) */
    struct pf_entry *aEntry;
    uint64_t clock;           /* accesses seen: LRU stamps */
    uint32_t nGood, nBad;     /* recent outcomes, halved every PF_WINDOW */
    uint32_t nSkip;           /* triggers since the last one a throttled unit used */
    bool throttled;
    uint32_t nLeft;           /* lines this trigger may still propose (invariant 3) */
};

/* Outcomes between halvings of a unit's accuracy counters; accuracy below
 * 1/PF_MIN_ACCURACY_INV (with at least PF_WINDOW/2 outcomes seen)
 * throttles the unit to one line on one trigger in PF_SAMPLE. */
#define PF_WINDOW 64
#define PF_MIN_ACCURACY_INV 4
#define PF_SAMPLE 16

/* Checkpoint/restore of a unit's tables and counters. */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void pf_unit_save(const struct pf_unit *u, struct orr_ckpt_writer *w);
void pf_unit_restore(struct pf_unit *u, struct orr_ckpt_reader *r);

/* Build a unit from one parsed `prefetch:` entry. Returns 0 or ORR_ENOMEM. */
int pf_unit_init(struct pf_unit *u, enum pf_level level, const struct orr_params *entry);
void pf_unit_free(struct pf_unit *u);
/* An access reached u's level: train, and propose lines through issue. */
void pf_observe(struct pf_unit *u, const struct pf_access *a, pf_issue_fn issue, void *arg);
/* A line u prefetched was used in time, late, or dropped unused. */
void pf_outcome(struct pf_unit *u, enum pf_outcome o);

/* The load-time checks of a level's list (keypath.key.prefetch): degree
 * 1..mshrs, where mshrs is what the level can have in flight (the L1's
 * miss buffers; the superqueue for the L2). Returns 0 or ORR_ESCHEMA. */
int pf_check_level(const struct orr_params *level, const char *keypath, const char *key,
                   uint32_t mshrs, struct orr_diag *d);

#endif
