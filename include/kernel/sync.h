/* Spin locks in shared memory: a ticket lock and an MCS queue lock, the
 * first residents of kernel/sync (docs/kernel-platform.md). Lock words live
 * at physical addresses and every access goes through the HAL's shared
 * accessors (hal_load, hal_store, hal_atomic), so on the simulated machine
 * what a lock costs is what the caches and the coherence protocol make it
 * cost: nothing here is annotated.
 *
 * Layouts (each in its own 64-byte line, which callers provide):
 *   ticket   u32 next (the next ticket handed out), u32 owner (the ticket
 *            that holds the lock), in one line: a taker increments next
 *            with FAA, then spins until owner equals its ticket; the holder
 *            releases by storing owner + 1.
 *   mcs      u64 tail (the last waiter's queue node, 0 = free); a node is
 *            u64 next (the node after it, 0 = none) and, in the same line,
 *            u64 locked (1 while it must wait). A taker XCHGs its node into
 *            tail and, if there was a predecessor, links itself and spins on
 *            its own node's `locked` — a line no other waiter touches; the
 *            holder hands over by clearing its successor's `locked`.
 *
 * Invariants, checked by sync_*_check on a quiescent lock (no CPU inside
 * lock or unlock): ticket: owner <= next and next - owner <= waiters + 1;
 * mcs: tail == 0 exactly when no CPU holds or waits for the lock. */
#ifndef KERNEL_SYNC_H
#define KERNEL_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/hal.h"

void sync_ticket_lock(struct hal_cpu *c, hal_paddr_t lock);
void sync_ticket_unlock(struct hal_cpu *c, hal_paddr_t lock);
/* 0 if the quiescent lock is consistent with `holders` CPUs holding it
 * (0 or 1), else a failure code (a line number). */
int sync_ticket_check(struct hal_cpu *c, hal_paddr_t lock, unsigned holders);

void sync_mcs_lock(struct hal_cpu *c, hal_paddr_t lock, hal_paddr_t node);
void sync_mcs_unlock(struct hal_cpu *c, hal_paddr_t lock, hal_paddr_t node);
int sync_mcs_check(struct hal_cpu *c, hal_paddr_t lock, unsigned holders);

/* The contention benchmark every CPU of a run calls with the same cfg: each
 * of the first `cpus` CPUs takes the lock `iterations` times, holding it
 * for `critical` cycles of work and incrementing a shared counter inside;
 * the others only take part in the start and end barriers. Memory:
 * `region` (at least SYNC_BENCH_BYTES(ncpu), line-aligned, zeroed) holds
 * the lock, the counter, the barriers and the MCS nodes. CPU 0 reports
 * (hal_report):
 *   sync.acquisitions   all acquisitions
 *   sync.elapsed_ns     from leaving the start barrier to leaving the end one
 *   sync.counter        the shared counter (== acquisitions: mutual exclusion)
 *   sync.handoff_ps     mean time from one unlock() returning to the next
 *                       lock() returning (on another CPU when contended)
 * and each CPU sync.cpu_acquisitions. Returns 0, or a failure code when
 * the counter or a lock invariant is wrong. */
enum sync_lock_kind {
    SYNC_TICKET = 0,
    SYNC_MCS = 1,
    SYNC_NONE = 2, /* no lock: the increments race (a planted bug the check must catch) */
};
struct sync_bench_cfg {
    enum sync_lock_kind lock;
    unsigned cpus;        /* CPUs that contend, 1..hal_cpu_count */
    unsigned iterations;  /* per contending CPU */
    uint32_t critical;    /* cycles of work while holding the lock */
    hal_paddr_t region;
};
#define SYNC_BENCH_BYTES(ncpu) ((uint64_t)(4 + 2 * (ncpu)) * 64)
int sync_bench(struct hal_cpu *c, const struct sync_bench_cfg *cfg);

#endif
