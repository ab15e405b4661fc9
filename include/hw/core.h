/* What the core types (tcore, isacore) share with the machine that builds
 * them: their keys, declared once. A core also embeds a private cache
 * hierarchy, whose keys are hw/pcache.h's. */
#ifndef HW_CORE_H
#define HW_CORE_H

#include "orrery/params.h"

/* Keys of every core: quantum. */
extern const struct orr_param core_params[];
/* Keys of the trace-driven core's pipeline that a machine sets for all its
 * cores: store_buffer, mlp, memory_model, timer_period, start_jitter,
 * drain_jitter (hw/cpu/tcore.c, docs/cores.md). */
extern const struct orr_param tcore_pipeline_params[];

#endif
