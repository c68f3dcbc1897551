#!/usr/bin/python3
"""Draws a landmark benchmark CSV: each result's ratio to its machine limit.

    /usr/bin/python3 perf/plot.py perf/results/kernels.csv   # -> kernels.png beside it
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
        sys.exit(f"{path}: no results")
    labels = [f"{r['kernel']} {r['dtype']}\n{r['shape']}" for r in rows]
    ratios = [float(r["ratio"]) for r in rows]
    colors = ["tab:blue" if "GB/s" in r["unit"] else "tab:orange" for r in rows]

    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.5))
    y = range(len(rows))
    ax.barh(y, ratios, color=colors)
    for i, r in enumerate(rows):
        ax.text(ratios[i] + 0.01, i, f"{float(r['measured']):.1f} {r['unit']}  ({ratios[i]:.2f})",
                va="center", fontsize=8)
        if r["target"]:
            target = float(r["target"].lstrip(">= "))
            ax.plot([target, target], [i - 0.4, i + 0.4], color="red", linewidth=2)
    ax.axvline(1.0, color="gray", linestyle="--", linewidth=1)
    ax.set_yticks(list(y))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, max(1.15, max(ratios) + 0.35))
    ax.set_xlabel("measured / machine limit  (blue: bandwidth-bound, orange: FLOP-bound; red: target)")
    first = rows[0]
    ax.set_title(f"landmark kernels on {first['cpu']} ({first['isa']}, {first['threads']} threads)",
                 fontsize=10)
    save_figure(fig, path)


if __name__ == "__main__":
    run(main, __doc__)
