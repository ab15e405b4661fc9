# Shared helpers for CLI tests: sourced, not run. Each test script is called
# as `bash script.sh ORRERY_BINARY SOURCE_DIR` and works in a fresh temp dir.
set -uo pipefail
ORRERY=$(realpath "$1")
SRC=$(realpath "$2")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
FAILS=0
PASSES=0

pass() { PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# expect_exit CODE DESC -- command...   (stdout+stderr kept in $OUT)
expect_exit() {
  local want=$1 desc=$2; shift 3
  OUT=$("$@" 2>&1); local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$desc: exit $got, expected $want; output:"; echo "$OUT" | head -20 >&2
  else
    pass
  fi
}

# expect_out REGEX DESC   (matches against $OUT)
expect_out() {
  # a here-string, not a pipe: grep -q may exit before echo has written
  # everything, and under pipefail echo's SIGPIPE would fail the match
  if grep -Eq -- "$1" <<< "$OUT"; then pass; else
    fail "$2: output does not match /$1/:"; echo "$OUT" | head -20 >&2
  fi
}

finish() {
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}
