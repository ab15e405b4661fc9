#!/usr/bin/env bash
# `orrery diff`: identical runs compare equal (exit 0); a changed seed or
# parameter diverges (exit 1) and the report names the first divergent event.
. "$(dirname "$0")/lib.sh"
Q=$SRC/scenarios/quickstart.yaml
"$ORRERY" run "$Q" --no-db --quiet --trace a.trace
"$ORRERY" run "$Q" --no-db --quiet --trace b.trace
"$ORRERY" run "$Q" --no-db --quiet --trace c.trace --seed 2
"$ORRERY" run "$Q" --no-db --quiet --trace d.trace --set components.sw0.latency=301ns

expect_exit 0 "same seed: equal" -- "$ORRERY" diff a.trace b.trace
cmp -s a.trace b.trace && pass || fail "same run gives a byte-identical trace"

expect_exit 1 "other seed: divergent" -- "$ORRERY" diff a.trace c.trace
expect_out 'first divergence at event #[0-9]+' "names the first divergent event"

expect_exit 1 "changed latency: divergent" -- "$ORRERY" diff --context 2 a.trace d.trace
expect_out 'first divergence at event #[0-9]+' "latency change diverges"
expect_out 'sw0' "the divergent event involves the switch"

expect_exit 1 "json diff" -- "$ORRERY" diff --json a.trace d.trace
echo "$OUT" | jq -e '.equal == false' >/dev/null && pass || fail "json says not equal"
expect_exit 0 "json equal" -- "$ORRERY" diff --json a.trace b.trace
echo "$OUT" | jq -e '.equal == true' >/dev/null && pass || fail "json says equal"

# the divergent index is where the traces really first differ: a latency
# change at the switch cannot change anything before the first forwarded
# packet, so the index must be > 0
idx=$("$ORRERY" diff --json a.trace d.trace | jq -r '.divergence.index')
[ "$idx" -gt 0 ] 2>/dev/null && pass || fail "divergence index $idx"

finish
