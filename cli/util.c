/* Small helpers shared by the CLI verbs: usage errors, number parsing,
 * human-readable values and the progress bar. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
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

void cli_progress_init(struct cli_progress *p, bool enabled, volatile int *interrupted)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->t0 = p->last_draw = p->last_t = cli_wall_seconds();
    p->interrupted = interrupted;
}

static void fmt_eta(double secs, char *buf, size_t n)
{
    if (!(secs >= 0) || secs > 359999)
        snprintf(buf, n, "--:--");
    else if (secs >= 3600)
        snprintf(buf, n, "%dh%02dm", (int)secs / 3600, ((int)secs / 60) % 60);
    else
        snprintf(buf, n, "%02d:%02d", (int)secs / 60, (int)secs % 60);
}

int cli_progress_hook(void *arg, const struct orr_sim *s)
{
    struct cli_progress *p = arg;
    if (p->interrupted && *p->interrupted)
        return 1;
    if (!p->enabled)
        return 0;
    double now = cli_wall_seconds();
    if (now - p->last_draw < 0.1)
        return 0;
    uint64_t ev = orr_sim_events(s);
    double inst = (double)(ev - p->last_events) / (now - p->last_t);
    p->rate = p->rate ? 0.7 * p->rate + 0.3 * inst : inst;
    p->last_events = ev;
    p->last_t = p->last_draw = now;

    orr_time_t t = orr_now(s), end = orr_sim_stop_time(s);
    char simt[32], endt[32], eta[16], bar[31];
    cli_format_value((double)t, "ps", simt, sizeof simt);
    double frac = end ? (double)t / (double)end : -1;
    double elapsed = now - p->t0;
    fmt_eta(frac > 0 ? elapsed * (1 - frac) / frac : -1, eta, sizeof eta);
    if (frac >= 0) {
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        cli_format_value((double)end, "ps", endt, sizeof endt);
        fprintf(stderr, "\r[%s] %3.0f%%  sim %s / %s  %.3g Mev/s  ETA %s\033[K", bar, frac * 100,
                simt, endt, p->rate / 1e6, eta);
    } else {
        fprintf(stderr, "\rsim %s  %llu events  %.3g Mev/s\033[K", simt, (unsigned long long)ev,
                p->rate / 1e6);
    }
    fflush(stderr);
    return 0;
}

void cli_progress_clear(struct cli_progress *p)
{
    if (p->enabled && p->last_events) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}
