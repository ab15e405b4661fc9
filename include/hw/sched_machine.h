/* The machine a sched_node simulates, beyond its CPU count: a `topology:`
 * map (sockets, cores, SMT threads, LLC clusters, NUMA nodes and their
 * distances) and a `cpu_types:` list (heterogeneous cores: capacity,
 * frequency, power). Parsed and validated at load time with file:line:col
 * for every error, then turned into the kernel's sched_topology_desc
 * (include/kernel/sched.h). Keys: docs/sched.md. */
#ifndef ORRERY_HW_SCHED_MACHINE_H
#define ORRERY_HW_SCHED_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/sched.h"
#include "orrery/config.h"
#include "orrery/diag.h"
#include "orrery/params.h"

struct sched_cpu_type {
    const char *name;       /* points into the config tree */
    unsigned count;
    unsigned capacity;      /* 1..1024 */
    uint64_t hz;            /* clock for run_cycles */
    uint32_t busy_mw, idle_mw;
};

struct sched_machine {
    unsigned ncpu;
    bool described;                 /* topology or cpu_types given: pass a topology */
    unsigned sockets, cores_per_socket, threads_per_core, clusters_per_socket, nodes;
    struct sched_cpu_topo *aCpu;    /* ncpu */
    uint8_t *aDistance;             /* nodes x nodes */
    unsigned nType;                 /* 0: every CPU 1024 at the node's frequency */
    struct sched_cpu_type *aType;
    struct sched_energy_pd *aEnergy;/* nType, or NULL */
    uint8_t *aCpuType;              /* ncpu: index into aType (0 without types) */
};

/* Parse `topology` (a map or NULL) and `cpu_types` (a sequence or NULL) for
 * a node whose `cpus` is ncpu (cpus_given: written in the scenario, at
 * cpus_mark). Without `cpus`, the topology's product or the types' total
 * count is the CPU count; with it, they must agree. keypath names the node.
 * Returns 0 or ORR_ESCHEMA (every problem in d); out is always safe to
 * free. */
int sched_machine_parse(const struct orr_node *topology, const struct orr_node *cpu_types,
                        unsigned ncpu, bool cpus_given, const struct orr_mark *cpus_mark,
                        const char *keypath, struct sched_machine *out, struct orr_diag *d);
void sched_machine_free(struct sched_machine *m);

/* The kernel's view of m (pointers into m). */
struct sched_topology_desc sched_machine_desc(const struct sched_machine *m);

/* The scheduler's tunables, one schema wherever the kernel's scheduler
 * runs: flat in a sched_node, under `kernel.sched` on a machine's cores.
 * tick, slice, rr_timeslice, dl_bound_permille, balance_interval, features,
 * check_every (keys: docs/sched.md). */
extern const struct orr_param sched_config_params[];

/* cfg from those keys (check_every is the caller's): 0, or ORR_ESCHEMA
 * with a bad `features` entry reported to d at keypath. */
int sched_config_from_params(struct sched_config *cfg, const struct orr_params *p,
                             const char *keypath, struct orr_diag *d);

struct rtapp_task;
/* The scheduler's view of instance `id` of rt-app task sp on a machine of
 * ncpu CPUs: id, policy, nice, priorities, DL parameters, affinity (the
 * rest of *t is zeroed; the group is the caller's). */
void sched_task_from_rtapp(struct sched_task *t, const struct rtapp_task *sp, uint64_t id,
                           unsigned ncpu);
/* Report sched_task_add's refusal rc of instance `name` of sp to d. */
void sched_task_add_error(const struct rtapp_task *sp, const char *name, int rc,
                          struct orr_diag *d);

/* CPU bandwidth groups: a sched_node's `groups:` and `kernel.groups`, a
 * list of {name, quota, period} the scheduler's sched_group_init takes;
 * tasks join one by name (their `group` key). */
struct sched_groups {
    struct sched_group *a;
    char **aName;
    size_t n;
};
extern const struct orr_param sched_group_params[];
/* Parse and initialise the groups of `list` (a sequence or NULL) in s;
 * errors at keypath.N with file:line:col. */
int sched_groups_make(struct sched_groups *g, struct sched *s, const struct orr_node *list,
                      const char *keypath, struct orr_diag *d);
struct sched_group *sched_groups_find(const struct sched_groups *g, const char *name);
void sched_groups_free(struct sched_groups *g);

#endif
