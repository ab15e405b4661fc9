/* Lock-free structures of kernel/sync on shared memory (kernel/sync/ring.c,
 * docs/sync.md): SPSC and MPMC rings, seqlocks and per-CPU counters. Every
 * shared word goes through the HAL accessors, so their coherence traffic
 * is what the machine makes it.
 *
 * SPSC ring at `at`: line 0 the consumer's head (its count of items
 * taken), line 1 the producer's tail (items put), then `cap` 8-byte slots
 * (cap a power of two). Each side keeps private copies: the index it
 * advances, the value it last published, and the other side's index as it
 * last read it. With `batch` > 1 a side publishes its index only every
 * `batch` items (and whenever it finds the ring full or empty, so the
 * other side can never wait on an unpublished index): the other side's
 * cached copy then goes stale for longer and it re-reads the shared line
 * that much less often. Invariant: 0 <= tail - head <= cap, as published.
 *
 * MPMC ring at `at` (a bounded queue after D. Vyukov): line 0 the enqueue
 * position, line 1 the dequeue position, then `cap` 16-byte cells {seq,
 * value}; cell i starts with seq i. A producer claims position p with a
 * CAS when cell p % cap has seq p, writes the value, then seq p + 1; a
 * consumer claims p when seq is p + 1 and releases the cell with
 * seq p + cap.
 *
 * Seqlock at `at`: u64 sequence (odd while a writer is inside), a ticket
 * lock serialising writers in the next line, the data after them. A reader
 * retries while the sequence was odd or changed across its reads.
 *
 * Per-CPU counter at `at`: one 64-byte line per CPU, each written only by
 * its CPU (a hit in steady state); the sum reads every line. */
#ifndef KERNEL_RING_H
#define KERNEL_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/hal.h"

struct ring_spsc {
    hal_paddr_t at;
    uint32_t cap; /* a power of two */
};
#define RING_SPSC_BYTES(cap) (128u + 8u * (uint64_t)(cap))
struct ring_side {
    uint64_t index;     /* items this side moved */
    uint64_t published; /* the index as it last stored it */
    uint64_t other;     /* the other side's index as it last read it */
    unsigned batch;     /* publish every `batch` items (1: every item) */
};
void ring_spsc_init(struct hal_cpu *c, const struct ring_spsc *r);
void ring_side_init(struct ring_side *s, unsigned batch);
bool ring_spsc_push(struct hal_cpu *c, const struct ring_spsc *r, struct ring_side *p, uint64_t v);
bool ring_spsc_pop(struct hal_cpu *c, const struct ring_spsc *r, struct ring_side *q, uint64_t *v);
/* Publish what this side has not published yet. */
void ring_spsc_flush_prod(struct hal_cpu *c, const struct ring_spsc *r, struct ring_side *p);
void ring_spsc_flush_cons(struct hal_cpu *c, const struct ring_spsc *r, struct ring_side *q);
/* The published invariant; 0 or a failure code. */
int ring_spsc_check(struct hal_cpu *c, const struct ring_spsc *r);

struct ring_mpmc {
    hal_paddr_t at;
    uint32_t cap; /* a power of two */
};
#define RING_MPMC_BYTES(cap) (128u + 16u * (uint64_t)(cap))
void ring_mpmc_init(struct hal_cpu *c, const struct ring_mpmc *r);
bool ring_mpmc_push(struct hal_cpu *c, const struct ring_mpmc *r, uint64_t v);
bool ring_mpmc_pop(struct hal_cpu *c, const struct ring_mpmc *r, uint64_t *v);

struct seqlock {
    hal_paddr_t at; /* sequence at +0, writers' lock at +64, data from +128 */
};
void seqlock_init(struct hal_cpu *c, const struct seqlock *s);
void seqlock_write_begin(struct hal_cpu *c, const struct seqlock *s);
void seqlock_write_end(struct hal_cpu *c, const struct seqlock *s);
uint64_t seqlock_read_begin(struct hal_cpu *c, const struct seqlock *s);
/* True if the reads since read_begin(seq) must be redone. */
bool seqlock_read_retry(struct hal_cpu *c, const struct seqlock *s, uint64_t seq);

struct pcpu_counter {
    hal_paddr_t at; /* ncpu lines */
    unsigned ncpu;
};
void pcpu_counter_init(struct hal_cpu *c, const struct pcpu_counter *k);
void pcpu_counter_add(struct hal_cpu *c, const struct pcpu_counter *k, int64_t v);
/* The sum over every CPU (exact when no CPU is adding). */
int64_t pcpu_counter_sum(struct hal_cpu *c, const struct pcpu_counter *k);

/* --- the ring benchmark ---------------------------------------------------------
 * spsc: CPU `producer` puts `items` items into a ring of `cap` slots that
 * CPU `consumer` takes, each side publishing every `batch` items. mpmc:
 * the first `producers` CPUs put `items` items each, the next `consumers`
 * take items * producers / consumers each. Values are producer << 32 |
 * sequence: the consumers check per-producer order (spsc) and the total.
 * Phases as rcu_bench's: 0 setup and the start barrier, 1 the transfer
 * alone, 2 the checks and reports (ring.* on CPU 0: items, elapsed_ns,
 * full_waits, empty_waits, errors). Memory: `region` (RING_BENCH_BYTES). */
enum ring_kind { RING_SPSC = 0, RING_MPMC = 1 };
struct ring_bench_cfg {
    enum ring_kind kind;
    unsigned producer, consumer; /* spsc: the two CPUs */
    unsigned producers, consumers; /* mpmc */
    unsigned items, cap, batch;
    hal_paddr_t region;
};
#define RING_BENCH_BYTES(cap) (8u * 64u + RING_MPMC_BYTES(cap))
struct ring_bench_state {
    uint64_t moved, sum, full_waits, empty_waits, errors;
    hal_ns_t t0, elapsed;
};
int ring_bench(struct hal_cpu *c, const struct ring_bench_cfg *cfg, unsigned phase,
               struct ring_bench_state *st);

#endif
