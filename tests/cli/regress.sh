#!/usr/bin/env bash
# `orrery regress`: the scenarios/ folder passes against tests/golden (the
# default golden folder), with valid JUnit XML; a tampered golden digest
# and a missing one fail and are named; a failing budget fails; baseline
# traces turn a divergence into the first divergent event (orrery diff's
# output); bad usage is exit 2.
. "$(dirname "$0")/lib.sh"

xml_ok() { # FILE: well-formed XML
  if command -v xmllint >/dev/null; then xmllint --noout "$1"
  else python3 -c 'import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])' "$1"; fi
}

# --- the whole scenarios/ folder, default golden folder ------------------------
OUT=$(cd "$SRC" && "$ORRERY" regress scenarios -j 2 --junit "$WORK/all.xml" 2>&1); rc=$?
[ $rc = 0 ] && pass || { fail "regress scenarios/: exit $rc"; echo "$OUT" | tail -20 >&2; }
expect_out '^quickstart +ok +pass 2/2 ' "table row"
expect_out '^sched-mixed +ok +pass 3/3 ' "budgets column"
expect_out "regress: $(ls "$SRC"/scenarios/*.yaml | wc -l) scenarios, .* 0 failed \(golden tests/golden" \
  "summary names the default golden folder"
xml_ok all.xml && pass || fail "JUnit XML well-formed"
[ "$(grep -c '<testcase ' all.xml)" = "$(ls "$SRC"/scenarios/*.yaml | wc -l)" ] && pass ||
  fail "one testcase per scenario"
grep -q '<testsuite name="orrery.regress" tests="[0-9]*" failures="0" errors="0"' all.xml &&
  pass || fail "testsuite counts"
! ls all.xml.tmp* >/dev/null 2>&1 && pass || fail "no .tmp left"

# a small copy for the failure cases (fast scenarios)
mkdir scen
cp "$SRC/scenarios/quickstart.yaml" "$SRC/scenarios/sched-edf.yaml" "$SRC/scenarios/sched-mixed.yaml" scen/
cp -r "$SRC/tests/golden" golden
expect_exit 0 "copy passes" -- "$ORRERY" regress scen --golden golden -j 2

# --- a tampered golden digest, a missing one --------------------------------------
echo 0123456789abcdef > golden/quickstart.digest
rm golden/sched-edf.digest
expect_exit 1 "tampered golden" -- "$ORRERY" regress scen --golden golden --junit bad.xml -j 2
expect_out '^quickstart +DIVERGED ' "names the diverged scenario"
expect_out '^sched-edf +missing golden ' "names the scenario without a golden digest"
expect_out '^sched-mixed +ok ' "the others still pass"
expect_out 'quickstart: digest [0-9a-f]{16}, golden 0123456789abcdef' "digests in the reason"
expect_out 'record baseline traces on a known-good build with .*--record-traces' \
  "says how to get the first divergent event"
xml_ok bad.xml && pass || fail "JUnit XML with failures well-formed"
grep -q 'failures="2"' bad.xml && pass || fail "two failures counted"
python3 - bad.xml <<'PY' && pass || fail "failure elements name the reason"
import sys, xml.dom.minidom
d = xml.dom.minidom.parse(sys.argv[1])
f = {tc.getAttribute("name"): tc.getElementsByTagName("failure") for tc in d.getElementsByTagName("testcase")}
assert len(f["quickstart"]) == 1 and "0123456789abcdef" in f["quickstart"][0].getAttribute("message")
assert f["quickstart"][0].getAttribute("type") == "diverged"
assert len(f["sched-edf"]) == 1 and f["sched-edf"][0].getAttribute("type") == "missing_golden"
assert not f["sched-mixed"]
PY
"$ORRERY" regress scen --golden golden --json > r.json; rc=$?
[ $rc = 1 ] && jq -e '.failed == 2 and .passed == 1 and
  ([.scenarios[] | select(.name == "quickstart")][0].result == "diverged")' r.json >/dev/null &&
  pass || fail "--json result (exit $rc)"
cp -r "$SRC/tests/golden/." golden/

# --- a broken budget ----------------------------------------------------------------
sed 's/node0.ctl.wakeup_latency.p99: "<= 100us"/node0.ctl.wakeup_latency.p99: "<= 1ns"/' \
  "$SRC/scenarios/sched-mixed.yaml" > scen/sched-mixed.yaml
grep -q '"<= 1ns"' scen/sched-mixed.yaml || fail "test setup: budget not edited"
expect_exit 1 "broken budget" -- "$ORRERY" regress scen --golden golden -j 2
expect_out '^sched-mixed +ok +FAIL 2/3 ' "FAIL in the budgets column, digest still ok"
cp "$SRC/scenarios/sched-mixed.yaml" scen/

# --- baseline traces: the first divergent event ------------------------------------
expect_exit 0 "record baselines" -- "$ORRERY" regress scen --golden golden --record-traces base -j 2
[ -s base/quickstart.trace ] && [ -s base/sched-edf.trace ] && pass || fail "traces recorded"
# the scenario now behaves differently; its golden digest is the old one
sed -i 's/latency: 300ns /latency: 310ns /' scen/quickstart.yaml
grep -q 'latency: 310ns' scen/quickstart.yaml || fail "test setup: scenario not edited"
mkdir tmp
expect_exit 1 "divergence with baselines" -- env TMPDIR="$WORK/tmp" "$ORRERY" regress scen --golden golden \
  --baseline-traces base --junit diff.xml -j 2
expect_out '^quickstart +DIVERGED ' "diverged"
expect_out '\$ orrery diff base/quickstart\.trace ' "the diff command"
expect_out '^first divergence at event #[0-9]+' "the first divergent event"
# (the baseline's switch forwards at 300 ns; in this run nothing happens
# there at that instant, so the next event is another component's)
expect_out '^A +#[0-9]+ .* sw0 ' "event from the baseline"
expect_out '^B +#[0-9]+ ' "event from this run"
expect_out 'fields that differ: time' "what differs"
xml_ok diff.xml && pass || fail "JUnit with the diff well-formed"
grep -q 'first divergence at event' diff.xml && pass || fail "the diff is in the JUnit failure"
[ -z "$(ls tmp)" ] && pass || fail "temporary traces removed"
rm -f scen/sched-edf.yaml base/quickstart.trace
expect_exit 1 "missing baseline trace" -- "$ORRERY" regress scen --golden golden --baseline-traces base
expect_out 'no baseline trace base/quickstart\.trace' "names the missing baseline"

# --- bad usage: exit 2, nothing run --------------------------------------------------
expect_exit 2 "no DIR" -- "$ORRERY" regress
expect_exit 2 "missing DIR" -- "$ORRERY" regress nosuch
mkdir empty
expect_exit 2 "empty DIR" -- "$ORRERY" regress empty --golden golden
expect_out "no scenarios" "empty DIR message"
expect_exit 2 "default golden folder missing" -- "$ORRERY" regress scen
expect_out "golden folder 'tests/golden' does not exist .*--golden" "names the default"
expect_exit 2 "missing baseline folder" -- "$ORRERY" regress scen --golden golden --baseline-traces nosuch
expect_exit 2 "record over the baselines" -- "$ORRERY" regress scen --golden golden \
  --baseline-traces base --record-traces base
expect_exit 2 "unwritable junit" -- "$ORRERY" regress scen --golden golden --junit nosuch/x.xml
expect_exit 2 "-j 0" -- "$ORRERY" regress scen --golden golden -j 0
finish
