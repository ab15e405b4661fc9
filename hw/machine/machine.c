/* machine: the builder behind a scenario's top-level `machine:` section. It
 * turns a description — sockets, cores, private caches, a memory-side LLC
 * per socket, DRAM, NUMA links, CXL expanders, workloads per core — into
 * components and links, so a preset is enough to describe a server.
 *
 * What it builds, for S sockets of C cores and X CXL expanders:
 *
 *   sockS.coreC   tcore: the core, its L1 (and L2) and TSO store buffer;
 *                 isacore for cores whose workload is a guest ELF;
 *                 coh_port for `port: true` cores (driven from outside
 *                 through sockS.coreC.cpu, e.g. by a SystemC initiator)
 *   sockS.router  router: the socket's interconnect
 *   sockS.home    home: directory/snoop ordering point, LLC, for the
 *                 socket's memory range
 *   sockS.mem     dram: the socket's memory controller
 *   cxlK.home     home for the expander's range (attached to its socket)
 *   cxlK.mem      cxl_mem: the Type-3 expander, behind its CXL link
 *   cxlK.switch   cxl_switch, when the expander sits behind one
 *   numa          numa_info: the SLIT-style distance matrix, as metrics
 *
 * Agents (coherence endpoints) are numbered cores first (socket-major),
 * then socket homes, then CXL homes. Routers of different sockets are
 * fully connected by NUMA links. Address map: socket s owns
 * [s·M, (s+1)·M) for M = memory.size; expanders follow, in order, unless
 * given a base; overlaps are load-time errors.
 *
 * The distance matrix is derived from the idle latency of a load from a
 * socket's core to each node (interconnect hops, home lookup, memory
 * device), normalised as SLIT does: 10 for local, 10 · t(i,j) / t(i,i)
 * otherwise. `distances:` replaces it after being checked (square, 10 on
 * the diagonal, symmetric between sockets). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/dram_media.h"
#include "hw/isacore.h"
#include "hw/memmap.h"
#include "hw/pcache.h"
#include "hw/protocol.h"
#include "hw/registry.h"
#include "orrery/coh.h"
#include "orrery/systemc.h"
#include "orrery/units.h"
#include "workloads/memgen.h"

/* A scalar node holding printf text. */
static struct orr_node *node_printf(struct orr_node_arena *a, const struct orr_mark *mark,
                                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static struct orr_node *node_printf(struct orr_node_arena *a, const struct orr_mark *mark,
                                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!buf)
        abort();
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)len + 1, fmt, ap);
    va_end(ap);
    struct orr_node *n = orr_node_new_scalar(a, mark, buf, (size_t)len);
    free(buf);
    if (!n)
        abort();
    return n;
}

#define MAX_SOCKETS 16
#define MAX_CXL 16

static const char *const memory_models[] = {"tso", "weak", NULL};

static const struct orr_param machine_params[] = {
    {"sockets", ORR_P_UINT, "1", ORR_PF_POSITIVE, "sockets (NUMA nodes with cores)", NULL, 1, MAX_SOCKETS},
    {"cores_per_socket", ORR_P_UINT, "4", ORR_PF_POSITIVE, "cores in each socket", NULL, 1, 128},
    {"frequency", ORR_P_FREQ, "2GHz", ORR_PF_POSITIVE, "core and uncore clock"},
    {"protocol", ORR_P_STRING, "mesi", ORR_PF_NONEMPTY,
     "coherence: msi, mesi or moesi (snooping on one socket, directory otherwise) or a full "
     "name such as mesi-dir"},
    {"mutation", ORR_P_STRING, "", 0, "debug: inject a known protocol bug (docs/coherence.md)"},
    {"check", ORR_P_BOOL, "true", 0, "check coherence invariants during the run"},
    {"trace_states", ORR_P_BOOL, "false", 0,
     "trace every private line-state change (coh.state: a = state, b = line), for waveforms"},
    {"quantum", ORR_P_TIME, "100ns", ORR_PF_POSITIVE, "how far a core may run ahead of global time"},
    {"deadlock", ORR_P_TIME, "1ms", ORR_PF_POSITIVE, "a request in flight this long fails the run"},
    {"jitter", ORR_P_TIME, "0ps", 0, "testing: random extra delay per message at each router"},
    {"start_jitter", ORR_P_TIME, "0ps", 0, "testing: each core starts after a random delay up to this"},
    {"memory_model", ORR_P_ENUM, "tso", 0, "cores' store buffers: tso (in order) or weak",
     memory_models},
    {"timer_period", ORR_P_TIME, "0ps", 0, "a timer interrupt on every core every period; 0 = none"},
    {"drain_jitter", ORR_P_TIME, "0ps", 0,
     "testing: each buffered store waits a random delay up to this before it may drain"},
    {"replacement", ORR_P_ENUM, "lru", 0, "private cache replacement", cache_repl_names},
    {"mshrs", ORR_P_UINT, "16", ORR_PF_POSITIVE, "lines in flight per core", NULL, 2, 256},
    {"store_buffer", ORR_P_UINT, "16", 0, "store buffer entries per core; 0 = none", NULL, 0, 256},
    {"mlp", ORR_P_UINT, "0", 0, "loads in flight per core; 0 = the workload's hint", NULL, 0, 255},
    {"home_latency", ORR_P_CYCLES, "8cy", 0, "directory / LLC tag lookup at a home"},
    {"snoop_latency", ORR_P_TIME, "0ps", 0,
     "time a core takes to answer a probe; 0 = its outer private cache's hit latency"},
    {"l1d", ORR_P_MAP, "{}", 0, "private L1 data cache: size, ways, latency"},
    {"l2", ORR_P_MAP, "{}", 0, "private L2: size (0 = none), ways, latency"},
    {"llc", ORR_P_MAP, "{}", 0, "memory-side LLC per socket: size, ways, latency, inclusive, replacement"},
    {"interconnect", ORR_P_MAP, "{}", 0, "core_link, hop, numa_latency, numa_bandwidth, mem_link"},
    {"memory", ORR_P_MAP, "{}", 0, "per-socket memory: size, and dram timing keys (docs/memory.md)"},
    {"cxl", ORR_P_SEQ, "[]", 0, "CXL Type-3 expanders: socket, size, base, link_latency, link_bandwidth, switch, ..."},
    {"distances", ORR_P_SEQ, "[]", 0, "SLIT distance matrix to use instead of the derived one"},
    {"workloads", ORR_P_SEQ, "[]", 0, "what cores run: {cores: all | sockN | [0, 2-3], pattern: ...}; "
     "{cores: ..., port: true} builds them as coh_port for an outside requester"},
    {NULL},
};

static const struct orr_param l1_params[] = {
    {"size", ORR_P_SIZE, "32KiB", ORR_PF_POSITIVE, "capacity"},
    {"ways", ORR_P_UINT, "8", ORR_PF_POSITIVE, "associativity", NULL, 1, 64},
    {"latency", ORR_P_CYCLES, "4cy", 0, "hit latency"},
    {NULL},
};
static const struct orr_param l2_params[] = {
    {"size", ORR_P_SIZE, "0B", 0, "capacity; 0 = no L2"},
    {"ways", ORR_P_UINT, "16", ORR_PF_POSITIVE, "associativity", NULL, 1, 64},
    {"latency", ORR_P_CYCLES, "14cy", 0, "hit latency"},
    {NULL},
};
static const struct orr_param llc_params[] = {
    {"size", ORR_P_SIZE, "0B", 0, "capacity per socket; 0 = none"},
    {"ways", ORR_P_UINT, "16", ORR_PF_POSITIVE, "associativity", NULL, 1, 64},
    {"latency", ORR_P_CYCLES, "20cy", 0, "data access on a hit"},
    {"inclusive", ORR_P_BOOL, "false", 0, "evictions recall private copies"},
    {"replacement", ORR_P_ENUM, "lru", 0, "replacement", cache_repl_names},
    {NULL},
};
static const struct orr_param net_params[] = {
    {"core_link", ORR_P_TIME, "1ns", ORR_PF_POSITIVE, "core or home to its router"},
    {"hop", ORR_P_TIME, "2ns", 0, "router forwarding delay"},
    {"numa_latency", ORR_P_TIME, "50ns", ORR_PF_POSITIVE, "router to router across sockets"},
    {"numa_bandwidth", ORR_P_BW, "0bps", 0, "per direction of each socket-to-socket link; 0 = unlimited"},
    {"mem_link", ORR_P_TIME, "1ns", ORR_PF_POSITIVE, "home to its memory controller"},
    {NULL},
};
/* Keys the builder reads itself; the others in memory: / cxl: entries go
 * to the dram / cxl_mem components, which validate them. */
/* memory.model: which component serves a socket's memory (docs/systemc.md
 * for tlm); the rest of memory: goes to it. */
static const char *const memory_kinds[] = {"dram", "flat", "tlm", NULL};
static const struct orr_component_type *const memory_kind_types[] = {
    &orr_dram_type, &orr_flatmem_type, &orr_tlm_target_type};
static const struct orr_param memory_params[] = {
    {"size", ORR_P_SIZE, "16GiB", ORR_PF_POSITIVE, "memory per socket"},
    {"model", ORR_P_ENUM, "dram", 0,
     "dram (timing model), flat (flatmem: constant latency) or tlm (tlm_target: a SystemC TLM "
     "target from a shared library)", memory_kinds},
    {NULL},
};
static const struct orr_param cxl_params[] = {
    {"name", ORR_P_STRING, "", 0, "component prefix (default cxlK)"},
    {"socket", ORR_P_UINT, "0", 0, "socket whose router the expander's home attaches to"},
    {"base", ORR_P_STRING, "", 0, "first address (default: after the previous range)"},
    {"size", ORR_P_SIZE, "64GiB", ORR_PF_POSITIVE, "capacity"},
    {"link_latency", ORR_P_TIME, "25ns", ORR_PF_POSITIVE, "CXL link, each way"},
    {"link_bandwidth", ORR_P_BW, "0bps", 0, "CXL link per direction; 0 = unlimited (the device limits)"},
    {"switch", ORR_P_BOOL, "false", 0, "put the expander behind a cxl_switch"},
    {"switch_latency", ORR_P_TIME, "50ns", 0, "the switch's port-to-port latency"},
    {NULL},
};

struct cxl {
    struct orr_params p;
    const struct orr_node *node;
    char name[32];
    unsigned socket;
    uint64_t base, size;
};

struct mach {
    struct orr_sim *s;
    struct orr_node_arena *a;
    struct orr_diag *d;
    const struct orr_node *root;
    struct orr_params top, l1, l2, llc, net, mem;
    unsigned S, C, N, X;
    const struct coh_protocol *proto;
    struct cxl cx[MAX_CXL];
    uint64_t mem_size;
    uint32_t distance[MAX_SOCKETS + MAX_CXL][MAX_SOCKETS + MAX_CXL];
    int *aCoreWork;          /* per core: index into workloads, -1 = idle */
    unsigned *aCoreRank, *aWorkCount;
};

/* ---------------------------------------------------------------- helpers */

static const struct orr_mark *mk(const struct mach *m) { return &m->root->mark; }

static struct orr_node *fmt_unit(struct mach *m, enum orr_unit_kind k, uint64_t v)
{
    char buf[64];
    orr_unit_format(k, v, buf, sizeof buf);
    return node_printf(m->a, mk(m), "%s", buf);
}

static void put_s(struct mach *m, struct orr_node *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put_s(struct mach *m, struct orr_node *n, const char *key, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    orr_node_put(m->a, n, key, NULL, node_printf(m->a, mk(m), "%s", buf));
}

static void put_u(struct mach *m, struct orr_node *n, const char *key, enum orr_unit_kind k,
                  uint64_t v)
{
    orr_node_put(m->a, n, key, NULL, fmt_unit(m, k, v));
}

/* Parse the keys of schema in node; other keys are left for a component. */
static int parse_own(const struct orr_param *schema, const struct orr_node *node, const char *kp,
                     struct orr_params *out, struct orr_diag *d)
{
    const char *skip[128];
    size_t n = 0;
    for (size_t i = 0; node && node->kind == ORR_NODE_MAP && i < node->n && n < 127; i++) {
        bool mine = false;
        for (size_t k = 0; schema[k].name; k++)
            mine |= strcmp(schema[k].name, node->aKey[i]) == 0;
        if (!mine)
            skip[n++] = node->aKey[i];
    }
    skip[n] = NULL;
    return orr_params_parse(schema, node, kp, skip, out, d);
}

static const char *const own_cxl_keys[] = {"name", "socket", "base", "size", "link_latency",
                                           "link_bandwidth", "switch", "switch_latency", NULL};
static const char *const own_memory_keys[] = {"size", "model", NULL};

static orr_time_t cycles(const struct mach *m, uint64_t n)
{
    return n * (orr_time_t)(UINT64_C(1000000000000) / orr_param_u64(&m->top, "frequency"));
}

/* -------------------------------------------------------------- checking */

static int pick_protocol(struct mach *m)
{
    const char *name = orr_param_str(&m->top, "protocol");
    const struct orr_mark *at = orr_param_mark(&m->top, "protocol");
    char full[64], list[256];
    m->proto = coh_protocol_find(name);
    if (!m->proto) {
        snprintf(full, sizeof full, "%s-%s", name, m->S == 1 ? "snoop" : "dir");
        m->proto = coh_protocol_find(full);
    }
    if (!m->proto) {
        orr_diag_error(m->d, at, "machine.protocol",
                       "unknown coherence protocol '%s' (families: msi, mesi, moesi; protocols: %s)",
                       name, coh_protocol_names(list, sizeof list));
        return ORR_ESCHEMA;
    }
    if (m->proto->variant == COH_SNOOP && m->S > 1) {
        orr_diag_error(m->d, at, "machine.protocol",
                       "protocol '%s' snoops within one socket, but this machine has %u sockets; "
                       "use '%s-dir'", m->proto->name, m->S, m->proto->family);
        return ORR_ESCHEMA;
    }
    const char *mut = orr_param_str(&m->top, "mutation");
    if (*mut && !coh_mutation_find(mut)) {
        orr_diag_error(m->d, orr_param_mark(&m->top, "mutation"), "machine.mutation",
                       "unknown mutation '%s' (see docs/coherence.md)", mut);
        return ORR_ESCHEMA;
    }
    return 0;
}

static int check_geometry(struct mach *m, const struct orr_params *p, const char *kp, bool may_be_zero)
{
    uint64_t size = orr_param_u64(p, "size");
    uint32_t ways = (uint32_t)orr_param_u64(p, "ways");
    if (may_be_zero && size == 0)
        return 0;
    if (pcache_geometry_ok(size, ways, NULL))
        return 0;
    char sz[32];
    orr_unit_format(ORR_UNIT_SIZE, size, sz, sizeof sz);
    orr_diag_error(m->d, orr_param_mark(p, "size"), kp,
                   "size %s is not ways × sets × 64 B with a power-of-two number of sets "
                   "(%u ways × 64 B = %u B per set)", sz, ways, ways * ORR_LINE_BYTES);
    return ORR_ESCHEMA;
}

static int read_cxl(struct mach *m)
{
    const struct orr_node *seq = orr_param_map(&m->top, "cxl");
    int rc = 0;
    uint64_t next = (uint64_t)m->S * m->mem_size;
    for (size_t i = 0; seq && i < seq->n; i++) {
        char kp[48];
        snprintf(kp, sizeof kp, "machine.cxl.%zu", i);
        const struct orr_node *e = seq->aItem[i];
        if (i >= MAX_CXL || e->kind != ORR_NODE_MAP) {
            orr_diag_error(m->d, &e->mark, kp, i >= MAX_CXL ? "at most 16 CXL expanders"
                                                            : "expected a mapping {socket, size, ...}");
            rc = ORR_ESCHEMA;
            continue;
        }
        struct cxl *x = &m->cx[m->X++];
        x->node = e;
        if (parse_own(cxl_params, e, kp, &x->p, m->d)) {
            rc = ORR_ESCHEMA;
            continue;
        }
        x->socket = (unsigned)orr_param_u64(&x->p, "socket");
        if (x->socket >= m->S) {
            orr_diag_error(m->d, orr_param_mark(&x->p, "socket"), kp,
                           "socket %u does not exist (the machine has %u)", x->socket, m->S);
            rc = ORR_ESCHEMA;
        }
        const char *name = orr_param_str(&x->p, "name");
        snprintf(x->name, sizeof x->name, "%s", *name ? name : "");
        if (!*name)
            snprintf(x->name, sizeof x->name, "cxl%u", m->X - 1);
        x->size = orr_param_u64(&x->p, "size");
        const char *base = orr_param_str(&x->p, "base"), *why = NULL;
        x->base = next;
        if (*base && memmap_parse_addr(base, &x->base, &why)) {
            orr_diag_error(m->d, orr_param_mark(&x->p, "base"), kp, "bad base '%s': %s", base, why);
            rc = ORR_ESCHEMA;
        }
        if (x->base % ORR_LINE_BYTES || x->size % ORR_LINE_BYTES) {
            orr_diag_error(m->d, orr_param_mark(&x->p, "base"), kp,
                           "base and size must be multiples of 64 B");
            rc = ORR_ESCHEMA;
        }
        next = x->base + x->size;
    }
    return rc;
}

static int check_memory_map(struct mach *m)
{
    struct memmap mm;
    memmap_init(&mm);
    int rc = 0;
    for (unsigned s = 0; s < m->S && rc == 0; s++) {
        char name[32];
        snprintf(name, sizeof name, "sock%u.mem", s);
        rc = memmap_add(&mm, (uint64_t)s * m->mem_size, m->mem_size, s, name,
                        orr_param_mark(&m->mem, "size"));
    }
    for (unsigned k = 0; k < m->X && rc == 0; k++)
        rc = memmap_add(&mm, m->cx[k].base, m->cx[k].size, m->S + k, m->cx[k].name,
                        &m->cx[k].node->mark);
    if (rc == 0)
        rc = memmap_finalize_diag(&mm, m->d, "machine.memory");
    else
        orr_diag_error(m->d, mk(m), "machine.memory", "a memory range wraps past 2^64");
    uint64_t end = (uint64_t)m->S * m->mem_size;
    for (unsigned k = 0; k < m->X; k++)
        if (m->cx[k].base + m->cx[k].size > end)
            end = m->cx[k].base + m->cx[k].size;
    if (rc == 0 && end > ORR_MEM_ADDR_MASK + 1) {
        orr_diag_error(m->d, mk(m), "machine.memory",
                       "the memory map ends past 2^48 bytes, the model's physical address width");
        rc = ORR_ESCHEMA;
    }
    memmap_free(&mm);
    return rc ? ORR_ESCHEMA : 0;
}

/* The idle random-read latency of a DRAM media description (a row
 * conflict: precharge, activate, column access, one burst, plus the
 * controller front end), from the keys given in node or dram_media's
 * defaults. */
static const struct orr_param media_schema[] = {DRAM_MEDIA_PARAMS, {NULL}};

static uint64_t media_latency(const struct orr_node *node)
{
    /* flat and tlm memories: their own `latency` (for tlm, not counting
     * the target's delay, which only the library knows) */
    const struct orr_node *model = node ? orr_node_get(node, "model") : NULL;
    if (model && model->kind == ORR_NODE_SCALAR && strcmp(model->scalar, "dram")) {
        const struct orr_node *lat = orr_node_get(node, "latency");
        uint64_t t = strcmp(model->scalar, "flat") ? 0 : 50 * ORR_NS;
        const char *why;
        if (lat && lat->kind == ORR_NODE_SCALAR)
            orr_unit_parse(ORR_UNIT_TIME, lat->scalar, &t, &why);
        return t;
    }
    struct orr_params p = {0};
    struct orr_diag quiet;
    orr_diag_init(&quiet);
    uint64_t t = 0;
    const char *skip[128];
    size_t n = 0;
    for (size_t i = 0; node && node->kind == ORR_NODE_MAP && i < node->n && n < 127; i++) {
        bool known = false;
        for (size_t k = 0; media_schema[k].name; k++)
            known |= strcmp(media_schema[k].name, node->aKey[i]) == 0;
        if (!known)
            skip[n++] = node->aKey[i];
    }
    skip[n] = NULL;
    /* errors in these keys are the memory component's to report */
    if (orr_params_parse(media_schema, node, "", skip, &p, &quiet) == 0)
        t = orr_param_u64(&p, "controller") + orr_param_u64(&p, "tRP") +
            orr_param_u64(&p, "tRCD") + orr_param_u64(&p, "tCL") + orr_param_u64(&p, "burst");
    orr_params_free(&p);
    orr_diag_free(&quiet);
    return t;
}

/* Idle load latency from a core of socket s to memory node j, in ps. */
static uint64_t idle_latency(const struct mach *m, unsigned s, unsigned j)
{
    const struct orr_params *n = &m->net;
    uint64_t t = 2 * orr_param_u64(n, "core_link") + 2 * orr_param_u64(n, "hop") +
                 cycles(m, orr_param_u64(&m->top, "home_latency")) +
                 2 * orr_param_u64(n, "mem_link");
    unsigned js = j < m->S ? j : m->cx[j - m->S].socket;
    t += media_latency(j < m->S ? orr_param_map(&m->top, "memory") : m->cx[j - m->S].node);
    if (js != s)
        t += 2 * orr_param_u64(n, "numa_latency") + 2 * orr_param_u64(n, "hop");
    if (j >= m->S) {
        const struct cxl *x = &m->cx[j - m->S];
        t += 2 * orr_param_u64(&x->p, "link_latency");
        if (orr_param_bool(&x->p, "switch"))
            t += 2 * orr_param_u64(&x->p, "switch_latency");
        /* the device's own latency: its `device` key, or cxl_mem's default */
        const struct orr_node *dv = orr_node_get(x->node, "device");
        uint64_t dev = 80000;
        if (dv && dv->kind == ORR_NODE_SCALAR)
            orr_unit_parse(ORR_UNIT_TIME, dv->scalar, &dev, NULL);
        t += dev;
    }
    return t;
}

static int read_distances(struct mach *m)
{
    unsigned n = m->S + m->X;
    for (unsigned i = 0; i < m->S; i++)
        for (unsigned j = 0; j < n; j++)
            m->distance[i][j] = (uint32_t)((10 * idle_latency(m, i, j) + idle_latency(m, i, i) / 2) /
                                           idle_latency(m, i, i));
    /* a CPU-less node's row: its column for the sockets (distance is
     * symmetric there), and for other CPU-less nodes, as seen from the
     * socket it hangs off */
    for (unsigned k = 0; k < m->X; k++)
        for (unsigned j = 0; j < n; j++)
            m->distance[m->S + k][j] = j < m->S          ? m->distance[j][m->S + k]
                                       : j == m->S + k ? 10
                                                       : m->distance[m->cx[k].socket][j];
    const struct orr_node *dn = orr_param_map(&m->top, "distances");
    if (!dn || dn->n == 0)
        return 0;
    if (dn->n != n) {
        orr_diag_error(m->d, &dn->mark, "machine.distances",
                       "expected %u rows (one per node: %u sockets + %u CXL), got %zu", n, m->S,
                       m->X, dn->n);
        return ORR_ESCHEMA;
    }
    uint32_t dist[MAX_SOCKETS + MAX_CXL][MAX_SOCKETS + MAX_CXL];
    for (unsigned i = 0; i < n; i++) {
        const struct orr_node *row = dn->aItem[i];
        char kp[48];
        snprintf(kp, sizeof kp, "machine.distances.%u", i);
        if (row->kind != ORR_NODE_SEQ || row->n != n) {
            orr_diag_error(m->d, &row->mark, kp, "expected a list of %u distances (the matrix "
                           "must be square)", n);
            return ORR_ESCHEMA;
        }
        for (unsigned j = 0; j < n; j++) {
            const struct orr_node *v = row->aItem[j];
            char *end = NULL;
            unsigned long x = v->kind == ORR_NODE_SCALAR ? strtoul(v->scalar, &end, 10) : 0;
            if (!end || end == v->scalar || *end || x < 10 || x > 254 || ((i == j) != (x == 10))) {
                orr_diag_error(m->d, &v->mark, kp,
                               "distance [%u][%u] = '%s': expected %s", i, j,
                               v->kind == ORR_NODE_SCALAR ? v->scalar : "(not a number)",
                               i == j ? "10 (a node's distance to itself)"
                                      : "a whole number from 11 to 254");
                return ORR_ESCHEMA;
            }
            dist[i][j] = (uint32_t)x;
        }
    }
    for (unsigned i = 0; i < m->S; i++)
        for (unsigned j = 0; j < i; j++)
            if (dist[i][j] != dist[j][i]) {
                orr_diag_error(m->d, &dn->aItem[i]->aItem[j]->mark, "machine.distances",
                               "distance [%u][%u] = %u but [%u][%u] = %u: distances between "
                               "sockets must be symmetric", i, j, dist[i][j], j, i, dist[j][i]);
                return ORR_ESCHEMA;
            }
    memcpy(m->distance, dist, sizeof dist);
    return 0;
}

/* cores: all | sockN | N | "A-B" | a list of N and "A-B". */
static int select_cores(struct mach *m, const struct orr_node *sel, const char *kp, bool *out)
{
    const struct orr_node *items[1] = {sel};
    const struct orr_node *const *list = sel->kind == ORR_NODE_SEQ
                                             ? (const struct orr_node *const *)sel->aItem : items;
    size_t n = sel->kind == ORR_NODE_SEQ ? sel->n : 1;
    for (size_t i = 0; i < n; i++) {
        const struct orr_node *v = list[i];
        unsigned long a, b;
        int used = 0;
        if (v->kind != ORR_NODE_SCALAR)
            goto bad;
        if (strcmp(v->scalar, "all") == 0) {
            a = 0;
            b = m->N - 1;
        } else if (sscanf(v->scalar, "sock%lu%n", &a, &used) == 1 && !v->scalar[used]) {
            if (a >= m->S)
                goto bad;
            b = (a + 1) * m->C - 1;
            a = a * m->C;
        } else if (sscanf(v->scalar, "%lu-%lu%n", &a, &b, &used) == 2 && !v->scalar[used]) {
        } else if (sscanf(v->scalar, "%lu%n", &a, &used) == 1 && !v->scalar[used]) {
            b = a;
        } else {
            goto bad;
        }
        if (a > b || b >= m->N)
            goto bad;
        for (unsigned long c = a; c <= b; c++)
            out[c] = true;
        continue;
    bad:
        orr_diag_error(m->d, &v->mark, kp,
                       "cores: '%s' is not 'all', 'sockN', a core number or a range 'A-B' of "
                       "cores 0..%u", v->kind == ORR_NODE_SCALAR ? v->scalar : "(not a scalar)",
                       m->N - 1);
        return ORR_ESCHEMA;
    }
    return 0;
}

static const char *const not_workload_keys[] = {"cores", NULL};

/* A workloads entry that runs litmus test threads instead of a pattern. */
static const struct orr_param litmus_entry_params[] = {
    {"cores", ORR_P_STRING, NULL, 0, "the cores (one per listed thread)"},
    {"litmus", ORR_P_STRING, NULL, ORR_PF_NONEMPTY, "litmus test file (docs/litmus.md)"},
    {"thread", ORR_P_UINT, "0", 0, "the test's thread the first selected core runs; the next "
                                   "core runs the next thread"},
    {NULL},
};

/* A workloads entry that hands cores to an outside requester (coh_port). */
static const struct orr_param port_entry_params[] = {
    {"cores", ORR_P_STRING, NULL, 0, "the cores built as coh_port"},
    {"port", ORR_P_BOOL, NULL, 0, "true: build the cores as coh_port, with a line-protocol port "
                                  "`cpu` for an outside requester"},
    {NULL},
};

/* A workloads entry that runs a guest program on isacores (docs/isa.md). */
static const struct orr_param isa_entry_params[] = {
    {"cores", ORR_P_STRING, NULL, 0, "the cores that run the program"},
    ISACORE_WORKLOAD_PARAMS,
    {NULL},
};

static int read_workloads(struct mach *m)
{
    const struct orr_node *seq = orr_param_map(&m->top, "workloads");
    m->aCoreWork = malloc(m->N * sizeof *m->aCoreWork);
    m->aCoreRank = calloc(m->N, sizeof *m->aCoreRank);
    m->aWorkCount = calloc(seq ? seq->n + 1 : 1, sizeof *m->aWorkCount);
    bool *sel = calloc(m->N, 1);
    if (!m->aCoreWork || !m->aCoreRank || !m->aWorkCount || !sel)
        abort();
    for (unsigned c = 0; c < m->N; c++)
        m->aCoreWork[c] = -1;
    int rc = 0;
    for (size_t w = 0; seq && w < seq->n && rc == 0; w++) {
        char kp[48];
        snprintf(kp, sizeof kp, "machine.workloads.%zu", w);
        const struct orr_node *e = seq->aItem[w];
        const struct orr_node *cores = orr_node_get(e, "cores");
        if (e->kind != ORR_NODE_MAP || !cores) {
            orr_diag_error(m->d, &e->mark, kp, "expected a mapping with 'cores' and a workload "
                           "'pattern' (docs/workloads-mem.md)");
            rc = ORR_ESCHEMA;
            break;
        }
        memset(sel, 0, m->N);
        if ((rc = select_cores(m, cores, kp, sel)))
            break;
        unsigned count = 0;
        for (unsigned c = 0; c < m->N; c++)
            if (sel[c]) {
                if (m->aCoreWork[c] >= 0) {
                    orr_diag_error(m->d, &cores->mark, kp,
                                   "core %u already runs machine.workloads.%d", c, m->aCoreWork[c]);
                    rc = ORR_ESCHEMA;
                    break;
                }
                m->aCoreWork[c] = (int)w;
                m->aCoreRank[c] = count++;
            }
        m->aWorkCount[w] = count;
        if (rc == 0 && orr_node_get(e, "elf")) {
            struct orr_params ip = {0};
            if (orr_params_parse(isa_entry_params, e, kp, NULL, &ip, m->d))
                rc = ORR_ESCHEMA;
            orr_params_free(&ip);
            continue;
        }
        if (rc == 0 && orr_node_get(e, "port")) {
            struct orr_params pp = {0};
            if (orr_params_parse(port_entry_params, e, kp, NULL, &pp, m->d)) {
                rc = ORR_ESCHEMA;
            } else if (!orr_param_bool(&pp, "port")) {
                orr_diag_error(m->d, orr_param_mark(&pp, "port"), kp,
                               "port: false builds nothing; leave the cores out of workloads "
                               "to keep them idle");
                rc = ORR_ESCHEMA;
            }
            orr_params_free(&pp);
            continue;
        }
        if (rc == 0 && orr_node_get(e, "litmus")) {
            struct orr_params lp = {0};
            if (orr_params_parse(litmus_entry_params, e, kp, NULL, &lp, m->d))
                rc = ORR_ESCHEMA;
            orr_params_free(&lp);
            continue;
        }
        /* validate once here, where the key paths are the user's */
        struct orr_node *wn = orr_node_copy_except(m->a, e, not_workload_keys);
        struct orr_params wp = {0};
        if (rc == 0 && orr_params_parse(memgen_params, wn, kp, NULL, &wp, m->d))
            rc = ORR_ESCHEMA;
        for (unsigned r = 0; rc == 0 && r < count; r++) {
            struct memgen *g = NULL;
            int cr = memgen_create(&g, &wp, kp, r, count, m->d);
            if (cr)
                rc = ORR_ESCHEMA;
            if (g)
                memgen_destroy(g);
            if (r == 0 && count > 64)
                r = count - 2; /* first and last are enough to check the shape */
        }
        orr_params_free(&wp);
    }
    free(sel);
    return rc;
}

/* ---------------------------------------------------------------- building */

static int add(struct mach *m, const struct orr_component_type *t, const char *path,
               struct orr_node *n, const char *kp)
{
    return orr_sim_add_component(m->s, t, path, n, kp, m->d, NULL);
}

static int link(struct mach *m, const char *a, const char *b, orr_time_t lat, uint64_t bw)
{
    return orr_sim_link(m->s, a, b, lat, bw, mk(m), m->d);
}

static unsigned home_agent(const struct mach *m, unsigned node) { return m->N + node; }

static struct orr_node *homes_list(struct mach *m)
{
    /* socket ranges then CXL ranges, sorted by base for the cores' lookup */
    unsigned n = m->S + m->X, order[MAX_SOCKETS + MAX_CXL];
    uint64_t base[MAX_SOCKETS + MAX_CXL], size[MAX_SOCKETS + MAX_CXL];
    for (unsigned i = 0; i < n; i++) {
        order[i] = i;
        base[i] = i < m->S ? (uint64_t)i * m->mem_size : m->cx[i - m->S].base;
        size[i] = i < m->S ? m->mem_size : m->cx[i - m->S].size;
    }
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && base[order[j]] < base[order[j - 1]]; j--) {
            unsigned t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    struct orr_node *seq = orr_node_new(m->a, ORR_NODE_SEQ, mk(m));
    for (unsigned i = 0; i < n; i++) {
        unsigned k = order[i];
        orr_node_push(m->a, seq, node_printf(m->a, mk(m), "%lluB %lluB %u node%u",
                                           (unsigned long long)base[k], (unsigned long long)size[k],
                                           home_agent(m, k), k));
    }
    return seq;
}

/* The keys of n that a type declares: a core built as something other
 * than a tcore is given only its own. */
static struct orr_node *only_keys(struct mach *m, const struct orr_node *n,
                                  const struct orr_param *params)
{
    struct orr_node *only = orr_node_new(m->a, ORR_NODE_MAP, mk(m));
    for (size_t i = 0; i < n->n; i++)
        for (const struct orr_param *q = params; q->name; q++)
            if (strcmp(q->name, n->aKey[i]) == 0)
                orr_node_put(m->a, only, n->aKey[i], NULL, n->aItem[i]);
    return only;
}

static int build_core(struct mach *m, unsigned s, unsigned c, struct orr_node *homes)
{
    unsigned id = s * m->C + c;
    struct orr_node *n = orr_node_new(m->a, ORR_NODE_MAP, mk(m));
    const struct orr_params *t = &m->top;
    put_s(m, n, "agent", "%u", id);
    put_s(m, n, "protocol", "%s", m->proto->name);
    put_s(m, n, "mutation", "%s", orr_param_str(t, "mutation"));
    orr_node_put(m->a, n, "homes", NULL, homes);
    put_u(m, n, "frequency", ORR_UNIT_FREQ, orr_param_u64(t, "frequency"));
    put_u(m, n, "l1_size", ORR_UNIT_SIZE, orr_param_u64(&m->l1, "size"));
    put_s(m, n, "l1_ways", "%llu", (unsigned long long)orr_param_u64(&m->l1, "ways"));
    put_u(m, n, "l1_latency", ORR_UNIT_CYCLES, orr_param_u64(&m->l1, "latency"));
    put_u(m, n, "l2_size", ORR_UNIT_SIZE, orr_param_u64(&m->l2, "size"));
    put_s(m, n, "l2_ways", "%llu", (unsigned long long)orr_param_u64(&m->l2, "ways"));
    put_u(m, n, "l2_latency", ORR_UNIT_CYCLES, orr_param_u64(&m->l2, "latency"));
    put_s(m, n, "replacement", "%s", cache_repl_names[orr_param_enum(t, "replacement")]);
    put_s(m, n, "mshrs", "%llu", (unsigned long long)orr_param_u64(t, "mshrs"));
    put_s(m, n, "store_buffer", "%llu", (unsigned long long)orr_param_u64(t, "store_buffer"));
    put_s(m, n, "mlp", "%llu", (unsigned long long)orr_param_u64(t, "mlp"));
    put_u(m, n, "quantum", ORR_UNIT_TIME, orr_param_u64(t, "quantum"));
    put_u(m, n, "deadlock", ORR_UNIT_TIME, orr_param_u64(t, "deadlock"));
    put_s(m, n, "check", "%s", orr_param_bool(t, "check") ? "true" : "false");
    put_u(m, n, "start_jitter", ORR_UNIT_TIME, orr_param_u64(t, "start_jitter"));
    put_u(m, n, "drain_jitter", ORR_UNIT_TIME, orr_param_u64(t, "drain_jitter"));
    put_s(m, n, "memory_model", "%s", memory_models[orr_param_enum(t, "memory_model")]);
    put_u(m, n, "timer_period", ORR_UNIT_TIME, orr_param_u64(t, "timer_period"));
    put_u(m, n, "snoop_latency", ORR_UNIT_TIME, orr_param_u64(t, "snoop_latency"));
    put_s(m, n, "trace_states", "%s", orr_param_bool(t, "trace_states") ? "true" : "false");
    int w = m->aCoreWork[id];
    const struct orr_node *e = w >= 0 ? orr_param_map(t, "workloads")->aItem[w] : NULL;
    const struct orr_node *lit = e ? orr_node_get(e, "litmus") : NULL;
    if (lit) {
        const struct orr_node *th = orr_node_get(e, "thread");
        orr_node_put(m->a, n, "litmus", NULL, (struct orr_node *)lit);
        put_s(m, n, "litmus_thread", "%lu",
              (th ? strtoul(th->scalar, NULL, 10) : 0) + m->aCoreRank[id]);
    } else if (e && orr_node_get(e, "elf")) {
        /* a guest program: an isacore, given the entry's keys and the core
         * keys it declares (not the trace-driven core's) */
        const struct orr_node *k = orr_node_copy_except(m->a, e, not_workload_keys);
        for (size_t i = 0; i < k->n; i++)
            orr_node_put(m->a, n, k->aKey[i], NULL, k->aItem[i]);
        put_s(m, n, "core", "%u", m->aCoreRank[id]);
        put_s(m, n, "ncores", "%u", m->aWorkCount[w]);
        char path[64];
        snprintf(path, sizeof path, "sock%u.core%u", s, c);
        return add(m, &orr_isacore_type, path, only_keys(m, n, orr_isacore_type.params), "machine");
    } else if (e && orr_node_get(e, "port")) {
        /* the same caches, driven through sockS.coreC.cpu (docs/coherence.md) */
        char path[64];
        snprintf(path, sizeof path, "sock%u.core%u", s, c);
        return add(m, &orr_coh_port_type, path,
                   only_keys(m, n, orr_coh_port_type.params),
                   "machine");
    } else if (w >= 0) {
        orr_node_put(m->a, n, "workload", NULL, orr_node_copy_except(m->a, e, not_workload_keys));
        put_s(m, n, "core", "%u", m->aCoreRank[id]);
        put_s(m, n, "ncores", "%u", m->aWorkCount[w]);
    }
    char path[64];
    snprintf(path, sizeof path, "sock%u.core%u", s, c);
    return add(m, &orr_tcore_type, path, n, "machine");
}

static int build_home(struct mach *m, const char *path, unsigned agent, uint64_t base,
                      uint64_t size, bool llc)
{
    struct orr_node *n = orr_node_new(m->a, ORR_NODE_MAP, mk(m));
    const struct orr_params *t = &m->top;
    put_s(m, n, "agent", "%u", agent);
    put_s(m, n, "protocol", "%s", m->proto->name);
    put_s(m, n, "mutation", "%s", orr_param_str(t, "mutation"));
    put_s(m, n, "first_cache", "0");
    put_s(m, n, "caches", "%u", m->N);
    put_u(m, n, "base", ORR_UNIT_SIZE, base);
    put_u(m, n, "size", ORR_UNIT_SIZE, size);
    put_u(m, n, "frequency", ORR_UNIT_FREQ, orr_param_u64(t, "frequency"));
    put_u(m, n, "latency", ORR_UNIT_CYCLES, orr_param_u64(t, "home_latency"));
    put_u(m, n, "llc_size", ORR_UNIT_SIZE, llc ? orr_param_u64(&m->llc, "size") : 0);
    put_s(m, n, "llc_ways", "%llu", (unsigned long long)orr_param_u64(&m->llc, "ways"));
    put_u(m, n, "llc_latency", ORR_UNIT_CYCLES, orr_param_u64(&m->llc, "latency"));
    put_s(m, n, "llc_repl", "%s", cache_repl_names[orr_param_enum(&m->llc, "replacement")]);
    put_s(m, n, "inclusive", "%s", orr_param_bool(&m->llc, "inclusive") ? "true" : "false");
    put_s(m, n, "check", "%s", orr_param_bool(t, "check") ? "true" : "false");
    return add(m, &orr_home_type, path, n, "machine");
}

/* Router of socket s: ports for its cores, its home, the CXL homes hanging
 * off it, then one per other socket. */
static unsigned router_port_of_socket(const struct mach *m, unsigned s, unsigned other)
{
    unsigned base = m->C + 1;
    for (unsigned k = 0; k < m->X; k++)
        base += m->cx[k].socket == s;
    return base + (other < s ? other : other - 1);
}

static int build_router(struct mach *m, unsigned s)
{
    struct orr_node *n = orr_node_new(m->a, ORR_NODE_MAP, mk(m));
    unsigned nports = router_port_of_socket(m, s, s == 0 ? 1 : 0) + (m->S - 1);
    if (m->S == 1)
        nports = router_port_of_socket(m, s, 1);
    put_s(m, n, "ports", "%u", nports);
    put_u(m, n, "latency", ORR_UNIT_TIME, orr_param_u64(&m->net, "hop"));
    put_u(m, n, "jitter", ORR_UNIT_TIME, orr_param_u64(&m->top, "jitter"));
    struct orr_node *routes = orr_node_new(m->a, ORR_NODE_SEQ, mk(m));
    unsigned agents = m->N + m->S + m->X;
    for (unsigned a = 0; a < agents; a++) {
        unsigned port;
        if (a < m->N) {
            unsigned sa = a / m->C;
            port = sa == s ? a % m->C : router_port_of_socket(m, s, sa);
        } else if (a < m->N + m->S) {
            unsigned sa = a - m->N;
            port = sa == s ? m->C : router_port_of_socket(m, s, sa);
        } else {
            unsigned k = a - m->N - m->S, sa = m->cx[k].socket;
            if (sa == s) {
                port = m->C + 1;
                for (unsigned j = 0; j < k; j++)
                    port += m->cx[j].socket == s;
            } else {
                port = router_port_of_socket(m, s, sa);
            }
        }
        orr_node_push(m->a, routes, node_printf(m->a, mk(m), "%u", port));
    }
    orr_node_put(m->a, n, "routes", NULL, routes);
    char path[32];
    snprintf(path, sizeof path, "sock%u.router", s);
    return add(m, &orr_router_type, path, n, "machine");
}

static int build_dram(struct mach *m, unsigned s)
{
    const struct orr_node *src = orr_param_map(&m->top, "memory");
    struct orr_node *n = src ? orr_node_copy_except(m->a, src, own_memory_keys) : orr_node_new(m->a, ORR_NODE_MAP, mk(m));
    put_s(m, n, "base", "%#llx", (unsigned long long)((uint64_t)s * m->mem_size));
    put_u(m, n, "size", ORR_UNIT_SIZE, m->mem_size);
    char path[32];
    snprintf(path, sizeof path, "sock%u.mem", s);
    return add(m, memory_kind_types[orr_param_enum(&m->mem, "model")], path, n, "machine.memory");
}

static int build_cxl(struct mach *m, unsigned k)
{
    struct cxl *x = &m->cx[k];
    char path[64], kp[48];
    snprintf(kp, sizeof kp, "machine.cxl.%u", k);
    snprintf(path, sizeof path, "%s.home", x->name);
    int rc = build_home(m, path, home_agent(m, m->S + k), x->base, x->size, false);
    struct orr_node *n = orr_node_copy_except(m->a, x->node, own_cxl_keys);
    put_s(m, n, "base", "%#llx", (unsigned long long)x->base);
    put_u(m, n, "size", ORR_UNIT_SIZE, x->size);
    snprintf(path, sizeof path, "%s.mem", x->name);
    if (rc == 0)
        rc = add(m, &orr_cxl_mem_type, path, n, kp);
    if (rc == 0 && orr_param_bool(&x->p, "switch")) {
        struct orr_node *sw = orr_node_new(m->a, ORR_NODE_MAP, mk(m));
        put_s(m, sw, "ports", "1");
        put_u(m, sw, "latency", ORR_UNIT_TIME, orr_param_u64(&x->p, "switch_latency"));
        struct orr_node *ranges = orr_node_new(m->a, ORR_NODE_SEQ, mk(m)), *r = orr_node_new(m->a, ORR_NODE_MAP, mk(m));
        put_s(m, r, "port", "0");
        put_s(m, r, "base", "%#llx", (unsigned long long)x->base);
        put_u(m, r, "size", ORR_UNIT_SIZE, x->size);
        orr_node_push(m->a, ranges, r);
        orr_node_put(m->a, sw, "ranges", NULL, ranges);
        snprintf(path, sizeof path, "%s.switch", x->name);
        rc = add(m, &orr_cxl_switch_type, path, sw, kp);
    }
    return rc;
}

static int build_numa_info(struct mach *m)
{
    struct orr_node *n = orr_node_new(m->a, ORR_NODE_MAP, mk(m)), *rows = orr_node_new(m->a, ORR_NODE_SEQ, mk(m));
    unsigned nn = m->S + m->X;
    for (unsigned i = 0; i < nn; i++) {
        char row[4 * (MAX_SOCKETS + MAX_CXL) + 1] = "";
        size_t len = 0;
        for (unsigned j = 0; j < nn; j++)
            len += (size_t)snprintf(row + len, sizeof row - len, "%s%u", j ? " " : "", m->distance[i][j]);
        orr_node_push(m->a, rows, node_printf(m->a, mk(m), "%s", row));
    }
    orr_node_put(m->a, n, "distances", NULL, rows);
    return add(m, &orr_numa_info_type, "numa", n, "machine");
}

static int build_links(struct mach *m)
{
    const struct orr_params *n = &m->net;
    orr_time_t core_link = orr_param_u64(n, "core_link"), mem_link = orr_param_u64(n, "mem_link");
    char a[64], b[64];
    int rc = 0;
    for (unsigned s = 0; s < m->S && rc == 0; s++) {
        for (unsigned c = 0; c < m->C && rc == 0; c++) {
            snprintf(a, sizeof a, "sock%u.core%u.mem", s, c);
            snprintf(b, sizeof b, "sock%u.router.p%u", s, c);
            rc = link(m, a, b, core_link, 0);
        }
        snprintf(a, sizeof a, "sock%u.home.net", s);
        snprintf(b, sizeof b, "sock%u.router.p%u", s, m->C);
        if (rc == 0)
            rc = link(m, a, b, core_link, 0);
        snprintf(a, sizeof a, "sock%u.home.m0", s);
        snprintf(b, sizeof b, "sock%u.mem.in0", s);
        if (rc == 0)
            rc = link(m, a, b, mem_link, 0);
        for (unsigned t = s + 1; t < m->S && rc == 0; t++) {
            snprintf(a, sizeof a, "sock%u.router.p%u", s, router_port_of_socket(m, s, t));
            snprintf(b, sizeof b, "sock%u.router.p%u", t, router_port_of_socket(m, t, s));
            rc = link(m, a, b, orr_param_u64(n, "numa_latency"), orr_param_u64(n, "numa_bandwidth"));
        }
    }
    unsigned next_port[MAX_SOCKETS];
    for (unsigned s = 0; s < m->S; s++)
        next_port[s] = m->C + 1;
    for (unsigned k = 0; k < m->X && rc == 0; k++) {
        const struct cxl *x = &m->cx[k];
        snprintf(a, sizeof a, "%s.home.net", x->name);
        snprintf(b, sizeof b, "sock%u.router.p%u", x->socket, next_port[x->socket]++);
        rc = link(m, a, b, core_link, 0);
        orr_time_t lat = orr_param_u64(&x->p, "link_latency");
        uint64_t bw = orr_param_u64(&x->p, "link_bandwidth");
        snprintf(a, sizeof a, "%s.home.m0", x->name);
        if (rc == 0 && orr_param_bool(&x->p, "switch")) {
            snprintf(b, sizeof b, "%s.switch.up", x->name);
            rc = link(m, a, b, lat, bw);
            snprintf(a, sizeof a, "%s.switch.d0", x->name);
        }
        snprintf(b, sizeof b, "%s.mem.up", x->name);
        if (rc == 0)
            rc = link(m, a, b, orr_param_bool(&x->p, "switch") ? mem_link : lat,
                      orr_param_bool(&x->p, "switch") ? 0 : bw);
    }
    return rc;
}

static void mach_free(struct mach *m)
{
    orr_params_free(&m->top);
    orr_params_free(&m->l1);
    orr_params_free(&m->l2);
    orr_params_free(&m->llc);
    orr_params_free(&m->net);
    orr_params_free(&m->mem);
    for (unsigned k = 0; k < m->X; k++)
        orr_params_free(&m->cx[k].p);
    free(m->aCoreWork);
    free(m->aCoreRank);
    free(m->aWorkCount);
}

static int machine_expand(struct orr_sim *s, const struct orr_node *node, const char *keypath,
                          struct orr_diag *d)
{
    struct mach *m = calloc(1, sizeof *m);
    if (!m)
        return ORR_ENOMEM;
    m->s = s;
    m->a = orr_sim_nodes(s);
    m->d = d;
    m->root = node;
    (void)keypath;
    int rc = orr_params_parse(machine_params, node, "machine", NULL, &m->top, d);
    if (rc == 0) {
        int r1 = orr_params_parse(l1_params, orr_param_map(&m->top, "l1d"), "machine.l1d", NULL, &m->l1, d);
        int r2 = orr_params_parse(l2_params, orr_param_map(&m->top, "l2"), "machine.l2", NULL, &m->l2, d);
        int r3 = orr_params_parse(llc_params, orr_param_map(&m->top, "llc"), "machine.llc", NULL, &m->llc, d);
        int r4 = orr_params_parse(net_params, orr_param_map(&m->top, "interconnect"),
                                  "machine.interconnect", NULL, &m->net, d);
        int r5 = parse_own(memory_params, orr_param_map(&m->top, "memory"), "machine.memory", &m->mem, d);
        rc = r1 || r2 || r3 || r4 || r5 ? ORR_ESCHEMA : 0;
    }
    if (rc == 0) {
        m->S = (unsigned)orr_param_u64(&m->top, "sockets");
        m->C = (unsigned)orr_param_u64(&m->top, "cores_per_socket");
        m->N = m->S * m->C;
        m->mem_size = orr_param_u64(&m->mem, "size");
        if (m->N > 256) {
            orr_diag_error(d, orr_param_mark(&m->top, "cores_per_socket"), "machine",
                           "at most 256 cores per machine (%u sockets × %u cores)", m->S, m->C);
            rc = ORR_ESCHEMA;
        }
        if (m->mem_size % ORR_LINE_BYTES) {
            orr_diag_error(d, orr_param_mark(&m->mem, "size"), "machine.memory",
                           "size must be a multiple of 64 B");
            rc = ORR_ESCHEMA;
        }
    }
    if (rc == 0) {
        int r1 = read_cxl(m);
        int r2 = pick_protocol(m);
        int r3 = check_geometry(m, &m->l1, "machine.l1d", false);
        int r4 = check_geometry(m, &m->l2, "machine.l2", true);
        int r5 = check_geometry(m, &m->llc, "machine.llc", true);
        rc = r1 || r2 || r3 || r4 || r5 ? ORR_ESCHEMA : 0;
    }
    if (rc == 0)
        rc = check_memory_map(m);
    if (rc == 0)
        rc = read_distances(m);
    if (rc == 0)
        rc = read_workloads(m);
    struct orr_node *homes = rc == 0 ? homes_list(m) : NULL;
    for (unsigned sk = 0; rc == 0 && sk < m->S; sk++) {
        for (unsigned c = 0; rc == 0 && c < m->C; c++)
            rc = build_core(m, sk, c, homes);
        if (rc == 0)
            rc = build_router(m, sk);
        char path[32];
        snprintf(path, sizeof path, "sock%u.home", sk);
        if (rc == 0)
            rc = build_home(m, path, home_agent(m, sk), (uint64_t)sk * m->mem_size, m->mem_size, true);
        if (rc == 0)
            rc = build_dram(m, sk);
    }
    for (unsigned k = 0; rc == 0 && k < m->X; k++)
        rc = build_cxl(m, k);
    if (rc == 0)
        rc = build_numa_info(m);
    if (rc == 0)
        rc = build_links(m);
    mach_free(m);
    free(m);
    return rc;
}

const struct orr_component_type orr_machine_type = {
    .name = "machine",
    .summary = "builder of the top-level `machine:` section: sockets, cores, caches, memory, CXL",
    .params = machine_params,
    .expand = machine_expand,
};

