/* Checkpoint and restore (docs/checkpoint.md): a running simulation saved
 * to one file, and a simulation rebuilt from the same scenario that picks
 * up exactly there, so the rest of the run gives the same records, digest
 * and metrics as the uninterrupted run.
 *
 * The file (version ORR_CKPT_VERSION), little-endian:
 *
 *   magic "ORRCKPT\0"  u32 version  u32 0  u64 content bytes  u64 frame bytes
 *   zstd frame of the content
 *   u64 XXH3-64 of everything before it
 *
 * The content is a sequence of typed fields (orr_ckpt_put_*): first the
 * identity (build id, the binary's fingerprint, scenario path, hash,
 * overrides, seed, simulated time, events dispatched, digest), then the engine's state (the event queue,
 * sequence counters, RNG streams, workload flags, link serialisers, stats,
 * payload blocks, the digest's running state, records per component), then
 * one section per component by path (its type's save op) and one per shared
 * object by name. Each section is length-prefixed, and a reader must use
 * exactly the bytes a section holds, so a save op that forgets a field the
 * restore op reads is caught as a malformed checkpoint, not a silent shift.
 *
 * A simulation can be checkpointed only when every component's type and
 * every shared object has save and restore ops; otherwise saving fails
 * naming each type that has none, and nothing is written.
 *
 * Restore order (orr_ckpt_restore): the caller builds and starts the
 * simulation from the same scenario as usual (orr_scenario_open); restore
 * then throws away what start scheduled and replaces every piece of
 * dynamic state with the saved one. Types' restore ops therefore only
 * overwrite fields that change while running; what create and start
 * computed from the parameters (pointers to ports, peer ids) stays. */
#ifndef ORRERY_CHECKPOINT_H
#define ORRERY_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/diag.h"
#include "orrery/time.h"

#define ORR_CKPT_VERSION 2u

struct orr_sim;
struct orr_component;

/* --- typed fields: what save and restore ops call ------------------------- */

struct orr_ckpt_writer; /* a growing buffer; never fails (out of memory aborts) */
struct orr_ckpt_reader; /* a bounded cursor with a sticky error */

void orr_ckpt_put_u8(struct orr_ckpt_writer *w, uint8_t v);
void orr_ckpt_put_u32(struct orr_ckpt_writer *w, uint32_t v);
void orr_ckpt_put_u64(struct orr_ckpt_writer *w, uint64_t v);
void orr_ckpt_put_i64(struct orr_ckpt_writer *w, int64_t v);
void orr_ckpt_put_f64(struct orr_ckpt_writer *w, double v); /* bit pattern */
void orr_ckpt_put_bytes(struct orr_ckpt_writer *w, const void *p, size_t n); /* n, then bytes */
void orr_ckpt_put_str(struct orr_ckpt_writer *w, const char *s);           /* NULL allowed */

/* Readers return 0 (or an empty value) once anything went wrong: a field
 * past the end of its section. The error sticks; orr_ckpt_ok tells. */
uint8_t orr_ckpt_get_u8(struct orr_ckpt_reader *r);
uint32_t orr_ckpt_get_u32(struct orr_ckpt_reader *r);
uint64_t orr_ckpt_get_u64(struct orr_ckpt_reader *r);
int64_t orr_ckpt_get_i64(struct orr_ckpt_reader *r);
double orr_ckpt_get_f64(struct orr_ckpt_reader *r);
/* A byte string saved with orr_ckpt_put_bytes: its length, and a pointer
 * into the checkpoint valid while the reader is (NULL when empty). */
const void *orr_ckpt_get_bytes(struct orr_ckpt_reader *r, size_t *n);
/* The same into p, which must hold exactly n bytes (error otherwise). */
void orr_ckpt_get_into(struct orr_ckpt_reader *r, void *p, size_t n);
/* A string saved with orr_ckpt_put_str, malloc'ed (NULL if it was NULL). */
char *orr_ckpt_get_str(struct orr_ckpt_reader *r);
/* Count for an array of elements of at least min_bytes each: fails (0) if
 * the section cannot hold that many, so a corrupt count never turns into a
 * huge allocation. */
uint64_t orr_ckpt_get_count(struct orr_ckpt_reader *r, size_t min_bytes);
/* Mark the reader failed with a reason (a restore op that finds a value
 * out of range for this instance). The first reason is kept. */
void orr_ckpt_fail(struct orr_ckpt_reader *r, const char *why);
bool orr_ckpt_ok(const struct orr_ckpt_reader *r);

/* A growable array of n plain-data elements (no pointers) of elem bytes.
 * get returns a fresh malloc'ed copy (room for at least one element; the
 * caller frees old) and its length in *n; NULL on error. */
void orr_ckpt_put_array(struct orr_ckpt_writer *w, const void *p, size_t n, size_t elem);
void *orr_ckpt_get_array(struct orr_ckpt_reader *r, size_t elem, size_t *n);

/* A FIFO ring (orrery/ring.h) of plain-data elements of elem bytes, oldest
 * first; restore empties r first. And an orr_outq (its gauge stays). */
struct orr_ring;
struct orr_outq;
void orr_ckpt_put_ring(struct orr_ckpt_writer *w, const struct orr_ring *r, size_t elem);
void orr_ckpt_get_ring(struct orr_ckpt_reader *rd, struct orr_ring *r, size_t elem);
void orr_ckpt_put_outq(struct orr_ckpt_writer *w, const struct orr_outq *q);
void orr_ckpt_get_outq(struct orr_ckpt_reader *rd, struct orr_outq *q);

/* The save and restore ops of a type with no state that changes while it
 * runs (everything it has comes from its params): they save nothing. */
void orr_ckpt_save_none(const struct orr_component *c, struct orr_ckpt_writer *w);
void orr_ckpt_restore_none(struct orr_component *c, struct orr_ckpt_reader *r);

/* Save and restore ops of a shared object or observer (orrery/sim.h), so
 * it travels with the components that use it. Register once, from create
 * or start, by any of its users. */
typedef void (*orr_shared_save_fn)(const void *obj, struct orr_ckpt_writer *w);
typedef void (*orr_shared_restore_fn)(void *obj, struct orr_ckpt_reader *r);
void orr_sim_shared_ckpt(struct orr_sim *s, const char *name, orr_shared_save_fn save,
                         orr_shared_restore_fn restore);

/* --- whole simulations ---------------------------------------------------- */

/* Who the checkpoint belongs to; restore refuses any other. */
struct orr_ckpt_identity {
    const char *build_id;
    const char *scenario;     /* path as given */
    uint64_t scenario_hash;   /* orr_config_hash of the effective tree */
    const char *const *aSet;  /* the --set overrides, as given */
    size_t nSet;
    uint64_t seed;
};

/* The names of the types (and shared objects) in s that cannot be saved,
 * comma-separated, into buf; false if there are none. */
bool orr_ckpt_unsupported(const struct orr_sim *s, char *buf, size_t n);

/* Save s (started, between events: after orr_sim_run_until) to path,
 * atomically (temporary file, then rename). 0, or ORR_EINVAL when a
 * component cannot be saved (the message names its type), ORR_EIO. The
 * message is in d; nothing is written on failure. */
int orr_ckpt_save(const struct orr_sim *s, const struct orr_ckpt_identity *id, const char *path,
                  struct orr_diag *d);

/* A checkpoint file read and checked (magic, version, checksum, frame),
 * with its identity. */
struct orr_ckpt_file {
    char *build_id, *scenario;
    uint64_t exe; /* the writing binary's fingerprint (orr_ckpt_exe_fingerprint) */
    uint64_t scenario_hash, seed;
    char **aSet;
    size_t nSet;
    orr_time_t time;
    uint64_t events, digest;
    /* private: the decompressed content and where the state starts */
    uint8_t *content;
    size_t nContent, state_off;
};

/* Read path. 0, or ORR_ECORRUPT / ORR_EIO with a message naming the file
 * and what is wrong (truncated, bad checksum, other version, ...). f is
 * always safe to free. */
int orr_ckpt_load(struct orr_ckpt_file *f, const char *path, struct orr_diag *d);
/* This binary, byte for byte: XXH3-64 of /proc/self/exe, 0 where it cannot
 * be read. The build id names the commit, compiler and build type, which a
 * rebuild of changed sources without reconfiguring keeps; this changes. */
uint64_t orr_ckpt_exe_fingerprint(void);
void orr_ckpt_file_free(struct orr_ckpt_file *f);

/* Refuse (ORR_EINVAL, message naming both) a file written by a build other
 * than this one (orr_build_id): restoring into other code would continue a
 * different model. */
int orr_ckpt_check_build(const struct orr_ckpt_file *f, const char *path, struct orr_diag *d);

/* Restore s, freshly built from the identity's scenario and started, to
 * the saved state. The caller has checked the identity (build id, hash);
 * this checks that the model matches the file (components, types, links,
 * stats) and every section's length. 0 or ORR_ECORRUPT (message in d;
 * s must then be destroyed, not run). */
int orr_ckpt_restore(struct orr_sim *s, const struct orr_ckpt_file *f, const char *path,
                     struct orr_diag *d);

#endif
