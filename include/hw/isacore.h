/* isacore: a core that executes a guest program (a static riscv64 or
 * aarch64 ELF) with Unicorn, its memory traffic timed by a private
 * coherent cache hierarchy (include/hw/pcache.h) and an L1I model.
 * docs/isa.md describes the execution model, syscalls and limits. */
#ifndef HW_ISA_ISACORE_H
#define HW_ISA_ISACORE_H

#include <stddef.h>
#include <stdint.h>

#include "orrery/sim.h"

/* The bytes the guest on c wrote to fd 1 and 2, in order (NULL, 0 for a
 * component that is not an isacore). Valid until the simulation is
 * destroyed. Also in the trace as `guest_write` points. */
const char *isacore_output(const struct orr_component *c, size_t *n);


/* The keys a `machine.workloads` entry with `elf:` may carry besides
 * `cores` (docs/machine.md); isacore accepts them too. Rows of a param
 * table, for the builder to validate an entry where its key paths are the
 * user's. */
#define ISACORE_WORKLOAD_PARAMS                                                                   \
    {"elf", ORR_P_STRING, NULL, ORR_PF_NONEMPTY,                                                  \
     "the guest: a static ELF (relative to the scenario file, else the orrery executable)"},      \
    {"arch", ORR_P_ENUM, NULL, 0, "the guest's architecture", isa_arch_names},                    \
    {"ram", ORR_P_SIZE, "64MiB", ORR_PF_POSITIVE, "guest RAM at physical 0, shared by every "     \
                                                  "isacore of the run"},                          \
    {"stack", ORR_P_SIZE, "64KiB", ORR_PF_POSITIVE, "each core's stack, carved from the top of "  \
                                                    "RAM by core index"},                         \
    {"cpi", ORR_P_STRING, "1", 0, "cycles per instruction besides memory stalls (e.g. 0.5, 1.25)"},\
    {"timing", ORR_P_BOOL, "true", 0, "false: functional mode, no cache or fetch timing"},          \
    {"l1i_size", ORR_P_SIZE, "32KiB", ORR_PF_POSITIVE, "L1 instruction cache (a tag filter)"},    \
    {"l1i_ways", ORR_P_UINT, "8", ORR_PF_POSITIVE, "L1I associativity", NULL, 1, 64},             \
    {"syscall_latency", ORR_P_TIME, "230ns", 0, "time a syscall costs the core (REFERENCES.md: "  \
                                                "null syscall with KPTI)"},                       \
    {"max_instructions", ORR_P_UINT, "0", 0, "stop the core after this many instructions; 0 = "   \
                                             "no limit"},                                         \
    {"unknown_syscall", ORR_P_ENUM, "enosys", 0, "enosys: return -ENOSYS and count it; fail: "    \
                                                 "fail the run", isacore_unknown_names},          \
    {"futex_poll", ORR_P_TIME, "100ns", ORR_PF_POSITIVE, "a futex waiter's first poll interval "  \
                                                         "(doubles up to 64x)"},                  \
    {"output_limit", ORR_P_SIZE, "64KiB", 0, "guest output kept per core; the rest is counted "   \
                                             "in output_dropped"}

extern const char *const isa_arch_names[];
extern const char *const isacore_unknown_names[];

#endif
