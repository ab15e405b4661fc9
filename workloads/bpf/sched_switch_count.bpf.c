// Count context switches per CPU: an array map indexed by CPU, bumped
// atomically on every sched_switch (docs/bpf.md).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u64);
} switches SEC(".maps");

/* Linux's trace_event_raw_sched_switch */
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

SEC("tracepoint/sched/sched_switch")
int count_switch(struct sched_switch_args *ctx)
{
    __u32 cpu = bpf_get_smp_processor_id();
    __u64 *n = bpf_map_lookup_elem(&switches, &cpu);
    if (n)
        __sync_fetch_and_add(n, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
