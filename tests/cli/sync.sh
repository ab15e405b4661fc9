#!/usr/bin/env bash
# kernel/sync beyond the spin locks (docs/sync.md): RCU grace periods take
# one to two 1 ms ticks (distribution printed); RCU readers take no
# coherence miss in steady state while grace periods run; updater
# throughput printed; rcu_check fails the run when a grace period ends
# under a reader (a planted premature end); bad rcu_bench keys are exit 2
# with a position.
. "$(dirname "$0")/lib.sh"
PRESET=$SRC/scenarios/presets/icelake-2s.yaml

scenario() { # scenario NAME "KERNEL SECTION LINES..."
  printf 'name: %s\nextends: %s\nseed: 1\nstop: {duration: 200ms}\nkernel:\n%s\n' \
    "$1" "$PRESET" "$2" >"$1.yaml"
}
metric() { # metric JSON COMPONENT NAME
  jq -r --arg c "$2" --arg n "$3" '[.metrics[] | select(.component == $c and .name == $n) | .value][0]' "$1"
}
rep() { metric "$1" sock0.core0 "report.rcu.$2"; }
# readers' misses: every core but the two updaters (sock0.core0, sock0.core1)
reader_misses() {
  jq -r '[.metrics[] | select(.name == "sub.sync.misses" and .component != "sock0.core0" and .component != "sock0.core1") | .value] | add' "$1"
}

# --- grace periods and updater throughput (scenarios/sync-rcu.yaml) ----------------
expect_exit 0 "sync-rcu scenario" -- "$ORRERY" run "$SRC/scenarios/sync-rcu.yaml" --no-db --json
echo "$OUT" >rcu.json
gps=$(rep rcu.json grace_periods) p50=$(rep rcu.json gp_p50_ns) p99=$(rep rcu.json gp_p99_ns)
printf 'rcu (1 ms tick, 16 CPUs): %d grace periods: min %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d updates by 2 updaters at %.1f updates/ms each; %d reads; reader misses with updates %d (%.3f per lookup)\n' \
  "$gps" "$(echo "$(rep rcu.json gp_min_ns) / 1000000" | bc -l)" "$(echo "$p50 / 1000000" | bc -l)" \
  "$(echo "$p99 / 1000000" | bc -l)" "$(echo "$(rep rcu.json gp_max_ns) / 1000000" | bc -l)" \
  "$(rep rcu.json updates)" "$(echo "$(rep rcu.json updates) / 2 * 1000000 / $(rep rcu.json update_ns)" | bc -l)" \
  "$(rep rcu.json reads)" "$(reader_misses rcu.json)" "$(echo "$(reader_misses rcu.json) / $(rep rcu.json lookups)" | bc -l)"
[ "$gps" -ge 5 ] && pass || fail "only $gps grace periods"
# a grace period waits for every CPU's next tick outside a read section:
# at least one tick after the start of the last CPU's, at most about two
[ "$p50" -ge 900000 ] && [ "$p99" -le 3000000 ] && pass ||
  fail "grace periods p50 $p50 ns, p99 $p99 ns: expected 1-3 ms with a 1 ms tick"
[ "$(rep rcu.json callbacks)" = "$(rep rcu.json updates)" ] && pass || fail "callbacks != updates"
[ "$(rep rcu.json violations)" = 0 ] && [ "$(rep rcu.json use_after_free)" = 0 ] && pass ||
  fail "rcu_check: $(rep rcu.json violations) violations, $(rep rcu.json use_after_free) uses after free"

# a 4 ms tick: grace periods four times longer
scenario tick4 '  cpus: all
  rcu_bench: {cpus: 16, updaters: 2, sections: 400, hold: 200cy, updates: 100, pool: 32, tick: 4ms}'
"$ORRERY" run tick4.yaml --no-db --json >tick4.json || fail "tick 4ms run"
p4=$(rep tick4.json gp_p50_ns)
echo "rcu (4 ms tick): p50 grace period $(echo "$p4 / 1000000" | bc -l | cut -c1-5) ms"
[ "$p4" -ge 3600000 ] && [ "$p4" -le 12000000 ] && pass || fail "4 ms tick: p50 $p4 ns"

# --- readers take no coherence miss in steady state ---------------------------------
# the table stays still (updaters only run synchronize: grace periods go on);
# check mode off (its gp_seq snapshot is a shared read)
scenario still '  cpus: all
  rcu_bench: {cpus: 16, updaters: 2, sections: 2000, updates: 20, update: false, check: false}'
"$ORRERY" run still.yaml --no-db --json >still.json || fail "steady-state run"
rm=$(reader_misses still.json) g=$(rep still.json grace_periods) r=$(rep still.json reads)
echo "rcu steady state: $r read sections on 14 CPUs during $g grace periods: $rm reader coherence misses (target 0)"
[ "$rm" = 0 ] && [ "$r" = 28000 ] && [ "$g" -ge 10 ] && pass ||
  fail "steady state: $rm reader misses over $r sections and $g grace periods"

# --- the checker fires on a premature grace-period end ------------------------------
scenario premature '  cpus: all
  rcu_bench: {cpus: 16, updaters: 2, sections: 30, hold: 60000cy, updates: 100, pool: 16, premature: true}'
expect_exit 1 "premature grace periods fail the run" -- "$ORRERY" run premature.yaml --no-db
expect_out "rcu_check failed .*[1-9][0-9]* read sections saw a grace period end under them" "premature message"

# --- rings: SPSC with and without batching, MPMC ---------------------------------------
ringrun() { # ringrun NAME "RING KEYS" -> prints "items/us misses/item"
  scenario "$1" "  cpus: \"0-3\"
  ring_bench: {$2, items: 4000}"
  "$ORRERY" run "$1.yaml" --no-db --json >"$1.json" || { fail "ring $1 failed"; return; }
  local items el m
  items=$(metric "$1.json" sock0.core0 report.ring.items)
  el=$(metric "$1.json" sock0.core0 report.ring.elapsed_ns)
  m=$(jq -r '[.metrics[] | select(.name == "sub.sync.misses") | .value] | add' "$1.json")
  printf '%.2f %.3f\n' "$(echo "$items * 1000 / $el" | bc -l)" "$(echo "$m / $items" | bc -l)"
}
read -r t1 m1 < <(ringrun b1 'kind: spsc, batch: 1, capacity: 256')
read -r t16 m16 < <(ringrun b16 'kind: spsc, batch: 16, capacity: 256')
read -r t64 m64 < <(ringrun b64 'kind: spsc, batch: 64, capacity: 256')
read -r tmp mmp < <(ringrun mp 'kind: mpmc, producers: 2, consumers: 2, capacity: 256')
echo "spsc ring (CPU 0 -> CPU 1, 256 slots): batch 1: $t1 items/us, $m1 misses/item; batch 16: $t16 items/us, $m16 misses/item; batch 64: $t64 items/us, $m64 misses/item; mpmc 2x2: $tmp items/us, $mmp misses/item"
read -r _ _ < <(ringrun tiny 'kind: spsc, batch: 1, capacity: 8') # the producer fills it and waits
[ "$(metric tiny.json sock0.core0 report.ring.full_waits)" -gt 0 ] && pass || fail "an 8-slot ring never filled"
for r in b1 b16 b64 mp tiny; do # (ringrun runs in a subshell: its verdicts are judged here)
  [ -s "$r.json" ] && [ "$(metric "$r.json" sock0.core0 report.ring.errors)" = 0 ] &&
    [ "$(metric "$r.json" sock0.core0 report.ring.items)" -ge 4000 ] && pass || fail "ring $r: run failed or items lost"
done
# batching publishes the indices 16x less often: fewer misses, more items per us
[ "$(echo "$m16 < $m1 / 2 && $t16 > $t1 * 1.5" | bc -l)" = 1 ] && pass ||
  fail "batching: $m16 misses/item vs $m1, $t16 items/us vs $t1"
# a slot line holds 8 items: at least 1/8 miss per item whatever the batch
[ "$(echo "$m64 >= 0.125" | bc -l)" = 1 ] && pass || fail "batch 64: $m64 misses/item, below a slot line's 1/8"

# --- bad input ------------------------------------------------------------------------
bad() { # bad NAME REGEX "KERNEL LINES"
  scenario "$1" "$3"
  expect_exit 2 "$1" -- "$ORRERY" run "$1.yaml" --db "$1.db"
  expect_out "$2" "$1 message"
  [ ! -e "$1.db" ] && pass || fail "$1: a database was written"
}
bad updaters "updaters.yaml:[0-9]+:[0-9]+: error: kernel.rcu_bench.updaters" '  cpus: all
  rcu_bench: {cpus: 16, updaters: 3, buckets: 64}'
bad rcu-cpus "rcu-cpus.yaml:[0-9]+:[0-9]+: error: kernel.rcu_bench.cpus" '  cpus: 0-3
  rcu_bench: {cpus: 8}'
bad rcu-keys "rcu-keys.yaml:[0-9]+:[0-9]+: error: kernel.rcu_bench.keys" '  cpus: all
  rcu_bench: {cpus: 16, keys: 1000000}'
bad ring-cap "ring-cap.yaml:[0-9]+:[0-9]+: error: kernel.ring_bench.capacity: 100 slots" '  cpus: 0-3
  ring_bench: {kind: spsc, capacity: 100}'
bad ring-cpu "ring-cpu.yaml:[0-9]+:[0-9]+: error: kernel.ring_bench: producer 0 and consumer 7" '  cpus: 0-3
  ring_bench: {kind: spsc, consumer: 7}'
finish
