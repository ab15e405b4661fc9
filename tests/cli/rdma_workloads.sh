#!/usr/bin/env bash
# The RDMA workloads (docs/collectives.md): allreduce (ring, tree), kv and
# rdma_incast run their shipped scenarios to completion with the figures the
# closed forms predict; go-back-N resends a message's lost last packet (the
# switch's drop fault); a corrupted KV table is caught; a dead node and a
# failed link end the fault scenario early with its error completions
# counted; ragged sizes are handled and impossible ones rejected at
# file:line:col.
. "$(dirname "$0")/lib.sh"

metric() { # JSON COMPONENT NAME -> value
  jq -r --arg c "$2" --arg n "$3" '[.metrics[] | select(.component == $c and .name == $n) | .value][0]' <<< "$1"
}
metrics() { # JSON COMPONENT-SUFFIX NAME -> one value per matching component
  jq -r --arg c "$2" --arg n "$3" '.metrics[] | select((.component | endswith($c)) and .name == $n) | .value' <<< "$1"
}
num_ok() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x + 0 >= lo && x + 0 <= hi) }'; }

# sum over i < E of S(i) mod 2^32, S(i) = A N(N+1)/2 + B i N^2 + C N (allreduce.c)
closed_checksum() { # NODES BYTES
  local N=$1 E=$(($2 / 4)) A=0x9E3779B1 B=0x85EBCA77 C=0x165667B1 M=0xFFFFFFFF
  local base=$(( (A * (N * (N + 1) / 2) + C * N) & M ))
  echo $(( (E * base + B * ((N * N) & M) * ((E * (E - 1) / 2) & M)) & M ))
}

# --- allreduce: ring and tree, real data ---------------------------------------
for s in rdma-allreduce rdma-allreduce-tree; do
  expect_exit 0 "$s runs" -- "$ORRERY" run "$SRC/scenarios/$s.yaml" --no-db --json
  J=$OUT
  expect_out '"stop_reason": *"workloads finished"' "$s finishes"
  want=$(closed_checksum 16 1048576)
  bad=$(metrics "$J" .ar result_checksum | grep -cvx "$want")
  n=$(metrics "$J" .ar result_checksum | grep -cx "$want")
  [ "$bad" -eq 0 ] && [ "$n" -eq 16 ] && pass ||
    fail "$s: $n of 16 nodes' result_checksum match the closed form $want"
  errs=$(metrics "$J" .ar verify_errors | awk '{s += $1} END {print s + 0}')
  [ "$errs" -eq 0 ] && pass || fail "$s: $errs elements failed verification"
  [ "$(metric "$J" node0.ar nodes_finished)" = 16 ] && pass || fail "$s: not all 16 nodes finished"
  alg=$(metric "$J" node0.ar algbw) bus=$(metric "$J" node0.ar busbw) t=$(metric "$J" node0.ar collective_time)
  # algbw = size / time; busbw = algbw * 2(N-1)/N
  num_ok "$(awk -v a="$alg" -v t="$t" 'BEGIN{print a * t * 1000 / 1048576}')" 0.999 1.001 && pass ||
    fail "$s: algbw $alg GB/s is not 1 MiB / $t us"
  num_ok "$(awk -v a="$alg" -v b="$bus" 'BEGIN{print b / a}')" 1.8749 1.8751 && pass ||
    fail "$s: busbw $bus is not 2*15/16 of algbw $alg"
  if [ $s = rdma-allreduce ]; then
    # ring: each of the N-1 reduce-scatter steps moves S/N over a link and
    # reduces it at 10 GB/s (pipelined in chunks, so the slower of the two
    # sets the pace); each of the N-1 all-gather steps moves S/N. The link
    # carries 3968 payload bytes per 4030 B packet (docs/rdma.md). busbw
    # = 2(N-1)/N * S / T, within 25%.
    lo_hi=$(awk 'BEGIN { N = 16; S = 1048576; B = 100e9 / 8 * 3968 / 4030; R = 10e9;
                         c = S / N; t = (N - 1) * (c / B > c / R ? c / B : c / R) + (N - 1) * c / B;
                         w = 2 * (N - 1) / N * S / t / 1e9; print 0.75 * w, 1.25 * w, w }')
  else
    # tree: the critical path is at least an inner node receiving 2 x 1 MiB
    # over one link while reducing 2 MiB at 10 GB/s, then the root sending
    # 2 MiB down one link; at most every level's receive, reduction and
    # send done one after another (4 levels up, 4 down)
    lo_hi=$(awk 'BEGIN { S = 1048576; B = 100e9 / 8 * 3968 / 4030; R = 10e9;
                         rx = 2 * S / B; red = 2 * S / R; up = rx > red ? rx : red;
                         fast = up + 2 * S / B; slow = 4 * (rx + red) + 4 * 2 * S / B;
                         f = 2 * 15 / 16 * S / 1e9; print f / slow, f / fast, f / fast }')
  fi
  read -r lo hi want <<< "$lo_hi"
  num_ok "$bus" "$lo" "$hi" && pass || fail "$s: busbw $bus GB/s outside [$lo, $hi] (derived $want)"
done

# nodes that do not divide the vector (or the chunks): ragged segments, same closed form
cat > ragged.yaml <<'YAML'
name: ragged
stop: {duration: 5ms, workloads_done: true}
cluster:
  nodes: 12
  node:
    components:
      rnic: {type: rnic}
      ar: {type: allreduce, algorithm: ring, size: 1000B, chunk: 12B, verify: true}
    links:
      - {from: ar.rnic, to: rnic.host, latency: 300ns}
    net: rnic.net
  fabric: {topology: star}
YAML
for alg in ring tree; do
  expect_exit 0 "ragged $alg runs" -- "$ORRERY" run ragged.yaml --no-db --json \
    --set cluster.node.components.ar.algorithm=$alg
  J=$OUT
  want=$(closed_checksum 12 1000)
  n=$(metrics "$J" .ar result_checksum | grep -cx "$want")
  [ "$n" -eq 12 ] && pass || fail "ragged $alg: $n of 12 nodes' result_checksum match $want"
done
# sizes no allreduce can do: file:line:col at the key
expect_exit 2 "size not a multiple of 4" -- "$ORRERY" validate ragged.yaml --set cluster.node.components.ar.size=1002B
expect_out 'size 1002 B must be a multiple of the 4 B element' "size not a multiple of 4"
sed 's/size: 1000B/size: 40B/' ragged.yaml > tiny.yaml
expect_exit 2 "fewer elements than nodes" -- "$ORRERY" validate tiny.yaml
expect_out '^tiny.yaml:8:52: error: .*size: size 40 B gives some of the 12 nodes no 4 B element' \
  "fewer elements than nodes"
sed 's/chunk: 12B/chunk: 10B/' ragged.yaml > chunk.yaml
expect_exit 2 "chunk not a multiple of 4" -- "$ORRERY" validate chunk.yaml
expect_out '^chunk.yaml:8:66: error: .*chunk: chunk 10 B must be a multiple' "chunk not a multiple of 4"

# --- kv -------------------------------------------------------------------------------
expect_exit 0 "rdma-kv runs" -- "$ORRERY" run "$SRC/scenarios/rdma-kv.yaml" --no-db --json
J=$OUT
expect_out '"stop_reason": *"workloads finished"' "rdma-kv finishes"
[ "$(metric "$J" node0.kv service_ops)" = 35000 ] && pass || fail "kv: service_ops != 7 x 5000"
gets=$(metrics "$J" .kv gets | awk '{s += $1} END {print s + 0}')
num_ok "$gets" 30800 32200 && pass || fail "kv: $gets GETs of 35000 at get_ratio 0.9"
# hottest key: 1 / H(100000, 0.99) of the operations
p1=$(awk 'BEGIN { for (r = 1; r <= 100000; r++) h += exp(-0.99 * log(r)); print 1 / h }')
hot=$(metric "$J" node0.kv hottest_key_share)
num_ok "$(awk -v a="$hot" -v b="$p1" 'BEGIN{print a - b}')" -0.006 0.006 && pass ||
  fail "kv: hottest key share $hot, Zipf(0.99) over 100000 keys predicts $p1"
p50=$(jq '[.histograms[] | select(.component == "node0.kv" and .name == "service_get_latency") | .p50][0]' <<< "$J")
# a GET is an RDMA READ: host link 300 + WQE fetch 400 + a fabric crossing
# (tx 150 + link 100 + switch 300 + link 100 + rx 150) + the server's DMA
# read 400 + the crossing back + the data/CQE write 200 + host link 300 =
# 3200 ns unloaded, within 25%
num_ok "$p50" 2400 4000 && pass || fail "kv: GET p50 latency $p50 ns, derived 3200 ns +-25%"
[ "$(metrics "$J" .kv verify_errors | awk '{s += $1} END {print s + 0}')" = 0 ] && pass || fail "kv: verify errors"
# a table laid over the CM's receive buffers: a GET sees a HELLO datagram, not a value
expect_exit 1 "kv catches a corrupted value" -- "$ORRERY" run "$SRC/scenarios/rdma-kv.yaml" --no-db \
  --set cluster.node.components.kv.table=4MiB
expect_out 'GET of key [0-9]+ returned (a value of another key|a torn value|a version no client wrote)' \
  "kv catches a corrupted value"

# --- incast ----------------------------------------------------------------------------
expect_exit 0 "rdma-incast runs" -- "$ORRERY" run "$SRC/scenarios/rdma-incast.yaml" --no-db --json
J=$OUT
expect_out '"stop_reason": *"workloads finished"' "rdma-incast finishes"
[ "$(metric "$J" node0.inc messages_received)" = 240 ] && pass || fail "incast: not 15 x 16 messages received"
gp=$(metric "$J" node0.inc goodput)
num_ok "$gp" 80 100 && pass || fail "incast: goodput $gp Gbit/s on a 100 Gbps port"
marks=$(metric "$J" fabric.sw ecn_marks)
[ "${marks%.*}" -gt 0 ] && pass || fail "incast: no ECN marks at the incast port"
# one switch, no drops: every packet it marks reaches an rnic marked
recv=$(metrics "$J" .rnic ecn_marked_received | awk '{s += $1} END {print s + 0}')
[ "$recv" = "$marks" ] && pass || fail "incast: the switch marked $marks packets, the rnics saw $recv marked"
[ "$(metric "$J" fabric.sw drops_queue_full)" = 0 ] && pass || fail "incast: PFC should make it lossless"

# --- the last packet of a message lost ------------------------------------------------
# node1 WRITE_IMMs one 16 KiB message (5 packets of at most 3968 B) to node0
# at 50 us, long after the connection manager is done; the switch loses the
# 5th packet it sends to node0 from 40 us on: the message's last. With
# ack_every 1 the first four are acknowledged, so go-back-N resends exactly
# one packet, after one retry timeout (131 us), and the message arrives.
cat > lastpkt.yaml <<'YAML'
name: lastpkt
seed: 1
stop: {duration: 5ms, workloads_done: true}
cluster:
  nodes: 2
  node:
    components:
      rnic: {type: rnic, ack_every: 1}
      inc: {type: rdma_incast, target: 0, size: 16KiB, count: 1, outstanding: 1, start: 50us}
    links:
      - {from: inc.rnic, to: rnic.host, latency: 300ns}
    net: rnic.net
  fabric:
    topology: star
    link: {bandwidth: 100Gbps, latency: 100ns, mtu: 4KiB}
    switch: {latency: 300ns}
faults:
  - {at: 40us, component: fabric.sw, fault: drop, port: 0, after: 4}
YAML
expect_exit 0 "last packet lost: runs" -- "$ORRERY" run lastpkt.yaml --no-db --json
J=$OUT
expect_out '"stop_reason": *"workloads finished"' "last packet lost: the message still arrives"
[ "$(metric "$J" node0.inc messages_received)" = 1 ] && pass || fail "last packet lost: not received"
[ "$(metric "$J" fabric.sw drops_loss)" = 1 ] && pass || fail "last packet lost: not exactly one drop"
[ "$(metric "$J" node1.rnic retransmitted_packets)" = 1 ] && [ "$(metric "$J" node1.rnic timeouts)" = 1 ] &&
  pass || fail "last packet lost: $(metric "$J" node1.rnic retransmitted_packets) resent," \
                "$(metric "$J" node1.rnic timeouts) timeouts (want 1 and 1)"
t=$(jq .sim_time_ps <<< "$J")
num_ok "$t" $(( (50 + 131) * 1000000 )) $(( (50 + 131 + 20) * 1000000 )) && pass ||
  fail "last packet lost: done at $t ps, want start + one retry timeout (+ < 20 us)"

# --- faults: a node dies, a link fails ---------------------------------------------------
expect_exit 0 "rdma-faults runs" -- "$ORRERY" run "$SRC/scenarios/rdma-faults.yaml" --no-db --json
J=$OUT
expect_out '"stop_reason": *"workloads finished"' "rdma-faults ends on its own (no hang)"
t=$(jq .sim_time_ps <<< "$J")
[ "$t" -lt 20000000000 ] && pass || fail "rdma-faults ran to its stop time ($t ps)"
errs=$(metric "$J" node0.ar error_completions_total)
[ "${errs%.*}" -gt 0 ] && pass || fail "rdma-faults: no error completions counted"
[ "$(metric "$J" node4.ar error_completions)" != 0 ] && pass || fail "rdma-faults: node 4 saw no error completion"
[ "$(metric "$J" node0.ar nodes_failed)" = 16 ] && pass || fail "rdma-faults: not every node gave up"
# without allow_errors the same run fails, naming the error
expect_exit 1 "rdma-faults without allow_errors fails" -- "$ORRERY" run "$SRC/scenarios/rdma-faults.yaml" \
  --no-db --set cluster.node.components.ar.allow_errors=false
expect_out 'node [0-9]+: (error completion|stalled)' "rdma-faults without allow_errors names the failure"
finish
