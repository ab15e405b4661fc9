/* dma: how the rnic reads and writes host memory. Two backends behind the
 * same three calls (dma_read, dma_write, and rnic_dma_done when a read is
 * complete), chosen by whether port `pcie` is linked:
 *
 *   pcie      real TLPs to a root complex: reads split into max_read_request
 *             MRDs, each with one of dma_tags tags (requests wait for a tag),
 *             answered by CPLD (or CPL_UR: the read fails); writes split
 *             into max_payload MWRs (posted). Every TLP is serialised at the
 *             link's gen/width (pcie_tx).
 *   internal  the node's hostmem (mem/hostmem.h) holding the bytes (or none, with
 *             host_memory_data: false). A read completes dma_latency after
 *             its request TLPs are serialised, then its data is serialised
 *             on the downstream direction; a write is serialised and lands
 *             dma_latency / 2 later. Addresses at or beyond memory_size fail
 *             reads and are ignored by writes.
 *
 * Ops live in a table with a free list; a read's ctx is handed back
 * unchanged with its bytes. Invariants: a tag is in use iff aTag[tag] != 0
 * and its op's chunks_left counts it; an op in aWait has chunks not yet
 * issued; tags_used <= dma_tags. */
#include <stdlib.h>
#include <string.h>

#include "rnic.h"
#include "orrery/error.h"

void dma_init(struct rnic *s)
{
    if (s->pcie->link) {
        s->aTag = calloc(s->dma_tags, sizeof *s->aTag);
        s->aTagOff = calloc(s->dma_tags, sizeof *s->aTagOff);
        if (!s->aTag || !s->aTagOff)
            orr_oom();
    }
}

void dma_free(struct rnic *s)
{
    for (uint32_t i = 0; i < s->nOp; i++)
        free(s->aOp[i].buf);
    free(s->aOp);
    free(s->aFreeOp);
    free(s->aTag);
    free(s->aTagOff);
    free(s->aWait);
    orr_outq_free(&s->pcieQ);
}

static uint32_t op_alloc(struct rnic *s)
{
    if (s->nFreeOp)
        return s->aFreeOp[--s->nFreeOp];
    struct dma_op *a = realloc(s->aOp, (s->nOp + 1) * sizeof *a);
    uint32_t *f = realloc(s->aFreeOp, (s->nOp + 1) * sizeof *f);
    if (!a || !f)
        orr_oom();
    s->aOp = a;
    s->aFreeOp = f;
    s->aOp[s->nOp] = (struct dma_op){0};
    return s->nOp++;
}

/* Release op i and report it: the op is free before the callback runs, so
 * the callback may start new DMA. */
static void op_finish(struct orr_component *c, struct rnic *s, uint32_t i)
{
    struct dma_op o = s->aOp[i];
    s->aOp[i] = (struct dma_op){0};
    s->aFreeOp[s->nFreeOp++] = i;
    if (o.ctx.purpose != DP_WRITE_LAND)
        rnic_dma_done(c, s, &o.ctx, o.err, o.buf, o.len);
    free(o.buf);
}

static uint32_t chunks(uint32_t len, uint32_t max)
{
    return len ? (len + max - 1) / max : 1;
}

/* --------------------------------------------------------------- internal memory */

static void mem_read(struct rnic *s, uint64_t addr, uint32_t len, uint8_t *out)
{
    hostmem_read(s->mem, addr, out, len);
}

static void mem_write(struct rnic *s, uint64_t addr, uint32_t len, const uint8_t *in)
{
    hostmem_write(s->mem, addr, in, len);
}

void dma_timer(struct orr_component *c, struct rnic *s, uint32_t i)
{
    struct dma_op *o = &s->aOp[i];
    if (o->ctx.purpose == DP_WRITE_LAND) {
        mem_write(s, o->addr, o->len, o->buf);
    } else {
        o->err = !rnic_local_ok(s, o->addr, o->len);
        if (!o->err && s->data)
            mem_read(s, o->addr, o->len, o->buf);
    }
    op_finish(c, s, i);
}

/* --------------------------------------------------------------- PCIe */

static void send_tlp(struct orr_component *c, struct rnic *s, const struct orr_msg *m,
                     orr_time_t delay)
{
    (void)c;
    orr_outq_send(&s->pcieQ, s->pcie, m, delay);
}

static void wait_push(struct rnic *s, uint32_t op)
{
    if (s->wait_n == s->wait_cap) {
        uint32_t cap = s->wait_cap ? s->wait_cap * 2 : 64;
        uint32_t *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (uint32_t i = 0; i < s->wait_n; i++)
            a[i] = s->aWait[(s->wait_head + i) % s->wait_cap];
        free(s->aWait);
        s->aWait = a;
        s->wait_cap = cap;
        s->wait_head = 0;
    }
    s->aWait[(s->wait_head + s->wait_n++) % s->wait_cap] = op;
}

/* Issue read chunks, oldest op first, while tags are free. */
static void issue_reads(struct orr_component *c, struct rnic *s)
{
    while (s->wait_n && s->tags_used < s->dma_tags) {
        uint32_t i = s->aWait[s->wait_head];
        struct dma_op *o = &s->aOp[i];
        unsigned t = s->tag_cursor;
        while (s->aTag[t])
            t = (t + 1) % s->dma_tags;
        s->tag_cursor = (t + 1) % s->dma_tags;
        uint32_t n = o->len - o->next_off < s->max_read ? o->len - o->next_off : s->max_read;
        s->aTag[t] = i + 1;
        s->aTagOff[t] = o->next_off;
        s->tags_used++;
        struct orr_msg m = pcie_mrd(s->requester, t, o->addr + o->next_off, n);
        send_tlp(c, s, &m, pcie_tx_delay(&s->up, orr_now(c->sim), m.size));
        o->next_off += n;
        if (o->next_off >= o->len) {
            s->wait_head = (s->wait_head + 1) % s->wait_cap;
            s->wait_n--;
        }
    }
}

/* A TLP from the root complex: a completion of one of our reads, or MMIO to
 * our BAR (we have no registers: writes are ignored, reads unsupported). */
void dma_tlp(struct orr_component *c, struct rnic *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    if (h.type == PCIE_MWR) {
        orr_blob_free(c->sim, ev->data[1]);
        return;
    }
    if (h.type == PCIE_MRD) {
        struct pcie_hdr u = {.type = PCIE_CPL_UR, .tag = h.tag, .requester = h.requester};
        struct orr_msg m = {.size = pcie_wire_bytes(0), .data = {pcie_hdr_pack(&u), 0}};
        send_tlp(c, s, &m, pcie_tx_delay(&s->up, orr_now(c->sim), m.size));
        return;
    }
    if (h.type != PCIE_CPLD && h.type != PCIE_CPL_UR) {
        orr_sim_fail(c, "pcie: TLP of unknown type %u", (unsigned)h.type);
        return;
    }
    if (h.requester != s->requester || h.tag >= s->dma_tags || !s->aTag[h.tag]) {
        if (h.type == PCIE_CPLD)
            orr_blob_free(c->sim, ev->data[1]);
        orr_sim_fail(c, "pcie: completion for requester %u tag %u that is not outstanding",
                     h.requester, h.tag);
        return;
    }
    uint32_t i = s->aTag[h.tag] - 1, off = s->aTagOff[h.tag];
    struct dma_op *o = &s->aOp[i];
    if (h.type == PCIE_CPLD) {
        uint32_t n = h.length < o->len - off ? h.length : o->len - off;
        if (s->data)
            memcpy(o->buf + off, orr_blob_get(c->sim, ev->data[1]), n);
        orr_blob_free(c->sim, ev->data[1]);
    } else {
        o->err = true;
    }
    s->aTag[h.tag] = 0;
    s->tags_used--;
    if (--o->chunks_left == 0)
        op_finish(c, s, i);
    issue_reads(c, s);
}

/* --------------------------------------------------------------- the calls */

void dma_read(struct orr_component *c, struct rnic *s, uint64_t addr, uint32_t len,
              const struct dma_ctx *ctx)
{
    uint32_t i = op_alloc(s);
    struct dma_op *o = &s->aOp[i];
    *o = (struct dma_op){.used = true, .ctx = *ctx, .addr = addr, .len = len};
    o->buf = calloc(len ? len : 1, 1);
    if (!o->buf)
        orr_oom();
    s->st.dma_rd->v += len;
    orr_time_t now = orr_now(c->sim);
    if (s->pcie->link) {
        o->chunks_left = chunks(len, s->max_read);
        wait_push(s, i);
        issue_reads(c, s);
        return;
    }
    uint32_t nch = chunks(len, s->max_read);
    orr_time_t up = pcie_tx_delay(&s->up, now, nch * PCIE_TLP_OVERHEAD);
    orr_time_t start = now + up + s->dma_latency;
    if (s->down.free_at > start)
        start = s->down.free_at;
    s->down.free_at = start + pcie_wire_time(s->down.gen, s->down.width,
                                             len + nch * PCIE_TLP_OVERHEAD);
    orr_timer(c, s->down.free_at - now, TIMER_DMA, i, 0);
}

orr_time_t dma_write(struct orr_component *c, struct rnic *s, uint64_t addr, uint32_t len,
                     const void *bytes)
{
    orr_time_t now = orr_now(c->sim), delay = 0;
    s->st.dma_wr->v += len;
    if (s->pcie->link) {
        for (uint32_t off = 0; off < len; off += s->max_payload) {
            uint32_t n = len - off < s->max_payload ? len - off : s->max_payload;
            struct orr_msg m = pcie_mwr(c->sim, s->requester, addr + off,
                                        bytes && s->data ? (const uint8_t *)bytes + off : NULL, n);
            delay = pcie_tx_delay(&s->up, now, m.size);
            send_tlp(c, s, &m, delay);
        }
        return delay;
    }
    uint32_t nch = chunks(len, s->max_payload);
    delay = pcie_tx_delay(&s->up, now, len + nch * PCIE_TLP_OVERHEAD);
    if (!s->data || !len || !rnic_local_ok(s, addr, len))
        return delay + s->dma_latency / 2;
    uint32_t i = op_alloc(s);
    struct dma_op *o = &s->aOp[i];
    *o = (struct dma_op){.used = true, .ctx = {.purpose = DP_WRITE_LAND}, .addr = addr, .len = len};
    o->buf = calloc(len, 1);
    if (!o->buf)
        orr_oom();
    if (bytes)
        memcpy(o->buf, bytes, len);
    orr_timer(c, delay + s->dma_latency / 2, TIMER_DMA, i, 0);
    return delay + s->dma_latency / 2;
}
