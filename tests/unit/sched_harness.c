/* The scheduler's host harness (see sched_harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_harness.h"

#define H_FOREVER ((hal_ns_t)1 << 62)

/* ---- the HAL ---- */

unsigned hal_cpu_id(const struct hal_cpu *c) { return c->id; }
unsigned hal_cpu_count(const struct hal_cpu *c) { return c->h->ncpu; }
hal_ns_t hal_now(const struct hal_cpu *c) { return c->h->now; }

void hal_timer_set(struct hal_cpu *c, hal_ns_t when)
{
    c->timer = when < c->h->now ? c->h->now : when;
    c->timer_armed = true;
}

void hal_timer_cancel(struct hal_cpu *c) { c->timer_armed = false; }

bool hal_irq_disable(struct hal_cpu *c)
{
    bool was = c->irq_enabled;
    c->irq_enabled = false;
    return was;
}

void hal_irq_restore(struct hal_cpu *c, bool was_enabled) { c->irq_enabled = was_enabled; }

void hal_ipi_send(struct hal_cpu *c, unsigned target, uint32_t reason)
{
    struct harness *h = c->h;
    if (target >= h->ncpu || h->nipi == H_MAX_IPIS)
        fail_msg("hal_ipi_send: bad target %u or queue full", target);
    h->ipi[h->nipi].at = h->now + h->ipi_latency_ns;
    h->ipi[h->nipi].to = target;
    h->ipi[h->nipi].reason = reason;
    h->nipi++;
}

void hal_trace(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b)
{
    struct harness *h = c->h;
    if (h->ntrace == h->trace_cap) {
        h->trace_dropped++;
        return;
    }
    h->trace[h->ntrace++] = (struct h_trace){h->now, c->id, point, a, b};
}

void hal_cost(struct hal_cpu *c, uint32_t cycles)
{
    hal_ns_t ns = (hal_ns_t)cycles * 1000 / c->h->cpu_mhz;
    c->debt += ns;
    c->cost_ns += ns;
}

void hal_console_write(struct hal_cpu *c, const char *s, size_t n)
{
    (void)c;
    fwrite(s, 1, n, stdout);
}

void hal_panic(struct hal_cpu *c, const char *why)
{
    fail_msg("hal_panic on cpu %u at %llu ns: %s", c->id, (unsigned long long)c->h->now, why);
    abort();
}

/* ---- setup ---- */

void h_init(struct harness *h, unsigned ncpu, const struct sched_config *cfg)
{
    free(h->trace); /* re-init of a used harness */
    memset(h, 0, sizeof *h);
    assert_true(ncpu >= 1 && ncpu <= H_MAX_CPUS);
    h->ncpu = ncpu;
    h->cpu_mhz = 1000;
    h->ipi_latency_ns = 1000;
    h->trace_cap = 1u << 18;
    h->trace = calloc(h->trace_cap, sizeof *h->trace);
    assert_non_null(h->trace);
    assert_int_equal(sched_init(&h->s, cfg, h->rq, ncpu), 0);
    for (unsigned i = 0; i < ncpu; i++) {
        h->cpu[i] = (struct hal_cpu){.h = h, .id = i, .irq_enabled = true};
        h->cpu[i].next_tick = h->s.cfg.tick_ns;
        hal_timer_set(&h->cpu[i], h->cpu[i].next_tick);
    }
}

void h_free(struct harness *h)
{
    free(h->trace);
    h->trace = NULL;
}

static void task_base(struct h_task *ht, uint64_t id, unsigned cpu)
{
    memset(ht, 0, sizeof *ht);
    ht->t.id = id;
    if (cpu == H_ANY_CPU)
        ht->any_cpu = true;
    else
        sched_affinity_set(&ht->t, cpu);
    ht->kind = H_CPU_BOUND;
}

void h_task_fair(struct h_task *ht, uint64_t id, int nice, unsigned cpu)
{
    task_base(ht, id, cpu);
    ht->t.policy = SCHED_POLICY_NORMAL;
    ht->t.nice = nice;
}

void h_task_rt(struct h_task *ht, uint64_t id, enum sched_policy pol, unsigned prio,
               unsigned cpu)
{
    task_base(ht, id, cpu);
    ht->t.policy = pol;
    ht->t.rt_prio = prio;
}

void h_task_dl(struct h_task *ht, uint64_t id, hal_ns_t runtime, hal_ns_t deadline,
               hal_ns_t period, unsigned cpu)
{
    task_base(ht, id, cpu);
    ht->t.policy = SCHED_POLICY_DEADLINE;
    ht->t.dl_runtime = runtime;
    ht->t.dl_deadline = deadline;
    ht->t.dl_period = period;
}

void h_periodic(struct h_task *ht, hal_ns_t period, hal_ns_t work, hal_ns_t rel_deadline,
                hal_ns_t offset)
{
    ht->kind = H_PERIODIC;
    ht->period = period;
    ht->work = work;
    ht->rel_deadline = rel_deadline;
    ht->offset = offset;
}

void h_sleep_run(struct h_task *ht, hal_ns_t run, hal_ns_t sleep, hal_ns_t offset)
{
    ht->kind = H_SLEEP_RUN;
    ht->work = run;
    ht->sleep_ns = sleep;
    ht->offset = offset;
}

int h_add(struct harness *h, struct h_task *ht)
{
    assert_true(h->ntasks < H_MAX_TASKS);
    if (ht->any_cpu)
        for (unsigned i = 0; i < h->ncpu; i++)
            sched_affinity_set(&ht->t, i);
    int rc = sched_task_add(&h->s, &h->cpu[0], &ht->t);
    if (rc)
        return rc;
    h->task[h->ntasks++] = ht;
    ht->waiting = true;
    ht->next_release = ht->offset > h->now ? ht->offset : h->now;
    return 0;
}

size_t h_trace_count(const struct harness *h, uint16_t point, uint64_t a, uint64_t b)
{
    size_t n = 0;
    for (size_t i = 0; i < h->ntrace; i++)
        if (h->trace[i].point == point && (a == ~0ull || h->trace[i].a == a) &&
            (b == ~0ull || h->trace[i].b == b))
            n++;
    return n;
}

/* ---- the kernel glue ---- */

static struct h_task *owner(struct sched_task *t) { return (struct h_task *)(void *)t; }

/* Return to user on cpu: reschedule if asked. */
static void kernel_exit(struct harness *h, unsigned cpu)
{
    if (sched_need_resched(&h->rq[cpu]))
        sched_schedule(&h->s, &h->cpu[cpu]);
}

/* Timer multiplexer: the tick and the scheduler's precise events. */
static void arm_timer(struct harness *h, unsigned cpu)
{
    hal_ns_t when = h->cpu[cpu].next_tick;
    hal_ns_t st = sched_next_timer(&h->s, cpu);
    if (st && st < when)
        when = st;
    hal_timer_set(&h->cpu[cpu], when);
}

static void timer_fired(struct harness *h, unsigned cpu)
{
    struct hal_cpu *c = &h->cpu[cpu];
    if (h->now >= c->next_tick) {
        sched_tick(&h->s, c);
        while (c->next_tick <= h->now)
            c->next_tick += h->s.cfg.tick_ns;
    }
    hal_ns_t st = sched_next_timer(&h->s, cpu);
    if (st && st <= h->now)
        sched_timer(&h->s, c);
    kernel_exit(h, cpu);
}

/* A released job or a wake from sleep, handled on the task's last CPU. */
static void release(struct harness *h, struct h_task *ht)
{
    if (ht->kind == H_PERIODIC) {
        ht->jobs_released++;
        ht->next_release += ht->period;
        if (!ht->waiting)
            return; /* backlog: the running job continues into the next */
        ht->remaining = ht->work;
    } else {
        ht->remaining = ht->kind == H_SLEEP_RUN ? ht->work : H_FOREVER;
        ht->next_release = 0;
    }
    ht->waiting = false;
    ht->lat_from = h->now;
    ht->lat_pending = true;
    unsigned cpu = ht->t.cpu;
    assert_int_equal(sched_wakeup(&h->s, &h->cpu[cpu], &ht->t), 0);
    kernel_exit(h, cpu);
}

/* curr of cpu finished its job/phase. */
static void phase_end(struct harness *h, unsigned cpu, struct h_task *ht)
{
    if (ht->kind == H_PERIODIC) {
        hal_ns_t rel = ht->offset + ht->jobs_done * ht->period;
        ht->jobs_done++;
        if (h->now > rel + ht->rel_deadline)
            ht->misses++;
        if (h->now - rel > ht->max_response)
            ht->max_response = h->now - rel;
        if (ht->jobs_released > ht->jobs_done) {
            ht->remaining = ht->work;
            return;
        }
    } else {
        ht->next_release = h->now + ht->sleep_ns;
    }
    ht->waiting = true;
    assert_int_equal(sched_block(&h->s, &h->cpu[cpu]), 0);
    kernel_exit(h, cpu);
}

static hal_ns_t cap_of(const struct harness *h, unsigned cpu)
{
    return h->capacity[cpu] ? h->capacity[cpu] : SCHED_CAPACITY_SCALE;
}

/* Wall ns to do `work` on cpu: ceil(work * 1024 / capacity). */
static hal_ns_t wall_for(const struct harness *h, unsigned cpu, hal_ns_t work)
{
    hal_ns_t cap = cap_of(h, cpu);
    if (work >= H_FOREVER / SCHED_CAPACITY_SCALE)
        return H_FOREVER;
    return (work * SCHED_CAPACITY_SCALE + cap - 1) / cap;
}

static void advance(struct harness *h, hal_ns_t t)
{
    hal_ns_t elapsed = t - h->now;
    for (unsigned i = 0; i < h->ncpu; i++) {
        struct hal_cpu *c = &h->cpu[i];
        hal_ns_t d = c->debt < elapsed ? c->debt : elapsed;
        c->debt -= d;
        hal_ns_t work = (elapsed - d) * cap_of(h, i) / SCHED_CAPACITY_SCALE;
        struct sched_task *curr = sched_curr(&h->s, i);
        if (!curr || !work)
            continue;
        struct h_task *ht = owner(curr);
        if (work > ht->remaining && h->capacity[i])
            work = ht->remaining; /* rounding of a partial ns at the phase end */
        assert_true(work <= ht->remaining);
        ht->remaining -= work;
        ht->ran_ns += work;
        if (ht->lat_pending) {
            hal_ns_t lat = h->now + d - ht->lat_from;
            ht->lat_pending = false;
            ht->lat_sum += lat;
            ht->lat_n++;
            if (lat > ht->lat_max)
                ht->lat_max = lat;
        }
    }
    h->now = t;
}

static hal_ns_t next_event(struct harness *h, hal_ns_t until)
{
    hal_ns_t t = until;
    for (unsigned i = 0; i < h->ncpu; i++) {
        struct hal_cpu *c = &h->cpu[i];
        if (c->timer_armed && c->timer < t)
            t = c->timer;
        struct sched_task *curr = sched_curr(&h->s, i);
        if (curr && h->now + c->debt + wall_for(h, i, owner(curr)->remaining) < t)
            t = h->now + c->debt + wall_for(h, i, owner(curr)->remaining);
    }
    for (unsigned i = 0; i < h->nipi; i++)
        if (h->ipi[i].at < t)
            t = h->ipi[i].at;
    for (unsigned i = 0; i < h->ntasks; i++) {
        struct h_task *ht = h->task[i];
        bool pending = ht->kind == H_PERIODIC || ht->waiting;
        if (pending && ht->next_release < t && ht->t.state != SCHED_TASK_EXITED)
            t = ht->next_release;
    }
    return t;
}

static void instant(struct harness *h)
{
    for (unsigned i = 0; i < h->ncpu; i++) {
        struct sched_task *curr = sched_curr(&h->s, i);
        if (curr && curr->state == SCHED_TASK_RUNNING && owner(curr)->remaining == 0 &&
            h->cpu[i].debt == 0)
            phase_end(h, i, owner(curr));
    }
    for (unsigned i = 0; i < h->ntasks; i++) {
        struct h_task *ht = h->task[i];
        bool pending = ht->kind == H_PERIODIC || ht->waiting;
        if (pending && ht->next_release <= h->now && ht->t.state != SCHED_TASK_EXITED)
            release(h, ht);
    }
    for (unsigned i = 0; i < h->nipi;) {
        if (h->ipi[i].at > h->now) {
            i++;
            continue;
        }
        unsigned to = h->ipi[i].to;
        memmove(&h->ipi[i], &h->ipi[i + 1], (h->nipi - i - 1) * sizeof h->ipi[0]);
        h->nipi--;
        kernel_exit(h, to); /* kern_ipi(SCHED_IPI_RESCHED) */
    }
    for (unsigned i = 0; i < h->ncpu; i++) {
        if (h->cpu[i].timer_armed && h->cpu[i].timer <= h->now) {
            h->cpu[i].timer_armed = false;
            timer_fired(h, i);
        }
    }
    for (unsigned i = 0; i < h->ncpu; i++)
        arm_timer(h, i);
    if (h->check_each_event && !h->first_check_rc) {
        int rc = sched_check(&h->s);
        if (rc) {
            h->first_check_rc = rc;
            h->first_check_at = h->now;
        }
    }
}

void h_run(struct harness *h, hal_ns_t until)
{
    unsigned same = 0;
    for (;;) {
        hal_ns_t t = next_event(h, until);
        same = t == h->now ? same + 1 : 0;
        if (same > 1000)
            fail_msg("harness livelock at %llu ns", (unsigned long long)h->now);
        advance(h, t);
        if (h->now >= until)
            break;
        instant(h);
        h->events++;
    }
}
