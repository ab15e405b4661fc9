/* libFuzzer target for kernel/bpf: arbitrary instruction streams never
 * crash the verifier, and every program it accepts runs in the
 * interpreter without a memory error (ASan watches the context, the maps'
 * storage and the BPF stack, each allocated at its exact size) and within
 * the verifier's walk limit (a verified program's execution is a path of
 * the walk, so it cannot be longer than the instructions the walk
 * processed; running out of budget is a verifier bug and aborts).
 *
 * Input: byte 0 bit 0 = unprivileged, byte 1 = context size / 8 (mod 9),
 * bytes 2-3 = CPU, then 8-byte instructions (at most 4096). Maps, in
 * order: array[4] of u64, hash u32->u64 (16), per-CPU array[2] of 16
 * bytes (4 CPUs), ring buffer 4 KiB, array[1] of 64 bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/bpf.h"

#define NMAPS 5
#define LIMIT 200000u
static const struct bpf_map_def defs[NMAPS] = {
    {BPF_MAP_TYPE_ARRAY, 4, 8, 4},        {BPF_MAP_TYPE_HASH, 4, 8, 16}, {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 2},
    {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096}, {BPF_MAP_TYPE_ARRAY, 4, 64, 1},
};

static void *ws;
static size_t ws_size = 8u << 20;
static unsigned long long n_inputs, n_accepted, n_insns_run;

static void stats(void)
{
    fprintf(stderr, "fuzz_bpf: %llu programs verified, %llu accepted, %llu instructions run\n", n_inputs,
            n_accepted, n_insns_run);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    atexit(stats);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 + 8)
        return 0;
    if (!ws)
        ws = malloc(ws_size);
    uint32_t n = (uint32_t)((size - 4) / 8);
    if (n > 4096)
        n = 4096;
    struct bpf_insn *insns = malloc(n * sizeof *insns);
    memcpy(insns, data + 4, n * sizeof *insns);
    struct bpf_map maps[NMAPS], *mp[NMAPS];
    void *mem[NMAPS];
    for (int i = 0; i < NMAPS; i++) {
        size_t sz = bpf_map_mem_size(&defs[i], 4, NULL);
        mem[i] = malloc(sz);
        bpf_map_init(&maps[i], &defs[i], 4, mem[i]);
        mp[i] = &maps[i];
    }
    uint32_t ctx_size = 8u * (data[1] % 9);
    struct bpf_prog p = {insns, n, mp, NMAPS, ctx_size};
    struct bpf_verify_opts o = {(data[0] & 1) != 0, LIMIT};
    struct bpf_verify_result res;
    int rc = bpf_verify(&p, &o, ws, ws_size, &res);
    n_inputs++;
    if (rc == 0) {
        n_accepted++;
        void *ctx = malloc(ctx_size ? ctx_size : 1);
        memset(ctx, 0xa5, ctx_size ? ctx_size : 1);
        for (int run = 0; run < 2; run++) { /* twice: the maps now hold data */
            struct bpf_env env = {.cpu = (uint32_t)(data[2] | data[3] << 8) % 4, .now_ns = 1000,
                                  .budget = res.processed + 1};
            uint64_t ret;
            if (bpf_run(&p, ctx, &env, &ret) != 0) {
                fprintf(stderr, "accepted program ran past the walk (%llu insns processed)\n",
                        (unsigned long long)res.processed);
                abort();
            }
            n_insns_run += env.executed;
        }
        free(ctx);
    } else if (res.msg[0] == 0) {
        fprintf(stderr, "rejection without a reason\n");
        abort();
    }
    for (int i = 0; i < NMAPS; i++)
        free(mem[i]);
    free(insns);
    return 0;
}
