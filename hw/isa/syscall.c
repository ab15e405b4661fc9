/* The guest's system calls (docs/isa.md): ecall (riscv64) and svc
 * (aarch64) with Linux's generic numbers and calling convention — number
 * in a7/x8, arguments in a0-a5/x0-x5, result (or -errno) in a0/x0.
 *
 *   write(fd, buf, n)            fd 1, 2: the bytes are the core's output
 *   exit(code), exit_group(code) the core is done
 *   clock_gettime(clk, ts)       simulated time: the core's local clock
 *   sched_yield()                end the slice; resume when global time
 *                                reaches the core's
 *   futex(addr, WAIT|WAKE, v)    see below
 *   anything else                -ENOSYS and unknown_syscalls++, or a
 *                                failed run with unknown_syscall: fail
 *
 * Futexes. Components may not post events to each other outside ports, so
 * a waiter sleeps and polls: it wakes when a FUTEX_WAKE on its address
 * marked it in the shared wait table, or when the word no longer holds the
 * value it waited on. The first poll comes futex_poll after the wait, and
 * each later one twice as late, up to 64 × futex_poll. Cost: a wake is
 * noticed up to one poll interval late (at most 6.4 µs with the default),
 * and a long sleep costs log2(64) + sleep / (64 × futex_poll) timer
 * events. Timeouts are not supported (a waiter sleeps until woken). */
#include <stdlib.h>
#include <string.h>

#include "isa_internal.h"
#include "orrery/error.h"

enum {
    SYS_FUTEX = 98,
    SYS_WRITE = 64,
    SYS_EXIT = 93,
    SYS_EXIT_GROUP = 94,
    SYS_CLOCK_GETTIME = 113,
    SYS_SCHED_YIELD = 124,
};
enum { FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_CMD_MASK = 0x7f };
enum { E_FAULT = 14, E_AGAIN = 11, E_INVAL = 22, E_NOSYS = 38, E_BADF = 9 };

static bool in_ram(const struct isacore *t, uint64_t a, uint64_t n)
{
    return a < t->as.sh->size && n <= t->as.sh->size - a;
}

/* Bytes the guest wrote to fd 1 or 2: kept (up to output_limit) for the
 * CLI, per fd as well for a Linux process (orrery exec mirrors them onto
 * its own stdout and stderr), and recorded in the trace. */
void isa_output(struct isacore *t, int fd, const uint8_t *p, size_t n)
{
    size_t keep = t->nOut >= t->out_limit ? 0 : (size_t)(n < t->out_limit - t->nOut ? n : t->out_limit - t->nOut);
    if (keep) {
        char *o = realloc(t->aOut, t->nOut + keep + 1);
        if (!o)
            orr_oom();
        memcpy(o + t->nOut, p, keep);
        t->nOut += keep;
        o[t->nOut] = 0;
        t->aOut = o;
        if (t->as.proc) {
            unsigned k = fd == 2;
            char *f = realloc(t->aFdOut[k], t->nFdOut[k] + keep + 1);
            if (!f)
                orr_oom();
            memcpy(f + t->nFdOut[k], p, keep);
            t->nFdOut[k] += keep;
            f[t->nFdOut[k]] = 0;
            t->aFdOut[k] = f;
        }
    }
    t->out_bytes->v += keep;
    t->out_dropped->v += n - keep;
    /* into the trace (and the digest): 15 bytes per point, the length in
     * the top byte of b */
    for (size_t i = 0; i < keep; i += 15) {
        uint64_t w[2] = {0, 0};
        size_t k = keep - i < 15 ? keep - i : 15;
        for (size_t j = 0; j < k; j++)
            w[j / 8] |= (uint64_t)p[i + j] << (8 * (j % 8));
        orr_trace_point(t->c, t->tk_out, w[0], w[1] | (uint64_t)k << 56);
    }
}

static int64_t sys_write(struct isacore *t, uint64_t fd, uint64_t buf, uint64_t n)
{
    if (fd != 1 && fd != 2)
        return -E_BADF;
    if (!in_ram(t, buf, n))
        return -E_FAULT;
    isa_output(t, (int)fd, t->as.sh->ram + buf, n);
    return (int64_t)n;
}

static int64_t sys_clock_gettime(struct isacore *t, uint64_t ts)
{
    if (!in_ram(t, ts, 16))
        return -E_FAULT;
    uint64_t ns = t->shell.local / 1000, v[2] = {ns / 1000000000u, ns % 1000000000u};
    for (unsigned i = 0; i < 16; i++)
        t->as.sh->ram[ts + i] = (uint8_t)(v[i / 8] >> (8 * (i % 8)));
    return 0;
}

static uint32_t word_at(const struct isacore *t, uint64_t a)
{
    const uint8_t *p = t->as.sh->ram + a;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sleep on the word at addr until a wake or a change of its value. */
void isa_futex_wait(struct isacore *t, uint64_t addr)
{
    struct isa_shared *sh = t->as.sh;
    t->futex_waits->v++;
    sh->aWait[t->as.slot].addr = addr;
    sh->aWait[t->as.slot].state = WAIT_SLEEPING;
    t->futex_addr = addr;
    t->poll = t->poll0;
    t->stop = STOP_FUTEX;
    uc_emu_stop(t->as.uc);
}

/* Mark up to max waiters on addr woken; how many. */
int64_t isa_futex_wake(struct isacore *t, uint64_t addr, uint64_t max)
{
    struct isa_shared *sh = t->as.sh;
    int64_t n = 0;
    for (unsigned i = 0; i < sh->nCore && (uint64_t)n < max; i++)
        if (sh->aWait[i].state == WAIT_SLEEPING && sh->aWait[i].addr == addr) {
            sh->aWait[i].state = WAIT_WOKEN;
            n++;
        }
    t->futex_wakes->v += (uint64_t)n;
    return n;
}

static int64_t sys_futex(struct isacore *t, uint64_t addr, uint64_t op, uint64_t val)
{
    if (addr % 4 || !in_ram(t, addr, 4))
        return addr % 4 ? -E_INVAL : -E_FAULT;
    switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT:
        if (word_at(t, addr) != (uint32_t)val)
            return -E_AGAIN;
        isa_futex_wait(t, addr);
        return 0; /* what the guest sees when it wakes */
    case FUTEX_WAKE:
        return isa_futex_wake(t, addr, val);
    default:
        return -E_NOSYS;
    }
}

bool isa_futex_poll(struct isacore *t)
{
    struct isa_shared *sh = t->as.sh;
    uint32_t expect = (uint32_t)isa_reg(t, 2);
    bool woken = sh->aWait[t->as.slot].state == WAIT_WOKEN || word_at(t, t->futex_addr) != expect;
    if (!woken) {
        if (t->poll < 64 * t->poll0)
            t->poll *= 2;
        return false;
    }
    sh->aWait[t->as.slot].state = WAIT_NONE;
    isa_set_reg(t, 0, 0);
    return true;
}

void isa_syscall(struct isacore *t)
{
    uint64_t nr = 0, a[6];
    uc_reg_read(t->as.uc, t->arch == ISA_RISCV64 ? UC_RISCV_REG_A7 : UC_ARM64_REG_X8, &nr);
    for (unsigned i = 0; i < 6; i++)
        a[i] = isa_reg(t, i);
    t->syscalls->v++;
    t->shell.local += t->syscall_ps;
    t->cy_syscall->v += t->syscall_ps / t->shell.cycle;
    int64_t r;
    if (t->as.proc) {
        isa_linux_syscall(t, nr, a);
        return;
    }
    switch (nr) {
    case SYS_WRITE:
        r = sys_write(t, a[0], a[1], a[2]);
        break;
    case SYS_EXIT:
    case SYS_EXIT_GROUP:
        t->exited = true;
        t->exit_code = (int32_t)a[0];
        t->stop = STOP_EXIT;
        uc_emu_stop(t->as.uc);
        return;
    case SYS_CLOCK_GETTIME:
        r = sys_clock_gettime(t, a[1]);
        break;
    case SYS_SCHED_YIELD:
        t->yields->v++;
        t->stop = STOP_YIELD;
        uc_emu_stop(t->as.uc);
        r = 0;
        break;
    case SYS_FUTEX:
        r = sys_futex(t, a[0], a[1], a[2]);
        if (t->stop == STOP_FUTEX)
            return; /* a0 keeps the address until the wake sets 0 */
        break;
    default:
        t->unknown->v++;
        if (t->unknown_fail) {
            isa_fail(t, "unknown syscall %llu at pc %#llx", (unsigned long long)nr,
                     (unsigned long long)(isa_pc(t) - 4));
            return;
        }
        r = -E_NOSYS;
        break;
    }
    isa_set_reg(t, 0, (uint64_t)r);
}
