"""``promptyard run``: in process with the fake provider, and offline with the real local model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptyard.cli.main import app
from promptyard.runtime import Runtime
from promptyard.settings import get_settings
from promptyard.testing.registration import registered_provider
from tests.interfaces.conftest import GREET

ROOT = Path(__file__).resolve().parents[2]
EMAIL = (
    "Hi team, the product launch moves from Tuesday to Friday because the payment provider needs "
    "two more days for the security review. Please update your calendars and tell customers by Wednesday. Thanks, Maria"
)


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PROMPTYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PROMPTYARD_DATABASE_URL", f"sqlite:///{(tmp_path / 'home' / 'py.db').as_posix()}")
    monkeypatch.setenv("PROMPTYARD_PROMPTS_DIR", str(tmp_path / "prompts"))
    get_settings.cache_clear()
    folder = tmp_path / "prompts" / "greet"
    folder.mkdir(parents=True)
    (folder / "1.0.0.prompt").write_text(GREET)
    rt = Runtime()
    rt.registry.sync(rt.settings.prompts_dir, actor="tests")
    rt.registry.set_label("greet", "production", "1.0.0", actor="tests")
    rt.db.dispose()
    try:
        with registered_provider():
            yield tmp_path
    finally:
        get_settings.cache_clear()


def test_run_streams_text_and_prints_footer(cli_home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "greet@production", "--var", "who=Ada"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "echo: Say hello to Ada.\n"
    assert "greet@1.0.0" in result.stderr
    assert "fake/greeter" in result.stderr
    assert "cache miss" in result.stderr
    assert "trace " in result.stderr


def test_run_json_and_vars_file(cli_home: Path) -> None:
    vars_file = cli_home / "vars.json"
    vars_file.write_text(json.dumps({"who": "file"}))
    result = CliRunner().invoke(app, ["run", "greet@1.0.0", "--vars-file", str(vars_file), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["text"] == "echo: Say hello to file."
    assert body["prompt"] == "greet@1.0.0"
    assert body["trace_id"]
    again = CliRunner().invoke(
        app, ["run", "greet@1.0.0", "--vars-file", str(vars_file), "--var", "who=cli", "--no-stream"]
    )
    assert again.stdout == "echo: Say hello to cli.\n"


def test_run_errors_are_clear(cli_home: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["run", "greet@production"])
    assert missing.exit_code == 1
    assert "who" in missing.stderr
    unknown = runner.invoke(app, ["run", "nope@production"])
    assert unknown.exit_code == 1
    assert "greet" in unknown.stderr  # names what exists
    bare = runner.invoke(app, ["run", "greet"])
    assert bare.exit_code == 1
    assert "greet@production" in bare.stderr
    bad_var = runner.invoke(app, ["run", "greet@production", "--var", "who"])
    assert bad_var.exit_code == 1
    assert "KEY=VALUE" in bad_var.stderr


@pytest.mark.slow
def test_run_summarize_email_offline_with_local_model(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PROMPTYARD_HOME": str(tmp_path / "home"),
        "PROMPTYARD_DATABASE_URL": f"sqlite:///{(tmp_path / 'home' / 'py.db').as_posix()}",
        "PROMPTYARD_PROMPTS_DIR": str(ROOT / "prompts"),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("PROMPTYARD_OPENAI_API_KEY", None)
    promptyard = str(Path(sys.executable).with_name("promptyard"))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([promptyard, *args], env=env, capture_output=True, text=True, timeout=300, check=False)

    assert cli("prompts", "sync").returncode == 0
    labelled = cli("prompts", "label", "summarize_email", "production", "1.0.0")
    assert labelled.returncode == 0, labelled.stderr
    run = cli("run", "summarize_email@production", "--var", f"email_body={EMAIL}")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip(), "the local model answered nothing"
    assert "local/" in run.stderr
    assert "summarize_email@1.0.0" in run.stderr
    assert "trace " in run.stderr
