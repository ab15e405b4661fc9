#!/usr/bin/env bash
# `orrery exec` (docs/exec.md): the static glibc corpus (workloads/guest/
# linux) runs on riscv64 and aarch64 with the same output and exit status
# as under qemu-user, a crash is SIGSEGV (139) with PC and address, files
# map in, bad programs exit 125; instruction counts are printed next to
# qemu's (-singlestep -d exec,nochain) with MIPS and syscall counts.
. "$(dirname "$0")/lib.sh"
G=$(dirname "$ORRERY")/guest
if [ ! -x "$G/libc-crc-riscv64" ] || [ ! -x "$G/libc-crc-aarch64" ]; then
  fail "no libc guests in $G (libc6-dev-riscv64-cross, libc6-dev-arm64-cross: scripts/deps.sh)"
  finish; exit 1
fi
QEMU=1
command -v qemu-riscv64 >/dev/null && command -v qemu-aarch64 >/dev/null || {
  fail "qemu-user is not installed (scripts/deps.sh)"; QEMU=0; }
printf 'alpha beta\ngamma\n\ndelta epsilon zeta\n' > input.txt
cp "$G"/libc-* .

for arch in riscv64 aarch64; do
  for p in list matrix crc sort; do
    expect_exit 0 "$p-$arch self-check" -- "$ORRERY" exec --no-db -q ./libc-$p-$arch
    expect_out "^$p: .* ok$" "$p-$arch prints its check"
    if [ $QEMU -eq 1 ]; then
      want=$(env -i qemu-$arch ./libc-$p-$arch 2>&1)
      got=$("$ORRERY" exec --no-db -q ./libc-$p-$arch 2>&1)
      [ "$want" = "$got" ] && pass || fail "$p-$arch: output differs from qemu-$arch: '$got' vs '$want'"
    fi
  done
  expect_exit 0 "malloc+printf $arch" -- "$ORRERY" exec --no-db -q --env WHO=tester ./libc-mallocprintf-$arch one "two words"
  expect_out "argv\[2\] = two words" "argv reaches main ($arch)"
  expect_out "WHO=tester" "environment reaches getenv ($arch)"
  expect_out "big block 4096 KiB sum 130560" "a 4 MiB malloc (mmap) works ($arch)"
  if [ $QEMU -eq 1 ]; then
    want=$(env -i WHO=tester qemu-$arch ./libc-mallocprintf-$arch one "two words" 2>&1)
    [ "$want" = "$OUT" ] && pass || fail "mallocprintf-$arch differs from qemu: '$OUT' vs '$want'"
  fi
  expect_exit 0 "mapped-in file $arch" -- "$ORRERY" exec --no-db -q --file /data/input.txt=input.txt ./libc-fileread-$arch
  expect_out "^4 6 37 /data/input.txt \(size 37, starts \"alpha\"\)" "wc of the mapped file ($arch)"
  expect_out "^mmap: same bytes, after the end 0, shared writable EACCES" "mmap of the mapped-in file ($arch)"
  expect_exit 2 "a file not mapped in ($arch)" -- "$ORRERY" exec --no-db -q ./libc-fileread-$arch /nosuch
  expect_out "/nosuch: No such file or directory" "ENOENT reaches perror ($arch)"
  expect_exit 139 "NULL store ($arch)" -- "$ORRERY" exec --no-db ./libc-crash-$arch
  expect_out "about to crash" "output before the crash ($arch)"
  expect_out "SIGSEGV: store to unmapped address 0 at pc 0x[0-9a-f]+" "the crash names address and PC ($arch)"
  expect_out "killed, status 139" "summary says killed ($arch)"
  timed=$(grep -o 'SIGSEGV.*' <<< "$OUT" | head -1)
  "$ORRERY" exec --no-db --functional ./libc-crash-$arch > /dev/null 2> func.txt
  # functional mode's PC is the decoded or exact one; timed mode must name
  # the same instruction (it named a stale PC in _start before)
  [ "$timed" = "$(grep -o 'SIGSEGV.*' func.txt | head -1)" ] && pass ||
    fail "crash PC differs between timed and functional ($arch): $timed vs $(head -1 func.txt)"
done

# threads: pthread create/join, a contended mutex, TLS, a spinner that only
# the scheduler's tick can preempt on the one core, a nanosleep; same output
# as qemu-user; threads and context switches in the summary; a thread that
# waits on its own mutex is a deadlock the kernel reports (qemu hangs)
for arch in riscv64 aarch64; do
  expect_exit 0 "pthreads $arch" -- "$ORRERY" exec --no-db ./libc-threads-$arch
  expect_out "total 20000 \(want 20000\), joined values 60" "mutex-protected total and join values ($arch)"
  expect_out "spinner saw the flag: yes" "a spinning thread is preempted ($arch)"
  expect_out "futex timeout: ETIMEDOUT" "a futex wait times out with ETIMEDOUT in a0 ($arch)"
  expect_out "orrery exec: 7 threads, [0-9]+ context switches" "threads and switches in the summary ($arch)"
  sw=$(grep -o '[0-9]* context switches' <<< "$OUT"); sw=${sw%% *}
  [ "${sw:-0}" -ge 7 ] && pass || fail "threads-$arch: only ${sw:-0} context switches for 7 threads"
  expect_out "syscalls:.* exit 6 .*futex [0-9]+.* clone 6" "thread exits, futexes and clones counted ($arch)"
  echo "BENCH-INFO exec threads-$arch: $(grep -o '[0-9]* instructions.*MIPS.*' <<< "$OUT"); $(grep -o '[0-9]* threads, .*' <<< "$OUT")"
  if [ $QEMU -eq 1 ]; then
    want=$(env -i qemu-$arch ./libc-threads-$arch 2>&1)
    got=$("$ORRERY" exec --no-db -q ./libc-threads-$arch 2>&1)
    [ "$want" = "$got" ] && pass || fail "threads-$arch: output differs from qemu-$arch: '$got' vs '$want'"
    got=$("$ORRERY" exec --no-db -q --functional ./libc-threads-$arch 2>&1)
    [ "$want" = "$got" ] && pass || fail "threads-$arch functional: output differs from qemu-$arch: '$got' vs '$want'"
  fi
  expect_exit 125 "self-deadlock $arch" -- "$ORRERY" exec --no-db ./libc-threads-$arch deadlock
  expect_out "locking twice" "output before the deadlock ($arch)"
  expect_out "deadlock: every thread of the process \(1\) waits on a futex" "the deadlock is named ($arch)"
done
# signals: handlers for SIGSEGV and SIGILL run (si_addr, si_code), return
# through rt_sigreturn with the registers the handler left (pc moved past
# the fault; a value held in a register survives), SA_RESETHAND restores the
# default (then 139); a stack overflow hits the guard page and dies of
# SIGSEGV naming it (no handler can run on the overflowed stack)
for arch in riscv64 aarch64; do
  expect_exit 139 "signal handlers $arch" -- "$ORRERY" exec --no-db ./libc-signals-$arch
  expect_out "SIGSEGV handled: sig 11 code 1 addr 0x40, register kept 12345" "SIGSEGV handler and sigreturn ($arch)"
  expect_out "SIGILL handled: sig 4" "SIGILL handler ($arch)"
  expect_out "read-only page: code 2, at the page yes, value 41" "mprotect honoured: SEGV_ACCERR at the read-only page ($arch)"
  expect_out "writable again: 42" "mprotect back to writable ($arch)"
  expect_out "SIGUSR1 handled: sig 10 code -6, 5 handler calls" "raise() runs the handler, SI_TKILL ($arch)"
  expect_out "once more: addr 0x50, 6 handler calls" "SA_RESETHAND ($arch)"
  expect_out "SIGSEGV: store to unmapped address 0x58 at pc" "the default action after SA_RESETHAND ($arch)"
  expect_out "rt_sigreturn 6" "six returns from handlers ($arch)"
  if [ $QEMU -eq 1 ]; then
    want=$(env -i qemu-$arch ./libc-signals-$arch 2>/dev/null)
    got=$("$ORRERY" exec --no-db -q ./libc-signals-$arch 2>/dev/null)
    [ "$want" = "$got" ] && pass || fail "signals-$arch: output differs from qemu-$arch: '$got' vs '$want'"
  fi
  expect_exit 139 "stack overflow $arch" -- "$ORRERY" exec --no-db ./libc-signals-$arch overflow
  expect_out "SIGSEGV: store to unmapped address 0x[0-9a-f]+ at pc 0x[0-9a-f]+ \(the stack's guard page: stack overflow\)" "the overflow names the guard page ($arch)"
done

d1=$("$ORRERY" exec --no-db ./libc-threads-riscv64 2>&1 >/dev/null | grep -o 'digest [0-9a-f]*')
d2=$("$ORRERY" exec --no-db ./libc-threads-riscv64 2>&1 >/dev/null | grep -o 'digest [0-9a-f]*')
[ -n "$d1" ] && [ "$d1" = "$d2" ] && pass || fail "threads are not deterministic: $d1 vs $d2"

# the summary: instructions, MIPS, syscalls by name; the DB gets the run
expect_exit 0 "timed summary" -- "$ORRERY" exec --db r.db ./libc-crc-riscv64
expect_out "orrery exec: [0-9]+ instructions, [0-9]+ cycles, .* MIPS \(timed\)" "instructions and MIPS"
expect_out "syscalls:.* exit_group 1.* brk [0-9]+" "syscall counts by name"
expect_out "digest [0-9a-f]{16} seed 1; results r.db \(run 1\)" "digest and stored run"
n=$(sqlite3 r.db "select count(*) from runs where scenario like 'exec:%libc-crc-riscv64' and status='ok'")
[ "$n" = 1 ] && pass || fail "the exec run is not in the results DB ($n rows)"
d1=$(grep -o 'digest [0-9a-f]*' <<< "$OUT")
"$ORRERY" exec --no-db ./libc-crc-riscv64 >/dev/null 2>out2
grep -q "$d1" out2 && pass || fail "exec is not deterministic: $d1 vs $(grep -o 'digest [0-9a-f]*' out2)"

# instruction counts and speed next to qemu's exact count (-singlestep: one
# instruction per translation block; -d exec,nochain logs every block run).
# The programs must see the same OS: an empty environment, the same argv[0],
# stdout a pipe (as orrery's stdio reports itself), and on aarch64 the
# Cortex-A72 Unicorn emulates (AT_HWCAP picks glibc's string routines).
# riscv64 is then exact but for one instruction: Linux's set_robust_list
# succeeds, qemu-user 7.2's returns ENOSYS, and glibc's start-up takes one
# more instruction on success (checked by making ours fail the same way).
# aarch64 is exact (there the set_robust_list paths are equally long).
for arch in riscv64 aarch64; do
  for p in crc list sort matrix; do
    f=$("$ORRERY" exec --no-db --functional ./libc-$p-$arch 2>&1 >/dev/null | grep -o '[0-9]* instructions.*MIPS')
    t=$("$ORRERY" exec --no-db ./libc-$p-$arch 2>&1 >/dev/null | grep -o '[0-9]* instructions.*MIPS')
    ours=${f%% *}
    [ "$ours" = "${t%% *}" ] && pass || fail "$p-$arch: timed and functional counts differ: $f / $t"
    if [ $QEMU -eq 1 ]; then
      cpu=; [ $arch = aarch64 ] && cpu="-cpu cortex-a72"
      env -i qemu-$arch $cpu -singlestep -d exec,nochain -D q.log ./libc-$p-$arch | cat >/dev/null
      q=$(grep -c '^Trace' q.log)
      echo "BENCH-INFO exec $p-$arch: ours $ours, qemu $q (diff $((ours - q))); functional: $f; timed: $t"
      if [ $arch = riscv64 ]; then
        [ $((ours - q)) -eq 1 ] && pass || fail "$p-$arch: $ours instructions vs qemu's $q (expected qemu + 1)"
      else # equal: both give AT_HWCAP2 (without it glibc's auxv loop ran 4 fewer)
        [ "$ours" -eq "$q" ] && pass || fail "$p-$arch: $ours instructions vs qemu's $q (expected equal)"
      fi
    fi
  done
done

# bad programs: 125 with a clear message
expect_exit 125 "missing program" -- "$ORRERY" exec --no-db ./nosuch
expect_out "orrery exec: cannot open './nosuch': No such file or directory" "missing-file message"
printf 'not an elf' > junk
expect_exit 125 "not an ELF" -- "$ORRERY" exec --no-db ./junk
expect_out "not an ELF file" "not-an-ELF message"
expect_exit 125 "wrong architecture" -- "$ORRERY" exec --no-db /bin/true
expect_out "is an ELF for x86-64.*runs riscv64 and aarch64 programs" "wrong-arch message"
printf '#include <stdio.h>\nint main(void){puts("x");return 0;}\n' > dyn.c
if riscv64-linux-gnu-gcc -o dyn dyn.c 2>/dev/null; then
  expect_exit 125 "dynamically linked" -- "$ORRERY" exec --no-db ./dyn
  expect_out "link with -static" "dynamic-link message"
else
  fail "cannot build a dynamic riscv64 program for the test"
fi
expect_exit 125 "bad option" -- "$ORRERY" exec --cpus 0 ./libc-crc-riscv64
expect_exit 125 "time limit" -- "$ORRERY" exec --no-db --max-time 10us ./libc-crc-riscv64
expect_out "did not finish within 10us" "time-limit message"
finish
