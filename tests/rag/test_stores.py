"""The store contract, run against every store: embedded SQLite and Postgres with pgvector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from promptyard.errors import StoreUnavailable
from promptyard.rag.stores.pgvector import PgVectorStore
from promptyard.rag.stores.sqlite import SQLiteStore
from promptyard.testing.store_contract import StoreContract


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        s = SQLiteStore(tmp_path / "rag.db")
        yield s
        s.close()


@pytest.mark.postgres
class TestPgVectorStore(StoreContract):
    @pytest.fixture
    def store(self, pgvector_url: str) -> Iterator[PgVectorStore]:
        s = PgVectorStore(pgvector_url)
        yield s
        s.close()


def test_sqlite_matrix_cache_follows_version_across_instances(tmp_path: Path) -> None:
    """A second process (here: a second store on the same file) sees an ingest at once."""
    from promptyard.rag.models import ChunkConfig
    from promptyard.testing.store_contract import EMB, make_update

    a, b = SQLiteStore(tmp_path / "rag.db"), SQLiteStore(tmp_path / "rag.db")
    a.create_corpus("c", embedder=EMB.model_id, dim=EMB.dim, chunking=ChunkConfig())
    a.apply("c", upserts=[make_update("x", ["alpha beta"])])
    q = EMB.embed(["gamma delta"])[0]
    assert [h.doc_id for h in b.vector_search("c", q, 5)] == ["x"]
    a.apply("c", upserts=[make_update("y", ["gamma delta"])])
    assert b.vector_search("c", q, 5)[0].doc_id == "y"
    a.close()
    b.close()


def test_sqlite_unreachable_file_is_store_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable):
        SQLiteStore(blocker / "rag.db")


@pytest.mark.postgres
def test_pgvector_unreachable_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        PgVectorStore("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
