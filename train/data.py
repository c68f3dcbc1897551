"""The pass-key task of docs/model.md over Debian filler text.

A sample is filler with needles " The pass key for vault NNN is NNNNN. "
at random places outside the last 4 windows, then the question
" Q: pass key for vault NNN? A: ", the 5-digit answer and the stop byte '\\n'.
Everything is seeded: sample i of a stream depends only on (seed, i).
"""
import gzip
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FILLER = os.path.join(HERE, "data", "filler.txt.gz")
HOLDOUT = 0.1  # the last 10% of the corpus is kept for evaluation haystacks
ANSWER_LEN = 5
STOP = ord("\n")


def needle(vault, key):
    return f" The pass key for vault {vault:03d} is {key:05d}. "


def question(vault):
    return f" Q: pass key for vault {vault:03d}? A: "


class Corpus:
    def __init__(self, path=FILLER):
        with gzip.open(path, "rb") as f:
            raw = np.frombuffer(f.read(), dtype=np.uint8).copy()
        raw[raw >= 128] = ord("?")
        raw[raw < 32] = ord(" ")  # no stop byte inside filler
        cut = int(len(raw) * (1 - HOLDOUT))
        self.train, self.test = raw[:cut], raw[cut:]

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


def make_sample(corpus_part, length, rng, n_needles=4, window=128, with_answer=True):
    """A haystack of exactly `length` bytes ending in the question (plus the
    answer and '\\n' when with_answer). Returns (bytes uint8, answer str,
    needle start positions)."""
    vaults = rng.choice(np.arange(100, 1000), size=n_needles, replace=False)
    keys = rng.integers(10000, 100000, size=n_needles)
    asked = int(rng.integers(0, n_needles))
    q = question(int(vaults[asked])).encode()
    answer = f"{int(keys[asked]):05d}"
    tail = q + (answer.encode() + b"\n" if with_answer else b"")
    needles = [needle(int(v), int(k)).encode() for v, k in zip(vaults, keys)]
    n_fill = length - len(tail) - sum(len(s) for s in needles)
    # needles end before the last 4 windows of the sample
    limit = length - 4 * window - sum(len(s) for s in needles)
    assert limit > 0 and n_fill > 0, "sample too short for its needles"
    fill = Corpus.filler(corpus_part, n_fill, rng)
    cuts = np.sort(rng.integers(0, min(limit, n_fill) + 1, size=n_needles))
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


def train_batch(corpus, seed, step, batch, seq_len, window):
    """Inputs [batch, seq_len+1] uint8 for step `step` of the stream `seed`."""
    rng = np.random.default_rng([seed, step])
    return np.stack([make_sample(corpus.train, seq_len + 1, rng, window=window)[0] for _ in range(batch)])
