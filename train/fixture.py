"""Export the parity fixture for the C++ model test (tests/data/model/).

A tiny model with seeded random weights, saved in f32; the reference is
computed in float64 from exactly those f32 weights, on the CPU:
    python3 train/fixture.py [--out tests/data/model]
With --fusion joint: the same weights read with joint fusion, written as
tiny_joint.safetensors, tiny_joint_logits.npy, tiny_joint_hsa_out.npy and
tiny_joint_topk.npy (the other arrays do not depend on the fusion).
Files: tiny.safetensors, tiny_input.bin (the bytes), tiny_logits.npy
[N, vocab], tiny_lower_out.npy [N, D], tiny_memory_k.npy / tiny_memory_v.npy
[N, H, d_h], tiny_landmarks.npy [N/S, H, d_h], tiny_hsa_out.npy [N, D]
(upper.0's HSA output after hsa_wo), tiny_topk.npy [upper hsa blocks, N, H,
k] int32 (selected chunk ids, best first; -1 where fewer than k candidates).
"""
import argparse
import os

import numpy as np
import torch

from data import Corpus, make_sample
from model import ByteModel, Config
from weights import export, load_model

TINY = dict(vocab=128, d_model=32, heads=2, head_dim=16, mlp_hidden=64, window=16,
            chunk=8, top_k=2, lower=1, upper=["hsa", "gmu"])


def random_model(seed=1234, fusion="hsa"):
    cfg = Config(**TINY, fusion=fusion)
    model = ByteModel(cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 2 and name != "embed.weight":
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g))
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "model"))
    ap.add_argument("--fusion", choices=["hsa", "joint"], default="hsa",
                    help="joint: the same weights with joint fusion, files tiny_joint*")
    ap.add_argument("--input", default=None,
                    help="read the bytes from this file (default with joint: OUT/tiny_input.bin) instead of "
                         "making a sample (whose text depends on train/data)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    prefix = "tiny" if args.fusion == "hsa" else "tiny_joint"
    path = os.path.join(args.out, prefix + ".safetensors")
    export(random_model(fusion=args.fusion), path, torch.float32)
    model = load_model(path).double().eval()
    cfg = model.cfg

    source = args.input or (os.path.join(args.out, "tiny_input.bin") if args.fusion == "joint" else None)
    if source:
        seq, answer, starts = np.frombuffer(open(source, "rb").read(), dtype=np.uint8), "(given)", "(given)"
    else:
        rng = np.random.default_rng(7)
        seq, answer, starts = make_sample(Corpus().test, 300, rng, n_needles=2, window=cfg.window)
    if args.fusion == "hsa":
        open(os.path.join(args.out, "tiny_input.bin"), "wb").write(seq.tobytes())
    ids = torch.from_numpy(seq.astype(np.int64))[None]

    with torch.no_grad():
        h = model.lower_forward(ids)
        K, V, L = model.memory(h)
        pos = torch.arange(ids.shape[1])
        x, a_prev, traces, hsa_out = h, None, [], None
        for blk in model.upper:
            x, a = blk(x, (K, V, L), pos, a_prev, sparse=False, trace=traces)
            if a is not None:
                hsa_out = a if hsa_out is None else hsa_out
                a_prev = a
        logits = model.lm_head(model.final_norm(x))
        # the two HSA paths and the tail mode must agree with this reference
        sparse = model(ids, sparse=True)
        assert torch.allclose(logits, sparse, atol=1e-9), (logits - sparse).abs().max()
        tail = model.forward_tail(ids, 64)
        exact = 64 - len(cfg.upper) * (cfg.window - 1)
        assert torch.allclose(logits[:, -exact:], tail[:, -exact:], atol=1e-9)

    out = {"logits": logits[0].float(), "hsa_out": hsa_out[0].float()}
    if args.fusion == "hsa":  # the fusion changes nothing below the first hsa block
        out.update({"lower_out": h[0].float(), "memory_k": K[0].float(), "memory_v": V[0].float(),
                    "landmarks": L[0].float()})
    for name, t in out.items():
        np.save(os.path.join(args.out, f"{prefix}_{name}.npy"), t.numpy().astype(np.float32))
    topk = torch.stack([t[0].permute(1, 0, 2) for t in traces]).to(torch.int32)  # [blocks, N, H, k]
    np.save(os.path.join(args.out, prefix + "_topk.npy"), topk.numpy())
    print(f"fixture: {len(seq)} bytes, answer {answer}, needles at {starts}, "
          f"{L.shape[1]} chunks, logits {tuple(logits.shape[1:])} -> {args.out}")


if __name__ == "__main__":
    main()
