/* Shared pieces of the orrery command line: verbs, formatting, progress.
 * The CLI sits above the engine, the hardware library and analysis/; it is
 * the only code that reads the wall clock, and only to show progress and
 * report wall time; nothing it reads reaches the model. */
#ifndef ORRERY_CLI_H
#define ORRERY_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "orrery/config.h"
#include "orrery/outfile.h"

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_regress(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_litmus(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_bpf(int argc, char **argv);

/* A run's trace file (cmd_run.c): open it with the scenario's header
 * (configuration, knobs, component and kind tables), and finish it with
 * the run's footer (frees w, success or not). */
struct orr_scenario;
struct orr_trace_writer;
int cli_trace_open(struct orr_scenario *sc, const char *scenario, const char *path,
                   struct orr_trace_writer **w, struct orr_diag *d);
int cli_trace_finish(struct orr_scenario *sc, struct orr_trace_writer *w);

/* Print "orrery VERB: msg" and a hint to use --help; returns ORR_EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The files a verb reads and writes, checked before it writes anything so
 * that no output clobbers an input (orr_files_check has the rules). */
struct cli_files {
    struct orr_file_use *a;
    size_t n, nAlloc;
};
void cli_files_add(struct cli_files *f, const char *path, const char *what,
                   enum orr_file_role role);
/* A loaded scenario's files: the scenario and every preset it extends. */
void cli_files_add_config(struct cli_files *f, const struct orr_config *cfg);
/* Run the check; print "orrery VERB: ..." per problem and return
 * ORR_EXIT_USAGE, or 0. Frees the list either way. */
int cli_files_check(struct cli_files *f, const char *verb);

/* The signals that stop a verb: SIGINT (Ctrl-C), SIGTERM (timeout, CI
 * cancellation) and SIGHUP (a closed terminal). main() catches them for
 * every verb: the temporary files of open outputs are removed and the
 * process dies of the signal (exit status 128 + signal). Verbs that stop
 * cleanly instead (run, sweep, regress) catch them for a while with
 * cli_catch_stop_signals. SIGHUP ignored when orrery started (nohup)
 * stays ignored; SIGINT and SIGTERM are always caught (a shell starts
 * background jobs with SIGINT ignored, and `kill -INT` must still stop
 * them). */
#define CLI_STOP_SIGNALS 3
extern const int cli_stop_signals[CLI_STOP_SIGNALS];
struct cli_saved_signals {
    struct sigaction old[CLI_STOP_SIGNALS];
    bool caught[CLI_STOP_SIGNALS];
};
void cli_catch_stop_signals(void (*handler)(int), struct cli_saved_signals *saved);
void cli_restore_stop_signals(const struct cli_saved_signals *saved);

/* Parse a non-negative decimal integer (the whole string). */
bool cli_parse_u64(const char *s, uint64_t *out);

/* Format a metric value with its unit for people: ps -> "1.234 us",
 * B -> "1.5 MiB", bit/s -> "9.87 Gbit/s", ratio -> "42.0 %". */
void cli_format_value(double v, const char *unit, char *buf, size_t n);

double cli_wall_seconds(void);

/* The progress line of every long-running verb (progress.c has the rules):
 * on stderr, only when enabled, redrawn at most ten times a second,
 *   VERB [bar]  PCT%  DONE/TOTAL UNIT  RATE  ETA mm:ss  LABEL
 * All calls are no-ops on a disabled one. */
struct cli_progress_spec {
    const char *verb;      /* the first word of the line */
    const char *unit;      /* what done and total count ("runs"); "ps" shows simulated time */
    const char *rate_unit; /* what the count of cli_progress_update counts, shown per
                              second ("ev" for events); NULL: unit */
    uint64_t total;        /* 0: unknown (no bar, no ETA) */
    uint64_t done;         /* already done before this invocation (a resumed sweep) */
};

struct cli_progress {
    bool enabled;
    bool shown; /* a line is on the terminal now */
    struct cli_progress_spec spec;
    uint64_t done, count;
    uint64_t done0, count0; /* at start: the rate and ETA measure what follows */
    double t0, last_draw;   /* last_draw 0: never drawn */
    unsigned columns;       /* the terminal's width */
    char label[128];        /* the verb's detail at the end of the line */
};

/* The rule every verb starts from: stderr is a terminal and not --quiet. */
bool cli_progress_wanted(bool quiet);
/* Start; the first update or tick draws. */
void cli_progress_start(struct cli_progress *p, bool enabled,
                        const struct cli_progress_spec *spec);
/* done units of the total so far; count is what the rate counts (a verb
 * whose rate is of its units passes done again). Redraws when due. */
void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t count);
/* Set the label (printf-style); shown from the next draw. */
void cli_progress_label(struct cli_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Redraw when due without new numbers: the ETA and rate move on while a
 * verb waits. */
void cli_progress_tick(struct cli_progress *p);
/* Erase the line, before the verb writes to the terminal. */
void cli_progress_clear(struct cli_progress *p);

/* Child orrery processes (jobs.c), for verbs that fan out runs. A job's
 * argv is the caller's (argv[0] "orrery", NULL-terminated); the pool runs
 * /proc/self/exe with it, stdout and stderr captured. */
struct cli_job {
    char **argv;
    void *user;
    /* set by the pool */
    pid_t pid;
    FILE *out, *err;
    double t0, wall;   /* wall-clock start and duration, seconds */
    int exit_code;     /* the exit status, or 128 + signal */
    char *out_text, *err_text; /* what it printed, once it ended */
};

struct cli_pool_signals; /* saved signal state, private to jobs.c */
struct cli_pool {
    char exe[4096];
    unsigned max_jobs;
    struct cli_job **aRunning;
    size_t nRunning;
    bool forwarded; /* the stop signal passed on to the running children */
    struct cli_pool_signals *sig;
    /* optional, set after cli_pool_open: called about ten times a second
     * while cli_pool_wait waits (a progress line's tick) */
    void (*idle)(void *arg);
    void *idle_arg;
};

/* Start catching the stop signals (see jobs.c); -1 if /proc/self/exe is
 * unreadable. */
int cli_pool_open(struct cli_pool *p, unsigned max_jobs);
bool cli_pool_full(const struct cli_pool *p);
/* True once a stop signal arrived: launch nothing more. */
bool cli_pool_interrupted(const struct cli_pool *p);
/* That signal (SIGINT, SIGTERM or SIGHUP), or 0. */
int cli_pool_signal(const struct cli_pool *p);
/* Start j; -1 with errno if it could not be started. */
int cli_pool_start(struct cli_pool *p, struct cli_job *j);
/* Wait for a running job to end and return it (NULL when none runs). */
struct cli_job *cli_pool_wait(struct cli_pool *p);
/* Wait for (and drop) anything still running; restore the signals. */
void cli_pool_close(struct cli_pool *p);
void cli_job_free(struct cli_job *j);
/* The first line of what the job wrote on stderr, for a summary. */
void cli_job_first_line(const struct cli_job *j, char *buf, size_t n);

/* Fields of the top-level object of a `--json` result. cli_json_find
 * returns the raw value and its length, or NULL if absent. */
const char *cli_json_find(const char *json, const char *key, size_t *len);
bool cli_json_get_str(const char *json, const char *key, char *buf, size_t n);
bool cli_json_get_i64(const char *json, const char *key, int64_t *out);
bool cli_json_get_u64(const char *json, const char *key, uint64_t *out);
size_t cli_json_array_len(const char *json, const char *key);

/* The budget options (--max-*, orrery/limits.h) of every verb that loads a
 * scenario: append CLI_LIMIT_LONGOPTS to the verb's getopt_long table, pass
 * each option to cli_limit_option, and print cli_limit_help in --help. */
enum {
    CLI_OPT_MAX_SCENARIO_SIZE = 0x4000,
    CLI_OPT_MAX_CONFIG_NODES,
    CLI_OPT_MAX_COMPONENTS,
    CLI_OPT_MAX_LINKS,
};
#define CLI_LIMIT_LONGOPTS                                                          \
    {"max-scenario-size", required_argument, NULL, CLI_OPT_MAX_SCENARIO_SIZE},      \
        {"max-config-nodes", required_argument, NULL, CLI_OPT_MAX_CONFIG_NODES},    \
        {"max-components", required_argument, NULL, CLI_OPT_MAX_COMPONENTS},        \
        {"max-links", required_argument, NULL, CLI_OPT_MAX_LINKS}
#define CLI_LIMIT_CASES                                                             \
    case CLI_OPT_MAX_SCENARIO_SIZE:                                                 \
    case CLI_OPT_MAX_CONFIG_NODES:                                                  \
    case CLI_OPT_MAX_COMPONENTS:                                                    \
    case CLI_OPT_MAX_LINKS
extern const char cli_limit_help[];
/* 1: ch was a budget option and is now in force; 0: ch is not one; -1: its
 * value is bad (a usage error naming verb is printed). */
int cli_limit_option(const char *verb, int ch, const char *arg);
/* The budget options in force that differ from the defaults, as arguments
 * for a child run: appended at av[*k] (room for 2 * CLI_LIMIT_COUNT). */
#define CLI_LIMIT_COUNT 4
void cli_limit_argv(char **av, size_t *k);

/* Online CPUs, at least 1: the default of -j. */
unsigned cli_online_cpus(void);

#endif
