"""Chunking: token-aware sizes, overlap, exact offsets, Markdown headings kept."""

from __future__ import annotations

import itertools

from promptyard.rag.chunking import chunk_document, chunk_documents, markdown_sections
from promptyard.rag.embedders.base import RegexTokenizer
from promptyard.rag.models import ChunkConfig, Document

TOK = RegexTokenizer()


def _doc(text: str, *, markdown: bool = False, title: str = "") -> Document:
    return Document(doc_id="d1", title=title, text=text, source="d1.md", markdown=markdown)


def test_sizes_overlap_and_offsets() -> None:
    text = " ".join(f"word{i}" for i in range(1000))
    chunks = chunk_document(_doc(text), TOK, ChunkConfig(chunk_tokens=100, chunk_overlap=0.15), max_tokens=10_000)
    assert all(c.tokens <= 100 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)
    for a, b in itertools.pairwise(chunks):
        shared = set(a.text.split()) & set(b.text.split())
        assert len(shared) == 15  # 15% of 100 tokens
    assert [c.chunk_id for c in chunks[:2]] == ["d1#0", "d1#1"]


def test_chunks_are_capped_near_the_embedder_window() -> None:
    text = " ".join(f"w{i}" for i in range(500))
    chunks = chunk_document(
        _doc(text, title="T"), TOK, ChunkConfig(chunk_tokens=300, chunk_overlap=0.15), max_tokens=64
    )
    assert max(c.tokens for c in chunks[:-1]) == 80  # 1.25 x 64
    assert chunks[-1].tokens < 120  # a small remainder joins the last chunk
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end  # consecutive chunks overlap


def test_no_tiny_last_chunk() -> None:
    text = " ".join(f"w{i}" for i in range(110))
    chunks = chunk_document(_doc(text), TOK, ChunkConfig(chunk_tokens=100, chunk_overlap=0.0), max_tokens=1000)
    assert len(chunks) == 1
    assert chunks[0].tokens == 110


def test_prefers_sentence_ends() -> None:
    sentences = [f"Sentence number {i} has exactly seven tokens." for i in range(40)]
    text = " ".join(sentences)
    chunks = chunk_document(_doc(text), TOK, ChunkConfig(chunk_tokens=50, chunk_overlap=0.0), max_tokens=1000)
    assert all(c.text.endswith(".") for c in chunks)


def test_markdown_sections_keep_heading_path() -> None:
    text = "# Guide\n\nIntro text.\n\n## Install\n\nRun make.\n\n```\n# not a heading\n```\n\n### Linux\n\nUse apt.\n"
    sections = markdown_sections(text)
    assert [s.heading for s in sections] == ["Guide", "Guide > Install", "Guide > Install > Linux"]
    chunks = chunk_document(_doc(text, markdown=True, title="Guide"), TOK, ChunkConfig(), max_tokens=512)
    assert [c.heading for c in chunks] == ["Guide", "Guide > Install", "Guide > Install > Linux"]
    assert "# not a heading" in chunks[1].text
    assert chunks[2].text == "Use apt."
    assert chunks[2].embed_text == "Guide > Guide > Install > Linux\nUse apt."
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_empty_text_gives_no_chunks() -> None:
    assert chunk_document(_doc("   \n "), TOK, ChunkConfig(), max_tokens=512) == []


def test_chunking_many_documents_at_once_matches_one_by_one() -> None:
    docs = [
        Document(
            doc_id="a", title="A", text="# H\n\nfirst part.\n\n## Sub\n\n" + "x " * 300, source="a.md", markdown=True
        ),
        Document(doc_id="b", title="", text="   ", source="b.txt"),
        Document(doc_id="c", title="C", text=" ".join(f"w{i}." for i in range(500)), source="c.txt"),
    ]
    config = ChunkConfig(chunk_tokens=120)
    together = chunk_documents(docs, TOK, config, max_tokens=512)
    assert together == [chunk_document(d, TOK, config, max_tokens=512) for d in docs]
    assert [len(c) for c in together][1] == 0
    assert {c.doc_id for c in together[0]} == {"a"}
    assert together[2][0].chunk_id == "c#0"
    twice = chunk_documents([docs[2], docs[2]], TOK, config, max_tokens=512)  # the same object twice
    assert twice[0] == twice[1] == together[2]
