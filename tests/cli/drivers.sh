#!/usr/bin/env bash
# The driver registry and crash recovery (docs/drivers.md): the dmae driver
# at tier 1 survives a wild write, an assertion and a hang with every copy
# completed exactly once and its data right; the figures (requests,
# interrupts vs polls, channel messages, recovery time over seeds) are
# printed and held; two crashes in the window demote it to tier 2; too many
# disable it and its requests fail cleanly; a reset that times out disables
# it; a crash while it is being recovered is retried; a tier-0 crash
# panics; an IOMMU fault from its device is a crash; explore finds nothing
# on the clean code; bad kernel.drivers input is exit 2 at file:line:col.
. "$(dirname "$0")/lib.sh"
SCN=$SRC/scenarios/driver-dmae.yaml
m() { # m JSON NAME: a report.drv.* figure of CPU 0
  jq -r --arg n "report.drv.$2" '[.metrics[] | select(.component == "sock0.core0" and .name == $n) | .value][0]' "$1"
}
metric() { # metric JSON COMPONENT NAME
  jq -r --arg c "$2" --arg n "$3" '[.metrics[] | select(.component == $c and .name == $n) | .value][0]' "$1"
}
# expect NAME JSON FIELD OP VALUE
expect() {
  local v; v=$(m "$2" "$3")
  if [ "$v" != null ] && awk -v a="$v" -v b="$5" "BEGIN { exit !(a $4 b) }"; then pass; else
    fail "$1: drv.$3 = $v, expected $4 $5"
  fi
}

# --- the shipped scenario: three crashes, no request lost or doubled ---------------
"$ORRERY" run "$SCN" --no-db --json >base.json && pass || fail "driver-dmae.yaml failed"
expect base base.json completed == 400
expect base base.json failed == 0
expect base base.json bad_data == 0
expect base base.json crashes == 3
expect base base.json recoveries == 3
expect base base.json duplicates == 0
expect base base.json check == 0
expect base base.json demotions == 1   # wild write then assertion within 10 ms
expect base base.json tier == 2
rr=$(( $(m base.json reclaimed) + $(m base.json replayed) ))
[ "$rr" -gt 0 ] && pass || fail "no request was reclaimed or replayed across three crashes"
irqs=$(m base.json irqs); polls=$(m base.json polls); msgs=$(m base.json messages)
el=$(m base.json elapsed_ns)
echo "driver-dmae: 400 copies of 4 KiB, $(m base.json crashes) crashes, $(m base.json reclaimed) reclaimed, $(m base.json replayed) replayed; $irqs interrupts, $polls polls, $msgs channel messages; ${el} ns"
# every completion was taken by a poll after an interrupt (NAPI-like: at most one poll per interrupt here)
[ "${polls%.*}" -ge 1 ] && [ "${polls%.*}" -le "${irqs%.*}" ] && pass || fail "polls $polls vs interrupts $irqs"
# at tiers 1/2 every request and every completion crosses a channel: at least 2 per request
[ "${msgs%.*}" -ge 800 ] && pass || fail "channel messages $msgs for 400 requests"
[ "$(metric base.json pcie iommu.faults)" = 0 ] && pass || fail "IOMMU faults without an IOMMU fault point"

# --- recovery time, crash detection to the new instance's first completion ---------
vals=""
for s in 1 2 3 4 5; do
  "$ORRERY" run "$SCN" --no-db --json --seed "$s" >s$s.json || fail "seed $s"
  [ "$(m s$s.json completed)" = 400 ] && [ "$(m s$s.json duplicates)" = 0 ] && pass || fail "seed $s: not every copy completed once"
  vals="$vals $(m s$s.json recovery_ns_mean)/$(m s$s.json recovery_ns_max)"
done
echo "recovery time (mean/max ns per run, seeds 1-5):$vals"
for v in $vals; do
  mean=${v%/*}; max=${v#*/}
  # bounded below by the engine's quiet wait (20 us) and above by the watchdog (200 us)
  [ "${mean%.*}" -ge 20000 ] && [ "${max%.*}" -lt 200000 ] && pass || fail "recovery time $v ns"
done

# --- tier 2 costs more than tier 1: a crossing per message ---------------------------
"$ORRERY" run "$SCN" --no-db --json --set 'faults=[]' >t1.json || fail "tier 1, no faults"
"$ORRERY" run "$SCN" --no-db --json --set 'faults=[]' --set kernel.drivers.0.tier=2 >t2.json || fail "tier 2, no faults"
"$ORRERY" run "$SCN" --no-db --json --set 'faults=[]' --set kernel.drivers.0.tier=0 \
  --set kernel.drivers.0.cpu=0 >t0.json || fail "tier 0, no faults"
e0=$(m t0.json elapsed_ns); e1=$(m t1.json elapsed_ns); e2=$(m t2.json elapsed_ns)
echo "400 copies, no faults: tier 0 ${e0} ns, tier 1 ${e1} ns, tier 2 ${e2} ns"
[ "${e2%.*}" -gt "${e1%.*}" ] && pass || fail "tier 2 ($e2 ns) not slower than tier 1 ($e1 ns)"
[ "$(m t0.json messages)" = 0 ] && pass || fail "tier 0 sent channel messages"
for f in t0 t1 t2; do expect "$f" $f.json completed == 400; expect "$f" $f.json crashes == 0; done

# --- policy: too many crashes disable the driver; its requests fail cleanly ----------
"$ORRERY" run "$SCN" --no-db --json --set kernel.driver_load.max_crashes=1 >dis.json && pass ||
  fail "a disabled driver failed the run"
expect disabled dis.json disabled == 1
expect disabled dis.json failed '>' 0
expect disabled dis.json check == 0
[ $(( $(m dis.json completed) + $(m dis.json failed) )) = 400 ] && pass || fail "disabled: completed + failed != 400"
# a reset that takes longer than allowed: the device is failed at the first crash
"$ORRERY" run "$SCN" --no-db --json --set kernel.driver_load.reset_timeout=1us >rt.json && pass ||
  fail "reset timeout failed the run"
expect reset-timeout rt.json disabled == 1
expect reset-timeout rt.json crashes == 1
# no demotion when the crashes are further apart than the window
"$ORRERY" run "$SCN" --no-db --json --set kernel.driver_load.window=100us >win.json || fail "short window"
expect window win.json demotions == 0
expect window win.json tier == 1

# --- compound: the reloaded driver crashes again while it is being recovered ---------
"$ORRERY" run "$SCN" --no-db --json --set faults.1.component=sock0.core0 >cdr.json && pass ||
  fail "crash during recovery failed the run"
c=$(m cdr.json crashes); r=$(m cdr.json recoveries)
[ "${c%.*}" -gt "${r%.*}" ] && pass || fail "crash during recovery: $c crashes, $r recoveries"
expect crash-in-recovery cdr.json completed == 400
expect crash-in-recovery cdr.json duplicates == 0

# --- an IOMMU fault from the device it drives is a crash, contained ------------------
"$ORRERY" run "$SCN" --no-db --json --set faults.0.fault=driver_iommu >iom.json && pass || fail "iommu fault"
[ "$(metric iom.json pcie iommu.faults)" != 0 ] && pass || fail "driver_iommu: the IOMMU refused nothing"
expect iommu iom.json crashes == 3
expect iommu iom.json completed == 400
expect iommu iom.json bad_data == 0
"$ORRERY" run "$SCN" --no-db --json --set faults.0.fault=driver_null_deref >nul.json && pass || fail "null deref"
expect null nul.json crashes == 3
expect null nul.json completed == 400

# --- tier 0: a driver crash is a kernel crash -----------------------------------------
expect_exit 1 "tier-0 assertion" -- "$ORRERY" run "$SCN" --no-db --set kernel.drivers.0.tier=0 \
  --set kernel.drivers.0.cpu=0 --set faults.0.component=sock0.core0 --set faults.0.fault=driver_assert
expect_out "kernel panic on cpu 0 .*tier-0 driver crashed: assertion failed" "tier-0 panic"
expect_exit 1 "tier-0 wild write" -- "$ORRERY" run "$SCN" --no-db --set kernel.drivers.0.tier=0 \
  --set kernel.drivers.0.cpu=0 --set faults.0.component=sock0.core0
expect_out "tier-0 driver crashed: wild write" "tier-0 wild write panics"

# --- explore: random driver bugs on the clean code find nothing ----------------------
"$ORRERY" explore "$SCN" --seeds 24 -j 2 --db ex.db >ex.txt 2>&1 && pass || { fail "explore"; tail -20 ex.txt >&2; }
grep -q "24 of 24 seeds run, 0 failed" ex.txt && pass || { fail "explore: failures"; tail -20 ex.txt >&2; }

# --- explore finds each planted recovery bug and shrinks it to a short schedule ------
BUGS=$SRC/tests/cli/explore/driver-bugs.yaml
q() { sqlite3 "$1" "$2"; }
"$ORRERY" explore "$BUGS" --seeds 8 -j 2 --db bclean.db >bclean.txt 2>&1 && pass || { fail "explore driver-bugs clean"; tail -5 bclean.txt >&2; }
for bug in skip_replay replay_done; do
  expect_exit 1 "explore finds $bug" -- "$ORRERY" explore "$BUGS" --seeds 8 -j 2 --db b$bug.db \
    --set kernel.driver_load.inject_bug=$bug
  nf=$(q b$bug.db "select count(*) from explore_seeds where property = 'failure'")
  echo "explore, inject_bug=$bug: $nf of 8 seeds fail"
  [ "${nf:-0}" -ge 1 ] && pass || fail "$bug: no failing seed in 8"
done
S=$(q breplay_done.db "select min(seed) from explore_seeds where property = 'failure'")
expect_exit 1 "shrink replay_done" -- "$ORRERY" explore "$BUGS" --shrink "$S" --db breplay_done.db \
  --set kernel.driver_load.inject_bug=replay_done
expect_out "shrunk seed $S: [0-9]+ fault firings -> [0-9]+ in [0-9]+ runs" "shrink: a summary"
sed -n '/^faults:/,$p' <<< "$OUT" > faults.txt
nline=$(grep -c '^  - {at: ' faults.txt)
[ "$nline" -ge 1 ] && [ "$nline" -le 3 ] && pass || fail "shrink: $nline fault entries, want 1..3"
cat "$BUGS" faults.txt > repro.yaml
sed -i "s|^extends: .*|extends: $SRC/scenarios/presets/icelake-2s.yaml|" repro.yaml
expect_exit 1 "the shrunk schedule fails a plain run with the bug" -- "$ORRERY" run repro.yaml \
  --seed "$S" --no-db --set kernel.driver_load.inject_bug=replay_done
expect_out "kernel drivers: dmae on device 0 failed its check" "the pasted run fails the same way"
expect_exit 0 "the shrunk schedule passes without the bug" -- "$ORRERY" run repro.yaml --seed "$S" --no-db

# --- determinism --------------------------------------------------------------------
d2=$("$ORRERY" run "$SCN" --no-db --json | jq -r .digest)
[ "$(jq -r .digest base.json)" = "$d2" ] && pass || fail "same seed, different digest"

# --- the nic driver: packets both ways, NAPI-like interrupts, a crash ---------------
NIC=$SRC/scenarios/nic-driver.yaml
"$ORRERY" run "$NIC" --no-db --json --set 'faults=[]' >nic0.json && pass || fail "nic-driver.yaml without faults"
expect nic nic0.json sent == 600
expect nic nic0.json received == 600
expect nic nic0.json rx_out_of_order == 0
expect nic nic0.json check == 0
[ "$(metric nic0.json nic tx_packets)" = 600 ] && [ "$(metric nic0.json node1.nic rx_packets)" = 600 ] && pass ||
  fail "nic: $(metric nic0.json nic tx_packets) sent on the wire, $(metric nic0.json node1.nic rx_packets) arrived at node 1"
ni=$(m nic0.json irqs); np=$(m nic0.json polls); nw=$(metric nic0.json nic interrupts)
echo "nic-driver, no faults: 600 packets each way in $(m nic0.json elapsed_ns) ns; $nw MSI-X raised, $ni taken, $np polls (1,200 completions)"
# coalescing (8 frames) and NAPI masking: far fewer interrupts than completions
[ "${ni%.*}" -lt 600 ] && [ "${np%.*}" -ge 1 ] && pass || fail "nic: $ni interrupts for 1,200 completions"
"$ORRERY" run "$NIC" --no-db --json >nic1.json && pass || fail "nic-driver.yaml"
expect nic-crash nic1.json crashes == 1
expect nic-crash nic1.json recoveries == 1
expect nic-crash nic1.json sent == 600
expect nic-crash nic1.json duplicates == 0
expect nic-crash nic1.json rx_out_of_order == 0
expect nic-crash nic1.json received '>' 500
echo "nic-driver, one crash: $(m nic1.json received) of 600 packets received (the rest arrived while the NIC was reset), $(m nic1.json replayed) requests replayed, recovery $(m nic1.json recovery_ns_max) ns; $(metric nic1.json nic tx_packets) packets on the wire for 600 sends"
for s in 2 3; do
  "$ORRERY" run "$NIC" --no-db --json --seed $s >nics$s.json || fail "nic seed $s"
  expect "nic seed $s" nics$s.json sent == 600
  expect "nic seed $s" nics$s.json rx_out_of_order == 0
done

"$ORRERY" explore "$NIC" --seeds 12 -j 2 --db exn.db >exn.txt 2>&1 && pass || { fail "explore nic"; tail -20 exn.txt >&2; }
grep -q "12 of 12 seeds run, 0 failed" exn.txt && pass || { fail "explore nic: failures"; tail -20 exn.txt >&2; }

# --- bad input: exit 2 at file:line:col with the key --------------------------------
variant() { # variant NAME "MACHINE PCIE" "DRIVERS LINE" [COMPONENT TYPE]
  printf 'name: %s\nextends: %s/scenarios/presets/icelake-2s.yaml\nseed: 1\nstop: {duration: 1ms}\nmachine:\n  pcie: %s\nkernel:\n  cpus: "0-3"\n  drivers: [%s]\ncomponents:\n  dev: {type: %s, gen: 3, width: 8}\nlinks:\n  - {from: pcie.dev0, to: dev.pcie, latency: 300ns}\n' \
    "$1" "$SRC" "$2" "$3" "${4:-dma_engine}" >"$1.yaml"
}
variant unknown '{ports: 1, iommu: true}' '{device: 0, driver: dmax, tier: 1}'
expect_exit 2 "unknown driver" -- "$ORRERY" run unknown.yaml --no-db
expect_out "unknown\.yaml:9:[0-9]+: .*kernel\.drivers\.0\.driver.*unknown driver 'dmax': expected one of dmae" "unknown driver message"
variant tier3 '{ports: 1, iommu: true}' '{device: 0, driver: dmae, tier: 3}'
expect_exit 2 "tier 3" -- "$ORRERY" run tier3.yaml --no-db
expect_out "tier3\.yaml:9:[0-9]+: .*kernel\.drivers\.0\.tier.*tier 3 does not exist" "tier 3 message"
variant nodev '{ports: 1, iommu: true}' '{device: 2, driver: dmae, tier: 1}'
expect_exit 2 "device out of range" -- "$ORRERY" run nodev.yaml --no-db
expect_out "nodev\.yaml:9:[0-9]+: .*kernel\.drivers\.0\.device.*device 2, but machine\.pcie has 1 ports" "device range message"
variant empty '{ports: 2, iommu: true}' '{device: 1, driver: dmae, tier: 1}'
expect_exit 2 "nothing on the port" -- "$ORRERY" run empty.yaml --no-db
expect_out "empty\.yaml:9:[0-9]+: .*kernel\.drivers\.0\.device.*no device is linked to pcie\.dev1" "empty port message"
variant wrongtype '{ports: 1, iommu: true}' '{device: 0, driver: dmae, tier: 1}' nic
expect_exit 2 "a device of another type" -- "$ORRERY" run wrongtype.yaml --no-db
expect_out "wrongtype\.yaml:9:[0-9]+: .*driver 'dmae' drives a dma_engine, but pcie\.dev0 is dev \(a nic\)" "wrong type message"
variant noiommu '{ports: 1}' '{device: 0, driver: dmae, tier: 1}'
expect_exit 2 "tier 1 without an IOMMU" -- "$ORRERY" run noiommu.yaml --no-db
expect_out "noiommu\.yaml:9:[0-9]+: .*kernel\.drivers\.0\.tier.*machine\.pcie\.iommu: true" "IOMMU message"
variant cpu0 '{ports: 1, iommu: true}' '{device: 0, driver: dmae, tier: 2, cpu: 0}'
expect_exit 2 "tier 2 on the core's CPU" -- "$ORRERY" run cpu0.yaml --no-db
expect_out "cpu0\.yaml:9:[0-9]+: .*kernel\.drivers\.0\.cpu" "cpu message"
printf 'name: nopcie\nextends: %s/scenarios/presets/icelake-2s.yaml\nseed: 1\nstop: {duration: 1ms}\nkernel:\n  cpus: "0-3"\n  drivers: [{device: 0, driver: dmae, tier: 0}]\n' "$SRC" >nopcie.yaml
expect_exit 2 "a driver without a root complex" -- "$ORRERY" run nopcie.yaml --no-db
expect_out "nopcie\.yaml:[0-9]+:[0-9]+: .*add machine\.pcie" "no pcie message"
finish
