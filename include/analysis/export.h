/* The engine of `orrery export TRACE --format F`: turn a trace into a file a
 * viewer opens — Chrome/Perfetto trace JSON, ftrace text (sched_switch /
 * sched_wakeup) or a VCD waveform. Streams the trace segment by segment
 * (one or two passes); docs/export.md describes every format. */
#ifndef ORRERY_ANALYSIS_EXPORT_H
#define ORRERY_ANALYSIS_EXPORT_H

#include <stdio.h>

#include "orrery/diag.h"
#include "orrery/trace.h"

enum orr_export_format {
    ORR_EXPORT_CHROME,   /* Chrome Trace Event JSON (object format) */
    ORR_EXPORT_PERFETTO, /* alias of CHROME: Perfetto's UI imports that JSON */
    ORR_EXPORT_FTRACE,   /* Linux ftrace text, `# tracer: nop` */
    ORR_EXPORT_VCD,      /* IEEE 1364 value change dump, 1 ps timescale */
};

/* "chrome", "perfetto", "ftrace", "vcd" -> format; ORR_EINVAL otherwise. */
int orr_export_format_parse(const char *name, enum orr_export_format *f);

/* Export the trace at path to out_path (NULL or "-": stdout). A file is
 * written as out_path.tmp and renamed into place when complete; on any
 * error it is removed. Returns 0, or a negative ORR_E* code with a message
 * in d (the reader's for a missing, truncated or corrupt trace). */
int orr_export_file(const char *trace, enum orr_export_format f, const char *out_path,
                    struct orr_diag *d);

/* Export from an open reader to out. Same errors; what was written to out
 * before an error is incomplete. */
int orr_export_stream(struct orr_trace_reader *r, enum orr_export_format f, FILE *out,
                      struct orr_diag *d);

#endif
