"""Issue 15, item 12 in Python: paths with NUL bytes, non-finite or
negative numbers, and text that is not UTF-8 are refused with a message
instead of being cut, wrapped around or silently stored."""
import math

import numpy as np
import pytest

import landmark


@pytest.fixture()
def text_store(tmp_path):
    path = tmp_path / "text"
    with landmark.StoreWriter.create_text(path, chunk_size=16, head_dim=64) as w:
        w.append_text("The pass key for vault 7 is 12345.")
    return path


def test_hardening_12_nul_in_a_path_is_refused(tmp_path, text_store):
    # C would read "a\0b" as "a": another store, or a surprise directory.
    for call in (lambda p: landmark.Store(p), lambda p: landmark.info(p), lambda p: landmark.verify(p),
                 lambda p: landmark.StoreWriter.open(p), lambda p: landmark.StoreWriter.create_text(p)):
        with pytest.raises(ValueError, match="NUL byte"):
            call(str(text_store) + "\0junk")
    assert not (tmp_path / "text\0junk").exists()


def test_hardening_12_non_finite_and_negative_numbers_are_refused(text_store):
    store = landmark.Store(text_store)
    for temperature in (math.nan, math.inf):
        with pytest.raises(ValueError, match="temperature: must be a finite number"):
            landmark.Retriever(store, temperature=temperature)
    for key in ("top_k", "window", "sink_chunks", "q_heads"):
        with pytest.raises(ValueError, match=f"{key}: must not be negative"):
            landmark.Retriever(store, **{key: -1})
    with pytest.raises(ValueError, match="chunk_size: must not be negative"):
        landmark.StoreWriter.create_text(text_store.parent / "other", chunk_size=-1)
    store.close()


def test_hardening_12_append_text_refuses_invalid_utf8(text_store):
    with landmark.StoreWriter.open(text_store) as w:
        for bad, why in ((b"caf\xe9 au lait", "invalid UTF-8 at byte 4"), (b"a\0b", "binary")):
            with pytest.raises(landmark.Error, match=why) as e:
                w.append_text(bad)
            assert e.value.status == "LANDMARK_ERROR_INVALID_ARGUMENT"
        w.append_text("caf\u00e9 au lait")  # UTF-8 is fine
    assert landmark.verify(text_store) == []


def test_hardening_10_non_finite_keys_are_refused(tmp_path):
    with landmark.StoreWriter.create(tmp_path / "t", chunk_size=4, kv_heads=1, head_dim=8, dtype="f16") as w:
        keys = np.zeros((6, 1, 8), np.float32)
        keys[4, 0, 2] = np.nan
        with pytest.raises(landmark.Error, match="token 4: the keys hold NaN"):
            w.append(keys, np.zeros_like(keys))
        keys[4, 0, 2] = 1e6
        with pytest.raises(landmark.Error, match="1e\\+06, beyond the range of f16"):
            w.append(keys, np.zeros_like(keys))
        keys[4, 0, 2] = 1
        w.append(keys, np.zeros_like(keys))
        assert w.info["tokens"] == 6
