/* home: the home agent of a range of physical memory. It orders coherence
 * requests per line, keeps the directory (directory variants) or probes
 * every cache in its domain (snooping variants), holds a memory-side
 * last-level cache, and reads and writes memory through its memory ports.
 *
 * One transaction per line at a time; requests for a busy line wait in a
 * FIFO. A transaction is:
 *
 *   GETS/GETM:  plan = protocol.home[dir state][request]
 *               probes out -> every ACK back (dirty data kept)
 *               data: from a dirty ACK, else the LLC or memory
 *               grant DATA_S/E/M -> wait for UNBLOCK -> next request
 *   PUT:        WB_GO -> wait for WB_DATA (write to the LLC) or WB_CANCEL
 *
 * Directory states (directory variants), updated when a grant is sent or a
 * writeback lands:
 *
 *   I  no cache holds the line          X  one owner (E or M), no sharers
 *   S  sharers, memory current          O  an owner with dirty data + sharers
 *
 * Invariants (checked as the transaction proceeds; a breach fails the run):
 *   1. a WB_DATA comes from the line's owner in the directory;
 *   2. at most one transaction per line is active;
 *   3. a transaction grants only after every probe it sent was answered.
 *
 * The LLC is memory-side: it caches lines of this home's range, whoever
 * holds them privately. Non-inclusive, its evictions write dirty lines to
 * memory and leave private copies alone. Inclusive (directory variants),
 * an eviction first recalls the line from every private cache (PROBE_M),
 * so a line is cached privately only while the LLC holds it too — except
 * a line filled while every candidate victim in its set is being recalled:
 * it bypasses the LLC (counted as llc.bypass). */
#include <stdlib.h>
#include <string.h>

#include "hw/array.h"
#include "hw/cohmon.h"
#include "hw/home.h"
#include "hw/pcache.h"
#include "hw/protocol.h"
#include "orrery/checkpoint.h"
#include "orrery/coh.h"
#include "orrery/sim.h"
#include "orrery/error.h"

#define MAX_CACHES 256
#define SW (MAX_CACHES / 64)
#define NO_TXN UINT32_MAX
#define NO_OWNER UINT16_MAX

const struct orr_param home_llc_params[] = {
    {"size", ORR_P_SIZE, "0B", 0, "capacity per home; 0 = no LLC"},
    {"ways", ORR_P_UINT, "16", ORR_PF_POSITIVE, "LLC associativity", NULL, 1, 64},
    {"latency", ORR_P_CYCLES, "20cy", 0, "data access on a hit"},
    {"inclusive", ORR_P_BOOL, "false", 0,
     "evictions recall private copies (directory variants)"},
    {"replacement", ORR_P_ENUM, "lru", 0, "replacement", cache_repl_names},
    {NULL},
};

const struct orr_param home_llc_key[] = {
    {"llc", ORR_P_GROUP, "{}", 0,
     "memory-side LLC at each home: size (0 = none), ways, latency, inclusive, replacement",
     .group = home_llc_params},
    {NULL},
};

static const struct orr_param home_params[] = {
    {"", ORR_P_INCLUDE, .group = coh_agent_params}, /* protocol, mutation, check, frequency */
    {"agent", ORR_P_UINT, NULL, 0, "this home's agent id (the machine numbers agents)", NULL, 0,
     ORR_COH_MAX_AGENTS - 1},
    {"first_cache", ORR_P_UINT, "0", 0, "agent id of the first private cache in this home's domain",
     NULL, 0, ORR_COH_MAX_AGENTS - 1},
    {"caches", ORR_P_UINT, NULL, ORR_PF_POSITIVE, "private caches in the domain (consecutive agent ids)",
     NULL, 1, MAX_CACHES},
    {"base", ORR_P_ADDR, "0", 0, "first byte of the memory range this home serves"},
    {"size", ORR_P_SIZE, NULL, ORR_PF_POSITIVE, "bytes in the range"},
    {"mem_ports", ORR_P_UINT, "1", ORR_PF_POSITIVE, "memory ports m0..m<N-1>, lines interleaved across them",
     NULL, 1, 64},
    {"latency", ORR_P_CYCLES, NULL, 0,
     "directory / tag lookup before a request acts (a machine sets it from home_latency)"},
    {"", ORR_P_INCLUDE, .group = home_llc_key},
    {NULL},
};

static const struct orr_port_doc home_ports[] = {
    {"net", "coherence messages to and from the caches (through routers)"},
    {"m<N>", "line requests to memory controllers (include/orrery/mem.h)"},
    {NULL},
};

enum phase { PH_COLLECT, PH_UNBLOCK, PH_WB, PH_RECALL };

struct waiter {
    uint32_t next;
    uint16_t src;
    uint8_t type;
};

struct txn {
    uint64_t line;
    uint32_t next_free;
    uint32_t qhead, qtail;   /* waiting requests (indexes into aWait), NO_TXN = none */
    uint16_t req;            /* requester agent */
    uint8_t type;            /* ORR_COH_GETS/GETM/PUT, or 0 for a recall */
    uint8_t phase;
    uint8_t grant;
    uint16_t acks;           /* probes not yet answered */
    bool fetching, fetched, have_data, dirty, shared_seen;
    uint16_t new_owner;      /* a responder that stays owner (OWNER flag) */
    uint64_t shared_resp[SW];/* responders still holding a copy */
    uint8_t data[ORR_LINE_BYTES];
    uint8_t fetch_buf[ORR_LINE_BYTES]; /* an LLC hit's data until it is due */
    orr_time_t start;
};

struct dirent {
    uint64_t line;           /* line + 1; 0 = empty */
    uint32_t txn;            /* active transaction or NO_TXN */
    uint8_t state;           /* enum coh_dir_state */
    uint16_t owner;
    uint64_t sharers[SW];    /* bit i = cache first_cache + i */
};

struct home_out {
    struct orr_port *port;
    struct orr_msg m;
};

struct home {
    struct orr_port *net;
    struct orr_port **aMem;
    uint32_t nMem;
    uint32_t agent, first, ncache;
    uint64_t base, size;
    const struct coh_protocol *proto;
    struct coh_protocol *mutated;
    orr_time_t cycle, lookup, llc_hit;
    bool inclusive;
    struct cohmon *mon;
    /* directory / busy table: open addressing */
    struct dirent *aDir;
    size_t nDirCap, nDirUsed;
    /* transactions and waiting requests */
    struct txn *aTxn;
    uint32_t nTxn, nTxnAlloc, txn_free;
    struct waiter *aWait;
    uint32_t nWait, nWaitAlloc, wait_free;
    uint64_t *aRecall; /* LLC victims to recall after the current message */
    size_t nRecall, nRecallAlloc;
    /* LLC */
    bool has_llc;
    struct cache_array llc;
    uint8_t *aLlcData, *aLlcDirty;
    /* messages refused by a busy port, in send order; each port's stay in
     * order (a memory port's too: reads must see earlier writes) */
    struct home_out *aOut;
    size_t nOut, nOutAlloc;
    uint32_t *aQueued;       /* per port index: its messages in aOut */
    struct orr_counter *gets, *getm, *puts, *probes, *llc_hits, *llc_misses, *mem_reads,
        *mem_writes, *queued, *recalls, *llc_bypass;
    struct orr_histogram *txn_latency;
};

/* ---------------------------------------------------------------- directory */

static size_t dslot(uint64_t line, size_t cap)
{
    return (size_t)(((line >> 6) * UINT64_C(0x9E3779B97F4A7C15)) >> 17) & (cap - 1);
}

static void dir_grow(struct home *h)
{
    size_t cap = h->nDirCap ? h->nDirCap * 2 : 1024;
    struct dirent *a = calloc(cap, sizeof *a);
    if (!a)
        orr_oom();
    for (size_t i = 0; i < h->nDirCap; i++)
        if (h->aDir[i].line) {
            size_t j = dslot(h->aDir[i].line - 1, cap);
            while (a[j].line)
                j = (j + 1) & (cap - 1);
            a[j] = h->aDir[i];
        }
    free(h->aDir);
    h->aDir = a;
    h->nDirCap = cap;
}

/* The entry for line, or NULL. Never moves entries. */
static struct dirent *dir_find(struct home *h, uint64_t line)
{
    if (!h->nDirCap)
        return NULL;
    size_t j = dslot(line, h->nDirCap);
    while (h->aDir[j].line && h->aDir[j].line != line + 1)
        j = (j + 1) & (h->nDirCap - 1);
    return h->aDir[j].line ? &h->aDir[j] : NULL;
}

/* The entry for line, created if absent. Creating may move every entry,
 * so only message handlers call this, before holding other entries. */
static struct dirent *dir_get(struct home *h, uint64_t line)
{
    struct dirent *e = dir_find(h, line);
    if (e)
        return e;
    if (2 * (h->nDirUsed + 1) > h->nDirCap)
        dir_grow(h);
    size_t j = dslot(line, h->nDirCap);
    while (h->aDir[j].line)
        j = (j + 1) & (h->nDirCap - 1);
    e = &h->aDir[j];
    {
        memset(e, 0, sizeof *e);
        e->line = line + 1;
        e->txn = NO_TXN;
        e->owner = NO_OWNER;
        h->nDirUsed++;
    }
    return e;
}

/* Remove an idle entry in state I (backward-shift deletion keeps probing
 * chains intact), so the table holds only lines that are cached or busy. */
static void dir_maybe_drop(struct home *h, struct dirent *e)
{
    if (e->txn != NO_TXN || e->state != HD_I)
        return;
    size_t i = (size_t)(e - h->aDir), mask = h->nDirCap - 1;
    h->aDir[i].line = 0;
    h->nDirUsed--;
    for (size_t j = (i + 1) & mask; h->aDir[j].line; j = (j + 1) & mask) {
        size_t k = dslot(h->aDir[j].line - 1, h->nDirCap);
        if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
            h->aDir[i] = h->aDir[j];
            h->aDir[j].line = 0;
            i = j;
        }
    }
}

static bool bit(const uint64_t *m, unsigned i) { return (m[i / 64] >> (i % 64)) & 1; }
static void bit_set(uint64_t *m, unsigned i) { m[i / 64] |= UINT64_C(1) << (i % 64); }
static void bit_clr(uint64_t *m, unsigned i) { m[i / 64] &= ~(UINT64_C(1) << (i % 64)); }
static bool bits_empty(const uint64_t *m)
{
    for (int i = 0; i < SW; i++)
        if (m[i])
            return false;
    return true;
}

/* ------------------------------------------------------------------ sending */

static void out(struct orr_component *c, struct orr_port *p, const struct orr_msg *m,
                orr_time_t delay)
{
    struct home *h = c->state;
    /* a port with messages waiting keeps its order: this one waits too
     * (a memory link with a bandwidth limit refuses sends when full) */
    if (!h->aQueued[p->index] && orr_port_send(p, m, delay) != ORR_EBUSY)
        return;
    if (h->nOut == h->nOutAlloc) {
        h->nOutAlloc = h->nOutAlloc ? 2 * h->nOutAlloc : 16;
        h->aOut = realloc(h->aOut, h->nOutAlloc * sizeof *h->aOut);
        if (!h->aOut)
            orr_oom();
    }
    h->aOut[h->nOut++] = (struct home_out){p, *m};
    h->aQueued[p->index]++;
}

/* Port `index` can send again: send its waiting messages in order until it
 * refuses one; the other ports' stay queued. */
static void out_ready(struct home *h, uint16_t index)
{
    size_t w = 0;
    bool blocked = false;
    for (size_t i = 0; i < h->nOut; i++) {
        struct home_out *o = &h->aOut[i];
        if (o->port->index == index && !blocked) {
            if (orr_port_send(o->port, &o->m, 0) != ORR_EBUSY) {
                h->aQueued[index]--;
                continue;
            }
            blocked = true;
        }
        h->aOut[w++] = *o;
    }
    h->nOut = w;
}

static void send(struct orr_component *c, enum orr_coh_type t, unsigned flags, uint64_t line,
                 unsigned dst, const uint8_t *payload, orr_time_t delay)
{
    struct home *h = c->state;
    uint64_t blob = 0;
    if (payload) {
        void *p;
        blob = orr_blob_new(c->sim, ORR_LINE_BYTES, &p);
        memcpy(p, payload, ORR_LINE_BYTES);
    }
    if (h->mon)
        cohmon_log(h->mon, orr_now(c->sim), h->agent, t, line, true);
    struct orr_msg m = {ORR_COH_HDR_BYTES + (payload ? ORR_LINE_BYTES : 0),
                        {orr_coh_w0(line, t, flags), orr_coh_w1(h->agent, dst, blob)}};
    out(c, h->net, &m, delay);
}

/* ---------------------------------------------------------------- the LLC */

static struct orr_port *mem_port(struct home *h, uint64_t line)
{
    return h->aMem[(line >> ORR_LINE_SHIFT) % h->nMem];
}

static void mem_write(struct orr_component *c, uint64_t line, const uint8_t *data)
{
    struct home *h = c->state;
    void *p;
    uint64_t blob = orr_blob_new(c->sim, ORR_LINE_BYTES, &p);
    memcpy(p, data, ORR_LINE_BYTES);
    struct orr_msg m = {ORR_MEM_HDR_BYTES + ORR_LINE_BYTES,
                        {orr_mem_pack(line, ORR_MEM_WR, ORR_MEM_TAG_MAX), blob}};
    h->mem_writes->v++;
    out(c, mem_port(h, line), &m, h->lookup);
}

static bool llc_evictable(void *arg, uint32_t f);

/* Put line's data in the LLC (dirty or clean), evicting as needed. In
 * inclusive mode a victim that private caches may hold is recalled first
 * (queued, and started when the current message is done, so no transaction
 * starts in the middle of another's step); meanwhile the new line is
 * written straight to memory. */
static void queue_recall(struct home *h, uint64_t line)
{
    for (size_t i = 0; i < h->nRecall; i++)
        if (h->aRecall[i] == line)
            return;
    if (h->nRecall == h->nRecallAlloc) {
        h->nRecallAlloc = h->nRecallAlloc ? 2 * h->nRecallAlloc : 8;
        h->aRecall = realloc(h->aRecall, h->nRecallAlloc * sizeof *h->aRecall);
        if (!h->aRecall)
            orr_oom();
    }
    h->aRecall[h->nRecall++] = line;
}

static void llc_write(struct orr_component *c, uint64_t line, const uint8_t *data, bool dirty)
{
    struct home *h = c->state;
    if (!h->has_llc) {
        if (dirty)
            mem_write(c, line, data);
        return;
    }
    int64_t f = cache_array_find(&h->llc, line);
    if (f < 0) {
        f = cache_array_victim(&h->llc, line, &c->rng, llc_evictable, c);
        if (f < 0) { /* every way is being recalled: bypass */
            h->llc_bypass->v++;
            if (dirty)
                mem_write(c, line, data);
            return;
        }
        if (h->llc.aValid[f]) {
            uint64_t v = h->llc.aTag[f];
            struct dirent *ve = dir_find(h, v);
            if (h->inclusive &&
                (h->proto->variant == COH_SNOOP || (ve && ve->state != HD_I))) {
                /* keep the victim until its recall finishes; the new line
                 * goes to memory this time */
                queue_recall(h, v);
                h->llc_bypass->v++;
                if (dirty)
                    mem_write(c, line, data);
                return;
            }
            if (h->aLlcDirty[f])
                mem_write(c, v, h->aLlcData + (size_t)f * ORR_LINE_BYTES);
        }
        cache_array_fill(&h->llc, (uint32_t)f, line);
        h->aLlcDirty[f] = 0;
    } else {
        cache_array_touch(&h->llc, (uint32_t)f);
    }
    memcpy(h->aLlcData + (size_t)f * ORR_LINE_BYTES, data, ORR_LINE_BYTES);
    h->aLlcDirty[f] |= dirty;
}

/* ------------------------------------------------------------ transactions */

static struct txn *txn_of(struct home *h, uint32_t i) { return &h->aTxn[i]; }

static uint32_t txn_new(struct home *h, uint64_t line)
{
    uint32_t i = h->txn_free;
    if (i != NO_TXN) {
        h->txn_free = h->aTxn[i].next_free;
    } else {
        if (h->nTxn == h->nTxnAlloc) {
            h->nTxnAlloc = h->nTxnAlloc ? 2 * h->nTxnAlloc : 64;
            h->aTxn = realloc(h->aTxn, h->nTxnAlloc * sizeof *h->aTxn);
            if (!h->aTxn)
                orr_oom();
        }
        i = h->nTxn++;
    }
    struct txn *t = &h->aTxn[i];
    memset(t, 0, sizeof *t);
    t->line = line;
    t->qhead = t->qtail = NO_TXN;
    t->new_owner = NO_OWNER;
    return i;
}

static void fetch(struct orr_component *c, uint32_t ti);
static void maybe_grant(struct orr_component *c, uint32_t ti);
static void start(struct orr_component *c, struct dirent *e, uint16_t src, uint8_t type);

static unsigned cache_index(const struct home *h, unsigned agent) { return agent - h->first; }
static bool in_domain(const struct home *h, unsigned agent)
{
    return agent >= h->first && agent < h->first + h->ncache;
}

static void probe(struct orr_component *c, struct txn *t, unsigned agent, bool m)
{
    struct home *h = c->state;
    t->acks++;
    h->probes->v++;
    send(c, m ? ORR_COH_PROBE_M : ORR_COH_PROBE_S, 0, t->line, agent, NULL, h->lookup);
}

static void send_probes(struct orr_component *c, struct dirent *e, struct txn *t,
                        const struct coh_plan *p)
{
    struct home *h = c->state;
    bool owner = p->probe == HP_OWNER || p->probe == HP_OWNER_SHARERS;
    bool sharers = p->probe == HP_SHARERS || p->probe == HP_OWNER_SHARERS;
    for (unsigned i = 0; i < h->ncache; i++) {
        unsigned a = h->first + i;
        if (a == t->req && t->type)
            continue;
        bool hit = p->probe == HP_ALL || (owner && e->owner == a) || (sharers && bit(e->sharers, i));
        if (hit)
            probe(c, t, a, p->kind);
    }
}

static void start(struct orr_component *c, struct dirent *e, uint16_t src, uint8_t type)
{
    struct home *h = c->state;
    uint64_t line = e->line - 1;
    uint32_t ti = txn_new(h, line);
    struct txn *t = txn_of(h, ti);
    e->txn = ti;
    t->req = src;
    t->type = type;
    t->start = orr_now(c->sim);
    if (type == ORR_COH_PUT) {
        h->puts->v++;
        t->phase = PH_WB;
        send(c, ORR_COH_WB_GO, 0, line, src, NULL, h->lookup);
        return;
    }
    (type == ORR_COH_GETS ? h->gets : h->getm)->v++;
    unsigned row = h->proto->variant == COH_DIR ? e->state : HD_I;
    const struct coh_plan *p = &h->proto->home[row][type == ORR_COH_GETS ? HR_GETS : HR_GETM];
    t->phase = PH_COLLECT;
    t->grant = p->grant;
    send_probes(c, e, t, p);
    if (p->fetch == HF_NOW || t->acks == 0)
        fetch(c, ti);
    /* directory: E only when nobody else holds the line */
    if (h->proto->variant == COH_DIR && (e->state != HD_I || !h->proto->has_e))
        t->shared_seen = true;
    maybe_grant(c, ti);
}

static void fetch(struct orr_component *c, uint32_t ti)
{
    struct home *h = c->state;
    struct txn *t = txn_of(h, ti);
    if (t->fetching || t->fetched || t->have_data)
        return;
    t->fetching = true;
    int64_t f = h->has_llc ? cache_array_find(&h->llc, t->line) : -1;
    if (f >= 0) {
        h->llc_hits->v++;
        cache_array_touch(&h->llc, (uint32_t)f);
        /* copied now: the line may leave the LLC before the data is due */
        memcpy(t->fetch_buf, h->aLlcData + (size_t)f * ORR_LINE_BYTES, ORR_LINE_BYTES);
        orr_timer(c, h->lookup + h->llc_hit, 1, ti, 0);
        return;
    }
    if (h->has_llc)
        h->llc_misses->v++;
    h->mem_reads->v++;
    struct orr_msg m = {ORR_MEM_HDR_BYTES, {orr_mem_pack(t->line, ORR_MEM_RD, ti), 0}};
    out(c, mem_port(h, t->line), &m, h->lookup);
}

/* Data for the transaction has arrived from the LLC or memory. */
static void fetched(struct orr_component *c, uint32_t ti, const uint8_t *data)
{
    struct home *h = c->state;
    struct txn *t = txn_of(h, ti);
    t->fetching = false;
    t->fetched = true;
    if (!t->have_data) { /* a dirty probe answer wins over memory */
        memcpy(t->data, data, ORR_LINE_BYTES);
        t->have_data = true;
    }
    maybe_grant(c, ti);
}

static void finish(struct orr_component *c, struct dirent *e);

static void maybe_grant(struct orr_component *c, uint32_t ti)
{
    struct home *h = c->state;
    struct txn *t = txn_of(h, ti);
    if (t->phase != PH_COLLECT && t->phase != PH_RECALL)
        return;
    if (t->acks)
        return;
    if (!t->have_data) {
        fetch(c, ti);
        return;
    }
    if (t->fetching)
        return; /* memory data still on its way; it will be dropped on arrival */
    struct dirent *e = dir_get(h, t->line);
    if (t->dirty)
        llc_write(c, t->line, t->data, true);
    if (t->phase == PH_RECALL) {
        /* the recalled line leaves the LLC: written back, directory empty */
        int64_t f = cache_array_find(&h->llc, t->line);
        if (f >= 0) {
            if (h->aLlcDirty[f] && !t->dirty)
                mem_write(c, t->line, h->aLlcData + (size_t)f * ORR_LINE_BYTES);
            else if (t->dirty)
                mem_write(c, t->line, t->data);
            cache_array_drop(&h->llc, (uint32_t)f);
        }
        e->state = HD_I;
        e->owner = NO_OWNER;
        memset(e->sharers, 0, sizeof e->sharers);
        finish(c, e);
        return;
    }
    enum orr_coh_type g = ORR_COH_DATA_S;
    if (t->grant == HG_M)
        g = ORR_COH_DATA_M;
    else if (t->grant == HG_E_IF_ALONE && h->proto->has_e && !t->shared_seen)
        g = ORR_COH_DATA_E;
    send(c, g, 0, t->line, t->req, t->data, 0); /* the lookup was paid before the fetch */
    /* the directory after the grant */
    unsigned r = cache_index(h, t->req);
    if (g == ORR_COH_DATA_M || g == ORR_COH_DATA_E) {
        e->state = HD_X;
        e->owner = t->req;
        memset(e->sharers, 0, sizeof e->sharers);
    } else if (t->new_owner != NO_OWNER) {
        e->state = HD_O;
        e->owner = t->new_owner;
        bit_set(e->sharers, r);
    } else {
        if (e->owner != NO_OWNER && in_domain(h, e->owner) &&
            bit(t->shared_resp, cache_index(h, e->owner)))
            bit_set(e->sharers, cache_index(h, e->owner));
        e->state = HD_S;
        e->owner = NO_OWNER;
        bit_set(e->sharers, r);
    }
    if (e->owner != NO_OWNER && e->state == HD_O)
        bit_clr(e->sharers, cache_index(h, e->owner));
    t->phase = PH_UNBLOCK;
}

/* The transaction on e is over: free it and start the next waiting one. */
static void finish(struct orr_component *c, struct dirent *e)
{
    struct home *h = c->state;
    uint32_t ti = e->txn;
    struct txn *t = txn_of(h, ti);
    orr_histogram_add(h->txn_latency, orr_now(c->sim) - t->start);
    uint32_t q = t->qhead, qtail = t->qtail;
    (void)qtail;
    t->next_free = h->txn_free;
    h->txn_free = ti;
    e->txn = NO_TXN;
    if (q == NO_TXN) {
        dir_maybe_drop(h, e);
        return;
    }
    struct waiter w = h->aWait[q];
    h->aWait[q].next = h->wait_free;
    h->wait_free = q;
    start(c, e, w.src, w.type);
    /* the remaining waiters move to the new transaction */
    struct txn *n = txn_of(h, e->txn);
    n->qhead = w.next;
    n->qtail = w.next == NO_TXN ? NO_TXN : qtail;
}

static void enqueue(struct home *h, struct txn *t, uint16_t src, uint8_t type)
{
    uint32_t i = h->wait_free;
    if (i != NO_TXN) {
        h->wait_free = h->aWait[i].next;
    } else {
        if (h->nWait == h->nWaitAlloc) {
            h->nWaitAlloc = h->nWaitAlloc ? 2 * h->nWaitAlloc : 64;
            h->aWait = realloc(h->aWait, h->nWaitAlloc * sizeof *h->aWait);
            if (!h->aWait)
                orr_oom();
        }
        i = h->nWait++;
    }
    h->aWait[i] = (struct waiter){NO_TXN, src, type};
    if (t->qtail == NO_TXN)
        t->qhead = i;
    else
        h->aWait[t->qtail].next = i;
    t->qtail = i;
    h->queued->v++;
}

static void start_recall(struct orr_component *c, uint64_t line)
{
    struct home *h = c->state;
    int64_t f = cache_array_find(&h->llc, line);
    if (f < 0)
        return;
    struct dirent *e = dir_get(h, line); /* top level: creating is safe */
    if (e->txn != NO_TXN)
        return; /* busy or gone: a later eviction recalls it if still needed */
    h->recalls->v++;
    uint32_t ti = txn_new(h, line);
    struct txn *t = txn_of(h, ti);
    e->txn = ti;
    t->type = 0;
    t->req = NO_OWNER;
    t->phase = PH_RECALL;
    t->start = orr_now(c->sim);
    t->have_data = true; /* the LLC's copy, unless a dirty answer replaces it */
    memcpy(t->data, h->aLlcData + (size_t)f * ORR_LINE_BYTES, ORR_LINE_BYTES);
    struct coh_plan all = {h->proto->variant == COH_DIR ? HP_OWNER_SHARERS : HP_ALL, 1,
                           HF_IF_CLEAN, HG_M};
    send_probes(c, e, t, &all);
    maybe_grant(c, ti);
}

static bool llc_evictable(void *arg, uint32_t f)
{
    struct orr_component *c = arg;
    struct home *h = c->state;
    uint64_t line = h->llc.aTag[f];
    /* a line in a transaction stays until it ends */
    size_t j = dslot(line, h->nDirCap ? h->nDirCap : 1);
    if (!h->nDirCap)
        return true;
    while (h->aDir[j].line && h->aDir[j].line != line + 1)
        j = (j + 1) & (h->nDirCap - 1);
    return !h->aDir[j].line || h->aDir[j].txn == NO_TXN;
}

/* -------------------------------------------------------------- messages */

static void response(struct orr_component *c, struct dirent *e, const struct orr_event *ev)
{
    struct home *h = c->state;
    enum orr_coh_type type = orr_coh_type(ev->data[0]);
    unsigned src = orr_coh_src(ev->data[1]), fl = orr_coh_flags(ev->data[0]);
    uint64_t blob = orr_coh_blob(ev->data[1]);
    struct txn *t = e->txn == NO_TXN ? NULL : txn_of(h, e->txn);
    bool ok = t && ((type == ORR_COH_ACK && (t->phase == PH_COLLECT || t->phase == PH_RECALL) &&
                     t->acks) ||
                    (type == ORR_COH_UNBLOCK && t->phase == PH_UNBLOCK && src == t->req) ||
                    ((type == ORR_COH_WB_DATA || type == ORR_COH_WB_CANCEL) &&
                     t->phase == PH_WB && src == t->req));
    if (!ok) {
        orr_sim_fail(c, "unexpected %s from agent %u for line %#llx (no transaction waits for it)",
                     orr_coh_type_name(type), src, (unsigned long long)(e->line - 1));
        if (blob)
            orr_blob_free(c->sim, blob);
        return;
    }
    uint32_t ti = e->txn;
    switch (type) {
    case ORR_COH_ACK:
        t->acks--;
        if (fl & ORR_COH_F_SHARED) {
            t->shared_seen = true;
            if (in_domain(h, src))
                bit_set(t->shared_resp, cache_index(h, src));
        } else if (h->proto->variant == COH_DIR && in_domain(h, src)) {
            bit_clr(e->sharers, cache_index(h, src));
        }
        if (fl & ORR_COH_F_OWNER)
            t->new_owner = (uint16_t)src;
        if (blob) {
            if (fl & ORR_COH_F_DIRTY) {
                memcpy(t->data, orr_blob_get(c->sim, blob), ORR_LINE_BYTES);
                t->have_data = true;
                /* an owner that keeps the line (O) stays responsible for it */
                t->dirty = !(fl & ORR_COH_F_OWNER);
            }
            orr_blob_free(c->sim, blob);
        }
        maybe_grant(c, ti);
        return;
    case ORR_COH_UNBLOCK:
        finish(c, e);
        return;
    case ORR_COH_WB_DATA:
        if (h->proto->variant == COH_DIR && e->owner != src) {
            orr_sim_fail(c, "WB_DATA for line %#llx from agent %u, but the directory's owner is %d",
                         (unsigned long long)(e->line - 1), src,
                         e->owner == NO_OWNER ? -1 : (int)e->owner);
        }
        llc_write(c, e->line - 1, orr_blob_get(c->sim, blob), true);
        orr_blob_free(c->sim, blob);
        if (e->state == HD_O && !bits_empty(e->sharers)) {
            e->state = HD_S;
        } else {
            e->state = HD_I;
            memset(e->sharers, 0, sizeof e->sharers);
        }
        e->owner = NO_OWNER;
        finish(c, e);
        return;
    case ORR_COH_WB_CANCEL:
        finish(c, e);
        return;
    default:
        return;
    }
}

static void net_message(struct orr_component *c, const struct orr_event *ev)
{
    struct home *h = c->state;
    uint64_t line = orr_coh_line(ev->data[0]);
    enum orr_coh_type type = orr_coh_type(ev->data[0]);
    unsigned src = orr_coh_src(ev->data[1]);
    if (h->mon)
        cohmon_log(h->mon, orr_now(c->sim), h->agent, type, line, false);
    if (orr_coh_dst(ev->data[1]) != h->agent || line < h->base || line - h->base >= h->size ||
        !in_domain(h, src)) {
        orr_sim_fail(c, "misrouted %s for line %#llx from agent %u to agent %u",
                     orr_coh_type_name(type), (unsigned long long)line, src,
                     orr_coh_dst(ev->data[1]));
        if (orr_coh_blob(ev->data[1]))
            orr_blob_free(c->sim, orr_coh_blob(ev->data[1]));
        return;
    }
    struct dirent *e = dir_get(h, line);
    if (type == ORR_COH_GETS || type == ORR_COH_GETM || type == ORR_COH_PUT) {
        if (e->txn != NO_TXN)
            enqueue(h, txn_of(h, e->txn), (uint16_t)src, (uint8_t)type);
        else
            start(c, e, (uint16_t)src, (uint8_t)type);
        return;
    }
    response(c, e, ev);
}

static void mem_message(struct orr_component *c, const struct orr_event *ev)
{
    struct home *h = c->state;
    if (orr_mem_cmd(ev->data[0]) == ORR_MEM_WR_ACK)
        return;
    if (orr_mem_cmd(ev->data[0]) != ORR_MEM_RD_RESP) {
        orr_sim_fail(c, "unexpected memory message %d", (int)orr_mem_cmd(ev->data[0]));
        return;
    }
    uint32_t ti = orr_mem_tag(ev->data[0]);
    const uint8_t *d = orr_blob_get(c->sim, ev->data[1]);
    if (ti < h->nTxn && txn_of(h, ti)->fetching && txn_of(h, ti)->line == orr_mem_addr(ev->data[0])) {
        /* fill the LLC on the way (clean) */
        if (h->has_llc)
            llc_write(c, orr_mem_addr(ev->data[0]), d, false);
        fetched(c, ti, d);
    } else {
        orr_sim_fail(c, "memory response for line %#llx matches no transaction",
                     (unsigned long long)orr_mem_addr(ev->data[0]));
    }
    orr_blob_free(c->sim, ev->data[1]);
}

static void drain_recalls(struct orr_component *c)
{
    struct home *h = c->state;
    for (size_t i = 0; i < h->nRecall; i++)
        start_recall(c, h->aRecall[i]);
    h->nRecall = 0;
}

static void home_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct home *h = c->state;
    if (ev->kind == ORR_TK_TIMER) { /* LLC hit data ready */
        uint32_t ti = (uint32_t)ev->data[0];
        fetched(c, ti, txn_of(h, ti)->fetch_buf);
        drain_recalls(c);
        return;
    }
    if (ev->kind == ORR_TK_READY) {
        out_ready(h, ev->port);
        return;
    }
    if (ev->kind != ORR_TK_MSG)
        return;
    if (ev->port == h->net->index)
        net_message(c, ev);
    else
        mem_message(c, ev);
    drain_recalls(c);
}

/* ------------------------------------------------------------------ setup */

static int home_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    struct home *h = c->state;
    int rc = coh_agent_protocol(p, c->keypath, &h->proto, &h->mutated, d);
    if (rc)
        return rc;
    h->agent = (uint32_t)orr_param_u64(p, "agent");
    h->first = (uint32_t)orr_param_u64(p, "first_cache");
    h->ncache = (uint32_t)orr_param_u64(p, "caches");
    h->base = orr_param_u64(p, "base");
    h->size = orr_param_u64(p, "size");
    h->cycle = (orr_time_t)(UINT64_C(1000000000000) / orr_param_u64(p, "frequency"));
    h->lookup = orr_param_u64(p, "latency") * h->cycle;
    const struct orr_params *lp = orr_param_group(p, "llc");
    h->llc_hit = orr_param_u64(lp, "latency") * h->cycle;
    h->inclusive = orr_param_bool(lp, "inclusive");
    h->txn_free = h->wait_free = NO_TXN;
    uint64_t llc = orr_param_u64(lp, "size");
    if (llc) {
        uint32_t ways = (uint32_t)orr_param_u64(lp, "ways"), sets;
        if (pcache_check_level(lp, c->keypath, "llc", true, d))
            return ORR_ESCHEMA;
        sets = (uint32_t)(llc / ((uint64_t)ways * ORR_LINE_BYTES));
        if (cache_array_init(&h->llc, sets, ways, (enum cache_repl)orr_param_enum(lp, "replacement")))
            return ORR_ENOMEM;
        h->has_llc = true;
        h->aLlcData = calloc((size_t)sets * ways, ORR_LINE_BYTES);
        h->aLlcDirty = calloc((size_t)sets * ways, 1);
        if (!h->aLlcData || !h->aLlcDirty)
            return ORR_ENOMEM;
    }
    h->net = orr_port_add(c, "net");
    h->nMem = (uint32_t)orr_param_u64(p, "mem_ports");
    h->aMem = calloc(h->nMem, sizeof *h->aMem);
    if (!h->aMem)
        return ORR_ENOMEM;
    for (uint32_t i = 0; i < h->nMem; i++) {
        char n[16];
        snprintf(n, sizeof n, "m%u", i);
        h->aMem[i] = orr_port_add(c, n);
    }
    uint16_t nPort = h->net->index;
    for (uint32_t i = 0; i < h->nMem; i++)
        if (h->aMem[i]->index > nPort)
            nPort = h->aMem[i]->index;
    if (!(h->aQueued = calloc((size_t)nPort + 1, sizeof *h->aQueued)))
        return ORR_ENOMEM;
    if (orr_param_bool(p, "check"))
        h->mon = cohmon_get(c->sim);
    orr_sim_knob(c, "protocol", h->proto->name);
    if (h->mutated)
        orr_sim_knob(c, "mutation", orr_param_str(p, "mutation"));
    h->gets = orr_counter_new(c, "gets", "req");
    h->getm = orr_counter_new(c, "getm", "req");
    h->puts = orr_counter_new(c, "puts", "req");
    h->probes = orr_counter_new(c, "probes", "msg");
    h->llc_hits = orr_counter_new(c, "llc.hits", "line");
    h->llc_misses = orr_counter_new(c, "llc.misses", "line");
    h->mem_reads = orr_counter_new(c, "mem_reads", "line");
    h->mem_writes = orr_counter_new(c, "mem_writes", "line");
    h->queued = orr_counter_new(c, "queued", "req");
    h->recalls = orr_counter_new(c, "recalls", "line");
    h->llc_bypass = orr_counter_new(c, "llc.bypass", "line");
    h->txn_latency = orr_histogram_new(c, "txn_latency", "ps");
    return 0;
}

static int home_start(struct orr_component *c, struct orr_diag *d)
{
    struct home *h = c->state;
    if (!orr_port_peer(h->net)) {
        orr_diag_error(d, &c->mark, c->keypath, "port 'net' is not linked");
        return ORR_ESCHEMA;
    }
    for (uint32_t i = 0; i < h->nMem; i++)
        if (!orr_port_peer(h->aMem[i])) {
            orr_diag_error(d, &c->mark, c->keypath, "port 'm%u' is not linked to memory", i);
            return ORR_ESCHEMA;
        }
    return 0;
}

static void home_destroy(struct orr_component *c)
{
    struct home *h = c->state;
    free(h->aDir);
    free(h->aTxn);
    free(h->aWait);
    free(h->aOut);
    free(h->aQueued);
    free(h->aRecall);
    free(h->aMem);
    free(h->mutated);
    if (h->has_llc) {
        cache_array_free(&h->llc);
        free(h->aLlcData);
        free(h->aLlcDirty);
    }
}

static const struct orr_metric_doc home_metrics[] = {
    {"gets", "req", ORR_METRIC_COUNTER, "GETS requests (read permission) received"},
    {"getm", "req", ORR_METRIC_COUNTER, "GETM requests (write permission) received"},
    {"puts", "req", ORR_METRIC_COUNTER, "PUT requests (writebacks) received"},
    {"probes", "msg", ORR_METRIC_COUNTER, "probes sent to caches"},
    {"llc.hits", "line", ORR_METRIC_COUNTER, "line fetches served by the LLC"},
    {"llc.misses", "line", ORR_METRIC_COUNTER, "line fetches the LLC missed (with an LLC)"},
    {"mem_reads", "line", ORR_METRIC_COUNTER, "lines read from memory"},
    {"mem_writes", "line", ORR_METRIC_COUNTER, "lines written to memory"},
    {"queued", "req", ORR_METRIC_COUNTER,
     "requests that waited for an earlier transaction on their line"},
    {"recalls", "line", ORR_METRIC_COUNTER,
     "lines recalled from private caches to evict them from an inclusive LLC"},
    {"llc.bypass", "line", ORR_METRIC_COUNTER,
     "lines filled past an inclusive LLC whose set was all being recalled"},
    {"txn_latency", "ps", ORR_METRIC_HISTOGRAM,
     "transaction start to its end (the last UNBLOCK or writeback)"},
    {NULL},
};

/* ------------------------------------------------------ checkpoint/restore */

/* Dynamic state: the directory (as laid out: restored slot for slot),
 * transactions and waiters (their indexes travel in events), the LLC, and
 * messages waiting for busy ports. */
static void home_save(const struct orr_component *c, struct orr_ckpt_writer *w)
{
    const struct home *h = c->state;
    orr_ckpt_put_u64(w, h->nDirUsed);
    orr_ckpt_put_array(w, h->aDir, h->nDirCap, sizeof *h->aDir);
    orr_ckpt_put_u32(w, h->txn_free);
    orr_ckpt_put_array(w, h->aTxn, h->nTxn, sizeof *h->aTxn);
    orr_ckpt_put_u32(w, h->wait_free);
    orr_ckpt_put_array(w, h->aWait, h->nWait, sizeof *h->aWait);
    orr_ckpt_put_array(w, h->aRecall, h->nRecall, sizeof *h->aRecall);
    if (h->has_llc) {
        size_t n = (size_t)h->llc.sets * h->llc.ways;
        cache_array_save(&h->llc, w);
        orr_ckpt_put_bytes(w, h->aLlcData, n * ORR_LINE_BYTES);
        orr_ckpt_put_bytes(w, h->aLlcDirty, n);
    }
    orr_ckpt_put_u64(w, h->nOut);
    for (size_t i = 0; i < h->nOut; i++) {
        orr_ckpt_put_u32(w, h->aOut[i].port->index);
        orr_ckpt_put_u32(w, h->aOut[i].m.size);
        orr_ckpt_put_u64(w, h->aOut[i].m.data[0]);
        orr_ckpt_put_u64(w, h->aOut[i].m.data[1]);
    }
    orr_ckpt_put_array(w, h->aQueued, c->nPort, sizeof *h->aQueued);
}

static void home_restore(struct orr_component *c, struct orr_ckpt_reader *r)
{
    struct home *h = c->state;
    size_t n;
    h->nDirUsed = orr_ckpt_get_u64(r);
    free(h->aDir);
    h->aDir = orr_ckpt_get_array(r, sizeof *h->aDir, &h->nDirCap);
    if (h->nDirCap & (h->nDirCap - 1))
        orr_ckpt_fail(r, "a directory whose size is not a power of two");
    h->txn_free = orr_ckpt_get_u32(r);
    free(h->aTxn);
    h->aTxn = orr_ckpt_get_array(r, sizeof *h->aTxn, &n);
    h->nTxn = h->nTxnAlloc = (uint32_t)n;
    h->wait_free = orr_ckpt_get_u32(r);
    free(h->aWait);
    h->aWait = orr_ckpt_get_array(r, sizeof *h->aWait, &n);
    h->nWait = h->nWaitAlloc = (uint32_t)n;
    free(h->aRecall);
    h->aRecall = orr_ckpt_get_array(r, sizeof *h->aRecall, &h->nRecall);
    h->nRecallAlloc = h->nRecall;
    if (h->has_llc) {
        n = (size_t)h->llc.sets * h->llc.ways;
        cache_array_restore(&h->llc, r);
        orr_ckpt_get_into(r, h->aLlcData, n * ORR_LINE_BYTES);
        orr_ckpt_get_into(r, h->aLlcDirty, n);
    }
    uint64_t nOut = orr_ckpt_get_count(r, 24);
    free(h->aOut);
    h->aOut = calloc(nOut ? nOut : 1, sizeof *h->aOut);
    if (!h->aOut)
        orr_oom();
    h->nOut = h->nOutAlloc = 0;
    for (uint64_t i = 0; i < nOut && orr_ckpt_ok(r); i++) {
        uint32_t port = orr_ckpt_get_u32(r);
        struct home_out o = {.port = port < c->nPort ? c->aPort[port] : NULL};
        o.m.size = orr_ckpt_get_u32(r);
        o.m.data[0] = orr_ckpt_get_u64(r);
        o.m.data[1] = orr_ckpt_get_u64(r);
        if (!o.port)
            orr_ckpt_fail(r, "a queued message names a port the home does not have");
        h->aOut[h->nOut++] = o;
    }
    h->nOutAlloc = nOut ? nOut : 1;
    orr_ckpt_get_into(r, h->aQueued, c->nPort * sizeof *h->aQueued);
}

const struct orr_component_type orr_home_type = {
    .name = "home",
    .summary = "home agent: orders coherence per line, directory or snooping probes, LLC, memory",
    .params = home_params,
    .ports = home_ports,
    .metrics = home_metrics,
    .state_size = sizeof(struct home),
    .create = home_create,
    .start = home_start,
    .handle = home_handle,
    .destroy = home_destroy,
    .save = home_save,
    .restore = home_restore,
};
