"""Token-aware, Markdown-aware chunking.

Sizes are counted with the embedder's own tokenizer. A Markdown document is first cut
at its headings; every chunk remembers the heading path it sits under (``Setup >
Install``), so a chunk from the middle of a section still says what it is about. Windows
overlap by ``chunk_overlap`` of their size and prefer to end at a sentence or line end.

Chunks and the embedder's window: the default 300 tokens is more than MiniLM reads (its
window is 256 tokens, title and heading included, and it embeds the first 208 by default);
the unread end of a chunk is partly the overlap, which the next chunk embeds at its start,
and all of it stays in the chunk's text, its keyword index and the context. Chunk sizes
are capped at 1.25x the embedder's window. A last piece shorter than half a chunk is
merged into the chunk before it instead of being embedded on its own: on SciFact this
embeds 1.15x the tokens of whole-abstract truncation instead of 1.4x for a strict fit,
with the same nDCG (docs/benchmarks.md).

All the documents of a call are tokenized at once (``Tokenizer.spans_many``): a fast
tokenizer spreads that over every core, where one call per document used one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from promptyard.rag.embedders.base import Tokenizer
from promptyard.rag.models import Chunk, ChunkConfig, Document

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = (".", "!", "?", ":", ";")
MIN_TOKENS = 16
WINDOW_SLACK = 1.25
"""Chunks may be this much longer than the embedder's window (the rest is the next chunk's overlap)."""


@dataclass(frozen=True)
class Section:
    heading: str
    start: int
    end: int


def markdown_sections(text: str) -> list[Section]:
    """Cut at ATX headings (``#`` .. ``######``) outside fenced code; the body starts after the heading line."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    heading = ""
    body_start = 0
    pos = 0
    in_fence = False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line.rstrip("\r\n"))
        if match:
            if text[body_start:pos].strip():
                sections.append(Section(heading, body_start, pos))
            level = len(match.group(1))
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, match.group(2).strip())]
            heading = " > ".join(h for _, h in path)
            body_start = pos + len(line)
        pos += len(line)
    if text[body_start:].strip():
        sections.append(Section(heading, body_start, len(text)))
    return sections


def _window_end(spans: list[tuple[int, int]], text: str, start: int, size: int) -> int:
    """Index one past the last token of the window starting at ``start``: a sentence end if one is near."""
    end = min(start + size, len(spans))
    if len(spans) - end < size // 2:
        return len(spans)  # no small last chunk
    floor = start + max(1, (size * 3) // 4)
    for i in range(end - 1, floor - 1, -1):
        token = text[spans[i][0] : spans[i][1]]
        gap = text[spans[i][1] : spans[i + 1][0]]
        if token.endswith(_SENTENCE_END) or "\n" in gap:
            return i + 1
    return end


def chunk_document(doc: Document, tokenizer: Tokenizer, config: ChunkConfig, *, max_tokens: int) -> list[Chunk]:
    """Chunks of ``doc`` with character offsets into ``doc.text`` (``chunk.text == doc.text[start:end]``)."""
    return chunk_documents([doc], tokenizer, config, max_tokens=max_tokens)[0]


def chunk_documents(
    docs: Sequence[Document], tokenizer: Tokenizer, config: ChunkConfig, *, max_tokens: int
) -> list[list[Chunk]]:
    """The chunks of each document; every section of every document is tokenized in one call."""
    size = max(MIN_TOKENS, min(config.chunk_tokens, int(max_tokens * WINDOW_SLACK)))
    parts = [
        (n, section)
        for n, doc in enumerate(docs)
        for section in (markdown_sections(doc.text) if doc.markdown else [Section("", 0, len(doc.text))])
    ]
    spans_of = tokenizer.spans_many([docs[n].text[s.start : s.end] for n, s in parts])
    out: list[list[Chunk]] = [[] for _ in docs]
    for (n, section), spans in zip(parts, spans_of, strict=True):
        shifted = [(a + section.start, b + section.start) for a, b in spans]
        _window(docs[n], section, shifted, size, config.chunk_overlap, out[n])
    return out


def _window(
    doc: Document, section: Section, spans: list[tuple[int, int]], size: int, overlap_share: float, chunks: list[Chunk]
) -> None:
    """Append the chunks of one section (``spans``: its tokens, as offsets into ``doc.text``)."""
    text = doc.text
    first = 0
    while first < len(spans):
        last = _window_end(spans, text, first, size)
        start, end = spans[first][0], spans[last - 1][1]
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{len(chunks)}",
                doc_id=doc.doc_id,
                ordinal=len(chunks),
                title=doc.title,
                heading=section.heading,
                text=text[start:end],
                start=start,
                end=end,
                source=doc.source,
                tokens=last - first,
                metadata=doc.metadata,
            )
        )
        if last >= len(spans):
            break
        overlap = int((last - first) * overlap_share)
        first = max(first + 1, last - overlap)
