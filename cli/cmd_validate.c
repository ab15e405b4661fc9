/* `orrery validate`: load, check and build a scenario without running it. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hw/registry.h"
#include "orrery/error.h"
#include "orrery/json.h"
#include "orrery/scenario.h"

static const char validate_help[] =
    "Usage: orrery validate SCENARIO.yaml... [options]\n"
    "\n"
    "Check scenarios without running them: YAML syntax, presets, every key\n"
    "against its schema, units, component and port names, links and faults.\n"
    "Errors are printed as file:line:col: error: key.path: what was expected.\n"
    "\n"
    "Options:\n"
    "  --set KEY=VALUE   apply an override first (repeatable)\n"
    "  --json            print {\"valid\": ..., \"errors\": [...]} per file\n"
    "  --quiet, -q       print nothing on success\n"
    "  --help, -h        this text\n"
    "\n"
    "Exit status: 0 all valid; 2 any invalid (or bad usage).\n";

static void print_json(const char *path, const struct orr_scenario *sc, bool ok,
                       const struct orr_diag *d, struct orr_json *j)
{
    orr_json_obj_begin(j);
    orr_json_key(j, "scenario"), orr_json_str(j, path);
    orr_json_key(j, "valid"), orr_json_bool(j, ok);
    if (ok) {
        orr_json_key(j, "components"), orr_json_u64(j, orr_sim_component_count(sc->sim));
        orr_json_key(j, "scenario_hash"), orr_json_hex64(j, sc->hash);
    }
    orr_json_key(j, "errors");
    orr_json_arr_begin(j);
    for (size_t i = 0; i < d->nMsg; i++) {
        char buf[1024];
        orr_diag_format(&d->aMsg[i], buf, sizeof buf);
        orr_json_str(j, buf);
    }
    orr_json_arr_end(j);
    orr_json_obj_end(j);
}

int cmd_validate(int argc, char **argv)
{
    enum { OPT_SET = 256, OPT_JSON };
    static const struct option longopts[] = {{"set", required_argument, NULL, OPT_SET},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_LIMIT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t nset = 0;
    bool json = false, quiet = false;
    int ch, exit_code = ORR_EXIT_OK;
    if (!sets)
        orr_oom();
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_SET: sets[nset++] = optarg; break;
        case OPT_JSON: json = true; break;
        case 'q': quiet = true; break;
        CLI_LIMIT_CASES:
            if (cli_limit_option("validate", ch, optarg) < 0) {
                free(sets);
                return ORR_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(validate_help, stdout), fputs(cli_limit_help, stdout);
            free(sets);
            return ORR_EXIT_OK;
        case ':':
            free(sets);
            return cli_usage_error("validate", "option '%s' needs a value", argv[optind - 1]);
        default:
            free(sets);
            return cli_usage_error("validate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        free(sets);
        return cli_usage_error("validate", "missing SCENARIO.yaml");
    }
    struct orr_json j;
    orr_json_init(&j, stdout, true);
    if (json)
        orr_json_arr_begin(&j);
    for (int i = optind; i < argc; i++) {
        struct orr_scenario sc;
        struct orr_diag d;
        orr_diag_init(&d);
        bool ok = orr_scenario_open(&sc, argv[i], sets, nset, NULL, orr_builtin_types, &d) == 0;
        if (json) {
            print_json(argv[i], &sc, ok, &d, &j);
        } else if (!ok) {
            orr_diag_print(&d, stderr);
        } else if (!quiet) {
            printf("%s: ok (%zu components)\n", argv[i], orr_sim_component_count(sc.sim));
        }
        if (!ok)
            exit_code = ORR_EXIT_USAGE;
        orr_scenario_close(&sc);
        orr_diag_free(&d);
    }
    if (json) {
        orr_json_arr_end(&j);
        orr_json_end(&j);
    }
    free(sets);
    return exit_code;
}
