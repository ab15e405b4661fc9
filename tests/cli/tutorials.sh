#!/usr/bin/env bash
# Every command block (```sh) of docs/tutorial/*.md, run as written, in
# order, from a scratch directory that sees the repository's scenarios/:
# the tutorials must keep working as the model changes. Then one figure of
# each page, derived from what the page explains.
. "$(dirname "$0")/lib.sh"

mkdir bin
ln -s "$ORRERY" bin/orrery
export PATH="$WORK/bin:$PATH"
ln -s "$SRC/scenarios" scenarios

for page in "$SRC"/docs/tutorial/*.md; do
  name=$(basename "$page" .md)
  [ "$name" = README ] && continue
  awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on' "$page" > "$name.sh"
  n=$(grep -c . "$name.sh")
  [ "$n" -gt 0 ] || { fail "$name: no command blocks"; continue; }
  mkdir "run-$name"
  if (cd "run-$name" && ln -s ../scenarios scenarios && set -e -o pipefail && . "../$name.sh") \
       > "$name.out" 2>&1; then
    pass; echo "  $name: $n commands ran"
  else
    fail "$name: a command failed; output:"; tail -20 "$name.out" >&2
  fi
done
# One figure per page, checked against what the page says and why.
# coherence: with snooping the home probes the other seven cores on every
# request (GetS and GetM), so probes = 7 x requests exactly
J=run-coherence/snoop.json
home() { jq -r --arg n "$1" '.metrics[] | select(.component == "sock0.home" and .name == $n) | .value' "$J"; }
req=$(( $(home gets) + $(home getm) ))
[ "$req" -gt 0 ] && [ "$(home probes)" = $((7 * req)) ] && pass ||
  fail "coherence: $(home probes) probes for $req requests, want 7 per request"
# cxl-whatif: the median load grows one-for-one with the device latency,
# so consecutive sweep points (40 ns apart) differ by 40 ns (histogram
# buckets: within 5%)
steps=$(awk -F, '$7 == "sock0.core0.miss_latency.p50" { if (n++) print $11 - last; last = $11 }' \
        run-cxl-whatif/cxl.csv)
[ "$(wc -l <<< "$steps")" = 3 ] && awk '{ if ($1 < 38000 || $1 > 42000) bad = 1 } END { exit bad }' <<< "$steps" &&
  pass || fail "cxl-whatif: p50 steps '$(echo $steps)' ps between points, want 3 of 40 ns"
# scheduling: rt wakes every time in the modelled switch cost, enqueue +
# pick + context switch = 150 + 200 + 2000 cycles at the node's 2 GHz
rt=$(jq -r '.histograms[] | select(.name == "rt.wakeup_latency") | "\(.p50) \(.max)"' run-scheduling/sched.json)
[ "$rt" = "1175000 1175000" ] && pass || fail "scheduling: rt wake-up p50 and max '$rt' ps, want 1175000 both"
# explore: the shrunk schedule is one loss spell (two firings: on, then
# off), its reproducer fails with the planted bug and passes without it,
# and a search without the bug finds nothing
E=run-explore
grep -q "fault firings -> 1 in" "$E/shrink.txt" && [ "$(grep -c '^  - {at:' "$E/shrink.txt")" = 2 ] &&
  pass || fail "explore: the shrink did not end at one firing: $(grep shrunk "$E/shrink.txt")"
grep -q "^stopped   a model reported a failure" "$E/repro-bug.txt" &&
  grep -q "^stopped   workloads finished" "$E/repro-fixed.txt" && pass ||
  fail "explore: the reproducer should fail with the bug and pass without it"
grep -q "40 of 40 seeds run, 0 failed" "$E/fixed.txt" && pass || fail "explore: the fixed search: $(cat "$E/fixed.txt")"

# the pictures the pages show are committed beside them
for img in $(grep -ho 'img/[A-Za-z0-9_.-]*' "$SRC"/docs/tutorial/*.md | sort -u); do
  [ -s "$SRC/docs/tutorial/$img" ] && pass || fail "docs/tutorial/$img is missing"
done
finish
