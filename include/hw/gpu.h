/* The GPU model's load-time questions (hw/gpu, docs/gpu.md): what a host
 * program may ask a GPU instance it drives while the scenario is checked,
 * before anything runs, so that a kernel shape or a buffer the device
 * cannot hold is an input error at file:line:col and not a surprise. The
 * run-time interface is include/orrery/gpu.h. */
#ifndef HW_GPU_H
#define HW_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/gpu.h"
#include "orrery/sim.h"

/* Whether c is a GPU instance. The others require one. */
bool gpu_is(const struct orr_component *c);
/* Its `id` (the one P2P commands name). */
unsigned gpu_id_of(const struct orr_component *c);
/* Bytes of device memory (or of the partition a queue uses). */
uint64_t gpu_memory_bytes(const struct orr_component *c);
/* 0 if a block of shape b fits one SM and the grid is not empty; else
 * nonzero with the reason in why[n]. */
int gpu_shape_fits(const struct orr_component *c, const struct gpu_block_shape *b, char *why,
                   size_t n);

#endif
