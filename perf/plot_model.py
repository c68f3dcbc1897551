#!/usr/bin/python3
"""Draws `landmark bench model` results: exact-answer accuracy and answer
latency (warm, first pass, bytes read ÷ bandwidth) against context length.

    /usr/bin/python3 perf/plot_model.py perf/results/model.csv   # -> model.png beside it
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from plotting import read_rows, run, save_figure  # noqa: E402


def ratio_range(rows, key):
    """"0.45-0.67" (the lowest to the highest of the rows), or one value."""
    values = [float(r[key]) for r in rows]
    low, high = min(values), max(values)
    return f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}-{high:.2f}"


def figure(rows):
    n = [int(r["tokens"]) for r in rows]
    fig, (acc, lat) = plt.subplots(1, 2, figsize=(11, 4.5))
    acc.semilogx(n, [100 * float(r["accuracy"]) for r in rows], "o-", label="exact pass key")
    if all(r.get("values") for r in rows):  # CSVs from before the column have none
        acc.semilogx(n, [100 * int(r["values_found"]) / max(1, int(r["values"])) for r in rows], "^-.",
                     label="pass keys found, any order (RULER's string_match_all)")
    acc.semilogx(n, [100 * int(r["retrieved"]) / max(1, int(r["questions"])) for r in rows], "s--",
                 label="needle chunk chosen (any HSA block or head)")
    acc.set_ylim(0, 105)
    acc.set_xlabel("context tokens (bytes)")
    acc.set_ylabel("% of questions")
    acc.grid(True, which="both", alpha=0.3)
    acc.legend(fontsize=8)
    lat.loglog(n, [float(r["warm_median_ms"]) for r in rows], "o-", label="answer, warm (median)")
    lat.loglog(n, [float(r["first_median_ms"]) for r in rows], "s--", label="answer, first pass (median)")
    lat.loglog(n, [float(r["limit_ms"]) for r in rows], ":", color="gray", label="bytes read ÷ bandwidth")
    lat.set_xlabel("context tokens (bytes)")
    lat.set_ylabel("ms per answer (question + greedy bytes)")
    lat.grid(True, which="both", alpha=0.3)
    lat.legend(fontsize=8)
    # The range over every size, whichever row holds the lowest.
    fig.suptitle(f"landmark byte model on {rows[0]['cpu']}: ingest at {ratio_range(rows, 'lower_ratio')} of the "
                 f"FMA peak", fontsize=10)
    return fig


def main(path):
    save_figure(figure(read_rows(path)), path)


if __name__ == "__main__":
    run(main, __doc__)
