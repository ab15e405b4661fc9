/* The GPU's programming interface (hw/gpu, docs/gpu.md): its BAR layout,
 * the commands a host writes into a hardware queue, the NVLink messages
 * between GPUs, and the few questions a host program may ask a GPU
 * instance at load time. Host programs (workloads/apps/gpu_stream.c) and
 * the GPU meet only through this header and their PCIe ports.
 *
 * BAR (reached by MMIO through a root complex, include/orrery/pcie.h):
 *
 *   0x0000          ID (read: GPU_DEVICE_ID)
 *   0x0100 + 8q     COMPLETED[q]  (read: commands queue q has retired)
 *   0x0200 + 8q     ERRORS[q]     (read: of those, how many failed)
 *   0x1000 + 0x40q  queue q's command slot: GPU_CMD_WORDS 8-byte words;
 *                   writing the last word (offset 0x38) submits the eight
 *                   words as one command at the tail of queue q.
 *
 * A command, word 0: op (bits 0..7) | flags (8..15) | kind (16..23) |
 * peer GPU id (24..39). The other words by op:
 *
 *   COPY    kind GPU_COPY_*; w1 source, w2 destination, w3 bytes. Host
 *           addresses are bus addresses reached by DMA through the root
 *           complex (and its IOMMU); device addresses are offsets in the
 *           GPU's memory; P2P writes the peer's memory over NVLink.
 *   LAUNCH  kind GPU_KERNEL_*; w1 grid blocks (bits 0..31) | threads per
 *           block (32..47); w2 registers per thread (0..15) | shared
 *           memory bytes per block (16..47); w3..w7 the kernel's
 *           arguments (GPU_KERNEL_* below).
 *   SIGNAL  w1 host address, w2 value: when every earlier command of the
 *           queue has retired, write struct gpu_signal there by DMA (a
 *           CUDA event: value, the GPU's clock, the queue's error count).
 *   WAIT    w1 queue, w2 count: hold this queue until queue w1 has
 *           retired w2 commands (a barrier between queues).
 *
 * Flag GPU_F_IRQ: raise MSI-X vector = queue number when the command
 * retires. A command the GPU cannot run (a block that does not fit an SM,
 * a grid of 0, an address beyond device memory, a peer without NVLink, an
 * unknown op) retires with an error: counted in ERRORS[q], recorded as
 * trace point gpu.cmd_error (a = queue << 8 | GPU_ERR_*, b = word 0). */
#ifndef ORRERY_GPU_H
#define ORRERY_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/sim.h"

#define GPU_DEVICE_ID UINT64_C(0x55504752) /* "RGPU" */
#define GPU_MAX_QUEUES 16u
#define GPU_CMD_WORDS 8u
#define GPU_REG_ID 0x0000u
#define GPU_REG_COMPLETED(q) (0x0100u + 8u * (q))
#define GPU_REG_ERRORS(q) (0x0200u + 8u * (q))
#define GPU_REG_QUEUE(q) (0x1000u + 0x40u * (q))
#define GPU_BAR_BYTES 0x2000u

enum gpu_op {
    GPU_OP_NOP = 0,
    GPU_OP_COPY = 1,
    GPU_OP_LAUNCH = 2,
    GPU_OP_SIGNAL = 3,
    GPU_OP_WAIT = 4,
};

enum { GPU_F_IRQ = 1u };

enum gpu_copy_kind {
    GPU_COPY_H2D = 0,
    GPU_COPY_D2H = 1,
    GPU_COPY_D2D = 2,
    GPU_COPY_P2P = 3,
};

/* Kernels and their arguments (w3..w7). Element types are fp32. */
enum gpu_kernel_kind {
    GPU_KERNEL_MEMSET = 0, /* w3 dst, w4 bytes, w5 32-bit pattern */
    GPU_KERNEL_COPY = 1,   /* w3 src, w4 dst, w5 bytes */
    GPU_KERNEL_SAXPY = 2,  /* w3 x, w4 y, w5 n, w6 a (float bits): y = a*x + y */
    GPU_KERNEL_REDUCE = 3, /* w3 x, w4 out, w5 n: out[0] = sum of x */
    GPU_KERNEL_GEMM = 4,   /* w3 A, w4 B, w5 C, w6 M | N << 20 | K << 40: C = A B
                              (row-major, one GPU_GEMM_TILE square of C per block) */
    GPU_KERNEL_SYNTH = 5,  /* w3 flops per thread, w4 global bytes per thread,
                              w5 precision (enum gpu_precision), w6 footprint bytes */
    GPU_KERNEL_HANG = 6,   /* never finishes (until the watchdog resets its queue) */
    GPU_KERNEL_ADD = 7,    /* w3 src, w4 dst, w5 n: dst += src (an allreduce's step) */
    GPU_KERNEL_KINDS
};
#define GPU_GEMM_TILE 64u   /* C tile per block: 64 x 64 */
#define GPU_GEMM_DIM_MAX ((UINT64_C(1) << 20) - 1)

enum gpu_precision { GPU_FP32 = 0, GPU_FP64 = 1, GPU_FP16 = 2, GPU_PRECISIONS };

enum gpu_err {
    GPU_ERR_NONE = 0,
    GPU_ERR_BAD_OP = 1,      /* unknown op or kind */
    GPU_ERR_SHAPE = 2,       /* grid 0, or a block an SM cannot hold */
    GPU_ERR_RANGE = 3,       /* an address beyond device memory */
    GPU_ERR_NO_PEER = 4,     /* P2P to a GPU no NVLink reaches */
    GPU_ERR_STORE_FULL = 5,  /* the device memory's byte store is at its bound */
    GPU_ERR_TIMEOUT = 6,     /* the watchdog reset the queue */
    GPU_ERR_RESET = 7,       /* dropped by a queue reset */
    GPU_ERR_QUEUE_FULL = 8,  /* submitted to a full queue */
    GPU_ERR_DMA = 9,         /* a host DMA read was refused (CPL_UR) */
};

struct gpu_signal {
    uint64_t value;
    uint64_t time_ps; /* the GPU's clock when the signal retired */
    uint64_t errors;  /* ERRORS[q] at that moment */
};

static inline uint64_t gpu_cmd_word0(enum gpu_op op, unsigned flags, unsigned kind,
                                     unsigned peer)
{
    return (uint64_t)op | (uint64_t)(flags & 0xFF) << 8 | (uint64_t)(kind & 0xFF) << 16 |
           (uint64_t)(peer & 0xFFFF) << 24;
}
static inline unsigned gpu_cmd_op(uint64_t w) { return (unsigned)(w & 0xFF); }
static inline unsigned gpu_cmd_flags(uint64_t w) { return (unsigned)(w >> 8) & 0xFF; }
static inline unsigned gpu_cmd_kind(uint64_t w) { return (unsigned)(w >> 16) & 0xFF; }
static inline unsigned gpu_cmd_peer(uint64_t w) { return (unsigned)(w >> 24) & 0xFFFF; }

static inline uint64_t gpu_launch_shape(uint32_t grid, uint32_t threads)
{
    return (uint64_t)grid | (uint64_t)(threads & 0xFFFF) << 32;
}
static inline uint64_t gpu_launch_res(uint32_t regs, uint32_t smem)
{
    return (uint64_t)(regs & 0xFFFF) | (uint64_t)smem << 16;
}

/* A kernel's block shape, as a host checks it before launching. */
struct gpu_block_shape {
    uint64_t grid;    /* blocks */
    uint32_t threads; /* per block */
    uint32_t regs;    /* per thread */
    uint64_t smem;    /* bytes per block */
};

/* NVLink messages between GPUs (ports nvl<N>):
 *   DATA  data[0] = GPU_NVL_DATA | tag << 8, data[1] = a blob: 8 bytes of
 *         destination address, then the payload (size = payload + header)
 *   ACK   data[0] = GPU_NVL_ACK | tag << 8, data[1] = payload bytes */
enum { GPU_NVL_DATA = 1, GPU_NVL_ACK = 2 };
#define GPU_NVL_HEADER 16u /* bytes of header a DATA message carries on the wire */

#endif
