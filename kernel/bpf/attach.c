/* kernel/bpf/attach.c: the attach points programs name by section, and the
 * contexts they read (Linux trace event layouts, so programs written for
 * Linux tracepoints read the same offsets). docs/bpf.md lists them.
 *
 * Every context starts with Linux's 8-byte common header
 *   u16 common_type | u8 common_flags | u8 common_preempt_count | s32 common_pid
 * common_type holds the kernel tracepoint number here, common_pid 0. */
#include "kernel/bpf.h"
#include "kernel/kstring.h"
#include "kernel/sched.h"

static const struct bpf_attach_point points[] = {
    /* prev_comm[16]@8 prev_pid@24 prev_prio@28 prev_state@32 next_comm[16]@40
     * next_pid@56 next_prio@60 */
    {"tracepoint/sched/sched_switch", SCHED_TP_SWITCH, 64},
    /* comm[16]@8 pid@24 prio@28 target_cpu@32 */
    {"tracepoint/sched/sched_wakeup", SCHED_TP_WAKEUP, 40},
    /* id@8 (long) args[6]@16: verified, not attached yet (no syscall tracepoint) */
    {"tracepoint/raw_syscalls/sys_enter", 0, 64},
    /* id@8 (long) ret@16 */
    {"tracepoint/raw_syscalls/sys_exit", 0, 24},
    /* agent@8 (u64) len@16 (u64): verified, not attached yet */
    {"tracepoint/orrery/net_rx", 0, 24},
};

const struct bpf_attach_point *bpf_attach_table(uint32_t *n)
{
    *n = sizeof points / sizeof points[0];
    return points;
}

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

const struct bpf_attach_point *bpf_attach_find(const char *section)
{
    for (uint32_t i = 0; i < sizeof points / sizeof points[0]; i++)
        if (str_eq(points[i].section, section))
            return &points[i];
    return 0;
}

static void put32(uint8_t *c, uint32_t off, uint32_t v) { kmemcpy(c + off, &v, 4); }
static void put64(uint8_t *c, uint32_t off, uint64_t v) { kmemcpy(c + off, &v, 8); }

/* "task<id>" (or "swapper/<cpu>" for idle) as a 16-byte comm */
static void comm(uint8_t *dst, uint64_t id, uint32_t cpu)
{
    char t[16];
    uint32_t n = 0;
    const char *pre = id == SCHED_ID_IDLE ? "swapper/" : "task";
    uint64_t v = id == SCHED_ID_IDLE ? cpu : id;
    char d[21];
    int k = 0;
    kmemset(t, 0, sizeof t);
    while (*pre)
        t[n++] = *pre++;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && k < 20);
    while (k && n < 15)
        t[n++] = d[--k];
    kmemcpy(dst, t, 16);
}

void bpf_attach_fill_ctx(const struct bpf_attach_point *ap, void *ctx, uint64_t a, uint64_t b, uint32_t cpu)
{
    uint8_t *c = ctx;
    kmemset(c, 0, ap->ctx_size);
    uint16_t type = ap->tracepoint;
    kmemcpy(c, &type, 2);
    switch (ap->tracepoint) {
    case SCHED_TP_SWITCH:
        comm(c + 8, a, cpu);
        put32(c, 24, a == SCHED_ID_IDLE ? 0 : (uint32_t)a);
        put32(c, 28, 120);
        comm(c + 40, b, cpu);
        put32(c, 56, b == SCHED_ID_IDLE ? 0 : (uint32_t)b);
        put32(c, 60, 120);
        break;
    case SCHED_TP_WAKEUP:
        comm(c + 8, a, cpu);
        put32(c, 24, (uint32_t)a);
        put32(c, 28, 120);
        put32(c, 32, (uint32_t)b);
        break;
    default:
        if (ap->ctx_size >= 24) {
            put64(c, 8, a);
            put64(c, 16, b);
        }
        break;
    }
}

uint32_t bpf_fire(struct bpf_attachment *at, uint32_t n, uint16_t point, uint64_t a, uint64_t b, uint32_t cpu,
                  uint64_t now_ns)
{
    uint64_t ctx[256 / 8]; /* the largest context in the table, 8-byte aligned */
    uint32_t ran = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct bpf_attachment *x = &at[i];
        if (!x->ap->tracepoint || x->ap->tracepoint != point || x->ap->ctx_size > sizeof ctx)
            continue;
        bpf_attach_fill_ctx(x->ap, ctx, a, b, cpu);
        struct bpf_env env;
        kmemset(&env, 0, sizeof env);
        env.cpu = cpu;
        env.now_ns = now_ns;
        env.budget = x->budget;
        uint64_t ret;
        if (bpf_run(x->prog, ctx, &env, &ret) != 0)
            x->faults++;
        x->runs++;
        x->insns += env.executed;
        x->helper_calls += env.helper_calls;
        ran++;
    }
    return ran;
}
