#!/usr/bin/env bash
# The machine: section: bad descriptions are load-time errors with
# file:line:col and the key path (exit 2, nothing run); a good one builds.
. "$(dirname "$0")/lib.sh"

cat > base.yaml <<'YAML'
name: m
stop: {duration: 1us}
machine:
  sockets: 2
  cores_per_socket: 2
  memory: {size: 1GiB}
YAML

bad() { # NAME "yaml lines under machine:" EXPECTED-REGEX
  printf 'extends: base.yaml\nmachine:\n%s\n' "$2" > "$1.yaml"
  expect_exit 2 "$1" -- "$ORRERY" validate "$1.yaml"
  expect_out "$3" "$1"
}

bad geometry "  l1d: {size: 40KiB, ways: 8}" \
  '^geometry.yaml:3:15: error: machine.l1d: size 40KiB is not ways × sets × 64 B'
bad llc_geometry "  llc: {size: 3MiB, ways: 16}" '^llc_geometry.yaml:3:15: error: machine.llc: size 3MiB'
bad protocol "  protocol: mosi" \
  "^protocol.yaml:3:13: error: machine.protocol: unknown coherence protocol 'mosi'"
bad topology "  protocol: mesi-snoop" \
  "^topology.yaml:3:13: error: machine.protocol: protocol 'mesi-snoop' snoops within one socket, but this machine has 2 sockets"
bad not_square "  distances: [[10, 21], [21, 10], [1, 2]]" \
  '^not_square.yaml:3:14: error: machine.distances: expected 2 rows'
bad row_length "  distances: [[10, 21], [21]]" \
  '^row_length.yaml:3:25: error: machine.distances.1: expected a list of 2 distances \(the matrix must be square\)'
bad asymmetric "  distances: [[10, 21], [31, 10]]" \
  '^asymmetric.yaml:3:26: error: machine.distances: distance \[1\]\[0\] = 31 but \[0\]\[1\] = 21'
bad overlap "  cxl:
    - {socket: 0, base: 1GiB, size: 4GiB}" \
  "^overlap.yaml:4:7: error: machine.memory: range 'cxl0' \[0x40000000, 0x140000000\) overlaps 'sock1.mem'"
bad cxl_socket "  cxl:
    - {socket: 3, size: 4GiB}" '^cxl_socket.yaml:4:16: error: machine.cxl.0: socket 3 does not exist'
bad cxl_device "  cxl:
    - {size: 4GiB, device: fast}" '^cxl_device.yaml:4:28: error: machine.cxl.0.device: missing number'
bad dram_key "  memory: {size: 1GiB, chanels: 2}" \
  "^dram_key.yaml:3:24: error: machine.memory.chanels: unknown key 'chanels'; did you mean 'channels'"
bad cores "  workloads:
    - {cores: \"0-9\", pattern: seq}" "^cores.yaml:4:15: error: machine.workloads.0: cores: '0-9'"
bad twice "  workloads:
    - {cores: all, pattern: seq}
    - {cores: 1, pattern: seq}" '^twice.yaml:5:15: error: machine.workloads.1: core 1 already runs machine.workloads.0'
bad pattern_key "  workloads:
    - {cores: all, pattern: seq, strid: 64B}" \
  "^pattern_key.yaml:4:34: error: machine.workloads.0.strid: unknown key 'strid'; did you mean 'stride'"
bad mutation "  mutation: drop-everything" "^mutation.yaml:3:13: error: machine.mutation: unknown mutation"
# that last one loads (the address is only reached at run time): it fails the run instead
printf 'extends: base.yaml\nstop: {duration: 1ms}\nmachine:\n  workloads:\n    - {cores: 0, pattern: seq, base: 8GiB}\n' > far.yaml
expect_exit 1 "an address outside memory fails the run" -- "$ORRERY" run far.yaml --no-db
expect_out 'outside every memory range of the machine' "address outside memory"

# a builder type is not a component
printf 'name: x\nstop: {duration: 1us}\ncomponents:\n  m: {type: machine}\n' > comp.yaml
expect_exit 2 "machine as a component" -- "$ORRERY" validate comp.yaml
expect_out "builds a whole section: use the top-level .machine:. key" "machine as a component"

# a good description builds the expected components
printf 'extends: base.yaml\nmachine:\n  cxl: [{socket: 1, size: 1GiB, switch: true}]\n' > good.yaml
expect_exit 0 "a good machine validates" -- "$ORRERY" validate good.yaml
expect_out '\(14 components\)' "4 cores, 2 routers, 3 homes, 2 dram, cxl mem + switch, numa"
finish
