"""``promptyard prompts export``: a draft proposed in the browser becomes a prompt file for a pull request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptyard.cli.main import app
from promptyard.settings import get_settings
from promptyard.workspace.drafts import propose_draft

from .conftest import Workspace, greet_file


@pytest.fixture
def cli_env(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    s = ws.rt.settings
    monkeypatch.setenv("PROMPTYARD_HOME", str(s.home))
    monkeypatch.setenv("PROMPTYARD_DATABASE_URL", s.resolved_database_url)
    monkeypatch.setenv("PROMPTYARD_PROMPTS_DIR", str(s.prompts_dir))
    get_settings.cache_clear()
    yield ws
    get_settings.cache_clear()


def test_export_writes_the_draft_byte_for_byte_and_refuses_to_overwrite(cli_env: Workspace) -> None:
    ws = cli_env
    text = greet_file("1.1.1", "Kindly greet", "Kinder.")
    propose_draft(ws.rt.db, name="greet", base_version="1.1.0", text=text, actor="alice", prompts_dir=ws.prompts_dir)
    runner = CliRunner()
    result = runner.invoke(app, ["prompts", "export", "greet", "1.1.1"])
    assert result.exit_code == 0, result.output
    path = ws.prompts_dir / "greet" / "1.1.1.prompt"
    assert "wrote" in result.output
    assert path.read_text() == text
    assert ws.rt.registry.sync(ws.prompts_dir, actor="ci").unchanged == ["greet@1.0.0", "greet@1.1.0", "greet@1.1.1"]
    again = runner.invoke(app, ["prompts", "export", "greet", "1.1.1"])
    assert again.exit_code == 0
    assert "already there" in again.output
    Path(path).write_text(text.replace("Kindly", "Gently"))
    refused = runner.invoke(app, ["prompts", "export", "greet", "1.1.1"])
    assert refused.exit_code != 0
    assert "exists with other content" in refused.output
