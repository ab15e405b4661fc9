/* Traces: the canonical, ordered record of what happened in a run.
 *
 * Every dispatched event (and every trace point a component emits) becomes
 * one fixed-size record. A rolling XXH3-64 digest over the records' encoded
 * bytes identifies the run's behaviour; it is computed whether or not a
 * trace file is written, so tracing never changes the digest.
 *
 * File layout (all integers little-endian):
 *
 *   "ORRTRC01"                          magic + format version
 *   u32 header_len, header bytes        see orr_trace_header; strings are
 *                                       u32 length + bytes
 *   segment*                            one zstd frame (with checksum) per
 *                                       `checkpoint_every` records
 *   footer                              checkpoints (event index, digest,
 *                                       file offset of the segment that
 *                                       starts there, XXH3 of the segment's
 *                                       bytes), per-component event counts,
 *                                       final metrics, final digest, XXH3 of
 *                                       magic + header
 *   u64 footer_offset, u64 footer_xxh3, "ORRTEND1"   (footer_xxh3 covers the
 *                                       footer and footer_offset)
 *
 * The file is written to PATH.tmp and renamed into place only when finished,
 * so a failed run never leaves a partial trace under the requested name. A
 * file without the end marker is reported as truncated; a checksum mismatch
 * anywhere as corrupt. */
#ifndef ORRERY_TRACE_H
#define ORRERY_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/diag.h"
#include "orrery/time.h"

/* Event kinds 0..15 belong to the engine; component trace points register
 * names and get kinds from 16 up (see orr_trace_kind). */
enum orr_trace_kind_builtin {
    ORR_TK_TIMER = 0,     /* a self-timer fired */
    ORR_TK_MSG = 1,       /* a message arrived on a port */
    ORR_TK_READY = 2,     /* a port that refused a send can send again */
    ORR_TK_FAULT = 3,     /* a scheduled fault was applied */
    ORR_TK_STOP = 4,      /* the engine stopped (last record) */
    ORR_TK_FIRST_USER = 16,
};

/* One record. In memory it is this struct; on disk and in the digest it is
 * the 40-byte little-endian encoding of these fields in this order. */
struct orr_trace_rec {
    orr_time_t time;  /* when */
    uint32_t comp;    /* component id the record is about (event target) */
    uint32_t origin;  /* component id that caused it (ORR_ORIGIN_ENGINE for the engine) */
    uint16_t kind;    /* ORR_TK_* or a registered kind */
    uint16_t port;    /* receiving port (MSG/READY), timer tag (TIMER) */
    uint32_t size;    /* message bytes (MSG), 0 otherwise */
    uint64_t a, b;    /* first two payload words / trace point arguments */
};

#define ORR_TRACE_REC_BYTES 40
/* Largest checkpoint interval: a segment is held in memory whole (40 MiB). */
#define ORR_TRACE_MAX_CHECKPOINT_EVERY (1u << 20)
#define ORR_ORIGIN_ENGINE 0xFFFFFFu

void orr_trace_rec_encode(const struct orr_trace_rec *r, uint8_t out[ORR_TRACE_REC_BYTES]);
void orr_trace_rec_decode(const uint8_t in[ORR_TRACE_REC_BYTES], struct orr_trace_rec *r);

/* The rolling digest: XXH3-64 streaming over encoded records. */
struct orr_digest {
    void *state; /* XXH3_state_t */
    uint64_t count;
};
int orr_digest_init(struct orr_digest *d);
void orr_digest_add(struct orr_digest *d, const uint8_t rec[ORR_TRACE_REC_BYTES]);
/* n consecutive encoded records at once; same result as n orr_digest_add
 * calls (XXH3 streaming does not depend on how the input is chunked). */
void orr_digest_add_n(struct orr_digest *d, const uint8_t *recs, size_t n);
uint64_t orr_digest_value(const struct orr_digest *d); /* does not end the stream */
void orr_digest_free(struct orr_digest *d);

/* Identity and vocabulary of a trace. Everything that changes behaviour is
 * pinned here (knobs are "key=value" strings: the effective config, the
 * engine's feature switches). */
struct orr_trace_header {
    char *scenario;      /* path as given */
    uint64_t scenario_hash;
    uint64_t seed;
    char *build_id;
    char *overrides;     /* the --set arguments joined with '\n' */
    uint64_t checkpoint_every;
    size_t nKnob;
    char **aKnob;
    size_t nComp;        /* component table, index = id */
    char **aCompPath;
    char **aCompType;
    size_t nKind;        /* kind names, index = kind number; "" for unused */
    char **aKindName;
};

struct orr_trace_checkpoint {
    uint64_t index;    /* number of records before this checkpoint */
    uint64_t digest;   /* digest after `index` records */
    uint64_t offset;   /* file offset of the segment holding record `index` */
};

struct orr_trace_metric {
    char *name;        /* "component.path.stat" */
    double value;
    char *unit;
};

struct orr_trace_footer {
    uint64_t nRec;
    uint64_t digest;        /* final digest over all records */
    orr_time_t sim_time;    /* time at which the run ended */
    size_t nCheckpoint;
    struct orr_trace_checkpoint *aCheckpoint;
    size_t nComp;
    uint64_t *aCompEvents;  /* records per component id */
    size_t nMetric;
    struct orr_trace_metric *aMetric;
};

/* --- writing ------------------------------------------------------------- */
struct orr_trace_writer;

/* Opens PATH.tmp for writing and writes the header. ORR_EIO with a message in
 * d if the file cannot be created (ORR_EINVAL if checkpoint_every is outside
 * 1..ORR_TRACE_MAX_CHECKPOINT_EVERY). d must outlive w: later write errors
 * are reported there too. */
int orr_trace_writer_open(struct orr_trace_writer **w, const char *path,
                          const struct orr_trace_header *h, struct orr_diag *d);
/* Append one record (buffered; every checkpoint_every records the segment is
 * compressed, written and a checkpoint noted). digest_after is the rolling
 * digest including this record. */
int orr_trace_writer_append(struct orr_trace_writer *w, const struct orr_trace_rec *r,
                            uint64_t digest_after);
/* Flush, write footer (footer->aCheckpoint is ignored: the writer's own are
 * used), fsync, rename PATH.tmp to PATH, free w. A footer whose nRec, digest
 * or nComp disagree with what was written is ORR_EINVAL; on any error
 * PATH.tmp is removed. */
int orr_trace_writer_finish(struct orr_trace_writer *w, const struct orr_trace_footer *footer);
/* Remove PATH.tmp and free w. */
void orr_trace_writer_abort(struct orr_trace_writer *w);

/* --- reading ------------------------------------------------------------- */
struct orr_trace_reader;

/* Open and verify magic, header, end marker and footer checksum. Errors:
 * ORR_ENOENT, ORR_ETRUNC, ORR_ECORRUPT, ORR_EVERSION (ORR_EIO if unreadable),
 * each with a message. */
int orr_trace_open(struct orr_trace_reader **r, const char *path, struct orr_diag *d);
const struct orr_trace_header *orr_trace_header(const struct orr_trace_reader *r);
const struct orr_trace_footer *orr_trace_footer(const struct orr_trace_reader *r);
/* Position so the next record read is record number `index` (any index up
 * to nRec; seeks to the enclosing segment and skips; ORR_ERANGE past it). */
int orr_trace_seek(struct orr_trace_reader *r, uint64_t index);
/* Read every segment: its XXH3, frame and size (as orr_trace_next does),
 * and the rolling digest of the records against every checkpoint and the
 * footer's final digest, so a trace crafted with valid checksums is caught
 * too. 0, or ORR_ECORRUPT naming the first bad segment (message in reader).
 * Costs one pass over the trace, a segment in memory at a time; leaves the
 * position where it was. */
int orr_trace_verify(struct orr_trace_reader *r);
/* 1 = a record, 0 = end, <0 = ORR_ECORRUPT/ORR_ETRUNC (message in reader). */
int orr_trace_next(struct orr_trace_reader *r, struct orr_trace_rec *rec);
const char *orr_trace_error(const struct orr_trace_reader *r);
void orr_trace_close(struct orr_trace_reader *r);

/* Name of a kind for display ("msg", "timer", or a registered name). */
const char *orr_trace_kind_name(const struct orr_trace_header *h, uint16_t kind);

void orr_trace_header_free(struct orr_trace_header *h);
void orr_trace_footer_free(struct orr_trace_footer *f);

#endif
