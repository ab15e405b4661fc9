#!/usr/bin/env bash
# Performance budgets in scenarios: a table after the run, exit 0 when all
# hold and 1 when one fails (stored either way), JSON and the results DB,
# exit 2 with file:line:col for a bad bound, for a metric no component can
# have (before the run) and for a metric the run lacks (after it).
. "$(dirname "$0")/lib.sh"
cat > edf.yaml <<'YAML'
name: edf-budgets
stop: {duration: 100ms}
components:
  node0:
    type: sched_node
    cpus: 1
    tasks:
      - {name: t1, policy: deadline, runtime: 3ms, deadline: 10ms, period: 10ms,
         periodic: {period: 10ms, run: 2900us}}
budgets:
  node0.t1.deadline_misses: "== 0"
  node0.t1.wakeup_latency.p99: "< 2us"
  node0:
    idle: ">= 50%"
    t1.jobs: "> 5"
YAML

# The figures the table must show, from the costs that produce them. t1
# wakes on an idle CPU; from its release to its first instruction the
# kernel enqueues it, picks it and switches to it: 150 + 200 + 2000 cycles
# (include/kernel/sched.h, docs/sched.md) at sched_node's default 2 GHz.
# Each 10 ms period t1 runs 2.9 ms; the kernel's few microseconds per
# period do not reach the idle ratio's first decimal.
lat_ns=$(( (150 + 200 + 2000) / 2 ))                              # 1175
fmt_ns() { awk -v n="$1" 'BEGIN { a = n < 0 ? -n : n; if (a >= 1000) printf "%.3f us", n / 1000; else printf "%d ns", n }'; }
re() { sed 's/\./\\./g' <<< "$1"; }
lat=$(re "$(fmt_ns $lat_ns)")                                     # 1.175 us
lat_margin=$(re "$(fmt_ns $((2000 - lat_ns)))")                   # < 2us: 825 ns
lat_over=$(re "$(fmt_ns $((150 - lat_ns)))")                      # <= 150ns: -1.025 us
idle=$(awk 'BEGIN { printf "%.1f", 100 * (1 - 2900 / 10000) }')   # 71.0
idle_margin=$(awk -v i="$idle" 'BEGIN { printf "%.1f", i - 50 }') # 21.0
expect_exit 0 "budgets hold" -- "$ORRERY" run edf.yaml --db r.db
expect_out '^budget +bound +value +margin +result$' "budget table header"
expect_out '^node0\.t1\.deadline_misses +== 0 +0 job +0 job +PASS$' "== row"
expect_out "^node0\\.t1\\.wakeup_latency\\.p99 +< 2us +$lat +$lat_margin +PASS\$" "histogram percentile row"
expect_out "^node0\\.idle +>= 50% +$(re "$idle") % +$(re "$idle_margin") % +PASS\$" "percentage row"
expect_out '^budgets +4 of 4 hold \(all\)$' "summary line"
[ "$(sqlite3 r.db "select count(*) from budgets where run_id = 1 and pass = 1")" = 4 ] &&
  pass || fail "budgets stored with the run"
[ "$(sqlite3 r.db "select bound || '|' || value || '|' || unit from budgets where metric = 'node0.t1.wakeup_latency.p99'")" = "< 2us|$((lat_ns * 1000)).0|ps" ] &&
  pass || fail "stored bound, value and unit"

# a failing budget: exit 1, FAIL in the table, stored, in --json
expect_exit 1 "a budget fails" -- "$ORRERY" run edf.yaml --db r.db --set 'budgets.node0.t1.wakeup_latency.p99="<= 150ns"'
expect_out "^node0\\.t1\\.wakeup_latency\\.p99 +<= 150ns +$lat +$lat_over +FAIL\$" "FAIL row"
expect_out '3 of 4 hold' "summary counts the failure"
expect_out 'error: 1 of 4 budgets failed' "failure on stderr"
[ "$(sqlite3 r.db "select count(*) from budgets where run_id = 2 and pass = 0")" = 1 ] &&
  pass || fail "failed budget stored"
[ "$(sqlite3 r.db "select status from runs where id = 2")" = ok ] && pass || fail "the run itself is ok"
"$ORRERY" run edf.yaml --no-db --json --set 'budgets.node0.idle=">= 80%"' > out.json
[ $? = 1 ] && pass || fail "--json exit 1 on a failed budget"
jq -e '.budgets_failed == 1 and (.budgets | length) == 4 and
       (.budgets[] | select(.metric == "node0.idle") | .pass == false and .limit == 0.8 and .unit == "ratio")' \
  out.json >/dev/null && pass || fail "budget results in --json"

# no budgets: as before; budgets can be switched off with --set
expect_exit 0 "no budgets" -- "$ORRERY" run edf.yaml --no-db --set 'budgets={}'
! grep -q '^budget ' <<< "$OUT" && pass || fail "no table without budgets"

# bad input: exit 2, file:line:col, key path, nothing written
sed 's/"== 0"/"=< 0"/' edf.yaml > badop.yaml
expect_exit 2 "bad operator" -- "$ORRERY" run badop.yaml --db bad.db
expect_out "^badop\.yaml:11:29: error: budgets\.node0\.t1\.deadline_misses: bad bound '=< 0': unknown or missing operator" "operator error with position"
[ ! -e bad.db ] || [ "$(sqlite3 bad.db 'select count(*) from runs')" = 0 ] && pass || fail "nothing stored"
sed 's/"< 2us"/"< 2 fortnights"/' edf.yaml > badunit.yaml
expect_exit 2 "bad unit" -- "$ORRERY" validate badunit.yaml
expect_out "^badunit\.yaml:12:32: error: budgets\.node0\.t1\.wakeup_latency\.p99: bad bound '< 2 fortnights'" "unit error with position"
# a metric no component can have: refused when the scenario is built, so
# `validate` finds it too and `run` neither runs nor writes anything
cat edf.yaml > nometric.yaml
cat >> nometric.yaml <<'YAML'
  x.no_such_metric: "< 1"
YAML
expect_exit 2 "metric of no component" -- "$ORRERY" run nometric.yaml --db bad.db --trace t.trace
expect_out "^nometric\.yaml:16:21: error: budgets\.x\.no_such_metric: no metric 'x\.no_such_metric' can exist in this scenario: it names no component" "unknown component with position"
! grep -q '^stopped\|^digest' <<< "$OUT" && pass || fail "nothing ran"
[ ! -e t.trace ] && ! ls t.trace.tmp* >/dev/null 2>&1 && pass || fail "no trace for a metric of no component"
[ ! -e bad.db ] || [ "$(sqlite3 bad.db 'select count(*) from runs')" = 0 ] && pass || fail "no run stored for a metric of no component"
expect_exit 2 "validate: metric of no component" -- "$ORRERY" validate nometric.yaml
expect_out "nometric\.yaml:16:21: .*x\.no_such_metric" "validate reports it"
expect_exit 2 "undeclared metric" -- "$ORRERY" validate edf.yaml --set 'budgets.node0.t1.wakeup_latency.p98="< 2us"'
expect_out "component 'node0' \(type sched_node\) declares no metric 't1\.wakeup_latency\.p98'" "the type is named"
expect_out "did you mean 'node0\.t1\.wakeup_latency\.p9[09]', 'node0\.t1\.wakeup_latency\.p9[09]'" "the nearest metrics"
expect_exit 2 "undeclared run metric" -- "$ORRERY" validate edf.yaml --set 'budgets.sim.evnts="> 0"'
expect_out "the run reports no metric 'evnts'.*did you mean 'sim\.events'" "run metrics are checked too"
expect_exit 0 "run and link metrics are declared" -- "$ORRERY" validate edf.yaml --set 'budgets.sim.events="> 0"'
# the engine's link metrics exist for linked ports (tx_util with a bandwidth)
cat > links.yaml <<'YAML'
stop: {duration: 10us}
components:
  gen: {type: traffic_gen, dests: [snk], count: 3}
  snk: {type: sink}
links:
  - {from: gen.out, to: snk.in, latency: 10ns}
budgets:
  gen.out.tx_bytes: "> 1B"
  snk.in.tx_msgs: "== 0"
YAML
expect_exit 0 "link metrics of linked ports" -- "$ORRERY" validate links.yaml
expect_exit 2 "tx_util without a bandwidth" -- "$ORRERY" validate links.yaml --set 'budgets.gen.out.tx_util="< 50%"'
expect_out "declares no metric 'out\.tx_util'" "tx_util refused"
expect_exit 0 "tx_util with a bandwidth" -- "$ORRERY" validate links.yaml --set 'budgets.gen.out.tx_util="< 50%"' --set links.0.bandwidth=10Gbps
# a declared family with no such member: only the run can tell
expect_exit 2 "missing metric" -- "$ORRERY" run edf.yaml --db bad.db --trace t.trace --set 'budgets.node0.t9.jobs="== 0"'
expect_out "budgets\.node0\.t9\.jobs: no metric 'node0\.t9\.jobs' in this run" "missing metric named"
expect_out "nearest: 'node0\.t1\.jobs'" "missing metric: the nearest names"
[ ! -e t.trace ] && ! ls t.trace.tmp* >/dev/null 2>&1 && pass || fail "no trace left after a missing metric"
# the run created bad.db and stored nothing: no empty database is left
[ ! -e bad.db ] && pass || fail "an empty database was left after a missing metric"
expect_exit 2 "unit does not fit" -- "$ORRERY" validate edf.yaml --set 'budgets.node0.idle="< 2us"'
expect_out "bound '< 2us' has a unit for metrics in ps, but 'node0.idle' is in 'ratio'" "unit mismatch"

# the shipped scenario with budgets holds them
expect_exit 0 "sched-mixed budgets" -- "$ORRERY" run "$SRC/scenarios/sched-mixed.yaml" --no-db
expect_out 'budgets +3 of 3 hold' "sched-mixed budgets hold"

finish
