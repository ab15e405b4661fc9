/* The reference kernel on the modelled machine (docs/kernel-platform.md):
 * the keys of a scenario's `kernel:` section, declared once for the
 * machine builder (which builds the cores the kernel claims as kernel
 * CPUs, `kcore`, and hands each these values) and the kernel builder
 * (which adds the interrupt controller and checks there is a machine). */
#ifndef HW_KCORE_H
#define HW_KCORE_H

#include "orrery/params.h"
#include "orrery/sim.h"

/* cpus, selftest, sync_bench, vm_bench, mm_bench, page_memory, tlb, sched, tasks, memory, percpu,
 * relax, irq_cost, ipi_latency, start_jitter, cost_jitter (kcore.c) */
extern const struct orr_param kernel_params[];

/* Every name in kernel.selftest (the section's node, may be NULL) is a
 * suite of the kernel's (ktest_suites): 0, or ORR_ESCHEMA with each
 * unknown name reported at its position. */
int kernel_check_selftests(const struct orr_node *list, const char *keypath,
                           struct orr_diag *d);

/* kernel.tlb's geometry (entries = sets x ways, sets a power of two, for
 * each level), kernel.percpu and `threads` kernel threads' switch frames,
 * and kernel.vm_bench against the kernel's `ncpu` CPUs and its memory: 0,
 * or ORR_ESCHEMA with each error reported at its key. */
int kernel_check_vm(const struct orr_params *kern, unsigned ncpu, uint64_t threads,
                    struct orr_diag *d);

/* kernel.page_memory against the machine's `sockets` memory nodes of
 * `node_bytes` each, and kernel.mm_bench (its CPUs, its policy's nodes,
 * batch <= high): 0, or ORR_ESCHEMA with each error at its key. */
int kernel_check_mm(const struct orr_params *kern, unsigned ncpu, unsigned sockets,
                    uint64_t node_bytes, struct orr_diag *d);

/* kernel.rcu_bench against the kernel's CPUs and the room its table
 * needs in kernel memory: 0, or ORR_ESCHEMA at the key. */
int kernel_check_rcu(const struct orr_params *kern, unsigned ncpu, struct orr_diag *d);

/* kernel.ring_bench: capacity a power of two that fits its memory, batch
 * within it, its CPUs the kernel's: 0, or ORR_ESCHEMA at the key. */
int kernel_check_ring(const struct orr_params *kern, unsigned ncpu, struct orr_diag *d);

/* kernel.block_bench: its jobs the kernel's CPUs, whole blocks, a bounded
 * verify set, its memory within a quarter of kernel memory, a machine with
 * pcie: 0, or ORR_ESCHEMA at the key. (The device's own limits are
 * checked when the CPUs start, once the device exists.) */
int kernel_check_blk(const struct orr_params *kern, unsigned ncpu, bool pcie, struct orr_diag *d);
/* kernel.drivers and kernel.driver_load (hw/platform/kdrivers.c): the
 * driver names, tiers, devices and CPUs against the machine (`ndev` root
 * complex ports, 0 without one; `iommu` whether it has an IOMMU) and the
 * region against kernel memory: 0, or ORR_ESCHEMA at the key. */
int kernel_check_drivers(const struct orr_params *kern, unsigned ncpu, unsigned ndev, bool iommu,
                         struct orr_diag *d);
/* At start: each driver's device is linked to the root complex and of the
 * type the driver drives. */
int kernel_check_driver_devices(const struct orr_component *c, const struct orr_params *kern,
                                struct orr_diag *d);
extern const struct orr_param kdrv_entry_params[];
extern const struct orr_param kdrv_load_params[];

/* At most this many kernel threads (kernel.tasks, counting instances). */
#define KTHREAD_MAX 4096u

/* The kernel CPU number of a kcore instance. */
unsigned kcore_cpu(const struct orr_component *c);

#endif
