/* Diagnostics: errors about user input, each tied to a source position and a
 * key path, collected so a user sees every problem in one go.
 *
 * Rendered as   file:line:col: error: key.path: message
 * (line and column are 1-based; a mark with line 0 prints just the file, or
 * "file:col" when col is set, as for a --set argument). */
#ifndef ORRERY_DIAG_H
#define ORRERY_DIAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where something came from. file is owned by whoever owns the config tree
 * (or is a string literal such as "<--set>"). */
struct orr_mark {
    const char *file;
    uint32_t line, col;
};

struct orr_diag_msg {
    struct orr_mark mark;
    char *keypath; /* may be NULL */
    char *text;
};

/* Caller-allocated; zero-initialise, or use orr_diag_init. */
struct orr_diag {
    struct orr_diag_msg *aMsg;
    size_t nMsg, nAlloc;
    size_t nDropped; /* errors beyond ORR_DIAG_MAX are counted, not kept */
};

#define ORR_DIAG_MAX 50

void orr_diag_init(struct orr_diag *d);
void orr_diag_free(struct orr_diag *d);

/* Record one error. mark may be NULL (no position), keypath may be NULL. The
 * message keeps its own copy of mark->file, so it outlives the config tree. */
void orr_diag_error(struct orr_diag *d, const struct orr_mark *mark, const char *keypath,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline size_t orr_diag_count(const struct orr_diag *d) { return d->nMsg + d->nDropped; }

/* Print every message, one per line, as "file:line:col: error: path: text". */
void orr_diag_print(const struct orr_diag *d, FILE *out);

/* Format one message into buf (always NUL-terminated). */
void orr_diag_format(const struct orr_diag_msg *m, char *buf, size_t n);

#endif
