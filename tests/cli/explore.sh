#!/usr/bin/env bash
# `orrery explore` (docs/explore.md) on its mutation case,
# tests/cli/explore/rdma-loss.yaml: a verified ring allreduce while explore
# makes switch ports lossy for short spells.
#  - Without a bug, 40 seeds find nothing; with the rnic's planted bug
#    (inject_bug: lost_retransmit) the same 40 seeds find failures, so the
#    test fails both ways round.
#  - --replay of a stored failing seed gives the stored digest (read from
#    the database, not from the replay's output), the property, the time
#    and a trace tail; the trace is written.
#  - --shrink reduces the schedule to at most 3 firings (a loss and its
#    end, at most one more), and those lines pasted into the scenario's
#    `faults:` make a plain `orrery run --seed S` fail the same way, and
#    pass without the bug.
#  - Streams: adding a rule for other components leaves the first rule's
#    firings unchanged; no explore section means the digest of a plain run.
#  - --max-failures stops the search; --resume runs exactly the seeds not
#    stored; bad input exits 2 with file:line:col and writes nothing.
. "$(dirname "$0")/lib.sh"
q() { sqlite3 "$1" "$2"; }
SC="$SRC/tests/cli/explore/rdma-loss.yaml"
BUG=(--set cluster.node.components.rnic.inject_bug=lost_retransmit)

# ---- the mutation proof, both ways
expect_exit 0 "no bug: 40 seeds hold" -- "$ORRERY" explore "$SC" --seeds 40 -j 2 --db ok.db
expect_out "40 of 40 seeds run, 0 failed" "no bug: nothing found"
[ "$(q ok.db "select count(*) from explore_seeds where status = 'pass'")" = 40 ] && pass ||
  fail "no bug: 40 passing seeds stored"
[ "$(q ok.db "select count(*) from explore_seeds where firings > 0")" -ge 30 ] && pass ||
  fail "no bug: most seeds drew fault firings"
expect_exit 1 "bug: 40 seeds find it" -- "$ORRERY" explore "$SC" --seeds 40 -j 2 --db bug.db \
  "${BUG[@]}"
expect_out "FAIL seed [0-9]+: failure at node[0-3]\.ar" "bug: a failure is printed"
expect_out "replay: orrery explore .*rdma-loss.yaml --replay [0-9]+ --set cluster.node.components.rnic.inject_bug=lost_retransmit --db bug.db" \
  "bug: with its replay command"
nfail=$(q bug.db "select count(*) from explore_seeds where status = 'fail'")
# --json: the same numbers as the database, the groups' replay commands
expect_exit 1 "--json" -- "$ORRERY" explore "$SC" --seeds 40 -j 2 --db bugj.db "${BUG[@]}" --json
jf=$(python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["done"], d["failed"], sum(g["seeds"] for g in d["failures"]), all(g["replay"].startswith("orrery explore ") for g in d["failures"]))' <<< "$OUT")
[ "$jf" = "40 $nfail $nfail True" ] && pass || fail "--json: '$jf', want '40 $nfail $nfail True'"
[ "$nfail" -ge 1 ] && pass || fail "bug: failing seeds stored ($nfail)"
S=$(q bug.db "select min(seed) from explore_seeds where status = 'fail'")

# ---- replay: the stored digest, the property, the trace tail
want=$(q bug.db "select digest from explore_seeds where seed = $S")
expect_exit 1 "replay reproduces" -- "$ORRERY" explore "$SC" --replay "$S" --db bug.db \
  "${BUG[@]}" --trace r.otr
expect_out "digest $want \(same as" "replay: the stored digest"
expect_out "seed $S: FAIL failure at node[0-3]\.ar, simulated time [0-9.]+ us" \
  "replay: property, location and time"
expect_out "trace tail \(r.otr, last 12 of" "replay: the trace tail"
[ -s r.otr ] && pass || fail "replay: the trace is written"
expect_exit 0 "the trace is well formed" -- "$ORRERY" diff r.otr r.otr

# a stored digest that differs: the replay says so and fails
cp bug.db tampered.db
q tampered.db "update explore_seeds set digest = '0000000000000000' where seed = $S"
expect_exit 1 "replay against a wrong stored digest" -- "$ORRERY" explore "$SC" --replay "$S" \
  --db tampered.db "${BUG[@]}"
expect_out "DIFFERS from the explore's 0000000000000000" "replay: a divergence is named"

# ---- the other properties: a bound that no run meets, a run too short to finish
sed 's/"node0.ar.verify_errors": "== 0"/"node0.ar.verify_errors": "== 0"\n      "node2.rnic.tx_packets": "< 1"/' \
  "$SC" > bound.yaml
expect_exit 1 "an explore metric bound" -- "$ORRERY" explore bound.yaml --seeds 3 -j 2 --db bound.db
[ "$(q bound.db "select count(*) from explore_seeds where status = 'fail' and property = 'budget'
                 and location = 'node2.rnic.tx_packets'")" = 3 ] && pass ||
  fail "every seed fails the bound node2.rnic.tx_packets < 1"
sed '/"node2.rnic.tx_packets": "< 1"/d' "$SC" > scen-budget.yaml
printf 'budgets:\n  node2.rnic.tx_packets: "< 1"\n' >> scen-budget.yaml
expect_exit 1 "the scenario's budgets" -- "$ORRERY" explore scen-budget.yaml --seeds 2 -j 2 --db sb.db
[ "$(q sb.db "select count(*) from explore_seeds where property = 'budget'")" = 2 ] && pass ||
  fail "the scenario's budget fails both seeds"
sed 's/^  properties:/  properties:\n    budgets: false/' scen-budget.yaml > sb-off.yaml
expect_exit 0 "budgets: false" -- "$ORRERY" explore sb-off.yaml --seeds 2 -j 2 --db sboff.db
sed 's/stop: {duration: 5ms, workloads_done: true}/stop: {duration: 20us, workloads_done: true}/; s/horizon: 40us/horizon: 10us/' \
  "$SC" > short.yaml
expect_exit 1 "a run that cannot finish" -- "$ORRERY" explore short.yaml --seeds 2 -j 2 --db short.db
[ "$(q short.db "select count(*) from explore_seeds where property = 'deadlock'
                 and location = 'workloads' and detail like '4 of 4 workloads unfinished%'")" = 2 ] &&
  pass || fail "both seeds fail as deadlocked"
sed 's/^  properties:/  properties:\n    deadlock: false/' short.yaml > short-off.yaml
expect_exit 0 "deadlock: false" -- "$ORRERY" explore short-off.yaml --seeds 2 -j 2 --db shortoff.db

# the wall timeout: 1 ns of wall time is over at the first check (after
# 4096 events; the quickstart has far more)
expect_exit 1 "a wall timeout" -- "$ORRERY" explore "$SRC/scenarios/quickstart.yaml" \
  --seeds 2 -j 2 --db wt.db --set explore.properties.wall_timeout=1ns
[ "$(q wt.db "select count(*) from explore_seeds where property = 'timeout'")" = 2 ] && pass ||
  fail "both seeds time out"
expect_exit 0 "no wall timeout" -- "$ORRERY" explore "$SRC/scenarios/quickstart.yaml" \
  --seeds 2 -j 2 --db nowt.db

# ---- shrink, and the pasted reproducer
expect_exit 1 "shrink" -- "$ORRERY" explore "$SC" --shrink "$S" --db bug.db "${BUG[@]}"
expect_out "shrunk seed $S: [0-9]+ fault firings -> [0-9]+ in [0-9]+ runs" "shrink: a summary"
sed -n '/^faults:/,$p' <<< "$OUT" > faults.txt
nline=$(grep -c '^  - {at: ' faults.txt)
[ "$nline" -ge 1 ] && [ "$nline" -le 3 ] && pass || fail "shrink: $nline fault entries, want 1..3"
cat "$SC" faults.txt > repro.yaml
expect_exit 1 "the pasted schedule fails a plain run" -- "$ORRERY" run repro.yaml --seed "$S" \
  --no-db "${BUG[@]}"
expect_out "error: node[0-3]\.ar: node [0-3]: stalled" "the pasted run fails the same way"
expect_exit 0 "the pasted schedule passes without the bug" -- "$ORRERY" run repro.yaml \
  --seed "$S" --no-db

# ---- streams: another rule does not move this rule's firings
sed 's|^  properties:|    - {component: "node*.rnic", fault: qp_error, mean_interval: 20us, max: 1}\n  properties:|' \
  "$SC" > two.yaml
grep -q 'fault: qp_error' two.yaml && pass || fail "two.yaml has the second rule"
"$ORRERY" explore "$SC" --seeds 3 --seed 100 -j 1 --db one.db -q > /dev/null 2>&1
"$ORRERY" explore two.yaml --seeds 3 --seed 100 -j 1 --db two.db -q > /dev/null 2>&1
for s in 100 101 102; do
  a=$(q one.db "select schedule from explore_seeds where seed = $s" | grep 'fabric.sw')
  b=$(q two.db "select schedule from explore_seeds where seed = $s" | grep 'fabric.sw')
  [ -n "$a" ] && [ "$a" = "$b" ] && pass || fail "seed $s: fabric.sw firings moved with a rule added"
done
[ "$(q two.db "select count(*) from explore_seeds where schedule like '%qp_error%'")" -ge 1 ] &&
  pass || fail "the second rule fired somewhere"

# ---- --max-failures stops launching
expect_exit 1 "max failures" -- "$ORRERY" explore "$SC" --seeds 200 -j 1 --max-failures 2 \
  --db mf.db "${BUG[@]}"
[ "$(q mf.db "select count(*) from explore_seeds where status = 'fail'")" = 2 ] && pass ||
  fail "--max-failures 2: two failures stored"
[ "$(q mf.db "select count(*) from explore_seeds")" -lt 200 ] && pass ||
  fail "--max-failures 2: the search stopped early"

# ---- --time-budget stops launching; Ctrl-C stops and says how to resume
expect_exit 0 "time budget" -- "$ORRERY" explore "$SC" --seeds 100000 -j 2 --time-budget 1 \
  --db tb.db
n=$(q tb.db "select count(*) from explore_seeds")
[ "$n" -ge 1 ] && [ "$n" -lt 100000 ] && pass || fail "--time-budget 1: $n seeds stored"
"$ORRERY" explore "$SC" --seeds 100000 -j 2 --db int.db > int.out 2>&1 &
pid=$!
for _ in $(seq 300); do
  n=$(q int.db "select count(*) from explore_seeds" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 10 ] && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" = 130 ] && pass || fail "Ctrl-C: exit $rc, want 130"
grep -q 'interrupted: `orrery explore --resume 1 --db int.db` runs the rest' int.out && pass ||
  fail "Ctrl-C: the resume command is printed"
[ "$(q int.db "select count(*) from explore_seeds where status != 'pass'")" = 0 ] && pass ||
  fail "Ctrl-C: an interrupted seed was stored as a failure or error"

# ---- resume runs exactly what is missing
cp ok.db res.db
q res.db "delete from explore_seeds where seed in (1, 17, 40)"
expect_exit 0 "resume" -- "$ORRERY" explore --resume 1 --db res.db -j 2
expect_out "resuming, 37 of 40 seeds stored" "resume: 37 stored"
expect_out "40 of 40 seeds run, 0 failed .*; 3 this time" "resume: 3 run"
[ "$(q res.db "select group_concat(digest) from (select digest from explore_seeds order by seed)")" = \
  "$(q ok.db "select group_concat(digest) from (select digest from explore_seeds order by seed)")" ] &&
  pass || fail "resume: the rerun seeds have their first digests"

# ---- bad input: exit 2, file:line:col, nothing written
bad() { # NAME SED-EXPR REGEX
  sed "$2" "$SC" > "$1.yaml"
  expect_exit 2 "$1" -- "$ORRERY" explore "$1.yaml" --seeds 2 --db "$1.db"
  expect_out "$3" "$1: the message"
  [ ! -e "$1.db" ] && pass || fail "$1: a database was written"
  expect_exit 2 "$1: validate" -- "$ORRERY" validate "$1.yaml"
}
bad unknown-fault 's/fault: loss, mean/fault: melt, mean/' \
  "unknown-fault.yaml:26:[0-9]+: error: explore.faults.0: component 'fabric.sw' \(fabric_switch\) has no fault 'melt'"
bad not-explorable '26,27c\    - {component: "fabric.*", fault: link_up, mean_interval: 10us}' \
  "not-explorable.yaml:26:[0-9]+: error: explore.faults.0: fault 'link_up' of fabric_switch is not explorable"
bad rate-too-high 's/mean_interval: 10us/mean_interval: 10ns/' \
  "rate-too-high.yaml:26:[0-9]+: error: explore.faults.0: rate out of bounds: fault 'loss' allows a mean_interval of at least 1us"
bad chance-too-high 's/mean_interval: 10us/probability: "0.5", period: 100ns/' \
  "chance-too-high.yaml:26:[0-9]+: error: explore.faults.0: rate out of bounds"
bad param-bounds 's/"0.05..0.3"/"0.05..1.5"/' \
  "param-bounds.yaml:27:[0-9]+: error: explore.faults.0.params.probability: expected \"LO..HI\""
bad port-range 's/params: {probability: "0.05..0.3"}/params: {port: "0..9"}/' \
  "port-range.yaml:26:[0-9]+: error: explore.faults.0: port range ends at 9 but 'fabric.sw' has ports 0..3"
bad no-match 's/"fabric.\*"/"fabric.nope*"/' \
  "no-match.yaml:26:[0-9]+: error: explore.faults.0: no component matches 'fabric.nope\*'"
bad unknown-metric 's/node0.ar.verify_errors/node0.ar.verify_errorz/' \
  "unknown-metric.yaml:30:[0-9]+: error: explore.properties.metrics.node0.ar.verify_errorz: no metric 'node0.ar.verify_errorz'"
bad unknown-key 's/horizon: 40us/horizon: 40us\n  horizn: 1us/' \
  "unknown-key.yaml:25:[0-9]+: error: explore.horizn: unknown key 'horizn'"
sed '/^explore:/,$d' "$SC" > none.yaml
expect_exit 2 "no explore section" -- "$ORRERY" explore none.yaml --seeds 2 --db none.db
expect_out "no \`explore:\` section" "no explore section: the message"
[ ! -e none.db ] && pass || fail "no explore section: a database was written"
expect_exit 2 "replay of a seed not stored" -- "$ORRERY" explore "$SC" --replay 4000 --db ok.db
expect_out "seed 4000 of '.*rdma-loss.yaml' is not in the results database 'ok.db'" \
  "replay of a seed not stored: the message"
expect_exit 2 "shrink of a passing seed" -- "$ORRERY" explore "$SC" --shrink 1 --db ok.db
expect_out "seed 1 did not fail" "shrink of a passing seed: the message"
expect_exit 2 "replay without a database" -- "$ORRERY" explore "$SC" --replay 1 --db missing.db
[ ! -e missing.db ] && pass || fail "replay without a database created one"
expect_exit 2 "--trace without --replay" -- "$ORRERY" explore "$SC" --trace t.otr

# ---- a scenario's explore section changes nothing for `run`
sed '/^explore:/,$d' "$SC" > plain.yaml
d1=$("$ORRERY" run plain.yaml --no-db --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
d2=$("$ORRERY" run "$SC" --no-db --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
[ -n "$d1" ] && [ "$d1" = "$d2" ] && pass || fail "explore: changed a plain run's digest ($d1 vs $d2)"
finish
