/* The hardware library's tables: every built-in component type (the
 * `orrery` program and tests hand orr_builtin_types to the engine, which
 * knows types only through such a table) and the state machines the
 * library can describe for pictures. Nothing in model/ includes this
 * header: the engine receives the table, it never names it. */
#ifndef HW_REGISTRY_H
#define HW_REGISTRY_H

#include "orrery/fsm.h"
#include "orrery/sim.h"

/* NULL-terminated, in the order `orrery list` prints them (hw/registry.c). */
extern const struct orr_component_type *const orr_builtin_types[];

/* A family of state machines whose definitions live in the hardware
 * library (a coherence protocol's tables), exported as neutral data
 * (orrery/fsm.h) so the CLI and analysis/ can draw them without including
 * hw/ internals. `orrery graph --KIND NAME` selects one. */
struct orr_fsm_source {
    const char *kind;    /* "protocol" */
    const char *summary; /* one line for help text */
    /* The names build accepts, joined with ", " into buf (always
     * NUL-terminated); returns buf. */
    const char *(*names)(char *buf, size_t n);
    /* Fill out (caller frees with orr_fsm_free) with machine `name`. view
     * NULL is the main machine (a protocol's cache controller); a source
     * may offer named secondary views ("home": the protocol's home agent).
     * Returns 0, or ORR_ENOENT for an unknown name or view with a sentence
     * in err naming what is accepted; out is then empty. Deterministic:
     * the same arguments give the same machine, states and edges in the
     * same order. */
    int (*build)(const char *name, const char *view, struct orr_fsm *out, char *err, size_t n);
};

/* Terminated by an entry with kind NULL. */
extern const struct orr_fsm_source orr_builtin_fsms[];

/* The built-in types, one line each: where it lives and what it is. The
 * comment at the top of each file says more; `orrery list TYPE` prints
 * its keys, ports, metrics and faults. */
extern const struct orr_component_type orr_traffic_gen_type;  /* traffic/: packet source */
extern const struct orr_component_type orr_switch_type;       /* traffic/: output-queued switch */
extern const struct orr_component_type orr_sink_type;         /* traffic/: packet sink */
extern const struct orr_component_type orr_sched_node_type;   /* platform/: kernel scheduler on abstract CPUs */
extern const struct orr_component_type orr_cluster_node_type; /* platform/: kernel transport on an rnic */
extern const struct orr_component_type orr_dram_type;         /* mem/: DRAM controller */
extern const struct orr_component_type orr_flatmem_type;      /* mem/: constant-latency memory */
extern const struct orr_component_type orr_cxl_mem_type;      /* cxl/: Type-3 memory expander */
extern const struct orr_component_type orr_cxl_switch_type;   /* cxl/: CXL switch */
extern const struct orr_component_type orr_tcore_type;        /* cpu/: trace-driven core */
extern const struct orr_component_type orr_coh_port_type;     /* cache/: caches for an outside requester */
extern const struct orr_component_type orr_isacore_type;      /* isa/: guest-code core on Unicorn */
extern const struct orr_component_type orr_home_type;         /* cache/: home agent, directory, LLC */
extern const struct orr_component_type orr_router_type;       /* numa/: socket interconnect */
extern const struct orr_component_type orr_numa_info_type;    /* numa/: the distance matrix */
extern const struct orr_component_type orr_machine_type;      /* machine/: the `machine:` builder */
extern const struct orr_component_type orr_kcore_type;        /* platform/: a core running the kernel */
extern const struct orr_component_type orr_intc_type;         /* irq/: interrupt controller */
extern const struct orr_component_type orr_kernel_type;       /* platform/: the `kernel:` builder */
extern const struct orr_component_type orr_fabric_switch_type; /* fabric/: ECMP/ECN/PFC switch */
extern const struct orr_component_type orr_fabric_host_type;  /* fabric/: traffic endpoint */
extern const struct orr_component_type orr_cluster_type;      /* fabric/: the `cluster:` builder */
extern const struct orr_component_type orr_pcie_rc_type;      /* pcie/: root complex */
extern const struct orr_component_type orr_dma_engine_type;   /* pcie/: DMA engine */
extern const struct orr_component_type orr_nvme_type;         /* storage/: NVMe-like SSD */
extern const struct orr_component_type orr_gpu_type;          /* gpu/: GPU on PCIe and NVLink */
extern const struct orr_component_type orr_pcie_switch_type;  /* pcie/: PCIe switch */
extern const struct orr_component_type orr_nic_type;          /* nic/: Ethernet NIC */
extern const struct orr_component_type orr_rnic_type;         /* rdma/: RDMA NIC */
extern const struct orr_component_type orr_perftest_type;     /* workloads/apps/ */
extern const struct orr_component_type orr_gpu_stream_type;   /* workloads/apps/: GPU host program */
extern const struct orr_component_type orr_allreduce_type;    /* workloads/apps/ */
extern const struct orr_component_type orr_kv_type;           /* workloads/apps/ */
extern const struct orr_component_type orr_rdma_incast_type;  /* workloads/apps/ */
/* tlm_target and tlm_initiator: orrery/systemc.h (model/systemc/) */

#endif
