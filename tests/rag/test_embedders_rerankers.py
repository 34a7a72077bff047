"""Embedders and rerankers: the local model (ONNX int8 against PyTorch), the OpenAI-compatible
embeddings wire format, the Cohere/Jina-style rerank wire format, the registry."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from promptyard import plugins
from promptyard.errors import BadRequest, ConfigError, ProviderUnavailable, RateLimited
from promptyard.rag.embedders.base import GROUP, Embedder, create_embedder
from promptyard.rag.embedders.openai import OpenAIEmbedder
from promptyard.rag.models import Hit
from promptyard.rag.rerankers.base import create_reranker
from promptyard.rag.rerankers.http import HttpReranker
from promptyard.settings import Settings
from promptyard.testing.fake_embedder import FakeEmbedder

ROOT = Path(__file__).resolve().parents[2]


def test_fake_embedder_is_deterministic_and_normalized() -> None:
    a, b = FakeEmbedder(), FakeEmbedder()
    va, vb = a.embed(["cats purr", "dogs bark"]), b.embed(["cats purr", "dogs bark"])
    assert np.array_equal(va, vb)
    assert np.allclose(np.linalg.norm(va, axis=1), 1.0)
    sim = a.embed(["cats purr loudly"])[0]
    assert float(sim @ va[0]) > float(sim @ va[1])


def test_registry_knows_every_embedder() -> None:
    assert {"local", "openai", "fake"} <= set(plugins.names(GROUP))
    emb = create_embedder("fake", Settings())
    assert isinstance(emb, Embedder)
    with pytest.raises(ConfigError, match="known"):
        create_embedder("nope", Settings())


@pytest.mark.slow
def test_local_embedder_onnx_int8_matches_pytorch(tmp_path: Path) -> None:
    from promptyard.rag.embedders.local import LocalEmbedder

    texts = ["Aspirin reduces the risk of heart attacks.", "Der Hund bellt.", "x " * 400]
    cache = ROOT / ".promptyard" / "cache"  # the export is reused across runs, as in `make run`
    int8 = LocalEmbedder(backend="onnx-int8", cache_dir=cache).embed(texts)
    ref = LocalEmbedder(backend="torch").embed(texts)
    assert int8.shape == (3, 384)
    assert int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(int8 * ref, axis=1))) > 0.97
    emb = LocalEmbedder(backend="onnx-int8", cache_dir=cache)
    single = emb.embed([texts[0]], kind="query")
    # dynamic int8 quantization scales activations per batch: a vector moves a little with its batch
    assert float(single[0] @ int8[0]) > 0.98
    spans = emb.tokenizer.spans("Hello, wörld!")
    assert [("Hello, wörld!")[a:b] for a, b in spans][:2] == ["Hello", ","]


@pytest.mark.slow
def test_local_embedder_shares_batches_across_single_threaded_sessions() -> None:
    from promptyard.rag.embedders.local import LocalEmbedder

    cache = ROOT / ".promptyard" / "cache"
    texts = [f"claim {i}: " + "protein binding " * (i % 7) for i in range(23)]
    pooled = LocalEmbedder(cache_dir=cache, batch_size=4, threads=2)
    seen: list[int] = []
    vectors = pooled.embed(texts, progress=seen.append)
    assert len(pooled._workers()) == 2  # two one-thread sessions shared the batches
    assert sum(seen) == len(texts)
    assert max(seen) <= 4
    serial = LocalEmbedder(cache_dir=cache, batch_size=4, threads=1).embed(texts)
    # same batches, so the same per-batch quantization: every row lands where it belongs
    assert np.allclose(vectors, serial, atol=1e-5)
    query = pooled.embed([texts[5]], kind="query")
    assert pooled._pool is not None
    assert float(query[0] @ vectors[5]) > 0.98


def test_uniform_batches_never_pad() -> None:
    from promptyard.rag.embedders.base import length_order, uniform_batches

    lengths = [3, 300, 3, 3, 40, 3, 3, 40, 300, 300, 12]
    plan = uniform_batches(length_order(lengths), lengths, 4, 512)
    assert sorted(i for batch in plan for i in batch) == list(range(len(lengths)))  # every text once
    assert all(len({lengths[i] for i in batch}) == 1 for batch in plan)  # one length a batch: no padding
    assert [lengths[b[0]] for b in plan] == sorted((lengths[b[0]] for b in plan), reverse=True)  # longest first
    assert [len(b) for b in plan if lengths[b[0]] == 300] == [1, 1, 1]  # 512 tokens a call at most
    assert [len(b) for b in plan if lengths[b[0]] == 3] == [4, 1]  # and `size` texts at most
    assert [len(b) for b in plan if lengths[b[0]] == 40] == [2]
    assert uniform_batches([], [], 4, 512) == []


def test_local_embedder_read_length_is_configurable() -> None:
    from promptyard.rag.chunking import chunk_document
    from promptyard.rag.embedders.local import LocalEmbedder
    from promptyard.rag.models import ChunkConfig, Document

    default = LocalEmbedder()  # no model is loaded until something is embedded
    assert default.max_tokens == 256  # the model's own window
    assert default.read_tokens == 208  # the measured default (docs/benchmarks.md)
    assert len(default.tokenizer.encode(["word " * 400])[0]) == 208
    assert LocalEmbedder(read_tokens=256).read_tokens == 256
    emb = LocalEmbedder(read_tokens=32)
    assert emb.max_tokens == 256
    assert len(emb.tokenizer.encode(["word " * 100])[0]) == 32
    doc = Document(doc_id="d", title="", text="word " * 2000, source="d.txt")
    chunks = chunk_document(doc, emb.tokenizer, ChunkConfig(chunk_tokens=300), max_tokens=emb.max_tokens)
    assert max(c.tokens for c in chunks) == 300  # chunk sizes do not follow the read length
    for wrong in (8, 300):
        with pytest.raises(ConfigError, match="reads 16 to 256 tokens"):
            LocalEmbedder(read_tokens=wrong)
    assert create_embedder("local", Settings(embedding_read_tokens=64)).read_tokens == 64


def _openai(handler: httpx.MockTransport) -> OpenAIEmbedder:
    return OpenAIEmbedder(base_url="http://embed.test/v1", model="m", api_key="sk-x", transport=handler)


def test_openai_embedder_wire_format() -> None:
    seen: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append({"url": str(request.url), "auth": request.headers["authorization"], **body})
        data = [{"index": i, "embedding": [float(i + 1), 0.0, 0.0]} for i in range(len(body["input"]))][::-1]
        return httpx.Response(200, json={"object": "list", "data": data, "model": "m"})

    emb = _openai(httpx.MockTransport(handle))
    out = emb.embed(["a", "b"])
    assert out.shape == (2, 3)
    assert np.allclose(out[:, 0], 1.0)
    assert seen[0]["url"] == "http://embed.test/v1/embeddings"
    assert seen[0]["auth"] == "Bearer sk-x"
    assert seen[0]["input"] == ["a", "b"]
    assert seen[0]["model"] == "m"


@pytest.mark.parametrize(("status", "error"), [(429, RateLimited), (503, ProviderUnavailable), (400, BadRequest)])
def test_openai_embedder_errors(status: int, error: type[Exception]) -> None:
    emb = _openai(httpx.MockTransport(lambda _r: httpx.Response(status, json={"error": {"message": "x"}})))
    with pytest.raises(error):
        emb.embed(["a"])


def test_http_reranker_wire_format() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["query"] == "q"
        assert body["model"] == "rerank-v3.5"
        assert body["top_n"] == 3
        scores = {"alpha": 0.1, "beta": 0.9, "gamma": 0.5}
        results = [{"index": i, "relevance_score": scores[d]} for i, d in enumerate(body["documents"])]
        return httpx.Response(200, json={"results": sorted(results, key=lambda r: -r["relevance_score"])})

    rr = HttpReranker("http://rerank.test/v1/rerank", model="rerank-v3.5", transport=httpx.MockTransport(handle))
    hits = [Hit(chunk_id=f"{t}#0", doc_id=t, score=1.0, text=t) for t in ("alpha", "beta", "gamma")]
    assert [h.doc_id for h in rr.rerank("q", hits)] == ["beta", "gamma", "alpha"]


def test_http_reranker_failure_is_an_error() -> None:
    rr = HttpReranker("http://rerank.test", transport=httpx.MockTransport(lambda _r: httpx.Response(500)))
    with pytest.raises(ProviderUnavailable):
        rr.rerank("q", [Hit(chunk_id="a#0", doc_id="a", score=1.0, text="a")])


def test_reranker_registry_and_config_errors() -> None:
    assert create_reranker("none", Settings()).active is False
    with pytest.raises(ConfigError, match="RERANKER_URL"):
        create_reranker("http", Settings())
    with pytest.raises(ConfigError, match="RERANKER_MODEL_PATH"):
        create_reranker("cross-encoder", Settings())


@pytest.mark.slow
def test_cross_encoder_loads_from_a_folder_and_scores(tmp_path: Path) -> None:
    """A cross-encoder folder built from the shipped MiniLM weights (seeded head): the adapter
    loads it from the path, scores every (query, chunk) pair and orders by score."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    from promptyard.rag.embedders.local import default_model_dir
    from promptyard.rag.rerankers.cross_encoder import CrossEncoderReranker

    torch.manual_seed(0)
    src = default_model_dir()
    model = BertForSequenceClassification.from_pretrained(str(src), num_labels=1)
    model.save_pretrained(tmp_path / "ce")
    AutoTokenizer.from_pretrained(str(src)).save_pretrained(tmp_path / "ce")
    rr = CrossEncoderReranker(tmp_path / "ce")
    hits = [
        Hit(chunk_id=f"{i}#0", doc_id=str(i), score=0.0, text=t) for i, t in enumerate(["cats purr", "dogs bark", "x"])
    ]
    out = rr.rerank("which animal purrs?", hits)
    assert sorted(h.chunk_id for h in out) == ["0#0", "1#0", "2#0"]
    assert [h.score for h in out] == sorted((h.score for h in out), reverse=True)
    assert len({h.score for h in out}) == 3  # real, distinct model scores
    with pytest.raises(ConfigError, match="no cross-encoder model"):
        CrossEncoderReranker(tmp_path / "missing")
