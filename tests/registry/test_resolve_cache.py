"""resolve() serves from memory: immutable versions forever, labels for a TTL, local moves at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptyard.prompts.registry import PromptRegistry
from promptyard.store.db import Database
from tests.registry.helpers import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_label_ttl_and_local_invalidation(database: Database, tmp_path: Path, db_url: str, prompts_dir: Path) -> None:
    clock = Clock()
    settings = make_settings(tmp_path, db_url, label_cache_ttl_s=2.0)
    here = PromptRegistry(database, settings, clock=clock)
    elsewhere = PromptRegistry(database, settings)  # another gateway instance on the same store
    here.sync(prompts_dir, actor="a")
    here.set_label("greet", "production", "1.0.0", actor="a")
    assert here.resolve("greet", label="production").version == "1.0.0"

    elsewhere.set_label("greet", "production", "1.1.0", actor="b")
    clock.now += 1.0
    assert here.resolve("greet", label="production").version == "1.0.0"  # still inside the TTL
    clock.now += 1.5
    assert here.resolve("greet", label="production").version == "1.1.0"  # TTL passed: re-read

    here.set_label("greet", "production", "1.0.0", actor="a")  # a local move drops the entry at once
    assert here.resolve("greet", label="production").version == "1.0.0"


def test_cached_resolve_does_not_touch_the_database(
    database: Database, tmp_path: Path, db_url: str, prompts_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = PromptRegistry(database, make_settings(tmp_path, db_url))
    reg.sync(prompts_dir, actor="a")
    reg.set_label("greet", "production", "1.1.0", actor="a")
    first = reg.resolve("greet", label="production")
    pinned = reg.resolve("greet", version="1.0.0")

    def no_database() -> None:
        raise AssertionError("resolve touched the database")

    monkeypatch.setattr(database, "session", no_database)
    assert reg.resolve("greet", label="production") is first
    assert reg.resolve("greet", version="1.0.0") is pinned


def test_ttl_zero_always_reads_the_label(database: Database, tmp_path: Path, db_url: str, prompts_dir: Path) -> None:
    settings = make_settings(tmp_path, db_url, label_cache_ttl_s=0)
    here, elsewhere = PromptRegistry(database, settings), PromptRegistry(database, settings)
    here.sync(prompts_dir, actor="a")
    here.set_label("greet", "production", "1.0.0", actor="a")
    assert here.resolve("greet", label="production").version == "1.0.0"
    elsewhere.set_label("greet", "production", "1.1.0", actor="b")
    assert here.resolve("greet", label="production").version == "1.1.0"
