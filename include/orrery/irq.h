/* Messages of the interrupt controller (hw/irq/intc.c): what kernel CPUs
 * and root complexes send it, and what it delivers to a CPU. Models meet
 * only through this header (docs/kernel-platform.md, "Devices").
 *
 * Into the controller, on a CPU's port cpu<N> (data[0] bits 63..56 = op):
 *
 *   IPI    data[0] = target CPU            data[1] = reason
 *   ROUTE  data[0] = op | vector << 24 | target CPU
 *          data[1] = IRQ_ROUTE_MASKED when the vector is masked
 *
 * Into the controller, on a root complex's port dev<N>:
 *
 *   MSI        data[0] = op | vector       data[1] = the root complex port
 *   DMA_FAULT  data[0] = op | access << 32 | root complex port
 *              data[1] = the bus address the device used
 *
 * Out of the controller to a CPU, on cpu<N> (bits 63..56 = the kind):
 *
 *   IPI        data[0] = the target        data[1] = reason
 *   DEVICE     data[0] = kind              data[1] = vector
 *   DMA_FAULT  data[0] = kind | access << 32 | port   data[1] = bus address
 *
 * The IPI encoding (op 0) is the one the controller had before devices
 * came, so IPI traffic is unchanged. */
#ifndef ORRERY_IRQ_H
#define ORRERY_IRQ_H

#include <stdint.h>

enum irq_op {
    IRQ_OP_IPI = 0,
    IRQ_OP_ROUTE = 1,
    IRQ_OP_MSI = 2,
    IRQ_OP_DMA_FAULT = 3,
};

#define IRQ_VECTORS 256u /* device interrupt vectors, 0..255 */
#define IRQ_ROUTE_MASKED 1u
#define IRQ_MSG_BYTES 16u

static inline uint64_t irq_pack(enum irq_op op, uint64_t low)
{
    return (uint64_t)op << 56 | (low & ((UINT64_C(1) << 56) - 1));
}
static inline enum irq_op irq_op_of(uint64_t w) { return (enum irq_op)(w >> 56); }
static inline uint64_t irq_low(uint64_t w) { return w & ((UINT64_C(1) << 56) - 1); }

#endif
