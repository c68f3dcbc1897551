#!/usr/bin/python3
"""Checks a `landmark bench model` CSV: counts consistent, every time and
rate positive and finite, ratios consistent with their limits."""
import csv
import math
import sys


def main(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows, f"{path}: no rows"
    for r in rows:
        q, correct = int(r["questions"]), int(r["correct"])
        assert q > 0 and 0 <= correct <= q and 0 <= int(r["retrieved"]) <= q, r
        assert abs(float(r["accuracy"]) - correct / q) < 1e-9, r
        for field in ("ingest_s", "ingest_tokens_per_s", "lower_gflops", "lower_ratio", "warm_median_ms",
                      "first_median_ms", "bytes_per_answer", "limit_ms", "store_bytes", "cpu_s", "cpu_gflops", "cpu_ratio"):
            value = float(r[field])
            assert math.isfinite(value) and value > 0, f"{path}: {field} = {value}"
        ratio = float(r["lower_gflops"]) / float(r["fma_gflops_all"])
        assert abs(ratio - float(r["lower_ratio"])) <= 1e-3 * ratio, r
        cpu = float(r["cpu_gflops"]) / float(r["fma_gflops_one"])
        assert abs(cpu - float(r["cpu_ratio"])) <= 1e-3 * cpu, r
        limit = float(r["bytes_per_answer"]) / (float(r["read_gbps_all"]) * 1e9) * 1e3
        assert abs(limit - float(r["limit_ms"])) <= 1e-3 * limit, r
    print(f"{path}: {len(rows)} sizes OK")


if __name__ == "__main__":
    main(sys.argv[1])
