#!/usr/bin/env bash
# Boot the riscv64 selftest image on QEMU virt (-bios none) with 1 and with 2
# harts; each boot must print "KTEST PASS" and exit 0 through the virt test
# device. Never skips: a missing cross compiler or QEMU is a failure.
#   tests/kernel/qemu_boot.sh OUTDIR
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:?usage: qemu_boot.sh OUTDIR}
QEMU=${QEMU:-qemu-system-riscv64}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-60}

command -v "$QEMU" >/dev/null 2>&1 ||
  { echo "qemu_boot: $QEMU not found: run scripts/deps.sh (Debian: qemu-system-misc)" >&2; exit 1; }
bash "$SRC/scripts/kernel-cross.sh" riscv64 "$OUT" || { echo "qemu_boot: riscv64 build failed" >&2; exit 1; }

status=0
for smp in 1 2; do
  log=$OUT/boot-smp$smp.log
  # -nographic puts the UART on stdio; stdin from /dev/null so a test
  # harness never hands QEMU a terminal. timeout -k: SIGKILL if TERM is ignored.
  timeout -k 5 "$BOOT_TIMEOUT" "$QEMU" -machine virt -nographic -bios none -m 128M \
    -smp "$smp" -kernel "$OUT/kernel.elf" </dev/null >"$log" 2>&1
  rc=$?
  tr -d '\r' <"$log" >"$log.txt"
  if [ $rc -eq 0 ] && grep -q '^KTEST PASS [0-9]' "$log.txt" && ! grep -q 'FAIL' "$log.txt"; then
    echo "qemu_boot: -smp $smp: $(grep '^KTEST' "$log.txt")"
  else
    case $rc in
      124|137) why="timed out after ${BOOT_TIMEOUT}s" ;;
      1) why="a selftest failed (exit 1)" ;;
      2) why="the kernel panicked (exit 2)" ;;
      *) why="exit status $rc" ;;
    esac
    echo "qemu_boot: -smp $smp: FAILED: $why; console output:" >&2
    sed 's/^/  | /' "$log.txt" >&2
    status=1
  fi
done
exit $status
