/* gpu_copy: the GPU's copy engines (docs/gpu.md, "Copy engines").
 *
 *   H2D  DMA reads of host memory through the root complex (and its
 *        IOMMU): max_read requests, `tags` in flight per engine, each
 *        completion's bytes written into device memory.
 *   D2H  DMA writes of max_payload bytes, paced by the PCIe transmitter
 *        (at most PACE_AHEAD of serialisation queued at once); the copy
 *        is done when its last byte has left the device.
 *   D2D  inside HBM: read and write, 2 x bytes at HBM bandwidth.
 *   P2P  NVLink DATA messages of nvl_chunk bytes to the peer, nvl_window
 *        unacknowledged; the peer writes them to its memory and ACKs.
 * Every copy first costs copy_setup. One copy per engine at a time. */
#include <stdlib.h>
#include <string.h>

#include "gpu_int.h"
#include "orrery/error.h"

#define PACE_AHEAD (2 * ORR_US) /* D2H: serialisation queued ahead of now */
#define CHUNK (64u * 1024)      /* D2D: bytes moved per step of the functional copy */

static int nvl_port_of(const struct gpu *s, unsigned peer)
{
    for (unsigned i = 0; i < s->nNvl; i++)
        if (s->aNvlPeer[i] == peer)
            return (int)i;
    return -1;
}

unsigned gpu_copy_check(struct gpu *s, unsigned q)
{
    const struct gpu_cmd *k = &s->aQueue[q].cur;
    unsigned part = s->aQueue[q].part, kind = gpu_cmd_kind(k->w[0]), err = 0;
    uint64_t abs, len = k->w[3];
    switch (kind) {
    case GPU_COPY_H2D:
        return gpu_mem_check(s, part, k->w[2], len, true, &abs);
    case GPU_COPY_D2H:
        return gpu_mem_check(s, part, k->w[1], len, false, &abs);
    case GPU_COPY_D2D:
        if ((err = gpu_mem_check(s, part, k->w[1], len, false, &abs)) != 0)
            return err;
        return gpu_mem_check(s, part, k->w[2], len, true, &abs);
    case GPU_COPY_P2P:
        if (nvl_port_of(s, gpu_cmd_peer(k->w[0])) < 0)
            return GPU_ERR_NO_PEER;
        return gpu_mem_check(s, part, k->w[1], len, false, &abs);
    default:
        return GPU_ERR_BAD_OP;
    }
}

void gpu_copy_start(struct orr_component *c, struct gpu *s, unsigned q, unsigned e)
{
    const struct gpu_cmd *k = &s->aQueue[q].cur;
    struct gpu_ce *ce = &s->aCE[e];
    unsigned part = s->aQueue[q].part;
    uint64_t abs;
    *ce = (struct gpu_ce){.busy = true, .queue = q, .kind = gpu_cmd_kind(k->w[0]),
                          .seq = ++s->copy_seq, .src = k->w[1], .dst = k->w[2], .len = k->w[3],
                          .t0 = orr_now(c->sim), .aTagUsed = ce->aTagUsed,
                          .aTagOff = ce->aTagOff};
    /* device-side addresses become absolute (checked at dispatch) */
    if (ce->kind != GPU_COPY_H2D && gpu_mem_check(s, part, ce->src, ce->len, false, &abs) == 0)
        ce->src = abs;
    if ((ce->kind == GPU_COPY_H2D || ce->kind == GPU_COPY_D2D) &&
        gpu_mem_check(s, part, ce->dst, ce->len, false, &abs) == 0)
        ce->dst = abs;
    if (ce->kind == GPU_COPY_P2P)
        ce->port = (unsigned)nvl_port_of(s, gpu_cmd_peer(k->w[0]));
    orr_timer(c, s->copy_setup, T_CE_PUMP, e, ce->seq);
}

static void copy_finish(struct orr_component *c, struct gpu *s, unsigned e)
{
    struct gpu_ce *ce = &s->aCE[e];
    ce->busy = false;
    s->copies->v++;
    orr_histogram_add(s->copy_time, (orr_now(c->sim) - ce->t0) / ORR_NS);
    orr_trace_point(c, s->kCopy, (uint64_t)ce->queue << 8 | ce->kind, ce->len);
    gpu_retire(c, s, ce->queue, ce->err);
}

static orr_time_t hbm_time(const struct gpu *s, uint64_t bytes)
{
    return (orr_time_t)((unsigned __int128)bytes * ORR_S / s->hbm_Bps);
}

static void pump_h2d(struct orr_component *c, struct gpu *s, unsigned e)
{
    struct gpu_ce *ce = &s->aCE[e];
    while (ce->next < ce->len && ce->in_flight < s->tags) {
        unsigned t = 0;
        while (ce->aTagUsed[t])
            t++;
        uint32_t n = (uint32_t)(ce->len - ce->next < s->max_read ? ce->len - ce->next
                                                                  : s->max_read);
        struct orr_msg m = pcie_mrd(s->requester, e * s->tags + t, ce->src + ce->next, n);
        ce->aTagUsed[t] = true;
        ce->aTagOff[t] = ce->next;
        ce->in_flight++;
        ce->next += n;
        gpu_send_pcie(c, s, &m);
    }
}

static void pump_d2h(struct orr_component *c, struct gpu *s, unsigned e)
{
    struct gpu_ce *ce = &s->aCE[e];
    orr_time_t now = orr_now(c->sim);
    uint8_t buf[PCIE_MAX_LENGTH];
    while (ce->next < ce->len && s->tx.free_at < now + PACE_AHEAD) {
        uint32_t n = (uint32_t)(ce->len - ce->next < s->max_payload ? ce->len - ce->next
                                                                     : s->max_payload);
        gpu_mem_read(s, ce->src + ce->next, buf, n);
        struct orr_msg m = pcie_mwr(c->sim, s->requester, ce->dst + ce->next, buf, n);
        gpu_send_pcie(c, s, &m);
        ce->next += n;
        s->d2h_bytes->v += n;
    }
    orr_time_t ahead = s->tx.free_at > now ? s->tx.free_at - now : 0;
    if (ce->next < ce->len)
        orr_timer(c, ahead > PACE_AHEAD / 2 ? ahead - PACE_AHEAD / 2 : 1, T_CE_PUMP, e, ce->seq);
    else
        orr_timer(c, ahead, T_CE_DONE, e, ce->seq);
}

static void pump_p2p(struct orr_component *c, struct gpu *s, unsigned e)
{
    struct gpu_ce *ce = &s->aCE[e];
    while (ce->next < ce->len && ce->in_flight < s->nvl_window) {
        uint64_t n = ce->len - ce->next < s->nvl_chunk ? ce->len - ce->next : s->nvl_chunk;
        uint8_t *b;
        uint64_t dst = ce->dst + ce->next;
        struct orr_msg m = {.size = (uint32_t)(n + GPU_NVL_HEADER),
                            .data = {GPU_NVL_DATA | (uint64_t)e << 8, 0}};
        m.data[1] = orr_blob_new(c->sim, 8 + n, (void **)&b);
        memcpy(b, &dst, 8);
        gpu_mem_read(s, ce->src + ce->next, b + 8, n);
        orr_outq_send(&s->aNvlQ[ce->port], s->aNvl[ce->port], &m, 0);
        ce->next += n;
        ce->in_flight++;
        s->p2p_bytes->v += n;
    }
}

static void copy_d2d(struct orr_component *c, struct gpu *s, unsigned e)
{
    struct gpu_ce *ce = &s->aCE[e];
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        orr_oom();
    for (uint64_t off = 0; off < ce->len; off += CHUNK) {
        uint64_t n = ce->len - off < CHUNK ? ce->len - off : CHUNK;
        gpu_mem_read(s, ce->src + off, buf, n);
        gpu_mem_write(s, ce->dst + off, buf, n);
    }
    free(buf);
    s->d2d_bytes->v += ce->len;
    orr_timer(c, hbm_time(s, 2 * ce->len), T_CE_DONE, e, ce->seq);
}

void gpu_copy_timer(struct orr_component *c, struct gpu *s, const struct orr_event *ev)
{
    unsigned e = (unsigned)ev->data[0];
    struct gpu_ce *ce = &s->aCE[e];
    if (!ce->busy || ce->seq != ev->data[1])
        return;
    if (ev->port == T_CE_DONE) {
        copy_finish(c, s, e);
        return;
    }
    if (ce->len == 0) {
        copy_finish(c, s, e);
        return;
    }
    switch (ce->kind) {
    case GPU_COPY_H2D:
        pump_h2d(c, s, e);
        break;
    case GPU_COPY_D2H:
        pump_d2h(c, s, e);
        break;
    case GPU_COPY_D2D:
        if (ce->next == 0) {
            ce->next = ce->len;
            copy_d2d(c, s, e);
        }
        break;
    default:
        pump_p2p(c, s, e);
    }
}

/* A completion for an H2D read (or a stray one: ignored). */
void gpu_copy_completion(struct orr_component *c, struct gpu *s, const struct orr_event *ev)
{
    struct pcie_hdr h = pcie_hdr_unpack(ev->data[0]);
    unsigned e = h.tag / s->tags, t = h.tag % s->tags;
    struct gpu_ce *ce = e < s->nCE ? &s->aCE[e] : NULL;
    if (!ce || !ce->busy || ce->kind != GPU_COPY_H2D || !ce->aTagUsed[t]) {
        if (h.type == PCIE_CPLD)
            orr_blob_free(c->sim, ev->data[1]);
        return;
    }
    ce->aTagUsed[t] = false;
    ce->in_flight--;
    uint64_t off = ce->aTagOff[t];
    uint64_t n = ce->len - off < s->max_read ? ce->len - off : s->max_read;
    if (h.type == PCIE_CPL_UR) {
        ce->err = GPU_ERR_DMA;
    } else {
        gpu_mem_write(s, ce->dst + off, orr_blob_get(c->sim, ev->data[1]), h.length);
        orr_blob_free(c->sim, ev->data[1]);
        s->h2d_bytes->v += h.length;
    }
    ce->done += n;
    if (ce->done == ce->len)
        copy_finish(c, s, e);
    else
        pump_h2d(c, s, e);
}

/* NVLink: a peer's DATA (write it, acknowledge) or an ACK of ours. */
void gpu_nvl_message(struct orr_component *c, struct gpu *s, unsigned port,
                     const struct orr_event *ev)
{
    unsigned type = (unsigned)(ev->data[0] & 0xFF), tag = (unsigned)(ev->data[0] >> 8) & 0xFF;
    if (type == GPU_NVL_DATA) {
        const uint8_t *b = orr_blob_get(c->sim, ev->data[1]);
        uint64_t dst, n = orr_blob_size(c->sim, ev->data[1]) - 8;
        memcpy(&dst, b, 8);
        unsigned err = 0;
        if (dst > s->memory || n > s->memory - dst)
            err = GPU_ERR_RANGE;
        else if (linestore_bytes(&s->store) + n + 2 * ORR_LINE_BYTES > s->store_limit)
            err = GPU_ERR_STORE_FULL;
        else
            gpu_mem_write(s, dst, b + 8, n);
        orr_blob_free(c->sim, ev->data[1]);
        s->p2p_rx_bytes->v += err ? 0 : n;
        struct orr_msg m = {.size = GPU_NVL_HEADER,
                            .data = {GPU_NVL_ACK | (uint64_t)tag << 8 | (uint64_t)err << 16, n}};
        orr_outq_send(&s->aNvlQ[port], s->aNvl[port], &m, 0);
        return;
    }
    struct gpu_ce *ce = tag < s->nCE ? &s->aCE[tag] : NULL;
    if (!ce || !ce->busy || ce->kind != GPU_COPY_P2P || ce->in_flight == 0)
        return;
    unsigned err = (unsigned)(ev->data[0] >> 16) & 0xFF;
    if (err)
        ce->err = (uint8_t)err;
    ce->in_flight--;
    ce->done += ev->data[1];
    if (ce->done >= ce->len)
        copy_finish(c, s, tag);
    else
        pump_p2p(c, s, tag);
}
