/* kcore: a core of the machine that runs the reference kernel
 * (docs/kernel-platform.md). Kernel C runs natively on a fiber: the CPU's
 * own (boot, benchmarks, then the idle loop) or a kernel thread's (k->cur,
 * switched by kc_switch for kthread.c);
 * the core's private caches (core_shell, hw/pcache.h) carry every HAL
 * shared access, so a lock, a counter or a queue in kernel memory costs
 * what the coherence protocol makes it cost.
 *
 * Execution. The fiber runs inside the core's event handler, ahead of
 * global time on the core's local clock: hits and annotated costs
 * (hal_cost, hal_relax) advance the local time inline. It yields back to
 * the engine when
 *   - an access misses (or the caches refuse it for now): it resumes from
 *     the cache's completion (done) or wake callback, with the value;
 *   - it is a quantum or more ahead of global time: it resumes from a step
 *     timer when global time catches up;
 *   - it idles (hal_idle): it resumes when an interrupt arrives;
 *   - it is busy (kc_busy, a thread's work): it resumes when the work is
 *     done or an interrupt arrives, whichever comes first;
 *   - it switches (kc_switch): kc_run resumes the next fiber at once.
 * Only one fiber runs at a time, between two engine events, so the order
 * in which CPUs see each other's writes is the event order: a function of
 * the scenario and the seed, never of the host.
 *
 * Interrupts. The timer is level-triggered: pending while armed and the
 * local time is at or past its deadline (a self-timer event wakes an idle
 * or waiting CPU at the deadline). IPIs travel as messages through the
 * interrupt controller (hw/irq/intc.c) on port `irq` and queue here in
 * arrival order; kernel threads' timer wake-ups (K_TWAKE) queue after
 * them. Pending interrupts run on the fiber, interrupts off,
 * whenever the CPU passes a HAL call that takes time or enables
 * interrupts; taking one costs `irq_cost` cycles.
 *
 * Faults: `stall` (nothing runs on the CPU until it ends; its clock jumps
 * over it), `spurious_irq` and `irq_storm` (interrupts nobody sent:
 * kern_ipi with HAL_IPI_SPURIOUS, or kern_timer with no timer armed),
 * `panic` (hal_panic at the CPU's next HAL call, masked or not).
 *
 * Attribution: time, accesses, misses and stalls go to the subsystem the
 * CPU is in (kc_sub_enter: boot, sync, sched, irq, task, idle, mm).
 *
 * Devices (hal.h "devices", with the machine's `pcie:`): MMIO goes to the
 * root complex on port `pcie` (a write posted, a read waits like a miss);
 * IOMMU map/unmap are commands on the same port, answered like a read;
 * MSI-X vectors and IOMMU faults come from the interrupt controller on
 * `irq` and queue after IPIs (kern_irq, kern_dma_fault).
 *
 * Virtual memory (hal_v*): a two-level TLB, a miss walks the kernel's
 * Sv48 tables with PTE loads through kc_access, a fault calls
 * kern_page_fault with interrupts off (include/hw/mmu.h, kernel/mm).
 *
 * The per-CPU checker: every access is checked against the per-CPU areas
 * (kc_check_percpu); one into another CPU's area fails it and the run.
 *
 * States and transitions (k->st):
 *   RUN        -> WAIT_MEM    [kc_access: a miss]
 *   RUN        -> WAIT_RETRY  [kc_access: PC_RETRY]
 *   RUN        -> WAIT_STEP   [kc_advance: a quantum ahead]
 *   RUN        -> IDLE        [kc_idle: nothing pending]
 *   RUN        -> BUSY        [kc_busy: a thread's work]
 *   RUN        -> RUN         [kc_switch: another fiber, same CPU]
 *   WAIT_*     -> RUN         [kcore_handle -> kc_run: its event came]
 *   IDLE, BUSY -> RUN         [an interrupt, or BUSY's end]
 *   RUN        -> DONE        [kc_main returns, or a panic parks the fiber]
 *
 * Invariants:
 *   1. A fiber runs only inside kc_run, with st == RUN, and it is k->cur.
 *   2. sh.local >= global time whenever the fiber runs.
 *   3. A CPU in IDLE (or BUSY before its end) has no deliverable interrupt
 *      (interrupts on, nothing pending) and no timer in the past.
 *   4. At most one access is outstanding (accesses perform in program
 *      order, each before the next starts).
 *   5. No CPU touches another CPU's per-CPU area (checked on every access).
 *   6. The TLBs keep mmu_tlb_check's invariants (checked at every flush
 *      and at the end of the run).
 */
#include "hw/kcore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fiber.h"
#include "kcore_int.h"
#include "hw/core.h"
#include "hw/nvme.h"
#include "hw/pcache.h"
#include "hw/platform.h"
#include "hw/registry.h"
#include "hw/sched_machine.h"
#include "kernel/blk.h"
#include "kernel/hal.h"
#include "kernel/ktest.h"
#include "kernel/mm.h"
#include "kernel/palloc.h"
#include "kernel/rcu.h"
#include "kernel/ring.h"
#include "kernel/sched.h"
#include "kernel/sync.h"
#include "orrery/irq.h"
#include "orrery/mem.h"
#include "orrery/pcie.h"
#include "orrery/error.h"

/* ---------------------------------------------------------------- keys */

static const char *const lock_kinds[] = {"none", "ticket", "mcs", "racy", NULL};

static const struct orr_param sync_bench_params[] = {
    {"lock", ORR_P_ENUM, "none", 0,
     "none, or the lock every kernel CPU runs the contention benchmark with (kernel/sync); "
     "racy takes no lock at all, so updates are lost and the run fails its mutual-exclusion "
     "check (a planted bug, for races and their seeds)",
     lock_kinds},
    {"cpus", ORR_P_UINT, "0", 0, "CPUs that contend: the first N kernel CPUs; 0 = all", NULL, 0,
     256},
    {"iterations", ORR_P_UINT, "100", ORR_PF_POSITIVE, "acquisitions per contending CPU", NULL, 1,
     1000000},
    {"critical", ORR_P_CYCLES, "20cy", 0, "work done while holding the lock"},
    {NULL},
};

static const struct orr_param vm_bench_params[] = {
    {"cpus", ORR_P_UINT, "0", 0,
     "CPUs that share the benchmark's address space: the first N kernel CPUs; 0 = no benchmark",
     NULL, 0, 256},
    {"pages", ORR_P_UINT, "32", ORR_PF_POSITIVE, "data pages every CPU reads each round", NULL, 1,
     4096},
    {"rounds", ORR_P_UINT, "20", 0, "rounds: CPU 0 remaps one page and shoots it down", NULL, 0,
     100000},
    {"demand", ORR_P_UINT, "8", 0, "demand-zero pages each CPU touches (a page fault each)", NULL,
     0, 4096},
    {"skip_flush", ORR_P_BOOL, "false", 0,
     "shootdown targets acknowledge without flushing their TLB: a planted bug the benchmark's "
     "stale-read check must catch (the run fails)"},
    {NULL},
};

static const char *const mm_policies[] = {"local", "preferred", "bind", "interleave", NULL};

static const struct orr_param wmark_params[] = {
    {"min", ORR_P_UINT, "0", 0, "pages a zone keeps free: an allocation below it is refused",
     NULL, 0, 1u << 30},
    {"low", ORR_P_UINT, "0", 0, "falling below it is a pressure event; 0 = no watermarks", NULL,
     0, 1u << 30},
    {"high", ORR_P_UINT, "0", 0, "back above it, the next fall below low is a new event", NULL, 0,
     1u << 30},
    {NULL},
};

static const struct orr_param mm_bench_params[] = {
    {"cpus", ORR_P_UINT, "0", 0,
     "CPUs that churn: the first N kernel CPUs; 0 = no benchmark (needs kernel.page_memory)",
     NULL, 0, 256},
    {"iterations", ORR_P_UINT, "500", ORR_PF_POSITIVE,
     "steps per CPU: allocate or free a page (and a slab object with objects)", NULL, 1,
     10000000},
    {"max_order", ORR_P_UINT, "3", 0,
     "one allocation in eight is a block of order 1..max_order (0: order 0 only)", NULL, 0,
     MM_MAX_ORDER},
    {"pcp", ORR_P_BOOL, "true", 0, "per-CPU page lists for order-0 pages (false: every "
                                   "allocation and free takes the zone lock)"},
    {"batch", ORR_P_UINT, "16", ORR_PF_POSITIVE,
     "pages a per-CPU list takes from or gives back to its zone at once", NULL, 1, MM_PCP_MAX},
    {"high", ORR_P_UINT, "48", ORR_PF_POSITIVE,
     "a per-CPU list above this many pages gives batch back", NULL, 1, MM_PCP_MAX},
    {"objects", ORR_P_BOOL, "false", 0,
     "every step also allocates or frees an object of a shared slab cache"},
    {"object_size", ORR_P_SIZE, "64B", ORR_PF_POSITIVE, "the slab cache's object size (8B..1KiB)",
     NULL, 8, 1024},
    {"hardened", ORR_P_BOOL, "false", 0,
     "the hardened profile: freed slab objects are poisoned and checked at allocation"},
    {"policy", ORR_P_ENUM, "local", 0,
     "NUMA policy: local, preferred (nodes[0] first), bind (only nodes), interleave (nodes in "
     "turn); fallback along the distance matrix",
     mm_policies},
    {"nodes", ORR_P_LIST, "", 0, "node numbers for preferred, bind and interleave"},
    {"fail_every", ORR_P_UINT, "0", 0,
     "fault point: every Nth allocation on a CPU fails (the benchmark counts and carries on); "
     "0 = never",
     NULL, 0, 1000000},
    {"watermarks", ORR_P_GROUP, "{}", 0,
     "each zone's watermarks in pages: min (allocations refused below it, a policy falls back), "
     "low (a pressure event), high (the event re-arms above it); min <= low <= high",
     .group = wmark_params},
    {NULL},
};

static const struct orr_param rcu_bench_params[] = {
    {"cpus", ORR_P_UINT, "0", 0,
     "CPUs in the RCU benchmark: the first N kernel CPUs (at most 64); 0 = no benchmark", NULL,
     0, 64},
    {"updaters", ORR_P_UINT, "1", 0, "the first of them update the table; the rest read", NULL, 0,
     64},
    {"keys", ORR_P_UINT, "512", ORR_PF_POSITIVE, "keys in the RCU-protected hash table", NULL, 1,
     1u << 20},
    {"buckets", ORR_P_UINT, "64", ORR_PF_POSITIVE, "its buckets (a multiple of updaters)", NULL,
     1, 1u << 20},
    {"sections", ORR_P_UINT, "200", ORR_PF_POSITIVE, "measured read sections per reader", NULL, 1,
     10000000},
    {"updates", ORR_P_UINT, "100", ORR_PF_POSITIVE,
     "steps per updater: replace an entry (without update: one synchronize)", NULL, 1,
     10000000},
    {"hold", ORR_P_CYCLES, "0cy", 0, "work after each lookup, inside the read section"},
    {"lookups", ORR_P_UINT, "8", ORR_PF_POSITIVE, "lookups per read section", NULL, 1, 100000},
    {"warm", ORR_P_UINT, "20", 0, "read sections before the measured ones (after a full scan)",
     NULL, 0, 1000000},
    {"pool", ORR_P_UINT, "128", ORR_PF_POSITIVE,
     "spare nodes per updater: an update waits for a grace period when none is left", NULL, 1,
     RCU_POOL_MAX},
    {"tick", ORR_P_TIME, "1ms", ORR_PF_POSITIVE,
     "each CPU's tick, which reports quiescent states and runs callbacks"},
    {"update", ORR_P_BOOL, "true", 0,
     "updaters replace entries (false: they only run synchronize, the table stays still)"},
    {"check", ORR_P_BOOL, "true", 0,
     "rcu_check: readers check no grace period ended under them, freed nodes are poisoned and "
     "a reader finding poison counts a use after free (the run fails on either)"},
    {"premature", ORR_P_BOOL, "false", 0,
     "a grace period ends at its first report, readers or not: a planted bug rcu_check must "
     "catch (the run fails)"},
    {NULL},
};

static const char *const ring_kinds[] = {"none", "spsc", "mpmc", NULL};

static const struct orr_param ring_bench_params[] = {
    {"kind", ORR_P_ENUM, "none", 0,
     "none, spsc (one producer, one consumer) or mpmc (producers then consumers)", ring_kinds},
    {"producer", ORR_P_UINT, "0", 0, "spsc: the producing kernel CPU", NULL, 0, 255},
    {"consumer", ORR_P_UINT, "1", 0, "spsc: the consuming kernel CPU", NULL, 0, 255},
    {"producers", ORR_P_UINT, "1", ORR_PF_POSITIVE, "mpmc: the first N kernel CPUs produce",
     NULL, 1, 255},
    {"consumers", ORR_P_UINT, "1", ORR_PF_POSITIVE, "mpmc: the next N consume", NULL, 1, 255},
    {"items", ORR_P_UINT, "2000", ORR_PF_POSITIVE, "items per producer", NULL, 1, 100000000},
    {"capacity", ORR_P_UINT, "256", ORR_PF_POSITIVE, "ring slots, a power of two", NULL, 2,
     1u << 16},
    {"batch", ORR_P_UINT, "1", ORR_PF_POSITIVE,
     "spsc: each side publishes its index every N items (1: every item)", NULL, 1, 1u << 16},
    {NULL},
};

static const char *const blk_patterns[] = {"random", "sequential", NULL};

static const struct orr_param block_bench_params[] = {
    {"jobs", ORR_P_UINT, "0", 0,
     "jobs, on the first N kernel CPUs, each with an NVMe I/O queue pair of its own; 0 = no "
     "workload",
     NULL, 0, 64},
    {"device", ORR_P_UINT, "0", 0, "the NVMe SSD: the root complex port it sits on", NULL, 0,
     31},
    {"qd", ORR_P_UINT, "1", ORR_PF_POSITIVE,
     "requests each job keeps in flight (at most the device's max_queue_entries - 1)", NULL, 1,
     BLK_MAX_TAGS},
    {"bs", ORR_P_SIZE, "4KiB", ORR_PF_POSITIVE, "bytes per request, a multiple of 4 KiB", NULL,
     4096, 1u << 21},
    {"pattern", ORR_P_ENUM, "random", 0, "random or sequential block addresses", blk_patterns},
    {"read_pct", ORR_P_UINT, "100", 0, "percent of requests that read; the rest write", NULL, 0,
     100},
    {"ios", ORR_P_UINT, "1000", ORR_PF_POSITIVE, "requests each job completes", NULL, 1,
     100000000},
    {"flush_every", ORR_P_UINT, "0", 0, "a FLUSH after every N writes; 0 = never", NULL, 0,
     1000000},
    {"fua", ORR_P_BOOL, "false", 0, "writes carry FUA (written through to the media)"},
    {"verify", ORR_P_BOOL, "false", 0,
     "per-block generation numbers in every written block, checked by every read: a mismatch "
     "fails the run"},
    {"merge", ORR_P_BOOL, "true", 0, "the block layer merges adjacent requests"},
    {"readback", ORR_P_BOOL, "false", 0,
     "verify: after the run, read every block of the working set back and check it"},
    {"blocks", ORR_P_UINT, "0", 0,
     "working set in 4 KiB blocks from LBA 0; 0 = the namespace (verify needs it bounded)", NULL,
     0, 1u << 30},
    {"seed", ORR_P_UINT, "1", 0, "the jobs' address streams (mixed with the run's seed)"},
    {"io_timeout", ORR_P_TIME, "30s", ORR_PF_POSITIVE,
     "a command not completed by then is issued again (Linux nvme io_timeout: 30 s)"},
    {"admin_timeout", ORR_P_TIME, "60s", ORR_PF_POSITIVE,
     "admin commands and CSTS.RDY waits (Linux nvme admin_timeout: 60 s)"},
    {"retries", ORR_P_UINT, "5", 0, "times a timed-out command is retried before it fails "
                                    "(Linux nvme max_retries: 5)",
     NULL, 0, 255},
    {NULL},
};

static const struct orr_param tlb_params[] = {
    {"entries", ORR_P_UINT, "64", ORR_PF_POSITIVE,
     "first-level TLB entries (any page size); entries / ways sets, a power of two", NULL, 1,
     65536},
    {"ways", ORR_P_UINT, "4", ORR_PF_POSITIVE, "first-level TLB associativity", NULL, 1, 64},
    {"l2_entries", ORR_P_UINT, "2048", 0, "second-level TLB entries; 0 = none", NULL, 0, 1u << 20},
    {"l2_ways", ORR_P_UINT, "16", ORR_PF_POSITIVE, "second-level TLB associativity", NULL, 1, 64},
    {"l2_latency", ORR_P_CYCLES, "7cy", 0, "a first-level miss that hits the second level"},
    {"walk_cost", ORR_P_CYCLES, "10cy", 0,
     "a page walk's own work besides its PTE loads (which go through the caches)"},
    {NULL},
};

const struct orr_param kernel_params[] = {
    {"cpus", ORR_P_STRING, "all", ORR_PF_NONEMPTY,
     "the machine's cores that run the kernel, as kernel CPUs 0, 1, ... in core order: all, "
     "sockN, a core number or a range A-B, several joined by commas or spaces (0-3,8-11 or "
     "0-3 8-11, the form sweeps can list)"},
    {"selftest", ORR_P_LIST, "", 0,
     "selftest suites CPU 0 runs at boot (kstring, hal, sched, mm, palloc, sync, dev, iommu); a failure fails the run"},
    {"sync_bench", ORR_P_GROUP, "{}", 0, "the lock contention benchmark (kernel/sync)",
     .group = sync_bench_params},
    {"vm_bench", ORR_P_GROUP, "{}", 0,
     "the TLB shootdown and page-fault benchmark (kernel/mm, vm_bench)", .group = vm_bench_params},
    {"mm_bench", ORR_P_GROUP, "{}", 0,
     "the allocation-churn benchmark of the buddy and slab allocators (kernel/mm, docs/mm.md)",
     .group = mm_bench_params},
    {"rcu_bench", ORR_P_GROUP, "{}", 0,
     "the RCU benchmark: a hash table read under RCU while updaters replace entries "
     "(kernel/sync, docs/sync.md)",
     .group = rcu_bench_params},
    {"ring_bench", ORR_P_GROUP, "{}", 0,
     "the ring benchmark: SPSC or MPMC transfer between kernel CPUs (kernel/sync, docs/sync.md)",
     .group = ring_bench_params},
    {"block_bench", ORR_P_GROUP, "{}", 0,
     "the fio-like block workload on the NVMe driver and block layer (kernel/block, "
     "docs/storage.md)",
     .group = block_bench_params},
    {"drivers", ORR_P_GROUPS, "[]", 0,
     "driver bindings {device, driver, tier, cpu}: the registry binds the driver to the device "
     "and the driver workload drives it (kernel/drivers, docs/drivers.md)",
     .group = kdrv_entry_params},
    {"driver_load", ORR_P_GROUP, "{}", 0,
     "the driver workload and recovery policy: requests, depth, bytes, cross, watchdog, "
     "demote_after, window, max_crashes, max_replays, reset_timeout (docs/drivers.md)",
     .group = kdrv_load_params},
    {"page_memory", ORR_P_SIZE, "0B", 0,
     "memory of each socket's NUMA node given to the page allocator (hal_mem_node): on node 0 "
     "right after kernel memory (rounded up to 4 MiB), on the others from their start; 0 = none"},
    {"tlb", ORR_P_GROUP, "{}", 0,
     "each kernel CPU's TLBs and page walker (docs/kernel-platform.md, Virtual memory)",
     .group = tlb_params},
    {"sched", ORR_P_GROUP, "{}", 0,
     "the scheduler's tunables, as a sched_node's: tick, slice, rr_timeslice, "
     "dl_bound_permille, balance_interval, features, check_every (docs/sched.md)",
     .group = sched_config_params},
    {"tasks", ORR_P_SEQ, "[]", 0,
     "rt-app-style tasks, as a sched_node's (docs/sched.md), run as kernel threads on the "
     "kernel CPUs once they have booted"},
    {"groups", ORR_P_SEQ, "[]", 0,
     "CPU bandwidth groups {name, quota, period}, as a sched_node's: normal tasks join one with "
     "their `group` key"},
    {"memory", ORR_P_SIZE, "16MiB", ORR_PF_POSITIVE,
     "kernel memory: physical [0, memory) of memory node 0 (hal_mem_region)"},
    {"percpu", ORR_P_SIZE, "4KiB", ORR_PF_POSITIVE,
     "each kernel CPU's per-CPU area (hal_percpu_area), just below a quarter of kernel memory: "
     "a CPU touching another's fails the run"},
    {"relax", ORR_P_CYCLES, "40cy", 0, "what hal_relax costs (a pause instruction)"},
    {"irq_cost", ORR_P_CYCLES, "350cy", 0, "taking an interrupt: entry, vector, return"},
    {"mmio_cost", ORR_P_CYCLES, "60cy", 0,
     "issuing an uncached MMIO access (hal_mmio_*); a read then waits for the device"},
    {"ipi_latency", ORR_P_TIME, "500ns", 0,
     "interrupt controller: from an IPI's sending to its arrival at the target CPU"},
    {"start_jitter", ORR_P_TIME, "0ps", 0,
     "each kernel CPU boots after a seeded random delay in [0, start_jitter]: different seeds, "
     "different interleavings"},
    {"cost_jitter", ORR_P_CYCLES, "0cy", 0,
     "each hal_cost and hal_relax takes a seeded random number of extra cycles in [0, "
     "cost_jitter]: timing noise, so races land differently from seed to seed"},
    {NULL},
};

static const struct orr_param kcore_params[] = {
    {"", ORR_P_INCLUDE, .group = pcache_params},        /* protocol, caches, mshrs, ... */
    {"", ORR_P_INCLUDE, .group = pcache_domain_params}, /* agent, homes */
    {"", ORR_P_INCLUDE, .group = core_params},
    {"cpu", ORR_P_UINT, "0", 0, "this core's kernel CPU number", NULL, 0, 255},
    {"ncpu", ORR_P_UINT, "1", ORR_PF_POSITIVE, "kernel CPUs in the machine", NULL, 1, 256},
    {"kernel", ORR_P_GROUP, "{}", 0, "the scenario's `kernel:` section", .group = kernel_params},
    {"node", ORR_P_UINT, "0", 0, "this core's NUMA node (its socket)", NULL, 0, 255},
    {"mem_nodes", ORR_P_UINT, "1", ORR_PF_POSITIVE, "NUMA nodes with memory and cores (sockets)",
     NULL, 1, 255},
    {"node_bytes", ORR_P_SIZE, "0B", 0, "each socket node's memory; node n starts at n x this"},
    {"distances", ORR_P_STRING, "", 0,
     "the nodes' distance matrix, row-major, blank-separated (empty: 10 local, 20 remote)"},
    {"pcie_devices", ORR_P_UINT, "0", 0,
     "devices behind the machine's root complex (its ports; the machine sets it)", NULL, 0, 32},
    {"pcie_bar_base", ORR_P_SIZE, "0B", 0, "BAR of device 0 (the machine sets it)"},
    {"pcie_bar_size", ORR_P_SIZE, "0B", 0, "bytes of each device's BAR (the machine sets it)"},
    {NULL},
};

static const char *const spurious_kinds[] = {"ipi", "timer", NULL};
static const struct orr_param stall_params[] = {
    {"duration", ORR_P_TIME, NULL, ORR_PF_POSITIVE, "how long the CPU runs nothing"},
    {NULL},
};
static const struct orr_param spurious_params[] = {
    {"kind", ORR_P_ENUM, "ipi", 0,
     "ipi: kern_ipi with reason HAL_IPI_SPURIOUS; timer: kern_timer with no timer armed",
     spurious_kinds},
    {NULL},
};
static const struct orr_param storm_params[] = {
    {"count", ORR_P_UINT, "1000", ORR_PF_POSITIVE, "interrupts in the storm", NULL, 1, 100000000},
    {"interval", ORR_P_TIME, "1us", ORR_PF_POSITIVE, "time between two of them"},
    {NULL},
};
static const struct orr_param panic_params[] = {
    {"message", ORR_P_STRING, "injected panic", ORR_PF_NONEMPTY, "the panic text"},
    {NULL},
};
static const struct orr_param stray_params[] = {
    {"cpu", ORR_P_UINT, "0", 0, "the kernel CPU whose per-CPU area is written", NULL, 0, 255},
    {NULL},
};
static const struct orr_param alloc_fail_params[] = {
    {"count", ORR_P_UINT, "1", ORR_PF_POSITIVE, "allocations that fail", NULL, 1, 1000000},
    {NULL},
};
/* explore: 1..16 allocation failures at a time, at most one firing per
 * microsecond on average (permanent: each is consumed by allocations) */
static const struct orr_fault_draw alloc_fail_draws[] = {
    {"count", ORR_FD_VALUE, 1, 16},
    {NULL},
};
static const struct orr_fault_explore alloc_fail_explore = {.min_interval = (1 * ORR_US),
                                                            .draws = alloc_fail_draws};
static const struct orr_param drv_fault_params[] = {
    {"count", ORR_P_UINT, "1", ORR_PF_POSITIVE, "driver entries that get the bug", NULL, 1,
     1000000},
    {NULL},
};
/* explore: one planted driver bug at a time, at most one per 100 us on
 * average (the workload must get to recover between them) */
static const struct orr_fault_explore drv_fault_explore = {.min_interval = (100 * ORR_US)};
enum { F_STALL, F_SPURIOUS, F_STORM, F_PANIC, F_STRAY, F_ALLOC, F_DRV_WILD, F_DRV_NULL,
       F_DRV_ASSERT, F_DRV_HANG, F_DRV_IOMMU };
static const struct orr_fault_desc kcore_faults[] = {
    {"stall", "the CPU runs nothing for a while (an SMI, a preempted vCPU): its clock jumps",
     stall_params},
    {"spurious_irq", "one interrupt nobody sent", spurious_params},
    {"irq_storm", "`count` spurious IPIs (HAL_IPI_SPURIOUS), one every `interval`", storm_params},
    {"panic",
     "the kernel panics on this CPU at its next HAL call, whatever it runs (as a machine check "
     "would): the run fails (exit 1) with the CPU, its last tracepoints and the console tail",
     panic_params},
    {"stray_write",
     "at its next HAL call the CPU stores a word into kernel CPU `cpu`'s per-CPU area, as a "
     "wild pointer would: the per-CPU checker fails the run (exit 1) naming both CPUs",
     stray_params},
    {"alloc_fail",
     "the CPU's next `count` page allocations fail (hal_fault_point HAL_FP_ALLOC): the kernel "
     "handles it, or panics naming the path that could not",
     alloc_fail_params, &alloc_fail_explore},
    {"driver_wild_write",
     "the next `count` driver entries this CPU runs store past the driver's region (caught by "
     "the domain at tiers 1/2; tier 0: kernel memory is hit and the kernel panics)",
     drv_fault_params, &drv_fault_explore},
    {"driver_null_deref", "the next `count` driver entries on this CPU load from address 0",
     drv_fault_params, &drv_fault_explore},
    {"driver_assert", "the next `count` driver entries on this CPU fail an assertion",
     drv_fault_params, &drv_fault_explore},
    {"driver_hang",
     "the next driver entry on this CPU hangs: the driver stops serving (the watchdog notices)",
     drv_fault_params, &drv_fault_explore},
    {"driver_iommu",
     "the next `count` driver entries on this CPU get a DMA address off by 1 GiB: the IOMMU "
     "refuses the device's access and CPU 0 takes the fault",
     drv_fault_params, &drv_fault_explore},
    {NULL},
};

static const struct orr_port_doc kcore_ports[] = {
    {"mem", "coherence messages to and from the homes (through a router)"},
    {"irq", "to and from the interrupt controller: IPIs and routing out, interrupts in"},
    {"pcie", "MMIO and IOMMU commands to the machine's root complex, answers back"},
    {NULL},
};

static const struct orr_metric_doc kcore_metrics[] = {
    PCACHE_METRICS,
    {"kern.accesses", "access", ORR_METRIC_COUNTER,
     "HAL shared accesses (loads, stores, atomics) the kernel made on this CPU"},
    {"kern.access_stall", "ps", ORR_METRIC_COUNTER,
     "time this CPU waited for misses and refused accesses"},
    {"kern.cost_cycles", "cy", ORR_METRIC_COUNTER, "cycles the kernel charged with hal_cost"},
    {"kern.relax_cycles", "cy", ORR_METRIC_COUNTER, "cycles spent in hal_relax (spinning)"},
    {"kern.idle", "ps", ORR_METRIC_COUNTER, "time spent in hal_idle"},
    {"kern.allocs_failed", "alloc", ORR_METRIC_COUNTER,
     "page allocations failed by the alloc_fail fault (hal_fault_point)"},
    {"kern.timer_irqs", "irq", ORR_METRIC_COUNTER, "timer interrupts taken"},
    {"kern.ipis_in", "irq", ORR_METRIC_COUNTER, "IPIs taken"},
    {"kern.ipis_out", "ipi", ORR_METRIC_COUNTER, "IPIs sent"},
    {"kern.spurious_irqs", "irq", ORR_METRIC_COUNTER,
     "interrupts nobody sent (spurious_irq and irq_storm faults) the kernel took"},
    {"kern.stalled", "ps", ORR_METRIC_COUNTER, "time the CPU was stalled by stall faults"},
    {"kern.ipis_dropped", "ipi", ORR_METRIC_COUNTER,
     "IPIs lost because 64 were already pending on this CPU"},
    {"kern.dev_irqs", "irq", ORR_METRIC_COUNTER, "device interrupts (MSI-X vectors) taken"},
    {"kern.dma_faults", "fault", ORR_METRIC_COUNTER, "IOMMU faults taken (kern_dma_fault)"},
    {"kern.devirqs_dropped", "irq", ORR_METRIC_COUNTER,
     "device interrupts lost because 64 were already pending on this CPU"},
    {"kern.mmio_reads", "access", ORR_METRIC_COUNTER, "MMIO reads (each waits for the device)"},
    {"kern.mmio_writes", "access", ORR_METRIC_COUNTER, "MMIO writes (posted)"},
    {"kern.busy", "ps", ORR_METRIC_VALUE, "time from boot to the end of this CPU's program"},
    {"kern.ctx_switches", "", ORR_METRIC_COUNTER,
     "context switches between kernel threads (and the CPU's idle loop) on this CPU"},
    KTHREAD_METRICS,
    {"kern.percpu_violations", "access", ORR_METRIC_COUNTER,
     "accesses this CPU made to another CPU's per-CPU area (each fails the run)"},
    {"mmu.tlb_hits", "access", ORR_METRIC_COUNTER,
     "virtual accesses the first-level TLB translated"},
    {"mmu.tlb2_hits", "access", ORR_METRIC_COUNTER,
     "first-level misses the second-level TLB translated (l2_latency each)"},
    {"mmu.tlb_misses", "access", ORR_METRIC_COUNTER,
     "translations that walked the page tables (a fault's retry walks again)"},
    {"mmu.walk_loads", "access", ORR_METRIC_COUNTER,
     "PTE loads of those walks (through the caches: in kern.accesses too)"},
    {"mmu.page_faults", "fault", ORR_METRIC_COUNTER, "page faults taken (kern_page_fault calls)"},
    {"mmu.tlb_flushes", "", ORR_METRIC_COUNTER,
     "TLB flushes on this CPU: hal_tlb_flush calls and root changes"},
    {"mmu.tlb_dropped", "entry", ORR_METRIC_COUNTER, "TLB entries those flushes dropped"},
    {"sub.<SUB>.time", "ps", ORR_METRIC_COUNTER,
     "time this CPU spent in kernel subsystem SUB (boot, sync, sched, irq, task, idle, mm: "
     "page faults and the vm benchmark): the "
     "entry point the platform called the kernel through"},
    {"sub.<SUB>.accesses", "access", ORR_METRIC_COUNTER, "HAL shared accesses made inside SUB"},
    {"sub.<SUB>.misses", "access", ORR_METRIC_COUNTER,
     "of those, the ones that missed in this CPU's caches (or found the line busy)"},
    {"sub.<SUB>.stall", "ps", ORR_METRIC_COUNTER, "time SUB's accesses waited for misses"},
    {"report.<NAME...>", "", ORR_METRIC_VALUE,
     "a figure the kernel reported with hal_report (the last value)"},
    {NULL},
};

static struct kcore *kc_of(const struct hal_cpu *c) { return c->host; }

/* ------------------------------------------------------ time and waiting */

/* Yield to the engine in state st; back when kc_run resumes us. */
static void kc_wait(struct kcore *k, enum kc_state st)
{
    k->st = st;
    fiber_yield(k->cur);
}

static unsigned kc_deliver(struct kcore *k);

/* The local clock moved on: stop for a step once a quantum ahead, then
 * take what interrupts are pending. */
static void kc_advance(struct kcore *k, uint64_t cycles)
{
    k->sh.local += (orr_time_t)cycles * k->sh.cycle;
    if (core_shell_ahead(&k->sh))
        kc_wait(k, KC_WAIT_STEP);
    kc_deliver(k);
}

static bool timer_due(const struct kcore *k)
{
    return k->cpu.timer_armed && k->sh.local >= k->timer_at;
}

static bool irq_deliverable(const struct kcore *k)
{
    return k->cpu.irq_on && !k->in_irq &&
           (timer_due(k) || k->spurious_timer || k->nIpi || k->nDevIrq || k->wakes.n);
}

/* Run pending interrupt handlers, oldest cause first: the timer, then
 * IPIs in arrival order, then kernel threads' timer wake-ups. With kernel
 * threads the handlers are theirs (kthread.c), else the kernel's upcalls.
 * Returns how many ran. */
static unsigned kc_deliver(struct kcore *k)
{
    struct hal_cpu *c = &k->cpu;
    struct kthreads *kt = k->sched_on ? k->k->kt : NULL; /* before: boot's handlers */
    unsigned ran = 0;
    if (k->stray_to) { /* a stray_write fault: a wild store, at the next HAL call */
        unsigned to = k->stray_to - 1;
        k->stray_to = 0;
        hal_store(c, k->percpu_base + (hal_paddr_t)to * k->percpu, 8, 0xdeadbeef);
    }
    if (k->inject_panic[0]) { /* not maskable */
        char why[sizeof k->inject_panic];
        memcpy(why, k->inject_panic, sizeof why);
        k->inject_panic[0] = 0;
        hal_panic(c, why);
    }
    for (; irq_deliverable(k); ran++) {
        enum kc_sub was = kc_sub_enter(k, KS_IRQ);
        k->in_irq = true;
        c->irq_on = false;
        k->sh.local += (orr_time_t)k->irq_cost * k->sh.cycle;
        if (timer_due(k)) {
            c->timer_armed = false;
            c->timer_gen++;
            k->timer_irqs->v++;
            if (kt)
                kthreads_timer(k);
            else
                kern_timer(c);
        } else if (k->spurious_timer) {
            k->spurious_timer = false;
            k->spurious->v++;
            if (kt)
                kthreads_timer(k);
            else
                kern_timer(c);
        } else if (k->nIpi) {
            uint32_t reason = k->aIpi[k->ipiHead];
            k->ipiHead = (k->ipiHead + 1) % KC_IPI_QUEUE;
            k->nIpi--;
            if (reason == HAL_IPI_SPURIOUS)
                k->spurious->v++;
            else
                k->ipis_in->v++;
            if (reason == KC_WAKE_REASON || vm_ipi(c, reason)) {
                /* the platform's own, or a TLB shootdown (kernel/mm) */
            } else if (kt)
                kthreads_ipi(k, reason);
            else
                kern_ipi(c, reason);
        } else if (k->nDevIrq) { /* the kernel's device handlers, scheduler or not */
            struct kc_devirq d = k->aDevIrq[k->devIrqHead];
            k->devIrqHead = (k->devIrqHead + 1) % KC_IPI_QUEUE;
            k->nDevIrq--;
            if (irq_op_of(d.w0) == IRQ_OP_MSI) {
                k->dev_irqs->v++;
                kern_irq(c, (uint32_t)d.w1);
            } else {
                k->dma_faults->v++;
                uint64_t low = irq_low(d.w0);
                kern_dma_fault(c, (uint32_t)(low & 0xFFFFFFFFu), d.w1,
                               (low >> 32) == 2 ? HAL_ACC_WRITE : HAL_ACC_READ);
            }
        } else {
            uint32_t index = k->wakes.a[k->wakes.head];
            k->wakes.head = (k->wakes.head + 1) % k->wakes.cap;
            k->wakes.n--;
            kthreads_wake(k, index);
        }
        c->irq_on = true;
        k->in_irq = false;
        kc_sub_exit(k, was);
    }
    return ran;
}

/* ------------------------------------------------------- the HAL's side */

static hal_ns_t kc_now(const struct hal_cpu *c) { return kc_of(c)->sh.local / ORR_NS; }

static void kc_timer_set(struct hal_cpu *c, hal_ns_t when)
{
    struct kcore *k = kc_of(c);
    orr_time_t at = when >= ORR_TIME_HORIZON / ORR_NS ? ORR_TIME_HORIZON : when * ORR_NS;
    orr_time_t now = orr_now(k->c->sim);
    c->timer_armed = true;
    c->timer_gen++;
    k->timer_at = at;
    /* wakes the CPU if it waits or idles then; a stale one finds nothing due */
    if (at < ORR_TIME_HORIZON)
        orr_timer(k->c, at > now ? at - now : 0, K_TIMER, c->timer_gen, 0);
}

static void kc_irq_restored(struct hal_cpu *c) { kc_deliver(kc_of(c)); }

static void kc_ipi_send(struct hal_cpu *c, unsigned target, uint32_t reason)
{
    struct kcore *k = kc_of(c);
    struct orr_msg m = {.size = 8, .data = {target, reason}};
    k->ipis_out->v++;
    orr_outq_send(&k->irq_out, k->irq, &m, k->sh.local - orr_now(k->c->sim));
}

static void kc_idle(struct hal_cpu *c)
{
    struct kcore *k = kc_of(c);
    if (kc_deliver(k) || !c->irq_on || k->in_irq)
        return; /* an interrupt ran, or none could be taken: back to the caller's check */
    orr_time_t from = k->sh.local;
    enum kc_sub was = kc_sub_enter(k, KS_IDLE);
    kc_wait(k, KC_IDLE);
    kc_sub_exit(k, was);
    k->idle->v += k->sh.local - from;
    kc_deliver(k);
}

enum kc_sub kc_sub_enter(struct kcore *k, enum kc_sub sub)
{
    enum kc_sub prev = k->sub;
    if (sub != prev) {
        k->aSub[prev].time->v += k->sh.local - k->sub_since;
        k->sub_since = k->sh.local;
        k->sub = sub;
    }
    return prev;
}

void kc_sub_exit(struct kcore *k, enum kc_sub prev) { kc_sub_enter(k, prev); }

orr_time_t kc_busy(struct kcore *k, orr_time_t ps)
{
    if (kc_deliver(k) || ps == 0)
        return ps;
    orr_time_t end = k->sh.local + ps, now = orr_now(k->c->sim);
    k->busy_until = end;
    k->busy_gen++;
    orr_timer(k->c, end > now ? end - now : 0, K_BUSY, k->busy_gen, 0);
    enum kc_sub was = kc_sub_enter(k, KS_TASK);
    kc_wait(k, KC_BUSY); /* back at `end`, or earlier for an interrupt */
    kc_sub_exit(k, was);
    orr_time_t left = k->sh.local < end ? end - k->sh.local : 0;
    kc_deliver(k);
    return left;
}

void kc_switch(struct kcore *k, struct fiber *to)
{
    if (to == k->cur)
        return;
    k->switch_to = to;
    k->switches->v++;
    kc_wait(k, KC_RUN);
}

void kc_post_wake(struct kcore *k, orr_time_t at, uint32_t index)
{
    orr_time_t now = orr_now(k->c->sim);
    orr_timer(k->c, at > now ? at - now : 0, K_TWAKE, index, 0);
}

/* A K_TWAKE event: the wake-up waits as an interrupt. */
static void kc_queue_wake(struct kcore *k, uint32_t index)
{
    struct kc_wakes *w = &k->wakes;
    if (w->n == w->cap) { /* grow, keeping the ring's order */
        size_t cap = w->cap ? 2 * w->cap : 16;
        uint32_t *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (size_t i = 0; i < w->n; i++)
            a[i] = w->a[(w->head + i) % w->cap];
        free(w->a);
        w->a = a;
        w->cap = cap;
        w->head = 0;
    }
    w->a[(w->head + w->n++) % w->cap] = index;
    k->sh.run_pending = true;
}

/* The per-CPU areas: kernel CPU i's is [percpu_base + i * percpu, + percpu). */
hal_paddr_t kcore_percpu_base(const struct orr_params *kern, unsigned ncpu)
{
    uint64_t q = orr_param_u64(kern, "memory") / 4, all = (uint64_t)ncpu * orr_param_u64(kern, "percpu");
    return all <= q ? (q - all) & ~(hal_paddr_t)63 : 0;
}

hal_paddr_t kthread_frames_base(const struct orr_params *kern, unsigned ncpu, size_t n)
{
    hal_paddr_t top = kcore_percpu_base(kern, ncpu);
    uint64_t all = (uint64_t)n * KTHREAD_FRAME;
    return all <= top ? top - all : 0;
}

/* The per-CPU checker: an access to another CPU's per-CPU area (private
 * data, docs/kernel-platform.md) fails the run and the access. */
static int kc_check_percpu(struct kcore *k, hal_paddr_t pa)
{
    if (pa < k->percpu_base || pa - k->percpu_base >= (uint64_t)k->k->plat.ncpu * k->percpu)
        return HAL_OK;
    unsigned owner = (unsigned)((pa - k->percpu_base) / k->percpu);
    if (owner == k->cpu.id)
        return HAL_OK;
    k->percpu_violations->v++;
    orr_sim_fail(k->c,
                 "kernel cpu %u touched cpu %u's per-CPU area at %#llx: per-CPU data is private "
                 "to its CPU (docs/kernel-platform.md, Memory and the accessors)",
                 k->cpu.id, owner, (unsigned long long)pa);
    return HAL_EFAULT;
}

/* Where in physical memory an access may go: a home's range, naturally
 * aligned, 1 to 8 bytes, not another CPU's per-CPU area. */
static int kc_check_addr(struct kcore *k, hal_paddr_t pa, unsigned size)
{
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return HAL_EINVAL;
    if (pa & (size - 1))
        return HAL_EINVAL;
    const struct pcache_config *cfg = &k->sh.pc.cfg;
    for (size_t i = 0; i < cfg->nHome; i++)
        if (pa >= cfg->aHome[i].base && pa - cfg->aHome[i].base < cfg->aHome[i].size)
            return kc_check_percpu(k, pa);
    return HAL_EFAULT;
}

static int kc_access(struct hal_cpu *c, unsigned op, hal_paddr_t pa, unsigned size, uint64_t value,
                     uint64_t expect, uint64_t *out)
{
    struct kcore *k = kc_of(c);
    int rc = kc_check_addr(k, pa, size);
    if (rc)
        return rc;
    struct pc_req r = {(uint8_t)op, (uint8_t)size, 0, pa, value, expect};
    k->accesses->v++;
    k->aSub[k->sub].accesses->v++;
    for (;;) {
        uint64_t v = 0;
        uint32_t cycles = 0;
        k->sh.pc.skew = k->sh.local - orr_now(k->c->sim);
        enum pcache_rc pr = pcache_access(&k->sh.pc, &r, &v, &cycles);
        k->sh.pc.skew = 0;
        if (pr == PC_HIT) {
            if (out)
                *out = v;
            kc_advance(k, cycles);
            return HAL_OK;
        }
        k->wait_from = k->sh.local;
        if (pr == PC_MISS)
            k->aSub[k->sub].misses->v++;
        if (pr == PC_MISS) {
            k->mem_done = false;
            kc_wait(k, KC_WAIT_MEM);
            k->stall->v += k->sh.local - k->wait_from;
            k->aSub[k->sub].stall->v += k->sh.local - k->wait_from;
            if (out)
                *out = k->value;
            kc_deliver(k);
            return HAL_OK;
        }
        k->woken = false;
        kc_wait(k, KC_WAIT_RETRY);
        k->stall->v += k->sh.local - k->wait_from;
        k->aSub[k->sub].stall->v += k->sh.local - k->wait_from;
    }
}

/* ------------------------------------------------------------- the MMU */

static int kc_pte_load(void *arg, hal_paddr_t pa, uint64_t *pte)
{
    struct kcore *k = arg;
    k->walk_loads->v++;
    return kc_access(&k->cpu, ORR_OP_LOAD, pa, 8, 0, 0, pte);
}

/* The physical address of a virtual access: the TLBs, else a walk
 * through the caches; a fault calls kern_page_fault (interrupts off,
 * charged to mm) and tries again, at most HAL_VM_MAX_FAULTS times. */
static int kc_translate(struct kcore *k, uint64_t va, unsigned acc, hal_paddr_t *pa)
{
    if (!k->mmu_root) {
        *pa = va;
        return HAL_OK;
    }
    for (unsigned faults = 0;;) {
        struct mmu_tlb_entry *e = mmu_tlb_lookup(&k->tlb, va);
        if (e && mmu_pte_allows(e->pte, acc)) {
            k->tlb_hits->v++;
            *pa = mmu_pte_pa(e->pte, e->level, va);
            return HAL_OK;
        }
        if (!e && k->tlb2.a) {
            kc_advance(k, k->tlb2_latency);
            struct mmu_tlb_entry *e2 = mmu_tlb_lookup(&k->tlb2, va);
            if (e2 && mmu_pte_allows(e2->pte, acc)) {
                k->tlb2_hits->v++;
                mmu_tlb_insert(&k->tlb, va, e2->pte, e2->level);
                *pa = mmu_pte_pa(e2->pte, e2->level, va);
                return HAL_OK;
            }
        }
        /* a miss, or a cached entry that does not allow the access: walk
         * (the tables may have changed; x86 re-walks before faulting too) */
        k->tlb_misses->v++;
        kc_advance(k, k->walk_cost);
        uint64_t pte = 0;
        unsigned level = 0;
        enum mmu_result r = mmu_walk(k->mmu_root, va, acc, kc_pte_load, k, pa, &pte, &level, NULL);
        if (r == MMU_OK) {
            mmu_tlb_insert(&k->tlb, va, pte, level);
            if (k->tlb2.a)
                mmu_tlb_insert(&k->tlb2, va, pte, level);
            return HAL_OK;
        }
        if (r == MMU_BUS || faults++ == HAL_VM_MAX_FAULTS)
            return HAL_EFAULT;
        k->page_faults->v++;
        bool was_on = k->cpu.irq_on;
        k->cpu.irq_on = false;
        enum kc_sub was = kc_sub_enter(k, KS_MM);
        int rc = kern_page_fault(&k->cpu, va, acc);
        kc_sub_exit(k, was);
        k->cpu.irq_on = was_on;
        if (rc)
            return HAL_EFAULT;
    }
}

static int kc_vaccess(struct hal_cpu *c, unsigned op, uint64_t va, unsigned size, uint64_t value,
                      uint64_t expect, uint64_t *out)
{
    struct kcore *k = kc_of(c);
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return HAL_EINVAL;
    if (va & (size - 1))
        return HAL_EINVAL;
    unsigned acc = op == ORR_OP_LOAD ? HAL_ACC_READ
                 : op == ORR_OP_STORE ? HAL_ACC_WRITE
                                      : HAL_ACC_READ | HAL_ACC_WRITE;
    hal_paddr_t pa;
    int rc = kc_translate(k, va, acc, &pa);
    return rc ? rc : kc_access(c, op, pa, size, value, expect, out);
}

/* The TLBs' invariants (include/hw/mmu.h), at every flush and at the end:
 * a broken one fails the run. */
static void kc_tlb_check(struct kcore *k)
{
    int bad = mmu_tlb_check(&k->tlb), bad2 = k->tlb2.a ? mmu_tlb_check(&k->tlb2) : 0;
    if (bad || bad2)
        orr_sim_fail(k->c, "kernel cpu %u: %s TLB broke its invariant %d (include/hw/mmu.h)",
                     k->cpu.id, bad ? "first-level" : "second-level", bad ? bad : bad2);
}

static int kc_tlb_flush(struct hal_cpu *c, uint64_t va, uint64_t len)
{
    struct kcore *k = kc_of(c);
    kc_tlb_check(k);
    k->tlb_flushes->v++;
    k->tlb_dropped->v += mmu_tlb_flush(&k->tlb, va, len);
    if (k->tlb2.a)
        k->tlb_dropped->v += mmu_tlb_flush(&k->tlb2, va, len);
    return HAL_OK;
}

static int kc_mmu_set_root(struct hal_cpu *c, hal_paddr_t root, void *ctx)
{
    struct kcore *k = kc_of(c);
    if (root & (HAL_PAGE_SIZE - 1))
        return HAL_EINVAL;
    k->mmu_root = root;
    k->mmu_ctx = root ? ctx : NULL;
    return kc_tlb_flush(c, 0, 0);
}

static void *kc_mmu_context(const struct hal_cpu *c) { return kc_of(c)->mmu_ctx; }

/* Annotated cycles, plus the seeded noise cost_jitter asks for. */
static uint64_t noisy(struct kcore *k, uint64_t cycles)
{
    return k->cost_jitter ? cycles + orr_rng_below(&k->c->rng, k->cost_jitter + 1) : cycles;
}

static void kc_relax(struct hal_cpu *c)
{
    struct kcore *k = kc_of(c);
    uint64_t cy = noisy(k, k->relax);
    k->relaxed->v += cy;
    kc_advance(k, cy);
}

static int kc_percpu_area(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size)
{
    struct kcore *k = kc_of(c);
    *base = k->percpu_base + (hal_paddr_t)c->id * k->percpu;
    *size = k->percpu;
    return HAL_OK;
}

static int kc_mem_region(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size)
{
    struct kcore *k = kc_of(c);
    *base = 0;
    *size = orr_param_u64(&k->kp, "memory");
    return HAL_OK;
}

/* Where node n's page memory starts: node 0's after kernel memory. */
static hal_paddr_t page_memory_base(const struct orr_params *kern, uint64_t node_bytes, unsigned n)
{
    uint64_t skip = n ? 0 : (orr_param_u64(kern, "memory") + (4u << 20) - 1) & ~(uint64_t)((4u << 20) - 1);
    return (hal_paddr_t)n * node_bytes + skip;
}

static int kc_mem_node(struct hal_cpu *c, unsigned node, hal_paddr_t *base, uint64_t *size)
{
    struct kcore *k = kc_of(c);
    uint64_t bytes = orr_param_u64(&k->kp, "page_memory");
    if (bytes == 0)
        return HAL_ENOTSUP;
    if (node >= k->mem_nodes)
        return HAL_EINVAL;
    *base = page_memory_base(&k->kp, k->node_bytes, node);
    *size = bytes & ~(uint64_t)(HAL_PAGE_SIZE - 1);
    return HAL_OK;
}

static unsigned kc_cpu_node(const struct hal_cpu *c) { return kc_of(c)->node; }

static unsigned kc_numa_distance(const struct hal_cpu *c, unsigned a, unsigned b)
{
    const struct kcore *k = kc_of(c);
    if (a >= k->mem_nodes || b >= k->mem_nodes)
        return a == b ? 10 : 20;
    return k->aDist[a][b];
}

static bool kc_fault_point(struct hal_cpu *c, unsigned point)
{
    struct kcore *k = kc_of(c);
    if (point > HAL_FP_DRV_BASE && point < HAL_FP_DRV_BASE + DRV_F_NKINDS) {
        uint64_t *left = &k->drv_fault[point - HAL_FP_DRV_BASE];
        if (*left == 0)
            return false;
        (*left)--;
        return true;
    }
    if (point != HAL_FP_ALLOC || k->alloc_fail == 0)
        return false;
    k->alloc_fail--;
    k->allocs_failed->v++;
    return true;
}

static void kc_cost(struct hal_cpu *c, uint32_t cycles)
{
    struct kcore *k = kc_of(c);
    k->cost->v += cycles;
    kc_advance(k, noisy(k, cycles));
}

static void kc_trace(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b)
{
    struct kcore *k = kc_of(c);
    struct platform *p = &k->k->plat;
    struct kc_tp *r = &k->aLastTp[k->nTp++ % KC_LAST_TPS];
    *r = (struct kc_tp){k->sh.local, point, a, b};
    for (unsigned i = 0; i < p->nTp; i++)
        if (p->aTp[i].point == point) {
            orr_trace_point(k->c, p->aKind[i], (uint64_t)c->id << 48 | (a & 0xFFFFFFFFFFFFull),
                            b);
            return;
        }
}

/* Report names are the kernel's words: lowercase, digits, dots and
 * underscores, bounded; a bad one is a kernel bug. */
static bool report_name_ok(const char *name)
{
    size_t n = 0;
    for (; name[n]; n++) {
        char ch = name[n];
        if (n >= sizeof ((struct kc_report *)0)->name - 1 ||
            !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'))
            return false;
    }
    return n > 0;
}

static void kc_report(struct hal_cpu *c, const char *name, uint64_t value)
{
    struct kcore *k = kc_of(c);
    if (!report_name_ok(name))
        hal_panic(c, "hal_report: a name must be 1-47 of a-z 0-9 . _");
    unsigned i = 0;
    while (i < k->nReport && strcmp(k->aReport[i].name, name) != 0)
        i++;
    if (i == k->nReport) {
        if (k->nReport == KC_MAX_REPORTS)
            hal_panic(c, "hal_report: more than 32 names on one CPU");
        char metric[64];
        snprintf(metric, sizeof metric, "report.%s", name);
        snprintf(k->aReport[i].name, sizeof k->aReport[i].name, "%s", name);
        k->aReport[i].v = orr_value_new(k->c, metric, "");
        k->nReport++;
    }
    k->aReport[i].v->v = (double)value;
}

static double report_value(const struct kcore *k, const char *name)
{
    for (unsigned i = 0; i < k->nReport; i++)
        if (strcmp(k->aReport[i].name, name) == 0)
            return k->aReport[i].v->v;
    return 0;
}

/* The last lines the kernel printed, for a failure message. */
static const char *console_tail(const struct platform *p, unsigned lines)
{
    const char *s = p->aConsole + p->nConsole;
    while (s > p->aConsole && lines) {
        s--;
        if (*s == '\n' && s + 1 < p->aConsole + p->nConsole)
            lines--;
    }
    return *s == '\n' ? s + 1 : s;
}

/* The run fails; the fiber that panicked never runs again (kc_run sees
 * `panicked`), whichever fiber it is. */
/* This CPU's last tracepoints, oldest first, one per line, for a failure
 * message (buf of n bytes). */
static const char *tracepoint_tail(const struct kcore *k, char *buf, size_t n)
{
    const struct platform *p = &k->k->plat;
    size_t len = 0;
    buf[0] = 0;
    uint64_t first = k->nTp > KC_LAST_TPS ? k->nTp - KC_LAST_TPS : 0;
    for (uint64_t i = first; i < k->nTp && len < n; i++) {
        const struct kc_tp *r = &k->aLastTp[i % KC_LAST_TPS];
        const char *name = "tracepoint";
        for (unsigned j = 0; j < p->nTp; j++)
            if (p->aTp[j].point == r->point)
                name = p->aTp[j].name;
        int w = snprintf(buf + len, n - len, "    %llu ns %s a=%llu b=%llu\n",
                         (unsigned long long)(r->at / ORR_NS), name, (unsigned long long)r->a,
                         (unsigned long long)r->b);
        len += w > 0 ? (size_t)w : 0;
    }
    if (!k->nTp)
        snprintf(buf, n, "    (none)\n");
    return buf;
}

static __attribute__((noreturn)) void kc_panic(struct hal_cpu *c, const char *why)
{
    struct kcore *k = kc_of(c);
    char tps[KC_LAST_TPS * 96];
    orr_sim_fail(k->c,
                 "kernel panic on cpu %u at %llu ns: %s\n  last tracepoints on cpu %u:\n%s"
                 "  console tail:\n%s",
                 c->id, (unsigned long long)kc_now(c), why, c->id,
                 tracepoint_tail(k, tps, sizeof tps),
                 k->k->plat.nConsole ? console_tail(&k->k->plat, 8) : "    (nothing printed)\n");
    k->panicked = true;
    k->end = k->sh.local;
    for (;;)
        kc_wait(k, KC_DONE);
}

/* ------------------------------------------------------------ devices */

static int kc_dev_bar(struct hal_cpu *c, uint32_t dev, hal_paddr_t *bar, uint64_t *size)
{
    struct kcore *k = kc_of(c);
    if (!k->ndev)
        return HAL_ENOTSUP;
    if (dev >= k->ndev)
        return HAL_EINVAL;
    *bar = k->bar_base + (hal_paddr_t)dev * k->bar_size;
    *size = k->bar_size;
    return HAL_OK;
}

/* Send a message to the root complex at the CPU's local time. */
static void kc_pcie_send(struct kcore *k, uint64_t w0, uint64_t w1)
{
    struct orr_msg m = {.size = PCIE_MMIO_BYTES, .data = {w0, w1}};
    orr_outq_send(&k->pcie_out, k->pcie, &m, k->sh.local - orr_now(k->c->sim));
}

/* Wait for the root complex's answer (an MMIO read, an IOMMU command). */
static uint64_t kc_pcie_wait(struct kcore *k)
{
    k->wait_from = k->sh.local;
    k->mem_done = false;
    kc_wait(k, KC_WAIT_MEM);
    k->stall->v += k->sh.local - k->wait_from;
    k->aSub[k->sub].stall->v += k->sh.local - k->wait_from;
    return k->value;
}

static int kc_mmio(struct hal_cpu *c, bool write, hal_paddr_t addr, unsigned size, uint64_t value,
                   uint64_t *out)
{
    struct kcore *k = kc_of(c);
    if (!k->ndev || !orr_port_peer(k->pcie))
        return HAL_ENOTSUP;
    if ((size != 1 && size != 2 && size != 4 && size != 8) || (addr & (size - 1)))
        return HAL_EINVAL;
    k->sh.local += (orr_time_t)k->mmio_cost * k->sh.cycle;
    if (write) {
        k->mmio_writes->v++;
        kc_pcie_send(k, pcie_mmio_pack(PCIE_MMIO_WR, size, addr), value);
        kc_deliver(k);
        return HAL_OK;
    }
    k->mmio_reads->v++;
    kc_pcie_send(k, pcie_mmio_pack(PCIE_MMIO_RD, size, addr), 0);
    uint64_t v = kc_pcie_wait(k);
    if (out)
        *out = v;
    kc_deliver(k);
    return HAL_OK;
}

static int kc_irq_route(struct hal_cpu *c, uint32_t vector, unsigned cpu, bool masked)
{
    struct kcore *k = kc_of(c);
    if (vector >= IRQ_VECTORS || cpu >= k->k->plat.ncpu)
        return HAL_EINVAL;
    struct orr_msg m = {.size = IRQ_MSG_BYTES,
                        .data = {irq_pack(IRQ_OP_ROUTE, (uint64_t)vector << 24 | cpu),
                                 masked ? IRQ_ROUTE_MASKED : 0}};
    orr_outq_send(&k->irq_out, k->irq, &m, k->sh.local - orr_now(k->c->sim));
    return HAL_OK;
}

static int kc_dma(struct hal_cpu *c, bool map, uint32_t dev, uint64_t addr, size_t len, bool write,
                  uint64_t *bus)
{
    struct kcore *k = kc_of(c);
    if (!k->ndev || !orr_port_peer(k->pcie))
        return HAL_ENOTSUP;
    if (dev >= k->ndev || len == 0)
        return HAL_EINVAL;
    struct pcie_iommu_cmd *cmd;
    uint64_t blob = orr_blob_new(k->c->sim, sizeof *cmd, (void **)&cmd);
    *cmd = (struct pcie_iommu_cmd){.dev = dev, .write = write, .len = len};
    if (map)
        cmd->pa = addr;
    else
        cmd->bus = addr;
    k->sh.local += (orr_time_t)k->mmio_cost * k->sh.cycle;
    kc_pcie_send(k, pcie_mmio_pack(map ? PCIE_IOMMU_MAP : PCIE_IOMMU_UNMAP, 0, 0), blob);
    int64_t r = (int64_t)kc_pcie_wait(k);
    kc_deliver(k);
    if (r < 0) /* ENOSPC (bus space used up), EINVAL, ENOENT (nothing mapped there) */
        return r == PCIE_IOMMU_ENOSPC ? HAL_EBUSY : HAL_EINVAL;
    if (map)
        *bus = (uint64_t)r;
    return HAL_OK;
}

static const struct platform_dev_ops kc_dev_ops = {
    .bar = kc_dev_bar,
    .mmio = kc_mmio,
    .irq_route = kc_irq_route,
    .dma = kc_dma,
};

static const struct platform_cpu_ops kc_ops = {
    .now = kc_now,
    .timer_set = kc_timer_set,
    .irq_restored = kc_irq_restored,
    .ipi_send = kc_ipi_send,
    .idle = kc_idle,
    .access = kc_access,
    .relax = kc_relax,
    .mmu_set_root = kc_mmu_set_root,
    .mmu_context = kc_mmu_context,
    .tlb_flush = kc_tlb_flush,
    .vaccess = kc_vaccess,
    .mem_region = kc_mem_region,
    .percpu_area = kc_percpu_area,
    .mem_node = kc_mem_node,
    .cpu_node = kc_cpu_node,
    .numa_distance = kc_numa_distance,
    .fault_point = kc_fault_point,
    .cost = kc_cost,
    .trace = kc_trace,
    .report = kc_report,
    .panic = kc_panic,
    .dev = &kc_dev_ops,
};

/* ------------------------------------------------------------ programs */

static const struct ktest_suite *suite_find(const char *name)
{
    for (const struct ktest_suite *s = ktest_suites; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

int kernel_check_selftests(const struct orr_node *list, const char *keypath, struct orr_diag *d)
{
    int rc = 0;
    for (size_t i = 0; list && list->kind == ORR_NODE_SEQ && i < list->n; i++) {
        const struct orr_node *v = list->aItem[i];
        if (v->kind != ORR_NODE_SCALAR || suite_find(v->scalar))
            continue;
        char known[256] = "";
        for (const struct ktest_suite *s = ktest_suites; s->name; s++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                     s == ktest_suites ? "" : ", ", s->name);
        orr_diag_error(d, &v->mark, keypath, "no selftest suite '%s' (suites: %s)", v->scalar,
                       known);
        rc = ORR_ESCHEMA;
    }
    return rc;
}

/* CPU 0: the selftest suites the scenario names, then wake the others. */
static int boot_selftests(struct kcore *k)
{
    size_t n = 0;
    const char *const *names = orr_param_list(&k->kp, "selftest", &n);
    int failures = 0;
    unsigned run = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ktest_suite *s = suite_find(names[i]);
        failures += ktest_run(&k->cpu, s->name, s->tests);
        run += ktest_count(s->tests);
    }
    if (n) {
        ktest_puts(&k->cpu, failures ? "KTEST FAIL " : "KTEST PASS ");
        ktest_put_u64(&k->cpu, failures ? (uint64_t)failures : run);
        ktest_puts(&k->cpu, "\n");
    }
    return failures;
}

static void wake_secondaries(struct kcore *k)
{
    k->k->phase = 1;
    for (unsigned t = 1; t < k->k->plat.ncpu; t++)
        hal_ipi_send(&k->cpu, t, KC_WAKE_REASON);
}

static void run_bench(struct kcore *k)
{
    const struct orr_params *b = orr_param_group(&k->kp, "sync_bench");
    unsigned lock = (unsigned)orr_param_enum(b, "lock");
    if (lock == 0)
        return;
    static const enum sync_lock_kind kinds[] = {SYNC_NONE, SYNC_TICKET, SYNC_MCS, SYNC_NONE};
    unsigned cpus = (unsigned)orr_param_u64(b, "cpus");
    struct sync_bench_cfg cfg = {
        .lock = kinds[lock],
        .cpus = cpus ? cpus : k->k->plat.ncpu,
        .iterations = (unsigned)orr_param_u64(b, "iterations"),
        .critical = (uint32_t)orr_param_u64(b, "critical"),
        /* the upper half of kernel memory: selftests use the lower */
        .region = orr_param_u64(&k->kp, "memory") / 2,
    };
    int rc = sync_bench(&k->cpu, &cfg);
    if (rc)
        orr_sim_fail(k->c,
                     "kernel sync_bench (%s): the shared counter is %.0f after %.0f locked "
                     "increments (mutual exclusion broken; check at kernel/sync line %d)",
                     lock_kinds[lock], report_value(k, "sync.counter"),
                     report_value(k, "sync.acquisitions"), rc);
}

/* Where vm_bench's region starts: the last quarter of kernel memory (the
 * scheduler lock takes the very last line). */
static hal_paddr_t vm_bench_region(const struct orr_params *kern)
{
    return (orr_param_u64(kern, "memory") / 4 * 3) & ~(hal_paddr_t)(HAL_PAGE_SIZE - 1);
}

static uint64_t vm_bench_room(const struct orr_params *kern)
{
    return orr_param_u64(kern, "memory") - HAL_PAGE_SIZE - vm_bench_region(kern);
}

int kernel_check_vm(const struct orr_params *kern, unsigned ncpu, uint64_t threads,
                    struct orr_diag *d)
{
    int rc = 0;
    const struct orr_params *t = orr_param_group(kern, "tlb");
    static const char *const lv[][2] = {{"entries", "ways"}, {"l2_entries", "l2_ways"}};
    for (unsigned i = 0; i < 2; i++) {
        uint64_t entries = orr_param_u64(t, lv[i][0]), ways = orr_param_u64(t, lv[i][1]);
        if (i == 1 && entries == 0)
            continue;
        uint64_t sets = entries / ways;
        if (entries % ways || sets == 0 || (sets & (sets - 1))) {
            orr_diag_error(d, orr_param_mark(t, lv[i][0]), i ? "kernel.tlb.l2_entries"
                                                               : "kernel.tlb.entries",
                           "%llu entries in %llu ways: entries must be sets x ways with a "
                           "power-of-two number of sets (e.g. %llu)",
                           (unsigned long long)entries, (unsigned long long)ways,
                           (unsigned long long)(ways * (sets ? 1ull << (63 - __builtin_clzll(sets))
                                                             : 1)));
            rc = ORR_ESCHEMA;
        }
    }
    uint64_t pc = orr_param_u64(kern, "percpu"), q = orr_param_u64(kern, "memory") / 4;
    if (pc % 64 || pc < KTHREAD_FRAME || (uint64_t)ncpu * pc + 4096 > q) {
        orr_diag_error(d, orr_param_mark(kern, "percpu"), "kernel.percpu",
                       pc % 64 || pc < KTHREAD_FRAME
                           ? "%llu bytes: a per-CPU area is whole 64-byte lines, at least 128 "
                             "(the idle loop's switch frame)"
                               : "%llu bytes for each of %u CPUs do not fit below a quarter of "
                                 "kernel memory (with 4 KiB left below them)",
                       (unsigned long long)pc, ncpu);
        rc = ORR_ESCHEMA;
    } else if ((uint64_t)ncpu * pc + threads * KTHREAD_FRAME + 4096 > q) {
        orr_diag_error(d, orr_param_mark(kern, "memory"), "kernel.memory",
                       "%llu bytes: too small for %llu kernel threads' switch frames (%u bytes "
                       "each) below the per-CPU areas in its first quarter",
                       (unsigned long long)orr_param_u64(kern, "memory"),
                       (unsigned long long)threads, KTHREAD_FRAME);
        rc = ORR_ESCHEMA;
    }
    const struct orr_params *b = orr_param_group(kern, "vm_bench");
    unsigned cpus = (unsigned)orr_param_u64(b, "cpus");
    if (cpus > ncpu) {
        orr_diag_error(d, orr_param_mark(b, "cpus"), "kernel.vm_bench.cpus",
                       "%u CPUs, but kernel.cpus gives the kernel %u", cpus, ncpu);
        rc = ORR_ESCHEMA;
    } else if (cpus) {
        uint64_t need = VM_BENCH_BYTES(ncpu, orr_param_u64(b, "pages"), orr_param_u64(b, "rounds"),
                                       orr_param_u64(b, "demand"));
        if (need > vm_bench_room(kern)) {
            orr_diag_error(d, orr_param_mark(kern, "memory"), "kernel.memory",
                           "kernel.vm_bench needs %llu bytes in the last quarter of kernel "
                           "memory; raise kernel.memory to at least %llu bytes",
                           (unsigned long long)need,
                           (unsigned long long)((need + 2 * HAL_PAGE_SIZE) * 4));
            rc = ORR_ESCHEMA;
        }
    }
    return rc;
}

/* Every CPU: the shootdown benchmark, when kernel.vm_bench.cpus asks. */
static void run_vm_bench(struct kcore *k)
{
    const struct orr_params *b = orr_param_group(&k->kp, "vm_bench");
    struct vm_bench_cfg cfg = {
        .cpus = (unsigned)orr_param_u64(b, "cpus"),
        .pages = (unsigned)orr_param_u64(b, "pages"),
        .rounds = (unsigned)orr_param_u64(b, "rounds"),
        .demand = (unsigned)orr_param_u64(b, "demand"),
        .skip_flush = orr_param_bool(b, "skip_flush"),
        .region = vm_bench_region(&k->kp),
    };
    if (cfg.cpus == 0)
        return;
    int rc = vm_bench(&k->cpu, &cfg);
    if (rc)
        orr_sim_fail(k->c,
                     "kernel vm_bench: %.0f reads found a page's old frame after its TLB "
                     "shootdown, %.0f page faults served for %u expected (a translation "
                     "outlived its shootdown, or faults went missing; check at kernel/mm line %d)",
                     report_value(k, "vm.stale_reads"), report_value(k, "vm.faults"),
                     cfg.cpus * cfg.demand, rc);
}

/* The allocator configuration kernel.mm_bench gives. */
static struct mm_config mm_config_of(const struct orr_params *b)
{
    return (struct mm_config){
        .pcp = orr_param_bool(b, "pcp"),
        .batch = (unsigned)orr_param_u64(b, "batch"),
        .high = (unsigned)orr_param_u64(b, "high"),
        .hardened = orr_param_bool(b, "hardened"),
        .fail_every = (uint32_t)orr_param_u64(b, "fail_every"),
        .wmark_min = (uint32_t)orr_param_u64(orr_param_group(b, "watermarks"), "min"),
        .wmark_low = (uint32_t)orr_param_u64(orr_param_group(b, "watermarks"), "low"),
        .wmark_high = (uint32_t)orr_param_u64(orr_param_group(b, "watermarks"), "high"),
    };
}

int kernel_check_mm(const struct orr_params *kern, unsigned ncpu, unsigned sockets,
                    uint64_t node_bytes, struct orr_diag *d)
{
    int rc = 0;
    uint64_t bytes = orr_param_u64(kern, "page_memory");
    unsigned nodes = sockets < MM_MAX_NODES ? sockets : MM_MAX_NODES;
    const struct orr_params *b = orr_param_group(kern, "mm_bench");
    if (bytes) {
        uint64_t end0 = page_memory_base(kern, node_bytes, 0) + bytes;
        if (end0 > node_bytes) {
            orr_diag_error(d, orr_param_mark(kern, "page_memory"), "kernel.page_memory",
                           "%llu bytes after kernel memory (from %llu) do not fit memory node 0 "
                           "(%llu bytes)",
                           (unsigned long long)bytes,
                           (unsigned long long)page_memory_base(kern, node_bytes, 0),
                           (unsigned long long)node_bytes);
            return ORR_ESCHEMA;
        }
        struct mm m;
        struct mm_node_mem nm[MM_MAX_NODES];
        for (unsigned n = 0; n < nodes; n++)
            nm[n] = (struct mm_node_mem){page_memory_base(kern, node_bytes, n),
                                         bytes & ~(uint64_t)(HAL_PAGE_SIZE - 1)};
        struct mm_config cfg = mm_config_of(b);
        cfg.batch = 1, cfg.high = 1; /* checked below */
        if (mm_layout(&m, nm, nodes, NULL, ncpu, &cfg) != HAL_OK) {
            orr_diag_error(d, orr_param_mark(kern, "page_memory"), "kernel.page_memory",
                           "%llu bytes per node: too small for the page allocator's own "
                           "descriptors and %u CPUs' page lists (give at least 1MiB)",
                           (unsigned long long)bytes, ncpu);
            return ORR_ESCHEMA;
        }
    }
    unsigned cpus = (unsigned)orr_param_u64(b, "cpus");
    if (cpus > ncpu) {
        orr_diag_error(d, orr_param_mark(b, "cpus"), "kernel.mm_bench.cpus",
                       "%u CPUs, but kernel.cpus gives the kernel %u", cpus, ncpu);
        rc = ORR_ESCHEMA;
    } else if (cpus && !bytes) {
        orr_diag_error(d, orr_param_mark(b, "cpus"), "kernel.mm_bench.cpus",
                       "the benchmark needs memory for the page allocator: set kernel.page_memory");
        rc = ORR_ESCHEMA;
    }
    const struct orr_params *wm = orr_param_group(b, "watermarks");
    uint64_t wmin = orr_param_u64(wm, "min"), wlow = orr_param_u64(wm, "low"),
             whigh = orr_param_u64(wm, "high");
    if ((wmin || wlow || whigh) && !(wmin <= wlow && wlow <= whigh && wlow > 0)) {
        orr_diag_error(d, orr_param_mark(wm, wlow > whigh ? "high" : "low"),
                       "kernel.mm_bench.watermarks",
                       "min %llu, low %llu, high %llu pages: the watermarks must be in order, "
                       "0 < low and min <= low <= high",
                       (unsigned long long)wmin, (unsigned long long)wlow,
                       (unsigned long long)whigh);
        rc = ORR_ESCHEMA;
    } else if (bytes && whigh >= bytes / HAL_PAGE_SIZE) {
        orr_diag_error(d, orr_param_mark(wm, "high"), "kernel.mm_bench.watermarks.high",
                       "%llu pages: at least a zone's %llu pages (kernel.page_memory)",
                       (unsigned long long)whigh,
                       (unsigned long long)(bytes / HAL_PAGE_SIZE));
        rc = ORR_ESCHEMA;
    }
    if (orr_param_u64(b, "batch") > orr_param_u64(b, "high")) {
        orr_diag_error(d, orr_param_mark(b, "high"), "kernel.mm_bench.high",
                       "the per-CPU list's high mark (%llu) is below its batch (%llu): a list "
                       "would give back more than it holds",
                       (unsigned long long)orr_param_u64(b, "high"),
                       (unsigned long long)orr_param_u64(b, "batch"));
        rc = ORR_ESCHEMA;
    }
    size_t n = 0;
    const char *const *list = orr_param_list(b, "nodes", &n);
    unsigned policy = (unsigned)orr_param_enum(b, "policy");
    if (policy != MM_POL_LOCAL && n == 0) {
        orr_diag_error(d, orr_param_mark(b, "policy"), "kernel.mm_bench.nodes",
                       "policy %s needs nodes: a list of NUMA node numbers", mm_policies[policy]);
        rc = ORR_ESCHEMA;
    }
    for (size_t i = 0; i < n; i++) {
        char *end;
        unsigned long v = strtoul(list[i], &end, 10);
        if (end == list[i] || *end || v >= nodes) {
            orr_diag_error(d, orr_param_mark(b, "nodes"), "kernel.mm_bench.nodes",
                           "'%s' is not a NUMA node of the machine (nodes with page memory: "
                           "0..%u)",
                           list[i], nodes - 1);
            rc = ORR_ESCHEMA;
        }
    }
    return rc;
}

/* Where rcu_bench's region starts: from five eighths of kernel memory, up
 * to vm_bench's last quarter. */
static hal_paddr_t rcu_bench_region(const struct orr_params *kern)
{
    return (orr_param_u64(kern, "memory") / 8 * 5) & ~(hal_paddr_t)(HAL_PAGE_SIZE - 1);
}

static struct rcu_bench_cfg rcu_cfg_of(const struct orr_params *kern)
{
    const struct orr_params *b = orr_param_group(kern, "rcu_bench");
    return (struct rcu_bench_cfg){
        .cpus = (unsigned)orr_param_u64(b, "cpus"),
        .updaters = (unsigned)orr_param_u64(b, "updaters"),
        .keys = (unsigned)orr_param_u64(b, "keys"),
        .buckets = (unsigned)orr_param_u64(b, "buckets"),
        .sections = (unsigned)orr_param_u64(b, "sections"),
        .updates = (unsigned)orr_param_u64(b, "updates"),
        .hold = (uint32_t)orr_param_u64(b, "hold"),
        .lookups = (unsigned)orr_param_u64(b, "lookups"),
        .warm = (unsigned)orr_param_u64(b, "warm"),
        .pool = (unsigned)orr_param_u64(b, "pool"),
        .tick_ns = orr_param_u64(b, "tick") / ORR_NS,
        .update = orr_param_bool(b, "update"),
        .check = orr_param_bool(b, "check"),
        .premature = orr_param_bool(b, "premature"),
        .region = rcu_bench_region(kern),
    };
}

int kernel_check_rcu(const struct orr_params *kern, unsigned ncpu, struct orr_diag *d)
{
    const struct orr_params *b = orr_param_group(kern, "rcu_bench");
    struct rcu_bench_cfg cfg = rcu_cfg_of(kern);
    if (cfg.cpus == 0)
        return 0;
    if (cfg.cpus > ncpu) {
        orr_diag_error(d, orr_param_mark(b, "cpus"), "kernel.rcu_bench.cpus",
                       "%u CPUs, but kernel.cpus gives the kernel %u", cfg.cpus, ncpu);
        return ORR_ESCHEMA;
    }
    if (cfg.updaters > cfg.cpus || (cfg.updaters && cfg.buckets % cfg.updaters)) {
        orr_diag_error(d, orr_param_mark(b, "updaters"), "kernel.rcu_bench.updaters",
                       "%u updaters: at most the benchmark's %u CPUs, and a divisor of its %u "
                       "buckets (each updater owns every updaters-th bucket)",
                       cfg.updaters, cfg.cpus, cfg.buckets);
        return ORR_ESCHEMA;
    }
    if (cfg.tick_ns == 0) {
        orr_diag_error(d, orr_param_mark(b, "tick"), "kernel.rcu_bench.tick",
                       "a tick of at least 1ns");
        return ORR_ESCHEMA;
    }
    uint64_t need = RCU_BENCH_BYTES(ncpu, cfg.keys, cfg.buckets, cfg.updaters, cfg.pool);
    uint64_t room = vm_bench_region(kern) - cfg.region;
    if (need > room) {
        orr_diag_error(d, orr_param_mark(b, "keys"), "kernel.rcu_bench.keys",
                       "the table, its spare nodes and the bookkeeping need %llu bytes; kernel "
                       "memory gives the benchmark %llu (from 5/8 to 3/4 of kernel.memory): "
                       "fewer keys or more kernel.memory",
                       (unsigned long long)need, (unsigned long long)room);
        return ORR_ESCHEMA;
    }
    return 0;
}

/* Every CPU: the RCU benchmark's three phases, each in its subsystem: the
 * measured loop alone is `sync`, so a reader's sub.sync.misses are its
 * read sections' own. */
static void run_rcu_bench(struct kcore *k)
{
    struct rcu_bench_cfg cfg = rcu_cfg_of(&k->kp);
    if (cfg.cpus == 0)
        return;
    struct rcu_bench_state *st = calloc(1, sizeof *st);
    if (!st)
        orr_oom();
    kc_sub_enter(k, KS_BOOT);
    rcu_bench(&k->cpu, &cfg, 0, st);
    kc_sub_enter(k, KS_SYNC);
    rcu_bench(&k->cpu, &cfg, 1, st);
    kc_sub_enter(k, KS_BOOT);
    int rc = rcu_bench(&k->cpu, &cfg, 2, st);
    free(st);
    if (rc)
        orr_sim_fail(k->c,
                     "kernel rcu_bench: rcu_check failed at kernel/sync/rcu_bench.c line %d: %.0f read "
                     "sections saw a grace period end under them, %.0f lookups found a freed "
                     "(poisoned) node, %.0f a wrong or missing key",
                     rc, report_value(k, "rcu.violations"), report_value(k, "rcu.use_after_free"),
                     report_value(k, "rcu.wrong") + report_value(k, "rcu.missing"));
}

/* Where ring_bench's region starts: from nine sixteenths of kernel memory,
 * up to rcu_bench's. */
static hal_paddr_t ring_bench_region(const struct orr_params *kern)
{
    return (orr_param_u64(kern, "memory") / 16 * 9) & ~(hal_paddr_t)(HAL_PAGE_SIZE - 1);
}

static struct ring_bench_cfg ring_cfg_of(const struct orr_params *kern)
{
    const struct orr_params *b = orr_param_group(kern, "ring_bench");
    unsigned kind = (unsigned)orr_param_enum(b, "kind");
    return (struct ring_bench_cfg){
        .kind = kind == 2 ? RING_MPMC : RING_SPSC,
        .producer = (unsigned)orr_param_u64(b, "producer"),
        .consumer = (unsigned)orr_param_u64(b, "consumer"),
        .producers = (unsigned)orr_param_u64(b, "producers"),
        .consumers = (unsigned)orr_param_u64(b, "consumers"),
        .items = (unsigned)orr_param_u64(b, "items"),
        .cap = (unsigned)orr_param_u64(b, "capacity"),
        .batch = (unsigned)orr_param_u64(b, "batch"),
        .region = ring_bench_region(kern),
    };
}

int kernel_check_ring(const struct orr_params *kern, unsigned ncpu, struct orr_diag *d)
{
    const struct orr_params *b = orr_param_group(kern, "ring_bench");
    unsigned kind = (unsigned)orr_param_enum(b, "kind");
    if (kind == 0)
        return 0;
    struct ring_bench_cfg cfg = ring_cfg_of(kern);
    int rc = 0;
    if (cfg.cap & (cfg.cap - 1)) {
        orr_diag_error(d, orr_param_mark(b, "capacity"), "kernel.ring_bench.capacity",
                       "%u slots: a ring's capacity is a power of two", cfg.cap);
        rc = ORR_ESCHEMA;
    } else if (RING_BENCH_BYTES(cfg.cap) > rcu_bench_region(kern) - cfg.region) {
        orr_diag_error(d, orr_param_mark(b, "capacity"), "kernel.ring_bench.capacity",
                       "%u slots do not fit the benchmark's %llu bytes of kernel memory (from "
                       "9/16 to 5/8 of kernel.memory)",
                       cfg.cap, (unsigned long long)(rcu_bench_region(kern) - cfg.region));
        rc = ORR_ESCHEMA;
    }
    if (cfg.batch > cfg.cap) {
        orr_diag_error(d, orr_param_mark(b, "batch"), "kernel.ring_bench.batch",
                       "a batch of %u items is more than the ring's %u slots", cfg.batch,
                       cfg.cap);
        rc = ORR_ESCHEMA;
    }
    if (cfg.kind == RING_SPSC &&
        (cfg.producer >= ncpu || cfg.consumer >= ncpu || cfg.producer == cfg.consumer)) {
        orr_diag_error(d, orr_param_mark(b, cfg.producer >= ncpu ? "producer" : "consumer"),
                       "kernel.ring_bench", "producer %u and consumer %u: two different kernel "
                       "CPUs of the kernel's %u",
                       cfg.producer, cfg.consumer, ncpu);
        rc = ORR_ESCHEMA;
    }
    if (cfg.kind == RING_MPMC && (cfg.producers + cfg.consumers > ncpu ||
                                  ((uint64_t)cfg.items * cfg.producers) % cfg.consumers)) {
        orr_diag_error(d, orr_param_mark(b, "consumers"), "kernel.ring_bench.consumers",
                       "%u producers and %u consumers: at most the kernel's %u CPUs, and the "
                       "consumers must divide the %llu items evenly",
                       cfg.producers, cfg.consumers, ncpu,
                       (unsigned long long)cfg.items * cfg.producers);
        rc = ORR_ESCHEMA;
    }
    return rc;
}

/* Every CPU: the ring benchmark's phases; the transfer alone is `sync`. */
static void run_ring_bench(struct kcore *k)
{
    if (orr_param_enum(orr_param_group(&k->kp, "ring_bench"), "kind") == 0)
        return;
    struct ring_bench_cfg cfg = ring_cfg_of(&k->kp);
    struct ring_bench_state st;
    memset(&st, 0, sizeof st);
    kc_sub_enter(k, KS_BOOT);
    ring_bench(&k->cpu, &cfg, 0, &st);
    kc_sub_enter(k, KS_SYNC);
    ring_bench(&k->cpu, &cfg, 1, &st);
    kc_sub_enter(k, KS_BOOT);
    int rc = ring_bench(&k->cpu, &cfg, 2, &st);
    if (rc)
        orr_sim_fail(k->c,
                     "kernel ring_bench: %.0f items arrived of %u sent, %.0f out of order (check "
                     "at kernel/sync/ring.c line %d)",
                     report_value(k, "ring.items"),
                     cfg.items * (cfg.kind == RING_SPSC ? 1 : cfg.producers),
                     report_value(k, "ring.errors"), rc);
}

/* kernel.block_bench: its configuration; its memory is [1/4, 1/2) of
 * kernel memory (below it the per-CPU areas, above it the selftests'). */
static struct blk_bench_cfg blk_cfg_of(const struct orr_params *kern)
{
    const struct orr_params *b = orr_param_group(kern, "block_bench");
    uint64_t mem = orr_param_u64(kern, "memory");
    return (struct blk_bench_cfg){
        .dev = (uint32_t)orr_param_u64(b, "device"),
        .jobs = (unsigned)orr_param_u64(b, "jobs"),
        .qd = (unsigned)orr_param_u64(b, "qd"),
        .bs = (uint32_t)orr_param_u64(b, "bs"),
        .sequential = orr_param_enum(b, "pattern") == 1,
        .read_pct = (unsigned)orr_param_u64(b, "read_pct"),
        .ios = orr_param_u64(b, "ios"),
        .flush_every = (unsigned)orr_param_u64(b, "flush_every"),
        .fua = orr_param_bool(b, "fua"),
        .verify = orr_param_bool(b, "verify"),
        .merge = orr_param_bool(b, "merge"),
        .blocks = orr_param_u64(b, "blocks"),
        .seed = orr_param_u64(b, "seed"),
        .io_timeout = orr_param_u64(b, "io_timeout") / ORR_NS,
        .admin_timeout = orr_param_u64(b, "admin_timeout") / ORR_NS,
        .retries = (unsigned)orr_param_u64(b, "retries"),
        .readback = orr_param_bool(b, "readback"),
        .region = (mem / 4 + HAL_PAGE_SIZE - 1) & ~(uint64_t)(HAL_PAGE_SIZE - 1),
        .region_size = (mem / 2 - mem / 4) & ~(uint64_t)(HAL_PAGE_SIZE - 1),
    };
}

int kernel_check_blk(const struct orr_params *kern, unsigned ncpu, bool pcie, struct orr_diag *d)
{
    const struct orr_params *b = orr_param_group(kern, "block_bench");
    struct blk_bench_cfg cfg = blk_cfg_of(kern);
    if (!cfg.jobs)
        return 0;
    int rc = 0;
    if (!pcie) {
        orr_diag_error(d, orr_param_mark(b, "jobs"), "kernel.block_bench.jobs",
                       "the block workload needs an NVMe SSD behind machine.pcie, and the "
                       "machine has no pcie");
        return ORR_ESCHEMA;
    }
    if (cfg.jobs > ncpu) {
        orr_diag_error(d, orr_param_mark(b, "jobs"), "kernel.block_bench.jobs",
                       "%u jobs, but kernel.cpus gives the kernel %u CPUs", cfg.jobs, ncpu);
        rc = ORR_ESCHEMA;
    }
    if (cfg.bs % NVME_LBA_BYTES) {
        orr_diag_error(d, orr_param_mark(b, "bs"), "kernel.block_bench.bs",
                       "%u bytes: a request is whole 4 KiB blocks", cfg.bs);
        rc = ORR_ESCHEMA;
    }
    if (cfg.readback && !cfg.verify) {
        orr_diag_error(d, orr_param_mark(b, "readback"), "kernel.block_bench.readback",
                       "the read-back checks generations: it needs verify: true");
        rc = ORR_ESCHEMA;
    }
    if (cfg.verify && (!cfg.blocks || cfg.blocks > (1u << 24))) {
        orr_diag_error(d, orr_param_mark(b, "blocks"), "kernel.block_bench.blocks",
                       "verify keeps a generation per block: give a working set of 1..16777216 "
                       "blocks");
        rc = ORR_ESCHEMA;
    }
    if (rc == 0 && blk_bench_bytes(&cfg) > cfg.region_size) {
        orr_diag_error(d, orr_param_mark(b, "qd"), "kernel.block_bench",
                       "%u jobs of %u requests of %u bytes need %llu bytes of kernel memory, and "
                       "the workload has %llu (a quarter of kernel.memory)",
                       cfg.jobs, cfg.qd, cfg.bs, (unsigned long long)blk_bench_bytes(&cfg),
                       (unsigned long long)cfg.region_size);
        rc = ORR_ESCHEMA;
    }
    return rc;
}

/* At start: the device the workload names must be an nvme that offers
 * the queues and depth it asks for. */
static int blk_check_device(struct kcore *k, struct orr_diag *d)
{
    const struct orr_params *b = orr_param_group(&k->kp, "block_bench");
    struct blk_bench_cfg cfg = blk_cfg_of(&k->kp);
    if (!cfg.jobs || k->cpu.id != 0)
        return 0;
    struct orr_port *up = orr_port_peer(k->pcie);
    char name[32];
    snprintf(name, sizeof name, "dev%u", cfg.dev);
    struct orr_port *dp = up ? orr_port_find(up->owner, name) : NULL;
    struct orr_port *dev = dp ? orr_port_peer(dp) : NULL;
    const struct nvme_limits *lim = dev ? nvme_limits_of(dev->owner) : NULL;
    if (!lim) {
        orr_diag_error(d, orr_param_mark(b, "device"), "kernel.block_bench.device",
                       "device %u: no nvme on the root complex's port %s", cfg.dev, name);
        return ORR_ESCHEMA;
    }
    int rc = 0;
    if (cfg.qd + 1 > lim->max_queue_entries) {
        orr_diag_error(d, orr_param_mark(b, "qd"), "kernel.block_bench.qd",
                       "a queue depth of %u needs %u queue entries, and %s offers at most %u "
                       "(its max_queue_entries)",
                       cfg.qd, cfg.qd + 1, dev->owner->path, lim->max_queue_entries);
        rc = ORR_ESCHEMA;
    }
    if (cfg.jobs > lim->io_queues) {
        orr_diag_error(d, orr_param_mark(b, "jobs"), "kernel.block_bench.jobs",
                       "%u jobs need as many I/O queue pairs, and %s offers %u", cfg.jobs,
                       dev->owner->path, lim->io_queues);
        rc = ORR_ESCHEMA;
    }
    if (cfg.bs > lim->max_transfer && !cfg.merge) {
        orr_diag_error(d, orr_param_mark(b, "bs"), "kernel.block_bench.bs",
                       "%u bytes per request, and %s transfers at most %u per command", cfg.bs,
                       dev->owner->path, lim->max_transfer);
        rc = ORR_ESCHEMA;
    }
    if (cfg.blocks * NVME_LBA_BYTES > lim->namespace_bytes) {
        orr_diag_error(d, orr_param_mark(b, "blocks"), "kernel.block_bench.blocks",
                       "%llu blocks, and %s's namespace has %llu",
                       (unsigned long long)cfg.blocks, dev->owner->path,
                       (unsigned long long)(lim->namespace_bytes / NVME_LBA_BYTES));
        rc = ORR_ESCHEMA;
    }
    return rc;
}

/* The block workload's shared state: one record per job, the controller. */
struct blk_shared {
    struct nvme_ctrl ctrl;
    struct blk_bench_state **aSt;
    unsigned n;
};

static void blk_shared_free(void *p)
{
    struct blk_shared *sh = p;
    for (unsigned i = 0; i < sh->n; i++) {
        free(sh->aSt[i]->aGen);
        free(sh->aSt[i]->aDurable);
        free(sh->aSt[i]->aBusy);
        free(sh->aSt[i]->aLog);
        free(sh->aSt[i]->aRq);
        free(sh->aSt[i]);
    }
    free(sh->aSt);
    free(sh);
}

static struct blk_shared *blk_shared_new(const struct orr_params *kern)
{
    struct blk_bench_cfg cfg = blk_cfg_of(kern);
    struct blk_shared *sh = calloc(1, sizeof *sh);
    if (!sh || !(sh->aSt = calloc(cfg.jobs, sizeof *sh->aSt)))
        orr_oom();
    sh->n = cfg.jobs;
    uint64_t nblk = cfg.bs / NVME_LBA_BYTES;
    for (unsigned i = 0; i < cfg.jobs; i++) {
        struct blk_bench_state *st = calloc(1, sizeof *st);
        if (!st || !(st->aRq = calloc(cfg.qd, sizeof *st->aRq)))
            orr_oom();
        if (cfg.verify) {
            st->capLog = cfg.ios * nblk;
            st->aGen = calloc(cfg.blocks, sizeof *st->aGen);
            st->aDurable = calloc(cfg.blocks, sizeof *st->aDurable);
            st->aBusy = calloc(cfg.blocks, 1);
            st->aLog = calloc(st->capLog, sizeof *st->aLog);
            if (!st->aGen || !st->aDurable || !st->aBusy || !st->aLog)
                orr_oom();
        }
        sh->aSt[i] = st;
    }
    return sh;
}

static void run_blk_bench(struct kcore *k)
{
    struct blk_bench_cfg cfg = blk_cfg_of(&k->kp);
    if (!cfg.jobs || k->cpu.id >= cfg.jobs)
        return;
    struct blk_shared *sh = k->k->blk;
    cfg.seed = cfg.seed * 0x9E3779B97F4A7C15ull ^ orr_sim_seed(k->c->sim); /* another seed, other addresses */
    int rc = blk_bench(&k->cpu, &cfg, &sh->ctrl, sh->aSt[k->cpu.id], sh->aSt);
    if (rc)
        orr_sim_fail(k->c,
                     "kernel block_bench: job %u failed its check at kernel/block/bench.c line %d "
                     "(%.0f requests failed, init error %.0f; %.0f reads returned a generation "
                     "older than the newest durable one or other than the newest acknowledged: "
                     "the first, block %.0f, held generation %.0f, durable %.0f, newest "
                     "acknowledged %.0f)",
                     k->cpu.id, rc, report_value(k, "blk.errors"),
                     report_value(k, "blk.init_error"), report_value(k, "blk.verify_errors"),
                     report_value(k, "blk.verify_lba"), report_value(k, "blk.verify_got"),
                     report_value(k, "blk.verify_durable"), report_value(k, "blk.verify_newest"));
}

/* Every CPU: the allocation-churn benchmark, when kernel.mm_bench.cpus asks. */
static void run_mm_bench(struct kcore *k)
{
    const struct orr_params *b = orr_param_group(&k->kp, "mm_bench");
    struct mm_bench_cfg cfg = {
        .cpus = (unsigned)orr_param_u64(b, "cpus"),
        .iterations = (unsigned)orr_param_u64(b, "iterations"),
        .max_order = (unsigned)orr_param_u64(b, "max_order"),
        .objects = orr_param_bool(b, "objects"),
        .object_size = (uint32_t)orr_param_u64(b, "object_size"),
        .policy = {.mode = (enum mm_policy_mode)orr_param_enum(b, "policy")},
    };
    if (cfg.cpus == 0)
        return;
    size_t n = 0;
    const char *const *list = orr_param_list(b, "nodes", &n);
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)strtoul(list[i], NULL, 10);
        cfg.policy.mask |= 1u << v;
        if (i == 0)
            cfg.policy.node = v;
    }
    struct mm m;
    struct mm_config mc = mm_config_of(b);
    if (mm_layout_hal(&k->cpu, &m, &mc) != HAL_OK)
        hal_panic(&k->cpu, "mm_bench: no page memory in the memory map");
    if (k->cpu.id == 0)
        mm_boot(&k->cpu, &m);
    kc_sub_enter(k, KS_MM);
    int rc = mm_bench(&k->cpu, &m, &cfg);
    if (rc)
        orr_sim_fail(k->c,
                     "kernel mm_bench: the allocator's state is inconsistent after the churn "
                     "(mm_check/mm_slab_check failed at kernel/mm line %d; %.0f allocations, "
                     "%.0f frees)",
                     rc, report_value(k, "mm.allocs"), report_value(k, "mm.frees"));
}

static void kc_main(void *arg)
{
    struct kcore *k = arg;
    if (k->cpu.id == 0) {
        int failures = boot_selftests(k);
        if (failures)
            orr_sim_fail(k->c, "kernel selftests: %d failed on cpu 0\n  console tail:\n%s",
                         failures, console_tail(&k->k->plat, 12));
        wake_secondaries(k);
    } else {
        while (k->k->phase == 0)
            hal_idle(&k->cpu);
    }
    kc_sub_enter(k, KS_SYNC);
    run_bench(k);
    kc_sub_enter(k, KS_MM);
    run_vm_bench(k);
    kc_sub_enter(k, KS_BOOT);
    run_mm_bench(k);
    kc_sub_enter(k, KS_BOOT);
    run_rcu_bench(k);
    kc_sub_enter(k, KS_BOOT);
    run_ring_bench(k);
    kc_sub_enter(k, KS_BOOT);
    run_blk_bench(k);
    kdrv_run(k);
    kc_sub_enter(k, KS_BOOT);
    if (k->k->kt)
        kthreads_cpu_loop(k);
    kc_sub_enter(k, KS_BOOT); /* closes the last stretch */
    k->end = k->sh.local;
}

/* ------------------------------------------------------------- engine side */

static void on_done(void *arg, uint32_t tag, uint64_t value)
{
    (void)tag;
    struct kcore *k = arg;
    k->value = value;
    k->mem_done = true;
    k->sh.run_pending = true;
}

static void on_wake(void *arg)
{
    struct kcore *k = arg;
    k->woken = true;
    k->sh.run_pending = true;
}

/* Resume the fiber if what it waits for has come (invariant 1). */
static void kc_run(struct kcore *k)
{
    k->sh.run_pending = false;
    if (k->sh.step_pending)
        return;
    switch (k->st) {
    case KC_WAIT_MEM:
        if (!k->mem_done)
            return;
        break;
    case KC_WAIT_RETRY:
        if (!k->woken)
            return;
        break;
    case KC_IDLE:
        core_shell_catch_up(&k->sh); /* an idle CPU's clock follows global time */
        if (!irq_deliverable(k) && !k->inject_panic[0])
            return;
        break;
    case KC_BUSY: /* so does a busy one's, up to the end of its work */
        core_shell_catch_up(&k->sh);
        if (k->sh.local < k->busy_until && !irq_deliverable(k) && !k->inject_panic[0])
            return;
        break;
    case KC_DONE:
        return;
    default:
        break;
    }
    orr_time_t now = orr_now(k->c->sim);
    if (now < k->stall_until) { /* a stall fault: back when it ends */
        k->sh.step_pending = true;
        orr_timer(k->c, k->stall_until - now, K_STEP, 0, 0);
        return;
    }
    if (k->sh.local < k->stall_until)
        k->sh.local = k->stall_until;
    core_shell_catch_up(&k->sh);
    k->st = KC_RUN;
    fiber_resume(k->cur);
    while (k->switch_to && !k->panicked) { /* kc_switch: the old fiber is off the CPU now */
        struct fiber *left = k->cur;
        k->cur = k->switch_to;
        k->switch_to = NULL;
        kthreads_left_cpu(k, left);
        core_shell_catch_up(&k->sh);
        fiber_resume(k->cur);
    }
    if (k->panicked || fiber_done(&k->fib)) {
        k->st = KC_DONE;
        k->sh.done = true;
        orr_workload_done(k->c);
    }
}

static void blk_shared_free(void *p);

static void kernel_shared_fini(void *p)
{
    struct kernel_shared *ks = p;
    kthreads_free(ks->kt);
    if (ks->blk)
        blk_shared_free(ks->blk);
    free(ks->aCore);
    free(ks->drv);
}

static int kcore_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct kcore *k = c->state;
    k->c = c;
    struct pcache_ops ops = {on_done, on_wake};
    int rc = core_shell_create(&k->sh, c, p, &ops, k, K_STEP, K_DEADLOCK, d);
    if (rc)
        return rc;
    unsigned ncpu = (unsigned)orr_param_u64(p, "ncpu"), id = (unsigned)orr_param_u64(p, "cpu");
    if (id >= ncpu) {
        orr_diag_error(d, orr_param_mark(p, "cpu"), c->keypath, "cpu %u of %u kernel CPUs", id,
                       ncpu);
        return ORR_ESCHEMA;
    }
    if ((rc = orr_params_copy(&k->kp, orr_param_group(p, "kernel"))))
        return rc;
    k->node = (unsigned)orr_param_u64(p, "node");
    k->mem_nodes = (unsigned)orr_param_u64(p, "mem_nodes");
    k->mem_nodes = k->mem_nodes < KC_MAX_NODES ? k->mem_nodes : KC_MAX_NODES;
    k->node_bytes = orr_param_u64(p, "node_bytes");
    const char *ds = orr_param_str(p, "distances");
    for (unsigned a = 0; a < KC_MAX_NODES; a++)
        for (unsigned b = 0; b < KC_MAX_NODES; b++)
            k->aDist[a][b] = a == b ? 10 : 20;
    for (unsigned i = 0; ds && i < k->mem_nodes * k->mem_nodes; i++) {
        char *end;
        unsigned long v = strtoul(ds, &end, 10);
        if (end == ds)
            break;
        k->aDist[i / k->mem_nodes][i % k->mem_nodes] = (uint8_t)(v < 255 ? v : 255);
        ds = end;
    }
    size_t nsuite = 0;
    const char *const *suites = orr_param_list(&k->kp, "selftest", &nsuite);
    for (size_t i = 0; i < nsuite; i++)
        if (!suite_find(suites[i])) { /* the machine checks this for `kernel:` */
            orr_diag_error(d, orr_param_mark(p, "kernel"), c->keypath,
                           "kernel.selftest: no selftest suite '%s'", suites[i]);
            return ORR_ESCHEMA;
        }
    k->k = orr_sim_shared_state(c, "kernel", sizeof *k->k, kernel_shared_fini);
    if (!k->k)
        return ORR_ENOMEM;
    struct platform *plat = &k->k->plat;
    if (!plat->ncpu) {
        static const struct platform_tracepoint tps[] = {{SCHED_TP_SWITCH, "sched_switch"},
                                                         {SCHED_TP_WAKEUP, "sched_wakeup"},
                                                         {MM_TP_FAULT, "mm_fault"},
                                                         {MM_TP_SHOOTDOWN, "tlb_shootdown"}};
        plat->ncpu = ncpu;
        plat->nTp = sizeof tps / sizeof tps[0];
        for (unsigned i = 0; i < plat->nTp; i++) {
            plat->aTp[i] = tps[i];
            plat->aKind[i] = orr_trace_kind(c, tps[i].name);
        }
    } else if (plat->ncpu != ncpu) {
        orr_diag_error(d, orr_param_mark(p, "ncpu"), c->keypath,
                       "ncpu %u, but another kernel CPU says %u", ncpu, plat->ncpu);
        return ORR_ESCHEMA;
    }
    k->cpu = (struct hal_cpu){.plat = plat, .id = id, .irq_on = true, .ops = &kc_ops, .host = k};
    if (!k->k->aCore && !(k->k->aCore = calloc(ncpu, sizeof *k->k->aCore)))
        return ORR_ENOMEM;
    k->k->aCore[id] = k;
    k->irq_cost = (uint32_t)orr_param_u64(&k->kp, "irq_cost");
    k->relax = (uint32_t)orr_param_u64(&k->kp, "relax");
    k->cost_jitter = (uint32_t)orr_param_u64(&k->kp, "cost_jitter");
    const struct orr_params *tlb = orr_param_group(&k->kp, "tlb");
    bool oom = false;
    unsigned ways = (unsigned)orr_param_u64(tlb, "ways"), l2 = (unsigned)orr_param_u64(tlb, "l2_entries"),
             l2ways = (unsigned)orr_param_u64(tlb, "l2_ways");
    if (mmu_tlb_init(&k->tlb, (unsigned)orr_param_u64(tlb, "entries") / ways, ways, &oom) ||
        (l2 && mmu_tlb_init(&k->tlb2, l2 / l2ways, l2ways, &oom))) {
        if (oom)
            return ORR_ENOMEM;
        orr_diag_error(d, orr_param_mark(p, "kernel"), c->keypath,
                       "kernel.tlb: entries must be sets x ways, sets a power of two");
        return ORR_ESCHEMA;
    }
    k->percpu = orr_param_u64(&k->kp, "percpu");
    k->percpu_base = kcore_percpu_base(&k->kp, ncpu);
    k->tlb2_latency = (uint32_t)orr_param_u64(tlb, "l2_latency");
    k->walk_cost = (uint32_t)orr_param_u64(tlb, "walk_cost");
    k->irq = orr_port_add(c, "irq");
    k->pcie = orr_port_add(c, "pcie");
    k->ndev = (unsigned)orr_param_u64(p, "pcie_devices");
    k->bar_base = orr_param_u64(p, "pcie_bar_base");
    k->bar_size = orr_param_u64(p, "pcie_bar_size");
    k->mmio_cost = (uint32_t)orr_param_u64(&k->kp, "mmio_cost");
    k->dev_irqs = orr_counter_new(c, "kern.dev_irqs", "irq");
    k->dma_faults = orr_counter_new(c, "kern.dma_faults", "fault");
    k->devirqs_dropped = orr_counter_new(c, "kern.devirqs_dropped", "irq");
    k->mmio_reads = orr_counter_new(c, "kern.mmio_reads", "access");
    k->mmio_writes = orr_counter_new(c, "kern.mmio_writes", "access");
    if (!fiber_init(&k->fib, kc_main, k, FIBER_STACK_DEFAULT))
        return ORR_ENOMEM;
    k->cur = &k->fib;
    k->accesses = orr_counter_new(c, "kern.accesses", "access");
    k->stall = orr_counter_new(c, "kern.access_stall", "ps");
    k->cost = orr_counter_new(c, "kern.cost_cycles", "cy");
    k->relaxed = orr_counter_new(c, "kern.relax_cycles", "cy");
    k->idle = orr_counter_new(c, "kern.idle", "ps");
    k->allocs_failed = orr_counter_new(c, "kern.allocs_failed", "alloc");
    k->timer_irqs = orr_counter_new(c, "kern.timer_irqs", "irq");
    k->ipis_in = orr_counter_new(c, "kern.ipis_in", "irq");
    k->ipis_out = orr_counter_new(c, "kern.ipis_out", "ipi");
    k->ipis_dropped = orr_counter_new(c, "kern.ipis_dropped", "ipi");
    k->spurious = orr_counter_new(c, "kern.spurious_irqs", "irq");
    k->stalled = orr_counter_new(c, "kern.stalled", "ps");
    k->busy = orr_value_new(c, "kern.busy", "ps");
    k->switches = orr_counter_new(c, "kern.ctx_switches", "");
    k->percpu_violations = orr_counter_new(c, "kern.percpu_violations", "access");
    k->tlb_hits = orr_counter_new(c, "mmu.tlb_hits", "access");
    k->tlb2_hits = orr_counter_new(c, "mmu.tlb2_hits", "access");
    k->tlb_misses = orr_counter_new(c, "mmu.tlb_misses", "access");
    k->walk_loads = orr_counter_new(c, "mmu.walk_loads", "access");
    k->page_faults = orr_counter_new(c, "mmu.page_faults", "fault");
    k->tlb_flushes = orr_counter_new(c, "mmu.tlb_flushes", "");
    k->tlb_dropped = orr_counter_new(c, "mmu.tlb_dropped", "entry");
    static const char *const subs[] = KC_SUB_NAMES;
    for (unsigned i = 0; i < KS_N; i++) {
        char m[48];
        snprintf(m, sizeof m, "sub.%s.time", subs[i]);
        k->aSub[i].time = orr_counter_new(c, m, "ps");
        snprintf(m, sizeof m, "sub.%s.accesses", subs[i]);
        k->aSub[i].accesses = orr_counter_new(c, m, "access");
        snprintf(m, sizeof m, "sub.%s.misses", subs[i]);
        k->aSub[i].misses = orr_counter_new(c, m, "access");
        snprintf(m, sizeof m, "sub.%s.stall", subs[i]);
        k->aSub[i].stall = orr_counter_new(c, m, "ps");
    }
    if (id == 0 && blk_cfg_of(&k->kp).jobs && !k->k->blk)
        k->k->blk = blk_shared_new(&k->kp);
    if (id == 0 && orr_param_map(&k->kp, "tasks") && orr_param_map(&k->kp, "tasks")->n)
        return kthreads_create(k, ncpu, d);
    return 0;
}

static int kcore_start(struct orr_component *c, struct orr_diag *d)
{
    struct kcore *k = c->state;
    if (core_shell_check_linked(&k->sh, d))
        return ORR_ESCHEMA;
    if (!orr_port_peer(k->irq)) {
        orr_diag_error(d, &c->mark, c->keypath, "port 'irq' is not linked (an intc's cpu%u)",
                       k->cpu.id);
        return ORR_ESCHEMA;
    }
    if (blk_check_device(k, d) ||
        (k->cpu.id == 0 && kernel_check_driver_devices(c, &k->kp, d)))
        return ORR_ESCHEMA;
    orr_time_t jitter = orr_param_u64(&k->kp, "start_jitter");
    k->st = KC_WAIT_STEP;
    k->sh.step_pending = true;
    orr_timer(c, jitter ? orr_rng_below(&c->rng, jitter + 1) : 0, K_STEP, 0, 0);
    core_shell_arm_deadlock(&k->sh);
    return 0;
}

/* An interrupt for kern_ipi arrived (from the controller or a fault). */
static void kc_queue_ipi(struct kcore *k, uint32_t reason)
{
    if (k->nIpi == KC_IPI_QUEUE) {
        k->ipis_dropped->v++;
        return;
    }
    k->aIpi[(k->ipiHead + k->nIpi++) % KC_IPI_QUEUE] = reason;
    k->sh.run_pending = true;
}

static void kcore_fault(struct orr_component *c, unsigned fault, const struct orr_params *p)
{
    struct kcore *k = c->state;
    if (k->st == KC_DONE)
        return;
    if (fault == F_STALL) {
        orr_time_t now = orr_now(c->sim), until = now + orr_param_u64(p, "duration");
        if (until > k->stall_until) {
            k->stalled->v += until - (k->stall_until > now ? k->stall_until : now);
            k->stall_until = until;
        }
        return;
    }
    if (fault == F_ALLOC) { /* taken at the CPU's next allocations, whenever they come */
        k->alloc_fail += orr_param_u64(p, "count");
        return;
    }
    if (fault >= F_DRV_WILD && fault <= F_DRV_IOMMU) { /* at the next driver entries */
        k->drv_fault[DRV_F_WILD_WRITE + (fault - F_DRV_WILD)] += orr_param_u64(p, "count");
        return;
    }
    if (fault == F_STRAY) {
        k->stray_to = (unsigned)orr_param_u64(p, "cpu") + 1;
        k->sh.run_pending = true;
    } else if (fault == F_PANIC) {
        snprintf(k->inject_panic, sizeof k->inject_panic, "%s", orr_param_str(p, "message"));
        k->sh.run_pending = true;
    } else if (fault == F_SPURIOUS && orr_param_enum(p, "kind") == 1) {
        k->spurious_timer = true;
        k->sh.run_pending = true;
    } else {
        kc_queue_ipi(k, HAL_IPI_SPURIOUS);
        uint64_t left = fault == F_STORM ? orr_param_u64(p, "count") - 1 : 0;
        if (left)
            orr_timer(c, orr_param_u64(p, "interval"), K_STORM, left, orr_param_u64(p, "interval"));
    }
    if (k->sh.run_pending)
        kc_run(k);
}

/* A device interrupt from the controller (MSI-X or an IOMMU fault). */
static void kc_queue_devirq(struct kcore *k, uint64_t w0, uint64_t w1)
{
    if (k->nDevIrq == KC_IPI_QUEUE) {
        k->devirqs_dropped->v++;
        return;
    }
    k->aDevIrq[(k->devIrqHead + k->nDevIrq++) % KC_IPI_QUEUE] = (struct kc_devirq){w0, w1};
    k->sh.run_pending = true;
}

/* A stray_write must name a kernel CPU that exists. */
static int kcore_fault_check(struct orr_component *c, unsigned fault, const struct orr_params *p,
                             const struct orr_mark *mark, struct orr_diag *d)
{
    struct kcore *k = c->state;
    if (fault == F_STRAY && orr_param_u64(p, "cpu") >= k->k->plat.ncpu) {
        orr_diag_error(d, mark, c->keypath, "stray_write: cpu %llu, but the kernel has %u CPUs",
                       (unsigned long long)orr_param_u64(p, "cpu"), k->k->plat.ncpu);
        return ORR_ESCHEMA;
    }
    return 0;
}

static void kcore_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct kcore *k = c->state;
    if (ev->port == k->irq->index && (ev->kind == ORR_TK_MSG || ev->kind == ORR_TK_READY)) {
        if (ev->kind == ORR_TK_READY)
            orr_outq_drain(&k->irq_out, k->irq);
        else if (irq_op_of(ev->data[0]) == IRQ_OP_IPI)
            kc_queue_ipi(k, (uint32_t)ev->data[1]);
        else if (k->st != KC_DONE)
            kc_queue_devirq(k, ev->data[0], ev->data[1]);
    } else if (ev->port == k->pcie->index &&
               (ev->kind == ORR_TK_MSG || ev->kind == ORR_TK_READY)) {
        if (ev->kind == ORR_TK_READY) {
            orr_outq_drain(&k->pcie_out, k->pcie);
        } else { /* the answer to the one MMIO read or IOMMU command in flight */
            k->value = ev->data[1];
            k->mem_done = true;
            k->sh.run_pending = true;
        }
    } else {
        enum core_event e = core_shell_event(&k->sh, ev);
        if (e == CORE_EV_STOP)
            return;
        if (e == CORE_EV_OTHER && ev->kind == ORR_TK_TIMER && ev->port == K_TIMER)
            if (ev->data[0] == k->cpu.timer_gen && k->cpu.timer_armed)
                k->sh.run_pending = true;
        if (e == CORE_EV_OTHER && ev->kind == ORR_TK_TIMER && ev->port == K_BUSY)
            if (ev->data[0] == k->busy_gen && k->st == KC_BUSY)
                k->sh.run_pending = true;
        if (e == CORE_EV_OTHER && ev->kind == ORR_TK_TIMER && ev->port == K_TWAKE &&
            k->st != KC_DONE)
            kc_queue_wake(k, (uint32_t)ev->data[0]);
        if (e == CORE_EV_OTHER && ev->kind == ORR_TK_TIMER && ev->port == K_STORM &&
            k->st != KC_DONE) {
            kc_queue_ipi(k, HAL_IPI_SPURIOUS);
            if (ev->data[0] > 1)
                orr_timer(c, ev->data[1], K_STORM, ev->data[0] - 1, ev->data[1]);
        }
    }
    if (k->sh.run_pending)
        kc_run(k);
}

static void kcore_finish(struct orr_component *c)
{
    struct kcore *k = c->state;
    k->busy->v = (double)(k->st == KC_DONE ? k->end : k->sh.local);
    if (k->st != KC_DONE) { /* the stretch still open at the end of the run */
        orr_time_t now = orr_now(c->sim), end = k->sh.local > now ? k->sh.local : now;
        k->aSub[k->sub].time->v += end - k->sub_since;
    }
    if (k->cpu.id == 0 && k->k->kt)
        kthreads_finish(k);
    kc_tlb_check(k);
}

static void kcore_destroy(struct orr_component *c)
{
    struct kcore *k = c->state;
    fiber_free(&k->fib);
    mmu_tlb_free(&k->tlb);
    mmu_tlb_free(&k->tlb2);
    free(k->wakes.a);
    core_shell_free(&k->sh);
    orr_outq_free(&k->irq_out);
    orr_outq_free(&k->pcie_out);
    orr_params_free(&k->kp);
}

unsigned kcore_cpu(const struct orr_component *c)
{
    return ((const struct kcore *)c->state)->cpu.id;
}

static const char *kcore_output(const struct orr_component *c, size_t *len)
{
    const struct kcore *k = c->state;
    if (k->cpu.id != 0 || !k->k || !k->k->plat.nConsole)
        return NULL;
    *len = k->k->plat.nConsole;
    return k->k->plat.aConsole;
}

const struct orr_component_type orr_kcore_type = {
    .name = "kcore",
    .summary = "a core running the reference kernel natively on a fiber, its shared accesses "
               "through private coherent caches",
    .params = kcore_params,
    .ports = kcore_ports,
    .metrics = kcore_metrics,
    .faults = kcore_faults,
    .state_size = sizeof(struct kcore),
    .workload = true,
    .create = kcore_create,
    .start = kcore_start,
    .handle = kcore_handle,
    .fault = kcore_fault,
    .fault_check = kcore_fault_check,
    .finish = kcore_finish,
    .destroy = kcore_destroy,
    .output = kcore_output,
    .no_checkpoint = "kernel CPUs run host C on fibers, whose stacks hold host pointers",
};
