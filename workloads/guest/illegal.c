/* illegal: executes an illegal instruction at the start of a block: the
 * word 0x7f, on riscv64 the reserved prefix of an instruction longer than
 * 64 bits (Unicorn reports a 65,532-byte block for it: the regression of
 * tests/unit/test_isa.c test_illegal_block_start), on aarch64 UDF #127. */
#include "guest.h"

int main(long core, long ncores)
{
    (void)core, (void)ncores;
    __asm__ volatile(".4byte 0x7f");
    return 0;
}
