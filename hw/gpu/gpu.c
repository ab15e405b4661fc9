/* gpu: a GPU on PCIe — BAR, hardware queues and the command processor
 * (docs/gpu.md). Copy engines are in gpu_copy.c, the SMs in gpu_kernel.c,
 * device memory in gpu_mem.c; the programming interface in
 * include/orrery/gpu.h.
 *
 * A host writes a command's eight words into a queue's slot in the BAR;
 * the last word submits it at the queue's tail. Each queue runs its
 * commands in order, one at a time:
 *
 *   IDLE -> DECODE            a command is at the head   [queue_next]
 *   DECODE -> (retire)        NOP, SIGNAL, a bad command [queue_dispatch]
 *   DECODE -> WAIT_QUEUE      WAIT on a queue not there yet
 *   DECODE -> WAIT_CE/WAIT_SM no engine / the partition's SMs busy
 *   WAIT_* -> RUNNING         resource free              [gpu_wake]
 *   RUNNING -> (retire)       copy or kernel done        [gpu_retire]
 *   (retire) -> IDLE -> ...   next command, IRQ if asked
 *   any -> IDLE               partition reset: every command of its
 *                             queues retires with an error [part_reset]
 *
 * Partitions (MIG-like) split the SMs, memory and copy engines into
 * instances; each queue belongs to one. A partition runs one kernel at a
 * time on its SMs; copies use its engines; device addresses in its
 * commands are offsets in its memory. A watchdog resets a partition whose
 * kernel runs longer than `watchdog`: its queues' work is lost (retired
 * with GPU_ERR_TIMEOUT / GPU_ERR_RESET), other partitions go on.
 *
 * Invariants: a queue is RUNNING iff a copy engine or its partition's run
 * names it; commands retire in submission order per queue; completed >=
 * errors; a partition's memory range lies inside device memory and ranges
 * do not overlap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_int.h"
#include "orrery/error.h"

static const struct orr_param gpu_part_params[] = {
    {"sms", ORR_P_UINT, NULL, ORR_PF_POSITIVE, "SMs of this instance"},
    {"memory", ORR_P_SIZE, NULL, ORR_PF_POSITIVE, "device memory of this instance"},
    {"copy_engines", ORR_P_UINT, "1", ORR_PF_POSITIVE, "copy engines of this instance"},
    {"queues", ORR_P_UINTS, NULL, 0, "hardware queues that submit to this instance"},
    {NULL},
};

static const struct orr_param gpu_params[] = {
    PCIE_LINK_PARAMS,
    {"id", ORR_P_UINT, "0", 0, "GPU id: what P2P commands and peers' `nvlink` lists name", NULL,
     0, 65535},
    {"requester", ORR_P_UINT, "256", ORR_PF_POSITIVE, "PCIe requester id", NULL, 1, 65535},
    {"msix_addr", ORR_P_SIZE, "4078MiB", 0, "address of MSI-X writes (the root complex's window)"},
    {"sms", ORR_P_UINT, "108", ORR_PF_POSITIVE, "streaming multiprocessors", NULL, 1, 4096},
    {"clock", ORR_P_FREQ, "1410MHz", ORR_PF_POSITIVE, "SM clock"},
    {"fp32_flops", ORR_P_UINT, "128", ORR_PF_POSITIVE, "FP32 flops per SM per cycle (FMA = 2)"},
    {"fp64_flops", ORR_P_UINT, "64", ORR_PF_POSITIVE, "FP64 flops per SM per cycle"},
    {"fp16_flops", ORR_P_UINT, "2048", ORR_PF_POSITIVE,
     "FP16 tensor flops per SM per cycle (dense)"},
    {"sm_threads", ORR_P_UINT, "2048", ORR_PF_POSITIVE, "resident threads per SM"},
    {"sm_blocks", ORR_P_UINT, "32", ORR_PF_POSITIVE, "resident blocks per SM"},
    {"sm_registers", ORR_P_UINT, "65536", ORR_PF_POSITIVE, "32-bit registers per SM"},
    {"sm_shared", ORR_P_SIZE, "164KiB", 0, "shared memory per SM"},
    {"block_threads", ORR_P_UINT, "1024", ORR_PF_POSITIVE, "largest block"},
    {"latency_warps", ORR_P_UINT, "16", ORR_PF_POSITIVE,
     "resident warps an SM needs to reach its compute and memory peaks (fewer scale down)"},
    {"sm_bandwidth", ORR_P_BW, "64GB/s", ORR_PF_POSITIVE, "an SM's load/store bandwidth to L2"},
    {"memory", ORR_P_SIZE, "80GiB", ORR_PF_POSITIVE, "HBM capacity"},
    {"hbm_bandwidth", ORR_P_BW, "2TB/s", ORR_PF_POSITIVE, "HBM bandwidth"},
    {"l2_size", ORR_P_SIZE, "40MiB", ORR_PF_POSITIVE, "L2 cache"},
    {"l2_bandwidth", ORR_P_BW, "5TB/s", ORR_PF_POSITIVE, "L2 bandwidth"},
    {"launch_overhead", ORR_P_TIME, "3us", 0, "a kernel launch before its first wave"},
    {"wave_overhead", ORR_P_TIME, "200ns", 0, "block dispatch and drain per wave"},
    {"cmd_latency", ORR_P_TIME, "300ns", 0, "command processor: fetch and decode per command"},
    {"copy_setup", ORR_P_TIME, "1us", 0, "a copy engine starting a copy"},
    {"queues", ORR_P_UINT, "4", ORR_PF_POSITIVE, "hardware queues", NULL, 1, GPU_MAX_QUEUES},
    {"queue_depth", ORR_P_UINT, "256", ORR_PF_POSITIVE, "commands a queue holds"},
    {"copy_engines", ORR_P_UINT, "2", ORR_PF_POSITIVE, "copy engines", NULL, 1, GPU_MAX_CE},
    {"tags", ORR_P_UINT, "64", ORR_PF_POSITIVE, "DMA reads in flight per copy engine", NULL, 1,
     (PCIE_TAG_MAX + 1) / GPU_MAX_CE},
    {"max_read", ORR_P_SIZE, "512B", ORR_PF_POSITIVE, "largest DMA read request", NULL, 1,
     PCIE_MAX_LENGTH},
    {"max_payload", ORR_P_SIZE, "256B", ORR_PF_POSITIVE, "largest DMA write payload", NULL, 1,
     PCIE_MAX_LENGTH},
    {"nvlink", ORR_P_LIST, "[]", 0,
     "peer GPUs (component paths) on ports nvl0, nvl1, ... in order"},
    {"nvl_chunk", ORR_P_SIZE, "64KiB", ORR_PF_POSITIVE, "bytes per NVLink data message", NULL,
     64, 1u << 20},
    {"nvl_window", ORR_P_UINT, "16", ORR_PF_POSITIVE, "NVLink data messages unacknowledged"},
    {"watchdog", ORR_P_TIME, "0ns", 0, "reset a partition whose kernel runs longer (0: off)"},
    {"partitions", ORR_P_GROUPS, "[]", 0,
     "MIG-like instances: SMs, memory, copy engines and queues each (none: one whole GPU)", NULL,
     0, 0, gpu_part_params},
    {"functional_max", ORR_P_SIZE, "64MiB", 0,
     "kernels touching more bytes are timed only (their results are not computed)"},
    {"functional_flops", ORR_P_UINT, "268435456", 0,
     "kernels of more flops are timed only (a GEMM of 512 computes; 1024 would cost seconds)"},
    {"store_limit", ORR_P_SIZE, "1GiB", ORR_PF_POSITIVE,
     "bytes of device memory the simulator holds (sparse); a write beyond fails its command"},
    {NULL},
};

static const struct orr_port_doc gpu_ports[] = {
    {"pcie", "to a root complex (or switch) downstream port"},
    {"nvl<N>", "NVLink to the N-th GPU of `nvlink` (a link with bandwidth)"},
    {NULL},
};

static const struct orr_metric_doc gpu_metrics[] = {
    {"commands", "cmd", ORR_METRIC_COUNTER, "commands retired"},
    {"command_errors", "cmd", ORR_METRIC_COUNTER, "commands retired with an error"},
    {"kernels", "kernel", ORR_METRIC_COUNTER, "kernels run to the end"},
    {"waves", "wave", ORR_METRIC_COUNTER, "block waves executed"},
    {"blocks", "block", ORR_METRIC_COUNTER, "thread blocks executed"},
    {"flops", "flop", ORR_METRIC_COUNTER, "floating-point operations of kernels run"},
    {"hbm_bytes", "B", ORR_METRIC_COUNTER, "HBM traffic of kernels (the model's estimate)"},
    {"copies", "copy", ORR_METRIC_COUNTER, "copies done"},
    {"h2d_bytes", "B", ORR_METRIC_COUNTER, "bytes copied host to device"},
    {"d2h_bytes", "B", ORR_METRIC_COUNTER, "bytes copied device to host"},
    {"d2d_bytes", "B", ORR_METRIC_COUNTER, "bytes copied inside device memory"},
    {"p2p_bytes", "B", ORR_METRIC_COUNTER, "bytes sent to peers over NVLink"},
    {"p2p_rx_bytes", "B", ORR_METRIC_COUNTER, "bytes received from peers over NVLink"},
    {"irqs", "irq", ORR_METRIC_COUNTER, "MSI-X interrupts raised"},
    {"resets", "reset", ORR_METRIC_COUNTER, "partition resets by the watchdog"},
    {"timing_only_kernels", "kernel", ORR_METRIC_COUNTER,
     "kernels above functional_max: timed, results not computed"},
    {"kernel_time", "ns", ORR_METRIC_HISTOGRAM, "a kernel's start to its end"},
    {"copy_time", "ns", ORR_METRIC_HISTOGRAM, "a copy's start to its end"},
    {NULL},
};

/* --- load-time questions (hw/gpu.h) --------------------------------------- */

extern const struct orr_component_type orr_gpu_type;

bool gpu_is(const struct orr_component *c) { return c && c->type == &orr_gpu_type; }

unsigned gpu_id_of(const struct orr_component *c) { return ((const struct gpu *)c->state)->id; }

uint64_t gpu_memory_bytes(const struct orr_component *c)
{
    const struct gpu *s = c->state;
    return s->nPart ? s->aPart[0].mem_size : s->memory;
}

int gpu_shape_fits(const struct orr_component *c, const struct gpu_block_shape *b, char *why,
                   size_t n)
{
    const struct gpu *s = c->state;
    unsigned per_sm;
    return gpu_shape_check(s, s->sms, b, &per_sm, why, n);
}

/* --- configuration --------------------------------------------------------- */

static int bad(struct orr_diag *d, const struct orr_mark *m, const char *kp, const char *key,
               const char *what)
{
    char at[256];
    snprintf(at, sizeof at, "%s.%s", kp, key);
    orr_diag_error(d, m, at, "%s", what);
    return ORR_ESCHEMA;
}

static int part_bad(struct orr_diag *d, const struct orr_params *g, const char *kp, size_t i,
                    const char *key, const char *what)
{
    char at[80];
    snprintf(at, sizeof at, "partitions.%zu.%s", i, key);
    return bad(d, orr_param_mark(g, key), kp, at, what);
}

/* The partition layout must fit the device: SMs, memory, engines, and
 * each queue in at most one instance. */
static int parse_partitions(struct gpu *s, const struct orr_params *p, const char *kp,
                            struct orr_diag *d)
{
    const union orr_pval *v = NULL;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->aSpec[i]->name, "partitions") == 0)
            v = &p->v[i];
    size_t n = v ? v->groups.n : 0;
    char what[200];
    if (n == 0) {
        s->nPart = 0;
        s->aPart[0] = (struct gpu_part){.sms = s->sms, .ce_n = s->nCE, .mem_size = s->memory};
        return 0;
    }
    if (n > GPU_MAX_PARTS)
        return bad(d, orr_param_mark(p, "partitions"), kp, "partitions",
                   "at most 8 partitions");
    unsigned sms = 0, ce = 0;
    uint64_t mem = 0;
    bool owned[GPU_MAX_QUEUES] = {0};
    for (size_t i = 0; i < n; i++) {
        const struct orr_params *g = &v->groups.v[i];
        struct gpu_part *pt = &s->aPart[i];
        pt->sms = (unsigned)orr_param_u64(g, "sms");
        pt->mem_size = orr_param_u64(g, "memory");
        pt->ce_n = (unsigned)orr_param_u64(g, "copy_engines");
        pt->ce_first = ce;
        pt->mem_base = mem;
        sms += pt->sms;
        ce += pt->ce_n;
        mem += pt->mem_size;
        if (sms > s->sms) {
            snprintf(what, sizeof what, "partitions use %u SMs; the GPU has %u", sms, s->sms);
            return part_bad(d, g, kp, i, "sms", what);
        }
        if (mem > s->memory) {
            snprintf(what, sizeof what, "partitions use %llu bytes of memory; the GPU has %llu",
                     (unsigned long long)mem, (unsigned long long)s->memory);
            return part_bad(d, g, kp, i, "memory", what);
        }
        if (ce > s->nCE) {
            snprintf(what, sizeof what, "partitions use %u copy engines; the GPU has %u", ce,
                     s->nCE);
            return part_bad(d, g, kp, i, "copy_engines", what);
        }
        size_t nq;
        const uint64_t *q = orr_param_uints(g, "queues", &nq);
        for (size_t j = 0; j < nq; j++) {
            if (q[j] >= s->nQueue || owned[q[j]]) {
                snprintf(what, sizeof what, "queue %llu %s", (unsigned long long)q[j],
                         q[j] >= s->nQueue ? "does not exist (see `queues`)"
                                           : "is in two partitions");
                return part_bad(d, g, kp, i, "queues", what);
            }
            owned[q[j]] = true;
            s->aQueue[q[j]].part = (unsigned)i;
        }
    }
    s->nPart = (unsigned)n;
    for (unsigned q = 0; q < s->nQueue; q++)
        if (!owned[q]) {
            snprintf(what, sizeof what, "queue %u belongs to no partition", q);
            return bad(d, orr_param_mark(p, "partitions"), kp, "partitions", what);
        }
    return 0;
}

static int gpu_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct gpu *s = c->state;
    int rc = pcie_link_params(p, c->keypath, d, &s->tx);
    s->pcie = orr_port_add(c, "pcie");
    s->id = (unsigned)orr_param_u64(p, "id");
    s->requester = (uint16_t)orr_param_u64(p, "requester");
    s->msix_addr = orr_param_u64(p, "msix_addr");
    s->sms = (unsigned)orr_param_u64(p, "sms");
    s->clock_hz = orr_param_u64(p, "clock");
    s->flops_cycle[GPU_FP32] = orr_param_u64(p, "fp32_flops");
    s->flops_cycle[GPU_FP64] = orr_param_u64(p, "fp64_flops");
    s->flops_cycle[GPU_FP16] = orr_param_u64(p, "fp16_flops");
    s->sm_threads = (unsigned)orr_param_u64(p, "sm_threads");
    s->sm_blocks = (unsigned)orr_param_u64(p, "sm_blocks");
    s->sm_regs = orr_param_u64(p, "sm_registers");
    s->sm_smem = orr_param_u64(p, "sm_shared");
    s->block_threads = (unsigned)orr_param_u64(p, "block_threads");
    s->latency_warps = (unsigned)orr_param_u64(p, "latency_warps");
    s->sm_Bps = orr_param_u64(p, "sm_bandwidth") / 8;
    s->memory = orr_param_u64(p, "memory");
    s->hbm_Bps = orr_param_u64(p, "hbm_bandwidth") / 8;
    s->l2_size = orr_param_u64(p, "l2_size");
    s->l2_Bps = orr_param_u64(p, "l2_bandwidth") / 8;
    s->launch_overhead = orr_param_u64(p, "launch_overhead");
    s->wave_overhead = orr_param_u64(p, "wave_overhead");
    s->cmd_latency = orr_param_u64(p, "cmd_latency");
    s->copy_setup = orr_param_u64(p, "copy_setup");
    s->nQueue = (unsigned)orr_param_u64(p, "queues");
    s->queue_depth = (unsigned)orr_param_u64(p, "queue_depth");
    s->nCE = (unsigned)orr_param_u64(p, "copy_engines");
    s->tags = (unsigned)orr_param_u64(p, "tags");
    s->max_read = (uint32_t)orr_param_u64(p, "max_read");
    s->max_payload = (uint32_t)orr_param_u64(p, "max_payload");
    s->nvl_chunk = orr_param_u64(p, "nvl_chunk");
    s->nvl_window = (unsigned)orr_param_u64(p, "nvl_window");
    s->watchdog = orr_param_u64(p, "watchdog");
    s->functional_max = orr_param_u64(p, "functional_max");
    s->functional_flops = orr_param_u64(p, "functional_flops");
    s->store_limit = orr_param_u64(p, "store_limit");
    if (s->hbm_Bps == 0 || s->l2_Bps == 0 || s->sm_Bps == 0)
        rc = bad(d, &c->mark, c->keypath, "hbm_bandwidth", "bandwidths must be at least 8 bit/s");
    size_t nn;
    s->aNvlName = orr_param_list(p, "nvlink", &nn);
    s->nvlMark = *orr_param_mark(p, "nvlink");
    if (nn > GPU_MAX_NVL)
        rc = bad(d, orr_param_mark(p, "nvlink"), c->keypath, "nvlink", "at most 32 NVLink peers");
    s->nNvl = nn > GPU_MAX_NVL ? GPU_MAX_NVL : (unsigned)nn;
    for (unsigned i = 0; i < s->nNvl; i++) {
        char name[16];
        snprintf(name, sizeof name, "nvl%u", i);
        s->aNvl[i] = orr_port_add(c, name);
    }
    for (unsigned q = 0; q < s->nQueue; q++) {
        s->aQueue[q].aRing = calloc(s->queue_depth, sizeof(struct gpu_cmd));
        if (!s->aQueue[q].aRing)
            orr_oom();
    }
    for (unsigned e = 0; e < s->nCE; e++) {
        s->aCE[e].aTagUsed = calloc(s->tags, sizeof(bool));
        s->aCE[e].aTagOff = calloc(s->tags, sizeof(uint64_t));
        if (!s->aCE[e].aTagUsed || !s->aCE[e].aTagOff)
            orr_oom();
    }
    if (rc == 0)
        rc = parse_partitions(s, p, c->keypath, d);
    linestore_init(&s->store);
    s->commands = orr_counter_new(c, "commands", "cmd");
    s->cmd_errors = orr_counter_new(c, "command_errors", "cmd");
    s->kernels = orr_counter_new(c, "kernels", "kernel");
    s->waves = orr_counter_new(c, "waves", "wave");
    s->blocks = orr_counter_new(c, "blocks", "block");
    s->flops = orr_counter_new(c, "flops", "flop");
    s->hbm_bytes = orr_counter_new(c, "hbm_bytes", "B");
    s->copies = orr_counter_new(c, "copies", "copy");
    s->h2d_bytes = orr_counter_new(c, "h2d_bytes", "B");
    s->d2h_bytes = orr_counter_new(c, "d2h_bytes", "B");
    s->d2d_bytes = orr_counter_new(c, "d2d_bytes", "B");
    s->p2p_bytes = orr_counter_new(c, "p2p_bytes", "B");
    s->p2p_rx_bytes = orr_counter_new(c, "p2p_rx_bytes", "B");
    s->irqs = orr_counter_new(c, "irqs", "irq");
    s->resets = orr_counter_new(c, "resets", "reset");
    s->timing_only = orr_counter_new(c, "timing_only_kernels", "kernel");
    s->kernel_time = orr_histogram_new(c, "kernel_time", "ns");
    s->copy_time = orr_histogram_new(c, "copy_time", "ns");
    s->kCmdError = orr_trace_kind(c, "gpu.cmd_error");
    s->kKernel = orr_trace_kind(c, "gpu.kernel");
    s->kCopy = orr_trace_kind(c, "gpu.copy");
    s->kReset = orr_trace_kind(c, "gpu.reset");
    return rc;
}

/* Each `nvlink` entry must name a GPU whose port back is linked to ours. */
static int gpu_start(struct orr_component *c, struct orr_diag *d)
{
    struct gpu *s = c->state;
    if (!s->pcie->link) {
        orr_diag_error(d, &c->mark, c->keypath, "port 'pcie' of %s is not linked", c->path);
        return ORR_ESCHEMA;
    }
    char at[256];
    snprintf(at, sizeof at, "%s.nvlink", c->keypath);
    for (unsigned i = 0; i < s->nNvl; i++) {
        struct orr_component *peer = orr_sim_find(c->sim, s->aNvlName[i]);
        if (!gpu_is(peer)) {
            orr_diag_error(d, &s->nvlMark, at, "nvlink peer '%s' is %s", s->aNvlName[i],
                           peer ? "not a gpu" : "no component");
            return ORR_ESCHEMA;
        }
        struct orr_port *far = orr_port_peer(s->aNvl[i]);
        if (!far || far->owner != peer) {
            orr_diag_error(d, &s->nvlMark, at, "port nvl%u of %s must be linked to a port of %s", i,
                           c->path, s->aNvlName[i]);
            return ORR_ESCHEMA;
        }
        s->aNvlPeer[i] = gpu_id_of(peer);
    }
    return 0;
}

/* --- the command processor ------------------------------------------------- */

void gpu_send_pcie(struct orr_component *c, struct gpu *s, const struct orr_msg *m)
{
    orr_outq_send(&s->pcieQ, s->pcie, m, pcie_tx_delay(&s->tx, orr_now(c->sim), m->size));
}

static void queue_next(struct orr_component *c, struct gpu *s, unsigned q)
{
    struct gpu_queue *Q = &s->aQueue[q];
    if (Q->state != Q_IDLE || Q->n == 0)
        return;
    Q->cur = Q->aRing[Q->head];
    Q->head = (Q->head + 1) % s->queue_depth;
    Q->n--;
    Q->state = Q_DECODE;
    orr_timer(c, s->cmd_latency, T_DECODED, q, Q->epoch);
}

static void signal_write(struct orr_component *c, struct gpu *s, unsigned q)
{
    struct gpu_queue *Q = &s->aQueue[q];
    struct gpu_signal g = {.value = Q->cur.w[2], .time_ps = orr_now(c->sim),
                           .errors = Q->errors};
    struct orr_msg m = pcie_mwr(c->sim, s->requester, Q->cur.w[1], &g, sizeof g);
    gpu_send_pcie(c, s, &m);
}

/* Wake queues waiting for a resource or another queue, in queue order. */
static void gpu_wake(struct orr_component *c, struct gpu *s)
{
    for (unsigned q = 0; q < s->nQueue; q++) {
        struct gpu_queue *Q = &s->aQueue[q];
        struct gpu_part *pt = &s->aPart[Q->part];
        if (Q->state == Q_WAIT_QUEUE) {
            unsigned other = (unsigned)Q->cur.w[1];
            if (s->aQueue[other].completed >= Q->cur.w[2])
                gpu_retire(c, s, q, 0);
        } else if (Q->state == Q_WAIT_SM && !pt->run.busy) {
            Q->state = Q_RUNNING;
            gpu_kernel_start(c, s, q);
        } else if (Q->state == Q_WAIT_CE) {
            for (unsigned e = pt->ce_first; e < pt->ce_first + pt->ce_n; e++)
                if (!s->aCE[e].busy) {
                    Q->state = Q_RUNNING;
                    gpu_copy_start(c, s, q, e);
                    break;
                }
        }
    }
}

void gpu_retire(struct orr_component *c, struct gpu *s, unsigned q, unsigned err)
{
    struct gpu_queue *Q = &s->aQueue[q];
    Q->completed++;
    s->commands->v++;
    if (err) {
        Q->errors++;
        s->cmd_errors->v++;
        orr_trace_point(c, s->kCmdError, (uint64_t)q << 8 | err, Q->cur.w[0]);
    }
    if (gpu_cmd_flags(Q->cur.w[0]) & GPU_F_IRQ) {
        uint32_t v = q;
        struct orr_msg m = pcie_mwr(c->sim, s->requester, s->msix_addr, &v, sizeof v);
        gpu_send_pcie(c, s, &m);
        s->irqs->v++;
    }
    Q->state = Q_IDLE;
    queue_next(c, s, q);
    gpu_wake(c, s);
}

/* Retire a command lost to a reset: an error, but a SIGNAL still writes
 * (with the error count) so a host waiting on it learns what happened. */
static void retire_lost(struct orr_component *c, struct gpu *s, unsigned q, unsigned err)
{
    struct gpu_queue *Q = &s->aQueue[q];
    Q->completed++;
    Q->errors++;
    s->commands->v++;
    s->cmd_errors->v++;
    orr_trace_point(c, s->kCmdError, (uint64_t)q << 8 | err, Q->cur.w[0]);
    if (gpu_cmd_op(Q->cur.w[0]) == GPU_OP_SIGNAL)
        signal_write(c, s, q);
    if (gpu_cmd_flags(Q->cur.w[0]) & GPU_F_IRQ) {
        uint32_t v = q;
        struct orr_msg m = pcie_mwr(c->sim, s->requester, s->msix_addr, &v, sizeof v);
        gpu_send_pcie(c, s, &m);
        s->irqs->v++;
    }
}

void gpu_part_reset(struct orr_component *c, struct gpu *s, unsigned part)
{
    struct gpu_part *pt = &s->aPart[part];
    unsigned hung = pt->run.queue;
    pt->run.busy = false;
    s->resets->v++;
    orr_trace_point(c, s->kReset, part, hung);
    for (unsigned e = pt->ce_first; e < pt->ce_first + pt->ce_n; e++)
        s->aCE[e].busy = false; /* late completions and acks are ignored */
    for (unsigned q = 0; q < s->nQueue; q++) {
        struct gpu_queue *Q = &s->aQueue[q];
        if (Q->part != part)
            continue;
        if (Q->state != Q_IDLE)
            retire_lost(c, s, q, q == hung ? GPU_ERR_TIMEOUT : GPU_ERR_RESET);
        while (Q->n) {
            Q->cur = Q->aRing[Q->head];
            Q->head = (Q->head + 1) % s->queue_depth;
            Q->n--;
            retire_lost(c, s, q, GPU_ERR_RESET);
        }
        Q->state = Q_IDLE;
        Q->epoch++;
    }
    gpu_wake(c, s);
}

static void queue_dispatch(struct orr_component *c, struct gpu *s, unsigned q)
{
    struct gpu_queue *Q = &s->aQueue[q];
    unsigned err;
    switch (gpu_cmd_op(Q->cur.w[0])) {
    case GPU_OP_NOP:
        gpu_retire(c, s, q, 0);
        return;
    case GPU_OP_SIGNAL:
        signal_write(c, s, q);
        gpu_retire(c, s, q, 0);
        return;
    case GPU_OP_WAIT:
        if (Q->cur.w[1] >= s->nQueue) {
            gpu_retire(c, s, q, GPU_ERR_BAD_OP);
            return;
        }
        Q->state = Q_WAIT_QUEUE;
        gpu_wake(c, s);
        return;
    case GPU_OP_COPY:
        if ((err = gpu_copy_check(s, q)) != 0) {
            gpu_retire(c, s, q, err);
            return;
        }
        Q->state = Q_WAIT_CE;
        gpu_wake(c, s);
        return;
    case GPU_OP_LAUNCH:
        if ((err = gpu_kernel_check(s, q)) != 0) {
            gpu_retire(c, s, q, err);
            return;
        }
        Q->state = Q_WAIT_SM;
        gpu_wake(c, s);
        return;
    default:
        gpu_retire(c, s, q, GPU_ERR_BAD_OP);
    }
}

static void submit(struct orr_component *c, struct gpu *s, unsigned q)
{
    struct gpu_queue *Q = &s->aQueue[q];
    if (Q->n == s->queue_depth) {
        /* refused: retired at once with an error, in order with nothing */
        Q->completed++;
        Q->errors++;
        s->cmd_errors->v++;
        orr_trace_point(c, s->kCmdError, (uint64_t)q << 8 | GPU_ERR_QUEUE_FULL, Q->slot.w[0]);
        return;
    }
    Q->aRing[(Q->head + Q->n) % s->queue_depth] = Q->slot;
    Q->n++;
    queue_next(c, s, q);
}

/* A TLP for the BAR: register writes (command words) and reads. */
static void bar_access(struct orr_component *c, struct gpu *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    if (h.type == PCIE_MWR) {
        const uint8_t *b = orr_blob_get(c->sim, ev->data[1]);
        uint64_t off, v = 0;
        memcpy(&off, b, sizeof off);
        memcpy(&v, b + PCIE_WR_ADDR_BYTES, h.length < 8 ? h.length : 8);
        orr_blob_free(c->sim, ev->data[1]);
        if (off >= GPU_REG_QUEUE(0) && off < GPU_REG_QUEUE(s->nQueue) && off % 8 == 0) {
            unsigned q = (unsigned)((off - GPU_REG_QUEUE(0)) / 0x40);
            unsigned w = (unsigned)((off - GPU_REG_QUEUE(q)) / 8);
            s->aQueue[q].slot.w[w] = v;
            if (w == GPU_CMD_WORDS - 1)
                submit(c, s, q);
        }
        return;
    }
    uint64_t off = ev->data[1], v = ~UINT64_C(0);
    if (off == GPU_REG_ID)
        v = GPU_DEVICE_ID;
    else if (off >= GPU_REG_COMPLETED(0) && off < GPU_REG_COMPLETED(s->nQueue))
        v = s->aQueue[(off - GPU_REG_COMPLETED(0)) / 8].completed;
    else if (off >= GPU_REG_ERRORS(0) && off < GPU_REG_ERRORS(s->nQueue))
        v = s->aQueue[(off - GPU_REG_ERRORS(0)) / 8].errors;
    void *b;
    struct pcie_hdr r = {.type = PCIE_CPLD, .tag = h.tag, .requester = h.requester,
                         .length = h.length};
    struct orr_msg m = {.size = pcie_wire_bytes(h.length), .data = {pcie_hdr_pack(&r), 0}};
    m.data[1] = orr_blob_new(c->sim, h.length ? h.length : 1, &b);
    memcpy(b, &v, h.length < 8 ? h.length : 8);
    gpu_send_pcie(c, s, &m);
}

static void gpu_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct gpu *s = c->state;
    if (ev->kind == ORR_TK_READY) {
        if (ev->port == s->pcie->index) {
            orr_outq_drain(&s->pcieQ, s->pcie);
            return;
        }
        for (unsigned i = 0; i < s->nNvl; i++)
            if (ev->port == s->aNvl[i]->index)
                orr_outq_drain(&s->aNvlQ[i], s->aNvl[i]);
        return;
    }
    if (ev->kind == ORR_TK_TIMER) {
        switch (ev->port) {
        case T_DECODED:
            if (ev->data[1] == s->aQueue[ev->data[0]].epoch &&
                s->aQueue[ev->data[0]].state == Q_DECODE)
                queue_dispatch(c, s, (unsigned)ev->data[0]);
            return;
        case T_WAVE:
        case T_WATCHDOG:
            gpu_kernel_timer(c, s, ev);
            return;
        default:
            gpu_copy_timer(c, s, ev);
            return;
        }
    }
    if (ev->kind != ORR_TK_MSG)
        return;
    if (ev->port == s->pcie->index) {
        unsigned type = pcie_hdr_unpack(ev->data[0]).type;
        if (type == PCIE_CPLD || type == PCIE_CPL_UR)
            gpu_copy_completion(c, s, ev);
        else
            bar_access(c, s, ev);
        return;
    }
    for (unsigned i = 0; i < s->nNvl; i++)
        if (ev->port == s->aNvl[i]->index)
            gpu_nvl_message(c, s, i, ev);
}

static void gpu_destroy(struct orr_component *c)
{
    struct gpu *s = c->state;
    orr_outq_free(&s->pcieQ);
    for (unsigned i = 0; i < s->nNvl; i++)
        orr_outq_free(&s->aNvlQ[i]);
    for (unsigned q = 0; q < GPU_MAX_QUEUES; q++)
        free(s->aQueue[q].aRing);
    for (unsigned e = 0; e < GPU_MAX_CE; e++) {
        free(s->aCE[e].aTagUsed);
        free(s->aCE[e].aTagOff);
    }
    linestore_free(&s->store);
}

const struct orr_component_type orr_gpu_type = {
    .name = "gpu",
    .summary = "GPU on PCIe: queues, copy engines, SMs with a roofline, HBM, NVLink, partitions",
    .params = gpu_params,
    .ports = gpu_ports,
    .metrics = gpu_metrics,
    .state_size = sizeof(struct gpu),
    .create = gpu_create,
    .start = gpu_start,
    .handle = gpu_handle,
    .destroy = gpu_destroy,
};
