#!/usr/bin/env bash
# `orrery run`, `validate`, `list` and --help on the shipped scenarios: exit
# codes, the summary, JSON output, the results database and overrides.
. "$(dirname "$0")/lib.sh"
Q=$SRC/scenarios/quickstart.yaml

expect_exit 0 "quickstart runs" -- "$ORRERY" run "$Q" --db r.db
expect_out '^digest +[0-9a-f]{16}$' "summary prints the digest"
expect_out 'sink0 +rx_packets' "summary lists metrics"
expect_out 'latency' "summary lists histograms"
expect_out 'stopped +duration reached at 10 ms' "quickstart runs its 10 ms"
expect_out 'results +r\.db \(run 1\)' "summary names the results"
[ "$(sqlite3 r.db "select count(*) from runs where status='ok'")" = 1 ] && pass || fail "one ok run row"
[ "$(sqlite3 r.db "select count(*) from metrics where run_id=1")" -gt 20 ] && pass || fail "metrics stored"
[ "$(sqlite3 r.db "select count(*) from histograms where run_id=1 and name='latency'")" = 2 ] && pass || fail "histograms stored"
digest=$(echo "$OUT" | sed -n 's/^digest *//p')
[ "$(sqlite3 r.db "select digest from runs where id=1")" = "$digest" ] && pass || fail "db digest matches summary"
[ "$(sqlite3 r.db "select seed from runs where id=1")" = 1 ] && pass || fail "db seed"
[ -n "$(sqlite3 r.db "select build_id from runs where id=1")" ] && pass || fail "db build id"

# the summary's numbers agree with the stored metrics
rx=$(sqlite3 r.db "select cast(value as int) from metrics where run_id=1 and component='sink0' and name='rx_packets'")
grep -Eq "sink0 +rx_packets +$rx pkt" <<< "$OUT" && pass || fail "summary rx_packets ($rx)"

# packet conservation: every generated packet is received or dropped
tx=$(sqlite3 r.db "select sum(value) from metrics where run_id=1 and name='tx_packets'")
gd=$(sqlite3 r.db "select sum(value) from metrics where run_id=1 and component like 'gen%' and name='drops'")
rxall=$(sqlite3 r.db "select sum(value) from metrics where run_id=1 and component like 'sink%' and name='rx_packets'")
swd=$(sqlite3 r.db "select sum(value) from metrics where run_id=1 and component='sw0' and name like 'drops_%'")
[ "$(awk -v a="$tx" -v b="$gd" 'BEGIN{print a+b}')" = 12000 ] && pass || fail "generators made 12000 packets ($tx + $gd)"
[ "$(awk -v a="$rxall" -v b="$swd" 'BEGIN{print a+b}')" = "$(awk -v a="$tx" 'BEGIN{print a+0}')" ] && pass ||
  fail "sent = received + switch drops ($rxall + $swd vs $tx)"
[ "$(awk -v a="$swd" 'BEGIN{print (a > 0)}')" = 1 ] && pass || fail "the overloaded switch drops packets"

# a second run appends a second row
expect_exit 0 "second run" -- "$ORRERY" run "$Q" --db r.db --quiet
[ -z "$OUT" ] && pass || fail "--quiet prints nothing"
[ "$(sqlite3 r.db "select count(*) from runs")" = 2 ] && pass || fail "two runs stored"

# ORRERY_DB and the default path
ORRERY_DB=env.db "$ORRERY" run "$Q" --quiet && [ -s env.db ] && pass || fail "ORRERY_DB is honoured"
"$ORRERY" run "$Q" --quiet && [ -s orrery.db ] && pass || fail "default db is ./orrery.db"
"$ORRERY" run "$Q" --quiet --no-db --set stop.duration=1ms
[ "$(sqlite3 orrery.db "select count(*) from runs")" = 1 ] && pass || fail "--no-db stores nothing"

# JSON output
expect_exit 0 "--json" -- "$ORRERY" run "$Q" --no-db --json
echo "$OUT" | jq -e '.digest | test("^[0-9a-f]{16}$")' >/dev/null && pass || fail "json digest"
echo "$OUT" | jq -e '.status == "ok" and .events > 1000 and (.metrics | length) > 20' >/dev/null && pass || fail "json fields"
[ "$(echo "$OUT" | jq -r .digest)" = "$digest" ] && pass || fail "json digest equals summary digest"

# overrides change behaviour and are recorded
expect_exit 0 "--set" -- "$ORRERY" run "$Q" --no-db --json --set components.gen0.count=10 --set stop.duration=2ms
[ "$(echo "$OUT" | jq -r .digest)" != "$digest" ] && pass || fail "--set changes the digest"
echo "$OUT" | jq -e '.overrides == "components.gen0.count=10\nstop.duration=2ms"' >/dev/null && pass || fail "overrides recorded"
echo "$OUT" | jq -e '.sim_time_ps <= 2000000000' >/dev/null && pass || fail "stop.duration override applies"

# an event limit
expect_exit 0 "event limit" -- "$ORRERY" run "$Q" --no-db --json --set stop.events=1000
echo "$OUT" | jq -e '.events == 1000 and .stop_reason == "event limit reached"' >/dev/null && pass || fail "stop.events"

# a long run: endless sources, 100 s of simulated time (minutes of wall time)
LONG=(--set stop.duration=100s --set stop.workloads_done=false
      --set components.gen0.count=0 --set components.gen1.count=0
      --set components.gen2.count=0 --set components.gen3.count=0)

# Ctrl-C: exit 130, the run is stored with status 'interrupted', the trace is complete
rm -f int.db
timeout --preserve-status -s INT 1 "$ORRERY" run "$Q" --db int.db --quiet --trace int.trace "${LONG[@]}"
rc=$?
[ "$rc" = 130 ] && pass || fail "SIGINT exits 130 (got $rc)"
[ "$(sqlite3 int.db "select status || '|' || stop_reason from runs")" = "interrupted|interrupted" ] && pass ||
  fail "interrupted run stored as such"
"$ORRERY" diff int.trace int.trace >/dev/null && pass || fail "an interrupted run's trace is complete"

# the progress bar appears on a terminal (script gives the run a pty), not otherwise
script -qec "timeout -s INT 2 $ORRERY run $Q --no-db ${LONG[*]}" /dev/null > tty.out 2>&1
# (the rate is scaled to its size: "551 kev/s" on a slow build, "12.3 Mev/s")
grep -q 'ETA' tty.out && grep -q 'ev/s' tty.out && pass || fail "no progress bar on a terminal: $(head -c 300 tty.out)"
timeout -s INT 2 "$ORRERY" run "$Q" --no-db "${LONG[@]}" > notty.out 2>&1
grep -q 'ETA' notty.out && fail "progress bar drawn when not a terminal" || pass

# validate and list
expect_exit 0 "validate all scenarios" -- "$ORRERY" validate "$SRC"/scenarios/*.yaml
expect_out 'quickstart\.yaml: ok' "validate says ok"
expect_exit 0 "validate --json" -- "$ORRERY" validate --json "$Q"
echo "$OUT" | jq -e '.[0].valid == true' >/dev/null && pass || fail "validate json"
expect_exit 0 "list" -- "$ORRERY" list scenarios "$SRC/scenarios"
expect_out 'quickstart\.yaml +quickstart' "list shows scenarios"
expect_exit 0 "list types" -- "$ORRERY" list types
expect_out 'traffic_gen' "list shows types"
expect_exit 0 "list switch" -- "$ORRERY" list switch
expect_out 'queue +size' "list TYPE shows keys with types"
expect_out '64KiB' "list TYPE shows defaults"
expect_out 'port_down' "list TYPE shows faults"
expect_exit 0 "list rnic" -- "$ORRERY" list rnic
expect_out '^  metrics ' "list TYPE has a metrics section"
expect_out '^    tx_packets +pkt +counter +packets sent' "list TYPE shows a metric's name, unit, kind and help"
expect_out '^    cqe_<STATUS> +cqe +counter ' "list TYPE shows a family pattern"
expect_out 'PORT\.tx_bytes' "list TYPE points at the engine's port metrics"
"$ORRERY" list --json rnic | jq -e '.metrics | length > 20 and
    (map(select(.name == "outstanding_reads"))[0] | .unit == "op" and .kind == "gauge" and .help != "")' \
  >/dev/null && pass || fail "list --json TYPE has a metrics array"
"$ORRERY" list --json machine | jq -e '.metrics == []' >/dev/null && pass || fail "a builder declares no metrics"
expect_exit 0 "list metrics" -- "$ORRERY" list metrics
expect_out '^  <PORT>\.tx_util +ratio +value ' "list metrics shows the engine's link metrics"
expect_out '^  events_beyond_horizon +event ' "list metrics shows the run metrics"
expect_exit 0 "list keys" -- "$ORRERY" list keys
expect_out 'duration' "list keys shows stop keys"
expect_exit 0 "list --json" -- "$ORRERY" list --json types
echo "$OUT" | jq -e 'map(.name) | index("sink") != null' >/dev/null && pass || fail "list json"
expect_exit 2 "list unknown" -- "$ORRERY" list nosuchtype
OUT=$("$ORRERY" list --json 2>/dev/null)   # no ./scenarios here: still valid JSON
echo "$OUT" | jq -e '.scenarios == []' >/dev/null && pass || fail "list --json without a scenario folder"

# an event saturating at the horizon is counted, never queued; the run ends
expect_exit 0 "horizon" -- "$ORRERY" run "$Q" --no-db --json --set links.0.latency=4611686018427387904ps
echo "$OUT" | jq -e '[.metrics[] | select(.component == "sim" and .name == "events_beyond_horizon")][0].value == 3000' \
  >/dev/null && pass || fail "events beyond the horizon are counted"

for verb in run validate diff list; do
  expect_exit 0 "$verb --help" -- "$ORRERY" "$verb" --help
  expect_out "Usage: orrery $verb" "$verb --help text"
done
expect_exit 0 "--help" -- "$ORRERY" --help
expect_exit 0 "--version" -- "$ORRERY" --version
expect_out '^orrery-' "--version prints the build id"

finish
