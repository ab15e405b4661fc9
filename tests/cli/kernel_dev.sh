#!/usr/bin/env bash
# Devices of the reference kernel on the modelled machine
# (docs/kernel-platform.md, "Devices"): the kernel finds a DMA engine over
# MMIO, grants it buffers (hal_dma_map), takes its MSI-X interrupt and sees
# the copied bytes through its caches; the IOMMU refuses DMA the kernel
# did not grant, records it in the trace and tells CPU 0; DMA takes part
# in the coherence protocol (the monitor catches a planted protocol bug on
# the DMA path); bad `pcie:` and device-suite input is exit 2.
. "$(dirname "$0")/lib.sh"
SCN=$SRC/scenarios/kernel-dma.yaml
metric() { # metric JSON COMPONENT NAME
  jq -r --arg c "$2" --arg n "$3" '[.metrics[] | select(.component == $c and .name == $n) | .value][0]' "$1"
}
# variant NAME "MACHINE LINES" "KERNEL LINES": the scenario with these sections
variant() {
  printf 'name: %s\nextends: %s/scenarios/presets/icelake-2s.yaml\nseed: 1\nstop: {duration: 20ms}\nmachine:\n%s\nkernel:\n%s\ncomponents:\n  dma: {type: dma_engine, gen: 3, width: 8}\nlinks:\n  - {from: pcie.dev0, to: dma.pcie, latency: 300ns}\n' \
    "$1" "$SRC" "$2" "$3" >"$1.yaml"
}

# --- the shipped scenario: every device test runs and passes -----------------------
"$ORRERY" run "$SCN" --no-db --json --trace dma.otr >dma.json && pass || fail "kernel-dma.yaml"
n_ok=$(jq -r '.output["sock0.core0"]' dma.json | grep -c '^ktest .* ok$')
[ "$n_ok" = 6 ] && pass || fail "kernel-dma: $n_ok of 6 device tests ok"
faults=$(metric dma.json pcie iommu.faults)
delivered=$(metric dma.json intc dma_faults)
taken=$(metric dma.json sock0.core0 kern.dma_faults)
irqs=$(metric dma.json sock0.core0 kern.dev_irqs)
mmio=$(metric dma.json sock0.core0 report.dev.mmio_read_ns)
copy=$(metric dma.json sock0.core0 report.dev.copy_ns)
echo "MMIO read ${mmio} ns; 8 KiB copy doorbell-to-interrupt ${copy} ns; IOMMU refusals $faults, delivered $delivered, taken $taken; device interrupts $irqs"
[ "${faults%.*}" -gt 0 ] && [ "$faults" = "$delivered" ] && [ "$faults" = "$taken" ] && pass ||
  fail "IOMMU faults: $faults refused, $delivered delivered by intc, $taken taken by CPU 0"
[ "${irqs%.*}" = 6 ] && pass || fail "device interrupts on CPU 0: $irqs, expected 6 (one per copy)"
# a PCIe MMIO read round trip is hundreds of ns, not a cache hit
[ "${mmio%.*}" -gt 300 ] && [ "${mmio%.*}" -lt 3000 ] && pass || fail "MMIO read $mmio ns"
# every refusal is in the trace
"$ORRERY" export dma.otr --format chrome -o dma-trace.json || fail "export"
nt=$(jq '[.traceEvents[] | select(.name == "iommu.fault" and .ph == "X")] | length' dma-trace.json)
[ "$nt" = "${faults%.*}" ] && pass || fail "trace: $nt iommu.fault records for $faults refusals"

# --- the same kernel without an IOMMU: bus addresses are physical, copies work -----
variant noiommu '  pcie: {ports: 1}' '  cpus: "0-1"
  selftest: [dev]'
"$ORRERY" run noiommu.yaml --no-db --json >noiommu.json && pass || fail "dev suite without an IOMMU"
n_ok=$(jq -r '.output["sock0.core0"]' noiommu.json | grep -c '^ktest dev\..* ok$')
[ "$n_ok" = 3 ] && pass || fail "without an IOMMU: $n_ok of 3 dev tests ok"
[ "$(metric noiommu.json pcie iommu.faults)" = 0 ] && pass || fail "faults without an IOMMU"
[ "$(metric noiommu.json pcie iommu.iotlb_misses)" = 0 ] && pass || fail "IOTLB used without an IOMMU"

# --- DMA is coherent: a planted protocol bug on its path is caught -----------------
variant mutant '  mutation: ignore-inv
  pcie: {ports: 1, iommu: true}' '  cpus: "0-1"
  selftest: [dev]'
expect_exit 1 "ignore-inv with DMA" -- "$ORRERY" run mutant.yaml --no-db
expect_out "error: pcie.io: coherence violation" "the monitor names the DMA agent"

# --- determinism: the same seed, the same digest -------------------------------------
d1=$("$ORRERY" run "$SCN" --no-db 2>&1 | awk '$1 == "digest" {print $2}')
d2=$("$ORRERY" run "$SCN" --no-db 2>&1 | awk '$1 == "digest" {print $2}')
[ -n "$d1" ] && [ "$d1" = "$d2" ] && pass || fail "digests differ: $d1 $d2"

# --- bad input -------------------------------------------------------------------------
variant bad1 '  pcie: {ports: 1}' '  cpus: "0-1"
  selftest: [iommu]'
expect_exit 2 "iommu suite without an IOMMU" -- "$ORRERY" run bad1.yaml --no-db
expect_out "bad1.yaml:[0-9]+:[0-9]+: error: kernel.selftest: suite 'iommu' tests the IOMMU's refusals: set machine.pcie.iommu: true" "iommu suite message"
printf 'name: bad2\nextends: %s/scenarios/presets/icelake-2s.yaml\nkernel:\n  cpus: "0-1"\n  selftest: [dev]\n' "$SRC" >bad2.yaml
expect_exit 2 "dev suite without a root complex" -- "$ORRERY" run bad2.yaml --no-db
expect_out "bad2.yaml:[0-9]+:[0-9]+: error: kernel.selftest: suite 'dev' drives a device: give the machine a root complex" "dev suite message"
variant bad3 '  pcie: {ports: 1, cpus: 4}' '  cpus: "0-1"'
expect_exit 2 "pcie.cpus set by hand" -- "$ORRERY" run bad3.yaml --no-db
expect_out "bad3.yaml:[0-9]+:[0-9]+: error: machine.pcie.cpus: set by the machine" "pcie.cpus message"
variant bad4 '  pcie: {ports: 1, socket: 2}' '  cpus: "0-1"'
expect_exit 2 "pcie.socket out of range" -- "$ORRERY" run bad4.yaml --no-db
expect_out "bad4.yaml:[0-9]+:[0-9]+: error: machine.pcie.socket: socket 2, but the machine has 2" "pcie.socket message"
variant bad5 '  pcie: {ports: 1}' '  cpus: "0-1"'
printf 'faults:\n  - {at: 1us, component: pcie, fault: drop_mapping}\n' >>bad5.yaml
expect_exit 2 "drop_mapping without an IOMMU" -- "$ORRERY" run bad5.yaml --no-db
expect_out "drop_mapping: pcie has no IOMMU" "drop_mapping message"
variant bad6 '  pcie: {ports: 1, iommu: true, iova_base: 1000B}' '  cpus: "0-1"'
expect_exit 2 "iova_base not page aligned" -- "$ORRERY" run bad6.yaml --no-db
expect_out "iova_base 0x3e8: bus addresses are whole 4 KiB pages" "iova_base message"
for f in bad1 bad2 bad3 bad4 bad5 bad6; do [ -e "$f.db" ] && fail "$f wrote a database"; done
finish
