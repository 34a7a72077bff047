"""Fixtures for the evals tests: a migrated database and small datasets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptyard.evals.model import DatasetItem
from promptyard.runtime import Runtime
from promptyard.settings import get_settings
from promptyard.store.db import Database
from promptyard.testing.registration import PROVIDERS, registered
from tests.evals.quiz import QuizProvider, judge_prompt, qa_prompt


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def qa_items() -> list[DatasetItem]:
    """Twelve questions whose answer is ``answer-<n>`` and whose relevant document is ``doc-<n>``."""
    return [
        DatasetItem(
            item_id=f"q{n}",
            line=n + 1,
            inputs={"question": f"question {n}?"},
            expected=[f"answer {n}"],
            expected_doc_ids=[f"doc-{n}"],
        )
        for n in range(12)
    ]


ROOT = Path(__file__).resolve().parents[2]
QA_ROWS = 12


@pytest.fixture
def quiz() -> Iterator[QuizProvider]:
    with registered(PROVIDERS, "quiz", QuizProvider()) as provider:
        yield provider


@pytest.fixture
def eval_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quiz: QuizProvider) -> Iterator[Path]:
    """A promptyard home with qa@1.0.0 (good), qa@1.1.0 (worse), qa@1.2.0 (same text as 1.0.0),
    the judge rubric on the quiz provider, and a 12-row dataset file ``qa.jsonl``.

    The working directory is the temporary folder, so ``reports/`` lands there.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMPTYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PROMPTYARD_DATABASE_URL", f"sqlite:///{(tmp_path / 'home' / 'py.db').as_posix()}")
    monkeypatch.setenv("PROMPTYARD_PROMPTS_DIR", str(tmp_path / "prompts"))
    get_settings.cache_clear()
    qa = tmp_path / "prompts" / "qa"
    qa.mkdir(parents=True)
    (qa / "1.0.0.prompt").write_text(qa_prompt("1.0.0", "Reply with the exact answer."))
    (qa / "1.1.0.prompt").write_text(qa_prompt("1.1.0", "Reply however you like."))
    (qa / "1.2.0.prompt").write_text(qa_prompt("1.2.0", "Reply with the exact answer."))
    judge = tmp_path / "prompts" / "judge_answer"
    judge.mkdir()
    shipped = (ROOT / "prompts" / "judge_answer" / "1.0.0.prompt").read_text()
    (judge / "1.0.0.prompt").write_text(judge_prompt(shipped))
    rows = [
        {"id": f"q{n}", "question": f"question {n}?", "answers": [f"answer {n}"], "human_score": 5 if n % 2 else 4}
        for n in range(QA_ROWS)
    ]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    rt = Runtime()
    rt.registry.sync(rt.settings.prompts_dir, actor="tests")
    rt.registry.set_label("qa", "production", "1.0.0", actor="tests")
    rt.db.dispose()
    try:
        yield tmp_path
    finally:
        get_settings.cache_clear()


@pytest.fixture
def any_db(db_url: str) -> Iterator[Database]:
    """The same test on SQLite and on the real Postgres."""
    database = Database(db_url)
    yield database
    database.dispose()
