/* The cluster fabric (docs/fabric.md): a switch with ECMP, ECN and PFC, a
 * traffic endpoint, and the `cluster:` builder that wires them into star,
 * fat-tree, torus and ring topologies. The packet format is
 * include/orrery/net.h. */
#ifndef ORRERY_HW_FABRIC_H
#define ORRERY_HW_FABRIC_H

#include "orrery/params.h"
#include "orrery/sim.h"

/* mtu: the largest packet on a fabric, declared once for the hosts and the
 * cluster builder's link keys. */
extern const struct orr_param fabric_mtu_params[];

/* Topologies the builder knows, and what their routing looks like, for
 * tests: fabric_topo_build fills a graph of switches and hosts. */
enum fabric_topo { FABRIC_STAR, FABRIC_FAT_TREE, FABRIC_TORUS, FABRIC_RING };

/* A switch-level graph: nSw switches with nPort[s] ports each; port p of
 * switch s leads to switch peer_sw (or host peer_host when peer_sw < 0).
 * Hosts attach to (host_sw[h], host_port[h]). */
struct fabric_graph {
    unsigned nSw, nHost;
    unsigned *aPorts;      /* ports per switch */
    unsigned *aPortBase;   /* index of switch s's port 0 in aPeer */
    int32_t *aPeerSw;      /* per switch port: peer switch, or -1 */
    uint32_t *aPeerPort;   /* peer switch's port, or the host number */
    int32_t *aPeerHost;    /* per switch port: attached host, or -1 */
    uint32_t *aHostSw, *aHostPort;
    char **aSwName;        /* component path of each switch */
};

/* Build the graph of topology t for n hosts (k: fat-tree radix; dims: torus
 * sizes, nDim 2 or 3). Returns 0, or an error message in err (the caller
 * reports it at the right key). */
int fabric_graph_build(struct fabric_graph *g, enum fabric_topo t, unsigned n, unsigned k,
                       const unsigned *dims, unsigned nDim, char *err, size_t nErr);
void fabric_graph_free(struct fabric_graph *g);

/* Routing by BFS over switches: for each destination host, the ECMP set of
 * switch s is its own port to the host if the host hangs off s, else every
 * port to a neighbour one hop closer to the host's switch, in port order.
 * Returns fabric_switch's `routes` string for s (caller frees): runs of
 * consecutive hosts with the same set share one "LO-HI=P,P" entry;
 * *nEntries (may be NULL) counts entries. dist is fabric_distances(g). */
char *fabric_routes(const struct fabric_graph *g, unsigned s, const uint32_t *dist,
                    unsigned *nEntries);
/* dist[t * nSw + s] = hops from switch s to switch t (UINT32_MAX if none),
 * for every switch t a host hangs off (routes only lead there); the rows of
 * the other switches are all UINT32_MAX. */
uint32_t *fabric_distances(const struct fabric_graph *g);

#endif
