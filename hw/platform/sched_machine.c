/* sched_node's machine description: topology and CPU types (see
 * sched_machine.h). Validates everything before the run; numbering:
 * cpu = ((socket * cores_per_socket) + core) * threads_per_core + thread,
 * so SMT siblings are adjacent, a socket's CPUs contiguous; cores are split
 * evenly into clusters_per_socket LLCs, sockets evenly into numa_nodes
 * nodes; CPU types take CPUs in list order. Also the CPU bandwidth groups
 * a sched_node and a machine's kernel share. */
#define _POSIX_C_SOURCE 200809L
#include "hw/sched_machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/error.h"
#include "orrery/params.h"
#include "orrery/time.h"
#include "workloads/rtapp.h"

static const struct orr_param topo_params[] = {
    {"sockets", ORR_P_UINT, "1", ORR_PF_POSITIVE, "packages", NULL, 1, SCHED_MAX_CPUS},
    {"cores_per_socket", ORR_P_UINT, "1", ORR_PF_POSITIVE, "cores in each package", NULL, 1,
     SCHED_MAX_CPUS},
    {"threads_per_core", ORR_P_UINT, "1", ORR_PF_POSITIVE, "SMT threads per core", NULL, 1, 8},
    {"clusters_per_socket", ORR_P_UINT, "1", ORR_PF_POSITIVE,
     "last-level-cache clusters per package (cores split evenly)", NULL, 1, SCHED_MAX_CPUS},
    {"numa_nodes", ORR_P_UINT, "0", 0,
     "NUMA nodes, sockets split evenly among them; 0: one per socket", NULL, 0, SCHED_MAX_NODES},
    {"distances", ORR_P_SEQ, "[]", 0,
     "node distance matrix (SLIT: list of rows, 10 on the diagonal, symmetric); default 10/20"},
    {NULL},
};

static const struct orr_param type_params[] = {
    {"name", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "CPU type name (big, little, ...)"},
    {"count", ORR_P_UINT, NULL, ORR_PF_POSITIVE, "CPUs of this type", NULL, 1, SCHED_MAX_CPUS},
    {"capacity", ORR_P_UINT, "1024", ORR_PF_POSITIVE,
     "work per ns relative to the biggest CPU (1024): run phases take 1024/capacity longer",
     NULL, 1, SCHED_CAPACITY_SCALE},
    {"frequency", ORR_P_FREQ, "0Hz", 0, "clock for run_cycles; 0: the node's frequency"},
    {"busy_mw", ORR_P_UINT, "0", 0, "power of one CPU running, mW (energy model)", NULL, 0,
     1000000},
    {"idle_mw", ORR_P_UINT, "0", 0, "power of one idle CPU, mW (energy model)", NULL, 0, 1000000},
    {NULL},
};

/* Parse one distance entry: an integer 10..254. */
static int distance_at(const struct orr_node *n, const char *kp, unsigned *out, struct orr_diag *d)
{
    char *end = NULL;
    unsigned long v = n->kind == ORR_NODE_SCALAR && *n->scalar ? strtoul(n->scalar, &end, 10) : 0;
    if (n->kind != ORR_NODE_SCALAR || !end || *end || n->scalar[0] == '-' || v < 10 || v > 254) {
        orr_diag_error(d, &n->mark, kp, "a distance is an integer 10..254 (got '%s')",
                       n->kind == ORR_NODE_SCALAR ? n->scalar : "a collection");
        return ORR_ESCHEMA;
    }
    *out = (unsigned)v;
    return 0;
}

static int parse_distances(const struct orr_node *rows, const char *keypath, struct sched_machine *m,
                           struct orr_diag *d)
{
    unsigned nn = m->nodes;
    char kp[256];
    snprintf(kp, sizeof kp, "%s.topology.distances", keypath);
    m->aDistance = calloc((size_t)nn * nn, 1);
    if (!m->aDistance)
        orr_oom();
    if (!rows || rows->n == 0) { /* default: local 10, remote 20 */
        for (unsigned a = 0; a < nn; a++)
            for (unsigned b = 0; b < nn; b++)
                m->aDistance[a * nn + b] = a == b ? SCHED_NUMA_LOCAL : 20;
        return 0;
    }
    if (rows->n != nn) {
        orr_diag_error(d, &rows->mark, kp,
                       "the distance matrix must be square, %u x %u for %u NUMA nodes (got %zu "
                       "rows)",
                       nn, nn, nn, rows->n);
        return ORR_ESCHEMA;
    }
    for (unsigned a = 0; a < nn; a++) {
        const struct orr_node *row = rows->aItem[a];
        if (row->kind != ORR_NODE_SEQ || row->n != nn) {
            orr_diag_error(d, &row->mark, kp,
                           "the distance matrix must be square: row %u needs %u entries (got %zu)",
                           a, nn, row->kind == ORR_NODE_SEQ ? row->n : (size_t)0);
            return ORR_ESCHEMA;
        }
        for (unsigned b = 0; b < nn; b++) {
            unsigned v;
            if (distance_at(row->aItem[b], kp, &v, d))
                return ORR_ESCHEMA;
            if ((a == b) != (v == SCHED_NUMA_LOCAL)) {
                orr_diag_error(d, &row->aItem[b]->mark, kp,
                               a == b ? "distance[%u][%u] must be 10 (a node's distance to itself)"
                                      : "distance[%u][%u] must be more than 10 (only a node is "
                                        "local to itself)",
                               a, b);
                return ORR_ESCHEMA;
            }
            m->aDistance[a * nn + b] = (uint8_t)v;
        }
    }
    for (unsigned a = 0; a < nn; a++)
        for (unsigned b = 0; b < a; b++)
            if (m->aDistance[a * nn + b] != m->aDistance[b * nn + a]) {
                orr_diag_error(d, &rows->aItem[a]->aItem[b]->mark, kp,
                               "the distance matrix must be symmetric: distance[%u][%u] = %u but "
                               "distance[%u][%u] = %u",
                               a, b, m->aDistance[a * nn + b], b, a, m->aDistance[b * nn + a]);
                return ORR_ESCHEMA;
            }
    return 0;
}

static int parse_topology(const struct orr_node *map, const char *keypath, struct sched_machine *m,
                          struct orr_diag *d)
{
    struct orr_params p = {0};
    char kp[256];
    snprintf(kp, sizeof kp, "%s.topology", keypath);
    int rc = map->kind == ORR_NODE_MAP
                 ? orr_params_parse(topo_params, map, kp, NULL, &p, d)
                 : (orr_diag_error(d, &map->mark, kp, "expected a mapping (sockets, "
                                                      "cores_per_socket, threads_per_core, ...)"),
                    ORR_ESCHEMA);
    if (rc == 0) {
        m->sockets = (unsigned)orr_param_u64(&p, "sockets");
        m->cores_per_socket = (unsigned)orr_param_u64(&p, "cores_per_socket");
        m->threads_per_core = (unsigned)orr_param_u64(&p, "threads_per_core");
        m->clusters_per_socket = (unsigned)orr_param_u64(&p, "clusters_per_socket");
        m->nodes = (unsigned)orr_param_u64(&p, "numa_nodes");
        if (m->nodes == 0)
            m->nodes = m->sockets <= SCHED_MAX_NODES ? m->sockets : 1;
        uint64_t product = (uint64_t)m->sockets * m->cores_per_socket * m->threads_per_core;
        if (product > SCHED_MAX_CPUS) {
            orr_diag_error(d, &map->mark, kp,
                           "sockets x cores_per_socket x threads_per_core = %llu CPUs, more than "
                           "the scheduler's %u",
                           (unsigned long long)product, SCHED_MAX_CPUS);
            rc = ORR_ESCHEMA;
        } else if (m->cores_per_socket % m->clusters_per_socket) {
            orr_diag_error(d, orr_param_mark(&p, "clusters_per_socket"), kp,
                           "clusters_per_socket (%u) must divide cores_per_socket (%u)",
                           m->clusters_per_socket, m->cores_per_socket);
            rc = ORR_ESCHEMA;
        } else if (m->sockets % m->nodes) {
            orr_diag_error(d, orr_param_mark(&p, "numa_nodes"), kp,
                           "numa_nodes (%u) must divide sockets (%u): sockets are split evenly "
                           "among the nodes",
                           m->nodes, m->sockets);
            rc = ORR_ESCHEMA;
        } else {
            m->ncpu = (unsigned)product;
            rc = parse_distances(orr_param_map(&p, "distances"), keypath, m, d);
        }
    }
    orr_params_free(&p);
    return rc;
}

static int parse_types(const struct orr_node *seq, const char *keypath, struct sched_machine *m,
                       unsigned *total, struct orr_diag *d)
{
    char kp[256];
    snprintf(kp, sizeof kp, "%s.cpu_types", keypath);
    if (seq->kind != ORR_NODE_SEQ || seq->n == 0 || seq->n > SCHED_MAX_PD) {
        orr_diag_error(d, &seq->mark, kp, "expected a list of 1..%u CPU types", SCHED_MAX_PD);
        return ORR_ESCHEMA;
    }
    m->aType = calloc(seq->n, sizeof *m->aType);
    m->aEnergy = calloc(seq->n, sizeof *m->aEnergy);
    if (!m->aType || !m->aEnergy)
        orr_oom();
    int rc = 0;
    *total = 0;
    for (size_t i = 0; i < seq->n; i++) {
        struct orr_params p = {0};
        char ikp[300];
        snprintf(ikp, sizeof ikp, "%s.%zu", kp, i);
        int r = seq->aItem[i]->kind == ORR_NODE_MAP
                    ? orr_params_parse(type_params, seq->aItem[i], ikp, NULL, &p, d)
                    : (orr_diag_error(d, &seq->aItem[i]->mark, ikp,
                                      "expected {name, count, capacity, frequency, busy_mw, "
                                      "idle_mw}"),
                       ORR_ESCHEMA);
        if (r == 0) {
            struct sched_cpu_type *t = &m->aType[m->nType++];
            t->name = orr_param_str(&p, "name");
            t->count = (unsigned)orr_param_u64(&p, "count");
            t->capacity = (unsigned)orr_param_u64(&p, "capacity");
            t->hz = orr_param_u64(&p, "frequency");
            t->busy_mw = (uint32_t)orr_param_u64(&p, "busy_mw");
            t->idle_mw = (uint32_t)orr_param_u64(&p, "idle_mw");
            m->aEnergy[i] = (struct sched_energy_pd){t->busy_mw, t->idle_mw};
            *total += t->count;
        }
        orr_params_free(&p);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

/* Fill aCpu from the shape (or a flat one: every CPU its own core, one LLC,
 * one socket, one node). */
static void lay_out(struct sched_machine *m)
{
    unsigned n = m->ncpu;
    if (!m->sockets) {
        m->sockets = m->clusters_per_socket = m->nodes = m->threads_per_core = 1;
        m->cores_per_socket = n;
        m->aDistance = calloc(1, 1);
        if (!m->aDistance)
            orr_oom();
        m->aDistance[0] = SCHED_NUMA_LOCAL;
    }
    m->aCpu = calloc(n, sizeof *m->aCpu);
    m->aCpuType = calloc(n, 1);
    if (!m->aCpu || !m->aCpuType)
        orr_oom();
    unsigned tpc = m->threads_per_core, cps = m->cores_per_socket;
    unsigned per_cluster = cps / m->clusters_per_socket, per_node = m->sockets / m->nodes;
    for (unsigned i = 0, type = 0, left = m->nType ? m->aType[0].count : n; i < n; i++) {
        while (m->nType && left == 0)
            left = m->aType[++type].count;
        left--;
        unsigned core = i / tpc, socket = core / cps;
        m->aCpu[i] = (struct sched_cpu_topo){
            .core = (uint16_t)core,
            .llc = (uint16_t)(socket * m->clusters_per_socket + (core % cps) / per_cluster),
            .socket = (uint16_t)socket,
            .node = (uint16_t)(socket / per_node),
            .capacity = (uint16_t)(m->nType ? m->aType[type].capacity : SCHED_CAPACITY_SCALE),
            .pd = (uint16_t)type,
        };
        m->aCpuType[i] = (uint8_t)type;
    }
}

int sched_machine_parse(const struct orr_node *topology, const struct orr_node *cpu_types,
                        unsigned ncpu, bool cpus_given, const struct orr_mark *cpus_mark,
                        const char *keypath, struct sched_machine *out, struct orr_diag *d)
{
    memset(out, 0, sizeof *out);
    out->ncpu = ncpu;
    if (!topology && !cpu_types)
        return 0;
    out->described = true;
    unsigned total = 0;
    if (topology && parse_topology(topology, keypath, out, d))
        return ORR_ESCHEMA;
    if (cpu_types && parse_types(cpu_types, keypath, out, &total, d))
        return ORR_ESCHEMA;
    unsigned want = topology ? out->ncpu : cpu_types ? total : ncpu;
    if (!topology && !cpus_given)
        out->ncpu = want;
    if (cpus_given && want != ncpu) {
        orr_diag_error(d, cpus_mark, keypath,
                       "cpus is %u but the %s describes %u CPUs (leave cpus out to take it "
                       "from there)",
                       ncpu, topology ? "topology (sockets x cores_per_socket x threads_per_core)"
                                      : "cpu_types' counts",
                       want);
        return ORR_ESCHEMA;
    }
    if (topology && cpu_types && total != out->ncpu) {
        orr_diag_error(d, &cpu_types->mark, keypath,
                       "cpu_types' counts add up to %u CPUs but the topology has %u", total,
                       out->ncpu);
        return ORR_ESCHEMA;
    }
    lay_out(out);
    return 0;
}

void sched_machine_free(struct sched_machine *m)
{
    free(m->aCpu);
    free(m->aDistance);
    free(m->aType);
    free(m->aEnergy);
    free(m->aCpuType);
    memset(m, 0, sizeof *m);
}

struct sched_topology_desc sched_machine_desc(const struct sched_machine *m)
{
    return (struct sched_topology_desc){
        .nr_cpus = m->ncpu,
        .cpu = m->aCpu,
        .nr_nodes = m->nodes,
        .distance = m->aDistance,
        .nr_pd = m->nType ? m->nType : 1,
        .energy = m->nType ? m->aEnergy : NULL,
    };
}

/* ------------------------------------------------- scheduler tunables */

const struct orr_param sched_config_params[] = {
    {"tick", ORR_P_TIME, "4ms", ORR_PF_POSITIVE, "scheduler tick (Linux default HZ=250)"},
    {"slice", ORR_P_TIME, "750us", ORR_PF_POSITIVE, "EEVDF base slice (REFERENCES.md)"},
    {"rr_timeslice", ORR_P_TIME, "100ms", ORR_PF_POSITIVE, "SCHED_RR quantum"},
    {"dl_bound_permille", ORR_P_UINT, "950", ORR_PF_POSITIVE,
     "deadline admission bound per CPU (SCHED_DEADLINE default 95%)", NULL, 1, 1000},
    {"balance_interval", ORR_P_UINT, "4", ORR_PF_POSITIVE, "ticks between load balancing",
     NULL, 1, 1u << 20},
    {"features", ORR_P_LIST, "", 0, "scheduler feature overrides, NAME=0 or NAME=1 (list: docs/sched.md)"},
    {"check_every", ORR_P_UINT, "1", 0,
     "run the scheduler's invariant checks (O(tasks)) after every Nth kernel entry; 0: never"},
    {NULL},
};

static int apply_features(struct sched_config *cfg, const struct orr_params *p,
                          const char *keypath, struct orr_diag *d)
{
    size_t nf;
    const char *const *f = orr_param_list(p, "features", &nf);
    for (size_t i = 0; i < nf; i++) {
        const char *eq = strchr(f[i], '=');
        unsigned k = 0;
        const char *name = NULL;
        for (; eq && (name = sched_feature_name(k)); k++)
            if (strlen(name) == (size_t)(eq - f[i]) && !strncmp(name, f[i], (size_t)(eq - f[i])))
                break;
        if (!eq || !name || (strcmp(eq + 1, "0") && strcmp(eq + 1, "1"))) {
            orr_diag_error(d, orr_param_mark(p, "features"), keypath,
                           "'%s' is not NAME=0 or NAME=1 for a scheduler feature "
                           "(see docs/sched.md)",
                           f[i]);
            return ORR_ESCHEMA;
        }
        if (eq[1] == '1')
            cfg->features |= 1u << k;
        else
            cfg->features &= ~(1u << k);
    }
    return 0;
}

void sched_task_from_rtapp(struct sched_task *t, const struct rtapp_task *sp, uint64_t id,
                           unsigned ncpu)
{
    *t = (struct sched_task){0};
    t->id = id;
    t->policy = sp->policy == RTAPP_FIFO       ? SCHED_POLICY_FIFO
                : sp->policy == RTAPP_RR       ? SCHED_POLICY_RR
                : sp->policy == RTAPP_DEADLINE ? SCHED_POLICY_DEADLINE
                                               : SCHED_POLICY_NORMAL;
    t->nice = sp->nice;
    t->rt_prio = sp->prio;
    t->dl_runtime = sp->dl_runtime;
    t->dl_deadline = sp->dl_deadline;
    t->dl_period = sp->dl_period;
    for (unsigned cpu = 0; cpu < ncpu; cpu++) /* "any CPU" means this machine's */
        if (rtapp_on_cpu(sp, cpu))
            sched_affinity_set(t, cpu);
}

void sched_task_add_error(const struct rtapp_task *sp, const char *name, int rc,
                          struct orr_diag *d)
{
    if (rc == SCHED_EADMIT)
        orr_diag_error(d, &sp->mark, sp->keypath,
                       "admission control refused deadline task '%s': its bandwidth would "
                       "exceed the dl_bound_permille of every CPU it may use",
                       name);
    else
        orr_diag_error(d, &sp->mark, sp->keypath, "the scheduler refused task '%s'", name);
}

int sched_config_from_params(struct sched_config *cfg, const struct orr_params *p,
                             const char *keypath, struct orr_diag *d)
{
    sched_config_default(cfg);
    cfg->tick_ns = orr_param_u64(p, "tick") / ORR_NS;
    cfg->base_slice_ns = orr_param_u64(p, "slice") / ORR_NS;
    cfg->rr_timeslice_ns = orr_param_u64(p, "rr_timeslice") / ORR_NS;
    cfg->dl_bound_permille = (uint32_t)orr_param_u64(p, "dl_bound_permille");
    cfg->balance_interval = (uint32_t)orr_param_u64(p, "balance_interval");
    return apply_features(cfg, p, keypath, d);
}

/* ------------------------------------------------------------- groups */

const struct orr_param sched_group_params[] = {
    {"name", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "group name, used by tasks' group key"},
    {"quota", ORR_P_TIME, NULL, ORR_PF_POSITIVE, "CPU time the group's tasks may use per period"},
    {"period", ORR_P_TIME, NULL, ORR_PF_POSITIVE, "accounting period"},
    {NULL},
};

int sched_groups_make(struct sched_groups *g, struct sched *s, const struct orr_node *gs,
                      const char *keypath, struct orr_diag *d)
{
    int rc = 0;
    size_t ng = gs ? gs->n : 0;
    g->a = calloc(ng ? ng : 1, sizeof *g->a);
    g->aName = calloc(ng ? ng : 1, sizeof *g->aName);
    if (!g->a || !g->aName)
        orr_oom();
    for (size_t i = 0; i < ng; i++) {
        char kp[256];
        struct orr_params gp = {0};
        snprintf(kp, sizeof kp, "%s.%zu", keypath, i);
        int r = gs->aItem[i]->kind == ORR_NODE_MAP
                    ? orr_params_parse(sched_group_params, gs->aItem[i], kp, NULL, &gp, d)
                    : (orr_diag_error(d, &gs->aItem[i]->mark, kp, "expected {name, quota, period}"),
                       ORR_ESCHEMA);
        if (r == 0) {
            const char *name = orr_param_str(&gp, "name");
            for (size_t j = 0; j < g->n; j++)
                if (!strcmp(g->aName[j], name)) {
                    orr_diag_error(d, orr_param_mark(&gp, "name"), kp, "duplicate group '%s'", name);
                    r = ORR_ESCHEMA;
                }
            hal_ns_t quota = orr_param_u64(&gp, "quota") / ORR_NS;
            hal_ns_t period = orr_param_u64(&gp, "period") / ORR_NS;
            if (r == 0 && sched_group_init(s, &g->a[g->n], quota, period)) {
                orr_diag_error(d, &gs->aItem[i]->mark, kp,
                               "the scheduler refused group '%s' (quota and period must be at "
                               "least 1ns and the period below 2^40 ns)",
                               name);
                r = ORR_ESCHEMA;
            }
            if (r == 0 && !(g->aName[g->n] = strdup(name)))
                orr_oom();
            if (r == 0)
                g->n++;
        }
        orr_params_free(&gp);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

struct sched_group *sched_groups_find(const struct sched_groups *g, const char *name)
{
    for (size_t j = 0; j < g->n; j++)
        if (!strcmp(g->aName[j], name))
            return &g->a[j];
    return NULL;
}

void sched_groups_free(struct sched_groups *g)
{
    for (size_t j = 0; j < g->n; j++)
        free(g->aName[j]);
    free(g->aName);
    free(g->a);
    *g = (struct sched_groups){0};
}
