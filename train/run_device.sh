#!/bin/bash
# One device call of the recipe: train both variants side by side on the one
# GPU, then pack logs, evals and weights into $OUT (parts of 15 MiB).
#   bash train/run_device.sh 1 MINUTES   # phase 1: lr 1e-3, 200 warm-up, from scratch
#   bash train/run_device.sh 2 MINUTES   # phase N > 1: from phase N-1's weights, fresh AdamW,
#                                        # lr $LR2 (default 1e-3), $WARMUP2 (50) warm-up steps
# STEPS_HSA / STEPS_GMU fix the step counts (0: fit the minutes).
# State lives in $STATE (default /tmp/train-state); a cold machine restores
# phase N-1's weights from train/state/{hsa,gmu}N-1.f32.safetensors
# (what an earlier call brought back).
set -u
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1
PHASE=$1 MIN=$2
S=${STATE:-/tmp/train-state}
OUT=${OUT:-/tmp/out}
EVAL=${EVAL:-4096,16384,65536,262144,1048576}
TRIALS=${TRIALS:-32}
VARIANTS=${VARIANTS:-hsa gmu}  # e.g. VARIANTS=gmu trains one alone (faster per step)
mkdir -p "$S" "$OUT"
PREV=$((PHASE - 1))
if [ "$PHASE" -gt 1 ]; then
  for v in $VARIANTS; do
    if [ ! -f "$S/$v$PREV/f32.safetensors" ] && [ -f "state/$v$PREV.f32.safetensors" ]; then
      mkdir -p "$S/$v$PREV" && cp "state/$v$PREV.f32.safetensors" "$S/$v$PREV/f32.safetensors"
    fi
  done
fi
for v in $VARIANTS; do
  steps=STEPS_${v^^}
  if [ "$PHASE" = 1 ]; then extra=(--lr 1e-3 --warmup 200)
  else extra=(--lr "${LR2:-1e-3}" --warmup "${WARMUP2:-50}" --init "$S/$v$PREV/f32.safetensors"); fi
  python3 train.py --variant $v --out "$S/$v$PHASE" --minutes "$MIN" --steps "${!steps:-0}" \
    --seed "$PHASE" --eval-lengths "$EVAL" --eval-trials "$TRIALS" "${extra[@]}" ${EXTRA:-} \
    > "$S/$v$PHASE.out" 2>&1 &
done
wait
tail -n 25 "$S"/*"$PHASE".out
mkdir -p /tmp/pack && rm -rf /tmp/pack/*
for v in $VARIANTS; do
  d=/tmp/pack/$v$PHASE && mkdir -p $d
  cp "$S/$v$PHASE"/{log.txt,eval.json} $d/ 2>/dev/null
  for t in ${PACK_DTYPES:-f32 bf16}; do cp "$S/$v$PHASE/$t.safetensors" $d/ 2>/dev/null; done
done
tar -C /tmp/pack -cf - . | split -b 15M - "$OUT/pack$PHASE.tar.part"
ls -la "$OUT"
