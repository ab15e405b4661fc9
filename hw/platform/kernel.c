/* kernel: the builder behind a scenario's top-level `kernel:` section
 * (docs/kernel-platform.md). The machine builder has already built the
 * cores kernel.cpus claims as kernel CPUs (kcore, hw/platform/kcore.c) and
 * checked the section against the machine; this one adds what the kernel
 * CPUs share: the interrupt controller `intc`, linked to every kernel
 * CPU's `irq` port (kernel CPU i on intc.cpu<i>). With the machine's
 * root complex (`pcie`), it also links each kernel CPU's `pcie` port to
 * pcie.cpu<i> (MMIO, IOMMU commands) and pcie.irq to intc.dev0 (MSI-X,
 * IOMMU faults). Built after `machine:` (the type table's order). */
#include <stdio.h>

#include "hw/kcore.h"
#include "hw/registry.h"

/* Each of the two links an IPI crosses (CPU to controller, controller to
 * CPU); the controller's own latency is the rest of ipi_latency. */
#define IRQ_LINK ORR_NS
/* A kernel CPU to the root complex: the uncore's path to the I/O hub. */
#define PCIE_HOST_LINK (20 * ORR_NS)

static int kernel_expand(struct orr_sim *s, const struct orr_node *node, const char *keypath,
                         struct orr_diag *d)
{
    if (!orr_sim_section(s, "machine")) {
        orr_diag_error(d, &node->mark, keypath,
                       "the kernel runs on a machine's cores: add a `machine:` section (for "
                       "example `extends: presets/icelake-2s.yaml`)");
        return ORR_ESCHEMA;
    }
    struct orr_params kp = {0};
    if (orr_params_parse(kernel_params, node, keypath, NULL, &kp, d))
        return ORR_ESCHEMA; /* the machine reported it already; not reached */
    orr_time_t lat = orr_param_u64(&kp, "ipi_latency");
    const struct orr_mark *mark = orr_param_mark(&kp, "ipi_latency");
    orr_params_free(&kp);
    if (lat < 2 * IRQ_LINK) {
        orr_diag_error(d, mark, "kernel.ipi_latency",
                       "at least 2ns: an IPI crosses two 1ns links to and from the controller");
        return ORR_ESCHEMA;
    }
    unsigned n = 0;
    for (size_t i = 0; i < orr_sim_component_count(s); i++)
        n += orr_sim_component(s, (uint32_t)i)->type == &orr_kcore_type;
    struct orr_params ip;
    int rc = orr_params_defaults(&ip, orr_intc_type.params, &node->mark);
    if (rc)
        return rc;
    const struct orr_component *pcie = orr_sim_find(s, "pcie");
    orr_param_set_u64(&ip, "cpus", n);
    orr_param_set_u64(&ip, "devices", pcie ? 1 : 0);
    orr_param_set_u64(&ip, "latency", lat - 2 * IRQ_LINK);
    if ((rc = orr_sim_add_component_params(s, &orr_intc_type, "intc", &ip, keypath, d, NULL)))
        return rc;
    for (size_t i = 0; rc == 0 && i < orr_sim_component_count(s); i++) {
        const struct orr_component *c = orr_sim_component(s, (uint32_t)i);
        if (c->type != &orr_kcore_type)
            continue;
        char a[160], b[32];
        snprintf(a, sizeof a, "%s.irq", c->path);
        snprintf(b, sizeof b, "intc.cpu%u", kcore_cpu(c));
        rc = orr_sim_link(s, a, b, IRQ_LINK, 0, &node->mark, d);
        if (rc == 0 && pcie) {
            snprintf(a, sizeof a, "%s.pcie", c->path);
            snprintf(b, sizeof b, "pcie.cpu%u", kcore_cpu(c));
            rc = orr_sim_link(s, a, b, PCIE_HOST_LINK, 0, &node->mark, d);
        }
    }
    if (rc == 0 && pcie)
        rc = orr_sim_link(s, "pcie.irq", "intc.dev0", IRQ_LINK, 0, &node->mark, d);
    return rc;
}

static const struct orr_component_type *const kernel_children[] = {&orr_intc_type, NULL};

const struct orr_component_type orr_kernel_type = {
    .name = "kernel",
    .summary = "builder of the top-level `kernel:` section: the reference kernel on the "
               "machine's cores",
    .params = kernel_params,
    .children = kernel_children,
    .expand = kernel_expand,
};
