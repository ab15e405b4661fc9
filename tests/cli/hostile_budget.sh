#!/usr/bin/env bash
# Budgets on hostile input: non-regular and oversized scenario files,
# extends: bombs, oversized builds, crafted traces and running out of memory.
# Every case exits 2 with a message saying where and which budget (or what
# is wrong), and writes nothing: no database row, no trace, no output file.
. "$(dirname "$0")/lib.sh"

cat > good.yaml <<'Y'
name: t
stop: {duration: 1us}
components:
  g: {type: traffic_gen, interval: 100ns, count: 3, dests: [k]}
  k: {type: sink}
links:
  - {from: g.out, to: k.in, latency: 10ns}
Y

# check_bad NAME SCENARIO REGEX... [-- EXTRA ARGS]: run must exit 2 within 20 s,
# print every REGEX, and leave no trace, no .tmp and no database
check_bad() {
  local name=$1 scen=$2; shift 2
  local res=() extra=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do res+=("$1"); shift; done
  [ $# -gt 0 ] && shift && extra=("$@")
  rm -f db.sqlite out.trace out.trace.tmp
  expect_exit 2 "$name" -- timeout 20 "$ORRERY" run "$scen" --db db.sqlite --trace out.trace "${extra[@]}"
  for re in "${res[@]}"; do expect_out "$re" "$name"; done
  if [ -e out.trace ] || [ -e out.trace.tmp ] || [ -e db.sqlite ]; then
    fail "$name: left a trace or a database"; else pass; fi
}

expect_exit 0 "good scenario runs" -- "$ORRERY" run good.yaml --no-db --quiet

# ---- 1. scenario input bounds ------------------------------------------------
mkfifo fifo.yaml
check_bad fifo fifo.yaml "cannot read 'fifo.yaml': it is a FIFO, not a regular file"
check_bad dev_zero /dev/zero "cannot read '/dev/zero': it is a character device, not a regular file"
mkdir dir.yaml
check_bad directory dir.yaml "cannot read 'dir.yaml': it is a directory, not a regular file"
printf 'extends: /dev/zero\nname: t\n' > ext_zero.yaml
check_bad extends_dev_zero ext_zero.yaml "^ext_zero\.yaml:1:10: error: extends: cannot read '/dev/zero': it is a character device"

# the size budget: 65 MiB of comments is refused from its size, unread
{ cat good.yaml; head -c $((65 * 1024 * 1024)) /dev/zero | tr '\0' '#'; echo; } > huge.yaml
check_bad huge_file huge.yaml "'huge\.yaml' is 68157[0-9]+ bytes, more than the 67108864 a scenario file may have \(raise the budget with --max-scenario-size\)"
size=$(stat -c %s good.yaml)
expect_exit 0 "a file of exactly --max-scenario-size loads" -- "$ORRERY" validate good.yaml --max-scenario-size "${size}B"
expect_exit 2 "one byte under it does not" -- "$ORRERY" validate good.yaml --max-scenario-size "$((size - 1))B"
expect_out "is $size bytes, more than the $((size - 1)) a scenario file may have" "size budget by flag"
expect_exit 2 "a bad budget value is a usage error" -- "$ORRERY" validate good.yaml --max-scenario-size 12
expect_out "max-scenario-size expects a positive size such as 64MiB, got '12'" "bad budget value"

# "billion laughs" through extends: 4 files, each naming the next 1000 times
for lv in 0 1 2 3; do
  { echo "description: d$lv"; echo "extends:"; for i in $(seq 1000); do echo "  - lol$((lv + 1)).yaml"; done; } > lol$lv.yaml
done
printf 'name: t\nstop: {duration: 1us}\n' > lol4.yaml
{ echo "extends: lol0.yaml"; sed -n '3,$p' good.yaml; } > bomb.yaml
# lol4 is 7 nodes, lol3 1005 + 1000 x 7 = 8005, lol2 crosses 4 Mi at entry
# k with 1005 + (k + 1) x 8005 > 4194304: k = 523, on line 526
check_bad extends_bomb bomb.yaml "^lol2\.yaml:526:5: error: extends\.523: the presets expand to more than 4194304 config nodes .*--max-config-nodes"
# with the budget lifted it loads at once: each file is read once
expect_exit 0 "the bomb with the budget lifted" -- timeout 10 "$ORRERY" validate bomb.yaml --max-config-nodes 1000000000000000

# duplicate keys are found by a hash index: 200k keys with one repeated at the end
{ echo "name: t"; echo "description:"; for i in $(seq 200000); do echo "  k$i: 1"; done; echo "  k7: 2"; } > dups.yaml
check_bad duplicate_keys dups.yaml "^dups\.yaml:200003:3: error: description\.k7: duplicate key 'k7' \(first defined at line 9, column 3\)"

# ---- 2. bounded instantiation ------------------------------------------------
# good.yaml has 2 components (g on line 4, k on line 5, its value at column 6)
# and 1 link (line 7)
check_bad components_budget good.yaml "^good\.yaml:5:6: error: components\.k: more than 1 components \(the budget of components; raise it with --max-components\)" -- --max-components 1
expect_exit 0 "exactly --max-components" -- "$ORRERY" validate good.yaml --max-components 2
{ sed -n '1,5p' good.yaml; echo "  k2: {type: sink}"; echo "  g2: {type: traffic_gen, interval: 100ns, count: 3, dests: [k2]}"; sed -n '6,7p' good.yaml;
  echo "  - {from: g2.out, to: k2.in, latency: 10ns}"; } > two_links.yaml
check_bad links_budget two_links.yaml "^two_links\.yaml:10:5: error: more than 1 links \(the budget of links; raise it with --max-links\)" -- --max-links 1
expect_exit 0 "exactly --max-links" -- "$ORRERY" validate two_links.yaml --max-links 2

# an oversized sweep grid is refused from the axis sizes, before any value
# is built into the scenario (10^10 points: building each would take hours)
rm -f sweep.db
SECONDS=0
expect_exit 2 "oversized sweep grid" -- timeout 20 "$ORRERY" sweep good.yaml --db sweep.db \
  --axis stop.duration=1ns..100000ns:1ns --axis seed=1..100000:1
expect_out "10000000000 points x 1 repeats is more than 1000000 runs" "oversized sweep grid"
if [ "$SECONDS" -le 2 ]; then pass; else fail "oversized sweep grid: refused after $SECONDS s"; fi
if [ -e sweep.db ]; then fail "oversized sweep grid: left a database"; else pass; fi

finish
