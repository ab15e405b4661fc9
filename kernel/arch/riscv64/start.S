/* Boot stub for QEMU `virt` with -bios none: every hart starts here, in
 * machine mode, at 0x80000000 with a0 = mhartid and a1 = the device tree.
 *
 *   1. all harts: interrupts off, gp, a 16 KiB stack at
 *      __stacks_top - mhartid * RISCV_STACK_SIZE; harts >= RISCV_MAX_HARTS park
 *   2. hart 0: zero .bss, then riscv_boot_primary(0, fdt) (never returns);
 *      it counts the harts in the device tree and sets riscv_release
 *   3. other harts: spin until riscv_release != 0, then
 *      riscv_boot_secondary(hartid) (never returns: idles in wfi, serving IPIs)
 *
 * riscv_release lives in .data, not .bss, so hart 0's zeroing cannot race
 * with the secondaries reading it. */
#include "riscv.h"

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    csrw    mie, zero
    csrci   mstatus, RISCV_MSTATUS_MIE
.option push
.option norelax
    la      gp, __global_pointer$
.option pop
    csrr    a0, mhartid
    li      t0, RISCV_MAX_HARTS
    bgeu    a0, t0, riscv_park

    la      sp, __stacks_top
    li      t0, RISCV_STACK_SIZE
    mul     t1, a0, t0
    sub     sp, sp, t1

    bnez    a0, 3f
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    riscv_boot_primary
    j       riscv_park

3:  la      t0, riscv_release
4:  ld      t1, 0(t0)
    beqz    t1, 4b
    fence   r, rw
    call    riscv_boot_secondary

    .globl riscv_park
riscv_park:
    csrw    mie, zero
5:  wfi
    j       5b

    .section .data
    .balign 8
    .globl riscv_release
riscv_release:
    .dword  0

    .section .stacks, "aw", @nobits
    .balign 16
    .space  RISCV_MAX_HARTS * RISCV_STACK_SIZE
