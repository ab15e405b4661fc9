/* orrery: the command-line entry point; dispatches to one verb per file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "orrery/error.h"
#include "orrery/version.h"

static const char main_help[] =
    "Usage: orrery VERB [options]\n"
    "\n"
    "Orrery is a deterministic full-system simulator. Verbs:\n"
    "  run        run a scenario; summary, digest, results DB, optional trace\n"
    "  validate   check scenarios without running them\n"
    "  diff       compare two traces; show the first divergent event\n"
    "  list       component types with their keys, and the scenarios\n"
    "\n"
    "'orrery VERB --help' explains a verb. 'orrery --version' prints the build.\n"
    "Exit status: 0 success; 1 a check or diff failed; 2 bad input or usage.\n";

struct verb {
    const char *name;
    int (*fn)(int, char **);
};

static const struct verb verbs[] = {
    {"run", cmd_run},
    {"validate", cmd_validate},
    {"diff", cmd_diff},
    {"list", cmd_list},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return ORR_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(main_help, stdout);
        return ORR_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s\n", orr_build_id());
        return ORR_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "orrery: unknown verb '%s'\n\n%s", argv[1], main_help);
    return ORR_EXIT_USAGE;
}
