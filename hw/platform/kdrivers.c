/* kernel.drivers and kernel.driver_load on the modelled machine: the keys,
 * their checks against the machine (load time) and the devices linked to
 * the root complex (start time), and the run of the driver workload
 * (kernel/drivers/bench.c) on the kernel CPUs. docs/drivers.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/kcore.h"
#include "kcore_int.h"
#include "kernel/drv_bench.h"
#include "kernel/driver.h"
#include "kernel/ktest.h"
#include "orrery/error.h"

const struct orr_param kdrv_entry_params[] = {
    {"device", ORR_P_UINT, NULL, 0,
     "the device: its port on the machine's root complex (pcie.devN)", NULL, 0, 255},
    {"driver", ORR_P_STRING, NULL, ORR_PF_NONEMPTY,
     "the driver: dmae (the DMA engine), nic (the Ethernet NIC, host-driven)"},
    {"tier", ORR_P_UINT, "1", 0,
     "isolation tier: 0 in-core (a crash panics), 1 isolated kernel-adjacent (rings, own "
     "region, IOMMU), 2 user-space-like (1 plus a crossing per message)",
     NULL, 0, 255},
    {"cpu", ORR_P_UINT, "1", 0,
     "the kernel CPU the driver runs on at tiers 1 and 2 (not 0: the core's)", NULL, 0, 255},
    {NULL},
};

static const char *const kdrv_bugs[] = {"none", "skip_replay", "replay_done", NULL};

const struct orr_param kdrv_load_params[] = {
    {"requests", ORR_P_UINT, "200", ORR_PF_POSITIVE, "requests the client issues in all", NULL,
     1, 100000000},
    {"depth", ORR_P_UINT, "8", ORR_PF_POSITIVE, "requests in flight at most (tags)", NULL, 1,
     DRV_MAX_TAGS},
    {"bytes", ORR_P_SIZE, "4KiB", ORR_PF_POSITIVE, "bytes per request (a multiple of 8)", NULL,
     8, 65536},
    {"cross", ORR_P_CYCLES, "700cy", 0,
     "tier 2: one domain crossing per channel message, each side (assumption: a null syscall "
     "with KPTI, ~230 ns, REFERENCES.md, at ~3 GHz)"},
    {"watchdog", ORR_P_TIME, "1ms", ORR_PF_POSITIVE,
     "a driver silent this long with requests in flight has hung"},
    {"demote_after", ORR_P_UINT, "2", 0,
     "this many crashes within `window` move the driver one tier up (0: never)", NULL, 0, 16},
    {"window", ORR_P_TIME, "10ms", ORR_PF_POSITIVE, "the demotion window"},
    {"max_crashes", ORR_P_UINT, "8", 0, "more crashes than this in all disable the driver", NULL,
     0, 1000000},
    {"max_replays", ORR_P_UINT, "4", 0, "a request replayed more often fails (EIO)", NULL, 0,
     255},
    {"reset_timeout", ORR_P_TIME, "5ms", ORR_PF_POSITIVE,
     "quiesce and reset taking longer than this: the device is failed, the driver disabled"},
    {"dest", ORR_P_UINT, "1", 0, "nic: the fabric node the packets go to", NULL, 0, 1u << 20},
    {"receive", ORR_P_UINT, "0", 0, "nic: packets expected from the peer", NULL, 0, 100000000},
    {"rx_idle", ORR_P_TIME, "200us", ORR_PF_POSITIVE,
     "nic: once every send completed, stop waiting for the rest after this long without a "
     "packet (packets dropped during a recovery never come)"},
    {"inject_bug", ORR_P_ENUM, "none", 0,
     "a planted recovery bug the checker must catch: skip_replay (requests the device had not "
     "finished are forgotten), replay_done (finished ones run again)",
     kdrv_bugs},
    {"nap", ORR_P_TIME, "20us", ORR_PF_POSITIVE,
     "longest sleep of a side waiting for the other (a missed wake-up costs at most this)"},
    {NULL},
};

/* The device type each driver drives (the model's component type). */
static const struct {
    const char *driver, *type;
} kdrv_types[] = {
    {"dmae", "dma_engine"},
    {"nic", "nic"},
};

static const char *type_for(const char *driver)
{
    for (size_t i = 0; i < sizeof kdrv_types / sizeof kdrv_types[0]; i++)
        if (strcmp(kdrv_types[i].driver, driver) == 0)
            return kdrv_types[i].type;
    return NULL;
}

/* The driver's region and channels: in [memory/4, memory/2) of kernel
 * memory, free of the other benchmarks (per-CPU areas end at memory/4,
 * sync_bench starts at memory/2). A page of channels, a guard page, the
 * region, a guard line after it. */
static hal_paddr_t chan_base(const struct orr_params *kern)
{
    return (orr_param_u64(kern, "memory") / 4 + HAL_PAGE_SIZE) & ~(hal_paddr_t)(HAL_PAGE_SIZE - 1);
}

static hal_paddr_t region_base(const struct orr_params *kern)
{
    return chan_base(kern) + 4 * HAL_PAGE_SIZE;
}

static uint64_t region_bytes(const struct orr_params *kern, const struct drv_ops *ops)
{
    const struct orr_params *l = orr_param_group(kern, "driver_load");
    return drv_bench_region_bytes(ops->region_bytes, (unsigned)orr_param_u64(l, "depth"),
                                  (uint32_t)orr_param_u64(l, "bytes"));
}

int kernel_check_drivers(const struct orr_params *kern, unsigned ncpu, unsigned ndev, bool iommu,
                         struct orr_diag *d)
{
    size_t n = 0;
    const struct orr_params *e = orr_param_groups(kern, "drivers", &n);
    const struct orr_params *l = orr_param_group(kern, "driver_load");
    int rc = 0;
    if (orr_param_u64(l, "bytes") % 8) {
        orr_diag_error(d, orr_param_mark(l, "bytes"), "kernel.driver_load.bytes",
                       "%llu bytes: a multiple of 8",
                       (unsigned long long)orr_param_u64(l, "bytes"));
        rc = ORR_ESCHEMA;
    }
    for (size_t i = 0; i < n; i++) {
        char kp[64];
        snprintf(kp, sizeof kp, "kernel.drivers.%zu", i);
        const char *name = orr_param_str(&e[i], "driver");
        const struct drv_ops *ops = drv_find(name);
        unsigned tier = (unsigned)orr_param_u64(&e[i], "tier");
        unsigned dev = (unsigned)orr_param_u64(&e[i], "device");
        unsigned cpu = (unsigned)orr_param_u64(&e[i], "cpu");
        char key[80];
        if (i > 0) {
            orr_diag_error(d, &e[i].mark, kp,
                           "one driver binding per machine for now (the workload drives one "
                           "device)");
            rc = ORR_ESCHEMA;
            continue;
        }
        if (!ops) {
            char known[128] = "";
            for (const struct drv_ops *const *o = drv_all(); *o; o++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         known[0] ? ", " : "", (*o)->name);
            snprintf(key, sizeof key, "%s.driver", kp);
            orr_diag_error(d, orr_param_mark(&e[i], "driver"), key,
                           "unknown driver '%s': expected one of %s", name, known);
            rc = ORR_ESCHEMA;
        }
        if (tier >= DRV_NTIERS) {
            snprintf(key, sizeof key, "%s.tier", kp);
            orr_diag_error(d, orr_param_mark(&e[i], "tier"), key,
                           "tier %u does not exist: expected 0 (in-core), 1 (isolated) or 2 "
                           "(user-space-like)",
                           tier);
            rc = ORR_ESCHEMA;
        }
        if (ndev == 0) {
            orr_diag_error(d, &e[i].mark, kp,
                           "a driver drives a device behind the machine's root complex: add "
                           "machine.pcie and link the device to pcie.dev%u",
                           dev);
            rc = ORR_ESCHEMA;
        } else if (dev >= ndev) {
            snprintf(key, sizeof key, "%s.device", kp);
            orr_diag_error(d, orr_param_mark(&e[i], "device"), key,
                           "device %u, but machine.pcie has %u ports (devices 0..%u)", dev, ndev,
                           ndev - 1);
            rc = ORR_ESCHEMA;
        }
        if (tier >= 1 && tier < DRV_NTIERS && !iommu) {
            snprintf(key, sizeof key, "%s.tier", kp);
            orr_diag_error(d, orr_param_mark(&e[i], "tier"), key,
                           "tier %u limits the device's DMA with the IOMMU: set "
                           "machine.pcie.iommu: true",
                           tier);
            rc = ORR_ESCHEMA;
        }
        if (tier >= 1 && tier < DRV_NTIERS && (cpu == 0 || cpu >= ncpu)) {
            snprintf(key, sizeof key, "%s.cpu", kp);
            orr_diag_error(d, orr_param_mark(&e[i], "cpu"), key,
                           "cpu %u: a tier-%u driver runs on a kernel CPU of its own, 1..%u "
                           "(CPU 0 is the core's)",
                           cpu, tier, ncpu ? ncpu - 1 : 0);
            rc = ORR_ESCHEMA;
        }
        if (ops && strcmp(name, "nic") == 0 &&
            (orr_param_u64(l, "bytes") > 2048 - 62 ||
             orr_param_u64(l, "depth") * orr_param_u64(l, "bytes") > 256 * 1024)) {
            orr_diag_error(d, orr_param_mark(l, "bytes"), "kernel.driver_load.bytes",
                           "the nic driver sends at most 1986 payload bytes per packet (a 2 KiB "
                           "MTU) from a 256 KiB I/O area: depth x bytes = %llu",
                           (unsigned long long)(orr_param_u64(l, "depth") *
                                                orr_param_u64(l, "bytes")));
            rc = ORR_ESCHEMA;
        }
        if (ops && !type_for(name)) {
            snprintf(key, sizeof key, "%s.driver", kp);
            orr_diag_error(d, orr_param_mark(&e[i], "driver"), key,
                           "driver '%s' has no device type in hw/platform/kdrivers.c", name);
            rc = ORR_ESCHEMA;
        }
        if (ops && rc == 0 &&
            region_base(kern) + region_bytes(kern, ops) + HAL_PAGE_SIZE >
                orr_param_u64(kern, "memory") / 2) {
            orr_diag_error(d, orr_param_mark(l, "depth"), "kernel.driver_load",
                           "depth %llu x 2 x %llu bytes do not fit the drivers' quarter of "
                           "kernel memory ([memory/4, memory/2), %llu bytes of kernel.memory)",
                           (unsigned long long)orr_param_u64(l, "depth"),
                           (unsigned long long)orr_param_u64(l, "bytes"),
                           (unsigned long long)orr_param_u64(kern, "memory"));
            rc = ORR_ESCHEMA;
        }
    }
    return rc;
}

/* At start, with every link made: is the device each driver names there,
 * and of the type it drives? */
int kernel_check_driver_devices(const struct orr_component *c, const struct orr_params *kern,
                                struct orr_diag *d)
{
    size_t n = 0;
    const struct orr_params *e = orr_param_groups(kern, "drivers", &n);
    const struct orr_component *rc_ = orr_sim_find(c->sim, "pcie");
    int rc = 0;
    for (size_t i = 0; i < n && rc_; i++) {
        char port[32], kp[64];
        unsigned dev = (unsigned)orr_param_u64(&e[i], "device");
        const char *name = orr_param_str(&e[i], "driver"), *want = type_for(name);
        snprintf(port, sizeof port, "dev%u", dev);
        snprintf(kp, sizeof kp, "kernel.drivers.%zu.device", i);
        struct orr_port *p = orr_port_find(rc_, port);
        struct orr_port *peer = p ? orr_port_peer(p) : NULL;
        if (!peer) {
            orr_diag_error(d, orr_param_mark(&e[i], "device"), kp,
                           "no device is linked to pcie.%s for driver '%s' (a %s)", port, name,
                           want ? want : "?");
            rc = ORR_ESCHEMA;
        } else if (!want || strcmp(peer->owner->type->name, want) != 0) {
            orr_diag_error(d, orr_param_mark(&e[i], "device"), kp,
                           "driver '%s' drives a %s, but pcie.%s is %s (a %s)", name,
                           want ? want : "?", port, peer->owner->path, peer->owner->type->name);
            rc = ORR_ESCHEMA;
        }
    }
    return rc;
}

/* Every kernel CPU: the driver workload, when kernel.drivers names one. */
void kdrv_run(struct kcore *k)
{
    size_t n = 0;
    const struct orr_params *kern = &k->kp;
    const struct orr_params *e = orr_param_groups(kern, "drivers", &n);
    if (n == 0)
        return;
    const struct orr_params *l = orr_param_group(kern, "driver_load");
    const struct drv_ops *ops = drv_find(orr_param_str(&e[0], "driver"));
    struct kernel_shared *ks = k->k;
    if (!ks->drv && !(ks->drv = calloc(1, sizeof *ks->drv)))
        hal_panic(&k->cpu, "drivers: out of host memory for the binding");
    struct drv_bench_cfg cfg = {
        .dev = (uint32_t)orr_param_u64(&e[0], "device"),
        .ops = ops,
        .tier = (enum drv_tier)orr_param_u64(&e[0], "tier"),
        .core_cpu = 0,
        .drv_cpu = (unsigned)orr_param_u64(&e[0], "cpu"),
        .requests = (unsigned)orr_param_u64(l, "requests"),
        .depth = (unsigned)orr_param_u64(l, "depth"),
        .bytes = (uint32_t)orr_param_u64(l, "bytes"),
        .cross = (uint32_t)orr_param_u64(l, "cross"),
        .policy = {.demote_after = (unsigned)orr_param_u64(l, "demote_after"),
                   .window = orr_param_u64(l, "window") / ORR_NS,
                   .max_crashes = (unsigned)orr_param_u64(l, "max_crashes"),
                   .watchdog = orr_param_u64(l, "watchdog") / ORR_NS,
                   .reset_timeout = orr_param_u64(l, "reset_timeout") / ORR_NS,
                   .max_replays = (unsigned)orr_param_u64(l, "max_replays"),
                   .inject_bug = orr_param_enum(l, "inject_bug")},
        .region = region_base(kern),
        .region_size = region_bytes(kern, ops),
        .chan_at = chan_base(kern),
        .nap = orr_param_u64(l, "nap") / ORR_NS,
        .dest = (uint32_t)orr_param_u64(l, "dest"),
        .receive = (unsigned)orr_param_u64(l, "receive"),
        .rx_idle = orr_param_u64(l, "rx_idle") / ORR_NS,
    };
    if (cfg.tier == DRV_TIER0)
        cfg.drv_cpu = 0;
    if (k->cpu.id == cfg.core_cpu)
        ktest_dev_upcalls_set(drv_bench_irq, drv_bench_dma_fault);
    int rc = drv_bench(&k->cpu, &cfg, ks->drv, &ks->drv_res);
    if (k->cpu.id == cfg.core_cpu)
        ktest_dev_upcalls_set(0, 0);
    if (rc) {
        const struct drv_bench_result *r = &ks->drv_res;
        orr_sim_fail(k->c,
                     "kernel drivers: %s on device %u failed its check at kernel/drivers line "
                     "%d (recovery checker %d): %llu of %u requests completed, %llu failed, "
                     "%llu with wrong data, %llu completions refused as duplicates, %llu left "
                     "by a recovery with nobody to finish them, %llu still in flight",
                     ops->name, cfg.dev, rc, r->check, (unsigned long long)r->completed,
                     cfg.requests, (unsigned long long)r->failed,
                     (unsigned long long)r->bad_data,
                     (unsigned long long)ks->drv->tags.nDuplicates,
                     (unsigned long long)ks->drv->nForgotten,
                     (unsigned long long)drv_tags_inflight(&ks->drv->tags));
    }
}
