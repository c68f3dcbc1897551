"""landmark: ultra-long-context sparse attention on CPUs, from Python.

    import landmark
    with landmark.StoreWriter.create_text("docs.store", head_dim=256) as w:
        w.add_files(["my-notes/"])
    store = landmark.Store("docs.store")
    result = landmark.Retriever(store, top_k=4).ask("where is the spare key?")
    print(result.selections[0].texts[0])

A thin layer over the C API (liblandmark, include/landmark/landmark.h)
through ctypes; arrays are numpy. Failures raise landmark.Error carrying the
library's message and status.
"""
from ._lib import Arena, Config, Error
from ._lib import lib as _c
from .llm import Answer, Answerer, Llm, Source
from .model import MODEL_TASK, Model, ModelAnswer
from .prefill import PrefillResult, prefill
from .retrieval import Result, Retriever, Selection
from .store import Store, StoreWriter, info, manifest, verify

__version__ = _c.landmark_version().decode()
API_VERSION = _c.landmark_api_version()

__all__ = ["Answer", "Answerer", "Arena", "Config", "Error", "Llm", "MODEL_TASK", "Model", "ModelAnswer", "PrefillResult", "Result", "Retriever", "Selection", "Source", "Store", "StoreWriter",
           "info", "manifest", "prefill", "verify", "__version__", "API_VERSION"]
