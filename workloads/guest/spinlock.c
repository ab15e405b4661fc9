/* spinlock: a test-and-test-and-set lock (amoswap / ldaxr-stxr) guards a
 * plain counter; core 0 checks no increment was lost. */
#include "guest.h"

#define K 300

static atomic_int lock;
static long counter;
static struct g_barrier bar;

static void acquire(void)
{
    while (atomic_exchange_explicit(&lock, 1, memory_order_acquire))
        while (atomic_load_explicit(&lock, memory_order_relaxed))
            ;
}

static void release(void) { atomic_store_explicit(&lock, 0, memory_order_release); }

int main(long core, long ncores)
{
    long sense = 0;
    for (long i = 0; i < K; i++) {
        acquire();
        counter++;
        release();
    }
    g_barrier_wait(&bar, ncores, &sense);
    if (core)
        return 0;
    struct g_line l = {0};
    g_puts(&l, "spinlock: counter ");
    g_putu(&l, (uint64_t)counter);
    g_puts(&l, counter == ncores * K ? " (exact)\n" : " (LOST UPDATES)\n");
    g_flush(&l);
    return counter == ncores * K ? 0 : 1;
}
