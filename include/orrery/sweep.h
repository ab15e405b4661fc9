/* Sweep planning: the grammar of an axis, the grid of points the axes span,
 * seeded sampling of that grid and the plan of runs (point, repeat, seed).
 * `orrery sweep` runs a plan; a verb that explores a scenario over seeds or
 * fault schedules plans the same way. Everything here is pure and
 * deterministic: no files, processes or clock, and the same axes, sample,
 * repeat and seed give the same plan on every machine (docs/sweeps.md).
 *
 * An axis is a scenario key (any path `--set` accepts) and a spec:
 *
 *   range = NUMBER UNIT ".." NUMBER UNIT ":" NUMBER UNIT
 *   list  = VALUE ("," VALUE)*
 *
 * A spec that starts with a digit and contains ".." is a range; anything
 * else is a list. NUMBER is a decimal with an optional fraction; UNIT (an
 * optional space, then anything but digits, '.', ' ' and ':'; possibly
 * empty) is the same text for all three; the range is inclusive, STEP is
 * greater than zero, START is not greater than END and END - START is a
 * whole number of STEPs. Arithmetic is exact: the three numbers are scaled
 * to the same number of fraction digits. Values print with the unit as
 * written and no trailing fraction zeros: "0.5ns..1.5ns:0.25ns" gives 0.5ns,
 * 0.75ns, 1ns, 1.25ns, 1.5ns. List values are split at commas outside [] and
 * {}, so "[a, b],[c]" is two values; spaces around a value are dropped; a
 * value may not be empty or named twice.
 *
 * The grid is the cartesian product of the axes in row-major order: grid
 * point 0 takes every axis's first value and the last axis varies fastest.
 * Without axes the grid has one point, the scenario as it is.
 *
 * Limits, each checked from the axis sizes alone, before any value is
 * formatted or any per-point memory is taken:
 *   - an axis has at most ORR_SWEEP_MAX_AXIS_VALUES values (a range is
 *     never expanded, but every value of every axis is checked against the
 *     scenario before a sweep runs);
 *   - a grid has at most ORR_SWEEP_MAX_GRID points, so a grid point, and one
 *     past it, fit in 64 bits and UINT64_MAX is never one;
 *   - a plan has at most ORR_SWEEP_MAX_RUNS runs (planned points x repeats);
 *     a larger grid can still be sampled. */
#ifndef ORRERY_SWEEP_H
#define ORRERY_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orrery/config.h"
#include "orrery/diag.h"

#define ORR_SWEEP_MAX_AXIS_VALUES 100000u
#define ORR_SWEEP_MAX_GRID (UINT64_C(1) << 62)
#define ORR_SWEEP_MAX_RUNS 1000000u

/* ---- axes ---------------------------------------------------------------- */

/* One axis. A range is kept as its arithmetic (value i is lo + i * step, in
 * units of 10^-frac, followed by unit) and formatted on demand, so parsing
 * costs the same for 3 values or 100000; a list keeps its values. */
struct orr_sweep_axis {
    char *key;         /* the scenario key path, owned */
    char *spec;        /* the spec as written, owned */
    uint64_t nValue;   /* at least 1 */
    size_t valueMax;   /* no value is longer than this (bytes, without the NUL) */
    char **aValue;     /* a list's values, owned; NULL for a range */
    uint64_t lo, step; /* a range: scaled by 10^frac */
    unsigned frac;
    char *unit;        /* a range's unit as written ("" for none), owned */
};

/* Parse spec as the axis of key. Returns 0 with a owning copies of both,
 * or ORR_EINVAL with a sentence for the user in err (which quotes the spec;
 * always NUL-terminated when errn > 0), leaving a empty (safe to free).
 * ORR_ENOMEM when memory is short. */
int orr_sweep_axis_parse(struct orr_sweep_axis *a, const char *key, const char *spec, char *err,
                         size_t errn);
void orr_sweep_axis_free(struct orr_sweep_axis *a);

/* Value i (< nValue) as it goes into an override: "40ns", "0.5", "mesi".
 * Like snprintf: writes at most n bytes, NUL-terminated when n > 0, and
 * returns the length of the whole value; a buffer of valueMax + 1 bytes
 * always holds it. */
size_t orr_sweep_axis_value(const struct orr_sweep_axis *a, uint64_t i, char *buf, size_t n);

/* ---- the grid ------------------------------------------------------------- */

/* The axes of a sweep, in order. Caller-allocated: zero it or call
 * orr_sweep_init; free with orr_sweep_free. */
struct orr_sweep {
    struct orr_sweep_axis *aAxis;
    size_t nAxis;
};

void orr_sweep_init(struct orr_sweep *s);
void orr_sweep_free(struct orr_sweep *s);
/* The invariants of model/sweep.c hold (for asserts and tests). */
bool orr_sweep_check(const struct orr_sweep *s);

/* Add the axis key=spec at the end, or in the place of an axis of the same
 * key (a command-line axis replaces a scenario's). Errors as
 * orr_sweep_axis_parse; s is unchanged on error. */
int orr_sweep_add_axis(struct orr_sweep *s, const char *key, const char *spec, char *err,
                       size_t errn);

/* Add every entry of axes, a MAP of KEY: "SPEC" such as a scenario's
 * `sweep.axes` (NULL: none), in order. Every problem (a value that is not a
 * non-empty scalar, a spec the grammar refuses) is reported in d at the
 * value's mark under the key path "<keypath>.<KEY>"; returns 0, or
 * ORR_ESCHEMA after trying every entry (the good ones are added). */
int orr_sweep_add_axes(struct orr_sweep *s, const struct orr_node *axes, const char *keypath,
                       struct orr_diag *d);

/* The number of grid points, the product of the axis sizes (1 without
 * axes), into *n: 0, or ORR_ERANGE with a sentence in err when it exceeds
 * ORR_SWEEP_MAX_GRID (or 64 bits). */
int orr_sweep_grid_size(const struct orr_sweep *s, uint64_t *n, char *err, size_t errn);

/* Grid point g as one value index per axis, into aIndex[nAxis]; and back.
 * g is below a grid size that orr_sweep_grid_size has accepted (as for
 * every function below that takes a grid point). */
void orr_sweep_grid_coords(const struct orr_sweep *s, uint64_t g, uint64_t *aIndex);
uint64_t orr_sweep_grid_point(const struct orr_sweep *s, const uint64_t *aIndex);

/* The overrides of grid point g: "KEY=VALUE" per axis in axis order, joined
 * with '\n' ("" without axes); each line is what `--set` takes.
 * snprintf-like, as orr_sweep_axis_value. */
size_t orr_sweep_overrides(const struct orr_sweep *s, uint64_t g, char *buf, size_t n);

/* ---- sampling and the plan ----------------------------------------------- */

/* min(n, total) distinct grid points below total (at most
 * ORR_SWEEP_MAX_GRID) into aOut, ascending: n >= total gives every point;
 * otherwise they are drawn with the engine's generator seeded from
 * (seed, "sweep.sample") by Floyd's algorithm (n draws, whatever total
 * is), so one seed always picks the same points. Returns 0 or ORR_ENOMEM. */
int orr_sweep_sample(uint64_t total, uint64_t n, uint64_t seed, uint64_t *aOut);

/* What a sweep runs: nPoint points (the whole grid, or a sample of it,
 * numbered 0 .. nPoint-1 in grid order), each repeat times with the seeds
 * seed, seed+1, ..., seed+repeat-1 (every point the same seeds: common
 * random numbers). Run k is point k / repeat, repeat k % repeat: points in
 * order, a point's repeats together. Caller-allocated; free with
 * orr_sweep_plan_free. */
struct orr_sweep_plan {
    uint64_t nGrid;  /* points in the grid */
    uint64_t nPoint; /* points planned */
    uint64_t repeat, seed;
    uint64_t nRun;   /* nPoint * repeat, at most ORR_SWEEP_MAX_RUNS */
    uint64_t *aGrid; /* the grid point of each planned point; NULL when the
                        whole grid is planned (point p is grid point p) */
};

struct orr_sweep_run {
    uint64_t point, repeat, seed;
    uint64_t grid; /* the point's index in the grid (orr_sweep_overrides) */
};

/* Plan s's grid: every point when sample is 0 or at least the grid size,
 * else sample points drawn with seed (orr_sweep_sample); repeat >= 1 runs
 * each. Refused before anything is drawn or allocated, with a sentence in
 * err: ORR_EINVAL for repeat 0, ORR_ERANGE for a grid over
 * ORR_SWEEP_MAX_GRID, more than ORR_SWEEP_MAX_RUNS runs, or seeds past
 * UINT64_MAX. ORR_ENOMEM when memory is short. p is empty on error. */
int orr_sweep_plan_make(struct orr_sweep_plan *p, const struct orr_sweep *s, uint64_t sample,
                        uint64_t repeat, uint64_t seed, char *err, size_t errn);
void orr_sweep_plan_free(struct orr_sweep_plan *p);

/* Run k (below nRun) of the plan. */
struct orr_sweep_run orr_sweep_plan_run(const struct orr_sweep_plan *p, uint64_t k);

#endif
