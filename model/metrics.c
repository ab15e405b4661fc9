/* Declared metrics (include/orrery/stats.h): the one pattern matcher for
 * metric names, how a stat of each kind appears among a run's metrics,
 * and the metrics the engine registers itself. simstats.c holds every
 * registration to these declarations; budget.c asks them before a run. */
#include "orrery/stats.h"

#include <string.h>

const struct orr_metric_doc orr_link_metrics[] = {
    {"<PORT>.tx_bytes", "B", ORR_METRIC_COUNTER, "bytes sent out of port PORT over its link"},
    {"<PORT>.tx_msgs", "msg", ORR_METRIC_COUNTER, "messages sent out of port PORT over its link"},
    {"<PORT>.tx_util", "ratio", ORR_METRIC_VALUE,
     "share of the run PORT's direction of the link spent serialising (links with a "
     "bandwidth)"},
    {NULL},
};

/* Values filled in by orr__stats_flatten (simstats.c), which writes these
 * first, before any component's metrics. */
const struct orr_metric_doc orr_run_metrics[] = {
    {"events", "event", ORR_METRIC_VALUE, "events dispatched by the run"},
    {"time", "ps", ORR_METRIC_VALUE, "simulated time at which the run ended"},
    {"events_beyond_horizon", "event", ORR_METRIC_VALUE,
     "events never queued because they fell at or after the time horizon (2^62 ps)"},
    {NULL},
};

const char *orr_metric_kind_name(enum orr_metric_kind k)
{
    static const char *const names[] = {"counter", "gauge", "value", "histogram"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/* Backtracking over placeholders: each tries every length from one
 * character up. Names and patterns are short and hold few placeholders,
 * so the worst case (placeholders^length) never matters in practice. */
bool orr_metric_name_match(const char *pattern, const char *name)
{
    while (*pattern && *pattern != '<') {
        if (*pattern++ != *name++)
            return false;
    }
    if (!*pattern)
        return !*name;
    const char *close = strchr(pattern, '>');
    if (!close) /* not a placeholder after all: a literal '<' */
        return *name == '<' && orr_metric_name_match(pattern + 1, name + 1);
    bool dots = close - pattern >= 4 && memcmp(close - 3, "...", 3) == 0;
    for (const char *end = name; *end && (dots || *end != '.'); end++)
        if (orr_metric_name_match(close + 1, end + 1))
            return true;
    return false;
}

const struct orr_metric_doc *orr_metric_doc_find(const struct orr_metric_doc *docs,
                                                 const char *name, enum orr_metric_kind k,
                                                 const char *unit)
{
    for (; docs && docs->name; docs++)
        if (docs->kind == k && strcmp(docs->unit, unit ? unit : "") == 0 &&
            orr_metric_name_match(docs->name, name))
            return docs;
    return NULL;
}

const struct orr_metric_field *orr_metric_fields(enum orr_metric_kind k, size_t *n)
{
    static const struct orr_metric_field self[] = {{NULL, false}};
    static const struct orr_metric_field gauge[] = {{NULL, false}, {"max", false}};
    static const struct orr_metric_field hist[] = {
        {"count", true}, {"mean", false}, {"min", false},  {"p50", false},
        {"p90", false},  {"p99", false},  {"p999", false}, {"max", false}};
    switch (k) {
    case ORR_METRIC_GAUGE: *n = sizeof gauge / sizeof gauge[0]; return gauge;
    case ORR_METRIC_HISTOGRAM: *n = sizeof hist / sizeof hist[0]; return hist;
    case ORR_METRIC_COUNTER:
    case ORR_METRIC_VALUE: break;
    }
    *n = 1;
    return self;
}
