#!/usr/bin/env bash
# `orrery sweep`: a two-axis grid with repeats lands in SQLite (sweeps,
# sweep_points, one ordinary run per point); a point's digest equals that
# of the same `orrery run`; budgets per point; --resume reruns exactly the
# points not done; Ctrl-C leaves a resumable sweep; --sample draws N
# distinct points, the same for the same seed; `sweep:` in the scenario;
# bad input is exit 2 with nothing run or written.
. "$(dirname "$0")/lib.sh"
Q="$SRC/scenarios/quickstart.yaml"
q() { sqlite3 "$1" "$2"; }

# --- a 3 x 2 grid, 2 repeats, 2 at once --------------------------------------
expect_exit 0 "grid sweep" -- "$ORRERY" sweep "$Q" -j 2 --repeat 2 --db s.db \
  --axis components.sw0.latency=100ns..300ns:100ns --axis components.gen0.interval=2400ns,4800ns
expect_out '^sweep 1: .*6 points x 2 repeats = 12 runs' "prints the sweep id first"
expect_out '^ +5 +1 +2 +300ns +4800ns +ok +[0-9]+ ' "table row: point, repeat, seed, axis values, status"
expect_out '12 runs: 12 ok' "summary"
[ "$(q s.db "select count(*) from runs")" = 12 ] && pass || fail "12 runs stored"
[ "$(q s.db "select count(*) from sweep_points where sweep_id = 1 and status = 'ok'")" = 12 ] &&
  pass || fail "12 points ok"
[ "$(q s.db "select axes || '|' || repeat || '|' || sample || '|' || seed from sweeps where id = 1")" = \
  "$(printf 'components.sw0.latency=100ns..300ns:100ns\ncomponents.gen0.interval=2400ns,4800ns|2|0|1')" ] &&
  pass || fail "sweeps row"
[ "$(q s.db "select overrides from sweep_points where point = 3 and repeat = 1")" = \
  "$(printf 'components.sw0.latency=200ns\ncomponents.gen0.interval=4800ns')" ] &&
  pass || fail "point 3 is the row-major grid point (200ns, 4800ns)"
# every point's run is the run of its overrides and seed
[ "$(q s.db "select count(*) from sweep_points p join runs r on r.id = p.run_id
             where r.overrides = p.overrides and r.seed = p.seed and r.status = 'ok'")" = 12 ] &&
  pass || fail "runs.overrides and seed match the point"
[ "$(q s.db "select count(distinct seed) from sweep_points")" = 2 ] && pass || fail "seeds 1 and 2"
[ "$(q s.db "select count(*) from metrics m join sweep_points p on p.run_id = m.run_id")" -gt 100 ] &&
  pass || fail "metrics stored for the points' runs"

# determinism: a point's digest is that of the same `orrery run`
row=$(q s.db "select r.digest, p.seed from sweep_points p join runs r on r.id = p.run_id
              where p.point = 4 and p.repeat = 1")
want=${row%|*}; seed=${row#*|}
got=$("$ORRERY" run "$Q" --set components.sw0.latency=300ns --set components.gen0.interval=2400ns \
      --seed "$seed" --no-db --json | jq -r .digest)
[ -n "$want" ] && [ "$got" = "$want" ] && pass || fail "point digest $want != run digest $got"
[ "$(q s.db "select count(distinct r.digest) from sweep_points p join runs r on r.id = p.run_id
             where p.point = 4")" = 2 ] && pass || fail "the two repeats (seeds) differ"

# --json
"$ORRERY" sweep "$Q" -j 2 --db s.db --json --axis components.sw0.latency=100ns,200ns > s.json 2>/dev/null
[ $? = 0 ] && pass || fail "--json sweep exit 0"
jq -e '.sweep_id == 2 and .points == 2 and .summary.ok == 2 and (.runs | length) == 2 and
       .runs[1].values["components.sw0.latency"] == "200ns" and (.runs[0].run_id | type) == "number" and
       (.runs[0].digest | length) == 16' s.json >/dev/null && pass || fail "--json result"

# --- resume: only the points not done run again -------------------------------
max=$(q s.db "select max(id) from runs")
q s.db "delete from sweep_points where sweep_id = 1 and point = 1;
        update sweep_points set status = 'interrupted', run_id = null where sweep_id = 1 and point = 2 and repeat = 0"
expect_exit 0 "resume" -- "$ORRERY" sweep --resume 1 --db s.db -j 2
expect_out '3 runs|12 runs: 12 ok' "resume summary"
expect_out '9 done before this resume' "skipped points are reported"
[ "$(q s.db "select count(*) from runs")" = $((max + 3)) ] && pass || fail "resume ran exactly 3 runs"
[ "$(q s.db "select group_concat(point || '.' || repeat, ' ') from
             (select point, repeat from sweep_points where sweep_id = 1 and run_id > $max order by point, repeat)")" = \
  "1.0 1.1 2.0" ] && pass || fail "the rerun points are the deleted and interrupted ones"
[ "$(q s.db "select count(*) from sweep_points where sweep_id = 1 and status = 'ok'")" = 12 ] &&
  pass || fail "all 12 ok after resume"
expect_exit 0 "resume of a complete sweep runs nothing" -- "$ORRERY" sweep --resume 1 --db s.db -q
[ "$(q s.db "select count(*) from runs")" = $((max + 3)) ] && pass || fail "nothing rerun"
expect_exit 2 "resume of an unknown sweep" -- "$ORRERY" sweep --resume 99 --db s.db
expect_out 'no sweep 99' "unknown sweep message"
expect_exit 2 "resume with axes" -- "$ORRERY" sweep --resume 1 --db s.db --axis a=1,2
sed 's/latency: 300ns/latency: 301ns/' "$Q" > q2.yaml
"$ORRERY" sweep q2.yaml --db r.db -q --axis components.sw0.queue=48KiB,64KiB; sed -i 's/queue: 48KiB/queue: 32KiB/' q2.yaml
expect_exit 2 "resume after the scenario changed" -- "$ORRERY" sweep --resume 1 --db r.db
expect_out 'has changed since sweep 1' "changed scenario message"

# --- Ctrl-C: stop, leave a resumable sweep -------------------------------------
"$ORRERY" sweep "$Q" -j 1 --db i.db --axis components.sw0.latency=100ns..4000ns:100ns > int.out 2>&1 &
pid=$!
for _ in $(seq 200); do
  [ "$(q i.db "select count(*) from sweep_points where status = 'ok'" 2>/dev/null)" -ge 1 ] 2>/dev/null && break
  sleep 0.05
done
kill -INT $pid
wait $pid; rc=$?
[ $rc = 130 ] && pass || { fail "interrupted sweep exit $rc, expected 130"; head -5 int.out >&2; }
left=$(q i.db "select count(*) from sweep_points where status not in ('ok')")
[ "$left" -ge 1 ] && pass || fail "points left to run after Ctrl-C"
grep -q 'orrery sweep --resume 1' int.out && pass || fail "says how to resume"
expect_exit 0 "resume after Ctrl-C" -- "$ORRERY" sweep --resume 1 --db i.db -j 2 -q
[ "$(q i.db "select count(*) from sweep_points where status = 'ok'")" = 40 ] && pass || fail "all 40 ok"

# --- budgets per point ----------------------------------------------------------
cat > edf.yaml <<'YAML'
stop: {duration: 50ms}
components:
  node0:
    type: sched_node
    cpus: 1
    tasks:
      - {name: t1, policy: deadline, runtime: 3ms, deadline: 10ms, period: 10ms,
         periodic: {period: 10ms, run: 2900us}}
budgets:
  node0.t1.deadline_misses: "== 0"
sweep:
  axes: {components.node0.tasks.0.periodic.run: "2900us,6000us"}
  repeat: 2
YAML
expect_exit 1 "a point breaks a budget" -- "$ORRERY" sweep edf.yaml --db b.db -j 2
expect_out '2 points x 2 repeats' "axes and repeat from the scenario's sweep: key"
expect_out '^ +0 +0 +1 +2900us +ok +[0-9]+ +PASS' "PASS row"
expect_out '^ +1 +1 +2 +6000us +budget_failed +[0-9]+ +FAIL' "FAIL row"
[ "$(q b.db "select count(*) from sweep_points where status = 'budget_failed'")" = 2 ] &&
  pass || fail "budget_failed stored"
expect_exit 0 "--axis replaces the scenario's axis" -- "$ORRERY" sweep edf.yaml --db b.db --repeat 1 \
  --axis components.node0.tasks.0.periodic.run=1000us..2000us:500us
expect_out '3 points x 1 repeat' "replaced axis, repeat from the command line"
expect_exit 0 "run ignores sweep:" -- "$ORRERY" run edf.yaml --no-db -q
cat > badsweep.yaml <<'YAML'
stop: {duration: 1ms}
components: {node0: {type: sched_node, cpus: 1}}
sweep: {repaet: 2, axes: {stop.duration: [1ms, 2ms]}}
YAML
expect_exit 2 "validate checks sweep:" -- "$ORRERY" validate badsweep.yaml
expect_out "sweep\.repaet: unknown key 'repaet'; did you mean 'repeat'" "sweep key typo"
expect_out 'sweep\.axes\.stop\.duration: expected a range' "axis must be a string"
printf 'stop: {duration: 1ms}\ncomponents: {node0: {type: sched_node, cpus: 1}}\nsweep: {axes: {stop.duration: "2ms..1ms:1ms"}}\n' > badrange.yaml
expect_exit 2 "bad range in the scenario" -- "$ORRERY" sweep badrange.yaml --db none.db
expect_out '^badrange\.yaml:3:.*sweep\.axes\.stop\.duration: range .2ms\.\.1ms:1ms.: START is greater' "file:line:col"
expect_exit 2 "validate checks an axis with the sweep grammar" -- "$ORRERY" validate badrange.yaml
expect_out '^badrange\.yaml:3:[0-9]+: error: sweep\.axes\.stop\.duration: range .2ms\.\.1ms:1ms.: START is greater' \
  "validate: file:line:col"

# --- sampling --------------------------------------------------------------------
sample() { "$ORRERY" sweep "$Q" --db p.db -j 2 --json --sample 5 --seed "$1" \
  --axis components.sw0.latency=100ns..500ns:100ns --axis components.gen0.interval=2400ns..3000ns:200ns \
  2>/dev/null | jq -r '[.runs[].overrides] | join(";")'; }
a=$(sample 7); b=$(sample 7); c=$(sample 8)
[ "$(echo "$a" | tr ';' '\n' | sed -n '/latency/p' | wc -l)" = 5 ] && pass || fail "5 sampled points: $a"
[ "$(echo "$a" | tr ';' '\n' | paste - - | sort -u | wc -l)" = 5 ] && pass || fail "sampled points distinct"
[ -n "$a" ] && [ "$a" = "$b" ] && pass || fail "same seed, same sample"
[ "$a" != "$c" ] && pass || fail "another seed, another sample"
[ "$(q p.db "select sample || '|' || seed from sweeps where id = 1")" = "5|7" ] && pass || fail "sample stored"
[ "$(q p.db "select group_concat(seed) from sweep_points where sweep_id = 3")" = "8,8,8,8,8" ] &&
  pass || fail "runs use the sweep seed"

# --- bad input: exit 2, nothing run or written ---------------------------------
bad() { # desc regex args...
  local desc=$1 re=$2; shift 2
  expect_exit 2 "$desc" -- "$ORRERY" sweep "$Q" --db bad.db "$@"
  expect_out "$re" "$desc: message"
  [ ! -e bad.db ] && pass || { fail "$desc: database written"; rm -f bad.db; }
}
bad "open range" "malformed range '1ns\.\.'" --axis components.sw0.latency=1ns..
bad "reversed range" "START is greater than END" --axis components.sw0.latency=5..1:1
bad "zero step" "step must be greater than zero" --axis components.sw0.latency=1ns..5ns:0ns
bad "mixed units" "mixes units 'ns' and 'us'" --axis components.sw0.latency=1ns..5us:1ns
bad "step does not divide" "does not divide" --axis components.sw0.latency=1ns..5ns:3ns
bad "unknown key" "components\.sw0\.latensy: unknown key 'latensy'; did you mean 'latency'" \
  --axis components.sw0.latensy=1ns,2ns
bad "bad value" "value 'fast' does not fit" --axis components.sw0.latency=1ns,fast
bad "no =" "expected KEY=RANGE" --axis components.sw0.latency
bad "axis twice" "given twice" --axis stop.duration=1ms,2ms --axis stop.duration=3ms,4ms
# the plan's limits come from the axis sizes, before any value is checked
bad "too many runs" "1001000 points x 1 repeats is more than 1000000 runs" \
  --axis components.sw0.latency=1ns..1000ns:1ns --axis components.gen0.interval=1ns..1001ns:1ns
bad "grid too large" "the grid has more than 4611686018427387904 points" \
  --axis a=1..100000:1 --axis b=1..100000:1 --axis c=1..100000:1 --axis d=1..100000:1
bad "axis too long" "has 100001 values; at most 100000" --axis components.sw0.latency=0ns..100000ns:1ns
bad "-j 0" "-j expects a positive integer" -j 0
bad "--repeat 0" "--repeat expects a positive integer" --repeat 0 --axis stop.duration=1ms,2ms
expect_exit 2 "no scenario" -- "$ORRERY" sweep
expect_exit 2 "missing scenario file" -- "$ORRERY" sweep nosuch.yaml --db bad.db
[ ! -e bad.db ] && pass || fail "missing scenario: database written"
finish
