#!/usr/bin/env bash
# Scaling: loading, building and starting N components must not cost more
# than ~N log N. Scenarios of 10k, 40k and 160k components (half traffic
# generators, half sinks, a link each pair, the components in a preset the
# scenario extends and overrides) are validated (loaded, built, started); the
# CPU time and peak memory above those of a tiny scenario must grow by at
# most 2.5 times N log N from one size to the next (a quadratic path grows
# 4-16 times more). Ratios within one run, not absolute times.
. "$(dirname "$0")/lib.sh"

gen() { # N FILE: the preset with N components, and FILE extending it
  python3 - "$1" "$2" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
with open(out + ".preset.yaml", "w") as f:
    f.write("name: scale\nstop: {duration: 200ns}\ncomponents:\n")
    for i in range(n // 2):
        f.write(f"  g{i}: {{type: traffic_gen, interval: 100ns, count: 1, dests: [k{i}]}}\n")
        f.write(f"  k{i}: {{type: sink}}\n")
    f.write("links:\n")
    for i in range(n // 2):
        f.write(f"  - {{from: g{i}.out, to: k{i}.in, latency: 10ns}}\n")
with open(out, "w") as f:
    f.write(f"extends: {out}.preset.yaml\ncomponents:\n  g0: {{interval: 200ns}}\n")
PY
}

# measure FILE: "CPU_SECONDS MAXRSS_KB" of validate (load, build, start) in
# its own process (wait4 gives that child's own figures)
measure() {
  python3 - "$ORRERY" "$1" <<'PY'
import os, sys
orrery, scen = sys.argv[1], sys.argv[2]
cpu = rss = 0
for args in (["validate", "--quiet", scen],):
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(orrery, [orrery] + args)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)}: exit {os.waitstatus_to_exitcode(status)}")
    cpu += ru.ru_utime + ru.ru_stime
    rss = max(rss, ru.ru_maxrss)
print(f"{cpu:.4f} {rss}")
PY
}

sizes=(10000 40000 160000)
gen 2 tiny.yaml
for n in "${sizes[@]}"; do gen "$n" "s$n.yaml"; done
base=$(measure tiny.yaml) || { fail "tiny scenario: $base"; finish; exit; }
declare -A cpu rss
for n in "${sizes[@]}"; do
  m=$(measure "s$n.yaml") || { fail "$n components: $m"; continue; }
  cpu[$n]=$(awk -v a="$m" -v b="$base" 'BEGIN { split(a, x); split(b, y); v = x[1] - y[1]; print (v > 0.001 ? v : 0.001) }')
  rss[$n]=$(awk -v a="$m" -v b="$base" 'BEGIN { split(a, x); split(b, y); v = x[2] - y[2]; print (v > 64 ? v : 64) }')
  echo "$n components: cpu ${cpu[$n]} s, peak memory +${rss[$n]} KB (above a tiny scenario)"
done
for i in 1 2; do
  a=${sizes[$((i - 1))]} b=${sizes[$i]}
  [ -n "${cpu[$a]:-}" ] && [ -n "${cpu[$b]:-}" ] || continue
  # the allowance: 2.5 x (b log b) / (a log a)
  allow=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", 2.5 * b * log(b) / (a * log(a)) }')
  for what in cpu rss; do
    declare -n t=$what
    r=$(awk -v x="${t[$b]}" -v y="${t[$a]}" 'BEGIN { printf "%.2f", x / y }')
    if awk -v r="$r" -v m="$allow" 'BEGIN { exit !(r <= m) }'; then pass; else
      fail "$what grows $r times from $a to $b components, more than $allow (2.5 x N log N)"; fi
    unset -n t
  done
done
finish
