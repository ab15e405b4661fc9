/* gpu_stream: a host program driving GPUs the way a CUDA program does with
 * streams (docs/gpu.md, "The host program"): it puts inputs in host
 * memory, copies them in, launches kernels, copies results out and
 * synchronises on signals (CUDA events), then checks every result against
 * a host computation. It speaks only MMIO to the root complex (command
 * words into a GPU's queue slots, include/orrery/gpu.h) and reads host
 * memory, where the GPUs' DMA and signals land; MSI-X interrupts from the
 * root complex's `irq` port wake it.
 *
 * Tests (`test`), each over a list of sizes, like the CUDA tools they
 * imitate:
 *   bandwidth  nvbandwidth-like: H2D and D2H copies of `bytes` on GPU 0
 *   saxpy      y = a x + y over `n` floats, `iters` launches
 *   reduce     sum of `n` floats
 *   gemm       C = A B, n x n x n fp32
 *   p2p        p2pBandwidthLatencyTest-like between GPU 0 and 1: one-way
 *              and both-way bandwidth of `bytes`, and the latency of a
 *              4-byte copy; over NVLink, or staged through host memory
 *              (`p2p: staged`, as CUDA does without peer access)
 *   hang       GPU 0's queue 0 launches a kernel that never ends while
 *              queue 1 runs saxpy (use partitions and a watchdog)
 *   allreduce  a ring allreduce of `bytes` of fp32 across every GPU of
 *              `gpus` over NVLink (GPU g sends to GPU g+1)
 *
 * Times come from the GPU's signals (its clock, as cudaEventElapsedTime),
 * not from the host. The program is a list of steps built at start:
 * SUBMIT (a command to a GPU queue), WAIT (until a signal has landed),
 * HOST (fill inputs, check results, record a figure), DELAY (host-side
 * runtime overhead). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/gpu.h"
#include "hw/hostmem.h"
#include "orrery/error.h"
#include "orrery/irq.h"
#include "orrery/outq.h"
#include "orrery/pcie.h"
#include "orrery/sim.h"
#include "orrery/units.h"

#define GS_MAX_SIZES 16u
#define GS_MAX_GPUS 8u
#define SIG_STRIDE 64u /* a line each: the root complex does not order two partial writes to one line */
#define POLL (100 * ORR_NS)

enum test { T_BANDWIDTH, T_SAXPY, T_REDUCE, T_GEMM, T_P2P, T_HANG, T_ALLREDUCE };
static const char *const tests[] = {"bandwidth", "saxpy", "reduce", "gemm", "p2p", "hang",
                                    "allreduce", NULL};
static const char *const p2p_modes[] = {"nvlink", "staged", NULL};

static const struct orr_param gs_params[] = {
    {"test", ORR_P_ENUM, "bandwidth", 0, "bandwidth, saxpy, reduce, gemm, p2p, hang, allreduce",
     tests},
    {"gpus", ORR_P_LIST, NULL, ORR_PF_NONEMPTY,
     "GPU components driven, in root complex port order (GPU i on dev<i>)"},
    {"memory", ORR_P_STRING, "", 0,
     "host memory (hostmem name: a memory component's first path part; empty: this one's)"},
    {"bar_base", ORR_P_SIZE, "64GiB", 0, "the root complex's bar_base"},
    {"bar_size", ORR_P_SIZE, "1MiB", ORR_PF_POSITIVE, "the root complex's bar_size"},
    {"host_base", ORR_P_SIZE, "16MiB", 0, "host buffers start here (signals first)"},
    {"bytes", ORR_P_LIST, "[1MiB]", 0, "bandwidth, p2p, allreduce: transfer sizes, in order"},
    {"n", ORR_P_UINTS, "[1048576]", 0,
     "saxpy, reduce: elements; gemm: M = N = K; in order"},
    {"iters", ORR_P_UINT, "4", ORR_PF_POSITIVE, "timed repetitions per size", NULL, 1, 1000},
    {"block", ORR_P_UINT, "256", 0, "threads per block of the test's kernel"},
    {"regs", ORR_P_UINT, "32", 0, "registers per thread of the test's kernel"},
    {"smem", ORR_P_SIZE, "0B", 0, "shared memory per block of the test's kernel"},
    {"verify_max", ORR_P_SIZE, "16MiB", 0,
     "copy results back and check them when a buffer is at most this big"},
    {"p2p", ORR_P_ENUM, "nvlink", 0, "p2p: nvlink (peer copies) or staged (through host memory)",
     p2p_modes},
    {"host_overhead", ORR_P_TIME, "4us", 0,
     "host runtime time per staged step (driver call, interrupt to thread)"},
    {NULL},
};

static const struct orr_port_doc gs_ports[] = {
    {"pcie", "MMIO to a root complex's host port"},
    {"irq", "MSI-X from a root complex's irq port (optional: without it the program polls)"},
    {NULL},
};

enum step_kind { S_SUBMIT, S_WAIT, S_HOST, S_DELAY };
enum host_fn { H_FILL, H_CHECK, H_RECORD, H_BIDIR };

struct step {
    uint8_t kind, gpu, queue, fn;
    uint32_t size; /* index into sizes */
    uint64_t arg;  /* WAIT: slot; DELAY: ps; HOST: signal slots, 20 bits each */
    uint64_t arg2; /* HOST: more slots */
    uint64_t w[GPU_CMD_WORDS];
};

struct gs {
    unsigned test, iters, nGpu, p2p_mode;
    struct orr_port *pcie, *irq;
    struct orr_outq q;
    struct hostmem *mem;
    uint64_t bar_base, bar_size, host_base, verify_max;
    uint32_t block, regs;
    uint64_t smem;
    orr_time_t host_overhead;
    size_t nSize;
    uint64_t aSize[GS_MAX_SIZES];
    const struct orr_component *aGpu[GS_MAX_GPUS];
    const char *const *aGpuName;     /* into the config tree */
    struct orr_mark gpusMark, sizesMark, blockMark, regsMark, smemMark;
    /* the program */
    struct step *aStep;
    size_t nStep, capStep, pc;
    uint32_t nSlot;
    bool waiting, polling, done;
    /* buffer layout (host and device), set per size by layout() */
    uint64_t hA, hB, hC, hSig, dA, dB, dC;
    /* figures */
    struct orr_value *aFig[2][GS_MAX_SIZES], *latency;
    struct orr_counter *checks, *errors, *submitted;
};

/* --- building the program -------------------------------------------------- */

static struct step *push(struct gs *s, enum step_kind k)
{
    if (s->nStep == s->capStep) {
        s->capStep = s->capStep ? 2 * s->capStep : 64;
        s->aStep = realloc(s->aStep, s->capStep * sizeof *s->aStep);
        if (!s->aStep)
            orr_oom();
    }
    struct step *st = &s->aStep[s->nStep++];
    memset(st, 0, sizeof *st);
    st->kind = (uint8_t)k;
    return st;
}

static void cmd(struct gs *s, unsigned gpu, unsigned queue, uint64_t w0, uint64_t w1, uint64_t w2,
                uint64_t w3, uint64_t w4, uint64_t w5, uint64_t w6)
{
    struct step *st = push(s, S_SUBMIT);
    st->gpu = (uint8_t)gpu;
    st->queue = (uint8_t)queue;
    uint64_t w[GPU_CMD_WORDS] = {w0, w1, w2, w3, w4, w5, w6, 0};
    memcpy(st->w, w, sizeof w);
}

static uint64_t sig_addr(const struct gs *s, uint32_t slot)
{
    return s->host_base + (uint64_t)slot * SIG_STRIDE;
}

/* A signal on (gpu, queue) with an interrupt; returns its slot. */
static uint32_t signal(struct gs *s, unsigned gpu, unsigned queue)
{
    uint32_t slot = s->nSlot++;
    cmd(s, gpu, queue, gpu_cmd_word0(GPU_OP_SIGNAL, GPU_F_IRQ, 0, 0), sig_addr(s, slot), slot + 1,
        0, 0, 0, 0);
    return slot;
}

static void wait_for(struct gs *s, uint32_t slot)
{
    push(s, S_WAIT)->arg = slot;
}

static struct step *host(struct gs *s, enum host_fn fn, uint32_t size, uint64_t arg)
{
    struct step *st = push(s, S_HOST);
    st->fn = (uint8_t)fn;
    st->size = size;
    st->arg = arg;
    return st;
}

static void copy(struct gs *s, unsigned gpu, unsigned queue, unsigned kind, unsigned peer,
                 uint64_t src, uint64_t dst, uint64_t len)
{
    cmd(s, gpu, queue, gpu_cmd_word0(GPU_OP_COPY, 0, kind, peer), src, dst, len, 0, 0, 0);
}

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* The test kernel's grid for size x. */
static uint64_t grid_of(const struct gs *s, uint64_t x)
{
    if (s->test == T_GEMM)
        return div_up(x, GPU_GEMM_TILE) * div_up(x, GPU_GEMM_TILE);
    if (s->test == T_REDUCE) { /* a grid-stride reduction: at most 4 blocks per 1K elements */
        uint64_t g = div_up(x, 8 * (uint64_t)(s->block ? s->block : 1));
        return g;
    }
    return s->block ? div_up(x, s->block) : 0;
}

static uint64_t launch_res(const struct gs *s) { return gpu_launch_res(s->regs, (uint32_t)s->smem); }

/* Buffers of size x: device A, B, C from 0; host A, B, C after the
 * signals (64 KiB of them). Bytes per buffer: */
static uint64_t buf_bytes(const struct gs *s, uint64_t x)
{
    switch (s->test) {
    case T_SAXPY:
    case T_REDUCE:
    case T_HANG:
        return 4 * x;
    case T_GEMM:
        return 4 * x * x;
    default:
        return x;
    }
}

static void layout(struct gs *s, uint64_t x)
{
    uint64_t b = (buf_bytes(s, x) + 4095) & ~(uint64_t)4095;
    s->hSig = s->host_base;
    s->hA = s->host_base + (1u << 20);
    s->hB = s->hA + b;
    s->hC = s->hB + b;
    s->dA = 0;
    s->dB = b;
    s->dC = 2 * b;
}

static bool verifies(const struct gs *s, uint64_t x) { return buf_bytes(s, x) <= s->verify_max; }

/* allreduce: GPU g's input at host hA + g x stride, its result read back
 * at hA + (nGpu + g) x stride */
static uint64_t ar_stride(uint64_t b) { return (b + 4095) & ~(uint64_t)4095; }
static uint64_t ar_in(const struct gs *s, unsigned g, uint64_t b) { return s->hA + g * ar_stride(b); }
static uint64_t ar_out(const struct gs *s, unsigned g, uint64_t b)
{
    return s->hA + (s->nGpu + g) * ar_stride(b);
}
static float ar_input(unsigned g, uint64_t k)
{
    return (float)((int)((k * 13 + g * 7) % 17) - 8) * 0.25f;
}

/* Ring allreduce (reduce-scatter, then all-gather) in chunks of b / n:
 * at reduce-scatter step t GPU g adds the chunk its predecessor sent at
 * step t-1 into its own, then sends that chunk on; after n-1 steps GPU g
 * holds chunk g+1 summed over all GPUs, and n-1 all-gather steps pass the
 * summed chunks around. The host orders steps with one signal per GPU
 * per step (waiting for all), as a host-driven collective would. */
static void build_allreduce(struct gs *s, uint32_t i)
{
    uint64_t b = s->aSize[i], chunk = b / s->nGpu, nf = chunk / 4;
    unsigned n = s->nGpu;
    bool check = verifies(s, b);
    layout(s, b);
    s->dB = ar_stride(b);
    if (check) {
        host(s, H_FILL, i, 0);
        for (unsigned g = 0; g < n; g++)
            copy(s, g, 0, GPU_COPY_H2D, 0, ar_in(s, g, b), s->dA, b);
    }
    uint32_t a0 = s->nSlot;
    for (unsigned g = 0; g < n; g++)
        wait_for(s, signal(s, g, 0));
    uint64_t shape = gpu_launch_shape((uint32_t)div_up(nf, s->block ? s->block : 1), s->block);
    uint32_t e0 = 0;
    for (unsigned t = 0; t < 2 * (n - 1); t++) {
        uint32_t first = s->nSlot;
        for (unsigned g = 0; g < n; g++) {
            unsigned next = gpu_id_of(s->aGpu[(g + 1) % n]);
            if (t >= 1 && t <= n - 1) { /* reduce what arrived at step t-1 */
                uint64_t c = (g + n - t) % n;
                cmd(s, g, 0, gpu_cmd_word0(GPU_OP_LAUNCH, 0, GPU_KERNEL_ADD, 0), shape,
                    launch_res(s), s->dB + c * chunk, s->dA + c * chunk, nf, 0);
            }
            if (t < n - 1) { /* reduce-scatter: send chunk g - t to the next */
                uint64_t c = (g + n - t) % n;
                copy(s, g, 0, GPU_COPY_P2P, next, s->dA + c * chunk, s->dB + c * chunk, chunk);
            } else {         /* all-gather: pass the summed chunk g + 1 - (t - n + 1) on */
                uint64_t c = (g + 1 + n - (t - (n - 1))) % n;
                copy(s, g, 0, GPU_COPY_P2P, next, s->dA + c * chunk, s->dA + c * chunk, chunk);
            }
            signal(s, g, 0);
        }
        for (unsigned g = 0; g < n; g++)
            wait_for(s, first + g);
        e0 = first;
    }
    host(s, H_RECORD, i, (uint64_t)a0 | (uint64_t)e0 << 20);
    if (check) {
        for (unsigned g = 0; g < n; g++)
            copy(s, g, 0, GPU_COPY_D2H, 0, s->dA, ar_out(s, g, b), b);
        for (unsigned g = 0; g < n; g++)
            wait_for(s, signal(s, g, 0));
        host(s, H_CHECK, i, 0);
    }
}

static void build_bandwidth(struct gs *s, uint32_t i)
{
    uint64_t b = s->aSize[i];
    layout(s, b);
    host(s, H_FILL, i, 0);
    uint32_t a = signal(s, 0, 0);
    for (unsigned k = 0; k < s->iters; k++)
        copy(s, 0, 0, GPU_COPY_H2D, 0, s->hA, s->dA, b);
    uint32_t m = signal(s, 0, 0);
    for (unsigned k = 0; k < s->iters; k++)
        copy(s, 0, 0, GPU_COPY_D2H, 0, s->dA, s->hB, b);
    uint32_t e = signal(s, 0, 0);
    wait_for(s, e);
    host(s, H_RECORD, i, (uint64_t)a | (uint64_t)m << 20 | (uint64_t)e << 40);
    host(s, H_CHECK, i, 0);
}

static void build_kernel_test(struct gs *s, uint32_t i)
{
    uint64_t x = s->aSize[i], bytes = buf_bytes(s, x);
    bool check = verifies(s, x);
    layout(s, x);
    if (check) {
        host(s, H_FILL, i, 0);
        copy(s, 0, 0, GPU_COPY_H2D, 0, s->hA, s->dA, bytes);
        if (s->test != T_REDUCE)
            copy(s, 0, 0, GPU_COPY_H2D, 0, s->hB, s->dB, bytes);
    }
    uint32_t a = signal(s, 0, 0);
    uint64_t shape = gpu_launch_shape((uint32_t)grid_of(s, x), s->block);
    for (unsigned k = 0; k < s->iters; k++) {
        if (s->test == T_SAXPY) {
            float alpha = 0.5f;
            uint32_t bits;
            memcpy(&bits, &alpha, 4);
            cmd(s, 0, 0, gpu_cmd_word0(GPU_OP_LAUNCH, 0, GPU_KERNEL_SAXPY, 0), shape,
                launch_res(s), s->dA, s->dB, x, bits);
        } else if (s->test == T_REDUCE) {
            cmd(s, 0, 0, gpu_cmd_word0(GPU_OP_LAUNCH, 0, GPU_KERNEL_REDUCE, 0), shape,
                launch_res(s), s->dA, s->dB, x, 0);
        } else {
            cmd(s, 0, 0, gpu_cmd_word0(GPU_OP_LAUNCH, 0, GPU_KERNEL_GEMM, 0), shape,
                launch_res(s), s->dA, s->dB, s->dC, x | x << 20 | x << 40);
        }
    }
    uint32_t e = signal(s, 0, 0);
    if (check) {
        uint64_t out = s->test == T_GEMM ? s->dC : s->dB;
        uint64_t n = s->test == T_REDUCE ? 4 : bytes;
        copy(s, 0, 0, GPU_COPY_D2H, 0, out, s->hC, n);
    }
    uint32_t f = signal(s, 0, 0);
    wait_for(s, f);
    host(s, H_RECORD, i, (uint64_t)a | (uint64_t)e << 20);
    if (check)
        host(s, H_CHECK, i, 0);
}

/* One staged peer copy: GPU 0 to host, the host notices, GPU 1 from host. */
static uint32_t staged_copy(struct gs *s, uint64_t b)
{
    copy(s, 0, 0, GPU_COPY_D2H, 0, s->dA, s->hB, b);
    wait_for(s, signal(s, 0, 0));
    push(s, S_DELAY)->arg = s->host_overhead;
    copy(s, 1, 0, GPU_COPY_H2D, 0, s->hB, s->dB, b);
    uint32_t e = signal(s, 1, 0);
    wait_for(s, e);
    return e;
}

static void build_p2p(struct gs *s, uint32_t i)
{
    uint64_t b = s->aSize[i];
    unsigned id1 = gpu_id_of(s->aGpu[1]), id0 = gpu_id_of(s->aGpu[0]);
    layout(s, b);
    host(s, H_FILL, i, 0);
    copy(s, 0, 0, GPU_COPY_H2D, 0, s->hA, s->dA, b);
    copy(s, 1, 0, GPU_COPY_H2D, 0, s->hA, s->dA, b);
    wait_for(s, signal(s, 1, 0));
    uint32_t a = signal(s, 0, 0), e;
    if (s->p2p_mode == 0) {
        for (unsigned k = 0; k < s->iters; k++)
            copy(s, 0, 0, GPU_COPY_P2P, id1, s->dA, s->dB, b);
        e = signal(s, 0, 0);
        wait_for(s, e);
    } else {
        e = a;
        for (unsigned k = 0; k < s->iters; k++)
            e = staged_copy(s, b);
    }
    host(s, H_RECORD, i, (uint64_t)a | (uint64_t)e << 20);
    /* both ways at once */
    uint32_t a0 = signal(s, 0, 0), a1 = signal(s, 1, 0), e0, e1;
    if (s->p2p_mode == 0) {
        for (unsigned k = 0; k < s->iters; k++) {
            copy(s, 0, 0, GPU_COPY_P2P, id1, s->dA, s->dB, b);
            copy(s, 1, 0, GPU_COPY_P2P, id0, s->dA, s->dC, b);
        }
        e0 = signal(s, 0, 0);
        e1 = signal(s, 1, 0);
        wait_for(s, e0);
        wait_for(s, e1);
        host(s, H_BIDIR, i, (uint64_t)a0 | (uint64_t)e0 << 20)->arg2 =
            (uint64_t)a1 | (uint64_t)e1 << 20;
    }
    if (verifies(s, b)) {
        copy(s, 1, 0, GPU_COPY_D2H, 0, s->dB, s->hC, b);
        wait_for(s, signal(s, 1, 0));
        host(s, H_CHECK, i, 0);
    }
}

static void build_latency(struct gs *s)
{
    layout(s, 4);
    unsigned id1 = gpu_id_of(s->aGpu[1]);
    uint32_t a = signal(s, 0, 0), e = a;
    if (s->p2p_mode == 0) {
        for (unsigned k = 0; k < s->iters; k++)
            copy(s, 0, 0, GPU_COPY_P2P, id1, s->dA, s->dB, 4);
        e = signal(s, 0, 0);
        wait_for(s, e);
    } else {
        for (unsigned k = 0; k < s->iters; k++)
            e = staged_copy(s, 4);
    }
    host(s, H_RECORD, GS_MAX_SIZES, (uint64_t)a | (uint64_t)e << 20);
}

static void build_hang(struct gs *s)
{
    uint64_t x = s->aSize[0];
    layout(s, x);
    host(s, H_FILL, 0, 0);
    copy(s, 0, 1, GPU_COPY_H2D, 0, s->hA, s->dA, 4 * x);
    copy(s, 0, 1, GPU_COPY_H2D, 0, s->hB, s->dB, 4 * x);
    cmd(s, 0, 0, gpu_cmd_word0(GPU_OP_LAUNCH, 0, GPU_KERNEL_HANG, 0), gpu_launch_shape(1, 32),
        gpu_launch_res(16, 0), 0, 0, 0, 0);
    uint32_t h = signal(s, 0, 0);
    uint32_t a = signal(s, 0, 1);
    float alpha = 0.5f;
    uint32_t bits;
    memcpy(&bits, &alpha, 4);
    for (unsigned k = 0; k < s->iters; k++)
        cmd(s, 0, 1, gpu_cmd_word0(GPU_OP_LAUNCH, 0, GPU_KERNEL_SAXPY, 0),
            gpu_launch_shape((uint32_t)grid_of(s, x), s->block), launch_res(s), s->dA, s->dB, x,
            bits);
    uint32_t e = signal(s, 0, 1);
    copy(s, 0, 1, GPU_COPY_D2H, 0, s->dB, s->hC, 4 * x);
    uint32_t f = signal(s, 0, 1);
    wait_for(s, f);
    host(s, H_RECORD, 0, (uint64_t)a | (uint64_t)e << 20);
    host(s, H_CHECK, 0, 0);
    wait_for(s, h);
    host(s, H_RECORD, 1, h); /* the hung queue's signal: its errors */
}

static void build(struct gs *s)
{
    if (s->test == T_HANG) {
        build_hang(s);
        return;
    }
    for (uint32_t i = 0; i < s->nSize; i++) {
        if (s->test == T_BANDWIDTH)
            build_bandwidth(s, i);
        else if (s->test == T_P2P)
            build_p2p(s, i);
        else if (s->test == T_ALLREDUCE)
            build_allreduce(s, i);
        else
            build_kernel_test(s, i);
    }
    if (s->test == T_P2P)
        build_latency(s);
}

/* --- host computations ------------------------------------------------------ */

static struct gpu_signal sig_read(const struct gs *s, uint32_t slot)
{
    struct gpu_signal g;
    hostmem_read(s->mem, sig_addr(s, slot), &g, sizeof g);
    return g;
}

static float input(uint64_t i, unsigned which)
{
    /* small exact values: sums and products stay exact long enough */
    return (float)((int)((i * (which ? 7 : 13) + which) % 17) - 8) * 0.25f;
}

static void fill_allreduce(struct gs *s, uint64_t b)
{
    float *f = malloc(b);
    if (!f)
        orr_oom();
    for (unsigned g = 0; g < s->nGpu; g++) {
        for (uint64_t k = 0; k < b / 4; k++)
            f[k] = ar_input(g, k);
        hostmem_write(s->mem, ar_in(s, g, b), f, b);
    }
    free(f);
}

static void fill(struct gs *s, uint32_t i)
{
    uint64_t x = s->aSize[i], n = buf_bytes(s, x);
    layout(s, x);
    if (s->test == T_ALLREDUCE) {
        fill_allreduce(s, x);
        return;
    }
    if (n > s->verify_max && s->test != T_BANDWIDTH && s->test != T_P2P)
        return;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        orr_oom();
    for (unsigned which = 0; which < 2; which++) {
        if (s->test == T_BANDWIDTH || s->test == T_P2P) {
            for (uint64_t k = 0; k < n; k++)
                buf[k] = (uint8_t)(k * 131 + i * 7 + which + 1);
        } else {
            float *f = (float *)buf;
            for (uint64_t k = 0; k < n / 4; k++)
                f[k] = input(k, which);
        }
        hostmem_write(s->mem, which ? s->hB : s->hA, buf, n);
        if (s->test == T_BANDWIDTH || s->test == T_P2P)
            break; /* B is the destination */
    }
    free(buf);
}

static void fail_check(struct orr_component *c, struct gs *s, uint32_t i, uint64_t at, double got,
                       double want)
{
    orr_sim_fail(c, "%s, size %llu: result %llu is %g, the host computed %g", tests[s->test],
                 (unsigned long long)s->aSize[i], (unsigned long long)at, got, want);
}

/* Every GPU's result is the sum of every GPU's input (exact: the inputs
 * are small multiples of 1/4, so any order of the additions agrees). */
static void check_allreduce(struct orr_component *c, struct gs *s, uint32_t i)
{
    uint64_t b = s->aSize[i];
    float *f = malloc(b);
    if (!f)
        orr_oom();
    for (unsigned g = 0; g < s->nGpu; g++) {
        hostmem_read(s->mem, ar_out(s, g, b), f, b);
        for (uint64_t k = 0; k < b / 4; k++) {
            float want = 0;
            for (unsigned h = 0; h < s->nGpu; h++)
                want += ar_input(h, k);
            if (f[k] != want) {
                fail_check(c, s, i, g * (b / 4) + k, f[k], want);
                free(f);
                return;
            }
        }
    }
    free(f);
    s->checks->v++;
}

static void check(struct orr_component *c, struct gs *s, uint32_t i)
{
    uint64_t x = s->aSize[i], n = buf_bytes(s, x);
    layout(s, x);
    if (s->test == T_ALLREDUCE) {
        check_allreduce(c, s, i);
        return;
    }
    if (s->test == T_BANDWIDTH || s->test == T_P2P) {
        uint8_t *a = malloc(n), *b = malloc(n);
        if (!a || !b)
            orr_oom();
        hostmem_read(s->mem, s->hA, a, n);
        hostmem_read(s->mem, s->test == T_P2P ? s->hC : s->hB, b, n);
        for (uint64_t k = 0; k < n; k++)
            if (a[k] != b[k]) {
                fail_check(c, s, i, k, b[k], a[k]);
                break;
            }
        free(a);
        free(b);
        s->checks->v++;
        return;
    }
    if (s->test == T_REDUCE) {
        float got;
        double want = 0;
        hostmem_read(s->mem, s->hC, &got, 4);
        for (uint64_t k = 0; k < x; k++)
            want += input(k, 0);
        if (fabs(got - want) > 1e-6 * (double)x + 1e-3)
            fail_check(c, s, i, 0, got, want);
        s->checks->v++;
        return;
    }
    float *out = malloc(n);
    if (!out)
        orr_oom();
    hostmem_read(s->mem, s->hC, out, n);
    if (s->test == T_SAXPY || s->test == T_HANG) {
        for (uint64_t k = 0; k < x; k++) {
            float y = input(k, 1);
            for (unsigned r = 0; r < s->iters; r++)
                y = 0.5f * input(k, 0) + y;
            if (out[k] != y) {
                fail_check(c, s, i, k, out[k], y);
                break;
            }
        }
    } else { /* gemm: a double-precision reference, relative to the terms' size */
        for (uint64_t r = 0; r < x; r++)
            for (uint64_t col = 0; col < x; col++) {
                double want = 0, mag = 0;
                for (uint64_t k = 0; k < x; k++) {
                    double t = (double)input(r * x + k, 0) * input(k * x + col, 1);
                    want += t;
                    mag += fabs(t);
                }
                double got = out[r * x + col];
                if (fabs(got - want) > 1e-5 * mag + 1e-6) {
                    fail_check(c, s, i, r * x + col, got, want);
                    r = x;
                    break;
                }
            }
    }
    free(out);
    s->checks->v++;
}

/* The figure between two signals: per test, what moved or was computed. */
static void record(struct orr_component *c, struct gs *s, uint32_t i, uint64_t arg)
{
    uint32_t mask = (1u << 20) - 1;
    if (s->test == T_HANG) {
        struct gpu_signal g = sig_read(s, (uint32_t)(arg & mask));
        if (i == 1) {
            s->aFig[1][0]->v = (double)g.errors;
            return;
        }
        struct gpu_signal e = sig_read(s, (uint32_t)(arg >> 20 & mask));
        if (e.errors) { /* the healthy queue must not lose anything to the reset */
            s->errors->v += e.errors;
            orr_sim_fail(c, "hang: the healthy queue reported %llu failed commands",
                         (unsigned long long)e.errors);
            return;
        }
        double t = (double)(e.time_ps - g.time_ps) / 1e12;
        s->aFig[0][0]->v = 12.0 * (double)s->aSize[0] * s->iters / t / 1e9;
        return;
    }
    struct gpu_signal a = sig_read(s, (uint32_t)(arg & mask)),
                      m = sig_read(s, (uint32_t)(arg >> 20 & mask));
    if (a.errors || m.errors) {
        s->errors->v += m.errors;
        orr_sim_fail(c, "%s: the GPU reported %llu failed commands", tests[s->test],
                     (unsigned long long)m.errors);
        return;
    }
    double t = (double)(m.time_ps - a.time_ps) / 1e12;
    double x = (double)(i < GS_MAX_SIZES ? s->aSize[i] : 4);
    switch (s->test) {
    case T_BANDWIDTH: {
        struct gpu_signal e = sig_read(s, (uint32_t)(arg >> 40 & mask));
        s->aFig[0][i]->v = x * s->iters / t / 1e9;
        s->aFig[1][i]->v = x * s->iters / ((double)(e.time_ps - m.time_ps) / 1e12) / 1e9;
        break;
    }
    case T_SAXPY:
        s->aFig[0][i]->v = 12.0 * x * s->iters / t / 1e9;
        break;
    case T_REDUCE:
        s->aFig[0][i]->v = 4.0 * x * s->iters / t / 1e9;
        break;
    case T_GEMM:
        s->aFig[0][i]->v = 2.0 * x * x * x * s->iters / t / 1e12;
        break;
    case T_ALLREDUCE: {
        /* from the earliest start to the latest end over every GPU */
        uint64_t t0 = UINT64_MAX, t1 = 0, errs = 0;
        for (unsigned g = 0; g < s->nGpu; g++) {
            struct gpu_signal ga = sig_read(s, (uint32_t)(arg & mask) + g),
                              ge = sig_read(s, (uint32_t)(arg >> 20 & mask) + g);
            t0 = ga.time_ps < t0 ? ga.time_ps : t0;
            t1 = ge.time_ps > t1 ? ge.time_ps : t1;
            errs += ge.errors;
        }
        if (errs) {
            s->errors->v += errs;
            orr_sim_fail(c, "allreduce: the GPUs reported %llu failed commands",
                         (unsigned long long)errs);
            return;
        }
        double secs = (double)(t1 - t0) / 1e12;
        s->aFig[0][i]->v = 2.0 * (s->nGpu - 1) / s->nGpu * x / secs / 1e9;
        s->aFig[1][i]->v = x / secs / 1e9;
        break;
    }
    case T_P2P:
        if (i == GS_MAX_SIZES)
            s->latency->v = t / s->iters * 1e6;
        else
            s->aFig[0][i]->v = x * s->iters / t / 1e9;
        break;
    default:
        break;
    }
}

/* Both directions at once: from the earlier start to the later end. */
static void record_bidir(struct orr_component *c, struct gs *s, uint32_t i, uint64_t arg,
                         uint64_t arg2)
{
    uint32_t mask = (1u << 20) - 1;
    struct gpu_signal a0 = sig_read(s, (uint32_t)(arg & mask)),
                      e0 = sig_read(s, (uint32_t)(arg >> 20 & mask)),
                      a1 = sig_read(s, (uint32_t)(arg2 & mask)),
                      e1 = sig_read(s, (uint32_t)(arg2 >> 20 & mask));
    if (e0.errors || e1.errors) {
        s->errors->v += e0.errors + e1.errors;
        orr_sim_fail(c, "p2p: the GPUs reported %llu failed commands",
                     (unsigned long long)(e0.errors + e1.errors));
        return;
    }
    uint64_t t0 = a0.time_ps < a1.time_ps ? a0.time_ps : a1.time_ps;
    uint64_t t1 = e0.time_ps > e1.time_ps ? e0.time_ps : e1.time_ps;
    s->aFig[1][i]->v = 2.0 * (double)s->aSize[i] * s->iters / ((double)(t1 - t0) / 1e12) / 1e9;
}

/* --- running the program ----------------------------------------------------- */

static void mmio_write(struct gs *s, unsigned gpu, uint64_t off, uint64_t v)
{
    struct orr_msg m = {.size = PCIE_MMIO_BYTES,
                        .data = {pcie_mmio_pack(PCIE_MMIO_WR, 8,
                                                s->bar_base + gpu * s->bar_size + off),
                                 v}};
    orr_outq_send(&s->q, s->pcie, &m, 0);
}

static bool slot_landed(const struct gs *s, uint32_t slot)
{
    return sig_read(s, slot).value == slot + 1;
}

static void run(struct orr_component *c, struct gs *s)
{
    s->waiting = false;
    while (s->pc < s->nStep && !s->done) {
        const struct step *st = &s->aStep[s->pc];
        switch (st->kind) {
        case S_SUBMIT:
            for (unsigned w = 0; w < GPU_CMD_WORDS; w++)
                mmio_write(s, st->gpu, GPU_REG_QUEUE(st->queue) + 8 * w, st->w[w]);
            s->submitted->v++;
            break;
        case S_WAIT:
            if (!slot_landed(s, (uint32_t)st->arg)) {
                s->waiting = true;
                if (!s->irq->link && !s->polling) { /* no interrupts: poll */
                    s->polling = true;
                    orr_timer(c, POLL, 1, 0, 0);
                }
                return;
            }
            break;
        case S_HOST:
            if (st->fn == H_FILL)
                fill(s, st->size);
            else if (st->fn == H_CHECK)
                check(c, s, st->size);
            else if (st->fn == H_RECORD)
                record(c, s, st->size, st->arg);
            else
                record_bidir(c, s, st->size, st->arg, st->arg2);
            break;
        case S_DELAY:
            s->pc++;
            orr_timer(c, st->arg, 2, 0, 0);
            return;
        }
        s->pc++;
    }
    if (!s->done) {
        s->done = true;
        orr_workload_done(c);
    }
}

static void gs_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct gs *s = c->state;
    if (ev->kind == ORR_TK_READY) {
        orr_outq_drain(&s->q, s->pcie);
        return;
    }
    if (ev->kind == ORR_TK_TIMER) {
        if (ev->port == 1)
            s->polling = false;
        if (s->waiting || ev->port == 2)
            run(c, s);
        if (ev->port == 1 && s->waiting && !s->polling) {
            s->polling = true;
            orr_timer(c, POLL, 1, 0, 0);
        }
        return;
    }
    if (ev->kind == ORR_TK_MSG && ev->port == s->irq->index && s->waiting) {
        /* an interrupt: the signal's write may still be on its way to
         * memory, so look now and then poll briefly */
        run(c, s);
        if (s->waiting && !s->polling) {
            s->polling = true;
            orr_timer(c, POLL, 1, 0, 0);
        }
    }
}

/* --- configuration ------------------------------------------------------------ */

static int err_at(struct orr_diag *d, const struct orr_params *p, const char *kp, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int err_at(struct orr_diag *d, const struct orr_params *p, const char *kp, const char *key,
                  const char *fmt, ...)
{
    char at[256], msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(at, sizeof at, "%s.%s", kp, key);
    orr_diag_error(d, orr_param_mark(p, key), at, "%s", msg);
    return ORR_ESCHEMA;
}

static int gs_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct gs *s = c->state;
    s->pcie = orr_port_add(c, "pcie");
    s->irq = orr_port_add(c, "irq");
    s->test = orr_param_enum(p, "test");
    s->iters = (unsigned)orr_param_u64(p, "iters");
    s->bar_base = orr_param_u64(p, "bar_base");
    s->bar_size = orr_param_u64(p, "bar_size");
    s->host_base = orr_param_u64(p, "host_base");
    s->verify_max = orr_param_u64(p, "verify_max");
    s->block = (uint32_t)orr_param_u64(p, "block");
    s->regs = (uint32_t)orr_param_u64(p, "regs");
    s->smem = orr_param_u64(p, "smem");
    s->p2p_mode = orr_param_enum(p, "p2p");
    s->host_overhead = orr_param_u64(p, "host_overhead");
    const char *mem = orr_param_str(p, "memory");
    s->mem = hostmem_for(c, mem && *mem ? mem : NULL);
    int rc = 0;
    bool by_bytes = s->test == T_BANDWIDTH || s->test == T_P2P || s->test == T_ALLREDUCE;
    s->sizesMark = *orr_param_mark(p, by_bytes ? "bytes" : "n");
    s->blockMark = *orr_param_mark(p, "block");
    s->regsMark = *orr_param_mark(p, "regs");
    s->smemMark = *orr_param_mark(p, "smem");
    if (by_bytes) {
        const char *const *v = orr_param_list(p, "bytes", &s->nSize);
        for (size_t i = 0; i < s->nSize && i < GS_MAX_SIZES; i++) {
            const char *why;
            if (orr_unit_parse(ORR_UNIT_SIZE, v[i], &s->aSize[i], &why) != 0)
                rc = err_at(d, p, c->keypath, "bytes", "'%s': %s", v[i], why);
            else if (s->aSize[i] == 0)
                rc = err_at(d, p, c->keypath, "bytes", "'%s': a copy of 0 bytes", v[i]);
        }
    } else {
        const uint64_t *v = orr_param_uints(p, "n", &s->nSize);
        for (size_t i = 0; i < s->nSize && i < GS_MAX_SIZES; i++)
            s->aSize[i] = v[i];
        if (s->test == T_GEMM)
            for (size_t i = 0; i < s->nSize && i < GS_MAX_SIZES; i++)
                if (s->aSize[i] > 65536)
                    rc = err_at(d, p, c->keypath, "n", "gemm size %llu above 65536",
                                (unsigned long long)s->aSize[i]);
    }
    if (s->nSize == 0 || s->nSize > GS_MAX_SIZES)
        rc = err_at(d, p, c->keypath, by_bytes ? "bytes" : "n", "between 1 and %u sizes (got %zu)",
                    GS_MAX_SIZES, s->nSize);
    size_t ng;
    s->aGpuName = orr_param_list(p, "gpus", &ng);
    s->gpusMark = *orr_param_mark(p, "gpus");
    if (ng > GS_MAX_GPUS)
        rc = err_at(d, p, c->keypath, "gpus", "at most %u GPUs (got %zu)", GS_MAX_GPUS, ng);
    if ((s->test == T_P2P || s->test == T_ALLREDUCE) && ng < 2)
        rc = err_at(d, p, c->keypath, "gpus", "%s needs 2 GPUs (got %zu)", tests[s->test], ng);
    for (size_t i = 0; s->test == T_ALLREDUCE && i < s->nSize && i < GS_MAX_SIZES; i++)
        if (ng && s->aSize[i] % (4 * ng))
            rc = err_at(d, p, c->keypath, "bytes",
                        "allreduce of %llu bytes: not a multiple of 4 bytes x %zu GPUs",
                        (unsigned long long)s->aSize[i], ng);
    s->nGpu = ng > GS_MAX_GPUS ? GS_MAX_GPUS : (unsigned)ng;
    if (rc)
        return rc;
    char name[64];
    const char *f0 = s->test == T_BANDWIDTH ? "h2d_gbps" : s->test == T_GEMM ? "tflops"
                   : s->test == T_P2P       ? "p2p_gbps" : s->test == T_REDUCE ? "reduce_gbps"
                   : s->test == T_ALLREDUCE ? "allreduce_busbw_gbps"
                                            : "saxpy_gbps";
    const char *u0 = s->test == T_GEMM ? "TFLOP/s" : "GB/s";
    for (size_t i = 0; i < s->nSize; i++) {
        char sz[32];
        if (by_bytes)
            orr_unit_format(ORR_UNIT_SIZE, s->aSize[i], sz, sizeof sz);
        else
            snprintf(sz, sizeof sz, "%llu", (unsigned long long)s->aSize[i]);
        if (s->test == T_HANG) {
            s->aFig[0][0] = orr_value_new(c, "saxpy_gbps", "GB/s");
            s->aFig[1][0] = orr_value_new(c, "hung_errors", "cmd");
            break;
        }
        snprintf(name, sizeof name, "%s.%s", f0, sz);
        s->aFig[0][i] = orr_value_new(c, name, u0);
        if (s->test == T_BANDWIDTH || s->test == T_ALLREDUCE ||
            (s->test == T_P2P && s->p2p_mode == 0)) {
            snprintf(name, sizeof name, "%s.%s",
                     s->test == T_BANDWIDTH   ? "d2h_gbps"
                     : s->test == T_ALLREDUCE ? "allreduce_algbw_gbps"
                                              : "p2p_bidir_gbps",
                     sz);
            s->aFig[1][i] = orr_value_new(c, name, "GB/s");
        }
    }
    if (s->test == T_P2P)
        s->latency = orr_value_new(c, "p2p_latency", "us");
    s->checks = orr_counter_new(c, "checks", "check");
    s->errors = orr_counter_new(c, "gpu_errors", "cmd");
    s->submitted = orr_counter_new(c, "commands", "cmd");
    return 0;
}

/* Every GPU named exists; the test's kernel fits their SMs and its
 * buffers their memory (both input errors, at the key that says so). */
static int gs_start(struct orr_component *c, struct orr_diag *d)
{
    struct gs *s = c->state;
    char at[256], why[200];
    if (!s->pcie->link) {
        orr_diag_error(d, &c->mark, c->keypath, "port 'pcie' of %s must be linked to a root "
                       "complex's host port", c->path);
        return ORR_ESCHEMA;
    }
    const char *const *names = s->aGpuName;
    snprintf(at, sizeof at, "%s.gpus", c->keypath);
    for (unsigned g = 0; g < s->nGpu; g++) {
        const struct orr_component *gpu = orr_sim_find(c->sim, names[g]);
        if (!gpu_is(gpu)) {
            orr_diag_error(d, &s->gpusMark, at, "'%s' is %s", names[g],
                           gpu ? "not a gpu" : "no component");
            return ORR_ESCHEMA;
        }
        s->aGpu[g] = gpu;
    }
    bool kernel = s->test == T_SAXPY || s->test == T_REDUCE || s->test == T_GEMM ||
                  s->test == T_HANG;
    const char *key =
        s->test == T_BANDWIDTH || s->test == T_P2P || s->test == T_ALLREDUCE ? "bytes" : "n";
    snprintf(at, sizeof at, "%s.%s", c->keypath, key);
    for (size_t i = 0; i < s->nSize; i++) {
        uint64_t need = 3 * ((buf_bytes(s, s->aSize[i]) + 4095) & ~(uint64_t)4095);
        for (unsigned g = 0; g < s->nGpu; g++) {
            if (need > gpu_memory_bytes(s->aGpu[g])) {
                orr_diag_error(d, &s->sizesMark, at,
                               "size %llu: its buffers (%llu bytes) do not fit %s's memory "
                               "(%llu bytes): a copy would run beyond the allocation",
                               (unsigned long long)s->aSize[i], (unsigned long long)need,
                               s->aGpu[g]->path,
                               (unsigned long long)gpu_memory_bytes(s->aGpu[g]));
                return ORR_ESCHEMA;
            }
            struct gpu_block_shape b = {.grid = grid_of(s, s->aSize[i]), .threads = s->block,
                                        .regs = s->regs, .smem = s->smem};
            if (kernel && gpu_shape_fits(s->aGpu[g], &b, why, sizeof why)) {
                const char *k2 = b.grid == 0 ? key : b.smem > 0 && strstr(why, "shared") ? "smem"
                                 : strstr(why, "register")                              ? "regs"
                                                                                        : "block";
                snprintf(at, sizeof at, "%s.%s", c->keypath, k2);
                const struct orr_mark *mk = k2 == key ? &s->sizesMark
                                            : k2[0] == 's'  ? &s->smemMark
                                            : k2[0] == 'r'  ? &s->regsMark
                                                            : &s->blockMark;
                orr_diag_error(d, mk, at, "size %llu on %s: %s",
                               (unsigned long long)s->aSize[i], s->aGpu[g]->path, why);
                return ORR_ESCHEMA;
            }
        }
    }
    build(s);
    run(c, s);
    return 0;
}

static void gs_destroy(struct orr_component *c)
{
    struct gs *s = c->state;
    free(s->aStep);
    orr_outq_free(&s->q);
}

static const struct orr_metric_doc gs_metrics[] = {
    {"h2d_gbps.<SIZE...>", "GB/s", ORR_METRIC_VALUE, "bandwidth: host-to-device copy rate"},
    {"d2h_gbps.<SIZE...>", "GB/s", ORR_METRIC_VALUE, "bandwidth: device-to-host copy rate"},
    {"saxpy_gbps.<N>", "GB/s", ORR_METRIC_VALUE, "saxpy: 12 bytes per element over kernel time"},
    {"saxpy_gbps", "GB/s", ORR_METRIC_VALUE, "hang: the healthy queue's saxpy rate"},
    {"hung_errors", "cmd", ORR_METRIC_VALUE, "hang: failed commands the hung queue reported"},
    {"reduce_gbps.<N>", "GB/s", ORR_METRIC_VALUE, "reduce: 4 bytes per element over kernel time"},
    {"tflops.<N>", "TFLOP/s", ORR_METRIC_VALUE, "gemm: 2 n^3 per launch over kernel time"},
    {"p2p_gbps.<SIZE...>", "GB/s", ORR_METRIC_VALUE, "p2p: GPU 0 to GPU 1 copy rate"},
    {"p2p_bidir_gbps.<SIZE...>", "GB/s", ORR_METRIC_VALUE,
     "p2p (nvlink): both directions at once, bytes of both over the time"},
    {"p2p_latency", "us", ORR_METRIC_VALUE, "p2p: a 4-byte peer copy, signal to signal"},
    {"allreduce_busbw_gbps.<SIZE...>", "GB/s", ORR_METRIC_VALUE,
     "allreduce: bus bandwidth, 2 (n-1)/n x bytes over the time"},
    {"allreduce_algbw_gbps.<SIZE...>", "GB/s", ORR_METRIC_VALUE,
     "allreduce: algorithm bandwidth, bytes over the time"},
    {"checks", "check", ORR_METRIC_COUNTER, "results checked against the host's (a mismatch "
                                             "fails the run)"},
    {"gpu_errors", "cmd", ORR_METRIC_COUNTER, "failed commands the GPUs reported"},
    {"commands", "cmd", ORR_METRIC_COUNTER, "commands submitted"},
    {NULL},
};

const struct orr_component_type orr_gpu_stream_type = {
    .name = "gpu_stream",
    .summary = "CUDA-stream-like host program: copies, kernels and checks on GPUs (a workload)",
    .params = gs_params,
    .ports = gs_ports,
    .metrics = gs_metrics,
    .state_size = sizeof(struct gs),
    .workload = true,
    .create = gs_create,
    .start = gs_start,
    .handle = gs_handle,
    .destroy = gs_destroy,
};
