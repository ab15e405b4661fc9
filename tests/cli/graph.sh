#!/usr/bin/env bash
# `orrery graph`: topology pictures of a machine scenario and a plain
# component scenario in SVG, PNG and DOT; protocol state machines; bad
# input (exit 2, no file left behind); the same command twice gives the
# same DOT.
. "$(dirname "$0")/lib.sh"

# Graphviz, its plugins and fontconfig keep caches for the life of the
# process that gvFreeContext does not free: under AddressSanitizer
# (scripts/test.sh) they are not our leaks. Leaks in orrery's own code have
# none of these libraries on their stack and are still reported.
printf 'leak:%s\n' libgvc.so libgvplugin_ libfontconfig.so libgd.so libfreetype \
  > "$WORK/lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$WORK/lsan.supp:print_suppressions=0"

# SVG must be well-formed XML
svg_ok() {
  if command -v python3 >/dev/null; then
    python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$1" 2>/dev/null
  else
    xmllint --noout "$1" 2>/dev/null
  fi
}
png_ok() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }

# components named by the last part of their path, per scenario
ML_NAMES="core0 core1 core7 router home mem numa"
INCAST_NAMES="s0 s1 s2 s3 s4 s5 sw0 sink0 sink1"

for scen in mem-latency incast; do
  f="$SRC/scenarios/$scen.yaml"
  for ext in svg png dot; do
    expect_exit 0 "graph $scen -o $scen.$ext" -- "$ORRERY" graph "$f" -o "$scen.$ext"
    [ -s "$scen.$ext" ] && pass || fail "$scen.$ext is empty or missing"
    ! ls "$scen.$ext".tmp* >/dev/null 2>&1 && pass || fail "$scen.$ext.tmp left behind"
  done
  svg_ok "$scen.svg" && pass || fail "$scen.svg is not well-formed XML"
  png_ok "$scen.png" && pass || fail "$scen.png lacks the PNG signature"
  grep -q '^digraph' "$scen.dot" && pass || fail "$scen.dot is not a DOT digraph"

  # one node per component: as many as validate counts
  n=$("$ORRERY" validate --json "$f" | grep -oE '"components": ?[0-9]+' | grep -oE '[0-9]+$')
  nodes=$(grep -c 'class="node"' "$scen.svg")
  [ -n "$n" ] && [ "$nodes" -eq "$n" ] && pass || fail "$scen.svg has $nodes nodes, validate says $n"
  names=$([ "$scen" = incast ] && echo "$INCAST_NAMES" || echo "$ML_NAMES")
  for name in $names; do
    grep -q ">$name</text>" "$scen.svg" && pass || fail "$scen.svg does not show component $name"
  done
done

# link labels: latency, and bandwidth where the link has one
grep -qE '>500ps</text>' mem-latency.svg && pass || fail "mem-latency.svg has no latency label"
grep -qE '>200ns</text>' incast.svg && pass || fail "incast.svg has no 200ns latency label"
grep -qE '>25Gbps</text>' incast.svg && pass || fail "incast.svg has no 25Gbps bandwidth label"
# clusters from dotted paths; none for flat paths
grep -q 'subgraph cluster_sock0 {' mem-latency.dot && pass || fail "no cluster for sock0"
grep -q 'subgraph cluster_cxl0 {' mem-latency.dot && pass || fail "no cluster for cxl0"
grep -q 'subgraph cluster' incast.dot && fail "incast.dot has clusters" || pass

# --set applies before drawing; stdout defaults to SVG
OUT=$("$ORRERY" graph "$SRC/scenarios/incast.yaml" --format dot --set links.0.latency=333ns)
expect_out '333ns' "--set changes a link label"
"$ORRERY" graph "$SRC/scenarios/incast.yaml" > stdout.svg && svg_ok stdout.svg && pass ||
  fail "graph to stdout is not SVG"
expect_exit 0 "--format svg-inline" -- "$ORRERY" graph "$SRC/scenarios/incast.yaml" --format svg-inline
expect_out '^<svg' "svg-inline starts at <svg>"

# protocols: stable and transient states of MOESI
expect_exit 0 "--protocol moesi" -- "$ORRERY" graph --protocol moesi -o moesi.svg
svg_ok moesi.svg && pass || fail "moesi.svg is not well-formed XML"
for s in I S E O M IS_D IM_D SM_D OM_D MI_A II_A; do
  grep -q ">$s</text>" moesi.svg && pass || fail "moesi.svg does not show state $s"
done
grep -q 'PROBE_S / ACK_DATA' moesi.svg && pass || fail "moesi.svg has no PROBE_S / ACK_DATA edge"
grep -qE 'STALL|ERROR' moesi.svg && fail "moesi.svg shows stalls or errors" || pass
expect_exit 0 "--protocol mesi-dir (dot)" -- "$ORRERY" graph --protocol mesi-dir --format dot
grep -qE '^\s+O\s' <<< "$OUT" && fail "mesi-dir has an O state" || pass
expect_exit 0 "--protocol moesi --home" -- "$ORRERY" graph --protocol moesi --home --format dot
expect_out 'X -> O' "the MOESI directory goes X -> O when a dirty owner is probed"
expect_exit 0 "--protocol moesi -o png" -- "$ORRERY" graph --protocol moesi -o moesi.png
png_ok moesi.png && pass || fail "moesi.png lacks the PNG signature"

# determinism: the same command twice gives the same DOT
for args in "$SRC/scenarios/mem-latency.yaml" "--protocol moesi" "--protocol moesi --home"; do
  # shellcheck disable=SC2086
  "$ORRERY" graph $args --format dot > a.dot && "$ORRERY" graph $args --format dot > b.dot
  cmp -s a.dot b.dot && pass || fail "graph $args: DOT differs between two runs"
done

# bad input: exit 2, nothing written
expect_exit 2 "unknown protocol" -- "$ORRERY" graph --protocol mosi -o bad1.svg
expect_out "unknown protocol 'mosi'" "unknown protocol names the protocol"
expect_out 'moesi-dir' "unknown protocol lists the protocols"
expect_exit 2 "missing scenario" -- "$ORRERY" graph nosuch.yaml -o bad2.svg
expect_exit 2 "unknown --format" -- "$ORRERY" graph "$SRC/scenarios/incast.yaml" --format jpeg -o bad3.svg
expect_exit 2 "unknown extension" -- "$ORRERY" graph "$SRC/scenarios/incast.yaml" -o bad4.jpeg
expect_exit 2 "scenario and --protocol" -- "$ORRERY" graph "$SRC/scenarios/incast.yaml" --protocol moesi
expect_exit 2 "no scenario" -- "$ORRERY" graph
expect_exit 2 "--home without --protocol" -- "$ORRERY" graph "$SRC/scenarios/incast.yaml" --home
expect_exit 2 "unwritable output" -- "$ORRERY" graph --protocol moesi -o nodir/x.svg
ls bad* nodir 2>/dev/null | grep -q . && fail "bad input left files: $(ls bad* 2>/dev/null)" || pass
expect_exit 0 "--help" -- "$ORRERY" graph --help
expect_out '--protocol NAME' "help documents --protocol"

finish
