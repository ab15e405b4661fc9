/* `orrery graph`: draw a scenario's machine, or a coherence protocol's
 * state machine, with Graphviz (the rendering is analysis/graph.c). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/graph.h"
#include "cli.h"
#include "hw/registry.h"
#include "orrery/error.h"
#include "orrery/fsm.h"
#include "orrery/scenario.h"

static const char graph_help[] =
    "Usage: orrery graph SCENARIO.yaml [-o FILE] [--format FMT] [--set KEY=VALUE]...\n"
    "       orrery graph --protocol NAME [--home] [-o FILE] [--format FMT]\n"
    "\n"
    "Draw a picture with Graphviz. With a scenario: its machine, built but not\n"
    "run: one box per component (name and type; nested clusters from the dotted\n"
    "paths such as sock0.core0), one line per link labelled with its latency\n"
    "and bandwidth. With --protocol: a coherence protocol's cache-controller\n"
    "state machine read from its tables (stable states as double circles,\n"
    "transient states as boxes, EVENT / actions on the edges; stalls and\n"
    "impossible cells left out); --home draws the home agent's directory instead.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   write FILE (via FILE.tmp.PID, renamed when complete);\n"
    "                      default: standard output\n"
    "  --format FMT        svg, svg-inline, png or dot; default from FILE's\n"
    "                      extension (.svg .png .dot .gv), else svg\n"
    "  --set KEY=VALUE     override a scenario key first (repeatable)\n"
    "  --protocol NAME     a protocol (mesi-dir, moesi-snoop, ...) or a family\n"
    "                      (msi, mesi, moesi: its directory variant)\n"
    "  --home              with --protocol: the home agent's plan\n"
    "  --help, -h          this text\n"
    "\n"
    "Exit status: 0 written; 2 bad input or usage, or FILE could not be written.\n";

/* Write len bytes to path via a temporary file and rename; false (and
 * nothing left behind) on failure. */
static bool write_file(const char *path, const char *data, size_t len)
{
    struct orr_diag d;
    struct orr_outfile out;
    orr_diag_init(&d);
    int rc = orr_outfile_open(&out, path, &d);
    FILE *f = rc ? NULL : orr_outfile_stream(&out);
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (ok)
        ok = orr_outfile_commit(&out, &d) == 0;
    else
        orr_outfile_abort(&out);
    if (!ok) {
        fprintf(stderr, "orrery graph: cannot write '%s'\n", path);
        orr_diag_print(&d, stderr);
    }
    orr_diag_free(&d);
    return ok;
}

static int draw_protocol(const char *name, bool home, const char *format, char **out,
                         size_t *len, struct orr_diag *d)
{
    const struct orr_fsm_source *src = orr_builtin_fsms;
    while (src->kind && strcmp(src->kind, "protocol") != 0)
        src++;
    if (!src->kind) {
        fprintf(stderr, "orrery graph: this build has no protocol tables\n");
        return ORR_EXIT_USAGE;
    }
    struct orr_fsm f;
    char err[512];
    if (src->build(name, home ? "home" : NULL, &f, err, sizeof err) != 0) {
        fprintf(stderr, "orrery graph: %s\n", err);
        return ORR_EXIT_USAGE;
    }
    int rc = orr_graph_fsm(&f, format, out, len, d);
    orr_fsm_free(&f);
    return rc ? ORR_EXIT_USAGE : ORR_EXIT_OK;
}

static int draw_scenario(const char *path, const char *const *sets, size_t nset,
                         const char *format, const char *output, char **out, size_t *len,
                         struct orr_diag *d)
{
    struct orr_scenario sc;
    if (orr_scenario_open(&sc, path, sets, nset, NULL, orr_builtin_types, d) != 0) {
        orr_scenario_close(&sc);
        return ORR_EXIT_USAGE;
    }
    struct cli_files files = {0};
    cli_files_add_config(&files, &sc.cfg);
    cli_files_add(&files, output, "the output", ORR_FILE_OUTPUT);
    if (cli_files_check(&files, "graph")) {
        orr_scenario_close(&sc);
        return ORR_EXIT_USAGE;
    }
    const char *name = sc.name ? sc.name : path;
    size_t n = strlen(name) + (sc.description ? strlen(sc.description) : 0) + 3;
    char *title = malloc(n);
    if (!title)
        orr_oom();
    snprintf(title, n, "%s%s%s", name, sc.description ? ": " : "",
             sc.description ? sc.description : "");
    int rc = orr_graph_topology(sc.sim, title, format, out, len, d);
    free(title);
    orr_scenario_close(&sc);
    return rc ? ORR_EXIT_USAGE : ORR_EXIT_OK;
}

int cmd_graph(int argc, char **argv)
{
    enum { OPT_SET = 256, OPT_FORMAT, OPT_PROTOCOL, OPT_HOME };
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"format", required_argument, NULL, OPT_FORMAT},
                                             {"set", required_argument, NULL, OPT_SET},
                                             {"protocol", required_argument, NULL, OPT_PROTOCOL},
                                             {"home", no_argument, NULL, OPT_HOME},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_LIMIT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t nset = 0;
    const char *output = NULL, *format = NULL, *protocol = NULL;
    bool home = false;
    int ch, rc = ORR_EXIT_USAGE;
    if (!sets)
        orr_oom();
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': output = optarg; break;
        case OPT_FORMAT: format = optarg; break;
        case OPT_SET: sets[nset++] = optarg; break;
        case OPT_PROTOCOL: protocol = optarg; break;
        case OPT_HOME: home = true; break;
        CLI_LIMIT_CASES:
            if (cli_limit_option("graph", ch, optarg) < 0) {
                free(sets);
                return ORR_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(graph_help, stdout), fputs(cli_limit_help, stdout);
            free(sets);
            return ORR_EXIT_OK;
        case ':':
            free(sets);
            return cli_usage_error("graph", "option '%s' needs a value", argv[optind - 1]);
        default:
            free(sets);
            return cli_usage_error("graph", "unknown option '%s'", argv[optind - 1]);
        }
    }
    const char *why = NULL;
    if (protocol && optind < argc)
        why = "give a SCENARIO or --protocol, not both";
    else if (!protocol && optind >= argc)
        why = "missing SCENARIO.yaml (or --protocol NAME)";
    else if (!protocol && optind + 1 < argc)
        why = "one SCENARIO at a time";
    else if (home && !protocol)
        why = "--home goes with --protocol";
    else if (protocol && nset)
        why = "--set applies to a scenario, not to --protocol";
    if (!format && output) {
        format = orr_graph_format_for_path(output);
        if (!format && !why)
            why = "cannot tell the format from the file name; use --format svg|png|dot";
    }
    if (!format)
        format = "svg";
    if (!why && !orr_graph_format_known(format))
        why = "unknown --format; expected svg, svg-inline, png or dot";
    if (why) {
        free(sets);
        return cli_usage_error("graph", "%s", why);
    }

    struct orr_diag d;
    orr_diag_init(&d);
    char *data = NULL;
    size_t len = 0;
    struct cli_files files = {0};
    cli_files_add(&files, protocol ? output : NULL, "the output", ORR_FILE_OUTPUT);
    if (cli_files_check(&files, "graph")) {
        free(sets);
        return ORR_EXIT_USAGE;
    }
    rc = protocol ? draw_protocol(protocol, home, format, &data, &len, &d)
                  : draw_scenario(argv[optind], sets, nset, format, output, &data, &len, &d);
    orr_diag_print(&d, stderr);
    if (rc == ORR_EXIT_OK) {
        if (output && strcmp(output, "-") != 0)
            rc = write_file(output, data, len) ? ORR_EXIT_OK : ORR_EXIT_USAGE;
        else if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            rc = ORR_EXIT_USAGE;
    }
    free(data);
    orr_diag_free(&d);
    free(sets);
    return rc;
}
