"""Pretrained LLMs from Python (landmark.Llm): stories260K reproduces its
llama2.c greedy reference; documents ingested into a store are asked with
sources; bad arguments raise with the library's message."""
import math
from pathlib import Path

import pytest

import landmark

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "data" / "llm" / "stories260K" / "hf"
REFERENCE = ROOT / "tests" / "data" / "llm" / "stories260K" / "reference" / "greedy_256.txt"


@pytest.fixture(scope="module")
def model():
    with landmark.Llm(MODEL) as m:
        yield m


def test_describe(model):
    d = model.describe()
    assert d["architecture"] == "LlamaForCausalLM"
    assert d["layers"] == 5 and d["chat_template"] is False


def test_greedy_reference(model):
    pieces = []
    a = model.generate("", max_tokens=256, temperature=0, on_text=pieces.append)
    assert a.generated_tokens == 256 and not a.stopped
    assert a.text.strip() == REFERENCE.read_text().strip()
    assert "".join(pieces) == a.text


def test_callback_stops(model):
    a = model.generate("Once upon a time", max_tokens=50, temperature=0, on_text=lambda t: False)
    assert a.generated_tokens < 5


def test_sampling_is_seeded(model):
    one = model.generate("Tom", max_tokens=20, temperature=0.9, top_p=0.95, seed=7).text
    two = model.generate("Tom", max_tokens=20, temperature=0.9, top_p=0.95, seed=7).text
    assert one == two


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="temperature"):
        model.generate("x", temperature=math.nan)
    with pytest.raises(ValueError, match="max_tokens"):
        model.generate("x", max_tokens=-1)
    with pytest.raises(landmark.Error, match="chatml") as e:
        model.generate("x", chat_format="klingon")
    assert e.value.status == "LANDMARK_ERROR_INVALID_ARGUMENT"
    with pytest.raises(ValueError, match="NUL"):
        model.generate("a\0b")
    with pytest.raises(landmark.Error, match="nonexistent"):
        landmark.Llm("/nonexistent-model-dir")


def test_ingest_and_ask(model, tmp_path):
    doc = tmp_path / "lily.txt"
    doc.write_text("".join(f"Lily had a red ball number {i}. She played with it in the park. " for i in range(40)))
    store = tmp_path / "store"
    seen = []
    stats = model.ingest(store, [doc], chunk_size=16, window=64, top_k=2, progress=seen.append)
    assert stats["files"] == 1 and stats["tokens"] > 400 and seen
    assert model.ingest(store, [doc])["skipped"] == 1  # the same file again
    assert model.ingest(store, text="Tom saw a big dog.", name="memo")["files"] == 1
    with pytest.raises(landmark.Error):
        model.ingest(store, text=b"\xff\xfe", name="bad")
    assert landmark.verify(store) == []
    with model.answerer(store, window=32, top_k=2) as a:
        answer = a.ask("What did Lily play with?", max_tokens=12, temperature=0)
    assert answer.generated_tokens > 0 and answer.sources
    top = answer.sources[0]
    assert top.document.endswith("lily.txt") and 0 < top.share <= 1 and top.text
    assert sum(s.share for s in answer.sources) <= 1 + 1e-9
