/* isacore: a core that executes a guest program (a static riscv64 or
 * aarch64 ELF) with Unicorn, its memory traffic timed by a private
 * coherent cache hierarchy (include/hw/pcache.h) and an L1I model.
 * docs/isa.md describes the execution model, syscalls and limits. */
#ifndef HW_ISA_ISACORE_H
#define HW_ISA_ISACORE_H

#include <stddef.h>
#include <stdint.h>

#include "orrery/params.h"
#include "orrery/sim.h"

/* The bytes the guest on c wrote to fd 1 and 2, in order (NULL, 0 for a
 * component that is not an isacore). Valid until the simulation is
 * destroyed. Also in the trace as `guest_write` points. */
const char *isacore_output(const struct orr_component *c, size_t *n);

/* The keys a `machine.workloads` entry with `elf:` may carry besides
 * `cores` (docs/machine.md), declared once: isacore includes them, and the
 * machine validates an entry against them where the key paths are the
 * user's. */
extern const struct orr_param isacore_workload_params[];

extern const char *const isa_arch_names[];
extern const char *const isacore_unknown_names[];

#endif
