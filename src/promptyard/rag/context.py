"""Build the ``documents`` given to ``rag_answer`` from ranked chunks, within a token budget.

- Most relevant first: documents are ordered by their best chunk's rank.
- Overlapping or touching chunks of one document are merged into one passage (chunks
  overlap by design, so the model never reads the same sentence twice).
- Each document is labelled by its ``doc_id`` (the template writes ``[doc_id]``).
- The budget counts embedder tokens; a chunk that does not fit is left out.
- When the whole corpus fits in the budget, retrieval is skipped and every document is
  given in a fixed order, so the prompt prefix is identical across questions and
  provider prefix caches hit (``whole_corpus``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from promptyard.rag.models import ContextDocument, Hit

MAX_DOCUMENTS = 20
"""``rag_answer`` accepts at most 20 documents."""
GAP = "\n…\n"
TOUCH = 2
"""Chunks at most this many characters apart are consecutive (the chunker cuts at whitespace)."""


def _merge(hits: list[Hit]) -> list[tuple[int, int, str]]:
    """``(start, end, text)`` passages from chunks of one document (text is doc[start:end])."""
    spans: list[tuple[int, int, str]] = []
    for h in sorted(hits, key=lambda x: (x.start, x.end)):
        if spans and h.start <= spans[-1][1] + TOUCH:
            start, end, text = spans[-1]
            if h.start > end:
                text += " " + h.text  # consecutive chunks: only whitespace lies between them
                end = h.end
            elif h.end > end:
                text += h.text[end - h.start :]
                end = h.end
            spans[-1] = (start, end, text)
        else:
            spans.append((h.start, h.end, h.text))
    return spans


def _overlap_tokens(h: Hit, taken: list[Hit]) -> int:
    """Tokens of ``h`` already covered by chunks taken from the same document (estimated by chars)."""
    covered = 0
    for t in taken:
        lo, hi = max(h.start, t.start), min(h.end, t.end)
        covered = max(covered, hi - lo)
    if covered <= 0 or h.end <= h.start:
        return 0
    return int(h.tokens * covered / (h.end - h.start))


def build_context(hits: Sequence[Hit], *, budget: int, max_documents: int = MAX_DOCUMENTS) -> list[ContextDocument]:
    chosen: dict[str, list[Hit]] = {}
    used = 0
    for h in hits:
        doc_hits = chosen.get(h.doc_id)
        if doc_hits is None and len(chosen) >= max_documents:
            continue
        cost = h.tokens - _overlap_tokens(h, doc_hits or [])
        if used + cost > budget:
            continue
        used += cost
        chosen.setdefault(h.doc_id, []).append(h)
    docs: list[ContextDocument] = []
    for doc_id, doc_hits in chosen.items():
        passages = _merge(doc_hits)
        head = doc_hits[0]
        docs.append(
            ContextDocument(
                id=doc_id,
                title=head.title,
                text=GAP.join(p[2] for p in passages),
                source=head.source,
                chunk_ids=[h.chunk_id for h in sorted(doc_hits, key=lambda x: x.start)],
                tokens=sum(h.tokens for h in doc_hits),
            )
        )
    return docs


def whole_corpus_context(chunks: Sequence[Hit], *, max_documents: int = MAX_DOCUMENTS) -> list[ContextDocument]:
    """Every chunk, grouped by document in a fixed order (``all_chunks`` order: doc id, ordinal)."""
    grouped: dict[str, list[Hit]] = {}
    for h in chunks:
        grouped.setdefault(h.doc_id, []).append(h)
    if len(grouped) > max_documents:
        return []
    return build_context(
        [h for doc in sorted(grouped) for h in grouped[doc]], budget=10**9, max_documents=max_documents
    )


def answer_variables(question: str, docs: Sequence[ContextDocument]) -> dict[str, Any]:
    """The ``rag_answer`` prompt's variables for ``question`` over ``docs`` (also used by trace replay)."""
    return {"question": question, "documents": [{"id": d.id, "title": d.title, "text": d.text} for d in docs]}
