#!/usr/bin/env bash
# Checkpoint/restore (docs/checkpoint.md) on every scenario in scenarios/:
# a run checkpointed at its mid point and restored must end with the digest,
# event count, stop reason, metrics and histograms of the uninterrupted run;
# so must the checkpointing run itself. A scenario whose model cannot be
# saved is listed as "not supported: <types>", never counted as a pass; one
# in SUPPORTED below that stops being supported fails. A few scenarios are
# also restored at a random point (the seed of the choice is printed). Then
# the refusals: types without save/restore, another build, another scenario
# version, truncated and bit-flipped files (exit 2, nothing written);
# another build's file is refused in tests/unit/test_checkpoint.c.
. "$(dirname "$0")/lib.sh"

# scenarios whose every type can be saved today; keep in step with
# docs/checkpoint.md
SUPPORTED="incast nic-pair cluster-nics pcie-dma pcie-switch isa-chase isa-matmul isa-spinlock-aarch64 isa-sum fabric-fattree fabric-faults fabric-incast mem-bandwidth mem-latency tutorial-cxl mem-c2c mem-contention mem-loaded-latency mem-stream quickstart sched-bw sched-eas sched-edf sched-fair sched-mixed sched-rt sched-schbench sched-topology tutorial-sched exec-timeshare"

# what must agree: everything in --json but wall time, ids and paths
summary() {
  jq -c '{digest, events, sim_time_ps, stop_reason, status, metrics, histograms, budgets, output}' "$1"
}

check_point() { # NAME SCENARIO TIME; status 0 if both runs matched
  local name=$1 sc=$2 at=$3 before=$FAILS
  "$ORRERY" run "$sc" --no-db --json --checkpoint-at "$at" --checkpoint "$name.ckpt" \
    > "$name.ck.json" 2> "$name.ck.err"
  local rc=$?
  if [ $rc -gt 1 ] || [ ! -s "$name.ckpt" ]; then
    fail "$name: checkpoint at $at: exit $rc"; head -5 "$name.ck.err" >&2; return 1
  fi
  [ "$(summary "$name.ck.json")" = "$(summary "$name.full.json")" ] && pass ||
    fail "$name: the checkpointing run differs from the uninterrupted run"
  "$ORRERY" run --restore "$name.ckpt" --no-db --json > "$name.rs.json" 2> "$name.rs.err"
  rc=$?
  if [ $rc -gt 1 ]; then
    fail "$name: restore from $at: exit $rc"; head -5 "$name.rs.err" >&2; return 1
  fi
  if [ "$(summary "$name.rs.json")" = "$(summary "$name.full.json")" ]; then
    pass
  else
    fail "$name: restored at $at, the run differs from the uninterrupted one:"
    diff <(summary "$name.full.json" | jq .) <(summary "$name.rs.json" | jq .) | head -20 >&2
  fi
  [ "$FAILS" -eq "$before" ]
}

G=$(dirname "$ORRERY")
nOk=0
nUnsupported=0
okList=""
for sc in "$SRC"/scenarios/*.yaml; do
  name=$(basename "$sc" .yaml)
  # support is decided before anything runs (refused up front)
  OUT=$(cd "$G" && "$ORRERY" run "$sc" --no-db -q --checkpoint-at 1ps --checkpoint "$WORK/probe.ckpt" \
        --stop-after-checkpoint 2>&1)
  rc=$?
  rm -f probe.ckpt
  if grep -q "no save/restore yet" <<< "$OUT"; then
    types=$(sed -n 's/.*checkpoint: \(.*\) ha[sv]e\{0,1\} no save\/restore yet.*/\1/p' <<< "$OUT")
    echo "$name: not supported: $types"
    nUnsupported=$((nUnsupported + 1))
    case " $SUPPORTED " in *" $name "*) fail "$name was supported and is not any more";; esac
    continue
  fi
  if [ $rc -ne 0 ]; then
    echo "$name: not run: $(head -1 <<< "$OUT")"
    case " $SUPPORTED " in *" $name "*) fail "$name (supported) cannot be run";; esac
    continue
  fi
  "$ORRERY" run "$sc" --no-db --json > "$name.full.json" 2> "$name.full.err"
  if [ $? -gt 1 ]; then fail "$name: the uninterrupted run failed"; continue; fi
  end=$(jq -r .sim_time_ps "$name.full.json")
  if check_point "$name" "$sc" "$((end / 2))ps"; then
    echo "$name: checkpoint at $((end / 2)) ps restored to the same digest and metrics"
  fi
  nOk=$((nOk + 1))
  okList="$okList $name"
done
echo "checkpoint/restore: $nOk scenarios checked, $nUnsupported not supported"
[ $nOk -ge 1 ] && pass || fail "no scenario could be checkpointed"

# random points in three of them, reproducible from the printed seed
SEED=${CKPT_SEED:-$(date +%s)}
echo "random checkpoint points: CKPT_SEED=$SEED"
RANDOM=$SEED
set -- $okList
sample=""
for k in 1 2 3; do
  [ $# -eq 0 ] && break
  i=$((RANDOM % $# + 1))
  sample="$sample ${!i}"
  set -- $(for x in "$@"; do [ "$x" != "${!i}" ] && echo "$x"; done)
done
for name in $sample; do
  end=$(jq -r .sim_time_ps "$name.full.json")
  at=$(( (RANDOM * 32768 + RANDOM) % (end - 1) + 1 ))
  cp "$name.full.json" "$name.r.full.json"
  check_point "$name.r" "$SRC/scenarios/$name.yaml" "${at}ps" &&
    echo "$name: checkpoint at $at ps (random) restored to the same digest and metrics"
done

# --- refusals ------------------------------------------------------------
I=$SRC/scenarios/incast.yaml
Q=$SRC/scenarios/rdma-perftest-lat.yaml
expect_exit 2 "a type without save/restore is refused" -- \
  "$ORRERY" run "$Q" --db q.db --checkpoint-at 1ms --checkpoint q.ckpt
expect_out "component type 'rnic'" "the message names the type"
[ ! -e q.ckpt ] && [ ! -e q.db ] && pass || fail "a refused checkpoint writes nothing"

"$ORRERY" run "$I" --no-db -q --checkpoint-at 500us --checkpoint good.ckpt --stop-after-checkpoint ||
  fail "checkpoint for the refusals"
size=$(stat -c %s good.ckpt)
head -c $((size - 9)) good.ckpt > trunc.ckpt
expect_exit 2 "a truncated checkpoint is refused" -- "$ORRERY" run --restore trunc.ckpt --no-db
expect_out "truncated" "truncation is named"
for off in 40 $((size / 2)) $((size - 3)); do
  cp good.ckpt flip.ckpt
  b=$(od -An -tu1 -j $off -N1 flip.ckpt | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 16)))" | dd of=flip.ckpt bs=1 seek=$off conv=notrunc 2>/dev/null
  expect_exit 2 "a bit flipped at byte $off is refused" -- \
    "$ORRERY" run --restore flip.ckpt --db flip.db
  expect_out "corrupt|checksum" "the flip is named corrupt"
  [ ! -e flip.db ] && pass || fail "a refused restore writes no database"
done
# (a checkpoint of another build id: tests/unit/test_checkpoint.c)
# the same build id, another binary (rebuilt without reconfiguring: here one
# byte appended, which leaves it runnable) is refused too
cp "$ORRERY" rebuilt && printf x >>rebuilt
expect_exit 2 "a checkpoint of another binary of the same build is refused" -- \
  ./rebuilt run --restore good.ckpt --no-db
expect_out "written by another binary of this build" "the rebuilt binary is named"
expect_exit 0 "the writing binary restores it" -- "$ORRERY" run --restore good.ckpt --no-db -q
cp -r "$SRC/scenarios/presets" .
expect_exit 2 "a checkpoint of another scenario version is refused" -- bash -c "
  cp '$I' mine.yaml && '$ORRERY' run mine.yaml --no-db -q --checkpoint-at 500us \
     --checkpoint m.ckpt --stop-after-checkpoint && sed -i 's/^seed: .*/seed: 99/' mine.yaml &&
  '$ORRERY' run --restore m.ckpt --no-db"
expect_out "another version of scenario" "the scenario change is named"
expect_exit 2 "--restore refuses --seed" -- "$ORRERY" run --restore good.ckpt --seed 3 --no-db
expect_exit 2 "--checkpoint-at past the end is refused" -- \
  "$ORRERY" run "$I" --no-db --checkpoint-at 1s --checkpoint late.ckpt
[ ! -e late.ckpt ] && pass || fail "nothing written for a checkpoint past the end"
expect_exit 2 "the checkpoint may not overwrite the scenario" -- \
  "$ORRERY" run mine.yaml --no-db --checkpoint-at 1us --checkpoint mine.yaml
expect_exit 2 "--checkpoint-at without --checkpoint" -- "$ORRERY" run "$I" --no-db --checkpoint-at 1us
finish
