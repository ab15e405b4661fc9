#!/usr/bin/env bash
# Processes sharing a core (docs/exec.md "Processes sharing a core"):
# several machine.workloads entries with abi: linux naming one core are
# processes of the reference kernel on that core, each in its own address
# space, time-sliced by its scheduler. Checks: two copies of a CPU-bound
# program take turns (each finishes at about twice its solo time, the
# second starts long before the first ends, the address space changes at
# least every few ticks) and compute the same result; the L1I is tagged by
# physical line, so two copies miss about twice as often as one; a process
# that crashes ends alone; a threaded program shares the core with others;
# the run is deterministic; and what cannot share a core is refused with
# its position. Prints the figures it judges.
. "$(dirname "$0")/lib.sh"
G=$(dirname "$ORRERY")/guest
if [ ! -x "$G/libc-timeshare-riscv64" ]; then
  fail "no libc guests in $G (scripts/deps.sh)"; finish; exit 1
fi
metric() { # metric JSON COMPONENT NAME
  jq -r --arg c "$2" --arg n "$3" '[.metrics[] | select(.component == $c and .name == $n) | .value][0]' "$1"
}
C=sock0.core0
# scenario FILE "ENTRY LINES": a one-socket, two-core machine
scenario() {
  printf 'name: share\nseed: 1\nstop: {duration: 2s}\nmachine:\n  cores_per_socket: 2\n  workloads:\n%s\n' "$2" > "$1"
}
ts() { # ts NAME [CORE]: the timeshare program as a workloads entry
  echo "    - {cores: ${2:-0}, elf: $G/libc-timeshare-riscv64, arch: riscv64, abi: linux, argv: [t, \"60\", $1]}"
}
# field OUTPUT NAME KEY: a number from "NAME: ... KEY N us"
field() { sed -n "s/^$2: .*$3 \([0-9]*\) us.*/\1/p" <<< "$1"; }

scenario solo.yaml "$(ts A)"
expect_exit 0 "one process alone" -- "$ORRERY" run solo.yaml --no-db
solo_out=$OUT
solo_last=$(field "$solo_out" A "last at")
"$ORRERY" run solo.yaml --no-db --json > solo.json 2>/dev/null
scenario duo.yaml "$(ts A)
$(ts B)"
expect_exit 0 "two processes on one core" -- "$ORRERY" run duo.yaml --no-db
duo_out=$OUT
"$ORRERY" run duo.yaml --no-db --json > duo.json 2>/dev/null
a_start=$(field "$duo_out" A "started at"); a_last=$(field "$duo_out" A "last at")
b_start=$(field "$duo_out" B "started at"); b_last=$(field "$duo_out" B "last at")
switches=$(metric duo.json $C process_switches)
echo "solo: last round at $solo_last us; shared: A $a_start..$a_last us, B $b_start..$b_last us, $switches address-space switches"
if [ -n "$solo_last" ] && [ -n "$a_last" ] && [ -n "$b_last" ]; then
  # each gets about half the core: it ends at about twice its solo time
  for x in "$a_last" "$b_last"; do
    awk -v x="$x" -v s="$solo_last" 'BEGIN { exit !(x >= 1.8 * s && x <= 2.2 * s) }' && pass \
      || fail "a shared process should end at 1.8-2.2x its solo time ($x us vs $solo_last us)"
  done
  # turns, not one after the other: the later one starts long before the other ends
  late=$(( a_start > b_start ? a_start : b_start )); early_end=$(( a_start > b_start ? b_last : a_last ))
  [ "$late" -lt $(( early_end / 2 )) ] && pass \
    || fail "the second process should start before the first is half done ($late vs $early_end us)"
else
  fail "timeshare output missing: $duo_out"
fi
[ "${switches%.*}" -ge 4 ] && pass || fail "expected >= 4 address-space switches, got $switches"
xa=$(sed -n 's/^A: .* x \([0-9a-f]*\)$/\1/p' <<< "$duo_out"); xb=$(sed -n 's/^B: .* x \([0-9a-f]*\)$/\1/p' <<< "$duo_out")
xs=$(sed -n 's/^A: .* x \([0-9a-f]*\)$/\1/p' <<< "$solo_out")
[ -n "$xa" ] && [ "$xa" = "$xb" ] && [ "$xa" = "$xs" ] && pass \
  || fail "both copies should compute what one does alone ($xa, $xb, $xs)"
[ "$(metric duo.json $C proc0.pid)" = 1 ] && [ "$(metric duo.json $C proc1.pid)" = 2 ] && pass \
  || fail "pids 1 and 2 in workloads order"
[ "$(metric duo.json $C processes)" = 2 ] && [ "$(metric duo.json $C exited)" = 1 ] && pass \
  || fail "two processes, both exited"
# the L1I is tagged by physical line: the copies' code is in different
# memory, so together they miss about twice what one does
m1=$(metric solo.json $C l1i.misses); m2=$(metric duo.json $C l1i.misses)
echo "L1I misses: alone $m1, two copies $m2"
awk -v a="$m1" -v b="$m2" 'BEGIN { exit !(b >= 1.6 * a) }' && pass \
  || fail "two copies should miss the L1I at least 1.6x as often as one ($m2 vs $m1)"
# determinism: the same digest twice
d1=$(sed -n 's/^digest *//p' <<< "$duo_out")
"$ORRERY" run duo.yaml --no-db > again.txt 2>&1
[ -n "$d1" ] && [ "$d1" = "$(sed -n 's/^digest *//p' again.txt)" ] && pass || fail "the digest should repeat"

# three processes on core 0 (two copies of one program and a threaded
# one) and a crashing one that shares core 1 with a timeshare copy
scenario mixed.yaml "    - {cores: 0, elf: $G/libc-mallocprintf-riscv64, arch: riscv64, abi: linux, argv: [one], env: [WHO=first]}
    - {cores: 0, elf: $G/libc-mallocprintf-riscv64, arch: riscv64, abi: linux, argv: [two], env: [WHO=second]}
    - {cores: 0, elf: $G/libc-threads-riscv64, arch: riscv64, abi: linux}
    - {cores: 1, elf: $G/libc-crash-riscv64, arch: riscv64, abi: linux}
$(ts C 1)"
expect_exit 0 "four processes, two cores" -- "$ORRERY" run mixed.yaml --no-db
expect_out "WHO=first" "the first copy's environment"
expect_out "WHO=second" "the second copy's environment"
n=$(grep -c "big block 4096 KiB sum 130560" <<< "$OUT")
[ "$n" = 2 ] && pass || fail "both copies should finish their malloc check ($n did)"
expect_out "^threads: ok" "the threaded process beside them"
expect_out "^C: 60 rounds" "the process beside the crashing one finishes"
"$ORRERY" run mixed.yaml --no-db --json > mixed.json 2>/dev/null
[ "$(metric mixed.json sock0.core1 proc0.signal)" = 11 ] && [ "$(metric mixed.json sock0.core1 proc1.exit_code)" = 0 ] && pass \
  || fail "core 1: the crash is SIGSEGV (proc0.signal 11) and the other exits 0"
[ "$(metric mixed.json $C threads)" -ge 7 ] && pass || fail "core 0 ran 1 + 1 + 5 threads"

# what cannot share a core
scenario bare.yaml "    - {cores: 0, elf: $G/hello-riscv64, arch: riscv64}
$(ts A)"
expect_exit 2 "a bare guest and a process on one core" -- "$ORRERY" run bare.yaml --no-db
expect_out "bare.yaml:8:[0-9]+: .*core 0 already runs machine.workloads.0 \(only Linux processes" "only Linux processes share"
scenario key.yaml "$(ts A)
    - {cores: 0, elf: $G/libc-crc-riscv64, arch: riscv64, abi: linux, timing: false}"
expect_exit 2 "a core setting on the second process" -- "$ORRERY" run key.yaml --no-db
expect_out "key.yaml:8:[0-9]+: .*'timing' is a setting of core 0" "names the core setting"
scenario two.yaml "$(ts A)
    - {cores: 0-1, elf: $G/libc-crc-riscv64, arch: riscv64, abi: linux}"
expect_exit 2 "a process sharing a core on two cores" -- "$ORRERY" run two.yaml --no-db
expect_out "two.yaml:8:[0-9]+: .*name just core 0 to share it" "one core only"
scenario arch.yaml "$(ts A)
    - {cores: 0, elf: $G/libc-crc-aarch64, arch: aarch64, abi: linux}"
expect_exit 2 "another architecture on the core" -- "$ORRERY" run arch.yaml --no-db
expect_out "arch.yaml:8:[0-9]+: error: machine.workloads.1: processes sharing a core run its architecture \(riscv64, from machine.workloads.0\)" "names the core's architecture"
scenario miss.yaml "$(ts A)
    - {cores: 0, elf: $G/no-such-program, arch: riscv64, abi: linux}"
expect_exit 2 "the second process's program is missing" -- "$ORRERY" run miss.yaml --no-db
expect_out "miss.yaml:8:[0-9]+: .*cannot open ELF" "names the missing program"
finish
