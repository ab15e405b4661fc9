/* The ticket and MCS locks (include/kernel/sync.h): every access to a lock
 * word is a HAL shared access, so its cost is the coherence traffic it
 * causes. Spin loops re-read with hal_load (a hit while the line stays
 * shared) and call hal_relax between reads. */
#include "kernel/hal.h"
#include "kernel/sync.h"

static uint64_t load(struct hal_cpu *c, hal_paddr_t pa, unsigned size)
{
    uint64_t v = 0;
    if (hal_load(c, pa, size, &v) != HAL_OK)
        hal_panic(c, "sync: a lock word is not in memory");
    return v;
}

static void store(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t v)
{
    if (hal_store(c, pa, size, v) != HAL_OK)
        hal_panic(c, "sync: a lock word is not in memory");
}

static uint64_t atomic(struct hal_cpu *c, enum hal_atomic_op op, hal_paddr_t pa, uint64_t v,
                       uint64_t expect)
{
    uint64_t old = 0;
    if (hal_atomic(c, op, pa, 8, v, expect, &old) != HAL_OK)
        hal_panic(c, "sync: an atomic on a lock word failed");
    return old;
}

/* --- ticket: u32 next at +0, u32 owner at +4 -------------------------------- */

void sync_ticket_lock(struct hal_cpu *c, hal_paddr_t lock)
{
    uint64_t old = 0;
    if (hal_atomic(c, HAL_ATOMIC_FAA, lock, 4, 1, 0, &old) != HAL_OK)
        hal_panic(c, "sync: an atomic on a lock word failed");
    uint32_t ticket = (uint32_t)old;
    while ((uint32_t)load(c, lock + 4, 4) != ticket)
        hal_relax(c);
}

void sync_ticket_unlock(struct hal_cpu *c, hal_paddr_t lock)
{
    uint32_t owner = (uint32_t)load(c, lock + 4, 4);
    store(c, lock + 4, 4, (uint32_t)(owner + 1));
}

int sync_ticket_check(struct hal_cpu *c, hal_paddr_t lock, unsigned holders)
{
    uint32_t next = (uint32_t)load(c, lock, 4), owner = (uint32_t)load(c, lock + 4, 4);
    if ((uint32_t)(next - owner) != holders)
        return __LINE__;
    return 0;
}

/* --- MCS: u64 tail; a node is u64 next at +0, u64 locked at +8 -------------- */

void sync_mcs_lock(struct hal_cpu *c, hal_paddr_t lock, hal_paddr_t node)
{
    store(c, node, 8, 0);     /* next */
    store(c, node + 8, 8, 1); /* locked */
    uint64_t pred = atomic(c, HAL_ATOMIC_XCHG, lock, node, 0);
    if (!pred)
        return; /* the lock was free */
    store(c, pred, 8, node);  /* link behind the predecessor */
    while (load(c, node + 8, 8))
        hal_relax(c);
}

void sync_mcs_unlock(struct hal_cpu *c, hal_paddr_t lock, hal_paddr_t node)
{
    uint64_t next = load(c, node, 8);
    if (!next) {
        /* no successor yet: free the lock, unless one is arriving */
        if (atomic(c, HAL_ATOMIC_CAS, lock, 0, node) == node)
            return;
        while (!(next = load(c, node, 8))) /* it has swapped tail, not linked yet */
            hal_relax(c);
    }
    store(c, next + 8, 8, 0); /* hand over */
}

int sync_mcs_check(struct hal_cpu *c, hal_paddr_t lock, unsigned holders)
{
    uint64_t tail = load(c, lock, 8);
    if ((tail != 0) != (holders != 0))
        return __LINE__;
    return 0;
}
