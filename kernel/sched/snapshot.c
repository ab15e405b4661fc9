/* Snapshots of the scheduler's state (include/kernel/sched.h, "snapshots"):
 * what a checkpoint stores of kernel/sched, and how a restore puts it back.
 *
 * Each structure the scheduler owns (struct sched's config and list heads,
 * every runqueue, every task's sched_task, every group) is written as its
 * raw bytes followed by its pointer fields as references: a task or group
 * by the platform's index, a treap node as 2 x task index + (0 fair, 1
 * deadline), SCHED_SNAP_NONE for NULL. Restore copies the bytes back and
 * then overwrites every pointer field from its reference, so nothing of
 * the old process's addresses survives; the fields the platform set up
 * (the runqueue array, the topology) are kept from the live scheduler.
 *
 * Invariant: every pointer field of struct sched, sched_rq, sched_task and
 * sched_group appears in exactly one of the ref lists below (a field added
 * to those structs must be added here; sched_check after a restore, run by
 * the platform, catches a list or tree left pointing into the old run). */
#include "internal.h"
#include "kernel/kstring.h"

#define SNAP_MAGIC 0x50414e53u /* "SNAP" */

struct snap_rd {
    const struct sched_snap_io *io;
    bool bad;
};

static void put32(const struct sched_snap_io *io, uint32_t v) { io->put(io->ctx, &v, 4); }

static uint32_t get32(struct snap_rd *r)
{
    uint32_t v = 0;
    if (!r->bad && r->io->get(r->io->ctx, &v, 4))
        r->bad = true;
    return v;
}

static void get_raw(struct snap_rd *r, void *p, size_t n)
{
    if (!r->bad && r->io->get(r->io->ctx, p, n))
        r->bad = true;
}

/* ---- references ---- */

static uint32_t task_ref(const struct sched_snap_io *io, const struct sched_task *t)
{
    return t ? io->task_index(io->ctx, t) : SCHED_SNAP_NONE;
}

static uint32_t node_ref(const struct sched_snap_io *io, const struct sched_node *n)
{
    if (!n)
        return SCHED_SNAP_NONE;
    const struct sched_task *f = sched_container_of(n, struct sched_task, fair.node);
    uint32_t i = io->task_index(io->ctx, f);
    if (i != SCHED_SNAP_NONE)
        return 2 * i;
    const struct sched_task *d = sched_container_of(n, struct sched_task, dl.node);
    i = io->task_index(io->ctx, d);
    return i == SCHED_SNAP_NONE ? SCHED_SNAP_NONE - 1 : 2 * i + 1; /* NONE - 1: not a node */
}

static uint32_t group_ref(const struct sched_snap_io *io, const struct sched_group *g)
{
    return g ? io->group_index(io->ctx, g) : SCHED_SNAP_NONE;
}

static struct sched_task *task_of(struct snap_rd *r, uint32_t ref)
{
    if (ref == SCHED_SNAP_NONE)
        return 0;
    struct sched_task *t = r->io->task_at(r->io->ctx, ref);
    if (!t)
        r->bad = true;
    return t;
}

static struct sched_node *node_of(struct snap_rd *r, uint32_t ref)
{
    if (ref == SCHED_SNAP_NONE)
        return 0;
    struct sched_task *t = task_of(r, ref / 2);
    if (!t)
        return 0;
    return ref % 2 ? &t->dl.node : &t->fair.node;
}

static struct sched_group *group_of(struct snap_rd *r, uint32_t ref)
{
    if (ref == SCHED_SNAP_NONE)
        return 0;
    struct sched_group *g = r->io->group_at(r->io->ctx, ref);
    if (!g)
        r->bad = true;
    return g;
}

static uint32_t count_tasks(const struct sched_snap_io *io)
{
    uint32_t n = 0;
    while (io->task_at(io->ctx, n))
        n++;
    return n;
}

static uint32_t count_groups(const struct sched_snap_io *io)
{
    uint32_t n = 0;
    while (io->group_at(io->ctx, n))
        n++;
    return n;
}

/* ---- save ---- */

static void save_node(const struct sched_snap_io *io, const struct sched_node *n)
{
    put32(io, node_ref(io, n->parent));
    put32(io, node_ref(io, n->left));
    put32(io, node_ref(io, n->right));
}

void sched_snapshot_save(const struct sched *s, const struct sched_snap_io *io)
{
    uint32_t nt = count_tasks(io), ng = count_groups(io);
    put32(io, SNAP_MAGIC);
    put32(io, s->nr_cpus);
    put32(io, nt);
    put32(io, ng);
    io->put(io->ctx, &s->cfg, sizeof s->cfg);
    put32(io, task_ref(io, s->all));
    put32(io, group_ref(io, s->groups));
    for (uint32_t i = 0; i < ng; i++) {
        const struct sched_group *g = io->group_at(io->ctx, i);
        io->put(io->ctx, g, sizeof *g);
        put32(io, group_ref(io, g->next));
    }
    for (unsigned c = 0; c < s->nr_cpus; c++) {
        const struct sched_rq *rq = &s->rq[c];
        io->put(io->ctx, rq, sizeof *rq);
        put32(io, task_ref(io, rq->curr));
        put32(io, node_ref(io, rq->fair.root));
        put32(io, task_ref(io, rq->fair.throttled));
        for (unsigned p = 0; p < SCHED_RT_PRIOS; p++) {
            put32(io, task_ref(io, rq->rt.head[p]));
            put32(io, task_ref(io, rq->rt.tail[p]));
        }
        put32(io, node_ref(io, rq->dl.root));
        put32(io, task_ref(io, rq->dl.throttled));
    }
    for (uint32_t i = 0; i < nt; i++) {
        const struct sched_task *t = io->task_at(io->ctx, i);
        io->put(io->ctx, t, sizeof *t);
        put32(io, group_ref(io, t->group));
        save_node(io, &t->fair.node);
        put32(io, task_ref(io, t->fair.tnext));
        put32(io, task_ref(io, t->fair.tprev));
        put32(io, task_ref(io, t->rt.next));
        put32(io, task_ref(io, t->rt.prev));
        save_node(io, &t->dl.node);
        put32(io, task_ref(io, t->dl.tnext));
        put32(io, task_ref(io, t->dl.tprev));
        put32(io, task_ref(io, t->all_next));
    }
}

/* ---- restore ---- */

static void load_node(struct snap_rd *r, struct sched_node *n)
{
    n->parent = node_of(r, get32(r));
    n->left = node_of(r, get32(r));
    n->right = node_of(r, get32(r));
}

int sched_snapshot_restore(struct sched *s, const struct sched_snap_io *io)
{
    struct snap_rd r = {io, false};
    uint32_t magic = get32(&r), ncpu = get32(&r), nt = get32(&r), ng = get32(&r);
    if (r.bad || magic != SNAP_MAGIC || ncpu != s->nr_cpus || nt != count_tasks(io) ||
        ng != count_groups(io))
        return SCHED_EINVAL;
    get_raw(&r, &s->cfg, sizeof s->cfg);
    s->all = task_of(&r, get32(&r));
    s->groups = group_of(&r, get32(&r));
    for (uint32_t i = 0; i < ng && !r.bad; i++) {
        struct sched_group *g = io->group_at(io->ctx, i);
        get_raw(&r, g, sizeof *g);
        g->next = group_of(&r, get32(&r));
    }
    for (unsigned c = 0; c < s->nr_cpus && !r.bad; c++) {
        struct sched_rq *rq = &s->rq[c];
        get_raw(&r, rq, sizeof *rq);
        rq->curr = task_of(&r, get32(&r));
        rq->fair.root = node_of(&r, get32(&r));
        rq->fair.throttled = task_of(&r, get32(&r));
        for (unsigned p = 0; p < SCHED_RT_PRIOS; p++) {
            rq->rt.head[p] = task_of(&r, get32(&r));
            rq->rt.tail[p] = task_of(&r, get32(&r));
        }
        rq->dl.root = node_of(&r, get32(&r));
        rq->dl.throttled = task_of(&r, get32(&r));
        if (rq->cpu != c)
            r.bad = true;
    }
    for (uint32_t i = 0; i < nt && !r.bad; i++) {
        struct sched_task *t = io->task_at(io->ctx, i);
        get_raw(&r, t, sizeof *t);
        t->group = group_of(&r, get32(&r));
        load_node(&r, &t->fair.node);
        t->fair.tnext = task_of(&r, get32(&r));
        t->fair.tprev = task_of(&r, get32(&r));
        t->rt.next = task_of(&r, get32(&r));
        t->rt.prev = task_of(&r, get32(&r));
        load_node(&r, &t->dl.node);
        t->dl.tnext = task_of(&r, get32(&r));
        t->dl.tprev = task_of(&r, get32(&r));
        t->all_next = task_of(&r, get32(&r));
    }
    return r.bad ? SCHED_EINVAL : SCHED_OK;
}
