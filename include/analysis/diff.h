/* The engine of `orrery diff A B`: find the first event where two traces
 * differ (bisecting their digest checkpoints, then scanning one segment),
 * print it with context, and the per-component count and metric deltas.
 * docs/traces.md shows the output. */
#ifndef ORRERY_ANALYSIS_DIFF_H
#define ORRERY_ANALYSIS_DIFF_H

#include <stdbool.h>
#include <stdio.h>

#include "orrery/diag.h"

#define ORR_DIFF_DEFAULT_CONTEXT 5

struct orr_diff_opts {
    unsigned context; /* records of context printed each side of the divergence */
    bool json;        /* one JSON object instead of text */
};

/* Compare the traces at paths a and b and print the report to out (NULL
 * opts = defaults). Returns 0 if they are equal, 1 if they diverge (or
 * their final metrics differ), or a negative ORR_E* code with a message in
 * d if either trace is missing, truncated or corrupt; nothing is printed
 * then. */
int orr_diff_run(const char *a, const char *b, const struct orr_diff_opts *o, FILE *out,
                 struct orr_diag *d);

#endif
