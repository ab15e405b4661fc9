#!/usr/bin/env bash
# `orrery litmus`: the whole catalogue (tests/litmus/*.litmus) meets its TSO
# expectations on the modelled machine; the output is deterministic; bad
# input (a malformed test, a bad option or protocol) is exit 2 with a
# position, and nothing is run.
. "$(dirname "$0")/lib.sh"
L=$SRC/tests/litmus
RUNS=${LITMUS_RUNS:-3000}

# --- the catalogue --------------------------------------------------------------
t0=$(date +%s.%N)
"$ORRERY" litmus "$L"/*.litmus --runs "$RUNS" >catalogue.txt 2>catalogue.err
rc=$?
t1=$(date +%s.%N)
echo "catalogue: $(ls "$L"/*.litmus | wc -l) tests x $RUNS runs in $(echo "$t1 - $t0" | bc) s"
if [ $rc -eq 0 ]; then pass; else
  fail "catalogue: exit $rc, expected 0; failing tests:"
  grep -A12 ': FAIL' catalogue.txt >&2; cat catalogue.err >&2
fi
n=$(grep -c ': PASS ' catalogue.txt)
[ "$n" = "$(ls "$L"/*.litmus | wc -l)" ] && pass || fail "catalogue: $n tests passed"
# witnesses of test $1 in the catalogue's "NAME: PASS  W of N runs ..." line
witnesses() { awk -v t="$1:" '$1 == t && $2 == "PASS" && $5 == "'"$RUNS"'" {print $3}' catalogue.txt; }
# store buffering shows on SB and R; fences and atomics take it away
for t in SB R; do
  w=$(witnesses $t); [ -n "$w" ] && [ "$w" -gt 0 ] && pass || fail "$t observed: '$w'"
done
for t in MP LB S 2+2W IRIW WRC SB+mfences R+mfences MP+mfences IRIW+mfences WRC+mfences \
         SB+xchgs CoRR CMPXCHG-mutex XADD-atomic; do
  [ "$(witnesses $t)" = 0 ] && pass || fail "$t never observed"
done

# --- JSON and replay --------------------------------------------------------------
expect_exit 0 "json" -- "$ORRERY" litmus "$L/SB.litmus" "$L/MP.litmus" --runs 200 --json
echo "$OUT" | jq -e '.ok and (.tests | length == 2) and .tests[0].name == "SB"
  and ([.tests[].outcomes[].count] | add) == 400 and .tests[1].witnesses == 0' >/dev/null &&
  pass || fail "json: shape and counts"
# a witness's first seed replays it alone
seed=$(echo "$OUT" | jq '.tests[0].outcomes[] | select(.witness) | .first_seed')
expect_exit 0 "replay SB witness seed $seed" -- "$ORRERY" litmus "$L/SB.litmus" --seed "$seed" --runs 1 --json
echo "$OUT" | jq -e '.tests[0].witnesses == 1' >/dev/null && pass || fail "replayed run is a witness"

# --- determinism: same command, same bytes -----------------------------------------
for p in mesi moesi; do
  "$ORRERY" litmus "$L"/*.litmus --runs 300 --seed 7 --protocol $p >a.txt 2>&1
  "$ORRERY" litmus "$L"/*.litmus --runs 300 --seed 7 --protocol $p >b.txt 2>&1
  cmp -s a.txt b.txt && pass || fail "$p: two identical commands print different output"
done
"$ORRERY" litmus "$L/SB.litmus" --runs 300 --seed 8 >c.txt 2>&1
cmp -s a.txt c.txt && fail "a different seed changes nothing" || pass

# --- bad input -------------------------------------------------------------------------
printf 'X86 bad\n{ x=0; }\n P0          ;\n MOV [x],$1  ;\n MOV EAX,[y ;\nexists (0:EAX=0)\n' >bad.litmus
expect_exit 2 "malformed test" -- "$ORRERY" litmus bad.litmus "$L/SB.litmus"
expect_out '^bad\.litmus:5:13: error: ' "malformed test: file:line:col"
grep -q 'SB:' <<< "$OUT" && fail "malformed test: nothing may run" || pass
printf 'X86 init1\n{ x=1; }\n P0 ;\n MOV EAX,[x] ;\nexists (0:EAX=1)\n' >init.litmus
expect_exit 2 "nonzero initial memory" -- "$ORRERY" litmus init.litmus
expect_out 'only initial value 0' "nonzero initial memory: why"
expect_exit 2 "missing file" -- "$ORRERY" litmus nonexistent.litmus
expect_exit 2 "unknown protocol" -- "$ORRERY" litmus "$L/SB.litmus" --protocol bogus --runs 1
expect_out "unknown coherence protocol 'bogus'" "unknown protocol: message"
expect_exit 2 "--runs 0" -- "$ORRERY" litmus "$L/SB.litmus" --runs 0
expect_exit 2 "no file" -- "$ORRERY" litmus
expect_exit 0 "--help" -- "$ORRERY" litmus --help
expect_out '^Usage: orrery litmus' "--help text"
expect_exit 0 "top-level help lists litmus" -- "$ORRERY" --help
expect_out '^  litmus ' "top-level help lists litmus"

finish
