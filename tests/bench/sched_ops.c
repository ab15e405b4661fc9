/* Host cost of the scheduler's hot path: block the current task, pick the
 * next (sched_schedule), wake the blocked one (enqueue with wake-up
 * placement), on one CPU with N runnable fair tasks. Links only the kernel
 * library; the HAL here is a stub whose clock advances 1 us per iteration.
 * Prints  BENCH sched.block_pick_wake.nN <ns> ns  (host ns per iteration). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/hal.h"
#include "kernel/sched.h"

struct hal_cpu {
    hal_ns_t now;
    void *kdata;
};

unsigned hal_cpu_id(const struct hal_cpu *c) { (void)c; return 0; }
unsigned hal_cpu_count(const struct hal_cpu *c) { (void)c; return 1; }
void hal_set_kernel_data(struct hal_cpu *c, void *k) { c->kdata = k; }
void *hal_kernel_data(const struct hal_cpu *c) { return c->kdata; }
hal_ns_t hal_now(const struct hal_cpu *c) { return c->now; }
void hal_timer_set(struct hal_cpu *c, hal_ns_t when) { (void)c, (void)when; }
void hal_timer_cancel(struct hal_cpu *c) { (void)c; }
bool hal_irq_disable(struct hal_cpu *c) { (void)c; return false; }
void hal_irq_restore(struct hal_cpu *c, bool was) { (void)c, (void)was; }
void hal_ipi_send(struct hal_cpu *c, unsigned t, uint32_t r) { (void)c, (void)t, (void)r; }
void hal_trace(struct hal_cpu *c, uint16_t p, uint64_t a, uint64_t b) { (void)c, (void)p, (void)a, (void)b; }
void hal_cost(struct hal_cpu *c, uint32_t cycles) { (void)c, (void)cycles; }
void hal_console_write(struct hal_cpu *c, const char *s, size_t n) { (void)c, fwrite(s, 1, n, stderr); }
void hal_panic(struct hal_cpu *c, const char *why)
{
    (void)c;
    fprintf(stderr, "sched_ops: kernel panic: %s\n", why);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run(unsigned n, unsigned iters)
{
    struct hal_cpu cpu = {0};
    struct sched s;
    struct sched_rq rq;
    struct sched_task *t = calloc(n, sizeof *t);
    if (!t || sched_init(&s, NULL, &rq, 1))
        exit(1);
    for (unsigned i = 0; i < n; i++) {
        t[i].id = i;
        t[i].policy = SCHED_POLICY_NORMAL;
        t[i].nice = (int)(i % 7) - 3;
        sched_affinity_set(&t[i], 0);
        if (sched_task_add(&s, &cpu, &t[i]) || sched_wakeup(&s, &cpu, &t[i]))
            exit(1);
    }
    sched_schedule(&s, &cpu);
    double t0 = now_s();
    for (unsigned k = 0; k < iters; k++) {
        cpu.now += 1000;
        struct sched_task *cur = sched_curr(&s, 0);
        sched_block(&s, &cpu);
        sched_schedule(&s, &cpu);
        sched_wakeup(&s, &cpu, cur);
    }
    double dt = now_s() - t0;
    if (sched_check(&s)) {
        fprintf(stderr, "sched_ops: invariant %s broken\n", sched_check_name(sched_check(&s)));
        exit(1);
    }
    printf("BENCH sched.block_pick_wake.n%u %.1f ns\n", n, dt * 1e9 / iters);
    free(t);
}

int main(void)
{
    run(16, 2000000);
    run(1024, 1000000);
    return 0;
}
