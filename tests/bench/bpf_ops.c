/* Host speed of kernel/bpf: the interpreter in M instructions/s on a tight
 * ALU loop and on the sched_switch counting idiom (lookup, NULL check,
 * atomic add), and the verifier's time per program (walking the loop:
 * every iteration is walked). Prints
 *   BENCH bpf.interp.alu_loop <M> Minsn/s
 *   BENCH bpf.interp.count_switch <M> Minsn/s
 *   BENCH bpf.verify.count_switch <us> us
 *   BENCH bpf.verify.loop_100k <ms> ms   (processed instructions too) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/bpf.h"
#include "tests/bpf/insns.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct bpf_map map;
static struct bpf_map *maps[1] = {&map};

static double verify_us(const struct bpf_insn *in, uint32_t n, int reps, uint64_t *processed)
{
    struct bpf_prog p = {in, n, maps, 1, 64};
    size_t ws = bpf_verify_workspace_size(n);
    void *w = malloc(ws);
    struct bpf_verify_result res;
    double t0 = now_s();
    for (int r = 0; r < reps; r++)
        if (bpf_verify(&p, NULL, w, ws, &res) != 0) {
            fprintf(stderr, "bpf_ops: rejected at %d: %s\n", res.insn, res.msg);
            exit(1);
        }
    double dt = now_s() - t0;
    free(w);
    *processed = res.processed;
    return dt / reps * 1e6;
}

static double run_minsn(const struct bpf_insn *in, uint32_t n, uint64_t min_insns)
{
    struct bpf_prog p = {in, n, maps, 1, 64};
    uint8_t ctx[64] = {0};
    uint64_t total = 0, ret;
    double t0 = now_s();
    while (total < min_insns) {
        struct bpf_env env = {.cpu = 0, .now_ns = 1};
        if (bpf_run(&p, ctx, &env, &ret) != 0)
            exit(1);
        total += env.executed;
    }
    return (double)total / (now_s() - t0) / 1e6;
}

int main(void)
{
    struct bpf_map_def d = {BPF_MAP_TYPE_ARRAY, 4, 8, 256};
    void *mem = aligned_alloc(8, bpf_map_mem_size(&d, 1, NULL));
    bpf_map_init(&map, &d, 1, mem);

    /* r0 = sum of i * 3 ^ i for i < 100000: 5 instructions per iteration */
    struct bpf_insn loop[] = {
        MOV64_IMM(0, 0), MOV64_IMM(1, 0),
        MOV64_REG(2, 1), ALU64_IMM(BPF_MUL, 2, 3), ALU64_REG(BPF_XOR, 2, 1), ALU64_REG(BPF_ADD, 0, 2),
        ALU64_IMM(BPF_ADD, 1, 1), JMP_IMM(BPF_JLT, 1, 100000, -6),
        EXIT(),
    };
    struct bpf_insn count[] = {
        CALL(BPF_FUNC_get_smp_processor_id), STX_MEM(BPF_W, 10, 0, -4),
        LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
        CALL(BPF_FUNC_map_lookup_elem),
        JMP_IMM(BPF_JEQ, 0, 0, 2),
        MOV64_IMM(1, 1), ATOMIC(BPF_DW, BPF_ADD, 0, 1, 0),
        MOV64_IMM(0, 0), EXIT(),
    };
    uint32_t nl = sizeof loop / sizeof loop[0], nc = sizeof count / sizeof count[0];
    uint64_t pl, pc;
    double vl = verify_us(loop, nl, 3, &pl);
    double vc = verify_us(count, nc, 2000, &pc);
    printf("BENCH bpf.interp.alu_loop %.1f Minsn/s\n", run_minsn(loop, nl, 200000000));
    printf("BENCH bpf.interp.count_switch %.1f Minsn/s\n", run_minsn(count, nc, 50000000));
    printf("BENCH bpf.verify.count_switch %.2f us\n", vc);
    printf("BENCH bpf.verify.loop_100k %.1f ms\n", vl / 1000);
    printf("BENCH bpf.verify.loop_100k.processed %llu insns\n", (unsigned long long)pl);
    (void)pc;
    free(mem);
    return 0;
}
