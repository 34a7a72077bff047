"""Ingest: files -> documents -> chunks -> vectors -> one atomic corpus update.

Re-ingesting is a sync of the given paths: a document whose content hash (text, title,
metadata, chunking, embedding model and what it reads) is unchanged is skipped, a changed one is
re-chunked and re-embedded, and a document that came from under one of the given paths
but is gone now is removed. Everything lands in one store transaction that bumps the
corpus version once, or not at all: a failure midway never leaves half a version.

Files that cannot be read are reported one by one and skipped (their documents are
neither added nor removed); the caller decides the exit code from ``report.failed``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

from promptyard.errors import ConfigError
from promptyard.rag.chunking import chunk_documents
from promptyard.rag.embedders.base import Embedder
from promptyard.rag.loaders import LoadError, display_path, expand, load_file
from promptyard.rag.models import Chunk, ChunkConfig, CorpusInfo, Document, DocumentUpdate
from promptyard.rag.stores.base import VectorStore, check_corpus_name

CHUNK_SLICE = 256
"""Documents chunked per tokenizer call (the progress bar moves once per slice)."""


class IngestProgress(Protocol):
    """What the CLI's progress bar implements (``NullProgress`` by default)."""

    def stage(self, name: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class NullProgress:
    def stage(self, name: str, total: int) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None


class FileFailure(BaseModel):
    path: str
    error: str


class IngestReport(BaseModel):
    corpus: str
    version_before: int
    version: int
    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    unchanged: int = 0
    chunks_embedded: int = 0
    failed: list[FileFailure] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    """Files found in folders whose type has no loader (not read, not an error)."""
    seconds: float = 0.0
    documents_per_s: float = 0.0
    corpus_info: CorpusInfo | None = None

    @property
    def changed(self) -> bool:
        return self.version != self.version_before


def content_hash(doc: Document, chunking: ChunkConfig, embedder_id: str) -> str:
    payload = json.dumps(
        [doc.title, doc.text, doc.metadata, doc.markdown, chunking.model_dump(), embedder_id],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def load_documents(
    paths: Sequence[Path], progress: IngestProgress
) -> tuple[list[Document], list[FileFailure], list[str]]:
    """Documents read, files that failed, and files skipped in folders (unsupported types)."""
    files, missing, skipped = expand(paths)
    failures = [FileFailure(path=p, error=e) for p, e in missing]
    docs: dict[str, Document] = {}
    progress.stage("reading files", len(files))
    for path in files:
        try:
            loaded = load_file(path)
            clash = next((d.doc_id for d in loaded if d.doc_id in docs), None)
            if clash is not None:
                raise LoadError(f"document id {clash!r} is also in {docs[clash].source}")
            docs.update((d.doc_id, d) for d in loaded)
        except LoadError as exc:
            failures.append(FileFailure(path=display_path(path), error=str(exc)))
        progress.advance()
    return list(docs.values()), failures, skipped


def _in_scope(source: str, scopes: list[str]) -> bool:
    return any(source == s or source.startswith(s.rstrip("/") + "/") for s in scopes)


def embed_chunks(embedder: Embedder, chunks: list[Chunk], progress: IngestProgress) -> dict[str, object]:
    """Vectors by chunk id; identical texts are embedded once."""
    unique: dict[str, int] = {}
    for chunk in chunks:
        unique.setdefault(chunk.embed_text, len(unique))
    progress.stage("embedding chunks", len(unique))
    vectors = embedder.embed(list(unique), kind="document", progress=progress.advance)
    return {c.chunk_id: vectors[unique[c.embed_text]] for c in chunks}


def ingest_documents(
    docs: Sequence[Document],
    corpus: str,
    *,
    store: VectorStore,
    embedder: Embedder,
    chunking: ChunkConfig,
    scopes: Sequence[str] | None = None,
    failed_sources: Sequence[str] = (),
    progress: IngestProgress | None = None,
) -> IngestReport:
    """Sync ``docs`` into ``corpus``. ``scopes``: sources under which missing documents are deleted
    (``None``: delete every document not in ``docs``)."""
    progress = progress or NullProgress()
    started = time.perf_counter()
    check_corpus_name(corpus)
    info = store.get_corpus(corpus)
    if info is None:
        info = store.create_corpus(corpus, embedder=embedder.model_id, dim=embedder.dim, chunking=chunking)
    elif info.embedder != embedder.model_id or info.dim != embedder.dim:
        raise ConfigError(
            f"corpus {corpus!r} was built with embedder {info.embedder} ({info.dim} dims),"
            f" not {embedder.model_id} ({embedder.dim} dims)",
            hint=f"re-ingest with --rebuild to re-embed it, or use another corpus name than {corpus!r}",
        )
    existing = store.document_hashes(corpus)
    report = IngestReport(corpus=corpus, version_before=info.version, version=info.version)
    changed: list[tuple[Document, str]] = []
    for doc in docs:
        # chunks are sized to the window and the vectors read `read_tokens` of each: both are in the hash
        digest = content_hash(doc, chunking, f"{embedder.model_id}/{embedder.max_tokens}/{embedder.read_tokens}")
        old = existing.get(doc.doc_id)
        if old is not None and old[0] == digest:
            report.unchanged += 1
            continue
        (report.updated if old is not None else report.added).append(doc.doc_id)
        changed.append((doc, digest))
    present = {d.doc_id for d in docs}
    scope_list = None if scopes is None else list(scopes)
    for doc_id, (_digest, source) in existing.items():
        if doc_id in present or source in failed_sources:
            continue
        if scope_list is None or _in_scope(source, scope_list):
            report.deleted.append(doc_id)

    progress.stage("chunking", len(changed))
    chunked: list[tuple[Document, str, list[Chunk]]] = []
    for at in range(0, len(changed), CHUNK_SLICE):
        part = changed[at : at + CHUNK_SLICE]
        pieces = chunk_documents([d for d, _ in part], embedder.tokenizer, chunking, max_tokens=embedder.max_tokens)
        chunked.extend((doc, digest, chunks) for (doc, digest), chunks in zip(part, pieces, strict=True))
        progress.advance(len(part))
    all_chunks = [c for _, _, chunks in chunked for c in chunks]
    vectors = embed_chunks(embedder, all_chunks, progress) if all_chunks else {}
    report.chunks_embedded = len(all_chunks)
    updates = [
        DocumentUpdate(
            document=doc,
            content_hash=digest,
            chunks=chunks,
            vectors=np.array([vectors[c.chunk_id] for c in chunks], dtype=np.float32).reshape(
                len(chunks), embedder.dim
            ),
        )
        for doc, digest, chunks in chunked
    ]
    progress.stage("writing", 1)
    new_info = store.apply(corpus, upserts=updates, deletes=report.deleted, chunking=chunking)
    progress.advance()
    report.version = new_info.version
    report.corpus_info = new_info
    report.seconds = time.perf_counter() - started
    report.documents_per_s = len(docs) / report.seconds if report.seconds > 0 else 0.0
    return report


def ingest_paths(
    paths: Sequence[Path],
    corpus: str,
    *,
    store: VectorStore,
    embedder: Embedder,
    chunking: ChunkConfig,
    replace: bool = False,
    progress: IngestProgress | None = None,
) -> IngestReport:
    """Load ``paths`` and sync them into ``corpus``; failed files are in ``report.failed``."""
    progress = progress or NullProgress()
    started = time.perf_counter()
    docs, failures, skipped = load_documents(paths, progress)
    scopes = None if replace else [display_path(p) for p in paths]
    report = ingest_documents(
        docs,
        corpus,
        store=store,
        embedder=embedder,
        chunking=chunking,
        scopes=scopes,
        failed_sources=[f.path for f in failures],
        progress=progress,
    )
    report.failed = failures
    report.skipped = skipped
    report.seconds = time.perf_counter() - started
    report.documents_per_s = len(docs) / report.seconds if report.seconds > 0 else 0.0
    return report
