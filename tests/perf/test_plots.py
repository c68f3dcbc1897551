"""Issue 16 item 9: the benchmark plots (perf/plot_*.py) drawn from the
committed results: model.png's title gives the real range, prefill.png's
density labels do not overlap, cross_decoder.png's step panels have
several readable y labels."""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.text  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "perf"))

import plot_cross_decoder  # noqa: E402
import plot_model  # noqa: E402
import plot_prefill  # noqa: E402


def rows(name):
    with open(os.path.join(ROOT, "perf", "results", name), newline="") as f:
        return list(csv.DictReader(f))


def test_ux_09_model_title_uses_the_real_range():
    data = rows("model.csv")
    low = min(float(r["lower_ratio"]) for r in data)
    high = max(float(r["lower_ratio"]) for r in data)
    title = plot_model.figure(data)._suptitle.get_text()
    assert f"{low:.2f}" in title and f"{high:.2f}" in title, title
    one = plot_model.figure(data[:1])._suptitle.get_text()
    assert f"{float(data[0]['lower_ratio']):.2f} of the" in one, one


def test_ux_09_prefill_labels_do_not_overlap():
    fig = plot_prefill.figure(rows("prefill.csv"))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    left = fig.axes[0]
    # The texts' own boxes (an annotation's extent also holds its leader line).
    boxes = [matplotlib.text.Text.get_window_extent(t, renderer) for t in left.texts if t.get_text().endswith("%")]
    assert len(boxes) >= 8
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)


def test_ux_09_spread_keeps_order_and_gap():
    placed = plot_prefill.spread([10.0, 10.1, 50.0, 10.2], 1.25)
    assert placed[0] == 10.0 and placed[2] == 50.0
    ordered = sorted(placed)
    assert all(b / a >= 1.25 - 1e-9 for a, b in zip(ordered, ordered[1:]))


def test_ux_09_cross_decoder_step_axes_are_readable():
    fig = plot_cross_decoder.figure(rows("cross_decoder.csv"))
    fig.canvas.draw()
    for ax in fig.axes[:-1]:  # the step-time panels (batch 1, batch 8, ...)
        low, high = ax.get_ylim()
        labels = [t for t in ax.yaxis.get_ticklabels() if t.get_text() and low <= t.get_position()[1] <= high]
        assert len(labels) >= 2, [t.get_text() for t in labels]
        assert all("10^" not in t.get_text() and "times" not in t.get_text() for t in labels)
