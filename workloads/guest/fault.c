/* fault: a load from an address outside guest RAM (the run must fail
 * with the PC and the address, and the simulator must not crash). */
#include "guest.h"

int main(long core, long ncores)
{
    (void)core, (void)ncores;
    struct g_line l = {0};
    g_puts(&l, "about to fault\n");
    g_flush(&l);
    volatile long *p = (volatile long *)0x7f000008UL;
    return (int)*p;
}
