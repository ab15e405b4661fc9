#!/usr/bin/env bash
# Write a hackbench-shaped scheduler scenario: GROUPS groups of SENDERS
# senders and as many receivers on a CPUS-core sched_node. A sender computes
# for WORK then wakes its group's receivers; a receiver waits for its group,
# then computes for WORK. Usage: gen-hackbench.sh CPUS GROUPS SENDERS WORK DURATION
set -euo pipefail
cpus=$1 groups=$2 senders=$3 work=$4 duration=$5
cat <<Y
name: hackbench-${cpus}c-$((groups * senders * 2))t
description: hackbench-shaped load, $groups groups of $senders senders and $senders receivers.
stop: {duration: $duration}
components:
  node0:
    type: sched_node
    cpus: $cpus
    tasks:
Y
for g in $(seq 0 $((groups - 1))); do
  echo "      - {name: s$g, count: $senders, phases: [{run: $work}, {wake: g$g}]}"
  echo "      - {name: r$g, count: $senders, phases: [{wait: g$g}, {run: $work}]}"
done
