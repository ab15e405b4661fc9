#!/usr/bin/env bash
# The cluster: section and the fabric (docs/fabric.md): the shipped fabric
# scenarios run to completion; bad descriptions are load-time errors at
# file:line:col (exit 2, nothing run); a 1,024-node k=16 fat-tree builds
# and runs a short permutation within 30 s even in a -O0 build. Node
# templates: cluster-nics runs (every NIC hears its ring neighbour), template
# mistakes are reported once at the template with their key path, and a
# 1,024-node template of memory + root complex + NIC validates quickly.
. "$(dirname "$0")/lib.sh"

for s in incast fattree faults; do
  expect_exit 0 "fabric-$s runs" -- "$ORRERY" run "$SRC/scenarios/fabric-$s.yaml" --no-db --json
  expect_out '"stop_reason": *"workloads finished"' "fabric-$s finishes (no hang)"
done
expect_exit 0 "cluster-nics runs" -- "$ORRERY" run "$SRC/scenarios/cluster-nics.yaml" --no-db --json
expect_out '"stop_reason": *"workloads finished"' "cluster-nics finishes"
rx=$(jq -c '[.metrics[] | select(.name == "rx_packets" and (.component | endswith(".nic"))) | .value]' <<< "$OUT")
[ "$rx" = "[200,200,200,200]" ] && pass || fail "cluster-nics: NIC rx_packets $rx, expected 200 each"
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

# node templates: each mistake once, at the template, with its key path
T='  nodes: 4
  node:
    components:
      mem: {type: flatmem, size: 1GiB, latency: 90ns}
      rc: {type: pcie_rc, gen: 3, width: 8}
      nic: {type: nic, gen: 3, width: 8, tx: {size: 1KiB, dest: "${next}", count: 100}}
    links:
      - {from: rc.mem, to: mem.in0, latency: 20ns}'
once() { # NAME: the last bad case printed exactly one error
  [ "$(grep -c 'error:' <<< "$OUT")" -eq 1 ] && pass || fail "$1: expected one error, got: $OUT"
}
bad t_port "$T
      - {from: rc.dev0, to: nic.pci, latency: 300ns}" \
  "^t_port.yaml:12:29: error: cluster.node.links.1.to: component 'nic' \(nic\) has no port 'pci' \(ports: pcie, net\)$"
once t_port
bad t_comp "$T
      - {from: rc.dev0, to: nicc.pcie, latency: 300ns}" \
  "^t_comp.yaml:12:29: error: cluster.node.links.1.to: no component 'nicc' in the node template; did you mean 'nic'\? \(components: mem, rc, nic\)$"
once t_comp
bad t_type "${T/type: nic,/type: nix,}" \
  "^t_type.yaml:9:19: error: cluster.node.components.nic.type: unknown component type 'nix'; did you mean 'nic'\?"
once t_type
bad t_node "${T/type: nic,/type: nic, node: 2,}" \
  "^t_node.yaml:9:24: error: cluster.node.components.nic: 'node' is set by the cluster builder$"
bad t_nodes "${T/type: flatmem,/type: flatmem, nodes: 2,}" \
  "^t_nodes.yaml:7:28: error: cluster.node.components.mem: 'nodes' is set by the cluster builder$"
bad t_mtu "${T/type: nic,/type: nic, mtu: 8KiB,}
  fabric: {link: {mtu: 4KiB}}" \
  "^t_mtu.yaml:9:29: error: cluster.node.components.nic.mtu: mtu 8192 B is above the fabric link's mtu \(4096 B"
bad t_subst "${T/\$\{next\}/\$\{nxt\}}" \
  "^t_subst.yaml:9:65: error: cluster.node.components.nic.tx.dest: unknown substitution '\\$\{nxt\}'"
bad t_net "$T
      - {from: rc.dev0, to: nic.pcie, latency: 300ns}
    net: nic.eth" \
  "^t_net.yaml:13:10: error: cluster.node.net: component 'nic' \(nic\) has no port 'eth'"
bad t_nonet "  nodes: 4
  node: {components: {mem: {type: flatmem}}}" \
  "^t_nonet.yaml:5:9: error: cluster.node: no component has a port 'net'"
bad t_key "$T
    nett: nic.net" "^t_key.yaml:12:5: error: cluster.node.nett: unknown key 'nett'; did you mean 'net'"
# a template NIC's mtu follows the fabric's: a tx size above it is an error
bad t_size "${T/size: 1KiB/size: 3KiB}
      - {from: rc.dev0, to: nic.pcie, latency: 300ns}
  fabric: {link: {mtu: 2KiB}}" "^t_size.yaml:9:53: error: cluster.node.components.nic: tx size 3072 B .*mtu"
# faults address template components like any other
{ printf 'name: f\nstop: {duration: 1us}\ncluster:\n%s\n      - {from: rc.dev0, to: nic.pcie, latency: 300ns}\n' "$T"
  printf 'faults:\n  - {at: 1ns, component: node3.nic, fault: link_down}\n'; } > t_fault.yaml
expect_exit 2 "fault on a template NIC" -- "$ORRERY" validate t_fault.yaml
expect_out "^t_fault.yaml:14:5: error: faults.0: component 'node3.nic' \(nic\) has no fault 'link_down'" "fault on a template NIC"
# 1,024 nodes of memory + root complex + NIC, in one section
sed -e 's/nodes: 4$/nodes: 1024/' -e 's/count: 200/count: 2/' "$SRC/scenarios/cluster-nics.yaml" > nics1024.yaml
start=$(date +%s%N)
expect_exit 0 "1024-node template validates" -- "$ORRERY" validate nics1024.yaml
expect_out '\(3073 components\)' "1024 x 3 template components + 1 switch"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 10000 ] && pass || fail "1024-node template took ${ms} ms to validate (limit 10 s)"

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
