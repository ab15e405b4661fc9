/* illegal: executes an illegal instruction (all-zero word: riscv's
 * defined-illegal encoding, aarch64's UDF #0). */
#include "guest.h"

int main(long core, long ncores)
{
    (void)core, (void)ncores;
    __asm__ volatile(".4byte 0");
    return 0;
}
