/* `orrery diff A B`: compare two traces and name the first divergent event
 * (the work is done by analysis/diff.c). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>

#include "analysis/diff.h"
#include "cli.h"
#include "orrery/error.h"

static const char diff_help[] =
    "Usage: orrery diff A.trace B.trace [options]\n"
    "\n"
    "Compare two traces. Bisects the digest checkpoints to the first divergent\n"
    "event, prints it with context from both traces, then per-component event\n"
    "count deltas and metric deltas.\n"
    "\n"
    "Options:\n"
    "  --context N   records of context before and after (default 5)\n"
    "  --json        print the comparison as one JSON object\n"
    "  --help, -h    this text\n"
    "\n"
    "Exit status: 0 identical; 1 the traces diverge; 2 bad usage, or a missing,\n"
    "truncated or corrupt trace.\n";

int cmd_diff(int argc, char **argv)
{
    enum { OPT_CONTEXT = 256, OPT_JSON };
    static const struct option longopts[] = {{"context", required_argument, NULL, OPT_CONTEXT},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct orr_diff_opts o = {.context = 5, .json = false};
    uint64_t ctx;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_CONTEXT:
            if (!cli_parse_u64(optarg, &ctx) || ctx > 1000)
                return cli_usage_error("diff", "--context expects an integer 0..1000, got '%s'",
                                       optarg);
            o.context = (unsigned)ctx;
            break;
        case OPT_JSON: o.json = true; break;
        case 'h': fputs(diff_help, stdout); return ORR_EXIT_OK;
        case ':': return cli_usage_error("diff", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("diff", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("diff", "expected two trace files, got %d", argc - optind);
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_diff_run(argv[optind], argv[optind + 1], &o, stdout, &d);
    if (rc < 0)
        orr_diag_print(&d, stderr);
    orr_diag_free(&d);
    return rc < 0 ? ORR_EXIT_USAGE : rc == 0 ? ORR_EXIT_OK : ORR_EXIT_FAILED;
}
