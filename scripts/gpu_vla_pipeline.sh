#!/usr/bin/env bash
# The VLA pipeline on one GPU in resumable chunks: data -> reading stage -> SFT -> instruction probe -> DAgger 1
# (teleported) -> retrain -> DAgger 2 (LiDAR policy) -> retrain -> ship policies/vla_small -> score
# (benchmarks/vla_results.py) -> latency.
#
# usage: scripts/gpu_vla_pipeline.sh [SECONDS]      (default 560: one chunk inside a 10-minute device call)
#
# Every stage leaves a marker in $WORK (default logs/vla) when done; a chunk skips finished stages, continues the
# training stage in progress from its checkpoint (navila vla-train --max-minutes stops in time with a checkpoint) and
# starts a non-resumable stage (data, DAgger rollouts, scoring) only when its time estimate fits, else stops so the
# next chunk starts it. Stage wall times go to $WORK/timings.tsv (the model card sums them as GPU minutes).
# At the end of each chunk $OUT (default outputs/gpu_vla) receives vla_outputs.tar.part-* (15 MB pieces): results,
# the shipped model, the stages' finished models, training summaries, TensorBoard events, dataset cards, the DAgger
# rounds' datasets and logs.
# On a fresh machine carry logs/vla/{sft,r1}/model back (or let the data stage regenerate: it is deterministic).
# Data made elsewhere (e.g. on CPU, `navila vla-data --device cpu`): put it in $WORK/data and touch $WORK/data.done;
# likewise a DAgger round (the stage's own command with --device cpu, ~8 min on 2 cores): $WORK/dagger_1 + .done;
# EXTRA_DATA="DIR ..." adds more datasets' splits to every training stage (other --seed values: disjoint scenes).
#
# Sizes (environment variables): TRAIN_SCENES=160 VAL_SCENES=20 TEST_SCENES=10 PER_SCENE=5 NUM_ENVS=256 SFT_STEPS=1500
# SFT_LR=1e-3 SFT_WARMUP=100 ROUND_STEPS=600 ROUND_LR=5e-4 BATCH=64 DAGGER_SCENES=128 DAGGER_PER_SCENE=2 (one wave of
# 256 envs per round) DAGGER_MAX_STEPS=1500 BETA=0.5 (round k executes the expert's answer with probability BETA^k: the
# learner's states stay near the expert's while it is weak) KEEP_GOING=0 (1: navila vla-dagger --keep-going, the
# learner's early stops execute the expert's answer and its episodes go on where it loses its way) MIRROR=0
# (--mirror-probability of every training stage)
# PROMPT_LOSS=1 (--prompt-loss-weight of every training stage: the DAgger rounds keep learning to read the instruction
# too) FIRST_REPEATS=8 (--first-query-repeats of every training stage) TURN_REPEATS=1 (--turn-start-repeats of the SFT
# and round stages: the path's bends, which only the frames tell, drawn that many times per epoch; 4 cost SR:
# results/vla.md 2026-12-06 10:00) READ_STEPS=250 (SFT starts from a stage of that many steps on the first queries
# alone, --first-queries-only, where a new model learns to read its instruction; 0: none; the probe stage then tells
# whether both models read: results/vla_instruction.md) LIDAR=policies/go2_rough_lidar ROUNDS=2 (DAgger rounds: 1 ships
# r1) EXTRA_DATA="" SHIP=policies/vla_small DEVICE=cuda INIT="" (a trained model folder, e.g. policies/vla_small: the
# rounds start from a copy of it, $WORK/init/model, instead of the reading, SFT and probe stages; it is scored as round
# "init") SEED="" (--seed of the DAgger rollouts and every training stage: replicates of one recipe; the data stage
# keeps its own) ACTION_HISTORY=0 (1: --action-history of every training stage, a new model reads the actions executed
# so far; an INIT model must have been trained so) SCORE_ARGS="" (extra benchmarks/vla_results.py options, e.g.
# --limit 2)
set -uo pipefail
cd "$(dirname "$0")/.."

budget=${1:-560}
start=$(date +%s)
work=${WORK:-logs/vla}
out=${OUT:-outputs/gpu_vla}
navila=${NAVILA:-.venv/bin/navila}
mkdir -p "$work" "$out"
export TOKENIZERS_PARALLELISM=false

left() { echo $((budget - ($(date +%s) - start))); }

# stage NAME ESTIMATE_SECONDS COMMAND...: run unless done; skip (and end the chunk) when ESTIMATE does not fit.
stage() {
  local name=$1 estimate=$2
  shift 2
  [ -f "$work/$name.done" ] && return 0
  if [ "$(left)" -lt "$estimate" ]; then
    echo "[pipeline] $name needs ~${estimate}s, $(left)s left: next chunk"
    return 1
  fi
  echo "[pipeline] $name: $*"
  local t0=$(date +%s)
  timeout -s INT "$(left)" "$@" >"$work/$name.log" 2>&1
  local rc=$?
  printf '%s\t%s\n' "$name" $(($(date +%s) - t0)) >>"$work/timings.tsv"
  tail -n 3 "$work/$name.log"
  if [ $rc -eq 0 ] && [ "${DONE_IF:-1}" = 1 ]; then touch "$work/$name.done"; fi
  [ $rc -eq 0 ]
}

# train NAME STEPS ARGS...: continue a vla-train run for the time left; done when its model/ exists at STEPS.
train() {
  local name=$1 steps=$2
  shift 2
  [ -f "$work/$name.done" ] && return 0
  local minutes=$(( ($(left) - 60) / 60 ))
  if [ "$minutes" -lt 1 ]; then echo "[pipeline] $name: no time left, next chunk"; return 1; fi
  DONE_IF=0 stage "$name" 60 "$navila" vla-train --out "$work/$name" --steps "$steps" --batch-size "${BATCH:-64}" \
    --max-minutes "$minutes" "$@"
  if grep -q "\"steps\": $steps," "$work/$name/training.json" 2>/dev/null; then touch "$work/$name.done"; fi
  [ -f "$work/$name.done" ]
}

pack() {
  local files=(results/vla.md results/vla results/vla_instruction.md results/vla_latency.md "$ship" "$work/timings.tsv")
  # the DAgger rounds' datasets whole (2-5 MB each): a later round, on another machine, trains on all of them
  files+=("$work"/*.log "$work"/*.done "$work"/data/README.md "$work"/data/episodes "$work"/dagger_*/)
  for run in read sft r1 r2; do files+=("$work/$run/training.json" "$work/$run/tb"); done
  # the device tool brings back ~64 MiB per call (22 MB per model): the SFT model (none with INIT), and the round-1
  # model until a final model is shipped (the final round's model is $ship) or, with INIT, always
  files+=("$work/sft/model")
  if [ -n "${INIT:-}" ] || [ ! -d "$ship" ]; then files+=("$work/r1/model"); fi
  local present=()
  for file in "${files[@]}"; do [ -e "$file" ] && present+=("$file"); done
  rm -f "$out"/vla_outputs.tar.part-*
  tar cf - "${present[@]}" | split -b 15M - "$out/vla_outputs.tar.part-"
  ls -la "$out"
}
trap pack EXIT

lidar=${LIDAR:-policies/go2_rough_lidar}
ship=${SHIP:-policies/vla_small}
device=${DEVICE:-cuda}
stage data 240 "$navila" vla-data --out "$work/data" --train-scenes "${TRAIN_SCENES:-160}" \
  --val-scenes "${VAL_SCENES:-20}" --test-scenes "${TEST_SCENES:-10}" --per-scene "${PER_SCENE:-5}" \
  --num_envs "${NUM_ENVS:-256}" --camera-size 96 --device "$device" || exit 0
read -r -a extra <<<"${EXTRA_DATA:-}"
every_stage=(--mirror-probability "${MIRROR:-0}" --prompt-loss-weight "${PROMPT_LOSS:-1}")
every_stage+=(--first-query-repeats "${FIRST_REPEATS:-8}" --device "$device")
seed=(${SEED:+--seed "$SEED"})
every_stage+=("${seed[@]}")
[ "${ACTION_HISTORY:-0}" = 1 ] && every_stage+=(--action-history)
whole_split=("${every_stage[@]}" --turn-start-repeats "${TURN_REPEATS:-1}")
read_steps=${READ_STEPS:-250}
if [ -n "${INIT:-}" ]; then
  # a copy: the ship stage replaces $ship, which INIT may name
  stage init 10 bash -c "rm -rf '$work/init' && mkdir -p '$work/init' && cp -r '$INIT' '$work/init/model'" || exit 0
  start_name=init
else
  sft_init=()
  probed=("$work/sft/model")
  if [ "$read_steps" -gt 0 ]; then
    train read "$read_steps" --data "$work/data" "${extra[@]}" --first-queries-only --lr "${SFT_LR:-1e-3}" \
      --warmup $((read_steps / 10)) "${every_stage[@]}" || exit 0
    sft_init=(--init "$work/read/model")
    probed=("$work/read/model" "${probed[@]}")
  fi
  train sft "${SFT_STEPS:-1500}" --data "$work/data" "${extra[@]}" "${sft_init[@]}" --lr "${SFT_LR:-1e-3}" \
    --warmup "${SFT_WARMUP:-100}" "${whole_split[@]}" || exit 0
  stage probe 60 "$navila" bench vla_instruction_probe --vla "${probed[@]}" --data "$work/data" --device "$device" \
    || exit 0
  start_name=sft
fi
start_model=$work/$start_name/model
dagger=(--scenes "${DAGGER_SCENES:-128}" --per-scene "${DAGGER_PER_SCENE:-2}" --max-steps "${DAGGER_MAX_STEPS:-1500}")
dagger+=(--num_envs "${NUM_ENVS:-256}" "${seed[@]}")
[ "${KEEP_GOING:-0}" = 1 ] && dagger+=(--keep-going)
beta=${BETA:-0.5}
stage dagger_1 240 "$navila" vla-dagger --model "$start_model" --data "$work/data" --round 1 \
  --expert-probability "$beta" --out "$work/dagger_1" "${dagger[@]}" --camera-size 96 --device "$device" || exit 0
train r1 "${ROUND_STEPS:-600}" --data "$work/data" "${extra[@]}" "$work/dagger_1" --init "$start_model" \
  --lr "${ROUND_LR:-5e-4}" --warmup 20 "${whole_split[@]}" || exit 0
rounds=(--round "$start_name=$start_model")
final=r1
if [ "${ROUNDS:-2}" -ge 2 ]; then
  stage dagger_2 240 "$navila" vla-dagger --model "$work/r1/model" --data "$work/data" --round 2 \
    --expert-probability "$(awk "BEGIN {print $beta * $beta}")" --out "$work/dagger_2" "${dagger[@]}" \
    --policy "$lidar" --camera-size 96 --device "$device" || exit 0
  train r2 "${ROUND_STEPS:-600}" --data "$work/data" "${extra[@]}" "$work/dagger_1" "$work/dagger_2" \
    --init "$work/r1/model" --lr "${ROUND_LR:-5e-4}" --warmup 20 "${whole_split[@]}" || exit 0
  rounds+=(--round "dagger_1=$work/r1/model")
  final=r2
fi
stage ship 10 bash -c "rm -rf '$ship' && cp -r '$work/$final/model' '$ship' && cp '$work/$final/training.json' '$ship/'" \
  || exit 0
# shellcheck disable=SC2086 # SCORE_ARGS holds several options
stage score 300 "$navila" bench vla_results --vla "$ship" --data "$work/data" --device "$device" \
  "${rounds[@]}" --lidar "$lidar" \
  --card "$ship" --timings "$work/timings.tsv" ${SCORE_ARGS:-} || exit 0
two_cores=$(command -v taskset >/dev/null && echo "taskset -c 0,1")  # the robot's CPU: 2 cores
stage latency 120 bash -c "'$navila' bench vla_latency --vla '$ship' --data '$work/data' --devices cuda \
  && $two_cores '$navila' bench vla_latency --vla '$ship' --data '$work/data' --devices cpu" || exit 0
echo "[pipeline] all stages done"
