"""Train the byte model on the pass-key task (docs/model.md).

One phase = one AdamW run with linear warm-up and cosine decay to
min_lr_frac * lr. A phase is resumable: its state (weights, optimizer, step,
total steps) is saved to OUT/ckpt.pt every --save-every-s seconds, before
--minutes run out, and at the end; rerunning the same command continues it.
A new phase starts from the weights of the last (--init WEIGHTS).

    python3 train/train.py --variant gmu --out runs/gmu --steps 3000
    python3 train/train.py --variant gmu --out runs/gmu2 --init runs/gmu/f32.safetensors --lr 5e-4 --warmup 50 --steps 2000
--steps 0 picks the number of steps that fits --minutes, from the speed measured
over steps 30-80 (the chosen number is logged and saved; rerun with it to
reproduce exactly).
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import data
from data import TASKS, Corpus, train_batch
from evaluate import evaluate
from model import UPPER_KINDS, ByteModel, Config
from model import tensor_names
from weights import export, load_model, load_tensors


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=sorted(UPPER_KINDS), default="gmu")
    ap.add_argument("--config", default=None, help="JSON overrides of the model config (tests)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--init", default=None, help="weights (.safetensors) to start this phase from")
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=8.0, help="wall budget of this process")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--answer-stop", action="store_true",
                    help="the answer loss covers the stop byte too (phase 3: fixes '44100' -> '441000')")
    ap.add_argument("--hard-keys", type=float, default=0.0,
                    help="fraction of samples whose other vaults include ones confusable with the asked one (data.HARD)")
    ap.add_argument("--mix", default="1,0,0",
                    help="fractions of the tasks single,multikey,multivalue,dense,densemv in training (data.TASKS)")
    ap.add_argument("--graft", default=None,
                    help="gmu variant: start from a pure-HSA model's weights (its upper hsa blocks become "
                         "upper.0 and upper.2; the gmu blocks start as identities)")
    ap.add_argument("--top-k", type=int, default=0, help="train with this top_k (0: the config's; exported with it)")
    ap.add_argument("--fusion", choices=["hsa", "joint"], default=None,
                    help="train with this fusion (default: the config's; exported with it). joint gives the "
                         "selection no gradient: start from weights whose selection hsa trained")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--save-every-s", type=float, default=150)
    ap.add_argument("--eval-lengths", default="4096,16384,65536")
    ap.add_argument("--eval-trials", type=int, default=32)
    ap.add_argument("--eval-tasks", default="single,multikey,multivalue")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return ap.parse_args()


def lr_at(step, total, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, total - args.warmup))
    return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def make_optimizer(model, args):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embed")]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and not n.startswith("embed"))]
    groups = [{"params": decay, "weight_decay": 0.01}, {"params": other, "weight_decay": 0.0}]
    kw = {"fused": True} if args.device == "cuda" else {}
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), **kw)


def losses(model, x, alen, stop=False):
    """alen [B]: answer bytes of each sample, its stop byte included; the
    answer is the last alen bytes of x."""
    inp, tgt = x[:, :-1], x[:, 1:]
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=x.is_cuda):
        logits = model(inp)
    logits = logits.float()
    lm = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))
    # the answer bytes (with stop: and the final '\n')
    n = int(alen.max())
    a_logits, a_tgt = logits[:, -n:], tgt[:, -n:]
    back = torch.arange(n, 0, -1, device=x.device)[None, :]  # distance from the end: n .. 1
    mask = back <= alen[:, None]
    if not stop:
        mask &= back > 1
    per = F.cross_entropy(a_logits.reshape(-1, a_logits.shape[-1]), a_tgt.reshape(-1), reduction="none")
    ans = (per.view_as(mask) * mask).sum() / mask.sum()
    right = (a_logits.argmax(-1) == a_tgt) | ~mask
    exact = right.all(-1).float().mean()
    return lm, ans, exact


def graft(model, path):
    """Load a pure-HSA model's weights into the gmu variant: shared tensors as
    they are, hsa upper block j into the j-th hsa block; the gmu blocks keep
    their random init with zero output maps, so the model starts as the HSA one."""
    tensors, _ = load_tensors(path)
    names = tensor_names(model)
    params = dict(model.named_parameters())
    hsa_blocks = [i for i, k in enumerate(model.cfg.upper) if k == "hsa"]
    with torch.no_grad():
        for doc, p in names.items():
            src = doc
            if doc.startswith("upper."):
                j = int(doc.split(".")[1])
                if model.cfg.upper[j] == "gmu":
                    if doc.endswith((".wo", ".w2", ".gmu_wout")):
                        params[p].zero_()
                    continue
                src = doc.replace(f"upper.{j}.", f"upper.{hsa_blocks.index(j)}.", 1)
            params[p].copy_(tensors[src].float())


def main():
    args = parse()
    t_start = time.time()
    deadline = t_start + args.minutes * 60
    os.makedirs(args.out, exist_ok=True)
    logf = open(os.path.join(args.out, "log.txt"), "a")

    def log(msg):
        line = f"[{time.time() - t_start:7.1f}s] {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = True
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    if args.init:
        model = load_model(args.init, args.device)
    else:
        overrides = json.loads(args.config) if args.config else {}
        model = ByteModel(Config(upper=list(UPPER_KINDS[args.variant]), **overrides))
        if args.graft:
            graft(model, args.graft)
        model = model.to(args.device)
    if args.top_k:
        model.cfg.top_k = args.top_k  # one Config object, shared by every block
    if args.fusion:
        model.cfg.fusion = args.fusion
    opt = make_optimizer(model, args)
    step, total = 0, args.steps
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=args.device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, total = ck["step"], args.steps or ck["total"]
        log(f"resumed at step {step} of {total}")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"variant {args.variant} upper {model.cfg.upper} params {n_params} args {vars(args)}")
    corpus = Corpus()
    data.HARD = args.hard_keys
    mix = [float(v) for v in args.mix.split(",")]
    mix += [0.0] * (len(TASKS) - len(mix))
    mix = [v / sum(mix) for v in mix]

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "total": total,
                    "args": vars(args)}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        export(model, os.path.join(args.out, "f32.safetensors"), torch.float32)
        export(model, os.path.join(args.out, "bf16.safetensors"), torch.bfloat16)
        log(f"saved step {step}")

    model.train()
    last_save = time.time()
    t_mark, acc = None, {"lm": 0.0, "ans": 0.0, "exact": 0.0, "n": 0}
    reserve = 25.0  # seconds kept for the last save
    while total == 0 or step < total:
        if time.time() > deadline - reserve:
            log(f"time budget reached at step {step}")
            break
        xb, alen = train_batch(corpus, args.seed, step, args.batch, args.seq, model.cfg.window, mix)
        x = torch.from_numpy(xb)
        if args.device == "cuda":
            x = x.pin_memory()  # an async copy: the CPU makes the next batch meanwhile
        x = x.to(args.device, non_blocking=True).long()
        alen = torch.from_numpy(alen).to(args.device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, max(total, args.warmup + 1), args)
        lm, ans, exact = losses(model, x, alen, args.answer_stop)
        opt.zero_grad(set_to_none=True)
        (lm + ans).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        acc["lm"] += lm.detach()
        acc["ans"] += ans.detach()
        acc["exact"] += exact.detach()
        acc["n"] += 1
        if total == 0 and step == 30:
            if args.device == "cuda":
                torch.cuda.synchronize()
            t_mark = time.time()
        if total == 0 and step == 80:
            if args.device == "cuda":
                torch.cuda.synchronize()
            per = (time.time() - t_mark) / 50
            total = step + int((deadline - reserve - time.time()) / per * 0.93)
            log(f"{per * 1000:.1f} ms/step -> total steps {total}")
        if step % args.log_every == 0:
            n = acc["n"]
            log(f"step {step}/{total} lr {lr_at(step - 1, max(total, 1), args):.2e} "
                f"lm {float(acc['lm']) / n:.4f} ans {float(acc['ans']) / n:.4f} "
                f"exact {float(acc['exact']) / n:.3f}"
                + (f" mem {torch.cuda.max_memory_allocated() / 2**30:.1f}G" if args.device == "cuda" else ""))
            acc = {"lm": 0.0, "ans": 0.0, "exact": 0.0, "n": 0}
        if time.time() - last_save > args.save_every_s:
            save()
            last_save = time.time()
    save()
    lengths = [int(v) for v in args.eval_lengths.split(",") if v]
    if lengths and args.eval_trials > 0:
        res = evaluate(model, corpus, lengths, args.eval_trials, device=args.device, log=log,
                       tasks=args.eval_tasks.split(","))
        with open(os.path.join(args.out, "eval.json"), "w") as f:
            json.dump({"step": step, "total": total, "results": res}, f, indent=1)
    log("done")


if __name__ == "__main__":
    main()
