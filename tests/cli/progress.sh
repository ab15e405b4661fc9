#!/usr/bin/env bash
# The progress line (cli/progress.c), one rule for every verb: drawn on
# stderr when stderr is a terminal and --quiet is not given (`run` also
# wants stdout on a terminal and no --json; `regress` no --json), never on
# stdout, and stdout is the same with or without it. Each verb runs under a
# pseudo-terminal made by script(1) (util-linux/bsdutils).
. "$(dirname "$0")/lib.sh"
if ! command -v script >/dev/null; then
  fail "script(1) is not installed (Debian: bsdutils); the progress line cannot be checked"
  finish; exit 1
fi
Q="$SRC/scenarios/quickstart.yaml"
CR=$'\r'

# on_tty LOG COMMAND...: run COMMAND with stdin, stdout and stderr on a fresh
# pseudo-terminal; what the terminal shows goes to LOG. Redirections inside
# COMMAND (it is one shell string) take stdout or stderr off the terminal.
on_tty() { local log=$1; shift; script -qec "$*" /dev/null > "$log" 2>&1 < /dev/null; }

# has_line LOG VERB: a progress line "\rVERB ... 4/10 runs" (or, for run,
# "5.85 ms / 10 ms") was drawn
has_line() { grep -aEq "${CR}$2 .*([0-9]+/[0-9]+ [a-z]+|[0-9.]+ [a-z]+ / [0-9.]+ [a-z]+)" "$1"; }
# no_line LOG: nothing was drawn in place: no carriage return but those of a
# terminal's line ends, no "erase to the end of the line"
no_line() { ! grep -aPq '\r(?!\n)|\e\[K' "$1"; }

# --- sweep: stderr on the terminal, stdout in a file ------------------------
sweep="$ORRERY sweep $Q -j 2 --axis components.sw0.latency=100ns..300ns:100ns"
on_tty sw.tty "$sweep --db a.db > sw.out"
has_line sw.tty sweep && pass || { fail "sweep: no progress line on a terminal"; cat -v sw.tty >&2; }
grep -aEq "${CR}sweep .*[0-9]+/3 runs" sw.tty && pass || fail "sweep: counts runs done of 3"
no_line sw.out && pass || fail "sweep: progress on stdout"
grep -q '3 runs: 3 ok' sw.out && pass || fail "sweep: its table on stdout"
on_tty sw-q.tty "$sweep --db b.db --quiet > sw-q.out"
no_line sw-q.tty && pass || { fail "sweep --quiet: progress drawn"; cat -v sw-q.tty >&2; }
$sweep --db c.db > sw-n.out 2> sw-n.err
no_line sw-n.err && pass || fail "sweep: progress drawn when stderr is not a terminal"
on_tty sw-j.tty "$sweep --db d.db --json > sw-j.json"
has_line sw-j.tty sweep && pass || fail "sweep --json: the line is on stderr, so it stays"
jq -e '.summary.ok == 3' sw-j.json >/dev/null && pass || fail "sweep --json: stdout is JSON only"

# --- run: stdout and stderr on the terminal ---------------------------------
on_tty run.tty "$ORRERY run $Q --no-db"
has_line run.tty run && pass || { fail "run: no progress line on a terminal"; cat -v run.tty >&2; }
grep -aEq "${CR}run .* / 10 ms" run.tty && pass || fail "run: simulated time of the stop time"
grep -aPq '\r\e\[Kscenario ' run.tty && pass || fail "run: line cleared before the summary"
on_tty run-q.tty "$ORRERY run $Q --no-db --quiet"
no_line run-q.tty && pass || fail "run --quiet: progress drawn"
on_tty run-j.tty "$ORRERY run $Q --no-db --json"
! has_line run-j.tty run && pass || fail "run --json: progress drawn"
on_tty run-o.tty "$ORRERY run $Q --no-db > run.out"
no_line run-o.tty && pass || fail "run: progress drawn with stdout not a terminal"
"$ORRERY" run "$Q" --no-db > /dev/null 2> run.err
no_line run.err && pass || fail "run: progress drawn when stderr is not a terminal"

# --- litmus: stdout is byte-identical with and without the line -------------
lit="$ORRERY litmus $SRC/tests/litmus/MP.litmus $SRC/tests/litmus/SB.litmus --runs 40"
on_tty lit.tty "$lit > lit-tty.out"
has_line lit.tty litmus && pass || { fail "litmus: no progress line on a terminal"; cat -v lit.tty >&2; }
grep -aEq "${CR}litmus .*/80 runs" lit.tty && pass || fail "litmus: runs of all tests"
$lit > lit.out 2> lit.err
cmp -s lit.out lit-tty.out && pass || fail "litmus: stdout differs on a terminal"
no_line lit.err && pass || fail "litmus: progress drawn when stderr is not a terminal"
on_tty lit-q.tty "$lit --quiet > /dev/null"
no_line lit-q.tty && pass || fail "litmus --quiet: progress drawn"

# --- regress ---------------------------------------------------------------
mkdir scen && cp "$Q" "$SRC/scenarios/sched-edf.yaml" scen/
reg="$ORRERY regress scen --golden $SRC/tests/golden -j 2"
on_tty reg.tty "$reg > reg.out"
has_line reg.tty regress && pass || { fail "regress: no progress line on a terminal"; cat -v reg.tty >&2; }
no_line reg.out && pass || fail "regress: progress on stdout"
on_tty reg-q.tty "$reg --quiet > /dev/null"
no_line reg-q.tty && pass || fail "regress --quiet: progress drawn"
on_tty reg-j.tty "$reg --json > /dev/null"
no_line reg-j.tty && pass || fail "regress --json: progress drawn"
finish
