#!/usr/bin/env bash
# SystemC / TLM-2.0 interoperability (docs/systemc.md): the SystemC engine
# mode, tlm_target against flatmem, bad TLM libraries and error responses,
# the bitflip fault through debug transport, and orrery::module driven by
# the example initiators (into memory, and through a core's coherent
# caches). (The golden set both ways: determinism/systemc_engine.sh.)
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
grep -Eq "errors=[1-9]" <<< "$OUT" && pass || fail "transactions after Orrery's end must fail: $OUT"

# --- Orrery inside SystemC, through a core's coherent caches ---------------------
# tlm0 -> sock0.core0.cpu (a coh_port) while core 1 (a tcore) reads the same lines
k=$SRC/examples/systemc/orrery-caches.yaml
caches() { SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$EX/orrery_caches" "$k" "$@"; }
a=$(caches) && pass || fail "orrery_caches: $a"
b=$(caches)
[ "$a" = "$b" ] && pass || fail "orrery_caches not deterministic: '$a' vs '$b'"
# every read returned what was written (and fresh lines read as zeros)
echo "$a" | grep -Eq "^transactions=128 late=0 errors=0 mismatches=0 " && pass || fail "orrery_caches: $a"
# core 1 shared the lines (core 0 was probed, core 1 missed) and the monitor
# stayed silent: exit 0 above, and Orrery ended by running out of events
echo "$a" | grep -Eq " probes=[1-9][0-9]* core1_misses=[1-9][0-9]* stop=no events left " && pass ||
  fail "orrery_caches: no coherence traffic, or not a clean end: $a"
# hits faster than misses
miss=$(echo "$a" | sed -E 's/.* read_miss_ns=([0-9.]+) .*/\1/')
hit=$(echo "$a" | sed -E 's/.* read_hit_ns=([0-9.]+) .*/\1/')
echo "orrery_caches: read miss ${miss} ns, read hit ${hit} ns"
awk -v h="$hit" -v m="$miss" 'BEGIN { exit !(h > 0 && h < m) }' && pass ||
  fail "orrery_caches: a hit ($hit ns) must be faster than a miss ($miss ns)"
# the digest: deterministic (above), unchanged by the monitor (it only
# observes), changed by what the model does
d=${a##*digest=}
c=$(caches --set machine.check=false)
[ "${c##*digest=}" = "$d" ] && pass || fail "machine.check changes the digest: $d vs ${c##*digest=}"
c=$(caches --set machine.protocol=moesi)
[ "${c##*digest=}" != "$d" ] && pass || fail "machine.protocol does not reach the caches"
# a protocol bug is caught while the initiator and core 1 share lines
expect_exit 1 "orrery_caches with a mutation" -- env SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 \
  "$EX/orrery_caches" "$k" --set machine.mutation=ignore-inv
expect_out "coherence violation: line 0x[0-9a-f]+ has 1 writer" "mutation caught through SystemC"
# the same scenario runs from the CLI (the port idle): clean, deterministic
x=$("$ORRERY" run "$k" --no-db --json --set stop.duration=200us | jq -r .digest)
y=$("$ORRERY" run "$k" --no-db --json --set stop.duration=200us | jq -r .digest)
[ -n "$x" ] && [ "$x" = "$y" ] && pass || fail "orrery-caches.yaml from the CLI: '$x' vs '$y'"
finish
