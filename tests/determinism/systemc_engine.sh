#!/usr/bin/env bash
# The SystemC engine against the native one over the whole golden set:
# every scenarios/*.yaml runs both ways and the digests must be equal
# (docs/systemc.md). A scenario the SystemC engine refuses must say why
# ("--engine systemc: ...", exit 2); one the native engine cannot run in
# this build (e.g. missing guest binaries) is reported and skipped.
. "$(dirname "$0")/../cli/lib.sh"
if ! "$ORRERY" run "$SRC/scenarios/sched-rt.yaml" --no-db --quiet --engine systemc 2>/dev/null; then
  echo "SKIP: this orrery has no SystemC engine"; pass; finish; exit
fi
n=0 same=0
for s in "$SRC"/scenarios/*.yaml; do
  name=$(basename "$s" .yaml)
  native=$("$ORRERY" run "$s" --no-db --json 2>native.err | jq -r .digest)
  if [ -z "$native" ] || [ "$native" = null ]; then
    echo "skip $name: the native engine cannot run it here: $(head -1 native.err)"
    continue
  fi
  n=$((n + 1))
  systemc=$("$ORRERY" run "$s" --no-db --json --engine systemc 2>systemc.err | jq -r .digest)
  if [ "$systemc" = "$native" ]; then
    same=$((same + 1)); pass
  elif grep -q -- "--engine systemc:" systemc.err; then
    echo "refused $name: $(grep -- '--engine systemc:' systemc.err | head -1)"; pass
  else
    fail "$name: native digest $native, systemc digest $systemc $(head -3 systemc.err)"
  fi
done
echo "golden set: $same of $n scenarios give the same digest on both engines"
[ "$n" -gt 0 ] && pass || fail "no scenarios ran"
finish
