#!/usr/bin/env bash
# Prefetch accounting (docs/memory.md): on a read stream that touches each
# line once, every line's first demand access is a plain miss, a late
# prefetch (counted in misses too) or a useful one (a hit), so
#   misses + l1.pf.useful + l2.pf.useful = accesses
#   l1.hits + l2.hits                   = l1.pf.useful + l2.pf.useful
# and resolved prefetches never outnumber issued ones. On random loads the
# next-line prefetcher's lines go unused and accuracy throttling must hold
# it to a fraction of the misses; a superqueue no larger than the L1's
# buffers drops prefetches; a dependent chase is not sped up.
. "$(dirname "$0")/lib.sh"

m() { jq -r --arg n "$2" '.metrics[] | select(.component == "sock0.core0" and .name == $n) | .value' "$1"; }

L1PF_DEFAULT='[{type: next_line}, {type: ip_stride}]'
run() { # NAME PATTERN-ENTRY [MACHINE-KEYS...]   (SQ: the superqueue, default 32;
       # L1PF: the L1's prefetch list)
  local name=$1 entry=$2; shift 2
  {
    printf 'name: %s\nseed: 3\nstop: {duration: 5ms}\nmachine:\n  cores_per_socket: 2\n' "$name"
    printf '  frequency: 2GHz\n  mshrs: 10\n  superqueue: %s\n  llc: {size: 1MiB, ways: 16}\n' "${SQ:-32}"
    printf '  l1d: {size: 32KiB, ways: 8, prefetch: %s}\n' "${L1PF:-$L1PF_DEFAULT}"
    printf '  l2: {size: 256KiB, ways: 8, prefetch: [{type: stream, degree: 4, distance: 16}]}\n'
    for k in "$@"; do printf '  %s\n' "$k"; done
    printf '  workloads:\n    - %s\n' "$entry"
  } > "$name.yaml"
  "$ORRERY" run "$name.yaml" --no-db --json > "$name.json" || fail "$name runs"
}

eq() { if [ "$1" = "$2" ] && [[ "$1" =~ ^[0-9a-f]+$ ]]; then pass; else fail "$3: $1 != $2"; fi; }
le() { if [[ "$1" =~ ^[0-9]+$ && "$2" =~ ^[0-9]+$ ]] && [ "$1" -le "$2" ]; then pass; else fail "$3: $1 > $2"; fi; }

# ---- a read stream, each line once, with work between the lines so the
# prefetchers get ahead of the demand
run seqread '{cores: "0", pattern: bandwidth, footprint: 16MiB, count: 20000, mlp: 8, compute: 60cy}'
acc=$(m seqread.json loads); miss=$(m seqread.json misses)
u1=$(m seqread.json l1.pf.useful); u2=$(m seqread.json l2.pf.useful)
l1=$(m seqread.json l1.pf.late); l2=$(m seqread.json l2.pf.late)
x1=$(m seqread.json l1.pf.useless); x2=$(m seqread.json l2.pf.useless)
i1=$(m seqread.json l1.pf.issued); i2=$(m seqread.json l2.pf.issued)
h1=$(m seqread.json l1.hits); h2=$(m seqread.json l2.hits)
echo "seqread: $acc loads, $miss misses; l1 issued $i1 useful $u1 late $l1 useless $x1;" \
     "l2 issued $i2 useful $u2 late $l2 useless $x2; hits l1 $h1 l2 $h2"
eq "$((miss + u1 + u2))" "$acc" "misses + useful = accesses"
eq "$((h1 + h2))" "$((u1 + u2))" "hits = useful prefetches"
le "$((u1 + l1 + x1))" "$i1" "L1 resolved <= issued"
le "$((u2 + l2 + x2))" "$i2" "L2 resolved <= issued"
# a pure stream: the streamer's lines are used (useful or late), not wasted
le "$((10 * x2))" "$i2" "L2 useless under 10% of issued on a stream"
le "$((i2 / 2))" "$((u2 + l2))" "at least half the L2 prefetches resolved as used"
[ "$i2" -gt 1000 ] && pass || fail "the streamer issued only $i2 prefetches on a 20000-line stream"

# ---- a store stream: the streamer takes lines for writing (no upgrades)
run seqwrite '{cores: "0", pattern: bandwidth, footprint: 16MiB, count: 20000, mlp: 8, write_ratio: 100}'
up=$(m seqwrite.json upgrades)
echo "seqwrite: upgrades $up, l2 issued $(m seqwrite.json l2.pf.issued)"
le "$up" 100 "stores into prefetched lines need no upgrade"

# ---- random dependent loads (one in flight, so the L1 has room to
# prefetch) with an untrained next-line prefetcher (train: 0, firing on
# every access): its lines go unused; throttling caps them
L1PF='[{type: next_line, train: 0}]' run randread '{cores: "0", pattern: random, footprint: 64MiB, count: 20000, mlp: 1}'
rmiss=$(m randread.json misses); ri1=$(m randread.json l1.pf.issued)
rx1=$(m randread.json l1.pf.useless); ru1=$(m randread.json l1.pf.useful)
echo "randread: $rmiss misses, l1 issued $ri1 useful $ru1 useless $rx1"
le "$((4 * ri1))" "$rmiss" "accuracy throttling keeps next-line prefetches under a quarter of the misses"
le "$((10 * ru1))" "$ri1" "random next-line prefetches are rarely useful"
[ "$ri1" -gt 0 ] && pass || fail "an untrained next-line prefetcher issued nothing on random loads"
# trained (the default): a random load is not ascending, so nothing fires
run randtrained '{cores: "0", pattern: random, footprint: 64MiB, count: 20000, mlp: 1}'
le "$(m randtrained.json l1.pf.issued)" 100 "a trained next-line prefetcher stays quiet on random loads"

# ---- every other line (stride 128 B): half of what the prefetchers fetch
# is never used and is evicted by later fills, demand and prefetch alike;
# every prefetched line is resolved except those still resident (at most
# the L2's 4096 lines) or in flight (the superqueue's 32)
run stride2 '{cores: "0", pattern: stride, stride: 128B, footprint: 16MiB, count: 20000, mlp: 8}'
si=$(( $(m stride2.json l1.pf.issued) + $(m stride2.json l2.pf.issued) ))
sr=$(( $(m stride2.json l1.pf.useful) + $(m stride2.json l2.pf.useful) + $(m stride2.json l1.pf.late) \
     + $(m stride2.json l2.pf.late) + $(m stride2.json l1.pf.useless) + $(m stride2.json l2.pf.useless) ))
echo "stride2: issued $si, resolved $sr (useless $(m stride2.json l1.pf.useless) + $(m stride2.json l2.pf.useless))"
le "$sr" "$si" "stride2: resolved <= issued"
le "$((si - sr))" "$((4096 + 32))" "stride2: unresolved prefetches fit in the L2 and superqueue"

# ---- a superqueue equal to the L1's buffers leaves prefetches no room
SQ=10 run tightsq '{cores: "0", pattern: bandwidth, footprint: 16MiB, count: 20000, mlp: 8}'
d2=$(m tightsq.json l2.pf.dropped)
echo "tightsq: l2 dropped $d2 (issued $(m tightsq.json l2.pf.issued))"
[ "$d2" -gt 0 ] && pass || fail "a full superqueue dropped no prefetch ($d2)"

# ---- prefetchers=false: nothing issued, and a memory-bound stream (no
# work between lines: the demand window alone bounds it) is slower
run fast '{cores: "0", pattern: bandwidth, footprint: 16MiB, count: 20000, mlp: 8}'
run fastoff '{cores: "0", pattern: bandwidth, footprint: 16MiB, count: 20000, mlp: 8}' 'prefetchers: false'
eq "$(m fastoff.json l2.pf.issued)" 0 "prefetchers: false issues nothing"
t_on=$(m fast.json time_per_iteration); t_off=$(m fastoff.json time_per_iteration)
echo "memory-bound stream: $t_on ns per line with prefetchers, $t_off without"
if awk -v a="$t_on" -v b="$t_off" 'BEGIN { exit !(a > 0 && a < b) }'; then pass
else fail "prefetching did not speed the stream up ($t_on vs $t_off ns per access)"; fi

# ---- the same scenario twice: prefetching is deterministic
"$ORRERY" run seqread.yaml --no-db --json > seqread2.json || fail "seqread reruns"
eq "$(jq -r .digest seqread2.json)" "$(jq -r .digest seqread.json)" "prefetching run digest repeats"

finish
