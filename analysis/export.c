/* `orrery export`: open the trace, pick the format's writer, write to a
 * temporary file beside OUT (orr_outfile) and rename it into place only
 * when the whole export succeeded,
 * so a failed export never leaves a partial file under the asked-for name.
 * Also the small formatters the writers share (times, VCD
 * identifiers). */
#define _POSIX_C_SOURCE 200809L
#include "analysis/export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export_internal.h"
#include "orrery/error.h"
#include "orrery/outfile.h"

int orr_export_format_parse(const char *name, enum orr_export_format *f)
{
    static const struct { const char *name; enum orr_export_format f; } formats[] = {
        {"chrome", ORR_EXPORT_CHROME},
        {"perfetto", ORR_EXPORT_PERFETTO},
        {"ftrace", ORR_EXPORT_FTRACE},
        {"vcd", ORR_EXPORT_VCD}};
    for (size_t i = 0; name && i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(name, formats[i].name) == 0) {
            *f = formats[i].f;
            return 0;
        }
    return ORR_EINVAL;
}

int orr_export_stream(struct orr_trace_reader *r, enum orr_export_format f, FILE *out,
                      struct orr_diag *d)
{
    struct exp_ctx x;
    int rc = exp_ctx_init(&x, r, out, d);
    if (rc == 0) {
        switch (f) {
        case ORR_EXPORT_CHROME:
        case ORR_EXPORT_PERFETTO: rc = exp_chrome(&x); break;
        case ORR_EXPORT_FTRACE: rc = exp_ftrace(&x); break;
        case ORR_EXPORT_VCD: rc = exp_vcd(&x); break;
        }
    }
    exp_ctx_free(&x);
    if (rc == ORR_ENOMEM) /* every other failure has said what it was */
        orr_diag_error(d, NULL, NULL, "not enough memory to export the trace");
    return rc;
}

static int io_error(struct orr_diag *d, const char *path, const char *what)
{
    struct orr_mark mark = {path, 0, 0};
    orr_diag_error(d, &mark, NULL, "cannot %s '%s': %s", what, path, strerror(errno));
    return ORR_EIO;
}

int orr_export_file(const char *trace, enum orr_export_format f, const char *out_path,
                    struct orr_diag *d)
{
    struct orr_trace_reader *r;
    int rc = orr_trace_open(&r, trace, d);
    if (rc)
        return rc;
    if (!out_path || strcmp(out_path, "-") == 0) {
        rc = orr_export_stream(r, f, stdout, d);
        if (rc == 0 && fflush(stdout) != 0)
            rc = io_error(d, "<stdout>", "write");
        orr_trace_close(r);
        return rc;
    }
    struct orr_outfile out;
    rc = orr_outfile_open(&out, out_path, d);
    FILE *fout = rc ? NULL : orr_outfile_stream(&out);
    if (!fout) {
        orr_outfile_abort(&out);
        rc = rc ? rc : io_error(d, out_path, "create");
    } else {
        rc = orr_export_stream(r, f, fout, d);
        if (rc == 0)
            rc = orr_outfile_commit(&out, d);
        else
            orr_outfile_abort(&out);
    }
    orr_trace_close(r);
    return rc;
}

/* ------------------------------------------------------------ formatters */

void exp_fmt_us(char *buf, orr_time_t ps)
{
    snprintf(buf, 32, "%" PRIu64 ".%06" PRIu64, (uint64_t)(ps / ORR_US), (uint64_t)(ps % ORR_US));
}

void exp_fmt_sec(char *buf, orr_time_t ps)
{
    snprintf(buf, 32, "%" PRIu64 ".%06" PRIu64, (uint64_t)(ps / ORR_S),
             (uint64_t)(ps % ORR_S / ORR_US));
}

void exp_vcd_id(char *buf, uint32_t n)
{
    size_t i = 0;
    do {
        buf[i++] = (char)(33 + n % 94);
        n /= 94;
    } while (n && i < 7);
    buf[i] = 0;
}

void exp_vcd_bin(char *buf, uint64_t v)
{
    int top = 63;
    while (top > 0 && !(v >> top & 1))
        top--;
    size_t i = 0;
    for (int b = top; b >= 0; b--)
        buf[i++] = (char)('0' + (v >> b & 1));
    buf[i] = 0;
}

void exp_vcd_name(char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            *s = '_';
}
