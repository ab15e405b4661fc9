#!/usr/bin/env bash
# The Intel-like preset under load against REFERENCES.md ("Memory under
# load"): single-core streaming read with prefetchers on and off, socket
# STREAM triad as a fraction of the channels' peak, the loaded-latency
# curve (dependent loads on one core while seven inject reads) and the idle
# pointer-chase latency with prefetchers on and off. Every figure is
# printed; the bands this model meets are asserted; a target it misses is
# printed as MISSED with the reason, and is not counted as a pass.
. "$(dirname "$0")/lib.sh"

NUM='^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
num() { [[ "$1" =~ $NUM ]]; }
# band VALUE LO HI DESC: assert LO <= VALUE <= HI
band() {
  if num "$1" && awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; then
    printf '  %-58s %8.2f  (target %s..%s)\n' "$4" "$1" "$2" "$3"; pass
  else fail "$4: '$1', expected $2..$3"; fi
}
# missed VALUE TARGET DESC WHY: a target this model does not meet (printed,
# not asserted); if the value meets it after all, say so loudly
missed() {
  printf '  %-58s %8.2f  MISSED (target %s): %s\n' "$3" "$1" "$2" "$4"
}
metric() { jq -r --arg c "$2" --arg n "$3" '.metrics[] | select(.component == $c and .name == $n) | .value' "$1"; }
p50() { jq -r --arg c "$2" --arg n "$3" '.histograms[] | select(.component == $c and .name == $n) | .p50 / 1000' "$1"; }

PRESET=$SRC/scenarios/presets/icelake-2s.yaml

# ---- single-core streaming read: one core, one sequential stream, ten
# demand loads in flight (the L1 fill buffers' worth)
cat > read1.yaml <<YAML
name: read1
extends: $PRESET
seed: 1
stop: {duration: 20ms}
machine:
  workloads:
    - {cores: "0", pattern: bandwidth, footprint: 64MiB, count: 100000, mlp: 10}
YAML
for pf in true false; do
  "$ORRERY" run read1.yaml --no-db --json --set machine.prefetchers=$pf > read1-$pf.json ||
    fail "read1 prefetchers=$pf runs"
done
# a line per access: GB/s = 64 B / ns per access
bw_on=$(awk -v t="$(metric read1-true.json sock0.core0 time_per_iteration)" 'BEGIN { if (t > 0) print 64 / t }')
bw_off=$(awk -v t="$(metric read1-false.json sock0.core0 time_per_iteration)" 'BEGIN { if (t > 0) print 64 / t }')
lat_off=$(p50 read1-false.json sock0.core0 miss_latency)
little=$(awk -v l="$lat_off" 'BEGIN { if (l > 0) print 10 * 64 / l }')
echo "single-core streaming read (icelake-2s, GB/s):"
if num "$bw_on" && awk -v v="$bw_on" 'BEGIN { exit !(v >= 10 && v <= 15) }'; then
  band "$bw_on" 10 15 "prefetchers on"
else
  missed "$bw_on" "10..15" "prefetchers on" \
    "the L2 streamer's distance (8 lines) barely passes the ten demand loads, and a row hit here takes ~61 ns, so ~16 lines in flight give more than a real core's 10-15"
fi
# prefetchers off: the demand window alone, Little's law (10 x 64 B / latency)
band "$bw_off" "$(awk -v x="$little" 'BEGIN { print 0.9 * x }')" \
  "$(awk -v x="$little" 'BEGIN { print 1.1 * x }')" "prefetchers off (Little's law: $little)"
if num "$bw_on" && num "$bw_off" && awk -v a="$bw_on" -v b="$bw_off" 'BEGIN { exit !(a > 1.2 * b) }'; then
  pass
else fail "prefetchers do not raise single-core bandwidth: on $bw_on, off $bw_off"; fi
pf_used=$(metric read1-true.json sock0.core0 l2.pf.issued)
[[ "$pf_used" =~ ^[1-9][0-9]*$ ]] && pass || fail "the L2 streamer issued no prefetches ($pf_used)"
[ "$(metric read1-false.json sock0.core0 l2.pf.issued)" = 0 ] && pass ||
  fail "prefetchers=false still prefetches"

# ---- socket STREAM triad: eight cores, prefetchers on
"$ORRERY" run "$SRC/scenarios/mem-stream.yaml" --no-db --json > stream.json || fail "mem-stream runs"
read -r triad bad < <(jq -r '
  [.metrics[] | select(.name == "measured.bytes") | .value] as $b |
  [.metrics[] | select(.name == "measured.start") | .value] as $s |
  [.metrics[] | select(.name == "measured.end") | .value] as $e |
  "\(($b | add) / (($e | max) - ($s | min))) \([.metrics[] | select(.name == "bad_values") | .value] | add)"' stream.json)
channels=6; peak=$(awk -v c=$channels 'BEGIN { print c * 64 / 2.5 }')  # 64 B per 2.5 ns burst
frac=$(awk -v t="$triad" -v p="$peak" 'BEGIN { if (p > 0) print 100 * t / p }')
echo "socket STREAM triad (8 cores, STREAM bytes):"
printf '  %-58s %8.2f GB/s of %s GB/s peak\n' "triad" "$triad" "$peak"
if num "$frac" && awk -v v="$frac" 'BEGIN { exit !(v >= 70 && v <= 85) }'; then
  band "$frac" 70 85 "triad, % of channel peak"
else
  missed "$frac" "70..85 %" "triad, % of channel peak" \
    "per-core lines in flight (streamer distance x 3 streams) over the loaded latency; the DRAM model has no write draining, so victim writes break open rows"
fi
# every core checked its a[] after the passes: no wrong value, and all the
# elements done (8 cores x 2 passes x 1 MiB / 8 B)
[ "$bad" = 0 ] && pass || fail "STREAM array check found $bad wrong values"
iters=$(jq -r '[.metrics[] | select(.name == "iterations") | .value] | add' stream.json)
[ "$iters" = $((8 * 2 * 131072)) ] && pass || fail "STREAM did $iters element updates, not $((8 * 2 * 131072))"
num "$triad" && awk -v v="$triad" 'BEGIN { exit !(v > 0) }' && pass || fail "no triad figure ($triad)"

# ---- loaded latency: sweep the injectors' compute delay
echo "loaded latency (core 0 dependent loads, cores 1-7 inject reads):"
printf '  %8s %10s %10s\n' compute "GB/s" "ns (p50)"
: > curve.txt
for c in 0 10 20 30 50 100 200 400 100000; do
  "$ORRERY" run "$SRC/scenarios/mem-loaded-latency.yaml" --no-db --json \
    --set machine.workloads.1.compute=${c}cy > ll-$c.json || fail "loaded latency compute=$c runs"
  bw=$(metric ll-$c.json sock0.mem bandwidth); ns=$(p50 ll-$c.json sock0.core0 miss_latency)
  printf '  %8s %10.2f %10.1f\n' "${c}cy" "$bw" "$ns"
  echo "$bw $ns" >> curve.txt
done
idle=$(sort -g curve.txt | head -1 | cut -d' ' -f2)
peak_bw=$(sort -g curve.txt | tail -1 | cut -d' ' -f1)
# latency at a fraction of the achieved peak: linear between the two sweep
# points around it (the curve sorted by bandwidth)
at() { sort -g curve.txt | awk -v x="$1" '
  { b[NR] = $1; l[NR] = $2 }
  END { for (i = 1; i < NR; i++) if (b[i] <= x && x <= b[i + 1]) {
          print l[i] + (l[i + 1] - l[i]) * (x - b[i]) / (b[i + 1] - b[i]); exit } }'; }
l50=$(at "$(awk -v p="$peak_bw" 'BEGIN { print 0.5 * p }')")
l80=$(at "$(awk -v p="$peak_bw" 'BEGIN { print 0.8 * p }')")
l95=$(at "$(awk -v p="$peak_bw" 'BEGIN { print 0.95 * p }')")
printf '  achieved peak %.1f GB/s (%.0f%% of %s); idle %.1f ns\n' "$peak_bw" \
  "$(awk -v a="$peak_bw" -v p="$peak" 'BEGIN { print 100 * a / p }')" "$peak" "$idle"
r50=$(awk -v a="$l50" -v i="$idle" 'BEGIN { print a / i }')
r80=$(awk -v a="$l80" -v i="$idle" 'BEGIN { print a / i }')
r95=$(awk -v a="$l95" -v i="$idle" 'BEGIN { print a / i }')
printf '  latency at 50%% / 80%% / 95%% of peak: %.1f / %.1f / %.1f ns (x%.2f / x%.2f / x%.2f idle)\n' \
  "$l50" "$l80" "$l95" "$r50" "$r80" "$r95"
for row in "$r50:1.3:50" "$r80:2.0:80"; do
  IFS=: read -r r lim pct <<< "$row"
  if num "$r" && awk -v r="$r" -v l="$lim" 'BEGIN { exit !(r <= l) }'; then
    band "$r" 0 "$lim" "loaded latency at $pct% of peak, x idle"
  else
    missed "$r" "<= x$lim" "loaded latency at $pct% of peak, x idle" \
      "open-page DRAM with 16 banks: paced streams from seven cores keep closing each other's rows, so mid loads see more row conflicts than full-speed streams that FR-FCFS batches"
  fi
done
if num "$r95" && awk -v a="$r95" -v b="$r80" 'BEGIN { exit !(a > 1.25 * b) }'; then
  printf '  %-58s %8.2f  (steep: > 1.25 x the 80%% point)\n' "rise from 80% to 95% of peak" "$r95"; pass
else
  missed "$r95" "> 1.25 x the 80% point" "loaded latency at 95% of peak, x idle" \
    "the achieved peak (~43% of the channels) is set by the injectors' lines in flight, not by saturated channels, so the curve does not reach its knee"
fi

# ---- idle pointer chase: prefetchers must not help a dependent random chase
"$ORRERY" run "$SRC/scenarios/mem-latency.yaml" --no-db --json > lat-on.json || fail "mem-latency runs"
"$ORRERY" run "$SRC/scenarios/mem-latency.yaml" --no-db --json --set machine.prefetchers=false \
  > lat-off.json || fail "mem-latency without prefetchers runs"
chase_on=$(p50 lat-on.json sock0.core0 miss_latency.node0)
chase_off=$(p50 lat-off.json sock0.core0 miss_latency.node0)
echo "idle pointer chase, local DRAM (ns):"
band "$chase_on" 88.27 93.73 "prefetchers on (91 +- 3%)"
band "$chase_off" 88.27 93.73 "prefetchers off (91 +- 3%)"
band "$(awk -v a="$chase_on" -v b="$chase_off" 'BEGIN { print 100 * (a - b) / b }')" -3 3 \
  "on vs off, % difference"

finish
