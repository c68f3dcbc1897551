#!/usr/bin/python3
"""Draws `landmark bench sharded` rows: sharded-query latency and one
process's against ranks, with the steps of the sharded query.

    /usr/bin/python3 perf/plot_shards.py perf/results/shards.csv   # -> shards.png beside it
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
    if not rows:
        sys.exit(f"{path}: no rows")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for heads in dict.fromkeys(r["kv_heads"] for r in rows):
        points = [r for r in rows if r["kv_heads"] == heads]
        ranks = [int(r["ranks"]) for r in points]
        ax.semilogy(ranks, [float(r["sharded_ms"]) for r in points], "o-", label=f"sharded, {heads} kv head(s)")
        ax.semilogy(ranks, [float(r["single_ms"]) for r in points], "s:", label=f"one process, {heads} kv head(s)")
    ax.set_xlabel("ranks (one host)")
    ax.set_ylabel("ms per query")
    ax.set_xticks(sorted({int(r["ranks"]) for r in rows}))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"sharded query on {rows[0]['cpu']}", fontsize=10)
    save_figure(fig, path)


if __name__ == "__main__":
    run(main, __doc__)
