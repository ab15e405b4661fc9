#!/usr/bin/env bash
# The GPU model's figures (docs/gpu.md) against REFERENCES.md's PCIe/GPU
# rows, within ±15%: H2D/D2H copy bandwidth and P2P bandwidth/latency with
# and without NVLink on the H100-like preset, NVLink and HBM on the
# A100-like one; GEMM TFLOP/s against size (the roofline knee) and saxpy
# against HBM bandwidth; a hung partition reset without disturbing the
# other; every functional result checked (the `checks` counters); and a
# bad command at run time (P2P without NVLink) failing cleanly with an
# error completion in the trace.
. "$(dirname "$0")/lib.sh"

metric() { jq -r --arg c "$2" --arg n "$3" \
  '.metrics[] | select(.component == $c and .name == $n) | .value' "$1"; }

# within VALUE WANT DESC: |value - want| <= 15% of want
within() {
  if awk -v v="$1" -v w="$2" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(v != "" && d <= 0.15 * w) }'; then
    printf '  %-58s %9.2f  (reference %s)\n' "$3" "$1" "$2"; pass
  else fail "$3: '$1', reference $2 (more than 15% off)"; fi
}
# between VALUE LO HI DESC: LO*0.85 <= value <= HI*1.15
between() {
  if awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= 0.85 * lo && v <= 1.15 * hi) }'; then
    printf '  %-58s %9.2f  (reference %s-%s)\n' "$4" "$1" "$2" "$3"; pass
  else fail "$4: '$1', reference $2-$3 (more than 15% outside)"; fi
}
# holds AWK-CONDITION DESC (v is the value)
holds() {
  if awk -v v="$1" "BEGIN { exit !(v != \"\" && ($2)) }"; then pass; else fail "$3: '$1' fails $2"; fi
}
run() { # NAME SCENARIO ARGS...: run with --json into NAME.json
  local name=$1 sc=$2; shift 2
  "$ORRERY" run "$sc" --no-db --json "$@" > "$name.json" || fail "$name runs"
}

H100=$SRC/scenarios/presets/gpu-h100.yaml
A100=$SRC/scenarios/presets/gpu-a100.yaml

echo "H100-like: copies (gpu-copy.yaml)"
run copy "$SRC/scenarios/gpu-copy.yaml"
within "$(metric copy.json prog h2d_gbps.16MiB)" 35 "H2D 16 MiB, GB/s (nvbandwidth ~35)"
within "$(metric copy.json prog d2h_gbps.16MiB)" 53 "D2H 16 MiB, GB/s (nvbandwidth ~53)"
holds "$(metric copy.json prog h2d_gbps.64KiB)" "v < 0.7 * $(metric copy.json prog h2d_gbps.16MiB)" \
  "small copies pay their setup"
holds "$(metric copy.json prog checks)" "v == 3" "every copied size checked"

echo "H100-like: peer copies (gpu-p2p.yaml)"
run p2p "$SRC/scenarios/gpu-p2p.yaml"
within "$(metric p2p.json prog p2p_bidir_gbps.16MiB)" 900 "P2P both ways 16 MiB, GB/s (NVLink 900 per GPU)"
within "$(metric p2p.json prog p2p_gbps.16MiB)" 450 "P2P one way 16 MiB, GB/s (half of 900)"
within "$(metric p2p.json prog p2p_latency)" 2 "P2P latency over NVLink, us (~2)"
holds "$(metric p2p.json prog checks)" "v == 2" "peer copies checked"
run staged "$SRC/scenarios/gpu-p2p.yaml" --set components.prog.p2p=staged
between "$(metric staged.json prog p2p_latency)" 11 20 "P2P latency without NVLink (staged), us (11-20)"
holds "$(metric staged.json prog p2p_gbps.16MiB)" "v < 53" "staged P2P bounded by PCIe"

echo "H100-like: GEMM TFLOP/s vs n (gpu-gemm.yaml; FP32 peak 132 x 256 x 1.98 GHz = 66.9)"
run gemm "$SRC/scenarios/gpu-gemm.yaml"
peak=66.9
prev=0
for n in 128 256 512 1024 2048 4096; do
  v=$(metric gemm.json prog tflops.$n)
  printf '  n = %-5s %8.2f TFLOP/s\n' "$n" "$v"
  holds "$v" "v >= $prev" "GEMM TFLOP/s does not fall as n grows (n = $n)"
  prev=$v
done
holds "$(metric gemm.json prog tflops.128)" "v < 0.05 * $peak" "n = 128 is launch- and occupancy-bound"
holds "$(metric gemm.json prog tflops.4096)" "v >= 0.85 * $peak && v <= $peak" "n = 4096 near the FP32 peak"
holds "$(metric gemm.json prog checks)" "v == 3" "GEMMs up to 512 checked against the host"

echo "H100-like: saxpy vs HBM (gpu-saxpy.yaml; 3350 GB/s)"
run saxpy "$SRC/scenarios/gpu-saxpy.yaml"
for n in 65536 1048576 4194304 67108864; do
  printf '  n = %-9s %8.1f GB/s\n' "$n" "$(metric saxpy.json prog saxpy_gbps.$n)"
done
between "$(metric saxpy.json prog saxpy_gbps.67108864)" 2850 3350 "saxpy 64 Mi floats, GB/s (HBM 3.35 TB/s)"
holds "$(metric saxpy.json prog saxpy_gbps.67108864)" "v <= 3350" "saxpy never beats HBM"
holds "$(metric saxpy.json prog saxpy_gbps.65536)" "v < 0.2 * 3350" "small saxpy is launch-bound"
holds "$(metric saxpy.json prog checks)" "v == 3" "saxpy results checked"
run reduce "$SRC/scenarios/gpu-saxpy.yaml" --set components.prog.test=reduce
holds "$(metric reduce.json prog reduce_gbps.67108864)" "v > 0.85 * 3350 && v <= 3350" "reduction streams at HBM rate"
holds "$(metric reduce.json prog checks)" "v == 3" "reductions checked"

echo "A100-like preset"
run a_p2p "$A100" --set components.prog.test=p2p --set components.prog.bytes=[16MiB]
within "$(metric a_p2p.json prog p2p_bidir_gbps.16MiB)" 600 "A100 P2P both ways, GB/s (NVLink 600)"
run a_saxpy "$A100" --set components.prog.test=saxpy --set components.prog.n=[67108864]
between "$(metric a_saxpy.json prog saxpy_gbps.67108864)" 1700 2000 "A100 saxpy, GB/s (HBM 2.0 TB/s)"

echo "Partitions: a hung kernel reset (gpu-reset.yaml)"
run reset "$SRC/scenarios/gpu-reset.yaml"
holds "$(metric reset.json gpu0 resets)" "v == 1" "the watchdog reset the hung partition once"
holds "$(metric reset.json prog hung_errors)" "v == 2" "the hung kernel and the signal behind it failed"
holds "$(metric reset.json prog checks)" "v == 1" "the other partition's saxpy checked"
holds "$(metric reset.json gpu0 kernels)" "v == 4" "the other partition's kernels all ran"
half=$(metric reset.json prog saxpy_gbps)
holds "$half" "v > 0.4 * 3350 && v <= 0.5 * 3350" "half a GPU streams at most half the HBM"

echo "Ring allreduce across 8 GPUs (gpu-allreduce.yaml)"
run ar "$SRC/scenarios/gpu-allreduce.yaml"
prev=0
for b in 1MiB 16MiB 64MiB; do
  v=$(metric ar.json prog allreduce_busbw_gbps.$b)
  printf '  %-6s bus bandwidth %8.1f GB/s\n' "$b" "$v"
  holds "$v" "v > $prev && v <= 450" "allreduce bus bandwidth grows with size, below one NVLink direction ($b)"
  prev=$v
done
holds "$(metric ar.json prog checks)" "v == 2" "every GPU's sum checked (1 MiB, 16 MiB)"
# each GPU of the scenario has the preset's gpu0 figures (all but id,
# requester and nvlink), and the preset's gpu1 has gpu0's
gpu_keys() { # FILE GPU: its keys as sorted key=value lines (block or flow style)
  python3 - "$1" "$2" <<'PY'
import re, sys
text, g = open(sys.argv[1]).read(), sys.argv[2]
text = re.sub(r'#[^\n]*', '', text)
m = re.search(r'^  %s:(.*?)(?=^  \S)' % g, text, re.S | re.M)
body = m.group(1).replace('{', ' ').replace('}', ' ') if m else ''
pairs = re.findall(r'([a-z_0-9]+):\s*(\[[^\]]*\]|[^,\s]+)', body)
skip = {'id', 'requester', 'nvlink', 'type'}
print('\n'.join(sorted('%s=%s' % (k, v) for k, v in pairs if k not in skip)))
PY
}
want=$(gpu_keys "$H100" gpu0)
[ "$(echo "$want" | wc -l)" -ge 25 ] && pass || fail "the preset's gpu0 keys were read ($want)"
[ "$(gpu_keys "$H100" gpu1)" = "$want" ] && pass || fail "the H100-like preset's gpu1 differs from its gpu0"
[ "$(gpu_keys "$SRC/scenarios/gpu-allreduce.yaml" gpu5)" = "$want" ] && pass ||
  fail "gpu-allreduce's gpu5 differs from the H100-like preset's gpu0"
[ "$(gpu_keys "$A100" gpu1)" = "$(gpu_keys "$A100" gpu0)" ] && pass ||
  fail "the A100-like preset's gpu1 differs from its gpu0"

echo "A bad command at run time: P2P without NVLink"
mkdir -p presets
sed -e '/nvl0, latency/d' -e 's/nvlink: \[gpu[01]\]/nvlink: []/' "$H100" > presets/gpu-h100.yaml
printf 'name: t\nextends: presets/gpu-h100.yaml\ncomponents: {prog: {test: p2p, bytes: [64KiB]}}\n' > nonv.yaml
expect_exit 1 "P2P without NVLink fails the program" -- "$ORRERY" run nonv.yaml --no-db --trace nonv.trace
expect_out "failed commands" "the program says the GPU failed its commands"
"$ORRERY" export nonv.trace -f chrome -o nonv.json || fail "the failed run's trace exports"
# the P2P copy's error completion: a = queue 0 << 8 | GPU_ERR_NO_PEER (4)
if jq -e '[.traceEvents[] | select(.name == "gpu.cmd_error")] | length > 0' nonv.json >/dev/null &&
   grep -q '"gpu.cmd_error"' nonv.json; then pass; else fail "gpu.cmd_error recorded in the trace"; fi

echo "orrery graph draws the GPUs and their NVLink"
"$ORRERY" graph "$SRC/scenarios/gpu-p2p.yaml" --format dot > p2p.dot || fail "graph of gpu-p2p"
grep -q 'label="gpu0\\ngpu"' p2p.dot && pass || fail "gpu0 drawn as a gpu"
grep -Eq 'gpu0 -> gpu1.*label="300ns\\n3.6Tbps"' p2p.dot && pass || fail "the NVLink drawn with its bandwidth"

finish
