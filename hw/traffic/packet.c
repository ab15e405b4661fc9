/* Packet FIFOs with byte or packet budgets (see packet.h). */
#include "packet.h"
#include "orrery/checkpoint.h"
#include "orrery/error.h"

#include <stdlib.h>

bool pkt_fifo_push(struct pkt_fifo *f, const struct orr_msg *m)
{
    if (f->limit_bytes ? f->bytes + m->size > f->limit_bytes : f->n >= f->limit_pkts)
        return false;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        struct orr_msg *a = malloc(cap * sizeof *a);
        if (!a)
            orr_oom();
        for (size_t i = 0; i < f->n; i++)
            a[i] = f->a[(f->head + i) % f->cap];
        free(f->a);
        f->a = a;
        f->head = 0;
        f->cap = cap;
    }
    f->a[(f->head + f->n) % f->cap] = *m;
    f->n++;
    f->bytes += m->size;
    return true;
}

const struct orr_msg *pkt_fifo_head(const struct pkt_fifo *f)
{
    return f->n ? &f->a[f->head] : NULL;
}

void pkt_fifo_pop(struct pkt_fifo *f)
{
    f->bytes -= f->a[f->head].size;
    f->head = (f->head + 1) % f->cap;
    f->n--;
}

void pkt_fifo_clear(struct pkt_fifo *f)
{
    f->head = f->n = 0;
    f->bytes = 0;
}

void pkt_fifo_free(struct pkt_fifo *f)
{
    free(f->a);
    f->a = NULL;
    f->cap = f->n = f->head = 0;
    f->bytes = 0;
}

size_t pkt_fifo_drain(struct pkt_fifo *f, struct orr_port *p)
{
    size_t sent = 0;
    const struct orr_msg *m;
    while ((m = pkt_fifo_head(f)) && orr_port_send(p, m, 0) == 0) {
        pkt_fifo_pop(f);
        sent++;
    }
    return sent;
}

void pkt_fifo_save(const struct pkt_fifo *f, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_u64(w, f->n);
    for (size_t i = 0; i < f->n; i++) {
        const struct orr_msg *m = &f->a[(f->head + i) % f->cap];
        orr_ckpt_put_u32(w, m->size);
        orr_ckpt_put_u64(w, m->data[0]);
        orr_ckpt_put_u64(w, m->data[1]);
    }
}

void pkt_fifo_restore(struct pkt_fifo *f, struct orr_ckpt_reader *r)
{
    pkt_fifo_clear(f);
    uint64_t n = orr_ckpt_get_count(r, 20);
    for (uint64_t i = 0; i < n && orr_ckpt_ok(r); i++) {
        struct orr_msg m;
        m.size = orr_ckpt_get_u32(r);
        m.data[0] = orr_ckpt_get_u64(r);
        m.data[1] = orr_ckpt_get_u64(r);
        if (orr_ckpt_ok(r) && !pkt_fifo_push(f, &m))
            orr_ckpt_fail(r, "a packet queue holds more than its limit");
    }
}
