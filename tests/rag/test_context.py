"""Context building: budget, most relevant first, overlapping chunks merged, whole-corpus mode."""

from __future__ import annotations

from promptyard.rag.context import build_context, whole_corpus_context
from promptyard.rag.models import Hit

TEXT = "aaaa bbbb cccc dddd eeee ffff gggg hhhh"


def _hit(doc: str, start: int, end: int, *, tokens: int | None = None, text: str = TEXT) -> Hit:
    return Hit(chunk_id=f"{doc}#{start}", doc_id=doc, score=1.0, title=doc.upper(), text=text[start:end],
               start=start, end=end, tokens=tokens if tokens is not None else len(text[start:end].split()))  # fmt: skip


def test_overlapping_chunks_merge_into_one_passage() -> None:
    docs = build_context([_hit("d", 10, 24), _hit("d", 0, 14)], budget=100)
    assert len(docs) == 1
    assert docs[0].text == TEXT[0:24]
    assert docs[0].chunk_ids == ["d#0", "d#10"]


def test_distant_chunks_are_separated() -> None:
    docs = build_context([_hit("d", 35, 39), _hit("d", 0, 4)], budget=100)
    assert docs[0].text == "aaaa\n…\nhhhh"


def test_most_relevant_document_first_and_budget() -> None:
    hits = [_hit("b", 0, 9), _hit("a", 0, 9), _hit("c", 0, 39), _hit("d", 0, 4)]
    docs = build_context(hits, budget=6)
    assert [d.id for d in docs] == ["b", "a", "d"]  # c (8 tokens) does not fit, d still does
    assert sum(d.tokens for d in docs) <= 6


def test_overlap_is_not_charged_twice() -> None:
    docs = build_context([_hit("d", 0, 19), _hit("d", 10, 29)], budget=7)  # 4 + 4 tokens, 1 shared
    assert docs[0].text == TEXT[0:29]


def test_document_cap() -> None:
    hits = [_hit(f"d{i}", 0, 4) for i in range(30)]
    assert len(build_context(hits, budget=1000, max_documents=20)) == 20


def test_whole_corpus_is_in_stable_order() -> None:
    chunks = [_hit("b", 0, 4), _hit("a", 0, 4), _hit("a", 5, 9)]
    docs = whole_corpus_context(chunks)
    assert [d.id for d in docs] == ["a", "b"]
    assert docs[0].text == "aaaa bbbb"
