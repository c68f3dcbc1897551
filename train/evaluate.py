"""Exact-answer accuracy vs context length.

A trial is a fresh haystack of L bytes (filler from the held-out 10% of the
corpus, 4 needles outside the last 4 windows, the question at the end). The
model reads it and the answer bytes; the answer is exact when the argmax at
each of the 6 answer positions ("NNNNN\\n") is right, which is the same
as greedy decoding producing exactly the answer and then the stop byte.
The upper layers run only on the tail (the last len(upper)*W + 128 positions),
enough for the answer positions to be exact.

    python3 train/evaluate.py WEIGHTS.safetensors [--lengths 4096,...] [--trials 64]
"""
import argparse
import json
import time

import numpy as np
import torch

from data import ANSWER_LEN, Corpus, make_sample

LENGTHS = [4096, 16384, 65536, 262144, 1048576]


def tail_len(cfg):
    return len(cfg.upper) * cfg.window + 128


@torch.no_grad()
def evaluate(model, corpus, lengths=LENGTHS, trials=64, seed=1, device="cuda", log=print):
    cfg = model.cfg
    model.eval()
    results = {}
    n_ans = ANSWER_LEN + 1  # digits and '\n'
    for L in lengths:
        t0 = time.time()
        rng = np.random.default_rng([seed, L])
        samples = [make_sample(corpus.test, L + n_ans, rng, window=cfg.window) for _ in range(trials)]
        batch = max(1, min(8, 262144 // L))
        correct, failures = 0, []
        for b0 in range(0, trials, batch):
            group = samples[b0:b0 + batch]
            ids = torch.from_numpy(np.stack([s[0] for s in group]).astype(np.int64)).to(device)
            with torch.autocast(device_type=ids.device.type, dtype=torch.bfloat16, enabled=ids.is_cuda):
                logits = model.forward_tail(ids[:, :-1], tail_len(cfg))
            pred = logits[:, -n_ans:].argmax(-1)
            ok = (pred == ids[:, -n_ans:]).all(-1)
            correct += int(ok.sum())
            for (seq, answer, starts), good, p in zip(group, ok.tolist(), pred.tolist()):
                if not good and len(failures) < 8:
                    failures.append({"answer": answer, "predicted": bytes(p).decode("ascii", "replace"),
                                     "needle_starts": starts})
        dt = time.time() - t0
        results[str(L)] = {"trials": trials, "correct": correct, "accuracy": correct / trials,
                           "seconds": round(dt, 2), "failures": failures}
        log(f"eval L={L}: {correct}/{trials} = {correct / trials:.3f} ({dt:.1f} s)")
    model.train()
    return results


def main():
    from weights import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_model(args.weights, device)
    res = evaluate(model, Corpus(), [int(x) for x in args.lengths.split(",")], args.trials, args.seed, device)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"weights": args.weights, "config": json.loads(model.cfg.to_json()), "results": res}, f, indent=1)


if __name__ == "__main__":
    main()
