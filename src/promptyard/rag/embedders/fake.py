"""The ``fake`` embedder adapter: :class:`promptyard.testing.fake_embedder.FakeEmbedder`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from promptyard.testing.fake_embedder import FakeEmbedder

if TYPE_CHECKING:
    from promptyard.settings import Settings


def create(settings: Settings) -> FakeEmbedder:
    return FakeEmbedder()
