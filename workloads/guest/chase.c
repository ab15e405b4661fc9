/* chase: a pointer chase through 256 KiB (a random single cycle over 4096
 * 64-byte nodes, Sattolo's shuffle with a fixed LCG), run on core 0:
 * every step is a dependent load that misses the L1. */
#include "guest.h"

#define NODES 4096
#define STEPS 4000

struct node {
    struct node *next;
    long pad[7];
};
static struct node nodes[NODES];
static uint32_t perm[NODES];

int main(long core, long ncores)
{
    (void)ncores;
    if (core)
        return 0;
    uint64_t s = 12345;
    for (uint32_t i = 0; i < NODES; i++)
        perm[i] = i;
    for (uint32_t i = NODES - 1; i > 0; i--) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        uint32_t j = (uint32_t)(s >> 33) % i;
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (uint32_t i = 0; i < NODES; i++)
        nodes[perm[i]].next = &nodes[perm[(i + 1) % NODES]];
    uint64_t t0 = g_clock_ns();
    struct node *p = &nodes[0];
    for (long i = 0; i < STEPS; i++)
        p = p->next;
    uint64_t t1 = g_clock_ns();
    struct g_line l = {0};
    g_puts(&l, "chase: ");
    g_putu(&l, STEPS);
    g_puts(&l, " steps, end node ");
    g_putu(&l, (uint64_t)(p - nodes));
    g_puts(&l, ", ");
    g_putu(&l, (t1 - t0) / STEPS);
    g_puts(&l, " ns per step\n");
    g_flush(&l);
    return 0;
}
