"""The contract every vector store passes (embedded SQLite, Postgres with pgvector, yours).

Subclass :class:`StoreContract` in a test module and provide a ``store`` fixture that
yields a fresh, empty store::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = MyStore(tmp_path / "x")
            yield s
            s.close()

Needs pytest (import it from tests only).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from promptyard.errors import InvalidInput, StoreError
from promptyard.rag.models import Chunk, ChunkConfig, Document, DocumentUpdate
from promptyard.rag.stores.base import VectorStore
from promptyard.testing.fake_embedder import FakeEmbedder

EMB = FakeEmbedder(dim=32)

DOCS = {
    "cats": ["Cats purr when they are content.", "A cat sleeps sixteen hours a day."],
    "dogs": ["Dogs bark at the mail carrier.", "A dog needs a daily walk outside."],
    "rust": ["Rust prevents data races at compile time."],
    "sql": ['SQL keywords such as NEAR, AND, OR and "quoted phrases" appear here - with a star *.'],
}
META = {"cats": {"kind": "animal", "lang": "en"}, "dogs": {"kind": "animal", "lang": "de"},
        "rust": {"kind": "code", "lang": "en"}, "sql": {"kind": "code", "lang": "en"}}  # fmt: skip


def make_update(doc_id: str, parts: list[str], *, source: str | None = None, title: str = "") -> DocumentUpdate:
    text = " ".join(parts)
    chunks: list[Chunk] = []
    pos = 0
    for i, part in enumerate(parts):
        start = text.index(part, pos)
        pos = start + len(part)
        chunks.append(
            Chunk(chunk_id=f"{doc_id}#{i}", doc_id=doc_id, ordinal=i, title=title, text=part, start=start, end=pos,
                  source=source or f"{doc_id}.txt", tokens=len(part.split()), metadata=META.get(doc_id, {}))
        )  # fmt: skip
    doc = Document(
        doc_id=doc_id, title=title, text=text, source=source or f"{doc_id}.txt", metadata=META.get(doc_id, {})
    )
    return DocumentUpdate(
        document=doc,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        chunks=chunks,
        vectors=EMB.embed([c.embed_text for c in chunks]),
    )


class StoreContract:
    corpus = "contract"

    @pytest.fixture
    def store(self) -> VectorStore:  # pragma: no cover - subclasses provide it
        raise NotImplementedError

    @pytest.fixture
    def filled(self, store: VectorStore) -> VectorStore:
        store.create_corpus(self.corpus, embedder=EMB.model_id, dim=EMB.dim, chunking=ChunkConfig())
        store.apply(self.corpus, upserts=[make_update(k, v) for k, v in DOCS.items()])
        return store

    def _q(self, text: str) -> np.ndarray:
        vec: np.ndarray = EMB.embed([text], kind="query")[0]
        return vec

    # -- corpora ---------------------------------------------------------------------------
    def test_create_list_get(self, store: VectorStore) -> None:
        info = store.create_corpus("c1", embedder="m", dim=EMB.dim, chunking=ChunkConfig(chunk_tokens=100))
        assert (info.name, info.version, info.dim, info.chunks) == ("c1", 0, EMB.dim, 0)
        assert info.chunking.chunk_tokens == 100
        assert [c.name for c in store.list_corpora()] == ["c1"]
        got = store.get_corpus("c1")
        assert got is not None
        assert got.embedder == "m"
        assert store.get_corpus("nope") is None

    def test_duplicate_and_invalid_names(self, store: VectorStore) -> None:
        store.create_corpus("c1", embedder="m", dim=4, chunking=ChunkConfig())
        with pytest.raises(StoreError):
            store.create_corpus("c1", embedder="m", dim=4, chunking=ChunkConfig())
        with pytest.raises(InvalidInput):
            store.create_corpus("bad name; drop table", embedder="m", dim=4, chunking=ChunkConfig())

    def test_apply_bumps_version_once_and_counts(self, filled: VectorStore) -> None:
        info = filled.get_corpus(self.corpus)
        assert info is not None
        assert (info.version, info.documents, info.chunks) == (1, 4, 6)
        assert info.tokens == sum(len(p.split()) for parts in DOCS.values() for p in parts)
        hashes = filled.document_hashes(self.corpus)
        assert set(hashes) == set(DOCS)
        assert hashes["cats"][1] == "cats.txt"

    def test_no_change_keeps_version(self, filled: VectorStore) -> None:
        info = filled.apply(self.corpus, upserts=[], deletes=["not-there"])
        assert info.version == 1

    def test_update_replaces_document(self, filled: VectorStore) -> None:
        info = filled.apply(self.corpus, upserts=[make_update("cats", ["Cats hunt mice at night."])])
        assert (info.version, info.chunks) == (2, 5)
        assert not list(filled.keyword_search(self.corpus, "purr", 10))
        assert [h.chunk_id for h in filled.keyword_search(self.corpus, "mice", 10)] == ["cats#0"]
        assert "cats#1" not in filled.fetch(self.corpus, ["cats#1"])

    def test_delete_document(self, filled: VectorStore) -> None:
        info = filled.apply(self.corpus, deletes=["dogs"])
        assert (info.version, info.documents, info.chunks) == (2, 3, 4)
        assert "dogs" not in filled.document_hashes(self.corpus)
        assert all(h.doc_id != "dogs" for h in filled.vector_search(self.corpus, self._q("dog walk"), 10))

    def test_failed_apply_changes_nothing(self, filled: VectorStore) -> None:
        bad = make_update("broken", ["one chunk"])
        bad.vectors = np.zeros((1, EMB.dim + 1), dtype=np.float32)
        with pytest.raises(StoreError):
            filled.apply(self.corpus, upserts=[make_update("new", ["fresh text"]), bad], deletes=["rust"])
        info = filled.get_corpus(self.corpus)
        assert info is not None
        assert (info.version, info.documents, info.chunks) == (1, 4, 6)
        assert "new" not in filled.document_hashes(self.corpus)
        assert [h.doc_id for h in filled.keyword_search(self.corpus, "compile", 5)] == ["rust"]

    def test_chunking_change_bumps_version(self, filled: VectorStore) -> None:
        info = filled.apply(self.corpus, chunking=ChunkConfig(chunk_tokens=64))
        assert info.version == 2
        assert info.chunking.chunk_tokens == 64

    # -- search ----------------------------------------------------------------------------
    def test_vector_search_ranks_by_cosine(self, filled: VectorStore) -> None:
        hits = filled.vector_search(self.corpus, self._q("Dogs bark at the mail carrier."), 3)
        assert len(hits) == 3
        assert hits[0].chunk_id == "dogs#0"
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    def test_vector_search_k_larger_than_corpus(self, filled: VectorStore) -> None:
        assert len(filled.vector_search(self.corpus, self._q("cat"), 100)) == 6

    def test_keyword_search(self, filled: VectorStore) -> None:
        hits = filled.keyword_search(self.corpus, "Which animal purrs?", 5)
        assert hits
        assert hits[0].chunk_id == "cats#0"
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    @pytest.mark.parametrize(
        "query",
        ['"unbalanced quote', "star*", "NEAR(a b)", "-dogs", "cats AND -", "col:umn", "(((", "^", "'", "NOT", "    "],
    )
    def test_operators_are_text(self, filled: VectorStore, query: str) -> None:
        hits = filled.keyword_search(self.corpus, query, 5)
        assert isinstance(hits, list)

    def test_operator_words_match_as_words(self, filled: VectorStore) -> None:
        assert [h.doc_id for h in filled.keyword_search(self.corpus, 'NEAR "quoted', 5)] == ["sql"]

    def test_filters(self, filled: VectorStore) -> None:
        q = self._q("animal sleeps and walks")
        assert {h.doc_id for h in filled.vector_search(self.corpus, q, 10, {"kind": "code"})} == {"rust", "sql"}
        assert {h.doc_id for h in filled.vector_search(self.corpus, q, 10, {"doc_id": ["cats", "rust"]})} == {
            "cats",
            "rust",
        }
        assert {h.doc_id for h in filled.vector_search(self.corpus, q, 10, {"kind": "animal", "lang": "de"})} == {
            "dogs"
        }
        assert {h.doc_id for h in filled.keyword_search(self.corpus, "a", 10, {"source": "dogs.txt"})} <= {"dogs"}
        assert filled.keyword_search(self.corpus, "cat", 10, {"kind": "code"}) == []
        with pytest.raises(InvalidInput):
            filled.vector_search(self.corpus, q, 3, {"bad key'": "x"})

    def test_fetch_and_offsets(self, filled: VectorStore) -> None:
        got = filled.fetch(self.corpus, ["cats#1", "missing#9"])
        assert list(got) == ["cats#1"]
        hit = got["cats#1"]
        text = " ".join(DOCS["cats"])
        assert text[hit.start : hit.end] == hit.text == DOCS["cats"][1]
        assert (hit.doc_id, hit.source, hit.metadata["kind"]) == ("cats", "cats.txt", "animal")

    def test_all_chunks_in_document_order(self, filled: VectorStore) -> None:
        ids = [h.chunk_id for h in filled.all_chunks(self.corpus, limit=100)]
        assert ids == ["cats#0", "cats#1", "dogs#0", "dogs#1", "rust#0", "sql#0"]
        assert len(filled.all_chunks(self.corpus, limit=2)) == 2

    def test_corpora_are_isolated(self, filled: VectorStore) -> None:
        filled.create_corpus("other", embedder=EMB.model_id, dim=EMB.dim, chunking=ChunkConfig())
        filled.apply("other", upserts=[make_update("cats", ["Completely different cats text about lions."])])
        assert [h.doc_id for h in filled.keyword_search("other", "purr", 5)] == []
        assert [h.chunk_id for h in filled.keyword_search(self.corpus, "purr", 5)] == ["cats#0"]
        assert len(filled.vector_search("other", self._q("cats"), 10)) == 1

    def test_delete_corpus(self, filled: VectorStore) -> None:
        filled.delete_corpus(self.corpus)
        assert filled.get_corpus(self.corpus) is None
        info = filled.create_corpus(self.corpus, embedder=EMB.model_id, dim=EMB.dim, chunking=ChunkConfig())
        assert info.version == 0
        assert info.chunks == 0

    def test_unknown_corpus(self, store: VectorStore) -> None:
        with pytest.raises(StoreError):
            store.keyword_search("ghost", "x", 3)
