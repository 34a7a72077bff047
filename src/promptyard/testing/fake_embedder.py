"""A deterministic embedder for tests: hashed bag of words, no model, no randomness.

Texts that share words get similar vectors, so retrieval tests behave like retrieval;
the same text always gives the same vector, in any process. ``fail_with`` makes the next
calls raise, to test failure paths.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from promptyard.rag.embedders.base import EmbedKind, Progress, RegexTokenizer, Vectors, normalize

_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    name = "fake"

    def __init__(self, dim: int = 64, *, max_tokens: int = 512, read_tokens: int | None = None) -> None:
        self.dim = dim
        self.model_id = f"fake-bow-{dim}"
        self.max_tokens = max_tokens
        self.read_tokens = read_tokens or max_tokens
        self.tokenizer = RegexTokenizer()
        self.calls: list[tuple[EmbedKind, int]] = []
        self.fail_with: Exception | None = None

    def _bucket(self, word: str) -> tuple[int, float]:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, 1.0 if (value >> 32) & 1 else -1.0

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "document", progress: Progress | None = None) -> Vectors:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append((kind, len(texts)))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                col, sign = self._bucket(word)
                out[row, col] += sign
            if not out[row].any():
                out[row, 0] = 1.0
        if progress is not None and texts:
            progress(len(texts))
        return normalize(out)

    def close(self) -> None:
        return None
