/* The keys and request ports memory devices share (hw/memdev.h). */
#include "hw/memdev.h"

#include <stdio.h>
#include <stdlib.h>

#include "orrery/checkpoint.h"
#include "orrery/mem.h"

const struct orr_param memdev_range_params[] = {
    {"base", ORR_P_ADDR, "0", 0, "first physical address served (0x... hex, decimal or a size)"},
    {"size", ORR_P_SIZE, "16GiB", ORR_PF_POSITIVE, "bytes served from base"},
    {NULL},
};

const struct orr_param memdev_port_params[] = {
    {"ports", ORR_P_UINT, "1", ORR_PF_POSITIVE, "request ports, named in0..in<N-1>", NULL, 1, 256},
    {NULL},
};

int memdev_range_read(const struct orr_component *c, const struct orr_params *p, uint64_t *base,
                      uint64_t *size, struct orr_diag *d)
{
    *base = orr_param_u64(p, "base");
    *size = orr_param_u64(p, "size");
    if (*base % ORR_LINE_BYTES) {
        orr_diag_error(d, orr_param_mark(p, "base"), c->keypath,
                       "base %#llx is not a multiple of the %u-byte line", (unsigned long long)*base,
                       ORR_LINE_BYTES);
        return ORR_ESCHEMA;
    }
    if (*size % ORR_LINE_BYTES) {
        orr_diag_error(d, orr_param_mark(p, "size"), c->keypath,
                       "size is not a multiple of the %u-byte line", ORR_LINE_BYTES);
        return ORR_ESCHEMA;
    }
    if (*base > ORR_MEM_ADDR_MASK || *size > ORR_MEM_ADDR_MASK + 1 - *base) {
        orr_diag_error(d, orr_param_mark(p, "size"), c->keypath,
                       "base + size goes beyond the %u-bit physical address space",
                       ORR_MEM_ADDR_BITS);
        return ORR_ESCHEMA;
    }
    return 0;
}

int memdev_ports_init(struct memdev_ports *mp, struct orr_component *c, unsigned n)
{
    mp->n = n;
    mp->aPort = calloc(n, sizeof *mp->aPort);
    mp->aOut = calloc(n, sizeof *mp->aOut);
    if (!mp->aPort || !mp->aOut)
        return ORR_ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "in%u", i);
        mp->aPort[i] = orr_port_add(c, name);
        snprintf(name, sizeof name, "in%u.backlog", i);
        mp->aOut[i].depth = orr_gauge_new(c, name, "msg");
    }
    return 0;
}

void memdev_ports_send(struct memdev_ports *mp, unsigned i, const struct orr_msg *m)
{
    orr_outq_send(&mp->aOut[i], mp->aPort[i], m, 0);
}

void memdev_ports_ready(struct memdev_ports *mp, unsigned i)
{
    orr_outq_drain(&mp->aOut[i], mp->aPort[i]);
}

void memdev_ports_free(struct memdev_ports *mp)
{
    for (unsigned i = 0; mp->aOut && i < mp->n; i++)
        orr_outq_free(&mp->aOut[i]);
    free(mp->aOut);
    free(mp->aPort);
    mp->aOut = NULL;
    mp->aPort = NULL;
}

void memdev_ports_save(const struct memdev_ports *mp, struct orr_ckpt_writer *w)
{
    for (unsigned i = 0; i < mp->n; i++)
        orr_ckpt_put_outq(w, &mp->aOut[i]);
}

void memdev_ports_restore(struct memdev_ports *mp, struct orr_ckpt_reader *r)
{
    for (unsigned i = 0; i < mp->n; i++)
        orr_ckpt_get_outq(r, &mp->aOut[i]);
}
