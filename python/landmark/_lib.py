"""ctypes bindings of the C API (include/landmark/landmark.h): the shared
library, the C structs, and the status check that raises landmark.Error."""
import ctypes
import ctypes.util
import os
from pathlib import Path

API_VERSION = 1

size_t = ctypes.c_size_t
u64 = ctypes.c_uint64
c_int = ctypes.c_int
handle = ctypes.c_void_p

DTYPES = {"f32": 0, "f16": 1, "bf16": 2}
LANDMARKS = {"learned": 0, "mean": 1, "minmax": 2}
LAST_POSITION = (1 << 64) - 1


class Error(Exception):
    """A call into landmark failed; `status` is the C status name
    (e.g. "LANDMARK_ERROR_INVALID_ARGUMENT"), the message is the library's."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class StoreOptions(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("chunk_size", size_t), ("kv_heads", size_t), ("head_dim", size_t),
                ("dtype", c_int), ("landmark", c_int), ("landmark_heads", size_t), ("landmark_dim", size_t),
                ("commit_every", size_t), ("segment_bytes", size_t), ("encoder_seed", u64),
                ("bigram_weight", ctypes.c_float)]


class StoreInfo(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("chunk_size", size_t), ("kv_heads", size_t), ("head_dim", size_t),
                ("dtype", c_int), ("landmark", c_int), ("landmark_heads", size_t), ("landmark_dim", size_t),
                ("commit", u64), ("chunks", u64), ("tokens", u64), ("tail_tokens", u64), ("kv_bytes", u64),
                ("landmark_bytes", u64), ("text_bytes", u64), ("has_text", c_int), ("text_encoder", c_int)]


class Tokens(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("tokens", size_t), ("kv_heads", size_t), ("head_dim", size_t),
                ("dtype", c_int), ("keys", ctypes.c_void_p), ("values", ctypes.c_void_p),
                ("landmarks", ctypes.c_void_p), ("landmark_chunks", size_t), ("landmark_heads", size_t),
                ("landmark_dim", size_t), ("landmarks_dtype", c_int), ("text", ctypes.c_char_p),
                ("text_length", size_t), ("token_text_end", ctypes.POINTER(ctypes.c_uint32))]


class Progress(ctypes.Structure):
    _fields_ = [("tokens", u64), ("input_bytes", u64), ("input_total", u64), ("files_done", size_t),
                ("files_total", size_t), ("current", ctypes.c_char_p)]


PROGRESS_FN = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(Progress), ctypes.c_void_p)


class IngestOptions(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("strict", c_int), ("progress", PROGRESS_FN),
                ("user_data", ctypes.c_void_p), ("arena", handle), ("force", c_int)]


class IngestStats(ctypes.Structure):
    _fields_ = [("tokens", u64), ("input_bytes", u64), ("files", size_t), ("skipped", size_t)]


class RetrieverOptions(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("q_heads", size_t), ("top_k", size_t), ("fusion", c_int),
                ("weights", c_int), ("softmax_off_by_one", c_int), ("window", size_t), ("sink_chunks", size_t),
                ("prefetch", c_int), ("temperature", ctypes.c_float), ("device", c_int), ("arena", handle)]


class QueryStats(ctypes.Structure):
    _fields_ = [("position", u64), ("candidates", u64), ("local_tokens", u64), ("bytes_touched", u64),
                ("selections", size_t)]


class PrefillOptions(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("policy", c_int), ("block", size_t), ("threshold_alpha", c_int),
                ("delta", ctypes.c_float), ("alpha", ctypes.c_float), ("vertical_fraction", ctypes.c_double),
                ("slash_count", size_t), ("importance", c_int), ("sparsity", ctypes.c_double), ("window", size_t),
                ("stride", size_t), ("dilation", size_t), ("dilated_count", size_t),
                ("dma_weights", ctypes.POINTER(ctypes.c_float)), ("dma_weights_elements", size_t),
                ("device", c_int), ("arena", handle)]


class PrefillStats(ctypes.Structure):
    _fields_ = [("blocks", size_t), ("selected_blocks", size_t), ("density", ctypes.c_double),
                ("mask_seconds", ctypes.c_double), ("attention_seconds", ctypes.c_double)]


class ModelAnswerInfo(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("stopped", c_int), ("steps", size_t), ("seconds", ctypes.c_double),
                ("bytes_read", u64)]


def _candidates():
    """Where liblandmark may be: $LANDMARK_LIBRARY, beside an installed
    package (recorded at install), a source checkout's build/, the system."""
    if os.environ.get("LANDMARK_LIBRARY"):
        yield os.environ["LANDMARK_LIBRARY"]
        return
    here = Path(__file__).resolve().parent
    try:
        from . import _installed  # written by `cmake --install`
        yield str((here / _installed.LIBRARY).resolve())
    except ImportError:
        pass
    yield str(here.parent.parent / "build" / "lib" / "liblandmark.so")
    found = ctypes.util.find_library("landmark")
    if found:
        yield found


def _load():
    # oneDNN's OpenMP workers spin while idle unless told otherwise, taking
    # CPU from the TBB work of queries (see apps/cli/main.cc); libgomp reads
    # this once, as the library loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("landmark: cannot load liblandmark (set LANDMARK_LIBRARY to its path); tried: " +
                      "; ".join(tried))


lib = _load()

P = ctypes.POINTER
_signatures = {
    "landmark_status_name": (ctypes.c_char_p, [c_int]),
    "landmark_last_error": (ctypes.c_char_p, []),
    "landmark_api_version": (c_int, []),
    "landmark_version": (ctypes.c_char_p, []),
    "landmark_arena_create": (c_int, [size_t, P(handle)]),
    "landmark_arena_close": (c_int, [handle]),
    "landmark_config_load": (c_int, [ctypes.c_char_p, P(handle)]),
    "landmark_config_threads": (c_int, [handle, P(size_t)]),
    "landmark_config_close": (c_int, [handle]),
    "landmark_store_options_init": (None, [P(StoreOptions)]),
    "landmark_config_store_options": (c_int, [handle, P(StoreOptions)]),
    "landmark_store_options_set": (c_int, [P(StoreOptions), ctypes.c_char_p, ctypes.c_char_p]),
    "landmark_store_info_init": (None, [P(StoreInfo)]),
    "landmark_store_info_read": (c_int, [ctypes.c_char_p, P(StoreInfo)]),
    "landmark_store_info_json": (c_int, [ctypes.c_char_p, ctypes.c_char_p, size_t, P(size_t)]),
    "landmark_store_verify": (c_int, [ctypes.c_char_p, P(size_t)]),
    "landmark_writer_create": (c_int, [ctypes.c_char_p, P(StoreOptions), P(handle)]),
    "landmark_writer_create_text": (c_int, [ctypes.c_char_p, P(StoreOptions), P(handle)]),
    "landmark_writer_open": (c_int, [ctypes.c_char_p, P(handle)]),
    "landmark_tokens_init": (None, [P(Tokens)]),
    "landmark_writer_append": (c_int, [handle, P(Tokens)]),
    "landmark_writer_append_text": (c_int, [handle, ctypes.c_char_p, size_t]),
    "landmark_ingest_options_init": (None, [P(IngestOptions)]),
    "landmark_writer_ingest_files": (c_int, [handle, P(ctypes.c_char_p), size_t, P(IngestOptions), P(IngestStats)]),
    "landmark_writer_ingest_tensors": (c_int, [handle, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                               P(IngestOptions), P(IngestStats)]),
    "landmark_writer_commit": (c_int, [handle]),
    "landmark_writer_get_info": (c_int, [handle, P(StoreInfo)]),
    "landmark_writer_close": (c_int, [handle]),
    "landmark_store_open": (c_int, [ctypes.c_char_p, P(handle)]),
    "landmark_store_get_info": (c_int, [handle, P(StoreInfo)]),
    "landmark_store_refresh": (c_int, [handle, P(c_int)]),
    "landmark_store_chunk_text": (c_int, [handle, u64, P(ctypes.c_void_p), P(size_t)]),
    "landmark_store_close": (c_int, [handle]),
    "landmark_retriever_options_init": (None, [P(RetrieverOptions)]),
    "landmark_config_retriever_options": (c_int, [handle, P(RetrieverOptions)]),
    "landmark_retriever_options_set": (c_int, [P(RetrieverOptions), ctypes.c_char_p, ctypes.c_char_p]),
    "landmark_retriever_create": (c_int, [handle, P(RetrieverOptions), P(handle)]),
    "landmark_retriever_shape": (c_int, [handle, P(size_t), P(size_t), P(size_t), P(size_t)]),
    "landmark_retriever_close": (c_int, [handle]),
    "landmark_retriever_query_batch": (c_int, [handle, size_t, ctypes.c_void_p, size_t, ctypes.c_void_p, size_t,
                                               ctypes.c_void_p, P(handle)]),
    "landmark_retriever_query_text": (c_int, [handle, ctypes.c_char_p, size_t, P(handle)]),
    "landmark_result_count": (c_int, [handle, P(size_t)]),
    "landmark_result_output": (c_int, [handle, size_t, P(P(ctypes.c_float)), P(P(ctypes.c_float)),
                                       P(P(ctypes.c_float)), P(P(ctypes.c_float)), P(size_t), P(size_t)]),
    "landmark_result_stats": (c_int, [handle, size_t, P(QueryStats)]),
    "landmark_result_selection": (c_int, [handle, size_t, size_t, P(size_t), P(P(ctypes.c_uint32)),
                                          P(P(ctypes.c_float)), P(P(ctypes.c_float))]),
    "landmark_result_chunk_text": (c_int, [handle, size_t, size_t, size_t, P(ctypes.c_void_p), P(size_t)]),
    "landmark_result_chunk_source": (c_int, [handle, size_t, size_t, size_t, P(ctypes.c_char_p), P(u64), P(u64)]),
    "landmark_writer_remove_document": (c_int, [handle, ctypes.c_char_p, P(size_t)]),
    "landmark_result_close": (c_int, [handle]),
    "landmark_prefill_options_init": (None, [P(PrefillOptions)]),
    "landmark_config_prefill_options": (c_int, [handle, P(PrefillOptions)]),
    "landmark_prefill_options_set": (c_int, [P(PrefillOptions), ctypes.c_char_p, ctypes.c_char_p]),
    "landmark_prefill": (c_int, [ctypes.c_void_p, size_t, size_t, size_t, ctypes.c_void_p, ctypes.c_void_p, c_int,
                                 size_t, P(PrefillOptions), ctypes.c_void_p, size_t, ctypes.c_void_p, size_t,
                                 ctypes.c_void_p, size_t, P(PrefillStats)]),
    "landmark_model_load": (c_int, [ctypes.c_char_p, P(handle)]),
    "landmark_model_config_json": (c_int, [handle, ctypes.c_char_p, size_t, P(size_t)]),
    "landmark_model_close": (c_int, [handle]),
    "landmark_model_task": (ctypes.c_char_p, []),
    "landmark_model_ingest_files": (c_int, [handle, ctypes.c_char_p, P(ctypes.c_char_p), size_t, P(u64)]),
    "landmark_model_ingest_text": (c_int, [handle, ctypes.c_char_p, ctypes.c_char_p, size_t, P(u64)]),
    "landmark_model_answer_init": (None, [P(ModelAnswerInfo)]),
    "landmark_model_ask": (c_int, [handle, ctypes.c_char_p, ctypes.c_char_p, size_t, c_int, ctypes.c_char_p, size_t,
                                   P(size_t), P(ModelAnswerInfo)]),
}
for _name, (_restype, _argtypes) in _signatures.items():
    _f = getattr(lib, _name)
    _f.restype = _restype
    _f.argtypes = _argtypes

if lib.landmark_api_version() != API_VERSION:
    raise ImportError(f"landmark: the library speaks API {lib.landmark_api_version()}, this package {API_VERSION}")


def choice(table, value, what):
    """table[value], or a ValueError naming `what` and the choices."""
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"{what} must be one of {', '.join(table)}, not {value!r}") from None


def set_option(function, struct, key, value, what):
    """Sets option `key` of an options struct through the library's table
    (landmark_*_options_set: the preset's keys and checks). An unknown key
    is a TypeError naming `what`, a bad value a ValueError."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    status = getattr(lib, function)(ctypes.byref(struct), key.encode(), text.encode())
    if status != 0:
        message = lib.landmark_last_error().decode(errors="replace")
        raise (TypeError if message.startswith("unknown option") else ValueError)(f"{what}: {message}")


def check(status):
    """Raises landmark.Error with the library's message unless status is OK."""
    if status != 0:
        raise Error(lib.landmark_status_name(status).decode(), lib.landmark_last_error().decode(errors="replace"))


def init(struct_type, init_name):
    s = struct_type()
    getattr(lib, init_name)(ctypes.byref(s))
    return s


def unsigned(key, value):
    """An int the C API takes as size_t: ctypes would wrap a negative one
    to 2^64 - 1 silently."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise ValueError(f"{key} must not be negative, is {value}")
    return value


def path_bytes(path):
    """A path as the C API takes it; a NUL byte (which C would read as the
    end of the path) is refused rather than silently cutting the path."""
    encoded = os.fsencode(os.fspath(path))
    if b"\0" in encoded:
        raise ValueError(f"path {os.fspath(path)!r} contains a NUL byte")
    return encoded


class Handle:
    """Owns one C handle: `close()` releases it (again: a no-op), so does
    leaving a `with` block or garbage collection; using it after close
    raises Error with status LANDMARK_ERROR_CLOSED."""

    _close = None  # the C function that closes this kind of handle
    _what = "handle"

    def __init__(self):
        self._h = handle()

    @property
    def handle(self):
        if not self._h:
            raise Error("LANDMARK_ERROR_CLOSED", f"the {self._what} is closed")
        return self._h

    def close(self):
        if self._h:
            h, self._h = self._h, handle()
            check(getattr(lib, self._close)(h))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None):
            getattr(lib, self._close)(self._h)


class Config(Handle):
    """A preset (configs/*.toml) loaded once; `apply` fills option structs."""

    _close, _what = "landmark_config_close", "config"

    def __init__(self, path):
        super().__init__()
        self.path = os.fspath(path)
        check(lib.landmark_config_load(path_bytes(path), ctypes.byref(self._h)))

    def threads(self):
        n = size_t()
        check(lib.landmark_config_threads(self.handle, ctypes.byref(n)))
        return n.value

    def apply(self, function, struct):
        check(getattr(lib, function)(self.handle, ctypes.byref(struct)))


def load_config(config):
    """None, a path, or a Config -> a Config or None."""
    if config is None or isinstance(config, Config):
        return config
    return Config(config)


class Arena(Handle):
    """A oneTBB task arena of `threads` threads (0: all CPUs) that the calls
    given it run in; handles using it keep their own reference."""

    _close, _what = "landmark_arena_close", "arena"

    def __init__(self, threads):
        super().__init__()
        check(lib.landmark_arena_create(int(threads), ctypes.byref(self._h)))


def arena_for(threads, config):
    """An Arena for `threads` (or the preset's runtime.threads), or None."""
    if threads is None and config is not None and config.threads():
        threads = config.threads()
    return None if threads is None else Arena(threads)
