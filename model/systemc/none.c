/* The SystemC bridge in a build without SystemC (include/orrery/systemc.h):
 * every entry point says how to get it. The component types keep their
 * parameter schemas, so a scenario is checked the same way as with SystemC
 * before the missing library is reported. */
#include "orrery/error.h"
#include "orrery/systemc.h"

#include "bridge.h"

bool orr_systemc_available(void) { return false; }

void orr_systemc_cli_init(void) {}

int orr_systemc_check(struct orr_sim *s, struct orr_diag *d)
{
    (void)s;
    orr_diag_error(d, NULL, NULL, "--engine systemc: %s", ORR_SYSTEMC_MISSING);
    return ORR_ENOTSUP;
}

int orr_systemc_run(struct orr_sim *s, const struct orr_run_hooks *hooks,
                    enum orr_stop_reason *why, struct orr_diag *d)
{
    (void)hooks, (void)why;
    return orr_systemc_check(s, d);
}

static int missing(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p;
    orr_diag_error(d, &c->mark, c->keypath, "%s: %s", c->type->name, ORR_SYSTEMC_MISSING);
    return ORR_ENOTSUP;
}

static void idle(struct orr_component *c, const struct orr_event *ev) { (void)c, (void)ev; }

static const struct orr_param target_params[] = {ORR_TLM_TARGET_PARAMS};
static const struct orr_port_doc target_ports[] = {ORR_TLM_TARGET_PORTS};
static const struct orr_param initiator_params[] = {ORR_TLM_INITIATOR_PARAMS};
static const struct orr_port_doc initiator_ports[] = {ORR_TLM_INITIATOR_PORTS};
static const struct orr_metric_doc target_metrics[] = {ORR_TLM_TARGET_METRICS};
static const struct orr_metric_doc initiator_metrics[] = {ORR_TLM_INITIATOR_METRICS};

const struct orr_component_type orr_tlm_target_type = {
    .name = "tlm_target",
    .summary = "SystemC TLM-2.0 target (not in this build: no SystemC)",
    .params = target_params,
    .ports = target_ports,
    .metrics = target_metrics,
    .create = missing,
    .handle = idle,
};

const struct orr_component_type orr_tlm_initiator_type = {
    .name = "tlm_initiator",
    .summary = "SystemC initiator's entry into the model (not in this build: no SystemC)",
    .params = initiator_params,
    .ports = initiator_ports,
    .metrics = initiator_metrics,
    .create = missing,
    .handle = idle,
};
