/* include/kernel/hal.h on the simulated machine (see platform.h). Time is
 * simulated time, timers and IPIs are engine events, tracepoints become
 * trace records, annotated costs are tallied for the hosting model to
 * charge, and a kernel panic unwinds to the platform instead of ending the
 * simulator. The network is the RDMA verbs of include/orrery/rdma.h on a
 * port linked to an rnic (platform_net_attach). A CPU that runs on a
 * modelled core of its own (kcore.c) has its memory accesses, time, timers,
 * IPIs and costs handled there (struct platform_cpu_ops); DMA arrives with
 * the IOMMU. */
#include "hw/platform.h"

#include "orrery/checkpoint.h"
#include "orrery/mem.h"
#include "orrery/rdma.h"
#include "orrery/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void platform_init(struct platform *p, struct orr_component *c, unsigned ncpu, uint64_t hz,
                   orr_time_t ipi_latency, const struct platform_tracepoint *tps, unsigned ntp,
                   const struct platform_upcalls *up)
{
    memset(p, 0, sizeof *p);
    p->comp = c;
    p->up = *up;
    p->ncpu = ncpu;
    p->clock.hz = hz;
    p->ipi_latency = ipi_latency;
    p->aCpu = calloc(ncpu, sizeof *p->aCpu);
    if (!p->aCpu)
        orr_oom();
    for (unsigned i = 0; i < ncpu; i++)
        p->aCpu[i] = (struct hal_cpu){.plat = p, .id = i, .irq_on = true};
    for (unsigned i = 0; i < ntp && i < PLAT_MAX_TRACEPOINTS; i++) {
        p->aTp[i] = tps[i];
        p->aKind[i] = orr_trace_kind(c, tps[i].name);
    }
    p->nTp = ntp < PLAT_MAX_TRACEPOINTS ? ntp : PLAT_MAX_TRACEPOINTS;
    p->ipis = orr_counter_new(c, "kern.ipis", "ipi");
    p->timer_irqs = orr_counter_new(c, "kern.timer_irqs", "irq");
    p->cost_cycles = orr_counter_new(c, "kern.cost_cycles", "cy");
}

static struct platform_cq *net_cq(struct platform *p, uint32_t cqn);

void platform_save(const struct platform *p, struct orr_ckpt_writer *w)
{
    for (unsigned i = 0; i < p->ncpu; i++) {
        const struct hal_cpu *c = &p->aCpu[i];
        orr_ckpt_put_u8(w, c->irq_on);
        orr_ckpt_put_u8(w, c->timer_armed);
        orr_ckpt_put_u64(w, c->timer_gen);
        orr_ckpt_put_u64(w, c->cost_cycles);
    }
    orr_ckpt_put_bytes(w, p->aConsole, p->nConsole);
    orr_ckpt_put_u8(w, p->panicked);
    orr_ckpt_put_u32(w, p->net.nCq);
    for (uint32_t q = 0; q < p->net.nCq; q++) {
        orr_ckpt_put_ring(w, &p->net.aCq[q].cqes, sizeof(struct hal_net_cqe));
        orr_ckpt_put_u8(w, p->net.aCq[q].irq_pending);
    }
    orr_ckpt_put_outq(w, &p->net.out);
}

void platform_restore(struct platform *p, struct orr_ckpt_reader *r)
{
    for (unsigned i = 0; i < p->ncpu; i++) {
        struct hal_cpu *c = &p->aCpu[i];
        c->irq_on = orr_ckpt_get_u8(r) != 0;
        c->timer_armed = orr_ckpt_get_u8(r) != 0;
        c->timer_gen = orr_ckpt_get_u64(r);
        c->cost_cycles = orr_ckpt_get_u64(r);
    }
    size_t n = 0;
    const void *con = orr_ckpt_get_bytes(r, &n);
    if (n > sizeof p->aConsole) {
        orr_ckpt_fail(r, "platform console longer than its buffer");
        return;
    }
    if (n)
        memcpy(p->aConsole, con, n);
    p->nConsole = (uint32_t)n;
    p->panicked = orr_ckpt_get_u8(r) != 0;
    uint32_t nCq = orr_ckpt_get_u32(r);
    if (nCq > (1u << 16)) {
        orr_ckpt_fail(r, "platform: more completion queues than a kernel opens");
        return;
    }
    if (nCq > p->net.nCq) /* they are created as the kernel names them */
        net_cq(p, nCq - 1);
    for (uint32_t q = 0; q < nCq; q++) {
        orr_ckpt_get_ring(r, &p->net.aCq[q].cqes, sizeof(struct hal_net_cqe));
        p->net.aCq[q].irq_pending = orr_ckpt_get_u8(r) != 0;
    }
    for (uint32_t q = nCq; q < p->net.nCq; q++) { /* made since: empty, as they were */
        while (p->net.aCq[q].cqes.n)
            orr_ring_pop(&p->net.aCq[q].cqes);
        p->net.aCq[q].irq_pending = false;
    }
    orr_ckpt_get_outq(r, &p->net.out);
}

void platform_snap_put(void *ctx, const void *p, size_t n)
{
    orr_ckpt_put_bytes(((struct platform_snap *)ctx)->w, p, n);
}

int platform_snap_get(void *ctx, void *p, size_t n)
{
    struct orr_ckpt_reader *r = ((struct platform_snap *)ctx)->r;
    orr_ckpt_get_into(r, p, n);
    return orr_ckpt_ok(r) ? 0 : -1;
}

void platform_free(struct platform *p)
{
    free(p->aCpu);
    p->aCpu = NULL;
    for (uint32_t i = 0; i < p->net.nCq; i++)
        orr_ring_free(&p->net.aCq[i].cqes);
    free(p->net.aCq);
    orr_outq_free(&p->net.out);
    p->net.aCq = NULL;
    p->net.nCq = 0;
}

bool platform_call(struct platform *p, unsigned cpu, void (*fn)(struct hal_cpu *, void *),
                   void *arg)
{
    struct hal_cpu *c = &p->aCpu[cpu];
    jmp_buf here, *outer = p->panic_to;
    bool was = c->irq_on;
    if (p->panicked)
        return false;
    if (setjmp(here)) {
        p->panic_to = outer;
        c->irq_on = was;
        return false;
    }
    p->panic_to = &here;
    c->irq_on = false;
    fn(c, arg);
    c->irq_on = was;
    p->panic_to = outer;
    return true;
}

static void deliver_timer(struct hal_cpu *c, void *arg)
{
    (void)arg;
    c->plat->up.timer(c);
}

static void deliver_ipi(struct hal_cpu *c, void *arg)
{
    c->plat->up.ipi(c, (uint32_t)(uintptr_t)arg);
}

static bool net_handle(struct platform *p, const struct orr_event *ev);

bool platform_handle(struct platform *p, const struct orr_event *ev)
{
    if (net_handle(p, ev))
        return true;
    if (ev->kind != ORR_TK_TIMER || (ev->port != PLAT_TAG_TIMER && ev->port != PLAT_TAG_IPI))
        return false;
    unsigned cpu = (unsigned)ev->data[0];
    if (cpu >= p->ncpu)
        return true;
    struct hal_cpu *c = &p->aCpu[cpu];
    if (ev->port == PLAT_TAG_TIMER) {
        if (!c->timer_armed || ev->data[1] != c->timer_gen)
            return true; /* cancelled or re-armed since */
        c->timer_armed = false;
        p->timer_irqs->v++;
        platform_call(p, cpu, deliver_timer, NULL);
    } else {
        p->ipis->v++;
        platform_call(p, cpu, deliver_ipi, (void *)(uintptr_t)ev->data[1]);
    }
    return true;
}

orr_time_t platform_take_cost(struct platform *p, unsigned cpu)
{
    struct hal_cpu *c = &p->aCpu[cpu];
    orr_time_t t = orr_clock_cycles_to_ps(&p->clock, c->cost_cycles);
    c->cost_cycles = 0;
    return t;
}

/* --- the HAL ------------------------------------------------------------- */

unsigned hal_cpu_id(const struct hal_cpu *c) { return c->id; }
unsigned hal_cpu_count(const struct hal_cpu *c) { return c->plat->ncpu; }

void hal_set_kernel_data(struct hal_cpu *c, void *kdata) { c->kdata = kdata; }
void *hal_kernel_data(const struct hal_cpu *c) { return c->kdata; }

hal_ns_t hal_now(const struct hal_cpu *c)
{
    return c->ops ? c->ops->now(c) : orr_now(c->plat->comp->sim) / ORR_NS;
}

void hal_timer_set(struct hal_cpu *c, hal_ns_t when)
{
    if (c->ops) {
        c->ops->timer_set(c, when);
        return;
    }
    struct platform *p = c->plat;
    orr_time_t now = orr_now(p->comp->sim);
    orr_time_t at = when >= ORR_TIME_HORIZON / ORR_NS ? ORR_TIME_HORIZON : when * ORR_NS;
    c->timer_gen++;
    c->timer_armed = true;
    orr_timer(p->comp, at > now ? at - now : 0, PLAT_TAG_TIMER, c->id, c->timer_gen);
}

void hal_timer_cancel(struct hal_cpu *c)
{
    c->timer_gen++;
    c->timer_armed = false;
}

bool hal_irq_disable(struct hal_cpu *c)
{
    bool was = c->irq_on;
    c->irq_on = false;
    return was;
}

void hal_irq_restore(struct hal_cpu *c, bool was_enabled)
{
    bool on = !c->irq_on && was_enabled;
    c->irq_on = was_enabled;
    if (on && c->ops)
        c->ops->irq_restored(c);
}

void hal_ipi_send(struct hal_cpu *c, unsigned target, uint32_t reason)
{
    if (c->ops) {
        c->ops->ipi_send(c, target, reason);
        return;
    }
    struct platform *p = c->plat;
    if (target < p->ncpu)
        orr_timer(p->comp, p->ipi_latency, PLAT_TAG_IPI, target, reason);
}

/* The platform's own CPUs run kernel code only inside events: there is
 * nothing to wait in, so idling returns at once (an early wake-up). */
void hal_idle(struct hal_cpu *c)
{
    if (c->ops)
        c->ops->idle(c);
}

/* Memory: on a CPU of a modelled core (ops), through its caches; the
 * platform's own CPUs have none (HAL_ENOTSUP). */
int hal_load(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t *out)
{
    return c->ops ? c->ops->access(c, ORR_OP_LOAD, pa, size, 0, 0, out) : HAL_ENOTSUP;
}

int hal_store(struct hal_cpu *c, hal_paddr_t pa, unsigned size, uint64_t value)
{
    return c->ops ? c->ops->access(c, ORR_OP_STORE, pa, size, value, 0, NULL) : HAL_ENOTSUP;
}

/* The engine's operation for an atomic, or 0 for a bad op or size. */
static unsigned atomic_op(enum hal_atomic_op op, unsigned size)
{
    static const unsigned ops[] = {[HAL_ATOMIC_CAS] = ORR_OP_CAS, [HAL_ATOMIC_FAA] = ORR_OP_FAA,
                                   [HAL_ATOMIC_XCHG] = ORR_OP_SWAP};
    if ((unsigned)op >= sizeof ops / sizeof ops[0] || (size != 4 && size != 8))
        return 0;
    return ops[op];
}

int hal_atomic(struct hal_cpu *c, enum hal_atomic_op op, hal_paddr_t pa, unsigned size,
               uint64_t value, uint64_t expect, uint64_t *old)
{
    if (!c->ops)
        return HAL_ENOTSUP;
    unsigned o = atomic_op(op, size);
    return o ? c->ops->access(c, o, pa, size, value, expect, old) : HAL_EINVAL;
}

/* Virtual memory: the MMU of a modelled core (ops); none elsewhere. */
int hal_mmu_set_root(struct hal_cpu *c, hal_paddr_t root, void *ctx)
{
    return c->ops ? c->ops->mmu_set_root(c, root, ctx) : HAL_ENOTSUP;
}

void *hal_mmu_context(const struct hal_cpu *c) { return c->ops ? c->ops->mmu_context(c) : NULL; }

int hal_tlb_flush(struct hal_cpu *c, uint64_t va, uint64_t len)
{
    return c->ops ? c->ops->tlb_flush(c, va, len) : HAL_ENOTSUP;
}

int hal_vload(struct hal_cpu *c, uint64_t va, unsigned size, uint64_t *out)
{
    return c->ops ? c->ops->vaccess(c, ORR_OP_LOAD, va, size, 0, 0, out) : HAL_ENOTSUP;
}

int hal_vstore(struct hal_cpu *c, uint64_t va, unsigned size, uint64_t value)
{
    return c->ops ? c->ops->vaccess(c, ORR_OP_STORE, va, size, value, 0, NULL) : HAL_ENOTSUP;
}

int hal_vatomic(struct hal_cpu *c, enum hal_atomic_op op, uint64_t va, unsigned size,
                uint64_t value, uint64_t expect, uint64_t *old)
{
    if (!c->ops)
        return HAL_ENOTSUP;
    unsigned o = atomic_op(op, size);
    return o ? c->ops->vaccess(c, o, va, size, value, expect, old) : HAL_EINVAL;
}

/* Accesses of a modelled core perform in program order: a fence has
 * nothing left to order. */
void hal_fence(struct hal_cpu *c) { (void)c; }

void hal_relax(struct hal_cpu *c)
{
    if (c->ops)
        c->ops->relax(c);
}

int hal_mem_region(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size)
{
    return c->ops ? c->ops->mem_region(c, base, size) : HAL_ENOTSUP;
}

int hal_percpu_area(struct hal_cpu *c, hal_paddr_t *base, uint64_t *size)
{
    return c->ops ? c->ops->percpu_area(c, base, size) : HAL_ENOTSUP;
}

int hal_mem_node(struct hal_cpu *c, unsigned node, hal_paddr_t *base, uint64_t *size)
{
    return c->ops && c->ops->mem_node ? c->ops->mem_node(c, node, base, size) : HAL_ENOTSUP;
}

unsigned hal_cpu_node(const struct hal_cpu *c)
{
    return c->ops && c->ops->cpu_node ? c->ops->cpu_node(c) : 0;
}

unsigned hal_numa_distance(const struct hal_cpu *c, unsigned a, unsigned b)
{
    if (c->ops && c->ops->numa_distance)
        return c->ops->numa_distance(c, a, b);
    return a == b ? 10 : 20;
}

bool hal_fault_point(struct hal_cpu *c, unsigned point)
{
    return c->ops && c->ops->fault_point ? c->ops->fault_point(c, point) : false;
}

void hal_report(struct hal_cpu *c, const char *name, uint64_t value)
{
    if (c->ops)
        c->ops->report(c, name, value);
}

/* Devices: kernel CPUs of a machine with `pcie:` (kcore); the platform's
 * own CPUs have none. */
int hal_dev_bar(struct hal_cpu *c, uint32_t dev, hal_paddr_t *bar, uint64_t *size)
{
    return c->ops && c->ops->dev ? c->ops->dev->bar(c, dev, bar, size) : HAL_ENOTSUP;
}

int hal_mmio_read(struct hal_cpu *c, hal_paddr_t addr, unsigned size, uint64_t *out)
{
    return c->ops && c->ops->dev ? c->ops->dev->mmio(c, false, addr, size, 0, out) : HAL_ENOTSUP;
}

int hal_mmio_write(struct hal_cpu *c, hal_paddr_t addr, unsigned size, uint64_t value)
{
    return c->ops && c->ops->dev ? c->ops->dev->mmio(c, true, addr, size, value, NULL)
                                 : HAL_ENOTSUP;
}

int hal_irq_route(struct hal_cpu *c, uint32_t vector, unsigned cpu, bool masked)
{
    return c->ops && c->ops->dev ? c->ops->dev->irq_route(c, vector, cpu, masked) : HAL_ENOTSUP;
}

int hal_dma_map(struct hal_cpu *c, uint32_t dev, hal_paddr_t pa, size_t len, bool write,
                uint64_t *bus)
{
    if (!c->ops || !c->ops->dev)
        return HAL_ENOTSUP;
    return c->ops->dev->dma(c, true, dev, pa, len, write, bus);
}

int hal_dma_unmap(struct hal_cpu *c, uint32_t dev, uint64_t bus, size_t len)
{
    if (!c->ops || !c->ops->dev)
        return HAL_ENOTSUP;
    return c->ops->dev->dma(c, false, dev, bus, len, false, NULL);
}

/* --- the network: hal_net_* as rdma.h messages ------------------------------
 *
 * hal.h's network numbering is rdma.h's (checked below), so translating a WR
 * or a CQE is a field copy. A post or control verb leaves after the kernel
 * work annotated so far in this kernel entry (hal_cost), as a TLM delay; a
 * host link with bandwidth that is busy queues the message here, in order,
 * until its ORR_TK_READY. CQEs are kept per CQ until hal_net_poll takes
 * them: the CQ ring in host memory, whose depth the RNIC enforces. The
 * interrupt latency (MSI-X write to the handler's first instruction) is a
 * parameter of the hosting component; its default is a modelling choice. */

_Static_assert((int)HAL_NET_OP_SEND == (int)RDMA_OP_SEND && (int)HAL_NET_OP_RECV == (int)RDMA_OP_RECV &&
                   (int)HAL_NET_OP_FAA == (int)RDMA_OP_FAA && (int)HAL_NET_OP_WRITE_IMM == (int)RDMA_OP_WRITE_IMM,
               "hal.h and rdma.h opcodes");
_Static_assert((int)HAL_NET_F_SIGNALED == (int)RDMA_F_SIGNALED && (int)HAL_NET_F_INLINE == (int)RDMA_F_INLINE,
               "hal.h and rdma.h WR flags");
_Static_assert((int)HAL_NET_WC_LOC_PROT_ERR == (int)RDMA_WC_LOC_PROT_ERR &&
                   (int)HAL_NET_WC_RETRY_EXC_ERR == (int)RDMA_WC_RETRY_EXC_ERR &&
                   (int)HAL_NET_WC_WR_FLUSH_ERR == (int)RDMA_WC_WR_FLUSH_ERR,
               "hal.h and rdma.h completion status");
_Static_assert((int)HAL_NET_WC_RECV_RDMA_WITH_IMM == (int)RDMA_WC_RECV_RDMA_WITH_IMM &&
                   (int)HAL_NET_WC_SEND == (int)RDMA_WC_SEND,
               "hal.h and rdma.h completion opcodes");
_Static_assert((int)HAL_NET_CTL_DESTROY_QP == (int)RDMA_CTL_DESTROY_QP && (int)HAL_NET_QPT_UD == (int)RDMA_QPT_UD &&
                   (int)HAL_NET_CTL_ESTATE == (int)RDMA_CTL_ESTATE,
               "hal.h and rdma.h control verbs");
_Static_assert(HAL_NET_MAX_INLINE == RDMA_MAX_INLINE && HAL_NET_CQE_INLINE == RDMA_CQE_INLINE,
               "hal.h and rdma.h inline sizes");

void platform_net_attach(struct platform *p, struct orr_port *port, orr_time_t irq_latency)
{
    struct orr_component *c = p->comp;
    p->net.port = port;
    p->net.irq_latency = irq_latency;
    p->net.posts = orr_counter_new(c, "kern.net_posts", "wr");
    p->net.ctls = orr_counter_new(c, "kern.net_ctls", "verb");
    p->net.cqes = orr_counter_new(c, "kern.net_cqes", "cqe");
    p->net.irqs = orr_counter_new(c, "kern.net_irqs", "irq");
}

static bool net_present(const struct platform *p)
{
    return p->net.port && p->net.port->link;
}

/* Send data[0..1] to the RNIC now, or after what is queued. */
static void net_send(struct hal_cpu *c, uint64_t w0, uint64_t blob)
{
    struct platform_net *n = &c->plat->net;
    struct orr_msg m = {RDMA_HOST_MSG_BYTES, {w0, blob}};
    if (orr_outq_len(&n->out) == 0 &&
        orr_port_send(n->port, &m, orr_clock_cycles_to_ps(&c->plat->clock, c->cost_cycles)) !=
            ORR_EBUSY)
        return;
    orr_outq_push(&n->out, &m, 0); /* it will have waited longer than the cost */
}

static struct platform_cq *net_cq(struct platform *p, uint32_t cqn)
{
    struct platform_net *n = &p->net;
    if (cqn >= n->nCq) {
        uint32_t nc = cqn + 1 > 2 * n->nCq ? cqn + 1 : 2 * n->nCq;
        struct platform_cq *a = realloc(n->aCq, nc * sizeof *a);
        if (!a)
            orr_oom();
        memset(a + n->nCq, 0, (nc - n->nCq) * sizeof *a);
        n->aCq = a;
        n->nCq = nc;
    }
    return &n->aCq[cqn];
}

static void net_push(struct platform *p, const struct hal_net_cqe *e)
{
    struct platform_cq *q = net_cq(p, e->cqn);
    *(struct hal_net_cqe *)orr_ring_push(&q->cqes, sizeof *e) = *e;
    p->net.cqes->v++;
    if (!q->irq_pending && p->up.net) {
        q->irq_pending = true;
        orr_timer(p->comp, p->net.irq_latency, PLAT_TAG_NET, e->cqn, 0);
    }
}

static void deliver_net(struct hal_cpu *c, void *arg)
{
    c->plat->up.net(c, (uint32_t)(uintptr_t)arg);
}

/* A message from the RNIC: a CQE, or a control verb's answer (a CTL CQE on
 * HAL_NET_CQ_CTL). Blobs are freed here (the receiver's job). */
static void net_receive(struct platform *p, const struct orr_event *ev)
{
    struct orr_sim *s = p->comp->sim;
    enum rdma_host_kind k = rdma_host_kind(ev->data[0]);
    void *b = ev->data[1] ? orr_blob_get(s, ev->data[1]) : NULL;
    struct hal_net_cqe e;
    memset(&e, 0, sizeof e);
    if (k == RDMA_N_CQE && b) {
        const struct rdma_cqe *r = b;
        e.wr_id = r->wr_id;
        e.cqn = r->cqn;
        e.qpn = r->qpn;
        e.status = r->status;
        e.opcode = r->opcode;
        e.has_imm = r->has_imm;
        e.byte_len = r->byte_len;
        e.imm = r->imm;
        e.src_node = r->src_node;
        e.src_qpn = r->src_qpn;
        e.value = r->value;
        memcpy(e.inline_data, r->inline_data, sizeof e.inline_data);
        if (e.cqn != HAL_NET_CQ_CTL) /* cqn 0 is never an RNIC's */
            net_push(p, &e);
    } else if (k == RDMA_N_CTL_DONE && b) {
        const struct rdma_ctl *r = b;
        e.wr_id = r->cookie;
        e.cqn = HAL_NET_CQ_CTL;
        e.qpn = r->qpn;
        e.opcode = HAL_NET_WC_CTL;
        e.value = (uint64_t)r->result;
        net_push(p, &e);
    }
    if (ev->data[1])
        orr_blob_free(s, ev->data[1]);
}

static bool net_handle(struct platform *p, const struct orr_event *ev)
{
    struct platform_net *n = &p->net;
    if (ev->kind == ORR_TK_TIMER && ev->port == PLAT_TAG_NET) {
        uint32_t cq = (uint32_t)ev->data[0];
        if (cq < n->nCq)
            n->aCq[cq].irq_pending = false;
        n->irqs->v++;
        platform_call(p, 0, deliver_net, (void *)(uintptr_t)cq);
        return true;
    }
    if (!n->port || (ev->kind != ORR_TK_MSG && ev->kind != ORR_TK_READY) ||
        ev->port != n->port->index)
        return false;
    if (ev->kind == ORR_TK_READY)
        orr_outq_drain(&p->net.out, p->net.port);
    else
        net_receive(p, ev);
    return true;
}

int hal_net_ctl(struct hal_cpu *c, const struct hal_net_ctl *req)
{
    if (!net_present(c->plat))
        return HAL_ENOTSUP;
    if (!req || req->op < HAL_NET_CTL_CREATE_CQ || req->op > HAL_NET_CTL_DESTROY_QP)
        return HAL_EINVAL;
    struct rdma_ctl *r;
    uint64_t h = orr_blob_new(c->plat->comp->sim, sizeof *r, (void **)&r);
    r->op = req->op;
    r->qp_type = req->qp_type;
    r->send_cq = req->send_cq;
    r->recv_cq = req->recv_cq;
    r->depth = req->depth;
    r->qpn = req->qpn;
    r->remote_node = req->remote_node;
    r->remote_qpn = req->remote_qpn;
    r->cookie = req->cookie;
    c->plat->net.ctls->v++;
    net_send(c, rdma_host_pack(RDMA_H_CTL, 0), h);
    return HAL_OK;
}

static bool wr_ok(const struct hal_net_wr *w, bool recv)
{
    if (recv)
        return true;
    return w->opcode >= HAL_NET_OP_SEND && w->opcode <= HAL_NET_OP_FAA &&
           (!(w->flags & HAL_NET_F_INLINE) || w->length <= HAL_NET_MAX_INLINE);
}

static int net_post(struct hal_cpu *c, uint32_t qp, const struct hal_net_wr *wr, size_t n,
                    bool recv)
{
    if (!net_present(c->plat))
        return HAL_ENOTSUP;
    if (qp == 0 || !wr || n == 0)
        return HAL_EINVAL;
    for (size_t i = 0; i < n; i++) /* validate all, then post all */
        if (!wr_ok(&wr[i], recv))
            return HAL_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const struct hal_net_wr *w = &wr[i];
        struct rdma_wr *r;
        uint64_t h = orr_blob_new(c->plat->comp->sim, sizeof *r, (void **)&r);
        r->wr_id = w->wr_id;
        r->qpn = qp;
        r->opcode = recv ? RDMA_OP_RECV : w->opcode;
        r->flags = recv ? 0 : w->flags;
        r->laddr = w->laddr;
        r->length = w->length;
        r->imm = w->imm;
        r->raddr = w->raddr;
        r->compare = w->compare;
        r->swap_add = w->swap_add;
        r->ud_node = w->ud_node;
        r->ud_qpn = w->ud_qpn;
        if (!recv && (w->flags & HAL_NET_F_INLINE))
            memcpy(r->inline_data, w->inline_data, w->length);
        c->plat->net.posts->v++;
        net_send(c, rdma_host_pack(recv ? RDMA_H_POST_RECV : RDMA_H_POST_SEND, 0), h);
    }
    return HAL_OK;
}

int hal_net_post(struct hal_cpu *c, uint32_t qp, const struct hal_net_wr *wr, size_t n)
{
    return net_post(c, qp, wr, n, false);
}

int hal_net_post_recv(struct hal_cpu *c, uint32_t qp, const struct hal_net_wr *wr, size_t n)
{
    return net_post(c, qp, wr, n, true);
}

int hal_net_poll(struct hal_cpu *c, uint32_t cq, struct hal_net_cqe *out, size_t n)
{
    struct platform *p = c->plat;
    if (!net_present(p))
        return HAL_ENOTSUP;
    if (!out)
        return HAL_EINVAL;
    if (cq >= p->net.nCq)
        return 0;
    struct platform_cq *q = &p->net.aCq[cq];
    size_t k = 0;
    for (; k < n && q->cqes.n; k++) {
        out[k] = *(const struct hal_net_cqe *)orr_ring_at(&q->cqes, sizeof *out, 0);
        orr_ring_pop(&q->cqes);
    }
    return (int)k;
}

void hal_trace(struct hal_cpu *c, uint16_t point, uint64_t a, uint64_t b)
{
    if (c->ops) {
        c->ops->trace(c, point, a, b);
        return;
    }
    struct platform *p = c->plat;
    for (unsigned i = 0; i < p->nTp; i++)
        if (p->aTp[i].point == point) {
            orr_trace_point(p->comp, p->aKind[i], (uint64_t)c->id << 48 | (a & 0xFFFFFFFFFFFFull),
                            b);
            return;
        }
}

void hal_cost(struct hal_cpu *c, uint32_t cycles)
{
    if (c->ops) {
        c->ops->cost(c, cycles);
        return;
    }
    c->cost_cycles += cycles;
    c->plat->cost_cycles->v += cycles;
}

void hal_console_write(struct hal_cpu *c, const char *s, size_t n)
{
    struct platform *p = c->plat;
    for (size_t i = 0; i < n && p->nConsole + 1 < PLAT_CONSOLE_MAX; i++)
        p->aConsole[p->nConsole++] = s[i];
    p->aConsole[p->nConsole] = 0;
}

void hal_panic(struct hal_cpu *c, const char *why)
{
    if (c->ops)
        c->ops->panic(c, why);
    struct platform *p = c->plat;
    snprintf(p->panic_msg, sizeof p->panic_msg, "kernel panic on cpu %u at %llu ns: %s", c->id,
             (unsigned long long)hal_now(c), why);
    p->panicked = true;
    if (p->panic_to)
        longjmp(*p->panic_to, 1);
    abort(); /* kernel code ran outside platform_call: a platform bug */
}
