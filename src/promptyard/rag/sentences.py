"""Cut context documents to the sentences most related to the question (``PROMPTYARD_RAG_CONTEXT_SENTENCES``).

A small local model reads a short prompt faster and copies from fewer distractors, but only
answers when the kept sentence holds the answer. Sentences are ranked, per question, by one
of (:data:`SentenceRanking`):

- ``overlap``: how many of the question's content words the sentence shares;
- ``idf``: the same shared words (light suffix stemming: *played* meets *plays*), each
  weighted by its inverse document frequency over the sentences given for this question,
  so a rare word (a name, a date) outweighs a word every sentence has;
- ``idf_embed``: ``idf`` scaled to the best sentence's, plus the cosine similarity of the
  sentence's and the question's embeddings scaled to the best sentence's (the RAG
  embedder; one batch per question).

Ties go to the earlier sentence; the kept sentences stay in their original order. On SQuAD
(top 3 chunks, 1 sentence each, docs/benchmarks.md) the gold answer was inside the kept
sentences for 83% of 100 selection-seed questions with ``overlap`` and 87% with ``idf_embed``
(the default); the single best sentence of the three documents (``total=1``) held it for 76%
and 80%.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from promptyard.rag.models import ContextDocument, SentenceRanking
from promptyard.words import content_words

Embed = Callable[[str, Sequence[str]], npt.NDArray[np.float32]]
"""``(question, sentences)`` -> one cosine similarity per sentence."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_SUFFIXES = ("ing", "ed", "es", "s")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: a cut after ``. ! ?`` and whitespace, before a capital, digit or quote."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def stemmed_words(text: str) -> set[str]:
    """Content words of ``text`` with a light suffix stem (``-ing``, ``-ed``, ``-es``, ``-s``)."""
    return {_stem(w) for w in content_words(text)}


def _idf_scores(question: str, sentences: Sequence[str]) -> list[float]:
    bags = [stemmed_words(s) for s in sentences]
    df: dict[str, int] = {}
    for bag in bags:
        for w in bag:
            df[w] = df.get(w, 0) + 1
    n = len(sentences)
    asked = stemmed_words(question)
    return [sum(math.log(1 + n / df[w]) for w in asked & bag) for bag in bags]


def _scaled(values: Sequence[float]) -> list[float]:
    top = max(values, default=0.0)
    return [v / top for v in values] if top > 0 else [0.0 for _ in values]


def sentence_scores(
    question: str, sentences: Sequence[str], ranking: SentenceRanking, embed: Embed | None = None
) -> list[float]:
    """One relevance score per sentence (higher first); ``idf_embed`` without ``embed`` is ``idf``."""
    if ranking == "overlap":
        asked = content_words(question)
        return [float(len(asked & content_words(s))) for s in sentences]
    idf = _idf_scores(question, sentences)
    if ranking == "idf" or embed is None or not sentences:
        return idf
    cosine = [float(c) for c in embed(question, sentences)]
    return [a + b for a, b in zip(_scaled(idf), _scaled(cosine), strict=True)]


def trim_to_sentences(
    docs: Sequence[ContextDocument],
    question: str,
    keep: int,
    *,
    ranking: SentenceRanking = "overlap",
    embed: Embed | None = None,
    total: int = 0,
) -> list[ContextDocument]:
    """Each document cut to its ``keep`` best sentences (see the module docstring), in their
    original order. ``keep <= 0``: unchanged. Scores are computed over the sentences of all
    ``docs`` at once (the IDF and the scaling are per question, not per document). ``total > 0``
    then keeps only the ``total`` best of those sentences over all documents (ties: the earlier
    document, then sentence); a document left with none is dropped."""
    if keep <= 0:
        return list(docs)
    parts = [split_sentences(doc.text) for doc in docs]
    flat = [s for sentences in parts for s in sentences]
    scores = sentence_scores(question, flat, ranking, embed) if flat else []
    chosen: list[list[int]] = []
    candidates: list[tuple[float, int, int]] = []
    offset = 0
    for d, sentences in enumerate(parts):
        own = scores[offset : offset + len(sentences)]
        offset += len(sentences)
        ranked = sorted(range(len(sentences)), key=lambda i: (-own[i], i))[:keep]
        chosen.append(ranked)
        candidates += [(-own[i], d, i) for i in ranked]
    if total > 0:
        best = sorted(candidates)[:total]
        chosen = [[i for _, dd, i in best if dd == d] for d in range(len(parts))]
    out: list[ContextDocument] = []
    for doc, sentences, picked in zip(docs, parts, chosen, strict=True):
        if not picked and sentences:
            continue
        if len(picked) == len(sentences):
            out.append(doc)
            continue
        text = " ".join(sentences[i] for i in sorted(picked))
        out.append(doc.model_copy(update={"text": text}))
    return out
