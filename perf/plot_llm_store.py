#!/usr/bin/python3
"""Draws `landmark bench llm` store rows: time per generated token over a
store of every layer's K/V, retrieval attention against dense exact
attention, each beside its bandwidth limit.

    /usr/bin/python3 perf/plot_llm_store.py perf/results/llm-store.csv   # -> llm-store.png beside it
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from plotting import run, save_figure  # noqa: E402


def tokens(n):
    n = int(n)
    return f"{n >> 20}M" if n >= 1 << 20 else f"{n >> 10}K"


def main(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{path}: no rows")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    labels = [f"{r['model']}\n{tokens(r['store_tokens'])} tokens" for r in rows]
    x = range(len(rows))
    width = 0.38
    for offset, key, name in ((-width / 2, "sparse", "retrieval (top-k + window)"), (width / 2, "dense", "dense exact")):
        xs = [i + offset for i in x]
        bars = ax.bar(xs, [float(r[f"{key}_ms"]) for r in rows], width, label=name)
        ax.scatter(xs, [float(r[f"{key}_limit_ms"]) for r in rows], marker="_", s=600, color="black", zorder=3)
        for bar, r in zip(bars, rows):
            ax.annotate(f"{float(r[f'{key}_ms']):.1f} ms", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels)
    ax.set_ylabel("ms per generated token (median)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, title="black marks: bytes read ÷ bandwidth", title_fontsize=8)
    speedups = ", ".join(f"{r['model']} {float(r['speedup']):.0f}×" for r in rows)
    ax.set_title(f"decode over a store on {rows[0]['cpu']} ({rows[0]['threads']} threads): {speedups}", fontsize=9)
    save_figure(fig, path)


if __name__ == "__main__":
    run(main, __doc__)
