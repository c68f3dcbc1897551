"""train/data.py, the pass-key samples the byte model trains on (numpy only):
every task's needles answer its question, the confusable vaults of
--hard-keys, and the sample streams of phases 1-12 unchanged without it."""
import hashlib
import os
import re
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "train"))
import data  # noqa: E402

# The first batch of step 5 of stream 11 (phase 11's mix), as data.py drew it before --hard-keys.
GOLDEN, GOLDEN_ALEN = "a4a692ba7b91bfee", [6, 12, 12, 6]
NEEDLE = re.compile(rb" The pass key for vault (\d{3}) is (\d{5})\. ")


@pytest.fixture(scope="module")
def corpus():
    return data.Corpus()


@pytest.fixture(autouse=True)
def plain():
    data.HARD = 0.0
    yield
    data.HARD = 0.0


def test_confusable_vaults():
    near = data.confusable(396)
    assert {369, 639, 693, 936, 963, 398, 306, 996} <= set(near)
    assert 396 not in near and len(near) == len(set(near))
    assert all(100 <= v <= 999 for v in near)
    # one digit changed or the digits permuted, nothing else
    for v in near:
        a, b = f"{v:03d}", "396"
        assert sorted(a) == sorted(b) or sum(x != y for x, y in zip(a, b)) == 1
    assert 10 not in data.confusable(100) and 1 not in data.confusable(100)


def parse(seq):
    """(needles [(vault, key)], asked vault, answer) of a training sample."""
    raw = bytes(seq)
    q = re.search(rb" Q: pass keys? for vault (\d{3})\? A: ([\d ]+)\n$", raw)
    assert q, raw[-80:]
    needles = [(int(v), int(k)) for v, k in NEEDLE.findall(raw[: q.start()])]
    return needles, int(q.group(1)), q.group(2).decode()


@pytest.mark.parametrize("hard", [0.0, 1.0])
@pytest.mark.parametrize("task", data.TASKS)
def test_every_task_answers_its_question(corpus, task, hard):
    data.HARD = hard
    rng = np.random.default_rng(5)
    for _ in range(20):
        seq, answer, starts = data.make_sample(corpus.train, 4097, rng, task=task)
        assert len(seq) == 4097
        needles, asked, said = parse(seq)
        assert said == answer and len(needles) == len(starts)
        keys = sorted(k for v, k in needles if v == asked)
        assert answer == " ".join(f"{k:05d}" for k in keys)
        others = [v for v, _ in needles if v != asked]
        assert len(others) == len(set(others))  # one needle a distractor vault
        if hard:
            assert any(v in data.confusable(asked) for v in others)


def test_hard_keys_replace_up_to_half_of_the_other_vaults():
    data.HARD = 1.0
    rng = np.random.default_rng(7)
    for task in data.TASKS:
        for _ in range(50):
            pairs, asked, _ = data._needles(rng, task, 4)
            others = [v for v, _ in pairs if v != asked]
            near = sum(v in data.confusable(asked) for v in others)
            assert 1 <= near and len(others) == len(set(others))


def test_streams_without_hard_keys_are_those_of_phases_1_to_12(corpus):
    x, alen = data.train_batch(corpus, 11, 5, 4, 4096, 128, (0.15, 0.2, 0.15, 0.25, 0.25))
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]
    assert digest == GOLDEN and list(alen) == GOLDEN_ALEN
