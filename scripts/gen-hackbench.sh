#!/usr/bin/env bash
# Write a hackbench-shaped scheduler scenario for the sched_node hackbench
# generator (workloads/gen/hackbench.c, docs/sched.md): GROUPS groups of FDS
# senders and FDS receivers on a CPUS-core sched_node; every sender sends
# messages (MESSAGE_COST of CPU to send and to receive) to each receiver of
# its group until DURATION ends.
# Usage: gen-hackbench.sh CPUS GROUPS FDS MESSAGE_COST DURATION
set -euo pipefail
cpus=$1 groups=$2 fds=$3 cost=$4 duration=$5
cat <<Y
name: hackbench-${cpus}c-$((groups * fds * 2))t
description: hackbench-shaped load, $groups groups of $fds senders and $fds receivers.
stop: {duration: $duration}
components:
  node0:
    type: sched_node
    cpus: $cpus
    hackbench: {groups: $groups, fds: $fds, loops: 1000000000, message_cost: $cost}
Y
