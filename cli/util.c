/* Small helpers shared by the CLI verbs: usage errors, the files check,
 * number parsing, human-readable values and the wall clock. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "orrery/error.h"

int cli_usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "orrery %s: ", verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'orrery %s --help'.\n", verb);
    return ORR_EXIT_USAGE;
}

void cli_files_add(struct cli_files *f, const char *path, const char *what,
                   enum orr_file_role role)
{
    if (!path)
        return;
    if (f->n == f->nAlloc) {
        f->nAlloc = f->nAlloc ? 2 * f->nAlloc : 8;
        f->a = realloc(f->a, f->nAlloc * sizeof *f->a);
        if (!f->a)
            orr_oom();
    }
    f->a[f->n++] = (struct orr_file_use){path, what, role};
}

void cli_files_add_config(struct cli_files *f, const struct orr_config *cfg)
{
    for (size_t i = 0; i < cfg->nFile; i++)
        cli_files_add(f, cfg->aFile[i], i ? "the preset" : "the scenario", ORR_FILE_INPUT);
}

int cli_files_check(struct cli_files *f, const char *verb)
{
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_files_check(f->a, f->n, &d) ? ORR_EXIT_USAGE : 0;
    for (size_t i = 0; i < d.nMsg; i++)
        fprintf(stderr, "orrery %s: %s\n", verb, d.aMsg[i].text);
    orr_diag_free(&d);
    free(f->a);
    memset(f, 0, sizeof *f);
    return rc;
}

const int cli_stop_signals[CLI_STOP_SIGNALS] = {SIGINT, SIGTERM, SIGHUP};

void cli_catch_stop_signals(void (*handler)(int), struct cli_saved_signals *saved)
{
    struct sigaction sa = {.sa_handler = handler};
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < CLI_STOP_SIGNALS; i++) {
        struct sigaction now;
        saved->caught[i] = false;
        if (sigaction(cli_stop_signals[i], NULL, &now) != 0 ||
            (cli_stop_signals[i] == SIGHUP && now.sa_handler == SIG_IGN))
            continue;
        saved->caught[i] = sigaction(cli_stop_signals[i], &sa, &saved->old[i]) == 0;
    }
}

void cli_restore_stop_signals(const struct cli_saved_signals *saved)
{
    for (int i = 0; i < CLI_STOP_SIGNALS; i++)
        if (saved->caught[i])
            sigaction(cli_stop_signals[i], &saved->old[i], NULL);
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static void scaled(double v, const char *const *names, const double *steps, size_t n, char *buf,
                   size_t len)
{
    size_t i = 0;
    while (i + 1 < n && fabs(v) >= steps[i + 1])
        i++;
    double x = v / steps[i];
    if (x == floor(x) && fabs(x) < 1e15)
        snprintf(buf, len, "%.0f %s", x, names[i]);
    else
        snprintf(buf, len, "%.4g %s", x, names[i]);
}

void cli_format_value(double v, const char *unit, char *buf, size_t n)
{
    static const char *const tn[] = {"ps", "ns", "us", "ms", "s"};
    static const double ts[] = {1, 1e3, 1e6, 1e9, 1e12};
    static const char *const bn[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    static const double bs[] = {1, 1024.0, 1048576.0, 1073741824.0, 1099511627776.0};
    static const char *const rn[] = {"bit/s", "Kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
    static const double rs[] = {1, 1e3, 1e6, 1e9, 1e12};
    if (strcmp(unit, "ps") == 0)
        scaled(v, tn, ts, 5, buf, n);
    else if (strcmp(unit, "B") == 0)
        scaled(v, bn, bs, 5, buf, n);
    else if (strcmp(unit, "bit/s") == 0)
        scaled(v, rn, rs, 5, buf, n);
    else if (strcmp(unit, "ratio") == 0)
        snprintf(buf, n, "%.1f %%", v * 100.0);
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f%s%s", v, *unit ? " " : "", unit);
    else
        snprintf(buf, n, "%.6g%s%s", v, *unit ? " " : "", unit);
}

double cli_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
