"""Shared by the perf/plot*.py scripts: the PNG goes beside its CSV."""
import csv
import os
import sys


def save_figure(fig, csv_path):
    fig.tight_layout()
    out = os.path.splitext(csv_path)[0] + ".png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


def run(main, doc):
    if len(sys.argv) != 2:
        sys.exit(doc)
    main(sys.argv[1])


def read_rows(csv_path):
    """The CSV's rows as dicts; exits with a message when it has none."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{csv_path}: no rows")
    return rows
