/* The GPU model (docs/gpu.md): occupancy limits per SM, exact kernel times
 * from the roofline (an HBM-bound wave, a partial last wave, too few warps
 * to hide latency), GEMM's HBM traffic per wave, functional results, and
 * bad commands at run time retiring with errors counted per queue and read
 * back through the BAR, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/gpu/gpu_int.h"
#include "hw/registry.h"
#include "orrery/gpu.h"
#include "orrery/scenario.h"
#include "testutil.h"

/* --- occupancy ------------------------------------------------------------ */

static void test_occupancy(void **state)
{
    (void)state;
    struct gpu s = {.sm_threads = 2048, .sm_blocks = 32, .sm_regs = 65536,
                    .sm_smem = 100 * 1024, .block_threads = 1024};
    static const struct {
        uint64_t grid;
        uint32_t threads, regs;
        uint64_t smem;
        int bad;
        unsigned per_sm;
    } aCase[] = {
        {10, 256, 32, 0, 0, 8},          /* threads: 2048 / 256 */
        {10, 256, 64, 0, 0, 4},          /* registers: 65536 / (64 x 256) */
        {10, 128, 16, 40 * 1024, 0, 2},  /* shared memory: 100 / 40 KiB */
        {10, 96, 200, 0, 0, 3},          /* 200 x 96 registers: 3 */
        {10, 33, 255, 0, 0, 4},          /* 33 threads take 2 warps: 255 x 64 */
        {10, 32, 1, 0, 0, 32},           /* sm_blocks */
        {0, 256, 32, 0, 1, 0},           /* a grid of 0 */
        {10, 1025, 32, 0, 1, 0},         /* a block above block_threads */
        {10, 1024, 255, 0, 1, 0},        /* 261120 registers */
        {10, 1024, 100, 0, 1, 0},        /* 102400 registers: above one SM, below two */
        {10, 64, 32, 101 * 1024, 1, 0},  /* more shared memory than an SM */
    };
    for (size_t i = 0; i < sizeof aCase / sizeof aCase[0]; i++) {
        struct gpu_block_shape b = {aCase[i].grid, aCase[i].threads, aCase[i].regs,
                                    aCase[i].smem};
        unsigned per_sm = 99;
        char why[160] = "";
        int bad = gpu_shape_check(&s, 4, &b, &per_sm, why, sizeof why);
        if (bad != aCase[i].bad || per_sm != aCase[i].per_sm)
            fail_msg("case %zu: bad %d per_sm %u (%s)", i, bad, per_sm, why);
        assert_int_equal(bad == 0, why[0] == 0);
    }
}

/* --- whole runs --------------------------------------------------------------- */

struct run {
    struct orr_scenario sc;
    struct orr_diag d;
};

/* A raw host: writes commands a host program would refuse to send. */
#define BAR 0x1000000000ull
struct probe {
    struct orr_port *out;
    unsigned step;
    uint64_t aResp[4];
    unsigned nResp;
};
static const struct orr_param probe_params[] = {{NULL}};
static const struct orr_port_doc probe_ports[] = {{"out", "to pcie_rc.host"}, {NULL}};
static int probe_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p;
    (void)d;
    struct probe *s = c->state;
    s->out = orr_port_add(c, "out");
    return 0;
}
static int probe_start(struct orr_component *c, struct orr_diag *d)
{
    (void)d;
    orr_timer(c, 1000, 0, 0, 0);
    return 0;
}
static void mmio(struct probe *s, enum pcie_mmio_op op, uint64_t off, uint64_t v)
{
    struct orr_msg m = {.size = PCIE_MMIO_BYTES, .data = {pcie_mmio_pack(op, 8, BAR + off), v}};
    assert_int_equal(orr_port_send(s->out, &m, 0), 0);
}
static void submit(struct probe *s, unsigned q, const uint64_t *w)
{
    for (unsigned i = 0; i < GPU_CMD_WORDS; i++)
        mmio(s, PCIE_MMIO_WR, GPU_REG_QUEUE(q) + 8 * i, w[i]);
}
static void probe_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct probe *s = c->state;
    if (ev->kind == ORR_TK_MSG) {
        s->aResp[s->nResp++ % 4] = ev->data[1];
        return;
    }
    if (s->step++ == 0) {
        uint64_t aCmd[][GPU_CMD_WORDS] = {
            /* a grid of 0 */
            {gpu_cmd_word0(GPU_OP_LAUNCH, 0, GPU_KERNEL_SAXPY, 0), gpu_launch_shape(0, 256),
             gpu_launch_res(32, 0), 0, 4096, 1024, 0, 0},
            /* a block needing more registers than an SM */
            {gpu_cmd_word0(GPU_OP_LAUNCH, 0, GPU_KERNEL_SAXPY, 0), gpu_launch_shape(4, 1024),
             gpu_launch_res(255, 0), 0, 4096, 1024, 0, 0},
            /* a copy beyond device memory (1 GiB) */
            {gpu_cmd_word0(GPU_OP_COPY, 0, GPU_COPY_H2D, 0), 0, (1ull << 30) - 8, 64},
            /* P2P to a GPU no NVLink reaches */
            {gpu_cmd_word0(GPU_OP_COPY, 0, GPU_COPY_P2P, 7), 0, 0, 64},
            /* an unknown op */
            {0x77},
            /* a good kernel after them all */
            {gpu_cmd_word0(GPU_OP_LAUNCH, GPU_F_IRQ, GPU_KERNEL_MEMSET, 0),
             gpu_launch_shape(4, 256), gpu_launch_res(32, 0), 0, 4096, 0xABCD, 0, 0},
        };
        for (size_t i = 0; i < sizeof aCmd / sizeof aCmd[0]; i++)
            submit(s, 1, aCmd[i]);
        orr_timer(c, 100 * ORR_US, 0, 0, 0);
    } else {
        mmio(s, PCIE_MMIO_RD, GPU_REG_COMPLETED(1), 0);
        mmio(s, PCIE_MMIO_RD, GPU_REG_ERRORS(1), 0);
        mmio(s, PCIE_MMIO_RD, GPU_REG_ID, 0);
    }
}
static const struct orr_component_type probe_type = {
    .name = "gpu_probe", .summary = "test", .params = probe_params, .ports = probe_ports,
    .state_size = sizeof(struct probe), .create = probe_create, .start = probe_start,
    .handle = probe_handle,
};

static void run_yaml(struct run *r, const char *name, const char *yaml)
{
    static const struct orr_component_type *aType[64];
    size_t n = 0;
    while (orr_builtin_types[n]) {
        aType[n] = orr_builtin_types[n];
        n++;
    }
    assert_true(n + 2 <= 64);
    aType[n] = &probe_type;
    aType[n + 1] = NULL;
    char path[512];
    tmpdir_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    orr_diag_init(&r->d);
    int rc = orr_scenario_open(&r->sc, path, NULL, 0, NULL, aType, &r->d);
    if (rc)
        orr_diag_print(&r->d, stderr);
    assert_int_equal(rc, 0);
    orr_sim_run(r->sc.sim, NULL);
    orr_sim_finish(r->sc.sim);
}

static void run_free(struct run *r)
{
    orr_scenario_close(&r->sc);
    orr_diag_free(&r->d);
}

static double metric(const struct run *r, const char *comp, const char *name)
{
    const struct orr_metric *m;
    size_t n = orr_sim_metrics(r->sc.sim, &m);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].component, comp) && !strcmp(m[i].name, name))
            return m[i].value;
    fail_msg("no metric %s.%s", comp, name);
    return 0;
}

/* A small GPU whose roofline is easy to work by hand: 4 SMs at 1 GHz with
 * 128 flops per cycle, HBM 1 TB/s, L2 and SM bandwidth out of the way,
 * launch 1 us, no wave overhead. */
static const char small_fmt[] =
    "name: t\nstop: {duration: 10ms}\n"
    "components:\n"
    "  mem: {type: flatmem, size: 256MiB}\n"
    "  rc: {type: pcie_rc, gen: 5, width: 16}\n"
    "  gpu0: {type: gpu, sms: 4, clock: 1GHz, fp32_flops: 128, hbm_bandwidth: 1TB/s,\n"
    "         l2_bandwidth: 100TB/s, sm_bandwidth: 1000GB/s, latency_warps: %s,\n"
    "         launch_overhead: 1us, wave_overhead: 0ns, memory: 1GiB, gen: 5, width: 16}\n"
    "  prog: {type: gpu_stream, gpus: [gpu0], memory: mem, test: %s, n: [%s], iters: 1,\n"
    "         block: 256, regs: 32, verify_max: 4MiB}\n"
    "links:\n"
    "  - {from: rc.mem, to: mem.in0, latency: 20ns}\n"
    "  - {from: rc.dev0, to: gpu0.pcie, latency: 300ns}\n"
    "  - {from: prog.pcie, to: rc.host, latency: 100ns}\n"
    "  - {from: rc.irq, to: prog.irq, latency: 50ns}\n";

static void run_small(struct run *r, const char *warps, const char *test, const char *n)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, small_fmt, warps, test, n);
    run_yaml(r, "small.yaml", yaml);
    if (orr_sim_failure(r->sc.sim))
        fail_msg("%s", orr_sim_failure(r->sc.sim));
}

/* saxpy over 65536 floats, 256 threads a block: 256 blocks, 8 per SM, 32
 * per wave, 8 waves. A wave moves 32 x 256 x 12 B = 98304 B: 98.304 ns at
 * 1 TB/s; its compute is 8 x 512 flops per SM = 32 ns. Kernel = 1 us +
 * 8 x 98.304 ns. */
static void test_saxpy_time(void **state)
{
    (void)state;
    struct run r;
    run_small(&r, "1", "saxpy", "65536");
    assert_true(metric(&r, "gpu0", "waves") == 8);
    assert_true(metric(&r, "gpu0", "blocks") == 256);
    assert_true(metric(&r, "gpu0", "hbm_bytes") == 786432);
    assert_true(metric(&r, "gpu0", "kernel_time.max") == 1786); /* 1786.432 ns */
    assert_true(metric(&r, "gpu0", "flops") == 131072);
    assert_true(metric(&r, "prog", "checks") == 1);
    run_free(&r);
}

/* One block more: a ninth wave of one block, compute-bound on one SM
 * (512 flops at 128 per ns = 4 ns): wave quantisation. With latency_warps
 * 64 that lone block's 8 warps run at 8/64 of the SM's peak: 32 ns. */
static void test_partial_wave(void **state)
{
    (void)state;
    struct run r;
    run_small(&r, "1", "saxpy", "65792");
    assert_true(metric(&r, "gpu0", "waves") == 9);
    assert_true(metric(&r, "gpu0", "blocks") == 257);
    assert_true(metric(&r, "gpu0", "kernel_time.max") == 1790); /* + 4 ns */
    run_free(&r);
    run_small(&r, "64", "saxpy", "65792");
    assert_true(metric(&r, "gpu0", "kernel_time.max") == 1818); /* + 32 ns */
    run_free(&r);
}

/* GEMM 256^3: 16 tiles of 64 x 64 in one wave (a 4 x 4 patch): HBM
 * carries 4 A row panels and 4 B column panels of 64 x 256 floats and the
 * 16 C tiles: 4 x 256 x 64 x 8 + 4 x 64 x 64 x 16 = 786432 bytes. The
 * result is checked against the host's. */
static void test_gemm_traffic(void **state)
{
    (void)state;
    struct run r;
    run_small(&r, "1", "gemm", "256");
    assert_true(metric(&r, "gpu0", "waves") == 1);
    assert_true(metric(&r, "gpu0", "hbm_bytes") == 786432);
    assert_true(metric(&r, "gpu0", "flops") == 2.0 * 256 * 256 * 256);
    assert_true(metric(&r, "prog", "checks") == 1);
    assert_true(metric(&r, "gpu0", "timing_only_kernels") == 0);
    run_free(&r);
}

/* Commands the GPU cannot run retire with an error on their queue, in
 * order, and the queue goes on: the memset after them runs. */
static void test_bad_commands(void **state)
{
    (void)state;
    struct run r;
    run_yaml(&r, "bad.yaml",
             "name: t\nstop: {duration: 200us, workloads_done: false}\n"
             "components:\n"
             "  mem: {type: flatmem, size: 16MiB}\n"
             "  rc: {type: pcie_rc}\n"
             "  gpu0: {type: gpu, memory: 1GiB}\n"
             "  host: {type: gpu_probe}\n"
             "links:\n"
             "  - {from: rc.mem, to: mem.in0, latency: 20ns}\n"
             "  - {from: rc.dev0, to: gpu0.pcie, latency: 300ns}\n"
             "  - {from: host.out, to: rc.host, latency: 100ns}\n");
    assert_null(orr_sim_failure(r.sc.sim));
    struct probe *p = orr_sim_find(r.sc.sim, "host")->state;
    assert_int_equal(p->nResp, 3);
    assert_int_equal(p->aResp[0], 6);               /* COMPLETED[1] */
    assert_int_equal(p->aResp[1], 5);               /* ERRORS[1] */
    assert_int_equal(p->aResp[2], GPU_DEVICE_ID);
    assert_true(metric(&r, "gpu0", "command_errors") == 5);
    assert_true(metric(&r, "gpu0", "kernels") == 1);
    assert_true(metric(&r, "gpu0", "irqs") == 1);
    assert_true(metric(&r, "rc", "irqs") == 1);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_occupancy),
        cmocka_unit_test(test_saxpy_time),
        cmocka_unit_test(test_partial_wave),
        cmocka_unit_test(test_gemm_traffic),
        cmocka_unit_test(test_bad_commands),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
