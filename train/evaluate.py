"""Exact-answer accuracy vs context length, per task, on held-out text.

A trial is a fresh haystack of L bytes (filler from data/heldout.txt.gz:
whole source files training never saw; needles outside the last 4 windows;
the question and its answer at the end). Tasks are data.TASKS: single
(4 needles; --needles N for more), multikey (8-16 needles, distractor vaults sharing two digits),
multivalue (2-3 values for the asked vault, all to be given, ascending).
The model reads the haystack and the answer bytes; the answer is exact when
the argmax at every answer position (the values and the stop byte '\\n') is
right, which is the same as greedy decoding producing exactly the answer and
then the stop byte. The upper layers run only on the tail (the last
len(upper)*W + 128 positions), enough for the answer positions to be exact.

    python3 train/evaluate.py WEIGHTS.safetensors [--lengths 4096,...] [--trials 64] [--tasks single,...]
"""
import argparse
import json
import time

import numpy as np
import torch

from data import TASKS, Corpus, make_sample

LENGTHS = [4096, 16384, 65536, 262144, 1048576]


def tail_len(cfg):
    return len(cfg.upper) * cfg.window + 128


@torch.no_grad()
def evaluate(model, corpus, lengths=LENGTHS, trials=64, seed=1, device="cuda", log=print, tasks=TASKS[:3],
             needles=4):
    cfg = model.cfg
    model.eval()
    results = {}
    for task in tasks:
        results[task] = {}
        for L in lengths:
            t0 = time.time()
            rng = np.random.default_rng([seed, L, TASKS.index(task)])
            samples = [make_sample(corpus.test, L, rng, needles, window=cfg.window, task=task) for _ in range(trials)]
            batch = max(1, min(8, 262144 // L))
            correct, failures = 0, []
            for b0 in range(0, trials, batch):
                group = samples[b0:b0 + batch]
                ids = torch.from_numpy(np.stack([s[0] for s in group]).astype(np.int64)).to(device)
                with torch.autocast(device_type=ids.device.type, dtype=torch.bfloat16, enabled=ids.is_cuda):
                    logits = model.forward_tail(ids[:, :-1], tail_len(cfg))
                n = max(len(s[1]) for s in group) + 1
                pred, tgt = logits[:, -n:].argmax(-1).tolist(), ids[:, -n:].tolist()
                for (seq, answer, starts), p, t in zip(group, pred, tgt):
                    k = len(answer) + 1
                    good = p[-k:] == t[-k:]
                    correct += good
                    if not good and len(failures) < 8:
                        failures.append({"answer": answer, "predicted": bytes(p[-k:]).decode("ascii", "replace"),
                                         "needle_starts": starts})
            dt = time.time() - t0
            results[task][str(L)] = {"trials": trials, "correct": correct, "accuracy": correct / trials,
                                     "seconds": round(dt, 2), "failures": failures}
            log(f"eval {task} L={L}: {correct}/{trials} = {correct / trials:.3f} ({dt:.1f} s)")
    model.train()
    return results


def main():
    from weights import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--tasks", default=",".join(TASKS[:3]))
    ap.add_argument("--needles", type=int, default=4, help="needles of a single-task haystack (C++ demo: 16-100)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_model(args.weights, device)
    res = evaluate(model, Corpus(), [int(x) for x in args.lengths.split(",")], args.trials, args.seed, device,
                   tasks=args.tasks.split(","), needles=args.needles)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"weights": args.weights, "config": json.loads(model.cfg.to_json()), "results": res}, f, indent=1)


if __name__ == "__main__":
    main()
