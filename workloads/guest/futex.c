/* futex: core 0 sleeps in FUTEX_WAIT until core 1, after some work and a
 * few sched_yields, sets the word and wakes it; both report sim time. */
#include "guest.h"

static atomic_int word;
static volatile long work;

int main(long core, long ncores)
{
    (void)ncores;
    struct g_line l = {0};
    uint64_t t0 = g_clock_ns();
    if (core == 0) {
        while (atomic_load(&word) == 0)
            g_futex_wait(&word, 0);
        g_puts(&l, "core 0 woken after ");
        g_putu(&l, g_clock_ns() - t0);
        g_puts(&l, " ns\n");
    } else if (core == 1) {
        for (long i = 0; i < 2000; i++)
            work += i;
        for (int i = 0; i < 3; i++)
            g_yield();
        atomic_store(&word, 1);
        long n = g_futex_wake(&word, 1);
        g_puts(&l, "core 1 woke ");
        g_putu(&l, (uint64_t)n);
        g_puts(&l, " waiter(s)\n");
    }
    g_flush(&l);
    return 0;
}
