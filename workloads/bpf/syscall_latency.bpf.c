// Syscall latency histogram: sys_enter stamps the time per CPU, sys_exit
// files the elapsed time in a log2 bucket (a loop the verifier walks).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} latency_log2_ns SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(void *ctx)
{
    __u32 zero = 0;
    __u64 *t = bpf_map_lookup_elem(&start, &zero);
    if (t)
        *t = bpf_ktime_get_ns();
    return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(void *ctx)
{
    __u32 zero = 0;
    __u64 *t = bpf_map_lookup_elem(&start, &zero);
    if (!t || *t == 0)
        return 0;
    __u64 d = bpf_ktime_get_ns() - *t;
    *t = 0;
    __u32 slot = 0;
#pragma clang loop unroll(disable)
    for (int i = 0; i < 63; i++) {
        if ((d >> (i + 1)) == 0)
            break;
        slot++;
    }
    __u64 *c = bpf_map_lookup_elem(&latency_log2_ns, &slot);
    if (c)
        __sync_fetch_and_add(c, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
