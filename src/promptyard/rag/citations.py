"""Check the ``[doc_id]`` citations of a generated answer against the context it was given.

- A citation must name a document that was in the context; any other id (``[doc_99]``)
  is removed from the answer and flagged ``invalid_citation``.
- Quoted text (``"..."`` or curly quotes) in a sentence must appear in a document that
  sentence cites; if not, that sentence's citations are removed and the answer is
  flagged ``quote_not_found``.
- An answer with no valid citation left is flagged ``unsupported``, unless it is the
  abstention phrase ("I don't have information about that"), flagged ``abstained``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from promptyard.rag.models import Citation, ContextDocument
from promptyard.tracing.model import CitationRecord

ABSTENTION = "I don't have information about that"
_CITE = re.compile(r"\s?\[([^\[\]\n]{1,200})\](?!\()")
_BOUNDARY = re.compile(r"[.!?]+|\n")
_QUOTE = re.compile(r"[\"“”„«»]([^\"“”„«»]{3,500})[\"“”„«»]")
SNIPPET_CHARS = 240


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("’", "'").replace("‘", "'")
    return " ".join(re.sub(r"[^\w\s']", " ", text).split())


def sentences(text: str) -> list[str]:
    """Sentences (with their trailing punctuation and spaces) that join back into ``text``.

    Citations and quotes are masked first, so ids like ``[docs/rag.md]`` and quoted
    sentences never split a sentence.
    """
    masked = _QUOTE.sub(lambda m: "x" * len(m.group(0)), _CITE.sub(lambda m: "x" * len(m.group(0)), text))
    cuts = [m.end() for m in _BOUNDARY.finditer(masked)]
    bounds = [0, *(c for c in cuts if c < len(text)), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def is_abstention(answer: str) -> bool:
    norm = _norm(answer)
    return _norm(ABSTENTION) in norm or "do not have information about that" in norm


@dataclass
class CheckedAnswer:
    text: str
    citations: list[Citation]
    flags: list[str]
    records: list[CitationRecord] = field(default_factory=list)


def _snippet(doc: ContextDocument, quote: str | None) -> str:
    if quote:
        return quote
    text = " ".join(doc.text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def check_answer(answer: str, documents: Sequence[ContextDocument]) -> CheckedAnswer:
    docs = {d.id: d for d in documents}
    flags: list[str] = []
    records: list[CitationRecord] = []
    valid_order: dict[str, str | None] = {}
    pieces: list[str] = []
    for sentence in sentences(answer):
        quotes = [q.strip() for q in _QUOTE.findall(sentence)]
        cited = [i.strip() for m in _CITE.finditer(sentence) for i in re.split(r"[,;]", m.group(1)) if i.strip()]
        known = [i for i in cited if i in docs]
        for bad in (i for i in cited if i not in docs):
            records.append(CitationRecord(doc_id=bad, valid=False, flags=["invalid_citation"]))
            if "invalid_citation" not in flags:
                flags.append("invalid_citation")
        quote_ok = all(any(_norm(q) in _norm(docs[i].text) for i in known) for q in quotes) if known else True
        if quotes and known and not quote_ok:
            if "quote_not_found" not in flags:
                flags.append("quote_not_found")
            records.extend(CitationRecord(doc_id=i, valid=False, flags=["quote_not_found"]) for i in known)
            keep: set[str] = set()
        else:
            keep = set(known)
            for i in known:
                records.append(CitationRecord(doc_id=i, valid=True))
                quote = next((q for q in quotes if _norm(q) in _norm(docs[i].text)), None)
                if i not in valid_order or (valid_order[i] is None and quote):
                    valid_order[i] = quote

        def rewrite(m: re.Match[str], keep: set[str] = keep) -> str:
            ids = [i.strip() for i in re.split(r"[,;]", m.group(1)) if i.strip() in keep]
            return f" [{', '.join(ids)}]" if ids else ""

        pieces.append(_CITE.sub(rewrite, sentence))
    text = "".join(pieces).strip()
    citations = [
        Citation(id=i, title=docs[i].title, source=docs[i].source, snippet=_snippet(docs[i], q))
        for i, q in valid_order.items()
    ]
    if is_abstention(answer):
        flags.append("abstained")
    elif not citations:
        flags.append("unsupported")
    return CheckedAnswer(text=text, citations=citations, flags=flags, records=records)
