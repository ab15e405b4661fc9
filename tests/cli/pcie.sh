#!/usr/bin/env bash
# PCIe and the NIC (docs/pcie.md, docs/nic.md): the shipped scenarios run
# to completion and print the DMA round trip and copy bandwidth; a bad
# generation or width is a load-time error at file:line:col (exit 2); a
# DMA outside memory fails the run cleanly (exit 1); interrupt coalescing
# at 8 frames raises fewer interrupts than at 1; two DMA engines behind a
# pcie_switch both finish their copies, each port carrying its engine's
# share, and overlapping switch ranges are a load-time error (exit 2).
. "$(dirname "$0")/lib.sh"

metric() { # JSON COMPONENT NAME
  jq -r --arg c "$2" --arg n "$3" '[.metrics[] | select(.component == $c and .name == $n) | .value] | first' <<< "$1"
}

for s in pcie-dma pcie-switch nic-pair; do
  expect_exit 0 "$s runs" -- "$ORRERY" run "$SRC/scenarios/$s.yaml" --no-db --json
  expect_out '"stop_reason": *"workloads finished"' "$s finishes"
done
OUT=$("$ORRERY" run "$SRC/scenarios/pcie-dma.yaml" --no-db --json)
rtt=$(metric "$OUT" dma_rtt read_round_trip.p50)
bw=$(metric "$OUT" dma_bw copy_bandwidth)
echo "pcie-dma: Gen3 x8 DMA read round trip p50 ${rtt} ns (REFERENCES.md: ~850 ns); 1 MiB copy $(awk -v b="$bw" 'BEGIN{printf "%.1f", b/1e9}') Gbit/s (link 63.0 Gbit/s)"
awk -v r="$rtt" 'BEGIN{exit !(r >= 700 && r <= 1000)}' && pass || fail "round trip $rtt ns not near 850 ns"
awk -v b="$bw" 'BEGIN{exit !(b >= 0.8 * 63.0e9 && b <= 63.1e9)}' && pass || fail "copy bandwidth $bw not near link rate"

# the switch: both engines complete their 4 copies of 256 KiB, each
# downstream port carries its own engine's completions (and the same bytes),
# nothing is unroutable
OUT=$("$ORRERY" run "$SRC/scenarios/pcie-switch.yaml" --no-db --json)
c0=$(metric "$OUT" dma0 copies); c1=$(metric "$OUT" dma1 copies)
b0=$(metric "$OUT" sw d0.bytes_out); b1=$(metric "$OUT" sw d1.bytes_out)
up=$(metric "$OUT" sw up.bytes_out); bad=$(metric "$OUT" sw unroutable)
e=$(( $(metric "$OUT" dma0 completion_errors | cut -d. -f1) + $(metric "$OUT" dma1 completion_errors | cut -d. -f1) ))
echo "pcie-switch: copies $c0 + $c1; bytes out d0 $b0, d1 $b1, up $up; unroutable $bad"
[ "${c0%.*}" -eq 4 ] && [ "${c1%.*}" -eq 4 ] && pass || fail "pcie-switch: copies $c0, $c1 (expected 4 each)"
# completions of 1 MiB in 512 B reads: 2048 TLPs of 512 + 24 bytes per engine
[ "${b0%.*}" -eq $((2048 * 536)) ] && [ "${b1%.*}" -eq $((2048 * 536)) ] && pass ||
  fail "pcie-switch: per-port bytes d0 $b0, d1 $b1 (expected $((2048 * 536)) each)"
[ "${bad%.*}" -eq 0 ] && [ "$e" -eq 0 ] && pass || fail "pcie-switch: $bad unroutable, $e completion errors"
sed -e 's/size: 512KiB}, {port: 1, base: 0x80000/size: 1MiB}, {port: 1, base: 0x80000/' \
  "$SRC/scenarios/pcie-switch.yaml" > overlap.yaml
expect_exit 2 "switch ranges overlap" -- "$ORRERY" run overlap.yaml --no-db
expect_out "^overlap.yaml:[0-9]*:[0-9]*: error: components.sw: range 'd1' .* overlaps 'd0'" "switch ranges overlap"

# bad input: exit 2 at file:line:col, nothing run
bad() { # NAME "dma_engine keys" EXPECTED-REGEX
  cat > "$1.yaml" <<YAML
name: b
stop: {duration: 1us}
components:
  mem: {type: flatmem}
  rc: {type: pcie_rc}
  dma: {type: dma_engine, $2}
links:
  - {from: rc.mem, to: mem.in0, latency: 10ns}
  - {from: rc.dev0, to: dma.pcie, latency: 10ns}
YAML
  expect_exit 2 "$1" -- "$ORRERY" run "$1.yaml" --no-db
  expect_out "$3" "$1"
}
bad gen "gen: 7" '^gen.yaml:6:32: error: components.dma.gen: unknown PCIe generation 7'
bad width "width: 3" '^width.yaml:6:34: error: components.dma.width: width x3 is not a PCIe link width'
bad width12 "width: 12" '^width12.yaml:6:34: error: .*x12'

# a DMA outside memory fails the run, with the memory's reason
sed -e 's/size: 1GiB/size: 1MiB/' "$SRC/scenarios/pcie-dma.yaml" > outside.yaml
expect_exit 1 "DMA outside memory" -- "$ORRERY" run outside.yaml --no-db
expect_out 'outside the range served' "DMA outside memory"

# coalescing: 8 frames per interrupt raise fewer than 1
OUT8=$("$ORRERY" run "$SRC/scenarios/nic-pair.yaml" --no-db --json)
sed -e 's/frames: 8/frames: 1/' "$SRC/scenarios/nic-pair.yaml" > f1.yaml
OUT1=$("$ORRERY" run f1.yaml --no-db --json)
i8=$(metric "$OUT8" node1.nic interrupts); i1=$(metric "$OUT1" node1.nic interrupts)
rx=$(metric "$OUT8" node1.nic rx_packets)
echo "nic-pair: $rx packets received; interrupts $i1 (frames: 1), $i8 (frames: 8)"
[ "${rx%.*}" -eq 2000 ] && pass || fail "nic-pair: $rx packets received, expected 2000"
[ "${i8%.*}" -lt "${i1%.*}" ] && [ "${i1%.*}" -eq 2000 ] && pass || fail "coalescing: $i8 interrupts at 8 frames, $i1 at 1"

# the NICs through an IOMMU: with a passthrough domain every packet still
# arrives, each DMA page translated through the IOTLB; with no mapping at all
# (nobody maps for the NICs) their DMA is refused and counted
sed -e 's/type: pcie_rc,/type: pcie_rc, iommu: true, passthrough: true,/' "$SRC/scenarios/nic-pair.yaml" >pt.yaml
sed -e 's/type: pcie_rc,/type: pcie_rc, iommu: true,/' "$SRC/scenarios/nic-pair.yaml" >nomap.yaml
OUTP=$("$ORRERY" run pt.yaml --no-db --json)
rxp=$(metric "$OUTP" node1.nic rx_packets); hits=$(metric "$OUTP" node0.rc iommu.iotlb_hits)
miss=$(metric "$OUTP" node0.rc iommu.iotlb_misses); fp=$(metric "$OUTP" node0.rc iommu.faults)
echo "nic-pair through a passthrough IOMMU: $rxp packets; IOTLB $hits hits, $miss misses; $fp refusals"
[ "${rxp%.*}" -eq 2000 ] && [ "${hits%.*}" -gt 0 ] && [ "${miss%.*}" -gt 0 ] && [ "$fp" = 0 ] && pass ||
  fail "nic-pair through a passthrough IOMMU: $rxp packets, $hits hits, $miss misses, $fp refusals"
OUTN=$("$ORRERY" run nomap.yaml --no-db --json)
fn=$(metric "$OUTN" node0.rc iommu.faults)
[ "${fn%.*}" -gt 0 ] && pass || fail "nic-pair with an IOMMU and no mappings: $fn refusals"

finish
