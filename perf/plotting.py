"""Shared by the perf/plot*.py scripts: the PNG goes beside its CSV."""
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
