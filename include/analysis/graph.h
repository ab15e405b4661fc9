/* Pictures of the model, laid out and rendered by Graphviz (libgvc, the
 * dot engine): the topology of a built simulation, and state machines
 * (coherence protocols, exported as neutral data by the hardware library,
 * orrery/fsm.h). `orrery graph` writes them to files; `orrery report`
 * embeds them in HTML. See docs/graph.md for what the pictures show.
 *
 * The API, all of it:
 *
 *   orr_graph_topology(sim, title, format, &out, &len, diag)
 *   orr_graph_fsm(fsm, format, &out, &len, diag)
 *   orr_graph_format_known(format), orr_graph_format_for_path(path)
 *
 * Formats:
 *   "svg"         a standalone SVG document (XML declaration, DOCTYPE);
 *   "svg-inline"  the same SVG starting at its <svg> element, for pasting
 *                 into an HTML page;
 *   "png"         a PNG image (96 dpi);
 *   "dot"         the graph in Graphviz DOT, before layout: no coordinates,
 *                 so it is stable across Graphviz versions and re-renders
 *                 with `dot -Tpdf` and friends.
 *
 * Results are bytes in memory: *out is malloc'ed (free it with free()),
 * *len is its length, and a NUL byte follows the last one so text formats
 * can be used as C strings. On error *out is NULL, *len is 0 and d says
 * why. Return values: 0; ORR_EINVAL for an unknown format or a malformed
 * machine (orrery/fsm.h's invariants); ORR_ENOTSUP when Graphviz cannot
 * lay out or render (a missing plugin).
 *
 * Determinism: the same model (or machine) and format give the same bytes
 * with the same Graphviz build; the graph is built in component-id, port
 * and table order, never in pointer or hash order. The DOT output is
 * identical across runs by construction.
 *
 * Graphviz keeps process-wide state: do not call these from two threads
 * at once; calling them many times in one process is fine. Only the
 * core, dot_layout and gd plugins are used, linked in (graph.c says why):
 * the pictures do not depend on the Graphviz plugins installed. Graphviz's
 * own warnings (font fallbacks) are suppressed; its errors go to stderr as
 * well as to d. */
#ifndef ORRERY_ANALYSIS_GRAPH_H
#define ORRERY_ANALYSIS_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "orrery/diag.h"
#include "orrery/fsm.h"
#include "orrery/sim.h"

/* The machine a simulation describes: one node per component (labelled
 * with the last part of its path and its type, coloured by type; workload
 * types are ellipses, others boxes; unlinked components dashed), nested
 * clusters from the dotted path prefixes ("sock0" holds sock0.core0 and
 * sock0.router), and one edge per link labelled with its latency and,
 * when limited, bandwidth. Reads s only; s may be built, started or run,
 * but not destroyed. title (may be NULL) is the picture's caption. */
int orr_graph_topology(const struct orr_sim *s, const char *title, const char *format,
                       char **out, size_t *len, struct orr_diag *d);

/* A state machine: stable states as double circles, transient states as
 * boxes, the initial state marked by an arrow from a point; the states of
 * each group in a cluster; one edge per pair of states that has any edge,
 * labelled with every label of that pair, one per line (a self-loop for
 * hits lists all the hits). */
int orr_graph_fsm(const struct orr_fsm *f, const char *format, char **out, size_t *len,
                  struct orr_diag *d);

/* Is format one of the formats above? */
bool orr_graph_format_known(const char *format);

/* The format a file name asks for by its extension (".svg" -> "svg",
 * ".png", ".dot" or ".gv" -> "dot"), or NULL when the extension is none
 * of these. */
const char *orr_graph_format_for_path(const char *path);

#endif
