#!/usr/bin/env bash
# Golden digests: every scenario under scenarios/ must produce the digest
# checked in at tests/golden/NAME.digest. After an intended behaviour change,
# regenerate with `make golden` and commit the new digests with the change.
. "$(dirname "$0")/../cli/lib.sh"
n=0
for s in "$SRC"/scenarios/*.yaml; do
  name=$(basename "$s" .yaml)
  g="$SRC/tests/golden/$name.digest"
  n=$((n + 1))
  if [ ! -f "$g" ]; then fail "$name: no golden digest (run 'make golden')"; continue; fi
  got=$("$ORRERY" run "$s" --no-db --json | jq -r .digest)
  want=$(tr -d ' \n' < "$g")
  if [ "$got" = "$want" ]; then pass; else
    fail "$name: digest $got, golden $want — behaviour changed; if intended, run 'make golden'"
  fi
done
[ "$n" -gt 0 ] && pass || fail "no scenarios found"
finish
