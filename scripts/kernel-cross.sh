#!/usr/bin/env bash
# Freestanding cross build of kernel/ for one target (docs/kernel-targets.md):
#   scripts/kernel-cross.sh ARCH OUTDIR       ARCH: riscv64 | aarch64 | x86_64
# Compiles every kernel/**/*.c (and kernel/arch/ARCH/*.S), leaving out the
# other architectures' kernel/arch/ folders, with -Werror: any warning fails.
# If kernel/arch/ARCH/link.ld exists, also links OUTDIR/kernel.elf (the
# selftest image), so an unresolved HAL or kernel symbol fails the build too;
# otherwise checks that the objects need no symbol but each other's and hal_*.
# Env: JOBS (parallel compiles, default nproc), V=1 prints each command.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 riscv64|aarch64|x86_64 OUTDIR" >&2; exit 2; }
ARCH=$1 OUT=$2
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# Kernels are not position independent (Debian's compilers default to PIE).
COMMON=(-std=c11 -ffreestanding -fno-builtin -nostdlib -nostartfiles -fno-pie
        -Wall -Wextra -Werror -O2 -g -Iinclude)
case $ARCH in
  riscv64) CC=riscv64-linux-gnu-gcc
           FLAGS=(-mcmodel=medany -march=rv64gc -mabi=lp64d) ;;
  aarch64) CC=aarch64-linux-gnu-gcc
           FLAGS=(-mgeneral-regs-only -mno-outline-atomics) ;;  # no libgcc atomics helpers
  x86_64)  CC=${X86_64_CC:-gcc}
           FLAGS=(-m64 -mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mno-80387) ;;
  *) echo "kernel-cross: unknown ARCH '$ARCH' (riscv64, aarch64, x86_64)" >&2; exit 2 ;;
esac
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "kernel-cross: $CC not found: run scripts/deps.sh (Debian: gcc-$ARCH-linux-gnu)" >&2
  exit 1
fi

mapfile -t SRCS < <(find kernel \( -path 'kernel/arch/*' ! -path "kernel/arch/$ARCH" ! -path "kernel/arch/$ARCH/*" \) -prune \
                      -o -type f \( -name '*.c' -o -name '*.S' \) -print | LC_ALL=C sort)
[ ${#SRCS[@]} -gt 0 ] || { echo "kernel-cross: no sources under kernel/" >&2; exit 1; }
for s in "${SRCS[@]}"; do  # .S files belong to an arch folder only
  case $s in *.S) [[ $s == kernel/arch/$ARCH/* ]] || { echo "kernel-cross: $s: assembly outside kernel/arch/" >&2; exit 1; } ;; esac
done

rm -rf "$OUT/obj"
mkdir -p "$OUT/obj"
export CC OUT V="${V:-0}"
compile() { # src: kernel/a/b.c -> OUT/obj/kernel/a/b.o
  local o="$OUT/obj/${1%.*}.o"
  mkdir -p "$(dirname "$o")"
  [ "$V" = 1 ] && echo "$CC ${*:2} -c $1 -o $o"
  "$CC" "${@:2}" -c "$1" -o "$o" || { echo "kernel-cross: FAILED $1" >&2; return 1; }
}
export -f compile
printf '%s\n' "${SRCS[@]}" |
  xargs -P "$JOBS" -I{} bash -c 'compile "$@"' _ {} "${COMMON[@]}" "${FLAGS[@]}"
mapfile -t OBJS < <(find "$OUT/obj" -name '*.o' | LC_ALL=C sort)
echo "kernel-cross: $ARCH: compiled ${#SRCS[@]} files with $CC"

LDS=kernel/arch/$ARCH/link.ld
if [ -f "$LDS" ]; then
  "$CC" "${COMMON[@]}" "${FLAGS[@]}" -static -no-pie -T "$LDS" -Wl,--fatal-warnings -Wl,--build-id=none \
        -Wl,-Map="$OUT/kernel.map" -o "$OUT/kernel.elf" "${OBJS[@]}" -lgcc
  echo "kernel-cross: $ARCH: linked $OUT/kernel.elf"
  exit 0
fi

# No image for this target yet, so check what the link would: freestanding
# means nothing outside kernel/ but the HAL. GCC may still emit calls
# (memcpy for a struct copy, atomics helpers) that no -Werror catches.
NM=${CC%gcc}nm
undefined=$(comm -23 <("$NM" -u "${OBJS[@]}" | awk '$1 == "U" { print $2 }' | LC_ALL=C sort -u) \
                     <("$NM" --defined-only "${OBJS[@]}" | awk 'NF == 3 { print $3 }' | LC_ALL=C sort -u) |
            grep -v '^hal_' || true)
if [ -n "$undefined" ]; then
  echo "kernel-cross: $ARCH: kernel/ needs symbols that are neither in kernel/ nor hal_*:" >&2
  echo "$undefined" | sed 's/^/  /' >&2
  exit 1
fi
echo "kernel-cross: $ARCH: no image for this target; symbols checked"
