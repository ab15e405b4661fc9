/* spin: never ends (for the instruction and time limits). */
#include "guest.h"

int main(long core, long ncores)
{
    (void)core, (void)ncores;
    volatile long x = 0;
    for (;;)
        x++;
}
