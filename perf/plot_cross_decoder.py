#!/usr/bin/python3
"""Draws `landmark bench cross-decoder` results: decode step time against
context length for the all-attention and the 50% GMU stacks (one panel per
batch), with the bandwidth limit, and the bytes each layer kind reads.

    /usr/bin/python3 perf/plot_cross_decoder.py perf/results/cross_decoder.csv   # -> cross_decoder.png
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402
from plotting import read_rows, run, save_figure  # noqa: E402


def plain_log_axis(axis):
    """Ticks at 1, 2, 5 × 10^k labelled as plain numbers: a log axis spanning
    less than a decade still shows several readable values."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def figure(rows):
    batches = sorted({int(r["batch"]) for r in rows})
    fig, axes = plt.subplots(1, len(batches) + 1, figsize=(5 * (len(batches) + 1), 4.5))
    for ax, batch in zip(axes, batches):
        for stack, style in (("all-hsa", "o-"), ("gmu-alternate", "s-")):
            pts = [r for r in rows if r["stack"] == stack and int(r["batch"]) == batch]
            n = [int(r["tokens"]) for r in pts]
            ax.loglog(n, [float(r["step_ms"]) for r in pts], style, label=f"{stack}, measured")
            ax.loglog(n, [float(r["limit_ms"]) for r in pts], ":", color=ax.lines[-1].get_color(),
                      label=f"{stack}, bytes ÷ bandwidth")
        ax.set_xlabel("context tokens")
        ax.set_ylabel("ms per decode step")
        plain_log_axis(ax.yaxis)
        ax.set_title(f"batch {batch}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    ax = axes[-1]
    pts = [r for r in rows if r["stack"] == "gmu-alternate" and int(r["batch"]) == batches[0]]
    n = [int(r["tokens"]) for r in pts]
    ax.loglog(n, [float(r["hsa_layer_io"]) for r in pts], "o-", label="hsa layer: landmarks + K/V")
    ax.loglog(n, [max(float(r["gmu_layer_io"]), 1.0) for r in pts], "s-", label="GMU layer: memory m")
    ax.set_xlabel("context tokens")
    ax.set_ylabel("bytes read per layer per token")
    ax.set_title("I/O per layer", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.suptitle(f"cross-decoder {rows[0]['layers']} × {rows[0]['d_model']} on {rows[0]['cpu']}", fontsize=10)
    return fig


def main(path):
    save_figure(figure(read_rows(path)), path)


if __name__ == "__main__":
    run(main, __doc__)
