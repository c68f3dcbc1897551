"""The retrieval engine from Python: Retriever.query (numpy in and out) and
Retriever.ask (text questions), with an explanation of every selection."""
import ctypes
import os
from dataclasses import dataclass, field

import numpy as np

from . import _lib
from ._lib import check, lib


@dataclass
class Selection:
    """The chunks one selection head chose, in descending score."""
    chunks: np.ndarray    # uint32 chunk ids
    scores: np.ndarray    # s_c = r·L_c / sqrt(R)
    weights: np.ndarray   # hsa: w_i; joint: the chunk's share of the softmax
    texts: list = field(default_factory=list)  # the chunks' text (text stores)
    sources: list = field(default_factory=list)  # (path, begin, end) per chunk, or None (text stores with an index)


@dataclass
class Result:
    """One query's result: outputs [q_heads, head_dim] and why (one
    Selection per kv head, or one shared)."""
    out: np.ndarray             # the fused output (hsa: the retrieval term)
    lse: np.ndarray             # joint: [q_heads] log-sum-exp (hsa: None)
    local_out: np.ndarray       # hsa: the local term [q_heads, head_dim] (joint: None)
    local_lse: np.ndarray       # hsa: [q_heads] (joint: None)
    selections: list
    position: int
    candidates: int
    local_tokens: int
    bytes_touched: int


def _floats(pointer, shape):
    if not pointer:
        return None
    return np.ctypeslib.as_array(pointer, shape=shape).copy()


def _results(h):
    """Copies a C result handle into Results and closes it."""
    try:
        count = _lib.size_t()
        check(lib.landmark_result_count(h, ctypes.byref(count)))
        results = []
        for i in range(count.value):
            F = ctypes.POINTER(ctypes.c_float)
            out, lse, local_out, local_lse = F(), F(), F(), F()
            hq, d = _lib.size_t(), _lib.size_t()
            check(lib.landmark_result_output(h, i, ctypes.byref(out), ctypes.byref(lse), ctypes.byref(local_out),
                                             ctypes.byref(local_lse), ctypes.byref(hq), ctypes.byref(d)))
            stats = _lib.QueryStats()
            check(lib.landmark_result_stats(h, i, ctypes.byref(stats)))
            selections = []
            for head in range(stats.selections):
                n = _lib.size_t()
                chunks, scores, weights = ctypes.POINTER(ctypes.c_uint32)(), F(), F()
                check(lib.landmark_result_selection(h, i, head, ctypes.byref(n), ctypes.byref(chunks),
                                                    ctypes.byref(scores), ctypes.byref(weights)))
                texts, sources = [], []
                for j in range(n.value):
                    p, length = ctypes.c_void_p(), _lib.size_t()
                    check(lib.landmark_result_chunk_text(h, i, head, j, ctypes.byref(p), ctypes.byref(length)))
                    texts.append(ctypes.string_at(p, length.value).decode(errors="replace") if length.value else "")
                    path, begin, end = ctypes.c_char_p(), _lib.u64(), _lib.u64()
                    check(lib.landmark_result_chunk_source(h, i, head, j, ctypes.byref(path), ctypes.byref(begin),
                                                           ctypes.byref(end)))
                    sources.append((os.fsdecode(path.value), begin.value, end.value) if path.value else None)
                empty = n.value == 0
                selections.append(Selection(
                    np.zeros(0, np.uint32) if empty else np.ctypeslib.as_array(chunks, (n.value,)).copy(),
                    np.zeros(0, np.float32) if empty else np.ctypeslib.as_array(scores, (n.value,)).copy(),
                    np.zeros(0, np.float32) if empty else np.ctypeslib.as_array(weights, (n.value,)).copy(), texts,
                    sources))
            shape = (hq.value, d.value)
            results.append(Result(_floats(out, shape), _floats(lse, (hq.value,)), _floats(local_out, shape),
                                  _floats(local_lse, (hq.value,)), selections, stats.position, stats.candidates,
                                  stats.local_tokens, stats.bytes_touched))
        return results
    finally:
        lib.landmark_result_close(h)


class Retriever(_lib.Handle):
    """Scores a store's landmarks, selects the top-k chunks per kv head,
    attends to them and fuses (docs/design.md). Keyword arguments override the
    preset `config`; `device` is "auto" (the GPU when the CUDA backend
    sees one), "cpu" or "cuda"; `threads` runs its queries in an arena of
    that many threads. Keeps the store open by itself."""

    _close, _what = "landmark_retriever_close", "retriever"

    def __init__(self, store, *, config=None, q_heads=None, top_k=None, fusion=None, weights=None,
                 softmax_off_by_one=None, window=None, sink_chunks=None, prefetch=None, temperature=None,
                 device=None, threads=None):
        o = _lib.init(_lib.RetrieverOptions, "landmark_retriever_options_init")
        config = _lib.load_config(config)
        if config is not None:
            config.apply("landmark_config_retriever_options", o)
        given = dict(q_heads=q_heads, top_k=top_k, fusion=fusion, weights=weights,
                     softmax_off_by_one=softmax_off_by_one, window=window, sink_chunks=sink_chunks,
                     prefetch=prefetch, temperature=temperature, device=device)
        for key, value in given.items():  # through the library's table: its names, ranges and messages
            if value is not None:
                _lib.set_option("landmark_retriever_options_set", o, key, value, "Retriever")
        arena = _lib.arena_for(threads, config)
        if arena is not None:
            o.arena = arena.handle  # the retriever keeps its own reference
        super().__init__()
        check(lib.landmark_retriever_create(store.handle, ctypes.byref(o), ctypes.byref(self._h)))
        hq, d, lh, ld = (_lib.size_t() for _ in range(4))
        check(lib.landmark_retriever_shape(self._h, ctypes.byref(hq), ctypes.byref(d), ctypes.byref(lh),
                                           ctypes.byref(ld)))
        self.q_heads, self.head_dim, self.landmark_heads, self.landmark_dim = hq.value, d.value, lh.value, ld.value

    def query(self, q, r=None, position=None):
        """q [q_heads, head_dim] -> a Result; q [M, q_heads, head_dim] -> a
        list of M Results (one batch). r: retrieval queries [landmark_heads,
        landmark_dim] (or [M, ...]); default: each group's mean query.
        position: p (default n - 1), or one per query. f32 C-contiguous
        arrays are read in place; others are converted (a copy)."""
        q = np.ascontiguousarray(q, dtype=np.float32)
        single = q.ndim == 2
        if single:
            q = q[None]
        if q.ndim != 3:
            raise ValueError(f"q must be [q_heads, head_dim] or [M, q_heads, head_dim], is {q.shape}")
        m = q.shape[0]
        if q.shape[1:] != (self.q_heads, self.head_dim):
            raise ValueError(f"q has shape {q.shape[1:]} per query, the retriever takes "
                             f"({self.q_heads}, {self.head_dim})")
        r_pointer, r_elements = None, 0
        if r is not None:
            r = np.ascontiguousarray(r, dtype=np.float32)
            r_pointer, r_elements = r.ctypes.data, r.size
        positions = None
        if position is not None:
            positions = np.ascontiguousarray(np.broadcast_to(np.asarray(position, dtype=np.uint64), (m,)))
        h = _lib.handle()
        check(lib.landmark_retriever_query_batch(self.handle, m, q.ctypes.data, q.size, r_pointer, r_elements,
                                                 None if positions is None else positions.ctypes.data,
                                                 ctypes.byref(h)))
        results = _results(h)
        return results[0] if single else results

    def ask(self, question):
        """Text stores: a question through the store's hashing encoder -> a Result."""
        data = question.encode() if isinstance(question, str) else bytes(question)
        h = _lib.handle()
        check(lib.landmark_retriever_query_text(self.handle, data, len(data), ctypes.byref(h)))
        return _results(h)[0]
