#!/usr/bin/python3
"""Checks a `landmark bench kernels` CSV: every kernel present, every figure
positive and finite, ratios consistent with measured / limit."""
import csv
import math
import sys

EXPECTED = {"batched-dot", "batched-dot-heads", "attend-block", "merge-lse", "dense-decode", "causal-prefill"}


def main(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    kernels = {r["kernel"] for r in rows}
    missing = EXPECTED - kernels
    assert not missing, f"{path}: kernels missing: {missing}"
    for r in rows:
        for field in ("seconds", "measured", "limit", "ratio"):
            value = float(r[field])
            assert math.isfinite(value) and value > 0, f"{path}: {r['kernel']} {field} = {value}"
        ratio = float(r["measured"]) / float(r["limit"])
        assert abs(ratio - float(r["ratio"])) <= 1e-3 * ratio + 1e-4, f"{path}: ratio mismatch in {r}"
        assert r["unit"] in ("GB/s", "GFLOP/s"), r["unit"]
    print(f"{path}: {len(rows)} results OK")


if __name__ == "__main__":
    main(sys.argv[1])
