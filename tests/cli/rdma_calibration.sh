#!/usr/bin/env bash
# The rdma-200g preset's emergent RDMA figures against REFERENCES.md, within
# ±20%: small READ round trip, small SEND one-way latency, WRITE bandwidth
# against the payload line rate, single-address atomics; measured by running
# the shipped perftest scenarios (docs/perftest.md); SEND over UD and UC too. Plus the bad inputs:
# posting before the connection (a QP_STATE_ERR completion) and a fabric
# mtu below the packet headers (exit 2 at file:line:col).
. "$(dirname "$0")/lib.sh"

# histogram field F (p50, mean) of COMP/NAME in run output FILE (ns)
hist() { jq -r --arg c "$2" --arg n "$3" --arg f "$4" \
  '.histograms[] | select(.component == $c and .name == $n) | .[$f]' "$1"; }
# value of metric COMP/NAME in FILE
metric() { jq -r --arg c "$2" --arg n "$3" \
  '.metrics[] | select(.component == $c and .name == $n) | .value' "$1"; }

# within VALUE WANT DESC: |value - want| <= 20% of want
within() {
  if awk -v v="$1" -v w="$2" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(v != "" && d <= 0.20 * w) }'; then
    printf '  %-58s %9.1f  (reference %s)\n' "$3" "$1" "$2"; pass
  else fail "$3: '$1', reference $2 (more than 20% off)"; fi
}
# between VALUE LO HI DESC: LO*0.8 <= value <= HI*1.2
between() {
  if awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= 0.8 * lo && v <= 1.2 * hi) }'; then
    printf '  %-58s %9.2f  (reference %s-%s)\n' "$4" "$1" "$2" "$3"; pass
  else fail "$4: '$1', reference $2-$3 (more than 20% outside)"; fi
}

# --- latency: node0->1 send_lat, node2->3 read_lat (rdma-perftest-lat.yaml)
"$ORRERY" run "$SRC/scenarios/rdma-perftest-lat.yaml" --no-db --json > lat.json \
  || fail "rdma-perftest-lat runs"
for size in 8B 64B; do
  within "$(hist lat.json node2.perf lat.$size p50)" 2000 "READ $size round trip, ns (Kalia ATC'16 ~2 us)"
  send=$(hist lat.json node0.perf lat.$size p50)
  within "$send" 800 "SEND $size one-way, ns (perftest ~0.8 us)"
  if awk -v v="$send" 'BEGIN { exit !(v != "" && v < 1000) }'; then pass; else
    fail "SEND $size one-way is $send ns, not sub-microsecond"; fi
done

# --- bandwidth and atomics (rdma-perftest-bw.yaml): node0->1 write_bw,
# node6->7 atomic_rate
"$ORRERY" run "$SRC/scenarios/rdma-perftest-bw.yaml" --no-db --json > bw.json \
  || fail "rdma-perftest-bw runs"
# Payload line rate of an S-byte WRITE at 200 Gbit/s with a 4 KiB mtu: the
# rnic carries pmtu = (4096 - 62 - 20) rounded down to 64 = 3968 payload
# bytes per packet (docs/rdma.md); each of the ceil(S/3968) packets has the
# 62 B of RoCEv2-like headers (net.h) and the first a 16 B RETH (wire.h), so
#   line(S) = 200 Gbit/s * S / (S + 62 * ceil(S / 3968) + 16)
# = 193.4 Gbit/s at 4 KiB and 196.8 Gbit/s at 64 KiB (preamble and
# inter-frame gap are not modelled).
for size in 4KiB:4096 64KiB:65536; do
  IFS=: read -r name bytes <<< "$size"
  line=$(awk -v s="$bytes" 'BEGIN { n = int((s + 3967) / 3968); printf "%.1f", 200 * s / (s + 62 * n + 16) }')
  within "$(metric bw.json node0.perf gbps.$name)" "$line" "WRITE $name bandwidth, Gbit/s (200 Gb/s payload line rate)"
done
between "$(metric bw.json node6.perf mops)" 2.2 2.7 "FAA on one address, Mops (Kalia ATC'16 2.2-2.7)"
[ "$(metric bw.json node0.perf data_checks)" -ge 1 ] 2>/dev/null && pass || fail "write_bw read-back check ran"

# --- the other QP types: send_lat over UD (the connection manager tells
# each side the peer's datagram QP, vh_cm_exchange) and over UC; a small
# SEND costs the same on the wire either way
for qp in ud uc; do
  cat > $qp.yaml <<YAML
name: $qp
extends: $SRC/scenarios/presets/rdma-200g.yaml
seed: 1
cluster:
  node:
    components:
      perf: {test: send_lat, qp: $qp, sizes: [8B], iters: 200}
YAML
  "$ORRERY" run $qp.yaml --no-db --json > $qp.json || fail "send_lat over $qp runs"
  within "$(hist $qp.json node0.perf lat.8B p50)" 800 "SEND 8B one-way over ${qp^^}, ns (perftest ~0.8 us)"
  [ "$(metric $qp.json node0.perf wc_errors)" = 0 ] && [ "$(hist $qp.json node0.perf lat.8B count)" = 200 ] \
    && pass || fail "send_lat over $qp: errors or missing samples"
done

# --- bad input 1: posting on a QP that was never connected. The run itself
# is fine (exit 0 with allow_errors); the completion is the error.
cat > noconn.yaml <<YAML
name: noconn
extends: $SRC/scenarios/presets/rdma-200g.yaml
seed: 1
cluster:
  node:
    components:
      perf: {test: send_lat, connect: false, allow_errors: true}
YAML
expect_exit 0 "posting before connection, errors allowed" -- "$ORRERY" run noconn.yaml --no-db --json
echo "$OUT" > noconn.json
[ "$(metric noconn.json node0.rnic cqe_qp_state_err)" = 1 ] && pass \
  || fail "posting before connection: no RDMA_WC_QP_STATE_ERR completion at the rnic"
[ "$(metric noconn.json node0.perf first_wc_error)" = 3 ] && pass \
  || fail "posting before connection: perftest's first error is not QP_STATE_ERR (3)"
# without allow_errors the error completion fails the run (exit 1) and says why
sed -i 's/, allow_errors: true//' noconn.yaml
expect_exit 1 "posting before connection fails the run" -- "$ORRERY" run noconn.yaml --no-db
expect_out "node0.perf: send_lat: WR 0 on QP 1 completed with error: QP state error" \
  "the failure names the QP state error"

# --- bad input 2: an mtu that does not exceed the 62 B of headers, at file:line:col
cat > mtu.yaml <<YAML
name: mtu
extends: $SRC/scenarios/presets/rdma-200g.yaml
cluster:
  fabric:
    link: {mtu: 60B}
YAML
expect_exit 2 "fabric mtu below the header size" -- "$ORRERY" run mtu.yaml --no-db
expect_out "^mtu\.yaml:5:17: error: cluster\.fabric\.link\.mtu: .*62 B" "mtu error at file:line:col"

finish
