/* `orrery bpf verify|run OBJ.o`: load an ELF BPF object compiled with
 * clang -target bpf, verify each program with kernel/bpf's verifier and
 * (run) feed accepted programs synthetic tracepoint events in the
 * interpreter, printing the maps (docs/bpf.md).
 *
 * Loading (bpf_load.c): libbpf and libelf read the programs, the maps and
 * the relocations; no kernel is involved.
 *
 * Exit: 0 every program accepted (and run); 1 a program rejected; 2 bad
 * usage, not a BPF object, an unknown attach point, a bad map definition. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpf_load.h"
#include "cli.h"
#include "kernel/bpf.h"
#include "orrery/error.h"
#include "orrery/json.h"

static const char bpf_help[] =
    "Usage: orrery bpf verify OBJ.o [--unpriv] [--json]\n"
    "       orrery bpf run OBJ.o [--events N] [--cpus N] [--unpriv] [--json]\n"
    "\n"
    "Check eBPF programs the way the reference kernel does before it attaches\n"
    "them (docs/bpf.md). OBJ.o is an ELF object from 'clang -target bpf -O2 -g';\n"
    "each program's section names its attach point (tracepoint/sched/sched_switch,\n"
    "...), its maps come from the .maps section.\n"
    "\n"
    "  verify   print, per program, 'accepted' or 'rejected at insn N: reason'\n"
    "           (the reasons are worded as the Linux verifier log words them)\n"
    "  run      verify, then feed every program N synthetic events of its\n"
    "           tracepoint in the interpreter (event i on CPU i % cpus at time\n"
    "           i+1 us; tracepoint arguments a = 1 + i % 7, b = 1 + (i+1) % 7)\n"
    "           and print the maps' contents\n"
    "\n"
    "Options:\n"
    "  --unpriv       verify as for an unprivileged user: no pointer may leak\n"
    "                 (returned, stored in a map, compared, passed as a scalar)\n"
    "  --events N     run: events per program (default 1000)\n"
    "  --cpus N       run: CPUs the events rotate over (default 4, at most 256)\n"
    "  --json         print one JSON object instead of text\n"
    "\n"
    "Exit status: 0 all programs accepted; 1 a program was rejected; 2 bad usage,\n"
    "not a BPF object, an unknown attach point or an invalid map definition.\n";

struct oprog {
    const char *name, *section;
    const struct bpf_insn *insns;
    uint32_t len;
    const struct bpf_attach_point *ap;
    struct bpf_verify_result res;
    int rc;
    double verify_us;
};

struct obj {
    const char *path;
    struct bpfload l;
    uint32_t nmaps;
    struct bpf_map maps[BPF_MAX_MAPS];
    struct bpf_map *mapp[BPF_MAX_MAPS];
    const char *mapname[BPF_MAX_MAPS];
    void *mapmem[BPF_MAX_MAPS];
    uint32_t nprogs;
    struct oprog *progs;
    uint32_t ncpus;
};

static int bad(const struct obj *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const struct obj *o, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "orrery bpf: %s: ", o->path);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return ORR_EXIT_USAGE;
}

static void obj_free(struct obj *o)
{
    free(o->progs);
    for (uint32_t i = 0; i < o->nmaps; i++)
        free(o->mapmem[i]);
    bpfload_close(&o->l);
}

_Static_assert(sizeof(struct bpf_insn) == sizeof(uint64_t), "eBPF instructions are 8 bytes");

static int obj_load(struct obj *o, const char *path, uint32_t ncpus)
{
    char err[512];
    memset(o, 0, sizeof *o);
    o->path = path;
    o->ncpus = ncpus;
    if (bpfload_open(&o->l, path, err, sizeof err))
        return bad(o, "%s", err);
    for (uint32_t i = 0; i < o->l.nmaps; i++) {
        const struct bpfload_map *lm = &o->l.maps[i];
        struct bpf_map_def d = {lm->type, lm->key_size, lm->value_size, lm->max_entries};
        const char *why = NULL;
        size_t sz = bpf_map_mem_size(&d, ncpus, &why);
        if (!sz)
            return bad(o, "map '%s' (type %u, key %u, value %u, entries %u): %s", lm->name, d.type, d.key_size,
                       d.value_size, d.max_entries, why);
        o->mapname[i] = lm->name;
        o->mapmem[i] = aligned_alloc(8, (sz + 7) & ~(size_t)7);
        o->nmaps = i + 1;
        if (!o->mapmem[i])
            return bad(o, "out of memory for map '%s'", lm->name);
        bpf_map_init(&o->maps[i], &d, ncpus, o->mapmem[i]);
        o->mapp[i] = &o->maps[i];
        if (lm->init && d.type == BPF_MAP_TYPE_ARRAY && lm->init_size <= d.value_size)
            memcpy(o->maps[i].data, lm->init, lm->init_size);
    }
    o->nprogs = o->l.nprogs;
    o->progs = calloc(o->nprogs, sizeof *o->progs);
    for (uint32_t k = 0; k < o->nprogs; k++) {
        struct oprog *p = &o->progs[k];
        p->name = o->l.progs[k].name;
        p->section = o->l.progs[k].section;
        p->insns = (const struct bpf_insn *)o->l.progs[k].insns;
        p->len = o->l.progs[k].len;
        p->ap = bpf_attach_find(p->section);
        if (!p->ap) {
            uint32_t n;
            const struct bpf_attach_point *t = bpf_attach_table(&n);
            fprintf(stderr, "orrery bpf: %s: program '%s': unknown attach point '%s'; known:", path, p->name,
                    p->section);
            for (uint32_t i = 0; i < n; i++)
                fprintf(stderr, " %s", t[i].section);
            fputc('\n', stderr);
            return ORR_EXIT_USAGE;
        }
    }
    return 0;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static bool verify_all(struct obj *o, bool unpriv)
{
    bool all = true;
    for (uint32_t i = 0; i < o->nprogs; i++) {
        struct oprog *p = &o->progs[i];
        struct bpf_prog bp = {p->insns, p->len, o->mapp, o->nmaps, p->ap->ctx_size};
        struct bpf_verify_opts vo = {unpriv, 0};
        size_t ws = bpf_verify_workspace_size(p->len);
        void *w = malloc(ws);
        double t0 = now_us();
        p->rc = bpf_verify(&bp, &vo, w, ws, &p->res);
        p->verify_us = now_us() - t0;
        free(w);
        all &= p->rc == 0;
    }
    return all;
}

static void print_verdicts(const struct obj *o, struct orr_json *j)
{
    if (j) {
        orr_json_key(j, "programs");
        orr_json_arr_begin(j);
    }
    for (uint32_t i = 0; i < o->nprogs; i++) {
        const struct oprog *p = &o->progs[i];
        if (j) {
            orr_json_obj_begin(j);
            orr_json_key(j, "name"), orr_json_str(j, p->name);
            orr_json_key(j, "section"), orr_json_str(j, p->section);
            orr_json_key(j, "insns"), orr_json_u64(j, p->len);
            orr_json_key(j, "accepted"), orr_json_bool(j, p->rc == 0);
            orr_json_key(j, "processed"), orr_json_u64(j, p->res.processed);
            orr_json_key(j, "states"), orr_json_u64(j, p->res.states);
            if (p->rc) {
                orr_json_key(j, "insn"), orr_json_i64(j, p->res.insn);
                orr_json_key(j, "reason"), orr_json_str(j, p->res.msg);
            }
            orr_json_obj_end(j);
        } else if (p->rc == 0) {
            printf("%s: %s (%s): accepted, %u insns, %llu processed, %u states\n", o->path, p->name, p->section,
                   p->len, (unsigned long long)p->res.processed, p->res.states);
        } else if (p->res.insn >= 0) {
            printf("%s: %s (%s): rejected at insn %d: %s\n", o->path, p->name, p->section, p->res.insn,
                   p->res.msg);
        } else {
            printf("%s: %s (%s): rejected: %s\n", o->path, p->name, p->section, p->res.msg);
        }
    }
    if (j)
        orr_json_arr_end(j);
}

static uint64_t value_u64(const uint8_t *v, uint32_t size)
{
    uint64_t x = 0;
    memcpy(&x, v, size < 8 ? size : 8);
    return x;
}

static void print_value(struct orr_json *j, const uint8_t *v, uint32_t size)
{
    if (size <= 8) {
        if (j)
            orr_json_u64(j, value_u64(v, size));
        else
            printf("%llu", (unsigned long long)value_u64(v, size));
        return;
    }
    char hex[2 * 64 + 4];
    uint32_t n = size < 64 ? size : 64;
    for (uint32_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", v[i]);
    if (size > 64)
        strcpy(hex + 128, "...");
    if (j)
        orr_json_str(j, hex);
    else
        printf("%s", hex);
}

static bool all_zero(const uint8_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i])
            return false;
    return true;
}

/* One map's non-zero entries: key value (per-CPU maps: the sum of u64
 * values over CPUs, or each CPU's bytes). */
static void print_map(const struct obj *o, uint32_t mi, struct orr_json *j)
{
    const struct bpf_map *m = &o->maps[mi];
    const struct bpf_map_def *d = &m->def;
    if (j) {
        orr_json_obj_begin(j);
        orr_json_key(j, "name"), orr_json_str(j, o->mapname[mi]);
        orr_json_key(j, "type"), orr_json_u64(j, d->type);
    } else {
        printf("map %s (type %u):\n", o->mapname[mi], d->type);
    }
    if (d->type == BPF_MAP_TYPE_RINGBUF) {
        uint64_t recs = 0;
        struct bpf_map copy = *m;
        uint8_t buf[256];
        while (copy.rb_cons != copy.rb_prod) {
            bpf_ringbuf_read(&copy, buf, sizeof buf);
            recs++;
        }
        if (j) {
            orr_json_key(j, "records"), orr_json_u64(j, recs);
            orr_json_key(j, "dropped"), orr_json_u64(j, m->rb_drops);
            orr_json_obj_end(j);
        } else {
            printf("  records %llu dropped %llu\n", (unsigned long long)recs, (unsigned long long)m->rb_drops);
        }
        return;
    }
    if (j) {
        orr_json_key(j, "entries");
        orr_json_arr_begin(j);
    }
    if (d->type == BPF_MAP_TYPE_HASH) {
        for (uint32_t i = 0; i < m->hash_cap; i++) {
            const void *k;
            void *v;
            if (!bpf_map_hash_slot(m, i, &k, &v))
                continue;
            if (j) {
                orr_json_obj_begin(j);
                orr_json_key(j, "key"), print_value(j, k, d->key_size);
                orr_json_key(j, "value"), print_value(j, v, d->value_size);
                orr_json_obj_end(j);
            } else {
                printf("  ");
                print_value(NULL, k, d->key_size);
                printf(" ");
                print_value(NULL, v, d->value_size);
                printf("\n");
            }
        }
    } else {
        uint32_t copies = d->type == BPF_MAP_TYPE_PERCPU_ARRAY ? m->ncpus : 1;
        for (uint32_t key = 0; key < d->max_entries; key++) {
            for (uint32_t c = 0; c < copies; c++) {
                const uint8_t *v = m->data + ((uint64_t)c * d->max_entries + key) * m->stride;
                if (all_zero(v, d->value_size))
                    continue;
                if (j) {
                    orr_json_obj_begin(j);
                    orr_json_key(j, "key"), orr_json_u64(j, key);
                    if (copies > 1)
                        orr_json_key(j, "cpu"), orr_json_u64(j, c);
                    orr_json_key(j, "value"), print_value(j, v, d->value_size);
                    orr_json_obj_end(j);
                } else {
                    printf("  %u", key);
                    if (copies > 1)
                        printf(" cpu%u", c);
                    printf(" ");
                    print_value(NULL, v, d->value_size);
                    printf("\n");
                }
            }
        }
    }
    if (j) {
        orr_json_arr_end(j);
        orr_json_obj_end(j);
    }
}

/* Feed events: event i runs every program in object order on CPU i % cpus;
 * the k-th program sees time (i + 1) * 1000 + k * (100 + 37 * (i % 11)) ns, so a
 * sys_enter/sys_exit pair sees a spread of latencies. */
static int run_all(struct obj *o, uint64_t events, struct orr_json *j)
{
    uint8_t ctx[256];
    uint64_t insns = 0, calls = 0;
    double t0 = now_us();
    for (uint64_t i = 0; i < events; i++) {
        uint32_t cpu = (uint32_t)(i % o->ncpus);
        for (uint32_t k = 0; k < o->nprogs; k++) {
            struct oprog *p = &o->progs[k];
            struct bpf_prog bp = {p->insns, p->len, o->mapp, o->nmaps, p->ap->ctx_size};
            bpf_attach_fill_ctx(p->ap, ctx, 1 + i % 7, 1 + (i + 1) % 7, cpu);
            struct bpf_env env = {.cpu = cpu, .now_ns = (i + 1) * 1000 + k * (100 + 37 * (i % 11)),
                                  .budget = 2 * BPF_COMPLEXITY_LIMIT};
            uint64_t ret;
            if (bpf_run(&bp, ctx, &env, &ret) != 0) {
                fprintf(stderr, "orrery bpf: %s: %s: ran out of its instruction budget\n", o->path, p->name);
                return ORR_EXIT_FAILED;
            }
            insns += env.executed;
            calls += env.helper_calls;
        }
    }
    double dt = now_us() - t0;
    if (j) {
        orr_json_key(j, "events"), orr_json_u64(j, events);
        orr_json_key(j, "insns_run"), orr_json_u64(j, insns);
        orr_json_key(j, "helper_calls"), orr_json_u64(j, calls);
        orr_json_key(j, "maps");
        orr_json_arr_begin(j);
    } else {
        printf("ran %llu events: %llu insns, %llu helper calls (%.1f M insns/s on this host)\n",
               (unsigned long long)events, (unsigned long long)insns, (unsigned long long)calls,
               dt > 0 ? (double)insns / dt : 0.0);
    }
    for (uint32_t m = 0; m < o->nmaps; m++)
        print_map(o, m, j);
    if (j)
        orr_json_arr_end(j);
    return ORR_EXIT_OK;
}

int cmd_bpf(int argc, char **argv)
{
    enum { OPT_UNPRIV = 256, OPT_JSON, OPT_EVENTS, OPT_CPUS };
    static const struct option longopts[] = {
        {"unpriv", no_argument, 0, OPT_UNPRIV}, {"json", no_argument, 0, OPT_JSON},
        {"events", required_argument, 0, OPT_EVENTS}, {"cpus", required_argument, 0, OPT_CPUS},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    bool unpriv = false, json = false;
    uint64_t events = 1000, cpus = 4;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(bpf_help, stdout); return ORR_EXIT_OK;
        case OPT_UNPRIV: unpriv = true; break;
        case OPT_JSON: json = true; break;
        case OPT_EVENTS:
            if (!cli_parse_u64(optarg, &events) || events == 0)
                return cli_usage_error("bpf", "--events wants a positive integer, not '%s'", optarg);
            break;
        case OPT_CPUS:
            if (!cli_parse_u64(optarg, &cpus) || cpus == 0 || cpus > 256)
                return cli_usage_error("bpf", "--cpus wants 1..256, not '%s'", optarg);
            break;
        case ':': return cli_usage_error("bpf", "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("bpf", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("bpf", "expected 'verify OBJ.o' or 'run OBJ.o'");
    const char *sub = argv[optind], *path = argv[optind + 1];
    bool run = strcmp(sub, "run") == 0;
    if (!run && strcmp(sub, "verify") != 0)
        return cli_usage_error("bpf", "unknown subcommand '%s' (verify, run)", sub);
    struct obj o;
    int rc = obj_load(&o, path, (uint32_t)cpus);
    if (rc) {
        obj_free(&o);
        return rc;
    }
    bool ok = verify_all(&o, unpriv);
    struct orr_json jj, *j = NULL;
    if (json) {
        j = &jj;
        orr_json_init(j, stdout, true);
        orr_json_obj_begin(j);
        orr_json_key(j, "object"), orr_json_str(j, path);
        orr_json_key(j, "unpriv"), orr_json_bool(j, unpriv);
    }
    print_verdicts(&o, j);
    rc = ok ? ORR_EXIT_OK : ORR_EXIT_FAILED;
    if (ok && run)
        rc = run_all(&o, events, j);
    if (j) {
        orr_json_obj_end(j);
        orr_json_end(j);
    }
    obj_free(&o);
    return rc;
}
