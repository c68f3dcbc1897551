"""Block-sparse causal prefill from Python."""
import ctypes
from dataclasses import dataclass

import numpy as np

from . import _lib
from ._lib import check, lib


@dataclass
class PrefillResult:
    out: np.ndarray        # [L, q_heads, head_dim] f32
    lse: np.ndarray        # [L, q_heads] f32
    mask: np.ndarray       # [kv_heads, nb, nb] bool: key blocks each query block attended
    density: float         # selected / causal blocks
    mask_seconds: float    # pattern discovery
    attention_seconds: float


def prefill(q, k, v, *, policy=None, block=None, config=None, device=None, threads=None, **options):
    """Causal attention of q [L, q_heads, d] over k, v [L, kv_heads, d]
    under a block mask policy ("dense", "flashprefill", "dma"; default:
    the preset's, else flashprefill). Policy options as keyword arguments,
    named as the preset keys' last part (configs/README.md, [prefill.*]):
    flashprefill: threshold ("delta"|"alpha"), delta, alpha,
    vertical_fraction, slash_count; dma: importance ("vnorm"|"qk"|"learned"),
    sparsity, window (blocks), stride, dilation, dilated_count, and
    dma_weights [kv_heads, d] for learned importance. q is read as f32, k and v as f32 or f16: C-contiguous
    arrays of those dtypes are read in place, others are converted (a copy)."""
    q = np.ascontiguousarray(q, dtype=np.float32)
    k, v = np.asarray(k), np.asarray(v)
    kv_dtype = np.float16 if k.dtype == np.float16 and v.dtype == np.float16 else np.float32
    k, v = np.ascontiguousarray(k, dtype=kv_dtype), np.ascontiguousarray(v, dtype=kv_dtype)
    if q.ndim != 3 or k.ndim != 3 or k.shape != v.shape or k.shape[0] != q.shape[0] or k.shape[2] != q.shape[2]:
        raise ValueError(f"q {q.shape}, k {k.shape}, v {v.shape}: expected [L, q_heads, d] and [L, kv_heads, d]")
    L, hq, d = q.shape
    hkv = k.shape[1]
    o = _lib.init(_lib.PrefillOptions, "landmark_prefill_options_init")
    config = _lib.load_config(config)
    if config is not None:
        config.apply("landmark_config_prefill_options", o)
    weights = None
    for key, value in dict(policy=policy, block=block, device=device, **options).items():
        if value is None:
            continue
        if key == "dma_weights":
            weights = np.ascontiguousarray(value, dtype=np.float32)
            o.dma_weights = weights.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            o.dma_weights_elements = weights.size
        else:  # a prefill option as presets name it, by its key's last part (configs/README.md)
            _lib.set_option("landmark_prefill_options_set", o, key, value, "prefill")
    arena = _lib.arena_for(threads, config)
    if arena is not None:
        o.arena = arena.handle
    nb = -(-L // o.block) if o.block else 0
    out = np.empty((L, hq, d), np.float32)
    lse = np.empty((L, hq), np.float32)
    mask = np.empty((hkv, nb, nb), np.uint8)
    stats = _lib.PrefillStats()
    check(lib.landmark_prefill(q.ctypes.data, L, hq, d, k.ctypes.data, v.ctypes.data,
                               _lib.DTYPES["f16" if kv_dtype == np.float16 else "f32"], hkv, ctypes.byref(o),
                               out.ctypes.data, out.size, lse.ctypes.data, lse.size, mask.ctypes.data, mask.size,
                               ctypes.byref(stats)))
    return PrefillResult(out, lse, mask.astype(bool), stats.density, stats.mask_seconds, stats.attention_seconds)
