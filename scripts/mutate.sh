#!/usr/bin/env bash
# The mutation harness (scripts/mutate.py, docs/testing.md): plant each bug
# of tests/mutate/sites.txt in turn, rebuild incrementally, run the tests
# without digest comparisons, report caught/survived. `make mutate` runs
# every site; CI runs a sample (scripts/test.sh).
set -euo pipefail
exec python3 "$(dirname "$0")/mutate.py" "$@"
