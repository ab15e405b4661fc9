/* isacore: a core that executes a guest program (a static riscv64 or
 * aarch64 ELF) with Unicorn, its memory traffic timed by a private
 * coherent cache hierarchy (include/hw/pcache.h) and an L1I model.
 * docs/isa.md describes the execution model, syscalls and limits. */
#ifndef HW_ISA_ISACORE_H
#define HW_ISA_ISACORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/params.h"
#include "orrery/sim.h"

/* The bytes the guest on c wrote to fd 1 and 2, in order (NULL, 0 for a
 * component that is not an isacore). Valid until the simulation is
 * destroyed. Also in the trace as `guest_write` points. */
const char *isacore_output(const struct orr_component *c, size_t *n);

/* abi linux: what became of the process on c. False (and *st untouched)
 * for a component that is not an isacore running a Linux process. */
struct isacore_process {
    bool exited;                  /* it exited or was killed */
    int status;                   /* exit status, 128 + signal when killed */
    int signal;                   /* the killing signal, or 0 */
    const char *message;          /* why it was killed ("SIGSEGV: store to ..."), or "" */
    uint64_t syscalls, unknown;   /* calls taken; of them unimplemented */
    uint64_t threads, switches;   /* threads it ran (clone + 1); context switches */
    const uint32_t *aCount;       /* calls per number, nCount entries */
    const uint32_t *aUnknown;     /* unimplemented calls per number */
    size_t nCount;
    const char *out[2];           /* what it wrote to stdout and stderr (kept bytes) */
    size_t nOut[2];
};
bool isacore_process(const struct orr_component *c, struct isacore_process *st);
/* The name of Linux syscall nr, or NULL (the reference kernel's table). */
const char *isacore_syscall_name(uint64_t nr);

/* The keys a `machine.workloads` entry with `elf:` may carry besides
 * `cores` (docs/machine.md), declared once: isacore includes them, and the
 * machine validates an entry against them where the key paths are the
 * user's. */
extern const struct orr_param isacore_workload_params[];

extern const char *const isa_arch_names[];
extern const char *const isacore_unknown_names[];

#endif
