// The verifier's catalogue of bad programs: each program here must be
// rejected, for the reason tests/cli/bpf.sh names. Where C cannot say
// the bad thing (clang would refuse or optimise it away), inline BPF
// assembly does.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

struct sched_switch_args {
    __u64 common;
    char prev_comm[16];
    int prev_pid;
    int prev_prio;
    long prev_state;
    char next_comm[16];
    int next_pid;
    int next_prio;
};

/* out-of-bounds stack: 520 bytes below the frame pointer */
SEC("tracepoint/sched/sched_switch")
int stack_oob(void *ctx)
{
    asm volatile("r1 = 0\n*(u64 *)(r10 - 520) = r1" ::: "r1");
    return 0;
}

/* reads a stack slot nothing wrote */
SEC("tracepoint/sched/sched_switch")
int stack_uninit(void *ctx)
{
    asm volatile("r1 = *(u64 *)(r10 - 8)" ::: "r1");
    return 0;
}

/* reads R5, which holds nothing at entry */
SEC("tracepoint/sched/sched_switch")
int reg_uninit(void *ctx)
{
    asm volatile("r1 = r5" ::: "r1");
    return 0;
}

/* Collatz from the next pid: nobody knows that this ends */
SEC("tracepoint/sched/sched_switch")
int unbounded_loop(struct sched_switch_args *ctx)
{
    __u64 n = (__u32)ctx->next_pid, steps = 0;
    while (n > 1) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

/* the context where a map belongs */
SEC("tracepoint/sched/sched_switch")
int bad_helper_arg(void *ctx)
{
    __u32 key = 0;
    __u64 *v = bpf_map_lookup_elem(ctx, &key);
    return v ? 1 : 0;
}

/* a lookup result used without a NULL check */
SEC("tracepoint/sched/sched_switch")
int unchecked_value(void *ctx)
{
    __u32 key = 0;
    __u64 *v = bpf_map_lookup_elem(&counts, &key);
    *v += 1;
    return 0;
}

/* reads past the end of an 8-byte value */
SEC("tracepoint/sched/sched_switch")
int value_oob(void *ctx)
{
    __u32 key = 0;
    __u64 *v = bpf_map_lookup_elem(&counts, &key);
    if (!v)
        return 0;
    return v[1];
}

/* a jump past the end of the program */
SEC("tracepoint/sched/sched_switch")
int invalid_jump(void *ctx)
{
    asm volatile("goto +1000");
    return 0;
}

/* code after an exit that nothing jumps to */
SEC("tracepoint/sched/sched_switch")
int unreachable_code(void *ctx)
{
    asm volatile("r0 = 0\nexit");
    return 1;
}

char LICENSE[] SEC("license") = "GPL";
