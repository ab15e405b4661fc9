#!/usr/bin/env bash
# The dependency rules of DESIGN.md §1, checked on the source tree.
. "$(dirname "$0")/lib.sh"
cd "$SRC"

# kernel/ includes only include/kernel headers and freestanding C headers
bad=$(grep -rhoE '^\s*#\s*include\s*[<"][^>"]+[>"]' kernel/ include/kernel/ 2>/dev/null |
      sed -E 's/.*[<"]([^>"]+)[>"].*/\1/' | sort -u |
      grep -vxE 'stdint\.h|stddef\.h|stdbool\.h|stdatomic\.h|[a-z_/]+\.h' || true)
libc=$(grep -rhoE '#\s*include\s*[<"](stdio|stdlib|string|unistd|pthread|orrery/[a-z_]+)\.h' kernel/ include/kernel/ || true)
[ -z "$bad$libc" ] && pass || fail "kernel/ includes non-freestanding headers: $bad $libc"

# hw/ never uses engine internals and never bypasses ports
hits=$(grep -rlE '#\s*include\s*"(sim_internal|evq)\.h"|orr_sim_post' hw/ || true)
[ -z "$hits" ] && pass || fail "hw/ uses engine internals or orr_sim_post: $hits"

# model/ knows no concrete hardware (the CLI gets the type table via registry.h)
hits=$(grep -rlE '#\s*include\s*"[^"]*(hw/|traffic)' model/ || true)
[ -z "$hits" ] && pass || fail "model/ includes hardware headers: $hits"

# analysis/ does not link or include hw/
hits=$(grep -rlE '#\s*include\s*"[^"]*hw/' analysis/ || true)
[ -z "$hits" ] && pass || fail "analysis/ includes hw/: $hits"

# no rand(), time() or wall clocks in model code outside the CLI and results
hits=$(grep -rnE '\b(rand|srand|random)\s*\(|\btime\s*\(NULL\)|gettimeofday|CLOCK_(REALTIME|MONOTONIC)' \
       model/*.c hw/ kernel/ | grep -v 'model/results.c' || true)
[ -z "$hits" ] && pass || fail "nondeterministic calls in the model: $hits"

# C++ only in the SystemC bridge (model/systemc/, include/orrery/systemc.hpp)
hits=$(find hw kernel model analysis workloads include \( -name '*.cpp' -o -name '*.cc' -o -name '*.hpp' \) |
       grep -vE '^model/systemc/|^include/orrery/systemc\.hpp$' || true)
[ -z "$hits" ] && pass || fail "C++ outside model/systemc/: $hits"

# the kernel library builds freestanding for the host
cc -std=c11 -ffreestanding -fno-builtin -nostdlib -Werror -Iinclude/kernel -c kernel/lib/kstring.c \
   -o "$WORK/k.o" && pass || fail "kernel/ does not build freestanding"

finish
