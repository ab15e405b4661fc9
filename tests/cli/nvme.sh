#!/usr/bin/env bash
# The NVMe-like SSD, its kernel driver and the block layer
# (docs/storage.md), on presets/nvme-pm9a3.yaml:
#   - nvme-basic.yaml runs to the end of its workload;
#   - 4 KiB random-read IOPS at QD1 (one job), at QD32 (one job, printed)
#     and at QD32 on four jobs, and 128 KiB sequential-read bandwidth,
#     held within +-15% of the preset's data-sheet figures (REFERENCES.md
#     "Storage and drivers": QD1 latency 70-90 us -> 12.5 K IOPS at 80 us;
#     PM9A3 1,000 K IOPS; 6.9 GB/s);
#   - the figures emerge from the model: the same run on a PCIe 3.0 x4
#     link is bounded by that link instead (under 4 GB/s);
#   - verify mode (per-block generations, reads and writes mixed, a FLUSH
#     every 16 writes, two jobs) finds every block as written;
#   - nvme-powerloss.yaml: the power fails under writes and FLUSHes, the
#     driver resets and re-initialises the controller and retries, and the
#     verify checker and read-back find no flushed write lost;
#   - bad input is exit 2 with file:line:col: a queue depth of 0, one
#     above the device's queue entries, a namespace larger than the device,
#     a device port with no nvme.
. "$(dirname "$0")/lib.sh"

metric() { # JSON COMPONENT NAME
  jq -r --arg c "$2" --arg n "$3" '[.metrics[] | select(.component == $c and .name == $n) | .value] | first' <<< "$1"
}
run() { "$ORRERY" run "$SRC/scenarios/nvme-basic.yaml" --no-db --json "$@"; }
within() { # VALUE TARGET PCT
  awk -v v="$1" -v t="$2" -v p="$3" 'BEGIN{exit !(v >= t * (1 - p / 100) && v <= t * (1 + p / 100))}'
}

expect_exit 0 "nvme-basic runs" -- "$ORRERY" run "$SRC/scenarios/nvme-basic.yaml" --no-db --json
expect_out '"stop_reason": *"workloads finished"' "nvme-basic finishes"

B=kernel.block_bench
OUT=$(run --set $B.qd=1 --set $B.ios=300)
qd1=$(metric "$OUT" sock0.core0 report.blk.iops); lat1=$(metric "$OUT" sock0.core0 report.blk.lat_ns)
OUT=$(run --set $B.qd=32 --set $B.ios=2000)
qd32=$(metric "$OUT" sock0.core0 report.blk.iops)
OUT=$(run --set $B.qd=32 --set $B.jobs=4 --set $B.ios=2000)
qd32x4=$(metric "$OUT" sock0.core0 report.blk.iops)
irqs=$(metric "$OUT" ssd irqs); reads=$(metric "$OUT" ssd reads)
OUT=$(run --set $B.qd=32 --set $B.bs=128KiB --set $B.pattern=sequential --set $B.ios=150)
seq=$(metric "$OUT" sock0.core0 report.blk.bytes_per_s)
OUT=$(run --set $B.qd=32 --set $B.bs=128KiB --set $B.pattern=sequential --set $B.ios=150 \
          --set machine.pcie.gen=3 --set components.ssd.gen=3)
seq3=$(metric "$OUT" sock0.core0 report.blk.bytes_per_s)
echo "nvme 4 KiB random read: QD1 ${qd1} IOPS (mean ${lat1} ns; REF 70-90 us -> 12500), QD32 ${qd32} IOPS (one job), QD32 x 4 jobs ${qd32x4} IOPS (REF 1,000 K)"
echo "nvme 128 KiB sequential read QD32: $(awk -v b="$seq" 'BEGIN{printf "%.2f", b/1e9}') GB/s (REF 6.9 GB/s); on PCIe 3.0 x4: $(awk -v b="$seq3" 'BEGIN{printf "%.2f", b/1e9}') GB/s"
within "$qd1" 12500 15 && pass || fail "QD1 $qd1 IOPS not within 15% of 12500"
within "$lat1" 80000 15 && pass || fail "QD1 latency $lat1 ns not within 15% of 80 us"
within "$qd32x4" 1000000 15 && pass || fail "QD32 x 4 $qd32x4 IOPS not within 15% of 1,000,000"
within "$seq" 6900000000 15 && pass || fail "sequential $seq B/s not within 15% of 6.9 GB/s"
awk -v a="$seq3" 'BEGIN{exit !(a > 2.5e9 && a < 4.0e9)}' && pass || fail "Gen3 x4 sequential $seq3 B/s: not bounded by its 3.9 GB/s link"
awk -v a="$qd32" -v b="$qd1" 'BEGIN{exit !(a > 10 * b)}' && pass || fail "QD32 ($qd32) is not an order above QD1 ($qd1)"
[ "${irqs%.*}" -ge "${reads%.*}" ] && pass || fail "one interrupt per completion: $irqs irqs for $reads reads"

# a slow destage and a small working set, so many reads find their block
# still in the write cache
OUT=$(run --set $B.jobs=2 --set $B.read_pct=50 --set $B.verify=true --set $B.blocks=512 \
          --set $B.flush_every=16 --set $B.ios=2000 --set components.ssd.destage_rate=200MB/s)
expect_out '"stop_reason": *"workloads finished"' "verify run finishes (no verify failure)"
ve=$(metric "$OUT" sock0.core0 report.blk.verify_errors); fl=$(metric "$OUT" ssd flushes)
wr=$(metric "$OUT" ssd writes); rd=$(metric "$OUT" ssd reads); hits=$(metric "$OUT" ssd cache_hits)
echo "nvme verify: $rd reads ($hits blocks from the write cache), $wr writes, $fl flushes, $ve verify errors"
[ "${ve%.*}" -eq 0 ] && [ "${fl%.*}" -gt 0 ] && [ "${wr%.*}" -gt 500 ] && [ "${rd%.*}" -gt 500 ] &&
  [ "${hits%.*}" -gt 100 ] && pass ||
  fail "verify run: $ve errors, $fl flushes, $wr writes, $rd reads, $hits cache hits"

# power loss (nvme-powerloss.yaml): the driver recovers once, unflushed
# blocks are lost, and the checker (verify, then a read-back of every
# block) finds every flushed write; on three seeds
for seed in 1 2 3; do
  OUT=$("$ORRERY" run "$SRC/scenarios/nvme-powerloss.yaml" --no-db --json --seed $seed)
  expect_out '"stop_reason": *"workloads finished"' "nvme-powerloss seed $seed passes its checker"
  rec=$(metric "$OUT" sock0.core0 report.blk.recoveries); lost=$(metric "$OUT" ssd lost_blocks)
  ve=$(metric "$OUT" sock0.core0 report.blk.verify_errors); rns=$(metric "$OUT" sock0.core0 report.blk.recovery_ns)
  ios=$(metric "$OUT" sock0.core0 report.blk.ios)
  echo "nvme-powerloss seed $seed: $lost unflushed blocks lost, $rec recovery (${rns} ns: reset, re-init, requeue), $ios requests incl. the read-back, $ve verify errors"
  [ "${rec%.*}" -eq 1 ] && [ "${lost%.*}" -gt 0 ] && [ "${ve%.*}" -eq 0 ] && [ "${ios%.*}" -eq 4024 ] && pass ||
    fail "nvme-powerloss seed $seed: $rec recoveries, $lost lost, $ve verify errors, $ios requests"
done

# bad input: exit 2 with file:line:col, and nothing run
mkdir -p "$WORK/presets"
cp "$SRC"/scenarios/presets/icelake-2s.yaml "$SRC"/scenarios/presets/nvme-pm9a3.yaml "$WORK/presets/"
bad() { # NAME BLOCK_BENCH [COMPONENT_EXTRA]
  cat > "$WORK/$1.yaml" <<YAML
name: $1
extends: [presets/icelake-2s.yaml, presets/nvme-pm9a3.yaml]
kernel:
  cpus: "0-3"
  block_bench: $2
${3:-}
YAML
}
bad qd0 "{jobs: 1, qd: 0}"
expect_exit 2 "queue depth 0" -- "$ORRERY" run "$WORK/qd0.yaml" --no-db
expect_out 'qd0.yaml:5:30: error: .*kernel.block_bench.qd' "queue depth 0 names its key and place"
bad qdbig "{jobs: 1, qd: 1024}"
expect_exit 2 "queue depth above the device's" -- "$ORRERY" run "$WORK/qdbig.yaml" --no-db
expect_out 'qdbig.yaml:5:30: error: .*kernel.block_bench.qd.*1025 queue entries.*at most 1024' "queue depth 1024 names the device's limit"
bad nsbig "{jobs: 1, qd: 4}" "components:
  ssd: {namespace: 4TB}"
expect_exit 2 "namespace larger than the device" -- "$ORRERY" run "$WORK/nsbig.yaml" --no-db
expect_out 'nsbig.yaml:7:20: error: .*components.ssd.namespace.*larger than the device' "namespace names its key and place"
bad nodev "{jobs: 1, qd: 4, device: 3}"
expect_exit 2 "a device port without an nvme" -- "$ORRERY" run "$WORK/nodev.yaml" --no-db
expect_out 'nodev.yaml:5:[0-9]+: error: kernel.block_bench.device: device 3: no nvme' "a missing device names its key and place"
finish
