"""HTTP API: search, answer, corpora; bad input answers 401/404/422/503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from promptyard.errors import StoreUnavailable
from promptyard.providers.fake import FakeProvider, reply
from promptyard.runtime import Runtime
from promptyard.server.app import create_app


@pytest.fixture
async def client(rag_runtime: Runtime, pets_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    rag_runtime.rag.ingest([pets_dir], "pets", chunk_tokens=24)
    key = rag_runtime.keys.create("tests", "app").secret
    transport = httpx.ASGITransport(app=create_app(rag_runtime))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield c


async def test_search(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/rag/search", json={"corpus": "pets", "query": "Which animal purrs?", "k": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["corpus_version"] == 1
    assert len(body["hits"]) == 2
    assert body["hits"][0]["doc_id"].endswith("cats.md")
    assert body["hits"][0]["text"]
    assert "fused" not in body
    r = await client.post("/v1/rag/search?explain=true", json={"corpus": "pets", "query": "purr", "k": 2})
    assert r.json()["fused"]
    assert "bm25_ms" in r.json()["timings_ms"]


@pytest.mark.parametrize("query", ['"unbalanced', "NEAR(cats, dogs)", "-dogs *", "cats AND OR NOT"])
async def test_operator_queries_are_text(client: httpx.AsyncClient, query: str) -> None:
    r = await client.post("/v1/rag/search", json={"corpus": "pets", "query": query, "mode": "bm25"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("query", ["", "   "])
async def test_empty_query_is_422(client: httpx.AsyncClient, query: str) -> None:
    r = await client.post("/v1/rag/search", json={"corpus": "pets", "query": query})
    assert r.status_code == 422
    assert any("query" in p for p in r.json()["error"]["problems"])
    r = await client.post("/v1/rag/answer", json={"corpus": "pets", "question": query})
    assert r.status_code == 422


async def test_unknown_corpus_is_404_naming_existing(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/rag/search", json={"corpus": "ghosts", "query": "boo"})
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["available"] == ["pets"]
    assert "ghosts" in err["message"]


async def test_answer(client: httpx.AsyncClient, rag_runtime: Runtime, fake_llm: FakeProvider) -> None:
    dogs = next(d for d in rag_runtime.rag.store.document_hashes("pets") if d.endswith("dogs.txt"))
    fake_llm.script(reply(f"Dogs bark at the mail carrier [{dogs}] and fly [doc_99]."))
    r = await client.post("/v1/rag/answer", json={"corpus": "pets", "question": "Do dogs bark?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] == f"Dogs bark at the mail carrier [{dogs}] and fly."
    assert [c["id"] for c in body["citations"]] == [dogs]
    assert "invalid_citation" in body["flags"]
    assert body["trace_id"]


async def test_corpora_and_auth(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/rag/corpora")
    assert r.status_code == 200
    assert r.json()[0]["name"] == "pets"
    r = await client.post("/v1/rag/search", json={"corpus": "pets", "query": "x"}, headers={"Authorization": ""})
    assert r.status_code == 401


async def test_store_down_is_503(client: httpx.AsyncClient, rag_runtime: Runtime) -> None:
    store = rag_runtime.rag.store
    inner = store.inner  # type: ignore[attr-defined]

    def down(*_a: object, **_k: object) -> list[object]:
        raise StoreUnavailable("connection refused")

    inner.vector_search = down
    r = await client.post("/v1/rag/search", json={"corpus": "pets", "query": "dogs"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "store_unavailable"
    assert store.retry_count == 3  # type: ignore[attr-defined]
