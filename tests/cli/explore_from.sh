#!/usr/bin/env bash
# `orrery explore --from CKPT` (docs/explore.md, "Starting from a
# checkpoint"): seeds start from a checkpoint taken after a warm-up, so the
# warm-up is simulated once. On the quick start with one tighter budget
# (sink1 must receive what it receives with no extra fault):
#  - every seed's fault firings lie after the checkpoint's time, and each
#    seed simulates only the rest of the run (its events beyond the
#    checkpoint's count are fewer than a whole run's);
#  - the search finds seeds whose port failures cost sink1 packets, and
#    --replay --from reproduces a stored one bit for bit (the digest read
#    from the database);
#  - --shrink --from reduces it to one port failure and its end, and those
#    lines pasted into the scenario make a plain `orrery run` (which runs
#    the warm-up again) fail the same budget;
#  - --resume of such an explore finds the checkpoint again; a changed
#    checkpoint file is refused;
#  - bad input: --set with --from, a missing or corrupt checkpoint, one of
#    another scenario version, one taken past the explore horizon, --trace
#    with --from: exit 2, nothing stored.
. "$(dirname "$0")/lib.sh"
q() { sqlite3 "$1" "$2"; }
full=$("$ORRERY" run "$SRC/scenarios/quickstart.yaml" --no-db --json 2>/dev/null)
want=$(jq -r '.metrics[] | select(.component == "sink1" and .name == "rx_packets") | .value' <<< "$full")
full_events=$(jq -r .events <<< "$full")
sed "s|^budgets:|budgets:\n  sink1.rx_packets: \">= $want\"|" "$SRC/scenarios/quickstart.yaml" > qs.yaml
grep -q "sink1.rx_packets" qs.yaml || fail "could not add the budget"
expect_exit 0 "the scenario passes without explore's faults" -- "$ORRERY" run qs.yaml --no-db
expect_exit 0 "checkpoint after a 5 ms warm-up" -- \
  "$ORRERY" run qs.yaml --no-db --checkpoint-at 5ms --checkpoint qs.ckpt --stop-after-checkpoint
ck_events=$(sed -n 's/.* after \([0-9]*\) events.*/\1/p' <<< "$OUT")

expect_exit 1 "--from: 30 seeds find sink1's losses" -- \
  "$ORRERY" explore --from qs.ckpt --seeds 30 -j 2 --db f.db
expect_out "FAIL seed [0-9]+: budget at sink1.rx_packets" "the failure is printed"
expect_out "replay: orrery explore qs.yaml --replay [0-9]+ --from qs.ckpt --db f.db" "with its replay command"
[ "$(q f.db "select count(*) from explore_seeds")" = 30 ] && pass || fail "30 seeds stored"
q f.db "select from_ckpt from explores" | grep -qE '^qs\.ckpt@[0-9]+ps#[0-9a-f]{16}$' && pass \
  || fail "the explore names its checkpoint: $(q f.db "select from_ckpt from explores")"
# every firing after the checkpoint (5 ms)
first_at=$(q f.db "select schedule from explore_seeds" | sed -n 's/.*{at: \([0-9.]*\)\(ps\|ns\).*/\1 \2/p' |
  awk '{ t = $2 == "ns" ? $1 * 1000 : $1; if (min == "" || t < min) min = t } END { print min }')
echo "earliest firing: $first_at ps; checkpoint after $ck_events of $full_events events"
awk -v t="$first_at" 'BEGIN { exit !(t >= 4999000000) }' && pass || fail "a firing before the checkpoint ($first_at ps)"
# each seed ran only the rest: its events beyond the checkpoint's, fewer than a whole run's
max_rest=$(q f.db "select max(events) - $ck_events from explore_seeds")
[ -n "$ck_events" ] && [ "$max_rest" -lt $((full_events * 3 / 4)) ] && pass \
  || fail "seeds should simulate only the rest ($max_rest events after the checkpoint, a whole run $full_events)"
S=$(q f.db "select min(seed) from explore_seeds where status = 'fail'")
stored=$(q f.db "select digest from explore_seeds where seed = $S")
expect_exit 1 "--replay --from reproduces seed $S" -- "$ORRERY" explore qs.yaml --replay "$S" --from qs.ckpt --db f.db
expect_out "digest $stored \(same as" "the stored digest"
expect_exit 2 "the same seed without --from is another explore" -- "$ORRERY" explore qs.yaml --replay "$S" --db f.db
expect_out "is not in the results database" "not found without --from"
expect_exit 1 "--shrink --from" -- "$ORRERY" explore qs.yaml --shrink "$S" --from qs.ckpt --db f.db
expect_out "fault firings -> [12] in" "shrunk to a port failure and its end"
expect_out "runs the warm-up again" "the reproducer says what it costs"
sed -n '/^faults:/,$p' <<< "$OUT" | tail -n +2 > shrunk.txt
awk '/port_up, port: 5}/ && !done { print; while ((getline l < "shrunk.txt") > 0) print l; done = 1; next } { print }' \
  qs.yaml > repro.yaml
[ "$(wc -l < shrunk.txt)" -ge 1 ] && grep -qc "port_down" repro.yaml && pass || fail "could not paste the shrunk faults"
expect_exit 1 "the pasted faults fail a plain run" -- "$ORRERY" run repro.yaml --no-db
expect_out "budgets failed" "the same budget"
# resume finds the checkpoint; a changed file is refused
id=$(q f.db "select max(id) from explores")
q f.db "delete from explore_seeds where seed > 25"
expect_exit 1 "--resume of a --from explore" -- "$ORRERY" explore --resume "$id" -j 2 --db f.db
expect_out "resuming, 25 of 30 seeds stored" "resumes"
[ "$(q f.db "select count(*) from explore_seeds")" = 30 ] && pass || fail "the rest stored"
cp qs.ckpt keep.ckpt
"$ORRERY" run qs.yaml --no-db -q --checkpoint-at 4ms --checkpoint qs.ckpt --stop-after-checkpoint
expect_exit 2 "--resume after the checkpoint changed" -- "$ORRERY" explore --resume "$id" --db f.db
expect_out "started from checkpoint qs.ckpt@.*now holds another" "names both"
cp keep.ckpt qs.ckpt

# bad input
n0=$(q f.db "select count(*) from explores")
expect_exit 2 "--set with --from" -- "$ORRERY" explore --from qs.ckpt --set seed=3 --db f.db
expect_out "drop --set" "says why"
expect_exit 2 "a missing checkpoint" -- "$ORRERY" explore --from nosuch.ckpt --db f.db
head -c 300 qs.ckpt > cut.ckpt
expect_exit 2 "a truncated checkpoint" -- "$ORRERY" explore --from cut.ckpt --db f.db
sed 's/size: 1500B, count: 3000, dests: \[sink0\]}/size: 1400B, count: 3000, dests: [sink0]}/' qs.yaml > qs2.yaml
expect_exit 2 "a checkpoint of another scenario version" -- "$ORRERY" explore qs2.yaml --from qs.ckpt --db f.db
expect_out "belongs to another version of scenario" "says so"
sed 's/^  faults:/  horizon: 4ms\n  faults:/' qs.yaml > qs3.yaml
"$ORRERY" run qs3.yaml --no-db -q --checkpoint-at 5ms --checkpoint late.ckpt --stop-after-checkpoint
expect_exit 2 "a checkpoint past the explore horizon" -- "$ORRERY" explore --from late.ckpt --db f.db
expect_out "not before the explore horizon" "says so"
expect_exit 2 "--trace with --from" -- "$ORRERY" explore qs.yaml --replay "$S" --from qs.ckpt --trace t.otr --db f.db
[ "$(q f.db "select count(*) from explores")" = "$n0" ] && [ ! -e t.otr ] && pass || fail "bad input stored or wrote something"
finish
