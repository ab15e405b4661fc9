// Packets and bytes received per agent (a hash map keyed by agent id),
// and a ring-buffer record for every packet of 1 KiB or more.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct counts {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64);
    __type(value, struct counts);
} per_agent SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} big_packets SEC(".maps");

/* tracepoint/orrery/net_rx: common header, agent, length */
struct net_rx_args {
    __u64 common;
    __u64 agent;
    __u64 len;
};

SEC("tracepoint/orrery/net_rx")
int count_rx(struct net_rx_args *ctx)
{
    __u64 agent = ctx->agent, len = ctx->len;
    struct counts *c = bpf_map_lookup_elem(&per_agent, &agent);
    if (!c) {
        struct counts zero = {0, 0};
        bpf_map_update_elem(&per_agent, &agent, &zero, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&per_agent, &agent);
        if (!c)
            return 0;
    }
    __sync_fetch_and_add(&c->packets, 1);
    __sync_fetch_and_add(&c->bytes, len);
    if (len >= 1024) {
        struct { __u64 agent, len; } rec = {agent, len};
        bpf_ringbuf_output(&big_packets, &rec, sizeof rec, 0);
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
