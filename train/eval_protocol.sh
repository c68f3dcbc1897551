#!/bin/bash
# The C++ protocol in PyTorch (GPU or CPU), for one model:
#   bash train/eval_protocol.sh WEIGHTS NAME OUTDIR
# builds heldout_haystack.py's haystacks (1M: single 100 needles, multikey 100
# in 10 full decades, multivalue 200 = 2 per vault, seeds 11/12/13 as in the
# C++ table and 21/22/23 for more questions; 16M: the same three, seeds
# 31/32/33, with BIG=1) and answers every question with haystack_eval.py (top-k $K, e.g.
# K=4,8); with BIG=1 also evaluate.py's 16M single task (4 needles, 24 haystacks).
# Writes OUTDIR/NAME.protocol.txt and OUTDIR/NAME.16m.eval.json.
W=$(realpath "$1") N=$2 O=$(realpath "$3")
cd "$(dirname "$0")"
H=/tmp/hay-$N && mkdir -p "$H" "$O"
{
for spec in "s1m 1048576 100 11 single" "mk1m 1048576 100 12 multikey" "mv1m 1048576 200 13 multivalue" \
            ${BIG:+"s16m 16777216 100 31 single" "mk16m 16777216 100 32 multikey" "mv16m 16777216 200 33 multivalue"} \
            "s1m-b 1048576 100 21 single" "mk1m-b 1048576 100 22 multikey" "mv1m-b 1048576 200 23 multivalue"; do
  set -- $spec
  [ -f "$H/$1.txt" ] || python3 heldout_haystack.py $2 $3 $4 $5 "$H/$1"
  python3 haystack_eval.py "$W" "$H/$1" ${K:+--top-k $K}
done
[ -z "${BIG:-}" ] || python3 evaluate.py "$W" --lengths 16777216 --trials 24 --tasks single --json "$O/$N.16m.eval.json"
} > "$O/$N.protocol.txt" 2>&1
