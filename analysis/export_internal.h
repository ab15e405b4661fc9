/* Shared by the exporters (analysis/export*.c): what a trace's header says
 * about the machine beyond its component table, recovered from the
 * effective configuration it pins (the "config=" knob), and the small
 * formatters each output uses. Nothing here reads hw/: links and scheduler
 * tasks are read from the configuration text the way a user would. */
#ifndef ORRERY_ANALYSIS_EXPORT_INTERNAL_H
#define ORRERY_ANALYSIS_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "orrery/diag.h"
#include "orrery/json.h" /* orr_json_write_string: JSON strings */
#include "orrery/trace.h"

#define EXP_NONE UINT32_MAX

/* One `links:` entry: two component ids and the timing of each direction
 * (dir 0 carries from -> to). */
struct exp_link {
    uint32_t from, to;
    char *name;                 /* "s0.out->sw0.p0" */
    orr_time_t latency;
    uint64_t bw_bps;            /* 0: unlimited */
    orr_time_t last_arrival[2]; /* for utilisation; ORR_TIME_MAX if none yet */
};

/* One `tasks:` entry of a sched_node: count instances with ids first,
 * first + 1, ... Kept as the entry, not expanded per instance, so what the
 * exporters allocate is bounded by the configuration text the trace holds,
 * however large the counts it states. */
struct exp_task_group {
    uint64_t first;
    uint32_t count;
    int prio;                   /* kernel prio: 120+nice, 99-rtprio, -1 deadline */
    const char *name;           /* in the parsed configuration */
};

/* A sched_node's tasks and its place in the global CPU and pid numbering. */
struct exp_node {
    uint32_t comp;
    uint32_t cpu_base, ncpu;
    uint32_t pid_base;          /* task id k has pid pid_base + k + 1 */
    size_t nTask;               /* ids 0 .. nTask - 1 are known */
    size_t nGroup;
    struct exp_task_group *aGroup; /* by first id */
};

/* comm (as the kernel keeps it: 15 characters and NUL, no spaces) and
 * prio of task id < n->nTask. */
void exp_task(const struct exp_node *n, uint64_t id, char comm[16], int *prio);

/* Totals the exporters number CPUs and pids up to: a node whose CPUs or
 * tasks would pass them is left unnamed (its ids shown as numbers). */
#define EXP_MAX_CPUS (UINT32_C(1) << 22)
#define EXP_MAX_PIDS (UINT32_C(1) << 31)

struct exp_ctx {
    struct orr_trace_reader *r;
    const struct orr_trace_header *h;
    const struct orr_trace_footer *f;
    FILE *out;
    struct orr_diag *d;
    size_t nLink;
    struct exp_link *aLink;
    size_t nNode;
    struct exp_node *aNode;
    uint32_t *aNodeOf;          /* per component id: index into aNode or EXP_NONE */
    uint32_t nCpu, nPid;        /* totals over the nodes */
    struct orr_config *cfg;     /* the header's configuration (names point into it) */
};

/* Read the header's configuration (missing or unreadable: no links and no
 * tasks, exporters fall back to ids). Returns 0 or ORR_ENOMEM. */
int exp_ctx_init(struct exp_ctx *x, struct orr_trace_reader *r, FILE *out, struct orr_diag *d);
void exp_ctx_free(struct exp_ctx *x);

/* Call fn for every record from the start; stops at fn's first non-zero
 * return and returns it, or a reader error (reported in x->d). */
int exp_each(struct exp_ctx *x, int (*fn)(struct exp_ctx *, const struct orr_trace_rec *, void *),
             void *arg);

/* Path of component id (the engine for ORR_ORIGIN_ENGINE, "#N" if unknown). */
const char *exp_comp_name(const struct exp_ctx *x, uint32_t id);

/* The link a message from origin to comp travelled, or EXP_NONE; *dir is 0
 * for from -> to. The first matching entry wins. */
uint32_t exp_link_of(const struct exp_ctx *x, uint32_t origin, uint32_t comp, unsigned *dir);
/* Serialisation time of size bytes on the link (the engine's rounding up). */
orr_time_t exp_link_serialise(const struct exp_link *l, uint32_t size);
/* When a message arriving at t was sent, assuming no extra sender delay:
 * t - serialisation - latency (never below 0). */
orr_time_t exp_link_sent_at(const struct exp_link *l, orr_time_t t, uint32_t size);
/* Utilisation of a direction seen at an arrival: serialisation time over
 * the gap since the previous arrival, capped at 1 (back to back); negative
 * for the first arrival (nothing to compare with). Updates last_arrival. */
double exp_link_utilisation(struct exp_link *l, unsigned dir, orr_time_t t, uint32_t size);

/* ps -> "S.UUUUUU" style decimals: microseconds with six decimals (exact
 * picoseconds) into buf (>= 32 bytes). */
void exp_fmt_us(char *buf, orr_time_t ps);
/* ps -> seconds with six decimals, truncated to the microsecond (ftrace). */
void exp_fmt_sec(char *buf, orr_time_t ps);
/* VCD identifier code for variable number n (printable ASCII 33..126,
 * shortest first) into buf (>= 8 bytes). */
void exp_vcd_id(char *buf, uint32_t n);
/* v in binary without leading zeros ("0" for 0) into buf (>= 65 bytes). */
void exp_vcd_bin(char *buf, uint64_t v);
/* Replace characters a VCD reference may not hold with '_' (in place). */
void exp_vcd_name(char *s);

/* The formats (x->out is open; one or two passes over the reader). */
int exp_chrome(struct exp_ctx *x);
int exp_ftrace(struct exp_ctx *x);
int exp_vcd(struct exp_ctx *x);

#endif
