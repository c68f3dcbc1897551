"""The pass-key tasks of docs/model.md over Debian filler text.

A sample is filler with needles " The pass key for vault NNN is NNNNN. "
at random places outside the last 4 windows, then a question and, in
training, its answer and the stop byte '\\n'. Three tasks (RULER's needle
variants):
- single:     4 needles of distinct vaults; " Q: pass key for vault NNN? A: NNNNN"
- multikey:   8-16 needles whose vaults mostly share their first two digits
              with the asked one (distractors); same question
- multivalue: the asked vault has 2 needles (values), among 2-6 others;
              " Q: pass keys for vault NNN? A: NNNNN NNNNN" with every value,
              in ascending order (HSA sees no positions: order by value)
- dense:      24-48 needles of distinct vaults (the C++ protocol's 100
              needles in one haystack, where every needle is a distractor for
              the others); same question as single (phase 6 on)
- densemv:    multivalue among 20-40 other needles; same question as
              multivalue (phase 7)
With train.py --hard-keys P, a fraction P of the samples have up to half of
their other vaults confusable with the asked one (its digits permuted or
one digit changed: 396 beside 369 or 398), the C++ protocol's remaining
misreads (phase 13 on).
Training filler is data/filler.txt.gz, evaluation filler data/heldout.txt.gz
(whole source files that training never sees; make_filler.py).
Everything is seeded: sample i of a stream depends only on (seed, i).
"""
import gzip
import itertools
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FILLER = os.path.join(HERE, "data", "filler.txt.gz")
HELDOUT = os.path.join(HERE, "data", "heldout.txt.gz")
ANSWER_LEN = 5  # digits of one value
STOP = ord("\n")
TASKS = ("single", "multikey", "multivalue", "dense", "densemv")
TRAIN_MIX = (0.5, 0.25, 0.25, 0.0, 0.0)  # of TASKS
MULTIVALUE = 2  # values of the asked vault in a multivalue sample (phase 4 drew 2 or 3)
HARD = 0.0  # fraction of samples with confusable vaults (train.py --hard-keys); 0 keeps the streams of phases 1-12


def needle(vault, key):
    return f" The pass key for vault {vault:03d} is {key:05d}. "


def question(vault, multi=False):
    return f" Q: pass key{'s' if multi else ''} for vault {vault:03d}? A: "


def _load(path):
    with gzip.open(path, "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8).copy()
    raw[raw >= 128] = ord("?")
    raw[raw < 32] = ord(" ")  # no stop byte inside filler
    return raw


class Corpus:
    def __init__(self, path=FILLER, heldout=HELDOUT):
        self.train, self.test = _load(path), _load(heldout)

    @staticmethod
    def filler(part, n, rng):
        """n filler bytes: random 4 KiB-or-shorter slices of `part` joined."""
        out = np.empty(n, dtype=np.uint8)
        i = 0
        while i < n:
            take = min(n - i, 4096, len(part))
            o = int(rng.integers(0, len(part) - take + 1))
            out[i:i + take] = part[o:o + take]
            i += take
        return out


def confusable(vault):
    """The vaults a reader may take for `vault` (three digits): its digits
    permuted, or one digit changed; never `vault` itself, never below 100."""
    s = f"{vault:03d}"
    near = {"".join(p) for p in itertools.permutations(s)}
    near |= {s[:i] + d + s[i + 1:] for i in range(3) for d in "0123456789"}
    return sorted(int(t) for t in near if t != s and int(t) >= 100)


def _harden(rng, pairs, asked):
    """Up to half of the other vaults (each distinct) replaced by vaults confusable with `asked`."""
    others = sorted({v for v, _ in pairs if v != asked})
    near = [v for v in confusable(asked) if v not in others]
    n = min(len(near), max(1, len(others) // 2))
    chosen = [int(v) for v in rng.choice(near, size=n, replace=False)]
    swap = {int(v): c for v, c in zip(rng.choice(others, size=n, replace=False), chosen)}
    return [(swap.get(v, v), k) for v, k in pairs]


def _needles(rng, task, n_needles):
    """[(vault, key)] in random order, the asked vault, its answer string."""
    pairs, asked, answer = _plain_needles(rng, task, n_needles)
    if HARD > 0 and rng.random() < HARD:
        pairs = _harden(rng, pairs, asked)
    return pairs, asked, answer


def _plain_needles(rng, task, n_needles):
    if task == "dense":
        n_needles = int(rng.integers(24, 49))
    if task in ("single", "dense"):
        vaults = rng.choice(np.arange(100, 1000), size=n_needles, replace=False)
        keys = rng.integers(10000, 100000, size=n_needles)
        asked = int(vaults[int(rng.integers(0, n_needles))])
        pairs = [(int(v), int(k)) for v, k in zip(vaults, keys)]
        return pairs, asked, f"{dict(pairs)[asked]:05d}"
    if task == "multikey":
        n = int(rng.integers(8, 17))
        base = int(rng.integers(10, 100)) * 10  # vaults base..base+9 share two digits
        near = rng.choice(np.arange(base, base + 10), size=min(n, 10), replace=False)
        far = [v for v in rng.choice(np.arange(100, 1000), size=n + 10, replace=False)
               if not base <= v < base + 10][: n - len(near)]
        vaults = [int(v) for v in near] + [int(v) for v in far]
        keys = rng.integers(10000, 100000, size=len(vaults))
        asked = int(near[0])
        pairs = [(v, int(k)) for v, k in zip(vaults, keys)]
        rng.shuffle(pairs)
        return pairs, asked, f"{dict(pairs)[asked]:05d}"
    # multivalue, densemv
    n_values, n_other = MULTIVALUE, int(rng.integers(20, 41) if task == "densemv" else rng.integers(2, 7))
    vaults = rng.choice(np.arange(100, 1000), size=n_other + 1, replace=False)
    asked = int(vaults[0])
    values = sorted(int(k) for k in rng.choice(np.arange(10000, 100000), size=n_values, replace=False))
    pairs = [(asked, k) for k in values] + [(int(v), int(rng.integers(10000, 100000))) for v in vaults[1:]]
    rng.shuffle(pairs)
    return pairs, asked, " ".join(f"{k:05d}" for k in values)


def make_sample(corpus_part, length, rng, n_needles=4, window=128, with_answer=True, task="single"):
    """A haystack of exactly `length` bytes ending in the question (plus the
    answer and '\\n' when with_answer). Returns (bytes uint8, answer str,
    needle start positions)."""
    pairs, asked, answer = _needles(rng, task, n_needles)
    q = question(asked, task in ("multivalue", "densemv")).encode()
    tail = q + (answer.encode() + b"\n" if with_answer else b"")
    needles = [needle(v, k).encode() for v, k in pairs]
    n_fill = length - len(tail) - sum(len(s) for s in needles)
    # needles end before the last 4 windows of the sample
    limit = length - 4 * window - sum(len(s) for s in needles)
    assert limit > 0 and n_fill > 0, "sample too short for its needles"
    fill = Corpus.filler(corpus_part, n_fill, rng)
    cuts = np.sort(rng.integers(0, min(limit, n_fill) + 1, size=len(needles)))
    pieces, starts, prev, at = [], [], 0, 0
    for c, s in zip(cuts, needles):
        pieces.append(fill[prev:c])
        at += int(c) - prev
        starts.append(at)
        pieces.append(np.frombuffer(s, dtype=np.uint8))
        at += len(s)
        prev = int(c)
    pieces.append(fill[prev:])
    pieces.append(np.frombuffer(tail, dtype=np.uint8))
    seq = np.concatenate(pieces)
    assert len(seq) == length
    return seq, answer, starts


def train_batch(corpus, seed, step, batch, seq_len, window, mix=TRAIN_MIX):
    """Inputs [batch, seq_len+1] uint8 for step `step` of the stream `seed`,
    and the answer length (with the stop byte) of each sample."""
    rng = np.random.default_rng([seed, step])
    seqs, alen = [], []
    for _ in range(batch):
        task = TASKS[int(rng.choice(len(TASKS), p=mix))]
        seq, answer, _ = make_sample(corpus.train, seq_len + 1, rng, window=window, task=task)
        seqs.append(seq)
        alen.append(len(answer) + 1)
    return np.stack(seqs), np.array(alen)
