/* tcore: a trace-driven core (tcore.h).
 *
 * Execution. The core runs ahead of simulated time on its own clock: hits
 * in its private caches and compute bursts only advance a local time, with
 * no event (DESIGN.md §2). It stops to wait for a miss whose value it
 * needs, when `mlp` loads are in flight, when its store buffer is full, or
 * when it is more than `quantum` ahead of global time (then it sleeps until
 * global time catches up). Requests it sends while ahead leave at its local
 * time. Every access is performed in event order, so the coherence checks
 * see one consistent history whatever the quantum.
 *
 * Memory model (x86-TSO, the default): stores retire into a FIFO store
 * buffer and drain one at a time into the cache in program order; a load
 * takes its value from the youngest buffered store to the same address
 * (forwarding) or from the cache, so a load may pass older stores to other
 * addresses (the SB and R litmus outcomes). Fences and atomics drain the
 * buffer first. `store_buffer: 0` sends stores straight to the cache, in
 * order with loads (sequential consistency for a one-load-at-a-time
 * stream). `memory_model: weak` lets stores to different lines drain in
 * any order (store-store reordering, as RISC-V and Arm allow); stores to one
 * line stay in order.
 *
 * Testing switches (all off by default, drawing no random numbers then, so
 * no digest depends on them): `drain_jitter` and `drain_hold` delay when a
 * buffered store may drain (litmus runs, docs/litmus.md); `sb_mutation`
 * breaks the buffer on purpose — `no-forward` skips forwarding,
 * `any-order` drains any store first — for the litmus catalogue to catch.
 *
 * Interrupts (a periodic timer, or `interrupt` faults) and frequency changes
 * (`set_frequency` faults) act on the core's clock; the energy counter is a
 * per-operation model (docs/cores.md).
 *
 * Liveness: a request in flight longer than `deadlock` fails the run with
 * the line and the last coherence messages (pcache_deadlocked). */
#include "hw/registry.h"

#include <stdlib.h>
#include <string.h>

#include "hw/array.h"
#include "hw/core.h"
#include "hw/cohmon.h"
#include "hw/pcache.h"
#include "hw/protocol.h"
#include "orrery/checkpoint.h"
#include "workloads/litmus.h"
#include "workloads/memgen.h"

static const char *const memory_models[] = {"tso", "weak", NULL};
/* Store-buffer bugs to inject (sb_mutation): what a litmus catalogue must
 * catch (docs/litmus.md). Index 0 is the correct buffer. */
enum sb_mutation { SB_MUT_NONE, SB_MUT_NO_FORWARD, SB_MUT_ANY_ORDER };
static const char *const sb_mutations[] = {"none", "no-forward", "any-order", NULL};
static const char *const irq_kinds[] = {"timer", "ipi", "device", NULL};

const struct orr_param core_params[] = {
    {"quantum", ORR_P_TIME, "100ns", ORR_PF_POSITIVE, "how far a core may run ahead of global time"},
    {NULL},
};

const struct orr_param tcore_pipeline_params[] = {
    {"store_buffer", ORR_P_UINT, "16", 0, "store buffer entries per core; 0 = stores block", NULL,
     0, 256},
    {"mlp", ORR_P_UINT, "0", 0,
     "loads in flight per core; 0 = the workload's hint (at most mshrs - 1)", NULL, 0, 255},
    {"memory_model", ORR_P_ENUM, "tso", 0,
     "tso: the store buffer drains in order; weak: stores to different lines may drain out of "
     "order (RISC-V/Arm-style store-store reordering)", memory_models},
    {"timer_period", ORR_P_TIME, "0ps", 0, "a timer interrupt on a core every period; 0 = none"},
    {"start_jitter", ORR_P_TIME, "0ps", 0,
     "testing: a core starts after a seeded random delay in [0, start_jitter]"},
    {"drain_jitter", ORR_P_TIME, "0ps", 0,
     "testing: a buffered store may drain only after a seeded random delay in [0, drain_jitter]"},
    {"drain_hold", ORR_P_TIME, "0ps", 0,
     "testing: each core flips a seeded coin at start; on heads every store it buffers waits a "
     "further drain_hold before it may drain (a store held while other cores act)"},
    {"sb_mutation", ORR_P_ENUM, "none", 0,
     "debug: a store-buffer bug on purpose — no-forward (a load ignores the core's own buffered "
     "store to its address and reads the cache), any-order (any buffered store may drain first, "
     "to the same line too)", sb_mutations},
    {NULL},
};

static const struct orr_param tcore_params[] = {
    {"", ORR_P_INCLUDE, .group = pcache_params},        /* protocol, caches, mshrs, ... */
    {"", ORR_P_INCLUDE, .group = pcache_domain_params}, /* agent, homes */
    {"", ORR_P_INCLUDE, .group = core_params},
    {"", ORR_P_INCLUDE, .group = tcore_pipeline_params},
    {"core", ORR_P_UINT, "0", 0, "this core's index among the cores running the same workload"},
    {"ncores", ORR_P_UINT, "1", ORR_PF_POSITIVE, "cores running the same workload"},
    {"workload", ORR_P_MAP, "{}", 0, "operation stream (docs/workloads-mem.md); absent = idle"},
    {"litmus", ORR_P_STRING, "", 0, "run a thread of this litmus test instead (docs/litmus.md)"},
    {"litmus_thread", ORR_P_UINT, "0", 0, "which thread of the litmus test", NULL, 0,
     LITMUS_MAX_THREADS - 1},
    {"irq_entry", ORR_P_CYCLES, "200cy", 0, "cycles to take an interrupt (save, vector)"},
    {"irq_exit", ORR_P_CYCLES, "150cy", 0, "cycles to return from an interrupt"},
    {"energy_l1", ORR_P_UINT, "20", 0, "energy model: pJ per L1 hit"},
    {"energy_l2", ORR_P_UINT, "60", 0, "energy model: pJ per L2 hit"},
    {"energy_miss", ORR_P_UINT, "600", 0, "energy model: pJ per miss (the core's share)"},
    {"energy_cycle", ORR_P_UINT, "40", 0,
     "energy model: pJ per busy cycle at the configured frequency, scaled by (f/f0)^2 under DVFS"},
    {NULL},
};

static const struct orr_param freq_fault_params[] = {
    {"frequency", ORR_P_FREQ, NULL, ORR_PF_POSITIVE, "the new core clock"},
    {NULL},
};
static const struct orr_param irq_fault_params[] = {
    {"kind", ORR_P_ENUM, "device", 0, "what raised it (for the counters)", irq_kinds},
    {NULL},
};
/* explore: a DVFS step anywhere in 500 MHz..5 GHz (it stays: a later
 * firing changes it again); interrupts at most one per 100 ns on average */
static const struct orr_fault_draw freq_draws[] = {
    {"frequency", ORR_FD_VALUE, 500000000, 5000000000},
    {NULL},
};
static const struct orr_fault_explore freq_explore = {.min_interval = (1 * ORR_US),
                                                      .draws = freq_draws};
static const struct orr_fault_explore irq_explore = {.min_interval = (100 * ORR_NS)};
static const struct orr_fault_desc tcore_faults[] = {
    {"set_frequency", "DVFS: change the core clock from this instant", freq_fault_params,
     &freq_explore},
    {"interrupt", "deliver an interrupt: the core pays irq_entry + irq_exit cycles", irq_fault_params,
     &irq_explore},
    {NULL},
};

static const struct orr_port_doc tcore_ports[] = {
    {"mem", "coherence messages to and from the homes (through a router)"},
    {NULL},
};

enum { T_STEP = 1, T_DEADLOCK = 2, T_DRAIN = 3, T_TIMER_IRQ = 4 };

struct sb_entry {
    uint64_t addr, val;
    orr_time_t ready; /* may drain from then on (drain_jitter) */
    uint8_t size;
};

struct tcore {
    struct orr_component *c;
    struct core_shell sh;        /* caches, local time, step and run flags, liveness */
    struct memgen *gen;
    struct orr_params wp;
    struct litmus_test *lt;          /* litmus mode: the test and this thread's state */
    struct litmus_thread_state ls;
    struct orr_value *aLitReg[LITMUS_NREG];
    orr_time_t start_jitter, drain_jitter;
    orr_time_t drain_hold;    /* this core holds its stores this long (its coin came up heads) */
    bool drain_timer;
    bool weak;                /* memory_model: weak */
    enum sb_mutation sb_mut;
    orr_time_t timer_period;
    uint64_t irq_entry, irq_exit;
    uint64_t e_l1, e_l2, e_miss, e_cycle; /* pJ */
    uint64_t busy_cycles;     /* cycles spent computing, hitting and in interrupts */
    double cycle_pj;          /* energy of those cycles, at the frequency of each */
    double cycle_scale;       /* (f / f_nominal)^2: dynamic energy per cycle ~ V^2 ~ f^2 */
    orr_time_t nominal_cycle;
    orr_time_t cyc_mark;      /* cycles before cyc_mark are in cyc_acc (DVFS) */
    uint64_t cyc_acc;
    struct orr_counter *irqs[3], *irq_cycles, *freq_changes, *sb_reordered;
    struct orr_value *energy;
    bool gen_done, waiting_value, stalled;
    uint32_t loads_out, mlp;
    /* the operation that could not issue yet */
    bool have_op;
    struct memop op;
    /* store buffer (FIFO) */
    struct sb_entry *aSb;
    uint32_t nSb, sbHead, sbCap;
    bool sb_out;             /* the head store is in flight */
    uint32_t next_tag;
    uint32_t value_tag;      /* tag of the operation whose value the generator waits for */
    struct orr_counter *ops, *loads, *stores, *atomics, *fences, *computes, *forwarded,
        *sb_full, *cycles_busy;
    struct orr_histogram *load_latency;
    struct orr_value *ipc, *iter_time;
    struct orr_counter *iters;
    orr_time_t finish_time;
    /* the workload's timed phase (memgen_measuring): local times it began
     * and ended, and what it moved */
    bool meas_on, meas_done;
    orr_time_t meas_start, meas_end;
    struct orr_value *meas_bw, *meas_t0, *meas_t1;
    struct orr_counter *meas_bytes;
    struct orr_counter *bad_values;
};

#define TAG_SB 0x80000000u

/* ----------------------------------------------------------- execution */

/* The operation source: a memgen generator or a litmus thread. */
static bool has_source(const struct tcore *t) { return t->gen || t->lt; }

static enum memgen_status src_next(struct tcore *t, struct memop *op)
{
    if (t->lt)
        return litmus_thread_next(&t->ls, op);
    return t->gen ? memgen_next(t->gen, &t->c->rng, op) : MEMGEN_DONE;
}

static void src_result(struct tcore *t, uint64_t v)
{
    if (t->lt)
        litmus_thread_result(&t->ls, v);
    else
        memgen_result(t->gen, v);
}

static void run(struct tcore *t);

/* The op just fetched starts or ends the workload's timed phase. */
static void note_phase(struct tcore *t)
{
    bool m = memgen_measuring(t->gen);
    if (m && !t->meas_on) {
        t->meas_on = true;
        t->meas_start = t->sh.local;
    } else if (!m && t->meas_on) {
        t->meas_on = false;
        t->meas_done = true;
        t->meas_end = t->sh.local;
    }
}

static void on_done(void *arg, uint32_t tag, uint64_t value)
{
    struct tcore *t = arg;
    if (tag & TAG_SB) {
        t->sb_out = false;
        t->sbHead++;
        t->nSb--;
    } else {
        t->loads_out--;
        if (t->waiting_value && tag == t->value_tag) {
            t->waiting_value = false;
            src_result(t, value);
        }
    }
    t->sh.run_pending = true;
}

static void on_wake(void *arg)
{
    struct tcore *t = arg;
    t->stalled = false;
    t->sh.run_pending = true;
}

static struct sb_entry *sb_at(struct tcore *t, uint32_t i) { return &t->aSb[i % t->sbCap]; }

/* Weak model: bring a random store that may drain now to the head — one
 * whose drain delay is over and with no older store to its line in the
 * buffer (stores to one location stay in order: coherence) — so stores to
 * different lines drain in any order. The any-order mutation drops the
 * same-line rule. */
static void sb_pick(struct tcore *t)
{
    uint32_t aOk[256], nOk = 0, soonest = 0;
    for (uint32_t k = 0; k < t->nSb; k++) {
        struct sb_entry *e = sb_at(t, t->sbHead + k);
        bool older = false;
        for (uint32_t j = 0; j < k && !older && t->sb_mut != SB_MUT_ANY_ORDER; j++)
            older = sb_at(t, t->sbHead + j)->addr / ORR_LINE_BYTES == e->addr / ORR_LINE_BYTES;
        if (older)
            continue;
        if (e->ready <= t->sh.local)
            aOk[nOk++] = k;
        else if (e->ready < sb_at(t, t->sbHead + soonest)->ready)
            soonest = k;
    }
    /* nothing may drain yet: the one due first goes to the head, to wait */
    uint32_t k = nOk ? aOk[orr_rng_below(&t->c->rng, nOk)] : soonest;
    if (k == 0)
        return;
    struct sb_entry tmp = *sb_at(t, t->sbHead + k);
    for (uint32_t j = k; j > 0; j--)
        *sb_at(t, t->sbHead + j) = *sb_at(t, t->sbHead + j - 1);
    *sb_at(t, t->sbHead) = tmp;
    t->sb_reordered->v++;
}

/* Try to move the head of the store buffer into the cache. */
static void sb_drain(struct tcore *t)
{
    while (t->nSb && !t->sb_out) {
        if (t->weak || t->sb_mut == SB_MUT_ANY_ORDER)
            sb_pick(t);
        struct sb_entry *e = sb_at(t, t->sbHead);
        if (e->ready > t->sh.local) { /* not yet: wake when it may go */
            if (!t->drain_timer) {
                t->drain_timer = true;
                orr_timer(t->c, e->ready - orr_now(t->c->sim), T_DRAIN, 0, 0);
            }
            return;
        }
        struct pc_req r = {ORR_OP_STORE, e->size, TAG_SB | (t->sbHead & 0xFFFFFF), e->addr, e->val, 0};
        uint64_t v;
        uint32_t cyc = 0;
        t->sh.pc.skew = t->sh.local - orr_now(t->c->sim);
        enum pcache_rc rc = pcache_access(&t->sh.pc, &r, &v, &cyc);
        if (rc == PC_HIT) {
            t->sbHead++;
            t->nSb--;
        } else if (rc == PC_MISS) {
            t->sb_out = true;
        } else {
            t->stalled = true;
            return;
        }
    }
}

/* A buffered store that a load of (addr, size) must see, or -1 if none;
 * -2 if one overlaps without matching exactly (the load waits for it). */
static int64_t sb_forward(struct tcore *t, uint64_t addr, unsigned size)
{
    for (uint32_t k = t->nSb; k-- > 0;) {
        struct sb_entry *e = sb_at(t, t->sbHead + k);
        if (e->addr == addr && e->size == size)
            return (int64_t)k;
        if (e->addr < addr + size && addr < e->addr + e->size)
            return -2;
    }
    return -1;
}

/* Issue one operation. Returns false if it cannot issue now. */
static bool issue(struct tcore *t, const struct memop *op)
{
    struct orr_sim *sim = t->c->sim;
    uint64_t v = 0;
    uint32_t cyc = 0;
    switch (op->op) {
    case ORR_OP_COMPUTE:
        t->computes->v++;
        t->sh.local += (orr_time_t)op->cycles * t->sh.cycle;
        t->busy_cycles += op->cycles;
        t->cycle_pj += (double)op->cycles * t->cycle_scale;
        return true;
    case ORR_OP_FENCE:
        if (t->nSb)
            return false;
        t->fences->v++;
        return true;
    case ORR_OP_STORE:
        if (t->sbCap) {
            if (t->nSb == t->sbCap) {
                t->sb_full->v++;
                return false;
            }
            orr_time_t ready = t->sh.local + t->drain_hold +
                               (t->drain_jitter ? orr_rng_below(&t->c->rng, t->drain_jitter + 1)
                                                : 0);
            *sb_at(t, t->sbHead + t->nSb) = (struct sb_entry){op->addr, op->val, ready, op->size};
            t->nSb++;
            t->stores->v++;
            return true;
        }
        break;
    case ORR_OP_LOAD: {
        int64_t k = t->sb_mut == SB_MUT_NO_FORWARD ? -1 : sb_forward(t, op->addr, op->size);
        if (k == -2)
            return false;
        if (k >= 0) {
            t->forwarded->v++;
            t->loads->v++;
            src_result(t, sb_at(t, t->sbHead + (uint32_t)k)->val);
            t->sh.local += t->sh.cycle;
            return true;
        }
        if (t->loads_out >= t->mlp)
            return false;
        break;
    }
    default: /* atomics: drain the store buffer first */
        if (t->nSb || t->loads_out)
            return false;
        break;
    }
    struct pc_req r = {op->op,  op->size,   t->next_tag & 0xFFFFFF, op->addr,
                       op->val, op->expect, op->site};
    t->sh.pc.skew = t->sh.local - orr_now(sim);
    enum pcache_rc rc = pcache_access(&t->sh.pc, &r, &v, &cyc);
    if (rc == PC_RETRY) {
        t->stalled = true;
        return false;
    }
    t->next_tag++;
    if (op->op == ORR_OP_LOAD)
        t->loads->v++;
    else if (op->op == ORR_OP_STORE)
        t->stores->v++;
    else
        t->atomics->v++;
    if (rc == PC_HIT) {
        t->sh.local += (orr_time_t)cyc * t->sh.cycle;
        t->busy_cycles += cyc;
        t->cycle_pj += (double)cyc * t->cycle_scale;
        orr_histogram_add(t->load_latency, (orr_time_t)cyc * t->sh.cycle);
        if (op->op != ORR_OP_STORE)
            src_result(t, v);
        return true;
    }
    /* a miss: the value comes later */
    if (op->op != ORR_OP_STORE) {
        t->loads_out++;
        t->value_tag = r.tag;
    } else {
        /* a blocking store (no store buffer) counts as a load-like wait */
        t->loads_out++;
        t->value_tag = r.tag;
    }
    return true;
}

static void finish_if_done(struct tcore *t)
{
    if (t->sh.done || !t->gen_done || t->have_op || t->nSb || t->loads_out || t->sb_out)
        return;
    t->sh.done = true;
    t->finish_time = t->sh.local;
    orr_workload_done(t->c);
}

static void run(struct tcore *t)
{
    t->sh.run_pending = false;
    if (t->sh.step_pending || t->sh.done)
        return;
    core_shell_catch_up(&t->sh);
    for (;;) {
        sb_drain(t);
        if (core_shell_ahead(&t->sh))
            break;
        if (t->waiting_value || t->stalled)
            break;
        if (!t->have_op) {
            enum memgen_status st = src_next(t, &t->op);
            if (st == MEMGEN_WAIT) {
                t->waiting_value = true;
                if (t->loads_out == 0) {
                    orr_sim_fail(t->c, "workload waits for a value nothing will deliver");
                    return;
                }
                break;
            }
            if (st == MEMGEN_DONE) {
                t->gen_done = true;
                break;
            }
            t->have_op = true;
            if (t->gen && !t->meas_done)
                note_phase(t);
        }
        if (!issue(t, &t->op))
            break;
        t->ops->v++;
        t->have_op = false;
    }
    t->sh.pc.skew = 0;
    finish_if_done(t);
}

/* ------------------------------------------------------------ component */

static int tcore_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct tcore *t = c->state;
    t->c = c;
    struct pcache_ops ops = {on_done, on_wake};
    int rc = core_shell_create(&t->sh, c, p, &ops, t, T_STEP, T_DEADLOCK, d);
    if (rc)
        return rc;
    const struct pcache_config *cfg = &t->sh.setup.cfg;
    t->sbCap = (uint32_t)orr_param_u64(p, "store_buffer");
    if (t->sbCap && !(t->aSb = calloc(t->sbCap, sizeof *t->aSb)))
        return ORR_ENOMEM;
    const struct orr_node *w = orr_param_map(p, "workload");
    if (w) {
        char kp[256];
        snprintf(kp, sizeof kp, "%s.workload", c->keypath ? c->keypath : c->path);
        if (orr_params_parse(memgen_params, w, kp, NULL, &t->wp, d))
            return ORR_ESCHEMA;
        rc = memgen_create(&t->gen, &t->wp, kp, (unsigned)orr_param_u64(p, "core"),
                           (unsigned)orr_param_u64(p, "ncores"), d);
        if (rc)
            return rc == ORR_EINVAL ? (orr_diag_error(d, orr_param_mark(p, "core"), c->keypath,
                                                      "core must be below ncores"),
                                       ORR_ESCHEMA)
                                    : rc;
    }
    const char *lit = orr_param_str(p, "litmus");
    if (*lit) {
        if (t->gen) {
            orr_diag_error(d, orr_param_mark(p, "litmus"), c->keypath,
                           "a core runs either a workload or a litmus thread, not both");
            return ORR_ESCHEMA;
        }
        t->lt = malloc(sizeof *t->lt);
        if (!t->lt)
            return ORR_ENOMEM;
        if ((rc = litmus_load(t->lt, lit, 0, d)))
            return rc == ORR_EIO ? ORR_ESCHEMA : rc;
        unsigned th = (unsigned)orr_param_u64(p, "litmus_thread");
        if (th >= t->lt->nThread) {
            orr_diag_error(d, orr_param_mark(p, "litmus_thread"), c->keypath,
                           "litmus test %s has %u threads; thread %u does not exist",
                           t->lt->name, t->lt->nThread, th);
            return ORR_ESCHEMA;
        }
        litmus_thread_init(&t->ls, t->lt, th);
        for (unsigned r = 0; r < LITMUS_NREG; r++) {
            char name[32];
            snprintf(name, sizeof name, "litmus.%s", litmus_reg_name(r));
            t->aLitReg[r] = orr_value_new(c, name, "");
        }
    }
    t->start_jitter = orr_param_u64(p, "start_jitter");
    t->drain_jitter = orr_param_u64(p, "drain_jitter");
    t->drain_hold = orr_param_u64(p, "drain_hold");
    t->sb_mut = (enum sb_mutation)orr_param_enum(p, "sb_mutation");
    if (t->sb_mut != SB_MUT_NONE)
        orr_sim_knob(c, "sb_mutation", sb_mutations[t->sb_mut]);
    t->weak = orr_param_enum(p, "memory_model") == 1;
    t->timer_period = orr_param_u64(p, "timer_period");
    t->irq_entry = orr_param_u64(p, "irq_entry");
    t->irq_exit = orr_param_u64(p, "irq_exit");
    t->e_l1 = orr_param_u64(p, "energy_l1");
    t->e_l2 = orr_param_u64(p, "energy_l2");
    t->e_miss = orr_param_u64(p, "energy_miss");
    t->e_cycle = orr_param_u64(p, "energy_cycle");
    t->nominal_cycle = t->sh.cycle;
    t->cycle_scale = 1.0;
    uint32_t mlp = (uint32_t)orr_param_u64(p, "mlp");
    if (!mlp)
        mlp = t->gen && memgen_mlp(t->gen) ? memgen_mlp(t->gen) : 1;
    t->mlp = mlp < cfg->mshrs ? mlp : cfg->mshrs - 1;
    t->ops = orr_counter_new(c, "ops", "op");
    t->loads = orr_counter_new(c, "loads", "op");
    t->stores = orr_counter_new(c, "stores", "op");
    t->atomics = orr_counter_new(c, "atomics", "op");
    t->fences = orr_counter_new(c, "fences", "op");
    t->computes = orr_counter_new(c, "computes", "op");
    t->forwarded = orr_counter_new(c, "sb_forwarded", "op");
    t->sb_full = orr_counter_new(c, "sb_full_stalls", "event");
    t->cycles_busy = orr_counter_new(c, "cycles", "cy");
    t->load_latency = orr_histogram_new(c, "hit_latency", "ps");
    t->ipc = orr_value_new(c, "ops_per_cycle", "");
    for (unsigned k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "interrupts.%s", irq_kinds[k]);
        t->irqs[k] = orr_counter_new(c, name, "irq");
    }
    t->irq_cycles = orr_counter_new(c, "interrupt_cycles", "cy");
    t->freq_changes = orr_counter_new(c, "frequency_changes", "change");
    t->sb_reordered = orr_counter_new(c, "sb_reordered", "store");
    t->energy = orr_value_new(c, "energy", "uJ");
    if (t->gen) {
        t->iters = orr_counter_new(c, "iterations", "iter");
        t->iter_time = orr_value_new(c, "time_per_iteration", "ns");
        t->meas_bytes = orr_counter_new(c, "measured.bytes", "B");
        t->bad_values = orr_counter_new(c, "bad_values", "value");
        t->meas_done = !memgen_has_phase(t->gen); /* nothing to watch per op */
        t->meas_t0 = orr_value_new(c, "measured.start", "ns");
        t->meas_t1 = orr_value_new(c, "measured.end", "ns");
        t->meas_bw = orr_value_new(c, "measured.bandwidth", "GB/s");
    }
    return 0;
}

/* An interrupt costs the core its entry and exit: the time is added to the
 * core's local clock (the handler itself is not modelled). */
static void take_interrupt(struct tcore *t, unsigned kind)
{
    if (t->sh.done)
        return;
    orr_time_t now = orr_now(t->c->sim);
    if (t->sh.local < now)
        t->sh.local = now;
    uint64_t cy = t->irq_entry + t->irq_exit;
    t->sh.local += (orr_time_t)cy * t->sh.cycle;
    t->busy_cycles += cy;
    t->cycle_pj += (double)cy * t->cycle_scale;
    t->irqs[kind]->v++;
    t->irq_cycles->v += cy;
}

static void tcore_fault(struct orr_component *c, unsigned fault, const struct orr_params *p)
{
    struct tcore *t = c->state;
    if (fault == 0) { /* set_frequency: from now on */
        orr_time_t now = orr_now(c->sim);
        if (t->sh.local < now)
            t->sh.local = now;
        t->cyc_acc += (t->sh.local - t->cyc_mark) / t->sh.cycle;
        t->cyc_mark = t->sh.local;
        t->sh.cycle = (orr_time_t)(UINT64_C(1000000000000) / orr_param_u64(p, "frequency"));
        t->sh.pc.cfg.cycle_ps = t->sh.cycle;
        double r = (double)t->nominal_cycle / (double)t->sh.cycle;
        t->cycle_scale = r * r;
        t->freq_changes->v++;
        return;
    }
    take_interrupt(t, orr_param_enum(p, "kind"));
}

static int tcore_start(struct orr_component *c, struct orr_diag *d)
{
    struct tcore *t = c->state;
    if (core_shell_check_linked(&t->sh, d))
        return ORR_ESCHEMA;
    if (!has_source(t)) {
        t->sh.done = true;
        orr_workload_done(c);
        return 0;
    }
    if (t->drain_hold && orr_rng_below(&c->rng, 2) == 0)
        t->drain_hold = 0; /* tails: this core drains as usual */
    t->sh.step_pending = true;
    orr_timer(c, t->start_jitter ? orr_rng_below(&c->rng, t->start_jitter + 1) : 0, T_STEP, 0, 0);
    if (t->timer_period)
        orr_timer(c, t->timer_period, T_TIMER_IRQ, 0, 0);
    core_shell_arm_deadlock(&t->sh);
    return 0;
}

static void tcore_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct tcore *t = c->state;
    enum core_event e = core_shell_event(&t->sh, ev);
    if (e == CORE_EV_STOP)
        return;
    if (e == CORE_EV_OTHER && ev->kind == ORR_TK_TIMER) {
        if (ev->port == T_TIMER_IRQ) {
            take_interrupt(t, 0);
            if (!t->sh.done)
                orr_timer(c, t->timer_period, T_TIMER_IRQ, 0, 0);
            return;
        }
        if (ev->port == T_DRAIN) {
            t->drain_timer = false;
            t->sh.run_pending = true;
        }
    }
    /* callbacks only flag work; the core runs once the cache is done */
    if (t->sh.run_pending)
        run(t);
}

static void tcore_finish(struct orr_component *c)
{
    struct tcore *t = c->state;
    orr_time_t end = t->sh.done ? t->finish_time : orr_now(c->sim);
    uint64_t cycles = t->cyc_acc + (end > t->cyc_mark ? (end - t->cyc_mark) / t->sh.cycle : 0);
    t->cycles_busy->v = cycles;
    t->ipc->v = cycles ? (double)t->ops->v / (double)cycles : 0.0;
    /* energy (docs/cores.md): a fixed cost per L1 hit, L2 hit and miss,
     * plus energy_cycle per busy cycle (compute, hits, interrupts) scaled
     * by (f/f0)^2 for the frequency it ran at; in uJ */
    double pj = (double)t->sh.pc.hits_l1->v * (double)t->e_l1 +
                (double)t->sh.pc.hits_l2->v * (double)t->e_l2 +
                (double)(t->sh.pc.misses->v + t->sh.pc.upgrades->v) * (double)t->e_miss +
                t->cycle_pj * (double)t->e_cycle;
    t->energy->v = pj / 1e6;
    if (t->gen) {
        struct memgen_stats st;
        memgen_stats(t->gen, &st);
        t->iters->v = st.nIter;
        t->bad_values->v = st.nBadValue;
        t->iter_time->v = st.nIter ? (double)end / 1000.0 / (double)st.nIter : 0.0;
        if (t->meas_on || t->meas_done) {
            orr_time_t t1 = t->meas_done ? t->meas_end : end;
            t->meas_bytes->v = memgen_measured_bytes(t->gen);
            t->meas_t0->v = (double)t->meas_start / 1000.0;
            t->meas_t1->v = (double)t1 / 1000.0;
            t->meas_bw->v = t1 > t->meas_start ? (double)t->meas_bytes->v * 1000.0 /
                                                     (double)(t1 - t->meas_start)
                                               : 0.0;
        }
    }
    for (unsigned r = 0; t->lt && r < LITMUS_NREG; r++)
        t->aLitReg[r]->v = (double)(int32_t)t->ls.aReg[r];
}

static void tcore_destroy(struct orr_component *c)
{
    struct tcore *t = c->state;
    core_shell_free(&t->sh);
    if (t->gen)
        memgen_destroy(t->gen);
    orr_params_free(&t->wp);
    free(t->aSb);
    free(t->lt);
}

static const struct orr_metric_doc tcore_metrics[] = {
    PCACHE_METRICS,
    {"litmus.<REG>", "", ORR_METRIC_VALUE,
     "a litmus thread's final register REG (EAX, EBX, ECX, EDX, ESI or EDI)"},
    {"ops", "op", ORR_METRIC_COUNTER,
     "operations executed (loads, stores, atomics, fences, computes)"},
    {"loads", "op", ORR_METRIC_COUNTER, "loads issued"},
    {"stores", "op", ORR_METRIC_COUNTER, "stores issued"},
    {"atomics", "op", ORR_METRIC_COUNTER, "atomic read-modify-writes issued"},
    {"fences", "op", ORR_METRIC_COUNTER, "fences executed"},
    {"computes", "op", ORR_METRIC_COUNTER, "compute bursts executed"},
    {"sb_forwarded", "op", ORR_METRIC_COUNTER, "loads served from the store buffer"},
    {"sb_full_stalls", "event", ORR_METRIC_COUNTER,
     "times a store waited for a free store-buffer entry"},
    {"cycles", "cy", ORR_METRIC_COUNTER,
     "core cycles from the start to the end of its work (or of the run)"},
    {"hit_latency", "ps", ORR_METRIC_HISTOGRAM, "accesses that hit in the private caches"},
    {"ops_per_cycle", "", ORR_METRIC_VALUE, "ops over cycles"},
    {"interrupts.<KIND>", "irq", ORR_METRIC_COUNTER,
     "interrupts taken, by KIND: timer, ipi or device"},
    {"interrupt_cycles", "cy", ORR_METRIC_COUNTER, "cycles spent entering and leaving interrupts"},
    {"frequency_changes", "change", ORR_METRIC_COUNTER, "set_frequency faults applied"},
    {"sb_reordered", "store", ORR_METRIC_COUNTER,
     "stores drained out of program order (memory_model: weak)"},
    {"energy", "uJ", ORR_METRIC_VALUE, "energy by the per-operation model (docs/cores.md)"},
    {"iterations", "iter", ORR_METRIC_COUNTER,
     "workload iterations completed (cores with a workload)"},
    {"time_per_iteration", "ns", ORR_METRIC_VALUE, "simulated time per workload iteration"},
    {"bad_values", "value", ORR_METRIC_COUNTER,
     "values the workload read that its pattern rules out (memgen nBadValue: a stream's "
     "array check, a chase's pointers, a protocol's words)"},
    {"measured.bytes", "B", ORR_METRIC_COUNTER,
     "bytes the workload's timed phase moved, by its convention (stream: STREAM's)"},
    {"measured.start", "ns", ORR_METRIC_VALUE, "when the timed phase began (core local time)"},
    {"measured.end", "ns", ORR_METRIC_VALUE, "when it ended (the first check op, or the end)"},
    {"measured.bandwidth", "GB/s", ORR_METRIC_VALUE,
     "measured.bytes over the timed phase (stream: this core's STREAM figure)"},
    {NULL},
};

/* ------------------------------------------------------ checkpoint/restore */

/* Dynamic state: the shell (caches, local time), the generator's progress,
 * the pipeline (the op waiting to issue, loads out, the store buffer),
 * energy and DVFS accounting, the timed phase. A litmus thread is not
 * saved (litmus runs are short and not scenarios): restoring one fails. */
static void tcore_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct tcore *t = c->state;
    orr_ckpt_put_u8(w, t->lt != NULL);
    core_shell_save(&t->sh, w);
    orr_ckpt_put_u8(w, t->gen != NULL);
    if (t->gen)
        memgen_save(t->gen, w);
    orr_ckpt_put_u64(w, t->drain_hold);
    orr_ckpt_put_u8(w, t->drain_timer);
    orr_ckpt_put_u64(w, t->timer_period);
    orr_ckpt_put_u64(w, t->busy_cycles);
    orr_ckpt_put_f64(w, t->cycle_pj);
    orr_ckpt_put_f64(w, t->cycle_scale);
    orr_ckpt_put_u64(w, t->cyc_mark);
    orr_ckpt_put_u64(w, t->cyc_acc);
    orr_ckpt_put_u8(w, t->gen_done);
    orr_ckpt_put_u8(w, t->waiting_value);
    orr_ckpt_put_u8(w, t->stalled);
    orr_ckpt_put_u32(w, t->loads_out);
    orr_ckpt_put_u8(w, t->have_op);
    orr_ckpt_put_array(w, &t->op, 1, sizeof t->op);
    orr_ckpt_put_u64(w, t->nSb);
    for (uint32_t i = 0; i < t->nSb; i++)
        orr_ckpt_put_array(w, &t->aSb[(t->sbHead + i) % t->sbCap], 1, sizeof *t->aSb);
    orr_ckpt_put_u8(w, t->sb_out);
    orr_ckpt_put_u32(w, t->next_tag);
    orr_ckpt_put_u32(w, t->value_tag);
    orr_ckpt_put_u64(w, t->finish_time);
    orr_ckpt_put_u8(w, t->meas_on);
    orr_ckpt_put_u8(w, t->meas_done);
    orr_ckpt_put_u64(w, t->meas_start);
    orr_ckpt_put_u64(w, t->meas_end);
}

static void tcore_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct tcore *t = c->state;
    if (orr_ckpt_get_u8(r) || t->lt) {
        orr_ckpt_fail(r, "a litmus thread cannot be restored");
        return;
    }
    core_shell_restore(&t->sh, r);
    if (orr_ckpt_get_u8(r) != (t->gen != NULL)) {
        orr_ckpt_fail(r, "the core's workload differs from the checkpoint's");
        return;
    }
    if (t->gen)
        memgen_restore(t->gen, r);
    t->drain_hold = orr_ckpt_get_u64(r);
    t->drain_timer = orr_ckpt_get_u8(r) != 0;
    t->timer_period = orr_ckpt_get_u64(r);
    t->busy_cycles = orr_ckpt_get_u64(r);
    t->cycle_pj = orr_ckpt_get_f64(r);
    t->cycle_scale = orr_ckpt_get_f64(r);
    t->cyc_mark = orr_ckpt_get_u64(r);
    t->cyc_acc = orr_ckpt_get_u64(r);
    t->gen_done = orr_ckpt_get_u8(r) != 0;
    t->waiting_value = orr_ckpt_get_u8(r) != 0;
    t->stalled = orr_ckpt_get_u8(r) != 0;
    t->loads_out = orr_ckpt_get_u32(r);
    t->have_op = orr_ckpt_get_u8(r) != 0;
    orr_ckpt_get_into(r, &t->op, sizeof t->op);
    uint64_t nSb = orr_ckpt_get_count(r, sizeof *t->aSb);
    if (nSb > t->sbCap) {
        orr_ckpt_fail(r, "a store buffer longer than the core's");
        return;
    }
    t->sbHead = 0;
    t->nSb = (uint32_t)nSb;
    for (uint32_t i = 0; i < t->nSb; i++)
        orr_ckpt_get_into(r, &t->aSb[i], sizeof *t->aSb);
    t->sb_out = orr_ckpt_get_u8(r) != 0;
    t->next_tag = orr_ckpt_get_u32(r);
    t->value_tag = orr_ckpt_get_u32(r);
    t->finish_time = orr_ckpt_get_u64(r);
    t->meas_on = orr_ckpt_get_u8(r) != 0;
    t->meas_done = orr_ckpt_get_u8(r) != 0;
    t->meas_start = orr_ckpt_get_u64(r);
    t->meas_end = orr_ckpt_get_u64(r);
}

const struct orr_component_type orr_tcore_type = {
    .name = "tcore",
    .summary = "trace-driven core: a workload's loads, stores, atomics and fences through a TSO "
               "store buffer and private coherent caches",
    .params = tcore_params,
    .ports = tcore_ports,
    .state_size = sizeof(struct tcore),
    .faults = tcore_faults,
    .metrics = tcore_metrics,
    .workload = true,
    .create = tcore_create,
    .fault = tcore_fault,
    .start = tcore_start,
    .handle = tcore_handle,
    .finish = tcore_finish,
    .destroy = tcore_destroy,
    .save = tcore_save,
    .restore = tcore_restore,
};
