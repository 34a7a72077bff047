"""A local cross-encoder (sentence-transformers ``CrossEncoder``) loaded from a folder.

Set ``PROMPTYARD_RERANKER=cross-encoder`` and ``PROMPTYARD_RERANKER_MODEL_PATH`` to a
model directory (for example an ``ms-marco-MiniLM-L-6-v2`` checkout). Nothing is fetched
from a hub: a missing folder is a configuration error.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptyard.errors import ConfigError
from promptyard.rag.models import Hit
from promptyard.rag.rerankers.base import apply_scores

if TYPE_CHECKING:
    from promptyard.settings import Settings


class CrossEncoderReranker:
    name = "cross-encoder"
    active = True

    def __init__(self, model_path: Path, *, max_length: int = 512, batch_size: int = 32) -> None:
        if not (model_path / "config.json").is_file():
            raise ConfigError(
                f"no cross-encoder model in {model_path}",
                hint="set PROMPTYARD_RERANKER_MODEL_PATH to a local model folder (with config.json)",
            )
        self.model_path = model_path
        self.max_length = max_length
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(str(self.model_path), max_length=self.max_length, device="cpu")
        return self._model

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        if not hits:
            return []
        model = self._load()
        pairs = [(query, f"{h.title}\n{h.text}" if h.title else h.text) for h in hits]
        scores = model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return apply_scores(hits, [float(s) for s in scores])

    def close(self) -> None:
        self._model = None


def create(settings: Settings) -> CrossEncoderReranker:
    if settings.reranker_model_path is None:
        raise ConfigError("the cross-encoder reranker needs a model", hint="set PROMPTYARD_RERANKER_MODEL_PATH")
    return CrossEncoderReranker(settings.reranker_model_path)
