"""The chunk store from Python: StoreWriter (create, append, ingest, commit;
a context manager) and Store (read-only: info, chunk text)."""
import ctypes
import json
import os

import numpy as np

from . import _lib
from ._lib import check, lib

_NAMES = {v: k for k, v in _lib.DTYPES.items()}
_KINDS = {v: k for k, v in _lib.LANDMARKS.items()}


def _info_dict(info):
    return {
        "chunk_size": info.chunk_size, "kv_heads": info.kv_heads, "head_dim": info.head_dim,
        "dtype": _NAMES[info.dtype], "landmark": _KINDS[info.landmark], "landmark_heads": info.landmark_heads,
        "landmark_dim": info.landmark_dim, "commit": info.commit, "chunks": info.chunks, "tokens": info.tokens,
        "tail_tokens": info.tail_tokens, "kv_bytes": info.kv_bytes, "landmark_bytes": info.landmark_bytes,
        "text_bytes": info.text_bytes, "has_text": bool(info.has_text), "text_encoder": bool(info.text_encoder),
    }


def info(path):
    """The store's manifest (shape, counts, sizes) as a dict; reads nothing else."""
    i = _lib.init(_lib.StoreInfo, "landmark_store_info_init")
    check(lib.landmark_store_info_read(_lib.path_bytes(path), ctypes.byref(i)))
    return _info_dict(i)


def manifest(path):
    """The full manifest, creation metadata included, parsed from JSON."""
    n = _lib.size_t()
    check(lib.landmark_store_info_json(_lib.path_bytes(path), None, 0, ctypes.byref(n)))
    buffer = ctypes.create_string_buffer(n.value + 1)
    check(lib.landmark_store_info_json(_lib.path_bytes(path), buffer, n.value + 1, ctypes.byref(n)))
    return json.loads(buffer.value.decode())


def verify(path):
    """[] if the store is sound, else its problems (each naming its file)."""
    try:
        check(lib.landmark_store_verify(_lib.path_bytes(path), None))
    except _lib.Error as e:
        if e.status != "LANDMARK_ERROR_IO" or not os.path.isdir(path):
            raise
        return str(e).split("\n")
    return []


def _kv_array(x):
    """A C-contiguous f32 or f16 array: zero-copy when it already is one,
    else converted to f32 (a copy)."""
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float16):
        x = x.astype(np.float32)
    return np.ascontiguousarray(x)


# The keyword arguments whose preset key (configs/README.md) has another name.
_KEYS = {"segment_bytes": "segment_size", "encoder_seed": "seed"}


def _options(config, fields):
    o = _lib.init(_lib.StoreOptions, "landmark_store_options_init")
    config = _lib.load_config(config)
    if config is not None:
        config.apply("landmark_config_store_options", o)
    for key, value in fields.items():  # through the library's table: its names, ranges and messages
        if value is not None:
            _lib.set_option("landmark_store_options_set", o, _KEYS.get(key, key), value, "StoreWriter")
    return o


class StoreWriter(_lib.Handle):
    """Appends to a store; one writer per store. Use as a context manager
    (`with StoreWriter.create(...) as w:`); closing commits."""

    _close, _what = "landmark_writer_close", "writer"

    def __init__(self, h, path):
        super().__init__()
        self._h = h
        self.path = os.fspath(path)

    @classmethod
    def create(cls, path, *, config=None, chunk_size=None, kv_heads=None, head_dim=None, dtype=None, landmark=None,
               landmark_heads=None, landmark_dim=None, commit_every=None, segment_bytes=None):
        """A new store of tensors (K/V from a model). `config`: a preset
        path; explicit arguments win over it."""
        o = _options(config, dict(chunk_size=chunk_size, kv_heads=kv_heads, head_dim=head_dim, dtype=dtype,
                                  landmark=landmark, landmark_heads=landmark_heads, landmark_dim=landmark_dim,
                                  commit_every=commit_every, segment_bytes=segment_bytes))
        h = _lib.handle()
        check(lib.landmark_writer_create(_lib.path_bytes(path), ctypes.byref(o), ctypes.byref(h)))
        return cls(h, path)

    @classmethod
    def create_text(cls, path, *, config=None, chunk_size=None, kv_heads=None, head_dim=None, dtype=None,
                    landmark=None, seed=None, bigram_weight=None, commit_every=None):
        """A new text store, encoded by the built-in hashing encoder
        (head_dim 64 by default; 256-512 retrieves better)."""
        o = _options(config, dict(chunk_size=chunk_size, kv_heads=kv_heads, head_dim=head_dim, dtype=dtype,
                                  landmark=landmark, encoder_seed=seed, bigram_weight=bigram_weight,
                                  commit_every=commit_every))
        h = _lib.handle()
        check(lib.landmark_writer_create_text(_lib.path_bytes(path), ctypes.byref(o), ctypes.byref(h)))
        return cls(h, path)

    @classmethod
    def open(cls, path):
        """An existing store, to append to."""
        h = _lib.handle()
        check(lib.landmark_writer_open(_lib.path_bytes(path), ctypes.byref(h)))
        return cls(h, path)

    def append(self, keys, values, landmarks=None):
        """Appends tokens: keys, values [tokens, kv_heads, head_dim] (f32 or
        f16; C-contiguous ones are read in place, others converted to f32);
        learned stores: landmarks [chunks completed, landmark_heads, dim]."""
        keys, values = _kv_array(keys), _kv_array(values)
        if keys.ndim != 3 or keys.shape != values.shape or keys.dtype != values.dtype:
            raise ValueError(f"keys {keys.shape} {keys.dtype} and values {values.shape} {values.dtype} must both "
                             "be [tokens, kv_heads, head_dim] of one dtype")
        t = _lib.init(_lib.Tokens, "landmark_tokens_init")
        t.tokens, t.kv_heads, t.head_dim = keys.shape
        t.dtype = _lib.DTYPES["f16" if keys.dtype == np.float16 else "f32"]
        t.keys, t.values = keys.ctypes.data, values.ctypes.data
        if landmarks is not None:
            landmarks = _kv_array(landmarks)
            if landmarks.ndim != 3:
                raise ValueError(f"landmarks must be [chunks, landmark_heads, landmark_dim], are {landmarks.shape}")
            t.landmarks = landmarks.ctypes.data
            t.landmark_chunks, t.landmark_heads, t.landmark_dim = landmarks.shape
            t.landmarks_dtype = _lib.DTYPES["f16" if landmarks.dtype == np.float16 else "f32"]
        check(lib.landmark_writer_append(self.handle, ctypes.byref(t)))

    def append_text(self, text):
        """Text stores: one document of text (str or UTF-8 bytes)."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        check(lib.landmark_writer_append_text(self.handle, data, len(data)))

    def remove(self, path):
        """Text stores with an index: removes the documents ingested as
        `path` from every answer (from the next commit); returns how many."""
        n = _lib.size_t()
        check(lib.landmark_writer_remove_document(self.handle, _lib.path_bytes(path), ctypes.byref(n)))
        return n.value

    def add_files(self, paths, *, progress=None, strict=False, threads=None, force=False):
        """Text stores: every text file under `paths` (files or folders,
        recursively), each a document; a file whose content the store
        already holds is skipped unless `force`. `progress(dict)` is called as input
        is read; returning True stops the ingest (landmark.Error, status
        LANDMARK_ERROR_CANCELLED). Returns counts as a dict."""
        if isinstance(paths, (str, bytes, os.PathLike)):
            paths = [paths]
        encoded = [_lib.path_bytes(p) for p in paths]
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        return self._ingest(lambda o, s: lib.landmark_writer_ingest_files(self.handle, array, len(encoded), o, s),
                            progress, strict, threads, force)

    def ingest_tensors(self, keys, values, landmarks=None, *, progress=None, threads=None):
        """Keys and values from .npy or .safetensors[:NAME] files."""
        return self._ingest(lambda o, s: lib.landmark_writer_ingest_tensors(
            self.handle, _lib.path_bytes(keys), _lib.path_bytes(values),
            None if landmarks is None else _lib.path_bytes(landmarks), o, s), progress, False, threads)

    def _ingest(self, call, progress, strict, threads, force=False):
        o = _lib.init(_lib.IngestOptions, "landmark_ingest_options_init")
        o.strict = int(strict)
        o.force = int(force)
        failure = []

        def bridge(p, _user):
            try:
                stop = progress({"tokens": p.contents.tokens, "input_bytes": p.contents.input_bytes,
                                 "input_total": p.contents.input_total, "files_done": p.contents.files_done,
                                 "files_total": p.contents.files_total,
                                 "current": os.fsdecode(p.contents.current or b"")})
                return 1 if stop else 0
            except BaseException as e:  # raised again after the call
                failure.append(e)
                return 1

        if progress is not None:
            o.progress = _lib.PROGRESS_FN(bridge)
        arena = _lib.arena_for(threads, None)
        if arena is not None:
            o.arena = arena.handle
        stats = _lib.IngestStats()
        try:
            check(call(ctypes.byref(o), ctypes.byref(stats)))
        except _lib.Error:
            if failure:
                raise failure[0]
            raise
        return {"tokens": stats.tokens, "input_bytes": stats.input_bytes, "files": stats.files,
                "skipped": stats.skipped}

    def commit(self):
        """Makes everything appended so far durable and visible to readers."""
        check(lib.landmark_writer_commit(self.handle))

    @property
    def info(self):
        i = _lib.init(_lib.StoreInfo, "landmark_store_info_init")
        check(lib.landmark_writer_get_info(self.handle, ctypes.byref(i)))
        return _info_dict(i)


class Store(_lib.Handle):
    """A read-only, memory-mapped view of a store's last commit."""

    _close, _what = "landmark_store_close", "store"

    def __init__(self, path):
        super().__init__()
        self.path = os.fspath(path)
        check(lib.landmark_store_open(_lib.path_bytes(path), ctypes.byref(self._h)))

    @property
    def info(self):
        i = _lib.init(_lib.StoreInfo, "landmark_store_info_init")
        check(lib.landmark_store_get_info(self.handle, ctypes.byref(i)))
        return _info_dict(i)

    def chunk_text(self, chunk):
        """The source text of a chunk (text stores; else "")."""
        p, n = ctypes.c_void_p(), _lib.size_t()
        check(lib.landmark_store_chunk_text(self.handle, chunk, ctypes.byref(p), ctypes.byref(n)))
        return ctypes.string_at(p, n.value).decode(errors="replace") if n.value else ""

    def refresh(self):
        """Sees commits made since opening; True if there were any."""
        changed = ctypes.c_int()
        check(lib.landmark_store_refresh(self.handle, ctypes.byref(changed)))
        return bool(changed.value)
