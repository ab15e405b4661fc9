/* dram_media: the DRAM timing and storage engine behind the `dram` memory
 * controller and the media side of `cxl_mem`. Internal to hw/mem and
 * hw/cxl: a component that embeds it forwards line requests (already
 * checked against the served range) and its own timer events, and gets a
 * callback when each request completes; the engine owns channels, banks,
 * the FR-FCFS scheduler, the bytes and the media statistics.
 *
 * Timing of one request (times from the moment it is admitted, i.e. after
 * the front-end `controller` latency; the bank state is the state left by
 * requests already committed to it):
 *
 *   row hit       column at the bank's next column slot      -> +tCL -> burst
 *   row miss      ACT -> +tRCD -> column                     -> +tCL -> burst
 *   row conflict  PRE (>= ACT + tRAS) -> +tRP -> ACT -> +tRCD -> column -> ...
 *
 * The data burst takes `burst` on the channel's data bus, which carries one
 * burst at a time; the request completes at the end of its burst. Idle
 * latencies are therefore controller + tCL + burst (hit), + tRCD (miss),
 * + tRP + tRCD (conflict).
 *
 * A library, not a component type. */
#ifndef ORRERY_HW_MEM_DRAM_MEDIA_H
#define ORRERY_HW_MEM_DRAM_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include "orrery/mem.h"
#include "orrery/sim.h"

/* The media keys (timing and organisation; the range is the embedding
 * type's: base and size), included by every type that embeds the engine so
 * that the schema (names, units, defaults, help) is written once.
 *
 * Defaults model one DDR4-3200 (or DDR5-3200-class) controller:
 *  - tCL = tRCD = tRP = 13.75 ns: DDR4-3200AA, 22-22-22 at 0.625 ns/clock
 *    (JEDEC JESD79-4 speed bins); tRAS 32 ns (same bin).
 *  - burst 2.5 ns: BL8 on a 64-bit channel at 3200 MT/s moves a 64 B line
 *    in 8 x 0.3125 ns, i.e. 25.6 GB/s per channel.
 *  - row 8 KiB: a rank of x8 devices with 1 KiB pages each.
 *  - controller 40 ns: front-end (queueing logic, PHY, on-die fabric to the
 *    memory controller) chosen so that an idle random read — a row
 *    conflict under the open-page policy — takes 40 + 13.75 * 3 + 2.5 =
 *    83.75 ns on the DRAM side; with ~5–10 ns of cache/interconnect on an
 *    Intel part that lands on the ~89–91 ns Skylake-SP figure, and with
 *    AMD's longer fabric path near the ~113 ns EPYC 7742 figure
 *    (REFERENCES.md, "DRAM latency" rows). */
extern const struct orr_param dram_media_params[];

/* The stats dram_media_new registers on the embedding component: rows for
 * its type's metrics table (orrery/stats.h). */
#define DRAM_MEDIA_METRICS                                                                         \
    {"reads", "req", ORR_METRIC_COUNTER, "line reads served by the media"},                        \
    {"writes", "req", ORR_METRIC_COUNTER, "line writes served by the media"},                      \
    {"row_hits", "req", ORR_METRIC_COUNTER, "requests to the bank's open row"},                    \
    {"row_misses", "req", ORR_METRIC_COUNTER, "requests to a bank with no open row"},              \
    {"row_conflicts", "req", ORR_METRIC_COUNTER, "requests that closed another open row first"},   \
    {"bytes_read", "B", ORR_METRIC_COUNTER, "bytes read from the media"},                          \
    {"bytes_written", "B", ORR_METRIC_COUNTER, "bytes written to the media"},                      \
    {"queue_full", "req", ORR_METRIC_COUNTER,                                                      \
     "requests that found their channel's scheduler queue full and waited outside it"},            \
    {"read_latency", "ns", ORR_METRIC_HISTOGRAM,                                                   \
     "read latency from arrival to completion, rounded to ns"},                                    \
    {"bandwidth", "GB/s", ORR_METRIC_VALUE, "bytes moved per second of simulated time"},           \
    {"bus_util", "fraction", ORR_METRIC_VALUE,                                                     \
     "share of the run the channels' data buses were busy"},                                       \
    {"ch<N>.queue", "req", ORR_METRIC_GAUGE, "requests waiting in channel N"},                     \
    {"ch<N>.queue_mean", "req", ORR_METRIC_VALUE, "time-averaged requests waiting in channel N"}

extern const char *const dram_policy_names[]; /* "fr-fcfs", "fcfs", NULL */

enum dram_policy { DRAM_FR_FCFS = 0, DRAM_FCFS = 1 };

struct dram_cfg {
    uint64_t base, size;
    unsigned channels, banks;
    uint64_t row_bytes;
    orr_time_t tCL, tRCD, tRP, tRAS, burst, controller;
    unsigned queue, starve;
    enum dram_policy policy;
};

/* Read dram_media_params, base and size from p into cfg; semantic errors (a bad base, a
 * range beyond 48-bit addresses, a row that is not a multiple of 64 B) go
 * to d at the key's mark. Returns 0 or ORR_ESCHEMA. */
int dram_cfg_read(const struct orr_component *c, const struct orr_params *p,
                  struct dram_cfg *cfg, struct orr_diag *d);

/* A completed request, handed to the owner. data is the line (RD only) and
 * is valid during the callback only. */
struct dram_done {
    enum orr_mem_cmd cmd; /* ORR_MEM_RD or ORR_MEM_WR */
    uint64_t addr;
    unsigned tag;
    uint32_t cookie;      /* the owner's value from dram_media_submit */
    const uint8_t *data;
};
typedef void (*dram_done_fn)(struct orr_component *c, const struct dram_done *done);

struct dram_media;

/* Build the engine on component c (from c's create op): registers the
 * media stats on c and uses timer tags timer_base .. timer_base + 2. */
struct dram_media *dram_media_new(struct orr_component *c, const struct dram_cfg *cfg,
                                  uint16_t timer_base, dram_done_fn done);
void dram_media_free(struct dram_media *m);

/* Whether addr (a line address) lies in [base, base + size). */
bool dram_media_serves(const struct dram_media *m, uint64_t addr);

/* Accept a request now; it is admitted after delay + controller. wdata is
 * the line to write (copied) for ORR_MEM_WR, NULL for ORR_MEM_RD. The
 * caller has checked the command and dram_media_serves. Never refuses. */
void dram_media_submit(struct dram_media *m, enum orr_mem_cmd cmd, uint64_t addr, unsigned tag,
                       uint32_t cookie, const uint8_t *wdata, orr_time_t delay);

/* Handle a timer event if its tag is one of the engine's; false otherwise. */
bool dram_media_timer(struct dram_media *m, const struct orr_event *ev);

/* Check the engine's invariants (dram_media.c lists them). */
bool dram_media_check(const struct dram_media *m);

/* Checkpoint/restore of the engine's dynamic state: request slots,
 * channel queues, banks, the stored bytes. */
struct orr_ckpt_writer;
struct orr_ckpt_reader;
void dram_media_save(const struct dram_media *m, struct orr_ckpt_writer *w);
void dram_media_restore(struct dram_media *m, struct orr_ckpt_reader *r);

/* Fold the run into final values (bandwidth, utilisation, mean queue). */
void dram_media_finish(struct dram_media *m);

/* Address mapping (exposed for tests and docs): the channel, bank and row
 * of a line address. */
struct dram_loc {
    unsigned channel, bank;
    uint64_t row, column; /* column in lines within the row */
};
struct dram_loc dram_media_locate(const struct dram_media *m, uint64_t addr);

#endif
