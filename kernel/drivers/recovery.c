/* Crash recovery of isolated drivers (driver.h, docs/drivers.md): the
 * generic in-flight accounting (the tag table), the recovery sequence that
 * takes a crashed binding back to RUNNING, the policy that demotes or
 * disables a driver that keeps crashing, and the recovery checker.
 *
 * DESIGN
 *
 * A binding's recovery states (eState, with the lifecycle's in registry.c):
 *
 *     RUNNING --crash--> CRASHED --fence--> RECOVERING --restart--> RUNNING
 *                           |                   |   ^
 *                           |                   |   | crash during recovery
 *                           |                   +---+ (retry while allowed)
 *                           +--policy: too many crashes / reset timed out--> DISABLED
 *
 *   RUNNING    -> CRASHED    [drv_crash: domain fault, watchdog, IOMMU fault]
 *   CRASHED    -> RECOVERING [drv_recover: the driver CPU parked (fence),
 *                             the completions it had sent drained]
 *   RECOVERING -> RECOVERING [drv_recover: the new instance crashed while
 *                             recovering: a new attempt, counted as a crash]
 *   RECOVERING -> RUNNING    [drv_recover: probe, quiesce, the old grants
 *                             revoked, reset (timed), restore_state, start;
 *                             every in-flight tag
 *                             reclaimed (done), replayed or failed]
 *   CRASHED    -> DISABLED   [drv_recover: max_crashes exceeded]
 *   RECOVERING -> DISABLED   [drv_recover: reset timed out, or too many
 *                             crashes during recovery]
 *
 * A tag's states (enum drv_tag_state):
 *
 *   FREE     -> INFLIGHT [drv_submit]
 *   INFLIGHT -> DONE     [drv_tags_complete: the driver, or recovery's
 *                         reclaim (the device had finished it), or a
 *                         failure (DRV_EIO: disabled, replays exhausted)]
 *   INFLIGHT -> INFLIGHT [recovery: replayed to the new instance]
 *   DONE     -> FREE     [drv_tags_reap: the client took it]
 *
 * Invariants:
 *   1. Every submitted request ends DONE exactly once:
 *      nCompleted + nFailed + inflight + done-unreaped = nSubmitted, and a
 *      second completion of a tag is refused and counted (nDuplicates),
 *      which the checker reports.
 *   2. After drv_recover returns with the binding RUNNING, every tag that
 *      was in flight at the crash is DONE or in the new instance's hands
 *      (replayed); with the binding DISABLED, none is in flight.
 *   3. A crashed instance is never called again (registry.c: its env
 *      refuses everything; recovery makes a fresh one).
 *   4. Kernel memory outside the driver's region is untouched by a tier-1
 *      or tier-2 driver: the guard words around its region hold their
 *      pattern (registry.c), and the tag table (host memory of the core)
 *      passes drv_tags_check.
 *
 * Policy. Crash times are kept in a small ring; `demote_after` crashes
 * within `window` move the binding one tier up (1 -> 2: more isolation,
 * more cost per message); more than `max_crashes` crashes in all disable
 * it, failing its in-flight requests with DRV_EIO and every later submit
 * at once. A tier-0 binding never gets here: its crash panicked. */
#include "kernel/driver.h"
#include "kernel/kstring.h"

/* registry.c's internals */
void drv_revoke_all(struct hal_cpu *c, struct drv_binding *b);
void drv_channels_reset(struct hal_cpu *c, struct drv_binding *b);
int drv_instance_start(struct hal_cpu *c, struct drv_binding *b, const struct drv_state *st);
int drv_dispatch(struct hal_cpu *c, struct drv_binding *b, const struct drv_req *rq);
int drv_enter(struct drv_env *e);
int drv_fence_driver(struct hal_cpu *c, struct drv_binding *b, hal_ns_t timeout);
void drv_unfence_driver(struct hal_cpu *c, struct drv_binding *b);
bool drv_guards_ok(struct hal_cpu *c, const struct drv_binding *b);

/* ------------------------------------------------------------ the tag table */

void drv_tags_init(struct drv_tags *t, unsigned depth)
{
    kmemset(t, 0, sizeof *t);
    t->nTags = depth == 0 || depth > DRV_MAX_TAGS ? DRV_MAX_TAGS : depth;
}

int drv_tags_alloc(struct drv_tags *t, struct drv_req *rq)
{
    for (unsigned i = 0; i < t->nTags; i++)
        if (t->aState[i] == DRV_TAG_FREE) {
            t->aState[i] = DRV_TAG_QUEUED;
            t->aGen[i]++;
            t->aReplays[i] = 0;
            rq->tag = (uint16_t)i;
            t->nSubmitted++;
            return DRV_OK;
        }
    return DRV_EAGAIN;
}

int drv_tags_complete(struct drv_tags *t, const struct drv_cpl *cpl)
{
    if (cpl->tag >= t->nTags || t->aState[cpl->tag] != DRV_TAG_INFLIGHT) {
        t->nDuplicates++;
        return DRV_ESTATE;
    }
    t->aState[cpl->tag] = DRV_TAG_DONE;
    t->aCpl[cpl->tag] = *cpl;
    t->aDoneQ[(t->doneHead + t->nDoneQ++) % DRV_MAX_TAGS] = cpl->tag;
    if (cpl->status == 0)
        t->nCompleted++;
    else
        t->nFailed++;
    return DRV_OK;
}

int drv_tags_reap(struct drv_tags *t, uint16_t tag, struct drv_cpl *out)
{
    if (tag >= t->nTags || t->aState[tag] != DRV_TAG_DONE)
        return DRV_ESTATE;
    *out = t->aCpl[tag];
    t->aState[tag] = DRV_TAG_FREE;
    return DRV_OK;
}

int drv_tags_next_done(struct drv_tags *t, struct drv_cpl *out)
{
    while (t->nDoneQ) { /* entries of tags reaped by drv_tags_reap are skipped */
        uint16_t tag = t->aDoneQ[t->doneHead];
        t->doneHead = (t->doneHead + 1) % DRV_MAX_TAGS;
        t->nDoneQ--;
        if (drv_tags_reap(t, tag, out) == DRV_OK)
            return DRV_OK;
    }
    return DRV_EAGAIN;
}

unsigned drv_tags_inflight(const struct drv_tags *t)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->nTags; i++)
        n += t->aState[i] == DRV_TAG_INFLIGHT || t->aState[i] == DRV_TAG_QUEUED;
    return n;
}

int drv_tags_check(const struct drv_tags *t)
{
    uint64_t live = 0, done = 0;
    if (t->nTags == 0 || t->nTags > DRV_MAX_TAGS)
        return __LINE__;
    for (unsigned i = 0; i < t->nTags; i++) {
        if (t->aState[i] > DRV_TAG_DONE)
            return __LINE__;
        live += t->aState[i] == DRV_TAG_INFLIGHT || t->aState[i] == DRV_TAG_QUEUED;
        done += t->aState[i] == DRV_TAG_DONE;
    }
    for (unsigned i = t->nTags; i < DRV_MAX_TAGS; i++)
        if (t->aState[i] != DRV_TAG_FREE)
            return __LINE__;
    /* every submission is finished (reaped or not) or still live */
    if (t->nCompleted + t->nFailed + live != t->nSubmitted)
        return __LINE__;
    if (done > t->nCompleted + t->nFailed)
        return __LINE__;
    return 0;
}

/* ---------------------------------------------------------------- policy */

/* Crashes within the window ending now (the last one included). */
static unsigned crashes_in_window(const struct drv_binding *b, hal_ns_t now)
{
    unsigned n = 0, have = b->nCrashes < DRV_MAX_CRASH_LOG ? b->nCrashes : DRV_MAX_CRASH_LOG;
    for (unsigned i = 0; i < have; i++)
        if (now - b->aCrashAt[i] <= b->policy.window)
            n++;
    return n;
}

/* Fail every request in flight: the binding is disabled. */
static void fail_all(struct drv_binding *b)
{
    for (unsigned t = 0; t < b->tags.nTags; t++)
        if (b->tags.aState[t] == DRV_TAG_INFLIGHT) {
            struct drv_cpl cpl = {.tag = (uint16_t)t, .status = DRV_EIO};
            (void)drv_tags_complete(&b->tags, &cpl);
        }
}

static int disable(struct hal_cpu *c, struct drv_binding *b)
{
    drv_revoke_all(c, b);
    b->eState = DRV_S_DISABLED;
    fail_all(b);
    (void)hal_irq_route(c, b->vector, b->core_cpu, true);
    return DRV_EIO;
}

/* ------------------------------------------------------------- recovery */

/* Completions the crashed instance had pushed before its crash are real:
 * deliver them (each through the tag table, duplicates refused). */
static void drain_completions(struct hal_cpu *c, struct drv_binding *b)
{
    uint64_t msg[2];
    while (drv_chan_pop(c, &b->cpl_core, msg) == DRV_OK) {
        struct drv_cpl cpl;
        kmemcpy(&cpl, msg, sizeof cpl);
        (void)drv_tags_complete(&b->tags, &cpl);
    }
}

/* One attempt to bring up a fresh instance; DRV_OK, DRV_ECRASHED (it
 * crashed while recovering), DRV_ETIMEDOUT (the reset took too long), or
 * another error from the driver. */
static int restart(struct hal_cpu *c, struct drv_binding *b)
{
    b->crashed = 0;
    b->hung = 0;
    b->dma_poison = 0;
    b->irq_pending = 0;
    b->priv = NULL;
    b->env.c = c;
    b->env.tier = b->tier;
    struct drv_env *e = &b->env;
    /* the reloaded driver's first entry: a fault point like any other, so
     * a driver can crash again while it is being recovered */
    int rc = drv_enter(e);
    if (rc == DRV_OK)
        rc = b->ops->probe(e);
    if (rc)
        return b->crashed ? DRV_ECRASHED : rc;
    /* the device stops first (what it finished stays finished, for
     * reclaim to find), then the old instance's grants go: a device still
     * running a copy the crashed driver programmed could only reach pages
     * of the driver's region anyway (its grants were domain-checked) */
    hal_ns_t t0 = hal_now(c);
    rc = b->ops->quiesce(e);
    drv_revoke_all(c, b);
    if (rc || (rc = b->ops->reset(e)))
        return b->crashed ? DRV_ECRASHED : rc;
    if (b->policy.reset_timeout && hal_now(c) - t0 > b->policy.reset_timeout)
        return DRV_ETIMEDOUT;
    if (b->ops->restore_state && (rc = b->ops->restore_state(e, &b->state)))
        return b->crashed ? DRV_ECRASHED : rc;
    if (b->tier != DRV_TIER0)
        drv_channels_reset(c, b);
    return drv_instance_start(c, b, &b->state);
}

/* Every tag still in flight: ask the new instance whether its device
 * finished it (complete it), else replay it or fail it. Runs before the
 * driver CPU serves again, so replays go through the fresh channel in tag
 * order. */
static int reclaim_inflight(struct hal_cpu *c, struct drv_binding *b)
{
    struct drv_env *e = &b->env;
    for (unsigned t = 0; t < b->tags.nTags; t++) {
        if (b->tags.aState[t] != DRV_TAG_INFLIGHT)
            continue;
        const struct drv_req *rq = &b->tags.aReq[t];
        uint64_t value = 0;
        int r = b->ops->reclaim ? b->ops->reclaim(e, rq, &value) : DRV_RECLAIM_REPLAY;
        if (b->crashed)
            return DRV_ECRASHED;
        if (r == DRV_RECLAIM_DONE) {
            struct drv_cpl cpl = {.tag = (uint16_t)t, .status = 0, .value = value};
            (void)drv_tags_complete(&b->tags, &cpl);
            b->tags.nReclaimed++;
            if (b->policy.inject_bug == DRV_BUG_REPLAY_DONE) /* planted: a second run */
                (void)drv_dispatch(c, b, rq);
        } else if (r == DRV_RECLAIM_REPLAY && b->policy.inject_bug == DRV_BUG_SKIP_REPLAY) {
            continue; /* planted: forgotten, left in flight */
        } else if (r == DRV_RECLAIM_REPLAY && b->tags.aReplays[t] < b->policy.max_replays) {
            b->tags.aReplays[t]++;
            b->tags.nReplayed++;
            b->nDispatched++;
            int rc = drv_dispatch(c, b, rq);
            if (rc == DRV_ECRASHED || b->crashed)
                return DRV_ECRASHED;
            if (rc) {
                struct drv_cpl cpl = {.tag = (uint16_t)t, .status = DRV_EIO};
                (void)drv_tags_complete(&b->tags, &cpl);
            }
        } else {
            struct drv_cpl cpl = {.tag = (uint16_t)t, .status = DRV_EIO};
            (void)drv_tags_complete(&b->tags, &cpl);
        }
    }
    return DRV_OK;
}

int drv_recover(struct hal_cpu *c, struct drv_binding *b)
{
    if (b->eState != DRV_S_CRASHED)
        return DRV_ESTATE;
    /* park the driver CPU: nothing of the old instance runs from here */
    if (b->tier != DRV_TIER0 && drv_fence_driver(c, b, b->policy.watchdog + 100000) != DRV_OK)
        hal_panic(c, "drivers: the driver CPU did not park for recovery");
    b->eState = DRV_S_RECOVERING;
    if (b->tier != DRV_TIER0)
        drain_completions(c, b);
    b->nRecoveries++;
    for (;;) {
        hal_ns_t now = hal_now(c);
        if (b->nCrashes > b->policy.max_crashes)
            return disable(c, b);
        if (b->policy.demote_after && crashes_in_window(b, now) >= b->policy.demote_after &&
            b->tier < DRV_TIER2) {
            b->tier = (enum drv_tier)(b->tier + 1);
            b->nDemotions++;
            b->aCrashAt[(b->nCrashes - 1) % DRV_MAX_CRASH_LOG] = 0; /* a fresh window */
            for (unsigned i = 0; i < DRV_MAX_CRASH_LOG; i++)
                b->aCrashAt[i] = 0;
        }
        int rc = restart(c, b);
        b->nDispatched = 0;
        if (rc == DRV_OK)
            rc = reclaim_inflight(c, b);
        if (rc == DRV_OK) {
            /* invariant 2: what is still in flight is what was handed over */
            unsigned live = drv_tags_inflight(&b->tags);
            if (live > b->nDispatched)
                b->nForgotten += live - b->nDispatched;
            break;
        }
        drv_revoke_all(c, b);
        if (rc != DRV_ECRASHED)
            return disable(c, b); /* the device would not come back */
        /* crashed during recovery: count it and try again */
        b->aCrashAt[b->nCrashes % DRV_MAX_CRASH_LOG] = hal_now(c);
        b->nCrashes++;
    }
    b->eState = DRV_S_RUNNING;
    b->awaiting_first = 1;
    b->last_beat_at = hal_now(c);
    if (b->tier != DRV_TIER0)
        drv_unfence_driver(c, b);
    return DRV_OK;
}

/* ----------------------------------------------------------- the checker */

int drv_recovery_check(const struct drv_binding *b)
{
    int rc = drv_tags_check(&b->tags);
    if (rc)
        return rc;
    if (b->tags.nDuplicates)
        return __LINE__; /* a request completed twice */
    if (b->nForgotten)
        return __LINE__; /* a recovery left requests with nobody to finish them */
    if (b->eState == DRV_S_DISABLED && drv_tags_inflight(&b->tags))
        return __LINE__; /* a disabled driver left requests hanging */
    return 0;
}

/* The full check once the client is done: nothing in flight, and the
 * guard words intact (kernel memory outside the region untouched). */
int drv_recovery_check_idle(struct hal_cpu *c, const struct drv_binding *b);
int drv_recovery_check_idle(struct hal_cpu *c, const struct drv_binding *b)
{
    int rc = drv_recovery_check(b);
    if (rc)
        return rc;
    if (drv_tags_inflight(&b->tags))
        return __LINE__; /* a request left hanging */
    if (!drv_guards_ok(c, b))
        return __LINE__; /* kernel memory outside the region was written */
    return 0;
}
