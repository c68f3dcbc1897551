"""PyTorch answers to a C++ haystack (heldout_haystack.py's PREFIX.txt/.json),
with where each answer's retrieval went.

    python3 train/haystack_eval.py WEIGHTS PREFIX [--top-k 4,8,16] [--batch 10]
The haystack's chunk memory is computed once (lower layers segment by
segment); every question then continues the haystack as `landmark ask` does:
the lower layers over the haystack's last windows plus the question and its
answer, the upper layers over the tail. Exact = the argmax at every answer
byte and the stop byte is right (greedy decoding's answer). Per question it
also reports whether the chunks holding the needle's digits were among the
chunks the first HSA block selected at the first answer byte (any head).
Runs on the CPU (a 1M haystack: ~2 minutes) or a GPU.
"""
import argparse
import json
import re

import numpy as np
import torch

from weights import load_model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("prefix")
    ap.add_argument("--top-k", default="")
    ap.add_argument("--batch", type=int, default=10)
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_grad_enabled(False)
    model = load_model(args.weights, device).eval()
    cfg = model.cfg
    text = open(args.prefix + ".txt", "rb").read()
    qa = json.load(open(args.prefix + ".json"))
    T = len(text)
    assert T % cfg.chunk == 0, "the haystack must end on a chunk boundary"
    hay = torch.from_numpy(np.frombuffer(text, dtype=np.uint8).astype(np.int64)).to(device)[None]
    mem, _ = model.segmented_memory(hay, 1 << 18)
    # where each key's digits sit (chunks)
    where = {}
    for m in re.finditer(rb"vault (\d{3}) is (\d{5})\.", text):
        where.setdefault(m.group(2).decode(), []).append((m.start(2) // cfg.chunk, (m.end(2) - 1) // cfg.chunk))
    ctx = (cfg.lower + len(cfg.upper)) * cfg.window
    up = len(cfg.upper) * cfg.window + 64
    ks = [int(k) for k in args.top_k.split(",") if k] or [cfg.top_k]
    for k in ks:
        cfg.top_k = k
        good, found = 0, 0
        misses = []
        for b0 in range(0, len(qa), args.batch):
            group = qa[b0:b0 + args.batch]
            qs = []
            for q, a in group:
                multi = q.startswith("pass keys")
                vault = q.split()[-1]
                qs.append((f" Q: pass key{'s' if multi else ''} for vault {vault}? A: " + a + "\n").encode())
            n = max(map(len, qs))
            assert all(len(s) == n for s in qs)
            tail = torch.tensor([list(text[-ctx:] + s) for s in qs], device=device)
            h = model.lower_forward(tail)[:, -(up + n):]
            pos = torch.arange(T + n - (up + n), T + n, device=device)
            trace = []
            mem_b = tuple(t.expand(len(group), *t.shape[1:]) for t in mem)  # one memory for every question
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
                logits = model.upper_forward(h, mem_b, pos, sparse=True, trace=trace)
            pred = logits.argmax(-1)
            for i, (q, a) in enumerate(group):
                alen = len(a) + 1
                p = pred[i, -alen - 1:-1].tolist()
                t = list((a + "\n").encode())
                ok = p == t
                good += ok
                sel = set(trace[0][i, :, -alen - 1].flatten().tolist())  # first hsa block, first answer byte
                need = [c for key in a.split() for c in where.get(key, [])]
                hit = all(c0 in sel or c1 in sel for c0, c1 in need)
                found += hit
                if not ok and len(misses) < 12:
                    misses.append((a, bytes(p).decode("ascii", "replace").strip(), "retrieved" if hit else "not retrieved",
                                   need))
        print(f"{args.weights} {args.prefix} top_k {k}: {good}/{len(qa)} exact, needle chunk selected {found}/{len(qa)}")
        for m in misses:
            print("   miss", m)


if __name__ == "__main__":
    main()
