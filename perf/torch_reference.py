#!/usr/bin/python3
"""The PyTorch CPU reference (train/model.py) on the forward pass that
`landmark ingest` computes: the lower blocks and the chunk memory over a
haystack of N bytes, f32, on every CPU thread; and the full forward with the
upper blocks on the tail (train/evaluate.py's answer pass). For the README's
comparison with `landmark bench model` (needs /usr/bin/python3 with torch).

    /usr/bin/python3 perf/torch_reference.py WEIGHTS.safetensors [--bytes 65536] [--repeats 3]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from data import Corpus, make_sample  # noqa: E402
from evaluate import tail_len  # noqa: E402
from weights import load_model  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights")
    p.add_argument("--bytes", type=int, default=65536)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(os.cpu_count())
    model = load_model(a.weights).eval()
    cfg = model.cfg
    seq, _, _ = make_sample(Corpus().test, a.bytes, np.random.default_rng(1), window=cfg.window)
    ids = torch.from_numpy(seq.astype(np.int64))[None]
    flops = a.bytes * (cfg.lower * (2 * (4 * cfg.d_model ** 2 + 2 * cfg.d_model * cfg.mlp_hidden)
                                    + 4 * cfg.window * cfg.d_model) + 4 * cfg.d_model ** 2)
    with torch.no_grad():
        for name, run in (("lower blocks + chunk memory (ingest)", lambda: model.memory(model.lower_forward(ids))),
                          ("forward_tail (ingest + answer pass)", lambda: model.forward_tail(ids, tail_len(cfg)))):
            run()
            best = min(timed(run) for _ in range(a.repeats))
            print(f"torch {torch.__version__} {torch.get_num_threads()} threads, {a.bytes} bytes: {name}: "
                  f"{best:.2f} s, {a.bytes / best:.0f} tokens/s"
                  + (f", {flops / best / 1e9:.1f} GFLOP/s" if "ingest)" in name else ""))


def timed(run):
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
