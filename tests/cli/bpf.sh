#!/usr/bin/env bash
# `orrery bpf`: the example programs (workloads/bpf) are accepted, also for
# an unprivileged loader; each program of the bad catalogue
# (tests/bpf/bad.bpf.c) is rejected at its instruction with the Linux-worded
# reason; a pointer leak is rejected with --unpriv only; `run` counts what
# the event model says it must; bad input (not ELF, not BPF, an unknown
# attach point, a map of size 0, bad options) is exit 2.
. "$(dirname "$0")/lib.sh"
OBJ=$(dirname "$ORRERY")/bpf
[ -f "$OBJ/bad.bpf.o" ] || { echo "FAIL: $OBJ/bad.bpf.o missing (target bpf_objects)"; exit 1; }

for ex in sched_switch_count syscall_latency agent_packets; do
  expect_exit 0 "verify $ex" -- "$ORRERY" bpf verify "$OBJ/$ex.bpf.o"
  expect_out ': accepted, ' "$ex accepted"
  if grep -q rejected <<< "$OUT"; then fail "$ex: a program rejected"; else pass; fi
  expect_exit 0 "verify --unpriv $ex" -- "$ORRERY" bpf verify --unpriv "$OBJ/$ex.bpf.o"
done
# the latency histogram's log2 loop is walked, not unrolled by clang
"$ORRERY" bpf verify --json "$OBJ/syscall_latency.bpf.o" >lat.json
processed=$(jq '.programs[] | select(.name == "sys_exit") | .processed' lat.json)
insns=$(jq '.programs[] | select(.name == "sys_exit") | .insns' lat.json)
if [ "$processed" -gt $((insns * 10)) ]; then pass; else
  fail "sys_exit: $processed insns processed for $insns: the loop was not walked"; fi

# --- the bad catalogue: program, instruction, reason ---------------------------
expect_exit 1 "verify bad catalogue" -- "$ORRERY" bpf verify "$OBJ/bad.bpf.o"
while IFS='|' read -r prog want; do
  line=$(grep -F ": $prog (" <<< "$OUT")
  if [ -z "$line" ]; then fail "$prog: not listed"; continue; fi
  if grep -qF -- "$want" <<< "$line"; then pass; else fail "$prog: '$line' lacks '$want'"; fi
done <<'LIST'
stack_oob|rejected at insn 1: invalid write to stack R10 off=-520 size=8
stack_uninit|rejected at insn 0: invalid read from stack off -8+0 size 8
reg_uninit|rejected at insn 0: R5 !read_ok
unbounded_loop|: The sequence of 8193 jumps is too complex.
bad_helper_arg|: R1 type=ctx expected=map_ptr
unchecked_value|: R0 invalid mem access 'map_value_or_null'
value_oob|: invalid access to map value, value_size=8 off=8 size=8
invalid_jump|rejected at insn 0: jump out of range from insn 0 to 1001
unreachable_code|rejected at insn 2: unreachable insn 2
LIST
n=$(grep -c ': rejected at insn ' <<< "$OUT")
[ "$n" -eq 9 ] && pass || fail "bad catalogue: $n of 9 programs rejected"
# JSON carries the same verdicts
"$ORRERY" bpf verify --json "$OBJ/bad.bpf.o" >bad.json
[ "$(jq '[.programs[] | select(.accepted)] | length' bad.json)" = 0 ] && pass || fail "json: a bad program accepted"
[ "$(jq -r '.programs[] | select(.name == "stack_uninit") | "\(.insn) \(.reason)"' bad.json)" = \
  "0 invalid read from stack off -8+0 size 8" ] && pass || fail "json: stack_uninit verdict"

# --- privileged vs unprivileged ------------------------------------------------------
expect_exit 0 "leak, privileged" -- "$ORRERY" bpf verify "$OBJ/leak.bpf.o"
expect_exit 1 "leak, unprivileged" -- "$ORRERY" bpf verify --unpriv "$OBJ/leak.bpf.o"
expect_out 'leak_addr .*rejected at insn [0-9]+: R[0-9] leaks addr into map' "unpriv leak reason"

# --- run: the event model decides the counts ------------------------------------
# event i runs on CPU i % cpus: 1000 events over 4 CPUs are 250 switches each
expect_exit 0 "run sched_switch_count" -- "$ORRERY" bpf run "$OBJ/sched_switch_count.bpf.o" --events 1000 --cpus 4 --json
for c in 0 1 2 3; do
  v=$(jq ".maps[] | select(.name == \"switches\") | .entries[] | select(.key == $c) | .value" <<< "$OUT")
  [ "$v" = 250 ] && pass || fail "switches on cpu $c: '$v', expected 250"
done
expect_exit 0 "run 999 events on 3 CPUs" -- "$ORRERY" bpf run "$OBJ/sched_switch_count.bpf.o" --events 999 --cpus 3 --json
[ "$(jq '[.maps[0].entries[].value] | add' <<< "$OUT")" = 999 ] && pass || fail "999 switches in all"
# the histogram gets one sample per sys_exit, all in log2 buckets
expect_exit 0 "run syscall_latency" -- "$ORRERY" bpf run "$OBJ/syscall_latency.bpf.o" --events 500 --json
[ "$(jq '[.maps[] | select(.name == "latency_log2_ns") | .entries[].value] | add' <<< "$OUT")" = 500 ] \
  && pass || fail "latency histogram: not 500 samples"
# a rejected program never runs
expect_exit 1 "run bad" -- "$ORRERY" bpf run "$OBJ/bad.bpf.o"
if grep -q '^ran ' <<< "$OUT"; then fail "a rejected object ran"; else pass; fi

# --- bad input -----------------------------------------------------------------------
echo 'not an object' >text.o
expect_exit 2 "text file" -- "$ORRERY" bpf verify text.o
expect_out 'text.o: not a BPF object' "text file message"
cp /bin/true host.o
expect_exit 2 "host ELF" -- "$ORRERY" bpf verify host.o
expect_out 'not a BPF object' "host ELF message"
expect_exit 2 "missing file" -- "$ORRERY" bpf verify nosuch.o
expect_exit 2 "unknown attach point" -- "$ORRERY" bpf verify "$OBJ/unknown_attach.bpf.o"
expect_out "program 'nowhere': unknown attach point 'tracepoint/sched/no_such_event'" "attach message"
expect_exit 2 "map of size 0" -- "$ORRERY" bpf verify "$OBJ/bad_map.bpf.o"
expect_out "map 'empty' .*max_entries must be 1" "map message"
expect_exit 2 "no subcommand" -- "$ORRERY" bpf
expect_exit 2 "bad subcommand" -- "$ORRERY" bpf load "$OBJ/leak.bpf.o"
expect_exit 2 "bad --cpus" -- "$ORRERY" bpf run --cpus 0 "$OBJ/leak.bpf.o"
expect_exit 0 "help" -- "$ORRERY" bpf --help
expect_out 'Usage: orrery bpf verify' "help text"
finish
