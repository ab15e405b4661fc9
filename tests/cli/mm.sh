#!/usr/bin/env bash
# The page and object allocators of kernel/mm on the modelled machine
# (docs/mm.md): the palloc selftests pass on a kernel CPU; under 16-CPU
# churn the per-CPU page lists cut cross-CPU coherence transfers at least
# 5x (figures printed); every page is accounted after the churn; NUMA
# policies place pages where they say; the allocation fault point fails
# allocations without breaking the allocator; bad mm keys are exit 2 with
# a position.
. "$(dirname "$0")/lib.sh"
PRESET=$SRC/scenarios/presets/icelake-2s.yaml

# scenario NAME "KERNEL SECTION LINES..."
scenario() {
  printf 'name: %s\nextends: %s\nseed: 1\nstop: {duration: 100ms}\nkernel:\n%s\n' \
    "$1" "$PRESET" "$2" >"$1.yaml"
}
metric() { # metric JSON COMPONENT NAME
  jq -r --arg c "$2" --arg n "$3" '[.metrics[] | select(.component == $c and .name == $n) | .value][0]' "$1"
}
total() { # total JSON NAME: the sum over every component
  jq -r --arg n "$2" '[.metrics[] | select(.name == $n) | .value] | add' "$1"
}
rep() { metric "$1" sock0.core0 "report.mm.$2"; }

# --- selftests --------------------------------------------------------------------
scenario selftest '  cpus: "0-1"
  selftest: [palloc]'
expect_exit 0 "palloc selftests" -- "$ORRERY" run selftest.yaml --no-db
n_ok=$(grep -c '^ktest palloc\..* ok$' <<<"$OUT")
[ "$n_ok" -ge 10 ] && grep -q "KTEST PASS $n_ok\$" <<<"$OUT" && pass ||
  fail "palloc selftests: $n_ok ok; $(grep '^ktest' <<<"$OUT" | grep -v ' ok$' | head -3)"

# --- churn: per-CPU lists on and off ----------------------------------------------
# churn NAME "MM_BENCH KEYS" -> NAME.json
churn() {
  scenario "$1" "  cpus: all
  page_memory: 8MiB
  mm_bench: {cpus: 16, iterations: 500, $2}"
  "$ORRERY" run "$1.yaml" --no-db --json >"$1.json" || { fail "churn $1 failed"; return 1; }
  [ "$(rep "$1.json" check)" = 0 ] && [ "$(rep "$1.json" check_busy)" = 0 ] && pass ||
    fail "$1: mm_check $(rep "$1.json" check_busy) during, $(rep "$1.json" check) after"
}
churn on 'max_order: 0, pcp: true'
churn off 'max_order: 0, pcp: false'
c_on=$(total on.json c2c_transfers) c_off=$(total off.json c2c_transfers)
m_on=$(total on.json sub.mm.misses) m_off=$(total off.json sub.mm.misses)
ops=$(( $(rep on.json allocs) + $(rep on.json frees) ))
[ "$ops" = $(( $(rep off.json allocs) + $(rep off.json frees) )) ] && pass ||
  fail "the churn's mix depends on the per-CPU lists"
ns_on=$(echo "$(rep on.json elapsed_ns) * 16 / $ops" | bc -l)
ns_off=$(echo "$(rep off.json elapsed_ns) * 16 / $ops" | bc -l)
printf 'mm churn (16 CPUs, order 0, %d ops): per-CPU lists on: %d c2c transfers, %d misses, %.1f ns/op; off: %d c2c, %d misses, %.1f ns/op; c2c reduction %.1fx (target >= 5x)\n' \
  "$ops" "$c_on" "$m_on" "$ns_on" "$c_off" "$m_off" "$ns_off" "$(echo "$c_off / $c_on" | bc -l)"
[ "$(echo "$c_off >= 5 * $c_on" | bc -l)" = 1 ] && pass ||
  fail "per-CPU lists cut cross-CPU transfers from $c_off to $c_on only (target 5x)"
# every page back: 2 zones of 2048 pages, 11 of them metadata each (header,
# 2 pages of per-CPU lists for 16 CPUs, 8 of descriptors); the control page stays out
[ "$(rep on.json free_pages)" = 4073 ] && [ "$(rep off.json free_pages)" = 4073 ] && pass ||
  fail "free pages after the churn: $(rep on.json free_pages) and $(rep off.json free_pages), expected 4073"
[ "$(rep on.json remote_allocs)" = 0 ] && pass || fail "policy local gave $(rep on.json remote_allocs) remote pages"

# mixed orders and slab objects (scenarios/mm-buddy-slab.yaml): orders above 0
# take the zone lock by design, so the reduction is smaller; printed, held > 2x
churn mix_on 'max_order: 3, pcp: true, objects: true, object_size: 192B'
churn mix_off 'max_order: 3, pcp: false, objects: true, object_size: 192B'
r=$(echo "$(total mix_off.json c2c_transfers) / $(total mix_on.json c2c_transfers)" | bc -l)
printf 'mm churn with orders 1..3 and slab objects: c2c reduction %.1fx, fragmentation %s permille\n' "$r" "$(rep mix_on.json fragmentation)"
[ "$(echo "$r > 2" | bc -l)" = 1 ] && pass || fail "mixed churn: per-CPU lists cut transfers ${r}x only"
[ "$(rep mix_on.json objects)" -gt 1000 ] && pass || fail "slab objects: $(rep mix_on.json objects)"

# --- NUMA policy --------------------------------------------------------------------
churn bind 'max_order: 0, policy: bind, nodes: [1]'
a=$(rep bind.json allocs) rm=$(rep bind.json remote_allocs)
[ "$rm" -gt 0 ] && [ "$rm" -lt "$a" ] && pass || fail "bind [1]: $rm remote of $a"
churn inter 'max_order: 0, policy: interleave, nodes: [0, 1]'
a=$(rep inter.json allocs) rm=$(rep inter.json remote_allocs)
[ "$(( rm * 3 ))" -gt "$a" ] && [ "$(( rm * 3 ))" -lt "$(( 2 * a ))" ] && pass ||
  fail "interleave [0, 1]: $rm remote of $a, expected about half"
echo "numa: bind [1] $(rep bind.json remote_allocs)/$(rep bind.json allocs) remote; interleave $rm/$a remote"

# a small node 1 (2 MiB): preferred falls back to node 0 when it is empty, bind fails
pm() { printf '  cpus: all\n  page_memory: 2MiB\n  mm_bench: {cpus: 16, iterations: 600, max_order: 0, %s}' "$1"; }
scenario pref "$(pm 'policy: preferred, nodes: [1]')"
scenario bind1 "$(pm 'policy: bind, nodes: [1]')"
"$ORRERY" run pref.yaml --no-db --json >pref.json && "$ORRERY" run bind1.yaml --no-db --json >bind1.json ||
  fail "small-node runs"
fp=$(rep pref.json alloc_failures) fb=$(rep bind1.json alloc_failures)
echo "numa, node 1 of 2 MiB: preferred [1]: $fp failures, $(rep pref.json remote_allocs)/$(rep pref.json allocs) remote; bind [1]: $fb failures"
[ "$fp" = 0 ] && [ "$fb" -gt 0 ] && [ "$(rep bind1.json check)" = 0 ] && pass ||
  fail "small node 1: preferred $fp failures (expected 0), bind $fb (expected some)"

# watermarks: socket 0's 8 CPUs churn with policy local on 2 MiB zones; node 0
# refused at its min mark sends allocations to node 1 (no failure); without
# watermarks nothing is remote
wmk() { printf '  cpus: all\n  page_memory: 2MiB\n  mm_bench: {cpus: 8, iterations: 600, max_order: 0, policy: local%s}' "$1"; }
scenario wm "$(wmk ', watermarks: {min: 300, low: 340, high: 400}')"
scenario nowm "$(wmk '')"
"$ORRERY" run wm.yaml --no-db --json >wm.json && "$ORRERY" run nowm.yaml --no-db --json >nowm.json ||
  fail "watermark runs"
echo "watermarks min 300 low 340 high 400 (2 MiB zones): $(rep wm.json pressure_events) pressure events, $(rep wm.json min_refusals) refusals at min, $(rep wm.json remote_allocs)/$(rep wm.json allocs) remote (without: $(rep nowm.json remote_allocs))"
[ "$(rep wm.json pressure_events)" -gt 0 ] && [ "$(rep wm.json min_refusals)" -gt 0 ] &&
  [ "$(rep wm.json remote_allocs)" -gt 0 ] && [ "$(rep wm.json alloc_failures)" = 0 ] &&
  [ "$(rep nowm.json remote_allocs)" = 0 ] && [ "$(rep nowm.json pressure_events)" = 0 ] &&
  [ "$(rep wm.json check)" = 0 ] && pass || fail "watermarks: no spill to the other node, or failures"

# --- the allocation fault point ------------------------------------------------------
churn faulty 'max_order: 0, fail_every: 7'
inj=$(rep faulty.json injected_failures)
[ "$inj" -gt 0 ] && [ "$(rep faulty.json alloc_failures)" = "$inj" ] && pass ||
  fail "fault point: $inj injected, $(rep faulty.json alloc_failures) failures seen"

# the alloc_fail fault (hal_fault_point): CPU 3's next 5 allocations fail and the
# churn carries on; 100 on CPU 0 before the benchmark's control page (which it
# retries 64 times): a kernel panic naming the path
printf 'name: af\nextends: %s\nseed: 1\nstop: {duration: 100ms}\nkernel:\n  cpus: all\n  page_memory: 8MiB\n  mm_bench: {cpus: 16, iterations: 500, max_order: 0}\nfaults:\n  - {at: 1us, component: sock0.core3, fault: alloc_fail, count: 5}\n' \
  "$PRESET" >af.yaml
expect_exit 0 "alloc_fail on cpu 3" -- "$ORRERY" run af.yaml --no-db --json
echo "$OUT" >af.json
[ "$(rep af.json injected_failures)" = 5 ] && [ "$(rep af.json alloc_failures)" = 5 ] &&
  [ "$(metric af.json sock0.core3 kern.allocs_failed)" = 5 ] && [ "$(rep af.json check)" = 0 ] && pass ||
  fail "alloc_fail: $(rep af.json injected_failures) injected, $(rep af.json alloc_failures) failures"
sed 's/sock0.core3/sock0.core0/; s/count: 5/count: 100/' af.yaml >af0.yaml
expect_exit 1 "alloc_fail on cpu 0 before the control page" -- "$ORRERY" run af0.yaml --no-db
expect_out "kernel panic on cpu 0 .*mm_bench: no page for the control page" "the panic names the path"

# explore fires alloc_fail on random kernel CPUs: the allocators handle every one
printf 'name: afx\nextends: %s\nseed: 1\nstop: {duration: 100ms}\nkernel:\n  cpus: all\n  page_memory: 8MiB\n  mm_bench: {cpus: 16, iterations: 300, max_order: 3, objects: true}\nexplore:\n  horizon: 200us\n  faults:\n    - {component: "sock*.core*", fault: alloc_fail, mean_interval: 20us, max: 4}\n  properties:\n    metrics:\n      "sock0.core0.report.mm.check": "== 0"\n' \
  "$PRESET" >afx.yaml
expect_exit 0 "explore alloc_fail, 12 seeds" -- "$ORRERY" explore afx.yaml --seeds 12 -j 2 --db afx.db
expect_out "12 of 12 seeds run, 0 failed" "explore verdict"

# --- bad input ----------------------------------------------------------------------
bad() { # bad NAME REGEX "KERNEL LINES"
  scenario "$1" "$3"
  expect_exit 2 "$1" -- "$ORRERY" run "$1.yaml" --db "$1.db"
  expect_out "$2" "$1 message"
  [ ! -e "$1.db" ] && pass || fail "$1: a database was written"
}
bad missing-node "missing-node.yaml:[0-9]+:[0-9]+: error: kernel.mm_bench.nodes: '5' is not a NUMA node" '  page_memory: 4MiB
  mm_bench: {cpus: 2, policy: preferred, nodes: [5]}'
bad watermarks "watermarks.yaml:[0-9]+:[0-9]+: error: kernel.mm_bench.high" '  page_memory: 4MiB
  mm_bench: {cpus: 2, batch: 32, high: 8}'
bad no-memory "no-memory.yaml:[0-9]+:[0-9]+: error: kernel.mm_bench.cpus: .*page_memory" '  mm_bench: {cpus: 2}'
bad too-big "too-big.yaml:[0-9]+:[0-9]+: error: kernel.page_memory" '  page_memory: 64GiB
  mm_bench: {cpus: 2}'
bad wmark-order "wmark-order.yaml:[0-9]+:[0-9]+: error: kernel.mm_bench.watermarks: min 10, low 50, high 20" '  page_memory: 4MiB
  mm_bench: {cpus: 2, watermarks: {min: 10, low: 50, high: 20}}'
bad no-nodes "no-nodes.yaml:[0-9]+:[0-9]+: error: kernel.mm_bench.nodes: policy bind" '  page_memory: 4MiB
  mm_bench: {cpus: 2, policy: bind}'
finish
