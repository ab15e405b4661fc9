/* kernel/bpf/maps.c: BPF maps over caller-provided storage: array,
 * per-CPU array, hash (open addressing) and ring buffer (docs/bpf.md).
 *
 * Layouts (every value slot 8-byte aligned, so atomics on values are too):
 *   array:        max_entries slots of `stride` bytes
 *   per-CPU array: ncpus * max_entries slots; CPU c's copy of entry i is
 *                 slot c * max_entries + i
 *   hash:         hash_cap slots (power of two >= 2 * max_entries) of
 *                 [u32 state | u32 pad | key rounded to 8 | value rounded]
 *                 state 0 empty, 1 live, 2 deleted (a tombstone keeps probe
 *                 chains intact); linear probing from FNV-1a(key)
 *   ring buffer:  max_entries bytes (power of two); records are
 *                 [u32 len | u32 0 | data rounded to 8], positions count
 *                 bytes forever and wrap by masking.
 * Invariants: count <= max_entries; rb_cons <= rb_prod <= rb_cons + size. */
#include "kernel/bpf.h"
#include "kernel/kstring.h"

#define ROUND8(x) (((uint64_t)(x) + 7u) & ~(uint64_t)7u)
#define MAX_VALUE 65536u
#define MAX_KEY 512u
#define MAX_ENTRIES (1u << 20)

size_t bpf_map_mem_size(const struct bpf_map_def *d, uint32_t ncpus, const char **why)
{
    const char *w = 0;
    uint64_t sz = 0;
    if (ncpus == 0)
        ncpus = 1;
    switch (d->type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
        if (d->key_size != 4)
            w = "array map key_size must be 4";
        else if (d->value_size == 0 || d->value_size > MAX_VALUE)
            w = "value_size must be 1..65536";
        else if (d->max_entries == 0 || d->max_entries > MAX_ENTRIES)
            w = "max_entries must be 1..1048576";
        else
            sz = ROUND8(d->value_size) * d->max_entries *
                 (d->type == BPF_MAP_TYPE_PERCPU_ARRAY ? ncpus : 1u);
        break;
    case BPF_MAP_TYPE_HASH:
        if (d->key_size == 0 || d->key_size > MAX_KEY)
            w = "hash map key_size must be 1..512";
        else if (d->value_size == 0 || d->value_size > MAX_VALUE)
            w = "value_size must be 1..65536";
        else if (d->max_entries == 0 || d->max_entries > MAX_ENTRIES)
            w = "max_entries must be 1..1048576";
        else {
            uint64_t cap = 2;
            while (cap < 2ull * d->max_entries)
                cap <<= 1;
            sz = cap * (8 + ROUND8(d->key_size) + ROUND8(d->value_size));
        }
        break;
    case BPF_MAP_TYPE_RINGBUF:
        if (d->key_size != 0 || d->value_size != 0)
            w = "ring buffer key_size and value_size must be 0";
        else if (d->max_entries < 64 || d->max_entries > (1u << 26) ||
                 (d->max_entries & (d->max_entries - 1)) != 0)
            w = "ring buffer max_entries must be a power of two, 64..64Mi bytes";
        else
            sz = d->max_entries;
        break;
    default:
        w = "unsupported map type";
    }
    if (why)
        *why = w;
    return w ? 0 : (size_t)sz;
}

int bpf_map_init(struct bpf_map *m, const struct bpf_map_def *d, uint32_t ncpus, void *mem)
{
    size_t sz = bpf_map_mem_size(d, ncpus, 0);
    if (sz == 0 || !mem)
        return BPF_EINVAL;
    kmemset(m, 0, sizeof *m);
    m->def = *d;
    m->ncpus = ncpus ? ncpus : 1;
    m->stride = (uint32_t)ROUND8(d->value_size);
    if (d->type == BPF_MAP_TYPE_HASH) {
        m->hash_slot = (uint32_t)(8 + ROUND8(d->key_size) + ROUND8(d->value_size));
        m->hash_cap = (uint32_t)(sz / m->hash_slot);
    }
    m->data = mem;
    kmemset(mem, 0, sz);
    return 0;
}

static uint32_t fnv1a(const uint8_t *k, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 16777619u;
    return h;
}

static uint8_t *hslot(const struct bpf_map *m, uint32_t i)
{
    return m->data + (uint64_t)i * m->hash_slot;
}
static uint32_t *hstate(uint8_t *slot) { return (uint32_t *)(void *)slot; }
#define HKEY(s) ((s) + 8)
#define HVAL(m, s) ((s) + 8 + ROUND8((m)->def.key_size))

/* The live slot holding key, or -1; *free_slot: the first reusable slot on
 * the probe path (-1 if none). */
static int64_t hash_find(const struct bpf_map *m, const void *key, int64_t *free_slot)
{
    uint32_t mask = m->hash_cap - 1, i = fnv1a(key, m->def.key_size) & mask;
    int64_t fr = -1;
    for (uint32_t n = 0; n < m->hash_cap; n++, i = (i + 1) & mask) {
        uint8_t *s = hslot(m, i);
        uint32_t st = *hstate(s);
        if (st == 0) {
            if (fr < 0)
                fr = i;
            break;
        }
        if (st == 2) {
            if (fr < 0)
                fr = i;
            continue;
        }
        if (kmemcmp(HKEY(s), key, m->def.key_size) == 0) {
            if (free_slot)
                *free_slot = fr;
            return i;
        }
    }
    if (free_slot)
        *free_slot = fr;
    return -1;
}

void *bpf_map_lookup(struct bpf_map *m, const void *key, uint32_t cpu)
{
    switch (m->def.type) {
    case BPF_MAP_TYPE_ARRAY: {
        uint32_t idx;
        kmemcpy(&idx, key, 4);
        return idx < m->def.max_entries ? m->data + (uint64_t)idx * m->stride : 0;
    }
    case BPF_MAP_TYPE_PERCPU_ARRAY: {
        uint32_t idx;
        kmemcpy(&idx, key, 4);
        if (idx >= m->def.max_entries)
            return 0;
        cpu = cpu < m->ncpus ? cpu : m->ncpus - 1;
        return m->data + ((uint64_t)cpu * m->def.max_entries + idx) * m->stride;
    }
    case BPF_MAP_TYPE_HASH: {
        int64_t i = hash_find(m, key, 0);
        return i < 0 ? 0 : HVAL(m, hslot(m, (uint32_t)i));
    }
    default:
        return 0;
    }
}

int bpf_map_update(struct bpf_map *m, const void *key, const void *value, uint64_t flags, uint32_t cpu)
{
    if (flags > BPF_EXIST)
        return BPF_EINVAL;
    switch (m->def.type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY: {
        uint8_t *v = bpf_map_lookup(m, key, cpu);
        if (!v)
            return BPF_E2BIG;
        if (flags == BPF_NOEXIST)
            return BPF_EEXIST;
        kmemcpy(v, value, m->def.value_size);
        return 0;
    }
    case BPF_MAP_TYPE_HASH: {
        int64_t fr, i = hash_find(m, key, &fr);
        if (i >= 0) {
            if (flags == BPF_NOEXIST)
                return BPF_EEXIST;
            kmemcpy(HVAL(m, hslot(m, (uint32_t)i)), value, m->def.value_size);
            return 0;
        }
        if (flags == BPF_EXIST)
            return BPF_ENOENT;
        if (m->count >= m->def.max_entries || fr < 0)
            return BPF_E2BIG;
        uint8_t *s = hslot(m, (uint32_t)fr);
        kmemcpy(HKEY(s), key, m->def.key_size);
        kmemcpy(HVAL(m, s), value, m->def.value_size);
        *hstate(s) = 1;
        m->count++;
        return 0;
    }
    default:
        return BPF_EINVAL;
    }
}

int bpf_map_delete(struct bpf_map *m, const void *key)
{
    if (m->def.type != BPF_MAP_TYPE_HASH)
        return BPF_EINVAL;
    int64_t i = hash_find(m, key, 0);
    if (i < 0)
        return BPF_ENOENT;
    uint8_t *s = hslot(m, (uint32_t)i);
    *hstate(s) = 2;
    m->count--;
    return 0;
}

bool bpf_map_hash_slot(const struct bpf_map *m, uint32_t i, const void **key, void **value)
{
    if (m->def.type != BPF_MAP_TYPE_HASH || i >= m->hash_cap)
        return false;
    uint8_t *s = hslot(m, i);
    if (*hstate(s) != 1)
        return false;
    *key = HKEY(s);
    *value = HVAL(m, s);
    return true;
}

int bpf_ringbuf_write(struct bpf_map *m, const void *data, uint64_t size)
{
    uint64_t cap = m->def.max_entries, need = 8 + ROUND8(size);
    if (m->def.type != BPF_MAP_TYPE_RINGBUF)
        return BPF_EINVAL;
    if (need > cap - (m->rb_prod - m->rb_cons)) {
        m->rb_drops++;
        return BPF_EAGAIN;
    }
    uint8_t hdr[8];
    uint32_t len = (uint32_t)size;
    kmemset(hdr, 0, 8);
    kmemcpy(hdr, &len, 4);
    const uint8_t *src = data;
    for (uint64_t k = 0; k < need; k++) {
        uint8_t b = k < 8 ? hdr[k] : (k - 8 < size ? src[k - 8] : 0);
        m->data[(m->rb_prod + k) & (cap - 1)] = b;
    }
    m->rb_prod += need;
    return 0;
}

uint32_t bpf_ringbuf_read(struct bpf_map *m, void *out, uint32_t cap)
{
    uint64_t size = m->def.max_entries;
    if (m->def.type != BPF_MAP_TYPE_RINGBUF || m->rb_cons == m->rb_prod)
        return 0;
    uint8_t hdr[4];
    for (uint32_t k = 0; k < 4; k++)
        hdr[k] = m->data[(m->rb_cons + k) & (size - 1)];
    uint32_t len;
    kmemcpy(&len, hdr, 4);
    uint8_t *o = out;
    for (uint32_t k = 0; k < len && k < cap; k++)
        o[k] = m->data[(m->rb_cons + 8 + k) & (size - 1)];
    m->rb_cons += 8 + ROUND8(len);
    return len;
}
