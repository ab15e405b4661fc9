#!/usr/bin/env bash
# Regenerate tests/golden/NAME.digest for every scenario under scenarios/.
# Run after an intended behaviour change and commit the digests with it.
set -euo pipefail
cd "$(dirname "$0")/.."
ORRERY=${1:-build/orrery}
mkdir -p tests/golden
for s in scenarios/*.yaml; do
  name=$(basename "$s" .yaml)
  d=$("$ORRERY" run "$s" --no-db --json | jq -r .digest)
  old=$(cat "tests/golden/$name.digest" 2>/dev/null || echo none)
  echo "$d" > "tests/golden/$name.digest"
  if [ "$old" = "$d" ]; then echo "  $name  $d (unchanged)"; else echo "  $name  $d (was $old)"; fi
done
