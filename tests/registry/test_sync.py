"""Sync: immutable versions keyed by content hash, all or nothing. Runs on SQLite and Postgres."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from promptyard.errors import PromptFileError, VersionConflict
from promptyard.prompts.registry import PromptRegistry
from promptyard.store.db import Database
from promptyard.store.tables.registry import PromptVersionRow
from tests.registry.helpers import write_prompt


def snapshot(db: Database) -> list[tuple[str, str, str, str]]:
    with db.session() as s:
        rows = s.execute(
            select(
                PromptVersionRow.name, PromptVersionRow.version, PromptVersionRow.content_hash, PromptVersionRow.source
            ).order_by(PromptVersionRow.name, PromptVersionRow.version)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def count(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(PromptVersionRow)) or 0)


def test_sync_imports_then_second_sync_is_a_noop(
    registry: PromptRegistry, database: Database, prompts_dir: Path
) -> None:
    first = registry.sync(prompts_dir, actor="alice")
    assert sorted(first.added) == ["greet@1.0.0", "greet@1.1.0", "notes@1.0.0"]
    assert first.unchanged == []
    before = snapshot(database)

    second = registry.sync(prompts_dir, actor="bob")
    assert second.added == []
    assert sorted(second.unchanged) == ["greet@1.0.0", "greet@1.1.0", "notes@1.0.0"]
    assert not second.changed_anything
    assert snapshot(database) == before
    stored = registry.get("greet", "1.0.0")
    assert stored.author == "alice"  # the no-op did not rewrite the row
    assert stored.status == "draft"
    assert stored.source == (prompts_dir / "greet" / "1.0.0.prompt").read_text(encoding="utf-8")


def test_edited_file_without_bump_is_refused_and_store_unchanged(
    registry: PromptRegistry, database: Database, prompts_dir: Path
) -> None:
    registry.sync(prompts_dir, actor="alice")
    before = snapshot(database)
    write_prompt(prompts_dir, "greet", "1.0.0", extra=" Changed after release.")
    write_prompt(prompts_dir, "fresh", "1.0.0")  # a valid new file in the same sync must not be written either

    with pytest.raises(VersionConflict) as info:
        registry.sync(prompts_dir, actor="alice")
    message = str(info.value)
    assert "greet@1.0.0" in message
    assert "bump" in message
    assert "1.0.1" in message
    assert snapshot(database) == before
    assert "fresh" not in [p.name for p in registry.list_prompts()]


def test_bumped_version_is_added(registry: PromptRegistry, prompts_dir: Path) -> None:
    registry.sync(prompts_dir, actor="alice")
    write_prompt(prompts_dir, "greet", "1.2.0", extra=" New rule.")
    report = registry.sync(prompts_dir, actor="alice")
    assert report.added == ["greet@1.2.0"]
    assert [v.version for v in registry.versions("greet")] == ["1.0.0", "1.1.0", "1.2.0"]


def test_a_bad_file_writes_nothing(registry: PromptRegistry, database: Database, prompts_dir: Path) -> None:
    bad = prompts_dir / "broken" / "1.0.0.prompt"
    bad.parent.mkdir()
    bad.write_text("---\nname: broken\nversion: 1.0.0\n---\n[user]\n{{ unclosed \n", encoding="utf-8")

    with pytest.raises(PromptFileError) as info:
        registry.sync(prompts_dir, actor="alice")
    assert "broken" in str(info.value)
    assert count(database) == 0


def test_same_version_in_two_files_is_refused(registry: PromptRegistry, database: Database, tmp_path: Path) -> None:
    root = tmp_path / "two"
    write_prompt(root / "team_a", "greet", "1.0.0")
    write_prompt(root / "team_b", "greet", "1.0.0", extra=" Different.")
    with pytest.raises(PromptFileError, match=r"greet@1\.0\.0 is also declared"):
        registry.sync(root, actor="alice")
    assert count(database) == 0


def test_missing_directory_is_a_clear_error(registry: PromptRegistry, tmp_path: Path) -> None:
    with pytest.raises(PromptFileError, match="prompt directory not found"):
        registry.sync(tmp_path / "nope", actor="alice")


def test_non_ascii_content_round_trips(registry: PromptRegistry, tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_prompt(root, "intl", "1.0.0", extra=" Réponds en français, 日本語も可 ✓.")
    registry.sync(root, actor="zoë")
    stored = registry.get("intl", "1.0.0")
    assert "日本語も可 ✓" in stored.source
    assert stored.author == "zoë"
    assert "日本語も可 ✓" in stored.spec.blocks[0].template
