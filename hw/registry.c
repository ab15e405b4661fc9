/* The table of built-in component types and the state machines the
 * hardware library exports (hw/registry.h). The engine never names a
 * concrete model: it receives these tables. New model folders add their
 * types here and declare them in hw/registry.h. */
#include "hw/registry.h"
#include "orrery/systemc.h"

/* cache/protocol_fsm.c */
const char *coh_fsm_names(char *buf, size_t n);
int coh_fsm_build(const char *name, const char *view, struct orr_fsm *out, char *err, size_t n);

const struct orr_component_type *const orr_builtin_types[] = {
    &orr_traffic_gen_type,
    &orr_switch_type,
    &orr_sink_type,
    &orr_sched_node_type,
    &orr_cluster_node_type,
    &orr_dram_type,
    &orr_flatmem_type,
    &orr_tlm_target_type,   /* model/systemc/ (C++; none.c without SystemC) */
    &orr_tlm_initiator_type,
    &orr_cxl_mem_type,
    &orr_cxl_switch_type,
    &orr_tcore_type,
    &orr_coh_port_type,
    &orr_isacore_type,
    &orr_home_type,
    &orr_router_type,
    &orr_numa_info_type,
    &orr_kcore_type,
    &orr_intc_type,
    &orr_machine_type,
    &orr_kernel_type, /* after machine: it links the machine's kernel CPUs */
    &orr_fabric_switch_type,
    &orr_fabric_host_type,
    &orr_cluster_type,
    &orr_pcie_rc_type,
    &orr_dma_engine_type,
    &orr_nvme_type,
    &orr_gpu_type,
    &orr_pcie_switch_type,
    &orr_nic_type,
    &orr_rnic_type,
    &orr_perftest_type,
    &orr_gpu_stream_type,
    &orr_allreduce_type,
    &orr_kv_type,
    &orr_rdma_incast_type,
    NULL,
};

const struct orr_fsm_source orr_builtin_fsms[] = {
    {"protocol", "coherence protocols: the cache controller, or (view \"home\") the home agent",
     coh_fsm_names, coh_fsm_build},
    {NULL, NULL, NULL, NULL},
};
