/* sum: every core adds 1..N to one shared counter with atomic
 * fetch-and-add (amoadd / ldxr-stxr); core 0 checks the total is exact. */
#include "guest.h"

#define N 1000

static atomic_long total;
static struct g_barrier bar;

int main(long core, long ncores)
{
    long sense = 0;
    for (long i = 1; i <= N; i++)
        atomic_fetch_add(&total, i);
    g_barrier_wait(&bar, ncores, &sense);
    if (core)
        return 0;
    uint64_t want = (uint64_t)ncores * N * (N + 1) / 2, got = (uint64_t)atomic_load(&total);
    struct g_line l = {0};
    g_puts(&l, "sum: ");
    g_putu(&l, got);
    g_puts(&l, got == want ? " (exact)\n" : " (WRONG)\n");
    g_flush(&l);
    return got == want ? 0 : 1;
}
