#!/usr/bin/env bash
# Install the Debian packages Orrery needs to build and test, if missing.
# Runs apt-get as root (or via sudo); otherwise prints the command to run.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git   # toolchain
  libyaml-dev                            # scenario files
  libsqlite3-dev sqlite3 jq              # results store; sqlite3 + jq used by tests
  libzstd-dev libxxhash-dev              # traces: compression and digests
  libcmocka-dev                          # unit tests
  libsystemc-dev                         # SystemC baseline in benchmarks
  clang libclang-rt-14-dev               # libFuzzer targets and sanitizers
  gcc-riscv64-linux-gnu gcc-aarch64-linux-gnu  # kernel/ freestanding cross builds
  libc6-dev-riscv64-cross libc6-dev-arm64-cross  # static glibc guests (workloads/guest/linux, orrery exec)
  qemu-user                              # tests/cli/exec.sh: output and instruction counts vs qemu-riscv64/-aarch64
  qemu-system-misc                       # qemu-system-riscv64 boots the kernel selftest
  libgraphviz-dev                        # orrery graph: topology and protocol diagrams (libgvc)
  graphviz                               # dot: renders the diagrams of docs/img/*.dot (docs/mm.md, docs/sync.md)
  chromium                               # the HTML report is checked in headless Chromium
  libunicorn-dev                         # ISA mode: riscv64/aarch64 guests on simulated cores
  time                                   # GNU time: wall and peak RSS of benchmark runs
  python3                                # test scripts: XML/HTML/PNG checks, the layering check
  bsdutils                               # script(1): the progress line checked on a pseudo-terminal
  libbpf-dev libelf-dev                  # orrery bpf: BPF objects, maps, relocations
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "orrery: installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "orrery: not root and no sudo; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
