#!/usr/bin/python3
"""Checks a `landmark bench prefill` CSV: every policy and pattern present at
every length, figures finite and in range, the dense row at speedup 1."""
import csv
import math
import sys

POLICIES = {"dense", "flashprefill", "flashprefill:delta=5", "flashprefill-alpha", "dma", "dma-qk"}
PATTERNS = {"random", "sink", "local", "slash", "mixture"}


def main(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["policy"] for r in rows} == POLICIES, {r["policy"] for r in rows}
    assert {r["pattern"] for r in rows} - {"any"} == PATTERNS
    for r in rows:
        for field in ("density", "seconds", "attention_seconds", "dense_seconds", "speedup", "gflops", "ratio"):
            value = float(r[field])
            assert math.isfinite(value) and value > 0, f"{path}: {r['policy']} {field} = {value}"
        assert 0 < float(r["density"]) <= 1
        assert 0 <= float(r["rel_l2"]) and -1 <= float(r["min_cosine"]) <= 1 + 1e-9
        assert r["recall"] == "" or 0 <= float(r["recall"]) <= 1
        if r["policy"] == "dense":
            assert abs(float(r["speedup"]) - 1) < 1e-9 and float(r["density"]) == 1
    print(f"{path}: {len(rows)} results OK")


if __name__ == "__main__":
    main(sys.argv[1])
