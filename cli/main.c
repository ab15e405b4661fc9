/* orrery: the command-line entry point; dispatches to one verb per file. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "orrery/error.h"
#include "orrery/outfile.h"
#include "orrery/version.h"

static const char main_help[] =
    "Usage: orrery VERB [options]\n"
    "\n"
    "Orrery is a deterministic full-system simulator. Verbs:\n"
    "  run        run a scenario; summary, digest, results DB, optional trace\n"
    "  exec       run a static riscv64/aarch64 Linux program on a modelled machine\n"
    "  validate   check scenarios without running them\n"
    "  diff       compare two traces; show the first divergent event\n"
    "  export     convert a trace: Perfetto/Chrome JSON, ftrace text, VCD\n"
    "  graph      draw a scenario's machine or a coherence protocol (Graphviz)\n"
    "  list       component types with their keys, and the scenarios\n"
    "  sweep      run a scenario over a grid of overrides, in parallel, into the DB\n"
    "  regress    run a folder of scenarios against golden digests and budgets\n"
    "  report     the results DB as a table, CSV or an HTML page with sweep charts\n"
    "  litmus     run litmus tests on the modelled machine; check TSO expectations\n"
    "  explore    search seeds with random faults for a failure; replay and shrink it\n"
    "  bpf        verify eBPF objects (clang -target bpf) as the kernel does; run them\n"
    "\n"
    "'orrery VERB --help' explains a verb. 'orrery --version' prints the build.\n"
    "Exit status: 0 success; 1 a check or diff failed; 2 bad input or usage.\n";

struct verb {
    const char *name;
    int (*fn)(int, char **);
};

static const struct verb verbs[] = {
    {"run", cmd_run},
    {"exec", cmd_exec},
    {"validate", cmd_validate},
    {"diff", cmd_diff},
    {"export", cmd_export},
    {"graph", cmd_graph},
    {"list", cmd_list},
    {"sweep", cmd_sweep},
    {"regress", cmd_regress},
    {"report", cmd_report},
    {"litmus", cmd_litmus},
    {"explore", cmd_explore},
    {"bpf", cmd_bpf},
};

static void print_help(FILE *out)
{
    fputs(main_help, out);
}

/* A stop signal outside a verb's own handling: remove the temporary files
 * of open outputs, then die of the signal (async-signal-safe calls only). */
static void on_stop_signal(int sig)
{
    orr_outfile_remove_temporaries();
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv)
{
    struct cli_saved_signals saved; /* kept for the process's lifetime */
    cli_catch_stop_signals(on_stop_signal, &saved);
    if (argc < 2) {
        print_help(stderr);
        return ORR_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return ORR_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s\n", orr_build_id());
        return ORR_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "orrery: unknown verb '%s'\n\n", argv[1]);
    print_help(stderr);
    return ORR_EXIT_USAGE;
}
