/* Snapshots of the reference scheduler (kernel/sched/snapshot.c): a
 * scheduler saved mid-run on the host harness and restored into a second,
 * identically set-up harness goes on exactly as the first (same switches,
 * same times, same statistics), with fair, RT and deadline tasks and a
 * bandwidth group in play; and streams that do not fit (another task
 * count, a truncated stream, an index past the tasks) are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/sched.h"
#include "sched_harness.h"

#define NT 7

/* The stream: a byte buffer written by put and read back by get. */
struct buf {
    uint8_t a[1 << 20];
    size_t n, at;
    struct h_task *tasks;
    unsigned ntask;
    struct sched_group *groups;
    unsigned ngroup;
};

static void b_put(void *ctx, const void *p, size_t n)
{
    struct buf *b = ctx;
    assert_true(b->n + n <= sizeof b->a);
    memcpy(b->a + b->n, p, n);
    b->n += n;
}

static int b_get(void *ctx, void *p, size_t n)
{
    struct buf *b = ctx;
    if (b->at + n > b->n)
        return -1;
    memcpy(p, b->a + b->at, n);
    b->at += n;
    return 0;
}

static struct sched_task *b_task_at(void *ctx, uint32_t i)
{
    struct buf *b = ctx;
    return i < b->ntask ? &b->tasks[i].t : NULL;
}

static uint32_t b_task_index(void *ctx, const struct sched_task *t)
{
    struct buf *b = ctx;
    for (unsigned i = 0; i < b->ntask; i++)
        if (&b->tasks[i].t == t)
            return i;
    return SCHED_SNAP_NONE;
}

static struct sched_group *b_group_at(void *ctx, uint32_t i)
{
    struct buf *b = ctx;
    return i < b->ngroup ? &b->groups[i] : NULL;
}

static uint32_t b_group_index(void *ctx, const struct sched_group *g)
{
    struct buf *b = ctx;
    for (unsigned i = 0; i < b->ngroup; i++)
        if (&b->groups[i] == g)
            return i;
    return SCHED_SNAP_NONE;
}

static struct sched_snap_io io_of(struct buf *b)
{
    return (struct sched_snap_io){b, b_put, b_get, b_task_at, b_task_index, b_group_at,
                                  b_group_index};
}

struct rig {
    struct harness h;
    struct h_task t[NT];
    struct sched_group g;
};

/* Two CPUs: four fair tasks (two in a group at 60% of one CPU, one sleeping
 * and running), an RR and a FIFO task on CPU 1, a deadline task. */
static void rig_up(struct rig *r)
{
    memset(r, 0, sizeof *r);
    h_init(&r->h, 2, NULL);
    r->h.check_each_event = true;
    assert_int_equal(sched_group_init(&r->h.s, &r->g, 600000, 1000000), 0);
    for (unsigned i = 0; i < 4; i++)
        h_task_fair(&r->t[i], 10 + i, (int)i - 1, H_ANY_CPU);
    r->t[0].t.group = r->t[1].t.group = &r->g;
    h_sleep_run(&r->t[3], 300000, 700000, 50000);
    h_task_rt(&r->t[4], 20, SCHED_POLICY_RR, 10, 1);
    h_sleep_run(&r->t[4], 200000, 900000, 100000);
    h_task_rt(&r->t[5], 21, SCHED_POLICY_FIFO, 20, 1);
    h_periodic(&r->t[5], 2000000, 150000, 2000000, 0);
    h_task_dl(&r->t[6], 30, 300000, 1000000, 1000000, 0);
    h_periodic(&r->t[6], 1000000, 250000, 1000000, 0);
    for (unsigned i = 0; i < NT; i++)
        assert_int_equal(h_add(&r->h, &r->t[i]), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    static struct rig a, b;
    static struct buf buf;
    rig_up(&a);
    rig_up(&b);
    h_run(&a.h, 7300000); /* mid-run: tasks queued, throttled, sleeping */
    memset(&buf, 0, sizeof buf);
    buf.tasks = a.t, buf.ntask = NT, buf.groups = &a.g, buf.ngroup = 1;
    struct sched_snap_io io = io_of(&buf);
    sched_snapshot_save(&a.h.s, &io);
    /* b: the harness's own state as a's (the platform's part of a
     * checkpoint), then the scheduler from the stream */
    b.h.now = a.h.now;
    b.h.nipi = a.h.nipi;
    memcpy(b.h.ipi, a.h.ipi, sizeof a.h.ipi);
    for (unsigned c = 0; c < a.h.ncpu; c++) {
        b.h.cpu[c] = a.h.cpu[c];
        b.h.cpu[c].h = &b.h;
    }
    for (unsigned i = 0; i < NT; i++) {
        struct sched_task keep = b.t[i].t;
        b.t[i] = a.t[i];
        b.t[i].t = keep;
    }
    b.h.events = a.h.events;
    buf.tasks = b.t, buf.groups = &b.g;
    io = io_of(&buf);
    assert_int_equal(sched_snapshot_restore(&b.h.s, &io), SCHED_OK);
    assert_int_equal(buf.at, buf.n); /* read exactly what was written */
    assert_int_equal(sched_check(&b.h.s), 0);
    size_t from_a = a.h.ntrace, from_b = b.h.ntrace;
    h_run(&a.h, 20000000);
    h_run(&b.h, 20000000);
    assert_int_equal(a.h.first_check_rc, 0);
    assert_int_equal(b.h.first_check_rc, 0);
    /* the same records after the snapshot, at the same times */
    assert_true(a.h.ntrace - from_a > 50);
    assert_int_equal(a.h.ntrace - from_a, b.h.ntrace - from_b);
    for (size_t k = 0; k < a.h.ntrace - from_a; k++) {
        const struct h_trace *x = &a.h.trace[from_a + k], *y = &b.h.trace[from_b + k];
        assert_true(x->t == y->t && x->cpu == y->cpu && x->point == y->point && x->a == y->a &&
                    x->b == y->b);
    }
    for (unsigned i = 0; i < NT; i++) {
        assert_int_equal(a.t[i].t.stats.nr_switches, b.t[i].t.stats.nr_switches);
        assert_int_equal(a.t[i].t.stats.sum_exec_ns, b.t[i].t.stats.sum_exec_ns);
        assert_int_equal(a.t[i].ran_ns, b.t[i].ran_ns);
    }
    assert_int_equal(a.g.nr_throttled, b.g.nr_throttled);
    assert_true(a.g.nr_throttled > 0); /* the group was in play */
    h_free(&a.h);
    h_free(&b.h);
}

static void test_refuses_what_does_not_fit(void **state)
{
    (void)state;
    static struct rig a, b;
    static struct buf buf;
    rig_up(&a);
    rig_up(&b);
    h_run(&a.h, 3000000);
    memset(&buf, 0, sizeof buf);
    buf.tasks = a.t, buf.ntask = NT, buf.groups = &a.g, buf.ngroup = 1;
    struct sched_snap_io io = io_of(&buf);
    sched_snapshot_save(&a.h.s, &io);
    size_t full = buf.n;
    /* another number of tasks */
    buf.tasks = b.t, buf.ntask = NT - 1, buf.groups = &b.g, buf.at = 0;
    io = io_of(&buf);
    assert_int_equal(sched_snapshot_restore(&b.h.s, &io), SCHED_EINVAL);
    /* a truncated stream */
    buf.ntask = NT, buf.at = 0, buf.n = full - 3;
    assert_int_equal(sched_snapshot_restore(&b.h.s, &io), SCHED_EINVAL);
    /* an index past the tasks: the last reference (the last task's
     * all_next) pointed at task 99 */
    buf.n = full, buf.at = 0;
    uint32_t bad = 99;
    memcpy(buf.a + full - 4, &bad, 4);
    assert_int_equal(sched_snapshot_restore(&b.h.s, &io), SCHED_EINVAL);
    h_free(&a.h);
    h_free(&b.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refuses_what_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
