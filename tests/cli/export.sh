#!/usr/bin/env bash
# `orrery export`: every format on real runs (sched-fair for the scheduler's
# trace points, incast for messages over links), cross-checked against each
# other, plus bad input (missing, truncated trace, unknown format).
. "$(dirname "$0")/lib.sh"
S=$SRC/scenarios

"$ORRERY" run "$S/sched-fair.yaml" --no-db -q --set stop.duration=200ms --trace fair.trace ||
  fail "sched-fair runs with a trace"
"$ORRERY" run "$S/incast.yaml" --no-db -q --trace incast.trace || fail "incast runs with a trace"

for t in fair incast; do
  for f in chrome perfetto ftrace vcd; do
    expect_exit 0 "$t: export $f" -- "$ORRERY" export $t.trace --format $f -o $t.$f
    [ -s $t.$f ] && ! ls $t.$f.tmp* >/dev/null 2>&1 && pass || fail "$t.$f written, no .tmp left"
  done
done

# --- Chrome / Perfetto JSON -------------------------------------------------
for t in fair incast; do
  jq -e '.traceEvents | length > 0' $t.chrome >/dev/null && pass || fail "$t.chrome parses"
  # a named process per component, and every one of them has events
  named=$(jq -c '[.traceEvents[] | select(.ph == "M" and .name == "process_name") | .pid] | unique' $t.chrome)
  used=$(jq -c '[.traceEvents[] | select(.ph == "X") | .pid] | unique' $t.chrome)
  [ "$named" = "$used" ] && pass || fail "$t: processes $named, with events $used"
  # flows come in pairs with the same id
  jq -e '([.traceEvents[] | select(.ph == "s") | .id] | sort) ==
         ([.traceEvents[] | select(.ph == "f") | .id] | sort)' $t.chrome >/dev/null &&
    pass || fail "$t: every flow start has its end"
  # times are microseconds with the picoseconds kept
  jq -e '[.traceEvents[] | select(.ph == "X" and .cat != "link") | .ts] | . == sort' $t.chrome >/dev/null &&
    pass || fail "$t: records in time order"
  # busy slices on bandwidth-limited links: as many as messages over them
  if [ $t = incast ]; then
    jq -e '[.traceEvents[] | select(.name == "busy" and .dur > 0)] | length > 1000' $t.chrome >/dev/null &&
      pass || fail "$t: link busy slices"
  fi
  cmp -s $t.chrome $t.perfetto && pass || fail "$t: perfetto is the chrome JSON (an alias)"
done
ncomp=$(jq '[.traceEvents[] | select(.ph == "M" and .name == "process_name")] | length' incast.chrome)
[ "$ncomp" = 10 ] && pass || fail "incast: 9 components and the engine, got $ncomp"
nflow=$(jq '[.traceEvents[] | select(.ph == "s")] | length' incast.chrome)
nmsg=$(jq '[.traceEvents[] | select(.ph == "X" and .name == "msg")] | length' incast.chrome)
[ "$nflow" -gt 1000 ] && [ "$nflow" = "$nmsg" ] && pass || fail "incast: $nflow flows for $nmsg messages"
jq -e '[.traceEvents[] | select(.ph == "s" and .pid == 4)] | length > 0' incast.chrome >/dev/null &&
  pass || fail "incast: flows start at the senders"
jq -e '[.traceEvents[] | select(.ph == "C" and (.name | startswith("link s0.out->sw0.p0")))
        | .args.utilisation] | length > 100 and max <= 1 and min >= 0' incast.chrome >/dev/null &&
  pass || fail "incast: link utilisation counter in [0, 1]"
jq -e '[.traceEvents[] | select(.ph == "C" and .name == "switch.drop")] | length > 0' incast.chrome \
  >/dev/null && pass || fail "incast: switch.drop counter"

# --- ftrace ---------------------------------------------------------------------
head -1 fair.ftrace | grep -qx '# tracer: nop' && pass || fail "ftrace header"
nsw=$(grep -c ': sched_switch: prev_comm=' fair.ftrace)
nwk=$(grep -c ': sched_wakeup: comm=' fair.ftrace)
# the same records counted from the two other exports
jsw=$(jq '[.traceEvents[] | select(.ph == "X" and .name == "sched_switch")] | length' fair.chrome)
id=$(awk '$1 == "$var" && $5 == "sched_switch" {print $4}' fair.vcd)
vsw=$(awk -v id="$id" '/^\$enddefinitions/ {d = 1} d && /^b/ && $2 == id {n++} END {print n - 1}' fair.vcd)
[ "$nsw" -gt 10 ] && [ "$nsw" = "$jsw" ] && [ "$nsw" = "$vsw" ] && pass ||
  fail "sched_switch lines: ftrace $nsw, chrome $jsw, vcd $vsw"
grep -q "entries-in-buffer/entries-written: $((nsw + nwk))/$((nsw + nwk))   #P:1" fair.ftrace &&
  pass || fail "ftrace entry count"
# names, pids and priorities from the scenario's tasks (c has nice 5)
grep -Eq '^ +a-1 +\[000\] d\.\.2\. +[0-9]+\.[0-9]{6}: sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=R ==> next_comm=[bc] next_pid=[23] next_prio=12[05]$' fair.ftrace &&
  pass || fail "sched_switch line format"
grep -q 'sched_wakeup: comm=c pid=3 prio=125 target_cpu=000' fair.ftrace && pass || fail "sched_wakeup line"
! grep -v '^#' fair.ftrace | grep -vqE ': sched_(switch|wakeup): ' && pass || fail "only sched lines"
[ "$(grep -vc '^#' incast.ftrace)" = 0 ] && pass || fail "no scheduler: header only"

# --- VCD ------------------------------------------------------------------------
for t in fair incast; do
  grep -qx '\$timescale 1ps \$end' $t.vcd && grep -qx '\$enddefinitions \$end' $t.vcd &&
    pass || fail "$t.vcd header"
  awk '/^#/ {t = substr($0, 2) + 0; if (n && t <= p) bad++; p = t; n++}
       END {exit !(n > 1 && !bad)}' $t.vcd && pass || fail "$t.vcd timestamps increase"
  # every value change names a declared variable
  awk '$1 == "$var" {v[$4] = 1} /^[br]/ && !($2 in v) {bad++} END {exit bad > 0}' $t.vcd &&
    pass || fail "$t.vcd changes only declared variables"
done
for c in sw0 sink0 sink1 s0 s1 s2 s3 s4 s5; do
  grep -qx "\$scope module $c \$end" incast.vcd || fail "incast.vcd: no scope $c"
done
grep -q '^\$var wire 64 . switch_drop \$end$' incast.vcd && pass || fail "incast.vcd: switch.drop wire"
grep -q '^\$var real 64 . s0_out__sw0_p0 \$end$' incast.vcd && pass || fail "incast.vcd: link utilisation"

# --- output and bad input ------------------------------------------------------
expect_exit 0 "stdout by default" -- "$ORRERY" export fair.trace --format ftrace
[ "$OUT" = "$(cat fair.ftrace)" ] && pass || fail "stdout equals -o output"
expect_exit 0 "--help" -- "$ORRERY" export --help
expect_out 'Usage: orrery export' "help text"
expect_exit 2 "missing trace" -- "$ORRERY" export nope.trace --format vcd -o nope.vcd
expect_out "cannot open trace 'nope.trace'" "missing trace named"
[ ! -e nope.vcd ] && pass || fail "no output for a missing trace"
head -c 2000 incast.trace > cut.trace
expect_exit 2 "truncated trace" -- "$ORRERY" export cut.trace --format chrome -o cut.json
expect_out "truncated" "truncation reported"
[ ! -e cut.json ] && ! ls cut.json.tmp* >/dev/null 2>&1 && pass || fail "no output for a truncated trace"
expect_exit 2 "unknown format" -- "$ORRERY" export fair.trace --format json
expect_out "unknown format 'json'" "format named"
expect_exit 2 "no format" -- "$ORRERY" export fair.trace
expect_exit 2 "no trace" -- "$ORRERY" export --format vcd

# cache-line states as waveforms: machine.trace_states makes every core's
# line-state changes trace points; the VCD has a coh_state wire per core
# whose values are coherence states (I=0 S=1 E=2 O=3 M=4, transients above)
"$ORRERY" run "$SRC/scenarios/mem-c2c.yaml" --set machine.trace_states=true --no-db --quiet \
  --trace states.trace || fail "trace_states run"
"$ORRERY" export states.trace --format vcd -o states.vcd || fail "states vcd"
[ "$(grep -c 'var wire 64 .* coh_state' states.vcd)" -ge 4 ] && pass || fail "a coh_state wire per busy core"
grep -q '^b100 ' states.vcd && grep -q '^b1 ' states.vcd && pass || fail "M (4) and S (1) appear as values"
finish
