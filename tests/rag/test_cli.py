"""``promptyard ingest``, ``ask`` and ``corpora``, through Typer's CliRunner."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptyard.cli.main import app
from promptyard.providers.fake import FakeProvider, hang, reply
from promptyard.runtime import Runtime
from promptyard.settings import get_settings
from tests.rag.conftest import RAG_PROMPTS, ROOT

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, fake_llm: FakeProvider) -> Iterator[Path]:
    prompts = tmp_path / "prompts"
    for name in RAG_PROMPTS:
        shutil.copytree(ROOT / "prompts" / name, prompts / name)
    monkeypatch.setenv("PROMPTYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PROMPTYARD_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PROMPTYARD_PROMPTS_DIR", str(prompts))
    monkeypatch.setenv("PROMPTYARD_EMBEDDER", "fake")
    monkeypatch.setenv("PROMPTYARD_CACHE_BACKEND", "none")
    monkeypatch.setenv("PROMPTYARD_MAX_RETRIES", "0")
    monkeypatch.setenv("PROMPTYARD_TRACING", "false")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    rt = Runtime()
    rt.registry.sync(prompts, actor="tests")
    for name in RAG_PROMPTS:
        rt.registry.set_label(name, "production", "1.0.0", actor="tests")
    rt.db.dispose()
    yield tmp_path
    get_settings.cache_clear()


def test_ingest_list_ask(env: Path, pets_dir: Path, fake_llm: FakeProvider) -> None:
    result = runner.invoke(app, ["ingest", str(pets_dir), "--corpus", "pets", "--chunk-tokens", "24"])
    assert result.exit_code == 0, result.output
    assert "version 0 → 1: 3 added" in result.output
    assert "embedding chunks" in result.output  # the progress bar

    again = runner.invoke(app, ["ingest", str(pets_dir), "--corpus", "pets"])
    assert again.exit_code == 0
    assert "version 1 → 1" in again.output
    assert "3 unchanged" in again.output

    listed = runner.invoke(app, ["corpora", "list"])
    assert listed.exit_code == 0
    assert "pets" in listed.output

    fake_llm.script(reply("Dogs bark at the mail carrier [doc_99]."))
    asked = runner.invoke(app, ["ask", "Do dogs bark?", "--corpus", "pets"])
    assert asked.exit_code == 0, asked.output
    assert "Dogs bark at the mail carrier." in asked.output
    assert "invalid_citation" in asked.output
    assert "unsupported" in asked.output
    assert "Sources" in asked.output
    assert "dogs.txt" in asked.output


def test_failed_file_exits_non_zero_but_ingests_the_rest(env: Path, pets_dir: Path) -> None:
    (pets_dir / "broken.md").write_bytes(b"\xff\xfe not utf-8")
    result = runner.invoke(app, ["ingest", str(pets_dir), "--corpus", "pets"])
    assert result.exit_code == 1
    assert "broken.md" in result.output
    assert "not UTF-8" in result.output
    assert "3 added" in result.output


def test_unsupported_file_in_a_folder_is_skipped_but_named_it_fails(env: Path, pets_dir: Path) -> None:
    (pets_dir / "ci.yml").write_text("on: push\n")
    walked = runner.invoke(app, ["ingest", str(pets_dir), "--corpus", "pets"])
    assert walked.exit_code == 0, walked.output
    assert "3 added" in walked.output
    assert "skipped 1 file(s) in folders with no loader: 1 .yml" in walked.output
    named = runner.invoke(app, ["ingest", str(pets_dir / "ci.yml"), "--corpus", "pets"])
    assert named.exit_code == 1
    assert "unsupported file type '.yml'" in named.output


def test_ask_unknown_corpus_names_existing(env: Path, pets_dir: Path) -> None:
    runner.invoke(app, ["ingest", str(pets_dir), "--corpus", "pets"])
    result = runner.invoke(app, ["ask", "hi", "--corpus", "nope"])
    assert result.exit_code == 1
    assert "no corpus named 'nope'" in result.output
    assert "pets" in result.output


def test_ask_timeout_prints_sources(
    env: Path, pets_dir: Path, fake_llm: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.invoke(app, ["ingest", str(pets_dir), "--corpus", "pets"])
    monkeypatch.setenv("PROMPTYARD_RAG_ANSWER_TIMEOUT_S", "0.3")
    get_settings.cache_clear()
    fake_llm.script(hang())
    result = runner.invoke(app, ["ask", "Do dogs bark?", "--corpus", "pets"])
    assert result.exit_code == 0, result.output
    assert "No answer was generated in time" in result.output
    assert "Sources" in result.output


def test_empty_question_is_refused(env: Path) -> None:
    result = runner.invoke(app, ["ask", "  ", "--corpus", "pets"])
    assert result.exit_code == 1
    assert "invalid question: question" in result.output


def test_demo_hook_ingests_docs_and_readme(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptyard.cli.demo import ingest_demo_corpus

    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "rag.md").write_text("# RAG\n\nIngest with promptyard ingest PATH --corpus NAME.\n")
    (project / "README.md").write_text("# promptyard\n\nRun make run, then make test.\n")
    monkeypatch.chdir(project)
    rt = Runtime()
    try:
        summary = ingest_demo_corpus(rt)
        assert summary is not None
        assert "corpus 'docs' v1 (2 documents" in summary
        assert set(rt.rag.store.document_hashes("docs")) == {"docs/rag.md", "README.md"}
        assert ingest_demo_corpus(rt) is not None  # a rerun changes nothing
        assert rt.rag.corpus("docs").version == 1
    finally:
        rt.rag.close()
        rt.db.dispose()
