"""landmark's byte model, exactly as docs/model.md defines it.

Lower blocks (SWA + MLP) -> chunk memory (K/V per token, one learned
landmark per chunk and head) -> upper blocks (SWA + HSA or GMU + MLP) -> head.
Two HSA paths compute the same thing: `hsa_dense` (training: every query
against every earlier chunk, then the top-k weights zero the rest) and
`hsa_gather` (long contexts: gather only the selected chunks).
"""
import json
import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

UPPER_KINDS = {"hsa": ["hsa", "hsa"], "gmu": ["hsa", "gmu", "hsa", "gmu"]}


@dataclass
class Config:
    vocab: int = 128
    d_model: int = 256
    heads: int = 4
    head_dim: int = 64
    mlp_hidden: int = 1024
    window: int = 128
    chunk: int = 64
    top_k: int = 4
    lower: int = 2
    upper: list = field(default_factory=lambda: list(UPPER_KINDS["gmu"]))
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6
    # hsa: each selected chunk's own softmax, mixed by the landmark weights;
    # joint: one softmax over the tokens of all selected chunks (the
    # selection then gets no gradient: train it with hsa first).
    fusion: str = "hsa"

    def __post_init__(self):
        assert self.d_model == self.heads * self.head_dim, "d_model must be heads * head_dim"
        assert self.head_dim % 2 == 0, "RoPE needs an even head_dim"
        assert self.upper and self.upper[0] == "hsa", "the first upper block must be hsa"
        assert all(k in ("hsa", "gmu") for k in self.upper), "upper kinds are hsa or gmu"
        assert self.fusion in ("hsa", "joint"), "fusion is hsa or joint"

    def to_json(self):
        # hsa is format 1 (no "fusion" key), as the shipped weights; joint is
        # format 2, which a reader of format 1 refuses rather than misreads.
        d = asdict(self)
        if d["fusion"] == "hsa":
            return json.dumps({"format": 1, **{k: v for k, v in d.items() if k != "fusion"}})
        return json.dumps({"format": 2, **d})

    @staticmethod
    def from_json(text):
        d = json.loads(text)
        fmt = d.pop("format")
        assert fmt in (1, 2), "unknown landmark.model format"
        assert (fmt == 2) == ("fusion" in d), "format 2 and only format 2 names its fusion"
        return Config(**d)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * w; per_head normalises each d_h slice alone."""

    def __init__(self, dim, eps, heads=1):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps, self.heads = eps, heads

    def forward(self, x):
        dtype = x.dtype if x.dtype == torch.float64 else torch.float32
        shape = x.shape
        y = x.to(dtype).reshape(*shape[:-1], self.heads, shape[-1] // self.heads)
        y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + self.eps)
        return y.reshape(shape) * self.weight.to(dtype)


def linear(d_in, d_out):
    return nn.Linear(d_in, d_out, bias=False)


def rope_tables(n, head_dim, theta, device, dtype):
    """cos/sin [n, head_dim] for positions 0..n-1 (rotate-half form)."""
    inv = theta ** (-torch.arange(0, head_dim // 2, device=device, dtype=torch.float64) * 2 / head_dim)
    ang = torch.arange(n, device=device, dtype=torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().to(dtype), ang.sin().to(dtype)


def apply_rope(x, cos, sin):
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rot * sin


class SWA(nn.Module):
    """Causal sliding-window attention, computed in blocks of W queries that
    see their own block and the previous one; RoPE positions are relative to
    the previous block's start, so angles stay below 2W at any length."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg.d_model
        self.wq, self.wk, self.wv, self.wo = linear(d, d), linear(d, d), linear(d, d), linear(d, d)
        self.cfg = cfg

    def forward(self, u):
        cfg = self.cfg
        B, T, _ = u.shape
        H, dh, W = cfg.heads, cfg.head_dim, cfg.window
        q, k, v = (f(u).view(B, T, H, dh) for f in (self.wq, self.wk, self.wv))
        nb = -(-T // W)
        pad = nb * W - T
        if pad:
            q, k, v = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (q, k, v))
        # [B, H, nb, W, dh]
        q, k, v = (t.view(B, nb, W, H, dh).permute(0, 3, 1, 2, 4) for t in (q, k, v))
        zero = torch.zeros_like(k[:, :, :1])
        kc = torch.cat([torch.cat([zero, k[:, :, :-1]], 2), k], 3)  # [B,H,nb,2W,dh]
        vc = torch.cat([torch.cat([zero, v[:, :, :-1]], 2), v], 3)
        ftype = torch.float64 if u.dtype == torch.float64 else torch.float32
        cos, sin = rope_tables(2 * W, dh, cfg.rope_theta, u.device, ftype)
        q = apply_rope(q.to(ftype), cos[W:], sin[W:])
        kc = apply_rope(kc.to(ftype), cos, sin)
        i = torch.arange(W, device=u.device)[:, None]
        j = torch.arange(2 * W, device=u.device)[None, :]
        allowed = (j > i) & (j <= W + i)  # keys p-W+1 .. p
        first = allowed & (j >= W)  # block 0 has no previous block
        mask = torch.zeros(nb, W, 2 * W, device=u.device, dtype=ftype)
        mask.masked_fill_(~allowed, float("-inf"))
        mask[0].masked_fill_(~first, float("-inf"))
        out = []
        step = max(1, (1 << 24) // (B * H * W * 2 * W))  # bound the score tensor
        for b0 in range(0, nb, step):
            b1 = min(nb, b0 + step)
            s = torch.matmul(q[:, :, b0:b1], kc[:, :, b0:b1].transpose(-1, -2)) / math.sqrt(dh)
            with torch.autocast(device_type=u.device.type, enabled=False):  # softmax in the matmul dtype
                p = torch.softmax(s + mask[b0:b1].to(s.dtype), dim=-1)
                out.append(torch.matmul(p, vc[:, :, b0:b1].to(p.dtype)))
        o = torch.cat(out, 2) if len(out) > 1 else out[0]
        o = o.permute(0, 2, 3, 1, 4).reshape(B, nb * W, H * dh)[:, :T]
        return self.wo(o)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.w1, self.w2 = linear(cfg.d_model, cfg.mlp_hidden), linear(cfg.mlp_hidden, cfg.d_model)

    def forward(self, x):
        return self.w2(F.gelu(self.w1(x), approximate="tanh"))


def candidate_counts(pos, cfg, n_chunks):
    """Number of candidate chunks per position: chunks c with (c+1)S <= p+1-W."""
    return torch.clamp(torch.div(pos + 1 - cfg.window, cfg.chunk, rounding_mode="floor"), 0, n_chunks)


def select_chunks(r, L, pos, cfg):
    """Top-k chunks per query and head with softmax weights over their scores.
    r [B,T,H,dh], L [B,C,H,dh], pos [T] -> idx [B,H,T,k], w [B,H,T,k] (0 where
    fewer than k candidates exist)."""
    C = L.shape[1]
    ftype = torch.float64 if r.dtype == torch.float64 else torch.float32
    with torch.autocast(device_type=r.device.type, enabled=False):  # select in f32, as C++ does
        scores = torch.einsum("bthd,bchd->bhtc", r.to(ftype), L.to(ftype)) / math.sqrt(cfg.head_dim)
    n = candidate_counts(pos, cfg, C)
    cand = torch.arange(C, device=r.device)[None, :] < n[:, None]
    scores = scores.masked_fill(~cand, float("-inf"))
    k = min(cfg.top_k, C)
    # a stable sort sends ties to the lower chunk id, as docs/model.md asks
    vals, idx = torch.sort(scores, dim=-1, descending=True, stable=True)
    vals, idx = vals[..., :k], idx[..., :k]
    valid = torch.isfinite(vals)
    w = torch.softmax(vals.masked_fill(~valid, -1e30), dim=-1) * valid
    return idx, w, valid


def hsa_dense(q, K, V, idx, w, cfg, valid=None):
    """o[b,h,t] = sum_i w_i softmax(q K_{c_i}^T / sqrt(dh)) V_{c_i} (hsa), or
    softmax over the tokens of every selected chunk at once (joint: valid
    [B,H,T,k] marks the selected), computed as every query against every
    earlier chunk, weighted by the (sparse) w or masked to the selection.
    Queries sit at positions 0..T-1; they are split in groups so that a group
    reads only the chunks it may select. On the GPU the softmax and the
    weighting stay in bf16 (memory traffic dominates this function)."""
    B, T, H, dh = q.shape
    S, W = cfg.chunk, cfg.window
    n_chunks = K.shape[1] // S
    wd = torch.zeros(B, H, T, n_chunks, device=q.device, dtype=w.dtype).scatter(-1, idx, w)
    joint = cfg.fusion == "joint"
    if joint:  # the selected chunks of each query: one softmax across them
        chosen = torch.zeros(B, H, T, n_chunks, device=q.device, dtype=torch.bool).scatter(-1, idx, valid)
    qh, Kh, Vh = (t.transpose(1, 2) for t in (q, K, V))  # [B,H,T,dh]
    group = 512
    outs = []
    for g0 in range(0, T, group):
        g1 = min(T, g0 + group)
        nc = max(0, min(n_chunks, (g1 - W) // S))  # candidates of the group's last query
        if nc == 0:
            outs.append(torch.zeros(B, H, g1 - g0, dh, device=q.device, dtype=Vh.dtype))
            continue
        s = torch.matmul(qh[:, :, g0:g1], Kh[:, :, : nc * S].transpose(-1, -2)) / math.sqrt(dh)
        with torch.autocast(device_type=q.device.type, enabled=False):
            if joint:
                keep = chosen[:, :, g0:g1, :nc, None].expand(B, H, g1 - g0, nc, S).reshape(B, H, g1 - g0, nc * S)
                p = torch.softmax(s.masked_fill(~keep, float("-inf")), dim=-1)
                p = torch.nan_to_num(p, nan=0.0)  # a query with no chunk selected reads nothing
            else:
                p = torch.softmax(s.view(B, H, g1 - g0, nc, S), dim=-1)
                p = (p * wd[:, :, g0:g1, :nc, None].to(p.dtype)).view(B, H, g1 - g0, nc * S)
            outs.append(torch.matmul(p, Vh[:, :, : nc * S].to(p.dtype)))
    return torch.cat(outs, 2).transpose(1, 2).reshape(B, T, H * dh)


def hsa_gather(q, K, V, idx, w, cfg, valid=None):
    """Same result as hsa_dense, reading only the selected chunks."""
    B, T, H, dh = q.shape
    S = cfg.chunk
    n_chunks = K.shape[1] // S
    Kc = K[:, : n_chunks * S].view(B, n_chunks, S, H, dh).permute(0, 3, 1, 2, 4)  # [B,H,C,S,dh]
    Vc = V[:, : n_chunks * S].view(B, n_chunks, S, H, dh).permute(0, 3, 1, 2, 4)
    bi = torch.arange(B, device=q.device)[:, None, None, None]
    hi = torch.arange(H, device=q.device)[None, :, None, None]
    Ks, Vs = Kc[bi, hi, idx], Vc[bi, hi, idx]  # [B,H,T,k,S,dh]
    qh = q.transpose(1, 2)  # [B,H,T,dh]
    s = torch.einsum("bhtd,bhtksd->bhtks", qh, Ks) / math.sqrt(dh)
    if cfg.fusion == "joint":
        T_, k = s.shape[2], s.shape[3]
        s = s.to(w.dtype).masked_fill(~valid[..., None], float("-inf")).reshape(B, H, T_, k * S)
        p = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0).view(B, H, T_, k, S)
    else:
        p = torch.softmax(s.to(w.dtype), dim=-1) * w[..., None]
    o = torch.einsum("bhtks,bhtksd->bhtd", p.to(Vs.dtype), Vs)
    return o.transpose(1, 2).reshape(B, T, H * dh)


class Memory(nn.Module):
    """Chunk memory from the lower output: K/V per token, landmark per chunk."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg.d_model
        self.norm = RMSNorm(d, cfg.norm_eps)
        self.landmark_norm = RMSNorm(d, cfg.norm_eps, heads=cfg.heads)
        self.wk, self.wv, self.wl = linear(d, d), linear(d, d), linear(d, d)
        self.cfg = cfg

    def forward(self, h):
        cfg = self.cfg
        B, T, _ = h.shape
        m = self.norm(h)
        K = self.wk(m).view(B, T, cfg.heads, cfg.head_dim)
        V = self.wv(m).view(B, T, cfg.heads, cfg.head_dim)
        C = T // cfg.chunk
        pooled = m[:, : C * cfg.chunk].reshape(B, C, cfg.chunk, -1).mean(2)
        L = self.landmark_norm(self.wl(pooled)).view(B, C, cfg.heads, cfg.head_dim)
        return K, V, L


class Block(nn.Module):
    """kind 'swa' (lower), 'hsa' or 'gmu' (upper)."""

    def __init__(self, cfg, kind):
        super().__init__()
        d, eps = cfg.d_model, cfg.norm_eps
        self.kind, self.cfg = kind, cfg
        self.attn_norm, self.mlp_norm = RMSNorm(d, eps), RMSNorm(d, eps)
        self.attn, self.mlp = SWA(cfg), MLP(cfg)
        if kind == "hsa":
            self.hsa_norm = RMSNorm(d, eps)
            self.hsa_r_norm = RMSNorm(d, eps, heads=cfg.heads)
            self.hsa_wr, self.hsa_wq, self.hsa_wo = linear(d, d), linear(d, d), linear(d, d)
        elif kind == "gmu":
            self.gmu_norm = RMSNorm(d, eps)
            self.gmu_win, self.gmu_wout = linear(d, d), linear(d, d)

    def hsa(self, x, mem, pos, sparse, trace=None):
        cfg = self.cfg
        B, T, _ = x.shape
        K, V, L = mem
        u = self.hsa_norm(x)
        r = self.hsa_r_norm(self.hsa_wr(u)).view(B, T, cfg.heads, cfg.head_dim)
        q = self.hsa_wq(u).view(B, T, cfg.heads, cfg.head_dim)
        if L.shape[1] == 0:
            return torch.zeros_like(x)
        idx, w, valid = select_chunks(r, L, pos, cfg)
        if trace is not None:
            trace.append(torch.where(valid, idx, torch.full_like(idx, -1)))
        o = hsa_gather(q, K, V, idx, w, cfg, valid) if sparse else hsa_dense(q, K, V, idx, w, cfg, valid)
        return self.hsa_wo(o)

    def forward(self, x, mem=None, pos=None, a_prev=None, sparse=False, trace=None):
        x = x + self.attn(self.attn_norm(x))
        a = None
        if self.kind == "hsa":
            a = self.hsa(x, mem, pos, sparse, trace)
            x = x + a
        elif self.kind == "gmu":
            g = F.silu(self.gmu_win(self.gmu_norm(x)))
            x = x + self.gmu_wout(a_prev * g)
        x = x + self.mlp(self.mlp_norm(x))
        return x, a


class ByteModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab, cfg.d_model)
        self.lower = nn.ModuleList(Block(cfg, "swa") for _ in range(cfg.lower))
        self.memory = Memory(cfg)
        self.upper = nn.ModuleList(Block(cfg, k) for k in cfg.upper)
        self.final_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = linear(cfg.d_model, cfg.vocab)
        self.reset_parameters()

    def reset_parameters(self, std=0.02, generator=None):
        n_blocks = self.cfg.lower + len(self.cfg.upper)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                nn.init.ones_(p)
                continue
            s = std
            if name.endswith(("wo.weight", "w2.weight", "hsa_wo.weight", "gmu_wout.weight")):
                s = std / math.sqrt(2 * n_blocks)
            with torch.no_grad():
                p.normal_(0.0, s, generator=generator)

    def lower_forward(self, ids):
        ids = torch.where(ids < self.cfg.vocab, ids, torch.full_like(ids, ord("?")))
        x = self.embed(ids)
        x = x if x.dtype == torch.float64 else x.float()  # residual stream in f32
        for blk in self.lower:
            x, _ = blk(x)
        return x

    def upper_forward(self, x, mem, pos, sparse=False, trace=None):
        a_prev = None
        for blk in self.upper:
            x, a = blk(x, mem, pos, a_prev, sparse, trace)
            if a is not None:
                a_prev = a
        return self.lm_head(self.final_norm(x))

    def forward(self, ids, sparse=False):
        """Logits for every position of ids [B,T] (training and fixtures)."""
        h = self.lower_forward(ids)
        mem = self.memory(h)
        pos = torch.arange(ids.shape[1], device=ids.device)
        return self.upper_forward(h, mem, pos, sparse)

    @torch.no_grad()
    def forward_tail(self, ids, tail, segment=1 << 20):
        """Logits for the last `tail` positions only: the lower layers and the
        memory run over everything, the upper layers over the tail alone
        (exact for positions more than len(upper)*(W-1) into the tail).
        Inputs longer than `segment` run the lower layers segment by segment,
        each with lower*W positions of left context (the result is the same:
        SWA blocks stay aligned and see only W-1 keys back per layer), so
        that 16M-byte haystacks fit in GPU memory."""
        cfg = self.cfg
        T = ids.shape[1]
        tail = min(tail, T)
        pos = torch.arange(T - tail, T, device=ids.device)
        if T <= segment:
            h = self.lower_forward(ids)
            mem = self.memory(h)
            return self.upper_forward(h[:, T - tail:], mem, pos, sparse=True)
        mem, h = self.segmented_memory(ids, segment, T - tail)
        return self.upper_forward(h, mem, pos, sparse=True)

    @torch.no_grad()
    def segmented_memory(self, ids, segment=1 << 20, keep_from=None):
        """The chunk memory (K, V, L) of ids, the lower layers run segment by
        segment (forward_tail), and the lower output from keep_from on (or None)."""
        cfg = self.cfg
        T = ids.shape[1]
        keep_from = T if keep_from is None else keep_from
        step = cfg.window * cfg.chunk // math.gcd(cfg.window, cfg.chunk)
        segment = max(step, segment // step * step)
        ctx = cfg.lower * cfg.window
        Ks, Vs, Ls, hs = [], [], [], []
        for s0 in range(0, T, segment):
            s1 = min(T, s0 + segment)
            c0 = max(0, s0 - ctx)
            h = self.lower_forward(ids[:, c0:s1])[:, s0 - c0:]
            K, V, L = self.memory(h)
            Ks.append(K)
            Vs.append(V)
            Ls.append(L)
            if s1 > keep_from:
                hs.append(h[:, max(0, keep_from - s0):])
            del h
        mem = (torch.cat(Ks, 1), torch.cat(Vs, 1), torch.cat(Ls, 1))
        return mem, (torch.cat(hs, 1) if hs else None)


def weight_name(param_name):
    """state_dict name -> docs/model.md tensor name."""
    return param_name.replace(".attn.", ".").replace(".mlp.", ".").removesuffix(".weight")


def tensor_names(model):
    return {weight_name(n): n for n, _ in model.named_parameters()}
