/* Ring channels between the core and an isolated driver (driver.h,
 * "channels"): fixed-size messages of `words` 8-byte slots over one SPSC
 * ring of kernel/sync. A message is all or nothing: the producer checks
 * for room for every word before writing any and publishes its index only
 * after the last one (and the consumer likewise), so the other side never
 * sees half a message. At tier 2 each push and each pop charges the
 * domain crossing (`cross` cycles) to the CPU doing it.
 *
 * Cost note: a message costs its `words` slot stores (or loads) plus one
 * index store, and a re-read of the other side's index only when the
 * cached copy says full (or empty): on a busy channel the index lines
 * bounce once per message, the slot lines once per 8 words. */
#include "kernel/driver.h"
#include "kernel/ring.h"

#define HEAD 0u   /* ring.h: line 0 the consumer's head */
#define TAIL 64u  /* line 1 the producer's tail */
#define NOBATCH (1u << 30) /* publish only when we say so */

void drv_chan_init(struct hal_cpu *c, struct drv_chan *ch, hal_paddr_t at, uint32_t cap,
                   unsigned words, uint32_t cross)
{
    ch->ring.at = at;
    ch->ring.cap = cap;
    ch->words = words;
    ch->cross = cross;
    ring_side_init(&ch->side, NOBATCH);
    ring_spsc_init(c, &ch->ring);
}

void drv_chan_open(struct drv_chan *mine, const struct drv_chan *shared)
{
    *mine = *shared;
    ring_side_init(&mine->side, NOBATCH);
}

static uint64_t ld(struct hal_cpu *c, hal_paddr_t pa)
{
    uint64_t v = 0;
    if (hal_load(c, pa, 8, &v) != HAL_OK)
        hal_panic(c, "drivers: a channel word is not in memory");
    return v;
}

int drv_chan_push(struct hal_cpu *c, struct drv_chan *ch, const uint64_t *msg)
{
    struct ring_side *p = &ch->side;
    if (p->index + ch->words - p->other > ch->ring.cap) {
        p->other = ld(c, ch->ring.at + HEAD);
        if (p->index + ch->words - p->other > ch->ring.cap) {
            ring_spsc_flush_prod(c, &ch->ring, p);
            return DRV_EAGAIN;
        }
    }
    if (ch->cross)
        hal_cost(c, ch->cross);
    for (unsigned i = 0; i < ch->words; i++)
        if (!ring_spsc_push(c, &ch->ring, p, msg[i]))
            hal_panic(c, "drivers: a channel refused a word it had room for");
    ring_spsc_flush_prod(c, &ch->ring, p);
    return DRV_OK;
}

int drv_chan_pop(struct hal_cpu *c, struct drv_chan *ch, uint64_t *msg)
{
    struct ring_side *q = &ch->side;
    if (q->other - q->index < ch->words) {
        q->other = ld(c, ch->ring.at + TAIL);
        if (q->other - q->index < ch->words)
            return DRV_EAGAIN;
    }
    if (ch->cross)
        hal_cost(c, ch->cross);
    for (unsigned i = 0; i < ch->words; i++)
        if (!ring_spsc_pop(c, &ch->ring, q, &msg[i]))
            hal_panic(c, "drivers: a channel lost a word it had announced");
    ring_spsc_flush_cons(c, &ch->ring, q);
    return DRV_OK;
}

void drv_chan_flush(struct hal_cpu *c, struct drv_chan *ch)
{
    ring_spsc_flush_prod(c, &ch->ring, &ch->side);
}

bool drv_chan_empty(struct hal_cpu *c, struct drv_chan *ch)
{
    struct ring_side *q = &ch->side;
    if (q->other - q->index >= ch->words)
        return false;
    q->other = ld(c, ch->ring.at + TAIL);
    return q->other - q->index < ch->words;
}
