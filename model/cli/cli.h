/* Shared pieces of the orrery command line: verbs, formatting, progress.
 * The CLI is the only part of model/ that reads the wall clock, and only to
 * show progress and report wall time; nothing it reads reaches the model. */
#ifndef ORRERY_CLI_H
#define ORRERY_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "orrery/sim.h"

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_list(int argc, char **argv);

/* Print "orrery VERB: msg" and a hint to use --help; returns ORR_EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a non-negative decimal integer (the whole string). */
bool cli_parse_u64(const char *s, uint64_t *out);

/* Format a metric value with its unit for people: ps -> "1.234 us",
 * B -> "1.5 MiB", bit/s -> "9.87 Gbit/s", ratio -> "42.0 %". */
void cli_format_value(double v, const char *unit, char *buf, size_t n);

double cli_wall_seconds(void);

/* A progress bar on stderr, redrawn at most ten times a second. */
struct cli_progress {
    bool enabled;
    double t0, last_draw;
    uint64_t last_events;
    double last_t;
    double rate; /* events/s, smoothed */
    volatile int *interrupted;
};
void cli_progress_init(struct cli_progress *p, bool enabled, volatile int *interrupted);
int cli_progress_hook(void *arg, const struct orr_sim *s); /* orr_run_hooks.progress */
void cli_progress_clear(struct cli_progress *p);

#endif
