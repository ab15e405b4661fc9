/* gpu_mem: the GPU's device memory as bytes — a sparse line store bounded
 * by `store_limit`, addressed absolutely (a partition's offsets are moved
 * by its base first, gpu_mem_check). Lines never written read as zeros. */
#include <string.h>

#include "gpu_int.h"

void gpu_mem_read(const struct gpu *s, uint64_t addr, void *out, uint64_t n)
{
    uint8_t line[ORR_LINE_BYTES], *o = out;
    while (n) {
        uint64_t base = addr & ~(uint64_t)(ORR_LINE_BYTES - 1), lo = addr - base;
        uint64_t k = ORR_LINE_BYTES - lo < n ? ORR_LINE_BYTES - lo : n;
        linestore_read(&s->store, base, line);
        memcpy(o, line + lo, k);
        o += k;
        addr += k;
        n -= k;
    }
}

void gpu_mem_write(struct gpu *s, uint64_t addr, const void *in, uint64_t n)
{
    uint8_t line[ORR_LINE_BYTES];
    const uint8_t *i = in;
    while (n) {
        uint64_t base = addr & ~(uint64_t)(ORR_LINE_BYTES - 1), lo = addr - base;
        uint64_t k = ORR_LINE_BYTES - lo < n ? ORR_LINE_BYTES - lo : n;
        if (k < ORR_LINE_BYTES)
            linestore_read(&s->store, base, line);
        memcpy(line + lo, i, k);
        linestore_write(&s->store, base, line);
        i += k;
        addr += k;
        n -= k;
    }
}

unsigned gpu_mem_check(const struct gpu *s, unsigned part, uint64_t addr, uint64_t n, bool write,
                       uint64_t *abs)
{
    const struct gpu_part *p = &s->aPart[part];
    if (addr > p->mem_size || n > p->mem_size - addr)
        return GPU_ERR_RANGE;
    /* bound what the simulator holds: the new lines at most */
    if (write && linestore_bytes(&s->store) + n + 2 * ORR_LINE_BYTES > s->store_limit)
        return GPU_ERR_STORE_FULL;
    *abs = p->mem_base + addr;
    return 0;
}
