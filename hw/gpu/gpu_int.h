/* The GPU model's private state, shared by its files: gpu.c (the
 * component, BAR and command processor), gpu_copy.c (copy engines over
 * PCIe and NVLink), gpu_kernel.c (SM occupancy, the roofline, waves and
 * the functional kernels), gpu_mem.c (device memory as bytes). */
#ifndef HW_GPU_INT_H
#define HW_GPU_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/gpu.h"
#include "hw/linestore.h"
#include "orrery/outq.h"
#include "orrery/pcie.h"
#include "orrery/sim.h"

#define GPU_MAX_PARTS 8u
#define GPU_MAX_CE 16u
#define GPU_MAX_NVL 32u

enum {
    T_DECODED = 1, /* a = queue, b = queue epoch: the command processor decoded its command */
    T_WAVE = 2,    /* a = partition, b = kernel sequence: a wave of blocks is done */
    T_WATCHDOG = 3,/* a = partition, b = kernel sequence */
    T_CE_PUMP = 4, /* a = engine, b = copy sequence: send more of a D2H or P2P copy */
    T_CE_DONE = 5, /* a = engine, b = copy sequence: a copy's last byte has left */
};

enum queue_state { Q_IDLE, Q_DECODE, Q_WAIT_SM, Q_WAIT_CE, Q_WAIT_QUEUE, Q_RUNNING };

struct gpu_cmd {
    uint64_t w[GPU_CMD_WORDS];
};

struct gpu_queue {
    struct gpu_cmd slot;     /* words written by MMIO, submitted by the last */
    struct gpu_cmd *aRing;   /* pending commands */
    uint32_t head, n;
    struct gpu_cmd cur;      /* the command in progress */
    uint8_t state;           /* enum queue_state */
    uint32_t epoch;          /* bumped by a reset: stale timers are ignored */
    unsigned part;
    uint64_t completed, errors;
};

/* A kernel the partition's SMs are running. */
struct gpu_run {
    bool busy;
    unsigned queue;
    uint64_t seq;             /* which kernel: stale wave timers are ignored */
    uint64_t waves_left;
    uint64_t wave_blocks, last_blocks, hbm_wave, hbm_last, flops;
    orr_time_t t0, wave_time, last_wave_time;
};

struct gpu_part {
    unsigned sms, ce_first, ce_n;
    uint64_t mem_base, mem_size;
    struct gpu_run run;
};

/* A copy engine's copy in progress. */
struct gpu_ce {
    bool busy;
    unsigned queue, kind, port; /* port: the NVLink port of a P2P copy */
    uint64_t seq;
    uint64_t src, dst, len;     /* dst/src already absolute in device memory */
    uint64_t next, done;        /* bytes issued, bytes finished */
    unsigned in_flight;
    uint8_t err;
    orr_time_t t0;
    bool *aTagUsed;             /* H2D reads in flight */
    uint64_t *aTagOff;
};

struct gpu {
    /* configuration */
    unsigned id, sms, nQueue, queue_depth, nCE, tags, nPart, nNvl;
    unsigned sm_threads, sm_blocks, block_threads, latency_warps;
    uint64_t sm_regs, sm_smem, memory, l2_size, store_limit, functional_max, functional_flops;
    uint64_t clock_hz, flops_cycle[GPU_PRECISIONS];
    uint64_t hbm_Bps, l2_Bps, sm_Bps, nvl_chunk;
    unsigned nvl_window;
    orr_time_t cmd_latency, copy_setup, launch_overhead, wave_overhead, watchdog;
    uint32_t max_read, max_payload;
    uint16_t requester;
    uint64_t msix_addr;
    const char *const *aNvlName; /* peers named by `nvlink`, in port order */
    struct orr_mark nvlMark;
    unsigned aNvlPeer[GPU_MAX_NVL]; /* their ids, resolved at start */

    /* ports */
    struct orr_port *pcie, *aNvl[GPU_MAX_NVL];
    struct orr_outq pcieQ, aNvlQ[GPU_MAX_NVL];
    struct pcie_tx tx;

    /* state */
    struct gpu_queue aQueue[GPU_MAX_QUEUES];
    struct gpu_part aPart[GPU_MAX_PARTS];
    struct gpu_ce aCE[GPU_MAX_CE];
    struct linestore store;
    uint64_t kernel_seq, copy_seq;

    /* stats */
    struct orr_counter *commands, *cmd_errors, *kernels, *waves, *blocks, *flops, *hbm_bytes,
        *copies, *h2d_bytes, *d2h_bytes, *d2d_bytes, *p2p_bytes, *p2p_rx_bytes, *irqs,
        *resets, *timing_only;
    struct orr_histogram *kernel_time, *copy_time;
    uint16_t kCmdError, kKernel, kCopy, kReset;
};

/* gpu.c */
void gpu_retire(struct orr_component *c, struct gpu *s, unsigned q, unsigned err);
/* The watchdog fired: every command of the partition's queues retires
 * with an error (SIGNALs still write, so the host learns); other
 * partitions go on. */
void gpu_part_reset(struct orr_component *c, struct gpu *s, unsigned part);
void gpu_send_pcie(struct orr_component *c, struct gpu *s, const struct orr_msg *m);
/* gpu_mem.c: device memory as bytes (absolute addresses) */
void gpu_mem_read(const struct gpu *s, uint64_t addr, void *out, uint64_t n);
void gpu_mem_write(struct gpu *s, uint64_t addr, const void *in, uint64_t n);
/* 0, or GPU_ERR_RANGE / GPU_ERR_STORE_FULL for [addr, addr+n) of partition p,
 * storing (write) bytes; *abs gets the absolute address */
unsigned gpu_mem_check(const struct gpu *s, unsigned part, uint64_t addr, uint64_t n, bool write,
                       uint64_t *abs);
/* gpu_copy.c */
void gpu_copy_start(struct orr_component *c, struct gpu *s, unsigned q, unsigned ce);
unsigned gpu_copy_check(struct gpu *s, unsigned q);
void gpu_copy_timer(struct orr_component *c, struct gpu *s, const struct orr_event *ev);
void gpu_copy_completion(struct orr_component *c, struct gpu *s, const struct orr_event *ev);
void gpu_nvl_message(struct orr_component *c, struct gpu *s, unsigned port,
                     const struct orr_event *ev);
/* gpu_kernel.c */
unsigned gpu_kernel_check(const struct gpu *s, unsigned q);
void gpu_kernel_start(struct orr_component *c, struct gpu *s, unsigned q);
void gpu_kernel_timer(struct orr_component *c, struct gpu *s, const struct orr_event *ev);
int gpu_shape_check(const struct gpu *s, unsigned sms, const struct gpu_block_shape *b,
                    unsigned *per_sm, char *why, size_t n);

#endif
