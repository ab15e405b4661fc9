/* The reference kernel's one door to the world (DESIGN.md §7).
 *
 * Everything the kernel needs from hardware goes through these functions,
 * grouped by concern. There are two kinds of implementation, chosen at
 * build time by what is linked, never by #ifdef in kernel logic:
 *   - hw/platform/: the simulated machine; time is simulated time, costs are
 *     charged to the simulated CPU;
 *   - kernel/arch/<arch>/: a real (or QEMU) machine, freestanding.
 * The same kernel sources and the same kernel selftests run on both. A
 * backend may leave out the groups it does not have (physical memory and
 * its atomics, DMA, the network): kernel/lib/hal_none.c defines each of
 * those calls once, weakly (HAL_ENOTSUP; hal_fence and hal_relax do
 * nothing), and a backend's own definition replaces it.
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
 * (after the platform's IPI latency). Sending to oneself is allowed.
 * hal_idle: wait for an interrupt (x86 HLT, RISC-V WFI). Called with
 * interrupts enabled, it returns after an upcall ran or when one is
 * pending; it may also return early, so callers loop on their own
 * condition. On the simulated machine an idle CPU costs no events. */
bool hal_irq_disable(struct hal_cpu *c);
void hal_irq_restore(struct hal_cpu *c, bool was_enabled);
void hal_ipi_send(struct hal_cpu *c, unsigned target, uint32_t reason);
void hal_idle(struct hal_cpu *c);

/* --- physical memory and MMIO ---------------------------------------------
 * Loads and stores of 1, 2, 4 or 8 bytes at physical address pa, naturally
 * aligned; through the memory hierarchy on the simulated platform.
 * HAL_EFAULT if pa is not backed. MMIO uses the same calls.
 *
 * These are the accessors for data other CPUs (or devices) read and write,
 * in the spirit of READ_ONCE/WRITE_ONCE and atomic_t: each access is
 * single-copy atomic and goes through this CPU's caches, so it costs what
 * the coherence protocol makes it cost, and on the simulated machine each
 * is a point where another CPU may run. A CPU's own private data (its
 * stack, its per-CPU area) is plain C and must not be touched by another
 * CPU (docs/kernel-platform.md). On the simulated machine a CPU's accesses
 * perform in program order (each before the next starts), which is at
 * least as strong as x86-TSO; a real target gives its own model, so code
 * orders what it needs with hal_fence and the atomics.
 *
 * hal_atomic: one read-modify-write of 4 or 8 bytes at pa, naturally
 * aligned, atomic with respect to every CPU: CAS stores value if the old
 * value equals expect, FAA adds value, XCHG stores value; *old gets the
 * value before (may be NULL). A full fence, as x86's locked instructions.
 * hal_fence: every earlier access of this CPU is performed before any
 * later one starts.
 * hal_relax: the CPU is spinning (x86 PAUSE, Arm YIELD): a hint that costs
 * a few cycles; spin loops call it once per iteration.
 * hal_mem_region: physical memory the kernel may use for its own data, in
 * [*base, *base + *size); HAL_ENOTSUP where the platform gives none.
 * hal_percpu_area: this CPU's per-CPU area, [*base, *base + *size) inside
 * that region: data only this CPU touches (the simulated machine fails the
 * run when another CPU does); HAL_ENOTSUP where the platform has none. */
int hal_load(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t *out);
int hal_store(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t value);
enum hal_atomic_op { HAL_ATOMIC_CAS = 1, HAL_ATOMIC_FAA = 2, HAL_ATOMIC_XCHG = 3 };
int hal_atomic(struct hal_cpu *c, enum hal_atomic_op op, hal_paddr_t pa, unsigned size,
               uint64_t value, uint64_t expect, uint64_t *old);
void hal_fence(struct hal_cpu *c);
void hal_relax(struct hal_cpu *c);
int hal_mem_region(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size);
int hal_percpu_area(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size);

/* --- the memory map: NUMA nodes -------------------------------------------
 * hal_mem_node: the physical memory of NUMA node `node` the kernel's page
 * allocator may manage, [*base, *base + *size) (4 KiB-aligned; *size may be
 * 0: a node without such memory); nodes are numbered 0, 1, ... with no
 * gaps: HAL_EINVAL past the last one, HAL_ENOTSUP where the platform gives
 * none. It never overlaps hal_mem_region.
 * hal_cpu_node: the node this CPU belongs to (0 where there is one node).
 * hal_numa_distance: the SLIT distance from node a to node b (10 for a
 * node to itself; about 10 x the relative latency otherwise). */
int hal_mem_node(struct hal_cpu *c, unsigned node, hal_paddr_t *base, uint64_t *size);
unsigned hal_cpu_node(const struct hal_cpu *c);
unsigned hal_numa_distance(const struct hal_cpu *c, unsigned a, unsigned b);

/* --- virtual memory: page tables, the TLB, page faults ----------------------
 * Page tables are the kernel's own data in physical memory, written with
 * hal_store, in the RISC-V Sv48 format: four levels of 512 8-byte PTEs, a
 * 4 KiB table each, virtual addresses of 48 bits sign-extended to 64. A
 * PTE is valid with HAL_PTE_V; with none of R, W, X it points to the next
 * level's table, else it is a leaf: at level 0 a 4 KiB page, at level 1 a
 * 2 MiB page, at level 2 a 1 GiB page (its physical address aligned to
 * its size). The physical page number sits at bit HAL_PTE_PPN_SHIFT
 * (pa >> 12 << 10). The MMU never writes PTEs: an access to a page with A
 * clear, or a write to one with D clear, faults (RISC-V's Svade), so the
 * kernel sets A and D when it maps what it wants accessed and written.
 *
 * hal_mmu_set_root: translate this CPU's virtual accesses through the
 * tables at root (a 4 KiB-aligned physical address; 0: no translation,
 * virtual = physical), with `ctx` the kernel's record of that address
 * space (hal_mmu_context gives it back, e.g. in kern_page_fault). Like a
 * write of satp, it flushes this CPU's TLB. HAL_EINVAL for a misaligned
 * root.
 * hal_tlb_flush: drop this CPU's cached translations of [va, va + len)
 * (len 0: all of them); only this CPU's: another CPU's TLB is flushed by
 * that CPU (a shootdown: an IPI asking it to). Until then a CPU may go on
 * using a translation the tables no longer hold.
 * hal_vload, hal_vstore, hal_vatomic: hal_load, hal_store and hal_atomic
 * at a virtual address. A TLB miss walks the tables through this CPU's
 * caches; an access the tables do not allow calls kern_page_fault, and
 * when that returns 0 (it mapped the page) the access is tried again;
 * otherwise, or after HAL_VM_MAX_FAULTS faults, it returns HAL_EFAULT.
 * The simulated machine provides these; elsewhere HAL_ENOTSUP. */
#define HAL_PAGE_SHIFT 12
#define HAL_PAGE_SIZE 4096u
#define HAL_PT_LEVELS 4
#define HAL_PT_ENTRIES 512u
#define HAL_PTE_V (1u << 0)
#define HAL_PTE_R (1u << 1)
#define HAL_PTE_W (1u << 2)
#define HAL_PTE_X (1u << 3)
#define HAL_PTE_U (1u << 4)
#define HAL_PTE_G (1u << 5)
#define HAL_PTE_A (1u << 6)
#define HAL_PTE_D (1u << 7)
#define HAL_PTE_PPN_SHIFT 10
#define HAL_VM_MAX_FAULTS 3
enum hal_access { HAL_ACC_READ = 1, HAL_ACC_WRITE = 2, HAL_ACC_EXEC = 4 };

int hal_mmu_set_root(struct hal_cpu *c, hal_paddr_t root, void *ctx);
void *hal_mmu_context(const struct hal_cpu *c);
int hal_tlb_flush(struct hal_cpu *c, uint64_t va, uint64_t len);
int hal_vload(struct hal_cpu *c, uint64_t va, unsigned size, uint64_t *out);
int hal_vstore(struct hal_cpu *c, uint64_t va, unsigned size, uint64_t value);
int hal_vatomic(struct hal_cpu *c, enum hal_atomic_op op, uint64_t va, unsigned size,
                uint64_t value, uint64_t expect, uint64_t *old);

/* --- devices: MMIO, interrupts, DMA --------------------------------------
 * Devices sit behind a PCIe root complex; device `dev` is its downstream
 * port number (0, 1, ...). What a device is, the kernel learns from its
 * registers (an ID register, as PCI config space would tell).
 * hal_dev_bar: where device dev's registers are: [*bar, *bar + *size)
 * (HAL_EINVAL for a port that does not exist).
 * hal_mmio_read, hal_mmio_write: an uncached access of 1, 2, 4 or 8
 * bytes to a register; a write is posted (the CPU goes on), a read waits
 * for the device's answer (all ones when no device answers). One CPU's
 * MMIO reaches a device in program order.
 * hal_irq_route: send device interrupt `vector` (0..255) to CPU `cpu`, or
 * hold it pending while `masked` (unmasking delivers it once). Until
 * routed, vector v goes to CPU v mod ncpu, unmasked. The kernel takes it
 * in kern_irq.
 * hal_dma_map: make [pa, pa+len) reachable by device `dev` (through the
 * IOMMU where there is one; `write`: the device may write it too); *bus
 * is the address the device uses.
 * hal_dma_unmap: revoke the mappings of dev that hal_dma_map returned in
 * [bus, bus+len) (whole mappings); later device accesses there fault: the
 * DMA is refused and CPU 0 takes kern_dma_fault. hal_dma_map returns
 * HAL_EBUSY when the IOMMU's bus space or its table is full.
 * Without an IOMMU the bus address is the physical one and nothing is
 * checked. The simulated machine provides these when it has `pcie:`;
 * elsewhere HAL_ENOTSUP. */
int hal_dev_bar(struct hal_cpu *c, uint32_t dev, hal_paddr_t *bar, uint64_t *size);
int hal_mmio_read(struct hal_cpu *c, hal_paddr_t addr, unsigned size, uint64_t *out);
int hal_mmio_write(struct hal_cpu *c, hal_paddr_t addr, unsigned size, uint64_t value);
int hal_irq_route(struct hal_cpu *c, uint32_t vector, unsigned cpu, bool masked);
int hal_dma_map(struct hal_cpu *c, uint32_t dev, hal_paddr_t pa, size_t len, bool write,
                uint64_t *bus);
int hal_dma_unmap(struct hal_cpu *c, uint32_t dev, uint64_t bus, size_t len);

/* --- network: RDMA verbs ----------------------------------------------------
 * The kernel's door to an RDMA NIC (RNIC), shaped as the verbs interface:
 * queue pairs (QPs) of type RC, UC or UD, completion queues (CQs), send and
 * receive work requests (WRs) and completions (CQEs). The same numbering as
 * include/orrery/rdma.h, which the simulated platform translates to; this
 * header carries its own copy so that kernel/ stays freestanding.
 *
 * Control is asynchronous: creating a CQ or QP and connecting or destroying
 * a QP is a driver call that takes time (microseconds on a real RNIC; the
 * simulated one answers ctl_latency later, in post order). hal_net_ctl posts
 * the request and returns at once; its result comes back as a CQE on the
 * control CQ, HAL_NET_CQ_CTL (0, never a real CQ), with opcode
 * HAL_NET_WC_CTL, wr_id = the request's cookie, status HAL_NET_WC_SUCCESS
 * and `value` = the result as int64_t: the new cqn or qpn (> 0), 0 for
 * CONNECT and DESTROY_QP, or a negative enum hal_net_ctl_err.
 *
 * Completions are interrupt driven (MSI-X style, one vector per CQ): when a
 * CQE arrives on a CQ, the platform calls kern_net(c, cq) on CPU 0 after its
 * interrupt latency, unless a kern_net for that CQ is already pending (one
 * pending interrupt covers every CQE that arrived before it is delivered).
 * The handler should poll the CQ until it returns 0; a CQE left behind is
 * only announced again by a later arrival.
 *
 * All calls return a negative HAL_E* code, HAL_ENOTSUP on a platform with no
 * RNIC (the kernel sees that at the first call and runs without a network),
 * HAL_EINVAL for an argument the platform can reject without the RNIC (qp or
 * cq 0 where one is needed, n == 0, an unknown opcode, an inline length
 * above HAL_NET_MAX_INLINE). Errors the RNIC finds (a QP that does not
 * exist or is not connected, a dead peer) arrive as CQEs with a non-success
 * status, as on hardware. */
#define HAL_NET_MAX_INLINE 256u /* bytes of inline_data in a WR */
#define HAL_NET_CQE_INLINE 64u  /* received bytes a CQE also carries */
#define HAL_NET_CQ_CTL 0u       /* the control CQ: results of hal_net_ctl */

enum hal_net_qp_type { HAL_NET_QPT_RC = 1, HAL_NET_QPT_UC = 2, HAL_NET_QPT_UD = 3 };

/* WR opcodes. SEND/SEND_IMM on RC, UC, UD; WRITE/WRITE_IMM on RC, UC;
 * READ, CAS, FAA on RC only (atomics: 8 bytes, raddr 8-byte aligned). */
enum hal_net_opcode {
    HAL_NET_OP_SEND = 1,
    HAL_NET_OP_SEND_IMM,
    HAL_NET_OP_WRITE,
    HAL_NET_OP_WRITE_IMM,
    HAL_NET_OP_READ,
    HAL_NET_OP_CAS,
    HAL_NET_OP_FAA,
    HAL_NET_OP_RECV, /* hal_net_post_recv only */
};

enum hal_net_wr_flags {
    HAL_NET_F_SIGNALED = 1, /* a CQE on success too (errors always make one) */
    HAL_NET_F_INLINE = 2,   /* payload in inline_data[0..length); laddr unused */
};

/* A work request: a send WR for hal_net_post, a receive WR (laddr, length,
 * wr_id; the rest ignored) for hal_net_post_recv. laddr is a bus address
 * (hal_dma_map) of the local buffer. */
struct hal_net_wr {
    uint64_t wr_id;    /* returned in the CQE */
    uint8_t opcode;    /* enum hal_net_opcode */
    uint8_t flags;     /* enum hal_net_wr_flags */
    uint16_t reserved;
    uint32_t length;   /* bytes (atomics: 8) */
    uint64_t laddr;    /* local buffer */
    uint32_t imm;      /* SEND_IMM, WRITE_IMM: immediate data */
    uint32_t ud_node;  /* UD SEND: destination node */
    uint32_t ud_qpn;   /* UD SEND: destination QP */
    uint32_t reserved2;
    uint64_t raddr;    /* WRITE, READ, CAS, FAA: remote address */
    uint64_t compare;  /* CAS: expected value */
    uint64_t swap_add; /* CAS: new value; FAA: addend */
    uint8_t inline_data[HAL_NET_MAX_INLINE];
};

/* Completion status (ibv_wc_status); any non-success status on an RC QP
 * means the QP is in ERROR and every later WR on it is flushed. */
enum hal_net_wc_status {
    HAL_NET_WC_SUCCESS = 0,
    HAL_NET_WC_LOC_LEN_ERR,       /* a received SEND is longer than the RECV buffer */
    HAL_NET_WC_LOC_QP_OP_ERR,     /* the WR is not valid for this QP */
    HAL_NET_WC_QP_STATE_ERR,      /* the QP is not connected (INIT) */
    HAL_NET_WC_WR_FLUSH_ERR,      /* the QP is in ERROR: flushed */
    HAL_NET_WC_REM_ACCESS_ERR,    /* the responder refused the address */
    HAL_NET_WC_REM_INV_REQ_ERR,   /* the responder's QP is missing or not connected to us */
    HAL_NET_WC_RETRY_EXC_ERR,     /* RC: no ack after all retries (peer dead, link down) */
    HAL_NET_WC_RNR_RETRY_EXC_ERR, /* RC: the responder had no RECV posted, every retry */
    HAL_NET_WC_LOC_PROT_ERR,      /* DMA to local memory failed */
};

/* Completion opcodes (ibv_wc_opcode), plus the control CQ's own. */
enum hal_net_wc_opcode {
    HAL_NET_WC_SEND = 1,
    HAL_NET_WC_RDMA_WRITE,
    HAL_NET_WC_RDMA_READ,
    HAL_NET_WC_COMP_SWAP,
    HAL_NET_WC_FETCH_ADD,
    HAL_NET_WC_RECV,
    HAL_NET_WC_RECV_RDMA_WITH_IMM,
    HAL_NET_WC_CTL = 16, /* on HAL_NET_CQ_CTL: a hal_net_ctl result */
};

struct hal_net_cqe {
    uint64_t wr_id;    /* the WR's (control: the request's cookie) */
    uint32_t cqn;      /* the CQ it was polled from */
    uint32_t qpn;      /* the local QP (control: the request's qpn, or 0) */
    uint8_t status;    /* enum hal_net_wc_status */
    uint8_t opcode;    /* enum hal_net_wc_opcode */
    uint8_t has_imm;
    uint8_t reserved;
    uint32_t byte_len; /* RECV: bytes received; READ: bytes read */
    uint32_t imm;
    uint32_t src_node; /* receives: the sender's node */
    uint32_t src_qpn;  /* receives: the sender's QP */
    uint32_t reserved2;
    uint64_t value;    /* CAS/FAA: the remote word's old value; CTL: the result */
    /* Receives of at most HAL_NET_CQE_INLINE bytes also carry their data
     * here (scatter-to-CQE); it is written to the RECV buffer as well. */
    uint8_t inline_data[HAL_NET_CQE_INLINE];
};

enum hal_net_ctl_op {
    HAL_NET_CTL_CREATE_CQ = 1, /* depth -> cqn */
    HAL_NET_CTL_CREATE_QP,     /* qp_type, send_cq, recv_cq, depth -> qpn (UD: ready now) */
    HAL_NET_CTL_CONNECT,       /* qpn, remote_node, remote_qpn: RC/UC INIT -> RTS -> 0 */
    HAL_NET_CTL_DESTROY_QP,    /* qpn -> 0 */
};

/* Negative control results (in the CTL CQE's value). */
enum hal_net_ctl_err {
    HAL_NET_CTL_EINVAL = -1, /* a bad argument (unknown CQ, wrong type, depth 0) */
    HAL_NET_CTL_ENOMEM = -2, /* no QP or CQ numbers left */
    HAL_NET_CTL_ESTATE = -3, /* CONNECT on a QP not in INIT, or on a UD QP */
};

struct hal_net_ctl {
    uint32_t op;      /* enum hal_net_ctl_op */
    uint32_t qp_type; /* CREATE_QP: enum hal_net_qp_type */
    uint32_t send_cq, recv_cq;
    uint32_t depth;   /* CREATE_CQ: entries; CREATE_QP: WRs per queue */
    uint32_t qpn;     /* CONNECT, DESTROY_QP */
    uint32_t remote_node, remote_qpn;
    uint64_t cookie;  /* returned as the CTL CQE's wr_id */
};

/* hal_net_ctl: post a control request; HAL_OK means its CTL CQE will come.
 * hal_net_post: post wr[0..n) to QP qp's send queue, in order; HAL_OK or an
 * error with nothing posted. hal_net_post_recv: the same for its receive
 * queue (opcode ignored). hal_net_poll: move up to n CQEs of CQ cq, oldest
 * first, into out[]; returns how many (0..n) or a negative HAL_E*. */
int hal_net_ctl(struct hal_cpu *c, const struct hal_net_ctl *req);
int hal_net_post(struct hal_cpu *c, uint32_t qp, const struct hal_net_wr *wr, size_t n);
int hal_net_post_recv(struct hal_cpu *c, uint32_t qp, const struct hal_net_wr *wr, size_t n);
int hal_net_poll(struct hal_cpu *c, uint32_t cq, struct hal_net_cqe *out, size_t n);

/* --- trace ----------------------------------------------------------------
 * hal_trace: record kernel tracepoint `point` (enum kern_tracepoint in the
 * subsystem's header) with two arguments, stamped with time and CPU. On the
 * simulated platform it becomes a trace record (and part of the digest). */
void hal_trace(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b);

/* --- fault points -----------------------------------------------------------
 * hal_fault_point: whether the platform injects a failure at fault point
 * `point` (enum hal_fault_point) on this CPU now; each true consumes one
 * injected failure. The kernel asks at the top of a path that can fail
 * and then fails it as it would for real (an allocation returns "no
 * memory"). The simulated machine fires them from a scenario's `faults:`
 * or `explore:` (kcore fault `alloc_fail`); elsewhere always false. */
enum hal_fault_point {
    HAL_FP_ALLOC = 1, /* a page allocation */
    /* a driver bug at the entry the driver is about to run (driver.h enum
     * drv_fault, HAL_FP_DRV_BASE + kind): wild write, null dereference,
     * assertion, hang, a DMA address the IOMMU refuses */
    HAL_FP_DRV_BASE = 1,
    HAL_FP_DRV_WILD_WRITE = 2,
    HAL_FP_DRV_NULL_DEREF = 3,
    HAL_FP_DRV_ASSERT = 4,
    HAL_FP_DRV_HANG = 5,
    HAL_FP_DRV_IOMMU = 6,
};
bool hal_fault_point(struct hal_cpu *c, unsigned point);

/* --- cost annotation ------------------------------------------------------
 * hal_cost: this CPU just did kernel work worth `cycles` CPU cycles (the
 * subsystem's own estimate of the operation). The simulated platform charges
 * it to the CPU's time; a real platform ignores it (the cost is real). */
void hal_cost(struct hal_cpu *c, uint32_t cycles);

/* --- reporting --------------------------------------------------------------
 * hal_report: a figure a selftest or benchmark measured, under a short name
 * of lowercase words and dots ("sync.acquisitions"). The simulated platform
 * keeps it as a metric of the CPU (report.NAME, the last value reported);
 * a real target prints "report NAME VALUE" on its console. */
void hal_report(struct hal_cpu *c, const char *name, uint64_t value);

/* --- console and panic ----------------------------------------------------
 * hal_console_write: bytes for a human (UART, or the simulator's log).
 * hal_panic: the kernel found an invariant broken; never returns. */
void hal_console_write(struct hal_cpu *c, const char *s, size_t n);
__attribute__((noreturn)) void hal_panic(struct hal_cpu *c, const char *why);

/* --- upcalls: what the platform calls in the kernel -----------------------
 * Called by the platform on the CPU concerned, with interrupts disabled for
 * the duration. On a real target the kernel image defines these symbols
 * (kernel/arch/<arch>/ dispatches traps to them). On the simulated platform
 * each model that hosts the kernel names the kernel functions to call
 * (platform_init), so several kernel configurations can coexist in one
 * simulation; the signatures are the same — except on kernel CPUs of a
 * modelled machine (kcore), which call these symbols as a real target does.
 *
 * Interrupts nobody asked for happen (a device's noise, a lost race in an
 * interrupt controller; the simulated platform's spurious_irq and
 * irq_storm faults): kern_ipi then gets reason HAL_IPI_SPURIOUS, and
 * kern_timer may run with no timer armed. The kernel takes them and
 * carries on. */
#define HAL_IPI_SPURIOUS 0xFFFFFFFEu
void kern_timer(struct hal_cpu *c);                   /* the armed timer fired */
void kern_ipi(struct hal_cpu *c, uint32_t reason);    /* an IPI arrived */
/* Completions are waiting on CQ cq (see the network section); optional: a
 * platform with no RNIC never calls it, and an image for one need not
 * define it. */
void kern_net(struct hal_cpu *c, uint32_t cq);
/* A virtual access at va (enum hal_access) found no translation, or one
 * that does not allow it (see "virtual memory"). Return 0 once the tables
 * allow it (the access is tried again), or a negative HAL_E* to fail it
 * with HAL_EFAULT. kernel/mm defines it (vm_fault). */
int kern_page_fault(struct hal_cpu *c, uint64_t va, unsigned access);
/* Device interrupt `vector` arrived (hal_irq_route). Optional, like
 * kern_net: a platform without devices never calls it. */
void kern_irq(struct hal_cpu *c, uint32_t vector);
/* The IOMMU refused device dev's DMA at bus address `bus` (the page),
 * an access of enum hal_access (READ or WRITE). Taken on CPU 0. Optional. */
void kern_dma_fault(struct hal_cpu *c, uint32_t dev, uint64_t bus, unsigned access);

#endif
