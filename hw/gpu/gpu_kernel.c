/* gpu_kernel: SMs running kernels, at the level of thread-block waves
 * (docs/gpu.md, "Kernels").
 *
 * Occupancy: blocks per SM = min(sm_blocks, sm_threads / threads,
 * sm_registers / (regs x threads rounded up to whole warps), sm_shared /
 * smem); 0 means the block does not fit (an error). A wave is up to
 * sms x that many blocks; a kernel is ceil(grid / wave) waves, the last
 * one partial (wave quantisation). Each wave takes
 *
 *   max( k x flops_block / (flops_cycle[p] x clock x eff),      compute per SM
 *        k x l2_bytes_block / (sm_bandwidth x eff),             an SM's loads/stores
 *        W x l2_bytes_block / l2_bandwidth,                     L2
 *        hbm_bytes_wave / hbm_bandwidth )                       HBM
 *   + wave_overhead
 *
 * with W the wave's blocks, k = ceil(W / sms) blocks on the busiest SM and
 * eff = min(1, resident warps / latency_warps) (too few warps cannot hide
 * latency). All arithmetic is integer (ps). A kernel costs
 * launch_overhead before its first wave; one timer event per wave.
 *
 * HBM traffic per wave: streaming kernels (memset, copy, saxpy, add, reduce)
 * touch their bytes once; GEMM's L2 catches reuse inside a wave — the
 * wave's blocks cover a near-square patch of C tiles (a swizzled order),
 * so HBM carries the A row panels and B column panels of that patch and
 * the C tiles, not every block's loads; synthetic kernels whose footprint
 * fits L2 read it once, else every load goes to HBM.
 *
 * Functional kernels compute real values in device memory when they touch
 * at most functional_max bytes (else they are timed only, counted). The
 * values are computed at the kernel's start; nothing can observe device
 * memory before the kernel retires (commands of a queue run in order). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_int.h"
#include "orrery/error.h"

#define WARP 32u

int gpu_shape_check(const struct gpu *s, unsigned sms, const struct gpu_block_shape *b,
                    unsigned *per_sm, char *why, size_t n)
{
    *per_sm = 0;
    if (b->grid == 0) {
        snprintf(why, n, "a grid of 0 blocks");
        return 1;
    }
    if (b->threads == 0 || b->threads > s->block_threads) {
        snprintf(why, n, "%u threads per block (the GPU allows 1..%u)", b->threads,
                 s->block_threads);
        return 1;
    }
    uint64_t warps = (b->threads + WARP - 1) / WARP;
    uint64_t regs = (uint64_t)b->regs * warps * WARP;
    if (regs > s->sm_regs) {
        snprintf(why, n, "a block needs %llu registers (%u per thread); an SM has %llu",
                 (unsigned long long)regs, b->regs, (unsigned long long)s->sm_regs);
        return 1;
    }
    if (b->smem > s->sm_smem) {
        snprintf(why, n, "a block needs %llu bytes of shared memory; an SM has %llu",
                 (unsigned long long)b->smem, (unsigned long long)s->sm_smem);
        return 1;
    }
    uint64_t k = s->sm_blocks;
    if (s->sm_threads / b->threads < k)
        k = s->sm_threads / b->threads;
    if (regs && s->sm_regs / regs < k)
        k = s->sm_regs / regs;
    if (b->smem && s->sm_smem / b->smem < k)
        k = s->sm_smem / b->smem;
    if (k == 0 || sms == 0) {
        snprintf(why, n, "no SM can hold a block of %u threads", b->threads);
        return 1;
    }
    *per_sm = (unsigned)k;
    return 0;
}

static struct gpu_block_shape shape_of(const struct gpu_cmd *k)
{
    return (struct gpu_block_shape){.grid = k->w[1] & 0xFFFFFFFFu,
                                    .threads = (uint32_t)(k->w[1] >> 32) & 0xFFFF,
                                    .regs = (uint32_t)(k->w[2] & 0xFFFF),
                                    .smem = (k->w[2] >> 16) & 0xFFFFFFFFu};
}

/* What a kernel's arguments reach in device memory: up to three ranges. */
struct kranges {
    unsigned n;
    uint64_t addr[3], len[3];
    bool write[3];
};

static void kernel_ranges(const struct gpu_cmd *k, struct kranges *r)
{
    uint64_t n = k->w[5];
    memset(r, 0, sizeof *r);
    switch (gpu_cmd_kind(k->w[0])) {
    case GPU_KERNEL_MEMSET:
        *r = (struct kranges){1, {k->w[3]}, {k->w[4]}, {true}};
        break;
    case GPU_KERNEL_COPY:
        *r = (struct kranges){2, {k->w[3], k->w[4]}, {n, n}, {false, true}};
        break;
    case GPU_KERNEL_SAXPY:
    case GPU_KERNEL_ADD:
        *r = (struct kranges){2, {k->w[3], k->w[4]}, {4 * n, 4 * n}, {false, true}};
        break;
    case GPU_KERNEL_REDUCE:
        *r = (struct kranges){2, {k->w[3], k->w[4]}, {4 * n, 4}, {false, true}};
        break;
    case GPU_KERNEL_GEMM: {
        uint64_t M = k->w[6] & GPU_GEMM_DIM_MAX, N = (k->w[6] >> 20) & GPU_GEMM_DIM_MAX,
                 K = (k->w[6] >> 40) & GPU_GEMM_DIM_MAX;
        *r = (struct kranges){3, {k->w[3], k->w[4], k->w[5]}, {4 * M * K, 4 * K * N, 4 * M * N},
                              {false, false, true}};
        break;
    }
    default:
        break;
    }
}

static uint64_t useful_flops(const struct gpu_cmd *k, const struct gpu_block_shape *b);

/* Whether a kernel's values are computed (else it is timed only): it
 * touches at most functional_max bytes and does at most functional_flops. */
static bool kernel_functional(const struct gpu *s, const struct gpu_cmd *k,
                              const struct gpu_block_shape *b)
{
    struct kranges kr;
    kernel_ranges(k, &kr);
    uint64_t touched = 0;
    for (unsigned i = 0; i < kr.n; i++)
        touched += kr.len[i];
    return kr.n && touched <= s->functional_max && useful_flops(k, b) <= s->functional_flops;
}

unsigned gpu_kernel_check(const struct gpu *s, unsigned q)
{
    const struct gpu_cmd *k = &s->aQueue[q].cur;
    unsigned part = s->aQueue[q].part, per_sm;
    char why[160];
    if (gpu_cmd_kind(k->w[0]) >= GPU_KERNEL_KINDS)
        return GPU_ERR_BAD_OP;
    struct gpu_block_shape b = shape_of(k);
    if (gpu_shape_check(s, s->aPart[part].sms, &b, &per_sm, why, sizeof why))
        return GPU_ERR_SHAPE;
    if (gpu_cmd_kind(k->w[0]) == GPU_KERNEL_SYNTH && k->w[5] >= GPU_PRECISIONS)
        return GPU_ERR_BAD_OP;
    struct kranges r;
    kernel_ranges(k, &r);
    bool functional = kernel_functional(s, k, &b);
    for (unsigned i = 0; i < r.n; i++) {
        uint64_t abs;
        unsigned err =
            gpu_mem_check(s, part, r.addr[i], r.len[i], r.write[i] && functional, &abs);
        if (err)
            return err;
    }
    return 0;
}

/* --- the cost model -------------------------------------------------------- */

struct kcost {
    unsigned precision;
    uint64_t flops_block, l2_block; /* per block */
    uint64_t stream_bytes;          /* streaming kernels: HBM bytes over the whole grid */
    uint64_t gemm_K, gemm_gx, gemm_gy; /* GEMM: panels per wave */
    uint64_t footprint;             /* SYNTH */
    bool synth;
};

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

static void kernel_cost(const struct gpu_cmd *k, const struct gpu_block_shape *b,
                        struct kcost *c)
{
    memset(c, 0, sizeof *c);
    uint64_t n = k->w[5];
    switch (gpu_cmd_kind(k->w[0])) {
    case GPU_KERNEL_MEMSET:
        c->stream_bytes = k->w[4];
        break;
    case GPU_KERNEL_COPY:
        c->stream_bytes = 2 * n;
        break;
    case GPU_KERNEL_SAXPY:
        c->stream_bytes = 12 * n;
        c->flops_block = div_up(2 * n, b->grid);
        break;
    case GPU_KERNEL_ADD:
        c->stream_bytes = 12 * n;
        c->flops_block = div_up(n, b->grid);
        break;
    case GPU_KERNEL_REDUCE:
        c->stream_bytes = 4 * n;
        c->flops_block = div_up(n, b->grid);
        break;
    case GPU_KERNEL_GEMM: {
        uint64_t M = k->w[6] & GPU_GEMM_DIM_MAX, N = (k->w[6] >> 20) & GPU_GEMM_DIM_MAX,
                 K = (k->w[6] >> 40) & GPU_GEMM_DIM_MAX, T = GPU_GEMM_TILE;
        c->flops_block = 2 * T * T * K;
        c->l2_block = 4 * (2 * T * K + T * T);
        c->gemm_K = K;
        c->gemm_gx = div_up(N, T);
        c->gemm_gy = div_up(M, T);
        break;
    }
    case GPU_KERNEL_SYNTH:
        c->synth = true;
        c->precision = (unsigned)k->w[5];
        c->flops_block = k->w[3] * b->threads;
        c->l2_block = k->w[4] * b->threads;
        c->footprint = k->w[6];
        break;
    default:
        break;
    }
    if (c->stream_bytes)
        c->l2_block = div_up(c->stream_bytes, b->grid);
}

/* ps for amount at rate per second, rounded up (integer: no float decides time) */
static orr_time_t ps_for(uint64_t amount, uint64_t rate_per_s)
{
    if (!rate_per_s)
        return 0;
    return (orr_time_t)(((unsigned __int128)amount * ORR_S + rate_per_s - 1) / rate_per_s);
}

static uint64_t isqrt_up(uint64_t v)
{
    uint64_t r = 0;
    while (r * r < v)
        r++;
    return r;
}

/* The partition's share of the device's HBM and L2: its memory's share. */
static uint64_t share(const struct gpu *s, unsigned part, uint64_t whole)
{
    if (s->nPart == 0)
        return whole;
    return (uint64_t)((unsigned __int128)whole * s->aPart[part].mem_size / s->memory);
}

static uint64_t wave_hbm(const struct gpu *s, unsigned part, const struct kcost *k, uint64_t W,
                         uint64_t waves)
{
    if (k->gemm_K) {
        uint64_t r = isqrt_up(W), T = GPU_GEMM_TILE;
        if (r > k->gemm_gy)
            r = k->gemm_gy;
        uint64_t cols = div_up(W, r);
        if (cols > k->gemm_gx)
            cols = k->gemm_gx;
        return 4 * k->gemm_K * T * (r + cols) + 4 * T * T * W;
    }
    if (k->synth && k->footprint <= share(s, part, s->l2_size))
        return div_up(k->footprint, waves);
    return W * k->l2_block;
}

static orr_time_t wave_time(const struct gpu *s, unsigned part, const struct kcost *k,
                            const struct gpu_block_shape *b, uint64_t W, uint64_t waves)
{
    unsigned sms = s->aPart[part].sms;
    uint64_t per_sm = div_up(W, sms), warps = per_sm * div_up(b->threads, WARP);
    uint64_t slow_num = warps < s->latency_warps ? s->latency_warps : 1;
    uint64_t slow_den = warps < s->latency_warps ? warps : 1;
    orr_time_t t_comp = ps_for(per_sm * k->flops_block, s->flops_cycle[k->precision] * s->clock_hz);
    orr_time_t t_sm = ps_for(per_sm * k->l2_block, s->sm_Bps);
    t_comp = t_comp * slow_num / slow_den;
    t_sm = t_sm * slow_num / slow_den;
    orr_time_t t_l2 = ps_for(W * k->l2_block, share(s, part, s->l2_Bps));
    orr_time_t t_hbm = ps_for(wave_hbm(s, part, k, W, waves), share(s, part, s->hbm_Bps));
    orr_time_t t = t_comp;
    if (t_sm > t)
        t = t_sm;
    if (t_l2 > t)
        t = t_l2;
    if (t_hbm > t)
        t = t_hbm;
    return t + s->wave_overhead;
}

/* --- functional kernels ---------------------------------------------------- */

static void *fetch(const struct gpu *s, uint64_t addr, uint64_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        orr_oom();
    gpu_mem_read(s, addr, p, n);
    return p;
}

static void run_functional(struct gpu *s, unsigned part, const struct gpu_cmd *k,
                           const struct gpu_block_shape *b)
{
    uint64_t base = s->aPart[part].mem_base, n = k->w[5];
    switch (gpu_cmd_kind(k->w[0])) {
    case GPU_KERNEL_MEMSET: {
        uint64_t len = k->w[4];
        uint8_t *p = malloc(len ? len : 1);
        if (!p)
            orr_oom();
        uint32_t pat = (uint32_t)k->w[5];
        for (uint64_t i = 0; i < len; i++)
            p[i] = (uint8_t)(pat >> (8 * (i % 4)));
        gpu_mem_write(s, base + k->w[3], p, len);
        free(p);
        break;
    }
    case GPU_KERNEL_COPY: {
        void *p = fetch(s, base + k->w[3], n);
        gpu_mem_write(s, base + k->w[4], p, n);
        free(p);
        break;
    }
    case GPU_KERNEL_SAXPY: {
        float a, *x = fetch(s, base + k->w[3], 4 * n), *y = fetch(s, base + k->w[4], 4 * n);
        uint32_t bits = (uint32_t)k->w[6];
        memcpy(&a, &bits, 4);
        for (uint64_t i = 0; i < n; i++)
            y[i] = a * x[i] + y[i];
        gpu_mem_write(s, base + k->w[4], y, 4 * n);
        free(x);
        free(y);
        break;
    }
    case GPU_KERNEL_ADD: {
        float *x = fetch(s, base + k->w[3], 4 * n), *y = fetch(s, base + k->w[4], 4 * n);
        for (uint64_t i = 0; i < n; i++)
            y[i] += x[i];
        gpu_mem_write(s, base + k->w[4], y, 4 * n);
        free(x);
        free(y);
        break;
    }
    case GPU_KERNEL_REDUCE: {
        /* each block sums a contiguous chunk in order; block sums are added
         * in block order (a fixed order, unlike a GPU's atomics) */
        float *x = fetch(s, base + k->w[3], 4 * n), total = 0;
        uint64_t chunk = div_up(n, b->grid);
        for (uint64_t blk = 0; blk * chunk < n; blk++) {
            float part_sum = 0;
            for (uint64_t i = blk * chunk; i < n && i < (blk + 1) * chunk; i++)
                part_sum += x[i];
            total += part_sum;
        }
        gpu_mem_write(s, base + k->w[4], &total, 4);
        free(x);
        break;
    }
    case GPU_KERNEL_GEMM: {
        uint64_t M = k->w[6] & GPU_GEMM_DIM_MAX, N = (k->w[6] >> 20) & GPU_GEMM_DIM_MAX,
                 K = (k->w[6] >> 40) & GPU_GEMM_DIM_MAX;
        float *A = fetch(s, base + k->w[3], 4 * M * K), *B = fetch(s, base + k->w[4], 4 * K * N);
        float *C = malloc(M && N ? 4 * M * N : 1);
        if (!C)
            orr_oom();
        for (uint64_t i = 0; i < M; i++)
            for (uint64_t j = 0; j < N; j++) {
                float acc = 0;
                for (uint64_t kk = 0; kk < K; kk++)
                    acc += A[i * K + kk] * B[kk * N + j];
                C[i * N + j] = acc;
            }
        gpu_mem_write(s, base + k->w[5], C, 4 * M * N);
        free(A);
        free(B);
        free(C);
        break;
    }
    default:
        break;
    }
}

static uint64_t useful_flops(const struct gpu_cmd *k, const struct gpu_block_shape *b)
{
    uint64_t n = k->w[5];
    switch (gpu_cmd_kind(k->w[0])) {
    case GPU_KERNEL_SAXPY:
        return 2 * n;
    case GPU_KERNEL_REDUCE:
    case GPU_KERNEL_ADD:
        return n;
    case GPU_KERNEL_GEMM:
        return 2 * (k->w[6] & GPU_GEMM_DIM_MAX) * ((k->w[6] >> 20) & GPU_GEMM_DIM_MAX) *
               ((k->w[6] >> 40) & GPU_GEMM_DIM_MAX);
    case GPU_KERNEL_SYNTH:
        return k->w[3] * b->threads * b->grid;
    default:
        return 0;
    }
}

/* --- running --------------------------------------------------------------- */

void gpu_kernel_start(struct orr_component *c, struct gpu *s, unsigned q)
{
    const struct gpu_cmd *k = &s->aQueue[q].cur;
    unsigned part = s->aQueue[q].part, per_sm;
    struct gpu_part *pt = &s->aPart[part];
    struct gpu_run *r = &pt->run;
    struct gpu_block_shape b = shape_of(k);
    char why[160];
    gpu_shape_check(s, pt->sms, &b, &per_sm, why, sizeof why); /* checked at dispatch */
    uint64_t wave = (uint64_t)pt->sms * per_sm, waves = div_up(b.grid, wave);
    struct kcost cost;
    kernel_cost(k, &b, &cost);
    *r = (struct gpu_run){.busy = true, .queue = q, .seq = ++s->kernel_seq, .waves_left = waves,
                          .t0 = orr_now(c->sim)};
    r->wave_blocks = wave;
    r->last_blocks = b.grid - (waves - 1) * wave;
    r->wave_time = wave_time(s, part, &cost, &b, wave, waves);
    r->last_wave_time = wave_time(s, part, &cost, &b, r->last_blocks, waves);
    r->hbm_wave = wave_hbm(s, part, &cost, wave, waves);
    r->hbm_last = wave_hbm(s, part, &cost, r->last_blocks, waves);
    r->flops = useful_flops(k, &b);
    struct kranges kr;
    kernel_ranges(k, &kr);
    if (kernel_functional(s, k, &b))
        run_functional(s, part, k, &b);
    else if (kr.n)
        s->timing_only->v++;
    if (s->watchdog)
        orr_timer(c, s->watchdog, T_WATCHDOG, part, r->seq);
    if (gpu_cmd_kind(k->w[0]) == GPU_KERNEL_HANG)
        return; /* no wave ever ends */
    orr_timer(c, s->launch_overhead + (waves == 1 ? r->last_wave_time : r->wave_time), T_WAVE,
              part, r->seq);
}

void gpu_kernel_timer(struct orr_component *c, struct gpu *s, const struct orr_event *ev)
{
    unsigned part = (unsigned)ev->data[0];
    struct gpu_run *r = &s->aPart[part].run;
    if (!r->busy || r->seq != ev->data[1])
        return;
    if (ev->port == T_WATCHDOG) {
        gpu_part_reset(c, s, part);
        return;
    }
    bool last = r->waves_left == 1;
    s->waves->v++;
    s->blocks->v += last ? r->last_blocks : r->wave_blocks;
    s->hbm_bytes->v += last ? r->hbm_last : r->hbm_wave;
    if (--r->waves_left) {
        orr_timer(c, r->waves_left == 1 ? r->last_wave_time : r->wave_time, T_WAVE, part, r->seq);
        return;
    }
    r->busy = false;
    s->kernels->v++;
    s->flops->v += r->flops;
    orr_time_t t = orr_now(c->sim) - r->t0;
    orr_histogram_add(s->kernel_time, t / ORR_NS);
    orr_trace_point(c, s->kKernel, (uint64_t)r->queue << 8 | gpu_cmd_kind(s->aQueue[r->queue].cur.w[0]),
                    t);
    gpu_retire(c, s, r->queue, 0);
}
