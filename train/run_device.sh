#!/bin/bash
# One device call of the recipe: train the variants side by side on the one
# GPU, then pack logs, evals and weights into $OUT (parts of 15 MiB).
#   bash train/run_device.sh PHASE MINUTES
# Where a phase starts (first match):
#   INIT_<V>=W.safetensors   from those weights (fresh AdamW)
#   GRAFT_<V>=W.safetensors  gmu variant only: from a pure-HSA model (train.py --graft)
#   PHASE-1's weights        $STATE/<v>PHASE-1/f32.safetensors, or train/state/<v>PHASE-1.f32.safetensors
#                            (what an earlier call brought back; a cold machine has no $STATE)
#   nothing                  from scratch (phase 1 of the first model: lr 1e-3, 200 warm-up steps)
# LR_<V> (default $LR2, 1e-3), WARMUP_<V> (default $WARMUP2, 50), STEPS_<V> (0: fit the minutes),
# EXTRA (arguments for every variant, e.g. --answer-stop --mix 0.5,0.25,0.25).
# Rerunning a phase's command on the same machine resumes it from its checkpoint.
set -u
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1
PHASE=$1 MIN=$2
S=${STATE:-/tmp/train-state}
OUT=${OUT:-/tmp/out}
EVAL=${EVAL:-4096,16384,65536,262144,1048576}
TRIALS=${TRIALS:-32}
VARIANTS=${VARIANTS:-hsa gmu}  # e.g. VARIANTS=gmu trains one alone (faster per step);
# a run named VARIANT-kN (hsa-k8) trains with top_k N (train.py --top-k)
mkdir -p "$S" "$OUT"
PREV=$((PHASE - 1))
for v in $VARIANTS; do
  V=${v%%-*} && V=${V^^}
  topk=() && [[ $v == *-k* ]] && topk=(--top-k "${v##*-k}")
  init=INIT_$V graft=GRAFT_$V steps=STEPS_$V lr=LR_$V warm=WARMUP_$V
  if [ -z "${!init:-}" ] && [ -z "${!graft:-}" ] && [ ! -f "$S/$v$PREV/f32.safetensors" ] \
      && [ -f "state/$v$PREV.f32.safetensors" ]; then
    mkdir -p "$S/$v$PREV" && cp "state/$v$PREV.f32.safetensors" "$S/$v$PREV/f32.safetensors"
  fi
  if [ -n "${!init:-}" ]; then from=(--init "${!init}")
  elif [ -n "${!graft:-}" ]; then from=(--graft "${!graft}")
  elif [ -f "$S/$v$PREV/f32.safetensors" ]; then from=(--init "$S/$v$PREV/f32.safetensors")
  else from=(); fi
  if [ ${#from[@]} = 0 ]; then extra=(--lr "${!lr:-1e-3}" --warmup "${!warm:-200}")
  else extra=(--lr "${!lr:-${LR2:-1e-3}}" --warmup "${!warm:-${WARMUP2:-50}}" "${from[@]}"); fi
  echo "$v phase $PHASE: ${extra[*]} ${EXTRA:-}"
  python3 train.py --variant ${v%%-*} "${topk[@]}" --out "$S/$v$PHASE" --minutes "$MIN" --steps "${!steps:-0}" \
    --seed "$PHASE" --eval-lengths "$EVAL" --eval-trials "$TRIALS" "${extra[@]}" ${EXTRA:-} \
    > "$S/$v$PHASE.out" 2>&1 &
done
wait
tail -n 30 "$S"/*"$PHASE".out
# PROTOCOL=1: the C++ protocol in PyTorch per run (eval_protocol.sh; BIG=1 adds 16M; at most PROTOCOL_S seconds)
if [ -n "${PROTOCOL:-}" ]; then
  for v in $VARIANTS; do
    timeout "${PROTOCOL_S:-600}" bash eval_protocol.sh "$S/$v$PHASE/bf16.safetensors" "$v$PHASE" "$S/$v$PHASE" &
  done
  wait
  cat "$S"/*"$PHASE"/*.protocol.txt | grep -v "^   miss"
fi
mkdir -p /tmp/pack && rm -rf /tmp/pack/*
for v in $VARIANTS; do
  d=/tmp/pack/$v$PHASE && mkdir -p $d
  cp "$S/$v$PHASE"/{log.txt,eval.json,*.protocol.txt,*.16m.eval.json} $d/ 2>/dev/null
  for t in ${PACK_DTYPES:-f32 bf16}; do cp "$S/$v$PHASE/$t.safetensors" $d/ 2>/dev/null; done
done
tar -C /tmp/pack -cf - . | split -b 15M - "$OUT/pack$PHASE.tar.part"
ls -la "$OUT"
