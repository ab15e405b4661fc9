/* `orrery exec`: run one static Linux program (riscv64 or aarch64) as a
 * process of the reference kernel on an ISA core of a modelled machine
 * (docs/exec.md). Like qemu-user: the program's stdout and stderr become
 * ours, its exit status ours; a timing summary goes to stderr.
 *
 * The run is an ordinary scenario, written for the program (the machine
 * preset it extends, one `elf:` workload with abi linux, argv, env) and
 * run like `orrery run` does, so it is stored in the results DB with its
 * identity and digest. Our own failures exit 125 (EXEC_EXIT_SELF), which
 * a program's status can never be mistaken for only if it does not exit
 * 125 itself — qemu-user and env(1) make the same trade. */
#define _DEFAULT_SOURCE /* realpath, mkstemps */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hw/elf.h"
#include "hw/isacore.h"
#include "hw/registry.h"
#include "orrery/error.h"
#include "orrery/results.h"
#include "orrery/scenario.h"
#include "orrery/version.h"

#define EXEC_EXIT_SELF 125

static const char exec_help[] =
    "Usage: orrery exec [options] PROGRAM [ARG...]\n"
    "\n"
    "Run a static riscv64 or aarch64 Linux program (built with -static) on a\n"
    "modelled machine, as a process of the reference kernel on an ISA core.\n"
    "Its stdout and stderr are ours, its exit status is ours (128 + n when a\n"
    "signal killed it: 139 for SIGSEGV); a timing summary goes to stderr.\n"
    "\n"
    "Options:\n"
    "  --machine PRESET  a scenario or preset whose machine to use (extends:),\n"
    "                    e.g. scenarios/presets/epyc-2s.yaml (default: the\n"
    "                    built-in machine, 1 socket)\n"
    "  --cpus N          cores per socket of the machine (the program runs on\n"
    "                    core 0; one process per run for now)\n"
    "  --env NAME=VALUE  put NAME in the program's environment (repeatable; the\n"
    "                    environment is otherwise empty: runs do not depend on\n"
    "                    the host's)\n"
    "  --functional      no cache or fetch timing (faster; cpi only)\n"
    "  --file GUEST=HOST let the program open HOST's bytes read-only as GUEST\n"
    "                    (repeatable)\n"
    "  --max-time T      simulated-time limit (default 100s): a program still\n"
    "                    running then is stopped (exit 125)\n"
    "  --seed N          root seed (getrandom, AT_RANDOM; default 1)\n"
    "  --db PATH         results database (default: $ORRERY_DB, else ./" ORR_RESULTS_DEFAULT_PATH ")\n"
    "  --no-db           do not store the run\n"
    "  --quiet, -q       no summary\n"
    "  --help, -h        this text\n"
    "\n"
    "Exit status: the program's; 125 when orrery itself fails (bad usage, a\n"
    "missing or unsuitable program, argv too large for the stack, a\n"
    "simulator failure, the time limit).\n";

struct exec_opts {
    const char *machine, *db, *max_time, *prog;
    uint64_t seed, cpus;
    bool no_db, quiet, functional;
    const char **aEnv, **aFile;
    size_t nEnv, nFile;
    char **argv;
    int argc;
};

static int fail125(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail125(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("orrery exec: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXEC_EXIT_SELF;
}

static int parse_args(int argc, char **argv, struct exec_opts *o)
{
    enum { OPT_MACHINE = 256, OPT_CPUS, OPT_ENV, OPT_FILE, OPT_FUNC, OPT_MAXT, OPT_SEED, OPT_DB,
           OPT_NODB };
    static const struct option longopts[] = {
        {"machine", required_argument, NULL, OPT_MACHINE}, {"cpus", required_argument, NULL, OPT_CPUS},
        {"env", required_argument, NULL, OPT_ENV},         {"file", required_argument, NULL, OPT_FILE},
        {"functional", no_argument, NULL, OPT_FUNC},       {"max-time", required_argument, NULL, OPT_MAXT},
        {"seed", required_argument, NULL, OPT_SEED},       {"db", required_argument, NULL, OPT_DB},
        {"no-db", no_argument, NULL, OPT_NODB},            {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},                  {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->max_time = "100s";
    o->aEnv = calloc((size_t)argc + 1, sizeof *o->aEnv);
    o->aFile = calloc((size_t)argc + 1, sizeof *o->aFile);
    if (!o->aEnv || !o->aFile)
        orr_oom();
    optind = 1;
    opterr = 0;
    int ch;
    /* "+": options end at the program; its own arguments are its own */
    while ((ch = getopt_long(argc, argv, "+:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_MACHINE: o->machine = optarg; break;
        case OPT_CPUS:
            if (!cli_parse_u64(optarg, &o->cpus) || o->cpus < 1 || o->cpus > 128)
                return fail125("--cpus expects 1 to 128, got '%s'", optarg);
            break;
        case OPT_ENV:
            if (!strchr(optarg, '='))
                return fail125("--env expects NAME=VALUE, got '%s'", optarg);
            o->aEnv[o->nEnv++] = optarg;
            break;
        case OPT_FILE:
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return fail125("--file expects GUEST=HOST, got '%s'", optarg);
            o->aFile[o->nFile++] = optarg;
            break;
        case OPT_FUNC: o->functional = true; break;
        case OPT_MAXT: o->max_time = optarg; break;
        case OPT_SEED:
            if (!cli_parse_u64(optarg, &o->seed))
                return fail125("--seed expects a non-negative integer, got '%s'", optarg);
            break;
        case OPT_DB: o->db = optarg; break;
        case OPT_NODB: o->no_db = true; break;
        case 'q': o->quiet = true; break;
        case 'h': fputs(exec_help, stdout); return -1;
        case ':': return fail125("option '%s' needs a value", argv[optind - 1]);
        default: return fail125("unknown option '%s' (see orrery exec --help)", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return fail125("missing PROGRAM (see orrery exec --help)");
    o->prog = argv[optind];
    o->argv = argv + optind;
    o->argc = argc - optind;
    if (!o->db)
        o->db = getenv("ORRERY_DB") && *getenv("ORRERY_DB") ? getenv("ORRERY_DB")
                                                            : ORR_RESULTS_DEFAULT_PATH;
    return 0;
}

/* A YAML double-quoted scalar. */
static void yaml_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Which architecture the program is for, checked as a static executable. */
static int check_program(const char *path, enum isa_arch *arch)
{
    char err[1200];
    if (access(path, F_OK) != 0)
        return fail125("cannot open '%s': %s", path, strerror(errno));
    int rc = isa_elf_load(path, ISA_RISCV64, NULL, UINT64_MAX, NULL, err, sizeof err);
    if (rc == ORR_EINVAL) { /* another architecture: aarch64? */
        char err2[1200];
        if (isa_elf_load(path, ISA_AARCH64, NULL, UINT64_MAX, NULL, err2, sizeof err2) == 0) {
            *arch = ISA_AARCH64;
            return 0;
        }
        if (!strstr(err2, "but the core runs"))
            return fail125("%s", err2);
        return fail125("%s: orrery exec runs riscv64 and aarch64 programs",
                       strstr(err, "is an ELF for") ? err : err2);
    }
    if (rc)
        return fail125("%s", err);
    *arch = ISA_RISCV64;
    return 0;
}

static int write_scenario(FILE *f, const struct exec_opts *o, const char *prog_abs,
                          enum isa_arch arch, const char *machine_abs)
{
    fprintf(f, "name: exec\ndescription: ");
    yaml_str(f, o->prog);
    fprintf(f, "\nseed: %" PRIu64 "\n", o->seed);
    if (machine_abs) {
        fprintf(f, "extends: ");
        yaml_str(f, machine_abs);
        fputc('\n', f);
    }
    fprintf(f, "stop: {duration: ");
    yaml_str(f, o->max_time);
    fprintf(f, "}\nmachine:\n");
    if (o->cpus)
        fprintf(f, "  cores_per_socket: %" PRIu64 "\n", o->cpus);
    else if (!machine_abs)
        fprintf(f, "  sockets: 1\n  cores_per_socket: 1\n");
    fprintf(f, "  workloads:\n    - cores: 0\n      elf: ");
    yaml_str(f, prog_abs);
    fprintf(f, "\n      arch: %s\n      abi: linux\n      ram: 256MiB\n      stack: 8MiB\n"
               "      output_limit: 1GiB\n      timing: %s\n      argv: [",
            isa_arch_names[arch], o->functional ? "false" : "true");
    for (int i = 0; i < o->argc; i++) {
        if (i)
            fputs(", ", f);
        yaml_str(f, o->argv[i]);
    }
    fprintf(f, "]\n      env: [");
    for (size_t i = 0; i < o->nEnv; i++) {
        if (i)
            fputs(", ", f);
        yaml_str(f, o->aEnv[i]);
    }
    fprintf(f, "]\n      files: [");
    for (size_t i = 0; i < o->nFile; i++) {
        const char *eq = strchr(o->aFile[i], '=');
        char guest[1024], host[PATH_MAX];
        snprintf(guest, sizeof guest, "%.*s", (int)(eq - o->aFile[i]), o->aFile[i]);
        if (!realpath(eq + 1, host))
            return fail125("--file %s: cannot open '%s': %s", o->aFile[i], eq + 1, strerror(errno));
        fputs(i ? ", {path: " : "{path: ", f);
        yaml_str(f, guest);
        fputs(", from: ", f);
        yaml_str(f, host);
        fputc('}', f);
    }
    fprintf(f, "]\n");
    return 0;
}

/* The process's report on stderr: status, instructions, time, MIPS, the
 * syscalls by name. */
static void summary(const struct orr_scenario *sc, const struct orr_component *c,
                    const struct isacore_process *ps, double wall, int64_t run_id,
                    const struct exec_opts *o)
{
    const struct orr_metric *am;
    size_t nm = orr_sim_metrics(sc->sim, &am);
    double insns = 0, cycles = 0;
    for (size_t i = 0; i < nm; i++)
        if (strcmp(am[i].component, c->path) == 0) {
            if (strcmp(am[i].name, "instructions") == 0)
                insns = am[i].value;
            else if (strcmp(am[i].name, "cycles") == 0)
                cycles = am[i].value;
        }
    char t[32];
    cli_format_value((double)orr_now(sc->sim), "ps", t, sizeof t);
    fprintf(stderr, "orrery exec: %s %s status %d", o->prog, ps->signal ? "killed," : "exited with",
            ps->status);
    if (ps->signal)
        fprintf(stderr, " (%s)", ps->message);
    fprintf(stderr, "\norrery exec: %.0f instructions, %.0f cycles, %s simulated; %.3f s wall, "
            "%.2f MIPS (%s)\n", insns, cycles, t, wall, wall > 0 ? insns / wall / 1e6 : 0.0,
            o->functional ? "functional" : "timed");
    fprintf(stderr, "orrery exec: %" PRIu64 " thread%s, %" PRIu64 " context switches\n",
            ps->threads, ps->threads == 1 ? "" : "s", ps->switches);
    fprintf(stderr, "orrery exec: %" PRIu64 " syscalls:", ps->syscalls);
    for (size_t nr = 0; nr < ps->nCount; nr++) {
        if (!ps->aCount[nr])
            continue;
        const char *name = isacore_syscall_name(nr);
        if (name)
            fprintf(stderr, " %s %" PRIu32, name, ps->aCount[nr]);
        else
            fprintf(stderr, " #%zu %" PRIu32 " (ENOSYS)", nr, ps->aUnknown[nr]);
    }
    fprintf(stderr, "\norrery exec: digest %016" PRIx64 " seed %" PRIu64, orr_sim_digest(sc->sim),
            sc->seed);
    if (run_id > 0)
        fprintf(stderr, "; results %s (run %" PRId64 ")", o->db, run_id);
    fputc('\n', stderr);
}

static int store(struct orr_results *db, const struct orr_scenario *sc, enum orr_stop_reason why,
                 double wall, const char *status, const char *prog_abs, int64_t *run_id,
                 struct orr_diag *d)
{
    char label[PATH_MAX + 8];
    snprintf(label, sizeof label, "exec:%s", prog_abs);
    struct orr_run_record r = {
        .scenario = label, .scenario_hash = sc->hash, .overrides = sc->overrides,
        .seed = sc->seed, .build_id = orr_build_id(), .status = status,
        .stop_reason = orr_stop_reason_name(why), .sim_time = orr_now(sc->sim),
        .wall_time_s = wall, .events = orr_sim_events(sc->sim), .digest = orr_sim_digest(sc->sim)};
    char *effective = orr_config_dump(sc->cfg.root);
    if (!effective)
        orr_oom();
    r.effective_scenario = effective;
    r.nMetric = orr_sim_metrics(sc->sim, &r.aMetric);
    r.nHist = orr_sim_histograms(sc->sim, &r.aHist);
    int rc = orr_results_write_run(db, &r, run_id, d);
    free(effective);
    return rc;
}

static const struct orr_component *find_process(const struct orr_sim *s,
                                                struct isacore_process *ps)
{
    for (uint32_t i = 0; i < orr_sim_component_count(s); i++) {
        const struct orr_component *c = orr_sim_component(s, i);
        if (isacore_process(c, ps))
            return c;
    }
    return NULL;
}

/* The temporary scenario, removed by orr_oom too: an out-of-memory exit
 * between mkstemps and the scenario's loading must not leave it behind. */
static char exec_tmp[64];

static void remove_tmp(void)
{
    if (exec_tmp[0])
        unlink(exec_tmp);
    exec_tmp[0] = 0;
}

int cmd_exec(int argc, char **argv)
{
    orr_oom_set_exit(EXEC_EXIT_SELF); /* out of memory is one of exec's own failures */
    struct exec_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        free(o.aEnv), free(o.aFile);
        return rc < 0 ? ORR_EXIT_OK : rc;
    }
    int exit_code = EXEC_EXIT_SELF;
    char prog_abs[PATH_MAX], machine_abs[PATH_MAX], tmp[] = "/tmp/orrery-exec-XXXXXX.yaml";
    struct orr_scenario sc;
    struct orr_diag d;
    struct orr_results *db = NULL;
    memset(&sc, 0, sizeof sc);
    orr_diag_init(&d);
    enum isa_arch arch;
    if ((rc = check_program(o.prog, &arch)))
        goto out_args;
    if (!realpath(o.prog, prog_abs)) {
        fail125("cannot open '%s': %s", o.prog, strerror(errno));
        goto out_args;
    }
    if (o.machine && !realpath(o.machine, machine_abs)) {
        fail125("--machine: cannot open '%s': %s", o.machine, strerror(errno));
        goto out_args;
    }
    orr_oom_on_exit(remove_tmp);
    int fd = mkstemps(tmp, 5);
    if (fd >= 0)
        snprintf(exec_tmp, sizeof exec_tmp, "%s", tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fail125("cannot write a temporary scenario: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        remove_tmp();
        goto out_args;
    }
    rc = write_scenario(f, &o, prog_abs, arch, o.machine ? machine_abs : NULL);
    if (fclose(f) || rc) {
        remove_tmp();
        goto out_args;
    }
    rc = orr_scenario_open(&sc, tmp, NULL, 0, NULL, orr_builtin_types, &d);
    remove_tmp();
    if (rc) {
        /* the scenario is ours; its errors are about the program or options */
        fprintf(stderr, "orrery exec: cannot set up the run:\n");
        orr_diag_print(&d, stderr);
        goto out;
    }
    if (!o.no_db && orr_results_open(&db, o.db, &d)) {
        orr_diag_print(&d, stderr);
        goto out;
    }
    double t0 = cli_wall_seconds();
    enum orr_stop_reason why = orr_sim_run(sc.sim, NULL);
    double wall = cli_wall_seconds() - t0;
    orr_sim_finish(sc.sim);
    struct isacore_process ps;
    const struct orr_component *c = find_process(sc.sim, &ps);
    const char *status = why == ORR_STOP_WORKLOADS ? "ok" : "failed";
    int64_t run_id = 0;
    if (db && store(db, &sc, why, wall, status, prog_abs, &run_id, &d)) {
        orr_diag_print(&d, stderr);
        goto out;
    }
    if (c) {
        fwrite(ps.out[0], 1, ps.nOut[0], stdout);
        fflush(stdout);
        fwrite(ps.out[1], 1, ps.nOut[1], stderr);
    }
    if (why == ORR_STOP_FAILED) {
        fail125("simulator failure: %s", orr_sim_failure(sc.sim));
        goto out;
    }
    if (!c || !ps.exited) {
        fail125("the program did not finish within %s of simulated time (--max-time)",
                o.max_time);
        goto out;
    }
    if (ps.signal)
        fprintf(stderr, "orrery exec: %s\n", ps.message);
    if (!o.quiet)
        summary(&sc, c, &ps, wall, run_id, &o);
    exit_code = ps.status;
out:
    orr_results_close(db);
    orr_scenario_close(&sc);
out_args:
    orr_diag_free(&d);
    free(o.aEnv);
    free(o.aFile);
    return exit_code;
}
