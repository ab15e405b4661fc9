/* Units in scenario values: time, cycles, frequency, size and bandwidth.
 * Every value is converted exactly, with integer arithmetic, to a base unit:
 *
 *   kind     base unit  accepted suffixes
 *   TIME     ps         ps ns us µs ms s
 *   CYCLES   cycles     cy
 *   FREQ     Hz         Hz kHz MHz GHz THz
 *   SIZE     bytes      B KB MB GB TB (10^3 steps) KiB MiB GiB TiB (2^10 steps)
 *   BW       bit/s      bps Kbps Mbps Gbps Tbps, and byte rates B/s KB/s MB/s
 *                       GB/s TB/s KiB/s MiB/s GiB/s (x8)
 *
 * The number is a non-negative decimal with an optional fraction ("3.2GHz",
 * "0.5ns"); an optional single space may separate it from the suffix; no other
 * whitespace is allowed (YAML has already trimmed the scalar). A value
 * that is not a whole number of base units ("0.1ps"), or that overflows 64
 * bits, is an error; so is a missing or unknown suffix. Suffixes are case-
 * sensitive (ms is milliseconds, Ms is an error). */
#ifndef ORRERY_UNITS_H
#define ORRERY_UNITS_H

#include <stddef.h>
#include <stdint.h>

enum orr_unit_kind {
    ORR_UNIT_TIME,
    ORR_UNIT_CYCLES,
    ORR_UNIT_FREQ,
    ORR_UNIT_SIZE,
    ORR_UNIT_BW,
};

/* Parse text as a value of the given kind into *out (base units).
 * Returns 0 (and *why = NULL), or ORR_EUNIT (missing/unknown suffix),
 * ORR_ERANGE (negative, finer than the base unit, or overflow) or ORR_EPARSE
 * (empty or malformed) with *why set to a static sentence of the form
 * "problem; expectation", e.g. "missing unit; expected a time such as 10ns
 * (units: ps, ns, us, ms, s)", so a caller can name the offending text between
 * the two halves. why may be NULL. */
int orr_unit_parse(enum orr_unit_kind kind, const char *text, uint64_t *out, const char **why);

/* Render v (base units) in the largest suffix that keeps it exact when that
 * is short, e.g. 1500000 ps -> "1.5us", 3200000000 Hz -> "3.2GHz", 1536 B ->
 * "1.5KiB" (exactly: the shortest number with at most 3 decimals wins, ties
 * to the larger or binary suffix; bandwidth uses the bps family). Always
 * parses back to v.
 * Always NUL-terminates; returns the length that would have been written. */
size_t orr_unit_format(enum orr_unit_kind kind, uint64_t v, char *buf, size_t n);

/* Human name of the kind and the list of suffixes, for messages and docs. */
const char *orr_unit_kind_name(enum orr_unit_kind kind);    /* "time" */
const char *orr_unit_kind_suffixes(enum orr_unit_kind kind); /* "ps, ns, us, ms, s" */

#endif
