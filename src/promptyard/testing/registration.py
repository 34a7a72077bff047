"""Register a fake adapter through the real entry-point registry for the length of a block.

Tests go through the same registry production code uses (as llm's conftest does with its
``MockModel``), and the registration is removed afterwards even when the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from promptyard import plugins
from promptyard.providers.fake import FakeProvider

PROVIDERS = "promptyard.providers"


@contextmanager
def registered(group: str, name: str, instance: Any) -> Iterator[Any]:
    """``instance`` is what adapter ``name`` of ``group`` creates, inside the block."""
    plugins.register(group, name, lambda *_args, **_kwargs: instance)
    try:
        yield instance
    finally:
        plugins.unregister(group, name)


@contextmanager
def registered_provider(provider: FakeProvider | None = None, name: str = "fake") -> Iterator[FakeProvider]:
    """A :class:`FakeProvider` answering as provider ``name`` (``fake/<model>``) inside the block."""
    with registered(PROVIDERS, name, provider or FakeProvider()) as instance:
        yield instance
