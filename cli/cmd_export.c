/* `orrery export TRACE --format F [-o FILE]`: convert a trace for a viewer
 * (the work is done by analysis/export*.c; docs/export.md). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>

#include "analysis/export.h"
#include "cli.h"
#include "orrery/error.h"

static const char export_help[] =
    "Usage: orrery export TRACE --format FORMAT [-o FILE]\n"
    "\n"
    "Convert a trace (orrery run --trace) for other tools. Formats:\n"
    "  chrome    Chrome Trace Event JSON: a process per component, an event per\n"
    "            record, counters per trace point and link, message flows from\n"
    "            sender to receiver (chrome://tracing, ui.perfetto.dev)\n"
    "  perfetto  the same JSON (an alias: Perfetto's UI imports it directly)\n"
    "  ftrace    Linux ftrace text with the scheduler's sched_switch and\n"
    "            sched_wakeup lines (trace-cmd / kernel tracing format)\n"
    "  vcd       IEEE 1364 VCD, 1 ps timescale: a scope per component, a 64-bit\n"
    "            wire per record kind (value: the record's `a`), link\n"
    "            utilisation (GTKWave, Surfer)\n"
    "\n"
    "Options:\n"
    "  --format, -f F   one of chrome, perfetto, ftrace, vcd (required)\n"
    "  --output, -o F   write to FILE (as FILE.tmp.PID, renamed when complete;\n"
    "                   never the trace itself or a device);\n"
    "                   default or '-': standard output\n"
    "  --help, -h       this text\n"
    "\n"
    "The trace is streamed (a segment at a time), never loaded whole.\n"
    "\n"
    "Exit status: 0 exported; 2 bad usage, a missing, truncated or corrupt\n"
    "trace, or an output file that could not be written (no FILE is left).\n";

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *format = NULL, *output = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f': format = optarg; break;
        case 'o': output = optarg; break;
        case 'h': fputs(export_help, stdout); return ORR_EXIT_OK;
        case ':': return cli_usage_error("export", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("export", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("export", "expected one trace file, got %d", argc - optind);
    enum orr_export_format f;
    if (!format)
        return cli_usage_error("export", "missing --format (chrome, perfetto, ftrace or vcd)");
    if (orr_export_format_parse(format, &f))
        return cli_usage_error("export", "unknown format '%s' (chrome, perfetto, ftrace or vcd)",
                               format);
    struct cli_files files = {0};
    cli_files_add(&files, argv[optind], "the trace", ORR_FILE_INPUT);
    cli_files_add(&files, output, "the output", ORR_FILE_OUTPUT);
    if (cli_files_check(&files, "export"))
        return ORR_EXIT_USAGE;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_export_file(argv[optind], f, output, &d);
    if (rc)
        orr_diag_print(&d, stderr);
    orr_diag_free(&d);
    return rc ? ORR_EXIT_USAGE : ORR_EXIT_OK;
}
