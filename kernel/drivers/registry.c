/* The driver registry (include/kernel/driver.h, docs/drivers.md): the
 * drivers the image knows, binding one to a device, the binding lifecycle,
 * the domain an isolated driver runs in (its env), and the paths requests
 * and completions take at each tier. Crash recovery is recovery.c.
 *
 * Lifecycle of a binding (eState):
 *
 *   UNBOUND --drv_bind--> PROBED --drv_start--> RUNNING --drv_stop--> UNBOUND
 *                                                  |
 *                               drv_crash (domain, watchdog, IOMMU)
 *                                                  v
 *                   DISABLED <--drv_recover-- CRASHED --drv_recover--> RUNNING
 *
 *   UNBOUND    -> PROBED     [drv_bind: identity read, probe]
 *   PROBED     -> RUNNING    [drv_start: vector routed, start, save_state]
 *   RUNNING    -> QUIESCED   [drv_stop: quiesce]
 *   QUIESCED   -> UNBOUND    [drv_stop: reset, remove, mappings revoked]
 *   RUNNING    -> CRASHED    [drv_crash]
 *   CRASHED    -> RECOVERING [drv_recover]  (recovery.c has the rest)
 *
 * Where code runs. Tier 0: everything on the core's CPU, the driver's
 * members called directly, interrupts deferred to the core's next
 * drv_reap (a softirq). Tiers 1 and 2: the driver serves on its own CPU
 * (drv_serve, driver side), the core only pushes requests and pops
 * completions through the channels; during bring-up and recovery the
 * core calls the driver's members itself on its own CPU while the driver
 * CPU is parked (the epoch handshake below), so a binding's host state is
 * never touched by two CPUs at once.
 *
 * The control line (kernel memory, `ctl`): words the two CPUs share.
 *   +0  epoch      even: the driver CPU serves; odd: parked for recovery
 *   +8  drv_sleep  1 while the driver CPU idles (the core IPIs it)
 *   +16 core_sleep 1 while the core idles waiting (the driver IPIs it)
 *   +24 heartbeat  bumped by each serving pass that did something
 *   +32 parked     the odd epoch the driver CPU acknowledged
 *   +40 crash      the enum drv_fault the driver CPU reported (0: none)
 *   +48 crash_addr the refused address
 *   +56 stop       1: the driver CPU leaves its loop
 *
 * Invariants (drv_recovery_check checks 1-3, drv_tags_check 4):
 *   1. A crashed instance's env calls do nothing (drv_crashed).
 *   2. At tiers 1/2 a driver's memory accesses fall in its region; the
 *      guard pages around it keep their pattern.
 *   3. A request is completed at most once; once the binding is idle none
 *      is in flight.
 *   4. The tag table's counts add up. */
#include "kernel/driver.h"
#include "kernel/kstring.h"

#define CTL_EPOCH 0u
#define CTL_DRV_SLEEP 8u
#define CTL_CORE_SLEEP 16u
#define CTL_BEAT 24u
#define CTL_PARKED 32u
#define CTL_CRASH 40u
#define CTL_CRASH_ADDR 48u
#define CTL_STOP 56u

extern const struct drv_ops drv_dmae_ops;
extern const struct drv_ops drv_nic_ops;

static const struct drv_ops *const drivers[] = {&drv_dmae_ops, &drv_nic_ops, NULL};

const struct drv_ops *const *drv_all(void) { return drivers; }

static bool streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

const struct drv_ops *drv_find(const char *name)
{
    for (unsigned i = 0; drivers[i]; i++)
        if (streq(drivers[i]->name, name))
            return drivers[i];
    return NULL;
}

/* ------------------------------------------------------------ shared words */

static uint64_t ctl_ld(struct hal_cpu *c, const struct drv_binding *b, unsigned off)
{
    uint64_t v = 0;
    if (hal_load(c, b->ctl + off, 8, &v) != HAL_OK)
        hal_panic(c, "drivers: a binding's control line is not in memory");
    return v;
}

static void ctl_st(struct hal_cpu *c, const struct drv_binding *b, unsigned off, uint64_t v)
{
    if (hal_store(c, b->ctl + off, 8, v) != HAL_OK)
        hal_panic(c, "drivers: a binding's control line is not in memory");
}

/* Wake `cpu` if it says it sleeps on flag `off`. */
static void wake(struct hal_cpu *c, struct drv_binding *b, unsigned off, unsigned cpu)
{
    if (ctl_ld(c, b, off)) {
        ctl_st(c, b, off, 0);
        hal_ipi_send(c, cpu, 0);
    }
}

/* ------------------------------------------------------------------ the env */

static struct drv_env *env_on(struct drv_binding *b, struct hal_cpu *c)
{
    b->env.c = c;
    b->env.tier = b->tier;
    return &b->env;
}

bool drv_crashed(const struct drv_env *e) { return e->b->crashed != 0; }

/* The driver, running on e->c, hit a fault. Tier 0 is the kernel: panic.
 * Tiers 1/2: from here on its env does nothing; the core learns of it
 * through the control line (or at once when the core is the one running
 * the driver's code: recovery checks `crashed` after every member). */
static int domain_fault(struct drv_env *e, enum drv_fault why, uint64_t addr)
{
    struct drv_binding *b = e->b;
    if (b->tier == DRV_TIER0)
        hal_panic(e->c, why == DRV_F_WILD_WRITE   ? "tier-0 driver crashed: wild write"
                        : why == DRV_F_NULL_DEREF ? "tier-0 driver crashed: null dereference"
                        : why == DRV_F_ASSERT     ? "tier-0 driver crashed: assertion failed"
                        : why == DRV_F_HANG       ? "tier-0 driver crashed: hang"
                                                  : "tier-0 driver crashed: IOMMU fault");
    if (!b->crashed) {
        b->crashed = 1;
        b->last_fault = why;
        b->fault_addr = addr;
        if (hal_cpu_id(e->c) == b->cpu && b->cpu != b->core_cpu) {
            ctl_st(e->c, b, CTL_CRASH_ADDR, addr);
            ctl_st(e->c, b, CTL_CRASH, (uint64_t)why);
            wake(e->c, b, CTL_CORE_SLEEP, b->core_cpu);
        }
    }
    return DRV_ECRASHED;
}

/* May the driver touch [pa, pa + size)? */
static int domain_check(struct drv_env *e, hal_paddr_t pa, unsigned size)
{
    if (e->b->crashed)
        return DRV_ECRASHED;
    if (e->tier == DRV_TIER0)
        return DRV_OK;
    if (pa >= e->region && pa + size <= e->region + e->region_size && pa + size > pa)
        return DRV_OK;
    return domain_fault(e, pa < HAL_PAGE_SIZE ? DRV_F_NULL_DEREF : DRV_F_WILD_WRITE, pa);
}

int drv_load(struct drv_env *e, hal_paddr_t pa, unsigned size, uint64_t *out)
{
    int rc = domain_check(e, pa, size);
    return rc ? rc : hal_load(e->c, pa, size, out);
}

int drv_store(struct drv_env *e, hal_paddr_t pa, unsigned size, uint64_t v)
{
    int rc = domain_check(e, pa, size);
    return rc ? rc : hal_store(e->c, pa, size, v);
}

int drv_atomic(struct drv_env *e, enum hal_atomic_op op, hal_paddr_t pa, unsigned size,
               uint64_t value, uint64_t expect, uint64_t *old)
{
    int rc = domain_check(e, pa, size);
    return rc ? rc : hal_atomic(e->c, op, pa, size, value, expect, old);
}

int drv_mmio_read(struct drv_env *e, uint64_t off, unsigned size, uint64_t *out)
{
    if (e->b->crashed)
        return DRV_ECRASHED;
    if (off + size > e->bar_size || off + size < off)
        return domain_fault(e, DRV_F_WILD_WRITE, e->bar + off);
    return hal_mmio_read(e->c, e->bar + off, size, out);
}

int drv_mmio_write(struct drv_env *e, uint64_t off, unsigned size, uint64_t v)
{
    if (e->b->crashed)
        return DRV_ECRASHED;
    if (off + size > e->bar_size || off + size < off)
        return domain_fault(e, DRV_F_WILD_WRITE, e->bar + off);
    return hal_mmio_write(e->c, e->bar + off, size, v);
}

/* Grants are whole pages of the region; the registry remembers each so it
 * can revoke the lot when the instance goes (stop or crash). */
int drv_dma_map(struct drv_env *e, hal_paddr_t pa, size_t len, bool write, uint64_t *bus)
{
    struct drv_binding *b = e->b;
    int rc = domain_check(e, pa, (unsigned)(len > 0xFFFFFFFFu ? 0xFFFFFFFFu : len));
    if (rc)
        return rc;
    if (b->nMaps == sizeof b->aMap / sizeof b->aMap[0])
        return DRV_ENOMEM;
    rc = hal_dma_map(e->c, e->dev, pa, len, write, bus);
    if (rc)
        return rc;
    b->aMap[b->nMaps].bus = *bus;
    b->aMap[b->nMaps].len = len;
    b->nMaps++;
    if (b->dma_poison) { /* the planted bug: an address off by 1 GiB */
        b->dma_poison = 0;
        *bus += UINT64_C(1) << 30;
    }
    return DRV_OK;
}

int drv_dma_unmap(struct drv_env *e, uint64_t bus, size_t len)
{
    struct drv_binding *b = e->b;
    if (b->crashed)
        return DRV_ECRASHED;
    for (unsigned i = 0; i < b->nMaps; i++)
        if (b->aMap[i].bus == bus && b->aMap[i].len == len) {
            b->aMap[i] = b->aMap[--b->nMaps];
            return hal_dma_unmap(e->c, e->dev, bus, len);
        }
    return domain_fault(e, DRV_F_WILD_WRITE, bus); /* not one of its grants */
}

int drv_assert_fail(struct drv_env *e, unsigned line)
{
    return domain_fault(e, DRV_F_ASSERT, line);
}

/* Revoke every grant the instance still holds (it stopped, or crashed). */
void drv_revoke_all(struct hal_cpu *c, struct drv_binding *b);
void drv_revoke_all(struct hal_cpu *c, struct drv_binding *b)
{
    for (unsigned i = 0; i < b->nMaps; i++)
        (void)hal_dma_unmap(c, b->dev, b->aMap[i].bus, b->aMap[i].len);
    b->nMaps = 0;
}

/* The fault points, asked before the driver runs an entry: a fired one
 * plants that bug in the entry about to run. */
int drv_enter(struct drv_env *e);
int drv_enter(struct drv_env *e)
{
    struct drv_binding *b = e->b;
    if (b->crashed)
        return DRV_ECRASHED;
    for (unsigned k = DRV_F_WILD_WRITE; k < DRV_F_NKINDS; k++) {
        if (!hal_fault_point(e->c, HAL_FP_DRV_BASE + k))
            continue;
        b->nCrashKind[k]++;
        switch (k) {
        case DRV_F_WILD_WRITE: /* one word past its region: a guard page */
            if (e->tier == DRV_TIER0) { /* nothing stops it: kernel memory is hit */
                (void)hal_store(e->c, e->region + e->region_size, 8, 0xBADBADBADull);
                return domain_fault(e, DRV_F_WILD_WRITE, e->region + e->region_size);
            }
            return drv_store(e, e->region + e->region_size, 8, 0xBADBADBADull);
        case DRV_F_NULL_DEREF: {
            uint64_t v;
            if (e->tier == DRV_TIER0)
                return domain_fault(e, DRV_F_NULL_DEREF, 0);
            return drv_load(e, 0, 8, &v);
        }
        case DRV_F_ASSERT:
            return drv_assert_fail(e, __LINE__);
        case DRV_F_HANG:
            b->hung = 1;
            return DRV_ECRASHED; /* not crashed yet: silent until the watchdog */
        case DRV_F_IOMMU:
            b->dma_poison = 1;
            break; /* the entry runs, with a bad DMA address */
        }
    }
    return DRV_OK;
}

/* ---------------------------------------------------------------- lifecycle */

#define GUARD_PATTERN UINT64_C(0x6775617264706167) /* "gaurdpag" */

int drv_bind(struct hal_cpu *c, struct drv_binding *b, uint32_t dev, const struct drv_ops *ops,
             enum drv_tier tier, hal_paddr_t region, uint64_t region_size, hal_paddr_t chan_at,
             const struct drv_policy *pol, unsigned depth)
{
    hal_paddr_t bar;
    uint64_t bar_size, id = 0;
    if (hal_dev_bar(c, dev, &bar, &bar_size) != HAL_OK)
        return DRV_ENODEV;
    bool match = false;
    for (const struct drv_match *m = ops->aMatch; m->mask; m++)
        if (hal_mmio_read(c, bar + m->reg, 8, &id) == HAL_OK && (id & m->mask) == m->id)
            match = true;
    if (!match || region_size < ops->region_bytes || (region & (HAL_PAGE_SIZE - 1)))
        return DRV_ENODEV;
    kmemset(b, 0, sizeof *b);
    b->dev = dev;
    b->ops = ops;
    b->tier = b->tier0 = tier;
    b->policy = *pol;
    b->core_cpu = hal_cpu_id(c);
    b->cpu = b->core_cpu;
    b->env = (struct drv_env){.b = b, .c = c, .bar = bar, .bar_size = bar_size,
                              .region = region, .region_size = region_size, .dev = dev,
                              .tier = tier};
    b->ctl = chan_at;
    b->chan_at = chan_at;
    drv_tags_init(&b->tags, depth);
    /* the guard words: the line after the region (the wild write's
     * target) and the line before it */
    if (hal_store(c, region + region_size, 8, GUARD_PATTERN) != HAL_OK ||
        hal_store(c, region - 64, 8, GUARD_PATTERN) != HAL_OK)
        return DRV_ENOMEM;
    for (unsigned off = 0; off < 64; off += 8)
        ctl_st(c, b, off, 0);
    b->eState = DRV_S_UNBOUND;
    struct drv_env *e = env_on(b, c);
    int rc = ops->probe(e);
    if (rc)
        return b->crashed ? DRV_ECRASHED : rc;
    b->eState = DRV_S_PROBED;
    return DRV_OK;
}

/* Both channels afresh (the core's ends; the driver CPU opens its own
 * when it next serves a new epoch). */
void drv_channels_reset(struct hal_cpu *c, struct drv_binding *b);
void drv_channels_reset(struct hal_cpu *c, struct drv_binding *b)
{
    uint32_t cross = b->tier == DRV_TIER2 ? b->cross : 0;
    hal_paddr_t at = b->chan_at + 128;
    drv_chan_init(c, &b->req_core, at, DRV_CHAN_CAP, 4, cross);
    drv_chan_init(c, &b->cpl_core, at + DRV_CHAN_BYTES(DRV_CHAN_CAP), DRV_CHAN_CAP, 2, cross);
    drv_chan_open(&b->req_drv, &b->req_core);
    drv_chan_open(&b->cpl_drv, &b->cpl_core);
}

/* Start the instance (first start or reload): route the vector, start
 * with the record (NULL at first), save the record. */
int drv_instance_start(struct hal_cpu *c, struct drv_binding *b, const struct drv_state *st);
int drv_instance_start(struct hal_cpu *c, struct drv_binding *b, const struct drv_state *st)
{
    unsigned to = b->tier == DRV_TIER0 ? b->core_cpu : b->cpu;
    if (hal_irq_route(c, b->vector, to, false) != HAL_OK)
        return DRV_ENODEV;
    struct drv_env *e = env_on(b, c);
    int rc = b->ops->start(e, st);
    if (rc == DRV_OK && b->ops->save_state) {
        rc = b->ops->save_state(e, &b->state);
        b->state.version++;
    }
    return b->crashed ? DRV_ECRASHED : rc;
}

int drv_start(struct hal_cpu *c, struct drv_binding *b)
{
    if (b->eState != DRV_S_PROBED)
        return DRV_ESTATE;
    if (b->tier != DRV_TIER0)
        drv_channels_reset(c, b);
    int rc = drv_instance_start(c, b, NULL);
    if (rc)
        return rc;
    b->eState = DRV_S_RUNNING;
    return DRV_OK;
}

int drv_stop(struct hal_cpu *c, struct drv_binding *b)
{
    if (b->tier != DRV_TIER0 && b->cpu != b->core_cpu) {
        ctl_st(c, b, CTL_STOP, 1);
        wake(c, b, CTL_DRV_SLEEP, b->cpu);
    }
    if (b->eState == DRV_S_RUNNING) {
        struct drv_env *e = env_on(b, c);
        if (b->ops->quiesce(e) == DRV_OK)
            b->eState = DRV_S_QUIESCED;
        (void)b->ops->reset(e);
        (void)b->ops->remove(e);
    }
    drv_revoke_all(c, b);
    /* what the driver never finished fails cleanly (receive requests still
     * waiting for a packet, say): nothing is left in flight */
    for (unsigned t = 0; t < b->tags.nTags; t++)
        if (b->tags.aState[t] == DRV_TAG_INFLIGHT) {
            struct drv_cpl cpl = {.tag = (uint16_t)t, .status = DRV_EIO};
            (void)drv_tags_complete(&b->tags, &cpl);
        }
    if (b->eState != DRV_S_DISABLED)
        b->eState = DRV_S_UNBOUND;
    return DRV_OK;
}

/* ------------------------------------------------------------- the core side */

/* Hand an allocated request to the driver. */
int drv_dispatch(struct hal_cpu *c, struct drv_binding *b, const struct drv_req *rq);
int drv_dispatch(struct hal_cpu *c, struct drv_binding *b, const struct drv_req *rq)
{
    if (b->tier == DRV_TIER0) {
        struct drv_env *e = env_on(b, c);
        int rc = drv_enter(e);
        if (rc == DRV_OK)
            rc = b->ops->submit(e, rq);
        if (b->hung)
            return DRV_OK; /* it took the request and will never finish it */
        return rc;
    }
    uint64_t msg[4];
    kmemcpy(msg, rq, sizeof msg);
    int rc = drv_chan_push(c, &b->req_core, msg);
    if (rc == DRV_OK) {
        b->nMsgs++;
        wake(c, b, CTL_DRV_SLEEP, b->cpu);
    }
    return rc;
}

int drv_submit(struct hal_cpu *c, struct drv_binding *b, struct drv_req *rq)
{
    if (b->eState == DRV_S_DISABLED)
        return DRV_EIO;
    if (b->eState != DRV_S_RUNNING && b->eState != DRV_S_CRASHED)
        return DRV_ESTATE;
    int rc = drv_tags_alloc(&b->tags, rq);
    if (rc)
        return rc;
    b->tags.aReq[rq->tag] = *rq;
    b->tags.aState[rq->tag] = DRV_TAG_INFLIGHT;
    if (b->eState == DRV_S_CRASHED)
        return DRV_OK; /* in flight; recovery replays it */
    rc = drv_dispatch(c, b, rq);
    if (rc == DRV_EAGAIN || (rc && rc != DRV_ECRASHED)) {
        b->tags.aState[rq->tag] = DRV_TAG_FREE; /* not taken: the client retries */
        b->tags.nSubmitted--;
        return rc == DRV_EAGAIN ? DRV_EAGAIN : rc;
    }
    return DRV_OK;
}

/* A completion reached the core (channel or direct). */
static void core_complete(struct hal_cpu *c, struct drv_binding *b, const struct drv_cpl *cpl)
{
    if (drv_tags_complete(&b->tags, cpl) == DRV_OK && b->awaiting_first) {
        b->awaiting_first = 0;
        b->recovered = hal_now(c);
        uint64_t ns = b->recovered - b->crash_detected;
        b->recovery_ns_sum += ns;
        if (ns > b->recovery_ns_max)
            b->recovery_ns_max = ns;
        b->nRecoveryTimes++;
    }
}

int drv_complete(struct drv_env *e, const struct drv_cpl *cpl)
{
    struct drv_binding *b = e->b;
    if (b->crashed)
        return DRV_ECRASHED;
    if (cpl->tag >= DRV_MAX_TAGS)
        return drv_assert_fail(e, __LINE__);
    if (b->tier == DRV_TIER0 || hal_cpu_id(e->c) == b->core_cpu) {
        core_complete(e->c, b, cpl);
        return DRV_OK;
    }
    uint64_t msg[2];
    kmemcpy(msg, cpl, sizeof msg);
    /* the completion channel holds 128 messages and at most DRV_MAX_TAGS
     * are in flight: the core reaps, so wait for room rather than drop */
    while (drv_chan_push(e->c, &b->cpl_drv, msg) == DRV_EAGAIN) {
        wake(e->c, b, CTL_CORE_SLEEP, b->core_cpu);
        hal_relax(e->c);
        if (ctl_ld(e->c, b, CTL_EPOCH) != b->epoch_seen)
            return DRV_ECRASHED; /* the core is recovering us: stop */
    }
    b->nMsgs++;
    wake(e->c, b, CTL_CORE_SLEEP, b->core_cpu);
    return DRV_OK;
}

/* Tier 0's softirq: the deferred interrupt and the polling, on the core. */
static void serve_irqs(struct drv_env *e, struct drv_binding *b)
{
    if (!b->irq_pending)
        return;
    unsigned n = b->irq_pending;
    b->irq_pending = 0;
    for (unsigned i = 0; i < n && !b->crashed; i++) {
        b->nIrqs++;
        if (b->ops->irq && b->ops->irq(e, b->vector) == DRV_ECRASHED)
            return;
    }
    if (!b->ops->poll)
        return;
    for (;;) {
        b->nPolls++;
        int got = b->ops->poll(e, 16);
        if (got < 16)
            break;
    }
}

int drv_reap(struct hal_cpu *c, struct drv_binding *b, struct drv_cpl *out, unsigned n)
{
    if (b->tier == DRV_TIER0 && b->eState == DRV_S_RUNNING && !b->hung && b->irq_pending &&
        drv_enter(env_on(b, c)) == DRV_OK)
        serve_irqs(env_on(b, c), b);
    if (b->tier != DRV_TIER0 && b->eState != DRV_S_DISABLED) {
        uint64_t msg[2];
        while (drv_chan_pop(c, &b->cpl_core, msg) == DRV_OK) {
            struct drv_cpl cpl;
            kmemcpy(&cpl, msg, sizeof cpl);
            b->nMsgs++;
            core_complete(c, b, &cpl);
        }
    }
    unsigned got = 0;
    while (got < n && drv_tags_next_done(&b->tags, &out[got]) == DRV_OK)
        got++;
    return (int)got;
}

void drv_irq(struct hal_cpu *c, struct drv_binding *b, uint32_t vector)
{
    (void)c;
    if (vector == b->vector)
        b->irq_pending++;
}

void drv_dma_fault(struct hal_cpu *c, struct drv_binding *b, uint64_t bus, unsigned access)
{
    (void)access;
    if (b->eState != DRV_S_RUNNING)
        return; /* a late fault of an instance already gone */
    if (b->tier == DRV_TIER0)
        hal_panic(c, "tier-0 driver crashed: its device's DMA was refused by the IOMMU");
    drv_crash(c, b, DRV_F_IOMMU, bus);
}

/* The core noticed the driver crashed (its report, the watchdog, an IOMMU
 * fault): CRASHED, and the time recovery is measured from. */
void drv_crash(struct hal_cpu *c, struct drv_binding *b, enum drv_fault why, uint64_t addr)
{
    if (b->eState != DRV_S_RUNNING)
        return;
    if (b->tier == DRV_TIER0)
        hal_panic(c, "tier-0 driver crashed");
    b->crashed = 1;
    if (b->last_fault == DRV_F_NONE || why == DRV_F_HANG || why == DRV_F_IOMMU) {
        b->last_fault = why;
        b->fault_addr = addr;
    }
    b->eState = DRV_S_CRASHED;
    b->crash_detected = hal_now(c);
    b->aCrashAt[b->nCrashes % DRV_MAX_CRASH_LOG] = b->crash_detected;
    b->nCrashes++;
}

bool drv_watchdog(struct hal_cpu *c, struct drv_binding *b)
{
    if (b->eState != DRV_S_RUNNING)
        return false;
    hal_ns_t now = hal_now(c);
    if (b->tier != DRV_TIER0) {
        uint64_t crash = ctl_ld(c, b, CTL_CRASH);
        if (crash) {
            drv_crash(c, b, (enum drv_fault)crash, ctl_ld(c, b, CTL_CRASH_ADDR));
            return true;
        }
    }
    uint64_t beat = b->tier == DRV_TIER0 ? b->nIrqs + b->tags.nCompleted
                                         : ctl_ld(c, b, CTL_BEAT);
    if (beat != b->last_beat || drv_tags_inflight(&b->tags) == 0) {
        b->last_beat = beat;
        b->last_beat_at = now;
        return false;
    }
    if (b->policy.watchdog && now - b->last_beat_at >= b->policy.watchdog) {
        if (b->tier == DRV_TIER0)
            hal_panic(c, "tier-0 driver crashed: hung (the watchdog fired)");
        drv_crash(c, b, DRV_F_HANG, 0);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------- the driver side */

/* Park for recovery: acknowledge the odd epoch, then wait for an even one. */
static void park(struct hal_cpu *c, struct drv_binding *b, uint64_t epoch)
{
    ctl_st(c, b, CTL_PARKED, epoch);
    wake(c, b, CTL_CORE_SLEEP, b->core_cpu);
}

bool drv_serve(struct hal_cpu *c, struct drv_binding *b)
{
    uint64_t epoch = ctl_ld(c, b, CTL_EPOCH);
    if (epoch & 1) {
        if (ctl_ld(c, b, CTL_PARKED) != epoch)
            park(c, b, epoch);
        return false;
    }
    if (epoch != b->epoch_seen) { /* a new instance: open our ends afresh */
        b->epoch_seen = epoch;
        b->nPend = b->pend_head = 0;
    }
    if (b->crashed || b->hung || b->eState == DRV_S_DISABLED)
        return false;
    struct drv_env *e = env_on(b, c);
    bool did = false;
    /* retry what the driver refused, in order, then new requests */
    while (b->nPend && !b->crashed) {
        struct drv_req *rq = &b->aPend[b->pend_head];
        if (b->ops->submit(e, rq) == DRV_EAGAIN)
            break;
        b->pend_head = (b->pend_head + 1) % DRV_MAX_TAGS;
        b->nPend--;
        did = true;
    }
    uint64_t msg[4];
    for (unsigned i = 0; i < 32 && !b->nPend && !b->crashed && !b->hung; i++) {
        if (drv_chan_pop(c, &b->req_drv, msg) != DRV_OK)
            break;
        struct drv_req rq;
        kmemcpy(&rq, msg, sizeof rq);
        did = true;
        if (drv_enter(e) != DRV_OK)
            break;
        if (b->ops->submit(e, &rq) == DRV_EAGAIN)
            b->aPend[(b->pend_head + b->nPend++) % DRV_MAX_TAGS] = rq;
    }
    if (b->irq_pending && !b->crashed && !b->hung) {
        did = true;
        if (drv_enter(e) == DRV_OK)
            serve_irqs(e, b);
    }
    if (did && !b->hung)
        ctl_st(c, b, CTL_BEAT, ctl_ld(c, b, CTL_BEAT) + 1);
    return did;
}

/* The driver CPU's loop (tiers 1/2): serve until told to stop. `until`
 * bounds a sleep (the timer), so a missed wake-up costs at most that. */
void drv_driver_loop(struct hal_cpu *c, struct drv_binding *b, hal_ns_t nap);
void drv_driver_loop(struct hal_cpu *c, struct drv_binding *b, hal_ns_t nap)
{
    while (!ctl_ld(c, b, CTL_STOP)) {
        if (drv_serve(c, b))
            continue;
        ctl_st(c, b, CTL_DRV_SLEEP, 1);
        hal_fence(c);
        /* re-check after announcing the sleep: a push in between would
         * otherwise wait for the nap */
        if (b->irq_pending || ctl_ld(c, b, CTL_STOP) || !drv_chan_empty(c, &b->req_drv) ||
            (ctl_ld(c, b, CTL_EPOCH) & 1))
            continue;
        hal_timer_set(c, hal_now(c) + nap);
        hal_idle(c);
    }
}

/* The core waits for something to happen (a completion, a crash report):
 * announce the sleep, nap at most `nap`. */
void drv_core_wait(struct hal_cpu *c, struct drv_binding *b, hal_ns_t nap);
void drv_core_wait(struct hal_cpu *c, struct drv_binding *b, hal_ns_t nap)
{
    if (b->tier == DRV_TIER0) {
        if (b->irq_pending)
            return;
        hal_timer_set(c, hal_now(c) + nap);
        hal_idle(c);
        return;
    }
    ctl_st(c, b, CTL_CORE_SLEEP, 1);
    hal_fence(c);
    /* re-check after announcing the sleep: a completion or a crash report
     * in between would otherwise wait for the nap */
    if (b->eState == DRV_S_RUNNING &&
        (!drv_chan_empty(c, &b->cpl_core) || ctl_ld(c, b, CTL_CRASH)))
        return;
    hal_timer_set(c, hal_now(c) + nap);
    hal_idle(c);
}

/* Recovery's side of the handshake (recovery.c): park the driver CPU. */
int drv_fence_driver(struct hal_cpu *c, struct drv_binding *b, hal_ns_t timeout);
int drv_fence_driver(struct hal_cpu *c, struct drv_binding *b, hal_ns_t timeout)
{
    if (b->tier0 == DRV_TIER0 && b->tier == DRV_TIER0)
        return DRV_OK;
    uint64_t epoch = ctl_ld(c, b, CTL_EPOCH);
    if (!(epoch & 1))
        ctl_st(c, b, CTL_EPOCH, ++epoch);
    hal_ns_t until = hal_now(c) + timeout;
    while (ctl_ld(c, b, CTL_PARKED) != epoch) {
        ctl_st(c, b, CTL_DRV_SLEEP, 0);
        hal_ipi_send(c, b->cpu, 0);
        if (hal_now(c) >= until)
            return DRV_ETIMEDOUT;
        ctl_st(c, b, CTL_CORE_SLEEP, 1);
        hal_timer_set(c, hal_now(c) + 2000);
        hal_idle(c);
    }
    return DRV_OK;
}

/* Let the driver CPU serve the new instance. */
void drv_unfence_driver(struct hal_cpu *c, struct drv_binding *b);
void drv_unfence_driver(struct hal_cpu *c, struct drv_binding *b)
{
    ctl_st(c, b, CTL_CRASH, 0);
    ctl_st(c, b, CTL_CRASH_ADDR, 0);
    uint64_t epoch = ctl_ld(c, b, CTL_EPOCH);
    if (epoch & 1)
        ctl_st(c, b, CTL_EPOCH, epoch + 1);
    ctl_st(c, b, CTL_DRV_SLEEP, 0);
    hal_ipi_send(c, b->cpu, 0);
}

/* Are the guard words around the region intact? (invariant 2) */
bool drv_guards_ok(struct hal_cpu *c, const struct drv_binding *b);
bool drv_guards_ok(struct hal_cpu *c, const struct drv_binding *b)
{
    uint64_t lo = 0, hi = 0;
    return hal_load(c, b->env.region - 64, 8, &lo) == HAL_OK &&
           hal_load(c, b->env.region + b->env.region_size, 8, &hi) == HAL_OK &&
           lo == GUARD_PATTERN && hi == GUARD_PATTERN;
}
