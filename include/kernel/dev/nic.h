/* The register map of the modelled Ethernet NIC's host interface
 * (hw/nic/nic.c, docs/nic.md "Host-driven mode"), shared by the model and
 * the kernel's nic driver. Freestanding: constants only.
 *
 * A NIC whose CTRL the host never writes runs its built-in source as
 * before. Writing CTRL = NIC_CTRL_ENABLE puts it under a driver:
 * descriptors then carry their buffer, length and destination, and the
 * NIC reports progress in registers, a TX head write-back and an RX
 * completion ring. Writing CTRL = NIC_CTRL_RESET abandons what was posted
 * and not yet fetched (DMA already issued completes into nothing), drops
 * the pending interrupt and the posted receive buffers, and leaves it
 * disabled. The positions (TX_TAIL, TX_HEAD, RX_HEAD, RX_TAIL) are running
 * counts that survive a reset: a new driver instance reads TX_HEAD and
 * RX_HEAD and goes on from there, so a write-back or an RX completion
 * still in flight from before the reset carries a count it knows is old.
 *
 * BAR registers, 8 bytes each:
 *   0x00 CTRL      W: NIC_CTRL_*; R: 1 while enabled
 *   0x08 TX_BASE   bus address of the TX descriptor ring (ring x 16 B)
 *   0x10 TX_TAIL   W: descriptors posted (a running count: the doorbell)
 *   0x18 TX_HEAD   R: descriptors whose packet has left (a running count)
 *   0x20 RX_BASE   bus address of the RX completion ring (ring x 16 B)
 *   0x28 RX_TAIL   W: receive buffers posted (a running count)
 *   0x30 RX_HEAD   R: packets written to host memory (a running count)
 *   0x38 IRQ_MASK  W: 1 holds interrupts pending, 0 delivers what is held
 *   0x40 TX_WB     bus address where the NIC writes TX_HEAD (8 B) after each
 *                  packet; 0: none
 *   0x48 RING      R: ring entries (TX and RX)
 *   0x50 NODE      R: the NIC's fabric node
 *   0x58 RX_DROPS  R: packets dropped for want of a posted buffer
 *   0x60 RX_BUF    bus address of the receive buffers: slot j at + j x MTU
 *   0x68 MTU       R: the largest packet, headers included
 *   0xF00 ID       R: NIC_ID_VALUE (DRV_PCI_ID style)
 *
 * TX descriptor (16 B): buffer bus address (8), payload bytes (4, at most
 * MTU - NIC_HDR_BYTES), destination node (4). The first 8 payload bytes
 * travel with the packet and come back in the receiver's completion.
 * RX completion (16 B): payload bytes (4), sequence (4: the low half of
 * RX_HEAD counting this packet, so a slot whose sequence is not the one
 * the driver expects is not new), the packet's first payload word (8). */
#ifndef KERNEL_DEV_NIC_H
#define KERNEL_DEV_NIC_H

enum {
    NIC_CTRL = 0x00,
    NIC_TX_BASE = 0x08,
    NIC_TX_TAIL = 0x10,
    NIC_TX_HEAD = 0x18,
    NIC_RX_BASE = 0x20,
    NIC_RX_TAIL = 0x28,
    NIC_RX_HEAD = 0x30,
    NIC_IRQ_MASK = 0x38,
    NIC_TX_WB = 0x40,
    NIC_RING = 0x48,
    NIC_NODE = 0x50,
    NIC_RX_DROPS = 0x58,
    NIC_RX_BUF = 0x60,
    NIC_MTU = 0x68,
    NIC_REGS_END = 0x70,
    NIC_ID = 0xF00,
};
#define NIC_CTRL_RESET 0u
#define NIC_CTRL_ENABLE 1u
/* vendor 0x1d0e ("orrery"), device 0x0001, class 0x020000 (Ethernet), rev 1 */
#define NIC_ID_VALUE 0x1d0e000102000001ull
#define NIC_DESC_BYTES 16u
#define NIC_HDR_BYTES 62u /* headers on the wire (include/orrery/net.h) */

/* The nic driver's request opcodes (struct drv_req.op, kernel/drivers/nic.c). */
#define NIC_OP_TX 1u /* send len bytes at addr to node arg0 */
#define NIC_OP_RX 2u /* take the next packet: value = its first payload word */

#endif
