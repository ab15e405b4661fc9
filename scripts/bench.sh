#!/usr/bin/env bash
# Run every benchmark under tests/bench/ and print one line per figure:
#   BENCH <name> <value> <unit>
# PHOLD: each size runs on the Orrery engine and on SystemC with the same
# LPs, population and event count; each figure is the median of REPEAT runs.
set -euo pipefail
BUILD=${1:-build}
REPEAT=${REPEAT:-3}
B=$BUILD/tests/bench

# size:lps:events (events chosen for ~1-3 s of SystemC time per run on 2 cores)
SIZES=(64:64:14000000 4096:1024:10000000 262144:1024:6000000 1048576:1024:4000000)

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_median() { # binary lps pending events -> "rate bytes"
  local rates=() bytes=""
  for _ in $(seq "$REPEAT"); do
    local line
    line=$("$1" --lps "$2" --pending "$3" --events "$4" 2>/dev/null)
    rates+=("$(echo "$line" | field events_per_s)")
    bytes=$(echo "$line" | field bytes_per_pending)
  done
  echo "$(printf '%s\n' "${rates[@]}" | median) $bytes"
}

for spec in "${SIZES[@]}"; do
  IFS=: read -r P N E <<<"$spec"
  read -r o_rate o_bytes < <(run_median "$B/phold_orrery" "$N" "$P" "$E")
  echo "BENCH phold.orrery.p$P $o_rate events/s"
  echo "BENCH phold.orrery.bytes_per_pending.p$P $o_bytes B"
  if [ -x "$B/phold_systemc" ]; then
    read -r s_rate s_bytes < <(run_median "$B/phold_systemc" "$N" "$P" "$E")
    echo "BENCH phold.systemc.p$P $s_rate events/s"
    echo "BENCH phold.systemc.bytes_per_pending.p$P $s_bytes B"
    echo "BENCH phold.ratio.p$P $(awk -v a="$o_rate" -v b="$s_rate" 'BEGIN{printf "%.2f", a/b}') x"
  fi
done

# Scheduler (issue: reference kernel scheduler): host cost of the hot path,
# and wall time to simulate 1 s of a 64-core machine running a 2,000-task
# hackbench-shaped load (invariant checks off: they are O(tasks) per entry).
"$B/sched_ops"
"$B/bpf_ops"
scripts/gen-hackbench.sh 64 40 25 20us 1s > "$BUILD/hackbench64.yaml"
TIMEFORMAT=%R
wall=$( { time "$BUILD/orrery" run "$BUILD/hackbench64.yaml" --no-db --quiet \
          --set components.node0.check_every=0 >/dev/null; } 2>&1 )
echo "BENCH sched.hackbench_64cpu_2000task.wall_per_sim_s $wall s"

# Memory system: accesses per host second through the modelled hierarchy
# with invariant checking off, for an L1-resident stream (hits resolve
# inline) and a miss-heavy stream with cross-socket sharing (median of
# REPEAT runs each).
mem_rate() { # scenario -> accesses per wall second
  local rates=()
  for _ in $(seq "$REPEAT"); do
    "$BUILD/orrery" run "$1" --no-db --quiet --json > "$BUILD/mem-bench.json"
    rates+=("$(jq -r '([.metrics[] | select(.name == "ops") | .value] | add) / .wall_time_s' \
               "$BUILD/mem-bench.json")")
  done
  printf '%s\n' "${rates[@]}" | median
}
echo "BENCH mem.l1_stream $(mem_rate tests/bench/mem-l1.yaml) accesses/s"
echo "BENCH mem.sharing_stream $(mem_rate tests/bench/mem-sharing.yaml) accesses/s"
# STREAM triad on a socket with the preset's prefetchers: simulated memory
# ops (the cores' ops: loads, stores, the fence) per host second
echo "BENCH mem.stream_triad $(mem_rate scenarios/mem-stream.yaml) accesses/s"

# Kernel CPUs (docs/kernel-platform.md): host ns per fiber switch, and the
# kernel's HAL shared accesses per wall second when they hit in L1 (one CPU,
# uncontended lock) and when 16 CPUs contend for one MCS lock (median of
# REPEAT runs each).
"$B/fiber_switch"
kernel_rate() { # scenario -> HAL accesses per wall second
  local rates=()
  for _ in $(seq "$REPEAT"); do
    "$BUILD/orrery" run "$1" --no-db --quiet --json > "$BUILD/kernel-bench.json"
    rates+=("$(jq -r '([.metrics[] | select(.name == "kern.accesses") | .value] | add) / .wall_time_s' \
               "$BUILD/kernel-bench.json")")
  done
  printf '%s\n' "${rates[@]}" | median
}
echo "BENCH kernel.hal_access_l1 $(kernel_rate tests/bench/kernel-l1.yaml) accesses/s"
echo "BENCH kernel.hal_access_contended $(kernel_rate tests/bench/kernel-contended.yaml) accesses/s"
# kernel-boot.yaml on 32 CPUs: wall seconds for its 100 ms of simulated time
# (boot, selftests, then the mixed load as kernel threads; median of REPEAT)
boot_wall() {
  local walls=()
  for _ in $(seq "$REPEAT"); do
    walls+=("$("$BUILD/orrery" run tests/bench/kernel-boot-32.yaml --no-db --quiet --json |
               jq -r .wall_time_s)")
  done
  printf '%s\n' "${walls[@]}" | median
}
echo "BENCH kernel.boot_32cpu_100ms $(boot_wall) s"
# kernel/mm: simulated page allocations per wall second under churn on 16
# kernel CPUs (tests/bench/mm-churn-16.yaml; docs/mm.md; median of REPEAT)
mm_rate() {
  for _ in $(seq "$REPEAT"); do
    "$BUILD/orrery" run tests/bench/mm-churn-16.yaml --no-db --quiet --json |
      jq -r '([.metrics[] | select(.name == "report.mm.allocs") | .value] | add) / .wall_time_s'
  done | median
}
echo "BENCH mm.churn_16cpu_allocs $(mm_rate) allocs/s"

# Storage (docs/storage.md): NVMe I/Os simulated per wall second for
# scenarios/nvme-basic.yaml (4 KiB random reads, QD32, through the kernel's
# driver, PCIe, the IOMMU and the device; median of REPEAT).
nvme_rate() {
  for _ in $(seq "$REPEAT"); do
    "$BUILD/orrery" run scenarios/nvme-basic.yaml --no-db --quiet --json |
      jq -r '([.metrics[] | select(.name == "report.blk.total_ios") | .value] | add) / .wall_time_s'
  done | median
}
echo "BENCH nvme.basic_ios_per_wall_s $(nvme_rate) io/s"
# GPUs (docs/gpu.md): thread-block waves simulated per wall second (saxpy
# over 256 Mi floats, 50 launches, timed only: tests/bench/gpu-waves.yaml),
# and gpu-gemm.yaml's wall seconds per simulated second (median of REPEAT)
gpu_waves() {
  for _ in $(seq "$REPEAT"); do
    "$BUILD/orrery" run tests/bench/gpu-waves.yaml --no-db --quiet --json |
      jq -r '([.metrics[] | select(.name == "waves") | .value] | add) / .wall_time_s'
  done | median
}
echo "BENCH gpu.waves_per_wall_s $(gpu_waves) waves/s"
gpu_gemm() {
  for _ in $(seq "$REPEAT"); do
    "$BUILD/orrery" run scenarios/gpu-gemm.yaml --no-db --quiet --json |
      jq -r '.wall_time_s / (.sim_time_ps / 1e12)'
  done | median
}
echo "BENCH gpu.gemm_wall_per_sim_s $(gpu_gemm) s"
# the 8-GPU ring allreduce (1, 16 and 64 MiB, the smaller two checked)
gpu_allreduce() {
  for _ in $(seq "$REPEAT"); do
    "$BUILD/orrery" run scenarios/gpu-allreduce.yaml --no-db --quiet --json | jq -r .wall_time_s
  done | median
}
echo "BENCH gpu.allreduce_8gpu_wall $(gpu_allreduce) s"

# Sweeps: what `orrery sweep` costs per point beyond the run itself: a
# 20-point sweep (-j 1) of a small scenario against the same 20 runs started
# one by one, both writing to one results DB (median of REPEAT).
sweep_overhead() {
  local db=$BUILD/sweep-bench.db s=scenarios/quickstart.yaml ts tr; rm -f "$db"
  TIMEFORMAT=%R
  ts=$( { time "$BUILD/orrery" sweep $s -j 1 -q --db "$db" --axis components.sw0.latency=100ns..2000ns:100ns; } 2>&1 )
  tr=$( { time for v in $(seq 100 100 2000); do "$BUILD/orrery" run $s --set components.sw0.latency=${v}ns \
          --seed 1 --db "$db" --quiet --json >/dev/null; done; } 2>&1 )
  awk -v a="$ts" -v b="$tr" 'BEGIN{printf "%.1f\n", (a - b) * 1000 / 20}'
}
echo "BENCH sweep.overhead_per_point $(for _ in $(seq "$REPEAT"); do sweep_overhead; done | median) ms"

# Export: trace records converted per second, for each format, from the
# trace of a memory-system scenario (median of REPEAT).
"$BUILD/orrery" run scenarios/mem-bandwidth.yaml --no-db --quiet --trace "$BUILD/export-bench.trace"
nrec=$("$BUILD/orrery" run scenarios/mem-bandwidth.yaml --no-db --json | jq .events)
for fmt in chrome ftrace vcd; do
  TIMEFORMAT=%R
  rate=$(for _ in $(seq "$REPEAT"); do
    t=$( { time "$BUILD/orrery" export "$BUILD/export-bench.trace" --format $fmt \
             -o "$BUILD/export-bench.out" >/dev/null; } 2>&1 )
    awk -v n="$nrec" -v t="$t" 'BEGIN{printf "%.0f\n", n / t}'
  done | median)
  echo "BENCH export.$fmt $rate events/s"
done

# ISA mode (docs/isa.md): guest MIPS on one host core for an L1-resident
# loop, functional and timed, 1 and 4 guest cores, and bare Unicorn on the
# same binary (targets: timed >= 20 MIPS; functional >= 50 % of bare).
"$B/isa_mips"

# SystemC bridge (docs/systemc.md): the SystemC engine's run time against
# the native engine's on quickstart (the digest is the same), and host ns
# per line transaction through a tlm_target loading the example TLM memory
# (DMI on, as the memory grants; off; flatmem for reference). Median of REPEAT.
if [ -x "$B/tlm_txn" ] && [ -f "$BUILD/examples/systemc/libtlm_memory.so" ]; then
  run_wall() { # engine -> run wall seconds of quickstart
    for _ in $(seq "$REPEAT"); do
      "$BUILD/orrery" run scenarios/quickstart.yaml --no-db --json --engine "$1" | jq .wall_time_s
    done | median
  }
  wn=$(run_wall native) ws=$(run_wall systemc)
  echo "BENCH systemc.quickstart_wall_ratio $(awk -v a="$ws" -v b="$wn" 'BEGIN{printf "%.2f", a/b}') x"
  txn_ns() { # memory -> ns per transaction
    for _ in $(seq "$REPEAT"); do
      ORRERY_TLM_PATH=$BUILD/examples/systemc "$B/tlm_txn" --memory "$1" --count 1000000 | field ns_per_txn
    done | median
  }
  echo "BENCH systemc.tlm_target_ns_per_txn $(txn_ns tlm) ns"
  echo "BENCH systemc.tlm_target_nodmi_ns_per_txn $(txn_ns tlm-nodmi) ns"
  echo "BENCH systemc.flatmem_ns_per_txn $(txn_ns flat) ns"
fi

# Cluster fabric (docs/fabric.md): packets delivered per host second on the
# k=4 fat-tree permutation (scenarios/fabric-fattree.yaml with 5,000 packets
# per host), and the time to build (validate) a 1,024-node k=16 fat-tree.
fabric_rate() {
  for _ in $(seq "$REPEAT"); do
    "$BUILD/orrery" run scenarios/fabric-fattree.yaml --no-db --quiet --json \
      --set cluster.node.count=5000 --set stop.duration=20ms |
      jq -r '([.metrics[] | select(.name == "rx_packets" and (.component | endswith(".host"))) | .value] | add) / .wall_time_s'
  done | median
}
echo "BENCH fabric.packets_per_wall_s $(fabric_rate) packets/s"
printf 'name: ft1024\nstop: {duration: 1us}\ncluster: {nodes: 1024, fabric: {topology: fat-tree, k: 16}}\n' \
  > "$BUILD/fabric-ft1024.yaml"
fabric_build() {
  TIMEFORMAT=%R
  for _ in $(seq "$REPEAT"); do
    { time "$BUILD/orrery" validate "$BUILD/fabric-ft1024.yaml" >/dev/null; } 2>&1
  done | median
}
echo "BENCH fabric.fattree1024.build_s $(fabric_build) s"

# RDMA collectives (docs/collectives.md): a 1 MiB ring allreduce across
# 1,024 nodes on a k=16 fat-tree (tests/bench/allreduce-1024.yaml: rnics
# without payload bytes, no verification), run once to completion. Wall
# and peak RSS of the whole `orrery run` from GNU time (Debian `time`,
# scripts/deps.sh); simulated packets = the rnics' tx_packets (data and
# ACKs) over that wall time. Targets: <= 60 s, <= 4 GiB.
ar_json=$BUILD/allreduce-1024.json ar_time=$BUILD/allreduce-1024.time
/usr/bin/time -f '%e %M %U %S' -o "$ar_time" \
  "$BUILD/orrery" run tests/bench/allreduce-1024.yaml --no-db --quiet --json > "$ar_json" || true
read -r ar_wall ar_kib ar_user ar_sys < <(tail -1 "$ar_time")
if [ "$(jq -r .stop_reason "$ar_json")" != "workloads finished" ]; then
  echo "bench: allreduce-1024 did not finish: $(jq -r .stop_reason "$ar_json")" >&2
fi
echo "BENCH rdma.allreduce_1024_1MiB.wall $ar_wall s"
echo "BENCH rdma.allreduce_1024_1MiB.cpu $(awk -v u="$ar_user" -v s="$ar_sys" 'BEGIN{printf "%.2f", u + s}') s"
echo "BENCH rdma.allreduce_1024_1MiB.peak_rss $(awk -v k="$ar_kib" 'BEGIN{printf "%.0f", k / 1024}') MiB"
ar_pkts=$(jq '[.metrics[] | select(.name == "tx_packets" and (.component | endswith(".rnic"))) | .value] | add' "$ar_json")
echo "BENCH rdma.packets_per_wall_s $(awk -v p="$ar_pkts" -v w="$ar_wall" 'BEGIN{printf "%.0f", p / w}') pkt/s"

# Explore (docs/explore.md): seeds per hour at -j 2 (each seed its own
# process: draw, build, run, judge, store) for rdma-faults.yaml and
# quickstart.yaml (their explore: sections), and
# the wall time of shrinking the first failing seed of the mutation case
# (the rnic's planted lost_retransmit bug) to a local minimum. Median of
# REPEAT each.
explore_rate() { # scenario seeds -> seeds per hour
  local db=$BUILD/explore-bench.db t; rm -f "$db"
  TIMEFORMAT=%R
  t=$( { time "$BUILD/orrery" explore "$1" --seeds "$2" -j 2 -q --db "$db" >/dev/null || true; } 2>&1 )
  awk -v n="$2" -v t="$t" 'BEGIN{printf "%.0f\n", n * 3600 / t}'
}
for s in rdma-faults:20 quickstart:40; do
  rate=$(for _ in $(seq "$REPEAT"); do explore_rate "scenarios/${s%:*}.yaml" "${s#*:}"; done | median)
  echo "BENCH explore.${s%:*}.seeds_per_hour_j2 $rate seeds/h"
done
# the same 40 quickstart seeds started from a checkpoint at 5 ms of its
# 10 ms (explore --from: the warm-up simulated once), measured in this run
# beside the figure above so the two compare
"$BUILD/orrery" run scenarios/quickstart.yaml --no-db -q --checkpoint-at 5ms \
  --checkpoint "$BUILD/explore-from.ckpt" --stop-after-checkpoint
explore_from_rate() {
  local db=$BUILD/explore-bench.db t; rm -f "$db"
  TIMEFORMAT=%R
  t=$( { time "$BUILD/orrery" explore --from "$BUILD/explore-from.ckpt" --seeds 40 -j 2 -q \
           --db "$db" >/dev/null || true; } 2>&1 )
  awk -v t="$t" 'BEGIN{printf "%.0f\n", 40 * 3600 / t}'
}
echo "BENCH explore.quickstart_from_5ms.seeds_per_hour_j2 $(for _ in $(seq "$REPEAT"); do explore_from_rate; done | median) seeds/h"
xbug=(--set cluster.node.components.rnic.inject_bug=lost_retransmit)
xdb=$BUILD/explore-shrink.db; rm -f "$xdb"
"$BUILD/orrery" explore tests/cli/explore/rdma-loss.yaml --seeds 40 -j 2 -q --db "$xdb" "${xbug[@]}" \
  >/dev/null || true
xseed=$(sqlite3 "$xdb" "select min(seed) from explore_seeds where status = 'fail'")
shrink_wall() {
  TIMEFORMAT=%R
  { time "$BUILD/orrery" explore tests/cli/explore/rdma-loss.yaml --shrink "$xseed" --db "$xdb" \
      "${xbug[@]}" >/dev/null || true; } 2>&1
}
echo "BENCH explore.shrink_lost_retransmit.wall $(for _ in $(seq "$REPEAT"); do shrink_wall; done | median) s"

# Checkpoint/restore (docs/checkpoint.md): the file size and the wall time
# to save and to restore (read + check the file; put the state into the
# built model) for mem-bandwidth.yaml and isa-matmul.yaml at their mid
# points. Median of REPEAT.
ck=$BUILD/ckpt-bench.ckpt
ckpt_point() { # scenario time
  "$BUILD/orrery" run "$1" --no-db --quiet --json --checkpoint-at "$2" --checkpoint "$ck" |
    jq -r .checkpoint_save_s
}
restore_point() {
  "$BUILD/orrery" run --restore "$ck" --no-db --quiet --json | jq -r '.restore_read_s + .restore_s'
}
for s in mem-bandwidth:17us isa-matmul:27us; do
  n=${s%:*}
  echo "BENCH checkpoint.${n//-/_}.save $(for _ in $(seq "$REPEAT"); do ckpt_point "scenarios/$n.yaml" "${s#*:}"; done | median) s"
  echo "BENCH checkpoint.${n//-/_}.size $(stat -c %s "$ck") B"
  echo "BENCH checkpoint.${n//-/_}.restore $(for _ in $(seq "$REPEAT"); do restore_point; done | median) s"
done
rm -f "$ck"

# Drivers (docs/drivers.md): driver-dmae.yaml's copies simulated per wall
# second (three crashes and recoveries included), and explore's seeds per
# hour on it with -j 2 (random driver bugs; median of REPEAT).
drv_rate() {
  "$BUILD/orrery" run scenarios/driver-dmae.yaml --no-db --quiet --json |
    jq -r '([.metrics[] | select(.name == "report.drv.completed") | .value][0]) / .wall_time_s'
}
echo "BENCH drivers.dmae_requests_per_wall_s $(for _ in $(seq "$REPEAT"); do drv_rate; done | median) requests/s"
drv_explore() {
  local db=$BUILD/drv-explore-bench.db t0 t1; rm -f "$db"
  t0=$(date +%s.%N)
  "$BUILD/orrery" explore scenarios/driver-dmae.yaml --seeds 40 -j 2 --db "$db" --quiet >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", 40 * 3600 / (b - a)}'
  rm -f "$db"
}
echo "BENCH drivers.explore_seeds_per_hour $(for _ in $(seq "$REPEAT"); do drv_explore; done | median) seeds/h"
