#!/usr/bin/env bash
# Careless hands: no verb's output clobbers one of its inputs or another
# output, and none replaces a device, directory or fifo. Each refusal exits
# 2 with a message naming both files, and the inputs' bytes are unchanged.
. "$(dirname "$0")/lib.sh"

mkdir presets
cp "$SRC/scenarios/incast.yaml" inc.yaml
cp "$SRC/scenarios/presets/lan-switch.yaml" presets/
SHORT=(--set stop.duration=200us)
"$ORRERY" run inc.yaml "${SHORT[@]}" --db R.db --trace t.trace -q || fail "setup run"

sums() { sha1sum R.db inc.yaml presets/lan-switch.yaml t.trace; }
BEFORE=$(sums)
unchanged() {
  if [ "$(sums)" = "$BEFORE" ]; then pass; else fail "$1: an input changed"; fi
}
no_tmp() {
  if ls ./*.tmp.* presets/*.tmp.* >/dev/null 2>&1; then fail "$1: a temporary file was left"; else pass; fi
}

# refused DESC REGEX -- command...: exit 2, the message, nothing changed
refused() {
  local desc=$1 re=$2; shift 2
  expect_exit 2 "$desc" "$@"
  expect_out "$re" "$desc: message"
  unchanged "$desc"
  no_tmp "$desc"
}

# --- run -------------------------------------------------------------------
refused "run --trace over the database" \
  "orrery run: the trace 'R.db' is the same file as the database 'R.db'; refusing to overwrite it" \
  -- "$ORRERY" run inc.yaml "${SHORT[@]}" --db R.db --trace R.db
[ "$(sqlite3 R.db 'select count(*) from runs')" = 1 ] && pass || fail "the database keeps its run"
refused "run --trace over the scenario" "the trace 'inc.yaml' is the same file as the scenario 'inc.yaml'" \
  -- "$ORRERY" run inc.yaml "${SHORT[@]}" --db R.db --trace inc.yaml
refused "run --trace over a preset it extends" \
  "the trace 'presets/../presets/lan-switch.yaml' is the same file as the preset 'presets/lan-switch.yaml'" \
  -- "$ORRERY" run inc.yaml "${SHORT[@]}" --db R.db --trace presets/../presets/lan-switch.yaml
refused "run --trace over the scenario through a link" "is the same file as the scenario" \
  -- bash -c "ln -sf inc.yaml link.yaml && '$ORRERY' run inc.yaml ${SHORT[*]} --db R.db --trace link.yaml"
[ -L link.yaml ] && pass || fail "the link is still a link"
refused "run --db the scenario" "the database 'inc.yaml' is the same file as the scenario 'inc.yaml'" \
  -- "$ORRERY" run inc.yaml "${SHORT[@]}" --db inc.yaml
refused "run --db and --trace one new file" \
  "the trace 'sub/../new.db' is the same file as the database 'new.db'" \
  -- bash -c "mkdir -p sub && '$ORRERY' run inc.yaml ${SHORT[*]} --db new.db --trace sub/../new.db"
[ ! -e new.db ] && pass || fail "nothing created under the shared name"
if [ -c /dev/full ]; then
  refused "run --trace /dev/full" "the trace '/dev/full' is a character device, not a regular file; refusing to replace it" \
    -- "$ORRERY" run inc.yaml "${SHORT[@]}" --db R.db --trace /dev/full
  [ -c /dev/full ] && pass || fail "/dev/full is still a device"
fi
mkdir adir
refused "run --trace a directory" "the trace 'adir' is a directory" \
  -- "$ORRERY" run inc.yaml "${SHORT[@]}" --db R.db --trace adir
mkfifo afifo
refused "run --trace a fifo" "the trace 'afifo' is a fifo" \
  -- "$ORRERY" run inc.yaml "${SHORT[@]}" --db R.db --trace afifo
[ -p afifo ] && pass || fail "the fifo is still a fifo"
refused "run --db a fifo" "the database 'afifo' is a fifo" \
  -- "$ORRERY" run inc.yaml "${SHORT[@]}" --db afifo
[ "$(sqlite3 R.db 'select count(*) from runs')" = 1 ] && pass || fail "no run stored by a refused run"

# a trace that cannot be started leaves no new, empty database behind
expect_exit 2 "run --trace into a missing folder" -- "$ORRERY" run inc.yaml "${SHORT[@]}" --db fresh.db --trace nodir/t.trace
expect_out "cannot create a temporary file beside 'nodir/t.trace'" "run --trace into a missing folder: message"
[ ! -e fresh.db ] && pass || fail "no empty database left by a trace that could not be started"

# an output that exists as a regular file is replaced whole, atomically
echo "old contents" > t2.trace
expect_exit 0 "run --trace over an old file" -- "$ORRERY" run inc.yaml "${SHORT[@]}" --no-db --trace t2.trace
cmp -s t2.trace t.trace && pass || fail "the old file is replaced by the trace"
no_tmp "a trace written over an old file"

# --- report ----------------------------------------------------------------
refused "report -o the database" \
  "orrery report: the output 'R.db' is the same file as the database 'R.db'; refusing to overwrite it" \
  -- "$ORRERY" report --db R.db -o R.db
refused "report -o the database by another name" "is the same file as the database 'R.db'" \
  -- "$ORRERY" report --db R.db -o ./adir/../R.db --format csv
refused "report -o the scenario of a run in the page" "the output 'inc.yaml' is the same file as the scenario 'inc.yaml'" \
  -- "$ORRERY" report --db R.db -o inc.yaml --format html
refused "report -o a directory" "the output 'adir' is a directory" \
  -- "$ORRERY" report --db R.db -o adir --format csv
expect_exit 0 "report -o a new file" -- "$ORRERY" report --db R.db -o rep.csv
[ -s rep.csv ] && pass || fail "report written"
no_tmp "report"

# --- export ----------------------------------------------------------------
refused "export -o the trace" \
  "orrery export: the output 't.trace' is the same file as the trace 't.trace'; refusing to overwrite it" \
  -- "$ORRERY" export t.trace -f chrome -o t.trace
if [ -c /dev/full ]; then
  refused "export -o /dev/full" "the output '/dev/full' is a character device" \
    -- "$ORRERY" export t.trace -f ftrace -o /dev/full
fi
expect_exit 0 "export -o a file" -- "$ORRERY" export t.trace -f vcd -o t.vcd
[ -s t.vcd ] && pass || fail "export written"

# --- graph -----------------------------------------------------------------
refused "graph -o the scenario" "orrery graph: the output 'inc.yaml' is the same file as the scenario 'inc.yaml'" \
  -- "$ORRERY" graph inc.yaml --format dot -o inc.yaml
refused "graph -o a preset" "the output 'presets/lan-switch.yaml' is the same file as the preset" \
  -- "$ORRERY" graph inc.yaml --format dot -o presets/lan-switch.yaml
refused "graph --protocol -o a fifo" "the output 'afifo' is a fifo" \
  -- "$ORRERY" graph --protocol mesi --format dot -o afifo
# a symbolic link is written through: the target is replaced, the link stays
mkdir -p linked && echo old >linked/target.dot && ln -sf linked/target.dot via-link.dot
expect_exit 0 "graph -o a symbolic link" -- "$ORRERY" graph --protocol mesi --format dot -o via-link.dot
[ -L via-link.dot ] && [ "$(readlink via-link.dot)" = linked/target.dot ] && pass ||
  fail "the output symlink was replaced by a file"
grep -q digraph linked/target.dot && pass || fail "the symlink's target was not written"
[ -z "$(ls linked/*.tmp.* ./*.tmp.* 2>/dev/null)" ] && pass || fail "a temporary file was left"
ln -sf nowhere/missing.dot dangling.dot
expect_exit 2 "graph -o a dangling symbolic link" -- "$ORRERY" graph --protocol mesi --format dot -o dangling.dot
expect_out "cannot write 'dangling.dot': it is a symbolic link whose target cannot be resolved" "dangling link message"
[ -L dangling.dot ] && pass || fail "the dangling link was replaced"

# --- sweep -----------------------------------------------------------------
refused "sweep --db the scenario" "orrery sweep: the database 'inc.yaml' is the same file as the scenario" \
  -- "$ORRERY" sweep inc.yaml --db inc.yaml --axis stop.duration=100us,200us -q
refused "sweep --db a preset" "the database 'presets/lan-switch.yaml' is the same file as the preset" \
  -- "$ORRERY" sweep inc.yaml --db presets/lan-switch.yaml --axis stop.duration=100us,200us -q

# --- regress ---------------------------------------------------------------
mkdir reg gold
printf 'name: tiny\nseed: 1\nstop: {duration: 1us}\ncomponents: {}\n' > reg/tiny.yaml
echo 0000000000000000 > gold/tiny.digest
REGSUM=$(sha1sum reg/tiny.yaml gold/tiny.digest)
expect_exit 2 "regress --junit over a scenario" -- "$ORRERY" regress reg --golden gold --junit reg/tiny.yaml -q
expect_out "orrery regress: the JUnit file 'reg/tiny.yaml' is the same file as the scenario 'reg/tiny.yaml'" \
  "regress --junit over a scenario: message"
expect_exit 2 "regress --junit over a golden digest" -- "$ORRERY" regress reg --golden gold --junit gold/tiny.digest -q
expect_out "the JUnit file 'gold/tiny.digest' is the same file as the golden digest" "regress --junit over a golden digest: message"
expect_exit 2 "regress --junit over a recorded trace" -- "$ORRERY" regress reg --golden gold --record-traces tr --junit tr/tiny.trace -q
expect_out "the JUnit file 'tr/tiny.trace' is the same file as the trace 'tr/tiny.trace'" "regress --junit over a trace: message"
[ "$(sha1sum reg/tiny.yaml gold/tiny.digest)" = "$REGSUM" ] && pass || fail "regress inputs unchanged"
no_tmp "regress"

# --- the DB holds what the docs say ----------------------------------------
# The effective scenario (preset merged, overrides applied) is stored with
# the run; written to a file and run with the run's seed, it gives the
# stored digest. runs.events counts dispatched events: the engine's
# sim.events metric, not the trace's records (which add trace points).
"$ORRERY" run inc.yaml --set stop.duration=150us --set components.sw0.queue=8KiB --seed 9 \
  --db eff.db --trace eff.trace -q || fail "run for the effective scenario"
sqlite3 eff.db "select text from run_scenarios where run_id = 1" > effective.yaml
grep -q 'queue: 8KiB' effective.yaml && ! grep -q extends effective.yaml && pass ||
  fail "the stored scenario has the override and no extends"
mkdir elsewhere && mv effective.yaml elsewhere/
again=$("$ORRERY" run elsewhere/effective.yaml --seed "$(sqlite3 eff.db 'select seed from runs')" --no-db --json |
  sed -n 's/.*"digest": "\([0-9a-f]*\)".*/\1/p')
[ -n "$again" ] && [ "$again" = "$(sqlite3 eff.db 'select digest from runs')" ] && pass ||
  fail "the stored effective scenario runs to the stored digest ($again)"
[ "$(sqlite3 eff.db 'select events from runs')" = \
  "$(sqlite3 eff.db "select cast(value as int) from metrics where component = 'sim' and name = 'events'")" ] &&
  pass || fail "runs.events is sim.events"
# a database from before the table: its runs stay readable, new runs store it
cp eff.db old.db && sqlite3 old.db 'drop table run_scenarios'
"$ORRERY" run inc.yaml "${SHORT[@]}" --db old.db -q || fail "run into an older database"
[ "$(sqlite3 old.db 'select group_concat(r.id) from runs r left join run_scenarios s on s.run_id = r.id where s.text is not null')" = 2 ] &&
  pass || fail "an older database gains the table and the new run's scenario"
"$ORRERY" report --db old.db --run 1 > /dev/null && pass || fail "report reads the older run"

# --- JSON is always valid --------------------------------------------------
# A scenario file, trace and database named with bytes that are not UTF-8,
# and a name with quotes, a backslash and control characters: run --json
# and the chrome export still parse; the invalid bytes read U+FFFD.
BAD=$'odd\xff\xfe'
sed 's/^name: incast$/name: "q\\"uote\\\\back\\x01ctl\\ttab"/' inc.yaml > "$BAD.yaml"
grep -q '^name: "q' "$BAD.yaml" && pass || fail "the odd name is in the scenario"
"$ORRERY" run "$BAD.yaml" "${SHORT[@]}" --db "$BAD.db" --trace "$BAD.trace" --json > run.json 2> run.err
[ $? = 0 ] && pass || { fail "run with odd names"; cat run.err >&2; }
python3 - run.json <<'EOF2' && pass || fail "run --json parses and escapes"
import json, sys
j = json.load(open(sys.argv[1], encoding='utf-8'))
assert j["name"] == 'q"uote\\back\x01ctl\ttab', repr(j["name"])
for key in ("scenario", "db", "trace"):
    assert j[key].startswith("odd\ufffd\ufffd."), (key, j[key])
EOF2
"$ORRERY" export "$BAD.trace" -f chrome -o odd.json && pass || fail "export of the odd trace"
python3 - odd.json <<'EOF2' && pass || fail "chrome export parses"
import json, sys
j = json.load(open(sys.argv[1], encoding='utf-8'))
assert j["otherData"]["scenario"] == "odd\ufffd\ufffd.yaml", j["otherData"]["scenario"]
EOF2

# --- diff checks what it compares ------------------------------------------
# A byte flipped inside segment 2 of a copy: diff with the original and with
# itself reads every segment first and names the corrupt one; the footers
# alone would call them identical.
"$ORRERY" run inc.yaml "${SHORT[@]}" --set trace.checkpoint_every=1000 --no-db --trace seg.trace -q ||
  fail "trace with small segments"
# the checkpoint table (docs/traces.md): footer_offset at end-24; the footer
# starts nRec, digest, sim_time, header_xxh3, then a count and per segment
# (index, digest, offset, xxh3)
python3 - seg.trace bad.trace <<'EOF2'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
foff = struct.unpack_from('<Q', b, len(b) - 24)[0]
n = struct.unpack_from('<Q', b, foff + 32)[0]
assert n >= 4, n
off = [struct.unpack_from('<Q', b, foff + 40 + 32 * k + 16)[0] for k in range(n)]
mid = (off[2] + off[3]) // 2
b[mid] ^= 0x10
open(sys.argv[2], 'wb').write(b)
EOF2
expect_exit 0 "diff of a trace with itself" -- "$ORRERY" diff seg.trace seg.trace
expect_exit 2 "diff with a corrupt segment" -- "$ORRERY" diff seg.trace bad.trace
expect_out "bad.trace: error: trace 'bad.trace' is corrupt: segment 2 " "diff names the corrupt segment and file"
expect_exit 2 "diff of a corrupt trace with itself" -- "$ORRERY" diff bad.trace bad.trace
expect_out "trace 'bad.trace' is corrupt: segment 2 " "diff with itself names the corrupt segment"
expect_exit 2 "diff --json with a corrupt segment" -- "$ORRERY" diff --json bad.trace seg.trace
expect_out "segment 2 " "diff --json names the corrupt segment"

# --- signals ---------------------------------------------------------------
# SIGTERM and SIGHUP stop a run like Ctrl-C: exit 128 + signal, the run
# stored 'interrupted', its trace complete, no temporary file. A steady
# stream of events that would run for minutes; the test waits until the
# trace's temporary file has grown past its header (the run loop is running
# and the handler is in place) before signalling.
cat > long.yaml <<'EOF2'
name: long
seed: 1
stop: {duration: 1s, workloads_done: false}
components:
  gen: {type: traffic_gen, pattern: constant, interval: 2ns, size: 64B, dests: [sink0]}
  sink0: {type: sink}
links:
  - {from: gen.out, to: sink0.in, latency: 100ns, bandwidth: 400Gbps}
EOF2
# wait_for CMD...: poll (up to 60 s) until CMD succeeds
wait_for() {
  local i
  for i in $(seq 600); do "$@" && return 0; sleep 0.1; done
  return 1
}
grown() { local f; for f in "$1".tmp.*; do [ -e "$f" ] && [ "$(stat -c %s "$f")" -gt 8192 ] && return 0; done; return 1; }
for sig in TERM HUP; do
  code=$((128 + $(kill -l $sig)))
  rm -f s.db s.trace
  "$ORRERY" run long.yaml --db s.db --trace s.trace -q & pid=$!
  wait_for grown s.trace || fail "SIG$sig: the run never started"
  kill -$sig $pid
  wait $pid; got=$?
  [ "$got" = $code ] && pass || fail "run stopped by SIG$sig exits $code, got $got"
  [ "$(sqlite3 s.db 'select status from runs')" = interrupted ] && pass || fail "SIG$sig: run stored 'interrupted'"
  expect_exit 0 "SIG$sig: the trace is complete" -- "$ORRERY" diff s.trace s.trace
  ! ls s.trace.tmp.* >/dev/null 2>&1 && pass || fail "SIG$sig: temporary trace left"
done
# a signal before the run loop (here: while the temporary trace exists but
# perhaps before the run started) still removes it
rm -f s.trace
"$ORRERY" run long.yaml --no-db --trace s.trace -q & pid=$!
exists() { local f; for f in "$1".tmp.*; do [ -e "$f" ] && return 0; done; return 1; }
wait_for exists s.trace || fail "the temporary trace never appeared"
kill -TERM $pid
wait $pid; got=$?
[ "$got" = 143 ] && pass || fail "early SIGTERM exits 143, got $got"
! ls s.trace.tmp.* >/dev/null 2>&1 && pass || fail "early SIGTERM: temporary trace left"

# A sweep passes SIGTERM to its runs, waits for them, marks their points
# 'interrupted' and exits 143; --resume then finishes them exactly.
sed 's/duration: 1s/duration: 3ms/' long.yaml > mid.yaml
"$ORRERY" sweep mid.yaml --db w.db -j 2 --axis components.gen.size=64B,128B -q & pid=$!
children() { [ "$(pgrep -c -P $pid)" = 2 ]; }
wait_for children || fail "the sweep never started its runs"
kids=$(pgrep -P $pid)
kill -TERM $pid
wait $pid; got=$?
[ "$got" = 143 ] && pass || fail "sweep stopped by SIGTERM exits 143, got $got"
alive=0; for k in $kids; do kill -0 "$k" 2>/dev/null && alive=1; done
[ $alive = 0 ] && pass || fail "no orphaned run after the sweep stopped"
[ "$(sqlite3 w.db "select group_concat(status) from sweep_points")" = "interrupted,interrupted" ] && pass ||
  fail "both points interrupted: $(sqlite3 w.db 'select point, status from sweep_points')"
[ "$(sqlite3 w.db "select count(*) from runs where status <> 'interrupted'")" = 0 ] && pass ||
  fail "no run stored as finished"
expect_exit 0 "sweep --resume after SIGTERM" -- "$ORRERY" sweep --resume 1 --db w.db -q
[ "$(sqlite3 w.db "select group_concat(status) from sweep_points")" = "ok,ok" ] && pass || fail "resumed points ok"
for p in 0 1; do
  ov=$(sqlite3 w.db "select overrides from sweep_points where point=$p")
  want=$("$ORRERY" run mid.yaml --set "$ov" --no-db --json | sed -n 's/.*"digest": "\([0-9a-f]*\)".*/\1/p')
  got=$(sqlite3 w.db "select r.digest from sweep_points p join runs r on r.id = p.run_id where p.point=$p")
  [ -n "$want" ] && [ "$got" = "$want" ] && pass || fail "resumed point $p has the digest of a plain run ($got vs $want)"
done

finish
