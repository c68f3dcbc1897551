#!/usr/bin/python3
"""Draws `landmark bench decode` results: query latency against context
length (log-log), the engine vs dense exact decode, with the bandwidth limit.

    /usr/bin/python3 perf/plot_decode.py perf/results/decode.csv   # -> decode.png beside it
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from plotting import run, save_figure  # noqa: E402


def main(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    scaling = [r for r in rows if r["kv_heads"] == "1"]
    headline = [r for r in rows if r["kv_heads"] != "1"]
    if not scaling:
        sys.exit(f"{path}: no one-kv-head rows")
    n = [int(r["tokens"]) for r in scaling]
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.loglog(n, [float(r["warm_ms"]) for r in scaling], "o-", label="landmark engine, warm")
    cold = [(int(r["tokens"]), float(r["cold_ms"])) for r in scaling if float(r["cold_ms"]) > 0]
    if cold:
        ax.loglog(*zip(*cold), "s--", label="landmark engine, cold cache")
    ax.loglog(n, [float(r["limit_ms"]) for r in scaling], ":", color="gray", label="bytes read ÷ bandwidth")
    ax.loglog(n, [float(r["dense_ms"]) for r in scaling], "^-", color="tab:red", label="dense exact decode")
    for r in headline:
        ax.plot([int(r["tokens"])], [float(r["warm_ms"])], "*", markersize=14, color="tab:green",
                label=f"headline (Hkv {r['kv_heads']}, G {r['group']}), warm")
        ax.plot([int(r["tokens"])], [float(r["dense_ms"])], "*", markersize=14, color="tab:purple",
                label="headline, dense")
    ax.set_xlabel("context tokens (one kv head, G 4, d 128, f16, S 64, k 64)")
    ax.set_ylabel("ms per decode query")
    ax.set_title(f"landmark decode on {rows[0]['cpu']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


if __name__ == "__main__":
    run(main, __doc__)
