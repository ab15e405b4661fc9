/* Node templates for the `cluster:` builder (docs/fabric.md): a node
 * written as components and links with names relative to the node, checked
 * once, then stamped out as nodeI.<name> for every node I. Private to
 * hw/fabric. */
#ifndef HW_FABRIC_NODE_TEMPLATE_H
#define HW_FABRIC_NODE_TEMPLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "orrery/sim.h"

/* What the builder owns and hands to every node. */
struct node_template_env {
    unsigned nodes;
    const struct orr_params *link; /* the fabric link's keys: its mtu */
};

struct node_template;

/* True if a `cluster.node` mapping is a template (it has `components`)
 * rather than fabric_host keys. */
bool node_template_is(const struct orr_node *node);

/* Check the template once, at its own file:line:col: the keys, every
 * component's type and params (with node 0's substitutions), links to
 * components the template names, the `net` port's component, builder-owned
 * keys. Adds nothing to s. On error returns ORR_ESCHEMA with *out NULL. */
int node_template_parse(struct node_template **out, struct orr_sim *s, const struct orr_node *node,
                        const struct node_template_env *env, struct orr_diag *d);

/* Add nodeI.<name> components and the template's links for I = 0..nodes-1,
 * node by node. Node 0 is built first and its ports checked against every
 * link end and `net`, so a missing port is reported once, at the template. */
int node_template_build(struct node_template *t, struct orr_sim *s, struct orr_diag *d);

/* The port that joins the fabric, relative to the node ("nic.net"). */
const char *node_template_net(const struct node_template *t);

void node_template_free(struct node_template *t);

#endif
