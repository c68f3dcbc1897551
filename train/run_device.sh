#!/bin/bash
# One device call of the recipe: train both variants side by side on the one
# GPU, then pack logs, evals and weights into $OUT (parts of 15 MiB).
#   bash train/run_device.sh 1 MINUTES   # phase 1: lr 1e-3, 200 warm-up, from scratch
#   bash train/run_device.sh 2 MINUTES   # phase 2: lr 5e-4, 50 warm-up, from phase 1
# STEPS_HSA / STEPS_GMU fix the step counts (0: fit the minutes).
# State lives in $STATE (default /tmp/train-state); a cold machine restores
# phase 1's weights from train/state/ (what an earlier call brought back).
set -u
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1
PHASE=$1 MIN=$2
S=${STATE:-/tmp/train-state}
OUT=${OUT:-/tmp/out}
EVAL=${EVAL:-4096,16384,65536,262144,1048576}
TRIALS=${TRIALS:-32}
mkdir -p "$S" "$OUT"
if [ "$PHASE" = 2 ]; then
  for v in hsa gmu; do
    if [ ! -f "$S/${v}1/f32.safetensors" ] && [ -f "state/${v}1.f32.safetensors" ]; then
      mkdir -p "$S/${v}1" && cp "state/${v}1.f32.safetensors" "$S/${v}1/f32.safetensors"
    fi
  done
fi
for v in hsa gmu; do
  steps=STEPS_${v^^}
  if [ "$PHASE" = 1 ]; then extra=(--lr 1e-3 --warmup 200)
  else extra=(--lr 5e-4 --warmup 50 --init "$S/${v}1/f32.safetensors"); fi
  python3 train.py --variant $v --out "$S/$v$PHASE" --minutes "$MIN" --steps "${!steps:-0}" \
    --seed "$PHASE" --eval-lengths "$EVAL" --eval-trials "$TRIALS" "${extra[@]}" ${EXTRA:-} \
    > "$S/$v$PHASE.out" 2>&1 &
done
wait
tail -n 25 "$S"/*"$PHASE".out
mkdir -p /tmp/pack && rm -rf /tmp/pack/*
for v in hsa gmu; do
  d=/tmp/pack/$v$PHASE && mkdir -p $d
  cp "$S/$v$PHASE"/{log.txt,eval.json} $d/ 2>/dev/null
  cp "$S/$v$PHASE/${PACK_DTYPE:-f32}.safetensors" $d/ 2>/dev/null
done
tar -C /tmp/pack -cf - . | split -b 15M - "$OUT/pack$PHASE.tar.part"
ls -la "$OUT"
