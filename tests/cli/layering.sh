#!/usr/bin/env bash
# The dependency rules of DESIGN.md §1 and docs/architecture.md, checked on
# the source tree.
. "$(dirname "$0")/lib.sh"
cd "$SRC"

# Includes: include/ is the only include root. Every project header a
# source file names is spelled from include/ ("orrery/sim.h", "hw/pcache.h",
# "kernel/hal.h") or is a private header in the file's own folder. Tests may
# also reach a unit's private header from the project root ("model/evq.h").
# Then, who may include what (the arrows of docs/architecture.md):
#   model/            nothing from hw/, workloads/, analysis/, cli/
#   kernel/, include/kernel/   only kernel/ headers and freestanding C headers
#   workloads/gen/, include/workloads/   nothing from hw/ (gen sits below hw)
#   hw/, include/hw/  no application component (workloads/apps/)
#   analysis/, include/analysis/   nothing from hw/, workloads/, cli/
out=$(python3 - <<'PY'
import os, re, sys
inc = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
product = ('model', 'hw', 'kernel', 'workloads', 'analysis', 'cli', 'include', 'examples')
rules = [  # (folder prefix, forbidden include prefixes)
    ('model/', ('hw/', 'workloads/', 'analysis/', 'cli/')),
    ('include/orrery/', ('hw/', 'workloads/', 'analysis/', 'cli/', 'kernel/')),
    ('workloads/gen/', ('hw/', 'analysis/', 'cli/')),
    ('include/workloads/', ('hw/', 'analysis/', 'cli/')),
    ('hw/', ('analysis/', 'cli/')),
    ('include/hw/', ('analysis/', 'cli/')),
    ('analysis/', ('hw/', 'workloads/', 'cli/', 'kernel/')),
    ('include/analysis/', ('hw/', 'workloads/', 'cli/', 'kernel/')),
]
freestanding = {'stdint.h', 'stddef.h', 'stdbool.h', 'stdatomic.h', 'stdarg.h'}
bad = []
for top in product + ('tests',):
    for dirpath, _, files in os.walk(top):
        if 'workloads/guest' in dirpath or dirpath.startswith('tests/fuzz/corpus'):
            continue
        for f in files:
            if not re.search(r'\.(c|h|cpp|hpp|S)$', f):
                continue
            path = os.path.join(dirpath, f)
            for kind, name in inc.findall(open(path, errors='replace').read()):
                kernel = path.startswith(('kernel/', 'include/kernel/'))
                if kind == '<':
                    if kernel and name not in freestanding:
                        bad.append(f'{path}: <{name}> is not a freestanding header')
                    continue
                own = '/' not in name and os.path.exists(os.path.join(dirpath, name))
                rooted = os.path.exists(os.path.join('include', name))
                if not (own or rooted or (top == 'tests' and os.path.exists(name))):
                    bad.append(f'{path}: "{name}" is neither under include/ nor in {dirpath}/')
                if kernel and not (own or name.startswith('kernel/')):
                    bad.append(f'{path}: "{name}": kernel/ includes only kernel/ headers')
                for prefix, forbidden in rules:
                    if path.startswith(prefix) and name.startswith(forbidden):
                        bad.append(f'{path}: "{name}": {prefix} may not include it')
print('\n'.join(bad))
PY
)
[ -z "$out" ] && pass || fail "include rules broken:
$out"

# hw/ never uses engine internals and never bypasses ports
hits=$(grep -rlE '#\s*include\s*"model/|orr_sim_post' hw/ || true)
[ -z "$hits" ] && pass || fail "hw/ uses engine internals or orr_sim_post: $hits"

# the application components (workloads/apps/) are named in hw/ only by the
# type table (hw/registry.c, the composition root)
hits=$(grep -rlE 'orr_(perftest|allreduce|kv|rdma_incast)_type|verbs_host|rdma_app' hw/ |
       grep -v '^hw/registry\.c$' || true)
[ -z "$hits" ] && pass || fail "hw/ names application components: $hits"

# the engine names no concrete component type: it gets the table
hits=$(grep -rnE 'orr_builtin_types|orr_[a-z_]+_type\b' model/*.c model/*.h |
       grep -vE 'orr_component_type|orr_ptype|orr_node_kind|orr_tlm_|orr_type_' || true)
[ -z "$hits" ] && pass || fail "model/ names component types: $hits"

# no rand(), time() or wall clocks in model code outside the CLI and results
hits=$(grep -rnE '\b(rand|srand|random)\s*\(|\btime\s*\(NULL\)|gettimeofday|CLOCK_(REALTIME|MONOTONIC)' \
       model/*.c hw/ kernel/ workloads/gen workloads/apps | grep -v 'model/results.c' || true)
[ -z "$hits" ] && pass || fail "nondeterministic calls in the model: $hits"

# C++ only in the SystemC bridge (model/systemc/, include/orrery/systemc.hpp)
hits=$(find hw kernel model analysis workloads include cli \( -name '*.cpp' -o -name '*.cc' -o -name '*.hpp' \) |
       grep -vE '^model/systemc/|^include/orrery/systemc\.hpp$' || true)
[ -z "$hits" ] && pass || fail "C++ outside model/systemc/: $hits"

# the kernel library builds freestanding for the host
cc -std=c11 -ffreestanding -fno-builtin -nostdlib -Werror -Iinclude -c kernel/lib/kstring.c \
   -o "$WORK/k.o" && pass || fail "kernel/ does not build freestanding"

finish
