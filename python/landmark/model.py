"""landmark's byte model from Python (docs/model.md): text through its lower
layers into a store, pass-key questions answered by its upper layers.

    model = landmark.Model()                    # the shipped weights
    model.ingest("vaults.store", files=["notes/"])
    answer = model.ask("vault.store", "pass key for vault 123")
    print(answer.text, answer.stopped)

The shipped weights answer one kind of question (`landmark.MODEL_TASK`);
others raise landmark.Error instead of returning a made-up answer.
"""
import ctypes
import json
import os
from dataclasses import dataclass

from . import _lib
from ._lib import check, lib

MODEL_TASK = lib.landmark_model_task().decode()


@dataclass
class ModelAnswer:
    text: str          # the answer's bytes (without the stop byte)
    stopped: bool      # False: cut at max_bytes, not a finished answer
    steps: int         # forward passes
    seconds: float
    bytes_read: int    # store bytes: landmarks scored + K/V attended


class Model(_lib.Handle):
    """Weights loaded once: "default" (the shipped ones, or $LANDMARK_MODEL)
    or a .safetensors path."""

    _close, _what = "landmark_model_close", "model"

    def __init__(self, weights="default"):
        super().__init__()
        check(lib.landmark_model_load(_lib.path_bytes(weights), ctypes.byref(self._h)))

    @property
    def config(self):
        """The model's shape (docs/model.md) as a dict."""
        n = _lib.size_t()
        check(lib.landmark_model_config_json(self.handle, None, 0, ctypes.byref(n)))
        buffer = ctypes.create_string_buffer(n.value + 1)
        check(lib.landmark_model_config_json(self.handle, buffer, n.value + 1, ctypes.byref(n)))
        return json.loads(buffer.value.decode())

    def ingest(self, store, files=None, text=None):
        """Text files/directories (`files`) or a str (`text`) into `store`
        (created, or continued when this model wrote it); returns its tokens."""
        if (files is None) == (text is None):
            raise ValueError("give files or text (one of them)")
        tokens = _lib.u64()
        if files is not None:
            if isinstance(files, (str, bytes, os.PathLike)):
                files = [files]
            paths = [_lib.path_bytes(f) for f in files]
            array = (ctypes.c_char_p * len(paths))(*paths)
            check(lib.landmark_model_ingest_files(self.handle, _lib.path_bytes(store), array, len(paths),
                                                  ctypes.byref(tokens)))
        else:
            data = text.encode() if isinstance(text, str) else bytes(text)
            check(lib.landmark_model_ingest_text(self.handle, _lib.path_bytes(store), data, len(data),
                                                 ctypes.byref(tokens)))
        return tokens.value

    def ask(self, store, question, max_bytes=16, raw=False):
        """A ModelAnswer to `question` about `store`; a question of another
        kind than MODEL_TASK raises landmark.Error (raw=True sends the bytes
        as given, unchecked)."""
        max_bytes = _lib.unsigned("max_bytes", max_bytes)
        answer = _lib.init(_lib.ModelAnswerInfo, "landmark_model_answer_init")
        q = question.encode() if isinstance(question, str) else bytes(question)
        if b"\0" in q:
            raise ValueError("question contains a NUL byte")
        length = _lib.size_t()
        buffer = ctypes.create_string_buffer(max_bytes + 1)
        check(lib.landmark_model_ask(self.handle, _lib.path_bytes(store), q, max_bytes, int(bool(raw)), buffer,
                                     max_bytes + 1, ctypes.byref(length), ctypes.byref(answer)))
        return ModelAnswer(buffer.raw[:length.value].decode(errors="replace"), bool(answer.stopped), answer.steps,
                           answer.seconds, answer.bytes_read)
