#!/usr/bin/env bash
# ISA mode through the CLI (docs/isa.md): guest programs run, a faulting
# guest fails the run with exit 1 and its PC and address (no crash), and
# bad ELFs are load-time errors (exit 2) with file:line:col.
. "$(dirname "$0")/lib.sh"
G=$(dirname "$ORRERY")/guest
if [ ! -x "$G/hello-riscv64" ]; then
  fail "no guest programs in $G (install the cross compilers: scripts/deps.sh)"; finish; exit 1
fi

scenario() { # FILE PROG-ARCH ARCH [extra keys]
  cat > "$1" <<EOT
name: t
seed: 1
stop: {duration: 1ms}
machine:
  cores_per_socket: 2
  workloads:
    - {cores: all, elf: $2, arch: $3${4:-}}
EOT
}

scenario ok.yaml "$G/sum-riscv64" riscv64
expect_exit 0 "atomic sum" -- "$ORRERY" run ok.yaml --no-db
expect_out "instructions" "per-core instructions"
expect_out "stall.data_miss" "stall breakdown"
expect_out "l1i.misses" "L1I counters"

scenario fault.yaml "$G/fault-aarch64" aarch64
expect_exit 1 "faulting guest" -- "$ORRERY" run fault.yaml --no-db
expect_out "error: sock0.core0: guest \(core 0, .*fault-aarch64\): load from unmapped address 0x7f000008 at pc 0x[0-9a-f]+" "fault report"

scenario ill.yaml "$G/illegal-riscv64" riscv64
expect_exit 1 "illegal instruction" -- "$ORRERY" run ill.yaml --no-db
expect_out "illegal instruction at pc 0x" "illegal report"

scenario arch.yaml "$G/hello-aarch64" riscv64
expect_exit 2 "wrong architecture" -- "$ORRERY" run arch.yaml --no-db
expect_out "arch.yaml:7:.*is an ELF for aarch64, but the core runs riscv64" "wrong-arch message"

printf 'not an elf\n' > notelf
scenario notelf.yaml "$WORK/notelf" riscv64
expect_exit 2 "not an ELF" -- "$ORRERY" run notelf.yaml --no-db
expect_out "is not an ELF file \(no ELF magic number\)" "non-ELF message"

scenario missing.yaml "nowhere/prog" riscv64
expect_exit 2 "missing ELF" -- "$ORRERY" run missing.yaml --no-db
expect_out "cannot find ELF 'nowhere/prog' \(looked in: " "missing-file message"

scenario small.yaml "$G/hello-riscv64" riscv64 ", ram: 16KiB"
expect_exit 2 "segment outside RAM" -- "$ORRERY" run small.yaml --no-db
expect_out "lies outside guest RAM \[0, 0x4000\)" "segment message"

scenario nosys.yaml "$G/nosys-riscv64" riscv64 ", unknown_syscall: fail"
expect_exit 1 "unknown syscall, fatal" -- "$ORRERY" run nosys.yaml --no-db
expect_out "unknown syscall 999 at pc 0x" "unknown-syscall message"

# the guest's output is in the trace: same digest twice, and a different
# program (same instructions but other bytes written) changes it
scenario h.yaml "$G/hello-riscv64" riscv64
d1=$("$ORRERY" run h.yaml --no-db --json | jq -r .digest)
d2=$("$ORRERY" run h.yaml --no-db --json | jq -r .digest)
[ "$d1" = "$d2" ] && pass || fail "hello: digests differ between runs ($d1, $d2)"
# the guest's writes are shown after the run, and in --json
expect_exit 0 "isa-sum runs" -- "$ORRERY" run "$SRC/scenarios/isa-sum.yaml" --no-db
expect_out '^output of sock0\.core0:$' "guest output is shown"
expect_out '^sum: 2002000 \(exact\)$' "the guest's line"
"$ORRERY" run "$SRC/scenarios/isa-sum.yaml" --no-db --json > sum.json
[ "$(jq -r '.output["sock0.core0"]' sum.json)" = "sum: 2002000 (exact)" ] && pass ||
  fail "guest output in --json"
# a guest that never exits: a distinct stop reason and exit 1, never 0
cat > spin.yaml <<EOT
name: t
seed: 1
stop: {duration: 100us}
machine:
  cores_per_socket: 1
  workloads:
    - {cores: all, elf: $G/spin-riscv64, arch: riscv64}
EOT
expect_exit 1 "unfinished guest" -- "$ORRERY" run spin.yaml --no-db
expect_out "stopped   workloads unfinished" "stop reason"
expect_out "error: the run ended before its programs did: sock0.core0 did not finish" "names the core"

# abi linux in a scenario: argv, env and a mapped-in file (relative to the
# scenario file); input errors are exit 2 with file:line:col
linux() { # FILE PROG-ARCH ARCH [extra keys] [cores]
  cat > "$1" <<EOT
name: t
seed: 1
stop: {duration: 50ms}
machine:
  cores_per_socket: ${5:-1}
  workloads:
    - {cores: all, elf: $2, arch: $3, abi: linux, stack: 1MiB${4:-}}
EOT
}
if [ -x "$G/libc-mallocprintf-riscv64" ]; then
  linux lx.yaml "$G/libc-mallocprintf-aarch64" aarch64 ', argv: [mp, "a b"], env: [WHO=yaml]'
  expect_exit 0 "abi linux scenario" -- "$ORRERY" run lx.yaml --no-db
  expect_out "argv\[1\] = a b" "argv from the scenario"
  expect_out "WHO=yaml" "env from the scenario"
  mkdir -p sub && printf 'one two\n' > sub/in.txt
  linux sub/f.yaml "$G/libc-fileread-riscv64" riscv64 ', argv: [f, /in], files: [{path: /in, from: in.txt}]'
  expect_exit 0 "mapped-in file relative to the scenario" -- "$ORRERY" run sub/f.yaml --no-db
  expect_out "^1 2 8 /in \(size 8" "the program read it"
  linux nofile.yaml "$G/libc-fileread-riscv64" riscv64 ', files: [{path: /in, from: nosuch.txt}]'
  expect_exit 2 "missing mapped-in file" -- "$ORRERY" run nofile.yaml --no-db
  expect_out "nofile.yaml:7:[0-9]+: .*cannot read the file '.*nosuch.txt' to map in for '/in'" "names the file and position"
  big=$(head -c 9000 /dev/zero | tr '\0' x)
  linux big.yaml "$G/libc-crc-riscv64" riscv64 ", argv: [c, $big]"
  sed -i 's/stack: 1MiB/stack: 16KiB/' big.yaml
  expect_exit 2 "argv larger than the stack allows" -- "$ORRERY" run big.yaml --no-db
  expect_out "big.yaml:7:[0-9]+: .*do not fit in a quarter of the 16384-byte stack" "argv too large"
  linux two.yaml "$G/libc-crc-riscv64" riscv64 "" 2
  expect_exit 2 "two cores for one Linux process" -- "$ORRERY" run two.yaml --no-db
  expect_out "abi linux runs one process on one core" "one core only"
  cat > mix.yaml <<EOT
name: mix
stop: {duration: 1ms}
machine:
  cores_per_socket: 2
  workloads:
    - {cores: 0, elf: $G/hello-riscv64, arch: riscv64}
    - {cores: 1, elf: $G/libc-crc-riscv64, arch: riscv64, abi: linux}
EOT
  expect_exit 2 "a bare guest and a Linux process in one run" -- "$ORRERY" run mix.yaml --no-db
  expect_out "does not share a run with bare isacores" "bare and linux do not mix"
  scenario bare.yaml "$G/hello-riscv64" riscv64 ", argv: [x]"
  expect_exit 2 "argv on a bare guest" -- "$ORRERY" run bare.yaml --no-db
  expect_out "bare.yaml:7:[0-9]+: .*'argv' needs abi: linux" "argv needs abi linux"
  linux crash.yaml "$G/libc-crash-riscv64" riscv64
  expect_exit 0 "a crashing process ends, the run does not fail" -- "$ORRERY" run crash.yaml --no-db
  expect_out "signal +11" "signal metric"
  expect_out "exit_code +139" "exit status 139"
  # several processes on one machine, each with its own address space: the
  # same program twice (same virtual addresses, each its own heap and
  # stack) and a crashing one; each reports its own exit status
  cat > procs.yaml <<EOT
name: procs
seed: 1
stop: {duration: 1s}
machine:
  cores_per_socket: 3
  workloads:
    - {cores: 0, elf: $G/libc-mallocprintf-riscv64, arch: riscv64, abi: linux, argv: [one], env: [WHO=first]}
    - {cores: 1, elf: $G/libc-mallocprintf-riscv64, arch: riscv64, abi: linux, argv: [two], env: [WHO=second]}
    - {cores: 2, elf: $G/libc-crash-aarch64, arch: aarch64, abi: linux}
EOT
  expect_exit 0 "three processes, separate address spaces" -- "$ORRERY" run procs.yaml --no-db
  expect_out "WHO=first" "the first process's environment"
  expect_out "WHO=second" "the second process's environment"
  n=$(grep -c "big block 4096 KiB sum 130560" <<< "$OUT")
  [ "$n" = 2 ] && pass || fail "both copies should finish their 4 MiB malloc check ($n did)"
  n=$(grep -cE "exit_code +0$" <<< "$OUT")
  [ "$n" = 2 ] && pass || fail "two processes should exit 0 ($n did)"
  expect_out "exit_code +139" "the third process's status"
  sed -i 's/cores_per_socket: 3/cores_per_socket: 3\n  memory: {size: 128MiB}/' procs.yaml
  grep -q "memory:" procs.yaml || fail "could not shrink the memory"
  expect_exit 2 "processes beyond the homes' memory" -- "$ORRERY" run procs.yaml --no-db
  expect_out "process memory \[0x[0-9a-f]+, 0x[0-9a-f]+\) .* must lie in one memory range of 'homes'" "names the range that does not fit"
else
  fail "no libc guests in $G (scripts/deps.sh)"
fi
finish
