"""The embedder seam: text in, L2-normalized float32 vectors out.

One adapter per file in this package (``local``, ``openai``, ``fake``), found through the
``promptyard.embedders`` entry points. Each embedder also exposes the tokenizer that the
chunker counts with, so chunk sizes are in the embedder's own tokens.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from promptyard import plugins

GROUP = "promptyard.embedders"

Vectors = npt.NDArray[np.float32]
EmbedKind = Literal["document", "query"]
Progress = Callable[[int], None]
"""Called with the number of texts just embedded."""


class Tokenizer(Protocol):
    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character ``(start, end)`` of every token of ``text``, in order."""
        ...

    def spans_many(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """``spans`` of each text (a fast tokenizer does them all at once, on every core)."""
        ...

    def count(self, text: str) -> int: ...


@runtime_checkable
class Embedder(Protocol):
    name: str
    model_id: str
    """Names the vector space: a corpus built with one model id is never queried with another."""
    dim: int
    max_tokens: int
    """The model's window in tokens; the chunker sizes chunks to it."""
    read_tokens: int
    """Tokens of each text the model reads (at most ``max_tokens``): the rest of a longer text is
    keyword-indexed and given as context, but not embedded."""
    tokenizer: Tokenizer

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "document", progress: Progress | None = None) -> Vectors:
        """One normalized row per text, in the order given."""
        ...

    def close(self) -> None: ...


_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class RegexTokenizer:
    """Words and punctuation marks: the tokenizer of embedders that do not ship their own."""

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in _WORD.finditer(text)]

    def spans_many(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        return [self.spans(text) for text in texts]

    def count(self, text: str) -> int:
        return sum(1 for _ in _WORD.finditer(text))


def normalize(vectors: npt.NDArray[np.floating], *, eps: float = 1e-12) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero)."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    out: Vectors = (arr / np.maximum(norms, eps)).astype(np.float32, copy=False)
    return out


def create_embedder(name: str, settings: object) -> Embedder:
    """The embedder adapter ``name`` (``PROMPTYARD_EMBEDDER``), built from settings."""
    embedder: Embedder = plugins.get(GROUP, name)(settings)
    return embedder


def length_order(lengths: Sequence[int]) -> list[int]:
    """Indices sorted by length, longest first: batches of similar length pad little."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def batches(order: Sequence[int], size: int) -> list[list[int]]:
    return [list(order[i : i + size]) for i in range(0, len(order), size)]


def uniform_batches(order: Sequence[int], lengths: Sequence[int], size: int, max_tokens: int) -> list[list[int]]:
    """Batches of texts of one length each, in ``order``: at most ``size`` texts and ``max_tokens`` tokens.

    Nothing is padded, so a model run on them needs no attention mask.
    """
    out: list[list[int]] = []
    for length, run in itertools.groupby(order, key=lambda i: lengths[i]):
        same = list(run)
        step = max(1, min(size, max_tokens // max(length, 1)))
        out.extend(same[i : i + step] for i in range(0, len(same), step))
    return out
