/* loop: the benchmark kernel, an L1-resident loop: each core sums its own
 * 4 KiB array REPS times (every access an L1 hit after the first pass). */
#include "guest.h"

#define WORDS 512
#define REPS 4000

static long arr[8][WORDS];

int main(long core, long ncores)
{
    (void)ncores;
    long *a = arr[core & 7];
    for (long i = 0; i < WORDS; i++)
        a[i] = i;
    long s = 0;
    for (long r = 0; r < REPS; r++)
        for (long i = 0; i < WORDS; i++)
            s += a[i] ^ r;
    struct g_line l = {0};
    g_puts(&l, "loop: ");
    g_putu(&l, (uint64_t)s);
    g_puts(&l, "\n");
    g_flush(&l);
    return 0;
}
