#!/bin/bash
# train/ask_eval.sh LANDMARK MODEL PREFIX STOREDIR: ingest PREFIX.txt (train/heldout_haystack.py)
# through MODEL into a scratch store, ask PREFIX.json's questions, print the exact count.
L=$1 M=$2 P=$3 D=$4
rm -rf $D
t0=$(date +%s.%N)
$L ingest --model $M --out $D $P.txt > $D.ingest.log 2>&1 || { echo ingest failed; tail -3 $D.ingest.log; exit 1; }
t1=$(date +%s.%N)
/usr/bin/python3 - "$L" "$M" "$P" "$D" "$t0" "$t1" <<'PY'
import json, subprocess, sys
L, M, P, D, t0, t1 = sys.argv[1:]
qa = json.load(open(P + '.json'))
out = subprocess.run([L, 'ask', '--model', M, '--max-bytes', '24', D] + [q for q, _ in qa],
                     capture_output=True, text=True)
lines = out.stdout.rstrip('\n').split('\n')
if len(lines) != len(qa):
    print('unexpected output', out.stdout[:500], out.stderr[:500]); sys.exit(1)
ok = sum(l.strip() == a for l, (_, a) in zip(lines, qa))
bad = [(a, l) for l, (_, a) in zip(lines, qa) if l.strip() != a][:6]
print(f"{M} {P}: {ok}/{len(qa)} ingest {float(t1)-float(t0):.0f}s misses {bad}")
PY
rm -rf $D
