#!/usr/bin/env bash
# The reference kernel's scheduler on the simulated machine (sched_node):
# scenarios run and agree with theory, the trace carries sched_switch and
# sched_wakeup records and the feature switches, and every load-time error
# the scheduler issue names exits 2 with its position.
. "$(dirname "$0")/lib.sh"
S=$SRC/scenarios
metric() { jq -r --arg n "$2" '.metrics[] | select(.name == $n) | .value' "$1"; }

# EEVDF shares follow the nice weights 1024:1024:335 (43.4 / 43.4 / 14.2 %)
"$ORRERY" run "$S/sched-fair.yaml" --no-db --json > fair.json || fail "sched-fair runs"
for t in a b c; do
  share=$(metric fair.json "$t.share")
  want=$([ $t = c ] && echo 0.14199 || echo 0.43401)
  awk -v s="$share" -v w="$want" 'BEGIN { d = s - w; if (d < 0) d = -d; exit !(d / w < 0.02) }' &&
    pass || fail "sched-fair: $t share $share, theory $want (±2 %)"
done
echo "sched-fair shares: a=$(metric fair.json a.share) b=$(metric fair.json b.share) c=$(metric fair.json c.share)"

# EDF at U = 0.9 on one CPU: every job released is completed, none late
"$ORRERY" run "$S/sched-edf.yaml" --no-db --json > edf.json || fail "sched-edf runs"
for t in t1 t2 t3; do
  [ "$(metric edf.json "$t.deadline_misses")" = 0 ] && pass || fail "sched-edf: $t missed deadlines"
done
[ "$(metric edf.json t1.jobs)" = 200 ] && pass || fail "sched-edf: t1 ran $(metric edf.json t1.jobs) jobs, want 200"

# the same set overloaded to U = 1.2 with admission control off misses
"$ORRERY" run "$S/sched-edf.yaml" --no-db --json --set 'components.node0.features=[DL_ADMISSION=0]' \
  --set components.node0.tasks.0.periodic.run=5800us --set components.node0.tasks.0.runtime=6ms \
  > over.json || fail "overloaded EDF runs"
misses=$(jq '[.metrics[] | select(.name | endswith(".deadline_misses")) | .value] | add' over.json)
[ "$misses" -gt 0 ] 2>/dev/null && pass || fail "EDF at U = 1.2 should miss deadlines (got $misses)"

# mixed classes: DL and FIFO tasks miss nothing; trace has the scheduler's records
"$ORRERY" run "$S/sched-mixed.yaml" --no-db --json --trace mixed.trace > mixed.json || fail "sched-mixed runs"
[ "$(metric mixed.json dl.deadline_misses)" = 0 ] && [ "$(metric mixed.json ctl.deadline_misses)" = 0 ] &&
  pass || fail "sched-mixed: real-time tasks missed deadlines"
[ "$(metric mixed.json sched.checks)" -gt 1000 ] 2>/dev/null && pass || fail "invariants were not checked"
strings mixed.trace > mixed.strings   # (not piped: grep -q would SIGPIPE strings)
for k in sched_switch sched_wakeup 'sched.features=WAKEUP_PREEMPT=1'; do
  grep -q "$k" mixed.strings && pass || fail "trace header lacks $k"
done

# group bandwidth: a 50ms/100ms group of four hogs gets half a CPU in all
"$ORRERY" run "$S/sched-bw.yaml" --no-db --json > bw.json || fail "sched-bw runs"
group=$(jq '[.metrics[] | select(.name | test("^batch\\.[0-9]+\\.share$")) | .value] | add' bw.json)
awk -v g="$group" 'BEGIN { d = g - 0.5; if (d < 0) d = -d; exit !(d < 0.005) }' && pass ||
  fail "sched-bw: group got $group CPUs, quota allows 0.5 (±1 %)"
echo "sched-bw group share: $group CPUs (quota 0.5)"
expect_exit 2 "unknown group" -- "$ORRERY" run "$S/sched-bw.yaml" --no-db --set components.node0.tasks.0.group=nope
expect_out "<--set>:[0-9]+: error: components.node0.tasks.0: no group 'nope'" "unknown group message"
expect_exit 2 "group on an RT task" -- "$ORRERY" run "$S/sched-bw.yaml" --no-db \
  --set components.node0.tasks.1.policy=fifo --set components.node0.tasks.1.prio=5 --set components.node0.tasks.1.group=batch
expect_out "group applies to normal tasks only" "group policy message"

# load-time errors, each with file:line:col
cat > base.yaml <<'Y'
stop: {duration: 10ms}
components:
  n: {type: sched_node, cpus: 2, tasks: [{name: x, phases: [{run: 1ms}]}]}
Y
bad() { # name, --set value for the task list, expected text
  expect_exit 2 "$1" -- "$ORRERY" run base.yaml --no-db --set "components.n.tasks=$2"
  expect_out '<--set>|base\.yaml:[0-9]+:[0-9]+' "$1: position"
  expect_out "$3" "$1: message"
}
bad dl_order '[{name: d, policy: deadline, runtime: 9ms, deadline: 8ms, period: 10ms, periodic: {period: 10ms, run: 1ms}}]' \
  'runtime <= deadline <= period'
bad admission '[{name: d, count: 2, policy: deadline, runtime: 12ms, deadline: 20ms, period: 20ms, affinity: [0], periodic: {period: 20ms, run: 1ms}}]' \
  "admission control refused deadline task 'd.1'"
bad affinity '[{name: a, affinity: [5], phases: [{run: 1ms}]}]' "affinity names CPU '5', but the machine has CPUs 0..1"
bad policy '[{name: a, policy: lottery, phases: [{run: 1ms}]}]' 'expected one of normal, fifo, rr, deadline'
bad zero_period '[{name: a, periodic: {period: 0s, run: 1ms}}]' 'must be greater than zero'
expect_exit 2 "bad feature" -- "$ORRERY" run base.yaml --no-db --set 'components.n.features=[FAST=1]'
expect_out "'FAST=1' is not NAME=0 or NAME=1" "bad feature message"

# the kernel's selftests on the node's CPUs: every test that ran is ok,
# the verdict counts them; the hal suite and unknown suites are refused
expect_exit 0 "selftests on a sched_node" -- "$ORRERY" run base.yaml --no-db \
  --set 'components.n.selftest=[kstring, sched]'
n_ok=$(grep -c '^ktest \(kstring\|sched\)\..* ok$' <<<"$OUT")
n_all=$(grep -c '^ktest ' <<<"$OUT")
[ "$n_ok" -ge 10 ] && [ "$n_ok" = "$n_all" ] && pass || fail "sched_node selftests: $n_ok of $n_all ok"
expect_out "^KTEST PASS $n_ok\$" "sched_node selftest verdict"
expect_exit 2 "the hal suite on a sched_node" -- "$ORRERY" run base.yaml --no-db \
  --set 'components.n.selftest=[hal]'
expect_out "components.n.selftest: the hal suite needs CPUs that wait" "hal suite message"
expect_exit 2 "an unknown suite on a sched_node" -- "$ORRERY" run base.yaml --no-db \
  --set 'components.n.selftest=[nosuch]'
expect_out "no selftest suite 'nosuch'" "unknown suite message"

finish
