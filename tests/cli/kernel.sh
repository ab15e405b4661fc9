#!/usr/bin/env bash
# The reference kernel on the modelled machine (docs/kernel-platform.md):
# its selftests pass on kernel CPUs; the spin-lock handoff emerges from the
# caches near the published core-to-core latencies; MCS beats the ticket
# lock at 16 CPUs; a race reproduces from its seed and changes with
# another; the mutual-exclusion check fires on a lock that does not lock;
# bad `kernel:` sections are exit 2 with a position, and nothing runs.
. "$(dirname "$0")/lib.sh"
PRESET=$SRC/scenarios/presets/icelake-2s.yaml

# scenario NAME SEED "KERNEL SECTION LINES..."
scenario() {
  printf 'name: %s\nextends: %s\nseed: %s\nstop: {duration: 100ms}\nkernel:\n%s\n' \
    "$1" "$PRESET" "$2" "$3" >"$1.yaml"
}
metric() { # metric JSON COMPONENT NAME
  jq -r --arg c "$2" --arg n "$3" '[.metrics[] | select(.component == $c and .name == $n) | .value][0]' "$1"
}

# --- selftests on kernel CPUs -------------------------------------------------
scenario selftest 1 '  cpus: "0-1 8-9"
  selftest: [kstring, hal, sched, mm]'
expect_exit 0 "selftests on the machine" -- "$ORRERY" run selftest.yaml --no-db
expect_out '^KTEST PASS [0-9]+$' "selftest verdict line"
# every test ran: none skipped (timers and IPIs exist here), none failed
n_ok=$(grep -c '^ktest .* ok$' <<<"$OUT")
n_all=$(grep -c '^ktest ' <<<"$OUT")
[ "$n_ok" -gt 20 ] && [ "$n_ok" = "$n_all" ] && pass ||
  fail "selftests: $n_ok of $n_all ok; $(grep '^ktest' <<<"$OUT" | grep -v ' ok$' | head -3)"
grep -q "KTEST PASS $n_ok\$" <<<"$OUT" && pass || fail "verdict counts $n_ok tests"

# --- spin-lock handoff against REFERENCES.md ------------------------------------
# bench LOCK CPUS -> bench.json; prints "handoff_ns acquisitions_per_us"
bench() {
  scenario bench 1 "  cpus: \"$2\"
  sync_bench: {lock: $1, iterations: 200}"
  "$ORRERY" run bench.yaml --no-db --json >bench.json || { fail "bench $1 $2 failed"; return; }
  local n e h c
  n=$(metric bench.json sock0.core0 report.sync.acquisitions)
  c=$(metric bench.json sock0.core0 report.sync.counter)
  e=$(metric bench.json sock0.core0 report.sync.elapsed_ns)
  h=$(metric bench.json sock0.core0 report.sync.handoff_ps)
  [ "$c" = "$n" ] && pass || fail "bench $1 $2: counter $c after $n acquisitions"
  printf '%.2f %.3f\n' "$(echo "$h / 1000" | bc -l)" "$(echo "$n * 1000 / $e" | bc -l)"
}
# in_band VALUE REF: within ±25 % of REF
in_band() { [ "$(echo "$1 >= $2 * 0.75 && $1 <= $2 * 1.25" | bc -l)" = 1 ]; }
read -r h_same _ < <(bench ticket "0-1")
read -r h_cross _ < <(bench ticket "0 8")
echo "ticket handoff: same socket ${h_same} ns (ref 51), across sockets ${h_cross} ns (ref 108)"
in_band "$h_same" 51 && pass || fail "same-socket handoff ${h_same} ns, expected 51 ns ±25%"
in_band "$h_cross" 108 && pass || fail "cross-socket handoff ${h_cross} ns, expected 108 ns ±25%"
read -r _ r_ticket < <(bench ticket all)
read -r _ r_mcs < <(bench mcs all)
echo "16 CPUs: ticket ${r_ticket} acq/us, mcs ${r_mcs} acq/us"
[ "$(echo "$r_mcs > $r_ticket" | bc -l)" = 1 ] && pass ||
  fail "at 16 CPUs MCS ($r_mcs acq/us) should beat the ticket lock ($r_ticket)"

# --- faults on kernel CPUs ------------------------------------------------------------
# faulted NAME "FAULT ENTRY" -> NAME.json: the two-CPU ticket benchmark with one fault
faulted() {
  scenario "$1" 1 '  cpus: "0-1"
  sync_bench: {lock: ticket, iterations: 200}'
  printf 'faults:\n  - %s\n' "$2" >>"$1.yaml"
  expect_exit 0 "fault $1" -- "$ORRERY" run "$1.yaml" --no-db --json
  echo "$OUT" >"$1.json"
  [ "$(metric "$1.json" sock0.core0 report.sync.counter)" = 400 ] && pass ||
    fail "$1: the lock lost an update under the fault"
}
faulted stall '{at: 20us, component: sock0.core1, fault: stall, duration: 1ms}'
[ "$(metric stall.json sock0.core1 kern.stalled)" = 1000000000 ] && pass || fail "stall: kern.stalled"
e=$(metric stall.json sock0.core0 report.sync.elapsed_ns)
[ "$e" -gt 1000000 ] && pass || fail "stall: elapsed $e ns, expected over the 1 ms stall"
faulted storm '{at: 10us, component: sock0.core0, fault: irq_storm, count: 40, interval: 500ns}'
[ "$(metric storm.json sock0.core0 kern.spurious_irqs)" = 40 ] && pass || fail "storm: 40 spurious interrupts taken"
faulted spurious '{at: 10us, component: sock0.core1, fault: spurious_irq, kind: timer}'
[ "$(metric spurious.json sock0.core1 kern.spurious_irqs)" = 1 ] && pass || fail "spurious timer taken once"

# --- a race, by seed --------------------------------------------------------------
# No lock: the increments race; the check must fail the run (exit 1) with
# the lost updates, the same for the same seed and different for others.
race() {
  scenario race "$1" '  cpus: "0-3"
  cost_jitter: 20cy
  sync_bench: {lock: racy, iterations: 50}'
  expect_exit 1 "racy increments fail the check (seed $1)" -- "$ORRERY" run race.yaml --no-db
  expect_out 'mutual exclusion broken' "race message (seed $1)"
  sed -n 's/.*counter is \([0-9]*\) after.*/\1/p; s/^digest *//p' <<<"$OUT" | paste -sd' '
}
r1=$(race 1); r1b=$(race 1)
[ -n "$r1" ] && [ "$r1" = "$r1b" ] && pass || fail "seed 1 twice: '$r1' vs '$r1b'"
outcomes=$(for s in 1 2 3 4; do race $s | cut -d' ' -f1; done | sort -u | wc -l)
[ "$outcomes" -ge 2 ] && pass || fail "seeds 1-4 lose the same number of updates"
[ "$(race 2)" != "$r1" ] && pass || fail "seed 2 repeats seed 1's interleaving"

# --- kernel threads: the scheduler on kernel CPUs ------------------------------------
# Every figure below follows from the task programs: web runs 5 x 3 ms,
# ping and pong 200 x 50 us each; dl is released every 10 ms and ctl every
# 5 ms from the scheduler's start (time 0 here: no selftests), so 10 and
# 20 jobs finish inside 100 ms, none late on 4 CPUs.
THREADS='  cpus: "0-3"
  sched: {tick: 1ms}
  tasks:
    - {name: dl, policy: deadline, runtime: 2ms, deadline: 8ms, period: 10ms,
       periodic: {period: 10ms, run: 1500us, deadline: 8ms}}
    - {name: ctl, policy: fifo, prio: 50, periodic: {period: 5ms, run: 500us}}
    - {name: web, count: 6, loops: 5, phases: [{run: 3ms}, {sleep: 2ms}]}
    - {name: ping, loops: 200, phases: [{wake: pong}, {run: 50us}, {wait: ping}]}
    - {name: pong, loops: 200, phases: [{wait: pong}, {run: 50us}, {wake: ping}]}'
scenario threads 1 "$THREADS"
expect_exit 0 "kernel threads on 4 kernel CPUs" -- "$ORRERY" run threads.yaml --no-db --json
echo "$OUT" >threads.json
tm() { metric threads.json sock0.core0 "task.$1"; }
# within LO HI VALUE
within() { [ -n "$3" ] && [ "$3" != null ] && [ "$(echo "$3 >= $1 && $3 <= $2" | bc -l)" = 1 ]; }
for k in 0 1 2 3 4 5; do
  v=$(tm "web.$k.cpu_time")
  within 15000000000 15150000000 "$v" && pass || fail "web.$k ran $v ps, expected 15 ms (+1%)"
done
# plus the kernel's time in their context: 400 wait/wake scheduler entries
for t in ping pong; do
  v=$(tm "$t.cpu_time")
  within 10000000000 10500000000 "$v" && pass || fail "$t ran $v ps, expected 10 ms (+5%)"
done
[ "$(tm dl.jobs)" = 10 ] && [ "$(tm dl.deadline_misses)" = 0 ] && pass ||
  fail "dl: $(tm dl.jobs) jobs, $(tm dl.deadline_misses) late; expected 10, none late"
[ "$(tm ctl.jobs)" = 20 ] && [ "$(tm ctl.deadline_misses)" = 0 ] && pass ||
  fail "ctl: $(tm ctl.jobs) jobs, $(tm ctl.deadline_misses) late; expected 20, none late"
# each of ping's 200 waits is a switch away and back
v=$(tm ping.switches)
within 200 100000 "$v" && pass || fail "ping switched $v times, expected at least 200"
sw=$(jq '[.metrics[] | select(.name == "kern.ctx_switches") | .value] | add' threads.json)
within 400 100000 "$sw" && pass || fail "kernel CPUs switched $sw times"
lw=$(metric threads.json sock0.core0 sched.lock_wait)
within 1 1000000000000 "$lw" && pass || fail "the scheduler lock cost nothing ($lw ps)"
# attribution: each CPU's time splits over the subsystems with nothing
# lost (100 ms each), and the busy time of all threads is the work their
# programs ask for: 6 x 15 + 2 x 10 + 10 x 1.5 + 20 x 0.5 = 135 ms
for cpu in 0 1 2 3; do
  v=$(jq --arg c "sock0.core$cpu" '[.metrics[] | select(.component == $c and (.name | test("^sub\\..*\\.time$"))) | .value] | add' threads.json)
  within 99990000000 100010000000 "$v" && pass || fail "cpu $cpu: subsystem times add up to $v ps, not 100 ms"
done
v=$(jq '[.metrics[] | select(.name == "sub.task.time") | .value] | add' threads.json)
within 134990000000 135010000000 "$v" && pass || fail "threads' busy time $v ps, expected 135 ms"
v=$(jq '[.metrics[] | select(.name == "sub.sched.accesses") | .value] | add' threads.json)
within 1 1000000000 "$v" && pass || fail "the scheduler made $v shared accesses"
# the same seed, the same run; with start jitter, another seed another interleaving
scenario threads-j 1 "$THREADS
  start_jitter: 200ns"
d1=$("$ORRERY" run threads-j.yaml --no-db --json | jq -r .digest)
d1b=$("$ORRERY" run threads-j.yaml --no-db --json | jq -r .digest)
d2=$("$ORRERY" run threads-j.yaml --no-db --json --seed 2 | jq -r .digest)
[ -n "$d1" ] && [ "$d1" = "$d1b" ] && pass || fail "threads: seed 1 twice gave $d1 and $d1b"
[ "$d1" != "$d2" ] && pass || fail "threads: seeds 1 and 2 both gave $d1"

# --- virtual memory: TLBs, page walks, page faults, shootdowns -----------------------
# four CPUs over both sockets; every figure below follows from the program
scenario vm4 1 '  cpus: "0-1 8-9"
  vm_bench: {cpus: 4, pages: 32, rounds: 20, demand: 8}'
expect_exit 0 "vm_bench on 4 CPUs" -- "$ORRERY" run vm4.yaml --no-db --json
printf '%s\n' "$OUT" >vm4.json
m() { metric vm4.json "$1" "$2"; }
[ "$(m sock0.core0 report.vm.stale_reads)" = 0 ] && pass || fail "stale reads after shootdowns"
[ "$(m sock0.core0 report.vm.shootdowns)" = 20 ] && pass || fail "shootdowns"
[ "$(m sock0.core0 report.vm.faults)" = 32 ] && pass || fail "faults served: $(m sock0.core0 report.vm.faults), expected 4 x 8"
sd=$(m sock0.core0 report.vm.shootdown_ns)
echo "TLB shootdown to 3 CPUs (2 on the other socket): $sd ns (ipi_latency 500 ns)"
# a shootdown waits for an IPI to arrive (500 ns) and be taken (350 cycles)
[ "$(echo "$sd >= 500 + 350 / 2.6 && $sd < 5000" | bc -l)" = 1 ] && pass ||
  fail "shootdown $sd ns: below one IPI plus its entry, or beyond 5 us"
for c in sock0.core1 sock1.core0 sock1.core1; do
  # per CPU: one page fault per demand page; a walk per data page at the
  # start, per shootdown (the flushed page), and two per demand page (the
  # fault, then the retry); one IPI per shootdown plus the boot wake-up
  pf=$(m $c mmu.page_faults) tm=$(m $c mmu.tlb_misses) ii=$(m $c kern.ipis_in)
  [ "$pf" = 8 ] && [ "$tm" = $((32 + 20 + 2 * 8)) ] && [ "$ii" = 21 ] && pass ||
    fail "$c: page_faults $pf (8), tlb_misses $tm (68), ipis_in $ii (21)"
done
[ "$(m sock0.core1 mmu.tlb2_hits)" = 0 ] && pass || fail "32 pages fit the first-level TLB"
# the walks' PTE loads go through the caches: four per walk, less the
# faulting walks that stopped early
wl=$(m sock0.core1 mmu.walk_loads)
[ "$wl" -gt 200 ] && [ "$wl" -le $((4 * 68)) ] && pass || fail "walk_loads $wl for 68 walks"
# past the first level's reach (64 entries, 4 ways): the second level serves
scenario vm-reach 1 '  cpus: "0-1"
  vm_bench: {cpus: 2, pages: 128, rounds: 4, demand: 0}'
expect_exit 0 "vm_bench beyond the first-level TLB" -- "$ORRERY" run vm-reach.yaml --no-db --json
printf '%s\n' "$OUT" >vm-reach.json
h2=$(metric vm-reach.json sock0.core1 mmu.tlb2_hits)
# rounds 1-3 read 128 pages each, every one a first-level miss (8 pages per
# 4-way set, in LRU order); all but the three pages shot down before are
# second-level hits
[ "$h2" = $((3 * 128 - 3)) ] && pass || fail "tlb2_hits $h2, expected 381: 128 pages cycle through a 64-entry L1 TLB"
# the planted bug: targets acknowledge without flushing -> stale reads, exit 1
scenario vm-stale 1 '  cpus: "0-1 8-9"
  vm_bench: {cpus: 4, pages: 32, rounds: 20, demand: 8, skip_flush: true}'
expect_exit 1 "a shootdown that does not flush" -- "$ORRERY" run vm-stale.yaml --no-db
expect_out "error: sock0.core0: kernel vm_bench: 60 reads found a page's old frame after its TLB shootdown" "stale-read message"
# tracepoints: every fault and shootdown is in the trace
"$ORRERY" run vm4.yaml --no-db --quiet --trace vm4.otr >/dev/null || fail "vm4 trace run"
"$ORRERY" export vm4.otr --format chrome -o vm4-trace.json || fail "vm4 export"
tp() { jq --arg n "$1" '[.traceEvents[] | select(.cat == "tracepoint" and .name == $n)] | length' vm4-trace.json; }
nf=$(tp mm_fault) ns=$(tp tlb_shootdown)
[ "$nf" = 32 ] && [ "$ns" = 20 ] && pass || fail "trace: $nf mm_fault (32), $ns tlb_shootdown (20)"

# --- switch frames: a context switch saves and restores registers in memory ---------
# one CPU, two threads taking turns: the scheduler lock is never contended,
# so the scheduler's own accesses are a few per switch; the 16-word frame
# saved and the 16 restored make it at least 32 per switch
scenario frames 1 '  cpus: "0"
  tasks:
    - {name: a, phases: [{run: 50us}, {sleep: 50us}]}
    - {name: b, phases: [{run: 50us}, {sleep: 50us}]}'
sed -i 's/duration: 100ms/duration: 5ms/' frames.yaml
expect_exit 0 "two threads on one kernel CPU" -- "$ORRERY" run frames.yaml --no-db --json
printf '%s\n' "$OUT" >frames.json
sw=$(metric frames.json sock0.core0 kern.ctx_switches)
sa=$(metric frames.json sock0.core0 sub.sched.accesses)
echo "one CPU, two threads: $sw switches, $sa scheduler accesses"
[ "$sw" -gt 100 ] && [ "$sa" -ge $((32 * sw)) ] && pass ||
  fail "switch frames: $sa scheduler accesses for $sw switches (at least 32 each)"

# --- CPU bandwidth groups, as on a sched_node ------------------------------------------
# two hogs in a 20ms/100ms group share one CPU with a free hog: the group
# gets 0.2 of it whatever its size, the free task the rest
scenario groups 1 '  cpus: "0"
  sched: {tick: 1ms}
  groups: [{name: batch, quota: 20ms, period: 100ms}]
  tasks:
    - {name: hog, count: 2, group: batch, phases: [{run: 1s}]}
    - {name: free, phases: [{run: 1s}]}'
sed -i 's/duration: 100ms/duration: 200ms/' groups.yaml
"$ORRERY" run groups.yaml --no-db --json >groups.json || fail "groups run"
g=$(jq '[.metrics[] | select(.name | test("^task\\.hog\\.[0-9]+\\.share$")) | .value] | add' groups.json)
f=$(metric groups.json sock0.core0 task.free.share)
echo "kernel groups: the 20ms/100ms group got $g of the CPU, the free task $f"
awk -v g="$g" 'BEGIN { d = g - 0.2; if (d < 0) d = -d; exit !(d < 0.002) }' && pass ||
  fail "group share $g, quota allows 0.2"
awk -v f="$f" 'BEGIN { exit !(f > 0.7) }' && pass || fail "free task share $f"
sed -i 's/group: batch/group: nope/' groups.yaml
expect_exit 2 "a task in a group kernel.groups lacks" -- "$ORRERY" run groups.yaml --no-db
expect_out "groups.yaml:[0-9]+:[0-9]+: error: kernel.tasks.0: no group 'nope' in kernel.groups" "unknown group message"

# --- the per-CPU checker ------------------------------------------------------------
# a wild store into another CPU's per-CPU area fails the run, naming both
scenario stray 1 '  cpus: "0-3"
  sync_bench: {lock: mcs, iterations: 200}'
printf 'faults:\n  - {at: 2us, component: sock0.core2, fault: stray_write, cpu: 1}\n' >>stray.yaml
expect_exit 1 "a store into another CPU's per-CPU area" -- "$ORRERY" run stray.yaml --no-db
expect_out "error: sock0.core2: kernel cpu 2 touched cpu 1's per-CPU area at 0x[0-9a-f]+: per-CPU data is private" "per-CPU checker message"
# its own area is allowed: the same fault aimed at itself changes nothing
sed -i 's/cpu: 1}/cpu: 2}/' stray.yaml
expect_exit 0 "a store into its own per-CPU area" -- "$ORRERY" run stray.yaml --no-db --quiet
# a CPU the kernel does not have is an input error, not a store somewhere else
sed -i 's/cpu: 2}/cpu: 9}/' stray.yaml
expect_exit 2 "stray_write to a CPU that does not exist" -- "$ORRERY" run stray.yaml --no-db
expect_out "stray.yaml:[0-9]+:[0-9]+: error: .*stray_write: cpu 9, but the kernel has 4 CPUs" "stray_write cpu message"

# --- a kernel panic fails the run ----------------------------------------------------
# injected on CPU 1 while it schedules threads: exit 1 naming the CPU, the
# time, the text and its last scheduler tracepoints
scenario panic 1 "$THREADS"
printf 'faults:\n  - {at: 5ms, component: sock0.core1, fault: panic, message: "oops in the test"}\n' >>panic.yaml
expect_exit 1 "an injected kernel panic" -- "$ORRERY" run panic.yaml --no-db
expect_out "error: sock0.core1: kernel panic on cpu 1 at 5000000 ns: oops in the test" "panic message"
expect_out "last tracepoints on cpu 1:" "panic tracepoint tail"
expect_out "^    [0-9]+ ns sched_switch a=[0-9]+ b=[0-9]+" "panic tracepoint line"

# --- bad input ------------------------------------------------------------------------
bad() { # bad NAME REGEX FILE-CONTENT
  printf '%s\n' "$3" >"$1.yaml"
  expect_exit 2 "$1" -- "$ORRERY" run "$1.yaml" --db "$1.db"
  expect_out "$2" "$1 message"
  [ ! -e "$1.db" ] && pass || fail "$1: a database was written"
}
bad no-machine "no-machine.yaml:[0-9]+:[0-9]+: error: kernel: .*machine" \
  "name: x
stop: {duration: 1ms}
kernel: {cpus: all}"
scenario no-core 1 '  cpus: "0-3 99"'
expect_exit 2 "cpus naming a missing core" -- "$ORRERY" run no-core.yaml --no-db
expect_out "no-core.yaml:[0-9]+:[0-9]+: error: kernel.cpus: '99' is not .* cores 0..15" "missing core message"
scenario no-suite 1 '  selftest: [kstring, nosuch]'
expect_exit 2 "unknown selftest suite" -- "$ORRERY" run no-suite.yaml --no-db
expect_out "no-suite.yaml:[0-9]+:[0-9]+: error: kernel.selftest: no selftest suite 'nosuch' \(suites: kstring, hal, sched, mm, dev, iommu\)" "unknown suite message"
scenario bad-key 1 '  cpus: all
  sched_tick: 1ms'
expect_exit 2 "unknown kernel key" -- "$ORRERY" run bad-key.yaml --no-db
expect_out "bad-key.yaml:[0-9]+:[0-9]+: error: kernel.sched_tick" "unknown key message"
scenario big-mem 1 '  memory: 64GiB'
expect_exit 2 "kernel memory beyond node 0" -- "$ORRERY" run big-mem.yaml --no-db
expect_out "big-mem.yaml:[0-9]+:[0-9]+: error: kernel.memory: .*do not fit" "memory message"
scenario bad-lock 1 '  sync_bench: {lock: spin}'
expect_exit 2 "unknown lock" -- "$ORRERY" run bad-lock.yaml --no-db
expect_out "bad-lock.yaml:[0-9]+:[0-9]+: error: kernel.sync_bench.lock" "unknown lock message"
scenario too-many 1 '  cpus: sock0
  sync_bench: {lock: mcs, cpus: 9}'
expect_exit 2 "more contending CPUs than kernel CPUs" -- "$ORRERY" run too-many.yaml --no-db
expect_out "too-many.yaml:[0-9]+:[0-9]+: error: kernel.sync_bench.cpus: 9 contending CPUs, but kernel.cpus gives the kernel 8" "contenders message"
scenario task-cpu 1 '  cpus: "0-3"
  tasks: [{name: a, affinity: ["6"], phases: [{run: 1ms}]}]'
expect_exit 2 "a task on a CPU the kernel does not have" -- "$ORRERY" run task-cpu.yaml --no-db
expect_out "task-cpu.yaml:[0-9]+:[0-9]+: error: kernel.tasks.0" "task affinity message"
scenario task-group 1 '  groups: [{name: g, quota: 0ms, period: 10ms}]
  tasks: [{name: a, group: g, phases: [{run: 1ms}]}]'
expect_exit 2 "a group with no quota" -- "$ORRERY" run task-group.yaml --no-db
expect_out "task-group.yaml:[0-9]+:[0-9]+: error: kernel.groups.0" "group quota message"
scenario task-admit 1 '  cpus: "0"
  tasks: [{name: d, policy: deadline, runtime: 9600us, deadline: 10ms, period: 10ms,
           periodic: {period: 10ms, run: 1ms}}]'
expect_exit 2 "deadline bandwidth beyond the bound" -- "$ORRERY" run task-admit.yaml --no-db
expect_out "task-admit.yaml:[0-9]+:[0-9]+: error: kernel.tasks.0: admission control refused deadline task 'd'" "admission message"
scenario task-many 1 '  tasks: [{name: a, count: 5000, phases: [{run: 1ms}]}]'
expect_exit 2 "more kernel threads than the budget" -- "$ORRERY" run task-many.yaml --no-db
expect_out "task-many.yaml:[0-9]+:[0-9]+: error: kernel.tasks: 5000 kernel threads, more than 4096" "thread budget message"
scenario bad-feature 1 '  sched: {features: [NOPE=1]}'
expect_exit 2 "unknown scheduler feature" -- "$ORRERY" run bad-feature.yaml --no-db
expect_out "bad-feature.yaml:[0-9]+:[0-9]+: error: kernel.sched: 'NOPE=1' is not NAME=0 or NAME=1" "feature message"
printf 'name: x\nextends: %s\nstop: {duration: 1ms}\nmachine:\n  workloads:\n    - {cores: [2], pattern: seq, count: 10}\nkernel: {cpus: "0-3"}\n' \
  "$PRESET" >overlap.yaml
expect_exit 2 "a kernel CPU that also runs a workload" -- "$ORRERY" run overlap.yaml --no-db
expect_out "overlap.yaml:[0-9]+:[0-9]+: error: kernel.cpus: core 2 runs machine.workloads.0" "overlap message"
scenario tlb-geom 1 '  tlb: {entries: 48, ways: 4}'
expect_exit 2 "a TLB whose size is not sets x ways" -- "$ORRERY" run tlb-geom.yaml --no-db
expect_out "tlb-geom.yaml:[0-9]+:[0-9]+: error: kernel.tlb.entries: 48 entries in 4 ways: .*power-of-two" "TLB geometry message"
scenario tlb2-geom 1 '  tlb: {l2_entries: 1000, l2_ways: 16}'
expect_exit 2 "a second-level TLB not sets x ways" -- "$ORRERY" run tlb2-geom.yaml --no-db
expect_out "tlb2-geom.yaml:[0-9]+:[0-9]+: error: kernel.tlb.l2_entries: 1000 entries in 16 ways" "L2 TLB message"
scenario vm-cpus 1 '  cpus: "0-1"
  vm_bench: {cpus: 3}'
expect_exit 2 "vm_bench on more CPUs than the kernel has" -- "$ORRERY" run vm-cpus.yaml --no-db
expect_out "vm-cpus.yaml:[0-9]+:[0-9]+: error: kernel.vm_bench.cpus: 3 CPUs, but kernel.cpus gives the kernel 2" "vm_bench cpus message"
scenario percpu-big 1 '  percpu: 1MiB'
expect_exit 2 "per-CPU areas beyond a quarter of kernel memory" -- "$ORRERY" run percpu-big.yaml --no-db
expect_out "percpu-big.yaml:[0-9]+:[0-9]+: error: kernel.percpu: 1048576 bytes for each of 16 CPUs do not fit" "per-CPU size message"
scenario vm-room 1 '  memory: 4MiB
  vm_bench: {cpus: 2, pages: 2000}'
expect_exit 2 "vm_bench beyond kernel memory" -- "$ORRERY" run vm-room.yaml --no-db
expect_out "vm-room.yaml:[0-9]+:[0-9]+: error: kernel.memory: kernel.vm_bench needs [0-9]+ bytes" "vm_bench memory message"

finish
