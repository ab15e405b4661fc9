#!/usr/bin/env bash
# `orrery litmus`: the whole catalogue (tests/litmus/*.litmus, its orrery
# comments stripped) gets the right x86-TSO verdict per test and passes on
# the modelled machine, the rare allowed outcomes included; the
# store-buffer mutations make it fail; the output is deterministic; bad
# input (a malformed test, one too large for the models, a comment the
# model contradicts, a bad option) is exit 2 with a position, and nothing
# is run.
. "$(dirname "$0")/lib.sh"
RUNS=${LITMUS_RUNS:-1000}
# The catalogue as anyone else's tests would be: the few orrery comments
# removed, so every verdict comes from the model.
mkdir cat
for f in "$SRC"/tests/litmus/*.litmus; do
  grep -v '^(\* orrery: .*\*)$' "$f" >cat/"$(basename "$f")"
done
grep -q 'orrery:' cat/*.litmus && fail "an orrery comment is left in the stripped catalogue" || pass
L=$WORK/cat
NFILE=$(ls "$L"/*.litmus | wc -l)

# The tests whose outcome x86-TSO allows, written here by hand from the
# published results (test_litmus.c has the same list with its sources);
# every other catalogue test's outcome is forbidden.
ALLOWED="3.SB 4.SB R R+mfence+po RWC RWC+mfence+po RWC+po+rfi-po SB SB+mfence+po SB+rfi-pos
         SB+xchg+po W+RWC WRW+WR WRW+WR+po+rfi-po"

# --- the catalogue, judged --------------------------------------------------------
t0=$(date +%s.%N)
"$ORRERY" litmus "$L"/*.litmus --runs "$RUNS" --json >catalogue.json 2>catalogue.err
rc=$?
t1=$(date +%s.%N)
echo "catalogue: $NFILE tests, $(jq .total_runs catalogue.json) runs (--runs $RUNS) in" \
     "$(echo "$t1 - $t0" | bc) s"
if [ $rc -eq 0 ]; then pass; else
  fail "catalogue: exit $rc, expected 0; failing tests:"
  jq -c '.tests[] | select(.pass | not) | {name, witnesses, runs, runs_not_tso, failures}' \
    catalogue.json >&2
  cat catalogue.err >&2
fi
[ "$(jq '[.tests[] | select(.pass)] | length' catalogue.json)" = "$NFILE" ] && pass ||
  fail "catalogue: not all $NFILE tests passed"
want=$(echo $ALLOWED | tr ' ' '\n' | sort | tr '\n' ' ')
got=$(jq -r '.tests[] | select(.tso.allowed) | .name' catalogue.json | sort | tr '\n' ' ')
[ "$got" = "$want" ] && pass || fail "x86-TSO allows: got '$got', want '$want'"
[ "$(jq '[.tests[] | select(.sc.allowed)] | length' catalogue.json)" = 0 ] && pass ||
  fail "SC allows some catalogue outcome"
# allowed outcomes showed, forbidden ones never; runs kept to --runs unless one was missing
jq -e --argjson r "$RUNS" 'all(.tests[]; if .tso.allowed then .witnesses > 0 and .first_witness_run != null
    else .witnesses == 0 and .runs == $r end) and all(.tests[]; .runs_not_tso == 0)' \
  catalogue.json >/dev/null && pass || fail "catalogue: witnesses against the verdicts"
# the rare ones, and how many runs each needed
for t in RWC RWC+po+rfi-po WRW+WR WRW+WR+po+rfi-po W+RWC R; do
  n=$(jq --arg t "$t" '.tests[] | select(.name == $t) | .first_witness_run' catalogue.json)
  echo "  $t: first witness at run $n"
  [ "$n" != null ] && [ -n "$n" ] && pass || fail "$t: allowed outcome not found"
done

# --- the text form: herd7's Observation lines ----------------------------------------
expect_exit 0 "text" -- "$ORRERY" litmus "$L/SB.litmus" "$L/MP.litmus" --runs 200
expect_out '^SB: PASS .* x86-TSO allows it, SC forbids it' "SB verdict"
expect_out '^  x86-TSO  Allowed    Observation SB Sometimes 1 3  \(34 states\)$' "SB: TSO line"
expect_out '^  SC       Forbidden  Observation SB Never 0 3 ' "SB: SC line"
expect_out '^  machine             Observation SB Sometimes [0-9]+ [0-9]+  \(4 of 4 ' "SB: machine"
expect_out '^  x86-TSO  Forbidden  Observation MP Never 0 3 ' "MP: TSO line"
expect_out '^  machine             Observation MP Never 0 200 ' "MP: machine"
n=$(grep -E '^  machine .*Observation SB' <<< "$OUT" | awk '{print $5 + $6}')
[ "$n" = 200 ] && pass || fail "SB: positive + negative runs = $n, expected 200"

# an allowed outcome that does not show is a failure (the bound is one run here)
expect_exit 1 "allowed outcome unseen" -- "$ORRERY" litmus "$L/W+RWC.litmus" --runs 1 --max-runs 1
expect_out 'FAIL: x86-TSO allows the outcome, but none of 1 runs showed it' "unseen: why"

# --- the store-buffer mutations: the catalogue must catch each --------------------------
# no-forward: a load misses its own buffered store (CoWR's 0:EAX=0, and the
# rfi tests end outside x86-TSO); any-order: a later store to one location
# lands first (CoWW). Few runs: these bugs show in most runs of those tests.
for m in "no-forward CoWR SB+rfi-pos" "any-order CoWW"; do
  set -- $m
  "$ORRERY" litmus "$L"/*.litmus --runs 100 --max-runs 300 --sb-mutation $1 --json >mut.json 2>&1
  rc=$?
  bad=" $(jq -r '[.tests[] | select(.pass | not) | .name] | join(" ")' mut.json) "
  echo "sb-mutation $1: exit $rc; failing:$bad"
  [ $rc -eq 1 ] && pass || fail "sb-mutation $1: exit $rc, expected 1"
  jq -e '.sb_mutation == "'$1'" and (.ok | not)' mut.json >/dev/null && pass ||
    fail "sb-mutation $1: json"
  for t in ${@:2}; do
    [[ "$bad" == *" $t "* ]] && pass || fail "sb-mutation $1: $t did not fail"
  done
done
expect_exit 1 "no-forward: text" -- "$ORRERY" litmus "$L/CoWR.litmus" --runs 100 --sb-mutation no-forward
expect_out '^CoWR: FAIL .* x86-TSO forbids it' "no-forward: CoWR fails"
expect_out '^  FAIL: [0-9]+ runs ended in final states x86-TSO does not allow' "no-forward: why"
# the switch is off by default: naming the default changes nothing
"$ORRERY" litmus "$L/SB.litmus" "$L/R.litmus" --runs 100 >a.txt 2>&1
"$ORRERY" litmus "$L/SB.litmus" "$L/R.litmus" --runs 100 --sb-mutation none >b.txt 2>&1
cmp -s a.txt b.txt && pass || fail "--sb-mutation none differs from the default"

# --- JSON and replay ------------------------------------------------------------------------
expect_exit 0 "json" -- "$ORRERY" litmus "$L/SB.litmus" "$L/MP.litmus" --runs 200 --json
echo "$OUT" | jq -e '.ok and (.tests | length == 2) and .tests[0].name == "SB"
  and ([.tests[].outcomes[].count] | add) == 400 and .tests[1].witnesses == 0
  and .tests[0].tso.allowed and (.tests[0].sc.allowed | not) and .tests[0].tso.outcomes == 4
  and .tests[0].observation.kind == "Sometimes" and .tests[1].observation.kind == "Never"
  and .tests[0].condition == "Allowed" and all(.tests[].outcomes[]; .tso_allowed)' >/dev/null &&
  pass || fail "json: shape and counts"
# a witness's first seed replays it alone
seed=$(echo "$OUT" | jq '.tests[0].outcomes[] | select(.witness) | .first_seed')
expect_exit 0 "replay SB witness seed $seed" -- \
  "$ORRERY" litmus "$L/SB.litmus" --seed "$seed" --runs 1 --max-runs 1 --json
echo "$OUT" | jq -e '.tests[0].witnesses == 1 and .tests[0].runs == 1' >/dev/null && pass ||
  fail "replayed run is a witness"

# --- determinism: same command, same bytes -----------------------------------------------
# (--max-runs = --runs: a few runs each, whatever shows)
for p in mesi moesi; do
  "$ORRERY" litmus "$L"/*.litmus --runs 20 --max-runs 20 --seed 7 --protocol $p >a.txt 2>&1
  "$ORRERY" litmus "$L"/*.litmus --runs 20 --max-runs 20 --seed 7 --protocol $p >b.txt 2>&1
  cmp -s a.txt b.txt && pass || fail "$p: two identical commands print different output"
done
"$ORRERY" litmus "$L/SB.litmus" --runs 300 --seed 8 >c.txt 2>&1
cmp -s a.txt c.txt && fail "a different seed changes nothing" || pass

# --- bad input: exit 2, a position, nothing run ---------------------------------------------
printf 'X86 bad\n{ x=0; }\n P0          ;\n MOV [x],$1  ;\n MOV EAX,[y ;\nexists (0:EAX=0)\n' >bad.litmus
expect_exit 2 "malformed test" -- "$ORRERY" litmus bad.litmus "$L/SB.litmus"
expect_out '^bad\.litmus:5:13: error: ' "malformed test: file:line:col"
grep -q 'SB:' <<< "$OUT" && fail "malformed test: nothing may run" || pass
printf 'X86 unsup\n{ }\n P0          ;\n ADD [x],$1  ;\nexists (x=1)\n' >unsup.litmus
expect_exit 2 "unsupported instruction" -- "$ORRERY" litmus unsup.litmus
expect_out "^unsup\.litmus:4:2: error: expected an instruction .*got 'ADD'" "unsupported: position"
printf 'X86 noreg\n{ }\n P0          | P1 ;\n MOV [x],$1  | MOV EAX,[x] ;\nexists (0:EAX=1)\n' >noreg.litmus
expect_exit 2 "condition on an unwritten register" -- "$ORRERY" litmus noreg.litmus "$L/SB.litmus"
expect_out '^noreg\.litmus:5:9: error: the condition reads 0:EAX, but thread 0 never writes EAX' \
  "unwritten register: position"
grep -q 'SB:' <<< "$OUT" && fail "unwritten register: nothing may run" || pass
expect_exit 2 "state bound" -- "$ORRERY" litmus "$L/MP.litmus" "$L/SB.litmus" --max-states 30
expect_out "^$L/SB\.litmus:[0-9]+:[0-9]+: error: test SB has more than 30 x86-TSO states" \
  "state bound: position"
expect_out "a larger bound: --max-states\)" "state bound: names the flag"
grep -q 'MP:' <<< "$OUT" && fail "state bound: nothing may run" || pass
sed 's/orrery: tso=allowed observed=required/orrery: tso=forbidden/' "$SRC/tests/litmus/SB.litmus" >lie.litmus
expect_exit 2 "orrery comment contradicted" -- "$ORRERY" litmus lie.litmus
expect_out '^lie\.litmus:5:1: error: the orrery comment says tso=forbidden, but the x86-TSO model allows' \
  "contradicted comment: position"
printf 'X86 init1\n{ x=1; }\n P0 ;\n MOV EAX,[x] ;\nexists (0:EAX=1)\n' >init.litmus
expect_exit 2 "nonzero initial memory" -- "$ORRERY" litmus init.litmus
expect_out 'only initial value 0' "nonzero initial memory: why"
expect_exit 2 "missing file" -- "$ORRERY" litmus nonexistent.litmus
expect_exit 2 "unknown protocol" -- "$ORRERY" litmus "$L/SB.litmus" --protocol bogus --runs 1
expect_out "unknown coherence protocol 'bogus'" "unknown protocol: message"
expect_exit 2 "unknown sb mutation" -- "$ORRERY" litmus "$L/SB.litmus" --sb-mutation bogus --runs 1
expect_out "sb_mutation" "unknown sb mutation: names the key"
expect_exit 2 "--runs 0" -- "$ORRERY" litmus "$L/SB.litmus" --runs 0
expect_exit 2 "--max-runs below --runs" -- "$ORRERY" litmus "$L/SB.litmus" --runs 10 --max-runs 5
expect_out 'max-runs 5 is below --runs 10' "--max-runs below --runs: why"
expect_exit 2 "--max-states 0" -- "$ORRERY" litmus "$L/SB.litmus" --max-states 0
expect_exit 2 "no file" -- "$ORRERY" litmus
expect_exit 0 "--help" -- "$ORRERY" litmus --help
expect_out '^Usage: orrery litmus' "--help text"
expect_exit 0 "top-level help lists litmus" -- "$ORRERY" --help
expect_out '^  litmus ' "top-level help lists litmus"

finish
