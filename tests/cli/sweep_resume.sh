#!/usr/bin/env bash
# `orrery sweep --resume` reruns exactly the (point, repeat) entries that
# did not end ok, wherever they sit. A 4-point, 2-repeat sweep (entries in
# order 0.0 0.1 1.0 1.1 2.0 2.1 3.0 3.1) is completed once; then, from a
# copy of its database each time, chosen rows are deleted or marked
# interrupted in several layouts — the first entry, one in the middle, the
# last, adjacent pairs across a point boundary, every other entry (each
# missing one right after a done one), all but one — and the resume must
# rerun that set and nothing else. The expected set is the one deleted,
# not anything the program printed. Entries that broke their budget are
# finished: a resume leaves them alone.
. "$(dirname "$0")/lib.sh"
q() { sqlite3 "$1" "$2"; }
sed 's/duration: 10ms/duration: 1ms/' "$SRC/scenarios/quickstart.yaml" > q.yaml

expect_exit 0 "the sweep to resume" -- "$ORRERY" sweep q.yaml -q --repeat 2 --db base.db \
  --axis components.sw0.latency=100ns,200ns,300ns,400ns
[ "$(q base.db "select count(*) from sweep_points where sweep_id = 1 and status = 'ok'")" = 8 ] &&
  pass || fail "8 entries ok before the layouts"

# resume_layout NAME "P.R P.R ..." [interrupted]: remove those entries (or
# mark them interrupted, with no run), resume, and check what ran
resume_layout() {
  local name=$1 want=$2 how=${3:-deleted} db=$1.db sql="" e
  cp base.db "$db"
  for e in $want; do
    if [ "$how" = interrupted ]; then
      sql+="update sweep_points set status = 'interrupted', run_id = null
            where sweep_id = 1 and point = ${e%.*} and repeat = ${e#*.};"
    else
      sql+="delete from sweep_points where sweep_id = 1 and point = ${e%.*} and repeat = ${e#*.};"
    fi
  done
  q "$db" "$sql"
  local n max
  n=$(wc -w <<< "$want")
  max=$(q "$db" "select max(id) from runs")
  expect_exit 0 "$name: resume" -- "$ORRERY" sweep --resume 1 --db "$db" -j 2
  expect_out "$((8 - n)) done before this resume" "$name: the others are reported done"
  local got
  got=$(q "$db" "select group_concat(point || '.' || repeat, ' ') from
                 (select point, repeat from sweep_points where sweep_id = 1 and run_id > $max
                  order by point, repeat)")
  [ "$got" = "$want" ] && pass || fail "$name: reran '$got', want '$want' ($how)"
  [ "$(q "$db" "select count(*) from runs")" = $((max + n)) ] && pass ||
    fail "$name: $(( $(q "$db" "select count(*) from runs") - max )) runs, want $n"
  [ "$(q "$db" "select count(*) from sweep_points where sweep_id = 1 and status = 'ok'")" = 8 ] &&
    pass || fail "$name: all 8 entries ok after the resume"
}

resume_layout first "0.0"
resume_layout middle "1.1"
resume_layout last "3.1"
resume_layout pair "1.1 2.0"
resume_layout leading-pair "0.0 0.1"
resume_layout trailing-pair "3.0 3.1"
resume_layout every-other "0.1 1.1 2.1 3.1"
resume_layout every-other-from-first "0.0 1.0 2.0 3.0"
resume_layout all-but-first "0.1 1.0 1.1 2.0 2.1 3.0 3.1"
resume_layout interrupted-pair "1.0 1.1" interrupted
resume_layout interrupted-last "3.1" interrupted

# points that finished but broke their budget are done too: a resume
# reruns only the removed entry, and the budget_failed ones keep their runs
cat > edf.yaml <<'YAML'
stop: {duration: 50ms}
components:
  node0:
    type: sched_node
    cpus: 1
    tasks:
      - {name: t1, policy: deadline, runtime: 3ms, deadline: 10ms, period: 10ms,
         periodic: {period: 10ms, run: 2900us}}
budgets:
  node0.t1.deadline_misses: "== 0"
YAML
expect_exit 1 "a sweep whose second point breaks its budget" -- "$ORRERY" sweep edf.yaml -q \
  --db b.db --repeat 2 --axis components.node0.tasks.0.periodic.run=2900us,6000us
failed=$(q b.db "select group_concat(point || '.' || repeat || ':' || run_id, ' ') from
                 (select * from sweep_points where status = 'budget_failed' order by point, repeat)")
[ "$(sed 's/:[0-9]*//g' <<< "$failed")" = "1.0 1.1" ] && pass || fail "budget_failed entries: '$failed'"
max=$(q b.db "select max(id) from runs")
q b.db "delete from sweep_points where sweep_id = 1 and point = 0 and repeat = 1"
expect_exit 1 "budget: resume (the budget still fails)" -- "$ORRERY" sweep --resume 1 --db b.db
expect_out "3 done before this resume" "budget: the budget_failed entries count as done"
[ "$(q b.db "select group_concat(point || '.' || repeat, ' ') from sweep_points
             where sweep_id = 1 and run_id > $max")" = "0.1" ] && pass || fail "budget: reran more than 0.1"
[ "$(q b.db "select group_concat(point || '.' || repeat || ':' || run_id, ' ') from
             (select * from sweep_points where status = 'budget_failed' order by point, repeat)")" = \
  "$failed" ] && pass || fail "budget: the budget_failed entries were rerun"
finish
