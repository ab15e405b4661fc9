/* Error codes: 0 is success, everything else a negative ORR_E* value. One
 * X-macro list generates the enum and the messages (libuv style). */
#ifndef ORRERY_ERROR_H
#define ORRERY_ERROR_H

#define ORR_ERRNO_MAP(X)                                                   \
    X(EINVAL, 1, "invalid argument")                                       \
    X(ENOMEM, 2, "out of memory")                                          \
    X(EIO, 3, "input/output error")                                        \
    X(ENOENT, 4, "no such file or object")                                 \
    X(EPARSE, 5, "malformed input")                                        \
    X(ESCHEMA, 6, "input does not match the schema")                       \
    X(EUNIT, 7, "bad or missing unit")                                     \
    X(ERANGE, 8, "value out of range")                                     \
    X(EBUSY, 9, "resource busy; retry later")                              \
    X(ECORRUPT, 10, "corrupt data")                                        \
    X(ETRUNC, 11, "truncated data")                                        \
    X(EVERSION, 12, "unsupported format version")                          \
    X(EDB, 13, "results database error")                                   \
    X(EINTR, 14, "interrupted")                                            \
    X(ENOTSUP, 15, "not supported")

enum orr_errno {
    ORR_OK = 0,
#define ORR__ERR_ENUM(name, num, msg) ORR_##name = -(num),
    ORR_ERRNO_MAP(ORR__ERR_ENUM)
#undef ORR__ERR_ENUM
};

const char *orr_strerror(int rc);

/* Process exit codes shared by every CLI verb (DESIGN.md §9). */
enum orr_exit {
    ORR_EXIT_OK = 0,      /* success */
    ORR_EXIT_FAILED = 1,  /* a check, diff or budget failed */
    ORR_EXIT_USAGE = 2,   /* bad input or usage */
};

/* Memory ran out: every allocation in the tree is sized by the input
 * (components, links, events, tasks, traces), so this is the input asking
 * for more than the host has. Prints why on stderr, runs the registered
 * cleanups (this process's temporary output files, a results database it
 * created and stored nothing in) and exits ORR_EXIT_USAGE
 * (docs/testing.md, Budgets). */
__attribute__((noreturn)) void orr_oom(void);
/* The exit code orr_oom uses instead (`orrery exec`: 125, its own failures). */
void orr_oom_set_exit(int code);
/* Run fn in orr_oom before exiting (at most 4 distinct; outfile.c and
 * results.c register their cleanups the first time they have any). */
void orr_oom_on_exit(void (*fn)(void));

#endif
