/* The coherence monitor (cohmon.h): per-line permission counts and a
 * shadow memory in one open-addressing table keyed by line address. The
 * table is only looked up, never iterated, so its layout cannot influence
 * anything the run does. */
#include "hw/cohmon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/checkpoint.h"
#include "orrery/coh.h"
#include "orrery/error.h"

#define TAIL 32

struct mon_line {
    uint64_t line; /* line address + 1; 0 = empty slot */
    uint32_t nRead, nWrite;
    int32_t writer; /* agent with write permission, -1 if none */
    uint8_t data[ORR_LINE_BYTES];
};

struct tail_entry {
    orr_time_t t;
    uint64_t line;
    uint32_t agent;
    uint8_t type;
    bool sent;
};

struct cohmon {
    struct mon_line *aLine;
    size_t nCap, nUsed;
    struct tail_entry aTail[TAIL];
    size_t nTail;
};

static void mon_fini(void *p)
{
    struct cohmon *m = p;
    free(m->aLine);
}

/* Checkpoint/restore: the table as laid out (slot for slot) and the tail
 * of recent messages that a violation report prints. */
static void mon_save(const void *p, struct orr_ckpt_writer *w)
{
    const struct cohmon *m = p;
    orr_ckpt_put_u64(w, m->nUsed);
    orr_ckpt_put_array(w, m->aLine, m->nCap, sizeof *m->aLine);
    orr_ckpt_put_array(w, m->aTail, m->nTail < TAIL ? m->nTail : TAIL, sizeof *m->aTail);
    orr_ckpt_put_u64(w, m->nTail);
}

static void mon_restore(void *p, struct orr_ckpt_reader *r)
{
    struct cohmon *m = p;
    m->nUsed = orr_ckpt_get_u64(r);
    free(m->aLine);
    m->aLine = orr_ckpt_get_array(r, sizeof *m->aLine, &m->nCap);
    if (m->nCap & (m->nCap - 1))
        orr_ckpt_fail(r, "a coherence monitor table whose size is not a power of two");
    size_t n;
    struct tail_entry *t = orr_ckpt_get_array(r, sizeof *t, &n);
    if (t && n <= TAIL)
        memcpy(m->aTail, t, n * sizeof *t);
    else
        orr_ckpt_fail(r, "a coherence monitor tail longer than its ring");
    free(t);
    m->nTail = orr_ckpt_get_u64(r);
}

struct cohmon *cohmon_get(struct orr_sim *s)
{
    struct cohmon *m = orr_sim_observer(s, "hw.cache.cohmon", sizeof(struct cohmon), mon_fini);
    orr_sim_shared_ckpt(s, "hw.cache.cohmon", mon_save, mon_restore);
    return m;
}

static size_t slot_of(uint64_t line, size_t cap)
{
    uint64_t h = (line >> 6) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 20) & (cap - 1);
}

static void grow(struct cohmon *m)
{
    size_t cap = m->nCap ? m->nCap * 2 : 1024;
    struct mon_line *a = calloc(cap, sizeof *a);
    if (!a)
        orr_oom();
    for (size_t i = 0; i < m->nCap; i++)
        if (m->aLine[i].line) {
            size_t j = slot_of(m->aLine[i].line - 1, cap);
            while (a[j].line)
                j = (j + 1) & (cap - 1);
            a[j] = m->aLine[i];
        }
    free(m->aLine);
    m->aLine = a;
    m->nCap = cap;
}

static struct mon_line *lookup(struct cohmon *m, uint64_t line)
{
    if (2 * (m->nUsed + 1) > m->nCap)
        grow(m);
    size_t j = slot_of(line, m->nCap);
    while (m->aLine[j].line && m->aLine[j].line != line + 1)
        j = (j + 1) & (m->nCap - 1);
    struct mon_line *l = &m->aLine[j];
    if (!l->line) {
        l->line = line + 1;
        l->writer = -1;
        m->nUsed++;
    }
    return l;
}

void cohmon_log(struct cohmon *m, orr_time_t t, unsigned agent, unsigned type, uint64_t line,
                bool sent)
{
    m->aTail[m->nTail++ % TAIL] = (struct tail_entry){t, line, agent, (uint8_t)type, sent};
}

void cohmon_tail(const struct cohmon *m, char *buf, size_t n)
{
    size_t len = 0, first = m->nTail > TAIL ? m->nTail - TAIL : 0;
    buf[0] = 0;
    for (size_t i = first; i < m->nTail && len < n; i++) {
        const struct tail_entry *e = &m->aTail[i % TAIL];
        len += (size_t)snprintf(buf + len, n - len, "\n  %llu ps  agent %u %s %-9s line %#llx",
                                (unsigned long long)e->t, e->agent, e->sent ? "sent" : "got ",
                                orr_coh_type_name((enum orr_coh_type)e->type),
                                (unsigned long long)e->line);
    }
}

static void violation(struct cohmon *m, struct orr_component *c, const char *what)
{
    char tail[TAIL * 80];
    cohmon_tail(m, tail, sizeof tail);
    orr_sim_fail(c, "coherence violation: %s; last coherence messages:%s", what, tail);
}

void cohmon_perm(struct cohmon *m, struct orr_component *c, unsigned agent, uint64_t line,
                 unsigned old, unsigned perm)
{
    if (old == perm)
        return;
    struct mon_line *l = lookup(m, line);
    if (old == 1)
        l->nRead--;
    if (old == 2) {
        l->nWrite--;
        l->writer = -1;
    }
    if (perm == 1)
        l->nRead++;
    if (perm == 2) {
        l->nWrite++;
        l->writer = (int32_t)agent;
    }
    if (l->nWrite > 1 || (l->nWrite == 1 && l->nRead > 0)) {
        char what[160];
        snprintf(what, sizeof what,
                 "line %#llx has %u writer(s) and %u reader(s) after agent %u took %s permission",
                 (unsigned long long)line, l->nWrite, l->nRead, agent,
                 perm == 2 ? "write" : perm == 1 ? "read" : "no");
        violation(m, c, what);
    }
}

void cohmon_store(struct cohmon *m, uint64_t addr, unsigned size, uint64_t value)
{
    struct mon_line *l = lookup(m, addr & ~(uint64_t)(ORR_LINE_BYTES - 1));
    for (unsigned i = 0; i < size; i++)
        l->data[(addr + i) % ORR_LINE_BYTES] = (uint8_t)(value >> (8 * i));
}

uint64_t cohmon_peek(struct cohmon *m, uint64_t addr, unsigned size)
{
    struct mon_line *l = lookup(m, addr & ~(uint64_t)(ORR_LINE_BYTES - 1));
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)l->data[(addr + i) % ORR_LINE_BYTES] << (8 * i);
    return v;
}

void cohmon_load(struct cohmon *m, struct orr_component *c, unsigned agent, uint64_t addr,
                 unsigned size, uint64_t value)
{
    struct mon_line *l = lookup(m, addr & ~(uint64_t)(ORR_LINE_BYTES - 1));
    uint64_t want = 0;
    for (unsigned i = 0; i < size; i++)
        want |= (uint64_t)l->data[(addr + i) % ORR_LINE_BYTES] << (8 * i);
    if (want != value) {
        char what[200];
        snprintf(what, sizeof what,
                 "agent %u loaded %#llx from %#llx but the latest store there wrote %#llx",
                 agent, (unsigned long long)value, (unsigned long long)addr,
                 (unsigned long long)want);
        violation(m, c, what);
    }
}

void cohmon_store_line(struct cohmon *m, uint64_t line, const uint8_t *data)
{
    memcpy(lookup(m, line)->data, data, ORR_LINE_BYTES);
}

void cohmon_load_line(struct cohmon *m, struct orr_component *c, unsigned agent, uint64_t line,
                      const uint8_t *data)
{
    const struct mon_line *l = lookup(m, line);
    if (memcmp(l->data, data, ORR_LINE_BYTES) == 0)
        return;
    unsigned i = 0;
    while (l->data[i] == data[i])
        i++;
    char what[200];
    snprintf(what, sizeof what,
             "agent %u read line %#llx and got %#x at byte %u, but the latest store there "
             "wrote %#x", agent, (unsigned long long)line, data[i], i, l->data[i]);
    violation(m, c, what);
}
