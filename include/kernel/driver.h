/* The driver registry's contract (kernel/drivers/registry.c, channel.c,
 * recovery.c; docs/drivers.md): what a driver is, how the registry finds
 * its device, the lifecycle it goes through, the three isolation tiers,
 * the ring channels between the core and an isolated driver, and the
 * generic in-flight request accounting crash recovery relies on.
 *
 * Vocabulary.
 *   core    the kernel proper: the registry, the recovery machinery and the
 *           clients that submit requests (a block layer, a network stack,
 *           a workload);
 *   driver  code behind a `struct drv_ops` table, written against `struct
 *           drv_env` only (never the HAL directly), so the registry can
 *           put it in any tier;
 *   device  a PCIe device behind the machine's root complex, numbered as
 *           hal.h numbers them (its downstream port: 0, 1, ...);
 *   binding one driver bound to one device (`struct drv_binding`): the unit
 *           the lifecycle, the tiers and recovery act on.
 *
 * STABILITY. Other subsystems (the NVMe driver and block layer) build on
 * this header. Changes after its first commit are additive only: new
 * members at the end of structs, new enum values, new functions. */
#ifndef KERNEL_DRIVER_H
#define KERNEL_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hal.h"
#include "kernel/ring.h"

/* ------------------------------------------------------------ error codes
 * 0 is success; failures are negative and never collide with HAL_E*
 * (which a driver may also return as it got them). */
enum drv_err {
    DRV_OK = 0,
    DRV_ENODEV = -20,   /* no device, or not the one the driver drives */
    DRV_ENOMEM = -21,   /* the driver's region (or a channel) is full */
    DRV_EAGAIN = -22,   /* a queue is full: try again after completions */
    DRV_ECRASHED = -23, /* the driver crashed; the call had no effect past the crash */
    DRV_EIO = -24,      /* the request failed (device error, driver disabled) */
    DRV_ESTATE = -25,   /* a lifecycle call in a state that does not allow it */
    DRV_ETIMEDOUT = -26 /* the device did not answer in time */
};

/* --------------------------------------------------------------- identity
 * How the registry tells what a device is. Modelled devices have no
 * config space; each exposes a read-only identity register in its BAR
 * that is free of side effects to read (the DMA engine's ID at 0x30, "DMAE").
 * A driver lists what it drives as match entries: read the 8-byte
 * register at BAR offset `reg`, and the device matches when
 * (value & mask) == id. New device models should put a PCI-style word at
 * DRV_ID_REG: vendor << 48 | device << 32 | class code << 8 | revision
 * (DRV_PCI_ID), so one read tells vendor, device and class; a driver
 * matching a whole class masks the rest (DRV_PCI_CLASS_MASK). */
#define DRV_ID_REG 0xF00u
#define DRV_PCI_ID(vendor, device, class_code, rev)                                             \
    ((uint64_t)(uint16_t)(vendor) << 48 | (uint64_t)(uint16_t)(device) << 32 |                  \
     (uint64_t)((class_code) & 0xFFFFFFu) << 8 | (uint64_t)(uint8_t)(rev))
#define DRV_PCI_CLASS_MASK (UINT64_C(0xFFFFFF) << 8)
#define DRV_PCI_DEV_MASK (UINT64_C(0xFFFFFFFF) << 32)

struct drv_match {
    uint32_t reg;  /* BAR offset of the identity register (8 bytes) */
    uint64_t mask; /* 0 ends the table */
    uint64_t id;
};

/* ------------------------------------------------------------------ tiers
 * The tier is chosen per binding (scenario key kernel.drivers[].tier) and
 * may be lowered by recovery policy (demotion: 0 is the least isolated, so
 * "safer" means a higher number). What each promises:
 *
 * DRV_TIER0  in-core. The core calls the ops directly on its own CPU and
 *            the driver's env calls go straight to the HAL: no checks, no
 *            channel, no crossing cost. A crash is a kernel crash: the
 *            registry calls hal_panic (that is what tier 0 means).
 * DRV_TIER1  isolated, kernel-adjacent. The driver runs on its own CPU
 *            (the binding's `cpu`), in a domain: every memory access it
 *            makes goes through the env and must fall inside its region
 *            (or a device BAR it was given); anything else is a domain
 *            fault, which is a crash of the driver, not of the kernel. Its
 *            memory (state, descriptor rings, buffers) is carved from its
 *            own region; its device's DMA is limited by the IOMMU to the
 *            pages of that region the driver mapped. Core and driver
 *            exchange requests and completions only through two SPSC
 *            ring channels in kernel memory, so each message costs the
 *            coherence traffic it causes.
 * DRV_TIER2  user-space-like: tier 1, plus a domain crossing charged on
 *            every channel message each side sends or receives (the
 *            binding's `cross` cycles: a privilege switch with its TLB
 *            and cache effects; see docs/drivers.md for the default).
 */
enum drv_tier { DRV_TIER0 = 0, DRV_TIER1 = 1, DRV_TIER2 = 2, DRV_NTIERS = 3 };

/* --------------------------------------------------------------- requests
 * A request the core hands a driver. `tag` is the binding's in-flight
 * slot (0 <= tag < DRV_MAX_TAGS), the only name both sides use for it;
 * the rest is the driver class's business (a block request: opcode,
 * LBA, count, buffer; a packet: length, buffer). 32 bytes so a channel
 * message is four 8-byte slots. */
#define DRV_MAX_TAGS 256u
struct drv_req {
    uint16_t tag;
    uint8_t op;      /* driver-class opcode */
    uint8_t flags;
    uint32_t len;    /* bytes */
    uint64_t addr;   /* a physical address in the binding's region (its buffer) */
    uint64_t arg0;   /* e.g. an LBA, a destination */
    uint64_t arg1;
};

/* A completion: the tag and a status (0, or a negative DRV_E* / class
 * status), plus one class value (bytes moved, a device status word). */
struct drv_cpl {
    uint16_t tag;
    int16_t status;
    uint32_t reserved;
    uint64_t value;
};

/* ---------------------------------------------------------------- channels
 * A channel is one SPSC ring (kernel/sync) in kernel memory carrying
 * fixed-size messages of `words` 8-byte slots each; one side only pushes,
 * the other only pops. A binding of tier 1 or 2 has two: `req` (core ->
 * driver: struct drv_req, 4 words) and `cpl` (driver -> core: struct
 * drv_cpl, 2 words), plus a doorbell word the core bumps so a driver
 * idling on its CPU learns of new work. A message goes in whole or not at
 * all (a full ring refuses it: DRV_EAGAIN). At tier 2 each push and each
 * pop charges the binding's crossing cost to the CPU doing it.
 *
 * After a driver crash the registry re-initialises both channels (the
 * crashed side's private indices are gone): messages still in them are
 * accounted by the tag table (below), never by the ring. */
struct drv_chan {
    struct ring_spsc ring;
    struct ring_side side; /* this end's private indices */
    unsigned words;        /* 8-byte slots per message */
    uint32_t cross;        /* cycles per message at tier 2, else 0 */
};
#define DRV_CHAN_BYTES(cap) RING_SPSC_BYTES(cap)
/* Set up the ring at `at` (cap slots, a power of two, a multiple of
 * words); called by the registry on the core's CPU before either side
 * uses it. Each side then calls drv_chan_open on its own CPU. */
void drv_chan_init(struct hal_cpu *c, struct drv_chan *ch, hal_paddr_t at, uint32_t cap,
                   unsigned words, uint32_t cross);
void drv_chan_open(struct drv_chan *mine, const struct drv_chan *shared);
/* 0, or DRV_EAGAIN with nothing pushed (full) / nothing popped (empty). */
int drv_chan_push(struct hal_cpu *c, struct drv_chan *ch, const uint64_t *msg);
int drv_chan_pop(struct hal_cpu *c, struct drv_chan *ch, uint64_t *msg);
void drv_chan_flush(struct hal_cpu *c, struct drv_chan *ch); /* publish a producer's batch */
/* Consumer side: no whole message waiting (re-reads the producer's index). */
bool drv_chan_empty(struct hal_cpu *c, struct drv_chan *ch);

/* ---------------------------------------------------------- the driver env
 * Everything a driver may do, it does through its env; the registry fills
 * it for the binding's tier. At tier 0 these are the HAL calls; at tiers
 * 1 and 2 they check the domain first and, once the driver has crashed,
 * do nothing and return DRV_ECRASHED (so no effect of a crashed driver
 * reaches the machine after its crash point; its callers unwind on the
 * error and the registry takes over).
 *
 * Memory: load/store/atomic at physical addresses (kernel-memory rules,
 * hal.h); allowed in [region, region + region_size) and nowhere else.
 * MMIO: only to the binding's device BAR. DMA: dma_map grants the device
 * pages of the region only (the IOMMU enforces the grant on the device's
 * side). complete() hands a finished request back to the core (directly
 * at tier 0, over the cpl channel otherwise). assert_fail() is a driver
 * assertion: a crash. */
struct drv_binding;
struct drv_env {
    struct drv_binding *b;
    struct hal_cpu *c;          /* the CPU the driver runs on now */
    hal_paddr_t bar;            /* the device's registers */
    uint64_t bar_size;
    hal_paddr_t region;         /* the driver's own memory */
    uint64_t region_size;
    uint32_t dev;               /* hal.h device number */
    enum drv_tier tier;
};
int drv_load(struct drv_env *e, hal_paddr_t pa, unsigned size, uint64_t *out);
int drv_store(struct drv_env *e, hal_paddr_t pa, unsigned size, uint64_t v);
int drv_atomic(struct drv_env *e, enum hal_atomic_op op, hal_paddr_t pa, unsigned size,
               uint64_t value, uint64_t expect, uint64_t *old);
int drv_mmio_read(struct drv_env *e, uint64_t off, unsigned size, uint64_t *out);
int drv_mmio_write(struct drv_env *e, uint64_t off, unsigned size, uint64_t v);
int drv_dma_map(struct drv_env *e, hal_paddr_t pa, size_t len, bool write, uint64_t *bus);
int drv_dma_unmap(struct drv_env *e, uint64_t bus, size_t len);
int drv_complete(struct drv_env *e, const struct drv_cpl *cpl);
int drv_assert_fail(struct drv_env *e, unsigned line); /* always DRV_ECRASHED */
#define DRV_ASSERT(e, cond)                                                                    \
    do {                                                                                       \
        if (!(cond))                                                                           \
            return drv_assert_fail((e), __LINE__);                                            \
    } while (0)
/* Whether the driver has crashed (every env call then fails). */
bool drv_crashed(const struct drv_env *e);
/* The fault point a driver asks at the top of each entry (the registry
 * does it for it in drv_enter): a platform-injected driver fault of kind
 * enum drv_fault fires here. */

/* ------------------------------------------------------ driver state record
 * A small record the registry keeps for each binding, outside the
 * driver's region (so it survives the driver), that the driver updates
 * with save_state whenever its configuration changes (queue setup, open
 * namespaces, link state) and that a reloaded instance gets back in
 * restore_state. In-flight requests are not in it: the tag table is. */
#define DRV_STATE_WORDS 16u
struct drv_state {
    uint32_t version;  /* bumped by every save */
    uint32_t nWords;   /* words the driver uses */
    uint64_t aWord[DRV_STATE_WORDS];
};

/* ------------------------------------------------------------ the ops table
 * All members are called by the registry (kernel/drivers/registry.c) or
 * the recovery machinery (recovery.c) with the env of the binding, on the
 * CPU the tier says (tier 0: the core's CPU; 1 and 2: the binding's CPU),
 * never concurrently with another member of the same binding. Return 0 or
 * a negative DRV_E*; DRV_ECRASHED (or any call after drv_crashed) makes
 * the registry treat the driver as crashed whatever the member.
 * Required: probe, start, submit, quiesce, reset, remove. */
struct drv_ops {
    const char *name;               /* the scenario's `driver:` value */
    const struct drv_match *aMatch; /* what it drives */
    /* Bytes of region the driver needs (its state, rings, buffers); the
     * registry gives at least this, page-aligned. */
    uint64_t region_bytes;
    /* Is this our device, and can we drive it? Reads identity and
     * capability registers only; must leave the device as it found it.
     * Called once per (re)load, before start. DRV_ENODEV: not ours. */
    int (*probe)(struct drv_env *e);
    /* Bring the device up from reset: lay out rings in the region, map
     * them for DMA, program the device, route and unmask its vectors
     * (hal_irq_route is the registry's: it routes the binding's vectors
     * to the driver's CPU before start). `st` is NULL on a first start,
     * or the record of the previous instance on a reload, to configure the
     * device the same way (restore_state has been called). */
    int (*start)(struct drv_env *e, const struct drv_state *st);
    /* A request from the core. The driver owns it until it calls
     * drv_complete for its tag (exactly once; the tag table checks).
     * DRV_EAGAIN: not taken now (queue full), the core retries it later. */
    int (*submit)(struct drv_env *e, const struct drv_req *rq);
    /* The device's interrupt `vector` arrived (tier 0: in interrupt
     * context; tiers 1/2: as a message on the driver's CPU). NAPI-like
     * drivers mask the vector and do the work in poll. Optional. */
    int (*irq)(struct drv_env *e, uint32_t vector);
    /* Reap at most `budget` completions from the device; returns how many
     * (>= 0) or an error. Re-enables the device's interrupt when it
     * finds fewer than budget. Called after irq and while work remains.
     * Optional (NULL: irq does the work). */
    int (*poll)(struct drv_env *e, unsigned budget);
    /* Stop the device issuing DMA and interrupts, without losing what it
     * completed: after quiesce the device does nothing until reset.
     * Called on a live driver before remove, and by recovery on a fresh
     * instance (the crashed one is never called again). */
    int (*quiesce)(struct drv_env *e);
    /* Put the device back in its power-on state (controller reset);
     * bounded by the registry's reset timeout. */
    int (*reset)(struct drv_env *e);
    /* Undo start: unmap DMA, free the region's contents. The registry
     * reclaims the region and the mappings anyway. */
    int (*remove)(struct drv_env *e);
    /* Write the driver's configuration into *st (nWords, aWord); the
     * registry bumps version. Optional. */
    int (*save_state)(struct drv_env *e, struct drv_state *st);
    /* A reloaded instance reads back the record of the last save before
     * start. Optional. */
    int (*restore_state)(struct drv_env *e, const struct drv_state *st);
    /* Recovery, for each tag in flight when the driver crashed, after the
     * new instance has started: did the device finish it? Reads device
     * state only (a completion-queue entry, a done counter, a head
     * register) — the crashed instance's memory is not trusted. Returns
     * DRV_RECLAIM_DONE (the device finished: complete it with *value,
     * never run it again), DRV_RECLAIM_REPLAY (not done or unknown and
     * safe to repeat: submit it again) or DRV_RECLAIM_FAIL (not safe to
     * repeat: fail it with DRV_EIO). Optional: NULL replays everything. */
    int (*reclaim)(struct drv_env *e, const struct drv_req *rq, uint64_t *value);
    /* --- added after the first commit (additive) --- */
    /* Where in the region the clients' I/O buffers start (the driver maps
     * or checks them); 0: anywhere in the region. */
    uint64_t io_offset;
};
enum drv_reclaim { DRV_RECLAIM_DONE = 1, DRV_RECLAIM_REPLAY = 2, DRV_RECLAIM_FAIL = 3 };

/* ----------------------------------------------------------- the registry
 * The drivers the kernel image knows (registry.c lists them; a new
 * driver adds its ops there). */
const struct drv_ops *drv_find(const char *name);
const struct drv_ops *const *drv_all(void); /* NULL-terminated */

/* Binding lifecycle (registry.c opens with the table):
 *
 *   DRV_S_UNBOUND -> DRV_S_PROBED   [drv_bind: probe]
 *   DRV_S_PROBED  -> DRV_S_RUNNING  [drv_start: start]
 *   DRV_S_RUNNING -> DRV_S_QUIESCED [drv_stop: quiesce]
 *   DRV_S_QUIESCED-> DRV_S_UNBOUND  [drv_stop: reset, remove]
 *   DRV_S_RUNNING -> DRV_S_CRASHED  [drv_crash: a fault the domain caught]
 *   DRV_S_CRASHED -> DRV_S_RECOVERING -> DRV_S_RUNNING [drv_recover]
 *   DRV_S_CRASHED -> DRV_S_DISABLED [drv_recover: policy gave up]
 *
 * Recovery's own states and invariants are in recovery.c. */
enum drv_state_id {
    DRV_S_UNBOUND = 0,
    DRV_S_PROBED,
    DRV_S_RUNNING,
    DRV_S_QUIESCED,
    DRV_S_CRASHED,
    DRV_S_RECOVERING,
    DRV_S_DISABLED,
};

/* What crashed a driver (the fault points and what catches them). */
enum drv_fault {
    DRV_F_NONE = 0,
    DRV_F_WILD_WRITE = 1, /* a store outside its region: the domain refuses it */
    DRV_F_NULL_DEREF = 2, /* a load at address 0: the domain refuses it */
    DRV_F_ASSERT = 3,     /* DRV_ASSERT failed */
    DRV_F_HANG = 4,       /* it stops answering: the watchdog notices */
    DRV_F_IOMMU = 5,      /* its device's DMA was refused by the IOMMU */
    DRV_F_NKINDS = 6,
};

/* Recovery policy (per binding, from the scenario). */
struct drv_policy {
    unsigned demote_after;  /* this many crashes within `window` demote one tier (0: never) */
    hal_ns_t window;
    unsigned max_crashes;   /* more crashes than this in all: disabled */
    hal_ns_t watchdog;      /* a driver silent this long with work pending has hung */
    hal_ns_t reset_timeout; /* quiesce + reset longer than this: the device is failed */
    unsigned max_replays;   /* a request replayed more often fails with DRV_EIO */
    /* added after the first commit: a planted recovery bug, for proving that
     * the checker and explore find it (enum drv_bug; 0 none) */
    unsigned inject_bug;
};
enum drv_bug {
    DRV_BUG_NONE = 0,
    DRV_BUG_SKIP_REPLAY = 1, /* recovery does not replay what the device had not finished */
    DRV_BUG_REPLAY_DONE = 2, /* recovery also replays what the device had finished */
};

/* Per-tag state of the generic in-flight accounting (recovery.c). */
enum drv_tag_state {
    DRV_TAG_FREE = 0,
    DRV_TAG_QUEUED,     /* the core has it, not yet given to the driver */
    DRV_TAG_INFLIGHT,   /* given to the driver (channel or direct call) */
    DRV_TAG_DONE,       /* completed; the client has not reaped it */
};

/* The in-flight table: one entry per tag, in host-private memory of the
 * core (never in a driver's region). Every completion passes through
 * drv_tags_complete, which refuses a tag not in flight — a completion
 * that would be the second for that request — and counts it. */
struct drv_tags {
    uint8_t aState[DRV_MAX_TAGS];   /* enum drv_tag_state */
    uint8_t aReplays[DRV_MAX_TAGS];
    uint32_t aGen[DRV_MAX_TAGS];    /* bumped at each allocation */
    struct drv_req aReq[DRV_MAX_TAGS];
    struct drv_cpl aCpl[DRV_MAX_TAGS];
    unsigned nTags;                 /* usable tags (queue depth) */
    uint64_t nSubmitted, nCompleted, nFailed, nDuplicates, nReplayed, nReclaimed;
    /* added after the first commit: finished tags in completion order */
    uint16_t aDoneQ[DRV_MAX_TAGS];
    unsigned doneHead, nDoneQ;
};
void drv_tags_init(struct drv_tags *t, unsigned depth);
/* A free tag for rq (rq->tag is set), or DRV_EAGAIN. */
int drv_tags_alloc(struct drv_tags *t, struct drv_req *rq);
/* The request completed (status 0) or failed: DRV_OK, or DRV_ESTATE when
 * the tag was not in flight (a duplicate: counted in nDuplicates and not
 * delivered). */
int drv_tags_complete(struct drv_tags *t, const struct drv_cpl *cpl);
/* The client takes a DONE tag's completion; the tag becomes free. */
int drv_tags_reap(struct drv_tags *t, uint16_t tag, struct drv_cpl *out);
/* The oldest finished request's completion (completion order); the tag
 * becomes free. DRV_EAGAIN when none is waiting. */
int drv_tags_next_done(struct drv_tags *t, struct drv_cpl *out);
unsigned drv_tags_inflight(const struct drv_tags *t);
/* The table's invariants: 0, or the line of the broken one. */
int drv_tags_check(const struct drv_tags *t);

/* A binding: one device, its driver, tier, CPU, region, channels, tag
 * table, state record and crash history. Host-private to the core except
 * what lives in kernel memory (the channels, the region). */
#define DRV_MAX_CRASH_LOG 16u
struct drv_binding {
    uint32_t dev;
    const struct drv_ops *ops;
    enum drv_tier tier, tier0; /* current, and as configured */
    enum drv_state_id eState;
    unsigned cpu;              /* the driver's CPU at tiers 1 and 2 */
    unsigned core_cpu;         /* the CPU of the core side */
    uint32_t cross;            /* tier-2 crossing cost, cycles */
    uint32_t vector;           /* the device's MSI-X vector */
    struct drv_env env;
    struct drv_chan req_core, req_drv; /* each side's end of the request channel */
    struct drv_chan cpl_core, cpl_drv; /* and of the completion channel */
    hal_paddr_t doorbell;      /* a word in kernel memory: core bumps it */
    hal_paddr_t heartbeat;     /* a word the driver bumps as it runs */
    struct drv_tags tags;
    struct drv_state state;
    struct drv_policy policy;
    enum drv_fault last_fault;
    uint64_t fault_addr;       /* the refused address (wild write, null deref, IOMMU) */
    unsigned nCrashes;
    hal_ns_t aCrashAt[DRV_MAX_CRASH_LOG]; /* ring of the last crash times */
    hal_ns_t crash_detected, recovered;   /* the last recovery's detection and first new completion */
    uint64_t nRecoveries, nDemotions;
    int crashed;               /* set by the domain at the crash point */
    void *priv;                /* the instance's host-private state; dropped at a reload,
                                  never read after a crash */
    uint64_t nIrqs, nPolls, nMsgs; /* interrupts taken, poll calls, channel messages */
    /* --- registry bookkeeping (registry.c; added after the first commit) --- */
    hal_paddr_t ctl;           /* the binding's control line in kernel memory */
    hal_paddr_t chan_at;
    uint64_t epoch_seen;       /* driver CPU: the epoch it serves */
    unsigned irq_pending;      /* vectors taken, not yet handled (serving context) */
    int hung;                  /* a hang fault: the driver stopped serving */
    int dma_poison;            /* an IOMMU fault point: the next DMA mapping is off */
    int awaiting_first;        /* recovered, waiting for the new instance's first completion */
    unsigned nMaps;
    struct { uint64_t bus, len; } aMap[32]; /* the instance's DMA mappings */
    unsigned nPend, pend_head;  /* driver CPU: requests the driver refused (EAGAIN), to retry */
    struct drv_req aPend[DRV_MAX_TAGS];
    hal_ns_t last_beat_at;     /* core: when it last saw the heartbeat move */
    uint64_t last_beat;
    uint64_t recovery_ns_sum, recovery_ns_max, nRecoveryTimes;
    uint64_t nCrashKind[DRV_F_NKINDS];
    /* requests a recovery left in flight without handing them to the new
     * instance (invariant 2 of recovery.c broken; the checker fails) */
    uint64_t nForgotten;
    unsigned nDispatched;      /* recovery: replays handed over in this pass */
};

/* ------------------------------------------------------- the core's calls
 * drv_bind: set up binding b for device dev with driver ops at tier, its
 * region [region, region + region_size) (page-aligned, at least
 * ops->region_bytes, outside every other binding's) and `chan` bytes of
 * kernel memory at `chan_at` for its channels and words (DRV_BIND_CHAN_BYTES);
 * reads the device's identity and runs probe: DRV_S_PROBED, or DRV_ENODEV
 * when the device is absent or the driver does not match it.
 * drv_start: start (routing the vector to the driver's CPU first):
 * DRV_S_RUNNING. drv_stop: quiesce, reset, remove: DRV_S_UNBOUND.
 * All three run on the core's CPU; at tiers 1/2 the driver's members run
 * there too during bring-up (the driver's CPU is not serving yet).
 *
 * drv_submit (core CPU): allocate a tag for rq and hand it to the driver
 * (tier 0: submit now; 1/2: the req channel, then the doorbell). DRV_EAGAIN
 * when no tag or no channel room; DRV_EIO when the binding is disabled.
 * drv_reap (core CPU): deliver at most n finished requests to out[] (pops
 * the cpl channel at tiers 1/2, accounting each through the tag table);
 * returns how many. A completed tag is free again once reaped.
 * drv_serve (driver CPU, tiers 1/2): one pass of the driver's loop: take
 * requests off the channel, handle interrupts, poll; returns whether it
 * did anything. drv_irq: the binding's vector arrived on this CPU.
 * drv_watchdog (core CPU): hang detection; crash the binding when its
 * heartbeat has not moved for policy.watchdog with work in flight.
 * drv_recover (core CPU, recovery.c): take a crashed binding back to
 * RUNNING (or DISABLED), completing or failing every request that was in
 * flight exactly once. */
#define DRV_CHAN_CAP 256u
#define DRV_BIND_CHAN_BYTES (2u * DRV_CHAN_BYTES(DRV_CHAN_CAP) + 128u)
int drv_bind(struct hal_cpu *c, struct drv_binding *b, uint32_t dev, const struct drv_ops *ops,
             enum drv_tier tier, hal_paddr_t region, uint64_t region_size, hal_paddr_t chan_at,
             const struct drv_policy *pol, unsigned depth);
int drv_start(struct hal_cpu *c, struct drv_binding *b);
int drv_stop(struct hal_cpu *c, struct drv_binding *b);
int drv_submit(struct hal_cpu *c, struct drv_binding *b, struct drv_req *rq);
int drv_reap(struct hal_cpu *c, struct drv_binding *b, struct drv_cpl *out, unsigned n);
bool drv_serve(struct hal_cpu *c, struct drv_binding *b);
void drv_irq(struct hal_cpu *c, struct drv_binding *b, uint32_t vector);
void drv_dma_fault(struct hal_cpu *c, struct drv_binding *b, uint64_t bus, unsigned access);
bool drv_watchdog(struct hal_cpu *c, struct drv_binding *b);
/* Mark the binding crashed (the domain, the watchdog, an IOMMU fault). */
void drv_crash(struct hal_cpu *c, struct drv_binding *b, enum drv_fault why, uint64_t addr);
int drv_recover(struct hal_cpu *c, struct drv_binding *b);
/* The recovery checker: no request completed twice, none left hanging
 * once the binding is idle, the tag table consistent; 0 or a line. */
int drv_recovery_check(const struct drv_binding *b);

#endif
