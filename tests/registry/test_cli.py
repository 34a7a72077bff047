"""The ``promptyard prompts`` commands and ``promptyard demo``, through Typer's CliRunner."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptyard.cli.main import app
from promptyard.runtime import Runtime
from promptyard.settings import get_settings
from tests.registry.helpers import REPO

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh home and database, and a copy of the example prompts as PROMPTYARD_PROMPTS_DIR."""
    folder = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", folder)
    monkeypatch.setenv("PROMPTYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PROMPTYARD_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PROMPTYARD_PROMPTS_DIR", str(folder))
    monkeypatch.setenv("PROMPTYARD_ACTOR", "alice")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def fresh_registry() -> Runtime:
    get_settings.cache_clear()
    return Runtime()


def test_sync_twice_changes_nothing_the_second_time(env: Path) -> None:
    files = len(list(env.rglob("*.prompt")))
    code, out = run("prompts", "sync")
    assert code == 0, out
    assert f"{files} added, 0 unchanged" in out
    code, out = run("prompts", "sync")
    assert code == 0, out
    assert f"0 added, {files} unchanged" in out
    assert "nothing to do" in out


def test_edited_file_without_bump_is_refused(env: Path) -> None:
    assert run("prompts", "sync")[0] == 0
    rt = fresh_registry()
    before = rt.registry.get("summarize_email", "1.1.0").content_hash
    target = env / "summarize_email" / "1.1.0.prompt"
    target.write_text(target.read_text(encoding="utf-8").replace("short bullet points", "long paragraphs"))

    code, out = run("prompts", "sync", str(env))
    assert code == 1
    assert "summarize_email@1.1.0" in out
    assert "bump" in out
    assert rt.registry.get("summarize_email", "1.1.0").content_hash == before
    rt.db.dispose()


def test_label_rollback_history(env: Path) -> None:
    assert run("prompts", "sync")[0] == 0
    assert run("prompts", "label", "summarize_email", "production", "1.0.0")[0] == 0
    code, out = run("prompts", "label", "summarize_email", "production", "1.1.0", "--reason", "new format")
    assert code == 0, out
    assert "1.0.0 → 1.1.0" in out
    code, out = run("prompts", "rollback", "summarize_email", "production", "--reason", "bad summaries")
    assert code == 0, out
    assert "1.1.0 → 1.0.0" in out

    rt = fresh_registry()
    assert rt.registry.label("summarize_email", "production").version == "1.0.0"
    rt.db.dispose()

    code, out = run("prompts", "history", "summarize_email")
    assert code == 0, out
    assert "set production" in out
    assert "rollback production" in out
    assert "new format" in out
    assert "bad summaries" in out
    assert out.count("alice") >= 3


def test_render_missing_variable_exits_non_zero_naming_it(env: Path) -> None:
    assert run("prompts", "sync")[0] == 0
    code, out = run("prompts", "render", "summarize_email@1.1.0", "--var", "max_bullets=2")
    assert code == 1
    assert "email_body" in out


def test_render_with_variables(env: Path, tmp_path: Path) -> None:
    assert run("prompts", "sync")[0] == 0
    assert run("prompts", "label", "summarize_email", "staging", "1.1.0")[0] == 0
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"email_body": "Please send the Q3 report by Friday."}), encoding="utf-8")
    code, out = run(
        "prompts",
        "render",
        "summarize_email@staging",
        "--vars-file",
        str(vars_file),
        "--var",
        "max_bullets=2",
        "--json",
    )
    assert code == 0, out
    payload = json.loads(out)
    assert payload["version"] == "1.1.0"
    assert "at most 2 bullet points" in payload["messages"][-1]["content"]
    assert "Q3 report" in payload["messages"][-1]["content"]
    assert payload["cache_marks"] == [{"index": 1, "ttl": "1h"}]

    code, out = run("prompts", "render", "summarize_email@1.1.0", "--var", "email_body=Hi there")
    assert code == 0, out
    assert "cache breakpoint" in out
    assert "Hi there" in out


def test_render_needs_a_pin(env: Path) -> None:
    assert run("prompts", "sync")[0] == 0
    code, out = run("prompts", "render", "summarize_email", "--var", "email_body=x")
    assert code == 1
    assert "no implicit latest" in out
    assert "summarize_email@1.1.0" in out


def test_render_a_local_file_without_syncing(env: Path) -> None:
    code, out = run(
        "prompts", "render", "--file", str(env / "summarize_email" / "1.0.0.prompt"), "--var", "email_body=hello"
    )
    assert code == 0, out
    assert "hello" in out


def test_list_show_diff_lint(env: Path) -> None:
    assert run("prompts", "sync")[0] == 0
    assert run("prompts", "label", "summarize_email", "production", "1.0.0")[0] == 0
    code, out = run("prompts", "list")
    assert code == 0
    for name in ("rag_answer", "summarize_email", "classify_ticket", "support_assistant"):
        assert name in out
    assert "production→1.0.0" in out

    code, out = run("prompts", "show", "summarize_email")
    assert code == 0
    assert "1.1.0" in out
    assert "production" in out
    code, out = run("prompts", "show", "summarize_email@production", "--no-source")
    assert code == 0, out
    assert "summarize_email@1.0.0" in out
    assert "email_body" in out

    code, out = run("prompts", "diff", "summarize_email", "production", "1.1.0")
    assert code == 0, out
    assert "audience" in out

    code, out = run("prompts", "show", "nope")
    assert code == 1
    assert "rag_answer" in out  # names what exists

    code, out = run("prompts", "lint")
    assert code == 0, out
    assert f"{len(list(env.rglob('*.prompt')))} files: 0 errors" in out


def test_review_commands(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("prompts", "sync")[0] == 0  # authored by alice
    assert run("prompts", "review", "submit", "classify_ticket", "1.0.0")[0] == 0
    code, out = run("prompts", "review", "approve", "classify_ticket", "1.0.0")
    assert code == 1
    assert "self-approval" in out
    monkeypatch.setenv("PROMPTYARD_ACTOR", "bob")
    get_settings.cache_clear()
    code, out = run("prompts", "review", "approve", "classify_ticket", "1.0.0", "--comment", "lgtm")
    assert code == 0, out
    code, out = run("prompts", "review", "release", "classify_ticket", "1.0.0")
    assert code == 0, out
    assert "released by bob" in out
    code, out = run("prompts", "history", "classify_ticket")
    for word in ("approved", "released", "lgtm"):
        assert word in out


def test_demo_setup_is_idempotent_and_reuses_its_key(env: Path, tmp_path: Path) -> None:
    code, out = run("demo", "--no-serve")
    assert code == 0, out
    key_file = tmp_path / "home" / "demo-admin-key"
    key = key_file.read_text(encoding="utf-8").strip()
    assert key_file.stat().st_mode & 0o077 == 0
    assert f"Authorization: Bearer {key}" in out
    for url in ("/v1/prompts", "/docs", "/healthz"):
        assert url in out
    assert "admin key created" in out

    rt = fresh_registry()
    assert rt.keys.verify(key).role == "admin"
    labels = {p.name: p.labels for p in rt.registry.list_prompts()}
    assert labels["summarize_email"] == {"production": "1.0.0", "staging": "1.1.0"}
    assert labels["rag_answer"] == {"production": "1.2.0"}  # cited answers on the local model, trimmed context
    for name in ("classify_ticket", "support_assistant"):
        assert labels[name] == {"production": "1.0.0"}
    # someone releases 1.1.0; a rerun of the demo must not undo it
    rt.registry.set_label("summarize_email", "production", "1.1.0", actor="alice")
    rt.db.dispose()

    code, out = run("demo", "--no-serve")
    assert code == 0, out
    assert "admin key reused" in out
    assert key_file.read_text(encoding="utf-8").strip() == key
    assert "label " not in out  # no label moves on a rerun
    rt = fresh_registry()
    assert rt.registry.label("summarize_email", "production").version == "1.1.0"
    assert len(rt.keys.list()) == 1
    rt.db.dispose()
