/* The coherence monitor: a per-simulation observer that every private
 * cache of a machine reports to, checking the two coherence invariants at
 * the instant they could break:
 *
 *   1. Single writer or multiple readers: for every line, at every instant,
 *      either one cache holds write permission and no other cache holds any
 *      permission, or any number hold read permission only.
 *   2. Data value: every load performed in a cache returns the value of the
 *      latest store performed to that location, in the one order in which
 *      stores to the line were performed (a shadow copy of memory kept
 *      here, updated at each store's perform instant).
 *
 * A violation fails the run (orr_sim_fail) with the line, the agents and
 * the last coherence messages seen (the trace tail). The monitor only
 * observes: it never changes what a model does. Cost: one hash lookup per
 * permission change and per performed access, so checking is a knob.
 *
 * A library (an observer object, orrery/sim.h), not a component type. */
#ifndef HW_CACHE_COHMON_H
#define HW_CACHE_COHMON_H

#include <stdbool.h>
#include <stdint.h>

#include "orrery/sim.h"

struct cohmon;

/* The simulation's monitor (created on first use). */
struct cohmon *cohmon_get(struct orr_sim *s);

/* Agent's permission on line changes from old to new (0 none, 1 read, 2
 * write). Fails the run through c if the single-writer invariant breaks. */
void cohmon_perm(struct cohmon *m, struct orr_component *c, unsigned agent, uint64_t line,
                 unsigned old, unsigned perm);
/* A store of size bytes (1..8) performed at addr / a load performed at
 * addr that returned value. Whole lines: cohmon_store_line and
 * cohmon_load_line. */
void cohmon_store(struct cohmon *m, uint64_t addr, unsigned size, uint64_t value);
void cohmon_load(struct cohmon *m, struct orr_component *c, unsigned agent, uint64_t addr,
                 unsigned size, uint64_t value);
/* A whole-line store / load of the ORR_LINE_BYTES bytes at line (64-byte
 * aligned); the load fails the run if any byte differs from the latest
 * store to it. */
void cohmon_store_line(struct cohmon *m, uint64_t line, const uint8_t *data);
void cohmon_load_line(struct cohmon *m, struct orr_component *c, unsigned agent, uint64_t line,
                      const uint8_t *data);
/* The latest value stored at addr (size bytes): memory as the coherence
 * order leaves it, for litmus tests' final-state conditions. */
uint64_t cohmon_peek(struct cohmon *m, uint64_t addr, unsigned size);
/* Remember a coherence message for the trace tail of a failure report. */
void cohmon_log(struct cohmon *m, orr_time_t t, unsigned agent, unsigned type, uint64_t line,
                bool sent);
/* The last n logged messages, oldest first, as text lines into buf. */
void cohmon_tail(const struct cohmon *m, char *buf, size_t n);

#endif
