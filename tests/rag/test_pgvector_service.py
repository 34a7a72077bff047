"""The whole RAG service on Postgres + pgvector (the store chosen by settings, as in production)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptyard.rag.models import SearchRequest
from promptyard.rag.service import build_rag
from promptyard.settings import load_settings
from promptyard.tracing.model import MemoryRecorder


@pytest.mark.postgres
def test_ingest_and_hybrid_search_on_pgvector(tmp_path: Path, pgvector_url: str, pets_dir: Path) -> None:
    settings = load_settings(home=tmp_path, vector_store="pgvector", pgvector_url=pgvector_url, embedder="fake")
    rag = build_rag(settings, tracer=MemoryRecorder())
    try:
        report = rag.ingest([pets_dir], "pets", chunk_tokens=24)
        assert (report.version, len(report.added), report.failed) == (1, 3, [])
        again = rag.ingest([pets_dir], "pets")
        assert again.version == 1
        assert again.unchanged == 3
        res = rag.search(SearchRequest(corpus="pets", query="Which animal needs taurine?", k=3))
        assert Path(res.hits[0].doc_id).name == "cats.md"
        assert res.hits[0].heading == "Cats > Food"
        assert res.vector_candidates
        assert res.bm25_candidates
        assert [c.name for c in rag.corpora()] == ["pets"]
    finally:
        rag.close()
