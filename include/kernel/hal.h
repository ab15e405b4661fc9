/* The reference kernel's one door to the world (DESIGN.md §7).
 *
 * Everything the kernel needs from hardware goes through these functions,
 * grouped by concern. There are two kinds of implementation, chosen at
 * build time by what is linked, never by #ifdef in kernel logic:
 *   - hw/platform/: the simulated machine; time is simulated time, costs are
 *     charged to the simulated CPU;
 *   - kernel/arch/<arch>/: a real (or QEMU) machine, freestanding.
 * The same kernel sources and the same kernel selftests run on both.
 *
 * Context. Every call names the CPU it is made on (`struct hal_cpu *`, opaque
 * to the kernel; the platform's per-CPU record). The kernel receives it in
 * each upcall (kern_* below) and passes it back; there is no hidden "current
 * CPU". Calls are not reentrant across CPUs unless a contract says so.
 *
 * Time is in nanoseconds since boot (hal_ns_t). The simulated platform
 * rounds simulated picoseconds down; a real platform reads its clock.
 *
 * Nothing here allocates; nothing here may fail silently: a function that
 * can fail returns a negative HAL_E* code and documents when. */
#ifndef KERNEL_HAL_H
#define KERNEL_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t hal_ns_t;
typedef uint64_t hal_paddr_t;

struct hal_cpu; /* per-CPU platform context */

enum hal_err {
    HAL_OK = 0,
    HAL_EINVAL = -1,  /* an argument out of range */
    HAL_ENOTSUP = -2, /* this platform does not provide the function (yet) */
    HAL_EBUSY = -3,   /* try again later */
    HAL_EFAULT = -4,  /* an access the platform refused (DMA permission, MMIO) */
};

/* --- identity -------------------------------------------------------------
 * hal_cpu_id: this CPU's index, 0 <= id < hal_cpu_count. Stable for the run.
 * hal_cpu_count: CPUs present (the same on every CPU). */
unsigned hal_cpu_id(const struct hal_cpu *c);
unsigned hal_cpu_count(const struct hal_cpu *c);

/* --- the kernel's own per-CPU record ----------------------------------------
 * The kernel keeps no global state. At boot it registers, on each CPU, the
 * record it wants back, and finds it again in every upcall with
 * hal_kernel_data (NULL before registration). */
void hal_set_kernel_data(struct hal_cpu *c, void *kdata);
void *hal_kernel_data(const struct hal_cpu *c);

/* --- time and timers ------------------------------------------------------
 * hal_now: monotonic ns since boot; never decreases on a CPU, and is the
 * same on every CPU at the same instant.
 * hal_timer_set: arm this CPU's one-shot timer for absolute time `when`
 * (replacing any armed one). At or after `when` the platform calls
 * kern_timer(c) on this CPU; a `when` in the past fires as soon as possible.
 * hal_timer_cancel: disarm; no kern_timer follows. */
hal_ns_t hal_now(const struct hal_cpu *c);
void hal_timer_set(struct hal_cpu *c, hal_ns_t when);
void hal_timer_cancel(struct hal_cpu *c);

/* --- interrupts and IPIs --------------------------------------------------
 * hal_irq_disable returns whether interrupts were enabled; hal_irq_restore
 * puts that state back. While disabled, no kern_* upcall runs on this CPU.
 * hal_ipi_send: ask CPU `target` to run kern_ipi(target_ctx, reason) soon
 * (after the platform's IPI latency). Sending to oneself is allowed. */
bool hal_irq_disable(struct hal_cpu *c);
void hal_irq_restore(struct hal_cpu *c, bool was_enabled);
void hal_ipi_send(struct hal_cpu *c, unsigned target, uint32_t reason);

/* --- physical memory and MMIO ---------------------------------------------
 * Loads and stores of 1, 2, 4 or 8 bytes at physical address pa, naturally
 * aligned; through the memory hierarchy on the simulated platform.
 * HAL_EFAULT if pa is not backed. MMIO uses the same calls. */
int hal_load(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t *out);
int hal_store(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t value);

/* --- DMA ------------------------------------------------------------------
 * hal_dma_map: make [pa, pa+len) reachable by device `dev` (through the
 * IOMMU where there is one); *bus is the address the device uses.
 * hal_dma_unmap: revoke it; later device accesses fault. */
int hal_dma_map(struct hal_cpu *c, uint32_t dev, hal_paddr_t pa, size_t len, bool write,
                uint64_t *bus);
int hal_dma_unmap(struct hal_cpu *c, uint32_t dev, uint64_t bus, size_t len);

/* --- network (stubbed: HAL_ENOTSUP until the fabric issue lands) ----------
 * hal_net_post: hand a work request to the NIC; hal_net_poll: take up to n
 * completions. */
int hal_net_post(struct hal_cpu *c, uint32_t qp, const void *wr, size_t len);
int hal_net_poll(struct hal_cpu *c, uint32_t cq, void *out, size_t n);

/* --- trace ----------------------------------------------------------------
 * hal_trace: record kernel tracepoint `point` (enum kern_tracepoint in the
 * subsystem's header) with two arguments, stamped with time and CPU. On the
 * simulated platform it becomes a trace record (and part of the digest). */
void hal_trace(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b);

/* --- cost annotation ------------------------------------------------------
 * hal_cost: this CPU just did kernel work worth `cycles` CPU cycles (the
 * subsystem's own estimate of the operation). The simulated platform charges
 * it to the CPU's time; a real platform ignores it (the cost is real). */
void hal_cost(struct hal_cpu *c, uint32_t cycles);

/* --- console and panic ----------------------------------------------------
 * hal_console_write: bytes for a human (UART, or the simulator's log).
 * hal_panic: the kernel found an invariant broken; never returns. */
void hal_console_write(struct hal_cpu *c, const char *s, size_t n);
__attribute__((noreturn)) void hal_panic(struct hal_cpu *c, const char *why);

/* --- upcalls: what the platform calls in the kernel -----------------------
 * Called by the platform on the CPU concerned, with interrupts disabled for
 * the duration. On a real target the kernel image defines these two symbols
 * (kernel/arch/<arch>/ dispatches traps to them). On the simulated platform
 * each model that hosts the kernel names the kernel functions to call
 * (platform_init), so several kernel configurations can coexist in one
 * simulation; the signatures are the same. */
void kern_timer(struct hal_cpu *c);                   /* the armed timer fired */
void kern_ipi(struct hal_cpu *c, uint32_t reason);    /* an IPI arrived */

#endif
