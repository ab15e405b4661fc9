#!/usr/bin/env bash
# The trace-driven core: DVFS at run time, interrupt costs, the energy
# counter, and the weak store buffer (reorders stores, keeps coherence).
. "$(dirname "$0")/lib.sh"

cat > base.yaml <<'YAML'
name: cores
stop: {duration: 1ms}
machine:
  sockets: 1
  cores_per_socket: 1
  frequency: 2GHz
  memory: {size: 1GiB}
  workloads:
    - {cores: 0, pattern: seq, footprint: 4KiB, count: 20000, compute: 10cy}
YAML
metric() { jq -r --arg n "$2" '[.metrics[] | select(.component == "sock0.core0" and .name == $n) | .value][0]' "$1"; }

"$ORRERY" run base.yaml --no-db --json > base.json || fail "base runs"
t0=$(jq .sim_time_ps base.json); c0=$(metric base.json cycles); e0=$(metric base.json energy)

# DVFS: halve the clock at 50us; the rest takes twice as long, the cycle
# count is unchanged and the dynamic energy of those cycles drops 4x
printf 'extends: base.yaml\nfaults:\n  - {at: 50us, component: sock0.core0, fault: set_frequency, frequency: 1GHz}\n' > dvfs.yaml
"$ORRERY" run dvfs.yaml --no-db --json > dvfs.json || fail "dvfs runs"
t1=$(jq .sim_time_ps dvfs.json)
want=$(( 50000000 + (t0 - 50000000) * 2 ))
awk -v a="$t1" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 0.01 * b) }' &&
  pass || fail "DVFS: run took $t1 ps, expected about $want"
[ "$(metric dvfs.json cycles)" = "$c0" ] && pass || fail "DVFS changed the cycle count"
[ "$(metric dvfs.json frequency_changes)" = 1 ] && pass || fail "one frequency change"
awk -v a="$(metric dvfs.json energy)" -v b="$e0" 'BEGIN { exit !(a < 0.6 * b) }' &&
  pass || fail "DVFS: energy $(metric dvfs.json energy) not well below $e0"
echo "  DVFS 2GHz -> 1GHz at 50us: $t0 ps -> $t1 ps, energy $e0 -> $(metric dvfs.json energy) uJ"

# a timer interrupt every 10us: count and cost (200 + 150 cycles each)
"$ORRERY" run base.yaml --set machine.timer_period=10us --no-db --json > irq.json || fail "irq runs"
n=$(metric irq.json interrupts.timer); cy=$(metric irq.json interrupt_cycles)
[ "$n" -ge 14 ] && [ "$cy" -eq $((n * 350)) ] && pass || fail "timer irqs: $n, $cy cycles"
[ "$(jq .sim_time_ps irq.json)" -eq $((t0 + n * 350 * 500)) ] && pass ||
  fail "interrupts should add $n x 350 cycles to the run"
# a device interrupt from the fault schedule
printf 'extends: base.yaml\nfaults:\n  - {at: 20us, component: sock0.core0, fault: interrupt, kind: device}\n' > dev.yaml
"$ORRERY" run dev.yaml --no-db --json > dev.json || fail "device irq runs"
[ "$(metric dev.json interrupts.device)" = 1 ] && pass || fail "device interrupt counted"

# weak store buffer: stores drain out of order, coherence still checked
cat > weak.yaml <<'YAML'
name: weak
stop: {duration: 2ms}
machine:
  sockets: 1
  cores_per_socket: 4
  memory_model: weak
  drain_jitter: 50ns
  jitter: 20ns
  memory: {size: 1GiB}
  workloads:
    - {cores: all, pattern: rtest, base: 4KiB, footprint: 1KiB, count: 2000}
YAML
reorders() { jq '[.metrics[] | select(.name == "sb_reordered") | .value] | add' "$1"; }
expect_exit 0 "weak model keeps coherence (rtest, checks on)" -- "$ORRERY" run weak.yaml --no-db --json
echo "$OUT" > weak.json
[ "$(reorders weak.json)" -gt 0 ] && pass || fail "weak model never reordered a store"
"$ORRERY" run weak.yaml --set machine.memory_model=tso --no-db --json > tso.json || fail "tso runs"
[ "$(reorders tso.json)" -eq 0 ] && pass || fail "TSO reordered stores"
echo "  stores drained out of order: weak $(reorders weak.json), tso $(reorders tso.json)"

# bad input: an unknown memory model, a frequency fault without a frequency
printf 'extends: base.yaml\nmachine:\n  memory_model: relaxed\n' > badmm.yaml
expect_exit 2 "unknown memory model" -- "$ORRERY" validate badmm.yaml
expect_out "^badmm.yaml:3:17: error: machine.memory_model: expected one of tso, weak" "memory model message"
printf 'extends: base.yaml\nfaults:\n  - {at: 1us, component: sock0.core0, fault: set_frequency}\n' > badf.yaml
expect_exit 2 "set_frequency without frequency" -- "$ORRERY" validate badf.yaml
finish
