/* linestore: the bytes a memory device holds, stored sparsely — a hash map
 * from line address to 64 bytes, allocated on first write. Reading a line
 * never written yields zeros. The map is only ever probed by key, never
 * iterated, so its layout (which depends on the hash and growth history,
 * not on pointers) cannot leak into the simulation's behaviour.
 *
 * A library inside memory devices, not a component type. */
#ifndef ORRERY_HW_MEM_LINESTORE_H
#define ORRERY_HW_MEM_LINESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "orrery/mem.h"

struct linestore {
    uint64_t *aKey;     /* line address + 1; 0 marks an empty slot */
    uint32_t *aIndex;   /* index into the line chunks, parallel to aKey */
    size_t nSlot;       /* power of two */
    size_t nLine;       /* lines stored */
    uint8_t **aChunk;   /* lines live in chunks of LINESTORE_CHUNK lines */
    size_t nChunk;
};

void linestore_init(struct linestore *s);
void linestore_free(struct linestore *s);
/* Copy the line at addr (line-aligned) into out: zeros if never written. */
void linestore_read(const struct linestore *s, uint64_t addr, uint8_t out[ORR_LINE_BYTES]);
/* Store a whole line. Aborts on out-of-memory (a model cannot go on). */
void linestore_write(struct linestore *s, uint64_t addr, const uint8_t in[ORR_LINE_BYTES]);
/* Checkpoint/restore (orrery/checkpoint.h): every stored line; restore
 * empties s first. The map is only probed by key, so re-inserting in any
 * order restores it. */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void linestore_save(const struct linestore *s, struct orr_ckpt_writer *w);
void linestore_restore(struct linestore *s, struct orr_ckpt_reader *r);

/* Bytes of simulated memory actually held (lines written * 64). */
static inline uint64_t linestore_bytes(const struct linestore *s)
{
    return (uint64_t)s->nLine * ORR_LINE_BYTES;
}

#endif
