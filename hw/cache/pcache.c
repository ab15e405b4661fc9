/* The private cache hierarchy and coherence agent (pcache.h). Every step
 * that touches coherence is one lookup in the protocol's cache table and
 * the execution of the actions it lists, in the order of the action bits;
 * nothing here knows which protocol it runs. */
#include "hw/pcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/cohmon.h"
#include "orrery/checkpoint.h"
#include "orrery/error.h"
#include "orrery/units.h"

struct pc_mshr {
    bool used;
    bool wb;             /* a writeback: state and data live here, not in a frame */
    bool has_req;        /* a core request waits for the grant */
    bool l1;             /* counts against the L1 miss buffers (cfg.mshrs) */
    uint8_t pf;          /* a prefetch: 1 + its unit; 0 once a demand joined it */
    bool pf_excl;        /* the prefetch asked for write permission */
    uint8_t wb_state;
    uint64_t line;
    orr_time_t start;
    orr_time_t req_start; /* when the waiting request was made (miss_latency) */
    struct pc_req req;
    uint8_t *buf;        /* a whole-line request's data (pcache_access_line) */
    uint8_t wb_data[ORR_LINE_BYTES];
};

struct pc_msg {
    struct orr_msg m;
};

/* Where a line's state lives: a frame of the outer array, a writeback
 * MSHR, or nowhere (state I). */
struct slot {
    int64_t frame;
    struct pc_mshr *wb;
    enum coh_state state;
};

static orr_time_t cyc(const struct pcache *pc, uint32_t n) { return (orr_time_t)n * pc->cfg.cycle_ps; }

static int prefetch_init(struct pcache *pc, const struct pcache_config *cfg);

bool pcache_geometry_ok(uint64_t size, uint32_t ways, uint32_t *sets)
{
    if (!ways || size % ((uint64_t)ways * ORR_LINE_BYTES))
        return false;
    uint64_t s = size / ((uint64_t)ways * ORR_LINE_BYTES);
    if (!s || (s & (s - 1)) || s > UINT32_MAX)
        return false;
    if (sets)
        *sets = (uint32_t)s;
    return true;
}

int pcache_init(struct pcache *pc, struct orr_component *c, struct orr_port *port,
                const struct pcache_config *cfg, const struct pcache_ops *ops, void *arg)
{
    memset(pc, 0, sizeof *pc);
    pc->comp = c;
    pc->port = port;
    pc->cfg = *cfg;
    pc->ops = *ops;
    pc->arg = arg;
    pc->has_l2 = cfg->l2_size != 0;
    uint32_t s1, s2 = 0;
    if (!pcache_geometry_ok(cfg->l1_size, cfg->l1_ways, &s1) ||
        (pc->has_l2 && !pcache_geometry_ok(cfg->l2_size, cfg->l2_ways, &s2)) || !cfg->mshrs ||
        (cfg->superqueue && cfg->superqueue < cfg->mshrs))
        return ORR_EINVAL;
    pc->nSlot = cfg->superqueue ? cfg->superqueue : cfg->mshrs;
    int rc = cache_array_init(&pc->l1, s1, cfg->l1_ways, cfg->repl);
    if (rc == 0 && pc->has_l2)
        rc = cache_array_init(&pc->outer, s2, cfg->l2_ways, cfg->repl);
    if (rc)
        return rc;
    struct cache_array *o = pc->has_l2 ? &pc->outer : &pc->l1;
    size_t n = (size_t)o->sets * o->ways;
    pc->aState = calloc(n, 1);
    pc->aData = calloc(n, ORR_LINE_BYTES);
    pc->aMshr = calloc(pc->nSlot, sizeof *pc->aMshr);
    pc->aPf = calloc(n, 1);
    if (!pc->aState || !pc->aData || !pc->aMshr || !pc->aPf)
        return ORR_ENOMEM;
    int prc = prefetch_init(pc, cfg);
    if (prc)
        return prc;
    if (cfg->check)
        pc->mon = cohmon_get(c->sim);
    if (cfg->trace_states)
        pc->tk_state = orr_trace_kind(c, "coh.state");
    pc->hits_l1 = orr_counter_new(c, "l1.hits", "access");
    pc->hits_l2 = orr_counter_new(c, pc->has_l2 ? "l2.hits" : "l1.hits_outer", "access");
    pc->misses = orr_counter_new(c, "misses", "access");
    pc->upgrades = orr_counter_new(c, "upgrades", "access");
    pc->writebacks = orr_counter_new(c, "writebacks", "line");
    pc->probes = orr_counter_new(c, "probes", "msg");
    pc->probe_data = orr_counter_new(c, "c2c_transfers", "line");
    pc->retries = orr_counter_new(c, "retries", "access");
    pc->msgs_out = orr_counter_new(c, "coh_msgs_out", "msg");
    static const char *const outcome_names[3] = {"useful", "late", "useless"};
    for (unsigned l = 0; l < PF_NLEVEL; l++) {
        char name[32];
        snprintf(name, sizeof name, "%s.pf.issued", pf_level_names[l]);
        pc->aPfIssued[l] = orr_counter_new(c, name, "line");
        snprintf(name, sizeof name, "%s.pf.dropped", pf_level_names[l]);
        pc->aPfDropped[l] = orr_counter_new(c, name, "line");
        for (unsigned o = 0; o < 3; o++) {
            snprintf(name, sizeof name, "%s.pf.%s", pf_level_names[l], outcome_names[o]);
            pc->aPfOutcome[l][o] = orr_counter_new(c, name, "line");
        }
    }
    pc->miss_latency = orr_histogram_new(c, "miss_latency", "ps");
    pc->aNodeLatency = calloc(cfg->nHome, sizeof *pc->aNodeLatency);
    if (!pc->aNodeLatency)
        return ORR_ENOMEM;
    for (size_t i = 0; i < cfg->nHome; i++) {
        char name[48];
        snprintf(name, sizeof name, "miss_latency.%s", cfg->aHome[i].name);
        pc->aNodeLatency[i] = orr_histogram_new(c, name, "ps");
    }
    return 0;
}

void pcache_free(struct pcache *pc)
{
    cache_array_free(&pc->l1);
    if (pc->has_l2)
        cache_array_free(&pc->outer);
    free(pc->aState);
    free(pc->aData);
    free(pc->aMshr);
    free(pc->aPf);
    for (uint32_t i = 0; i < pc->nUnit; i++)
        pf_unit_free(&pc->aUnit[i]);
    free(pc->aUnit);
    free(pc->aOut);
    free(pc->aNodeLatency);
}

static struct cache_array *outer(struct pcache *pc) { return pc->has_l2 ? &pc->outer : &pc->l1; }

/* Index of the home range holding line, or -1 (a model failure). */
static long home_index(const struct pcache *pc, uint64_t line)
{
    size_t lo = 0, hi = pc->cfg.nHome;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct pc_home_range *r = &pc->cfg.aHome[mid];
        if (line < r->base)
            hi = mid;
        else if (line - r->base >= r->size)
            lo = mid + 1;
        else
            return (long)mid;
    }
    return -1;
}

static uint32_t home_of(const struct pcache *pc, uint64_t line)
{
    long i = home_index(pc, line);
    if (i >= 0)
        return pc->cfg.aHome[i].agent;
    orr_sim_fail(pc->comp, "address %#llx is outside every memory range of the machine",
                 (unsigned long long)line);
    return pc->cfg.nHome ? pc->cfg.aHome[0].agent : 0;
}

static struct pc_mshr *mshr_find(struct pcache *pc, uint64_t line)
{
    for (uint32_t i = 0; i < pc->nSlot; i++)
        if (pc->aMshr[i].used && pc->aMshr[i].line == line)
            return &pc->aMshr[i];
    return NULL;
}

static struct pc_mshr *mshr_alloc(struct pcache *pc, uint64_t line, bool l1)
{
    for (uint32_t i = 0; i < pc->nSlot; i++)
        if (!pc->aMshr[i].used) {
            struct pc_mshr *m = &pc->aMshr[i];
            memset(m, 0, sizeof *m);
            m->used = true;
            m->line = line;
            m->start = orr_now(pc->comp->sim) + pc->skew;
            m->req_start = m->start;
            m->l1 = l1;
            pc->nMshrBusy++;
            pc->nL1Busy += l1;
            return m;
        }
    return NULL;
}

static void mshr_release(struct pcache *pc, struct pc_mshr *m)
{
    m->used = false;
    pc->nMshrBusy--;
    pc->nL1Busy -= m->l1;
    pc->nWbBusy -= m->wb;
    if (pc->want_wake) {
        pc->want_wake = false;
        pc->ops.wake(pc->arg);
    }
}

static struct slot find(struct pcache *pc, uint64_t line)
{
    struct slot s = {cache_array_find(outer(pc), line), NULL, CS_I};
    if (s.frame >= 0) {
        s.state = (enum coh_state)pc->aState[s.frame];
        return s;
    }
    /* only a writeback MSHR holds a line's state: skip the scan without one */
    struct pc_mshr *m = pc->nWbBusy ? mshr_find(pc, line) : NULL;
    if (m && m->wb) {
        s.wb = m;
        s.state = (enum coh_state)m->wb_state;
    }
    return s;
}

static uint8_t *slot_data(struct pcache *pc, const struct slot *s)
{
    if (s->frame >= 0)
        return pc->aData + (size_t)s->frame * ORR_LINE_BYTES;
    return s->wb ? s->wb->wb_data : NULL;
}

static void set_state(struct pcache *pc, struct slot *s, uint64_t line, enum coh_state next)
{
    if (pc->mon)
        cohmon_perm(pc->mon, pc->comp, pc->cfg.agent, line, coh_states[s->state].perm,
                    coh_states[next].perm);
    /* a = the new state (enum coh_state), b = the line: a waveform of the
     * core's line states (docs/coherence.md) */
    if (pc->tk_state && next != s->state)
        orr_trace_point(pc->comp, pc->tk_state, next, line);
    s->state = next;
    if (s->frame >= 0)
        pc->aState[s->frame] = (uint8_t)next;
    else if (s->wb)
        s->wb->wb_state = (uint8_t)next;
}

/* A prefetched line's fate is known: count it for its unit's level and
 * teach the unit (a no-op for a frame no prefetch filled). */
static void pf_resolve(struct pcache *pc, int64_t frame, enum pf_outcome o)
{
    uint8_t k = pc->aPf[frame];
    if (!k)
        return;
    pc->aPf[frame] = 0;
    struct pf_unit *u = &pc->aUnit[k - 1];
    pc->aPfOutcome[u->level][o]->v++;
    pf_outcome(u, o);
}

/* ------------------------------------------------------------------ sending */

static void send(struct pcache *pc, enum orr_coh_type t, unsigned flags, uint64_t line,
                 uint32_t dst, const uint8_t *payload, orr_time_t delay)
{
    struct orr_sim *sim = pc->comp->sim;
    uint64_t blob = 0;
    if (payload) {
        void *p;
        blob = orr_blob_new(sim, ORR_LINE_BYTES, &p);
        memcpy(p, payload, ORR_LINE_BYTES);
    }
    struct orr_msg m = {ORR_COH_HDR_BYTES + (payload ? ORR_LINE_BYTES : 0),
                        {orr_coh_w0(line, t, flags), orr_coh_w1(pc->cfg.agent, dst, blob)}};
    pc->msgs_out->v++;
    if (pc->mon)
        cohmon_log(pc->mon, orr_now(sim), pc->cfg.agent, t, line, true);
    if (pc->nOut == pc->nOutHead && orr_port_send(pc->port, &m, delay) != ORR_EBUSY)
        return;
    if (pc->nOut == pc->nOutAlloc) {
        /* compact, then grow */
        memmove(pc->aOut, pc->aOut + pc->nOutHead, (pc->nOut - pc->nOutHead) * sizeof *pc->aOut);
        pc->nOut -= pc->nOutHead;
        pc->nOutHead = 0;
        if (pc->nOut == pc->nOutAlloc) {
            pc->nOutAlloc = pc->nOutAlloc ? 2 * pc->nOutAlloc : 8;
            pc->aOut = realloc(pc->aOut, pc->nOutAlloc * sizeof *pc->aOut);
            if (!pc->aOut)
                orr_oom();
        }
    }
    pc->aOut[pc->nOut++].m = m;
}

void pcache_ready(struct pcache *pc)
{
    while (pc->nOutHead < pc->nOut) {
        if (orr_port_send(pc->port, &pc->aOut[pc->nOutHead].m, 0) == ORR_EBUSY)
            return;
        pc->nOutHead++;
    }
    pc->nOut = pc->nOutHead = 0;
}

/* ------------------------------------------------------------- performing */

static uint64_t get(const uint8_t *d, uint64_t addr, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)d[(addr + i) % ORR_LINE_BYTES] << (8 * i);
    return v;
}

static void put(uint8_t *d, uint64_t addr, unsigned size, uint64_t v)
{
    for (unsigned i = 0; i < size; i++)
        d[(addr + i) % ORR_LINE_BYTES] = (uint8_t)(v >> (8 * i));
}

static uint64_t size_mask(unsigned size) { return size >= 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * size)) - 1; }

/* A whole-line read or write: the monitor sees a 64-byte load or store. */
static uint64_t perform_line(struct pcache *pc, uint8_t *d, const struct pc_req *r, uint8_t *buf)
{
    uint64_t line = r->addr & ~(uint64_t)(ORR_LINE_BYTES - 1);
    if (r->op == PC_OP_LINE_READ) {
        memcpy(buf, d, ORR_LINE_BYTES);
        if (pc->mon)
            cohmon_load_line(pc->mon, pc->comp, pc->cfg.agent, line, buf);
    } else {
        memcpy(d, buf, ORR_LINE_BYTES);
        if (pc->mon)
            cohmon_store_line(pc->mon, line, buf);
    }
    return 0;
}

/* Perform r on the line's data (buf: a whole-line request's bytes);
 * returns the load's value or the old value. */
static uint64_t perform(struct pcache *pc, uint8_t *d, const struct pc_req *r, uint8_t *buf)
{
    if (r->op == PC_OP_LINE_READ || r->op == PC_OP_LINE_WRITE)
        return perform_line(pc, d, r, buf);
    uint64_t old = get(d, r->addr, r->size), nv = old;
    bool write = true;
    switch (r->op) {
    case ORR_OP_LOAD: write = false; break;
    case ORR_OP_STORE: nv = r->val; break;
    case ORR_OP_CAS: write = old == (r->expect & size_mask(r->size)); nv = r->val; break;
    case ORR_OP_FAA: nv = old + r->val; break;
    case ORR_OP_SWAP: nv = r->val; break;
    default: write = false; break;
    }
    nv &= size_mask(r->size);
    if (pc->mon && r->op != ORR_OP_STORE)
        cohmon_load(pc->mon, pc->comp, pc->cfg.agent, r->addr, r->size, old);
    if (write) {
        put(d, r->addr, r->size, nv);
        if (pc->mon)
            cohmon_store(pc->mon, r->addr, r->size, nv);
    }
    return r->op == ORR_OP_STORE ? 0 : old;
}

static void bug(struct pcache *pc, enum coh_state s, enum coh_event e, uint64_t line)
{
    char tail[2600] = "";
    if (pc->mon)
        cohmon_tail(pc->mon, tail, sizeof tail);
    orr_sim_fail(pc->comp, "protocol %s: event %s cannot happen in state %s (line %#llx)%s%s",
                 pc->cfg.proto->name, coh_event_names[e], coh_states[s].name,
                 (unsigned long long)line, *tail ? "; last coherence messages:" : "", tail);
}

/* ------------------------------------------------------------- core side */

static bool evictable(void *arg, uint32_t frame)
{
    struct pcache *pc = arg;
    return coh_states[pc->aState[frame]].stable;
}

static void l1_fill(struct pcache *pc, uint64_t line)
{
    if (!pc->has_l2)
        return;
    int64_t f = cache_array_victim(&pc->l1, line, &pc->comp->rng, NULL, NULL);
    cache_array_fill(&pc->l1, (uint32_t)f, line);
}

static void l1_drop(struct pcache *pc, uint64_t line)
{
    if (!pc->has_l2)
        return;
    int64_t f = cache_array_find(&pc->l1, line);
    if (f >= 0)
        cache_array_drop(&pc->l1, (uint32_t)f);
}

/* Make room for line: evict the victim the policy picks (silently, or into
 * a writeback MSHR with a PUT). Returns the free frame or -1. */
static int64_t make_room(struct pcache *pc, uint64_t line)
{
    struct cache_array *o = outer(pc);
    int64_t f = cache_array_victim(o, line, &pc->comp->rng, evictable, pc);
    if (f >= 0)
        pf_resolve(pc, f, PF_USELESS);
    if (f < 0 || !o->aValid[f])
        return f;
    uint64_t vline = o->aTag[f];
    struct slot v = {f, NULL, (enum coh_state)pc->aState[f]};
    const struct coh_cell *c = &pc->cfg.proto->cache[v.state][CE_REPL];
    if (c->actions & CA_ERROR || !c->actions) {
        bug(pc, v.state, CE_REPL, vline);
        return -1;
    }
    if (c->actions & CA_PUT) {
        struct pc_mshr *m = mshr_alloc(pc, vline, false);
        if (!m)
            return -1;
        m->wb = true;
        pc->nWbBusy++;
        memcpy(m->wb_data, pc->aData + (size_t)f * ORR_LINE_BYTES, ORR_LINE_BYTES);
        m->wb_state = (uint8_t)v.state;
        pc->writebacks->v++;
        send(pc, ORR_COH_PUT, 0, vline, home_of(pc, vline), NULL,
             pc->skew + cyc(pc, pc->cfg.l2_cycles));
        /* the line's state moves to the MSHR with it */
        struct slot w = {-1, m, v.state};
        cache_array_drop(o, (uint32_t)f);
        l1_drop(pc, vline);
        set_state(pc, &w, vline, (enum coh_state)c->next);
        return f;
    }
    set_state(pc, &v, vline, (enum coh_state)c->next);
    cache_array_drop(o, (uint32_t)f);
    l1_drop(pc, vline);
    return f;
}

/* ------------------------------------------------------------- prefetching */

/* Entries a prefetch leaves free for demand misses, in the L1 miss buffers
 * and in the superqueue: a prefetch never takes the last ones (MSHR/queue
 * pressure throttling). */
#define PF_DEMAND_RESERVE 2

/* pf_issue_fn: send a prefetch of line for unit u as an ordinary GETS (a
 * GETM for an exclusive unit) from state I, if the line is absent and
 * there is room; an L1 unit's line already in the L2 moves to the L1. */
static enum pf_result pf_issue(void *arg, struct pf_unit *u, uint64_t line, bool exclusive)
{
    struct pcache *pc = arg;
    struct slot s = find(pc, line);
    /* (a line in I with no frame has no MSHR: find() saw writebacks) */
    if (s.state != CS_I || (s.frame >= 0 && mshr_find(pc, line))) {
        if (u->level == PF_L1 && s.frame >= 0 && coh_states[s.state].valid &&
            cache_array_find(&pc->l1, line) < 0)
            l1_fill(pc, line);
        return PF_PRESENT;
    }
    const struct coh_cell *c = &pc->cfg.proto->cache[CS_I][exclusive ? CE_STORE : CE_LOAD];
    uint32_t need = s.frame < 0 ? 2 : 1;
    bool room = pc->nMshrBusy + need + PF_DEMAND_RESERVE <= pc->nSlot &&
                (u->level != PF_L1 || pc->nL1Busy + 1 + PF_DEMAND_RESERVE <= pc->cfg.mshrs);
    if (!room || !(c->actions & (CA_GETS | CA_GETM)))
        goto dropped;
    if (s.frame < 0) {
        s.frame = make_room(pc, line);
        if (s.frame < 0)
            goto dropped;
        cache_array_fill(outer(pc), (uint32_t)s.frame, line);
        pc->aState[s.frame] = CS_I;
        memset(pc->aData + (size_t)s.frame * ORR_LINE_BYTES, 0, ORR_LINE_BYTES);
    } else {
        pf_resolve(pc, s.frame, PF_USELESS);
    }
    uint8_t k = (uint8_t)(u - pc->aUnit + 1);
    struct pc_mshr *m = mshr_alloc(pc, line, u->level == PF_L1);
    m->pf = k;
    m->pf_excl = (c->actions & CA_GETM) != 0;
    pc->aPf[s.frame] = k;
    pc->aPfIssued[u->level]->v++;
    send(pc, c->actions & CA_GETS ? ORR_COH_GETS : ORR_COH_GETM, 0, line, home_of(pc, line), NULL,
         pc->skew + cyc(pc, pc->cfg.l2_cycles));
    set_state(pc, &s, line, (enum coh_state)c->next);
    return PF_ISSUED;
dropped:
    pc->aPfDropped[u->level]->v++;
    return PF_DROPPED;
}

/* An access reached level lvl (the L1: every access that missed it or
 * touched a line a prefetch brought; the L2: every L1 miss). */
static void pf_train(struct pcache *pc, enum pf_level lvl, uint64_t line, uint32_t id, bool miss,
                     bool write)
{
    struct pf_access a = {line, id, miss, write};
    for (uint32_t i = 0; i < pc->nUnit; i++)
        if (pc->aUnit[i].level == lvl)
            pf_observe(&pc->aUnit[i], &a, pf_issue, pc);
}

static int prefetch_init(struct pcache *pc, const struct pcache_config *cfg)
{
    size_t n = cfg->nPfList[PF_L1] + cfg->nPfList[PF_L2];
    if (!n)
        return 0;
    if (n > 255)
        return ORR_EINVAL;
    if (!(pc->aUnit = calloc(n, sizeof *pc->aUnit)))
        return ORR_ENOMEM;
    for (unsigned l = 0; l < PF_NLEVEL; l++)
        for (size_t i = 0; i < cfg->nPfList[l]; i++) {
            /* without an L2, an L2 list trains on the one level's misses */
            int rc = pf_unit_init(&pc->aUnit[pc->nUnit], (enum pf_level)l, &cfg->aPfList[l][i]);
            if (rc)
                return rc;
            pc->nUnit++;
        }
    return 0;
}

/* A demand load found its line still arriving for a prefetch: it joins the
 * prefetch's MSHR (a late prefetch) instead of waiting for it to end. A
 * store joins only an exclusive prefetch. Returns false if it cannot. */
static bool pf_join(struct pcache *pc, const struct slot *s, const struct pc_req *r,
                    uint8_t *buf, enum coh_event e)
{
    uint64_t line = r->addr & ~(uint64_t)(ORR_LINE_BYTES - 1);
    struct pc_mshr *m = s->frame >= 0 ? mshr_find(pc, line) : NULL;
    if (!m || !m->pf || m->has_req || m->wb || pc->nL1Busy + (m->l1 ? 0 : 1) > pc->cfg.mshrs ||
        (e != CE_LOAD && !m->pf_excl))
        return false;
    pf_resolve(pc, s->frame, PF_LATE);
    m->pf = 0;
    if (!m->l1) {
        m->l1 = true;
        pc->nL1Busy++;
    }
    m->has_req = true;
    m->req = *r;
    m->buf = buf;
    m->req_start = orr_now(pc->comp->sim) + pc->skew;
    pc->misses->v++;
    return true;
}

static enum pcache_rc pc_access(struct pcache *pc, const struct pc_req *r, uint8_t *buf,
                                uint64_t *value, uint32_t *cycles)
{
    uint64_t line = r->addr & ~(uint64_t)(ORR_LINE_BYTES - 1);
    enum coh_event e = r->op == ORR_OP_LOAD || r->op == PC_OP_LINE_READ ? CE_LOAD : CE_STORE;
    struct slot s = find(pc, line);
    const struct coh_cell *c = &pc->cfg.proto->cache[s.state][e];
    if (c->actions & CA_STALL) {
        if (pc->nUnit && pf_join(pc, &s, r, buf, e)) {
            pf_train(pc, PF_L1, line, r->pc, true, e != CE_LOAD);
            pf_train(pc, PF_L2, line, r->pc, true, e != CE_LOAD);
            return PC_MISS;
        }
        goto retry;
    }
    if (c->actions & CA_ERROR || !c->actions) {
        bug(pc, s.state, e, line);
        return PC_RETRY;
    }
    if (c->actions & (CA_HIT_R | CA_HIT_W)) {
        bool in_l1 = !pc->has_l2 || cache_array_find(&pc->l1, line) >= 0;
        bool prefetched = s.frame >= 0 && pc->aPf[s.frame] != 0;
        if (in_l1) {
            pc->hits_l1->v++;
            *cycles = pc->cfg.l1_cycles;
            if (pc->has_l2)
                cache_array_touch(&pc->l1, (uint32_t)cache_array_find(&pc->l1, line));
        } else {
            pc->hits_l2->v++;
            *cycles = pc->cfg.l2_cycles;
            l1_fill(pc, line);
        }
        cache_array_touch(outer(pc), (uint32_t)s.frame);
        *value = perform(pc, slot_data(pc, &s), r, buf);
        set_state(pc, &s, line, (enum coh_state)c->next);
        if (pc->nUnit && (prefetched || !in_l1)) {
            if (prefetched)
                pf_resolve(pc, s.frame, PF_USEFUL);
            pf_train(pc, PF_L1, line, r->pc, !in_l1, e != CE_LOAD);
            if (!in_l1)
                pf_train(pc, PF_L2, line, r->pc, false, e != CE_LOAD);
        }
        return PC_HIT;
    }
    /* a miss or an upgrade: one MSHR (an L1 miss buffer too), and a frame
     * if the line has none (two MSHRs then, in case the victim needs a
     * writeback) */
    if (pc->nL1Busy >= pc->cfg.mshrs || pc->nMshrBusy + (s.frame < 0 ? 2 : 1) > pc->nSlot)
        goto retry;
    if (s.frame < 0) {
        s.frame = make_room(pc, line);
        if (s.frame < 0)
            goto retry;
        cache_array_fill(outer(pc), (uint32_t)s.frame, line);
        pc->aState[s.frame] = CS_I;
        memset(pc->aData + (size_t)s.frame * ORR_LINE_BYTES, 0, ORR_LINE_BYTES);
    }
    pf_resolve(pc, s.frame, s.state == CS_I ? PF_USELESS : PF_USEFUL);
    struct pc_mshr *m = mshr_alloc(pc, line, true);
    m->has_req = true;
    m->req = *r;
    m->buf = buf;
    if (s.state == CS_I)
        pc->misses->v++;
    else
        pc->upgrades->v++;
    send(pc, c->actions & CA_GETS ? ORR_COH_GETS : ORR_COH_GETM, 0, line, home_of(pc, line),
         NULL, pc->skew + cyc(pc, pc->cfg.l2_cycles));
    set_state(pc, &s, line, (enum coh_state)c->next);
    if (pc->nUnit) {
        pf_train(pc, PF_L1, line, r->pc, true, e != CE_LOAD);
        pf_train(pc, PF_L2, line, r->pc, true, e != CE_LOAD);
    }
    return PC_MISS;
retry:
    pc->retries->v++;
    pc->want_wake = true;
    return PC_RETRY;
}

enum pcache_rc pcache_access(struct pcache *pc, const struct pc_req *r, uint64_t *value,
                             uint32_t *cycles)
{
    return pc_access(pc, r, NULL, value, cycles);
}

enum pcache_rc pcache_access_line(struct pcache *pc, const struct pc_req *r, uint8_t *buf,
                                  uint32_t *cycles)
{
    uint64_t unused;
    return pc_access(pc, r, buf, &unused, cycles);
}

/* ----------------------------------------------------------- network side */

static enum coh_event event_of(enum orr_coh_type t)
{
    switch (t) {
    case ORR_COH_PROBE_S: return CE_PROBE_S;
    case ORR_COH_PROBE_M: return CE_PROBE_M;
    case ORR_COH_DATA_S: return CE_DATA_S;
    case ORR_COH_DATA_E: return CE_DATA_E;
    case ORR_COH_DATA_M: return CE_DATA_M;
    case ORR_COH_WB_GO: return CE_WB_GO;
    default: return CE_NEVENT;
    }
}

void pcache_message(struct pcache *pc, const struct orr_event *ev)
{
    struct orr_sim *sim = pc->comp->sim;
    uint64_t line = orr_coh_line(ev->data[0]), blob = orr_coh_blob(ev->data[1]);
    enum orr_coh_type t = orr_coh_type(ev->data[0]);
    enum coh_event e = event_of(t);
    if (pc->mon)
        cohmon_log(pc->mon, orr_now(sim), pc->cfg.agent, t, line, false);
    if (e == CE_NEVENT || orr_coh_dst(ev->data[1]) != pc->cfg.agent) {
        orr_sim_fail(pc->comp, "unexpected coherence message %s for agent %u (I am %u)",
                     orr_coh_type_name(t), orr_coh_dst(ev->data[1]), pc->cfg.agent);
        if (blob)
            orr_blob_free(sim, blob);
        return;
    }
    struct slot s = find(pc, line);
    enum coh_state cur = s.state;
    const struct coh_cell *c = &pc->cfg.proto->cache[cur][e];
    unsigned a = c->actions;
    enum coh_state next = (enum coh_state)c->next;
    if (a & CA_ERROR || !a) {
        bug(pc, cur, e, line);
        if (blob)
            orr_blob_free(sim, blob);
        return;
    }
    uint32_t home = orr_coh_src(ev->data[1]);
    orr_time_t delay = pc->cfg.snoop;
    uint8_t *d = slot_data(pc, &s);
    struct pc_mshr *m = (a & (CA_HIT_R | CA_HIT_W | CA_UNBLOCK)) ? mshr_find(pc, line) : NULL;
    if (a & CA_FILL && blob && d)
        memcpy(d, orr_blob_get(sim, blob), ORR_LINE_BYTES);
    if (blob)
        orr_blob_free(sim, blob);
    if (e == CE_PROBE_S || e == CE_PROBE_M)
        pc->probes->v++;
    /* permissions change before the request is performed (a grant makes
     * the line readable or writable, then the waiting access happens) and
     * before the answer leaves (a probe takes permission away first) */
    set_state(pc, &s, line, next);
    if ((a & (CA_HIT_R | CA_HIT_W)) && m && m->has_req) {
        uint64_t v = perform(pc, d, &m->req, m->buf);
        /* a demand that joined a late prefetch while running ahead of now
         * may find the line arrived before it asked: it waited 0 */
        orr_time_t lat = orr_now(sim) > m->req_start ? orr_now(sim) - m->req_start : 0;
        orr_histogram_add(pc->miss_latency, lat);
        long hi = home_index(pc, line);
        if (hi >= 0)
            orr_histogram_add(pc->aNodeLatency[hi], lat);
        m->has_req = false;
        if (s.frame >= 0)
            l1_fill(pc, line);
        pc->ops.done(pc->arg, m->req.tag, v);
    }
    if (a & (CA_ACK | CA_ACK_DATA)) {
        unsigned fl = (coh_states[next].valid ? ORR_COH_F_SHARED : 0) |
                      ((a & CA_ACK_DATA) && coh_states[cur].dirty ? ORR_COH_F_DIRTY : 0) |
                      (coh_states[next].owner && coh_states[next].dirty && coh_states[next].valid
                           ? ORR_COH_F_OWNER : 0);
        send(pc, ORR_COH_ACK, fl, line, home, (a & CA_ACK_DATA) ? d : NULL, delay);
        if (a & CA_ACK_DATA)
            pc->probe_data->v++;
    }
    if (a & CA_UNBLOCK)
        send(pc, ORR_COH_UNBLOCK, 0, line, home, NULL, 0);
    if (a & CA_WB_DATA)
        send(pc, ORR_COH_WB_DATA, ORR_COH_F_DIRTY, line, home, d, delay);
    if (a & CA_WB_CANCEL)
        send(pc, ORR_COH_WB_CANCEL, 0, line, home, NULL, 0);
    if (a & CA_DEALLOC) {
        if (s.frame >= 0) {
            pf_resolve(pc, s.frame, PF_USELESS);
            cache_array_drop(outer(pc), (uint32_t)s.frame);
            l1_drop(pc, line);
        }
    }
    /* a transaction is over when the line is stable again */
    if (coh_states[next].stable) {
        struct pc_mshr *done = s.wb ? s.wb : mshr_find(pc, line);
        if (done && done->pf && pc->aUnit[done->pf - 1].level == PF_L1 && s.frame >= 0 &&
            coh_states[next].valid)
            l1_fill(pc, line);
        if (done)
            mshr_release(pc, done);
    }
}

uint32_t pcache_inflight(const struct pcache *pc, orr_time_t *oldest, uint64_t *line)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < pc->nSlot; i++) {
        const struct pc_mshr *m = &pc->aMshr[i];
        if (m->used && (n++ == 0 || m->start < *oldest)) {
            *oldest = m->start;
            *line = m->line;
        }
    }
    return n;
}

bool pcache_deadlocked(struct pcache *pc, orr_time_t threshold)
{
    orr_time_t oldest = 0, now = orr_now(pc->comp->sim);
    uint64_t line = 0;
    if (!pcache_inflight(pc, &oldest, &line) || now <= oldest || now - oldest < threshold)
        return false;
    char tail[3000] = "";
    if (pc->mon)
        cohmon_tail(pc->mon, tail, sizeof tail);
    orr_sim_fail(pc->comp, "deadlock: line %#llx has been in flight since %llu ps (state %s)%s%s",
                 (unsigned long long)line, (unsigned long long)oldest,
                 coh_states[pcache_state(pc, line)].name,
                 *tail ? "; last coherence messages:" : "", tail);
    return true;
}

enum coh_state pcache_state(const struct pcache *pc, uint64_t line)
{
    struct pcache *p = (struct pcache *)pc;
    return find(p, line).state;
}

/* ------------------------------------------- configuration from parameters */

const struct orr_param pcache_l1_params[] = {
    {"size", ORR_P_SIZE, "32KiB", ORR_PF_POSITIVE, "capacity"},
    {"ways", ORR_P_UINT, "8", ORR_PF_POSITIVE, "L1 associativity", NULL, 1, 64},
    {"latency", ORR_P_CYCLES, "4cy", 0, "hit latency"},
    {"prefetch", ORR_P_GROUPS, "[]", 0,
     "prefetchers training on this level: [{type: next_line | ip_stride | stream, degree, "
     "distance, train, entries, exclusive}, ...] (docs/memory.md); [] = none",
     .group = pf_entry_params},
    {NULL},
};

const struct orr_param pcache_l2_params[] = {
    {"size", ORR_P_SIZE, "0B", 0, "capacity; 0 = no L2"},
    {"ways", ORR_P_UINT, "16", ORR_PF_POSITIVE, "L2 associativity", NULL, 1, 64},
    {"latency", ORR_P_CYCLES, "14cy", 0, "hit latency (also the miss-detect time)"},
    {"prefetch", ORR_P_GROUPS, "[]", 0,
     "prefetchers training on this level: [{type: next_line | ip_stride | stream, degree, "
     "distance, train, entries, exclusive}, ...] (docs/memory.md); [] = none",
     .group = pf_entry_params},
    {NULL},
};

const struct orr_param pcache_params[] = {
    {"", ORR_P_INCLUDE, .group = coh_agent_params},
    {"l1d", ORR_P_GROUP, "{}", 0, "private L1 data cache: size, ways, latency",
     .group = pcache_l1_params},
    {"l2", ORR_P_GROUP, "{}", 0, "private L2: size (0 = none), ways, latency",
     .group = pcache_l2_params},
    {"replacement", ORR_P_ENUM, "lru", 0, "private cache replacement", cache_repl_names},
    {"mshrs", ORR_P_UINT, "16", ORR_PF_POSITIVE,
     "L1 miss buffers: demand misses and L1 prefetches in flight per core (with writebacks "
     "too when there is no superqueue)", NULL, 2, 256},
    {"superqueue", ORR_P_UINT, "0", 0,
     "lines in flight in the private hierarchy (the L2 miss queue: demand misses, prefetches and "
     "writebacks share it); 0 = mshrs; else at least mshrs", NULL, 0, 256},
    {"prefetchers", ORR_P_BOOL, "true", 0,
     "false turns off every level's prefetch list (an A/B switch)"},
    {"snoop_latency", ORR_P_TIME, "0ps", 0,
     "time a core takes to answer a probe (snoop pipeline + on-die trip); 0 = its outer "
     "private cache's hit latency"},
    {"trace_states", ORR_P_BOOL, "false", 0,
     "trace every private line-state change (coh.state: a = state, b = line), for waveforms"},
    {"deadlock", ORR_P_TIME, "1ms", ORR_PF_POSITIVE, "a line in flight this long fails the run"},
    {NULL},
};

const struct orr_param pcache_home_params[] = {
    {"base", ORR_P_ADDR, NULL, 0, "first address of the range"},
    {"size", ORR_P_SIZE, NULL, ORR_PF_POSITIVE, "bytes in the range"},
    {"agent", ORR_P_UINT, NULL, 0, "the range's home agent", NULL, 0, ORR_COH_MAX_AGENTS - 1},
    {"name", ORR_P_STRING, "", 0, "the memory node, for per-node stats (default agentN)"},
    {NULL},
};

const struct orr_param pcache_domain_params[] = {
    {"agent", ORR_P_UINT, NULL, 0, "this cache's agent id (the machine numbers agents)", NULL, 0,
     ORR_COH_MAX_AGENTS - 1},
    {"homes", ORR_P_GROUPS, NULL, ORR_PF_NONEMPTY,
     "memory ranges and their home agents, in address order: [{base, size, agent, name}, ...]",
     .group = pcache_home_params},
    {NULL},
};

static int setup_homes(struct pcache_setup *s, struct orr_component *c, const struct orr_params *p,
                       struct orr_diag *d)
{
    size_t n;
    const struct orr_params *h = orr_param_groups(p, "homes", &n);
    if (!(s->aHome = calloc(n ? n : 1, sizeof *s->aHome)))
        return ORR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint64_t base = orr_param_u64(&h[i], "base"), size = orr_param_u64(&h[i], "size");
        unsigned agent = (unsigned)orr_param_u64(&h[i], "agent");
        const char *name = orr_param_str(&h[i], "name");
        if (i && base < s->aHome[i - 1].base + s->aHome[i - 1].size) {
            orr_diag_error(d, orr_param_mark(&h[i], "base"), c->keypath,
                           "homes.%zu: base %#llx overlaps or precedes the range before it "
                           "(homes go in address order, without overlap)",
                           i, (unsigned long long)base);
            return ORR_ESCHEMA;
        }
        s->aHome[i] = (struct pc_home_range){base, size, agent, ""};
        snprintf(s->aHome[i].name, sizeof s->aHome[i].name, "%s", name);
        if (!*name)
            snprintf(s->aHome[i].name, sizeof s->aHome[i].name, "agent%u", agent);
    }
    s->cfg.aHome = s->aHome;
    s->cfg.nHome = n;
    return 0;
}

int pcache_setup_parse(struct pcache_setup *s, struct orr_component *c,
                       const struct orr_params *p, struct orr_diag *d)
{
    memset(s, 0, sizeof *s);
    int rc = setup_homes(s, c, p, d);
    const struct coh_protocol *proto = NULL;
    if (rc == 0)
        rc = coh_agent_protocol(p, c->keypath, &proto, &s->mutated, d);
    if (rc)
        return rc;
    if (s->mutated)
        orr_sim_knob(c, "mutation", orr_param_str(p, "mutation"));
    const struct orr_params *l1 = orr_param_group(p, "l1d"), *l2 = orr_param_group(p, "l2");
    struct pcache_config *cfg = &s->cfg;
    cfg->agent = (uint32_t)orr_param_u64(p, "agent");
    cfg->proto = proto;
    cfg->l1_size = orr_param_u64(l1, "size");
    cfg->l2_size = orr_param_u64(l2, "size");
    cfg->l1_ways = (uint32_t)orr_param_u64(l1, "ways");
    cfg->l2_ways = (uint32_t)orr_param_u64(l2, "ways");
    cfg->l1_cycles = (uint32_t)orr_param_u64(l1, "latency");
    cfg->l2_cycles = (uint32_t)orr_param_u64(l2, "latency");
    cfg->repl = (enum cache_repl)orr_param_enum(p, "replacement");
    cfg->mshrs = (uint32_t)orr_param_u64(p, "mshrs");
    cfg->superqueue = (uint32_t)orr_param_u64(p, "superqueue");
    if (orr_param_bool(p, "prefetchers")) {
        cfg->aPfList[PF_L1] = orr_param_groups(l1, "prefetch", &cfg->nPfList[PF_L1]);
        cfg->aPfList[PF_L2] = orr_param_groups(l2, "prefetch", &cfg->nPfList[PF_L2]);
    }
    cfg->cycle_ps = (orr_time_t)(UINT64_C(1000000000000) / orr_param_u64(p, "frequency"));
    cfg->check = orr_param_bool(p, "check");
    cfg->trace_states = orr_param_bool(p, "trace_states");
    cfg->snoop = orr_param_u64(p, "snoop_latency");
    if (!cfg->snoop)
        cfg->snoop = (orr_time_t)(cfg->l2_size ? cfg->l2_cycles : cfg->l1_cycles) * cfg->cycle_ps;
    return pcache_check_level(l1, c->keypath, "l1d", false, d) ||
                   pcache_check_level(l2, c->keypath, "l2", true, d) ||
                   pcache_check_prefetch(p, c->keypath, d)
               ? ORR_ESCHEMA
               : 0;
}

int pcache_check_prefetch(const struct orr_params *p, const char *keypath, struct orr_diag *d)
{
    uint32_t mshrs = (uint32_t)orr_param_u64(p, "mshrs");
    uint64_t sq = orr_param_u64(p, "superqueue");
    int rc = 0;
    if (sq && sq < mshrs) {
        orr_diag_error(d, orr_param_mark(p, "superqueue"), keypath,
                       "superqueue %llu is smaller than mshrs %u: every L1 miss also holds a "
                       "superqueue entry, so it needs at least mshrs (or 0 = mshrs)",
                       (unsigned long long)sq, mshrs);
        rc = ORR_ESCHEMA;
    }
    if (pf_check_level(orr_param_group(p, "l1d"), keypath, "l1d", mshrs, d))
        rc = ORR_ESCHEMA;
    if (pf_check_level(orr_param_group(p, "l2"), keypath, "l2", sq ? (uint32_t)sq : mshrs, d))
        rc = ORR_ESCHEMA;
    return rc;
}

int pcache_check_level(const struct orr_params *level, const char *keypath, const char *key,
                       bool may_be_none, struct orr_diag *d)
{
    uint64_t size = orr_param_u64(level, "size");
    uint32_t ways = (uint32_t)orr_param_u64(level, "ways");
    if ((may_be_none && size == 0) || pcache_geometry_ok(size, ways, NULL))
        return 0;
    char sz[32], *kp = orr_keypath_join(keypath, key);
    orr_unit_format(ORR_UNIT_SIZE, size, sz, sizeof sz);
    orr_diag_error(d, orr_param_mark(level, "size"), kp,
                   "size %s is not ways × sets × 64 B with a power-of-two number of sets "
                   "(%u ways × 64 B = %u B per set)", sz, ways, ways * ORR_LINE_BYTES);
    free(kp);
    return ORR_ESCHEMA;
}

void pcache_setup_free(struct pcache_setup *s)
{
    free(s->aHome);
    free(s->mutated);
    s->aHome = NULL;
    s->mutated = NULL;
}

/* ------------------------------------------------------ checkpoint/restore */

void pcache_save(const struct pcache *pc, struct orr_ckpt_writer *w)
{
    const struct cache_array *o = pc->has_l2 ? &pc->outer : &pc->l1;
    size_t n = (size_t)o->sets * o->ways;
    cache_array_save(&pc->l1, w);
    if (pc->has_l2)
        cache_array_save(&pc->outer, w);
    orr_ckpt_put_bytes(w, pc->aState, n);
    orr_ckpt_put_bytes(w, pc->aData, n * ORR_LINE_BYTES);
    orr_ckpt_put_bytes(w, pc->aPf, n);
    for (uint32_t i = 0; i < pc->nSlot; i++) {
        struct pc_mshr m = pc->aMshr[i];
        orr_ckpt_put_u8(w, m.used && m.buf != NULL); /* a caller's buffer: not ours to save */
        m.buf = NULL;
        orr_ckpt_put_bytes(w, &m, sizeof m);
    }
    orr_ckpt_put_u32(w, pc->nMshrBusy);
    orr_ckpt_put_u32(w, pc->nL1Busy);
    orr_ckpt_put_u32(w, pc->nWbBusy);
    for (uint32_t i = 0; i < pc->nUnit; i++)
        pf_unit_save(&pc->aUnit[i], w);
    orr_ckpt_put_array(w, pc->aOut + pc->nOutHead, pc->nOut - pc->nOutHead, sizeof *pc->aOut);
    orr_ckpt_put_u8(w, pc->want_wake);
    orr_ckpt_put_u64(w, pc->skew);
}

void pcache_restore(struct pcache *pc, struct orr_ckpt_reader *r)
{
    const struct cache_array *o = pc->has_l2 ? &pc->outer : &pc->l1;
    size_t n = (size_t)o->sets * o->ways;
    cache_array_restore(&pc->l1, r);
    if (pc->has_l2)
        cache_array_restore(&pc->outer, r);
    orr_ckpt_get_into(r, pc->aState, n);
    orr_ckpt_get_into(r, pc->aData, n * ORR_LINE_BYTES);
    orr_ckpt_get_into(r, pc->aPf, n);
    for (uint32_t i = 0; i < pc->nSlot && orr_ckpt_ok(r); i++) {
        if (orr_ckpt_get_u8(r))
            orr_ckpt_fail(r, "a whole-line request was in flight (its buffer cannot be saved)");
        orr_ckpt_get_into(r, &pc->aMshr[i], sizeof pc->aMshr[i]);
        pc->aMshr[i].buf = NULL;
    }
    pc->nMshrBusy = orr_ckpt_get_u32(r);
    pc->nL1Busy = orr_ckpt_get_u32(r);
    pc->nWbBusy = orr_ckpt_get_u32(r);
    for (uint32_t i = 0; i < pc->nUnit; i++)
        pf_unit_restore(&pc->aUnit[i], r);
    free(pc->aOut);
    pc->aOut = orr_ckpt_get_array(r, sizeof *pc->aOut, &pc->nOut);
    pc->nOutHead = 0;
    pc->nOutAlloc = pc->nOut ? pc->nOut : 1;
    pc->want_wake = orr_ckpt_get_u8(r) != 0;
    pc->skew = orr_ckpt_get_u64(r);
}
