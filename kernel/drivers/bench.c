/* The driver workload (kernel.drivers + kernel.driver_load, docs/drivers.md):
 * one client on the core's CPU drives a bound device through the registry
 * with a given queue depth, checks every completed request's data, and
 * recovers the driver whenever it crashes; the driver's CPU (tiers 1 and
 * 2) serves the binding until the client is done. At the end the recovery
 * checker runs (no request completed twice, none hanging, kernel memory
 * outside the driver's region untouched) and the figures are reported as
 * drv.* (hal_report).
 *
 * Requests (dmae): a copy of `bytes` from a source buffer the client fills
 * with a pattern of the request's sequence number into a destination it
 * fills with the pattern's complement; on completion the destination must
 * hold the pattern. Buffer pair i of the I/O area belongs to the client's
 * slot i (depth slots).
 *
 * Requests (nic): `requests` packets of `bytes` to node `dest`, at most
 * `depth` in flight, each payload led by the client's sequence number;
 * and `depth` receive requests kept posted, each completed with the first
 * word of a packet from the peer, whose sequence (its high half) must grow
 * (a packet delivered twice or out of order is counted). The client is
 * done when every send completed and `receive` packets arrived, or
 * `rx_idle` passed without one after the sends (packets dropped while the
 * driver was being recovered are lost, as Ethernet loses them). */
#include "kernel/driver.h"
#include "kernel/drv_bench.h"
#include "kernel/dev/nic.h"
#include "kernel/kstring.h"

/* registry.c / recovery.c / dmae.c internals the workload uses */
void drv_driver_loop(struct hal_cpu *c, struct drv_binding *b, hal_ns_t nap);
void drv_core_wait(struct hal_cpu *c, struct drv_binding *b, hal_ns_t nap);
int drv_recovery_check_idle(struct hal_cpu *c, const struct drv_binding *b);
bool drv_guards_ok(struct hal_cpu *c, const struct drv_binding *b);

#define GO 64u /* the control line's second line: the core says "serve" */
#define K 0x9E3779B97F4A7C15ull

static uint64_t pat(uint64_t seq, uint64_t i) { return (seq + 1) * K + i; }

static void fill(struct hal_cpu *c, hal_paddr_t at, uint32_t bytes, uint64_t seq, bool inv)
{
    for (uint32_t i = 0; i < bytes; i += 8)
        (void)hal_store(c, at + i, 8, inv ? ~pat(seq, i) : pat(seq, i));
}

static bool holds(struct hal_cpu *c, hal_paddr_t at, uint32_t bytes, uint64_t seq)
{
    for (uint32_t i = 0; i < bytes; i += 8) {
        uint64_t v = 0;
        if (hal_load(c, at + i, 8, &v) != HAL_OK || v != pat(seq, i))
            return false;
    }
    return true;
}

static struct drv_binding *volatile active; /* for the interrupt upcalls */

void drv_bench_irq(struct hal_cpu *c, uint32_t vector)
{
    struct drv_binding *b = active;
    if (b)
        drv_irq(c, b, vector);
}

void drv_bench_dma_fault(struct hal_cpu *c, uint32_t dev, uint64_t bus, unsigned access)
{
    struct drv_binding *b = active;
    if (b && dev == b->dev)
        drv_dma_fault(c, b, bus, access);
}

static int driver_side(struct hal_cpu *c, const struct drv_bench_cfg *cfg, struct drv_binding *b)
{
    uint64_t go = 0;
    while (hal_load(c, cfg->chan_at + GO, 8, &go) == HAL_OK && go == 0) {
        hal_timer_set(c, hal_now(c) + cfg->nap);
        hal_idle(c);
    }
    if (go != 1)
        return 0; /* the core gave up before starting */
    drv_driver_loop(c, b, cfg->nap);
    return 0;
}

/* The copy client (dmae). */
static int copy_client(struct hal_cpu *c, const struct drv_bench_cfg *cfg, struct drv_binding *b,
                       struct drv_bench_result *res)
{
    int rc;
    hal_paddr_t io = cfg->region + cfg->ops->io_offset;
    uint64_t slot_seq[DRV_MAX_TAGS];
    bool slot_busy[DRV_MAX_TAGS];
    kmemset(slot_busy, 0, sizeof slot_busy);
    kmemset(slot_seq, 0, sizeof slot_seq);
    uint64_t seq = 0, finished = 0;
    unsigned busy = 0;
    struct drv_cpl out[16];
    while (finished < cfg->requests) {
        bool did = false;
        /* submit while there is room */
        while (seq < cfg->requests && busy < cfg->depth) {
            unsigned s = 0;
            while (slot_busy[s])
                s++;
            hal_paddr_t src = io + (hal_paddr_t)s * 2 * cfg->bytes, dst = src + cfg->bytes;
            fill(c, src, cfg->bytes, seq, false);
            fill(c, dst, cfg->bytes, seq, true);
            struct drv_req rq = {.op = 1, .len = cfg->bytes, .addr = src, .arg0 = dst,
                                 .arg1 = s};
            rc = drv_submit(c, b, &rq);
            if (rc == DRV_EAGAIN)
                break;
            if (rc == DRV_EIO) { /* disabled: fails at once */
                res->failed++;
                finished++;
                seq++;
                did = true;
                continue;
            }
            if (rc)
                return __LINE__;
            slot_busy[s] = true;
            slot_seq[s] = seq++;
            busy++;
            res->submitted++;
            did = true;
        }
        int n = drv_reap(c, b, out, 16);
        for (int i = 0; i < n; i++) {
            const struct drv_req *rq = &b->tags.aReq[out[i].tag];
            unsigned s = (unsigned)rq->arg1;
            if (s >= cfg->depth || !slot_busy[s])
                return __LINE__;
            if (out[i].status == 0) {
                res->completed++;
                if (!holds(c, rq->arg0, cfg->bytes, slot_seq[s]))
                    res->bad_data++;
            } else {
                res->failed++;
            }
            slot_busy[s] = false;
            busy--;
            finished++;
            did = true;
        }
        if (drv_watchdog(c, b) || b->eState == DRV_S_CRASHED) {
            res->crashes_seen++;
            (void)drv_recover(c, b);
            did = true;
        }
        if (!did)
            drv_core_wait(c, b, cfg->nap);
    }
    /* before the unbind: nothing may be in flight any more */
    res->check = drv_recovery_check_idle(c, b);
    return 0;
}

static bool streq_nic(const char *n) { return n[0] == 'n' && n[1] == 'i' && n[2] == 'c' && !n[3]; }

/* The network client (nic). */
static int net_client(struct hal_cpu *c, const struct drv_bench_cfg *cfg, struct drv_binding *b,
                      struct drv_bench_result *res)
{
    hal_paddr_t io = cfg->region + cfg->ops->io_offset;
    bool slot_busy[DRV_MAX_TAGS];
    kmemset(slot_busy, 0, sizeof slot_busy);
    uint64_t seq = 0, tx_done = 0, last_rx_seq = 0, rx_posted = 0;
    unsigned busy = 0;
    hal_ns_t quiet_since = 0;
    struct drv_cpl out[16];
    for (;;) {
        bool did = false;
        hal_ns_t now = hal_now(c);
        if (tx_done == cfg->requests && quiet_since == 0)
            quiet_since = now;
        if (tx_done == cfg->requests &&
            (res->received >= cfg->receive || now - quiet_since >= cfg->rx_idle))
            break;
        /* receive requests kept posted */
        while (rx_posted < cfg->depth && b->eState != DRV_S_DISABLED) {
            struct drv_req rq = {.op = NIC_OP_RX, .arg1 = DRV_MAX_TAGS};
            int rc = drv_submit(c, b, &rq);
            if (rc == DRV_EAGAIN || rc == DRV_EIO)
                break;
            if (rc)
                return __LINE__;
            rx_posted++;
            did = true;
        }
        /* sends while there is room */
        while (seq < cfg->requests && busy < cfg->depth) {
            unsigned s = 0;
            while (slot_busy[s])
                s++;
            hal_paddr_t buf = io + (hal_paddr_t)s * cfg->bytes;
            (void)hal_store(c, buf, 8, seq);
            struct drv_req rq = {.op = NIC_OP_TX, .len = cfg->bytes, .addr = buf,
                                 .arg0 = cfg->dest, .arg1 = s};
            int rc = drv_submit(c, b, &rq);
            if (rc == DRV_EAGAIN)
                break;
            if (rc == DRV_EIO) {
                res->failed++;
                tx_done++;
                seq++;
                did = true;
                continue;
            }
            if (rc)
                return __LINE__;
            slot_busy[s] = true;
            seq++;
            busy++;
            res->submitted++;
            did = true;
        }
        int n = drv_reap(c, b, out, 16);
        for (int i = 0; i < n; i++) {
            const struct drv_req *rq = &b->tags.aReq[out[i].tag];
            did = true;
            if (rq->op == NIC_OP_RX) {
                rx_posted--;
                if (out[i].status)
                    continue; /* disabled: the receive failed */
                res->received++;
                quiet_since = tx_done == cfg->requests ? hal_now(c) : 0;
                uint64_t rseq = out[i].value >> 32;
                if (res->received > 1 && rseq <= last_rx_seq)
                    res->rx_out_of_order++;
                last_rx_seq = rseq;
                continue;
            }
            unsigned s = (unsigned)rq->arg1;
            if (s >= cfg->depth || !slot_busy[s])
                return __LINE__;
            if (out[i].status == 0) {
                res->completed++;
                res->sent++;
            } else {
                res->failed++;
            }
            slot_busy[s] = false;
            busy--;
            tx_done++;
        }
        if (drv_watchdog(c, b) || b->eState == DRV_S_CRASHED) {
            res->crashes_seen++;
            (void)drv_recover(c, b);
            did = true;
        }
        if (!did)
            drv_core_wait(c, b, cfg->nap);
    }
    /* receive requests still posted are the only ones left in flight */
    res->check = drv_recovery_check(b);
    if (res->check == 0 && drv_tags_inflight(&b->tags) != rx_posted)
        res->check = __LINE__;
    res->cancelled = rx_posted;
    return 0;
}

int drv_bench(struct hal_cpu *c, const struct drv_bench_cfg *cfg, struct drv_binding *b,
              struct drv_bench_result *res)
{
    unsigned me = hal_cpu_id(c);
    if (me == cfg->drv_cpu && me != cfg->core_cpu)
        return cfg->tier == DRV_TIER0 ? 0 : driver_side(c, cfg, b);
    if (me != cfg->core_cpu)
        return 0;
    kmemset(res, 0, sizeof *res);
    /* the go word before anything: 0 = wait */
    if (hal_store(c, cfg->chan_at + GO, 8, 0) != HAL_OK)
        return __LINE__;
    int rc = drv_bind(c, b, cfg->dev, cfg->ops, cfg->tier, cfg->region, cfg->region_size,
                      cfg->chan_at, &cfg->policy,
                      cfg->ops->io_offset && streq_nic(cfg->ops->name) ? 2 * cfg->depth : cfg->depth);
    if (rc) {
        (void)hal_store(c, cfg->chan_at + GO, 8, 2);
        return __LINE__;
    }
    b->cpu = cfg->tier == DRV_TIER0 ? cfg->core_cpu : cfg->drv_cpu;
    b->cross = cfg->cross;
    active = b;
    if (drv_start(c, b) != DRV_OK) {
        (void)hal_store(c, cfg->chan_at + GO, 8, 2);
        active = NULL;
        return __LINE__;
    }
    (void)hal_store(c, cfg->chan_at + GO, 8, 1);
    if (cfg->tier != DRV_TIER0)
        hal_ipi_send(c, cfg->drv_cpu, 0);

    hal_ns_t t0 = hal_now(c);
    rc = streq_nic(cfg->ops->name) ? net_client(c, cfg, b, res) : copy_client(c, cfg, b, res);
    if (rc)
        return rc;
    res->elapsed_ns = hal_now(c) - t0;
    active = NULL;
    (void)drv_stop(c, b);
    if (res->check == 0 && !drv_guards_ok(c, b))
        res->check = __LINE__; /* kernel memory outside the region was written */
    hal_report(c, "drv.requests", cfg->requests);
    hal_report(c, "drv.completed", res->completed);
    hal_report(c, "drv.failed", res->failed);
    hal_report(c, "drv.bad_data", res->bad_data);
    hal_report(c, "drv.crashes", b->nCrashes);
    hal_report(c, "drv.recoveries", b->nRecoveries);
    hal_report(c, "drv.demotions", b->nDemotions);
    hal_report(c, "drv.tier", b->tier);
    hal_report(c, "drv.disabled", b->eState == DRV_S_DISABLED);
    hal_report(c, "drv.irqs", b->nIrqs);
    hal_report(c, "drv.polls", b->nPolls);
    hal_report(c, "drv.messages", b->nMsgs);
    hal_report(c, "drv.reclaimed", b->tags.nReclaimed);
    hal_report(c, "drv.replayed", b->tags.nReplayed);
    hal_report(c, "drv.duplicates", b->tags.nDuplicates);
    hal_report(c, "drv.recovery_ns_max", b->recovery_ns_max);
    hal_report(c, "drv.recovery_ns_mean",
               b->nRecoveryTimes ? b->recovery_ns_sum / b->nRecoveryTimes : 0);
    hal_report(c, "drv.elapsed_ns", res->elapsed_ns);
    if (streq_nic(cfg->ops->name)) {
        hal_report(c, "drv.sent", res->sent);
        hal_report(c, "drv.received", res->received);
        hal_report(c, "drv.rx_out_of_order", res->rx_out_of_order);
        hal_report(c, "drv.rx_cancelled", res->cancelled);
    }
    hal_report(c, "drv.check", (uint64_t)res->check);
    if (res->check)
        return res->check;
    if (res->bad_data || res->rx_out_of_order || res->completed + res->failed != cfg->requests)
        return __LINE__;
    return 0;
}
