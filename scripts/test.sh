#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run):
#   1. -O2 build (RelWithDebInfo): every ctest (unit, CLI, determinism, golden)
#   1b. kernel/ cross-built freestanding for riscv64, aarch64, x86_64; the
#      riscv64 selftest image booted on QEMU (docs/kernel-targets.md)
#   2. -O0 build: the golden-digest and determinism tests again, so both
#      optimisation levels are held to the same checked-in digests
#   3. ASan+UBSan build: unit and CLI tests
#   4. libFuzzer build (clang): each fuzz target for FUZZ_SECONDS (default 20)
#   5. mutation sample: MUTATE_SAMPLE (default 2) sites of tests/mutate/sites.txt,
#      chosen by the date (MUTATE_SEED), planted one at a time in the -O2 build
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
MUTATE_SAMPLE=${MUTATE_SAMPLE:-2}
MUTATE_SEED=${MUTATE_SEED:-$(date -u +%Y%m%d)}

step() { printf '\n=== %s ===\n' "$*"; }

configure_build() { # dir, cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

step "build -O2 (RelWithDebInfo)"
configure_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
step "tests, -O2"
ctest --test-dir build --output-on-failure -j "$JOBS" -LE 'bench|kernel'

step "kernel: freestanding builds and QEMU boot"
ctest --test-dir build --output-on-failure -j "$JOBS" -L kernel

step "build -O0"
configure_build build-O0 -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O0 -g" -DORRERY_BENCH=OFF
step "golden digests and determinism, -O0"
ctest --test-dir build-O0 --output-on-failure -j "$JOBS" -L determinism

step "build ASan+UBSan"
configure_build build-asan -DCMAKE_BUILD_TYPE=Debug -DORRERY_SANITIZE=ON -DORRERY_BENCH=OFF
step "unit and CLI tests under ASan+UBSan"
# the litmus catalogue at 300 runs per test under the sanitizers (1000 in
# the -O2 stage); allowed outcomes still run until they show
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 LITMUS_RUNS=300 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" -L 'unit|cli'

step "fuzz targets (${FUZZ_SECONDS}s each)"
configure_build build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug -DORRERY_FUZZ=ON -DORRERY_BENCH=OFF
FUZZ_SECONDS=$FUZZ_SECONDS ctest --test-dir build-fuzz --output-on-failure -L fuzz

step "mutation sample: $MUTATE_SAMPLE sites, seed $MUTATE_SEED"
# every site must apply; the sampled ones are planted in build/ (stage 1
# just passed unmutated there, so no baseline) and must each be caught by
# the tests without digest comparisons; build/ is rebuilt from the restored
# tree at the end
scripts/mutate.sh --check
scripts/mutate.sh --build build -j "$JOBS" --no-baseline --sample "$MUTATE_SAMPLE" --seed "$MUTATE_SEED"

step "all test stages passed"
