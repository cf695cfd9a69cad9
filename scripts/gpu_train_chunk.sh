#!/usr/bin/env bash
# One chunk of GPU training for the shipped policies (how policies/ was trained on the lent H100; see results/locomotion.md).
#
# usage: scripts/gpu_train_chunk.sh SECONDS RUN_NAME TASK [TASK ...]
#
# Trains every TASK at once (one process each, 4096 envs, CUDA) under logs/gpu/<experiment>/RUN_NAME-<task>, resuming the
# run when its directory already holds a checkpoint. After SECONDS each trainer gets SIGINT, on which `navila train`
# saves the current iteration. The runs' latest checkpoints (older ones stay on the machine), tensorboard events and cfgs are then packed as
# $OUT/runs.tar.part-* (15 MB pieces: the device tool brings back files of at most 16 MiB).
set -uo pipefail

seconds=${1:?seconds}
run_name=${2:?run name}
shift 2
out=${OUT:-outputs/gpu}
mkdir -p "$out"

pids=()
for task in "$@"; do
  run="$run_name-$(echo "$task" | tr 'A-Z' 'a-z')"
  resume=()
  previous=$(ls -d logs/gpu/*/"$run" 2>/dev/null | head -n 1)
  if [ -n "$previous" ] && ls "$previous"/model_*.pt >/dev/null 2>&1; then
    resume=(--resume "$previous")
  fi
  timeout -s INT "$seconds" navila train --task "$task" --device cuda --max_iterations 5000 \
    --log_dir logs/gpu --run_name "$run" "${resume[@]}" >"$out/$run.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

# bring back the latest checkpoint of each run (older ones stay on the machine for time-to-walk evaluations)
keep=()
for dir in logs/gpu/*/"$run_name"-*; do
  keep+=("$dir/params" $(ls "$dir"/events.out.* 2>/dev/null) $(ls -v "$dir"/model_*.pt 2>/dev/null | tail -n 1))
done
tar cf - "${keep[@]}" | split -b 15M - "$out/runs.tar.part-"
for log in "$out"/*.log; do tail -c 3000 "$log" >"$log.tail" && mv "$log.tail" "$log"; done
ls -la "$out"
