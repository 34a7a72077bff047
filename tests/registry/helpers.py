"""Helpers shared by the registry tests."""

from __future__ import annotations

from pathlib import Path

from promptyard.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


def write_prompt(root: Path, name: str, version: str, *, extra: str = "") -> Path:
    """Write ``root/<name>/<version>.prompt`` with one declared variable ``topic``."""
    path = root / name / f"{version}.prompt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""---
name: {name}
version: {version}
description: {name} test prompt
changelog: version {version}
variables:
  topic: {{type: string, description: what to write about, max_length: 200}}
---
[system]
You write short notes.{extra}

[cache-breakpoint]

[user]
Write about {{{{ topic }}}}.
""",
        encoding="utf-8",
    )
    return path


def make_settings(tmp_path: Path, url: str, **overrides: object) -> Settings:
    return load_settings(home=tmp_path / "home", database_url=url, **overrides)
