/* Private to model/trace*.c: the on-disk layout constants and the header and
 * footer codecs shared by the trace writer and reader. docs/traces.md has
 * the byte-by-byte table; keep the two in step. */
#ifndef ORRERY_TRACE_INTERNAL_H
#define ORRERY_TRACE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/trace.h"

#define ORR__TRACE_MAGIC "ORRTRC01"     /* 6 bytes of name + 2 of version */
#define ORR__TRACE_MAGIC_NAME_LEN 6
#define ORR__TRACE_END "ORRTEND1"
#define ORR__TRACE_PREAMBLE 12          /* magic + u32 header_len */
#define ORR__TRACE_TRAILER 24           /* u64 footer_offset, u64 footer_xxh3, end */

/* Bounds a reader enforces before trusting anything it reads (besides
 * ORR_TRACE_MAX_CHECKPOINT_EVERY, which caps one segment buffer). */
#define ORR__TRACE_MAX_HEADER (64u << 20)

/* A growable byte buffer for encoding. Allocation failure is sticky: check
 * `oom` once at the end instead of after every put. */
struct orr__buf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
};

void orr__buf_u32(struct orr__buf *b, uint32_t v);
void orr__buf_u64(struct orr__buf *b, uint64_t v);
void orr__buf_str(struct orr__buf *b, const char *s); /* NULL encodes as "" */
void orr__buf_free(struct orr__buf *b);

uint32_t orr__le32(const uint8_t *p);
uint64_t orr__le64(const uint8_t *p);
void orr__put_le64(uint8_t *p, uint64_t v);

/* The digest of zero records (XXH3-64 of the empty string). */
uint64_t orr__digest_empty(void);
uint64_t orr__xxh3(const void *p, size_t n);

/* Header: the bytes after the preamble. Encoding fails (ORR_EINVAL) on
 * tables that do not fit the format. Decoding never trusts a length:
 * every string and table is checked against the bytes that remain, and
 * any inconsistency is ORR_ECORRUPT (ORR_ENOMEM if memory runs out). On
 * failure *h is left empty. */
int orr__trace_header_encode(const struct orr_trace_header *h, struct orr__buf *b);
int orr__trace_header_decode(const uint8_t *p, size_t n, struct orr_trace_header *h);

/* What the footer holds besides struct orr_trace_footer: checksums of the
 * bytes it does not cover itself. zstd's content checksum covers only the
 * decoded records (a flipped bit the decoder ignores would pass), so each
 * compressed segment gets its own XXH3-64 too. */
struct orr__trace_sums {
    uint64_t header;  /* XXH3-64 of the file's bytes before the first segment */
    uint64_t *aSeg;   /* XXH3-64 of each compressed segment, nCheckpoint of them */
};

/* Footer: everything in struct orr_trace_footer plus the sums. Decoding
 * allocates sums->aSeg (free it); on failure *f and *sums are left empty. */
int orr__trace_footer_encode(const struct orr_trace_footer *f, const struct orr__trace_sums *sums,
                             struct orr__buf *b);
int orr__trace_footer_decode(const uint8_t *p, size_t n, struct orr_trace_footer *f,
                             struct orr__trace_sums *sums);

#endif
