/* Fabric topologies as switch graphs, and routing over them by BFS
 * (fabric.h, docs/fabric.md). Everything is numbered in a fixed order and
 * walked in index order, so routes depend only on the topology's keys.
 *
 * Port layouts (what fault schedules name):
 *   star      fabric.sw: port h = host h
 *   fat-tree  fabric.podP.edgeE: ports 0..k/2-1 hosts, k/2+a = podP.aggA
 *             fabric.podP.aggA:  ports 0..k/2-1 = podP.edgeE, k/2+j = core(A·k/2+j)
 *             fabric.coreC:      port P = podP.agg(C / (k/2))
 *             host h sits on edge h / (k/2) (pod h / (k/2)²), port h mod k/2
 *   torus     fabric.swI (one per node): port 0 host I, then per dimension d
 *             port 1+2d toward +1, port 2+2d toward -1 (wrapping); a
 *             dimension of size 1 has no links
 *   ring      a one-dimensional torus */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fabric.h"
#include "orrery/error.h"

static char *name_of(const char *fmt, unsigned a, unsigned b)
{
    char buf[64];
    snprintf(buf, sizeof buf, fmt, a, b);
    char *s = malloc(strlen(buf) + 1);
    if (!s)
        orr_oom();
    return strcpy(s, buf);
}

static void *zalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        orr_oom();
    return p;
}

/* Allocate nSw switches of the given port counts and nHost hosts. */
static void graph_alloc(struct fabric_graph *g, unsigned nSw, const unsigned *ports, unsigned nHost)
{
    g->nSw = nSw;
    g->nHost = nHost;
    g->aPorts = zalloc(nSw, sizeof *g->aPorts);
    g->aPortBase = zalloc(nSw, sizeof *g->aPortBase);
    g->aSwName = zalloc(nSw, sizeof *g->aSwName);
    unsigned total = 0;
    for (unsigned s = 0; s < nSw; s++) {
        g->aPorts[s] = ports[s];
        g->aPortBase[s] = total;
        total += ports[s];
    }
    g->aPeerSw = zalloc(total, sizeof *g->aPeerSw);
    g->aPeerPort = zalloc(total, sizeof *g->aPeerPort);
    g->aPeerHost = zalloc(total, sizeof *g->aPeerHost);
    for (unsigned i = 0; i < total; i++)
        g->aPeerSw[i] = g->aPeerHost[i] = -1;
    g->aHostSw = zalloc(nHost, sizeof *g->aHostSw);
    g->aHostPort = zalloc(nHost, sizeof *g->aHostPort);
}

static void join_sw(struct fabric_graph *g, unsigned a, unsigned pa, unsigned b, unsigned pb)
{
    g->aPeerSw[g->aPortBase[a] + pa] = (int32_t)b;
    g->aPeerPort[g->aPortBase[a] + pa] = pb;
    g->aPeerSw[g->aPortBase[b] + pb] = (int32_t)a;
    g->aPeerPort[g->aPortBase[b] + pb] = pa;
}

static void join_host(struct fabric_graph *g, unsigned h, unsigned s, unsigned p)
{
    g->aPeerHost[g->aPortBase[s] + p] = (int32_t)h;
    g->aPeerPort[g->aPortBase[s] + p] = h;
    g->aHostSw[h] = s;
    g->aHostPort[h] = p;
}

static void build_star(struct fabric_graph *g, unsigned n)
{
    graph_alloc(g, 1, &n, n);
    g->aSwName[0] = name_of("fabric.sw", 0, 0);
    for (unsigned h = 0; h < n; h++)
        join_host(g, h, 0, h);
}

/* Switches: edges (pod-major), then aggregations, then cores. */
static void build_fat_tree(struct fabric_graph *g, unsigned n, unsigned k)
{
    unsigned half = k / 2, nEdge = k * half, nCore = half * half, nSw = 2 * nEdge + nCore;
    unsigned *ports = zalloc(nSw, sizeof *ports);
    for (unsigned s = 0; s < nSw; s++)
        ports[s] = k;
    graph_alloc(g, nSw, ports, n);
    free(ports);
    for (unsigned p = 0; p < k; p++)
        for (unsigned e = 0; e < half; e++) {
            g->aSwName[p * half + e] = name_of("fabric.pod%u.edge%u", p, e);
            g->aSwName[nEdge + p * half + e] = name_of("fabric.pod%u.agg%u", p, e);
        }
    for (unsigned c = 0; c < nCore; c++)
        g->aSwName[2 * nEdge + c] = name_of("fabric.core%u", c, 0);
    for (unsigned p = 0; p < k; p++)
        for (unsigned e = 0; e < half; e++)
            for (unsigned a = 0; a < half; a++) {
                join_sw(g, p * half + e, half + a, nEdge + p * half + a, e);
                join_sw(g, nEdge + p * half + a, half + e, 2 * nEdge + a * half + e, p);
            }
    for (unsigned h = 0; h < n; h++)
        join_host(g, h, h / half, h % half);
}

static void build_torus(struct fabric_graph *g, unsigned n, const unsigned *dims, unsigned nDim)
{
    unsigned *ports = zalloc(n, sizeof *ports);
    for (unsigned s = 0; s < n; s++)
        ports[s] = 1 + 2 * nDim;
    graph_alloc(g, n, ports, n);
    free(ports);
    for (unsigned s = 0; s < n; s++) {
        g->aSwName[s] = name_of("fabric.sw%u", s, 0);
        join_host(g, s, s, 0);
        unsigned stride = 1;
        for (unsigned dim = 0; dim < nDim; dim++) {
            unsigned coord = s / stride % dims[dim];
            if (dims[dim] > 1) {
                unsigned next = s - coord * stride + (coord + 1) % dims[dim] * stride;
                join_sw(g, s, 1 + 2 * dim, next, 2 + 2 * dim);
            }
            stride *= dims[dim];
        }
    }
}

int fabric_graph_build(struct fabric_graph *g, enum fabric_topo t, unsigned n, unsigned k,
                       const unsigned *dims, unsigned nDim, char *err, size_t nErr)
{
    memset(g, 0, sizeof *g);
    if (t == FABRIC_FAT_TREE) {
        if (k < 2 || k % 2) {
            snprintf(err, nErr, "k = %u: a fat-tree needs an even k >= 2 (k-port switches, k/2 "
                                "down and k/2 up)", k);
            return ORR_ESCHEMA;
        }
        if ((uint64_t)k * k * k / 4 < n) {
            snprintf(err, nErr, "%u nodes do not fit a k = %u fat-tree (k³/4 = %u hosts)", n, k,
                     k * k * k / 4);
            return ORR_ESCHEMA;
        }
        build_fat_tree(g, n, k);
    } else if (t == FABRIC_TORUS || t == FABRIC_RING) {
        unsigned ring = n;
        if (t == FABRIC_RING) {
            dims = &ring;
            nDim = 1;
        }
        uint64_t prod = 1;
        for (unsigned i = 0; i < nDim; i++)
            prod *= dims[i];
        if (nDim < 1 || nDim > 3 || prod != n) {
            snprintf(err, nErr, "torus dims must be 2 or 3 sizes whose product is nodes (%u)", n);
            return ORR_ESCHEMA;
        }
        build_torus(g, n, dims, nDim);
    } else {
        build_star(g, n);
    }
    return 0;
}

void fabric_graph_free(struct fabric_graph *g)
{
    for (unsigned s = 0; g->aSwName && s < g->nSw; s++)
        free(g->aSwName[s]);
    free(g->aSwName);
    free(g->aPorts);
    free(g->aPortBase);
    free(g->aPeerSw);
    free(g->aPeerPort);
    free(g->aPeerHost);
    free(g->aHostSw);
    free(g->aHostPort);
    memset(g, 0, sizeof *g);
}

/* One BFS per destination switch that has a host, over switch-to-switch
 * links: O(T·(S+E)) for T such switches (a fat-tree's edge switches only). */
uint32_t *fabric_distances(const struct fabric_graph *g)
{
    size_t nSw = g->nSw;
    uint32_t *dist = malloc(nSw * nSw * sizeof *dist);
    uint32_t *queue = malloc(nSw * sizeof *queue);
    bool *aHasHost = calloc(nSw ? nSw : 1, sizeof *aHasHost);
    if (!dist || !queue || !aHasHost)
        orr_oom();
    for (size_t h = 0; h < g->nHost; h++)
        aHasHost[g->aHostSw[h]] = true;
    for (size_t t = 0; t < nSw; t++) {
        uint32_t *d = &dist[t * nSw];
        for (size_t s = 0; s < nSw; s++)
            d[s] = UINT32_MAX;
        if (!aHasHost[t])
            continue;
        size_t head = 0, tail = 0;
        d[t] = 0;
        queue[tail++] = (uint32_t)t;
        while (head < tail) {
            uint32_t u = queue[head++];
            for (unsigned p = 0; p < g->aPorts[u]; p++) {
                int32_t v = g->aPeerSw[g->aPortBase[u] + p];
                if (v >= 0 && d[v] == UINT32_MAX) {
                    d[v] = d[u] + 1;
                    queue[tail++] = (uint32_t)v;
                }
            }
        }
    }
    free(queue);
    free(aHasHost);
    return dist;
}

struct buf {
    char *s;
    size_t n, cap;
};

static void buf_add(struct buf *b, const char *text)
{
    size_t len = strlen(text);
    if (b->cap - b->n < len + 1) {
        b->cap = (b->cap + len + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            orr_oom();
    }
    memcpy(b->s + b->n, text, len + 1);
    b->n += len;
}

/* The ECMP set of switch s toward host h: its own port if h hangs off s,
 * else every port to a neighbour one hop closer to h's switch. */
static unsigned ecmp_set(const struct fabric_graph *g, unsigned s, unsigned h,
                         const uint32_t *dist, unsigned *set)
{
    unsigned t = g->aHostSw[h], n = 0;
    if (t == s) {
        set[0] = g->aHostPort[h];
        return 1;
    }
    const uint32_t *d = &dist[(size_t)t * g->nSw];
    if (d[s] == UINT32_MAX)
        return 0;
    for (unsigned p = 0; p < g->aPorts[s]; p++) {
        int32_t v = g->aPeerSw[g->aPortBase[s] + p];
        if (v >= 0 && d[v] + 1 == d[s])
            set[n++] = p;
    }
    return n;
}

char *fabric_routes(const struct fabric_graph *g, unsigned s, const uint32_t *dist,
                    unsigned *nEntries)
{
    struct buf b = {0};
    unsigned *set = zalloc(g->aPorts[s], sizeof *set), *prev = zalloc(g->aPorts[s], sizeof *prev);
    unsigned nPrev = 0, lo = 0, entries = 0, n = 0, tSet = UINT32_MAX;
    char tmp[48];
    buf_add(&b, "");
    /* runs of consecutive hosts with the same set become one range; the set
     * toward a host on another switch depends on that switch alone, so it
     * is computed once per run of hosts on one switch: O(H + switches x
     * ports) per switch, not O(H x ports) */
    for (unsigned h = 0; h <= g->nHost; h++) {
        if (h == g->nHost) {
            n = 0;
        } else if (g->aHostSw[h] == s || g->aHostSw[h] != tSet) {
            n = ecmp_set(g, s, h, dist, set);
            tSet = g->aHostSw[h] == s ? UINT32_MAX : g->aHostSw[h];
        }
        if (h < g->nHost && n == nPrev && memcmp(set, prev, n * sizeof *set) == 0)
            continue;
        if (nPrev) {
            if (lo == h - 1)
                snprintf(tmp, sizeof tmp, "%u", lo);
            else
                snprintf(tmp, sizeof tmp, "%u-%u", lo, h - 1);
            buf_add(&b, tmp);
            for (unsigned i = 0; i < nPrev; i++) {
                snprintf(tmp, sizeof tmp, "%c%u", i ? ',' : '=', prev[i]);
                buf_add(&b, tmp);
            }
            buf_add(&b, ";");
            entries++;
        }
        memcpy(prev, set, n * sizeof *set);
        nPrev = n;
        lo = h;
    }
    free(set);
    free(prev);
    if (nEntries)
        *nEntries = entries;
    return b.s;
}
