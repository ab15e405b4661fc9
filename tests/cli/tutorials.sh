#!/usr/bin/env bash
# Every command block (```sh) of docs/tutorial/*.md, run as written, in
# order, from a scratch directory that sees the repository's scenarios/:
# the tutorials must keep working as the model changes.
. "$(dirname "$0")/lib.sh"

mkdir bin
ln -s "$ORRERY" bin/orrery
export PATH="$WORK/bin:$PATH"
ln -s "$SRC/scenarios" scenarios

for page in "$SRC"/docs/tutorial/*.md; do
  name=$(basename "$page" .md)
  [ "$name" = README ] && continue
  awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on' "$page" > "$name.sh"
  n=$(grep -c . "$name.sh")
  [ "$n" -gt 0 ] || { fail "$name: no command blocks"; continue; }
  mkdir "run-$name"
  if (cd "run-$name" && ln -s ../scenarios scenarios && set -e -o pipefail && . "../$name.sh") \
       > "$name.out" 2>&1; then
    pass; echo "  $name: $n commands ran"
  else
    fail "$name: a command failed; output:"; tail -20 "$name.out" >&2
  fi
done
# the pictures the pages show are committed beside them
for img in $(grep -ho 'img/[A-Za-z0-9_.-]*' "$SRC"/docs/tutorial/*.md | sort -u); do
  [ -s "$SRC/docs/tutorial/$img" ] && pass || fail "docs/tutorial/$img is missing"
done
finish
