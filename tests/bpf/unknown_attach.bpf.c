// A program for a tracepoint the kernel does not have: bad input (exit 2).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tracepoint/sched/no_such_event")
int nowhere(void *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
