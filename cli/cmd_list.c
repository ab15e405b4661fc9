/* `orrery list`: what the simulator knows — component types with their
 * keys, defaults, ports, metrics and faults; the metrics the engine adds;
 * the scenario file's top-level keys; and the scenarios in a folder. Generated from the same descriptors the loader
 * validates against, so it cannot drift from the code. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hw/registry.h"
#include "orrery/config.h"
#include "orrery/error.h"
#include "orrery/json.h"
#include "orrery/scenario.h"
#include "orrery/units.h"

static const char list_help[] =
    "Usage: orrery list [types | TYPE | keys | metrics | scenarios [DIR]] [--json]\n"
    "\n"
    "  (nothing)        component types, then scenarios\n"
    "  types            component types, one line each\n"
    "  TYPE             one type: its keys (type, default, help), ports, metrics\n"
    "                   (name, unit, kind, help) and faults\n"
    "  keys             the top-level scenario keys and their sub-keys\n"
    "  metrics          the metrics the engine adds: per linked port, per run\n"
    "  scenarios [DIR]  scenario files under DIR (default: ./scenarios, or\n"
    "                   $ORRERY_SCENARIOS) with their names and descriptions\n"
    "\n"
    "Options:\n"
    "  --json           machine-readable output\n"
    "  --help, -h       this text\n";

/* Keys as `orrery list` shows them: included tables spliced in, a group's
 * keys under their group's name ("l1d.size", "homes[].base"). */
struct key_printer {
    const char *indent, *prefix;
    struct orr_json *j; /* NULL: text */
};

static void print_key(void *arg, const struct orr_param *p);

static void print_group(const struct key_printer *kp, const struct orr_param *p)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s%s%s.", kp->prefix, p->name,
             p->type == ORR_P_GROUPS ? "[]" : "");
    struct key_printer sub = {kp->indent, prefix, kp->j};
    orr_schema_walk(p->group, print_key, &sub);
}

static void param_json(struct orr_json *j, const char *name, const char *type, const char *def,
                       const char *help);

static void print_key(void *arg, const struct orr_param *p)
{
    const struct key_printer *kp = arg;
    char ty[160], name[192];
    orr_ptype_describe(p, ty, sizeof ty);
    snprintf(name, sizeof name, "%s%s", kp->prefix, p->name);
    if (kp->j)
        param_json(kp->j, name, ty, p->def, p->help);
    else
        printf("%s%-18s %-26s %-12s %s\n", kp->indent, name, ty,
               p->def ? (*p->def ? p->def : "\"\"") : "(required)", p->help ? p->help : "");
    if (p->type == ORR_P_GROUP || p->type == ORR_P_GROUPS)
        print_group(kp, p);
}

static void print_params_text(const struct orr_param *p, const char *indent)
{
    struct key_printer kp = {indent, "", NULL};
    orr_schema_walk(p, print_key, &kp);
}

static void param_json(struct orr_json *j, const char *name, const char *type, const char *def,
                       const char *help)
{
    orr_json_obj_begin(j);
    orr_json_key(j, "name"), orr_json_str(j, name);
    orr_json_key(j, "type"), orr_json_str(j, type);
    orr_json_key(j, "default"), orr_json_str(j, def);
    orr_json_key(j, "required"), orr_json_bool(j, def == NULL);
    orr_json_key(j, "help"), orr_json_str(j, help);
    orr_json_obj_end(j);
}

static void params_items_json(struct orr_json *j, const struct orr_param *p)
{
    struct key_printer kp = {"", "", j};
    orr_schema_walk(p, print_key, &kp);
}

static void params_json(struct orr_json *j, const struct orr_param *p)
{
    orr_json_arr_begin(j);
    params_items_json(j, p);
    orr_json_arr_end(j);
}

/* One metric per line: name, unit ("-" for a plain number), kind, help. */
static void print_metrics_text(const struct orr_metric_doc *m, const char *indent)
{
    for (; m && m->name; m++)
        printf("%s%-26s %-8s %-10s %s\n", indent, m->name, *m->unit ? m->unit : "-",
               orr_metric_kind_name(m->kind), m->help);
}

static void metrics_json(struct orr_json *j, const struct orr_metric_doc *m)
{
    orr_json_arr_begin(j);
    for (; m && m->name; m++) {
        orr_json_obj_begin(j);
        orr_json_key(j, "name"), orr_json_str(j, m->name);
        orr_json_key(j, "unit"), orr_json_str(j, m->unit);
        orr_json_key(j, "kind"), orr_json_str(j, orr_metric_kind_name(m->kind));
        orr_json_key(j, "help"), orr_json_str(j, m->help);
        orr_json_obj_end(j);
    }
    orr_json_arr_end(j);
}

/* How `orrery explore` may fire a fault (docs/explore.md). */
static void print_explore_text(const struct orr_fault_explore *x)
{
    char t[40], lo[40], hi[40];
    if (!x)
        return;
    orr_unit_format(ORR_UNIT_TIME, x->min_interval, t, sizeof t);
    printf("      explorable: mean interval >= %s", t);
    if (x->recover) {
        orr_unit_format(ORR_UNIT_TIME, x->min_duration, lo, sizeof lo);
        orr_unit_format(ORR_UNIT_TIME, x->max_duration, hi, sizeof hi);
        printf(", ends with %s after %s..%s", x->recover, lo, hi);
    } else {
        printf(", permanent");
    }
    for (const struct orr_fault_draw *d = x->draws; d && d->param; d++) {
        if (d->kind == ORR_FD_PORT)
            printf("; draws %s (any port)", d->param);
        else if (d->kind == ORR_FD_CHANCE)
            printf("; draws %s %g..%g", d->param, (double)d->lo / 1e6, (double)d->hi / 1e6);
        else
            printf("; draws %s %" PRIu64 "..%" PRIu64, d->param, d->lo, d->hi);
    }
    printf("\n");
}

static void type_text(const struct orr_component_type *t)
{
    printf("%s — %s\n\n  keys (besides `type: %s`):\n", t->name, t->summary, t->name);
    print_params_text(t->params, "    ");
    printf("\n  ports:\n");
    for (const struct orr_port_doc *p = t->ports; p && p->name; p++)
        printf("    %-18s %s\n", p->name, p->help);
    if (t->metrics && t->metrics[0].name) {
        printf("\n  metrics (COMPONENT.NAME; <X> is one part of a name, <X...> may hold dots):\n");
        print_metrics_text(t->metrics, "    ");
        if (t->ports && t->ports[0].name)
            printf("    and for each linked port the engine's PORT.tx_bytes, PORT.tx_msgs, "
                   "PORT.tx_util (`orrery list metrics`)\n");
    }
    if (t->faults && t->faults[0].name) {
        printf("\n  faults:\n");
        for (const struct orr_fault_desc *f = t->faults; f->name; f++) {
            printf("    %-18s %s\n", f->name, f->help);
            print_params_text(f->params, "      ");
            print_explore_text(f->explore);
        }
    }
    printf("\n");
}

static void type_json(struct orr_json *j, const struct orr_component_type *t)
{
    orr_json_obj_begin(j);
    orr_json_key(j, "name"), orr_json_str(j, t->name);
    orr_json_key(j, "summary"), orr_json_str(j, t->summary);
    orr_json_key(j, "workload"), orr_json_bool(j, t->workload);
    orr_json_key(j, "keys"), params_json(j, t->params);
    orr_json_key(j, "ports");
    orr_json_arr_begin(j);
    for (const struct orr_port_doc *p = t->ports; p && p->name; p++) {
        orr_json_obj_begin(j);
        orr_json_key(j, "name"), orr_json_str(j, p->name);
        orr_json_key(j, "help"), orr_json_str(j, p->help);
        orr_json_obj_end(j);
    }
    orr_json_arr_end(j);
    orr_json_key(j, "metrics"), metrics_json(j, t->metrics);
    orr_json_key(j, "faults");
    orr_json_arr_begin(j);
    for (const struct orr_fault_desc *f = t->faults; f && f->name; f++) {
        orr_json_obj_begin(j);
        orr_json_key(j, "name"), orr_json_str(j, f->name);
        orr_json_key(j, "help"), orr_json_str(j, f->help);
        orr_json_key(j, "keys"), params_json(j, f->params);
        orr_json_key(j, "explorable"), orr_json_bool(j, f->explore != NULL);
        orr_json_obj_end(j);
    }
    orr_json_arr_end(j);
    orr_json_obj_end(j);
}

static void list_types(bool json, struct orr_json *j)
{
    if (json) {
        orr_json_arr_begin(j);
        for (size_t i = 0; orr_builtin_types[i]; i++)
            type_json(j, orr_builtin_types[i]);
        orr_json_arr_end(j);
        return;
    }
    printf("Component types ('orrery list TYPE' for keys):\n");
    for (size_t i = 0; orr_builtin_types[i]; i++)
        printf("  %-16s %s\n", orr_builtin_types[i]->name, orr_builtin_types[i]->summary);
}

static const struct {
    const char *name;
    const struct orr_param *params;
} sections[] = {
    {"(top level)", orr_scenario_params}, {"stop", orr_scenario_stop_params},
    {"trace", orr_scenario_trace_params}, {"links[]", orr_scenario_link_params},
    {"faults[]", orr_scenario_fault_params},
};

/* The top-level sections the builder types own (a type with an expand op
 * owns the key of its name), as the engine accepts them. */
static void list_builder_keys(bool json, struct orr_json *j)
{
    for (size_t i = 0; orr_builtin_types[i]; i++) {
        const struct orr_component_type *t = orr_builtin_types[i];
        if (!t->expand)
            continue;
        char help[256];
        snprintf(help, sizeof help, "%s (see `orrery list %s`)", t->summary, t->name);
        if (json) {
            param_json(j, t->name, "map", "{}", help);
        } else {
            printf("  %-18s %-26s %-12s %s\n", t->name, "map", "{}", help);
        }
    }
}

static void list_keys(bool json, struct orr_json *j)
{
    if (json)
        orr_json_obj_begin(j);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        bool top = sections[i].params == orr_scenario_params;
        if (json) {
            orr_json_key(j, sections[i].name);
            if (top) { /* params_json's array, with the builder sections in it */
                orr_json_arr_begin(j);
                params_items_json(j, orr_scenario_params);
                list_builder_keys(true, j);
                orr_json_arr_end(j);
            } else {
                params_json(j, sections[i].params);
            }
        } else {
            printf("%s\n", sections[i].name);
            print_params_text(sections[i].params, "  ");
            if (top)
                list_builder_keys(false, j);
            printf("\n");
        }
    }
    if (json)
        orr_json_obj_end(j);
    else
        printf("faults[] entries also take the keys of their fault (orrery list TYPE).\n");
}

/* The engine's own metrics: what every linked port and every run report
 * besides the metrics of the components' types. */
static void list_engine_metrics(bool json, struct orr_json *j)
{
    if (json) {
        orr_json_obj_begin(j);
        orr_json_key(j, "ports"), metrics_json(j, orr_link_metrics);
        orr_json_key(j, "run"), metrics_json(j, orr_run_metrics);
        orr_json_obj_end(j);
        return;
    }
    printf("each linked port of every component (COMPONENT.NAME):\n");
    print_metrics_text(orr_link_metrics, "  ");
    printf("\nevery run (" ORR_RUN_COMPONENT ".NAME):\n");
    print_metrics_text(orr_run_metrics, "  ");
    printf("\nA component type's own metrics: `orrery list TYPE`. Histograms appear as "
           "NAME.count, .mean,\n.min, .p50, .p90, .p99, .p999 and .max; gauges as NAME and "
           "NAME.max.\n");
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_yaml(const char *n)
{
    size_t l = strlen(n);
    return (l > 5 && strcmp(n + l - 5, ".yaml") == 0) || (l > 4 && strcmp(n + l - 4, ".yml") == 0);
}

/* Scenario files directly in dir (presets live in subfolders and are not
 * runnable on their own), sorted by name. */
static int list_scenarios(const char *dir, bool json, struct orr_json *j)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        fprintf(stderr, "orrery list: cannot open scenario folder '%s'\n", dir);
        if (json) { /* keep the document valid: an empty list */
            orr_json_arr_begin(j);
            orr_json_arr_end(j);
        }
        return ORR_EXIT_USAGE;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (!is_yaml(e->d_name))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *names);
        if (!nn)
            orr_oom();
        names = nn;
        names[n++] = strdup(e->d_name);
    }
    closedir(dp);
    qsort(names, n, sizeof *names, name_cmp);
    if (json)
        orr_json_arr_begin(j);
    else
        printf("Scenarios in %s:\n", dir);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct orr_config cfg;
        struct orr_diag d;
        orr_diag_init(&d);
        bool ok = orr_config_load(&cfg, path, &d) == 0;
        const struct orr_node *nm = ok ? orr_node_get(cfg.root, "name") : NULL;
        const struct orr_node *ds = ok ? orr_node_get(cfg.root, "description") : NULL;
        const char *name = nm && nm->kind == ORR_NODE_SCALAR ? nm->scalar : "";
        const char *desc = ds && ds->kind == ORR_NODE_SCALAR ? ds->scalar : "";
        if (json) {
            orr_json_obj_begin(j);
            orr_json_key(j, "path"), orr_json_str(j, path);
            orr_json_key(j, "name"), orr_json_str(j, name);
            orr_json_key(j, "description"), orr_json_str(j, desc);
            orr_json_key(j, "loads"), orr_json_bool(j, ok);
            orr_json_obj_end(j);
        } else {
            int w = (int)strcspn(desc, "\n");
            printf("  %-28s %s%s%.*s%s\n", names[i], name, *desc ? " — " : "", w > 90 ? 90 : w,
                   desc, ok ? "" : "(does not load: run 'orrery validate')");
        }
        orr_config_free(&cfg);
        orr_diag_free(&d);
        free(names[i]);
    }
    free(names);
    if (json)
        orr_json_arr_end(j);
    return ORR_EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool json = false;
    int ch, rc = ORR_EXIT_OK;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch == 'j')
            json = true;
        else if (ch == 'h')
            return fputs(list_help, stdout), ORR_EXIT_OK;
        else
            return cli_usage_error("list", "unknown option '%s'", argv[optind - 1]);
    }
    const char *what = optind < argc ? argv[optind] : NULL;
    const char *envdir = getenv("ORRERY_SCENARIOS");
    const char *dir = optind + 1 < argc ? argv[optind + 1] : envdir && *envdir ? envdir : "scenarios";
    struct orr_json j;
    orr_json_init(&j, stdout, true);
    if (!what) {
        if (json) {
            orr_json_obj_begin(&j);
            orr_json_key(&j, "types");
        }
        list_types(json, &j);
        if (json)
            orr_json_key(&j, "scenarios");
        else
            printf("\n");
        rc = list_scenarios(dir, json, &j);
        if (json)
            orr_json_obj_end(&j);
    } else if (strcmp(what, "types") == 0) {
        list_types(json, &j);
    } else if (strcmp(what, "keys") == 0) {
        list_keys(json, &j);
    } else if (strcmp(what, "metrics") == 0) {
        list_engine_metrics(json, &j);
    } else if (strcmp(what, "scenarios") == 0) {
        rc = list_scenarios(dir, json, &j);
    } else {
        const struct orr_component_type *t = orr_type_find(orr_builtin_types, what);
        if (!t)
            return cli_usage_error("list", "no component type or topic '%s' (try 'orrery list types')",
                                   what);
        if (json)
            type_json(&j, t);
        else
            type_text(t);
    }
    if (json)
        orr_json_end(&j);
    return rc;
}
