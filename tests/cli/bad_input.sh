#!/usr/bin/env bash
# Bad input: every case exits 2 with file:line:col, the key path and what was
# expected — and leaves no database rows and no trace (not even a .tmp).
. "$(dirname "$0")/lib.sh"

cat > good.yaml <<'Y'
name: t
stop: {duration: 1ms}
components:
  g: {type: traffic_gen, interval: 1us, count: 10, dests: [k]}
  k: {type: sink}
links:
  - {from: g.out, to: k.in, latency: 10ns}
Y

# variant NAME SED-EXPRESSION: a copy of good.yaml with one edit
variant() { sed "$2" good.yaml > "$1.yaml"; }

check_bad() { # name regex... : run must fail with exit 2, print all regexes, write nothing
  local name=$1; shift
  rm -f db.sqlite out.trace out.trace.tmp*
  expect_exit 2 "$name" -- "$ORRERY" run "$name.yaml" --db db.sqlite --trace out.trace
  for re in "$@"; do expect_out "$re" "$name"; done
  if [ -e out.trace ] || ls out.trace.tmp* >/dev/null 2>&1; then fail "$name: left a trace file"; else pass; fi
  if [ -e db.sqlite ] && [ "$(sqlite3 db.sqlite 'select count(*) from runs' 2>/dev/null || echo 0)" != 0 ]; then
    fail "$name: left rows in the database"; else pass; fi
}

expect_exit 0 "good scenario runs" -- "$ORRERY" run good.yaml --db ok.sqlite --quiet

printf 'name: t\ncomponents: {g: {type: sink}\n' > malformed.yaml
check_bad malformed 'malformed\.yaml:[0-9]+:[0-9]+' 'malformed YAML|YAML'

variant unknown_top 's/^name: t/nmae: t/'
check_bad unknown_top 'unknown_top\.yaml:1:1' "unknown key 'nmae'" "did you mean 'name'"

variant unknown_comp_key 's/interval: 1us/intervl: 1us/'
check_bad unknown_comp_key 'unknown_comp_key\.yaml:4:[0-9]+' 'components\.g' "unknown key 'intervl'" "interval"

variant wrong_type 's/count: 10/count: ten/'
check_bad wrong_type 'wrong_type\.yaml:4:[0-9]+' 'components\.g\.count' 'integer|unsigned'

variant wrong_type_list 's/dests: \[k\]/dests: k/'
check_bad wrong_type_list 'wrong_type_list\.yaml:4:[0-9]+' 'components\.g\.dests' 'list'

variant missing_unit 's/interval: 1us/interval: 10/'
check_bad missing_unit 'missing_unit\.yaml:4:[0-9]+' 'components\.g\.interval' 'unit'

variant bad_unit 's/interval: 1us/interval: 10xs/'
check_bad bad_unit 'bad_unit\.yaml:4:[0-9]+' 'components\.g\.interval' 'unit'

variant bad_bw 's/latency: 10ns}/latency: 10ns, bandwidth: 10GHz}/'
check_bad bad_bw 'bad_bw\.yaml:7:[0-9]+' 'links\.0\.bandwidth'

variant zero_duration 's/duration: 1ms/duration: 0s/'
check_bad zero_duration 'zero_duration\.yaml:2:[0-9]+' 'stop\.duration' 'greater than zero'

variant negative_interval 's/interval: 1us/interval: -5ns/'
check_bad negative_interval 'negative_interval\.yaml:4:[0-9]+' 'components\.g\.interval' 'negative'

variant zero_interval 's/interval: 1us/interval: 0ns/'
check_bad zero_interval 'zero_interval\.yaml:4:[0-9]+' 'components\.g\.interval' 'greater than zero'

variant zero_latency 's/latency: 10ns/latency: 0ns/'
check_bad zero_latency 'zero_latency\.yaml:7:[0-9]+' 'links\.0\.latency' 'greater than zero'

variant unknown_type 's/type: sink/type: snik/'
check_bad unknown_type 'unknown_type\.yaml:5:[0-9]+' 'components\.k\.type' "did you mean 'sink'"

variant unknown_port 's/to: k.in/to: k.inn/'
check_bad unknown_port 'unknown_port\.yaml:7:[0-9]+' "no port 'inn'"

variant unknown_dest 's/dests: \[k\]/dests: [nobody]/'
check_bad unknown_dest 'unknown_dest\.yaml:4:[0-9]+' "unknown component 'nobody'"

head -5 good.yaml > unlinked.yaml
check_bad unlinked 'unlinked\.yaml:4:[0-9]+' 'components\.g' "port 'out' is not linked"

variant no_stop 's/stop: {duration: 1ms}/stop: {workloads_done: false}/'
check_bad no_stop 'no_stop\.yaml:2:[0-9]+' 'stop' 'no end'

printf 'name: t\nextends: missing-preset.yaml\n' > missing_preset.yaml
check_bad missing_preset 'missing-preset\.yaml' 'cannot open|No such file'

# a bad fault: unknown fault name, and a port out of range
printf 'faults:\n  - {at: 1us, component: sw, fault: explode}\n' > f1.part
cat good.yaml > bad_fault.yaml
sed -i 's/  k: {type: sink}/  k: {type: sink}\n  sw: {type: switch, ports: 2}/' bad_fault.yaml
cat f1.part >> bad_fault.yaml
check_bad bad_fault 'bad_fault\.yaml:[0-9]+:[0-9]+' "no fault 'explode'" 'port_down'

cat good.yaml > bad_fault_port.yaml
sed -i 's/  k: {type: sink}/  k: {type: sink}\n  sw: {type: switch, ports: 2}/' bad_fault_port.yaml
printf 'faults:\n  - {at: 1us, component: sw, fault: port_down, port: 7}\n' >> bad_fault_port.yaml
check_bad bad_fault_port 'bad_fault_port\.yaml:[0-9]+:[0-9]+' 'not a port'

# every error is reported, not just the first
cat good.yaml > many.yaml
printf '  - {from: g.nope, to: k.in, latency: 1ns}\n  - {from: zz.out, to: k.in, latency: 1ns}\n' >> many.yaml
check_bad many "has no port 'nope'" "no component 'zz'"
sed 's/stop: {duration: 1ms}/stop: {duration: 0s}\ntrace: {checkpoint_every: 0}/' good.yaml > twoblocks.yaml
expect_exit 2 "stop and trace both reported" -- "$ORRERY" validate twoblocks.yaml
expect_out 'stop\.duration' "stop error reported"
expect_out 'trace\.checkpoint_every' "trace error reported alongside"

# times beyond the end of simulated time are input errors
variant beyond 's/latency: 10ns/latency: 18446744073709551615ps/'
check_bad beyond 'beyond\.yaml:7:[0-9]+' 'links\.0\.latency' 'beyond the end of simulated time'

# overrides are checked like the file
expect_exit 2 "bad --set unit" -- "$ORRERY" run good.yaml --no-db --set components.g.interval=5
expect_out '<--set>' "bad --set names its origin"
expect_out 'components\.g\.interval' "bad --set names the key"
expect_exit 2 "bad --set syntax" -- "$ORRERY" run good.yaml --no-db --set components.g.interval
expect_exit 2 "--set into a scalar" -- "$ORRERY" run good.yaml --no-db --set name.x=1

# missing files and usage
expect_exit 2 "missing scenario" -- "$ORRERY" run nope.yaml --no-db
expect_out "nope\.yaml" "missing scenario names the file"
expect_exit 2 "no verb" -- "$ORRERY"
expect_exit 2 "unknown verb" -- "$ORRERY" frobnicate
expect_exit 2 "run without scenario" -- "$ORRERY" run
expect_exit 2 "unknown option" -- "$ORRERY" run good.yaml --bogus
expect_exit 2 "bad seed" -- "$ORRERY" run good.yaml --seed abc
expect_exit 2 "validate bad" -- "$ORRERY" validate unknown_top.yaml

# unwritable database paths: nothing runs, no trace, no stray file
expect_exit 2 "db in missing dir" -- "$ORRERY" run good.yaml --db /nonexistent-dir/x.db --trace t1.trace
expect_out "/nonexistent-dir/x.db" "db error names the path"
[ ! -e t1.trace ] && ! ls t1.trace.tmp* >/dev/null 2>&1 && pass || fail "db error left a trace"
mkdir adir
expect_exit 2 "db is a directory" -- "$ORRERY" run good.yaml --db adir
echo "not a database, just text" > notdb.txt
expect_exit 2 "db is not a database" -- "$ORRERY" run good.yaml --db notdb.txt
[ "$(cat notdb.txt)" = "not a database, just text" ] && pass || fail "notdb.txt was modified"

# trace into a missing directory: exit 2 and no database row
rm -f db2.sqlite
expect_exit 2 "trace in missing dir" -- "$ORRERY" run good.yaml --db db2.sqlite --trace /nonexistent-dir/t.trace
[ "$(sqlite3 db2.sqlite 'select count(*) from runs' 2>/dev/null || echo 0)" = 0 ] && pass || fail "trace error left a db row"

# diff on truncated and corrupt traces
"$ORRERY" run good.yaml --no-db --quiet --trace a.trace || fail "could not make a trace"
head -c 100 a.trace > trunc.trace
expect_exit 2 "diff truncated" -- "$ORRERY" diff a.trace trunc.trace
expect_out 'trunc\.trace' "truncated trace is named"
cp a.trace corrupt.trace
size=$(stat -c %s corrupt.trace)
printf '\xff\xff\xff\xff' | dd of=corrupt.trace bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_exit 2 "diff corrupt" -- "$ORRERY" diff a.trace corrupt.trace
expect_out 'corrupt' "corrupt trace is reported"
expect_exit 2 "diff missing" -- "$ORRERY" diff a.trace nope.trace
expect_exit 2 "diff one arg" -- "$ORRERY" diff a.trace

# prefetchers and the superqueue (docs/memory.md): an unknown type, a
# degree of 0 or above the miss buffers, a superqueue below the L1's
cat > pf_good.yaml <<'Y'
name: pf
stop: {duration: 1us}
machine:
  cores_per_socket: 1
  mshrs: 8
  superqueue: 16
  l1d: {size: 32KiB, ways: 8, prefetch: [{type: next_line}]}
  l2: {size: 256KiB, ways: 8, prefetch: [{type: stream, degree: 4}]}
Y
expect_exit 0 "prefetch scenario loads" -- "$ORRERY" validate pf_good.yaml
pf_variant() { sed "$2" pf_good.yaml > "$1.yaml"; }
pf_variant pf_unknown_type 's/type: stream/type: streem/'
check_bad pf_unknown_type 'pf_unknown_type\.yaml:8:[0-9]+' 'machine\.l2\.prefetch' "streem" 'next_line'
pf_variant pf_degree_zero 's/degree: 4/degree: 0/'
check_bad pf_degree_zero 'pf_degree_zero\.yaml:8:[0-9]+' 'machine\.l2' 'degree 0' 'must be 1\.\.16'
pf_variant pf_degree_big 's/type: next_line}/type: next_line, degree: 9}/'
check_bad pf_degree_big 'pf_degree_big\.yaml:7:[0-9]+' 'machine\.l1d' 'degree 9' 'must be 1\.\.8'
pf_variant pf_small_sq 's/superqueue: 16/superqueue: 4/'
check_bad pf_small_sq 'pf_small_sq\.yaml:6:[0-9]+' 'machine' 'superqueue 4 is smaller than mshrs 8'

# GPUs (docs/gpu.md): a block that needs more registers or shared memory
# than an SM has, a grid of 0, buffers beyond the device's memory, a
# partition layout that does not fit, a queue in two partitions, an
# NVLink to a GPU that does not exist
gpu_case() { # NAME COMPONENTS-YAML: a scenario on the H100-like preset
  printf 'name: g\nextends: %s/scenarios/presets/gpu-h100.yaml\ncomponents:\n%s\n' "$SRC" "$2" > "$1.yaml"
}
gpu_case gpu_good '  prog: {test: gemm, n: [128], iters: 1, regs: 128, smem: 32KiB}'
expect_exit 0 "gpu scenario loads" -- "$ORRERY" validate gpu_good.yaml
gpu_case gpu_regs '  prog: {test: gemm, n: [256], block: 1024, regs: 100}'
check_bad gpu_regs 'gpu_regs\.yaml:4:[0-9]+' 'components\.prog\.regs' '102400 registers' 'an SM has 65536'
gpu_case gpu_smem '  prog: {test: saxpy, n: [1024], smem: 300KiB}'
check_bad gpu_smem 'gpu_smem\.yaml:4:[0-9]+' 'components\.prog\.smem' '307200 bytes of shared memory'
gpu_case gpu_grid0 '  prog: {test: saxpy, n: [0]}'
check_bad gpu_grid0 'gpu_grid0\.yaml:4:[0-9]+' 'components\.prog\.n' 'a grid of 0 blocks'
gpu_case gpu_beyond '  prog: {test: bandwidth, bytes: [1MiB, 40GiB]}'
check_bad gpu_beyond 'gpu_beyond\.yaml:4:[0-9]+' 'components\.prog\.bytes' 'beyond the allocation'
gpu_case gpu_part_sms '  gpu0: {partitions: [{sms: 66, memory: 40GiB, queues: [0]}, {sms: 70, memory: 40GiB, queues: [1, 2, 3]}]}'
check_bad gpu_part_sms 'gpu_part_sms\.yaml:4:[0-9]+' 'components\.gpu0\.partitions\.1\.sms' '136 SMs; the GPU has 132'
gpu_case gpu_part_mem '  gpu0: {partitions: [{sms: 66, memory: 60GiB, queues: [0]}, {sms: 66, memory: 40GiB, queues: [1, 2, 3]}]}'
check_bad gpu_part_mem 'gpu_part_mem\.yaml:4:[0-9]+' 'partitions\.1\.memory' 'bytes of memory; the GPU has'
gpu_case gpu_part_queue '  gpu0: {partitions: [{sms: 66, memory: 40GiB, queues: [0, 1]}, {sms: 66, memory: 40GiB, queues: [1, 2, 3]}]}'
check_bad gpu_part_queue 'gpu_part_queue\.yaml:4:[0-9]+' 'partitions\.1\.queues' 'queue 1 is in two partitions'
gpu_case gpu_nvlink '  gpu0: {nvlink: [gpu7]}'
check_bad gpu_nvlink 'gpu_nvlink\.yaml:4:[0-9]+' 'components\.gpu0\.nvlink' "'gpu7' is no component"

finish
