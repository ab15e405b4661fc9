/* The progress line every long-running verb draws on stderr (`run`,
 * `sweep`, `regress`, `litmus`), so they look and behave alike:
 *
 *   VERB [########............]  40%  4/10 runs  2.1 runs/s  ETA 00:03  LABEL
 *
 * Rules, the same for every verb (docs/cli.md):
 *   1. Drawn only when the verb enables it: stderr is a terminal and
 *      --quiet is not given (cli_progress_wanted), plus any condition of
 *      the verb's own (`run` also wants stdout on a terminal and no --json,
 *      `regress` no --json).
 *      Disabled, every call is a no-op, so stdout and files never depend on
 *      it.
 *   2. Redrawn at most ten times a second, however often it is updated: the
 *      first update or tick draws it, later ones only once DRAW_INTERVAL has
 *      passed (work that ends before its first update shows nothing).
 *   3. One line, rewritten in place ("\r", then erase to the end of the line
 *      once written), fitted to the terminal's width so it never wraps.
 *   4. Cleared (cli_progress_clear) before the verb writes anything else to
 *      the terminal; the next update draws it again.
 * The rate and ETA measure this invocation's work: units done before it
 * (a resumed sweep's runs) fill the bar but are not counted as speed. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

#define DRAW_INTERVAL 0.1 /* seconds */
#define BAR_WIDTH 20

bool cli_progress_wanted(bool quiet) { return !quiet && isatty(STDERR_FILENO); }

static unsigned terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

void cli_progress_start(struct cli_progress *p, bool enabled, const struct cli_progress_spec *spec)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    if (!enabled)
        return;
    p->spec = *spec;
    if (!p->spec.rate_unit)
        p->spec.rate_unit = p->spec.unit;
    p->done = p->done0 = p->count = p->count0 = spec->done;
    p->t0 = cli_wall_seconds();
    p->columns = terminal_columns();
}

void cli_progress_label(struct cli_progress *p, const char *fmt, ...)
{
    if (!p->enabled)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->label, sizeof p->label, fmt, ap);
    va_end(ap);
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

/* "12.3 Mev/s", "2.5 runs/s", "850 kev/s": three digits at most before
 * the point, never an exponent. */
static void fmt_rate(double r, const char *unit, char *buf, size_t n)
{
    const char *prefix = "";
    if (r >= 1e6)
        r /= 1e6, prefix = "M";
    else if (r >= 1e5)
        r /= 1e3, prefix = "k";
    snprintf(buf, n, r < 100 ? "%.3g %s%s/s" : "%.0f %s%s/s", r, prefix, unit);
}

/* "4/10 runs", or simulated time "4.2 ms / 10 ms" for unit "ps"; without a
 * total just the amount done. */
static void fmt_amount(const struct cli_progress *p, char *buf, size_t n)
{
    const struct cli_progress_spec *s = &p->spec;
    if (strcmp(s->unit, "ps") == 0) {
        char done[32], total[32];
        cli_format_value((double)p->done, "ps", done, sizeof done);
        cli_format_value((double)s->total, "ps", total, sizeof total);
        if (s->total)
            snprintf(buf, n, "%s / %s", done, total);
        else
            snprintf(buf, n, "%s", done);
    } else if (s->total) {
        snprintf(buf, n, "%llu/%llu %s", (unsigned long long)p->done,
                 (unsigned long long)s->total, s->unit);
    } else {
        snprintf(buf, n, "%llu %s", (unsigned long long)p->done, s->unit);
    }
}

/* Cut the line at the terminal's last column but one (so the cursor never
 * wraps), never inside a UTF-8 sequence. */
static void clip(char *line, unsigned columns)
{
    size_t max = columns - 1, len = strlen(line);
    if (len <= max)
        return;
    while (max && ((unsigned char)line[max] & 0xC0) == 0x80)
        max--;
    line[max] = 0;
}

/* The numbers after the bar: "40%  4/10 runs  2.1 runs/s  ETA 00:03"
 * (with a total) or "4 runs  2.1 runs/s". */
static void fmt_tail(const struct cli_progress *p, double now, char *buf, size_t n)
{
    const struct cli_progress_spec *s = &p->spec;
    char amount[96], rate[48] = "", eta[16] = "", pct[8] = "";
    double elapsed = now - p->t0;
    fmt_amount(p, amount, sizeof amount);
    if (elapsed > 0 && p->count > p->count0)
        fmt_rate((double)(p->count - p->count0) / elapsed, s->rate_unit, rate, sizeof rate);
    if (s->total) {
        uint64_t ran = p->done - p->done0;
        snprintf(pct, sizeof pct, "%3.0f%%  ", 100.0 * (double)p->done / (double)s->total);
        strcpy(eta, "ETA ");
        fmt_eta(ran ? elapsed * (double)(s->total - p->done) / (double)ran : -1, eta + 4,
                sizeof eta - 4);
    }
    snprintf(buf, n, "%s%s%s%s%s%s", pct, amount, *rate ? "  " : "", rate, *eta ? "  " : "",
             eta);
}

/* VERB [bar] NUMBERS  LABEL. The bar is left out when the numbers would
 * not fit beside it; the label comes last and is what gets clipped, so the
 * line does not jump about as labels change. */
static void draw(struct cli_progress *p, double now)
{
    char line[512], tail[400];
    fmt_tail(p, now, tail, sizeof tail);
    int len = snprintf(line, sizeof line, "%s ", p->spec.verb);
    bool fits = len + BAR_WIDTH + 3 + strlen(tail) < p->columns;
    if (p->spec.total && fits) {
        int fill = (int)(BAR_WIDTH * (double)p->done / (double)p->spec.total);
        line[len++] = '[';
        for (int i = 0; i < BAR_WIDTH; i++)
            line[len++] = i < fill ? '#' : '.';
        line[len++] = ']';
        line[len++] = ' ';
    }
    snprintf(line + len, sizeof line - (size_t)len, "%s%s%s", tail, *p->label ? "  " : "",
             p->label);
    clip(line, p->columns);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    p->shown = true;
    p->last_draw = now;
}

void cli_progress_tick(struct cli_progress *p)
{
    if (!p->enabled)
        return;
    double now = cli_wall_seconds();
    if (p->last_draw == 0 || now - p->last_draw >= DRAW_INTERVAL)
        draw(p, now);
}

void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t count)
{
    if (!p->enabled)
        return;
    p->done = done > p->spec.total && p->spec.total ? p->spec.total : done;
    p->count = count;
    cli_progress_tick(p);
}

void cli_progress_clear(struct cli_progress *p)
{
    if (!p->enabled || !p->shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = false;
}
