#!/usr/bin/python3
"""Draws `landmark bench decode --thread-sweep/--streams/--gpu-batches`:
the ratio of each point to its bandwidth bound (bytes read per query ÷
bandwidth) against threads, concurrent streams and GPU batch size.

    /usr/bin/python3 perf/plot_scaling.py perf/results/decode-scaling.csv   # -> decode-scaling.png beside it
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from plotting import run, save_figure  # noqa: E402

PANELS = [("threads", "threads", "threads (one query at a time)"),
          ("streams", "streams", "concurrent query streams (all threads)"),
          ("gpu-batch", "streams", "GPU batch (K/V resident)")]


def main(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    kinds = [p for p in PANELS if any(r["kind"] == p[0] for r in rows)]
    if not kinds:
        sys.exit(f"{path}: no rows")
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4.5), squeeze=False)
    for ax, (kind, column, label) in zip(axes[0], kinds):
        for config in dict.fromkeys(r["config"] for r in rows if r["kind"] == kind):
            points = [r for r in rows if r["kind"] == kind and r["config"] == config]
            x = [int(r[column]) for r in points]
            ax.semilogx(x, [float(r["ratio"]) for r in points], "o-", base=2, label=config)
        ax.axhline(1.0, color="gray", linestyle=":", label="bandwidth bound")
        ax.set_xlabel(label)
        ax.set_ylabel("bound ÷ measured time per query")
        ax.set_ylim(bottom=0)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"landmark decode scaling on {rows[0]['machine']}", fontsize=10)
    save_figure(fig, path)


if __name__ == "__main__":
    run(main, __doc__)
