/* hostmem: named byte stores shared by a node's memory devices and its
 * software models (hostmem.h). */
#include "hw/hostmem.h"

#include <stdio.h>
#include <string.h>

#include "orrery/checkpoint.h"

static void hostmem_fini(void *p)
{
    linestore_free(&((struct hostmem *)p)->lines);
}

/* "hostmem:NAME", NAME defaulting to the first dotted part of path. */
static void key_of(char *key, size_t n, const char *name, const char *path)
{
    if (name && *name) {
        snprintf(key, n, "hostmem:%s", name);
        return;
    }
    size_t len = strcspn(path, ".");
    snprintf(key, n, "hostmem:%.*s", (int)(len < 128 ? len : 127), path);
}

/* Checkpoint/restore: the stored lines and the timing-only flag. */
static void hostmem_save(const void *p, struct orr_ckpt_writer *w)
{
    const struct hostmem *m = p;
    orr_ckpt_put_u8(w, m->timing_only);
    linestore_save(&m->lines, w);
}

static void hostmem_restore(void *p, struct orr_ckpt_reader *r)
{
    struct hostmem *m = p;
    m->timing_only = orr_ckpt_get_u8(r) != 0;
    linestore_restore(&m->lines, r);
}

struct hostmem *hostmem_for(struct orr_component *c, const char *name)
{
    char key[160];
    key_of(key, sizeof key, name, c->path);
    /* zeroed = empty */
    struct hostmem *m = orr_sim_shared_state(c, key, sizeof(struct hostmem), hostmem_fini);
    orr_sim_shared_ckpt(c->sim, key, hostmem_save, hostmem_restore);
    return m;
}

const struct hostmem *hostmem_peek(const struct orr_sim *s, const char *path)
{
    char key[160];
    key_of(key, sizeof key, NULL, path);
    return orr_sim_shared_peek(s, key);
}

void hostmem_read(const struct hostmem *m, uint64_t addr, void *out, size_t n)
{
    uint8_t line[ORR_LINE_BYTES], *o = out;
    for (size_t off = 0; off < n;) {
        uint64_t a = addr + off, base = a & ~(uint64_t)(ORR_LINE_BYTES - 1);
        size_t lo = (size_t)(a - base), k = ORR_LINE_BYTES - lo;
        if (k > n - off)
            k = n - off;
        linestore_read(&m->lines, base, line);
        memcpy(o + off, line + lo, k);
        off += k;
    }
}

void hostmem_write(struct hostmem *m, uint64_t addr, const void *in, size_t n)
{
    uint8_t line[ORR_LINE_BYTES];
    const uint8_t *i = in;
    for (size_t off = 0; off < n;) {
        uint64_t a = addr + off, base = a & ~(uint64_t)(ORR_LINE_BYTES - 1);
        size_t lo = (size_t)(a - base), k = ORR_LINE_BYTES - lo;
        if (k > n - off)
            k = n - off;
        if (k < ORR_LINE_BYTES)
            linestore_read(&m->lines, base, line);
        memcpy(line + lo, i + off, k);
        linestore_write(&m->lines, base, line);
        off += k;
    }
}
