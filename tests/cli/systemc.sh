#!/usr/bin/env bash
# SystemC / TLM-2.0 interoperability (docs/systemc.md): the SystemC engine
# mode, tlm_target against flatmem, bad TLM libraries and error responses,
# the bitflip fault through debug transport, and orrery::module driven by
# the example initiator. (The golden set both ways: determinism/systemc_engine.sh.)
. "$(dirname "$0")/lib.sh"
EX=$(dirname "$ORRERY")/examples/systemc
export ORRERY_TLM_PATH=$EX

expect_exit 2 "bad engine name" -- "$ORRERY" run "$SRC/scenarios/quickstart.yaml" --no-db --engine sst
expect_out "--engine expects native or systemc" "bad engine message"

if [ ! -f "$EX/libtlm_memory.so" ]; then
  # built without SystemC: each entry point must say how to get it
  expect_exit 2 "no SystemC" -- "$ORRERY" run "$SRC/scenarios/quickstart.yaml" --no-db --engine systemc
  expect_out "built without SystemC.*libsystemc-dev" "no SystemC message"
  finish; exit
fi

# --- the engine: same digest, same trace ------------------------------------
q=$SRC/scenarios/quickstart.yaml
"$ORRERY" run "$q" --no-db --json --trace native.trace > native.json || fail "native run"
"$ORRERY" run "$q" --no-db --json --trace systemc.trace --engine systemc > systemc.json || fail "systemc run"
[ "$(jq -r .digest native.json)" = "$(jq -r .digest systemc.json)" ] && pass || fail "quickstart digests differ"
[ "$(jq -r .engine systemc.json)" = systemc ] && pass || fail "json engine field"
expect_exit 0 "traces identical" -- "$ORRERY" diff native.trace systemc.trace
# the stop conditions end both engines at the same event
for set in stop.events=5000 stop.duration=1234567ps; do
  a=$("$ORRERY" run "$q" --no-db --json --set $set | jq -r '.digest + .stop_reason')
  b=$("$ORRERY" run "$q" --no-db --json --set $set --engine systemc | jq -r '.digest + .stop_reason')
  [ "$a" = "$b" ] && pass || fail "--set $set: native $a, systemc $b"
done

# --- tlm_target: identical to flatmem of the same latency -------------------
t=$SRC/examples/systemc/tlm-memory.yaml f=$SRC/examples/systemc/flat-memory.yaml
ref=$("$ORRERY" run "$f" --no-db --json | jq -r .digest)
for args in "" "--engine systemc" "--set machine.memory.config.dmi=false"; do
  got=$("$ORRERY" run "$t" --no-db --json $args | jq -r .digest)
  [ -n "$ref" ] && [ "$got" = "$ref" ] && pass || fail "tlm-memory $args: digest $got, flatmem $ref"
done
# a different latency on one side must show
got=$("$ORRERY" run "$t" --no-db --json --set machine.memory.config.latency=61ns | jq -r .digest)
[ "$got" != "$ref" ] && pass || fail "the target's latency does not reach the model"
got=$("$ORRERY" run "$t" --no-db --json --set machine.memory.config.latency=50ns \
      --set machine.memory.latency=10ns | jq -r .digest)
[ "$got" = "$ref" ] && pass || fail "latency: added to the target's delay"

# --- bad libraries: clear errors, exit 2 ------------------------------------
expect_exit 2 "missing library" -- "$ORRERY" run "$t" --no-db --set machine.memory.library=libnothere.so
expect_out "cannot load TLM target library 'libnothere.so'" "missing library message"
expect_exit 2 "no entry point" -- "$ORRERY" run "$t" --no-db --set machine.memory.library=libtlm_noentry.so
expect_out "has no entry point orrery_tlm_target\(\)" "no entry point message"
expect_exit 2 "ABI mismatch" -- "$ORRERY" run "$t" --no-db --set machine.memory.library=libtlm_badabi.so
expect_out "ABI version 99; this orrery speaks version 1" "ABI mismatch message"
expect_exit 2 "bad config" -- "$ORRERY" run "$t" --no-db --set machine.memory.config.latency=soon
expect_out "config.latency: 'soon' is not a valid value" "bad config message"
expect_exit 2 "config must be scalars" -- "$ORRERY" run "$t" --no-db --set 'machine.memory.config.size=[1]'
expect_out "expected a scalar value" "config scalar message"

# --- a TLM error response: recorded, the run fails cleanly, exit 2 ----------
expect_exit 2 "TLM error response" -- "$ORRERY" run "$t" --db runs.db --trace err.trace \
  --set machine.memory.config.size=1MiB
expect_out "sock0.mem: in0: (RD|WR) of 0x[0-9a-f]+: the TLM target 'tlm_memory' answered TLM_ADDRESS_ERROR_RESPONSE" \
  "TLM error message"
[ "$(sqlite3 runs.db 'select status from runs')" = failed ] && pass || fail "run not stored as failed"
"$ORRERY" export err.trace -f chrome | grep -q '"mem.error"' && pass || fail "trace has no mem.error point"
expect_exit 2 "TLM error response (systemc engine)" -- "$ORRERY" run "$t" --no-db --engine systemc \
  --set machine.memory.config.size=1MiB
expect_out "TLM_ADDRESS_ERROR_RESPONSE" "TLM error message (systemc engine)"

# --- debug transport: the bitflip fault ---------------------------------------
cat > flip.yaml <<YAML
name: flip
seed: 1
stop: {duration: 1us}
components:
  mem: {type: tlm_target, library: libtlm_memory.so, config: {size: 1MiB}}
faults:
  - {at: 100ns, component: mem, fault: bitflip, addr: 0x40, bit: 3}
YAML
expect_exit 0 "bitflip through transport_dbg" -- "$ORRERY" run flip.yaml --no-db
expect_exit 2 "bitflip without debug transport" -- "$ORRERY" run flip.yaml --no-db \
  --set components.mem.config.debug=false
expect_out "offers no debug transport" "bitflip message"
expect_exit 2 "bitflip outside the range" -- "$ORRERY" run flip.yaml --no-db \
  --set faults.0.addr=0x4000000000
expect_out "not an address this tlm_target serves" "bitflip range message"

# --- Orrery inside SystemC: the example platform --------------------------------
m=$SRC/examples/systemc/orrery-memory.yaml
a=$(SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$EX/orrery_initiator" "$m") && pass || fail "orrery_initiator: $a"
b=$(SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$EX/orrery_initiator" "$m")
[ "$a" = "$b" ] && pass || fail "orrery_initiator not deterministic: '$a' vs '$b'"
echo "$a" | grep -Eq "^transactions=192 late=0 errors=0 mismatches=0 sim_time_ps=[1-9]" && pass ||
  fail "orrery_initiator: $a"
c=$(SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$EX/orrery_initiator" "$m" --set components.sw.latency=40ns)
[ "${c##*sim_time_ps=}" != "${a##*sim_time_ps=}" ] && pass || fail "Orrery's latency does not reach SystemC"
OUT=$(SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$EX/orrery_initiator" "$m" --set stop.duration=2us 2>&1)
echo "$OUT" | grep -Eq "errors=[1-9]" && pass || fail "transactions after Orrery's end must fail: $OUT"
finish
