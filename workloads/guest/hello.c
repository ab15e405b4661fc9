/* hello: each core writes one line and exits 0. */
#include "guest.h"

int main(long core, long ncores)
{
    struct g_line l = {0};
    g_puts(&l, "hello from core ");
    g_putu(&l, (uint64_t)core);
    g_puts(&l, " of ");
    g_putu(&l, (uint64_t)ncores);
    g_puts(&l, "\n");
    g_flush(&l);
    return 0;
}
