#!/usr/bin/env bash
# Out of memory is an error, not an abort (docs/testing.md, Budgets): under
# `ulimit -v`, a scenario too big for the memory left exits 2 with a message,
# writes no trace, creates no database and leaves an existing one as it was;
# a small scenario still runs under the same limit (so it is the scenario
# that is too big, not the limit that is too small).
#
# Not registered in the sanitizer build: ASan reserves terabytes of virtual
# memory up front and cannot run under `ulimit -v` at all (tests/CMakeLists.txt).
. "$(dirname "$0")/lib.sh"
LIMIT_KB=150000

cat >big.yaml <<'EOF'
name: big
stop: {duration: 1us}
cluster:
  nodes: 16384
  node: {pattern: permutation, count: 1, size: 4KiB, flows: 1, rate: 50Gbps}
  fabric:
    topology: fat-tree
    k: 48
    link: {bandwidth: 100Gbps, latency: 100ns, mtu: 4KiB}
EOF
limited() { (ulimit -v "$LIMIT_KB" && exec "$@"); }

# the positive control: quickstart runs and is stored under the limit
expect_exit 0 "quickstart under ulimit -v $LIMIT_KB" -- limited "$ORRERY" run "$SRC/scenarios/quickstart.yaml" --db old.db --quiet
[ "$(sqlite3 old.db 'select count(*) from runs')" = 1 ] && pass || fail "the control run was not stored"
sum_before=$(sha256sum old.db | cut -d' ' -f1)

msg="error: out of memory: the scenario needs more memory than is available"
expect_exit 2 "a fat-tree beyond the memory limit: run, new database" -- limited "$ORRERY" run big.yaml --db new.db --trace t.otr
expect_out "$msg" "out-of-memory message (run)"
[ ! -e new.db ] && pass || fail "an out-of-memory run left a new database behind"
[ -z "$(ls t.otr* 2>/dev/null)" ] && pass || fail "an out-of-memory run left a trace or its temporary: $(ls t.otr*)"

expect_exit 2 "a fat-tree beyond the memory limit: run, existing database" -- limited "$ORRERY" run big.yaml --db old.db
expect_out "$msg" "out-of-memory message (existing database)"
[ "$(sha256sum old.db | cut -d' ' -f1)" = "$sum_before" ] && pass || fail "the existing database changed"
[ "$(sqlite3 old.db 'select count(*) from runs')" = 1 ] && pass || fail "the existing database lost or gained runs"

expect_exit 2 "a fat-tree beyond the memory limit: validate" -- limited "$ORRERY" validate big.yaml
expect_out "$msg" "out-of-memory message (validate)"

# a sweep whose scenario does not fit: the same message, not "does not fit"
cat >sweep.yaml <<'EOF'
extends: big.yaml
sweep:
  axes:
    cluster.node.count: "1,2"
EOF
expect_exit 2 "a sweep beyond the memory limit" -- limited "$ORRERY" sweep sweep.yaml --db sweep.db
expect_out "$msg" "out-of-memory message (sweep)"
[ ! -e sweep.db ] && pass || fail "an out-of-memory sweep left a database behind"
finish
