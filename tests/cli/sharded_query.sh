#!/usr/bin/env bash
# tests/cli/sharded_query.sh CLI MPIRUN CAPI_TEST WORK: `ingest --shards 3`
# of random K/V, then `mpirun -np 3 landmark query --sharded` against
# `landmark query` on the whole store (same chunks, outputs within f32
# rounding), then the C API's sharded query (tests/capi/sharded_capi_test.c).
set -euo pipefail
cli=$1 mpirun=$2 capi=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 -c "
import numpy as np
r = np.random.default_rng(5)
for n in ('k', 'v'): np.save('$work/' + n + '.npy', r.standard_normal((2000, 2, 32)).astype(np.float32))
np.save('$work/q.npy', (2 * r.standard_normal((2, 4, 32))).astype(np.float32))"
"$cli" ingest --out "$work/whole" --keys "$work/k.npy" --values "$work/v.npy" --chunk-size 16 >/dev/null
"$cli" ingest --out "$work/sharded" --shards 3 --keys "$work/k.npy" --values "$work/v.npy" --chunk-size 16
run=("$mpirun" -np 3 --oversubscribe --allow-run-as-root)
"$cli" query "$work/whole" --q "$work/q.npy" --top-k 6 --window 40 --json --out "$work/one.npy" > "$work/one.json"
"${run[@]}" "$cli" query --sharded "$work/sharded" --q "$work/q.npy" --top-k 6 --window 40 --json \
  --out "$work/sharded.npy" > "$work/sharded.json"
/usr/bin/python3 - "$work" <<'PY'
import json, sys
import numpy as np
work = sys.argv[1]
one, sharded = json.load(open(work + "/one.json")), json.load(open(work + "/sharded.json"))
chunks = lambda r: [[c["chunk"] for c in s] for q in r for s in q["selections"]]
assert chunks(one) == chunks(sharded), (chunks(one), chunks(sharded))
a, b = np.load(work + "/one.npy"), np.load(work + "/sharded.npy")
err = float(np.abs(a - b).max())
assert err < 1e-5, err
print(f"sharded query over 3 ranks: same {sum(map(len, chunks(one)))} chunks, max |diff| {err:.2e}")
PY
"${run[@]}" "$capi" "$work/whole" "$work/sharded" 4 32
