#!/usr/bin/env bash
# The presets' emergent latencies against REFERENCES.md, within ±15%:
# idle DRAM, LLC hit, core-to-core and CXL latency, measured by running
# the shipped scenarios (and an LLC-resident probe) and reading p50s.
. "$(dirname "$0")/lib.sh"

# p50 of histogram NAME on component COMP in run output FILE, in ns
p50() { jq -r --arg c "$2" --arg n "$3" \
  '.histograms[] | select(.component == $c and .name == $n) | .p50 / 1000' "$1"; }

# within VALUE WANT DESC: |value - want| <= 15% of want
# (an empty or non-numeric value or reference fails, as does a reference of
# 0: awk reads "" as 0, and a lookup that found nothing must not pass)
NUM='^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
within() {
  if [[ "$1" =~ $NUM && "$2" =~ $NUM ]] &&
     awk -v v="$1" -v w="$2" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(w > 0 && d <= 0.15 * w) }'; then
    printf '  %-44s %8.1f  (reference %s)\n' "$3" "$1" "$2"; pass
  else fail "$3: '$1', reference $2 (empty, or more than 15% off)"; fi
}

"$ORRERY" run "$SRC/scenarios/mem-latency.yaml" --no-db --json > lat.json || fail "mem-latency runs"
local_ns=$(p50 lat.json sock0.core0 miss_latency.node0)
cxl_ns=$(p50 lat.json sock0.core0 miss_latency.node2)
remote_ns=$(p50 lat.json sock0.core0 miss_latency.node1)
within "$local_ns" 90 "icelake-2s idle DRAM latency, ns (Skylake-SP 89-91)"
within "$(awk -v a="$cxl_ns" -v b="$local_ns" 'BEGIN { print a - b }')" 80 \
  "CXL added latency over local DRAM, ns (Pond 70-90)"
within "$cxl_ns" "$(awk -v r="$remote_ns" 'BEGIN { print 1.35 * r }')" \
  "CXL load latency, ns (ASIC expander ~1.35x remote)"

"$ORRERY" run "$SRC/scenarios/mem-c2c.yaml" --no-db --json > c2c.json || fail "mem-c2c runs"
within "$(p50 c2c.json sock0.core0 miss_latency)" 51 "core-to-core same socket, ns (Ice Lake 51)"
within "$(p50 c2c.json sock0.core2 miss_latency)" 108 "core-to-core cross socket, ns (Ice Lake 108)"

# LLC hits: a random walk over 3 MiB (more than the L2, less than the LLC)
for preset in icelake-2s:2.7:46 epyc-2s:3.4:34; do
  IFS=: read -r name ghz cycles <<< "$preset"
  cat > llc-$name.yaml <<YAML
name: llc-$name
extends: $SRC/scenarios/presets/$name.yaml
stop: {duration: 20ms}
machine:
  mlp: 1
  workloads:
    - {cores: "0", pattern: random, footprint: 3MiB, count: 300000}
YAML
  "$ORRERY" run llc-$name.yaml --no-db --json > llc-$name.json || fail "llc-$name runs"
  ns=$(p50 llc-$name.json sock0.core0 miss_latency)
  within "$(awk -v n="$ns" -v g="$ghz" 'BEGIN { print n * g }')" "$cycles" \
    "$name LLC hit, cycles"
done

# AMD-like idle DRAM: 113-134 ns (EPYC 7742, 128-512 MB footprint)
cat > dram-epyc.yaml <<YAML
name: dram-epyc
extends: $SRC/scenarios/presets/epyc-2s.yaml
stop: {duration: 20ms}
machine:
  mlp: 1
  workloads:
    - {cores: "0", pattern: random, footprint: 512MiB, count: 2000}
YAML
"$ORRERY" run dram-epyc.yaml --no-db --json > dram-epyc.json || fail "dram-epyc runs"
within "$(p50 dram-epyc.json sock0.core0 miss_latency)" 123 "epyc-2s idle DRAM latency, ns (113-134)"

finish
