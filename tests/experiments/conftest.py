"""A runtime with two versions of one prompt on the fake provider (one model per version,
so the fake can misbehave for one version only), ``production`` on 1.0.0."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptyard.runtime import Runtime
from promptyard.settings import get_settings, load_settings
from promptyard.testing import FakeProvider

PROMPT = """---
name: greet
version: {version}
model: {{provider: fake, model: {model}}}
variables:
  who: {{type: string}}
---
[system]
You are friendly.

[user]
Say hello to {{{{ who }}}}.
"""

MODELS = {"1.0.0": "model-a", "1.1.0": "model-b"}


def write_prompts(folder: Path) -> None:
    for version, model in MODELS.items():
        path = folder / "greet" / f"{version}.prompt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PROMPT.format(version=version, model=model))


def make_runtime(tmp_path: Path, db_url: str, **overrides: object) -> Runtime:
    settings = load_settings(
        home=tmp_path / "home",
        database_url=db_url,
        prompts_dir=tmp_path / "prompts",
        max_retries=0,
        label_cache_ttl_s=0,
        **overrides,
    )
    return Runtime(settings)


@pytest.fixture
def runtime(tmp_path: Path, sqlite_url: str, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """Also sets the ``PROMPTYARD_*`` environment to the same settings, so CLI commands see it."""
    for key, value in {
        "HOME": str(tmp_path / "home"),
        "DATABASE_URL": sqlite_url,
        "PROMPTS_DIR": str(tmp_path / "prompts"),
        "MAX_RETRIES": "0",
        "LABEL_CACHE_TTL_S": "0",
    }.items():
        monkeypatch.setenv(f"PROMPTYARD_{key}", value)
    get_settings.cache_clear()
    write_prompts(tmp_path / "prompts")
    rt = make_runtime(tmp_path, sqlite_url)
    rt.registry.sync(tmp_path / "prompts", actor="tests")
    rt.registry.set_label("greet", "production", "1.0.0", actor="tests")
    return rt
