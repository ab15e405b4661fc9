/* Output files that never clobber inputs: one check every verb runs on its
 * files before it writes anything, and one way to replace a file atomically.
 *
 * The check (orr_files_check) refuses
 *   - an output that is the same file as an input or as another output: the
 *     same device and inode when both exist, else the same resolved path
 *     (the real path of the folder, then the name);
 *   - an output that exists and is not a regular file (a device such as
 *     /dev/full, a directory, a socket, a fifo): it would be replaced by a
 *     regular file, or written through.
 * A database opened read-write (ORR_FILE_UPDATE) is an output for these
 * rules: it may not be an input or another output, and must be a regular
 * file if it exists.
 *
 * An orr_outfile writes PATH.tmp.PID (created exclusively, so it never
 * replaces an existing file; a suffix is added if that name is taken) in
 * PATH's folder, and on commit flushes, fsyncs, renames it over PATH and
 * fsyncs the folder. Until then PATH is untouched; abort removes the
 * temporary file. The temporary names of open outfiles are also kept where
 * orr_outfile_remove_temporaries, which is async-signal-safe, finds them, so
 * a verb killed by a signal leaves none behind. */
#ifndef ORRERY_OUTFILE_H
#define ORRERY_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "orrery/diag.h"

enum orr_file_role {
    ORR_FILE_INPUT,  /* read only */
    ORR_FILE_OUTPUT, /* replaced as a whole (an orr_outfile) */
    ORR_FILE_UPDATE, /* read and written in place: the results database */
};

struct orr_file_use {
    const char *path;
    const char *what; /* for messages: "the trace", "the scenario", ... */
    enum orr_file_role role;
};

/* Check a verb's files (above). Every problem is reported in d, naming both
 * files and what they are; returns 0 or ORR_EINVAL. Entries with a NULL path
 * are skipped, as is the output "-" (standard output). */
int orr_files_check(const struct orr_file_use *aUse, size_t nUse, struct orr_diag *d);

struct orr_outfile {
    char *path;
    char *tmp;
    int fd;  /* -1 once closed */
    FILE *f; /* orr_outfile_stream's stream over fd, or NULL */
    int slot; /* index among the registered temporaries, or -1 */
    bool created; /* tmp exists and is ours to remove */
};

/* Create the temporary file beside path. 0, or ORR_EIO / ORR_ENOMEM with a
 * message in d (o is then safe to abort). */
int orr_outfile_open(struct orr_outfile *o, const char *path, struct orr_diag *d);
/* A stdio stream over the temporary file (made on first call); NULL on
 * failure. Use either this or o->fd with write(), not both. */
FILE *orr_outfile_stream(struct orr_outfile *o);
/* Flush, fsync, close and rename into place. On failure the temporary file
 * is removed, path is untouched, and a message is in d. o is freed either
 * way. */
int orr_outfile_commit(struct orr_outfile *o, struct orr_diag *d);
/* Close and remove the temporary file; path is untouched. Safe on a zeroed
 * o, one orr_outfile_open failed on, or one already finished. */
void orr_outfile_abort(struct orr_outfile *o);

/* Unlink every open outfile's temporary file: for signal handlers. */
void orr_outfile_remove_temporaries(void);

#endif
