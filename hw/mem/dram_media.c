/* dram_media: DRAM channels, banks, an FR-FCFS (or FCFS) scheduler and the
 * stored bytes — the engine shared by `dram` and `cxl_mem` (dram_media.h
 * has the timing equations).
 *
 * Life of a request:
 *
 *   submit --(delay + controller)--> ADMIT: into the channel's scheduler
 *   queue (or, when `queue` requests are already there, a FIFO in front of
 *   it) --PICK--> commit: bank and data-bus times are computed and the bytes
 *   are read or written --(until the end of the burst)--> DONE: callback.
 *
 * Address mapping (RoBaCoCh, documented in docs/memory.md): with
 * L = (addr - base) / 64 the line index,
 *   channel = L mod channels                  (consecutive lines alternate)
 *   column  = (L / channels) mod lines_per_row (a stream stays in one row)
 *   bank    = (L / channels / lines_per_row) mod banks
 *   row     =  L / channels / lines_per_row / banks
 *
 * Scheduling (one PICK at a time per channel). FR-FCFS: serve the oldest
 * request whose row is the one its bank has open (as left by the requests
 * already committed), else the oldest request. Starvation cap: each time a
 * younger request is served ahead of the oldest, the oldest's bypass count
 * grows; when it reaches `starve`, the oldest is served next. FCFS: always
 * the oldest. Picks are paced: the next pick is one burst later and no
 * earlier than the time at which even a row conflict's data would reach
 * the bus as it frees, so committed work runs at most about one conflict's
 * preparation ahead of the bus and the rest waits where the scheduler can
 * still reorder it. Open-page policy: a row stays open until a conflict
 * closes it; refresh is not modelled.
 *
 * Invariants (1 and 2 checked by dram_media_check):
 *   1. each channel's queue is in admission order (ages increase);
 *   2. nQ <= queue, and a request waits in the FIFO only while nQ == queue;
 *   3. a channel has at most one PICK pending (pick_pending);
 *   4. requests to the same line are committed in admission order: they
 *      share a row, so FR-FCFS ranks them alike and the oldest goes first,
 *      and the starvation cap only ever promotes the oldest. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/dram_media.h"
#include "hw/linestore.h"
#include "hw/memdev.h"
#include "orrery/checkpoint.h"
#include "orrery/error.h"

const char *const dram_policy_names[] = {"fr-fcfs", "fcfs", NULL};

enum { TIMER_ADMIT = 0, TIMER_PICK = 1, TIMER_DONE = 2 };

struct dreq {
    uint64_t addr, row, age;
    orr_time_t arrived;
    uint32_t cookie, bank, bypassed, next_free; /* next_free: slot + 1, 0 = none */
    uint16_t tag;
    uint8_t cmd;
    uint8_t data[ORR_LINE_BYTES];
};

struct dbank {
    uint64_t row;
    bool open;
    orr_time_t col_ready; /* earliest next column (or precharge) command */
    orr_time_t act_at;    /* last activate, for tRAS */
};

struct dchan {
    uint32_t *aQ; /* scheduler queue: request slots in admission order */
    size_t nQ;
    uint32_t *aWait; /* ring of requests waiting for a queue slot */
    size_t waitHead, nWait, waitCap;
    struct dbank *aBank;
    orr_time_t next_pick, bus_free, busy;
    bool pick_pending;
    unsigned __int128 occ_area; /* sum of occupancy * ps */
    orr_time_t occ_since;
    struct orr_gauge *occupancy;
    struct orr_value *occupancy_mean;
};

struct dram_media {
    struct orr_component *c;
    struct dram_cfg cfg;
    uint16_t tbase;
    dram_done_fn done;
    uint64_t lines_per_row;
    orr_time_t window; /* tRP + tRCD + tCL: the most a request needs before its data */
    struct dreq *aReq;
    size_t nReq, nReqAlloc;
    uint32_t free_head;
    uint64_t next_age;
    struct dchan *aChan;
    struct linestore store;
    struct orr_counter *reads, *writes, *row_hits, *row_misses, *row_conflicts;
    struct orr_counter *bytes_read, *bytes_written, *queue_full;
    struct orr_histogram *read_latency;
    struct orr_value *bandwidth, *bus_util;
};

static orr_time_t tmax(orr_time_t a, orr_time_t b) { return a > b ? a : b; }

/* --- configuration ------------------------------------------------------- */

/* Defaults: one DDR4-3200 controller (the header says why). */
const struct orr_param dram_media_params[] = {
    {"channels", ORR_P_UINT, "2", ORR_PF_POSITIVE, "independent channels", NULL, 1, 64},
    {"banks", ORR_P_UINT, "16", ORR_PF_POSITIVE, "banks per channel (DDR4: 16)", NULL, 1, 1024},
    {"row", ORR_P_SIZE, "8KiB", ORR_PF_POSITIVE, "row (page) size per bank; a multiple of 64 B",
     NULL, 64, 1u << 20},
    {"tCL", ORR_P_TIME, "13.75ns", 0, "column access: column command to data (CAS latency)"},
    {"tRCD", ORR_P_TIME, "13.75ns", 0, "activate to column command"},
    {"tRP", ORR_P_TIME, "13.75ns", 0, "precharge to activate"},
    {"tRAS", ORR_P_TIME, "32ns", 0, "activate to precharge minimum; 0 disables the constraint"},
    {"burst", ORR_P_TIME, "2.5ns", ORR_PF_POSITIVE,
     "data-bus time per 64 B line; channel bandwidth = 64 B / burst"},
    {"controller", ORR_P_TIME, "40ns", 0, "front-end latency before a request can be scheduled"},
    {"queue", ORR_P_UINT, "32", ORR_PF_POSITIVE,
     "scheduler queue depth per channel; later requests wait in arrival order", NULL, 1, 4096},
    {"policy", ORR_P_ENUM, "fr-fcfs", 0, "scheduling: row hits first, or strictly oldest first",
     dram_policy_names},
    {"starve", ORR_P_UINT, "16", ORR_PF_POSITIVE,
     "fr-fcfs: younger row hits that may bypass the oldest request before it is served", NULL, 1,
     1000000},
    {NULL},
};

int dram_cfg_read(const struct orr_component *c, const struct orr_params *p,
                  struct dram_cfg *cfg, struct orr_diag *d)
{
    memset(cfg, 0, sizeof *cfg);
    int rc = memdev_range_read(c, p, &cfg->base, &cfg->size, d);
    cfg->row_bytes = orr_param_u64(p, "row");
    if (cfg->row_bytes % ORR_LINE_BYTES) {
        orr_diag_error(d, orr_param_mark(p, "row"), c->keypath,
                       "row is not a multiple of the %u-byte line", ORR_LINE_BYTES);
        rc = ORR_ESCHEMA;
    }
    cfg->channels = (unsigned)orr_param_u64(p, "channels");
    cfg->banks = (unsigned)orr_param_u64(p, "banks");
    cfg->tCL = orr_param_u64(p, "tCL");
    cfg->tRCD = orr_param_u64(p, "tRCD");
    cfg->tRP = orr_param_u64(p, "tRP");
    cfg->tRAS = orr_param_u64(p, "tRAS");
    cfg->burst = orr_param_u64(p, "burst");
    cfg->controller = orr_param_u64(p, "controller");
    cfg->queue = (unsigned)orr_param_u64(p, "queue");
    cfg->starve = (unsigned)orr_param_u64(p, "starve");
    cfg->policy = (enum dram_policy)orr_param_enum(p, "policy");
    return rc;
}

/* --- construction -------------------------------------------------------- */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        orr_oom(); /* a model cannot run without its state */
    return p;
}

struct dram_media *dram_media_new(struct orr_component *c, const struct dram_cfg *cfg,
                                  uint16_t timer_base, dram_done_fn done)
{
    struct dram_media *m = xcalloc(1, sizeof *m);
    m->c = c;
    m->cfg = *cfg;
    m->tbase = timer_base;
    m->done = done;
    m->lines_per_row = cfg->row_bytes / ORR_LINE_BYTES;
    m->window = cfg->tRP + cfg->tRCD + cfg->tCL;
    linestore_init(&m->store);
    m->reads = orr_counter_new(c, "reads", "req");
    m->writes = orr_counter_new(c, "writes", "req");
    m->row_hits = orr_counter_new(c, "row_hits", "req");
    m->row_misses = orr_counter_new(c, "row_misses", "req");
    m->row_conflicts = orr_counter_new(c, "row_conflicts", "req");
    m->bytes_read = orr_counter_new(c, "bytes_read", "B");
    m->bytes_written = orr_counter_new(c, "bytes_written", "B");
    m->queue_full = orr_counter_new(c, "queue_full", "req");
    m->read_latency = orr_histogram_new(c, "read_latency", "ns");
    m->bandwidth = orr_value_new(c, "bandwidth", "GB/s");
    m->bus_util = orr_value_new(c, "bus_util", "fraction");
    m->aChan = xcalloc(cfg->channels, sizeof *m->aChan);
    for (unsigned i = 0; i < cfg->channels; i++) {
        struct dchan *ch = &m->aChan[i];
        char name[48];
        ch->aQ = xcalloc(cfg->queue, sizeof *ch->aQ);
        ch->aBank = xcalloc(cfg->banks, sizeof *ch->aBank);
        snprintf(name, sizeof name, "ch%u.queue", i);
        ch->occupancy = orr_gauge_new(c, name, "req");
        snprintf(name, sizeof name, "ch%u.queue_mean", i);
        ch->occupancy_mean = orr_value_new(c, name, "req");
    }
    return m;
}

void dram_media_free(struct dram_media *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->cfg.channels; i++) {
        free(m->aChan[i].aQ);
        free(m->aChan[i].aWait);
        free(m->aChan[i].aBank);
    }
    free(m->aChan);
    free(m->aReq);
    linestore_free(&m->store);
    free(m);
}

/* --- addresses and request slots ---------------------------------------- */

bool dram_media_serves(const struct dram_media *m, uint64_t addr)
{
    return addr >= m->cfg.base && addr - m->cfg.base < m->cfg.size;
}

struct dram_loc dram_media_locate(const struct dram_media *m, uint64_t addr)
{
    uint64_t line = (addr - m->cfg.base) / ORR_LINE_BYTES;
    struct dram_loc l;
    l.channel = (unsigned)(line % m->cfg.channels);
    line /= m->cfg.channels;
    l.column = line % m->lines_per_row;
    line /= m->lines_per_row;
    l.bank = (unsigned)(line % m->cfg.banks);
    l.row = line / m->cfg.banks;
    return l;
}

/* Slots come from a LIFO free list, so their numbers follow the event order. */
static uint32_t req_alloc(struct dram_media *m)
{
    if (m->free_head) {
        uint32_t i = m->free_head - 1;
        m->free_head = m->aReq[i].next_free;
        return i;
    }
    if (m->nReq == m->nReqAlloc) {
        size_t cap = m->nReqAlloc ? m->nReqAlloc * 2 : 64;
        struct dreq *a = realloc(m->aReq, cap * sizeof *a);
        if (!a)
            orr_oom();
        m->aReq = a;
        m->nReqAlloc = cap;
    }
    return (uint32_t)m->nReq++;
}

static void req_release(struct dram_media *m, uint32_t i)
{
    m->aReq[i].next_free = m->free_head;
    m->free_head = i + 1;
}

/* --- the scheduler ------------------------------------------------------- */

/* Requests waiting in a channel (queue + FIFO) changed: integrate the old
 * level over the time it held, then record the new one. */
static void occupancy_update(struct dram_media *m, struct dchan *ch)
{
    orr_time_t now = orr_now(m->c->sim);
    ch->occ_area += (unsigned __int128)(ch->nQ + ch->nWait) * (now - ch->occ_since);
    ch->occ_since = now;
}

static void occupancy_set(struct dchan *ch) { orr_gauge_set(ch->occupancy, (int64_t)(ch->nQ + ch->nWait)); }

static void kick(struct dram_media *m, unsigned channel)
{
    struct dchan *ch = &m->aChan[channel];
    if (ch->pick_pending || ch->nQ == 0)
        return;
    ch->pick_pending = true;
    orr_time_t now = orr_now(m->c->sim);
    orr_timer(m->c, tmax(now, ch->next_pick) - now, (uint16_t)(m->tbase + TIMER_PICK), channel, 0);
}

static void wait_push(struct dchan *ch, uint32_t slot)
{
    if (ch->nWait == ch->waitCap) {
        size_t cap = ch->waitCap ? ch->waitCap * 2 : 16;
        uint32_t *a = xcalloc(cap, sizeof *a);
        for (size_t i = 0; i < ch->nWait; i++)
            a[i] = ch->aWait[(ch->waitHead + i) % ch->waitCap];
        free(ch->aWait);
        ch->aWait = a;
        ch->waitHead = 0;
        ch->waitCap = cap;
    }
    ch->aWait[(ch->waitHead + ch->nWait++) % ch->waitCap] = slot;
}

static void admit(struct dram_media *m, uint32_t slot)
{
    struct dreq *r = &m->aReq[slot];
    struct dram_loc loc = dram_media_locate(m, r->addr);
    struct dchan *ch = &m->aChan[loc.channel];
    r->bank = loc.bank;
    r->row = loc.row;
    r->age = m->next_age++;
    occupancy_update(m, ch);
    if (ch->nQ < m->cfg.queue && ch->nWait == 0) {
        ch->aQ[ch->nQ++] = slot;
    } else {
        wait_push(ch, slot);
        m->queue_full->v++;
    }
    occupancy_set(ch);
    kick(m, loc.channel);
}

static bool is_row_hit(const struct dram_media *m, const struct dchan *ch, uint32_t slot)
{
    const struct dreq *r = &m->aReq[slot];
    const struct dbank *b = &ch->aBank[r->bank];
    (void)m;
    return b->open && b->row == r->row;
}

/* Index into ch->aQ of the request to serve next (see the file comment). */
static size_t choose(struct dram_media *m, struct dchan *ch)
{
    if (m->cfg.policy == DRAM_FCFS || m->aReq[ch->aQ[0]].bypassed >= m->cfg.starve)
        return 0;
    for (size_t i = 0; i < ch->nQ; i++)
        if (is_row_hit(m, ch, ch->aQ[i])) {
            if (i > 0)
                m->aReq[ch->aQ[0]].bypassed++;
            return i;
        }
    return 0;
}

/* Bank and bus timing for r picked at t; returns when its burst ends. */
static orr_time_t commit_timing(struct dram_media *m, struct dchan *ch, const struct dreq *r,
                                orr_time_t t)
{
    const struct dram_cfg *cf = &m->cfg;
    struct dbank *b = &ch->aBank[r->bank];
    orr_time_t col;
    if (b->open && b->row == r->row) {
        m->row_hits->v++;
        col = tmax(t, b->col_ready);
    } else {
        orr_time_t act;
        if (!b->open) {
            m->row_misses->v++;
            act = tmax(t, b->col_ready);
        } else {
            m->row_conflicts->v++;
            orr_time_t pre = tmax(tmax(t, b->col_ready), b->act_at + cf->tRAS);
            act = pre + cf->tRP;
        }
        b->act_at = act;
        col = act + cf->tRCD;
    }
    b->open = true;
    b->row = r->row;
    b->col_ready = col + cf->burst;
    orr_time_t data = tmax(col + cf->tCL, ch->bus_free);
    ch->bus_free = data + cf->burst;
    ch->busy += cf->burst;
    orr_time_t pace = ch->bus_free > m->window ? ch->bus_free - m->window : 0;
    ch->next_pick = tmax(t + cf->burst, pace);
    return ch->bus_free;
}

/* Invariants 1 and 2 for one channel. O(queue). */
static bool chan_ok(const struct dram_media *m, const struct dchan *ch)
{
    if (ch->nQ > m->cfg.queue || (ch->nWait && ch->nQ != m->cfg.queue))
        return false;
    for (size_t j = 1; j < ch->nQ; j++)
        if (m->aReq[ch->aQ[j - 1]].age >= m->aReq[ch->aQ[j]].age)
            return false;
    return true;
}

static void pick(struct dram_media *m, unsigned channel)
{
    struct dchan *ch = &m->aChan[channel];
    ch->pick_pending = false;
    if (ch->nQ == 0)
        return;
    size_t i = choose(m, ch);
    uint32_t slot = ch->aQ[i];
    occupancy_update(m, ch);
    memmove(&ch->aQ[i], &ch->aQ[i + 1], (ch->nQ - i - 1) * sizeof *ch->aQ);
    ch->nQ--;
    if (ch->nWait) {
        ch->aQ[ch->nQ++] = ch->aWait[ch->waitHead];
        ch->waitHead = (ch->waitHead + 1) % ch->waitCap;
        ch->nWait--;
    }
    occupancy_set(ch);
    assert(chan_ok(m, ch));

    struct dreq *r = &m->aReq[slot];
    orr_time_t now = orr_now(m->c->sim);
    orr_time_t end = commit_timing(m, ch, r, now);
    /* the bytes change at commit: commit order is the order of every
     * request to a line (invariant 4), so reads see earlier writes */
    if (r->cmd == ORR_MEM_RD) {
        linestore_read(&m->store, r->addr, r->data);
        m->reads->v++;
    } else {
        linestore_write(&m->store, r->addr, r->data);
        m->writes->v++;
    }
    orr_timer(m->c, end - now, (uint16_t)(m->tbase + TIMER_DONE), slot, 0);
    kick(m, channel);
}

static void complete(struct dram_media *m, uint32_t slot)
{
    struct dreq *r = &m->aReq[slot];
    orr_time_t lat = orr_now(m->c->sim) - r->arrived;
    if (r->cmd == ORR_MEM_RD) {
        orr_histogram_add(m->read_latency, (lat + ORR_NS / 2) / ORR_NS);
        m->bytes_read->v += ORR_LINE_BYTES;
    } else {
        m->bytes_written->v += ORR_LINE_BYTES;
    }
    struct dram_done done = {(enum orr_mem_cmd)r->cmd, r->addr, r->tag, r->cookie,
                             r->cmd == ORR_MEM_RD ? r->data : NULL};
    m->done(m->c, &done);
    req_release(m, slot);
}

/* --- the owner's entry points ------------------------------------------- */

void dram_media_submit(struct dram_media *m, enum orr_mem_cmd cmd, uint64_t addr, unsigned tag,
                       uint32_t cookie, const uint8_t *wdata, orr_time_t delay)
{
    uint32_t slot = req_alloc(m);
    struct dreq *r = &m->aReq[slot];
    memset(r, 0, sizeof *r);
    r->addr = addr;
    r->cmd = (uint8_t)cmd;
    r->tag = (uint16_t)tag;
    r->cookie = cookie;
    r->arrived = orr_now(m->c->sim);
    if (wdata)
        memcpy(r->data, wdata, ORR_LINE_BYTES);
    orr_timer(m->c, delay + m->cfg.controller, (uint16_t)(m->tbase + TIMER_ADMIT), slot, 0);
}

bool dram_media_timer(struct dram_media *m, const struct orr_event *ev)
{
    if (ev->kind != ORR_TK_TIMER || ev->port < m->tbase || ev->port > m->tbase + TIMER_DONE)
        return false;
    switch (ev->port - m->tbase) {
    case TIMER_ADMIT:
        admit(m, (uint32_t)ev->data[0]);
        break;
    case TIMER_PICK:
        pick(m, (unsigned)ev->data[0]);
        break;
    default:
        complete(m, (uint32_t)ev->data[0]);
        break;
    }
    return true;
}

bool dram_media_check(const struct dram_media *m)
{
    for (unsigned i = 0; i < m->cfg.channels; i++)
        if (!chan_ok(m, &m->aChan[i]))
            return false;
    return true;
}

void dram_media_finish(struct dram_media *m)
{
    orr_time_t now = orr_now(m->c->sim);
    orr_time_t busy = 0;
    for (unsigned i = 0; i < m->cfg.channels; i++) {
        struct dchan *ch = &m->aChan[i];
        occupancy_update(m, ch);
        ch->occupancy_mean->v = now ? (double)ch->occ_area / (double)now : 0.0;
        busy += ch->busy;
    }
    double bytes = (double)(m->bytes_read->v + m->bytes_written->v);
    m->bandwidth->v = now ? bytes * 1e3 / (double)now : 0.0; /* B/ps * 1e3 = GB/s */
    m->bus_util->v = now ? (double)busy / ((double)now * m->cfg.channels) : 0.0;
}

/* --- checkpoint/restore -------------------------------------------------- */

void dram_media_save(const struct dram_media *m, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_bytes(w, m->aReq, m->nReq * sizeof *m->aReq);
    orr_ckpt_put_u32(w, m->free_head);
    orr_ckpt_put_u64(w, m->next_age);
    for (unsigned i = 0; i < m->cfg.channels; i++) {
        const struct dchan *ch = &m->aChan[i];
        orr_ckpt_put_bytes(w, ch->aQ, ch->nQ * sizeof *ch->aQ);
        orr_ckpt_put_u64(w, ch->nWait);
        for (size_t k = 0; k < ch->nWait; k++)
            orr_ckpt_put_u32(w, ch->aWait[(ch->waitHead + k) % ch->waitCap]);
        orr_ckpt_put_bytes(w, ch->aBank, m->cfg.banks * sizeof *ch->aBank);
        orr_ckpt_put_u64(w, ch->next_pick);
        orr_ckpt_put_u64(w, ch->bus_free);
        orr_ckpt_put_u64(w, ch->busy);
        orr_ckpt_put_u8(w, ch->pick_pending);
        orr_ckpt_put_u64(w, (uint64_t)ch->occ_area);
        orr_ckpt_put_u64(w, (uint64_t)(ch->occ_area >> 64));
        orr_ckpt_put_u64(w, ch->occ_since);
    }
    linestore_save(&m->store, w);
}

void dram_media_restore(struct dram_media *m, struct orr_ckpt_reader *r)
{
    size_t n;
    const void *p = orr_ckpt_get_bytes(r, &n);
    if (n % sizeof *m->aReq) {
        orr_ckpt_fail(r, "dram request slots of another size");
        return;
    }
    free(m->aReq);
    m->nReq = m->nReqAlloc = n / sizeof *m->aReq;
    m->aReq = xcalloc(m->nReq, sizeof *m->aReq);
    if (n)
        memcpy(m->aReq, p, n);
    m->free_head = orr_ckpt_get_u32(r);
    m->next_age = orr_ckpt_get_u64(r);
    if (m->free_head > m->nReq)
        orr_ckpt_fail(r, "dram free list out of range");
    for (unsigned i = 0; i < m->cfg.channels && orr_ckpt_ok(r); i++) {
        struct dchan *ch = &m->aChan[i];
        p = orr_ckpt_get_bytes(r, &n);
        if (n % sizeof *ch->aQ || n / sizeof *ch->aQ > m->cfg.queue) {
            orr_ckpt_fail(r, "a dram channel queue longer than its limit");
            return;
        }
        ch->nQ = n / sizeof *ch->aQ;
        if (n)
            memcpy(ch->aQ, p, n);
        uint64_t nWait = orr_ckpt_get_count(r, 4);
        free(ch->aWait);
        ch->aWait = NULL;
        ch->waitHead = ch->nWait = ch->waitCap = 0;
        for (uint64_t k = 0; k < nWait && orr_ckpt_ok(r); k++)
            wait_push(ch, orr_ckpt_get_u32(r));
        orr_ckpt_get_into(r, ch->aBank, m->cfg.banks * sizeof *ch->aBank);
        ch->next_pick = orr_ckpt_get_u64(r);
        ch->bus_free = orr_ckpt_get_u64(r);
        ch->busy = orr_ckpt_get_u64(r);
        ch->pick_pending = orr_ckpt_get_u8(r) != 0;
        uint64_t lo = orr_ckpt_get_u64(r), hi = orr_ckpt_get_u64(r);
        ch->occ_area = (unsigned __int128)hi << 64 | lo;
        ch->occ_since = orr_ckpt_get_u64(r);
    }
    linestore_restore(&m->store, r);
}
