#!/usr/bin/env bash
# The cluster: section and the fabric (docs/fabric.md): the shipped fabric
# scenarios run to completion; bad descriptions are load-time errors at
# file:line:col (exit 2, nothing run); a 1,024-node k=16 fat-tree builds
# and runs a short permutation within 30 s even in a -O0 build.
. "$(dirname "$0")/lib.sh"

for s in incast fattree faults; do
  expect_exit 0 "fabric-$s runs" -- "$ORRERY" run "$SRC/scenarios/fabric-$s.yaml" --no-db --json
  expect_out '"stop_reason": *"workloads finished"' "fabric-$s finishes (no hang)"
done
OUT=$("$ORRERY" run "$SRC/scenarios/fabric-incast.yaml" --no-db --json)
drops=$(jq '[.metrics[] | select(.component == "fabric.sw" and .name == "drops_queue_full") | .value] | add' <<< "$OUT")
marks=$(jq '[.metrics[] | select(.component == "fabric.sw" and .name == "ecn_marks") | .value] | add' <<< "$OUT")
[ "${drops%.*}" -gt 0 ] && [ "${marks%.*}" -gt 0 ] && pass || fail "incast: drops $drops, ECN marks $marks"
OUT=$("$ORRERY" run "$SRC/scenarios/fabric-faults.yaml" --no-db --json)
lost=$(jq '[.metrics[] | select(.name == "drops_loss") | .value] | add' <<< "$OUT")
[ "${lost%.*}" -gt 0 ] && pass || fail "faults: no packet lost to the loss fault"

bad() { # NAME "cluster yaml" EXPECTED-REGEX
  printf 'name: b\nstop: {duration: 1us}\ncluster:\n%s\n' "$2" > "$1.yaml"
  expect_exit 2 "$1" -- "$ORRERY" validate "$1.yaml"
  expect_out "$3" "$1"
}
bad odd_k "  nodes: 16
  fabric: {topology: fat-tree, k: 5}" '^odd_k.yaml:5:35: error: cluster.fabric.k: k = 5: a fat-tree needs an even k'
bad capacity "  nodes: 17
  fabric: {topology: fat-tree, k: 4}" '^capacity.yaml:4:10: error: cluster.nodes: 17 nodes do not fit a k = 4 fat-tree'
bad mtu "  nodes: 4
  fabric:
    link: {mtu: 60B}" '^mtu.yaml:6:17: error: cluster.fabric.link.mtu: mtu 60 B does not exceed the 62 B of packet headers'
bad topology "  nodes: 4
  fabric: {topology: hypercube}" "^topology.yaml:5:22: error: cluster.fabric.topology: .*hypercube"
bad dims "  nodes: 16
  fabric: {topology: torus, dims: [4, 3]}" '^dims.yaml:5:35: error: cluster.fabric.dims: .*product'
bad size "  nodes: 4
  node: {pattern: uniform, count: 1, size: 9KiB}" '^size.yaml:5:44: error: cluster.node.size: size 9216 B must'
bad owned "  nodes: 4
  node: {node: 3}" "^owned.yaml:5:10: error: cluster.node: 'node' is set by the cluster builder"
bad node_key "  nodes: 4
  node: {patern: uniform}" "^node_key.yaml:5:10: error: cluster.node.patern: unknown key 'patern'; did you mean 'pattern'"
# a link to a port that does not exist stays an error
printf 'name: l\nstop: {duration: 1us}\ncluster: {nodes: 2}\nlinks:\n  - {from: fabric.sw.p9, to: node0.host.net, latency: 1ns}\n' > port.yaml
expect_exit 2 "link to a missing port" -- "$ORRERY" validate port.yaml
expect_out '^port.yaml:5:5: error: .*p9' "link to a missing port"
# a fault on a port the switch lacks
printf 'name: f\nstop: {duration: 1us}\ncluster: {nodes: 2}\nfaults:\n  - {at: 1ns, component: fabric.sw, fault: link_down, port: 7}\n' > fport.yaml
expect_exit 2 "fault on a missing port" -- "$ORRERY" validate fport.yaml
expect_out 'fault port 7 is not a port' "fault on a missing port"

# scale: 1,024 nodes on a k=16 fat-tree, in one line
cat > big.yaml <<'YAML'
name: big
stop: {duration: 200us}
cluster: {nodes: 1024, node: {pattern: permutation, count: 10, size: 4KiB, flows: 4}, fabric: {topology: fat-tree, k: 16}}
YAML
start=$(date +%s)
expect_exit 0 "1024-node fat-tree validates" -- "$ORRERY" validate big.yaml
expect_out '\(1344 components\)' "1024 hosts + 320 switches"
expect_exit 0 "1024-node fat-tree runs" -- "$ORRERY" run big.yaml --no-db --json
rx=$(jq '[.metrics[] | select(.name == "rx_packets" and (.component | endswith(".host"))) | .value] | add' <<< "$OUT")
[ "${rx%.*}" -eq 10240 ] && pass || fail "1024-node permutation delivered $rx of 10240 packets"
el=$(( $(date +%s) - start ))
[ "$el" -lt 30 ] && pass || fail "1024-node fat-tree took ${el}s (limit 30 s)"
finish
