/* linestore: sparse line storage (see linestore.h). Open addressing with
 * linear probing over a power-of-two table kept at most half full; line
 * bytes live in fixed chunks so growing the table never moves them.
 * Cost: O(1) expected per access; memory 64 B per line written plus 12 B
 * per table slot. */
#include <stdlib.h>
#include <string.h>

#include "hw/linestore.h"
#include "orrery/checkpoint.h"
#include "orrery/error.h"

#define LINESTORE_CHUNK 4096u /* lines per chunk: 256 KiB */

void linestore_init(struct linestore *s) { memset(s, 0, sizeof *s); }

void linestore_free(struct linestore *s)
{
    for (size_t i = 0; i < s->nChunk; i++)
        free(s->aChunk[i]);
    free(s->aChunk);
    free(s->aKey);
    free(s->aIndex);
    memset(s, 0, sizeof *s);
}

/* splitmix64's finaliser: consecutive lines spread over the table. */
static uint64_t hash(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t probe(const struct linestore *s, uint64_t key)
{
    size_t mask = s->nSlot - 1, i = (size_t)hash(key) & mask;
    while (s->aKey[i] && s->aKey[i] != key)
        i = (i + 1) & mask;
    return i;
}

static uint8_t *line_at(const struct linestore *s, uint32_t index)
{
    return s->aChunk[index / LINESTORE_CHUNK] + (size_t)(index % LINESTORE_CHUNK) * ORR_LINE_BYTES;
}

void linestore_read(const struct linestore *s, uint64_t addr, uint8_t out[ORR_LINE_BYTES])
{
    if (s->nSlot) {
        size_t i = probe(s, addr + 1);
        if (s->aKey[i]) {
            memcpy(out, line_at(s, s->aIndex[i]), ORR_LINE_BYTES);
            return;
        }
    }
    memset(out, 0, ORR_LINE_BYTES);
}

static void grow(struct linestore *s)
{
    size_t old = s->nSlot, n = old ? old * 2 : 1024;
    uint64_t *aKey = s->aKey;
    uint32_t *aIndex = s->aIndex;
    s->aKey = calloc(n, sizeof *s->aKey);
    s->aIndex = calloc(n, sizeof *s->aIndex);
    if (!s->aKey || !s->aIndex)
        orr_oom();
    s->nSlot = n;
    for (size_t i = 0; i < old; i++)
        if (aKey[i]) {
            size_t j = probe(s, aKey[i]);
            s->aKey[j] = aKey[i];
            s->aIndex[j] = aIndex[i];
        }
    free(aKey);
    free(aIndex);
}

void linestore_write(struct linestore *s, uint64_t addr, const uint8_t in[ORR_LINE_BYTES])
{
    if ((s->nLine + 1) * 2 > s->nSlot)
        grow(s);
    size_t i = probe(s, addr + 1);
    if (!s->aKey[i]) {
        if (s->nLine >= UINT32_MAX)
            orr_oom(); /* 256 GiB of written lines: beyond what a host can hold */
        uint32_t index = (uint32_t)s->nLine++;
        if (index / LINESTORE_CHUNK == s->nChunk) {
            uint8_t **a = realloc(s->aChunk, (s->nChunk + 1) * sizeof *a);
            if (!a)
                orr_oom();
            s->aChunk = a;
            s->aChunk[s->nChunk] = malloc((size_t)LINESTORE_CHUNK * ORR_LINE_BYTES);
            if (!s->aChunk[s->nChunk])
                orr_oom();
            s->nChunk++;
        }
        s->aKey[i] = addr + 1;
        s->aIndex[i] = index;
    }
    memcpy(line_at(s, s->aIndex[i]), in, ORR_LINE_BYTES);
}

void linestore_save(const struct linestore *s, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_u64(w, s->nLine);
    for (size_t i = 0; i < s->nSlot; i++)
        if (s->aKey[i]) {
            orr_ckpt_put_u64(w, s->aKey[i] - 1);
            orr_ckpt_put_bytes(w, line_at((struct linestore *)s, s->aIndex[i]), ORR_LINE_BYTES);
        }
}

void linestore_restore(struct linestore *s, struct orr_ckpt_reader *r)
{
    linestore_free(s);
    linestore_init(s);
    uint64_t n = orr_ckpt_get_count(r, 8 + 8 + ORR_LINE_BYTES);
    for (uint64_t i = 0; i < n && orr_ckpt_ok(r); i++) {
        uint64_t addr = orr_ckpt_get_u64(r);
        uint8_t line[ORR_LINE_BYTES];
        orr_ckpt_get_into(r, line, sizeof line);
        if (orr_ckpt_ok(r))
            linestore_write(s, addr, line);
    }
}
