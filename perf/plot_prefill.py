#!/usr/bin/python3
"""Draws a `landmark bench prefill` CSV: speedup over dense vs length per
policy (the mixture input; density beside each point), and error vs density.

    /usr/bin/python3 perf/plot_prefill.py perf/results/prefill.csv   # -> prefill.png beside it
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from plotting import run, save_figure  # noqa: E402

COLORS = {"flashprefill": "tab:blue", "flashprefill:delta=5": "tab:purple", "flashprefill-alpha": "tab:cyan",
          "dma": "tab:red", "dma-qk": "tab:orange", "dense": "black"}
MARKERS = {"random": "x", "sink": "v", "local": "s", "slash": "^", "mixture": "o"}


def spread(values, min_ratio):
    """`values` (positive, on a log axis) moved apart as little as needed for
    consecutive ones, in order, to be at least `min_ratio` apart: label
    positions that do not overlap. Returns them in the input's order."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed = [0.0] * len(values)
    previous = None
    for i in order:
        placed[i] = values[i] if previous is None else max(values[i], previous * min_ratio)
        previous = placed[i]
    return placed


def figure(rows):
    sparse = [r for r in rows if r["policy"] != "dense"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    labels = []  # (length, speedup, density, color) of the mixture lines, placed after

    for policy in sorted({r["policy"] for r in sparse}):
        for pattern in sorted({r["pattern"] for r in sparse}):
            points = sorted((int(r["tokens"]), float(r["speedup"]), float(r["density"]))
                            for r in sparse if r["policy"] == policy and r["pattern"] == pattern)
            if not points:
                continue
            x, y, density = zip(*points)
            main_line = pattern == "mixture"
            left.plot(x, y, marker=MARKERS.get(pattern, "o"), color=COLORS.get(policy, "gray"),
                      linewidth=2 if main_line else 0.6, alpha=1 if main_line else 0.35,
                      label=policy if main_line else None)
            if main_line:
                labels += [(xi, yi, di, COLORS.get(policy, "gray")) for xi, yi, di in zip(x, y, density)]
    # Density labels beside their points, spread apart per length (a label
    # is ~10 points tall: a ratio of 1.25 on this axis), with a leader line.
    for length in sorted({label[0] for label in labels}):
        here = [label for label in labels if label[0] == length]
        for (xi, yi, di, color), yl in zip(here, spread([label[1] for label in here], 1.25)):
            left.annotate(f"{100 * di:.1f}%", (xi, yi), xytext=(xi * 1.12, yl), fontsize=7, color=color,
                          va="center", arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.5,
                                                   "shrinkA": 0, "shrinkB": 2} if yl != yi else None)
    left.axhline(1.0, color="gray", linestyle="--", linewidth=1)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xlabel("sequence length L (tokens)")
    left.set_ylabel("speedup over the dense kernel (mask + attention)")
    left.set_title("speedup vs length (thick: mixture input, labels: density; thin: other inputs)", fontsize=9)
    left.legend(fontsize=8)

    for r in sparse:
        error = max(float(r["rel_l2"]), 1e-7)
        right.scatter(float(r["density"]), error, color=COLORS.get(r["policy"], "gray"),
                      marker=MARKERS.get(r["pattern"], "o"), s=12 + 6 * (int(r["tokens"]).bit_length() - 9))
    for policy, color in COLORS.items():
        if any(r["policy"] == policy for r in sparse):
            right.scatter([], [], color=color, label=policy)
    for pattern, marker in MARKERS.items():
        right.scatter([], [], color="gray", marker=marker, label=pattern)
    right.axhline(2e-2, color="red", linestyle=":", linewidth=1)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("mask density (selected / causal blocks)")
    right.set_ylabel("relative L2 error vs dense (floored at 1e-7)")
    right.set_title("error vs density (marker size: length; red: 2e-2)", fontsize=9)
    right.legend(fontsize=7, ncol=2)

    first = rows[0]
    fig.suptitle(f"landmark sparse prefill on {first['cpu']} ({first['isa']}, {first['threads']} threads), "
                 f"{first['shape'].split(' ', 1)[1]}", fontsize=10)
    return fig


def main(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{path}: no results")
    save_figure(figure(rows), path)


if __name__ == "__main__":
    run(main, __doc__)
