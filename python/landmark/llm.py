"""Pretrained LLMs from their Hugging Face directories (Llama, Qwen2, Qwen3,
Mistral): generate, ingest documents into a store once, ask it forever.

    import landmark
    model = landmark.Llm("Qwen2.5-0.5B-Instruct")
    print(model.generate("Name three rivers.", max_tokens=40).text)
    model.ingest("library.store", ["docs/"])
    with model.answerer("library.store") as a:
        answer = a.ask("What does the manual say about backups?")
    print(answer.text, answer.sources[0].document, answer.sources[0].offset)
"""
import ctypes
import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from . import _lib
from ._lib import P, check, lib, size_t, u64

TEXT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, size_t, ctypes.c_void_p)


class GenerationOptions(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("max_tokens", size_t), ("temperature", ctypes.c_double),
                ("top_p", ctypes.c_double), ("top_k", ctypes.c_int64), ("seed", u64),
                ("chat_format", ctypes.c_char_p), ("system", ctypes.c_char_p), ("on_text", TEXT_FN),
                ("user_data", ctypes.c_void_p)]


class RetrievalOptions(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("sink_chunks", size_t), ("window", size_t), ("top_k", size_t)]


class LlmIngestOptions(ctypes.Structure):
    _fields_ = [("struct_size", size_t), ("chunk_size", size_t), ("dtype", ctypes.c_int), ("landmark", ctypes.c_int),
                ("segment", size_t), ("chat_format", ctypes.c_char_p), ("system", ctypes.c_char_p),
                ("strict", ctypes.c_int), ("retrieval", RetrievalOptions), ("progress", _lib.PROGRESS_FN),
                ("user_data", ctypes.c_void_p)]


class AnswerStats(ctypes.Structure):
    _fields_ = [("prompt_tokens", size_t), ("generated_tokens", size_t), ("stopped", ctypes.c_int),
                ("prefill_seconds", ctypes.c_double), ("decode_seconds", ctypes.c_double)]


class SourceC(ctypes.Structure):
    _fields_ = [("document", ctypes.c_char_p), ("offset", u64), ("chunk", u64), ("share", ctypes.c_double),
                ("text", ctypes.c_void_p), ("text_length", size_t)]


H = _lib.handle
for _name, (_restype, _argtypes) in {
    "landmark_llm_load": (ctypes.c_int, [ctypes.c_char_p, P(H)]),
    "landmark_llm_describe": (ctypes.c_int, [H, ctypes.c_char_p, size_t, P(size_t)]),
    "landmark_llm_close": (ctypes.c_int, [H]),
    "landmark_generation_options_init": (None, [P(GenerationOptions)]),
    "landmark_llm_generate": (ctypes.c_int, [H, ctypes.c_char_p, P(GenerationOptions), P(H)]),
    "landmark_llm_retrieval_options_init": (None, [P(RetrievalOptions)]),
    "landmark_llm_ingest_options_init": (None, [P(LlmIngestOptions)]),
    "landmark_llm_ingest_files": (ctypes.c_int, [H, ctypes.c_char_p, P(ctypes.c_char_p), size_t,
                                                 P(LlmIngestOptions), P(_lib.IngestStats)]),
    "landmark_llm_ingest_text": (ctypes.c_int, [H, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, size_t,
                                                P(LlmIngestOptions), P(_lib.IngestStats)]),
    "landmark_llm_answerer_open": (ctypes.c_int, [H, ctypes.c_char_p, P(RetrievalOptions), P(H)]),
    "landmark_llm_ask": (ctypes.c_int, [H, ctypes.c_char_p, P(GenerationOptions), P(H)]),
    "landmark_llm_answerer_close": (ctypes.c_int, [H]),
    "landmark_llm_answer_text": (ctypes.c_int, [H, P(ctypes.c_void_p), P(size_t)]),
    "landmark_llm_answer_stats_get": (ctypes.c_int, [H, P(AnswerStats)]),
    "landmark_llm_answer_source_count": (ctypes.c_int, [H, P(size_t)]),
    "landmark_llm_answer_source": (ctypes.c_int, [H, size_t, P(SourceC)]),
    "landmark_llm_answer_close": (ctypes.c_int, [H]),
}.items():
    _f = getattr(lib, _name)
    _f.restype = _restype
    _f.argtypes = _argtypes


@dataclass
class Source:
    """A chunk the layers chose while reading the question."""
    document: str  # its path as ingested ("" for the chat preamble)
    offset: int    # byte offset of its first token in the document
    chunk: int
    share: float   # of all (layer, kv head) selections
    text: str


@dataclass
class Answer:
    text: str
    prompt_tokens: int
    generated_tokens: int
    stopped: bool  # an end-of-sequence token came (else max_tokens ran out)
    prefill_seconds: float
    decode_seconds: float
    sources: List[Source] = field(default_factory=list)


def _text(value, what):
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{what} contains a NUL byte")
    return value.encode()


def _generation(max_tokens, temperature, top_p, top_k, seed, chat_format, system, on_text):
    o = _lib.init(GenerationOptions, "landmark_generation_options_init")
    if max_tokens is not None:
        o.max_tokens = _lib.unsigned("max_tokens", max_tokens)
    for key, value in (("temperature", temperature), ("top_p", top_p)):
        if value is not None:
            if not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number, is {value}")
            setattr(o, key, value)
    if top_k is not None:
        o.top_k = top_k
    o.seed = _lib.unsigned("seed", seed)
    o.chat_format = _text(chat_format, "chat_format")
    o.system = _text(system, "system")
    callback = None
    if on_text is not None:
        def bridge(text, length, _user):
            try:
                return 0 if on_text(ctypes.string_at(text, length).decode(errors="replace")) is not False else 1
            except Exception:  # an exception cannot cross C: stop
                return 1
        callback = TEXT_FN(bridge)
        o.on_text = callback
    return o, callback


def _answer(h):
    try:
        text, n = ctypes.c_void_p(), size_t()
        check(lib.landmark_llm_answer_text(h, ctypes.byref(text), ctypes.byref(n)))
        s = AnswerStats()
        check(lib.landmark_llm_answer_stats_get(h, ctypes.byref(s)))
        count = size_t()
        check(lib.landmark_llm_answer_source_count(h, ctypes.byref(count)))
        sources = []
        for i in range(count.value):
            c = SourceC()
            check(lib.landmark_llm_answer_source(h, i, ctypes.byref(c)))
            sources.append(Source(c.document.decode(errors="replace"), c.offset, c.chunk, c.share,
                                  ctypes.string_at(c.text, c.text_length).decode(errors="replace")))
        return Answer(ctypes.string_at(text, n.value).decode(errors="replace"), s.prompt_tokens,
                      s.generated_tokens, bool(s.stopped), s.prefill_seconds, s.decode_seconds, sources)
    finally:
        lib.landmark_llm_answer_close(h)


def _retrieval(window, top_k, sink_chunks):
    r = _lib.init(RetrievalOptions, "landmark_llm_retrieval_options_init")
    for key, value in (("window", window), ("top_k", top_k), ("sink_chunks", sink_chunks)):
        if value is not None:
            setattr(r, key, _lib.unsigned(key, value))
    return r


class Llm(_lib.Handle):
    """A model directory (config.json, *.safetensors, tokenizer.json), memory-mapped."""
    _close = "landmark_llm_close"
    _what = "model"

    def __init__(self, path):
        super().__init__()
        check(lib.landmark_llm_load(_lib.path_bytes(path), ctypes.byref(self._h)))

    def describe(self):
        """The model's shape (architecture, layers, heads, vocabulary, ...) as a dict."""
        import json
        n = size_t()
        check(lib.landmark_llm_describe(self.handle, None, 0, ctypes.byref(n)))
        buffer = ctypes.create_string_buffer(n.value + 1)
        check(lib.landmark_llm_describe(self.handle, buffer, n.value + 1, ctypes.byref(n)))
        return json.loads(buffer.value.decode())

    def generate(self, prompt: str, max_tokens: int = 256, temperature: Optional[float] = None,
                 top_p: Optional[float] = None, top_k: Optional[int] = None, seed: int = 0,
                 chat_format: Optional[str] = None, system: Optional[str] = None,
                 on_text: Optional[Callable[[str], object]] = None) -> Answer:
        """A reply to `prompt` in the model's chat template (plain text for a
        base model; chat_format="raw" forces it). Sampling left as None comes
        from generation_config.json, else greedy. on_text gets the text as it
        is generated (return False to stop)."""
        o, keep = _generation(max_tokens, temperature, top_p, top_k, seed, chat_format, system, on_text)
        h = _lib.handle()
        check(lib.landmark_llm_generate(self.handle, _text(prompt, "prompt"), ctypes.byref(o), ctypes.byref(h)))
        del keep
        return _answer(h)

    def ingest(self, store, paths=None, text=None, name=None, chunk_size=None, dtype=None, landmark=None,
               chat_format=None, system=None, strict=False, window=None, top_k=None,
               progress: Optional[Callable[[dict], object]] = None):
        """Runs text files under `paths` (or one `text` under `name`) through
        the model into `store` (created, or added to / resumed). Returns
        {"tokens", "input_bytes", "files", "skipped"}."""
        o = _lib.init(LlmIngestOptions, "landmark_llm_ingest_options_init")
        if chunk_size is not None:
            o.chunk_size = _lib.unsigned("chunk_size", chunk_size)
        if dtype is not None:
            o.dtype = _lib.choice(_lib.DTYPES, dtype, "dtype")
        if landmark is not None:
            o.landmark = _lib.choice({"mean": 1, "minmax": 2}, landmark, "landmark")
        o.chat_format = _text(chat_format, "chat_format")
        o.system = _text(system, "system")
        o.strict = int(bool(strict))
        if window is not None:
            o.retrieval.window = _lib.unsigned("window", window)
        if top_k is not None:
            o.retrieval.top_k = _lib.unsigned("top_k", top_k)
        keep = None
        if progress is not None:
            def bridge(p, _user):
                p = p.contents
                try:
                    return 0 if progress({"tokens": p.tokens, "input_bytes": p.input_bytes,
                                          "input_total": p.input_total, "files_done": p.files_done,
                                          "files_total": p.files_total}) is not False else 1
                except Exception:
                    return 1
            keep = _lib.PROGRESS_FN(bridge)
            o.progress = keep
        stats = _lib.IngestStats()
        if (paths is None) == (text is None):
            raise ValueError("give either paths or text (with a name)")
        if text is not None:
            data = text.encode() if isinstance(text, str) else bytes(text)
            check(lib.landmark_llm_ingest_text(self.handle, _lib.path_bytes(store), _text(name or "text", "name"),
                                               data, len(data), ctypes.byref(o), ctypes.byref(stats)))
        else:
            if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__"):
                paths = [paths]
            encoded = [_lib.path_bytes(p) for p in paths]
            array = (ctypes.c_char_p * len(encoded))(*encoded)
            check(lib.landmark_llm_ingest_files(self.handle, _lib.path_bytes(store), array, len(encoded),
                                                ctypes.byref(o), ctypes.byref(stats)))
        del keep
        return {"tokens": stats.tokens, "input_bytes": stats.input_bytes, "files": stats.files,
                "skipped": stats.skipped}

    def answerer(self, store, window=None, top_k=None, sink_chunks=None):
        """Opens an ingested store for questions (see Answerer)."""
        return Answerer(self, store, window, top_k, sink_chunks)


class Answerer(_lib.Handle):
    """Questions to a store ingested with this model: every layer attends the
    sinks, an exact local window and the top-k chunks its landmarks choose."""
    _close = "landmark_llm_answerer_close"
    _what = "answerer"

    def __init__(self, model: Llm, store, window=None, top_k=None, sink_chunks=None):
        super().__init__()
        self._model = model  # the model outlives the answerer
        r = _retrieval(window, top_k, sink_chunks)
        check(lib.landmark_llm_answerer_open(model.handle, _lib.path_bytes(store), ctypes.byref(r),
                                             ctypes.byref(self._h)))

    def ask(self, question: str, max_tokens: int = 256, temperature: Optional[float] = None,
            top_p: Optional[float] = None, top_k: Optional[int] = None, seed: int = 0,
            on_text: Optional[Callable[[str], object]] = None) -> Answer:
        """The answer and the chunks (file, byte offset) it used."""
        o, keep = _generation(max_tokens, temperature, top_p, top_k, seed, None, None, on_text)
        h = _lib.handle()
        check(lib.landmark_llm_ask(self.handle, _text(question, "question"), ctypes.byref(o), ctypes.byref(h)))
        del keep
        return _answer(h)
