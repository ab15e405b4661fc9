// Fine for a privileged loader, a pointer leak for an unprivileged one:
// a map value's own address is stored in the map, where user space reads
// it (rejected with --unpriv only; tests/cli/bpf.sh).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} addrs SEC(".maps");

SEC("tracepoint/sched/sched_switch")
int leak_addr(void *ctx)
{
    __u32 key = 0;
    __u64 *v = bpf_map_lookup_elem(&addrs, &key);
    if (v)
        *v = (__u64)v;
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
