"""A position-by-position numpy reading of docs/model.md, independent of
model.py, that checks the exported fixture (run: python3 train/naive_reference.py;
with `--fusion joint` the joint-fusion fixture, tiny_joint*).
Slow on purpose: loops over positions, heads and chunks."""
import json
import os
import sys

import numpy as np

from weights import load_tensors

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "model")


def rms(x, w, eps, heads=1):
    y = x.reshape(heads, -1)
    y = y / np.sqrt((y ** 2).mean(-1, keepdims=True) + eps)
    return y.reshape(-1) * w


def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def softmax(s):
    e = np.exp(s - s.max())
    return e / e.sum()


def rope(x, p, theta):
    h = len(x) // 2
    f = theta ** (-np.arange(h) * 2.0 / len(x))
    c, s = np.cos(p * f), np.sin(p * f)
    return np.concatenate([x[:h] * c - x[h:] * s, x[h:] * c + x[:h] * s])


def main():
    joint = "--fusion" in sys.argv and sys.argv[sys.argv.index("--fusion") + 1] == "joint"
    prefix = "tiny_joint" if joint else "tiny"
    t, meta = load_tensors(os.path.join(DIR, prefix + ".safetensors"))
    t = {k: v.double().numpy() for k, v in t.items()}
    cfg = json.loads(meta["landmark.model"])
    assert cfg.get("fusion", "hsa") == ("joint" if joint else "hsa"), cfg
    H, dh, W, S, k, eps = cfg["heads"], cfg["head_dim"], cfg["window"], cfg["chunk"], cfg["top_k"], cfg["norm_eps"]
    ids = np.frombuffer(open(os.path.join(DIR, "tiny_input.bin"), "rb").read(), dtype=np.uint8)
    N = len(ids)

    def swa(X, pre):
        U = np.stack([rms(x, t[pre + "attn_norm"], eps) for x in X])
        q, kk, v = U @ t[pre + "wq"].T, U @ t[pre + "wk"].T, U @ t[pre + "wv"].T
        out = np.zeros_like(X)
        for p in range(N):
            o = []
            for h in range(H):
                sl = slice(h * dh, (h + 1) * dh)
                js = range(max(0, p - W + 1), p + 1)
                qp = rope(q[p, sl], p, cfg["rope_theta"])
                s = np.array([qp @ rope(kk[j, sl], j, cfg["rope_theta"]) for j in js]) / np.sqrt(dh)
                o.append(softmax(s) @ v[list(js), sl])
            out[p] = t[pre + "wo"] @ np.concatenate(o)
        return out

    def mlp(X, pre):
        return np.stack([t[pre + "w2"] @ gelu(t[pre + "w1"] @ rms(x, t[pre + "mlp_norm"], eps)) for x in X])

    X = t["embed"][ids]
    for i in range(cfg["lower"]):
        X = X + swa(X, f"lower.{i}.")
        X = X + mlp(X, f"lower.{i}.")
    h = X.copy()
    m = np.stack([rms(x, t["memory.norm"], eps) for x in h])
    K, V = m @ t["memory.wk"].T, m @ t["memory.wv"].T
    C = N // S
    L = np.stack([rms(t["memory.wl"] @ m[c * S:(c + 1) * S].mean(0), t["memory.landmark_norm"], eps, H) for c in range(C)])

    a_prev, first_hsa = None, None
    for j, kind in enumerate(cfg["upper"]):
        pre = f"upper.{j}."
        X = X + swa(X, pre)
        if kind == "hsa":
            A = np.zeros_like(X)
            for p in range(N):
                u = rms(X[p], t[pre + "hsa_norm"], eps)
                r = rms(t[pre + "hsa_wr"] @ u, t[pre + "hsa_r_norm"], eps, H)
                q = t[pre + "hsa_wq"] @ u
                cands = [c for c in range(C) if (c + 1) * S <= p + 1 - W]
                if not cands:
                    continue
                o = []
                for hh in range(H):
                    sl = slice(hh * dh, (hh + 1) * dh)
                    sc = {c: r[sl] @ L[c, sl] / np.sqrt(dh) for c in cands}
                    sel = sorted(cands, key=lambda c: (-sc[c], c))[:k]
                    if joint:  # one softmax over the tokens of every selected chunk
                        toks = [j for c in sel for j in range(c * S, (c + 1) * S)]
                        o.append(softmax(K[toks, sl] @ q[sl] / np.sqrt(dh)) @ V[toks, sl])
                        continue
                    w = softmax(np.array([sc[c] for c in sel]))
                    oh = np.zeros(dh)
                    for wi, c in zip(w, sel):
                        ks = K[c * S:(c + 1) * S, sl]
                        oh += wi * softmax(ks @ q[sl] / np.sqrt(dh)) @ V[c * S:(c + 1) * S, sl]
                    o.append(oh)
                A[p] = t[pre + "hsa_wo"] @ np.concatenate(o)
            X = X + A
            a_prev = A
            first_hsa = A if first_hsa is None else first_hsa
        else:
            G = np.stack([t[pre + "gmu_wout"] @ (a_prev[p] * (lambda z: z / (1 + np.exp(-z)))(
                t[pre + "gmu_win"] @ rms(X[p], t[pre + "gmu_norm"], eps))) for p in range(N)])
            X = X + G
        X = X + mlp(X, pre)
    logits = np.stack([t["lm_head"] @ rms(x, t["final_norm"], eps) for x in X])

    checks = {"tiny_lower_out": h, "tiny_memory_k": K.reshape(N, H, dh), "tiny_memory_v": V.reshape(N, H, dh),
              "tiny_landmarks": L.reshape(C, H, dh), prefix + "_hsa_out": first_hsa, prefix + "_logits": logits}
    worst = 0.0
    for name, ref in checks.items():
        got = np.load(os.path.join(DIR, name + ".npy"))
        err = np.abs(got - ref).max() / max(1.0, np.abs(ref).max())
        worst = max(worst, err)
        print(f"{name}: max rel err {err:.2e}")
    sys.exit(0 if worst < 1e-5 else 1)


if __name__ == "__main__":
    main()
