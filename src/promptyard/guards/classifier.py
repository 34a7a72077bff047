"""A small injection classifier: all-MiniLM-L6-v2 embeddings and a logistic-regression head.

The embedder is the project's local ONNX Runtime one (:mod:`promptyard.rag.embedders.local`);
the head (384 weights and a bias, ``injection_head.json`` beside this file) is trained by
``tools/train_injection_head.py`` on training data only.

A text is scored piece by piece (:func:`pieces`): each sentence on its own (an attack is often
one sentence appended to a harmless question), and a sentence longer than ``WINDOW_TOKENS``
tokens in windows overlapping by ``WINDOW_TOKENS - STRIDE_TOKENS``; nothing is truncated. The
text's score is its highest piece's, and the span is that piece.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from promptyard.rag.embedders.base import Embedder

HEAD_PATH = Path(__file__).with_name("injection_head.json")
WINDOW_TOKENS = 200
STRIDE_TOKENS = 150


@dataclass(frozen=True, slots=True)
class Head:
    weights: npt.NDArray[np.float32]
    bias: float
    threshold: float
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> Head:
        data = json.loads(path.read_text())
        return cls(
            weights=np.asarray(data["weights"], dtype=np.float32),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            meta={k: v for k, v in data.items() if k not in ("weights", "bias")},
        )

    def scores(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        logits = vectors.astype(np.float64) @ self.weights.astype(np.float64) + self.bias
        out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logits))
        return out


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n+")


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (a piece of one word joins the next)."""
    out: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if len(text[start : m.start()].split()) >= 2:
            out.append((start, m.start()))
            start = m.end()
    if text[start:].strip():
        if out and len(text[start:].split()) < 2:
            out[-1] = (out[-1][0], len(text))
        else:
            out.append((start, len(text)))
    return out or [(0, len(text))]


def pieces(embedder: Embedder, text: str) -> list[tuple[int, int]]:
    """Sentences, and windows of the sentences too long for one (character spans of ``text``)."""
    out: list[tuple[int, int]] = []
    for s, e in sentences(text):
        out.extend((s + a, s + b) for a, b in windows(embedder, text[s:e]))
    return out


def windows(embedder: Embedder, text: str) -> list[tuple[int, int]]:
    """Character spans of overlapping token windows covering all of ``text`` (one span if it is short)."""
    spans = embedder.tokenizer.spans(text)
    if len(spans) <= WINDOW_TOKENS:
        return [(0, len(text))]
    out: list[tuple[int, int]] = []
    start = 0
    while start < len(spans):
        end = min(start + WINDOW_TOKENS, len(spans))
        out.append((spans[start][0], spans[end - 1][1]))
        if end == len(spans):
            break
        start += STRIDE_TOKENS
    return out


class Classifier:
    """Scores texts in windows; thread-safe (the embedder holds its own lock)."""

    def __init__(self, embedder: Embedder, head: Head | None = None) -> None:
        self.embedder = embedder
        self.head = head or Head.load()

    def score(self, text: str) -> tuple[float, tuple[int, int]]:
        """The highest window score of ``text`` and that window's character span."""
        if not text.strip():
            return 0.0, (0, 0)
        spans = pieces(self.embedder, text)
        vectors = self.embedder.embed([text[s:e] for s, e in spans], kind="document")
        scores = self.head.scores(vectors)
        best = int(np.argmax(scores))
        return float(scores[best]), spans[best]


_lock = threading.Lock()
_shared: list[Classifier] = []


def shared_classifier() -> Classifier:
    """One classifier per process, on the local embedder from the settings (loaded on first use)."""
    if _shared:
        return _shared[0]
    with _lock:
        if not _shared:
            from promptyard.rag.embedders.local import create
            from promptyard.settings import Settings

            _shared.append(Classifier(cast(Embedder, create(Settings()))))
        return _shared[0]
