"""A held-out haystack for the C++ runtime, as the issue measured it.

    python3 train/heldout_haystack.py BYTES NEEDLES SEED TASK PREFIX
writes PREFIX.txt (BYTES bytes of data/heldout.txt.gz with NEEDLES needles,
laid out as MakeModelHaystack does: single = distinct vaults, multikey = full
decades of vaults, multivalue = two values per vault) and PREFIX.json
([question, expected answer] per question). train/ask_eval.sh ingests it and
asks every question through `landmark ingest --model` / `landmark ask`.
The C++ table of train/README.md: 1048576 100 11 single, 1048576 100 12
multikey, 1048576 200 13 multivalue.
"""
import gzip, json, os, sys

import numpy as np

n_bytes, n_needles, seed, task, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
raw = np.frombuffer(gzip.open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'heldout.txt.gz')).read(), dtype=np.uint8).copy()
raw[raw >= 128] = ord('?'); raw[raw < 32] = ord(' ')
rng = np.random.default_rng(seed)
if task == 'multikey':
    decades = rng.choice(np.arange(10, 100), size=(n_needles + 9) // 10, replace=False)
    vaults = [int(decades[i // 10]) * 10 + i % 10 for i in range(n_needles)]
elif task == 'multivalue':
    v = [int(x) for x in rng.choice(np.arange(100, 1000), size=n_needles // 2, replace=False)]
    vaults = v + v
else:
    vaults = [int(x) for x in rng.choice(np.arange(100, 1000), size=n_needles, replace=False)]
keys = [int(x) for x in rng.choice(np.arange(10000, 100000), size=n_needles, replace=False)]
pairs = list(zip(vaults, keys)); rng.shuffle(pairs)
needles = [f" The pass key for vault {v:03d} is {k:05d}. ".encode() for v, k in pairs]
nb = sum(map(len, needles)); fill = n_bytes - nb; limit = n_bytes - 512 - nb
cuts = np.sort(rng.integers(0, limit + 1, size=n_needles))
parts, filled = [], 0
def add(until):
    global filled
    while filled < until:
        take = min(until - filled, 4096); o = int(rng.integers(0, len(raw) - take + 1))
        parts.append(raw[o:o + take].tobytes()); filled += take
for c, s in zip(cuts, needles):
    add(int(c)); parts.append(s)
add(fill)
text = b''.join(parts); assert len(text) == n_bytes, len(text)
open(out + '.txt', 'wb').write(text)
qs = {}
for v, k in pairs: qs.setdefault(v, []).append(k)
multi = task == 'multivalue'
json.dump([[f"pass key{'s' if multi else ''} for vault {v:03d}", ' '.join(f'{k:05d}' for k in sorted(ks))] for v, ks in qs.items()], open(out + '.json', 'w'))
