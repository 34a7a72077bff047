"""Ingest: every file type, content-hash dedupe, updates, deletions, failures, one version per change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptyard.errors import ConfigError
from promptyard.rag.ingest import ingest_paths
from promptyard.rag.loaders import LoadError, load_file
from promptyard.rag.models import ChunkConfig
from promptyard.rag.stores.sqlite import SQLiteStore
from promptyard.testing.fake_embedder import FakeEmbedder

CFG = ChunkConfig(chunk_tokens=64, chunk_overlap=0.15)


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` in Helvetica, written by hand (offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = SQLiteStore(tmp_path / "rag.db")
    yield s  # type: ignore[misc]
    s.close()


def test_loaders_every_type(tmp_path: Path, pets_dir: Path) -> None:
    (pets_dir / "paper.pdf").write_bytes(minimal_pdf("Hamsters store food in their cheeks."))
    rows = [{"_id": "s1", "title": "Owls", "text": "Owls hunt at night.", "year": 2020}, {"id": 7, "text": "Bats."}]
    (pets_dir / "beir.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    md = load_file(pets_dir / "cats.md")[0]
    assert (md.title, md.markdown, md.metadata["type"]) == ("Cats", True, "markdown")
    html = load_file(pets_dir / "birds.html")[0]
    assert html.title == "Birds"
    assert "Parrots can mimic" in html.text
    assert "alert" not in html.text
    pdf = load_file(pets_dir / "paper.pdf")[0]
    assert "Hamsters store food" in pdf.text
    owls, bats = load_file(pets_dir / "beir.jsonl")
    assert (owls.doc_id, owls.title, owls.metadata["year"]) == ("s1", "Owls", 2020)
    assert bats.doc_id == "7"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.png", b"\x89PNG", "unsupported file type"),
        ("bad.jsonl", b'{"id": 1, "text": "ok"}\n{broken\n', "line 2: invalid JSON"),
        ("noid.jsonl", b'{"text": "no id"}\n', "needs 'id'"),
        ("latin.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("empty.md", b"   \n", "no text"),
        ("bad.pdf", b"%PDF-1.4 garbage", "PDF"),
    ],
)
def test_loader_errors_say_why(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=message):
        load_file(path)


def test_ingest_dedupe_update_delete(store: SQLiteStore, pets_dir: Path) -> None:
    emb = FakeEmbedder()
    first = ingest_paths([pets_dir], "pets", store=store, embedder=emb, chunking=CFG)
    assert (first.version_before, first.version, len(first.added), first.failed) == (0, 1, 3, [])
    calls = len(emb.calls)

    again = ingest_paths([pets_dir], "pets", store=store, embedder=emb, chunking=CFG)
    assert (again.version, again.unchanged, again.chunks_embedded) == (1, 3, 0)
    assert len(emb.calls) == calls  # nothing re-embedded

    (pets_dir / "dogs.txt").write_text("Dogs love to fetch sticks in the park.")
    (pets_dir / "birds.html").unlink()
    third = ingest_paths([pets_dir], "pets", store=store, embedder=emb, chunking=CFG)
    assert third.version == 2  # one bump for the whole change
    assert third.updated == [f"{_rel(pets_dir)}/dogs.txt"]
    assert third.deleted == [f"{_rel(pets_dir)}/birds.html"]
    assert [h.doc_id for h in store.keyword_search("pets", "fetch sticks", 3)] == [f"{_rel(pets_dir)}/dogs.txt"]
    assert store.keyword_search("pets", "parrots", 3) == []


def _rel(path: Path) -> str:
    from promptyard.rag.loaders import display_path

    return display_path(path)


def test_failed_files_are_reported_and_their_documents_kept(store: SQLiteStore, pets_dir: Path) -> None:
    emb = FakeEmbedder()
    ingest_paths([pets_dir], "pets", store=store, embedder=emb, chunking=CFG)
    (pets_dir / "cats.md").write_bytes(b"\xff\xfe broken")
    (pets_dir / "notes.xyz").write_text("what is this")
    named = pets_dir.parent / "named.xyz"
    named.write_text("named on the command line")
    paths = [pets_dir, pets_dir / "missing.md", named]
    report = ingest_paths(paths, "pets", store=store, embedder=emb, chunking=CFG)
    failed = {Path(f.path).name: f.error for f in report.failed}
    assert set(failed) == {"cats.md", "named.xyz", "missing.md"}
    assert "unsupported" in failed["named.xyz"]  # named on its own: a clear error
    assert "no such file" in failed["missing.md"]
    assert report.skipped == [f"{_rel(pets_dir)}/notes.xyz"]  # found in a folder: skipped, not failed
    assert f"{_rel(pets_dir)}/cats.md" in store.document_hashes("pets")  # unreadable now, but not deleted
    assert report.version == 1
    assert not report.changed


def test_failure_midway_leaves_no_half_version(store: SQLiteStore, pets_dir: Path) -> None:
    emb = FakeEmbedder()
    ingest_paths([pets_dir], "pets", store=store, embedder=emb, chunking=CFG)
    before = store.get_corpus("pets")
    (pets_dir / "dogs.txt").write_text("Changed dogs text.")
    (pets_dir / "fish.txt").write_text("Fish swim.")
    emb.fail_with = RuntimeError("embedder crashed")
    with pytest.raises(RuntimeError):
        ingest_paths([pets_dir], "pets", store=store, embedder=emb, chunking=CFG)
    after = store.get_corpus("pets")
    assert before is not None
    assert after is not None
    assert (after.version, after.documents, after.chunks) == (before.version, before.documents, before.chunks)


def test_scoped_deletion_and_replace(store: SQLiteStore, tmp_path: Path, pets_dir: Path) -> None:
    emb = FakeEmbedder()
    other = tmp_path / "other.txt"
    other.write_text("Horses gallop across fields.")
    ingest_paths([pets_dir], "pets", store=store, embedder=emb, chunking=CFG)
    ingest_paths([other], "pets", store=store, embedder=emb, chunking=CFG)
    assert len(store.document_hashes("pets")) == 4  # ingesting another path keeps the first ones
    report = ingest_paths([other], "pets", store=store, embedder=emb, chunking=CFG, replace=True)
    assert len(report.deleted) == 3
    assert list(store.document_hashes("pets")) == [_rel(other)]


def test_chunking_change_re_embeds(store: SQLiteStore, pets_dir: Path) -> None:
    emb = FakeEmbedder()
    ingest_paths([pets_dir], "pets", store=store, embedder=emb, chunking=CFG)
    report = ingest_paths([pets_dir], "pets", store=store, embedder=emb, chunking=ChunkConfig(chunk_tokens=20))
    assert len(report.updated) == 3
    assert report.version == 2
    info = store.get_corpus("pets")
    assert info is not None
    assert info.chunking.chunk_tokens == 20


def test_embedding_read_length_change_re_embeds(store: SQLiteStore, pets_dir: Path) -> None:
    ingest_paths([pets_dir], "pets", store=store, embedder=FakeEmbedder(), chunking=CFG)
    same = ingest_paths([pets_dir], "pets", store=store, embedder=FakeEmbedder(), chunking=CFG)
    assert same.unchanged == 3
    assert not same.changed
    shorter = ingest_paths([pets_dir], "pets", store=store, embedder=FakeEmbedder(read_tokens=16), chunking=CFG)
    assert len(shorter.updated) == 3
    assert shorter.chunks_embedded > 0


def test_other_embedder_is_refused(store: SQLiteStore, pets_dir: Path) -> None:
    ingest_paths([pets_dir], "pets", store=store, embedder=FakeEmbedder(dim=64), chunking=CFG)
    with pytest.raises(ConfigError, match="built with embedder"):
        ingest_paths([pets_dir], "pets", store=store, embedder=FakeEmbedder(dim=32), chunking=CFG)
