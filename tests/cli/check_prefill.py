#!/usr/bin/python3
"""End-to-end checks of `landmark prefill` against NumPy.

    check_prefill.py make DIR          writes seeded inputs (good and bad) into DIR
    check_prefill.py check CLI DIR     runs the CLI on them and checks the outputs

The dense output must be exact causal attention; every sparse output must be
exact attention over the key blocks of the mask the CLI wrote (an
independent check of the fused kernel and of --mask-out), the mask causal
with block 0 and the diagonal kept.
"""
import os
import subprocess
import sys

import numpy as np

L, HQ, HKV, D, B = 300, 4, 2, 32, 32


def make(directory):
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(7)
    q = rng.standard_normal((L, HQ, D)).astype(np.float32)
    k = (2.0 * rng.standard_normal((L, HKV, D))).astype(np.float32)
    v = rng.standard_normal((L, HKV, D)).astype(np.float32)
    np.save(f"{directory}/q.npy", q)
    np.save(f"{directory}/k.npy", k.astype(np.float16))
    np.save(f"{directory}/v.npy", v.astype(np.float16))
    bf16 = lambda x: (x.view(np.uint32) >> 16).astype(np.uint16)  # truncation: exact bf16 values
    np.save(f"{directory}/k_bf16.npy", bf16(k))
    np.save(f"{directory}/v_bf16.npy", bf16(v))
    np.save(f"{directory}/w.npy", rng.standard_normal((HKV, D)).astype(np.float32))
    # Bad inputs, one problem each.
    np.save(f"{directory}/q_f16.npy", q.astype(np.float16))
    np.save(f"{directory}/k_rank2.npy", k[:, 0, :])
    np.save(f"{directory}/k_short.npy", k[:-1].astype(np.float16))
    np.save(f"{directory}/v_short.npy", v[:-1].astype(np.float16))
    np.save(f"{directory}/q_3heads.npy", q[:, :3, :])
    np.save(f"{directory}/w_bad.npy", np.zeros((HKV, D + 1), np.float32))


def attention(q, k, v, mask=None):
    """Exact causal attention in float64; mask [Hkv, nb, nb] selects key blocks."""
    group = q.shape[1] // k.shape[1]
    out = np.zeros(q.shape)
    for h in range(q.shape[1]):
        kh, vh = k[:, h // group, :], v[:, h // group, :]
        logits = q[:, h, :] @ kh.T / np.sqrt(q.shape[2])
        keep = np.tril(np.ones((L, L), bool))
        if mask is not None:
            blocks = mask[h // group].astype(bool)
            keep &= blocks[np.arange(L)[:, None] // B, np.arange(L)[None, :] // B]
        logits = np.where(keep, logits, -np.inf)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        out[:, h, :] = (p / p.sum(axis=1, keepdims=True)) @ vh
    return out


def run(cli, *args):
    result = subprocess.run([cli, "prefill", "--block", str(B), *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"landmark prefill {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def check(cli, d):
    q = np.load(f"{d}/q.npy").astype(np.float64)
    kv_sets = {
        "f16": (np.load(f"{d}/k.npy").astype(np.float64), np.load(f"{d}/v.npy").astype(np.float64), ""),
        "bf16": tuple(
            (np.load(f"{d}/{n}_bf16.npy").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
            for n in ("k", "v")) + ("_bf16",),
    }
    cases = [
        ("dense", "f16", []),
        ("flashprefill", "f16", ["--delta", "0.05"]),
        ("flashprefill", "bf16", ["--threshold", "alpha", "--alpha", "0.7", "--vertical", "0", "--slash", "1"]),
        ("dma", "f16", ["--sparsity", "0.6", "--window", "1"]),
        ("dma", "bf16", ["--importance", "qk", "--sparsity", "0.8", "--stride", "3"]),
        ("dma", "f16", ["--importance", "learned", "--weights", f"{d}/w.npy", "--dilation", "2"]),
    ]
    nb = (L + B - 1) // B
    for policy, dtype, options in cases:
        k, v, suffix = kv_sets[dtype]
        stdout = run(cli, "--q", f"{d}/q.npy", "--k", f"{d}/k{suffix}.npy", "--v", f"{d}/v{suffix}.npy",
                     "--policy", policy, "--out", f"{d}/o.npy", "--mask-out", f"{d}/m.npy",
                     "--lse-out", f"{d}/lse.npy", "--compare", *options)
        out, mask = np.load(f"{d}/o.npy"), np.load(f"{d}/m.npy")
        assert out.shape == (L, HQ, D) and out.dtype == np.float32, out.shape
        assert mask.shape == (HKV, nb, nb) and mask.dtype == np.uint8, (mask.shape, mask.dtype)
        assert np.load(f"{d}/lse.npy").shape == (L, HQ)
        assert not np.triu(mask, 1).any(), "mask selects blocks above the diagonal"
        assert mask[:, :, 0].all() and mask[:, np.arange(nb), np.arange(nb)].all(), "block 0 or diagonal dropped"
        if policy == "dense":
            assert mask[:, np.tril_indices(nb)[0], np.tril_indices(nb)[1]].all()
        else:
            density = mask.sum() / (HKV * nb * (nb + 1) / 2)
            assert density < 1, f"{policy} {options}: nothing dropped, the check would be vacuous"
        expected = attention(q, k, v, None if policy == "dense" else mask)
        error = np.abs(out - expected).max() / max(1.0, np.abs(expected).max())
        assert error < 1e-4, f"{policy} {dtype} {options}: max error {error}"
        assert "vs dense:" in stdout and "density" in stdout, stdout
        print(f"{policy:13} {dtype:5} {' '.join(options):60} max error {error:.1e}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
