// A map with no entries: bad input (exit 2), not a rejected program.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 0);
    __type(key, __u32);
    __type(value, __u64);
} empty SEC(".maps");

SEC("tracepoint/sched/sched_switch")
int uses_empty(void *ctx)
{
    __u32 key = 0;
    return bpf_map_lookup_elem(&empty, &key) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
