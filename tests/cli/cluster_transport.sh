#!/usr/bin/env bash
# scenarios/cluster-transport.yaml: the kernel's RDMA transport on 4 rnics,
# node2's RNIC dies at 150us. Nodes 1 and 3 (its ring neighbours) mark node 2
# down, node 2 marks both its peers down, every message between live nodes
# is delivered intact and in order, and the run ends because the workloads
# finished, long before the 20 ms stop time (no hang).
. "$(dirname "$0")/lib.sh"

expect_exit 0 "cluster-transport runs" -- "$ORRERY" run "$SRC/scenarios/cluster-transport.yaml" --no-db --json
echo "$OUT" > r.json
m() { jq -r --arg c "$1" --arg n "$2" '.metrics[] | select(.component == $c and .name == $n) | .value' r.json; }
check() { # DESC GOT WANT
  [ "$2" = "$3" ] && pass || fail "$1: got '$2', expected '$3'"
}

check "stop reason" "$(jq -r .stop_reason r.json)" "workloads finished"
t=$(jq -r .sim_time_ps r.json)
[ -n "$t" ] && [ "$t" -lt 5000000000 ] && pass || fail "run took ${t} ps: not well before the 20 ms stop (a hang?)"

# node 2 is down for exactly its ring neighbours, and they for it
check "node1 sees node2 down" "$(m node1.kernel peer2.down)" 1
check "node3 sees node2 down" "$(m node3.kernel peer2.down)" 1
check "node1 peers down" "$(m node1.kernel peers_down)" 1
check "node3 peers down" "$(m node3.kernel peers_down)" 1
check "node2 peers down" "$(m node2.kernel peers_down)" 2
check "node0 peers down" "$(m node0.kernel peers_down)" 0
for n in 0 1 2 3; do check "node$n connected" "$(m node$n.kernel peers_connected)" 2; done

# every message between live nodes delivered (200 each way on 0-1 and 0-3)
check "0 from 1" "$(m node0.kernel peer1.delivered)" 200
check "0 from 3" "$(m node0.kernel peer3.delivered)" 200
check "1 from 0" "$(m node1.kernel peer0.delivered)" 200
check "3 from 0" "$(m node3.kernel peer0.delivered)" 200
# some traffic with node 2 happened before it died, not all
d=$(m node1.kernel peer2.delivered)
[ "$d" -gt 0 ] && [ "$d" -lt 200 ] && pass || fail "node1 got $d messages from node2 (want 1..199)"

# the data itself (scatter-to-CQE) and RC order, on every node
for n in 0 1 2 3; do
  check "node$n bad messages" "$(m node$n.kernel bad_messages)" 0
  check "node$n misordered" "$(m node$n.kernel misordered_messages)" 0
done

# the RNICs saw why: retries exhausted towards the dead node
check "node1 rnic retry_exc" "$(m node1.rnic cqe_retry_exc_err)" 1
check "node3 rnic retry_exc" "$(m node3.rnic cqe_retry_exc_err)" 1

# deterministic: the same digest twice
d1=$(jq -r .digest r.json)
d2=$("$ORRERY" run "$SRC/scenarios/cluster-transport.yaml" --no-db --json | jq -r .digest)
check "digest repeats" "$d2" "$d1"

finish
