#!/usr/bin/env bash
# One resumable chunk of GPU training for the shipped policies (one device call of at most 10 minutes).
#
# usage: [SEED=N] [ITERATIONS=N] [OVERRIDES="KEY=VALUE ..."] [INIT=POLICY_DIR] \
#          scripts/gpu_train_chunk.sh SECONDS RUN_NAME TASK [TASK ...]
#   e.g. scripts/gpu_train_chunk.sh 540 safe NaVILA-Go2-Rough-Lidar      # then the same line again to resume
#   OVERRIDES: navila train's cfg overrides for every task, e.g. "env.rewards.wall_clearance.weight=-4.0"
#   INIT: an exported policy whose actor a run without a checkpoint fine-tunes (navila train --resume POLICY_DIR),
#     e.g. INIT=policies/go2_rough_lidar ITERATIONS=150 scripts/gpu_train_chunk.sh 540 ft NaVILA-Go2-Rough-Lidar-Open-Walls
#
# Trains every TASK under logs/gpu/<experiment>/RUN_NAME-<task> (one process each, the cfg's envs: 16384; task i on
# GPU i modulo the GPUs present, so on a 2-GPU machine two tasks each train alone on theirs), resuming a run whose
# directory already holds a checkpoint, until the recipe's ITERATIONS in total (default: the runner cfg's 450, i.e.
# ~15 min of one H200 for one task alone; two tasks sharing one GPU each run slower). After SECONDS each trainer
# gets SIGINT and saves its current iteration. The latest checkpoint of each run (older ones stay on the machine),
# its TensorBoard events (one file per chunk) and cfgs are packed as $OUT/runs.tar.part-* in 15 MiB pieces (the
# device tool brings back at most 16 MiB per file), next to one log tail per task: with two tasks, 3 pieces (a
# checkpoint with its optimizer state is ~19 MB) and 2 logs.
# To resume on a fresh machine, unpack the pieces here and carry logs/gpu/<experiment>/RUN_NAME-<task>.
set -uo pipefail
shopt -s nullglob

seconds=${1:?seconds}
run_name=${2:?run name}
shift 2
iterations=${ITERATIONS:-450}
out=${OUT:-outputs/gpu}
mkdir -p "$out"

gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
[ "$gpus" -ge 1 ] || gpus=1
read -r -a overrides <<<"${OVERRIDES:-}"
pids=()
index=0
for task in "$@"; do
  device="cuda:$((index % gpus))"
  index=$((index + 1))
  run="$run_name-$(echo "$task" | tr 'A-Z' 'a-z')"
  resume=(${INIT:+--resume "$INIT"})
  done_it=-1
  checkpoints=(logs/gpu/*/"$run"/model_*.pt)
  if [ ${#checkpoints[@]} -gt 0 ]; then
    done_it=$(printf '%s\n' "${checkpoints[@]}" | sed -E 's/.*model_([0-9]+)\.pt/\1/' | sort -n | tail -n 1)
    resume=(--resume "$(dirname "${checkpoints[0]}")/model_$done_it.pt")
  fi
  left=$((iterations - done_it - 1))
  if [ "$left" -le 0 ]; then
    echo "[chunk] $run: already at iteration $done_it of $iterations"
    continue
  fi
  echo "[chunk] $run on $device: $left iterations left (last checkpoint: $done_it)"
  timeout -s INT "$seconds" navila train --task "$task" --device "$device" --max_iterations "$left" \
    --log_dir logs/gpu --run_name "$run" ${SEED:+--seed "$SEED"} "${resume[@]}" "${overrides[@]}" >"$out/$run.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

# bring back the latest checkpoint of each run, its events and cfgs, and the actor and critic of every KEEP_EVERY-th
# iteration's checkpoint that this chunk wrote (stripped/actor_critic_N.pt, no optimizer state: ~6 MB; for evaluations
# at matched training time; named so that a run directory given to navila export/evaluate/train --resume never
# resolves to one; earlier chunks brought theirs back)
keep_every=${KEEP_EVERY:-100}
keep=()
for dir in logs/gpu/*/"$run_name"-*; do
  mkdir -p "$dir/stripped"
  for model in "$dir"/model_*.pt; do
    n=$(basename "$model" .pt | sed 's/model_//')
    [ $((n % keep_every)) -eq 0 ] && [ ! -f "$dir/stripped/actor_critic_$n.pt" ] && python3 -c "import sys, torch
c = torch.load(sys.argv[1], map_location='cpu', weights_only=False)
torch.save({k: v for k, v in c.items() if not k.startswith('optimizer')}, sys.argv[2])" "$model" "$dir/stripped/actor_critic_$n.pt" \
      && keep+=("$dir/stripped/actor_critic_$n.pt")
  done
  latest=$(printf '%s\n' "$dir"/model_*.pt | sort -V | tail -n 1)  # nullglob: no checkpoint, empty
  keep+=("$dir/params" "$dir"/events.out.* ${latest:+"$latest"})
done
tar cf - "${keep[@]}" | split -b 15M - "$out/runs.tar.part-"
for log in "$out"/*.log; do tail -c 3000 "$log" >"$log.tail" && mv "$log.tail" "$log"; done
count=$(ls "$out" | wc -l)
[ "$count" -le 8 ] || echo "[chunk] warning: $count files in $out, the device tool brings back at most 8"
ls -la "$out"
