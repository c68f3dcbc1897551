"""The Python package (python/landmark) against NumPy references: stores,
retrieval (joint = dense attention; HSA fusion from its own explanation),
text questions, prefill, presets, and errors carrying the library's message."""
from pathlib import Path

import numpy as np
import pytest

import landmark

ROOT = Path(__file__).resolve().parents[2]
TEXT = ROOT / "tests" / "data" / "text"
CONFIGS = ROOT / "configs"
S, HKV, D, G, N = 16, 2, 32, 3, 333  # chunk size, kv heads, head dim, group, tokens


def attention(q, k, v):
    """Exact softmax attention of q [d] over k, v [n, d], in float64."""
    logits = k.astype(np.float64) @ q.astype(np.float64) / np.sqrt(q.shape[-1])
    p = np.exp(logits - logits.max())
    return (p / p.sum()) @ v.astype(np.float64), np.log(p.sum()) + logits.max()


@pytest.fixture(scope="module")
def kv():
    rng = np.random.default_rng(5)
    return (rng.standard_normal((N, HKV, D)).astype(np.float32), rng.standard_normal((N, HKV, D)).astype(np.float32))


@pytest.fixture(scope="module")
def tensor_store(tmp_path_factory, kv):
    path = tmp_path_factory.mktemp("stores") / "tensors"
    keys, values = kv
    with landmark.StoreWriter.create(path, chunk_size=S, kv_heads=HKV, head_dim=D, dtype="f32") as w:
        w.append(keys[:100], values[:100])
        w.append(keys[100:], values[100:])
        assert w.info["tokens"] == N
    return path


@pytest.fixture(scope="module")
def text_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("stores") / "text"
    with landmark.StoreWriter.create_text(path, chunk_size=16, head_dim=256) as w:
        w.append_text("Remember: the spare key is under the blue flowerpot by the door.")
        stats = w.add_files([TEXT])
    assert stats["files"] == 2 and stats["skipped"] == 1  # program.bin is not text
    return path


def test_version():
    assert landmark.__version__.count(".") == 2 and landmark.API_VERSION == 1


def test_info_and_verify(tensor_store):
    info = landmark.info(tensor_store)
    assert (info["chunks"], info["tail_tokens"], info["kv_heads"], info["dtype"]) == (N // S, N % S, HKV, "f32")
    assert landmark.manifest(tensor_store)["chunk_size"] == S
    assert landmark.verify(tensor_store) == []


def test_joint_with_every_chunk_is_dense_attention(tensor_store, kv):
    keys, values = kv
    rng = np.random.default_rng(1)
    q = rng.standard_normal((HKV * G, D)).astype(np.float32)
    with landmark.Store(tensor_store) as store:
        retriever = landmark.Retriever(store, q_heads=HKV * G, top_k=1000, threads=1)
    result = retriever.query(q)
    assert result.out.shape == (HKV * G, D) and result.local_out is None
    for h in range(HKV * G):
        expected, lse = attention(q[h], keys[:, h // G], values[:, h // G])
        np.testing.assert_allclose(result.out[h], expected, rtol=1e-5, atol=1e-5)
        assert abs(result.lse[h] - lse) < 1e-4
    assert len(result.selections) == HKV and len(result.selections[0].chunks) == N // S
    assert result.candidates == N // S and result.local_tokens == N % S and result.position == N - 1


def test_hsa_output_is_the_weighted_sum_of_its_explanation(tensor_store, kv):
    keys, values = kv
    rng = np.random.default_rng(2)
    q = rng.standard_normal((HKV * G, D)).astype(np.float32)
    store = landmark.Store(tensor_store)
    result = landmark.Retriever(store, q_heads=HKV * G, top_k=4, fusion="hsa", window=S).query(q)
    assert result.local_out.shape == (HKV * G, D) and result.lse is None
    for h in range(HKV):
        sel = result.selections[h]
        assert len(sel.chunks) == 4 and np.all(np.diff(sel.scores) <= 0)
        w = np.exp(sel.scores - sel.scores.max())
        np.testing.assert_allclose(sel.weights, w / w.sum(), rtol=1e-5)  # hsa softmax weights
        for g in range(G):
            expected = sum(wi * attention(q[h * G + g], keys[c * S:(c + 1) * S, h], values[c * S:(c + 1) * S, h])[0]
                           for wi, c in zip(sel.weights, sel.chunks))
            np.testing.assert_allclose(result.out[h * G + g], expected, rtol=1e-4, atol=1e-5)


def test_batch_equals_single_queries_and_copies_as_needed(tensor_store):
    rng = np.random.default_rng(3)
    q = rng.standard_normal((4, HKV, D)).astype(np.float32)
    retriever = landmark.Retriever(landmark.Store(tensor_store), top_k=3)
    batch = retriever.query(q, position=[N - 1, 200, 100, 50])
    assert [r.position for r in batch] == [N - 1, 200, 100, 50]
    for i, r in enumerate(batch):
        single = retriever.query(q[i], position=r.position)
        np.testing.assert_allclose(r.out, single.out, rtol=1e-5, atol=1e-6)
        assert np.array_equal(r.selections[0].chunks, single.selections[0].chunks)
    # Not C-contiguous, or float64: converted (a copy), the same result.
    fortran = np.asfortranarray(q[0].astype(np.float64))
    np.testing.assert_allclose(retriever.query(fortran).out, retriever.query(q[0]).out, rtol=1e-6)


def test_text_questions_and_explanations(text_store):
    store = landmark.Store(text_store)
    assert store.chunk_text(0).startswith("Remember")
    retriever = landmark.Retriever(store, config=CONFIGS / "demo.toml", top_k=4)
    result = retriever.ask("pass key for vault 204")
    assert any("90177" in text for text in result.selections[0].texts)
    assert result.selections[0].chunks[0] == int(result.selections[0].chunks[0])
    assert retriever.ask("where is the spare key?").selections[0].chunks[0] <= 1


def test_text_sources_duplicates_and_removal(tmp_path):
    # Issue 16: each chunk names its file and byte range; known content is
    # skipped unless forced; a removed document leaves the answers.
    vaults = TEXT / "vaults.txt"
    path = tmp_path / "s"
    with landmark.StoreWriter.create_text(path, chunk_size=16, head_dim=16) as w:
        assert w.add_files([vaults])["files"] == 1
        again = w.add_files([vaults])
        assert again["files"] == 0 and again["skipped"] == 1
        assert w.add_files([vaults], force=True)["files"] == 1
    store = landmark.Store(path)
    result = landmark.Retriever(store, top_k=4).ask("pass key for vault 204")
    data = vaults.read_bytes()
    for text, source in zip(result.selections[0].texts, result.selections[0].sources):
        file, begin, end = source
        assert file == str(vaults) and data[begin:end].decode() == text
    store.close()
    with landmark.StoreWriter.open(path) as w:
        assert w.remove(str(vaults)) == 2
    store = landmark.Store(path)
    assert landmark.Retriever(store, top_k=4).ask("pass key for vault 204").selections[0].chunks.size == 0
    store.close()


def test_progress_stops_and_exceptions_pass_through(tmp_path):
    with landmark.StoreWriter.create_text(tmp_path / "s", head_dim=64) as w:
        seen = []
        with pytest.raises(landmark.Error) as e:
            w.add_files([TEXT], progress=lambda p: seen.append(p) or True)
        assert e.value.status == "LANDMARK_ERROR_CANCELLED" and seen[0]["files_total"] == 3

        def broken(p):
            raise KeyError("from the callback")
        with pytest.raises(KeyError, match="from the callback"):
            w.add_files([TEXT], progress=broken)


def test_errors_carry_the_library_message(tmp_path, tensor_store):
    with pytest.raises(landmark.Error, match="no such store directory|not a landmark store") as e:
        landmark.Store(tmp_path / "nothing")
    assert e.value.status == "LANDMARK_ERROR_IO"
    with pytest.raises(landmark.Error, match="writer lock|locked|another writer") as e:
        with landmark.StoreWriter.open(tensor_store):
            landmark.StoreWriter.open(tensor_store)
    with landmark.StoreWriter.open(tensor_store) as w:
        with pytest.raises(landmark.Error, match="kv heads") as e:
            w.append(np.zeros((3, HKV + 1, D), np.float32), np.zeros((3, HKV + 1, D), np.float32))
        assert e.value.status == "LANDMARK_ERROR_INVALID_ARGUMENT"
    with pytest.raises(landmark.Error) as e:
        w.commit()  # use after close
    assert e.value.status == "LANDMARK_ERROR_CLOSED"
    store = landmark.Store(tensor_store)
    retriever = landmark.Retriever(store)
    with pytest.raises(ValueError, match="retriever takes"):
        retriever.query(np.zeros((HKV, D + 1), np.float32))
    with pytest.raises(landmark.Error, match="past the store|position"):
        retriever.query(np.zeros((HKV, D), np.float32), position=10 * N)
    retriever.close()
    retriever.close()  # closing twice is harmless in Python
    with pytest.raises(landmark.Error) as e:
        retriever.query(np.zeros((HKV, D), np.float32))
    assert e.value.status == "LANDMARK_ERROR_CLOSED"
    store.close()
    with pytest.raises(landmark.Error, match="closed"):
        landmark.Retriever(store)


def test_presets(tmp_path):
    with landmark.StoreWriter.create(tmp_path / "llama", config=CONFIGS / "llama3-8b.toml", dtype="f32") as w:
        rng = np.random.default_rng(4)
        w.append(rng.standard_normal((130, 8, 128)), rng.standard_normal((130, 8, 128)))  # float64: converted
    info = landmark.info(tmp_path / "llama")
    assert (info["kv_heads"], info["head_dim"], info["dtype"]) == (8, 128, "f32")  # the argument wins
    retriever = landmark.Retriever(landmark.Store(tmp_path / "llama"), config=CONFIGS / "llama3-8b.toml")
    assert retriever.q_heads == 32
    (tmp_path / "typo.toml").write_text("[retrieval]\ntopk = 3\n")
    with pytest.raises(landmark.Error, match=r"typo.toml: \[retrieval\].topk: unknown key") as e:
        landmark.Config(tmp_path / "typo.toml")
    assert e.value.status == "LANDMARK_ERROR_CONFIG"


def test_prefill_against_numpy():
    rng = np.random.default_rng(6)
    L, hq, hkv, d, B = 200, 4, 2, 16, 32
    q = rng.standard_normal((L, hq, d)).astype(np.float32)
    k = (2 * rng.standard_normal((L, hkv, d))).astype(np.float16)
    v = rng.standard_normal((L, hkv, d)).astype(np.float16)
    for policy in ("dense", "flashprefill", "dma"):
        r = landmark.prefill(q, k, v, policy=policy, block=B, threads=2, device="cpu")
        nb = -(-L // B)
        assert r.mask.shape == (hkv, nb, nb) and (policy != "dense" or r.density == 1.0)
        for t in range(0, L, 7):
            for h in range(hq):
                kv_head = h // (hq // hkv)
                keep = np.repeat(r.mask[kv_head, t // B], B)[: t + 1]
                expected, lse = attention(q[t, h], k[: t + 1, kv_head][keep], v[: t + 1, kv_head][keep])
                np.testing.assert_allclose(r.out[t, h], expected, rtol=1e-4, atol=1e-5)
                assert abs(r.lse[t, h] - lse) < 1e-3
    with pytest.raises(landmark.Error, match="multiple of kv heads"):
        landmark.prefill(q[:, :3], k, v)
    with pytest.raises(ValueError, match="prefill.policy: unknown prefill policy 'sparse' \\(expected dense, flashprefill or dma\\)"):
        landmark.prefill(q, k, v, policy="sparse")
    with pytest.raises(ValueError, match="runtime.device: unknown device 'gpu'"):
        landmark.prefill(q, k, v, device="gpu")
    with pytest.raises(TypeError, match="unknown option 'sparsty'"):
        landmark.prefill(q, k, v, sparsty=0.5)


def test_damaged_store_fails_verify(tmp_path, kv):
    keys, values = kv
    with landmark.StoreWriter.create(tmp_path / "s", chunk_size=S, kv_heads=HKV, head_dim=D) as w:
        w.append(keys, values)
    segment = next(p for p in (tmp_path / "s").iterdir() if p.name.startswith("kv-"))
    data = bytearray(segment.read_bytes())
    data[100] ^= 0xFF
    segment.write_bytes(bytes(data))
    problems = landmark.verify(tmp_path / "s")
    assert problems and segment.name in problems[0]


def test_learned_landmarks_and_retrieval_queries(tmp_path, kv):
    keys, values = kv
    chunks = N // S
    rng = np.random.default_rng(8)
    landmarks = rng.standard_normal((chunks, 1, 8)).astype(np.float16)  # one shared retrieval head, R = 8
    with landmark.StoreWriter.create(tmp_path / "learned", chunk_size=S, kv_heads=HKV, head_dim=D,
                                     landmark="learned", landmark_heads=1, landmark_dim=8) as w:
        w.append(keys[:S * 5 + 3], values[:S * 5 + 3], landmarks[:5])  # completes 5 chunks
        with pytest.raises(landmark.Error, match="landmarks are"):
            w.append(keys[S * 5 + 3:], values[S * 5 + 3:], landmarks[5:6])  # wrong count
        w.append(keys[S * 5 + 3:], values[S * 5 + 3:], landmarks[5:])
    retriever = landmark.Retriever(landmark.Store(tmp_path / "learned"), top_k=1)
    assert (retriever.landmark_heads, retriever.landmark_dim) == (1, 8)
    q = np.zeros((HKV, D), np.float32)
    for c in (0, 7, chunks - 1):
        r = landmarks[c].astype(np.float32) * 10  # points at chunk c
        result = retriever.query(q, r=r)
        scores = landmarks[:, 0].astype(np.float32) @ r[0] / np.sqrt(8)  # s_c = r·L_c / sqrt(R)
        best = int(np.argmax(scores))
        assert len(result.selections) == 1 and result.selections[0].chunks[0] == best
        assert abs(result.selections[0].scores[0] - scores[best]) < 1e-3 * max(1, abs(scores[best]))
    with pytest.raises(landmark.Error, match="r .* elements"):
        retriever.query(q, r=np.zeros(7, np.float32))
