"""Issue 16 item 6 from Python: landmark's byte model through the package
(ingest, ask, the refusal of questions it was not trained on). Weights:
$LANDMARK_MODEL (random weights of the default shape, from the ctest fixture)."""
import os

import pytest

import landmark

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "text")


@pytest.fixture(scope="module")
def model():
    with landmark.Model() as m:
        yield m


def test_ux_06_model_config(model):
    config = model.config
    assert config["d_model"] > 0 and config["chunk"] > 0


def test_ux_06_model_ingest_and_ask(model, tmp_path):
    store = str(tmp_path / "model.store")
    tokens = model.ingest(store, files=[os.path.join(DATA, "vaults.txt")])
    assert tokens > 0 and landmark.info(store)["tokens"] == tokens
    more = model.ingest(store, text="The pass key for vault 999 is 12345. ")
    assert more > tokens
    answer = model.ask(store, "What is the pass key of vault 204?")
    assert isinstance(answer.text, str) and answer.steps >= 1 and answer.bytes_read > 0
    assert answer.stopped or len(answer.text) == 16
    cut = model.ask(store, "pass key for vault 204", max_bytes=1)
    assert cut.stopped or len(cut.text) == 1


def test_ux_06_model_refuses_other_questions(model, tmp_path):
    store = str(tmp_path / "model.store")
    model.ingest(store, text="The pass key for vault 7 is 55555. Some more text about nothing in particular. " * 3)
    with pytest.raises(landmark.Error, match="pass key of a numbered vault") as e:
        model.ask(store, "who wrote this text?")
    assert e.value.status == "LANDMARK_ERROR_INVALID_ARGUMENT"
    assert "pass key" in landmark.MODEL_TASK
    with pytest.raises(ValueError):
        model.ask(store, "pass key for vault 7", max_bytes=-1)
    with pytest.raises(landmark.Error, match="max_bytes"):
        model.ask(store, "pass key for vault 7", max_bytes=0)


def test_ux_06_model_bad_weights(tmp_path):
    with pytest.raises(landmark.Error, match="nope.safetensors"):
        landmark.Model(str(tmp_path / "nope.safetensors"))
