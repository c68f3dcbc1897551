#!/usr/bin/python3
"""Draws `landmark bench text` results: landmark beside SQLite FTS5 on the
same chunks and questions — top-1 accuracy, ingest time, mean query time and
store bytes per token.

    /usr/bin/python3 perf/plot_text.py perf/results/text.csv   # -> text.png beside it
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from plotting import read_rows, run, save_figure  # noqa: E402


def main(path):
    rows = read_rows(path)
    names = [r["system"] for r in rows]
    panels = [
        ("top-1 accuracy (%)", [100 * int(r["top1"]) / max(1, int(r["questions"])) for r in rows]),
        ("ingest (s)", [float(r["ingest_s"]) for r in rows]),
        ("query, mean (ms)", [float(r["query_ms"]) for r in rows]),
        ("store bytes per token", [float(r["bytes_per_token"]) for r in rows]),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3.6))
    for ax, (title, values) in zip(axes, panels):
        bars = ax.bar(names, values, color=["tab:blue", "tab:gray"][: len(names)])
        ax.bar_label(bars, fmt="%.3g", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
    r0 = rows[0]
    fig.suptitle(f"text retrieval, {int(r0['words']):,} words of Debian text ({int(r0['files'])} files), "
                 f"{int(r0['questions'])} questions", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


if __name__ == "__main__":
    run(main, __doc__)
