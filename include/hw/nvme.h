/* The NVMe-like SSD (hw/storage/nvme.c, docs/storage.md): what the
 * platform may ask of an instance (its limits, to check a scenario's
 * kernel keys against the device before anything runs). The register map
 * and command set are include/kernel/dev/nvme.h. */
#ifndef ORRERY_HW_NVME_H
#define ORRERY_HW_NVME_H
#include <stdbool.h>
#include <stdint.h>
#include "kernel/dev/nvme.h"

/* What a driver may count on of an instance, for load-time checks by the
 * platform: NULL when c is not an nvme. */
struct orr_component;
struct nvme_limits {
    uint32_t max_queue_entries; /* CAP.MQES + 1 */
    uint32_t io_queues;         /* I/O queue pairs */
    uint64_t namespace_bytes;
    uint32_t max_transfer;      /* bytes (MDTS) */
};
const struct nvme_limits *nvme_limits_of(const struct orr_component *c);

#endif
