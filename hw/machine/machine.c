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
 *                 through sockS.coreC.cpu, e.g. by a SystemC initiator);
 *                 kcore for the cores a `kernel:` section claims (its
 *                 builder, hw/platform/kernel.c, adds their interrupt
 *                 controller)
 *   sockS.router  router: the socket's interconnect
 *   sockS.home    home: directory/snoop ordering point, LLC, for the
 *                 socket's memory range
 *   sockS.mem     dram: the socket's memory controller
 *   cxlK.home     home for the expander's range (attached to its socket)
 *   cxlK.mem      cxl_mem: the Type-3 expander, behind its CXL link
 *   cxlK.switch   cxl_switch, when the expander sits behind one
 *   numa          numa_info: the SLIT-style distance matrix, as metrics
 *   pcie          pcie_rc, when `pcie:` is given: devices link to its
 *                 dev<N> ports in the scenario's links:
 *   pcie.io       coh_port: the root complex's coherent agent, so device
 *                 DMA snoops and invalidates the cores' caches (on the
 *                 router of pcie.socket, after the other ports)
 *
 * Agents (coherence endpoints) are numbered cores first (socket-major),
 * then the root complex's agent (when there is one), then socket homes,
 * then CXL homes. Routers of different sockets are
 * fully connected by NUMA links. Address map: socket s owns
 * [s·M, (s+1)·M) for M = memory.size; expanders follow, in order, unless
 * given a base; overlaps are load-time errors.
 *
 * The distance matrix is derived from the idle latency of a load from a
 * socket's core to each node (interconnect hops, home lookup, memory
 * device), normalised as SLIT does: 10 for local, 10 · t(i,j) / t(i,i)
 * otherwise. `distances:` replaces it after being checked (square, 10 on
 * the diagonal, symmetric between sockets).
 *
 * Keys: the machine accepts its children's keys on their behalf — a
 * core's and its caches' (hw/core.h, hw/pcache.h), a home's LLC
 * (hw/home.h), a router's jitter (hw/numa.h), a memory's and an
 * expander's (parsed with the memory type's own schema, hw/cxl.h) — by
 * including their declarations, so each default is declared once, and
 * hands the children typed values (orr_params_forward_all keeps the
 * user's file:line:col). It sets what it computes (agent ids, homes,
 * routes, bases) with orr_param_set_*: no value goes back through text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/core.h"
#include "hw/cxl.h"
#include "hw/home.h"
#include "hw/isacore.h"
#include "hw/kcore.h"
#include "hw/memmap.h"
#include "hw/numa.h"
#include "hw/pcache.h"
#include "hw/pcie_rc.h"
#include "hw/protocol.h"
#include "hw/registry.h"
#include "hw/sched_machine.h"
#include "orrery/coh.h"
#include "orrery/systemc.h"
#include "orrery/units.h"
#include "workloads/memgen.h"
#include "workloads/rtapp.h"

#define MAX_SOCKETS 16
#define MAX_CXL 16

static const struct orr_param net_params[] = {
    {"core_link", ORR_P_TIME, "1ns", ORR_PF_POSITIVE, "core or home to its router"},
    {"hop", ORR_P_TIME, "2ns", 0, "router forwarding delay"},
    {"numa_latency", ORR_P_TIME, "50ns", ORR_PF_POSITIVE, "router to router across sockets"},
    {"numa_bandwidth", ORR_P_BW, "0bps", 0, "per direction of each socket-to-socket link; 0 = unlimited"},
    {"mem_link", ORR_P_TIME, "1ns", ORR_PF_POSITIVE, "home to its memory controller"},
    {NULL},
};

/* A `cxl:` entry: where the expander sits, and the expander's own keys
 * (base, size, device, bandwidth, media: cxl_mem's declarations). */
static const struct orr_param cxl_entry_params[] = {
    {"name", ORR_P_STRING, "", 0, "component prefix (default cxlK)"},
    {"socket", ORR_P_UINT, "0", 0, "socket whose router the expander's home attaches to"},
    {"link_latency", ORR_P_TIME, "25ns", ORR_PF_POSITIVE, "CXL link, each way"},
    {"link_bandwidth", ORR_P_BW, "0bps", 0, "CXL link per direction; 0 = unlimited (the device limits)"},
    {"switch", ORR_P_BOOL, "false", 0, "put the expander behind a cxl_switch"},
    {"switch_latency", ORR_P_TIME, CXL_SWITCH_LATENCY, 0, "the switch's port-to-port latency"},
    {"", ORR_P_INCLUDE, .group = cxl_mem_params}, /* base (default: after the previous range) */
    {NULL},
};

/* `pcie:` — a root complex: where its coherent agent sits, and the root
 * complex's own keys (pcie_rc's declarations). */
static const struct orr_param pcie_key_params[] = {
    {"socket", ORR_P_UINT, "0", 0, "socket whose router the root complex's coherent agent joins"},
    {"mem_link", ORR_P_TIME, "10ns", ORR_PF_POSITIVE,
     "root complex to its coherent agent (the I/O hub's internal path)"},
    {"", ORR_P_INCLUDE, .group = pcie_rc_params}, /* ports, gen, width, latency, bars, iommu */
    {NULL},
};

static const struct orr_param machine_params[] = {
    {"sockets", ORR_P_UINT, "1", ORR_PF_POSITIVE, "sockets (NUMA nodes with cores)", NULL, 1, MAX_SOCKETS},
    {"cores_per_socket", ORR_P_UINT, "4", ORR_PF_POSITIVE, "cores in each socket", NULL, 1, 128},
    /* protocol, mutation, check, frequency, l1d, l2, replacement, mshrs,
     * snoop_latency, trace_states, deadlock */
    {"", ORR_P_INCLUDE, .group = pcache_params},
    {"", ORR_P_INCLUDE, .group = core_params}, /* quantum */
    /* store_buffer, mlp, memory_model, timer_period, start_jitter, drain_jitter,
     * drain_hold, sb_mutation */
    {"", ORR_P_INCLUDE, .group = tcore_pipeline_params},
    {"", ORR_P_INCLUDE, .group = router_jitter_params}, /* jitter */
    {"home_latency", ORR_P_CYCLES, "8cy", 0, "directory / LLC tag lookup at a home"},
    {"", ORR_P_INCLUDE, .group = home_llc_key}, /* llc */
    {"interconnect", ORR_P_GROUP, "{}", 0, "core_link, hop, numa_latency, numa_bandwidth, mem_link",
     .group = net_params},
    {"memory", ORR_P_MAP, "{}", 0,
     "per-socket memory: model (dram, flat or tlm) and that component's keys: size, DRAM timing, "
     "... (docs/memory.md)"},
    {"cxl", ORR_P_GROUPS, "[]", 0,
     "CXL Type-3 expanders: socket, size, base, link_latency, link_bandwidth, switch, and "
     "cxl_mem's keys", .group = cxl_entry_params},
    {"distances", ORR_P_SEQ, "[]", 0, "SLIT distance matrix to use instead of the derived one"},
    {"pcie", ORR_P_GROUP, "{}", 0,
     "a PCIe root complex (only when the key is given): socket, mem_link and pcie_rc's keys "
     "(ports, gen, width, latency, bar_base, bar_size, msix_base, iommu, iotlb_entries, "
     "iotlb_miss, iova_base, passthrough); devices link to pcie.dev<N> (docs/pcie.md)",
     .group = pcie_key_params},
    {"workloads", ORR_P_SEQ, "[]", 0, "what cores run: {cores: all | sockN | [0, 2-3], pattern: ...}; "
     "{cores: ..., port: true} builds them as coh_port for an outside requester"},
    {NULL},
};

/* memory.model: which component serves a socket's memory (docs/systemc.md
 * for tlm); the other keys of memory: are that component's. */
static const char *const memory_kinds[] = {"dram", "flat", "tlm", NULL};
static const struct orr_component_type *const memory_kind_types[] = {
    &orr_dram_type, &orr_flatmem_type, &orr_tlm_target_type};
static const struct orr_param memory_model_params[] = {
    {"model", ORR_P_ENUM, "dram", 0,
     "dram (timing model), flat (flatmem: constant latency) or tlm (tlm_target: a SystemC TLM "
     "target from a shared library)", memory_kinds},
    {NULL},
};

struct cxl {
    const struct orr_params *p; /* its cxl_entry_params, in m->top */
    char name[32];
    unsigned socket;
    uint64_t base, size;
};

struct mach {
    struct orr_sim *s;
    struct orr_node_arena *a;
    struct orr_diag *d;
    const struct orr_node *root;
    struct orr_params top;
    struct orr_params memp;          /* memory: with its component's schema */
    const struct orr_component_type *memtype;
    unsigned S, C, N, X;
    unsigned nIo, io_socket; /* 1: a root complex and its coherent agent (agent N) */
    const struct coh_protocol *proto;
    struct cxl cx[MAX_CXL];
    uint64_t mem_size;
    uint32_t distance[MAX_SOCKETS + MAX_CXL][MAX_SOCKETS + MAX_CXL];
    int *aCoreWork;          /* per core: index into workloads, -1 = idle */
    int *aProcNext;          /* per workload: the next abi linux entry sharing its core, -1 */
    unsigned *aCoreRank, *aWorkCount;
    struct orr_params *aEntry; /* per workload: an elf or litmus entry's keys */
    size_t nEntry;
    /* the scenario's `kernel:` section, when there is one */
    struct orr_params kern;
    int *aKcpu;                /* per core: its kernel CPU number, -1 = not the kernel's */
    unsigned nKcpu;
};

/* ---------------------------------------------------------------- helpers */

static const struct orr_mark *mk(const struct mach *m) { return &m->root->mark; }

static const struct orr_params *net(const struct mach *m)
{
    return orr_param_group(&m->top, "interconnect");
}

static orr_time_t cycles(const struct mach *m, uint64_t n)
{
    return n * (orr_time_t)(UINT64_C(1000000000000) / orr_param_u64(&m->top, "frequency"));
}

/* A strict decimal prefix of s (digits only, at most 9 of them): the
 * character after it, or NULL when s does not start with a digit. */
static const char *decimal(const char *s, unsigned long *out)
{
    unsigned long v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9' && p - s < 9; p++)
        v = v * 10 + (unsigned long)(*p - '0');
    *out = v;
    return p == s || (*p >= '0' && *p <= '9') ? NULL : p;
}

/* -------------------------------------------------------------- checking */

static int pick_protocol(struct mach *m)
{
    const char *name = orr_param_str(&m->top, "protocol");
    const struct orr_mark *at = orr_param_mark(&m->top, "protocol");
    char list[256];
    m->proto = coh_protocol_resolve(name, m->S == 1);
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

/* memory: model picks the component; its other keys are parsed with that
 * component's own schema (the user's positions kept), except base, which
 * the machine sets for each socket. */
static int read_memory(struct mach *m)
{
    static const char *const any[] = {"*", NULL}, *const model[] = {"model", NULL};
    /* the raw node: read even when another machine key is wrong, so one
     * pass reports every mistake */
    const struct orr_node *node = orr_node_get(m->root, "memory");
    if (node && node->kind != ORR_NODE_MAP)
        return ORR_ESCHEMA; /* the machine's own parse says so */
    struct orr_params mp;
    int rc = orr_params_parse(memory_model_params, node, "machine.memory", any, &mp, m->d);
    if (rc)
        return rc;
    m->memtype = memory_kind_types[orr_param_enum(&mp, "model")];
    orr_params_free(&mp);
    rc = orr_params_parse(m->memtype->params, node, "machine.memory", model, &m->memp, m->d);
    if (rc == 0 && !node) /* absent: defaults, positioned at the machine */
        m->memp.mark = *mk(m);
    if (rc)
        return rc;
    if (orr_param_given(&m->memp, "base")) {
        orr_diag_error(m->d, orr_param_mark(&m->memp, "base"), "machine.memory.base",
                       "the machine places each socket's memory (socket s at s × size); "
                       "remove base");
        return ORR_ESCHEMA;
    }
    m->mem_size = orr_param_u64(&m->memp, "size");
    if (m->mem_size % ORR_LINE_BYTES) {
        orr_diag_error(m->d, orr_param_mark(&m->memp, "size"), "machine.memory",
                       "size must be a multiple of 64 B");
        return ORR_ESCHEMA;
    }
    return 0;
}

static int read_cxl(struct mach *m)
{
    size_t n = 0;
    const struct orr_params *e = orr_param_groups(&m->top, "cxl", &n);
    int rc = 0;
    uint64_t next = (uint64_t)m->S * m->mem_size;
    for (size_t i = 0; i < n; i++) {
        char kp[48];
        snprintf(kp, sizeof kp, "machine.cxl.%zu", i);
        if (i >= MAX_CXL) {
            orr_diag_error(m->d, &e[i].mark, kp, "at most 16 CXL expanders");
            return ORR_ESCHEMA;
        }
        struct cxl *x = &m->cx[m->X++];
        x->p = &e[i];
        x->socket = (unsigned)orr_param_u64(x->p, "socket");
        if (x->socket >= m->S) {
            orr_diag_error(m->d, orr_param_mark(x->p, "socket"), kp,
                           "socket %u does not exist (the machine has %u)", x->socket, m->S);
            rc = ORR_ESCHEMA;
        }
        const char *name = orr_param_str(x->p, "name");
        snprintf(x->name, sizeof x->name, "%s", name);
        if (!*name)
            snprintf(x->name, sizeof x->name, "cxl%u", m->X - 1);
        x->size = orr_param_u64(x->p, "size");
        x->base = orr_param_given(x->p, "base") ? orr_param_u64(x->p, "base") : next;
        if (x->base % ORR_LINE_BYTES || x->size % ORR_LINE_BYTES) {
            orr_diag_error(m->d, orr_param_mark(x->p, "base"), kp,
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
                        orr_param_mark(&m->memp, "size"));
    }
    for (unsigned k = 0; k < m->X && rc == 0; k++)
        rc = memmap_add(&mm, m->cx[k].base, m->cx[k].size, m->S + k, m->cx[k].name,
                        &m->cx[k].p->mark);
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

/* The idle random-read latency of a memory device with params p (a row
 * conflict on DRAM media: precharge, activate, column access, one burst,
 * plus the controller front end; a flat or TLM memory's own latency, for
 * tlm not counting the target's delay, which only the library knows). */
static uint64_t media_latency(const struct orr_params *p)
{
    if (!orr_param_has(p, "tRP"))
        return orr_param_u64(p, "latency");
    return orr_param_u64(p, "controller") + orr_param_u64(p, "tRP") + orr_param_u64(p, "tRCD") +
           orr_param_u64(p, "tCL") + orr_param_u64(p, "burst");
}

/* Idle load latency from a core of socket s to memory node j, in ps. */
static uint64_t idle_latency(const struct mach *m, unsigned s, unsigned j)
{
    const struct orr_params *n = net(m);
    uint64_t t = 2 * orr_param_u64(n, "core_link") + 2 * orr_param_u64(n, "hop") +
                 cycles(m, orr_param_u64(&m->top, "home_latency")) +
                 2 * orr_param_u64(n, "mem_link");
    unsigned js = j < m->S ? j : m->cx[j - m->S].socket;
    t += media_latency(j < m->S ? &m->memp : m->cx[j - m->S].p);
    if (js != s)
        t += 2 * orr_param_u64(n, "numa_latency") + 2 * orr_param_u64(n, "hop");
    if (j >= m->S) {
        const struct cxl *x = &m->cx[j - m->S];
        t += 2 * orr_param_u64(x->p, "link_latency");
        if (orr_param_bool(x->p, "switch"))
            t += 2 * orr_param_u64(x->p, "switch_latency");
        t += orr_param_u64(x->p, "device");
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
            unsigned long x = 0;
            const char *end = v->kind == ORR_NODE_SCALAR ? decimal(v->scalar, &x) : NULL;
            if (!end || *end || x < 10 || x > 254 || ((i == j) != (x == 10))) {
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

/* One core selector: all | sockN | N | "A-B"; marks its cores in out.
 * False if it is none of these or names a core the machine lacks. */
static bool select_one(const struct mach *m, const char *text, bool *out)
{
    unsigned long a = 0, b = 0;
    const char *end;
    if (strcmp(text, "all") == 0) {
        a = 0;
        b = m->N - 1;
    } else if (strncmp(text, "sock", 4) == 0) {
        if (!(end = decimal(text + 4, &a)) || *end || a >= m->S)
            return false;
        b = (a + 1) * m->C - 1;
        a = a * m->C;
    } else if ((end = decimal(text, &a)) && *end == '-') {
        if (!(end = decimal(end + 1, &b)) || *end)
            return false;
    } else if (end && !*end) {
        b = a;
    } else {
        return false;
    }
    if (a > b || b >= m->N)
        return false;
    for (unsigned long c = a; c <= b; c++)
        out[c] = true;
    return true;
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
        if (v->kind == ORR_NODE_SCALAR && select_one(m, v->scalar, out))
            continue;
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
    {"", ORR_P_INCLUDE, .group = isacore_workload_params}, /* elf, arch, ram, ... */
    {NULL},
};

/* Keys of an isacore entry that belong to the core, not to one process:
 * a process sharing a core takes them from the core's first entry. */
static const char *const core_keys[] = {"cpi", "timing", "l1i_size", "l1i_ways",
                                        "syscall_latency", "max_instructions", "unknown_syscall",
                                        "futex_poll", "output_limit", NULL};

/* Workloads entry w (a guest program, params parsed) selected sel: 1 if
 * it is a Linux process joining a core whose first entry is one too
 * (docs/exec.md "Processes sharing a core": chained in aProcNext), 0 if
 * it takes its cores for itself, -1 after an error. */
static int shares_core(struct mach *m, int w, const bool *sel, const char *kp)
{
    const struct orr_params *e = &m->aEntry[w];
    unsigned n = 0, core = 0;
    for (unsigned c = 0; c < m->N; c++)
        if (sel[c] && m->aCoreWork[c] >= 0)
            n++, core = c;
    if (!n)
        return 0;
    int w0 = m->aCoreWork[core];
    const struct orr_node *e0 = orr_param_map(&m->top, "workloads")->aItem[w0];
    bool linux0 = orr_node_get(e0, "elf") && orr_param_enum(&m->aEntry[w0], "abi") == 1;
    if (orr_param_enum(e, "abi") != 1 || !linux0) {
        orr_diag_error(m->d, orr_param_mark(e, "cores"), kp,
                       "core %u already runs machine.workloads.%d (only Linux processes, abi: "
                       "linux, share a core)", core, w0);
        return -1;
    }
    if (orr_param_enum(e, "arch") != orr_param_enum(&m->aEntry[w0], "arch")) {
        orr_diag_error(m->d, orr_param_mark(e, "arch"), kp,
                       "processes sharing a core run its architecture (%s, from "
                       "machine.workloads.%d)", isa_arch_names[orr_param_enum(&m->aEntry[w0], "arch")], w0);
        return -1;
    }
    unsigned nSel = 0;
    for (unsigned c = 0; c < m->N; c++)
        nSel += sel[c];
    if (nSel != 1) {
        orr_diag_error(m->d, orr_param_mark(e, "cores"), kp,
                       "abi linux runs one process on one core: name just core %u to share it",
                       core);
        return -1;
    }
    for (const char *const *k = core_keys; *k; k++)
        if (orr_param_given(e, *k)) {
            orr_diag_error(m->d, orr_param_mark(e, *k), kp,
                           "'%s' is a setting of core %u, which machine.workloads.%d already "
                           "runs: give it there (processes sharing a core share its settings)",
                           *k, core, w0);
            return -1;
        }
    int *next = &m->aProcNext[w0];
    unsigned nProc = 1;
    while (*next >= 0)
        next = &m->aProcNext[*next], nProc++;
    if (nProc >= 16) {
        orr_diag_error(m->d, orr_param_mark(e, "cores"), kp,
                       "core %u already runs 16 processes, the most one core takes", core);
        return -1;
    }
    *next = w;
    return 1;
}

static int read_workloads(struct mach *m)
{
    const struct orr_node *seq = orr_param_map(&m->top, "workloads");
    m->aCoreWork = malloc(m->N * sizeof *m->aCoreWork);
    m->aCoreRank = calloc(m->N, sizeof *m->aCoreRank);
    m->aWorkCount = calloc(seq ? seq->n + 1 : 1, sizeof *m->aWorkCount);
    m->aEntry = calloc(seq ? seq->n + 1 : 1, sizeof *m->aEntry);
    m->aProcNext = malloc((seq ? seq->n + 1 : 1) * sizeof *m->aProcNext);
    bool *sel = calloc(m->N, 1);
    if (!m->aCoreWork || !m->aCoreRank || !m->aWorkCount || !m->aEntry || !m->aProcNext || !sel) {
        free(sel);
        return ORR_ENOMEM;
    }
    m->nEntry = seq ? seq->n : 0;
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
        m->aProcNext[w] = -1;
        if (orr_node_get(e, "elf")) {
            if (orr_params_parse(isa_entry_params, e, kp, NULL, &m->aEntry[w], m->d)) {
                rc = ORR_ESCHEMA;
                break;
            }
            int shared = shares_core(m, (int)w, sel, kp);
            if (shared < 0) {
                rc = ORR_ESCHEMA;
                break;
            }
            if (shared) /* another process on a core a Linux process runs */
                continue;
        }
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
        if (orr_node_get(e, "elf"))
            continue;
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
            if (orr_params_parse(litmus_entry_params, e, kp, NULL, &m->aEntry[w], m->d))
                rc = ORR_ESCHEMA;
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

/* The device suites need what they test: "dev" a root complex (its device
 * 0 a dma_engine, which the suite checks by its ID register), "iommu" one
 * with its IOMMU on — without it every refused DMA would go through and
 * the suite would only report what is not there. */
static int check_device_suites(struct mach *m, const struct orr_node *list)
{
    int rc = 0;
    const struct orr_params *pp = orr_param_group(&m->top, "pcie");
    for (size_t i = 0; list && list->kind == ORR_NODE_SEQ && i < list->n; i++) {
        const struct orr_node *v = list->aItem[i];
        if (v->kind != ORR_NODE_SCALAR)
            continue;
        bool dev = strcmp(v->scalar, "dev") == 0, iommu = strcmp(v->scalar, "iommu") == 0;
        if ((dev || iommu) && !m->nIo) {
            orr_diag_error(m->d, &v->mark, "kernel.selftest",
                           "suite '%s' drives a device: give the machine a root complex "
                           "(machine.pcie) with a dma_engine linked to pcie.dev0",
                           v->scalar);
            rc = ORR_ESCHEMA;
        } else if (iommu && !orr_param_bool(pp, "iommu")) {
            orr_diag_error(m->d, &v->mark, "kernel.selftest",
                           "suite 'iommu' tests the IOMMU's refusals: set machine.pcie.iommu: "
                           "true");
            rc = ORR_ESCHEMA;
        }
    }
    return rc;
}

/* The cores a `kernel:` section claims (kernel.cpus) become kernel CPUs
 * 0, 1, ... in core order. The section's other keys are the kernel
 * builder's to check (hw/platform/kernel.c); parsing them here reports
 * each error once, with the machine's view (cores, memory) added. */
static int read_kernel(struct mach *m)
{
    const struct orr_node *sec = orr_sim_section(m->s, "kernel");
    if (!sec)
        return 0;
    if (orr_params_parse(kernel_params, sec, "kernel", NULL, &m->kern, m->d) ||
        kernel_check_selftests(orr_node_get(sec, "selftest"), "kernel.selftest", m->d))
        return ORR_ESCHEMA;
    bool *sel = calloc(m->N, 1);
    const char *cpus = orr_param_str(&m->kern, "cpus");
    char *text = malloc(strlen(cpus) + 1);
    if (text)
        memcpy(text, cpus, strlen(cpus) + 1);
    m->aKcpu = malloc(m->N * sizeof *m->aKcpu);
    if (!sel || !text || !m->aKcpu) {
        free(sel);
        free(text);
        return ORR_ENOMEM;
    }
    int rc = 0;
    for (char *item = strtok(text, ", "); item && rc == 0; item = strtok(NULL, ", "))
        if (!select_one(m, item, sel)) {
            orr_diag_error(m->d, orr_param_mark(&m->kern, "cpus"), "kernel.cpus",
                           "'%s' is not 'all', 'sockN', a core number or a range 'A-B' of the "
                           "machine's cores 0..%u", item, m->N - 1);
            rc = ORR_ESCHEMA;
        }
    for (unsigned c = 0; c < m->N; c++) {
        m->aKcpu[c] = sel[c] ? (int)m->nKcpu++ : -1;
        if (rc == 0 && sel[c] && m->aCoreWork[c] >= 0) {
            orr_diag_error(m->d, orr_param_mark(&m->kern, "cpus"), "kernel.cpus",
                           "core %u runs machine.workloads.%d; a kernel CPU runs only the kernel",
                           c, m->aCoreWork[c]);
            rc = ORR_ESCHEMA;
        }
    }
    rc = rc ? rc : check_device_suites(m, orr_node_get(sec, "selftest"));
    const struct orr_params *bench = orr_param_group(&m->kern, "sync_bench");
    if (rc == 0 && orr_param_u64(bench, "cpus") > m->nKcpu) {
        orr_diag_error(m->d, orr_param_mark(bench, "cpus"), "kernel.sync_bench.cpus",
                       "%llu contending CPUs, but kernel.cpus gives the kernel %u",
                       (unsigned long long)orr_param_u64(bench, "cpus"), m->nKcpu);
        rc = ORR_ESCHEMA;
    }
    if (rc == 0 && orr_param_u64(&m->kern, "memory") > m->mem_size) {
        orr_diag_error(m->d, orr_param_mark(&m->kern, "memory"), "kernel.memory",
                       "%llu bytes of kernel memory do not fit memory node 0 (%llu bytes)",
                       (unsigned long long)orr_param_u64(&m->kern, "memory"),
                       (unsigned long long)m->mem_size);
        rc = ORR_ESCHEMA;
    }
    if (rc == 0)
        rc = kernel_check_mm(&m->kern, m->nKcpu, m->S, m->mem_size, m->d);
    if (rc == 0)
        rc = kernel_check_rcu(&m->kern, m->nKcpu, m->d);
    if (rc == 0)
        rc = kernel_check_ring(&m->kern, m->nKcpu, m->d);
    if (rc == 0)
        rc = kernel_check_blk(&m->kern, m->nKcpu, m->nIo != 0, m->d);
    if (rc == 0) {
        const struct orr_params *pp = orr_param_group(&m->top, "pcie");
        rc = kernel_check_drivers(&m->kern, m->nKcpu,
                                  m->nIo ? (unsigned)orr_param_u64(pp, "ports") : 0,
                                  m->nIo && orr_param_bool(pp, "iommu"), m->d);
    }
    size_t nDrv = 0;
    orr_param_groups(&m->kern, "drivers", &nDrv);
    if (rc == 0 && nDrv && orr_param_u64(orr_param_group(&m->kern, "block_bench"), "jobs")) {
        /* both place their memory in the second quarter of kernel memory */
        orr_diag_error(m->d, orr_param_mark(orr_param_group(&m->kern, "block_bench"), "jobs"),
                       "kernel.block_bench.jobs", "the block workload and kernel.drivers share "
                       "kernel memory [memory/4, memory/2): run one of them per scenario");
        rc = ORR_ESCHEMA;
    }
    if (rc == 0) { /* the scheduler's keys and the tasks, against the kernel's CPUs */
        struct sched_config cfg;
        struct rtapp_set tasks = {0};
        rc = sched_config_from_params(&cfg, orr_param_group(&m->kern, "sched"), "kernel.sched",
                                      m->d);
        rc = rtapp_parse(orr_param_map(&m->kern, "tasks"), "kernel.tasks", m->nKcpu, &tasks,
                         m->d) || rc ? ORR_ESCHEMA : 0;
        uint64_t threads = 0;
        for (size_t i = 0; i < tasks.nTask; i++)
            threads += tasks.aTask[i].count;
        if (rc == 0 && threads > KTHREAD_MAX) {
            orr_diag_error(m->d, orr_param_mark(&m->kern, "tasks"), "kernel.tasks",
                           "%llu kernel threads, more than %u (each has a stack of its own)",
                           (unsigned long long)threads, KTHREAD_MAX);
            rc = ORR_ESCHEMA;
        }
        rtapp_free(&tasks);
        if (rc == 0)
            rc = kernel_check_vm(&m->kern, m->nKcpu, threads, m->d);
    }
    free(sel);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- building */

static int link(struct mach *m, const char *a, const char *b, orr_time_t lat, uint64_t bw)
{
    return orr_sim_link(m->s, a, b, lat, bw, mk(m), m->d);
}

static unsigned home_agent(const struct mach *m, unsigned node) { return m->N + m->nIo + node; }

/* A child's parameters: every key at its default, then every key the
 * machine accepts on its behalf (the same declarations) with the user's
 * value and position. */
static int child_params(struct mach *m, const struct orr_component_type *t, struct orr_params *p)
{
    int rc = orr_params_defaults(p, t->params, mk(m));
    if (rc == 0)
        rc = orr_params_forward_all(p, &m->top);
    return rc;
}

/* A coherence agent's protocol: the resolved name (a family the user
 * wrote means snooping on a one-socket machine). */
static int set_protocol(struct mach *m, struct orr_params *p)
{
    return orr_param_set_str(p, "protocol", m->proto->name);
}

/* Every memory range and its home, sorted by base for the cores' lookup. */
static int set_homes(struct mach *m, struct orr_params *p)
{
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
    for (unsigned i = 0; i < n; i++) {
        unsigned k = order[i];
        struct orr_params *h = orr_param_groups_add(p, "homes");
        char name[16];
        snprintf(name, sizeof name, "node%u", k);
        if (!h || orr_param_set_str(h, "name", name))
            return ORR_ENOMEM;
        orr_param_set_u64(h, "base", base[k]);
        orr_param_set_u64(h, "size", size[k]);
        orr_param_set_u64(h, "agent", home_agent(m, k));
    }
    return 0;
}

static int add(struct mach *m, const struct orr_component_type *t, const char *path,
               struct orr_params *p, const char *kp)
{
    return orr_sim_add_component_params(m->s, t, path, p, kp, m->d, NULL);
}

/* What a core runs, by its workloads entry: a litmus thread or a pattern
 * (tcore), a guest program (isacore) or an outside requester (coh_port). */
static const struct orr_component_type *core_type(const struct mach *m, unsigned id)
{
    if (m->aKcpu && m->aKcpu[id] >= 0)
        return &orr_kcore_type;
    int w = m->aCoreWork[id];
    const struct orr_node *e = w >= 0 ? orr_param_map(&m->top, "workloads")->aItem[w] : NULL;
    if (e && orr_node_get(e, "elf"))
        return &orr_isacore_type;
    if (e && !orr_node_get(e, "litmus") && orr_node_get(e, "port"))
        return &orr_coh_port_type;
    return &orr_tcore_type;
}

static int set_workload(struct mach *m, unsigned id, struct orr_params *p)
{
    int w = m->aCoreWork[id];
    const struct orr_node *e = w >= 0 ? orr_param_map(&m->top, "workloads")->aItem[w] : NULL;
    if (!e || orr_node_get(e, "port"))
        return 0;
    const struct orr_params *entry = &m->aEntry[w];
    if (orr_node_get(e, "litmus")) {
        orr_param_set_u64(p, "litmus_thread",
                          orr_param_u64(entry, "thread") + m->aCoreRank[id]);
        return orr_param_forward(p, "litmus", entry);
    }
    orr_param_set_u64(p, "core", m->aCoreRank[id]);
    orr_param_set_u64(p, "ncores", m->aWorkCount[w]);
    if (orr_node_get(e, "elf")) { /* a guest program: the entry's keys are isacore's */
        int rc = orr_params_forward_all(p, entry);
        for (int x = m->aProcNext[w]; rc == 0 && x >= 0; x = m->aProcNext[x]) {
            struct orr_params *g = orr_param_groups_add(p, "processes");
            rc = g ? orr_params_forward_all(g, &m->aEntry[x]) : ORR_ENOMEM;
        }
        return rc;
    }
    const struct orr_node *wn = orr_node_copy_except(m->a, e, not_workload_keys);
    if (!wn)
        return ORR_ENOMEM;
    orr_param_set_node(p, "workload", wn);
    return 0;
}

static int build_core(struct mach *m, unsigned s, unsigned c)
{
    unsigned id = s * m->C + c;
    const struct orr_component_type *t = core_type(m, id);
    struct orr_params p;
    int rc = child_params(m, t, &p);
    if (rc == 0)
        rc = set_protocol(m, &p);
    if (rc == 0)
        rc = set_homes(m, &p);
    if (rc == 0) {
        orr_param_set_u64(&p, "agent", id);
        rc = set_workload(m, id, &p);
    }
    if (rc == 0 && t == &orr_kcore_type) {
        orr_param_set_u64(&p, "cpu", (uint64_t)m->aKcpu[id]);
        orr_param_set_u64(&p, "ncpu", m->nKcpu);
        orr_param_set_u64(&p, "node", s);
        orr_param_set_u64(&p, "mem_nodes", m->S);
        orr_param_set_u64(&p, "node_bytes", m->mem_size);
        char dist[MAX_SOCKETS * MAX_SOCKETS * 4 + 1] = "";
        for (unsigned a = 0; a < m->S; a++)
            for (unsigned b = 0; b < m->S; b++)
                snprintf(dist + strlen(dist), sizeof dist - strlen(dist), "%s%u",
                         a + b ? " " : "", (unsigned)m->distance[a][b]);
        rc = orr_param_set_str(&p, "distances", dist);
        if (rc == 0)
            rc = orr_param_set_group(&p, "kernel", &m->kern);
        if (m->nIo) { /* where the devices' BARs are (hal_dev_bar) */
            const struct orr_params *pp = orr_param_group(&m->top, "pcie");
            orr_param_set_u64(&p, "pcie_devices", orr_param_u64(pp, "ports"));
            orr_param_set_u64(&p, "pcie_bar_base", orr_param_u64(pp, "bar_base"));
            orr_param_set_u64(&p, "pcie_bar_size", orr_param_u64(pp, "bar_size"));
        }
    }
    char path[64];
    snprintf(path, sizeof path, "sock%u.core%u", s, c);
    if (rc) {
        orr_params_free(&p);
        return rc;
    }
    return add(m, t, path, &p, "machine");
}

static int build_home(struct mach *m, const char *path, unsigned agent, uint64_t base,
                      uint64_t size, bool llc)
{
    struct orr_params p;
    int rc = child_params(m, &orr_home_type, &p);
    if (rc == 0)
        rc = set_protocol(m, &p);
    if (rc) {
        orr_params_free(&p);
        return rc;
    }
    orr_param_set_u64(&p, "agent", agent);
    orr_param_set_u64(&p, "first_cache", 0);
    orr_param_set_u64(&p, "caches", m->N + m->nIo);
    orr_param_set_u64(&p, "base", base);
    orr_param_set_u64(&p, "size", size);
    orr_param_set_u64(&p, "latency", orr_param_u64(&m->top, "home_latency"));
    if (!llc) /* an expander's home has no LLC of its own */
        orr_param_set_u64(orr_param_group_edit(&p, "llc"), "size", 0);
    return add(m, &orr_home_type, path, &p, "machine");
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

/* The port of socket s's router the root complex's agent hangs off: after
 * all the others. */
static unsigned router_io_port(const struct mach *m, unsigned s)
{
    return m->S == 1 ? router_port_of_socket(m, s, 1)
                     : router_port_of_socket(m, s, s == 0 ? 1 : 0) + (m->S - 1);
}

static int build_router(struct mach *m, unsigned s)
{
    unsigned nports = router_io_port(m, s) + (m->nIo && s == m->io_socket);
    unsigned agents = m->N + m->nIo + m->S + m->X;
    uint64_t routes[256 + 1 + MAX_SOCKETS + MAX_CXL];
    for (unsigned a = 0; a < agents; a++) {
        unsigned port;
        if (a >= m->N && a < m->N + m->nIo) {
            port = s == m->io_socket ? router_io_port(m, s)
                                     : router_port_of_socket(m, s, m->io_socket);
            routes[a] = port;
            continue;
        }
        unsigned a0 = a;
        if (a > m->N)
            a -= m->nIo; /* the numbering without the root complex's agent */
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
        routes[a0] = port;
        a = a0;
    }
    struct orr_params p;
    int rc = child_params(m, &orr_router_type, &p);
    if (rc == 0)
        rc = orr_param_set_uints(&p, "routes", routes, agents);
    if (rc) {
        orr_params_free(&p);
        return rc;
    }
    orr_param_set_u64(&p, "ports", nports);
    orr_param_set_u64(&p, "latency", orr_param_u64(net(m), "hop"));
    char path[32];
    snprintf(path, sizeof path, "sock%u.router", s);
    return add(m, &orr_router_type, path, &p, "machine");
}

static int build_memory(struct mach *m, unsigned s)
{
    struct orr_params p;
    if (orr_params_copy(&p, &m->memp))
        return ORR_ENOMEM;
    orr_param_set_u64(&p, "base", (uint64_t)s * m->mem_size);
    char path[32];
    snprintf(path, sizeof path, "sock%u.mem", s);
    return add(m, m->memtype, path, &p, "machine.memory");
}

static int build_cxl_switch(struct mach *m, const struct cxl *x, const char *kp)
{
    struct orr_params p;
    struct orr_params *r = NULL;
    int rc = child_params(m, &orr_cxl_switch_type, &p);
    if (rc == 0 && !(r = orr_param_groups_add(&p, "ranges")))
        rc = ORR_ENOMEM;
    if (rc) {
        orr_params_free(&p);
        return rc;
    }
    orr_param_set_u64(&p, "ports", 1);
    orr_param_set_u64(&p, "latency", orr_param_u64(x->p, "switch_latency"));
    orr_param_set_u64(r, "port", 0);
    orr_param_set_u64(r, "base", x->base);
    orr_param_set_u64(r, "size", x->size);
    char path[64];
    snprintf(path, sizeof path, "%s.switch", x->name);
    return add(m, &orr_cxl_switch_type, path, &p, kp);
}

static int build_cxl(struct mach *m, unsigned k)
{
    struct cxl *x = &m->cx[k];
    char path[64], kp[48];
    snprintf(kp, sizeof kp, "machine.cxl.%u", k);
    snprintf(path, sizeof path, "%s.home", x->name);
    int rc = build_home(m, path, home_agent(m, m->S + k), x->base, x->size, false);
    struct orr_params p;
    if (rc == 0 && (rc = orr_params_defaults(&p, orr_cxl_mem_type.params, &x->p->mark)) == 0) {
        /* the entry's expander keys are cxl_mem's own declarations */
        rc = orr_params_forward_all(&p, x->p);
        orr_param_set_u64(&p, "base", x->base);
        snprintf(path, sizeof path, "%s.mem", x->name);
        if (rc == 0)
            rc = add(m, &orr_cxl_mem_type, path, &p, kp);
        else
            orr_params_free(&p);
    }
    if (rc == 0 && orr_param_bool(x->p, "switch"))
        rc = build_cxl_switch(m, x, kp);
    return rc;
}

static int build_numa_info(struct mach *m)
{
    unsigned nn = m->S + m->X;
    uint64_t dist[(MAX_SOCKETS + MAX_CXL) * (MAX_SOCKETS + MAX_CXL)];
    for (unsigned i = 0; i < nn; i++)
        for (unsigned j = 0; j < nn; j++)
            dist[i * nn + j] = m->distance[i][j];
    struct orr_params p;
    int rc = child_params(m, &orr_numa_info_type, &p);
    if (rc == 0 && (rc = orr_param_set_uints(&p, "distances", dist, (size_t)nn * nn)) != 0)
        orr_params_free(&p);
    if (rc)
        return rc;
    orr_param_set_u64(&p, "nodes", nn);
    return add(m, &orr_numa_info_type, "numa", &p, "machine");
}

static int build_links(struct mach *m)
{
    const struct orr_params *n = net(m);
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
        orr_time_t lat = orr_param_u64(x->p, "link_latency");
        uint64_t bw = orr_param_u64(x->p, "link_bandwidth");
        snprintf(a, sizeof a, "%s.home.m0", x->name);
        if (rc == 0 && orr_param_bool(x->p, "switch")) {
            snprintf(b, sizeof b, "%s.switch.up", x->name);
            rc = link(m, a, b, lat, bw);
            snprintf(a, sizeof a, "%s.switch.d0", x->name);
        }
        snprintf(b, sizeof b, "%s.mem.up", x->name);
        if (rc == 0)
            rc = link(m, a, b, orr_param_bool(x->p, "switch") ? mem_link : lat,
                      orr_param_bool(x->p, "switch") ? 0 : bw);
    }
    return rc;
}

static void mach_free(struct mach *m)
{
    orr_params_free(&m->top);
    orr_params_free(&m->memp);
    orr_params_free(&m->kern);
    free(m->aKcpu);
    for (size_t w = 0; m->aEntry && w < m->nEntry; w++)
        orr_params_free(&m->aEntry[w]);
    free(m->aEntry);
    free(m->aCoreWork);
    free(m->aProcNext);
    free(m->aCoreRank);
    free(m->aWorkCount);
}

/* `pcie:`: a root complex only when the key is given. */
static int read_pcie(struct mach *m)
{
    const struct orr_node *n = orr_node_get(m->root, "pcie");
    if (!n)
        return 0;
    const struct orr_params *p = orr_param_group(&m->top, "pcie");
    if (orr_node_get(n, "cpus")) {
        orr_diag_error(m->d, orr_param_mark(p, "cpus"), "machine.pcie.cpus",
                       "set by the machine: one MMIO port per kernel CPU (kernel.cpus)");
        return ORR_ESCHEMA;
    }
    m->io_socket = (unsigned)orr_param_u64(p, "socket");
    if (m->io_socket >= m->S) {
        orr_diag_error(m->d, orr_param_mark(p, "socket"), "machine.pcie.socket",
                       "socket %u, but the machine has %u (0..%u)", m->io_socket, m->S, m->S - 1);
        return ORR_ESCHEMA;
    }
    if (m->N + 1 > 256) {
        orr_diag_error(m->d, &n->mark, "machine.pcie",
                       "the root complex's coherent agent needs one of the 256 cache agents, "
                       "and the %u cores take them all", m->N);
        return ORR_ESCHEMA;
    }
    m->nIo = 1;
    return 0;
}

/* The root complex `pcie` and its coherent agent `pcie.io`, linked to
 * each other and to the router of pcie.socket. */
static int build_pcie(struct mach *m)
{
    const struct orr_params *kp = orr_param_group(&m->top, "pcie");
    struct orr_params p;
    int rc = child_params(m, &orr_coh_port_type, &p);
    if (rc == 0)
        rc = set_protocol(m, &p);
    if (rc == 0)
        rc = set_homes(m, &p);
    if (rc) {
        orr_params_free(&p);
        return rc;
    }
    orr_param_set_u64(&p, "agent", m->N);
    if ((rc = add(m, &orr_coh_port_type, "pcie.io", &p, "machine.pcie")))
        return rc;
    if ((rc = orr_params_defaults(&p, pcie_rc_params, mk(m))))
        return rc;
    if ((rc = orr_params_forward_all(&p, kp))) {
        orr_params_free(&p);
        return rc;
    }
    orr_param_set_u64(&p, "cpus", m->nKcpu);
    if ((rc = add(m, &orr_pcie_rc_type, "pcie", &p, "machine.pcie")))
        return rc;
    char b[32];
    snprintf(b, sizeof b, "sock%u.router.p%u", m->io_socket, router_io_port(m, m->io_socket));
    rc = link(m, "pcie.io.mem", b, orr_param_u64(net(m), "core_link"), 0);
    if (rc == 0)
        rc = link(m, "pcie.mem", "pcie.io.cpu", orr_param_u64(kp, "mem_link"), 0);
    return rc;
}

/* Everything is read and checked before anything is built. */
static int machine_read(struct mach *m)
{
    int rc = orr_params_parse(machine_params, m->root, "machine", NULL, &m->top, m->d);
    int rm = read_memory(m);
    if (rc || rm)
        return rc ? rc : rm;
    m->S = (unsigned)orr_param_u64(&m->top, "sockets");
    m->C = (unsigned)orr_param_u64(&m->top, "cores_per_socket");
    m->N = m->S * m->C;
    if (m->N > 256) {
        orr_diag_error(m->d, orr_param_mark(&m->top, "cores_per_socket"), "machine",
                       "at most 256 cores per machine (%u sockets × %u cores)", m->S, m->C);
        return ORR_ESCHEMA;
    }
    if ((rc = read_pcie(m)))
        return rc;
    int r1 = read_cxl(m);
    int r2 = pick_protocol(m);
    int r3 = pcache_check_level(orr_param_group(&m->top, "l1d"), "machine", "l1d", false, m->d);
    int r4 = pcache_check_level(orr_param_group(&m->top, "l2"), "machine", "l2", true, m->d);
    int r5 = pcache_check_level(orr_param_group(&m->top, "llc"), "machine", "llc", true, m->d);
    int r6 = pcache_check_prefetch(&m->top, "machine", m->d);
    if (r1 || r2 || r3 || r4 || r5 || r6)
        return ORR_ESCHEMA;
    if ((rc = check_memory_map(m)) || (rc = read_distances(m)))
        return rc;
    if ((rc = read_workloads(m)))
        return rc;
    return read_kernel(m);
}

static int machine_build(struct mach *m)
{
    int rc = 0;
    for (unsigned sk = 0; rc == 0 && sk < m->S; sk++) {
        for (unsigned c = 0; rc == 0 && c < m->C; c++)
            rc = build_core(m, sk, c);
        if (rc == 0)
            rc = build_router(m, sk);
        char path[32];
        snprintf(path, sizeof path, "sock%u.home", sk);
        if (rc == 0)
            rc = build_home(m, path, home_agent(m, sk), (uint64_t)sk * m->mem_size, m->mem_size, true);
        if (rc == 0)
            rc = build_memory(m, sk);
    }
    for (unsigned k = 0; rc == 0 && k < m->X; k++)
        rc = build_cxl(m, k);
    if (rc == 0)
        rc = build_numa_info(m);
    if (rc == 0)
        rc = build_links(m);
    if (rc == 0 && m->nIo)
        rc = build_pcie(m);
    return rc;
}

static int machine_expand(struct orr_sim *s, const struct orr_node *node, const char *keypath,
                          struct orr_diag *d)
{
    (void)keypath;
    struct mach *m = calloc(1, sizeof *m);
    if (!m)
        return ORR_ENOMEM;
    m->s = s;
    m->a = orr_sim_nodes(s);
    m->d = d;
    m->root = node;
    int rc = m->a ? machine_read(m) : ORR_ENOMEM;
    if (rc == 0)
        rc = machine_build(m);
    mach_free(m);
    free(m);
    return rc;
}

static const struct orr_component_type *const machine_children[] = {
    &orr_tcore_type, &orr_isacore_type, &orr_coh_port_type, &orr_kcore_type, &orr_home_type,
    &orr_router_type,
    &orr_dram_type, &orr_flatmem_type, &orr_tlm_target_type, &orr_cxl_mem_type,
    &orr_cxl_switch_type, &orr_numa_info_type, &orr_pcie_rc_type, NULL};

const struct orr_component_type orr_machine_type = {
    .name = "machine",
    .summary = "builder of the top-level `machine:` section: sockets, cores, caches, memory, CXL",
    .params = machine_params,
    .children = machine_children,
    .expand = machine_expand,
};
