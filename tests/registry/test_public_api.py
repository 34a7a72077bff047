"""The curated public API: every name in ``promptyard.__all__`` imports, and it works without the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import promptyard
from tests.registry.helpers import REPO, make_settings


def test_every_public_name_resolves() -> None:
    for name in promptyard.__all__:
        assert getattr(promptyard, name) is not None, name
    assert promptyard.errors.PromptNotFound is promptyard.PromptNotFound
    assert issubclass(promptyard.VersionConflict, promptyard.PromptyardError)
    assert set(promptyard.__all__) <= set(dir(promptyard))


def test_star_import_and_unknown_names() -> None:
    namespace: dict[str, object] = {}
    exec("from promptyard import *", namespace)
    assert "PromptRegistry" in namespace
    assert "render_prompt" in namespace
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = promptyard.NoSuchThing


def test_import_is_lazy() -> None:
    code = "import sys, promptyard; print('sqlalchemy' in sys.modules, 'jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_python_api_without_a_server(tmp_path: Path, sqlite_url: str) -> None:
    from promptyard import PromptRegistry, Runtime, render_prompt

    rt = Runtime(make_settings(tmp_path, sqlite_url))
    try:
        assert isinstance(rt.registry, PromptRegistry)
        rt.registry.sync(REPO / "prompts", actor="me")
        rt.registry.set_label("summarize_email", "production", "1.1.0", actor="me")
        spec = rt.registry.resolve("summarize_email", label="production")
        rendered = render_prompt(spec, {"email_body": "Ship it Friday.", "max_bullets": 2})
        assert rendered.version == "1.1.0"
        assert "Ship it Friday." in rendered.messages[-1].content
    finally:
        rt.db.dispose()
