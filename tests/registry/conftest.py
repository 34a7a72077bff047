"""Registry fixtures: small prompt folders written per test, a registry on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from promptyard.prompts.registry import PromptRegistry
from promptyard.store.db import Database
from tests.registry.helpers import make_settings, write_prompt


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    """greet 1.0.0 and 1.1.0, notes 1.0.0."""
    root = tmp_path / "prompts"
    write_prompt(root, "greet", "1.0.0")
    write_prompt(root, "greet", "1.1.0", extra=" Be brief.")
    write_prompt(root, "notes", "1.0.0")
    return root


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def registry(database: Database, tmp_path: Path, db_url: str) -> PromptRegistry:
    return PromptRegistry(database, make_settings(tmp_path, db_url))


@pytest.fixture
def synced(registry: PromptRegistry, prompts_dir: Path) -> PromptRegistry:
    registry.sync(prompts_dir, actor="alice")
    return registry
